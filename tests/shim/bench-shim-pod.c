/* Benchmark (not a test: nothing is asserted about the figures): the shim's cost for one pod.
 * Prints the daemon's RSS idle and with a running pod, the daemon's CPU time (user+system,
 * libvirt's embedded driver included) from Create to Start returned, and where the time from
 * Create to Start returned goes. argv[1]: "none" or "libvirt". */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim-test.h"
#include "test-util.h"

static const char *kind;

static long status_kib(guint32 pid, const char *key)
{
    g_autofree char *path = g_strdup_printf("/proc/%u/status", pid);
    g_autofree char *text = NULL;
    ck_assert(g_file_get_contents(path, &text, NULL, NULL));
    const char *line = strstr(text, key);
    ck_assert_ptr_nonnull(line);
    return strtol(line + strlen(key), NULL, 10);
}

static double cpu_ms(guint32 pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%u/stat", pid);
    g_autofree char *text = NULL;
    unsigned long utime, stime;
    ck_assert(g_file_get_contents(path, &text, NULL, NULL));
    /* Fields 14 and 15, counted after the ")" that ends the command name. */
    const char *p = strrchr(text, ')');
    ck_assert_int_eq(
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime), 2);
    return (utime + stime) * 1000.0 / sysconf(_SC_CLK_TCK);
}

static guint32 shim_pid(ShimTest *t)
{
    Containerd__Task__V2__ConnectRequest req = CONTAINERD__TASK__V2__CONNECT_REQUEST__INIT;
    req.id = "none";
    Containerd__Task__V2__ConnectResponse *resp = (void *)shim_test_call_ok(
        t, "Connect", &req.base, &containerd__task__v2__connect_response__descriptor);
    guint32 pid = resp->shim_pid;
    containerd__task__v2__connect_response__free_unpacked(resp, NULL);
    return pid;
}

static void print_breakdown(ShimTest *t, const char *id)
{
    g_autofree char *log = g_build_filename(t->tmpdir, "bundles", id, "log", NULL);
    g_autofree char *text = NULL;
    ck_assert(g_file_get_contents(log, &text, NULL, NULL));
    const char *line = strstr(text, "pod start: ");
    ck_assert_msg(line, "the shim logged no pod start timings");
    const char *end = strchr(line, '"');
    printf("  inside Create (shim log): %.*s\n", (int)(end - line - strlen("pod start: ")),
           line + strlen("pod start: "));
}

START_TEST(bench_pod)
{
    ShimTest *t = shim_test_new(kind);
    const char *const args[] = {"sleep", "1000", NULL};
    g_autofree char *bundle = shim_test_bundle(t, "b1", args, NULL, FALSE);
    shim_test_start(t, "b1", bundle);
    guint32 pid = shim_pid(t);
    t->shim_pid = pid;
    g_usleep(200000);
    long idle_rss = status_kib(pid, "VmRSS:");
    double cpu0 = cpu_ms(pid);

    gint64 t0 = g_get_monotonic_time();
    shim_test_create(t, "b1", bundle, NULL, FALSE);
    gint64 t1 = g_get_monotonic_time();
    Containerd__Task__V2__StartRequest start = CONTAINERD__TASK__V2__START_REQUEST__INIT;
    start.id = "b1";
    start.exec_id = "";
    protobuf_c_message_free_unpacked(
        shim_test_call_ok(t, "Start", &start.base,
                          &containerd__task__v2__start_response__descriptor),
        NULL);
    gint64 t2 = g_get_monotonic_time();
    double cpu1 = cpu_ms(pid);
    g_usleep(500000);
    long pod_rss = status_kib(pid, "VmRSS:");
    long pod_hwm = status_kib(pid, "VmHWM:");

    printf("bench-shim-pod (%s pod):\n", kind);
    printf("  shim RSS idle: %ld KiB; with a running pod: %ld KiB (peak %ld KiB)\n", idle_rss,
           pod_rss, pod_hwm);
    printf("  shim CPU time, Create..Start returned: %.0f ms\n", cpu1 - cpu0);
    printf("  Create: %.1f ms, Start: %.1f ms, total %.1f ms\n", (t1 - t0) / 1000.0,
           (t2 - t1) / 1000.0, (t2 - t0) / 1000.0);
    print_breakdown(t, "b1");

    Containerd__Task__V2__KillRequest kill_req = CONTAINERD__TASK__V2__KILL_REQUEST__INIT;
    kill_req.id = "b1";
    kill_req.exec_id = "";
    kill_req.signal = 9;
    ShimTestWait w;
    shim_test_wait_async(t, "b1", NULL, &w);
    shim_test_call_ok(t, "Kill", &kill_req.base, NULL);
    test_util_run_until(&w.done, 30 * G_USEC_PER_SEC);
    shim_test_free(t);
}
END_TEST

int main(int argc, char **argv)
{
    kind = argc > 1 ? argv[1] : "none";
    shim_test_require(kind);
    Suite *s = suite_create("bench-shim-pod");
    TCase *tc = tcase_create(kind);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, bench_pod);
    suite_add_tcase(s, tc);
    /* Without a fork per test, a failed assertion still runs the teardown, which removes the
     * pod (daemon, agent or VM, mounts, sockets) through `delete`. */
    return test_util_run(s, CK_NOFORK);
}
