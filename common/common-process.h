/* common-process.h: which process a pid names. A pid is reused once its process is reaped; a
 * pidfd names one process for good. So a process we start is held by a pidfd from its start
 * (pidfd_open() right after the spawn, or clone3's CLONE_PIDFD) and signalled and waited for
 * through it. Only a pid that comes without one, read from a dead daemon's state file or found
 * under /proc (libvirt's daemonized QEMU), needs telling apart by its command line: these
 * helpers take the pidfd first and read the command line after, so a reused pid cannot pass. */
#pragma once

#include <glib.h>
#include <sys/types.h>

/* The argv of the process that @pidfd holds, whose pid is @pid; NULL once it has exited (a
 * zombie has no argv), for a kernel thread, or when /proc cannot tell. The text is read after the
 * pidfd was taken and counts only if the process is still alive after the read: the pid was
 * then still its own. Free with g_strfreev(). */
GStrv common_process_argv(int pidfd, pid_t pid);

/* A pidfd (owned by the caller) on @pid if that process is alive and one of its arguments,
 * argv[0] included, contains @needle; else -1, errno ESRCH when it is gone or not the one. */
int common_process_open_mentioning(pid_t pid, const char *needle);
