/* PrepareTemplate: the guest's free memory zeroed before secure-container-template saves it. */
#include "agent-template.h"
#include "agent-error.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

gboolean agent_template_prepare(gboolean may_change, guint64 *out_zeroed, GError **error)
{
    guint64 free_bytes = (guint64)sysconf(_SC_AVPHYS_PAGES) * (guint64)sysconf(_SC_PAGESIZE);
    guint64 reserve = (guint64)AGENT_TEMPLATE_RESERVE_MIB << 20;
    guint64 len;
    void *mem;

    *out_zeroed = 0;
    if (!agent_error_may_change(may_change, "zeroes no memory", error))
        return FALSE;
    if (free_bytes <= reserve)
        return TRUE;
    len = free_bytes - reserve;
    mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1,
               0);
    if (mem == MAP_FAILED) {
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_FAILED, "mmap %" G_GUINT64_FORMAT " bytes: %s",
                    len, g_strerror(errno));
        return FALSE;
    }
    munmap(mem, len);
    *out_zeroed = len;
    return TRUE;
}
