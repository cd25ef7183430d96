/* Orphan reaping. waitpid(-1) would steal children that libvirt and GLib wait for by pid, so
 * only zombies that nobody else waits for are reaped: children whose command name differs from
 * ours (libvirt's own short-lived forks still carry our name) and that are not the host-mode
 * agent (named secure-agent, waited for by the sandbox).
 * It runs in its own thread: the VM teardown blocks the main loop while it waits for QEMU and
 * virtiofsd to exit, and they only finish exiting once we reap them. The thread never
 * allocates: libvirt forks from other threads, and a fork taken while this thread held an
 * allocator lock would leave the child stuck (seen with ASan's allocator). */
#include "shim-reaper.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define REAP_INTERVAL_US (100 * 1000)
#define COMM_MAX 32

struct _ShimReaper {
    GThread *thread;
    gint stop;
    char comm[COMM_MAX];
};

/* Reads "pid (comm) S ppid ..." from /proc/<pid>/stat into the outputs, with stack buffers
 * only. comm may hold spaces and parentheses: it ends at the last ')'. */
static gboolean read_stat(pid_t pid, char comm[COMM_MAX], char *out_state, pid_t *out_ppid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return FALSE;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return FALSE;
    buf[n] = '\0';
    char *open_paren = strchr(buf, '(');
    char *close_paren = strrchr(buf, ')');
    if (!open_paren || !close_paren || close_paren < open_paren || close_paren[1] != ' ' ||
        close_paren[2] == '\0' || close_paren[3] != ' ')
        return FALSE;
    gsize len = MIN((gsize)(close_paren - open_paren - 1), (gsize)COMM_MAX - 1);
    memcpy(comm, open_paren + 1, len);
    comm[len] = '\0';
    *out_state = close_paren[2];
    pid_t ppid = 0;
    for (const char *p = close_paren + 4; *p >= '0' && *p <= '9'; p++)
        ppid = ppid * 10 + (*p - '0');
    *out_ppid = ppid;
    return TRUE;
}

static pid_t parse_pid(const char *name)
{
    pid_t pid = 0;
    if (!*name)
        return 0;
    for (; *name; name++) {
        if (*name < '0' || *name > '9')
            return 0;
        pid = pid * 10 + (*name - '0');
    }
    return pid;
}

static void reap_once(ShimReaper *reaper)
{
    char entries[4096];
    pid_t self = getpid();
    int dir = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return;
    for (;;) {
        ssize_t n = getdents64(dir, entries, sizeof(entries));
        if (n <= 0)
            break;
        for (ssize_t off = 0; off < n;) {
            struct dirent64 *d = (struct dirent64 *)(entries + off);
            off += d->d_reclen;
            char comm[COMM_MAX], state;
            pid_t ppid, pid = parse_pid(d->d_name);
            if (pid <= 0 || !read_stat(pid, comm, &state, &ppid))
                continue;
            if (ppid != self || state != 'Z' || strcmp(comm, reaper->comm) == 0 ||
                strcmp(comm, "secure-agent") == 0)
                continue;
            waitpid(pid, NULL, WNOHANG);
        }
    }
    close(dir);
}

static gpointer reaper_thread(gpointer user_data)
{
    ShimReaper *reaper = user_data;
    while (!g_atomic_int_get(&reaper->stop)) {
        reap_once(reaper);
        g_usleep(REAP_INTERVAL_US);
    }
    return NULL;
}

ShimReaper *shim_reaper_new(void)
{
    ShimReaper *reaper = g_new0(ShimReaper, 1);
    char state;
    pid_t ppid;
    if (!read_stat(getpid(), reaper->comm, &state, &ppid))
        reaper->comm[0] = '\0';
    reaper->thread = g_thread_new("reaper", reaper_thread, reaper);
    return reaper;
}

void shim_reaper_free(ShimReaper *reaper)
{
    if (!reaper)
        return;
    g_atomic_int_set(&reaper->stop, 1);
    g_thread_join(reaper->thread);
    reap_once(reaper);
    g_free(reaper);
}
