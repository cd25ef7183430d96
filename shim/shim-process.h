/* One process of a container (init, exec_id "", or an exec) and its state machine:
 * CREATED -> RUNNING -> STOPPED. Its exit is published and its waiters answered only once its
 * output is drained (or a short grace period passed). */
#pragma once

#include <glib.h>

#include "shim-agent.h"
#include "shim-events.h"
#include "shim-io.h"
#include "shim-reply.h"
#include "shim.pb-c.h"

typedef enum {
    SHIM_PROCESS_CREATED,
    SHIM_PROCESS_RUNNING,
    SHIM_PROCESS_STOPPED,
    SHIM_PROCESS_LAST
} ShimProcessStatus;

typedef struct _ShimProcess ShimProcess;

/* What a process needs from its pod; owned by the pod, outlives its processes' callbacks. */
typedef struct {
    ShimAgent *agent; /* NULL while the pod boots or once it ended */
    ShimEvents *events;
    /* The host pid containerd sees for every process of the pod: the sandbox's (QEMU). A guest
     * pid means nothing on the host, where it names some unrelated process. */
    guint32 task_pid;
} ShimProcessHost;

/* @io: transfer full. @process_json: the exec's OCI process (NULL for init). */
ShimProcess *shim_process_new(ShimProcessHost *host, const char *container_id, const char *exec_id,
                              ShimIo *io, gboolean terminal, const char *stdin_path,
                              const char *stdout_path, const char *stderr_path,
                              GBytes *process_json);
ShimProcess *shim_process_ref(ShimProcess *process);
void shim_process_unref(ShimProcess *process);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ShimProcess, shim_process_unref)

ShimProcessStatus shim_process_get_status(ShimProcess *process);
/* The pid containerd sees (the pod's task pid, see ShimProcessHost). */
guint32 shim_process_get_pid(ShimProcess *process);
gboolean shim_process_has_stdin(ShimProcess *process);

/* Init only: the agent created it with guest pid @guest_pid. */
void shim_process_set_created(ShimProcess *process, guint32 guest_pid);
/* Start: answers @func with a StartResponse, publishes start/exec-started. */
void shim_process_start(ShimProcess *process, ShimReplyFunc func, gpointer user_data);
/* Answers @func with a WaitResponse when the process has stopped (at once if it has); with
 * SHIM_ERROR_NOT_FOUND if it is freed first. */
void shim_process_wait(ShimProcess *process, ShimReplyFunc func, gpointer user_data);
/* Kill: SHIM_ERROR_NOT_FOUND once stopped; a CREATED process stops at once with 128+@signal.
 * Answers @func with an empty reply. */
void shim_process_kill(ShimProcess *process, guint32 signal, gboolean all, ShimReplyFunc func,
                       gpointer user_data);
/* Ends the process now (its VM died): exit @status published, waiters answered. */
void shim_process_force_exit(ShimProcess *process, guint32 status);
void shim_process_close_stdin(ShimProcess *process);
/* Answers @func with an empty reply (at once when there is no pty to resize). */
void shim_process_resize(ShimProcess *process, guint32 width, guint32 height, ShimReplyFunc func,
                         gpointer user_data);
/* Fills the process part of a StateResponse (strings borrowed from @process). @paused: the
 * container is frozen. */
void shim_process_fill_state(ShimProcess *process, gboolean paused,
                             Containerd__Task__V2__StateResponse *state);
/* Exit status and time; exited_at is NULL until it stopped (never an empty Timestamp). */
void shim_process_fill_exit(ShimProcess *process, guint32 *out_status,
                            Google__Protobuf__Timestamp **out_exited_at);
