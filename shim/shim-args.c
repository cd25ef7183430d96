/* Command-line parsing with getopt_long_only(): GLib's option parser cannot read Go-style
 * single-dash long flags. */
#include "shim-args.h"

#include <getopt.h>
#include <string.h>

#include "shim-error.h"

void shim_args_clear(ShimArgs *args)
{
    g_free(args->namespace);
    g_free(args->address);
    g_free(args->publish_binary);
    g_free(args->id);
    g_free(args->bundle);
    g_free(args->socket);
    g_free(args->config);
    g_free(args->action);
    memset(args, 0, sizeof(*args));
}

enum {
    OPT_NAMESPACE = 256,
    OPT_ADDRESS,
    OPT_PUBLISH,
    OPT_ID,
    OPT_BUNDLE,
    OPT_SOCKET,
    OPT_CONFIG,
    OPT_DEBUG,
    OPT_VERSION
};

static const struct option options[] = {
    {"namespace", required_argument, NULL, OPT_NAMESPACE},
    {"address", required_argument, NULL, OPT_ADDRESS},
    {"publish-binary", required_argument, NULL, OPT_PUBLISH},
    {"id", required_argument, NULL, OPT_ID},
    {"bundle", required_argument, NULL, OPT_BUNDLE},
    {"socket", required_argument, NULL, OPT_SOCKET},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"debug", no_argument, NULL, OPT_DEBUG},
    {"version", no_argument, NULL, OPT_VERSION},
    {"v", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static char **field_of(ShimArgs *args, int opt)
{
    switch (opt) {
    case OPT_NAMESPACE:
        return &args->namespace;
    case OPT_ADDRESS:
        return &args->address;
    case OPT_PUBLISH:
        return &args->publish_binary;
    case OPT_ID:
        return &args->id;
    case OPT_BUNDLE:
        return &args->bundle;
    case OPT_SOCKET:
        return &args->socket;
    case OPT_CONFIG:
        return &args->config;
    default:
        return NULL;
    }
}

gboolean shim_args_parse(ShimArgs *args, int argc, char **argv, GError **error)
{
    int opt;

    /* "+": stop at the first non-flag (the action), as Go's flag package does; ":" reports a
     * missing value distinctly. */
    optind = 0;
    opterr = 0;
    while ((opt = getopt_long_only(argc, argv, "+:", options, NULL)) != -1) {
        char **field = field_of(args, opt);
        if (field) {
            g_free(*field);
            *field = g_strdup(optarg);
        } else if (opt == OPT_DEBUG) {
            args->debug = TRUE;
        } else if (opt == OPT_VERSION) {
            args->version = TRUE;
        } else {
            g_set_error(error, SHIM_ERROR, SHIM_ERROR_INVALID, "%s '%s'",
                        opt == ':' ? "missing value for flag" : "unknown flag", argv[optind - 1]);
            return FALSE;
        }
    }
    if (optind < argc) {
        const char *action = argv[optind];
        if (strcmp(action, "start") != 0 && strcmp(action, "delete") != 0) {
            g_set_error(error, SHIM_ERROR, SHIM_ERROR_INVALID,
                        "unknown action '%s': allowed: start, delete", action);
            return FALSE;
        }
        if (optind + 1 < argc) {
            g_set_error(error, SHIM_ERROR, SHIM_ERROR_INVALID,
                        "unexpected argument '%s' after the action", argv[optind + 1]);
            return FALSE;
        }
        args->action = g_strdup(action);
    }
    if (!args->version && (!args->namespace || !args->id)) {
        g_set_error_literal(error, SHIM_ERROR, SHIM_ERROR_INVALID,
                            "-namespace and -id are required");
        return FALSE;
    }
    return TRUE;
}
