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

typedef struct _ShimContainer ShimContainer;
typedef struct _ShimPodCgroup ShimPodCgroup;
typedef struct _ShimPortForward ShimPortForward;

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

/* Where the time of one pod start goes (monotonic µs; 0 = not reached). */
typedef struct {
    gint64 create_received;
    gint64 sandbox_started;
    gint64 agent_ready;
    gint64 sandbox_created;
    gint64 container_created;
} ShimPodTimings;

struct _ShimPod {
    char *namespace;
    char *pod; /* the socket name: hex sha256 of address/namespace/group */
    char *socket_path;
    char *run_dir;    /* /run/secure-container/<pod> */
    char *shared_dir; /* <run_dir>/shared, exported to the guest */
    ShimConfig *config;
    ShimState *state;
    ShimEvents *events;
    ShimProcessHost host; /* agent + events, shared with the processes */
    ShimSandbox *sandbox;
    ShimNetwork *network;          /* taps and redirects for the VM's NICs; NULL: none */
    ShimPortForward *port_forward; /* with a network: CRI port forwarding into the guest */
    ShimPodCgroup *cgroup;         /* the shim, QEMU and virtiofsd are in it; NULL: none */
    ShimResources annotated;       /* the CRI sandbox annotations' pod size; 0: none */
    ShimPodPhase phase;
    char *end_reason;
    GError *state_error; /* the first state write failed: every Create fails with it */
    char *hostname;      /* of the first container's spec, for CreateSandbox */
    char *sandbox_id;    /* who the pod is (ShimPodSpec), for the debug service */
    char *cri_name;
    char *cri_namespace;
    char *cri_uid;
    GQueue waiting;         /* of WhenReady, while BOOTING */
    GHashTable *containers; /* id -> ShimContainer */
    guint32 first_pid;      /* guest pid of the pod's first container (the CRI sandbox) */
    guint release_source;
    guint health_source; /* periodic Health while READY */
    GMainLoop *loop;
    gint64 shutdown_deadline; /* Shutdown accepted: exit once events are out, or then */
    ShimPodTimings timings;   /* of the pod start under way (reset once logged) */
    gint64 sandbox_since;     /* monotonic µs when the running sandbox started */
    double start_seconds;     /* Create received -> first container created, of the last start */
};

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
/* A container was removed: destroys the sandbox when none is left. */
void shim_pod_container_removed(ShimPod *pod);
/* The sandbox's host pid (QEMU), reported as the task pid. */
guint32 shim_pod_task_pid(ShimPod *pod);
/* Shutdown: TRUE when the daemon should exit (no container left). */
gboolean shim_pod_can_exit(ShimPod *pod);
/* The guest path of the shared directory (for rootfs_path and rewritten mounts). */
const char *shim_pod_guest_shared_dir(ShimPod *pod);
