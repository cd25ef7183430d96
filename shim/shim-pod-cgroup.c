/* The pod's host cgroup, in every cgroup hierarchy this process is in: the v2 one, and on a
 * v1 or hybrid host each v1 controller's, as runc's cgroupfs driver places a container. */
#include "shim-pod-cgroup.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim-error.h"
#include "shim-host-cgroup.h"

/* One hierarchy: a cgroup2 mount, or a v1 mount of one or more controllers. */
typedef struct {
    char *mount;
    char *origin;    /* where this process was in it */
    char *dir;       /* the pod's leaf: QEMU, virtiofsd and the shim */
    char *created;   /* the topmost directory enter made (dir or a parent); NULL: none */
    gboolean v2;     /* controllers are enabled through cgroup.subtree_control */
    gboolean cpuset; /* v1 cpuset: a new cgroup takes no task until it has cpus and mems */
} Hierarchy;

struct _ShimPodCgroup {
    GPtrArray *hierarchies; /* Hierarchy, in /proc/self/cgroup order (v2 last) */
};

#define LIST_SEP ";" /* joins the hierarchies' directories in the state file */

static gboolean invalid(const char *cgroups_path, GError **error)
{
    g_set_error(error, SHIM_ERROR, SHIM_ERROR_INVALID,
                "linux.cgroupsPath '%s' is neither a cgroupfs path nor systemd's "
                "'slice:prefix:name'",
                cgroups_path);
    return FALSE;
}

static gboolean safe_part(const char *part)
{
    return *part && !strpbrk(part, "/" LIST_SEP) && strcmp(part, ".") != 0 &&
           strcmp(part, "..") != 0;
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

static void hierarchy_free(Hierarchy *h)
{
    g_free(h->mount);
    g_free(h->origin);
    g_free(h->dir);
    g_free(h->created);
    g_free(h);
}

/* A cgroup mount from a mountinfo line: mount point, root within the hierarchy, filesystem
 * type and super options ("rw,cpu,cpuacct"). FALSE for any other line. */
typedef struct {
    char *mount;
    char *root;
    gboolean v2;
    char **options;
} CgroupMount;

static void cgroup_mount_clear(CgroupMount *m)
{
    g_free(m->mount);
    g_free(m->root);
    g_strfreev(m->options);
}

static gboolean parse_mount(const char *line, CgroupMount *out)
{
    const char *sep = strstr(line, " - ");
    if (!sep || (!g_str_has_prefix(sep, " - cgroup ") && !g_str_has_prefix(sep, " - cgroup2 ")))
        return FALSE;
    g_auto(GStrv) fields = g_strsplit(line, " ", 6);
    g_auto(GStrv) tail = g_strsplit(sep + 3, " ", 3);
    if (g_strv_length(fields) < 5 || g_strv_length(tail) < 3)
        return FALSE;
    out->root = g_strcompress(fields[3]); /* mountinfo escapes blanks as octal */
    out->mount = g_strcompress(fields[4]);
    out->v2 = strcmp(tail[0], "cgroup2") == 0;
    out->options = g_strsplit(g_strstrip(tail[2]), ",", -1);
    return TRUE;
}

/* The mount of the hierarchy named @subsys in /proc/self/cgroup ("" for v2, "cpu,cpuacct"). */
static const CgroupMount *find_mount(GArray *mounts, const char *subsys)
{
    g_auto(GStrv) names = g_strsplit(subsys, ",", -1);
    for (guint i = 0; i < mounts->len; i++) {
        const CgroupMount *m = &g_array_index(mounts, CgroupMount, i);
        gboolean all = m->v2 == (*subsys == '\0');
        for (char **n = names; all && !m->v2 && *n; n++)
            all = g_strv_contains((const char *const *)m->options, *n);
        if (all)
            return m;
    }
    return NULL;
}

static GArray *cgroup_mounts(GError **error)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents("/proc/self/mountinfo", &text, NULL, error))
        return NULL;
    GArray *mounts = g_array_new(FALSE, TRUE, sizeof(CgroupMount));
    g_array_set_clear_func(mounts, (GDestroyNotify)cgroup_mount_clear);
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (char **line = lines; *line; line++) {
        CgroupMount m = {0};
        if (parse_mount(*line, &m))
            g_array_append_val(mounts, m);
    }
    return mounts;
}

/* The hierarchies this process is in, each with its mount and this process's directory there. */
static GPtrArray *own_hierarchies(GError **error)
{
    g_autofree char *text = NULL;
    g_autoptr(GArray) mounts = cgroup_mounts(error);
    if (!mounts || !g_file_get_contents("/proc/self/cgroup", &text, NULL, error))
        return NULL;
    GPtrArray *hs = g_ptr_array_new_with_free_func((GDestroyNotify)hierarchy_free);
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (char **line = lines; *line; line++) {
        g_auto(GStrv) f = g_strsplit(*line, ":", 3);
        const CgroupMount *m = g_strv_length(f) == 3 ? find_mount(mounts, f[1]) : NULL;
        if (!m || !g_str_has_prefix(f[2], m->root))
            continue; /* not mounted here, or mounted below where we are */
        Hierarchy *h = g_new0(Hierarchy, 1);
        const char *rel = f[2] + (strcmp(m->root, "/") == 0 ? 0 : strlen(m->root));
        h->mount = g_strdup(m->mount);
        h->origin = g_strconcat(m->mount, strcmp(rel, "/") == 0 ? "" : rel, NULL);
        h->v2 = m->v2;
        h->cpuset = !m->v2 && g_strv_contains((const char *const *)m->options, "cpuset");
        g_ptr_array_add(hs, h);
    }
    if (hs->len == 0) {
        g_set_error_literal(error, SHIM_ERROR, SHIM_ERROR_STATE,
                            "no cgroup hierarchy of this process is mounted");
        g_clear_pointer(&hs, g_ptr_array_unref);
    }
    return hs;
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

/* A v1 cpuset cgroup takes no task while its cpus or mems are empty, as a new one's are (and
 * one that someone else made may still be): it gets its parent's. */
static gboolean fill_cpuset(const char *parent, const char *dir, GError **error)
{
    static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
    for (gsize i = 0; i < G_N_ELEMENTS(files); i++) {
        g_autofree char *own_path = g_build_filename(dir, files[i], NULL);
        g_autofree char *from = g_build_filename(parent, files[i], NULL);
        g_autofree char *own = NULL, *value = NULL;
        if (g_file_get_contents(own_path, &own, NULL, NULL) && *g_strstrip(own))
            continue;
        if (!g_file_get_contents(from, &value, NULL, error) ||
            !write_file(dir, files[i], g_strstrip(value), error))
            return FALSE;
    }
    return TRUE;
}

/* mkdir -p of the pod's directory in @h, noting the topmost one made. */
static gboolean make_dirs(Hierarchy *h, GError **error)
{
    g_auto(GStrv) parts = g_strsplit(h->dir + strlen(h->mount), "/", -1);
    g_autoptr(GString) path = g_string_new(h->mount);
    for (char **p = parts; *p; p++) {
        if (!**p)
            continue;
        g_autofree char *parent = g_strdup(path->str);
        if (h->v2)
            enable_controllers(parent);
        g_string_append_printf(path, "/%s", *p);
        gboolean made = mkdir(path->str, 0755) == 0;
        if (!made && errno != EEXIST) {
            g_set_error(error, SHIM_ERROR, SHIM_ERROR_FAILED, "mkdir '%s': %s", path->str,
                        g_strerror(errno));
            return FALSE;
        }
        if (made && !h->created)
            h->created = g_strdup(path->str);
        if (h->cpuset && !fill_cpuset(parent, path->str, error))
            return FALSE;
    }
    return TRUE;
}

/* Removes @dir (killing what runs in it, where the hierarchy can) and then its parents up to
 * @created, the topmost one made for the pod; a parent something else now uses stays. */
static gboolean remove_dirs(const char *dir, const char *created, GError **error)
{
    if (!shim_host_cgroup_remove(dir, error))
        return FALSE;
    g_autofree char *parent = g_path_get_dirname(dir);
    while (created && *created && g_str_has_prefix(parent, created) && rmdir(parent) == 0 &&
           strcmp(parent, created) != 0) {
        char *up = g_path_get_dirname(parent);
        g_free(parent);
        parent = up;
    }
    return TRUE;
}

static void pod_cgroup_free(ShimPodCgroup *cg)
{
    g_ptr_array_unref(cg->hierarchies);
    g_free(cg);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ShimPodCgroup, pod_cgroup_free)

/* The hierarchies' directories (@created: the topmost made ones), for the state file. */
static char *join_dirs(ShimPodCgroup *cg, gboolean created)
{
    g_autoptr(GString) text = g_string_new(NULL);
    for (guint i = 0; i < cg->hierarchies->len; i++) {
        Hierarchy *h = cg->hierarchies->pdata[i];
        const char *dir = created ? h->created : h->dir;
        g_string_append_printf(text, "%s%s", i ? LIST_SEP : "", dir ? dir : "");
    }
    return g_string_free(g_steal_pointer(&text), FALSE);
}

/* Leaves and removes, the v2 hierarchy first: there cgroup.kill ends what still runs, which
 * frees the v1 directories too. */
static void leave_all(ShimPodCgroup *cg)
{
    g_autofree char *pid = g_strdup_printf("%d", (int)getpid());
    for (guint i = cg->hierarchies->len; i-- > 0;) {
        Hierarchy *h = cg->hierarchies->pdata[i];
        g_autoptr(GError) error = NULL;
        if (h->dir && (!write_file(h->origin, "cgroup.procs", pid, &error) ||
                       !remove_dirs(h->dir, h->created, &error)))
            g_warning("leaving the pod's cgroup: %s", error->message);
    }
}

static gboolean enter_all(ShimPodCgroup *cg, ShimState *state, GError **error)
{
    g_autofree char *pid = g_strdup_printf("%d", (int)getpid());
    for (guint i = 0; i < cg->hierarchies->len; i++)
        if (!make_dirs(cg->hierarchies->pdata[i], error))
            return FALSE;
    g_autofree char *created = join_dirs(cg, TRUE);
    shim_state_set(state, NULL, SHIM_STATE_POD_CGROUP_CREATED, created);
    if (!shim_state_save(state, error))
        return FALSE;
    for (guint i = 0; i < cg->hierarchies->len; i++) {
        Hierarchy *h = cg->hierarchies->pdata[i];
        if (!write_file(h->dir, "cgroup.procs", pid, error))
            return FALSE;
    }
    return TRUE;
}

ShimPodCgroup *shim_pod_cgroup_enter(const char *cgroups_path, ShimState *state, GError **error)
{
    g_autoptr(ShimPodCgroup) cg = g_new0(ShimPodCgroup, 1);
    cg->hierarchies = own_hierarchies(error);
    if (!cg->hierarchies)
        return NULL;
    for (guint i = 0; i < cg->hierarchies->len; i++) {
        Hierarchy *h = cg->hierarchies->pdata[i];
        h->dir = shim_pod_cgroup_dir(h->mount, cgroups_path, error);
        if (!h->dir)
            return NULL;
    }
    g_autofree char *dirs = join_dirs(cg, FALSE);
    shim_state_set(state, NULL, SHIM_STATE_POD_CGROUP, dirs);
    if (!shim_state_save(state, error))
        return NULL;
    if (!enter_all(cg, state, error)) {
        leave_all(cg);
        return NULL;
    }
    return g_steal_pointer(&cg);
}

void shim_pod_cgroup_leave(ShimPodCgroup *cg, ShimState *state)
{
    if (!cg)
        return;
    leave_all(cg);
    shim_state_set(state, NULL, SHIM_STATE_POD_CGROUP, NULL);
    shim_state_set(state, NULL, SHIM_STATE_POD_CGROUP_CREATED, NULL);
    pod_cgroup_free(cg);
}

gboolean shim_pod_cgroup_cleanup_stale(ShimState *state, GError **error)
{
    g_autofree char *dirs = shim_state_get(state, NULL, SHIM_STATE_POD_CGROUP);
    g_autofree char *created = shim_state_get(state, NULL, SHIM_STATE_POD_CGROUP_CREATED);
    if (!dirs)
        return TRUE;
    g_auto(GStrv) d = g_strsplit(dirs, LIST_SEP, -1);
    g_auto(GStrv) c = g_strsplit(created ? created : "", LIST_SEP, -1);
    guint nc = g_strv_length(c);
    /* Last first: the v2 hierarchy (if any) kills what is left. */
    for (guint i = g_strv_length(d); i-- > 0;)
        if (*d[i] && !remove_dirs(d[i], i < nc ? c[i] : NULL, error))
            return FALSE;
    return TRUE;
}
