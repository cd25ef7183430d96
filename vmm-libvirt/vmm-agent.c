/* Waiting for the guest agent: connect the agent channel and call Health until it answers or
 * the deadline passes. Driven by the main loop; never blocks. */
#include <sys/socket.h>
#include <unistd.h>

#include <glib-unix.h>
#include <linux/vm_sockets.h>

#include "agent.pb-c.h"

#include "common-fd.h"
#include "vmm-internal.h"

#define CONNECT_RETRY_MS 50
/* vsock refuses until the agent listens; each refusal costs the guest little. */
#define VSOCK_RETRY_MS 200
#define CALL_RETRY_MS 100
/* A resumed VM's agent is running already, so Health answers in milliseconds; but the request
 * can be lost, when the guest handles the end of the template builder's connection after the
 * new host connected (seen: 1 pod in 3 never answered). An attempt that gets no answer within
 * this, doubled at each retry, reconnects, which the agent serves afresh. */
#define RESUMED_ATTEMPT_MS 1000
#define CONSOLE_TAIL_LINES 15
/* The guest is untrusted: bound what we copy from its reply. */
#define INFO_MAX_LEN 256

struct _VmmAgentWait {
    int ref_count;     /* the wait itself + a Health call in flight */
    VmmDomain *domain; /* a reference */
    gint64 deadline;
    VmmAgentReadyFunc func;
    gpointer user_data;
    TtrpcClient *client;
    int connect_fd; /* vsock: a connect in progress */
    guint connect_id;
    guint deadline_id;
    guint retry_id;
    gint64 attempt_us; /* resumed VM: the current attempt's deadline; 0 otherwise */
    gboolean done;
    /* The result, delivered from an idle source. */
    VmmAgentInfo info;
    GError *error;
};

static VmmAgentWait *wait_ref(VmmAgentWait *wait)
{
    wait->ref_count++;
    return wait;
}

static void wait_unref(VmmAgentWait *wait)
{
    if (--wait->ref_count > 0)
        return;
    g_assert(wait->client == NULL);
    g_free(wait->info.agent_version);
    g_free(wait->info.kernel_release);
    g_clear_error(&wait->error);
    vmm_domain_unref(wait->domain);
    g_free(wait);
}

static gboolean dispatch(gpointer data)
{
    VmmAgentWait *wait = data;
    VmmDomain *domain = wait->domain;

    if (!domain->freed)
        wait->func(domain, g_steal_pointer(&wait->client), wait->error ? NULL : &wait->info,
                   wait->error, wait->user_data);
    g_clear_pointer(&wait->client, ttrpc_client_free);
    wait_unref(wait);
    return G_SOURCE_REMOVE;
}

/* Ends @wait with @client (success) or @error (taken); the callback runs from an idle source. */
static void finish(VmmAgentWait *wait, TtrpcClient *client, GError *error, gboolean notify)
{
    VmmDomain *domain = wait->domain;

    wait->done = TRUE;
    g_clear_handle_id(&wait->deadline_id, g_source_remove);
    g_clear_handle_id(&wait->retry_id, g_source_remove);
    g_clear_handle_id(&wait->connect_id, g_source_remove);
    common_fd_close(&wait->connect_fd);
    if (wait->client != client)
        g_clear_pointer(&wait->client, ttrpc_client_free);
    wait->client = client;
    wait->error = error;
    if (domain->wait == wait)
        domain->wait = NULL;
    if (error == NULL)
        domain->timings.agent_ready = g_get_monotonic_time();
    if (notify) {
        g_idle_add(dispatch, wait);
        return;
    }
    g_clear_pointer(&wait->client, ttrpc_client_free);
    wait_unref(wait);
}

static void finish_error(VmmAgentWait *wait, VmmError code, const char *message)
{
    finish(wait, NULL, g_error_new_literal(VMM_ERROR, code, message), TRUE);
}

static void finish_timeout(VmmAgentWait *wait)
{
    g_autofree char *tail = vmm_console_tail(wait->domain->console_log, CONSOLE_TAIL_LINES);
    g_autofree char *message = g_strdup_printf(
        "agent of VM '%s' did not answer within the deadline; console '%s' ends with:\n%s",
        wait->domain->name, wait->domain->console_log, tail);

    finish_error(wait, VMM_ERROR_TIMEOUT, message);
}

static void try_connect(VmmAgentWait *wait);

static gboolean retry_cb(gpointer data)
{
    VmmAgentWait *wait = data;

    wait->retry_id = 0;
    try_connect(wait);
    return G_SOURCE_REMOVE;
}

static void retry_later(VmmAgentWait *wait, guint delay_ms)
{
    g_clear_pointer(&wait->client, ttrpc_client_free);
    wait->retry_id = g_timeout_add(delay_ms, retry_cb, wait);
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

static void on_health(const guint8 *payload, gsize len, const GError *error, gpointer data)
{
    VmmAgentWait *wait = data;
    Secure__Agent__V1__HealthResponse *reply;

    if (wait->done) {
        wait_unref(wait);
        return;
    }
    if (error != NULL && g_error_matches(error, TTRPC_ERROR, TTRPC_CODE_UNAVAILABLE)) {
        /* The channel closed under us (QEMU restarts the port while the guest boots). */
        retry_later(wait, CALL_RETRY_MS);
    } else if (error != NULL && g_error_matches(error, TTRPC_ERROR, TTRPC_CODE_DEADLINE_EXCEEDED) &&
               wait->attempt_us > 0 && g_get_monotonic_time() < wait->deadline) {
        g_info("the resumed VM's agent did not answer Health within %" G_GINT64_FORMAT
               " ms: connecting again",
               wait->attempt_us / 1000);
        wait->attempt_us *= 2;
        retry_later(wait, 0);
    } else if (error != NULL && g_error_matches(error, TTRPC_ERROR, TTRPC_CODE_DEADLINE_EXCEEDED)) {
        finish_timeout(wait);
    } else if (error != NULL) {
        g_autofree char *message = g_strdup_printf("agent Health: %s", error->message);
        finish_error(wait, VMM_ERROR_AGENT, message);
    } else if ((reply = secure__agent__v1__health_response__unpack(NULL, len, payload)) == NULL ||
               !text_valid(reply->agent_version) || !text_valid(reply->kernel_release)) {
        if (reply != NULL)
            secure__agent__v1__health_response__free_unpacked(reply, NULL);
        finish_error(wait, VMM_ERROR_AGENT, "agent Health: invalid reply");
    } else {
        wait->info.agent_version = g_strdup(reply->agent_version);
        wait->info.kernel_release = g_strdup(reply->kernel_release);
        wait->info.agent_pid = reply->agent_pid;
        secure__agent__v1__health_response__free_unpacked(reply, NULL);
        finish(wait, wait->client, NULL, TRUE);
    }
    wait_unref(wait);
}

static void call_health(VmmAgentWait *wait)
{
    Secure__Agent__V1__HealthRequest request = SECURE__AGENT__V1__HEALTH_REQUEST__INIT;
    gint64 remaining = wait->deadline - g_get_monotonic_time();

    if (wait->attempt_us > 0)
        remaining = MIN(remaining, wait->attempt_us);
    ttrpc_client_call(wait->client, secure__agent__v1__agent__descriptor.name, "Health",
                      &request.base, MAX(remaining, 1), on_health, wait_ref(wait));
}

static gboolean on_vsock_connected(int fd, GIOCondition condition, gpointer data)
{
    VmmAgentWait *wait = data;
    int error = 0;
    socklen_t len = sizeof(error);

    (void)condition;
    wait->connect_id = 0;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0 || error != 0) {
        common_fd_close(&wait->connect_fd);
        retry_later(wait, VSOCK_RETRY_MS);
        return G_SOURCE_REMOVE;
    }
    wait->client = ttrpc_client_new(&wait->connect_fd, NULL);
    call_health(wait);
    return G_SOURCE_REMOVE;
}

/* A non-blocking vsock connect: it only completes once the agent listens. */
static void try_connect_vsock(VmmAgentWait *wait)
{
    struct sockaddr_vm addr = {
        .svm_family = AF_VSOCK,
        .svm_cid = wait->domain->config.vsock_cid,
        .svm_port = wait->domain->config.vsock_port,
    };

    wait->connect_fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (wait->connect_fd < 0) {
        g_autofree char *message = g_strdup_printf("vsock socket: %s", g_strerror(errno));
        finish_error(wait, VMM_ERROR_FAILED, message);
        return;
    }
    if (connect(wait->connect_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 &&
        errno != EINPROGRESS) {
        common_fd_close(&wait->connect_fd);
        retry_later(wait, VSOCK_RETRY_MS);
        return;
    }
    wait->connect_id = g_unix_fd_add(wait->connect_fd, G_IO_OUT, on_vsock_connected, wait);
}

/* virtio-serial: connecting succeeds as soon as QEMU listens; the request then waits in the
 * socket until the agent opens its port, so one call with the remaining time covers the boot. */
static void try_connect(VmmAgentWait *wait)
{
    g_autoptr(GError) error = NULL;

    if (wait->domain->config.agent == VMM_AGENT_VSOCK) {
        try_connect_vsock(wait);
        return;
    }
    wait->client = ttrpc_client_connect_unix(wait->domain->agent_socket, NULL, &error);
    if (wait->client == NULL) {
        retry_later(wait, CONNECT_RETRY_MS);
        return;
    }
    call_health(wait);
}

static gboolean on_deadline(gpointer data)
{
    VmmAgentWait *wait = data;

    wait->deadline_id = 0;
    finish_timeout(wait);
    return G_SOURCE_REMOVE;
}

static gboolean start_cb(gpointer data)
{
    VmmAgentWait *wait = data;

    wait->retry_id = 0;
    try_connect(wait);
    return G_SOURCE_REMOVE;
}

void vmm_domain_wait_agent(VmmDomain *domain, gint64 timeout_us, VmmAgentReadyFunc func,
                           gpointer user_data)
{
    VmmAgentWait *wait;

    g_return_if_fail(domain != NULL && func != NULL && domain->wait == NULL);

    wait = g_new0(VmmAgentWait, 1);
    wait->ref_count = 1;
    wait->connect_fd = -1;
    wait->domain = vmm_domain_ref(domain);
    wait->deadline = g_get_monotonic_time() + timeout_us;
    wait->attempt_us = domain->resumed ? RESUMED_ATTEMPT_MS * 1000 : 0;
    wait->func = func;
    wait->user_data = user_data;
    if (!domain->running) {
        finish_error(wait, VMM_ERROR_STOPPED, "the VM is not running");
        return;
    }
    domain->wait = wait;
    wait->deadline_id = g_timeout_add(MAX(timeout_us / 1000, 1), on_deadline, wait);
    wait->retry_id = g_idle_add(start_cb, wait);
}

void vmm_agent_wait_cancel(VmmDomain *domain, VmmError code, const char *message, gboolean notify)
{
    VmmAgentWait *wait = domain->wait;

    if (wait != NULL)
        finish(wait, NULL, g_error_new_literal(VMM_ERROR, code, message), notify);
}
