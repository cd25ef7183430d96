/* Asking the host: programs and their versions, the guest kernel's banner, containerd's
 * effective config. Everything here only reads. */
#include "tool-host.h"

#include <string.h>

#define OUR_RUNTIME_TYPE "io.containerd.secure.v2"

char *tool_find_program(const char *name)
{
    char *path = g_find_program_in_path(name);
    static const char *const sbin[] = {"/usr/local/sbin", "/usr/sbin", "/sbin"};

    for (gsize i = 0; !path && i < G_N_ELEMENTS(sbin); i++) {
        path = g_build_filename(sbin[i], name, NULL);
        if (!g_file_test(path, G_FILE_TEST_IS_EXECUTABLE))
            g_clear_pointer(&path, g_free);
    }
    return path;
}

static char *first_line(const char *text)
{
    if (!text)
        return NULL;
    g_autofree char *line = g_strndup(text, strcspn(text, "\n"));
    g_strstrip(line);
    return *line ? g_steal_pointer(&line) : NULL;
}

/* The first line of @text with a version number ("1.6", "7.2.22") in it: containerd's shims
 * print their name on a line of its own first. */
static char *version_line(const char *text)
{
    g_auto(GStrv) lines = text ? g_strsplit(text, "\n", -1) : NULL;
    for (char **l = lines; l && *l; l++)
        if (g_regex_match_simple("[0-9]+\\.[0-9]+", *l, G_REGEX_DEFAULT, G_REGEX_MATCH_DEFAULT))
            return g_strstrip(g_strdup(*l));
    return NULL;
}

char *tool_program_version(const char *path, const char *arg)
{
    const char *argv[] = {path, arg, NULL};
    g_autofree char *out = NULL, *err = NULL;
    int status;

    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status,
                      NULL) ||
        !g_spawn_check_wait_status(status, NULL))
        return NULL;
    char *line = version_line(out);
    return line ? line : version_line(err);
}

/* A bzImage names its version in the setup header: the "HdrS" magic at 0x202 and, at 0x20e, the
 * string's offset less 0x200 (the x86 boot protocol). */
static char *bzimage_version(const char *data, gsize len)
{
    if (len < 0x210 || memcmp(data + 0x202, "HdrS", 4) != 0)
        return NULL;
    gsize at = 0x200 + ((guint8)data[0x20e] | (guint8)data[0x20f] << 8);
    if (at >= len)
        return NULL;
    g_autofree char *text = g_strndup(data + at, strnlen(data + at, MIN(len - at, 256)));
    return first_line(text);
}

char *tool_kernel_version(const char *image)
{
    static const char banner[] = "Linux version ";
    g_autoptr(GMappedFile) file = g_mapped_file_new(image, FALSE, NULL);

    if (!file)
        return NULL;
    const char *data = g_mapped_file_get_contents(file);
    gsize len = g_mapped_file_get_length(file);
    const char *hit = memmem(data, len, banner, sizeof(banner) - 1);
    if (!hit)
        return bzimage_version(data, len);
    hit += sizeof(banner) - 1;
    g_autofree char *text = g_strndup(hit, strnlen(hit, MIN(len - (gsize)(hit - data), 256)));
    return first_line(text);
}

/* The CRI plugin's sections: containerd 1.x, and 2.x's runtime plugin. */
static const char section_re[] =
    "^\\s*\\[plugins\\.\"io\\.containerd\\.(?:grpc\\.v1\\.cri|cri\\.v1\\.runtime)\"\\."
    "(?:containerd\\.runtimes\\.(\"[^\"]+\"|[A-Za-z0-9_-]+)|(cni))\\]\\s*$";

/* The string value of `key = "value"` on @line, or NULL when the line sets another key. */
static char *string_value(const char *line, const char *key)
{
    g_autofree char *pattern = g_strdup_printf("^\\s*%s\\s*=\\s*\"([^\"]*)\"\\s*$", key);
    g_autoptr(GMatchInfo) match = NULL;
    g_autoptr(GRegex) re = g_regex_new(pattern, G_REGEX_DEFAULT, G_REGEX_MATCH_DEFAULT, NULL);
    return g_regex_match(re, line, G_REGEX_MATCH_DEFAULT, &match) ? g_match_info_fetch(match, 1)
                                                                  : NULL;
}

typedef struct {
    char *runtime; /* the runtime table we are in, or NULL */
    gboolean in_cni;
    gboolean ours, without_host_devices;
} Table;

/* Closes the runtime table: records it when its type is ours. */
static void end_table(Table *t, ToolContainerd *out)
{
    if (t->runtime && t->ours) {
        g_ptr_array_add(out->handlers, g_strdup(t->runtime));
        if (!t->without_host_devices)
            g_ptr_array_add(out->host_devices, g_strdup(t->runtime));
    }
    g_clear_pointer(&t->runtime, g_free);
    *t = (Table){0};
}

static void read_key(Table *t, const char *line, ToolContainerd *out)
{
    g_autofree char *type = NULL;

    if (t->runtime && (type = string_value(line, "runtime_type")))
        t->ours = g_str_equal(type, OUR_RUNTIME_TYPE);
    else if (t->runtime &&
             g_regex_match_simple("^\\s*privileged_without_host_devices\\s*=\\s*true\\s*$", line,
                                  G_REGEX_DEFAULT, G_REGEX_MATCH_DEFAULT))
        t->without_host_devices = TRUE;
    else if (t->in_cni && !out->cni_bin_dir)
        out->cni_bin_dir = string_value(line, "bin_dir");
    if (t->in_cni && !out->cni_conf_dir)
        out->cni_conf_dir = string_value(line, "conf_dir");
}

void tool_containerd_parse(const char *dump, ToolContainerd *out)
{
    g_autoptr(GRegex) section =
        g_regex_new(section_re, G_REGEX_DEFAULT, G_REGEX_MATCH_DEFAULT, NULL);
    g_auto(GStrv) lines = g_strsplit(dump, "\n", -1);
    Table t = {0};

    out->handlers = g_ptr_array_new_with_free_func(g_free);
    out->host_devices = g_ptr_array_new_with_free_func(g_free);
    for (char **line = lines; *line; line++) {
        g_autoptr(GMatchInfo) match = NULL;
        if (g_regex_match(section, *line, G_REGEX_MATCH_DEFAULT, &match)) {
            end_table(&t, out);
            g_autofree char *name = g_match_info_fetch(match, 1);
            g_autofree char *cni = g_match_info_fetch(match, 2);
            t.runtime =
                *name ? g_strndup(name + (*name == '"'), strlen(name) - 2 * (*name == '"')) : NULL;
            t.in_cni = cni && *cni;
        } else if (g_regex_match_simple("^\\s*\\[", *line, G_REGEX_DEFAULT,
                                        G_REGEX_MATCH_DEFAULT)) {
            end_table(&t, out); /* a sub-table (options) or another section */
        } else {
            read_key(&t, *line, out);
        }
    }
    end_table(&t, out);
}

gboolean tool_containerd_read(const char *containerd, const char *config, ToolContainerd *out,
                              GError **error)
{
    const char *argv[] = {containerd, "--config", config, "config", "dump", NULL};
    g_autofree char *dump = NULL, *err = NULL;
    int status;

    if (!config)
        memmove(&argv[1], &argv[3], 3 * sizeof(argv[0]));
    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &dump, &err, &status,
                      error))
        return FALSE;
    if (!g_spawn_check_wait_status(status, NULL)) {
        g_autofree char *why = first_line(err);
        g_set_error(error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED, "'%s config dump' failed: %s",
                    containerd, why ? why : "no message");
        return FALSE;
    }
    tool_containerd_parse(dump, out);
    return TRUE;
}

void tool_containerd_clear(ToolContainerd *c)
{
    g_clear_pointer(&c->handlers, g_ptr_array_unref);
    g_clear_pointer(&c->host_devices, g_ptr_array_unref);
    g_clear_pointer(&c->cni_bin_dir, g_free);
    g_clear_pointer(&c->cni_conf_dir, g_free);
}
