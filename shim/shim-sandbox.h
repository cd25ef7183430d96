/* The pod's sandbox: where its agent runs. In a QEMU VM through vmm-libvirt (kind=libvirt), or,
 * for tests without a guest image, as a host process (kind=none, no isolation). */
#pragma once

#include <glib.h>
#include <sys/types.h>

#include "agent.pb-c.h"
#include "shim-config.h"
#include "shim-network.h"
#include "shim-resources.h"
#include "shim-state.h"
#include "ttrpc.h"
#include "vmm.h"

#define SHIM_GUEST_SHARED_DIR "/run/secure-agent/shared"
/* With [agent] debug_exec: the shared directory's copy of debug_exec_tools, and its applets. */
#define SHIM_DEBUG_TOOLS_DIR ".debug"
#define SHIM_DEBUG_TOOLS_BINARY "busybox"

typedef struct _ShimSandbox ShimSandbox;

/* @client: a connected agent client (transfer full) that answered Health, or NULL and @error. */
typedef void (*ShimSandboxReadyFunc)(ShimSandbox *sandbox, TtrpcClient *client, const GError *error,
                                     gpointer user_data);
/* The sandbox stopped on its own (QEMU exited, guest panic, agent process died). */
typedef void (*ShimSandboxDiedFunc)(ShimSandbox *sandbox, const char *reason, gpointer user_data);

/* The VM config of a pod of @config booting at @size (@config NULL: only the names and
 * paths, for cleanup). Strings are borrowed from the arguments. */
void shim_sandbox_vm_config(VmmConfig *vc, const ShimConfig *config, const ShimVmSize *size,
                            const char *name, const char *run_dir, const char *shared_dir);

/* Starts the sandbox of a pod whose files live in @run_dir and whose shared directory is
 * @shared_dir, recording in @state (saved) what `delete` needs to undo it BEFORE it is done.
 * A VM gets a NIC on each tap of @network (NULL: none) and boots at @size, hot-pluggable up to
 * its ceilings. Returns once the VM/process runs; then call shim_sandbox_wait_agent(). */
ShimSandbox *shim_sandbox_start(const ShimConfig *config, ShimState *state, const char *name,
                                const char *run_dir, const char *shared_dir, ShimNetwork *network,
                                const ShimVmSize *size, ShimSandboxDiedFunc died,
                                gpointer user_data, GError **error);
/* @func runs once, from the main context, never from inside this call. */
void shim_sandbox_wait_agent(ShimSandbox *sandbox, ShimSandboxReadyFunc func, gpointer user_data);
/* QEMU's pid (host mode: the agent's), reported to containerd as the task pid; 0 if stopped. */
pid_t shim_sandbox_get_pid(ShimSandbox *sandbox);
/* Hot-plug: the VM gets @size's memory and vCPUs (blocking libvirt calls, ~0.1 s; the guest
 * onlines them afterwards). A host agent has no VM: only the sizes are recorded. On failure
 * what was already changed stays changed and recorded. */
gboolean shim_sandbox_resize(ShimSandbox *sandbox, const ShimVmSize *size, GError **error);
void shim_sandbox_get_size(ShimSandbox *sandbox, ShimVmSize *out_boot, ShimVmSize *out_current);
/* FALSE for a host agent (kind=none), which has nothing to hot-plug. */
gboolean shim_sandbox_is_vm(ShimSandbox *sandbox);
/* "kvm" or "tcg" for a VM, "host" for a host agent. */
const char *shim_sandbox_kind_name(ShimSandbox *sandbox);
/* The VM's libvirt stats; FAILED_PRECONDITION for a host agent, which has no VM. */
gboolean shim_sandbox_get_stats(ShimSandbox *sandbox, VmmDomainStats *out, GError **error);
/* The VM resumed from a template (its clock and random state are the template's until the
 * agent's SyncGuest). */
gboolean shim_sandbox_is_restored(ShimSandbox *sandbox);
/* The last @max_lines lines of the guest console (sanitized), or NULL for a host agent. */
char *shim_sandbox_console_tail(ShimSandbox *sandbox, guint max_lines);
/* Where the agent sees the shared directory, and how CreateSandbox must mount it. */
void shim_sandbox_fill_create(ShimSandbox *sandbox, Secure__Agent__V1__CreateSandboxRequest *req);
const char *shim_sandbox_guest_shared_dir(ShimSandbox *sandbox);
/* Stops the sandbox and removes its files: blocks until the VM or host agent has exited (poll()
 * on their pidfds, a few seconds at most), for the shim on its way out, when its loop no longer
 * runs; with the loop running, shim_sandbox_stop(). Idempotent; the died callback is not called
 * for it. */
void shim_sandbox_destroy(ShimSandbox *sandbox);
typedef void (*ShimSandboxStoppedFunc)(ShimSandbox *sandbox, gpointer user_data);
/* shim_sandbox_destroy() without blocking the main context: the waits for QEMU and virtiofsd, or
 * for the host agent (SIGTERM, then SIGKILL after a grace), are watches on their pidfds. @func
 * runs once, from the main context, never from inside this call; shim_sandbox_free() (or a
 * shim_sandbox_destroy()) meanwhile drops it and finishes the stop synchronously. The died
 * callback is not called for it. */
void shim_sandbox_stop(ShimSandbox *sandbox, ShimSandboxStoppedFunc func, gpointer user_data);
void shim_sandbox_free(ShimSandbox *sandbox);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ShimSandbox, shim_sandbox_free)

/* Undoes what the state of a dead shim records about its sandbox; needs no agent, no libvirt
 * daemon, and never waits on the guest. TRUE if nothing is left. */
gboolean shim_sandbox_cleanup_stale(ShimState *state, GError **error);
