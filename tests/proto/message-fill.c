/* Generic message filling, driven by the protobuf-c descriptors (see message-fill.h). */
#include "message-fill.h"

#include <string.h>

typedef struct {
    MessageFillSkip skip;
    guint32 counter; /* makes every value distinct */
} Filler;

static gpointer member(ProtobufCMessage *message, unsigned offset)
{
    return (guint8 *)message + offset;
}

static gsize value_size(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return sizeof(guint64);
    case PROTOBUF_C_TYPE_DOUBLE:
        return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    default: /* the 32-bit integers, float and enum */
        return sizeof(guint32);
    }
}

/* A NUL and an invalid UTF-8 byte first: bytes keep them, a string field would not. */
static ProtobufCBinaryData binary_value(const char *name, guint32 n)
{
    g_autofree char *text = g_strdup_printf("%s-%04u", name, n);
    GByteArray *bytes = g_byte_array_new();
    g_byte_array_append(bytes, (const guint8 *)"\0\xff", 2);
    g_byte_array_append(bytes, (const guint8 *)text, strlen(text));
    gsize len = bytes->len;
    return (ProtobufCBinaryData){len, g_byte_array_free(bytes, FALSE)};
}

static ProtobufCMessage *fill(Filler *filler, const ProtobufCMessageDescriptor *descriptor,
                              guint depth);

/* Writes one value of @field's type to @value; FALSE when it would be a message below the
 * depth limit. */
static gboolean fill_value(Filler *filler, const ProtobufCFieldDescriptor *field, gpointer value,
                           guint depth)
{
    guint32 n = ++filler->counter;
    const ProtobufCEnumDescriptor *enum_type = field->descriptor;
    switch (field->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        *(gint32 *)value = -(gint32)n * 1000003;
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        *(guint32 *)value = 0x80000000u + n;
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        *(gint64 *)value = -((gint64)1 << 40) - n;
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        *(guint64 *)value = ((guint64)1 << 63) + n;
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        *(float *)value = (float)n + 0.5f;
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        *(double *)value = n + 0.25;
        break;
    case PROTOBUF_C_TYPE_BOOL:
        *(protobuf_c_boolean *)value = TRUE;
        break;
    case PROTOBUF_C_TYPE_ENUM:
        /* the last value: not the zero default when the enum has more than one */
        *(gint32 *)value = enum_type->values[enum_type->n_values - 1].value;
        break;
    case PROTOBUF_C_TYPE_STRING:
        *(char **)value = g_strdup_printf("%s-%04u-\u00e9", field->name, n);
        break;
    case PROTOBUF_C_TYPE_BYTES:
        *(ProtobufCBinaryData *)value = binary_value(field->name, n);
        break;
    case PROTOBUF_C_TYPE_MESSAGE:
        if (depth == 0)
            return FALSE;
        *(ProtobufCMessage **)value = fill(filler, field->descriptor, depth - 1);
        break;
    }
    return TRUE;
}

static void fill_repeated(Filler *filler, ProtobufCMessage *message,
                          const ProtobufCFieldDescriptor *field, guint depth)
{
    enum { ELEMENTS = 2 };
    gsize size = value_size(field->type);
    guint8 *values = g_malloc0(ELEMENTS * size);
    size_t n = 0;
    while (n < ELEMENTS && fill_value(filler, field, values + n * size, depth))
        n++;
    if (n == 0) {
        g_free(values);
        return;
    }
    *(size_t *)member(message, field->quantifier_offset) = n;
    *(gpointer *)member(message, field->offset) = values;
}

static ProtobufCMessage *fill(Filler *filler, const ProtobufCMessageDescriptor *descriptor,
                              guint depth)
{
    ProtobufCMessage *message = g_malloc0(descriptor->sizeof_message);
    descriptor->message_init(message);
    for (unsigned i = 0; i < descriptor->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &descriptor->fields[i];
        if (filler->skip && filler->skip(descriptor, field))
            continue;
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            fill_repeated(filler, message, field, depth);
            continue;
        }
        gboolean set = fill_value(filler, field, member(message, field->offset), depth);
        /* explicit presence (proto2, proto3 optional) of a value that is not a pointer */
        if (set && field->label == PROTOBUF_C_LABEL_OPTIONAL && field->quantifier_offset)
            *(protobuf_c_boolean *)member(message, field->quantifier_offset) = TRUE;
    }
    return message;
}

ProtobufCMessage *message_fill(const ProtobufCMessageDescriptor *descriptor, guint depth,
                               MessageFillSkip skip)
{
    Filler filler = {.skip = skip};
    return fill(&filler, descriptor, depth);
}

gboolean message_has_unknown_fields(const ProtobufCMessage *message)
{
    if (message->n_unknown_fields > 0)
        return TRUE;
    const ProtobufCMessageDescriptor *descriptor = message->descriptor;
    const guint8 *base = (const guint8 *)message;
    for (unsigned i = 0; i < descriptor->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &descriptor->fields[i];
        if (field->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        ProtobufCMessage *const *values = (ProtobufCMessage *const *)(base + field->offset);
        size_t n = 1;
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            n = *(const size_t *)(base + field->quantifier_offset);
            values = *(ProtobufCMessage *const *const *)(base + field->offset);
        }
        for (size_t j = 0; j < n; j++) {
            if (values[j] && message_has_unknown_fields(values[j]))
                return TRUE;
        }
    }
    return FALSE;
}
