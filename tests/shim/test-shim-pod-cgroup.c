/* The pod's host cgroup (shim-pod-cgroup.c): the cgroupsPath forms, and (as root, with cgroup v2)
 * entering and leaving one for real. */
#include <check.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "test-util.h"
#include "shim-host-cgroup.h"
#include "shim-pod-cgroup.h"

static void assert_dir(const char *cgroups_path, const char *expected)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = shim_pod_cgroup_dir("/cg", cgroups_path, &error);
    ck_assert_msg(dir != NULL, "'%s': %s", cgroups_path, error ? error->message : "");
    ck_assert_str_eq(dir, expected);
}

static void assert_refused(const char *cgroups_path)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = shim_pod_cgroup_dir("/cg", cgroups_path, &error);
    ck_assert_msg(dir == NULL, "'%s' gave '%s'", cgroups_path, dir);
    ck_assert_ptr_nonnull(strstr(error->message, cgroups_path));
}

START_TEST(test_forms)
{
    /* cgroupfs: a path below the mount (containerd's "/namespace/id", the kubelet's pod). */
    assert_dir("/kubepods/besteffort/pod12/abc", "/cg/kubepods/besteffort/pod12/abc");
    assert_dir("default/c1", "/cg/default/c1");
    /* systemd: the slice expands as systemd lays it out, the unit is prefix-name.scope. */
    assert_dir("kubepods-besteffort-pod12.slice:cri-containerd:abc",
               "/cg/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12.slice/"
               "cri-containerd-abc.scope");
    assert_dir("-.slice:sc:x", "/cg/sc-x.scope");
    assert_dir(":sc:x", "/cg/system.slice/sc-x.scope");
    assert_dir("a.slice::x.scope", "/cg/a.slice/x.scope");
    /* Nothing may lead out of the hierarchy or be ambiguous. */
    assert_refused("/a/../../etc");
    assert_refused("/");
    assert_refused("a.slice:p");
    assert_refused("a.slice:p:../x");
    assert_refused("a--b.slice:p:x");
    assert_refused("notaslice:p:x");
    assert_refused("a/b.slice:p:x");
}
END_TEST

/* This process's cgroup path in every hierarchy, one per line ("/path"). */
static char *own_cgroups(void)
{
    g_autofree char *text = NULL;
    ck_assert(g_file_get_contents("/proc/self/cgroup", &text, NULL, NULL));
    g_auto(GStrv) lines = g_strsplit(g_strstrip(text), "\n", -1);
    g_autoptr(GString) paths = g_string_new(NULL);
    for (char **line = lines; *line; line++)
        g_string_append_printf(paths, "%s\n", strchr(strchr(*line, ':') + 1, ':') + 1);
    return g_string_free(g_steal_pointer(&paths), FALSE);
}

/* @n lines of @path. */
static char *repeated(const char *path, guint n)
{
    g_autoptr(GString) text = g_string_new(NULL);
    for (guint i = 0; i < n; i++)
        g_string_append_printf(text, "%s\n", path);
    return g_string_free(g_steal_pointer(&text), FALSE);
}

/* No hierarchy mounted under /sys/fs/cgroup has @name at its top any more. */
static void assert_gone_everywhere(const char *name)
{
    g_autoptr(GDir) dir = g_dir_open("/sys/fs/cgroup", 0, NULL);
    g_autofree char *top = g_build_filename("/sys/fs/cgroup", name, NULL);
    ck_assert_msg(!g_file_test(top, G_FILE_TEST_EXISTS), "'%s' was left", top);
    for (const char *entry; dir && (entry = g_dir_read_name(dir));) {
        g_autofree char *path = g_build_filename("/sys/fs/cgroup", entry, name, NULL);
        ck_assert_msg(!g_file_test(path, G_FILE_TEST_EXISTS), "'%s' was left", path);
    }
}

/* Enter moves this process into a new cgroup (with its missing parent) in every hierarchy (the
 * v1 controllers' too, on a hybrid host), leave moves it back and removes both; a parent that
 * already existed stays. */
START_TEST(test_enter_leave)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *mount = shim_host_cgroup_mount(NULL);
    g_autofree char *before = own_cgroups();
    g_auto(GStrv) before_lines = g_strsplit(before, "\n", -1);
    guint hierarchies = g_strv_length(before_lines) - 1;
    g_autofree char *base = g_dir_make_tmp("sc-pod-cgroup-XXXXXX", NULL);
    g_autoptr(ShimState) state = shim_state_open(base, &error);
    ck_assert_ptr_nonnull(state);
    g_autofree char *parent = g_strdup_printf("sc-test-pod-cgroup-%d", (int)getpid());
    g_autofree char *path = g_strdup_printf("/%s/sandbox", parent);
    ShimPodCgroup *cg = shim_pod_cgroup_enter(path, state, &error);
    ck_assert_msg(cg != NULL, "%s", error ? error->message : "");
    g_autofree char *inside = own_cgroups();
    g_autofree char *expected = repeated(path, hierarchies);
    ck_assert_str_eq(inside, expected);
    g_autofree char *recorded = shim_state_get(state, NULL, SHIM_STATE_POD_CGROUP);
    g_autofree char *leaf = g_strconcat(mount, path, NULL);
    g_autofree char *top = g_strdup_printf("%s/%s", mount, parent);
    ck_assert_ptr_nonnull(strstr(recorded, leaf));

    shim_pod_cgroup_leave(cg, state);
    g_autofree char *after = own_cgroups();
    ck_assert_str_eq(after, before);
    ck_assert(!g_file_test(leaf, G_FILE_TEST_EXISTS));
    ck_assert_msg(!g_file_test(top, G_FILE_TEST_EXISTS), "'%s' was left", top);
    assert_gone_everywhere(parent);
    g_autofree char *gone = shim_state_get(state, NULL, SHIM_STATE_POD_CGROUP);
    ck_assert_ptr_null(gone);

    /* A v1 cpuset parent that someone else made, with no cpus yet: the pod's still enters. */
    g_autofree char *cpuset_parent = g_build_filename("/sys/fs/cgroup/cpuset", parent, NULL);
    if (g_file_test("/sys/fs/cgroup/cpuset/cpuset.cpus", G_FILE_TEST_EXISTS)) {
        ck_assert_int_eq(g_mkdir(cpuset_parent, 0755), 0);
        cg = shim_pod_cgroup_enter(path, state, &error);
        ck_assert_msg(cg != NULL, "%s", error ? error->message : "");
        shim_pod_cgroup_leave(cg, state);
        ck_assert_int_eq(g_rmdir(cpuset_parent), 0);
    }

    /* Stale cleanup removes what a dead shim recorded, and only that. */
    ck_assert_int_eq(g_mkdir(top, 0755), 0);
    ck_assert_int_eq(g_mkdir(leaf, 0755), 0);
    shim_state_set(state, NULL, SHIM_STATE_POD_CGROUP, leaf);
    shim_state_set(state, NULL, SHIM_STATE_POD_CGROUP_CREATED, leaf);
    ck_assert(shim_pod_cgroup_cleanup_stale(state, &error));
    ck_assert(!g_file_test(leaf, G_FILE_TEST_EXISTS));
    ck_assert_msg(g_file_test(top, G_FILE_TEST_EXISTS), "a parent made by others was removed");
    ck_assert_int_eq(g_rmdir(top), 0);
    g_autofree char *state_file = g_build_filename(base, "state", NULL);
    g_unlink(state_file);
    g_rmdir(base);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("shim-pod-cgroup");
    TCase *tc = tcase_create("pod-cgroup");
    g_autofree char *mount = shim_host_cgroup_mount(NULL);
    tcase_add_test(tc, test_forms);
    if (getuid() == 0 && mount) {
        tcase_add_test(tc, test_enter_leave);
    } else if (!test_util_may_skip("test_enter_leave needs root and cgroup v2")) {
        return EXIT_FAILURE;
    }
    suite_add_tcase(s, tc);
    return test_util_run(s, CK_FORK_GETENV);
}
