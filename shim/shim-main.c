/* containerd-shim-secure-v2: `start`, `delete`, `--version`, or (no action) the daemon. */
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "shim-args.h"
#include "shim-daemon.h"
#include "shim-delete.h"
#include "shim-start.h"

int main(int argc, char **argv)
{
    g_auto(ShimArgs) args = {0};
    g_autoptr(GError) error = NULL;

    setlocale(LC_ALL, "C");
    if (!shim_args_parse(&args, argc, argv, &error)) {
        fprintf(stderr, "containerd-shim-secure-v2: %s\n", error->message);
        return 2;
    }
    if (args.version) {
        printf("containerd-shim-secure-v2:\n  Version: %s\n  Runtime: io.containerd.secure.v2\n",
               SC_VERSION);
        return 0;
    }
    if (!args.action)
        return shim_daemon_run(&args);

    gboolean ok = strcmp(args.action, "start") == 0 ? shim_start(&args, STDIN_FILENO, &error)
                                                    : shim_delete(&args, &error);
    if (!ok) {
        /* start: containerd shows this output as the error; delete: logged as a warning. */
        fprintf(strcmp(args.action, "start") == 0 ? stdout : stderr, "%s: %s\n", args.action,
                error->message);
        return 1;
    }
    return 0;
}
