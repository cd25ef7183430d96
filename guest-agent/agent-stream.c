/* Process stdio and forwarded connections for the stream calls. Output: the fd is read on the
 * loop into a buffer of at most AGENT_OUTPUT_BUFFER_MAX bytes; queued reads take from it; EOF is
 * reported only once the writer side is closed and the buffer is empty, so nothing written before
 * exit is lost. Input: writes are queued and flushed when the fd is writable. */
#include "agent-stream.h"
#include "agent-error.h"
#include "common-fd.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define TTY_EOF_CHAR '\004'

typedef struct {
    gsize max_bytes;
    AgentReadFunc func;
    gpointer user_data;
} PendingRead;

struct _AgentOutput {
    int fd;
    GMainContext *context;
    GSource *source; /* set while the fd is watched */
    /* The bytes from .start on are not handed out yet. Reads take from the front by moving
     * .start, so handing out a part costs no copy of the rest; see output_make_room(). */
    GByteArray *buffer;
    gsize start;
    gboolean eof;  /* the writer side is closed: the buffer holds the last bytes */
    guint64 total; /* bytes read from the fd so far */
    GQueue reads;  /* PendingRead */
};

static void output_watch(AgentOutput *output);

static gsize output_buffered(AgentOutput *output)
{
    return output->buffer->len - output->start;
}

/* Drops @n handed-out bytes from the front. */
static void output_consume(AgentOutput *output, gsize n)
{
    output->start += n;
    if (output->start == output->buffer->len) {
        g_byte_array_set_size(output->buffer, 0);
        output->start = 0;
    }
}

/* Moves the buffered bytes to the front once that costs no more than the bytes handed out
 * since the last move: each byte is moved at most once on average, and the array stays below
 * twice the bound. */
static void output_make_room(AgentOutput *output)
{
    gsize buffered = output_buffered(output);

    if (output->start == 0 || output->start < buffered)
        return;
    memmove(output->buffer->data, output->buffer->data + output->start, buffered);
    g_byte_array_set_size(output->buffer, buffered);
    output->start = 0;
}

/* Hands buffered bytes (or EOF) to the queued reads, oldest first. */
static void output_complete_reads(AgentOutput *output)
{
    while (!g_queue_is_empty(&output->reads) && (output_buffered(output) > 0 || output->eof)) {
        g_autofree PendingRead *read = g_queue_pop_head(&output->reads);
        gsize n = MIN(read->max_bytes, output_buffered(output));
        gboolean last = output->eof && n == output_buffered(output);

        if (read->func(output->buffer->data + output->start, n, last, read->user_data))
            output_consume(output, n);
    }
    output_watch(output);
}

static void output_unwatch(AgentOutput *output)
{
    if (output->source == NULL)
        return;
    g_source_destroy(output->source);
    g_clear_pointer(&output->source, g_source_unref);
}

static void output_set_eof(AgentOutput *output)
{
    output_unwatch(output);
    common_fd_close(&output->fd);
    output->fd = -1;
    output->eof = TRUE;
}

/* Reads what the fd has, up to the bound, straight into the buffer. */
static void output_fill(AgentOutput *output)
{
    while (output_buffered(output) < AGENT_OUTPUT_BUFFER_MAX) {
        gsize room = AGENT_OUTPUT_BUFFER_MAX - output_buffered(output);
        gsize len;
        ssize_t n;

        output_make_room(output);
        len = output->buffer->len;
        g_byte_array_set_size(output->buffer, len + room);
        n = read(output->fd, output->buffer->data + len, room);
        g_byte_array_set_size(output->buffer, len + MAX(n, 0));
        if (n > 0) {
            output->total += (guint64)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        /* 0 is the end of a pipe; a pty master reports EIO once the last slave fd closed. */
        if (n < 0 && errno != EIO)
            g_debug("read stdio fd %d: %s", output->fd, g_strerror(errno));
        output_set_eof(output);
        break;
    }
}

static gboolean output_on_readable(gint fd, GIOCondition condition, gpointer user_data)
{
    AgentOutput *output = user_data;

    (void)fd;
    (void)condition;
    output_fill(output);
    if (output->source != NULL && output_buffered(output) >= AGENT_OUTPUT_BUFFER_MAX)
        output_unwatch(output);
    output_complete_reads(output);
    return G_SOURCE_CONTINUE;
}

/* Watches the fd unless it is at EOF or the buffer is full. */
static void output_watch(AgentOutput *output)
{
    if (output->source != NULL || output->eof || output_buffered(output) >= AGENT_OUTPUT_BUFFER_MAX)
        return;
    output->source = g_unix_fd_source_new(output->fd, G_IO_IN);
    g_source_set_callback(output->source, G_SOURCE_FUNC(output_on_readable), output, NULL);
    g_source_attach(output->source, output->context);
}

AgentOutput *agent_output_new(int *fd, GMainContext *context)
{
    AgentOutput *output = g_new0(AgentOutput, 1);

    output->fd = g_steal_fd(fd);
    output->context = context;
    output->buffer = g_byte_array_new();
    g_queue_init(&output->reads);
    if (output->fd < 0) {
        output->eof = TRUE;
        return output;
    }
    g_unix_set_fd_nonblocking(output->fd, TRUE, NULL);
    /* A pipe as large as our buffer lets a fast writer go on while we send, and lets one read
     * take a whole reply's worth. A pty or a socket refuses, and keeps its size. */
    (void)fcntl(output->fd, F_SETPIPE_SZ, AGENT_OUTPUT_BUFFER_MAX);
    output_watch(output);
    return output;
}

void agent_output_read(AgentOutput *output, gsize max_bytes, AgentReadFunc func, gpointer user_data)
{
    PendingRead *read = g_new0(PendingRead, 1);

    read->max_bytes = max_bytes;
    read->func = func;
    read->user_data = user_data;
    g_queue_push_tail(&output->reads, read);
    output_complete_reads(output);
}

guint64 agent_output_get_produced(AgentOutput *output)
{
    int unread = 0;

    if (output->fd >= 0 && ioctl(output->fd, FIONREAD, &unread) < 0)
        unread = 0;
    return output->total + (guint64)MAX(unread, 0);
}

gboolean agent_output_is_done(AgentOutput *output)
{
    return output->eof && output_buffered(output) == 0;
}

void agent_output_free(AgentOutput *output)
{
    if (output == NULL)
        return;
    output_set_eof(output);
    g_byte_array_set_size(output->buffer, 0);
    output->start = 0;
    output_complete_reads(output);
    g_byte_array_unref(output->buffer);
    g_free(output);
}

typedef struct {
    GBytes *data;
    gsize done;
    AgentWriteFunc func;
    gpointer user_data;
} PendingWrite;

struct _AgentInput {
    int fd;
    AgentInputKind kind;
    gboolean closing; /* close once the queue is flushed */
    GMainContext *context;
    GSource *source; /* set while waiting for the fd to become writable */
    GQueue writes;   /* PendingWrite */
};

/* How errors name the input. */
static const char *input_name(AgentInput *input)
{
    return input->kind == AGENT_INPUT_SOCKET ? "connection" : "stdin";
}

static void pending_write_finish(PendingWrite *write, const GError *error)
{
    write->func(write->done, error, write->user_data);
    g_bytes_unref(write->data);
    g_free(write);
}

static void input_fail_all(AgentInput *input, const GError *error)
{
    PendingWrite *write;

    while ((write = g_queue_pop_head(&input->writes)) != NULL)
        pending_write_finish(write, error);
}

static void input_unwatch(AgentInput *input)
{
    if (input->source == NULL)
        return;
    g_source_destroy(input->source);
    g_clear_pointer(&input->source, g_source_unref);
}

static void input_close_fd(AgentInput *input)
{
    input_unwatch(input);
    if (input->fd < 0)
        return;
    /* A terminal has no "end of pipe": its reader sees end-of-file when the line discipline
     * gets the EOF character at the start of a line. */
    if (input->kind == AGENT_INPUT_TTY && write(input->fd, &(char){TTY_EOF_CHAR}, 1) < 0)
        g_debug("write EOF to tty: %s", g_strerror(errno));
    /* Closing this fd alone ends nothing while the socket has others (the output's): the peer
     * sees end-of-file only once the write side is shut down. */
    if (input->kind == AGENT_INPUT_SOCKET && shutdown(input->fd, SHUT_WR) < 0)
        g_debug("shutdown connection: %s", g_strerror(errno));
    close(input->fd);
    input->fd = -1;
}

static gboolean input_on_writable(gint fd, GIOCondition condition, gpointer user_data);

/* Writes queued data until the fd would block, then waits for it to be writable. */
static void input_flush(AgentInput *input)
{
    PendingWrite *write_req;

    while ((write_req = g_queue_peek_head(&input->writes)) != NULL) {
        gsize len = 0;
        const guint8 *data = g_bytes_get_data(write_req->data, &len);
        ssize_t n = len == write_req->done
                        ? 0
                        : write(input->fd, data + write_req->done, len - write_req->done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            if (input->source == NULL) {
                input->source = g_unix_fd_source_new(input->fd, G_IO_OUT);
                g_source_set_callback(input->source, G_SOURCE_FUNC(input_on_writable), input, NULL);
                g_source_attach(input->source, input->context);
            }
            return;
        }
        if (n < 0) {
            g_autoptr(GError) error = g_error_new(AGENT_ERROR, AGENT_ERROR_STATE, "write %s: %s",
                                                  input_name(input), g_strerror(errno));
            input_fail_all(input, error);
            input_close_fd(input);
            return;
        }
        write_req->done += n;
        if (write_req->done == len)
            pending_write_finish(g_queue_pop_head(&input->writes), NULL);
    }
    input_unwatch(input);
    if (input->closing)
        input_close_fd(input);
}

static gboolean input_on_writable(gint fd, GIOCondition condition, gpointer user_data)
{
    (void)fd;
    (void)condition;
    input_flush(user_data);
    return G_SOURCE_CONTINUE;
}

AgentInput *agent_input_new(int *fd, AgentInputKind kind, GMainContext *context)
{
    AgentInput *input = g_new0(AgentInput, 1);

    input->fd = g_steal_fd(fd);
    input->kind = kind;
    input->context = context;
    g_queue_init(&input->writes);
    if (input->fd >= 0)
        g_unix_set_fd_nonblocking(input->fd, TRUE, NULL);
    return input;
}

void agent_input_write(AgentInput *input, const guint8 *data, gsize len, AgentWriteFunc func,
                       gpointer user_data)
{
    PendingWrite *write_req;

    if (input->fd < 0 || input->closing) {
        g_autoptr(GError) error =
            g_error_new(AGENT_ERROR, AGENT_ERROR_STATE, "%s is closed", input_name(input));
        func(0, error, user_data);
        return;
    }
    write_req = g_new0(PendingWrite, 1);
    write_req->data = g_bytes_new(data, len);
    write_req->func = func;
    write_req->user_data = user_data;
    g_queue_push_tail(&input->writes, write_req);
    if (g_queue_get_length(&input->writes) == 1)
        input_flush(input);
}

void agent_input_close(AgentInput *input)
{
    input->closing = TRUE;
    if (g_queue_is_empty(&input->writes))
        input_close_fd(input);
}

void agent_input_free(AgentInput *input)
{
    g_autoptr(GError) error = NULL;

    if (input == NULL)
        return;
    error = g_error_new(AGENT_ERROR, AGENT_ERROR_STATE, "%s is gone", input_name(input));
    input_fail_all(input, error);
    input_close_fd(input);
    g_free(input);
}
