/* The client against a raw peer that plays the server by hand: what it sends, and how it
 * treats odd, late, malformed and missing replies. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ttrpc-test-util.h"

/* Writes a Response on @stream_id: code 0 with @payload, or a status. */
static void reply(TestRig *rig, guint32 stream_id, TtrpcCode code, const char *payload)
{
    Ttrpc__Response response = TTRPC__RESPONSE__INIT;
    Google__Rpc__Status status = GOOGLE__RPC__STATUS__INIT;
    if (code != TTRPC_CODE_OK) {
        status.code = code;
        status.message = (char *)"it failed";
        response.status = &status;
    } else if (payload != NULL) {
        response.payload.data = (guint8 *)payload;
        response.payload.len = strlen(payload);
    }
    gsize len = ttrpc__response__get_packed_size(&response);
    g_autofree guint8 *bytes = g_malloc(len + 1);
    ttrpc__response__pack(&response, bytes);
    raw_send(rig, len, stream_id, TTRPC_FRAME_RESPONSE, bytes, len);
}

static void assert_payload(const TestReply *r, const char *expected)
{
    ck_assert(r->done);
    ck_assert_ptr_null(r->error);
    ck_assert_uint_eq(g_bytes_get_size(r->payload), strlen(expected));
    if (*expected != '\0')
        ck_assert_mem_eq(g_bytes_get_data(r->payload, NULL), expected, strlen(expected));
}

/* Ids 1, 3, 5; everything the envelope carries; answers in any order reach the right caller. */
START_TEST(test_stream_ids_and_envelope)
{
    TestRig *rig = test_rig_new_client_only();
    TestReply replies[3] = {0};
    TEST_KV(kv, "x", "y");

    ttrpc_client_set_metadata(rig->client, "Containerd-Namespace-TTRPC", "default");
    for (guint i = 0; i < 3; i++)
        ttrpc_client_call(rig->client, "svc.A", i == 1 ? "Two" : "One", i == 2 ? &kv.base : NULL,
                          i == 0 ? 2 * G_USEC_PER_SEC : 0, test_reply_func, &replies[i]);
    for (guint i = 0; i < 3; i++) {
        guint32 id;
        g_autoptr(Ttrpc__Request) request = raw_receive_request(rig, &id);
        ck_assert_uint_eq(id, 2 * i + 1);
        ck_assert_str_eq(request->service, "svc.A");
        ck_assert_str_eq(request->method, i == 1 ? "Two" : "One");
        ck_assert_int_eq(request->timeout_nano, i == 0 ? 2000000000 : 0);
        ck_assert_uint_eq(request->n_metadata, 1);
        ck_assert_str_eq(request->metadata[0]->key, "containerd-namespace-ttrpc");
        ck_assert_str_eq(request->metadata[0]->value, "default");
        ck_assert_uint_eq(request->payload.len,
                          i == 2 ? ttrpc__key_value__get_packed_size(&kv) : 0);
    }
    reply(rig, 5, TTRPC_CODE_OK, "five");
    reply(rig, 1, TTRPC_CODE_ALREADY_EXISTS, NULL);
    reply(rig, 3, TTRPC_CODE_OK, NULL);
    TEST_UTIL_WAIT(replies[1].done, TEST_WAIT_US);
    assert_payload(&replies[2], "five");
    ck_assert_uint_eq(replies[2].order, 1);
    ck_assert(g_error_matches(replies[0].error, TTRPC_ERROR, TTRPC_CODE_ALREADY_EXISTS));
    ck_assert_str_eq(replies[0].error->message, "it failed");
    assert_payload(&replies[1], "");
    for (guint i = 0; i < 3; i++)
        test_reply_clear(&replies[i]);
    test_rig_free(rig);
}
END_TEST

/* Replies to ids nobody waits for, and frame types the client does not know, are ignored;
 * a Response that does not parse fails only its own call; an unknown code becomes Unknown. */
START_TEST(test_odd_replies)
{
    TestRig *rig = test_rig_new_client_only();
    TestReply replies[3] = {0};
    guint32 id;

    for (guint i = 0; i < 3; i++) {
        ttrpc_client_call(rig->client, "svc.A", "M", NULL, 0, test_reply_func, &replies[i]);
        request_free(raw_receive_request(rig, &id));
    }
    reply(rig, 99, TTRPC_CODE_OK, "nobody");
    raw_send(rig, 3, 1, TTRPC_FRAME_REQUEST, (const guint8 *)"\x12\x01z", 3);
    raw_send(rig, 3, 1, 3, (const guint8 *)"\x12\x01z", 3);
    raw_send(rig, 2, 1, TTRPC_FRAME_RESPONSE, (const guint8 *)"\x0f\x01", 2);
    TEST_UTIL_WAIT(replies[0].done, TEST_WAIT_US);
    ck_assert(g_error_matches(replies[0].error, TTRPC_ERROR, TTRPC_CODE_INTERNAL));
    ck_assert(!replies[1].done);

    reply(rig, 3, 77, NULL);
    TEST_UTIL_WAIT(replies[1].done, TEST_WAIT_US);
    ck_assert(g_error_matches(replies[1].error, TTRPC_ERROR, TTRPC_CODE_UNKNOWN));

    /* A status present with code 0 counts as success, as in the Go client. */
    const guint8 ok_status[] = {0x0a, 0x00, 0x12, 0x02, 'o', 'k'};
    raw_send(rig, sizeof(ok_status), 5, TTRPC_FRAME_RESPONSE, ok_status, sizeof(ok_status));
    TEST_UTIL_WAIT(replies[2].done, TEST_WAIT_US);
    assert_payload(&replies[2], "ok");
    for (guint i = 0; i < 3; i++)
        test_reply_clear(&replies[i]);
    test_rig_free(rig);
}
END_TEST

/* An oversized reply fails its call; the stream goes on. */
START_TEST(test_oversized_reply)
{
    TestRig *rig = test_rig_new_client_only();
    TestReply replies[2] = {0};
    guint32 id;
    for (guint i = 0; i < 2; i++) {
        ttrpc_client_call(rig->client, "svc.A", "M", NULL, 0, test_reply_func, &replies[i]);
        request_free(raw_receive_request(rig, &id));
    }
    raw_send(rig, TTRPC_FRAME_MAX_DATA + 10, 1, TTRPC_FRAME_RESPONSE, NULL, 0);
    TEST_UTIL_WAIT(replies[0].done, TEST_WAIT_US);
    ck_assert(g_error_matches(replies[0].error, TTRPC_ERROR, TTRPC_CODE_RESOURCE_EXHAUSTED));

    g_autofree guint8 *junk = g_malloc0(TTRPC_FRAME_MAX_DATA + 10);
    raw_send_draining(rig, junk, TTRPC_FRAME_MAX_DATA + 10);
    reply(rig, 3, TTRPC_CODE_OK, "after");
    TEST_UTIL_WAIT(replies[1].done, TEST_WAIT_US);
    assert_payload(&replies[1], "after");
    for (guint i = 0; i < 2; i++)
        test_reply_clear(&replies[i]);
    test_rig_free(rig);
}
END_TEST

/* The server dies in the middle of a reply: every pending call fails with Unavailable. */
START_TEST(test_peer_dies_mid_frame)
{
    TestRig *rig = test_rig_new_client_only();
    TestReply replies[4] = {0};
    guint32 id;
    for (guint i = 0; i < 4; i++) {
        ttrpc_client_call(rig->client, "svc.A", "M", NULL, i == 3 ? 60 * G_USEC_PER_SEC : 0,
                          test_reply_func, &replies[i]);
        request_free(raw_receive_request(rig, &id));
    }
    raw_send(rig, 50, 1, TTRPC_FRAME_RESPONSE, (const guint8 *)"\x12\x30", 2);
    close(rig->raw_fd);
    rig->raw_fd = -1;
    TEST_UTIL_WAIT(replies[0].done && replies[1].done && replies[2].done && replies[3].done,
                   TEST_WAIT_US);
    for (guint i = 0; i < 4; i++) {
        ck_assert_uint_eq(replies[i].order, i + 1); /* oldest call first */
        ck_assert(g_error_matches(replies[i].error, TTRPC_ERROR, TTRPC_CODE_UNAVAILABLE));
        ck_assert_ptr_nonnull(strstr(replies[i].error->message, "svc.A/M"));
        test_reply_clear(&replies[i]);
    }
    ck_assert(ttrpc_client_is_closed(rig->client));
    test_rig_free(rig);
}
END_TEST

/* The peer is gone before the client has noticed: the write fails (no SIGPIPE) and the call
 * fails later with Unavailable, never from inside ttrpc_client_call(). */
START_TEST(test_call_after_peer_closed)
{
    TestRig *rig = test_rig_new_client_only();
    TestReply reply = {0};
    close(rig->raw_fd);
    rig->raw_fd = -1;
    ttrpc_client_call(rig->client, "svc.A", "M", NULL, 0, test_reply_func, &reply);
    ck_assert(!reply.done);
    TEST_UTIL_WAIT(reply.done, TEST_WAIT_US);
    ck_assert(g_error_matches(reply.error, TTRPC_ERROR, TTRPC_CODE_UNAVAILABLE));
    ck_assert(ttrpc_client_is_closed(rig->client));
    test_reply_clear(&reply);
    test_rig_free(rig);
}
END_TEST

typedef struct {
    TestRig *rig;
    guint calls;
} FreeingReply;

/* A reply callback that frees the client while other calls are still pending. */
static void free_client_on_reply(const guint8 *payload, gsize len, const GError *error,
                                 gpointer user_data)
{
    (void)payload;
    (void)len;
    FreeingReply *state = user_data;
    state->calls++;
    if (error == NULL)
        g_clear_pointer(&state->rig->client, ttrpc_client_free);
}

START_TEST(test_free_from_callback)
{
    TestRig *rig = test_rig_new_client_only();
    FreeingReply first = {rig, 0};
    TestReply second = {0};
    guint32 id;

    ttrpc_client_call(rig->client, "svc.A", "M", NULL, 0, free_client_on_reply, &first);
    ttrpc_client_call(rig->client, "svc.A", "M", NULL, 0, test_reply_func, &second);
    for (guint i = 0; i < 2; i++)
        request_free(raw_receive_request(rig, &id));
    /* Both replies arrive in one read: the second must not be delivered after the free. */
    reply(rig, 1, TTRPC_CODE_OK, "a");
    reply(rig, 3, TTRPC_CODE_OK, "b");
    TEST_UTIL_WAIT(second.done, TEST_WAIT_US);
    ck_assert_uint_eq(first.calls, 1);
    ck_assert_ptr_null(rig->client);
    ck_assert(g_error_matches(second.error, TTRPC_ERROR, TTRPC_CODE_UNAVAILABLE));
    test_reply_clear(&second);
    test_rig_free(rig);
}
END_TEST

static Suite *client_suite(void)
{
    Suite *suite = suite_create("ttrpc-client");
    TCase *wire = tcase_create("wire");
    tcase_add_test(wire, test_stream_ids_and_envelope);
    tcase_add_test(wire, test_odd_replies);
    tcase_add_test(wire, test_oversized_reply);
    tcase_add_test(wire, test_peer_dies_mid_frame);
    tcase_add_test(wire, test_free_from_callback);
    tcase_add_test(wire, test_call_after_peer_closed);
    suite_add_tcase(suite, wire);
    return suite;
}

int main(void)
{
    return test_util_run(client_suite(), CK_NOFORK);
}
