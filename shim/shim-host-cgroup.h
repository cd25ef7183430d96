/* The cgroup of a host-mode pod (kind = none): the host agent runs its containers below it.
 * Its processes do not die with the agent as a VM's do with QEMU, so the shim removes the whole
 * tree once the agent is gone, also after the agent was killed. */
#pragma once

#include <glib.h>

/* The mount point of the first cgroup2 filesystem in mountinfo: /sys/fs/cgroup on a unified
 * host, /sys/fs/cgroup/unified on a hybrid one. */
char *shim_host_cgroup_mount(GError **error);
/* <cgroup2 mount>/secure-container-<@pod_name>, or NULL (error set) without a cgroup2 mount. */
char *shim_host_cgroup_path(const char *pod_name, GError **error);
/* Kills every process below @path (cgroup.kill), waits a bounded time for them to go, removes
 * the directories bottom-up. Fine when @path is missing. */
gboolean shim_host_cgroup_remove(const char *path, GError **error);
