/* oci-resources.c: parses an OCI linux.resources object (cgroup v2 limits). */
#include "oci-spec-private.h"

#include <linux/bpf.h>
#include <string.h>

#include "oci-json.h"
#include "oci-name.h"

void oci_resources_init(OciResources *res)
{
    memset(res, 0, sizeof *res);
    res->memory_limit = -1;
    res->memory_reservation = -1;
    res->memory_swap = -1;
    res->cpu_shares = -1;
    res->cpu_quota = -1;
    res->cpu_period = -1;
    res->pids_limit = -1;
}

void oci_resources_clear(OciResources *res)
{
    g_free(res->cpuset_cpus);
    g_free(res->cpuset_mems);
    g_strfreev(res->unified_keys);
    g_strfreev(res->unified_values);
    g_free(res->device_rules);
    for (gsize i = 0; i < res->n_hugepage_limits; i++)
        g_free(res->hugepage_limits[i].page_size);
    g_free(res->hugepage_limits);
    oci_resources_init(res);
}

/* OCI uses -1 for "no limit" in memory fields; we keep -1 for "not given", so map it to max. */
static gboolean parse_memory_value(json_object *obj, const char *key, gint64 *out, GError **error)
{
    gint64 v = G_MININT64;
    if (!oci_json_get_int64(obj, key, "linux.resources.memory", -1, G_MAXINT64, &v, error))
        return FALSE;
    if (v != G_MININT64)
        *out = v == -1 ? G_MAXINT64 : v;
    return TRUE;
}

static gboolean parse_memory(json_object *res_obj, OciResources *res, GError **error)
{
    static const char *const known[] = {"limit", "reservation", "swap", NULL};
    json_object *obj;
    if (!oci_json_get(res_obj, "memory", json_type_object, "linux.resources", &obj, error))
        return FALSE;
    if (obj == NULL)
        return TRUE;
    return oci_json_check_keys(obj, "linux.resources.memory", known, error) &&
           parse_memory_value(obj, "limit", &res->memory_limit, error) &&
           parse_memory_value(obj, "reservation", &res->memory_reservation, error) &&
           parse_memory_value(obj, "swap", &res->memory_swap, error);
}

static gboolean parse_cpuset(json_object *obj, const char *key, char **out, GError **error)
{
    if (!oci_json_get_string(obj, key, "linux.resources.cpu", out, error))
        return FALSE;
    if (*out && (strlen(*out) > 1024 || !oci_name_is(*out, OCI_NAME_DIGIT ",-", 0))) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID,
                    "'linux.resources.cpu.%s' '%s' is not a list of ranges", key, *out);
        return FALSE;
    }
    return TRUE;
}

static gboolean parse_cpu(json_object *res_obj, OciResources *res, GError **error)
{
    static const char *const known[] = {"shares", "quota", "period", "cpus", "mems", NULL};
    const char *where = "linux.resources.cpu";
    json_object *obj;
    if (!oci_json_get(res_obj, "cpu", json_type_object, "linux.resources", &obj, error))
        return FALSE;
    if (obj == NULL)
        return TRUE;
    if (!oci_json_check_keys(obj, where, known, error) ||
        !oci_json_get_int64(obj, "shares", where, 0, 262144, &res->cpu_shares, error) ||
        !oci_json_get_int64(obj, "quota", where, -1, G_MAXINT64, &res->cpu_quota, error) ||
        !oci_json_get_int64(obj, "period", where, 0, 1000000, &res->cpu_period, error) ||
        !parse_cpuset(obj, "cpus", &res->cpuset_cpus, error) ||
        !parse_cpuset(obj, "mems", &res->cpuset_mems, error))
        return FALSE;
    /* 0 means "not set" in Go-made specs. */
    if (res->cpu_shares == 0)
        res->cpu_shares = -1;
    if (res->cpu_quota == 0)
        res->cpu_quota = -1;
    else if (res->cpu_quota == -1 && json_object_object_get_ex(obj, "quota", NULL))
        res->cpu_quota = G_MAXINT64;
    if (res->cpu_period == 0)
        res->cpu_period = -1;
    if (res->cpu_quota > 0 && res->cpu_quota != G_MAXINT64 && res->cpu_quota < 1000) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID,
                    "'linux.resources.cpu.quota' %" G_GINT64_FORMAT " is below 1000 us",
                    res->cpu_quota);
        return FALSE;
    }
    if (res->cpu_period > 0 && res->cpu_period < 1000) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID,
                    "'linux.resources.cpu.period' %" G_GINT64_FORMAT " is below 1000 us",
                    res->cpu_period);
        return FALSE;
    }
    return TRUE;
}

static gboolean parse_pids(json_object *res_obj, OciResources *res, GError **error)
{
    static const char *const known[] = {"limit", NULL};
    json_object *obj;
    gint64 limit = G_MININT64;
    if (!oci_json_get(res_obj, "pids", json_type_object, "linux.resources", &obj, error))
        return FALSE;
    if (obj == NULL)
        return TRUE;
    if (!oci_json_check_keys(obj, "linux.resources.pids", known, error) ||
        !oci_json_get_int64(obj, "limit", "linux.resources.pids", G_MININT64 + 1, G_MAXINT64,
                            &limit, error))
        return FALSE;
    if (limit != G_MININT64)
        res->pids_limit = limit <= 0 ? G_MAXINT64 : limit;
    return TRUE;
}

static gboolean parse_unified(json_object *res_obj, OciResources *res, GError **error)
{
    json_object *obj;
    if (!oci_json_get(res_obj, "unified", json_type_object, "linux.resources", &obj, error))
        return FALSE;
    if (obj == NULL)
        return TRUE;
    gsize n = json_object_object_length(obj);
    if (n > 256) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID,
                    "'linux.resources.unified' has more than 256 entries");
        return FALSE;
    }
    g_strfreev(res->unified_keys);
    g_strfreev(res->unified_values);
    res->unified_keys = g_new0(char *, n + 1);
    res->unified_values = g_new0(char *, n + 1);
    res->n_unified = 0;
    json_object_object_foreach(obj, key, value)
    {
        /* A controller file name: never a path, never a cgroup core file. */
        gsize controller = strspn(key, OCI_NAME_LOWER);
        if (controller == 0 || key[controller] != '.' ||
            !oci_name_is(key + controller + 1, OCI_NAME_LOWER "_.", 1) ||
            g_str_has_prefix(key, "cgroup.") || !json_object_is_type(value, json_type_string) ||
            json_object_get_string_len(value) > 4096) {
            g_set_error(
                error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID,
                "'linux.resources.unified' entry '%s' is not a controller file with a string value",
                key);
            return FALSE;
        }
        res->unified_keys[res->n_unified] = g_strdup(key);
        res->unified_values[res->n_unified] = g_strdup(json_object_get_string(value));
        res->n_unified++;
    }
    return TRUE;
}

static gboolean parse_device_rule(json_object *rule, const char *where, gpointer elem,
                                  gpointer user_data, GError **error)
{
    static const char *const known[] = {"allow", "type", "major", "minor", "access", NULL};
    OciDeviceRule *out = elem;
    g_autofree char *type = NULL;
    g_autofree char *access = NULL;
    (void)user_data;
    out->major = out->minor = -1;
    if (!oci_json_check_keys(rule, where, known, error) ||
        !oci_json_get_bool(rule, "allow", where, &out->allow, error) ||
        !oci_json_get_string(rule, "type", where, &type, error) ||
        !oci_json_get_int64(rule, "major", where, -1, 0xfff, &out->major, error) ||
        !oci_json_get_int64(rule, "minor", where, -1, 0xfffff, &out->minor, error) ||
        !oci_json_get_string(rule, "access", where, &access, error))
        return FALSE;
    if (type && (strlen(type) != 1 || strchr("acb", type[0]) == NULL)) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID,
                    "'%s.type' '%s' is not a, c or b", where, type);
        return FALSE;
    }
    out->type = type ? type[0] : 'a';
    if (access == NULL || access[0] == '\0') {
        out->access = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;
        return TRUE;
    }
    for (const char *a = access; *a; a++) {
        const char *at = strchr("mrw", *a);
        if (at == NULL || strlen(access) > 3) {
            g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID,
                        "'%s.access' '%s' is not a combination of r, w and m", where, access);
            return FALSE;
        }
        out->access |= 1u << (at - "mrw");
    }
    return TRUE;
}

/* The size becomes part of a cgroup file name: 1 to 6 digits and a unit ("2MB", "1GB"). */
static gboolean page_size_is_valid(const char *size)
{
    gsize digits = strspn(size, OCI_NAME_DIGIT);
    return digits >= 1 && digits <= 6 && size[digits] != '\0' && strchr("KMG", size[digits]) &&
           strcmp(size + digits + 1, "B") == 0;
}

static gboolean parse_hugepage_limit(json_object *item, const char *where, gpointer elem,
                                     gpointer user_data, GError **error)
{
    static const char *const known[] = {"pageSize", "limit", NULL};
    OciHugepageLimit *h = elem;
    json_object *limit;
    (void)user_data;
    if (!oci_json_check_keys(item, where, known, error) ||
        !oci_json_get_string(item, "pageSize", where, &h->page_size, error) ||
        !oci_json_get(item, "limit", json_type_int, where, &limit, error))
        return FALSE;
    if (h->page_size == NULL || !page_size_is_valid(h->page_size) || limit == NULL) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID,
                    "'%s' needs a 'pageSize' like \"2MB\" and a 'limit'", where);
        return FALSE;
    }
    g_autofree char *limit_where = g_strdup_printf("%s.limit", where);
    return oci_json_uint64(limit, limit_where, &h->limit, error);
}

static gboolean parse_hugepage_limits(json_object *obj, OciResources *res, GError **error)
{
    return oci_json_parse_objects(obj, "hugepageLimits", "linux.resources", 16,
                                  sizeof(OciHugepageLimit), parse_hugepage_limit, NULL,
                                  (gpointer *)&res->hugepage_limits, &res->n_hugepage_limits,
                                  error);
}

static gboolean parse_device_rules(json_object *obj, OciResources *res, GError **error)
{
    g_clear_pointer(&res->device_rules, g_free);
    return oci_json_parse_objects(obj, "devices", "linux.resources", 256, sizeof(OciDeviceRule),
                                  parse_device_rule, NULL, (gpointer *)&res->device_rules,
                                  &res->n_device_rules, error);
}

gboolean oci_resources_from_json(json_object *obj, OciResources *res, GError **error)
{
    static const char *const known[] = {"memory",         "cpu", "pids", "unified", "devices",
                                        "hugepageLimits", NULL};
    return oci_json_check_keys(obj, "linux.resources", known, error) &&
           parse_memory(obj, res, error) && parse_cpu(obj, res, error) &&
           parse_pids(obj, res, error) && parse_unified(obj, res, error) &&
           parse_hugepage_limits(obj, res, error) && parse_device_rules(obj, res, error);
}
