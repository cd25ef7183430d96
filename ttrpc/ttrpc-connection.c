/* Non-blocking frame I/O on one fd, driven by one GSource on the caller's GMainContext. */
#include "ttrpc-connection.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib-unix.h>

#include "ttrpc.h"

#define READ_CHUNK (64 * 1024)
/* Reads per dispatch, so one busy peer cannot starve the others on the same context. */
#define READS_PER_DISPATCH 16
/* Above this many queued output bytes we stop reading: a peer that sends calls but never
 * reads the replies gets back-pressure instead of growing our memory without bound. */
#define OUT_QUEUE_HIGH (16u << 20)

typedef struct {
    GSource source;
    TtrpcConnection *connection; /* not a reference: the connection owns the source */
} ConnectionSource;

struct _TtrpcConnection {
    gint ref_count;
    int fd;
    gboolean is_socket; /* send(MSG_NOSIGNAL) there; write() on char devices */
    gboolean closed;
    GSource *source;
    gpointer fd_tag;
    TtrpcFrameDecoder *decoder;
    guint8 *read_buffer;
    GQueue out; /* GBytes, each one whole frame */
    gsize out_offset;
    gsize out_bytes;     /* queued and not yet written */
    GError *write_error; /* reported from the next dispatch, never from inside send */
    TtrpcConnectionCallbacks callbacks;
    gpointer user_data;
};

static void connection_fail(TtrpcConnection *connection, GError *error)
{
    ttrpc_connection_close(connection);
    connection->callbacks.closed(connection, error, connection->user_data);
}

static gssize write_some(TtrpcConnection *connection, const guint8 *buf, gsize len)
{
    if (connection->is_socket)
        return send(connection->fd, buf, len, MSG_NOSIGNAL);
    return write(connection->fd, buf, len);
}

static gboolean may_read(TtrpcConnection *connection)
{
    return connection->out_bytes < OUT_QUEUE_HIGH;
}

static void update_condition(TtrpcConnection *connection)
{
    GIOCondition condition = G_IO_HUP | G_IO_ERR;
    if (may_read(connection))
        condition |= G_IO_IN;
    if (!g_queue_is_empty(&connection->out))
        condition |= G_IO_OUT;
    g_source_modify_unix_fd(connection->source, connection->fd_tag, condition);
}

/* Writes queued frames until the queue is empty or the fd is full. */
static gboolean flush(TtrpcConnection *connection, GError **error)
{
    while (!g_queue_is_empty(&connection->out)) {
        GBytes *head = g_queue_peek_head(&connection->out);
        gsize size;
        const guint8 *data = g_bytes_get_data(head, &size);
        gssize n =
            write_some(connection, data + connection->out_offset, size - connection->out_offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0) {
            int saved_errno = errno;
            g_set_error(error, TTRPC_ERROR, TTRPC_CODE_UNAVAILABLE, "write: %s",
                        g_strerror(saved_errno));
            return FALSE;
        }
        connection->out_offset += n;
        connection->out_bytes -= n;
        if (connection->out_offset == size) {
            g_bytes_unref(g_queue_pop_head(&connection->out));
            connection->out_offset = 0;
        }
    }
    update_condition(connection);
    return TRUE;
}

/* Hands every frame in @data to the callbacks; stops early if one of them closed us. */
static void deliver(TtrpcConnection *connection, const guint8 *data, gsize len)
{
    while (len > 0 && !connection->closed) {
        TtrpcFrameResult result = ttrpc_frame_decoder_feed(connection->decoder, &data, &len);
        const TtrpcFrameHeader *header = ttrpc_frame_decoder_header(connection->decoder);
        if (result == TTRPC_FRAME_COMPLETE)
            connection->callbacks.frame(connection, header,
                                        ttrpc_frame_decoder_data(connection->decoder),
                                        connection->user_data);
        else if (result == TTRPC_FRAME_OVERSIZED)
            connection->callbacks.oversized(connection, header, connection->user_data);
    }
}

/* Reads what is there. FALSE with @error at end of stream or on a read error. */
static gboolean read_some(TtrpcConnection *connection, GError **error)
{
    for (int i = 0; i < READS_PER_DISPATCH && !connection->closed && may_read(connection); i++) {
        gssize n = read(connection->fd, connection->read_buffer, READ_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return TRUE;
        if (n < 0) {
            int saved_errno = errno;
            g_set_error(error, TTRPC_ERROR, TTRPC_CODE_UNAVAILABLE, "read: %s",
                        g_strerror(saved_errno));
            return FALSE;
        }
        if (n == 0) {
            g_set_error_literal(error, TTRPC_ERROR, TTRPC_CODE_UNAVAILABLE,
                                ttrpc_frame_decoder_is_idle(connection->decoder)
                                    ? "connection closed by peer"
                                    : "connection closed in the middle of a frame");
            return FALSE;
        }
        deliver(connection, connection->read_buffer, n);
    }
    return TRUE;
}

static gboolean connection_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
    (void)callback;
    (void)user_data;
    TtrpcConnection *connection = ((ConnectionSource *)source)->connection;
    G_GNUC_UNUSED g_autoptr(TtrpcConnection) hold = ttrpc_connection_ref(connection);
    g_autoptr(GError) error = g_steal_pointer(&connection->write_error);
    GIOCondition revents = g_source_query_unix_fd(source, connection->fd_tag);

    g_source_set_ready_time(source, -1);
    if (error == NULL && (revents & G_IO_OUT))
        flush(connection, &error);
    if (error == NULL && (revents & (G_IO_IN | G_IO_HUP | G_IO_ERR)) && may_read(connection))
        read_some(connection, &error);
    else if (error == NULL && (revents & (G_IO_HUP | G_IO_ERR)))
        g_set_error_literal(&error, TTRPC_ERROR, TTRPC_CODE_UNAVAILABLE,
                            "peer hung up with replies still queued");
    if (error != NULL && !connection->closed)
        connection_fail(connection, error);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs connection_source_funcs = {
    .dispatch = connection_dispatch,
};

TtrpcConnection *ttrpc_connection_new(int *fd, GMainContext *context,
                                      const TtrpcConnectionCallbacks *callbacks, gpointer user_data)
{
    TtrpcConnection *connection = g_new0(TtrpcConnection, 1);
    struct stat st;

    connection->ref_count = 1;
    connection->fd = g_steal_fd(fd);
    connection->is_socket = fstat(connection->fd, &st) == 0 && S_ISSOCK(st.st_mode);
    g_unix_set_fd_nonblocking(connection->fd, TRUE, NULL);
    fcntl(connection->fd, F_SETFD, FD_CLOEXEC);
    connection->decoder = ttrpc_frame_decoder_new();
    connection->read_buffer = g_malloc(READ_CHUNK);
    g_queue_init(&connection->out);
    connection->callbacks = *callbacks;
    connection->user_data = user_data;

    connection->source = g_source_new(&connection_source_funcs, sizeof(ConnectionSource));
    ((ConnectionSource *)connection->source)->connection = connection;
    g_source_set_static_name(connection->source, "ttrpc connection");
    connection->fd_tag =
        g_source_add_unix_fd(connection->source, connection->fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
    g_source_attach(connection->source, context);
    return connection;
}

TtrpcConnection *ttrpc_connection_ref(TtrpcConnection *connection)
{
    connection->ref_count++;
    return connection;
}

void ttrpc_connection_unref(TtrpcConnection *connection)
{
    if (connection == NULL || --connection->ref_count > 0)
        return;
    ttrpc_connection_close(connection);
    ttrpc_frame_decoder_free(connection->decoder);
    g_free(connection->read_buffer);
    g_free(connection);
}

gboolean ttrpc_connection_send(TtrpcConnection *connection, guint32 stream_id, TtrpcFrameType type,
                               const guint8 *data, gsize len)
{
    if (connection->closed)
        return FALSE;
    GBytes *frame = ttrpc_frame_encode(stream_id, type, data, len);
    if (frame == NULL)
        return FALSE;
    return ttrpc_connection_send_frame(connection, frame);
}

gboolean ttrpc_connection_send_frame(TtrpcConnection *connection, GBytes *frame)
{
    if (connection->closed) {
        g_bytes_unref(frame);
        return FALSE;
    }
    gboolean was_idle = g_queue_is_empty(&connection->out);
    g_queue_push_tail(&connection->out, frame);
    connection->out_bytes += g_bytes_get_size(frame);
    if (connection->write_error != NULL)
        return TRUE;
    if (!was_idle)
        update_condition(connection); /* may stop reading, see OUT_QUEUE_HIGH */
    else if (!flush(connection, &connection->write_error))
        g_source_set_ready_time(connection->source, 0);
    return TRUE;
}

void ttrpc_connection_close(TtrpcConnection *connection)
{
    if (connection->closed)
        return;
    /* Best effort, never blocking: a reply sent just before the close (Shutdown) still
     * leaves when the socket has room. */
    if (connection->write_error == NULL && !g_queue_is_empty(&connection->out))
        flush(connection, NULL);
    connection->closed = TRUE;
    g_source_destroy(connection->source);
    g_clear_pointer(&connection->source, g_source_unref);
    g_queue_clear_full(&connection->out, (GDestroyNotify)g_bytes_unref);
    connection->out_bytes = 0;
    g_clear_error(&connection->write_error);
    close(connection->fd);
    connection->fd = -1;
}

gboolean ttrpc_connection_is_closed(TtrpcConnection *connection)
{
    return connection->closed;
}
