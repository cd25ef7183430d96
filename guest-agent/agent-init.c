/* PID 1 duties. Kept small: every step is one system call or one file, and a failure is either
 * logged (optional steps) or returned so that main() powers the VM off. */
#include "agent-init.h"
#include "agent-error.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CGROUP_ROOT "/sys/fs/cgroup"
#define PORT_WAIT_US (20 * G_USEC_PER_SEC)
#define PORT_POLL_US (20 * 1000)
#ifndef MODULE_INIT_COMPRESSED_FILE
#define MODULE_INIT_COMPRESSED_FILE 4
#endif

typedef struct {
    const char *source;
    const char *target;
    const char *type;
    unsigned long flags;
    const char *data;
} InitMount;

static const InitMount init_mounts[] = {
    {"proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
    {"sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
    {"devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755"},
    {"devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=0620,ptmxmode=0666"},
    {"shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"},
    {"tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"},
    {"cgroup2", CGROUP_ROOT, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, "nsdelegate"},
};

static gboolean init_mount_all(GError **error)
{
    for (gsize i = 0; i < G_N_ELEMENTS(init_mounts); i++) {
        const InitMount *m = &init_mounts[i];

        if (mkdir(m->target, 0755) < 0 && errno != EEXIST) {
            g_set_error(error, AGENT_ERROR, AGENT_ERROR_FAILED, "mkdir '%s': %s", m->target,
                        g_strerror(errno));
            return FALSE;
        }
        /* EBUSY: the kernel mounted it already (devtmpfs with CONFIG_DEVTMPFS_MOUNT). */
        if (mount(m->source, m->target, m->type, m->flags, m->data) < 0 && errno != EBUSY) {
            g_set_error(error, AGENT_ERROR, AGENT_ERROR_FAILED, "mount %s on '%s': %s", m->type,
                        m->target, g_strerror(errno));
            return FALSE;
        }
    }
    return TRUE;
}

/* Lets the containers' cgroups use every controller the kernel offers. */
static gboolean init_enable_controllers(GError **error)
{
    g_autofree char *controllers = NULL;
    g_auto(GStrv) names = NULL;
    g_autoptr(GString) enable = g_string_new(NULL);

    if (!g_file_get_contents(CGROUP_ROOT "/cgroup.controllers", &controllers, NULL, error))
        return FALSE;
    names = g_strsplit_set(g_strstrip(controllers), " ", -1);
    for (char **name = names; *name != NULL; name++) {
        if (**name != '\0')
            g_string_append_printf(enable, "%s+%s", enable->len > 0 ? " " : "", *name);
    }
    if (enable->len == 0)
        return TRUE;
    return g_file_set_contents_full(CGROUP_ROOT "/cgroup.subtree_control", enable->str, -1,
                                    G_FILE_SET_CONTENTS_NONE, 0644, error);
}

static void init_load_module(const char *path)
{
    int flags = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        g_printerr("secure-agent: open module '%s': %s\n", path, g_strerror(errno));
        return;
    }
    if (g_str_has_suffix(path, ".xz") || g_str_has_suffix(path, ".zst") ||
        g_str_has_suffix(path, ".gz"))
        flags |= MODULE_INIT_COMPRESSED_FILE;
    if (syscall(SYS_finit_module, fd, "", flags) < 0 && errno != EEXIST)
        g_printerr("secure-agent: load module '%s': %s\n", path, g_strerror(errno));
    close(fd);
}

/* A module that fails to load is logged, not fatal: what needs it fails later with a clearer
 * error (no agent port, no shared fs), and the console shows why. */
static void init_load_modules(void)
{
    g_autofree char *list = NULL;
    g_auto(GStrv) lines = NULL;
    g_autoptr(GError) error = NULL;

    if (!g_file_get_contents(AGENT_INIT_MODULES_FILE, &list, NULL, &error)) {
        if (!g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
            g_printerr("secure-agent: %s\n", error->message);
        return;
    }
    lines = g_strsplit(list, "\n", -1);
    for (char **line = lines; *line != NULL; line++) {
        g_strstrip(*line);
        if (**line == '/')
            init_load_module(*line);
    }
}

static gboolean init_loopback_up(GError **error)
{
    struct ifreq req = {0};
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    gboolean ok;

    if (fd < 0) {
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_FAILED, "socket: %s", g_strerror(errno));
        return FALSE;
    }
    g_strlcpy(req.ifr_name, "lo", sizeof(req.ifr_name));
    ok = ioctl(fd, SIOCGIFFLAGS, &req) == 0;
    req.ifr_flags |= IFF_UP | IFF_RUNNING;
    ok = ok && ioctl(fd, SIOCSIFFLAGS, &req) == 0;
    if (!ok)
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_FAILED, "bring up 'lo': %s", g_strerror(errno));
    close(fd);
    return ok;
}

/* pivot_root(2) refuses to move away a root that is the initial rootfs mount (it has no parent),
 * and every container's mount namespace starts as a copy of ours. So the agent first puts a bind
 * mount of the initramfs over it and chroots into that, as switch_root does with a real root. */
static gboolean init_leave_rootfs(GError **error)
{
    static const char bind_dir[] = "/.sc-root";

    if ((mkdir(bind_dir, 0700) < 0 && errno != EEXIST) ||
        mount("/", bind_dir, NULL, MS_BIND, NULL) < 0 || chdir(bind_dir) < 0 ||
        mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 || chdir("/") < 0) {
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_FAILED, "move the root off the initramfs: %s",
                    g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

gboolean agent_init_setup(GError **error)
{
    g_autoptr(GError) local_error = NULL;

    if (!init_leave_rootfs(error) || !init_mount_all(error))
        return FALSE;
    init_load_modules();
    if (!init_enable_controllers(&local_error))
        g_printerr("secure-agent: enable cgroup controllers: %s\n", local_error->message);
    return init_loopback_up(error);
}

/* The value of "@key=" among the words of @cmdline, or NULL. */
static char *init_cmdline_value(const char *cmdline, const char *key)
{
    g_auto(GStrv) words = g_strsplit_set(cmdline, " \t\n", -1);
    g_autofree char *prefix = g_strconcat(key, "=", NULL);

    for (char **word = words; *word != NULL; word++) {
        if (g_str_has_prefix(*word, prefix))
            return g_strdup(*word + strlen(prefix));
    }
    return NULL;
}

gboolean agent_init_parse_cmdline(const char *cmdline, char **out_port_name, guint *out_vsock_port,
                                  GError **error)
{
    g_autofree char *vsock = init_cmdline_value(cmdline, "sc.agent_vsock");
    g_autofree char *name = init_cmdline_value(cmdline, "sc.agent_port");
    guint64 port;

    *out_port_name = NULL;
    *out_vsock_port = 0;
    if (vsock != NULL) {
        if (!g_ascii_string_to_unsigned(vsock, 10, 1, G_MAXUINT32, &port, error)) {
            g_prefix_error(error, "sc.agent_vsock: ");
            return FALSE;
        }
        *out_vsock_port = port;
        return TRUE;
    }
    if (name != NULL && name[0] == '\0') {
        g_set_error_literal(error, AGENT_ERROR, AGENT_ERROR_INVALID, "sc.agent_port is empty");
        return FALSE;
    }
    *out_port_name = name != NULL ? g_steal_pointer(&name) : g_strdup(AGENT_INIT_PORT_NAME);
    return TRUE;
}

/* The /dev node of the virtio-serial port called @name, or NULL while there is none. */
static char *init_port_path(const char *name)
{
    g_autoptr(GDir) dir = g_dir_open("/sys/class/virtio-ports", 0, NULL);
    const char *entry;

    while (dir != NULL && (entry = g_dir_read_name(dir)) != NULL) {
        g_autofree char *name_file = g_strdup_printf("/sys/class/virtio-ports/%s/name", entry);
        g_autofree char *port_name = NULL;
        g_autofree char *dev = g_strdup_printf("/dev/%s", entry);

        if (!g_file_get_contents(name_file, &port_name, NULL, NULL))
            continue;
        if (g_strcmp0(g_strstrip(port_name), name) == 0 && access(dev, F_OK) == 0)
            return g_steal_pointer(&dev);
    }
    return NULL;
}

gboolean agent_init_find_channel(char **out_port_path, guint *out_vsock_port, GError **error)
{
    g_autofree char *cmdline = NULL;
    g_autofree char *name = NULL;
    gint64 deadline = g_get_monotonic_time() + PORT_WAIT_US;

    *out_port_path = NULL;
    if (!g_file_get_contents("/proc/cmdline", &cmdline, NULL, error) ||
        !agent_init_parse_cmdline(cmdline, &name, out_vsock_port, error))
        return FALSE;
    if (name == NULL)
        return TRUE;
    /* The port and its /dev node appear asynchronously after virtio_console binds. */
    while ((*out_port_path = init_port_path(name)) == NULL) {
        if (g_get_monotonic_time() > deadline) {
            g_set_error(error, AGENT_ERROR, AGENT_ERROR_NOT_FOUND,
                        "no virtio-serial port named '%s' under /sys/class/virtio-ports", name);
            return FALSE;
        }
        g_usleep(PORT_POLL_US);
    }
    return TRUE;
}

void agent_init_power_off(void)
{
    g_printerr("secure-agent: powering off\n");
    sync();
    reboot(RB_POWER_OFF);
    /* Only reached if reboot() failed: exiting as PID 1 makes the kernel panic, which with
     * panic=1 ends the VM as well. */
    _exit(1);
}
