/* Reaps orphaned helper processes (QEMU, virtiofsd) that the subreaper shim inherits. */
#pragma once

#include <glib.h>

/* Starts the process's orphan reaper (once per process, after PR_SET_CHILD_SUBREAPER and before
 * the first VM starts); it runs until the process exits and wakes only when a child exits or,
 * while the process has no child, when it forks. */
gboolean shim_reaper_start(GError **error);
