/* Stale pod cleanup, shared by `delete` (the daemon is gone) and a new daemon that finds the
 * state of a dead one for its pod. The order matters: container mounts first (the VM layer wants
 * the shared directory free of them), then the sandbox, then the files. */
#include "shim-stale.h"

#include "shim-rootfs.h"
#include "shim-sandbox.h"

gboolean shim_stale_cleanup(ShimState *state, GError **error)
{
    g_auto(GStrv) ids = shim_state_containers(state);
    g_autoptr(GError) local = NULL;

    for (gsize i = 0; ids[i]; i++) {
        g_autofree char *dir = shim_state_get(state, ids[i], SHIM_STATE_ROOTFS);
        if (dir && !shim_rootfs_remove_tree(dir, &local)) {
            g_warning("%s", local->message);
            g_clear_error(&local);
        }
    }
    if (!shim_sandbox_cleanup_stale(state, error))
        return FALSE;
    return shim_rootfs_remove_tree(state->dir, error);
}
