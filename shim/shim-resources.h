/* What a pod asks for (its containers' limits, the CRI sandbox annotations) and the VM size that
 * follows from it under the config: a pure module, no VM and no agent. Secure containers get
 * what they are limited to, so a pod's size is the sum of its containers' limits plus the guest's
 * own overhead, never below the configured minimum nor above the maximum. */
#pragma once

#include <glib.h>
#include <json-c/json.h>

#include "shim-config.h"

/* A container's or pod's limits; 0 means none given. */
typedef struct {
    guint64 memory_bytes;
    guint64 cpu_millis; /* CPU quota / period, in thousandths of a CPU, rounded up */
} ShimResources;

/* The VM a pod gets: boot size, and (for hot-plug) the ceilings. */
typedef struct {
    guint memory_mib;
    guint vcpus;
    guint max_memory_mib;
    guint max_vcpus;
} ShimVmSize;

/* The limits of an OCI linux.resources object (NULL: none): memory.limit, cpu.quota/period. A
 * negative limit means none; a wrong type or an out-of-range value is an error naming the key. */
gboolean shim_resources_parse(json_object *resources, ShimResources *out, GError **error);

/* A spec's limits (@out_own: its linux.resources) and, for a CRI sandbox, the pod size that
 * containerd 1.7+ puts in the io.kubernetes.cri.sandbox-memory / -cpu-quota / -cpu-period
 * annotations (@out_pod: the sum of the pod's container limits, as the kubelet computes it; 0
 * without them). */
gboolean shim_resources_from_spec(json_object *spec, ShimResources *out_own, ShimResources *out_pod,
                                  GError **error);

/* @a gets the sum, or the larger of each limit. */
void shim_resources_add(ShimResources *a, const ShimResources *b);
void shim_resources_max(ShimResources *a, const ShimResources *b);

/* The boot size of a pod whose first spec asks for @demand: with any limit, the limits plus
 * [hypervisor] memory_overhead and the initrd's size, at least min_memory MiB and one vCPU per
 * started CPU; with none, the config's default_memory / default_vcpus. Ceilings: max_memory /
 * max_vcpus, and no more than the host has. A demand above a ceiling is refused
 * (RESOURCE_EXHAUSTED) with a message naming the config key. */
gboolean shim_resources_boot_size(const ShimConfig *config, const ShimResources *demand,
                                  ShimVmSize *out, GError **error);

/* The size a running VM that booted at @boot and now has @current needs for @demand: memory
 * follows the demand (plus overhead) but never below boot; vCPUs only grow. Refused like
 * shim_resources_boot_size() above the ceilings. */
gboolean shim_resources_running_size(const ShimConfig *config, const ShimVmSize *boot,
                                     const ShimVmSize *current, const ShimResources *demand,
                                     ShimVmSize *out, GError **error);
