/* Accelerator choice: kvm only where it really runs a guest. Some hosts expose /dev/kvm from a
 * software KVM (module kvm_pvm) that cannot run a stock guest at usable speed, so the device
 * alone proves nothing. */
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

static gboolean kvm_device_works(const char *kvm_device)
{
    int fd = open(kvm_device, O_RDWR | O_CLOEXEC);
    int version;

    if (fd < 0)
        return FALSE;
    version = ioctl(fd, KVM_GET_API_VERSION, 0);
    close(fd);
    return version == KVM_STABLE_API_VERSION;
}

VmmAccel vmm_accel_probe(const char *sys_module_dir, const char *kvm_device)
{
    if (module_loaded(sys_module_dir, "kvm_pvm"))
        return VMM_ACCEL_TCG;
    if (!module_loaded(sys_module_dir, "kvm_intel") && !module_loaded(sys_module_dir, "kvm_amd"))
        return VMM_ACCEL_TCG;
    return kvm_device_works(kvm_device) ? VMM_ACCEL_KVM : VMM_ACCEL_TCG;
}

VmmAccel vmm_accel_resolve(VmmAccel requested)
{
    g_return_val_if_fail(requested < VMM_ACCEL_LAST, VMM_ACCEL_TCG);

    if (requested != VMM_ACCEL_AUTO)
        return requested;
    return vmm_accel_probe("/sys/module", "/dev/kvm");
}
