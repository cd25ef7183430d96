/* Helpers shared by the files of vmm-libvirt; not part of its API. */
#pragma once

#include <libvirt/libvirt.h>

#include "vmm.h"

/* <run_dir>/libvirt: the embedded driver's root. Caller frees. */
char *vmm_config_embed_root(const VmmConfig *config);
/* Copies @src into @dst with every string duplicated into @strings. Returns the copy of the NIC
 * array that @dst->nics points to (NULL without NICs); the caller frees it with g_free(). */
VmmNic *vmm_config_copy(const VmmConfig *src, VmmConfig *dst, GStringChunk *strings);
/* TRUE when the config uses the embedded driver (the default). */
gboolean vmm_config_is_embedded(const VmmConfig *config);
/* The size of the virtio-mem device: max_memory_mib - memory_mib rounded down to
 * VMM_MEMORY_BLOCK_MIB; 0 means no device (no memory hot-plug). */
guint vmm_config_hotplug_mib(const VmmConfig *config);
/* The vCPUs the VM can have: max_vcpus, or vcpus without vCPU hot-plug. */
guint vmm_config_max_vcpus(const VmmConfig *config);

/* The virtio-mem device's user alias (libvirt wants the "ua-" prefix). */
#define VMM_MEMORY_DEVICE_ALIAS "ua-sc-mem"
/* Appends the virtio-mem device of @config (vmm_config_hotplug_mib() > 0) with @requested_mib
 * of it plugged: the domain XML has it, and updating it live to another @requested_mib is how
 * memory is hot-plugged. */
void vmm_xml_append_memory_device(GString *xml, const VmmConfig *config, guint requested_mib);

/* The <interface> of @nic as vmm_domain_restore() attaches it (caller frees). */
char *vmm_xml_template_nic(const VmmNic *nic);
/* Restores the domain of @domain from the template at @path with @xml (its config's XML) and
 * attaches its NICs; called with the pod's network namespace entered. domain->dom is the
 * restored domain, or NULL when libvirt refused the restore (its error says why); FALSE with
 * @error when a NIC could not be attached (the caller destroys the domain). */
gboolean vmm_template_resume(VmmDomain *domain, const char *xml, const char *path, GError **error);

/* The last lines of the console log at @path (at most @max_lines lines and 2 KiB), with control
 * characters other than newline replaced: the guest wrote them. Never NULL. */
char *vmm_console_tail(const char *path, guint max_lines);

/* Makes @dir a shared bind mount of itself, so mounts made in it later propagate to virtiofsd's
 * mount namespace. */
gboolean vmm_shared_mount(const char *dir, GError **error);
/* Lazily unmounts the top mount at @dir (the bind mount vmm_shared_mount() made, with all
 * under it) if @dir is a mount point; fine when it is not. */
gboolean vmm_shared_unmount(const char *dir, GError **error);

/* Removes @path and everything under it without crossing mount points; fine when missing. */
gboolean vmm_remove_tree(const char *path, GError **error);

/* Sends SIGKILL to the process that @pidfd holds (pid @pid, for the error message) and waits (at
 * most @timeout_us) until it has exited; reaps it if it is our child. For callers without a main
 * loop (the stale cleanup). */
gboolean vmm_kill_wait(int pidfd, pid_t pid, gint64 timeout_us, GError **error);
/* Waits (at most @timeout_us, poll() on @pidfd) until the process has exited, and reaps it if it
 * is our child: the shim is the subreaper of the QEMU and virtiofsd that libvirt daemonizes, and
 * libvirt waits until they are gone, which a zombie is not. TRUE once it has exited. */
gboolean vmm_pidfd_wait(int pidfd, gint64 timeout_us);
/* Reaps the process of @pidfd if it has exited and is our child; else does nothing. */
void vmm_pidfd_reap(int pidfd);

/* The last libvirt error of this thread as text (never NULL). */
const char *vmm_libvirt_error(void);

/* Tunes libvirt's QEMU capabilities cache in @cache_dir for fast starts (vmm-caps-cache.c);
 * what cannot be tuned is logged and left. */
void vmm_caps_cache_tune(const char *cache_dir);

/* The marker file in run_dir that says vmm_shared_mount() was applied to shared_dir. */
#define VMM_SHARED_MOUNT_MARKER "shared-mount"

typedef struct _VmmAgentConnect VmmAgentConnect;
typedef struct _VmmDomainStop VmmDomainStop;

struct _VmmDomain {
    int ref_count;  /* callbacks in flight hold a reference */
    gboolean freed; /* vmm_domain_free() was called: no more callbacks */

    /* A copy of the caller's config; its strings live in @strings. */
    VmmConfig config;
    GStringChunk *strings;
    VmmNic *nics; /* config.nics: the copy this domain owns */

    char *name;
    char *agent_socket;
    char *console_log;
    VmmAccel accel;

    virConnectPtr conn;
    virDomainPtr dom;
    int event_id;
    gboolean running;
    gboolean resumed; /* from a template (vmm_domain_restore()) */
    pid_t pid;
    /* QEMU's exit seen directly (pidfd): libvirt reports it only once the process is reaped,
     * which a slow init delays by seconds. */
    int pidfd;
    guint exit_watch; /* the pidfd watch */
    /* virtiofsd's exit: the guest's files are gone, the VM can only hang on them. */
    int virtiofsd_pidfd;
    guint virtiofsd_watch;
    guint exit_grace; /* after QEMU's or virtiofsd's exit, for libvirt's event to come first */

    VmmLifecycleFunc lifecycle_func;
    gpointer lifecycle_data;
    VmmAgentConnect *connect; /* vmm_domain_connect_agent() in progress */
    VmmDomainStop *stop;      /* vmm_domain_stop() in progress */
    VmmTimings timings;

    guint memory_mib; /* boot memory plus what the virtio-mem device was asked to plug */
    guint vcpus;      /* present */
};

VmmDomain *vmm_domain_ref(VmmDomain *domain);
void vmm_domain_unref(VmmDomain *domain);

/* The VM stopped: a pending agent connect of @domain (if any) ends with VMM_ERROR_STOPPED and
 * @message; its callback runs later from the main context. */
void vmm_agent_connect_stopped(VmmDomain *domain, const char *message);
