/* Accelerator choice: kvm only where it really runs a guest. Some hosts expose /dev/kvm from a
 * software KVM (module kvm_pvm) that cannot run a stock guest at usable speed, so the device
 * alone proves nothing. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "vmm-internal.h"

/* The KVM API version every usable kernel reports (stable since Linux 2.6.22). */
#define KVM_STABLE_API_VERSION 12

static gboolean module_loaded(const char *sys_module_dir, const char *module)
{
    g_autofree char *path = g_build_filename(sys_module_dir, module, NULL);

    return g_file_test(path, G_FILE_TEST_IS_DIR);
}

/* TRUE when @kvm_device opens and answers the stable KVM API; else @reason says why not. */
static gboolean kvm_device_works(const char *kvm_device, char **reason)
{
    int fd = open(kvm_device, O_RDWR | O_CLOEXEC);
    int version;

    if (fd < 0) {
        *reason = g_strdup_printf("'%s' cannot be opened: %s", kvm_device, g_strerror(errno));
        return FALSE;
    }
    version = ioctl(fd, KVM_GET_API_VERSION, 0);
    close(fd);
    if (version == KVM_STABLE_API_VERSION) {
        *reason = g_strdup_printf("'%s' answers KVM API %d", kvm_device, version);
        return TRUE;
    }
    *reason = g_strdup_printf("'%s' does not answer the KVM API (got %d, want %d)", kvm_device,
                              version, KVM_STABLE_API_VERSION);
    return FALSE;
}

VmmAccel vmm_accel_probe(const char *sys_module_dir, const char *kvm_device, char **out_reason)
{
    g_autofree char *reason = NULL;
    VmmAccel accel = VMM_ACCEL_TCG;

    if (module_loaded(sys_module_dir, "kvm_pvm"))
        reason = g_strdup("the loaded KVM is a software one (module kvm_pvm), which cannot run a "
                          "stock guest at usable speed");
    else if (!module_loaded(sys_module_dir, "kvm_intel") &&
             !module_loaded(sys_module_dir, "kvm_amd"))
        reason = g_strdup("no hardware KVM module is loaded (kvm_intel or kvm_amd)");
    else if (kvm_device_works(kvm_device, &reason))
        accel = VMM_ACCEL_KVM;
    if (out_reason)
        *out_reason = g_steal_pointer(&reason);
    return accel;
}

VmmAccel vmm_accel_resolve(VmmAccel requested)
{
    g_return_val_if_fail(requested < VMM_ACCEL_LAST, VMM_ACCEL_TCG);

    if (requested != VMM_ACCEL_AUTO)
        return requested;
    return vmm_accel_probe("/sys/module", "/dev/kvm", NULL);
}
