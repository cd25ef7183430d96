/* The pod's host cgroup: the sandbox container's linux.cgroupsPath (cgroupfs "/a/b" or systemd
 * "slice:prefix:name"), where the kubelet accounts and limits the pod, in every hierarchy the
 * shim is in (cgroup v2; on a v1 or hybrid host each v1 controller's too, as runc places a
 * container). The shim moves itself there before it starts the VM, so that QEMU and virtiofsd
 * are born in it, and leaves and removes it once the sandbox is gone. */
#pragma once

#include <glib.h>

#include "shim-state.h"

/* Pod keys of the state file, one entry per hierarchy, joined by ';'. */
#define SHIM_STATE_POD_CGROUP "pod_cgroup"                 /* the leaves the shim moved into */
#define SHIM_STATE_POD_CGROUP_CREATED "pod_cgroup_created" /* the topmost directories made */

typedef struct _ShimPodCgroup ShimPodCgroup;

/* The directory (below @mount, the cgroup2 mount) that @cgroups_path names, or NULL with an
 * error for a path that is neither form, or that would leave @mount ("..", a '/' in a systemd
 * part). Systemd slices expand as systemd does: "a-b.slice" is "a.slice/a-b.slice". */
char *shim_pod_cgroup_dir(const char *mount, const char *cgroups_path, GError **error);

/* Creates the cgroup of @cgroups_path and the parents it lacks (enabling, in each, the
 * controllers its children may use), records them in @state, and moves this process into it. */
ShimPodCgroup *shim_pod_cgroup_enter(const char *cgroups_path, ShimState *state, GError **error);

/* Moves this process back to the cgroup it came from, kills what still runs in the pod's
 * (nothing, once the VM is gone) and removes what enter created. Frees @cgroup; NULL is fine. */
void shim_pod_cgroup_leave(ShimPodCgroup *cgroup, ShimState *state);

/* Removes what the state of a dead shim records (after its VM was stopped). */
gboolean shim_pod_cgroup_cleanup_stale(ShimState *state, GError **error);
