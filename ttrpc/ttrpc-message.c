/* Ownership helpers for protobuf-c messages: the one free and copy that handlers and callers use.
 */
#include "ttrpc.h"

void ttrpc_message_free(ProtobufCMessage *message)
{
    if (message != NULL)
        protobuf_c_message_free_unpacked(message, NULL);
}

/* protobuf-c has no deep copy; a message packs and unpacks to an equal one (unknown fields too). */
ProtobufCMessage *ttrpc_message_copy(const ProtobufCMessage *message)
{
    gsize len = protobuf_c_message_get_packed_size(message);
    g_autofree guint8 *bytes = g_malloc(MAX(len, 1));

    protobuf_c_message_pack(message, bytes);
    ProtobufCMessage *copy = protobuf_c_message_unpack(message->descriptor, NULL, len, bytes);
    g_assert(copy != NULL);
    return copy;
}
