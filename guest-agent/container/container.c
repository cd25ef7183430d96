/* container.c: the public container API (placeholder until the builder lands). */
#include "container.h"

G_DEFINE_QUARK(container-error-quark, container_error)

#define NOT_YET(name) \
  g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_UNSUPPORTED, "%s: not implemented yet", name)

Container *container_create(const char *id, const OciSpec *spec, const char *rootfs,
                            const char *cgroup_root, const ContainerStdio *stdio,
                            int *out_pty_master, GError **error)
{
  (void)id; (void)spec; (void)rootfs; (void)cgroup_root; (void)stdio;
  if (out_pty_master)
    *out_pty_master = -1;
  NOT_YET("container_create");
  return NULL;
}

const char *container_get_id(const Container *container) { (void)container; return NULL; }
pid_t container_get_pid(const Container *container) { (void)container; return -1; }
gboolean container_start(Container *c, GError **error) { (void)c; NOT_YET("container_start"); return FALSE; }
pid_t container_exec(Container *c, const OciProcess *p, const ContainerStdio *s, int *out_pty_master, GError **error)
{
  (void)c; (void)p; (void)s;
  if (out_pty_master)
    *out_pty_master = -1;
  NOT_YET("container_exec");
  return -1;
}
gboolean container_signal(Container *c, int sig, gboolean all, GError **error) { (void)c; (void)sig; (void)all; NOT_YET("container_signal"); return FALSE; }
gboolean container_pause(Container *c, GError **error) { (void)c; NOT_YET("container_pause"); return FALSE; }
gboolean container_resume(Container *c, GError **error) { (void)c; NOT_YET("container_resume"); return FALSE; }
Io__Containerd__Cgroups__V2__Metrics *container_stats(Container *c, GError **error) { (void)c; NOT_YET("container_stats"); return NULL; }
gboolean container_update(Container *c, const char *j, gsize l, GError **error) { (void)c; (void)j; (void)l; NOT_YET("container_update"); return FALSE; }
GArray *container_list_pids(Container *c, GError **error) { (void)c; NOT_YET("container_list_pids"); return NULL; }
int container_get_memory_events_fd(Container *c) { (void)c; return -1; }
gboolean container_get_oom_kill_count(Container *c, guint64 *o, GError **error) { (void)c; *o = 0; NOT_YET("container_get_oom_kill_count"); return FALSE; }
gboolean container_destroy(Container *c, GError **error) { (void)c; (void)error; return TRUE; }
