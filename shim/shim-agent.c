/* Agent calls: deadlines, reply decoding, and the single point where a broken agent is noticed. */
#include "shim-agent.h"

#include <stdarg.h>

#include "agent.pb-c.h"
#include "shim-agent-reply.h"
#include "shim-error.h"

struct _ShimAgent {
    TtrpcClient *client;
    gint64 timeout_us;
    gint64 health_timeout_us;
    ShimAgentFailedFunc failed;
    gpointer failed_data;
    gboolean closed;   /* freed by the owner; pending calls still hold references */
    gboolean reported; /* failed() was called */
    guint64 errors;    /* calls that failed, for the pod's metrics */
    gint refs;
};

typedef struct {
    ShimAgent *agent;
    char *method;
    ShimAgentCallKind kind;
    const ProtobufCMessageDescriptor *reply_type;
    ShimAgentReplyFunc func;
    gpointer user_data;
    gint64 started; /* monotonic µs, for the debug trace */
} AgentCall;

static void agent_unref(ShimAgent *agent)
{
    if (--agent->refs > 0)
        return;
    g_free(agent);
}

static void report_failure(ShimAgent *agent, const char *reason)
{
    if (agent->closed || agent->reported)
        return;
    agent->reported = TRUE;
    agent->failed(agent, reason, agent->failed_data);
}

static void client_closed(TtrpcClient *client, gpointer user_data)
{
    (void)client;
    report_failure(user_data, "the agent connection closed");
}

ShimAgent *shim_agent_new(TtrpcClient *client, gint64 timeout_us, gint64 health_timeout_us,
                          ShimAgentFailedFunc failed, gpointer user_data)
{
    ShimAgent *agent = g_new0(ShimAgent, 1);
    agent->client = client;
    agent->timeout_us = timeout_us;
    agent->health_timeout_us = health_timeout_us;
    agent->failed = failed;
    agent->failed_data = user_data;
    agent->refs = 1;
    ttrpc_client_set_closed_func(client, client_closed, agent);
    return agent;
}

void shim_agent_free(ShimAgent *agent)
{
    if (!agent)
        return;
    agent->closed = TRUE;
    g_clear_pointer(&agent->client, ttrpc_client_free);
    agent_unref(agent);
}

void shim_agent_fail(ShimAgent *agent, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    g_autofree char *reason = g_strdup_vprintf(format, ap);
    va_end(ap);
    report_failure(agent, reason);
}

static void free_reply(ProtobufCMessage *reply)
{
    protobuf_c_message_free_unpacked(reply, NULL);
}

static void call_done(const guint8 *payload, gsize len, const GError *error, gpointer user_data)
{
    AgentCall *call = user_data;
    g_autoptr(GError) local = NULL;
    ProtobufCMessage *reply = NULL;

    if (error) {
        local = g_error_copy(error);
        g_prefix_error(&local, "agent %s: ", call->method);
        /* An agent that stops answering is as good as dead (shim-agent.h). */
        if (call->kind != SHIM_AGENT_LONG_POLL &&
            g_error_matches(error, TTRPC_ERROR, TTRPC_CODE_DEADLINE_EXCEEDED))
            report_failure(call->agent, local->message);
    } else {
        reply = protobuf_c_message_unpack(call->reply_type, NULL, len, payload);
        if (!reply) {
            g_set_error(&local, SHIM_ERROR, SHIM_ERROR_FAILED,
                        "agent %s: reply of %zu bytes is not a valid %s", call->method, len,
                        call->reply_type->name);
            report_failure(call->agent, local->message);
        } else if (!shim_agent_reply_check(reply, &local)) {
            g_prefix_error(&local, "agent %s: ", call->method);
            report_failure(call->agent, local->message);
            g_clear_pointer(&reply, free_reply);
        }
    }
    call->agent->errors += local != NULL;
    if (g_log_get_debug_enabled()) {
        /* An error's message already starts with "agent <method>: ". */
        g_autofree char *ok = local ? NULL : g_strdup_printf("agent %s: OK", call->method);
        g_debug("%s after %.1f ms", local ? local->message : ok,
                (double)(g_get_monotonic_time() - call->started) / 1000.0);
    }
    call->func(reply, local, call->user_data);
    if (reply)
        free_reply(reply);
    agent_unref(call->agent);
    g_free(call->method);
    g_free(call);
}

void shim_agent_call(ShimAgent *agent, const char *method, const ProtobufCMessage *request,
                     const ProtobufCMessageDescriptor *reply_type, ShimAgentCallKind kind,
                     ShimAgentReplyFunc func, gpointer user_data)
{
    AgentCall *call = g_new0(AgentCall, 1);
    call->agent = agent;
    agent->refs++;
    call->method = g_strdup(method);
    call->reply_type = reply_type;
    call->kind = kind;
    call->func = func;
    call->user_data = user_data;
    call->started = g_get_monotonic_time();
    gint64 deadline_us = kind == SHIM_AGENT_DEADLINE       ? agent->timeout_us
                         : kind == SHIM_AGENT_HEALTH_CHECK ? agent->health_timeout_us
                                                           : 0;
    ttrpc_client_call(agent->client, secure__agent__v1__agent__descriptor.name, method, request,
                      deadline_us, call_done, call);
}

guint64 shim_agent_get_errors(ShimAgent *agent)
{
    return agent->errors;
}
