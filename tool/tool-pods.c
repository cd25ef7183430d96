/* Asking each pod's shim. A pod whose shim is gone, hangs or predates the debug socket is listed
 * with the reason instead: the operator needs to see those most. */
#include "tool-pods.h"

#include <gio/gio.h>
#include <string.h>

#include "shim-debug-service.h"
#include "shim-state.h"
#include "ttrpc.h"
#include "wellknown.pb-c.h"

/* A Metrics call waits for the guest's answer, which the shim bounds by its request timeout. */
#define CALL_TIMEOUT_US (40 * G_USEC_PER_SEC)

static void pod_free(gpointer data)
{
    ToolPod *pod = data;

    if (pod->metrics)
        protobuf_c_message_free_unpacked(&pod->metrics->base, NULL);
    else if (pod->status)
        protobuf_c_message_free_unpacked(&pod->status->base, NULL);
    g_free(pod->dir);
    g_free(pod->error);
    g_free(pod->namespace);
    g_free(pod);
}

/* On a context of its own: `metrics --listen` asks from inside a dispatch of the default one. */
ProtobufCMessage *tool_pod_call(const char *dir, const char *method,
                                const ProtobufCMessage *request,
                                const ProtobufCMessageDescriptor *reply_type, gint64 timeout_us,
                                GError **error)
{
    g_autofree char *socket = g_build_filename(dir, SHIM_DEBUG_SOCKET, NULL);
    g_autoptr(GMainContext) context = g_main_context_new();
    g_autoptr(TtrpcClient) client = ttrpc_client_connect_unix(socket, context, error);
    if (!client)
        return NULL;
    g_autoptr(GBytes) reply =
        ttrpc_client_call_sync(client, SHIM_DEBUG_SERVICE, method, request, timeout_us, error);
    if (!reply)
        return NULL;
    gsize len;
    const guint8 *data = g_bytes_get_data(reply, &len);
    ProtobufCMessage *m = protobuf_c_message_unpack(reply_type, NULL, len, data);
    if (!m)
        g_set_error(error, TTRPC_ERROR, TTRPC_CODE_INTERNAL, "the reply is not a %s",
                    reply_type->name);
    return m;
}

static ProtobufCMessage *ask(const char *dir, const char *method,
                             const ProtobufCMessageDescriptor *reply_type, GError **error)
{
    Google__Protobuf__Empty empty = GOOGLE__PROTOBUF__EMPTY__INIT;
    return tool_pod_call(dir, method, &empty.base, reply_type, CALL_TIMEOUT_US, error);
}

static void query_one(ToolPod *pod, gboolean metrics)
{
    g_autoptr(GError) error = NULL;

    if (metrics) {
        pod->metrics =
            (void *)ask(pod->dir, "Metrics", &secure__debug__v1__pod_metrics__descriptor, &error);
        pod->status = pod->metrics ? pod->metrics->status : NULL;
    } else {
        pod->status =
            (void *)ask(pod->dir, "Status", &secure__debug__v1__pod_status__descriptor, &error);
    }
    if (!pod->status) {
        pod->error = g_strdup(error ? error->message : "the reply has no status");
        if (pod->metrics)
            protobuf_c_message_free_unpacked(&pod->metrics->base, NULL);
        pod->metrics = NULL;
    }
}

static gint by_dir(gconstpointer a, gconstpointer b)
{
    return g_strcmp0((*(ToolPod *const *)a)->dir, (*(ToolPod *const *)b)->dir);
}

GPtrArray *tool_pods_query(const char *root, gboolean metrics)
{
    GPtrArray *pods = g_ptr_array_new_with_free_func(pod_free);
    g_autoptr(GDir) dir = g_dir_open(root, 0, NULL);
    const char *name;

    while (dir && (name = g_dir_read_name(dir))) {
        g_autofree char *path = g_build_filename(root, name, NULL);
        /* Pod directories only: the pods' uid reservations (symlinks) live here too. */
        if (strlen(name) != SHIM_STATE_POD_NAME_LEN || g_file_test(path, G_FILE_TEST_IS_SYMLINK))
            continue;
        g_autoptr(ShimState) state = shim_state_load(path, NULL);
        if (!state)
            continue;
        ToolPod *pod = g_new0(ToolPod, 1);
        pod->dir = g_steal_pointer(&path);
        pod->namespace = shim_state_get(state, NULL, SHIM_STATE_NAMESPACE);
        query_one(pod, metrics);
        g_ptr_array_add(pods, pod);
    }
    g_ptr_array_sort(pods, by_dir);
    return pods;
}

static gboolean names(const ToolPod *pod, const char *name, gboolean by_cri_name)
{
    const Secure__Debug__V1__PodStatus *s = pod->status;
    g_autofree char *dir = g_path_get_basename(pod->dir);
    g_autofree char *cri =
        s && *s->cri_name ? g_strdup_printf("%s/%s", s->cri_namespace, s->cri_name) : NULL;
    if (by_cri_name)
        return s && *s->cri_name && g_str_equal(s->cri_name, name);
    return (s && g_str_equal(s->sandbox_id, name)) || (cri && g_str_equal(cri, name)) ||
           (strlen(name) >= 4 && g_str_has_prefix(dir, name));
}

ToolPod *tool_pods_find(GPtrArray *pods, const char *name, GError **error)
{
    /* Exact names first; a CRI name alone only when nothing else matched. */
    for (int by_cri_name = 0; by_cri_name < 2; by_cri_name++) {
        ToolPod *found = NULL;
        guint n = 0;
        for (guint i = 0; i < pods->len; i++) {
            if (names(pods->pdata[i], name, by_cri_name)) {
                found = pods->pdata[i];
                n++;
            }
        }
        if (n == 1)
            return found;
        if (n > 1) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                        "'%s' names %u pods: give its sandbox id or directory", name, n);
            return NULL;
        }
    }
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                "no pod named '%s' (`secure-container ps` lists them)", name);
    return NULL;
}
