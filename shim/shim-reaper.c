/* Orphan reaping. waitpid(-1) would steal children that libvirt and GLib wait for by pid, so
 * only zombies that nobody else waits for are reaped: children whose command name differs from
 * ours (libvirt's own short-lived forks still carry our name) and that are not in GLib's child
 * watch (the host-mode agent, named secure-agent, is waited for by the sandbox).
 * It runs in its own thread: the VM teardown blocks the main loop while it waits for QEMU and
 * virtiofsd to exit, and they only finish exiting once we reap them. */
#include "shim-reaper.h"

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define REAP_INTERVAL_US (100 * 1000)

struct _ShimReaper {
    GThread *thread;
    gint stop;
    char comm[32];
};

static gboolean read_stat(pid_t pid, char *comm, gsize comm_len, char *state, pid_t *ppid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/stat", (int)pid);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return FALSE;
    /* "pid (comm) S ppid ...": comm may hold spaces and parentheses, so split at the last ')'. */
    char *open = strchr(text, '(');
    char *close = strrchr(text, ')');
    int parent;
    if (!open || !close || close < open || sscanf(close + 1, " %c %d", state, &parent) != 2)
        return FALSE;
    g_strlcpy(comm, open + 1, MIN(comm_len, (gsize)(close - open)));
    *ppid = parent;
    return TRUE;
}

static void reap_once(ShimReaper *reaper)
{
    g_autoptr(GDir) dir = g_dir_open("/proc", 0, NULL);
    const char *name;
    pid_t self = getpid();
    while (dir && (name = g_dir_read_name(dir))) {
        char comm[32], state;
        pid_t ppid, pid = (pid_t)g_ascii_strtoll(name, NULL, 10);
        if (pid <= 0 || !read_stat(pid, comm, sizeof(comm), &state, &ppid))
            continue;
        if (ppid != self || state != 'Z' || strcmp(comm, reaper->comm) == 0 ||
            strcmp(comm, "secure-agent") == 0)
            continue;
        waitpid(pid, NULL, WNOHANG);
    }
}

static gpointer reaper_thread(gpointer user_data)
{
    ShimReaper *reaper = user_data;
    while (!g_atomic_int_get(&reaper->stop)) {
        reap_once(reaper);
        g_usleep(REAP_INTERVAL_US);
    }
    return NULL;
}

ShimReaper *shim_reaper_new(void)
{
    ShimReaper *reaper = g_new0(ShimReaper, 1);
    char state;
    pid_t ppid;
    if (!read_stat(getpid(), reaper->comm, sizeof(reaper->comm), &state, &ppid))
        reaper->comm[0] = '\0';
    reaper->thread = g_thread_new("reaper", reaper_thread, reaper);
    return reaper;
}

void shim_reaper_free(ShimReaper *reaper)
{
    if (!reaper)
        return;
    g_atomic_int_set(&reaper->stop, 1);
    g_thread_join(reaper->thread);
    reap_once(reaper);
    g_free(reaper);
}
