/* What the vmm VM test and the boot benchmark ask of a booted guest's agent: the sandbox and a
 * first container (a busybox root in the pod's shared directory). Aborts the Check test (or the
 * benchmark's child) on failure. */
#pragma once

#include <glib.h>

#include "ttrpc.h"

/* CreateSandbox: the agent mounts the virtio-fs share (tag VMM_SHARED_FS_TAG). */
void vmm_test_create_sandbox(TtrpcClient *client);

/* Runs `sh -c @command` as container "first" with its root in @shared_dir (the host side of the
 * share), then removes the container and its root; returns its stdout, *@status its exit
 * status. */
char *vmm_test_run_first_container(TtrpcClient *client, const char *shared_dir,
                                   const char *command, guint32 *status);
