/* Loads and checks the key-file configuration. Every key is described once in a table, so that
 * parsing, defaults and "what is allowed" messages cannot drift apart. */
#include "shim-config.h"

#include <glib/gstdio.h>
#include <stddef.h>
#include <string.h>

#include "shim-error.h"

typedef enum { KEY_STRING, KEY_PATH, KEY_CHOICE, KEY_UINT, KEY_BOOL } KeyType;

typedef struct {
    const char *group;
    const char *key;
    KeyType type;
    gsize offset;    /* of the field in ShimConfig */
    const char *def; /* default, as the file would spell it */
    const char *const *choices;
    guint min, max;
} KeySpec;

static const char *const kinds[] = {"libvirt", "none", NULL};
static const char *const accelerators[] = {"auto", "kvm", "tcg", NULL};
static const char *const shared_fss[] = {"virtio-fs", "virtio-9p", NULL};
static const char *const log_levels[] = {"error", "warning", "info", "debug", NULL};

#define F(field) offsetof(ShimConfig, field)
static const KeySpec keys[] = {
    {"hypervisor", "kind", KEY_CHOICE, F(kind), "libvirt", kinds, 0, 0},
    {"hypervisor", "libvirt_uri", KEY_STRING, F(libvirt_uri), "", NULL, 0, 0},
    {"hypervisor", "accelerator", KEY_CHOICE, F(accelerator), "auto", accelerators, 0, 0},
    {"hypervisor", "default_memory", KEY_UINT, F(memory_mib), "512", NULL, 64, 1048576},
    {"hypervisor", "default_vcpus", KEY_UINT, F(vcpus), "1", NULL, 1, 255},
    {"hypervisor", "min_memory", KEY_UINT, F(min_memory_mib), "256", NULL, 64, 1048576},
    {"hypervisor", "memory_overhead", KEY_UINT, F(memory_overhead_mib), "128", NULL, 0, 65536},
    {"hypervisor", "max_memory", KEY_UINT, F(max_memory_mib), "16384", NULL, 64, 1048576},
    {"hypervisor", "max_vcpus", KEY_UINT, F(max_vcpus), "16", NULL, 1, 255},
    {"hypervisor", "kernel", KEY_PATH, F(kernel), SHIM_DEFAULT_KERNEL, NULL, 0, 0},
    {"hypervisor", "initrd", KEY_PATH, F(initrd), SHIM_DEFAULT_INITRD, NULL, 0, 0},
    {"hypervisor", "kernel_params", KEY_STRING, F(kernel_params), "", NULL, 0, 0},
    {"hypervisor", "shared_fs", KEY_CHOICE, F(shared_fs), "virtio-fs", shared_fss, 0, 0},
    {"hypervisor", "machine_type", KEY_STRING, F(machine_type), "q35", NULL, 0, 0},
    {"hypervisor", "virtio_fs_daemon", KEY_PATH, F(virtiofsd), "/usr/lib/qemu/virtiofsd", NULL, 0,
     0},
    {"hypervisor", "pod_uid_base", KEY_UINT, F(pod_uid_base), "1879048192", NULL, 1,
     G_MAXUINT32 - 1},
    {"hypervisor", "pod_uid_count", KEY_UINT, F(pod_uid_count), "65536", NULL, 1, 16777216},
    {"template", "enable", KEY_BOOL, F(template_enabled), "false", NULL, 0, 0},
    {"template", "directory", KEY_PATH, F(template_dir), "/var/lib/secure-container/templates",
     NULL, 0, 0},
    {"agent", "boot_timeout", KEY_UINT, F(agent_boot_timeout_s), "120", NULL, 1, 3600},
    {"agent", "request_timeout", KEY_UINT, F(agent_request_timeout_s), "30", NULL, 1, 3600},
    {"agent", "health_timeout", KEY_UINT, F(agent_health_timeout_s), "10", NULL, 1, 3600},
    {"agent", "host_binary", KEY_PATH, F(agent_host_binary), SHIM_DEFAULT_AGENT, NULL, 0, 0},
    {"agent", "debug_exec", KEY_BOOL, F(debug_exec), "false", NULL, 0, 0},
    {"agent", "debug_exec_tools", KEY_PATH, F(debug_exec_tools), "/bin/busybox", NULL, 0, 0},
    {"runtime", "enable_debug", KEY_BOOL, F(debug), "false", NULL, 0, 0},
    {"runtime", "log_level", KEY_CHOICE, F(log_level), "info", log_levels, 0, 0},
};
#undef F
G_STATIC_ASSERT(G_N_ELEMENTS(keys) <= 64); /* ShimConfig.keys_set */

void shim_config_free(ShimConfig *config)
{
    if (!config)
        return;
    for (gsize i = 0; i < G_N_ELEMENTS(keys); i++)
        if (keys[i].type == KEY_STRING || keys[i].type == KEY_PATH)
            g_free(G_STRUCT_MEMBER(char *, config, keys[i].offset));
    g_free(config->path);
    g_free(config->guest_kernel_params);
    g_free(config);
}

/* Choice fields are enums whose values follow the order of the choices. */
static gboolean set_choice(ShimConfig *config, const KeySpec *spec, const char *value)
{
    for (guint i = 0; spec->choices[i]; i++)
        if (strcmp(value, spec->choices[i]) == 0) {
            G_STRUCT_MEMBER(int, config, spec->offset) = (int)i;
            return TRUE;
        }
    return FALSE;
}

/* Stores @value (already unquoted) into the field of @spec, or says what is allowed. */
static gboolean set_value(ShimConfig *config, const KeySpec *spec, const char *value,
                          GError **error)
{
    switch (spec->type) {
    case KEY_STRING:
        G_STRUCT_MEMBER(char *, config, spec->offset) = g_strdup(value);
        return TRUE;
    case KEY_PATH:
        if (!g_path_is_absolute(value))
            break;
        G_STRUCT_MEMBER(char *, config, spec->offset) = g_strdup(value);
        return TRUE;
    case KEY_CHOICE:
        if (set_choice(config, spec, value))
            return TRUE;
        break;
    case KEY_UINT: {
        guint64 n;
        if (!g_ascii_string_to_unsigned(value, 10, spec->min, spec->max, &n, NULL))
            break;
        G_STRUCT_MEMBER(guint, config, spec->offset) = (guint)n;
        return TRUE;
    }
    case KEY_BOOL:
        if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0)
            break;
        G_STRUCT_MEMBER(gboolean, config, spec->offset) = strcmp(value, "true") == 0;
        return TRUE;
    }

    g_autofree char *allowed = NULL;
    if (spec->type == KEY_CHOICE)
        allowed = g_strjoinv(", ", (char **)spec->choices);
    else if (spec->type == KEY_UINT)
        allowed = g_strdup_printf("an integer from %u to %u", spec->min, spec->max);
    else if (spec->type == KEY_BOOL)
        allowed = g_strdup("true or false");
    else
        allowed = g_strdup("an absolute path");
    g_set_error(error, SHIM_ERROR, SHIM_ERROR_INVALID, "[%s] %s = '%s': allowed: %s", spec->group,
                spec->key, value, allowed);
    return FALSE;
}

static const KeySpec *find_key(const char *group, const char *key)
{
    for (gsize i = 0; i < G_N_ELEMENTS(keys); i++)
        if (strcmp(keys[i].group, group) == 0 && strcmp(keys[i].key, key) == 0)
            return &keys[i];
    return NULL;
}

static char *keys_of_group(const char *group)
{
    GString *s = g_string_new(NULL);
    for (gsize i = 0; i < G_N_ELEMENTS(keys); i++)
        if (strcmp(keys[i].group, group) == 0)
            g_string_append_printf(s, "%s%s", s->len ? ", " : "", keys[i].key);
    return g_string_free(s, FALSE);
}

/* Rejects groups and keys we do not know: a typo must not silently fall back to a default. */
static gboolean check_known(GKeyFile *file, GError **error)
{
    g_auto(GStrv) groups = g_key_file_get_groups(file, NULL);
    for (gsize g = 0; groups[g]; g++) {
        g_autofree char *known = keys_of_group(groups[g]);
        if (!*known) {
            g_set_error(error, SHIM_ERROR, SHIM_ERROR_INVALID,
                        "unknown group [%s]: allowed: hypervisor, agent, runtime", groups[g]);
            return FALSE;
        }
        g_auto(GStrv) names = g_key_file_get_keys(file, groups[g], NULL, NULL);
        for (gsize k = 0; names[k]; k++)
            if (!find_key(groups[g], names[k])) {
                g_set_error(error, SHIM_ERROR, SHIM_ERROR_INVALID,
                            "[%s] unknown key '%s': allowed: %s", groups[g], names[k], known);
                return FALSE;
            }
    }
    return TRUE;
}

static gboolean apply_keys(ShimConfig *config, GKeyFile *file, GError **error)
{
    for (gsize i = 0; i < G_N_ELEMENTS(keys); i++) {
        const KeySpec *spec = &keys[i];
        g_autofree char *value = NULL;
        if (g_key_file_has_key(file, spec->group, spec->key, NULL)) {
            g_autoptr(GError) local = NULL;
            value = g_key_file_get_string(file, spec->group, spec->key, &local);
            if (!value) {
                g_set_error(error, SHIM_ERROR, SHIM_ERROR_INVALID, "[%s] %s: %s", spec->group,
                            spec->key, local->message);
                return FALSE;
            }
            config->keys_set |= G_GUINT64_CONSTANT(1) << i;
        } else {
            value = g_strdup(spec->def);
        }
        if (!set_value(config, spec, value, error))
            return FALSE;
    }
    return TRUE;
}

/* The pods' uids must all be uids: (uid_t)-1 is "no change" to chown and setresuid. */
static gboolean check_uids(const ShimConfig *config, GError **error)
{
    if ((guint64)config->pod_uid_base + config->pod_uid_count <= G_MAXUINT32)
        return TRUE;
    g_set_error(error, SHIM_ERROR, SHIM_ERROR_INVALID,
                "[hypervisor] pod_uid_base %u + pod_uid_count %u: the last uid must be below %u",
                config->pod_uid_base, config->pod_uid_count, G_MAXUINT32);
    return FALSE;
}

/* The guest unpacks its initrd (an uncompressed cpio) into RAM and keeps the files there, so a
 * bigger guest image (a sanitizer build, a debug agent) takes that much from the containers.
 * 0 when it cannot be read: booting the VM then reports the file. */
static guint file_mib(const char *path)
{
    GStatBuf st;
    if (g_stat(path, &st) != 0)
        return 0;
    return (guint)MIN(((guint64)st.st_size + (1 << 20) - 1) >> 20, 1048576);
}

ShimConfig *shim_config_load(const char *path, GError **error)
{
    g_autoptr(GKeyFile) file = g_key_file_new();
    g_autoptr(ShimConfig) config = g_new0(ShimConfig, 1);
    g_autoptr(GError) local = NULL;

    config->path = g_strdup(path);
    if (!g_key_file_load_from_file(file, path, G_KEY_FILE_NONE, &local) ||
        !check_known(file, &local) || !apply_keys(config, file, &local) ||
        !check_uids(config, &local)) {
        g_set_error(error, SHIM_ERROR, SHIM_ERROR_INVALID, "config '%s': %s", path, local->message);
        return NULL;
    }
    config->guest_files_mib = file_mib(config->initrd);
    config->guest_kernel_params = g_strstrip(g_strdup_printf(
        "%s%s", config->kernel_params, config->debug_exec ? " " SHIM_DEBUG_EXEC_PARAM : ""));
    return g_steal_pointer(&config);
}

static void clear_candidate(gpointer data)
{
    g_free(((ShimConfigCandidate *)data)->path);
}

/* @found: whether an earlier candidate was taken. */
static void add_candidate(GArray *all, const char *source, const char *path, gboolean usable,
                          gboolean *found)
{
    ShimConfigCandidate c = {source, path && *path ? g_strdup(path) : NULL, FALSE};
    c.taken = !*found && c.path && usable;
    *found |= c.taken;
    g_array_append_val(all, c);
}

GArray *shim_config_candidates(const char *config_path)
{
    GArray *all = g_array_new(FALSE, FALSE, sizeof(ShimConfigCandidate));
    g_array_set_clear_func(all, clear_candidate);
    gboolean found = FALSE;
    add_candidate(all, "runtime option ConfigPath", config_path, TRUE, &found);
    add_candidate(all, "$SECURE_CONTAINER_CONFIG", g_getenv("SECURE_CONTAINER_CONFIG"), TRUE,
                  &found);
    add_candidate(all, "system file", SHIM_SYSTEM_CONFIG,
                  g_file_test(SHIM_SYSTEM_CONFIG, G_FILE_TEST_EXISTS), &found);
    add_candidate(all, "installed default", SHIM_DEFAULT_CONFIG, TRUE, &found);
    return all;
}

char *shim_config_find(const char *config_path)
{
    g_autoptr(GArray) all = shim_config_candidates(config_path);
    for (guint i = 0; i < all->len; i++) {
        ShimConfigCandidate *c = &g_array_index(all, ShimConfigCandidate, i);
        if (c->taken)
            return g_strdup(c->path);
    }
    g_assert_not_reached();
}

static char *value_string(const ShimConfig *config, const KeySpec *spec)
{
    switch (spec->type) {
    case KEY_STRING:
    case KEY_PATH:
        return g_strdup(G_STRUCT_MEMBER(char *, config, spec->offset));
    case KEY_CHOICE:
        return g_strdup(spec->choices[G_STRUCT_MEMBER(int, config, spec->offset)]);
    case KEY_UINT:
        return g_strdup_printf("%u", G_STRUCT_MEMBER(guint, config, spec->offset));
    case KEY_BOOL:
        return g_strdup(G_STRUCT_MEMBER(gboolean, config, spec->offset) ? "true" : "false");
    }
    g_assert_not_reached();
}

static void clear_entry(gpointer data)
{
    g_free(((ShimConfigEntry *)data)->value);
}

GArray *shim_config_entries(const ShimConfig *config)
{
    GArray *all = g_array_sized_new(FALSE, FALSE, sizeof(ShimConfigEntry), G_N_ELEMENTS(keys));
    g_array_set_clear_func(all, clear_entry);
    for (gsize i = 0; i < G_N_ELEMENTS(keys); i++) {
        ShimConfigEntry e = {keys[i].group, keys[i].key, value_string(config, &keys[i]),
                             (config->keys_set >> i) & 1};
        g_array_append_val(all, e);
    }
    return all;
}
