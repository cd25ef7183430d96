/* The bundle's OCI runtime spec (config.json): loading, pod grouping, and the rewrite that makes
 * it valid inside the pod VM. */
#pragma once

#include <glib.h>

#include "common-json.h"

/* Parses <bundle>/config.json; fails with a message naming the file when it is missing, not
 * JSON, or not an object. */
json_object *shim_spec_load(const char *bundle, GError **error);

/* The string annotation @key of @spec, NULL when it is absent, empty or not a string. */
const char *shim_spec_annotation(json_object *spec, const char *key);

/* The pod a container belongs to: the first sandbox-id annotation of CRI, cri-o or dockershim,
 * else @id itself (a standalone container is its own pod). */
const char *shim_spec_group(json_object *spec, const char *id);

/* A host path the container's spec binds in; it must be bound at @target (under the pod's
 * shared directory) before the agent creates the container. */
typedef struct {
    char *source;
    char *target;
    gboolean readonly;
} ShimSpecBind;

void shim_spec_bind_free(ShimSpecBind *bind);

/* The host network namespace the spec joins (CRI: the one CNI filled), borrowed; NULL if none. */
const char *shim_spec_netns_path(json_object *spec);

/* linux.cgroupsPath, borrowed; NULL if none. */
const char *shim_spec_cgroups_path(json_object *spec);

/* Rewrites @spec for the guest: bind mounts of host files and directories go through
 * @host_dir/mounts/<n> (seen as @guest_dir/mounts/<n>), binds of anything else (devices,
 * sockets) are dropped with a warning, hooks (host programs) are dropped, and namespace paths
 * (host /proc paths) point at the pod's first container (@sandbox_pid, a guest pid; 0: none, the
 * container gets its own, except the network: the first container joins the pod VM's, where the
 * pod's interfaces are, or with @agent_on_host keeps the host path). A spec without a network
 * namespace (host network) is refused. Appends the binds to make to @out_binds (ShimSpecBind). */
gboolean shim_spec_prepare(json_object *spec, const char *host_dir, const char *guest_dir,
                           guint32 sandbox_pid, gboolean agent_on_host, GPtrArray *out_binds,
                           GError **error);
