/* Memory and vCPU hot-plug of a running pod VM: the virtio-mem device's requested size and the
 * number of vCPUs present, each changed with one live libvirt call. */
#include "vmm-internal.h"

static gboolean check_running(VmmDomain *domain, GError **error)
{
    if (domain->running && domain->dom != NULL)
        return TRUE;
    g_set_error(error, VMM_ERROR, VMM_ERROR_STOPPED, "VM '%s' is not running", domain->name);
    return FALSE;
}

static gboolean memory_in_range(VmmDomain *domain, guint memory_mib, GError **error)
{
    const VmmConfig *c = &domain->config;
    guint max = c->memory_mib + vmm_config_hotplug_mib(c);

    if (memory_mib < c->memory_mib) {
        g_set_error(error, VMM_ERROR, VMM_ERROR_INVALID_CONFIG,
                    "memory %u MiB is below the VM's boot memory of %u MiB", memory_mib,
                    c->memory_mib);
        return FALSE;
    }
    if (memory_mib > max) {
        g_set_error(error, VMM_ERROR, VMM_ERROR_INVALID_CONFIG,
                    "memory %u MiB is above the VM's maximum of %u MiB", memory_mib, max);
        return FALSE;
    }
    return TRUE;
}

gboolean vmm_domain_set_memory(VmmDomain *domain, guint memory_mib, GError **error)
{
    const VmmConfig *c;
    g_autoptr(GString) xml = NULL;
    guint requested;

    g_return_val_if_fail(domain != NULL, FALSE);

    c = &domain->config;
    if (!memory_in_range(domain, memory_mib, error))
        return FALSE;
    /* Never above the device: the maximum is boot memory plus a whole number of blocks. */
    requested = (memory_mib - c->memory_mib + VMM_MEMORY_BLOCK_MIB - 1) / VMM_MEMORY_BLOCK_MIB *
                VMM_MEMORY_BLOCK_MIB;
    if (c->memory_mib + requested == domain->memory_mib)
        return TRUE;
    if (!check_running(domain, error))
        return FALSE;
    xml = g_string_new(NULL);
    vmm_xml_append_memory_device(xml, c, requested);
    if (virDomainUpdateDeviceFlags(domain->dom, xml->str, VIR_DOMAIN_AFFECT_LIVE) < 0) {
        g_set_error(error, VMM_ERROR, VMM_ERROR_FAILED, "set memory of VM '%s' to %u MiB: %s",
                    domain->name, memory_mib, vmm_libvirt_error());
        return FALSE;
    }
    domain->memory_mib = c->memory_mib + requested;
    return TRUE;
}

gboolean vmm_domain_set_vcpus(VmmDomain *domain, guint vcpus, GError **error)
{
    guint max;

    g_return_val_if_fail(domain != NULL, FALSE);

    max = vmm_config_max_vcpus(&domain->config);
    /* Unplugging waits for the guest to eject the CPU through ACPI, which took libvirt longer
     * than its 5 s under TCG: vCPUs only come. */
    if (vcpus < domain->vcpus || vcpus > max) {
        g_set_error(error, VMM_ERROR, VMM_ERROR_INVALID_CONFIG,
                    "%u vCPUs out of range: %u..%u (the %u present, up to the VM's maximum; "
                    "vCPUs are never removed)",
                    vcpus, domain->vcpus, max, domain->vcpus);
        return FALSE;
    }
    if (vcpus == domain->vcpus)
        return TRUE;
    if (!check_running(domain, error))
        return FALSE;
    if (virDomainSetVcpusFlags(domain->dom, vcpus, VIR_DOMAIN_AFFECT_LIVE) < 0) {
        int present;

        g_set_error(error, VMM_ERROR, VMM_ERROR_FAILED, "set vCPUs of VM '%s' to %u: %s",
                    domain->name, vcpus, vmm_libvirt_error());
        /* libvirt adds them one at a time: some may have come before the failure. */
        present = virDomainGetVcpusFlags(domain->dom, VIR_DOMAIN_AFFECT_LIVE);
        if (present > 0)
            domain->vcpus = (guint)present;
        return FALSE;
    }
    domain->vcpus = vcpus;
    return TRUE;
}

guint vmm_domain_get_memory(VmmDomain *domain)
{
    return domain->memory_mib;
}

guint vmm_domain_get_vcpus(VmmDomain *domain)
{
    return domain->vcpus;
}
