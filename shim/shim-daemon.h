/* The long-lived shim daemon: serves the Task API for one pod on the socket `start` made. */
#pragma once

#include "shim-args.h"

/* Runs until Shutdown (with no container left), SIGTERM or SIGINT; then tears the pod down.
 * Returns the process exit code. */
int shim_daemon_run(const ShimArgs *args);
