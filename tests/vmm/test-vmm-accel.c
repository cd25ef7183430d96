/* Accelerator probing against fake /sys/module trees: kvm only with a hardware KVM module,
 * never with kvm_pvm, and only when the device answers the KVM API. */
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include "vmm-internal.h"
#include "vmm-test.h"

static char *sys_dir;

/* A fake /sys/module with @modules, in a fresh directory under the scratch directory (each
 * test runs in its own process, so the name must come from the file system). */
static void make_modules(const char *const *modules)
{
    g_free(sys_dir);
    sys_dir = g_build_filename(vmm_test_dir(), "sys-XXXXXX", NULL);
    ck_assert_ptr_nonnull(g_mkdtemp(sys_dir));
    for (guint i = 0; modules[i] != NULL; i++) {
        g_autofree char *path = g_build_filename(sys_dir, modules[i], NULL);
        ck_assert_int_eq(g_mkdir(path, 0755), 0);
    }
}

/* A device that answers KVM_GET_API_VERSION with 12, when this host has one. */
static gboolean host_kvm_answers(void)
{
    return g_file_test("/dev/kvm", G_FILE_TEST_EXISTS) && access("/dev/kvm", R_OK | W_OK) == 0;
}

START_TEST(test_no_module_is_tcg)
{
    g_autofree char *reason = NULL;
    make_modules((const char *const[]){"kvm", NULL});
    ck_assert_int_eq(vmm_accel_probe(sys_dir, "/dev/kvm", &reason), VMM_ACCEL_TCG);
    ck_assert_ptr_nonnull(strstr(reason, "no hardware KVM module"));
}
END_TEST

START_TEST(test_pvm_is_tcg)
{
    g_autofree char *reason = NULL;
    make_modules((const char *const[]){"kvm", "kvm_intel", "kvm_pvm", NULL});
    ck_assert_int_eq(vmm_accel_probe(sys_dir, "/dev/kvm", &reason), VMM_ACCEL_TCG);
    ck_assert_ptr_nonnull(strstr(reason, "software one (module kvm_pvm)"));
}
END_TEST

START_TEST(test_missing_or_dead_device_is_tcg)
{
    make_modules((const char *const[]){"kvm", "kvm_amd", NULL});
    g_autofree char *missing = NULL, *dead = NULL;
    ck_assert_int_eq(vmm_accel_probe(sys_dir, "/nonexistent/kvm", &missing), VMM_ACCEL_TCG);
    ck_assert_ptr_nonnull(strstr(missing, "'/nonexistent/kvm' cannot be opened"));
    /* Opens, but the ioctl fails. */
    ck_assert_int_eq(vmm_accel_probe(sys_dir, "/dev/null", &dead), VMM_ACCEL_TCG);
    ck_assert_ptr_nonnull(strstr(dead, "does not answer the KVM API"));
}
END_TEST

START_TEST(test_hardware_module_and_device_is_kvm)
{
    if (!host_kvm_answers()) {
        fprintf(stderr, "no usable /dev/kvm on this host: kvm positive case not checked\n");
        return;
    }
    make_modules((const char *const[]){"kvm", "kvm_intel", NULL});
    ck_assert_int_eq(vmm_accel_probe(sys_dir, "/dev/kvm", NULL), VMM_ACCEL_KVM);
}
END_TEST

START_TEST(test_resolve)
{
    ck_assert_int_eq(vmm_accel_resolve(VMM_ACCEL_TCG), VMM_ACCEL_TCG);
    ck_assert_int_eq(vmm_accel_resolve(VMM_ACCEL_KVM), VMM_ACCEL_KVM);
    if (g_file_test("/sys/module/kvm_pvm", G_FILE_TEST_IS_DIR) ||
        !g_file_test("/dev/kvm", G_FILE_TEST_EXISTS))
        ck_assert_int_eq(vmm_accel_resolve(VMM_ACCEL_AUTO), VMM_ACCEL_TCG);
    else
        ck_assert_int_ne(vmm_accel_resolve(VMM_ACCEL_AUTO), VMM_ACCEL_AUTO);
}
END_TEST

int main(void)
{
    const TTest *const tests[] = {
        test_no_module_is_tcg,
        test_pvm_is_tcg,
        test_missing_or_dead_device_is_tcg,
        test_hardware_module_and_device_is_kvm,
        test_resolve,
        NULL,
    };

    return vmm_test_run("vmm-accel", tests, 30, NULL);
}
