/* Benchmark (root, QEMU): where a pod VM's start time goes and what it costs in host memory.
 * Boots the guest image N times (default 3) under TCG with a virtio-fs share and prints, per
 * boot: libvirt create, guest kernel to /init (console timestamp), the rest until the agent
 * answered Health (QEMU start, firmware, agent init) and the CPU time QEMU used until then, the
 * sandbox and a first container (`true`, busybox root) until it exited, and QEMU / virtiofsd RSS
 * and PSS.
 * QEMU's PSS is split by what its mappings hold: guest RAM (the memfd), the TCG translation
 * cache (the one rwx anonymous mapping), the guest kernel and initramfs files, QEMU's own files
 * (binary, libraries, firmware) and the rest of its anonymous memory (heap, stacks).
 * Env as for test-vmm-vm; BENCH_KERNEL_PARAMS adds kernel parameters (e.g. "quiet"),
 * BENCH_MEMORY_MIB the guest memory, BENCH_MAX_MEMORY_MIB and BENCH_MAX_VCPUS the hot-plug
 * ceilings (the shim's pods have both: 16384 MiB and the host's CPUs up to 16, by default),
 * BENCH_MACHINE the machine type and BENCH_TB_CACHE_MIB the TCG translation cache (defaults:
 * vmm_config_init()'s); BENCH_CACHE_DIR keeps libvirt's
 * capabilities cache across runs (default: a fresh one per run, so its first boot is cold);
 * BENCH_CONSOLE_DIR keeps each boot's console log there, as <VM name>.log; BENCH_SETTLE_S waits
 * that long before reading memory (the guest reports the pages it freed ~2 s after freeing).
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

/* CPU seconds (user + system) that @pid used so far: under a loaded host a steadier measure of
 * the work a boot costs than its wall-clock time. */
static double cpu_seconds(pid_t pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/stat", pid);
    g_autofree char *text = NULL;
    g_auto(GStrv) fields = NULL;
    const char *end;

    /* The fields after the command name, which is in parentheses and may contain spaces. */
    if (!g_file_get_contents(path, &text, NULL, NULL) || (end = strrchr(text, ')')) == NULL)
        return NAN;
    fields = g_strsplit(end + 2, " ", 0);
    if (g_strv_length(fields) < 13)
        return NAN;
    /* utime and stime: fields 14 and 15 of stat(5), 12 and 13 after the name. */
    return (g_ascii_strtod(fields[11], NULL) + g_ascii_strtod(fields[12], NULL)) /
           sysconf(_SC_CLK_TCK);
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

typedef enum {
    QEMU_GUEST_RAM,
    QEMU_TCG_CACHE,
    QEMU_GUEST_IMAGE,
    QEMU_FILES,
    QEMU_ANON,
    QEMU_PARTS_LAST
} QemuPart;

static const char *const qemu_part_names[QEMU_PARTS_LAST] = {
    "guest RAM", "TCG cache", "kernel+initrd", "QEMU files", "QEMU anon",
};

/* What the mapping described by smaps header @line holds. */
static QemuPart qemu_part(const char *line, const VmmConfig *config)
{
    g_auto(GStrv) fields = g_strsplit_set(line, " ", 6);
    const char *path = g_strv_length(fields) == 6 ? g_strstrip(fields[5]) : "";

    if (g_str_has_prefix(path, "/memfd:"))
        return QEMU_GUEST_RAM;
    if (path[0] == '\0' && g_str_equal(fields[1], "rwxp"))
        return QEMU_TCG_CACHE;
    if (g_str_equal(path, config->kernel) || g_str_equal(path, config->initrd))
        return QEMU_GUEST_IMAGE;
    return path[0] == '/' ? QEMU_FILES : QEMU_ANON;
}

/* QEMU's PSS (KiB) per QemuPart, from /proc/PID/smaps. */
static void qemu_pss_parts(pid_t pid, const VmmConfig *config, guint64 *pss_kib)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/smaps", pid);
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    QemuPart part = QEMU_ANON;

    if (!g_file_get_contents(path, &text, NULL, NULL))
        return;
    lines = g_strsplit(text, "\n", -1);
    for (char **line = lines; *line != NULL; line++) {
        const char *dash = strchr(*line, '-');

        /* A mapping's header starts "START-END "; its fields "Name:". */
        if (dash != NULL && dash < strchrnul(*line, ' '))
            part = qemu_part(*line, config);
        else if (g_str_has_prefix(*line, "Pss:"))
            pss_kib[part] += g_ascii_strtoull(*line + 4, NULL, 10);
    }
}

static void print_qemu_parts(const guint64 *pss_kib)
{
    for (guint i = 0; i < QEMU_PARTS_LAST; i++)
        printf("%s %s %.1f", i == 0 ? " =" : " +", qemu_part_names[i], pss_kib[i] / 1024.0);
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

static void keep_console_log(VmmDomain *domain)
{
    const char *dir = g_getenv("BENCH_CONSOLE_DIR");
    g_autofree char *log = NULL;
    g_autofree char *path = NULL;
    gsize len = 0;

    if (dir == NULL || !g_file_get_contents(vmm_domain_get_console_log(domain), &log, &len, NULL))
        return;
    path = g_strdup_printf("%s/%s.log", dir, vmm_domain_get_name(domain));
    if (!g_file_set_contents(path, log, len, NULL))
        fprintf(stderr, "bench-vmm-boot: cannot write '%s'\n", path);
}

/* The BENCH_* overrides of the environment (see the top of this file). */
static void bench_config(VmmConfig *config)
{
    guint *const numbers[] = {&config->memory_mib, &config->max_memory_mib, &config->max_vcpus,
                              &config->tcg_tb_cache_mib};
    const char *const number_vars[] = {"BENCH_MEMORY_MIB", "BENCH_MAX_MEMORY_MIB",
                                       "BENCH_MAX_VCPUS", "BENCH_TB_CACHE_MIB"};

    config->kernel_params = g_getenv("BENCH_KERNEL_PARAMS");
    if (g_getenv("BENCH_MACHINE") != NULL)
        config->machine = g_getenv("BENCH_MACHINE");
    if (g_getenv("BENCH_CACHE_DIR") != NULL)
        config->cache_dir = g_getenv("BENCH_CACHE_DIR");
    for (gsize i = 0; i < G_N_ELEMENTS(numbers); i++) {
        if (g_getenv(number_vars[i]) != NULL)
            *numbers[i] = (guint)atoi(g_getenv(number_vars[i]));
    }
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
    guint64 qemu_parts[QEMU_PARTS_LAST] = {0};
    g_autoptr(TtrpcClient) client = NULL;
    guint32 status = 1;
    VmmConfig config;
    VmmTimings t;
    double to_init, to_container, boot_cpu;
    gint64 agent_ready;

    vmm_test_pod_config(&config, strings, name);
    bench_config(&config);

    domain = vmm_domain_start(&config, &error);
    ck_assert_msg(domain != NULL, "%s", error ? error->message : "");
    client = vmm_test_wait_agent(domain, BOOT_TIMEOUT_US);
    agent_ready = g_get_monotonic_time();
    vmm_domain_get_timings(domain, &t);
    boot_cpu = cpu_seconds(vmm_domain_get_pid(domain));
    to_init = kernel_to_init(vmm_domain_get_console_log(domain));
    vmm_test_create_sandbox(client);
    out = vmm_test_run_first_container(client, config.shared_dir, "true", &status);
    to_container = (g_get_monotonic_time() - agent_ready) / 1e6;
    g_clear_pointer(&client, ttrpc_client_free);
    if (g_getenv("BENCH_SETTLE_S") != NULL)
        g_usleep((gulong)atoi(g_getenv("BENCH_SETTLE_S")) * G_USEC_PER_SEC);
    add_memory(vmm_domain_get_pid(domain), &qemu_rss, &qemu_pss);
    qemu_pss_parts(vmm_domain_get_pid(domain), &config, qemu_parts);
    add_virtiofsd_memory(config.shared_dir, &fs_rss, &fs_pss);
    /* Without the kernel's "Run /init" line (quiet), only the total is known. */
    if (to_init < 0)
        to_init = NAN;
    printf("%s (%s, %u MiB): libvirt create %.2f s | kernel to /init %.2f s | "
           "QEMU start + agent %.2f s | create to agent ready %.2f s (QEMU CPU %.2f s) | "
           "sandbox + first container %.2f s (exit %u) | create to first container %.2f s | "
           "QEMU RSS %.1f MiB PSS %.1f MiB",
           name, vmm_accel_name(vmm_domain_get_accel(domain)), config.memory_mib,
           (t.created - t.start) / 1e6, to_init, (agent_ready - t.created) / 1e6 - to_init,
           (agent_ready - t.created) / 1e6, boot_cpu, to_container, status,
           (agent_ready - t.created) / 1e6 + to_container, qemu_rss / 1024.0, qemu_pss / 1024.0);
    print_qemu_parts(qemu_parts);
    printf(" | virtiofsd RSS %.1f MiB PSS %.1f MiB\n", fs_rss / 1024.0, fs_pss / 1024.0);
    fflush(stdout);
    keep_console_log(domain);
    ck_assert_uint_eq(status, 0);
    vmm_test_pod_destroy(domain, &config);
}
END_TEST

int main(int argc, char **argv)
{
    guint n = argc > 1 ? (guint)atoi(argv[1]) : 3;
    g_autoptr(GPtrArray) tests = g_ptr_array_new();

    test_util_require(geteuid() == 0 && g_getenv("VMM_TEST_KERNEL") != NULL &&
                          g_getenv("VMM_TEST_INITRD") != NULL && access("/bin/busybox", X_OK) == 0,
                      "bench-vmm-boot needs root, VMM_TEST_KERNEL/VMM_TEST_INITRD and "
                      "/bin/busybox (busybox-static)");
    for (guint i = 0; i < n; i++)
        g_ptr_array_add(tests, (gpointer)bench_boot);
    g_ptr_array_add(tests, NULL);
    return vmm_test_run("bench-vmm-boot", (const TTest *const *)tests->pdata, 180,
                        vmm_test_clean_up_pods);
}
