/* vmm-libvirt: one pod VM through libvirt (embedded QEMU driver by default).
 *
 * This layer knows VMs, not containers: it turns a VmmConfig into libvirt domain XML, boots the
 * domain, connects the agent channel (the shim speaks the agent's protocol on it), reports
 * lifecycle events, destroys the domain and cleans up what a previous run left behind.
 *
 * Event loop: libvirt's default event implementation runs on GLib's *default* GMainContext
 * (libvirt >= 6 implements it with GLib). vmm_domain_start() registers it once per process; the
 * caller must run the default main context (g_main_loop_run() on a loop of NULL context) for
 * lifecycle events and vmm_domain_connect_agent() to make progress. Nothing here is thread-safe.
 *
 * Files of one pod, all under VmmConfig.run_dir (created if missing, mode 0711: QEMU, as its own
 * uid, passes through to what libvirt makes its own there):
 *   <run_dir>/libvirt/       the embedded driver's root (etc/qemu.conf is generated there)
 *   <run_dir>/agent.sock     the virtio-serial agent channel (QEMU listens, we connect)
 *   <run_dir>/console.log    the guest's serial console (ttyS0)
 *   <run_dir>/shared-mount   virtio-fs: marks that shared_dir carries our shared bind mount
 * Keep run_dir short: unix socket paths are limited to 107 bytes.
 *
 * libvirt's embedded driver serves a single root per process (opening a second root fails with
 * "already open with path"): one pod per process, as the shim is.
 */
#pragma once

#include <glib.h>
#include <sys/types.h>

G_BEGIN_DECLS

#define VMM_ERROR (vmm_error_quark())
GQuark vmm_error_quark(void);

typedef enum {
    VMM_ERROR_FAILED,         /* anything else (a libvirt call failed, I/O error) */
    VMM_ERROR_INVALID_CONFIG, /* the config is incomplete or contradictory */
    VMM_ERROR_NOT_FOUND,      /* kernel, initrd, shared dir, QEMU or virtiofsd missing */
    VMM_ERROR_TIMEOUT,        /* the agent channel did not connect before the deadline */
    VMM_ERROR_STOPPED,        /* the VM stopped (or was destroyed) before the agent answered,
                                 or before a hot-plug call */
    VMM_ERROR_LAST
} VmmError;

typedef enum {
    VMM_ACCEL_AUTO, /* kvm where it really runs a guest, else tcg */
    VMM_ACCEL_KVM,
    VMM_ACCEL_TCG,
    VMM_ACCEL_LAST
} VmmAccel;

typedef enum {
    VMM_SHARED_FS_NONE,
    VMM_SHARED_FS_VIRTIOFS, /* virtiofsd + memfd shared guest memory; tag "sc-shared" */
    VMM_SHARED_FS_9P,       /* virtio-9p, no daemon; mount_tag "sc-shared" */
    VMM_SHARED_FS_LAST
} VmmSharedFs;

typedef enum {
    /* unix socket <run_dir>/agent.sock, guest port "io.secure-container.agent" */
    VMM_AGENT_VIRTIO_SERIAL,
    /* needs /dev/vhost-vsock on the host; the guest gets sc.agent_vsock=PORT */
    VMM_AGENT_VSOCK,
    VMM_AGENT_LAST
} VmmAgentTransport;

/* The guest-visible names of the boot contract. */
#define VMM_AGENT_PORT_NAME "io.secure-container.agent"
#define VMM_SHARED_FS_TAG "sc-shared"
#define VMM_DOMAIN_PREFIX "sc-"
#define VMM_DEFAULT_CACHE_DIR "/var/cache/secure-container/libvirt"
/* virtio-mem's block: hot-plugged memory comes and goes in multiples of it. */
#define VMM_MEMORY_BLOCK_MIB 2

/* A virtio-net NIC on a tap device that already exists (made by the caller, in VmmConfig.netns
 * when set). libvirt opens it by name and QEMU gets the open fd; nothing else changes on it
 * (managed='no': libvirt 9.0 neither creates nor deletes it, nor sets its MAC, nor sets it up:
 * the caller sets it up, before or after the start). */
typedef struct {
    const char *tap; /* the tap device's name: 1..15 bytes of [A-Za-z0-9_.-] */
    const char *mac; /* the guest NIC's MAC, "aa:bb:cc:dd:ee:ff" (lower-case hex) */
} VmmNic;

#define VMM_NICS_MAX 16
#define VMM_TEMPLATE_NICS_MAX 1
#define VMM_TEMPLATE_DOMAIN VMM_DOMAIN_PREFIX "template"

/* A pod VM description. Strings are borrowed (the caller keeps them alive for the call they are
 * passed to; VmmDomain copies what it keeps). Fill with vmm_config_init() first: it sets the
 * defaults named below, then override fields. */
typedef struct {
    const char *name;    /* required; [A-Za-z0-9_.-], 1..64 bytes; the domain is "sc-<name>" */
    const char *run_dir; /* required; absolute; the pod's own directory (see above) */
    const char *uri;     /* NULL: embedded driver, "qemu:///embed?root=<run_dir>/libvirt";
                            else a libvirtd URI such as "qemu:///system" */

    guint memory_mib; /* boot memory; default 512 */
    guint vcpus;      /* boot vCPUs; default 1 */
    /* Hot-plug ceilings (default 0: none). max_memory_mib > memory_mib adds a virtio-mem device
     * of the difference (rounded down to VMM_MEMORY_BLOCK_MIB), whose plugged part
     * vmm_domain_set_memory() sets; the guest kernel onlines it itself (memhp_default_state),
     * into ZONE_MOVABLE while the movable:kernel ratio allows (auto-movable), so it can be
     * given back. max_vcpus > vcpus makes vcpus..max_vcpus reachable with
     * vmm_domain_set_vcpus() (the guest agent onlines them). max_memory_mib is 0 or
     * memory_mib..1 TiB, max_vcpus 0 or vcpus..255. */
    guint max_memory_mib;
    guint max_vcpus;

    const char *kernel;        /* required; vmlinux (PVH) or bzImage */
    const char *initrd;        /* required; the initramfs with secure-agent as /init */
    const char *kernel_params; /* NULL or extra parameters appended to the built-in ones */

    VmmAccel accel;         /* default VMM_ACCEL_AUTO (resolved with vmm_accel_resolve()) */
    const char *machine;    /* default "q35" */
    const char *emulator;   /* default "/usr/bin/qemu-system-x86_64" */
    guint tcg_tb_cache_mib; /* TCG translation cache size; default 64; ignored under kvm */

    /* libvirt's QEMU capabilities cache, shared by every pod (a fresh embed root otherwise
     * probes QEMU for ~4 s on each start). Default VMM_DEFAULT_CACHE_DIR; NULL: not shared. */
    const char *cache_dir;

    VmmSharedFs shared_fs;  /* default VMM_SHARED_FS_NONE */
    const char *shared_dir; /* host directory exported as "sc-shared" (absolute, must exist) */
    const char *virtiofsd;  /* default "/usr/lib/qemu/virtiofsd" */

    /* The network namespace file (e.g. /var/run/netns/cni-...) the taps of @nics live in;
     * NULL: this thread's own. vmm_domain_start() creates the domain from inside it, so QEMU
     * (and virtiofsd) run in it too. */
    const char *netns;
    const VmmNic *nics; /* @n_nics NICs (at most VMM_NICS_MAX), in guest PCI order */
    gsize n_nics;

    /* The layout of a VM template and of every pod restored from it (vmm_domain_save(),
     * vmm_domain_restore()): libvirt restores a saved image only under the name and UUID it was
     * saved with, so the domain is VMM_TEMPLATE_DOMAIN with a fixed UUID (each pod has its own
     * embed root, so they never meet); the NICs are not in the XML but attached after the
     * restore into one spare pcie-root-port. Needs the embedded driver, q35, virtio-9p or no
     * share (QEMU 7.2 cannot save a VM with virtio-fs, and restoring into virtio-fs' shared
     * memory makes every guest page resident) and at most VMM_TEMPLATE_NICS_MAX NICs. */
    gboolean template_layout;

    /* The uid and gid QEMU runs as (libvirt's DAC driver sets them before it starts QEMU, with
     * no capabilities); 0: root. Another pod's QEMU must never have the same. */
    guint qemu_uid;
    guint qemu_gid;

    VmmAgentTransport agent; /* default VMM_AGENT_VIRTIO_SERIAL */
    guint vsock_cid;         /* VMM_AGENT_VSOCK: guest CID (>= 3) */
    guint vsock_port;        /* VMM_AGENT_VSOCK: agent port (default 1024) */
} VmmConfig;

/* Process-wide libvirt set-up: its log environment, its default event implementation (GLib,
 * default main context) and an error handler that keeps errors off stderr. Idempotent, and run by
 * the first VM call anyway; a program calls it first in main, while it has no other thread,
 * because it sets an environment variable. */
void vmm_init(void);

/* Sets every field to its default (required fields to NULL). */
void vmm_config_init(VmmConfig *config);

/* Returns a newly allocated path derived from @config (caller frees). */
char *vmm_config_agent_socket(const VmmConfig *config);
char *vmm_config_console_log(const VmmConfig *config);
char *vmm_config_uri(const VmmConfig *config);
char *vmm_config_domain_name(const VmmConfig *config);

/* "auto", "kvm", "tcg"; and back (FALSE for an unknown name). */
const char *vmm_accel_name(VmmAccel accel);
gboolean vmm_accel_from_name(const char *name, VmmAccel *out_accel);

/* Resolves VMM_ACCEL_AUTO by probing this host: kvm only when /dev/kvm opens and reports API
 * version 12 and the loaded KVM module is a hardware one (kvm_intel/kvm_amd), never the software
 * kvm_pvm; else tcg. Other values are returned unchanged. */
VmmAccel vmm_accel_resolve(VmmAccel requested);
/* The accelerator this host can really run: kvm only when @sys_module_dir (normally
 * /sys/module) shows a hardware KVM module (kvm_intel or kvm_amd) and no kvm_pvm, and
 * @kvm_device opens and answers KVM_GET_API_VERSION with 12. @out_reason (may be NULL) gets
 * the fact that decided it, in words. */
VmmAccel vmm_accel_probe(const char *sys_module_dir, const char *kvm_device, char **out_reason);

/* The libvirt library's version, "9.0.0"; NULL if it cannot tell. */
char *vmm_libvirt_version(void);

/* What a VM of @config needs from the host is there: kernel and initrd (readable by QEMU's
 * uid), QEMU, virtiofsd for virtio-fs, and libvirt's system user for the embedded driver. The
 * error names the first thing missing. vmm_domain_start() checks it too. */
gboolean vmm_check_host_files(const VmmConfig *config, GError **error);

/* The libvirt domain XML for @config, as a pure function of its fields (no file is looked at;
 * VMM_ACCEL_AUTO is an error: resolve it first). Caller frees. */
char *vmm_domain_xml(const VmmConfig *config, GError **error);

/* Moves the calling thread (not the process) into the network namespace at @path; *@out_saved
 * is then an fd of the one it was in, for vmm_netns_leave(). The shim also uses it to make the
 * taps and read the pod's network there. */
gboolean vmm_netns_enter(const char *path, int *out_saved, GError **error);
/* The same with an fd of the namespace (vmm_netns_open()); @name names it in errors. Opening a
 * namespace by /proc/PID/ns/net needs the right to ptrace PID, which a process that gave up
 * capabilities may no longer have: it keeps the fd instead. */
int vmm_netns_open(const char *path, GError **error);
gboolean vmm_netns_enter_fd(int fd, const char *name, int *out_saved, GError **error);
/* Moves the calling thread back into *@saved and closes it (sets it to -1). -1 is fine. */
void vmm_netns_leave(int *saved);

/* ---- a running pod VM --------------------------------------------------------------------- */

typedef struct _VmmDomain VmmDomain;

typedef enum {
    VMM_EVENT_STOPPED,  /* shut off / destroyed / QEMU exited (incl. killed from outside) */
    VMM_EVENT_CRASHED,  /* libvirt reported a crash */
    VMM_EVENT_PANICKED, /* the guest kernel panicked (pvpanic) */
    VMM_EVENT_LAST
} VmmEvent;

/* Called from the default main context. After VMM_EVENT_STOPPED/CRASHED the VM is gone (QEMU
 * has exited); after VMM_EVENT_PANICKED it is being destroyed (on_crash=destroy) and STOPPED
 * follows. @detail is a short text for logs (e.g. "crashed", "destroyed", "failed"). */
typedef void (*VmmLifecycleFunc)(VmmDomain *domain, VmmEvent event, const char *detail,
                                 gpointer user_data);

/* Checks @config (kernel/initrd/shared dir/emulator/netns exist) before any process starts,
 * removes what a previous run of this pod left (vmm_cleanup_stale()), prepares run_dir (embed
 * root with its qemu.conf; for virtio-fs makes shared_dir a shared bind mount so mounts made in
 * it later reach the guest), connects to libvirt, and creates a transient domain. Returns as
 * soon as QEMU runs (the guest is still booting); with a netns, the calling thread is inside it
 * only for the libvirt create call, and back in its own afterwards, also on failure. That
 * libvirt call blocks ~0.5-1 s (~4.5 s once per host while libvirt probes QEMU into the empty
 * cache_dir). On failure nothing is left running and the files it created are removed. Free
 * with vmm_domain_free(). */
VmmDomain *vmm_domain_start(const VmmConfig *config, GError **error);

/* Lifecycle events of @domain go to @func from now on (set it right after start, before the
 * main loop runs again: no event is lost). */
void vmm_domain_set_lifecycle_func(VmmDomain *domain, VmmLifecycleFunc func, gpointer user_data);

/* Result of vmm_domain_connect_agent(). On success *@fd is a stream socket connected to the
 * agent's port (transfer full: the callee takes it with g_steal_fd(), else it is closed after
 * the call); on failure it is -1 and @error says why: VMM_ERROR_TIMEOUT (the message quotes the
 * tail of the console log), VMM_ERROR_STOPPED (the VM stopped first), VMM_ERROR_FAILED. */
typedef void (*VmmAgentChannelFunc)(VmmDomain *domain, int *fd, const GError *error,
                                    gpointer user_data);

/* Connects to the agent channel, retrying while the guest boots, until @timeout_us passes. A
 * vsock channel connects once the agent listens; a virtio-serial one as soon as QEMU listens,
 * and what is written on it waits until the agent opens its port: the caller asks the agent
 * whether it is ready (the shim's probe calls Health), and connects again when the channel
 * closes under it (QEMU restarts the port while the guest boots). Never blocks; @func runs
 * exactly once from the default main context, never from inside this call; the VM stopping or
 * vmm_domain_destroy() completes it with VMM_ERROR_STOPPED, while vmm_domain_cancel_agent() and
 * vmm_domain_free() drop it without calling @func. One connect per domain at a time. */
void vmm_domain_connect_agent(VmmDomain *domain, gint64 timeout_us, VmmAgentChannelFunc func,
                              gpointer user_data);
/* Drops a vmm_domain_connect_agent() in progress (its @func is not called); none is fine. */
void vmm_domain_cancel_agent(VmmDomain *domain);

/* Stops the VM (QEMU and virtiofsd are killed; waits on their pidfds until they have exited, at
 * most a few seconds, and reaps them when they are our children), unmounts the shared bind
 * mount, and removes the embed root, agent socket and console log. Blocks (poll() on the
 * pidfds): for callers without a main loop running; with one, use vmm_domain_stop(). A
 * vmm_domain_stop() in progress is dropped (its function is not called) and finished here.
 * Idempotent. Unmount what you mounted inside shared_dir before calling it. */
gboolean vmm_domain_destroy(VmmDomain *domain, GError **error);

/* Result of vmm_domain_stop(): the VM is gone (@error NULL), or what of it could not be
 * cleaned up. */
typedef void (*VmmDomainStoppedFunc)(VmmDomain *domain, const GError *error, gpointer user_data);
/* vmm_domain_destroy() without blocking the main context: the wait for QEMU and virtiofsd to
 * exit is a watch on their pidfds; the rest (libvirt's destroy, which then finds them gone, and
 * the files) runs once they have. @func runs once, from the default main context, never from
 * inside this call; vmm_domain_free() drops it without calling it. The lifecycle function is
 * not called for the stop. One stop at a time. */
void vmm_domain_stop(VmmDomain *domain, VmmDomainStoppedFunc func, gpointer user_data);

/* Destroys the VM if still running (errors ignored) and frees @domain. NULL is fine. Allowed
 * from inside this layer's callbacks. */
void vmm_domain_free(VmmDomain *domain);

const char *vmm_domain_get_name(VmmDomain *domain);
/* QEMU's pid (the shim reports it as the task pid), or 0 once stopped. */
pid_t vmm_domain_get_pid(VmmDomain *domain);
const char *vmm_domain_get_console_log(VmmDomain *domain);

/* Follows a console log from its start: @func gets each line (sanitized, at most 512 bytes, at
 * most 100 a second; a note says how many were dropped) from the main context, and the last
 * ones when the follower is freed. */
typedef void (*VmmConsoleLineFunc)(const char *line, gpointer user_data);
typedef struct _VmmConsoleFollower VmmConsoleFollower;
VmmConsoleFollower *vmm_console_follow(const char *path, VmmConsoleLineFunc func,
                                       gpointer user_data, GError **error);
void vmm_console_follower_free(VmmConsoleFollower *follower);
/* The last lines of the guest console (at most @max_lines and 2 KiB), control characters other
 * than newline replaced: the guest wrote them. Never NULL. */
char *vmm_domain_console_tail(VmmDomain *domain, guint max_lines);
const char *vmm_domain_get_agent_socket(VmmDomain *domain);
VmmAccel vmm_domain_get_accel(VmmDomain *domain);
gboolean vmm_domain_is_running(VmmDomain *domain);
/* Resumed from a template (vmm_domain_restore()): its agent runs already. */
gboolean vmm_domain_is_resumed(VmmDomain *domain);

/* What libvirt's domain stats say about a running VM. */
typedef struct {
    guint64 cpu_ns;     /* CPU time of all its vCPUs and QEMU's own threads */
    guint64 memory_kib; /* its memory now (boot memory and what is plugged) */
    guint64 rss_kib;    /* QEMU's resident memory on the host */
} VmmDomainStats;

/* A blocking libvirt call (fast: it reads QEMU's /proc entries). */
gboolean vmm_domain_get_stats(VmmDomain *domain, VmmDomainStats *out, GError **error);

/* Hot-plug, on a running domain (blocking libvirt calls, ~0.1 s; 4-26 ms measured under TCG):
 * the VM's memory becomes @memory_mib in all, boot memory plus the virtio-mem part (rounded up
 * to VMM_MEMORY_BLOCK_MIB; less than before asks the guest to give memory back, which it does
 * as far as it can move what is in it); @vcpus vCPUs are made present (growing only: fewer than
 * present is refused, as unplugging needs the guest's ACPI eject handshake). The range is
 * memory_mib..memory_mib + the device (max_memory_mib, or less when max - boot is not a whole
 * number of blocks), and the vCPUs present..max_vcpus; outside it fails with
 * VMM_ERROR_INVALID_CONFIG naming the range, and nothing changes. Asking for what the VM has is
 * a no-op; a change on a VM that is no longer running fails with VMM_ERROR_STOPPED, a refusal
 * by libvirt with VMM_ERROR_FAILED and its message. Neither waits for the guest to online what
 * it got (the agent's OnlineResources does). */
gboolean vmm_domain_set_memory(VmmDomain *domain, guint memory_mib, GError **error);
gboolean vmm_domain_set_vcpus(VmmDomain *domain, guint vcpus, GError **error);
/* What was last set, memory rounded up as above (at boot: the config's memory_mib and
 * vcpus). */
guint vmm_domain_get_memory(VmmDomain *domain);
guint vmm_domain_get_vcpus(VmmDomain *domain);

/* Monotonic times (g_get_monotonic_time()) for measurements; 0 when not reached yet. */
typedef struct {
    gint64 start;   /* vmm_domain_start() entered */
    gint64 created; /* libvirt returned from creating the domain (QEMU running) */
} VmmTimings;
void vmm_domain_get_timings(VmmDomain *domain, VmmTimings *out_timings);

/* ---- VM templates ------------------------------------------------------------------------- */

/* A name for what a template built from @config would hold (its template_layout XML with the
 * pod's own paths left out, and the identity of the kernel, initrd and QEMU files): equal keys,
 * interchangeable templates; a changed kernel, initrd, QEMU or VM setting, a new key. 16 hex
 * digits; caller frees. */
char *vmm_template_key(const VmmConfig *config, GError **error);

/* Saves the running @domain (started with template_layout, agent ready, no NICs) into @path
 * (written under a temporary name, then renamed: a reader never sees half a template). The VM
 * stops; its lifecycle function is not called for that. */
gboolean vmm_domain_save(VmmDomain *domain, const char *path, GError **error);

/* As vmm_domain_start(), but the VM resumes from the template at @path instead of booting:
 * @config must have template_layout and give the same key as the template's config. The NICs
 * of @config are attached once it runs (from inside @config->netns). The agent is already
 * running: vmm_domain_connect_agent() connects to it as usual. */
VmmDomain *vmm_domain_restore(const VmmConfig *config, const char *path, GError **error);

/* Removes what a previous run for the pod described by @config left: kills its QEMU and
 * virtiofsd processes (found from the pid files in the embed root and checked by their command
 * line, never by name alone), unmounts the shared bind mount, and deletes the embed root, agent
 * socket and console log. Needs no libvirt connection and does not wait on the guest; safe to
 * call when nothing is left (returns TRUE). With a non-embedded uri it destroys the domain
 * "sc-<name>" through libvirt instead. */
gboolean vmm_cleanup_stale(const VmmConfig *config, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(VmmDomain, vmm_domain_free)

G_END_DECLS
