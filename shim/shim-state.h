/* The per-pod state file, /run/secure-container/<pod>/state: a key file written atomically
 * (temp file + rename) BEFORE each side effect it records, so that `delete` and a restarted
 * shim can undo what a dead daemon left: VM, mounts, sockets, helper processes. */
#pragma once

#include <glib.h>

#define SHIM_STATE_ROOT "/run/secure-container"
#define SHIM_STATE_POD_NAME_LEN 16
#define SHIM_STATE_POD "pod"

/* Pod keys */
#define SHIM_STATE_NAMESPACE "namespace"
#define SHIM_STATE_SOCKET "socket"
#define SHIM_STATE_SHIM_PID "shim_pid"
#define SHIM_STATE_KIND "kind"
#define SHIM_STATE_VM_NAME "vm_name"
#define SHIM_STATE_EMBED_ROOT "embed_root"
#define SHIM_STATE_VM_PID "vm_pid" /* QEMU, or the host-mode agent */
/* The uid QEMU runs as; its reservation is shim-pod-uid.h's. */
#define SHIM_STATE_QEMU_UID "qemu_uid"
#define SHIM_STATE_SHARED_DIR "shared_dir"   /* bound onto itself (MS_SHARED) */
#define SHIM_STATE_HOST_CGROUP "host_cgroup" /* kind = none: the host agent's cgroup root */
/* Container keys */
#define SHIM_STATE_BUNDLE "bundle"
#define SHIM_STATE_ROOTFS "rootfs" /* host mount point under shared_dir */

typedef struct {
    char *dir;
    char *path;
    GKeyFile *file;
} ShimState;

void shim_state_free(ShimState *state);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ShimState, shim_state_free)

/* The pod directory for the socket hash @pod (64 hex digits): SHIM_STATE_ROOT/<first 16>. */
char *shim_state_pod_dir(const char *pod);

/* Creates @dir (0700) if needed and loads its state file if there is one. */
ShimState *shim_state_open(const char *dir, GError **error);
/* Loads an existing state file; G_FILE_ERROR_NOENT if there is none. */
ShimState *shim_state_load(const char *dir, GError **error);
gboolean shim_state_save(ShimState *state, GError **error);

/* @container NULL: the pod's group. Returns a new string, NULL when unset. */
char *shim_state_get(ShimState *state, const char *container, const char *key);
/* @value NULL: removes @key. */
void shim_state_set(ShimState *state, const char *container, const char *key, const char *value);
void shim_state_set_int(ShimState *state, const char *container, const char *key, gint64 value);
gint64 shim_state_get_int(ShimState *state, const char *container, const char *key);
void shim_state_remove_container(ShimState *state, const char *container);
/* The ids of the containers recorded, NULL-terminated. */
GStrv shim_state_containers(ShimState *state);
