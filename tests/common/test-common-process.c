/* test-common-process: a pidfd and the command line read under it name a live child; an exited
 * one (unreaped or reaped) and a pid whose pidfd holds another, exited process do not pass. */
#include <errno.h>
#include <signal.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test-util.h"
#include "common-exit.h"
#include "common-fd.h"
#include "common-process.h"

/* A child running sleep under an argv[0] (the marker) that names this test and this run. */
typedef struct {
    char *marker;
    pid_t pid;
    int pidfd;
} Sleeper;

/* Starts it and returns once it has exec'd: until then it shows our own command line. */
static void sleeper_start(Sleeper *s)
{
    s->marker = g_strdup_printf("common-process-test-%d-%u", (int)getpid(), g_random_int());
    s->pid = fork();
    ck_assert_int_ge(s->pid, 0);
    if (s->pid == 0) {
        execl("/bin/sleep", s->marker, "60", (char *)NULL);
        _exit(127);
    }
    s->pidfd = pidfd_open(s->pid, 0);
    ck_assert_int_ge(s->pidfd, 0);
    for (int i = 0; i < 1000; i++) {
        g_auto(GStrv) argv = common_process_argv(s->pidfd, s->pid);
        if (argv != NULL && g_str_equal(argv[0], s->marker))
            return;
        g_usleep(5000);
    }
    ck_abort_msg("the child did not exec in 5 s");
}

/* Kills it and waits until it is a zombie, unreaped. */
static void sleeper_kill(Sleeper *s)
{
    ck_assert_int_eq(pidfd_send_signal(s->pidfd, SIGKILL, NULL, 0), 0);
    ck_assert(common_exit_wait(s->pidfd, 10000));
}

static void sleeper_reap(Sleeper *s)
{
    ck_assert_int_eq(waitpid(s->pid, NULL, 0), s->pid);
    common_fd_close(&s->pidfd);
    g_free(s->marker);
}

START_TEST(test_live_child)
{
    Sleeper s;
    sleeper_start(&s);

    g_auto(GStrv) argv = common_process_argv(s.pidfd, s.pid);
    ck_assert_ptr_nonnull(argv);
    ck_assert_str_eq(argv[0], s.marker);
    ck_assert_str_eq(argv[1], "60");
    ck_assert_ptr_null(argv[2]);

    common_autofd int pidfd = common_process_open_mentioning(s.pid, s.marker);
    ck_assert_int_ge(pidfd, 0);
    /* Any argument counts, and a part of one. */
    common_autofd int by_arg = common_process_open_mentioning(s.pid, "60");
    ck_assert_int_ge(by_arg, 0);
    errno = 0;
    ck_assert_int_eq(common_process_open_mentioning(s.pid, "not-in-its-argv"), -1);
    ck_assert_int_eq(errno, ESRCH);

    sleeper_kill(&s);
    sleeper_reap(&s);
}
END_TEST

START_TEST(test_exited_child)
{
    Sleeper s;
    sleeper_start(&s);
    sleeper_kill(&s);

    /* A zombie: the pid is still taken, but there is no process to mean any more. */
    ck_assert_ptr_null(common_process_argv(s.pidfd, s.pid));
    errno = 0;
    ck_assert_int_eq(common_process_open_mentioning(s.pid, s.marker), -1);
    ck_assert_int_eq(errno, ESRCH);

    pid_t pid = s.pid;
    g_autofree char *marker = g_strdup(s.marker);
    sleeper_reap(&s);
    errno = 0;
    ck_assert_int_eq(common_process_open_mentioning(pid, marker), -1);
    ck_assert_int_eq(errno, ESRCH);
}
END_TEST

/* A reused pid, as seen by a holder of the old process's pidfd: the pid's new owner is alive and
 * has a command line, but it is not the process the pidfd holds. */
START_TEST(test_reused_pid)
{
    Sleeper old, other;
    sleeper_start(&old);
    sleeper_kill(&old);
    common_autofd int old_pidfd = g_steal_fd(&old.pidfd);
    sleeper_reap(&old);

    sleeper_start(&other);
    ck_assert_ptr_null(common_process_argv(old_pidfd, other.pid));
    sleeper_kill(&other);
    sleeper_reap(&other);
}
END_TEST

START_TEST(test_no_pid)
{
    errno = 0;
    ck_assert_int_eq(common_process_open_mentioning(0, "x"), -1);
    ck_assert_int_eq(errno, ESRCH);
    ck_assert_int_eq(common_process_open_mentioning(-1, "x"), -1);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("common-process");
    TCase *identity = tcase_create("identity");
    tcase_add_test(identity, test_live_child);
    tcase_add_test(identity, test_exited_child);
    tcase_add_test(identity, test_reused_pid);
    tcase_add_test(identity, test_no_pid);
    suite_add_tcase(suite, identity);
    return test_util_run(suite, CK_NOFORK);
}
