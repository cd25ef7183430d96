/* `secure-container exec`: the pod's shim runs the command through its agent (ExecGuest) and
 * answers with its output and exit status, which become this process's. */
#include "tool-exec.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "shim-state.h"
#include "tool-cli.h"
#include "tool-pods.h"

#define STDIN_MAX (64 * 1024) /* what ExecGuest takes */

/* Runs @args in the guest of the pod in @dir; returns its exit status (or 1, message printed). */
static int run(const char *dir, const char *const *args, GBytes *in, guint timeout_s)
{
    Secure__Debug__V1__ExecRequest req = SECURE__DEBUG__V1__EXEC_REQUEST__INIT;
    g_autoptr(GError) error = NULL;

    req.args = (char **)args;
    req.n_args = g_strv_length((char **)args);
    if (in)
        req.stdin.data = (uint8_t *)g_bytes_get_data(in, &req.stdin.len);
    req.timeout_ms = timeout_s * 1000;
    Secure__Debug__V1__ExecResponse *r =
        (void *)tool_pod_call(dir, "Exec", &req.base, &secure__debug__v1__exec_response__descriptor,
                              (gint64)(timeout_s + 15) * G_USEC_PER_SEC, &error);
    if (!r) {
        fprintf(stderr, "secure-container exec: %s\n", error->message);
        return 1;
    }
    if (r->stdout.len)
        fwrite(r->stdout.data, 1, r->stdout.len, stdout);
    fflush(stdout);
    if (r->stderr.len)
        fwrite(r->stderr.data, 1, r->stderr.len, stderr);
    if (r->truncated)
        fprintf(stderr, "secure-container exec: output past 1 MiB was dropped\n");
    if (r->timed_out)
        fprintf(stderr, "secure-container exec: killed after %u s (--timeout)\n", timeout_s);
    int status = (int)r->exit_status;
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return status;
}

/* Each line of stdin in a fresh `sh -c`; the status of the last one. */
static int line_shell(const char *dir, guint timeout_s)
{
    gboolean tty = isatty(STDIN_FILENO);
    char line[4096];
    int status = 0;

    for (;;) {
        if (tty)
            fputs("guest# ", stderr);
        if (!fgets(line, sizeof(line), stdin))
            return status;
        g_strstrip(line);
        if (g_str_equal(line, "exit"))
            return status;
        if (*line) {
            const char *args[] = {"sh", "-c", line, NULL};
            status = run(dir, args, NULL, timeout_s);
        }
    }
}

/* All of stdin, at most what ExecGuest takes. */
static GBytes *read_stdin(GError **error)
{
    g_autoptr(GByteArray) all = g_byte_array_new();
    guint8 buf[8192];
    size_t n;

    while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0) {
        g_byte_array_append(all, buf, (guint)n);
        if (all->len > STDIN_MAX) {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "stdin is larger than 64 KiB");
            return NULL;
        }
    }
    return g_byte_array_free_to_bytes(g_steal_pointer(&all));
}

int tool_exec(int argc, char **argv)
{
    gint timeout_s = 60;
    gboolean with_stdin = FALSE;
    const GOptionEntry entries[] = {
        {"timeout", 0, 0, G_OPTION_ARG_INT, &timeout_s,
         "kill the command (its whole session) after this many seconds (1..600; default 60)",
         "SECONDS"},
        {"stdin", 'i', 0, G_OPTION_ARG_NONE, &with_stdin,
         "send this command's stdin (at most 64 KiB) to CMD", NULL},
        G_OPTION_ENTRY_NULL};
    g_autoptr(GError) error = NULL;

    if (!tool_parse_options("exec", "POD [CMD [ARG...]] - run CMD in the pod's guest", entries,
                            &argc, &argv, G_MAXINT))
        return 2;
    if (argc < 2 || timeout_s < 1 || timeout_s > 600) {
        fprintf(stderr, "secure-container exec: %s\n",
                argc < 2 ? "name the pod (`secure-container ps` lists them)"
                         : "--timeout: 1 to 600 seconds");
        return 2;
    }
    g_autoptr(GPtrArray) pods = tool_pods_query(SHIM_STATE_ROOT, FALSE);
    ToolPod *pod = tool_pods_find(pods, argv[1], &error);
    if (!pod) {
        fprintf(stderr, "secure-container exec: %s\n", error->message);
        return 1;
    }
    if (argc == 2)
        return line_shell(pod->dir, (guint)timeout_s);
    g_autoptr(GBytes) in = with_stdin ? read_stdin(&error) : NULL;
    if (with_stdin && !in) {
        fprintf(stderr, "secure-container exec: %s\n", error->message);
        return 1;
    }
    return run(pod->dir, (const char *const *)argv + 2, in, (guint)timeout_s);
}
