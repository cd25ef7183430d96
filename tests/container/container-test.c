/* container-test.c: helpers for the container builder's root tests. */
#include "container-test.h"
#include "oci-test-mounts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define BUSYBOX "/bin/busybox"

/* The test runner's pid names everything a run creates, so that it can remove what a failed
 * test (whose teardown does not run) left behind. */
static pid_t runner_pid;

static const char *const applets[] = {
    "sh",    "echo",  "cat",      "hostname", "id",   "sleep", "grep",  "ls",   "pwd",
    "touch", "mkdir", "kill",     "tty",      "stty", "true",  "wc",    "head", "tail",
    "test",  "stat",  "readlink", "dd",       "env",  "yes",   "mknod", NULL,
};

static int count_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    ck_assert_ptr_nonnull(d);
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* The cgroup v2 mount and our own cgroup in it, or NULL. Usable outside a test. */
static char *own_cgroup_dir(void)
{
    g_autofree char *mountinfo = NULL, *self = NULL;
    if (!g_file_get_contents("/proc/self/mountinfo", &mountinfo, NULL, NULL) ||
        !g_file_get_contents("/proc/self/cgroup", &self, NULL, NULL))
        return NULL;
    g_auto(GStrv) lines = g_strsplit(mountinfo, "\n", -1);
    g_auto(GStrv) fields = NULL;
    for (char **l = lines; *l && fields == NULL; l++)
        if (strstr(*l, " - cgroup2 ") != NULL)
            fields = g_strsplit(*l, " ", -1);
    const char *v2 = strstr(self, "0::");
    if (fields == NULL || g_strv_length(fields) < 5 || v2 == NULL)
        return NULL;
    g_autofree char *path = g_strndup(v2 + 3, strcspn(v2 + 3, "\n"));
    return g_build_filename(fields[4], path, NULL);
}

void ct_require_root(void)
{
    g_autofree char *cgroup = NULL;
    if (geteuid() != 0)
        test_util_skip("building containers needs root");
    if (!g_file_test(BUSYBOX, G_FILE_TEST_IS_EXECUTABLE))
        test_util_skip("needs " BUSYBOX " (Debian package busybox-static)");
    cgroup = own_cgroup_dir();
    if (cgroup == NULL)
        test_util_skip("needs a cgroup v2 filesystem");
}

void ct_require_controllers(const char *const *names)
{
    g_autofree char *own = own_cgroup_dir();
    if (own == NULL)
        test_util_skip("no cgroup v2 filesystem is mounted");
    g_autofree char *path = g_build_filename(own, "cgroup.controllers", NULL);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        test_util_skip("cannot read the cgroup v2 controllers");
    g_auto(GStrv) have = g_strsplit_set(g_strstrip(text), " ", -1);
    for (const char *const *n = names; *n; n++) {
        if (g_strv_contains((const char *const *)have, *n))
            continue;
        /* The suite runs such tests only in test-container-vm's pure cgroup v2 VM. */
        g_autofree char *reason = g_strdup_printf(
            "cgroup v2 at '%s' does not have the '%s' controller (hybrid cgroup v1 host)", own, *n);
        test_util_skip(reason);
    }
}

static void write_best_effort(const char *path, const char *value)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (write(fd, value, strlen(value)) < 0) {
            /* The controller is not available here; tests that need it check for it. */
        }
        close(fd);
    }
}

static void make_rootfs(const char *rootfs)
{
    static const char *const dirs[] = {"bin", "proc", "sys",  "dev", "tmp",
                                       "etc", "mnt",  "root", NULL};
    g_autofree char *bin = g_build_filename(rootfs, "bin", NULL);
    g_autofree char *busybox = g_build_filename(bin, "busybox", NULL);
    g_autofree char *data = NULL;
    gsize len;
    g_autoptr(GError) error = NULL;

    ck_assert_int_eq(g_mkdir_with_parents(rootfs, 0755), 0);
    for (const char *const *d = dirs; *d; d++) {
        g_autofree char *path = g_build_filename(rootfs, *d, NULL);
        ck_assert_int_eq(g_mkdir_with_parents(path, 0755), 0);
    }
    ck_assert(g_file_get_contents(BUSYBOX, &data, &len, &error));
    ck_assert(g_file_set_contents(busybox, data, (gssize)len, &error));
    ck_assert_int_eq(chmod(busybox, 0755), 0);
    for (const char *const *a = applets; *a; a++) {
        g_autofree char *link = g_build_filename(bin, *a, NULL);
        ck_assert_int_eq(symlink("busybox", link), 0);
    }
    g_autofree char *tmp = g_build_filename(rootfs, "tmp", NULL);
    ck_assert_int_eq(chmod(tmp, 01777), 0);
}

CtEnv *ct_env_new(void)
{
    CtEnv *env = g_new0(CtEnv, 1);
    g_autoptr(GError) error = NULL;
    g_autofree char *tmpl = g_strdup_printf("sc-container-%d-XXXXXX", (int)runner_pid);
    env->dir = g_dir_make_tmp(tmpl, &error);
    ck_assert_msg(env->dir != NULL, "%s", error ? error->message : "");
    env->rootfs = g_build_filename(env->dir, "rootfs", NULL);
    make_rootfs(env->rootfs);

    g_autofree char *parent = own_cgroup_dir();
    ck_assert_msg(parent != NULL, "no cgroup v2 filesystem is mounted");
    g_autofree char *name = g_strdup_printf("sc-test-%d-%d", (int)runner_pid, (int)getpid());
    env->cgroup_root = g_build_filename(parent, name, NULL);
    ck_assert_msg(mkdir(env->cgroup_root, 0755) == 0, "mkdir '%s': %s", env->cgroup_root,
                  g_strerror(errno));
    /* Make the controllers the host has available to our temporary root. */
    g_autofree char *parent_control = g_build_filename(parent, "cgroup.subtree_control", NULL);
    for (const char *const *c = (const char *const[]){"+memory", "+pids", "+cpu", "+hugetlb", NULL};
         *c; c++)
        write_best_effort(parent_control, *c);

    env->fd_count = count_fds();
    return env;
}

gboolean ct_env_has_controller(CtEnv *env, const char *controller)
{
    g_autofree char *path = g_build_filename(env->cgroup_root, "cgroup.controllers", NULL);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return FALSE;
    g_auto(GStrv) names = g_strsplit_set(g_strstrip(text), " ", -1);
    return g_strv_contains((const char *const *)names, controller);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void ct_env_free(CtEnv *env)
{
    /* Every container process was reaped by the test. */
    errno = 0;
    ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
    ck_assert_int_eq(errno, ECHILD);
    ck_assert_int_eq(count_fds(), env->fd_count);
    /* Other programs may mount meanwhile; none of ours may be left. */
    g_autofree char *mountinfo = NULL;
    ck_assert(g_file_get_contents("/proc/self/mountinfo", &mountinfo, NULL, NULL));
    ck_assert_ptr_null(strstr(mountinfo, env->dir));
    /* rmdir fails while a container cgroup is left inside. */
    ck_assert_msg(rmdir(env->cgroup_root) == 0, "rmdir '%s': %s", env->cgroup_root,
                  g_strerror(errno));
    ck_assert_int_eq(nftw(env->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
    g_free(env->dir);
    g_free(env->rootfs);
    g_free(env->cgroup_root);
    g_free(env);
}

json_object *ct_json(const char *json)
{
    json_object *v = json_tokener_parse(json);
    ck_assert_msg(v != NULL, "bad test JSON: %s", json);
    return v;
}

json_object *ct_spec_new(const char *const *args)
{
    json_object *spec = ct_json(
        "{\"ociVersion\": \"1.0.2\","
        " \"process\": {\"terminal\": false, \"user\": {\"uid\": 0, \"gid\": 0},"
        "  \"env\": [\"PATH=/bin\", \"TERM=xterm\"], \"cwd\": \"/\","
        "  \"capabilities\": {"
        "   \"bounding\": [\"CAP_CHOWN\", \"CAP_DAC_OVERRIDE\", \"CAP_FSETID\", \"CAP_FOWNER\","
        "    \"CAP_MKNOD\", \"CAP_NET_RAW\", \"CAP_SETGID\", \"CAP_SETUID\", \"CAP_SETFCAP\","
        "    \"CAP_SETPCAP\", \"CAP_NET_BIND_SERVICE\", \"CAP_SYS_CHROOT\", \"CAP_KILL\","
        "    \"CAP_AUDIT_WRITE\"],"
        "   \"effective\": [\"CAP_CHOWN\", \"CAP_DAC_OVERRIDE\", \"CAP_FSETID\", \"CAP_FOWNER\","
        "    \"CAP_MKNOD\", \"CAP_NET_RAW\", \"CAP_SETGID\", \"CAP_SETUID\", \"CAP_SETFCAP\","
        "    \"CAP_SETPCAP\", \"CAP_NET_BIND_SERVICE\", \"CAP_SYS_CHROOT\", \"CAP_KILL\","
        "    \"CAP_AUDIT_WRITE\"],"
        "   \"permitted\": [\"CAP_CHOWN\", \"CAP_DAC_OVERRIDE\", \"CAP_FSETID\", \"CAP_FOWNER\","
        "    \"CAP_MKNOD\", \"CAP_NET_RAW\", \"CAP_SETGID\", \"CAP_SETUID\", \"CAP_SETFCAP\","
        "    \"CAP_SETPCAP\", \"CAP_NET_BIND_SERVICE\", \"CAP_SYS_CHROOT\", \"CAP_KILL\","
        "    \"CAP_AUDIT_WRITE\"]},"
        "  \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"hard\": 1024, \"soft\": 1024}],"
        "  \"noNewPrivileges\": true},"
        " \"root\": {\"path\": \"rootfs\"},"
        " \"hostname\": \"testbox\"," OCI_TEST_DEFAULT_MOUNTS " \"linux\": {"
        "  \"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"ipc\"}, {\"type\": \"uts\"},"
        "   {\"type\": \"mount\"}, {\"type\": \"network\"}],"
        "  \"resources\": {\"devices\": [{\"allow\": false, \"access\": \"rwm\"}]},"
        "  \"maskedPaths\": [\"/proc/acpi\", \"/proc/kcore\", \"/proc/keys\", \"/proc/timer_list\","
        "   \"/sys/firmware\"],"
        "  \"readonlyPaths\": [\"/proc/bus\", \"/proc/fs\", \"/proc/irq\", \"/proc/sys\","
        "   \"/proc/sysrq-trigger\"]}}");
    json_object *array = json_object_new_array();
    for (const char *const *a = args; *a; a++)
        json_object_array_add(array, json_object_new_string(*a));
    ct_spec_set(spec, "process.args", array);
    return spec;
}

void ct_spec_set(json_object *spec, const char *path, json_object *value)
{
    g_auto(GStrv) parts = g_strsplit(path, ".", -1);
    json_object *obj = spec;
    for (char **p = parts; p[1]; p++) {
        json_object *next;
        if (!json_object_object_get_ex(obj, *p, &next)) {
            next = json_object_new_object();
            json_object_object_add(obj, *p, next);
        }
        obj = next;
    }
    json_object_object_add(obj, parts[g_strv_length(parts) - 1], value);
}

void ct_spec_set_script(json_object *spec, const char *script)
{
    json_object *args = json_object_new_array();
    json_object_array_add(args, json_object_new_string("sh"));
    json_object_array_add(args, json_object_new_string("-c"));
    json_object_array_add(args, json_object_new_string(script));
    ct_spec_set(spec, "process.args", args);
}

OciSpec *ct_spec_parse(json_object *spec)
{
    const char *json = json_object_to_json_string(spec);
    g_autoptr(GError) error = NULL;
    OciSpec *s = oci_spec_parse(json, strlen(json), &error);
    ck_assert_msg(s != NULL, "spec rejected: %s", error ? error->message : "");
    return s;
}

Container *ct_create(CtEnv *env, json_object *spec, int *out_read_fd, GError **error)
{
    g_autoptr(OciSpec) parsed = ct_spec_parse(spec);
    int pipefd[2];
    ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
    ContainerStdio stdio = {.stdin_fd = -1, .stdout_fd = pipefd[1], .stderr_fd = pipefd[1]};
    g_autofree char *id = g_strdup_printf("ct-%d", env->next_id++);
    Container *c = container_create(id, parsed, env->rootfs, env->cgroup_root, &stdio, NULL, error);
    close(pipefd[1]);
    if (c == NULL) {
        close(pipefd[0]);
        *out_read_fd = -1;
        return NULL;
    }
    *out_read_fd = pipefd[0];
    return c;
}

char *ct_read_all(int fd)
{
    GString *out = g_string_new(NULL);
    gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int left = (int)((deadline - g_get_monotonic_time()) / 1000);
        ck_assert_msg(left > 0, "no EOF within 30 s; output so far: '%s'", out->str);
        if (poll(&pfd, 1, left) <= 0)
            continue;
        char buf[4096];
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EIO)
            break; /* a pty master after the last slave closed */
        ck_assert_msg(n >= 0, "read: %s", g_strerror(errno));
        if (n == 0)
            break;
        g_string_append_len(out, buf, n);
    }
    close(fd);
    return g_string_free(out, FALSE);
}

int ct_reap(pid_t pid)
{
    int status = 0;
    pid_t r;
    do
        r = waitpid(pid, &status, __WALL);
    while (r < 0 && errno == EINTR);
    ck_assert_int_eq(r, pid);
    return status;
}

char *ct_run(CtEnv *env, json_object *spec, int *out_status)
{
    g_autoptr(GError) error = NULL;
    int fd;
    Container *c = ct_create(env, spec, &fd, &error);
    ck_assert_msg(c != NULL, "create: %s", error ? error->message : "");
    gboolean started = container_start(c, &error);
    ck_assert_msg(started, "start: %s", error ? error->message : "");
    char *out = ct_read_all(fd);
    *out_status = ct_reap(container_get_pid(c));
    ck_assert_msg(container_destroy(c, &error), "destroy: %s", error ? error->message : "");
    return out;
}

char *ct_cgroup_read(CtEnv *env, Container *c, const char *file)
{
    g_autofree char *path = g_build_filename(env->cgroup_root, container_get_id(c), file, NULL);
    char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return NULL;
    return g_strstrip(text);
}

/* Kills what runs in the container cgroups below `dir` and removes them and `dir`. */
static void remove_cgroup_tree(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    for (const char *name; d && (name = g_dir_read_name(d));) {
        g_autofree char *sub = g_build_filename(dir, name, NULL);
        if (!g_file_test(sub, G_FILE_TEST_IS_DIR))
            continue;
        g_autofree char *kill_file = g_build_filename(sub, "cgroup.kill", NULL);
        g_autofree char *events_file = g_build_filename(sub, "cgroup.events", NULL);
        write_best_effort(kill_file, "1");
        for (int i = 0; i < 100; i++) {
            g_autofree char *events = NULL;
            if (!g_file_get_contents(events_file, &events, NULL, NULL) ||
                strstr(events, "populated 0"))
                break;
            g_usleep(50 * 1000);
        }
        if (rmdir(sub) < 0)
            fprintf(stderr, "could not remove cgroup '%s': %s\n", sub, g_strerror(errno));
    }
    if (rmdir(dir) < 0)
        fprintf(stderr, "could not remove cgroup '%s': %s\n", dir, g_strerror(errno));
}

/* Removes the cgroups and temp dirs of this run that are still there; returns how many. */
static int remove_leftovers(void)
{
    int found = 0;
    g_autofree char *cgroup_prefix = g_strdup_printf("sc-test-%d-", (int)runner_pid);
    g_autofree char *dir_prefix = g_strdup_printf("sc-container-%d-", (int)runner_pid);
    g_autofree char *cgroup_parent = own_cgroup_dir();
    g_autoptr(GDir) cgroups = cgroup_parent ? g_dir_open(cgroup_parent, 0, NULL) : NULL;
    for (const char *name; cgroups && (name = g_dir_read_name(cgroups));) {
        if (!g_str_has_prefix(name, cgroup_prefix))
            continue;
        g_autofree char *path = g_build_filename(cgroup_parent, name, NULL);
        fprintf(stderr, "removing what a failed test left: %s\n", path);
        remove_cgroup_tree(path);
        found++;
    }
    g_autoptr(GDir) tmp = g_dir_open(g_get_tmp_dir(), 0, NULL);
    for (const char *name; tmp && (name = g_dir_read_name(tmp));) {
        if (!g_str_has_prefix(name, dir_prefix))
            continue;
        g_autofree char *path = g_build_filename(g_get_tmp_dir(), name, NULL);
        fprintf(stderr, "removing what a failed test left: %s\n", path);
        nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        found++;
    }
    return found;
}

int ct_run_suite(Suite *suite)
{
    runner_pid = getpid();
    int status = test_util_run(suite, CK_FORK_GETENV);
    int leftovers = remove_leftovers();
    if (leftovers && status == EXIT_SUCCESS)
        fprintf(stderr, "FAIL: the tests passed but left %d things behind\n", leftovers);
    return leftovers == 0 ? status : EXIT_FAILURE;
}
