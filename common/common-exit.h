/* common-exit.h: whether a process has exited, seen through its pidfd. A pidfd is readable from
 * the moment its process is a zombie, reaped or not, our child or another's; unlike the state
 * letter in /proc/<pid>/stat, it cannot be read off a process that reused the pid. */
#pragma once

#include <glib.h>

/* TRUE if the process that @pidfd holds has exited (a zombie counts). Never blocks. */
gboolean common_exit_happened(int pidfd);

/* Waits up to @timeout_ms (-1: no limit) for the process that @pidfd holds to exit; TRUE once
 * it has. Blocks the calling thread: for the command line and for teardown that must be done
 * before it returns; an event loop watches the pidfd instead (g_unix_fd_add(G_IO_IN)). */
gboolean common_exit_wait(int pidfd, int timeout_ms);
