/* Running one call inside a pod's network namespace. libvirt's embedded driver opens the taps of
 * <interface type='ethernet'> by name from the thread that creates the domain, and QEMU, forked
 * from that thread, keeps its namespace: so the create call runs inside the pod's. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include "vmm-internal.h"

/* This thread's namespace, not the process's: another thread may have moved on its own. */
#define THREAD_NETNS "/proc/thread-self/ns/net"

int vmm_netns_open(const char *path, GError **error)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        g_set_error(error, VMM_ERROR, VMM_ERROR_NOT_FOUND, "open network namespace '%s': %s", path,
                    g_strerror(errno));
    return fd;
}

gboolean vmm_netns_enter_fd(int fd, const char *name, int *out_saved, GError **error)
{
    int saved = vmm_netns_open(THREAD_NETNS, error);

    if (saved < 0)
        return FALSE;
    if (setns(fd, CLONE_NEWNET) < 0) {
        g_set_error(error, VMM_ERROR, VMM_ERROR_FAILED, "enter network namespace '%s': %s", name,
                    g_strerror(errno));
        close(saved);
        return FALSE;
    }
    *out_saved = saved;
    return TRUE;
}

gboolean vmm_netns_enter(const char *path, int *out_saved, GError **error)
{
    int target = vmm_netns_open(path, error);
    gboolean ok;

    if (target < 0)
        return FALSE;
    ok = vmm_netns_enter_fd(target, path, out_saved, error);
    close(target);
    return ok;
}

void vmm_netns_leave(int *saved)
{
    if (*saved < 0)
        return;
    /* We were in that namespace a moment ago with the same privileges, so this cannot fail
     * short of a kernel bug; a thread left in the pod's namespace would make every later socket
     * of this process there, which is worse than stopping. */
    if (setns(*saved, CLONE_NEWNET) < 0)
        g_error("return to the network namespace we came from: %s", g_strerror(errno));
    close(*saved);
    *saved = -1;
}
