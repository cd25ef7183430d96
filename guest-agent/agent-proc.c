/* Reading the kernel's /proc files. Their formats are the kernel's; anything else is an error
 * that quotes the line, never a zero. */
#include "agent-proc.h"

#include <stdio.h>
#include <string.h>

#include "agent-error.h"

/* The longest part of a bad line an error quotes. */
#define SHOWN_MAX 80

gboolean agent_proc_malformed(GError **error, const char *path, const char *text)
{
    g_autofree char *cut = g_strndup(text, SHOWN_MAX);
    g_autofree char *shown = g_strescape(cut, NULL);

    g_set_error(error, AGENT_ERROR, AGENT_ERROR_FAILED, "unexpected content in '%s': '%s'%s", path,
                shown, strlen(text) > SHOWN_MAX ? "..." : "");
    return FALSE;
}

/* "   123 kB" after the name's colon. */
static gboolean parse_kib(const char *path, const char *line, const char *value, guint64 *out_kib,
                          GError **error)
{
    g_autofree char *number = NULL;

    value += strspn(value, " \t");
    if (!g_str_has_suffix(value, " kB"))
        return agent_proc_malformed(error, path, line);
    number = g_strndup(value, strlen(value) - strlen(" kB"));
    if (!g_ascii_string_to_unsigned(number, 10, 0, G_MAXUINT64 / 1024, out_kib, NULL))
        return agent_proc_malformed(error, path, line);
    return TRUE;
}

gboolean agent_proc_read_kib(const char *path, const char *name, guint64 *out_kib, GError **error)
{
    g_autofree char *text = NULL;
    g_autofree char *prefix = g_strconcat(name, ":", NULL);

    if (!g_file_get_contents(path, &text, NULL, error))
        return FALSE;
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (char **line = lines; *line != NULL; line++)
        if (g_str_has_prefix(*line, prefix))
            return parse_kib(path, *line, *line + strlen(prefix), out_kib, error);
    g_set_error(error, AGENT_ERROR, AGENT_ERROR_FAILED, "no %s in '%s'", name, path);
    return FALSE;
}

/* "0.52 0.58 0.59 1/189 12345": the first three. */
static gboolean read_load(const char *path, double load[3], GError **error)
{
    g_autofree char *text = NULL;
    char end;

    if (!g_file_get_contents(path, &text, NULL, error))
        return FALSE;
    /* The C locale's decimal point: the agent never sets another. */
    if (sscanf(text, "%lf %lf %lf %*s %*s%c", &load[0], &load[1], &load[2], &end) != 4 ||
        end != '\n')
        return agent_proc_malformed(error, path, text);
    return TRUE;
}

gboolean agent_proc_guest_stats(const char *proc, AgentGuestStats *out, GError **error)
{
    g_autofree char *meminfo = g_build_filename(proc, "meminfo", NULL);
    g_autofree char *loadavg = g_build_filename(proc, "loadavg", NULL);
    g_autofree char *status = g_build_filename(proc, "self", "status", NULL);

    return agent_proc_read_kib(meminfo, "MemTotal", &out->mem_total_kib, error) &&
           agent_proc_read_kib(meminfo, "MemAvailable", &out->mem_available_kib, error) &&
           read_load(loadavg, out->load, error) &&
           agent_proc_read_kib(status, "VmRSS", &out->agent_rss_kib, error);
}
