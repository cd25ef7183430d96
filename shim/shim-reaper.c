/* Orphan reaping. waitpid(-1) would steal children that libvirt and GLib wait for by pid, so
 * only zombies that nobody else waits for are reaped: children whose command name differs from
 * ours (libvirt's own short-lived forks still carry our name) and that are not in GLib's child
 * watch (the host-mode agent runs from the shim's configured binary, named secure-agent, and is
 * waited for by the sandbox, so it is skipped by name too). */
#include "shim-reaper.h"

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define REAP_INTERVAL_MS 250

struct _ShimReaper {
    guint source;
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

static gboolean reap_cb(gpointer user_data)
{
    ShimReaper *reaper = user_data;
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
        if (waitpid(pid, NULL, WNOHANG) == pid)
            g_debug("reaped orphan %d (%s)", (int)pid, comm);
    }
    return G_SOURCE_CONTINUE;
}

ShimReaper *shim_reaper_new(void)
{
    ShimReaper *reaper = g_new0(ShimReaper, 1);
    char state;
    pid_t ppid;
    if (!read_stat(getpid(), reaper->comm, sizeof(reaper->comm), &state, &ppid))
        reaper->comm[0] = '\0';
    reaper->source = g_timeout_add(REAP_INTERVAL_MS, reap_cb, reaper);
    return reaper;
}

void shim_reaper_free(ShimReaper *reaper)
{
    if (!reaper)
        return;
    g_source_remove(reaper->source);
    g_free(reaper);
}
