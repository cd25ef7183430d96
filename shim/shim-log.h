/* The daemon's log: containerd collects what the shim writes to the bundle's `log` fifo. */
#pragma once

#include <glib.h>

#include "shim-config.h"

/* Opens <bundle>/log (if containerd made one) onto fd 2 and routes GLib logging there, one line
 * per message, dropping messages below @level (debug when @debug). Without the fifo, fd 2 is
 * left as it is. */
void shim_log_setup(const char *bundle, ShimLogLevel level, gboolean debug);

/* Every later line carries pod=@pod (the pod's directory name under /run/secure-container). Call
 * from the main thread before other threads log. */
void shim_log_set_pod(const char *pod);
/* The pod set above, or NULL. */
const char *shim_log_get_pod(void);
