/* VmmConfig -> libvirt domain XML, as a pure function of the config (golden-tested). */
#include <sys/un.h>

#include "common-id.h"
#include "vmm-internal.h"

#define MEMORY_MIN_MIB 64
#define MEMORY_MAX_MIB (1024 * 1024)
#define VCPUS_MAX 255
#define VSOCK_CID_MIN 3
#define MAC_TEXT_LEN 17
/* Every PCI device of ours sits at a fixed slot of the root bus: on q35 libvirt would otherwise
 * put each behind a pcie-root-port of its own and add a spare one (five ports for four devices),
 * bridges that the guest kernel has to enumerate and set up at boot (create to agent ready
 * 8.6 -> 6.9 s, medians of 3 boots on a loaded host; README.md). Nothing is ever hot-plugged
 * into these slots: NICs come with the domain, memory goes into the virtio-mem device. Slot 1
 * is pc's PIIX3, 0x1f q35's ICH9. */
enum {
    SLOT_AGENT = 0x02,
    SLOT_SHARED_FS,
    SLOT_RNG,
    SLOT_BALLOON,
    SLOT_NICS, /* NIC i at SLOT_NICS + i, up to VMM_NICS_MAX */
    SLOT_MEMORY_DEVICE = 0x1c,
};
G_STATIC_ASSERT(SLOT_NICS + VMM_NICS_MAX <= SLOT_MEMORY_DEVICE);
/* Every template, and every pod restored from one, has this UUID (libvirt restores under no
 * other); nothing else in the guest or on the host identifies a pod by it. */
#define TEMPLATE_UUID "5ec0c0de-0000-4000-8000-000000000001"
#define PCI_ADDRESS                                                                                \
    "      <address type='pci' domain='0x0000' bus='0x00' slot='0x%02x' function='0x0'/>\n"

/* A network device name as the kernel takes it (IFNAMSIZ - 1), in a conservative charset. */
/* "aa:bb:cc:dd:ee:ff", lower-case: the form libvirt writes back, so the XML is canonical. */
static gboolean mac_valid(const char *mac)
{
    if (mac == NULL || strlen(mac) != MAC_TEXT_LEN)
        return FALSE;
    for (gsize i = 0; i < MAC_TEXT_LEN; i++) {
        gboolean ok =
            i % 3 == 2 ? mac[i] == ':' : g_ascii_isxdigit(mac[i]) && !g_ascii_isupper(mac[i]);

        if (!ok)
            return FALSE;
    }
    return TRUE;
}

static gboolean nics_valid(const VmmConfig *c, GError **error)
{
    if (c->n_nics > VMM_NICS_MAX || (c->n_nics > 0 && c->nics == NULL)) {
        g_set_error(error, VMM_ERROR, VMM_ERROR_INVALID_CONFIG, "%zu NICs, at most %d", c->n_nics,
                    VMM_NICS_MAX);
        return FALSE;
    }
    if (c->netns != NULL && !g_path_is_absolute(c->netns)) {
        g_set_error(error, VMM_ERROR, VMM_ERROR_INVALID_CONFIG,
                    "network namespace '%s' is not an absolute path", c->netns);
        return FALSE;
    }
    for (gsize i = 0; i < c->n_nics; i++) {
        const VmmNic *nic = &c->nics[i];

        if (!common_ifname_is_valid(nic->tap)) {
            g_set_error(error, VMM_ERROR, VMM_ERROR_INVALID_CONFIG,
                        "NIC %zu: tap '%s' is not 1..%d bytes of [A-Za-z0-9_.-]", i,
                        nic->tap != NULL ? nic->tap : "(unset)", COMMON_IFNAME_MAX);
            return FALSE;
        }
        if (!mac_valid(nic->mac)) {
            g_set_error(error, VMM_ERROR, VMM_ERROR_INVALID_CONFIG,
                        "NIC %zu: MAC '%s' is not aa:bb:cc:dd:ee:ff in lower-case hex", i,
                        nic->mac != NULL ? nic->mac : "(unset)");
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean absolute_path(const char *path)
{
    return path != NULL && g_path_is_absolute(path);
}

static gboolean check_path(const char *what, const char *path, GError **error)
{
    if (absolute_path(path))
        return TRUE;
    g_set_error(error, VMM_ERROR, VMM_ERROR_INVALID_CONFIG, "%s '%s' is not an absolute path", what,
                path != NULL ? path : "(unset)");
    return FALSE;
}

/* The hot-plug ceilings: 0 (none) or at least what the VM boots with. */
static gboolean hotplug_valid(const VmmConfig *c, GError **error)
{
    if (c->max_memory_mib != 0 &&
        (c->max_memory_mib < c->memory_mib || c->max_memory_mib > MEMORY_MAX_MIB)) {
        g_set_error(error, VMM_ERROR, VMM_ERROR_INVALID_CONFIG,
                    "maximum memory %u MiB out of range (0 for none, or %u..%u MiB)",
                    c->max_memory_mib, c->memory_mib, MEMORY_MAX_MIB);
        return FALSE;
    }
    if (c->max_vcpus != 0 && (c->max_vcpus < c->vcpus || c->max_vcpus > VCPUS_MAX)) {
        g_set_error(error, VMM_ERROR, VMM_ERROR_INVALID_CONFIG,
                    "maximum vcpus %u out of range (0 for none, or %u..%u)", c->max_vcpus, c->vcpus,
                    VCPUS_MAX);
        return FALSE;
    }
    return TRUE;
}

static gboolean template_valid(const VmmConfig *c, GError **error)
{
    const char *why = NULL;

    if (!c->template_layout)
        return TRUE;
    if (c->uri != NULL)
        why = "the embedded driver";
    else if (strcmp(c->machine, "q35") != 0)
        why = "machine q35";
    else if (c->shared_fs == VMM_SHARED_FS_VIRTIOFS)
        why = "virtio-9p or no shared directory, not virtio-fs";
    else if (c->n_nics > VMM_TEMPLATE_NICS_MAX)
        why = "at most " G_STRINGIFY(VMM_TEMPLATE_NICS_MAX) " NIC";
    if (why == NULL)
        return TRUE;
    g_set_error(error, VMM_ERROR, VMM_ERROR_INVALID_CONFIG, "a VM template needs %s", why);
    return FALSE;
}

static gboolean config_valid(const VmmConfig *c, GError **error)
{
    struct sockaddr_un addr;
    g_autofree char *socket_path = NULL;

    if (!common_id_check("VM name", c->name, VMM_ERROR, VMM_ERROR_INVALID_CONFIG, error))
        return FALSE;
    if (!check_path("run directory", c->run_dir, error) ||
        !check_path("kernel", c->kernel, error) || !check_path("initrd", c->initrd, error) ||
        !check_path("emulator", c->emulator, error))
        return FALSE;
    if (c->memory_mib < MEMORY_MIN_MIB || c->memory_mib > MEMORY_MAX_MIB || c->vcpus < 1 ||
        c->vcpus > VCPUS_MAX) {
        g_set_error(error, VMM_ERROR, VMM_ERROR_INVALID_CONFIG,
                    "memory %u MiB / %u vcpus out of range (%u..%u MiB, 1..%u vcpus)",
                    c->memory_mib, c->vcpus, MEMORY_MIN_MIB, MEMORY_MAX_MIB, VCPUS_MAX);
        return FALSE;
    }
    if (!hotplug_valid(c, error))
        return FALSE;
    if (c->accel == VMM_ACCEL_AUTO || c->accel >= VMM_ACCEL_LAST) {
        g_set_error(error, VMM_ERROR, VMM_ERROR_INVALID_CONFIG,
                    "accelerator must be resolved to kvm or tcg before generating XML");
        return FALSE;
    }
    if (!common_id_is_valid(c->machine)) {
        g_set_error(error, VMM_ERROR, VMM_ERROR_INVALID_CONFIG, "machine type '%s' is invalid",
                    c->machine != NULL ? c->machine : "(unset)");
        return FALSE;
    }
    if (c->shared_fs >= VMM_SHARED_FS_LAST || c->agent >= VMM_AGENT_LAST) {
        g_set_error(error, VMM_ERROR, VMM_ERROR_INVALID_CONFIG, "unknown shared fs or agent type");
        return FALSE;
    }
    if (c->shared_fs != VMM_SHARED_FS_NONE && !check_path("shared directory", c->shared_dir, error))
        return FALSE;
    if (c->shared_fs == VMM_SHARED_FS_VIRTIOFS && !check_path("virtiofsd", c->virtiofsd, error))
        return FALSE;
    if (c->agent == VMM_AGENT_VSOCK && (c->vsock_cid < VSOCK_CID_MIN || c->vsock_port == 0)) {
        g_set_error(error, VMM_ERROR, VMM_ERROR_INVALID_CONFIG,
                    "vsock cid %u / port %u invalid (cid >= %u, port > 0)", c->vsock_cid,
                    c->vsock_port, VSOCK_CID_MIN);
        return FALSE;
    }
    if (!nics_valid(c, error) || !template_valid(c, error))
        return FALSE;
    socket_path = vmm_config_agent_socket(c);
    if (strlen(socket_path) >= sizeof(addr.sun_path)) {
        g_set_error(error, VMM_ERROR, VMM_ERROR_INVALID_CONFIG,
                    "agent socket path '%s' is longer than %zu bytes: use a shorter run directory",
                    socket_path, sizeof(addr.sun_path) - 1);
        return FALSE;
    }
    return TRUE;
}

/* Appends @format with every %s argument XML-escaped. */
static void G_GNUC_PRINTF(2, 3) append_escaped(GString *xml, const char *format, ...)
{
    va_list args;
    g_autofree char *text = NULL;

    va_start(args, format);
    text = g_markup_vprintf_escaped(format, args);
    va_end(args);
    g_string_append(xml, text);
}

/* With a virtio-mem device the guest onlines what is plugged by itself, into ZONE_MOVABLE as
 * long as the movable:kernel ratio allows (auto-movable), so that it can be unplugged again,
 * else into a kernel zone, so that a large plug cannot starve the kernel of memory for its own
 * data (page tables, the plugged memory's struct pages); online_movable would risk that. The
 * device's region starts at 4 GiB, which makes the kernel set up a 64 MiB SWIOTLB bounce
 * buffer for devices that cannot reach above 4 GiB; our devices are all virtio, which does not
 * bounce (no DMA API without VIRTIO_F_ACCESS_PLATFORM), so noforce keeps that memory for the
 * guest. */
#define MEMORY_HOTPLUG_PARAMS                                                                      \
    " memhp_default_state=online memory_hotplug.online_policy=auto-movable swiotlb=noforce"

/* quiet: the console shows only errors and worse. Under TCG every byte printed on the emulated
 * UART is a trap into QEMU and a write() to the log file, for ~30 KB of boot messages: create
 * to agent ready 8.6 -> 4.7 s (medians of 3 boots on a loaded host; README.md). A panic or an
 * oops is still printed in full (the kernel raises the console level for them), and the agent
 * writes its own lines to the console directly; loglevel=7 in kernel_params shows the rest.
 * cryptomgr.notests: the self-test of every crypto algorithm the kernel registers took 190 ms of
 * each TCG boot, for algorithms the guest barely uses (ignored in FIPS mode, which keeps them).
 * no_timer_check: the IO-APIC timer check waits about 20 ms for ticks on a timer that QEMU
 * emulates correctly. */
static char *kernel_cmdline(const VmmConfig *c)
{
    GString *cmdline = g_string_new("console=ttyS0 quiet panic=1 cryptomgr.notests no_timer_check");

    if (vmm_config_hotplug_mib(c) > 0)
        g_string_append(cmdline, MEMORY_HOTPLUG_PARAMS);
    if (c->agent == VMM_AGENT_VSOCK)
        g_string_append_printf(cmdline, " sc.agent_vsock=%u", c->vsock_port);
    if (c->kernel_params != NULL && c->kernel_params[0] != '\0')
        g_string_append_printf(cmdline, " %s", c->kernel_params);
    return g_string_free(cmdline, FALSE);
}

static void append_os(GString *xml, const VmmConfig *c)
{
    g_autofree char *cmdline = kernel_cmdline(c);

    append_escaped(xml,
                   "  <os>\n"
                   "    <type arch='x86_64' machine='%s'>hvm</type>\n"
                   "    <kernel>%s</kernel>\n"
                   "    <initrd>%s</initrd>\n"
                   "    <cmdline>%s</cmdline>\n"
                   "  </os>\n",
                   c->machine, c->kernel, c->initrd, cmdline);
}

/* A memory device needs a NUMA node to belong to: one cell holds every vCPU and the boot
 * memory. */
static void append_cpu(GString *xml, const VmmConfig *c)
{
    const char *mode = c->accel == VMM_ACCEL_KVM ? " mode='host-passthrough'" : "";

    if (vmm_config_hotplug_mib(c) == 0) {
        if (c->accel == VMM_ACCEL_KVM)
            g_string_append_printf(xml, "  <cpu%s/>\n", mode);
        return;
    }
    g_string_append_printf(xml,
                           "  <cpu%s>\n"
                           "    <numa>\n"
                           "      <cell id='0' cpus='0-%u' memory='%u' unit='MiB'/>\n"
                           "    </numa>\n"
                           "  </cpu>\n",
                           mode, vmm_config_max_vcpus(c) - 1, c->memory_mib);
}

static void append_features(GString *xml, const VmmConfig *c)
{
    g_string_append(xml, "  <features>\n    <acpi/>\n");
    /* QEMU reserves 1 GiB for translated code by default; a small guest needs far less. */
    if (c->accel == VMM_ACCEL_TCG)
        g_string_append_printf(xml,
                               "    <tcg>\n"
                               "      <tb-cache unit='MiB'>%u</tb-cache>\n"
                               "    </tcg>\n",
                               c->tcg_tb_cache_mib);
    g_string_append(xml, "  </features>\n");
    append_cpu(xml, c);
}

static void append_shared_fs(GString *xml, const VmmConfig *c)
{
    switch (c->shared_fs) {
    case VMM_SHARED_FS_VIRTIOFS:
        append_escaped(xml,
                       "    <filesystem type='mount' accessmode='passthrough'>\n"
                       "      <driver type='virtiofs'/>\n"
                       "      <binary path='%s'/>\n"
                       "      <source dir='%s'/>\n"
                       "      <target dir='%s'/>\n" PCI_ADDRESS "    </filesystem>\n",
                       c->virtiofsd, c->shared_dir, VMM_SHARED_FS_TAG, SLOT_SHARED_FS);
        break;
    case VMM_SHARED_FS_9P:
        append_escaped(xml,
                       "    <filesystem type='mount' accessmode='passthrough'>\n"
                       "      <driver type='path'/>\n"
                       "      <source dir='%s'/>\n"
                       "      <target dir='%s'/>\n" PCI_ADDRESS "    </filesystem>\n",
                       c->shared_dir, VMM_SHARED_FS_TAG, SLOT_SHARED_FS);
        break;
    case VMM_SHARED_FS_NONE:
    case VMM_SHARED_FS_LAST:
        break;
    }
}

static void append_agent_channel(GString *xml, const VmmConfig *c)
{
    g_autofree char *socket_path = NULL;

    if (c->agent == VMM_AGENT_VSOCK) {
        g_string_append_printf(xml,
                               "    <vsock model='virtio'>\n"
                               "      <cid auto='no' address='%u'/>\n" PCI_ADDRESS "    </vsock>\n",
                               c->vsock_cid, SLOT_AGENT);
        return;
    }
    socket_path = vmm_config_agent_socket(c);
    /* The port's virtio-serial controller, which libvirt would otherwise add by itself. */
    g_string_append_printf(
        xml, "    <controller type='virtio-serial' index='0'>\n" PCI_ADDRESS "    </controller>\n",
        SLOT_AGENT);
    append_escaped(xml,
                   "    <channel type='unix'>\n"
                   "      <source mode='bind' path='%s'/>\n"
                   "      <target type='virtio' name='%s'/>\n"
                   "    </channel>\n",
                   socket_path, VMM_AGENT_PORT_NAME);
}

/* A tap the caller made (managed='no': libvirt opens it by name and leaves it in place), at
 * @slot of PCI bus @bus. */
static void append_nic(GString *xml, const VmmNic *nic, guint bus, guint slot)
{
    append_escaped(xml,
                   "    <interface type='ethernet'>\n"
                   "      <mac address='%s'/>\n"
                   "      <target dev='%s' managed='no'/>\n"
                   "      <model type='virtio'/>\n",
                   nic->mac, nic->tap);
    g_string_append_printf(xml,
                           "      <address type='pci' domain='0x0000' bus='0x%02x' slot='0x%02x' "
                           "function='0x0'/>\n"
                           "    </interface>\n",
                           bus, slot);
}

/* A template's NIC goes behind the spare root port (PCI bus 1), the only place on q35 where
 * a device can be hot-plugged. */
char *vmm_xml_template_nic(const VmmNic *nic)
{
    GString *xml = g_string_new(NULL);

    append_nic(xml, nic, 1, 0);
    return g_string_free(xml, FALSE);
}

/* Cold boot: the NICs on the root bus. A template: an empty root port for one, attached after
 * the restore. */
static void append_nics(GString *xml, const VmmConfig *c)
{
    if (c->template_layout) {
        g_string_append_printf(
            xml,
            "    <controller type='pci' index='1' model='pcie-root-port'>\n" PCI_ADDRESS
            "    </controller>\n",
            SLOT_NICS);
        return;
    }
    for (gsize i = 0; i < c->n_nics; i++)
        append_nic(xml, &c->nics[i], 0, (guint)(SLOT_NICS + i));
}

/* libvirt 9.0 finds the device a live update means by its PCI address, not by its alias
 * ("memory 'ua-sc-mem' not found" otherwise), and wants every other field as it was; QEMU's
 * object is named by the alias. Both are therefore fixed here, so the update is a pure function
 * of the config too, with no need to read back the address libvirt would have assigned. The
 * slot is on the root bus, where libvirt places none of its own devices at 0x1c on q35 or pc
 * (it keeps 0x1e for a dmi-to-pci-bridge and 0x1f for the ICH9). */
void vmm_xml_append_memory_device(GString *xml, const VmmConfig *config, guint requested_mib)
{
    g_string_append_printf(xml,
                           "    <memory model='virtio-mem'>\n"
                           "      <target>\n"
                           "        <size unit='MiB'>%u</size>\n"
                           "        <node>0</node>\n"
                           "        <block unit='MiB'>%u</block>\n"
                           "        <requested unit='MiB'>%u</requested>\n"
                           "      </target>\n"
                           "      <alias name='%s'/>\n" PCI_ADDRESS "    </memory>\n",
                           vmm_config_hotplug_mib(config), VMM_MEMORY_BLOCK_MIB, requested_mib,
                           VMM_MEMORY_DEVICE_ALIAS, SLOT_MEMORY_DEVICE);
}

static void append_devices(GString *xml, const VmmConfig *c)
{
    g_autofree char *console_log = vmm_config_console_log(c);

    append_escaped(xml,
                   "  <devices>\n"
                   "    <emulator>%s</emulator>\n"
                   "    <controller type='usb' model='none'/>\n",
                   c->emulator);
    /* No inflating, only free page reporting: memory the guest frees (the unpacked initramfs,
     * a container's exited processes) goes back to the host instead of staying in QEMU's RSS. */
    g_string_append_printf(xml,
                           "    <memballoon model='virtio' freePageReporting='on'>\n" PCI_ADDRESS
                           "    </memballoon>\n",
                           SLOT_BALLOON);
    append_shared_fs(xml, c);
    append_escaped(xml,
                   "    <serial type='file'>\n"
                   "      <source path='%s'/>\n"
                   "      <target port='0'/>\n"
                   "    </serial>\n",
                   console_log);
    append_agent_channel(xml, c);
    append_nics(xml, c);
    if (vmm_config_hotplug_mib(c) > 0)
        vmm_xml_append_memory_device(xml, c, 0);
    /* Seeds the guest's RNG at once: without it the first getrandom() in the guest (json-c's
     * hash seed in the agent) waits ~1.1 s under TCG for the kernel to gather entropy. */
    g_string_append_printf(xml,
                           "    <rng model='virtio'>\n"
                           "      <backend model='random'>/dev/urandom</backend>\n" PCI_ADDRESS
                           "    </rng>\n"
                           "    <panic model='isa'/>\n"
                           "  </devices>\n",
                           SLOT_RNG);
}

/* With memory hot-plug, <memory> is the total that libvirt reports back (the NUMA cell's boot
 * memory plus the whole virtio-mem device), and also the ceiling. */
static void append_memory(GString *xml, const VmmConfig *c)
{
    guint hotplug = vmm_config_hotplug_mib(c);

    if (hotplug > 0)
        g_string_append_printf(xml, "  <maxMemory slots='1' unit='MiB'>%u</maxMemory>\n",
                               c->memory_mib + hotplug);
    g_string_append_printf(xml, "  <memory unit='MiB'>%u</memory>\n", c->memory_mib + hotplug);
    /* What libvirt itself records for a running domain (the boot memory), and therefore in a
     * saved one: a restore checks that the XML says the same. */
    if (hotplug > 0 && c->template_layout)
        g_string_append_printf(xml, "  <currentMemory unit='MiB'>%u</currentMemory>\n",
                               c->memory_mib);
}

/* The VM boots with @vcpus and can have up to max_vcpus. */
static void append_vcpu(GString *xml, const VmmConfig *c)
{
    if (vmm_config_max_vcpus(c) > c->vcpus)
        g_string_append_printf(xml, "  <vcpu current='%u'>%u</vcpu>\n", c->vcpus,
                               vmm_config_max_vcpus(c));
    else
        g_string_append_printf(xml, "  <vcpu>%u</vcpu>\n", c->vcpus);
}

char *vmm_domain_xml(const VmmConfig *config, GError **error)
{
    g_autoptr(GString) xml = NULL;
    g_autofree char *name = NULL;

    g_return_val_if_fail(config != NULL, NULL);

    if (!config_valid(config, error))
        return NULL;
    name = vmm_config_domain_name(config);
    xml = g_string_new(NULL);
    append_escaped(xml,
                   "<domain type='%s'>\n"
                   "  <name>%s</name>\n",
                   config->accel == VMM_ACCEL_KVM ? "kvm" : "qemu", name);
    if (config->template_layout)
        g_string_append(xml, "  <uuid>" TEMPLATE_UUID "</uuid>\n");
    append_memory(xml, config);
    /* virtiofsd maps guest memory, which therefore has to be shared memory. */
    if (config->shared_fs == VMM_SHARED_FS_VIRTIOFS)
        g_string_append(xml, "  <memoryBacking>\n"
                             "    <source type='memfd'/>\n"
                             "    <access mode='shared'/>\n"
                             "  </memoryBacking>\n");
    append_vcpu(xml, config);
    append_os(xml, config);
    append_features(xml, config);
    /* The guest never reboots: a panic or reboot ends the pod (panic=1 turns a panic into one). */
    g_string_append(xml, "  <on_poweroff>destroy</on_poweroff>\n"
                         "  <on_reboot>destroy</on_reboot>\n"
                         "  <on_crash>destroy</on_crash>\n");
    append_devices(xml, config);
    /* QEMU's uid and gid. relabel='no': libvirt chowns only its own files for QEMU (the
     * private directory with the monitor, the virtiofsd socket); the console log and the agent
     * socket it opens itself and hands over, and the kernel and initrd, which every pod shares
     * and reads, stay as they are (libvirt would otherwise make them the pod's). */
    g_string_append_printf(xml,
                           "  <seclabel type='static' model='dac' relabel='no'>\n"
                           "    <label>+%u:+%u</label>\n"
                           "  </seclabel>\n",
                           config->qemu_uid, config->qemu_gid);
    g_string_append(xml, "</domain>\n");
    return g_string_free(g_steal_pointer(&xml), FALSE);
}
