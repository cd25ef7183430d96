/* The shim's command line, as containerd spells it (Go `flag` syntax: one dash, separate
 * values, the action last). */
#pragma once

#include <glib.h>

typedef struct {
    char *namespace;
    char *address; /* containerd's gRPC socket (no unix:// prefix) */
    char *publish_binary;
    char *id;
    char *bundle; /* delete only; else the working directory */
    char *socket; /* daemon: the socket path whose listening fd is 3 */
    char *config; /* daemon: the config file start chose */
    gboolean debug;
    gboolean version;
    char *action; /* "start", "delete", or NULL for the daemon */
} ShimArgs;

void shim_args_clear(ShimArgs *args);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(ShimArgs, shim_args_clear)

/* Parses argv; fails on unknown flags, a missing value or an unknown action. */
gboolean shim_args_parse(ShimArgs *args, int argc, char **argv, GError **error);
