/* The orphan reaper (shim-reaper.c) in a subreaper test process: an orphan re-parented to it is
 * reaped from the main loop; a child that GLib waits for, or that still carries our command
 * name (libvirt's forks), is left to its waiter. */
#include <check.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test-util.h"
#include "shim-reaper.h"

#define REAPED_WITHIN_MS 2000
/* Well past the reaper's grace for a child's own waiter. */
#define LEFT_FOR_MS 500

static void setup(void)
{
    g_autoptr(GError) error = NULL;
    ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    ck_assert_msg(shim_reaper_start(&error), "%s", error ? error->message : "");
}

static gboolean gone(pid_t pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d", (int)pid);
    return !g_file_test(path, G_FILE_TEST_EXISTS);
}

/* A daemonizing fork, as libvirt starts QEMU: the intermediate (reaped here, as libvirt does)
 * leaves a `sleep @seconds` that is re-parented to us; returns its pid. */
static pid_t fork_orphan(const char *seconds)
{
    int pipefd[2];
    ck_assert_int_eq(pipe(pipefd), 0);
    pid_t intermediate = fork();
    ck_assert_int_ge(intermediate, 0);
    if (intermediate == 0) {
        pid_t daemon = fork();
        if (daemon == 0) {
            execl("/bin/sleep", "sleep", seconds, (char *)NULL);
            _exit(127);
        }
        (void)!write(pipefd[1], &daemon, sizeof(daemon));
        _exit(0);
    }
    pid_t orphan = 0;
    ck_assert_int_eq(read(pipefd[0], &orphan, sizeof(orphan)), sizeof(orphan));
    ck_assert_int_eq(waitpid(intermediate, NULL, 0), intermediate);
    close(pipefd[0]);
    close(pipefd[1]);
    return orphan;
}

/* The orphan exits later, while the test's own loop runs. */
START_TEST(test_orphan_reaped)
{
    pid_t orphan = fork_orphan("0.3");
    gint64 deadline = g_get_monotonic_time() + REAPED_WITHIN_MS * 1000;
    while (!gone(orphan) && test_util_iterate(deadline))
        ;
    ck_assert_msg(gone(orphan), "orphan %d was not reaped", (int)orphan);
}
END_TEST

/* The orphan exits while this thread is busy elsewhere and iterates no main context, as the
 * shim's main thread is while libvirt waits for a QEMU it killed to disappear: it is reaped all
 * the same. */
START_TEST(test_orphan_reaped_while_loop_blocked)
{
    pid_t orphan = fork_orphan("0");
    gint64 deadline = g_get_monotonic_time() + REAPED_WITHIN_MS * 1000;
    while (!gone(orphan) && g_get_monotonic_time() < deadline)
        g_usleep(10 * 1000);
    ck_assert_msg(gone(orphan), "orphan %d was not reaped while the loop was blocked", (int)orphan);
}
END_TEST

typedef struct {
    gboolean done;
    int status;
} Exit;

static void on_exit_status(GPid pid, gint status, gpointer data)
{
    Exit *exit = data;
    (void)pid;
    exit->done = TRUE;
    exit->status = status;
}

/* GLib waits for this child: its status reaches GLib, not the reaper. */
START_TEST(test_waited_child_left)
{
    const char *argv[] = {"/bin/sh", "-c", "exit 3", NULL};
    g_autoptr(GError) error = NULL;
    Exit exit = {0};
    GPid pid;
    ck_assert_msg(g_spawn_async(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                &pid, &error),
                  "%s", error ? error->message : "");
    g_child_watch_add(pid, on_exit_status, &exit);
    test_util_run_until(&exit.done, REAPED_WITHIN_MS * G_TIME_SPAN_MILLISECOND);
    ck_assert(exit.done);
    ck_assert_msg(WIFEXITED(exit.status) && WEXITSTATUS(exit.status) == 3, "wait status %d",
                  exit.status);
}
END_TEST

/* A fork that has not exec'd carries our command name: libvirt's, which libvirt waits for. */
START_TEST(test_our_fork_left)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(7);
    test_util_run_for(LEFT_FOR_MS * G_TIME_SPAN_MILLISECOND);
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, WNOHANG), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 7);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("shim-reaper");
    TCase *tc = tcase_create("reaper");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_orphan_reaped);
    tcase_add_test(tc, test_orphan_reaped_while_loop_blocked);
    tcase_add_test(tc, test_waited_child_left);
    tcase_add_test(tc, test_our_fork_left);
    suite_add_tcase(suite, tc);
    return test_util_run(suite, CK_FORK_GETENV);
}
