/* The agent daemon's parts, created and torn down in dependency order. */
#include "agent.h"
#include "agent-service.h"

/* Every reaped child: ExecGuest's own, else a container's process. */
static void agent_reaped(pid_t pid, int wait_status, gpointer user_data)
{
    Agent *agent = user_data;
    if (!agent_debug_exec_reaped(agent->debug_exec, pid, wait_status))
        agent_pod_reaped(pid, wait_status, agent->pod);
}

Agent *agent_new(const AgentOptions *options, GError **error)
{
    g_autoptr(Agent) agent = g_new0(Agent, 1);
    AgentHotplugOptions hotplug = {
        .may_change = options->init_mode,
        .listen_uevents = options->init_mode,
    };

    agent->context = g_main_context_ref_thread_default();
    agent->loop = g_main_loop_new(agent->context, FALSE);
    agent->init_mode = options->init_mode;
    agent->pod =
        agent_pod_new(agent->context, options->cgroup_root, options->own_cgroup_root, error);
    if (agent->pod == NULL)
        return NULL;
    agent->debug_exec =
        agent_debug_exec_new(agent->context, options->init_mode && options->debug_exec);
    agent->reaper = agent_reaper_new(agent->context, agent_reaped, agent, error);
    if (agent->reaper == NULL)
        return NULL;
    agent->ports = agent_ports_new(agent->context);
    agent->hotplug = agent_hotplug_new(agent->context, &hotplug, error);
    if (agent->hotplug == NULL)
        return NULL;
    agent->sandbox = agent_sandbox_new(options->init_mode, options->etc_dir);
    agent->server = ttrpc_server_new(agent->context);
    agent_service_register(agent);
    return g_steal_pointer(&agent);
}

void agent_free(Agent *agent)
{
    if (agent == NULL)
        return;
    agent_channel_free(agent->channel);
    /* The pod, the forwarded connections and hot-plug go while the server still exists: the calls
     * waiting on them (exits, reads, writes, OOM polls, OnlineResources) are completed before the
     * server drops them. */
    if (agent->pod != NULL)
        agent_pod_destroy_all(agent->pod);
    agent_ports_free(agent->ports);
    agent_hotplug_free(agent->hotplug);
    agent_debug_exec_free(agent->debug_exec);
    if (agent->reaper != NULL)
        agent_reaper_reap_now(agent->reaper);
    agent_reaper_free(agent->reaper);
    agent_pod_free(agent->pod);
    agent_sandbox_free(agent->sandbox);
    if (agent->server != NULL)
        ttrpc_server_free(agent->server);
    g_main_loop_unref(agent->loop);
    g_main_context_unref(agent->context);
    g_free(agent);
}

gboolean agent_listen_unix(Agent *agent, const char *path, GError **error)
{
    return ttrpc_server_listen_unix(agent->server, path, error);
}

gboolean agent_serve_channel(Agent *agent, const char *port_path, guint vsock_port, GError **error)
{
    if (port_path == NULL)
        return agent_channel_listen_vsock(agent->server, vsock_port, error);
    agent->channel = agent_channel_new_port(agent->server, port_path, agent->context, error);
    return agent->channel != NULL;
}

void agent_run(Agent *agent)
{
    g_main_loop_run(agent->loop);
}

void agent_quit(Agent *agent)
{
    g_main_loop_quit(agent->loop);
}
