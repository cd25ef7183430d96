/* Host-side files and processes of a pod VM: the shared bind mount, tree removal, killing. */
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "vmm-internal.h"

#define KILL_POLL_US (10 * 1000)

gboolean vmm_shared_mount(const char *dir, GError **error)
{
    if (mount(dir, dir, NULL, MS_BIND | MS_REC, NULL) < 0) {
        g_set_error(error, VMM_ERROR, VMM_ERROR_FAILED, "bind mount '%s' on itself: %s", dir,
                    g_strerror(errno));
        return FALSE;
    }
    if (mount(NULL, dir, NULL, MS_SHARED, NULL) < 0) {
        int saved = errno;
        umount2(dir, MNT_DETACH);
        g_set_error(error, VMM_ERROR, VMM_ERROR_FAILED, "make '%s' a shared mount: %s", dir,
                    g_strerror(saved));
        return FALSE;
    }
    return TRUE;
}

/* TRUE when @dir is the root of a mount (its mount id differs from its parent's). */
static gboolean is_mount_point(const char *dir)
{
    struct statx self, parent;
    g_autofree char *up = g_build_filename(dir, "..", NULL);

    if (statx(AT_FDCWD, dir, AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &self) < 0 ||
        statx(AT_FDCWD, up, 0, STATX_MNT_ID, &parent) < 0)
        return FALSE;
    return self.stx_mnt_id != parent.stx_mnt_id;
}

gboolean vmm_shared_unmount(const char *dir, GError **error)
{
    /* One layer only: a mount the caller made there before start stays. */
    if (is_mount_point(dir) && umount2(dir, MNT_DETACH) < 0) {
        g_set_error(error, VMM_ERROR, VMM_ERROR_FAILED, "unmount '%s': %s", dir, g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return (type == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT ? -1 : 0;
}

gboolean vmm_remove_tree(const char *path, GError **error)
{
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0 && errno != ENOENT) {
        g_set_error(error, VMM_ERROR, VMM_ERROR_FAILED, "remove '%s': %s", path, g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

gboolean vmm_kill_wait(pid_t pid, gint64 timeout_us, GError **error)
{
    gint64 deadline = g_get_monotonic_time() + timeout_us;

    if (kill(pid, SIGKILL) < 0) {
        if (errno == ESRCH)
            return TRUE;
        g_set_error(error, VMM_ERROR, VMM_ERROR_FAILED, "kill pid %d: %s", pid, g_strerror(errno));
        return FALSE;
    }
    /* Not our child (libvirt daemonizes QEMU), so it cannot be waited for: poll. A zombie
     * still answers kill(0), so look at its state instead. */
    while (g_get_monotonic_time() < deadline) {
        g_autofree char *stat_path = g_strdup_printf("/proc/%d/stat", pid);
        g_autofree char *stat = NULL;
        const char *state;

        if (!g_file_get_contents(stat_path, &stat, NULL, NULL))
            return TRUE;
        state = strrchr(stat, ')');
        if (state != NULL && (state[2] == 'Z' || state[2] == 'X'))
            return TRUE;
        g_usleep(KILL_POLL_US);
    }
    g_set_error(error, VMM_ERROR, VMM_ERROR_FAILED, "pid %d still alive after SIGKILL", pid);
    return FALSE;
}
