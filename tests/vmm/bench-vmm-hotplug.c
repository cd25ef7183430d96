/* Benchmark (root, QEMU): how long hot-plugged memory and vCPUs take to be usable in the guest.
 * Boots the guest image once under TCG (256 MiB and 1 vCPU, up to 256 MiB more and 1 + N vCPUs,
 * a virtio-fs share) and then, N times (default 5): plugs 256 MiB, plugs one vCPU, and unplugs
 * the 256 MiB again. Per step it prints the libvirt call's time and the time from the call to
 * the agent's OnlineResources answering that the guest has it (for the unplug: until MemTotal is
 * back at the agent's start).
 * Env as for test-vmm-vm.
 * usage: bench-vmm-hotplug [N] */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "vmm-test-pod.h"
#include "vmm-test.h"

#define BOOT_TIMEOUT_US (120 * G_USEC_PER_SEC)
#define BOOT_MIB 256
#define PLUG_MIB 256
#define ONLINE_TIMEOUT_MS (20 * 1000)
#define UNPLUG_TIMEOUT_US (60 * G_USEC_PER_SEC)

typedef struct {
    double call; /* the libvirt call */
    double done; /* from the call to the guest having it */
} Step;

static double seconds_since(gint64 start)
{
    return (g_get_monotonic_time() - start) / 1e6;
}

static void plug_memory(VmmDomain *domain, TtrpcClient *client, guint vcpus, Step *step)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(VmmTestResources) resources = NULL;
    gint64 start = g_get_monotonic_time();

    ck_assert_msg(vmm_domain_set_memory(domain, BOOT_MIB + PLUG_MIB, &error), "%s",
                  error ? error->message : "");
    step->call = seconds_since(start);
    resources = vmm_test_online_resources(client, vcpus, PLUG_MIB, ONLINE_TIMEOUT_MS);
    step->done = seconds_since(start);
}

static void plug_vcpu(VmmDomain *domain, TtrpcClient *client, guint vcpus, Step *step)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(VmmTestResources) resources = NULL;
    gint64 start = g_get_monotonic_time();

    ck_assert_msg(vmm_domain_set_vcpus(domain, vcpus, &error), "%s", error ? error->message : "");
    step->call = seconds_since(start);
    resources = vmm_test_online_resources(client, vcpus, 0, ONLINE_TIMEOUT_MS);
    step->done = seconds_since(start);
}

static void unplug_memory(VmmDomain *domain, TtrpcClient *client, guint vcpus, Step *step)
{
    g_autoptr(GError) error = NULL;
    gint64 start = g_get_monotonic_time();
    guint64 left;

    ck_assert_msg(vmm_domain_set_memory(domain, BOOT_MIB, &error), "%s",
                  error ? error->message : "");
    step->call = seconds_since(start);
    left = vmm_test_wait_memory_returned(client, vcpus, UNPLUG_TIMEOUT_US);
    step->done = seconds_since(start);
    ck_assert_msg(left == 0, "MemTotal still %" G_GUINT64_FORMAT " MiB above boot's", left);
}

/* Set by main() from its argument before the test runs. */
static guint rounds = 5;

/* One VM, @rounds rounds of plug and unplug (Check runs it in a child process). */
START_TEST(bench_hotplug)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GStringChunk) strings = g_string_chunk_new(256);
    g_autofree char *name = g_strdup_printf("hotplug%d", (int)getpid());
    g_autoptr(VmmDomain) domain = NULL;
    g_autoptr(TtrpcClient) client = NULL;
    VmmConfig config;

    vmm_test_pod_config(&config, strings, name);
    config.memory_mib = BOOT_MIB;
    config.max_memory_mib = BOOT_MIB + PLUG_MIB;
    config.max_vcpus = 1 + rounds;

    domain = vmm_domain_start(&config, &error);
    ck_assert_msg(domain != NULL, "%s", error ? error->message : "");
    client = vmm_test_wait_agent(domain, BOOT_TIMEOUT_US);
    for (guint i = 1; i <= rounds; i++) {
        Step memory, vcpu, unplug;

        plug_memory(domain, client, i, &memory);
        plug_vcpu(domain, client, i + 1, &vcpu);
        unplug_memory(domain, client, i + 1, &unplug);
        printf("round %u (%s): +%u MiB: libvirt %.3f s, online %.3f s | +1 vCPU (%u): libvirt "
               "%.3f s, online %.3f s | -%u MiB: libvirt %.3f s, MemTotal back %.3f s\n",
               i, vmm_accel_name(vmm_domain_get_accel(domain)), PLUG_MIB, memory.call, memory.done,
               i + 1, vcpu.call, vcpu.done, PLUG_MIB, unplug.call, unplug.done);
        fflush(stdout);
    }
    g_clear_pointer(&client, ttrpc_client_free);
    vmm_test_pod_destroy(domain, &config);
}
END_TEST

int main(int argc, char **argv)
{
    const TTest *const tests[] = {bench_hotplug, NULL};

    if (argc > 1)
        rounds = (guint)atoi(argv[1]);
    test_util_require(geteuid() == 0 && g_getenv("VMM_TEST_KERNEL") != NULL &&
                          g_getenv("VMM_TEST_INITRD") != NULL && rounds >= 1 && rounds <= 254,
                      "bench-vmm-hotplug needs root and VMM_TEST_KERNEL/VMM_TEST_INITRD; "
                      "N is 1..254");
    return vmm_test_run("bench-vmm-hotplug", tests, 600, vmm_test_clean_up_pods);
}
