/* Task events to containerd: Events/Forward calls on $TTRPC_ADDRESS, sent one at a time from an
 * ordered queue so that create < start < exit < delete holds on the wire. */
#pragma once

#include <glib.h>
#include <protobuf-c/protobuf-c.h>

typedef struct _ShimEvents ShimEvents;

/* @address: containerd's ttrpc socket path (NULL or "": events are dropped, with a debug log). */
ShimEvents *shim_events_new(const char *address, const char *namespace);
void shim_events_free(ShimEvents *events);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ShimEvents, shim_events_free)

/* Queues @event (packed now; the caller keeps ownership) under @topic ("/tasks/exit"). Its Any
 * type URL is the bare full name of the message type ("containerd.events.TaskExit"). */
void shim_events_publish(ShimEvents *events, const char *topic, const ProtobufCMessage *event);

/* TRUE when nothing is queued or in flight. */
gboolean shim_events_is_idle(ShimEvents *events);
