/* One process the agent started (a container's init or an exec): its pid, state, exit status,
 * the callers waiting for its exit, and its stdio streams. */
#pragma once

#include "agent-stream.h"

#include <glib.h>
#include <sys/types.h>

G_BEGIN_DECLS

typedef enum {
    AGENT_PROCESS_CREATED, /* exists, has not run the user's program yet */
    AGENT_PROCESS_RUNNING,
    AGENT_PROCESS_EXITED,
    AGENT_PROCESS_LAST
} AgentProcessState;

/* The agent's ends of a process's stdio, each -1 when absent. With a terminal, @out is the pty
 * master and @in a duplicate of it (or -1 without stdin); @err is -1. */
typedef struct {
    int in;
    int out;
    int err;
    gboolean terminal;
} AgentStdio;

#define AGENT_STDIO_INIT                                                                           \
    {                                                                                              \
        .in = -1, .out = -1, .err = -1, .terminal = FALSE                                          \
    }

/* Closes every fd in @stdio and sets it to -1. */
void agent_stdio_clear(AgentStdio *stdio);

typedef struct _AgentProcess AgentProcess;

/* Completes a wait: @process has exited (state EXITED), or @error when it went away first. */
typedef void (*AgentWaitFunc)(AgentProcess *process, const GError *error, gpointer user_data);

/* The exit status the API reports for a waitpid() status: the exit code, or 128 + signal. */
guint32 agent_process_exit_status(int wait_status);

/* @exec_id "" for a container's init. Takes the fds of @stdio (set to -1). */
AgentProcess *agent_process_new(const char *exec_id, pid_t pid, AgentProcessState state,
                                AgentStdio *stdio, GMainContext *context);
/* Fails pending waits and reads; closes the streams. Does not signal the process. */
void agent_process_free(AgentProcess *process);

const char *agent_process_get_exec_id(AgentProcess *process);
pid_t agent_process_get_pid(AgentProcess *process);
AgentProcessState agent_process_get_state(AgentProcess *process);
void agent_process_set_running(AgentProcess *process);
guint32 agent_process_get_exit_status(AgentProcess *process);
/* Wall-clock time of the exit, in microseconds since the epoch. */
gint64 agent_process_get_exited_at(AgentProcess *process);
gboolean agent_process_get_oom_killed(AgentProcess *process);

/* Records the exit (@wait_status from waitpid()) and completes every wait. */
void agent_process_exited(AgentProcess *process, int wait_status, gboolean oom_killed);
/* @func runs once the process has exited: from this call if it already has. */
void agent_process_wait(AgentProcess *process, AgentWaitFunc func, gpointer user_data);
/* Sends @signal; fails with AGENT_ERROR_NOT_FOUND once the process has exited. */
gboolean agent_process_signal(AgentProcess *process, int signal, GError **error);
/* Sets the terminal size; fails with AGENT_ERROR_STATE without a terminal. */
gboolean agent_process_resize(AgentProcess *process, guint rows, guint cols, GError **error);

/* How much the process had written to stdout and stderr when it exited (0 before). */
void agent_process_get_output_at_exit(AgentProcess *process, guint64 *out, guint64 *err);
/* TRUE once the host has everything of an exited process: a WaitProcess got its exit and its
 * stdout and stderr were read to the end. */
gboolean agent_process_is_collected(AgentProcess *process);
AgentOutput *agent_process_get_stdout(AgentProcess *process);
AgentOutput *agent_process_get_stderr(AgentProcess *process);
AgentInput *agent_process_get_stdin(AgentProcess *process);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgentProcess, agent_process_free)

G_END_DECLS
