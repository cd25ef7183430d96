/* container-child.h: what runs in the cloned child between clone3() and execve(), and the sync
 * protocol between it and the builder.
 *
 * The child is a fork of a possibly multi-threaded process image, so it never allocates: every
 * step takes prepared data (OciSpec, OciProcess) and reports failure in a fixed-size ChildError. */
#pragma once

#include <sys/types.h>

#include "oci-spec-private.h"

typedef struct {
    int err;       /* errno of the failed call, 0 if none */
    guint32 code;  /* ContainerErrorCode for the caller: child_fail() sets _FAILED */
    char msg[400]; /* what failed, with the values it names */
} ChildError;

/* Records a failure (errno `err`, code CONTAINER_ERROR_FAILED) with a printf-style message;
 * returns -1. */
int child_fail(ChildError *ce, int err, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* ---- sync protocol (SOCK_SEQPACKET socketpair) ---- */

typedef enum {
    SYNC_READY = 1, /* child -> builder: init set up, waiting for SYNC_START */
    SYNC_START,     /* builder -> child: go on to execve */
    SYNC_ERROR,     /* child -> builder: setup failed (ChildError follows) */
    SYNC_PID,       /* exec helper -> builder: pid of the exec'd process */
    SYNC_PTY,       /* child -> builder: pty master attached as SCM_RIGHTS */
} SyncKind;

typedef struct {
    guint32 kind; /* SyncKind */
    gint32 pid;
    ChildError error;
} SyncMsg;

/* Sends `msg` (and `fd` as SCM_RIGHTS unless -1). Returns 0 or -errno. */
int sync_send(int sock, const SyncMsg *msg, int fd);
/* Receives one message (and an attached fd into *out_fd, -1 if none). Returns 1, 0 at EOF, or
 * -errno. A message of the wrong size is -EPROTO. */
int sync_recv(int sock, SyncMsg *msg, int *out_fd);
/* Sends ce as SYNC_ERROR and exits the child with `status`. */
G_NORETURN void child_exit_error(int sock, const ChildError *ce, int status);
/* Records a failure like child_fail() and exits like child_exit_error() with status 1. */
G_NORETURN void child_die(int sock, int err, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* ---- child steps ---- */

/* Closes every fd above 2 except those in keep[0..n) (at most 16; -1 entries are skipped). */
int child_close_fds_except(const int *keep, gsize n, ChildError *ce);

/* Builds the container's mount tree inside `rootfs` (spec mounts, `devices`: the spec's that the
 * kernel has, masked and read-only paths), pivots into it, sets hostname and sysctls. Called in
 * the new mount/UTS namespaces. */
int child_setup_rootfs(const OciSpec *spec, const OciDevice *devices, gsize n_devices,
                       const char *rootfs, ChildError *ce);

/* Makes stdio_fds[0..2] the process's fds 0-2 and starts a new session. */
int child_setup_stdio(const int stdio_fds[3], ChildError *ce);
/* Opens a pty in the container's /dev (the current root), sends its master on `sock`, makes the
 * slave the controlling terminal and fds 0-2; with `console` (the init) also /dev/console. */
int child_setup_terminal(const OciProcess *p, gboolean console, int sock, ChildError *ce);

/* Applies the process's cwd, rlimits, user, capabilities, no_new_privs and the spec's seccomp
 * filter, marks every fd but 0-2 close-on-exec and execs. Returns only on failure. */
int child_exec_process(const OciProcess *p, const OciSpec *spec, ChildError *ce);

/* Opens `path` (absolute, no '..') beneath `rootfd`, resolving symlinks as if rootfd were '/'.
 * Returns the fd or -1 with errno set. */
int child_open_in_root(int rootfd, const char *path, int flags);
