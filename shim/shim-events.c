/* The event publisher. Like containerd's own shims: 5 s per Forward, reconnect when the
 * connection dropped (containerd restarted), up to 5 tries with a growing back-off, then the
 * event is dropped with a warning. */
#include "shim-events.h"

#include "events-ttrpc.pb-c.h"
#include "ttrpc.h"
#include "wellknown.pb-c.h"

#define EVENTS_SERVICE "containerd.services.events.ttrpc.v1.Events"
#define FORWARD_TIMEOUT_US (5 * G_USEC_PER_SEC)
#define MAX_TRIES 5
#define NAMESPACE_KEY "containerd-namespace-ttrpc"

typedef struct {
    Google__Protobuf__Timestamp timestamp;
    char *topic;
    char *type_url;
    GBytes *payload;
    guint tries;
} QueuedEvent;

struct _ShimEvents {
    char *address;
    char *namespace;
    TtrpcClient *client;
    GQueue queue; /* of QueuedEvent; the head is in flight when busy */
    gboolean busy;
    gboolean closed; /* freed by its owner; in-flight replies still hold a reference */
    guint retry_source;
    gint refs;
};

static void queued_event_free(QueuedEvent *ev)
{
    g_free(ev->topic);
    g_free(ev->type_url);
    g_bytes_unref(ev->payload);
    g_free(ev);
}

ShimEvents *shim_events_new(const char *address, const char *namespace)
{
    ShimEvents *events = g_new0(ShimEvents, 1);
    events->address = g_strdup(address);
    events->namespace = g_strdup(namespace);
    g_queue_init(&events->queue);
    events->refs = 1;
    return events;
}

static void events_unref(ShimEvents *events)
{
    if (--events->refs > 0)
        return;
    g_free(events->address);
    g_free(events->namespace);
    g_free(events);
}

void shim_events_free(ShimEvents *events)
{
    if (!events)
        return;
    g_clear_handle_id(&events->retry_source, g_source_remove);
    events->closed = TRUE;
    g_clear_pointer(&events->client, ttrpc_client_free);
    g_queue_clear_full(&events->queue, (GDestroyNotify)queued_event_free);
    events_unref(events);
}

gboolean shim_events_is_idle(ShimEvents *events)
{
    return g_queue_is_empty(&events->queue);
}

static void send_head(ShimEvents *events);

static gboolean retry_cb(gpointer user_data)
{
    ShimEvents *events = user_data;
    events->retry_source = 0;
    send_head(events);
    return G_SOURCE_REMOVE;
}

static void forward_done(const guint8 *payload, gsize len, const GError *error, gpointer user_data)
{
    ShimEvents *events = user_data;
    (void)payload;
    (void)len;
    if (events->closed) {
        events_unref(events);
        return;
    }
    events_unref(events);
    events->busy = FALSE;
    QueuedEvent *ev = g_queue_peek_head(&events->queue);
    if (error && ++ev->tries < MAX_TRIES) {
        g_debug("forward '%s' (try %u): %s", ev->topic, ev->tries, error->message);
        if (g_error_matches(error, TTRPC_ERROR, TTRPC_CODE_UNAVAILABLE))
            g_clear_pointer(&events->client, ttrpc_client_free);
        events->retry_source = g_timeout_add(ev->tries * 1000, retry_cb, events);
        return;
    }
    if (error)
        g_warning("event '%s' dropped: %s", ev->topic, error->message);
    queued_event_free(g_queue_pop_head(&events->queue));
    send_head(events);
}

static gboolean ensure_client(ShimEvents *events)
{
    g_autoptr(GError) error = NULL;
    if (events->client && !ttrpc_client_is_closed(events->client))
        return TRUE;
    g_clear_pointer(&events->client, ttrpc_client_free);
    events->client = ttrpc_client_connect_unix(events->address, NULL, &error);
    if (!events->client) {
        g_debug("events: connect '%s': %s", events->address, error->message);
        return FALSE;
    }
    ttrpc_client_set_metadata(events->client, NAMESPACE_KEY, events->namespace);
    return TRUE;
}

static void send_head(ShimEvents *events)
{
    QueuedEvent *ev = g_queue_peek_head(&events->queue);
    if (!ev || events->busy || events->retry_source)
        return;
    if (!ensure_client(events)) {
        if (++ev->tries >= MAX_TRIES) {
            g_warning("event '%s' dropped: cannot connect to '%s'", ev->topic, events->address);
            queued_event_free(g_queue_pop_head(&events->queue));
            send_head(events);
        } else {
            events->retry_source = g_timeout_add(ev->tries * 1000, retry_cb, events);
        }
        return;
    }
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    any.type_url = ev->type_url;
    any.value.data = (guint8 *)g_bytes_get_data(ev->payload, &any.value.len);
    Containerd__Services__Events__Ttrpc__V1__Envelope envelope =
        CONTAINERD__SERVICES__EVENTS__TTRPC__V1__ENVELOPE__INIT;
    envelope.timestamp = &ev->timestamp;
    envelope.namespace_ = events->namespace;
    envelope.topic = ev->topic;
    envelope.event = &any;
    Containerd__Services__Events__Ttrpc__V1__ForwardRequest request =
        CONTAINERD__SERVICES__EVENTS__TTRPC__V1__FORWARD_REQUEST__INIT;
    request.envelope = &envelope;
    events->busy = TRUE;
    events->refs++;
    ttrpc_client_call(events->client, EVENTS_SERVICE, "Forward", &request.base, FORWARD_TIMEOUT_US,
                      forward_done, events);
}

void shim_events_publish(ShimEvents *events, const char *topic, const ProtobufCMessage *event)
{
    if (!events->address || !*events->address) {
        g_debug("event '%s' not sent: no TTRPC_ADDRESS", topic);
        return;
    }
    QueuedEvent *ev = g_new0(QueuedEvent, 1);
    gint64 now = g_get_real_time();
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    ts.seconds = now / G_USEC_PER_SEC;
    ts.nanos = (int32_t)(now % G_USEC_PER_SEC) * 1000;
    ev->timestamp = ts;
    ev->topic = g_strdup(topic);
    ev->type_url = g_strdup(event->descriptor->name);
    gsize len = protobuf_c_message_get_packed_size(event);
    guint8 *buf = g_malloc(len ? len : 1);
    protobuf_c_message_pack(event, buf);
    ev->payload = g_bytes_new_take(buf, len);
    g_queue_push_tail(&events->queue, ev);
    send_head(events);
}
