/* The console tail quoted in errors: last lines only, bounded, control characters replaced. */
#include <stdlib.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "vmm-internal.h"
#include "vmm-test.h"

static char *write_log(const char *contents, gssize len)
{
    char *path = g_build_filename(vmm_test_dir(), "console-XXXXXX", NULL);
    int fd = g_mkstemp(path);

    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert(g_file_set_contents(path, contents, len, NULL));
    return path;
}

START_TEST(test_last_lines)
{
    g_autoptr(GString) log = g_string_new(NULL);
    g_autofree char *path = NULL;
    g_autofree char *tail = NULL;

    for (int i = 1; i <= 30; i++)
        g_string_append_printf(log, "line %d\n", i);
    path = write_log(log->str, log->len);
    tail = vmm_console_tail(path, 3);
    ck_assert_str_eq(tail, "line 28\nline 29\nline 30");
}
END_TEST

START_TEST(test_bounded_and_sanitized)
{
    g_autoptr(GString) log = g_string_new(NULL);
    g_autofree char *path = NULL;
    g_autofree char *tail = NULL;

    /* One huge line, then escape sequences and a NUL from the guest. */
    for (int i = 0; i < 10000; i++)
        g_string_append_c(log, 'x');
    g_string_append_len(log, "\nok\x1b[31m\0red\r\n", 14);
    g_string_append(log, "last\r\n");
    path = write_log(log->str, log->len);
    tail = vmm_console_tail(path, 15);
    ck_assert_uint_le(strlen(tail), 2048);
    ck_assert(g_str_has_suffix(tail, "\nok?[31m?red\nlast"));
    for (const char *p = tail; *p != '\0'; p++)
        ck_assert(*p == '\n' || g_ascii_isprint(*p));
}
END_TEST

START_TEST(test_missing_or_empty)
{
    g_autofree char *missing = vmm_console_tail("/nonexistent/console.log", 5);
    g_autofree char *path = write_log("", 0);
    g_autofree char *empty = vmm_console_tail(path, 5);

    ck_assert(strstr(missing, "'/nonexistent/console.log'") != NULL);
    ck_assert_str_eq(empty, "(console log is empty)");
}
END_TEST

int main(void)
{
    const TTest *const tests[] = {
        test_last_lines,
        test_bounded_and_sanitized,
        test_missing_or_empty,
        NULL,
    };

    return vmm_test_run("vmm-console", tests, 30, NULL);
}
