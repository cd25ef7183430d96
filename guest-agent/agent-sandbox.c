/* The pod-wide guest settings. Every value comes from the host and is checked before use: the
 * hostname and DNS servers end up in files, the tag and path in mount(2). */
#include "agent-sandbox.h"
#include "agent-error.h"
#include "common-fd.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#define TAG_MAX 36 /* virtio-fs tags are at most 36 bytes */

struct _AgentSandbox {
    gboolean init_mode;
    char *etc_dir;
    gboolean created;
};

AgentSandbox *agent_sandbox_new(gboolean init_mode, const char *etc_dir)
{
    AgentSandbox *sandbox = g_new0(AgentSandbox, 1);

    sandbox->init_mode = init_mode;
    sandbox->etc_dir = g_strdup(etc_dir);
    return sandbox;
}

void agent_sandbox_free(AgentSandbox *sandbox)
{
    if (sandbox == NULL)
        return;
    g_free(sandbox->etc_dir);
    g_free(sandbox);
}

static gboolean sandbox_invalid(GError **error, const char *what, const char *value)
{
    g_autofree char *shown = g_strescape(strlen(value) > 80 ? "(too long)" : value, NULL);

    g_set_error(error, AGENT_ERROR, AGENT_ERROR_INVALID, "invalid %s '%s'", what, shown);
    return FALSE;
}

/* RFC 1123 host names: letters, digits, '-' and '.', not empty when given. */
static gboolean sandbox_check_hostname(const char *hostname, GError **error)
{
    gsize len = strlen(hostname);

    if (len > AGENT_SANDBOX_HOSTNAME_MAX || hostname[0] == '-' || hostname[0] == '.' ||
        strspn(hostname, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.") != len)
        return sandbox_invalid(error, "hostname", hostname);
    return TRUE;
}

static gboolean sandbox_check_path(const char *path, GError **error)
{
    g_auto(GStrv) parts = NULL;

    if (path[0] != '/' || strlen(path) > AGENT_SANDBOX_PATH_MAX)
        return sandbox_invalid(error, "shared fs path", path);
    parts = g_strsplit(path, "/", -1);
    for (char **part = parts; *part != NULL; part++) {
        if (strcmp(*part, "..") == 0)
            return sandbox_invalid(error, "shared fs path", path);
    }
    return TRUE;
}

static gboolean sandbox_check(const AgentSandboxConfig *config, GError **error)
{
    const char *type = config->shared_fs_type;

    if (!sandbox_check_hostname(config->hostname, error))
        return FALSE;
    if (config->n_dns_servers > AGENT_SANDBOX_DNS_MAX) {
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_INVALID, "%zu DNS servers, at most %d",
                    config->n_dns_servers, AGENT_SANDBOX_DNS_MAX);
        return FALSE;
    }
    for (gsize i = 0; i < config->n_dns_servers; i++) {
        const char *server = config->dns_servers[i];

        if (strlen(server) > AGENT_SANDBOX_DNS_LEN_MAX || !g_hostname_is_ip_address(server))
            return sandbox_invalid(error, "DNS server", server);
    }
    if (type[0] == '\0')
        return TRUE;
    if (strcmp(type, "virtiofs") != 0 && strcmp(type, "9p") != 0)
        return sandbox_invalid(error, "shared fs type", type);
    if (config->shared_fs_tag[0] == '\0' || strlen(config->shared_fs_tag) > TAG_MAX ||
        strchr(config->shared_fs_tag, ',') != NULL)
        return sandbox_invalid(error, "shared fs tag", config->shared_fs_tag);
    return sandbox_check_path(config->shared_fs_path, error);
}

static gboolean sandbox_write_resolv_conf(AgentSandbox *sandbox, const AgentSandboxConfig *config,
                                          GError **error)
{
    g_autoptr(GString) text = g_string_new(NULL);
    g_autofree char *path = g_build_filename(sandbox->etc_dir, "resolv.conf", NULL);

    for (gsize i = 0; i < config->n_dns_servers; i++)
        g_string_append_printf(text, "nameserver %s\n", config->dns_servers[i]);
    return g_file_set_contents_full(path, text->str, text->len, G_FILE_SET_CONTENTS_CONSISTENT,
                                    0644, error);
}

static gboolean sandbox_set_hostname(AgentSandbox *sandbox, const char *hostname, GError **error)
{
    g_autofree char *path = g_build_filename(sandbox->etc_dir, "hostname", NULL);
    g_autofree char *line = g_strconcat(hostname, "\n", NULL);

    if (hostname[0] == '\0')
        return TRUE;
    if (sandbox->init_mode && sethostname(hostname, strlen(hostname)) < 0) {
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_FAILED, "sethostname '%s': %s", hostname,
                    g_strerror(errno));
        return FALSE;
    }
    return g_file_set_contents_full(path, line, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, error);
}

static gboolean sandbox_mount_shared(const AgentSandboxConfig *config, GError **error)
{
    const char *data = strcmp(config->shared_fs_type, "9p") == 0
                           ? "trans=virtio,version=9p2000.L,cache=mmap,msize=262144"
                           : NULL;

    /* Not nosuid: container roots live here, and a bind mount keeps the flags of its source,
     * so setuid programs of an image would stop working. nodev: a device node shipped in an
     * image must not open the VM's devices. */
    if (g_mkdir_with_parents(config->shared_fs_path, 0755) < 0 ||
        mount(config->shared_fs_tag, config->shared_fs_path, config->shared_fs_type, MS_NODEV,
              data) < 0) {
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_FAILED, "mount %s '%s' on '%s': %s",
                    config->shared_fs_type, config->shared_fs_tag, config->shared_fs_path,
                    g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

gboolean agent_sandbox_create(AgentSandbox *sandbox, const AgentSandboxConfig *config,
                              GError **error)
{
    if (sandbox->created) {
        g_set_error_literal(error, AGENT_ERROR, AGENT_ERROR_STATE, "the sandbox already exists");
        return FALSE;
    }
    if (!sandbox_check(config, error))
        return FALSE;
    if (!sandbox->init_mode && config->shared_fs_type[0] != '\0') {
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_STATE,
                    "a host-mode agent mounts no shared fs (type '%s')", config->shared_fs_type);
        return FALSE;
    }
    if (!sandbox_set_hostname(sandbox, config->hostname, error) ||
        !sandbox_write_resolv_conf(sandbox, config, error))
        return FALSE;
    if (sandbox->init_mode && config->shared_fs_type[0] != '\0' &&
        !sandbox_mount_shared(config, error))
        return FALSE;
    sandbox->created = TRUE;
    return TRUE;
}

void agent_sandbox_forget_unused_files(AgentSandbox *sandbox)
{
    /* "2": unused dentries and inodes only; the page cache of files in use stays. */
    static const char reclaim_slab[] = "2\n";
    int fd;

    if (!sandbox->init_mode)
        return;
    fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, reclaim_slab, strlen(reclaim_slab)) < 0)
        g_warning("drop the guest's unused inodes: %s", g_strerror(errno));
    common_fd_close(&fd);
}
