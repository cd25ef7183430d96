/* Pod lifecycle: boot on demand, queue Creates while booting, end everything when the sandbox
 * dies or the agent breaks, release the sandbox when the last container is gone. */
#include "shim-pod.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "agent.pb-c.h"
#include "events-task.pb-c.h"
#include "shim-error.h"
#include "shim-network.h"
#include "shim-pod-cgroup.h"
#include "shim-port-forward.h"
#include "shim-privileges.h"
#include "shim-rootfs.h"
#include "shim-stale.h"
#include "shim-template.h"

/* An exit status for processes whose VM died: what runc reports for a lost process. */
#define LOST_EXIT_STATUS 137
/* With [agent] health_timeout, how soon a hung guest ends its pod: 3 + 10 s by default. */
#define HEALTH_INTERVAL_S 3
/* What a resumed VM gets from the host's getrandom() (256 bits make the guest CRNG ready). */
#define SYNC_ENTROPY_BYTES 64

/* After Shutdown, how often and how long the queued events (exit, delete) are waited for. */
#define SHUTDOWN_FLUSH_POLL_MS 20
#define SHUTDOWN_FLUSH_MAX_MS 2000

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
    ShimSandbox *stopping;         /* shim_sandbox_stop() in progress */
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
    GQueue waiting;                        /* of WhenReady, while BOOTING */
    const ShimPodContainerOps *containers; /* NULL: none attached */
    gpointer containers_data;
    guint32 first_pid; /* guest pid of the pod's first container (the CRI sandbox) */
    guint release_source;
    guint health_source; /* periodic Health while READY */
    GMainLoop *loop;
    gint64 shutdown_deadline; /* Shutdown accepted: exit once events are out, or then */
    ShimPodTimings timings;   /* of the pod start under way (reset once logged) */
    gint64 sandbox_since;     /* monotonic µs when the running sandbox started */
    double start_seconds;     /* Create received -> first container created, of the last start */
};

typedef struct {
    ShimPodReadyFunc func;
    gpointer user_data;
} WhenReady;

/* A daemon for this pod died before (its socket no longer answered, so `start` made a new one):
 * undo what its state records before this daemon reuses the directory. */
static gboolean cleanup_previous(const char *run_dir, GError **error)
{
    g_autoptr(ShimState) stale = shim_state_load(run_dir, NULL);
    if (!stale)
        return TRUE;
    g_warning("cleaning up after a previous shim of this pod (pid %" G_GINT64_FORMAT ")",
              shim_state_get_int(stale, NULL, SHIM_STATE_SHIM_PID));
    if (!shim_stale_cleanup(stale, error)) {
        g_prefix_error(error, "cleanup of the previous shim's pod: ");
        return FALSE;
    }
    return TRUE;
}

ShimPod *shim_pod_new(const char *namespace, const char *socket_path, ShimConfig *config,
                      GMainLoop *loop, GError **error)
{
    g_autoptr(ShimPod) pod = g_new0(ShimPod, 1);
    pod->namespace = g_strdup(namespace);
    pod->socket_path = g_strdup(socket_path);
    pod->pod = g_path_get_basename(socket_path);
    pod->run_dir = shim_state_pod_dir(pod->pod);
    pod->shared_dir = g_build_filename(pod->run_dir, "shared", NULL);
    pod->config = config;
    pod->loop = g_main_loop_ref(loop);
    g_queue_init(&pod->waiting);
    pod->events = shim_events_new(g_getenv("TTRPC_ADDRESS"), namespace);
    pod->host.events = pod->events;

    if (!cleanup_previous(pod->run_dir, error))
        return NULL;
    pod->state = shim_state_open(pod->run_dir, error);
    if (!pod->state)
        return NULL;
    shim_state_set(pod->state, NULL, SHIM_STATE_NAMESPACE, namespace);
    shim_state_set(pod->state, NULL, SHIM_STATE_SOCKET, socket_path);
    shim_state_set_int(pod->state, NULL, SHIM_STATE_SHIM_PID, getpid());
    shim_state_set(pod->state, NULL, SHIM_STATE_SHARED_DIR, pod->shared_dir);
    /* A state that cannot be written (a full /run) fails the pod's first Create, which says why;
     * a shim that exited here would only be a closed connection to containerd. */
    shim_state_save(pod->state, &pod->state_error);
    return g_steal_pointer(&pod);
}

const char *shim_pod_guest_shared_dir(ShimPod *pod)
{
    return pod->config->kind == SHIM_HYPERVISOR_NONE ? pod->shared_dir : SHIM_GUEST_SHARED_DIR;
}

guint32 shim_pod_task_pid(ShimPod *pod)
{
    return pod->sandbox ? (guint32)shim_sandbox_get_pid(pod->sandbox) : 0;
}

static guint count_containers(ShimPod *pod)
{
    return pod->containers ? pod->containers->count(pod->containers_data) : 0;
}

void shim_pod_set_containers(ShimPod *pod, const ShimPodContainerOps *ops, gpointer user_data)
{
    pod->containers = ops;
    pod->containers_data = user_data;
}

const char *shim_pod_get_name(ShimPod *pod)
{
    return pod->pod;
}

const char *shim_pod_get_run_dir(ShimPod *pod)
{
    return pod->run_dir;
}

const char *shim_pod_get_shared_dir(ShimPod *pod)
{
    return pod->shared_dir;
}

const ShimConfig *shim_pod_get_config(ShimPod *pod)
{
    return pod->config;
}

ShimState *shim_pod_get_state(ShimPod *pod)
{
    return pod->state;
}

ShimEvents *shim_pod_get_events(ShimPod *pod)
{
    return pod->events;
}

ShimPodPhase shim_pod_get_phase(ShimPod *pod)
{
    return pod->phase;
}

const ShimResources *shim_pod_get_annotated(ShimPod *pod)
{
    return &pod->annotated;
}

ShimProcessHost *shim_pod_get_process_host(ShimPod *pod)
{
    return &pod->host;
}

ShimAgent *shim_pod_get_agent(ShimPod *pod)
{
    return pod->host.agent;
}

ShimSandbox *shim_pod_get_sandbox(ShimPod *pod)
{
    return pod->sandbox;
}

guint32 shim_pod_get_first_pid(ShimPod *pod)
{
    return pod->first_pid;
}

ShimAgent *shim_pod_require_agent(ShimPod *pod, GError **error)
{
    if (!pod->host.agent)
        g_set_error(error, SHIM_ERROR, SHIM_ERROR_STATE, "the pod's sandbox is not running%s%s",
                    pod->end_reason ? ": " : "", pod->end_reason ? pod->end_reason : "");
    return pod->host.agent;
}

void shim_pod_get_info(ShimPod *pod, ShimPodInfo *out)
{
    out->namespace = pod->namespace;
    out->name = pod->pod;
    out->sandbox_id = pod->sandbox_id;
    out->cri_name = pod->cri_name;
    out->cri_namespace = pod->cri_namespace;
    out->cri_uid = pod->cri_uid;
    out->phase = pod->phase;
    out->end_reason = pod->end_reason;
    out->containers = count_containers(pod);
    out->sandbox_since = pod->sandbox_since;
    out->start_seconds = pod->start_seconds;
}

/* Where the first Create's time went (for the measurements in the report). */
static void log_timings(ShimPod *pod)
{
    const ShimPodTimings *t = &pod->timings;
    if (!t->create_received || !t->sandbox_created)
        return;
    g_info("pod start: sandbox start %.1f ms (%s), agent ready %.1f ms, CreateSandbox %.1f ms, "
           "CreateContainer %.1f ms",
           (t->sandbox_started - t->create_received) / 1000.0,
           pod->sandbox && shim_sandbox_is_restored(pod->sandbox) ? "resumed" : "booted",
           (t->agent_ready - t->sandbox_started) / 1000.0,
           (t->sandbox_created - t->agent_ready) / 1000.0,
           (t->container_created - t->sandbox_created) / 1000.0);
    memset(&pod->timings, 0, sizeof(pod->timings));
}

void shim_pod_container_created(ShimPod *pod, guint32 guest_pid)
{
    pod->timings.container_created = g_get_monotonic_time();
    if (!pod->first_pid) {
        pod->first_pid = guest_pid;
        pod->start_seconds = (pod->timings.container_created - pod->timings.create_received) /
                             (double)G_USEC_PER_SEC;
    }
    log_timings(pod);
}

static gboolean quit_when_flushed(gpointer user_data)
{
    ShimPod *pod = user_data;
    if (!shim_events_is_idle(pod->events) && g_get_monotonic_time() < pod->shutdown_deadline)
        return G_SOURCE_CONTINUE;
    g_main_loop_quit(pod->loop);
    return G_SOURCE_REMOVE;
}

void shim_pod_shutdown(ShimPod *pod)
{
    if (count_containers(pod) > 0 || pod->shutdown_deadline)
        return;
    /* Events still queued (exit, delete) must reach containerd before we go. */
    pod->shutdown_deadline = g_get_monotonic_time() + SHUTDOWN_FLUSH_MAX_MS * 1000;
    g_timeout_add(SHUTDOWN_FLUSH_POLL_MS, quit_when_flushed, pod);
}

static void finish_waiting(ShimPod *pod, const GError *error)
{
    WhenReady *w;
    while ((w = g_queue_pop_head(&pod->waiting))) {
        w->func(pod, error, w->user_data);
        g_free(w);
    }
}

/* What the VM used on the host, once it is gone: its taps, then the cgroup it ran in. */
static void release_host(ShimPod *pod)
{
    g_autoptr(GError) error = NULL;
    if (!pod->network && !pod->cgroup)
        return;
    shim_network_free(g_steal_pointer(&pod->network), pod->state);
    shim_pod_cgroup_leave(g_steal_pointer(&pod->cgroup), pod->state);
    if (!shim_state_save(pod->state, &error))
        g_warning("%s", error->message);
}

static void sandbox_stopped(ShimSandbox *sandbox, gpointer user_data)
{
    ShimPod *pod = user_data;
    g_assert(sandbox == pod->stopping);
    g_clear_pointer(&pod->stopping, shim_sandbox_free);
    release_host(pod);
}

/* The agent first (its calls end before what they use goes), then the VM, then what the VM
 * used on the host. The loop keeps serving while the VM goes: its end comes to
 * sandbox_stopped(). */
static void stop_sandbox(ShimPod *pod)
{
    g_clear_handle_id(&pod->health_source, g_source_remove);
    g_clear_pointer(&pod->host.agent, shim_agent_free);
    g_clear_pointer(&pod->port_forward, shim_port_forward_free);
    if (pod->sandbox) {
        pod->stopping = g_steal_pointer(&pod->sandbox);
        shim_sandbox_stop(pod->stopping, sandbox_stopped, pod);
    } else if (!pod->stopping) {
        release_host(pod);
    }
}

/* A stop in progress ends now, waiting for the VM (bounded): before the pod boots again in the
 * same directory, and when the shim exits. */
static void finish_stop(ShimPod *pod)
{
    if (!pod->stopping)
        return;
    g_clear_pointer(&pod->stopping, shim_sandbox_free);
    release_host(pod);
}

/* The sandbox is gone or unusable: every process exits now (Wait returns, exits published),
 * then the sandbox is torn down. Containers stay until containerd deletes them. */
void shim_pod_end(ShimPod *pod, const char *reason)
{
    if (pod->phase == SHIM_POD_ENDED)
        return;
    g_autofree char *console = pod->sandbox ? shim_sandbox_console_tail(pod->sandbox, 20) : NULL;
    if (console)
        g_warning("pod ends: %s; the guest console's last lines:\n%s", reason, console);
    else
        g_warning("pod ends: %s", reason);
    pod->phase = SHIM_POD_ENDED;
    pod->end_reason = g_strdup(reason);
    if (pod->containers)
        pod->containers->lost(pod->containers_data, LOST_EXIT_STATUS);
    g_autofree char *dir = g_path_get_basename(pod->run_dir);
    /* The pod's directory, console log included, goes with the pod: the log keeps its end. */
    g_autoptr(GError) error = g_error_new(
        SHIM_ERROR, SHIM_ERROR_UNAVAILABLE,
        "the pod ended: %s (the guest console's last lines are in containerd's log, lines with "
        "runtime=secure pod=%s)",
        reason, dir);
    finish_waiting(pod, error);
    stop_sandbox(pod);
}

static void agent_failed(ShimAgent *agent, const char *reason, gpointer user_data)
{
    (void)agent;
    shim_pod_end(user_data, reason);
}

static void sandbox_died(ShimSandbox *sandbox, const char *reason, gpointer user_data)
{
    (void)sandbox;
    shim_pod_end(user_data, reason);
}

static void oom_poll(ShimPod *pod);

static void oom_done(const ProtobufCMessage *msg, const GError *error, gpointer user_data)
{
    ShimPod *pod = user_data;
    const Secure__Agent__V1__OOMEvent *reply = (const void *)msg;
    if (error || pod->phase != SHIM_POD_READY)
        return;
    if (!pod->containers || !pod->containers->contains(pod->containers_data, reply->container_id)) {
        shim_agent_fail(pod->host.agent, "OOM event for unknown container '%s'",
                        reply->container_id);
        return;
    }
    Containerd__Events__TaskOOM ev = CONTAINERD__EVENTS__TASK_OOM__INIT;
    ev.container_id = reply->container_id;
    shim_events_publish(pod->events, "/tasks/oom", &ev.base);
    oom_poll(pod);
}

static void oom_poll(ShimPod *pod)
{
    shim_agent_call(pod->host.agent, "GetOOMEvent", NULL, &secure__agent__v1__oomevent__descriptor,
                    SHIM_AGENT_LONG_POLL, oom_done, pod);
}

static void health_done(const ProtobufCMessage *msg, const GError *error, gpointer user_data)
{
    (void)msg;
    (void)user_data;
    /* A deadline passed already ends the pod (shim-agent.c); other errors do not mean much. */
    if (error)
        g_debug("health check: %s", error->message);
}

/* Long polls (WaitProcess, reads) have no deadline: a guest that hangs without dying is only
 * noticed by a call that has one. */
static gboolean health_cb(gpointer user_data)
{
    ShimPod *pod = user_data;
    shim_agent_call(pod->host.agent, "Health", NULL,
                    &secure__agent__v1__health_response__descriptor, SHIM_AGENT_HEALTH_CHECK,
                    health_done, pod);
    return G_SOURCE_CONTINUE;
}

static void create_sandbox_done(const ProtobufCMessage *msg, const GError *error,
                                gpointer user_data)
{
    ShimPod *pod = user_data;
    (void)msg;
    if (pod->phase != SHIM_POD_BOOTING)
        return;
    if (error) {
        g_autofree char *reason = g_strdup_printf("CreateSandbox: %s", error->message);
        shim_pod_end(pod, reason);
        return;
    }
    pod->timings.sandbox_created = g_get_monotonic_time();
    /* The pod is up: nothing more is spawned, only mounts, signals and the clean-up remain. */
    g_autoptr(GError) drop_error = NULL;
    if (!shim_privileges_keep_pod(&drop_error)) {
        shim_pod_end(pod, drop_error->message);
        return;
    }
    pod->phase = SHIM_POD_READY;
    if (pod->port_forward)
        shim_port_forward_start(pod->port_forward, pod->host.agent);
    oom_poll(pod);
    pod->health_source = g_timeout_add_seconds(HEALTH_INTERVAL_S, health_cb, pod);
    finish_waiting(pod, NULL);
}

static void create_sandbox(ShimPod *pod);

/* The guest's NICs have the pod's addresses and routes. */
static void network_done(const GError *error, gpointer user_data)
{
    ShimPod *pod = user_data;
    if (pod->phase != SHIM_POD_BOOTING)
        return;
    if (error) {
        g_autofree char *reason = g_strdup_printf("the pod's network: %s", error->message);
        shim_pod_end(pod, reason);
        return;
    }
    create_sandbox(pod);
}

static void configure_guest(ShimPod *pod)
{
    if (pod->network)
        shim_network_configure_guest(pod->network, pod->host.agent, network_done, pod);
    else
        create_sandbox(pod);
}

static void sync_guest_done(const ProtobufCMessage *msg, const GError *error, gpointer user_data)
{
    ShimPod *pod = user_data;
    (void)msg;
    if (pod->phase != SHIM_POD_BOOTING)
        return;
    if (error) {
        g_autofree char *reason = g_strdup_printf("SyncGuest: %s", error->message);
        shim_pod_end(pod, reason);
        return;
    }
    configure_guest(pod);
}

/* A VM resumed from a template has the template's clock and random state, as all its siblings
 * do: the host's time and fresh entropy come first, before anything runs in it. */
static void sync_guest(ShimPod *pod)
{
    Secure__Agent__V1__SyncGuestRequest req = SECURE__AGENT__V1__SYNC_GUEST_REQUEST__INIT;
    guint8 entropy[SYNC_ENTROPY_BYTES];
    struct timespec now;

    if (getrandom(entropy, sizeof(entropy), 0) != (ssize_t)sizeof(entropy)) {
        shim_pod_end(pod, "getrandom failed: no entropy for the resumed VM");
        return;
    }
    clock_gettime(CLOCK_REALTIME, &now);
    req.realtime_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
    req.entropy.data = entropy;
    req.entropy.len = sizeof(entropy);
    shim_agent_call(pod->host.agent, "SyncGuest", &req.base, &google__protobuf__empty__descriptor,
                    SHIM_AGENT_DEADLINE, sync_guest_done, pod);
}

static void agent_ready(ShimSandbox *sandbox, TtrpcClient *client, const GError *error,
                        gpointer user_data)
{
    ShimPod *pod = user_data;
    (void)sandbox;
    if (pod->phase != SHIM_POD_BOOTING) {
        if (client)
            ttrpc_client_free(client);
        return;
    }
    if (error) {
        g_autofree char *reason = g_strdup_printf("the agent did not come up: %s", error->message);
        shim_pod_end(pod, reason);
        return;
    }
    pod->timings.agent_ready = g_get_monotonic_time();
    pod->host.agent = shim_agent_new(
        client, (gint64)pod->config->agent_request_timeout_s * G_USEC_PER_SEC,
        (gint64)pod->config->agent_health_timeout_s * G_USEC_PER_SEC, agent_failed, pod);
    if (shim_sandbox_is_restored(pod->sandbox))
        sync_guest(pod);
    else
        configure_guest(pod);
}

static void create_sandbox(ShimPod *pod)
{
    Secure__Agent__V1__CreateSandboxRequest req = SECURE__AGENT__V1__CREATE_SANDBOX_REQUEST__INIT;
    req.hostname = pod->hostname;
    shim_sandbox_fill_create(pod->sandbox, &req);
    shim_agent_call(pod->host.agent, "CreateSandbox", &req.base,
                    &google__protobuf__empty__descriptor, SHIM_AGENT_DEADLINE, create_sandbox_done,
                    pod);
}

/* What the VM needs on the host: the pod's cgroup (entered first, so that QEMU and virtiofsd
 * are born in it) and, in a VM, taps for the interfaces CNI made (a host agent joins CNI's
 * namespace itself). */
static gboolean prepare_host(ShimPod *pod, const ShimPodSpec *spec, GError **error)
{
    if (spec->cgroups_path && *spec->cgroups_path) {
        pod->cgroup = shim_pod_cgroup_enter(spec->cgroups_path, pod->state, error);
        if (!pod->cgroup) {
            g_prefix_error(error, "the pod's cgroup: ");
            return FALSE;
        }
    }
    if (spec->netns && pod->config->kind != SHIM_HYPERVISOR_NONE) {
        pod->network = shim_network_new(spec->netns, pod->state, error);
        if (!pod->network)
            return FALSE;
        pod->port_forward = shim_port_forward_new(spec->netns, error);
        if (!pod->port_forward)
            return FALSE;
    }
    return TRUE;
}

static gboolean boot(ShimPod *pod, const ShimPodSpec *spec, GError **error)
{
    g_autofree char *name = g_path_get_basename(pod->run_dir);
    ShimResources demand = spec->limits;
    ShimVmSize size;
    shim_resources_max(&demand, &spec->annotated);
    if (!shim_resources_boot_size(pod->config, &demand, &size, error))
        return FALSE;
    pod->annotated = spec->annotated;
    if (g_mkdir_with_parents(pod->shared_dir, 0700) < 0) {
        g_set_error(error, SHIM_ERROR, SHIM_ERROR_FAILED, "mkdir '%s': %s", pod->shared_dir,
                    g_strerror(errno));
        return FALSE;
    }
    pod->timings.create_received = g_get_monotonic_time();
    if (pod->config->kind == SHIM_HYPERVISOR_LIBVIRT)
        shim_template_ensure(pod->config);
    if (prepare_host(pod, spec, error))
        pod->sandbox =
            shim_sandbox_start(pod->config, pod->state, name, pod->run_dir, pod->shared_dir,
                               pod->network, &size, sandbox_died, pod, error);
    if (!pod->sandbox) {
        stop_sandbox(pod);
        return FALSE;
    }
    pod->timings.sandbox_started = pod->sandbox_since = g_get_monotonic_time();
    pod->host.task_pid = (guint32)shim_sandbox_get_pid(pod->sandbox);
    pod->phase = SHIM_POD_BOOTING;
    shim_sandbox_wait_agent(pod->sandbox, agent_ready, pod);
    return TRUE;
}

typedef struct {
    ShimPod *pod;
    ShimPodReadyFunc func;
    gpointer user_data;
    GError *error;
} CompleteLater;

static gboolean complete_later_cb(gpointer data)
{
    CompleteLater *r = data;
    r->func(r->pod, r->error, r->user_data);
    g_clear_error(&r->error);
    g_free(r);
    return G_SOURCE_REMOVE;
}

void shim_pod_complete_later(ShimPod *pod, ShimPodReadyFunc func, gpointer user_data, GError *error)
{
    CompleteLater *r = g_new0(CompleteLater, 1);
    r->pod = pod;
    r->func = func;
    r->user_data = user_data;
    r->error = error;
    g_idle_add(complete_later_cb, r);
}

static void remember_identity(ShimPod *pod, const ShimPodSpec *spec)
{
    g_free(pod->sandbox_id);
    g_free(pod->cri_name);
    g_free(pod->cri_namespace);
    g_free(pod->cri_uid);
    pod->sandbox_id = g_strdup(spec->sandbox_id);
    pod->cri_name = g_strdup(spec->cri_name);
    pod->cri_namespace = g_strdup(spec->cri_namespace);
    pod->cri_uid = g_strdup(spec->cri_uid);
}

void shim_pod_when_ready(ShimPod *pod, const ShimPodSpec *spec, ShimPodReadyFunc func,
                         gpointer user_data)
{
    GError *error = NULL;
    g_clear_handle_id(&pod->release_source, g_source_remove);
    switch (pod->phase) {
    case SHIM_POD_READY:
        shim_pod_complete_later(pod, func, user_data, NULL);
        return;
    case SHIM_POD_ENDED:
        shim_pod_complete_later(
            pod, func, user_data,
            g_error_new(SHIM_ERROR, SHIM_ERROR_STATE, "the pod ended: %s", pod->end_reason));
        return;
    case SHIM_POD_EMPTY:
        g_free(pod->hostname);
        pod->hostname = g_strdup(spec->hostname ? spec->hostname : "");
        remember_identity(pod, spec);
        /* A Create right after the last Delete: rare, and the VM is going already. */
        finish_stop(pod);
        if (pod->state_error) {
            error = g_error_new(SHIM_ERROR, SHIM_ERROR_UNAVAILABLE, "the pod's state: %s",
                                pod->state_error->message);
            shim_pod_complete_later(pod, func, user_data, error);
            return;
        }
        if (!boot(pod, spec, &error)) {
            shim_pod_complete_later(pod, func, user_data, error);
            return;
        }
        break;
    case SHIM_POD_BOOTING:
    case SHIM_POD_LAST:
        break;
    }
    WhenReady *w = g_new0(WhenReady, 1);
    w->func = func;
    w->user_data = user_data;
    g_queue_push_tail(&pod->waiting, w);
}

static gboolean release_cb(gpointer user_data)
{
    ShimPod *pod = user_data;
    pod->release_source = 0;
    if (count_containers(pod) > 0)
        return G_SOURCE_REMOVE;
    g_info("no container left: destroying the pod's sandbox");
    stop_sandbox(pod);
    pod->first_pid = 0;
    pod->phase = SHIM_POD_EMPTY;
    g_clear_pointer(&pod->end_reason, g_free);
    return G_SOURCE_REMOVE;
}

void shim_pod_container_removed(ShimPod *pod)
{
    /* After the Delete reply is out: the VM teardown takes a moment. */
    if (count_containers(pod) == 0 && !pod->release_source && pod->phase != SHIM_POD_BOOTING)
        pod->release_source = g_idle_add(release_cb, pod);
}

void shim_pod_free(ShimPod *pod)
{
    g_autoptr(GError) error = NULL;
    if (!pod)
        return;
    if (pod->phase != SHIM_POD_ENDED && pod->sandbox)
        shim_pod_end(pod, "the shim is exiting");
    /* Last: ending the pod may have scheduled a release. */
    g_clear_handle_id(&pod->release_source, g_source_remove);
    stop_sandbox(pod);
    finish_stop(pod);
    if (pod->state) {
        if (!shim_rootfs_remove_tree(pod->run_dir, &error))
            g_warning("%s", error->message);
        g_unlink(pod->socket_path);
    }
    g_clear_pointer(&pod->state, shim_state_free);
    g_clear_pointer(&pod->events, shim_events_free);
    g_clear_pointer(&pod->config, shim_config_free);
    g_clear_pointer(&pod->loop, g_main_loop_unref);
    g_free(pod->namespace);
    g_free(pod->pod);
    g_free(pod->socket_path);
    g_free(pod->run_dir);
    g_free(pod->shared_dir);
    g_free(pod->end_reason);
    g_free(pod->hostname);
    g_free(pod->sandbox_id);
    g_free(pod->cri_name);
    g_free(pod->cri_namespace);
    g_free(pod->cri_uid);
    g_clear_error(&pod->state_error);
    g_free(pod);
}
