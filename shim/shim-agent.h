/* The shim's side of the guest agent API ("secure.agent.v1.Agent"): every call gets a deadline
 * (except the long polls), every reply is decoded and size-checked here, and an agent that
 * misbehaves is reported once through the failed callback so the pod can end. */
#pragma once

#include <glib.h>
#include <protobuf-c/protobuf-c.h>

#include "ttrpc.h"

typedef struct _ShimAgent ShimAgent;

/* @reply is the decoded reply (NULL on error), valid during the callback only. */
typedef void (*ShimAgentReplyFunc)(const ProtobufCMessage *reply, const GError *error,
                                   gpointer user_data);
/* The agent is gone or broke the protocol; called at most once. */
typedef void (*ShimAgentFailedFunc)(ShimAgent *agent, const char *reason, gpointer user_data);

/* Takes ownership of @client. @timeout_us: the deadline of SHIM_AGENT_DEADLINE calls;
 * @health_timeout_us: of SHIM_AGENT_HEALTH_CHECK calls. */
ShimAgent *shim_agent_new(TtrpcClient *client, gint64 timeout_us, gint64 health_timeout_us,
                          ShimAgentFailedFunc failed, gpointer user_data);
/* Pending calls complete with UNAVAILABLE (from the main context); the failed callback is not
 * called any more. */
void shim_agent_free(ShimAgent *agent);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ShimAgent, shim_agent_free)

/* A call whose deadline passes reports the agent failed: an agent that stops answering is as
 * good as dead (its processes' waits would never return otherwise). */
typedef enum {
    SHIM_AGENT_DEADLINE,     /* the configured request timeout */
    SHIM_AGENT_HEALTH_CHECK, /* the configured health timeout: the periodic Health call */
    SHIM_AGENT_LONG_POLL     /* no deadline: Wait, Read*, GetOOMEvent */
} ShimAgentCallKind;

/* Calls @method. @reply_type: the expected reply message. @func gets exactly one call, from the
 * main context. @user_data must stay valid until then (hold a reference). */
void shim_agent_call(ShimAgent *agent, const char *method, const ProtobufCMessage *request,
                     const ProtobufCMessageDescriptor *reply_type, ShimAgentCallKind kind,
                     ShimAgentReplyFunc func, gpointer user_data);

/* How many calls failed (an error reply, a deadline, a reply refused by the checks). */
guint64 shim_agent_get_errors(ShimAgent *agent);

/* Reports a reply that decoded but is not acceptable (unknown id, count over a limit): the pod
 * must end. */
void shim_agent_fail(ShimAgent *agent, const char *format, ...) G_GNUC_PRINTF(2, 3);
