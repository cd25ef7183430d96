/* Reaps the orphaned helper processes (QEMU, virtiofsd, a dead host agent's children) that the
 * subreaper shim inherits, from a thread of its own: the main loop may be blocked inside libvirt
 * waiting for one of them to be reaped. */
#pragma once

#include <glib.h>

/* Starts the process's orphan reaper thread (once per process, after PR_SET_CHILD_SUBREAPER and
 * before the first VM starts); it stays until the process exits and runs only when a child
 * exits or the process forks. */
gboolean shim_reaper_start(GError **error);
