/* common-process.c: process identity through pidfds. */
#include "common-process.h"

#include <errno.h>
#include <string.h>
#include <sys/pidfd.h>

#include "common-exit.h"
#include "common-fd.h"

GStrv common_process_argv(int pidfd, pid_t pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/cmdline", (int)pid);
    g_autofree char *data = NULL;
    gsize len = 0;

    if (!g_file_get_contents(path, &data, &len, NULL) || len == 0 || common_exit_happened(pidfd))
        return NULL;
    g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
    /* NUL-separated, the last one included; g_file_get_contents adds one more after the end. */
    for (gsize at = 0; at < len; at += strlen(data + at) + 1)
        g_strv_builder_add(builder, data + at);
    return g_strv_builder_end(builder);
}

static gboolean argv_mentions(GStrv argv, const char *needle)
{
    for (gsize i = 0; argv[i] != NULL; i++) {
        if (strstr(argv[i], needle) != NULL)
            return TRUE;
    }
    return FALSE;
}

int common_process_open_mentioning(pid_t pid, const char *needle)
{
    g_return_val_if_fail(needle != NULL, -1);

    if (pid <= 0) {
        errno = ESRCH;
        return -1;
    }
    common_autofd int pidfd = pidfd_open(pid, 0);
    if (pidfd < 0)
        return -1;
    g_auto(GStrv) argv = common_process_argv(pidfd, pid);
    if (argv == NULL || !argv_mentions(argv, needle)) {
        errno = ESRCH;
        return -1;
    }
    return g_steal_fd(&pidfd);
}
