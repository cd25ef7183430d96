/* The child reaper: signalfd(SIGCHLD) on the loop, then waitpid(-1, WNOHANG) until nothing is
 * left, because one signal may stand for several exits. */
#include "agent-reaper.h"
#include "agent-error.h"

#include <errno.h>
#include <glib-unix.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

struct _AgentReaper {
    int fd;
    GSource *source;
    AgentReapFunc func;
    gpointer user_data;
};

void agent_reaper_block_signals(void)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

void agent_reaper_reap_now(AgentReaper *reaper)
{
    int status;
    pid_t pid;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        reaper->func(pid, status, reaper->user_data);
}

static gboolean reaper_on_signal(gint fd, GIOCondition condition, gpointer user_data)
{
    AgentReaper *reaper = user_data;
    struct signalfd_siginfo info[8];

    (void)condition;
    /* Drain the signalfd first: a SIGCHLD that arrives after waitpid() then wakes us again. */
    while (read(fd, info, sizeof(info)) > 0)
        ;
    agent_reaper_reap_now(reaper);
    return G_SOURCE_CONTINUE;
}

AgentReaper *agent_reaper_new(GMainContext *context, AgentReapFunc func, gpointer user_data,
                              GError **error)
{
    g_autofree AgentReaper *reaper = g_new0(AgentReaper, 1);
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    reaper->fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (reaper->fd < 0) {
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_FAILED, "signalfd(SIGCHLD): %s",
                    g_strerror(errno));
        return NULL;
    }
    reaper->func = func;
    reaper->user_data = user_data;
    reaper->source = g_unix_fd_source_new(reaper->fd, G_IO_IN);
    g_source_set_callback(reaper->source, G_SOURCE_FUNC(reaper_on_signal), reaper, NULL);
    g_source_attach(reaper->source, context);
    /* Children that exited before the signalfd existed sent their signal already. */
    agent_reaper_reap_now(reaper);
    return g_steal_pointer(&reaper);
}

void agent_reaper_free(AgentReaper *reaper)
{
    if (reaper == NULL)
        return;
    g_source_destroy(reaper->source);
    g_source_unref(reaper->source);
    close(reaper->fd);
    g_free(reaper);
}
