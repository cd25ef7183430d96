/* The capabilities cache tuning (vmm-caps-cache.c): the guest-CPU flag leaves libvirt's cache
 * entries, and nothing else changes. */
#include <glib/gstdio.h>
#include <sys/stat.h>

#include "vmm-internal.h"
#include "vmm-test.h"

#define ENTRY_HEAD "<qemuCaps>\n  <emulator>/usr/bin/qemu-system-x86_64</emulator>\n"
#define FLAG "  <flag name='cpu-unavailable-features'/>\n"
#define ENTRY_TAIL "  <flag name='query-cpu-model-expansion'/>\n</qemuCaps>\n"

/* The capabilities directory of a cache in the scratch directory, created. */
static char *caps_dir(const char *cache)
{
    char *dir = g_build_filename(vmm_test_dir(), cache, "qemu", "capabilities", NULL);

    ck_assert_int_eq(g_mkdir_with_parents(dir, 0700), 0);
    return dir;
}

static char *write_entry(const char *dir, const char *name, const char *text)
{
    char *path = g_build_filename(dir, name, NULL);

    ck_assert(g_file_set_contents(path, text, -1, NULL));
    return path;
}

static char *read_entry(const char *path)
{
    char *text = NULL;

    ck_assert(g_file_get_contents(path, &text, NULL, NULL));
    return text;
}

START_TEST(test_flag_removed)
{
    g_autofree char *cache = g_build_filename(vmm_test_dir(), "removed", NULL);
    g_autofree char *dir = caps_dir("removed");
    g_autofree char *path = write_entry(dir, "abc.xml", ENTRY_HEAD FLAG ENTRY_TAIL);
    g_autofree char *text = NULL;
    g_autoptr(GDir) entries = NULL;
    GStatBuf st;
    int count = 0;

    vmm_caps_cache_tune(cache);
    text = read_entry(path);
    ck_assert_str_eq(text, ENTRY_HEAD ENTRY_TAIL);
    ck_assert_int_eq(g_stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    /* No temporary file left beside it. */
    entries = g_dir_open(dir, 0, NULL);
    while (g_dir_read_name(entries) != NULL)
        count++;
    ck_assert_int_eq(count, 1);
}
END_TEST

START_TEST(test_others_untouched)
{
    g_autofree char *cache = g_build_filename(vmm_test_dir(), "untouched", NULL);
    g_autofree char *dir = caps_dir("untouched");
    g_autofree char *tuned = write_entry(dir, "tuned.xml", ENTRY_HEAD ENTRY_TAIL);
    g_autofree char *other = write_entry(dir, "notes.txt", ENTRY_HEAD FLAG ENTRY_TAIL);
    g_autofree char *tuned_text = NULL;
    g_autofree char *other_text = NULL;
    GStatBuf before, after;

    ck_assert_int_eq(g_stat(tuned, &before), 0);
    vmm_caps_cache_tune(cache);
    ck_assert_int_eq(g_stat(tuned, &after), 0);
    /* Already without the flag: not rewritten (same inode). */
    ck_assert_uint_eq(before.st_ino, after.st_ino);
    tuned_text = read_entry(tuned);
    other_text = read_entry(other);
    ck_assert_str_eq(tuned_text, ENTRY_HEAD ENTRY_TAIL);
    ck_assert_str_eq(other_text, ENTRY_HEAD FLAG ENTRY_TAIL);
}
END_TEST

START_TEST(test_no_cache_yet)
{
    g_autofree char *cache = g_build_filename(vmm_test_dir(), "empty", NULL);

    vmm_caps_cache_tune(cache);
    ck_assert(!g_file_test(cache, G_FILE_TEST_EXISTS));
}
END_TEST

int main(void)
{
    const TTest *const tests[] = {
        test_flag_removed,
        test_others_untouched,
        test_no_cache_yet,
        NULL,
    };

    return vmm_test_run("vmm-caps-cache", tests, 30, NULL);
}
