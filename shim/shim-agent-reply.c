/* Bounds on agent replies (see shim-agent-reply.h). */
#include "shim-agent-reply.h"

#include <math.h>
#include <string.h>

#include "agent.pb-c.h"
#include "common-id.h"
#include "shim-error.h"
#include "shim-spec.h"

/* Linux's PID_MAX_LIMIT: no guest pid is larger. */
#define PID_MAX 4194304
/* A shell reports at most 128 + the last signal (64) or an exit code below 256. */
#define EXIT_STATUS_MAX 255
/* Health's strings are logged: short, printable ASCII. */
#define HEALTH_STRING_MAX 128

static gboolean fail(GError **error, const ProtobufCMessage *reply, const char *what)
{
    g_set_error(error, SHIM_ERROR, SHIM_ERROR_FAILED, "%s: %s", reply->descriptor->short_name,
                what);
    return FALSE;
}

static gboolean pid_ok(guint32 pid)
{
    return pid > 0 && pid <= PID_MAX;
}

static gboolean printable(const char *s)
{
    if (strlen(s) > HEALTH_STRING_MAX)
        return FALSE;
    for (; *s; s++)
        if (*s < 0x20 || *s > 0x7e)
            return FALSE;
    return TRUE;
}

static gboolean check_wait(const Secure__Agent__V1__WaitProcessResponse *r,
                           const ProtobufCMessage *m, GError **error)
{
    if (r->exit_status > EXIT_STATUS_MAX)
        return fail(error, m, "exit_status over 255");
    if (r->exited_at &&
        (r->exited_at->seconds < 0 || r->exited_at->nanos < 0 || r->exited_at->nanos >= 1000000000))
        return fail(error, m, "exited_at is not a time");
    return TRUE;
}

/* The replies that carry a guest pid, as field 1 of the same layout. */
/* A guest of at most 1 TiB (the hot-plug ceiling's bound), its loads finite and not negative. */
static gboolean check_guest_stats(const Secure__Agent__V1__GuestStatsResponse *r,
                                  const ProtobufCMessage *m, GError **error)
{
    const guint64 max_kib = G_GUINT64_CONSTANT(1) << 30;
    const double loads[] = {r->load1, r->load5, r->load15};

    if (r->mem_total_kib > max_kib || r->mem_available_kib > r->mem_total_kib ||
        r->agent_rss_kib > r->mem_total_kib)
        return fail(error, m, "memory figures out of range");
    for (gsize i = 0; i < G_N_ELEMENTS(loads); i++)
        if (!isfinite(loads[i]) || loads[i] < 0 || loads[i] > 1e6)
            return fail(error, m, "a load that is not a number from 0 to 10^6");
    return TRUE;
}

static const ProtobufCMessageDescriptor *const pid_replies[] = {
    &secure__agent__v1__create_container_response__descriptor,
    &secure__agent__v1__start_container_response__descriptor,
    &secure__agent__v1__exec_process_response__descriptor,
};

gboolean shim_agent_reply_check(const ProtobufCMessage *m, GError **error)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;

    for (gsize i = 0; i < G_N_ELEMENTS(pid_replies); i++)
        if (d == pid_replies[i])
            return pid_ok(((const Secure__Agent__V1__CreateContainerResponse *)m)->pid) ||
                   fail(error, m, "pid out of range");
    if (d == &secure__agent__v1__wait_process_response__descriptor)
        return check_wait((const void *)m, m, error);
    if (d == &secure__agent__v1__list_processes_response__descriptor)
        return ((const Secure__Agent__V1__ListProcessesResponse *)m)->n_pids <=
                   SHIM_AGENT_MAX_PIDS ||
               fail(error, m, "more than 4096 pids");
    if (d == &secure__agent__v1__read_stream_response__descriptor)
        return ((const Secure__Agent__V1__ReadStreamResponse *)m)->data.len <=
                   SHIM_AGENT_READ_MAX ||
               fail(error, m, "more than 1 MiB of data");
    if (d == &secure__agent__v1__write_stdin_response__descriptor)
        return ((const Secure__Agent__V1__WriteStdinResponse *)m)->written <= SHIM_AGENT_READ_MAX ||
               fail(error, m, "more than 1 MiB written");
    if (d == &secure__agent__v1__oomevent__descriptor)
        return common_id_is_valid(((const Secure__Agent__V1__OOMEvent *)m)->container_id) ||
               fail(error, m, "container_id is not an id");
    if (d == &secure__agent__v1__open_port_response__descriptor)
        return ((const Secure__Agent__V1__OpenPortResponse *)m)->id != 0 || fail(error, m, "id 0");
    if (d == &secure__agent__v1__exec_guest_response__descriptor) {
        const Secure__Agent__V1__ExecGuestResponse *x = (const void *)m;
        return (x->stdout.len <= SHIM_AGENT_READ_MAX && x->stderr.len <= SHIM_AGENT_READ_MAX &&
                x->exit_status <= EXIT_STATUS_MAX) ||
               fail(error, m, "more than 1 MiB of output, or an exit status above 255");
    }
    if (d == &secure__agent__v1__guest_stats_response__descriptor)
        return check_guest_stats((const void *)m, m, error);
    if (d == &secure__agent__v1__health_response__descriptor) {
        const Secure__Agent__V1__HealthResponse *h = (const void *)m;
        return (printable(h->agent_version) && printable(h->kernel_release)) ||
               fail(error, m, "a version that is not short printable text");
    }
    return TRUE;
}
