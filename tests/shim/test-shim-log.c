/* Unit tests of the daemon's log (shim-log.c): what containerd receives on the bundle's log. */
#include <check.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "test-util.h"
#include "shim-log.h"

/* Sets the log up on a regular file standing in for containerd's fifo, logs, returns the text. */
static char *log_lines(ShimLogLevel level, gboolean debug, void (*emit)(void))
{
    g_autofree char *dir = g_dir_make_tmp("sc-shim-log-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "log", NULL);
    char *text = NULL;

    ck_assert(g_file_set_contents(path, "", 0, NULL));
    shim_log_setup(dir, level, debug);
    emit();
    ck_assert(g_file_get_contents(path, &text, NULL, NULL));
    g_unlink(path);
    g_rmdir(dir);
    return text;
}

static void emit_levels(void)
{
    g_warning("a warning");
    g_info("some info");
    g_debug("a detail");
}

static void emit_hostile(void)
{
    g_info("guest said \"no\"\nfake=\"line\" \\ é");
}

START_TEST(test_level_filters)
{
    g_autofree char *text = log_lines(SHIM_LOG_INFO, FALSE, emit_levels);
    ck_assert_ptr_nonnull(strstr(text, "level=warning msg=\"a warning\" runtime=secure pid="));
    ck_assert_ptr_nonnull(strstr(text, "level=info msg=\"some info\""));
    ck_assert_ptr_null(strstr(text, "a detail"));
    ck_assert(!g_log_get_debug_enabled());
}
END_TEST

START_TEST(test_debug_shows_everything)
{
    g_autofree char *text = log_lines(SHIM_LOG_WARNING, TRUE, emit_levels);
    ck_assert_ptr_nonnull(strstr(text, "level=debug msg=\"a detail\""));
    ck_assert_ptr_nonnull(strstr(text, "some info"));
    ck_assert(g_log_get_debug_enabled());
}
END_TEST

/* A message cannot end its line or its quoted value early; UTF-8 is kept as it is. */
START_TEST(test_message_escaped)
{
    g_autofree char *text = log_lines(SHIM_LOG_INFO, FALSE, emit_hostile);
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    ck_assert_uint_eq(g_strv_length(lines), 2);
    ck_assert_str_eq(lines[1], "");
    ck_assert_ptr_nonnull(strstr(
        lines[0], "msg=\"guest said \\\"no\\\"\\nfake=\\\"line\\\" \\\\ é\" runtime=secure"));
}
END_TEST

static void emit_with_pod(void)
{
    g_info("before");
    shim_log_set_pod("0d517bdcb439f791");
    g_info("after");
}

/* Once the pod is known every line names it, between the runtime and the pid. */
START_TEST(test_pod_named)
{
    g_autofree char *text = log_lines(SHIM_LOG_INFO, FALSE, emit_with_pod);
    ck_assert_ptr_nonnull(strstr(text, "msg=\"before\" runtime=secure pid="));
    ck_assert_ptr_nonnull(strstr(text, "msg=\"after\" runtime=secure pod=0d517bdcb439f791 pid="));
}
END_TEST

static Suite *log_suite(void)
{
    Suite *suite = suite_create("shim-log");
    TCase *tc = tcase_create("log");
    tcase_add_test(tc, test_level_filters);
    tcase_add_test(tc, test_debug_shows_everything);
    tcase_add_test(tc, test_message_escaped);
    tcase_add_test(tc, test_pod_named);
    suite_add_tcase(suite, tc);
    return suite;
}

int main(void)
{
    return test_util_run(log_suite(), CK_FORK_GETENV);
}
