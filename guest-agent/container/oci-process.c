/* oci-process.c: parses and validates an OCI "process" object (the spec's, or exec's). */
#include "oci-spec-private.h"

#include <limits.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/resource.h>

#include "oci-json.h"

static const char *const capability_names[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};
G_STATIC_ASSERT(G_N_ELEMENTS(capability_names) == CAP_LAST_CAP + 1);

static const struct {
    const char *name;
    int resource;
} rlimit_names[] = {
    {"RLIMIT_CPU", RLIMIT_CPU},           {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_DATA", RLIMIT_DATA},         {"RLIMIT_STACK", RLIMIT_STACK},
    {"RLIMIT_CORE", RLIMIT_CORE},         {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},   {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},       {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},     {"RLIMIT_RTTIME", RLIMIT_RTTIME},
};

static gboolean parse_capability_set(json_object *caps, const char *key, guint64 *out,
                                     GError **error)
{
    g_auto(GStrv) names = NULL;
    if (!oci_json_get_strv(caps, key, "process.capabilities", &names, error))
        return FALSE;
    *out = 0;
    for (char **n = names; n && *n; n++) {
        gsize i;
        for (i = 0; i < G_N_ELEMENTS(capability_names); i++)
            if (g_ascii_strcasecmp(*n, capability_names[i]) == 0)
                break;
        if (i == G_N_ELEMENTS(capability_names)) {
            g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID,
                        "unknown capability '%s' in 'process.capabilities.%s'", *n, key);
            return FALSE;
        }
        *out |= G_GUINT64_CONSTANT(1) << i;
    }
    return TRUE;
}

/* The kernel raises an ambient capability only when it is both permitted and inheritable.
 * Specs made for runc often list ambient capabilities with an empty inheritable set; like runc,
 * the child skips those instead of failing. Said here once, where logging is allowed. */
static void log_unraisable_ambient(const OciCapabilities *caps)
{
    guint64 unraisable = caps->ambient & ~(caps->permitted & caps->inheritable);
    for (gsize cap = 0; cap < G_N_ELEMENTS(capability_names); cap++)
        if (unraisable & (G_GUINT64_CONSTANT(1) << cap))
            g_debug("ambient capability %s is not both permitted and inheritable: skipped",
                    capability_names[cap]);
}

static gboolean parse_capabilities(json_object *proc, OciProcess *p, GError **error)
{
    static const char *const known[] = {"bounding",    "effective", "permitted",
                                        "inheritable", "ambient",   NULL};
    json_object *caps;
    if (!oci_json_get(proc, "capabilities", json_type_object, "process", &caps, error))
        return FALSE;
    if (caps == NULL)
        return TRUE;
    p->has_capabilities = TRUE;
    if (!oci_json_check_keys(caps, "process.capabilities", known, error) ||
        !parse_capability_set(caps, "bounding", &p->caps.bounding, error) ||
        !parse_capability_set(caps, "effective", &p->caps.effective, error) ||
        !parse_capability_set(caps, "permitted", &p->caps.permitted, error) ||
        !parse_capability_set(caps, "inheritable", &p->caps.inheritable, error) ||
        !parse_capability_set(caps, "ambient", &p->caps.ambient, error))
        return FALSE;
    log_unraisable_ambient(&p->caps);
    return TRUE;
}

static gboolean parse_rlimit(json_object *item, const char *where, gpointer elem,
                             gpointer user_data, GError **error)
{
    static const char *const known[] = {"type", "soft", "hard", NULL};
    OciRlimit *r = elem;
    g_autofree char *type = NULL;
    json_object *soft, *hard;
    (void)user_data;
    if (!oci_json_check_keys(item, where, known, error) ||
        !oci_json_get_string(item, "type", where, &type, error) ||
        !oci_json_get(item, "soft", json_type_int, where, &soft, error) ||
        !oci_json_get(item, "hard", json_type_int, where, &hard, error))
        return FALSE;
    if (type == NULL || soft == NULL || hard == NULL) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID,
                    "'%s' needs 'type', 'soft' and 'hard'", where);
        return FALSE;
    }
    gsize k;
    for (k = 0; k < G_N_ELEMENTS(rlimit_names); k++)
        if (strcmp(type, rlimit_names[k].name) == 0)
            break;
    if (k == G_N_ELEMENTS(rlimit_names)) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID,
                    "unknown rlimit type '%s' in '%s'", type, where);
        return FALSE;
    }
    r->resource = rlimit_names[k].resource;
    g_autofree char *soft_where = g_strdup_printf("%s.soft", where);
    g_autofree char *hard_where = g_strdup_printf("%s.hard", where);
    if (!oci_json_uint64(soft, soft_where, &r->soft, error) ||
        !oci_json_uint64(hard, hard_where, &r->hard, error))
        return FALSE;
    if (r->soft > r->hard) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID,
                    "'%s': soft limit above hard limit", where);
        return FALSE;
    }
    return TRUE;
}

static gboolean parse_user(json_object *proc, OciProcess *p, GError **error)
{
    static const char *const known[] = {"uid", "gid", "umask", "additionalGids", NULL};
    json_object *user, *gids;
    gint64 uid = 0, gid = 0, umask = -1;
    if (!oci_json_get(proc, "user", json_type_object, "process", &user, error))
        return FALSE;
    if (user == NULL) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID, "'process.user' is missing");
        return FALSE;
    }
    if (!oci_json_check_keys(user, "process.user", known, error) ||
        !oci_json_get_int64(user, "uid", "process.user", 0, G_MAXUINT32 - 1, &uid, error) ||
        !oci_json_get_int64(user, "gid", "process.user", 0, G_MAXUINT32 - 1, &gid, error) ||
        !oci_json_get_int64(user, "umask", "process.user", 0, 0777, &umask, error) ||
        !oci_json_get(user, "additionalGids", json_type_array, "process.user", &gids, error))
        return FALSE;
    p->uid = (uid_t)uid;
    p->gid = (gid_t)gid;
    p->has_umask = umask >= 0;
    p->umask = umask >= 0 ? (mode_t)umask : 0;
    if (gids == NULL)
        return TRUE;
    gsize n = json_object_array_length(gids);
    if (n > NGROUPS_MAX) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID,
                    "'process.user.additionalGids' has %" G_GSIZE_FORMAT " entries, more than %d",
                    n, NGROUPS_MAX);
        return FALSE;
    }
    p->additional_gids = g_new0(gid_t, n);
    for (gsize i = 0; i < n; i++) {
        guint64 v;
        if (!oci_json_uint64(json_object_array_get_idx(gids, i), "process.user.additionalGids[]",
                             &v, error))
            return FALSE;
        if (v >= G_MAXUINT32) {
            g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID,
                        "'process.user.additionalGids' entry %" G_GUINT64_FORMAT " is out of range",
                        v);
            return FALSE;
        }
        p->additional_gids[p->n_additional_gids++] = (gid_t)v;
    }
    return TRUE;
}

static gboolean parse_console_size(json_object *proc, OciProcess *p, GError **error)
{
    static const char *const known[] = {"height", "width", NULL};
    json_object *size;
    gint64 height = 0, width = 0;
    if (!oci_json_get(proc, "consoleSize", json_type_object, "process", &size, error))
        return FALSE;
    if (size == NULL)
        return TRUE;
    if (!oci_json_check_keys(size, "process.consoleSize", known, error) ||
        !oci_json_get_int64(size, "height", "process.consoleSize", 0, G_MAXUINT16, &height,
                            error) ||
        !oci_json_get_int64(size, "width", "process.consoleSize", 0, G_MAXUINT16, &width, error))
        return FALSE;
    p->console_rows = (guint16)height;
    p->console_cols = (guint16)width;
    return TRUE;
}

static gboolean parse_env(json_object *proc, OciProcess *p, GError **error)
{
    if (!oci_json_get_strv(proc, "env", "process", &p->env, error))
        return FALSE;
    if (p->env == NULL)
        p->env = g_new0(char *, 1);
    for (char **e = p->env; *e; e++) {
        if (strchr(*e, '=') == NULL || **e == '=') {
            g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID,
                        "'process.env' entry '%s' is not NAME=VALUE", *e);
            return FALSE;
        }
    }
    return TRUE;
}

OciProcess *oci_process_from_json(json_object *proc, GError **error)
{
    static const char *const known[] = {
        "terminal", "consoleSize",     "user",        "args", "env", "cwd", "capabilities",
        "rlimits",  "noNewPrivileges", "oomScoreAdj", NULL};
    g_autoptr(OciProcess) p = g_new0(OciProcess, 1);
    gint64 oom = G_MININT64;

    if (!oci_json_check_keys(proc, "process", known, error) ||
        !oci_json_get_bool(proc, "terminal", "process", &p->terminal, error) ||
        !parse_console_size(proc, p, error) || !parse_user(proc, p, error) ||
        !oci_json_get_strv(proc, "args", "process", &p->args, error) ||
        !parse_env(proc, p, error) || !oci_json_get_path(proc, "cwd", "process", &p->cwd, error) ||
        !parse_capabilities(proc, p, error) ||
        !oci_json_get_bool(proc, "noNewPrivileges", "process", &p->no_new_privileges, error) ||
        !oci_json_get_int64(proc, "oomScoreAdj", "process", -1000, 1000, &oom, error) ||
        !oci_json_parse_objects(proc, "rlimits", "process", G_N_ELEMENTS(rlimit_names),
                                sizeof(OciRlimit), parse_rlimit, NULL, (gpointer *)&p->rlimits,
                                &p->n_rlimits, error))
        return NULL;
    if (p->args == NULL || p->args[0] == NULL || p->args[0][0] == '\0') {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID,
                    "'process.args' must name a program");
        return NULL;
    }
    if (p->cwd == NULL) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID, "'process.cwd' is missing");
        return NULL;
    }
    p->has_oom_score_adj = oom != G_MININT64;
    p->oom_score_adj = p->has_oom_score_adj ? (int)oom : 0;
    return g_steal_pointer(&p);
}

OciProcess *oci_process_parse(const char *json, gsize len, GError **error)
{
    g_autoptr(json_object) root = oci_json_parse(json, len, "process JSON", error);
    return root ? oci_process_from_json(root, error) : NULL;
}

void oci_process_free(OciProcess *p)
{
    if (p == NULL)
        return;
    g_free(p->additional_gids);
    g_strfreev(p->args);
    g_strfreev(p->env);
    g_free(p->cwd);
    g_free(p->rlimits);
    g_free(p);
}

gboolean oci_process_get_terminal(const OciProcess *process)
{
    return process->terminal;
}
