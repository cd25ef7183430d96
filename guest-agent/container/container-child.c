/* container-child.c: the sync protocol and the small helpers every child step uses. */
#include "container-child.h"
#include "common-fd.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

int child_fail(ChildError *ce, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ce->msg, sizeof ce->msg, fmt, ap);
    va_end(ap);
    ce->err = err;
    ce->code = CONTAINER_ERROR_FAILED;
    return -1;
}

int sync_send(int sock, const SyncMsg *msg, int fd)
{
    struct iovec iov = {.iov_base = (void *)msg, .iov_len = sizeof *msg};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    memset(&control, 0, sizeof control);
    if (fd >= 0) {
        mh.msg_control = control.buf;
        mh.msg_controllen = sizeof control.buf;
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof fd);
    }
    ssize_t n;
    do
        n = sendmsg(sock, &mh, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    return n == (ssize_t)sizeof *msg ? 0 : -EPROTO;
}

int sync_recv(int sock, SyncMsg *msg, int *out_fd)
{
    struct iovec iov = {.iov_base = msg, .iov_len = sizeof *msg};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct msghdr mh = {.msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = control.buf,
                        .msg_controllen = sizeof control.buf};
    ssize_t n;
    *out_fd = -1;
    do
        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
            cm->cmsg_len == CMSG_LEN(sizeof(int)))
            memcpy(out_fd, CMSG_DATA(cm), sizeof(int));
    }
    if (n == 0)
        return 0;
    if (n != (ssize_t)sizeof *msg || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
        common_fd_close(out_fd);
        return -EPROTO;
    }
    msg->error.msg[sizeof msg->error.msg - 1] = '\0';
    return 1;
}

void child_exit_error(int sock, const ChildError *ce, int status)
{
    SyncMsg msg = {.kind = SYNC_ERROR, .error = *ce};
    sync_send(sock, &msg, -1);
    _exit(status);
}

void child_die(int sock, int err, const char *fmt, ...)
{
    ChildError ce;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ce.msg, sizeof ce.msg, fmt, ap);
    va_end(ap);
    ce.err = err;
    ce.code = CONTAINER_ERROR_FAILED;
    child_exit_error(sock, &ce, 1);
}

static int compare_ints(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

int child_close_fds_except(const int *keep, gsize n, ChildError *ce)
{
    int sorted[16];
    gsize m = 0;
    g_assert(n <= G_N_ELEMENTS(sorted));
    for (gsize i = 0; i < n; i++)
        if (keep[i] > 2)
            sorted[m++] = keep[i];
    qsort(sorted, m, sizeof sorted[0], compare_ints);
    /* 0-2 stay open so that fds opened later never land there by accident. */
    unsigned int from = 3;
    for (gsize i = 0; i <= m; i++) {
        unsigned int to = i < m ? (unsigned int)sorted[i] : ~0U;
        if (to > from && syscall(SYS_close_range, from, to - 1, 0) < 0)
            return child_fail(ce, errno, "close_range");
        if (i < m)
            from = (unsigned int)sorted[i] + 1;
    }
    return 0;
}

int child_open_in_root(int rootfd, const char *path, int flags)
{
    struct open_how how = {
        .flags = (guint64)(flags | O_CLOEXEC),
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    while (*path == '/')
        path++;
    return (int)syscall(SYS_openat2, rootfd, *path ? path : ".", &how, sizeof how);
}
