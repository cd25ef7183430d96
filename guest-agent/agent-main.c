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
static void main_log(const gchar *domain, GLogLevelFlags level, const gchar *message,
                     gpointer data)
{
    (void)domain;
    (void)data;
    if ((level & (G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO)) && g_getenv("G_MESSAGES_DEBUG") == NULL)
        return;
    g_printerr("secure-agent: %s\n", message);
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
        (agent = agent_new(&options, &error)) != NULL &&
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
 * without exec and must only ever run in a single-threaded process. Returns the fd; its source
 * id goes to *@out_source. */
static int main_watch_quit_signals(Agent *agent, guint *out_source)
{
    sigset_t set;
    int fd;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd >= 0)
        *out_source = g_unix_fd_add(fd, G_IO_IN, main_on_quit, agent);
    return fd;
}

static int main_host(int argc, char **argv)
{
    g_autofree char *listen = NULL;
    g_autofree char *state_dir = NULL;
    g_autofree char *cgroup_root = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(Agent) agent = NULL;
    g_autoptr(GOptionContext) parser = g_option_context_new("- secure-container guest agent");
    const char *mount;
    int quit_fd;
    guint quit_source = 0;
    const GOptionEntry entries[] = {
        {"listen", 0, 0, G_OPTION_ARG_STRING, &listen, "Serve on a unix socket", "unix:PATH"},
        {"state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir, "Files the agent writes", "DIR"},
        {"cgroup-root", 0, 0, G_OPTION_ARG_FILENAME, &cgroup_root,
         "Parent cgroup of the containers (default: a new one, removed at exit)", "DIR"},
        {NULL},
    };
    AgentOptions options = {.init_mode = FALSE};

    g_option_context_add_main_entries(parser, entries, NULL);
    if (!g_option_context_parse(parser, &argc, &argv, &error)) {
        g_printerr("secure-agent: %s\n", error->message);
        return 2;
    }
    if (listen == NULL || !g_str_has_prefix(listen, "unix:") || state_dir == NULL) {
        g_printerr("secure-agent: need --listen unix:PATH and --state-dir DIR\n");
        return 2;
    }
    if (cgroup_root == NULL) {
        if ((mount = main_cgroup2_mount(&error)) == NULL) {
            g_printerr("secure-agent: %s\n", error->message);
            return 1;
        }
        cgroup_root = g_strdup_printf("%s/secure-agent-%d", mount, (int)getpid());
        options.own_cgroup_root = TRUE;
    }
    options.cgroup_root = cgroup_root;
    options.etc_dir = state_dir;
    /* Orphans of container processes come back to us to be reaped, as they would to PID 1. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    if (g_mkdir_with_parents(state_dir, 0700) < 0) {
        g_printerr("secure-agent: mkdir '%s': %s\n", state_dir, g_strerror(errno));
        return 1;
    }
    agent = agent_new(&options, &error);
    if (agent == NULL) {
        g_printerr("secure-agent: %s\n", error->message);
        return 1;
    }
    /* Before the socket exists: whoever sees it may stop us at once. */
    quit_fd = main_watch_quit_signals(agent, &quit_source);
    if (quit_fd < 0) {
        g_printerr("secure-agent: signalfd: %s\n", g_strerror(errno));
        return 1;
    }
    if (!agent_listen_unix(agent, listen + strlen("unix:"), &error)) {
        g_printerr("secure-agent: %s\n", error->message);
        return 1;
    }
    agent_run(agent);
    g_clear_pointer(&agent, agent_free);
    g_source_remove(quit_source);
    close(quit_fd);
    unlink(listen + strlen("unix:"));
    return 0;
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
