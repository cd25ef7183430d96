/* What the shim keeps of root's privileges (README.md, "Confinement"). Capabilities and
 * no_new_privs belong to each thread, not to the process: a thread that kept them would keep
 * them for the whole process, since any code running in the process can take over any thread. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The process, while it has a single thread, keeps only what starting a pod needs (also in its
 * bounding set: the processes it starts, QEMU as root with virtio-9p among them, get no more). */
gboolean shim_privileges_keep_start(GError **error);

/* Starts GLib's worker threads (gmain, the thread pool's spawner) from a thread that has given
 * up every capability, also from its bounding set, and set no_new_privs: they have none, and as
 * they block every signal, shim_privileges_keep_pod() could not ask them later. Call it while
 * the process has a single thread, before libvirt starts any. */
gboolean shim_privileges_start_workers(GError **error);

/* Every thread of the process keeps only what a running pod still needs (mounts of container
 * roots, signals to its QEMU, removing what libvirt made QEMU's, the clean-up at its end) and
 * can gain nothing back: the bounding sets shrink to the same, and no_new_privs is set. Called
 * once the pod is up, when nothing is spawned any more. Fails if a thread blocks the signal
 * that asks it (none of ours or libvirt's does). */
gboolean shim_privileges_keep_pod(GError **error);

G_END_DECLS
