/* One ExecGuest run: a child in a session of its own, its stdout and stderr read from the loop,
 * its exit from the agent's reaper (PID 1 reaps everything: GLib must not). Done when it has
 * exited and both pipes ended, or at the deadline. */
#include "agent-debug-exec.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>

#include "agent-error.h"

#define ARGS_MAX 256
#define ARG_BYTES_MAX 4096
#define TIMEOUT_MS_MAX 600000

struct _AgentDebugExec {
    GMainContext *context;
    gboolean enabled;
    GHashTable *running; /* pid -> Run */
};

typedef struct {
    AgentDebugExec *owner;
    pid_t pid;
    int wait_status;
    gboolean exited;
    GByteArray *out[2]; /* stdout, stderr */
    int fd[2];
    GSource *watch[2];
    GSource *deadline;
    AgentDebugExecResult result;
    AgentDebugExecDone done;
    gpointer user_data;
} Run;

gboolean agent_debug_exec_enabled(const char *cmdline)
{
    g_auto(GStrv) words = g_strsplit_set(cmdline, " \t\n", -1);
    for (char **word = words; *word; word++)
        if (g_str_equal(*word, AGENT_DEBUG_EXEC_PARAM "=1"))
            return TRUE;
    return FALSE;
}

AgentDebugExec *agent_debug_exec_new(GMainContext *context, gboolean enabled)
{
    AgentDebugExec *x = g_new0(AgentDebugExec, 1);
    x->context = g_main_context_ref(context);
    x->enabled = enabled;
    x->running = g_hash_table_new(g_direct_hash, g_direct_equal);
    return x;
}

static void run_stop_watch(Run *run, int i)
{
    if (run->watch[i]) {
        g_source_destroy(run->watch[i]);
        g_clear_pointer(&run->watch[i], g_source_unref);
    }
    if (run->fd[i] >= 0)
        close(g_steal_fd(&run->fd[i]));
}

/* Replies and forgets @run once it has exited and its output ended (or the deadline ended it). */
static void run_finish_if_done(Run *run)
{
    if (!run->exited || run->fd[0] >= 0 || run->fd[1] >= 0)
        return;
    if (run->deadline) {
        g_source_destroy(run->deadline);
        g_clear_pointer(&run->deadline, g_source_unref);
    }
    int st = run->wait_status;
    run->result.exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    run->result.out = g_byte_array_free_to_bytes(g_steal_pointer(&run->out[0]));
    run->result.err = g_byte_array_free_to_bytes(g_steal_pointer(&run->out[1]));
    run->done(&run->result, NULL, run->user_data);
    g_bytes_unref(run->result.out);
    g_bytes_unref(run->result.err);
    g_free(run);
}

static gboolean run_read(int fd, GIOCondition condition, gpointer user_data, int i)
{
    Run *run = user_data;
    guint8 buf[16384];
    ssize_t n = read(fd, buf, sizeof(buf));
    (void)condition;

    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return G_SOURCE_CONTINUE;
    if (n <= 0) {
        run_stop_watch(run, i);
        run_finish_if_done(run);
        return G_SOURCE_REMOVE;
    }
    gsize room = AGENT_DEBUG_EXEC_OUTPUT_MAX - run->out[i]->len;
    run->result.truncated |= (gsize)n > room;
    g_byte_array_append(run->out[i], buf, MIN((gsize)n, room));
    return G_SOURCE_CONTINUE;
}

static gboolean run_read_out(int fd, GIOCondition condition, gpointer user_data)
{
    return run_read(fd, condition, user_data, 0);
}

static gboolean run_read_err(int fd, GIOCondition condition, gpointer user_data)
{
    return run_read(fd, condition, user_data, 1);
}

/* The deadline: the whole session goes, and whatever keeps the pipes open with it. */
static gboolean run_timed_out(gpointer user_data)
{
    Run *run = user_data;
    g_clear_pointer(&run->deadline, g_source_unref);
    run->result.timed_out = TRUE;
    kill(-run->pid, SIGKILL);
    run_stop_watch(run, 0);
    run_stop_watch(run, 1);
    run_finish_if_done(run); /* or when the reaper has its exit */
    return G_SOURCE_REMOVE;
}

/* In the child: a session of its own (the deadline kills all of it) and the signals the agent
 * blocks for its signalfd unblocked, so a shell can wait for its children. */
static void child_setup(gpointer user_data)
{
    sigset_t all;
    (void)user_data;
    setsid();
    sigfillset(&all);
    sigprocmask(SIG_UNBLOCK, &all, NULL);
}

static gboolean invalid(GError **error, const char *what)
{
    g_set_error(error, AGENT_ERROR, AGENT_ERROR_INVALID, "ExecGuest: %s", what);
    return FALSE;
}

static gboolean check_strings(const char *const *v, guint min, gboolean (*ok)(const char *))
{
    guint n = v ? g_strv_length((char **)v) : 0;
    if (n < min || n > ARGS_MAX)
        return FALSE;
    for (guint i = 0; i < n; i++)
        if (strlen(v[i]) > ARG_BYTES_MAX || (ok && !ok(v[i])))
            return FALSE;
    return TRUE;
}

static gboolean is_assignment(const char *s)
{
    return strchr(s, '=') != NULL && s[0] != '=';
}

static gboolean check_args(const char *const *argv, const char *const *envp, GBytes *in,
                           guint timeout_ms, GError **error)
{
    if (!check_strings(argv, 1, NULL) || !g_path_is_absolute(argv[0]))
        return invalid(error, "args: 1 to 256 of at most 4096 bytes, the first an absolute path");
    if (!check_strings(envp, 0, is_assignment))
        return invalid(error, "env: at most 256 NAME=VALUE of at most 4096 bytes");
    if (in && g_bytes_get_size(in) > AGENT_DEBUG_EXEC_STDIN_MAX)
        return invalid(error, "stdin is larger than 64 KiB");
    if (timeout_ms == 0 || timeout_ms > TIMEOUT_MS_MAX)
        return invalid(error, "timeout_ms: 1 to 600000");
    return TRUE;
}

static GSource *run_watch(Run *run, int i, GUnixFDSourceFunc func)
{
    GSource *source = g_unix_fd_source_new(run->fd[i], G_IO_IN | G_IO_HUP | G_IO_ERR);
    g_source_set_callback(source, G_SOURCE_FUNC(func), run, NULL);
    g_source_attach(source, run->owner->context);
    return source;
}

/* Starts the child with its pipes; FALSE with @error when it cannot. */
static gboolean run_spawn(Run *run, const char *const *argv, const char *const *envp, GBytes *in,
                          GError **error)
{
    int in_fd = -1;

    if (!g_spawn_async_with_pipes("/", (char **)argv, (char **)envp, G_SPAWN_DO_NOT_REAP_CHILD,
                                  child_setup, NULL, &run->pid, &in_fd, &run->fd[0], &run->fd[1],
                                  error))
        return FALSE;
    /* At most one pipe's worth (check_args): a non-blocking write takes it all at once. */
    g_unix_set_fd_nonblocking(in_fd, TRUE, NULL);
    if (in && g_bytes_get_size(in) &&
        write(in_fd, g_bytes_get_data(in, NULL), g_bytes_get_size(in)) < 0)
        g_printerr("secure-agent: ExecGuest stdin: %s\n", g_strerror(errno));
    close(in_fd);
    for (int i = 0; i < 2; i++)
        g_unix_set_fd_nonblocking(run->fd[i], TRUE, NULL);
    run->watch[0] = run_watch(run, 0, run_read_out);
    run->watch[1] = run_watch(run, 1, run_read_err);
    return TRUE;
}

void agent_debug_exec_run(AgentDebugExec *x, const char *const *argv, const char *const *envp,
                          GBytes *in, guint timeout_ms, AgentDebugExecDone done, gpointer user_data)
{
    g_autoptr(GError) error = NULL;

    if (!x->enabled) {
        g_set_error(&error, AGENT_ERROR, AGENT_ERROR_STATE,
                    "ExecGuest is off: the VM did not boot with %s=1", AGENT_DEBUG_EXEC_PARAM);
        done(NULL, error, user_data);
        return;
    }
    if (!check_args(argv, envp, in, timeout_ms, &error)) {
        done(NULL, error, user_data);
        return;
    }
    Run *run = g_new0(Run, 1);
    run->owner = x;
    run->fd[0] = run->fd[1] = -1;
    run->out[0] = g_byte_array_new();
    run->out[1] = g_byte_array_new();
    run->done = done;
    run->user_data = user_data;
    if (!run_spawn(run, argv, envp, in, &error)) {
        g_byte_array_unref(run->out[0]);
        g_byte_array_unref(run->out[1]);
        g_free(run);
        done(NULL, error, user_data);
        return;
    }
    g_hash_table_insert(x->running, GINT_TO_POINTER(run->pid), run);
    run->deadline = g_timeout_source_new(timeout_ms);
    g_source_set_callback(run->deadline, run_timed_out, run, NULL);
    g_source_attach(run->deadline, x->context);
}

gboolean agent_debug_exec_reaped(AgentDebugExec *x, pid_t pid, int wait_status)
{
    Run *run = g_hash_table_lookup(x->running, GINT_TO_POINTER(pid));
    if (!run)
        return FALSE;
    g_hash_table_remove(x->running, GINT_TO_POINTER(pid));
    run->exited = TRUE;
    run->wait_status = wait_status;
    run_finish_if_done(run);
    return TRUE;
}

/* The agent is going: the run's session goes too, its call fails. */
static gboolean run_abandon(gpointer key, gpointer value, gpointer user_data)
{
    Run *run = value;
    g_autoptr(GError) error =
        g_error_new_literal(AGENT_ERROR, AGENT_ERROR_STATE, "ExecGuest: the agent is stopping");

    kill(-run->pid, SIGKILL);
    run_stop_watch(run, 0);
    run_stop_watch(run, 1);
    if (run->deadline) {
        g_source_destroy(run->deadline);
        g_source_unref(run->deadline);
    }
    run->done(NULL, error, run->user_data);
    g_byte_array_unref(run->out[0]);
    g_byte_array_unref(run->out[1]);
    g_free(run);
    (void)key;
    (void)user_data;
    return TRUE;
}

void agent_debug_exec_free(AgentDebugExec *x)
{
    if (!x)
        return;
    g_hash_table_foreach_steal(x->running, run_abandon, NULL);
    g_hash_table_unref(x->running);
    g_main_context_unref(x->context);
    g_free(x);
}
