/* Mounting rootfs and bind sources. Mount options arrive as fstab-style strings: the ones that
 * are mount flags are turned into flags, the rest is passed to the filesystem as data. */
#include "shim-rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim-error.h"

typedef struct {
    const char *name;
    gboolean clear;
    unsigned long flag;
} MountFlag;

static const MountFlag mount_flags[] = {
    {"ro", FALSE, MS_RDONLY},        {"rw", TRUE, MS_RDONLY},
    {"nosuid", FALSE, MS_NOSUID},    {"suid", TRUE, MS_NOSUID},
    {"nodev", FALSE, MS_NODEV},      {"dev", TRUE, MS_NODEV},
    {"noexec", FALSE, MS_NOEXEC},    {"exec", TRUE, MS_NOEXEC},
    {"bind", FALSE, MS_BIND},        {"rbind", FALSE, MS_BIND | MS_REC},
    {"noatime", FALSE, MS_NOATIME},  {"relatime", FALSE, MS_RELATIME},
    {"sync", FALSE, MS_SYNCHRONOUS}, {"remount", FALSE, MS_REMOUNT},
};

static void parse_options(char **options, gsize n, unsigned long *out_flags, char **out_data)
{
    g_autoptr(GString) data = g_string_new(NULL);
    *out_flags = 0;
    for (gsize i = 0; i < n; i++) {
        gboolean known = FALSE;
        for (gsize f = 0; f < G_N_ELEMENTS(mount_flags); f++)
            if (strcmp(options[i], mount_flags[f].name) == 0) {
                if (mount_flags[f].clear)
                    *out_flags &= ~mount_flags[f].flag;
                else
                    *out_flags |= mount_flags[f].flag;
                known = TRUE;
            }
        if (!known)
            g_string_append_printf(data, "%s%s", data->len ? "," : "", options[i]);
    }
    *out_data = g_string_free(g_steal_pointer(&data), FALSE);
}

static gboolean do_mount(const char *source, const char *target, const char *type,
                         unsigned long flags, const char *data, GError **error)
{
    if (mount(source, target, type, flags, data) < 0) {
        g_set_error(error, SHIM_ERROR, SHIM_ERROR_FAILED, "mount '%s' (%s) on '%s': %s", source,
                    type ? type : "bind", target, g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

static gboolean bind_mount(const char *source, const char *target, unsigned long flags,
                           GError **error)
{
    if (!do_mount(source, target, NULL, MS_BIND | (flags & MS_REC), NULL, error))
        return FALSE;
    /* A bind ignores every other flag until it is remounted with them. */
    unsigned long extra = flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
    if (extra && !do_mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | extra, NULL, error)) {
        umount2(target, MNT_DETACH);
        return FALSE;
    }
    return TRUE;
}

static gboolean make_dir(const char *path, GError **error)
{
    if (g_mkdir_with_parents(path, 0755) < 0) {
        g_set_error(error, SHIM_ERROR, SHIM_ERROR_FAILED, "mkdir '%s': %s", path,
                    g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

gboolean shim_rootfs_mount(Containerd__Types__Mount **mounts, gsize n_mounts,
                           const char *fallback_dir, const char *target, GError **error)
{
    if (!make_dir(target, error))
        return FALSE;
    if (n_mounts == 0)
        return bind_mount(fallback_dir, target, MS_REC, error);
    for (gsize i = 0; i < n_mounts; i++) {
        const Containerd__Types__Mount *m = mounts[i];
        unsigned long flags;
        g_autofree char *data = NULL;
        parse_options(m->options, m->n_options, &flags, &data);
        gboolean ok = (flags & MS_BIND) || strcmp(m->type, "bind") == 0
                          ? bind_mount(m->source, target, flags, error)
                          : do_mount(m->source, target, m->type, flags, data, error);
        if (!ok) {
            g_prefix_error(error, "rootfs mount %zu: ", i);
            return FALSE;
        }
    }
    return TRUE;
}

gboolean shim_rootfs_bind(const char *source, const char *target, gboolean readonly, GError **error)
{
    struct stat st;
    if (stat(source, &st) < 0) {
        g_set_error(error, SHIM_ERROR, SHIM_ERROR_INVALID, "mount source '%s': %s", source,
                    g_strerror(errno));
        return FALSE;
    }
    if (S_ISDIR(st.st_mode)) {
        if (!make_dir(target, error))
            return FALSE;
    } else {
        g_autofree char *parent = g_path_get_dirname(target);
        int fd;
        if (!make_dir(parent, error))
            return FALSE;
        fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) {
            g_set_error(error, SHIM_ERROR, SHIM_ERROR_FAILED, "create '%s': %s", target,
                        g_strerror(errno));
            return FALSE;
        }
        close(fd);
    }
    return bind_mount(source, target, MS_REC | (readonly ? MS_RDONLY : 0), error);
}

/* Mount points at or below @dir, deepest first. */
static GPtrArray *mounts_below(const char *dir)
{
    g_autofree char *text = NULL;
    GPtrArray *found = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *prefix = g_strconcat(dir, "/", NULL);
    if (!g_file_get_contents("/proc/self/mountinfo", &text, NULL, NULL))
        return found;
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (gsize i = 0; lines[i]; i++) {
        g_auto(GStrv) fields = g_strsplit(lines[i], " ", 6);
        if (g_strv_length(fields) < 5)
            continue;
        /* Field 5 is the mount point, with spaces etc. octal-escaped. */
        g_autofree char *point = g_strcompress(fields[4]);
        /* Later mounts appear later: prepend, so stacked and nested ones are unmounted first. */
        if (strcmp(point, dir) == 0 || g_str_has_prefix(point, prefix))
            g_ptr_array_insert(found, 0, g_steal_pointer(&point));
    }
    return found;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (type == FTW_DP ? rmdir(path) : unlink(path))
        g_debug("remove '%s': %s", path, g_strerror(errno));
    return 0;
}

gboolean shim_rootfs_remove_tree(const char *dir, GError **error)
{
    g_autoptr(GPtrArray) points = mounts_below(dir);
    for (guint i = 0; i < points->len; i++)
        if (umount2(points->pdata[i], MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
            g_warning("umount '%s': %s", (char *)points->pdata[i], g_strerror(errno));
    if (access(dir, F_OK) < 0)
        return TRUE;
    /* A bind of the same filesystem looks like any directory to the walk below: never walk
     * while anything is still mounted under @dir (a container's rootfs source would go). */
    g_autoptr(GPtrArray) left = mounts_below(dir);
    if (left->len > 0) {
        g_set_error(error, SHIM_ERROR, SHIM_ERROR_FAILED,
                    "'%s' is still mounted; '%s' is left in place", (char *)left->pdata[0], dir);
        return FALSE;
    }
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
    if (access(dir, F_OK) == 0) {
        g_set_error(error, SHIM_ERROR, SHIM_ERROR_FAILED, "'%s' could not be removed entirely",
                    dir);
        return FALSE;
    }
    return TRUE;
}
