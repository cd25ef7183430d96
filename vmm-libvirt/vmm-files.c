/* Host-side files and processes of a pod VM: the shared bind mount, tree removal, killing. */
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "common-exit.h"
#include "vmm-internal.h"

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

void vmm_pidfd_reap(int pidfd)
{
    siginfo_t info;

    /* ECHILD when it is not ours: then its parent reaps it. */
    if (pidfd >= 0)
        waitid(P_PIDFD, pidfd, &info, WEXITED | WNOHANG);
}

gboolean vmm_pidfd_wait(int pidfd, gint64 timeout_us)
{
    /* Rounded up, and a deadline that has passed still looks once. */
    if (!common_exit_wait(pidfd, (int)CLAMP((timeout_us + 999) / 1000, 0, G_MAXINT)))
        return FALSE;
    vmm_pidfd_reap(pidfd);
    return TRUE;
}

gboolean vmm_kill_wait(int pidfd, pid_t pid, gint64 timeout_us, GError **error)
{
    /* ESRCH: it has exited already. */
    if (pidfd_send_signal(pidfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH) {
        g_set_error(error, VMM_ERROR, VMM_ERROR_FAILED, "kill pid %d: %s", pid, g_strerror(errno));
        return FALSE;
    }
    /* Not necessarily our child (libvirt daemonizes QEMU), but its pidfd says when it exits. */
    if (vmm_pidfd_wait(pidfd, timeout_us))
        return TRUE;
    g_set_error(error, VMM_ERROR, VMM_ERROR_FAILED, "pid %d still alive after SIGKILL", pid);
    return FALSE;
}
