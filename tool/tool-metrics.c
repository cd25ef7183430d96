/* The exposition: per-pod families with the pod's labels, then node-level ones. Each family's
 * samples come together after its HELP and TYPE, as the text format requires. */
#include "tool-metrics.h"

#include <signal.h>
#include <stdio.h>

#include <glib-unix.h>
#include <libsoup/soup.h>

#include "shim-state.h"
#include "tool-cli.h"
#include "tool-pods.h"

#define PREFIX "secure_container_"

typedef const Secure__Debug__V1__PodMetrics Metrics;

/* A per-pod family: its value for @m, or FALSE when the pod has none (no VM, no guest answer). */
typedef struct {
    const char *name;
    const char *type;
    const char *help;
    gboolean (*value)(Metrics *m, double *out);
} PodFamily;

static gboolean is_vm(Metrics *m)
{
    return g_str_equal(m->status->sandbox, "kvm") || g_str_equal(m->status->sandbox, "tcg");
}

/* fn(m, &out): the value @expr, present when @has holds for the pod. */
#define VALUE(fn, has, expr)                                                                       \
    static gboolean fn(Metrics *m, double *out)                                                    \
    {                                                                                              \
        *out = (expr);                                                                             \
        return (has);                                                                              \
    }

VALUE(vm_cpu, is_vm(m), m->vm_cpu_ns / 1e9)
VALUE(vm_memory, is_vm(m), m->vm_memory_kib * 1024.0)
VALUE(vm_rss, is_vm(m), m->vm_rss_kib * 1024.0)
VALUE(vm_vcpus, is_vm(m), m->status->vcpus)
VALUE(guest_total, m->guest_answered, m->guest_mem_total_kib * 1024.0)
VALUE(guest_available, m->guest_answered, m->guest_mem_available_kib * 1024.0)
VALUE(guest_load1, m->guest_answered, m->guest_load1)
VALUE(guest_load5, m->guest_answered, m->guest_load5)
VALUE(guest_load15, m->guest_answered, m->guest_load15)
VALUE(agent_rss, m->guest_answered, m->agent_rss_kib * 1024.0)
VALUE(shim_rss, TRUE, m->shim_rss_kib * 1024.0)
VALUE(containers, TRUE, m->status->containers)
VALUE(agent_errors, TRUE, (double)m->agent_call_errors)
VALUE(uptime, TRUE, m->status->uptime_seconds)

static const PodFamily families[] = {
    {"vm_cpu_seconds_total", "counter", "CPU time of the pod's VM (libvirt)", vm_cpu},
    {"vm_memory_bytes", "gauge", "Memory of the pod's VM now, boot and hot-plugged (libvirt)",
     vm_memory},
    {"vm_rss_bytes", "gauge", "Resident memory of the pod's QEMU on the host (libvirt)", vm_rss},
    {"vm_vcpus", "gauge", "vCPUs of the pod's VM", vm_vcpus},
    {"guest_memory_total_bytes", "gauge", "MemTotal inside the guest", guest_total},
    {"guest_memory_available_bytes", "gauge", "MemAvailable inside the guest", guest_available},
    {"guest_load1", "gauge", "The guest's load average over 1 minute", guest_load1},
    {"guest_load5", "gauge", "The guest's load average over 5 minutes", guest_load5},
    {"guest_load15", "gauge", "The guest's load average over 15 minutes", guest_load15},
    {"agent_rss_bytes", "gauge", "Resident memory of the guest agent", agent_rss},
    {"shim_rss_bytes", "gauge", "Resident memory of the pod's shim", shim_rss},
    {"containers", "gauge", "Containers in the pod (its pause container included)", containers},
    {"agent_call_errors_total", "counter",
     "Calls to the guest agent that failed since the pod's VM started", agent_errors},
    {"pod_uptime_seconds", "gauge", "Time since the pod's sandbox started", uptime},
};

/* Pod start latency buckets (s): from a VM template's 1 s to a cold TCG boot's tens. */
static const double start_buckets[] = {0.5, 1, 2, 3, 5, 10, 20, 30, 60};

static void append_escaped(GString *out, const char *value)
{
    for (const char *c = value; *c; c++) {
        if (*c == '\\' || *c == '"')
            g_string_append_c(out, '\\');
        if (*c == '\n')
            g_string_append(out, "\\n");
        else
            g_string_append_c(out, *c);
    }
}

static void append_labels(GString *out, const Secure__Debug__V1__PodStatus *s, const char *dir)
{
    g_autofree char *pod = g_path_get_basename(dir);
    const char *names[] = {"namespace", "pod",           "sandbox_id",
                           "cri_name",  "cri_namespace", "cri_uid"};
    const char *values[] = {s->namespace_,    pod,       s->sandbox_id, s->cri_name,
                            s->cri_namespace, s->cri_uid};

    g_string_append_c(out, '{');
    for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
        g_string_append_printf(out, "%s%s=\"", i ? "," : "", names[i]);
        append_escaped(out, values[i]);
        g_string_append_c(out, '"');
    }
    g_string_append_c(out, '}');
}

static void append_header(GString *out, const char *name, const char *type, const char *help)
{
    g_string_append_printf(out, "# HELP " PREFIX "%s %s\n# TYPE " PREFIX "%s %s\n", name, help,
                           name, type);
}

static void append_pod_family(GString *out, const PodFamily *f, GPtrArray *pods)
{
    append_header(out, f->name, f->type, f->help);
    for (guint i = 0; i < pods->len; i++) {
        ToolPod *pod = pods->pdata[i];
        double value;
        if (!pod->metrics || !f->value(pod->metrics, &value))
            continue;
        g_string_append(out, PREFIX);
        g_string_append(out, f->name);
        append_labels(out, pod->status, pod->dir);
        g_string_append_printf(out, " %.15g\n", value);
    }
}

static void append_node(GString *out, GPtrArray *pods)
{
    static const char *const phases[] = {"empty", "booting", "running", "ended"};
    guint start_counts[G_N_ELEMENTS(start_buckets)] = {0}, started = 0, unanswered = 0;
    double start_sum = 0;

    append_header(out, "pods", "gauge", "Pods on this node by phase");
    for (gsize p = 0; p < G_N_ELEMENTS(phases); p++) {
        guint n = 0;
        for (guint i = 0; i < pods->len; i++) {
            ToolPod *pod = pods->pdata[i];
            n += pod->status && g_str_equal(pod->status->phase, phases[p]);
        }
        g_string_append_printf(out, PREFIX "pods{phase=\"%s\"} %u\n", phases[p], n);
    }
    for (guint i = 0; i < pods->len; i++) {
        ToolPod *pod = pods->pdata[i];
        unanswered += pod->metrics == NULL;
        if (!pod->metrics || pod->metrics->start_seconds <= 0)
            continue;
        started++;
        start_sum += pod->metrics->start_seconds;
        for (gsize b = 0; b < G_N_ELEMENTS(start_buckets); b++)
            start_counts[b] += pod->metrics->start_seconds <= start_buckets[b];
    }
    append_header(out, "pods_unanswered", "gauge",
                  "Pod directories whose shim did not answer (gone, hung, or older)");
    g_string_append_printf(out, PREFIX "pods_unanswered %u\n", unanswered);
    append_header(out, "pod_start_seconds", "histogram",
                  "Pod start latency of the pods on this node: Create received to the first "
                  "container created");
    for (gsize b = 0; b < G_N_ELEMENTS(start_buckets); b++)
        g_string_append_printf(out, PREFIX "pod_start_seconds_bucket{le=\"%g\"} %u\n",
                               start_buckets[b], start_counts[b]);
    g_string_append_printf(out, PREFIX "pod_start_seconds_bucket{le=\"+Inf\"} %u\n", started);
    g_string_append_printf(out, PREFIX "pod_start_seconds_sum %.15g\n", start_sum);
    g_string_append_printf(out, PREFIX "pod_start_seconds_count %u\n", started);
}

char *tool_metrics_scrape(void)
{
    g_autoptr(GPtrArray) pods = tool_pods_query(SHIM_STATE_ROOT, TRUE);
    GString *out = g_string_new(NULL);

    for (gsize i = 0; i < G_N_ELEMENTS(families); i++)
        append_pod_family(out, &families[i], pods);
    append_node(out, pods);
    return g_string_free(out, FALSE);
}

static void serve_metrics(SoupServer *server, SoupServerMessage *msg, const char *path,
                          GHashTable *query, gpointer user_data)
{
    (void)server;
    (void)path;
    (void)query;
    (void)user_data;
    if (soup_server_message_get_method(msg) != SOUP_METHOD_GET) {
        soup_server_message_set_status(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, NULL);
        return;
    }
    char *text = tool_metrics_scrape();
    soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
    soup_server_message_set_response(msg, "text/plain; version=0.0.4; charset=utf-8",
                                     SOUP_MEMORY_TAKE, text, strlen(text));
}

static gboolean quit(gpointer loop)
{
    g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
}

/* Serves /metrics on @listen ("HOST:PORT") until SIGINT or SIGTERM. */
static int serve(const char *listen)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GSocketConnectable) where = g_network_address_parse(listen, 0, &error);
    g_autoptr(SoupServer) server = soup_server_new(NULL, NULL);
    const char *host = where ? g_network_address_get_hostname(G_NETWORK_ADDRESS(where)) : NULL;
    guint16 port = where ? g_network_address_get_port(G_NETWORK_ADDRESS(where)) : 0;
    g_autoptr(GSocketAddress) address =
        host && port ? g_inet_socket_address_new_from_string(host, port) : NULL;

    if (!address) {
        fprintf(stderr,
                "secure-container metrics: --listen '%s': want an address:port such as "
                "127.0.0.1:9464%s%s\n",
                listen, error ? ": " : "", error ? error->message : "");
        return 2;
    }
    soup_server_add_handler(server, "/metrics", serve_metrics, NULL, NULL);
    if (!soup_server_listen(server, address, 0, &error)) {
        fprintf(stderr, "secure-container metrics: listen on %s: %s\n", listen, error->message);
        return 1;
    }
    g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);
    g_unix_signal_add(SIGINT, quit, loop);
    g_unix_signal_add(SIGTERM, quit, loop);
    fprintf(stderr, "secure-container metrics: serving http://%s/metrics\n", listen);
    g_main_loop_run(loop);
    return 0;
}

int tool_metrics(int argc, char **argv)
{
    g_autofree char *listen = NULL;
    const GOptionEntry entries[] = {
        {"listen", 0, 0, G_OPTION_ARG_STRING, &listen,
         "serve /metrics over HTTP there until SIGTERM (else print one scrape)", "HOST:PORT"},
        G_OPTION_ENTRY_NULL};

    if (!tool_parse_options("metrics", "- the node's pods in Prometheus' format", entries, &argc,
                            &argv, 0))
        return 2;
    if (listen)
        return serve(listen);
    g_autofree char *text = tool_metrics_scrape();
    fputs(text, stdout);
    return 0;
}
