/* The tail of the guest console log, quoted in errors (the guest wrote it: sanitize). */
#include <fcntl.h>
#include <unistd.h>

#include "vmm-internal.h"

#define TAIL_MAX_BYTES 2048

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
    for (const char *p = start; p < buf + n; p++) {
        unsigned char ch = *p;
        /* The serial console ends lines with CR LF. */
        if (ch != '\r')
            g_string_append_c(tail, ch == '\n' || (ch >= 0x20 && ch < 0x7f) ? ch : '?');
    }
    return g_string_free(tail, FALSE);
}
