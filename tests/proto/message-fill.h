/* Builds protobuf-c messages of any type with every field set, for wire comparisons. */
#pragma once

#include <glib.h>
#include <protobuf-c/protobuf-c.h>

G_BEGIN_DECLS

/* Fields for which this returns TRUE are left unset. */
typedef gboolean (*MessageFillSkip)(const ProtobufCMessageDescriptor *message,
                                    const ProtobufCFieldDescriptor *field);

/* A new message of type @descriptor with every field set to a value that differs from the
 * default and from every other field's: negative numbers for signed types, values above 2^31 or
 * 2^63 for unsigned ones, non-ASCII strings, binary bytes, non-zero enum values. Repeated fields
 * and maps get two elements (map keys ascending, as protoc prints them). Message fields are
 * filled down to @depth levels and left unset below. Caller owns the result. */
ProtobufCMessage *message_fill(const ProtobufCMessageDescriptor *descriptor, guint depth,
                               MessageFillSkip skip);

/* TRUE when @message or any message inside it holds fields its definition does not know. */
gboolean message_has_unknown_fields(const ProtobufCMessage *message);

static inline void message_fill_free(ProtobufCMessage *message)
{
    protobuf_c_message_free_unpacked(message, NULL);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ProtobufCMessage, message_fill_free)

G_END_DECLS
