/* common-exit.c: process exit seen through a pidfd. */
#include "common-exit.h"

#include <errno.h>
#include <poll.h>

gboolean common_exit_happened(int pidfd)
{
    return common_exit_wait(pidfd, 0);
}

gboolean common_exit_wait(int pidfd, int timeout_ms)
{
    g_return_val_if_fail(pidfd >= 0, FALSE);

    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    struct pollfd exited = {.fd = pidfd, .events = POLLIN};
    int left = timeout_ms;
    int n;

    /* A signal handler may cut the wait short: resume it with what is left. */
    while ((n = poll(&exited, 1, left)) < 0 && errno == EINTR) {
        if (timeout_ms >= 0)
            left = (int)MAX((deadline - g_get_monotonic_time()) / 1000, 0);
    }
    return n == 1;
}
