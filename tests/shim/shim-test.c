/* The containerd stand-in used by test-shim-task (see shim-test.h). */
#include "shim-test.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "events-ttrpc.pb-c.h"
#include "runtimeoptions.pb-c.h"
#include "shim-host-cgroup.h"
#include "shim-start.h"
#include "shim-state.h"
#include "test-util.h"
#include "wellknown.pb-c.h"

#define TASK_SERVICE "containerd.task.v2.Task"
#define EVENTS_SERVICE "containerd.services.events.ttrpc.v1.Events"
#define BUSYBOX "/bin/busybox"
#define BOOT_TIMEOUT_S 300
/* Longer than the shim's own boot timeout, so a slow boot fails with the shim's error (which
 * quotes the guest console) rather than with the stand-in's deadline. */
#define CALL_TIMEOUT_US ((BOOT_TIMEOUT_S + 30) * G_USEC_PER_SEC)
/* Check packs a failure message into at most a few KiB: quote no more of a log than this. */
#define LOG_TAIL_BYTES 2000

void shim_test_require(const char *kind)
{
    if (geteuid() != 0)
        test_util_skip(
            "the shim tests mount, create containers and sockets under /run: they need root");
    if (access(BUSYBOX, X_OK) != 0)
        test_util_skip(BUSYBOX " is missing (Debian package busybox-static)");
    if (!g_getenv("SC_SHIM") || access(g_getenv("SC_SHIM"), X_OK) != 0)
        test_util_skip("SC_SHIM does not name the shim binary");
    if (!g_getenv("SC_AGENT") || access(g_getenv("SC_AGENT"), X_OK) != 0)
        test_util_skip("SC_AGENT does not name the secure-agent binary");
    if (strcmp(kind, "libvirt") != 0)
        return;
    if (access("/usr/bin/qemu-system-x86_64", X_OK) != 0)
        test_util_skip("qemu-system-x86_64 is missing");
    if (!g_getenv("SC_GUEST_KERNEL") || access(g_getenv("SC_GUEST_KERNEL"), R_OK) != 0 ||
        !g_getenv("SC_GUEST_INITRD") || access(g_getenv("SC_GUEST_INITRD"), R_OK) != 0)
        test_util_skip("the guest image is not built (SC_GUEST_KERNEL/SC_GUEST_INITRD)");
}

/* ---- events service ----------------------------------------------------------------------- */

static void event_free(ShimTestEvent *ev)
{
    g_free(ev->topic);
    g_free(ev->type_url);
    g_bytes_unref(ev->event);
    g_free(ev);
}

static void handle_forward(TtrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
    ShimTest *t = user_data;
    const Containerd__Services__Events__Ttrpc__V1__ForwardRequest *req = (const void *)request;
    const Containerd__Services__Events__Ttrpc__V1__Envelope *env = req->envelope;

    /* What containerd's exchange checks (validateEnvelope), plus the namespace metadata. */
    if (!env || !env->timestamp || env->timestamp->seconds <= 0 || !env->event ||
        g_strcmp0(env->namespace_, t->namespace) != 0 || env->topic[0] != '/' ||
        g_strcmp0(ttrpc_call_get_metadata(call, "containerd-namespace-ttrpc"), t->namespace)) {
        ttrpc_call_return_error(call, TTRPC_CODE_INVALID_ARGUMENT, "bad envelope");
    } else {
        ShimTestEvent *ev = g_new0(ShimTestEvent, 1);
        ev->topic = g_strdup(env->topic);
        ev->type_url = g_strdup(env->event->type_url);
        ev->event = g_bytes_new(env->event->value.data, env->event->value.len);
        g_ptr_array_add(t->recorded, ev);
        ttrpc_call_return(call, NULL);
    }
}

static const TtrpcMethod events_methods[] = {
    {"Forward", &containerd__services__events__ttrpc__v1__forward_request__descriptor,
     handle_forward}};

/* ---- setup ---------------------------------------------------------------------------------- */

static void write_file(const char *path, const char *text, int mode)
{
    g_autoptr(GError) error = NULL;
    ck_assert_msg(g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_NONE, mode, &error),
                  "%s", error ? error->message : "");
}

static void build_rootfs(const char *rootfs)
{
    static const char *const dirs[] = {"bin", "proc", "sys", "dev", "tmp", "etc", "mnt"};
    static const char *const applets[] = {"sh",   "echo", "cat", "sleep", "stty", "ls",
                                          "true", "head", "id",  "test",  "["};
    g_autofree char *busybox = NULL;
    gsize len;
    for (gsize i = 0; i < G_N_ELEMENTS(dirs); i++) {
        g_autofree char *dir = g_build_filename(rootfs, dirs[i], NULL);
        ck_assert_int_eq(g_mkdir_with_parents(dir, 0755), 0);
    }
    ck_assert(g_file_get_contents(BUSYBOX, &busybox, &len, NULL));
    g_autofree char *copy = g_build_filename(rootfs, "bin", "busybox", NULL);
    ck_assert(g_file_set_contents_full(copy, busybox, len, G_FILE_SET_CONTENTS_NONE, 0755, NULL));
    for (gsize i = 0; i < G_N_ELEMENTS(applets); i++) {
        g_autofree char *link = g_build_filename(rootfs, "bin", applets[i], NULL);
        ck_assert_int_eq(symlink("busybox", link), 0);
    }
    g_autofree char *passwd = g_build_filename(rootfs, "etc", "passwd", NULL);
    write_file(passwd, "root:x:0:0:root:/:/bin/sh\n", 0644);
}

static void write_config(ShimTest *t)
{
    g_autoptr(GString) text = g_string_new("[hypervisor]\n");
    g_string_append_printf(text, "kind = %s\n", t->kind);
    if (strcmp(t->kind, "libvirt") == 0)
        g_string_append_printf(text,
                               "accelerator = tcg\nkernel = %s\ninitrd = %s\n"
                               "default_memory = 512\n",
                               g_getenv("SC_GUEST_KERNEL"), g_getenv("SC_GUEST_INITRD"));
    /* A template would be built in the background, outliving the test (e2e-template covers
     * templates). */
    g_string_append(text, "[template]\nenable = false\n");
    g_string_append_printf(text,
                           "[agent]\nhost_binary = %s\nboot_timeout = %d\nrequest_timeout = %u\n"
                           "[runtime]\nlog_level = debug\n",
                           t->agent, BOOT_TIMEOUT_S, t->request_timeout_s);
    write_file(t->config_path, text->str, 0644);
}

static void listen_events(ShimTest *t)
{
    g_autoptr(GError) error = NULL;
    t->events = ttrpc_server_new(NULL);
    ttrpc_server_register(t->events, EVENTS_SERVICE, events_methods, 1, t);
    ck_assert_msg(ttrpc_server_listen_unix(t->events, t->events_socket, &error), "%s",
                  error ? error->message : "");
}

void shim_test_restart_events(ShimTest *t, guint down_ms)
{
    g_clear_pointer(&t->events, ttrpc_server_free);
    test_util_run_for(down_ms * G_TIME_SPAN_MILLISECOND);
    listen_events(t);
}

ShimTest *shim_test_new(const char *kind)
{
    return shim_test_new_with_agent(kind, g_getenv("SC_AGENT"), 60);
}

ShimTest *shim_test_new_with_agent(const char *kind, const char *agent, guint request_timeout_s)
{
    ShimTest *t = g_new0(ShimTest, 1);
    g_autoptr(GError) error = NULL;
    t->kind = g_strdup(kind);
    t->agent = g_strdup(agent);
    t->request_timeout_s = request_timeout_s;
    t->tmpdir = g_dir_make_tmp("sc-shim-test-XXXXXX", &error);
    ck_assert_msg(t->tmpdir, "%s", error ? error->message : "");
    t->rootfs = g_build_filename(t->tmpdir, "rootfs", NULL);
    build_rootfs(t->rootfs);
    /* Unique per test: the pod socket name is a hash of it. */
    t->address = g_build_filename(t->tmpdir, "containerd.sock", NULL);
    t->namespace = g_strdup("shimtest");
    t->config_path = g_build_filename(t->tmpdir, "shim.conf", NULL);
    write_config(t);
    t->events_socket = g_build_filename(t->tmpdir, "events.sock", NULL);
    t->recorded = g_ptr_array_new_with_free_func((GDestroyNotify)event_free);
    listen_events(t);
    return t;
}

char *shim_test_pod_dir(ShimTest *t)
{
    g_autofree char *pod = g_path_get_basename(t->socket_path);
    return shim_state_pod_dir(pod);
}

static void remove_tree(const char *path)
{
    int status = 0;
    g_spawn_sync(NULL, (char *[]){"rm", "-rf", "--one-file-system", (char *)path, NULL}, NULL,
                 G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, &status, NULL);
}

static int run_delete(ShimTest *t, const char *id, const char *bundle, GBytes **out_stdout,
                      gint64 *out_ms);

/* The daemon logs to the bundle of the container that started it. */
static void print_logs(ShimTest *t)
{
    g_autofree char *bundles = g_build_filename(t->tmpdir, "bundles", NULL);
    g_autoptr(GDir) dir = g_dir_open(bundles, 0, NULL);
    const char *name;
    while (dir && (name = g_dir_read_name(dir))) {
        g_autofree char *path = g_build_filename(bundles, name, "log", NULL);
        g_autofree char *text = NULL;
        if (g_file_get_contents(path, &text, NULL, NULL) && *text)
            fprintf(stderr, "---- shim log (%s) ----\n%s", name, text);
    }
}

void shim_test_free(ShimTest *t)
{
    if (!t)
        return;
    print_logs(t);
    g_clear_pointer(&t->client, ttrpc_client_free);
    /* A failed test may leave the daemon: kill it, then delete cleans up as after a crash. */
    if (t->shim_pid > 1 && shim_test_pid_alive(t->shim_pid))
        kill((pid_t)t->shim_pid, SIGKILL);
    if (t->socket_path) {
        g_autofree char *bundle = g_build_filename(t->tmpdir, "bundles", "cleanup", NULL);
        g_mkdir_with_parents(bundle, 0700);
        g_autofree char *address = g_strconcat("unix://", t->socket_path, NULL);
        g_autofree char *address_file = g_build_filename(bundle, "address", NULL);
        g_file_set_contents(address_file, address, -1, NULL);
        shim_test_wait_gone(t->shim_pid, SHIM_TEST_DAEMON_EXIT_S);
        run_delete(t, "cleanup", bundle, NULL, NULL);
    }
    g_clear_pointer(&t->events, ttrpc_server_free);
    g_clear_pointer(&t->recorded, g_ptr_array_unref);
    remove_tree(t->tmpdir);
    g_free(t->kind);
    g_free(t->agent);
    g_free(t->tmpdir);
    g_free(t->rootfs);
    g_free(t->address);
    g_free(t->namespace);
    g_free(t->config_path);
    g_free(t->events_socket);
    g_free(t->socket_path);
    g_free(t);
}

/* ---- bundles -----------------------------------------------------------------------------------
 */

static const char spec_template[] =
    "{\"ociVersion\": \"1.0.2\","
    " \"process\": {\"terminal\": false, \"user\": {\"uid\": 0, \"gid\": 0},"
    "   \"env\": [\"PATH=/bin\", \"TERM=xterm\"], \"cwd\": \"/\","
    "   \"capabilities\": {\"bounding\": [\"CAP_KILL\"], \"effective\": [\"CAP_KILL\"],"
    "     \"permitted\": [\"CAP_KILL\"]},"
    "   \"noNewPrivileges\": true},"
    " \"root\": {\"path\": \"rootfs\", \"readonly\": false},"
    " \"hostname\": \"shim-test\","
    " \"mounts\": ["
    "   {\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},"
    "   {\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\","
    "    \"options\": [\"nosuid\", \"mode=755\", \"size=65536k\"]},"
    "   {\"destination\": \"/dev/pts\", \"type\": \"devpts\", \"source\": \"devpts\","
    "    \"options\": [\"nosuid\", \"noexec\", \"newinstance\", \"ptmxmode=0666\", \"mode=0620\"]},"
    "   {\"destination\": \"/sys\", \"type\": \"sysfs\", \"source\": \"sysfs\","
    "    \"options\": [\"nosuid\", \"noexec\", \"nodev\", \"ro\"]}],"
    " \"linux\": {\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"ipc\"}, {\"type\": \"uts\"},"
    "                            {\"type\": \"mount\"}, {\"type\": \"network\"}]}}";

json_object *shim_test_spec(const char *const *args, gboolean terminal)
{
    json_object *spec = json_tokener_parse(spec_template), *process, *array;
    ck_assert_ptr_nonnull(spec);
    ck_assert(json_object_object_get_ex(spec, "process", &process));
    array = json_object_new_array();
    for (; *args; args++)
        json_object_array_add(array, json_object_new_string(*args));
    json_object_object_add(process, "args", array);
    json_object_object_add(process, "terminal", json_object_new_boolean(terminal));
    return spec;
}

char *shim_test_bundle(ShimTest *t, const char *id, const char *const *args, const char *sandbox_id,
                       gboolean terminal)
{
    char *bundle = g_build_filename(t->tmpdir, "bundles", id, NULL);
    g_autofree char *rootfs = g_build_filename(bundle, "rootfs", NULL);
    g_autofree char *config = g_build_filename(bundle, "config.json", NULL);
    json_object *spec = shim_test_spec(args, terminal);
    ck_assert_int_eq(g_mkdir_with_parents(rootfs, 0700), 0);
    if (sandbox_id) {
        json_object *annotations = json_object_new_object();
        json_object_object_add(annotations, "io.kubernetes.cri.sandbox-id",
                               json_object_new_string(sandbox_id));
        json_object_object_add(spec, "annotations", annotations);
    }
    write_file(config, json_object_to_json_string_ext(spec, JSON_C_TO_STRING_PRETTY), 0644);
    json_object_put(spec);
    /* containerd makes `log` a fifo; a plain file keeps the daemon's log for the test output. */
    g_autofree char *log = g_build_filename(bundle, "log", NULL);
    write_file(log, "", 0600);
    return bundle;
}

/* ---- the shim binary ---------------------------------------------------------------------------
 */

static GSubprocessLauncher *launcher(ShimTest *t, const char *bundle, GSubprocessFlags flags)
{
    GSubprocessLauncher *l = g_subprocess_launcher_new(flags);
    g_subprocess_launcher_set_cwd(l, bundle);
    g_subprocess_launcher_setenv(l, "TTRPC_ADDRESS", t->events_socket, TRUE);
    g_subprocess_launcher_unsetenv(l, "SECURE_CONTAINER_CONFIG");
    return l;
}

int shim_test_run_start(ShimTest *t, const char *id, const char *bundle, const guint8 *options,
                        gsize options_len, char **out_output)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GSubprocessLauncher) l =
        launcher(t, bundle,
                 G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                     G_SUBPROCESS_FLAGS_STDERR_MERGE);
    g_autoptr(GSubprocess) p = g_subprocess_launcher_spawn(
        l, &error, g_getenv("SC_SHIM"), "-namespace", t->namespace, "-address", t->address,
        "-publish-binary", "/bin/true", "-id", id, "start", NULL);
    ck_assert_msg(p, "%s", error ? error->message : "");
    g_autoptr(GBytes) in = g_bytes_new(options, options_len);
    g_autoptr(GBytes) out = NULL;
    /* Like containerd: this waits for EOF on the merged stdout/stderr pipe, so a daemon that
     * kept the pipe would hang the test here. */
    ck_assert_msg(g_subprocess_communicate(p, in, NULL, &out, NULL, &error), "%s",
                  error ? error->message : "");
    *out_output = g_strndup(g_bytes_get_data(out, NULL), g_bytes_get_size(out));
    return g_subprocess_get_if_exited(p) ? g_subprocess_get_exit_status(p) : -1;
}

GBytes *shim_test_options(const char *config_path)
{
    Runtimeoptions__V1__Options opts = RUNTIMEOPTIONS__V1__OPTIONS__INIT;
    opts.config_path = (char *)config_path;
    guint8 value[512];
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    any.type_url = "runtimeoptions.v1.Options";
    any.value.data = value;
    any.value.len = runtimeoptions__v1__options__pack(&opts, value);
    guint8 *buf = g_malloc(google__protobuf__any__get_packed_size(&any));
    gsize len = google__protobuf__any__pack(&any, buf);
    return g_bytes_new_take(buf, len);
}

void shim_test_start(ShimTest *t, const char *id, const char *bundle)
{
    g_autoptr(GBytes) options = shim_test_options(t->config_path);
    g_autofree char *output = NULL;
    g_autoptr(GError) error = NULL;
    int status = shim_test_run_start(t, id, bundle, g_bytes_get_data(options, NULL),
                                     g_bytes_get_size(options), &output);
    ck_assert_msg(status == 0, "start exited %d: %s", status, output);
    ck_assert_msg(g_str_has_prefix(output, "unix:///run/containerd/s/"), "start printed '%s'",
                  output);
    /* The address file in the bundle holds exactly what was printed. */
    g_autofree char *address_file = g_build_filename(bundle, "address", NULL);
    g_autofree char *written = NULL;
    ck_assert(g_file_get_contents(address_file, &written, NULL, NULL));
    ck_assert_str_eq(written, output);
    const char *path = output + strlen("unix://");
    if (t->socket_path) {
        ck_assert_str_eq(t->socket_path, path);
        return;
    }
    t->socket_path = g_strdup(path);
    t->client = ttrpc_client_connect_unix(path, NULL, &error);
    ck_assert_msg(t->client, "connect '%s': %s", path, error ? error->message : "");
}

/* Runs `delete`; returns its exit status, or -1 if it could not run. Asserts nothing: the
 * cleanup path (atexit after a failed assertion) uses it too. */
static int run_delete(ShimTest *t, const char *id, const char *bundle, GBytes **out_stdout,
                      gint64 *out_ms)
{
    g_autoptr(GSubprocessLauncher) l =
        launcher(t, bundle, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
    gint64 start = g_get_monotonic_time();
    g_autoptr(GSubprocess) p = g_subprocess_launcher_spawn(
        l, NULL, g_getenv("SC_SHIM"), "-namespace", t->namespace, "-address", t->address,
        "-publish-binary", "/bin/true", "-id", id, "-bundle", bundle, "delete", NULL);
    g_autoptr(GBytes) err = NULL;
    if (!p || !g_subprocess_communicate(p, NULL, NULL, out_stdout, &err, NULL))
        return -1;
    if (out_ms)
        *out_ms = (g_get_monotonic_time() - start) / 1000;
    if (g_bytes_get_size(err))
        fprintf(stderr, "delete stderr: %.*s\n", (int)g_bytes_get_size(err),
                (const char *)g_bytes_get_data(err, NULL));
    return g_subprocess_get_if_exited(p) ? g_subprocess_get_exit_status(p) : -1;
}

int shim_test_run_delete(ShimTest *t, const char *id, const char *bundle, guint32 *out_exit_status,
                         gint64 *out_ms)
{
    g_autoptr(GBytes) out = NULL;
    int status = run_delete(t, id, bundle, &out, out_ms);
    ck_assert_msg(out, "delete did not run");
    Containerd__Task__V2__DeleteResponse *resp = containerd__task__v2__delete_response__unpack(
        NULL, g_bytes_get_size(out), g_bytes_get_data(out, NULL));
    ck_assert_msg(resp, "delete printed no DeleteResponse (%zu bytes)", g_bytes_get_size(out));
    if (out_exit_status)
        *out_exit_status = resp->exit_status;
    containerd__task__v2__delete_response__free_unpacked(resp, NULL);
    return status;
}

/* ---- calls -------------------------------------------------------------------------------------
 */

GBytes *shim_test_call(ShimTest *t, const char *method, const ProtobufCMessage *req, GError **error)
{
    return ttrpc_client_call_sync(t->client, TASK_SERVICE, method, req, CALL_TIMEOUT_US, error);
}

ProtobufCMessage *shim_test_call_ok(ShimTest *t, const char *method, const ProtobufCMessage *req,
                                    const ProtobufCMessageDescriptor *type)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) reply = shim_test_call(t, method, req, &error);
    ck_assert_msg(reply, "%s: %s", method, error ? error->message : "");
    if (!type)
        return NULL;
    ProtobufCMessage *msg = protobuf_c_message_unpack(type, NULL, g_bytes_get_size(reply),
                                                      g_bytes_get_data(reply, NULL));
    ck_assert_msg(msg, "%s: reply is not a %s", method, type->name);
    return msg;
}

char *shim_test_call_fail(ShimTest *t, const char *method, const ProtobufCMessage *req,
                          TtrpcCode code)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) reply = shim_test_call(t, method, req, &error);
    ck_assert_msg(!reply, "%s succeeded, expected %s", method, ttrpc_code_name(code));
    ck_assert_msg(error->domain == TTRPC_ERROR && error->code == (int)code,
                  "%s: expected %s, got %s", method, ttrpc_code_name(code), error->message);
    return g_strdup(error->message);
}

static void wait_done(const guint8 *payload, gsize len, const GError *error, gpointer user_data)
{
    ShimTestWait *w = user_data;
    w->done_at = g_get_monotonic_time();
    if (error) {
        w->error = g_error_copy(error);
    } else {
        Containerd__Task__V2__WaitResponse *resp =
            containerd__task__v2__wait_response__unpack(NULL, len, payload);
        ck_assert(resp);
        ck_assert_msg(resp->exited_at && resp->exited_at->seconds > 0, "Wait without exited_at");
        w->exit_status = resp->exit_status;
        containerd__task__v2__wait_response__free_unpacked(resp, NULL);
    }
    w->done = TRUE;
}

void shim_test_wait_async(ShimTest *t, const char *id, const char *exec_id, ShimTestWait *w)
{
    Containerd__Task__V2__WaitRequest req = CONTAINERD__TASK__V2__WAIT_REQUEST__INIT;
    req.id = (char *)id;
    req.exec_id = (char *)(exec_id ? exec_id : "");
    memset(w, 0, sizeof(*w));
    ttrpc_client_call(t->client, TASK_SERVICE, "Wait", &req.base, 0, wait_done, w);
}

/* ---- fifos -------------------------------------------------------------------------------------
 */

static char *make_fifo(ShimTest *t, const char *name, const char *suffix)
{
    char *path = g_strdup_printf("%s/%s-%s", t->tmpdir, name, suffix);
    ck_assert_msg(mkfifo(path, 0600) == 0, "mkfifo '%s': %s", path, g_strerror(errno));
    return path;
}

void shim_test_fifos(ShimTest *t, const char *name, gboolean with_stdin, ShimTestFifos *f)
{
    memset(f, 0, sizeof(*f));
    f->in_fd = -1;
    f->stdin_path = with_stdin ? make_fifo(t, name, "stdin") : g_strdup("");
    f->stdout_path = make_fifo(t, name, "stdout");
    f->stderr_path = make_fifo(t, name, "stderr");
    f->out_fd = open(f->stdout_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    f->err_fd = open(f->stderr_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    ck_assert(f->out_fd >= 0 && f->err_fd >= 0);
}

void shim_test_open_stdin(ShimTestFifos *f)
{
    /* The shim holds a reader since Create, so this does not block. */
    f->in_fd = open(f->stdin_path, O_WRONLY | O_CLOEXEC);
    ck_assert_msg(f->in_fd >= 0, "open stdin: %s", g_strerror(errno));
}

void shim_test_fifos_close(ShimTestFifos *f)
{
    if (f->out_fd >= 0)
        close(f->out_fd);
    if (f->err_fd >= 0)
        close(f->err_fd);
    if (f->in_fd >= 0)
        close(f->in_fd);
    g_free(f->stdin_path);
    g_free(f->stdout_path);
    g_free(f->stderr_path);
    memset(f, 0, sizeof(*f));
}

char *shim_test_read_until(int fd, const char *needle, guint timeout_ms)
{
    GString *s = g_string_new(NULL);
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    while ((needle == NULL || strstr(s->str, needle) == NULL) &&
           g_get_monotonic_time() < deadline) {
        char buf[4096];
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n > 0) {
            g_string_append_len(s, buf, n);
            continue;
        }
        if (n == 0)
            break;
        ck_assert_int_eq(errno, EAGAIN);
        g_main_context_iteration(NULL, FALSE);
        g_usleep(2000);
    }
    return g_string_free(s, FALSE);
}

char *shim_test_read_all(int fd, guint timeout_ms)
{
    return shim_test_read_until(fd, NULL, timeout_ms);
}

Containerd__Task__V2__CreateTaskRequest *shim_test_create_request(ShimTest *t, const char *id,
                                                                  const char *bundle,
                                                                  ShimTestFifos *f,
                                                                  gboolean terminal)
{
    Containerd__Types__Mount mount = CONTAINERD__TYPES__MOUNT__INIT;
    char *options[] = {"rbind", "rw"};
    mount.type = "bind";
    mount.source = t->rootfs;
    mount.n_options = 2;
    mount.options = options;
    Containerd__Types__Mount *mounts[] = {&mount};
    Containerd__Task__V2__CreateTaskRequest req = CONTAINERD__TASK__V2__CREATE_TASK_REQUEST__INIT;
    req.id = (char *)id;
    req.bundle = (char *)bundle;
    req.n_rootfs = 1;
    req.rootfs = mounts;
    req.terminal = terminal;
    if (f) {
        req.stdin = f->stdin_path;
        req.stdout = f->stdout_path;
        req.stderr = terminal ? "" : f->stderr_path;
    }
    /* A message of its own, as the shim's core gets it. */
    return (Containerd__Task__V2__CreateTaskRequest *)ttrpc_message_copy(&req.base);
}

GBytes *shim_test_try_create(ShimTest *t, const char *id, const char *bundle, ShimTestFifos *f,
                             gboolean terminal, GError **error)
{
    Containerd__Task__V2__CreateTaskRequest *req =
        shim_test_create_request(t, id, bundle, f, terminal);
    GBytes *reply = shim_test_call(t, "Create", &req->base, error);
    ttrpc_message_free(&req->base);
    return reply;
}

void shim_test_create(ShimTest *t, const char *id, const char *bundle, ShimTestFifos *f,
                      gboolean terminal)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) reply = shim_test_try_create(t, id, bundle, f, terminal, &error);
    ck_assert_msg(reply, "Create '%s': %s", id, error ? error->message : "");
    Containerd__Task__V2__CreateTaskResponse *resp =
        containerd__task__v2__create_task_response__unpack(NULL, g_bytes_get_size(reply),
                                                           g_bytes_get_data(reply, NULL));
    ck_assert_msg(resp, "Create '%s': the reply is not a CreateTaskResponse", id);
    containerd__task__v2__create_task_response__free_unpacked(resp, NULL);
}

/* ---- events ------------------------------------------------------------------------------------
 */

char *shim_test_topics(ShimTest *t)
{
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < t->recorded->len; i++) {
        ShimTestEvent *ev = t->recorded->pdata[i];
        g_string_append_printf(s, "%s%s", i ? " " : "", ev->topic);
    }
    return g_string_free(s, FALSE);
}

ProtobufCMessage *shim_test_event(ShimTest *t, guint index, const ProtobufCMessageDescriptor *type)
{
    ck_assert_uint_lt(index, t->recorded->len);
    ShimTestEvent *ev = t->recorded->pdata[index];
    ck_assert_str_eq(ev->type_url, type->name);
    ProtobufCMessage *msg = protobuf_c_message_unpack(type, NULL, g_bytes_get_size(ev->event),
                                                      g_bytes_get_data(ev->event, NULL));
    ck_assert(msg);
    return msg;
}

static gboolean enough_events(ShimTest *t, guint n)
{
    return t->recorded->len >= n;
}

void shim_test_wait_events(ShimTest *t, guint n, guint timeout_ms)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    while (!enough_events(t, n) && test_util_iterate(deadline))
        ;
    g_autofree char *topics = shim_test_topics(t);
    ck_assert_msg(enough_events(t, n), "expected %u events, got: %s", n, topics);
}

/* ---- leftovers ---------------------------------------------------------------------------------
 */

gboolean shim_test_pid_alive(guint32 pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%u/stat", pid);
    g_autofree char *stat = NULL;
    if (!g_file_get_contents(path, &stat, NULL, NULL))
        return FALSE;
    const char *end = strrchr(stat, ')');
    return end && end[1] == ' ' && end[2] != 'Z';
}

gboolean shim_test_wait_gone(guint32 pid, guint seconds)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)seconds * G_USEC_PER_SEC;
    while (shim_test_pid_alive(pid)) {
        if (g_get_monotonic_time() > deadline)
            return FALSE;
        g_usleep(10000);
    }
    return TRUE;
}

gboolean shim_test_wait_log(const char *bundle, const char *needle, guint timeout_ms,
                            char **out_tail)
{
    g_autofree char *path = g_build_filename(bundle, "log", NULL);
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    g_autofree char *log = NULL;
    gboolean found;
    for (;;) {
        g_clear_pointer(&log, g_free);
        if (!g_file_get_contents(path, &log, NULL, NULL))
            log = g_strdup("");
        found = strstr(log, needle) != NULL;
        if (found || g_get_monotonic_time() > deadline)
            break;
        g_usleep(20000);
    }
    gsize len = strlen(log);
    *out_tail = g_strdup(log + (len > LOG_TAIL_BYTES ? len - LOG_TAIL_BYTES : 0));
    return found;
}

/* A live process (not us) whose /proc/PID/@file (cmdline, cgroup) contains @needle, or 0. */
static guint32 process_mentioning(const char *file, const char *needle)
{
    g_autoptr(GDir) dir = g_dir_open("/proc", 0, NULL);
    const char *name;
    while ((name = g_dir_read_name(dir))) {
        guint32 pid = (guint32)g_ascii_strtoull(name, NULL, 10);
        g_autofree char *path = g_strdup_printf("/proc/%s/%s", name, file);
        g_autofree char *cmdline = NULL;
        gsize len;
        if (pid == 0 || pid == (guint32)getpid() ||
            !g_file_get_contents(path, &cmdline, &len, NULL) || !shim_test_pid_alive(pid))
            continue;
        if (memmem(cmdline, len, needle, strlen(needle)))
            return pid;
    }
    return 0;
}

void shim_test_assert_clean(ShimTest *t)
{
    g_autofree char *pod_dir = shim_test_pod_dir(t);
    g_autofree char *mountinfo = NULL;
    guint32 pid;
    if (g_file_test(pod_dir, G_FILE_TEST_EXISTS)) {
        g_autofree char *listing = NULL;
        g_spawn_sync(NULL, (char *[]){"ls", "-lR", pod_dir, NULL}, NULL, G_SPAWN_SEARCH_PATH, NULL,
                     NULL, &listing, NULL, NULL, NULL);
        ck_abort_msg("'%s' left:\n%s", pod_dir, listing);
    }
    ck_assert_msg(!g_file_test(t->socket_path, G_FILE_TEST_EXISTS), "socket '%s' left",
                  t->socket_path);
    ck_assert(g_file_get_contents("/proc/self/mountinfo", &mountinfo, NULL, NULL));
    ck_assert_msg(!strstr(mountinfo, pod_dir), "mounts under '%s' left", pod_dir);
    ck_assert_msg(!(pid = process_mentioning("cmdline", pod_dir)), "process %u (of '%s') left", pid,
                  pod_dir);
    ck_assert_msg(!(pid = process_mentioning("cmdline", t->socket_path)), "daemon %u left", pid);
    /* A host-mode pod's containers live in a cgroup named after the pod. */
    g_autofree char *pod_name = g_path_get_basename(pod_dir);
    g_autofree char *cgroup = shim_host_cgroup_path(pod_name, NULL);
    ck_assert_msg(!(pid = process_mentioning("cgroup", pod_name)), "process %u in cgroup '%s' left",
                  pid, cgroup);
    ck_assert_msg(!cgroup || !g_file_test(cgroup, G_FILE_TEST_EXISTS), "cgroup '%s' left", cgroup);
}
