/* secure.debug.v1.Debug: what the pod is (Status) and its figures (Metrics), answered from the
 * pod's own records, libvirt's domain stats and, for the guest's, one GuestStats call to the
 * agent. Read-only: nothing here changes the pod. */
#include "shim-debug-service.h"

#include <stdio.h>
#include <unistd.h>

#include "agent.pb-c.h"
#include "debug.pb-c.h"
#include "shim-task-service.h"
#include "wellknown.pb-c.h"

struct _ShimDebugService {
    TtrpcServer *server;
    char *path;
};

static const char *const phase_names[] = {"empty", "booting", "running", "ended"};
G_STATIC_ASSERT(G_N_ELEMENTS(phase_names) == SHIM_POD_LAST);

static char *or_empty(const char *s)
{
    return (char *)(s ? s : "");
}

/* Strings borrowed from @pod: valid until the handler returns to the loop. */
static void fill_status(ShimPod *pod, Secure__Debug__V1__PodStatus *s)
{
    ShimSandbox *sandbox = shim_pod_get_sandbox(pod);
    ShimPodInfo info;

    shim_pod_get_info(pod, &info);
    s->namespace_ = (char *)info.namespace;
    s->pod = (char *)info.name;
    s->sandbox_id = or_empty(info.sandbox_id);
    s->cri_name = or_empty(info.cri_name);
    s->cri_namespace = or_empty(info.cri_namespace);
    s->cri_uid = or_empty(info.cri_uid);
    s->phase = (char *)phase_names[info.phase];
    s->end_reason = or_empty(info.end_reason);
    s->containers = info.containers;
    s->shim_pid = (guint32)getpid();
    s->sandbox = (char *)"";
    if (sandbox) {
        ShimVmSize boot, now;
        shim_sandbox_get_size(sandbox, &boot, &now);
        s->sandbox = (char *)shim_sandbox_kind_name(sandbox);
        s->memory_mib = now.memory_mib;
        s->vcpus = now.vcpus;
        s->vm_pid = (guint32)shim_sandbox_get_pid(sandbox);
        s->uptime_seconds = (g_get_monotonic_time() - info.sandbox_since) / (double)G_USEC_PER_SEC;
    }
}

static void debug_status(TtrpcCall *call, const ProtobufCMessage *request, gpointer data)
{
    Secure__Debug__V1__PodStatus reply = SECURE__DEBUG__V1__POD_STATUS__INIT;

    (void)request;
    fill_status(data, &reply);
    ttrpc_call_return(call, &reply.base);
}

/* This process's resident memory, from /proc/self/statm (pages). */
static guint64 shim_rss_kib(void)
{
    g_autofree char *text = NULL;
    unsigned long pages;

    if (!g_file_get_contents("/proc/self/statm", &text, NULL, NULL) ||
        sscanf(text, "%*u %lu", &pages) != 1)
        return 0;
    return (guint64)pages * (guint64)sysconf(_SC_PAGESIZE) / 1024;
}

typedef struct {
    TtrpcCall *call;
    ShimPod *pod;
} MetricsCall;

/* Everything but the guest's figures. */
static void fill_metrics(ShimPod *pod, Secure__Debug__V1__PodMetrics *m,
                         Secure__Debug__V1__PodStatus *status)
{
    VmmDomainStats vm;
    ShimAgent *agent = shim_pod_get_agent(pod);
    ShimSandbox *sandbox = shim_pod_get_sandbox(pod);
    ShimPodInfo info;

    fill_status(pod, status);
    shim_pod_get_info(pod, &info);
    m->status = status;
    m->shim_rss_kib = shim_rss_kib();
    m->start_seconds = info.start_seconds;
    if (agent)
        m->agent_call_errors = shim_agent_get_errors(agent);
    if (sandbox && shim_sandbox_get_stats(sandbox, &vm, NULL)) {
        m->vm_cpu_ns = vm.cpu_ns;
        m->vm_memory_kib = vm.memory_kib;
        m->vm_rss_kib = vm.rss_kib;
    }
}

static void on_guest_stats(const ProtobufCMessage *reply, const GError *error, gpointer user_data)
{
    MetricsCall *mc = user_data;
    const Secure__Agent__V1__GuestStatsResponse *g = (const void *)reply;
    Secure__Debug__V1__PodMetrics m = SECURE__DEBUG__V1__POD_METRICS__INIT;
    Secure__Debug__V1__PodStatus status = SECURE__DEBUG__V1__POD_STATUS__INIT;

    fill_metrics(mc->pod, &m, &status);
    if (g) {
        m.guest_answered = TRUE;
        m.guest_mem_total_kib = g->mem_total_kib;
        m.guest_mem_available_kib = g->mem_available_kib;
        m.guest_load1 = g->load1;
        m.guest_load5 = g->load5;
        m.guest_load15 = g->load15;
        m.agent_rss_kib = g->agent_rss_kib;
    } else {
        g_info("metrics without the guest's figures: %s", error->message);
    }
    ttrpc_call_return(mc->call, &m.base);
    g_free(mc);
}

static void debug_metrics(TtrpcCall *call, const ProtobufCMessage *request, gpointer data)
{
    ShimPod *pod = data;
    Secure__Agent__V1__GuestStatsRequest req = SECURE__AGENT__V1__GUEST_STATS_REQUEST__INIT;

    (void)request;
    if (shim_pod_get_phase(pod) != SHIM_POD_READY || !shim_pod_get_agent(pod)) {
        Secure__Debug__V1__PodMetrics m = SECURE__DEBUG__V1__POD_METRICS__INIT;
        Secure__Debug__V1__PodStatus status = SECURE__DEBUG__V1__POD_STATUS__INIT;
        fill_metrics(pod, &m, &status);
        ttrpc_call_return(call, &m.base);
        return;
    }
    MetricsCall *mc = g_new0(MetricsCall, 1);
    mc->call = call;
    mc->pod = pod;
    shim_agent_call(shim_pod_get_agent(pod), "GuestStats", &req.base,
                    &secure__agent__v1__guest_stats_response__descriptor, SHIM_AGENT_DEADLINE,
                    on_guest_stats, mc);
}

static void on_exec_guest(const ProtobufCMessage *reply, const GError *error, gpointer user_data)
{
    TtrpcCall *call = user_data;
    const Secure__Agent__V1__ExecGuestResponse *g = (const void *)reply;
    Secure__Debug__V1__ExecResponse r = SECURE__DEBUG__V1__EXEC_RESPONSE__INIT;

    if (!g) {
        shim_task_service_return_error(call, error);
        return;
    }
    r.exit_status = g->exit_status;
    r.stdout = g->stdout;
    r.stderr = g->stderr;
    r.timed_out = g->timed_out;
    r.truncated = g->truncated;
    ttrpc_call_return(call, &r.base);
}

/* The guest runs the shared copy of [agent] debug_exec_tools (shim-sandbox.c): args[0] names
 * the applet, the copy's directory of applet links comes first on PATH. */
static void exec_in_guest(TtrpcCall *call, ShimPod *pod, const Secure__Debug__V1__ExecRequest *req)
{
    const ShimConfig *config = shim_pod_get_config(pod);

    if (!config->debug_exec) {
        ttrpc_call_return_error(call, TTRPC_CODE_FAILED_PRECONDITION,
                                "exec into the guest is off for this pod: set [agent] "
                                "debug_exec = true in '%s' (pods started after have it)",
                                config->path);
        return;
    }
    if (shim_pod_get_phase(pod) != SHIM_POD_READY || !shim_pod_get_agent(pod)) {
        ttrpc_call_return_error(call, TTRPC_CODE_FAILED_PRECONDITION, "the pod is %s",
                                phase_names[shim_pod_get_phase(pod)]);
        return;
    }
    g_autofree char *dir = g_build_filename(
        shim_sandbox_guest_shared_dir(shim_pod_get_sandbox(pod)), SHIM_DEBUG_TOOLS_DIR, NULL);
    g_autofree char *tools = g_build_filename(dir, SHIM_DEBUG_TOOLS_BINARY, NULL);
    g_autofree char *path = g_strdup_printf("PATH=%s:/usr/sbin:/usr/bin:/sbin:/bin", dir);
    g_autoptr(GPtrArray) args = g_ptr_array_new();
    g_ptr_array_add(args, tools);
    for (size_t i = 0; i < req->n_args; i++)
        g_ptr_array_add(args, req->args[i]);
    char *env[] = {path, (char *)"HOME=/", (char *)"TERM=dumb"};
    Secure__Agent__V1__ExecGuestRequest x = SECURE__AGENT__V1__EXEC_GUEST_REQUEST__INIT;
    x.args = (char **)args->pdata;
    x.n_args = args->len;
    x.env = env;
    x.n_env = G_N_ELEMENTS(env);
    x.stdin = req->stdin;
    x.timeout_ms = req->timeout_ms;
    /* The run may take its whole timeout: no deadline of ours on top. */
    shim_agent_call(shim_pod_get_agent(pod), "ExecGuest", &x.base,
                    &secure__agent__v1__exec_guest_response__descriptor, SHIM_AGENT_LONG_POLL,
                    on_exec_guest, call);
}

static void debug_exec(TtrpcCall *call, const ProtobufCMessage *request, gpointer data)
{
    const Secure__Debug__V1__ExecRequest *req = (const void *)request;

    if (req->n_args > 0)
        exec_in_guest(call, data, req);
    else
        ttrpc_call_return_error(call, TTRPC_CODE_INVALID_ARGUMENT, "an ExecRequest with args");
}

/* Status and Metrics take an Empty: anything else is a client of another protocol. */
static const TtrpcMethod debug_methods[] = {
    {"Status", &google__protobuf__empty__descriptor, debug_status},
    {"Metrics", &google__protobuf__empty__descriptor, debug_metrics},
    {"Exec", &secure__debug__v1__exec_request__descriptor, debug_exec},
};

ShimDebugService *shim_debug_service_start(ShimPod *pod, GError **error)
{
    g_autoptr(ShimDebugService) service = g_new0(ShimDebugService, 1);

    service->path = g_build_filename(shim_pod_get_run_dir(pod), SHIM_DEBUG_SOCKET, NULL);
    service->server = ttrpc_server_new(NULL);
    ttrpc_server_register(service->server, SHIM_DEBUG_SERVICE, debug_methods,
                          G_N_ELEMENTS(debug_methods), pod);
    unlink(service->path); /* a previous shim's, of this pod dir */
    if (!ttrpc_server_listen_unix(service->server, service->path, error))
        return NULL;
    return g_steal_pointer(&service);
}

void shim_debug_service_free(ShimDebugService *service)
{
    if (!service)
        return;
    g_clear_pointer(&service->server, ttrpc_server_free);
    if (service->path)
        unlink(service->path);
    g_free(service->path);
    g_free(service);
}
