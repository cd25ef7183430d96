/* The Check runner every vmm test binary uses. */
#include <stdlib.h>

#include "vmm-test.h"

int vmm_test_run(const char *name, const TTest *const *tests, double timeout)
{
    Suite *suite = suite_create(name);
    TCase *tcase = tcase_create(name);
    SRunner *runner;
    int failed;

    tcase_set_timeout(tcase, timeout);
    for (guint i = 0; tests[i] != NULL; i++)
        _tcase_add_test(tcase, tests[i], 0, 0, 0, 1);
    suite_add_tcase(suite, tcase);
    runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
