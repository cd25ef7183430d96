/* container.c: the container lifecycle: create (clone the init into its namespaces and cgroup),
 * start, exec, signal, pause/resume, stats, update, destroy. */
#include "container.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>

#include "common-fd.h"
#include "common-id.h"
#include "container-cgroup.h"
#include "container-child.h"
#include "container-devices.h"
#include "oci-json.h"

G_DEFINE_QUARK(container - error - quark, container_error)

/* How long setup, start and exec may take before the builder gives up on the child (a hung
 * mount, say), so that the caller's event loop is never blocked for good. */
#define SYNC_TIMEOUT_MS 60000

struct Container {
    char *id;
    OciSpec *spec;      /* a reference */
    OciDevice *devices; /* the spec's that this kernel has (container_devices_select) */
    gsize n_devices;
    ContainerCgroup *cgroup;
    pid_t pid;
    int pidfd;
    int sync_fd;  /* to the init until it has exec'd, then -1 */
    int ns_flags; /* namespaces an exec joins */
    gboolean started;
    gboolean paused;
};

/* A fork-like clone3(): no shared memory, so the child runs on a copy of our stack. */
static pid_t clone_child(guint64 flags, int cgroup_fd, int *out_pidfd)
{
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = flags | (out_pidfd ? CLONE_PIDFD : 0) | (cgroup_fd >= 0 ? CLONE_INTO_CGROUP : 0);
    args.pidfd = (guint64)(guintptr)out_pidfd;
    /* With CLONE_PARENT the child inherits our exit signal; clone3 wants 0 here then. */
    args.exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD;
    args.cgroup = cgroup_fd >= 0 ? (guint64)cgroup_fd : 0;
    return (pid_t)syscall(SYS_clone3, &args, sizeof args);
}

static void reap(pid_t pid)
{
    while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
        ;
}

/* fds for the child's 0-2: the caller's, or /dev/null. */
static gboolean stdio_prepare(const ContainerStdio *stdio, int *devnull, int fds[3], GError **error)
{
    *devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (*devnull < 0) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_FAILED, "open /dev/null: %s",
                    g_strerror(errno));
        return FALSE;
    }
    const int given[3] = {stdio->stdin_fd, stdio->stdout_fd, stdio->stderr_fd};
    for (int i = 0; i < 3; i++)
        fds[i] = (stdio->terminal || given[i] < 0) ? *devnull : given[i];
    return TRUE;
}

static gboolean sync_pair(int sv[2], GError **error)
{
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_FAILED, "socketpair: %s",
                    g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

/* What a child's messages told so far, read one at a time by sync_step(): the pty master and the
 * exec'd pid where the caller wants them (out_pty, out_pid non-NULL), and a reported error,
 * which fails the collection only at EOF, so that a pid sent after the error is still collected
 * (its process must be reaped). */
typedef struct {
    SyncKind until; /* SYNC_READY, or 0: read on to EOF */
    const char *what;
    int *out_pty;
    pid_t *out_pid;
    GError *child_error;
} SyncCollect;

typedef enum {
    SYNC_STEP_MORE,
    SYNC_STEP_DONE,
    SYNC_STEP_FAILED, /* @error is set */
} SyncStep;

static void sync_collect_clear(SyncCollect *sc)
{
    g_clear_error(&sc->child_error);
}

/* Reads one message (or EOF) of @sock, which must be readable. */
static SyncStep sync_step(SyncCollect *sc, int sock, GError **error)
{
    SyncMsg msg;
    int fd = -1;
    int rc = sync_recv(sock, &msg, &fd);
    if (rc < 0) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_FAILED, "%s: sync: %s", sc->what,
                    g_strerror(-rc));
        return SYNC_STEP_FAILED;
    }
    if (rc == 0) {
        if (sc->child_error) {
            g_propagate_error(error, g_steal_pointer(&sc->child_error));
            return SYNC_STEP_FAILED;
        }
        if (sc->until == 0)
            return SYNC_STEP_DONE;
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_FAILED,
                    "%s: the process exited during setup", sc->what);
        return SYNC_STEP_FAILED;
    }
    if (msg.kind == SYNC_PTY && fd >= 0 && sc->out_pty && *sc->out_pty < 0) {
        *sc->out_pty = fd;
        return SYNC_STEP_MORE;
    }
    common_fd_close(&fd);
    if (msg.kind == SYNC_ERROR && sc->child_error == NULL) {
        guint32 code =
            msg.error.code < CONTAINER_ERROR_LAST ? msg.error.code : CONTAINER_ERROR_FAILED;
        g_set_error(&sc->child_error, CONTAINER_ERROR, (int)code, "%s: %s%s%s", sc->what,
                    msg.error.msg, msg.error.err ? ": " : "",
                    msg.error.err ? g_strerror(msg.error.err) : "");
    } else if (msg.kind == SYNC_PID && sc->out_pid && msg.pid > 0) {
        *sc->out_pid = msg.pid;
    } else if (sc->until != 0 && msg.kind == (guint32)sc->until && sc->child_error == NULL) {
        return SYNC_STEP_DONE;
    } else if (msg.kind != SYNC_ERROR) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_FAILED,
                    "%s: unexpected sync message %u", sc->what, msg.kind);
        return SYNC_STEP_FAILED;
    }
    return SYNC_STEP_MORE;
}

static void set_timeout_error(const char *what, GError **error)
{
    g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_FAILED,
                "%s: no word from the process within %d s", what, SYNC_TIMEOUT_MS / 1000);
}

/* Reads the child's messages until `until` (SYNC_READY) or EOF (until == 0), blocking (poll,
 * at most SYNC_TIMEOUT_MS): for start and exec, which only wait for an execve. */
static gboolean sync_collect(int sock, SyncKind until, int *out_pty, pid_t *out_pid,
                             const char *what, GError **error)
{
    SyncCollect sc = {.until = until, .what = what, .out_pty = out_pty, .out_pid = out_pid};
    gint64 deadline = g_get_monotonic_time() + SYNC_TIMEOUT_MS * G_TIME_SPAN_MILLISECOND;
    SyncStep step = SYNC_STEP_MORE;
    while (step == SYNC_STEP_MORE) {
        struct pollfd pfd = {.fd = sock, .events = POLLIN};
        gint64 left_ms = (deadline - g_get_monotonic_time()) / G_TIME_SPAN_MILLISECOND;
        int ready = left_ms > 0 ? poll(&pfd, 1, (int)left_ms) : 0;
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready == 0) {
            set_timeout_error(what, error);
            step = SYNC_STEP_FAILED;
            break;
        }
        step = sync_step(&sc, sock, error);
    }
    sync_collect_clear(&sc);
    return step == SYNC_STEP_DONE;
}

typedef struct {
    const OciSpec *spec;
    const OciDevice *devices;
    gsize n_devices;
    const char *rootfs;
    gboolean terminal;
    int stdio_fds[3];
    int sock;
    int ns_fds[8]; /* joined by the init itself */
    gsize n_ns_fds;
    int pid_ns_fd; /* joined before the clone: setns() moves only later children */
} InitArgs;

/* The init process: set up, report READY, wait for START, exec. Never returns. */
static G_NORETURN void init_child(const InitArgs *a)
{
    ChildError ce = {0};
    int keep[3 + 1 + G_N_ELEMENTS(a->ns_fds)];
    gsize n = 0;
    keep[n++] = a->sock;
    for (int i = 0; i < 3; i++)
        keep[n++] = a->stdio_fds[i];
    for (gsize i = 0; i < a->n_ns_fds; i++)
        keep[n++] = a->ns_fds[i];
    if (child_close_fds_except(keep, n, &ce) < 0)
        child_exit_error(a->sock, &ce, 1);

    for (gsize i = 0; i < a->n_ns_fds; i++)
        if (setns(a->ns_fds[i], 0) < 0)
            child_die(a->sock, errno, "join namespace %" G_GSIZE_FORMAT, i);
    /* After CLONE_INTO_CGROUP, so the namespace's root is the container's cgroup. */
    if ((a->spec->clone_flags & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0)
        child_die(a->sock, errno, "unshare the cgroup namespace");
    if ((!a->terminal && child_setup_stdio(a->stdio_fds, &ce) < 0) ||
        child_setup_rootfs(a->spec, a->devices, a->n_devices, a->rootfs, &ce) < 0 ||
        (a->terminal && child_setup_terminal(a->spec->process, TRUE, a->sock, &ce) < 0))
        child_exit_error(a->sock, &ce, 1);

    SyncMsg msg = {.kind = SYNC_READY};
    int fd = -1;
    if (sync_send(a->sock, &msg, -1) < 0 || sync_recv(a->sock, &msg, &fd) <= 0 ||
        msg.kind != SYNC_START)
        _exit(1); /* the builder gave up on us */
    child_exec_process(a->spec->process, a->spec, &ce);
    child_exit_error(a->sock, &ce, 127);
}

static gboolean open_namespace_paths(const OciSpec *spec, InitArgs *a, int *out_flags,
                                     GError **error)
{
    for (gsize i = 0; i < spec->n_namespaces; i++) {
        const OciNamespace *ns = &spec->namespaces[i];
        *out_flags |= ns->clone_flag;
        if (ns->path == NULL)
            continue;
        int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_FAILED, "open namespace '%s': %s",
                        ns->path, g_strerror(errno));
            return FALSE;
        }
        if (ns->clone_flag == CLONE_NEWPID)
            a->pid_ns_fd = fd;
        else
            a->ns_fds[a->n_ns_fds++] = fd;
    }
    return TRUE;
}

static void close_namespace_paths(InitArgs *a)
{
    for (gsize i = 0; i < a->n_ns_fds; i++)
        common_fd_close(&a->ns_fds[i]);
    a->n_ns_fds = 0;
    common_fd_close(&a->pid_ns_fd);
}

/* Clones the init, into the PID namespace @pid_ns_fd when it is one to join: this thread's
 * children go there for the clone only, then back to the caller's own namespace. */
static pid_t clone_init(Container *c, int pid_ns_fd, GError **error)
{
    common_autofd int own = -1;
    if (pid_ns_fd >= 0) {
        own = open("/proc/thread-self/ns/pid", O_RDONLY | O_CLOEXEC);
        if (own < 0 || setns(pid_ns_fd, CLONE_NEWPID) < 0) {
            g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_FAILED,
                        "join the pid namespace: %s", g_strerror(errno));
            return -1;
        }
    }
    pid_t pid = clone_child((guint64)(c->spec->clone_flags & ~CLONE_NEWCGROUP),
                            container_cgroup_get_fd(c->cgroup), &c->pidfd);
    int clone_errno = errno;
    /* Not in the child: there the agent's namespace is an ancestor, which setns() refuses. */
    if (pid != 0 && own >= 0 && setns(own, CLONE_NEWPID) < 0)
        g_error("return to the agent's pid namespace: %s", g_strerror(errno));
    if (pid < 0)
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_FAILED, "clone3 the init: %s",
                    g_strerror(clone_errno));
    return pid;
}

static void container_free(Container *c)
{
    common_fd_close(&c->pidfd);
    common_fd_close(&c->sync_fd);
    oci_spec_free(c->spec);
    g_free(c->devices);
    g_free(c->id);
    g_free(c);
}

static gboolean attach_devices(Container *c, const OciResources *res, GError **error)
{
    return container_devices_attach(container_cgroup_get_fd(c->cgroup), c->id, res, c->devices,
                                    c->n_devices, error);
}

/* Clones the init; *@out_sock is then the builder's end of its sync socket. */
static gboolean spawn_init(Container *c, const char *rootfs, const ContainerStdio *stdio,
                           int *out_sock, GError **error)
{
    InitArgs a = {.spec = c->spec,
                  .devices = c->devices,
                  .n_devices = c->n_devices,
                  .rootfs = rootfs,
                  .terminal = stdio->terminal,
                  .pid_ns_fd = -1};
    common_autofd int devnull = -1;
    int sv[2];
    if (!stdio_prepare(stdio, &devnull, a.stdio_fds, error) || !sync_pair(sv, error))
        return FALSE;
    common_autofd int parent_end = sv[0];
    common_autofd int child_end = sv[1];
    a.sock = child_end;
    if (!open_namespace_paths(c->spec, &a, &c->ns_flags, error)) {
        close_namespace_paths(&a);
        return FALSE;
    }
    c->pid = clone_init(c, a.pid_ns_fd, error);
    if (c->pid == 0)
        init_child(&a);
    close_namespace_paths(&a);
    if (c->pid < 0) {
        c->pid = 0;
        c->pidfd = -1;
        return FALSE;
    }
    *out_sock = g_steal_fd(&parent_end);
    return TRUE;
}

/* Checks the arguments and makes the cgroup of a container to be built; NULL on failure. */
static Container *container_prepare(const char *id, const OciSpec *spec, const char *rootfs,
                                    const char *cgroup_root, GError **error)
{
    if (!common_id_check("container id", id, CONTAINER_ERROR, CONTAINER_ERROR_INVALID, error))
        return NULL;
    if (rootfs[0] != '/' || !g_file_test(rootfs, G_FILE_TEST_IS_DIR)) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID,
                    "rootfs '%s' is not an absolute path to a directory", rootfs);
        return NULL;
    }
    Container *c = g_new0(Container, 1);
    c->id = g_strdup(id);
    c->spec = oci_spec_ref(spec);
    c->pidfd = -1;
    c->sync_fd = -1;
    c->devices = container_devices_select(spec, "/sys", &c->n_devices, error);
    if (c->devices != NULL)
        c->cgroup = container_cgroup_create(cgroup_root, id, &spec->resources, error);
    if (c->cgroup == NULL || !attach_devices(c, &spec->resources, error)) {
        if (c->cgroup)
            container_cgroup_remove(c->cgroup, NULL);
        container_free(c);
        return NULL;
    }
    return c;
}

/* A create that failed: the init (if any) is killed and reaped through its pidfd (so that a pid
 * the caller reaped and reused meanwhile is never touched), the cgroup removed. */
static void container_abandon(Container *c)
{
    if (c->pidfd >= 0) {
        siginfo_t info;
        syscall(SYS_pidfd_send_signal, c->pidfd, SIGKILL, NULL, 0);
        while (waitid(P_PIDFD, c->pidfd, &info, WEXITED | __WALL) < 0 && errno == EINTR)
            ;
    }
    container_cgroup_remove(c->cgroup, NULL);
    container_free(c);
}

static gboolean check_create_args(const OciSpec *spec, const char *rootfs, const char *cgroup_root,
                                  const ContainerStdio *stdio, int *out_pty_master)
{
    g_return_val_if_fail(spec != NULL && rootfs != NULL && cgroup_root != NULL && stdio != NULL,
                         FALSE);
    g_return_val_if_fail(!stdio->terminal || out_pty_master != NULL, FALSE);
    return TRUE;
}

Container *container_create(const char *id, const OciSpec *spec, const char *rootfs,
                            const char *cgroup_root, const ContainerStdio *stdio,
                            int *out_pty_master, GError **error)
{
    if (!check_create_args(spec, rootfs, cgroup_root, stdio, out_pty_master))
        return NULL;
    if (out_pty_master)
        *out_pty_master = -1;
    common_autofd int sock = -1;
    common_autofd int pty = -1;
    Container *c = container_prepare(id, spec, rootfs, cgroup_root, error);
    if (c == NULL || !spawn_init(c, rootfs, stdio, &sock, error) ||
        !sync_collect(sock, SYNC_READY, &pty, NULL, "container setup", error)) {
        if (c)
            container_abandon(c);
        g_prefix_error(error, "create container '%s': ", id);
        return NULL;
    }
    c->sync_fd = g_steal_fd(&sock);
    if (out_pty_master)
        *out_pty_master = g_steal_fd(&pty);
    return c;
}

struct ContainerCreate {
    Container *container;
    int sock;
    int pty;
    SyncCollect collect;
    GSource *watch;
    GSource *timeout;
    ContainerCreateFunc func;
    gpointer user_data;
};

static void create_free(ContainerCreate *create)
{
    g_source_destroy(create->watch);
    g_source_unref(create->watch);
    g_source_destroy(create->timeout);
    g_source_unref(create->timeout);
    if (create->container)
        container_abandon(create->container);
    common_fd_close(&create->sock);
    common_fd_close(&create->pty);
    sync_collect_clear(&create->collect);
    g_free(create);
}

/* Ends @create: with the container (@error NULL) or @error (taken). */
static void create_finish(ContainerCreate *create, GError *error)
{
    Container *c = create->container;
    if (error == NULL) {
        c->sync_fd = g_steal_fd(&create->sock);
        create->container = NULL;
        create->func(c, &create->pty, NULL, create->user_data);
    } else {
        g_prefix_error(&error, "create container '%s': ", c->id);
        create->func(NULL, NULL, error, create->user_data);
        g_error_free(error);
    }
    create_free(create);
}

static gboolean on_create_sync(int fd, GIOCondition condition, gpointer data)
{
    ContainerCreate *create = data;
    GError *error = NULL;
    (void)condition;
    SyncStep step = sync_step(&create->collect, fd, &error);
    if (step != SYNC_STEP_MORE)
        create_finish(create, error);
    return G_SOURCE_CONTINUE; /* create_finish() destroyed it */
}

static gboolean on_create_timeout(gpointer data)
{
    ContainerCreate *create = data;
    GError *error = NULL;
    set_timeout_error(create->collect.what, &error);
    create_finish(create, error);
    return G_SOURCE_CONTINUE; /* create_finish() destroyed it */
}

ContainerCreate *container_create_async(const char *id, const OciSpec *spec, const char *rootfs,
                                        const char *cgroup_root, const ContainerStdio *stdio,
                                        GMainContext *context, ContainerCreateFunc func,
                                        gpointer user_data, GError **error)
{
    int unused_pty = -1;
    if (!check_create_args(spec, rootfs, cgroup_root, stdio, &unused_pty))
        return NULL;
    common_autofd int sock = -1;
    Container *c = container_prepare(id, spec, rootfs, cgroup_root, error);
    if (c == NULL || !spawn_init(c, rootfs, stdio, &sock, error)) {
        if (c)
            container_abandon(c);
        g_prefix_error(error, "create container '%s': ", id);
        return NULL;
    }
    ContainerCreate *create = g_new0(ContainerCreate, 1);
    create->container = c;
    create->sock = g_steal_fd(&sock);
    create->pty = -1;
    create->collect =
        (SyncCollect){.until = SYNC_READY, .what = "container setup", .out_pty = &create->pty};
    create->func = func;
    create->user_data = user_data;
    create->watch = g_unix_fd_source_new(create->sock, G_IO_IN | G_IO_HUP | G_IO_ERR);
    g_source_set_callback(create->watch, G_SOURCE_FUNC(on_create_sync), create, NULL);
    g_source_attach(create->watch, context);
    create->timeout = g_timeout_source_new(SYNC_TIMEOUT_MS);
    g_source_set_callback(create->timeout, on_create_timeout, create, NULL);
    g_source_attach(create->timeout, context);
    return create;
}

pid_t container_create_get_pid(const ContainerCreate *create)
{
    return create->container->pid;
}

void container_create_cancel(ContainerCreate *create)
{
    create_free(create);
}

const char *container_get_id(const Container *container)
{
    return container->id;
}

pid_t container_get_pid(const Container *container)
{
    return container->pid;
}

static gboolean check_runnable(Container *c, gboolean want_started, GError **error)
{
    if (c->paused || c->started != want_started) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_STATE, "container '%s' is %s", c->id,
                    c->paused    ? "paused"
                    : c->started ? "already started"
                                 : "not started");
        return FALSE;
    }
    return TRUE;
}

gboolean container_start(Container *c, GError **error)
{
    if (!check_runnable(c, FALSE, error))
        return FALSE;
    c->started = TRUE;
    common_autofd int sock = g_steal_fd(&c->sync_fd);
    SyncMsg msg = {.kind = SYNC_START};
    int rc = sync_send(sock, &msg, -1);
    if (rc < 0) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_FAILED, "start container '%s': %s",
                    c->id, g_strerror(-rc));
        return FALSE;
    }
    /* EOF: the socket closed on execve. */
    if (!sync_collect(sock, 0, NULL, NULL, "start", error)) {
        /* It is exiting already, unless it hung; the caller reaps it either way. */
        kill(c->pid, SIGKILL);
        g_prefix_error(error, "container '%s': ", c->id);
        return FALSE;
    }
    return TRUE;
}

typedef struct {
    Container *c;
    const OciProcess *process;
    gboolean terminal;
    int stdio_fds[3];
    int sock;
    int root_fd; /* the init's root directory */
} ExecArgs;

/* The exec helper: joins the init's namespaces, then clones the real process as a sibling
 * (CLONE_PARENT: a child of the builder's caller), reports its pid and exits. */
static G_NORETURN void exec_helper(const ExecArgs *a)
{
    ChildError ce = {0};
    int cgroup_fd = container_cgroup_get_fd(a->c->cgroup);
    const int keep[] = {a->sock,     a->stdio_fds[0], a->stdio_fds[1], a->stdio_fds[2],
                        a->c->pidfd, cgroup_fd,       a->root_fd};
    if (child_close_fds_except(keep, G_N_ELEMENTS(keep), &ce) < 0)
        child_exit_error(a->sock, &ce, 1);
    if (setns(a->c->pidfd, a->c->ns_flags) < 0)
        child_die(a->sock, errno, "join the namespaces of pid %d", a->c->pid);
    /* setns() leaves us at the mount namespace's root, which is the container's only after a
     * pivot_root; entering the init's own root is right in both cases. */
    if (fchdir(a->root_fd) < 0 || chroot(".") < 0 || chdir("/") < 0)
        child_die(a->sock, errno, "enter the root of pid %d", a->c->pid);
    pid_t pid = clone_child(CLONE_PARENT, cgroup_fd, NULL);
    if (pid < 0)
        child_die(a->sock, errno, "clone3 into the container");
    if (pid == 0) {
        if ((a->terminal ? child_setup_terminal(a->process, FALSE, a->sock, &ce)
                         : child_setup_stdio(a->stdio_fds, &ce)) == 0)
            child_exec_process(a->process, a->c->spec, &ce);
        child_exit_error(a->sock, &ce, 127);
    }
    SyncMsg msg = {.kind = SYNC_PID, .pid = pid};
    sync_send(a->sock, &msg, -1);
    _exit(0);
}

pid_t container_exec(Container *c, const OciProcess *process, const ContainerStdio *stdio,
                     int *out_pty_master, GError **error)
{
    g_return_val_if_fail(!stdio->terminal || out_pty_master != NULL, -1);
    if (out_pty_master)
        *out_pty_master = -1;
    if (!check_runnable(c, TRUE, error))
        return -1;

    ExecArgs a = {.c = c, .process = process, .terminal = stdio->terminal};
    common_autofd int devnull = -1;
    g_autofree char *root_path = g_strdup_printf("/proc/%d/root", (int)c->pid);
    common_autofd int root_fd = open(root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_STATE,
                    "container '%s': its init is gone (open '%s': %s)", c->id, root_path,
                    g_strerror(errno));
        return -1;
    }
    a.root_fd = root_fd;
    int sv[2];
    if (!stdio_prepare(stdio, &devnull, a.stdio_fds, error) || !sync_pair(sv, error))
        return -1;
    common_autofd int parent_end = sv[0];
    common_autofd int child_end = sv[1];
    a.sock = child_end;
    pid_t helper = clone_child(0, -1, NULL);
    if (helper == 0)
        exec_helper(&a);
    int clone_errno = errno;
    common_fd_close(&child_end);
    if (helper < 0) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_FAILED, "clone3 the exec helper: %s",
                    g_strerror(clone_errno));
        return -1;
    }
    pid_t pid = -1;
    common_autofd int pty = -1;
    gboolean ok = sync_collect(parent_end, 0, &pty, &pid, "exec", error);
    if (!ok)
        kill(helper, SIGKILL);
    reap(helper);
    if (ok && pid <= 0) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_FAILED, "exec: no process was created");
        ok = FALSE;
    }
    if (!ok) {
        /* The failed process is ours to end and reap: the caller never learns its pid. */
        if (pid > 0) {
            kill(pid, SIGKILL);
            reap(pid);
        }
        g_prefix_error(error, "container '%s': ", c->id);
        return -1;
    }
    if (out_pty_master)
        *out_pty_master = g_steal_fd(&pty);
    return pid;
}

gboolean container_signal(Container *c, int sig, gboolean all, GError **error)
{
    if (sig <= 0 || sig >= NSIG) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID, "signal %d is out of range",
                    sig);
        return FALSE;
    }
    if (all)
        return container_cgroup_signal(c->cgroup, sig, error);
    if (syscall(SYS_pidfd_send_signal, c->pidfd, sig, NULL, 0) < 0) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_FAILED,
                    "signal %d to the init of container '%s': %s", sig, c->id, g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

gboolean container_pause(Container *c, GError **error)
{
    if (!container_cgroup_freeze(c->cgroup, TRUE, error))
        return FALSE;
    c->paused = TRUE;
    return TRUE;
}

gboolean container_resume(Container *c, GError **error)
{
    if (!container_cgroup_freeze(c->cgroup, FALSE, error))
        return FALSE;
    c->paused = FALSE;
    return TRUE;
}

Io__Containerd__Cgroups__V2__Metrics *container_stats(Container *c, GError **error)
{
    return container_cgroup_stats(c->cgroup, error);
}

gboolean container_update(Container *c, const char *resources_json, gsize len, GError **error)
{
    g_autoptr(json_object) obj = oci_json_parse(resources_json, len, "resources JSON", error);
    OciResources res;
    oci_resources_init(&res);
    gboolean ok = obj && oci_resources_from_json(obj, &res, error) &&
                  container_cgroup_apply(c->cgroup, &res, error) && attach_devices(c, &res, error);
    oci_resources_clear(&res);
    if (!ok)
        g_prefix_error(error, "update container '%s': ", c->id);
    return ok;
}

GArray *container_list_pids(Container *c, GError **error)
{
    return container_cgroup_pids(c->cgroup, error);
}

int container_get_memory_events_fd(Container *c)
{
    return container_cgroup_get_events_fd(c->cgroup);
}

gboolean container_get_oom_kill_count(Container *c, guint64 *out_count, GError **error)
{
    return container_cgroup_oom_kills(c->cgroup, out_count, error);
}

gboolean container_destroy(Container *c, GError **error)
{
    if (c == NULL)
        return TRUE;
    gboolean ok = container_cgroup_remove(c->cgroup, error);
    if (!ok)
        g_prefix_error(error, "destroy container '%s': ", c->id);
    container_free(c);
    return ok;
}
