/* Logging for the daemon. The fifo is written non-blocking: a reader that stops reading must
 * cost us log lines, never a stuck event loop. */
#include "shim-log.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static GLogLevelFlags max_level = G_LOG_LEVEL_INFO;
/* " pod=<dir name>" once the pod is known: lines of many pods mix in containerd's log. */
static char *pod_field;

static const char *level_name(GLogLevelFlags level)
{
    if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
        return "error";
    if (level & G_LOG_LEVEL_WARNING)
        return "warning";
    if (level & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO))
        return "info";
    return "debug";
}

/* The bytes g_strescape() leaves alone: everything of a multi-byte UTF-8 sequence. Filled by
 * shim_log_setup(), before any thread logs. */
static char utf8_bytes[129];

static GLogWriterOutput write_line(GLogLevelFlags level, const GLogField *fields, gsize n_fields,
                                   gpointer user_data)
{
    (void)user_data;
    const char *message = NULL;
    for (gsize i = 0; i < n_fields; i++)
        if (g_strcmp0(fields[i].key, "MESSAGE") == 0)
            message = fields[i].value;
    if ((level & G_LOG_LEVEL_MASK) > max_level || !message)
        return G_LOG_WRITER_HANDLED;

    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autofree char *stamp = g_date_time_format_iso8601(now);
    /* One logfmt line whatever the message holds (quotes, newlines from a guest's error text);
     * UTF-8 stays readable. */
    g_autofree char *escaped = g_strescape(message, utf8_bytes);
    g_autofree char *line =
        g_strdup_printf("time=\"%s\" level=%s msg=\"%s\" runtime=secure%s pid=%d\n", stamp,
                        level_name(level), escaped, pod_field ? pod_field : "", (int)getpid());
    gsize len = strlen(line);
    if (write(STDERR_FILENO, line, len) < 0) {
        /* nobody reads; the line is lost on purpose */
    }
    return G_LOG_WRITER_HANDLED;
}

void shim_log_setup(const char *bundle, ShimLogLevel level, gboolean debug)
{
    static const GLogLevelFlags levels[] = {G_LOG_LEVEL_CRITICAL, G_LOG_LEVEL_WARNING,
                                            G_LOG_LEVEL_INFO, G_LOG_LEVEL_DEBUG};
    g_autofree char *path = g_build_filename(bundle, "log", NULL);
    int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);

    if (fd >= 0) {
        dup2(fd, STDERR_FILENO);
        close(fd);
    }
    for (int i = 0; i < 128; i++)
        utf8_bytes[i] = (char)(0x80 + i);
    max_level = debug ? G_LOG_LEVEL_DEBUG : levels[level];
    /* Lets costly debug output (the ttrpc call trace) know whether anyone will see it. */
    g_log_set_debug_enabled(max_level == G_LOG_LEVEL_DEBUG);
    g_log_set_writer_func(write_line, NULL, NULL);
}

void shim_log_set_pod(const char *pod)
{
    g_free(pod_field);
    pod_field = g_strdup_printf(" pod=%s", pod);
}

const char *shim_log_get_pod(void)
{
    return pod_field ? pod_field + strlen(" pod=") : NULL;
}
