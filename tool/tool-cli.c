/* Option parsing for the tool's commands: GLib's, one place for its set-up and messages. */
#include "tool-cli.h"

#include <stdio.h>

gboolean tool_parse_options(const char *command, const char *summary, const GOptionEntry *entries,
                            int *argc, char ***argv, int max_args)
{
    g_autoptr(GOptionContext) ctx = g_option_context_new(summary);
    g_autoptr(GError) error = NULL;

    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_strict_posix(ctx, TRUE); /* `exec POD CMD -x`: -x is CMD's */
    if (!g_option_context_parse(ctx, argc, argv, &error)) {
        fprintf(stderr, "secure-container %s: %s\n", command, error->message);
        return FALSE;
    }
    if (*argc - 1 > max_args) {
        fprintf(stderr, "secure-container %s: unexpected argument '%s'\n", command,
                (*argv)[max_args + 1]);
        return FALSE;
    }
    return TRUE;
}
