/* VM templates: an agent-ready VM saved by libvirt, and pods resumed from it instead of booted.
 * The template is a libvirt save image (the guest's memory and device state, and the domain
 * XML); libvirt restores it only into a domain of the same name, UUID and devices, which is what
 * VmmConfig.template_layout gives every pod. */
#include <stdint.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "vmm-internal.h"

#define KEY_LEN 16

/* What identifies the file at @path without reading it: replacing or rebuilding it changes one
 * of these. */
static gboolean append_file_identity(GString *text, const char *path, GError **error)
{
    struct stat st;

    if (stat(path, &st) < 0) {
        g_set_error(error, VMM_ERROR, VMM_ERROR_NOT_FOUND, "stat '%s': %s", path,
                    g_strerror(errno));
        return FALSE;
    }
    g_string_append_printf(text, "%s %ju %ju %jd.%09ld\n", path, (uintmax_t)st.st_ino,
                           (uintmax_t)st.st_size, (intmax_t)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    return TRUE;
}

char *vmm_template_key(const VmmConfig *config, GError **error)
{
    VmmConfig canonical = *config;
    g_autofree char *xml = NULL;
    g_autoptr(GString) text = g_string_new(NULL);
    g_autofree char *digest = NULL;

    /* The pod's own paths and network are not part of what is saved. */
    canonical.name = "template";
    canonical.run_dir = "/template";
    canonical.shared_dir = canonical.shared_fs != VMM_SHARED_FS_NONE ? "/template/shared" : NULL;
    canonical.netns = NULL;
    canonical.nics = NULL;
    canonical.n_nics = 0;
    canonical.template_layout = TRUE;
    canonical.accel = vmm_accel_resolve(config->accel);
    xml = vmm_domain_xml(&canonical, error);
    if (xml == NULL)
        return NULL;
    g_string_append(text, xml);
    if (!append_file_identity(text, config->kernel, error) ||
        !append_file_identity(text, config->initrd, error) ||
        !append_file_identity(text, config->emulator, error))
        return NULL;
    digest = g_compute_checksum_for_string(G_CHECKSUM_SHA256, text->str, (gssize)text->len);
    return g_strndup(digest, KEY_LEN);
}

gboolean vmm_domain_save(VmmDomain *domain, const char *path, GError **error)
{
    g_autofree char *partial = g_strconcat(path, ".partial", NULL);

    g_return_val_if_fail(domain != NULL && path != NULL, FALSE);

    if (!domain->running || domain->dom == NULL) {
        g_set_error(error, VMM_ERROR, VMM_ERROR_STOPPED, "save VM '%s': it is not running",
                    domain->name);
        return FALSE;
    }
    /* The VM stops on purpose: nobody is told it died. */
    domain->lifecycle_func = NULL;
    if (virDomainSaveFlags(domain->dom, partial, NULL, VIR_DOMAIN_SAVE_RUNNING) < 0) {
        g_set_error(error, VMM_ERROR, VMM_ERROR_FAILED, "save VM '%s' to '%s': %s", domain->name,
                    partial, vmm_libvirt_error());
        g_unlink(partial);
        return FALSE;
    }
    domain->running = FALSE;
    domain->pid = 0;
    if (g_rename(partial, path) < 0) {
        g_set_error(error, VMM_ERROR, VMM_ERROR_FAILED, "rename '%s' to '%s': %s", partial, path,
                    g_strerror(errno));
        g_unlink(partial);
        return FALSE;
    }
    return TRUE;
}

gboolean vmm_template_resume(VmmDomain *domain, const char *xml, const char *path, GError **error)
{
    if (virDomainRestoreFlags(domain->conn, path, xml, VIR_DOMAIN_SAVE_RUNNING) < 0)
        return TRUE;
    domain->dom = virDomainLookupByName(domain->conn, domain->name);
    if (domain->dom == NULL)
        return TRUE;
    for (gsize i = 0; i < domain->config.n_nics; i++) {
        g_autofree char *nic = vmm_xml_template_nic(&domain->config.nics[i]);

        if (virDomainAttachDeviceFlags(domain->dom, nic, VIR_DOMAIN_AFFECT_LIVE) < 0) {
            g_set_error(error, VMM_ERROR, VMM_ERROR_FAILED, "attach NIC '%s' to VM '%s': %s",
                        domain->config.nics[i].tap, domain->name, vmm_libvirt_error());
            return FALSE;
        }
    }
    return TRUE;
}
