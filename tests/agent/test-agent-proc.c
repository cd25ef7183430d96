/* Reading the kernel's /proc files (agent-proc.c) from a fake proc dir: "kB" values read
 * strictly, and the guest's figures for GuestStats. */
#include "agent-test.h"

#include "agent-proc.h"

#include <glib/gstdio.h>
#include <string.h>

static char *proc;

static void test_write(const char *relative, const char *text)
{
    agent_test_write(proc, relative, text);
}

static void setup(void)
{
    proc = g_dir_make_tmp("test-agent-proc-XXXXXX", NULL);
    ck_assert_ptr_nonnull(proc);
    test_write("meminfo", "MemTotal:        2048000 kB\nMemFree:         1000000 kB\n"
                          "MemAvailable:    1500000 kB\n");
    test_write("loadavg", "0.52 1.25 10.00 2/189 12345\n");
    test_write("self/status", "Name:\tsecure-agent\nVmRSS:\t    4321 kB\nThreads:\t1\n");
}

static void teardown(void)
{
    ck_assert(agent_test_remove_tree(proc));
    g_clear_pointer(&proc, g_free);
}

START_TEST(test_read_kib)
{
    static const char *const bad[] = {
        "MemTotal:       2048 MB\n",
        "MemTotal:       kB\n",
        "MemTotal:       -5 kB\n",
        "MemTotal:       5 kB extra\n",
        "MemTotal:       99999999999999999999 kB\n",
        "MemFree:        5 kB\n",
        "",
    };
    g_autofree char *meminfo = g_build_filename(proc, "meminfo", NULL);
    g_autoptr(GError) error = NULL;
    guint64 kib = 0;

    ck_assert_msg(agent_proc_read_kib(meminfo, "MemTotal", &kib, &error), "%s", error->message);
    ck_assert_uint_eq(kib, 2048000);
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_clear_error(&error);
        test_write("meminfo", bad[i]);
        ck_assert_msg(!agent_proc_read_kib(meminfo, "MemTotal", &kib, &error), "'%s' accepted",
                      bad[i]);
        ck_assert_msg(strstr(error->message, meminfo) != NULL, "%s", error->message);
    }
}
END_TEST

START_TEST(test_guest_stats)
{
    g_autoptr(GError) error = NULL;
    AgentGuestStats stats;

    ck_assert_msg(agent_proc_guest_stats(proc, &stats, &error), "%s", error->message);
    ck_assert_uint_eq(stats.mem_total_kib, 2048000);
    ck_assert_uint_eq(stats.mem_available_kib, 1500000);
    ck_assert_double_eq_tol(stats.load[0], 0.52, 1e-9);
    ck_assert_double_eq_tol(stats.load[1], 1.25, 1e-9);
    ck_assert_double_eq_tol(stats.load[2], 10.0, 1e-9);
    ck_assert_uint_eq(stats.agent_rss_kib, 4321);

    /* The real files of this kernel parse too. */
    ck_assert_msg(agent_proc_guest_stats("/proc", &stats, &error), "%s", error->message);
    ck_assert_uint_gt(stats.mem_total_kib, 0);
    ck_assert_uint_le(stats.mem_available_kib, stats.mem_total_kib);
    ck_assert_uint_gt(stats.agent_rss_kib, 0);

    static const char *const bad_loads[] = {"0.52 1.25\n", "a b c 1/2 3\n", "1 2 3 1/2 3",
                                            "1 2 3 1/2 3 4\n"};
    for (gsize i = 0; i < G_N_ELEMENTS(bad_loads); i++) {
        g_clear_error(&error);
        test_write("loadavg", bad_loads[i]);
        ck_assert_msg(!agent_proc_guest_stats(proc, &stats, &error), "'%s' accepted", bad_loads[i]);
        ck_assert_msg(strstr(error->message, "loadavg") != NULL, "%s", error->message);
    }
}
END_TEST

int main(void)
{
    const TTest *tests[] = {test_read_kib, test_guest_stats, NULL};
    return agent_test_main("agent-proc", tests, 30, setup, teardown);
}
