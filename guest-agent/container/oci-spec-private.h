/* oci-spec-private.h: the parsed OCI spec as plain C data, read by the builder (also in the cloned
 * child, which must not allocate: everything it needs is prepared here at parse time). */
#pragma once

#include <json-c/json.h>
#include <linux/filter.h>
#include <sys/types.h>

#include "container.h"

typedef struct {
    char *destination;         /* absolute, no '..' component */
    char *type;                /* filesystem type; NULL for a bind mount */
    char *source;              /* may be NULL */
    char *data;                /* options that are not flags, comma-joined; NULL if none */
    unsigned long flags;       /* MS_* set at mount time */
    unsigned long clear_flags; /* MS_* explicitly cleared (rw, suid, ...) */
    unsigned long propagation; /* MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (| MS_REC), or 0 */
    gboolean bind;
    gboolean recursive;
} OciMount;

typedef struct {
    int resource; /* RLIMIT_* */
    guint64 soft;
    guint64 hard;
} OciRlimit;

typedef struct {
    guint64 bounding;
    guint64 effective;
    guint64 permitted;
    guint64 inheritable;
    guint64 ambient;
} OciCapabilities;

struct OciProcess {
    gboolean terminal;
    guint16 console_rows; /* 0: not set */
    guint16 console_cols;
    uid_t uid;
    gid_t gid;
    gid_t *additional_gids;
    gsize n_additional_gids;
    gboolean has_umask;
    mode_t umask;
    char **args;               /* NULL-terminated, at least one */
    char **env;                /* NULL-terminated */
    char *cwd;                 /* absolute, no '..' component */
    gboolean has_capabilities; /* FALSE: every capability is dropped */
    OciCapabilities caps;
    OciRlimit *rlimits;
    gsize n_rlimits;
    gboolean no_new_privileges;
    gboolean has_oom_score_adj;
    int oom_score_adj;
};

/* One linux.resources.devices rule; later rules override earlier ones. */
typedef struct {
    gboolean allow;
    char type;      /* 'a' (all), 'c' or 'b' */
    gint64 major;   /* -1: any */
    gint64 minor;   /* -1: any */
    guint32 access; /* BPF_DEVCG_ACC_* bits */
} OciDeviceRule;

typedef struct {
    char *page_size; /* as cgroup v2 names it: "2MB", "1GB" */
    guint64 limit;   /* bytes */
} OciHugepageLimit;

/* Limits are -1 when unset; "max" is G_MAXINT64. */
typedef struct {
    gint64 memory_limit;
    gint64 memory_reservation;
    gint64 memory_swap; /* OCI: memory + swap */
    gint64 cpu_shares;
    gint64 cpu_quota;
    gint64 cpu_period;
    char *cpuset_cpus;
    char *cpuset_mems;
    gint64 pids_limit;
    char **unified_keys; /* linux.resources.unified: cgroup v2 file names */
    char **unified_values;
    gsize n_unified;
    OciHugepageLimit *hugepage_limits;
    gsize n_hugepage_limits;
    OciDeviceRule *device_rules; /* NULL: no device rules given */
    gsize n_device_rules;
} OciResources;

typedef struct {
    int clone_flag; /* CLONE_NEW* */
    char *path;     /* join this namespace; NULL: create a new one */
} OciNamespace;

typedef struct {
    char *key; /* validated: [A-Za-z0-9_.-], no '..' */
    char *value;
} OciSysctl;

typedef struct {
    char type; /* 'c', 'b', 'p' */
    guint32 major;
    guint32 minor;
    mode_t mode; /* permission bits */
    uid_t uid;
    gid_t gid;
    char *path; /* absolute, no '..' component */
} OciDevice;

struct OciSpec {
    char *root_path;
    gboolean root_readonly;
    char *hostname;
    char *domainname;
    OciProcess *process;
    OciMount *mounts;
    gsize n_mounts;
    OciNamespace *namespaces;
    gsize n_namespaces;
    int clone_flags; /* CLONE_NEW* of the namespaces to create */
    OciResources resources;
    unsigned long rootfs_propagation; /* default MS_SLAVE | MS_REC */
    char **masked_paths;
    char **readonly_paths;
    OciSysctl *sysctls;
    gsize n_sysctls;
    OciDevice *devices;
    gsize n_devices;
    /* The compiled seccomp filter (NULL: none), loaded with seccomp(2) flags. */
    struct sock_filter *seccomp_filter;
    gsize seccomp_len;
    unsigned int seccomp_flags;
};

/* Acquires a reference on an immutable spec; release with oci_spec_free(). */
OciSpec *oci_spec_ref(const OciSpec *spec);

/* Sets every limit of `res` to unset. */
void oci_resources_init(OciResources *res);
/* Parses a linux.resources object into `res` (initialised with oci_resources_init); on failure
 * `res` may be partly filled and must still be cleared. */
gboolean oci_resources_from_json(json_object *obj, OciResources *res, GError **error);
/* Frees what `res` holds (not `res` itself). */
void oci_resources_clear(OciResources *res);

/* Parses a "process" object (oci-process.c). */
OciProcess *oci_process_from_json(json_object *obj, GError **error);
