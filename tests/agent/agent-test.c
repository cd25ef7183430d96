/* Test harness for the host-mode agent. Every failure here aborts the test (Check assertions),
 * and the agent is started with PR_SET_PDEATHSIG so that a failed test does not leave it behind:
 * on SIGTERM it destroys its containers and removes its cgroup. */
#include "agent-test.h"
#include "oci-test-mounts.h"

#include <check.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CALL_TIMEOUT_US (60 * G_USEC_PER_SEC)
#define START_TIMEOUT_US (10 * G_USEC_PER_SEC)
#define BUSYBOX "/bin/busybox"

void agent_test_require(void)
{
    const char *agent = g_getenv("SC_AGENT");

    if (geteuid() != 0)
        test_util_skip("the agent tests create containers and need root");
    if (access(BUSYBOX, X_OK) != 0)
        test_util_skip(BUSYBOX " is missing (Debian package busybox-static)");
    if (agent == NULL || access(agent, X_OK) != 0)
        test_util_skip("SC_AGENT does not name the secure-agent binary");
}

static void test_write(const char *rootfs, const char *name, const char *text)
{
    g_autofree char *path = g_build_filename(rootfs, name, NULL);
    g_autoptr(GError) error = NULL;

    ck_assert_msg(g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_NONE, 0644, &error),
                  "%s", error ? error->message : "");
}

void agent_test_build_rootfs(const char *rootfs)
{
    static const char *const dirs[] = {"bin", "proc", "sys", "dev", "tmp", "etc", "root", "mnt"};
    g_autofree char *busybox = NULL;
    g_autofree char *list = NULL;
    g_autofree char *copy = g_build_filename(rootfs, "bin", "busybox", NULL);
    g_autoptr(GError) error = NULL;
    gsize len = 0;
    g_auto(GStrv) applets = NULL;

    for (gsize i = 0; i < G_N_ELEMENTS(dirs); i++) {
        g_autofree char *dir = g_build_filename(rootfs, dirs[i], NULL);
        ck_assert_int_eq(g_mkdir_with_parents(dir, 0755), 0);
    }
    ck_assert(g_file_get_contents(BUSYBOX, &busybox, &len, &error));
    ck_assert(g_file_set_contents_full(copy, busybox, len, G_FILE_SET_CONTENTS_NONE, 0755, &error));
    ck_assert(g_spawn_sync(NULL, (char *[]){BUSYBOX, "--list", NULL}, NULL, 0, NULL, NULL, &list,
                           NULL, NULL, &error));
    applets = g_strsplit(g_strstrip(list), "\n", -1);
    for (char **applet = applets; *applet != NULL; applet++) {
        g_autofree char *link = g_build_filename(rootfs, "bin", *applet, NULL);
        if (strcmp(*applet, "busybox") != 0)
            ck_assert_int_eq(symlink("busybox", link), 0);
    }
    test_write(rootfs, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
    test_write(rootfs, "etc/group", "root:x:0:\n");
}

/* Every test's temp dir lives in this one, made by agent_test_main() in the runner process, so
 * that the runner can stop and remove what a failed test left (Check ends a failed test with
 * _exit(), which runs no cleanup). */
static char *sweep_dir;

/* The cgroup a host-mode agent @pid makes for its containers, or NULL while there is none. */
static char *test_find_cgroup_root(GPid pid)
{
    static const char *const cgroup_mounts[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};

    for (gsize i = 0; i < G_N_ELEMENTS(cgroup_mounts); i++) {
        g_autofree char *dir = g_strdup_printf("%s/secure-agent-%d", cgroup_mounts[i], (int)pid);

        if (g_file_test(dir, G_FILE_TEST_IS_DIR))
            return g_steal_pointer(&dir);
    }
    return NULL;
}

/* Writes "1" to cgroup.kill of @dir and of every cgroup below it, then removes them. */
static void test_kill_cgroups(const char *dir)
{
    g_autoptr(GDir) children = g_dir_open(dir, 0, NULL);
    g_autofree char *kill_file = g_build_filename(dir, "cgroup.kill", NULL);
    const char *name;

    /* In place: g_file_set_contents() would try a temp file, which cgroupfs refuses. */
    g_file_set_contents_full(kill_file, "1", 1, G_FILE_SET_CONTENTS_NONE, 0644, NULL);
    while (children != NULL && (name = g_dir_read_name(children)) != NULL) {
        g_autofree char *child = g_build_filename(dir, name, NULL);

        if (g_file_test(child, G_FILE_TEST_IS_DIR))
            test_kill_cgroups(child);
    }
    for (int i = 0; i < 500 && rmdir(dir) < 0 && errno == EBUSY; i++)
        g_usleep(10000);
}

/* Stops the agent a failed test left in @dir (politely first: it then removes its containers),
 * kills whatever is still in its cgroups, and removes @dir. */
static void test_sweep_one(const char *dir)
{
    g_autofree char *pid_file = g_build_filename(dir, "agent.pid", NULL);
    g_autofree char *text = NULL;
    g_autofree char *cgroup_root = NULL;
    GPid pid;

    if (g_file_get_contents(pid_file, &text, NULL, NULL) && (pid = atoi(text)) > 0) {
        kill(pid, SIGTERM);
        for (int i = 0; i < 500 && kill(pid, 0) == 0; i++)
            g_usleep(10000);
        kill(pid, SIGKILL);
        cgroup_root = test_find_cgroup_root(pid);
        if (cgroup_root != NULL)
            test_kill_cgroups(cgroup_root);
    }
    if (!agent_test_remove_tree(dir))
        fprintf(stderr, "could not remove '%s'\n", dir);
}

/* Sweeps every test dir still there; returns how many there were. */
static guint test_sweep(void)
{
    g_autoptr(GDir) dir = g_dir_open(sweep_dir, 0, NULL);
    const char *name;
    guint n = 0;

    while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
        g_autofree char *path = g_build_filename(sweep_dir, name, NULL);

        test_sweep_one(path);
        n++;
    }
    return n;
}

static void test_child_setup(gpointer data)
{
    (void)data;
    /* A test that fails exits at once: the agent then cleans up and goes too. Its own process
     * group keeps it out of the SIGKILL that Check sends the test's group. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    setpgid(0, 0);
}

AgentTest *agent_test_start(void)
{
    AgentTest *test = g_new0(AgentTest, 1);
    g_autoptr(GError) error = NULL;
    g_autofree char *listen = NULL;
    g_autofree char *pid_text = NULL;
    g_autofree char *pid_file = NULL;
    gint64 deadline = g_get_monotonic_time() + START_TIMEOUT_US;

    test->tmpdir = g_build_filename(sweep_dir, "test-XXXXXX", NULL);
    ck_assert_msg(g_mkdtemp(test->tmpdir) != NULL, "mkdtemp in '%s'", sweep_dir);
    test->rootfs = g_build_filename(test->tmpdir, "rootfs", NULL);
    test->state_dir = g_build_filename(test->tmpdir, "state", NULL);
    test->socket_path = g_build_filename(test->tmpdir, "agent.sock", NULL);
    agent_test_build_rootfs(test->rootfs);
    listen = g_strconcat("unix:", test->socket_path, NULL);
    char *argv[] = {
        (char *)g_getenv("SC_AGENT"), "--listen", listen, "--state-dir", test->state_dir, NULL};
    ck_assert_msg(g_spawn_async(NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, test_child_setup, NULL,
                                &test->pid, &error),
                  "spawn agent: %s", error ? error->message : "");
    pid_text = g_strdup_printf("%d", (int)test->pid);
    pid_file = g_build_filename(test->tmpdir, "agent.pid", NULL);
    ck_assert(g_file_set_contents(pid_file, pid_text, -1, &error));
    /* The socket file appears at bind(), a moment before listen(): retry until accepted. */
    while ((test->client = ttrpc_client_connect_unix(test->socket_path, NULL, &error)) == NULL) {
        ck_assert_msg(g_get_monotonic_time() < deadline, "connect: %s", error->message);
        ck_assert_msg(waitpid(test->pid, NULL, WNOHANG) == 0, "the agent exited at start");
        g_clear_error(&error);
        g_usleep(10000);
    }
    test->cgroup_root = test_find_cgroup_root(test->pid);
    ck_assert_msg(test->cgroup_root != NULL, "the agent made no cgroup secure-agent-%d",
                  (int)test->pid);
    return test;
}

gboolean agent_test_remove_tree(const char *path)
{
    int status = -1;

    /* The rootfs holds hundreds of symlinks; rm is the simple, proven way to remove it. */
    return g_spawn_sync(NULL, (char *[]){"rm", "-rf", "--one-file-system", (char *)path, NULL},
                        NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, &status, NULL) &&
           g_spawn_check_wait_status(status, NULL);
}

void agent_test_stop(AgentTest *test)
{
    int status = 0;

    g_clear_pointer(&test->client, ttrpc_client_free);
    ck_assert_int_eq(kill(test->pid, SIGTERM), 0);
    ck_assert_int_eq(waitpid(test->pid, &status, 0), test->pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "agent ended with status 0x%x",
                  status);
    ck_assert_msg(!g_file_test(test->cgroup_root, G_FILE_TEST_EXISTS),
                  "the agent left its cgroup %s", test->cgroup_root);
    ck_assert_msg(!g_file_test(test->socket_path, G_FILE_TEST_EXISTS), "the agent left its socket");
    ck_assert_msg(agent_test_remove_tree(test->tmpdir), "rm -rf %s failed", test->tmpdir);
    g_free(test->tmpdir);
    g_free(test->rootfs);
    g_free(test->state_dir);
    g_free(test->socket_path);
    g_free(test->cgroup_root);
    g_free(test);
}

GBytes *agent_test_call(AgentTest *test, const char *method, const ProtobufCMessage *request,
                        GError **error)
{
    return ttrpc_client_call_sync(test->client, AGENT_TEST_SERVICE, method, request,
                                  CALL_TIMEOUT_US, error);
}

TtrpcCode agent_test_code(AgentTest *test, const char *method, const ProtobufCMessage *request)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) reply = agent_test_call(test, method, request, &error);

    if (reply != NULL)
        return TTRPC_CODE_OK;
    ck_assert_msg(error->domain == TTRPC_ERROR, "%s: %s", method, error->message);
    fprintf(stderr, "  %s -> %s: %s\n", method, ttrpc_code_name(error->code), error->message);
    return error->code;
}

ProtobufCMessage *agent_test_ok(AgentTest *test, const char *method,
                                const ProtobufCMessage *request,
                                const ProtobufCMessageDescriptor *desc)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) reply = agent_test_call(test, method, request, &error);
    ProtobufCMessage *message;
    gsize len = 0;
    const guint8 *data;

    ck_assert_msg(reply != NULL, "%s failed: %s", method, error ? error->message : "");
    data = g_bytes_get_data(reply, &len);
    message = protobuf_c_message_unpack(desc, NULL, len, data);
    ck_assert_msg(message != NULL, "%s: undecodable reply", method);
    return message;
}

static const char spec_template[] =
    "{\"ociVersion\": \"1.0.2\","
    " \"process\": {\"terminal\": false, \"user\": {\"uid\": 0, \"gid\": 0},"
    "   \"env\": [\"PATH=/bin\", \"TERM=xterm\"], \"cwd\": \"/\","
    "   \"capabilities\": {"
    "     \"bounding\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"],"
    "     \"effective\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"],"
    "     \"permitted\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"],"
    "     \"inheritable\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"],"
    "     \"ambient\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"]},"
    "   \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"hard\": 1024, \"soft\": 1024}],"
    "   \"noNewPrivileges\": true},"
    " \"root\": {\"path\": \"rootfs\", \"readonly\": false},"
    " \"hostname\": \"sc-test\"," OCI_TEST_DEFAULT_MOUNTS " \"linux\": {"
    "   \"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"network\"}, {\"type\": \"ipc\"},"
    "                  {\"type\": \"uts\"}, {\"type\": \"mount\"}],"
    "   \"maskedPaths\": [\"/proc/kcore\", \"/proc/keys\", \"/sys/firmware\"],"
    "   \"readonlyPaths\": [\"/proc/bus\", \"/proc/fs\", \"/proc/irq\", \"/proc/sys\"]}}";

static json_object *test_args(const char *const *args)
{
    json_object *array = json_object_new_array();

    for (; *args != NULL; args++)
        json_object_array_add(array, json_object_new_string(*args));
    return array;
}

json_object *agent_test_spec(const char *const *args)
{
    json_object *spec = json_tokener_parse(spec_template);
    json_object *process = NULL;

    ck_assert(spec != NULL);
    ck_assert(json_object_object_get_ex(spec, "process", &process));
    json_object_object_add(process, "args", test_args(args));
    return spec;
}

json_object *agent_test_process(const char *const *args)
{
    json_object *process = json_object_new_object();
    json_object *user = json_object_new_object();
    json_object *env = json_object_new_array();

    json_object_object_add(user, "uid", json_object_new_int(0));
    json_object_object_add(user, "gid", json_object_new_int(0));
    json_object_array_add(env, json_object_new_string("PATH=/bin"));
    json_object_object_add(process, "terminal", json_object_new_boolean(FALSE));
    json_object_object_add(process, "user", user);
    json_object_object_add(process, "args", test_args(args));
    json_object_object_add(process, "env", env);
    json_object_object_add(process, "cwd", json_object_new_string("/"));
    return process;
}

guint32 agent_test_create(AgentTest *test, const char *id, json_object *spec, gboolean want_stdin)
{
    Secure__Agent__V1__CreateContainerRequest req =
        SECURE__AGENT__V1__CREATE_CONTAINER_REQUEST__INIT;
    const char *json = json_object_to_json_string_ext(spec, JSON_C_TO_STRING_PLAIN);
    g_autoptr(ProtobufCMessage) reply = NULL;

    req.container_id = (char *)id;
    req.config_json.data = (guint8 *)json;
    req.config_json.len = strlen(json);
    req.rootfs_path = test->rootfs;
    req.stdin = want_stdin;
    reply = agent_test_ok(test, "CreateContainer", &req.base,
                          &secure__agent__v1__create_container_response__descriptor);
    return ((Secure__Agent__V1__CreateContainerResponse *)reply)->pid;
}

guint32 agent_test_start_container(AgentTest *test, const char *id)
{
    Secure__Agent__V1__StartContainerRequest req = SECURE__AGENT__V1__START_CONTAINER_REQUEST__INIT;
    g_autoptr(ProtobufCMessage) reply = NULL;

    req.container_id = (char *)id;
    reply = agent_test_ok(test, "StartContainer", &req.base,
                          &secure__agent__v1__start_container_response__descriptor);
    return ((Secure__Agent__V1__StartContainerResponse *)reply)->pid;
}

guint32 agent_test_wait(AgentTest *test, const char *id, const char *exec_id)
{
    Secure__Agent__V1__WaitProcessRequest req = SECURE__AGENT__V1__WAIT_PROCESS_REQUEST__INIT;
    g_autoptr(ProtobufCMessage) reply = NULL;

    req.container_id = (char *)id;
    req.exec_id = (char *)exec_id;
    reply = agent_test_ok(test, "WaitProcess", &req.base,
                          &secure__agent__v1__wait_process_response__descriptor);
    return ((Secure__Agent__V1__WaitProcessResponse *)reply)->exit_status;
}

char *agent_test_read_all(AgentTest *test, const char *id, const char *exec_id, gboolean err)
{
    g_autoptr(GString) out = g_string_new(NULL);
    Secure__Agent__V1__ReadStreamRequest req = SECURE__AGENT__V1__READ_STREAM_REQUEST__INIT;
    gboolean eof = FALSE;

    req.container_id = (char *)id;
    req.exec_id = (char *)exec_id;
    while (!eof) {
        g_autoptr(ProtobufCMessage) msg =
            agent_test_ok(test, err ? "ReadStderr" : "ReadStdout", &req.base,
                          &secure__agent__v1__read_stream_response__descriptor);
        Secure__Agent__V1__ReadStreamResponse *reply = (void *)msg;

        g_string_append_len(out, (const char *)reply->data.data, reply->data.len);
        eof = reply->eof;
    }
    return g_string_free(g_steal_pointer(&out), FALSE);
}

void agent_test_remove(AgentTest *test, const char *id)
{
    Secure__Agent__V1__RemoveContainerRequest req =
        SECURE__AGENT__V1__REMOVE_CONTAINER_REQUEST__INIT;

    req.container_id = (char *)id;
    ck_assert_int_eq(agent_test_code(test, "RemoveContainer", &req.base), TTRPC_CODE_OK);
}

char *agent_test_run(AgentTest *test, const char *id, json_object *spec, guint32 *out_status)
{
    char *out;

    agent_test_create(test, id, spec, FALSE);
    agent_test_start_container(test, id);
    out = agent_test_read_all(test, id, "", FALSE);
    *out_status = agent_test_wait(test, id, "");
    agent_test_remove(test, id);
    return out;
}

void agent_test_write(const char *root, const char *relative, const char *text)
{
    g_autofree char *path = g_build_filename(root, relative, NULL);
    g_autofree char *dir = g_path_get_dirname(path);

    ck_assert_int_eq(g_mkdir_with_parents(dir, 0755), 0);
    ck_assert_msg(g_file_set_contents(path, text, -1, NULL), "write %s", path);
}

guint agent_test_count_entries(GPid pid, const char *dir_name)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/%s", (int)pid, dir_name);
    g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
    guint n = 0;

    ck_assert_msg(dir != NULL, "open %s", path);
    while (g_dir_read_name(dir) != NULL)
        n++;
    return n;
}

int agent_test_main(const char *name, const TTest *const *tests, int timeout_s, void (*setup)(void),
                    void (*teardown)(void))
{
    Suite *suite = suite_create(name);
    TCase *tc = tcase_create(name);
    int status;
    guint left;

    if (setup != NULL)
        tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, timeout_s);
    for (; *tests != NULL; tests++)
        tcase_add_test(tc, *tests);
    suite_add_tcase(suite, tc);
    sweep_dir = g_dir_make_tmp("sc-agent-test-XXXXXX", NULL);
    g_assert(sweep_dir != NULL);
    status = test_util_run(suite, CK_FORK_GETENV);
    left = test_sweep();
    if (left > 0 && status == EXIT_SUCCESS) {
        fprintf(stderr, "FAIL: passing tests left %u agent(s) or temp dir(s) behind\n", left);
        status = EXIT_FAILURE;
    }
    g_rmdir(sweep_dir);
    g_clear_pointer(&sweep_dir, g_free);
    return status;
}
