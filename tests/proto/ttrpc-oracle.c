/* Go struct tags -> .proto (see ttrpc-oracle.h). */
#include "ttrpc-oracle.h"

#include <string.h>

#include "proto-oracle.h"

/* How a Go field type and the wire kind in its tag map to a protobuf scalar type. */
typedef struct {
    const char *wire; /* first item of the tag */
    const char *go_type;
    const char *proto_type;
} GoScalar;

static const GoScalar go_scalars[] = {
    {"bytes", "string", "string"},    {"bytes", "[]byte", "bytes"},
    {"varint", "bool", "bool"},       {"varint", "int32", "int32"},
    {"varint", "int64", "int64"},     {"varint", "uint32", "uint32"},
    {"varint", "uint64", "uint64"},   {"zigzag32", "int32", "sint32"},
    {"zigzag64", "int64", "sint64"},  {"fixed32", "uint32", "fixed32"},
    {"fixed32", "int32", "sfixed32"}, {"fixed32", "float32", "float"},
    {"fixed64", "uint64", "fixed64"}, {"fixed64", "int64", "sfixed64"},
    {"fixed64", "float64", "double"},
};

/* Go packages of message types that the tagged structs use, and their protobuf definition. */
typedef struct {
    const char *go_import;
    const char *proto_package;
    const char *proto_file;
} GoMessagePackage;

static const GoMessagePackage go_message_packages[] = {
    {"google.golang.org/genproto/googleapis/rpc/status", "google.rpc", "google/rpc/status.proto"},
};

typedef struct {
    GRegex *package_re;      /* package line */
    GRegex *import_re;       /* import spec: alias "path" */
    GRegex *struct_re;       /* start of a struct type */
    GRegex *field_re;        /* a field with a protobuf tag */
    GString *messages;       /* the message definitions written so far */
    GHashTable *go_imports;  /* Go import alias -> import path */
    GHashTable *proto_files; /* .proto files the messages import (a set) */
    char *package;
    gboolean in_struct;
} GoFile;

static void go_file_clear(GoFile *file)
{
    g_regex_unref(file->package_re);
    g_regex_unref(file->import_re);
    g_regex_unref(file->struct_re);
    g_regex_unref(file->field_re);
    g_string_free(file->messages, TRUE);
    g_hash_table_unref(file->go_imports);
    g_hash_table_unref(file->proto_files);
    g_free(file->package);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(GoFile, go_file_clear)

/* The protobuf type of a message field of Go type @go_type ("*KeyValue", "*spb.Status"). */
static char *message_type(GoFile *file, const char *go_type, GError **error)
{
    if (go_type[0] != '*')
        return NULL;
    const char *dot = strchr(go_type, '.');
    if (!dot)
        return g_strdup(go_type + 1);

    g_autofree char *alias = g_strndup(go_type + 1, dot - go_type - 1);
    const char *import = g_hash_table_lookup(file->go_imports, alias);
    for (gsize i = 0; import && i < G_N_ELEMENTS(go_message_packages); i++) {
        if (g_str_equal(import, go_message_packages[i].go_import)) {
            g_hash_table_add(file->proto_files, (gpointer)go_message_packages[i].proto_file);
            return g_strconcat(go_message_packages[i].proto_package, dot, NULL);
        }
    }
    g_set_error(error, CONFORMANCE_ERROR, CONFORMANCE_ERROR_ORACLE,
                "no protobuf package known for Go type '%s' (import '%s')", go_type,
                import ? import : "?");
    return NULL;
}

/* The protobuf type for one tagged field; repeated fields are passed without their "[]". */
static char *field_type(GoFile *file, const char *wire, const char *go_type, GError **error)
{
    for (gsize i = 0; i < G_N_ELEMENTS(go_scalars); i++) {
        if (g_str_equal(wire, go_scalars[i].wire) && g_str_equal(go_type, go_scalars[i].go_type))
            return g_strdup(go_scalars[i].proto_type);
    }
    if (g_str_equal(wire, "bytes") && go_type[0] == '*')
        return message_type(file, go_type, error);
    g_set_error(error, CONFORMANCE_ERROR, CONFORMANCE_ERROR_ORACLE,
                "no protobuf type for Go type '%s' with wire kind '%s'", go_type, wire);
    return NULL;
}

static gboolean add_field(GoFile *file, GMatchInfo *match, GError **error)
{
    g_autofree char *go_type = g_match_info_fetch(match, 1);
    g_autofree char *wire = g_match_info_fetch(match, 2);
    g_autofree char *number = g_match_info_fetch(match, 3);
    g_autofree char *cardinality = g_match_info_fetch(match, 4);
    g_autofree char *name = g_match_info_fetch(match, 5);
    gboolean repeated = g_str_equal(cardinality, "rep");
    if (repeated && !g_str_has_prefix(go_type, "[]")) {
        g_set_error(error, CONFORMANCE_ERROR, CONFORMANCE_ERROR_ORACLE,
                    "repeated field '%s' has Go type '%s', not a slice", name, go_type);
        return FALSE;
    }
    g_autofree char *type = field_type(file, wire, repeated ? go_type + 2 : go_type, error);
    if (!type)
        return FALSE;
    g_string_append_printf(file->messages, "  %s%s %s = %s;\n", repeated ? "repeated " : "", type,
                           name, number);
    return TRUE;
}

/* The match of @re in @line, or NULL. */
static GMatchInfo *match_line(GRegex *re, const char *line)
{
    GMatchInfo *match = NULL;
    if (g_regex_match(re, line, 0, &match))
        return match;
    g_match_info_free(match);
    return NULL;
}

static gboolean parse_line(GoFile *file, const char *line, GError **error)
{
    g_autoptr(GMatchInfo) match = NULL;
    if (file->in_struct) {
        if ((match = match_line(file->field_re, line)))
            return add_field(file, match, error);
        if (line[0] == '}') {
            g_string_append(file->messages, "}\n");
            file->in_struct = FALSE;
        }
    } else if ((match = match_line(file->package_re, line))) {
        g_free(file->package);
        file->package = g_match_info_fetch(match, 1);
    } else if ((match = match_line(file->import_re, line))) {
        g_hash_table_insert(file->go_imports, g_match_info_fetch(match, 1),
                            g_match_info_fetch(match, 2));
    } else if ((match = match_line(file->struct_re, line))) {
        g_autofree char *name = g_match_info_fetch(match, 1);
        g_string_append_printf(file->messages, "\nmessage %s {\n", name);
        file->in_struct = TRUE;
    }
    return TRUE;
}

static gboolean write_proto(GoFile *file, const char *proto_path, GError **error)
{
    if (!file->package) {
        g_set_error(error, CONFORMANCE_ERROR, CONFORMANCE_ERROR_ORACLE, "no Go package line");
        return FALSE;
    }
    g_autoptr(GString) proto = g_string_new("syntax = \"proto3\";\n");
    g_string_append_printf(proto, "package %s;\n", file->package);
    GHashTableIter iter;
    gpointer import;
    g_hash_table_iter_init(&iter, file->proto_files);
    while (g_hash_table_iter_next(&iter, &import, NULL))
        g_string_append_printf(proto, "import \"%s\";\n", (const char *)import);
    g_string_append(proto, file->messages->str);
    return g_file_set_contents(proto_path, proto->str, proto->len, error);
}

gboolean ttrpc_oracle_write(const char *types_go, const char *proto_path, GError **error)
{
    g_autofree char *source = NULL;
    if (!g_file_get_contents(types_go, &source, NULL, error))
        return FALSE;

    g_auto(GoFile) file = {
        .package_re = g_regex_new("^package (\\w+)$", 0, 0, NULL),
        .import_re = g_regex_new("^(?:import)?\\s*(\\w+)\\s+\"([^\"]+)\"$", 0, 0, NULL),
        .struct_re = g_regex_new("^type (\\w+) struct {$", 0, 0, NULL),
        /* Go type, then the tag's wire kind, number, opt|rep and proto name */
        .field_re = g_regex_new(
            "^\\s+\\w+\\s+(\\S+)\\s+`protobuf:\"(\\w+),(\\d+),(opt|rep),name=(\\w+)[,\"]", 0, 0,
            NULL),
        .messages = g_string_new(NULL),
        .go_imports = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free),
        .proto_files = g_hash_table_new(g_str_hash, g_str_equal),
    };
    g_auto(GStrv) lines = g_strsplit(source, "\n", -1);
    for (char **line = lines; *line; line++) {
        if (!parse_line(&file, *line, error)) {
            g_prefix_error(error, "'%s' line %td: ", types_go, line - lines + 1);
            return FALSE;
        }
    }
    if (!write_proto(&file, proto_path, error)) {
        g_prefix_error(error, "'%s': ", types_go);
        return FALSE;
    }
    return TRUE;
}
