/* One container of the pod: its rootfs and binds on the host, its init process and execs, and
 * the Task RPCs that act on the container as a whole. Every function here completes @call. */
#pragma once

#include <glib.h>

#include "shim-pod.h"
#include "shim.pb-c.h"

void shim_container_free(ShimContainer *container);

/* Create: @req transfer full. */
void shim_container_create(ShimPod *pod, Containerd__Task__V2__CreateTaskRequest *req,
                           TtrpcCall *call);
/* Delete of the container (@exec_id "") or of one exec. */
void shim_container_delete(ShimPod *pod, ShimContainer *container, const char *exec_id,
                           TtrpcCall *call);
void shim_container_exec(ShimPod *pod, ShimContainer *container,
                         const Containerd__Task__V2__ExecProcessRequest *req, TtrpcCall *call);
void shim_container_pause(ShimPod *pod, ShimContainer *container, gboolean pause, TtrpcCall *call);
void shim_container_stats(ShimPod *pod, ShimContainer *container, TtrpcCall *call);
void shim_container_pids(ShimPod *pod, ShimContainer *container, TtrpcCall *call);
void shim_container_update(ShimPod *pod, ShimContainer *container,
                           const Containerd__Task__V2__UpdateTaskRequest *req, TtrpcCall *call);
void shim_container_state(ShimContainer *container, ShimProcess *process, TtrpcCall *call);

/* The limits of its spec's linux.resources (after an Update, the updated ones; while one is
 * pending, the larger of the old and the new). */
const ShimResources *shim_container_get_limits(ShimContainer *container);

/* The init process (exec_id "") or an exec; NULL if unknown. */
ShimProcess *shim_container_lookup(ShimContainer *container, const char *exec_id);
/* Every process of the container exits now with @status (its sandbox is gone). */
void shim_container_force_exit(ShimContainer *container, guint32 status);
