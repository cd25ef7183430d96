/* SyncGuest: the guest's clock and the kernel's random state from the host's. */
#include "agent-sync.h"
#include "agent-error.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/random.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_SEC G_GINT64_CONSTANT(1000000000)

static gboolean sync_check(gint64 realtime_ns, gsize entropy_len, GError **error)
{
    if (realtime_ns <= 0)
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_INVALID,
                    "realtime_ns %" G_GINT64_FORMAT " is not a time after the epoch", realtime_ns);
    else if (realtime_ns < AGENT_SYNC_REALTIME_MIN_NS)
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_INVALID,
                    "realtime_ns %" G_GINT64_FORMAT " is before 2020-01-01", realtime_ns);
    else if (entropy_len < AGENT_SYNC_ENTROPY_MIN || entropy_len > AGENT_SYNC_ENTROPY_MAX)
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_INVALID, "entropy is %zu bytes, not %d..%d",
                    entropy_len, AGENT_SYNC_ENTROPY_MIN, AGENT_SYNC_ENTROPY_MAX);
    else
        return TRUE;
    return FALSE;
}

/* Fails with the name of the system call that failed and errno's text. */
static gboolean sync_failed(GError **error, const char *call)
{
    int err = errno;

    g_set_error(error, AGENT_ERROR, AGENT_ERROR_FAILED, "%s: %s", call, g_strerror(err));
    return FALSE;
}

static gboolean sync_clock(gint64 realtime_ns, GError **error)
{
    struct timespec now = {
        .tv_sec = realtime_ns / NS_PER_SEC,
        .tv_nsec = realtime_ns % NS_PER_SEC,
    };

    if (clock_settime(CLOCK_REALTIME, &now) < 0)
        return sync_failed(error, "clock_settime(CLOCK_REALTIME)");
    return TRUE;
}

/* Credits the bytes in full: they come from the host's getrandom(). RNDADDENTROPY alone leaves
 * the CRNG on its old key until its next scheduled reseed, and siblings restored from one image
 * would read the same bytes until then; RNDRESEEDCRNG rekeys it now. */
static gboolean sync_random(int fd, const guint8 *entropy, gsize entropy_len, GError **error)
{
    g_autofree struct rand_pool_info *pool = g_malloc0(sizeof(*pool) + entropy_len);

    pool->entropy_count = entropy_len * 8;
    pool->buf_size = entropy_len;
    memcpy(pool->buf, entropy, entropy_len);
    if (ioctl(fd, RNDADDENTROPY, pool) < 0)
        return sync_failed(error, "ioctl(RNDADDENTROPY)");
    if (ioctl(fd, RNDRESEEDCRNG) < 0)
        return sync_failed(error, "ioctl(RNDRESEEDCRNG)");
    return TRUE;
}

static gboolean sync_entropy(const guint8 *entropy, gsize entropy_len, GError **error)
{
    int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
    gboolean ok;

    if (fd < 0)
        return sync_failed(error, "open(/dev/urandom)");
    ok = sync_random(fd, entropy, entropy_len, error);
    close(fd);
    return ok;
}

gboolean agent_sync_guest(gint64 realtime_ns, const guint8 *entropy, gsize entropy_len,
                          gboolean may_change, GError **error)
{
    return sync_check(realtime_ns, entropy_len, error) &&
           agent_error_may_change(may_change, "sets no clock or random state", error) &&
           sync_clock(realtime_ns, error) && sync_entropy(entropy, entropy_len, error);
}
