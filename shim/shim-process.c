/* Process state machine. The agent's WaitProcess long poll reports the exit; the exit becomes
 * visible (event, Wait replies, State) only after stdout and stderr were drained, so no output
 * is lost. Everything the process wrote before its exit is waited for, however slow the guest
 * or the reader (WaitProcess says how much that was); only a pipe that stays open after that
 * (a process it started still holds it) is given up DRAIN_GRACE_MS later. */
#include "shim-process.h"

#include "agent.pb-c.h"
#include "events-task.pb-c.h"

#define DRAIN_GRACE_MS 2000
/* The exit status of a process that never started: no real exit exists to report. */
#define START_FAILED_STATUS 255

/* A Wait, answered when the process has stopped. */
typedef struct {
    ShimReplyFunc func;
    gpointer user_data;
} Waiter;

struct _ShimProcess {
    gint refs;
    ShimProcessHost *host;
    char *container_id;
    char *exec_id;
    ShimIo *io;
    gboolean terminal;
    char *stdin_path, *stdout_path, *stderr_path;
    GBytes *process_json;

    ShimProcessStatus status;
    guint32 pid;
    gboolean exit_seen; /* the agent reported it; waiting for the drain */
    guint32 exit_status;
    Google__Protobuf__Timestamp exited_at;
    GArray *waiters; /* Waiter */
    guint drain_timeout;
};

ShimProcess *shim_process_new(ShimProcessHost *host, const char *container_id, const char *exec_id,
                              ShimIo *io, gboolean terminal, const char *stdin_path,
                              const char *stdout_path, const char *stderr_path,
                              GBytes *process_json)
{
    ShimProcess *p = g_new0(ShimProcess, 1);
    p->refs = 1;
    p->host = host;
    p->container_id = g_strdup(container_id);
    p->exec_id = g_strdup(exec_id);
    p->io = io;
    p->terminal = terminal;
    p->stdin_path = g_strdup(stdin_path);
    p->stdout_path = g_strdup(stdout_path);
    p->stderr_path = g_strdup(stderr_path);
    p->process_json = process_json ? g_bytes_ref(process_json) : NULL;
    p->status = SHIM_PROCESS_CREATED;
    google__protobuf__timestamp__init(&p->exited_at);
    p->waiters = g_array_new(FALSE, FALSE, sizeof(Waiter));
    return p;
}

ShimProcess *shim_process_ref(ShimProcess *p)
{
    p->refs++;
    return p;
}

void shim_process_unref(ShimProcess *p)
{
    if (!p || --p->refs > 0)
        return;
    /* Deleted while someone still waits (a Create that failed): they get an answer too. */
    for (guint i = 0; i < p->waiters->len; i++) {
        Waiter *w = &g_array_index(p->waiters, Waiter, i);
        shim_reply_error(w->func, w->user_data, SHIM_ERROR_NOT_FOUND, "process deleted");
    }
    g_clear_handle_id(&p->drain_timeout, g_source_remove);
    g_clear_pointer(&p->io, shim_io_free);
    g_array_unref(p->waiters);
    g_clear_pointer(&p->process_json, g_bytes_unref);
    g_free(p->container_id);
    g_free(p->exec_id);
    g_free(p->stdin_path);
    g_free(p->stdout_path);
    g_free(p->stderr_path);
    g_free(p);
}

ShimProcessStatus shim_process_get_status(ShimProcess *p)
{
    return p->status;
}
guint32 shim_process_get_pid(ShimProcess *p)
{
    return p->pid;
}
gboolean shim_process_has_stdin(ShimProcess *p)
{
    return p->io && shim_io_has_stdin(p->io);
}

/* The agent reported the guest pid @guest_pid: containerd gets the pod's host pid instead. */
static void set_guest_pid(ShimProcess *p, guint32 guest_pid)
{
    g_debug("process '%s' of '%s': guest pid %u", p->exec_id, p->container_id, guest_pid);
    p->pid = p->host->task_pid;
}

void shim_process_set_created(ShimProcess *p, guint32 guest_pid)
{
    set_guest_pid(p, guest_pid);
}

static gboolean is_init(ShimProcess *p)
{
    return *p->exec_id == '\0';
}

void shim_process_fill_exit(ShimProcess *p, guint32 *out_status,
                            Google__Protobuf__Timestamp **out_exited_at)
{
    *out_status = p->exit_status;
    *out_exited_at = p->status == SHIM_PROCESS_STOPPED ? &p->exited_at : NULL;
}

static void reply_wait(ShimProcess *p, ShimReplyFunc func, gpointer user_data)
{
    Containerd__Task__V2__WaitResponse resp = CONTAINERD__TASK__V2__WAIT_RESPONSE__INIT;
    shim_process_fill_exit(p, &resp.exit_status, &resp.exited_at);
    func(&resp.base, NULL, user_data);
}

/* The exit becomes visible: status, event, waiters, in this order. */
static void finish(ShimProcess *p)
{
    if (p->status == SHIM_PROCESS_STOPPED)
        return;
    g_clear_handle_id(&p->drain_timeout, g_source_remove);
    g_clear_pointer(&p->io, shim_io_free);
    if (p->exited_at.seconds == 0) {
        gint64 now = g_get_real_time();
        p->exited_at.seconds = now / G_USEC_PER_SEC;
        p->exited_at.nanos = (int32_t)(now % G_USEC_PER_SEC) * 1000;
    }
    p->status = SHIM_PROCESS_STOPPED;

    Containerd__Events__TaskExit ev = CONTAINERD__EVENTS__TASK_EXIT__INIT;
    ev.container_id = p->container_id;
    ev.id = is_init(p) ? p->container_id : p->exec_id;
    ev.pid = p->pid;
    ev.exit_status = p->exit_status;
    ev.exited_at = &p->exited_at;
    shim_events_publish(p->host->events, "/tasks/exit", &ev.base);

    for (guint i = 0; i < p->waiters->len; i++) {
        Waiter *w = &g_array_index(p->waiters, Waiter, i);
        reply_wait(p, w->func, w->user_data);
    }
    g_array_set_size(p->waiters, 0);
}

static void drained(gpointer user_data)
{
    ShimProcess *p = user_data;
    if (p->exit_seen)
        finish(p);
}

static gboolean drain_timeout_cb(gpointer user_data)
{
    ShimProcess *p = user_data;
    p->drain_timeout = 0;
    g_warning("%s/%s: output not drained: its pipes stayed open %d ms after all it wrote before "
              "its exit was relayed (a process it started holds them?); closing them",
              p->container_id, p->exec_id, DRAIN_GRACE_MS);
    finish(p);
    return G_SOURCE_REMOVE;
}

/* All the process wrote before its exit is relayed: what more comes is a leftover child's. */
static void delivered(gpointer user_data)
{
    ShimProcess *p = user_data;
    if (p->drain_timeout == 0)
        p->drain_timeout = g_timeout_add(DRAIN_GRACE_MS, drain_timeout_cb, p);
}

static void wait_done(const ProtobufCMessage *msg, const GError *error, gpointer user_data)
{
    g_autoptr(ShimProcess) p = user_data;
    const Secure__Agent__V1__WaitProcessResponse *reply = (const void *)msg;

    if (p->status == SHIM_PROCESS_STOPPED)
        return;
    if (error) {
        /* Without an answer the exit is unknown: report it the way runc does for a lost
         * process. The pod ends on its own if the agent is broken. */
        g_warning("%s/%s: %s", p->container_id, p->exec_id, error->message);
        p->exit_status = 137;
    } else {
        p->exit_status = reply->exit_status;
        if (reply->exited_at && reply->exited_at->seconds > 0) {
            p->exited_at.seconds = reply->exited_at->seconds;
            p->exited_at.nanos = reply->exited_at->nanos;
        }
    }
    p->exit_seen = TRUE;
    if (error || !p->io || shim_io_is_drained(p->io))
        finish(p);
    else
        shim_io_when_delivered(p->io, reply->stdout_bytes, reply->stderr_bytes, delivered, p);
}

static void running(ShimProcess *p)
{
    Secure__Agent__V1__WaitProcessRequest req = SECURE__AGENT__V1__WAIT_PROCESS_REQUEST__INIT;
    p->status = SHIM_PROCESS_RUNNING;
    if (p->io)
        shim_io_start(p->io, p->host->agent, p->container_id, p->exec_id, drained, p);
    req.container_id = p->container_id;
    req.exec_id = p->exec_id;
    shim_agent_call(p->host->agent, "WaitProcess", &req.base,
                    &secure__agent__v1__wait_process_response__descriptor, SHIM_AGENT_LONG_POLL,
                    wait_done, shim_process_ref(p));
}

/* A request waiting for the agent. */
typedef struct {
    ShimProcess *process;
    ShimReplyFunc func;
    gpointer user_data;
} PendingCall;

static PendingCall *pending_new(ShimProcess *p, ShimReplyFunc func, gpointer user_data)
{
    PendingCall *pc = g_new(PendingCall, 1);
    pc->process = shim_process_ref(p);
    pc->func = func;
    pc->user_data = user_data;
    return pc;
}

static void pending_free(PendingCall *pc)
{
    shim_process_unref(pc->process);
    g_free(pc);
}

static void start_done(const ProtobufCMessage *msg, const GError *error, gpointer user_data)
{
    PendingCall *pc = user_data;
    ShimProcess *p = pc->process;
    /* StartContainerResponse and ExecProcessResponse both carry the pid as field 1. */
    const Secure__Agent__V1__StartContainerResponse *reply = (const void *)msg;

    if (error || p->status != SHIM_PROCESS_CREATED) {
        if (error)
            pc->func(NULL, error, pc->user_data);
        else
            shim_reply_error(pc->func, pc->user_data, SHIM_ERROR_STATE,
                             "process '%s' stopped while starting", p->exec_id);
        /* As with runc, a process that failed to start is stopped: containerd can only delete
         * a task whose process stopped. */
        shim_process_force_exit(p, START_FAILED_STATUS);
        pending_free(pc);
        return;
    }
    set_guest_pid(p, reply->pid);
    /* TaskStart is queued before anything can queue TaskExit: running() starts the wait. */
    if (is_init(p)) {
        Containerd__Events__TaskStart ev = CONTAINERD__EVENTS__TASK_START__INIT;
        ev.container_id = p->container_id;
        ev.pid = p->pid;
        shim_events_publish(p->host->events, "/tasks/start", &ev.base);
    } else {
        Containerd__Events__TaskExecStarted ev = CONTAINERD__EVENTS__TASK_EXEC_STARTED__INIT;
        ev.container_id = p->container_id;
        ev.exec_id = p->exec_id;
        ev.pid = p->pid;
        shim_events_publish(p->host->events, "/tasks/exec-started", &ev.base);
    }
    running(p);
    Containerd__Task__V2__StartResponse resp = CONTAINERD__TASK__V2__START_RESPONSE__INIT;
    resp.pid = p->pid;
    pc->func(&resp.base, NULL, pc->user_data);
    pending_free(pc);
}

void shim_process_start(ShimProcess *p, ShimReplyFunc func, gpointer user_data)
{
    if (p->status != SHIM_PROCESS_CREATED) {
        shim_reply_error(func, user_data, SHIM_ERROR_STATE,
                         "process '%s' of '%s' was already started", p->exec_id, p->container_id);
        return;
    }
    if (!p->host->agent) {
        shim_reply_error(func, user_data, SHIM_ERROR_UNAVAILABLE, "the pod's agent is not running");
        return;
    }
    if (is_init(p)) {
        Secure__Agent__V1__StartContainerRequest req =
            SECURE__AGENT__V1__START_CONTAINER_REQUEST__INIT;
        req.container_id = p->container_id;
        shim_agent_call(p->host->agent, "StartContainer", &req.base,
                        &secure__agent__v1__start_container_response__descriptor,
                        SHIM_AGENT_DEADLINE, start_done, pending_new(p, func, user_data));
        return;
    }
    Secure__Agent__V1__ExecProcessRequest req = SECURE__AGENT__V1__EXEC_PROCESS_REQUEST__INIT;
    req.container_id = p->container_id;
    req.exec_id = p->exec_id;
    req.process_json.data = (guint8 *)g_bytes_get_data(p->process_json, &req.process_json.len);
    req.stdin = shim_process_has_stdin(p);
    shim_agent_call(p->host->agent, "ExecProcess", &req.base,
                    &secure__agent__v1__exec_process_response__descriptor, SHIM_AGENT_DEADLINE,
                    start_done, pending_new(p, func, user_data));
}

void shim_process_wait(ShimProcess *p, ShimReplyFunc func, gpointer user_data)
{
    Waiter w = {func, user_data};
    if (p->status == SHIM_PROCESS_STOPPED)
        reply_wait(p, func, user_data);
    else
        g_array_append_val(p->waiters, w);
}

void shim_process_force_exit(ShimProcess *p, guint32 status)
{
    if (p->status == SHIM_PROCESS_STOPPED)
        return;
    p->exit_status = status;
    finish(p);
}

static void empty_reply_done(const ProtobufCMessage *msg, const GError *error, gpointer user_data)
{
    PendingCall *pc = user_data;
    (void)msg;
    pc->func(NULL, error, pc->user_data);
    pending_free(pc);
}

void shim_process_kill(ShimProcess *p, guint32 signal, gboolean all, ShimReplyFunc func,
                       gpointer user_data)
{
    if (p->status == SHIM_PROCESS_STOPPED) {
        shim_reply_error(func, user_data, SHIM_ERROR_NOT_FOUND, "process already finished");
        return;
    }
    if (p->status == SHIM_PROCESS_CREATED) {
        /* Nothing runs yet (an exec only exists here; the init process is held by the agent,
         * which drops it with RemoveContainer on Delete). */
        shim_process_force_exit(p, 128 + signal);
        func(NULL, NULL, user_data);
        return;
    }
    if (!p->host->agent) {
        shim_reply_error(func, user_data, SHIM_ERROR_NOT_FOUND, "process already finished");
        return;
    }
    Secure__Agent__V1__SignalProcessRequest req = SECURE__AGENT__V1__SIGNAL_PROCESS_REQUEST__INIT;
    req.container_id = p->container_id;
    req.exec_id = p->exec_id;
    req.signal = signal;
    req.all = all;
    shim_agent_call(p->host->agent, "SignalProcess", &req.base,
                    &google__protobuf__empty__descriptor, SHIM_AGENT_DEADLINE, empty_reply_done,
                    pending_new(p, func, user_data));
}

void shim_process_close_stdin(ShimProcess *p)
{
    if (p->io)
        shim_io_close_stdin(p->io);
}

void shim_process_resize(ShimProcess *p, guint32 width, guint32 height, ShimReplyFunc func,
                         gpointer user_data)
{
    if (p->status != SHIM_PROCESS_RUNNING || !p->host->agent) {
        /* A resize before start or after exit has no pty to act on; runc accepts it too. */
        func(NULL, NULL, user_data);
        return;
    }
    Secure__Agent__V1__ResizeTtyRequest req = SECURE__AGENT__V1__RESIZE_TTY_REQUEST__INIT;
    req.container_id = p->container_id;
    req.exec_id = p->exec_id;
    req.rows = height;
    req.cols = width;
    shim_agent_call(p->host->agent, "ResizeTty", &req.base, &google__protobuf__empty__descriptor,
                    SHIM_AGENT_DEADLINE, empty_reply_done, pending_new(p, func, user_data));
}

void shim_process_fill_state(ShimProcess *p, gboolean paused,
                             Containerd__Task__V2__StateResponse *state)
{
    static const Containerd__V1__Types__Status statuses[] = {
        CONTAINERD__V1__TYPES__STATUS__CREATED,
        CONTAINERD__V1__TYPES__STATUS__RUNNING,
        CONTAINERD__V1__TYPES__STATUS__STOPPED,
    };
    state->id = is_init(p) ? p->container_id : p->exec_id;
    state->pid = p->pid;
    state->status = statuses[p->status];
    if (paused && p->status == SHIM_PROCESS_RUNNING)
        state->status = CONTAINERD__V1__TYPES__STATUS__PAUSED;
    state->stdin = p->stdin_path;
    state->stdout = p->stdout_path;
    state->stderr = p->stderr_path;
    state->terminal = p->terminal;
    shim_process_fill_exit(p, &state->exit_status, &state->exited_at);
}
