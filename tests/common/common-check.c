/* common-check.c: the runner the common/ test binaries share. No fork: a failure's backtrace
 * and the sanitizers' reports stay in the test's own process. */
#include "common-check.h"

#include <stdlib.h>

int common_check_run(Suite *suite)
{
    SRunner *runner = srunner_create(suite);
    srunner_set_fork_status(runner, CK_NOFORK);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
