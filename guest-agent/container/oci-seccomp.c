/* oci-seccomp.c: compiles an OCI linux.seccomp object into a BPF program with libseccomp. */
#include "oci-seccomp.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common-fd.h"
#include "oci-json.h"

#define SECCOMP_MAX_ARGS 6

typedef void *ScmpFilterCtx;
static void scmp_release(ScmpFilterCtx ctx)
{
    seccomp_release(ctx);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ScmpFilterCtx, scmp_release)

static gboolean parse_action(const char *name, guint64 errno_ret, gboolean has_errno,
                             const char *where, guint32 *out, GError **error)
{
    if (has_errno && errno_ret > 4095) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID,
                    "'%s' errno %" G_GUINT64_FORMAT " is out of range", where, errno_ret);
        return FALSE;
    }
    if (strcmp(name, "SCMP_ACT_ALLOW") == 0)
        *out = SCMP_ACT_ALLOW;
    else if (strcmp(name, "SCMP_ACT_ERRNO") == 0)
        *out = SCMP_ACT_ERRNO(has_errno ? (guint32)errno_ret : EPERM);
    else if (strcmp(name, "SCMP_ACT_KILL") == 0 || strcmp(name, "SCMP_ACT_KILL_THREAD") == 0)
        *out = SCMP_ACT_KILL_THREAD;
    else if (strcmp(name, "SCMP_ACT_KILL_PROCESS") == 0)
        *out = SCMP_ACT_KILL_PROCESS;
    else if (strcmp(name, "SCMP_ACT_TRAP") == 0)
        *out = SCMP_ACT_TRAP;
    else if (strcmp(name, "SCMP_ACT_TRACE") == 0)
        *out = SCMP_ACT_TRACE(has_errno ? (guint32)errno_ret : EPERM);
    else if (strcmp(name, "SCMP_ACT_LOG") == 0)
        *out = SCMP_ACT_LOG;
    else {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_UNSUPPORTED,
                    "'%s' action '%s' is not supported", where, name);
        return FALSE;
    }
    return TRUE;
}

static gboolean parse_op(const char *name, const char *where, enum scmp_compare *out,
                         GError **error)
{
    static const struct {
        const char *name;
        enum scmp_compare op;
    } ops[] = {
        {"SCMP_CMP_NE", SCMP_CMP_NE},
        {"SCMP_CMP_LT", SCMP_CMP_LT},
        {"SCMP_CMP_LE", SCMP_CMP_LE},
        {"SCMP_CMP_EQ", SCMP_CMP_EQ},
        {"SCMP_CMP_GE", SCMP_CMP_GE},
        {"SCMP_CMP_GT", SCMP_CMP_GT},
        {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(ops); i++) {
        if (strcmp(name, ops[i].name) == 0) {
            *out = ops[i].op;
            return TRUE;
        }
    }
    g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID, "'%s' op '%s' is not an operator",
                where, name);
    return FALSE;
}

static gboolean parse_arg(json_object *item, const char *where, gpointer elem, gpointer user_data,
                          GError **error)
{
    static const char *const known[] = {"index", "value", "valueTwo", "op", NULL};
    struct scmp_arg_cmp *out = elem;
    gint64 index = -1;
    g_autofree char *op = NULL;
    json_object *value, *value_two;
    guint64 v1 = 0, v2 = 0;
    enum scmp_compare cmp;
    (void)user_data;
    if (!oci_json_check_keys(item, where, known, error) ||
        !oci_json_get_int64(item, "index", where, 0, SECCOMP_MAX_ARGS - 1, &index, error) ||
        !oci_json_get_string(item, "op", where, &op, error) ||
        !oci_json_get(item, "value", json_type_int, where, &value, error) ||
        !oci_json_get(item, "valueTwo", json_type_int, where, &value_two, error))
        return FALSE;
    if (index < 0 || op == NULL || value == NULL) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID,
                    "'%s' needs 'index', 'value' and 'op'", where);
        return FALSE;
    }
    if (!oci_json_uint64(value, where, &v1, error) ||
        (value_two && !oci_json_uint64(value_two, where, &v2, error)) ||
        !parse_op(op, where, &cmp, error))
        return FALSE;
    out->arg = (unsigned int)index;
    out->op = cmp;
    out->datum_a = v1;
    out->datum_b = v2;
    return TRUE;
}

static gboolean add_rule(scmp_filter_ctx ctx, guint32 action, int nr, const char *name,
                         struct scmp_arg_cmp *args, gsize n_args, GError **error)
{
    /* libseccomp takes one comparison per argument in a rule; several on the same argument mean
     * "any of them" (as other runtimes read it), so each gets its own rule. */
    gboolean same_arg = FALSE;
    for (gsize i = 0; i < n_args; i++)
        for (gsize j = i + 1; j < n_args; j++)
            same_arg |= args[i].arg == args[j].arg;

    int rc = 0;
    if (same_arg) {
        for (gsize i = 0; i < n_args && rc == 0; i++)
            rc = seccomp_rule_add_array(ctx, action, nr, 1, &args[i]);
    } else {
        rc = seccomp_rule_add_array(ctx, action, nr, (unsigned int)n_args, args);
    }
    if (rc < 0) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID, "seccomp rule for '%s': %s",
                    name, g_strerror(-rc));
        return FALSE;
    }
    return TRUE;
}

typedef struct {
    scmp_filter_ctx ctx;
    guint32 default_action;
} SyscallRules;

static gboolean parse_syscall(json_object *item, const char *where, gpointer elem,
                              gpointer user_data, GError **error)
{
    static const char *const known[] = {"names", "action", "errnoRet", "args", NULL};
    SyscallRules *rules = user_data;
    g_auto(GStrv) names = NULL;
    g_autofree char *action_name = NULL;
    g_autofree struct scmp_arg_cmp *cmps = NULL;
    gsize n_args = 0;
    gint64 errno_ret = -1;
    guint32 action;
    (void)elem;

    if (!oci_json_check_keys(item, where, known, error) ||
        !oci_json_get_strv(item, "names", where, &names, error) ||
        !oci_json_get_string(item, "action", where, &action_name, error) ||
        !oci_json_get_int64(item, "errnoRet", where, 0, 4095, &errno_ret, error) ||
        !oci_json_parse_objects(item, "args", where, SECCOMP_MAX_ARGS * 2, sizeof *cmps, parse_arg,
                                NULL, (gpointer *)&cmps, &n_args, error))
        return FALSE;
    if (names == NULL || names[0] == NULL || action_name == NULL) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID,
                    "'%s' needs 'names' and 'action'", where);
        return FALSE;
    }
    if (!parse_action(action_name, (guint64)MAX(errno_ret, 0), errno_ret >= 0, where, &action,
                      error))
        return FALSE;
    /* libseccomp refuses rules that repeat the default action; they change nothing. */
    if (action == rules->default_action)
        return TRUE;
    for (char **n = names; *n; n++) {
        int nr = seccomp_syscall_resolve_name(*n);
        if (nr == __NR_SCMP_ERROR) {
            if (action == SCMP_ACT_ALLOW)
                continue;
            g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_UNSUPPORTED,
                        "'%s' names syscall '%s', which libseccomp does not know", where, *n);
            return FALSE;
        }
        if (!add_rule(rules->ctx, action, nr, *n, cmps, n_args, error))
            return FALSE;
    }
    return TRUE;
}

static gboolean add_architectures(scmp_filter_ctx ctx, json_object *seccomp, GError **error)
{
    g_auto(GStrv) arches = NULL;
    if (!oci_json_get_strv(seccomp, "architectures", "linux.seccomp", &arches, error))
        return FALSE;
    for (char **a = arches; a && *a; a++) {
        g_autofree char *lower =
            g_ascii_strdown(*a + (g_str_has_prefix(*a, "SCMP_ARCH_") ? 10 : 0), -1);
        guint32 arch = seccomp_arch_resolve_name(lower);
        if (!g_str_has_prefix(*a, "SCMP_ARCH_") || arch == 0) {
            g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_UNSUPPORTED,
                        "'linux.seccomp.architectures' entry '%s' is not supported", *a);
            return FALSE;
        }
        int rc = seccomp_arch_add(ctx, arch);
        if (rc < 0 && rc != -EEXIST) {
            g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_FAILED,
                        "seccomp architecture '%s': %s", *a, g_strerror(-rc));
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean parse_flags(json_object *seccomp, unsigned int *out, GError **error)
{
    g_auto(GStrv) flags = NULL;
    *out = 0;
    if (!oci_json_get_strv(seccomp, "flags", "linux.seccomp", &flags, error))
        return FALSE;
    for (char **f = flags; f && *f; f++) {
        if (strcmp(*f, "SECCOMP_FILTER_FLAG_LOG") == 0)
            *out |= SECCOMP_FILTER_FLAG_LOG;
        else if (strcmp(*f, "SECCOMP_FILTER_FLAG_SPEC_ALLOW") == 0)
            *out |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
        else if (strcmp(*f, "SECCOMP_FILTER_FLAG_TSYNC") != 0) {
            /* TSYNC is accepted: the child is single-threaded, so it is implied. */
            g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_UNSUPPORTED,
                        "'linux.seccomp.flags' entry '%s' is not supported", *f);
            return FALSE;
        }
    }
    return TRUE;
}

/* libseccomp writes BPF to an fd; a memfd keeps it in memory. */
static gboolean export_bpf(scmp_filter_ctx ctx, struct sock_filter **out_filter, gsize *out_len,
                           GError **error)
{
    common_autofd int fd = memfd_create("seccomp-bpf", MFD_CLOEXEC);
    if (fd < 0) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_FAILED, "memfd_create: %s",
                    g_strerror(errno));
        return FALSE;
    }
    int rc = seccomp_export_bpf(ctx, fd);
    if (rc < 0) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_FAILED, "seccomp_export_bpf: %s",
                    g_strerror(-rc));
        return FALSE;
    }
    off_t size = lseek(fd, 0, SEEK_END);
    if (size <= 0 || size % (off_t)sizeof(struct sock_filter) != 0 ||
        size / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID,
                    "the seccomp profile compiles to %lld bytes of BPF, beyond the kernel's limit",
                    (long long)size);
        return FALSE;
    }
    g_autofree struct sock_filter *filter = g_malloc((gsize)size);
    if (pread(fd, filter, (size_t)size, 0) != size) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_FAILED, "reading the seccomp BPF: %s",
                    g_strerror(errno));
        return FALSE;
    }
    *out_len = (gsize)size / sizeof(struct sock_filter);
    *out_filter = g_steal_pointer(&filter);
    return TRUE;
}

gboolean oci_seccomp_compile(json_object *seccomp, struct sock_filter **out_filter, gsize *out_len,
                             unsigned int *out_flags, GError **error)
{
    static const char *const known[] = {"defaultAction", "defaultErrnoRet", "architectures",
                                        "flags",         "syscalls",        NULL};
    g_autofree char *default_name = NULL;
    gint64 default_errno = -1;
    guint32 default_action;

    if (!oci_json_check_keys(seccomp, "linux.seccomp", known, error) ||
        !oci_json_get_string(seccomp, "defaultAction", "linux.seccomp", &default_name, error) ||
        !oci_json_get_int64(seccomp, "defaultErrnoRet", "linux.seccomp", 0, 4095, &default_errno,
                            error) ||
        !parse_flags(seccomp, out_flags, error))
        return FALSE;
    if (default_name == NULL) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID,
                    "'linux.seccomp.defaultAction' is missing");
        return FALSE;
    }
    if (!parse_action(default_name, (guint64)MAX(default_errno, 0), default_errno >= 0,
                      "linux.seccomp.defaultAction", &default_action, error))
        return FALSE;

    g_autoptr(ScmpFilterCtx) ctx = seccomp_init(default_action);
    if (ctx == NULL) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_FAILED, "seccomp_init failed");
        return FALSE;
    }
    /* The builder sets no_new_privs itself, as the spec says. */
    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
    if (!add_architectures(ctx, seccomp, error))
        return FALSE;

    SyscallRules rules = {ctx, default_action};
    gsize n_rules;
    if (!oci_json_parse_objects(seccomp, "syscalls", "linux.seccomp", OCI_JSON_MAX_ITEMS, 0,
                                parse_syscall, &rules, NULL, &n_rules, error))
        return FALSE;
    return export_bpf(ctx, out_filter, out_len, error);
}
