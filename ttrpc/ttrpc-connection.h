/* One connected stream fd on a GMainContext: non-blocking reads cut into frames, and a write
 * queue that survives partial writes. Knows frames, not messages. */
#pragma once

#include <glib.h>

#include "ttrpc-frame.h"

typedef struct _TtrpcConnection TtrpcConnection;

typedef struct {
    /* A whole frame arrived; @data (NULL when header->length is 0) lives during the call. */
    void (*frame)(TtrpcConnection *connection, const TtrpcFrameHeader *header, const guint8 *data,
                  gpointer user_data);
    /* A frame above the size cap arrived; its data is being dropped unread. */
    void (*oversized)(TtrpcConnection *connection, const TtrpcFrameHeader *header,
                      gpointer user_data);
    /* The connection ended (EOF, I/O error, truncated frame); called once, never after
     * ttrpc_connection_close(). */
    void (*closed)(TtrpcConnection *connection, const GError *error, gpointer user_data);
} TtrpcConnectionCallbacks;

/* Takes ownership of *@fd (sets it to -1), makes it non-blocking and close-on-exec, and starts
 * reading on @context. Callbacks are only ever called from @context's dispatch. */
TtrpcConnection *ttrpc_connection_new(int *fd, GMainContext *context,
                                      const TtrpcConnectionCallbacks *callbacks,
                                      gpointer user_data);
TtrpcConnection *ttrpc_connection_ref(TtrpcConnection *connection);
void ttrpc_connection_unref(TtrpcConnection *connection);

/* Queues one frame. Writes what the fd takes now; the rest goes out as it becomes writable.
 * A write error is reported later through closed(). FALSE (nothing queued) when @len is over
 * the cap or the connection is closed. */
gboolean ttrpc_connection_send(TtrpcConnection *connection, guint32 stream_id, TtrpcFrameType type,
                               const guint8 *data, gsize len);
/* The same for a whole frame built in place (ttrpc_frame_new()); takes @frame. */
gboolean ttrpc_connection_send_frame(TtrpcConnection *connection, GBytes *frame);

/* Stops all I/O and closes the fd now (queued writes are dropped); no callback follows. */
void ttrpc_connection_close(TtrpcConnection *connection);
gboolean ttrpc_connection_is_closed(TtrpcConnection *connection);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TtrpcConnection, ttrpc_connection_unref)
