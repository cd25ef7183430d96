/* The ttrpc client: odd stream ids, pending calls matched to replies in any order, local
 * deadlines, and prompt failure of every pending call when the connection ends. */
#include "ttrpc.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ttrpc-connection.h"
#include "ttrpc-status.h"
#include "ttrpc-unix.h"
#include "ttrpc.pb-c.h"

typedef struct {
    TtrpcClient *client;
    guint32 stream_id;
    char *name; /* "service/method", for messages */
    TtrpcReplyFunc func;
    gpointer user_data;
    GSource *deadline_source;
} PendingCall;

struct _TtrpcClient {
    gint ref_count;
    gboolean freed; /* ttrpc_client_free() ran; memory stays while a dispatch holds a ref */
    GMainContext *context;
    TtrpcConnection *connection;
    guint64 next_stream_id; /* 32-bit on the wire and never reused: 64 bits see the end */
    GHashTable *pending;    /* stream id -> PendingCall */
    GPtrArray *metadata;    /* Ttrpc__KeyValue */
    TtrpcClientClosedFunc closed_func;
    gpointer closed_data;
};

typedef struct {
    TtrpcReplyFunc func;
    gpointer user_data;
    GError *error;
} LateFailure;

static void response_free(Ttrpc__Response *response)
{
    ttrpc__response__free_unpacked(response, NULL);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Ttrpc__Response, response_free)

static TtrpcClient *client_ref(TtrpcClient *client)
{
    client->ref_count++;
    return client;
}

static void client_unref(TtrpcClient *client)
{
    if (--client->ref_count > 0)
        return;
    ttrpc_connection_unref(client->connection);
    g_hash_table_unref(client->pending);
    g_ptr_array_unref(client->metadata);
    g_main_context_unref(client->context);
    g_free(client);
}

/* A reference held across user callbacks, which may free the client. */
typedef TtrpcClient ClientHold;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ClientHold, client_unref)

/* ---- failing a call from the main context ---------------------------------------------- */

static gboolean run_late_failure(gpointer user_data)
{
    LateFailure *failure = user_data;
    failure->func(NULL, 0, failure->error, failure->user_data);
    return G_SOURCE_REMOVE;
}

static void late_failure_free(gpointer user_data)
{
    LateFailure *failure = user_data;
    g_error_free(failure->error);
    g_free(failure);
}

/* Takes @error; the callback runs from a later iteration of @context, never from here. */
static void fail_later(GMainContext *context, TtrpcReplyFunc func, gpointer user_data,
                       GError *error)
{
    LateFailure *failure = g_new0(LateFailure, 1);
    failure->func = func;
    failure->user_data = user_data;
    failure->error = error;
    g_autoptr(GSource) source = g_idle_source_new();
    g_source_set_callback(source, run_late_failure, failure, late_failure_free);
    g_source_attach(source, context);
}

/* ---- pending calls --------------------------------------------------------------------- */

static void pending_call_free(PendingCall *call)
{
    if (call->deadline_source != NULL) {
        g_source_destroy(call->deadline_source);
        g_source_unref(call->deadline_source);
    }
    g_free(call->name);
    g_free(call);
}

/* Removes the call from the table and gives its result to the caller. */
static void pending_call_finish(PendingCall *call, const guint8 *payload, gsize len,
                                const GError *error)
{
    g_hash_table_steal(call->client->pending, GUINT_TO_POINTER(call->stream_id));
    call->func(payload, len, error, call->user_data);
    pending_call_free(call);
}

static gboolean on_call_deadline(gpointer user_data)
{
    PendingCall *call = user_data;
    G_GNUC_UNUSED g_autoptr(ClientHold) hold = client_ref(call->client);
    g_autoptr(GError) error = g_error_new(TTRPC_ERROR, TTRPC_CODE_DEADLINE_EXCEEDED,
                                          "deadline exceeded calling %s", call->name);
    pending_call_finish(call, NULL, 0, error);
    return G_SOURCE_REMOVE;
}

static gint compare_stream_ids(gconstpointer a, gconstpointer b)
{
    guint32 x = ((const PendingCall *)a)->stream_id, y = ((const PendingCall *)b)->stream_id;
    return x < y ? -1 : x > y;
}

/* Fails every pending call with @error, oldest first: now, or from the main context when
 * @later. */
static void fail_all_pending(TtrpcClient *client, const GError *error, gboolean later)
{
    GList *calls = g_list_sort(g_hash_table_get_values(client->pending), compare_stream_ids);
    g_hash_table_steal_all(client->pending);
    for (GList *l = calls; l != NULL; l = l->next) {
        PendingCall *call = l->data;
        GError *call_error = g_error_new(TTRPC_ERROR, TTRPC_CODE_UNAVAILABLE, "calling %s: %s",
                                         call->name, error->message);
        if (later) {
            fail_later(client->context, call->func, call->user_data, call_error);
        } else {
            call->func(NULL, 0, call_error, call->user_data);
            g_error_free(call_error);
        }
        pending_call_free(call);
    }
    g_list_free(calls);
}

/* ---- connection events ----------------------------------------------------------------- */

static void on_frame(TtrpcConnection *connection, const TtrpcFrameHeader *header,
                     const guint8 *data, gpointer user_data)
{
    (void)connection;
    static const guint8 empty[1];
    TtrpcClient *client = user_data;
    if (header->type != TTRPC_FRAME_RESPONSE)
        return;
    /* No such call: it already failed on its deadline, or the peer is confused. */
    PendingCall *call = g_hash_table_lookup(client->pending, GUINT_TO_POINTER(header->stream_id));
    if (call == NULL)
        return;

    G_GNUC_UNUSED g_autoptr(ClientHold) hold = client_ref(client);
    g_autoptr(Ttrpc__Response) response =
        ttrpc__response__unpack(NULL, header->length, data != NULL ? data : empty);
    g_autoptr(GError) error = NULL;
    if (response == NULL)
        error =
            g_error_new(TTRPC_ERROR, TTRPC_CODE_INTERNAL,
                        "calling %s: malformed Response of %u bytes", call->name, header->length);
    else if (response->status != NULL && response->status->code != TTRPC_CODE_OK)
        error = ttrpc_status_to_error(response->status);

    if (error != NULL)
        pending_call_finish(call, NULL, 0, error);
    else
        pending_call_finish(call, response->payload.data, response->payload.len, NULL);
}

static void on_oversized(TtrpcConnection *connection, const TtrpcFrameHeader *header,
                         gpointer user_data)
{
    (void)connection;
    TtrpcClient *client = user_data;
    PendingCall *call = g_hash_table_lookup(client->pending, GUINT_TO_POINTER(header->stream_id));
    if (call == NULL)
        return;
    G_GNUC_UNUSED g_autoptr(ClientHold) hold = client_ref(client);
    g_autoptr(GError) error =
        g_error_new(TTRPC_ERROR, TTRPC_CODE_RESOURCE_EXHAUSTED,
                    "calling %s: reply of %u bytes exceeds the maximum message size", call->name,
                    header->length);
    pending_call_finish(call, NULL, 0, error);
}

static void on_closed(TtrpcConnection *connection, const GError *error, gpointer user_data)
{
    (void)connection;
    TtrpcClient *client = user_data;
    G_GNUC_UNUSED g_autoptr(ClientHold) hold = client_ref(client);

    fail_all_pending(client, error, FALSE);
    if (!client->freed && client->closed_func != NULL)
        client->closed_func(client, client->closed_data);
}

static const TtrpcConnectionCallbacks client_callbacks = {
    .frame = on_frame,
    .oversized = on_oversized,
    .closed = on_closed,
};

/* ---- public API ------------------------------------------------------------------------ */

static void key_value_free(gpointer data)
{
    Ttrpc__KeyValue *kv = data;
    g_free(kv->key);
    g_free(kv->value);
    g_free(kv);
}

TtrpcClient *ttrpc_client_new(int *fd, GMainContext *context)
{
    TtrpcClient *client = g_new0(TtrpcClient, 1);
    client->ref_count = 1;
    client->context =
        context != NULL ? g_main_context_ref(context) : g_main_context_ref_thread_default();
    client->next_stream_id = 1;
    client->pending = g_hash_table_new(NULL, NULL);
    client->metadata = g_ptr_array_new_with_free_func(key_value_free);
    client->connection = ttrpc_connection_new(fd, client->context, &client_callbacks, client);
    return client;
}

TtrpcClient *ttrpc_client_connect_unix(const char *path, GMainContext *context, GError **error)
{
    struct sockaddr_un addr;
    if (!ttrpc_unix_address(path, &addr, error))
        return NULL;

    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        int saved_errno = errno;
        g_set_error(error, TTRPC_ERROR, TTRPC_CODE_UNAVAILABLE, "connect '%s': %s", path,
                    g_strerror(saved_errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    return ttrpc_client_new(&fd, context);
}

void ttrpc_client_free(TtrpcClient *client)
{
    if (client == NULL)
        return;
    g_autoptr(GError) error =
        g_error_new_literal(TTRPC_ERROR, TTRPC_CODE_UNAVAILABLE, "client closed");
    client->freed = TRUE;
    ttrpc_connection_close(client->connection);
    fail_all_pending(client, error, TRUE);
    client_unref(client);
}

void ttrpc_client_set_metadata(TtrpcClient *client, const char *key, const char *value)
{
    /* Keys are lower case on the wire, as the Go implementation sends them. */
    g_autofree char *lower = g_ascii_strdown(key, -1);
    for (guint i = 0; i < client->metadata->len; i++) {
        Ttrpc__KeyValue *kv = g_ptr_array_index(client->metadata, i);
        if (g_str_equal(kv->key, lower)) {
            g_free(kv->value);
            kv->value = g_strdup(value);
            return;
        }
    }
    Ttrpc__KeyValue *kv = g_new(Ttrpc__KeyValue, 1);
    ttrpc__key_value__init(kv);
    kv->key = g_steal_pointer(&lower);
    kv->value = g_strdup(value);
    g_ptr_array_add(client->metadata, kv);
}

void ttrpc_client_set_closed_func(TtrpcClient *client, TtrpcClientClosedFunc func,
                                  gpointer user_data)
{
    client->closed_func = func;
    client->closed_data = user_data;
}

gboolean ttrpc_client_is_closed(TtrpcClient *client)
{
    return ttrpc_connection_is_closed(client->connection);
}

/* The Request envelope around @request, packed. */
static guint8 *pack_request(TtrpcClient *client, const char *service, const char *method,
                            const ProtobufCMessage *request, gint64 timeout_us, gsize *out_len)
{
    Ttrpc__Request envelope = TTRPC__REQUEST__INIT;
    g_autofree guint8 *payload = NULL;

    envelope.service = (char *)service;
    envelope.method = (char *)method;
    if (request != NULL) {
        envelope.payload.len = protobuf_c_message_get_packed_size(request);
        payload = g_malloc(MAX(envelope.payload.len, 1));
        protobuf_c_message_pack(request, payload);
        envelope.payload.data = payload;
    }
    envelope.timeout_nano =
        timeout_us > 0 && timeout_us < G_MAXINT64 / 1000 ? timeout_us * 1000 : 0;
    envelope.n_metadata = client->metadata->len;
    envelope.metadata = (Ttrpc__KeyValue **)client->metadata->pdata;

    *out_len = ttrpc__request__get_packed_size(&envelope);
    guint8 *bytes = g_malloc(MAX(*out_len, 1));
    ttrpc__request__pack(&envelope, bytes);
    return bytes;
}

void ttrpc_client_call(TtrpcClient *client, const char *service, const char *method,
                       const ProtobufCMessage *request, gint64 timeout_us, TtrpcReplyFunc func,
                       gpointer user_data)
{
    g_autofree char *name = g_strdup_printf("%s/%s", service, method);
    if (ttrpc_client_is_closed(client)) {
        fail_later(client->context, func, user_data,
                   g_error_new(TTRPC_ERROR, TTRPC_CODE_UNAVAILABLE, "calling %s: connection closed",
                               name));
        return;
    }
    if (client->next_stream_id > G_MAXUINT32) {
        fail_later(client->context, func, user_data,
                   g_error_new(TTRPC_ERROR, TTRPC_CODE_RESOURCE_EXHAUSTED,
                               "calling %s: stream ids exhausted on this connection", name));
        return;
    }
    gsize len;
    g_autofree guint8 *bytes = pack_request(client, service, method, request, timeout_us, &len);
    if (len > TTRPC_FRAME_MAX_DATA) {
        fail_later(client->context, func, user_data,
                   g_error_new(TTRPC_ERROR, TTRPC_CODE_RESOURCE_EXHAUSTED,
                               "calling %s: request of %zu bytes exceeds the maximum message "
                               "size of %u",
                               name, len, TTRPC_FRAME_MAX_DATA));
        return;
    }

    PendingCall *call = g_new0(PendingCall, 1);
    call->client = client;
    call->stream_id = client->next_stream_id;
    call->name = g_steal_pointer(&name);
    call->func = func;
    call->user_data = user_data;
    client->next_stream_id += 2;
    if (timeout_us > 0) {
        call->deadline_source = g_timeout_source_new(MIN((timeout_us + 999) / 1000, G_MAXUINT));
        g_source_set_callback(call->deadline_source, on_call_deadline, call, NULL);
        g_source_attach(call->deadline_source, client->context);
    }
    g_hash_table_insert(client->pending, GUINT_TO_POINTER(call->stream_id), call);
    /* A write error shows up later through on_closed(), which fails this call. */
    ttrpc_connection_send(client->connection, call->stream_id, TTRPC_FRAME_REQUEST, bytes, len);
}

typedef struct {
    gboolean done;
    GBytes *reply;
    GError *error;
} SyncResult;

static void on_sync_reply(const guint8 *payload, gsize len, const GError *error, gpointer user_data)
{
    SyncResult *result = user_data;
    result->done = TRUE;
    if (error != NULL)
        result->error = g_error_copy(error);
    else
        result->reply = g_bytes_new(payload, len);
}

GBytes *ttrpc_client_call_sync(TtrpcClient *client, const char *service, const char *method,
                               const ProtobufCMessage *request, gint64 timeout_us, GError **error)
{
    SyncResult result = {0};
    g_autoptr(GMainContext) context = g_main_context_ref(client->context);

    ttrpc_client_call(client, service, method, request, timeout_us, on_sync_reply, &result);
    while (!result.done)
        g_main_context_iteration(context, TRUE);
    if (result.error != NULL) {
        g_propagate_error(error, result.error);
        return NULL;
    }
    return result.reply;
}
