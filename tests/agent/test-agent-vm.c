/* secure-agent as PID 1 of a real pod VM (root, QEMU/TCG, the built guest image): the shared fs
 * mount of CreateSandbox, containers and exec built by an init-mode agent, cgroup v2 with every
 * controller (memory stats, an OOM kill reported), and DestroySandbox powering the VM off. */
#include "agent-test.h"
#include "shim-agent-probe.h"
#include "vmm.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cgroups-v2-metrics.pb-c.h"

#define RECONNECT_ROUNDS 20
#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define BOOT_TIMEOUT_US (180 * G_USEC_PER_SEC)
#define POWER_OFF_TIMEOUT_US (30 * G_USEC_PER_SEC)
#define GUEST_SHARED "/run/secure-agent/shared"

typedef struct {
    gboolean done;
    ShimAgentProbe *probe;
    TtrpcClient *client;
    guint32 agent_pid;
    char *kernel_release;
    GError *error;
} AgentReady;

static void on_agent(TtrpcClient *client, const ShimAgentInfo *info, const GError *error,
                     gpointer data)
{
    AgentReady *ready = data;

    ready->done = TRUE;
    ready->client = client;
    ready->error = error != NULL ? g_error_copy(error) : NULL;
    if (info != NULL) {
        ready->agent_pid = info->agent_pid;
        ready->kernel_release = g_strdup(info->kernel_release);
    }
}

static void on_event(VmmDomain *domain, VmmEvent event, const char *detail, gpointer data)
{
    (void)domain;
    (void)detail;
    if (event == VMM_EVENT_STOPPED)
        *(gboolean *)data = TRUE;
}

/* A busybox root for container @id in the shared dir; @vm->rootfs is its guest path. */
static void vm_rootfs(AgentTest *vm, const char *shared_dir, const char *id)
{
    g_autofree char *host = g_build_filename(shared_dir, id, "rootfs", NULL);

    agent_test_build_rootfs(host);
    g_free(vm->rootfs);
    vm->rootfs = g_build_filename(GUEST_SHARED, id, "rootfs", NULL);
}

static void vm_create_sandbox(AgentTest *vm, const char *fs_type)
{
    Secure__Agent__V1__CreateSandboxRequest req = SECURE__AGENT__V1__CREATE_SANDBOX_REQUEST__INIT;
    char *dns[] = {"10.0.2.3"};

    req.hostname = "pod-vm";
    req.n_dns_servers = 1;
    req.dns_servers = dns;
    req.shared_fs_type = (char *)fs_type;
    req.shared_fs_tag = VMM_SHARED_FS_TAG;
    req.shared_fs_path = GUEST_SHARED;
    ck_assert_int_eq(agent_test_code(vm, "CreateSandbox", &req.base), TTRPC_CODE_OK);
}

static void vm_run_containers(AgentTest *vm, const char *kernel_release, gboolean only_first)
{
    g_autoptr(json_object) spec =
        agent_test_spec(ARGS("sh", "-c",
                             "hostname; echo $$; uname -r; grep -c . /proc/self/cgroup; "
                             "ip -o link show lo | grep -c 'LOOPBACK,UP'; exit 3"));
    g_autoptr(json_object) exec = agent_test_process(ARGS("cat", "/proc/1/comm"));
    g_autoptr(json_object) sleeper = agent_test_spec(ARGS("sleep", "1000"));
    g_autofree char *expected = g_strdup_printf("sc-test\n1\n%s\n1\n1\n", kernel_release);
    json_object *linux_obj = NULL;
    g_autofree char *out = NULL;
    g_autofree char *comm = NULL;
    guint32 status = 0;
    Secure__Agent__V1__ExecProcessRequest req = SECURE__AGENT__V1__EXEC_PROCESS_REQUEST__INIT;
    const char *json = json_object_to_json_string_ext(exec, JSON_C_TO_STRING_PLAIN);

    gint64 start, created;

    /* The pod's network is the VM's: the agent brought lo up for everyone. */
    ck_assert(json_object_object_get_ex(spec, "linux", &linux_obj));
    json_object_object_add(linux_obj, "namespaces",
                           json_tokener_parse("[{\"type\": \"pid\"}, {\"type\": \"ipc\"},"
                                              " {\"type\": \"uts\"}, {\"type\": \"mount\"}]"));
    start = g_get_monotonic_time();

    agent_test_create(vm, "first", spec, FALSE);
    created = g_get_monotonic_time();
    agent_test_start_container(vm, "first");
    /* Reported, not asserted: how long building a container takes in a TCG guest. */
    fprintf(stderr, "in the VM: create %.1f ms, start %.1f ms\n", (created - start) / 1e3,
            (g_get_monotonic_time() - created) / 1e3);
    out = agent_test_read_all(vm, "first", "", FALSE);
    status = agent_test_wait(vm, "first", "");
    agent_test_remove(vm, "first");
    ck_assert_str_eq(out, expected);
    ck_assert_uint_eq(status, 3);
    if (only_first)
        return;

    /* Exec from an agent that is PID 1 (its children cannot be its siblings). */
    agent_test_create(vm, "second", sleeper, FALSE);
    agent_test_start_container(vm, "second");
    req.container_id = "second";
    req.exec_id = "comm";
    req.process_json.data = (guint8 *)json;
    req.process_json.len = strlen(json);
    ck_assert_int_eq(agent_test_code(vm, "ExecProcess", &req.base), TTRPC_CODE_OK);
    comm = agent_test_read_all(vm, "second", "comm", FALSE);
    ck_assert_str_eq(comm, "sleep\n");
    ck_assert_uint_eq(agent_test_wait(vm, "second", "comm"), 0);
}

/* Stats of the running container "second": the guest's cgroup2 has every controller. */
static void vm_check_stats(AgentTest *vm)
{
    Secure__Agent__V1__ContainerRequest req = SECURE__AGENT__V1__CONTAINER_REQUEST__INIT;
    g_autoptr(ProtobufCMessage) msg = NULL;
    Io__Containerd__Cgroups__V2__Metrics *m;

    req.container_id = "second";
    msg = agent_test_ok(vm, "StatsContainer", &req.base,
                        &secure__agent__v1__stats_container_response__descriptor);
    m = ((Secure__Agent__V1__StatsContainerResponse *)msg)->metrics;
    ck_assert(m != NULL && m->memory != NULL && m->pids != NULL);
    ck_assert_uint_gt(m->memory->usage, 0);
    ck_assert_uint_eq(m->pids->current, 1);
}

/* UpdateContainer reaches the cgroup: the memory limit that stats report changes. */
static void vm_update(AgentTest *vm)
{
    Secure__Agent__V1__UpdateContainerRequest req =
        SECURE__AGENT__V1__UPDATE_CONTAINER_REQUEST__INIT;
    Secure__Agent__V1__ContainerRequest stats = SECURE__AGENT__V1__CONTAINER_REQUEST__INIT;
    const char resources[] = "{\"memory\": {\"limit\": 50331648}}";
    g_autoptr(ProtobufCMessage) msg = NULL;
    Io__Containerd__Cgroups__V2__Metrics *m;

    req.container_id = "second";
    req.resources_json.data = (guint8 *)resources;
    req.resources_json.len = strlen(resources);
    ck_assert_int_eq(agent_test_code(vm, "UpdateContainer", &req.base), TTRPC_CODE_OK);
    stats.container_id = "second";
    msg = agent_test_ok(vm, "StatsContainer", &stats.base,
                        &secure__agent__v1__stats_container_response__descriptor);
    m = ((Secure__Agent__V1__StatsContainerResponse *)msg)->metrics;
    ck_assert(m != NULL && m->memory != NULL);
    ck_assert_uint_eq(m->memory->usage_limit, 50331648);
}

/* The host side of the port goes away and comes back, at once and sending a request first: the
 * agent answers on the new connection. Several rounds, because a request that the guest dropped
 * when the agent noticed the old connection's end late was lost only now and then. */
static void vm_reconnect(AgentTest *vm, VmmDomain *domain)
{
    for (int round = 0; round < RECONNECT_ROUNDS; round++) {
        g_autoptr(GError) error = NULL;
        gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
        g_autoptr(ProtobufCMessage) health = NULL;

        g_clear_pointer(&vm->client, ttrpc_client_free);
        while ((vm->client = ttrpc_client_connect_unix(vmm_domain_get_agent_socket(domain), NULL,
                                                       &error)) == NULL) {
            ck_assert_msg(g_get_monotonic_time() < deadline, "%s", error->message);
            g_clear_error(&error);
            g_usleep(100000);
        }
        health = agent_test_ok(vm, "Health", NULL, &secure__agent__v1__health_response__descriptor);
        ck_assert_uint_eq(((Secure__Agent__V1__HealthResponse *)health)->agent_pid, 1);
    }
}

static void vm_oom_kill(AgentTest *vm)
{
    g_autoptr(json_object) spec = agent_test_spec(ARGS("tail", "/dev/zero"));
    json_object *linux_obj = NULL;
    g_autoptr(ProtobufCMessage) event = NULL;
    g_autoptr(ProtobufCMessage) exit_msg = NULL;
    Secure__Agent__V1__WaitProcessRequest wait = SECURE__AGENT__V1__WAIT_PROCESS_REQUEST__INIT;
    Secure__Agent__V1__WaitProcessResponse *exited;

    ck_assert(json_object_object_get_ex(spec, "linux", &linux_obj));
    json_object_object_add(
        linux_obj, "resources",
        json_tokener_parse("{\"memory\": {\"limit\": 16777216, \"swap\": 16777216}}"));
    agent_test_create(vm, "hog", spec, FALSE);
    agent_test_start_container(vm, "hog");
    event = agent_test_ok(vm, "GetOOMEvent", NULL, &secure__agent__v1__oomevent__descriptor);
    ck_assert_str_eq(((Secure__Agent__V1__OOMEvent *)event)->container_id, "hog");
    wait.container_id = "hog";
    wait.exec_id = "";
    exit_msg = agent_test_ok(vm, "WaitProcess", &wait.base,
                             &secure__agent__v1__wait_process_response__descriptor);
    exited = (void *)exit_msg;
    ck_assert_uint_eq(exited->exit_status, 128 + SIGKILL);
    ck_assert(exited->oom_killed);
    agent_test_remove(vm, "hog");
}

/* The pods, one per shared fs type: set up by main() so that it can clean up after a test that
 * failed half-way. */
enum { POD_VIRTIOFS, POD_9P, POD_LAST };
static VmmConfig pods[POD_LAST];

typedef struct {
    VmmDomain *domain;
    AgentReady ready;
    gboolean stopped;
    AgentTest client; /* only client and rootfs are used */
} Vm;

/* Boots @config and waits for the agent as PID 1. */
static void vm_boot(Vm *vm, const VmmConfig *config)
{
    g_autoptr(GError) error = NULL;

    vm->domain = vmm_domain_start(config, &error);
    ck_assert_msg(vm->domain != NULL, "%s", error ? error->message : "");
    vmm_domain_set_lifecycle_func(vm->domain, on_event, &vm->stopped);
    vm->ready.probe = shim_agent_probe_vm(vm->domain, BOOT_TIMEOUT_US, on_agent, &vm->ready);
    test_util_run_until(&vm->ready.done, BOOT_TIMEOUT_US + G_USEC_PER_SEC);
    ck_assert_msg(vm->ready.error == NULL, "%s", vm->ready.error->message);
    ck_assert_uint_eq(vm->ready.agent_pid, 1);
    vm->client.client = vm->ready.client;
    vm_rootfs(&vm->client, config->shared_dir, "first");
}

/* DestroySandbox must power the VM off by itself; then the pod is torn down. */
static void vm_power_off(Vm *vm)
{
    g_autoptr(GError) error = NULL;

    ck_assert_int_eq(agent_test_code(&vm->client, "DestroySandbox", NULL), TTRPC_CODE_OK);
    ck_assert_msg(test_util_run_until(&vm->stopped, POWER_OFF_TIMEOUT_US),
                  "the VM did not power off");
    g_clear_pointer(&vm->client.client, ttrpc_client_free);
    g_clear_pointer(&vm->ready.probe, shim_agent_probe_free);
    ck_assert_msg(vmm_domain_destroy(vm->domain, &error), "%s", error ? error->message : "");
    g_clear_pointer(&vm->domain, vmm_domain_free);
    g_free(vm->client.rootfs);
    g_free(vm->ready.kernel_release);
}

START_TEST(test_agent_in_vm)
{
    Vm vm = {0};

    vm_boot(&vm, &pods[POD_VIRTIOFS]);
    vm_create_sandbox(&vm.client, "virtiofs");
    vm_run_containers(&vm.client, vm.ready.kernel_release, FALSE);
    vm_check_stats(&vm.client);
    vm_update(&vm.client);
    vm_oom_kill(&vm.client);
    vm_reconnect(&vm.client, vm.domain);
    vm_power_off(&vm);
}
END_TEST

/* The fallback share: the agent mounts 9p with its transport options. */
START_TEST(test_agent_in_vm_9p)
{
    Vm vm = {0};

    vm_boot(&vm, &pods[POD_9P]);
    vm_create_sandbox(&vm.client, "9p");
    vm_run_containers(&vm.client, vm.ready.kernel_release, TRUE);
    vm_power_off(&vm);
}
END_TEST

/* A pod config with its own run dir (and shared dir) under @tmp; strings live in @strings. */
static void vm_config(VmmConfig *config, GStringChunk *strings, const char *tmp, const char *name,
                      VmmSharedFs fs)
{
    g_autofree char *run_dir = g_build_filename(tmp, name, NULL);
    g_autofree char *shared = g_build_filename(run_dir, "shared", NULL);
    g_autofree char *cache = g_build_filename(tmp, "cache", NULL);

    g_assert(g_mkdir_with_parents(shared, 0700) == 0);
    vmm_config_init(config);
    config->name = g_string_chunk_insert(strings, name);
    config->run_dir = g_string_chunk_insert(strings, run_dir);
    config->cache_dir = g_string_chunk_insert(strings, cache);
    config->kernel = g_getenv("AGENT_VM_KERNEL");
    config->initrd = g_getenv("AGENT_VM_INITRD");
    config->accel = VMM_ACCEL_TCG;
    config->shared_fs = fs;
    config->shared_dir = g_string_chunk_insert(strings, shared);
}

int main(void)
{
    const TTest *const tests[] = {test_agent_in_vm, test_agent_in_vm_9p, NULL};
    g_autoptr(GStringChunk) strings = g_string_chunk_new(256);
    g_autofree char *tmp = NULL;
    int status;

    agent_test_require();
    if (!g_file_test("/usr/bin/qemu-system-x86_64", G_FILE_TEST_IS_EXECUTABLE))
        test_util_skip("needs /usr/bin/qemu-system-x86_64 (qemu-system-x86)");
    if (g_getenv("AGENT_VM_KERNEL") == NULL || g_getenv("AGENT_VM_INITRD") == NULL)
        test_util_skip("needs the guest kernel and initramfs (built with the project)");
    tmp = g_dir_make_tmp("sc-agent-vm-XXXXXX", NULL);
    g_assert(tmp != NULL);
    vm_config(&pods[POD_VIRTIOFS], strings, tmp, "agent-vm", VMM_SHARED_FS_VIRTIOFS);
    vm_config(&pods[POD_9P], strings, tmp, "agent-vm-9p", VMM_SHARED_FS_9P);
    status = agent_test_main("agent-vm", tests, 600, NULL, NULL);
    /* Idempotent: after a passing test there is nothing left to stop. */
    for (int i = 0; i < POD_LAST; i++) {
        g_autoptr(GError) error = NULL;

        if (!vmm_cleanup_stale(&pods[i], &error)) {
            fprintf(stderr, "cleanup of pod '%s': %s\n", pods[i].name, error->message);
            status = 1;
        }
    }
    if (!agent_test_remove_tree(tmp))
        status = 1;
    return status;
}
