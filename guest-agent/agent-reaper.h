/* Reaps every child of the agent (and, as PID 1 or subreaper, every orphan) from the event
 * loop: SIGCHLD arrives on a signalfd and each exit is collected with waitpid(-1). */
#pragma once

#include <glib.h>
#include <sys/types.h>

G_BEGIN_DECLS

typedef struct _AgentReaper AgentReaper;

/* Called for every reaped child with its waitpid() status. */
typedef void (*AgentReapFunc)(pid_t pid, int status, gpointer user_data);

/* Blocks SIGCHLD in the calling thread. Call first in main(), before any thread exists, so that
 * every thread inherits the mask and the signal is only seen through the signalfd. */
void agent_reaper_block_signals(void);

/* Starts reaping on @context; @func runs from the loop for each exit. */
AgentReaper *agent_reaper_new(GMainContext *context, AgentReapFunc func, gpointer user_data,
                              GError **error);
/* Reaps what has already exited without waiting for the loop (used before shutdown). */
void agent_reaper_reap_now(AgentReaper *reaper);
void agent_reaper_free(AgentReaper *reaper);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgentReaper, agent_reaper_free)

G_END_DECLS
