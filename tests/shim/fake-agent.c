/* A guest agent that misbehaves, for the shim's "the guest is untrusted" tests. Started by the
 * shim like the host-mode agent (--listen unix:PATH --state-dir DIR); $SC_FAKE_AGENT_MODE picks
 * the misbehaviour:
 *   garbage    CreateContainer answers bytes that are not a CreateContainerResponse;
 *   oversized  ReadStdout answers one byte more than the shim asked for;
 *   ghost-oom  GetOOMEvent reports a container the shim never created (after 1 s);
 *   hang       Health answers only once (the boot check), then nothing does;
 *   late-output  the init exits at once having written "late\n" (WaitProcess says 5 bytes),
 *              and ReadStdout brings those bytes 3 s later, past the shim's 2 s grace;
 *   slow-exit  SIGTERM is ignored: only the shim's SIGKILL after its grace ends it;
 *   cat        a healthy agent whose every process (init pid 42, execs 43) is `cat`: what
 *              WriteStdin brings comes back on stdout; CloseStdin ends it with status 0, a
 *              signal with 128 + its number (for the shim's core tests, test-shim-core.c).
 * Everything else answers like a healthy agent whose processes never exit. */
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "agent.pb-c.h"
#include "ttrpc.h"

static const char *mode;
static GPtrArray *held; /* calls that never complete on their own (long polls) */

static gboolean is_mode(const char *name)
{
    return g_strcmp0(mode, name) == 0;
}

static void reply_empty(TtrpcCall *call, const ProtobufCMessage *req, gpointer d)
{
    (void)req, (void)d;
    ttrpc_call_return(call, NULL);
}

static void hold(TtrpcCall *call, const ProtobufCMessage *req, gpointer d)
{
    (void)req, (void)d;
    g_ptr_array_add(held, call);
}

static void health(TtrpcCall *call, const ProtobufCMessage *req, gpointer d)
{
    static gboolean answered;
    Secure__Agent__V1__HealthResponse resp = SECURE__AGENT__V1__HEALTH_RESPONSE__INIT;
    if (answered && is_mode("hang")) {
        hold(call, req, d);
        return;
    }
    answered = TRUE;
    resp.agent_version = "fake";
    resp.kernel_release = "none";
    resp.agent_pid = 1;
    ttrpc_call_return(call, &resp.base);
}

static void create_container(TtrpcCall *call, const ProtobufCMessage *req, gpointer d)
{
    (void)req, (void)d;
    if (is_mode("garbage")) {
        /* Field 1 as a string where the shim expects the uint32 pid. */
        Secure__Agent__V1__OOMEvent wrong = SECURE__AGENT__V1__OOMEVENT__INIT;
        wrong.container_id = "not a pid";
        ttrpc_call_return(call, &wrong.base);
        return;
    }
    Secure__Agent__V1__CreateContainerResponse resp =
        SECURE__AGENT__V1__CREATE_CONTAINER_RESPONSE__INIT;
    resp.pid = 42;
    ttrpc_call_return(call, &resp.base);
}

static void start_container(TtrpcCall *call, const ProtobufCMessage *req, gpointer d)
{
    Secure__Agent__V1__StartContainerResponse resp =
        SECURE__AGENT__V1__START_CONTAINER_RESPONSE__INIT;
    (void)req, (void)d;
    resp.pid = 42;
    ttrpc_call_return(call, &resp.base);
}

static gboolean late_output(gpointer call)
{
    Secure__Agent__V1__ReadStreamResponse resp = SECURE__AGENT__V1__READ_STREAM_RESPONSE__INIT;
    resp.data.data = (guint8 *)"late\n";
    resp.data.len = 5;
    resp.eof = TRUE;
    ttrpc_call_return(call, &resp.base);
    return G_SOURCE_REMOVE;
}

/* late-output: the first read gets the bytes late; the other one in flight waits for good. */
static void read_late(TtrpcCall *call)
{
    static gboolean sent;
    if (sent) {
        g_ptr_array_add(held, call);
        return;
    }
    sent = TRUE;
    g_timeout_add(3000, late_output, call);
}

static void read_stdout(TtrpcCall *call, const ProtobufCMessage *req, gpointer d)
{
    if (is_mode("late-output")) {
        read_late(call);
        return;
    }
    if (!is_mode("oversized")) {
        hold(call, req, d);
        return;
    }
    Secure__Agent__V1__ReadStreamResponse resp = SECURE__AGENT__V1__READ_STREAM_RESPONSE__INIT;
    resp.data.len = ((const Secure__Agent__V1__ReadStreamRequest *)req)->max_bytes + 1;
    g_autofree guint8 *data = g_malloc0(resp.data.len);
    resp.data.data = data;
    ttrpc_call_return(call, &resp.base);
}

static void read_stderr(TtrpcCall *call, const ProtobufCMessage *req, gpointer d)
{
    Secure__Agent__V1__ReadStreamResponse eof = SECURE__AGENT__V1__READ_STREAM_RESPONSE__INIT;
    if (!is_mode("late-output")) {
        hold(call, req, d);
        return;
    }
    eof.eof = TRUE;
    ttrpc_call_return(call, &eof.base);
}

static void wait_process(TtrpcCall *call, const ProtobufCMessage *req, gpointer d)
{
    Secure__Agent__V1__WaitProcessResponse exited = SECURE__AGENT__V1__WAIT_PROCESS_RESPONSE__INIT;
    if (!is_mode("late-output")) {
        hold(call, req, d);
        return;
    }
    exited.stdout_bytes = 5;
    ttrpc_call_return(call, &exited.base);
}

static gboolean ghost_oom(gpointer user_data)
{
    Secure__Agent__V1__OOMEvent ev = SECURE__AGENT__V1__OOMEVENT__INIT;
    ev.container_id = "ghost";
    ttrpc_call_return(user_data, &ev.base);
    return G_SOURCE_REMOVE;
}

static void get_oom_event(TtrpcCall *call, const ProtobufCMessage *req, gpointer d)
{
    if (is_mode("ghost-oom"))
        g_timeout_add(1000, ghost_oom, call);
    else
        hold(call, req, d);
}

/* ---- cat mode ------------------------------------------------------------------------------ */

#define CAT_INIT_PID 42
#define CAT_EXEC_PID 43

typedef struct {
    char *container_id;
    char *exec_id;
    GByteArray *out; /* written to stdin, not yet read from stdout */
    guint64 out_total;
    GQueue out_reads; /* of TtrpcCall: ReadStdout waiting for data */
    GQueue err_reads;
    GQueue waits; /* of TtrpcCall: WaitProcess */
    gboolean exited;
    guint32 status;
} CatProcess;

static GHashTable *cat_processes; /* "container/exec" -> CatProcess */

static void cat_exit(CatProcess *cp, guint32 status);

/* Its calls still waiting end as the real agent's would when its container goes. */
static void cat_process_free(CatProcess *cp)
{
    cat_exit(cp, 137);
    g_free(cp->container_id);
    g_free(cp->exec_id);
    g_byte_array_unref(cp->out);
    g_free(cp);
}

static void cat_add(const char *container_id, const char *exec_id)
{
    CatProcess *cp = g_new0(CatProcess, 1);
    cp->container_id = g_strdup(container_id);
    cp->exec_id = g_strdup(exec_id);
    cp->out = g_byte_array_new();
    g_hash_table_replace(cat_processes, g_strdup_printf("%s/%s", container_id, exec_id), cp);
}

static CatProcess *cat_find(const char *container_id, const char *exec_id, TtrpcCall *call)
{
    g_autofree char *key = g_strdup_printf("%s/%s", container_id, exec_id);
    CatProcess *cp = g_hash_table_lookup(cat_processes, key);
    if (!cp)
        ttrpc_call_return_error(call, TTRPC_CODE_NOT_FOUND, "no process '%s'", key);
    return cp;
}

/* Answers the first read of @reads with what stdout holds (all of it: reads ask for more than a
 * test writes), or every read with EOF once the process exited and nothing is left. */
static void cat_answer_reads(CatProcess *cp, GQueue *reads, GByteArray *data)
{
    while (!g_queue_is_empty(reads) && ((data && data->len > 0) || cp->exited)) {
        Secure__Agent__V1__ReadStreamResponse resp = SECURE__AGENT__V1__READ_STREAM_RESPONSE__INIT;
        if (data) {
            resp.data.data = data->data;
            resp.data.len = data->len;
        }
        resp.eof = cp->exited;
        ttrpc_call_return(g_queue_pop_head(reads), &resp.base);
        if (data)
            g_byte_array_set_size(data, 0);
    }
}

static void cat_answer_waits(CatProcess *cp)
{
    Secure__Agent__V1__WaitProcessResponse resp = SECURE__AGENT__V1__WAIT_PROCESS_RESPONSE__INIT;
    resp.exit_status = cp->status;
    resp.stdout_bytes = cp->out_total;
    while (cp->exited && !g_queue_is_empty(&cp->waits))
        ttrpc_call_return(g_queue_pop_head(&cp->waits), &resp.base);
}

static void cat_exit(CatProcess *cp, guint32 status)
{
    if (cp->exited)
        return;
    cp->exited = TRUE;
    cp->status = status;
    cat_answer_reads(cp, &cp->out_reads, cp->out);
    cat_answer_reads(cp, &cp->err_reads, NULL);
    cat_answer_waits(cp);
}

static void cat_create(TtrpcCall *call, const ProtobufCMessage *request, gpointer d)
{
    const Secure__Agent__V1__CreateContainerRequest *req = (const void *)request;
    Secure__Agent__V1__CreateContainerResponse resp =
        SECURE__AGENT__V1__CREATE_CONTAINER_RESPONSE__INIT;
    (void)d;
    cat_add(req->container_id, "");
    resp.pid = CAT_INIT_PID;
    ttrpc_call_return(call, &resp.base);
}

static void cat_exec(TtrpcCall *call, const ProtobufCMessage *request, gpointer d)
{
    const Secure__Agent__V1__ExecProcessRequest *req = (const void *)request;
    Secure__Agent__V1__ExecProcessResponse resp = SECURE__AGENT__V1__EXEC_PROCESS_RESPONSE__INIT;
    (void)d;
    cat_add(req->container_id, req->exec_id);
    resp.pid = CAT_EXEC_PID;
    ttrpc_call_return(call, &resp.base);
}

static gboolean cat_of_container(gpointer key, gpointer value, gpointer container_id)
{
    CatProcess *cp = value;
    (void)key;
    return strcmp(cp->container_id, container_id) == 0;
}

static void cat_remove(TtrpcCall *call, const ProtobufCMessage *request, gpointer d)
{
    const Secure__Agent__V1__RemoveContainerRequest *req = (const void *)request;
    (void)d;
    g_hash_table_foreach_remove(cat_processes, cat_of_container, req->container_id);
    ttrpc_call_return(call, NULL);
}

static void cat_signal(TtrpcCall *call, const ProtobufCMessage *request, gpointer d)
{
    const Secure__Agent__V1__SignalProcessRequest *req = (const void *)request;
    CatProcess *cp = cat_find(req->container_id, req->exec_id, call);
    (void)d;
    if (cp) {
        cat_exit(cp, 128 + req->signal);
        ttrpc_call_return(call, NULL);
    }
}

static void cat_wait(TtrpcCall *call, const ProtobufCMessage *request, gpointer d)
{
    const Secure__Agent__V1__WaitProcessRequest *req = (const void *)request;
    CatProcess *cp = cat_find(req->container_id, req->exec_id, call);
    (void)d;
    if (cp) {
        g_queue_push_tail(&cp->waits, call);
        cat_answer_waits(cp);
    }
}

/* Nothing is ever written to stderr: its reads end with the process. */
static void cat_read(TtrpcCall *call, const ProtobufCMessage *request, gboolean is_stdout)
{
    const Secure__Agent__V1__ReadStreamRequest *req = (const void *)request;
    CatProcess *cp = cat_find(req->container_id, req->exec_id, call);
    if (!cp)
        return;
    GQueue *reads = is_stdout ? &cp->out_reads : &cp->err_reads;
    g_queue_push_tail(reads, call);
    cat_answer_reads(cp, reads, is_stdout ? cp->out : NULL);
}

static void cat_read_stdout(TtrpcCall *call, const ProtobufCMessage *request, gpointer d)
{
    (void)d;
    cat_read(call, request, TRUE);
}

static void cat_read_stderr(TtrpcCall *call, const ProtobufCMessage *request, gpointer d)
{
    (void)d;
    cat_read(call, request, FALSE);
}

static void cat_write_stdin(TtrpcCall *call, const ProtobufCMessage *request, gpointer d)
{
    const Secure__Agent__V1__WriteStdinRequest *req = (const void *)request;
    Secure__Agent__V1__WriteStdinResponse resp = SECURE__AGENT__V1__WRITE_STDIN_RESPONSE__INIT;
    CatProcess *cp = cat_find(req->container_id, req->exec_id, call);
    (void)d;
    if (!cp)
        return;
    g_byte_array_append(cp->out, req->data.data, (guint)req->data.len);
    cp->out_total += req->data.len;
    resp.written = (guint32)req->data.len;
    ttrpc_call_return(call, &resp.base);
    cat_answer_reads(cp, &cp->out_reads, cp->out);
}

static void cat_close_stdin(TtrpcCall *call, const ProtobufCMessage *request, gpointer d)
{
    const Secure__Agent__V1__CloseStdinRequest *req = (const void *)request;
    CatProcess *cp = cat_find(req->container_id, req->exec_id, call);
    (void)d;
    if (cp) {
        ttrpc_call_return(call, NULL);
        cat_exit(cp, 0);
    }
}

static void cat_list(TtrpcCall *call, const ProtobufCMessage *request, gpointer d)
{
    const Secure__Agent__V1__ListProcessesRequest *req = (const void *)request;
    Secure__Agent__V1__ListProcessesResponse resp =
        SECURE__AGENT__V1__LIST_PROCESSES_RESPONSE__INIT;
    g_autoptr(GArray) pids = g_array_new(FALSE, FALSE, sizeof(guint32));
    GHashTableIter iter;
    gpointer value;
    (void)d;
    g_hash_table_iter_init(&iter, cat_processes);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        CatProcess *cp = value;
        guint32 pid = *cp->exec_id ? CAT_EXEC_PID : CAT_INIT_PID;
        if (!cp->exited && strcmp(cp->container_id, req->container_id) == 0)
            g_array_append_val(pids, pid);
    }
    resp.n_pids = pids->len;
    resp.pids = (guint32 *)pids->data;
    ttrpc_call_return(call, &resp.base);
}

static const TtrpcMethod cat_methods[] = {
    {"Health", &secure__agent__v1__health_request__descriptor, health},
    {"CreateSandbox", &secure__agent__v1__create_sandbox_request__descriptor, reply_empty},
    {"DestroySandbox", &secure__agent__v1__destroy_sandbox_request__descriptor, reply_empty},
    {"CreateContainer", &secure__agent__v1__create_container_request__descriptor, cat_create},
    {"StartContainer", &secure__agent__v1__start_container_request__descriptor, start_container},
    {"RemoveContainer", &secure__agent__v1__remove_container_request__descriptor, cat_remove},
    {"ExecProcess", &secure__agent__v1__exec_process_request__descriptor, cat_exec},
    {"SignalProcess", &secure__agent__v1__signal_process_request__descriptor, cat_signal},
    {"WaitProcess", &secure__agent__v1__wait_process_request__descriptor, cat_wait},
    {"ListProcesses", &secure__agent__v1__list_processes_request__descriptor, cat_list},
    {"ReadStdout", &secure__agent__v1__read_stream_request__descriptor, cat_read_stdout},
    {"ReadStderr", &secure__agent__v1__read_stream_request__descriptor, cat_read_stderr},
    {"WriteStdin", &secure__agent__v1__write_stdin_request__descriptor, cat_write_stdin},
    {"CloseStdin", &secure__agent__v1__close_stdin_request__descriptor, cat_close_stdin},
    {"PauseContainer", &secure__agent__v1__container_request__descriptor, reply_empty},
    {"ResumeContainer", &secure__agent__v1__container_request__descriptor, reply_empty},
    {"GetOOMEvent", &secure__agent__v1__get_oomevent_request__descriptor, hold},
};

/* ---- main ---------------------------------------------------------------------------------- */

static const TtrpcMethod methods[] = {
    {"Health", &secure__agent__v1__health_request__descriptor, health},
    {"CreateSandbox", &secure__agent__v1__create_sandbox_request__descriptor, reply_empty},
    {"DestroySandbox", &secure__agent__v1__destroy_sandbox_request__descriptor, reply_empty},
    {"CreateContainer", &secure__agent__v1__create_container_request__descriptor, create_container},
    {"StartContainer", &secure__agent__v1__start_container_request__descriptor, start_container},
    {"RemoveContainer", &secure__agent__v1__remove_container_request__descriptor, reply_empty},
    {"SignalProcess", &secure__agent__v1__signal_process_request__descriptor, reply_empty},
    {"WaitProcess", &secure__agent__v1__wait_process_request__descriptor, wait_process},
    {"ReadStdout", &secure__agent__v1__read_stream_request__descriptor, read_stdout},
    {"ReadStderr", &secure__agent__v1__read_stream_request__descriptor, read_stderr},
    {"CloseStdin", &secure__agent__v1__close_stdin_request__descriptor, reply_empty},
    {"GetOOMEvent", &secure__agent__v1__get_oomevent_request__descriptor, get_oom_event},
};

static gboolean quit(gpointer loop)
{
    if (is_mode("slow-exit"))
        return G_SOURCE_CONTINUE;
    g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
}

int main(int argc, char **argv)
{
    g_autoptr(GError) error = NULL;
    if (argc < 3 || strcmp(argv[1], "--listen") != 0 || !g_str_has_prefix(argv[2], "unix:")) {
        fprintf(stderr, "usage: fake-agent --listen unix:PATH [--state-dir DIR]\n");
        return 2;
    }
    mode = g_getenv("SC_FAKE_AGENT_MODE");
    held = g_ptr_array_new();
    g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
    g_autoptr(TtrpcServer) server = ttrpc_server_new(NULL);
    cat_processes =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)cat_process_free);
    if (is_mode("cat"))
        ttrpc_server_register(server, secure__agent__v1__agent__descriptor.name, cat_methods,
                              G_N_ELEMENTS(cat_methods), NULL);
    else
        ttrpc_server_register(server, secure__agent__v1__agent__descriptor.name, methods,
                              G_N_ELEMENTS(methods), NULL);
    if (!ttrpc_server_listen_unix(server, argv[2] + strlen("unix:"), &error)) {
        fprintf(stderr, "fake-agent: %s\n", error->message);
        return 1;
    }
    g_unix_signal_add(SIGTERM, quit, loop);
    g_main_loop_run(loop);
    for (guint i = 0; i < held->len; i++)
        ttrpc_call_return_error(held->pdata[i], TTRPC_CODE_UNAVAILABLE, "agent exiting");
    g_ptr_array_unref(held);
    g_hash_table_unref(cat_processes);
    g_unlink(argv[2] + strlen("unix:"));
    return 0;
}
