/* Unit tests of the shim's key-file configuration (shim-config.c). */
#include <check.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "shim-config.h"
#include "test-util.h"

static char *tmpdir;

static void setup(void)
{
    tmpdir = g_dir_make_tmp("sc-shim-config-XXXXXX", NULL);
    ck_assert_ptr_nonnull(tmpdir);
}

static void teardown(void)
{
    g_autoptr(GDir) dir = g_dir_open(tmpdir, 0, NULL);
    const char *name;
    while (dir && (name = g_dir_read_name(dir))) {
        g_autofree char *path = g_build_filename(tmpdir, name, NULL);
        g_unlink(path);
    }
    g_rmdir(tmpdir);
    g_clear_pointer(&tmpdir, g_free);
}

static char *write_config(const char *text)
{
    char *path = g_build_filename(tmpdir, "test.conf", NULL);
    ck_assert(g_file_set_contents(path, text, -1, NULL));
    return path;
}

/* Loads @text and expects an error whose message contains every string of @needles. */
static void expect_error(const char *text, const char *const *needles)
{
    g_autofree char *path = write_config(text);
    g_autoptr(GError) error = NULL;
    g_autoptr(ShimConfig) config = shim_config_load(path, &error);
    ck_assert_ptr_null(config);
    ck_assert_ptr_nonnull(error);
    ck_assert_msg(strstr(error->message, path), "file not named: %s", error->message);
    for (; *needles; needles++)
        ck_assert_msg(strstr(error->message, *needles), "'%s' not in: %s", *needles,
                      error->message);
}

START_TEST(test_defaults)
{
    g_autofree char *path = write_config("# nothing set\n");
    g_autoptr(GError) error = NULL;
    g_autoptr(ShimConfig) config = shim_config_load(path, &error);
    ck_assert_msg(config != NULL, "%s", error ? error->message : "");
    ck_assert_int_eq(config->kind, SHIM_HYPERVISOR_LIBVIRT);
    ck_assert_int_eq(config->accelerator, SHIM_ACCEL_AUTO);
    ck_assert_uint_eq(config->memory_mib, 512);
    ck_assert_uint_eq(config->vcpus, 1);
    ck_assert_uint_eq(config->min_memory_mib, 256);
    ck_assert_uint_eq(config->memory_overhead_mib, 128);
    ck_assert_uint_eq(config->max_memory_mib, 16384);
    ck_assert_uint_eq(config->max_vcpus, 16);
    ck_assert_int_eq(config->shared_fs, SHIM_SHARED_FS_VIRTIOFS);
    ck_assert_uint_eq(config->pod_uid_base, 1879048192);
    ck_assert_uint_eq(config->pod_uid_count, 65536);
    ck_assert_str_eq(config->machine_type, "q35");
    ck_assert(g_path_is_absolute(config->kernel));
    ck_assert(g_path_is_absolute(config->initrd));
    ck_assert_uint_gt(config->agent_boot_timeout_s, 0);
    ck_assert_int_eq(config->debug, FALSE);
    ck_assert_int_eq(config->log_level, SHIM_LOG_INFO);
    ck_assert_int_eq(config->template_enabled, FALSE);
    ck_assert_str_eq(config->template_dir, "/var/lib/secure-container/templates");
}
END_TEST

START_TEST(test_values)
{
    g_autofree char *path = write_config("[hypervisor]\nkind = none\naccelerator = tcg\n"
                                         "default_memory = 2048\ndefault_vcpus = 4\n"
                                         "kernel = /k\ninitrd = /i\nkernel_params = quiet x=1\n"
                                         "shared_fs = virtio-9p\nmachine_type = pc\n"
                                         "pod_uid_base = 4294901760\npod_uid_count = 65535\n"
                                         "[agent]\nboot_timeout = 7\nrequest_timeout = 9\n"
                                         "host_binary = /opt/agent\n"
                                         "[runtime]\nenable_debug = true\nlog_level = debug\n"
                                         "[template]\nenable = true\ndirectory = /x\n");
    g_autoptr(GError) error = NULL;
    g_autoptr(ShimConfig) config = shim_config_load(path, &error);
    ck_assert_msg(config != NULL, "%s", error ? error->message : "");
    ck_assert_int_eq(config->kind, SHIM_HYPERVISOR_NONE);
    ck_assert_int_eq(config->accelerator, SHIM_ACCEL_TCG);
    ck_assert_uint_eq(config->memory_mib, 2048);
    ck_assert_uint_eq(config->vcpus, 4);
    ck_assert_str_eq(config->kernel, "/k");
    ck_assert_str_eq(config->initrd, "/i");
    ck_assert_str_eq(config->kernel_params, "quiet x=1");
    ck_assert_int_eq(config->shared_fs, SHIM_SHARED_FS_9P);
    ck_assert_uint_eq(config->pod_uid_base, 4294901760u);
    ck_assert_uint_eq(config->pod_uid_count, 65535);
    ck_assert_str_eq(config->machine_type, "pc");
    ck_assert_uint_eq(config->agent_boot_timeout_s, 7);
    ck_assert_uint_eq(config->agent_request_timeout_s, 9);
    ck_assert_str_eq(config->agent_host_binary, "/opt/agent");
    ck_assert_int_eq(config->debug, TRUE);
    ck_assert_int_eq(config->log_level, SHIM_LOG_DEBUG);
    ck_assert_int_eq(config->template_enabled, TRUE);
    ck_assert_str_eq(config->template_dir, "/x");
}
END_TEST

/* The guest's files are its initrd's size in MiB, rounded up; 0 when there is no such file. */
START_TEST(test_guest_files)
{
    g_autofree char *initrd = g_build_filename(tmpdir, "initramfs.img", NULL);
    g_autofree char *text = g_strdup_printf("[hypervisor]\ninitrd = %s\n", initrd);
    g_autofree char *path = write_config(text);
    g_autoptr(GError) error = NULL;

    g_autoptr(ShimConfig) missing = shim_config_load(path, &error);
    ck_assert_msg(missing != NULL, "%s", error ? error->message : "");
    ck_assert_uint_eq(missing->guest_files_mib, 0);

    ck_assert(g_file_set_contents(initrd, "", 0, NULL));
    ck_assert_int_eq(truncate(initrd, 3 * 1024 * 1024 + 1), 0);
    g_autoptr(ShimConfig) config = shim_config_load(path, &error);
    ck_assert_msg(config != NULL, "%s", error ? error->message : "");
    ck_assert_uint_eq(config->guest_files_mib, 4);
}
END_TEST

START_TEST(test_bad_choice)
{
    expect_error("[hypervisor]\naccelerator = hvf\n",
                 (const char *[]){"[hypervisor] accelerator", "'hvf'", "auto, kvm, tcg", NULL});
}
END_TEST

START_TEST(test_bad_number)
{
    expect_error("[hypervisor]\ndefault_memory = 12\n",
                 (const char *[]){"default_memory", "'12'", "from 64 to", NULL});
    expect_error("[agent]\nboot_timeout = soon\n",
                 (const char *[]){"boot_timeout", "'soon'", "integer", NULL});
    /* The last uid would be (uid_t)-1. */
    expect_error("[hypervisor]\npod_uid_base = 4294901760\npod_uid_count = 65536\n",
                 (const char *[]){"pod_uid_base 4294901760 + pod_uid_count 65536",
                                  "below 4294967295", NULL});
    expect_error("[hypervisor]\npod_uid_count = 0\n",
                 (const char *[]){"pod_uid_count", "from 1 to", NULL});
}
END_TEST

START_TEST(test_bad_bool_and_path)
{
    expect_error("[runtime]\nenable_debug = yes\n",
                 (const char *[]){"enable_debug", "true or false", NULL});
    expect_error("[hypervisor]\nkernel = vmlinux\n",
                 (const char *[]){"kernel", "'vmlinux'", "absolute path", NULL});
    expect_error("[template]\nenable = maybe\n",
                 (const char *[]){"[template] enable", "true or false", NULL});
    expect_error("[template]\ndirectory = templates\n",
                 (const char *[]){"[template] directory", "'templates'", "absolute path", NULL});
}
END_TEST

START_TEST(test_unknown_key_and_group)
{
    expect_error("[hypervisor]\nmemory = 1\n",
                 (const char *[]){"unknown key 'memory'", "default_memory", NULL});
    expect_error("[network]\nx = 1\n",
                 (const char *[]){"unknown group [network]", "hypervisor, agent, runtime", NULL});
}
END_TEST

START_TEST(test_not_a_key_file)
{
    expect_error("this is = [not\n[an ini\n", (const char *[]){NULL});
    g_autoptr(GError) error = NULL;
    ck_assert_ptr_null(shim_config_load("/nonexistent/secure.conf", &error));
    ck_assert(strstr(error->message, "/nonexistent/secure.conf"));
}
END_TEST

START_TEST(test_find_order)
{
    g_autofree char *a = NULL, *b = NULL, *c = NULL;
    g_setenv("SECURE_CONTAINER_CONFIG", "/from/env.conf", TRUE);
    a = shim_config_find("/from/options.conf");
    b = shim_config_find("");
    g_unsetenv("SECURE_CONTAINER_CONFIG");
    c = shim_config_find(NULL);
    ck_assert_str_eq(a, "/from/options.conf");
    ck_assert_str_eq(b, "/from/env.conf");
    /* Without either: the system file if present, else the installed default. */
    ck_assert(g_str_has_suffix(c, "secure-container.conf"));
    ck_assert_str_ne(c, "/from/env.conf");
}
END_TEST

/* debug_exec puts its parameter on the guest's kernel command line, after the configured ones. */
START_TEST(test_debug_exec_params)
{
    g_autofree char *off = write_config("[hypervisor]\nkernel_params = loglevel=7\n");
    g_autoptr(ShimConfig) a = shim_config_load(off, NULL);
    ck_assert_ptr_nonnull(a);
    ck_assert_str_eq(a->guest_kernel_params, "loglevel=7");
    g_autofree char *on = write_config("[agent]\ndebug_exec = true\n");
    g_autoptr(ShimConfig) b = shim_config_load(on, NULL);
    ck_assert_ptr_nonnull(b);
    ck_assert(b->debug_exec);
    ck_assert_str_eq(b->guest_kernel_params, SHIM_DEBUG_EXEC_PARAM);
    ck_assert_str_eq(b->debug_exec_tools, "/bin/busybox");
}
END_TEST

/* The places looked at, in order, exactly one taken: what `secure-container env` lists. */
START_TEST(test_candidates)
{
    g_setenv("SECURE_CONTAINER_CONFIG", "/from/env.conf", TRUE);
    g_autoptr(GArray) all = shim_config_candidates(NULL);
    g_unsetenv("SECURE_CONTAINER_CONFIG");
    ck_assert_uint_eq(all->len, 4);
    ShimConfigCandidate *c = (ShimConfigCandidate *)(void *)all->data;
    ck_assert_str_eq(c[0].source, "runtime option ConfigPath");
    ck_assert_ptr_null(c[0].path);
    ck_assert(!c[0].taken);
    ck_assert_str_eq(c[1].path, "/from/env.conf");
    ck_assert(c[1].taken);
    ck_assert(!c[2].taken && !c[3].taken);
    ck_assert_ptr_nonnull(c[3].path);
}
END_TEST

/* Each key's value in force, spelled as in the file, and whether the file set it. */
START_TEST(test_entries)
{
    g_autofree char *path = write_config("[hypervisor]\naccelerator = tcg\ndefault_memory = 640\n"
                                         "[runtime]\nenable_debug = true\n");
    g_autoptr(GError) error = NULL;
    g_autoptr(ShimConfig) config = shim_config_load(path, &error);
    ck_assert_msg(config != NULL, "%s", error ? error->message : "");
    static const struct {
        const char *group, *key, *value;
        gboolean from_file;
    } expect[] = {
        {"hypervisor", "accelerator", "tcg", TRUE}, {"hypervisor", "default_memory", "640", TRUE},
        {"runtime", "enable_debug", "true", TRUE},  {"hypervisor", "kind", "libvirt", FALSE},
        {"template", "enable", "false", FALSE},
    };
    g_autoptr(GArray) all = shim_config_entries(config);
    guint seen = 0, from_file = 0;
    for (guint i = 0; i < all->len; i++) {
        ShimConfigEntry *e = &g_array_index(all, ShimConfigEntry, i);
        from_file += e->from_file;
        for (gsize k = 0; k < G_N_ELEMENTS(expect); k++) {
            if (!g_str_equal(e->group, expect[k].group) || !g_str_equal(e->key, expect[k].key))
                continue;
            ck_assert_str_eq(e->value, expect[k].value);
            ck_assert_int_eq(e->from_file, expect[k].from_file);
            seen++;
        }
    }
    ck_assert_uint_eq(seen, G_N_ELEMENTS(expect));
    ck_assert_uint_eq(from_file, 3);
}
END_TEST

START_TEST(test_shipped_default_parses)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(ShimConfig) config = shim_config_load(g_getenv("SC_DEFAULT_CONFIG"), &error);
    ck_assert_msg(config != NULL, "%s", error ? error->message : "");
    ck_assert_int_eq(config->kind, SHIM_HYPERVISOR_LIBVIRT);
    /* What keeps QEMU unprivileged ships as the built-in defaults have it. */
    ck_assert_int_eq(config->shared_fs, SHIM_SHARED_FS_VIRTIOFS);
    ck_assert_int_eq(config->template_enabled, FALSE);
    ck_assert_uint_eq(config->pod_uid_base, 1879048192);
    ck_assert_uint_eq(config->pod_uid_count, 65536);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("shim-config");
    TCase *tc = tcase_create("config");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_values);
    tcase_add_test(tc, test_guest_files);
    tcase_add_test(tc, test_bad_choice);
    tcase_add_test(tc, test_bad_number);
    tcase_add_test(tc, test_bad_bool_and_path);
    tcase_add_test(tc, test_unknown_key_and_group);
    tcase_add_test(tc, test_not_a_key_file);
    tcase_add_test(tc, test_find_order);
    tcase_add_test(tc, test_candidates);
    tcase_add_test(tc, test_debug_exec_params);
    tcase_add_test(tc, test_entries);
    tcase_add_test(tc, test_shipped_default_parses);
    suite_add_tcase(s, tc);
    return test_util_run(s, CK_FORK_GETENV);
}
