/* ExecGuest: a command in the guest itself, outside any container, for an operator debugging
 * the pod (`secure-container exec`). Refused unless the VM booted with sc.debug_exec=1: a host
 * that did not ask for it at boot cannot turn it on later. */
#pragma once

#include <glib.h>
#include <sys/types.h>

#define AGENT_DEBUG_EXEC_PARAM "sc.debug_exec"
#define AGENT_DEBUG_EXEC_OUTPUT_MAX (1024 * 1024) /* of stdout, and of stderr; the rest dropped */
#define AGENT_DEBUG_EXEC_STDIN_MAX (64 * 1024)    /* one pipe's worth: written at once */

typedef struct _AgentDebugExec AgentDebugExec;

typedef struct {
    int exit_status; /* the exit code, or 128 + the signal */
    GBytes *out;
    GBytes *err;
    gboolean timed_out; /* killed (its process group) at the deadline */
    gboolean truncated; /* output past AGENT_DEBUG_EXEC_OUTPUT_MAX was dropped */
} AgentDebugExecResult;

/* @result NULL and @error on failure to start; called from the main context. */
typedef void (*AgentDebugExecDone)(const AgentDebugExecResult *result, const GError *error,
                                   gpointer user_data);

/* @enabled: what the kernel command line said (agent_debug_exec_enabled()). */
AgentDebugExec *agent_debug_exec_new(GMainContext *context, gboolean enabled);
void agent_debug_exec_free(AgentDebugExec *x);

/* TRUE when @cmdline (the kernel's) holds sc.debug_exec=1. */
gboolean agent_debug_exec_enabled(const char *cmdline);

/* Runs @argv (argv[0] an absolute path) with the environment @envp (NAME=VALUE; NULL: none) in
 * a session of its own with @in on its stdin, until it exits and its output ends, or @timeout_ms
 * passes (then its process group is SIGKILLed). Fails at once with AGENT_ERROR_STATE when not
 * enabled, AGENT_ERROR_INVALID on bad arguments. */
void agent_debug_exec_run(AgentDebugExec *x, const char *const *argv, const char *const *envp,
                          GBytes *in, guint timeout_ms, AgentDebugExecDone done,
                          gpointer user_data);

/* The reaper's: TRUE when @pid was one of ours (its status recorded). */
gboolean agent_debug_exec_reaped(AgentDebugExec *x, pid_t pid, int wait_status);
