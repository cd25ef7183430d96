/* The delete action. A live daemon owns its pod: delete never tears down a pod that still
 * serves containers (containerd runs delete after every normal task deletion too). */
#include "shim-delete.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "common-exit.h"
#include "common-fd.h"
#include "common-process.h"
#include "shim-error.h"
#include "shim-spec.h"
#include "shim-stale.h"
#include "shim-start.h"
#include "shim-state.h"
#include "shim.pb-c.h"

/* What runc reports when it cannot know the exit of a process it lost. */
#define LOST_EXIT_STATUS 137
#define DAEMON_EXIT_MS 2000

/* The pod's socket: from the bundle's address file, else computed as start would. */
static char *find_socket(const ShimArgs *args, const char *bundle)
{
    g_autofree char *path = g_build_filename(bundle, "address", NULL);
    g_autofree char *address = NULL;
    if (g_file_get_contents(path, &address, NULL, NULL) && g_str_has_prefix(address, "unix://"))
        return g_strdup(g_strstrip(address) + strlen("unix://"));
    g_autoptr(json_object) spec = shim_spec_load(bundle, NULL);
    const char *group = spec ? shim_spec_group(spec, args->id) : args->id;
    return shim_start_socket_path(args->address ? args->address : "", args->namespace, group);
}

/* The pod's daemon as a pidfd, or -1 when it is gone. Only its pid is on disk (delete runs in a
 * process of its own), so it is ours if its command line names the socket. A SIGKILLed daemon
 * fails this as soon as containerd can see it die: its memory, and so its command line, goes
 * before its files, and with them the connection whose close tells containerd. */
static int open_daemon(ShimState *state, const char *socket)
{
    pid_t pid = (pid_t)shim_state_get_int(state, NULL, SHIM_STATE_SHIM_PID);
    if (pid <= 1 || pid == getpid())
        return -1;
    return common_process_open_mentioning(pid, socket);
}

/* A daemon that no longer answers is hung: it goes before its pod is cleaned up under it. */
static void kill_daemon(int pidfd)
{
    if (pidfd_send_signal(pidfd, SIGKILL, NULL, 0) == 0 && !common_exit_wait(pidfd, DAEMON_EXIT_MS))
        g_warning("the hung shim daemon did not exit within %d ms of SIGKILL", DAEMON_EXIT_MS);
}

static void print_response(void)
{
    gint64 now = g_get_real_time();
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    ts.seconds = now / G_USEC_PER_SEC;
    ts.nanos = (int32_t)(now % G_USEC_PER_SEC) * 1000;
    Containerd__Task__V2__DeleteResponse resp = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
    resp.exit_status = LOST_EXIT_STATUS;
    resp.exited_at = &ts;
    guint8 buf[64];
    gsize len = containerd__task__v2__delete_response__pack(&resp, buf);
    fwrite(buf, 1, len, stdout);
    fflush(stdout);
}

gboolean shim_delete(const ShimArgs *args, GError **error)
{
    g_autofree char *cwd = g_get_current_dir();
    const char *bundle = args->bundle ? args->bundle : cwd;
    g_autofree char *socket = find_socket(args, bundle);
    g_autofree char *pod = g_path_get_basename(socket);
    g_autofree char *dir = shim_state_pod_dir(pod);
    g_autoptr(GError) local = NULL;

    g_autoptr(ShimState) state = shim_state_load(dir, &local);
    if (!state && !g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
        g_propagate_error(error, g_steal_pointer(&local));
        return FALSE;
    }
    /* A live daemon answers on its socket. The socket alone does not tell: a SIGKILLed daemon's
     * listener outlives its connection to containerd by as long as closing its other files
     * takes, and a delete run at once found it answering and left the whole pod behind. */
    common_autofd int daemon = state ? open_daemon(state, socket) : -1;
    gboolean live = (state == NULL || daemon >= 0) && shim_start_socket_answers(socket);
    if (!live && daemon >= 0)
        kill_daemon(daemon);
    if (!live) {
        if (state && !shim_stale_cleanup(state, error))
            return FALSE;
        unlink(socket);
    }
    print_response();
    return TRUE;
}
