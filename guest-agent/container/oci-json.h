/* oci-json.h: typed, bounded access to json-c objects with errors that name the field. */
#pragma once

#include "common-json.h"
#include "container.h"

/* Largest array the spec may hold (mounts, paths, env, args, rules...). */
#define OCI_JSON_MAX_ITEMS 4096
/* Longest string field (args, env entries) and longest path. */
#define OCI_JSON_MAX_STRING (128 * 1024)
#define OCI_JSON_MAX_PATH 4096

/* Parses `len` bytes (at most OCI_SPEC_MAX_BYTES) of one JSON object; `what` names it in errors. */
json_object *oci_json_parse(const char *json, gsize len, const char *what, GError **error);

/* Fails with CONTAINER_ERROR_UNSUPPORTED for any key of `obj` not in `known` (NULL-terminated)
 * unless its value is null, "", false, {} or []: a feature we do not implement is never ignored. */
gboolean oci_json_check_keys(json_object *obj, const char *where, const char *const *known,
                             GError **error);

/* Looks up `key`: *out is NULL when absent or null; an error when of another type. */
gboolean oci_json_get(json_object *obj, const char *key, json_type type, const char *where,
                      json_object **out, GError **error);

/* When present, *out is replaced by a new string; untouched when absent. */
gboolean oci_json_get_string(json_object *obj, const char *key, const char *where, char **out,
                             GError **error);
/* *out is untouched when absent. */
gboolean oci_json_get_bool(json_object *obj, const char *key, const char *where, gboolean *out,
                           GError **error);
/* *out is untouched when absent; values outside [min, max] are rejected. */
gboolean oci_json_get_int64(json_object *obj, const char *key, const char *where, gint64 min,
                            gint64 max, gint64 *out, GError **error);
/* An integer JSON value as an unsigned 64-bit number (negative values rejected). */
gboolean oci_json_uint64(json_object *value, const char *where, guint64 *out, GError **error);
/* Parses one object of an array into `elem` (which is zeroed); `where` names it. */
typedef gboolean (*OciJsonItemFunc)(json_object *item, const char *where, gpointer elem,
                                    gpointer user_data, GError **error);

/* Parses the array `key` of at most `max` objects with `func` into a new array of `elem_size`
 * bytes each (*out_items, allocated even when empty; no storage when elem_size is 0). Absent:
 * *out_items NULL and *out_n 0. *out_n counts every item handed to `func`, also a failed one,
 * so that the caller's cleanup covers all it may have filled. */
gboolean oci_json_parse_objects(json_object *obj, const char *key, const char *where, gsize max,
                                gsize elem_size, OciJsonItemFunc func, gpointer user_data,
                                gpointer *out_items, gsize *out_n, GError **error);

/* A path inside the container: absolute, no '..' component, shorter than OCI_JSON_MAX_PATH;
 * `what` names it in the error (CONTAINER_ERROR_ESCAPE for '..'). */
gboolean oci_path_check(const char *path, const char *what, GError **error);
/* Like oci_json_get_string() for a field that holds such a path. */
gboolean oci_json_get_path(json_object *obj, const char *key, const char *where, char **out,
                           GError **error);

/* A NULL-terminated array of new strings (NULL when absent). */
gboolean oci_json_get_strv(json_object *obj, const char *key, const char *where, char ***out,
                           GError **error);
