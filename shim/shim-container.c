/* Container operations. Replies from the agent find their container again by id: a container
 * deleted meanwhile simply is not there any more. */
#include "shim-container.h"

#include <string.h>

#include "agent.pb-c.h"
#include "common-id.h"
#include "cgroups-v2-metrics.pb-c.h"
#include "events-task.pb-c.h"
#include "shim-hotplug.h"
#include "shim-rootfs.h"
#include "shim-spec.h"

#define METRICS_TYPE_URL "io.containerd.cgroups.v2.Metrics"
/* Status reported for a process deleted without ever running. */
#define NEVER_RAN_STATUS 137

struct _ShimContainer {
    char *id;
    char *bundle;
    char *host_dir; /* <shared>/<id>: rootfs and binds */
    ShimProcess *init;
    GHashTable *execs; /* exec id -> ShimProcess */
    gboolean paused;
    gboolean created;                                 /* the agent has it */
    Containerd__Task__V2__CreateTaskRequest *request; /* until created, for the event */
    GBytes *spec_json;
    GPtrArray *binds;      /* ShimSpecBind, made once the sandbox runs */
    char *rootfs_fallback; /* root.path, when the request has no rootfs mounts */
    ShimResources limits;  /* what the pod's VM must hold for it */
};

struct _ShimContainers {
    ShimPod *pod;
    GHashTable *table; /* id -> ShimContainer */
};

/* A request waiting for the agent. */
typedef struct {
    ShimContainers *containers;
    char *id;
    ShimReplyFunc func;
    gpointer user_data;
    gboolean pause;                /* Pause (or Resume) */
    ShimResources limits;          /* Update: the new limits */
    ShimResources previous;        /* Update: the limits before it */
    ProtobufCBinaryData resources; /* Update: the new linux.resources, JSON */
} ContainerCall;

static ContainerCall *container_call_new(ShimContainers *cs, const char *id, ShimReplyFunc func,
                                         gpointer user_data)
{
    ContainerCall *cc = g_new0(ContainerCall, 1);
    cc->containers = cs;
    cc->id = g_strdup(id);
    cc->func = func;
    cc->user_data = user_data;
    return cc;
}

/* The container of @cc if it still exists. */
static ShimContainer *container_call_find(ContainerCall *cc)
{
    return shim_containers_lookup(cc->containers, cc->id);
}

static void container_call_free(ContainerCall *cc)
{
    g_free(cc->resources.data);
    g_free(cc->id);
    g_free(cc);
}

/* Sends @req to the agent for @cc (transfer full), or answers SHIM_ERROR_STATE when the pod has
 * no agent. */
static void container_agent_call(ContainerCall *cc, const char *method, const ProtobufCMessage *req,
                                 const ProtobufCMessageDescriptor *reply_type,
                                 ShimAgentReplyFunc done)
{
    g_autoptr(GError) error = NULL;
    ShimAgent *agent = shim_pod_require_agent(cc->containers->pod, &error);
    if (!agent) {
        cc->func(NULL, error, cc->user_data);
        container_call_free(cc);
        return;
    }
    shim_agent_call(agent, method, req, reply_type, SHIM_AGENT_DEADLINE, done, cc);
}

static void free_request(Containerd__Task__V2__CreateTaskRequest *req)
{
    containerd__task__v2__create_task_request__free_unpacked(req, NULL);
}

void shim_container_free(ShimContainer *c)
{
    if (!c)
        return;
    g_clear_pointer(&c->init, shim_process_unref);
    g_clear_pointer(&c->execs, g_hash_table_unref);
    g_clear_pointer(&c->request, free_request);
    g_clear_pointer(&c->spec_json, g_bytes_unref);
    g_clear_pointer(&c->binds, g_ptr_array_unref);
    g_free(c->rootfs_fallback);
    g_free(c->id);
    g_free(c->bundle);
    g_free(c->host_dir);
    g_free(c);
}

const ShimResources *shim_container_get_limits(ShimContainer *c)
{
    return &c->limits;
}

ShimProcess *shim_container_lookup(ShimContainer *c, const char *exec_id)
{
    if (!exec_id || !*exec_id)
        return c->init;
    return g_hash_table_lookup(c->execs, exec_id);
}

void shim_container_force_exit(ShimContainer *c, guint32 status)
{
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init(&iter, c->execs);
    while (g_hash_table_iter_next(&iter, NULL, &value))
        shim_process_force_exit(value, status);
    if (c->init)
        shim_process_force_exit(c->init, status);
}

/* ---- The pod's containers ----------------------------------------------------------------- */

ShimContainer *shim_containers_lookup(ShimContainers *cs, const char *id)
{
    return g_hash_table_lookup(cs->table, id);
}

guint shim_containers_count(ShimContainers *cs)
{
    return g_hash_table_size(cs->table);
}

ShimPod *shim_containers_get_pod(ShimContainers *cs)
{
    return cs->pod;
}

/* @c: transfer full. */
static void containers_add(ShimContainers *cs, ShimContainer *c)
{
    g_hash_table_insert(cs->table, c->id, c);
}

/* Frees @c. */
static void containers_remove(ShimContainers *cs, ShimContainer *c)
{
    g_hash_table_remove(cs->table, c->id);
}

static void containers_foreach(ShimContainers *cs, GFunc func, gpointer user_data)
{
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init(&iter, cs->table);
    while (g_hash_table_iter_next(&iter, NULL, &value))
        func(value, user_data);
}

static guint pod_count(gpointer user_data)
{
    return shim_containers_count(user_data);
}

static gboolean pod_contains(gpointer user_data, const char *id)
{
    return shim_containers_lookup(user_data, id) != NULL;
}

static void force_exit_one(gpointer container, gpointer status)
{
    shim_container_force_exit(container, GPOINTER_TO_UINT(status));
}

static void pod_lost(gpointer user_data, guint32 status)
{
    containers_foreach(user_data, force_exit_one, GUINT_TO_POINTER(status));
}

static const ShimPodContainerOps pod_ops = {
    .count = pod_count,
    .contains = pod_contains,
    .lost = pod_lost,
};

ShimContainers *shim_containers_new(ShimPod *pod)
{
    ShimContainers *cs = g_new0(ShimContainers, 1);
    cs->pod = pod;
    cs->table =
        g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)shim_container_free);
    shim_pod_set_containers(pod, &pod_ops, cs);
    return cs;
}

void shim_containers_free(ShimContainers *cs)
{
    if (!cs)
        return;
    /* Every process exits (and says so) before its container goes. */
    if (shim_pod_get_sandbox(cs->pod))
        shim_pod_end(cs->pod, "the shim is exiting");
    shim_pod_set_containers(cs->pod, NULL, NULL);
    g_hash_table_unref(cs->table);
    g_free(cs);
}

static void add_limits(gpointer container, gpointer sum)
{
    shim_resources_add(sum, shim_container_get_limits(container));
}

/* Makes the VM hold every container at its limits, then calls @done (shim-hotplug.h). */
static void containers_grow(ShimContainers *cs, ShimPodReadyFunc done, gpointer user_data)
{
    ShimResources sum = {0};
    containers_foreach(cs, add_limits, &sum);
    shim_hotplug_grow(cs->pod, &sum, done, user_data);
}

/* Gives back the memory that the containers' limits no longer need. */
static void containers_fit(ShimContainers *cs)
{
    ShimResources sum = {0};
    containers_foreach(cs, add_limits, &sum);
    shim_hotplug_fit(cs->pod, &sum);
}

/* ---- Create -------------------------------------------------------------------------------- */

/* Unmounts and removes the container's directory in the shared dir, then forgets it in the
 * state (in this order: a crash in between leaves it recorded for `delete`). */
static void remove_host_side(ShimPod *pod, ShimContainer *c)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GError) save_error = NULL;
    if (!shim_rootfs_remove_tree(c->host_dir, &error))
        g_warning("%s", error->message);
    shim_state_remove_container(shim_pod_get_state(pod), c->id);
    if (!shim_state_save(shim_pod_get_state(pod), &save_error))
        g_warning("%s", save_error->message);
}

/* The pod forgets @c (freed): its VM may shrink, or go when it was the last. */
static void forget(ShimContainers *cs, ShimContainer *c)
{
    containers_remove(cs, c);
    shim_pod_container_removed(cs->pod);
    containers_fit(cs);
}

/* Undoes a Create that failed before the agent had the container. */
static void create_failed(ShimContainers *cs, ShimContainer *c)
{
    remove_host_side(cs->pod, c);
    forget(cs, c);
}

/* What a pod's first spec says about the pod, kept until the sandbox boots. */
typedef struct {
    char *hostname;
    char *netns;
    char *cgroups_path;
    ShimResources annotated;
    char *sandbox_id;
    char *cri_name;
    char *cri_namespace;
    char *cri_uid;
} PodSpecCopy;

static void pod_spec_copy_clear(PodSpecCopy *p)
{
    g_free(p->hostname);
    g_free(p->netns);
    g_free(p->cgroups_path);
    g_free(p->sandbox_id);
    g_free(p->cri_name);
    g_free(p->cri_namespace);
    g_free(p->cri_uid);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(PodSpecCopy, pod_spec_copy_clear)

/* Create, before the sandbox: the spec is read, checked and rewritten (nothing is mounted yet, so
 * a bad bundle costs no VM boot). */
static gboolean prepare_spec(ShimPod *pod, ShimContainer *c, PodSpecCopy *out_pod, GError **error)
{
    Containerd__Task__V2__CreateTaskRequest *req = c->request;
    g_autoptr(json_object) spec = shim_spec_load(req->bundle, error);
    if (!spec)
        return FALSE;
    if (!shim_resources_from_spec(spec, &c->limits, &out_pod->annotated, error))
        return FALSE;
    out_pod->netns = g_strdup(shim_spec_netns_path(spec));
    out_pod->cgroups_path = g_strdup(shim_spec_cgroups_path(spec));
    out_pod->sandbox_id = g_strdup(shim_spec_group(spec, c->id));
    out_pod->cri_name = g_strdup(shim_spec_annotation(spec, "io.kubernetes.cri.sandbox-name"));
    out_pod->cri_namespace =
        g_strdup(shim_spec_annotation(spec, "io.kubernetes.cri.sandbox-namespace"));
    out_pod->cri_uid = g_strdup(shim_spec_annotation(spec, "io.kubernetes.cri.sandbox-uid"));
    g_autofree char *guest_dir = g_build_filename(shim_pod_guest_shared_dir(pod), c->id, NULL);
    if (!shim_spec_prepare(spec, c->host_dir, guest_dir, shim_pod_get_first_pid(pod),
                           shim_pod_get_config(pod)->kind == SHIM_HYPERVISOR_NONE, c->binds, error))
        return FALSE;

    json_object *root = NULL, *path = NULL, *hostname = NULL;
    if (req->n_rootfs == 0) {
        json_object_object_get_ex(spec, "root", &root);
        json_object_object_get_ex(root, "path", &path);
        const char *p = json_object_get_string(path);
        if (!p || !*p) {
            g_set_error_literal(error, SHIM_ERROR, SHIM_ERROR_INVALID,
                                "no rootfs mounts and no root.path in config.json");
            return FALSE;
        }
        c->rootfs_fallback =
            g_path_is_absolute(p) ? g_strdup(p) : g_build_filename(req->bundle, p, NULL);
    }
    if (json_object_object_get_ex(spec, "hostname", &hostname) &&
        json_object_is_type(hostname, json_type_string))
        out_pod->hostname = g_strdup(json_object_get_string(hostname));
    const char *text = json_object_to_json_string_ext(spec, JSON_C_TO_STRING_PLAIN);
    c->spec_json = g_bytes_new(text, strlen(text));
    return TRUE;
}

/* Create, once the sandbox runs (for virtio-fs its shared directory is then a shared mount, so
 * these mounts reach the guest): rootfs and binds, recorded in the state first, then the fifos. */
static gboolean prepare_host(ShimPod *pod, ShimContainer *c, GError **error)
{
    Containerd__Task__V2__CreateTaskRequest *req = c->request;
    ShimState *state = shim_pod_get_state(pod);
    shim_state_set(state, c->id, SHIM_STATE_BUNDLE, c->bundle);
    shim_state_set(state, c->id, SHIM_STATE_ROOTFS, c->host_dir);
    if (!shim_state_save(state, error))
        return FALSE;
    g_autofree char *target = g_build_filename(c->host_dir, "rootfs", NULL);
    if (!shim_rootfs_mount(req->rootfs, req->n_rootfs, c->rootfs_fallback, target, error))
        return FALSE;
    for (guint i = 0; i < c->binds->len; i++) {
        ShimSpecBind *b = c->binds->pdata[i];
        if (!shim_rootfs_bind(b->source, b->target, b->readonly, error))
            return FALSE;
    }
    ShimIo *io = shim_io_open(req->stdin, req->stdout, req->stderr, error);
    if (!io)
        return FALSE;
    c->init = shim_process_new(shim_pod_get_process_host(pod), c->id, "", io, req->terminal,
                               req->stdin, req->stdout, req->stderr, NULL);
    return TRUE;
}

static void publish_create(ShimPod *pod, ShimContainer *c)
{
    Containerd__Events__TaskIO io = CONTAINERD__EVENTS__TASK_IO__INIT;
    io.stdin = c->request->stdin;
    io.stdout = c->request->stdout;
    io.stderr = c->request->stderr;
    io.terminal = c->request->terminal;
    Containerd__Events__TaskCreate ev = CONTAINERD__EVENTS__TASK_CREATE__INIT;
    ev.container_id = c->id;
    ev.bundle = c->bundle;
    ev.n_rootfs = c->request->n_rootfs;
    ev.rootfs = c->request->rootfs;
    ev.io = &io;
    ev.pid = shim_process_get_pid(c->init);
    shim_events_publish(shim_pod_get_events(pod), "/tasks/create", &ev.base);
}

static void agent_create_done(const ProtobufCMessage *msg, const GError *error, gpointer user_data)
{
    ContainerCall *cc = user_data;
    ShimContainer *c = container_call_find(cc);
    const Secure__Agent__V1__CreateContainerResponse *reply = (const void *)msg;

    if (!c) {
        shim_reply_error(cc->func, cc->user_data, SHIM_ERROR_ABORTED, "container '%s' went away",
                         cc->id);
    } else if (error) {
        cc->func(NULL, error, cc->user_data);
        create_failed(cc->containers, c);
    } else {
        ShimPod *pod = cc->containers->pod;
        c->created = TRUE;
        shim_process_set_created(c->init, reply->pid);
        shim_pod_container_created(pod, reply->pid);
        publish_create(pod, c);
        free_request(g_steal_pointer(&c->request));
        Containerd__Task__V2__CreateTaskResponse resp =
            CONTAINERD__TASK__V2__CREATE_TASK_RESPONSE__INIT;
        resp.pid = shim_pod_task_pid(pod);
        cc->func(&resp.base, NULL, cc->user_data);
    }
    container_call_free(cc);
}

/* The VM holds the container's limits: its rootfs and binds are made and the agent creates it. */
static void create_fits(ShimPod *pod, const GError *fit_error, gpointer user_data)
{
    ContainerCall *cc = user_data;
    ShimContainer *c = container_call_find(cc);
    g_autoptr(GError) error = fit_error ? g_error_copy(fit_error) : NULL;

    if (!c || error || !prepare_host(pod, c, &error)) {
        if (error)
            cc->func(NULL, error, cc->user_data);
        else
            shim_reply_error(cc->func, cc->user_data, SHIM_ERROR_ABORTED,
                             "container '%s' went away", cc->id);
        if (c)
            create_failed(cc->containers, c);
        container_call_free(cc);
        return;
    }
    g_autofree char *rootfs =
        g_strdup_printf("%s/%s/rootfs", shim_pod_guest_shared_dir(pod), c->id);
    Secure__Agent__V1__CreateContainerRequest req =
        SECURE__AGENT__V1__CREATE_CONTAINER_REQUEST__INIT;
    req.container_id = c->id;
    req.config_json.data = (guint8 *)g_bytes_get_data(c->spec_json, &req.config_json.len);
    req.rootfs_path = rootfs;
    req.stdin = shim_process_has_stdin(c->init);
    shim_agent_call(shim_pod_get_agent(pod), "CreateContainer", &req.base,
                    &secure__agent__v1__create_container_response__descriptor, SHIM_AGENT_DEADLINE,
                    agent_create_done, cc);
}

static void create_when_ready(ShimPod *pod, const GError *ready_error, gpointer user_data)
{
    ContainerCall *cc = user_data;
    if (ready_error) {
        create_fits(pod, ready_error, cc);
        return;
    }
    (void)pod;
    containers_grow(cc->containers, create_fits, cc);
}

void shim_container_create(ShimContainers *cs, Containerd__Task__V2__CreateTaskRequest *req,
                           ShimReplyFunc func, gpointer user_data)
{
    ShimPod *pod = cs->pod;
    g_autoptr(GError) error = NULL;
    if (!common_id_is_valid(req->id)) {
        shim_reply_error(func, user_data, SHIM_ERROR_INVALID,
                         "invalid container id '%s': not " COMMON_ID_RULE, req->id);
        free_request(req);
        return;
    }
    if (shim_containers_lookup(cs, req->id)) {
        shim_reply_error(func, user_data, SHIM_ERROR_EXISTS, "container '%s' already exists",
                         req->id);
        free_request(req);
        return;
    }
    if (*req->checkpoint) {
        shim_reply_error(func, user_data, SHIM_ERROR_UNSUPPORTED,
                         "restoring from a checkpoint is not supported by this runtime");
        free_request(req);
        return;
    }
    ShimContainer *c = g_new0(ShimContainer, 1);
    c->id = g_strdup(req->id);
    c->bundle = g_strdup(req->bundle);
    c->host_dir = g_build_filename(shim_pod_get_shared_dir(pod), req->id, NULL);
    c->execs =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)shim_process_unref);
    c->binds = g_ptr_array_new_with_free_func((GDestroyNotify)shim_spec_bind_free);
    c->request = req;
    containers_add(cs, c);

    g_auto(PodSpecCopy) copy = {0};
    if (!prepare_spec(pod, c, &copy, &error)) {
        func(NULL, error, user_data);
        create_failed(cs, c);
        return;
    }
    ShimPodSpec pod_spec = {.hostname = copy.hostname,
                            .netns = copy.netns,
                            .cgroups_path = copy.cgroups_path,
                            .limits = c->limits,
                            .annotated = copy.annotated,
                            .sandbox_id = copy.sandbox_id,
                            .cri_name = copy.cri_name,
                            .cri_namespace = copy.cri_namespace,
                            .cri_uid = copy.cri_uid};
    shim_pod_when_ready(pod, &pod_spec, create_when_ready,
                        container_call_new(cs, c->id, func, user_data));
}

/* ---- Delete -------------------------------------------------------------------------------- */

static void reply_delete(ShimReplyFunc func, gpointer user_data, ShimProcess *p)
{
    Containerd__Task__V2__DeleteResponse resp = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
    resp.pid = shim_process_get_pid(p);
    shim_process_fill_exit(p, &resp.exit_status, &resp.exited_at);
    func(&resp.base, NULL, user_data);
}

static void finish_delete(ShimContainers *cs, ShimContainer *c, ShimReplyFunc func,
                          gpointer user_data)
{
    remove_host_side(cs->pod, c);

    Containerd__Events__TaskDelete ev = CONTAINERD__EVENTS__TASK_DELETE__INIT;
    ev.container_id = c->id;
    ev.pid = shim_process_get_pid(c->init);
    shim_process_fill_exit(c->init, &ev.exit_status, &ev.exited_at);
    shim_events_publish(shim_pod_get_events(cs->pod), "/tasks/delete", &ev.base);
    reply_delete(func, user_data, c->init);
    forget(cs, c);
}

static void remove_done(const ProtobufCMessage *msg, const GError *error, gpointer user_data)
{
    ContainerCall *cc = user_data;
    ShimContainer *c = container_call_find(cc);
    (void)msg;
    if (error)
        g_warning("delete '%s': %s (removing it on the host anyway)", cc->id, error->message);
    if (c)
        finish_delete(cc->containers, c, cc->func, cc->user_data);
    else
        shim_reply_error(cc->func, cc->user_data, SHIM_ERROR_NOT_FOUND, "container '%s' not found",
                         cc->id);
    container_call_free(cc);
}

static gboolean check_deletable(ShimContainer *c, ShimProcess *p, ShimReplyFunc func,
                                gpointer user_data)
{
    if (shim_process_get_status(p) != SHIM_PROCESS_RUNNING)
        return TRUE;
    shim_reply_error(func, user_data, SHIM_ERROR_STATE, "cannot delete a %s process",
                     c->paused ? "paused" : "running");
    return FALSE;
}

void shim_container_delete(ShimContainers *cs, ShimContainer *c, const char *exec_id,
                           ShimReplyFunc func, gpointer user_data)
{
    ShimAgent *agent = shim_pod_get_agent(cs->pod);
    ShimProcess *p = shim_container_lookup(c, exec_id);
    if (!p) {
        shim_reply_error(func, user_data, SHIM_ERROR_NOT_FOUND, "exec '%s' of '%s' not found",
                         exec_id, c->id);
        return;
    }
    if (!check_deletable(c, p, func, user_data))
        return;
    shim_process_force_exit(p, NEVER_RAN_STATUS);
    if (p != c->init) {
        reply_delete(func, user_data, p);
        g_hash_table_remove(c->execs, exec_id);
        return;
    }
    /* Execs still running die with the container in the guest; end them here too. */
    shim_container_force_exit(c, NEVER_RAN_STATUS);
    if (!c->created || !agent) {
        finish_delete(cs, c, func, user_data);
        return;
    }
    Secure__Agent__V1__RemoveContainerRequest req =
        SECURE__AGENT__V1__REMOVE_CONTAINER_REQUEST__INIT;
    req.container_id = c->id;
    shim_agent_call(agent, "RemoveContainer", &req.base, &google__protobuf__empty__descriptor,
                    SHIM_AGENT_DEADLINE, remove_done,
                    container_call_new(cs, c->id, func, user_data));
}

/* ---- Exec ---------------------------------------------------------------------------------- */

void shim_container_exec(ShimContainers *cs, ShimContainer *c,
                         const Containerd__Task__V2__ExecProcessRequest *req, ShimReplyFunc func,
                         gpointer user_data)
{
    g_autoptr(GError) error = NULL;
    if (!common_id_is_valid(req->exec_id)) {
        shim_reply_error(func, user_data, SHIM_ERROR_INVALID, "invalid exec id '%s'", req->exec_id);
        return;
    }
    if (g_hash_table_contains(c->execs, req->exec_id)) {
        shim_reply_error(func, user_data, SHIM_ERROR_EXISTS, "exec '%s' already exists",
                         req->exec_id);
        return;
    }
    if (shim_process_get_status(c->init) != SHIM_PROCESS_RUNNING || c->paused) {
        /* A frozen container cannot take a new process (it would hang, not fail). */
        shim_reply_error(func, user_data, SHIM_ERROR_STATE, "container '%s' is %s", c->id,
                         c->paused ? "paused" : "not running");
        return;
    }
    if (!req->spec || req->spec->value.len == 0 || req->spec->value.len > (1 << 20)) {
        shim_reply_error(func, user_data, SHIM_ERROR_INVALID,
                         "exec '%s': the process spec is missing or over 1 MiB", req->exec_id);
        return;
    }
    ShimIo *io = shim_io_open(req->stdin, req->stdout, req->stderr, &error);
    if (!io) {
        func(NULL, error, user_data);
        return;
    }
    g_autoptr(GBytes) json = g_bytes_new(req->spec->value.data, req->spec->value.len);
    ShimProcess *p = shim_process_new(shim_pod_get_process_host(cs->pod), c->id, req->exec_id, io,
                                      req->terminal, req->stdin, req->stdout, req->stderr, json);
    g_hash_table_insert(c->execs, g_strdup(req->exec_id), p);
    Containerd__Events__TaskExecAdded ev = CONTAINERD__EVENTS__TASK_EXEC_ADDED__INIT;
    ev.container_id = c->id;
    ev.exec_id = req->exec_id;
    shim_events_publish(shim_pod_get_events(cs->pod), "/tasks/exec-added", &ev.base);
    func(NULL, NULL, user_data);
}

/* ---- Pause, Resume, Stats, Pids, Update ----------------------------------------------------- */

static void pause_done(const ProtobufCMessage *msg, const GError *error, gpointer user_data)
{
    ContainerCall *cc = user_data;
    ShimContainer *c = container_call_find(cc);
    gboolean pause = cc->pause;
    (void)msg;
    if (error) {
        cc->func(NULL, error, cc->user_data);
    } else {
        if (c)
            c->paused = pause;
        if (pause) {
            Containerd__Events__TaskPaused ev = CONTAINERD__EVENTS__TASK_PAUSED__INIT;
            ev.container_id = cc->id;
            shim_events_publish(shim_pod_get_events(cc->containers->pod), "/tasks/paused",
                                &ev.base);
        } else {
            Containerd__Events__TaskResumed ev = CONTAINERD__EVENTS__TASK_RESUMED__INIT;
            ev.container_id = cc->id;
            shim_events_publish(shim_pod_get_events(cc->containers->pod), "/tasks/resumed",
                                &ev.base);
        }
        cc->func(NULL, NULL, cc->user_data);
    }
    container_call_free(cc);
}

void shim_container_pause(ShimContainers *cs, ShimContainer *c, gboolean pause, ShimReplyFunc func,
                          gpointer user_data)
{
    if (shim_process_get_status(c->init) != SHIM_PROCESS_RUNNING) {
        shim_reply_error(func, user_data, SHIM_ERROR_STATE, "container '%s' is not running", c->id);
        return;
    }
    Secure__Agent__V1__ContainerRequest req = SECURE__AGENT__V1__CONTAINER_REQUEST__INIT;
    req.container_id = c->id;
    ContainerCall *cc = container_call_new(cs, c->id, func, user_data);
    cc->pause = pause;
    container_agent_call(cc, pause ? "PauseContainer" : "ResumeContainer", &req.base,
                         &google__protobuf__empty__descriptor, pause_done);
}

static void stats_done(const ProtobufCMessage *msg, const GError *error, gpointer user_data)
{
    ContainerCall *cc = user_data;
    const Secure__Agent__V1__StatsContainerResponse *reply = (const void *)msg;
    if (error) {
        cc->func(NULL, error, cc->user_data);
    } else {
        Io__Containerd__Cgroups__V2__Metrics empty = IO__CONTAINERD__CGROUPS__V2__METRICS__INIT;
        const ProtobufCMessage *metrics = reply->metrics ? &reply->metrics->base : &empty.base;
        gsize len = protobuf_c_message_get_packed_size(metrics);
        g_autofree guint8 *buf = g_malloc(len ? len : 1);
        protobuf_c_message_pack(metrics, buf);
        Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
        any.type_url = METRICS_TYPE_URL;
        any.value.data = buf;
        any.value.len = len;
        Containerd__Task__V2__StatsResponse resp = CONTAINERD__TASK__V2__STATS_RESPONSE__INIT;
        resp.stats = &any;
        cc->func(&resp.base, NULL, cc->user_data);
    }
    container_call_free(cc);
}

void shim_container_stats(ShimContainers *cs, ShimContainer *c, ShimReplyFunc func,
                          gpointer user_data)
{
    Secure__Agent__V1__ContainerRequest req = SECURE__AGENT__V1__CONTAINER_REQUEST__INIT;
    req.container_id = c->id;
    container_agent_call(container_call_new(cs, c->id, func, user_data), "StatsContainer",
                         &req.base, &secure__agent__v1__stats_container_response__descriptor,
                         stats_done);
}

static void pids_done(const ProtobufCMessage *msg, const GError *error, gpointer user_data)
{
    ContainerCall *cc = user_data;
    const Secure__Agent__V1__ListProcessesResponse *reply = (const void *)msg;
    if (error) {
        cc->func(NULL, error, cc->user_data);
    } else {
        g_autofree Containerd__V1__Types__ProcessInfo *infos =
            g_new0(Containerd__V1__Types__ProcessInfo, reply->n_pids + 1);
        g_autofree Containerd__V1__Types__ProcessInfo **ptrs =
            g_new0(Containerd__V1__Types__ProcessInfo *, reply->n_pids + 1);
        for (gsize i = 0; i < reply->n_pids; i++) {
            containerd__v1__types__process_info__init(&infos[i]);
            infos[i].pid = reply->pids[i];
            ptrs[i] = &infos[i];
        }
        Containerd__Task__V2__PidsResponse resp = CONTAINERD__TASK__V2__PIDS_RESPONSE__INIT;
        resp.n_processes = reply->n_pids;
        resp.processes = ptrs;
        cc->func(&resp.base, NULL, cc->user_data);
    }
    container_call_free(cc);
}

void shim_container_pids(ShimContainers *cs, ShimContainer *c, ShimReplyFunc func,
                         gpointer user_data)
{
    Secure__Agent__V1__ListProcessesRequest req = SECURE__AGENT__V1__LIST_PROCESSES_REQUEST__INIT;
    req.container_id = c->id;
    container_agent_call(container_call_new(cs, c->id, func, user_data), "ListProcesses", &req.base,
                         &secure__agent__v1__list_processes_response__descriptor, pids_done);
}

static void empty_done(const ProtobufCMessage *msg, const GError *error, gpointer user_data)
{
    ContainerCall *cc = user_data;
    (void)msg;
    cc->func(NULL, error, cc->user_data);
    container_call_free(cc);
}

/* The Update is over: the container counts at the limits now in force, and the VM may shrink. */
static void update_settle(ContainerCall *cc, ShimContainer *c, gboolean applied)
{
    if (c)
        c->limits = applied ? cc->limits : cc->previous;
    containers_fit(cc->containers);
}

static void update_done(const ProtobufCMessage *msg, const GError *error, gpointer user_data)
{
    ContainerCall *cc = user_data;
    update_settle(cc, container_call_find(cc), error == NULL);
    empty_done(msg, error, cc);
}

/* The VM holds the new limits: the agent puts them in force. */
static void update_fits(ShimPod *pod, const GError *error, gpointer user_data)
{
    ContainerCall *cc = user_data;
    ShimContainer *c = container_call_find(cc);
    if (!c || error) {
        if (error)
            cc->func(NULL, error, cc->user_data);
        else
            shim_reply_error(cc->func, cc->user_data, SHIM_ERROR_NOT_FOUND,
                             "container '%s' went away", cc->id);
        update_settle(cc, c, FALSE);
        container_call_free(cc);
        return;
    }
    Secure__Agent__V1__UpdateContainerRequest areq =
        SECURE__AGENT__V1__UPDATE_CONTAINER_REQUEST__INIT;
    areq.container_id = c->id;
    areq.resources_json = cc->resources;
    shim_agent_call(shim_pod_get_agent(pod), "UpdateContainer", &areq.base,
                    &google__protobuf__empty__descriptor, SHIM_AGENT_DEADLINE, update_done, cc);
}

/* Parses the update's linux.resources (JSON in the Any's value) for its limits. */
static gboolean update_limits(const Containerd__Task__V2__UpdateTaskRequest *req,
                              ShimResources *out, GError **error)
{
    if (!req->resources || req->resources->value.len > (1 << 20)) {
        g_set_error_literal(error, SHIM_ERROR, SHIM_ERROR_INVALID,
                            "resources missing or over 1 MiB");
        return FALSE;
    }
    g_autoptr(json_object) resources = NULL;
    json_tokener *tok = json_tokener_new();
    resources = json_tokener_parse_ex(tok, (const char *)req->resources->value.data,
                                      (int)req->resources->value.len);
    gboolean parsed = json_tokener_get_error(tok) == json_tokener_success;
    json_tokener_free(tok);
    if (!parsed) {
        g_set_error_literal(error, SHIM_ERROR, SHIM_ERROR_INVALID, "resources are not JSON");
        return FALSE;
    }
    return shim_resources_parse(resources, out, error);
}

void shim_container_update(ShimContainers *cs, ShimContainer *c,
                           const Containerd__Task__V2__UpdateTaskRequest *req, ShimReplyFunc func,
                           gpointer user_data)
{
    g_autoptr(GError) error = NULL;
    ShimResources limits;
    if (!update_limits(req, &limits, &error)) {
        g_prefix_error(&error, "update '%s': ", c->id);
        func(NULL, error, user_data);
        return;
    }
    ContainerCall *cc = container_call_new(cs, c->id, func, user_data);
    cc->limits = limits;
    cc->previous = c->limits;
    cc->resources.data = g_memdup2(req->resources->value.data, req->resources->value.len);
    cc->resources.len = req->resources->value.len;
    /* Until the agent answers, the container counts at the larger of both, so that nothing
     * shrinks the VM below what either may need meanwhile. */
    shim_resources_max(&c->limits, &limits);
    containers_grow(cs, update_fits, cc);
}

void shim_container_state(ShimContainer *c, ShimProcess *p, ShimReplyFunc func, gpointer user_data)
{
    Containerd__Task__V2__StateResponse resp = CONTAINERD__TASK__V2__STATE_RESPONSE__INIT;
    shim_process_fill_state(p, c->paused, &resp);
    resp.bundle = c->bundle;
    func(&resp.base, NULL, user_data);
}
