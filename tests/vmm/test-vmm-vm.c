/* VM tests (root, QEMU, TCG): boot pod VMs through vmm-libvirt and check what they leave.
 * Images come from the build (env VMM_TEST_KERNEL, VMM_TEST_INITRD, VMM_TEST_STUB_INITRD,
 * VMM_TEST_KERNEL_RELEASE, unset for the lean kernel). Without root or QEMU the binary exits 77,
 * or fails when CI=true. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "agent.pb-c.h"
#include "wellknown.pb-c.h"
#include "shim-agent-probe.h"
#include "vmm-internal.h"
#include "vmm-test-pod.h"
#include "vmm-test.h"

#define BOOT_TIMEOUT_US (120 * G_USEC_PER_SEC)
#define NEVER_TIMEOUT_US (15 * G_USEC_PER_SEC)
#define EVENT_MAX_US G_USEC_PER_SEC
/* A uid (and gid) of no user here: QEMU's in the boot test. */
#define TEST_QEMU_UID 1879113000u

typedef struct {
    gboolean done;
    VmmEvent event;
    char *detail;
    gint64 when;
    ShimAgentProbe *probe; /* the shim's readiness probe, on the domain's agent channel */
    TtrpcClient *client;
    char *agent_version;
    char *kernel_release;
    guint32 agent_pid;
    GError *error;
} Result;

static void result_clear(Result *r)
{
    g_clear_pointer(&r->detail, g_free);
    g_clear_pointer(&r->probe, shim_agent_probe_free);
    g_clear_pointer(&r->client, ttrpc_client_free);
    g_clear_pointer(&r->agent_version, g_free);
    g_clear_pointer(&r->kernel_release, g_free);
    g_clear_error(&r->error);
}

static void on_event(VmmDomain *domain, VmmEvent event, const char *detail, gpointer data)
{
    Result *r = data;

    (void)domain;
    if (r->done)
        return;
    r->done = TRUE;
    r->event = event;
    r->detail = g_strdup(detail);
    r->when = g_get_monotonic_time();
}

static void on_agent(TtrpcClient *client, const ShimAgentInfo *info, const GError *error,
                     gpointer data)
{
    Result *r = data;

    r->done = TRUE;
    r->when = g_get_monotonic_time();
    r->client = client;
    r->error = error != NULL ? g_error_copy(error) : NULL;
    if (info != NULL) {
        r->agent_version = g_strdup(info->agent_version);
        r->kernel_release = g_strdup(info->kernel_release);
        r->agent_pid = info->agent_pid;
    }
}

/* Probes the agent of @domain as the shim does; the answer goes to @r. */
static void wait_agent(VmmDomain *domain, gint64 timeout_us, Result *r)
{
    r->probe = shim_agent_probe_vm(domain, timeout_us, on_agent, r);
}

static const char *env_path(const char *name)
{
    const char *value = g_getenv(name);

    ck_assert_msg(value != NULL, "%s not set", name);
    return value;
}

/* The guest runs the kernel it was given: its release is VMM_TEST_KERNEL_RELEASE, or, where
 * the build could not know it (the lean kernel), the one in that image's version banner. */
static void assert_kernel_release(const char *release)
{
    const char *expected = g_getenv("VMM_TEST_KERNEL_RELEASE");
    g_autofree char *image = NULL;
    g_autofree char *banner = NULL;
    gsize size;

    if (expected != NULL) {
        ck_assert_str_eq(release, expected);
        return;
    }
    ck_assert_msg(g_file_get_contents(env_path("VMM_TEST_KERNEL"), &image, &size, NULL),
                  "cannot read the kernel");
    banner = g_strdup_printf("Linux version %s ", release);
    ck_assert_msg(memmem(image, size, banner, strlen(banner)) != NULL,
                  "the guest's release '%s' is not the kernel image's", release);
}

/* A pod config in a fresh directory under vmm_test_dir(); strings live in @strings. */
static void test_config(VmmConfig *config, GStringChunk *strings, const char *name,
                        const char *initrd_env)
{
    g_autofree char *run_dir = g_build_filename(vmm_test_dir(), name, NULL);
    g_autofree char *cache = g_build_filename(vmm_test_dir(), VMM_TEST_CACHE, NULL);

    vmm_config_init(config);
    config->name = g_string_chunk_insert(strings, name);
    config->run_dir = g_string_chunk_insert(strings, run_dir);
    config->cache_dir = g_string_chunk_insert(strings, cache);
    config->kernel = env_path("VMM_TEST_KERNEL");
    config->initrd = env_path(initrd_env);
    config->accel = VMM_ACCEL_TCG;
}

static void add_shared_dir(VmmConfig *config, GStringChunk *strings, VmmSharedFs fs)
{
    g_autofree char *shared = g_build_filename(config->run_dir, "shared", NULL);

    ck_assert_int_eq(g_mkdir_with_parents(shared, 0700), 0);
    config->shared_fs = fs;
    config->shared_dir = g_string_chunk_insert(strings, shared);
}

/* The /proc/self/mountinfo line of the mount at @path, or NULL. */
static char *mountinfo_line(const char *path)
{
    g_autofree char *mountinfo = NULL;
    g_autofree char *needle = g_strdup_printf(" %s ", path);
    g_auto(GStrv) lines = NULL;

    ck_assert(g_file_get_contents("/proc/self/mountinfo", &mountinfo, NULL, NULL));
    lines = g_strsplit(mountinfo, "\n", -1);
    for (guint i = 0; lines[i] != NULL; i++) {
        if (strstr(lines[i], needle) != NULL)
            return g_strdup(lines[i]);
    }
    return NULL;
}

static gboolean mounted(const char *path)
{
    g_autofree char *line = mountinfo_line(path);

    return line != NULL;
}

static void assert_not_ours(pid_t pid, const char *cmdline, gpointer data)
{
    const VmmConfig *config = data;
    g_autofree char *guest_arg = g_strdup_printf("guest=sc-%s,", config->name);

    ck_assert_msg(strstr(cmdline, guest_arg) == NULL, "QEMU left: %s", cmdline);
    ck_assert_msg(strstr(cmdline, config->run_dir) == NULL || pid == getpid(), "process left: %s",
                  cmdline);
}

/* No QEMU or virtiofsd of this pod, no mount, no file but the shared dir we made. */
static void assert_nothing_left(const VmmConfig *config)
{
    g_autoptr(GDir) run = NULL;
    const char *entry;

    vmm_test_foreach_process(assert_not_ours, (gpointer)config);
    if (config->shared_dir != NULL)
        ck_assert_msg(!mounted(config->shared_dir), "'%s' still mounted", config->shared_dir);
    run = g_dir_open(config->run_dir, 0, NULL);
    while (run != NULL && (entry = g_dir_read_name(run)) != NULL)
        ck_assert_msg(g_str_equal(entry, "shared"), "'%s' left in '%s'", entry, config->run_dir);
}

static void remove_run_dir(const VmmConfig *config)
{
    if (config->shared_dir != NULL)
        ck_assert_int_eq(g_rmdir(config->shared_dir), 0);
    ck_assert_int_eq(g_rmdir(config->run_dir), 0);
}

typedef struct {
    char *source_arg; /* "source=<shared dir>" */
    GArray *pids;
} VirtiofsdSearch;

static void add_virtiofsd(pid_t pid, const char *cmdline, gpointer data)
{
    VirtiofsdSearch *search = data;

    if (strstr(cmdline, "virtiofsd") != NULL && strstr(cmdline, search->source_arg) != NULL)
        g_array_append_val(search->pids, pid);
}

/* The virtiofsd processes serving @shared_dir: the one libvirt started, and the one that serves
 * the files, which it forked into namespaces of its own. */
static GArray *virtiofsd_pids(const char *shared_dir)
{
    VirtiofsdSearch search = {g_strdup_printf("source=%s", shared_dir),
                              g_array_new(FALSE, FALSE, sizeof(pid_t))};

    vmm_test_foreach_process(add_virtiofsd, &search);
    g_free(search.source_arg);
    return search.pids;
}

/* TRUE when a virtiofsd serving @shared_dir from a mount namespace of its own sees a mount
 * whose source is @source. */
static gboolean virtiofsd_sees(const char *shared_dir, const char *source)
{
    g_autoptr(GArray) pids = virtiofsd_pids(shared_dir);
    g_autofree char *own_ns = g_file_read_link("/proc/self/ns/mnt", NULL);

    for (guint i = 0; i < pids->len; i++) {
        pid_t pid = g_array_index(pids, pid_t, i);
        g_autofree char *ns_path = g_strdup_printf("/proc/%d/ns/mnt", pid);
        g_autofree char *info_path = g_strdup_printf("/proc/%d/mountinfo", pid);
        g_autofree char *ns = g_file_read_link(ns_path, NULL);
        g_autofree char *mountinfo = NULL;

        if (ns != NULL && g_strcmp0(ns, own_ns) != 0 &&
            g_file_get_contents(info_path, &mountinfo, NULL, NULL) &&
            strstr(mountinfo, source) != NULL)
            return TRUE;
    }
    return FALSE;
}

/* A mount made in the shared directory after boot reaches virtiofsd's own namespace. */
static void assert_mounts_propagate(const char *shared_dir)
{
    g_autofree char *probe = g_build_filename(shared_dir, "probe", NULL);
    gint64 deadline = g_get_monotonic_time() + G_USEC_PER_SEC;
    gboolean seen = FALSE;

    ck_assert_int_eq(g_mkdir(probe, 0700), 0);
    ck_assert_int_eq(mount("sc-vmm-probe", probe, "tmpfs", 0, "size=64k"), 0);
    while (!(seen = virtiofsd_sees(shared_dir, " sc-vmm-probe ")) &&
           g_get_monotonic_time() < deadline)
        g_usleep(20 * 1000);
    ck_assert_int_eq(umount2(probe, MNT_DETACH), 0);
    ck_assert_int_eq(g_rmdir(probe), 0);
    ck_assert_msg(seen, "a mount in '%s' did not reach virtiofsd", shared_dir);
}

/* The guest's RNG is the host's virtio-rng, so the guest has random bytes from the start: the
 * first container (which reads the device's name in sysfs) is also the first use of randomness
 * (json-c's hash seed in the agent). The share was mounted by the tag the domain XML gave it. */
static void assert_first_container_uses_virtio_rng(VmmDomain *domain, TtrpcClient *client,
                                                   const char *shared_dir)
{
    g_autofree char *out = NULL;
    guint32 status = 1;
    VmmTimings t;

    vmm_test_create_sandbox(client);
    out = vmm_test_run_first_container(
        client, shared_dir, "cat /sys/devices/virtual/misc/hw_random/rng_current", &status);
    vmm_domain_get_timings(domain, &t);
    fprintf(stderr, "boot: create to first container exited %.3f s\n",
            (g_get_monotonic_time() - t.created) / 1e6);
    ck_assert_uint_eq(status, 0);
    ck_assert_msg(g_str_has_prefix(out, "virtio_rng"), "guest rng_current: '%s'", out);
}

/* DestroySandbox powers the guest off (on_poweroff=destroy): the VM stops by itself. */
static void assert_power_off(VmmDomain *domain, TtrpcClient *client)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) reply = NULL;
    Secure__Agent__V1__DestroySandboxRequest request =
        SECURE__AGENT__V1__DESTROY_SANDBOX_REQUEST__INIT;
    Result stopped = {0};

    vmm_domain_set_lifecycle_func(domain, on_event, &stopped);
    /* The reply may be lost when the guest is faster to power off than to flush it. */
    reply = ttrpc_client_call_sync(client, secure__agent__v1__agent__descriptor.name,
                                   "DestroySandbox", &request.base, 30 * G_USEC_PER_SEC, &error);
    ck_assert_msg(reply != NULL || g_error_matches(error, TTRPC_ERROR, TTRPC_CODE_UNAVAILABLE),
                  "DestroySandbox: %s", error ? error->message : "");
    test_util_run_until(&stopped.done, 30 * G_USEC_PER_SEC);
    ck_assert_msg(stopped.done, "the VM did not stop after DestroySandbox");
    ck_assert_int_eq(stopped.event, VMM_EVENT_STOPPED);
    ck_assert(!vmm_domain_is_running(domain));
    result_clear(&stopped);
}

/* libvirt left @path alone: no ownership change remembered in trusted.libvirt.* xattrs (pods
 * share the kernel and initrd). */
/* libvirt left @path as it was (@before): no owner of a pod's, no reference-count xattrs. */
static void assert_untouched(const char *path, const struct stat *before)
{
    char names[4096];
    ssize_t len = listxattr(path, names, sizeof(names));
    struct stat now;

    ck_assert_int_eq(stat(path, &now), 0);
    ck_assert_msg(now.st_uid == before->st_uid && now.st_gid == before->st_gid &&
                      now.st_mode == before->st_mode,
                  "'%s' changed: %u:%u %o, was %u:%u %o", path, now.st_uid, now.st_gid, now.st_mode,
                  before->st_uid, before->st_gid, before->st_mode);

    ck_assert_msg(len >= 0, "listxattr '%s': %s", path, g_strerror(errno));
    for (ssize_t at = 0; at < len; at += strlen(names + at) + 1)
        ck_assert_msg(!g_str_has_prefix(names + at, "trusted.libvirt"), "'%s' has xattr %s", path,
                      names + at);
}

static char *proc_link(pid_t pid, const char *what)
{
    g_autofree char *path = pid > 0 ? g_strdup_printf("/proc/%d/%s", pid, what)
                                    : g_strdup_printf("/proc/thread-self/%s", what);
    char *target = g_file_read_link(path, NULL);

    ck_assert_msg(target != NULL, "readlink '%s'", path);
    return target;
}

/* Field @name of /proc/@pid/status ("Uid", "CapEff", ...), its value only. */
static char *status_field(pid_t pid, const char *name)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/status", pid);
    g_autofree char *text = NULL;
    g_autofree char *prefix = g_strdup_printf("\n%s:", name);
    const char *at;

    ck_assert_msg(g_file_get_contents(path, &text, NULL, NULL), "read %s", path);
    at = strstr(text, prefix);
    ck_assert_msg(at != NULL, "no %s in %s", name, path);
    at += strlen(prefix);
    return g_strstrip(g_strndup(at, strcspn(at, "\n")));
}

static void assert_status(pid_t pid, const char *name, const char *expected)
{
    g_autofree char *value = status_field(pid, name);

    ck_assert_msg(g_str_equal(value, expected), "pid %d: %s is '%s', not '%s'", pid, name, value,
                  expected);
}

/* QEMU runs as the pod's uid and gid with no capability and its seccomp sandbox (which brings
 * no_new_privs); virtiofsd serves the share confined (it stays root to act as the files'
 * owners). */
static void assert_confined(pid_t qemu, const char *shared_dir)
{
    g_autofree char *ids = g_strdup_printf("%u\t%u\t%u\t%u", TEST_QEMU_UID, TEST_QEMU_UID,
                                           TEST_QEMU_UID, TEST_QEMU_UID);
    g_autoptr(GArray) pids = virtiofsd_pids(shared_dir);
    g_autofree char *own_pid_ns = proc_link(0, "ns/pid");
    guint serving = 0;

    assert_status(qemu, "Uid", ids);
    assert_status(qemu, "Gid", ids);
    assert_status(qemu, "CapInh", "0000000000000000");
    assert_status(qemu, "CapPrm", "0000000000000000");
    assert_status(qemu, "CapEff", "0000000000000000");
    assert_status(qemu, "CapAmb", "0000000000000000");
    assert_status(qemu, "NoNewPrivs", "1");
    assert_status(qemu, "Seccomp", "2");
    /* The process that serves the files (in a pid namespace of its own; the other only waits)
     * has its seccomp filter, no_new_privs and an empty bounding set. */
    for (guint i = 0; i < pids->len; i++) {
        pid_t pid = g_array_index(pids, pid_t, i);
        g_autofree char *pid_ns = proc_link(pid, "ns/pid");

        if (g_str_equal(pid_ns, own_pid_ns))
            continue;
        assert_status(pid, "Seccomp", "2");
        assert_status(pid, "NoNewPrivs", "1");
        assert_status(pid, "CapBnd", "0000000000000000");
        serving++;
    }
    ck_assert_uint_eq(serving, 1);
}

static VmmDomain *start_vm(const VmmConfig *config)
{
    g_autoptr(GError) error = NULL;
    VmmDomain *domain = vmm_domain_start(config, &error);

    ck_assert_msg(domain != NULL, "%s", error ? error->message : "");
    return domain;
}

/* Destroys and frees *@domain, then checks that the pod left nothing behind. */
static void destroy_vm(VmmDomain **domain, const VmmConfig *config)
{
    g_autoptr(GError) error = NULL;

    ck_assert_msg(vmm_domain_destroy(*domain, &error), "%s", error ? error->message : "");
    ck_assert(!vmm_domain_is_running(*domain));
    ck_assert_int_eq(vmm_domain_get_pid(*domain), 0);
    g_clear_pointer(domain, vmm_domain_free);
    assert_nothing_left(config);
    remove_run_dir(config);
}

/* @agent_ready: when the probe's answer came. */
static void log_timings(VmmDomain *domain, const char *what, gint64 agent_ready)
{
    VmmTimings t;

    vmm_domain_get_timings(domain, &t);
    fprintf(stderr, "%s: libvirt create %.3f s, create to agent ready %.3f s\n", what,
            (t.created - t.start) / 1e6, (agent_ready - t.created) / 1e6);
}

START_TEST(test_boot_health_destroy)
{
    g_autoptr(GStringChunk) strings = g_string_chunk_new(256);
    g_autoptr(GError) error = NULL;
    g_autoptr(VmmDomain) domain = NULL;
    g_autoptr(GBytes) reply = NULL;
    Secure__Agent__V1__HealthRequest request = SECURE__AGENT__V1__HEALTH_REQUEST__INIT;
    Secure__Agent__V1__HealthResponse *health;
    Result r = {0};
    VmmConfig config;
    g_autofree char *exe_link = NULL;
    g_autofree char *exe = NULL;
    g_autofree char *line = NULL;
    struct stat kernel_before, initrd_before;

    test_config(&config, strings, "boot", "VMM_TEST_INITRD");
    add_shared_dir(&config, strings, VMM_SHARED_FS_VIRTIOFS);
    config.qemu_uid = config.qemu_gid = TEST_QEMU_UID;
    ck_assert_int_eq(stat(config.kernel, &kernel_before), 0);
    ck_assert_int_eq(stat(config.initrd, &initrd_before), 0);
    domain = start_vm(&config);
    assert_untouched(config.kernel, &kernel_before);
    assert_untouched(config.initrd, &initrd_before);
    assert_confined(vmm_domain_get_pid(domain), config.shared_dir);
    /* A shared mount, so what the shim mounts there later reaches virtiofsd. */
    line = mountinfo_line(config.shared_dir);
    ck_assert_msg(line != NULL && strstr(line, " shared:") != NULL, "%s", line);

    exe_link = g_strdup_printf("/proc/%d/exe", vmm_domain_get_pid(domain));
    exe = g_file_read_link(exe_link, NULL);
    ck_assert_msg(exe != NULL && g_str_has_suffix(exe, "qemu-system-x86_64"), "pid %d is %s",
                  vmm_domain_get_pid(domain), exe);

    wait_agent(domain, BOOT_TIMEOUT_US, &r);
    ck_assert(!r.done);
    test_util_run_until(&r.done, BOOT_TIMEOUT_US + G_USEC_PER_SEC);
    ck_assert_msg(r.done && r.error == NULL, "%s", r.error ? r.error->message : "no answer");
    log_timings(domain, "boot", r.when);
    assert_mounts_propagate(config.shared_dir);
    assert_kernel_release(r.kernel_release);
    ck_assert_uint_eq(r.agent_pid, 1);

    /* The client we were handed is live: ask again. */
    reply = ttrpc_client_call_sync(r.client, secure__agent__v1__agent__descriptor.name, "Health",
                                   &request.base, 10 * G_USEC_PER_SEC, &error);
    ck_assert_msg(reply != NULL, "%s", error ? error->message : "");
    health = secure__agent__v1__health_response__unpack(NULL, g_bytes_get_size(reply),
                                                        g_bytes_get_data(reply, NULL));
    ck_assert_ptr_nonnull(health);
    ck_assert_str_eq(health->kernel_release, r.kernel_release);
    secure__agent__v1__health_response__free_unpacked(health, NULL);

    assert_first_container_uses_virtio_rng(domain, r.client, config.shared_dir);
    assert_power_off(domain, r.client);
    result_clear(&r);
    destroy_vm(&domain, &config);
}
END_TEST

START_TEST(test_agent_never_answers)
{
    g_autoptr(GStringChunk) strings = g_string_chunk_new(256);
    g_autoptr(GError) error = NULL;
    g_autoptr(VmmDomain) domain = NULL;
    Result r = {0};
    VmmConfig config;

    test_config(&config, strings, "silent", "VMM_TEST_STUB_INITRD");
    add_shared_dir(&config, strings, VMM_SHARED_FS_9P);
    domain = start_vm(&config);
    wait_agent(domain, NEVER_TIMEOUT_US, &r);
    test_util_run_until(&r.done, NEVER_TIMEOUT_US + 5 * G_USEC_PER_SEC);
    ck_assert(r.done);
    ck_assert_ptr_null(r.client);
    ck_assert_msg(g_error_matches(r.error, VMM_ERROR, VMM_ERROR_TIMEOUT), "%s",
                  r.error ? r.error->message : "");
    /* The error quotes the console: the test init's line is there. */
    ck_assert_msg(strstr(r.error->message, "test-init: started") != NULL, "%s", r.error->message);
    result_clear(&r);
    destroy_vm(&domain, &config);
}
END_TEST

/* A VM @name of the test init (it never answers), with a virtio-fs share (virtiofsd runs) and its
 * lifecycle events going to @event. */
static VmmDomain *start_stub_vm(VmmConfig *config, GStringChunk *strings, const char *name,
                                Result *event)
{
    VmmDomain *domain;

    test_config(config, strings, name, "VMM_TEST_STUB_INITRD");
    add_shared_dir(config, strings, VMM_SHARED_FS_VIRTIOFS);
    domain = start_vm(config);
    vmm_domain_set_lifecycle_func(domain, on_event, event);
    return domain;
}

START_TEST(test_qemu_killed_from_outside)
{
    g_autoptr(GStringChunk) strings = g_string_chunk_new(256);
    g_autoptr(GError) error = NULL;
    g_autoptr(VmmDomain) domain = NULL;
    Result event = {0}, agent = {0};
    VmmConfig config;
    gint64 killed;

    domain = start_stub_vm(&config, strings, "killed", &event);
    wait_agent(domain, NEVER_TIMEOUT_US, &agent);
    test_util_run_for(G_USEC_PER_SEC);
    ck_assert(!event.done && !agent.done);

    killed = g_get_monotonic_time();
    ck_assert_int_eq(kill(vmm_domain_get_pid(domain), SIGKILL), 0);
    test_util_run_until(&event.done, 5 * G_USEC_PER_SEC);
    ck_assert_msg(event.done, "no lifecycle event within 5 s");
    ck_assert_int_eq(event.event, VMM_EVENT_STOPPED);
    fprintf(stderr, "killed: lifecycle event after %.3f s (%s)\n", (event.when - killed) / 1e6,
            event.detail);
    ck_assert_int_lt(event.when - killed, EVENT_MAX_US);
    ck_assert(!vmm_domain_is_running(domain));
    ck_assert_int_eq(vmm_domain_get_pid(domain), 0);

    test_util_run_until(&agent.done, G_USEC_PER_SEC);
    ck_assert(g_error_matches(agent.error, VMM_ERROR, VMM_ERROR_STOPPED));
    result_clear(&event);
    result_clear(&agent);
    destroy_vm(&domain, &config);
}
END_TEST

typedef struct {
    guint ticks;
    const gboolean *until; /* counting stops once it is TRUE */
} Ticker;

static gboolean count_tick(gpointer data)
{
    Ticker *ticker = data;

    if (!*ticker->until)
        ticker->ticks++;
    return G_SOURCE_CONTINUE;
}

static void on_stopped(VmmDomain *domain, const GError *error, gpointer data)
{
    Result *r = data;

    (void)domain;
    r->done = TRUE;
    r->when = g_get_monotonic_time();
    r->error = error != NULL ? g_error_copy(error) : NULL;
}

/* vmm_domain_stop() waits for QEMU and virtiofsd on their pidfds from the main context: a
 * timeout source keeps being dispatched until the VM is gone, which then is gone entirely; the
 * stop is no lifecycle event. */
START_TEST(test_stop_serves_loop)
{
    g_autoptr(GStringChunk) strings = g_string_chunk_new(256);
    g_autoptr(VmmDomain) domain = NULL;
    Result event = {0}, stopped = {0};
    Ticker ticker = {.until = &stopped.done};
    guint tick_id;
    VmmConfig config;

    domain = start_stub_vm(&config, strings, "stop", &event);
    test_util_run_for(G_USEC_PER_SEC);
    tick_id = g_timeout_add(1, count_tick, &ticker);
    vmm_domain_stop(domain, on_stopped, &stopped);
    ck_assert(!stopped.done);
    ck_assert(!vmm_domain_is_running(domain));
    test_util_run_until(&stopped.done, 10 * G_USEC_PER_SEC);
    g_source_remove(tick_id);
    ck_assert_msg(stopped.done, "the stop did not complete within 10 s");
    ck_assert_msg(stopped.error == NULL, "%s", stopped.error->message);
    /* A stop that blocked would leave room for one tick at most, in the iteration that reports
     * it. */
    ck_assert_msg(ticker.ticks >= 2, "the main context dispatched %u ticks while the VM stopped",
                  ticker.ticks);
    ck_assert_int_eq(vmm_domain_get_pid(domain), 0);
    test_util_run_for(G_USEC_PER_SEC / 2);
    ck_assert_msg(!event.done, "a lifecycle event for the stop: %s", event.detail);
    result_clear(&event);
    result_clear(&stopped);
    destroy_vm(&domain, &config);
}
END_TEST

START_TEST(test_guest_panic)
{
    g_autoptr(GStringChunk) strings = g_string_chunk_new(256);
    g_autoptr(VmmDomain) domain = NULL;
    Result panicked = {0}, stopped = {0};
    VmmConfig config;

    test_config(&config, strings, "panic", "VMM_TEST_STUB_INITRD");
    config.kernel_params = "sc_test_panic";
    domain = start_vm(&config);
    vmm_domain_set_lifecycle_func(domain, on_event, &panicked);
    test_util_run_until(&panicked.done, BOOT_TIMEOUT_US);
    ck_assert_msg(panicked.done, "no lifecycle event");
    ck_assert_msg(panicked.event == VMM_EVENT_PANICKED, "event %d (%s)", panicked.event,
                  panicked.detail);
    /* on_crash=destroy: the VM then stops by itself. */
    vmm_domain_set_lifecycle_func(domain, on_event, &stopped);
    test_util_run_until(&stopped.done, 10 * G_USEC_PER_SEC);
    ck_assert(stopped.done && stopped.event != VMM_EVENT_PANICKED);
    ck_assert(!vmm_domain_is_running(domain));
    result_clear(&panicked);
    result_clear(&stopped);
    destroy_vm(&domain, &config);
}
END_TEST

/* A process that started a VM and died without cleaning up: the next start (or delete) finds
 * its QEMU and virtiofsd by their command lines and removes everything. */
START_TEST(test_stale_cleanup)
{
    g_autoptr(GStringChunk) strings = g_string_chunk_new(256);
    g_autoptr(GError) error = NULL;
    VmmConfig config;
    int fds[2];
    pid_t child, qemu = 0;
    int status;

    test_config(&config, strings, "stale", "VMM_TEST_STUB_INITRD");
    add_shared_dir(&config, strings, VMM_SHARED_FS_VIRTIOFS);
    ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
    child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        VmmDomain *domain = vmm_domain_start(&config, NULL);
        pid_t pid = domain != NULL ? vmm_domain_get_pid(domain) : 0;

        _exit(write(fds[1], &pid, sizeof(pid)) == sizeof(pid) ? 0 : 1);
    }
    close(fds[1]);
    ck_assert_int_eq(read(fds[0], &qemu, sizeof(qemu)), sizeof(qemu));
    close(fds[0]);
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert_int_gt(qemu, 0);
    ck_assert_msg(kill(qemu, 0) == 0, "QEMU %d should outlive its starter", qemu);
    ck_assert(mounted(config.shared_dir));

    ck_assert_msg(vmm_cleanup_stale(&config, &error), "%s", error ? error->message : "");
    assert_nothing_left(&config);
    /* Idempotent. */
    ck_assert(vmm_cleanup_stale(&config, &error));
    remove_run_dir(&config);
}
END_TEST

START_TEST(test_missing_kernel)
{
    g_autoptr(GStringChunk) strings = g_string_chunk_new(256);
    g_autoptr(GError) error = NULL;
    VmmDomain *domain;
    VmmConfig config;

    test_config(&config, strings, "nokernel", "VMM_TEST_STUB_INITRD");
    config.kernel = "/nonexistent/vmlinux";
    domain = vmm_domain_start(&config, &error);
    ck_assert_ptr_null(domain);
    ck_assert(g_error_matches(error, VMM_ERROR, VMM_ERROR_NOT_FOUND));
    ck_assert_msg(strstr(error->message, "'/nonexistent/vmlinux'") != NULL, "%s", error->message);
    /* Nothing was started or created, and cleaning up nothing is fine. */
    ck_assert(!g_file_test(config.run_dir, G_FILE_TEST_EXISTS));
    assert_nothing_left(&config);
    g_clear_error(&error);
    ck_assert_msg(vmm_cleanup_stale(&config, &error), "%s", error ? error->message : "");
    ck_assert(!g_file_test(config.run_dir, G_FILE_TEST_EXISTS));
}
END_TEST

/* The pod network of test_nic_in_netns: a namespace named after this run (the cleanup removes
 * it after a failed test), a tap in it, and the guest NIC on that tap. */
#define NET_TAP "sctap0"
#define NET_MAC "02:53:43:00:fa:02"
#define NET_GUEST_IP "10.213.250.2"
#define NET_HOST_IP "10.213.250.1"
#define NET_GUEST_IP6 "fd00:213:250::2"
/* A host address outside the guest's subnet: the guest reaches it only through its default
 * route (via NET_HOST_IP). */
#define NET_FAR_IP "10.213.251.1"
#define NET_MTU 1400
#define PING_DEADLINE_US (60 * G_USEC_PER_SEC)

static char net_ns_name[64];

/* Runs @argv (searched in PATH); its output goes to our stderr. */
static gboolean run_quiet(const char *const *argv)
{
    int status = -1;

    return g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                        NULL, NULL, NULL, NULL, &status, NULL) &&
           g_spawn_check_wait_status(status, NULL);
}

static void run_ok(const char *const *argv)
{
    g_autofree char *line = g_strjoinv(" ", (char **)argv);

    ck_assert_msg(run_quiet(argv), "'%s' failed", line);
}

#define RUN(...) run_ok((const char *const[]){__VA_ARGS__, NULL})

/* "net:[INODE]" of the namespace file @path, as /proc/PID/ns/net reads. */
static char *netns_id(const char *path)
{
    struct stat st;

    ck_assert_msg(stat(path, &st) == 0, "stat '%s': %s", path, g_strerror(errno));
    return g_strdup_printf("net:[%lu]", (unsigned long)st.st_ino);
}

/* virtiofsd's own sandbox gives it a network namespace of its own (it needs none), so the
 * namespace it was started in does not matter. */
static void assert_virtiofsd_isolated(const char *shared_dir, const char *netns_path)
{
    g_autoptr(GArray) pids = virtiofsd_pids(shared_dir);
    g_autofree char *host_ns = proc_link(0, "ns/net");
    g_autofree char *pod_ns = netns_id(netns_path);

    ck_assert_uint_gt(pids->len, 0);
    for (guint i = 0; i < pids->len; i++) {
        pid_t pid = g_array_index(pids, pid_t, i);
        g_autofree char *ns = proc_link(pid, "ns/net");

        ck_assert_msg(g_strcmp0(ns, host_ns) != 0 && g_strcmp0(ns, pod_ns) != 0,
                      "virtiofsd %d in %s (host %s, pod %s)", pid, ns, host_ns, pod_ns);
    }
}

/* QEMU runs in the pod's namespace and got the tap as an open fd. */
static void assert_qemu_on_tap(VmmDomain *domain, const char *netns_path)
{
    pid_t pid = vmm_domain_get_pid(domain);
    g_autofree char *want = netns_id(netns_path);
    g_autofree char *ns = proc_link(pid, "ns/net");
    g_autofree char *cmdline_path = g_strdup_printf("/proc/%d/cmdline", pid);
    g_autofree char *cmdline = NULL;
    gsize len = 0;

    ck_assert_str_eq(ns, want);
    ck_assert(g_file_get_contents(cmdline_path, &cmdline, &len, NULL));
    for (gsize i = 0; i + 1 < len; i++)
        cmdline[i] = cmdline[i] == '\0' ? ' ' : cmdline[i];
    ck_assert_msg(strstr(cmdline, "\"type\":\"tap\",\"fd\":") != NULL ||
                      strstr(cmdline, "tap,fd=") != NULL,
                  "no tap netdev: %s", cmdline);
    ck_assert_msg(strstr(cmdline, NET_MAC) != NULL, "no NIC with MAC " NET_MAC ": %s", cmdline);
}

static ProtobufCMessage *agent_call(TtrpcClient *client, const char *method,
                                    const ProtobufCMessage *request,
                                    const ProtobufCMessageDescriptor *reply_desc)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) reply =
        ttrpc_client_call_sync(client, secure__agent__v1__agent__descriptor.name, method, request,
                               30 * G_USEC_PER_SEC, &error);
    ProtobufCMessage *message;

    ck_assert_msg(reply != NULL, "%s: %s", method, error ? error->message : "");
    message = protobuf_c_message_unpack(reply_desc, NULL, g_bytes_get_size(reply),
                                        g_bytes_get_data(reply, NULL));
    ck_assert_msg(message != NULL, "%s: undecodable reply", method);
    return message;
}

static void agent_call_empty(TtrpcClient *client, const char *method,
                             const ProtobufCMessage *request)
{
    protobuf_c_message_free_unpacked(
        agent_call(client, method, request, &google__protobuf__empty__descriptor), NULL);
}

/* The guest NIC (found by its MAC) becomes eth0 with NET_GUEST_IP/24, NET_GUEST_IP6/64,
 * NET_MTU and default routes via the host's end. */
static void configure_guest_nic(TtrpcClient *client)
{
    Secure__Agent__V1__IPAddress address = SECURE__AGENT__V1__IPADDRESS__INIT;
    Secure__Agent__V1__IPAddress address6 = SECURE__AGENT__V1__IPADDRESS__INIT;
    Secure__Agent__V1__IPAddress *addresses[] = {&address, &address6};
    Secure__Agent__V1__Interface iface = SECURE__AGENT__V1__INTERFACE__INIT;
    Secure__Agent__V1__UpdateInterfaceRequest update =
        SECURE__AGENT__V1__UPDATE_INTERFACE_REQUEST__INIT;
    Secure__Agent__V1__Route link_route = SECURE__AGENT__V1__ROUTE__INIT;
    Secure__Agent__V1__Route default_route = SECURE__AGENT__V1__ROUTE__INIT;
    /* The default route first: the agent still adds the gateway-less one before it. */
    Secure__Agent__V1__Route link_route6 = SECURE__AGENT__V1__ROUTE__INIT;
    Secure__Agent__V1__Route default_route6 = SECURE__AGENT__V1__ROUTE__INIT;
    Secure__Agent__V1__Route *routes[] = {&default_route, &link_route, &default_route6,
                                          &link_route6};
    Secure__Agent__V1__UpdateRoutesRequest update_routes =
        SECURE__AGENT__V1__UPDATE_ROUTES_REQUEST__INIT;

    address.address = NET_GUEST_IP;
    address.prefix_len = 24;
    address6.address = NET_GUEST_IP6;
    address6.prefix_len = 64;
    iface.mac = NET_MAC;
    iface.name = "eth0";
    iface.mtu = NET_MTU;
    iface.addresses = addresses;
    iface.n_addresses = G_N_ELEMENTS(addresses);
    update.interface = &iface;
    agent_call_empty(client, "UpdateInterface", &update.base);

    link_route.destination = "10.213.250.0/24";
    link_route.device = "eth0";
    link_route.scope = 253; /* RT_SCOPE_LINK */
    link_route.family = 4;
    default_route.gateway = NET_HOST_IP;
    default_route.device = "eth0";
    default_route.family = 4;
    link_route6.destination = "fd00:213:250::/64";
    link_route6.device = "eth0";
    link_route6.family = 6;
    default_route6.gateway = "fd00:213:250::1";
    default_route6.device = "eth0";
    default_route6.family = 6;
    update_routes.routes = routes;
    update_routes.n_routes = G_N_ELEMENTS(routes);
    agent_call_empty(client, "UpdateRoutes", &update_routes.base);
    /* Again: routes that exist already are fine. */
    agent_call_empty(client, "UpdateRoutes", &update_routes.base);
}

static gboolean has_address(const Secure__Agent__V1__Interface *iface, const char *address,
                            guint prefix_len)
{
    for (gsize i = 0; i < iface->n_addresses; i++) {
        if (g_str_equal(iface->addresses[i]->address, address) &&
            iface->addresses[i]->prefix_len == prefix_len)
            return TRUE;
    }
    return FALSE;
}

/* What ListInterfaces says about eth0 and lo. */
static void assert_guest_nic(TtrpcClient *client)
{
    Secure__Agent__V1__ListInterfacesRequest request =
        SECURE__AGENT__V1__LIST_INTERFACES_REQUEST__INIT;
    Secure__Agent__V1__ListInterfacesResponse *list =
        (void *)agent_call(client, "ListInterfaces", &request.base,
                           &secure__agent__v1__list_interfaces_response__descriptor);
    gboolean eth0 = FALSE, lo = FALSE;

    for (gsize i = 0; i < list->n_interfaces; i++) {
        const Secure__Agent__V1__InterfaceState *state = list->interfaces[i];
        const Secure__Agent__V1__Interface *iface = state->interface;

        fprintf(stderr, "guest interface %s %s mtu %u %s, %zu addresses\n", iface->name, iface->mac,
                iface->mtu, state->up ? "up" : "down", iface->n_addresses);
        if (g_str_equal(iface->name, "lo"))
            lo = state->up;
        if (!g_str_equal(iface->name, "eth0"))
            continue;
        eth0 = TRUE;
        ck_assert_str_eq(iface->mac, NET_MAC);
        ck_assert_uint_eq(iface->mtu, NET_MTU);
        ck_assert(state->up);
        ck_assert(has_address(iface, NET_GUEST_IP, 24));
        ck_assert(has_address(iface, NET_GUEST_IP6, 64));
    }
    secure__agent__v1__list_interfaces_response__free_unpacked(list, NULL);
    ck_assert_msg(eth0, "no eth0 in the guest");
    ck_assert_msg(lo, "lo is not up in the guest");
}

/* Pings @target from @source inside the pod's namespace until it answers or the deadline. */
static gboolean ping_from_netns(const char *source, const char *target)
{
    gint64 deadline = g_get_monotonic_time() + PING_DEADLINE_US;

    do {
        if (run_quiet((const char *const[]){"ip", "netns", "exec", net_ns_name, "busybox", "ping",
                                            "-c", "1", "-W", "2", "-I", source, target, NULL}))
            return TRUE;
    } while (g_get_monotonic_time() < deadline);
    return FALSE;
}

/* The tap's end in the namespace reaches the guest: directly on the subnet, and from an
 * address off it (the reply takes the guest's default route). */
static void assert_ping(void)
{
    RUN("ip", "-n", net_ns_name, "link", "set", NET_TAP, "up");
    RUN("ip", "-n", net_ns_name, "addr", "add", NET_HOST_IP "/24", "dev", NET_TAP);
    RUN("ip", "-n", net_ns_name, "addr", "add", NET_FAR_IP "/32", "dev", NET_TAP);
    ck_assert_msg(ping_from_netns(NET_HOST_IP, NET_GUEST_IP), "the guest does not answer ping");
    ck_assert_msg(ping_from_netns(NET_FAR_IP, NET_GUEST_IP),
                  "no answer to " NET_FAR_IP ": the guest's default route is missing");
}

/* `ip -o link show` of the tap: its flags and MAC. */
static char *tap_link(void)
{
    char *out = NULL;
    int status = -1;

    ck_assert(g_spawn_sync(NULL,
                           (char *[]){"ip", "-n", net_ns_name, "-o", "link", "show", NET_TAP, NULL},
                           NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, NULL, &status, NULL) &&
              g_spawn_check_wait_status(status, NULL));
    return out;
}

/* libvirt 9.0 with managed='no' opens the tap and changes nothing else: it stays down, with the
 * MAC it had (setting it up is the caller's job). */
static void assert_tap_untouched(const char *before)
{
    g_autofree char *after = tap_link();
    const char *mac_before = strstr(before, "link/ether ");
    const char *mac_after = strstr(after, "link/ether ");

    ck_assert_msg(strstr(after, "<UP") == NULL && strstr(after, ",UP") == NULL, "%s", after);
    ck_assert(mac_before != NULL && mac_after != NULL);
    ck_assert_msg(strncmp(mac_before, mac_after, strlen("link/ether aa:bb:cc:dd:ee:ff")) == 0,
                  "tap MAC changed: %s -> %s", before, after);
}

/* A NIC on a tap made in a network namespace: libvirt opens the tap from inside it (only for
 * the create call), the guest agent names and addresses the NIC, and the host side pings it. */
START_TEST(test_nic_in_netns)
{
    g_autoptr(GStringChunk) strings = g_string_chunk_new(256);
    g_autoptr(VmmDomain) domain = NULL;
    g_autofree char *netns_path = g_build_filename("/run/netns", net_ns_name, NULL);
    g_autofree char *own_ns = proc_link(0, "ns/net");
    g_autofree char *ns_after = NULL;
    g_autofree char *tap_before = NULL;
    const VmmNic nic = {NET_TAP, NET_MAC};
    Result r = {0};
    VmmConfig config;

    RUN("ip", "netns", "add", net_ns_name);
    RUN("ip", "-n", net_ns_name, "tuntap", "add", "dev", NET_TAP, "mode", "tap");
    test_config(&config, strings, "net", "VMM_TEST_INITRD");
    add_shared_dir(&config, strings, VMM_SHARED_FS_VIRTIOFS);
    config.netns = netns_path;
    config.nics = &nic;
    config.n_nics = 1;
    tap_before = tap_link();
    domain = start_vm(&config);
    assert_tap_untouched(tap_before);
    ns_after = proc_link(0, "ns/net");
    ck_assert_str_eq(ns_after, own_ns);
    assert_qemu_on_tap(domain, netns_path);
    assert_virtiofsd_isolated(config.shared_dir, netns_path);

    wait_agent(domain, BOOT_TIMEOUT_US, &r);
    test_util_run_until(&r.done, BOOT_TIMEOUT_US + G_USEC_PER_SEC);
    ck_assert_msg(r.done && r.error == NULL, "%s", r.error ? r.error->message : "no answer");
    configure_guest_nic(r.client);
    assert_guest_nic(r.client);
    assert_ping();
    result_clear(&r);
    destroy_vm(&domain, &config);
    /* managed='no': libvirt leaves the tap to whoever made it. */
    RUN("ip", "-n", net_ns_name, "link", "show", NET_TAP);
    RUN("ip", "netns", "del", net_ns_name);
}
END_TEST

/* A namespace file that does not exist: nothing starts, and this thread stays where it was. */
START_TEST(test_missing_netns)
{
    g_autoptr(GStringChunk) strings = g_string_chunk_new(256);
    g_autoptr(GError) error = NULL;
    const VmmNic nic = {NET_TAP, NET_MAC};
    VmmConfig config;

    test_config(&config, strings, "nonet", "VMM_TEST_STUB_INITRD");
    config.netns = "/run/netns/sc-vmm-test-none";
    config.nics = &nic;
    config.n_nics = 1;
    ck_assert_ptr_null(vmm_domain_start(&config, &error));
    ck_assert(g_error_matches(error, VMM_ERROR, VMM_ERROR_NOT_FOUND));
    ck_assert_msg(strstr(error->message, "'/run/netns/sc-vmm-test-none'") != NULL, "%s",
                  error->message);
    assert_nothing_left(&config);
}
END_TEST

/* Hot-plug: a 256 MiB, 1-vCPU guest that can grow to 1 GiB and 2 vCPUs. */
#define HOTPLUG_BOOT_MIB 256
#define HOTPLUG_MAX_MIB 1024
#define HOTPLUG_PLUG_MIB 256
/* The agent's own deadline for hot-plugged resources to come online. */
#define ONLINE_TIMEOUT_MS (20 * 1000)
#define UNPLUG_TIMEOUT_US (60 * G_USEC_PER_SEC)

/* A hot-plug call that returned @ok was refused for its range, and said so quoting @quoted. */
static void assert_out_of_range(gboolean ok, GError **error, const char *quoted)
{
    ck_assert(!ok);
    ck_assert_msg(g_error_matches(*error, VMM_ERROR, VMM_ERROR_INVALID_CONFIG), "%s",
                  *error != NULL ? (*error)->message : "no error");
    ck_assert_msg(strstr((*error)->message, quoted) != NULL, "'%s' not in '%s'", quoted,
                  (*error)->message);
    g_clear_error(error);
}

/* The guest kernel keeps no SWIOTLB bounce buffer although memory can now sit above 4 GiB. */
static void assert_no_swiotlb(const char *console_log)
{
    g_autofree char *log = NULL;

    ck_assert(g_file_get_contents(console_log, &log, NULL, NULL));
    ck_assert_msg(strstr(log, "Run /init") != NULL, "no boot messages on the console");
    ck_assert_msg(strstr(log, "software IO TLB: mapped") == NULL, "the guest mapped a SWIOTLB");
}

/* virtiofsd maps all guest memory: the virtio-mem device's backend (libvirt names it "mem"
 * + the alias) is shared too. */
static void assert_device_memory_shared(pid_t qemu)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/cmdline", qemu);
    g_autofree char *cmdline = NULL;
    gsize len = 0;
    const char *backend = NULL;

    ck_assert(g_file_get_contents(path, &cmdline, &len, NULL));
    for (const char *arg = cmdline; arg < cmdline + len; arg += strlen(arg) + 1) {
        if (strstr(arg, "memory-backend") != NULL &&
            strstr(arg, "\"mem" VMM_MEMORY_DEVICE_ALIAS "\"") != NULL)
            backend = arg;
    }
    ck_assert_msg(backend != NULL, "no memory backend for the virtio-mem device");
    ck_assert_msg(strstr(backend, "\"share\":true") != NULL, "%s", backend);
}

/* The ends of QEMU's log (libvirt's, in the embed root) and of the guest console, for a failure
 * message: why QEMU went away, if it did. */
static char *vm_log_tails(const VmmConfig *config, VmmDomain *domain)
{
    g_autofree char *name = vmm_config_domain_name(config);
    g_autofree char *qemu_path =
        g_strdup_printf("%s/libvirt/log/qemu/%s.log", config->run_dir, name);
    g_autofree char *qemu = NULL;
    g_autofree char *console = NULL;
    gsize qlen = 0, clen = 0;

    g_file_get_contents(qemu_path, &qemu, &qlen, NULL);
    g_file_get_contents(vmm_domain_get_console_log(domain), &console, &clen, NULL);
    return g_strdup_printf("\n--- %s, end:\n%s\n--- console, end:\n%s", qemu_path,
                           qemu ? qemu + (qlen > 1500 ? qlen - 1500 : 0) : "(none)",
                           console ? console + (clen > 1500 ? clen - 1500 : 0) : "(none)");
}

/* Memory and a vCPU plugged into a booted guest come online (the agent says so), the share
 * still works, and out-of-range requests change nothing; the memory then goes back. */
START_TEST(test_hotplug)
{
    g_autoptr(GStringChunk) strings = g_string_chunk_new(256);
    g_autoptr(GError) error = NULL;
    g_autoptr(VmmDomain) domain = NULL;
    g_autoptr(VmmTestResources) before = NULL;
    g_autoptr(VmmTestResources) after = NULL;
    g_autofree char *out = NULL;
    guint32 status = 1;
    Result r = {0};
    VmmConfig config;
    guint64 left;
    gint64 asked;

    test_config(&config, strings, "hotplug", "VMM_TEST_INITRD");
    add_shared_dir(&config, strings, VMM_SHARED_FS_VIRTIOFS);
    config.memory_mib = HOTPLUG_BOOT_MIB;
    config.max_memory_mib = HOTPLUG_MAX_MIB;
    config.max_vcpus = 2;
    /* The boot messages that assert_no_swiotlb() looks for (the domain's cmdline is quiet). */
    config.kernel_params = "loglevel=7";
    domain = start_vm(&config);
    wait_agent(domain, BOOT_TIMEOUT_US, &r);
    test_util_run_until(&r.done, BOOT_TIMEOUT_US + G_USEC_PER_SEC);
    ck_assert_msg(r.done && r.error == NULL, "%s", r.error ? r.error->message : "no answer");
    assert_no_swiotlb(vmm_domain_get_console_log(domain));
    before = vmm_test_online_resources(r.client, 1, 0, ONLINE_TIMEOUT_MS);
    ck_assert_uint_eq(before->cpus_online, 1);
    ck_assert_uint_eq(vmm_domain_get_memory(domain), HOTPLUG_BOOT_MIB);
    ck_assert_uint_eq(vmm_domain_get_vcpus(domain), 1);

    asked = g_get_monotonic_time();
    if (!vmm_domain_set_memory(domain, HOTPLUG_BOOT_MIB + HOTPLUG_PLUG_MIB, &error) ||
        !vmm_domain_set_vcpus(domain, 2, &error)) {
        g_autofree char *tails = vm_log_tails(&config, domain);
        ck_abort_msg("%s%s", error->message, tails);
    }
    after = vmm_test_online_resources(r.client, 2, HOTPLUG_PLUG_MIB, ONLINE_TIMEOUT_MS);
    fprintf(stderr,
            "hotplug: +%u MiB and +1 vCPU to online %.3f s (MemTotal %" G_GUINT64_FORMAT
            " -> %" G_GUINT64_FORMAT " KiB)\n",
            HOTPLUG_PLUG_MIB, (g_get_monotonic_time() - asked) / 1e6,
            before->memory_total_bytes / 1024, after->memory_total_bytes / 1024);
    ck_assert_uint_eq(after->cpus_online, 2);
    ck_assert_uint_ge(after->memory_total_bytes - after->boot_memory_total_bytes,
                      HOTPLUG_PLUG_MIB * 1024 * 1024);
    ck_assert_uint_eq(vmm_domain_get_memory(domain), HOTPLUG_BOOT_MIB + HOTPLUG_PLUG_MIB);
    ck_assert_uint_eq(vmm_domain_get_vcpus(domain), 2);

    assert_out_of_range(vmm_domain_set_memory(domain, HOTPLUG_MAX_MIB + 1, &error), &error,
                        "memory 1025 MiB is above the VM's maximum of 1024 MiB");
    assert_out_of_range(vmm_domain_set_memory(domain, HOTPLUG_BOOT_MIB - 1, &error), &error,
                        "memory 255 MiB is below the VM's boot memory of 256 MiB");
    assert_out_of_range(vmm_domain_set_vcpus(domain, 3, &error), &error, "3 vCPUs out of range");
    ck_assert_uint_eq(vmm_domain_get_memory(domain), HOTPLUG_BOOT_MIB + HOTPLUG_PLUG_MIB);
    ck_assert_uint_eq(vmm_domain_get_vcpus(domain), 2);

    /* The share still works, with the guest's page cache now mostly in the plugged memory
     * (ZONE_MOVABLE is where the kernel puts it first). */
    assert_device_memory_shared(vmm_domain_get_pid(domain));
    vmm_test_create_sandbox(r.client);
    out = vmm_test_run_first_container(
        r.client, config.shared_dir, "head -c 67108864 /dev/zero >/probe && sync /probe", &status);
    ck_assert_uint_eq(status, 0);

    /* The plugged memory is all in ZONE_MOVABLE (far below the auto-movable ratio), so all of
     * it can go back. */
    asked = g_get_monotonic_time();
    ck_assert_msg(vmm_domain_set_memory(domain, HOTPLUG_BOOT_MIB, &error), "%s",
                  error ? error->message : "");
    left = vmm_test_wait_memory_returned(r.client, 2, UNPLUG_TIMEOUT_US);
    fprintf(stderr, "hotplug: -%u MiB to MemTotal back at boot's %.3f s\n", HOTPLUG_PLUG_MIB,
            (g_get_monotonic_time() - asked) / 1e6);
    ck_assert_msg(left == 0, "MemTotal still %" G_GUINT64_FORMAT " MiB above boot's", left);
    result_clear(&r);
    destroy_vm(&domain, &config);
}
END_TEST

/* The ranges, on a guest that never answers (the calls do not wait for it): vCPUs only grow,
 * memory stays in boot..boot + whole blocks of the device, and a stopped VM takes nothing. */
START_TEST(test_hotplug_ranges)
{
    g_autoptr(GStringChunk) strings = g_string_chunk_new(256);
    g_autoptr(GError) error = NULL;
    g_autoptr(VmmDomain) domain = NULL;
    g_autofree char *xml = NULL;
    VmmConfig config;

    test_config(&config, strings, "ranges", "VMM_TEST_STUB_INITRD");
    config.memory_mib = HOTPLUG_BOOT_MIB;
    config.max_memory_mib = HOTPLUG_BOOT_MIB + 45; /* a device of 44 MiB */
    config.vcpus = 2;
    config.max_vcpus = 4;
    domain = start_vm(&config);

    assert_out_of_range(vmm_domain_set_vcpus(domain, 1, &error), &error,
                        "1 vCPUs out of range: 2..4");
    ck_assert_msg(vmm_domain_set_vcpus(domain, 3, &error), "%s", error ? error->message : "");
    ck_assert_int_eq(virDomainGetVcpusFlags(domain->dom, VIR_DOMAIN_AFFECT_LIVE), 3);
    assert_out_of_range(vmm_domain_set_vcpus(domain, 2, &error), &error,
                        "2 vCPUs out of range: 3..4");
    assert_out_of_range(vmm_domain_set_vcpus(domain, 5, &error), &error,
                        "5 vCPUs out of range: 3..4");
    ck_assert_int_eq(virDomainGetVcpusFlags(domain->dom, VIR_DOMAIN_AFFECT_LIVE), 3);
    ck_assert_uint_eq(vmm_domain_get_vcpus(domain), 3);

    /* 1 MiB more is a whole 2 MiB block. */
    ck_assert_msg(vmm_domain_set_memory(domain, HOTPLUG_BOOT_MIB + 1, &error), "%s",
                  error ? error->message : "");
    ck_assert_uint_eq(vmm_domain_get_memory(domain), HOTPLUG_BOOT_MIB + 2);
    xml = virDomainGetXMLDesc(domain->dom, 0);
    ck_assert_msg(strstr(xml, "<requested unit='KiB'>2048</requested>") != NULL, "%s", xml);
    assert_out_of_range(vmm_domain_set_memory(domain, HOTPLUG_BOOT_MIB + 45, &error), &error,
                        "memory 301 MiB is above the VM's maximum of 300 MiB");
    ck_assert_uint_eq(vmm_domain_get_memory(domain), HOTPLUG_BOOT_MIB + 2);

    ck_assert_msg(vmm_domain_destroy(domain, &error), "%s", error ? error->message : "");
    ck_assert(!vmm_domain_set_vcpus(domain, 4, &error));
    ck_assert_msg(g_error_matches(error, VMM_ERROR, VMM_ERROR_STOPPED), "%s", error->message);
    g_clear_error(&error);
    ck_assert(!vmm_domain_set_memory(domain, HOTPLUG_BOOT_MIB, &error));
    ck_assert_msg(g_error_matches(error, VMM_ERROR, VMM_ERROR_STOPPED), "%s", error->message);
    destroy_vm(&domain, &config);
}
END_TEST

static gboolean env_file(const char *name)
{
    const char *path = g_getenv(name);

    return path != NULL && g_file_test(path, G_FILE_TEST_IS_REGULAR);
}

/* After the run: every pod directory still there belongs to a failed test. Stop what it left
 * (the boot test's probe mount first). */
static gboolean clean_up_pods(const char *dir)
{
    g_autoptr(GDir) entries = g_dir_open(dir, 0, NULL);
    g_autofree char *netns_path = g_build_filename("/run/netns", net_ns_name, NULL);
    const char *entry;
    gboolean clean;

    while (entries != NULL && (entry = g_dir_read_name(entries)) != NULL) {
        g_autofree char *probe = g_build_filename(dir, entry, "shared", "probe", NULL);

        umount2(probe, MNT_DETACH);
    }
    clean = vmm_test_clean_up_pods(dir);
    /* After the VMs: QEMU may still hold the tap. */
    if (g_file_test(netns_path, G_FILE_TEST_EXISTS)) {
        fprintf(stderr, "test-vmm-vm: network namespace '%s' was left\n", net_ns_name);
        run_quiet((const char *const[]){"ip", "netns", "del", net_ns_name, NULL});
        clean = FALSE;
    }
    return clean;
}

int main(void)
{
    g_autofree char *ip = g_find_program_in_path("ip");
    const TTest *const tests[] = {
        test_missing_kernel,
        test_boot_health_destroy,
        test_agent_never_answers,
        test_qemu_killed_from_outside,
        test_stop_serves_loop,
        test_guest_panic,
        test_stale_cleanup,
        test_missing_netns,
        test_nic_in_netns,
        test_hotplug_ranges,
        test_hotplug,
        NULL,
    };

    test_util_require(geteuid() == 0, "needs root (libvirt's embedded QEMU driver, mounts)");
    test_util_require(g_file_test("/usr/bin/qemu-system-x86_64", G_FILE_TEST_IS_EXECUTABLE),
                      "needs /usr/bin/qemu-system-x86_64 (qemu-system-x86)");
    test_util_require(env_file("VMM_TEST_KERNEL") && env_file("VMM_TEST_STUB_INITRD"),
                      "needs the guest kernel and the test initramfs (built with the project)");
    test_util_require(env_file("VMM_TEST_INITRD"),
                      "needs the guest image (initramfs with secure-agent)");
    test_util_require(access("/bin/busybox", X_OK) == 0,
                      "needs /bin/busybox (busybox-static) for the containers' root");
    test_util_require(ip != NULL, "needs ip (iproute2) for the network test");
    g_snprintf(net_ns_name, sizeof(net_ns_name), "sc-vmm-test-%d", (int)getpid());
    return vmm_test_run("vmm-vm", tests, 180, clean_up_pods);
}
