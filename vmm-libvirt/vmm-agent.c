/* The agent channel: a connected stream to the guest agent's port, virtio-serial (QEMU's unix
 * socket) or vsock, retried while the guest boots until the deadline passes. What is said on it
 * is the caller's business: this layer does not speak the agent's protocol. Driven by the main
 * loop; never blocks. */
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib-unix.h>
#include <linux/vm_sockets.h>

#include "common-fd.h"
#include "vmm-internal.h"

/* QEMU listens on the virtio-serial socket right after it starts: refusals are brief. */
#define UNIX_RETRY_MS 50
/* vsock refuses until the agent listens; each refusal costs the guest little. */
#define VSOCK_RETRY_MS 200
#define CONSOLE_TAIL_LINES 15

struct _VmmAgentConnect {
    VmmDomain *domain; /* not a reference: the domain cancels us before it goes */
    VmmAgentChannelFunc func;
    gpointer user_data;
    int fd; /* the attempt in progress, then the result */
    guint connect_id;
    guint deadline_id;
    guint retry_id;
    guint dispatch_id;
    GError *error;
};

static void clear_sources(VmmAgentConnect *attempt)
{
    g_clear_handle_id(&attempt->deadline_id, g_source_remove);
    g_clear_handle_id(&attempt->retry_id, g_source_remove);
    g_clear_handle_id(&attempt->connect_id, g_source_remove);
    g_clear_handle_id(&attempt->dispatch_id, g_source_remove);
}

static void connect_free(VmmAgentConnect *attempt)
{
    clear_sources(attempt);
    common_fd_close(&attempt->fd);
    g_clear_error(&attempt->error);
    g_free(attempt);
}

/* The domain forgets @attempt before the callback: it may start the next attempt, or free the
 * domain. */
static gboolean dispatch(gpointer data)
{
    VmmAgentConnect *attempt = data;

    attempt->dispatch_id = 0;
    attempt->domain->connect = NULL;
    attempt->func(attempt->domain, &attempt->fd, attempt->error, attempt->user_data);
    connect_free(attempt);
    return G_SOURCE_REMOVE;
}

/* Ends @attempt with its fd (@error NULL) or @error (taken); the callback runs from an idle
 * source. */
static void finish(VmmAgentConnect *attempt, GError *error)
{
    clear_sources(attempt);
    if (error != NULL)
        common_fd_close(&attempt->fd);
    attempt->error = error;
    attempt->dispatch_id = g_idle_add(dispatch, attempt);
}

static void try_connect(VmmAgentConnect *attempt);

static gboolean retry_cb(gpointer data)
{
    VmmAgentConnect *attempt = data;

    attempt->retry_id = 0;
    try_connect(attempt);
    return G_SOURCE_REMOVE;
}

static void retry_later(VmmAgentConnect *attempt, guint delay_ms)
{
    common_fd_close(&attempt->fd);
    attempt->retry_id = g_timeout_add(delay_ms, retry_cb, attempt);
}

static gboolean on_connected(int fd, GIOCondition condition, gpointer data)
{
    VmmAgentConnect *attempt = data;
    int error = 0;
    socklen_t len = sizeof(error);

    (void)condition;
    attempt->connect_id = 0;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0 || error != 0) {
        retry_later(attempt, attempt->domain->config.agent == VMM_AGENT_VSOCK ? VSOCK_RETRY_MS
                                                                              : UNIX_RETRY_MS);
        return G_SOURCE_REMOVE;
    }
    finish(attempt, NULL);
    return G_SOURCE_REMOVE;
}

/* A non-blocking attempt of a new socket of @family to @addr: a vsock attempt only completes
 * once the agent listens; a virtio-serial one as soon as QEMU listens (what the caller writes
 * then waits in the socket until the agent opens its port). */
static void connect_socket(VmmAgentConnect *attempt, int family, const struct sockaddr *addr,
                           socklen_t len, guint retry_ms)
{
    attempt->fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (attempt->fd < 0) {
        finish(attempt, g_error_new(VMM_ERROR, VMM_ERROR_FAILED, "agent channel socket: %s",
                                    g_strerror(errno)));
        return;
    }
    if (connect(attempt->fd, addr, len) == 0) {
        finish(attempt, NULL);
        return;
    }
    if (errno != EINPROGRESS && errno != EAGAIN) {
        retry_later(attempt, retry_ms);
        return;
    }
    attempt->connect_id = g_unix_fd_add(attempt->fd, G_IO_OUT, on_connected, attempt);
}

static void try_connect(VmmAgentConnect *attempt)
{
    const VmmConfig *config = &attempt->domain->config;
    struct sockaddr_vm vsock = {
        .svm_family = AF_VSOCK,
        .svm_cid = config->vsock_cid,
        .svm_port = config->vsock_port,
    };
    struct sockaddr_un unix_addr = {.sun_family = AF_UNIX};

    if (config->agent == VMM_AGENT_VSOCK) {
        connect_socket(attempt, AF_VSOCK, (struct sockaddr *)&vsock, sizeof(vsock), VSOCK_RETRY_MS);
        return;
    }
    g_strlcpy(unix_addr.sun_path, attempt->domain->agent_socket, sizeof(unix_addr.sun_path));
    connect_socket(attempt, AF_UNIX, (struct sockaddr *)&unix_addr, sizeof(unix_addr),
                   UNIX_RETRY_MS);
}

static gboolean on_deadline(gpointer data)
{
    VmmAgentConnect *attempt = data;
    VmmDomain *domain = attempt->domain;
    g_autofree char *tail = vmm_console_tail(domain->console_log, CONSOLE_TAIL_LINES);

    attempt->deadline_id = 0;
    finish(attempt, g_error_new(VMM_ERROR, VMM_ERROR_TIMEOUT,
                                "the agent channel of VM '%s' did not connect within the "
                                "deadline; console '%s' ends with:\n%s",
                                domain->name, domain->console_log, tail));
    return G_SOURCE_REMOVE;
}

void vmm_domain_connect_agent(VmmDomain *domain, gint64 timeout_us, VmmAgentChannelFunc func,
                              gpointer user_data)
{
    VmmAgentConnect *attempt;

    g_return_if_fail(domain != NULL && func != NULL && domain->connect == NULL);

    attempt = g_new0(VmmAgentConnect, 1);
    attempt->fd = -1;
    attempt->domain = domain;
    attempt->func = func;
    attempt->user_data = user_data;
    domain->connect = attempt;
    if (!domain->running) {
        finish(attempt, g_error_new_literal(VMM_ERROR, VMM_ERROR_STOPPED, "the VM is not running"));
        return;
    }
    attempt->deadline_id = g_timeout_add(MAX(timeout_us / 1000, 1), on_deadline, attempt);
    attempt->retry_id = g_idle_add(retry_cb, attempt);
}

void vmm_domain_cancel_agent(VmmDomain *domain)
{
    g_clear_pointer(&domain->connect, connect_free);
}

void vmm_agent_connect_stopped(VmmDomain *domain, const char *message)
{
    VmmAgentConnect *attempt = domain->connect;

    if (attempt != NULL && attempt->dispatch_id == 0)
        finish(attempt, g_error_new_literal(VMM_ERROR, VMM_ERROR_STOPPED, message));
}
