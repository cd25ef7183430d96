/* `containerd-shim-secure-v2 delete`: runs after every task deletion and after a crash. */
#pragma once

#include <glib.h>

#include "shim-args.h"

/* Works from on-disk state only and never waits on the agent: when the pod's daemon is gone it
 * undoes everything its state records (VM, mounts, socket, state); when the daemon lives it
 * leaves the pod alone. Prints a DeleteResponse on stdout. Idempotent. */
gboolean shim_delete(const ShimArgs *args, GError **error);
