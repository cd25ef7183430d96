/* `secure-container ps`: a table, or JSON, of tool_pods_query()'s answers. */
#include "tool-ps.h"

#include <stdio.h>

#include <json-c/json.h>

#include "shim-state.h"
#include "tool-cli.h"
#include "tool-pods.h"

static char *uptime_text(double seconds)
{
    guint64 s = (guint64)seconds;

    if (s < 60)
        return g_strdup_printf("%" G_GUINT64_FORMAT "s", s);
    if (s < 3600)
        return g_strdup_printf("%" G_GUINT64_FORMAT "m%" G_GUINT64_FORMAT "s", s / 60, s % 60);
    if (s < 86400)
        return g_strdup_printf("%" G_GUINT64_FORMAT "h%" G_GUINT64_FORMAT "m", s / 3600,
                               s / 60 % 60);
    return g_strdup_printf("%" G_GUINT64_FORMAT "d%" G_GUINT64_FORMAT "h", s / 86400,
                           s / 3600 % 24);
}

static void print_table(GPtrArray *pods)
{
    printf("%-12s %-16s %-28s %-8s %-4s %9s %5s %10s %8s\n", "NAMESPACE", "SANDBOX", "CRI POD",
           "STATE", "VM", "MEMORY", "VCPUS", "CONTAINERS", "UPTIME");
    for (guint i = 0; i < pods->len; i++) {
        ToolPod *pod = pods->pdata[i];
        const Secure__Debug__V1__PodStatus *s = pod->status;
        if (!s) {
            g_autofree char *dir = g_path_get_basename(pod->dir);
            printf("%-12s %-16s %-28s %-8s\n", pod->namespace ? pod->namespace : "?", dir, "-",
                   "no-answer");
            continue;
        }
        g_autofree char *sandbox = g_strndup(s->sandbox_id, 16);
        g_autofree char *cri =
            *s->cri_name ? g_strdup_printf("%s/%s", s->cri_namespace, s->cri_name) : g_strdup("-");
        g_autofree char *memory = g_strdup_printf("%u MiB", s->memory_mib);
        g_autofree char *uptime = *s->sandbox ? uptime_text(s->uptime_seconds) : g_strdup("-");
        printf("%-12s %-16s %-28s %-8s %-4s %9s %5u %10u %8s\n", s->namespace_, sandbox, cri,
               s->phase, *s->sandbox ? s->sandbox : "-", s->memory_mib ? memory : "-", s->vcpus,
               s->containers, uptime);
    }
    for (guint i = 0; i < pods->len; i++) {
        ToolPod *pod = pods->pdata[i];
        if (pod->error)
            printf("%s: the shim did not answer: %s\n", pod->dir, pod->error);
    }
}

static json_object *pod_json(const ToolPod *pod)
{
    const Secure__Debug__V1__PodStatus *s = pod->status;
    json_object *o = json_object_new_object();

    json_object_object_add(o, "dir", json_object_new_string(pod->dir));
    if (!s) {
        json_object_object_add(o, "namespace",
                               pod->namespace ? json_object_new_string(pod->namespace) : NULL);
        json_object_object_add(o, "error", json_object_new_string(pod->error));
        return o;
    }
    json_object_object_add(o, "namespace", json_object_new_string(s->namespace_));
    json_object_object_add(o, "pod", json_object_new_string(s->pod));
    json_object_object_add(o, "sandbox_id", json_object_new_string(s->sandbox_id));
    if (*s->cri_name) {
        json_object *cri = json_object_new_object();
        json_object_object_add(cri, "name", json_object_new_string(s->cri_name));
        json_object_object_add(cri, "namespace", json_object_new_string(s->cri_namespace));
        json_object_object_add(cri, "uid", json_object_new_string(s->cri_uid));
        json_object_object_add(o, "cri", cri);
    }
    json_object_object_add(o, "phase", json_object_new_string(s->phase));
    if (*s->end_reason)
        json_object_object_add(o, "end_reason", json_object_new_string(s->end_reason));
    json_object_object_add(o, "vm", json_object_new_string(s->sandbox));
    json_object_object_add(o, "memory_mib", json_object_new_int64(s->memory_mib));
    json_object_object_add(o, "vcpus", json_object_new_int64(s->vcpus));
    json_object_object_add(o, "containers", json_object_new_int64(s->containers));
    json_object_object_add(o, "uptime_seconds", json_object_new_double(s->uptime_seconds));
    json_object_object_add(o, "shim_pid", json_object_new_int64(s->shim_pid));
    json_object_object_add(o, "vm_pid", json_object_new_int64(s->vm_pid));
    return o;
}

int tool_ps(int argc, char **argv)
{
    gboolean json = FALSE;
    const GOptionEntry entries[] = {
        {"json", 0, 0, G_OPTION_ARG_NONE, &json, "print a JSON array", NULL}, G_OPTION_ENTRY_NULL};

    if (!tool_parse_options("ps", "- the pods on this host", entries, &argc, &argv, 0))
        return 2;
    g_autoptr(GPtrArray) pods = tool_pods_query(SHIM_STATE_ROOT, FALSE);
    if (!json) {
        print_table(pods);
        return 0;
    }
    json_object *all = json_object_new_array();
    for (guint i = 0; i < pods->len; i++)
        json_object_array_add(all, pod_json(pods->pdata[i]));
    printf("%s\n", json_object_to_json_string_ext(all, JSON_C_TO_STRING_PRETTY |
                                                           JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(all);
    return 0;
}
