/* test-common-json: g_autoptr(json_object) drops its reference when the scope ends. */
#include "test-util.h"
#include "common-json.h"

START_TEST(test_autoptr_puts)
{
    json_object *kept = json_object_new_object();
    {
        g_autoptr(json_object) owned = json_object_get(kept);
        ck_assert_ptr_eq(owned, kept);
    }
    /* Ours is the last reference now: this put frees it (1), where a leaked one would not. */
    ck_assert_int_eq(json_object_put(kept), 1);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("common-json");
    TCase *cleanup = tcase_create("cleanup");
    tcase_add_test(cleanup, test_autoptr_puts);
    suite_add_tcase(suite, cleanup);
    return test_util_run(suite, CK_NOFORK);
}
