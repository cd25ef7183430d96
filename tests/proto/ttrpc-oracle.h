/* ttrpc v1.1 ships no .proto for its envelope (Request, Response, KeyValue): the types exist
 * only as Go structs with `protobuf:"..."` struct tags. This turns those tags into an equivalent
 * .proto, so the envelope is checked against ttrpc's own definition like every other message.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Reads the Go file @types_go and writes the .proto its tagged structs describe to @proto_path.
 * Fails on any tag or Go type it cannot translate exactly. */
gboolean ttrpc_oracle_write(const char *types_go, const char *proto_path, GError **error);

G_END_DECLS
