/* The Check runner, the skip and the main context waits shared by the test binaries. */
#include "test-util.h"

#include <stdio.h>
#include <stdlib.h>

/* How long one wait step may block: short enough that a condition outside the context is seen
 * soon, long enough that a wait does not spin. */
#define STEP_MS 10

gboolean test_util_may_skip(const char *reason)
{
    if (g_strcmp0(g_getenv("CI"), "true") == 0) {
        fprintf(stderr, "FAIL (CI=true, cannot skip): %s\n", reason);
        return FALSE;
    }
    fprintf(stderr, "SKIP: %s\n", reason);
    return TRUE;
}

void test_util_skip(const char *reason)
{
    exit(test_util_may_skip(reason) ? 77 : EXIT_FAILURE);
}

void test_util_require(gboolean ok, const char *reason)
{
    if (!ok)
        test_util_skip(reason);
}

int test_util_run(Suite *suite, enum fork_status fork_status)
{
    SRunner *runner = srunner_create(suite);
    int failed;

    srunner_set_fork_status(runner, fork_status);
    srunner_run_all(runner, CK_VERBOSE);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static gboolean on_step_over(gpointer data)
{
    (void)data;
    return G_SOURCE_REMOVE;
}

gboolean test_util_iterate(gint64 deadline_us)
{
    g_autoptr(GMainContext) context = g_main_context_ref_thread_default();
    gint64 left_us = deadline_us - g_get_monotonic_time();
    g_autoptr(GSource) step = NULL;

    if (left_us <= 0)
        return FALSE;
    /* The step's own source ends a blocking iteration that nothing else would. */
    step = g_timeout_source_new(MIN(left_us / 1000, STEP_MS));
    g_source_set_callback(step, on_step_over, NULL, NULL);
    g_source_attach(step, context);
    g_main_context_iteration(context, TRUE);
    g_source_destroy(step);
    return TRUE;
}

gboolean test_util_run_until(const gboolean *flag, gint64 timeout_us)
{
    gint64 deadline_us = g_get_monotonic_time() + timeout_us;

    while (!*flag && test_util_iterate(deadline_us))
        ;
    return *flag;
}

void test_util_run_for(gint64 duration_us)
{
    gint64 deadline_us = g_get_monotonic_time() + duration_us;

    while (test_util_iterate(deadline_us))
        ;
}
