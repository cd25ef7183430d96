/* The Check runner every vmm test binary uses, with a scratch directory that is removed even
 * when a test failed half-way (Check ends a failing test's process at once). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>

#include <glib/gstdio.h>

#include "vmm-internal.h"
#include "vmm-test.h"

static char *scratch_dir;

const char *vmm_test_dir(void)
{
    return scratch_dir;
}

int vmm_test_run(const char *name, const TTest *const *tests, double timeout,
                 VmmTestCleanupFunc cleanup)
{
    g_autoptr(GError) error = NULL;
    Suite *suite = suite_create(name);
    TCase *tcase = tcase_create(name);
    int status;

    scratch_dir = g_dir_make_tmp("vmm-test-XXXXXX", &error);
    if (scratch_dir == NULL) {
        fprintf(stderr, "%s: %s\n", name, error->message);
        return EXIT_FAILURE;
    }
    /* QEMU runs as a pod's own uid, and passes through here to its files. */
    g_chmod(scratch_dir, 0711);
    tcase_set_timeout(tcase, timeout);
    for (guint i = 0; tests[i] != NULL; i++)
        _tcase_add_test(tcase, tests[i], 0, 0, 0, 1);
    suite_add_tcase(suite, tcase);
    status = test_util_run(suite, CK_FORK_GETENV);

    if (cleanup != NULL && !cleanup(scratch_dir)) {
        fprintf(stderr, "%s: a test left processes or mounts behind\n", name);
        status = EXIT_FAILURE;
    }
    if (!vmm_remove_tree(scratch_dir, &error)) {
        fprintf(stderr, "%s: %s\n", name, error->message);
        status = EXIT_FAILURE;
    }
    g_clear_pointer(&scratch_dir, g_free);
    return status;
}

void vmm_test_foreach_process(VmmTestProcessFunc func, gpointer user_data)
{
    g_autoptr(GDir) proc = g_dir_open("/proc", 0, NULL);
    const char *entry;

    while (proc != NULL && (entry = g_dir_read_name(proc)) != NULL) {
        g_autofree char *path = g_strdup_printf("/proc/%s/cmdline", entry);
        g_autofree char *cmdline = NULL;
        gsize len = 0;

        if (!g_ascii_isdigit(entry[0]) || !g_file_get_contents(path, &cmdline, &len, NULL) ||
            len == 0)
            continue;
        for (gsize i = 0; i + 1 < len; i++)
            cmdline[i] = cmdline[i] == '\0' ? ' ' : cmdline[i];
        func(atoi(entry), cmdline, user_data);
    }
}

gboolean vmm_test_clean_up_pods(const char *dir)
{
    g_autoptr(GDir) entries = g_dir_open(dir, 0, NULL);
    const char *entry;
    gboolean clean = TRUE;

    while (entries != NULL && (entry = g_dir_read_name(entries)) != NULL) {
        g_autoptr(GError) error = NULL;
        g_autofree char *run_dir = g_build_filename(dir, entry, NULL);
        g_autofree char *shared = g_build_filename(run_dir, "shared", NULL);
        VmmConfig config;

        if (g_str_equal(entry, VMM_TEST_CACHE))
            continue;
        clean = FALSE;
        vmm_config_init(&config);
        config.name = entry;
        config.run_dir = run_dir;
        config.shared_fs = VMM_SHARED_FS_VIRTIOFS;
        config.shared_dir = shared;
        if (!vmm_cleanup_stale(&config, &error))
            fprintf(stderr, "vmm test cleanup: %s\n", error->message);
        /* Whatever the library thinks: the scratch tree cannot be removed across a mount (EINVAL
         * when nothing is mounted there). */
        umount2(shared, MNT_DETACH);
    }
    return clean;
}
