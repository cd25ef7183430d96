/* Helpers for tests and benchmarks that drive a host-mode secure-agent over its unix socket: a
 * busybox rootfs in a temp dir, the agent as a child process, typed RPC calls, OCI JSON. */
#pragma once

#include "agent.pb-c.h"
#include "test-util.h"
#include "ttrpc.h"

#include <check.h>
#include <glib.h>

#include "common-json.h"

G_BEGIN_DECLS

#define AGENT_TEST_SERVICE (secure__agent__v1__agent__descriptor.name)

/* The calls below use only @client and @rootfs, so a test may fill those two itself to drive an
 * agent it did not start (one in a VM). */
typedef struct {
    char *tmpdir;
    char *rootfs; /* busybox root shared by every container of the test */
    char *state_dir;
    char *socket_path;
    char *cgroup_root; /* the agent's parent cgroup of the containers */
    GPid pid;
    TtrpcClient *client;
} AgentTest;

/* Skips (test_util_skip()) unless run as root with busybox-static and the agent binary ($SC_AGENT).
 */
void agent_test_require(void);

/* Runs @tests (NULL-terminated) as one Check suite with optional checked fixtures; returns the
 * process exit status. */
int agent_test_main(const char *name, const TTest *const *tests, int timeout_s, void (*setup)(void),
                    void (*teardown)(void));

/* A root with busybox and a symlink for each of its applets, at @rootfs. */
void agent_test_build_rootfs(const char *rootfs);
/* rm -rf, staying on one file system; FALSE if that failed. Never asserts (the runner uses it
 * outside of any test). */
gboolean agent_test_remove_tree(const char *path);

/* Builds the rootfs, starts the agent, connects. Aborts the test on failure. */
AgentTest *agent_test_start(void);
/* Stops the agent with SIGTERM, checks that it exited 0 and removed its cgroup, removes the temp
 * dir. */
void agent_test_stop(AgentTest *test);

/* One RPC: the reply bytes, or NULL with the TTRPC_ERROR status. */
GBytes *agent_test_call(AgentTest *test, const char *method, const ProtobufCMessage *request,
                        GError **error);
/* The status code of a call (TTRPC_CODE_OK on success). */
TtrpcCode agent_test_code(AgentTest *test, const char *method, const ProtobufCMessage *request);
/* A call that must succeed, decoded with @desc (free with protobuf_c_message_free_unpacked). */
ProtobufCMessage *agent_test_ok(AgentTest *test, const char *method,
                                const ProtobufCMessage *request,
                                const ProtobufCMessageDescriptor *desc);

/* A default spec (runc's defaults, trimmed) running @args (NULL-terminated). */
json_object *agent_test_spec(const char *const *args);
/* An OCI process object running @args as root in "/". */
json_object *agent_test_process(const char *const *args);

/* Creates container @id from @spec (no stdin unless @want_stdin); returns the pid. */
guint32 agent_test_create(AgentTest *test, const char *id, json_object *spec, gboolean want_stdin);
guint32 agent_test_start_container(AgentTest *test, const char *id);
/* Waits for @exec_id ("" for init) and returns its exit status. */
guint32 agent_test_wait(AgentTest *test, const char *id, const char *exec_id);
/* Reads stdout (or stderr) of @exec_id until EOF. */
char *agent_test_read_all(AgentTest *test, const char *id, const char *exec_id, gboolean err);
void agent_test_remove(AgentTest *test, const char *id);
/* Creates and starts @spec, collects its stdout and exit status, removes it. */
char *agent_test_run(AgentTest *test, const char *id, json_object *spec, guint32 *out_status);

/* Writes @text to @relative below @root, making the directories it needs (fake /proc and /sys
 * trees). */
void agent_test_write(const char *root, const char *relative, const char *text);

/* Number of entries in /proc/@pid/@dir_name ("fd": open fds, "task": threads). */
guint agent_test_count_entries(GPid pid, const char *dir_name);

G_END_DECLS
