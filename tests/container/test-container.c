/* test-container: builds real containers from a busybox rootfs (root needed). */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container-test.h"

static CtEnv *env;

static void setup(void)
{
    /* The default main context's wakeup fd is there before the fds are counted. */
    g_main_context_default();
    env = ct_env_new();
}

static void teardown(void)
{
    ct_env_free(env);
    env = NULL;
}

#define SH(script) ((const char *const[]){"sh", "-c", script, NULL})

/* Runs `script` in a container made from `spec` (the default spec when NULL). */
static char *run_sh(json_object *spec, const char *script, int *status)
{
    g_autoptr(json_object) owned = spec ? NULL : ct_spec_new(SH("true"));
    ct_spec_set_script(spec ? spec : owned, script);
    return ct_run(env, spec ? spec : owned, status);
}

static void add_mount(json_object *spec, const char *mount_json)
{
    json_object *mounts;
    ck_assert(json_object_object_get_ex(spec, "mounts", &mounts));
    json_object_array_add(mounts, ct_json(mount_json));
}

/* Creating a container from `spec` fails with an error that names `needle`. */
static void assert_create_fails(json_object *spec, int code, const char *needle)
{
    g_autoptr(GError) error = NULL;
    int fd;
    ck_assert_ptr_null(ct_create(env, spec, &fd, &error));
    ck_assert_msg(g_error_matches(error, CONTAINER_ERROR, code), "error %d '%s', expected code %d",
                  error->code, error->message, code);
    ck_assert_msg(strstr(error->message, needle) != NULL, "'%s' does not name '%s'", error->message,
                  needle);
}

START_TEST(test_output_and_exit_code)
{
    int status;
    g_autofree char *out = run_sh(NULL, "echo hello; echo oops >&2; exit 3", &status);
    ck_assert_str_eq(out, "hello\noops\n");
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 3);
}
END_TEST

START_TEST(test_hostname_and_pid1)
{
    int status;
    g_autofree char *out = run_sh(NULL, "hostname; echo $$", &status);
    ck_assert_str_eq(out, "testbox\n1\n");
    ck_assert_int_eq(status, 0);
}
END_TEST

START_TEST(test_domainname_and_sysctl)
{
    int status;
    g_autoptr(json_object) spec = ct_spec_new(SH("true"));
    ct_spec_set(spec, "domainname", json_object_new_string("example.test"));
    ct_spec_set(spec, "linux.sysctl", ct_json("{\"net.ipv4.ip_forward\": \"1\"}"));
    g_autofree char *out =
        run_sh(spec, "cat /proc/sys/kernel/domainname /proc/sys/net/ipv4/ip_forward", &status);
    ck_assert_str_eq(out, "example.test\n1\n");
    /* The container's UTS namespace got the domain name, not ours. */
    g_autofree char *ours = NULL;
    ck_assert(g_file_get_contents("/proc/sys/kernel/domainname", &ours, NULL, NULL));
    ck_assert_str_ne(ours, "example.test\n");
}
END_TEST

START_TEST(test_env_and_cwd)
{
    int status;
    g_autoptr(json_object) spec = ct_spec_new(SH(""));
    ct_spec_set(spec, "process.cwd", json_object_new_string("/tmp/work"));
    ct_spec_set(spec, "process.env", ct_json("[\"PATH=/bin\", \"GREETING=hi there\"]"));
    /* Nothing of the builder's environment reaches the container. */
    g_setenv("SC_HOST_ONLY", "leaked", TRUE);
    g_autofree char *out =
        run_sh(spec, "echo \"$GREETING\"; pwd; echo ${SC_HOST_ONLY:-unset}", &status);
    ck_assert_str_eq(out, "hi there\n/tmp/work\nunset\n");
    g_autofree char *created = g_build_filename(env->rootfs, "tmp", "work", NULL);
    ck_assert(g_file_test(created, G_FILE_TEST_IS_DIR));
}
END_TEST

START_TEST(test_uid_gid)
{
    int status;
    g_autoptr(json_object) spec = ct_spec_new(SH("true"));
    ct_spec_set(spec, "process.user",
                ct_json("{\"uid\": 1000, \"gid\": 1001, \"additionalGids\": [20, 30]}"));
    ct_spec_set(spec, "process.user.umask", json_object_new_int(027));
    ct_spec_set(spec, "process.oomScoreAdj", json_object_new_int(123));
    g_autofree char *out =
        run_sh(spec, "id -u; id -g; id -G; umask; cat /proc/self/oom_score_adj", &status);
    ck_assert_str_eq(out, "1000\n1001\n1001 20 30\n0027\n123\n");
}
END_TEST

START_TEST(test_join_namespace_by_path)
{
    int status;
    g_autoptr(json_object) spec = ct_spec_new(SH("true"));
    ct_spec_set(spec, "linux.namespaces",
                ct_json("[{\"type\": \"pid\"}, {\"type\": \"mount\"}, {\"type\": \"uts\"},"
                        " {\"type\": \"network\", \"path\": \"/proc/self/ns/net\"}]"));
    g_autofree char *out =
        run_sh(spec, "readlink /proc/self/ns/net; readlink /proc/self/ns/uts", &status);
    char ours_net[64] = "", ours_uts[64] = "";
    ck_assert_int_gt(readlink("/proc/self/ns/net", ours_net, sizeof ours_net - 1), 0);
    ck_assert_int_gt(readlink("/proc/self/ns/uts", ours_uts, sizeof ours_uts - 1), 0);
    g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
    ck_assert_uint_ge(g_strv_length(lines), 2);
    /* The network namespace is ours, joined by path; the UTS one is new. */
    ck_assert_str_eq(lines[0], ours_net);
    ck_assert_str_ne(lines[1], ours_uts);
}
END_TEST

START_TEST(test_readonly_rootfs)
{
    int status;
    g_autoptr(json_object) spec = ct_spec_new(SH("true"));
    ct_spec_set(spec, "root.readonly", json_object_new_boolean(TRUE));
    g_autofree char *out =
        run_sh(spec, "touch /newfile && echo wrote; touch /dev/shm/ok && echo tmpfs-ok", &status);
    ck_assert_msg(strstr(out, "Read-only file system") != NULL, "output: %s", out);
    ck_assert_ptr_null(strstr(out, "wrote"));
    ck_assert_ptr_nonnull(strstr(out, "tmpfs-ok"));
    g_autofree char *host = g_build_filename(env->rootfs, "newfile", NULL);
    ck_assert(!g_file_test(host, G_FILE_TEST_EXISTS));
}
END_TEST

START_TEST(test_bind_mounts)
{
    int status;
    g_autofree char *src = g_build_filename(env->dir, "shared", NULL);
    g_autofree char *file = g_build_filename(src, "hello.txt", NULL);
    ck_assert_int_eq(g_mkdir_with_parents(src, 0755), 0);
    ck_assert(g_file_set_contents(file, "from the host\n", -1, NULL));
    g_autoptr(json_object) spec = ct_spec_new(SH("true"));
    g_autofree char *ro = g_strdup_printf("{\"destination\": \"/mnt/ro\", \"type\": \"bind\","
                                          " \"source\": \"%s\", \"options\": [\"rbind\", \"ro\"]}",
                                          src);
    g_autofree char *rw = g_strdup_printf("{\"destination\": \"/mnt/rw/deep\", \"type\": \"none\","
                                          " \"source\": \"%s\", \"options\": [\"bind\"]}",
                                          src);
    g_autofree char *one = g_strdup_printf("{\"destination\": \"/etc/hello\", \"type\": \"bind\","
                                           " \"source\": \"%s\", \"options\": [\"bind\", \"ro\"]}",
                                           file);
    add_mount(spec, ro);
    add_mount(spec, rw);
    add_mount(spec, one);
    g_autofree char *out = run_sh(spec,
                                  "cat /mnt/ro/hello.txt; cat /etc/hello;"
                                  " touch /mnt/ro/new || echo ro-refused;"
                                  " echo written > /mnt/rw/deep/new && echo rw-ok",
                                  &status);
    ck_assert_msg(g_str_has_prefix(out, "from the host\nfrom the host\n"), "output: %s", out);
    ck_assert_ptr_nonnull(strstr(out, "Read-only file system"));
    ck_assert_ptr_nonnull(strstr(out, "ro-refused"));
    ck_assert_ptr_nonnull(strstr(out, "rw-ok"));
    g_autofree char *written = g_build_filename(src, "new", NULL);
    g_autofree char *content = NULL;
    ck_assert(g_file_get_contents(written, &content, NULL, NULL));
    ck_assert_str_eq(content, "written\n");
}
END_TEST

static guint64 cap_mask(const char *const *names)
{
    static const struct {
        const char *name;
        int cap;
    } known[] = {{"CAP_CHOWN", CAP_CHOWN},
                 {"CAP_KILL", CAP_KILL},
                 {"CAP_NET_BIND_SERVICE", CAP_NET_BIND_SERVICE},
                 {"CAP_SYS_ADMIN", CAP_SYS_ADMIN},
                 {"CAP_NET_RAW", CAP_NET_RAW}};
    guint64 mask = 0;
    for (const char *const *n = names; *n; n++)
        for (gsize i = 0; i < G_N_ELEMENTS(known); i++)
            if (strcmp(*n, known[i].name) == 0)
                mask |= G_GUINT64_CONSTANT(1) << known[i].cap;
    return mask;
}

static guint64 status_field(const char *status_text, const char *field)
{
    const char *at = strstr(status_text, field);
    ck_assert_msg(at != NULL, "no %s in: %s", field, status_text);
    return g_ascii_strtoull(at + strlen(field), NULL, 16);
}

/* The Cap* and NoNewPrivs lines of /proc/self/status in a container of uid and gid 1000
 * with the capabilities `caps_json`. */
static char *status_of_user_with_caps(const char *caps_json, int *status)
{
    g_autoptr(json_object) spec = ct_spec_new(SH("true"));
    ct_spec_set(spec, "process.user", ct_json("{\"uid\": 1000, \"gid\": 1000}"));
    ct_spec_set(spec, "process.capabilities", ct_json(caps_json));
    return run_sh(spec, "grep -E '^Cap|^NoNewPrivs' /proc/self/status", status);
}

START_TEST(test_capabilities)
{
    int status;
    g_autofree char *out = status_of_user_with_caps(
        "{\"bounding\": [\"CAP_CHOWN\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"],"
        " \"effective\": [\"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"],"
        " \"permitted\": [\"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"],"
        " \"inheritable\": [\"CAP_NET_BIND_SERVICE\"],"
        " \"ambient\": [\"CAP_NET_BIND_SERVICE\"]}",
        &status);
    /* A non-root process keeps across execve only its ambient set (in permitted and effective). */
    guint64 ambient = cap_mask((const char *const[]){"CAP_NET_BIND_SERVICE", NULL});
    ck_assert_uint_eq(
        status_field(out, "CapBnd:\t"),
        cap_mask((const char *const[]){"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", NULL}));
    ck_assert_uint_eq(status_field(out, "CapInh:\t"), ambient);
    ck_assert_uint_eq(status_field(out, "CapAmb:\t"), ambient);
    ck_assert_uint_eq(status_field(out, "CapPrm:\t"), ambient);
    ck_assert_uint_eq(status_field(out, "CapEff:\t"), ambient);
    ck_assert_uint_eq(status_field(out, "NoNewPrivs:\t"), 1);

    /* Root gets exactly the spec's sets. */
    g_autoptr(json_object) root_spec = ct_spec_new(SH("true"));
    ct_spec_set(root_spec, "process.capabilities",
                ct_json("{\"bounding\": [\"CAP_CHOWN\", \"CAP_KILL\"],"
                        " \"effective\": [\"CAP_CHOWN\", \"CAP_KILL\"],"
                        " \"permitted\": [\"CAP_CHOWN\", \"CAP_KILL\"]}"));
    g_autofree char *root_out = run_sh(root_spec, "grep -E '^Cap' /proc/self/status", &status);
    guint64 both = cap_mask((const char *const[]){"CAP_CHOWN", "CAP_KILL", NULL});
    ck_assert_uint_eq(status_field(root_out, "CapBnd:\t"), both);
    ck_assert_uint_eq(status_field(root_out, "CapEff:\t"), both);
    ck_assert_uint_eq(status_field(root_out, "CapPrm:\t"), both);
    ck_assert_uint_eq(status_field(root_out, "CapInh:\t"), 0);
}
END_TEST

/* runc-style ambient sets: the kernel raises an ambient capability only when it is both
 * permitted and inheritable; the others are skipped, not fatal. */
START_TEST(test_ambient_capabilities_the_kernel_refuses)
{
    int status;
    g_autofree char *out = status_of_user_with_caps(
        "{\"bounding\": [\"CAP_CHOWN\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"],"
        " \"effective\": [\"CAP_CHOWN\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"],"
        " \"permitted\": [\"CAP_CHOWN\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"],"
        " \"inheritable\": [\"CAP_KILL\"],"
        " \"ambient\": [\"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"]}",
        &status);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d: %s", status, out);
    guint64 kill_only = cap_mask((const char *const[]){"CAP_KILL", NULL});
    ck_assert_uint_eq(status_field(out, "CapAmb:\t"), kill_only);
    ck_assert_uint_eq(status_field(out, "CapPrm:\t"), kill_only);
    ck_assert_uint_eq(status_field(out, "CapEff:\t"), kill_only);

    /* As runc's default spec has it: ambient listed, inheritable empty. */
    g_autofree char *runc_out =
        status_of_user_with_caps("{\"bounding\": [\"CAP_KILL\"], \"effective\": [\"CAP_KILL\"],"
                                 " \"permitted\": [\"CAP_KILL\"], \"ambient\": [\"CAP_KILL\"]}",
                                 &status);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d: %s", status, runc_out);
    ck_assert_uint_eq(status_field(runc_out, "CapAmb:\t"), 0);
    ck_assert_uint_eq(status_field(runc_out, "CapEff:\t"), 0);
}
END_TEST

START_TEST(test_seccomp)
{
    int status;
    g_autoptr(json_object) spec = ct_spec_new(SH("true"));
    ct_spec_set(
        spec, "linux.seccomp",
        ct_json("{\"defaultAction\": \"SCMP_ACT_ALLOW\","
                " \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\"],"
                " \"syscalls\": [{\"names\": [\"mkdir\", \"mkdirat\"],"
                "   \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 18},"
                "  {\"names\": [\"kill\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 33,"
                "   \"args\": [{\"index\": 1, \"value\": 10, \"op\": \"SCMP_CMP_EQ\"}]}]}"));
    g_autofree char *out = run_sh(spec,
                                  "grep Seccomp: /proc/self/status; mkdir /tmp/x;"
                                  " kill -0 $$ && echo kill0-ok; kill -USR1 $$ || echo usr1-denied",
                                  &status);
    ck_assert_msg(strstr(out, "Seccomp:\t2\n") != NULL, "output: %s", out);
    ck_assert_ptr_nonnull(strstr(out, g_strerror(EXDEV)));
    ck_assert_ptr_nonnull(strstr(out, "kill0-ok"));
    ck_assert_ptr_nonnull(strstr(out, g_strerror(EDOM)));
    ck_assert_ptr_nonnull(strstr(out, "usr1-denied"));
    g_autofree char *host = g_build_filename(env->rootfs, "tmp", "x", NULL);
    ck_assert(!g_file_test(host, G_FILE_TEST_EXISTS));
}
END_TEST

START_TEST(test_devices_masks_rlimits)
{
    int status;
    g_autofree char *out = run_sh(NULL,
                                  "test -c /dev/null && test -c /dev/urandom && test -c /dev/tty"
                                  " && test -L /dev/ptmx && test -L /dev/fd && echo devices-ok;"
                                  " echo x > /dev/null && echo null-ok;"
                                  " wc -c < /proc/timer_list; ulimit -n;"
                                  " echo 1 > /proc/sys/kernel/ns_last_pid || echo sys-ro",
                                  &status);
    ck_assert_msg(strstr(out, "devices-ok\nnull-ok\n0\n1024\n") != NULL, "output: %s", out);
    ck_assert_ptr_nonnull(strstr(out, "sys-ro"));
}
END_TEST

START_TEST(test_masked_and_readonly_through_symlinks)
{
    int status;
    g_autofree char *secret = g_build_filename(env->rootfs, "etc", "secret", NULL);
    g_autofree char *alias = g_build_filename(env->rootfs, "etc", "alias", NULL);
    g_autofree char *data = g_build_filename(env->rootfs, "data", NULL);
    g_autofree char *data_link = g_build_filename(env->rootfs, "data-link", NULL);
    ck_assert(g_file_set_contents(secret, "classified\n", -1, NULL));
    ck_assert_int_eq(symlink("/etc/secret", alias), 0);
    ck_assert_int_eq(mkdir(data, 0755), 0);
    ck_assert_int_eq(symlink("data", data_link), 0);
    g_autoptr(json_object) spec = ct_spec_new(SH("true"));
    ct_spec_set(spec, "linux.maskedPaths", ct_json("[\"/etc/alias\", \"/no/such/path\"]"));
    ct_spec_set(spec, "linux.readonlyPaths", ct_json("[\"/data-link\"]"));
    g_autofree char *out =
        run_sh(spec, "wc -c < /etc/secret; touch /data/x || echo data-ro", &status);
    ck_assert_msg(g_str_has_prefix(out, "0\n") && strstr(out, "data-ro"), "output: %s", out);
}
END_TEST

START_TEST(test_clean_process_state)
{
    int status;
    /* An fd the caller forgot to mark close-on-exec must still not reach the container, nor
     * the caller's blocked (signalfd) and ignored signals. */
    int leaky = open("/dev/null", O_RDONLY);
    ck_assert_int_ge(leaky, 3);
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGCHLD);
    sigaddset(&block, SIGUSR1);
    ck_assert_int_eq(sigprocmask(SIG_BLOCK, &block, NULL), 0);
    signal(SIGPIPE, SIG_IGN);
    g_autofree char *out = run_sh(
        NULL, "grep -E '^Sig(Blk|Ign)' /proc/self/status; ls /proc/self/fd | wc -l", &status);
    close(leaky);
    /* ls sees 0, 1, 2 and its own directory fd. */
    ck_assert_str_eq(out, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n4\n");
}
END_TEST

/* Creates and starts a container whose init runs `script`; its output goes to *out_fd. */
static Container *start_sh(json_object *spec_or_null, const char *script, int *out_fd)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) spec =
        spec_or_null ? json_object_get(spec_or_null) : ct_spec_new(SH("true"));
    ct_spec_set_script(spec, script);
    Container *c = ct_create(env, spec, out_fd, &error);
    ck_assert_msg(c != NULL, "create: %s", error ? error->message : "");
    ck_assert_msg(container_start(c, &error), "start: %s", error ? error->message : "");
    return c;
}

/* PID mode POD: a container joins the PID namespace of another one (the pod's pause), where it
 * is not PID 1 and sees that one's init as PID 1. */
START_TEST(test_join_pid_namespace)
{
    int fd, status;
    g_autoptr(GError) error = NULL;
    Container *first = start_sh(NULL, "exec sleep 1000", &fd);
    g_autofree char *ns = g_strdup_printf("/proc/%d/ns/pid", (int)container_get_pid(first));
    g_autofree char *ns_json = g_strdup_printf(
        "[{\"type\": \"pid\", \"path\": \"%s\"}, {\"type\": \"mount\"}, {\"type\": \"uts\"}]", ns);
    g_autoptr(json_object) spec = ct_spec_new(SH("true"));
    ct_spec_set(spec, "linux.namespaces", ct_json(ns_json));
    g_autofree char *out = run_sh(spec, "echo $$; cat /proc/1/cmdline | tr '\\0' ' '", &status);
    ck_assert_int_eq(status, 0);
    g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
    ck_assert_uint_ge(g_strv_length(lines), 2);
    ck_assert_str_ne(lines[0], "1");
    ck_assert_str_eq(lines[1], "sleep 1000 ");
    /* An exec joins the same namespace. */
    char own[64] = "", joined[64] = "";
    ck_assert_int_gt(readlink(ns, own, sizeof own - 1), 0);
    g_autofree char *cmp = g_strdup_printf("readlink /proc/self/ns/pid");
    ct_spec_set_script(spec, cmp);
    g_autofree char *again = ct_run(env, spec, &status);
    g_strlcpy(joined, again, sizeof joined);
    g_strchomp(joined);
    ck_assert_str_eq(joined, own);
    pid_t pid = container_get_pid(first);
    ck_assert(container_destroy(first, &error));
    ct_reap(pid);
    g_free(ct_read_all(fd));
}
END_TEST

/* hostPID: no pid namespace in the spec shares the builder's (in a pod VM, the VM's). */
START_TEST(test_no_pid_namespace_shares_ours)
{
    int status;
    g_autoptr(json_object) spec = ct_spec_new(SH("true"));
    ct_spec_set(spec, "linux.namespaces", ct_json("[{\"type\": \"mount\"}, {\"type\": \"uts\"}]"));
    g_autofree char *script =
        g_strdup_printf("test -d /proc/%d && echo sees-builder", (int)getpid());
    g_autofree char *out = run_sh(spec, script, &status);
    ck_assert_str_eq(out, "sees-builder\n");
}
END_TEST

/* Kills the container's init, reaps it and destroys the container. */
static void kill_and_destroy(Container *c, int out_fd)
{
    g_autoptr(GError) error = NULL;
    ck_assert_msg(container_signal(c, SIGKILL, FALSE, &error), "%s", error ? error->message : "");
    int status = ct_reap(container_get_pid(c));
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    g_free(ct_read_all(out_fd));
    ck_assert_msg(container_destroy(c, &error), "destroy: %s", error ? error->message : "");
}

static OciProcess *process_new(const char *const *args, gboolean terminal)
{
    g_autoptr(json_object) p = ct_json("{\"user\": {\"uid\": 0, \"gid\": 0}, \"cwd\": \"/\","
                                       " \"env\": [\"PATH=/bin\"]}");
    json_object *array = json_object_new_array();
    for (const char *const *a = args; *a; a++)
        json_object_array_add(array, json_object_new_string(*a));
    json_object_object_add(p, "args", array);
    json_object_object_add(p, "terminal", json_object_new_boolean(terminal));
    const char *json = json_object_to_json_string(p);
    g_autoptr(GError) error = NULL;
    OciProcess *process = oci_process_parse(json, strlen(json), &error);
    ck_assert_msg(process != NULL, "%s", error ? error->message : "");
    return process;
}

static OciProcess *process_sh(const char *script, gboolean terminal)
{
    return process_new(SH(script), terminal);
}

/* Runs `script` as an exec'd process of `c` and returns its output. */
static char *exec_output(Container *c, const char *script)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(OciProcess) p = process_sh(script, FALSE);
    int pipefd[2];
    ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
    ContainerStdio stdio = {.stdin_fd = -1, .stdout_fd = pipefd[1], .stderr_fd = pipefd[1]};
    pid_t pid = container_exec(c, p, &stdio, NULL, &error);
    close(pipefd[1]);
    ck_assert_msg(pid > 0, "exec: %s", error ? error->message : "");
    char *out = ct_read_all(pipefd[0]);
    ct_reap(pid);
    return out;
}

START_TEST(test_device_rules)
{
    int status;
    /* The default spec denies every device; the ones the builder makes stay usable. */
    static const char script[] =
        "mknod /dev/kmsg2 c 1 11 && echo made; echo sc-container-test > /dev/kmsg2 && echo wrote;"
        " echo x > /dev/null && echo null-ok";
    g_autofree char *out = run_sh(NULL, script, &status);
    ck_assert_msg(g_str_has_prefix(out, "made\n") && strstr(out, g_strerror(EPERM)) &&
                      !strstr(out, "wrote") && g_str_has_suffix(out, "null-ok\n"),
                  "output: %s", out);

    /* A later allow rule wins over the deny-all. */
    g_autoptr(json_object) spec = ct_spec_new(SH("true"));
    ct_spec_set(spec, "linux.resources.devices",
                ct_json("[{\"allow\": false, \"access\": \"rwm\"},"
                        " {\"allow\": true, \"type\": \"c\", \"major\": 1, \"minor\": 11, "
                        "\"access\": \"w\"}]"));
    g_autofree char *allowed = run_sh(spec, script, &status);
    ck_assert_str_eq(allowed, "made\nwrote\nnull-ok\n");

    /* An update replaces the filter of a running container. */
    int fd;
    g_autoptr(GError) error = NULL;
    Container *c = start_sh(NULL, "exec sleep 1000", &fd);
    static const char allow[] =
        "{\"devices\": [{\"allow\": false, \"access\": \"rwm\"},"
        " {\"allow\": true, \"type\": \"c\", \"major\": 1, \"minor\": 11}]}";
    g_autofree char *before = exec_output(
        c, "mknod /dev/kmsg2 c 1 11; echo sc-container-test > /dev/kmsg2 && echo wrote");
    ck_assert_ptr_nonnull(strstr(before, g_strerror(EPERM)));
    ck_assert_msg(container_update(c, allow, strlen(allow), &error), "%s",
                  error ? error->message : "");
    g_autofree char *after = exec_output(c, "echo sc-container-test > /dev/kmsg2 && echo wrote");
    ck_assert_str_eq(after, "wrote\n");
    kill_and_destroy(c, fd);
}
END_TEST

START_TEST(test_exec)
{
    int init_fd;
    g_autoptr(GError) error = NULL;
    /* sleep itself, not a shell that execs it later: /proc/1/comm is checked below. */
    g_autoptr(json_object) spec = ct_spec_new((const char *const[]){"sleep", "1000", NULL});
    Container *c = ct_create(env, spec, &init_fd, &error);
    ck_assert_msg(c != NULL && container_start(c, &error), "%s", error ? error->message : "");

    int pipefd[2];
    ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
    ContainerStdio stdio = {.stdin_fd = -1, .stdout_fd = pipefd[1], .stderr_fd = pipefd[1]};
    g_autoptr(OciProcess) p = process_sh("echo $$; hostname; cat /proc/1/comm; exit 5", FALSE);
    pid_t pid = container_exec(c, p, &stdio, NULL, &error);
    close(pipefd[1]);
    ck_assert_msg(pid > 0, "exec: %s", error ? error->message : "");
    g_autofree char *out = ct_read_all(pipefd[0]);
    int status = ct_reap(pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 5);
    g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
    ck_assert_uint_ge(g_strv_length(lines), 3);
    ck_assert_int_gt(atoi(lines[0]), 1);
    ck_assert_str_eq(lines[1], "testbox");
    ck_assert_str_eq(lines[2], "sleep");

    /* The exec'd process was in the container's cgroup. */
    g_autoptr(GArray) pids = container_list_pids(c, &error);
    ck_assert_ptr_nonnull(pids);
    ck_assert_uint_eq(pids->len, 1);
    ck_assert_int_eq(g_array_index(pids, pid_t, 0), container_get_pid(c));

    /* A program that does not exist fails the call, and leaves nothing behind. */
    g_autoptr(OciProcess) missing =
        process_new((const char *const[]){"/no/such/program", NULL}, FALSE);
    ContainerStdio quiet = {.stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
    ck_assert_int_eq(container_exec(c, missing, &quiet, NULL, &error), -1);
    ck_assert_msg(strstr(error->message, "/no/such/program") &&
                      strstr(error->message, g_strerror(ENOENT)),
                  "%s", error->message);
    kill_and_destroy(c, init_fd);
}
END_TEST

START_TEST(test_stdin)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) spec = ct_spec_new((const char *const[]){"cat", NULL});
    g_autoptr(OciSpec) parsed = ct_spec_parse(spec);
    int in[2], out[2];
    ck_assert_int_eq(pipe2(in, O_CLOEXEC), 0);
    ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
    ContainerStdio stdio = {.stdin_fd = in[0], .stdout_fd = out[1], .stderr_fd = out[1]};
    Container *c =
        container_create("stdin", parsed, env->rootfs, env->cgroup_root, &stdio, NULL, &error);
    close(in[0]);
    close(out[1]);
    ck_assert_msg(c != NULL, "create: %s", error ? error->message : "");
    ck_assert(container_start(c, &error));
    ck_assert_int_eq(write(in[1], "ping\n", 5), 5);
    close(in[1]);
    g_autofree char *echoed = ct_read_all(out[0]);
    ck_assert_str_eq(echoed, "ping\n");
    ck_assert_int_eq(ct_reap(container_get_pid(c)), 0);
    ck_assert(container_destroy(c, &error));
}
END_TEST

typedef struct {
    gboolean done;
    Container *container;
    GError *error;
} Created;

static void on_created(Container *container, int *pty_master, const GError *error, gpointer data)
{
    Created *created = data;
    (void)pty_master;
    ck_assert(!created->done);
    created->done = TRUE;
    created->container = container;
    created->error = error ? g_error_copy(error) : NULL;
}

static gboolean count_tick(gpointer data)
{
    (*(guint *)data)++;
    return G_SOURCE_CONTINUE;
}

static void freeze_cgroup_root(gboolean frozen)
{
    g_autofree char *path = g_build_filename(env->cgroup_root, "cgroup.freeze", NULL);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    ck_assert_msg(fd >= 0, "open '%s': %s", path, g_strerror(errno));
    ck_assert_int_eq(write(fd, frozen ? "1" : "0", 1), 1);
    close(fd);
}

/* container_create_async() waits for the init's setup from the loop: while the init is held
 * (its cgroup's parent frozen: it stops before it runs a line of its setup), the loop keeps
 * dispatching and the create does not complete; thawed, it completes and the container runs. */
#define HELD_MS 300
/* What a cancelled create gets to call back, which it must not. */
#define LEFT_FOR_US (100 * G_TIME_SPAN_MILLISECOND)
START_TEST(test_create_async_serves_loop)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) spec = ct_spec_new(SH("echo created"));
    g_autoptr(OciSpec) parsed = ct_spec_parse(spec);
    int out[2];
    ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
    ContainerStdio stdio = {.stdin_fd = -1, .stdout_fd = out[1], .stderr_fd = out[1]};
    Created created = {0};
    guint ticks = 0;

    freeze_cgroup_root(TRUE);
    ContainerCreate *create = container_create_async("held", parsed, env->rootfs, env->cgroup_root,
                                                     &stdio, NULL, on_created, &created, &error);
    close(out[1]);
    ck_assert_msg(create != NULL, "%s", error ? error->message : "");
    ck_assert(!created.done);
    ck_assert_int_gt(container_create_get_pid(create), 0);
    guint tick = g_timeout_add(10, count_tick, &ticks);
    test_util_run_for(HELD_MS * G_TIME_SPAN_MILLISECOND);
    g_source_remove(tick);
    ck_assert_msg(ticks >= 3, "the loop dispatched %u ticks while the setup was held", ticks);
    ck_assert(!created.done);

    freeze_cgroup_root(FALSE);
    test_util_run_until(&created.done, 10 * G_USEC_PER_SEC);
    ck_assert_msg(created.done && created.container != NULL, "%s",
                  created.error ? created.error->message : "no answer");
    ck_assert(container_start(created.container, &error));
    g_autofree char *output = ct_read_all(out[0]);
    ck_assert_str_eq(output, "created\n");
    ck_assert_int_eq(ct_reap(container_get_pid(created.container)), 0);
    ck_assert(container_destroy(created.container, &error));
}
END_TEST

/* A create cancelled while the init's setup is held leaves nothing (checked by the fixture). */
START_TEST(test_create_async_cancel)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) spec = ct_spec_new(SH("true"));
    g_autoptr(OciSpec) parsed = ct_spec_parse(spec);
    ContainerStdio stdio = {.stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
    Created created = {0};

    freeze_cgroup_root(TRUE);
    ContainerCreate *create =
        container_create_async("cancelled", parsed, env->rootfs, env->cgroup_root, &stdio, NULL,
                               on_created, &created, &error);
    ck_assert_msg(create != NULL, "%s", error ? error->message : "");
    pid_t pid = container_create_get_pid(create);
    container_create_cancel(create);
    freeze_cgroup_root(FALSE);
    g_autofree char *proc = g_strdup_printf("/proc/%d", (int)pid);
    ck_assert_msg(!g_file_test(proc, G_FILE_TEST_EXISTS), "the init %d is left", (int)pid);
    test_util_run_for(LEFT_FOR_US);
    ck_assert(!created.done);
}
END_TEST

START_TEST(test_terminal)
{
    g_autoptr(GError) error = NULL;
    /* /dev/console is the same terminal (same device numbers). */
    g_autoptr(json_object) spec = ct_spec_new(SH("tty; test -t 0 && echo is-a-tty; stty size;"
                                                 " [ \"$(stat -c %t:%T /dev/console)\" = \"$(stat "
                                                 "-c %t:%T \"$(tty)\")\" ] && echo console-ok"));
    ct_spec_set(spec, "process.terminal", json_object_new_boolean(TRUE));
    /* The size is on the pty before the process runs: nothing to race with. */
    ct_spec_set(spec, "process.consoleSize", ct_json("{\"height\": 24, \"width\": 80}"));
    g_autoptr(OciSpec) parsed = ct_spec_parse(spec);
    ContainerStdio stdio = {.terminal = TRUE, .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
    int master = -1;
    Container *c =
        container_create("tty", parsed, env->rootfs, env->cgroup_root, &stdio, &master, &error);
    ck_assert_msg(c != NULL, "create: %s", error ? error->message : "");
    ck_assert_int_ge(master, 0);
    ck_assert_int_ne(fcntl(master, F_GETFD) & FD_CLOEXEC, 0);
    ck_assert(container_start(c, &error));
    g_autofree char *out = ct_read_all(master);
    ck_assert_msg(strstr(out, "/dev/pts/0\r\nis-a-tty\r\n24 80\r\nconsole-ok\r\n") != NULL,
                  "output: %s", out);
    ck_assert_int_eq(ct_reap(container_get_pid(c)), 0);

    /* Nor is the init the only one to get one. */
    g_autoptr(OciProcess) p = process_sh("tty", TRUE);
    ck_assert(container_destroy(c, &error));
    int fd;
    Container *c2 = start_sh(NULL, "exec sleep 1000", &fd);
    int exec_master = -1;
    pid_t pid = container_exec(c2, p, &stdio, &exec_master, &error);
    ck_assert_msg(pid > 0, "exec: %s", error ? error->message : "");
    g_autofree char *exec_out = ct_read_all(exec_master);
    ck_assert_int_eq(ct_reap(pid), 0);
    ck_assert_msg(g_str_has_prefix(exec_out, "/dev/pts/"), "output: %s", exec_out);
    kill_and_destroy(c2, fd);
}
END_TEST

START_TEST(test_start_failure)
{
    g_autoptr(GError) error = NULL;
    int fd;
    g_autoptr(json_object) spec = ct_spec_new((const char *const[]){"/bin/not-here", NULL});
    Container *c = ct_create(env, spec, &fd, &error);
    ck_assert_msg(c != NULL, "create: %s", error ? error->message : "");
    ck_assert(!container_start(c, &error));
    ck_assert_msg(strstr(error->message, "exec '/bin/not-here'") &&
                      strstr(error->message, g_strerror(ENOENT)),
                  "%s", error->message);
    int status = ct_reap(container_get_pid(c));
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 127);
    g_clear_error(&error);
    ck_assert(!container_start(c, &error));
    ck_assert(g_error_matches(error, CONTAINER_ERROR, CONTAINER_ERROR_STATE));
    g_free(ct_read_all(fd));
    ck_assert(container_destroy(c, NULL));
}
END_TEST

START_TEST(test_bad_create_leaves_nothing)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) spec = ct_spec_new(SH("true"));
    add_mount(spec, "{\"destination\": \"/mnt/x\", \"type\": \"bind\","
                    " \"source\": \"/no/such/source\", \"options\": [\"bind\"]}");
    assert_create_fails(spec, CONTAINER_ERROR_FAILED, "'/no/such/source'");

    g_autoptr(OciSpec) parsed = ct_spec_parse(spec);
    ContainerStdio stdio = {.stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
    ck_assert_ptr_null(
        container_create("a/b", parsed, env->rootfs, env->cgroup_root, &stdio, NULL, &error));
    ck_assert(g_error_matches(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID));
    ck_assert_ptr_nonnull(strstr(error->message, "'a/b'"));
    g_autofree char *escaped = g_build_filename(env->cgroup_root, "a", NULL);
    ck_assert(!g_file_test(escaped, G_FILE_TEST_EXISTS));
}
END_TEST

START_TEST(test_symlink_escapes)
{
    int status;
    g_autofree char *host_dir = g_build_filename(env->dir, "host-side", NULL);
    ck_assert_int_eq(g_mkdir_with_parents(host_dir, 0755), 0);
    /* An absolute and a relative symlink in the image, both aimed at the host directory. */
    g_autofree char *abs_link = g_build_filename(env->rootfs, "abs", NULL);
    g_autofree char *rel_link = g_build_filename(env->rootfs, "rel", NULL);
    g_autofree char *rel_target = g_strdup_printf("../../../../../../../..%s", host_dir);
    ck_assert_int_eq(symlink(host_dir, abs_link), 0);
    ck_assert_int_eq(symlink(rel_target, rel_link), 0);

    g_autoptr(json_object) tmpfs_spec = ct_spec_new(SH("true"));
    add_mount(tmpfs_spec,
              "{\"destination\": \"/abs/sub\", \"type\": \"tmpfs\", \"source\": \"tmpfs\"}");
    assert_create_fails(tmpfs_spec, CONTAINER_ERROR_ESCAPE, "'/abs' is a symlink to");
    g_autoptr(json_object) bind_spec = ct_spec_new(SH("true"));
    add_mount(bind_spec,
              "{\"destination\": \"/rel/bind\", \"type\": \"bind\", \"source\": \"/proc\","
              " \"options\": [\"rbind\"]}");
    assert_create_fails(bind_spec, CONTAINER_ERROR_ESCAPE, "'/rel' is a symlink to");
    g_autoptr(json_object) cwd_spec = ct_spec_new(SH("true"));
    ct_spec_set(cwd_spec, "process.cwd", json_object_new_string("/abs/cwd"));
    assert_create_fails(cwd_spec, CONTAINER_ERROR_ESCAPE, "'/abs' is a symlink to");
    g_autoptr(GDir) dir = g_dir_open(host_dir, 0, NULL);
    ck_assert_ptr_nonnull(dir);
    ck_assert_msg(g_dir_read_name(dir) == NULL, "something was created in '%s'", host_dir);

    /* Links whose targets exist inside the root (like /var/run -> /run) are followed there. */
    g_autofree char *run = g_build_filename(env->rootfs, "run", NULL);
    g_autofree char *link = g_build_filename(env->rootfs, "link", NULL);
    g_autofree char *up = g_build_filename(env->rootfs, "up", NULL);
    ck_assert_int_eq(mkdir(run, 0755), 0);
    ck_assert_int_eq(symlink("/run", link), 0);
    ck_assert_int_eq(symlink("../../../../run", up), 0);
    g_autoptr(json_object) spec = ct_spec_new(SH("true"));
    add_mount(spec, "{\"destination\": \"/link/a\", \"type\": \"tmpfs\", \"source\": \"tmpfs\"}");
    ct_spec_set(spec, "process.cwd", json_object_new_string("/up/b"));
    g_autofree char *out = run_sh(spec, "pwd; grep -c ' /run/a ' /proc/self/mountinfo", &status);
    ck_assert_str_eq(out, "/run/b\n1\n");
    g_autofree char *made = g_build_filename(run, "a", NULL);
    ck_assert(g_file_test(made, G_FILE_TEST_IS_DIR));
}
END_TEST

static guint64 cpu_ticks(pid_t pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/stat", (int)pid);
    g_autofree char *text = NULL;
    ck_assert(g_file_get_contents(path, &text, NULL, NULL));
    /* utime and stime are fields 14 and 15, after the parenthesised command. */
    const char *rest = strrchr(text, ')');
    g_auto(GStrv) fields = g_strsplit(rest + 2, " ", -1);
    return g_ascii_strtoull(fields[11], NULL, 10) + g_ascii_strtoull(fields[12], NULL, 10);
}

/* Waits until the process has used more CPU than `since`, for up to 10 s. */
static gboolean cpu_advances(pid_t pid, guint64 since)
{
    for (int i = 0; i < 100; i++) {
        if (cpu_ticks(pid) > since)
            return TRUE;
        g_usleep(100 * 1000);
    }
    return FALSE;
}

START_TEST(test_pause_resume_stats)
{
    int fd;
    g_autoptr(GError) error = NULL;
    Container *c = start_sh(NULL, "while :; do :; done", &fd);
    pid_t pid = container_get_pid(c);
    ck_assert(cpu_advances(pid, 0));

    ck_assert_msg(container_pause(c, &error), "pause: %s", error ? error->message : "");
    g_autofree char *events = ct_cgroup_read(env, c, "cgroup.events");
    ck_assert_ptr_nonnull(strstr(events, "frozen 1"));
    /* Accounting may trail the freeze by a tick; after that the CPU time must stand still. */
    g_usleep(100 * 1000);
    guint64 frozen_at = cpu_ticks(pid);
    g_usleep(400 * 1000);
    ck_assert_uint_eq(cpu_ticks(pid), frozen_at);
    g_autoptr(OciProcess) p = process_sh("true", FALSE);
    ContainerStdio quiet = {.stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
    ck_assert_int_eq(container_exec(c, p, &quiet, NULL, &error), -1);
    ck_assert(g_error_matches(error, CONTAINER_ERROR, CONTAINER_ERROR_STATE));
    g_clear_error(&error);

    ck_assert_msg(container_resume(c, &error), "resume: %s", error ? error->message : "");
    ck_assert(cpu_advances(pid, frozen_at));

    Io__Containerd__Cgroups__V2__Metrics *m = container_stats(c, &error);
    ck_assert_msg(m != NULL, "stats: %s", error ? error->message : "");
    ck_assert_ptr_nonnull(m->cpu);
    ck_assert_uint_gt(m->cpu->usage_usec, 0);
    ck_assert_uint_ge(m->cpu->usage_usec, m->cpu->user_usec);
    if (ct_env_has_controller(env, "pids")) {
        ck_assert_ptr_nonnull(m->pids);
        ck_assert_uint_eq(m->pids->current, 1);
    }
    if (ct_env_has_controller(env, "memory")) {
        ck_assert_ptr_nonnull(m->memory);
        ck_assert_uint_gt(m->memory->usage, 0);
    }
    io__containerd__cgroups__v2__metrics__free_unpacked(m, NULL);
    kill_and_destroy(c, fd);
}
END_TEST

START_TEST(test_hugepage_limits)
{
    int fd;
    g_autoptr(GError) error = NULL;
    g_autoptr(json_object) spec = ct_spec_new(SH("true"));
    /* Kubelet sends limit 0 for every page size it does not grant; one the kernel lacks is moot. */
    ct_spec_set(
        spec, "linux.resources.hugepageLimits",
        ct_json("[{\"pageSize\": \"2MB\", \"limit\": 0}, {\"pageSize\": \"32KB\", \"limit\": 0}]"));
    Container *c = ct_create(env, spec, &fd, &error);
    ck_assert_msg(c != NULL, "create: %s", error ? error->message : "");
    g_autofree char *max = ct_cgroup_read(env, c, "hugetlb.2MB.max");
    ck_assert_str_eq(max, "0");
    Io__Containerd__Cgroups__V2__Metrics *m = container_stats(c, &error);
    ck_assert_ptr_nonnull(m);
    gboolean seen = FALSE;
    for (gsize i = 0; i < m->n_hugetlb; i++)
        if (strcmp(m->hugetlb[i]->pagesize, "2MB") == 0)
            seen = m->hugetlb[i]->max == 0 && m->hugetlb[i]->current == 0;
    ck_assert_msg(seen, "no 2MB hugetlb statistics with max 0");
    io__containerd__cgroups__v2__metrics__free_unpacked(m, NULL);
    /* A real limit on a page size the kernel lacks is an error. */
    static const char bad[] = "{\"hugepageLimits\": [{\"pageSize\": \"32KB\", \"limit\": 4096}]}";
    ck_assert(!container_update(c, bad, strlen(bad), &error));
    ck_assert_ptr_nonnull(strstr(error->message, "hugetlb.32KB.max"));
    pid_t pid = container_get_pid(c);
    ck_assert(container_destroy(c, &error));
    ct_reap(pid);
    g_free(ct_read_all(fd));
}
END_TEST

START_TEST(test_signal_all_and_destroy_running)
{
    int fd;
    g_autoptr(GError) error = NULL;
    Container *c = start_sh(NULL, "trap 'echo got-term; exit 7' TERM; sleep 1000 & wait", &fd);
    /* Give the shell time to install its trap; SIGTERM before that would kill it outright. */
    for (int i = 0; i < 100; i++) {
        g_autoptr(GArray) pids = container_list_pids(c, NULL);
        if (pids && pids->len == 2)
            break;
        g_usleep(50 * 1000);
    }
    ck_assert(container_signal(c, SIGTERM, TRUE, &error));
    g_autofree char *out = ct_read_all(fd);
    ck_assert_str_eq(out, "got-term\n");
    int status = ct_reap(container_get_pid(c));
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 7);
    ck_assert(container_destroy(c, &error));

    /* Destroy kills whatever still runs; the caller reaps. */
    Container *c2 = start_sh(NULL, "exec sleep 1000", &fd);
    pid_t pid = container_get_pid(c2);
    ck_assert_msg(container_destroy(c2, &error), "%s", error ? error->message : "");
    status = ct_reap(pid);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    g_free(ct_read_all(fd));
}
END_TEST

static Suite *container_suite(void)
{
    Suite *s = suite_create("container");
    TCase *tc = tcase_create("run");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_output_and_exit_code);
    tcase_add_test(tc, test_hostname_and_pid1);
    tcase_add_test(tc, test_domainname_and_sysctl);
    tcase_add_test(tc, test_env_and_cwd);
    tcase_add_test(tc, test_uid_gid);
    tcase_add_test(tc, test_join_namespace_by_path);
    tcase_add_test(tc, test_join_pid_namespace);
    tcase_add_test(tc, test_no_pid_namespace_shares_ours);
    tcase_add_test(tc, test_readonly_rootfs);
    tcase_add_test(tc, test_bind_mounts);
    tcase_add_test(tc, test_capabilities);
    tcase_add_test(tc, test_ambient_capabilities_the_kernel_refuses);
    tcase_add_test(tc, test_seccomp);
    tcase_add_test(tc, test_devices_masks_rlimits);
    tcase_add_test(tc, test_clean_process_state);
    tcase_add_test(tc, test_masked_and_readonly_through_symlinks);
    tcase_add_test(tc, test_device_rules);
    tcase_add_test(tc, test_exec);
    tcase_add_test(tc, test_stdin);
    tcase_add_test(tc, test_terminal);
    tcase_add_test(tc, test_create_async_serves_loop);
    tcase_add_test(tc, test_create_async_cancel);
    tcase_add_test(tc, test_start_failure);
    tcase_add_test(tc, test_bad_create_leaves_nothing);
    tcase_add_test(tc, test_symlink_escapes);
    tcase_add_test(tc, test_pause_resume_stats);
    tcase_add_test(tc, test_signal_all_and_destroy_running);
    tcase_add_test(tc, test_hugepage_limits);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    ct_require_root();
    return ct_run_suite(container_suite());
}
