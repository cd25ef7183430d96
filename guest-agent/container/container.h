/* container.h: builds and runs one container from an OCI runtime spec (Linux, as root).
 *
 * Used by the guest agent inside the pod VM and by tests on the host. Single-threaded callers only:
 * the builder forks with raw clone3() and does setup in the child without taking locks.
 *
 * Process ownership: every process a container runs (its init and each exec'd process) ends up as a
 * direct child of the calling process, which must reap it (signalfd + waitpid(-1) in the agent,
 * waitpid() in tests). The builder itself only waits for short-lived helper processes it created
 * inside one call; it never installs child watches and never reaps container processes.
 * container_create, container_start and container_exec block until the child reports back
 * (milliseconds normally; they give up after 60 s and end the child); container_create_async
 * waits for the setup from the caller's event loop instead.
 * container_pause, container_resume and container_destroy wait up to 5 s for the cgroup.
 *
 * Paths: `rootfs` and bind-mount sources are paths of the caller's mount namespace. Every path
 * inside the container (mount destinations, cwd, masked/read-only paths, devices) is resolved
 * inside the container root: a `..` component is rejected when the spec is parsed; symlinks
 * (absolute or relative) are resolved as if the container root were `/`, so they never lead out
 * of it, and one whose target does not exist inside the root is refused with an error naming it.
 *
 * What the container's processes get: new namespaces per spec, a pivot_root into the root (or,
 * where the caller's root is the initramfs, which cannot be pivoted away, MS_MOVE + chroot), the
 * cgroup <cgroup_root>/<id> with the spec's limits and a BPF device filter from
 * linux.resources.devices, the spec's user, capabilities, rlimits, no_new_privs and seccomp
 * filter, default signal dispositions and an empty signal mask, and no fd but 0-2. An ambient
 * capability the kernel will not raise (one not both permitted and inheritable) is skipped, as
 * runc does, with a debug message when the spec is parsed.
 */
#pragma once

#include <glib.h>
#include <sys/types.h>

#include "cgroups-v2-metrics.pb-c.h"

G_BEGIN_DECLS

#define CONTAINER_ERROR (container_error_quark())
GQuark container_error_quark(void);

typedef enum {
    CONTAINER_ERROR_INVALID,     /* malformed or out-of-bounds input (JSON, ids, sizes, paths) */
    CONTAINER_ERROR_UNSUPPORTED, /* a spec feature this builder does not implement (named in the
                                    message) */
    CONTAINER_ERROR_ESCAPE,      /* a path would leave the container root */
    CONTAINER_ERROR_STATE,  /* wrong state for the call (e.g. start twice, exec before start) */
    CONTAINER_ERROR_FAILED, /* a system call failed; the message names it and the errno text */
    CONTAINER_ERROR_LAST
} ContainerErrorCode;

/* Largest config.json / process / resources JSON accepted. */
#define OCI_SPEC_MAX_BYTES (1024 * 1024)

/* ---- OCI spec parsing (oci-spec.c) ---- */

/* A validated OCI runtime spec. Immutable after parsing. */
typedef struct OciSpec OciSpec;
/* A validated OCI "process" object (the spec's own, or one given to exec). */
typedef struct OciProcess OciProcess;

/* Parses config.json bytes (need not be NUL-terminated). Returns a new spec (free with
 * oci_spec_free) or NULL with CONTAINER_ERROR_INVALID / _UNSUPPORTED naming the field. */
OciSpec *oci_spec_parse(const char *json, gsize len, GError **error);
void oci_spec_free(OciSpec *spec);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(OciSpec, oci_spec_free)

/* Parses an OCI "process" object, as ExecProcess receives it. Free with oci_process_free. */
OciProcess *oci_process_parse(const char *json, gsize len, GError **error);
void oci_process_free(OciProcess *process);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(OciProcess, oci_process_free)

/* The spec's process (borrowed from spec). */
const OciProcess *oci_spec_get_process(const OciSpec *spec);
/* True when the process asks for a terminal (process.terminal). */
gboolean oci_process_get_terminal(const OciProcess *process);

/* ---- containers (container.c and friends) ---- */

/* Where a container process's stdio goes. */
typedef struct {
    /* TRUE: the builder allocates a pty inside the container (its own devpts instance when /dev/pts
     * is mounted there), makes the slave the process's controlling terminal and stdio, and hands
     * the master back to the caller. The fds below are then ignored. */
    gboolean terminal;
    /* Borrowed; dup'ed into the child as 0, 1, 2. -1 means /dev/null. The caller keeps (and
     * closes) its copies. */
    int stdin_fd;
    int stdout_fd;
    int stderr_fd;
} ContainerStdio;

typedef struct Container Container;

/* Builds container `id` (1..64 chars of [A-Za-z0-9_.-], not starting with '.') from `spec`:
 * creates the cgroup `<cgroup_root>/<id>` (cgroup v2; the needed controllers are enabled in
 * cgroup_root's cgroup.subtree_control) with the spec's limits, clones the init process into new
 * namespaces (mount, PID, UTS, IPC, and the others the spec lists), mounts, pivots into `rootfs`
 * (overrides spec root.path), and leaves the init stopped just before execve until
 * container_start(). `spec` is copied as needed; `stdio` is borrowed. On terminal stdio,
 * *out_pty_master receives the pty master (owned by the caller, O_CLOEXEC); otherwise it is set
 * to -1. out_pty_master may be NULL only when stdio is not a terminal.
 * Returns a new Container (free with container_destroy) or NULL; on failure nothing is left
 * behind (no process, mount, cgroup or fd). */
Container *container_create(const char *id, const OciSpec *spec, const char *rootfs,
                            const char *cgroup_root, const ContainerStdio *stdio,
                            int *out_pty_master, GError **error);

/* container_create() without blocking on the init's setup, for a caller with an event loop: the
 * cgroup is made and the init cloned at once (NULL and @error when that fails: nothing is left),
 * then its setup report is awaited by a watch on its sync socket in @context (NULL: the global
 * default), with the same 60 s limit, while the loop serves other work. @func runs once from
 * @context, never from inside this call, with the new Container (transfer full) and its pty
 * master (*@pty_master: take it with g_steal_fd(), else it is closed; -1 without a terminal), or
 * NULL and the error (nothing is left); the handle is freed after it returns. The init is the
 * caller's child from the start: a caller that reaps every child (waitpid(-1)) may reap it
 * before @func runs, which then reports the failed setup. */
typedef struct ContainerCreate ContainerCreate;
typedef void (*ContainerCreateFunc)(Container *container, int *pty_master, const GError *error,
                                    gpointer user_data);
ContainerCreate *container_create_async(const char *id, const OciSpec *spec, const char *rootfs,
                                        const char *cgroup_root, const ContainerStdio *stdio,
                                        GMainContext *context, ContainerCreateFunc func,
                                        gpointer user_data, GError **error);
/* The init's pid (the caller's PID namespace) while its setup runs. */
pid_t container_create_get_pid(const ContainerCreate *create);
/* Ends the init, removes what was made, frees @create; its function is not called. */
void container_create_cancel(ContainerCreate *create);

const char *container_get_id(const Container *container);
/* Host pid (the caller's PID namespace) of the init process. */
pid_t container_get_pid(const Container *container);

/* Lets the init process exec the spec's program. Returns once execve succeeded, or FALSE with the
 * reason (e.g. "exec 'foo': No such file or directory"; the init then exits, status 127). */
gboolean container_start(Container *container, GError **error);

/* Runs `process` inside the started container: joins the init's namespaces and cgroup, applies the
 * same security setup (user, caps, rlimits, no_new_privs, the container's seccomp profile) and
 * execs. The new process is a child of the caller. Returns its host pid once execve succeeded,
 * or -1. `process` and `stdio` are borrowed; *out_pty_master as for container_create. */
pid_t container_exec(Container *container, const OciProcess *process, const ContainerStdio *stdio,
                     int *out_pty_master, GError **error);

/* Sends `sig` to the init process, or with `all` to every process in the container's cgroup. */
gboolean container_signal(Container *container, int sig, gboolean all, GError **error);

/* Freezes (cgroup.freeze) every process and waits until the cgroup reports frozen. */
gboolean container_pause(Container *container, GError **error);
/* Thaws the container and waits until the cgroup reports it is no longer frozen. */
gboolean container_resume(Container *container, GError **error);

/* Reads cgroup v2 statistics. Returns a new message owned by the caller, freed with
 * io__containerd__cgroups__v2__metrics__free_unpacked(m, NULL); sub-messages whose controller is
 * not enabled are left NULL. */
Io__Containerd__Cgroups__V2__Metrics *container_stats(Container *container, GError **error);

/* Applies an OCI linux.resources object (JSON bytes) to the container's cgroup. */
gboolean container_update(Container *container, const char *resources_json, gsize len,
                          GError **error);

/* The container's pids (host PID namespace), from cgroup.procs. Returns a new GArray of pid_t. */
GArray *container_list_pids(Container *container, GError **error);

/* A read-only fd of the cgroup's memory.events, borrowed (valid until container_destroy), or -1
 * when the memory controller is not enabled. The kernel signals a change with POLLPRI (G_IO_PRI
 * in a GLib source); then call container_get_oom_kill_count(). */
int container_get_memory_events_fd(Container *container);
/* Number of OOM kills in the container so far (memory.events "oom_kill"). */
gboolean container_get_oom_kill_count(Container *container, guint64 *out_count, GError **error);

/* SIGKILLs every process of the container, waits (bounded) until the cgroup is empty, removes the
 * cgroup and frees `container`. The killed processes stay zombies until the caller reaps them.
 * Returns FALSE if the cgroup could not be emptied or removed; the container is freed anyway. */
gboolean container_destroy(Container *container, GError **error);

static inline void container_destroy_quietly(Container *container)
{
    container_destroy(container, NULL);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Container, container_destroy_quietly)

G_END_DECLS
