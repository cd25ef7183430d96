/* The start action. It creates and listens on the pod socket BEFORE printing the address
 * (containerd dials once, at once), hands the listening fd to a detached daemon that does not
 * inherit containerd's pipe, and answers with an existing pod's address when the socket is taken.
 */
#include "shim-start.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "shim-config.h"
#include "shim-error.h"
#include "shim-options.h"
#include "shim-spec.h"
#include "common-fd.h"

#define MAX_OPTIONS_BYTES (1 << 20)
#define DAEMON_LISTEN_FD 3

extern char **environ;

char *shim_start_socket_path(const char *grpc_address, const char *namespace, const char *group)
{
    g_autofree char *key = g_strdup_printf("%s/%s/%s", grpc_address, namespace, group);
    g_autofree char *hex = g_compute_checksum_for_string(G_CHECKSUM_SHA256, key, -1);
    return g_build_filename(SHIM_SOCKET_DIR, hex, NULL);
}

static gboolean read_all(int fd, GByteArray *out, GError **error)
{
    guint8 buf[4096];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            g_set_error(error, SHIM_ERROR, SHIM_ERROR_INVALID, "read stdin: %s", g_strerror(errno));
            return FALSE;
        }
        if (n == 0)
            return TRUE;
        if (out->len + (gsize)n > MAX_OPTIONS_BYTES) {
            g_set_error(error, SHIM_ERROR, SHIM_ERROR_INVALID,
                        "runtime options on stdin exceed %d bytes", MAX_OPTIONS_BYTES);
            return FALSE;
        }
        g_byte_array_append(out, buf, (guint)n);
    }
}

static gboolean set_unix_address(struct sockaddr_un *sun, const char *path, GError **error)
{
    memset(sun, 0, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sun->sun_path)) {
        g_set_error(error, SHIM_ERROR, SHIM_ERROR_INVALID, "socket path '%s' is too long", path);
        return FALSE;
    }
    strcpy(sun->sun_path, path);
    return TRUE;
}

gboolean shim_start_socket_answers(const char *path)
{
    struct sockaddr_un sun;
    if (!set_unix_address(&sun, path, NULL))
        return FALSE;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    gboolean ok = fd >= 0 && connect(fd, (const struct sockaddr *)&sun, sizeof(sun)) == 0;
    common_fd_close(&fd);
    return ok;
}

/* Binds and listens on @path. Returns the fd, -1 with *@out_in_use set when a live shim already
 * owns the socket, or -1 with @error. A stale socket (nobody answers) is replaced once. */
static int listen_socket(const char *path, gboolean *out_in_use, GError **error)
{
    struct sockaddr_un sun;
    *out_in_use = FALSE;
    if (!set_unix_address(&sun, path, error))
        return -1;
    if (g_mkdir_with_parents(SHIM_SOCKET_DIR, 0700) < 0) {
        g_set_error(error, SHIM_ERROR, SHIM_ERROR_FAILED, "mkdir '%s': %s", SHIM_SOCKET_DIR,
                    g_strerror(errno));
        return -1;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            break;
        if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
            if (chmod(path, 0600) == 0 && listen(fd, SOMAXCONN) == 0)
                return fd;
            int err = errno;
            close(fd);
            unlink(path);
            errno = err;
            break;
        }
        int err = errno;
        close(fd);
        if (err != EADDRINUSE) {
            errno = err;
            break;
        }
        if (shim_start_socket_answers(path)) {
            *out_in_use = TRUE;
            return -1;
        }
        unlink(path);
        errno = EADDRINUSE;
    }
    g_set_error(error, SHIM_ERROR, SHIM_ERROR_FAILED, "listen on '%s': %s", path,
                g_strerror(errno));
    return -1;
}

static gboolean write_address(const char *address, GError **error)
{
    if (!g_file_set_contents_full("address", address, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
                                  error)) {
        g_prefix_error(error, "bundle address file: ");
        return FALSE;
    }
    return TRUE;
}

/* Starts this executable again as the daemon: stdio on /dev/null (it must not hold containerd's
 * start pipe), its own process group (signals to containerd's group do not reach it), the
 * listening socket as fd 3. */
static gboolean spawn_daemon(const ShimArgs *args, const char *socket_path, const char *config,
                             int listen_fd, GError **error)
{
    g_autofree char *self = g_file_read_link("/proc/self/exe", error);
    if (!self)
        return FALSE;
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();
    g_strv_builder_add_many(b, self, "-namespace", args->namespace, "-id", args->id, "-address",
                            args->address ? args->address : "", "-publish-binary",
                            args->publish_binary ? args->publish_binary : "", "-socket",
                            socket_path, "-config", config, NULL);
    if (args->debug)
        g_strv_builder_add(b, "-debug");
    g_auto(GStrv) argv = g_strv_builder_end(b);

    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
    for (int fd = 0; fd <= 2; fd++)
        posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd ? O_WRONLY : O_RDONLY, 0);
    /* listen_fd is above 3 (see shim_start), so dup2 really clears its close-on-exec flag. */
    posix_spawn_file_actions_adddup2(&actions, listen_fd, DAEMON_LISTEN_FD);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    pid_t pid;
    int err = posix_spawn(&pid, self, &actions, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (err) {
        g_set_error(error, SHIM_ERROR, SHIM_ERROR_FAILED, "spawn daemon '%s': %s", self,
                    g_strerror(err));
        return FALSE;
    }
    return TRUE;
}

static char *choose_config(int stdin_fd, GError **error)
{
    g_autoptr(GByteArray) options = g_byte_array_new();
    g_autofree char *config_path = NULL;
    if (!read_all(stdin_fd, options, error) ||
        !shim_options_decode(options->data, options->len, &config_path, error))
        return NULL;
    g_autofree char *path = shim_config_find(config_path);
    /* Fail here, where containerd shows our output, rather than in the detached daemon. */
    g_autoptr(ShimConfig) config = shim_config_load(path, error);
    return config ? g_steal_pointer(&path) : NULL;
}

gboolean shim_start(const ShimArgs *args, int stdin_fd, GError **error)
{
    g_autofree char *config = choose_config(stdin_fd, error);
    if (!config)
        return FALSE;
    g_autoptr(json_object) spec = shim_spec_load(".", error);
    if (!spec)
        return FALSE;
    const char *group = shim_spec_group(spec, args->id);
    g_autofree char *path =
        shim_start_socket_path(args->address ? args->address : "", args->namespace, group);
    g_autofree char *address = g_strconcat("unix://", path, NULL);

    gboolean in_use;
    int fd = listen_socket(path, &in_use, error);
    if (fd < 0 && !in_use)
        return FALSE;
    if (fd >= 0) {
        int high = fcntl(fd, F_DUPFD_CLOEXEC, DAEMON_LISTEN_FD + 1);
        close(fd);
        if (high < 0)
            g_set_error(error, SHIM_ERROR, SHIM_ERROR_FAILED, "dup socket: %s", g_strerror(errno));
        gboolean ok = high >= 0 && write_address(address, error) &&
                      spawn_daemon(args, path, config, high, error);
        if (high >= 0)
            close(high);
        if (!ok) {
            unlink(path);
            return FALSE;
        }
    } else if (!write_address(address, error)) {
        return FALSE;
    }
    g_print("%s", address);
    return TRUE;
}
