/* Process-wide libvirt setup: the default event implementation and a quiet error handler. */
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "vmm-internal.h"

/* libvirt prints every error to stderr unless a handler is set; we report them as GErrors. */
static void ignore_error(void *user_data, virErrorPtr error)
{
    (void)user_data;
    (void)error;
}

void vmm_init(void)
{
    static gsize done = 0;

    if (g_once_init_enter(&done)) {
        /* The embedded driver logs warnings we cause on purpose (no security driver, QEMU as
         * root) to stderr, which is the shim's log: only errors, unless the operator asks. */
        g_setenv("LIBVIRT_LOG_OUTPUTS", "4:stderr", FALSE);
        /* libvirt >= 6 implements its default event loop with GLib on the default main
         * context, so the caller's g_main_loop_run() dispatches its events. */
        virEventRegisterDefaultImpl();
        virSetErrorFunc(NULL, ignore_error);
        g_once_init_leave(&done, 1);
    }
}

const char *vmm_libvirt_error(void)
{
    const char *message = virGetLastErrorMessage();

    return message != NULL ? message : "unknown libvirt error";
}

char *vmm_libvirt_version(void)
{
    unsigned long v = 0;

    vmm_init(); /* libvirt reads its log settings at its first call */
    if (virGetVersion(&v, NULL, NULL) < 0)
        return NULL;
    return g_strdup_printf("%lu.%lu.%lu", v / 1000000, v / 1000 % 1000, v % 1000);
}
