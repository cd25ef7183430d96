/* The pods on this host, as their shims tell them: one call to each pod's debug socket
 * (shim-debug-service.h) under /run/secure-container. */
#pragma once

#include <glib.h>

#include "debug.pb-c.h"

typedef struct {
    char *dir;                              /* the pod's directory */
    Secure__Debug__V1__PodStatus *status;   /* NULL when the shim did not answer */
    Secure__Debug__V1__PodMetrics *metrics; /* for a Metrics query; status points into it */
    char *error;                            /* why the shim did not answer */
    char *namespace;                        /* from the state file, for a pod without answer */
} ToolPod;

/* Every pod directory under @root (normally SHIM_STATE_ROOT) with a state file, asked for its
 * Status (or, with @metrics, its Metrics); sorted by directory. Free with g_ptr_array_unref. */
GPtrArray *tool_pods_query(const char *root, gboolean metrics);

/* One call to the shim of the pod in @dir: the reply decoded as @reply_type (free with
 * protobuf_c_message_free_unpacked), or NULL and @error. */
ProtobufCMessage *tool_pod_call(const char *dir, const char *method,
                                const ProtobufCMessage *request,
                                const ProtobufCMessageDescriptor *reply_type, gint64 timeout_us,
                                GError **error);

/* The pod @name names among @pods: its sandbox id, the start of its directory's name (at least
 * 4 digits), its CRI "namespace/name", or its CRI name alone when no other pod has it. NULL,
 * with the reason, when none or several do. */
ToolPod *tool_pods_find(GPtrArray *pods, const char *name, GError **error);
