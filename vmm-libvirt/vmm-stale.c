/* Cleanup of what a pod's previous run left: QEMU and virtiofsd processes, the shared bind
 * mount, the embed root, the agent socket and the console log. Works from files alone, so it
 * can run when the process that held the embedded driver died. */
#include <dirent.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "common-fd.h"
#include "common-process.h"
#include "vmm-internal.h"

#define STALE_KILL_TIMEOUT_US (3 * G_USEC_PER_SEC)

static gboolean any_arg_contains(GStrv argv, const char *needle)
{
    for (guint i = 1; argv[i] != NULL; i++) {
        if (strstr(argv[i], needle) != NULL)
            return TRUE;
    }
    return FALSE;
}

/* An argument that is @option exactly or @option followed by more ",key=value" options. */
static gboolean any_arg_is_option(GStrv argv, const char *option)
{
    gsize len = strlen(option);

    for (guint i = 1; argv[i] != NULL; i++) {
        if (strncmp(argv[i], option, len) == 0 && (argv[i][len] == '\0' || argv[i][len] == ','))
            return TRUE;
    }
    return FALSE;
}

/* A process of this pod: a QEMU whose arguments name one of our domains and our embed root
 * (one per pod; the domain's name is not: pods resumed from a template all have the template's),
 * or a virtiofsd serving our shared directory. Never judged by its name alone. */
static gboolean process_is_ours(GStrv argv, const char *embed_root, const char *source_arg)
{
    g_autofree char *program = g_path_get_basename(argv[0]);

    if (g_str_has_prefix(program, "qemu-system"))
        return any_arg_contains(argv, "guest=" VMM_DOMAIN_PREFIX) &&
               any_arg_contains(argv, embed_root);
    if (g_str_has_suffix(program, "virtiofsd") && source_arg != NULL)
        return any_arg_is_option(argv, source_arg);
    return FALSE;
}

static gboolean kill_stale_processes(const VmmConfig *config, GError **error)
{
    g_autofree char *root = vmm_config_embed_root(config);
    g_autofree char *embed_root = g_strconcat(root, "/", NULL);
    g_autofree char *source_arg = NULL;
    g_autoptr(GDir) proc = NULL;
    const char *entry;

    if (config->shared_fs == VMM_SHARED_FS_VIRTIOFS && config->shared_dir != NULL)
        source_arg = g_strdup_printf("source=%s", config->shared_dir);
    proc = g_dir_open("/proc", 0, error);
    if (proc == NULL)
        return FALSE;
    while ((entry = g_dir_read_name(proc)) != NULL) {
        guint64 pid;

        if (!g_ascii_string_to_unsigned(entry, 10, 1, G_MAXINT, &pid, NULL) ||
            (pid_t)pid == getpid())
            continue;
        /* Its starter (libvirt in a shim now gone) held it; we only have /proc: judge its argv
         * under a pidfd, and kill through that. */
        common_autofd int pidfd = pidfd_open((pid_t)pid, 0);
        g_auto(GStrv) argv = pidfd >= 0 ? common_process_argv(pidfd, (pid_t)pid) : NULL;
        if (argv == NULL || !process_is_ours(argv, embed_root, source_arg))
            continue;
        if (!vmm_kill_wait(pidfd, (pid_t)pid, STALE_KILL_TIMEOUT_US, error)) {
            g_prefix_error(error, "stale %s: ", argv[0]);
            return FALSE;
        }
    }
    return TRUE;
}

/* qemu:///system and the like: the daemon keeps the domain; ask it to destroy ours. */
static gboolean destroy_remote_domain(const VmmConfig *config, GError **error)
{
    g_autofree char *name = vmm_config_domain_name(config);
    virConnectPtr conn;
    virDomainPtr dom;
    gboolean ok = TRUE;

    vmm_init();
    conn = virConnectOpen(config->uri);
    if (conn == NULL) {
        g_set_error(error, VMM_ERROR, VMM_ERROR_FAILED, "connect to '%s': %s", config->uri,
                    vmm_libvirt_error());
        return FALSE;
    }
    dom = virDomainLookupByName(conn, name);
    if (dom != NULL) {
        if (virDomainIsActive(dom) == 1 && virDomainDestroy(dom) < 0) {
            g_set_error(error, VMM_ERROR, VMM_ERROR_FAILED, "destroy stale domain '%s': %s", name,
                        vmm_libvirt_error());
            ok = FALSE;
        }
        virDomainFree(dom);
    }
    virConnectClose(conn);
    return ok;
}

static gboolean remove_file(const char *path, GError **error)
{
    if (g_unlink(path) == 0 || errno == ENOENT)
        return TRUE;
    g_set_error(error, VMM_ERROR, VMM_ERROR_FAILED, "remove '%s': %s", path, g_strerror(errno));
    return FALSE;
}

static gboolean remove_files(const VmmConfig *config, GError **error)
{
    g_autofree char *embed_root = vmm_config_embed_root(config);
    g_autofree char *marker = g_build_filename(config->run_dir, VMM_SHARED_MOUNT_MARKER, NULL);
    g_autofree char *agent_socket = vmm_config_agent_socket(config);
    g_autofree char *console_log = vmm_config_console_log(config);

    if (config->shared_dir != NULL && g_file_test(marker, G_FILE_TEST_EXISTS) &&
        !vmm_shared_unmount(config->shared_dir, error))
        return FALSE;
    return remove_file(marker, error) && vmm_remove_tree(embed_root, error) &&
           remove_file(agent_socket, error) && remove_file(console_log, error);
}

gboolean vmm_cleanup_stale(const VmmConfig *config, GError **error)
{
    g_return_val_if_fail(config != NULL, FALSE);

    if (config->name == NULL || config->run_dir == NULL || !g_path_is_absolute(config->run_dir)) {
        g_set_error(error, VMM_ERROR, VMM_ERROR_INVALID_CONFIG,
                    "cleanup needs a name and an absolute run directory");
        return FALSE;
    }
    if (vmm_config_is_embedded(config)) {
        if (!kill_stale_processes(config, error))
            return FALSE;
    } else if (!destroy_remote_domain(config, error)) {
        return FALSE;
    }
    if (!remove_files(config, error)) {
        g_prefix_error(error, "clean up VM '%s': ", config->name);
        return FALSE;
    }
    return TRUE;
}
