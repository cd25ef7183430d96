/* ttrpc round-trip benchmark over a unix socket: a server in a child process, the client here.
 * Reports latency (median, p99) and requests/second with 1 and with 64 calls in flight.
 * Usage: bench-ttrpc [CALLS] (default 20000 per run). */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "ttrpc.h"
#include "ttrpc.pb-c.h"

#define SERVICE "bench.v1.Echo"

static void echo(TtrpcCall *call, const ProtobufCMessage *request, gpointer user_data)
{
    (void)user_data;
    ttrpc_call_return(call, request);
}

static const TtrpcMethod methods[] = {{"Echo", &ttrpc__key_value__descriptor, echo}};

/* The child: serve until killed. */
static void run_server(const char *path, int ready_fd)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(TtrpcServer) server = ttrpc_server_new(NULL);
    ttrpc_server_register(server, SERVICE, methods, G_N_ELEMENTS(methods), NULL);
    if (!ttrpc_server_listen_unix(server, path, &error))
        g_error("%s", error->message);
    if (write(ready_fd, "r", 1) != 1)
        _exit(1);
    close(ready_fd);
    for (;;)
        g_main_context_iteration(NULL, TRUE);
}

typedef struct {
    TtrpcClient *client;
    Ttrpc__KeyValue request;
    guint to_send;
    guint done;
    guint failed;
    gint64 *latencies; /* one per call, µs */
    gint64 *started;   /* per caller slot */
} Run;

typedef struct {
    Run *run;
    guint slot;
} Caller;

static void send_next(Caller *caller);

static void on_reply(const guint8 *payload, gsize len, const GError *error, gpointer user_data)
{
    (void)payload;
    (void)len;
    Caller *caller = user_data;
    Run *run = caller->run;
    run->latencies[run->done++] = g_get_monotonic_time() - run->started[caller->slot];
    if (error != NULL)
        run->failed++;
    send_next(caller);
}

static void send_next(Caller *caller)
{
    Run *run = caller->run;
    if (run->to_send == 0)
        return;
    run->to_send--;
    run->started[caller->slot] = g_get_monotonic_time();
    ttrpc_client_call(run->client, SERVICE, "Echo", &run->request.base, 0, on_reply, caller);
}

static int compare_gint64(gconstpointer a, gconstpointer b)
{
    gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;
    return x < y ? -1 : x > y;
}

/* Runs @calls calls, @callers at a time; prints the figures when @report. */
static gboolean run_callers(TtrpcClient *client, guint callers, guint calls, gboolean report)
{
    Run run = {.client = client, .to_send = calls};
    ttrpc__key_value__init(&run.request);
    run.request.key = (char *)"containerd.task.v2.Task";
    run.request.value = (char *)"a short value, like an id";
    run.latencies = g_new0(gint64, calls);
    run.started = g_new0(gint64, callers);
    Caller *slots = g_new0(Caller, callers);

    gint64 start = g_get_monotonic_time();
    for (guint i = 0; i < callers; i++) {
        slots[i] = (Caller){&run, i};
        send_next(&slots[i]);
    }
    while (run.done < calls)
        g_main_context_iteration(NULL, TRUE);
    gint64 elapsed = g_get_monotonic_time() - start;

    qsort(run.latencies, calls, sizeof(gint64), compare_gint64);
    if (report)
        printf("callers=%-3u calls=%u  median=%" G_GINT64_FORMAT " us  p99=%" G_GINT64_FORMAT
               " us  requests/s=%.0f  failed=%u\n",
               callers, calls, run.latencies[calls / 2], run.latencies[calls * 99 / 100],
               calls / (elapsed / (double)G_USEC_PER_SEC), run.failed);
    gboolean ok = run.failed == 0;
    g_free(run.latencies);
    g_free(run.started);
    g_free(slots);
    return ok;
}

int main(int argc, char **argv)
{
    guint calls = argc > 1 ? (guint)atoi(argv[1]) : 20000;
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("bench-ttrpc-XXXXXX", &error);
    g_assert_no_error(error);
    g_autofree char *path = g_build_filename(dir, "bench.sock", NULL);
    int ready[2];
    g_assert(pipe2(ready, O_CLOEXEC) == 0);

    pid_t pid = fork();
    g_assert(pid >= 0);
    if (pid == 0) {
        close(ready[0]);
        run_server(path, ready[1]);
    }
    close(ready[1]);
    char byte;
    gboolean ok = read(ready[0], &byte, 1) == 1;
    close(ready[0]);

    TtrpcClient *client = ok ? ttrpc_client_connect_unix(path, NULL, &error) : NULL;
    if (client != NULL) {
        run_callers(client, 1, calls / 10, FALSE); /* warm-up */
        ok = run_callers(client, 1, calls, TRUE) && run_callers(client, 64, calls * 4, TRUE);
        ttrpc_client_free(client);
    } else {
        fprintf(stderr, "bench-ttrpc: server did not start: %s\n",
                error != NULL ? error->message : "no ready byte");
        ok = FALSE;
    }
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    g_unlink(path);
    g_rmdir(dir);
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
