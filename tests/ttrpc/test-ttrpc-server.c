/* The server against a raw peer that writes frames by hand: what goes on the wire. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <sys/socket.h>

#include <glib-unix.h>

#include "ttrpc-test-util.h"

static void send_call(TestRig *rig, guint32 stream_id, const char *method, gint64 timeout_nano)
{
    raw_send_call(rig, stream_id, method, NULL, 0, timeout_nano);
}

/* Reads one Response and checks its stream id and status code (OK: no status field at all). */
static Ttrpc__Response *expect_response(TestRig *rig, guint32 stream_id, TtrpcCode code)
{
    guint32 got_id, length;
    Ttrpc__Response *response = raw_receive(rig, &got_id, &length);
    ck_assert_uint_eq(got_id, stream_id);
    if (code == TTRPC_CODE_OK) {
        ck_assert_ptr_null(response->status);
    } else {
        ck_assert_ptr_nonnull(response->status);
        ck_assert_int_eq(response->status->code, code);
        ck_assert_uint_eq(response->payload.len, 0);
    }
    return response;
}

/* As above, for a response whose status code is all that matters. */
static void expect_code(TestRig *rig, guint32 stream_id, TtrpcCode code)
{
    response_free(expect_response(rig, stream_id, code));
}

/* The connection still answers: proves nothing was left half-read. */
static void expect_still_serving(TestRig *rig, guint32 stream_id)
{
    send_call(rig, stream_id, "Empty", 0);
    expect_code(rig, stream_id, TTRPC_CODE_OK);
}

START_TEST(test_empty_reply_is_zero_bytes)
{
    TestRig *rig = test_rig_new(FALSE);
    guint32 id, length;
    send_call(rig, 1, "Empty", 0);
    g_autoptr(Ttrpc__Response) response = raw_receive(rig, &id, &length);
    ck_assert_uint_eq(id, 1);
    ck_assert_uint_eq(length, 0);
    ck_assert_ptr_null(response->status);
    test_rig_free(rig);
}
END_TEST

START_TEST(test_success_has_no_status)
{
    TestRig *rig = test_rig_new(FALSE);
    TEST_KV(kv, "a", "b");
    guint8 payload[16];
    gsize len = ttrpc__key_value__pack(&kv, payload);
    raw_send_call(rig, 3, "Echo", payload, len, 0);
    g_autoptr(Ttrpc__Response) response = expect_response(rig, 3, TTRPC_CODE_OK);
    ck_assert_uint_eq(response->payload.len, len);
    ck_assert_mem_eq(response->payload.data, payload, len);
    test_rig_free(rig);
}
END_TEST

START_TEST(test_even_stream_id)
{
    TestRig *rig = test_rig_new(FALSE);
    send_call(rig, 2, "Empty", 0);
    g_autoptr(Ttrpc__Response) response = expect_response(rig, 2, TTRPC_CODE_INVALID_ARGUMENT);
    ck_assert_str_eq(response->status->message,
                     "StreamID must be odd for client initiated streams");
    expect_still_serving(rig, 5);
    test_rig_free(rig);
}
END_TEST

START_TEST(test_unknown_method)
{
    TestRig *rig = test_rig_new(FALSE);
    send_call(rig, 1, "Missing", 0);
    g_autoptr(Ttrpc__Response) response = expect_response(rig, 1, TTRPC_CODE_UNIMPLEMENTED);
    ck_assert_str_eq(response->status->message, "method Missing");
    test_rig_free(rig);
}
END_TEST

/* Sends each of @cases on its own stream, as a payload calling @method or, with @method NULL, as
 * a whole Request; each must be answered InvalidArgument with a message starting @prefix, and
 * the connection must go on serving. */
static void expect_each_invalid(TestRig *rig, const char *method, const guint8 *const *cases,
                                const gsize *lengths, guint n_cases, const char *prefix)
{
    for (guint i = 0; i < n_cases; i++) {
        if (method != NULL)
            raw_send_call(rig, 2 * i + 1, method, cases[i], lengths[i], 0);
        else
            raw_send(rig, lengths[i], 2 * i + 1, TTRPC_FRAME_REQUEST, cases[i], lengths[i]);
        g_autoptr(Ttrpc__Response) response =
            expect_response(rig, 2 * i + 1, TTRPC_CODE_INVALID_ARGUMENT);
        ck_assert_msg(g_str_has_prefix(response->status->message, prefix), "%s",
                      response->status->message);
    }
    expect_still_serving(rig, 2 * n_cases + 1);
}

START_TEST(test_malformed_request)
{
    TestRig *rig = test_rig_new(FALSE);
    /* Field 1 claims 100 bytes that are not there; then a field with wire type 7. */
    const guint8 *const cases[] = {(const guint8 *)"\x0a\x64"
                                                   "abc",
                                   (const guint8 *)"\x0f\x01"};
    const gsize lengths[] = {5, 2};
    expect_each_invalid(rig, NULL, cases, lengths, G_N_ELEMENTS(cases), "unmarshal request error");
    test_rig_free(rig);
}
END_TEST

/* A payload that is not the method's request type is answered by the server itself: the
 * handler never runs. */
START_TEST(test_undecodable_payload)
{
    TestRig *rig = test_rig_new(FALSE);
    /* Field 1 claims 100 bytes that are not there; field 1 (a string) as a varint; wire type 7. */
    const guint8 *const cases[] = {(const guint8 *)"\x0a\x64"
                                                   "abc",
                                   (const guint8 *)"\x08\x05", (const guint8 *)"\x0f\x01"};
    const gsize lengths[] = {5, 2, 2};
    expect_each_invalid(rig, "Record", cases, lengths, G_N_ELEMENTS(cases),
                        "Record: not a valid ttrpc.KeyValue");
    ck_assert_uint_eq(rig->recorded->len, 0);
    test_rig_free(rig);
}
END_TEST

/* Responses and unknown frame types (streaming Data in newer ttrpc) get no answer. */
START_TEST(test_non_request_ignored)
{
    TestRig *rig = test_rig_new(FALSE);
    raw_send(rig, 3, 1, TTRPC_FRAME_RESPONSE, (const guint8 *)"\x12\x01x", 3);
    raw_send(rig, 0, 1, 3, NULL, 0);
    raw_send(rig, 2, 3, 0x7f, (const guint8 *)"zz", 2);
    expect_still_serving(rig, 5); /* the first answer is the one to stream 5 */
    test_rig_free(rig);
}
END_TEST

/* Over the cap: ResourceExhausted on that stream as soon as the header is in; the body is
 * skipped and the next frame is served. */
START_TEST(test_oversized_request)
{
    TestRig *rig = test_rig_new(FALSE);
    raw_send(rig, TTRPC_FRAME_MAX_DATA + 1, 9, TTRPC_FRAME_REQUEST, NULL, 0);
    {
        g_autoptr(Ttrpc__Response) response =
            expect_response(rig, 9, TTRPC_CODE_RESOURCE_EXHAUSTED);
        ck_assert_ptr_nonnull(strstr(response->status->message, "4194305"));
    }
    g_autofree guint8 *junk = g_malloc0(TTRPC_FRAME_MAX_DATA + 1);
    raw_send_draining(rig, junk, TTRPC_FRAME_MAX_DATA + 1);
    expect_still_serving(rig, 11);
    test_rig_free(rig);
}
END_TEST

START_TEST(test_max_size_request_is_served)
{
    TestRig *rig = test_rig_new(FALSE);
    /* Envelope: service and method fields, then the payload's tag and 4-byte length. */
    g_autoptr(GBytes) empty = test_request_frame(1, "Empty", NULL, 0, 0);
    gsize overhead = g_bytes_get_size(empty) - TTRPC_FRAME_HEADER_SIZE + 1 + 4;
    gsize payload_len = TTRPC_FRAME_MAX_DATA - overhead;
    /* A KeyValue whose key fills the payload: tag, 4-byte length, the key. */
    g_autofree char *key = g_strnfill(payload_len - 5, 'k');
    TEST_KV(kv, key, "");
    g_autofree guint8 *payload = g_malloc(payload_len);
    ck_assert_uint_eq(ttrpc__key_value__pack(&kv, payload), payload_len);
    g_autoptr(GBytes) frame = test_request_frame(1, "Empty", payload, payload_len, 0);
    ck_assert_uint_eq(g_bytes_get_size(frame), TTRPC_FRAME_HEADER_SIZE + TTRPC_FRAME_MAX_DATA);
    raw_send_draining(rig, g_bytes_get_data(frame, NULL), g_bytes_get_size(frame));
    expect_code(rig, 1, TTRPC_CODE_OK);
    test_rig_free(rig);
}
END_TEST

/* The server enforces timeout_nano itself: DeadlineExceeded when it passes, and the handler's
 * later completion is dropped (the next frame is the next call's answer). */
START_TEST(test_server_deadline)
{
    TestRig *rig = test_rig_new(FALSE);
    send_call(rig, 1, "Hold", 30 * 1000 * 1000);
    expect_code(rig, 1, TTRPC_CODE_DEADLINE_EXCEEDED);
    ck_assert_uint_eq(rig->held->len, 1);
    TtrpcCall *call = g_ptr_array_index(rig->held, 0);
    ck_assert(ttrpc_call_is_cancelled(call));
    ttrpc_call_return_error(call, TTRPC_CODE_INTERNAL, "too late");
    g_ptr_array_set_size(rig->held, 0);
    expect_still_serving(rig, 3);

    send_call(rig, 5, "Hold", -1); /* already expired */
    expect_code(rig, 5, TTRPC_CODE_DEADLINE_EXCEEDED);
    ck_assert_uint_eq(rig->held->len, 0);
    test_rig_free(rig);
}
END_TEST

/* A call with no deadline stays pending while later calls on the same connection are answered,
 * like containerd's Wait during State and Kill. */
START_TEST(test_pending_call_does_not_block)
{
    TestRig *rig = test_rig_new(FALSE);
    send_call(rig, 1, "Hold", 0);
    for (guint32 id = 3; id < 40; id += 2)
        expect_still_serving(rig, id);
    ck_assert_uint_eq(rig->held->len, 1);
    TtrpcCall *call = g_ptr_array_index(rig->held, 0);
    ck_assert(!ttrpc_call_is_cancelled(call));
    ck_assert_int_eq(ttrpc_call_get_deadline(call), 0);
    ttrpc_call_return_error(call, TTRPC_CODE_NOT_FOUND, "process %d gone", 42);
    g_ptr_array_set_size(rig->held, 0);
    g_autoptr(Ttrpc__Response) response = expect_response(rig, 1, TTRPC_CODE_NOT_FOUND);
    ck_assert_str_eq(response->status->message, "process 42 gone");
    test_rig_free(rig);
}
END_TEST

/* A peer that stops in the middle of a frame: the server closes the connection, cancels its
 * calls and reports the end. */
START_TEST(test_truncated_frame_closes)
{
    TestRig *rig = test_rig_new(FALSE);
    send_call(rig, 1, "Hold", 0);
    TEST_UTIL_WAIT(rig->held->len == 1, TEST_WAIT_US);
    raw_send(rig, 100, 3, TTRPC_FRAME_REQUEST, (const guint8 *)"\x0a\x05", 2);
    shutdown(rig->raw_fd, SHUT_WR);
    ck_assert(raw_wait_eof(rig));
    ck_assert_uint_eq(rig->n_closed, 1);
    ck_assert_uint_eq(ttrpc_server_n_connections(rig->server), 0);
    ck_assert(ttrpc_call_is_cancelled(g_ptr_array_index(rig->held, 0)));
    test_rig_free(rig);
}
END_TEST

/* Replies queued for a peer that does not read, then the peer vanishes: no SIGPIPE, the
 * server just drops the connection. */
START_TEST(test_peer_not_reading)
{
    TestRig *rig = test_rig_new(FALSE);
    for (guint32 id = 1; id < 2000; id += 2) {
        TEST_KV(kv, "k", "0123456789012345678901234567890123456789012345678901234567890123");
        guint8 payload[128];
        raw_send_call(rig, id, "Echo", payload, ttrpc__key_value__pack(&kv, payload), 0);
    }
    close(rig->raw_fd);
    rig->raw_fd = -1;
    TEST_UTIL_WAIT(rig->n_closed == 1, TEST_WAIT_US);
    test_rig_free(rig);
}
END_TEST

/* A peer that sends calls and never reads the replies: the server stops reading once its
 * output queue is full, so the peer's writes block instead of the server's memory growing;
 * no reply is lost once the peer reads again. */
START_TEST(test_back_pressure)
{
    TestRig *rig = test_rig_new(FALSE);
    g_autofree char *value = g_strnfill(64 * 1024, 'v');
    TEST_KV(kv, "k", value);
    gsize payload_len = ttrpc__key_value__get_packed_size(&kv);
    g_autofree guint8 *payload = g_malloc(payload_len);
    ttrpc__key_value__pack(&kv, payload);

    const gsize cap = 64u << 20;
    gsize written = 0;
    guint blocked = 0;
    guint32 next_id = 1;
    g_autoptr(GByteArray) pending = g_byte_array_new();
    g_unix_set_fd_nonblocking(rig->raw_fd, TRUE, NULL);
    while (written < cap && blocked < 200) {
        if (pending->len == 0) {
            g_autoptr(GBytes) frame = test_request_frame(next_id, "Echo", payload, payload_len, 0);
            next_id += 2;
            g_byte_array_append(pending, g_bytes_get_data(frame, NULL), g_bytes_get_size(frame));
        }
        gssize n = write(rig->raw_fd, pending->data, pending->len);
        if (n > 0) {
            g_byte_array_remove_range(pending, 0, n);
            written += n;
            blocked = 0;
        } else {
            ck_assert_int_eq(errno, EAGAIN);
            blocked++;
        }
        test_rig_drain(rig);
    }
    ck_assert_msg(written < cap, "the server kept reading: %zu bytes taken", written);

    /* Now read: the server resumes, the rest of the frame in flight goes in, and every call
     * gets its reply, in order. */
    g_autoptr(TtrpcFrameDecoder) decoder = ttrpc_frame_decoder_new();
    g_autofree guint8 *buf = g_malloc(65536);
    guint32 expected_id = 1;
    gint64 end = g_get_monotonic_time() + 4 * TEST_WAIT_US;
    while (expected_id < next_id) {
        ck_assert_msg(g_get_monotonic_time() < end, "replies stopped at stream %u", expected_id);
        if (pending->len > 0) {
            gssize n = write(rig->raw_fd, pending->data, pending->len);
            if (n > 0)
                g_byte_array_remove_range(pending, 0, n);
        }
        gssize n = read(rig->raw_fd, buf, 65536);
        const guint8 *data = buf;
        gsize left = n > 0 ? n : 0;
        while (left > 0) {
            if (ttrpc_frame_decoder_feed(decoder, &data, &left) != TTRPC_FRAME_COMPLETE)
                continue;
            const TtrpcFrameHeader *header = ttrpc_frame_decoder_header(decoder);
            ck_assert_uint_eq(header->stream_id, expected_id);
            g_autoptr(Ttrpc__Response) response =
                ttrpc__response__unpack(NULL, header->length, ttrpc_frame_decoder_data(decoder));
            ck_assert_ptr_nonnull(response);
            ck_assert_ptr_null(response->status);
            ck_assert_uint_eq(response->payload.len, payload_len);
            expected_id += 2;
        }
        test_rig_drain(rig);
    }
    ck_assert_uint_eq(pending->len, 0);
    test_rig_free(rig);
}
END_TEST

/* A handler frees the server while more requests wait in the same read: its reply still goes
 * out, nothing after it is dispatched, and the connection closes. */
START_TEST(test_free_from_handler)
{
    TestRig *rig = test_rig_new(FALSE);
    g_autoptr(GBytes) free_frame = test_request_frame(1, "FreeServer", NULL, 0, 0);
    g_autoptr(GBytes) next_frame = test_request_frame(3, "Empty", NULL, 0, 0);
    g_autoptr(GByteArray) both = g_byte_array_new();
    g_byte_array_append(both, g_bytes_get_data(free_frame, NULL), g_bytes_get_size(free_frame));
    g_byte_array_append(both, g_bytes_get_data(next_frame, NULL), g_bytes_get_size(next_frame));
    ck_assert_int_eq(write(rig->raw_fd, both->data, both->len), both->len);
    expect_code(rig, 1, TTRPC_CODE_OK);
    ck_assert_ptr_null(rig->server);
    ck_assert(raw_wait_eof(rig));
    test_rig_free(rig);
}
END_TEST

/* Collects the MESSAGE of every ttrpc-domain log line. */
static GLogWriterOutput collect_trace(GLogLevelFlags level, const GLogField *fields, gsize n,
                                      gpointer user_data)
{
    const char *domain = NULL, *message = NULL;
    (void)level;
    for (gsize i = 0; i < n; i++) {
        if (g_str_equal(fields[i].key, "GLIB_DOMAIN"))
            domain = fields[i].value;
        else if (g_str_equal(fields[i].key, "MESSAGE"))
            message = fields[i].value;
    }
    if (g_strcmp0(domain, "ttrpc") == 0 && message)
        g_ptr_array_add(user_data, g_strdup(message));
    return G_LOG_WRITER_HANDLED;
}

/* With debug logging on, each completed call leaves one line: method, stream, how it ended. */
START_TEST(test_call_trace)
{
    g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
    g_log_set_writer_func(collect_trace, lines, NULL);
    TestRig *rig = test_rig_new(FALSE);

    g_log_set_debug_enabled(FALSE);
    expect_still_serving(rig, 1);
    ck_assert_uint_eq(lines->len, 0);

    g_log_set_debug_enabled(TRUE);
    expect_still_serving(rig, 3);
    send_call(rig, 5, "Fail", 0);
    expect_code(rig, 5, TTRPC_CODE_NOT_FOUND);
    g_log_set_debug_enabled(FALSE);

    ck_assert_uint_eq(lines->len, 2);
    ck_assert(g_regex_match_simple("^Empty stream 3: OK after [0-9.]+ ms$",
                                   g_ptr_array_index(lines, 0), 0, 0));
    ck_assert(g_regex_match_simple("^Fail stream 5: NotFound: no such thing 'x' after [0-9.]+ ms$",
                                   g_ptr_array_index(lines, 1), 0, 0));
    test_rig_free(rig);
}
END_TEST

static Suite *server_suite(void)
{
    Suite *suite = suite_create("ttrpc-server");
    TCase *wire = tcase_create("wire");
    tcase_add_test(wire, test_empty_reply_is_zero_bytes);
    tcase_add_test(wire, test_success_has_no_status);
    tcase_add_test(wire, test_even_stream_id);
    tcase_add_test(wire, test_unknown_method);
    tcase_add_test(wire, test_malformed_request);
    tcase_add_test(wire, test_undecodable_payload);
    tcase_add_test(wire, test_non_request_ignored);
    tcase_add_test(wire, test_oversized_request);
    tcase_add_test(wire, test_max_size_request_is_served);
    suite_add_tcase(suite, wire);

    TCase *calls = tcase_create("calls");
    tcase_add_test(calls, test_server_deadline);
    tcase_add_test(calls, test_pending_call_does_not_block);
    tcase_add_test(calls, test_truncated_frame_closes);
    tcase_add_test(calls, test_peer_not_reading);
    tcase_add_test(calls, test_back_pressure);
    tcase_add_test(calls, test_free_from_handler);
    tcase_add_test(calls, test_call_trace);
    suite_add_tcase(suite, calls);
    return suite;
}

int main(void)
{
    return test_util_run(server_suite(), CK_NOFORK);
}
