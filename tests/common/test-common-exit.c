/* test-common-exit: a pidfd shows the exit of a real child that nobody has reaped yet, ours or
 * another process's, and not of a live one. */
#include <signal.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test-util.h"
#include "common-exit.h"
#include "common-fd.h"

/* TRUE while @pid is an unreaped child of ours (WNOWAIT: it stays so). */
static gboolean is_unreaped_zombie(pid_t pid)
{
    siginfo_t info = {0};
    return waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid;
}

START_TEST(test_live_child)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        pause();
        _exit(0);
    }
    common_autofd int pidfd = pidfd_open(pid, 0);
    ck_assert_int_ge(pidfd, 0);

    ck_assert(!common_exit_happened(pidfd));
    gint64 start = g_get_monotonic_time();
    ck_assert(!common_exit_wait(pidfd, 100));
    ck_assert_int_ge(g_get_monotonic_time() - start, 90 * 1000);

    kill(pid, SIGKILL);
    ck_assert(common_exit_wait(pidfd, -1));
    ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
}
END_TEST

START_TEST(test_unreaped_child)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(3);
    common_autofd int pidfd = pidfd_open(pid, 0);
    ck_assert_int_ge(pidfd, 0);

    ck_assert(common_exit_wait(pidfd, 10000));
    ck_assert(is_unreaped_zombie(pid));
    ck_assert(common_exit_happened(pidfd));

    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 3);
    /* Reaped: still seen as exited through the pidfd we hold. */
    ck_assert(common_exit_happened(pidfd));
}
END_TEST

/* The case of cleanup code: a zombie that is another process's to reap (as libvirt's QEMU is
 * the child of libvirt's intermediate, or of init). */
START_TEST(test_others_zombie)
{
    int report[2];
    ck_assert_int_eq(pipe(report), 0);
    pid_t parent = fork();
    ck_assert_int_ge(parent, 0);
    if (parent == 0) {
        pid_t grandchild = fork();
        if (grandchild == 0)
            _exit(0);
        /* Tells us the pid, then never reaps it. */
        if (write(report[1], &grandchild, sizeof grandchild) != sizeof grandchild)
            _exit(1);
        pause();
        _exit(0);
    }
    close(report[1]);
    pid_t grandchild = 0;
    ck_assert_int_eq(read(report[0], &grandchild, sizeof grandchild), sizeof grandchild);
    close(report[0]);

    common_autofd int pidfd = pidfd_open(grandchild, 0);
    ck_assert_int_ge(pidfd, 0);
    ck_assert(common_exit_wait(pidfd, 10000));
    g_autofree char *stat_path = g_strdup_printf("/proc/%d/stat", (int)grandchild);
    ck_assert(g_file_test(stat_path, G_FILE_TEST_EXISTS));

    kill(parent, SIGKILL);
    ck_assert_int_eq(waitpid(parent, NULL, 0), parent);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("common-exit");
    TCase *exits = tcase_create("exit");
    tcase_add_test(exits, test_live_child);
    tcase_add_test(exits, test_unreaped_child);
    tcase_add_test(exits, test_others_zombie);
    suite_add_tcase(suite, exits);
    return test_util_run(suite, CK_NOFORK);
}
