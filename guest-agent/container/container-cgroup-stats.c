/* container-cgroup-stats.c: a container's cgroup v2 statistics as containerd's v2 Metrics. */
#include "container-cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common-fd.h"

static Io__Containerd__Cgroups__V2__CPUStat *cpu_stats(int dirfd)
{
    g_autofree char *text = cgroup_read_file(dirfd, "cpu.stat");
    if (text == NULL)
        return NULL;
    Io__Containerd__Cgroups__V2__CPUStat *cpu = g_new0(Io__Containerd__Cgroups__V2__CPUStat, 1);
    io__containerd__cgroups__v2__cpustat__init(cpu);
    cgroup_keyed_value(text, "usage_usec", &cpu->usage_usec);
    cgroup_keyed_value(text, "user_usec", &cpu->user_usec);
    cgroup_keyed_value(text, "system_usec", &cpu->system_usec);
    cgroup_keyed_value(text, "nr_periods", &cpu->nr_periods);
    cgroup_keyed_value(text, "nr_throttled", &cpu->nr_throttled);
    cgroup_keyed_value(text, "throttled_usec", &cpu->throttled_usec);
    return cpu;
}

/* A single number, or "max" as G_MAXUINT64 (what containerd reports). */
static guint64 number_file(int dirfd, const char *file)
{
    g_autofree char *text = cgroup_read_file(dirfd, file);
    if (text == NULL)
        return 0;
    return g_str_has_prefix(text, "max") ? G_MAXUINT64 : g_ascii_strtoull(text, NULL, 10);
}

static Io__Containerd__Cgroups__V2__PidsStat *pids_stats(int dirfd)
{
    if (faccessat(dirfd, "pids.current", F_OK, 0) < 0)
        return NULL;
    Io__Containerd__Cgroups__V2__PidsStat *pids = g_new0(Io__Containerd__Cgroups__V2__PidsStat, 1);
    io__containerd__cgroups__v2__pids_stat__init(pids);
    pids->current = number_file(dirfd, "pids.current");
    pids->limit = number_file(dirfd, "pids.max");
    return pids;
}

#define MEMORY_FIELD(name)                                                                         \
    {                                                                                              \
#name, G_STRUCT_OFFSET(Io__Containerd__Cgroups__V2__MemoryStat, name)                      \
    }

static Io__Containerd__Cgroups__V2__MemoryStat *memory_stats(int dirfd)
{
    static const struct {
        const char *key;
        glong offset;
    } fields[] = {
        MEMORY_FIELD(anon),
        MEMORY_FIELD(file),
        MEMORY_FIELD(kernel_stack),
        MEMORY_FIELD(slab),
        MEMORY_FIELD(sock),
        MEMORY_FIELD(shmem),
        MEMORY_FIELD(file_mapped),
        MEMORY_FIELD(file_dirty),
        MEMORY_FIELD(file_writeback),
        MEMORY_FIELD(anon_thp),
        MEMORY_FIELD(inactive_anon),
        MEMORY_FIELD(active_anon),
        MEMORY_FIELD(inactive_file),
        MEMORY_FIELD(active_file),
        MEMORY_FIELD(unevictable),
        MEMORY_FIELD(slab_reclaimable),
        MEMORY_FIELD(slab_unreclaimable),
        MEMORY_FIELD(pgfault),
        MEMORY_FIELD(pgmajfault),
        MEMORY_FIELD(workingset_refault),
        MEMORY_FIELD(workingset_activate),
        MEMORY_FIELD(workingset_nodereclaim),
        MEMORY_FIELD(pgrefill),
        MEMORY_FIELD(pgscan),
        MEMORY_FIELD(pgsteal),
        MEMORY_FIELD(pgactivate),
        MEMORY_FIELD(pgdeactivate),
        MEMORY_FIELD(pglazyfree),
        MEMORY_FIELD(pglazyfreed),
        MEMORY_FIELD(thp_fault_alloc),
        MEMORY_FIELD(thp_collapse_alloc),
    };
    g_autofree char *text = cgroup_read_file(dirfd, "memory.stat");
    if (text == NULL)
        return NULL;
    Io__Containerd__Cgroups__V2__MemoryStat *mem =
        g_new0(Io__Containerd__Cgroups__V2__MemoryStat, 1);
    io__containerd__cgroups__v2__memory_stat__init(mem);
    for (gsize i = 0; i < G_N_ELEMENTS(fields); i++)
        cgroup_keyed_value(text, fields[i].key, G_STRUCT_MEMBER_P(mem, fields[i].offset));
    /* Newer kernels split these by anon/file; containerd's field is the sum. */
    guint64 anon = 0, file = 0;
    if (cgroup_keyed_value(text, "workingset_refault_anon", &anon) |
        cgroup_keyed_value(text, "workingset_refault_file", &file))
        mem->workingset_refault = anon + file;
    anon = file = 0;
    if (cgroup_keyed_value(text, "workingset_activate_anon", &anon) |
        cgroup_keyed_value(text, "workingset_activate_file", &file))
        mem->workingset_activate = anon + file;
    mem->usage = number_file(dirfd, "memory.current");
    mem->usage_limit = number_file(dirfd, "memory.max");
    mem->swap_usage = number_file(dirfd, "memory.swap.current");
    mem->swap_limit = number_file(dirfd, "memory.swap.max");
    return mem;
}

static Io__Containerd__Cgroups__V2__MemoryEvents *memory_events(int dirfd)
{
    g_autofree char *text = cgroup_read_file(dirfd, "memory.events");
    if (text == NULL)
        return NULL;
    Io__Containerd__Cgroups__V2__MemoryEvents *ev =
        g_new0(Io__Containerd__Cgroups__V2__MemoryEvents, 1);
    io__containerd__cgroups__v2__memory_events__init(ev);
    cgroup_keyed_value(text, "low", &ev->low);
    cgroup_keyed_value(text, "high", &ev->high);
    cgroup_keyed_value(text, "max", &ev->max);
    cgroup_keyed_value(text, "oom", &ev->oom);
    cgroup_keyed_value(text, "oom_kill", &ev->oom_kill);
    return ev;
}

static void io_entry_field(Io__Containerd__Cgroups__V2__IOEntry *e, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (eq == NULL)
        return;
    guint64 v = g_ascii_strtoull(eq + 1, NULL, 10);
    size_t klen = (size_t)(eq - kv);
    if (klen == 6 && strncmp(kv, "rbytes", klen) == 0)
        e->rbytes = v;
    else if (klen == 6 && strncmp(kv, "wbytes", klen) == 0)
        e->wbytes = v;
    else if (klen == 4 && strncmp(kv, "rios", klen) == 0)
        e->rios = v;
    else if (klen == 4 && strncmp(kv, "wios", klen) == 0)
        e->wios = v;
}

static Io__Containerd__Cgroups__V2__IOStat *io_stats(int dirfd)
{
    g_autofree char *text = cgroup_read_file(dirfd, "io.stat");
    if (text == NULL)
        return NULL;
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    Io__Containerd__Cgroups__V2__IOStat *io = g_new0(Io__Containerd__Cgroups__V2__IOStat, 1);
    io__containerd__cgroups__v2__iostat__init(io);
    io->usage = g_new0(Io__Containerd__Cgroups__V2__IOEntry *, g_strv_length(lines) + 1);
    for (char **l = lines; *l; l++) {
        unsigned int major, minor;
        if (sscanf(*l, "%u:%u", &major, &minor) != 2)
            continue;
        Io__Containerd__Cgroups__V2__IOEntry *e = g_new0(Io__Containerd__Cgroups__V2__IOEntry, 1);
        io__containerd__cgroups__v2__ioentry__init(e);
        e->major = major;
        e->minor = minor;
        g_auto(GStrv) fields = g_strsplit(*l, " ", -1);
        for (char **f = fields + 1; *f; f++)
            io_entry_field(e, *f);
        io->usage[io->n_usage++] = e;
    }
    return io;
}

/* One entry per page size the hugetlb controller shows (files hugetlb.<size>.current). */
static void hugetlb_stats(int dirfd, Io__Containerd__Cgroups__V2__Metrics *m)
{
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (dir == NULL) {
        common_fd_close(&fd);
        return;
    }
    GPtrArray *entries = g_ptr_array_new();
    for (struct dirent *d; (d = readdir(dir));) {
        if (!g_str_has_prefix(d->d_name, "hugetlb.") || !g_str_has_suffix(d->d_name, ".current") ||
            strchr(d->d_name + 8, '.') != d->d_name + strlen(d->d_name) - 8)
            continue;
        g_autofree char *size = g_strndup(d->d_name + 8, strlen(d->d_name) - 16);
        g_autofree char *max_file = g_strdup_printf("hugetlb.%s.max", size);
        Io__Containerd__Cgroups__V2__HugeTlbStat *h =
            g_new0(Io__Containerd__Cgroups__V2__HugeTlbStat, 1);
        io__containerd__cgroups__v2__huge_tlb_stat__init(h);
        h->current = number_file(dirfd, d->d_name);
        h->max = number_file(dirfd, max_file);
        h->pagesize = g_steal_pointer(&size);
        g_ptr_array_add(entries, h);
    }
    closedir(dir);
    m->n_hugetlb = entries->len;
    m->hugetlb = (Io__Containerd__Cgroups__V2__HugeTlbStat **)g_ptr_array_free(entries, FALSE);
}

Io__Containerd__Cgroups__V2__Metrics *container_cgroup_stats(ContainerCgroup *cg, GError **error)
{
    int dir_fd = container_cgroup_get_fd(cg);
    if (faccessat(dir_fd, "cgroup.procs", F_OK, 0) < 0) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_FAILED, "cgroup statistics: %s",
                    g_strerror(errno));
        return NULL;
    }
    Io__Containerd__Cgroups__V2__Metrics *m = g_new0(Io__Containerd__Cgroups__V2__Metrics, 1);
    io__containerd__cgroups__v2__metrics__init(m);
    m->pids = pids_stats(dir_fd);
    m->cpu = cpu_stats(dir_fd);
    m->memory = memory_stats(dir_fd);
    m->memory_events = memory_events(dir_fd);
    m->io = io_stats(dir_fd);
    hugetlb_stats(dir_fd, m);
    return m;
}
