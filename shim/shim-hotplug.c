/* Pod demand -> VM size -> libvirt hot-plug -> the agent onlines it. */
#include "shim-hotplug.h"

#include "agent.pb-c.h"
#include "shim-error.h"

#define MIB (G_GUINT64_CONSTANT(1024) * 1024)
#define ONLINE_TIMEOUT_MS_MAX 60000

typedef struct {
    ShimPod *pod;
    ShimPodReadyFunc done;
    gpointer user_data;
    gint64 started;
    gint64 plugged; /* libvirt returned */
} Grow;

static void grow_finish(Grow *g, GError *error)
{
    shim_pod_complete_later(g->pod, g->done, g->user_data, error);
    g_free(g);
}

/* The containers' limits, and at least what the annotations said. */
static void pod_demand(ShimPod *pod, const ShimResources *limits, ShimResources *out)
{
    *out = *limits;
    shim_resources_max(out, shim_pod_get_annotated(pod));
}

static void online_done(const ProtobufCMessage *msg, const GError *error, gpointer user_data)
{
    Grow *g = user_data;
    const Secure__Agent__V1__OnlineResourcesResponse *reply = (const void *)msg;
    gint64 now = g_get_monotonic_time();

    if (error) {
        GError *online_error = g_error_copy(error);
        g_prefix_error(&online_error, "the guest did not online the hot-plugged resources: ");
        grow_finish(g, online_error);
        return;
    }
    g_info("hot-plug: the guest has %u CPUs and %" G_GUINT64_FORMAT " MiB online after %.1f ms "
           "(libvirt %.1f ms, guest %.1f ms)",
           reply->cpus_online, reply->memory_total_bytes / MIB, (now - g->started) / 1000.0,
           (g->plugged - g->started) / 1000.0, (now - g->plugged) / 1000.0);
    grow_finish(g, NULL);
}

/* The agent answers before the shim's own deadline for the call, with what the guest has. */
static guint online_timeout_ms(ShimPod *pod)
{
    guint ms = shim_pod_get_config(pod)->agent_request_timeout_s * 1000 * 3 / 4;
    return CLAMP(ms, 1, ONLINE_TIMEOUT_MS_MAX);
}

static void ask_guest(ShimPod *pod, Grow *g, const ShimVmSize *boot, const ShimVmSize *now)
{
    Secure__Agent__V1__OnlineResourcesRequest req =
        SECURE__AGENT__V1__ONLINE_RESOURCES_REQUEST__INIT;
    req.vcpus = now->vcpus;
    req.hotplugged_memory_bytes = (guint64)(now->memory_mib - boot->memory_mib) * MIB;
    req.timeout_ms = online_timeout_ms(pod);
    shim_agent_call(shim_pod_get_agent(pod), "OnlineResources", &req.base,
                    &secure__agent__v1__online_resources_response__descriptor, SHIM_AGENT_DEADLINE,
                    online_done, g);
}

void shim_hotplug_grow(ShimPod *pod, const ShimResources *limits, ShimPodReadyFunc done,
                       gpointer user_data)
{
    ShimSandbox *sandbox = shim_pod_get_sandbox(pod);
    Grow *g = g_new0(Grow, 1);
    GError *error = NULL;
    ShimResources demand;
    ShimVmSize boot, current, target;

    g->pod = pod;
    g->done = done;
    g->user_data = user_data;
    g->started = g_get_monotonic_time();
    if (!sandbox || !shim_pod_get_agent(pod)) {
        grow_finish(g,
                    g_error_new(SHIM_ERROR, SHIM_ERROR_STATE, "the pod's sandbox is not running"));
        return;
    }
    pod_demand(pod, limits, &demand);
    shim_sandbox_get_size(sandbox, &boot, &current);
    if (!shim_resources_running_size(shim_pod_get_config(pod), &boot, &current, &demand, &target,
                                     &error)) {
        grow_finish(g, error);
        return;
    }
    /* Growing only: a lower limit gives memory back once it is in force (shim_hotplug_fit). */
    target.memory_mib = MAX(target.memory_mib, current.memory_mib);
    if (target.memory_mib == current.memory_mib && target.vcpus == current.vcpus) {
        grow_finish(g, NULL);
        return;
    }
    g_info("hot-plug: %u -> %u MiB, %u -> %u vCPUs for limits of %" G_GUINT64_FORMAT
           " MiB and %.3f CPUs",
           current.memory_mib, target.memory_mib, current.vcpus, target.vcpus,
           (demand.memory_bytes + MIB - 1) / MIB, demand.cpu_millis / 1000.0);
    if (!shim_sandbox_resize(sandbox, &target, &error)) {
        g_prefix_error(&error, "hot-plug: ");
        grow_finish(g, error);
        return;
    }
    g->plugged = g_get_monotonic_time();
    if (!shim_sandbox_is_vm(sandbox)) {
        grow_finish(g, NULL);
        return;
    }
    ask_guest(pod, g, &boot, &target);
}

void shim_hotplug_fit(ShimPod *pod, const ShimResources *limits)
{
    ShimSandbox *sandbox = shim_pod_get_sandbox(pod);
    g_autoptr(GError) error = NULL;
    ShimResources demand;
    ShimVmSize boot, current, target;

    if (!sandbox || shim_pod_get_phase(pod) != SHIM_POD_READY)
        return;
    pod_demand(pod, limits, &demand);
    shim_sandbox_get_size(sandbox, &boot, &current);
    if (!shim_resources_running_size(shim_pod_get_config(pod), &boot, &current, &demand, &target,
                                     &error) ||
        target.memory_mib >= current.memory_mib)
        return;
    g_info("hot-plug: giving memory back, %u -> %u MiB", current.memory_mib, target.memory_mib);
    target.vcpus = current.vcpus;
    if (!shim_sandbox_resize(sandbox, &target, &error))
        g_warning("hot-plug: give memory back: %s", error->message);
}
