/* The virtio-serial port behaves unlike a socket: while no host is connected a read returns 0,
 * which ttrpc takes as the end of the connection. That is not the end here: the port is opened
 * again after a short pause, for as long as the agent runs. Guest writes wait until the host is
 * connected, so the agent never speaks first. */
#include "agent-channel.h"
#include "agent-error.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <sys/socket.h>
#include <unistd.h>

#define REOPEN_DELAY_MS 50

struct _AgentChannel {
    TtrpcServer *server;
    char *port_path;
    GMainContext *context;
    GSource *reopen; /* set while waiting to open the port again */
};

static gboolean channel_open(AgentChannel *channel, GError **error)
{
    int fd = open(channel->port_path, O_RDWR | O_CLOEXEC | O_NONBLOCK);

    if (fd < 0) {
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_FAILED, "open '%s': %s", channel->port_path,
                    g_strerror(errno));
        return FALSE;
    }
    ttrpc_server_serve_fd(channel->server, &fd);
    return TRUE;
}

static gboolean channel_on_reopen(gpointer user_data)
{
    AgentChannel *channel = user_data;
    g_autoptr(GError) error = NULL;

    g_clear_pointer(&channel->reopen, g_source_unref);
    if (!channel_open(channel, &error)) {
        g_printerr("secure-agent: %s\n", error->message);
        channel->reopen = g_timeout_source_new(REOPEN_DELAY_MS);
        g_source_set_callback(channel->reopen, channel_on_reopen, channel, NULL);
        g_source_attach(channel->reopen, channel->context);
    }
    return G_SOURCE_REMOVE;
}

static void channel_on_closed(TtrpcServer *server, gpointer user_data)
{
    AgentChannel *channel = user_data;

    if (channel->reopen != NULL || ttrpc_server_n_connections(server) > 0)
        return;
    channel->reopen = g_timeout_source_new(REOPEN_DELAY_MS);
    g_source_set_callback(channel->reopen, channel_on_reopen, channel, NULL);
    g_source_attach(channel->reopen, channel->context);
}

AgentChannel *agent_channel_new_port(TtrpcServer *server, const char *port_path,
                                     GMainContext *context, GError **error)
{
    g_autoptr(AgentChannel) channel = g_new0(AgentChannel, 1);

    channel->server = server;
    channel->port_path = g_strdup(port_path);
    channel->context = context;
    ttrpc_server_set_closed_func(server, channel_on_closed, channel);
    if (!channel_open(channel, error))
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
        if (fd >= 0)
            close(fd);
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
    if (channel->reopen != NULL) {
        g_source_destroy(channel->reopen);
        g_source_unref(channel->reopen);
    }
    g_free(channel->port_path);
    g_free(channel);
}
