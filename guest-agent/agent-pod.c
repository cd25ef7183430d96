/* The pod's containers and processes. The builder does the building; this file keeps the table,
 * wires each process's stdio to pipes (or the pty the builder returns) and turns reaped exits
 * into process states. */
#include "agent-pod.h"
#include "agent-error.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common-id.h"

typedef struct {
    char *id;
    Container *container;
    AgentProcess *init;
    GHashTable *execs; /* exec id -> AgentProcess */
} PodContainer;

struct _AgentPod {
    GMainContext *context;
    char *cgroup_root;
    gboolean remove_cgroup_root;
    GHashTable *containers; /* id -> PodContainer */
    GHashTable *creating;   /* id -> PodCreate: the builder is setting them up */
    AgentOom *oom;
};

gboolean agent_pod_check_id(const char *what, const char *id, GError **error)
{
    return common_id_check(what, id, AGENT_ERROR, AGENT_ERROR_INVALID, error);
}

/* The agent's ends and the child's ends of a new process's stdio. */
typedef struct {
    ContainerStdio child;
    AgentStdio agent;
} PodStdio;

/* A container whose init the builder is setting up (container_create_async()). */
typedef struct {
    AgentPod *pod;
    char *id;
    PodStdio stdio;
    gboolean want_stdin;
    ContainerCreate *create;
    AgentPodCreatedFunc func;
    gpointer user_data;
    /* The init was reaped before its create completed (killed after it reported ready): its
     * exit waits here for the container to exist. */
    gboolean exited;
    int wait_status;
} PodCreate;

static void pod_stdio_clear(PodStdio *stdio)
{
    int *fds[] = {&stdio->child.stdin_fd, &stdio->child.stdout_fd, &stdio->child.stderr_fd};

    for (gsize i = 0; i < G_N_ELEMENTS(fds); i++) {
        if (*fds[i] >= 0)
            close(*fds[i]);
        *fds[i] = -1;
    }
    agent_stdio_clear(&stdio->agent);
}

static gboolean pod_pipe(int *out_read, int *out_write, GError **error)
{
    int fds[2];

    if (pipe2(fds, O_CLOEXEC) < 0) {
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_FAILED, "pipe: %s", g_strerror(errno));
        return FALSE;
    }
    *out_read = fds[0];
    *out_write = fds[1];
    return TRUE;
}

/* Pipes for a process without a terminal; with one, the builder makes the pty. */
static gboolean pod_stdio_open(PodStdio *stdio, gboolean terminal, gboolean want_stdin,
                               GError **error)
{
    *stdio = (PodStdio){
        .child = {.terminal = terminal, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1},
        .agent = AGENT_STDIO_INIT,
    };
    stdio->agent.terminal = terminal;
    if (terminal)
        return TRUE;
    if ((want_stdin && !pod_pipe(&stdio->child.stdin_fd, &stdio->agent.in, error)) ||
        !pod_pipe(&stdio->agent.out, &stdio->child.stdout_fd, error) ||
        !pod_pipe(&stdio->agent.err, &stdio->child.stderr_fd, error)) {
        pod_stdio_clear(stdio);
        return FALSE;
    }
    return TRUE;
}

/* After the builder started the process: drops the child's ends, takes the pty master. */
static void pod_stdio_started(PodStdio *stdio, int *pty_master, gboolean want_stdin)
{
    AgentStdio agent = stdio->agent;

    stdio->agent = (AgentStdio)AGENT_STDIO_INIT;
    pod_stdio_clear(stdio);
    if (agent.terminal) {
        agent.out = g_steal_fd(pty_master);
        agent.in = want_stdin && agent.out >= 0 ? fcntl(agent.out, F_DUPFD_CLOEXEC, 0) : -1;
    }
    stdio->agent = agent;
}

static void pod_process_free(gpointer process)
{
    agent_process_free(process);
}

/* Collects the exit of processes the builder has just killed, so that waiters get the real
 * status; WNOHANG because one that escaped the kill must not block the loop. */
static void pod_reap_killed(AgentProcess *process)
{
    int status;

    if (agent_process_get_state(process) == AGENT_PROCESS_EXITED)
        return;
    if (waitpid(agent_process_get_pid(process), &status, WNOHANG) > 0)
        agent_process_exited(process, status, FALSE);
}

static void pod_container_free(gpointer data)
{
    PodContainer *pc = data;
    g_autoptr(GError) error = NULL;
    GHashTableIter iter;
    gpointer process;

    if (!container_destroy(g_steal_pointer(&pc->container), &error))
        g_warning("destroy container '%s': %s", pc->id, error->message);
    pod_reap_killed(pc->init);
    g_hash_table_iter_init(&iter, pc->execs);
    while (g_hash_table_iter_next(&iter, NULL, &process))
        pod_reap_killed(process);
    g_hash_table_unref(pc->execs);
    agent_process_free(pc->init);
    g_free(pc->id);
    g_free(pc);
}

AgentPod *agent_pod_new(GMainContext *context, const char *cgroup_root, gboolean remove_cgroup_root,
                        GError **error)
{
    g_autoptr(AgentPod) pod = g_new0(AgentPod, 1);

    pod->context = context;
    pod->containers = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, pod_container_free);
    pod->creating = g_hash_table_new(g_str_hash, g_str_equal);
    pod->oom = agent_oom_new(context);
    /* A root we remove at exit must be one we made: an existing one belongs to someone else
     * (or was left by an agent that was killed, with its processes perhaps still in it). */
    if (remove_cgroup_root ? mkdir(cgroup_root, 0755) < 0
                           : g_mkdir_with_parents(cgroup_root, 0755) < 0) {
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_FAILED, "mkdir '%s': %s%s", cgroup_root,
                    g_strerror(errno),
                    errno == EEXIST ? " (left by an agent that was killed? remove it)" : "");
        return NULL;
    }
    pod->cgroup_root = g_strdup(cgroup_root);
    pod->remove_cgroup_root = remove_cgroup_root;
    return g_steal_pointer(&pod);
}

static void pod_create_free(PodCreate *pc)
{
    pod_stdio_clear(&pc->stdio);
    g_free(pc->id);
    g_free(pc);
}

/* Creates still being set up end first: their inits are killed, their callers told. */
static void pod_cancel_creates(AgentPod *pod)
{
    g_autoptr(GList) pending = g_hash_table_get_values(pod->creating);

    g_hash_table_remove_all(pod->creating);
    for (GList *l = pending; l != NULL; l = l->next) {
        PodCreate *pc = l->data;
        g_autoptr(GError) error = g_error_new(AGENT_ERROR, AGENT_ERROR_STATE,
                                              "container '%s': the pod was destroyed", pc->id);
        container_create_cancel(pc->create);
        pc->func(0, error, pc->user_data);
        pod_create_free(pc);
    }
}

void agent_pod_destroy_all(AgentPod *pod)
{
    GHashTableIter iter;
    gpointer value;

    pod_cancel_creates(pod);
    g_hash_table_iter_init(&iter, pod->containers);
    while (g_hash_table_iter_next(&iter, NULL, &value))
        agent_oom_unwatch(pod->oom, ((PodContainer *)value)->container);
    g_hash_table_remove_all(pod->containers);
}

void agent_pod_free(AgentPod *pod)
{
    if (pod == NULL)
        return;
    agent_pod_destroy_all(pod);
    g_hash_table_unref(pod->creating);
    g_hash_table_unref(pod->containers);
    agent_oom_free(pod->oom);
    if (pod->cgroup_root != NULL && pod->remove_cgroup_root && rmdir(pod->cgroup_root) < 0)
        g_warning("rmdir '%s': %s", pod->cgroup_root, g_strerror(errno));
    g_free(pod->cgroup_root);
    g_free(pod);
}

AgentOom *agent_pod_get_oom(AgentPod *pod)
{
    return pod->oom;
}

/* A process killed by SIGKILL in a container that has seen an OOM kill is taken as its victim. */
static gboolean pod_is_oom_kill(PodContainer *pc, int wait_status)
{
    guint64 count = 0;

    return WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGKILL &&
           container_get_oom_kill_count(pc->container, &count, NULL) && count > 0;
}

static gboolean pod_record_exit(PodContainer *pc, AgentProcess *process, pid_t pid, int status)
{
    if (agent_process_get_pid(process) != pid ||
        agent_process_get_state(process) == AGENT_PROCESS_EXITED)
        return FALSE;
    agent_process_exited(process, status, pod_is_oom_kill(pc, status));
    return TRUE;
}

void agent_pod_reaped(pid_t pid, int wait_status, gpointer user_data)
{
    AgentPod *pod = user_data;
    GHashTableIter iter;
    gpointer value;

    g_hash_table_iter_init(&iter, pod->containers);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        PodContainer *pc = value;
        GHashTableIter exec_iter;
        gpointer process;

        if (pod_record_exit(pc, pc->init, pid, wait_status))
            return;
        g_hash_table_iter_init(&exec_iter, pc->execs);
        while (g_hash_table_iter_next(&exec_iter, NULL, &process)) {
            if (pod_record_exit(pc, process, pid, wait_status))
                return;
        }
    }
    g_hash_table_iter_init(&iter, pod->creating);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        PodCreate *create = value;

        if (container_create_get_pid(create->create) == pid) {
            create->exited = TRUE;
            create->wait_status = wait_status;
            return;
        }
    }
}

static PodContainer *pod_lookup(AgentPod *pod, const char *id, GError **error)
{
    PodContainer *pc;

    if (!agent_pod_check_id("container id", id, error))
        return NULL;
    pc = g_hash_table_lookup(pod->containers, id);
    if (pc == NULL)
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_NOT_FOUND, "container '%s' not found", id);
    return pc;
}

static PodContainer *pod_lookup_running(AgentPod *pod, const char *id, GError **error)
{
    PodContainer *pc = pod_lookup(pod, id, error);

    if (pc != NULL && agent_process_get_state(pc->init) != AGENT_PROCESS_RUNNING) {
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_STATE, "container '%s' is not running", id);
        return NULL;
    }
    return pc;
}

static void pod_created(Container *container, int *pty_master, const GError *error,
                        gpointer user_data)
{
    PodCreate *create = user_data;
    AgentPod *pod = create->pod;
    PodContainer *pc;

    g_hash_table_remove(pod->creating, create->id);
    if (container == NULL) {
        create->func(0, error, create->user_data);
        pod_create_free(create);
        return;
    }
    pod_stdio_started(&create->stdio, pty_master, create->want_stdin);
    pc = g_new0(PodContainer, 1);
    pc->id = g_steal_pointer(&create->id);
    pc->container = container;
    pc->init = agent_process_new("", container_get_pid(container), AGENT_PROCESS_CREATED,
                                 &create->stdio.agent, pod->context);
    pc->execs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, pod_process_free);
    g_hash_table_insert(pod->containers, pc->id, pc);
    if (create->exited)
        pod_record_exit(pc, pc->init, container_get_pid(container), create->wait_status);
    agent_oom_watch(pod->oom, container);
    create->func(container_get_pid(container), NULL, create->user_data);
    pod_create_free(create);
}

gboolean agent_pod_create(AgentPod *pod, const char *id, const char *config_json, gsize len,
                          const char *rootfs_path, gboolean want_stdin, AgentPodCreatedFunc func,
                          gpointer user_data, GError **error)
{
    g_autoptr(OciSpec) spec = NULL;
    const OciProcess *process;
    PodCreate *create;

    if (!agent_pod_check_id("container id", id, error))
        return FALSE;
    if (g_hash_table_contains(pod->containers, id) || g_hash_table_contains(pod->creating, id)) {
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_EXISTS, "container '%s' already exists", id);
        return FALSE;
    }
    if (rootfs_path[0] != '/') {
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_INVALID, "rootfs path '%s' is not absolute",
                    rootfs_path);
        return FALSE;
    }
    spec = oci_spec_parse(config_json, len, error);
    if (spec == NULL)
        return FALSE;
    process = oci_spec_get_process(spec);
    if (process == NULL) {
        g_set_error_literal(error, AGENT_ERROR, AGENT_ERROR_INVALID, "config.json has no process");
        return FALSE;
    }
    create = g_new0(PodCreate, 1);
    create->pod = pod;
    create->id = g_strdup(id);
    create->want_stdin = want_stdin;
    create->func = func;
    create->user_data = user_data;
    if (!pod_stdio_open(&create->stdio, oci_process_get_terminal(process), want_stdin, error)) {
        pod_create_free(create);
        return FALSE;
    }
    create->create =
        container_create_async(id, spec, rootfs_path, pod->cgroup_root, &create->stdio.child,
                               pod->context, pod_created, create, error);
    if (create->create == NULL) {
        pod_create_free(create);
        return FALSE;
    }
    g_hash_table_insert(pod->creating, create->id, create);
    return TRUE;
}

gboolean agent_pod_start(AgentPod *pod, const char *id, pid_t *out_pid, GError **error)
{
    PodContainer *pc = pod_lookup(pod, id, error);

    if (pc == NULL)
        return FALSE;
    if (agent_process_get_state(pc->init) != AGENT_PROCESS_CREATED) {
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_STATE, "container '%s' was already started",
                    id);
        return FALSE;
    }
    if (!container_start(pc->container, error))
        return FALSE;
    agent_process_set_running(pc->init);
    *out_pid = agent_process_get_pid(pc->init);
    return TRUE;
}

static gboolean exec_is_collected(gpointer key, gpointer value, gpointer user_data)
{
    (void)key;
    (void)user_data;
    return agent_process_is_collected(value);
}

gboolean agent_pod_exec(AgentPod *pod, const char *id, const char *exec_id,
                        const char *process_json, gsize len, gboolean want_stdin, pid_t *out_pid,
                        GError **error)
{
    PodContainer *pc = pod_lookup_running(pod, id, error);
    g_autoptr(OciProcess) oci_process = NULL;
    AgentProcess *old;
    PodStdio stdio;
    int pty_master = -1;
    pid_t pid;

    if (pc == NULL || !agent_pod_check_id("exec id", exec_id, error))
        return FALSE;
    /* Execs the host has collected go: a container may run execs for as long as it lives, and
     * each kept one held its output buffers (a guest could not fork any more after ~220). */
    g_hash_table_foreach_remove(pc->execs, exec_is_collected, NULL);
    old = g_hash_table_lookup(pc->execs, exec_id);
    if (old != NULL && agent_process_get_state(old) != AGENT_PROCESS_EXITED) {
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_EXISTS,
                    "exec '%s' already exists in container '%s'", exec_id, id);
        return FALSE;
    }
    oci_process = oci_process_parse(process_json, len, error);
    if (oci_process == NULL ||
        !pod_stdio_open(&stdio, oci_process_get_terminal(oci_process), want_stdin, error))
        return FALSE;
    pid = container_exec(pc->container, oci_process, &stdio.child, &pty_master, error);
    if (pid < 0) {
        pod_stdio_clear(&stdio);
        return FALSE;
    }
    pod_stdio_started(&stdio, &pty_master, want_stdin);
    g_hash_table_replace(
        pc->execs, g_strdup(exec_id),
        agent_process_new(exec_id, pid, AGENT_PROCESS_RUNNING, &stdio.agent, pod->context));
    *out_pid = pid;
    return TRUE;
}

gboolean agent_pod_signal(AgentPod *pod, const char *id, const char *exec_id, guint signal,
                          gboolean all, GError **error)
{
    PodContainer *pc;
    AgentProcess *process;

    if (signal < 1 || signal > (guint)SIGRTMAX) {
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_INVALID, "signal %u is out of range", signal);
        return FALSE;
    }
    if (all) {
        pc = pod_lookup(pod, id, error);
        return pc != NULL && container_signal(pc->container, signal, TRUE, error);
    }
    process = agent_pod_find_process(pod, id, exec_id, error);
    return process != NULL && agent_process_signal(process, signal, error);
}

gboolean agent_pod_remove(AgentPod *pod, const char *id, GError **error)
{
    PodContainer *pc = pod_lookup(pod, id, error);

    if (pc == NULL)
        return FALSE;
    if (agent_process_get_state(pc->init) == AGENT_PROCESS_RUNNING) {
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_STATE, "container '%s' is running", id);
        return FALSE;
    }
    agent_oom_unwatch(pod->oom, pc->container);
    g_hash_table_remove(pod->containers, id);
    return TRUE;
}

AgentProcess *agent_pod_find_process(AgentPod *pod, const char *id, const char *exec_id,
                                     GError **error)
{
    PodContainer *pc = pod_lookup(pod, id, error);
    AgentProcess *process;

    if (pc == NULL)
        return NULL;
    if (exec_id[0] == '\0')
        return pc->init;
    if (!agent_pod_check_id("exec id", exec_id, error))
        return NULL;
    process = g_hash_table_lookup(pc->execs, exec_id);
    if (process == NULL)
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_NOT_FOUND,
                    "exec '%s' not found in container '%s'", exec_id, id);
    return process;
}

Container *agent_pod_find_container(AgentPod *pod, const char *id, gboolean running, GError **error)
{
    PodContainer *pc = running ? pod_lookup_running(pod, id, error) : pod_lookup(pod, id, error);

    return pc != NULL ? pc->container : NULL;
}
