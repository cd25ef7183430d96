/* Fuzz target: peer bytes into the ttrpc server or client through a real socketpair, so the
 * frame decoder, Request/Response decoding, dispatch and call matching all see them.
 * Input: one byte choosing the side (even: server, odd: client), then the byte stream the
 * peer sends. The peer then closes, so every input ends. */
#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib-unix.h>

#include "ttrpc.h"
#include "ttrpc.pb-c.h"

#define FUZZ_SERVICE "fuzz.v1.Target"
#define CLIENT_CALLS 4

typedef struct {
    GMainContext *context;
    int peer_fd;
    const uint8_t *input;
    size_t input_left;
    gboolean done;
    GPtrArray *held;
    guint replies;
} Fuzz;

static void echo(TtrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
    (void)user_data;
    const Ttrpc__KeyValue *kv = (const void *)request;
    const char *value = ttrpc_call_get_metadata(call, kv->key);
    if (value != NULL)
        ttrpc_call_return_error(call, TTRPC_CODE_NOT_FOUND, "%s", value);
    else
        ttrpc_call_return(call, request);
}

static void hold(TtrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
    (void)request;
    Fuzz *fuzz = user_data;
    g_ptr_array_add(fuzz->held, call);
}

static const TtrpcMethod methods[] = {{"Echo", &ttrpc__key_value__descriptor, echo},
                                      {"Hold", &ttrpc__key_value__descriptor, hold}};

/* The peer's side: send what is left of the input, then close for writing; drop what comes. */
static void pump_peer(Fuzz *fuzz)
{
    if (fuzz->input_left > 0) {
        ssize_t n = send(fuzz->peer_fd, fuzz->input, fuzz->input_left, MSG_NOSIGNAL);
        if (n > 0) {
            fuzz->input += n;
            fuzz->input_left -= n;
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
            fuzz->input_left = 0;
        }
        if (fuzz->input_left == 0)
            shutdown(fuzz->peer_fd, SHUT_WR);
    }
    guint8 sink[4096];
    while (read(fuzz->peer_fd, sink, sizeof(sink)) > 0)
        ;
}

static void run_until_done(Fuzz *fuzz)
{
    while (!fuzz->done) {
        pump_peer(fuzz);
        g_main_context_iteration(fuzz->context, FALSE);
    }
}

static void on_server_closed(TtrpcServer *server, gpointer user_data)
{
    (void)server;
    ((Fuzz *)user_data)->done = TRUE;
}

static void fuzz_server(Fuzz *fuzz, int fd)
{
    TtrpcServer *server = ttrpc_server_new(fuzz->context);
    ttrpc_server_register(server, FUZZ_SERVICE, methods, G_N_ELEMENTS(methods), fuzz);
    ttrpc_server_set_closed_func(server, on_server_closed, fuzz);
    ttrpc_server_serve_fd(server, &fd);
    run_until_done(fuzz);
    for (guint i = 0; i < fuzz->held->len; i++)
        ttrpc_call_return(g_ptr_array_index(fuzz->held, i), NULL);
    ttrpc_server_free(server);
}

static void on_reply(const guint8 *payload, gsize len, const GError *error, gpointer user_data)
{
    (void)payload;
    (void)len;
    (void)error;
    Fuzz *fuzz = user_data;
    fuzz->done = ++fuzz->replies == CLIENT_CALLS;
}

static void fuzz_client(Fuzz *fuzz, int fd)
{
    TtrpcClient *client = ttrpc_client_new(&fd, fuzz->context);
    ttrpc_client_set_metadata(client, "containerd-namespace-ttrpc", "fuzz");
    for (guint i = 0; i < CLIENT_CALLS; i++)
        ttrpc_client_call(client, FUZZ_SERVICE, "Echo", NULL, i % 2 ? 60 * G_USEC_PER_SEC : 0,
                          on_reply, fuzz);
    run_until_done(fuzz);
    ttrpc_client_free(client);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
        g_error("socketpair: %s", g_strerror(errno));
    g_unix_set_fd_nonblocking(fds[1], TRUE, NULL);

    Fuzz fuzz = {
        .context = g_main_context_new(),
        .peer_fd = fds[1],
        .input = data + 1,
        .input_left = size - 1,
        .held = g_ptr_array_new(),
    };
    if (fuzz.input_left == 0)
        shutdown(fds[1], SHUT_WR);
    if (data[0] % 2 == 0)
        fuzz_server(&fuzz, fds[0]);
    else
        fuzz_client(&fuzz, fds[0]);

    close(fds[1]);
    while (g_main_context_iteration(fuzz.context, FALSE))
        ;
    g_main_context_unref(fuzz.context);
    g_ptr_array_unref(fuzz.held);
    return 0;
}
