/* A throwaway pod VM for `check --boot`. It lives in a pod directory of its own under
 * /run/secure-container with a state file, like a shim's, so that an interrupted check leaves
 * nothing another run cannot see; SIGINT and SIGTERM end it cleanly. */
#include "tool-boot.h"

#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include <glib-unix.h>

#include "shim-error.h"
#include "shim-rootfs.h"
#include "shim-sandbox.h"
#include "shim-stale.h"
#include "shim-state.h"
#include "ttrpc.h"

/* The namespace a check's pod records, where a shim's has containerd's. */
#define CHECK_NAMESPACE "secure-container-check"

typedef struct {
    gboolean done;
    GError *error;
} Boot;

static void on_ready(ShimSandbox *sandbox, TtrpcClient *client, const GError *error,
                     gpointer user_data)
{
    Boot *boot = user_data;
    (void)sandbox;
    if (client)
        ttrpc_client_free(client);
    if (error && !boot->done)
        boot->error = g_error_copy(error);
    boot->done = TRUE;
}

static void on_died(ShimSandbox *sandbox, const char *reason, gpointer user_data)
{
    Boot *boot = user_data;
    (void)sandbox;
    if (!boot->done)
        g_set_error(&boot->error, SHIM_ERROR, SHIM_ERROR_UNAVAILABLE, "%s", reason);
    boot->done = TRUE;
}

static gboolean on_signal(gpointer user_data)
{
    Boot *boot = user_data;
    if (!boot->done)
        g_set_error(&boot->error, SHIM_ERROR, SHIM_ERROR_CANCELLED, "interrupted");
    boot->done = TRUE;
    return G_SOURCE_CONTINUE;
}

/* A pod id of our own: 64 hex digits, as containerd's socket hashes are. */
static char *new_pod_id(void)
{
    GString *id = g_string_new(NULL);
    for (int i = 0; i < 8; i++)
        g_string_append_printf(id, "%08x", g_random_int());
    return g_string_free(id, FALSE);
}

static gboolean boot_in(const ShimConfig *config, ShimState *state, const char *run_dir,
                        double *out_seconds, char **out_console, GError **error)
{
    g_autofree char *shared = g_build_filename(run_dir, "shared", NULL);
    g_autofree char *name = g_path_get_basename(run_dir);
    ShimVmSize size = {.memory_mib = config->memory_mib, .vcpus = config->vcpus};
    Boot boot = {0};

    if (g_mkdir_with_parents(shared, 0700) < 0) {
        g_set_error(error, SHIM_ERROR, SHIM_ERROR_FAILED, "mkdir '%s': %s", shared,
                    g_strerror(errno));
        return FALSE;
    }
    guint sigint = g_unix_signal_add(SIGINT, on_signal, &boot);
    guint sigterm = g_unix_signal_add(SIGTERM, on_signal, &boot);
    gint64 start = g_get_monotonic_time();
    g_autoptr(ShimSandbox) sandbox = shim_sandbox_start(config, state, name, run_dir, shared, NULL,
                                                        &size, on_died, &boot, error);
    if (sandbox) {
        shim_sandbox_wait_agent(sandbox, on_ready, &boot);
        while (!boot.done)
            g_main_context_iteration(NULL, TRUE);
        *out_seconds = (g_get_monotonic_time() - start) / (double)G_USEC_PER_SEC;
        if (boot.error)
            *out_console = shim_sandbox_console_tail(sandbox, 20);
        shim_sandbox_destroy(sandbox);
    }
    g_source_remove(sigint);
    g_source_remove(sigterm);
    if (!sandbox)
        return FALSE;
    if (boot.error) {
        g_propagate_error(error, boot.error);
        return FALSE;
    }
    return TRUE;
}

/* What a check that was killed left (its process is gone): removed, as `delete` would. */
static void remove_killed_checks(void)
{
    g_autoptr(GDir) dir = g_dir_open(SHIM_STATE_ROOT, 0, NULL);
    const char *name;

    while (dir && (name = g_dir_read_name(dir))) {
        g_autofree char *path = g_build_filename(SHIM_STATE_ROOT, name, NULL);
        g_autoptr(ShimState) state = shim_state_load(path, NULL);
        g_autofree char *ns = state ? shim_state_get(state, NULL, SHIM_STATE_NAMESPACE) : NULL;
        g_autoptr(GError) error = NULL;
        pid_t pid = state ? (pid_t)shim_state_get_int(state, NULL, SHIM_STATE_SHIM_PID) : 0;

        if (!ns || !g_str_equal(ns, CHECK_NAMESPACE) || pid <= 0 ||
            !(kill(pid, 0) < 0 && errno == ESRCH))
            continue;
        if (!shim_stale_cleanup(state, &error))
            g_printerr("secure-container check: a killed check's pod %s: %s\n", path,
                       error->message);
    }
}

gboolean tool_boot(const ShimConfig *config, double *out_seconds, char **out_console,
                   GError **error)
{
    g_autofree char *id = new_pod_id();
    g_autofree char *run_dir = shim_state_pod_dir(id);
    g_autoptr(GError) cleanup_error = NULL;

    *out_console = NULL;
    remove_killed_checks();
    g_autoptr(ShimState) state = shim_state_open(run_dir, error);
    if (!state)
        return FALSE;
    shim_state_set(state, NULL, SHIM_STATE_NAMESPACE, CHECK_NAMESPACE);
    shim_state_set_int(state, NULL, SHIM_STATE_SHIM_PID, getpid());
    gboolean ok = shim_state_save(state, error) &&
                  boot_in(config, state, run_dir, out_seconds, out_console, error);
    if (!shim_rootfs_remove_tree(run_dir, &cleanup_error))
        g_printerr("secure-container check: %s\n", cleanup_error->message);
    return ok;
}
