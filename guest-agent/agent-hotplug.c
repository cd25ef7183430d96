/* Onlining hot-plugged CPUs and memory. Everything is read from sysfs and procfs as text and
 * checked before use, and the uevents that trigger the work are taken from the kernel only.
 * Requests wait on the loop: a timer re-reads what the guest has while any is pending, and the
 * loop is idle otherwise. */
#include "agent-hotplug.h"
#include "agent-error.h"
#include "agent-proc.h"
#include "common-fd.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <linux/netlink.h>
#include <string.h>
#include <unistd.h>

#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#define CPU_ID_MAX 8191     /* CONFIG_NR_CPUS is at most 8192 */
#define DEVICE_DIGITS_MAX 9 /* of cpuN and memoryN */
#define UEVENT_GROUP 1      /* the kernel's own uevents (udev re-sends them on 2) */
/* Lost uevents are survivable (the next request looks at every device), so the buffer only needs
 * to hold a burst: a virtio-mem plug of many blocks announces each. */
#define UEVENT_RCVBUF (256 * 1024)
#define MIB (1024 * 1024)

/* One kind of hot-pluggable device: devices below @dir named @prefix + number, each with a
 * control file that holds @offline, @online or one of @others. */
typedef struct {
    const char *dir;
    const char *prefix;
    const char *file;
    const char *offline;
    const char *online;
    const char *others[2];
} HotplugKind;

static const HotplugKind hotplug_cpu = {
    "devices/system/cpu", "cpu", "online", "0", "1", {NULL},
};
static const HotplugKind hotplug_memory = {
    "devices/system/memory", "memory", "state", "offline", "online", {"going-offline", NULL},
};

typedef struct {
    guint vcpus;
    guint64 memory_bytes;
    guint timeout_ms;
    gint64 deadline; /* monotonic */
    AgentHotplugFunc func;
    gpointer user_data;
} HotplugRequest;

struct _AgentHotplug {
    GMainContext *context;
    char *sysfs;
    char *meminfo;
    gboolean may_change;
    guint64 boot_memory_total;
    struct nl_sock *uevents;
    GSource *uevent_source;
    GSource *poll_source; /* only while requests are pending */
    GQueue requests;      /* HotplugRequest */
};

/* A one-line sysfs file without its newline. */
static gboolean hotplug_read_line(const char *path, char **out_text, GError **error)
{
    g_autofree char *text = NULL;
    gsize len;

    if (!g_file_get_contents(path, &text, &len, error))
        return FALSE;
    if (len > 0 && text[len - 1] == '\n')
        text[--len] = '\0';
    if (strlen(text) != len || strchr(text, '\n') != NULL)
        return agent_proc_malformed(error, path, text);
    *out_text = g_steal_pointer(&text);
    return TRUE;
}

/* Writes @value to the sysfs attribute @path in one write(), as `echo 1 > online` does; never
 * creates a file. */
static gboolean hotplug_write(const char *path, const char *value, GError **error)
{
    gsize len = strlen(value);
    int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
    gssize written = fd < 0 ? -1 : write(fd, value, len);
    int err = errno;

    common_fd_close(&fd);
    if (written == (gssize)len)
        return TRUE;
    g_set_error(error, AGENT_ERROR, AGENT_ERROR_FAILED, "write '%s' to '%s': %s", value, path,
                written < 0 ? g_strerror(err) : "short write");
    return FALSE;
}

/* "cpu12" for hotplug_cpu; not "cpufreq", "cpu", "cpu1a". */
static gboolean hotplug_is_device(const HotplugKind *kind, const char *name)
{
    gsize prefix_len = strlen(kind->prefix);
    gsize digits;

    if (strncmp(name, kind->prefix, prefix_len) != 0)
        return FALSE;
    digits = strspn(name + prefix_len, "0123456789");
    return digits > 0 && digits <= DEVICE_DIGITS_MAX && name[prefix_len + digits] == '\0';
}

/* Onlines device @name if it is offline; sets *@out_onlined to whether it did. A device without
 * the control file (a CPU that cannot go offline, or one just removed) is left alone, and so is
 * one that refuses to go online: the kernel onlines hot-plugged memory itself, and a block it is
 * still adding or onlining refuses the write (ENODEV, EINVAL were seen). The caller decides by
 * what is online in the end, not by the write. */
static gboolean hotplug_online_device(const char *sysfs, const HotplugKind *kind, const char *name,
                                      gboolean *out_onlined, GError **error)
{
    g_autofree char *path = g_build_filename(sysfs, kind->dir, name, kind->file, NULL);
    g_autoptr(GError) read_error = NULL;
    g_autofree char *state = NULL;

    *out_onlined = FALSE;
    if (!hotplug_read_line(path, &state, &read_error)) {
        if (g_error_matches(read_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
            return TRUE;
        g_propagate_error(error, g_steal_pointer(&read_error));
        return FALSE;
    }
    if (g_str_equal(state, kind->offline)) {
        g_autoptr(GError) write_error = NULL;

        *out_onlined = hotplug_write(path, kind->online, &write_error);
        if (!*out_onlined)
            g_debug("%s", write_error->message);
        return TRUE;
    }
    if (g_str_equal(state, kind->online) || g_strv_contains(kind->others, state))
        return TRUE;
    return agent_proc_malformed(error, path, state);
}

static gboolean hotplug_online_all(const char *sysfs, const HotplugKind *kind, guint *out_onlined,
                                   GError **error)
{
    g_autofree char *path = g_build_filename(sysfs, kind->dir, NULL);
    g_autoptr(GDir) dir = g_dir_open(path, 0, error);
    const char *name;
    guint onlined = 0;

    if (dir == NULL)
        return FALSE;
    while ((name = g_dir_read_name(dir)) != NULL) {
        gboolean done;

        if (!hotplug_is_device(kind, name))
            continue;
        if (!hotplug_online_device(sysfs, kind, name, &done, error))
            return FALSE;
        onlined += done;
    }
    *out_onlined = onlined;
    return TRUE;
}

gboolean agent_hotplug_online_cpus(const char *sysfs, guint *out_onlined, GError **error)
{
    return hotplug_online_all(sysfs, &hotplug_cpu, out_onlined, error);
}

gboolean agent_hotplug_online_memory(const char *sysfs, guint *out_onlined, GError **error)
{
    return hotplug_online_all(sysfs, &hotplug_memory, out_onlined, error);
}

/* "N" or "N-M" with N <= M. */
static gboolean hotplug_parse_range(const char *range, guint64 *out_first, guint64 *out_last)
{
    g_auto(GStrv) ends = g_strsplit(range, "-", 2);

    if (ends[0] == NULL || !g_ascii_string_to_unsigned(ends[0], 10, 0, CPU_ID_MAX, out_first, NULL))
        return FALSE;
    *out_last = *out_first;
    return ends[1] == NULL ||
           g_ascii_string_to_unsigned(ends[1], 10, *out_first, CPU_ID_MAX, out_last, NULL);
}

gboolean agent_hotplug_parse_cpu_list(const char *path, const char *text, guint *out_count,
                                      GError **error)
{
    g_auto(GStrv) ranges = g_strsplit(text, ",", -1);
    guint64 next = 0; /* the lowest id the next range may start at */
    guint count = 0;

    if (ranges[0] == NULL)
        return agent_proc_malformed(error, path, text);
    for (char **range = ranges; *range != NULL; range++) {
        guint64 first;
        guint64 last;

        if (!hotplug_parse_range(*range, &first, &last) || first < next)
            return agent_proc_malformed(error, path, text);
        count += last - first + 1;
        next = last + 1;
    }
    *out_count = count;
    return TRUE;
}

gboolean agent_hotplug_count_cpus(const char *sysfs, guint *out_count, GError **error)
{
    g_autofree char *path = g_build_filename(sysfs, "devices/system/cpu/online", NULL);
    g_autofree char *text = NULL;

    return hotplug_read_line(path, &text, error) &&
           agent_hotplug_parse_cpu_list(path, text, out_count, error);
}

/* MemTotal in bytes. */
static gboolean hotplug_mem_total(const char *meminfo, guint64 *out_bytes, GError **error)
{
    guint64 kib;

    if (!agent_proc_read_kib(meminfo, "MemTotal", &kib, error))
        return FALSE;
    *out_bytes = kib * 1024;
    return TRUE;
}

/* ---- requests */

static guint64 hotplug_plugged(const AgentHotplugResources *have)
{
    /* MemTotal can also shrink (a balloon): then nothing counts as hot-plugged. */
    return have->memory_total > have->boot_memory_total
               ? have->memory_total - have->boot_memory_total
               : 0;
}

static gboolean hotplug_measure(AgentHotplug *hotplug, AgentHotplugResources *out_have,
                                GError **error)
{
    out_have->boot_memory_total = hotplug->boot_memory_total;
    return agent_hotplug_count_cpus(hotplug->sysfs, &out_have->cpus_online, error) &&
           hotplug_mem_total(hotplug->meminfo, &out_have->memory_total, error);
}

static gboolean hotplug_online_everything(AgentHotplug *hotplug, GError **error)
{
    guint cpus;
    guint blocks;

    if (!agent_hotplug_online_cpus(hotplug->sysfs, &cpus, error) ||
        !agent_hotplug_online_memory(hotplug->sysfs, &blocks, error))
        return FALSE;
    if (cpus > 0 || blocks > 0)
        g_debug("onlined %u CPUs and %u memory blocks", cpus, blocks);
    return TRUE;
}

static gboolean hotplug_on_poll(gpointer data);

static void hotplug_set_polling(AgentHotplug *hotplug, gboolean on)
{
    if (on && hotplug->poll_source == NULL) {
        hotplug->poll_source = g_timeout_source_new(AGENT_HOTPLUG_POLL_MS);
        g_source_set_callback(hotplug->poll_source, hotplug_on_poll, hotplug, NULL);
        g_source_attach(hotplug->poll_source, hotplug->context);
    } else if (!on && hotplug->poll_source != NULL) {
        g_source_destroy(hotplug->poll_source);
        g_clear_pointer(&hotplug->poll_source, g_source_unref);
    }
}

/* Takes @link's request off the queue and calls it back. */
static void hotplug_complete(AgentHotplug *hotplug, GList *link, const AgentHotplugResources *have,
                             const GError *error)
{
    g_autofree HotplugRequest *request = link->data;

    g_queue_delete_link(&hotplug->requests, link);
    request->func(error == NULL ? have : NULL, error, request->user_data);
}

static void hotplug_time_out(AgentHotplug *hotplug, GList *link, const AgentHotplugResources *have)
{
    const HotplugRequest *request = link->data;
    g_autoptr(GError) error =
        g_error_new(AGENT_ERROR, AGENT_ERROR_TIMED_OUT,
                    "%u of %u CPUs online, %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
                    " MiB hot-plugged memory after %u ms",
                    have->cpus_online, request->vcpus, hotplug_plugged(have) / MIB,
                    (request->memory_bytes + MIB - 1) / MIB, request->timeout_ms);

    hotplug_complete(hotplug, link, have, error);
}

static void hotplug_fail_all(AgentHotplug *hotplug, const GError *error)
{
    while (!g_queue_is_empty(&hotplug->requests))
        hotplug_complete(hotplug, hotplug->requests.head, NULL, error);
    hotplug_set_polling(hotplug, FALSE);
}

/* Completes the requests that the guest now satisfies or whose time is up. */
static void hotplug_update(AgentHotplug *hotplug)
{
    g_autoptr(GError) error = NULL;
    AgentHotplugResources have;
    gint64 now = g_get_monotonic_time();
    GList *next;

    if (g_queue_is_empty(&hotplug->requests))
        return;
    if (!hotplug_measure(hotplug, &have, &error)) {
        hotplug_fail_all(hotplug, error);
        return;
    }
    for (GList *link = hotplug->requests.head; link != NULL; link = next) {
        const HotplugRequest *request = link->data;

        next = link->next;
        if (have.cpus_online >= request->vcpus && hotplug_plugged(&have) >= request->memory_bytes)
            hotplug_complete(hotplug, link, &have, NULL);
        else if (now >= request->deadline)
            hotplug_time_out(hotplug, link, &have);
    }
    hotplug_set_polling(hotplug, !g_queue_is_empty(&hotplug->requests));
}

static gboolean hotplug_on_poll(gpointer data)
{
    hotplug_update(data);
    return G_SOURCE_CONTINUE;
}

/* ---- kernel uevents */

/* The device name at the end of @devpath ("devices/system/cpu/cpu3") if it names a device of
 * @kind, else NULL. */
static const char *hotplug_device_in(const HotplugKind *kind, const char *devpath)
{
    gsize dir_len = strlen(kind->dir);

    if (strncmp(devpath, kind->dir, dir_len) != 0 || devpath[dir_len] != '/' ||
        !hotplug_is_device(kind, devpath + dir_len + 1))
        return NULL;
    return devpath + dir_len + 1;
}

/* A kernel uevent is "ACTION@DEVPATH\0" and then KEY=VALUE\0 pairs; the first part says it all.
 * A hot-added CPU is "add@/devices/system/cpu/cpu3", a memory block
 * "add@/devices/system/memory/memory40". */
static void hotplug_on_uevent_message(AgentHotplug *hotplug, const char *message, gsize len)
{
    static const HotplugKind *const kinds[] = {&hotplug_cpu, &hotplug_memory};
    g_autoptr(GError) error = NULL;
    const char *devpath;
    gboolean onlined;

    if (memchr(message, '\0', len) == NULL || !g_str_has_prefix(message, "add@/"))
        return;
    devpath = message + strlen("add@/");
    for (gsize i = 0; i < G_N_ELEMENTS(kinds); i++) {
        const char *name = hotplug_device_in(kinds[i], devpath);

        if (name == NULL)
            continue;
        if (!hotplug_online_device(hotplug->sysfs, kinds[i], name, &onlined, &error))
            g_debug("hot-plugged %s: %s", name, error->message);
        else if (onlined)
            g_debug("onlined hot-plugged %s", name);
        return;
    }
}

static gboolean hotplug_on_uevent(gint fd, GIOCondition condition, gpointer data)
{
    AgentHotplug *hotplug = data;
    g_autoptr(GError) error = NULL;
    struct sockaddr_nl peer;
    unsigned char *message = NULL;
    int len;

    (void)fd;
    (void)condition;
    while ((len = nl_recv(hotplug->uevents, &peer, &message, NULL)) > 0) {
        /* Processes with CAP_NET_ADMIN may send to the group too; the kernel's port is 0. */
        if (peer.nl_pid == 0)
            hotplug_on_uevent_message(hotplug, (const char *)message, len);
        g_clear_pointer(&message, free);
    }
    /* Anything but "no more" means lost events (ENOBUFS): look at every device instead. */
    if (len < 0 && len != -NLE_AGAIN) {
        g_debug("kernel uevents: %s", nl_geterror(len));
        if (!hotplug_online_everything(hotplug, &error))
            g_debug("%s", error->message);
    }
    hotplug_update(hotplug);
    return G_SOURCE_CONTINUE;
}

static gboolean hotplug_listen(AgentHotplug *hotplug, GError **error)
{
    int err = -NLE_NOMEM;

    hotplug->uevents = nl_socket_alloc();
    if (hotplug->uevents == NULL ||
        (err = nl_connect(hotplug->uevents, NETLINK_KOBJECT_UEVENT)) < 0 ||
        (err = nl_socket_add_membership(hotplug->uevents, UEVENT_GROUP)) < 0 ||
        (err = nl_socket_set_nonblocking(hotplug->uevents)) < 0 ||
        (err = nl_socket_set_buffer_size(hotplug->uevents, UEVENT_RCVBUF, 0)) < 0) {
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_FAILED, "kernel uevent socket: %s",
                    nl_geterror(err));
        return FALSE;
    }
    hotplug->uevent_source = g_unix_fd_source_new(nl_socket_get_fd(hotplug->uevents), G_IO_IN);
    g_source_set_callback(hotplug->uevent_source, G_SOURCE_FUNC(hotplug_on_uevent), hotplug, NULL);
    g_source_attach(hotplug->uevent_source, hotplug->context);
    return TRUE;
}

/* ---- the API */

AgentHotplug *agent_hotplug_new(GMainContext *context, const AgentHotplugOptions *options,
                                GError **error)
{
    g_autoptr(AgentHotplug) hotplug = g_new0(AgentHotplug, 1);

    hotplug->context = context;
    hotplug->sysfs = g_strdup(options->sysfs != NULL ? options->sysfs : "/sys");
    hotplug->meminfo = g_strdup(options->meminfo != NULL ? options->meminfo : "/proc/meminfo");
    hotplug->may_change = options->may_change;
    g_queue_init(&hotplug->requests);
    if (hotplug->may_change &&
        !hotplug_mem_total(hotplug->meminfo, &hotplug->boot_memory_total, error))
        return NULL;
    if (options->listen_uevents && !hotplug_listen(hotplug, error))
        return NULL;
    return g_steal_pointer(&hotplug);
}

void agent_hotplug_free(AgentHotplug *hotplug)
{
    g_autoptr(GError) error = NULL;

    if (hotplug == NULL)
        return;
    error = g_error_new_literal(AGENT_ERROR, AGENT_ERROR_STATE, "the agent is shutting down");
    hotplug_fail_all(hotplug, error);
    if (hotplug->uevent_source != NULL) {
        g_source_destroy(hotplug->uevent_source);
        g_source_unref(hotplug->uevent_source);
    }
    nl_socket_free(hotplug->uevents);
    g_free(hotplug->sysfs);
    g_free(hotplug->meminfo);
    g_free(hotplug);
}

static gboolean hotplug_check(guint vcpus, guint64 memory_bytes, guint timeout_ms, GError **error)
{
    if (vcpus < 1 || vcpus > AGENT_HOTPLUG_VCPUS_MAX)
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_INVALID, "vcpus %u is outside 1..%u", vcpus,
                    AGENT_HOTPLUG_VCPUS_MAX);
    else if (memory_bytes > AGENT_HOTPLUG_MEMORY_MAX)
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_INVALID,
                    "hotplugged_memory_bytes %" G_GUINT64_FORMAT " is more than 1 TiB",
                    memory_bytes);
    else if (timeout_ms < 1 || timeout_ms > AGENT_HOTPLUG_TIMEOUT_MS_MAX)
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_INVALID, "timeout_ms %u is outside 1..%u",
                    timeout_ms, AGENT_HOTPLUG_TIMEOUT_MS_MAX);
    else
        return TRUE;
    return FALSE;
}

void agent_hotplug_online(AgentHotplug *hotplug, guint vcpus, guint64 memory_bytes,
                          guint timeout_ms, AgentHotplugFunc func, gpointer user_data)
{
    g_autoptr(GError) error = NULL;
    HotplugRequest *request;

    if (!hotplug_check(vcpus, memory_bytes, timeout_ms, &error) ||
        !agent_error_may_change(hotplug->may_change, "onlines no CPUs or memory", &error) ||
        !hotplug_online_everything(hotplug, &error)) {
        func(NULL, error, user_data);
        return;
    }
    request = g_new0(HotplugRequest, 1);
    request->vcpus = vcpus;
    request->memory_bytes = memory_bytes;
    request->timeout_ms = timeout_ms;
    request->deadline = g_get_monotonic_time() + timeout_ms * G_TIME_SPAN_MILLISECOND;
    request->func = func;
    request->user_data = user_data;
    g_queue_push_tail(&hotplug->requests, request);
    hotplug_update(hotplug);
}
