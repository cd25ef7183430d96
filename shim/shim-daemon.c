/* Daemon entry: process setup (subreaper, signals, log), the event loop, teardown. */
#include "shim-daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "shim-config.h"
#include "shim-container.h"
#include "shim-debug-service.h"
#include "shim-log.h"
#include "shim-pod.h"
#include "shim-privileges.h"
#include "shim-reaper.h"
#include "shim-state.h"
#include "shim-task-service.h"
#include "ttrpc.h"
#include "vmm.h"

/* start hands the listening socket over as this fd. */
#define LISTEN_FD 3

/* SIGTERM and SIGINT reach the main loop through a pipe, not GLib's unix signal sources: those
 * run a thread of GLib's that blocks every signal, which shim-privileges.c could then not ask
 * to give up its capabilities. */
static int signal_pipe[2] = {-1, -1};

static void on_quit_signal(int signal_number)
{
    int saved = errno;
    ssize_t written = write(signal_pipe[1], "q", 1);
    (void)signal_number;
    (void)written;
    errno = saved;
}

static gboolean quit_on_signal(int fd, GIOCondition condition, gpointer user_data)
{
    (void)fd;
    (void)condition;
    g_info("signal received: shutting down");
    g_main_loop_quit(user_data);
    return G_SOURCE_CONTINUE;
}

/* The main loop's source for SIGTERM and SIGINT; 0 (logged) if there can be none. */
static guint watch_quit_signals(GMainLoop *loop)
{
    struct sigaction action = {.sa_handler = on_quit_signal, .sa_flags = SA_RESTART};

    if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        g_critical("pipe for signals: %s", g_strerror(errno));
        return 0;
    }
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    return g_unix_fd_add(signal_pipe[0], G_IO_IN, quit_on_signal, loop);
}

/* Lines name the pod by its directory, as `secure-container ps --json` and /run show it; set
 * before any thread starts logging. */
static void log_pod_name(const char *socket)
{
    g_autofree char *pod = g_path_get_basename(socket);
    g_autofree char *dir = shim_state_pod_dir(pod);
    g_autofree char *name = g_path_get_basename(dir);
    shim_log_set_pod(name);
}

int shim_daemon_run(const ShimArgs *args)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *config_path = shim_config_find(args->config);
    g_autoptr(ShimConfig) config = shim_config_load(config_path, &error);

    /* QEMU and virtiofsd are started daemonized by libvirt: as subreaper we get (and reap) them
     * instead of init. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    vmm_init();
    signal(SIGPIPE, SIG_IGN);
    shim_log_setup(".", config ? config->log_level : SHIM_LOG_INFO,
                   args->debug || (config && config->debug));
    if (!config || !args->socket) {
        g_critical("%s", config ? "-socket is required" : error->message);
        return 1;
    }
    log_pod_name(args->socket);
    /* kind = none runs the agent on the host, where it builds containers itself (setns into
     * their namespaces, chroot...) with whatever the shim had: it keeps root's all. */
    if ((config->kind != SHIM_HYPERVISOR_NONE && !shim_privileges_keep_start(&error)) ||
        !shim_privileges_start_workers(&error) || !shim_reaper_start(&error)) {
        g_critical("%s", error->message);
        return 1;
    }

    g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
    g_autoptr(ShimPod) pod =
        shim_pod_new(args->namespace, args->socket, g_steal_pointer(&config), loop, &error);
    if (!pod) {
        g_critical("%s", error->message);
        return 1;
    }
    g_autoptr(ShimContainers) containers = shim_containers_new(pod);
    g_autoptr(TtrpcServer) server = ttrpc_server_new(NULL);
    shim_task_service_register(server, containers);
    int fd = LISTEN_FD;
    if (!ttrpc_server_listen_fd(server, &fd, &error)) {
        g_critical("serve on '%s': %s", args->socket, error->message);
        return 1;
    }
    guint quit = watch_quit_signals(loop);
    if (quit == 0)
        return 1;
    g_info("serving pod %s on %s", shim_pod_get_name(pod), args->socket);
    /* Without it the pod runs; only `secure-container ps` and `metrics` miss it. */
    g_autoptr(ShimDebugService) debug = shim_debug_service_start(pod, &error);
    if (!debug)
        g_warning("no debug socket for `secure-container`: %s", error->message);

    g_main_loop_run(loop);

    g_source_remove(quit);
    g_clear_pointer(&debug, shim_debug_service_free);
    g_clear_pointer(&server, ttrpc_server_free);
    g_clear_pointer(&containers, shim_containers_free);
    g_clear_pointer(&pod, shim_pod_free);
    g_info("exiting");
    return 0;
}
