/* Task service handlers. Each one completes its call exactly once, now or from a callback. */
#include "shim-task-service.h"

#include <string.h>
#include <unistd.h>

#include "shim-container.h"
#include "shim-error.h"
#include "shim-log.h"
#include "shim.pb-c.h"

TtrpcCode shim_task_service_code(const GError *error)
{
    static const TtrpcCode shim_codes[SHIM_ERROR_LAST] = {
        [SHIM_ERROR_INVALID] = TTRPC_CODE_INVALID_ARGUMENT,
        [SHIM_ERROR_NOT_FOUND] = TTRPC_CODE_NOT_FOUND,
        [SHIM_ERROR_EXISTS] = TTRPC_CODE_ALREADY_EXISTS,
        [SHIM_ERROR_STATE] = TTRPC_CODE_FAILED_PRECONDITION,
        [SHIM_ERROR_UNSUPPORTED] = TTRPC_CODE_UNIMPLEMENTED,
        [SHIM_ERROR_EXHAUSTED] = TTRPC_CODE_RESOURCE_EXHAUSTED,
        [SHIM_ERROR_UNAVAILABLE] = TTRPC_CODE_UNAVAILABLE,
        [SHIM_ERROR_ABORTED] = TTRPC_CODE_ABORTED,
        [SHIM_ERROR_CANCELLED] = TTRPC_CODE_CANCELLED,
        [SHIM_ERROR_FAILED] = TTRPC_CODE_INTERNAL,
    };

    if (error->domain == SHIM_ERROR && error->code >= 0 && error->code < SHIM_ERROR_LAST)
        return shim_codes[error->code];
    /* The agent's answer (or the transport's verdict) already is a status code. */
    return ttrpc_code_from_gerror(error);
}

/* Failures on our side, whose message may not be the whole story: the log has the rest. */
static gboolean log_has_more(TtrpcCode code)
{
    return code == TTRPC_CODE_UNKNOWN || code == TTRPC_CODE_INTERNAL ||
           code == TTRPC_CODE_UNAVAILABLE || code == TTRPC_CODE_DEADLINE_EXCEEDED ||
           code == TTRPC_CODE_ABORTED || code == TTRPC_CODE_DATA_LOSS;
}

void shim_task_service_return_error(TtrpcCall *call, const GError *error)
{
    TtrpcCode code = shim_task_service_code(error);
    const char *pod = shim_log_get_pod();

    if (log_has_more(code) && pod && !strstr(error->message, "containerd's log"))
        ttrpc_call_return_error(call, code,
                                "%s (more in containerd's log, lines with runtime=secure pod=%s)",
                                error->message, pod);
    else
        ttrpc_call_return_error(call, code, "%s", error->message);
}

/* The core's answer to a request is the call's. */
static void reply_call(const ProtobufCMessage *reply, const GError *error, gpointer call)
{
    if (error)
        shim_task_service_return_error(call, error);
    else
        ttrpc_call_return(call, reply);
}

static ShimContainer *find_container(ShimContainers *containers, const char *id, TtrpcCall *call)
{
    ShimContainer *c = shim_containers_lookup(containers, id);
    if (!c)
        ttrpc_call_return_error(call, TTRPC_CODE_NOT_FOUND, "container '%s' not found", id);
    return c;
}

static ShimProcess *find_process(ShimContainers *containers, const char *id, const char *exec_id,
                                 ShimContainer **out_container, TtrpcCall *call)
{
    ShimContainer *c = find_container(containers, id, call);
    if (!c)
        return NULL;
    ShimProcess *p = shim_container_lookup(c, exec_id);
    if (!p)
        ttrpc_call_return_error(call, TTRPC_CODE_NOT_FOUND, "exec '%s' of '%s' not found", exec_id,
                                id);
    if (out_container)
        *out_container = c;
    return p;
}

/* The container keeps its request until it is created: it gets a copy of ours. */
static void handle_create(TtrpcCall *call, const ProtobufCMessage *request, gpointer containers)
{
    shim_container_create(containers, (void *)ttrpc_message_copy(request), reply_call, call);
}

static void handle_start(TtrpcCall *call, const ProtobufCMessage *request, gpointer containers)
{
    const Containerd__Task__V2__StartRequest *req = (const void *)request;
    ShimProcess *p = find_process(containers, req->id, req->exec_id, NULL, call);
    if (p)
        shim_process_start(p, reply_call, call);
}

static void handle_state(TtrpcCall *call, const ProtobufCMessage *request, gpointer containers)
{
    const Containerd__Task__V2__StateRequest *req = (const void *)request;
    ShimContainer *c;
    ShimProcess *p = find_process(containers, req->id, req->exec_id, &c, call);
    if (p)
        shim_container_state(c, p, reply_call, call);
}

static void handle_delete(TtrpcCall *call, const ProtobufCMessage *request, gpointer containers)
{
    const Containerd__Task__V2__DeleteRequest *req = (const void *)request;
    ShimContainer *c = find_container(containers, req->id, call);
    if (c)
        shim_container_delete(containers, c, req->exec_id, reply_call, call);
}

static void handle_pids(TtrpcCall *call, const ProtobufCMessage *request, gpointer containers)
{
    const Containerd__Task__V2__PidsRequest *req = (const void *)request;
    ShimContainer *c = find_container(containers, req->id, call);
    if (c)
        shim_container_pids(containers, c, reply_call, call);
}

static void handle_pause(TtrpcCall *call, const ProtobufCMessage *request, gpointer containers)
{
    const Containerd__Task__V2__PauseRequest *req = (const void *)request;
    ShimContainer *c = find_container(containers, req->id, call);
    if (c)
        shim_container_pause(containers, c, TRUE, reply_call, call);
}

static void handle_resume(TtrpcCall *call, const ProtobufCMessage *request, gpointer containers)
{
    const Containerd__Task__V2__ResumeRequest *req = (const void *)request;
    ShimContainer *c = find_container(containers, req->id, call);
    if (c)
        shim_container_pause(containers, c, FALSE, reply_call, call);
}

static void handle_checkpoint(TtrpcCall *call, const ProtobufCMessage *request, gpointer containers)
{
    (void)request;
    (void)containers;
    ttrpc_call_return_error(call, TTRPC_CODE_UNIMPLEMENTED,
                            "checkpoint is not supported by the secure runtime (pod VMs cannot "
                            "be checkpointed per container)");
}

static void handle_kill(TtrpcCall *call, const ProtobufCMessage *request, gpointer containers)
{
    const Containerd__Task__V2__KillRequest *req = (const void *)request;
    ShimProcess *p = find_process(containers, req->id, req->exec_id, NULL, call);
    if (p)
        shim_process_kill(p, req->signal, req->all, reply_call, call);
}

static void handle_exec(TtrpcCall *call, const ProtobufCMessage *request, gpointer containers)
{
    const Containerd__Task__V2__ExecProcessRequest *req = (const void *)request;
    ShimContainer *c = find_container(containers, req->id, call);
    if (c)
        shim_container_exec(containers, c, req, reply_call, call);
}

static void handle_resize(TtrpcCall *call, const ProtobufCMessage *request, gpointer containers)
{
    const Containerd__Task__V2__ResizePtyRequest *req = (const void *)request;
    ShimProcess *p = find_process(containers, req->id, req->exec_id, NULL, call);
    if (p)
        shim_process_resize(p, req->width, req->height, reply_call, call);
}

static void handle_close_io(TtrpcCall *call, const ProtobufCMessage *request, gpointer containers)
{
    const Containerd__Task__V2__CloseIORequest *req = (const void *)request;
    ShimProcess *p = find_process(containers, req->id, req->exec_id, NULL, call);
    if (!p)
        return;
    if (req->stdin)
        shim_process_close_stdin(p);
    ttrpc_call_return(call, NULL);
}

static void handle_update(TtrpcCall *call, const ProtobufCMessage *request, gpointer containers)
{
    const Containerd__Task__V2__UpdateTaskRequest *req = (const void *)request;
    ShimContainer *c = find_container(containers, req->id, call);
    if (c)
        shim_container_update(containers, c, req, reply_call, call);
}

static void handle_wait(TtrpcCall *call, const ProtobufCMessage *request, gpointer containers)
{
    const Containerd__Task__V2__WaitRequest *req = (const void *)request;
    ShimProcess *p = find_process(containers, req->id, req->exec_id, NULL, call);
    if (p)
        shim_process_wait(p, reply_call, call);
}

static void handle_stats(TtrpcCall *call, const ProtobufCMessage *request, gpointer containers)
{
    const Containerd__Task__V2__StatsRequest *req = (const void *)request;
    ShimContainer *c = find_container(containers, req->id, call);
    if (c)
        shim_container_stats(containers, c, reply_call, call);
}

static void handle_connect(TtrpcCall *call, const ProtobufCMessage *request, gpointer containers)
{
    const Containerd__Task__V2__ConnectRequest *req = (const void *)request;
    Containerd__Task__V2__ConnectResponse resp = CONTAINERD__TASK__V2__CONNECT_RESPONSE__INIT;
    resp.shim_pid = (guint32)getpid();
    /* The VM is what runs the task on this host; 0 for an unknown id, as containerd expects. */
    if (shim_containers_lookup(containers, req->id))
        resp.task_pid = shim_pod_task_pid(shim_containers_get_pod(containers));
    resp.version = SC_VERSION;
    ttrpc_call_return(call, &resp.base);
}

static void handle_shutdown(TtrpcCall *call, const ProtobufCMessage *request, gpointer containers)
{
    (void)request;
    ttrpc_call_return(call, NULL);
    shim_pod_shutdown(shim_containers_get_pod(containers));
}

static const TtrpcMethod methods[] = {
    {"State", &containerd__task__v2__state_request__descriptor, handle_state},
    {"Create", &containerd__task__v2__create_task_request__descriptor, handle_create},
    {"Start", &containerd__task__v2__start_request__descriptor, handle_start},
    {"Delete", &containerd__task__v2__delete_request__descriptor, handle_delete},
    {"Pids", &containerd__task__v2__pids_request__descriptor, handle_pids},
    {"Pause", &containerd__task__v2__pause_request__descriptor, handle_pause},
    {"Resume", &containerd__task__v2__resume_request__descriptor, handle_resume},
    {"Checkpoint", &containerd__task__v2__checkpoint_task_request__descriptor, handle_checkpoint},
    {"Kill", &containerd__task__v2__kill_request__descriptor, handle_kill},
    {"Exec", &containerd__task__v2__exec_process_request__descriptor, handle_exec},
    {"ResizePty", &containerd__task__v2__resize_pty_request__descriptor, handle_resize},
    {"CloseIO", &containerd__task__v2__close_iorequest__descriptor, handle_close_io},
    {"Update", &containerd__task__v2__update_task_request__descriptor, handle_update},
    {"Wait", &containerd__task__v2__wait_request__descriptor, handle_wait},
    {"Stats", &containerd__task__v2__stats_request__descriptor, handle_stats},
    {"Connect", &containerd__task__v2__connect_request__descriptor, handle_connect},
    {"Shutdown", &containerd__task__v2__shutdown_request__descriptor, handle_shutdown},
};

void shim_task_service_register(TtrpcServer *server, ShimContainers *containers)
{
    ttrpc_server_register(server, SHIM_TASK_SERVICE, methods, G_N_ELEMENTS(methods), containers);
}
