/* config.json handling. The spec comes from containerd (trusted), but it was written for runc on
 * the host: host paths in it mean nothing inside the VM, so they are checked and rewritten. */
#include "shim-spec.h"

#include <string.h>
#include <sys/stat.h>

#include "shim-error.h"

#define MAX_SPEC_BYTES (1 << 20) /* the agent's limit for config_json */

static const char *const sandbox_id_keys[] = {
    "io.kubernetes.cri.sandbox-id",
    "io.kubernetes.cri-o.SandboxID",
    "io.kubernetes.sandbox.id",
};

json_object *shim_spec_load(const char *bundle, GError **error)
{
    g_autofree char *path = g_build_filename(bundle, "config.json", NULL);
    g_autofree char *text = NULL;
    gsize len;

    if (!g_file_get_contents(path, &text, &len, error)) {
        g_prefix_error(error, "bundle '%s': ", bundle);
        return NULL;
    }
    if (len > MAX_SPEC_BYTES) {
        g_set_error(error, SHIM_ERROR, SHIM_ERROR_INVALID,
                    "'%s': %zu bytes, more than the %d allowed", path, len, MAX_SPEC_BYTES);
        return NULL;
    }
    json_tokener *tok = json_tokener_new();
    json_object *spec = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    json_tokener_free(tok);
    if (!spec || jerr != json_tokener_success || !json_object_is_type(spec, json_type_object)) {
        g_set_error(error, SHIM_ERROR, SHIM_ERROR_INVALID, "'%s' is not a JSON object: %s", path,
                    jerr != json_tokener_success ? json_tokener_error_desc(jerr) : "wrong type");
        json_object_put(spec);
        return NULL;
    }
    return spec;
}

const char *shim_spec_annotation(json_object *spec, const char *key)
{
    json_object *annotations, *value;
    if (json_object_object_get_ex(spec, "annotations", &annotations) &&
        json_object_is_type(annotations, json_type_object) &&
        json_object_object_get_ex(annotations, key, &value) &&
        json_object_is_type(value, json_type_string) && json_object_get_string_len(value) > 0)
        return json_object_get_string(value);
    return NULL;
}

const char *shim_spec_group(json_object *spec, const char *id)
{
    for (gsize i = 0; i < G_N_ELEMENTS(sandbox_id_keys); i++) {
        const char *group = shim_spec_annotation(spec, sandbox_id_keys[i]);
        if (group)
            return group;
    }
    return id;
}

void shim_spec_bind_free(ShimSpecBind *bind)
{
    g_free(bind->source);
    g_free(bind->target);
    g_free(bind);
}

static gboolean has_option(json_object *mount, const char *name)
{
    json_object *options;
    if (!json_object_object_get_ex(mount, "options", &options) ||
        !json_object_is_type(options, json_type_array))
        return FALSE;
    for (size_t i = 0; i < json_object_array_length(options); i++)
        if (g_strcmp0(json_object_get_string(json_object_array_get_idx(options, i)), name) == 0)
            return TRUE;
    return FALSE;
}

static const char *string_member(json_object *obj, const char *key)
{
    json_object *value;
    if (!json_object_object_get_ex(obj, key, &value) ||
        !json_object_is_type(value, json_type_string))
        return NULL;
    return json_object_get_string(value);
}

/* Returns FALSE with @error for a mount the container cannot run without; sets *@out_keep to
 * FALSE for one that is dropped. */
static gboolean prepare_mount(json_object *mount, gsize index, const char *host_dir,
                              const char *guest_dir, GPtrArray *out_binds, gboolean *out_keep,
                              GError **error)
{
    const char *type = string_member(mount, "type");
    const char *source = string_member(mount, "source");
    const char *dest = string_member(mount, "destination");
    struct stat st;

    *out_keep = TRUE;
    if (!dest) {
        g_set_error(error, SHIM_ERROR, SHIM_ERROR_INVALID, "mounts[%zu] has no destination", index);
        return FALSE;
    }
    if (g_strcmp0(type, "bind") != 0 && !has_option(mount, "bind") && !has_option(mount, "rbind"))
        return TRUE; /* proc, tmpfs, sysfs...: made inside the guest */
    if (!source || !g_path_is_absolute(source) || stat(source, &st) < 0) {
        g_set_error(error, SHIM_ERROR, SHIM_ERROR_INVALID,
                    "mount '%s' -> '%s': the source is not an existing absolute host path",
                    source ? source : "", dest);
        return FALSE;
    }
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
        g_warning("mount '%s' -> '%s' skipped: only files and directories can be shared with "
                  "the pod VM",
                  source, dest);
        *out_keep = FALSE;
        return TRUE;
    }
    ShimSpecBind *bind = g_new0(ShimSpecBind, 1);
    bind->source = g_strdup(source);
    bind->target = g_strdup_printf("%s/mounts/%zu", host_dir, index);
    bind->readonly = has_option(mount, "ro");
    g_ptr_array_add(out_binds, bind);
    g_autofree char *guest = g_strdup_printf("%s/mounts/%zu", guest_dir, index);
    json_object_object_add(mount, "source", json_object_new_string(guest));
    return TRUE;
}

static gboolean prepare_mounts(json_object *spec, const char *host_dir, const char *guest_dir,
                               GPtrArray *out_binds, GError **error)
{
    json_object *mounts;
    if (!json_object_object_get_ex(spec, "mounts", &mounts))
        return TRUE;
    if (!json_object_is_type(mounts, json_type_array)) {
        g_set_error_literal(error, SHIM_ERROR, SHIM_ERROR_INVALID,
                            "config.json: 'mounts' is not an array");
        return FALSE;
    }
    json_object *kept = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(mounts); i++) {
        json_object *mount = json_object_array_get_idx(mounts, i);
        gboolean keep;
        if (!json_object_is_type(mount, json_type_object)) {
            g_set_error(error, SHIM_ERROR, SHIM_ERROR_INVALID,
                        "config.json: mounts[%zu] is not an object", i);
            json_object_put(kept);
            return FALSE;
        }
        if (!prepare_mount(mount, i, host_dir, guest_dir, out_binds, &keep, error)) {
            g_prefix_error(error, "config.json: ");
            json_object_put(kept);
            return FALSE;
        }
        if (keep)
            json_object_array_add(kept, json_object_get(mount));
    }
    json_object_object_add(spec, "mounts", kept);
    return TRUE;
}

static const char *ns_file(const char *type)
{
    static const char *const map[][2] = {{"pid", "pid"},      {"network", "net"}, {"mount", "mnt"},
                                         {"ipc", "ipc"},      {"uts", "uts"},     {"user", "user"},
                                         {"cgroup", "cgroup"}};
    for (gsize i = 0; i < G_N_ELEMENTS(map); i++)
        if (g_strcmp0(type, map[i][0]) == 0)
            return map[i][1];
    return NULL;
}

static json_object *linux_namespaces(json_object *spec)
{
    json_object *linux_, *namespaces;
    if (!json_object_object_get_ex(spec, "linux", &linux_) ||
        !json_object_object_get_ex(linux_, "namespaces", &namespaces) ||
        !json_object_is_type(namespaces, json_type_array))
        return NULL;
    return namespaces;
}

const char *shim_spec_netns_path(json_object *spec)
{
    json_object *namespaces = linux_namespaces(spec);
    for (size_t i = 0; namespaces && i < json_object_array_length(namespaces); i++) {
        json_object *ns = json_object_array_get_idx(namespaces, i);
        if (g_strcmp0(string_member(ns, "type"), "network") == 0)
            return string_member(ns, "path");
    }
    return NULL;
}

const char *shim_spec_cgroups_path(json_object *spec)
{
    json_object *linux_;
    return json_object_object_get_ex(spec, "linux", &linux_) ? string_member(linux_, "cgroupsPath")
                                                             : NULL;
}

/* Whether namespace entry @ns stays, and with which path. Paths name host namespaces: a later
 * container's point at the pod's first one in the guest; the first container's network (the
 * one CNI filled) is the pod VM's own, whose NICs mirror it, unless the agent runs on the host. */
static gboolean prepare_namespace(json_object *ns, guint32 sandbox_pid, gboolean agent_on_host)
{
    const char *type = string_member(ns, "type");
    const char *file = ns_file(type);
    if (!string_member(ns, "path"))
        return TRUE;
    if (sandbox_pid && file) {
        g_autofree char *path = g_strdup_printf("/proc/%u/ns/%s", sandbox_pid, file);
        json_object_object_add(ns, "path", json_object_new_string(path));
        return TRUE;
    }
    if (g_strcmp0(type, "network") == 0)
        return agent_on_host;
    json_object_object_del(ns, "path");
    return TRUE;
}

static gboolean prepare_namespaces(json_object *spec, guint32 sandbox_pid, gboolean agent_on_host,
                                   GError **error)
{
    json_object *namespaces = linux_namespaces(spec);
    gboolean network = FALSE;
    if (!namespaces)
        return TRUE;
    json_object *kept = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(namespaces); i++) {
        json_object *ns = json_object_array_get_idx(namespaces, i);
        if (!json_object_is_type(ns, json_type_object))
            continue;
        network |= g_strcmp0(string_member(ns, "type"), "network") == 0;
        if (prepare_namespace(ns, sandbox_pid, agent_on_host))
            json_object_array_add(kept, json_object_get(ns));
    }
    json_object *linux_;
    json_object_object_get_ex(spec, "linux", &linux_);
    json_object_object_add(linux_, "namespaces", kept);
    if (!network) {
        g_set_error_literal(error, SHIM_ERROR, SHIM_ERROR_INVALID,
                            "host network is not supported by secure containers: every pod runs "
                            "in its own VM, with a network of its own (config.json lists no "
                            "network namespace)");
        return FALSE;
    }
    return TRUE;
}

gboolean shim_spec_prepare(json_object *spec, const char *host_dir, const char *guest_dir,
                           guint32 sandbox_pid, gboolean agent_on_host, GPtrArray *out_binds,
                           GError **error)
{
    if (!prepare_namespaces(spec, sandbox_pid, agent_on_host, error) ||
        !prepare_mounts(spec, host_dir, guest_dir, out_binds, error))
        return FALSE;
    if (json_object_object_get_ex(spec, "hooks", NULL)) {
        g_warning("config.json: hooks run host programs, which cannot reach the pod VM; "
                  "they are ignored");
        json_object_object_del(spec, "hooks");
    }
    return TRUE;
}
