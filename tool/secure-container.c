/* secure-container: the operator's tool on a node. `secure-container COMMAND [OPTIONS]`;
 * each command lives in its own tool-<command>.c. */
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "tool-check.h"
#include "tool-env.h"
#include "tool-exec.h"
#include "tool-metrics.h"
#include "tool-ps.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} Command;

static const Command commands[] = {
    {"check", tool_check, "is this host ready for pods? one line per prerequisite"},
    {"env", tool_env, "the config in force and where it came from, component versions"},
    {"ps", tool_ps, "the pods on this host: who they are, their VM, memory, uptime"},
    {"exec", tool_exec, "a command or a line shell in a pod's guest, outside any container"},
    {"metrics", tool_metrics, "the pods' figures in Prometheus' format, printed or served"},
};

static int usage(FILE *out)
{
    fprintf(out, "usage: secure-container COMMAND [OPTIONS]   (COMMAND --help for its options)\n"
                 "\ncommands:\n");
    for (gsize i = 0; i < G_N_ELEMENTS(commands); i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "  %-8s %s\n", "version", "this tool's version");
    return out == stdout ? 0 : 2;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage(stderr);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0)
        return usage(stdout);
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("secure-container %s\n", SC_VERSION);
        return 0;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(commands); i++)
        if (strcmp(argv[1], commands[i].name) == 0) {
            g_set_prgname(argv[1]);
            return commands[i].run(argc - 1, argv + 1);
        }
    fprintf(stderr, "secure-container: unknown command '%s'\n", argv[1]);
    return usage(stderr);
}
