/* `secure-container check`: the host prerequisites, in the order a pod meets them. */
#include "tool-check.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "shim-config.h"
#include "shim-host-cgroup.h"
#include "shim-sandbox.h"
#include "tool-boot.h"
#include "tool-cli.h"
#include "tool-host.h"
#include "vmm.h"

typedef enum { LEVEL_OK, LEVEL_WARN, LEVEL_FAIL } Level;

typedef struct {
    guint fails;
    guint warns;
} Report;

/* One line: the level, what was checked, what was seen; then the fix when there is one. */
G_GNUC_PRINTF(5, 6)
static void line(Report *r, Level level, const char *what, const char *fix, const char *fmt, ...)
{
    static const char *const names[] = {"OK", "WARN", "FAIL"};
    va_list ap;

    va_start(ap, fmt);
    g_autofree char *seen = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    printf("%-4s  %-14s %s\n", names[level], what, seen);
    if (level != LEVEL_OK && fix)
        printf("      %-14s fix: %s\n", "", fix);
    r->fails += level == LEVEL_FAIL;
    r->warns += level == LEVEL_WARN;
}

static gboolean cpu_has_flag(const char *flag)
{
    g_autofree char *cpuinfo = NULL;
    g_autofree char *pattern = g_strdup_printf("^flags\\s*:.*\\b%s\\b", flag);

    return g_file_get_contents("/proc/cpuinfo", &cpuinfo, NULL, NULL) &&
           g_regex_match_simple(pattern, cpuinfo, G_REGEX_MULTILINE, G_REGEX_MATCH_DEFAULT);
}

static void check_kvm(Report *r, const ShimConfig *config)
{
    g_autofree char *reason = NULL;
    const char *fix;

    if (vmm_accel_probe("/sys/module", "/dev/kvm", &reason) == VMM_ACCEL_KVM) {
        line(r, LEVEL_OK, "kvm", NULL, "%s: pods run under KVM", reason);
        return;
    }
    if (strstr(reason, "kvm_pvm"))
        fix = "run pods on a host with hardware virtualization (bare metal, or nested "
              "virtualization enabled)";
    else if (strstr(reason, "no hardware KVM module") && cpu_has_flag("vmx"))
        fix = "modprobe kvm_intel";
    else if (strstr(reason, "no hardware KVM module") && cpu_has_flag("svm"))
        fix = "modprobe kvm_amd";
    else if (strstr(reason, "no hardware KVM module"))
        fix = "the CPU offers no VT-x/AMD-V: enable it in the firmware, or nested virtualization "
              "in the hypervisor this host runs on";
    else
        fix = "make /dev/kvm usable by root (is the kvm module loaded? ls -l /dev/kvm)";
    /* auto falls back to TCG, which works but is slow; a config forcing kvm cannot boot. */
    gboolean forced = config && config->accelerator == SHIM_ACCEL_KVM;
    line(r, forced ? LEVEL_FAIL : LEVEL_WARN, "kvm", fix, "%s: %s", reason,
         forced ? "[hypervisor] accelerator = kvm cannot boot a pod"
                : "pods run under QEMU's TCG, several times slower");
}

static void check_device(Report *r, const char *what, const char *device, Level missing,
                         const char *missing_means, const char *fix)
{
    if (access(device, R_OK | W_OK) == 0)
        line(r, LEVEL_OK, what, NULL, "%s present", device);
    else
        line(r, missing, what, fix, "%s: %s (%s)", device, g_strerror(errno), missing_means);
}

/* A program: present, and the version it prints. */
static void check_program(Report *r, const char *what, const char *path, const char *fix)
{
    g_autofree char *version = NULL;

    if (!path || !g_file_test(path, G_FILE_TEST_IS_EXECUTABLE)) {
        line(r, LEVEL_FAIL, what, fix, "%s not found", path ? path : what);
        return;
    }
    version = tool_program_version(path, "--version");
    line(r, version ? LEVEL_OK : LEVEL_FAIL, what, fix, "%s: %s", path,
         version ? version : "does not run (--version failed)");
}

static void check_libvirt(Report *r, const ShimConfig *config)
{
    g_autofree char *version = vmm_libvirt_version();

    line(r, LEVEL_OK, "libvirt", NULL, "library %s, %s", version ? version : "(unknown version)",
         *config->libvirt_uri ? config->libvirt_uri : "embedded QEMU driver (one per pod)");
    if (*config->libvirt_uri)
        return;
    if (getpwnam("libvirt-qemu"))
        line(r, LEVEL_OK, "libvirt-qemu", NULL, "the system user the embedded driver needs exists");
    else
        line(r, LEVEL_FAIL, "libvirt-qemu",
             "useradd --system --user-group --no-create-home --shell /usr/sbin/nologin "
             "libvirt-qemu (packaging/install.sh does it)",
             "system user missing: libvirt's embedded QEMU driver refuses to start without it");
}

static void check_guest_image(Report *r, const ShimConfig *config)
{
    static const char fix[] = "packaging/install.sh installs the guest image, or set the key in "
                              "the config";
    g_autofree char *kernel = tool_kernel_version(config->kernel);
    GStatBuf st;

    if (!g_file_test(config->kernel, G_FILE_TEST_IS_REGULAR))
        line(r, LEVEL_FAIL, "guest kernel", fix, "[hypervisor] kernel '%s' not found",
             config->kernel);
    else
        line(r, kernel ? LEVEL_OK : LEVEL_WARN, "guest kernel", "is it a vmlinux or bzImage?",
             "%s: %s", config->kernel, kernel ? kernel : "no Linux version banner found");
    if (g_stat(config->initrd, &st) != 0 || !S_ISREG(st.st_mode))
        line(r, LEVEL_FAIL, "guest initrd", fix, "[hypervisor] initrd '%s' not found",
             config->initrd);
    else
        line(r, LEVEL_OK, "guest initrd", NULL, "%s: %.1f MiB, kept in guest RAM", config->initrd,
             st.st_size / 1048576.0);
}

/* The files again, exactly as the shim checks them before it starts QEMU (readable by the
 * pod's uid, the system user): what `check` says and what a pod meets cannot differ. */
static gboolean check_as_shim(Report *r, const ShimConfig *config)
{
    g_autoptr(GError) error = NULL;
    ShimVmSize size = {.memory_mib = config->memory_mib, .vcpus = config->vcpus};
    VmmConfig vc;

    shim_sandbox_vm_config(&vc, config, &size, "check", "/nonexistent", "/nonexistent");
    if (config->shared_fs == SHIM_SHARED_FS_VIRTIOFS)
        vc.qemu_uid = vc.qemu_gid = config->pod_uid_base;
    if (vmm_check_host_files(&vc, &error)) {
        line(r, LEVEL_OK, "pod files", NULL, "what a pod's QEMU (uid %u) needs is there",
             vc.qemu_uid);
        return TRUE;
    }
    line(r, LEVEL_FAIL, "pod files", "see the message", "%s", error->message);
    return FALSE;
}

static void check_cgroup(Report *r)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *mount = shim_host_cgroup_mount(&error);

    if (!mount)
        line(r, LEVEL_FAIL, "cgroup v2",
             "boot the host with systemd.unified_cgroup_hierarchy=1 (Debian's default)",
             "%s: the pods' host cgroups need one", error->message);
    else if (g_str_equal(mount, "/sys/fs/cgroup"))
        line(r, LEVEL_OK, "cgroup v2", NULL, "unified hierarchy at %s", mount);
    else
        line(r, LEVEL_OK, "cgroup v2", NULL,
             "hybrid host: cgroup v2 at %s, v1 controllers beside it (a pod's cgroup is made in "
             "each, as runc does)",
             mount);
}

static void check_cni(Report *r, const ToolContainerd *c)
{
    static const char *const plugins[] = {"bridge", "host-local", "loopback", "portmap"};
    g_autoptr(GString) missing = g_string_new(NULL);
    const char *bin = c->cni_bin_dir ? c->cni_bin_dir : "/opt/cni/bin";

    for (gsize i = 0; i < G_N_ELEMENTS(plugins); i++) {
        g_autofree char *path = g_build_filename(bin, plugins[i], NULL);
        if (!g_file_test(path, G_FILE_TEST_IS_EXECUTABLE))
            g_string_append_printf(missing, "%s%s", missing->len ? ", " : "", plugins[i]);
    }
    if (missing->len)
        line(r, LEVEL_FAIL, "cni plugins",
             "apt-get install containernetworking-plugins, and bin_dir = \"/usr/lib/cni\" in "
             "containerd's [plugins.\"io.containerd.grpc.v1.cri\".cni]",
             "missing in %s: %s", bin, missing->str);
    else
        line(r, LEVEL_OK, "cni plugins", NULL, "bridge, host-local, loopback, portmap in %s", bin);

    g_autoptr(GDir) dir = c->cni_conf_dir ? g_dir_open(c->cni_conf_dir, 0, NULL) : NULL;
    const char *name, *found = NULL;
    while (dir && !found && (name = g_dir_read_name(dir)))
        if (g_str_has_suffix(name, ".conf") || g_str_has_suffix(name, ".conflist") ||
            g_str_has_suffix(name, ".json"))
            found = name;
    if (found)
        line(r, LEVEL_OK, "cni config", NULL, "%s/%s", c->cni_conf_dir, found);
    else
        line(r, LEVEL_WARN, "cni config",
             "install the cluster's network (it writes its config there)",
             "none in %s: CRI pods cannot start until there is one",
             c->cni_conf_dir ? c->cni_conf_dir : "(no conf_dir)");
}

static void check_containerd(Report *r, const char *containerd_config)
{
    g_autofree char *containerd = tool_find_program("containerd");
    g_autofree char *shim = tool_find_program("containerd-shim-secure-v2");
    g_autoptr(GError) error = NULL;
    ToolContainerd c = {0};

    check_program(r, "shim", shim,
                  "packaging/install.sh installs it in /usr/local/bin, on "
                  "containerd's PATH");
    check_program(r, "containerd", containerd, "apt-get install containerd");
    if (!containerd)
        return;
    if (!tool_containerd_read(containerd, containerd_config, &c, &error)) {
        line(r, LEVEL_FAIL, "cri runtime", "fix containerd's config", "%s", error->message);
        return;
    }
    g_autoptr(GString) handlers = g_string_new(NULL);
    for (guint i = 0; i < c.handlers->len; i++)
        g_string_append_printf(handlers, "%s'%s'", i ? ", " : "", (char *)c.handlers->pdata[i]);
    if (c.handlers->len == 0)
        line(r, LEVEL_FAIL, "cri runtime",
             "packaging/install.sh registers it (or add packaging/containerd/"
             "secure-runtime-v2.toml's tables to containerd's config), then restart containerd",
             "containerd's config (%s) has no CRI runtime of type io.containerd.secure.v2",
             containerd_config ? containerd_config : "its default");
    else
        line(r, LEVEL_OK, "cri runtime", NULL, "handler %s: io.containerd.secure.v2",
             handlers->str);
    for (guint i = 0; i < c.host_devices->len; i++)
        line(r, LEVEL_WARN, "cri runtime", "privileged_without_host_devices = true in its table",
             "handler '%s' passes the host's devices to privileged containers (the runtime leaves "
             "them out)",
             (char *)c.host_devices->pdata[i]);
    check_cni(r, &c);
    tool_containerd_clear(&c);
}

static void check_boot(Report *r, const ShimConfig *config)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *console = NULL;
    double seconds;

    if (tool_boot(config, &seconds, &console, &error))
        line(r, LEVEL_OK, "boot", NULL,
             "a throwaway pod VM booted; its agent answered after %.2f s", seconds);
    else
        line(r, LEVEL_FAIL, "boot", "see the message and the guest console above", "%s%s%s",
             error->message, console ? "\n--- guest console, last lines:\n" : "",
             console ? console : "");
}

int tool_check(int argc, char **argv)
{
    g_autofree char *config_arg = NULL, *containerd_config = NULL;
    gboolean boot = FALSE;
    const GOptionEntry entries[] = {
        {"config", 0, 0, G_OPTION_ARG_FILENAME, &config_arg,
         "the runtime's config file (default: where the shim finds it)", "FILE"},
        {"containerd-config", 0, 0, G_OPTION_ARG_FILENAME, &containerd_config,
         "containerd's config (default: containerd's own default)", "FILE"},
        {"boot", 0, 0, G_OPTION_ARG_NONE, &boot, "also boot a throwaway pod VM and time it", NULL},
        G_OPTION_ENTRY_NULL};
    g_autoptr(GError) error = NULL;
    Report r = {0};
    gboolean vm_ready = FALSE;

    if (!tool_parse_options("check", "- is this host ready for pods?", entries, &argc, &argv, 0))
        return 2;
    /* libvirt's own log lines (its cgroup probe in embedded mode, a lookup at teardown) would
     * read as failures here; what fails is a FAIL line. LIBVIRT_LOG_OUTPUTS set wins. */
    g_setenv("LIBVIRT_LOG_OUTPUTS", "4:file:/dev/null", FALSE);
    g_autofree char *config_path = shim_config_find(config_arg);
    g_autoptr(ShimConfig) config = shim_config_load(config_path, &error);
    if (config)
        line(&r, LEVEL_OK, "config", NULL, "%s", config_path);
    else
        line(&r, LEVEL_FAIL, "config", "correct the file (`secure-container env` lists the keys)",
             "%s", error->message);
    check_kvm(&r, config);
    check_device(&r, "vhost-net", "/dev/vhost-net", LEVEL_WARN,
                 "QEMU moves the pods' network packets itself, slower", "modprobe vhost_net");
    check_device(&r, "vhost-vsock", "/dev/vhost-vsock", LEVEL_OK,
                 "not needed: the agent channel is virtio-serial", NULL);
    check_cgroup(&r);
    if (config) {
        VmmConfig defaults;
        vmm_config_init(&defaults);
        check_program(&r, "qemu", defaults.emulator, "apt-get install qemu-system-x86");
        if (config->shared_fs == SHIM_SHARED_FS_VIRTIOFS)
            check_program(&r, "virtiofsd", config->virtiofsd,
                          "apt-get install qemu-system-common, or set [hypervisor] "
                          "virtio_fs_daemon");
        check_libvirt(&r, config);
        check_guest_image(&r, config);
        vm_ready = check_as_shim(&r, config);
    }
    check_containerd(&r, containerd_config);
    if (boot && vm_ready)
        check_boot(&r, config);
    else if (boot)
        line(&r, LEVEL_FAIL, "boot", "fix the failures above first", "not tried");
    printf("%u failed, %u warnings\n", r.fails, r.warns);
    return r.fails ? 1 : 0;
}
