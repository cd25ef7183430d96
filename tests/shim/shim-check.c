/* The common main() tail of the shim's Check test binaries. */
#include "shim-check.h"

#include <stdlib.h>

int shim_check_run(Suite *suite, int nofork)
{
    SRunner *sr = srunner_create(suite);
    if (nofork)
        srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_VERBOSE);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
