/* The virtio-serial port behaves unlike a socket: while no host is connected a read returns 0,
 * which ttrpc takes as the end of the connection. That is not the end here: the agent serves the
 * port again once a host is connected, for as long as it runs. Guest writes wait until the host
 * is connected, so the agent never speaks first.
 * The port is opened once and ttrpc serves duplicates of that fd. Opening the port again would
 * make the guest kernel discard what it holds for it: a host that reconnected at once and sent
 * its first request before the agent had noticed the old connection's end would lose that
 * request (seen: Health never answered after a reconnect on a loaded machine). */
#include "agent-channel.h"
#include "agent-error.h"
#include "common-fd.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

/* How often a port without a host is checked for one (only while none is connected). */
#define HOST_POLL_MS 50

struct _AgentChannel {
    TtrpcServer *server;
    int port_fd;
    GMainContext *context;
    GSource *wait_host; /* set while no host is connected */
};

/* TRUE while no host is connected to the port: the guest kernel reports POLLHUP then. */
static gboolean host_absent(AgentChannel *channel)
{
    struct pollfd pfd = {.fd = channel->port_fd, .events = POLLIN};

    return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLHUP);
}

static gboolean channel_serve(AgentChannel *channel, GError **error)
{
    int fd = fcntl(channel->port_fd, F_DUPFD_CLOEXEC, 0);

    if (fd < 0) {
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_FAILED, "dup the agent port: %s",
                    g_strerror(errno));
        return FALSE;
    }
    ttrpc_server_serve_fd(channel->server, &fd);
    return TRUE;
}

static void wait_for_host(AgentChannel *channel);

static gboolean channel_on_wait_host(gpointer user_data)
{
    AgentChannel *channel = user_data;
    g_autoptr(GError) error = NULL;

    g_clear_pointer(&channel->wait_host, g_source_unref);
    if (host_absent(channel)) {
        wait_for_host(channel);
        return G_SOURCE_REMOVE;
    }
    if (!channel_serve(channel, &error)) {
        g_printerr("secure-agent: %s\n", error->message);
        wait_for_host(channel);
    }
    return G_SOURCE_REMOVE;
}

static void wait_for_host(AgentChannel *channel)
{
    channel->wait_host = g_timeout_source_new(HOST_POLL_MS);
    g_source_set_callback(channel->wait_host, channel_on_wait_host, channel, NULL);
    g_source_attach(channel->wait_host, channel->context);
}

static void channel_on_closed(TtrpcServer *server, gpointer user_data)
{
    AgentChannel *channel = user_data;

    if (channel->wait_host != NULL || ttrpc_server_n_connections(server) > 0)
        return;
    wait_for_host(channel);
}

AgentChannel *agent_channel_new_port(TtrpcServer *server, const char *port_path,
                                     GMainContext *context, GError **error)
{
    g_autoptr(AgentChannel) channel = g_new0(AgentChannel, 1);

    channel->server = server;
    channel->context = context;
    channel->port_fd = open(port_path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (channel->port_fd < 0) {
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_FAILED, "open '%s': %s", port_path,
                    g_strerror(errno));
        return NULL;
    }
    ttrpc_server_set_closed_func(server, channel_on_closed, channel);
    if (!channel_serve(channel, error))
        return NULL;
    return g_steal_pointer(&channel);
}

gboolean agent_channel_listen_vsock(TtrpcServer *server, guint port, GError **error)
{
    struct sockaddr_vm addr = {
        .svm_family = AF_VSOCK,
        .svm_port = port,
        .svm_cid = VMADDR_CID_ANY,
    };
    int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 4) < 0) {
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_FAILED, "listen on vsock port %u: %s", port,
                    g_strerror(errno));
        common_fd_close(&fd);
        return FALSE;
    }
    return ttrpc_server_listen_fd(server, &fd, error);
}

void agent_channel_free(AgentChannel *channel)
{
    if (channel == NULL)
        return;
    if (channel->server != NULL)
        ttrpc_server_set_closed_func(channel->server, NULL, NULL);
    if (channel->wait_host != NULL) {
        g_source_destroy(channel->wait_host);
        g_source_unref(channel->wait_host);
    }
    common_fd_close(&channel->port_fd);
    g_free(channel);
}
