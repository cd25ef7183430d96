/* secure-agent's entry point. As PID 1 it is the pod VM's init and serves the agent channel;
 * otherwise (host mode, for tests) it serves a unix socket:
 *   secure-agent --listen unix:PATH --state-dir DIR [--cgroup-root DIR] */
#include "agent.h"
#include "agent-error.h"
#include "agent-init.h"

#include <errno.h>
#include <glib-unix.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <string.h>
#include <unistd.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define INIT_CGROUP_ROOT "/sys/fs/cgroup/containers"

/* Every message goes to stderr (the VM console in init mode) with the program's prefix. */
static void main_log(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer data)
{
    (void)domain;
    (void)data;
    if ((level & (G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO)) && g_getenv("G_MESSAGES_DEBUG") == NULL)
        return;
    g_printerr("secure-agent: %s\n", message);
}

/* Whether the kernel command line allows ExecGuest (/proc is mounted by now); always TRUE. */
static gboolean main_debug_exec(AgentOptions *options)
{
    g_autofree char *cmdline = NULL;

    options->debug_exec = g_file_get_contents("/proc/cmdline", &cmdline, NULL, NULL) &&
                          agent_debug_exec_enabled(cmdline);
    if (options->debug_exec)
        g_printerr("secure-agent: ExecGuest is on (%s=1)\n", AGENT_DEBUG_EXEC_PARAM);
    return TRUE;
}

/* As PID 1: any failure powers the VM off, so the host sees the pod die instead of a hang. */
static int main_init(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(Agent) agent = NULL;
    g_autofree char *port_path = NULL;
    guint vsock_port = 0;
    AgentOptions options = {
        .init_mode = TRUE,
        .cgroup_root = INIT_CGROUP_ROOT,
        .own_cgroup_root = FALSE,
        .etc_dir = "/etc",
    };

    g_printerr("secure-agent: %s starting as init\n", SC_VERSION);
    if (agent_init_setup(&error) && agent_init_find_channel(&port_path, &vsock_port, &error) &&
        main_debug_exec(&options) && (agent = agent_new(&options, &error)) != NULL &&
        agent_serve_channel(agent, port_path, vsock_port, &error)) {
        g_printerr("secure-agent: serving %s\n", port_path != NULL ? port_path : "vsock");
        agent_run(agent);
    }
    if (error != NULL)
        g_printerr("secure-agent: fatal: %s\n", error->message);
    agent_init_power_off();
}

/* The cgroup2 mount: /sys/fs/cgroup on a unified host, /sys/fs/cgroup/unified on a hybrid one. */
static const char *main_cgroup2_mount(GError **error)
{
    static const char *const candidates[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};
    struct statfs fs;

    for (gsize i = 0; i < G_N_ELEMENTS(candidates); i++) {
        if (statfs(candidates[i], &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
            return candidates[i];
    }
    g_set_error_literal(error, AGENT_ERROR, AGENT_ERROR_NOT_FOUND, "no cgroup2 mount found");
    return NULL;
}

static gboolean main_on_quit(gint fd, GIOCondition condition, gpointer data)
{
    struct signalfd_siginfo info;

    (void)condition;
    while (read(fd, &info, sizeof(info)) > 0)
        ;
    agent_quit(data);
    return G_SOURCE_CONTINUE;
}

/* SIGTERM and SIGINT end the host-mode agent cleanly. They arrive on a signalfd, not through
 * g_unix_signal_add(), which would start GLib's worker thread: the container builder clones
 * without exec and must only ever run in a single-threaded process. They are blocked from the
 * start, so that one arriving early waits for the loop instead of killing us half set up. */
static void main_quit_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
}

typedef struct {
    char *listen;
    char *state_dir;
    char *cgroup_root;
} MainOptions;

static void main_options_clear(MainOptions *options)
{
    g_free(options->listen);
    g_free(options->state_dir);
    g_free(options->cgroup_root);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(MainOptions, main_options_clear)

/* Parses the host-mode command line; on failure prints why and returns FALSE. */
static gboolean main_parse_options(int argc, char **argv, MainOptions *options)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GOptionContext) parser = g_option_context_new("- secure-container guest agent");
    const GOptionEntry entries[] = {
        {"listen", 0, 0, G_OPTION_ARG_STRING, &options->listen, "Serve on a unix socket",
         "unix:PATH"},
        {"state-dir", 0, 0, G_OPTION_ARG_FILENAME, &options->state_dir, "Files the agent writes",
         "DIR"},
        {"cgroup-root", 0, 0, G_OPTION_ARG_FILENAME, &options->cgroup_root,
         "Parent cgroup of the containers (default: a new one, removed at exit)", "DIR"},
        {NULL},
    };

    g_option_context_add_main_entries(parser, entries, NULL);
    if (!g_option_context_parse(parser, &argc, &argv, &error)) {
        g_printerr("secure-agent: %s\n", error->message);
        return FALSE;
    }
    if (options->listen == NULL || !g_str_has_prefix(options->listen, "unix:") ||
        options->state_dir == NULL) {
        g_printerr("secure-agent: need --listen unix:PATH and --state-dir DIR\n");
        return FALSE;
    }
    return TRUE;
}

/* Serves until SIGTERM or SIGINT; returns the exit status. */
static int main_serve(Agent *agent, const char *socket_path)
{
    g_autoptr(GError) error = NULL;
    sigset_t set;
    guint source;
    int fd;

    main_quit_signals(&set);
    fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd < 0) {
        g_printerr("secure-agent: signalfd: %s\n", g_strerror(errno));
        return 1;
    }
    source = g_unix_fd_add(fd, G_IO_IN, main_on_quit, agent);
    if (agent_listen_unix(agent, socket_path, &error))
        agent_run(agent);
    else
        g_printerr("secure-agent: %s\n", error->message);
    g_source_remove(source);
    close(fd);
    return error == NULL ? 0 : 1;
}

static int main_host(int argc, char **argv)
{
    g_auto(MainOptions) cmdline = {0};
    g_autoptr(GError) error = NULL;
    g_autoptr(Agent) agent = NULL;
    AgentOptions options = {.init_mode = FALSE};
    const char *mount;
    sigset_t set;
    int status;

    main_quit_signals(&set);
    sigprocmask(SIG_BLOCK, &set, NULL);
    if (!main_parse_options(argc, argv, &cmdline))
        return 2;
    if (cmdline.cgroup_root == NULL) {
        if ((mount = main_cgroup2_mount(&error)) == NULL) {
            g_printerr("secure-agent: %s\n", error->message);
            return 1;
        }
        cmdline.cgroup_root = g_strdup_printf("%s/secure-agent-%d", mount, (int)getpid());
        options.own_cgroup_root = TRUE;
    }
    options.cgroup_root = cmdline.cgroup_root;
    options.etc_dir = cmdline.state_dir;
    /* Orphans of container processes come back to us to be reaped, as they would to PID 1. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    if (g_mkdir_with_parents(cmdline.state_dir, 0700) < 0) {
        g_printerr("secure-agent: mkdir '%s': %s\n", cmdline.state_dir, g_strerror(errno));
        return 1;
    }
    agent = agent_new(&options, &error);
    if (agent == NULL) {
        g_printerr("secure-agent: %s\n", error->message);
        return 1;
    }
    status = main_serve(agent, cmdline.listen + strlen("unix:"));
    /* Containers, their cgroups and the agent's own cgroup go before the socket does (which is
     * ours only if listening worked). */
    g_clear_pointer(&agent, agent_free);
    if (status == 0)
        unlink(cmdline.listen + strlen("unix:"));
    return status;
}

int main(int argc, char **argv)
{
    /* Before any thread exists, so that SIGCHLD only ever arrives through the signalfd. */
    agent_reaper_block_signals();
    /* A peer that closed its end must give EPIPE, not kill the agent. */
    signal(SIGPIPE, SIG_IGN);
    g_log_set_default_handler(main_log, NULL);
    if (getpid() == 1)
        return main_init();
    return main_host(argc, argv);
}
