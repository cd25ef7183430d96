/* oci-json.c: typed, bounded access to json-c objects with errors that name the field. */
#include "oci-json.h"

#include <string.h>

/* Deep enough for any real spec (seccomp args are the deepest, at 6), shallow enough to keep
 * json-c's recursion small. */
#define OCI_JSON_MAX_DEPTH 16

json_object *oci_json_parse(const char *json, gsize len, const char *what, GError **error)
{
    if (len > OCI_SPEC_MAX_BYTES) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID,
                    "%s is %" G_GSIZE_FORMAT " bytes, more than the limit of %d", what, len,
                    OCI_SPEC_MAX_BYTES);
        return NULL;
    }
    if (len == 0) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID, "%s is empty", what);
        return NULL;
    }
    if (memchr(json, '\0', len)) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID, "%s contains a NUL byte",
                    what);
        return NULL;
    }

    json_tokener *tok = json_tokener_new_ex(OCI_JSON_MAX_DEPTH);
    g_assert(tok != NULL);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    g_autoptr(json_object) root = json_tokener_parse_ex(tok, json, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);

    if (root == NULL || jerr != json_tokener_success) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID, "%s is not valid JSON: %s",
                    what,
                    jerr == json_tokener_continue ? "unexpected end of input"
                                                  : json_tokener_error_desc(jerr));
        return NULL;
    }
    for (gsize i = end; i < len; i++) {
        if (!g_ascii_isspace(json[i])) {
            g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID,
                        "%s has trailing data after the JSON value (offset %" G_GSIZE_FORMAT ")",
                        what, i);
            return NULL;
        }
    }
    if (!json_object_is_type(root, json_type_object)) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID, "%s is not a JSON object",
                    what);
        return NULL;
    }
    return g_steal_pointer(&root);
}

static gboolean json_is_empty(json_object *value)
{
    switch (json_object_get_type(value)) {
    case json_type_null:
        return TRUE;
    case json_type_boolean:
        return !json_object_get_boolean(value);
    case json_type_string:
        return json_object_get_string_len(value) == 0;
    case json_type_object:
        return json_object_object_length(value) == 0;
    case json_type_array:
        return json_object_array_length(value) == 0;
    default:
        return FALSE;
    }
}

gboolean oci_json_check_keys(json_object *obj, const char *where, const char *const *known,
                             GError **error)
{
    json_object_object_foreach(obj, key, value)
    {
        if (g_strv_contains(known, key) || json_is_empty(value))
            continue;
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_UNSUPPORTED,
                    "unsupported field '%s.%s'", where, key);
        return FALSE;
    }
    return TRUE;
}

gboolean oci_json_get(json_object *obj, const char *key, json_type type, const char *where,
                      json_object **out, GError **error)
{
    json_object *value = NULL;
    *out = NULL;
    if (!json_object_object_get_ex(obj, key, &value) || json_object_is_type(value, json_type_null))
        return TRUE;
    if (!json_object_is_type(value, type)) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID,
                    "'%s.%s' must be of type %s, not %s", where, key, json_type_to_name(type),
                    json_type_to_name(json_object_get_type(value)));
        return FALSE;
    }
    *out = value;
    return TRUE;
}

static gboolean string_check(json_object *value, const char *where, const char *key, GError **error)
{
    if (json_object_get_string_len(value) > OCI_JSON_MAX_STRING) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID,
                    "'%s%s%s' is longer than %d bytes", where, key ? "." : "", key ? key : "",
                    OCI_JSON_MAX_STRING);
        return FALSE;
    }
    return TRUE;
}

gboolean oci_json_get_string(json_object *obj, const char *key, const char *where, char **out,
                             GError **error)
{
    json_object *value;
    if (!oci_json_get(obj, key, json_type_string, where, &value, error))
        return FALSE;
    if (value == NULL)
        return TRUE;
    if (!string_check(value, where, key, error))
        return FALSE;
    g_free(*out);
    *out = g_strdup(json_object_get_string(value));
    return TRUE;
}

gboolean oci_json_get_bool(json_object *obj, const char *key, const char *where, gboolean *out,
                           GError **error)
{
    json_object *value;
    if (!oci_json_get(obj, key, json_type_boolean, where, &value, error))
        return FALSE;
    if (value)
        *out = json_object_get_boolean(value);
    return TRUE;
}

gboolean oci_json_get_int64(json_object *obj, const char *key, const char *where, gint64 min,
                            gint64 max, gint64 *out, GError **error)
{
    json_object *value;
    if (!oci_json_get(obj, key, json_type_int, where, &value, error))
        return FALSE;
    if (value == NULL)
        return TRUE;
    gint64 v = json_object_get_int64(value);
    /* json-c clamps values beyond the int64 range to its ends, which the range check rejects. */
    if (v < min || v > max || (v == G_MAXINT64 && json_object_get_uint64(value) != G_MAXINT64)) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID,
                    "'%s.%s' is %s, outside [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "]", where,
                    key, json_object_to_json_string(value), min, max);
        return FALSE;
    }
    *out = v;
    return TRUE;
}

gboolean oci_json_uint64(json_object *value, const char *where, guint64 *out, GError **error)
{
    if (!json_object_is_type(value, json_type_int) || json_object_get_int64(value) < 0) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID,
                    "'%s' must be a non-negative integer", where);
        return FALSE;
    }
    *out = json_object_get_uint64(value);
    return TRUE;
}

gboolean oci_json_get_strv(json_object *obj, const char *key, const char *where, char ***out,
                           GError **error)
{
    json_object *array;
    *out = NULL;
    if (!oci_json_get(obj, key, json_type_array, where, &array, error))
        return FALSE;
    if (array == NULL)
        return TRUE;
    gsize n = json_object_array_length(array);
    if (n > OCI_JSON_MAX_ITEMS) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID,
                    "'%s.%s' has %" G_GSIZE_FORMAT " entries, more than %d", where, key, n,
                    OCI_JSON_MAX_ITEMS);
        return FALSE;
    }
    g_auto(GStrv) strv = g_new0(char *, n + 1);
    for (gsize i = 0; i < n; i++) {
        json_object *item = json_object_array_get_idx(array, i);
        if (!json_object_is_type(item, json_type_string)) {
            g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID,
                        "'%s.%s[%" G_GSIZE_FORMAT "]' must be a string", where, key, i);
            return FALSE;
        }
        if (!string_check(item, where, key, error))
            return FALSE;
        strv[i] = g_strdup(json_object_get_string(item));
    }
    *out = g_steal_pointer(&strv);
    return TRUE;
}

gboolean oci_json_parse_objects(json_object *obj, const char *key, const char *where, gsize max,
                                gsize elem_size, OciJsonItemFunc func, gpointer user_data,
                                gpointer *out_items, gsize *out_n, GError **error)
{
    json_object *array;
    *out_n = 0;
    if (out_items)
        *out_items = NULL;
    if (!oci_json_get(obj, key, json_type_array, where, &array, error))
        return FALSE;
    if (array == NULL)
        return TRUE;
    gsize n = json_object_array_length(array);
    if (n > max) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID,
                    "'%s.%s' has %" G_GSIZE_FORMAT " entries, more than %" G_GSIZE_FORMAT, where,
                    key, n, max);
        return FALSE;
    }
    guint8 *items = elem_size ? g_malloc0(elem_size * MAX(n, 1)) : NULL;
    if (out_items)
        *out_items = items;
    for (gsize i = 0; i < n; i++) {
        json_object *item = json_object_array_get_idx(array, i);
        g_autofree char *item_where = g_strdup_printf("%s.%s[%" G_GSIZE_FORMAT "]", where, key, i);
        if (!json_object_is_type(item, json_type_object)) {
            g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID, "'%s' must be an object",
                        item_where);
            return FALSE;
        }
        (*out_n)++;
        if (!func(item, item_where, items ? items + i * elem_size : NULL, user_data, error))
            return FALSE;
    }
    return TRUE;
}

gboolean oci_path_check(const char *path, const char *what, GError **error)
{
    if (path[0] != '/') {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID,
                    "%s '%s' is not an absolute path", what, path);
        return FALSE;
    }
    if (strlen(path) >= OCI_JSON_MAX_PATH) {
        g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_INVALID, "%s is longer than %d bytes",
                    what, OCI_JSON_MAX_PATH);
        return FALSE;
    }
    g_auto(GStrv) parts = g_strsplit(path, "/", -1);
    for (char **p = parts; *p; p++) {
        if (strcmp(*p, "..") == 0) {
            g_set_error(error, CONTAINER_ERROR, CONTAINER_ERROR_ESCAPE,
                        "%s '%s' contains '..', which could leave the container root", what, path);
            return FALSE;
        }
    }
    return TRUE;
}

gboolean oci_json_get_path(json_object *obj, const char *key, const char *where, char **out,
                           GError **error)
{
    if (!oci_json_get_string(obj, key, where, out, error))
        return FALSE;
    if (*out == NULL)
        return TRUE;
    g_autofree char *what = g_strdup_printf("%s.%s", where, key);
    return oci_path_check(*out, what, error);
}
