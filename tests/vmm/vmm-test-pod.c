/* The sandbox, a first container and hot-plugged resources in a booted guest, through the agent
 * test harness's calls. */
#include "vmm-test-pod.h"

#include <glib/gstdio.h>

#include "agent-test.h"
#include "shim-agent-probe.h"
#include "vmm-test.h"
#include "vmm.h"

#define GUEST_SHARED "/run/secure-agent/shared"
#define FIRST_ID "first"
#define MIB_BYTES ((guint64)1024 * 1024)
/* Between two looks at MemTotal while the guest gives memory back. */
#define RETURN_POLL_US (50 * 1000)

typedef struct {
    gboolean done;
    TtrpcClient *client;
    GError *error;
} AgentWait;

static void on_agent(TtrpcClient *client, const ShimAgentInfo *info, const GError *error,
                     gpointer data)
{
    AgentWait *wait = data;

    (void)info;
    wait->client = client;
    wait->error = error != NULL ? g_error_copy(error) : NULL;
    wait->done = TRUE;
}

void vmm_test_pod_config(VmmConfig *config, GStringChunk *strings, const char *name)
{
    g_autofree char *run_dir = g_build_filename(vmm_test_dir(), name, NULL);
    g_autofree char *shared = g_build_filename(run_dir, "shared", NULL);
    g_autofree char *cache = g_build_filename(vmm_test_dir(), VMM_TEST_CACHE, NULL);

    ck_assert_int_eq(g_mkdir_with_parents(shared, 0700), 0);
    vmm_config_init(config);
    config->name = g_string_chunk_insert(strings, name);
    config->run_dir = g_string_chunk_insert(strings, run_dir);
    config->cache_dir = g_string_chunk_insert(strings, cache);
    config->kernel = g_getenv("VMM_TEST_KERNEL");
    config->initrd = g_getenv("VMM_TEST_INITRD");
    config->shared_fs = VMM_SHARED_FS_VIRTIOFS;
    config->shared_dir = g_string_chunk_insert(strings, shared);
}

void vmm_test_pod_destroy(VmmDomain *domain, const VmmConfig *config)
{
    g_autoptr(GError) error = NULL;

    ck_assert_msg(vmm_domain_destroy(domain, &error), "%s", error ? error->message : "");
    ck_assert_int_eq(g_rmdir(config->shared_dir), 0);
    ck_assert_int_eq(g_rmdir(config->run_dir), 0);
}

TtrpcClient *vmm_test_wait_agent(VmmDomain *domain, gint64 timeout_us)
{
    AgentWait wait = {0};
    g_autoptr(ShimAgentProbe) probe = shim_agent_probe_vm(domain, timeout_us, on_agent, &wait);

    while (!wait.done)
        g_main_context_iteration(NULL, TRUE);
    ck_assert_msg(wait.error == NULL, "%s", wait.error ? wait.error->message : "");
    return wait.client;
}

void vmm_test_create_sandbox(TtrpcClient *client)
{
    Secure__Agent__V1__CreateSandboxRequest request =
        SECURE__AGENT__V1__CREATE_SANDBOX_REQUEST__INIT;
    AgentTest agent = {.client = client};

    request.hostname = "vmm-test";
    request.shared_fs_type = "virtiofs";
    request.shared_fs_tag = VMM_SHARED_FS_TAG;
    request.shared_fs_path = GUEST_SHARED;
    ck_assert_int_eq(agent_test_code(&agent, "CreateSandbox", &request.base), TTRPC_CODE_OK);
}

char *vmm_test_run_first_container(TtrpcClient *client, const char *shared_dir, const char *command,
                                   guint32 *status)
{
    g_autofree char *host_dir = g_build_filename(shared_dir, FIRST_ID, NULL);
    g_autofree char *host_rootfs = g_build_filename(host_dir, "rootfs", NULL);
    g_autofree char *guest_rootfs = g_build_filename(GUEST_SHARED, FIRST_ID, "rootfs", NULL);
    g_autoptr(json_object) spec = agent_test_spec((const char *const[]){"sh", "-c", command, NULL});
    AgentTest agent = {.client = client, .rootfs = guest_rootfs};
    char *out;

    agent_test_build_rootfs(host_rootfs);
    out = agent_test_run(&agent, FIRST_ID, spec, status);
    ck_assert_msg(agent_test_remove_tree(host_dir), "could not remove '%s'", host_dir);
    return out;
}

VmmTestResources *vmm_test_online_resources(TtrpcClient *client, guint vcpus, guint hotplugged_mib,
                                            guint timeout_ms)
{
    Secure__Agent__V1__OnlineResourcesRequest request =
        SECURE__AGENT__V1__ONLINE_RESOURCES_REQUEST__INIT;
    AgentTest agent = {.client = client};

    request.vcpus = vcpus;
    request.hotplugged_memory_bytes = hotplugged_mib * MIB_BYTES;
    request.timeout_ms = timeout_ms;
    return (VmmTestResources *)agent_test_ok(
        &agent, "OnlineResources", &request.base,
        &secure__agent__v1__online_resources_response__descriptor);
}

void vmm_test_resources_free(VmmTestResources *resources)
{
    secure__agent__v1__online_resources_response__free_unpacked(resources, NULL);
}

guint64 vmm_test_wait_memory_returned(TtrpcClient *client, guint vcpus, gint64 timeout_us)
{
    gint64 deadline = g_get_monotonic_time() + timeout_us;

    for (;;) {
        g_autoptr(VmmTestResources) now = vmm_test_online_resources(client, vcpus, 0, 1);
        guint64 above = now->memory_total_bytes > now->boot_memory_total_bytes
                            ? now->memory_total_bytes - now->boot_memory_total_bytes
                            : 0;

        if (above == 0 || g_get_monotonic_time() >= deadline)
            return (above + MIB_BYTES - 1) / MIB_BYTES;
        g_usleep(RETURN_POLL_US);
    }
}
