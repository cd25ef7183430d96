/* Runtime options decoding. BootstrapParams is walked field by field rather than generated:
 * only one field of it (extensions) matters here. */
#include "shim-options.h"

#include <string.h>

#include "runtimeoptions.pb-c.h"
#include "shim-error.h"
#include "wellknown.pb-c.h"

enum {
    BOOTSTRAP_EXTENSIONS = 8,
    EXTENSION_VALUE = 1,
    WIRE_VARINT = 0,
    WIRE_I64 = 1,
    WIRE_LEN = 2,
    WIRE_I32 = 5
};

static gboolean read_varint(const guint8 *data, gsize len, gsize *pos, guint64 *out)
{
    guint64 v = 0;
    for (guint shift = 0; shift < 64 && *pos < len; shift += 7) {
        guint8 b = data[(*pos)++];
        v |= (guint64)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return TRUE;
        }
    }
    return FALSE;
}

/* Finds the first length-delimited field @field of a message; FALSE if the bytes are not a
 * well-formed message. *@out_data is NULL when the field is absent. */
static gboolean find_bytes_field(const guint8 *data, gsize len, guint field,
                                 const guint8 **out_data, gsize *out_len)
{
    gsize pos = 0;
    *out_data = NULL;
    *out_len = 0;
    while (pos < len) {
        guint64 key, n;
        if (!read_varint(data, len, &pos, &key) || key >> 3 == 0)
            return FALSE;
        switch (key & 7) {
        case WIRE_VARINT:
            if (!read_varint(data, len, &pos, &n))
                return FALSE;
            break;
        case WIRE_I64:
        case WIRE_I32:
            n = (key & 7) == WIRE_I64 ? 8 : 4;
            if (len - pos < n)
                return FALSE;
            pos += n;
            break;
        case WIRE_LEN:
            if (!read_varint(data, len, &pos, &n) || n > len - pos)
                return FALSE;
            if (key >> 3 == field && !*out_data) {
                *out_data = data + pos;
                *out_len = n;
            }
            pos += n;
            break;
        default:
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean decode_any(const Google__Protobuf__Any *any, char **out_config_path, GError **error)
{
    if (strcmp(any->type_url, SHIM_OPTIONS_TYPE_URL) != 0) {
        g_set_error(error, SHIM_ERROR, SHIM_ERROR_INVALID,
                    "runtime options of type '%s' are not supported (expected '%s')", any->type_url,
                    SHIM_OPTIONS_TYPE_URL);
        return FALSE;
    }
    Runtimeoptions__V1__Options *options =
        runtimeoptions__v1__options__unpack(NULL, any->value.len, any->value.data);
    if (!options) {
        g_set_error(error, SHIM_ERROR, SHIM_ERROR_INVALID,
                    "runtime options '%s': not a valid message", any->type_url);
        return FALSE;
    }
    *out_config_path = *options->config_path ? g_strdup(options->config_path) : NULL;
    runtimeoptions__v1__options__free_unpacked(options, NULL);
    return TRUE;
}

gboolean shim_options_decode(const guint8 *data, gsize len, char **out_config_path, GError **error)
{
    const guint8 *ext, *value;
    gsize ext_len, value_len;

    *out_config_path = NULL;
    if (len == 0)
        return TRUE;

    Google__Protobuf__Any *any = google__protobuf__any__unpack(NULL, len, data);
    /* An Any has fields 1 and 2 only; BootstrapParams always has more (namespace, addresses). */
    if (any && *any->type_url && any->base.n_unknown_fields == 0) {
        gboolean ok = decode_any(any, out_config_path, error);
        google__protobuf__any__free_unpacked(any, NULL);
        return ok;
    }
    if (any)
        google__protobuf__any__free_unpacked(any, NULL);

    /* BootstrapParams: the options Any sits in extensions[0].value; none means no options. */
    if (!find_bytes_field(data, len, BOOTSTRAP_EXTENSIONS, &ext, &ext_len) ||
        (ext && !find_bytes_field(ext, ext_len, EXTENSION_VALUE, &value, &value_len))) {
        g_set_error(error, SHIM_ERROR, SHIM_ERROR_INVALID,
                    "runtime options on stdin (%zu bytes): neither an Any nor BootstrapParams",
                    len);
        return FALSE;
    }
    if (!ext || !value)
        return TRUE;
    /* The extension holds the options Any itself; no further nesting is accepted. */
    Google__Protobuf__Any *inner = google__protobuf__any__unpack(NULL, value_len, value);
    if (!inner) {
        g_set_error_literal(error, SHIM_ERROR, SHIM_ERROR_INVALID,
                            "BootstrapParams: the extension is not an Any");
        return FALSE;
    }
    gboolean ok = decode_any(inner, out_config_path, error);
    google__protobuf__any__free_unpacked(inner, NULL);
    return ok;
}
