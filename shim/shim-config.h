/* The shim's configuration: a GLib key file (see packaging/secure-container.conf). */
#pragma once

#include <glib.h>

typedef enum {
    SHIM_HYPERVISOR_LIBVIRT, /* a QEMU VM per pod through libvirt (the product) */
    SHIM_HYPERVISOR_NONE,    /* a host-mode agent per pod: no isolation, for tests only */
    SHIM_HYPERVISOR_LAST
} ShimHypervisorKind;

typedef enum { SHIM_ACCEL_AUTO, SHIM_ACCEL_KVM, SHIM_ACCEL_TCG, SHIM_ACCEL_LAST } ShimAccelerator;
typedef enum { SHIM_SHARED_FS_VIRTIOFS, SHIM_SHARED_FS_9P, SHIM_SHARED_FS_LAST } ShimSharedFs;
typedef enum {
    SHIM_LOG_ERROR,
    SHIM_LOG_WARNING,
    SHIM_LOG_INFO,
    SHIM_LOG_DEBUG,
    SHIM_LOG_LAST
} ShimLogLevel;

/* What the guest's kernel command line carries when debug_exec is on: the agent refuses
 * ExecGuest without it, whatever a host later asks. */
#define SHIM_DEBUG_EXEC_PARAM "sc.debug_exec=1"

typedef struct {
    char *path; /* the file it came from */

    ShimHypervisorKind kind;
    char *libvirt_uri; /* "" = an embedded driver per pod */
    ShimAccelerator accelerator;
    guint memory_mib; /* a pod whose size is not known (no limits, no annotations) */
    guint vcpus;
    guint min_memory_mib;      /* a sized pod's VM never boots smaller */
    guint memory_overhead_mib; /* the guest kernel's and agent's share, on top of the limits */
    guint guest_files_mib;     /* not a key: the initrd's size, its files live in guest RAM */
    guint max_memory_mib;      /* hot-plug ceiling; a pod that needs more is refused */
    guint max_vcpus;
    char *kernel;
    char *initrd;
    char *kernel_params;
    ShimSharedFs shared_fs;
    char *machine_type;
    char *virtiofsd;
    /* With virtio-fs each pod's QEMU runs as a uid (and gid) of its own from
     * pod_uid_base..pod_uid_base+pod_uid_count-1; virtio-9p needs it to run as root. */
    guint pod_uid_base;
    guint pod_uid_count;

    gboolean template_enabled; /* resume pods from a saved agent-ready VM (shim-template.c) */
    char *template_dir;

    guint agent_boot_timeout_s;    /* VM start -> agent healthy */
    guint agent_request_timeout_s; /* every agent call but the long polls */
    guint agent_health_timeout_s;  /* the periodic Health call: a hung guest ends its pod */
    char *agent_host_binary;       /* kind=none: the secure-agent executable */
    /* `secure-container exec`: commands in the guest, outside any container, run by a copy
     * of debug_exec_tools (a static busybox) the shim puts in the pod's shared directory. */
    gboolean debug_exec;
    char *debug_exec_tools;

    gboolean debug;
    ShimLogLevel log_level;

    guint64 keys_set;          /* bit i: the file set the i-th key of shim_config_entries() */
    char *guest_kernel_params; /* not a key: kernel_params, and what debug_exec adds */
} ShimConfig;

void shim_config_free(ShimConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ShimConfig, shim_config_free)

/* Parses the key file @path. Errors name the file, the group/key and what is allowed. */
ShimConfig *shim_config_load(const char *path, GError **error);

/* One place the shim looks for its config file, in the order it looks. */
typedef struct {
    const char *source; /* "runtime option ConfigPath", "$SECURE_CONTAINER_CONFIG", ... */
    char *path;         /* NULL: not set */
    gboolean taken;     /* the first one set (and, for the system file, present) */
} ShimConfigCandidate;

/* The candidates for @config_path (the runtime options' ConfigPath): it if not empty, else
 * $SECURE_CONTAINER_CONFIG, else the system file if it exists, else the installed default.
 * Exactly one is taken. Free with g_array_unref(). */
GArray *shim_config_candidates(const char *config_path);
/* The path of the candidate taken. */
char *shim_config_find(const char *config_path);

/* One key in force: its value as the file would spell it, and whether the file set it. */
typedef struct {
    const char *group;
    const char *key;
    char *value;
    gboolean from_file;
} ShimConfigEntry;

/* Every key of the format, group by group. Free with g_array_unref(). */
GArray *shim_config_entries(const ShimConfig *config);
