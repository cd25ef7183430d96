/* Unit tests of what `start` computes before it acts: the socket address, the runtime options on
 * stdin, the command line, the pod grouping and id rules. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common-id.h"
#include "shim-args.h"
#include "shim-options.h"
#include "shim-spec.h"
#include "shim-start.h"
#include "test-util.h"

START_TEST(test_socket_path)
{
    /* Expected values computed with sha256sum(1), not with our code. */
    g_autofree char *a =
        shim_start_socket_path("/run/containerd/containerd.sock", "default", "pod1");
    g_autofree char *b = shim_start_socket_path("/tmp/ctd/containerd.sock", "k8s.io", "abc");
    ck_assert_str_eq(a, "/run/containerd/s/"
                        "d7ddcf8855c574bb9f6303100a7919bd8f9f6e011c611945861f6fa26dc0c66d");
    ck_assert_str_eq(b, "/run/containerd/s/"
                        "5a5c2af740266552e1c900d2e1381fffeed3ff03ee38f8054658ece165bca1c0");
}
END_TEST

/* Options{config_path = "/etc/x.conf"} inside Any{"runtimeoptions.v1.Options"}, byte by byte. */
static const guint8 options_any[] = {0x0a, 0x19, 'r', 'u', 'n', 't',  'i',  'm',  'e',  'o', 'p',
                                     't',  'i',  'o', 'n', 's', '.',  'v',  '1',  '.',  'O', 'p',
                                     't',  'i',  'o', 'n', 's', 0x12, 0x0d, 0x12, 0x0b, '/', 'e',
                                     't',  'c',  '/', 'x', '.', 'c',  'o',  'n',  'f'};

START_TEST(test_options_any)
{
    g_autofree char *path = NULL;
    g_autoptr(GError) error = NULL;
    ck_assert_msg(shim_options_decode(options_any, sizeof(options_any), &path, &error), "%s",
                  error ? error->message : "");
    ck_assert_str_eq(path, "/etc/x.conf");
}
END_TEST

START_TEST(test_options_empty)
{
    g_autofree char *path = NULL;
    ck_assert(shim_options_decode(NULL, 0, &path, NULL));
    ck_assert_ptr_null(path);
}
END_TEST

START_TEST(test_options_bootstrap)
{
    /* containerd 2.3 BootstrapParams: instance_id, namespace, log_level, version, the options Any
     * in extensions[0].value. */
    g_autoptr(GByteArray) b = g_byte_array_new();
    static const guint8 head[] = {0x0a, 0x02, 'c',  '1',  0x12, 0x07, 'd', 'e', 'f', 'a', 'u',
                                  'l',  't',  0x18, 0x08, 0x22, 0x05, '2', '.', '3', '.', '0'};
    guint8 ext[] = {0x42, (guint8)(sizeof(options_any) + 2), 0x0a, (guint8)sizeof(options_any)};
    g_byte_array_append(b, head, sizeof(head));
    g_byte_array_append(b, ext, sizeof(ext));
    g_byte_array_append(b, options_any, sizeof(options_any));
    g_autofree char *path = NULL;
    g_autoptr(GError) error = NULL;
    ck_assert_msg(shim_options_decode(b->data, b->len, &path, &error), "%s",
                  error ? error->message : "");
    ck_assert_str_eq(path, "/etc/x.conf");

    /* The same without extensions: no options. */
    g_autofree char *none = NULL;
    ck_assert(shim_options_decode(head, sizeof(head), &none, NULL));
    ck_assert_ptr_null(none);
}
END_TEST

START_TEST(test_options_bad)
{
    static const guint8 garbage[] = {0xff, 0xff, 0xff};
    /* Any{"containerd.runc.v1.Options", empty value}: 0x0a, 26, the name, 0x12, 0. */
    static const guint8 runc[] = "\x0a\x1a"
                                 "containerd.runc.v1.Options"
                                 "\x12";
    g_autofree char *path = NULL;
    g_autoptr(GError) e1 = NULL, e2 = NULL;
    ck_assert(!shim_options_decode(garbage, sizeof(garbage), &path, &e1));
    ck_assert(strstr(e1->message, "neither"));
    /* sizeof includes the terminating NUL: the value's length byte 0. */
    ck_assert(!shim_options_decode(runc, sizeof(runc), &path, &e2));
    ck_assert_msg(strstr(e2->message, "'containerd.runc.v1.Options'"), "%s", e2->message);
}
END_TEST

/* Every prefix of valid input and random bytes: decoded or refused, never a crash (run under
 * ASan by CI). */
START_TEST(test_options_robust)
{
    g_autoptr(GRand) rand = g_rand_new_with_seed(7);
    for (gsize len = 0; len <= sizeof(options_any); len++) {
        g_autofree char *path = NULL;
        g_autoptr(GError) error = NULL;
        gboolean ok = shim_options_decode(options_any, len, &path, &error);
        ck_assert(ok ? error == NULL : (error != NULL && path == NULL));
    }
    for (int i = 0; i < 5000; i++) {
        guint8 buf[64];
        gsize len = (gsize)g_rand_int_range(rand, 0, sizeof(buf) + 1);
        for (gsize j = 0; j < len; j++)
            buf[j] = (guint8)g_rand_int_range(rand, 0, 256);
        g_autofree char *path = NULL;
        g_autoptr(GError) error = NULL;
        gboolean ok = shim_options_decode(buf, len, &path, &error);
        ck_assert(ok ? error == NULL : (error != NULL && path == NULL));
    }
}
END_TEST

START_TEST(test_args_go_style)
{
    char *argv[] = {"shim",
                    "-namespace",
                    "k8s.io",
                    "-address",
                    "/run/c.sock",
                    "-publish-binary",
                    "/usr/bin/containerd",
                    "-id",
                    "abc",
                    "-debug",
                    "start",
                    NULL};
    g_auto(ShimArgs) args = {0};
    g_autoptr(GError) error = NULL;
    ck_assert_msg(shim_args_parse(&args, G_N_ELEMENTS(argv) - 1, argv, &error), "%s",
                  error ? error->message : "");
    ck_assert_str_eq(args.namespace, "k8s.io");
    ck_assert_str_eq(args.address, "/run/c.sock");
    ck_assert_str_eq(args.publish_binary, "/usr/bin/containerd");
    ck_assert_str_eq(args.id, "abc");
    ck_assert(args.debug);
    ck_assert_str_eq(args.action, "start");
}
END_TEST

START_TEST(test_args_delete_and_errors)
{
    char *del[] = {"shim", "-namespace", "n", "-id", "x", "-bundle", "/b", "delete", NULL};
    char *unknown[] = {"shim", "-namespace", "n", "-id", "x", "-frobnicate", "start", NULL};
    char *action[] = {"shim", "-namespace", "n", "-id", "x", "explode", NULL};
    char *missing[] = {"shim", "-namespace", NULL};
    char *version[] = {"shim", "-v", NULL};
    g_auto(ShimArgs) a = {0}, b = {0}, c = {0}, d = {0}, e = {0};
    g_autoptr(GError) e1 = NULL, e2 = NULL, e3 = NULL;
    ck_assert(shim_args_parse(&a, 8, del, NULL));
    ck_assert_str_eq(a.bundle, "/b");
    ck_assert_str_eq(a.action, "delete");
    ck_assert(!shim_args_parse(&b, 7, unknown, &e1));
    ck_assert(strstr(e1->message, "-frobnicate"));
    ck_assert(!shim_args_parse(&c, 6, action, &e2));
    ck_assert(strstr(e2->message, "'explode'"));
    ck_assert(!shim_args_parse(&d, 2, missing, &e3));
    ck_assert(shim_args_parse(&e, 2, version, NULL));
    ck_assert(e.version);
}
END_TEST

START_TEST(test_group_and_ids)
{
    json_object *cri =
        json_tokener_parse("{\"annotations\": {\"io.kubernetes.cri.sandbox-id\": \"pod9\"}}");
    json_object *crio =
        json_tokener_parse("{\"annotations\": {\"io.kubernetes.cri-o.SandboxID\": \"pod7\"}}");
    json_object *plain = json_tokener_parse("{\"annotations\": {\"x\": \"y\"}}");
    ck_assert_str_eq(shim_spec_group(cri, "c1"), "pod9");
    ck_assert_str_eq(shim_spec_group(crio, "c1"), "pod7");
    ck_assert_str_eq(shim_spec_group(plain, "c1"), "c1");
    json_object_put(cri);
    json_object_put(crio);
    json_object_put(plain);

    ck_assert(common_id_is_valid("abc-1_2.3"));
    ck_assert(!common_id_is_valid(""));
    ck_assert(!common_id_is_valid("a/b"));
    ck_assert(!common_id_is_valid(".."));
    ck_assert(!common_id_is_valid(".hidden"));
    ck_assert(!common_id_is_valid("a b"));
    ck_assert(!common_id_is_valid(
        "0123456789012345678901234567890123456789012345678901234567890123456789"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("shim-start");
    TCase *tc = tcase_create("start");
    tcase_add_test(tc, test_socket_path);
    tcase_add_test(tc, test_options_any);
    tcase_add_test(tc, test_options_empty);
    tcase_add_test(tc, test_options_bootstrap);
    tcase_add_test(tc, test_options_bad);
    tcase_add_test(tc, test_options_robust);
    tcase_add_test(tc, test_args_go_style);
    tcase_add_test(tc, test_args_delete_and_errors);
    tcase_add_test(tc, test_group_and_ids);
    suite_add_tcase(s, tc);
    return test_util_run(s, CK_FORK_GETENV);
}
