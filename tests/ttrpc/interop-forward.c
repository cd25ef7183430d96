/* Sends one containerd.events.TaskExit to containerd's ttrpc Events/Forward, as a shim does.
 * Usage: interop-forward TTRPC_SOCKET NAMESPACE CONTAINER_ID EXIT_STATUS
 * Exits 0 when containerd accepted it; prints the error otherwise. */
#include <stdio.h>
#include <stdlib.h>

#include "events-task.pb-c.h"
#include "events-ttrpc.pb-c.h"
#include "ttrpc.h"

/* The Any around @exit, with the type URL containerd's typeurl registry knows. */
static guint8 *pack_task_exit(Containerd__Events__TaskExit *exit, gsize *out_len)
{
    *out_len = containerd__events__task_exit__get_packed_size(exit);
    guint8 *bytes = g_malloc(*out_len + 1);
    containerd__events__task_exit__pack(exit, bytes);
    return bytes;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s TTRPC_SOCKET NAMESPACE CONTAINER_ID EXIT_STATUS\n", argv[0]);
        return 2;
    }
    gint64 now = g_get_real_time();
    Google__Protobuf__Timestamp stamp = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    stamp.seconds = now / G_USEC_PER_SEC;
    stamp.nanos = (now % G_USEC_PER_SEC) * 1000;

    Containerd__Events__TaskExit exit = CONTAINERD__EVENTS__TASK_EXIT__INIT;
    exit.container_id = argv[3];
    exit.id = argv[3];
    exit.pid = 4242;
    exit.exit_status = atoi(argv[4]);
    exit.exited_at = &stamp;

    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    any.type_url = (char *)"containerd.events.TaskExit";
    g_autofree guint8 *event = pack_task_exit(&exit, &any.value.len);
    any.value.data = event;

    Containerd__Services__Events__Ttrpc__V1__Envelope envelope =
        CONTAINERD__SERVICES__EVENTS__TTRPC__V1__ENVELOPE__INIT;
    envelope.timestamp = &stamp;
    envelope.namespace_ = argv[2];
    envelope.topic = (char *)"/tasks/exit";
    envelope.event = &any;
    Containerd__Services__Events__Ttrpc__V1__ForwardRequest request =
        CONTAINERD__SERVICES__EVENTS__TTRPC__V1__FORWARD_REQUEST__INIT;
    request.envelope = &envelope;

    g_autoptr(GError) error = NULL;
    g_autoptr(TtrpcClient) client = ttrpc_client_connect_unix(argv[1], NULL, &error);
    if (client == NULL) {
        fprintf(stderr, "interop-forward: %s\n", error->message);
        return 1;
    }
    ttrpc_client_set_metadata(client, "containerd-namespace-ttrpc", argv[2]);
    g_autoptr(GBytes) reply =
        ttrpc_client_call_sync(client, "containerd.services.events.ttrpc.v1.Events", "Forward",
                               &request.base, 5 * G_USEC_PER_SEC, &error);
    if (reply == NULL) {
        fprintf(stderr, "interop-forward: Forward: %s (%s)\n", error->message,
                ttrpc_code_name(error->code));
        return 1;
    }
    printf("interop-forward: containerd accepted the event (reply of %zu bytes)\n",
           g_bytes_get_size(reply));
    return 0;
}
