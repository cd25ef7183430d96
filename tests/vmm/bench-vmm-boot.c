/* Benchmark (root, QEMU): where a pod VM's start time goes and what it costs in host memory.
 * Boots the guest image N times (default 3) under TCG with a virtio-fs share and prints, per
 * boot: libvirt create, guest kernel to /init (console timestamp), the rest until the agent
 * answered Health (QEMU start, firmware, agent init), the sandbox and a first container (`true`,
 * busybox root) until it exited, and QEMU / virtiofsd RSS and PSS.
 * Env as for test-vmm-vm; BENCH_KERNEL_PARAMS adds kernel parameters (e.g. "quiet"),
 * BENCH_MEMORY_MIB the guest memory and BENCH_MACHINE the machine type (defaults:
 * vmm_config_init()'s).
 * usage: bench-vmm-boot [N] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "vmm-internal.h"
#include "vmm-test-pod.h"
#include "vmm-test.h"

#define BOOT_TIMEOUT_US (120 * G_USEC_PER_SEC)

/* Seconds on the guest clock when the kernel started /init, from the console log. */
static double kernel_to_init(const char *console_log)
{
    g_autofree char *log = NULL;
    const char *line;

    if (!g_file_get_contents(console_log, &log, NULL, NULL) ||
        (line = strstr(log, "] Run /init")) == NULL)
        return -1;
    while (line > log && line[-1] != '[')
        line--;
    return g_ascii_strtod(line, NULL);
}

/* Sums "Rss:" and "Pss:" (KiB) of smaps_rollup for @pid. */
static void add_memory(pid_t pid, guint64 *rss_kib, guint64 *pss_kib)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/smaps_rollup", pid);
    g_autofree char *text = NULL;
    const char *at;

    if (!g_file_get_contents(path, &text, NULL, NULL))
        return;
    if ((at = strstr(text, "\nRss:")) != NULL)
        *rss_kib += g_ascii_strtoull(at + 5, NULL, 10);
    if ((at = strstr(text, "\nPss:")) != NULL)
        *pss_kib += g_ascii_strtoull(at + 5, NULL, 10);
}

typedef struct {
    const char *source_arg; /* "source=<shared dir>" */
    guint64 rss_kib;
    guint64 pss_kib;
} VirtiofsdMemory;

static void add_if_virtiofsd(pid_t pid, const char *cmdline, gpointer data)
{
    VirtiofsdMemory *memory = data;

    if (strstr(cmdline, "virtiofsd") != NULL && strstr(cmdline, memory->source_arg) != NULL)
        add_memory(pid, &memory->rss_kib, &memory->pss_kib);
}

/* virtiofsd processes (the daemon and its sandboxed child) serving @shared_dir. */
static void add_virtiofsd_memory(const char *shared_dir, guint64 *rss_kib, guint64 *pss_kib)
{
    g_autofree char *source_arg = g_strdup_printf("source=%s", shared_dir);
    VirtiofsdMemory memory = {source_arg, 0, 0};

    vmm_test_foreach_process(add_if_virtiofsd, &memory);
    *rss_kib += memory.rss_kib;
    *pss_kib += memory.pss_kib;
}

/* One boot; Check runs each in its own process (libvirt's embedded driver serves one root per
 * process), the first with a cold capabilities cache. */
START_TEST(bench_boot)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GStringChunk) strings = g_string_chunk_new(256);
    g_autofree char *name = g_strdup_printf("bench%d", (int)getpid());
    g_autoptr(VmmDomain) domain = NULL;
    g_autofree char *out = NULL;
    guint64 qemu_rss = 0, qemu_pss = 0, fs_rss = 0, fs_pss = 0;
    g_autoptr(TtrpcClient) client = NULL;
    guint32 status = 1;
    VmmConfig config;
    VmmTimings t;
    double to_init, to_container;

    vmm_test_pod_config(&config, strings, name);
    config.kernel_params = g_getenv("BENCH_KERNEL_PARAMS");
    if (g_getenv("BENCH_MACHINE") != NULL)
        config.machine = g_getenv("BENCH_MACHINE");
    if (g_getenv("BENCH_MEMORY_MIB") != NULL)
        config.memory_mib = (guint)atoi(g_getenv("BENCH_MEMORY_MIB"));

    domain = vmm_domain_start(&config, &error);
    ck_assert_msg(domain != NULL, "%s", error ? error->message : "");
    client = vmm_test_wait_agent(domain, BOOT_TIMEOUT_US);
    vmm_domain_get_timings(domain, &t);
    to_init = kernel_to_init(vmm_domain_get_console_log(domain));
    vmm_test_create_sandbox(client);
    out = vmm_test_run_first_container(client, config.shared_dir, "true", &status);
    to_container = (g_get_monotonic_time() - t.agent_ready) / 1e6;
    g_clear_pointer(&client, ttrpc_client_free);
    add_memory(vmm_domain_get_pid(domain), &qemu_rss, &qemu_pss);
    add_virtiofsd_memory(config.shared_dir, &fs_rss, &fs_pss);
    /* Without the kernel's "Run /init" line (quiet), only the total is known. */
    if (to_init < 0)
        to_init = NAN;
    printf("%s (%s, %u MiB): libvirt create %.2f s | kernel to /init %.2f s | "
           "QEMU start + agent %.2f s | create to agent ready %.2f s | "
           "sandbox + first container %.2f s (exit %u) | create to first container %.2f s | "
           "QEMU RSS %.1f MiB PSS %.1f MiB | "
           "virtiofsd RSS %.1f MiB PSS %.1f MiB\n",
           name, vmm_accel_name(vmm_domain_get_accel(domain)), config.memory_mib,
           (t.created - t.start) / 1e6, to_init, (t.agent_ready - t.created) / 1e6 - to_init,
           (t.agent_ready - t.created) / 1e6, to_container, status,
           (t.agent_ready - t.created) / 1e6 + to_container, qemu_rss / 1024.0, qemu_pss / 1024.0,
           fs_rss / 1024.0, fs_pss / 1024.0);
    fflush(stdout);
    ck_assert_uint_eq(status, 0);
    vmm_test_pod_destroy(domain, &config);
}
END_TEST

int main(int argc, char **argv)
{
    guint n = argc > 1 ? (guint)atoi(argv[1]) : 3;
    g_autoptr(GPtrArray) tests = g_ptr_array_new();

    if (geteuid() != 0 || g_getenv("VMM_TEST_KERNEL") == NULL ||
        g_getenv("VMM_TEST_INITRD") == NULL || access("/bin/busybox", X_OK) != 0) {
        fprintf(stderr, "bench-vmm-boot: needs root, VMM_TEST_KERNEL/VMM_TEST_INITRD and "
                        "/bin/busybox (busybox-static)\n");
        return 77;
    }
    for (guint i = 0; i < n; i++)
        g_ptr_array_add(tests, (gpointer)bench_boot);
    g_ptr_array_add(tests, NULL);
    return vmm_test_run("bench-vmm-boot", (const TTest *const *)tests->pdata, 180,
                        vmm_test_clean_up_pods);
}
