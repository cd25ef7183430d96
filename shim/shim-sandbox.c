/* The sandbox: a pod VM through vmm-libvirt, or (kind=none) the agent as a host process. Both
 * record what they start in the pod state before they start it. */
#include "shim-sandbox.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib-unix.h>
#include <sys/stat.h>

#include "common-exit.h"
#include "common-fd.h"
#include "common-process.h"
#include "shim-agent-probe.h"
#include "shim-error.h"
#include "shim-host-cgroup.h"
#include "shim-network.h"
#include "shim-pod-uid.h"
#include "shim-template.h"
#include "vmm.h"

#define HOST_STOP_GRACE_MS 2000
/* After the SIGKILL: what is left of `delete`'s budget (containerd gives it 5 s). */
#define HOST_KILL_WAIT_MS 1000

struct _ShimSandbox {
    ShimHypervisorKind kind;
    ShimSandboxDiedFunc died;
    gpointer died_data;
    gint64 boot_timeout_us;
    gboolean destroyed;
    ShimSandboxStoppedFunc stopped; /* shim_sandbox_stop() in progress */
    gpointer stopped_data;
    guint stop_timer;
    gboolean host_killed; /* the host agent got its SIGKILL */
    char *guest_shared_dir;
    ShimSharedFs shared_fs;
    ShimVmSize boot;    /* what it booted with, and the hot-plug ceilings */
    ShimVmSize current; /* after the last resize */
    gboolean restored;  /* resumed from a VM template */
    char *pod_dir;      /* holds the reservation of qemu_uid (0: QEMU runs as root) */
    guint qemu_uid;

    VmmDomain *domain;           /* libvirt */
    VmmConsoleFollower *console; /* at debug level: the guest console into the log */

    GPid agent_pid; /* none */
    int agent_pidfd;
    char *agent_socket;
    char *host_cgroup; /* the agent's --cgroup-root */
    guint child_watch;

    ShimAgentProbe *probe;
    ShimSandboxReadyFunc ready;
    gpointer ready_data;
};

/* ---- libvirt ------------------------------------------------------------------------------- */

static const VmmAccel accels[] = {VMM_ACCEL_AUTO, VMM_ACCEL_KVM, VMM_ACCEL_TCG};

void shim_sandbox_vm_config(VmmConfig *vc, const ShimConfig *config, const ShimVmSize *size,
                            const char *name, const char *run_dir, const char *shared_dir)
{
    vmm_config_init(vc);
    vc->name = name;
    vc->run_dir = run_dir;
    if (config) {
        vc->uri = *config->libvirt_uri ? config->libvirt_uri : NULL;
        vc->memory_mib = size->memory_mib;
        vc->vcpus = size->vcpus;
        vc->max_memory_mib = size->max_memory_mib;
        vc->max_vcpus = size->max_vcpus;
        vc->kernel = config->kernel;
        vc->initrd = config->initrd;
        vc->kernel_params = *config->guest_kernel_params ? config->guest_kernel_params : NULL;
        vc->accel = accels[config->accelerator];
        vc->machine = config->machine_type;
        vc->shared_fs =
            config->shared_fs == SHIM_SHARED_FS_9P ? VMM_SHARED_FS_9P : VMM_SHARED_FS_VIRTIOFS;
        vc->shared_dir = shared_dir;
        vc->virtiofsd = config->virtiofsd;
    }
}

static void console_line(const char *line, gpointer user_data)
{
    (void)user_data;
    g_debug("guest: %s", line);
}

static void follow_console(ShimSandbox *sandbox)
{
    g_autoptr(GError) error = NULL;
    sandbox->console = vmm_console_follow(vmm_domain_get_console_log(sandbox->domain), console_line,
                                          sandbox, &error);
    if (!sandbox->console)
        g_warning("the guest console stays out of the log: %s", error->message);
}

static void vm_lifecycle(VmmDomain *domain, VmmEvent event, const char *detail, gpointer user_data)
{
    ShimSandbox *sandbox = user_data;
    (void)domain;
    if (sandbox->destroyed)
        return;
    g_autofree char *reason =
        g_strdup_printf("the pod VM %s (%s)", event == VMM_EVENT_PANICKED ? "panicked" : "stopped",
                        detail ? detail : "");
    sandbox->died(sandbox, reason, sandbox->died_data);
}

/* Resumes the pod's VM from a template when there is one that fits; any failure leaves it to
 * a cold boot, with a log line. */
static void vm_resume(ShimSandbox *sandbox, const ShimConfig *config, const VmmConfig *vc)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *reason = NULL;
    VmmConfig template_vc;
    ShimVmSize size;
    g_autofree char *path =
        shim_template_find(config, vc, &sandbox->boot, &template_vc, &size, &reason);

    if (path == NULL) {
        if (reason)
            g_info("VM template not used: %s", reason);
        return;
    }
    sandbox->domain = vmm_domain_restore(&template_vc, path, &error);
    if (!sandbox->domain) {
        g_warning("VM template '%s' did not resume (%s): removed it, booting the VM", path,
                  error->message);
        shim_template_discard(path);
        return;
    }
    g_info("the pod VM resumed from the template '%s'", path);
    sandbox->restored = TRUE;
    sandbox->boot = size;
    sandbox->current = size;
}

/* With virtio-fs QEMU runs as a uid of the pod's own; virtio-9p serves the containers' files
 * from QEMU itself, which must then be root to read and write them as their owners. */
static gboolean vm_user(ShimSandbox *sandbox, const ShimConfig *config, ShimState *state,
                        const char *run_dir, VmmConfig *vc, GError **error)
{
    if (vc->shared_fs == VMM_SHARED_FS_9P) {
        g_message("QEMU runs as root: [hypervisor] shared_fs = virtio-9p needs it (with "
                  "virtio-fs it runs as a uid of the pod's own)");
        return TRUE;
    }
    if (!shim_pod_uid_reserve(config->pod_uid_base, config->pod_uid_count, run_dir,
                              &sandbox->qemu_uid, error))
        return FALSE;
    sandbox->pod_dir = g_strdup(run_dir);
    vc->qemu_uid = vc->qemu_gid = sandbox->qemu_uid;
    shim_state_set_int(state, NULL, SHIM_STATE_QEMU_UID, sandbox->qemu_uid);
    return TRUE;
}

/* [agent] debug_exec: a copy of debug_exec_tools (a static busybox) and a link for each of its
 * applets in the shared directory, from which the guest runs ExecGuest's commands. They go
 * with the pod's directory. */
static gboolean put_debug_tools(const ShimConfig *config, const char *shared_dir, GError **error)
{
    g_autofree char *dir = g_build_filename(shared_dir, SHIM_DEBUG_TOOLS_DIR, NULL);
    g_autofree char *binary = g_build_filename(dir, SHIM_DEBUG_TOOLS_BINARY, NULL);
    g_autoptr(GFile) from = g_file_new_for_path(config->debug_exec_tools);
    g_autoptr(GFile) to = g_file_new_for_path(binary);
    const char *argv[] = {config->debug_exec_tools, "--list", NULL};
    g_autofree char *list = NULL;
    int status;

    if (g_mkdir_with_parents(dir, 0755) < 0) {
        g_set_error(error, SHIM_ERROR, SHIM_ERROR_FAILED, "mkdir '%s': %s", dir, g_strerror(errno));
        return FALSE;
    }
    if (!g_file_copy(from, to, G_FILE_COPY_OVERWRITE, NULL, NULL, NULL, error) ||
        !g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &list,
                      NULL, &status, error) ||
        !g_spawn_check_wait_status(status, error)) {
        g_prefix_error(
            error, "[agent] debug_exec_tools '%s' (a static busybox): ", config->debug_exec_tools);
        return FALSE;
    }
    chmod(binary, 0755);
    g_auto(GStrv) applets = g_strsplit(list, "\n", -1);
    for (char **a = applets; *a; a++) {
        g_autofree char *link = g_build_filename(dir, *a, NULL);
        if (**a && !strchr(*a, '/') && !g_str_equal(*a, SHIM_DEBUG_TOOLS_BINARY))
            symlink(SHIM_DEBUG_TOOLS_BINARY, link);
    }
    return TRUE;
}

static gboolean vm_start(ShimSandbox *sandbox, const ShimConfig *config, ShimState *state,
                         const char *name, const char *run_dir, const char *shared_dir,
                         ShimNetwork *network, GError **error)
{
    VmmConfig vc;
    shim_sandbox_vm_config(&vc, config, &sandbox->boot, name, run_dir, shared_dir);
    if (!vm_user(sandbox, config, state, run_dir, &vc, error))
        return FALSE;
    if (network) {
        vc.netns = shim_network_get_netns(network);
        vc.nics = shim_network_get_nics(network, &vc.n_nics);
    }
    g_autofree char *uri = vmm_config_uri(&vc);
    shim_state_set(state, NULL, SHIM_STATE_VM_NAME, name);
    shim_state_set(state, NULL, SHIM_STATE_EMBED_ROOT, run_dir);
    shim_state_set(state, NULL, "libvirt_uri", uri);
    if (!shim_state_save(state, error) ||
        (config->debug_exec && !put_debug_tools(config, shared_dir, error)))
        return FALSE;
    vm_resume(sandbox, config, &vc);
    if (!sandbox->domain)
        sandbox->domain = vmm_domain_start(&vc, error);
    if (!sandbox->domain) {
        g_prefix_error(error, "start the pod VM: ");
        return FALSE;
    }
    vmm_domain_set_lifecycle_func(sandbox->domain, vm_lifecycle, sandbox);
    if (g_log_get_debug_enabled())
        follow_console(sandbox);
    sandbox->guest_shared_dir = g_strdup(SHIM_GUEST_SHARED_DIR);
    shim_state_set_int(state, NULL, SHIM_STATE_VM_PID, vmm_domain_get_pid(sandbox->domain));
    return shim_state_save(state, error);
}

/* ---- none: the agent as a host process ------------------------------------------------------ */

static void stop_done(ShimSandbox *sandbox);

/* The agent's pidfd became readable: it exited (reaped here). A pidfd rather than GLib's child
 * watch, whose SIGCHLD handling runs a thread of GLib's that no signal reaches
 * (shim-privileges.c could not ask it to give up its capabilities). */
static gboolean host_child_exited(int fd, GIOCondition condition, gpointer user_data)
{
    ShimSandbox *sandbox = user_data;
    int status = 0;
    (void)fd;
    (void)condition;
    sandbox->child_watch = 0;
    close(g_steal_fd(&sandbox->agent_pidfd));
    waitpid(sandbox->agent_pid, &status, 0);
    g_spawn_close_pid(sandbox->agent_pid);
    sandbox->agent_pid = 0;
    if (sandbox->stopped) {
        stop_done(sandbox); /* may free @sandbox */
        return G_SOURCE_REMOVE;
    }
    if (sandbox->destroyed)
        return G_SOURCE_REMOVE;
    g_autofree char *reason = g_strdup_printf("the host agent exited (wait status %d)", status);
    sandbox->died(sandbox, reason, sandbox->died_data);
    return G_SOURCE_REMOVE;
}

static gboolean host_start(ShimSandbox *sandbox, const ShimConfig *config, ShimState *state,
                           const char *run_dir, const char *shared_dir, GError **error)
{
    g_autofree char *state_dir = g_build_filename(run_dir, "agent", NULL);
    sandbox->agent_socket = g_build_filename(run_dir, "agent.sock", NULL);
    g_autofree char *listen = g_strconcat("unix:", sandbox->agent_socket, NULL);
    g_autofree char *pod_name = g_path_get_basename(run_dir);

    sandbox->host_cgroup = shim_host_cgroup_path(pod_name, error);
    if (!sandbox->host_cgroup)
        return FALSE;
    const char *argv[] = {
        config->agent_host_binary, "--listen",           listen, "--state-dir", state_dir,
        "--cgroup-root",           sandbox->host_cgroup, NULL};

    unlink(sandbox->agent_socket);
    shim_state_set(state, NULL, SHIM_STATE_HOST_CGROUP, sandbox->host_cgroup);
    if (!shim_state_save(state, error))
        return FALSE;
    if (!g_spawn_async(run_dir, (char **)argv, NULL,
                       G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDIN_FROM_DEV_NULL |
                           G_SPAWN_STDOUT_TO_DEV_NULL,
                       NULL, NULL, &sandbox->agent_pid, error)) {
        g_prefix_error(error, "start the host agent '%s': ", config->agent_host_binary);
        return FALSE;
    }
    /* Recorded right after the spawn: the pid does not exist before it. */
    shim_state_set_int(state, NULL, SHIM_STATE_VM_PID, sandbox->agent_pid);
    sandbox->agent_pidfd = pidfd_open(sandbox->agent_pid, 0);
    if (sandbox->agent_pidfd < 0) {
        g_set_error(error, SHIM_ERROR, SHIM_ERROR_FAILED, "pidfd of the host agent: %s",
                    g_strerror(errno));
        return FALSE;
    }
    sandbox->child_watch = g_unix_fd_add(sandbox->agent_pidfd, G_IO_IN, host_child_exited, sandbox);
    sandbox->guest_shared_dir = g_strdup(shared_dir);
    return shim_state_save(state, error);
}

/* SIGTERM first: the host agent then destroys its containers and cgroup. SIGKILL after
 * HOST_STOP_GRACE_MS. Returns once it has exited (its files are no longer written), or a second
 * after the SIGKILL. @pidfd holds it (-1: nothing to stop); @child is its pid when it is our
 * child to reap, else 0. */
static void host_stop(int pidfd, pid_t child)
{
    if (pidfd < 0)
        return;
    /* Bounded: `delete` must finish well inside containerd's 5 s. */
    pidfd_send_signal(pidfd, SIGTERM, NULL, 0);
    if (!common_exit_wait(pidfd, HOST_STOP_GRACE_MS)) {
        pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
        common_exit_wait(pidfd, HOST_KILL_WAIT_MS);
    }
    if (child > 0)
        waitpid(child, NULL, WNOHANG);
}

/* ---- dispatch ------------------------------------------------------------------------------ */

ShimSandbox *shim_sandbox_start(const ShimConfig *config, ShimState *state, const char *name,
                                const char *run_dir, const char *shared_dir, ShimNetwork *network,
                                const ShimVmSize *size, ShimSandboxDiedFunc died,
                                gpointer user_data, GError **error)
{
    g_autoptr(ShimSandbox) sandbox = g_new0(ShimSandbox, 1);
    sandbox->agent_pidfd = -1;
    sandbox->kind = config->kind;
    sandbox->boot = *size;
    sandbox->current = *size;
    sandbox->died = died;
    sandbox->died_data = user_data;
    sandbox->boot_timeout_us = (gint64)config->agent_boot_timeout_s * G_USEC_PER_SEC;
    sandbox->shared_fs = config->shared_fs;
    shim_state_set(state, NULL, SHIM_STATE_KIND,
                   config->kind == SHIM_HYPERVISOR_NONE ? "none" : "libvirt");
    gboolean ok = config->kind == SHIM_HYPERVISOR_NONE
                      ? host_start(sandbox, config, state, run_dir, shared_dir, error)
                      : vm_start(sandbox, config, state, name, run_dir, shared_dir, network, error);
    if (!ok) {
        shim_sandbox_destroy(sandbox);
        return NULL;
    }
    return g_steal_pointer(&sandbox);
}

static void agent_ready(TtrpcClient *client, const ShimAgentInfo *info, const GError *error,
                        gpointer user_data)
{
    ShimSandbox *sandbox = user_data;
    if (info)
        g_info("agent %s ready (kernel %s)", info->agent_version, info->kernel_release);
    sandbox->ready(sandbox, client, error, sandbox->ready_data);
}

void shim_sandbox_wait_agent(ShimSandbox *sandbox, ShimSandboxReadyFunc func, gpointer user_data)
{
    g_return_if_fail(sandbox->probe == NULL);
    sandbox->ready = func;
    sandbox->ready_data = user_data;
    sandbox->probe =
        sandbox->domain
            ? shim_agent_probe_vm(sandbox->domain, sandbox->boot_timeout_us, agent_ready, sandbox)
            : shim_agent_probe_host(sandbox->agent_socket, sandbox->boot_timeout_us, agent_ready,
                                    sandbox);
}

pid_t shim_sandbox_get_pid(ShimSandbox *sandbox)
{
    return sandbox->domain ? vmm_domain_get_pid(sandbox->domain) : sandbox->agent_pid;
}

gboolean shim_sandbox_resize(ShimSandbox *sandbox, const ShimVmSize *size, GError **error)
{
    if (sandbox->domain) {
        if (size->vcpus != sandbox->current.vcpus &&
            !vmm_domain_set_vcpus(sandbox->domain, size->vcpus, error))
            return FALSE;
        sandbox->current.vcpus = size->vcpus;
        if (size->memory_mib != sandbox->current.memory_mib &&
            !vmm_domain_set_memory(sandbox->domain, size->memory_mib, error))
            return FALSE;
    }
    sandbox->current.memory_mib = size->memory_mib;
    return TRUE;
}

void shim_sandbox_get_size(ShimSandbox *sandbox, ShimVmSize *out_boot, ShimVmSize *out_current)
{
    *out_boot = sandbox->boot;
    *out_current = sandbox->current;
}

gboolean shim_sandbox_is_restored(ShimSandbox *sandbox)
{
    return sandbox->restored;
}

char *shim_sandbox_console_tail(ShimSandbox *sandbox, guint max_lines)
{
    if (sandbox->domain == NULL)
        return NULL;
    return vmm_domain_console_tail(sandbox->domain, max_lines);
}

gboolean shim_sandbox_is_vm(ShimSandbox *sandbox)
{
    return sandbox->domain != NULL;
}

const char *shim_sandbox_kind_name(ShimSandbox *sandbox)
{
    if (sandbox->domain == NULL)
        return "host";
    return vmm_accel_name(vmm_domain_get_accel(sandbox->domain));
}

gboolean shim_sandbox_get_stats(ShimSandbox *sandbox, VmmDomainStats *out, GError **error)
{
    if (sandbox->domain != NULL)
        return vmm_domain_get_stats(sandbox->domain, out, error);
    g_set_error_literal(error, SHIM_ERROR, SHIM_ERROR_STATE, "a host agent has no VM");
    return FALSE;
}

void shim_sandbox_fill_create(ShimSandbox *sandbox, Secure__Agent__V1__CreateSandboxRequest *req)
{
    req->shared_fs_path = sandbox->guest_shared_dir;
    if (sandbox->kind == SHIM_HYPERVISOR_NONE) {
        req->shared_fs_type = "";
        req->shared_fs_tag = "";
        return;
    }
    req->shared_fs_type = sandbox->shared_fs == SHIM_SHARED_FS_9P ? "9p" : "virtiofs";
    req->shared_fs_tag = VMM_SHARED_FS_TAG;
}

const char *shim_sandbox_guest_shared_dir(ShimSandbox *sandbox)
{
    return sandbox->guest_shared_dir;
}

/* What goes first in a stop: nothing reports on the sandbox any more. */
static void stop_begin(ShimSandbox *sandbox)
{
    sandbox->destroyed = TRUE;
    g_clear_pointer(&sandbox->probe, shim_agent_probe_free);
    /* Before the console log goes with the VM. */
    g_clear_pointer(&sandbox->console, vmm_console_follower_free);
}

/* What goes once the VM or the host agent is gone: the cgroup it ran in, QEMU's uid. */
static void stop_end(ShimSandbox *sandbox)
{
    g_autoptr(GError) error = NULL;
    if (!shim_host_cgroup_remove(sandbox->host_cgroup, &error))
        g_warning("%s", error->message);
    if (sandbox->qemu_uid != 0)
        shim_pod_uid_release(sandbox->qemu_uid, sandbox->pod_dir);
    sandbox->qemu_uid = 0;
}

void shim_sandbox_destroy(ShimSandbox *sandbox)
{
    g_autoptr(GError) error = NULL;
    stop_begin(sandbox);
    g_clear_handle_id(&sandbox->stop_timer, g_source_remove);
    sandbox->stopped = NULL;
    g_clear_handle_id(&sandbox->child_watch, g_source_remove);
    if (sandbox->domain && !vmm_domain_destroy(sandbox->domain, &error))
        g_warning("destroy the pod VM: %s", error->message);
    host_stop(sandbox->agent_pidfd, sandbox->agent_pid);
    common_fd_close(&sandbox->agent_pidfd);
    if (sandbox->agent_pid)
        g_spawn_close_pid(sandbox->agent_pid);
    sandbox->agent_pid = 0;
    stop_end(sandbox);
}

static void stop_done(ShimSandbox *sandbox)
{
    ShimSandboxStoppedFunc stopped = sandbox->stopped;
    g_clear_handle_id(&sandbox->stop_timer, g_source_remove);
    sandbox->stopped = NULL;
    stop_end(sandbox);
    stopped(sandbox, sandbox->stopped_data);
}

static void vm_stopped(VmmDomain *domain, const GError *error, gpointer user_data)
{
    (void)domain;
    if (error)
        g_warning("destroy the pod VM: %s", error->message);
    stop_done(user_data);
}

/* The host agent did not exit on SIGTERM: SIGKILL; and if even that does not end it, the stop
 * ends without it (the sync destroy of the sandbox's free waits no longer either). */
static gboolean host_stop_timer(gpointer user_data)
{
    ShimSandbox *sandbox = user_data;
    sandbox->stop_timer = 0;
    if (!sandbox->host_killed) {
        sandbox->host_killed = TRUE;
        pidfd_send_signal(sandbox->agent_pidfd, SIGKILL, NULL, 0);
        sandbox->stop_timer = g_timeout_add(HOST_KILL_WAIT_MS, host_stop_timer, sandbox);
        return G_SOURCE_REMOVE;
    }
    stop_done(sandbox);
    return G_SOURCE_REMOVE;
}

static gboolean stop_idle(gpointer user_data)
{
    ShimSandbox *sandbox = user_data;
    sandbox->stop_timer = 0;
    stop_done(sandbox);
    return G_SOURCE_REMOVE;
}

void shim_sandbox_stop(ShimSandbox *sandbox, ShimSandboxStoppedFunc func, gpointer user_data)
{
    g_return_if_fail(func != NULL && sandbox->stopped == NULL);
    stop_begin(sandbox);
    sandbox->stopped = func;
    sandbox->stopped_data = user_data;
    if (sandbox->domain) {
        vmm_domain_stop(sandbox->domain, vm_stopped, sandbox);
        return;
    }
    /* SIGTERM first: the host agent then destroys its containers and cgroup; its exit comes to
     * host_child_exited(). */
    if (sandbox->child_watch && pidfd_send_signal(sandbox->agent_pidfd, SIGTERM, NULL, 0) == 0) {
        sandbox->stop_timer = g_timeout_add(HOST_STOP_GRACE_MS, host_stop_timer, sandbox);
        return;
    }
    sandbox->stop_timer = g_idle_add(stop_idle, sandbox);
}

void shim_sandbox_free(ShimSandbox *sandbox)
{
    if (!sandbox)
        return;
    shim_sandbox_destroy(sandbox);
    g_clear_pointer(&sandbox->domain, vmm_domain_free);
    g_free(sandbox->agent_socket);
    g_free(sandbox->host_cgroup);
    g_free(sandbox->guest_shared_dir);
    g_free(sandbox->pod_dir);
    g_free(sandbox);
}

gboolean shim_sandbox_cleanup_stale(ShimState *state, GError **error)
{
    g_autofree char *kind = shim_state_get(state, NULL, SHIM_STATE_KIND);
    g_autofree char *name = shim_state_get(state, NULL, SHIM_STATE_VM_NAME);
    g_autofree char *uri = shim_state_get(state, NULL, "libvirt_uri");
    pid_t pid = (pid_t)shim_state_get_int(state, NULL, SHIM_STATE_VM_PID);

    if (g_strcmp0(kind, "none") == 0) {
        g_autofree char *socket = g_build_filename(state->dir, "agent.sock", NULL);
        g_autofree char *cgroup = shim_state_get(state, NULL, SHIM_STATE_HOST_CGROUP);
        /* Only its pid is on disk (its daemon is gone): it is ours if it names our socket. */
        common_autofd int agent = common_process_open_mentioning(pid, socket);
        host_stop(agent, 0);
        return shim_host_cgroup_remove(cgroup, error);
    }
    if (!name)
        return TRUE;
    VmmConfig vc;
    shim_sandbox_vm_config(&vc, NULL, NULL, name, state->dir, NULL);
    /* The embedded driver is the default; only another URI needs naming. */
    if (uri && !g_str_has_prefix(uri, "qemu:///embed"))
        vc.uri = uri;
    if (!vmm_cleanup_stale(&vc, error)) {
        g_prefix_error(error, "pod VM '%s': ", name);
        return FALSE;
    }
    /* Its QEMU is gone: the uid is free for another pod. */
    guint uid = (guint)shim_state_get_int(state, NULL, SHIM_STATE_QEMU_UID);
    if (uid != 0)
        shim_pod_uid_release(uid, state->dir);
    return TRUE;
}
