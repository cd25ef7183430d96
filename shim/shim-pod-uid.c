/* Per-pod uids, reserved by symlinks in SHIM_STATE_ROOT under a lock on that directory. */
#include "shim-pod-uid.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "shim-error.h"
#include "shim-state.h"

static char *reservation_path(guint uid)
{
    g_autofree char *name = g_strdup_printf("uid-%u", uid);
    return g_build_filename(SHIM_STATE_ROOT, name, NULL);
}

/* TRUE when @path is free for @pod_dir: absent, already @pod_dir's, or left by a pod whose
 * directory is gone (then removed). */
static gboolean take_over(const char *path, const char *pod_dir)
{
    g_autofree char *target = g_file_read_link(path, NULL);

    if (target == NULL)
        return errno == ENOENT;
    if (g_str_equal(target, pod_dir))
        return TRUE;
    return !g_file_test(target, G_FILE_TEST_EXISTS) && unlink(path) == 0;
}

static gboolean reserve_locked(guint base, guint count, const char *pod_dir, guint *out_uid,
                               GError **error)
{
    /* Start where the pod's name points, so that pods rarely probe past each other. */
    guint first = g_str_hash(pod_dir) % count;

    for (guint i = 0; i < count; i++) {
        guint uid = base + (first + i) % count;
        g_autofree char *path = reservation_path(uid);

        if (!take_over(path, pod_dir))
            continue;
        if (symlink(pod_dir, path) == 0 || errno == EEXIST) {
            *out_uid = uid;
            return TRUE;
        }
        g_set_error(error, SHIM_ERROR, SHIM_ERROR_FAILED, "reserve uid %u: symlink '%s': %s", uid,
                    path, g_strerror(errno));
        return FALSE;
    }
    g_set_error(error, SHIM_ERROR, SHIM_ERROR_EXHAUSTED,
                "no free uid for the pod's QEMU: all %u of [hypervisor] pod_uid_base %u.. are "
                "taken by running pods",
                count, base);
    return FALSE;
}

gboolean shim_pod_uid_reserve(guint base, guint count, const char *pod_dir, guint *out_uid,
                              GError **error)
{
    int dir = open(SHIM_STATE_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (dir < 0 || flock(dir, LOCK_EX) < 0) {
        g_set_error(error, SHIM_ERROR, SHIM_ERROR_FAILED, "lock '%s': %s", SHIM_STATE_ROOT,
                    g_strerror(errno));
        if (dir >= 0)
            close(dir);
        return FALSE;
    }
    gboolean ok = reserve_locked(base, count, pod_dir, out_uid, error);
    close(dir);
    return ok;
}

void shim_pod_uid_release(guint uid, const char *pod_dir)
{
    g_autofree char *path = reservation_path(uid);
    g_autofree char *target = g_file_read_link(path, NULL);

    if (target != NULL && g_str_equal(target, pod_dir))
        unlink(path);
}
