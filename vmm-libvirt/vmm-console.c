/* The guest console log: its tail, quoted in errors, and its lines as they come, for the shim's
 * debug log. The guest wrote it: everything is sanitized. */
#include <fcntl.h>
#include <unistd.h>

#include <gio/gio.h>

#include "vmm-internal.h"
#include "common-fd.h"

#define TAIL_MAX_BYTES 2048

/* Printable ASCII and newlines as they are, CR dropped (the serial console ends lines with
 * CR LF), anything else '?': the guest wrote it. */
static void append_sanitized(GString *out, const char *p, gsize n)
{
    for (gsize i = 0; i < n; i++) {
        unsigned char ch = p[i];
        if (ch != '\r')
            g_string_append_c(out, ch == '\n' || (ch >= 0x20 && ch < 0x7f) ? ch : '?');
    }
}

char *vmm_console_tail(const char *path, guint max_lines)
{
    char buf[TAIL_MAX_BYTES];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    off_t size;
    ssize_t n;
    const char *start;
    guint lines = 0;

    if (fd < 0)
        return g_strdup_printf("(no console log '%s': %s)", path, g_strerror(errno));
    size = lseek(fd, 0, SEEK_END);
    n = size > 0 ? pread(fd, buf, sizeof(buf), size > TAIL_MAX_BYTES ? size - TAIL_MAX_BYTES : 0)
                 : 0;
    close(fd);
    if (n <= 0)
        return g_strdup("(console log is empty)");

    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    start = buf + n;
    while (start > buf && lines < max_lines) {
        start--;
        if (*start == '\n' && ++lines == max_lines) {
            start++;
            break;
        }
    }
    GString *tail = g_string_sized_new(buf + n - start);
    append_sanitized(tail, start, buf + n - start);
    return g_string_free(tail, FALSE);
}

/* ---- following the log -------------------------------------------------------------------- */

/* A guest can write its console as fast as QEMU copies it: what reaches the shim's log is
 * bounded, the rest counted. */
#define FOLLOW_LINES_PER_SECOND 100
#define FOLLOW_LINE_MAX 512

struct _VmmConsoleFollower {
    int fd;
    GFileMonitor *monitor;
    GString *line; /* the line being read, sanitized */
    VmmConsoleLineFunc func;
    gpointer user_data;
    gint64 window; /* the second being counted (monotonic s) */
    guint in_window;
    guint dropped;
};

static void follow_emit(VmmConsoleFollower *f)
{
    gint64 now = g_get_monotonic_time() / G_USEC_PER_SEC;

    if (now != f->window) {
        if (f->dropped) {
            g_autofree char *note =
                g_strdup_printf("(%u console lines dropped: more than %d a second)", f->dropped,
                                FOLLOW_LINES_PER_SECOND);
            f->func(note, f->user_data);
        }
        f->window = now;
        f->in_window = f->dropped = 0;
    }
    if (f->in_window++ < FOLLOW_LINES_PER_SECOND)
        f->func(f->line->str, f->user_data);
    else
        f->dropped++;
    g_string_truncate(f->line, 0);
}

/* Everything written since the last read. */
static void follow_read(VmmConsoleFollower *f)
{
    char buf[4096];
    ssize_t n;

    while ((n = read(f->fd, buf, sizeof(buf))) > 0)
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == '\n' || f->line->len >= FOLLOW_LINE_MAX)
                follow_emit(f);
            if (buf[i] != '\n')
                append_sanitized(f->line, &buf[i], 1);
        }
}

static void follow_changed(GFileMonitor *monitor, GFile *file, GFile *other,
                           GFileMonitorEvent event, gpointer user_data)
{
    (void)monitor;
    (void)file;
    (void)other;
    if (event == G_FILE_MONITOR_EVENT_CHANGED || event == G_FILE_MONITOR_EVENT_CHANGES_DONE_HINT)
        follow_read(user_data);
}

VmmConsoleFollower *vmm_console_follow(const char *path, VmmConsoleLineFunc func,
                                       gpointer user_data, GError **error)
{
    g_autoptr(GFile) file = g_file_new_for_path(path);
    VmmConsoleFollower *f = g_new0(VmmConsoleFollower, 1);

    f->func = func;
    f->user_data = user_data;
    f->line = g_string_new(NULL);
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0)
        g_set_error(error, VMM_ERROR, VMM_ERROR_NOT_FOUND, "console log '%s': %s", path,
                    g_strerror(errno));
    else
        f->monitor = g_file_monitor_file(file, G_FILE_MONITOR_NONE, NULL, error);
    if (!f->monitor) {
        vmm_console_follower_free(f);
        return NULL;
    }
    g_signal_connect(f->monitor, "changed", G_CALLBACK(follow_changed), f);
    follow_read(f);
    return f;
}

void vmm_console_follower_free(VmmConsoleFollower *f)
{
    if (!f)
        return;
    if (f->monitor) {
        follow_read(f); /* the last words */
        if (f->line->len)
            follow_emit(f);
        g_file_monitor_cancel(f->monitor);
        g_object_unref(f->monitor);
    }
    common_fd_close(&f->fd);
    g_string_free(f->line, TRUE);
    g_free(f);
}
