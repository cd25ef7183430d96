/* Client and server over a socketpair on one GMainContext. */
#include <stdlib.h>
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

    ttrpc_client_call(rig->client, TEST_SERVICE, "Echo", &request.base, 0, test_reply_func,
                      &reply);
    ck_assert(!reply.done); /* never from inside ttrpc_client_call() */
    test_rig_run_until(rig, &reply.done);
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

    g_autoptr(GBytes) b = ttrpc_client_call_sync(rig->client, TEST_SERVICE, "Nope", NULL, 0,
                                                 &error);
    ck_assert_ptr_null(b);
    ck_assert(g_error_matches(error, TTRPC_ERROR, TTRPC_CODE_UNIMPLEMENTED));
    ck_assert_str_eq(error->message, "method Nope");
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
    suite_add_tcase(suite, unary);
    return suite;
}

int main(void)
{
    return test_run_suite(rpc_suite());
}
