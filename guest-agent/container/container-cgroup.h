/* container-cgroup.h: one container's cgroup v2 directory: limits, freezer, kill, statistics. */
#pragma once

#include "oci-spec-private.h"

typedef struct ContainerCgroup ContainerCgroup;

/* Creates `<root>/<name>` (root must be a cgroup v2 directory), enables in root's
 * cgroup.subtree_control the controllers `res` needs, and applies `res`. Fails when a needed
 * controller is not available. Returns a new handle; free with container_cgroup_remove(). */
ContainerCgroup *container_cgroup_create(const char *root, const char *name,
                                         const OciResources *res, GError **error);
/* The cgroup directory fd (borrowed), for CLONE_INTO_CGROUP. */
int container_cgroup_get_fd(ContainerCgroup *cg);
/* Writes the limits `res` sets (unset ones are left alone). */
gboolean container_cgroup_apply(ContainerCgroup *cg, const OciResources *res, GError **error);
/* Sets cgroup.freeze and waits (bounded) until cgroup.events reports the state. */
gboolean container_cgroup_freeze(ContainerCgroup *cg, gboolean frozen, GError **error);
/* Sends `sig` to every process in the cgroup. */
gboolean container_cgroup_signal(ContainerCgroup *cg, int sig, GError **error);
/* Pids in the cgroup (host namespace). */
GArray *container_cgroup_pids(ContainerCgroup *cg, GError **error);
/* memory.events as a read-only fd (borrowed), or -1 without the memory controller. */
int container_cgroup_get_events_fd(ContainerCgroup *cg);
gboolean container_cgroup_oom_kills(ContainerCgroup *cg, guint64 *out, GError **error);
/* Statistics (container-cgroup-stats.c): a new message, free_unpacked by the caller. */
Io__Containerd__Cgroups__V2__Metrics *container_cgroup_stats(ContainerCgroup *cg, GError **error);
/* Kills everything in the cgroup, waits (bounded) until it is empty, removes it and frees cg. */
gboolean container_cgroup_remove(ContainerCgroup *cg, GError **error);

/* Shared by the cgroup files: reads a small cgroup file (NULL with errno set when it cannot). */
char *cgroup_read_file(int dirfd, const char *file);
/* The value of `key` in a file of "key value" lines, or FALSE. */
gboolean cgroup_keyed_value(const char *text, const char *key, guint64 *out);
