/* Reaps orphaned helper processes (QEMU, virtiofsd) that the subreaper shim inherits. */
#pragma once

#include <glib.h>

typedef struct _ShimReaper ShimReaper;

ShimReaper *shim_reaper_new(void);
void shim_reaper_free(ShimReaper *reaper);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ShimReaper, shim_reaper_free)
