/* `check --boot`: a throwaway pod VM, booted exactly as a pod's (shim-sandbox.h), timed from
 * the start to its agent's first answer, then destroyed with everything it made. */
#pragma once

#include "shim-config.h"

/* @out_console: on failure, the guest console's last lines when there are any. */
gboolean tool_boot(const ShimConfig *config, double *out_seconds, char **out_console,
                   GError **error);
