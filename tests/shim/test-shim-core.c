/* The shim's core driven directly, in this process: a pod (ShimPod) and its containers
 * (ShimContainers) on a host-mode sandbox whose agent is the fake one in "cat" mode (every process
 * echoes its stdin). Requests are the core's calls with a reply callback, no ttrpc in between;
 * containerd appears only as the events service the pod publishes to (shim-test.c). Covers the
 * process state machine, stdin/stdout through fifos, exit statuses, events, the pod's end, and
 * the Task service's table of status codes. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "shim-config.h"
#include "shim-container.h"
#include "shim-pod.h"
#include "shim-task-service.h"
#include "shim-test.h"
#include "test-util.h"

#define REPLY_TIMEOUT_MS 10000
#define REPLY_TIMEOUT_US (REPLY_TIMEOUT_MS * G_TIME_SPAN_MILLISECOND)
/* The guest pid the fake agent gives an init process. */
#define CAT_INIT_PID 42

static ShimTest *t;
static GMainLoop *loop;
static ShimPod *pod;
static ShimContainers *containers;

static void setup(void)
{
    g_autoptr(GError) error = NULL;
    g_setenv("SC_FAKE_AGENT_MODE", "cat", TRUE);
    t = shim_test_new_with_agent("none", g_getenv("SC_FAKE_AGENT"), 2);
    g_setenv("TTRPC_ADDRESS", t->events_socket, TRUE);
    ShimConfig *config = shim_config_load(t->config_path, &error);
    ck_assert_msg(config, "%s", error ? error->message : "");
    /* The pod's run directory is named after its socket, as containerd's hash: unique per test. */
    g_autofree char *name = g_compute_checksum_for_string(G_CHECKSUM_SHA256, t->tmpdir, -1);
    g_autofree char *socket_path = g_build_filename(t->tmpdir, name, NULL);
    loop = g_main_loop_new(NULL, FALSE);
    pod = shim_pod_new(t->namespace, socket_path, config, loop, &error);
    ck_assert_msg(pod, "%s", error ? error->message : "");
    containers = shim_containers_new(pod);
}

static void teardown(void)
{
    g_clear_pointer(&containers, shim_containers_free);
    g_clear_pointer(&pod, shim_pod_free);
    g_clear_pointer(&loop, g_main_loop_unref);
    g_clear_pointer(&t, shim_test_free);
}

/* ---- replies ------------------------------------------------------------------------------- */

typedef struct {
    guint calls;
    gboolean done;
    ProtobufCMessage *reply; /* a copy; NULL for an empty reply */
    GError *error;
} Reply;

static void reply_clear(Reply *r)
{
    g_clear_pointer(&r->reply, ttrpc_message_free);
    g_clear_error(&r->error);
    memset(r, 0, sizeof(*r));
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Reply, reply_clear)

static void on_reply(const ProtobufCMessage *reply, const GError *error, gpointer user_data)
{
    Reply *r = user_data;
    r->calls++;
    r->done = TRUE;
    if (error) {
        r->error = g_error_copy(error);
    } else if (reply) {
        r->reply = ttrpc_message_copy(reply);
    }
}

static void wait_reply(Reply *r, const char *what)
{
    ck_assert_msg(test_util_run_until(&r->done, REPLY_TIMEOUT_US), "%s: no reply", what);
    ck_assert_msg(r->calls == 1, "%s: answered %u times", what, r->calls);
}

/* The reply of a request that must succeed (NULL: it was empty), which @r keeps. */
static gpointer expect_ok(Reply *r, const char *what)
{
    wait_reply(r, what);
    ck_assert_msg(!r->error, "%s: %s", what, r->error->message);
    return r->reply;
}

/* A request that must fail with SHIM_ERROR @code, sent to containerd as @wire, saying @needle. */
static void expect_fail(Reply *r, const char *what, ShimErrorCode code, TtrpcCode wire,
                        const char *needle)
{
    wait_reply(r, what);
    ck_assert_msg(r->error, "%s succeeded", what);
    ck_assert_msg(g_error_matches(r->error, SHIM_ERROR, (gint)code), "%s: %s (%s %d)", what,
                  r->error->message, g_quark_to_string(r->error->domain), r->error->code);
    ck_assert_int_eq(shim_task_service_code(r->error), wire);
    ck_assert_msg(strstr(r->error->message, needle), "%s: '%s' does not say '%s'", what,
                  r->error->message, needle);
}

/* ---- requests ------------------------------------------------------------------------------ */

static void create_async(const char *id, ShimTestFifos *f, Reply *r)
{
    static const char *const args[] = {"/bin/cat", NULL};
    g_autofree char *bundle = shim_test_bundle(t, id, args, NULL, FALSE);
    shim_container_create(containers, shim_test_create_request(t, id, bundle, f, FALSE), on_reply,
                          r);
}

static ShimContainer *container(const char *id)
{
    ShimContainer *c = shim_containers_lookup(containers, id);
    ck_assert_msg(c, "no container '%s'", id);
    return c;
}

static ShimProcess *process(const char *id, const char *exec_id)
{
    ShimProcess *p = shim_container_lookup(container(id), exec_id);
    ck_assert_msg(p, "no process '%s' of '%s'", exec_id, id);
    return p;
}

/* Create and Start of @id with stdin (@f gets its fifos); returns the host pid both reported. */
static guint32 run_container(const char *id, ShimTestFifos *f)
{
    g_auto(Reply) created = {0};
    g_auto(Reply) started = {0};
    shim_test_fifos(t, id, TRUE, f);
    create_async(id, f, &created);
    Containerd__Task__V2__CreateTaskResponse *cr = expect_ok(&created, "Create");
    shim_process_start(process(id, ""), on_reply, &started);
    Containerd__Task__V2__StartResponse *sr = expect_ok(&started, "Start");
    ck_assert_uint_gt(cr->pid, 0);
    ck_assert_uint_eq(sr->pid, cr->pid);
    shim_test_open_stdin(f);
    return cr->pid;
}

static Containerd__Task__V2__StateResponse *state(const char *id, const char *exec_id, Reply *r)
{
    shim_container_state(container(id), process(id, exec_id), on_reply, r);
    return expect_ok(r, "State");
}

/* Kills @exec_id of @id with @signal, which must succeed. */
static void kill_process(const char *id, const char *exec_id, guint32 signal)
{
    g_auto(Reply) killed = {0};
    shim_process_kill(process(id, exec_id), signal, FALSE, on_reply, &killed);
    ck_assert_ptr_null(expect_ok(&killed, "Kill"));
}

/* Deletes @exec_id of @id (or @id itself), which exited with @status. */
static void delete_process(const char *id, const char *exec_id, guint32 status)
{
    g_auto(Reply) deleted = {0};
    shim_container_delete(containers, container(id), exec_id, on_reply, &deleted);
    Containerd__Task__V2__DeleteResponse *dr = expect_ok(&deleted, "Delete");
    ck_assert_uint_eq(dr->exit_status, status);
    ck_assert_ptr_nonnull(dr->exited_at);
}

static void assert_topics(const char *expected)
{
    guint n = 1;
    for (const char *s = expected; *s; s++)
        n += *s == ' ';
    shim_test_wait_events(t, n, REPLY_TIMEOUT_MS);
    g_autofree char *topics = shim_test_topics(t);
    ck_assert_str_eq(topics, expected);
}

/* ---- tests --------------------------------------------------------------------------------- */

START_TEST(test_init_lifecycle)
{
    ShimTestFifos f;
    g_auto(Reply) st1 = {0};
    g_auto(Reply) pids = {0};
    g_auto(Reply) waited = {0};
    g_auto(Reply) st2 = {0};
    g_auto(Reply) again = {0};

    guint32 pid = run_container("c1", &f);
    ck_assert_uint_eq(pid, shim_pod_task_pid(pod));
    Containerd__Task__V2__StateResponse *s = state("c1", "", &st1);
    ck_assert_str_eq(s->id, "c1");
    ck_assert_int_eq(s->status, CONTAINERD__V1__TYPES__STATUS__RUNNING);
    ck_assert_uint_eq(s->pid, pid);
    ck_assert_str_eq(s->stdout, f.stdout_path);
    assert_topics("/tasks/create /tasks/start");

    /* stdin reaches the agent and its echo our stdout fifo. */
    ck_assert_int_eq(write(f.in_fd, "hello\n", 6), 6);
    g_autofree char *out = shim_test_read_until(f.out_fd, "hello\n", REPLY_TIMEOUT_MS);
    ck_assert_str_eq(out, "hello\n");

    shim_container_pids(containers, container("c1"), on_reply, &pids);
    Containerd__Task__V2__PidsResponse *pr = expect_ok(&pids, "Pids");
    ck_assert_uint_eq(pr->n_processes, 1);
    ck_assert_uint_eq(pr->processes[0]->pid, CAT_INIT_PID);

    /* Wait is answered by the exit, not before. */
    shim_process_wait(process("c1", ""), on_reply, &waited);
    ck_assert(!waited.done);
    kill_process("c1", "", SIGTERM);
    Containerd__Task__V2__WaitResponse *wr = expect_ok(&waited, "Wait");
    ck_assert_uint_eq(wr->exit_status, 128 + SIGTERM);
    ck_assert_ptr_nonnull(wr->exited_at);
    s = state("c1", "", &st2);
    ck_assert_int_eq(s->status, CONTAINERD__V1__TYPES__STATUS__STOPPED);
    ck_assert_uint_eq(s->exit_status, 128 + SIGTERM);
    assert_topics("/tasks/create /tasks/start /tasks/exit");
    g_autoptr(ProtobufCMessage) exit_msg =
        shim_test_event(t, 2, &containerd__events__task_exit__descriptor);
    const Containerd__Events__TaskExit *ev = (const void *)exit_msg;
    ck_assert_str_eq(ev->container_id, "c1");
    ck_assert_str_eq(ev->id, "c1");
    ck_assert_uint_eq(ev->exit_status, 128 + SIGTERM);

    shim_process_kill(process("c1", ""), SIGKILL, FALSE, on_reply, &again);
    expect_fail(&again, "Kill after the exit", SHIM_ERROR_NOT_FOUND, TTRPC_CODE_NOT_FOUND,
                "already finished");
    delete_process("c1", "", 128 + SIGTERM);
    ck_assert_ptr_null(shim_containers_lookup(containers, "c1"));
    ck_assert_uint_eq(shim_containers_count(containers), 0);
    assert_topics("/tasks/create /tasks/start /tasks/exit /tasks/delete");
    shim_test_fifos_close(&f);
}
END_TEST

/* An exec with its own fifos: its stdin's EOF ends it with status 0 once its output is out. */
START_TEST(test_exec)
{
    ShimTestFifos f, e;
    g_auto(Reply) bad = {0};
    g_auto(Reply) added = {0};
    g_auto(Reply) twice = {0};
    g_auto(Reply) started = {0};
    g_auto(Reply) waited = {0};

    run_container("c1", &f);
    const char *process_json = "{\"args\": [\"/bin/cat\"], \"cwd\": \"/\"}";
    Google__Protobuf__Any spec = GOOGLE__PROTOBUF__ANY__INIT;
    spec.type_url = "types.containerd.io/opencontainers/runtime-spec/1/Process";
    spec.value.data = (guint8 *)process_json;
    spec.value.len = strlen(process_json);
    shim_test_fifos(t, "e1", TRUE, &e);
    Containerd__Task__V2__ExecProcessRequest req = CONTAINERD__TASK__V2__EXEC_PROCESS_REQUEST__INIT;
    req.id = "c1";
    req.exec_id = "../e1";
    req.stdin = e.stdin_path;
    req.stdout = e.stdout_path;
    req.stderr = e.stderr_path;
    req.spec = &spec;
    shim_container_exec(containers, container("c1"), &req, on_reply, &bad);
    expect_fail(&bad, "Exec '../e1'", SHIM_ERROR_INVALID, TTRPC_CODE_INVALID_ARGUMENT,
                "invalid exec id");
    req.exec_id = "e1";
    shim_container_exec(containers, container("c1"), &req, on_reply, &added);
    ck_assert_ptr_null(expect_ok(&added, "Exec"));
    shim_container_exec(containers, container("c1"), &req, on_reply, &twice);
    expect_fail(&twice, "Exec 'e1' again", SHIM_ERROR_EXISTS, TTRPC_CODE_ALREADY_EXISTS,
                "already exists");

    shim_process_start(process("c1", "e1"), on_reply, &started);
    expect_ok(&started, "Start e1");
    assert_topics("/tasks/create /tasks/start /tasks/exec-added /tasks/exec-started");
    shim_test_open_stdin(&e);
    ck_assert_int_eq(write(e.in_fd, "ping\n", 5), 5);
    g_autofree char *out = shim_test_read_until(e.out_fd, "ping\n", REPLY_TIMEOUT_MS);
    ck_assert_str_eq(out, "ping\n");

    /* CloseIO: the shim's hold on the fifo goes, ours too, so the process reads EOF. */
    shim_process_wait(process("c1", "e1"), on_reply, &waited);
    shim_process_close_stdin(process("c1", "e1"));
    close(e.in_fd);
    e.in_fd = -1;
    Containerd__Task__V2__WaitResponse *wr = expect_ok(&waited, "Wait e1");
    ck_assert_uint_eq(wr->exit_status, 0);
    g_autofree char *rest = shim_test_read_all(e.out_fd, REPLY_TIMEOUT_MS);
    ck_assert_str_eq(rest, "");
    delete_process("c1", "e1", 0);
    ck_assert_ptr_null(shim_container_lookup(container("c1"), "e1"));
    /* The container's init runs on. */
    ck_assert_int_eq(shim_process_get_status(process("c1", "")), SHIM_PROCESS_RUNNING);
    kill_process("c1", "", SIGKILL);
    delete_process("c1", "", 128 + SIGKILL);
    shim_test_fifos_close(&e);
    shim_test_fifos_close(&f);
}
END_TEST

/* A process killed before it started stops at once; nothing reached the agent. */
START_TEST(test_kill_created)
{
    ShimTestFifos f;
    g_auto(Reply) created = {0};
    g_auto(Reply) waited = {0};
    g_auto(Reply) st = {0};

    shim_test_fifos(t, "c1", FALSE, &f);
    create_async("c1", &f, &created);
    expect_ok(&created, "Create");
    ck_assert_int_eq(state("c1", "", &st)->status, CONTAINERD__V1__TYPES__STATUS__CREATED);
    kill_process("c1", "", SIGKILL);
    shim_process_wait(process("c1", ""), on_reply, &waited);
    Containerd__Task__V2__WaitResponse *wr = expect_ok(&waited, "Wait");
    ck_assert_uint_eq(wr->exit_status, 128 + SIGKILL);
    delete_process("c1", "", 128 + SIGKILL);
    assert_topics("/tasks/create /tasks/exit /tasks/delete");
    shim_test_fifos_close(&f);
}
END_TEST

START_TEST(test_pause_resume)
{
    ShimTestFifos f;
    g_auto(Reply) paused = {0};
    g_auto(Reply) st1 = {0};
    g_auto(Reply) frozen = {0};
    g_auto(Reply) resumed = {0};
    g_auto(Reply) st2 = {0};

    run_container("c1", &f);
    shim_container_pause(containers, container("c1"), TRUE, on_reply, &paused);
    expect_ok(&paused, "Pause");
    ck_assert_int_eq(state("c1", "", &st1)->status, CONTAINERD__V1__TYPES__STATUS__PAUSED);
    /* A frozen container cannot take a new process. */
    Google__Protobuf__Any spec = GOOGLE__PROTOBUF__ANY__INIT;
    spec.value.data = (guint8 *)"{}";
    spec.value.len = 2;
    Containerd__Task__V2__ExecProcessRequest req = CONTAINERD__TASK__V2__EXEC_PROCESS_REQUEST__INIT;
    req.id = "c1";
    req.exec_id = "e1";
    req.spec = &spec;
    shim_container_exec(containers, container("c1"), &req, on_reply, &frozen);
    expect_fail(&frozen, "Exec while paused", SHIM_ERROR_STATE, TTRPC_CODE_FAILED_PRECONDITION,
                "is paused");
    shim_container_pause(containers, container("c1"), FALSE, on_reply, &resumed);
    expect_ok(&resumed, "Resume");
    ck_assert_int_eq(state("c1", "", &st2)->status, CONTAINERD__V1__TYPES__STATUS__RUNNING);
    assert_topics("/tasks/create /tasks/start /tasks/paused /tasks/resumed");
    kill_process("c1", "", SIGKILL);
    delete_process("c1", "", 128 + SIGKILL);
    shim_test_fifos_close(&f);
}
END_TEST

/* Requests the core refuses, each with its own code and the status containerd gets for it. */
START_TEST(test_refused)
{
    ShimTestFifos f;
    g_auto(Reply) bad_id = {0};
    g_auto(Reply) no_spec = {0};
    g_auto(Reply) checkpoint = {0};
    g_auto(Reply) twice = {0};
    g_auto(Reply) restart = {0};
    g_auto(Reply) running = {0};
    g_auto(Reply) no_exec = {0};

    create_async("../x", NULL, &bad_id);
    expect_fail(&bad_id, "Create '../x'", SHIM_ERROR_INVALID, TTRPC_CODE_INVALID_ARGUMENT,
                "invalid container id");
    /* A bundle without config.json: not found, from the file's own error. */
    g_autofree char *empty = g_build_filename(t->tmpdir, "empty", NULL);
    g_mkdir(empty, 0700);
    shim_container_create(containers, shim_test_create_request(t, "empty", empty, NULL, FALSE),
                          on_reply, &no_spec);
    wait_reply(&no_spec, "Create without config.json");
    ck_assert_ptr_nonnull(no_spec.error);
    ck_assert_int_eq(shim_task_service_code(no_spec.error), TTRPC_CODE_NOT_FOUND);
    ck_assert_ptr_null(shim_containers_lookup(containers, "empty"));

    g_autofree char *bundle =
        shim_test_bundle(t, "cp", (const char *const[]){"/bin/cat", NULL}, NULL, FALSE);
    Containerd__Task__V2__CreateTaskRequest *req =
        shim_test_create_request(t, "cp", bundle, NULL, FALSE);
    /* It replaces the static empty default; protobuf-c frees it with free(), as g_free does. */
    req->checkpoint = g_strdup("/checkpoints/cp");
    shim_container_create(containers, req, on_reply, &checkpoint);
    expect_fail(&checkpoint, "Create from a checkpoint", SHIM_ERROR_UNSUPPORTED,
                TTRPC_CODE_UNIMPLEMENTED, "checkpoint");

    run_container("c1", &f);
    create_async("c1", NULL, &twice);
    expect_fail(&twice, "Create 'c1' again", SHIM_ERROR_EXISTS, TTRPC_CODE_ALREADY_EXISTS,
                "already exists");
    shim_process_start(process("c1", ""), on_reply, &restart);
    expect_fail(&restart, "Start again", SHIM_ERROR_STATE, TTRPC_CODE_FAILED_PRECONDITION,
                "already started");
    shim_container_delete(containers, container("c1"), "", on_reply, &running);
    expect_fail(&running, "Delete while running", SHIM_ERROR_STATE, TTRPC_CODE_FAILED_PRECONDITION,
                "cannot delete a running process");
    shim_container_delete(containers, container("c1"), "e9", on_reply, &no_exec);
    expect_fail(&no_exec, "Delete of an unknown exec", SHIM_ERROR_NOT_FOUND, TTRPC_CODE_NOT_FOUND,
                "not found");
    kill_process("c1", "", SIGKILL);
    delete_process("c1", "", 128 + SIGKILL);
    shim_test_fifos_close(&f);
}
END_TEST

/* The agent dies: every process exits with 137 at once, the pod takes no new container, and
 * containerd can still delete what it had. */
START_TEST(test_pod_end)
{
    ShimTestFifos f;
    g_auto(Reply) waited = {0};
    g_auto(Reply) refused = {0};

    guint32 pid = run_container("c1", &f);
    shim_process_wait(process("c1", ""), on_reply, &waited);
    ck_assert_int_eq(kill((pid_t)pid, SIGKILL), 0);
    Containerd__Task__V2__WaitResponse *wr = expect_ok(&waited, "Wait");
    ck_assert_uint_eq(wr->exit_status, 137);
    ck_assert_int_eq(shim_pod_get_phase(pod), SHIM_POD_ENDED);
    create_async("c2", NULL, &refused);
    expect_fail(&refused, "Create in an ended pod", SHIM_ERROR_STATE,
                TTRPC_CODE_FAILED_PRECONDITION, "the pod ended");
    delete_process("c1", "", 137);
    assert_topics("/tasks/create /tasks/start /tasks/exit /tasks/delete");
    shim_test_fifos_close(&f);
}
END_TEST

/* The one table from the shim's codes to status codes, and what passes through it. */
START_TEST(test_status_codes)
{
    static const TtrpcCode expected[SHIM_ERROR_LAST] = {
        [SHIM_ERROR_INVALID] = TTRPC_CODE_INVALID_ARGUMENT,
        [SHIM_ERROR_NOT_FOUND] = TTRPC_CODE_NOT_FOUND,
        [SHIM_ERROR_EXISTS] = TTRPC_CODE_ALREADY_EXISTS,
        [SHIM_ERROR_STATE] = TTRPC_CODE_FAILED_PRECONDITION,
        [SHIM_ERROR_UNSUPPORTED] = TTRPC_CODE_UNIMPLEMENTED,
        [SHIM_ERROR_EXHAUSTED] = TTRPC_CODE_RESOURCE_EXHAUSTED,
        [SHIM_ERROR_UNAVAILABLE] = TTRPC_CODE_UNAVAILABLE,
        [SHIM_ERROR_ABORTED] = TTRPC_CODE_ABORTED,
        [SHIM_ERROR_CANCELLED] = TTRPC_CODE_CANCELLED,
        [SHIM_ERROR_FAILED] = TTRPC_CODE_INTERNAL,
    };
    for (int code = 0; code < SHIM_ERROR_LAST; code++) {
        g_autoptr(GError) error = g_error_new_literal(SHIM_ERROR, code, "x");
        ck_assert_msg(expected[code] != TTRPC_CODE_OK, "no status for shim code %d", code);
        ck_assert_int_eq(shim_task_service_code(error), expected[code]);
    }
    g_autoptr(GError) agent = g_error_new_literal(TTRPC_ERROR, TTRPC_CODE_DEADLINE_EXCEEDED, "x");
    ck_assert_int_eq(shim_task_service_code(agent), TTRPC_CODE_DEADLINE_EXCEEDED);
    g_autoptr(GError) noent = g_error_new_literal(G_FILE_ERROR, G_FILE_ERROR_NOENT, "x");
    ck_assert_int_eq(shim_task_service_code(noent), TTRPC_CODE_NOT_FOUND);
    g_autoptr(GError) exists = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_EXISTS, "x");
    ck_assert_int_eq(shim_task_service_code(exists), TTRPC_CODE_ALREADY_EXISTS);
    g_autoptr(GError) other = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_FAILED, "x");
    ck_assert_int_eq(shim_task_service_code(other), TTRPC_CODE_UNKNOWN);
    g_autoptr(GError) out_of_range = g_error_new_literal(SHIM_ERROR, SHIM_ERROR_LAST, "x");
    ck_assert_int_eq(shim_task_service_code(out_of_range), TTRPC_CODE_UNKNOWN);
}
END_TEST

int main(void)
{
    shim_test_require("none");
    test_util_require(g_getenv("SC_FAKE_AGENT") && access(g_getenv("SC_FAKE_AGENT"), X_OK) == 0,
                      "SC_FAKE_AGENT does not name the fake agent");
    Suite *s = suite_create("shim-core");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_init_lifecycle);
    tcase_add_test(tc, test_exec);
    tcase_add_test(tc, test_kill_created);
    tcase_add_test(tc, test_pause_resume);
    tcase_add_test(tc, test_refused);
    tcase_add_test(tc, test_pod_end);
    tcase_add_test(tc, test_status_codes);
    suite_add_tcase(s, tc);
    /* Without a fork per test, a failed assertion still runs the teardown, which ends the pod
     * (fake agent, mounts, run directory). */
    return test_util_run(s, CK_NOFORK);
}
