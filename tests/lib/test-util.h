/* What every Check test binary needs: the runner, the skip (exit 77, never in CI), and waiting on
 * a main context until something happened. */
#pragma once

#include <check.h>
#include <glib.h>

G_BEGIN_DECLS

/* Says on stderr why a test binary, or a part of one, cannot run on this machine. Returns TRUE
 * when the caller may leave it out; FALSE when CI=true, where nothing may skip and the caller
 * must fail instead. */
gboolean test_util_may_skip(const char *reason);

/* Exits 77 (meson's "skipped") with @reason, or 1 when CI=true. */
G_NORETURN void test_util_skip(const char *reason);

/* test_util_skip(@reason) unless @ok. */
void test_util_require(gboolean ok, const char *reason);

/* Runs every test of @suite (taking it), naming each on stdout, with @fork_status: CK_NOFORK to
 * run the tests in this process (sanitizers see one process, a checked fixture's teardown runs
 * after a failure), CK_FORK_GETENV for Check's default (a process per test unless CK_FORK=no).
 * Returns EXIT_SUCCESS when every test passed, else EXIT_FAILURE. */
int test_util_run(Suite *suite, enum fork_status fork_status);

/* One step of a wait: iterates the thread-default main context once, blocking for a few
 * milliseconds at most, so that the caller also sees what the context does not watch (a child's
 * exit). FALSE, without iterating, once the monotonic clock has reached @deadline_us. */
gboolean test_util_iterate(gint64 deadline_us);

/* Iterates the thread-default main context until *@flag is set or @timeout_us has passed;
 * returns *@flag. */
gboolean test_util_run_until(const gboolean *flag, gint64 timeout_us);

/* Iterates the thread-default main context for @duration_us, whatever happens: lets what is
 * due happen (or show that it does not). */
void test_util_run_for(gint64 duration_us);

/* Iterates the thread-default main context until the expression @cond holds; fails the test
 * when @timeout_us passes first. */
#define TEST_UTIL_WAIT(cond, timeout_us)                                                           \
    do {                                                                                           \
        gint64 test_util_deadline_ = g_get_monotonic_time() + (timeout_us);                        \
        while (!(cond))                                                                            \
            ck_assert_msg(test_util_iterate(test_util_deadline_), "timed out waiting for " #cond); \
    } while (0)

G_END_DECLS
