/* Agent readiness: a channel, then Health on it, retried until the agent answers. */
#include "shim-agent-probe.h"

#include "agent.pb-c.h"
#include "shim-error.h"

/* A host agent's socket appears once it listens: look again soon. */
#define HOST_RETRY_MS 50
/* The channel closed under a call (QEMU restarts the port while the guest boots). */
#define CALL_RETRY_MS 100
/* A resumed VM's agent is running already, so Health answers in milliseconds; but the request
 * can be lost, when the guest handles the end of the template builder's connection after the
 * new host connected (seen: 1 pod in 3 never answered). An attempt that gets no answer within
 * this, doubled at each retry, reconnects, which the agent serves afresh. */
#define RESUMED_ATTEMPT_MS 1000
#define CONSOLE_TAIL_LINES 15
/* The guest is untrusted: bound what we copy from its reply. */
#define INFO_MAX_LEN 256

struct _ShimAgentProbe {
    int ref_count;       /* the owner's + a Health call in flight */
    gboolean done;       /* the function was called, or the owner freed the probe */
    VmmDomain *domain;   /* a VM's agent, or NULL */
    char *socket_path;   /* a host agent's */
    gboolean channeling; /* vmm_domain_connect_agent() in progress */
    gint64 deadline;
    gint64 attempt_us; /* resumed VM: the current attempt's deadline; 0 otherwise */
    ShimAgentReadyFunc func;
    gpointer user_data;
    TtrpcClient *client;
    guint retry_id;
    guint deadline_id;
};

static ShimAgentProbe *probe_ref(ShimAgentProbe *probe)
{
    probe->ref_count++;
    return probe;
}

static void probe_unref(ShimAgentProbe *probe)
{
    if (--probe->ref_count > 0)
        return;
    g_free(probe->socket_path);
    g_free(probe);
}

/* Stops everything in progress; a Health call in flight completes later, with nothing to do. */
static void probe_stop(ShimAgentProbe *probe)
{
    probe->done = TRUE;
    g_clear_handle_id(&probe->retry_id, g_source_remove);
    g_clear_handle_id(&probe->deadline_id, g_source_remove);
    if (probe->channeling)
        vmm_domain_cancel_agent(probe->domain);
    probe->channeling = FALSE;
    g_clear_pointer(&probe->client, ttrpc_client_free);
}

static void finish(ShimAgentProbe *probe, const ShimAgentInfo *info, GError *error)
{
    TtrpcClient *client = error ? NULL : g_steal_pointer(&probe->client);

    probe_stop(probe);
    probe_ref(probe);
    probe->func(client, info, error, probe->user_data);
    probe_unref(probe);
    g_clear_error(&error);
}

static void finish_timeout(ShimAgentProbe *probe)
{
    g_autofree char *tail = NULL;

    if (probe->domain == NULL) {
        finish(probe, NULL,
               g_error_new(SHIM_ERROR, SHIM_ERROR_UNAVAILABLE,
                           "host agent '%s' did not answer in time", probe->socket_path));
        return;
    }
    tail = vmm_domain_console_tail(probe->domain, CONSOLE_TAIL_LINES);
    finish(probe, NULL,
           g_error_new(VMM_ERROR, VMM_ERROR_TIMEOUT,
                       "agent of VM '%s' did not answer within the deadline; console '%s' "
                       "ends with:\n%s",
                       vmm_domain_get_name(probe->domain),
                       vmm_domain_get_console_log(probe->domain), tail));
}

static void open_channel(ShimAgentProbe *probe);

static gboolean retry_cb(gpointer data)
{
    ShimAgentProbe *probe = data;

    probe->retry_id = 0;
    open_channel(probe);
    return G_SOURCE_REMOVE;
}

static void retry_later(ShimAgentProbe *probe, guint delay_ms)
{
    g_clear_pointer(&probe->client, ttrpc_client_free);
    probe->retry_id = g_timeout_add(delay_ms, retry_cb, probe);
}

static gboolean text_valid(const char *text)
{
    if (text == NULL || strlen(text) > INFO_MAX_LEN)
        return FALSE;
    for (const char *p = text; *p != '\0'; p++) {
        if (!g_ascii_isprint(*p))
            return FALSE;
    }
    return TRUE;
}

static void health_answered(ShimAgentProbe *probe, const guint8 *payload, gsize len)
{
    Secure__Agent__V1__HealthResponse *reply =
        secure__agent__v1__health_response__unpack(NULL, len, payload);

    if (reply == NULL || !text_valid(reply->agent_version) || !text_valid(reply->kernel_release)) {
        finish(probe, NULL,
               g_error_new_literal(SHIM_ERROR, SHIM_ERROR_FAILED, "agent Health: invalid reply"));
    } else {
        ShimAgentInfo info = {reply->agent_version, reply->kernel_release, reply->agent_pid};

        finish(probe, &info, NULL);
    }
    if (reply != NULL)
        secure__agent__v1__health_response__free_unpacked(reply, NULL);
}

static void on_health(const guint8 *payload, gsize len, const GError *error, gpointer data)
{
    ShimAgentProbe *probe = data;
    gboolean deadline = g_error_matches(error, TTRPC_ERROR, TTRPC_CODE_DEADLINE_EXCEEDED);

    if (probe->done) {
        /* stopped meanwhile */
    } else if (g_error_matches(error, TTRPC_ERROR, TTRPC_CODE_UNAVAILABLE)) {
        retry_later(probe, CALL_RETRY_MS);
    } else if (deadline && probe->attempt_us > 0 && g_get_monotonic_time() < probe->deadline) {
        g_info("the resumed VM's agent did not answer Health within %" G_GINT64_FORMAT
               " ms: connecting again",
               probe->attempt_us / 1000);
        probe->attempt_us *= 2;
        retry_later(probe, 0);
    } else if (deadline) {
        finish_timeout(probe);
    } else if (error != NULL) {
        finish(probe, NULL,
               g_error_new(SHIM_ERROR, SHIM_ERROR_FAILED, "agent Health: %s", error->message));
    } else {
        health_answered(probe, payload, len);
    }
    probe_unref(probe);
}

/* On the connected probe->client. */
static void call_health(ShimAgentProbe *probe)
{
    Secure__Agent__V1__HealthRequest request = SECURE__AGENT__V1__HEALTH_REQUEST__INIT;
    gint64 remaining = probe->deadline - g_get_monotonic_time();

    if (probe->attempt_us > 0)
        remaining = MIN(remaining, probe->attempt_us);
    ttrpc_client_call(probe->client, secure__agent__v1__agent__descriptor.name, "Health",
                      &request.base, MAX(remaining, 1), on_health, probe_ref(probe));
}

static void on_vm_channel(VmmDomain *domain, int *fd, const GError *error, gpointer data)
{
    ShimAgentProbe *probe = data;

    (void)domain;
    probe->channeling = FALSE;
    if (error != NULL) {
        finish(probe, NULL, g_error_copy(error));
        return;
    }
    probe->client = ttrpc_client_new(fd, NULL);
    call_health(probe);
}

static void open_channel(ShimAgentProbe *probe)
{
    if (probe->domain != NULL) {
        probe->channeling = TRUE;
        vmm_domain_connect_agent(probe->domain, MAX(probe->deadline - g_get_monotonic_time(), 1),
                                 on_vm_channel, probe);
        return;
    }
    probe->client = ttrpc_client_connect_unix(probe->socket_path, NULL, NULL);
    if (probe->client == NULL) {
        retry_later(probe, HOST_RETRY_MS);
        return;
    }
    call_health(probe);
}

static gboolean on_deadline(gpointer data)
{
    ShimAgentProbe *probe = data;

    probe->deadline_id = 0;
    finish_timeout(probe);
    return G_SOURCE_REMOVE;
}

static ShimAgentProbe *probe_new(gint64 timeout_us, ShimAgentReadyFunc func, gpointer user_data)
{
    ShimAgentProbe *probe = g_new0(ShimAgentProbe, 1);

    probe->ref_count = 1;
    probe->deadline = g_get_monotonic_time() + timeout_us;
    probe->func = func;
    probe->user_data = user_data;
    probe->deadline_id = g_timeout_add(MAX(timeout_us / 1000, 1), on_deadline, probe);
    probe->retry_id = g_idle_add(retry_cb, probe);
    return probe;
}

ShimAgentProbe *shim_agent_probe_vm(VmmDomain *domain, gint64 timeout_us, ShimAgentReadyFunc func,
                                    gpointer user_data)
{
    ShimAgentProbe *probe = probe_new(timeout_us, func, user_data);

    probe->domain = domain;
    probe->attempt_us = vmm_domain_is_resumed(domain) ? RESUMED_ATTEMPT_MS * 1000 : 0;
    return probe;
}

ShimAgentProbe *shim_agent_probe_host(const char *socket_path, gint64 timeout_us,
                                      ShimAgentReadyFunc func, gpointer user_data)
{
    ShimAgentProbe *probe = probe_new(timeout_us, func, user_data);

    probe->socket_path = g_strdup(socket_path);
    return probe;
}

void shim_agent_probe_free(ShimAgentProbe *probe)
{
    if (probe == NULL)
        return;
    probe_stop(probe);
    probe_unref(probe);
}
