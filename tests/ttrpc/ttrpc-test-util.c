/* Shared helpers for the ttrpc tests. */
#include "ttrpc-test-util.h"

#include <errno.h>
#include <gio/gio.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static guint reply_counter;

void response_free(Ttrpc__Response *response)
{
    ttrpc__response__free_unpacked(response, NULL);
}

void request_free(Ttrpc__Request *request)
{
    ttrpc__request__free_unpacked(request, NULL);
}

static void echo(TtrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
    (void)user_data;
    ttrpc_call_return(call, request);
}

/* Keeps a copy of the decoded request for the test to inspect, then answers. */
static void record(TtrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
    TestRig *rig = user_data;
    g_ptr_array_add(rig->recorded, ttrpc_message_copy(request));
    ttrpc_call_return(call, NULL);
}

static void fail_call(TtrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
    (void)request;
    (void)user_data;
    ttrpc_call_return_error(call, TTRPC_CODE_NOT_FOUND, "no such thing '%s'", "x");
}

/* Fails with a GLib error from another domain, as a handler passing on an I/O error does. */
static void fail_gerror(TtrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
    (void)request;
    (void)user_data;
    g_autoptr(GError) error =
        g_error_new(G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "open '%s': No such file", "/x");
    ttrpc_call_return_gerror(call, error);
}

static void empty(TtrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
    (void)request;
    (void)user_data;
    ttrpc_call_return(call, NULL);
}

static void hold(TtrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
    (void)request;
    TestRig *rig = user_data;
    g_ptr_array_add(rig->held, call);
}

/* Replies with the request's metadata value for the key named in the KeyValue's key. */
static void metadata(TtrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
    (void)user_data;
    const Ttrpc__KeyValue *kv = (const void *)request;
    const char *value = ttrpc_call_get_metadata(call, kv->key);
    TEST_KV(reply, kv->key, value != NULL ? value : "(none)");
    ttrpc_call_return(call, &reply.base);
}

/* Replies with a KeyValue above the frame size cap. */
static void big(TtrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
    (void)request;
    (void)user_data;
    g_autofree char *value = g_strnfill(TTRPC_FRAME_MAX_DATA + 1, 'b');
    TEST_KV(reply, "big", value);
    ttrpc_call_return(call, &reply.base);
}

/* Answers, then frees the whole server from inside the handler (a daemon's Shutdown). */
static void free_server(TtrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
    (void)request;
    TestRig *rig = user_data;
    ttrpc_call_return(call, NULL);
    g_clear_pointer(&rig->server, ttrpc_server_free);
}

/* Every method takes a KeyValue (an empty payload is an empty one). */
static const TtrpcMethod test_methods[] = {
    {"Echo", &ttrpc__key_value__descriptor, echo},
    {"Record", &ttrpc__key_value__descriptor, record},
    {"Fail", &ttrpc__key_value__descriptor, fail_call},
    {"FailGError", &ttrpc__key_value__descriptor, fail_gerror},
    {"Empty", &ttrpc__key_value__descriptor, empty},
    {"Hold", &ttrpc__key_value__descriptor, hold},
    {"Metadata", &ttrpc__key_value__descriptor, metadata},
    {"Big", &ttrpc__key_value__descriptor, big},
    {"FreeServer", &ttrpc__key_value__descriptor, free_server},
};

static void on_server_closed(TtrpcServer *server, gpointer user_data)
{
    (void)server;
    TestRig *rig = user_data;
    rig->n_closed++;
}

TestRig *test_rig_new(gboolean with_client)
{
    TestRig *rig = g_new0(TestRig, 1);
    int fds[2];

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    rig->context = g_main_context_new();
    g_main_context_push_thread_default(rig->context);
    rig->held = g_ptr_array_new();
    rig->recorded = g_ptr_array_new_with_free_func((GDestroyNotify)ttrpc_message_free);
    rig->server = ttrpc_server_new(rig->context);
    ttrpc_server_register(rig->server, TEST_SERVICE, test_methods, G_N_ELEMENTS(test_methods), rig);
    ttrpc_server_set_closed_func(rig->server, on_server_closed, rig);
    ttrpc_server_serve_fd(rig->server, &fds[0]);
    ck_assert_int_eq(fds[0], -1);
    rig->raw_fd = -1;
    if (with_client)
        rig->client = ttrpc_client_new(&fds[1], rig->context);
    else
        rig->raw_fd = fds[1];
    reply_counter = 0;
    return rig;
}

TestRig *test_rig_new_client_only(void)
{
    TestRig *rig = g_new0(TestRig, 1);
    int fds[2];

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    rig->context = g_main_context_new();
    g_main_context_push_thread_default(rig->context);
    rig->held = g_ptr_array_new();
    rig->client = ttrpc_client_new(&fds[0], rig->context);
    rig->raw_fd = fds[1];
    reply_counter = 0;
    return rig;
}

void test_rig_free(TestRig *rig)
{
    /* Calls still held belong to the test's handler: complete them (dropped if detached). */
    for (guint i = 0; i < rig->held->len; i++)
        ttrpc_call_return(g_ptr_array_index(rig->held, i), NULL);
    g_ptr_array_unref(rig->held);
    g_clear_pointer(&rig->recorded, g_ptr_array_unref);
    ttrpc_client_free(rig->client);
    ttrpc_server_free(rig->server);
    if (rig->raw_fd >= 0)
        close(rig->raw_fd);
    test_rig_drain(rig);
    g_main_context_pop_thread_default(rig->context);
    g_main_context_unref(rig->context);
    g_free(rig);
}

void test_rig_drain(TestRig *rig)
{
    while (g_main_context_iteration(rig->context, FALSE))
        ;
}

static void write_all(int fd, const guint8 *data, gsize len)
{
    while (len > 0) {
        gssize n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        ck_assert_msg(n > 0, "write to raw peer: %s", g_strerror(errno));
        data += n;
        len -= n;
    }
}

void raw_send(TestRig *rig, guint32 length, guint32 stream_id, guint8 type, const guint8 *data,
              gsize data_len)
{
    guint8 header[TTRPC_FRAME_HEADER_SIZE];
    TtrpcFrameHeader h = {.length = length, .stream_id = stream_id, .type = type};
    ttrpc_frame_header_encode(&h, header);
    write_all(rig->raw_fd, header, sizeof(header));
    if (data_len > 0)
        write_all(rig->raw_fd, data, data_len);
}

void raw_send_draining(TestRig *rig, const guint8 *data, gsize len)
{
    while (len > 0) {
        gssize n = send(rig->raw_fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            data += n;
            len -= n;
        } else {
            ck_assert_msg(errno == EAGAIN || errno == EINTR, "send: %s", g_strerror(errno));
        }
        test_rig_drain(rig);
    }
}

GBytes *test_request_frame(guint32 stream_id, const char *method, const guint8 *payload,
                           gsize payload_len, gint64 timeout_nano)
{
    Ttrpc__Request request = TTRPC__REQUEST__INIT;
    request.service = (char *)TEST_SERVICE;
    request.method = (char *)method;
    request.payload.data = (guint8 *)payload;
    request.payload.len = payload_len;
    request.timeout_nano = timeout_nano;
    gsize len = ttrpc__request__get_packed_size(&request);
    g_autofree guint8 *bytes = g_malloc(len + 1);
    ttrpc__request__pack(&request, bytes);
    GBytes *frame = ttrpc_frame_encode(stream_id, TTRPC_FRAME_REQUEST, bytes, len);
    ck_assert_ptr_nonnull(frame);
    return frame;
}

void raw_send_call(TestRig *rig, guint32 stream_id, const char *method, const guint8 *payload,
                   gsize payload_len, gint64 timeout_nano)
{
    g_autoptr(GBytes) frame =
        test_request_frame(stream_id, method, payload, payload_len, timeout_nano);
    raw_send_draining(rig, g_bytes_get_data(frame, NULL), g_bytes_get_size(frame));
}

/* Reads exactly @len bytes from the raw fd while the server keeps running. FALSE on EOF. */
static gboolean raw_read_exact(TestRig *rig, guint8 *buf, gsize len)
{
    gint64 end = g_get_monotonic_time() + TEST_WAIT_US;
    gsize got = 0;
    while (got < len) {
        ck_assert_msg(g_get_monotonic_time() < end, "timed out reading from the server");
        test_rig_drain(rig);
        struct pollfd pfd = {.fd = rig->raw_fd, .events = POLLIN};
        if (poll(&pfd, 1, 1) <= 0)
            continue;
        gssize n = read(rig->raw_fd, buf + got, len - got);
        if (n == 0)
            return FALSE;
        ck_assert_msg(n > 0 || errno == EINTR, "read from server: %s", g_strerror(errno));
        if (n > 0)
            got += n;
    }
    return TRUE;
}

gboolean raw_read_frame(TestRig *rig, TtrpcFrameHeader *out_header, guint8 **out_data)
{
    guint8 header_bytes[TTRPC_FRAME_HEADER_SIZE];
    if (!raw_read_exact(rig, header_bytes, sizeof(header_bytes)))
        return FALSE;
    ttrpc_frame_header_decode(header_bytes, out_header);
    ck_assert_int_eq(out_header->flags, 0);
    ck_assert_uint_le(out_header->length, TTRPC_FRAME_MAX_DATA);
    *out_data = g_malloc(out_header->length + 1);
    ck_assert(raw_read_exact(rig, *out_data, out_header->length));
    return TRUE;
}

Ttrpc__Request *raw_receive_request(TestRig *rig, guint32 *out_stream_id)
{
    TtrpcFrameHeader header;
    g_autofree guint8 *data = NULL;
    ck_assert_msg(raw_read_frame(rig, &header, &data), "client closed instead of calling");
    ck_assert_int_eq(header.type, TTRPC_FRAME_REQUEST);
    Ttrpc__Request *request = ttrpc__request__unpack(NULL, header.length, data);
    ck_assert_ptr_nonnull(request);
    *out_stream_id = header.stream_id;
    return request;
}

Ttrpc__Response *raw_receive(TestRig *rig, guint32 *out_stream_id, guint32 *out_length)
{
    TtrpcFrameHeader header;
    g_autofree guint8 *data = NULL;
    ck_assert_msg(raw_read_frame(rig, &header, &data), "server closed instead of replying");
    ck_assert_int_eq(header.type, TTRPC_FRAME_RESPONSE);
    Ttrpc__Response *response = ttrpc__response__unpack(NULL, header.length, data);
    ck_assert_ptr_nonnull(response);
    *out_stream_id = header.stream_id;
    *out_length = header.length;
    return response;
}

gboolean raw_wait_eof(TestRig *rig)
{
    guint8 byte;
    return !raw_read_exact(rig, &byte, 1);
}

void test_reply_func(const guint8 *payload, gsize len, const GError *error, gpointer user_data)
{
    TestReply *reply = user_data;
    ck_assert_msg(!reply->done, "reply callback called twice");
    reply->done = TRUE;
    reply->order = ++reply_counter;
    if (error != NULL)
        reply->error = g_error_copy(error);
    else
        reply->payload = g_bytes_new(payload, len);
}

void test_reply_clear(TestReply *reply)
{
    g_clear_pointer(&reply->payload, g_bytes_unref);
    g_clear_error(&reply->error);
    reply->done = FALSE;
}
