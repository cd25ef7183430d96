/* Client and server over a socketpair on one GMainContext. */
#include <fcntl.h>
#include <stdlib.h>
#include <termios.h>
#include <string.h>
#include <unistd.h>

#include "ttrpc-test-util.h"

static Ttrpc__KeyValue *decode_kv(GBytes *bytes)
{
    gsize len;
    const guint8 *data = g_bytes_get_data(bytes, &len);
    Ttrpc__KeyValue *kv = ttrpc__key_value__unpack(NULL, len, data);
    ck_assert_ptr_nonnull(kv);
    return kv;
}

START_TEST(test_unary_echo)
{
    TestRig *rig = test_rig_new(TRUE);
    TEST_KV(request, "hello", "world");
    TestReply reply = {0};

    ttrpc_client_call(rig->client, TEST_SERVICE, "Echo", &request.base, 0, test_reply_func, &reply);
    ck_assert(!reply.done); /* never from inside ttrpc_client_call() */
    TEST_UTIL_WAIT(reply.done, TEST_WAIT_US);
    ck_assert_ptr_null(reply.error);
    Ttrpc__KeyValue *kv = decode_kv(reply.payload);
    ck_assert_str_eq(kv->key, "hello");
    ck_assert_str_eq(kv->value, "world");
    ttrpc__key_value__free_unpacked(kv, NULL);
    test_reply_clear(&reply);
    test_rig_free(rig);
}
END_TEST

START_TEST(test_sync_call)
{
    TestRig *rig = test_rig_new(TRUE);
    TEST_KV(request, "k", "v");
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) bytes =
        ttrpc_client_call_sync(rig->client, TEST_SERVICE, "Echo", &request.base, 0, &error);
    ck_assert_ptr_null(error);
    Ttrpc__KeyValue *kv = decode_kv(bytes);
    ck_assert_str_eq(kv->value, "v");
    ttrpc__key_value__free_unpacked(kv, NULL);

    g_autoptr(GBytes) empty =
        ttrpc_client_call_sync(rig->client, TEST_SERVICE, "Empty", NULL, 0, &error);
    ck_assert_ptr_null(error);
    ck_assert_ptr_nonnull(empty);
    ck_assert_uint_eq(g_bytes_get_size(empty), 0);
    test_rig_free(rig);
}
END_TEST

START_TEST(test_error_status)
{
    TestRig *rig = test_rig_new(TRUE);
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) bytes =
        ttrpc_client_call_sync(rig->client, TEST_SERVICE, "Fail", NULL, 0, &error);
    ck_assert_ptr_null(bytes);
    ck_assert(g_error_matches(error, TTRPC_ERROR, TTRPC_CODE_NOT_FOUND));
    ck_assert_str_eq(error->message, "no such thing 'x'");
    g_clear_error(&error);

    g_autoptr(GBytes) none =
        ttrpc_client_call_sync(rig->client, TEST_SERVICE, "FailGError", NULL, 0, &error);
    ck_assert_ptr_null(none);
    ck_assert(g_error_matches(error, TTRPC_ERROR, TTRPC_CODE_NOT_FOUND));
    ck_assert_str_eq(error->message, "open '/x': No such file");
    test_rig_free(rig);
}
END_TEST

/* A request reaches the handler decoded as the method's message; the handler's copy outlives
 * the server's (freed when the handler returns). */
START_TEST(test_handler_gets_decoded_request)
{
    TestRig *rig = test_rig_new(TRUE);
    TEST_KV(full, "key", "value");
    const ProtobufCMessage *requests[] = {&full.base, NULL}; /* NULL: an empty payload */
    for (gsize i = 0; i < G_N_ELEMENTS(requests); i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GBytes) reply =
            ttrpc_client_call_sync(rig->client, TEST_SERVICE, "Record", requests[i], 0, &error);
        ck_assert_msg(reply != NULL, "%s", error ? error->message : "");
    }

    ck_assert_uint_eq(rig->recorded->len, 2);
    const Ttrpc__KeyValue *got = g_ptr_array_index(rig->recorded, 0);
    ck_assert_ptr_eq(got->base.descriptor, &ttrpc__key_value__descriptor);
    ck_assert_str_eq(got->key, "key");
    ck_assert_str_eq(got->value, "value");
    const Ttrpc__KeyValue *none = g_ptr_array_index(rig->recorded, 1);
    ck_assert_str_eq(none->key, "");
    ck_assert_str_eq(none->value, "");
    test_rig_free(rig);
}
END_TEST

START_TEST(test_unknown_service_and_method)
{
    TestRig *rig = test_rig_new(TRUE);
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) a = ttrpc_client_call_sync(rig->client, "no.Such", "Echo", NULL, 0, &error);
    ck_assert_ptr_null(a);
    ck_assert(g_error_matches(error, TTRPC_ERROR, TTRPC_CODE_UNIMPLEMENTED));
    ck_assert_str_eq(error->message, "service no.Such");
    g_clear_error(&error);

    g_autoptr(GBytes) b =
        ttrpc_client_call_sync(rig->client, TEST_SERVICE, "Nope", NULL, 0, &error);
    ck_assert_ptr_null(b);
    ck_assert(g_error_matches(error, TTRPC_ERROR, TTRPC_CODE_UNIMPLEMENTED));
    ck_assert_str_eq(error->message, "method Nope");
    test_rig_free(rig);
}
END_TEST

#define N_CONCURRENT 128

/* 128 calls in flight on one connection, answered in reverse order. */
START_TEST(test_concurrent_out_of_order)
{
    TestRig *rig = test_rig_new(TRUE);
    TestReply replies[N_CONCURRENT] = {0};
    char keys[N_CONCURRENT][16];

    for (guint i = 0; i < N_CONCURRENT; i++) {
        g_snprintf(keys[i], sizeof(keys[i]), "call-%u", i);
        TEST_KV(request, keys[i], "");
        ttrpc_client_call(rig->client, TEST_SERVICE, "Hold", &request.base, 0, test_reply_func,
                          &replies[i]);
    }
    TEST_UTIL_WAIT(rig->held->len == N_CONCURRENT, TEST_WAIT_US);
    /* The server saw them in order; answer the last first, echoing the index. */
    for (guint i = N_CONCURRENT; i-- > 0;) {
        char value[16];
        g_snprintf(value, sizeof(value), "%u", i);
        TEST_KV(reply, keys[i], value);
        ttrpc_call_return(g_ptr_array_index(rig->held, i), &reply.base);
    }
    g_ptr_array_set_size(rig->held, 0);
    TEST_UTIL_WAIT(replies[0].done, TEST_WAIT_US);
    for (guint i = 0; i < N_CONCURRENT; i++) {
        ck_assert(replies[i].done);
        ck_assert_ptr_null(replies[i].error);
        ck_assert_uint_eq(replies[i].order, N_CONCURRENT - i);
        Ttrpc__KeyValue *kv = decode_kv(replies[i].payload);
        ck_assert_str_eq(kv->key, keys[i]);
        ck_assert_uint_eq(atoi(kv->value), i);
        ttrpc__key_value__free_unpacked(kv, NULL);
        test_reply_clear(&replies[i]);
    }
    test_rig_free(rig);
}
END_TEST

/* The client gives up at its deadline; the server's late completion is dropped, and the
 * connection stays usable. */
START_TEST(test_client_deadline)
{
    TestRig *rig = test_rig_new(TRUE);
    TestReply reply = {0};
    gint64 start = g_get_monotonic_time();

    ttrpc_client_call(rig->client, TEST_SERVICE, "Hold", NULL, 50000, test_reply_func, &reply);
    TEST_UTIL_WAIT(reply.done, TEST_WAIT_US);
    ck_assert(g_error_matches(reply.error, TTRPC_ERROR, TTRPC_CODE_DEADLINE_EXCEEDED));
    ck_assert_int_ge(g_get_monotonic_time() - start, 50000);
    ck_assert_uint_eq(rig->held->len, 1);

    TtrpcCall *call = g_ptr_array_index(rig->held, 0);
    ck_assert_int_gt(ttrpc_call_get_deadline(call), start);
    ck_assert_int_le(ttrpc_call_get_deadline(call), start + 50000 + G_USEC_PER_SEC);
    ck_assert_str_eq(ttrpc_call_get_method(call), "Hold");
    TEST_UTIL_WAIT(ttrpc_call_is_cancelled(call), TEST_WAIT_US);
    ttrpc_call_return(call, NULL); /* too late: dropped */
    g_ptr_array_set_size(rig->held, 0);

    TEST_KV(request, "after", "deadline");
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) bytes =
        ttrpc_client_call_sync(rig->client, TEST_SERVICE, "Echo", &request.base, 0, &error);
    ck_assert_ptr_nonnull(bytes);
    /* test_reply_func asserts the timed-out call never got a second callback. */
    test_reply_clear(&reply);
    test_rig_free(rig);
}
END_TEST

static void count_client_closed(TtrpcClient *client, gpointer user_data)
{
    (void)client;
    (*(guint *)user_data)++;
}

/* The server goes away with three calls pending: each fails with Unavailable at once. */
START_TEST(test_disconnect_mid_call)
{
    TestRig *rig = test_rig_new(TRUE);
    TestReply replies[3] = {0};
    guint closed = 0;

    ttrpc_client_set_closed_func(rig->client, count_client_closed, &closed);
    for (guint i = 0; i < 3; i++)
        ttrpc_client_call(rig->client, TEST_SERVICE, "Hold", NULL, 0, test_reply_func, &replies[i]);
    TEST_UTIL_WAIT(rig->held->len == 3, TEST_WAIT_US);
    g_clear_pointer(&rig->server, ttrpc_server_free);
    for (guint i = 0; i < 3; i++) {
        TtrpcCall *call = g_ptr_array_index(rig->held, i);
        ck_assert(ttrpc_call_is_cancelled(call));
    }
    for (guint i = 0; i < 3; i++) {
        TEST_UTIL_WAIT(replies[i].done, TEST_WAIT_US);
        ck_assert(g_error_matches(replies[i].error, TTRPC_ERROR, TTRPC_CODE_UNAVAILABLE));
        test_reply_clear(&replies[i]);
    }
    ck_assert_uint_eq(closed, 1);
    ck_assert(ttrpc_client_is_closed(rig->client));

    /* A call on a closed client fails too, but never from inside ttrpc_client_call(). */
    TestReply late = {0};
    ttrpc_client_call(rig->client, TEST_SERVICE, "Echo", NULL, 0, test_reply_func, &late);
    ck_assert(!late.done);
    TEST_UTIL_WAIT(late.done, TEST_WAIT_US);
    ck_assert(g_error_matches(late.error, TTRPC_ERROR, TTRPC_CODE_UNAVAILABLE));
    test_reply_clear(&late);
    ck_assert_uint_eq(closed, 1);
    test_rig_free(rig); /* completes the held calls: dropped */
}
END_TEST

/* The client goes away: the server sees the connection end and cancels its calls. */
START_TEST(test_client_goes_away)
{
    TestRig *rig = test_rig_new(TRUE);
    TestReply reply = {0};

    ttrpc_client_call(rig->client, TEST_SERVICE, "Hold", NULL, 0, test_reply_func, &reply);
    TEST_UTIL_WAIT(rig->held->len == 1, TEST_WAIT_US);
    ck_assert_uint_eq(ttrpc_server_n_connections(rig->server), 1);
    g_clear_pointer(&rig->client, ttrpc_client_free);
    ck_assert(!reply.done);
    TEST_UTIL_WAIT(reply.done, TEST_WAIT_US);
    ck_assert(g_error_matches(reply.error, TTRPC_ERROR, TTRPC_CODE_UNAVAILABLE));

    TEST_UTIL_WAIT(rig->n_closed == 1, TEST_WAIT_US);
    ck_assert_uint_eq(ttrpc_server_n_connections(rig->server), 0);
    ck_assert(ttrpc_call_is_cancelled(g_ptr_array_index(rig->held, 0)));
    test_reply_clear(&reply);
    test_rig_free(rig);
}
END_TEST

START_TEST(test_metadata)
{
    TestRig *rig = test_rig_new(TRUE);
    TEST_KV(request, "Containerd-Namespace-Ttrpc", ""); /* looked up ignoring case */
    g_autoptr(GError) error = NULL;

    for (guint round = 0; round < 3; round++) {
        const char *expected = round == 0 ? "(none)" : round == 1 ? "default" : "k8s.io";
        if (round > 0)
            ttrpc_client_set_metadata(rig->client, "containerd-namespace-ttrpc", expected);
        g_autoptr(GBytes) bytes =
            ttrpc_client_call_sync(rig->client, TEST_SERVICE, "Metadata", &request.base, 0, &error);
        ck_assert_ptr_null(error);
        Ttrpc__KeyValue *kv = decode_kv(bytes);
        ck_assert_str_eq(kv->value, expected);
        ttrpc__key_value__free_unpacked(kv, NULL);
    }
    test_rig_free(rig);
}
END_TEST

/* 3 MiB each way through a socketpair: both sides must cope with partial writes and reads. */
START_TEST(test_large_payload)
{
    TestRig *rig = test_rig_new(TRUE);
    gsize size = 3 << 20;
    g_autofree char *value = g_malloc(size + 1);
    for (gsize i = 0; i < size; i++)
        value[i] = 'a' + i % 26;
    value[size] = '\0';
    TEST_KV(request, "big", value);
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) bytes =
        ttrpc_client_call_sync(rig->client, TEST_SERVICE, "Echo", &request.base, 0, &error);
    ck_assert_ptr_null(error);
    Ttrpc__KeyValue *kv = decode_kv(bytes);
    ck_assert_uint_eq(strlen(kv->value), size);
    ck_assert(strcmp(kv->value, value) == 0);
    ttrpc__key_value__free_unpacked(kv, NULL);
    test_rig_free(rig);
}
END_TEST

START_TEST(test_request_too_large)
{
    TestRig *rig = test_rig_new(TRUE);
    gsize size = TTRPC_FRAME_MAX_DATA;
    g_autofree char *value = g_malloc(size + 1);
    memset(value, 'x', size);
    value[size] = '\0';
    TEST_KV(request, "big", value);
    TestReply reply = {0};
    ttrpc_client_call(rig->client, TEST_SERVICE, "Echo", &request.base, 0, test_reply_func, &reply);
    ck_assert(!reply.done);
    TEST_UTIL_WAIT(reply.done, TEST_WAIT_US);
    ck_assert(g_error_matches(reply.error, TTRPC_ERROR, TTRPC_CODE_RESOURCE_EXHAUSTED));
    test_reply_clear(&reply);

    /* Nothing was sent: the connection still works. */
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) bytes =
        ttrpc_client_call_sync(rig->client, TEST_SERVICE, "Empty", NULL, 0, &error);
    ck_assert_ptr_nonnull(bytes);
    test_rig_free(rig);
}
END_TEST

/* A char device (here a raw pty: small buffer, write() not send()) works as the transport,
 * like a virtio-serial port. */
START_TEST(test_char_device_transport)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    ck_assert_int_ge(master, 0);
    ck_assert_int_eq(grantpt(master), 0);
    ck_assert_int_eq(unlockpt(master), 0);
    int slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
    ck_assert_int_ge(slave, 0);
    struct termios tio;
    for (int i = 0; i < 2; i++) {
        int fd = i == 0 ? master : slave;
        ck_assert_int_eq(tcgetattr(fd, &tio), 0);
        cfmakeraw(&tio);
        ck_assert_int_eq(tcsetattr(fd, TCSANOW, &tio), 0);
    }

    TestRig *rig = test_rig_new(FALSE);
    ttrpc_server_serve_fd(rig->server, &master);
    g_autoptr(TtrpcClient) client = ttrpc_client_new(&slave, rig->context);
    gsize size = 200 * 1024;
    g_autofree char *value = g_malloc(size + 1);
    for (gsize i = 0; i < size; i++)
        value[i] = (char)(1 + i % 255);
    value[size] = '\0';
    TEST_KV(request, "pty", value);
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) bytes =
        ttrpc_client_call_sync(client, TEST_SERVICE, "Echo", &request.base, 0, &error);
    ck_assert_ptr_null(error);
    Ttrpc__KeyValue *kv = decode_kv(bytes);
    ck_assert(strcmp(kv->value, value) == 0);
    ttrpc__key_value__free_unpacked(kv, NULL);
    g_clear_pointer(&client, ttrpc_client_free);
    test_rig_free(rig);
}
END_TEST

START_TEST(test_reply_too_large)
{
    TestRig *rig = test_rig_new(TRUE);
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) bytes =
        ttrpc_client_call_sync(rig->client, TEST_SERVICE, "Big", NULL, 0, &error);
    ck_assert_ptr_null(bytes);
    ck_assert(g_error_matches(error, TTRPC_ERROR, TTRPC_CODE_RESOURCE_EXHAUSTED));
    ck_assert_ptr_nonnull(strstr(error->message, "4194320"));
    test_rig_free(rig);
}
END_TEST

static Suite *rpc_suite(void)
{
    Suite *suite = suite_create("ttrpc-rpc");
    TCase *unary = tcase_create("unary");
    tcase_add_test(unary, test_unary_echo);
    tcase_add_test(unary, test_sync_call);
    tcase_add_test(unary, test_error_status);
    tcase_add_test(unary, test_unknown_service_and_method);
    tcase_add_test(unary, test_handler_gets_decoded_request);
    tcase_add_test(unary, test_metadata);
    tcase_add_test(unary, test_large_payload);
    tcase_add_test(unary, test_request_too_large);
    tcase_add_test(unary, test_reply_too_large);
    suite_add_tcase(suite, unary);

    TCase *flow = tcase_create("flow");
    tcase_add_test(flow, test_concurrent_out_of_order);
    tcase_add_test(flow, test_client_deadline);
    tcase_add_test(flow, test_disconnect_mid_call);
    tcase_add_test(flow, test_client_goes_away);
    suite_add_tcase(suite, flow);

    TCase *transport = tcase_create("transport");
    tcase_add_test(transport, test_char_device_transport);
    suite_add_tcase(suite, transport);
    return suite;
}

int main(void)
{
    return test_util_run(rpc_suite(), CK_NOFORK);
}
