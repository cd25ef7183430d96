/* vmm_template_key(): what a template holds (the VM's settings, the kernel, initrd and QEMU
 * files) makes the key; what is the pod's own (name, directories, network) does not. */
#include <fcntl.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "vmm.h"
#include "vmm-test.h"

#define KEY_LEN 16

/* The files the key stats, made per test in the scratch directory. */
typedef struct {
    char *kernel;
    char *initrd;
    char *emulator;
} Files;

static char *make_file(const char *name, const char *contents, int mode)
{
    char *path = g_build_filename(vmm_test_dir(), name, NULL);

    ck_assert(g_file_set_contents(path, contents, -1, NULL));
    ck_assert_int_eq(g_chmod(path, mode), 0);
    return path;
}

static void make_files(Files *files)
{
    files->kernel = make_file("vmlinux", "kernel v1", 0644);
    files->initrd = make_file("initramfs.img", "initrd v1", 0644);
    files->emulator = make_file("qemu-system-x86_64", "#!/bin/sh\n", 0755);
}

static void free_files(Files *files)
{
    g_free(files->kernel);
    g_free(files->initrd);
    g_free(files->emulator);
}

/* A pod that a template could serve: 9p share, hot-plug ceilings. */
static void pod_config(VmmConfig *config, const Files *files)
{
    vmm_config_init(config);
    config->name = "pod1";
    config->run_dir = "/run/sc/pod1";
    config->kernel = files->kernel;
    config->initrd = files->initrd;
    config->emulator = files->emulator;
    config->accel = VMM_ACCEL_TCG;
    config->max_memory_mib = 1024;
    config->max_vcpus = 2;
    config->shared_fs = VMM_SHARED_FS_9P;
    config->shared_dir = "/run/sc/pod1/shared";
}

/* The key of @config: 16 lower-case hex digits. */
static char *key_of(const VmmConfig *config)
{
    g_autoptr(GError) error = NULL;
    char *key = vmm_template_key(config, &error);

    ck_assert_msg(key != NULL, "%s", error != NULL ? error->message : "");
    ck_assert_uint_eq(strlen(key), KEY_LEN);
    ck_assert_msg(strspn(key, "0123456789abcdef") == KEY_LEN, "key '%s' not lower-case hex", key);
    return key;
}

START_TEST(test_pod_specifics_ignored)
{
    static const VmmNic nic = {"tap0_eth0", "0a:58:0a:f4:00:05"};
    Files files;
    VmmConfig config;
    g_autofree char *key = NULL;
    g_autofree char *again = NULL;
    g_autofree char *other = NULL;

    make_files(&files);
    pod_config(&config, &files);
    key = key_of(&config);
    again = key_of(&config);
    ck_assert_str_eq(again, key);

    config.name = "pod2";
    config.run_dir = "/run/secure-container/pod2";
    config.shared_dir = "/srv/pods/pod2/shared";
    config.netns = "/var/run/netns/cni-1a2b3c4d";
    config.nics = &nic;
    config.n_nics = 1;
    other = key_of(&config);
    ck_assert_str_eq(other, key);
    free_files(&files);
}
END_TEST

START_TEST(test_settings_change_key)
{
    Files files;
    VmmConfig config;
    g_autofree char *key = NULL;

    make_files(&files);
    pod_config(&config, &files);
    key = key_of(&config);
    for (guint i = 0; i < 4; i++) {
        g_autofree char *changed = NULL;

        pod_config(&config, &files);
        if (i == 0)
            config.memory_mib = 768;
        else if (i == 1)
            config.kernel_params = "quiet x=1";
        else if (i == 2)
            config.accel = VMM_ACCEL_KVM;
        else
            config.max_memory_mib = 2048;
        changed = key_of(&config);
        ck_assert_msg(!g_str_equal(changed, key), "change %u kept key %s", i, key);
    }
    free_files(&files);
}
END_TEST

/* Sets @path's times to @seconds past the epoch. */
static void set_mtime(const char *path, time_t seconds)
{
    const struct timespec times[2] = {{seconds, 0}, {seconds, 0}};

    ck_assert_int_eq(utimensat(AT_FDCWD, path, times, 0), 0);
}

START_TEST(test_files_change_key)
{
    Files files;
    VmmConfig config;
    g_autofree char *key = NULL;
    g_autofree char *rewritten = NULL;
    g_autofree char *replacement = NULL;
    g_autofree char *replaced = NULL;
    GStatBuf before, after;

    make_files(&files);
    pod_config(&config, &files);
    key = key_of(&config);

    /* A touched kernel, initrd or QEMU: each a new key. */
    const char *const paths[] = {files.kernel, files.initrd, files.emulator};
    for (gsize i = 0; i < G_N_ELEMENTS(paths); i++) {
        g_autofree char *changed = NULL;

        set_mtime(paths[i], 1000000000 + (time_t)i);
        changed = key_of(&config);
        ck_assert_msg(!g_str_equal(changed, key), "'%s' touched, key kept", paths[i]);
        g_free(key);
        key = g_steal_pointer(&changed);
    }

    /* A rebuilt kernel with the old times: rewritten in place (as cp does), then replaced by
     * one of the same size (as install does). */
    ck_assert_int_eq(g_stat(files.kernel, &before), 0);
    ck_assert(g_file_set_contents_full(files.kernel, "kernel v2, longer", -1,
                                       G_FILE_SET_CONTENTS_NONE, 0644, NULL));
    set_mtime(files.kernel, 1000000000);
    ck_assert_int_eq(g_stat(files.kernel, &after), 0);
    ck_assert_uint_eq(after.st_ino, before.st_ino);
    rewritten = key_of(&config);
    ck_assert_str_ne(rewritten, key);
    replacement = make_file("vmlinux.new", "kernel v3, longer", 0644);
    ck_assert_int_eq(g_rename(replacement, files.kernel), 0);
    set_mtime(files.kernel, 1000000000);
    replaced = key_of(&config);
    ck_assert_str_ne(replaced, rewritten);
    free_files(&files);
}
END_TEST

static void assert_no_key(const VmmConfig *config, VmmError code, const char *quoted)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *key = vmm_template_key(config, &error);

    ck_assert_ptr_null(key);
    ck_assert(g_error_matches(error, VMM_ERROR, code));
    ck_assert_msg(strstr(error->message, quoted) != NULL, "'%s' not in '%s'", quoted,
                  error->message);
}

START_TEST(test_no_key)
{
    Files files;
    VmmConfig config;
    g_autofree char *missing = g_build_filename(vmm_test_dir(), "no-vmlinux", NULL);

    make_files(&files);
    pod_config(&config, &files);
    config.kernel = missing;
    assert_no_key(&config, VMM_ERROR_NOT_FOUND, missing);

    pod_config(&config, &files);
    config.emulator = missing;
    assert_no_key(&config, VMM_ERROR_NOT_FOUND, missing);

    /* A config no template can have. */
    pod_config(&config, &files);
    config.shared_fs = VMM_SHARED_FS_VIRTIOFS;
    assert_no_key(&config, VMM_ERROR_INVALID_CONFIG, "virtio-fs");
    free_files(&files);
}
END_TEST

int main(void)
{
    const TTest *const tests[] = {
        test_pod_specifics_ignored,
        test_settings_change_key,
        test_files_change_key,
        test_no_key,
        NULL,
    };

    return vmm_test_run("vmm-template", tests, 30, NULL);
}
