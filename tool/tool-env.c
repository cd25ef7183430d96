/* `secure-container env`: gathered into one JSON object, printed as is (--json) or as text. */
#include "tool-env.h"

#include <stdio.h>
#include <sys/utsname.h>

#include <json-c/json.h>

#include "shim-config.h"
#include "tool-cli.h"
#include "tool-host.h"
#include "vmm.h"

static json_object *string_or_null(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

static json_object *config_files(GArray *candidates)
{
    json_object *files = json_object_new_array();

    for (guint i = 0; i < candidates->len; i++) {
        ShimConfigCandidate *c = &g_array_index(candidates, ShimConfigCandidate, i);
        json_object *f = json_object_new_object();
        json_object_object_add(f, "source", json_object_new_string(c->source));
        json_object_object_add(f, "path", string_or_null(c->path));
        json_object_object_add(
            f, "exists",
            json_object_new_boolean(c->path && g_file_test(c->path, G_FILE_TEST_EXISTS)));
        json_object_object_add(f, "used", json_object_new_boolean(c->taken));
        json_object_array_add(files, f);
    }
    return files;
}

/* {"group": {"key": {"value": "...", "from": "file" | "default"}}} */
static json_object *config_keys(const ShimConfig *config)
{
    g_autoptr(GArray) entries = shim_config_entries(config);
    json_object *groups = json_object_new_object();

    for (guint i = 0; i < entries->len; i++) {
        ShimConfigEntry *e = &g_array_index(entries, ShimConfigEntry, i);
        json_object *group = NULL, *key = json_object_new_object();
        if (!json_object_object_get_ex(groups, e->group, &group)) {
            group = json_object_new_object();
            json_object_object_add(groups, e->group, group);
        }
        json_object_object_add(key, "value", json_object_new_string(e->value));
        json_object_object_add(key, "from",
                               json_object_new_string(e->from_file ? "file" : "default"));
        json_object_object_add(group, e->key, key);
    }
    return groups;
}

static void add_program(json_object *versions, const char *name, const char *path)
{
    g_autofree char *version = path ? tool_program_version(path, "--version") : NULL;
    json_object_object_add(versions, name, string_or_null(version));
}

static json_object *versions(const ShimConfig *config)
{
    json_object *v = json_object_new_object();
    g_autofree char *shim = tool_find_program("containerd-shim-secure-v2");
    g_autofree char *containerd = tool_find_program("containerd");
    g_autofree char *libvirt = vmm_libvirt_version();
    struct utsname host;
    VmmConfig defaults;

    vmm_config_init(&defaults);
    json_object_object_add(v, "secure-container", json_object_new_string(SC_VERSION));
    add_program(v, "shim", shim);
    add_program(v, "containerd", containerd);
    add_program(v, "qemu", defaults.emulator);
    add_program(v, "virtiofsd", config ? config->virtiofsd : NULL);
    json_object_object_add(v, "libvirt", string_or_null(libvirt));
    g_autofree char *guest = config ? tool_kernel_version(config->kernel) : NULL;
    json_object_object_add(v, "guest-kernel", string_or_null(guest));
    json_object_object_add(v, "host-kernel",
                           string_or_null(uname(&host) == 0 ? host.release : NULL));
    return v;
}

static const char *string_at(json_object *obj, const char *key)
{
    json_object *v = NULL;
    return json_object_object_get_ex(obj, key, &v) && v ? json_object_get_string(v) : NULL;
}

static void print_text(json_object *env)
{
    json_object *files = json_object_object_get(env, "config_files");
    json_object *keys = json_object_object_get(env, "config");

    printf("config files, in the order the shim looks (it takes the first one set):\n");
    for (size_t i = 0; i < json_object_array_length(files); i++) {
        json_object *f = json_object_array_get_idx(files, i);
        const char *path = string_at(f, "path");
        gboolean used = json_object_get_boolean(json_object_object_get(f, "used"));
        gboolean exists = json_object_get_boolean(json_object_object_get(f, "exists"));
        printf("  %-27s %s%s\n", string_at(f, "source"), path ? path : "(not set)",
               used              ? "   <- used"
               : path && !exists ? "   (absent)"
                                 : "");
    }
    if (keys) {
        printf("\nconfig in force (%s):\n", string_at(env, "config_used"));
        json_object_object_foreach(keys, group, members)
        {
            json_object_object_foreach(members, key, e)
            {
                printf("  [%s] %s = %s%s\n", group, key, string_at(e, "value"),
                       g_str_equal(string_at(e, "from"), "file") ? "" : "   (default)");
            }
        }
    } else {
        printf("\nconfig: %s\n", string_at(env, "config_error"));
    }
    printf("\nversions:\n");
    json_object_object_foreach(json_object_object_get(env, "versions"), name, version)
    {
        printf("  %-17s %s\n", name, version ? json_object_get_string(version) : "(not found)");
    }
}

int tool_env(int argc, char **argv)
{
    g_autofree char *config_arg = NULL;
    gboolean json = FALSE;
    const GOptionEntry entries[] = {
        {"config", 0, 0, G_OPTION_ARG_FILENAME, &config_arg,
         "a config file, as containerd's runtime option ConfigPath gives it", "FILE"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &json, "print one JSON object", NULL},
        G_OPTION_ENTRY_NULL};
    g_autoptr(GError) error = NULL;

    if (!tool_parse_options("env", "- what the runtime runs with here", entries, &argc, &argv, 0))
        return 2;
    g_autoptr(GArray) candidates = shim_config_candidates(config_arg);
    g_autofree char *path = shim_config_find(config_arg);
    g_autoptr(ShimConfig) config = shim_config_load(path, &error);
    json_object *env = json_object_new_object();
    json_object_object_add(env, "config_files", config_files(candidates));
    json_object_object_add(env, "config_used", json_object_new_string(path));
    if (config)
        json_object_object_add(env, "config", config_keys(config));
    else
        json_object_object_add(env, "config_error", json_object_new_string(error->message));
    json_object_object_add(env, "versions", versions(config));
    if (json)
        printf("%s\n", json_object_to_json_string_ext(env, JSON_C_TO_STRING_PRETTY |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE));
    else
        print_text(env);
    json_object_put(env);
    return config ? 0 : 1;
}
