/* Orphan reaping, woken only by child exits (and, while the shim has no child, by its forks):
 * while a pod is idle, nothing here runs.
 *
 * The shim is a child subreaper: what libvirt starts daemonized (QEMU, virtiofsd, the QEMU that
 * probes capabilities) is re-parented to it when its intermediate parent exits, and is ours to
 * reap. waitpid(-1) would steal children that libvirt and GLib wait for by pid, so only zombies
 * that nobody else waits for are reaped: children whose command name differs from ours
 * (libvirt's forks that have not exec'd still carry our name, and libvirt waits for them) and
 * that are not the host-mode agent (named secure-agent, waited for by the sandbox).
 *
 * A thread sleeps in waitid(P_ALL, WNOWAIT), which returns once any child of the process is a
 * zombie, without reaping it. The thread then leaves a grace period to the child's own waiter
 * (libvirt waits by pid for the QEMU it runs to probe capabilities, which carries QEMU's name),
 * and reaps the orphans among the process's children (/proc/self/task/<tid>/children). While
 * an unreaped zombie that is not ours remains, that repeats once per grace period, until its
 * waiter takes it. With no child at all, waitid fails at once: the thread then sleeps until a
 * fork (pthread_atfork) makes one, as a process only becomes ours through a fork of ours
 * (libvirt and GLib's spawn fork; a posix_spawn or vfork made while we have no other child
 * would only be seen at the next fork).
 *
 * Why a thread, not the main loop: the VM teardown blocks the main loop while libvirt waits for
 * QEMU and virtiofsd to exit, and they only finish exiting once reaped. The thread never
 * allocates: libvirt forks from other threads, and a fork taken while this thread held an
 * allocator lock would leave the child stuck (seen with ASan's allocator). It runs until the
 * process exits; its state is process-wide, as the children it waits for are, and as
 * pthread_atfork's handlers (which take no data) need. */
#include "shim-reaper.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>

#include "shim-error.h"
#include "shim-privileges.h"

/* Long enough for a waiter woken by the same exit to have reaped its child, even on a busy
 * machine; short next to libvirt's 200 ms between checks that a killed QEMU is gone. */
#define REAP_GRACE_US (50 * 1000)
#define COMM_MAX 32

static struct {
    gboolean started;
    GMutex lock; /* the thread's start, until it has given up its capabilities */
    GCond dropped;
    gboolean started_up;
    GError *drop_error;
    pid_t pid;
    int forked; /* eventfd: counts forks, for the thread to wait on while we have no child */
    char comm[COMM_MAX];
} reaper = {.forked = -1};

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

static void reap_if_orphan(pid_t pid)
{
    char comm[COMM_MAX], state;
    pid_t ppid;
    if (pid <= 0 || !read_stat(pid, comm, &state, &ppid))
        return;
    if (ppid != reaper.pid || state != 'Z' || strcmp(comm, reaper.comm) == 0 ||
        strcmp(comm, "secure-agent") == 0)
        return;
    waitpid(pid, NULL, WNOHANG);
}

/* Checks each pid in /proc/self/task/<tid>/children ("12 34 "), read in pieces: a number may
 * span two reads. */
static void reap_children_of(pid_t tid)
{
    char path[64], buf[256];
    snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    pid_t pid = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] >= '0' && buf[i] <= '9') {
                pid = pid * 10 + (buf[i] - '0');
                continue;
            }
            reap_if_orphan(pid);
            pid = 0;
        }
    }
    reap_if_orphan(pid);
    close(fd);
}

/* Each thread has its own children: those it forked (orphans go to one of them). */
static void reap_orphans(void)
{
    char entries[4096];
    int dir = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return;
    ssize_t n;
    while ((n = getdents64(dir, entries, sizeof(entries))) > 0) {
        for (ssize_t off = 0; off < n;) {
            struct dirent64 *d = (struct dirent64 *)(entries + off);
            off += d->d_reclen;
            pid_t tid = atoi(d->d_name); /* 0 for "." and ".." */
            if (tid > 0)
                reap_children_of(tid);
        }
    }
    close(dir);
}

/* It needs no privilege to wait for children and read /proc: it gives all of them up first,
 * while the thread that started it waits (so that nothing forks while this allocates). Then it
 * starts GLib's worker threads, which inherit that: otherwise libvirt would start them from the
 * main thread with all of its capabilities (its D-Bus probe during the VM start sets up GTask),
 * and as they block every signal, shim-privileges.c could never ask them to give those up. */
static void drop_privileges(void)
{
    GError *error = NULL;

    if (shim_privileges_drop_all(&error))
        g_type_ensure(G_TYPE_TASK);
    g_mutex_lock(&reaper.lock);
    reaper.drop_error = error;
    reaper.started_up = TRUE;
    g_cond_signal(&reaper.dropped);
    g_mutex_unlock(&reaper.lock);
}

static gpointer reaper_thread(gpointer user_data)
{
    (void)user_data;
    drop_privileges();
    for (;;) {
        siginfo_t info;
        if (waitid(P_ALL, 0, &info, WEXITED | WNOWAIT) == 0) {
            g_usleep(REAP_GRACE_US);
            reap_orphans();
        } else if (errno == ECHILD) {
            eventfd_t forks;
            eventfd_read(reaper.forked, &forks);
        }
    }
    return NULL;
}

/* Runs in the thread that forked, right after the fork: there may be a child to wait for now.
 * Only in our own process: a forked child that forks again (libvirt's daemonizing intermediate)
 * runs it too, with its fds closed and reused (the eventfd's number can be its sync pipe). */
static void on_fork(void)
{
    if (getpid() == reaper.pid)
        eventfd_write(reaper.forked, 1);
}

gboolean shim_reaper_start(GError **error)
{
    g_return_val_if_fail(!reaper.started, FALSE);
    char state;
    pid_t ppid;
    reaper.pid = getpid();
    if (!read_stat(reaper.pid, reaper.comm, &state, &ppid))
        reaper.comm[0] = '\0';
    reaper.forked = eventfd(0, EFD_CLOEXEC);
    if (reaper.forked < 0) {
        g_set_error(error, SHIM_ERROR, SHIM_ERROR_FAILED, "orphan reaper: eventfd: %s",
                    g_strerror(errno));
        return FALSE;
    }
    int err = pthread_atfork(NULL, on_fork, NULL);
    if (err != 0) {
        close(reaper.forked);
        reaper.forked = -1;
        g_set_error(error, SHIM_ERROR, SHIM_ERROR_FAILED, "orphan reaper: pthread_atfork: %s",
                    g_strerror(err));
        return FALSE;
    }
    reaper.started = TRUE;
    g_thread_unref(g_thread_new("reaper", reaper_thread, NULL));
    g_mutex_lock(&reaper.lock);
    while (!reaper.started_up)
        g_cond_wait(&reaper.dropped, &reaper.lock);
    g_mutex_unlock(&reaper.lock);
    if (reaper.drop_error == NULL)
        return TRUE;
    g_propagate_prefixed_error(error, g_steal_pointer(&reaper.drop_error), "orphan reaper: ");
    return FALSE;
}
