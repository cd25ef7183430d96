/* Agent figures on the host (root): RSS idle and with 10 running containers, and the latency of
 * CreateContainer + StartContainer. Prints the numbers; asserts only that the steps worked. */
#include "agent-test.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>

#define N_CONTAINERS 10

/* VmRSS of @pid in KiB. */
static guint64 bench_rss_kib(GPid pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/status", (int)pid);
    g_autofree char *status = NULL;
    const char *line;

    ck_assert(g_file_get_contents(path, &status, NULL, NULL));
    line = strstr(status, "\nVmRSS:");
    ck_assert(line != NULL);
    return g_ascii_strtoull(line + strlen("\nVmRSS:"), NULL, 10);
}

static void bench_signal_all(AgentTest *test, char **ids, guint32 signal)
{
    for (int i = 0; i < N_CONTAINERS; i++) {
        Secure__Agent__V1__SignalProcessRequest req =
            SECURE__AGENT__V1__SIGNAL_PROCESS_REQUEST__INIT;

        req.container_id = ids[i];
        req.exec_id = "";
        req.signal = signal;
        ck_assert_int_eq(agent_test_code(test, "SignalProcess", &req.base), TTRPC_CODE_OK);
    }
}

START_TEST(bench_agent)
{
    AgentTest *test = agent_test_start();
    g_autoptr(json_object) spec = agent_test_spec((const char *const[]){"sleep", "1000", NULL});
    g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GArray) ms = g_array_new(FALSE, FALSE, sizeof(double));
    g_autoptr(ProtobufCMessage) health =
        agent_test_ok(test, "Health", NULL, &secure__agent__v1__health_response__descriptor);
    guint64 rss_idle = bench_rss_kib(test->pid), rss_full;
    double sum = 0, min = G_MAXDOUBLE, max = 0;

    for (int i = 0; i < N_CONTAINERS; i++) {
        char *id = g_strdup_printf("bench-%d-%d", i, (int)getpid());
        gint64 start = g_get_monotonic_time();
        double elapsed;

        agent_test_create(test, id, spec, FALSE);
        agent_test_start_container(test, id);
        elapsed = (g_get_monotonic_time() - start) / 1000.0;
        g_array_append_val(ms, elapsed);
        g_ptr_array_add(ids, id);
        sum += elapsed;
        min = MIN(min, elapsed);
        max = MAX(max, elapsed);
    }
    rss_full = bench_rss_kib(test->pid);
    printf("agent RSS idle: %" G_GUINT64_FORMAT " KiB\n", rss_idle);
    printf("agent RSS with %d running containers: %" G_GUINT64_FORMAT " KiB\n", N_CONTAINERS,
           rss_full);
    printf("create+start latency over %d containers: mean %.1f ms, min %.1f ms, max %.1f ms\n",
           N_CONTAINERS, sum / N_CONTAINERS, min, max);
    bench_signal_all(test, (char **)ids->pdata, SIGKILL);
    for (guint i = 0; i < ids->len; i++) {
        ck_assert_uint_eq(agent_test_wait(test, ids->pdata[i], ""), 128 + SIGKILL);
        agent_test_remove(test, ids->pdata[i]);
    }
    agent_test_stop(test);
}
END_TEST

int main(void)
{
    const TTest *const tests[] = {bench_agent, NULL};

    agent_test_require();
    return agent_test_main("bench-agent", tests, 300, NULL, NULL);
}
