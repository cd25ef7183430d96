/* A guest agent that misbehaves, for the shim's "the guest is untrusted" tests. Started by the
 * shim like the host-mode agent (--listen unix:PATH --state-dir DIR); $SC_FAKE_AGENT_MODE picks
 * the misbehaviour:
 *   garbage    CreateContainer answers bytes that are not a CreateContainerResponse;
 *   oversized  ReadStdout answers one byte more than the shim asked for;
 *   ghost-oom  GetOOMEvent reports a container the shim never created (after 1 s);
 *   hang       Health answers only once (the boot check), then nothing does;
 *   late-output  the init exits at once having written "late\n" (WaitProcess says 5 bytes),
 *              and ReadStdout brings those bytes 3 s later, past the shim's 2 s grace;
 *   slow-exit  SIGTERM is ignored: only the shim's SIGKILL after its grace ends it.
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
    g_unlink(argv[2] + strlen("unix:"));
    return 0;
}
