/* The sandbox and a first container in a booted guest, through the agent test harness's calls. */
#include "vmm-test-pod.h"

#include "agent-test.h"
#include "vmm.h"

#define GUEST_SHARED "/run/secure-agent/shared"
#define FIRST_ID "first"

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

char *vmm_test_run_first_container(TtrpcClient *client, const char *shared_dir,
                                   const char *command, guint32 *status)
{
    g_autofree char *host_dir = g_build_filename(shared_dir, FIRST_ID, NULL);
    g_autofree char *host_rootfs = g_build_filename(host_dir, "rootfs", NULL);
    g_autofree char *guest_rootfs = g_build_filename(GUEST_SHARED, FIRST_ID, "rootfs", NULL);
    g_autoptr(json_object) spec =
        agent_test_spec((const char *const[]){"sh", "-c", command, NULL});
    AgentTest agent = {.client = client, .rootfs = guest_rootfs};
    char *out;

    agent_test_build_rootfs(host_rootfs);
    out = agent_test_run(&agent, FIRST_ID, spec, status);
    ck_assert_msg(agent_test_remove_tree(host_dir), "could not remove '%s'", host_dir);
    return out;
}
