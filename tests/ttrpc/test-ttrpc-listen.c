/* Unix listeners: socket file mode and cleanup, connecting, SO_PEERCRED refusal of other
 * users and groups (needs root to become another user), and errors that name the path. */
#include <errno.h>
#include <ftw.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "ttrpc-test-util.h"

/* Every socket of this binary lives under one directory that main() removes, also when a
 * failed check skipped a test's own cleanup. */
static char *base_dir;

static char *make_test_dir(void)
{
    char *dir = g_build_filename(base_dir, "XXXXXX", NULL);
    ck_assert_ptr_nonnull(g_mkdtemp(dir));
    return dir;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

typedef struct {
    TestRig *rig;
    char *dir;
    char *path;
} Listening;

static Listening *listening_new(void)
{
    Listening *l = g_new0(Listening, 1);
    g_autoptr(GError) error = NULL;
    l->rig = test_rig_new(FALSE);
    l->dir = make_test_dir();
    l->path = g_build_filename(l->dir, "ttrpc.sock", NULL);
    ck_assert(ttrpc_server_listen_unix(l->rig->server, l->path, &error));
    ck_assert_ptr_null(error);
    return l;
}

/* Frees the server first: the socket file must be gone after that. */
static void listening_free(Listening *l)
{
    g_clear_pointer(&l->rig->server, ttrpc_server_free);
    ck_assert(!g_file_test(l->path, G_FILE_TEST_EXISTS));
    test_rig_free(l->rig);
    ck_assert_int_eq(g_rmdir(l->dir), 0);
    g_free(l->path);
    g_free(l->dir);
    g_free(l);
}

START_TEST(test_listen_and_connect)
{
    Listening *l = listening_new();
    struct stat st;
    ck_assert_int_eq(stat(l->path, &st), 0);
    ck_assert(S_ISSOCK(st.st_mode));
    ck_assert_uint_eq(st.st_mode & 0777, 0600);

    g_autoptr(GError) error = NULL;
    for (guint i = 0; i < 3; i++) {
        g_autoptr(TtrpcClient) client = ttrpc_client_connect_unix(l->path, l->rig->context, &error);
        ck_assert_ptr_null(error);
        g_autoptr(GBytes) reply =
            ttrpc_client_call_sync(client, TEST_SERVICE, "Empty", NULL, 0, &error);
        ck_assert_ptr_nonnull(reply);
        ck_assert_uint_eq(ttrpc_server_n_connections(l->rig->server), 2); /* + the socketpair */
    }
    TEST_UTIL_WAIT(l->rig->n_closed == 3, TEST_WAIT_US);
    ck_assert_uint_eq(ttrpc_server_n_connections(l->rig->server), 1);
    listening_free(l);
}
END_TEST

START_TEST(test_listen_errors)
{
    Listening *l = listening_new();
    g_autoptr(GError) error = NULL;
    ck_assert(!ttrpc_server_listen_unix(l->rig->server, l->path, &error));
    ck_assert_ptr_nonnull(strstr(error->message, l->path));
    g_clear_error(&error);

    g_autofree char *long_path = g_strnfill(200, 'x');
    ck_assert(!ttrpc_server_listen_unix(l->rig->server, long_path, &error));
    ck_assert(g_error_matches(error, TTRPC_ERROR, TTRPC_CODE_INVALID_ARGUMENT));
    g_clear_error(&error);

    g_autofree char *missing = g_build_filename(l->dir, "missing.sock", NULL);
    TtrpcClient *client = ttrpc_client_connect_unix(missing, l->rig->context, &error);
    ck_assert_ptr_null(client);
    ck_assert(g_error_matches(error, TTRPC_ERROR, TTRPC_CODE_UNAVAILABLE));
    ck_assert_ptr_nonnull(strstr(error->message, missing));
    listening_free(l);
}
END_TEST

START_TEST(test_listen_fd)
{
    TestRig *rig = test_rig_new(FALSE);
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = make_test_dir();
    g_autofree char *path = g_build_filename(dir, "fd.sock", NULL);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    ck_assert_int_eq(listen(fd, 4), 0);
    ck_assert(ttrpc_server_listen_fd(rig->server, &fd, &error));
    ck_assert_int_eq(fd, -1);

    g_autoptr(TtrpcClient) client = ttrpc_client_connect_unix(path, rig->context, &error);
    ck_assert_ptr_nonnull(client);
    g_autoptr(GBytes) reply =
        ttrpc_client_call_sync(client, TEST_SERVICE, "Empty", NULL, 0, &error);
    ck_assert_ptr_nonnull(reply);
    g_clear_pointer(&client, ttrpc_client_free);
    test_rig_free(rig);
    ck_assert_int_eq(g_unlink(path), 0); /* a socket we did not create stays */
    ck_assert_int_eq(g_rmdir(dir), 0);
}
END_TEST

/* In a child that becomes @uid/@gid: connects, sends one call, and exits 0 if the server closed
 * the connection without an answer, 1 if it answered, 2 on a setup error. */
static void peer_child(const char *path, uid_t uid, gid_t gid)
{
    if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
        _exit(2);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
        _exit(2);
    guint8 frame[] = {0, 0, 0, 0, 0, 0, 0, 1, 1, 0};
    if (send(fd, frame, sizeof(frame), MSG_NOSIGNAL) < 0 && errno != EPIPE)
        _exit(2);
    guint8 byte;
    ssize_t n = read(fd, &byte, 1);
    _exit(n <= 0 ? 0 : 1);
}

static int run_peer(Listening *l, uid_t uid, gid_t gid)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        peer_child(l->path, uid, gid);
    int status = 0;
    TEST_UTIL_WAIT(waitpid(pid, &status, WNOHANG) == pid, TEST_WAIT_US);
    ck_assert(WIFEXITED(status));
    return WEXITSTATUS(status);
}

START_TEST(test_peer_credentials)
{
    if (geteuid() != 0) {
        ck_assert_msg(test_util_may_skip("the SO_PEERCRED refusal check needs root to become "
                                         "another user"),
                      "CI=true: this check needs root");
        return;
    }
    Listening *l = listening_new();
    ck_assert_int_eq(chmod(base_dir, 0755), 0);
    ck_assert_int_eq(chmod(l->dir, 0755), 0);
    ck_assert_int_eq(chmod(l->path, 0666), 0); /* let the other user reach the check itself */

    ck_assert_int_eq(run_peer(l, 65534, 65534), 0); /* other uid and gid: refused */
    ck_assert_int_eq(run_peer(l, 0, 65534), 0);     /* same uid, other gid: refused */
    ck_assert_int_eq(run_peer(l, 0, 0), 1);         /* ourselves: answered */
    listening_free(l);
}
END_TEST

/* Out of file descriptors, accept() fails while the socket stays ready: the server pauses
 * instead of spinning, and takes the waiting peer once descriptors are free again. */
START_TEST(test_accept_backs_off_when_out_of_fds)
{
    Listening *l = listening_new();
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    g_strlcpy(addr.sun_path, l->path, sizeof(addr.sun_path));
    int peer = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_eq(connect(peer, (struct sockaddr *)&addr, sizeof(addr)), 0);

    g_autoptr(GArray) fillers = g_array_new(FALSE, FALSE, sizeof(int));
    struct rlimit saved, low;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &saved), 0);
    low = saved;
    low.rlim_cur = 256;
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
    for (int fd; (fd = dup(peer)) >= 0;)
        g_array_append_val(fillers, fd);
    ck_assert_int_eq(errno, EMFILE);

    /* Spinning would dispatch on every one of these ~300 iterations; pausing, a few times. */
    guint dispatched = 0;
    gint64 end = g_get_monotonic_time() + 300 * 1000;
    while (g_get_monotonic_time() < end) {
        if (g_main_context_iteration(l->rig->context, FALSE))
            dispatched++;
        g_usleep(1000);
    }
    guint connections = ttrpc_server_n_connections(l->rig->server);
    /* Free the descriptors before checking, so a failed check leaves a working process. */
    for (guint i = 0; i < fillers->len; i++)
        close(g_array_index(fillers, int, i));
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &saved), 0);
    ck_assert_uint_eq(connections, 1);
    ck_assert_uint_lt(dispatched, 30);
    TEST_UTIL_WAIT(ttrpc_server_n_connections(l->rig->server) == 2, TEST_WAIT_US);
    close(peer);
    TEST_UTIL_WAIT(l->rig->n_closed == 1, TEST_WAIT_US);
    listening_free(l);
}
END_TEST

static Suite *listen_suite(void)
{
    Suite *suite = suite_create("ttrpc-listen");
    TCase *unix_socket = tcase_create("unix");
    tcase_add_test(unix_socket, test_listen_and_connect);
    tcase_add_test(unix_socket, test_listen_errors);
    tcase_add_test(unix_socket, test_listen_fd);
    tcase_add_test(unix_socket, test_peer_credentials);
    tcase_add_test(unix_socket, test_accept_backs_off_when_out_of_fds);
    suite_add_tcase(suite, unix_socket);
    return suite;
}

int main(void)
{
    g_autoptr(GError) error = NULL;
    base_dir = g_dir_make_tmp("test-ttrpc-listen-XXXXXX", &error);
    g_assert_no_error(error);
    int status = test_util_run(listen_suite(), CK_NOFORK);
    if (nftw(base_dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS) != 0) {
        fprintf(stderr, "removing '%s': %s\n", base_dir, g_strerror(errno));
        status = EXIT_FAILURE;
    }
    g_free(base_dir);
    return status;
}
