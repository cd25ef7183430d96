/* A containerd stand-in for the shim tests: runs the real containerd-shim-secure-v2 binary
 * (start, delete), talks the Task API to it with our ttrpc, and plays containerd's events
 * service, recording every Forward. Check assertions abort the test on failure; the fixture's
 * teardown still removes everything. */
#pragma once

#include <check.h>
#include <glib.h>
#include <json-c/json.h>

#include "events-task.pb-c.h"
#include "shim.pb-c.h"
#include "ttrpc.h"

typedef struct {
    char *topic;
    char *type_url;
    GBytes *event;
} ShimTestEvent;

typedef struct {
    char *kind;              /* "none" (host agent) or "libvirt" (VM) */
    char *agent;             /* kind "none": the agent executable the shim starts */
    guint request_timeout_s; /* [agent] request_timeout of the shim's config */
    char *tmpdir;
    char *rootfs;  /* a busybox root, bound in through CreateTaskRequest.rootfs */
    char *address; /* the fake containerd gRPC address: only hashed into the socket name */
    char *namespace;
    char *config_path;
    char *events_socket;
    TtrpcServer *events;
    GPtrArray *recorded; /* ShimTestEvent */
    char *socket_path;   /* the pod's shim socket, once started */
    TtrpcClient *client;
    guint32 shim_pid;
} ShimTest;

/* Exits 77 (or 1 when CI=true) unless root, busybox, the shim and the agent are there; for
 * "libvirt" also QEMU and the guest image. */
void shim_test_require(const char *kind);

ShimTest *shim_test_new(const char *kind);
/* With another host agent executable (the misbehaving fake agent) and agent call deadline. */
ShimTest *shim_test_new_with_agent(const char *kind, const char *agent, guint request_timeout_s);
/* Kills what is left (daemon, agent, VM) through `delete`, and removes the temp dir. */
void shim_test_free(ShimTest *t);

/* Writes <tmp>/bundles/<id>/config.json running @args; @sandbox_id adds the CRI annotation.
 * Returns the bundle path. */
char *shim_test_bundle(ShimTest *t, const char *id, const char *const *args, const char *sandbox_id,
                       gboolean terminal);
json_object *shim_test_spec(const char *const *args, gboolean terminal);

/* Runs `start` for @id in @bundle (options Any with our ConfigPath on stdin). Returns its exit
 * status; *@out_output gets stdout+stderr. */
int shim_test_run_start(ShimTest *t, const char *id, const char *bundle, const guint8 *options,
                        gsize options_len, char **out_output);
/* The runtime options Any containerd sends on start's stdin, naming @config_path. */
GBytes *shim_test_options(const char *config_path);
/* start that must succeed; connects the client to the address it printed. */
void shim_test_start(ShimTest *t, const char *id, const char *bundle);
/* Runs `delete`; returns the exit status and decodes stdout into *@out (may be NULL). */
int shim_test_run_delete(ShimTest *t, const char *id, const char *bundle, guint32 *out_exit_status,
                         gint64 *out_ms);

/* A Task call; returns the reply or NULL with @error. */
GBytes *shim_test_call(ShimTest *t, const char *method, const ProtobufCMessage *req,
                       GError **error);
/* A Task call that must succeed; the reply is decoded as @type (NULL: not decoded). */
ProtobufCMessage *shim_test_call_ok(ShimTest *t, const char *method, const ProtobufCMessage *req,
                                    const ProtobufCMessageDescriptor *type);
/* A Task call that must fail with @code; returns the message (free it). */
char *shim_test_call_fail(ShimTest *t, const char *method, const ProtobufCMessage *req,
                          TtrpcCode code);

typedef struct {
    gboolean done;
    GError *error;
    guint32 exit_status;
    gint64 done_at; /* monotonic */
} ShimTestWait;

/* Sends Wait and returns at once; @w is filled when the reply comes. */
void shim_test_wait_async(ShimTest *t, const char *id, const char *exec_id, ShimTestWait *w);

/* Fifos <tmp>/<name>-stdin etc.; stdout/stderr are opened for reading (like ctr does before
 * Create); returns their paths and the read fds. */
typedef struct {
    char *stdin_path, *stdout_path, *stderr_path;
    int out_fd, err_fd;
    int in_fd; /* our writer, once opened with shim_test_open_stdin() */
} ShimTestFifos;
void shim_test_fifos(ShimTest *t, const char *name, gboolean with_stdin, ShimTestFifos *f);
void shim_test_open_stdin(ShimTestFifos *f);
void shim_test_fifos_close(ShimTestFifos *f);
/* Reads @fd until EOF (or @timeout_ms), iterating the main context meanwhile. */
char *shim_test_read_all(int fd, guint timeout_ms);
/* Reads @fd until @needle has appeared (NULL: until EOF), EOF or @timeout_ms, like the above;
 * what follows the needle in the same read is returned too. */
char *shim_test_read_until(int fd, const char *needle, guint timeout_ms);

/* A CreateTaskRequest with the busybox rootfs bound in through its rootfs, and @f's fifos (may
 * be NULL); free it with ttrpc_message_free(). */
Containerd__Task__V2__CreateTaskRequest *shim_test_create_request(ShimTest *t, const char *id,
                                                                  const char *bundle,
                                                                  ShimTestFifos *f,
                                                                  gboolean terminal);
/* Create with shim_test_create_request(); the reply, or NULL and @error. */
GBytes *shim_test_try_create(ShimTest *t, const char *id, const char *bundle, ShimTestFifos *f,
                             gboolean terminal, GError **error);
/* The same, which must succeed. */
void shim_test_create(ShimTest *t, const char *id, const char *bundle, ShimTestFifos *f,
                      gboolean terminal);

/* The topics recorded so far, space-separated ("/tasks/create /tasks/start ..."). */
char *shim_test_topics(ShimTest *t);
/* The recorded event number @index decoded as @type (its type URL must be @type's full name). */
ProtobufCMessage *shim_test_event(ShimTest *t, guint index, const ProtobufCMessageDescriptor *type);
/* containerd restarting: the events service goes away for @down_ms, then listens again. */
void shim_test_restart_events(ShimTest *t, guint down_ms);
/* Waits until @n events were recorded. */
void shim_test_wait_events(ShimTest *t, guint n, guint timeout_ms);

/* Asserts that nothing of the pod is left: state dir, socket, mounts, daemon, agent, QEMU. */
void shim_test_assert_clean(ShimTest *t);
/* The pod's run directory. */
char *shim_test_pod_dir(ShimTest *t);
/* TRUE while a process with @pid exists (and is not a zombie). */
gboolean shim_test_pid_alive(guint32 pid);
/* Waits until @pid is gone (or a zombie: its files are closed then), at most @seconds; TRUE if
 * it went. A SIGKILLed process still holds its sockets while it tears down its memory, which an
 * ASan build on a loaded machine was seen to take more than a second for. */
gboolean shim_test_wait_gone(guint32 pid, guint seconds);
/* Waits until the shim's log in @bundle holds @needle, at most @timeout_ms: a shim may log what
 * it does after the event a test waited for (an exit it reported first). TRUE if it did; the end
 * of the log in *@out_tail either way (a bounded length: it goes into a failure message). */
gboolean shim_test_wait_log(const char *bundle, const char *needle, guint timeout_ms,
                            char **out_tail);
/* How long a daemon may take to exit (after SIGKILL, or Shutdown). */
#define SHIM_TEST_DAEMON_EXIT_S 60
