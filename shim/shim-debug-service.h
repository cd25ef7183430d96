/* The pod's debug socket, <pod dir>/debug.sock (root only): the secure.debug.v1.Debug service
 * (proto/debug.proto) that `secure-container ps` and `metrics` call. A ttrpc server of its own,
 * so that its clients never count as containerd's connections. */
#pragma once

#include <glib.h>

#include "shim-pod.h"

#define SHIM_DEBUG_SOCKET "debug.sock"
#define SHIM_DEBUG_SERVICE "secure.debug.v1.Debug"

typedef struct _ShimDebugService ShimDebugService;

/* Listens on @pod's debug socket; @pod must outlive the service. */
ShimDebugService *shim_debug_service_start(ShimPod *pod, GError **error);
void shim_debug_service_free(ShimDebugService *service);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ShimDebugService, shim_debug_service_free)
