/* Unit tests of the per-pod state file (shim-state.c). */
#include <check.h>
#include <glib/gstdio.h>
#include <stdlib.h>

#include "shim-state.h"
#include "test-util.h"

static char *tmpdir;

static void setup(void)
{
    g_autofree char *base = g_dir_make_tmp("sc-shim-state-XXXXXX", NULL);
    ck_assert_ptr_nonnull(base);
    tmpdir = g_build_filename(base, "pod", NULL);
}

static void teardown(void)
{
    g_autofree char *state = g_build_filename(tmpdir, "state", NULL);
    g_autofree char *base = g_path_get_dirname(tmpdir);
    g_unlink(state);
    g_rmdir(tmpdir);
    g_rmdir(base);
    g_clear_pointer(&tmpdir, g_free);
}

START_TEST(test_roundtrip)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(ShimState) state = shim_state_open(tmpdir, &error);
    ck_assert_msg(state != NULL, "%s", error ? error->message : "");
    /* The directory is private. */
    GStatBuf st;
    ck_assert_int_eq(g_stat(tmpdir, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0700);

    shim_state_set(state, NULL, SHIM_STATE_VM_NAME, "sc-1234");
    shim_state_set_int(state, NULL, SHIM_STATE_VM_PID, 4242);
    shim_state_set(state, "c1", SHIM_STATE_ROOTFS, "/run/x/shared/c1");
    shim_state_set(state, "c2", SHIM_STATE_BUNDLE, "/b2");
    ck_assert(shim_state_save(state, &error));

    g_autoptr(ShimState) loaded = shim_state_load(tmpdir, &error);
    ck_assert_msg(loaded != NULL, "%s", error ? error->message : "");
    g_autofree char *name = shim_state_get(loaded, NULL, SHIM_STATE_VM_NAME);
    g_autofree char *rootfs = shim_state_get(loaded, "c1", SHIM_STATE_ROOTFS);
    ck_assert_str_eq(name, "sc-1234");
    ck_assert_int_eq(shim_state_get_int(loaded, NULL, SHIM_STATE_VM_PID), 4242);
    ck_assert_str_eq(rootfs, "/run/x/shared/c1");
    g_auto(GStrv) ids = shim_state_containers(loaded);
    ck_assert_uint_eq(g_strv_length(ids), 2);
    ck_assert(g_strv_contains((const char *const *)ids, "c1"));
    ck_assert(g_strv_contains((const char *const *)ids, "c2"));

    shim_state_remove_container(loaded, "c1");
    shim_state_set(loaded, NULL, SHIM_STATE_VM_NAME, "sc-5678");
    ck_assert(shim_state_save(loaded, &error));
    g_autoptr(ShimState) again = shim_state_load(tmpdir, &error);
    g_auto(GStrv) left = shim_state_containers(again);
    ck_assert_uint_eq(g_strv_length(left), 1);
    ck_assert_str_eq(left[0], "c2");
    g_autofree char *renamed = shim_state_get(again, NULL, SHIM_STATE_VM_NAME);
    ck_assert_str_eq(renamed, "sc-5678");
    ck_assert_ptr_null(shim_state_get(again, "c1", SHIM_STATE_ROOTFS));
}
END_TEST

START_TEST(test_missing_and_no_temp_left)
{
    g_autoptr(GError) error = NULL;
    ck_assert_ptr_null(shim_state_load(tmpdir, &error));
    ck_assert(g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT));

    g_autoptr(ShimState) state = shim_state_open(tmpdir, NULL);
    for (int i = 0; i < 20; i++) {
        shim_state_set_int(state, NULL, "n", i);
        ck_assert(shim_state_save(state, NULL));
    }
    /* Atomic writes go through a temp file that must be renamed away each time. */
    g_autoptr(GDir) dir = g_dir_open(tmpdir, 0, NULL);
    const char *entry;
    int entries = 0;
    while ((entry = g_dir_read_name(dir))) {
        ck_assert_str_eq(entry, "state");
        entries++;
    }
    ck_assert_int_eq(entries, 1);
}
END_TEST

START_TEST(test_pod_dir)
{
    g_autofree char *dir =
        shim_state_pod_dir("d7ddcf8855c574bb9f6303100a7919bd8f9f6e011c611945861f6fa26dc0c66d");
    ck_assert_str_eq(dir, "/run/secure-container/d7ddcf8855c574bb");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("shim-state");
    TCase *tc = tcase_create("state");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_roundtrip);
    tcase_add_test(tc, test_missing_and_no_temp_left);
    tcase_add_test(tc, test_pod_dir);
    suite_add_tcase(s, tc);
    return test_util_run(s, CK_FORK_GETENV);
}
