/* OOM kill events for GetOOMEvent: each container's memory.events is watched on the loop; every
 * rise of its oom_kill counter queues an event, and a long-polling caller takes the oldest. */
#pragma once

#include "container.h"

#include <glib.h>

G_BEGIN_DECLS

/* Events kept while nobody polls; older ones are dropped past this. */
#define AGENT_OOM_QUEUE_MAX 64

typedef struct _AgentOom AgentOom;

/* Completes a poll with the id of a container that had an OOM kill, or @error (the poll was
 * cancelled because the agent is shutting down). */
typedef void (*AgentOomFunc)(const char *container_id, const GError *error, gpointer user_data);

AgentOom *agent_oom_new(GMainContext *context);
/* Pending polls fail. */
void agent_oom_free(AgentOom *oom);

/* Starts watching @container (borrowed; call agent_oom_unwatch() before destroying it). Does
 * nothing when the container has no memory controller. */
void agent_oom_watch(AgentOom *oom, Container *container);
/* Checks the counter once more (so that a kill just before removal is not lost) and stops. */
void agent_oom_unwatch(AgentOom *oom, Container *container);
/* @func runs with the oldest queued event: from this call if there is one. */
void agent_oom_poll(AgentOom *oom, AgentOomFunc func, gpointer user_data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgentOom, agent_oom_free)

G_END_DECLS
