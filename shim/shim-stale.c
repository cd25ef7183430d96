/* Stale pod cleanup, shared by `delete` (the daemon is gone) and a new daemon that finds the
 * state of a dead one for its pod. The order matters: container mounts first (the VM layer wants
 * the shared directory free of them), then the sandbox, then the files. */
#include "shim-stale.h"

#include <signal.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "common-fd.h"
#include "common-process.h"
#include "shim-network.h"
#include "shim-pod-cgroup.h"
#include "shim-rootfs.h"
#include "shim-sandbox.h"

#define LEFTOVER_WAIT_MS 2000

/* Kills the live processes whose command line names @dir (the pod's own directory: QEMU,
 * virtiofsd and its children, the host agent); returns how many there were. Exited ones (zombies
 * someone else reaps) no longer count. They are found by their command line, as the processes
 * that started them are gone; the signal goes through the pidfd that the check was made under. */
static guint kill_mentioning(const char *dir)
{
    g_autoptr(GDir) proc = g_dir_open("/proc", 0, NULL);
    g_autofree char *needle = g_strconcat(dir, "/", NULL);
    const char *name;
    guint found = 0;
    while (proc && (name = g_dir_read_name(proc))) {
        pid_t pid = (pid_t)g_ascii_strtoll(name, NULL, 10);
        if (pid <= 1 || pid == getpid())
            continue;
        common_autofd int pidfd = common_process_open_mentioning(pid, needle);
        if (pidfd >= 0 && pidfd_send_signal(pidfd, SIGKILL, NULL, 0) == 0)
            found++;
    }
    return found;
}

/* The VM layer stops what it started; whatever still runs from this pod's directory after that
 * (a helper's child, a process that ignored SIGTERM) is killed here, and waited for. */
static void kill_leftovers(const char *dir)
{
    for (int waited = 0; kill_mentioning(dir) > 0 && waited < LEFTOVER_WAIT_MS; waited += 20)
        g_usleep(20000);
}

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
    kill_leftovers(state->dir);
    if (!shim_network_cleanup_stale(state, error) || !shim_pod_cgroup_cleanup_stale(state, error))
        return FALSE;
    return shim_rootfs_remove_tree(state->dir, error);
}
