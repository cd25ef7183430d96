/* How the shim's core answers a request: one callback with the reply message or an error, so
 * that the core knows nothing of the transport. shim-task-service.c turns it into a ttrpc
 * answer; tests call the core directly. */
#pragma once

#include <glib.h>
#include <protobuf-c/protobuf-c.h>

#include "shim-error.h"

/* @reply: borrowed for the call; NULL with @error, or for an empty reply (google.protobuf.Empty).
 * @error: borrowed, NULL on success. Called exactly once per request, possibly before the
 * request's function returns. */
typedef void (*ShimReplyFunc)(const ProtobufCMessage *reply, const GError *error,
                              gpointer user_data);

/* Answers @func with SHIM_ERROR @code and the formatted message. */
void shim_reply_error(ShimReplyFunc func, gpointer user_data, ShimErrorCode code,
                      const char *format, ...) G_GNUC_PRINTF(4, 5);
