/* Unit tests of the bounds every agent reply is held to before a handler sees it. */
#include <check.h>
#include <math.h>
#include <string.h>

#include "agent.pb-c.h"
#include "shim-agent-reply.h"
#include "test-util.h"

/* Checks @m; returns NULL when accepted, else the error message (freed by the caller). */
static char *check(const ProtobufCMessage *m)
{
    g_autoptr(GError) error = NULL;
    if (shim_agent_reply_check(m, &error))
        return NULL;
    return g_strdup(error->message);
}

static void assert_refused(const ProtobufCMessage *m, const char *needle)
{
    g_autofree char *message = check(m);
    ck_assert_msg(message != NULL, "%s accepted", m->descriptor->short_name);
    ck_assert_msg(strstr(message, needle) != NULL, "'%s' does not say '%s'", message, needle);
}

START_TEST(test_pids)
{
    Secure__Agent__V1__StartContainerResponse start =
        SECURE__AGENT__V1__START_CONTAINER_RESPONSE__INIT;
    Secure__Agent__V1__ExecProcessResponse exec = SECURE__AGENT__V1__EXEC_PROCESS_RESPONSE__INIT;
    Secure__Agent__V1__CreateContainerResponse create =
        SECURE__AGENT__V1__CREATE_CONTAINER_RESPONSE__INIT;
    start.pid = 1;
    exec.pid = 4194304;
    create.pid = 77;
    ck_assert_ptr_null(check(&start.base));
    ck_assert_ptr_null(check(&exec.base));
    ck_assert_ptr_null(check(&create.base));
    start.pid = 0;
    exec.pid = 4194305;
    create.pid = G_MAXUINT32;
    assert_refused(&start.base, "StartContainerResponse: pid out of range");
    assert_refused(&exec.base, "ExecProcessResponse: pid out of range");
    assert_refused(&create.base, "CreateContainerResponse: pid out of range");
}
END_TEST

START_TEST(test_wait)
{
    Secure__Agent__V1__WaitProcessResponse wait = SECURE__AGENT__V1__WAIT_PROCESS_RESPONSE__INIT;
    Google__Protobuf__Timestamp at = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    wait.exit_status = 255;
    wait.exited_at = &at;
    at.seconds = 1700000000;
    at.nanos = 999999999;
    ck_assert_ptr_null(check(&wait.base));
    at.nanos = 1000000000;
    assert_refused(&wait.base, "exited_at");
    at.nanos = 0;
    at.seconds = -1;
    assert_refused(&wait.base, "exited_at");
    at.seconds = 0;
    wait.exit_status = 256;
    assert_refused(&wait.base, "exit_status");
}
END_TEST

START_TEST(test_sizes_and_ids)
{
    Secure__Agent__V1__ListProcessesResponse pids =
        SECURE__AGENT__V1__LIST_PROCESSES_RESPONSE__INIT;
    Secure__Agent__V1__ReadStreamResponse read = SECURE__AGENT__V1__READ_STREAM_RESPONSE__INIT;
    Secure__Agent__V1__WriteStdinResponse written = SECURE__AGENT__V1__WRITE_STDIN_RESPONSE__INIT;
    Secure__Agent__V1__OOMEvent oom = SECURE__AGENT__V1__OOMEVENT__INIT;
    Secure__Agent__V1__OpenPortResponse port = SECURE__AGENT__V1__OPEN_PORT_RESPONSE__INIT;
    pids.n_pids = SHIM_AGENT_MAX_PIDS;
    read.data.len = SHIM_AGENT_READ_MAX;
    written.written = SHIM_AGENT_READ_MAX;
    oom.container_id = (char *)"c-1.x";
    port.id = 3;
    ck_assert_ptr_null(check(&pids.base));
    ck_assert_ptr_null(check(&read.base));
    ck_assert_ptr_null(check(&written.base));
    ck_assert_ptr_null(check(&oom.base));
    ck_assert_ptr_null(check(&port.base));
    pids.n_pids++;
    read.data.len++;
    written.written++;
    oom.container_id = (char *)"../etc";
    port.id = 0;
    assert_refused(&pids.base, "more than 4096 pids");
    assert_refused(&read.base, "more than 1 MiB");
    assert_refused(&written.base, "more than 1 MiB");
    assert_refused(&oom.base, "container_id");
    assert_refused(&port.base, "id 0");
}
END_TEST

START_TEST(test_health)
{
    Secure__Agent__V1__HealthResponse health = SECURE__AGENT__V1__HEALTH_RESPONSE__INIT;
    g_autofree char *long_text = g_strnfill(129, 'a');
    health.agent_version = (char *)"0.1.0";
    health.kernel_release = (char *)"6.1.0-57-amd64";
    ck_assert_ptr_null(check(&health.base));
    health.kernel_release = (char *)"6.1\n[fake] log line";
    assert_refused(&health.base, "printable");
    health.kernel_release = long_text;
    assert_refused(&health.base, "printable");
}
END_TEST

START_TEST(test_guest_stats)
{
    Secure__Agent__V1__GuestStatsResponse stats = SECURE__AGENT__V1__GUEST_STATS_RESPONSE__INIT;
    stats.mem_total_kib = 2048000;
    stats.mem_available_kib = 1500000;
    stats.agent_rss_kib = 4000;
    stats.load1 = 0.5;
    ck_assert_ptr_null(check(&stats.base));
    stats.mem_available_kib = 2048001;
    assert_refused(&stats.base, "memory figures");
    stats.mem_available_kib = 0;
    stats.mem_total_kib = (G_GUINT64_CONSTANT(1) << 30) + 1;
    assert_refused(&stats.base, "memory figures");
    stats.mem_total_kib = 2048000;
    stats.load15 = NAN;
    assert_refused(&stats.base, "load");
    stats.load15 = -1;
    assert_refused(&stats.base, "load");
    stats.load15 = 2e6;
    assert_refused(&stats.base, "load");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("shim-agent-reply");
    TCase *tc = tcase_create("check");
    tcase_add_test(tc, test_pids);
    tcase_add_test(tc, test_wait);
    tcase_add_test(tc, test_sizes_and_ids);
    tcase_add_test(tc, test_health);
    tcase_add_test(tc, test_guest_stats);
    suite_add_tcase(s, tc);
    return test_util_run(s, CK_FORK_GETENV);
}
