/* Agent service handlers. The ttrpc layer decodes each request (InvalidArgument when that
 * fails); a handler checks the limits proto/agent.proto states, calls the core and maps its error
 * to a status code. Calls that wait (WaitProcess, stream and port reads and writes, GetOOMEvent,
 * OpenPort, OnlineResources) complete from the loop. */
#include "agent-service.h"
#include "agent-error.h"
#include "agent-hotplug.h"
#include "agent-init.h"
#include "agent-network.h"
#include "agent-proc.h"
#include "agent-sync.h"

#include "agent.pb-c.h"
#include "wellknown.pb-c.h"

#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#define JSON_MAX (1024 * 1024)
#define READ_DEFAULT (64 * 1024)
#define READ_MAX (1024 * 1024)
#define STDIN_MAX (1024 * 1024)
#define LIST_PIDS_MAX 4096
#define POWER_OFF_DELAY_MS 100 /* lets the DestroySandbox reply reach the host first */

static TtrpcCode service_code(const GError *error)
{
    static const TtrpcCode agent_codes[AGENT_ERROR_LAST] = {
        [AGENT_ERROR_INVALID] = TTRPC_CODE_INVALID_ARGUMENT,
        [AGENT_ERROR_NOT_FOUND] = TTRPC_CODE_NOT_FOUND,
        [AGENT_ERROR_EXISTS] = TTRPC_CODE_ALREADY_EXISTS,
        [AGENT_ERROR_STATE] = TTRPC_CODE_FAILED_PRECONDITION,
        [AGENT_ERROR_FAILED] = TTRPC_CODE_INTERNAL,
        [AGENT_ERROR_TIMED_OUT] = TTRPC_CODE_DEADLINE_EXCEEDED,
    };
    static const TtrpcCode container_codes[CONTAINER_ERROR_LAST] = {
        [CONTAINER_ERROR_INVALID] = TTRPC_CODE_INVALID_ARGUMENT,
        [CONTAINER_ERROR_UNSUPPORTED] = TTRPC_CODE_UNIMPLEMENTED,
        [CONTAINER_ERROR_ESCAPE] = TTRPC_CODE_INVALID_ARGUMENT,
        [CONTAINER_ERROR_STATE] = TTRPC_CODE_FAILED_PRECONDITION,
        [CONTAINER_ERROR_FAILED] = TTRPC_CODE_INTERNAL,
    };

    if (error->domain == AGENT_ERROR && error->code >= 0 && error->code < AGENT_ERROR_LAST)
        return agent_codes[error->code];
    if (error->domain == CONTAINER_ERROR && error->code >= 0 && error->code < CONTAINER_ERROR_LAST)
        return container_codes[error->code];
    return TTRPC_CODE_INTERNAL;
}

static void service_fail(TtrpcCall *call, const GError *error)
{
    TtrpcCode code = service_code(error);

    g_debug("%s: %s: %s", ttrpc_call_get_method(call), ttrpc_code_name(code), error->message);
    ttrpc_call_return_error(call, code, "%s", error->message);
}

/* Completes @call with an empty reply, or *@error. @error is passed by address because the
 * caller computes @ok in the same argument list that sets it. */
static void service_finish(TtrpcCall *call, gboolean ok, GError **error)
{
    if (ok)
        ttrpc_call_return(call, NULL);
    else
        service_fail(call, *error);
}

/* Fails @call with InvalidArgument when @len (a size or count) exceeds @max. */
static gboolean service_check_size(TtrpcCall *call, const char *what, gsize len, gsize max)
{
    if (len <= max)
        return TRUE;
    ttrpc_call_return_error(call, TTRPC_CODE_INVALID_ARGUMENT, "%s is %zu, more than %zu", what,
                            len, max);
    return FALSE;
}

/* The process a request names, or NULL with @call failed. */
static AgentProcess *service_process(TtrpcCall *call, Agent *agent, const char *container_id,
                                     const char *exec_id)
{
    g_autoptr(GError) error = NULL;
    AgentProcess *process = agent_pod_find_process(agent->pod, container_id, exec_id, &error);

    if (process == NULL)
        service_fail(call, error);
    return process;
}

static void service_health(TtrpcCall *call, const ProtobufCMessage *request, gpointer data)
{
    Secure__Agent__V1__HealthResponse reply = SECURE__AGENT__V1__HEALTH_RESPONSE__INIT;
    struct utsname uts;

    (void)request;
    (void)data;
    uname(&uts);
    reply.agent_version = (char *)SC_VERSION;
    reply.kernel_release = uts.release;
    reply.agent_pid = getpid();
    ttrpc_call_return(call, &reply.base);
}

static void service_create_sandbox(TtrpcCall *call, const ProtobufCMessage *request, gpointer data)
{
    Agent *agent = data;
    const Secure__Agent__V1__CreateSandboxRequest *req = (const void *)request;
    g_autoptr(GError) error = NULL;
    AgentSandboxConfig config;

    config = (AgentSandboxConfig){
        .hostname = req->hostname,
        .dns_servers = (const char *const *)req->dns_servers,
        .n_dns_servers = req->n_dns_servers,
        .shared_fs_type = req->shared_fs_type,
        .shared_fs_tag = req->shared_fs_tag,
        .shared_fs_path = req->shared_fs_path,
    };
    service_finish(call, agent_sandbox_create(agent->sandbox, &config, &error), &error);
}

static gboolean service_on_power_off(gpointer data)
{
    (void)data;
    agent_init_power_off();
}

static void service_destroy_sandbox(TtrpcCall *call, const ProtobufCMessage *request, gpointer data)
{
    Agent *agent = data;
    GSource *source;

    (void)request;
    agent_pod_destroy_all(agent->pod);
    ttrpc_call_return(call, NULL);
    if (!agent->init_mode)
        return;
    source = g_timeout_source_new(POWER_OFF_DELAY_MS);
    g_source_set_callback(source, service_on_power_off, NULL, NULL);
    g_source_attach(source, agent->context);
    g_source_unref(source);
}

static void service_on_created(pid_t pid, const GError *error, gpointer user_data)
{
    TtrpcCall *call = user_data;
    Secure__Agent__V1__CreateContainerResponse reply =
        SECURE__AGENT__V1__CREATE_CONTAINER_RESPONSE__INIT;

    if (error != NULL) {
        service_fail(call, error);
        return;
    }
    reply.pid = pid;
    ttrpc_call_return(call, &reply.base);
}

/* Answered once the init is set up: other calls are served meanwhile. */
static void service_create_container(TtrpcCall *call, const ProtobufCMessage *request,
                                     gpointer data)
{
    Agent *agent = data;
    const Secure__Agent__V1__CreateContainerRequest *req = (const void *)request;
    g_autoptr(GError) error = NULL;

    if (!service_check_size(call, "config_json", req->config_json.len, JSON_MAX) ||
        !service_check_size(call, "rootfs_path", strlen(req->rootfs_path), AGENT_SANDBOX_PATH_MAX))
        return;
    if (!agent_pod_create(agent->pod, req->container_id, (const char *)req->config_json.data,
                          req->config_json.len, req->rootfs_path, req->stdin, service_on_created,
                          call, &error))
        service_fail(call, error);
}

static void service_start_container(TtrpcCall *call, const ProtobufCMessage *request, gpointer data)
{
    Agent *agent = data;
    const Secure__Agent__V1__StartContainerRequest *req = (const void *)request;
    Secure__Agent__V1__StartContainerResponse reply =
        SECURE__AGENT__V1__START_CONTAINER_RESPONSE__INIT;
    g_autoptr(GError) error = NULL;
    pid_t pid;

    if (!agent_pod_start(agent->pod, req->container_id, &pid, &error)) {
        service_fail(call, error);
        return;
    }
    reply.pid = pid;
    ttrpc_call_return(call, &reply.base);
}

static void service_remove_container(TtrpcCall *call, const ProtobufCMessage *request,
                                     gpointer data)
{
    Agent *agent = data;
    const Secure__Agent__V1__RemoveContainerRequest *req = (const void *)request;
    g_autoptr(GError) error = NULL;

    gboolean removed = agent_pod_remove(agent->pod, req->container_id, &error);
    if (removed)
        agent_sandbox_forget_unused_files(agent->sandbox);
    service_finish(call, removed, &error);
}

static void service_exec_process(TtrpcCall *call, const ProtobufCMessage *request, gpointer data)
{
    Agent *agent = data;
    const Secure__Agent__V1__ExecProcessRequest *req = (const void *)request;
    Secure__Agent__V1__ExecProcessResponse reply = SECURE__AGENT__V1__EXEC_PROCESS_RESPONSE__INIT;
    g_autoptr(GError) error = NULL;
    pid_t pid;

    if (!service_check_size(call, "process_json", req->process_json.len, JSON_MAX))
        return;
    if (!agent_pod_exec(agent->pod, req->container_id, req->exec_id,
                        (const char *)req->process_json.data, req->process_json.len, req->stdin,
                        &pid, &error)) {
        service_fail(call, error);
        return;
    }
    reply.pid = pid;
    ttrpc_call_return(call, &reply.base);
}

static void service_signal_process(TtrpcCall *call, const ProtobufCMessage *request, gpointer data)
{
    Agent *agent = data;
    const Secure__Agent__V1__SignalProcessRequest *req = (const void *)request;
    g_autoptr(GError) error = NULL;

    service_finish(call,
                   agent_pod_signal(agent->pod, req->container_id, req->exec_id, req->signal,
                                    req->all, &error),
                   &error);
}

static void service_on_exit(AgentProcess *process, const GError *error, gpointer data)
{
    TtrpcCall *call = data;
    Secure__Agent__V1__WaitProcessResponse reply = SECURE__AGENT__V1__WAIT_PROCESS_RESPONSE__INIT;
    Google__Protobuf__Timestamp exited_at = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    gint64 at;

    if (error != NULL) {
        service_fail(call, error);
        return;
    }
    at = agent_process_get_exited_at(process);
    exited_at.seconds = at / G_USEC_PER_SEC;
    exited_at.nanos = (at % G_USEC_PER_SEC) * 1000;
    reply.exit_status = agent_process_get_exit_status(process);
    reply.exited_at = &exited_at;
    reply.oom_killed = agent_process_get_oom_killed(process);
    agent_process_get_output_at_exit(process, &reply.stdout_bytes, &reply.stderr_bytes);
    ttrpc_call_return(call, &reply.base);
}

static void service_wait_process(TtrpcCall *call, const ProtobufCMessage *request, gpointer data)
{
    Agent *agent = data;
    const Secure__Agent__V1__WaitProcessRequest *req = (const void *)request;
    AgentProcess *process;

    process = service_process(call, agent, req->container_id, req->exec_id);
    if (process == NULL)
        return;
    agent_process_wait(process, service_on_exit, call);
}

static void service_list_processes(TtrpcCall *call, const ProtobufCMessage *request, gpointer data)
{
    Agent *agent = data;
    const Secure__Agent__V1__ListProcessesRequest *req = (const void *)request;
    Secure__Agent__V1__ListProcessesResponse reply =
        SECURE__AGENT__V1__LIST_PROCESSES_RESPONSE__INIT;
    g_autoptr(GError) error = NULL;
    g_autoptr(GArray) pids = NULL;
    g_autofree uint32_t *values = NULL;
    Container *container;

    container = agent_pod_find_container(agent->pod, req->container_id, FALSE, &error);
    if (container != NULL)
        pids = container_list_pids(container, &error);
    if (pids == NULL) {
        service_fail(call, error);
        return;
    }
    reply.n_pids = MIN(pids->len, LIST_PIDS_MAX);
    values = g_new0(uint32_t, reply.n_pids + 1);
    for (gsize i = 0; i < reply.n_pids; i++)
        values[i] = g_array_index(pids, pid_t, i);
    reply.pids = values;
    ttrpc_call_return(call, &reply.base);
}

static gboolean service_on_read(const guint8 *bytes, gsize len, gboolean eof, gpointer data)
{
    TtrpcCall *call = data;
    Secure__Agent__V1__ReadStreamResponse reply = SECURE__AGENT__V1__READ_STREAM_RESPONSE__INIT;
    gboolean taken = !ttrpc_call_is_cancelled(call);

    reply.data.data = (guint8 *)bytes;
    reply.data.len = taken ? len : 0;
    reply.eof = eof && taken;
    ttrpc_call_return(call, &reply.base);
    return taken;
}

static void service_read_stream(TtrpcCall *call, const ProtobufCMessage *request, gpointer data,
                                gboolean err)
{
    Agent *agent = data;
    const Secure__Agent__V1__ReadStreamRequest *req = (const void *)request;
    AgentProcess *process;

    if (!service_check_size(call, "max_bytes", req->max_bytes, READ_MAX))
        return;
    process = service_process(call, agent, req->container_id, req->exec_id);
    if (process == NULL)
        return;
    agent_output_read(err ? agent_process_get_stderr(process) : agent_process_get_stdout(process),
                      req->max_bytes == 0 ? READ_DEFAULT : req->max_bytes, service_on_read, call);
}

static void service_read_stdout(TtrpcCall *call, const ProtobufCMessage *request, gpointer data)
{
    service_read_stream(call, request, data, FALSE);
}

static void service_read_stderr(TtrpcCall *call, const ProtobufCMessage *request, gpointer data)
{
    service_read_stream(call, request, data, TRUE);
}

static void service_on_written(gsize written, const GError *error, gpointer data)
{
    TtrpcCall *call = data;
    Secure__Agent__V1__WriteStdinResponse reply = SECURE__AGENT__V1__WRITE_STDIN_RESPONSE__INIT;

    if (error != NULL) {
        service_fail(call, error);
        return;
    }
    reply.written = written;
    ttrpc_call_return(call, &reply.base);
}

static void service_write_stdin(TtrpcCall *call, const ProtobufCMessage *request, gpointer data)
{
    Agent *agent = data;
    const Secure__Agent__V1__WriteStdinRequest *req = (const void *)request;
    AgentProcess *process;

    if (!service_check_size(call, "data", req->data.len, STDIN_MAX))
        return;
    process = service_process(call, agent, req->container_id, req->exec_id);
    if (process == NULL)
        return;
    agent_input_write(agent_process_get_stdin(process), req->data.data, req->data.len,
                      service_on_written, call);
}

static void service_close_stdin(TtrpcCall *call, const ProtobufCMessage *request, gpointer data)
{
    Agent *agent = data;
    const Secure__Agent__V1__CloseStdinRequest *req = (const void *)request;
    AgentProcess *process;

    process = service_process(call, agent, req->container_id, req->exec_id);
    if (process == NULL)
        return;
    agent_input_close(agent_process_get_stdin(process));
    ttrpc_call_return(call, NULL);
}

static void service_resize_tty(TtrpcCall *call, const ProtobufCMessage *request, gpointer data)
{
    Agent *agent = data;
    const Secure__Agent__V1__ResizeTtyRequest *req = (const void *)request;
    g_autoptr(GError) error = NULL;
    AgentProcess *process;

    if (!service_check_size(call, "rows", req->rows, G_MAXUINT16) ||
        !service_check_size(call, "cols", req->cols, G_MAXUINT16))
        return;
    process = service_process(call, agent, req->container_id, req->exec_id);
    if (process != NULL)
        service_finish(call, agent_process_resize(process, req->rows, req->cols, &error), &error);
}

/* The builder handle of the container a ContainerRequest names, or NULL with @call failed. */
static Container *service_container(TtrpcCall *call, Agent *agent, const ProtobufCMessage *request,
                                    gboolean running)
{
    const Secure__Agent__V1__ContainerRequest *req = (const void *)request;
    g_autoptr(GError) error = NULL;
    Container *container;

    container = agent_pod_find_container(agent->pod, req->container_id, running, &error);
    if (container == NULL)
        service_fail(call, error);
    return container;
}

static void service_pause(TtrpcCall *call, const ProtobufCMessage *request, gpointer data)
{
    Container *container = service_container(call, data, request, TRUE);
    g_autoptr(GError) error = NULL;

    if (container != NULL)
        service_finish(call, container_pause(container, &error), &error);
}

static void service_resume(TtrpcCall *call, const ProtobufCMessage *request, gpointer data)
{
    Container *container = service_container(call, data, request, TRUE);
    g_autoptr(GError) error = NULL;

    if (container != NULL)
        service_finish(call, container_resume(container, &error), &error);
}

static void service_stats(TtrpcCall *call, const ProtobufCMessage *request, gpointer data)
{
    Container *container = service_container(call, data, request, FALSE);
    Secure__Agent__V1__StatsContainerResponse reply =
        SECURE__AGENT__V1__STATS_CONTAINER_RESPONSE__INIT;
    g_autoptr(GError) error = NULL;

    if (container == NULL)
        return;
    reply.metrics = container_stats(container, &error);
    if (reply.metrics == NULL) {
        service_fail(call, error);
        return;
    }
    ttrpc_call_return(call, &reply.base);
    io__containerd__cgroups__v2__metrics__free_unpacked(reply.metrics, NULL);
}

static void service_update(TtrpcCall *call, const ProtobufCMessage *request, gpointer data)
{
    Agent *agent = data;
    const Secure__Agent__V1__UpdateContainerRequest *req = (const void *)request;
    g_autoptr(GError) error = NULL;
    Container *container;

    if (!service_check_size(call, "resources_json", req->resources_json.len, JSON_MAX))
        return;
    container = agent_pod_find_container(agent->pod, req->container_id, FALSE, &error);
    service_finish(call,
                   container != NULL &&
                       container_update(container, (const char *)req->resources_json.data,
                                        req->resources_json.len, &error),
                   &error);
}

static void service_on_oom(const char *container_id, const GError *error, gpointer data)
{
    TtrpcCall *call = data;
    Secure__Agent__V1__OOMEvent reply = SECURE__AGENT__V1__OOMEVENT__INIT;

    if (error != NULL) {
        service_fail(call, error);
        return;
    }
    reply.container_id = (char *)container_id;
    ttrpc_call_return(call, &reply.base);
}

static void service_get_oom_event(TtrpcCall *call, const ProtobufCMessage *request, gpointer data)
{
    Agent *agent = data;

    (void)request;
    agent_oom_poll(agent_pod_get_oom(agent->pod), service_on_oom, call);
}

static void service_update_interface(TtrpcCall *call, const ProtobufCMessage *request,
                                     gpointer data)
{
    Agent *agent = data;
    const Secure__Agent__V1__UpdateInterfaceRequest *req = (const void *)request;
    g_autoptr(GError) error = NULL;

    service_finish(call, agent_network_update_interface(req->interface, agent->init_mode, &error),
                   &error);
}

static void service_update_routes(TtrpcCall *call, const ProtobufCMessage *request, gpointer data)
{
    Agent *agent = data;
    const Secure__Agent__V1__UpdateRoutesRequest *req = (const void *)request;
    g_autoptr(GError) error = NULL;

    service_finish(
        call, agent_network_update_routes(req->routes, req->n_routes, agent->init_mode, &error),
        &error);
}

static void service_list_interfaces(TtrpcCall *call, const ProtobufCMessage *request, gpointer data)
{
    Secure__Agent__V1__ListInterfacesResponse *reply;
    g_autoptr(GError) error = NULL;

    (void)request;
    (void)data;
    reply = agent_network_list(&error);
    if (reply == NULL) {
        service_fail(call, error);
        return;
    }
    ttrpc_call_return(call, &reply->base);
    secure__agent__v1__list_interfaces_response__free_unpacked(reply, NULL);
}

/* Completes OpenPort. A caller gone by now can never learn the id, so it does not take the
 * connection. */
static gboolean service_on_port_open(guint32 id, const GError *error, gpointer data)
{
    TtrpcCall *call = data;
    Secure__Agent__V1__OpenPortResponse reply = SECURE__AGENT__V1__OPEN_PORT_RESPONSE__INIT;
    gboolean taken = !ttrpc_call_is_cancelled(call);

    if (error != NULL) {
        service_fail(call, error);
        return FALSE;
    }
    reply.id = id;
    ttrpc_call_return(call, &reply.base);
    return taken;
}

static void service_open_port(TtrpcCall *call, const ProtobufCMessage *request, gpointer data)
{
    Agent *agent = data;
    const Secure__Agent__V1__OpenPortRequest *req = (const void *)request;

    agent_ports_open(agent->ports, req->port, service_on_port_open, call);
}

/* The forwarded connection a request names, or NULL with @call failed. */
static AgentPort *service_port(TtrpcCall *call, Agent *agent, guint32 id)
{
    g_autoptr(GError) error = NULL;
    AgentPort *port = agent_ports_find(agent->ports, id, &error);

    if (port == NULL)
        service_fail(call, error);
    return port;
}

static void service_read_port(TtrpcCall *call, const ProtobufCMessage *request, gpointer data)
{
    Agent *agent = data;
    const Secure__Agent__V1__PortReadRequest *req = (const void *)request;
    AgentPort *port;

    if (!service_check_size(call, "max_bytes", req->max_bytes, READ_MAX))
        return;
    port = service_port(call, agent, req->id);
    if (port == NULL)
        return;
    agent_output_read(agent_port_get_output(port),
                      req->max_bytes == 0 ? READ_DEFAULT : req->max_bytes, service_on_read, call);
}

static void service_write_port(TtrpcCall *call, const ProtobufCMessage *request, gpointer data)
{
    Agent *agent = data;
    const Secure__Agent__V1__PortWriteRequest *req = (const void *)request;
    AgentPort *port;

    if (!service_check_size(call, "data", req->data.len, STDIN_MAX))
        return;
    port = service_port(call, agent, req->id);
    if (port == NULL)
        return;
    agent_input_write(agent_port_get_input(port), req->data.data, req->data.len, service_on_written,
                      call);
}

static void service_close_port(TtrpcCall *call, const ProtobufCMessage *request, gpointer data)
{
    Agent *agent = data;
    const Secure__Agent__V1__ClosePortRequest *req = (const void *)request;
    g_autoptr(GError) error = NULL;

    service_finish(call, agent_ports_close(agent->ports, req->id, req->write_only, &error), &error);
}

static void service_on_online(const AgentHotplugResources *have, const GError *error, gpointer data)
{
    TtrpcCall *call = data;
    Secure__Agent__V1__OnlineResourcesResponse reply =
        SECURE__AGENT__V1__ONLINE_RESOURCES_RESPONSE__INIT;

    if (error != NULL) {
        service_fail(call, error);
        return;
    }
    reply.cpus_online = have->cpus_online;
    reply.memory_total_bytes = have->memory_total;
    reply.boot_memory_total_bytes = have->boot_memory_total;
    ttrpc_call_return(call, &reply.base);
}

static void service_online_resources(TtrpcCall *call, const ProtobufCMessage *request,
                                     gpointer data)
{
    Agent *agent = data;
    const Secure__Agent__V1__OnlineResourcesRequest *req = (const void *)request;

    agent_hotplug_online(agent->hotplug, req->vcpus, req->hotplugged_memory_bytes, req->timeout_ms,
                         service_on_online, call);
}

static void service_sync_guest(TtrpcCall *call, const ProtobufCMessage *request, gpointer data)
{
    Agent *agent = data;
    const Secure__Agent__V1__SyncGuestRequest *req = (const void *)request;
    g_autoptr(GError) error = NULL;

    service_finish(call,
                   agent_sync_guest(req->realtime_ns, req->entropy.data, req->entropy.len,
                                    agent->init_mode, &error),
                   &error);
}

static void service_guest_stats(TtrpcCall *call, const ProtobufCMessage *request, gpointer data)
{
    Secure__Agent__V1__GuestStatsResponse reply = SECURE__AGENT__V1__GUEST_STATS_RESPONSE__INIT;
    g_autoptr(GError) error = NULL;
    AgentGuestStats stats;

    (void)request;
    (void)data;
    if (!agent_proc_guest_stats("/proc", &stats, &error)) {
        service_fail(call, error);
        return;
    }
    reply.mem_total_kib = stats.mem_total_kib;
    reply.mem_available_kib = stats.mem_available_kib;
    reply.load1 = stats.load[0];
    reply.load5 = stats.load[1];
    reply.load15 = stats.load[2];
    reply.agent_rss_kib = stats.agent_rss_kib;
    ttrpc_call_return(call, &reply.base);
}

static void service_exec_guest_done(const AgentDebugExecResult *result, const GError *error,
                                    gpointer user_data)
{
    TtrpcCall *call = user_data;
    Secure__Agent__V1__ExecGuestResponse reply = SECURE__AGENT__V1__EXEC_GUEST_RESPONSE__INIT;

    if (result == NULL) {
        service_fail(call, error);
        return;
    }
    reply.exit_status = (uint32_t)result->exit_status;
    reply.stdout.data = (uint8_t *)g_bytes_get_data(result->out, &reply.stdout.len);
    reply.stderr.data = (uint8_t *)g_bytes_get_data(result->err, &reply.stderr.len);
    reply.timed_out = result->timed_out;
    reply.truncated = result->truncated;
    ttrpc_call_return(call, &reply.base);
}

static void service_exec_guest(TtrpcCall *call, const ProtobufCMessage *request, gpointer data)
{
    Agent *agent = data;
    const Secure__Agent__V1__ExecGuestRequest *req = (const void *)request;

    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GPtrArray) envp = g_ptr_array_new();
    for (size_t i = 0; i < req->n_args; i++)
        g_ptr_array_add(argv, req->args[i]);
    g_ptr_array_add(argv, NULL);
    for (size_t i = 0; i < req->n_env; i++)
        g_ptr_array_add(envp, req->env[i]);
    g_ptr_array_add(envp, NULL);
    g_autoptr(GBytes) in = g_bytes_new(req->stdin.data, req->stdin.len);
    agent_debug_exec_run(agent->debug_exec, (const char *const *)argv->pdata,
                         (const char *const *)envp->pdata, in, req->timeout_ms,
                         service_exec_guest_done, call);
}

static const TtrpcMethod service_methods[] = {
    {"Health", &secure__agent__v1__health_request__descriptor, service_health},
    {"CreateSandbox", &secure__agent__v1__create_sandbox_request__descriptor,
     service_create_sandbox},
    {"DestroySandbox", &secure__agent__v1__destroy_sandbox_request__descriptor,
     service_destroy_sandbox},
    {"CreateContainer", &secure__agent__v1__create_container_request__descriptor,
     service_create_container},
    {"StartContainer", &secure__agent__v1__start_container_request__descriptor,
     service_start_container},
    {"RemoveContainer", &secure__agent__v1__remove_container_request__descriptor,
     service_remove_container},
    {"ExecProcess", &secure__agent__v1__exec_process_request__descriptor, service_exec_process},
    {"SignalProcess", &secure__agent__v1__signal_process_request__descriptor,
     service_signal_process},
    {"WaitProcess", &secure__agent__v1__wait_process_request__descriptor, service_wait_process},
    {"ListProcesses", &secure__agent__v1__list_processes_request__descriptor,
     service_list_processes},
    {"ReadStdout", &secure__agent__v1__read_stream_request__descriptor, service_read_stdout},
    {"ReadStderr", &secure__agent__v1__read_stream_request__descriptor, service_read_stderr},
    {"WriteStdin", &secure__agent__v1__write_stdin_request__descriptor, service_write_stdin},
    {"CloseStdin", &secure__agent__v1__close_stdin_request__descriptor, service_close_stdin},
    {"ResizeTty", &secure__agent__v1__resize_tty_request__descriptor, service_resize_tty},
    {"PauseContainer", &secure__agent__v1__container_request__descriptor, service_pause},
    {"ResumeContainer", &secure__agent__v1__container_request__descriptor, service_resume},
    {"StatsContainer", &secure__agent__v1__container_request__descriptor, service_stats},
    {"UpdateContainer", &secure__agent__v1__update_container_request__descriptor, service_update},
    {"GetOOMEvent", &secure__agent__v1__get_oomevent_request__descriptor, service_get_oom_event},
    {"UpdateInterface", &secure__agent__v1__update_interface_request__descriptor,
     service_update_interface},
    {"UpdateRoutes", &secure__agent__v1__update_routes_request__descriptor, service_update_routes},
    {"ListInterfaces", &secure__agent__v1__list_interfaces_request__descriptor,
     service_list_interfaces},
    {"OpenPort", &secure__agent__v1__open_port_request__descriptor, service_open_port},
    {"ReadPort", &secure__agent__v1__port_read_request__descriptor, service_read_port},
    {"WritePort", &secure__agent__v1__port_write_request__descriptor, service_write_port},
    {"ClosePort", &secure__agent__v1__close_port_request__descriptor, service_close_port},
    {"OnlineResources", &secure__agent__v1__online_resources_request__descriptor,
     service_online_resources},
    {"SyncGuest", &secure__agent__v1__sync_guest_request__descriptor, service_sync_guest},
    {"GuestStats", &secure__agent__v1__guest_stats_request__descriptor, service_guest_stats},
    {"ExecGuest", &secure__agent__v1__exec_guest_request__descriptor, service_exec_guest},
};

void agent_service_register(Agent *agent)
{
    ttrpc_server_register(agent->server, secure__agent__v1__agent__descriptor.name, service_methods,
                          G_N_ELEMENTS(service_methods), agent);
}
