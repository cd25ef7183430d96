/* common-fd.h: scoped file descriptors. GLib has g_autofd and g_clear_fd from 2.76 on; we build
 * against 2.74 (Debian 12), so these stand in for them until the minimum moves. Hand an fd on
 * with g_steal_fd() (GLib 2.70). */
#pragma once

#include <glib.h>

/* Closes *@fd if it is open (>= 0) and sets it to -1. errno is kept, so it can run on an error
 * path between a failed call and the report of its errno. */
void common_fd_close(int *fd);

/* Closes the int variable it marks when that goes out of scope: `common_autofd int fd = ...;`. */
#define common_autofd __attribute__((cleanup(common_fd_close)))
