/* test-common-id: the id rule, accepted and refused ids, and the error it gives; the interface
 * name rule. */
#include <string.h>

#include "test-util.h"
#include "common-id.h"

#define TEST_ERROR (g_quark_from_static_string("test-common-id"))
#define TEST_CODE 7

/* 64 characters: the longest id there may be. */
#define ID_64 "0123456789012345678901234567890123456789012345678901234567890123"

START_TEST(test_accepted)
{
    static const char *const good[] = {"a", "A-b_c.d", "abc-1_2.3", "a.", "0", "-x", "_", ID_64};

    for (gsize i = 0; i < G_N_ELEMENTS(good); i++) {
        g_autoptr(GError) error = NULL;

        ck_assert_msg(common_id_is_valid(good[i]), "'%s' refused", good[i]);
        ck_assert_msg(common_id_check("id", good[i], TEST_ERROR, TEST_CODE, &error), "'%s'",
                      good[i]);
        ck_assert_ptr_null(error);
    }
}
END_TEST

START_TEST(test_refused)
{
    static const char *const bad[] = {
        NULL, "",    ".",    "..", ".a",  ".hidden", "a/b",     "a b",       "a\n",
        "ä",  "a:b", "a\\b", "a*", "a%b", "\t",      ID_64 "4", ID_64 ID_64,
    };

    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) error = NULL;

        ck_assert_msg(!common_id_is_valid(bad[i]), "'%s' accepted", bad[i]);
        ck_assert_msg(!common_id_check("container id", bad[i], TEST_ERROR, TEST_CODE, &error),
                      "'%s' accepted", bad[i]);
        ck_assert(g_error_matches(error, TEST_ERROR, TEST_CODE));
        ck_assert_msg(g_str_has_prefix(error->message, "container id '"), "%s", error->message);
        ck_assert_msg(strstr(error->message, COMMON_ID_RULE) != NULL, "%s", error->message);
    }
}
END_TEST

/* A peer's id shows escaped, and a long one not at all. */
START_TEST(test_message)
{
    g_autoptr(GError) newline = NULL;
    g_autoptr(GError) unset = NULL;
    g_autoptr(GError) along = NULL;

    common_id_check("exec id", "a\nb", TEST_ERROR, TEST_CODE, &newline);
    ck_assert_str_eq(newline->message, "exec id 'a\\nb' is not " COMMON_ID_RULE);
    common_id_check("exec id", NULL, TEST_ERROR, TEST_CODE, &unset);
    ck_assert_str_eq(unset->message, "exec id '(unset)' is not " COMMON_ID_RULE);
    common_id_check("exec id", ID_64 "x", TEST_ERROR, TEST_CODE, &along);
    ck_assert_str_eq(along->message, "exec id '(too long)' is not " COMMON_ID_RULE);
    /* No error asked for: still refused. */
    ck_assert(!common_id_check("exec id", "..", TEST_ERROR, TEST_CODE, NULL));
}
END_TEST

/* Interface names: the kernel's 15 characters, the same alphabet, "." and ".." refused. */
START_TEST(test_ifname)
{
    static const char *const good[] = {"eth0", "tap-a_b.c", ".x", "..a", "012345678901234"};
    static const char *const bad[] = {NULL, "", ".", "..", "0123456789012345", "a b", "a/b", "ä"};

    for (gsize i = 0; i < G_N_ELEMENTS(good); i++)
        ck_assert_msg(common_ifname_is_valid(good[i]), "'%s' refused", good[i]);
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++)
        ck_assert_msg(!common_ifname_is_valid(bad[i]), "'%s' accepted", bad[i]);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("common-id");
    TCase *rule = tcase_create("rule");
    tcase_add_test(rule, test_accepted);
    tcase_add_test(rule, test_refused);
    tcase_add_test(rule, test_message);
    tcase_add_test(rule, test_ifname);
    suite_add_tcase(suite, rule);
    return test_util_run(suite, CK_NOFORK);
}
