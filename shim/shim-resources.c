/* Pod demand and VM size: parsing limits out of specs and turning them into MiB and vCPUs. */
#include "shim-resources.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "shim-error.h"

#define MIB (1024 * 1024)
#define MILLIS_PER_CPU 1000
/* Far above any VM (1 TiB, 255 vCPUs), yet far from overflowing a sum of many containers. */
#define MEMORY_BYTES_MAX (G_GUINT64_CONSTANT(1) << 40)
#define CPU_MILLIS_MAX (G_GUINT64_CONSTANT(255) * MILLIS_PER_CPU)
#define CPU_PERIOD_MAX_US 1000000

static const char annotation_memory[] = "io.kubernetes.cri.sandbox-memory";
static const char annotation_quota[] = "io.kubernetes.cri.sandbox-cpu-quota";
static const char annotation_period[] = "io.kubernetes.cri.sandbox-cpu-period";

static guint64 div_round_up(guint64 n, guint64 d)
{
    return n / d + (n % d != 0);
}

static gboolean invalid(GError **error, const char *where, const char *what)
{
    g_set_error(error, SHIM_ERROR, SHIM_ERROR_INVALID, "'%s' %s", where, what);
    return FALSE;
}

/* An integer member of @obj (absent: *@out stays as it is). */
static gboolean get_int(json_object *obj, const char *key, const char *where, gint64 *out,
                        GError **error)
{
    json_object *value;
    if (!json_object_object_get_ex(obj, key, &value) || json_object_is_type(value, json_type_null))
        return TRUE;
    if (!json_object_is_type(value, json_type_int))
        return invalid(error, where, "is not an integer");
    *out = json_object_get_int64(value);
    return TRUE;
}

static gboolean memory_of(guint64 bytes, const char *where, ShimResources *out, GError **error)
{
    if (bytes > MEMORY_BYTES_MAX)
        return invalid(error, where, "is above 1 TiB");
    out->memory_bytes = bytes;
    return TRUE;
}

/* quota/period µs; a non-positive quota means no limit. The kernel's period is at most 1 s. */
static gboolean cpu_of(gint64 quota, gint64 period, const char *where, ShimResources *out,
                       GError **error)
{
    if (quota <= 0)
        return TRUE;
    if (period <= 0 || period > CPU_PERIOD_MAX_US)
        return invalid(error, where, "has a quota but no period of 1..1000000 us");
    if (quota / period >= (gint64)(CPU_MILLIS_MAX / MILLIS_PER_CPU))
        return invalid(error, where, "asks for 255 CPUs or more");
    out->cpu_millis = div_round_up((guint64)quota * MILLIS_PER_CPU, (guint64)period);
    return TRUE;
}

gboolean shim_resources_parse(json_object *resources, ShimResources *out, GError **error)
{
    json_object *memory = NULL, *cpu = NULL;
    gint64 limit = -1, quota = -1, period = 0;

    *out = (ShimResources){0};
    if (!resources || json_object_is_type(resources, json_type_null))
        return TRUE;
    if (!json_object_is_type(resources, json_type_object))
        return invalid(error, "linux.resources", "is not an object");
    json_object_object_get_ex(resources, "memory", &memory);
    json_object_object_get_ex(resources, "cpu", &cpu);
    if ((memory && !json_object_is_type(memory, json_type_object)) ||
        (cpu && !json_object_is_type(cpu, json_type_object)))
        return invalid(error, "linux.resources",
                       "has a memory or cpu member that is not an object");
    if (!get_int(memory, "limit", "linux.resources.memory.limit", &limit, error) ||
        !get_int(cpu, "quota", "linux.resources.cpu.quota", &quota, error) ||
        !get_int(cpu, "period", "linux.resources.cpu.period", &period, error))
        return FALSE;
    if (limit > 0 && !memory_of((guint64)limit, "linux.resources.memory.limit", out, error))
        return FALSE;
    return cpu_of(quota, period, "linux.resources.cpu", out, error);
}

/* A decimal annotation, negative meaning none (absent: *@out stays as it is). */
static gboolean get_annotation(json_object *annotations, const char *key, gint64 *out,
                               GError **error)
{
    json_object *value;
    gint64 n;
    if (!json_object_object_get_ex(annotations, key, &value))
        return TRUE;
    if (!json_object_is_type(value, json_type_string) ||
        !g_ascii_string_to_signed(json_object_get_string(value), 10, G_MININT64, G_MAXINT64, &n,
                                  NULL))
        return invalid(error, key, "is not a decimal integer");
    *out = n;
    return TRUE;
}

static gboolean from_annotations(json_object *spec, ShimResources *out, GError **error)
{
    json_object *annotations;
    gint64 memory = 0, quota = 0, period = 0;

    *out = (ShimResources){0};
    if (!json_object_object_get_ex(spec, "annotations", &annotations) ||
        !json_object_is_type(annotations, json_type_object))
        return TRUE;
    if (!get_annotation(annotations, annotation_memory, &memory, error) ||
        !get_annotation(annotations, annotation_quota, &quota, error) ||
        !get_annotation(annotations, annotation_period, &period, error))
        return FALSE;
    if (memory > 0 && !memory_of((guint64)memory, annotation_memory, out, error))
        return FALSE;
    return cpu_of(quota, period, annotation_quota, out, error);
}

gboolean shim_resources_from_spec(json_object *spec, ShimResources *out_own, ShimResources *out_pod,
                                  GError **error)
{
    json_object *linux_obj = NULL, *resources = NULL;

    json_object_object_get_ex(spec, "linux", &linux_obj);
    if (linux_obj && json_object_is_type(linux_obj, json_type_object))
        json_object_object_get_ex(linux_obj, "resources", &resources);
    return shim_resources_parse(resources, out_own, error) &&
           from_annotations(spec, out_pod, error);
}

void shim_resources_add(ShimResources *a, const ShimResources *b)
{
    a->memory_bytes += b->memory_bytes;
    a->cpu_millis += b->cpu_millis;
}

void shim_resources_max(ShimResources *a, const ShimResources *b)
{
    a->memory_bytes = MAX(a->memory_bytes, b->memory_bytes);
    a->cpu_millis = MAX(a->cpu_millis, b->cpu_millis);
}

/* The host's memory in MiB, G_MAXUINT when unknown (the config's ceiling then holds alone). */
static guint host_memory_mib(void)
{
    g_autofree char *text = NULL;
    guint64 kib = 0;
    if (g_file_get_contents("/proc/meminfo", &text, NULL, NULL)) {
        const char *line = strstr(text, "MemTotal:");
        if (line && sscanf(line, "MemTotal: %" G_GUINT64_FORMAT " kB", &kib) == 1 && kib > 0)
            return (guint)MIN(kib / 1024, G_MAXUINT);
    }
    return G_MAXUINT;
}

static guint host_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (guint)n : G_MAXUINT;
}

static void ceilings(const ShimConfig *config, ShimVmSize *size)
{
    size->max_memory_mib = MIN(config->max_memory_mib, host_memory_mib());
    size->max_vcpus = MIN(config->max_vcpus, host_cpus());
}

/* What the guest itself takes: its kernel and agent, and its files (shim-config.c). */
static guint guest_mib(const ShimConfig *config)
{
    return config->memory_overhead_mib + config->guest_files_mib;
}

/* What @demand needs: its memory plus the guest's own (0 when it has no memory limit), and one
 * vCPU per started CPU (0 when no CPU limit). */
static void needs(const ShimConfig *config, const ShimResources *demand, guint64 *memory_mib,
                  guint64 *vcpus)
{
    *memory_mib =
        demand->memory_bytes ? div_round_up(demand->memory_bytes, MIB) + guest_mib(config) : 0;
    *vcpus = div_round_up(demand->cpu_millis, MILLIS_PER_CPU);
}

static gboolean within(const ShimConfig *config, const ShimResources *demand, guint64 memory_mib,
                       guint64 vcpus, const ShimVmSize *size, GError **error)
{
    if (memory_mib > size->max_memory_mib) {
        g_set_error(error, SHIM_ERROR, SHIM_ERROR_EXHAUSTED,
                    "the pod needs %" G_GUINT64_FORMAT " MiB of memory (limits %" G_GUINT64_FORMAT
                    " MiB + %u MiB for the guest), above the maximum of %u MiB ([hypervisor] "
                    "max_memory = %u in '%s', and the host's memory)",
                    memory_mib, div_round_up(demand->memory_bytes, MIB), guest_mib(config),
                    size->max_memory_mib, config->max_memory_mib, config->path);
        return FALSE;
    }
    if (vcpus > size->max_vcpus) {
        g_set_error(error, SHIM_ERROR, SHIM_ERROR_EXHAUSTED,
                    "the pod needs %" G_GUINT64_FORMAT " vCPUs (CPU limits %.3f), above the "
                    "maximum of %u ([hypervisor] max_vcpus = %u in '%s', and the host's CPUs)",
                    vcpus, demand->cpu_millis / (double)MILLIS_PER_CPU, size->max_vcpus,
                    config->max_vcpus, config->path);
        return FALSE;
    }
    return TRUE;
}

gboolean shim_resources_boot_size(const ShimConfig *config, const ShimResources *demand,
                                  ShimVmSize *out, GError **error)
{
    guint64 memory_mib, vcpus;
    ShimVmSize size;

    ceilings(config, &size);
    needs(config, demand, &memory_mib, &vcpus);
    if (!within(config, demand, memory_mib, vcpus, &size, error))
        return FALSE;
    gboolean sized = demand->memory_bytes || demand->cpu_millis;
    size.memory_mib = sized ? (guint)MAX(memory_mib, config->min_memory_mib) : config->memory_mib;
    size.vcpus = sized ? (guint)MAX(vcpus, 1) : config->vcpus;
    /* The defaults may lie above a host's ceiling: the ceiling then follows them. */
    size.max_memory_mib = MAX(size.max_memory_mib, size.memory_mib);
    size.max_vcpus = MAX(size.max_vcpus, size.vcpus);
    *out = size;
    return TRUE;
}

gboolean shim_resources_running_size(const ShimConfig *config, const ShimVmSize *boot,
                                     const ShimVmSize *current, const ShimResources *demand,
                                     ShimVmSize *out, GError **error)
{
    guint64 memory_mib, vcpus;

    needs(config, demand, &memory_mib, &vcpus);
    if (!within(config, demand, memory_mib, vcpus, boot, error))
        return FALSE;
    *out = *current;
    out->memory_mib = (guint)MAX(memory_mib, boot->memory_mib);
    out->vcpus = (guint)MAX(vcpus, current->vcpus);
    return TRUE;
}
