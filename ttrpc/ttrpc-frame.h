/* The ttrpc frame: a 10-byte header (big-endian data length and stream id, type, flags)
 * followed by the data. Encoding, and an incremental decoder that accepts bytes in pieces of
 * any size. Pure functions over memory: no I/O here. */
#pragma once

#include <glib.h>

#define TTRPC_FRAME_HEADER_SIZE 10
/* Largest data length a frame may carry; longer frames are skipped unread. */
#define TTRPC_FRAME_MAX_DATA (4u << 20)

typedef enum {
    TTRPC_FRAME_REQUEST = 1,
    TTRPC_FRAME_RESPONSE = 2,
} TtrpcFrameType;

typedef struct {
    guint32 length; /* data bytes after the header */
    guint32 stream_id;
    guint8 type;
    guint8 flags;
} TtrpcFrameHeader;

void ttrpc_frame_header_encode(const TtrpcFrameHeader *header, guint8 out[TTRPC_FRAME_HEADER_SIZE]);
void ttrpc_frame_header_decode(const guint8 in[TTRPC_FRAME_HEADER_SIZE],
                               TtrpcFrameHeader *out_header);

/* A new buffer of TTRPC_FRAME_HEADER_SIZE + @len bytes holding the header of a frame of @len
 * data bytes, for the caller to write the data in place (no copy of a large message); free
 * with g_free(). Returns NULL when @len is above TTRPC_FRAME_MAX_DATA. */
guint8 *ttrpc_frame_new(guint32 stream_id, TtrpcFrameType type, gsize len);
/* One whole frame (header then @len bytes of @data) in a new buffer. Returns NULL when @len is
 * above TTRPC_FRAME_MAX_DATA. */
GBytes *ttrpc_frame_encode(guint32 stream_id, TtrpcFrameType type, const guint8 *data, gsize len);

typedef enum {
    TTRPC_FRAME_NEED_MORE, /* every byte given was consumed; feed more */
    TTRPC_FRAME_COMPLETE,  /* a frame is ready: see ttrpc_frame_decoder_header/_data */
    TTRPC_FRAME_OVERSIZED, /* a header above the cap: its data will be consumed and dropped */
} TtrpcFrameResult;

typedef struct _TtrpcFrameDecoder TtrpcFrameDecoder;

TtrpcFrameDecoder *ttrpc_frame_decoder_new(void);
void ttrpc_frame_decoder_free(TtrpcFrameDecoder *decoder);

/* Consumes bytes from *@data / *@len (advancing both) until a frame or an oversized header is
 * complete, or the input runs out. After TTRPC_FRAME_COMPLETE the frame stays readable until
 * the next call. The data buffer is allocated only once a header within the cap was seen. */
TtrpcFrameResult ttrpc_frame_decoder_feed(TtrpcFrameDecoder *decoder, const guint8 **data,
                                          gsize *len);
/* The header of the last complete or oversized frame. */
const TtrpcFrameHeader *ttrpc_frame_decoder_header(TtrpcFrameDecoder *decoder);
/* The data of the last complete frame (NULL when its length is 0); owned by the decoder. */
const guint8 *ttrpc_frame_decoder_data(TtrpcFrameDecoder *decoder);
/* TRUE between frames: end of input now is a clean end, anywhere else it truncates a frame. */
gboolean ttrpc_frame_decoder_is_idle(TtrpcFrameDecoder *decoder);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TtrpcFrameDecoder, ttrpc_frame_decoder_free)
