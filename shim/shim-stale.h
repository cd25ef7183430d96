/* Undoing what a dead shim daemon left, from its pod state file alone. */
#pragma once

#include <glib.h>

#include "shim-state.h"

/* Unmounts the containers' rootfs and binds, stops the sandbox (VM or host agent) and removes
 * the pod directory with the state file. Never waits on the guest; bounded in time. */
gboolean shim_stale_cleanup(ShimState *state, GError **error);
