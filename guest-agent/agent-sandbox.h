/* CreateSandbox: the pod-wide settings of the guest (hostname, DNS servers, the shared directory
 * mount). In init mode they change the VM; in host mode the hostname and resolv.conf are written
 * under the state directory instead and nothing is mounted. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define AGENT_SANDBOX_HOSTNAME_MAX 64
#define AGENT_SANDBOX_DNS_MAX 8
#define AGENT_SANDBOX_DNS_LEN_MAX 64
#define AGENT_SANDBOX_PATH_MAX 4096

typedef struct {
    const char *hostname;
    const char *const *dns_servers;
    gsize n_dns_servers;
    const char *shared_fs_type; /* "virtiofs", "9p", or "" when already mounted */
    const char *shared_fs_tag;
    const char *shared_fs_path;
} AgentSandboxConfig;

typedef struct _AgentSandbox AgentSandbox;

/* @etc_dir: where resolv.conf (and in host mode the hostname file) go. */
AgentSandbox *agent_sandbox_new(gboolean init_mode, const char *etc_dir);
void agent_sandbox_free(AgentSandbox *sandbox);

/* Validates @config completely before changing anything; fails with AGENT_ERROR_STATE if the
 * sandbox was already created. */
gboolean agent_sandbox_create(AgentSandbox *sandbox, const AgentSandboxConfig *config,
                              GError **error);

/* After a container is removed: in a VM, the guest kernel lets go of the inodes it no longer
 * uses, and with them the host's file server (virtiofsd, QEMU's 9p) closes the file it holds
 * open for each. Left to memory pressure, a pod whose containers come and go ran virtiofsd out
 * of fds (the CRI soak: about 500 containers in one pod). Never in host mode: those caches are
 * the host's. */
void agent_sandbox_forget_unused_files(AgentSandbox *sandbox);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgentSandbox, agent_sandbox_free)

G_END_DECLS
