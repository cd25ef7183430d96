/* Host mounts under the pod's shared directory: a container's rootfs (from CreateTaskRequest)
 * and the host paths its spec binds in. The guest sees them through the shared filesystem. */
#pragma once

#include <glib.h>

#include "mount.pb-c.h"

/* Mounts @mounts (stacked in order onto @target, as containerd's mount.All does) or, when there
 * are none, binds @fallback_dir (the spec's root.path). Creates @target. */
gboolean shim_rootfs_mount(Containerd__Types__Mount **mounts, gsize n_mounts,
                           const char *fallback_dir, const char *target, GError **error);

/* Binds the host file or directory @source onto @target (created to match), read-only if
 * @readonly. */
gboolean shim_rootfs_bind(const char *source, const char *target, gboolean readonly,
                          GError **error);

/* Unmounts everything at or below @dir (deepest first, lazily) and removes @dir without
 * crossing into anything still mounted. Missing @dir is fine. */
gboolean shim_rootfs_remove_tree(const char *dir, GError **error);
