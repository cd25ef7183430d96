/* Orphan reaping through the pidfds of the shim's children, from a main context of its own in a
 * thread of its own: woken only when a child exits or the shim forks; while a pod is idle,
 * nothing here runs.
 *
 * The shim is a child subreaper: what libvirt starts daemonized (QEMU, virtiofsd; their
 * intermediate parent is libvirt's fork of the shim, which exits), what such a process leaves
 * when it dies (virtiofsd's sandboxed worker), and what a dead host agent leaves (its container
 * processes) is re-parented to it and is its to reap. A process only becomes the shim's child in
 * two ways: the shim forks it (pthread_atfork tells), or the child it descends from exits while
 * nothing between them is a subreaper (the host agent is one) — that child is one of ours, whose
 * exit its pidfd tells. So each of those events looks through the children of every thread
 * (/proc/self/task/<tid>/children) and watches each new one's pidfd.
 *
 * waitpid(-1) would steal children that libvirt and GLib wait for by pid, so a child that exits
 * gets a grace period for its own waiter (libvirt waits for its forks, and for the QEMU it runs
 * to probe capabilities, which carries QEMU's name; GLib for the template builder), and then is
 * reaped only if it is still a zombie, its command name differs from ours (libvirt's forks that
 * have not exec'd still carry it) and it is not the host-mode agent (named secure-agent, waited
 * for by the sandbox). vmm-libvirt reaps QEMU and virtiofsd through its own pidfds on them
 * already; this is what catches the rest.
 *
 * Not on the shim's main loop: libvirt's embedded driver runs on it and blocks it while it waits
 * for a QEMU it killed to disappear (a start that fails, a destroy), and QEMU, re-parented to
 * the shim, disappears only once reaped. On the main loop that wait lasted until libvirt gave
 * up (a VM whose kernel QEMU refuses: 40 s instead of 1 s). */
#include "shim-reaper.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>

#include "shim-error.h"

/* Long enough for a waiter woken by the same exit to have reaped its child, even on a busy
 * machine; short next to libvirt's 200 ms between checks that a killed QEMU is gone. */
#define REAP_GRACE_MS 50
#define COMM_MAX 32
#define HOST_AGENT_COMM "secure-agent"

/* Watched on its pidfd until it exits, then given the grace for its own waiter; it is freed
 * once the grace is over, when its sources have ended. */
typedef struct {
    pid_t pid;
    int pidfd;
} Child;

/* Process-wide, as the children are, and as pthread_atfork's handlers (which take no data)
 * need. */
static struct {
    gboolean started;
    pid_t pid;
    char comm[COMM_MAX];
    int forked;            /* eventfd: counts forks, written by the forking thread */
    GMainContext *context; /* the reaper thread's; everything below runs there */
    GHashTable *children;  /* pid -> Child, watched */
} reaper = {.forked = -1};

static void attach(GSource *source, GSourceFunc func, gpointer data)
{
    g_source_set_callback(source, func, data, NULL);
    g_source_attach(source, reaper.context);
    g_source_unref(source);
}

static void watch_fd(int fd, GUnixFDSourceFunc func, gpointer data)
{
    attach(g_unix_fd_source_new(fd, G_IO_IN), (GSourceFunc)(void (*)(void))func, data);
}

/* The command name of @pid (/proc/<pid>/comm, without its newline), or "" when it cannot be
 * read. */
static void read_comm(pid_t pid, char comm[COMM_MAX])
{
    g_autofree char *path = g_strdup_printf("/proc/%d/comm", (int)pid);
    g_autofree char *text = NULL;

    comm[0] = '\0';
    if (g_file_get_contents(path, &text, NULL, NULL))
        g_strlcpy(comm, g_strchomp(text), COMM_MAX);
}

static void child_free(Child *child)
{
    close(child->pidfd);
    g_free(child);
}

/* After the grace: a child still unreaped (waitid() with WNOWAIT finds its exit) is ours unless
 * it has a waiter of its own. Unreaped, the pid is still its own, and so is /proc/<pid>. */
static gboolean reap_orphan(gpointer data)
{
    Child *child = data;
    siginfo_t info = {0};
    char comm[COMM_MAX];

    if (waitid(P_PIDFD, child->pidfd, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid == child->pid) {
        read_comm(child->pid, comm);
        if (comm[0] != '\0' && strcmp(comm, reaper.comm) != 0 && strcmp(comm, HOST_AGENT_COMM) != 0)
            waitid(P_PIDFD, child->pidfd, &info, WEXITED | WNOHANG);
    }
    g_hash_table_remove(reaper.children, GINT_TO_POINTER(child->pid));
    return G_SOURCE_REMOVE;
}

static void watch_new_children(void);

/* A child exited: its own waiter gets the grace; and its children, if it had any, are ours
 * now. */
static gboolean on_child_exit(int fd, GIOCondition condition, gpointer data)
{
    Child *child = data;

    (void)fd;
    (void)condition;
    attach(g_timeout_source_new(REAP_GRACE_MS), reap_orphan, child);
    watch_new_children();
    return G_SOURCE_REMOVE;
}

static void watch_child(pid_t pid)
{
    Child *child;
    int pidfd;

    if (pid <= 0 || g_hash_table_contains(reaper.children, GINT_TO_POINTER(pid)))
        return;
    pidfd = pidfd_open(pid, 0);
    if (pidfd < 0)
        return; /* reaped meanwhile */
    child = g_new0(Child, 1);
    child->pid = pid;
    child->pidfd = pidfd;
    watch_fd(pidfd, on_child_exit, child);
    g_hash_table_insert(reaper.children, GINT_TO_POINTER(pid), child);
}

/* Each thread has its own children: those it forked (orphans go to one of them). The lists
 * read "12 34 ". */
static void watch_new_children(void)
{
    g_autoptr(GDir) tasks = g_dir_open("/proc/self/task", 0, NULL);
    const char *tid;

    while (tasks && (tid = g_dir_read_name(tasks))) {
        g_autofree char *path = g_strdup_printf("/proc/self/task/%s/children", tid);
        g_autofree char *list = NULL;

        if (!g_file_get_contents(path, &list, NULL, NULL))
            continue; /* the thread ended meanwhile */
        g_auto(GStrv) pids = g_strsplit(g_strstrip(list), " ", -1);
        for (char **p = pids; *p; p++)
            watch_child((pid_t)atoi(*p));
    }
}

static gboolean on_forked(int fd, GIOCondition condition, gpointer data)
{
    eventfd_t forks;

    (void)condition;
    (void)data;
    eventfd_read(fd, &forks);
    watch_new_children();
    return G_SOURCE_CONTINUE;
}

/* Runs in the thread that forked, right after the fork. Only in our own process: a forked child
 * that forks again (libvirt's daemonizing intermediate) runs it too, with its fds closed and
 * reused (the eventfd's number can be its sync pipe). */
static void on_fork(void)
{
    if (getpid() == reaper.pid)
        eventfd_write(reaper.forked, 1);
}

static gpointer run(gpointer data)
{
    (void)data;
    watch_new_children();
    for (;;)
        g_main_context_iteration(reaper.context, TRUE);
    return NULL;
}

gboolean shim_reaper_start(GError **error)
{
    g_return_val_if_fail(!reaper.started, FALSE);
    reaper.pid = getpid();
    read_comm(reaper.pid, reaper.comm);
    reaper.forked = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (reaper.forked < 0) {
        g_set_error(error, SHIM_ERROR, SHIM_ERROR_FAILED, "orphan reaper: eventfd: %s",
                    g_strerror(errno));
        return FALSE;
    }
    int err = pthread_atfork(NULL, on_fork, NULL);
    if (err != 0) {
        close(g_steal_fd(&reaper.forked));
        g_set_error(error, SHIM_ERROR, SHIM_ERROR_FAILED, "orphan reaper: pthread_atfork: %s",
                    g_strerror(err));
        return FALSE;
    }
    reaper.started = TRUE;
    reaper.children = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)child_free);
    reaper.context = g_main_context_new();
    watch_fd(reaper.forked, on_forked, NULL);
    /* It runs as long as the process: the thread is never joined. */
    g_thread_unref(g_thread_new("reaper", run, NULL));
    return TRUE;
}
