/* Port forwarding: the agent's TCP connections to 127.0.0.1:<port> in its network namespace (the
 * pod's, in the VM), each named by an id the host uses, each read and written as a stream. */
#pragma once

#include "agent-stream.h"

#include <glib.h>

G_BEGIN_DECLS

/* Most connections open or being opened at once: each holds two fds and up to
 * AGENT_OUTPUT_BUFFER_MAX bytes of buffered output. */
#define AGENT_PORTS_MAX 256

typedef struct _AgentPorts AgentPorts;
typedef struct _AgentPort AgentPort;

/* Completes an open: the new connection's @id, or @error. Returns FALSE when the caller is gone
 * (nobody will ever know the id): the connection is then closed again. */
typedef gboolean (*AgentPortOpenFunc)(guint32 id, const GError *error, gpointer user_data);

AgentPorts *agent_ports_new(GMainContext *context);
/* Closes every connection: pending opens fail, pending reads complete with EOF, pending writes
 * fail. */
void agent_ports_free(AgentPorts *ports);

/* Connects to 127.0.0.1:@port without blocking; @func runs once connected or failed, from this
 * call or from the loop. Ids start at 1 and never repeat. Errors: AGENT_ERROR_INVALID for a port
 * outside 1..65535; AGENT_ERROR_STATE with AGENT_PORTS_MAX connections open or when nothing
 * listens on @port; AGENT_ERROR_FAILED when a system call fails. */
void agent_ports_open(AgentPorts *ports, guint port, AgentPortOpenFunc func, gpointer user_data);
/* The open connection @id (owned by @ports until closed), or NULL with AGENT_ERROR_NOT_FOUND. */
AgentPort *agent_ports_find(AgentPorts *ports, guint32 id, GError **error);
/* @write_only: shuts the connection's write side down once the queued writes are done (the peer
 * reads end-of-file) and goes on reading; the id stays. Else closes the connection and forgets
 * @id. Fails with AGENT_ERROR_NOT_FOUND for an unknown id. */
gboolean agent_ports_close(AgentPorts *ports, guint32 id, gboolean write_only, GError **error);

/* What the peer sent, until it shuts its write side down or the connection breaks. */
AgentOutput *agent_port_get_output(AgentPort *port);
/* What goes to the peer; agent_input_close() shuts the write side down. */
AgentInput *agent_port_get_input(AgentPort *port);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgentPorts, agent_ports_free)

G_END_DECLS
