/* The pod's containers by id, each with the builder's handle, its init process and its exec'd
 * processes; the operations the service calls on them. All ids are validated here. */
#pragma once

#include "agent-oom.h"
#include "agent-process.h"

#include <glib.h>

G_BEGIN_DECLS

typedef struct _AgentPod AgentPod;

/* Checks a container or exec id: 1..64 bytes of [A-Za-z0-9_.-], not starting with '.'. */
gboolean agent_pod_check_id(const char *what, const char *id, GError **error);

/* Containers get cgroups under @cgroup_root (created if missing, removed by agent_pod_free when
 * @remove_cgroup_root). */
AgentPod *agent_pod_new(GMainContext *context, const char *cgroup_root, gboolean remove_cgroup_root,
                        GError **error);
/* Destroys every container (see agent_pod_destroy_all) and frees @pod. */
void agent_pod_free(AgentPod *pod);

AgentOom *agent_pod_get_oom(AgentPod *pod);

/* The reaper's callback: records the exit of the process @pid, if it is one of ours. */
void agent_pod_reaped(pid_t pid, int wait_status, gpointer pod);

/* The end of agent_pod_create(): the init's pid, or 0 and @error. */
typedef void (*AgentPodCreatedFunc)(pid_t pid, const GError *error, gpointer user_data);
/* Builds container @id from config.json bytes; its init waits for start. @want_stdin: give it a
 * stdin pipe (else /dev/null). The init's setup is awaited from the pod's main context, which
 * serves other calls meanwhile: on TRUE, @func runs once from there, never from inside this
 * call (also when agent_pod_destroy_all() ends the create first); on FALSE (a bad request, or
 * the init could not be cloned) @error says why and @func is not called. The id counts as taken
 * from the call on. */
gboolean agent_pod_create(AgentPod *pod, const char *id, const char *config_json, gsize len,
                          const char *rootfs_path, gboolean want_stdin, AgentPodCreatedFunc func,
                          gpointer user_data, GError **error);
gboolean agent_pod_start(AgentPod *pod, const char *id, pid_t *out_pid, GError **error);
/* Runs the OCI process object @process_json as @exec_id in the running container @id. An exec id
 * whose process has exited may be used again. */
gboolean agent_pod_exec(AgentPod *pod, const char *id, const char *exec_id,
                        const char *process_json, gsize len, gboolean want_stdin, pid_t *out_pid,
                        GError **error);
/* Signals the process, or with @all every process of the container. */
gboolean agent_pod_signal(AgentPod *pod, const char *id, const char *exec_id, guint signal,
                          gboolean all, GError **error);
/* Destroys container @id; fails while its init runs. */
gboolean agent_pod_remove(AgentPod *pod, const char *id, GError **error);
/* Kills and destroys every container; creates in progress end with AGENT_ERROR_STATE. */
void agent_pod_destroy_all(AgentPod *pod);

/* The process @exec_id ("" for the init) of container @id, borrowed, or NULL with
 * AGENT_ERROR_NOT_FOUND. */
AgentProcess *agent_pod_find_process(AgentPod *pod, const char *id, const char *exec_id,
                                     GError **error);
/* Container @id's builder handle, borrowed, or NULL with an error; with @running, fails with
 * AGENT_ERROR_STATE unless its init has started and not exited. */
Container *agent_pod_find_container(AgentPod *pod, const char *id, gboolean running,
                                    GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgentPod, agent_pod_free)

G_END_DECLS
