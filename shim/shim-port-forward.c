/* Port forwarding: the listener and nftables redirect in the pod's network namespace, and one
 * relay per connection between a host socket and the agent's Port calls. */
#include "shim-port-forward.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib-unix.h>
#include <linux/netfilter_ipv4.h>
#include <netinet/in.h>
#include <nftables/libnftables.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.pb-c.h"
#include "shim-error.h"
#include "vmm.h"
#include "common-fd.h"

#define CHUNK (64 * 1024)
#define MAX_CONNECTIONS 256 /* the agent's limit */

struct _ShimPortForward {
    char *netns;
    int netns_fd; /* open from the start: see vmm_netns_enter_fd() */
    int listen_fd;
    guint16 port; /* of the listener */
    guint accept_watch;
    ShimAgent *agent;  /* NULL until started and once the relays end */
    GHashTable *conns; /* PortConn -> itself: the table's reference */
};

/* One forwarded connection. Every pending agent call holds a reference: the agent answers each
 * call once, also after the relay was closed. */
typedef struct {
    ShimPortForward *pf; /* NULL once closed */
    int refs;
    int fd;
    guint32 id; /* the agent's, 0 until open */
    guint16 port;
    guint in_watch;  /* host socket readable */
    guint out_watch; /* host socket writable, while @pending waits */
    GBytes *pending;
    gsize pending_off;
    gboolean host_eof;  /* the host side sent its last byte */
    gboolean guest_eof; /* the guest side did */
} PortConn;

static PortConn *conn_ref(PortConn *c)
{
    c->refs++;
    return c;
}

static void conn_unref(PortConn *c)
{
    if (--c->refs > 0)
        return;
    g_clear_pointer(&c->pending, g_bytes_unref);
    g_free(c);
}

static void close_done(const ProtobufCMessage *reply, const GError *error, gpointer user_data)
{
    (void)reply;
    (void)error;
    conn_unref(user_data);
}

/* Ends the relay: the host socket closes, the guest connection is closed (while there is an
 * agent), the table lets go. Idempotent. */
static void conn_close(PortConn *c)
{
    ShimPortForward *pf = c->pf;
    if (!pf)
        return;
    c->pf = NULL;
    g_clear_handle_id(&c->in_watch, g_source_remove);
    g_clear_handle_id(&c->out_watch, g_source_remove);
    close(c->fd);
    c->fd = -1;
    if (c->id && pf->agent) {
        Secure__Agent__V1__ClosePortRequest req = SECURE__AGENT__V1__CLOSE_PORT_REQUEST__INIT;
        req.id = c->id;
        shim_agent_call(pf->agent, "ClosePort", &req.base, &google__protobuf__empty__descriptor,
                        SHIM_AGENT_DEADLINE, close_done, conn_ref(c));
    }
    g_hash_table_remove(pf->conns, c);
}

static void maybe_finish(PortConn *c)
{
    if (c->host_eof && c->guest_eof)
        conn_close(c);
}

/* Whether the relay of a reply is still open (an error closes it). The reply's reference stays
 * with the caller, which drops it last. */
static gboolean reply_open(PortConn *c, const GError *error, const char *what)
{
    if (c->pf && error) {
        g_debug("port %u: %s: %s", c->port, what, error->message);
        conn_close(c);
    }
    return c->pf != NULL;
}

/* ---- guest -> host ------------------------------------------------------------------------- */

static void guest_read(PortConn *c);

/* Writes what is pending to the host socket; TRUE when all of it is written. */
static gboolean flush_pending(PortConn *c)
{
    gsize len;
    const guint8 *data = g_bytes_get_data(c->pending, &len);
    while (c->pending_off < len) {
        ssize_t n = write(c->fd, data + c->pending_off, len - c->pending_off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return FALSE;
        if (n < 0) {
            conn_close(c);
            return FALSE;
        }
        c->pending_off += (gsize)n;
    }
    g_clear_pointer(&c->pending, g_bytes_unref);
    return TRUE;
}

static gboolean host_writable(int fd, GIOCondition cond, gpointer user_data)
{
    PortConn *c = conn_ref(user_data);
    (void)fd;
    (void)cond;
    gboolean done = flush_pending(c);
    gboolean keep = !done && c->pf;
    if (done) {
        c->out_watch = 0;
        guest_read(c);
    } else if (!keep) {
        c->out_watch = 0;
    }
    conn_unref(c);
    return keep ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* Hands a chunk from the guest to the host socket, then reads on (or ends this direction). */
static void guest_data(PortConn *c, const Secure__Agent__V1__ReadStreamResponse *reply)
{
    if (reply->data.len > CHUNK) {
        shim_agent_fail(c->pf->agent, "ReadPort returned %zu bytes for %d asked", reply->data.len,
                        CHUNK);
        conn_close(c);
        return;
    }
    if (reply->data.len) {
        c->pending = g_bytes_new(reply->data.data, reply->data.len);
        c->pending_off = 0;
        if (!flush_pending(c)) {
            if (c->pf)
                c->out_watch = g_unix_fd_add(c->fd, G_IO_OUT, host_writable, c);
            return;
        }
    }
    if (!reply->eof) {
        guest_read(c);
        return;
    }
    shutdown(c->fd, SHUT_WR);
    c->guest_eof = TRUE;
    maybe_finish(c);
}

static void guest_read_done(const ProtobufCMessage *msg, const GError *error, gpointer user_data)
{
    PortConn *c = user_data;
    if (reply_open(c, error, "ReadPort"))
        guest_data(c, (const void *)msg);
    conn_unref(c);
}

static void guest_read(PortConn *c)
{
    Secure__Agent__V1__PortReadRequest req = SECURE__AGENT__V1__PORT_READ_REQUEST__INIT;
    req.id = c->id;
    req.max_bytes = CHUNK;
    shim_agent_call(c->pf->agent, "ReadPort", &req.base,
                    &secure__agent__v1__read_stream_response__descriptor, SHIM_AGENT_LONG_POLL,
                    guest_read_done, conn_ref(c));
}

/* ---- host -> guest ------------------------------------------------------------------------- */

static gboolean host_readable(int fd, GIOCondition cond, gpointer user_data);

static void guest_write_done(const ProtobufCMessage *msg, const GError *error, gpointer user_data)
{
    PortConn *c = user_data;
    (void)msg;
    if (reply_open(c, error, "WritePort"))
        c->in_watch = g_unix_fd_add(c->fd, G_IO_IN, host_readable, c);
    conn_unref(c);
}

static void half_close_done(const ProtobufCMessage *msg, const GError *error, gpointer user_data)
{
    PortConn *c = user_data;
    (void)msg;
    if (reply_open(c, error, "ClosePort"))
        maybe_finish(c);
    conn_unref(c);
}

/* One chunk at a time: the next read waits for the agent to take this one (flow control). */
static gboolean host_readable(int fd, GIOCondition cond, gpointer user_data)
{
    PortConn *c = user_data;
    guint8 buf[CHUNK];
    (void)cond;
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return G_SOURCE_CONTINUE;
    c->in_watch = 0;
    if (n < 0) {
        conn_close(c); /* the table may drop the last reference: @c is not used after */
        return G_SOURCE_REMOVE;
    }
    if (n == 0) {
        Secure__Agent__V1__ClosePortRequest req = SECURE__AGENT__V1__CLOSE_PORT_REQUEST__INIT;
        req.id = c->id;
        req.write_only = TRUE;
        c->host_eof = TRUE;
        shim_agent_call(c->pf->agent, "ClosePort", &req.base, &google__protobuf__empty__descriptor,
                        SHIM_AGENT_DEADLINE, half_close_done, conn_ref(c));
        return G_SOURCE_REMOVE;
    }
    Secure__Agent__V1__PortWriteRequest req = SECURE__AGENT__V1__PORT_WRITE_REQUEST__INIT;
    req.id = c->id;
    req.data.data = buf;
    req.data.len = (size_t)n;
    shim_agent_call(c->pf->agent, "WritePort", &req.base,
                    &secure__agent__v1__write_stdin_response__descriptor, SHIM_AGENT_DEADLINE,
                    guest_write_done, conn_ref(c));
    return G_SOURCE_REMOVE;
}

/* ---- connections --------------------------------------------------------------------------- */

/* The guest connection exists: both directions start. */
static void opened(PortConn *c, guint32 id)
{
    if (id == 0) {
        shim_agent_fail(c->pf->agent, "OpenPort returned connection id 0");
        conn_close(c);
        return;
    }
    c->id = id;
    c->in_watch = g_unix_fd_add(c->fd, G_IO_IN, host_readable, c);
    guest_read(c);
}

static void open_done(const ProtobufCMessage *msg, const GError *error, gpointer user_data)
{
    PortConn *c = user_data;
    if (reply_open(c, error, "OpenPort"))
        opened(c, ((const Secure__Agent__V1__OpenPortResponse *)msg)->id);
    conn_unref(c);
}

/* The port the connection was meant for, before the redirect; 0 if unknown. */
static guint16 original_port(int fd)
{
    struct sockaddr_in dst;
    socklen_t len = sizeof(dst);
    if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &dst, &len) < 0 || dst.sin_family != AF_INET)
        return 0;
    return ntohs(dst.sin_port);
}

static gboolean on_accept(int listen_fd, GIOCondition cond, gpointer user_data)
{
    ShimPortForward *pf = user_data;
    (void)cond;
    int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return G_SOURCE_CONTINUE;
    guint16 port = original_port(fd);
    if (port == 0 || port == pf->port || g_hash_table_size(pf->conns) >= MAX_CONNECTIONS) {
        g_warning("port forward: connection refused (port %u, %u open)", port,
                  g_hash_table_size(pf->conns));
        close(fd);
        return G_SOURCE_CONTINUE;
    }
    PortConn *c = g_new0(PortConn, 1);
    c->pf = pf;
    c->refs = 1;
    c->fd = fd;
    c->port = port;
    g_hash_table_add(pf->conns, c);
    g_debug("port forward: a connection to guest port %u", port);
    Secure__Agent__V1__OpenPortRequest req = SECURE__AGENT__V1__OPEN_PORT_REQUEST__INIT;
    req.port = port;
    shim_agent_call(pf->agent, "OpenPort", &req.base,
                    &secure__agent__v1__open_port_response__descriptor, SHIM_AGENT_DEADLINE,
                    open_done, conn_ref(c));
    return G_SOURCE_CONTINUE;
}

/* ---- the namespace side -------------------------------------------------------------------- */

/* Runs nft @commands with this thread in the namespace @fd, named @netns (libnftables talks
 * netlink from a socket it opens in the caller's namespace). */
static gboolean run_nft(int fd, const char *netns, const char *commands, GError **error)
{
    int saved = -1;
    if (!vmm_netns_enter_fd(fd, netns, &saved, error))
        return FALSE;
    struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
    nft_ctx_buffer_error(nft);
    int rc = nft_run_cmd_from_buffer(nft, commands);
    vmm_netns_leave(&saved);
    if (rc != 0) {
        g_autofree char *text = g_strdup(nft_ctx_get_error_buffer(nft));
        g_set_error(error, SHIM_ERROR, SHIM_ERROR_FAILED, "nft in '%s': %s", netns,
                    g_strstrip(text));
    }
    nft_ctx_free(nft);
    return rc == 0;
}

/* The listener, made with this thread in the namespace: a socket stays where it was made. */
static gboolean listen_in(ShimPortForward *pf, GError **error)
{
    int saved = -1;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(addr);
    if (!vmm_netns_enter_fd(pf->netns_fd, pf->netns, &saved, error))
        return FALSE;
    pf->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    gboolean ok = pf->listen_fd >= 0 && bind(pf->listen_fd, (void *)&addr, sizeof(addr)) == 0 &&
                  listen(pf->listen_fd, 64) == 0 &&
                  getsockname(pf->listen_fd, (void *)&addr, &len) == 0;
    int saved_errno = errno;
    vmm_netns_leave(&saved);
    if (!ok) {
        g_set_error(error, SHIM_ERROR, SHIM_ERROR_FAILED, "listen on 127.0.0.1 in '%s': %s",
                    pf->netns, g_strerror(saved_errno));
        return FALSE;
    }
    pf->port = ntohs(addr.sin_port);
    return TRUE;
}

static void port_forward_free(ShimPortForward *pf)
{
    g_clear_handle_id(&pf->accept_watch, g_source_remove);
    common_fd_close(&pf->listen_fd);
    common_fd_close(&pf->netns_fd);
    g_hash_table_unref(pf->conns);
    g_free(pf->netns);
    g_free(pf);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ShimPortForward, port_forward_free)

ShimPortForward *shim_port_forward_new(const char *netns, GError **error)
{
    g_autoptr(ShimPortForward) pf = g_new0(ShimPortForward, 1);
    pf->netns_fd = -1;
    pf->netns = g_strdup(netns);
    pf->listen_fd = -1;
    pf->conns =
        g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, (GDestroyNotify)conn_unref);
    pf->netns_fd = vmm_netns_open(netns, error);
    if (pf->netns_fd < 0 || !listen_in(pf, error))
        return NULL;
    g_autofree char *rules =
        g_strdup_printf("add table ip " SHIM_PORT_FORWARD_TABLE "\n"
                        "add chain ip " SHIM_PORT_FORWARD_TABLE " output "
                        "{ type nat hook output priority -100; policy accept; }\n"
                        "add rule ip " SHIM_PORT_FORWARD_TABLE " output "
                        "ip daddr 127.0.0.1 tcp dport != %u redirect to :%u\n",
                        pf->port, pf->port);
    if (!run_nft(pf->netns_fd, netns, rules, error)) {
        g_prefix_error(error, "port forwarding: ");
        return NULL;
    }
    return g_steal_pointer(&pf);
}

void shim_port_forward_start(ShimPortForward *pf, ShimAgent *agent)
{
    pf->agent = agent;
    pf->accept_watch = g_unix_fd_add(pf->listen_fd, G_IO_IN, on_accept, pf);
}

void shim_port_forward_cleanup_stale(int netns_fd, const char *netns)
{
    g_autoptr(GError) error = NULL;
    if (!run_nft(netns_fd, netns, "delete table ip " SHIM_PORT_FORWARD_TABLE "\n", &error))
        g_debug("%s", error->message);
}

void shim_port_forward_free(ShimPortForward *pf)
{
    if (!pf)
        return;
    pf->agent = NULL;
    GList *conns = g_hash_table_get_keys(pf->conns);
    for (GList *l = conns; l; l = l->next)
        conn_close(l->data);
    g_list_free(conns);
    shim_port_forward_cleanup_stale(pf->netns_fd, pf->netns);
    port_forward_free(pf);
}
