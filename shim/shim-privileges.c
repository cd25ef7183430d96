/* Capabilities the shim gives up, in every thread. libcap changes only the calling thread's
 * (its all-threads mode, libpsx, needs every pthread_create wrapped at link time, which GLib's
 * and libvirt's are not), so each thread is asked with a signal whose handler makes the same
 * raw system calls as the caller makes for itself. */
#include "shim-privileges.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gio/gio.h>

#include "shim-error.h"

/* A running pod's needs:
 * - SYS_ADMIN: mount and unmount container roots and volumes in the shared directory, enter the
 *   pod's network namespace (port forwarding);
 * - KILL: signal the pod's QEMU, which runs as the pod's own uid;
 * - NET_ADMIN: remove the pod's taps (and their traffic redirection) from its network namespace
 *   when the pod ends;
 * - DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER: read and remove what libvirt made QEMU's (its
 *   private directory, mode 0750 for the pod's uid) when the pod ends. */
#define POD_CAPS                                                                                   \
    (1ULL << CAP_SYS_ADMIN | 1ULL << CAP_KILL | 1ULL << CAP_NET_ADMIN | 1ULL << CAP_DAC_OVERRIDE | \
     1ULL << CAP_DAC_READ_SEARCH | 1ULL << CAP_FOWNER)

/* What starting a pod needs, and what the processes it starts may have at most (a root QEMU,
 * with virtio-9p; virtiofsd; the VM template builder): file ownership and modes, signals, uids
 * for QEMU (libvirt), capability sets, taps and their traffic, mounts and namespaces, opening a
 * namespace by /proc/PID/ns/net (a ptrace access check), QEMU's limits and priorities, device
 * nodes and file capabilities (virtiofsd acting as the files' owners). Not module loading, raw
 * I/O, reboot, the clock, audit, BPF or perf, and the rest that no part of a pod uses. */
#define START_CAPS                                                                                 \
    (POD_CAPS | 1ULL << CAP_CHOWN | 1ULL << CAP_FSETID | 1ULL << CAP_SETGID | 1ULL << CAP_SETUID | \
     1ULL << CAP_SETPCAP | 1ULL << CAP_SYS_PTRACE | 1ULL << CAP_SYS_RESOURCE |                     \
     1ULL << CAP_SYS_NICE | 1ULL << CAP_IPC_LOCK | 1ULL << CAP_MKNOD | 1ULL << CAP_SETFCAP)

/* Not used by glibc (which keeps SIGRTMIN-2 and -1), GLib or libvirt. */
#define ASK_SIGNAL (SIGRTMIN + 7)
/* A thread runs the handler as soon as it is scheduled: generous, for a machine that is busy. */
#define ANSWER_TIMEOUT_MS 30000
#define BLOCKED_RETRY_US (10 * 1000)

/* What the threads are asked to keep; set before any is asked. */
static struct {
    guint64 keep;
    gboolean no_new_privs;
    int last_cap;
    int answers[2]; /* a pipe: each asked thread writes its errno (0: done) */
} request = {.answers = {-1, -1}};

static int last_cap(void)
{
    int cap = 0;

    while (prctl(PR_CAPBSET_READ, cap + 1, 0, 0, 0) >= 0)
        cap++;
    return cap;
}

/* The calling thread's part, async-signal-safe: it runs in signal handlers. It keeps what it
 * has of request.keep (GLib's workers, which have nothing, stay so). Returns 0 or an errno. */
static int give_up_in_this_thread(void)
{
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];

    if (syscall(SYS_capget, &header, data) < 0)
        return errno;
    /* Without CAP_SETPCAP (a shim that is not root) the bounding set cannot shrink, and the
     * thread has nothing there to give up. */
    for (int cap = 0; (data[0].effective & (1U << CAP_SETPCAP)) && cap <= request.last_cap; cap++)
        if (!(request.keep & (1ULL << cap)) && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1 &&
            prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
            return errno;
    for (int i = 0; i < 2; i++) {
        guint32 keep = (guint32)(request.keep >> (32 * i));

        data[i].permitted &= keep;
        data[i].effective = data[i].permitted;
        data[i].inheritable = 0;
    }
    if (syscall(SYS_capset, &header, data) < 0)
        return errno;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
        return errno;
    if (request.no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return errno;
    return 0;
}

static void on_ask(int signal_number)
{
    int saved = errno;
    int result = give_up_in_this_thread();
    ssize_t written = write(request.answers[1], &result, sizeof(result));

    (void)signal_number;
    (void)written;
    errno = saved;
}

static gboolean fail(GError **error, int err, const char *what)
{
    g_set_error(error, SHIM_ERROR, SHIM_ERROR_FAILED, "give up capabilities: %s: %s", what,
                g_strerror(err));
    return FALSE;
}

/* Field @name of a /proc status text, as a hexadecimal mask; 0 if it is not there. */
static guint64 status_mask(const char *status, const char *name)
{
    g_autofree char *key = g_strdup_printf("\n%s:", name);
    const char *line = status ? strstr(status, key) : NULL;

    return line ? g_ascii_strtoull(line + strlen(key), NULL, 16) : 0;
}

/* Thread @tid's status, or NULL once it is gone. */
static char *thread_status(pid_t tid)
{
    g_autofree char *path = g_strdup_printf("/proc/self/task/%d/status", (int)tid);
    char *status = NULL;

    return g_file_get_contents(path, &status, NULL, NULL) ? status : NULL;
}

/* Asks thread @tid and waits for its answer, unless it has no more than asked for already (GLib's
 * worker threads, which block every signal, are born so: shim_privileges_start_workers()). A thread
 * that has exited meanwhile is done. A thread blocks every signal for a moment while it starts
 * (glibc sets its mask after the clone), so one that blocks the signal is looked at again until the
 * answer's timeout. */
static gboolean ask(pid_t tid, GError **error)
{
    struct pollfd answer = {.fd = request.answers[0], .events = POLLIN};
    gint64 deadline = g_get_monotonic_time() + ANSWER_TIMEOUT_MS * 1000;
    int result;

    for (;;) {
        g_autofree char *status = thread_status(tid);

        if (!status || (!(status_mask(status, "CapPrm") & ~request.keep) &&
                        !(status_mask(status, "CapBnd") & ~request.keep) &&
                        status_mask(status, "NoNewPrivs") == (guint64)request.no_new_privs))
            return TRUE;
        if (!((status_mask(status, "SigBlk") >> (ASK_SIGNAL - 1)) & 1))
            break;
        if (g_get_monotonic_time() > deadline) {
            g_set_error(error, SHIM_ERROR, SHIM_ERROR_FAILED,
                        "give up capabilities: thread %d blocks signal %d, which asks it", (int)tid,
                        ASK_SIGNAL);
            return FALSE;
        }
        g_usleep(BLOCKED_RETRY_US);
    }
    if (syscall(SYS_tgkill, getpid(), tid, ASK_SIGNAL) < 0)
        return errno == ESRCH || fail(error, errno, "signal a thread");
    if (poll(&answer, 1, ANSWER_TIMEOUT_MS) != 1)
        return fail(error, ETIMEDOUT, "a thread's answer");
    if (read(request.answers[0], &result, sizeof(result)) != sizeof(result))
        return fail(error, errno, "read a thread's answer");
    return result == 0 || fail(error, result, "in a thread");
}

/* Every other thread, in passes until one finds no thread it has not asked: a thread created
 * meanwhile by one not yet asked would have its creator's capabilities. */
static gboolean ask_other_threads(GError **error)
{
    g_autoptr(GHashTable) asked = g_hash_table_new(NULL, NULL);
    pid_t self = (pid_t)syscall(SYS_gettid);

    for (gboolean new_thread = TRUE; new_thread;) {
        g_autoptr(GDir) tasks = g_dir_open("/proc/self/task", 0, error);
        const char *name;

        if (!tasks)
            return FALSE;
        new_thread = FALSE;
        while ((name = g_dir_read_name(tasks))) {
            pid_t tid = atoi(name);

            if (tid == self || g_hash_table_contains(asked, GINT_TO_POINTER(tid)))
                continue;
            if (!ask(tid, error))
                return FALSE;
            g_hash_table_add(asked, GINT_TO_POINTER(tid));
            new_thread = TRUE;
        }
    }
    return TRUE;
}

static gboolean keep_everywhere(GError **error)
{
    struct sigaction action = {.sa_handler = on_ask, .sa_flags = SA_RESTART};
    struct sigaction previous;
    gboolean ok;

    if (pipe2(request.answers, O_CLOEXEC) < 0)
        return fail(error, errno, "pipe");
    sigemptyset(&action.sa_mask);
    ok = sigaction(ASK_SIGNAL, &action, &previous) == 0 || fail(error, errno, "sigaction");
    ok = ok && ask_other_threads(error);
    if (ok) {
        int err = give_up_in_this_thread();
        ok = err == 0 || fail(error, err, "in the shim's main thread");
    }
    sigaction(ASK_SIGNAL, &previous, NULL);
    close(request.answers[0]);
    close(request.answers[1]);
    request.answers[0] = request.answers[1] = -1;
    return ok;
}

/* What the next give_up_in_this_thread() calls keep. */
static void set_request(guint64 keep, gboolean no_new_privs)
{
    request.keep = keep;
    request.no_new_privs = no_new_privs;
    request.last_cap = last_cap();
}

static gboolean keep_in_this_thread(guint64 keep, gboolean no_new_privs, GError **error)
{
    int err;

    set_request(keep, no_new_privs);
    err = give_up_in_this_thread();
    return err == 0 || fail(error, err, "in this thread");
}

/* GLib starts its worker threads (gmain, the thread pool's spawner) at its first need of them,
 * and they block every signal, so that no later keep_everywhere() could ask them to give up
 * what they inherited: they are started here, by a thread that has given up everything. */
static gpointer start_workers(gpointer data)
{
    GError **error = data;

    if (!keep_in_this_thread(0, TRUE, error))
        return NULL;
    g_type_ensure(G_TYPE_TASK);
    return GINT_TO_POINTER(TRUE);
}

gboolean shim_privileges_start_workers(GError **error)
{
    /* The thread inherits the caller's capabilities: joined before anything forks. */
    GThread *thread = g_thread_new("worker-start", start_workers, error);

    return g_thread_join(thread) != NULL;
}

gboolean shim_privileges_keep_start(GError **error)
{
    return keep_in_this_thread(START_CAPS, FALSE, error);
}

gboolean shim_privileges_keep_pod(GError **error)
{
    set_request(POD_CAPS, TRUE);
    return keep_everywhere(error);
}
