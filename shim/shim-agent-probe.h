/* The agent-readiness probe, one for both sandbox kinds: it gets a channel to the agent (a VM's
 * agent channel from vmm-libvirt, or the host agent's unix socket) and calls Health on it until
 * the agent answers or the deadline passes. Driven by the main loop; never blocks. */
#pragma once

#include <glib.h>

#include "ttrpc.h"
#include "vmm.h"

typedef struct _ShimAgentProbe ShimAgentProbe;

/* What the agent said in its Health reply. */
typedef struct {
    const char *agent_version;
    const char *kernel_release;
    guint32 agent_pid;
} ShimAgentInfo;

/* On success @client is a connected client whose agent answered Health (transfer full) and @info
 * that reply (valid during the call); on failure both are NULL and @error says why. A VM's probe
 * fails with VMM_ERROR_TIMEOUT (quoting the console's tail) when the deadline passes, with the
 * VM layer's error when the channel cannot be had (VMM_ERROR_STOPPED: the VM stopped); a host
 * agent's with SHIM_ERROR_UNAVAILABLE. An error answer or an invalid reply: SHIM_ERROR_FAILED. */
typedef void (*ShimAgentReadyFunc)(TtrpcClient *client, const ShimAgentInfo *info,
                                   const GError *error, gpointer user_data);

/* Probes the agent of @domain (borrowed: free the probe before the domain) for at most
 * @timeout_us. A VM resumed from a template gets each Health call a short deadline, doubled at
 * each retry on a new connection: its agent runs already, but the request can be lost. @func
 * runs at most once, from the default main context, never from inside this call. */
ShimAgentProbe *shim_agent_probe_vm(VmmDomain *domain, gint64 timeout_us, ShimAgentReadyFunc func,
                                    gpointer user_data);
/* The same for a host agent that listens on @socket_path (copied). */
ShimAgentProbe *shim_agent_probe_host(const char *socket_path, gint64 timeout_us,
                                      ShimAgentReadyFunc func, gpointer user_data);
/* Stops the probe: its function is not called any more. Allowed from inside it. NULL is fine. */
void shim_agent_probe_free(ShimAgentProbe *probe);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ShimAgentProbe, shim_agent_probe_free)
