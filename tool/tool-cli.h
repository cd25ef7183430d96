/* The command line every `secure-container` command shares. */
#pragma once

#include <glib.h>

/* Parses @command's options from @argc/@argv (argv[0] is the command's name), stopping at the
 * first argument that is not an option. FALSE, with the message printed, on a bad option or on
 * more than @max_args arguments left; those are then argv[1..argc-1]. */
gboolean tool_parse_options(const char *command, const char *summary, const GOptionEntry *entries,
                            int *argc, char ***argv, int max_args);
