/* The uid (and gid of the same number) a pod's QEMU runs as: its own, so that no other pod's
 * QEMU can open what libvirt makes QEMU's. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Reserves a uid of @base..@base+@count-1 for the pod whose directory is @pod_dir: a symlink
 * SHIM_STATE_ROOT/uid-<uid> to it. A reservation whose pod directory is gone (its shim was
 * killed and its pod deleted) is taken over. Fails when all are taken. */
gboolean shim_pod_uid_reserve(guint base, guint count, const char *pod_dir, guint *out_uid,
                              GError **error);

/* Gives @uid back, if @pod_dir holds it. */
void shim_pod_uid_release(guint uid, const char *pod_dir);

G_END_DECLS
