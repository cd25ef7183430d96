/* What the agent reads from the kernel's /proc: "Name:  123 kB" values (/proc/meminfo,
 * /proc/<pid>/status), and the guest's figures for the node's metrics (GuestStats). */
#pragma once

#include <glib.h>

/* Sets @error to "unexpected content in '@path': '<@text, escaped and cut>'"; FALSE. */
gboolean agent_proc_malformed(GError **error, const char *path, const char *text);

/* The value, in KiB, of the line "@name: N kB" of the file at @path; an error naming the file
 * when the line is missing or malformed. */
gboolean agent_proc_read_kib(const char *path, const char *name, guint64 *out_kib, GError **error);

typedef struct {
    guint64 mem_total_kib;
    guint64 mem_available_kib;
    double load[3]; /* 1, 5 and 15 minutes */
    guint64 agent_rss_kib;
} AgentGuestStats;

/* From @proc (normally "/proc"): its meminfo, loadavg and self/status. */
gboolean agent_proc_guest_stats(const char *proc, AgentGuestStats *out, GError **error);
