/* The shim driven like containerd drives it (argv, stdin options, Task API over ttrpc, events
 * on TTRPC_ADDRESS, `delete`), against a pod of the kind given as argv[1]: "none" (host-mode
 * agent) or "libvirt" (a real VM under TCG). */
#include <check.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cgroups-v2-metrics.pb-c.h"
#include "shim-test.h"
#include "test-util.h"

static const char *kind;
static ShimTest *t;

/* Output and exits can take a while in a TCG guest. */
#define IO_TIMEOUT_MS 60000
#define IO_TIMEOUT_US (IO_TIMEOUT_MS * G_TIME_SPAN_MILLISECOND)

static void teardown(void)
{
    g_clear_pointer(&t, shim_test_free);
}

static void setup(void)
{
    t = shim_test_new(kind);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void start_req(const char *method, const char *id, const char *exec_id)
{
    Containerd__Task__V2__StartRequest req = CONTAINERD__TASK__V2__START_REQUEST__INIT;
    req.id = (char *)id;
    req.exec_id = (char *)(exec_id ? exec_id : "");
    ProtobufCMessage *resp =
        shim_test_call_ok(t, method, &req.base, &containerd__task__v2__start_response__descriptor);
    ck_assert_uint_gt(((Containerd__Task__V2__StartResponse *)resp)->pid, 0);
    protobuf_c_message_free_unpacked(resp, NULL);
}

static Containerd__Task__V2__StateResponse *state(const char *id, const char *exec_id)
{
    Containerd__Task__V2__StateRequest req = CONTAINERD__TASK__V2__STATE_REQUEST__INIT;
    req.id = (char *)id;
    req.exec_id = (char *)(exec_id ? exec_id : "");
    return (void *)shim_test_call_ok(t, "State", &req.base,
                                     &containerd__task__v2__state_response__descriptor);
}

/* The first pid the agent lists for container @id (a guest pid in a VM, a host one in host
 * mode). */
static pid_t first_pid(const char *id)
{
    Containerd__Task__V2__PidsRequest pr = CONTAINERD__TASK__V2__PIDS_REQUEST__INIT;
    pr.id = (char *)id;
    Containerd__Task__V2__PidsResponse *pids = (void *)shim_test_call_ok(
        t, "Pids", &pr.base, &containerd__task__v2__pids_response__descriptor);
    ck_assert_uint_ge(pids->n_processes, 1);
    pid_t pid = (pid_t)pids->processes[0]->pid;
    containerd__task__v2__pids_response__free_unpacked(pids, NULL);
    return pid;
}

static Containerd__V1__Types__Status status_of(const char *id, const char *exec_id)
{
    Containerd__Task__V2__StateResponse *s = state(id, exec_id);
    Containerd__V1__Types__Status status = s->status;
    containerd__task__v2__state_response__free_unpacked(s, NULL);
    return status;
}

static guint32 delete_task(const char *id, const char *exec_id)
{
    Containerd__Task__V2__DeleteRequest req = CONTAINERD__TASK__V2__DELETE_REQUEST__INIT;
    req.id = (char *)id;
    req.exec_id = (char *)(exec_id ? exec_id : "");
    Containerd__Task__V2__DeleteResponse *resp = (void *)shim_test_call_ok(
        t, "Delete", &req.base, &containerd__task__v2__delete_response__descriptor);
    ck_assert_msg(resp->exited_at && resp->exited_at->seconds > 0, "Delete without exited_at");
    guint32 status = resp->exit_status;
    containerd__task__v2__delete_response__free_unpacked(resp, NULL);
    return status;
}

static void kill_task(const char *id, const char *exec_id, guint32 signal, gboolean all)
{
    Containerd__Task__V2__KillRequest req = CONTAINERD__TASK__V2__KILL_REQUEST__INIT;
    req.id = (char *)id;
    req.exec_id = (char *)(exec_id ? exec_id : "");
    req.signal = signal;
    req.all = all;
    shim_test_call_ok(t, "Kill", &req.base, NULL);
}

/* Shutdown with no container left: the daemon exits and removes its socket. */
static void shutdown_daemon(void)
{
    Containerd__Task__V2__ShutdownRequest req = CONTAINERD__TASK__V2__SHUTDOWN_REQUEST__INIT;
    req.id = "x";
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) reply = shim_test_call(t, "Shutdown", &req.base, &error);
    /* Closing the connection mid-call is allowed too (containerd counts it as success). */
    ck_assert_msg(reply || g_error_matches(error, TTRPC_ERROR, TTRPC_CODE_UNAVAILABLE), "%s",
                  error ? error->message : "");
    ck_assert_msg(shim_test_wait_gone(t->shim_pid, SHIM_TEST_DAEMON_EXIT_S),
                  "the daemon did not exit after Shutdown");
}

static guint32 connect_task(const char *id)
{
    Containerd__Task__V2__ConnectRequest req = CONTAINERD__TASK__V2__CONNECT_REQUEST__INIT;
    req.id = (char *)id;
    Containerd__Task__V2__ConnectResponse *resp = (void *)shim_test_call_ok(
        t, "Connect", &req.base, &containerd__task__v2__connect_response__descriptor);
    ck_assert_uint_gt(resp->shim_pid, 1);
    t->shim_pid = resp->shim_pid;
    guint32 task_pid = resp->task_pid;
    containerd__task__v2__connect_response__free_unpacked(resp, NULL);
    return task_pid;
}

/* Rewrites <bundle>/config.json through @edit. */
static void edit_spec(const char *bundle, void (*edit)(json_object *spec, gpointer), gpointer data)
{
    g_autofree char *path = g_build_filename(bundle, "config.json", NULL);
    json_object *spec = json_object_from_file(path);
    ck_assert_ptr_nonnull(spec);
    edit(spec, data);
    ck_assert_int_eq(json_object_to_file(path, spec), 0);
    json_object_put(spec);
}

/* Adds a read-only bind of the host directory @data at /mnt/data. */
static void add_data_bind(json_object *spec, gpointer data)
{
    json_object *mounts, *mount = json_object_new_object(), *options = json_object_new_array();
    ck_assert(json_object_object_get_ex(spec, "mounts", &mounts));
    json_object_object_add(mount, "destination", json_object_new_string("/mnt/data"));
    json_object_object_add(mount, "type", json_object_new_string("bind"));
    json_object_object_add(mount, "source", json_object_new_string(data));
    json_object_array_add(options, json_object_new_string("rbind"));
    json_object_array_add(options, json_object_new_string("ro"));
    json_object_object_add(mount, "options", options);
    json_object_array_add(mounts, mount);
}

/* Joins the IPC namespace of a process by a host /proc path that does not exist here: only the
 * shim's rewrite (to the pod's first container in the guest) makes it valid. */
static void join_foreign_ipc(json_object *spec, gpointer data)
{
    json_object *linux_, *namespaces, *ns = json_object_new_object();
    (void)data;
    ck_assert(json_object_object_get_ex(spec, "linux", &linux_));
    ck_assert(json_object_object_get_ex(linux_, "namespaces", &namespaces));
    for (size_t i = 0; i < json_object_array_length(namespaces); i++) {
        json_object *type;
        json_object_object_get_ex(json_object_array_get_idx(namespaces, i), "type", &type);
        if (g_strcmp0(json_object_get_string(type), "ipc") == 0)
            json_object_array_del_idx(namespaces, i--, 1);
    }
    json_object_object_add(ns, "type", json_object_new_string("ipc"));
    json_object_object_add(ns, "path", json_object_new_string("/proc/999999999/ns/ipc"));
    json_object_array_add(namespaces, ns);
}

/* start -> Create -> Connect -> Wait -> Start -> output -> exit -> Delete -> Shutdown -> delete */
START_TEST(test_lifecycle)
{
    g_autofree char *bundle = shim_test_bundle(
        t, "c1", ARGS("sh", "-c", "cat /mnt/data/hello; echo err >&2; exit 3"), NULL, FALSE);
    ShimTestFifos f;
    ShimTestWait w;
    /* The output comes from a host file bound in by the spec: the bind is shared with the pod. */
    g_autofree char *data = g_build_filename(t->tmpdir, "data", NULL);
    g_autofree char *hello = g_build_filename(data, "hello", NULL);
    ck_assert_int_eq(g_mkdir(data, 0755), 0);
    ck_assert(g_file_set_contents(hello, "out\n", -1, NULL));
    edit_spec(bundle, add_data_bind, data);
    shim_test_start(t, "c1", bundle);
    shim_test_fifos(t, "c1", TRUE, &f);
    shim_test_create(t, "c1", bundle, &f, FALSE);
    shim_test_open_stdin(&f);
    guint32 task_pid = connect_task("c1");
    ck_assert_uint_gt(task_pid, 0);
    ck_assert_msg(shim_test_pid_alive(task_pid), "task pid %u is not a live process", task_pid);
    ck_assert_int_eq(status_of("c1", NULL), CONTAINERD__V1__TYPES__STATUS__CREATED);

    shim_test_wait_async(t, "c1", NULL, &w);
    start_req("Start", "c1", NULL);
    g_autofree char *out = shim_test_read_all(f.out_fd, IO_TIMEOUT_MS);
    g_autofree char *err = shim_test_read_all(f.err_fd, IO_TIMEOUT_MS);
    ck_assert_str_eq(out, "out\n");
    ck_assert_str_eq(err, "err\n");
    ck_assert_msg(test_util_run_until(&w.done, IO_TIMEOUT_US), "Wait did not return");
    ck_assert_msg(!w.error, "%s", w.error ? w.error->message : "");
    ck_assert_uint_eq(w.exit_status, 3);

    Containerd__Task__V2__StateResponse *s = state("c1", NULL);
    ck_assert_int_eq(s->status, CONTAINERD__V1__TYPES__STATUS__STOPPED);
    ck_assert_uint_eq(s->exit_status, 3);
    ck_assert_str_eq(s->stdout, f.stdout_path);
    ck_assert_str_eq(s->bundle, bundle);
    containerd__task__v2__state_response__free_unpacked(s, NULL);
    ck_assert_uint_eq(delete_task("c1", NULL), 3);
    shutdown_daemon();

    guint32 exit_status;
    gint64 ms;
    ck_assert_int_eq(shim_test_run_delete(t, "c1", bundle, &exit_status, &ms), 0);
    ck_assert_int_lt(ms, 5000);
    shim_test_assert_clean(t);

    /* Events, in order, with bare type URLs and the fields containerd reads. */
    shim_test_wait_events(t, 4, 5000);
    g_autofree char *topics = shim_test_topics(t);
    ck_assert_str_eq(topics, "/tasks/create /tasks/start /tasks/exit /tasks/delete");
    Containerd__Events__TaskCreate *create =
        (void *)shim_test_event(t, 0, &containerd__events__task_create__descriptor);
    ck_assert_str_eq(create->container_id, "c1");
    ck_assert_str_eq(create->bundle, bundle);
    ck_assert_uint_eq(create->n_rootfs, 1);
    ck_assert_str_eq(create->io->stdout, f.stdout_path);
    protobuf_c_message_free_unpacked(&create->base, NULL);
    Containerd__Events__TaskExit *exit_ev =
        (void *)shim_test_event(t, 2, &containerd__events__task_exit__descriptor);
    ck_assert_str_eq(exit_ev->container_id, "c1");
    ck_assert_str_eq(exit_ev->id, "c1");
    ck_assert_uint_eq(exit_ev->exit_status, 3);
    ck_assert(exit_ev->exited_at && exit_ev->exited_at->seconds > 0);
    protobuf_c_message_free_unpacked(&exit_ev->base, NULL);
    Containerd__Events__TaskDelete *del =
        (void *)shim_test_event(t, 3, &containerd__events__task_delete__descriptor);
    ck_assert_str_eq(del->container_id, "c1");
    ck_assert_uint_eq(del->exit_status, 3);
    protobuf_c_message_free_unpacked(&del->base, NULL);
    shim_test_fifos_close(&f);
}
END_TEST

static void exec_req(const char *id, const char *exec_id, const char *const *args,
                     gboolean terminal, ShimTestFifos *f)
{
    json_object *spec = shim_test_spec(args, terminal), *process;
    ck_assert(json_object_object_get_ex(spec, "process", &process));
    const char *json = json_object_to_json_string_ext(process, JSON_C_TO_STRING_PLAIN);
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    any.type_url = "types.containerd.io/opencontainers/runtime-spec/1/Process";
    any.value.data = (guint8 *)json;
    any.value.len = strlen(json);
    Containerd__Task__V2__ExecProcessRequest req = CONTAINERD__TASK__V2__EXEC_PROCESS_REQUEST__INIT;
    req.id = (char *)id;
    req.exec_id = (char *)exec_id;
    req.terminal = terminal;
    req.stdin = f->stdin_path;
    req.stdout = f->stdout_path;
    req.stderr = terminal ? "" : f->stderr_path;
    req.spec = &any;
    shim_test_call_ok(t, "Exec", &req.base, NULL);
    json_object_put(spec);
}

/* The fixture of the running-container tests: a pod with container "c2" running `sleep 1000`
 * and a Wait sent for it, which each test inspects in its own way. */
static struct {
    char *bundle;
    ShimTestFifos f;
    ShimTestWait w;
} running;

static void running_teardown(void)
{
    teardown();
    /* Freeing the client failed a pending Wait from the main context: its callback runs now,
     * before the next test reuses running.w. */
    while (g_main_context_iteration(NULL, FALSE))
        ;
    g_clear_error(&running.w.error);
    if (running.f.stdout_path)
        shim_test_fifos_close(&running.f);
    g_clear_pointer(&running.bundle, g_free);
}

static void running_setup(void)
{
    /* Without a fork per test, Check skips the teardown after a failed setup: the pod that one
     * left is removed here (and after the run, for the last). */
    running_teardown();
    setup();
    running.bundle = shim_test_bundle(t, "c2", ARGS("sleep", "1000"), NULL, FALSE);
    shim_test_start(t, "c2", running.bundle);
    shim_test_fifos(t, "c2", FALSE, &running.f);
    shim_test_create(t, "c2", running.bundle, &running.f, FALSE);
    connect_task("c2");
    shim_test_wait_async(t, "c2", NULL, &running.w);
    start_req("Start", "c2", NULL);
    ck_assert_int_eq(status_of("c2", NULL), CONTAINERD__V1__TYPES__STATUS__RUNNING);
}

/* SIGKILL to c2: the fixture's Wait returns 137. */
static void kill_running(void)
{
    kill_task("c2", NULL, SIGKILL, TRUE);
    ck_assert_msg(test_util_run_until(&running.w.done, IO_TIMEOUT_US), "Wait did not return");
    ck_assert_uint_eq(running.w.exit_status, 137);
}

/* Exec with stdin: cat echoes a line, then sees EOF after CloseIO + our close. Its events follow
 * the container's. */
START_TEST(test_running_exec_stdin)
{
    ShimTestFifos e1;
    ShimTestWait we;
    shim_test_fifos(t, "e1", TRUE, &e1);
    exec_req("c2", "e1", ARGS("cat"), FALSE, &e1);
    ck_assert_int_eq(status_of("c2", "e1"), CONTAINERD__V1__TYPES__STATUS__CREATED);
    shim_test_open_stdin(&e1);
    shim_test_wait_async(t, "c2", "e1", &we);
    start_req("Start", "c2", "e1");
    ck_assert_int_eq(write(e1.in_fd, "hello\n", 6), 6);
    Containerd__Task__V2__CloseIORequest cio = CONTAINERD__TASK__V2__CLOSE_IOREQUEST__INIT;
    cio.id = "c2";
    cio.exec_id = "e1";
    cio.stdin = TRUE;
    shim_test_call_ok(t, "CloseIO", &cio.base, NULL);
    close(e1.in_fd);
    e1.in_fd = -1;
    g_autofree char *echoed = shim_test_read_all(e1.out_fd, IO_TIMEOUT_MS);
    ck_assert_str_eq(echoed, "hello\n");
    ck_assert_msg(test_util_run_until(&we.done, IO_TIMEOUT_US), "exec Wait did not return");
    ck_assert_uint_eq(we.exit_status, 0);
    ck_assert_uint_eq(delete_task("c2", "e1"), 0);
    Containerd__Task__V2__StateRequest req = CONTAINERD__TASK__V2__STATE_REQUEST__INIT;
    req.id = "c2";
    req.exec_id = "e1";
    g_autofree char *gone = shim_test_call_fail(t, "State", &req.base, TTRPC_CODE_NOT_FOUND);

    shim_test_wait_events(t, 5, 5000);
    g_autofree char *topics = shim_test_topics(t);
    ck_assert_msg(strstr(topics, "/tasks/create /tasks/start /tasks/exec-added "
                                 "/tasks/exec-started /tasks/exit"),
                  "%s", topics);
    shim_test_fifos_close(&e1);
}
END_TEST

/* Terminal exec: the pty starts with no size (the spec has no consoleSize), and the size set by
 * ResizePty after Start is what the process then sees. Busybox stty prints nothing for a 0x0
 * terminal, only a complaint on stderr, so the shell polls with stderr discarded. It shows its
 * first look before we resize, which makes the order fixed, not a race. */
START_TEST(test_running_exec_terminal)
{
    ShimTestFifos e2;
    shim_test_fifos(t, "e2", FALSE, &e2);
    exec_req("c2", "e2",
             ARGS("sh", "-c",
                  "echo \"before [$(stty size 2>/dev/null)]\"; "
                  "until s=$(stty size 2>/dev/null) && [ -n \"$s\" ]; do sleep 0.1; done; "
                  "echo \"after [$s]\""),
             TRUE, &e2);
    start_req("Start", "c2", "e2");
    g_autofree char *before = shim_test_read_until(e2.out_fd, "]", IO_TIMEOUT_MS);
    ck_assert_msg(strstr(before, "before []"), "pty output before the resize: '%s'", before);
    Containerd__Task__V2__ResizePtyRequest rz = CONTAINERD__TASK__V2__RESIZE_PTY_REQUEST__INIT;
    rz.id = "c2";
    rz.exec_id = "e2";
    rz.width = 100;
    rz.height = 30;
    shim_test_call_ok(t, "ResizePty", &rz.base, NULL);
    g_autofree char *after = shim_test_read_all(e2.out_fd, IO_TIMEOUT_MS);
    ck_assert_msg(strstr(after, "after [30 100]"), "pty output after the resize: '%s'", after);
    delete_task("c2", "e2");
    shim_test_fifos_close(&e2);
}
END_TEST

/* Update, then Stats (the cgroup v2 metrics ctr decodes, with the bare type URL) and Pids. */
START_TEST(test_running_update_stats)
{
    /* Resources as OCI JSON. The host's cgroup hierarchy may lack the pids controller that the
     * guest kernel has, so a host-agent pod gets an empty update. */
    const char *resources = strcmp(kind, "libvirt") == 0 ? "{\"pids\": {\"limit\": 64}}" : "{}";
    Google__Protobuf__Any res = GOOGLE__PROTOBUF__ANY__INIT;
    res.type_url = "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources";
    res.value.data = (guint8 *)resources;
    res.value.len = strlen(resources);
    Containerd__Task__V2__UpdateTaskRequest up = CONTAINERD__TASK__V2__UPDATE_TASK_REQUEST__INIT;
    up.id = "c2";
    up.resources = &res;
    shim_test_call_ok(t, "Update", &up.base, NULL);

    Containerd__Task__V2__StatsRequest st = CONTAINERD__TASK__V2__STATS_REQUEST__INIT;
    st.id = "c2";
    Containerd__Task__V2__StatsResponse *stats = (void *)shim_test_call_ok(
        t, "Stats", &st.base, &containerd__task__v2__stats_response__descriptor);
    ck_assert_ptr_nonnull(stats->stats);
    ck_assert_str_eq(stats->stats->type_url, "io.containerd.cgroups.v2.Metrics");
    Io__Containerd__Cgroups__V2__Metrics *m = io__containerd__cgroups__v2__metrics__unpack(
        NULL, stats->stats->value.len, stats->stats->value.data);
    ck_assert_ptr_nonnull(m);
    ck_assert_msg(m->pids || m->cpu || m->memory, "the metrics carry no pids, cpu or memory");
    io__containerd__cgroups__v2__metrics__free_unpacked(m, NULL);
    containerd__task__v2__stats_response__free_unpacked(stats, NULL);

    ck_assert_int_gt(first_pid("c2"), 0);
}
END_TEST

/* Pause and resume; an exec into a frozen container fails instead of hanging (as with runc).
 * The events of both come in order, and nothing else until the container's end. */
START_TEST(test_running_pause_resume)
{
    Containerd__Task__V2__PauseRequest pause = CONTAINERD__TASK__V2__PAUSE_REQUEST__INIT;
    pause.id = "c2";
    shim_test_call_ok(t, "Pause", &pause.base, NULL);
    ck_assert_int_eq(status_of("c2", NULL), CONTAINERD__V1__TYPES__STATUS__PAUSED);
    json_object *frozen = shim_test_spec(ARGS("true"), FALSE), *frozen_process;
    ck_assert(json_object_object_get_ex(frozen, "process", &frozen_process));
    const char *frozen_json = json_object_to_json_string(frozen_process);
    Google__Protobuf__Any frozen_any = GOOGLE__PROTOBUF__ANY__INIT;
    frozen_any.type_url = "types.containerd.io/opencontainers/runtime-spec/1/Process";
    frozen_any.value.data = (guint8 *)frozen_json;
    frozen_any.value.len = strlen(frozen_json);
    Containerd__Task__V2__ExecProcessRequest frozen_req =
        CONTAINERD__TASK__V2__EXEC_PROCESS_REQUEST__INIT;
    frozen_req.id = "c2";
    frozen_req.exec_id = "while-paused";
    frozen_req.spec = &frozen_any;
    g_autofree char *paused_msg =
        shim_test_call_fail(t, "Exec", &frozen_req.base, TTRPC_CODE_FAILED_PRECONDITION);
    ck_assert_msg(strstr(paused_msg, "paused"), "%s", paused_msg);
    json_object_put(frozen);
    shim_test_call_ok(t, "Resume", &pause.base, NULL);
    ck_assert_int_eq(status_of("c2", NULL), CONTAINERD__V1__TYPES__STATUS__RUNNING);

    kill_running();
    ck_assert_uint_eq(delete_task("c2", NULL), 137);
    shim_test_wait_events(t, 6, 5000);
    g_autofree char *topics = shim_test_topics(t);
    ck_assert_msg(strstr(topics, "/tasks/paused /tasks/resumed /tasks/exit /tasks/delete"), "%s",
                  topics);
}
END_TEST

/* Many calls in flight on the one connection while Wait stays pending. A running task cannot be
 * deleted; kill makes every Wait return; a second kill: NotFound. Then the pod goes away. */
START_TEST(test_running_kill)
{
    ShimTestWait many[16];
    for (int i = 0; i < 16; i++)
        shim_test_wait_async(t, "c2", NULL, &many[i]);
    for (int i = 0; i < 16; i++)
        ck_assert_int_eq(status_of("c2", NULL), CONTAINERD__V1__TYPES__STATUS__RUNNING);
    ck_assert(!running.w.done);

    Containerd__Task__V2__DeleteRequest dr = CONTAINERD__TASK__V2__DELETE_REQUEST__INIT;
    dr.id = "c2";
    g_autofree char *busy =
        shim_test_call_fail(t, "Delete", &dr.base, TTRPC_CODE_FAILED_PRECONDITION);
    kill_running();
    for (int i = 0; i < 16; i++) {
        ck_assert(test_util_run_until(&many[i].done, 5 * G_USEC_PER_SEC));
        ck_assert_uint_eq(many[i].exit_status, 137);
    }
    Containerd__Task__V2__KillRequest kr = CONTAINERD__TASK__V2__KILL_REQUEST__INIT;
    kr.id = "c2";
    kr.signal = SIGKILL;
    g_autofree char *finished = shim_test_call_fail(t, "Kill", &kr.base, TTRPC_CODE_NOT_FOUND);
    ck_assert_uint_eq(delete_task("c2", NULL), 137);
    shutdown_daemon();
    ck_assert_int_eq(shim_test_run_delete(t, "c2", running.bundle, NULL, NULL), 0);
    shim_test_assert_clean(t);
}
END_TEST

/* start, Create with new fifos, Connect and a Wait sent: @id is ready to Start. */
static void create_and_wait(const char *id, const char *bundle, ShimTestFifos *f, ShimTestWait *w)
{
    shim_test_start(t, id, bundle);
    shim_test_fifos(t, id, FALSE, f);
    shim_test_create(t, id, bundle, f, FALSE);
    connect_task(id);
    shim_test_wait_async(t, id, NULL, w);
}

/* VmRSS of @pid in KiB. */
static guint64 rss_kib(guint32 pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%u/status", pid);
    g_autofree char *status = NULL;
    ck_assert(g_file_get_contents(path, &status, NULL, NULL));
    const char *line = strstr(status, "\nVmRSS:");
    ck_assert_ptr_nonnull(line);
    return g_ascii_strtoull(line + strlen("\nVmRSS:"), NULL, 10);
}

/* Reads @f's stdout and stderr at once, each until its end, as ctr does. */
static void read_both(ShimTestFifos *f, GString *out, GString *err)
{
    int fds[] = {f->out_fd, f->err_fd};
    GString *into[] = {out, err};
    gboolean open_[] = {TRUE, TRUE};
    gint64 deadline = g_get_monotonic_time() + (gint64)IO_TIMEOUT_MS * 1000;
    g_autofree char *buf = g_malloc(1 << 20);
    while ((open_[0] || open_[1]) && g_get_monotonic_time() < deadline) {
        gboolean got = FALSE;
        for (int i = 0; i < 2; i++) {
            ssize_t n = open_[i] ? read(fds[i], buf, 1 << 20) : -1;
            if (n > 0)
                g_string_append_len(into[i], buf, n);
            open_[i] = open_[i] && n != 0;
            got = got || n > 0;
        }
        if (!got) {
            g_main_context_iteration(NULL, FALSE);
            g_usleep(1000);
        }
    }
    ck_assert_msg(!open_[0] && !open_[1], "output did not end");
}

/* "@from\n...@to\n", what seq prints. */
static void append_seq(GString *s, guint from, guint to)
{
    for (guint i = from; i <= to; i++)
        g_string_append_printf(s, "%u\n", i);
}

#define BIG_ZEROS (64u << 20)
/* What the shim may grow by while nobody reads: well under the stream, and with room for the
 * allocator's own keeping (ASan's quarantine holds freed read buffers: 16.5 MiB seen). A shim
 * that buffered the stream would grow by all of it. */
#define STALL_GROWTH_MAX_KIB ((BIG_ZEROS >> 10) / 2)

/* A large stream on stdout and stderr at once: every byte arrives, in order, with the exit
 * after it; and while nobody reads, the shim holds a bounded part of it, not all of it. */
START_TEST(test_large_output)
{
    g_autofree char *script =
        g_strdup_printf("seq 1 200000 >&2 & head -c %u /dev/zero; seq 1 300000; wait", BIG_ZEROS);
    g_autofree char *bundle = shim_test_bundle(t, "big", ARGS("sh", "-c", script), NULL, FALSE);
    ShimTestFifos f;
    ShimTestWait w;
    create_and_wait("big", bundle, &f, &w);
    guint64 rss_before = rss_kib(t->shim_pid);
    start_req("Start", "big", NULL);

    /* Nobody reads for a while: the container has to wait, not the shim to buffer. */
    test_util_run_for(3 * G_USEC_PER_SEC);
    guint64 rss_stalled = rss_kib(t->shim_pid);
    ck_assert_msg(rss_stalled < rss_before + STALL_GROWTH_MAX_KIB,
                  "the shim grew from %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT
                  " KiB while its reader stalled",
                  rss_before, rss_stalled);
    ck_assert(!w.done);

    g_autoptr(GString) out = g_string_new(NULL), err = g_string_new(NULL);
    g_autoptr(GString) want_out = g_string_sized_new(BIG_ZEROS + (4u << 20));
    g_autoptr(GString) want_err = g_string_new(NULL);
    read_both(&f, out, err);
    g_string_set_size(want_out, BIG_ZEROS);
    memset(want_out->str, 0, BIG_ZEROS);
    append_seq(want_out, 1, 300000);
    append_seq(want_err, 1, 200000);
    ck_assert_uint_eq(out->len, want_out->len);
    ck_assert_msg(memcmp(out->str, want_out->str, out->len) == 0, "stdout differs");
    ck_assert_str_eq(err->str, want_err->str);
    ck_assert_msg(test_util_run_until(&w.done, IO_TIMEOUT_US), "Wait did not return");
    ck_assert_uint_eq(w.exit_status, 0);
    ck_assert_uint_eq(delete_task("big", NULL), 0);
    shutdown_daemon();
    ck_assert_int_eq(shim_test_run_delete(t, "big", bundle, NULL, NULL), 0);
    shim_test_assert_clean(t);
    shim_test_fifos_close(&f);
}
END_TEST

/* The one periodic thing an idle shim does is its agent health check, every HEALTH_INTERVAL_S
 * (shim-pod.c). Over IDLE_CHECKS of them, the shim's threads may wake at most
 * IDLE_WAKEUPS_PER_CHECK times per check plus IDLE_WAKEUPS_EXTRA: a wide margin over what an
 * idle shim does (4-7 wake-ups in 15 s, measured), far below a poller (the reaper thread that
 * walked /proc every 100 ms: 240-990 in 15 s, more with more processes on the host). */
#define HEALTH_INTERVAL_S 5
#define IDLE_CHECKS 3
#define IDLE_WAKEUPS_PER_CHECK 10
#define IDLE_WAKEUPS_EXTRA 10

/* The context switches of every thread of @pid so far: each wake-up of a thread counts once
 * (voluntary: it slept and was woken) or more (nonvoluntary: preempted while running). */
static guint64 context_switches(pid_t pid)
{
    g_autofree char *tasks = g_strdup_printf("/proc/%d/task", (int)pid);
    g_autoptr(GDir) dir = g_dir_open(tasks, 0, NULL);
    ck_assert_msg(dir, "no %s", tasks);
    guint64 total = 0;
    const char *tid;
    while ((tid = g_dir_read_name(dir))) {
        g_autofree char *path = g_build_filename(tasks, tid, "status", NULL);
        g_autofree char *status = NULL;
        if (!g_file_get_contents(path, &status, NULL, NULL))
            continue; /* the thread ended meanwhile */
        g_auto(GStrv) lines = g_strsplit(status, "\n", -1);
        for (char **line = lines; *line; line++) {
            guint64 n;
            if (sscanf(*line, "voluntary_ctxt_switches: %" G_GUINT64_FORMAT, &n) == 1 ||
                sscanf(*line, "nonvoluntary_ctxt_switches: %" G_GUINT64_FORMAT, &n) == 1)
                total += n;
        }
    }
    return total;
}

/* A pod whose container sleeps wakes its shim only for the health checks: nothing polls
 * (issue 11). Its teardown then reaps QEMU and virtiofsd (they exit only once reaped), woken by
 * their pidfds. */
START_TEST(test_idle_wakeups)
{
    g_autofree char *bundle = shim_test_bundle(t, "idle", ARGS("sleep", "100000"), NULL, FALSE);
    ShimTestWait w;
    shim_test_start(t, "idle", bundle);
    shim_test_create(t, "idle", bundle, NULL, FALSE);
    connect_task("idle");
    start_req("Start", "idle", NULL);
    ck_assert_int_eq(status_of("idle", NULL), CONTAINERD__V1__TYPES__STATUS__RUNNING);

    guint64 before = context_switches((pid_t)t->shim_pid);
    g_usleep(IDLE_CHECKS * HEALTH_INTERVAL_S * G_USEC_PER_SEC);
    guint64 wakeups = context_switches((pid_t)t->shim_pid) - before;
    g_print("idle shim (%s): %" G_GUINT64_FORMAT " wake-ups in %d s\n", kind, wakeups,
            IDLE_CHECKS * HEALTH_INTERVAL_S);
    ck_assert_msg(wakeups <= IDLE_CHECKS * IDLE_WAKEUPS_PER_CHECK + IDLE_WAKEUPS_EXTRA,
                  "an idle shim woke %" G_GUINT64_FORMAT " times in %d s", wakeups,
                  IDLE_CHECKS * HEALTH_INTERVAL_S);

    shim_test_wait_async(t, "idle", NULL, &w);
    kill_task("idle", NULL, SIGKILL, TRUE);
    ck_assert_msg(test_util_run_until(&w.done, IO_TIMEOUT_US), "Wait did not return");
    ck_assert_uint_eq(delete_task("idle", NULL), 137);
    shutdown_daemon();
    ck_assert_int_eq(shim_test_run_delete(t, "idle", bundle, NULL, NULL), 0);
    shim_test_assert_clean(t);
}
END_TEST

/* Kill on a created task stops it at once and makes Wait return; a sandbox-annotated second
 * container joins the same pod (the same shim), and the VM stays until its last container. */
START_TEST(test_created_kill_and_grouping)
{
    g_autofree char *b1 = shim_test_bundle(t, "pod1", ARGS("sleep", "1000"), "pod1", FALSE);
    g_autofree char *b2 = shim_test_bundle(t, "app1", ARGS("sleep", "1000"), "pod1", FALSE);
    ShimTestWait w;
    edit_spec(b2, join_foreign_ipc, NULL);
    shim_test_start(t, "pod1", b1);
    shim_test_create(t, "pod1", b1, NULL, FALSE);
    connect_task("pod1");
    start_req("Start", "pod1", NULL);
    shim_test_start(t, "app1", b2); /* asserts the same socket */
    shim_test_create(t, "app1", b2, NULL, FALSE);
    shim_test_wait_async(t, "app1", NULL, &w);
    kill_task("app1", NULL, SIGKILL, TRUE);
    ck_assert_msg(test_util_run_until(&w.done, 5 * G_USEC_PER_SEC), "Wait after Kill on CREATED");
    ck_assert_uint_eq(w.exit_status, 137);
    delete_task("app1", NULL);
    /* Shutdown while the sandbox container lives: the daemon stays. */
    Containerd__Task__V2__ShutdownRequest sd = CONTAINERD__TASK__V2__SHUTDOWN_REQUEST__INIT;
    sd.id = "app1";
    shim_test_call_ok(t, "Shutdown", &sd.base, NULL);
    g_usleep(200000);
    ck_assert(shim_test_pid_alive(t->shim_pid));
    /* delete for the app container leaves the running pod alone. */
    ck_assert_int_eq(shim_test_run_delete(t, "app1", b2, NULL, NULL), 0);
    ck_assert_int_eq(status_of("pod1", NULL), CONTAINERD__V1__TYPES__STATUS__RUNNING);
    kill_task("pod1", NULL, SIGKILL, TRUE);
    shim_test_wait_async(t, "pod1", NULL, &w);
    ck_assert(test_util_run_until(&w.done, IO_TIMEOUT_US));
    delete_task("pod1", NULL);
    shutdown_daemon();
    ck_assert_int_eq(shim_test_run_delete(t, "pod1", b1, NULL, NULL), 0);
    shim_test_assert_clean(t);
}
END_TEST

/* The daemon killed with SIGKILL: delete alone removes VM/agent, mounts, state and socket. */
START_TEST(test_delete_after_crash)
{
    g_autofree char *bundle = shim_test_bundle(t, "c3", ARGS("sleep", "1000"), NULL, FALSE);
    shim_test_start(t, "c3", bundle);
    shim_test_create(t, "c3", bundle, NULL, FALSE);
    connect_task("c3");
    start_req("Start", "c3", NULL);
    g_autofree char *pod_dir = shim_test_pod_dir(t);
    ck_assert(g_file_test(pod_dir, G_FILE_TEST_IS_DIR));
    ck_assert_int_eq(kill((pid_t)t->shim_pid, SIGKILL), 0);
    ck_assert_msg(shim_test_wait_gone(t->shim_pid, SHIM_TEST_DAEMON_EXIT_S),
                  "the daemon %u outlived SIGKILL", t->shim_pid);
    g_clear_pointer(&t->client, ttrpc_client_free);
    gint64 ms;
    guint32 status;
    ck_assert_int_eq(shim_test_run_delete(t, "c3", bundle, &status, &ms), 0);
    g_print("delete after kill -9 of the daemon took %" G_GINT64_FORMAT " ms\n", ms);
    ck_assert_msg(ms < 5000, "delete took %" G_GINT64_FORMAT " ms", ms);
    ck_assert_uint_eq(status, 137);
    shim_test_assert_clean(t);
    ck_assert_int_eq(shim_test_run_delete(t, "c3", bundle, NULL, NULL), 0);
}
END_TEST

/* A new daemon for a pod whose daemon was killed: it first undoes what the dead one left (its
 * sandbox, mounts), then serves the new container. */
START_TEST(test_restart_after_crash)
{
    g_autofree char *b1 = shim_test_bundle(t, "r1", ARGS("sleep", "1000"), "podr", FALSE);
    g_autofree char *b2 = shim_test_bundle(t, "r2", ARGS("sh", "-c", "exit 9"), "podr", FALSE);
    ShimTestWait w;
    shim_test_start(t, "r1", b1);
    shim_test_create(t, "r1", b1, NULL, FALSE);
    guint32 old_sandbox = connect_task("r1");
    guint32 old_shim = t->shim_pid;
    start_req("Start", "r1", NULL);
    ck_assert_int_eq(kill((pid_t)old_shim, SIGKILL), 0);
    ck_assert_msg(shim_test_wait_gone(old_shim, SHIM_TEST_DAEMON_EXIT_S),
                  "the daemon %u outlived SIGKILL", old_shim);
    g_clear_pointer(&t->client, ttrpc_client_free);
    g_clear_pointer(&t->socket_path, g_free);

    shim_test_start(t, "r2", b2);
    shim_test_create(t, "r2", b2, NULL, FALSE);
    ck_assert_uint_ne(connect_task("r2"), old_sandbox);
    ck_assert_uint_ne(t->shim_pid, old_shim);
    ck_assert_msg(!shim_test_pid_alive(old_sandbox), "the dead shim's sandbox %u still runs",
                  old_sandbox);
    shim_test_wait_async(t, "r2", NULL, &w);
    start_req("Start", "r2", NULL);
    ck_assert(test_util_run_until(&w.done, IO_TIMEOUT_US));
    ck_assert_uint_eq(w.exit_status, 9);
    /* The old container is gone with its shim. */
    Containerd__Task__V2__StateRequest sr = CONTAINERD__TASK__V2__STATE_REQUEST__INIT;
    sr.id = "r1";
    g_autofree char *gone = shim_test_call_fail(t, "State", &sr.base, TTRPC_CODE_NOT_FOUND);
    delete_task("r2", NULL);
    shutdown_daemon();
    ck_assert_int_eq(shim_test_run_delete(t, "r2", b2, NULL, NULL), 0);
    ck_assert_int_eq(shim_test_run_delete(t, "r1", b1, NULL, NULL), 0);
    shim_test_assert_clean(t);
}
END_TEST

/* The sandbox dies under a running container: Wait returns, the exit is published, and the
 * container's processes are gone with it (a host agent's do not die with it by themselves). */
START_TEST(test_sandbox_death)
{
    g_autofree char *bundle = shim_test_bundle(t, "c4", ARGS("sleep", "1000"), NULL, FALSE);
    ShimTestWait w;
    shim_test_start(t, "c4", bundle);
    shim_test_create(t, "c4", bundle, NULL, FALSE);
    guint32 task_pid = connect_task("c4");
    shim_test_wait_async(t, "c4", NULL, &w);
    start_req("Start", "c4", NULL);
    Containerd__Task__V2__StateResponse *s = state("c4", NULL);
    /* containerd sees the sandbox's host pid for every process of the pod. */
    ck_assert_uint_eq(s->pid, task_pid);
    containerd__task__v2__state_response__free_unpacked(s, NULL);
    pid_t container_pid = first_pid("c4");
    gint64 killed = g_get_monotonic_time();
    ck_assert_int_eq(kill((pid_t)task_pid, SIGKILL), 0);
    ck_assert_msg(test_util_run_until(&w.done, 10 * G_USEC_PER_SEC), "Wait did not return");
    g_print("Wait returned %.0f ms after the sandbox was killed\n", (w.done_at - killed) / 1000.0);
    ck_assert_msg(w.done_at - killed < 3 * G_USEC_PER_SEC, "Wait took %" G_GINT64_FORMAT " us",
                  w.done_at - killed);
    ck_assert_uint_eq(w.exit_status, 137);
    /* Where the guest went wrong is in the shim's log before the pod's files go. */
    if (strcmp(kind, "libvirt") == 0) {
        /* Wait may return first: the agent's channel closes with QEMU, before the VM's death
         * ends the pod. */
        g_autofree char *tail = NULL;
        ck_assert_msg(shim_test_wait_log(bundle, "the guest console's last lines:", 10000, &tail),
                      "no console lines in the log, which ends: %s", tail);
    }
    shim_test_wait_events(t, 3, 5000);
    g_autofree char *topics = shim_test_topics(t);
    ck_assert_str_eq(topics, "/tasks/create /tasks/start /tasks/exit");
    delete_task("c4", NULL);
    shutdown_daemon();
    ck_assert_int_eq(shim_test_run_delete(t, "c4", bundle, NULL, NULL), 0);
    shim_test_assert_clean(t);
    /* Host mode: the pid is a host one (in a VM it is the guest's, and the VM is gone). */
    if (strcmp(kind, "none") == 0)
        ck_assert_msg(!shim_test_pid_alive((guint32)container_pid),
                      "the container's process %d outlived its agent", (int)container_pid);
}
END_TEST

/* A command that cannot start: Start fails with the agent's reason and the task is stopped, so
 * containerd can delete it. */
START_TEST(test_start_failure)
{
    g_autofree char *bundle = shim_test_bundle(t, "nocmd", ARGS("/no/such/command"), NULL, FALSE);
    ShimTestWait w;
    shim_test_start(t, "nocmd", bundle);
    shim_test_create(t, "nocmd", bundle, NULL, FALSE);
    connect_task("nocmd");
    shim_test_wait_async(t, "nocmd", NULL, &w);
    Containerd__Task__V2__StartRequest req = CONTAINERD__TASK__V2__START_REQUEST__INIT;
    req.id = "nocmd";
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) reply = shim_test_call(t, "Start", &req.base, &error);
    ck_assert_msg(!reply, "Start of a missing command succeeded");
    ck_assert_msg(strstr(error->message, "/no/such/command"), "%s", error->message);
    ck_assert(test_util_run_until(&w.done, 5 * G_USEC_PER_SEC));
    ck_assert_int_eq(status_of("nocmd", NULL), CONTAINERD__V1__TYPES__STATUS__STOPPED);
    delete_task("nocmd", NULL);
    shutdown_daemon();
    ck_assert_int_eq(shim_test_run_delete(t, "nocmd", bundle, NULL, NULL), 0);
    shim_test_assert_clean(t);
}
END_TEST

/* Events published while containerd's events service is down are retried and arrive in order
 * once it is back. */
START_TEST(test_events_retry)
{
    g_autofree char *bundle = shim_test_bundle(t, "ev", ARGS("sh", "-c", "exit 5"), NULL, FALSE);
    ShimTestWait w;
    shim_test_start(t, "ev", bundle);
    shim_test_create(t, "ev", bundle, NULL, FALSE);
    connect_task("ev");
    shim_test_wait_events(t, 1, 5000);
    shim_test_wait_async(t, "ev", NULL, &w);
    start_req("Start", "ev", NULL);
    ck_assert(test_util_run_until(&w.done, IO_TIMEOUT_US));
    ck_assert_uint_eq(w.exit_status, 5);
    shim_test_restart_events(t, 1500);
    delete_task("ev", NULL);
    shim_test_wait_events(t, 4, 15000);
    g_autofree char *topics = shim_test_topics(t);
    ck_assert_str_eq(topics, "/tasks/create /tasks/start /tasks/exit /tasks/delete");
    shutdown_daemon();
    ck_assert_int_eq(shim_test_run_delete(t, "ev", bundle, NULL, NULL), 0);
    shim_test_assert_clean(t);
}
END_TEST

/* The pod VM cannot boot (its kernel is missing): Create fails saying why, nothing is left. */
START_TEST(test_boot_failure)
{
    g_autofree char *conf = g_strdup_printf("[hypervisor]\naccelerator = tcg\n"
                                            "kernel = /nonexistent/vmlinux\ninitrd = %s\n",
                                            g_getenv("SC_GUEST_INITRD"));
    ck_assert(g_file_set_contents(t->config_path, conf, -1, NULL));
    g_autofree char *bundle = shim_test_bundle(t, "nokernel", ARGS("true"), NULL, FALSE);
    shim_test_start(t, "nokernel", bundle);
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) reply = shim_test_try_create(t, "nokernel", bundle, NULL, FALSE, &error);
    ck_assert_msg(!reply, "Create without a kernel succeeded");
    ck_assert_msg(strstr(error->message, "/nonexistent/vmlinux"), "%s", error->message);
    ck_assert_uint_eq(connect_task("nokernel"), 0);
    shutdown_daemon();
    ck_assert_int_eq(shim_test_run_delete(t, "nokernel", bundle, NULL, NULL), 0);
    shim_test_assert_clean(t);
}
END_TEST

static void create_expect(const char *id, const char *bundle, TtrpcCode code, const char *needle)
{
    Containerd__Task__V2__CreateTaskRequest req = CONTAINERD__TASK__V2__CREATE_TASK_REQUEST__INIT;
    req.id = (char *)id;
    req.bundle = (char *)bundle;
    g_autofree char *msg = shim_test_call_fail(t, "Create", &req.base, code);
    ck_assert_msg(strstr(msg, needle), "'%s' not in '%s'", needle, msg);
}

/* Raw bytes on a fresh connection to the shim socket. */
static void send_raw(const void *data, gsize len)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_strlcpy(sun.sun_path, t->socket_path, sizeof(sun.sun_path));
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
    close(fd);
}

START_TEST(test_bad_input)
{
    g_autofree char *bundle = shim_test_bundle(t, "good", ARGS("true"), NULL, FALSE);
    shim_test_start(t, "good", bundle);

    g_autofree char *version = NULL;
    ck_assert(g_spawn_sync(NULL, (char *[]){(char *)g_getenv("SC_SHIM"), "--version", NULL}, NULL,
                           0, NULL, NULL, &version, NULL, NULL, NULL));
    ck_assert_msg(strstr(version, "Version: " SC_VERSION), "%s", version);

    /* start with options it cannot read fails with a message, and starts nothing. */
    g_autofree char *output = NULL;
    ck_assert_int_eq(shim_test_run_start(t, "good", bundle, (const guint8 *)"\xff\xff", 2, &output),
                     1);
    ck_assert_msg(strstr(output, "runtime options"), "%s", output);
    /* A config file with a bad value: the error names the file, the key and what is allowed. */
    g_autofree char *bad_conf = g_build_filename(t->tmpdir, "bad.conf", NULL);
    ck_assert(g_file_set_contents(bad_conf, "[hypervisor]\nshared_fs = nfs\n", -1, NULL));
    g_autoptr(GBytes) bad_options = shim_test_options(bad_conf);
    g_autofree char *bad_output = NULL;
    ck_assert_int_eq(shim_test_run_start(t, "good", bundle, g_bytes_get_data(bad_options, NULL),
                                         g_bytes_get_size(bad_options), &bad_output),
                     1);
    ck_assert_msg(strstr(bad_output, bad_conf) && strstr(bad_output, "shared_fs") &&
                      strstr(bad_output, "virtio-fs, virtio-9p"),
                  "%s", bad_output);

    /* Malformed frames: a header announcing 16 MiB, and a request that is not protobuf. */
    send_raw("\x01\x00\x00\x00\x00\x00\x00\x01\x01\x00", 10);
    send_raw("\x00\x00\x00\x04\x00\x00\x00\x01\x01\x00\xff\xff\xff\xff", 14);
    /* A Create whose payload is not a CreateTaskRequest (field 1 as a varint). */
    Containerd__Task__V2__CreateTaskResponse wrong =
        CONTAINERD__TASK__V2__CREATE_TASK_RESPONSE__INIT;
    wrong.pid = 7;
    g_autofree char *m1 =
        shim_test_call_fail(t, "Create", &wrong.base, TTRPC_CODE_INVALID_ARGUMENT);

    /* Ids that could escape a path, and unknown ids. */
    create_expect("../x", bundle, TTRPC_CODE_INVALID_ARGUMENT, "invalid container id");
    create_expect("a/b", bundle, TTRPC_CODE_INVALID_ARGUMENT, "invalid container id");
    create_expect("..", bundle, TTRPC_CODE_INVALID_ARGUMENT, "invalid container id");
    Containerd__Task__V2__StateRequest sr = CONTAINERD__TASK__V2__STATE_REQUEST__INIT;
    sr.id = "nope";
    g_autofree char *m2 = shim_test_call_fail(t, "State", &sr.base, TTRPC_CODE_NOT_FOUND);
    g_autofree char *m3 = shim_test_call_fail(t, "Kill", &sr.base, TTRPC_CODE_NOT_FOUND);
    g_autofree char *m4 = shim_test_call_fail(t, "Wait", &sr.base, TTRPC_CODE_NOT_FOUND);
    g_autofree char *m5 = shim_test_call_fail(t, "Delete", &sr.base, TTRPC_CODE_NOT_FOUND);
    g_autofree char *m6 = shim_test_call_fail(t, "Start", &sr.base, TTRPC_CODE_NOT_FOUND);
    g_autofree char *m7 = shim_test_call_fail(t, "Checkpoint", &sr.base, TTRPC_CODE_UNIMPLEMENTED);
    ck_assert(strstr(m7, "checkpoint"));
    ck_assert_uint_eq(connect_task("nope"), 0);

    /* Bundles without config.json, or with one that is not JSON. */
    g_autofree char *empty = g_build_filename(t->tmpdir, "bundles", "empty", NULL);
    g_mkdir_with_parents(empty, 0700);
    create_expect("empty", empty, TTRPC_CODE_NOT_FOUND, "config.json");
    g_autofree char *broken = g_build_filename(t->tmpdir, "bundles", "broken", NULL);
    g_autofree char *broken_json = g_build_filename(broken, "config.json", NULL);
    g_mkdir_with_parents(broken, 0700);
    ck_assert(g_file_set_contents(broken_json, "{\"ociVersion\": ", -1, NULL));
    create_expect("broken", broken, TTRPC_CODE_INVALID_ARGUMENT, "not a JSON object");

    /* The shim still serves, and the failed Creates left nothing in its state or shared dir. */
    connect_task("good");
    g_autofree char *pod_dir = shim_test_pod_dir(t);
    g_autofree char *shared = g_build_filename(pod_dir, "shared", NULL);
    g_autofree char *state_path = g_build_filename(pod_dir, "state", NULL);
    g_autofree char *state_text = NULL;
    ck_assert(g_file_get_contents(state_path, &state_text, NULL, NULL));
    ck_assert_msg(!strstr(state_text, "[container "), "state: %s", state_text);
    g_autoptr(GDir) dir = g_dir_open(shared, 0, NULL);
    ck_assert_msg(!dir || !g_dir_read_name(dir), "'%s' is not empty", shared);
    shutdown_daemon();
    ck_assert_int_eq(shim_test_run_delete(t, "good", bundle, NULL, NULL), 0);
    shim_test_assert_clean(t);
}
END_TEST

/* A pod whose agent is the fake one in @fake_mode (kind none only). */
static void use_fake_agent(const char *fake_mode)
{
    g_clear_pointer(&t, shim_test_free);
    g_setenv("SC_FAKE_AGENT_MODE", fake_mode, TRUE);
    /* The fake agent answers at once or never: a short deadline keeps the tests short. */
    t = shim_test_new_with_agent("none", g_getenv("SC_FAKE_AGENT"), 2);
}

/* The agent's reply does not decode: Create fails, the pod ends, the shim keeps serving. */
START_TEST(test_agent_garbage)
{
    use_fake_agent("garbage");
    g_autofree char *bundle = shim_test_bundle(t, "g1", ARGS("true"), NULL, FALSE);
    shim_test_start(t, "g1", bundle);
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) reply = shim_test_try_create(t, "g1", bundle, NULL, FALSE, &error);
    ck_assert_msg(!reply, "Create succeeded on an undecodable agent reply");
    ck_assert_msg(g_error_matches(error, TTRPC_ERROR, TTRPC_CODE_INTERNAL), "%s", error->message);
    ck_assert_msg(strstr(error->message, "not a valid"), "%s", error->message);
    ck_assert_uint_eq(connect_task("g1"), 0);
    shutdown_daemon();
    ck_assert_int_eq(shim_test_run_delete(t, "g1", bundle, NULL, NULL), 0);
    shim_test_assert_clean(t);
}
END_TEST

/* A running container whose agent breaks (@fake_mode): the pod ends, Wait returns 137 within
 * @within_ms, and everything is cleaned up. */
static void agent_breaks_running_pod(const char *fake_mode, guint within_ms)
{
    use_fake_agent(fake_mode);
    g_autofree char *bundle = shim_test_bundle(t, "o1", ARGS("true"), NULL, FALSE);
    ShimTestFifos f;
    ShimTestWait w;
    create_and_wait("o1", bundle, &f, &w);
    start_req("Start", "o1", NULL);
    ck_assert_msg(test_util_run_until(&w.done, within_ms * G_TIME_SPAN_MILLISECOND),
                  "Wait did not return");
    ck_assert_uint_eq(w.exit_status, 137);
    /* Oversized output is never passed on. */
    g_autofree char *out = shim_test_read_all(f.out_fd, 2000);
    ck_assert_uint_eq(strlen(out), 0);
    ck_assert_uint_eq(delete_task("o1", NULL), 137);
    shutdown_daemon();
    ck_assert_int_eq(shim_test_run_delete(t, "o1", bundle, NULL, NULL), 0);
    shim_test_assert_clean(t);
    shim_test_fifos_close(&f);
}

/* Output that reaches the shim after the exit, later than the grace a pipe held open gets, is
 * still relayed before the exit is reported: WaitProcess said how much the process wrote. */
START_TEST(test_late_output_kept)
{
    use_fake_agent("late-output");
    g_autofree char *bundle = shim_test_bundle(t, "o1", ARGS("true"), NULL, FALSE);
    ShimTestFifos f;
    ShimTestWait w;
    create_and_wait("o1", bundle, &f, &w);
    start_req("Start", "o1", NULL);
    ck_assert_msg(test_util_run_until(&w.done, 15 * G_USEC_PER_SEC), "Wait did not return");
    ck_assert_uint_eq(w.exit_status, 0);
    g_autofree char *out = shim_test_read_all(f.out_fd, 2000);
    ck_assert_str_eq(out, "late\n");
    ck_assert_uint_eq(delete_task("o1", NULL), 0);
    shutdown_daemon();
    ck_assert_int_eq(shim_test_run_delete(t, "o1", bundle, NULL, NULL), 0);
    shim_test_assert_clean(t);
    shim_test_fifos_close(&f);
}
END_TEST

START_TEST(test_agent_oversized_read)
{
    agent_breaks_running_pod("oversized", 5000);
}
END_TEST

START_TEST(test_agent_unknown_id)
{
    agent_breaks_running_pod("ghost-oom", 5000);
}
END_TEST

/* An agent that stops answering without dying: the periodic health check (every 5 s, 2 s
 * deadline here) ends the pod. */
START_TEST(test_agent_hangs)
{
    agent_breaks_running_pod("hang", 15000);
}
END_TEST

/* The last container's Delete stops the sandbox; a host agent that ignores SIGTERM keeps it
 * stopping for the 2 s grace before its SIGKILL. The shim serves meanwhile: the teardown waits
 * on the agent's pidfd from the event loop, it does not block it. */
#define SERVED_WHILE_STOPPING_MS 1000
START_TEST(test_served_while_sandbox_stops)
{
    use_fake_agent("slow-exit");
    g_autofree char *bundle = shim_test_bundle(t, "s1", ARGS("true"), NULL, FALSE);
    shim_test_start(t, "s1", bundle);
    shim_test_create(t, "s1", bundle, NULL, FALSE);
    delete_task("s1", NULL);
    gint64 asked = g_get_monotonic_time();
    connect_task("s1");
    gint64 served_ms = (g_get_monotonic_time() - asked) / 1000;
    ck_assert_msg(served_ms < SERVED_WHILE_STOPPING_MS,
                  "Connect took %" G_GINT64_FORMAT " ms while the sandbox stopped", served_ms);
    shutdown_daemon();
    ck_assert_int_eq(shim_test_run_delete(t, "s1", bundle, NULL, NULL), 0);
    shim_test_assert_clean(t);
}
END_TEST

int main(int argc, char **argv)
{
    kind = argc > 1 ? argv[1] : "none";
    shim_test_require(kind);
    double timeout = strcmp(kind, "libvirt") == 0 ? 600 : 120;
    Suite *s = suite_create("shim-task");
    TCase *tc = tcase_create(kind);
    tcase_set_timeout(tc, timeout);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_lifecycle);
    tcase_add_test(tc, test_large_output);
    tcase_add_test(tc, test_created_kill_and_grouping);
    tcase_add_test(tc, test_idle_wakeups);
    tcase_add_test(tc, test_delete_after_crash);
    tcase_add_test(tc, test_restart_after_crash);
    tcase_add_test(tc, test_sandbox_death);
    tcase_add_test(tc, test_bad_input);
    tcase_add_test(tc, test_start_failure);
    tcase_add_test(tc, test_events_retry);
    if (strcmp(kind, "libvirt") == 0)
        tcase_add_test(tc, test_boot_failure);
    if (strcmp(kind, "none") == 0 && g_getenv("SC_FAKE_AGENT")) {
        tcase_add_test(tc, test_agent_garbage);
        tcase_add_test(tc, test_agent_oversized_read);
        tcase_add_test(tc, test_late_output_kept);
        tcase_add_test(tc, test_agent_unknown_id);
        tcase_add_test(tc, test_agent_hangs);
        tcase_add_test(tc, test_served_while_sandbox_stops);
    }
    suite_add_tcase(s, tc);
    TCase *running_tc = tcase_create("running");
    tcase_set_timeout(running_tc, timeout);
    tcase_add_checked_fixture(running_tc, running_setup, running_teardown);
    tcase_add_test(running_tc, test_running_exec_stdin);
    tcase_add_test(running_tc, test_running_exec_terminal);
    tcase_add_test(running_tc, test_running_update_stats);
    tcase_add_test(running_tc, test_running_pause_resume);
    tcase_add_test(running_tc, test_running_kill);
    suite_add_tcase(s, running_tc);
    /* Without a fork per test, a failed assertion still runs the teardown, which removes the
     * pod (daemon, agent or VM, mounts, sockets) through `delete`. */
    int status = test_util_run(s, CK_NOFORK);
    running_teardown();
    return status;
}
