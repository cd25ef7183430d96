/* container-cgroup.c: one container's cgroup v2 directory: limits, freezer, kill, statistics. */
#include "container-cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common-fd.h"

/* How long pause, resume and removal wait for the kernel to report the new cgroup state. */
#define CGROUP_WAIT_MS 5000
#define CGROUP_FILE_MAX (64 * 1024)

struct ContainerCgroup {
    char *path;
    int dir_fd;
    int parent_fd;
    char *name;
    int events_fd;        /* cgroup.events */
    int memory_events_fd; /* memory.events, -1 without the memory controller */
};

static gboolean write_file(int dirfd, const char *dir, const char *file, const char *value,
                           GError **error)
{
    common_autofd int fd = openat(dirfd, file, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    size_t len = strlen(value);
    if (fd < 0 || write(fd, value, len) != (ssize_t)len) {
        int err = errno;
        g_set_error(error, CONTAINER_ERROR,
                    err == ENOENT ? CONTAINER_ERROR_UNSUPPORTED : CONTAINER_ERROR_FAILED,
                    "write '%s' to '%s/%s': %s%s", value, dir, file, g_strerror(err),
                    err == ENOENT ? " (controller not enabled?)" : "");
        return FALSE;
    }
    return TRUE;
}

char *cgroup_read_file(int dirfd, const char *file)
{
    common_autofd int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return NULL;
    g_autofree char *buf = g_malloc(CGROUP_FILE_MAX + 1);
    ssize_t n = pread(fd, buf, CGROUP_FILE_MAX, 0);
    if (n < 0)
        return NULL;
    buf[n] = '\0';
    return g_steal_pointer(&buf);
}

gboolean cgroup_keyed_value(const char *text, const char *key, guint64 *out)
{
    size_t klen = strlen(key);
    for (const char *line = text; line && *line;
         line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
            *out = g_ascii_strtoull(line + klen + 1, NULL, 10);
            return TRUE;
        }
    }
    return FALSE;
}

static gboolean enable_controllers(const char *root, int root_fd, const OciResources *res,
                                   GError **error)
{
    const struct {
        const char *name;
        gboolean needed;
    } controllers[] = {
        {"memory", res->memory_limit >= 0 || res->memory_reservation >= 0 || res->memory_swap >= 0},
        {"cpu", res->cpu_shares >= 0 || res->cpu_quota >= 0 || res->cpu_period >= 0},
        {"cpuset", res->cpuset_cpus != NULL || res->cpuset_mems != NULL},
        {"pids", res->pids_limit >= 0},
        {"hugetlb", res->n_hugepage_limits > 0},
        {"io", FALSE},
    };
    g_autofree char *available = cgroup_read_file(root_fd, "cgroup.controllers");
    if (available == NULL) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_FAILED,
                    "read '%s/cgroup.controllers': %s (not a cgroup v2 directory?)", root,
                    g_strerror(errno));
        return FALSE;
    }
    g_auto(GStrv) names = g_strsplit_set(g_strstrip(available), " ", -1);
    for (gsize i = 0; i < G_N_ELEMENTS(controllers); i++) {
        if (!g_strv_contains((const char *const *)names, controllers[i].name)) {
            if (!controllers[i].needed)
                continue;
            g_set_error(
                error, CONTAINER_ERROR, CONTAINER_ERROR_UNSUPPORTED,
                "the spec sets %s limits but cgroup controller '%s' is not available in '%s'",
                controllers[i].name, controllers[i].name, root);
            return FALSE;
        }
        /* Controllers no limit needs are enabled for statistics only, so failing is fine. */
        g_autofree char *enable = g_strconcat("+", controllers[i].name, NULL);
        if (!write_file(root_fd, root, "cgroup.subtree_control", enable,
                        controllers[i].needed ? error : NULL) &&
            controllers[i].needed)
            return FALSE;
    }
    return TRUE;
}

static gboolean write_limit(ContainerCgroup *cg, const char *file, gint64 value, GError **error)
{
    char buf[32];
    if (value < 0)
        return TRUE;
    if (value == G_MAXINT64)
        g_strlcpy(buf, "max", sizeof buf);
    else
        g_snprintf(buf, sizeof buf, "%" G_GINT64_FORMAT, value);
    return write_file(cg->dir_fd, cg->path, file, buf, error);
}

static gboolean apply_memory(ContainerCgroup *cg, const OciResources *res, GError **error)
{
    if (!write_limit(cg, "memory.low", res->memory_reservation, error) ||
        !write_limit(cg, "memory.max", res->memory_limit, error))
        return FALSE;
    if (res->memory_swap < 0)
        return TRUE;
    /* OCI's swap is memory + swap; cgroup v2 limits swap alone. */
    gint64 swap = res->memory_swap;
    if (swap != G_MAXINT64 && res->memory_limit >= 0 && res->memory_limit != G_MAXINT64) {
        if (swap < res->memory_limit) {
            g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID,
                        "memory.swap %" G_GINT64_FORMAT " is below memory.limit %" G_GINT64_FORMAT,
                        swap, res->memory_limit);
            return FALSE;
        }
        swap -= res->memory_limit;
    }
    /* Without swap accounting there is no swap to limit, which is what 0 asks for. */
    if (swap == 0 && faccessat(cg->dir_fd, "memory.swap.max", F_OK, 0) < 0)
        return TRUE;
    return write_limit(cg, "memory.swap.max", swap, error);
}

static gboolean apply_cpu(ContainerCgroup *cg, const OciResources *res, GError **error)
{
    if (res->cpu_shares >= 0) {
        /* The cgroup v1 shares range [2, 262144] mapped linearly onto weight [1, 10000]. */
        gint64 shares = CLAMP(res->cpu_shares, 2, 262144);
        if (!write_limit(cg, "cpu.weight", 1 + ((shares - 2) * 9999) / 262142, error))
            return FALSE;
    }
    if (res->cpu_quota >= 0 || res->cpu_period >= 0) {
        char buf[64];
        gint64 period = res->cpu_period > 0 ? res->cpu_period : 100000;
        if (res->cpu_quota >= 0 && res->cpu_quota != G_MAXINT64)
            g_snprintf(buf, sizeof buf, "%" G_GINT64_FORMAT " %" G_GINT64_FORMAT, res->cpu_quota,
                       period);
        else
            g_snprintf(buf, sizeof buf, "max %" G_GINT64_FORMAT, period);
        if (!write_file(cg->dir_fd, cg->path, "cpu.max", buf, error))
            return FALSE;
    }
    return (res->cpuset_cpus == NULL ||
            write_file(cg->dir_fd, cg->path, "cpuset.cpus", res->cpuset_cpus, error)) &&
           (res->cpuset_mems == NULL ||
            write_file(cg->dir_fd, cg->path, "cpuset.mems", res->cpuset_mems, error));
}

gboolean container_cgroup_apply(ContainerCgroup *cg, const OciResources *res, GError **error)
{
    if (!apply_memory(cg, res, error) || !apply_cpu(cg, res, error) ||
        !write_limit(cg, "pids.max", res->pids_limit, error))
        return FALSE;
    for (gsize i = 0; i < res->n_hugepage_limits; i++) {
        g_autofree char *file =
            g_strdup_printf("hugetlb.%s.max", res->hugepage_limits[i].page_size);
        g_autofree char *value =
            g_strdup_printf("%" G_GUINT64_FORMAT, res->hugepage_limits[i].limit);
        /* A page size this kernel lacks cannot be used anyway, which is what a limit of 0 asks. */
        if (res->hugepage_limits[i].limit == 0 && faccessat(cg->dir_fd, file, F_OK, 0) < 0)
            continue;
        if (!write_file(cg->dir_fd, cg->path, file, value, error))
            return FALSE;
    }
    for (gsize i = 0; i < res->n_unified; i++)
        if (!write_file(cg->dir_fd, cg->path, res->unified_keys[i], res->unified_values[i], error))
            return FALSE;
    return TRUE;
}

static void cgroup_free(ContainerCgroup *cg)
{
    common_fd_close(&cg->dir_fd);
    common_fd_close(&cg->parent_fd);
    common_fd_close(&cg->events_fd);
    common_fd_close(&cg->memory_events_fd);
    g_free(cg->path);
    g_free(cg->name);
    g_free(cg);
}

ContainerCgroup *container_cgroup_create(const char *root, const char *name,
                                         const OciResources *res, GError **error)
{
    common_autofd int root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_FAILED, "open cgroup root '%s': %s",
                    root, g_strerror(errno));
        return NULL;
    }
    if (!enable_controllers(root, root_fd, res, error))
        return NULL;
    if (mkdirat(root_fd, name, 0755) < 0) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_FAILED, "mkdir cgroup '%s/%s': %s",
                    root, name, g_strerror(errno));
        return NULL;
    }
    ContainerCgroup *cg = g_new0(ContainerCgroup, 1);
    cg->path = g_build_filename(root, name, NULL);
    cg->name = g_strdup(name);
    cg->parent_fd = g_steal_fd(&root_fd);
    cg->dir_fd = openat(cg->parent_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    cg->events_fd = openat(cg->dir_fd, "cgroup.events", O_RDONLY | O_CLOEXEC);
    cg->memory_events_fd = openat(cg->dir_fd, "memory.events", O_RDONLY | O_CLOEXEC);
    if (cg->dir_fd < 0 || cg->events_fd < 0) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_FAILED, "open cgroup '%s': %s",
                    cg->path, g_strerror(errno));
        container_cgroup_remove(cg, NULL);
        return NULL;
    }
    if (!container_cgroup_apply(cg, res, error)) {
        container_cgroup_remove(cg, NULL);
        return NULL;
    }
    return cg;
}

int container_cgroup_get_fd(ContainerCgroup *cg)
{
    return cg->dir_fd;
}

int container_cgroup_get_events_fd(ContainerCgroup *cg)
{
    return cg->memory_events_fd;
}

/* Waits until cgroup.events has `key` == `value`; the kernel wakes pollers on each change. */
static gboolean wait_event(ContainerCgroup *cg, const char *key, guint64 value, GError **error)
{
    gint64 deadline = g_get_monotonic_time() + CGROUP_WAIT_MS * 1000;
    for (;;) {
        g_autofree char *events = cgroup_read_file(cg->dir_fd, "cgroup.events");
        guint64 current;
        if (events && cgroup_keyed_value(events, key, &current) && current == value)
            return TRUE;
        gint64 left = (deadline - g_get_monotonic_time()) / 1000;
        if (left <= 0) {
            g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_FAILED,
                        "cgroup '%s' did not reach '%s %" G_GUINT64_FORMAT "' within %d ms",
                        cg->path, key, value, CGROUP_WAIT_MS);
            return FALSE;
        }
        /* Short polls as well: a change between the read and the poll would otherwise be missed. */
        struct pollfd pfd = {.fd = cg->events_fd, .events = POLLPRI};
        poll(&pfd, 1, (int)MIN(left, 50));
    }
}

gboolean container_cgroup_freeze(ContainerCgroup *cg, gboolean frozen, GError **error)
{
    return write_file(cg->dir_fd, cg->path, "cgroup.freeze", frozen ? "1" : "0", error) &&
           wait_event(cg, "frozen", frozen ? 1 : 0, error);
}

GArray *container_cgroup_pids(ContainerCgroup *cg, GError **error)
{
    g_autofree char *procs = cgroup_read_file(cg->dir_fd, "cgroup.procs");
    if (procs == NULL) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_FAILED, "read '%s/cgroup.procs': %s",
                    cg->path, g_strerror(errno));
        return NULL;
    }
    GArray *pids = g_array_new(FALSE, FALSE, sizeof(pid_t));
    g_auto(GStrv) lines = g_strsplit(procs, "\n", -1);
    for (char **l = lines; *l; l++) {
        guint64 v;
        if (**l && g_ascii_string_to_unsigned(*l, 10, 1, G_MAXINT32, &v, NULL)) {
            pid_t pid = (pid_t)v;
            g_array_append_val(pids, pid);
        }
    }
    return pids;
}

gboolean container_cgroup_signal(ContainerCgroup *cg, int sig, GError **error)
{
    if (sig == SIGKILL) {
        /* cgroup.kill also catches processes forked while we walk the list. */
        if (write_file(cg->dir_fd, cg->path, "cgroup.kill", "1", NULL))
            return TRUE;
    }
    g_autoptr(GArray) pids = container_cgroup_pids(cg, error);
    if (pids == NULL)
        return FALSE;
    for (guint i = 0; i < pids->len; i++) {
        if (kill(g_array_index(pids, pid_t, i), sig) < 0 && errno != ESRCH) {
            g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_FAILED,
                        "kill %d with signal %d: %s", g_array_index(pids, pid_t, i), sig,
                        g_strerror(errno));
            return FALSE;
        }
    }
    return TRUE;
}

gboolean container_cgroup_oom_kills(ContainerCgroup *cg, guint64 *out, GError **error)
{
    g_autofree char *events = cgroup_read_file(cg->dir_fd, "memory.events");
    *out = 0;
    if (events == NULL) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_UNSUPPORTED,
                    "read '%s/memory.events': %s (memory controller not enabled?)", cg->path,
                    g_strerror(errno));
        return FALSE;
    }
    cgroup_keyed_value(events, "oom_kill", out);
    return TRUE;
}

gboolean container_cgroup_remove(ContainerCgroup *cg, GError **error)
{
    gboolean ok = TRUE;
    if (cg->dir_fd >= 0) {
        /* Thaw first: a frozen cgroup would keep its killed processes until thawed on old kernels.
         */
        write_file(cg->dir_fd, cg->path, "cgroup.freeze", "0", NULL);
        ok = container_cgroup_signal(cg, SIGKILL, error) && wait_event(cg, "populated", 0, error);
    }
    if (ok && unlinkat(cg->parent_fd, cg->name, AT_REMOVEDIR) < 0) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_FAILED, "rmdir cgroup '%s': %s",
                    cg->path, g_strerror(errno));
        ok = FALSE;
    }
    cgroup_free(cg);
    return ok;
}
