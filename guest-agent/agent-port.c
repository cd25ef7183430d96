/* The forwarded connections table. A connection is in the table from the start of its open, so
 * that connections still connecting count towards AGENT_PORTS_MAX, but is found by id only once
 * connected. Its socket then has two fds, one read by an AgentOutput and one written by an
 * AgentInput, because each of them closes its fd when its direction ends. */
#include "agent-port.h"
#include "agent-error.h"
#include "common-fd.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

struct _AgentPort {
    AgentPorts *ports;
    guint32 id;
    guint tcp_port;
    int fd;                 /* the socket until the input takes it, or -1 */
    GSource *connecting;    /* set while the connect is in progress */
    AgentPortOpenFunc func; /* set until the open completes */
    gpointer user_data;
    AgentOutput *output; /* set once connected */
    AgentInput *input;
};

struct _AgentPorts {
    GMainContext *context;
    GHashTable *table; /* id -> AgentPort, owned */
    guint64 next_id;   /* wider than an id, so that running out is an error and never a wrap */
};

static void port_free(AgentPort *port)
{
    if (port->func != NULL) {
        g_autoptr(GError) error =
            g_error_new(AGENT_ERROR, AGENT_ERROR_STATE,
                        "connect to 127.0.0.1:%u: the agent is stopping", port->tcp_port);
        (void)port->func(0, error, port->user_data);
    }
    if (port->connecting != NULL) {
        g_source_destroy(port->connecting);
        g_source_unref(port->connecting);
    }
    common_fd_close(&port->fd);
    agent_output_free(port->output);
    agent_input_free(port->input);
    g_free(port);
}

AgentPorts *agent_ports_new(GMainContext *context)
{
    AgentPorts *ports = g_new0(AgentPorts, 1);

    ports->context = context;
    ports->table =
        g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, (GDestroyNotify)port_free);
    ports->next_id = 1;
    return ports;
}

void agent_ports_free(AgentPorts *ports)
{
    if (ports == NULL)
        return;
    g_hash_table_unref(ports->table);
    g_free(ports);
}

/* Hands the id (or @error) to the caller; the connection stays only if the caller took it. */
static void port_open_done(AgentPort *port, const GError *error)
{
    AgentPortOpenFunc func = g_steal_pointer(&port->func);
    gboolean taken = func(error == NULL ? port->id : 0, error, port->user_data);

    if (error != NULL || !taken)
        g_hash_table_remove(port->ports->table, GUINT_TO_POINTER(port->id));
}

static gboolean port_start_streams(AgentPort *port, GError **error)
{
    int out_fd = fcntl(port->fd, F_DUPFD_CLOEXEC, 0);

    if (out_fd < 0) {
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_FAILED, "dup connection to 127.0.0.1:%u: %s",
                    port->tcp_port, g_strerror(errno));
        return FALSE;
    }
    port->output = agent_output_new(&out_fd, port->ports->context);
    port->input = agent_input_new(&port->fd, AGENT_INPUT_SOCKET, port->ports->context);
    return TRUE;
}

/* Completes the open once the connect has ended with @errnum (0: connected). A refused connect
 * is a state the caller can change (start the server), not an agent failure. */
static void port_connected(AgentPort *port, int errnum)
{
    g_autoptr(GError) error = NULL;

    if (errnum == ECONNREFUSED)
        error = g_error_new(AGENT_ERROR, AGENT_ERROR_STATE,
                            "nothing listens on 127.0.0.1:%u (connection refused)", port->tcp_port);
    else if (errnum != 0)
        error = g_error_new(AGENT_ERROR, AGENT_ERROR_FAILED, "connect to 127.0.0.1:%u: %s",
                            port->tcp_port, g_strerror(errnum));
    else
        port_start_streams(port, &error);
    port_open_done(port, error);
}

static gboolean port_on_connect(gint fd, GIOCondition condition, gpointer user_data)
{
    AgentPort *port = user_data;
    int errnum = 0;
    socklen_t len = sizeof(errnum);

    (void)condition;
    g_clear_pointer(&port->connecting, g_source_unref);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &errnum, &len) < 0)
        errnum = errno;
    port_connected(port, errnum);
    return G_SOURCE_REMOVE;
}

/* Starts the connect. It usually ends later, on the loop; one that ends at once completes now. */
static void port_connect(AgentPort *port)
{
    struct sockaddr_in addr = {
        .sin_family = AF_INET,
        .sin_port = htons(port->tcp_port),
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
    };

    port->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (port->fd < 0) {
        port_connected(port, errno);
        return;
    }
    if (connect(port->fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
        port_connected(port, 0);
        return;
    }
    if (errno != EINPROGRESS) {
        port_connected(port, errno);
        return;
    }
    port->connecting = g_unix_fd_source_new(port->fd, G_IO_OUT);
    g_source_set_callback(port->connecting, G_SOURCE_FUNC(port_on_connect), port, NULL);
    g_source_attach(port->connecting, port->ports->context);
}

static gboolean ports_check_open(AgentPorts *ports, guint port, GError **error)
{
    if (port == 0 || port > G_MAXUINT16) {
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_INVALID, "port %u is not in 1..65535", port);
        return FALSE;
    }
    if (g_hash_table_size(ports->table) >= AGENT_PORTS_MAX) {
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_STATE,
                    "%d forwarded connections are open, the most allowed; close one first",
                    AGENT_PORTS_MAX);
        return FALSE;
    }
    if (ports->next_id > G_MAXUINT32) {
        g_set_error_literal(error, AGENT_ERROR, AGENT_ERROR_STATE,
                            "every forwarded connection id has been used");
        return FALSE;
    }
    return TRUE;
}

void agent_ports_open(AgentPorts *ports, guint port, AgentPortOpenFunc func, gpointer user_data)
{
    g_autoptr(GError) error = NULL;
    AgentPort *entry;

    if (!ports_check_open(ports, port, &error)) {
        (void)func(0, error, user_data);
        return;
    }
    entry = g_new0(AgentPort, 1);
    entry->ports = ports;
    entry->id = ports->next_id++;
    entry->tcp_port = port;
    entry->fd = -1;
    entry->func = func;
    entry->user_data = user_data;
    g_hash_table_insert(ports->table, GUINT_TO_POINTER(entry->id), entry);
    port_connect(entry);
}

AgentPort *agent_ports_find(AgentPorts *ports, guint32 id, GError **error)
{
    AgentPort *port = g_hash_table_lookup(ports->table, GUINT_TO_POINTER(id));

    /* One still connecting has an id that nobody has been told yet. */
    if (port == NULL || port->output == NULL) {
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_NOT_FOUND, "no forwarded connection %u", id);
        return NULL;
    }
    return port;
}

gboolean agent_ports_close(AgentPorts *ports, guint32 id, gboolean write_only, GError **error)
{
    AgentPort *port = agent_ports_find(ports, id, error);

    if (port == NULL)
        return FALSE;
    if (write_only)
        agent_input_close(port->input);
    else
        g_hash_table_remove(ports->table, GUINT_TO_POINTER(id));
    return TRUE;
}

AgentOutput *agent_port_get_output(AgentPort *port)
{
    return port->output;
}

AgentInput *agent_port_get_input(AgentPort *port)
{
    return port->input;
}
