/* common-fd.c: scoped file descriptors. */
#include "common-fd.h"

#include <errno.h>
#include <unistd.h>

void common_fd_close(int *fd)
{
    if (*fd < 0)
        return;
    int saved = errno;
    close(*fd);
    errno = saved;
    *fd = -1;
}
