/* What the vmm VM test and the benchmarks ask of a booted guest's agent: the sandbox, a first
 * container (a busybox root in the pod's shared directory) and hot-plugged resources. Aborts the
 * Check test (or the benchmark's child) on failure. */
#pragma once

#include <glib.h>

#include "agent.pb-c.h"
#include "ttrpc.h"
#include "vmm.h"

/* A pod @name of the guest image (env VMM_TEST_KERNEL, VMM_TEST_INITRD), its run directory in
 * vmm_test_dir(), the run's capabilities cache, and a virtio-fs share in <run dir>/shared (made
 * here); its strings live in @strings. Other fields keep vmm_config_init()'s defaults. */
void vmm_test_pod_config(VmmConfig *config, GStringChunk *strings, const char *name);
/* Destroys @domain and removes the directories vmm_test_pod_config() made. */
void vmm_test_pod_destroy(VmmDomain *domain, const VmmConfig *config);

/* Runs the default main context until the agent of @domain answers the shim's readiness probe
 * (at most @timeout_us); returns the client (caller frees). */
TtrpcClient *vmm_test_wait_agent(VmmDomain *domain, gint64 timeout_us);

/* CreateSandbox: the agent mounts the virtio-fs share (tag VMM_SHARED_FS_TAG). */
void vmm_test_create_sandbox(TtrpcClient *client);

/* Runs `sh -c @command` as container "first" with its root in @shared_dir (the host side of the
 * share), then removes the container and its root; returns its stdout, *@status its exit
 * status. */
char *vmm_test_run_first_container(TtrpcClient *client, const char *shared_dir, const char *command,
                                   guint32 *status);

typedef Secure__Agent__V1__OnlineResourcesResponse VmmTestResources;

/* OnlineResources: completes once @vcpus CPUs are online and MemTotal is @hotplugged_mib above
 * what it was at the agent's start (the agent gives up after @timeout_ms). */
VmmTestResources *vmm_test_online_resources(TtrpcClient *client, guint vcpus, guint hotplugged_mib,
                                            guint timeout_ms);
void vmm_test_resources_free(VmmTestResources *resources);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmmTestResources, vmm_test_resources_free)

/* Asks OnlineResources (with @vcpus) until MemTotal is back at what it was at the agent's start,
 * at most @timeout_us; returns how many MiB it is still above that (0: all back). */
guint64 vmm_test_wait_memory_returned(TtrpcClient *client, guint vcpus, gint64 timeout_us);
