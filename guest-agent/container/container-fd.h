/* container-fd.h: scoped file descriptors (GLib 2.74 has no g_autofd). */
#pragma once

#include <errno.h>
#include <unistd.h>

static inline void container_fd_close(int *fd)
{
    if (*fd >= 0) {
        int saved = errno;
        close(*fd);
        errno = saved;
        *fd = -1;
    }
}

/* Closes the fd when the variable goes out of scope; hand it on with container_fd_steal(). */
#define container_autofd __attribute__((cleanup(container_fd_close)))

static inline int container_fd_steal(int *fd)
{
    int v = *fd;
    *fd = -1;
    return v;
}
