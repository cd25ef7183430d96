/* The daemon's root object: one pod, its sandbox (VM) and agent, its containers, the event
 * publisher and the state file. The first Create boots the sandbox; the last Delete destroys it;
 * a sandbox that dies or an agent that misbehaves ends every container of the pod. */
#pragma once

#include <glib.h>

#include "shim-agent.h"
#include "shim-config.h"
#include "shim-events.h"
#include "shim-process.h"
#include "shim-resources.h"
#include "shim-sandbox.h"
#include "shim-state.h"

typedef enum {
    SHIM_POD_EMPTY,   /* no sandbox */
    SHIM_POD_BOOTING, /* sandbox starting; Creates queue up */
    SHIM_POD_READY,   /* agent healthy, CreateSandbox done */
    SHIM_POD_ENDED,   /* sandbox died or agent broke: every container has exited */
    SHIM_POD_LAST
} ShimPodPhase;

/* What the pod's first container says about the whole pod (borrowed strings). */
typedef struct {
    const char *hostname;      /* for the guest; NULL: none */
    const char *netns;         /* the host network namespace CNI filled; NULL: none */
    const char *cgroups_path;  /* linux.cgroupsPath: where the pod's host processes go; NULL: */
                               /* they stay where containerd started the shim */
    ShimResources limits;      /* the first container's own limits */
    ShimResources annotated;   /* the pod size of the CRI sandbox annotations */
    const char *sandbox_id;    /* the CRI sandbox's id, or the standalone container's */
    const char *cri_name;      /* the CRI sandbox annotations' pod name, namespace, uid; */
    const char *cri_namespace; /* NULL: not a CRI pod */
    const char *cri_uid;
} ShimPodSpec;
typedef struct _ShimPod ShimPod;

/* What the pod asks of its containers, which shim-container.c keeps: the pod knows them only
 * by id, and only what ending it or releasing its sandbox needs. */
typedef struct {
    guint (*count)(gpointer user_data);
    gboolean (*contains)(gpointer user_data, const char *id);
    /* The sandbox is gone: every process of every container exits now with @status. */
    void (*lost)(gpointer user_data, guint32 status);
} ShimPodContainerOps;

/* Who the pod is and how far it got, for the debug service (strings borrowed from the pod;
 * NULL: not known). */
typedef struct {
    const char *namespace;
    const char *name; /* the socket name: hex sha256 of address/namespace/group */
    const char *sandbox_id;
    const char *cri_name;
    const char *cri_namespace;
    const char *cri_uid;
    ShimPodPhase phase;
    const char *end_reason;
    guint containers;
    gint64 sandbox_since; /* monotonic µs when the running sandbox started */
    double start_seconds; /* Create received -> first container created, of the last start */
} ShimPodInfo;

/* @config: transfer full. Records the pod in its state file. */
ShimPod *shim_pod_new(const char *namespace, const char *socket_path, ShimConfig *config,
                      GMainLoop *loop, GError **error);
/* Ends the pod: processes exit, sandbox destroyed, mounts, state and socket removed. */
void shim_pod_free(ShimPod *pod);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ShimPod, shim_pod_free)

/* @error NULL: the agent is ready (pod->host.agent). Runs from the main context. */
typedef void (*ShimPodReadyFunc)(ShimPod *pod, const GError *error, gpointer user_data);
/* Boots the sandbox as @spec says if there is none, and calls @func once it is ready or
 * failed. */
void shim_pod_when_ready(ShimPod *pod, const ShimPodSpec *spec, ShimPodReadyFunc func,
                         gpointer user_data);
/* Calls @func(@pod, @error, @user_data) from the main context, never from inside this call
 * (@error: transfer full, NULL for success). */
void shim_pod_complete_later(ShimPod *pod, ShimPodReadyFunc func, gpointer user_data,
                             GError *error);
/* @ops (static, borrowed) and @user_data: the pod's containers, until set to NULL. */
void shim_pod_set_containers(ShimPod *pod, const ShimPodContainerOps *ops, gpointer user_data);
/* A container was removed: destroys the sandbox when none is left. */
void shim_pod_container_removed(ShimPod *pod);
/* The agent created a container (guest pid @guest_pid); the pod's first is the CRI sandbox. */
void shim_pod_container_created(ShimPod *pod, guint32 guest_pid);
/* The sandbox is gone or unusable: every process exits now, the sandbox is torn down. */
void shim_pod_end(ShimPod *pod, const char *reason);
/* containerd's Shutdown: with no container left, quits the loop once the queued events are out
 * (or a short while later). */
void shim_pod_shutdown(ShimPod *pod);

/* The sandbox's host pid (QEMU), reported as the task pid. */
guint32 shim_pod_task_pid(ShimPod *pod);
/* The guest path of the shared directory (for rootfs_path and rewritten mounts). */
const char *shim_pod_guest_shared_dir(ShimPod *pod);
/* Guest pid of the pod's first container (the CRI sandbox); 0: none yet. */
guint32 shim_pod_get_first_pid(ShimPod *pod);
void shim_pod_get_info(ShimPod *pod, ShimPodInfo *out);

/* Borrowed, owned by the pod. */
const char *shim_pod_get_name(ShimPod *pod);
const char *shim_pod_get_run_dir(ShimPod *pod);
const char *shim_pod_get_shared_dir(ShimPod *pod);
const ShimConfig *shim_pod_get_config(ShimPod *pod);
ShimState *shim_pod_get_state(ShimPod *pod);
ShimEvents *shim_pod_get_events(ShimPod *pod);
ShimPodPhase shim_pod_get_phase(ShimPod *pod);
/* The CRI sandbox annotations' pod size; 0: none. */
const ShimResources *shim_pod_get_annotated(ShimPod *pod);
/* What the pod's processes share (agent, events, task pid); outlives them. */
ShimProcessHost *shim_pod_get_process_host(ShimPod *pod);
/* NULL while the pod boots or once it ended. */
ShimAgent *shim_pod_get_agent(ShimPod *pod);
/* NULL: no sandbox. */
ShimSandbox *shim_pod_get_sandbox(ShimPod *pod);
/* The agent, or NULL with SHIM_ERROR_STATE "the pod's sandbox is not running" (and why). */
ShimAgent *shim_pod_require_agent(ShimPod *pod, GError **error);
