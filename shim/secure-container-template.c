/* secure-container-template: builds the VM template that pods of a config resume from (boots a
 * VM of the config's default pod size in the template layout, waits until its agent answers,
 * saves it with libvirt). The shim starts it in the background when the template is missing;
 * install.sh runs it once. One build at a time: a second one waits for the first (--wait) or
 * leaves at once. Exit status 0 when the template exists afterwards. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "shim-agent-probe.h"
#include "shim-template.h"
#include "ttrpc.h"
#include "common-fd.h"

typedef struct {
    gboolean done;
    GError *error;
} AgentWait;

static void on_agent(TtrpcClient *client, const ShimAgentInfo *info, const GError *error,
                     gpointer user_data)
{
    AgentWait *wait = user_data;
    (void)info;
    /* The connection closes before the save: a resumed agent waits for its new host. */
    if (client)
        ttrpc_client_free(client);
    wait->error = error ? g_error_copy(error) : NULL;
    wait->done = TRUE;
}

/* Boots the template VM in @run_dir (its 9p share @shared below it) and saves it to @path. */
static gboolean build(const ShimConfig *config, const char *run_dir, const char *shared,
                      const char *path, GError **error)
{
    g_autoptr(VmmDomain) domain = NULL;
    g_autoptr(ShimAgentProbe) probe = NULL;
    AgentWait wait = {0};
    VmmConfig vc;
    ShimVmSize size;

    if (g_mkdir_with_parents(shared, 0700) < 0) {
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "mkdir '%s': %s", shared,
                    g_strerror(errno));
        return FALSE;
    }
    if (!shim_template_vm_config(config, run_dir, shared, &vc, &size, error))
        return FALSE;
    domain = vmm_domain_start(&vc, error);
    if (domain == NULL)
        return FALSE;
    probe = shim_agent_probe_vm(domain, (gint64)config->agent_boot_timeout_s * G_USEC_PER_SEC,
                                on_agent, &wait);
    while (!wait.done)
        g_main_context_iteration(NULL, TRUE);
    if (wait.error != NULL) {
        g_propagate_error(error, wait.error);
        return FALSE;
    }
    return vmm_domain_save(domain, path, error);
}

/* The build lock in @dir, held until exit; FALSE when another build holds it and !@wait. */
static gboolean lock_builds(const char *dir, gboolean wait, GError **error)
{
    g_autofree char *path = g_build_filename(dir, "build.lock", NULL);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

    if (fd < 0 || flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) < 0) {
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "lock '%s': %s", path,
                    g_strerror(errno));
        common_fd_close(&fd);
        return FALSE;
    }
    return TRUE; /* the fd stays open: the lock goes with the process */
}

static gboolean run(const char *config_arg, gboolean wait, GError **error)
{
    g_autofree char *config_path = shim_config_find(config_arg);
    g_autoptr(ShimConfig) config = shim_config_load(config_path, error);
    g_autofree char *path = NULL;
    g_autofree char *run_dir = NULL;
    g_autofree char *shared = NULL;
    VmmConfig vc;
    ShimVmSize size;
    gboolean ok;

    if (config == NULL)
        return FALSE;
    if (!config->template_enabled) {
        g_print("templates are off in '%s' ([template] enable = false): nothing to build\n",
                config_path);
        return TRUE;
    }
    if (config->shared_fs != SHIM_SHARED_FS_9P) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                    "'%s': templates need [hypervisor] shared_fs = virtio-9p", config_path);
        return FALSE;
    }
    if (g_mkdir_with_parents(config->template_dir, 0700) < 0) {
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "mkdir '%s': %s",
                    config->template_dir, g_strerror(errno));
        return FALSE;
    }
    if (!lock_builds(config->template_dir, wait, error))
        return FALSE;
    if (!shim_template_vm_config(config, "/template", "/template/shared", &vc, &size, error))
        return FALSE;
    path = shim_template_path(config, &vc, error);
    if (path == NULL)
        return FALSE;
    if (g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
        g_print("the VM template '%s' is up to date\n", path);
        return TRUE;
    }
    run_dir = shim_template_build_dir(config);
    shared = g_build_filename(run_dir, "shared", NULL);
    g_print("building the VM template '%s' (%u MiB, %u vCPUs)\n", path, size.memory_mib,
            size.vcpus);
    ok = build(config, run_dir, shared, path, error);
    /* The VM and its files are gone (vmm_domain_free()); its directories go too, also on
     * failure. */
    g_rmdir(shared);
    g_rmdir(run_dir);
    if (ok)
        g_print("built the VM template '%s'\n", path);
    return ok;
}

int main(int argc, char **argv)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *config = NULL;
    gboolean wait = FALSE;
    GOptionEntry entries[] = {
        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &config, "the shim's config file", "FILE"},
        {"wait", 'w', 0, G_OPTION_ARG_NONE, &wait, "wait for a build already running", NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL}};
    g_autoptr(GOptionContext) context =
        g_option_context_new("- build the VM template pods resume from");

    /* libvirt logs what it probes and handles itself (no /dev/kvm, no dmidecode) as errors;
     * what fails the build comes back as its GError. */
    g_setenv("LIBVIRT_LOG_OUTPUTS", "4:file:/dev/null", FALSE);
    vmm_init();
    g_option_context_add_main_entries(context, entries, NULL);
    if (!g_option_context_parse(context, &argc, &argv, &error) || !run(config, wait, &error)) {
        if (g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_AGAIN)) {
            g_print("another build of the VM template is running\n");
            return 0;
        }
        g_printerr("secure-container-template: %s\n", error->message);
        return 1;
    }
    return 0;
}
