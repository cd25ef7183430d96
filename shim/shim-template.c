/* VM templates, the shim's side (shim-template.h). The template itself is a libvirt save image
 * named by vmm_template_key() in [template] directory: a changed kernel, initrd, QEMU or VM
 * setting gives another key, so a stale template is never resumed, only left for uninstall. */
#include "shim-template.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "shim-sandbox.h"
#include "shim-state.h"

gboolean shim_template_vm_config(const ShimConfig *config, const char *run_dir,
                                 const char *shared_dir, VmmConfig *out_vc, ShimVmSize *out_size,
                                 GError **error)
{
    ShimResources none = {0};

    if (!shim_resources_boot_size(config, &none, out_size, error))
        return FALSE;
    shim_sandbox_vm_config(out_vc, config, out_size, "template", run_dir, shared_dir);
    out_vc->template_layout = TRUE;
    return TRUE;
}

/* Why a pod cannot resume from a template of @config, or NULL when it can. A pod larger than
 * the template resumes too: its first Create grows the VM by hot-plug to what its limits need
 * (shim_hotplug_grow()), as an Update would, which is quicker than a boot. */
static char *template_unfit(const ShimConfig *config, const VmmConfig *vc)
{
    if (config->shared_fs != SHIM_SHARED_FS_9P)
        return g_strdup("templates need [hypervisor] shared_fs = virtio-9p (QEMU cannot save a "
                        "VM with virtio-fs)");
    if (vc->n_nics > VMM_TEMPLATE_NICS_MAX)
        return g_strdup_printf("the pod has %zu NICs, a template has room for %d", vc->n_nics,
                               VMM_TEMPLATE_NICS_MAX);
    return NULL;
}

char *shim_template_path(const ShimConfig *config, const VmmConfig *template, GError **error)
{
    g_autofree char *key = vmm_template_key(template, error);
    g_autofree char *file = NULL;

    if (key == NULL)
        return NULL;
    file = g_strconcat(key, ".save", NULL);
    return g_build_filename(config->template_dir, file, NULL);
}

char *shim_template_build_dir(const ShimConfig *config)
{
    g_autofree char *hash =
        g_compute_checksum_for_string(G_CHECKSUM_SHA256, config->template_dir, -1);
    g_autofree char *name = g_strdup_printf("template-%.8s", hash);
    return g_build_filename(SHIM_STATE_ROOT, name, NULL);
}

void shim_template_ensure(const ShimConfig *config)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *path = NULL;
    VmmConfig template;
    ShimVmSize size;

    if (!config->template_enabled || config->shared_fs != SHIM_SHARED_FS_9P)
        return;
    if (!shim_template_vm_config(config, "/template", "/template/shared", &template, &size,
                                 &error) ||
        (path = shim_template_path(config, &template, &error)) == NULL) {
        g_warning("VM template: %s", error->message);
        return;
    }
    if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
        g_info("no VM template '%s' yet: building it in the background", path);
        shim_template_build_later(config);
    }
}

char *shim_template_find(const ShimConfig *config, const VmmConfig *vc, const ShimVmSize *size,
                         VmmConfig *out_vc, ShimVmSize *out_size, char **out_reason)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *path = NULL;
    ShimVmSize template;

    *out_reason = NULL;
    if (!config->template_enabled)
        return NULL;
    if (!shim_template_vm_config(config, vc->run_dir, vc->shared_dir, out_vc, &template, &error)) {
        *out_reason = g_strdup(error->message);
        return NULL;
    }
    *out_reason = template_unfit(config, vc);
    if (*out_reason != NULL)
        return NULL;
    *out_vc = *vc;
    out_vc->template_layout = TRUE;
    out_vc->memory_mib = template.memory_mib;
    out_vc->vcpus = template.vcpus;
    *out_size = *size;
    out_size->memory_mib = template.memory_mib;
    out_size->vcpus = template.vcpus;
    path = shim_template_path(config, out_vc, &error);
    if (path == NULL) {
        *out_reason = g_strdup(error->message);
        return NULL;
    }
    if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
        *out_reason = g_strdup_printf("no template '%s' yet", path);
        return NULL;
    }
    return g_steal_pointer(&path);
}

void shim_template_discard(const char *path)
{
    if (g_unlink(path) < 0 && errno != ENOENT)
        g_warning("remove the VM template '%s': %s", path, g_strerror(errno));
}

/* The builder's output: appended to build.log in the template directory. */
static void builder_child_setup(gpointer data)
{
    int fd = open(data, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

    setsid();
    if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
    }
}

void shim_template_build_later(const ShimConfig *config)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);
    g_autofree char *dir = self != NULL ? g_path_get_dirname(self) : g_strdup("/");
    g_autofree char *builder = g_build_filename(dir, SHIM_TEMPLATE_BUILDER, NULL);
    g_autofree char *log = g_build_filename(config->template_dir, "build.log", NULL);
    char *argv[] = {builder, "--config", config->path, NULL};

    if (g_mkdir_with_parents(config->template_dir, 0700) < 0) {
        g_warning("create the template directory '%s': %s", config->template_dir,
                  g_strerror(errno));
        return;
    }
    /* Without DO_NOT_REAP, GLib forks twice: the builder is nobody's child to wait for. */
    if (!g_spawn_async(NULL, argv, NULL, G_SPAWN_STDIN_FROM_DEV_NULL, builder_child_setup, log,
                       NULL, &error))
        g_warning("start the VM template builder: %s", error->message);
}
