/* One container of the pod: its rootfs and binds on the host, its init process and execs, and
 * the Task requests that act on the container as a whole. Every request answers its @func once
 * (shim-reply.h), with the containerd Task response message of the same name (NULL for
 * google.protobuf.Empty). */
#pragma once

#include <glib.h>

#include "shim-pod.h"
#include "shim.pb-c.h"

typedef struct _ShimContainer ShimContainer;
/* The pod's containers by id, which the Task calls act on. */
typedef struct _ShimContainers ShimContainers;

/* Attaches to @pod, which must outlive the result. */
ShimContainers *shim_containers_new(ShimPod *pod);
/* Ends the pod if it still runs (every process exits and says so), then frees every container. */
void shim_containers_free(ShimContainers *containers);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ShimContainers, shim_containers_free)
/* NULL if unknown. */
ShimContainer *shim_containers_lookup(ShimContainers *containers, const char *id);
guint shim_containers_count(ShimContainers *containers);
ShimPod *shim_containers_get_pod(ShimContainers *containers);

void shim_container_free(ShimContainer *container);

/* Create: @req transfer full. */
void shim_container_create(ShimContainers *containers, Containerd__Task__V2__CreateTaskRequest *req,
                           ShimReplyFunc func, gpointer user_data);
/* Delete of the container (@exec_id "") or of one exec. */
void shim_container_delete(ShimContainers *containers, ShimContainer *container,
                           const char *exec_id, ShimReplyFunc func, gpointer user_data);
void shim_container_exec(ShimContainers *containers, ShimContainer *container,
                         const Containerd__Task__V2__ExecProcessRequest *req, ShimReplyFunc func,
                         gpointer user_data);
void shim_container_pause(ShimContainers *containers, ShimContainer *container, gboolean pause,
                          ShimReplyFunc func, gpointer user_data);
void shim_container_stats(ShimContainers *containers, ShimContainer *container, ShimReplyFunc func,
                          gpointer user_data);
void shim_container_pids(ShimContainers *containers, ShimContainer *container, ShimReplyFunc func,
                         gpointer user_data);
void shim_container_update(ShimContainers *containers, ShimContainer *container,
                           const Containerd__Task__V2__UpdateTaskRequest *req, ShimReplyFunc func,
                           gpointer user_data);
void shim_container_state(ShimContainer *container, ShimProcess *process, ShimReplyFunc func,
                          gpointer user_data);

/* The limits of its spec's linux.resources (after an Update, the updated ones; while one is
 * pending, the larger of the old and the new). */
const ShimResources *shim_container_get_limits(ShimContainer *container);

/* The init process (exec_id "") or an exec; NULL if unknown. */
ShimProcess *shim_container_lookup(ShimContainer *container, const char *exec_id);
/* Every process of the container exits now with @status (its sandbox is gone). */
void shim_container_force_exit(ShimContainer *container, guint32 status);
