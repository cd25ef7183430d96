/* Fuzz target: what the shim does with the bytes of an agent reply, for every call of the agent
 * API. Input: one byte choosing the call (its index in the generated service descriptor, modulo
 * the number of calls), then the reply's bytes. They are decoded as the shim's agent client does
 * (shim-agent.c) and held to shim_agent_reply_check(); a reply that passes is encoded again, as
 * the shim does when it forwards one (Stats). A hostile agent may get its pod ended; it must not
 * crash the shim or make it allocate without bound (the sanitizers watch). */
#include <stdint.h>

#include "agent.pb-c.h"
#include "shim-agent-reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const ProtobufCServiceDescriptor *service = &secure__agent__v1__agent__descriptor;
    if (size == 0)
        return 0;
    const ProtobufCMessageDescriptor *type = service->methods[data[0] % service->n_methods].output;
    ProtobufCMessage *reply = protobuf_c_message_unpack(type, NULL, size - 1, data + 1);
    g_autoptr(GError) error = NULL;

    if (reply == NULL)
        return 0;
    if (shim_agent_reply_check(reply, &error)) {
        gsize len = protobuf_c_message_get_packed_size(reply);
        g_autofree uint8_t *again = g_malloc(len + 1);
        g_assert(protobuf_c_message_pack(reply, again) == len);
    } else {
        g_assert(error != NULL && error->message[0] != '\0');
    }
    protobuf_c_message_free_unpacked(reply, NULL);
    return 0;
}
