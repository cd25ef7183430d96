/* A started process and what callers wait on: its exit and its stdio. */
#include "agent-process.h"
#include "agent-error.h"
#include "common-fd.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

typedef struct {
    AgentWaitFunc func;
    gpointer user_data;
} Waiter;

struct _AgentProcess {
    char *exec_id;
    pid_t pid;
    AgentProcessState state;
    guint32 exit_status;
    gint64 exited_at;
    gboolean oom_killed;
    gboolean exit_reported; /* a waiter got the exit */
    guint64 out_at_exit;    /* agent_output_get_produced() of out and err at the exit */
    guint64 err_at_exit;
    int tty_fd; /* pty master kept for resizing, or -1 */
    AgentOutput *out;
    AgentOutput *err;
    AgentInput *in;
    GQueue waiters; /* Waiter */
};

void agent_stdio_clear(AgentStdio *stdio)
{
    int *fds[] = {&stdio->in, &stdio->out, &stdio->err};

    for (gsize i = 0; i < G_N_ELEMENTS(fds); i++) {
        if (*fds[i] >= 0)
            close(*fds[i]);
        *fds[i] = -1;
    }
}

guint32 agent_process_exit_status(int wait_status)
{
    if (WIFSIGNALED(wait_status))
        return 128 + WTERMSIG(wait_status);
    return WEXITSTATUS(wait_status);
}

AgentProcess *agent_process_new(const char *exec_id, pid_t pid, AgentProcessState state,
                                AgentStdio *stdio, GMainContext *context)
{
    AgentProcess *process = g_new0(AgentProcess, 1);

    process->exec_id = g_strdup(exec_id);
    process->pid = pid;
    process->state = state;
    process->tty_fd =
        stdio->terminal && stdio->out >= 0 ? fcntl(stdio->out, F_DUPFD_CLOEXEC, 0) : -1;
    process->out = agent_output_new(&stdio->out, context);
    process->err = agent_output_new(&stdio->err, context);
    process->in =
        agent_input_new(&stdio->in, stdio->terminal ? AGENT_INPUT_TTY : AGENT_INPUT_PIPE, context);
    g_queue_init(&process->waiters);
    return process;
}

static void process_complete_waiters(AgentProcess *process, const GError *error)
{
    Waiter *waiter;

    while ((waiter = g_queue_pop_head(&process->waiters)) != NULL) {
        process->exit_reported |= error == NULL;
        waiter->func(process, error, waiter->user_data);
        g_free(waiter);
    }
}

void agent_process_free(AgentProcess *process)
{
    g_autoptr(GError) error = NULL;

    if (process == NULL)
        return;
    error = g_error_new(AGENT_ERROR, AGENT_ERROR_NOT_FOUND, "process %d was removed",
                        (int)process->pid);
    process_complete_waiters(process, error);
    agent_output_free(process->out);
    agent_output_free(process->err);
    agent_input_free(process->in);
    common_fd_close(&process->tty_fd);
    g_free(process->exec_id);
    g_free(process);
}

const char *agent_process_get_exec_id(AgentProcess *process)
{
    return process->exec_id;
}

pid_t agent_process_get_pid(AgentProcess *process)
{
    return process->pid;
}

AgentProcessState agent_process_get_state(AgentProcess *process)
{
    return process->state;
}

void agent_process_set_running(AgentProcess *process)
{
    if (process->state == AGENT_PROCESS_CREATED)
        process->state = AGENT_PROCESS_RUNNING;
}

guint32 agent_process_get_exit_status(AgentProcess *process)
{
    return process->exit_status;
}

gint64 agent_process_get_exited_at(AgentProcess *process)
{
    return process->exited_at;
}

gboolean agent_process_get_oom_killed(AgentProcess *process)
{
    return process->oom_killed;
}

void agent_process_exited(AgentProcess *process, int wait_status, gboolean oom_killed)
{
    process->state = AGENT_PROCESS_EXITED;
    process->exit_status = agent_process_exit_status(wait_status);
    process->exited_at = g_get_real_time();
    process->oom_killed = oom_killed;
    process->out_at_exit = agent_output_get_produced(process->out);
    process->err_at_exit = agent_output_get_produced(process->err);
    process_complete_waiters(process, NULL);
}

void agent_process_wait(AgentProcess *process, AgentWaitFunc func, gpointer user_data)
{
    Waiter *waiter;

    if (process->state == AGENT_PROCESS_EXITED) {
        process->exit_reported = TRUE;
        func(process, NULL, user_data);
        return;
    }
    waiter = g_new0(Waiter, 1);
    waiter->func = func;
    waiter->user_data = user_data;
    g_queue_push_tail(&process->waiters, waiter);
}

gboolean agent_process_signal(AgentProcess *process, int signal, GError **error)
{
    /* Once reaped, the pid may belong to someone else: never signal it. */
    if (process->state == AGENT_PROCESS_EXITED) {
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_NOT_FOUND, "process %d has exited",
                    (int)process->pid);
        return FALSE;
    }
    if (kill(process->pid, signal) < 0) {
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_FAILED, "kill(%d, %d): %s", (int)process->pid,
                    signal, g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

gboolean agent_process_resize(AgentProcess *process, guint rows, guint cols, GError **error)
{
    struct winsize size = {.ws_row = rows, .ws_col = cols};

    if (process->tty_fd < 0) {
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_STATE, "process %d has no terminal",
                    (int)process->pid);
        return FALSE;
    }
    if (ioctl(process->tty_fd, TIOCSWINSZ, &size) < 0) {
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_FAILED, "resize terminal: %s",
                    g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

void agent_process_get_output_at_exit(AgentProcess *process, guint64 *out, guint64 *err)
{
    *out = process->out_at_exit;
    *err = process->err_at_exit;
}

gboolean agent_process_is_collected(AgentProcess *process)
{
    return process->exit_reported && agent_output_is_done(process->out) &&
           agent_output_is_done(process->err);
}

AgentOutput *agent_process_get_stdout(AgentProcess *process)
{
    return process->out;
}

AgentOutput *agent_process_get_stderr(AgentProcess *process)
{
    return process->err;
}

AgentInput *agent_process_get_stdin(AgentProcess *process)
{
    return process->in;
}
