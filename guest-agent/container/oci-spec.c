/* oci-spec.c: parses and validates an OCI runtime spec (config.json) into OciSpec. */
#include "oci-spec-private.h"

#include <sched.h>
#include <string.h>
#include <sys/mount.h>

#include "oci-json.h"
#include "oci-name.h"
#include "oci-seccomp.h"

static const struct {
    const char *name;
    int clone_flag;
} namespace_names[] = {
    {"pid", CLONE_NEWPID}, {"network", CLONE_NEWNET}, {"mount", CLONE_NEWNS},
    {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},     {"cgroup", CLONE_NEWCGROUP},
};

/* Mount options that are flags; everything else goes to the filesystem as data. */
static const struct {
    const char *name;
    unsigned long set;
    unsigned long clear;
} mount_flag_names[] = {
    {"ro", MS_RDONLY, 0},
    {"rw", 0, MS_RDONLY},
    {"nosuid", MS_NOSUID, 0},
    {"suid", 0, MS_NOSUID},
    {"nodev", MS_NODEV, 0},
    {"dev", 0, MS_NODEV},
    {"noexec", MS_NOEXEC, 0},
    {"exec", 0, MS_NOEXEC},
    {"sync", MS_SYNCHRONOUS, 0},
    {"async", 0, MS_SYNCHRONOUS},
    {"dirsync", MS_DIRSYNC, 0},
    {"mand", MS_MANDLOCK, 0},
    {"nomand", 0, MS_MANDLOCK},
    {"noatime", MS_NOATIME, 0},
    {"atime", 0, MS_NOATIME},
    {"nodiratime", MS_NODIRATIME, 0},
    {"diratime", 0, MS_NODIRATIME},
    {"relatime", MS_RELATIME, 0},
    {"norelatime", 0, MS_RELATIME},
    {"strictatime", MS_STRICTATIME, 0},
    {"nostrictatime", 0, MS_STRICTATIME},
};

static const struct {
    const char *name;
    unsigned long flags;
} propagation_names[] = {
    {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

OciSpec *oci_spec_ref(const OciSpec *spec)
{
    return g_rc_box_acquire((OciSpec *)spec);
}

/* ---- mounts ---- */

/* A filesystem option we pass on: a word, optionally with "=value" (no spaces, quotes or
 * other separators that could smuggle a second option into the mount data). */
static gboolean mount_option_is_plain(const char *opt)
{
    gsize key = strspn(opt, OCI_NAME_ALNUM "_");
    if (key == 0)
        return FALSE;
    return opt[key] == '\0' ||
           (opt[key] == '=' && oci_name_is(opt + key + 1, OCI_NAME_ALNUM "_.:/,+-", 0));
}

static gboolean apply_mount_option(OciMount *m, const char *opt, GString *data, const char *where,
                                   GError **error)
{
    for (gsize i = 0; i < G_N_ELEMENTS(mount_flag_names); i++) {
        if (strcmp(opt, mount_flag_names[i].name) == 0) {
            m->flags = (m->flags & ~mount_flag_names[i].clear) | mount_flag_names[i].set;
            m->clear_flags =
                (m->clear_flags & ~mount_flag_names[i].set) | mount_flag_names[i].clear;
            return TRUE;
        }
    }
    for (gsize i = 0; i < G_N_ELEMENTS(propagation_names); i++) {
        if (strcmp(opt, propagation_names[i].name) == 0) {
            m->propagation = propagation_names[i].flags;
            return TRUE;
        }
    }
    if (strcmp(opt, "bind") == 0 || strcmp(opt, "rbind") == 0) {
        m->bind = TRUE;
        m->recursive = opt[0] == 'r';
        return TRUE;
    }
    if (!mount_option_is_plain(opt) || g_str_has_prefix(opt, "idmap") ||
        strcmp(opt, "tmpcopyup") == 0 || g_str_has_prefix(opt, "rro") ||
        g_str_has_prefix(opt, "remount")) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_UNSUPPORTED,
                    "unsupported mount option '%s' in '%s'", opt, where);
        return FALSE;
    }
    if (data->len)
        g_string_append_c(data, ',');
    g_string_append(data, opt);
    return TRUE;
}

static gboolean parse_mount(json_object *item, const char *where, gpointer elem, gpointer user_data,
                            GError **error)
{
    static const char *const known[] = {"destination", "type", "source", "options", NULL};
    OciMount *m = elem;
    g_auto(GStrv) options = NULL;
    g_autoptr(GString) data = g_string_new(NULL);
    (void)user_data;

    if (!oci_json_check_keys(item, where, known, error) ||
        !oci_json_get_path(item, "destination", where, &m->destination, error) ||
        !oci_json_get_string(item, "type", where, &m->type, error) ||
        !oci_json_get_string(item, "source", where, &m->source, error) ||
        !oci_json_get_strv(item, "options", where, &options, error))
        return FALSE;
    if (m->destination == NULL) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID, "'%s.destination' is missing",
                    where);
        return FALSE;
    }
    for (char **o = options; o && *o; o++)
        if (!apply_mount_option(m, *o, data, where, error))
            return FALSE;
    if (m->type && strcmp(m->type, "bind") == 0)
        m->bind = TRUE;
    if (m->bind) {
        g_clear_pointer(&m->type, g_free);
        if (m->source == NULL || m->source[0] != '/') {
            g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID,
                        "'%s' is a bind mount and needs an absolute 'source'", where);
            return FALSE;
        }
        if (data->len) {
            g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_UNSUPPORTED,
                        "'%s': bind mounts take no filesystem options ('%s')", where, data->str);
            return FALSE;
        }
    } else if (m->type == NULL || !oci_name_is(m->type, OCI_NAME_LOWER OCI_NAME_DIGIT "_.", 1)) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID,
                    "'%s.type' is missing or not a filesystem type", where);
        return FALSE;
    } else if (strcmp(m->type, "cgroup") == 0) {
        /* The builder is cgroup v2 only. */
        g_free(m->type);
        m->type = g_strdup("cgroup2");
    }
    m->data = data->len ? g_strdup(data->str) : NULL;
    return TRUE;
}

/* ---- linux ---- */

static gboolean parse_namespace(json_object *item, const char *where, gpointer elem,
                                gpointer user_data, GError **error)
{
    static const char *const known[] = {"type", "path", NULL};
    OciNamespace *ns = elem;
    int *seen = user_data;
    g_autofree char *type = NULL;
    if (!oci_json_check_keys(item, where, known, error) ||
        !oci_json_get_string(item, "type", where, &type, error) ||
        !oci_json_get_path(item, "path", where, &ns->path, error))
        return FALSE;
    gsize k;
    for (k = 0; type && k < G_N_ELEMENTS(namespace_names); k++)
        if (strcmp(type, namespace_names[k].name) == 0)
            break;
    if (type == NULL || k == G_N_ELEMENTS(namespace_names)) {
        g_set_error(error, CONTAINER_ERROR,
                    type && (strcmp(type, "user") == 0 || strcmp(type, "time") == 0)
                        ? CONTAINER_ERROR_UNSUPPORTED
                        : CONTAINER_ERROR_INVALID,
                    "'%s.type' '%s' is not a supported namespace type", where, type ? type : "");
        return FALSE;
    }
    ns->clone_flag = namespace_names[k].clone_flag;
    if (*seen & ns->clone_flag) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID, "namespace '%s' listed twice",
                    type);
        return FALSE;
    }
    *seen |= ns->clone_flag;
    return TRUE;
}

static gboolean parse_namespaces(json_object *linux_obj, OciSpec *spec, GError **error)
{
    int seen = 0;
    if (!oci_json_parse_objects(linux_obj, "namespaces", "linux", G_N_ELEMENTS(namespace_names),
                                sizeof(OciNamespace), parse_namespace, &seen,
                                (gpointer *)&spec->namespaces, &spec->n_namespaces, error))
        return FALSE;
    for (gsize i = 0; i < spec->n_namespaces; i++)
        if (spec->namespaces[i].path == NULL)
            spec->clone_flags |= spec->namespaces[i].clone_flag;
    /* The builder's mount tree rests on it (pivot_root); a spec that shares the agent's mount
     * namespace is refused. Without a pid namespace the container shares the agent's (the pod
     * VM's, for a hostPID pod). */
    if (!(spec->clone_flags & CLONE_NEWNS)) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_UNSUPPORTED,
                    "'linux.namespaces' must create a new mount namespace");
        return FALSE;
    }
    return TRUE;
}

static gboolean parse_paths(json_object *linux_obj, const char *key, char ***out, GError **error)
{
    if (!oci_json_get_strv(linux_obj, key, "linux", out, error))
        return FALSE;
    if (*out == NULL)
        *out = g_new0(char *, 1);
    g_autofree char *what = g_strdup_printf("'linux.%s' entry", key);
    for (char **p = *out; *p; p++)
        if (!oci_path_check(*p, what, error))
            return FALSE;
    return TRUE;
}

static gboolean parse_sysctl(json_object *linux_obj, OciSpec *spec, GError **error)
{
    json_object *obj;
    if (!oci_json_get(linux_obj, "sysctl", json_type_object, "linux", &obj, error))
        return FALSE;
    if (obj == NULL)
        return TRUE;
    gsize n = json_object_object_length(obj);
    if (n > OCI_JSON_MAX_ITEMS) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID, "'linux.sysctl' is too large");
        return FALSE;
    }
    spec->sysctls = g_new0(OciSysctl, n);
    json_object_object_foreach(obj, key, value)
    {
        if (!json_object_is_type(value, json_type_string) ||
            !oci_name_is_joined(key, OCI_NAME_ALNUM "_-", '.') ||
            json_object_get_string_len(value) > OCI_JSON_MAX_PATH) {
            g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID,
                        "'linux.sysctl' entry '%s' is not a dotted name with a string value", key);
            return FALSE;
        }
        OciSysctl *s = &spec->sysctls[spec->n_sysctls++];
        s->key = g_strdup(key);
        s->value = g_strdup(json_object_get_string(value));
    }
    return TRUE;
}

static gboolean parse_device(json_object *item, const char *where, gpointer elem,
                             gpointer user_data, GError **error)
{
    static const char *const known[] = {"type",     "path", "major", "minor",
                                        "fileMode", "uid",  "gid",   NULL};
    OciDevice *d = elem;
    g_autofree char *type = NULL;
    gint64 major = -1, minor = -1, mode = 0666, uid = 0, gid = 0;
    (void)user_data;
    if (!oci_json_check_keys(item, where, known, error) ||
        !oci_json_get_string(item, "type", where, &type, error) ||
        !oci_json_get_path(item, "path", where, &d->path, error) ||
        !oci_json_get_int64(item, "major", where, 0, 0xfff, &major, error) ||
        !oci_json_get_int64(item, "minor", where, 0, 0xfffff, &minor, error) ||
        !oci_json_get_int64(item, "fileMode", where, 0, 07777, &mode, error) ||
        !oci_json_get_int64(item, "uid", where, 0, G_MAXUINT32 - 1, &uid, error) ||
        !oci_json_get_int64(item, "gid", where, 0, G_MAXUINT32 - 1, &gid, error))
        return FALSE;
    if (type == NULL || strlen(type) != 1 || strchr("cbup", type[0]) == NULL || d->path == NULL ||
        (type[0] != 'p' && (major < 0 || minor < 0))) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID,
                    "'%s' needs 'type' (c, b, u or p), 'path', and 'major'/'minor' for c and b",
                    where);
        return FALSE;
    }
    d->type = type[0] == 'u' ? 'c' : type[0];
    d->major = (guint32)MAX(major, 0);
    d->minor = (guint32)MAX(minor, 0);
    d->mode = (mode_t)mode;
    d->uid = (uid_t)uid;
    d->gid = (gid_t)gid;
    return TRUE;
}

static gboolean parse_propagation(json_object *linux_obj, OciSpec *spec, GError **error)
{
    g_autofree char *name = NULL;
    spec->rootfs_propagation = MS_SLAVE | MS_REC;
    if (!oci_json_get_string(linux_obj, "rootfsPropagation", "linux", &name, error))
        return FALSE;
    if (name == NULL || name[0] == '\0')
        return TRUE;
    for (gsize i = 0; i < G_N_ELEMENTS(propagation_names); i++) {
        if (strcmp(name, propagation_names[i].name) == 0) {
            spec->rootfs_propagation = propagation_names[i].flags | MS_REC;
            return TRUE;
        }
    }
    g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID,
                "'linux.rootfsPropagation' '%s' is not a propagation mode", name);
    return FALSE;
}

static gboolean parse_linux(json_object *root, OciSpec *spec, GError **error)
{
    /* cgroupsPath is accepted and not used: the caller of container_create places the cgroup. */
    static const char *const known[] = {
        "namespaces", "devices",     "cgroupsPath",   "resources", "rootfsPropagation",
        "seccomp",    "maskedPaths", "readonlyPaths", "sysctl",    NULL};
    json_object *linux_obj, *resources, *seccomp;
    if (!oci_json_get(root, "linux", json_type_object, "spec", &linux_obj, error))
        return FALSE;
    if (linux_obj == NULL) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID, "'linux' is missing");
        return FALSE;
    }
    if (!oci_json_check_keys(linux_obj, "linux", known, error) ||
        !parse_namespaces(linux_obj, spec, error) ||
        !oci_json_parse_objects(linux_obj, "devices", "linux", OCI_JSON_MAX_ITEMS,
                                sizeof(OciDevice), parse_device, NULL, (gpointer *)&spec->devices,
                                &spec->n_devices, error) ||
        !parse_propagation(linux_obj, spec, error) ||
        !parse_paths(linux_obj, "maskedPaths", &spec->masked_paths, error) ||
        !parse_paths(linux_obj, "readonlyPaths", &spec->readonly_paths, error) ||
        !parse_sysctl(linux_obj, spec, error) ||
        !oci_json_get(linux_obj, "resources", json_type_object, "linux", &resources, error) ||
        !oci_json_get(linux_obj, "seccomp", json_type_object, "linux", &seccomp, error))
        return FALSE;
    if (resources && !oci_resources_from_json(resources, &spec->resources, error))
        return FALSE;
    if (seccomp && !oci_seccomp_compile(seccomp, &spec->seccomp_filter, &spec->seccomp_len,
                                        &spec->seccomp_flags, error))
        return FALSE;
    return TRUE;
}

static gboolean parse_root(json_object *root, OciSpec *spec, GError **error)
{
    static const char *const known[] = {"path", "readonly", NULL};
    json_object *obj;
    if (!oci_json_get(root, "root", json_type_object, "spec", &obj, error))
        return FALSE;
    if (obj == NULL)
        return TRUE;
    return oci_json_check_keys(obj, "root", known, error) &&
           oci_json_get_string(obj, "path", "root", &spec->root_path, error) &&
           oci_json_get_bool(obj, "readonly", "root", &spec->root_readonly, error);
}

static gboolean parse_names(json_object *root, OciSpec *spec, GError **error)
{
    if (!oci_json_get_string(root, "hostname", "spec", &spec->hostname, error) ||
        !oci_json_get_string(root, "domainname", "spec", &spec->domainname, error))
        return FALSE;
    if ((spec->hostname && strlen(spec->hostname) > 64) ||
        (spec->domainname && strlen(spec->domainname) > 64)) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID,
                    "'hostname' and 'domainname' are limited to 64 bytes");
        return FALSE;
    }
    return TRUE;
}

static gboolean parse_version(json_object *root, GError **error)
{
    g_autofree char *version = NULL;
    if (!oci_json_get_string(root, "ociVersion", "spec", &version, error))
        return FALSE;
    if (version == NULL || !g_str_has_prefix(version, "1.")) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_UNSUPPORTED,
                    "'ociVersion' '%s' is not a supported version (1.x)", version ? version : "");
        return FALSE;
    }
    return TRUE;
}

static void spec_clear(OciSpec *spec)
{
    g_free(spec->root_path);
    g_free(spec->hostname);
    g_free(spec->domainname);
    oci_process_free(spec->process);
    for (gsize i = 0; i < spec->n_mounts; i++) {
        g_free(spec->mounts[i].destination);
        g_free(spec->mounts[i].type);
        g_free(spec->mounts[i].source);
        g_free(spec->mounts[i].data);
    }
    g_free(spec->mounts);
    for (gsize i = 0; i < spec->n_namespaces; i++)
        g_free(spec->namespaces[i].path);
    g_free(spec->namespaces);
    oci_resources_clear(&spec->resources);
    g_strfreev(spec->masked_paths);
    g_strfreev(spec->readonly_paths);
    for (gsize i = 0; i < spec->n_sysctls; i++) {
        g_free(spec->sysctls[i].key);
        g_free(spec->sysctls[i].value);
    }
    g_free(spec->sysctls);
    for (gsize i = 0; i < spec->n_devices; i++)
        g_free(spec->devices[i].path);
    g_free(spec->devices);
    g_free(spec->seccomp_filter);
}

void oci_spec_free(OciSpec *spec)
{
    if (spec)
        g_rc_box_release_full(spec, (GDestroyNotify)spec_clear);
}

OciSpec *oci_spec_parse(const char *json, gsize len, GError **error)
{
    static const char *const known[] = {"ociVersion", "process",     "root",
                                        "hostname",   "domainname",  "mounts",
                                        "linux",      "annotations", NULL};
    g_autoptr(json_object) root = oci_json_parse(json, len, "OCI spec", error);
    if (root == NULL)
        return NULL;

    g_autoptr(OciSpec) spec = g_rc_box_new0(OciSpec);
    oci_resources_init(&spec->resources);
    json_object *proc;
    if (!oci_json_check_keys(root, "spec", known, error) || !parse_version(root, error) ||
        !parse_root(root, spec, error) || !parse_names(root, spec, error) ||
        !oci_json_get(root, "process", json_type_object, "spec", &proc, error) ||
        !oci_json_parse_objects(root, "mounts", "spec", OCI_JSON_MAX_ITEMS, sizeof(OciMount),
                                parse_mount, NULL, (gpointer *)&spec->mounts, &spec->n_mounts,
                                error) ||
        !parse_linux(root, spec, error))
        return NULL;
    if (proc == NULL) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID, "'process' is missing");
        return NULL;
    }
    spec->process = oci_process_from_json(proc, error);
    if (spec->process == NULL)
        return NULL;
    return g_steal_pointer(&spec);
}

const OciProcess *oci_spec_get_process(const OciSpec *spec)
{
    return spec->process;
}
