/* CPU and memory hot-plug inside the guest. The host adds vCPUs (ACPI) and virtio-mem memory; the
 * kernel leaves a new CPU offline (there is no udev in the guest to online it) and normally
 * onlines memory itself (memhp_default_state=online on the cmdline). The agent onlines whatever
 * it finds offline, when the kernel announces a device (uevents) and when the host asks
 * (OnlineResources), and tells the host once the guest has what it was given. The limits are
 * those of proto/agent.proto. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define AGENT_HOTPLUG_VCPUS_MAX 255
#define AGENT_HOTPLUG_MEMORY_MAX (G_GUINT64_CONSTANT(1) << 40)
#define AGENT_HOTPLUG_TIMEOUT_MS_MAX 60000
/* How often a pending request re-reads what the guest has: virtio-mem can grow a memory block
 * that is already online, which raises MemTotal without any uevent. */
#define AGENT_HOTPLUG_POLL_MS 10

/* ---- sysfs: each takes the sysfs mount (normally "/sys") so that tests can use a fake tree */

/* Writes 1 to devices/system/cpu/cpuN/online of every CPU whose file holds 0 (a CPU without the
 * file, cpu0 on x86, cannot go offline). Sets *@out_onlined to how many it onlined. */
gboolean agent_hotplug_online_cpus(const char *sysfs, guint *out_onlined, GError **error);
/* Writes "online" to devices/system/memory/memoryN/state of every block in state "offline".
 * Sets *@out_onlined to how many it onlined. */
gboolean agent_hotplug_online_memory(const char *sysfs, guint *out_onlined, GError **error);
/* The number of online CPUs, from devices/system/cpu/online. */
gboolean agent_hotplug_count_cpus(const char *sysfs, guint *out_count, GError **error);
/* The number of CPUs in a kernel CPU list such as "0-1,3" (ascending, no overlaps, at least
 * one); @path names the file it came from in errors. */
gboolean agent_hotplug_parse_cpu_list(const char *path, const char *text, guint *out_count,
                                      GError **error);

/* ---- the service side */

typedef struct {
    const char *sysfs;       /* NULL: "/sys" */
    const char *meminfo;     /* NULL: "/proc/meminfo" */
    gboolean may_change;     /* FALSE in host mode: requests are checked, then refused */
    gboolean listen_uevents; /* online devices as the kernel announces them (init mode) */
} AgentHotplugOptions;

/* What the guest has. */
typedef struct {
    guint cpus_online;
    guint64 memory_total;      /* MemTotal, bytes */
    guint64 boot_memory_total; /* MemTotal when the agent started */
} AgentHotplugResources;

typedef struct _AgentHotplug AgentHotplug;

/* Completes a request: @have on success, else @error (and @have NULL). */
typedef void (*AgentHotplugFunc)(const AgentHotplugResources *have, const GError *error,
                                 gpointer user_data);

/* With @options->may_change, records MemTotal as the boot baseline (so create it when the agent
 * starts, before any hot-plug). With @options->listen_uevents, onlines from then on each CPU and
 * memory block that the kernel announces as added, from a source on @context (borrowed; NULL:
 * the default context). */
AgentHotplug *agent_hotplug_new(GMainContext *context, const AgentHotplugOptions *options,
                                GError **error);
/* Pending requests fail with AGENT_ERROR_STATE. */
void agent_hotplug_free(AgentHotplug *hotplug);

/* Checks the arguments (AGENT_ERROR_INVALID), refuses without may_change (AGENT_ERROR_STATE),
 * onlines everything offline and calls @func once at least @vcpus CPUs are online and MemTotal is
 * at least @memory_bytes above the boot MemTotal, or with AGENT_ERROR_TIMED_OUT after
 * @timeout_ms, or with AGENT_ERROR_FAILED when sysfs cannot be read or written. @func runs
 * exactly once, from this call when the answer is known at once. Any number of requests may be
 * pending. */
void agent_hotplug_online(AgentHotplug *hotplug, guint vcpus, guint64 memory_bytes,
                          guint timeout_ms, AgentHotplugFunc func, gpointer user_data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgentHotplug, agent_hotplug_free)

G_END_DECLS
