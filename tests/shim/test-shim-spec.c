/* Unit tests of the config.json handling (shim-spec.c): loading errors and the rewrite that makes
 * a runc-style spec valid inside the pod VM. */
#include <check.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "test-util.h"
#include "shim-spec.h"

static char *tmpdir;

static void setup(void)
{
    tmpdir = g_dir_make_tmp("sc-shim-spec-XXXXXX", NULL);
    ck_assert_ptr_nonnull(tmpdir);
}

static void teardown(void)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
    g_clear_pointer(&tmpdir, g_free);
}

static char *path_in_tmp(const char *name)
{
    return g_build_filename(tmpdir, name, NULL);
}

static json_object *mount_at(json_object *spec, size_t index)
{
    json_object *mounts;
    ck_assert(json_object_object_get_ex(spec, "mounts", &mounts));
    ck_assert_uint_lt(index, json_object_array_length(mounts));
    return json_object_array_get_idx(mounts, index);
}

static const char *member(json_object *obj, const char *key)
{
    json_object *value;
    return json_object_object_get_ex(obj, key, &value) ? json_object_get_string(value) : NULL;
}

START_TEST(test_load_errors)
{
    g_autoptr(GError) missing = NULL, broken = NULL, array = NULL;
    ck_assert_ptr_null(shim_spec_load(tmpdir, &missing));
    ck_assert(g_error_matches(missing, G_FILE_ERROR, G_FILE_ERROR_NOENT));
    ck_assert(strstr(missing->message, tmpdir));

    g_autofree char *config = path_in_tmp("config.json");
    ck_assert(g_file_set_contents(config, "{\"ociVersion\": ", -1, NULL));
    ck_assert_ptr_null(shim_spec_load(tmpdir, &broken));
    ck_assert(strstr(broken->message, "is not a JSON object"));
    ck_assert(strstr(broken->message, config));

    ck_assert(g_file_set_contents(config, "[1, 2]", -1, NULL));
    ck_assert_ptr_null(shim_spec_load(tmpdir, &array));
    ck_assert(strstr(array->message, "wrong type"));

    ck_assert(g_file_set_contents(config, "{\"ociVersion\": \"1.0.2\"}", -1, NULL));
    g_autoptr(json_object) ok = shim_spec_load(tmpdir, NULL);
    ck_assert_ptr_nonnull(ok);
}
END_TEST

START_TEST(test_rewrite)
{
    g_autofree char *dir = path_in_tmp("data");
    g_autofree char *file = path_in_tmp("hosts");
    g_autofree char *sock = path_in_tmp("sock");
    ck_assert_int_eq(g_mkdir(dir, 0755), 0);
    ck_assert(g_file_set_contents(file, "127.0.0.1 localhost\n", -1, NULL));
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    g_strlcpy(sun.sun_path, sock, sizeof(sun.sun_path));
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);

    g_autofree char *text = g_strdup_printf(
        "{\"mounts\": ["
        " {\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},"
        " {\"destination\": \"/data\", \"type\": \"bind\", \"source\": \"%s\","
        "  \"options\": [\"rbind\", \"ro\"]},"
        " {\"destination\": \"/etc/hosts\", \"source\": \"%s\", \"options\": [\"bind\"]},"
        " {\"destination\": \"/run/x.sock\", \"type\": \"bind\", \"source\": \"%s\"}],"
        " \"hooks\": {\"prestart\": [{\"path\": \"/usr/bin/true\"}]},"
        " \"linux\": {\"namespaces\": [{\"type\": \"pid\"},"
        "   {\"type\": \"ipc\", \"path\": \"/proc/77/ns/ipc\"},"
        "   {\"type\": \"network\", \"path\": \"/var/run/netns/cni-1\"}]}}",
        dir, file, sock);
    g_autoptr(json_object) spec = json_tokener_parse(text);
    g_autoptr(GPtrArray) binds =
        g_ptr_array_new_with_free_func((GDestroyNotify)shim_spec_bind_free);
    g_autoptr(GError) error = NULL;
    ck_assert_msg(
        shim_spec_prepare(spec, "/host/shared/c1", "/guest/shared/c1", 42, FALSE, binds, &error),
        "%s", error ? error->message : "");

    /* The proc mount is untouched; both binds go through the shared dir; the socket is gone. */
    json_object *mounts;
    ck_assert(json_object_object_get_ex(spec, "mounts", &mounts));
    ck_assert_uint_eq(json_object_array_length(mounts), 3);
    ck_assert_str_eq(member(mount_at(spec, 0), "source"), "proc");
    ck_assert_str_eq(member(mount_at(spec, 1), "source"), "/guest/shared/c1/mounts/1");
    ck_assert_str_eq(member(mount_at(spec, 2), "source"), "/guest/shared/c1/mounts/2");
    ck_assert_uint_eq(binds->len, 2);
    ShimSpecBind *b0 = binds->pdata[0], *b1 = binds->pdata[1];
    ck_assert_str_eq(b0->source, dir);
    ck_assert_str_eq(b0->target, "/host/shared/c1/mounts/1");
    ck_assert(b0->readonly);
    ck_assert_str_eq(b1->source, file);
    ck_assert(!b1->readonly);

    /* Hooks are host programs: dropped. Namespace paths point at the pod's first container. */
    ck_assert(!json_object_object_get_ex(spec, "hooks", NULL));
    json_object *linux_, *ns;
    ck_assert(json_object_object_get_ex(spec, "linux", &linux_));
    ck_assert(json_object_object_get_ex(linux_, "namespaces", &ns));
    ck_assert_ptr_null(member(json_object_array_get_idx(ns, 0), "path"));
    ck_assert_str_eq(member(json_object_array_get_idx(ns, 1), "path"), "/proc/42/ns/ipc");
    ck_assert_str_eq(member(json_object_array_get_idx(ns, 2), "path"), "/proc/42/ns/net");
    close(fd);
}
END_TEST

START_TEST(test_rewrite_without_sandbox_and_errors)
{
    const char *first_json =
        "{\"linux\": {\"namespaces\": [{\"type\": \"ipc\", \"path\": \"/proc/77/ns/ipc\"},"
        " {\"type\": \"network\", \"path\": \"/var/run/netns/cni-1\"}]}}";
    g_autoptr(json_object) first = json_tokener_parse(first_json);
    g_autoptr(GPtrArray) binds =
        g_ptr_array_new_with_free_func((GDestroyNotify)shim_spec_bind_free);
    ck_assert_str_eq(shim_spec_netns_path(first), "/var/run/netns/cni-1");
    ck_assert(shim_spec_prepare(first, "/h", "/g", 0, FALSE, binds, NULL));
    json_object *linux_, *ns;
    ck_assert(json_object_object_get_ex(first, "linux", &linux_));
    ck_assert(json_object_object_get_ex(linux_, "namespaces", &ns));
    /* No first container yet: the container gets a namespace of its own, and joins the pod VM's
     * own network namespace (the entry is gone), where the pod's interfaces are. */
    ck_assert_uint_eq(json_object_array_length(ns), 1);
    ck_assert_ptr_null(member(json_object_array_get_idx(ns, 0), "path"));
    ck_assert_ptr_null(shim_spec_netns_path(first));

    /* A host-mode agent joins the host namespace CNI made. */
    g_autoptr(json_object) on_host = json_tokener_parse(first_json);
    ck_assert(shim_spec_prepare(on_host, "/h", "/g", 0, TRUE, binds, NULL));
    ck_assert_str_eq(shim_spec_netns_path(on_host), "/var/run/netns/cni-1");

    /* Host network (no network namespace): refused, whatever the rest. */
    g_autoptr(json_object) host_net = json_tokener_parse(
        "{\"linux\": {\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"mount\"}]}}");
    g_autoptr(GError) e0 = NULL;
    ck_assert(!shim_spec_prepare(host_net, "/h", "/g", 0, FALSE, binds, &e0));
    ck_assert_msg(strstr(e0->message, "host network is not supported"), "%s", e0->message);

    g_autoptr(json_object) missing = json_tokener_parse(
        "{\"mounts\": [{\"destination\": \"/d\", \"type\": \"bind\", \"source\": \"/no/such\"}]}");
    g_autoptr(GError) e1 = NULL;
    ck_assert(!shim_spec_prepare(missing, "/h", "/g", 0, FALSE, binds, &e1));
    ck_assert(strstr(e1->message, "/no/such"));

    g_autoptr(json_object) relative = json_tokener_parse(
        "{\"mounts\": [{\"destination\": \"/d\", \"type\": \"bind\", \"source\": \"rel\"}]}");
    g_autoptr(GError) e2 = NULL;
    ck_assert(!shim_spec_prepare(relative, "/h", "/g", 0, FALSE, binds, &e2));

    g_autoptr(json_object) not_array = json_tokener_parse("{\"mounts\": 3}");
    g_autoptr(GError) e3 = NULL;
    ck_assert(!shim_spec_prepare(not_array, "/h", "/g", 0, FALSE, binds, &e3));
    ck_assert(strstr(e3->message, "not an array"));
    ck_assert_uint_eq(binds->len, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("shim-spec");
    TCase *tc = tcase_create("spec");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_load_errors);
    tcase_add_test(tc, test_rewrite);
    tcase_add_test(tc, test_rewrite_without_sandbox_and_errors);
    suite_add_tcase(s, tc);
    return test_util_run(s, CK_FORK_GETENV);
}
