/* Keeps the pod's VM as large as its containers' limits say: grows it (libvirt hot-plug, then
 * the agent onlines what came) before a container with limits is created or raised, and gives
 * memory back when the limits fall or a container goes. vCPUs only grow (see vmm.h). */
#pragma once

#include "shim-pod.h"
#include "shim-resources.h"

/* Makes the VM fit @limits (every container's, added up; at least the pod size its annotations
 * asked for), then calls @done (error NULL: the VM fits now), never from inside this call. A pod
 * that would need more than the ceilings fails with SHIM_ERROR_EXHAUSTED and nothing changes; a
 * hot-plug the host or the guest does not complete fails with the reason, and the pod runs on. */
void shim_hotplug_grow(ShimPod *pod, const ShimResources *limits, ShimPodReadyFunc done,
                       gpointer user_data);

/* Gives back the memory that @limits (every container's, added up) no longer need (the guest
 * unplugs what it can move; failures are logged). */
void shim_hotplug_fit(ShimPod *pod, const ShimResources *limits);
