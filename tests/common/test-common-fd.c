/* test-common-fd: common_fd_close and the scoped fd close what they hold, once. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "test-util.h"
#include "common-fd.h"

static gboolean fd_is_open(int fd)
{
    return fcntl(fd, F_GETFD) >= 0;
}

START_TEST(test_close)
{
    int fds[2];

    ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
    int kept = fds[0];
    errno = EAGAIN;
    common_fd_close(&fds[0]);
    ck_assert_int_eq(fds[0], -1);
    ck_assert(!fd_is_open(kept));
    errno = EAGAIN;
    /* Closed already: nothing to do, and errno is left alone either way. */
    common_fd_close(&fds[0]);
    ck_assert_int_eq(errno, EAGAIN);
    common_fd_close(&fds[1]);
}
END_TEST

START_TEST(test_scoped)
{
    int seen;
    {
        common_autofd int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        seen = fd;
        ck_assert(fd_is_open(seen));
    }
    ck_assert(!fd_is_open(seen));
}
END_TEST

/* What g_steal_fd() hands on stays open when the scope ends. */
START_TEST(test_scoped_steal)
{
    int taken;
    {
        common_autofd int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        taken = g_steal_fd(&fd);
    }
    ck_assert(fd_is_open(taken));
    close(taken);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("common-fd");
    TCase *scoped = tcase_create("scoped");
    tcase_add_test(scoped, test_close);
    tcase_add_test(scoped, test_scoped);
    tcase_add_test(scoped, test_scoped_steal);
    suite_add_tcase(suite, scoped);
    return test_util_run(suite, CK_NOFORK);
}
