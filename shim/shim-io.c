/* The IO relay. Output: ReadStdout/ReadStderr long polls of up to READ_MAX bytes, READS_IN_FLIGHT
 * of them at a time, so that the agent always has a read queued and never waits a round trip
 * for the next one. The agent completes a stream's reads in the order they came, over the one
 * connection, so their replies arrive in stream order. A new read goes out only while what the
 * stream holds (not yet in the fifo) and what the reads in flight may bring stay within
 * READS_IN_FLIGHT * READ_MAX: a slow reader slows the container rather than growing our
 * memory. Input: one WriteStdin at a time, likewise. */
#include "shim-io.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <string.h>
#include <unistd.h>

#include "agent.pb-c.h"
#include "common-fd.h"
#include "shim-agent-reply.h"
#include "shim-error.h"

/* ReadStream.max_bytes at its limit (proto/agent.proto): few round trips per byte. */
#define READ_MAX SHIM_AGENT_READ_MAX /* what shim_agent_reply_check() lets through */
#define READS_IN_FLIGHT 2
#define STDIN_CHUNK (64 * 1024)
/* containerd opens its end of an output fifo in the background, blocking until a writer comes:
 * a writer that opened and closed before it did would take the bytes with it (seen in the soak:
 * an exec's `echo` printed nothing, status 0). So the output's end is opened write-only, which
 * succeeds once a reader is there, retried until then; what comes meanwhile waits. */
#define READER_POLL_MS 10
#define READER_WAIT_US (60 * G_USEC_PER_SEC)

typedef struct {
    ShimIo *io;
    int fd;     /* -1: output discarded, or (path set) its reader not there yet */
    char *path; /* the fifo, while its reader is awaited */
    guint reader_watch;
    gint64 reader_deadline;
    const char *method;
    gboolean eof;        /* no more data from the agent */
    guint in_flight;     /* reads sent and not answered */
    GByteArray *pending; /* bytes from .written on are not in the fifo yet */
    gsize written;
    guint64 delivered; /* bytes written into the fifo or discarded, since the start */
    guint64 expected;  /* shim_io_when_delivered() */
    guint out_watch;
} OutStream;

struct _ShimIo {
    gint refs;
    gboolean closed;
    ShimAgent *agent;
    char *container_id;
    char *exec_id;
    ShimIoFunc drained;
    gpointer drained_data;
    ShimIoFunc on_delivered; /* shim_io_when_delivered() */
    gpointer on_delivered_data;
    OutStream out, err;
    int in_fd, in_hold;
    guint in_watch;
    gboolean in_writing;
};

static void io_unref(ShimIo *io)
{
    if (--io->refs > 0)
        return;
    g_free(io->container_id);
    g_free(io->exec_id);
    g_free(io);
}

static int open_fifo(const char *path, int flags, GError **error)
{
    if (!g_path_is_absolute(path)) {
        g_set_error(error, SHIM_ERROR, SHIM_ERROR_INVALID,
                    "stdio '%s': only absolute fifo paths are supported", path);
        return -1;
    }
    int fd = open(path, flags | O_NONBLOCK | O_CLOEXEC);
    /* ENXIO: a write-only end with no reader yet (open_output() waits for one). */
    if (fd < 0)
        g_set_error(error, SHIM_ERROR, errno == ENXIO ? SHIM_ERROR_UNAVAILABLE : SHIM_ERROR_INVALID,
                    "open '%s': %s", path, g_strerror(errno));
    return fd;
}

static void drain(OutStream *s);

static gboolean reader_check(gpointer user_data)
{
    OutStream *s = user_data;
    int fd = open(s->path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);

    if (fd < 0 && errno == ENXIO && g_get_monotonic_time() < s->reader_deadline)
        return G_SOURCE_CONTINUE;
    if (fd < 0)
        g_warning("%s/%s: %s: no reader of '%s' (%s): its output is discarded", s->io->container_id,
                  s->io->exec_id, s->method, s->path, g_strerror(errno));
    s->fd = fd;
    s->reader_watch = 0;
    g_clear_pointer(&s->path, g_free);
    /* Before shim_io_start() nothing waits; it starts the reads itself. */
    if (s->io->agent)
        drain(s);
    return G_SOURCE_REMOVE;
}

/* The output fifo at @path, for writing, once it has its reader (READER_WAIT_US). */
static gboolean open_output(OutStream *s, const char *path, GError **error)
{
    if (!path || !*path)
        return TRUE;
    s->fd = open_fifo(path, O_WRONLY, error);
    if (s->fd >= 0 || !g_error_matches(*error, SHIM_ERROR, SHIM_ERROR_UNAVAILABLE))
        return s->fd >= 0;
    g_clear_error(error);
    s->path = g_strdup(path);
    s->reader_deadline = g_get_monotonic_time() + READER_WAIT_US;
    s->reader_watch = g_timeout_add(READER_POLL_MS, reader_check, s);
    return TRUE;
}

ShimIo *shim_io_open(const char *stdin_path, const char *stdout_path, const char *stderr_path,
                     GError **error)
{
    g_autoptr(ShimIo) io = g_new0(ShimIo, 1);
    io->refs = 1;
    io->out =
        (OutStream){.io = io, .fd = -1, .method = "ReadStdout", .pending = g_byte_array_new()};
    io->err =
        (OutStream){.io = io, .fd = -1, .method = "ReadStderr", .pending = g_byte_array_new()};
    io->in_fd = io->in_hold = -1;

    if (!open_output(&io->out, stdout_path, error) || !open_output(&io->err, stderr_path, error))
        return NULL;
    if (stdin_path && *stdin_path) {
        /* The read end first: then our own write end opens without blocking. */
        if ((io->in_fd = open_fifo(stdin_path, O_RDONLY, error)) < 0 ||
            (io->in_hold = open_fifo(stdin_path, O_WRONLY, error)) < 0)
            return NULL;
    }
    return g_steal_pointer(&io);
}

gboolean shim_io_has_stdin(ShimIo *io)
{
    return io->in_fd >= 0;
}

static gsize stream_pending(OutStream *s)
{
    return s->pending->len - s->written;
}

gboolean shim_io_is_drained(ShimIo *io)
{
    return io->out.eof && stream_pending(&io->out) == 0 && io->err.eof &&
           stream_pending(&io->err) == 0;
}

static void check_drained(ShimIo *io)
{
    if (io->drained && shim_io_is_drained(io)) {
        ShimIoFunc drained = io->drained;
        io->drained = NULL;
        drained(io->drained_data);
    }
}

static void check_delivered(ShimIo *io)
{
    if (io->on_delivered && io->out.delivered >= io->out.expected &&
        io->err.delivered >= io->err.expected) {
        ShimIoFunc func = io->on_delivered;
        io->on_delivered = NULL;
        func(io->on_delivered_data);
    }
}

void shim_io_when_delivered(ShimIo *io, guint64 out_bytes, guint64 err_bytes, ShimIoFunc func,
                            gpointer user_data)
{
    io->out.expected = out_bytes;
    io->err.expected = err_bytes;
    io->on_delivered = func;
    io->on_delivered_data = user_data;
    check_delivered(io);
}

/* ---- output ------------------------------------------------------------------------------- */

static void read_more(OutStream *s);

/* Writes as much of @data as the fifo takes now; returns how much that was (all of it when the
 * output is discarded or its fifo broke). */
static gsize write_some(OutStream *s, const guint8 *data, gsize len)
{
    gsize done = 0;
    while (done < len && s->fd >= 0) {
        ssize_t n = write(s->fd, data + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n < 0) {
            g_debug("write %s output: %s", s->method, g_strerror(errno));
            done = len;
            break;
        }
        done += (gsize)n;
    }
    if (s->fd < 0 && !s->path)
        done = len;
    s->delivered += done;
    return done;
}

/* Writes pending bytes until none are left (TRUE) or the fifo is full (FALSE). Written bytes
 * are skipped, not moved: the fifo takes less at a time than a reply brings. */
static gboolean flush(OutStream *s)
{
    s->written += write_some(s, s->pending->data + s->written, stream_pending(s));
    if (stream_pending(s) > 0)
        return FALSE;
    if (s->pending->len > 0) {
        /* Emptied: what a burst made it grow to goes back, not kept for the process's life. */
        g_byte_array_unref(s->pending);
        s->pending = g_byte_array_new();
        s->written = 0;
    }
    return TRUE;
}

static void after_flush(OutStream *s)
{
    check_delivered(s->io);
    if (s->eof)
        check_drained(s->io);
    else
        read_more(s);
}

static gboolean writable_cb(int fd, GIOCondition cond, gpointer user_data)
{
    OutStream *s = user_data;
    (void)fd;
    (void)cond;
    if (!flush(s))
        return G_SOURCE_CONTINUE;
    s->out_watch = 0;
    after_flush(s);
    return G_SOURCE_REMOVE;
}

/* Writes what the fifo takes; the rest waits for room (or for the reader), and reading goes on
 * once all is out. */
static void drain(OutStream *s)
{
    if (!flush(s)) {
        if (s->out_watch == 0 && s->fd >= 0)
            s->out_watch = g_unix_fd_add(s->fd, G_IO_OUT, writable_cb, s);
        return;
    }
    g_clear_handle_id(&s->out_watch, g_source_remove);
    after_flush(s);
}

static void read_done(const ProtobufCMessage *msg, const GError *error, gpointer user_data)
{
    OutStream *s = user_data;
    ShimIo *io = s->io;
    const Secure__Agent__V1__ReadStreamResponse *reply = (const void *)msg;

    s->in_flight--;
    /* After the end, the other read in flight only confirms it. */
    if (io->closed || s->eof) {
        io_unref(io);
        return;
    }
    if (error) {
        /* The agent is gone or refused: nothing more will come on this stream. */
        g_debug("%s %s/%s: %s", s->method, io->container_id, io->exec_id, error->message);
        s->eof = TRUE;
    } else {
        /* Straight to the fifo when nothing waits before it; only the rest is kept. */
        gsize taken = stream_pending(s) == 0 ? write_some(s, reply->data.data, reply->data.len) : 0;
        g_byte_array_append(s->pending, reply->data.data + taken, (guint)(reply->data.len - taken));
        s->eof = reply->eof;
    }
    if (!io->closed)
        drain(s);
    io_unref(io);
}

/* Sends reads while the bound allows (see the top of this file). */
static void read_more(OutStream *s)
{
    Secure__Agent__V1__ReadStreamRequest req = SECURE__AGENT__V1__READ_STREAM_REQUEST__INIT;
    req.container_id = s->io->container_id;
    req.exec_id = s->io->exec_id;
    req.max_bytes = READ_MAX;
    while (stream_pending(s) + (s->in_flight + 1) * (gsize)READ_MAX <=
           READS_IN_FLIGHT * (gsize)READ_MAX) {
        s->in_flight++;
        s->io->refs++;
        shim_agent_call(s->io->agent, s->method, &req.base,
                        &secure__agent__v1__read_stream_response__descriptor, SHIM_AGENT_LONG_POLL,
                        read_done, s);
    }
}

/* ---- input -------------------------------------------------------------------------------- */

static gboolean stdin_readable(int fd, GIOCondition cond, gpointer user_data);

static void close_stdin_done(const ProtobufCMessage *msg, const GError *error, gpointer user_data)
{
    (void)msg;
    if (error)
        g_debug("CloseStdin: %s", error->message);
    io_unref(user_data);
}

static void stdin_eof(ShimIo *io)
{
    Secure__Agent__V1__CloseStdinRequest req = SECURE__AGENT__V1__CLOSE_STDIN_REQUEST__INIT;
    g_clear_handle_id(&io->in_watch, g_source_remove);
    common_fd_close(&io->in_fd);
    req.container_id = io->container_id;
    req.exec_id = io->exec_id;
    io->refs++;
    shim_agent_call(io->agent, "CloseStdin", &req.base, &google__protobuf__empty__descriptor,
                    SHIM_AGENT_DEADLINE, close_stdin_done, io);
}

static void write_stdin_done(const ProtobufCMessage *msg, const GError *error, gpointer user_data)
{
    ShimIo *io = user_data;
    (void)msg;
    if (io->closed) {
        io_unref(io);
        return;
    }
    io_unref(io);
    io->in_writing = FALSE;
    if (error) {
        /* The process no longer reads its stdin: drop further input. */
        g_debug("WriteStdin %s/%s: %s", io->container_id, io->exec_id, error->message);
        common_fd_close(&io->in_fd);
        return;
    }
    if (io->in_fd >= 0)
        io->in_watch = g_unix_fd_add(io->in_fd, G_IO_IN | G_IO_HUP, stdin_readable, io);
}

static gboolean stdin_readable(int fd, GIOCondition cond, gpointer user_data)
{
    ShimIo *io = user_data;
    guint8 buf[STDIN_CHUNK];
    (void)cond;
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return G_SOURCE_CONTINUE;
    if (n <= 0) {
        /* Every writer is gone, ours included (CloseIO came): the process gets EOF. */
        io->in_watch = 0;
        stdin_eof(io);
        return G_SOURCE_REMOVE;
    }
    Secure__Agent__V1__WriteStdinRequest req = SECURE__AGENT__V1__WRITE_STDIN_REQUEST__INIT;
    req.container_id = io->container_id;
    req.exec_id = io->exec_id;
    req.data.data = buf;
    req.data.len = (gsize)n;
    io->in_writing = TRUE;
    io->in_watch = 0;
    io->refs++;
    shim_agent_call(io->agent, "WriteStdin", &req.base,
                    &secure__agent__v1__write_stdin_response__descriptor, SHIM_AGENT_DEADLINE,
                    write_stdin_done, io);
    return G_SOURCE_REMOVE;
}

void shim_io_close_stdin(ShimIo *io)
{
    common_fd_close(&io->in_hold);
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

void shim_io_start(ShimIo *io, ShimAgent *agent, const char *container_id, const char *exec_id,
                   ShimIoFunc drained, gpointer user_data)
{
    io->agent = agent;
    io->container_id = g_strdup(container_id);
    io->exec_id = g_strdup(exec_id);
    io->drained = drained;
    io->drained_data = user_data;
    read_more(&io->out);
    read_more(&io->err);
    if (io->in_fd >= 0)
        io->in_watch = g_unix_fd_add(io->in_fd, G_IO_IN | G_IO_HUP, stdin_readable, io);
}

static void out_close(OutStream *s)
{
    g_clear_handle_id(&s->out_watch, g_source_remove);
    g_clear_handle_id(&s->reader_watch, g_source_remove);
    g_clear_pointer(&s->path, g_free);
    if (s->fd >= 0)
        flush(s);
    common_fd_close(&s->fd);
    g_byte_array_unref(s->pending);
}

void shim_io_free(ShimIo *io)
{
    if (!io)
        return;
    io->closed = TRUE;
    io->drained = NULL;
    io->on_delivered = NULL;
    out_close(&io->out);
    out_close(&io->err);
    g_clear_handle_id(&io->in_watch, g_source_remove);
    common_fd_close(&io->in_fd);
    common_fd_close(&io->in_hold);
    io_unref(io);
}
