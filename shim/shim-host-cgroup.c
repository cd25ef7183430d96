/* Host-mode pod cgroups: found through mountinfo, removed with cgroup.kill (Linux >= 5.14). */
#include "shim-host-cgroup.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "shim-error.h"

#define EMPTY_WAIT_MS 1000
#define EMPTY_POLL_MS 10

char *shim_host_cgroup_mount(GError **error)
{
    g_autofree char *mountinfo = NULL;
    if (!g_file_get_contents("/proc/self/mountinfo", &mountinfo, NULL, error))
        return NULL;
    g_auto(GStrv) lines = g_strsplit(mountinfo, "\n", -1);
    for (char **line = lines; *line; line++) {
        const char *sep = strstr(*line, " - ");
        if (!sep || !g_str_has_prefix(sep, " - cgroup2 "))
            continue;
        g_auto(GStrv) fields = g_strsplit(*line, " ", 6);
        if (g_strv_length(fields) >= 5)
            return g_strcompress(fields[4]); /* mountinfo escapes blanks as octal */
    }
    g_set_error_literal(error, SHIM_ERROR, SHIM_ERROR_STATE, "no cgroup2 filesystem is mounted");
    return NULL;
}

char *shim_host_cgroup_path(const char *pod_name, GError **error)
{
    g_autofree char *mount = shim_host_cgroup_mount(error);
    return mount ? g_strdup_printf("%s/secure-container-%s", mount, pod_name) : NULL;
}

static gboolean populated(const char *path)
{
    g_autofree char *events_path = g_build_filename(path, "cgroup.events", NULL);
    g_autofree char *events = NULL;
    return g_file_get_contents(events_path, &events, NULL, NULL) &&
           strstr(events, "populated 1") != NULL;
}

/* rmdir of each directory below @path, deepest first, then of @path. */
static gboolean remove_tree(const char *path, GError **error)
{
    g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
    for (const char *name; dir && (name = g_dir_read_name(dir));) {
        g_autofree char *child = g_build_filename(path, name, NULL);
        if (g_file_test(child, G_FILE_TEST_IS_DIR) && !remove_tree(child, error))
            return FALSE;
    }
    if (rmdir(path) < 0 && errno != ENOENT) {
        g_set_error(error, SHIM_ERROR, SHIM_ERROR_FAILED, "rmdir '%s': %s", path,
                    g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

gboolean shim_host_cgroup_remove(const char *path, GError **error)
{
    if (!path || !g_file_test(path, G_FILE_TEST_IS_DIR))
        return TRUE;
    g_autofree char *kill_path = g_build_filename(path, "cgroup.kill", NULL);
    if (populated(path) &&
        !g_file_set_contents_full(kill_path, "1", 1, G_FILE_SET_CONTENTS_NONE, 0644, error)) {
        g_prefix_error(error, "kill the processes of cgroup '%s': ", path);
        return FALSE;
    }
    for (int waited = 0; populated(path) && waited < EMPTY_WAIT_MS; waited += EMPTY_POLL_MS)
        g_usleep(EMPTY_POLL_MS * 1000);
    return remove_tree(path, error);
}
