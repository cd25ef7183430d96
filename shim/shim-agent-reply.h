/* What a decoded agent reply may hold, whatever the call: the guest is untrusted, so every
 * number and id it sends is held to the bounds of proto/agent.proto before a handler sees it.
 * Bounds that depend on the request (a read's max_bytes) stay with the caller. */
#pragma once

#include <glib.h>
#include <protobuf-c/protobuf-c.h>

/* The agent's limits the shim relies on (proto/agent.proto). */
#define SHIM_AGENT_MAX_PIDS 4096
#define SHIM_AGENT_READ_MAX (1024 * 1024)

/* TRUE when @reply keeps to them; else FALSE with an error naming the field. */
gboolean shim_agent_reply_check(const ProtobufCMessage *reply, GError **error);
