/* A pod VM: start a transient libvirt domain, follow its lifecycle, destroy it. */
#include <pwd.h>
#include <signal.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>
#include <libvirt/virterror.h>

#include "common-exit.h"
#include "common-fd.h"
#include "vmm-internal.h"

/* The embedded QEMU driver's settings: no cgroups, namespaces or virtlogd; the pod VM is the
 * isolation boundary. QEMU runs as the uid and gid of the domain's DAC label (VmmConfig.qemu_uid),
 * with libvirt's default of no capabilities, and libvirt makes its own files for QEMU that uid's
 * (dynamic_ownership); the domain's label says relabel='no' for everything else. No reference
 * counts in xattrs (remember_owner): pods share the kernel and initrd. */
static const char qemu_conf[] = "user = \"root\"\n"
                                "group = \"root\"\n"
                                "dynamic_ownership = 1\n"
                                "remember_owner = 0\n"
                                "stdio_handler = \"file\"\n"
                                "security_driver = \"none\"\n"
                                "namespaces = []\n"
                                "cgroup_controllers = []\n";

/* How long QEMU's exit waits for libvirt's own event about it (well inside the 1 s in which
 * the shim must learn that the VM died). */
#define EXIT_GRACE_MS 200
/* How long a destroy waits for QEMU and virtiofsd to exit after their SIGKILL. */
#define STOP_TIMEOUT_US (3 * G_USEC_PER_SEC)

/* The embedded driver refuses to start without this user (it owns QEMU files by default). */
#define LIBVIRT_QEMU_USER "libvirt-qemu"

VmmDomain *vmm_domain_ref(VmmDomain *domain)
{
    domain->ref_count++;
    return domain;
}

void vmm_domain_unref(VmmDomain *domain)
{
    if (--domain->ref_count > 0)
        return;
    g_free(domain->name);
    g_free(domain->agent_socket);
    g_free(domain->console_log);
    g_string_chunk_free(domain->strings);
    g_free(domain->nics);
    g_free(domain);
}

static gboolean check_file(const char *what, const char *path, GFileTest test, GError **error)
{
    if (g_file_test(path, test))
        return TRUE;
    g_set_error(error, VMM_ERROR, VMM_ERROR_NOT_FOUND, "%s '%s' not found", what, path);
    return FALSE;
}

/* QEMU running as a uid of no user (VmmConfig.qemu_uid) opens @path as "others": the file
 * must be readable, and every directory above it passable, by others. */
static gboolean check_readable_by_qemu(const VmmConfig *c, const char *what, const char *path,
                                       GError **error)
{
    g_autofree char *at = g_strdup(path);
    struct stat st;

    if (c->qemu_uid == 0)
        return TRUE;
    for (gboolean file = TRUE; !g_str_equal(at, "/"); file = FALSE) {
        char *parent;

        if (stat(at, &st) < 0 || !(st.st_mode & (file ? S_IROTH : S_IXOTH))) {
            g_set_error(error, VMM_ERROR, VMM_ERROR_INVALID_CONFIG,
                        "%s '%s': QEMU runs as uid %u, and cannot %s '%s' (mode %o): it needs "
                        "o+r on the file and o+x on every directory above it",
                        what, path, c->qemu_uid, file ? "read" : "pass through", at,
                        st.st_mode & 07777);
            return FALSE;
        }
        parent = g_path_get_dirname(at);
        g_free(at);
        at = parent;
    }
    return TRUE;
}

gboolean vmm_check_host_files(const VmmConfig *c, GError **error)
{
    if (!check_file("kernel", c->kernel, G_FILE_TEST_IS_REGULAR, error) ||
        !check_file("initrd", c->initrd, G_FILE_TEST_IS_REGULAR, error) ||
        !check_file("QEMU", c->emulator, G_FILE_TEST_IS_EXECUTABLE, error) ||
        !check_readable_by_qemu(c, "kernel", c->kernel, error) ||
        !check_readable_by_qemu(c, "initrd", c->initrd, error))
        return FALSE;
    if (c->shared_fs == VMM_SHARED_FS_VIRTIOFS &&
        !check_file("virtiofsd", c->virtiofsd, G_FILE_TEST_IS_EXECUTABLE, error))
        return FALSE;
    if (c->uri == NULL && getpwnam(LIBVIRT_QEMU_USER) == NULL) {
        g_set_error(error, VMM_ERROR, VMM_ERROR_NOT_FOUND,
                    "system user '%s' missing: libvirt's embedded QEMU driver needs it",
                    LIBVIRT_QEMU_USER);
        return FALSE;
    }
    return TRUE;
}

/* Everything the VM needs is there: checked before any process starts. */
static gboolean check_files(const VmmConfig *c, GError **error)
{
    if (!vmm_check_host_files(c, error))
        return FALSE;
    if (c->shared_fs != VMM_SHARED_FS_NONE &&
        !check_file("shared directory", c->shared_dir, G_FILE_TEST_IS_DIR, error))
        return FALSE;
    if (c->netns != NULL && !check_file("network namespace", c->netns, G_FILE_TEST_EXISTS, error))
        return FALSE;
    if (c->cache_dir != NULL && !g_path_is_absolute(c->cache_dir)) {
        g_set_error(error, VMM_ERROR, VMM_ERROR_INVALID_CONFIG,
                    "cache directory '%s' is not an absolute path", c->cache_dir);
        return FALSE;
    }
    return TRUE;
}

static gboolean mkdir_private(const char *path, GError **error)
{
    if (g_mkdir_with_parents(path, 0700) == 0)
        return TRUE;
    g_set_error(error, VMM_ERROR, VMM_ERROR_FAILED, "create directory '%s': %s", path,
                g_strerror(errno));
    return FALSE;
}

/* A directory QEMU, running as the pod's own uid, passes through to its files below (which
 * libvirt makes its own), without seeing what else is there. */
static gboolean mkdir_passable(const char *path, GError **error)
{
    if (!mkdir_private(path, error))
        return FALSE;
    if (chmod(path, 0711) == 0)
        return TRUE;
    g_set_error(error, VMM_ERROR, VMM_ERROR_FAILED, "chmod '%s': %s", path, g_strerror(errno));
    return FALSE;
}

/* The embed root with its qemu.conf and its capabilities cache pointing at the shared one. */
static gboolean prepare_embed_root(const VmmConfig *c, GError **error)
{
    g_autofree char *root = vmm_config_embed_root(c);
    g_autofree char *etc = g_build_filename(root, "etc", NULL);
    g_autofree char *conf = g_build_filename(etc, "qemu.conf", NULL);
    g_autofree char *cache = g_build_filename(root, "cache", NULL);

    if (!mkdir_passable(root, error) || !mkdir_private(etc, error) ||
        !g_file_set_contents(conf, qemu_conf, -1, error))
        return FALSE;
    if (c->cache_dir == NULL)
        return TRUE;
    if (!mkdir_private(c->cache_dir, error))
        return FALSE;
    vmm_caps_cache_tune(c->cache_dir);
    if (symlink(c->cache_dir, cache) < 0) {
        g_set_error(error, VMM_ERROR, VMM_ERROR_FAILED, "symlink '%s' to '%s': %s", cache,
                    c->cache_dir, g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

/* The run dir, the embed root (embedded driver) and, for virtio-fs, the shared bind mount. */
static gboolean prepare_run_dir(const VmmConfig *c, GError **error)
{
    g_autofree char *marker = g_build_filename(c->run_dir, VMM_SHARED_MOUNT_MARKER, NULL);

    if (!mkdir_passable(c->run_dir, error))
        return FALSE;
    if (c->uri == NULL && !prepare_embed_root(c, error))
        return FALSE;
    /* The marker first: a crash between the two leaves cleanup knowing to unmount. */
    if (c->shared_fs == VMM_SHARED_FS_VIRTIOFS &&
        (!g_file_set_contents(marker, "", 0, error) || !vmm_shared_mount(c->shared_dir, error)))
        return FALSE;
    return TRUE;
}

/* QEMU's pid from the pid file libvirt writes next to the domain's state. */
/* The pid in a pid file libvirt wrote, or 0. */
static pid_t read_pid_file(const char *path)
{
    g_autofree char *text = NULL;
    guint64 pid = 0;

    if (!g_file_get_contents(path, &text, NULL, NULL) ||
        !g_ascii_string_to_unsigned(g_strstrip(text), 10, 1, G_MAXINT, &pid, NULL))
        return 0;
    return (pid_t)pid;
}

static pid_t read_qemu_pid(VmmDomain *domain)
{
    g_autofree char *root = vmm_config_embed_root(&domain->config);
    g_autofree char *file = g_strconcat(domain->name, ".pid", NULL);
    g_autofree char *path = domain->config.uri == NULL
                                ? g_build_filename(root, "run", "qemu", file, NULL)
                                : g_build_filename("/run/libvirt/qemu", file, NULL);

    return read_pid_file(path);
}

static void emit(VmmDomain *domain, VmmEvent event, const char *detail)
{
    if (domain->lifecycle_func == NULL || domain->freed)
        return;
    vmm_domain_ref(domain);
    domain->lifecycle_func(domain, event, detail, domain->lifecycle_data);
    vmm_domain_unref(domain);
}

static const char *stopped_detail(int detail)
{
    switch (detail) {
    case VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN:
        return "shutdown";
    case VIR_DOMAIN_EVENT_STOPPED_DESTROYED:
        return "destroyed";
    case VIR_DOMAIN_EVENT_STOPPED_CRASHED:
        return "crashed";
    case VIR_DOMAIN_EVENT_STOPPED_FAILED:
        return "failed";
    default:
        return "stopped";
    }
}

/* The pidfds stay: a stop still kills through them and waits for their exits. */
static void stop_exit_watches(VmmDomain *domain)
{
    g_clear_handle_id(&domain->exit_watch, g_source_remove);
    g_clear_handle_id(&domain->virtiofsd_watch, g_source_remove);
    g_clear_handle_id(&domain->exit_grace, g_source_remove);
}

/* The VM is gone (first report wins: libvirt's event or QEMU's exit). */
static void on_stopped(VmmDomain *domain, VmmEvent event, const char *text)
{
    g_autofree char *tail = vmm_domain_console_tail(domain, 10);
    g_autofree char *message =
        g_strdup_printf("VM '%s' stopped (%s); console:\n%s", domain->name, text, tail);

    domain->running = FALSE;
    domain->pid = 0;
    stop_exit_watches(domain);
    vmm_agent_connect_stopped(domain, message);
    emit(domain, event, text);
}

static gboolean qemu_exited(VmmDomain *domain)
{
    return domain->pidfd >= 0 && common_exit_happened(domain->pidfd);
}

static gboolean on_exit_grace_over(gpointer data)
{
    VmmDomain *domain = data;

    domain->exit_grace = 0;
    if (domain->running)
        on_stopped(domain, VMM_EVENT_STOPPED,
                   qemu_exited(domain) ? "QEMU exited"
                                       : "virtiofsd exited: the guest lost its files");
    return G_SOURCE_REMOVE;
}

/* QEMU or virtiofsd is gone. libvirt may still have a queued event that says why (a guest
 * panic makes it kill QEMU right after queueing CRASHED), and virtiofsd also ends as QEMU does
 * (it sees QEMU close the socket), a moment before QEMU's exit shows: after a grace, the first
 * of libvirt's event, QEMU's exit or virtiofsd's says why. (QEMU 7.2 keeps running when its
 * vhost-user-fs backend goes, and the guest's file accesses then wait for ever: the VM is as
 * good as stopped.) */
static gboolean on_process_exit(int fd, GIOCondition condition, gpointer data)
{
    VmmDomain *domain = data;

    (void)condition;
    /* libvirt learns of the exit only once the process is reaped. */
    vmm_pidfd_reap(fd);
    if (fd == domain->pidfd)
        domain->exit_watch = 0;
    else
        domain->virtiofsd_watch = 0;
    if (domain->exit_grace == 0)
        domain->exit_grace = g_timeout_add(EXIT_GRACE_MS, on_exit_grace_over, domain);
    return G_SOURCE_REMOVE;
}

/* Watches QEMU's pid; without a pidfd only libvirt's (later) event reports its death. */
static void watch_qemu_exit(VmmDomain *domain)
{
    if (domain->pid <= 0)
        return;
    domain->pidfd = pidfd_open(domain->pid, 0);
    if (domain->pidfd >= 0)
        domain->exit_watch = g_unix_fd_add(domain->pidfd, G_IO_IN, on_process_exit, domain);
}

/* virtiofsd's pid from the embedded driver's pid file, <id>-<domain>-<alias>-fs.pid. */
static pid_t read_virtiofsd_pid(VmmDomain *domain)
{
    g_autofree char *root = vmm_config_embed_root(&domain->config);
    g_autofree char *dir_path = g_build_filename(root, "run", "qemu", NULL);
    g_autofree char *infix = g_strdup_printf("-%s-", domain->name);
    g_autoptr(GDir) dir = g_dir_open(dir_path, 0, NULL);
    const char *name;

    while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
        if (g_str_has_suffix(name, "-fs.pid") && strstr(name, infix) != NULL) {
            g_autofree char *path = g_build_filename(dir_path, name, NULL);

            return read_pid_file(path);
        }
    }
    return 0;
}

static void watch_virtiofsd_exit(VmmDomain *domain)
{
    pid_t pid;

    if (domain->config.shared_fs != VMM_SHARED_FS_VIRTIOFS || domain->config.uri != NULL ||
        (pid = read_virtiofsd_pid(domain)) <= 0)
        return;
    domain->virtiofsd_pidfd = pidfd_open(pid, 0);
    if (domain->virtiofsd_pidfd >= 0)
        domain->virtiofsd_watch =
            g_unix_fd_add(domain->virtiofsd_pidfd, G_IO_IN, on_process_exit, domain);
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
    VmmDomain *domain = opaque;

    (void)conn;
    (void)dom;
    if (event == VIR_DOMAIN_EVENT_STOPPED && domain->running)
        on_stopped(domain,
                   detail == VIR_DOMAIN_EVENT_STOPPED_CRASHED ? VMM_EVENT_CRASHED
                                                              : VMM_EVENT_STOPPED,
                   stopped_detail(detail));
    else if (event == VIR_DOMAIN_EVENT_CRASHED)
        emit(domain, VMM_EVENT_PANICKED,
             detail == VIR_DOMAIN_EVENT_CRASHED_PANICKED ? "guest panicked" : "crashed");
    return 0;
}

static void release_event_ref(void *opaque)
{
    vmm_domain_unref(opaque);
}

/* Creates the domain, or resumes it from @template, from inside the pod's network namespace if
 * it has one: libvirt opens the taps there by name, and QEMU inherits it. Only this call runs
 * there. */
static gboolean create_in_netns(VmmDomain *domain, const char *xml, const char *template,
                                GError **error)
{
    unsigned int flags = domain->config.uri != NULL ? VIR_DOMAIN_START_AUTODESTROY : 0;
    int saved = -1;
    gboolean ok = TRUE;

    if (domain->config.netns != NULL && !vmm_netns_enter(domain->config.netns, &saved, error))
        return FALSE;
    if (template == NULL)
        domain->dom = virDomainCreateXML(domain->conn, xml, flags);
    else
        ok = vmm_template_resume(domain, xml, template, error);
    vmm_netns_leave(&saved);
    return ok;
}

/* Connects, creates the domain and subscribes to its lifecycle events. A libvirtd destroys the
 * domain when our connection closes first; the embedded driver cannot (it dies with us), which
 * is what vmm_cleanup_stale() is for. */
static gboolean create_domain(VmmDomain *domain, const char *xml, const char *template,
                              GError **error)
{
    g_autofree char *uri = vmm_config_uri(&domain->config);

    vmm_init();
    domain->conn = virConnectOpen(uri);
    if (domain->conn == NULL) {
        g_set_error(error, VMM_ERROR, VMM_ERROR_FAILED, "connect to '%s': %s", uri,
                    vmm_libvirt_error());
        return FALSE;
    }
    if (!create_in_netns(domain, xml, template, error))
        return FALSE;
    if (domain->dom == NULL) {
        g_set_error(error, VMM_ERROR, VMM_ERROR_FAILED, "%s domain '%s': %s",
                    template != NULL ? "restore" : "create", domain->name, vmm_libvirt_error());
        return FALSE;
    }
    domain->running = TRUE;
    domain->event_id = virConnectDomainEventRegisterAny(
        domain->conn, domain->dom, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
        VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), vmm_domain_ref(domain), release_event_ref);
    if (domain->event_id < 0) {
        vmm_domain_unref(domain);
        g_set_error(error, VMM_ERROR, VMM_ERROR_FAILED, "watch domain '%s': %s", domain->name,
                    vmm_libvirt_error());
        return FALSE;
    }
    /* QEMU may already have died before we subscribed: then no event will come. */
    if (virDomainIsActive(domain->dom) != 1) {
        g_set_error(error, VMM_ERROR, VMM_ERROR_STOPPED, "domain '%s' stopped right after start",
                    domain->name);
        return FALSE;
    }
    return TRUE;
}

static VmmDomain *domain_new(const VmmConfig *config, VmmAccel accel)
{
    VmmDomain *domain = g_new0(VmmDomain, 1);

    domain->ref_count = 1;
    domain->strings = g_string_chunk_new(256);
    domain->nics = vmm_config_copy(config, &domain->config, domain->strings);
    domain->config.accel = accel;
    domain->accel = accel;
    domain->name = vmm_config_domain_name(config);
    domain->agent_socket = vmm_config_agent_socket(config);
    domain->console_log = vmm_config_console_log(config);
    domain->event_id = -1;
    domain->pidfd = -1;
    domain->virtiofsd_pidfd = -1;
    domain->memory_mib = config->memory_mib;
    domain->vcpus = config->vcpus;
    return domain;
}

/* Boots a VM for @config, or resumes one from @template (NULL: boot). */
static VmmDomain *launch(const VmmConfig *config, const char *template, GError **error)
{
    gint64 start = g_get_monotonic_time();
    VmmConfig resolved;
    g_autofree char *xml = NULL;
    VmmDomain *domain;

    resolved = *config;
    resolved.accel = vmm_accel_resolve(config->accel);
    xml = vmm_domain_xml(&resolved, error);
    if (xml == NULL || !check_files(&resolved, error))
        return NULL;
    if (!vmm_cleanup_stale(&resolved, error))
        return NULL;

    domain = domain_new(&resolved, resolved.accel);
    domain->timings.start = start;
    if (!prepare_run_dir(&resolved, error) || !create_domain(domain, xml, template, error)) {
        g_prefix_error(error, "start VM '%s': ", resolved.name);
        vmm_domain_free(domain);
        return NULL;
    }
    domain->timings.created = g_get_monotonic_time();
    domain->resumed = template != NULL;
    domain->pid = read_qemu_pid(domain);
    watch_qemu_exit(domain);
    watch_virtiofsd_exit(domain);
    return domain;
}

VmmDomain *vmm_domain_start(const VmmConfig *config, GError **error)
{
    g_return_val_if_fail(config != NULL, NULL);
    return launch(config, NULL, error);
}

VmmDomain *vmm_domain_restore(const VmmConfig *config, const char *path, GError **error)
{
    g_return_val_if_fail(config != NULL && path != NULL, NULL);

    if (!config->template_layout) {
        g_set_error(error, VMM_ERROR, VMM_ERROR_INVALID_CONFIG,
                    "restore VM '%s': the config has no template layout", config->name);
        return NULL;
    }
    return launch(config, path, error);
}

void vmm_domain_set_lifecycle_func(VmmDomain *domain, VmmLifecycleFunc func, gpointer user_data)
{
    g_return_if_fail(domain != NULL);

    domain->lifecycle_func = func;
    domain->lifecycle_data = user_data;
}

static void disconnect(VmmDomain *domain)
{
    if (domain->event_id >= 0) {
        virConnectDomainEventDeregisterAny(domain->conn, domain->event_id);
        domain->event_id = -1;
    }
    g_clear_pointer(&domain->dom, virDomainFree);
    g_clear_pointer(&domain->conn, virConnectClose);
}

/* Stops QEMU through libvirt; a domain that is already gone is fine. */
static gboolean stop_domain(VmmDomain *domain, GError **error)
{
    if (domain->dom == NULL || virDomainIsActive(domain->dom) != 1)
        return TRUE;
    if (virDomainDestroy(domain->dom) == 0 || virDomainIsActive(domain->dom) != 1)
        return TRUE;
    g_set_error(error, VMM_ERROR, VMM_ERROR_FAILED, "destroy domain '%s': %s", domain->name,
                vmm_libvirt_error());
    return FALSE;
}

/* Nothing in a pod VM is worth a clean shutdown, and libvirt would give a QEMU that does not
 * run (a hung guest's, stopped) 10 s to act on its SIGTERM: SIGKILL to QEMU and virtiofsd. A
 * destroy is no lifecycle event: their exit watches go, their pidfds stay to wait on. */
static void kill_processes(VmmDomain *domain)
{
    vmm_agent_connect_stopped(domain, "the VM was destroyed");
    domain->running = FALSE;
    stop_exit_watches(domain);
    if (domain->pidfd >= 0)
        pidfd_send_signal(domain->pidfd, SIGKILL, NULL, 0);
    if (domain->virtiofsd_pidfd >= 0)
        pidfd_send_signal(domain->virtiofsd_pidfd, SIGKILL, NULL, 0);
}

/* Once QEMU and virtiofsd have exited and are reaped, libvirt's destroy only drops its state of
 * the domain: it waits for them to be gone, which a zombie is not. What it could not stop, and
 * every file, goes the stale-cleanup way. */
static gboolean finish_destroy(VmmDomain *domain, GError **error)
{
    g_autoptr(GError) stop_error = NULL;

    common_fd_close(&domain->pidfd);
    common_fd_close(&domain->virtiofsd_pidfd);
    if (!stop_domain(domain, &stop_error))
        g_debug("%s; killing its processes instead", stop_error->message);
    domain->pid = 0;
    disconnect(domain);
    if (!vmm_cleanup_stale(&domain->config, error)) {
        g_prefix_error(error, "destroy VM '%s': ", domain->name);
        return FALSE;
    }
    return TRUE;
}

struct _VmmDomainStop {
    VmmDomain *domain; /* not a reference: a freed domain drops its stop */
    VmmDomainStoppedFunc func;
    gpointer user_data;
    guint qemu_watch;
    guint virtiofsd_watch;
    guint timeout_id;
};

static void stop_free(VmmDomainStop *stop)
{
    g_clear_handle_id(&stop->qemu_watch, g_source_remove);
    g_clear_handle_id(&stop->virtiofsd_watch, g_source_remove);
    g_clear_handle_id(&stop->timeout_id, g_source_remove);
    g_free(stop);
}

/* Synchronous by contract (the template builder, the shim on its way out, the tests): a bounded
 * poll() on the pidfds. */
gboolean vmm_domain_destroy(VmmDomain *domain, GError **error)
{
    gint64 deadline = g_get_monotonic_time() + STOP_TIMEOUT_US;

    g_return_val_if_fail(domain != NULL, FALSE);

    g_clear_pointer(&domain->stop, stop_free);
    kill_processes(domain);
    if (domain->pidfd >= 0)
        vmm_pidfd_wait(domain->pidfd, deadline - g_get_monotonic_time());
    if (domain->virtiofsd_pidfd >= 0)
        vmm_pidfd_wait(domain->virtiofsd_pidfd, deadline - g_get_monotonic_time());
    return finish_destroy(domain, error);
}

static void stop_finish(VmmDomainStop *stop)
{
    VmmDomain *domain = stop->domain;
    VmmDomainStoppedFunc func = stop->func;
    gpointer user_data = stop->user_data;
    g_autoptr(GError) error = NULL;

    domain->stop = NULL;
    stop_free(stop);
    finish_destroy(domain, &error);
    vmm_domain_ref(domain);
    func(domain, error, user_data);
    vmm_domain_unref(domain);
}

static gboolean on_stop_exit(int fd, GIOCondition condition, gpointer data)
{
    VmmDomainStop *stop = data;

    (void)condition;
    vmm_pidfd_reap(fd);
    if (fd == stop->domain->pidfd)
        stop->qemu_watch = 0;
    else
        stop->virtiofsd_watch = 0;
    if (stop->qemu_watch == 0 && stop->virtiofsd_watch == 0)
        stop_finish(stop);
    return G_SOURCE_REMOVE;
}

static gboolean on_stop_timeout(gpointer data)
{
    VmmDomainStop *stop = data;

    stop->timeout_id = 0;
    stop_finish(stop);
    return G_SOURCE_REMOVE;
}

void vmm_domain_stop(VmmDomain *domain, VmmDomainStoppedFunc func, gpointer user_data)
{
    VmmDomainStop *stop;

    g_return_if_fail(domain != NULL && func != NULL && domain->stop == NULL);

    stop = g_new0(VmmDomainStop, 1);
    stop->domain = domain;
    stop->func = func;
    stop->user_data = user_data;
    domain->stop = stop;
    kill_processes(domain);
    if (domain->pidfd >= 0)
        stop->qemu_watch = g_unix_fd_add(domain->pidfd, G_IO_IN, on_stop_exit, stop);
    if (domain->virtiofsd_pidfd >= 0)
        stop->virtiofsd_watch = g_unix_fd_add(domain->virtiofsd_pidfd, G_IO_IN, on_stop_exit, stop);
    /* Without a pidfd to wait on, what libvirt's destroy does is all there is (a remote
     * driver). */
    stop->timeout_id = stop->qemu_watch || stop->virtiofsd_watch
                           ? g_timeout_add(STOP_TIMEOUT_US / 1000, on_stop_timeout, stop)
                           : g_idle_add(on_stop_timeout, stop);
}

void vmm_domain_free(VmmDomain *domain)
{
    g_autoptr(GError) error = NULL;

    if (domain == NULL || domain->freed)
        return;
    domain->freed = TRUE;
    vmm_domain_cancel_agent(domain);
    if (!vmm_domain_destroy(domain, &error))
        g_debug("%s", error->message);
    vmm_domain_unref(domain);
}

const char *vmm_domain_get_name(VmmDomain *domain)
{
    return domain->name;
}

pid_t vmm_domain_get_pid(VmmDomain *domain)
{
    return domain->pid;
}

const char *vmm_domain_get_console_log(VmmDomain *domain)
{
    return domain->console_log;
}

char *vmm_domain_console_tail(VmmDomain *domain, guint max_lines)
{
    return vmm_console_tail(domain->console_log, max_lines);
}

const char *vmm_domain_get_agent_socket(VmmDomain *domain)
{
    return domain->agent_socket;
}

VmmAccel vmm_domain_get_accel(VmmDomain *domain)
{
    return domain->accel;
}

gboolean vmm_domain_is_running(VmmDomain *domain)
{
    return domain->running;
}

gboolean vmm_domain_is_resumed(VmmDomain *domain)
{
    return domain->resumed;
}

gboolean vmm_domain_get_stats(VmmDomain *domain, VmmDomainStats *out, GError **error)
{
    virDomainMemoryStatStruct mem[VIR_DOMAIN_MEMORY_STAT_NR];
    virDomainInfo info;
    int n;

    *out = (VmmDomainStats){0};
    if (!domain->running || virDomainGetInfo(domain->dom, &info) < 0 ||
        (n = virDomainMemoryStats(domain->dom, mem, VIR_DOMAIN_MEMORY_STAT_NR, 0)) < 0) {
        g_set_error(error, VMM_ERROR, domain->running ? VMM_ERROR_FAILED : VMM_ERROR_STOPPED,
                    "stats of domain '%s': %s", domain->name,
                    domain->running ? vmm_libvirt_error() : "not running");
        return FALSE;
    }
    out->cpu_ns = info.cpuTime;
    out->memory_kib = info.memory;
    for (int i = 0; i < n; i++)
        if (mem[i].tag == VIR_DOMAIN_MEMORY_STAT_RSS)
            out->rss_kib = mem[i].val;
    return TRUE;
}

void vmm_domain_get_timings(VmmDomain *domain, VmmTimings *out_timings)
{
    *out_timings = domain->timings;
}
