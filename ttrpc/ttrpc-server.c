/* The ttrpc server: listeners, served connections, method dispatch and call completion. */
#include "ttrpc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib-unix.h>

#include "ttrpc-connection.h"
#include "ttrpc-status.h"
#include "ttrpc-unix.h"
#include "ttrpc.pb-c.h"

typedef struct {
    const TtrpcMethod *methods;
    gsize n_methods;
    gpointer user_data;
} Service;

typedef struct {
    TtrpcServer *server;
    int fd;
    GSource *source;
    char *path; /* the socket file we created, removed again when the server goes */
    gboolean check_peer;
} Listener;

typedef struct {
    TtrpcServer *server;
    TtrpcConnection *connection;
    GHashTable *calls; /* set of TtrpcCall still waiting for their reply */
} ServerConnection;

struct _TtrpcServer {
    GMainContext *context;
    GHashTable *services; /* name -> Service */
    GPtrArray *listeners;
    GHashTable *connections; /* set of ServerConnection */
    TtrpcConnectionClosedFunc closed_func;
    gpointer closed_data;
};

struct _TtrpcCall {
    ServerConnection *owner; /* NULL once a reply can no longer be sent */
    guint32 stream_id;
    char *method;
    char **metadata; /* key, value, key, value, ..., NULL */
    gint64 deadline;
    GSource *deadline_source;
    gint64 started; /* monotonic µs, for the debug trace */
};

static void request_free(Ttrpc__Request *request)
{
    ttrpc__request__free_unpacked(request, NULL);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Ttrpc__Request, request_free)

/* ---- replies --------------------------------------------------------------------------- */

static void send_status(ServerConnection *owner, guint32 stream_id, TtrpcCode code,
                        const char *message);

/* The tag of Response.payload (field 2, length-delimited). */
#define RESPONSE_PAYLOAD_TAG ((2 << 3) | 2)
/* The most bytes a varint takes. */
#define VARINT_MAX 10

static void send_too_large(ServerConnection *owner, guint32 stream_id, gsize size)
{
    g_autofree char *message = g_strdup_printf(
        "reply of %zu bytes exceeds the maximum message size of %u", size, TTRPC_FRAME_MAX_DATA);
    send_status(owner, stream_id, TTRPC_CODE_RESOURCE_EXHAUSTED, message);
}

static void send_response(ServerConnection *owner, guint32 stream_id,
                          const Ttrpc__Response *response)
{
    gsize size = ttrpc__response__get_packed_size(response);
    if (size > TTRPC_FRAME_MAX_DATA) {
        send_too_large(owner, stream_id, size);
        return;
    }
    g_autofree guint8 *bytes = g_malloc(MAX(size, 1));
    ttrpc__response__pack(response, bytes);
    ttrpc_connection_send(owner->connection, stream_id, TTRPC_FRAME_RESPONSE, bytes, size);
}

/* Writes @value as a protobuf varint to @out; returns its length. */
static gsize put_varint(guint8 *out, guint64 value)
{
    gsize n = 0;
    for (; value >= 0x80; value >>= 7)
        out[n++] = (guint8)(value | 0x80);
    out[n++] = (guint8)value;
    return n;
}

/* A successful Response is its payload field alone (an empty one is left out, as proto3 does):
 * packed straight into the frame, a reply's bytes (a stream read's data) are copied once rather
 * than three times (message, envelope, frame). */
static void send_reply(ServerConnection *owner, guint32 stream_id, const ProtobufCMessage *reply)
{
    gsize len = reply != NULL ? protobuf_c_message_get_packed_size(reply) : 0;
    guint8 field[1 + VARINT_MAX] = {RESPONSE_PAYLOAD_TAG};
    gsize field_len = len > 0 ? 1 + put_varint(field + 1, len) : 0;
    gsize size = field_len + len;
    if (size > TTRPC_FRAME_MAX_DATA) {
        send_too_large(owner, stream_id, size);
        return;
    }
    guint8 *frame = ttrpc_frame_new(stream_id, TTRPC_FRAME_RESPONSE, size);
    memcpy(frame + TTRPC_FRAME_HEADER_SIZE, field, field_len);
    if (len > 0)
        protobuf_c_message_pack(reply, frame + TTRPC_FRAME_HEADER_SIZE + field_len);
    ttrpc_connection_send_frame(owner->connection,
                                g_bytes_new_take(frame, TTRPC_FRAME_HEADER_SIZE + size));
}

static void send_status(ServerConnection *owner, guint32 stream_id, TtrpcCode code,
                        const char *message)
{
    Google__Rpc__Status status = GOOGLE__RPC__STATUS__INIT;
    Ttrpc__Response response = TTRPC__RESPONSE__INIT;
    status.code = code;
    /* A status that does not fit either (a huge message) is cut: it must go out. (strnlen
     * first: g_strndup() allocates its whole limit.) */
    status.message = g_strndup(message, strnlen(message, TTRPC_FRAME_MAX_DATA / 2));
    response.status = &status;
    send_response(owner, stream_id, &response);
    g_free(status.message);
}

static void send_status_printf(ServerConnection *owner, guint32 stream_id, TtrpcCode code,
                               const char *format, ...) G_GNUC_PRINTF(4, 5);

static void send_status_printf(ServerConnection *owner, guint32 stream_id, TtrpcCode code,
                               const char *format, ...)
{
    va_list args;
    va_start(args, format);
    g_autofree char *message = g_strdup_vprintf(format, args);
    va_end(args);
    send_status(owner, stream_id, code, message);
}

/* ---- calls ----------------------------------------------------------------------------- */

/* One debug line per completed call: which method, how it ended and how long it took, so that a
 * stuck or slow call shows in the log. Checked first: formatting costs more than the call. */
static void call_trace(const TtrpcCall *call, TtrpcCode code, const char *message)
{
    if (!g_log_get_debug_enabled())
        return;
    g_debug("%s stream %u: %s%s%s after %.1f ms%s", call->method, call->stream_id,
            ttrpc_code_name(code), message ? ": " : "", message ? message : "",
            (double)(g_get_monotonic_time() - call->started) / 1000.0,
            call->owner ? "" : " (reply dropped: deadline passed or peer gone)");
}

/* The reply can no longer go out: the deadline passed or the connection went away. */
static void call_detach(TtrpcCall *call)
{
    if (call->deadline_source != NULL) {
        g_source_destroy(call->deadline_source);
        g_clear_pointer(&call->deadline_source, g_source_unref);
    }
    if (call->owner != NULL)
        g_hash_table_remove(call->owner->calls, call);
    call->owner = NULL;
}

static void call_free(TtrpcCall *call)
{
    call_detach(call);
    g_free(call->method);
    g_strfreev(call->metadata);
    g_free(call);
}

static gboolean on_call_deadline(gpointer user_data)
{
    TtrpcCall *call = user_data;
    send_status_printf(call->owner, call->stream_id, TTRPC_CODE_DEADLINE_EXCEEDED,
                       "deadline exceeded for method %s", call->method);
    call_detach(call);
    return G_SOURCE_REMOVE;
}

static char **copy_metadata(const Ttrpc__Request *request)
{
    char **metadata = g_new0(char *, 2 * request->n_metadata + 1);
    for (gsize i = 0; i < request->n_metadata; i++) {
        metadata[2 * i] = g_strdup(request->metadata[i]->key);
        metadata[2 * i + 1] = g_strdup(request->metadata[i]->value);
    }
    return metadata;
}

static TtrpcCall *call_new(ServerConnection *owner, guint32 stream_id,
                           const Ttrpc__Request *request)
{
    TtrpcCall *call = g_new0(TtrpcCall, 1);
    call->owner = owner;
    call->stream_id = stream_id;
    call->method = g_strdup(request->method);
    call->metadata = copy_metadata(request);
    call->started = g_get_monotonic_time();
    g_hash_table_add(owner->calls, call);

    if (request->timeout_nano > 0) {
        gint64 timeout_us = request->timeout_nano / 1000;
        call->deadline = g_get_monotonic_time() + timeout_us;
        call->deadline_source = g_timeout_source_new(MIN((timeout_us + 999) / 1000, G_MAXUINT));
        g_source_set_callback(call->deadline_source, on_call_deadline, call, NULL);
        g_source_attach(call->deadline_source, owner->server->context);
    }
    return call;
}

void ttrpc_call_return(TtrpcCall *call, const ProtobufCMessage *reply)
{
    call_trace(call, TTRPC_CODE_OK, NULL);
    if (call->owner != NULL)
        send_reply(call->owner, call->stream_id, reply);
    call_free(call);
}

void ttrpc_call_return_error(TtrpcCall *call, TtrpcCode code, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    g_autofree char *message = g_strdup_vprintf(format, args);
    va_end(args);
    call_trace(call, code, message);
    if (call->owner != NULL)
        send_status(call->owner, call->stream_id, code, message);
    call_free(call);
}

void ttrpc_call_return_gerror(TtrpcCall *call, const GError *error)
{
    ttrpc_call_return_error(call, ttrpc_code_from_gerror(error), "%s", error->message);
}

gint64 ttrpc_call_get_deadline(TtrpcCall *call)
{
    return call->deadline;
}

const char *ttrpc_call_get_metadata(TtrpcCall *call, const char *key)
{
    for (char **kv = call->metadata; kv[0] != NULL; kv += 2)
        if (g_ascii_strcasecmp(kv[0], key) == 0)
            return kv[1];
    return NULL;
}

gboolean ttrpc_call_is_cancelled(TtrpcCall *call)
{
    return call->owner == NULL;
}

const char *ttrpc_call_get_method(TtrpcCall *call)
{
    return call->method;
}

/* ---- requests -------------------------------------------------------------------------- */

static const TtrpcMethod *find_method(const Service *service, const char *name)
{
    for (gsize i = 0; i < service->n_methods; i++)
        if (g_str_equal(service->methods[i].name, name))
            return &service->methods[i];
    return NULL;
}

static void dispatch_request(ServerConnection *owner, guint32 stream_id,
                             const Ttrpc__Request *request)
{
    const Service *service = g_hash_table_lookup(owner->server->services, request->service);
    if (service == NULL) {
        send_status_printf(owner, stream_id, TTRPC_CODE_UNIMPLEMENTED, "service %s",
                           request->service);
        return;
    }
    const TtrpcMethod *method = find_method(service, request->method);
    if (method == NULL) {
        send_status_printf(owner, stream_id, TTRPC_CODE_UNIMPLEMENTED, "method %s",
                           request->method);
        return;
    }
    if (request->timeout_nano < 0) {
        send_status_printf(owner, stream_id, TTRPC_CODE_DEADLINE_EXCEEDED,
                           "deadline exceeded for method %s", request->method);
        return;
    }
    /* The handler may complete the call, or even free the server, before it returns; the
     * message is ours either way, and freed here. */
    TtrpcCall *call = call_new(owner, stream_id, request);
    g_autoptr(ProtobufCMessage) message = protobuf_c_message_unpack(
        method->request_type, NULL, request->payload.len, request->payload.data);
    if (message == NULL) {
        ttrpc_call_return_error(call, TTRPC_CODE_INVALID_ARGUMENT, "%s: not a valid %s",
                                request->method, method->request_type->name);
        return;
    }
    method->handler(call, message, service->user_data);
}

static void on_frame(TtrpcConnection *connection, const TtrpcFrameHeader *header,
                     const guint8 *data, gpointer user_data)
{
    (void)connection;
    ServerConnection *owner = user_data;
    static const guint8 empty[1];

    /* Other types (streaming data in newer ttrpc) are ignored, as the Go server does. */
    if (header->type != TTRPC_FRAME_REQUEST)
        return;
    g_autoptr(Ttrpc__Request) request =
        ttrpc__request__unpack(NULL, header->length, data != NULL ? data : empty);
    if (request == NULL) {
        send_status_printf(owner, header->stream_id, TTRPC_CODE_INVALID_ARGUMENT,
                           "unmarshal request error: malformed Request of %u bytes",
                           header->length);
        return;
    }
    if (header->stream_id % 2 != 1) {
        send_status(owner, header->stream_id, TTRPC_CODE_INVALID_ARGUMENT,
                    "StreamID must be odd for client initiated streams");
        return;
    }
    dispatch_request(owner, header->stream_id, request);
}

static void on_oversized(TtrpcConnection *connection, const TtrpcFrameHeader *header,
                         gpointer user_data)
{
    (void)connection;
    send_status_printf(user_data, header->stream_id, TTRPC_CODE_RESOURCE_EXHAUSTED,
                       "message length %u exceed maximum message size of %u", header->length,
                       TTRPC_FRAME_MAX_DATA);
}

/* ---- connections ----------------------------------------------------------------------- */

static void server_connection_free(ServerConnection *owner)
{
    GHashTableIter iter;
    gpointer call;
    g_hash_table_iter_init(&iter, owner->calls);
    while (g_hash_table_iter_next(&iter, &call, NULL)) {
        g_hash_table_iter_steal(&iter);
        ((TtrpcCall *)call)->owner = NULL;
        call_detach(call);
    }
    g_hash_table_unref(owner->calls);
    ttrpc_connection_close(owner->connection);
    ttrpc_connection_unref(owner->connection);
    g_free(owner);
}

static void on_closed(TtrpcConnection *connection, const GError *error, gpointer user_data)
{
    (void)connection;
    ServerConnection *owner = user_data;
    TtrpcServer *server = owner->server;

    g_debug("connection ended: %s", error->message);
    g_hash_table_remove(server->connections, owner);
    if (server->closed_func != NULL)
        server->closed_func(server, server->closed_data);
}

static const TtrpcConnectionCallbacks server_callbacks = {
    .frame = on_frame,
    .oversized = on_oversized,
    .closed = on_closed,
};

void ttrpc_server_serve_fd(TtrpcServer *server, int *fd)
{
    ServerConnection *owner = g_new0(ServerConnection, 1);
    owner->server = server;
    owner->calls = g_hash_table_new(NULL, NULL);
    owner->connection = ttrpc_connection_new(fd, server->context, &server_callbacks, owner);
    g_hash_table_add(server->connections, owner);
}

guint ttrpc_server_n_connections(TtrpcServer *server)
{
    return g_hash_table_size(server->connections);
}

void ttrpc_server_set_closed_func(TtrpcServer *server, TtrpcConnectionClosedFunc func,
                                  gpointer user_data)
{
    server->closed_func = func;
    server->closed_data = user_data;
}

/* ---- listeners ------------------------------------------------------------------------- */

/* After an accept error such as EMFILE the socket stays ready: pause instead of spinning. */
#define ACCEPT_BACKOFF_MS 100

static void listener_watch(Listener *listener);

static gboolean on_backoff_done(gpointer user_data)
{
    Listener *listener = user_data;
    g_clear_pointer(&listener->source, g_source_unref);
    listener_watch(listener);
    return G_SOURCE_REMOVE;
}

static void listener_back_off(Listener *listener)
{
    g_source_destroy(listener->source);
    g_source_unref(listener->source);
    listener->source = g_timeout_source_new(ACCEPT_BACKOFF_MS);
    g_source_set_callback(listener->source, on_backoff_done, listener, NULL);
    g_source_attach(listener->source, listener->server->context);
}

static gboolean on_accept(int fd, GIOCondition condition, gpointer user_data)
{
    (void)fd;
    (void)condition;
    Listener *listener = user_data;
    int conn = accept4(listener->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (conn < 0 &&
        (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED))
        return G_SOURCE_CONTINUE;
    if (conn < 0) {
        g_debug("accept: %s; pausing %d ms", g_strerror(errno), ACCEPT_BACKOFF_MS);
        listener_back_off(listener);
        return G_SOURCE_REMOVE;
    }
    if (listener->check_peer && !ttrpc_unix_peer_is_same_user(conn)) {
        close(conn);
        return G_SOURCE_CONTINUE;
    }
    ttrpc_server_serve_fd(listener->server, &conn);
    return G_SOURCE_CONTINUE;
}

static void listener_watch(Listener *listener)
{
    listener->source = g_unix_fd_source_new(listener->fd, G_IO_IN);
    g_source_set_callback(listener->source, G_SOURCE_FUNC(on_accept), listener, NULL);
    g_source_attach(listener->source, listener->server->context);
}

static void listener_free(Listener *listener)
{
    g_source_destroy(listener->source);
    g_source_unref(listener->source);
    close(listener->fd);
    if (listener->path != NULL)
        unlink(listener->path);
    g_free(listener->path);
    g_free(listener);
}

static void add_listener(TtrpcServer *server, int *fd, const char *path)
{
    Listener *listener = g_new0(Listener, 1);
    int domain = 0;
    socklen_t len = sizeof(domain);

    listener->server = server;
    listener->fd = g_steal_fd(fd);
    listener->path = g_strdup(path);
    listener->check_peer =
        getsockopt(listener->fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 && domain == AF_UNIX;
    listener_watch(listener);
    g_ptr_array_add(server->listeners, listener);
}

gboolean ttrpc_server_listen_fd(TtrpcServer *server, int *listen_fd, GError **error)
{
    if (!g_unix_set_fd_nonblocking(*listen_fd, TRUE, error)) {
        g_prefix_error(error, "listening fd %d: ", *listen_fd);
        return FALSE;
    }
    fcntl(*listen_fd, F_SETFD, FD_CLOEXEC);
    add_listener(server, listen_fd, NULL);
    return TRUE;
}

static gboolean set_error_errno(GError **error, const char *what, const char *path)
{
    int saved_errno = errno;
    g_set_error(error, TTRPC_ERROR, TTRPC_CODE_UNAVAILABLE, "%s '%s': %s", what, path,
                g_strerror(saved_errno));
    return FALSE;
}

gboolean ttrpc_server_listen_unix(TtrpcServer *server, const char *path, GError **error)
{
    struct sockaddr_un addr;
    if (!ttrpc_unix_address(path, &addr, error))
        return FALSE;

    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return set_error_errno(error, "socket for", path);
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        set_error_errno(error, "bind", path);
        close(fd);
        return FALSE;
    }
    /* Before listen(), nobody can connect yet, so tightening the mode here leaves no gap. */
    if (chmod(path, 0600) < 0 || listen(fd, SOMAXCONN) < 0) {
        set_error_errno(error, "listen on", path);
        close(fd);
        unlink(path);
        return FALSE;
    }
    add_listener(server, &fd, path);
    return TRUE;
}

/* ---- server ---------------------------------------------------------------------------- */

TtrpcServer *ttrpc_server_new(GMainContext *context)
{
    TtrpcServer *server = g_new0(TtrpcServer, 1);
    server->context =
        context != NULL ? g_main_context_ref(context) : g_main_context_ref_thread_default();
    server->services = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    server->listeners = g_ptr_array_new_with_free_func((GDestroyNotify)listener_free);
    server->connections =
        g_hash_table_new_full(NULL, NULL, (GDestroyNotify)server_connection_free, NULL);
    return server;
}

void ttrpc_server_free(TtrpcServer *server)
{
    if (server == NULL)
        return;
    g_ptr_array_unref(server->listeners);
    g_hash_table_unref(server->connections);
    g_hash_table_unref(server->services);
    g_main_context_unref(server->context);
    g_free(server);
}

void ttrpc_server_register(TtrpcServer *server, const char *service, const TtrpcMethod *methods,
                           gsize n_methods, gpointer user_data)
{
    for (gsize i = 0; i < n_methods; i++)
        g_return_if_fail(methods[i].request_type != NULL);
    Service *entry = g_new0(Service, 1);
    entry->methods = methods;
    entry->n_methods = n_methods;
    entry->user_data = user_data;
    g_hash_table_replace(server->services, g_strdup(service), entry);
}
