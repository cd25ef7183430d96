/* Serves the agent's ttrpc server on the VM's agent channel: a virtio-serial port (reopened
 * whenever the host side goes away) or a vsock listening socket. */
#pragma once

#include "ttrpc.h"

G_BEGIN_DECLS

typedef struct _AgentChannel AgentChannel;

/* Serves the virtio-serial port device @port_path (e.g. /dev/vport1p1) with @server. */
AgentChannel *agent_channel_new_port(TtrpcServer *server, const char *port_path,
                                     GMainContext *context, GError **error);
/* Listens on vsock port @port (any CID) with @server. */
gboolean agent_channel_listen_vsock(TtrpcServer *server, guint port, GError **error);
void agent_channel_free(AgentChannel *channel);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgentChannel, agent_channel_free)

G_END_DECLS
