/* Status codes: gRPC names, GError -> code for handlers, received status -> GError. */
#include <gio/gio.h>
#include <stdlib.h>

#include "ttrpc-status.h"
#include "ttrpc-test-util.h"

START_TEST(test_code_names)
{
    /* The names containerd's Go code prints (google.golang.org/grpc/codes). */
    const char *expected[] = {
        "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
        "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
        "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
        "DataLoss", "Unauthenticated"};
    ck_assert_uint_eq(G_N_ELEMENTS(expected), TTRPC_CODE_LAST);
    for (guint i = 0; i < TTRPC_CODE_LAST; i++)
        ck_assert_str_eq(ttrpc_code_name(i), expected[i]);
    ck_assert_str_eq(ttrpc_code_name(TTRPC_CODE_LAST), "Unknown");
    ck_assert_str_eq(ttrpc_code_name((TtrpcCode)-1), "Unknown");
}
END_TEST

START_TEST(test_code_from_gerror)
{
    const struct {
        GQuark domain;
        gint code;
        TtrpcCode expected;
    } cases[] = {
        {TTRPC_ERROR, TTRPC_CODE_FAILED_PRECONDITION, TTRPC_CODE_FAILED_PRECONDITION},
        {TTRPC_ERROR, TTRPC_CODE_OK, TTRPC_CODE_UNKNOWN}, /* an error is never OK */
        {TTRPC_ERROR, 99, TTRPC_CODE_UNKNOWN},
        {G_IO_ERROR, G_IO_ERROR_NOT_FOUND, TTRPC_CODE_NOT_FOUND},
        {G_IO_ERROR, G_IO_ERROR_EXISTS, TTRPC_CODE_ALREADY_EXISTS},
        {G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, TTRPC_CODE_PERMISSION_DENIED},
        {G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, TTRPC_CODE_UNIMPLEMENTED},
        {G_IO_ERROR, G_IO_ERROR_TIMED_OUT, TTRPC_CODE_DEADLINE_EXCEEDED},
        {G_IO_ERROR, G_IO_ERROR_FAILED, TTRPC_CODE_UNKNOWN},
        {G_FILE_ERROR, G_FILE_ERROR_NOENT, TTRPC_CODE_NOT_FOUND},
        {G_FILE_ERROR, G_FILE_ERROR_EXIST, TTRPC_CODE_ALREADY_EXISTS},
        {G_FILE_ERROR, G_FILE_ERROR_ACCES, TTRPC_CODE_PERMISSION_DENIED},
        {G_FILE_ERROR, G_FILE_ERROR_IO, TTRPC_CODE_UNKNOWN},
        {G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_NOT_FOUND, TTRPC_CODE_UNKNOWN},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) error = g_error_new_literal(cases[i].domain, cases[i].code, "x");
        ck_assert_int_eq(ttrpc_code_from_gerror(error), cases[i].expected);
    }
}
END_TEST

START_TEST(test_status_to_error)
{
    Google__Rpc__Status status = GOOGLE__RPC__STATUS__INIT;
    status.code = TTRPC_CODE_NOT_FOUND;
    status.message = (char *)"container 'c1' not found";
    g_autoptr(GError) error = ttrpc_status_to_error(&status);
    ck_assert(g_error_matches(error, TTRPC_ERROR, TTRPC_CODE_NOT_FOUND));
    ck_assert_str_eq(error->message, "container 'c1' not found");

    /* From an untrusted peer: a code we do not know, an empty message. */
    status.code = -5;
    status.message = (char *)"";
    g_autoptr(GError) odd = ttrpc_status_to_error(&status);
    ck_assert(g_error_matches(odd, TTRPC_ERROR, TTRPC_CODE_UNKNOWN));
    ck_assert_str_eq(odd->message, "Unknown");
}
END_TEST

static Suite *status_suite(void)
{
    Suite *suite = suite_create("ttrpc-status");
    TCase *codes = tcase_create("codes");
    tcase_add_test(codes, test_code_names);
    tcase_add_test(codes, test_code_from_gerror);
    tcase_add_test(codes, test_status_to_error);
    suite_add_tcase(suite, codes);
    return suite;
}

int main(void)
{
    return test_util_run(status_suite(), CK_NOFORK);
}
