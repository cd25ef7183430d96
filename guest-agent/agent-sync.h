/* SyncGuest: a VM restored from a saved template wakes up with the clock and the kernel's random
 * state of the moment it was saved, the same in every pod restored from that image. The host's
 * time and fresh host entropy replace both. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* 2020-01-01T00:00:00Z: a host clock before it is broken, not a time to set. */
#define AGENT_SYNC_REALTIME_MIN_NS (G_GINT64_CONSTANT(1577836800) * G_GINT64_CONSTANT(1000000000))
/* 256 bits: what the kernel wants before it calls its CRNG ready, so the reseed can happen. */
#define AGENT_SYNC_ENTROPY_MIN 32
#define AGENT_SYNC_ENTROPY_MAX 256

/* Sets CLOCK_REALTIME to @realtime_ns, adds @entropy to the kernel's pool (credited in full) and
 * reseeds the kernel's CRNG at once. The arguments are checked first (AGENT_ERROR_INVALID); with
 * @may_change FALSE (host mode) the call then fails with AGENT_ERROR_STATE instead of changing the
 * host's clock and random state. */
gboolean agent_sync_guest(gint64 realtime_ns, const guint8 *entropy, gsize entropy_len,
                          gboolean may_change, GError **error);

G_END_DECLS
