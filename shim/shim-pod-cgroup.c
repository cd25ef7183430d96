/* The pod's host cgroup (cgroup v2 only). */
#include "shim-pod-cgroup.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim-error.h"
#include "shim-host-cgroup.h"

struct _ShimPodCgroup {
    char *dir;     /* the leaf: QEMU, virtiofsd and the shim */
    char *created; /* the topmost directory enter made (dir or a parent); NULL: none */
    char *origin;  /* where the shim was before */
};

static gboolean invalid(const char *cgroups_path, GError **error)
{
    g_set_error(error, SHIM_ERROR, TTRPC_CODE_INVALID_ARGUMENT,
                "linux.cgroupsPath '%s' is neither a cgroupfs path nor systemd's "
                "'slice:prefix:name'",
                cgroups_path);
    return FALSE;
}

static gboolean safe_part(const char *part)
{
    return *part && !strchr(part, '/') && strcmp(part, ".") != 0 && strcmp(part, "..") != 0;
}

/* "a-b.slice" -> "/a.slice/a-b.slice"; "-.slice" (the root slice) -> "". */
static gboolean expand_slice(const char *slice, GString *out)
{
    if (strcmp(slice, "-.slice") == 0)
        return TRUE;
    if (!g_str_has_suffix(slice, ".slice") || !safe_part(slice))
        return FALSE;
    g_autofree char *stem = g_strndup(slice, strlen(slice) - strlen(".slice"));
    g_auto(GStrv) words = g_strsplit(stem, "-", -1);
    g_autoptr(GString) prefix = g_string_new(NULL);
    for (char **w = words; *w; w++) {
        if (!**w)
            return FALSE;
        g_string_append_printf(prefix, "%s%s", prefix->len ? "-" : "", *w);
        g_string_append_printf(out, "/%s.slice", prefix->str);
    }
    return TRUE;
}

static gboolean systemd_dir(const char *cgroups_path, GString *out)
{
    g_auto(GStrv) parts = g_strsplit(cgroups_path, ":", -1);
    if (g_strv_length(parts) != 3 || !expand_slice(*parts[0] ? parts[0] : "system.slice", out) ||
        !safe_part(parts[2]) || (*parts[1] && !safe_part(parts[1])))
        return FALSE;
    if (*parts[1])
        g_string_append_printf(out, "/%s-%s.scope", parts[1], parts[2]);
    else
        g_string_append_printf(out, "/%s", parts[2]);
    return TRUE;
}

static gboolean cgroupfs_dir(const char *cgroups_path, GString *out)
{
    g_auto(GStrv) parts = g_strsplit(cgroups_path, "/", -1);
    for (char **p = parts; *p; p++) {
        if (!**p)
            continue;
        if (!safe_part(*p))
            return FALSE;
        g_string_append_printf(out, "/%s", *p);
    }
    return out->len > 0;
}

char *shim_pod_cgroup_dir(const char *mount, const char *cgroups_path, GError **error)
{
    g_autoptr(GString) rel = g_string_new(NULL);
    gboolean ok = strchr(cgroups_path, ':') ? systemd_dir(cgroups_path, rel)
                                            : cgroupfs_dir(cgroups_path, rel);
    if (!ok) {
        invalid(cgroups_path, error);
        return NULL;
    }
    return g_strconcat(mount, rel->str, NULL);
}

/* This process's cgroup directory, from /proc/self/cgroup ("0::/path"). */
static char *own_cgroup(const char *mount, GError **error)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents("/proc/self/cgroup", &text, NULL, error))
        return NULL;
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (char **line = lines; *line; line++)
        if (g_str_has_prefix(*line, "0::"))
            return g_strconcat(mount, strcmp(*line + 3, "/") == 0 ? "" : *line + 3, NULL);
    g_set_error_literal(error, SHIM_ERROR, TTRPC_CODE_FAILED_PRECONDITION,
                        "this process is in no cgroup v2 cgroup");
    return NULL;
}

static gboolean write_file(const char *dir, const char *file, const char *value, GError **error)
{
    g_autofree char *path = g_build_filename(dir, file, NULL);
    if (g_file_set_contents_full(path, value, -1, G_FILE_SET_CONTENTS_NONE, 0644, error))
        return TRUE;
    g_prefix_error(error, "write '%s' to '%s': ", value, path);
    return FALSE;
}

/* Lets the children of @dir use every controller @dir has (as runc does for the cgroups it
 * makes): without it the pod's cgroup shows no memory or CPU. Best effort: a controller that
 * cannot be enabled only costs its figures. */
static void enable_controllers(const char *dir)
{
    g_autofree char *path = g_build_filename(dir, "cgroup.controllers", NULL);
    g_autofree char *list = NULL;
    if (!g_file_get_contents(path, &list, NULL, NULL))
        return;
    g_auto(GStrv) names = g_strsplit_set(g_strstrip(list), " ", -1);
    for (char **name = names; *name; name++) {
        g_autofree char *plus = g_strconcat("+", *name, NULL);
        g_autoptr(GError) error = NULL;
        if (**name && !write_file(dir, "cgroup.subtree_control", plus, &error))
            g_debug("%s", error->message);
    }
}

/* mkdir -p of @dir below @mount; *@out_created gets the topmost directory made, or NULL. */
static gboolean make_dirs(const char *mount, const char *dir, char **out_created, GError **error)
{
    g_auto(GStrv) parts = g_strsplit(dir + strlen(mount), "/", -1);
    g_autoptr(GString) path = g_string_new(mount);
    *out_created = NULL;
    for (char **p = parts; *p; p++) {
        if (!**p)
            continue;
        enable_controllers(path->str);
        g_string_append_printf(path, "/%s", *p);
        if (mkdir(path->str, 0755) == 0) {
            if (!*out_created)
                *out_created = g_strdup(path->str);
        } else if (errno != EEXIST) {
            g_set_error(error, SHIM_ERROR, TTRPC_CODE_INTERNAL, "mkdir '%s': %s", path->str,
                        g_strerror(errno));
            return FALSE;
        }
    }
    return TRUE;
}

/* Removes @dir (killing what runs in it) and then its parents up to @created, the topmost one
 * made for the pod; a parent something else now uses stays. */
static gboolean remove_dirs(const char *dir, const char *created, GError **error)
{
    if (!shim_host_cgroup_remove(dir, error))
        return FALSE;
    g_autofree char *parent = g_path_get_dirname(dir);
    while (created && g_str_has_prefix(parent, created) && rmdir(parent) == 0 &&
           strcmp(parent, created) != 0) {
        char *up = g_path_get_dirname(parent);
        g_free(parent);
        parent = up;
    }
    return TRUE;
}

static void pod_cgroup_free(ShimPodCgroup *cg)
{
    g_free(cg->dir);
    g_free(cg->created);
    g_free(cg->origin);
    g_free(cg);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ShimPodCgroup, pod_cgroup_free)

ShimPodCgroup *shim_pod_cgroup_enter(const char *cgroups_path, ShimState *state, GError **error)
{
    g_autofree char *mount = shim_host_cgroup_mount(error);
    if (!mount)
        return NULL;
    g_autoptr(ShimPodCgroup) cg = g_new0(ShimPodCgroup, 1);
    cg->dir = shim_pod_cgroup_dir(mount, cgroups_path, error);
    cg->origin = own_cgroup(mount, error);
    if (!cg->dir || !cg->origin)
        return NULL;
    shim_state_set(state, NULL, SHIM_STATE_POD_CGROUP, cg->dir);
    if (!shim_state_save(state, error) || !make_dirs(mount, cg->dir, &cg->created, error))
        return NULL;
    if (cg->created) {
        shim_state_set(state, NULL, SHIM_STATE_POD_CGROUP_CREATED, cg->created);
        if (!shim_state_save(state, error))
            return NULL;
    }
    g_autofree char *pid = g_strdup_printf("%d", (int)getpid());
    if (!write_file(cg->dir, "cgroup.procs", pid, error)) {
        g_autoptr(GError) cleanup = NULL;
        remove_dirs(cg->dir, cg->created, &cleanup);
        return NULL;
    }
    return g_steal_pointer(&cg);
}

void shim_pod_cgroup_leave(ShimPodCgroup *cg, ShimState *state)
{
    g_autoptr(GError) error = NULL;
    if (!cg)
        return;
    g_autofree char *pid = g_strdup_printf("%d", (int)getpid());
    if (!write_file(cg->origin, "cgroup.procs", pid, &error) ||
        !remove_dirs(cg->dir, cg->created, &error))
        g_warning("leaving the pod's cgroup: %s", error->message);
    shim_state_set(state, NULL, SHIM_STATE_POD_CGROUP, NULL);
    shim_state_set(state, NULL, SHIM_STATE_POD_CGROUP_CREATED, NULL);
    pod_cgroup_free(cg);
}

gboolean shim_pod_cgroup_cleanup_stale(ShimState *state, GError **error)
{
    g_autofree char *dir = shim_state_get(state, NULL, SHIM_STATE_POD_CGROUP);
    g_autofree char *created = shim_state_get(state, NULL, SHIM_STATE_POD_CGROUP_CREATED);
    return !dir || remove_dirs(dir, created, error);
}
