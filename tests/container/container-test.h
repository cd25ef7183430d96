/* container-test.h: helpers for the container builder's root tests: a busybox rootfs, a
 * temporary cgroup v2 root, spec editing, running a container to completion, leak checks. */
#pragma once

#include <check.h>
#include "common-json.h"
#include "container.h"
#include "test-util.h"

/* Skips (test_util_skip()) unless we are root with busybox-static. */
void ct_require_root(void);

/* Runs `suite` (each test in its own process), then removes whatever a failed test left
 * behind (its container processes, cgroups and temp dirs). Returns the exit status. */
int ct_run_suite(Suite *suite);

/* Skips (test_util_skip()) unless our cgroup v2 directory offers every controller in `names`. */
void ct_require_controllers(const char *const *names);

typedef struct {
    char *dir; /* temp dir holding rootfs/ and host-side files */
    char *rootfs;
    char *cgroup_root; /* temporary cgroup v2 directory */
    int fd_count;      /* open fds when the environment was made */
    int next_id;
} CtEnv;

CtEnv *ct_env_new(void);
/* Checks that no process, fd, mount or cgroup is left, and removes everything. */
void ct_env_free(CtEnv *env);

/* Whether the cgroup root has `controller` (e.g. "memory") enabled for its children. */
gboolean ct_env_has_controller(CtEnv *env, const char *controller);

/* A spec like containerd's default running `args` (NULL-terminated). */
json_object *ct_spec_new(const char *const *args);
/* Sets `value` (owned) at a dotted path such as "process.cwd", creating objects on the way. */
void ct_spec_set(json_object *spec, const char *path, json_object *value);
/* Sets process.args to sh -c `script`. */
void ct_spec_set_script(json_object *spec, const char *script);
/* Parses `json` as a JSON value (for ct_spec_set). */
json_object *ct_json(const char *json);
OciSpec *ct_spec_parse(json_object *spec);

/* Creates a container with stdout and stderr into one pipe (its read end in *out_read_fd). */
Container *ct_create(CtEnv *env, json_object *spec, int *out_read_fd, GError **error);
/* Reads `fd` until EOF (bounded by 30 s) and closes it. */
char *ct_read_all(int fd);
/* Waits for `pid` and returns its wait status. */
int ct_reap(pid_t pid);
/* Creates, starts and runs the container to its end; returns its output (stdout+stderr). */
char *ct_run(CtEnv *env, json_object *spec, int *out_status);
/* Reads a file of the container's cgroup (NULL if missing). */
char *ct_cgroup_read(CtEnv *env, Container *c, const char *file);
