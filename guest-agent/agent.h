/* The agent daemon: one event loop, the ttrpc server with the agent service, the child reaper,
 * the pod's containers, the forwarded connections, CPU and memory hot-plug and the sandbox
 * settings. */
#pragma once

#include "agent-channel.h"
#include "agent-debug-exec.h"
#include "agent-hotplug.h"
#include "agent-pod.h"
#include "agent-port.h"
#include "agent-reaper.h"
#include "agent-sandbox.h"
#include "ttrpc.h"

G_BEGIN_DECLS

typedef struct {
    gboolean init_mode;       /* PID 1 of the pod VM: DestroySandbox powers it off */
    const char *cgroup_root;  /* containers' cgroups go below */
    gboolean own_cgroup_root; /* remove cgroup_root at exit */
    const char *etc_dir;      /* resolv.conf and hostname files */
    gboolean debug_exec;      /* the kernel command line allows ExecGuest */
} AgentOptions;

typedef struct {
    GMainContext *context;
    GMainLoop *loop;
    gboolean init_mode;
    TtrpcServer *server;
    AgentPod *pod;
    AgentPorts *ports;
    AgentHotplug *hotplug;
    AgentReaper *reaper;
    AgentSandbox *sandbox;
    AgentChannel *channel;
    AgentDebugExec *debug_exec;
} Agent;

/* Sets up everything but the listeners, on the thread-default main context. */
Agent *agent_new(const AgentOptions *options, GError **error);
/* Kills every container, collects their exits, stops serving. */
void agent_free(Agent *agent);

/* Serves on the unix socket @path (host mode). */
gboolean agent_listen_unix(Agent *agent, const char *path, GError **error);
/* Serves the VM's agent channel: a virtio-serial port device, or a vsock port when @port_path is
 * NULL. */
gboolean agent_serve_channel(Agent *agent, const char *port_path, guint vsock_port, GError **error);

/* Runs the loop until agent_quit(). */
void agent_run(Agent *agent);
void agent_quit(Agent *agent);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Agent, agent_free)

G_END_DECLS
