/* The ttrpc frame codec. */
#include "ttrpc-frame.h"

#include <string.h>

typedef enum {
    DECODER_HEADER,  /* collecting the 10 header bytes */
    DECODER_DATA,    /* collecting header.length data bytes */
    DECODER_DISCARD, /* dropping the data of an oversized frame */
    DECODER_DONE,    /* a frame was returned; the next feed starts over */
} DecoderState;

struct _TtrpcFrameDecoder {
    DecoderState state;
    guint8 header_bytes[TTRPC_FRAME_HEADER_SIZE];
    gsize header_got;
    TtrpcFrameHeader header;
    guint8 *data;
    gsize data_got;
    gsize discard_left;
};

static void put_be32(guint8 *out, guint32 value)
{
    out[0] = value >> 24;
    out[1] = value >> 16;
    out[2] = value >> 8;
    out[3] = value;
}

static guint32 get_be32(const guint8 *in)
{
    return (guint32)in[0] << 24 | (guint32)in[1] << 16 | (guint32)in[2] << 8 | in[3];
}

void ttrpc_frame_header_encode(const TtrpcFrameHeader *header, guint8 out[TTRPC_FRAME_HEADER_SIZE])
{
    put_be32(out, header->length);
    put_be32(out + 4, header->stream_id);
    out[8] = header->type;
    out[9] = header->flags;
}

void ttrpc_frame_header_decode(const guint8 in[TTRPC_FRAME_HEADER_SIZE],
                               TtrpcFrameHeader *out_header)
{
    out_header->length = get_be32(in);
    out_header->stream_id = get_be32(in + 4);
    out_header->type = in[8];
    out_header->flags = in[9];
}

guint8 *ttrpc_frame_new(guint32 stream_id, TtrpcFrameType type, gsize len)
{
    if (len > TTRPC_FRAME_MAX_DATA)
        return NULL;
    TtrpcFrameHeader header = {.length = len, .stream_id = stream_id, .type = type};
    guint8 *frame = g_malloc(TTRPC_FRAME_HEADER_SIZE + len);
    ttrpc_frame_header_encode(&header, frame);
    return frame;
}

GBytes *ttrpc_frame_encode(guint32 stream_id, TtrpcFrameType type, const guint8 *data, gsize len)
{
    guint8 *frame = ttrpc_frame_new(stream_id, type, len);
    if (frame == NULL)
        return NULL;
    if (len > 0)
        memcpy(frame + TTRPC_FRAME_HEADER_SIZE, data, len);
    return g_bytes_new_take(frame, TTRPC_FRAME_HEADER_SIZE + len);
}

TtrpcFrameDecoder *ttrpc_frame_decoder_new(void)
{
    return g_new0(TtrpcFrameDecoder, 1);
}

void ttrpc_frame_decoder_free(TtrpcFrameDecoder *decoder)
{
    if (decoder == NULL)
        return;
    g_free(decoder->data);
    g_free(decoder);
}

static void decoder_restart(TtrpcFrameDecoder *decoder)
{
    g_clear_pointer(&decoder->data, g_free);
    decoder->header_got = 0;
    decoder->data_got = 0;
    decoder->state = DECODER_HEADER;
}

/* Moves up to @want bytes from the input to @dest; returns how many. */
static gsize take_input(const guint8 **data, gsize *len, guint8 *dest, gsize want)
{
    gsize n = MIN(want, *len);
    if (dest != NULL && n > 0)
        memcpy(dest, *data, n);
    *data += n;
    *len -= n;
    return n;
}

/* The header is complete: decide, before allocating anything, what its data needs. */
static TtrpcFrameResult decoder_header_done(TtrpcFrameDecoder *decoder)
{
    ttrpc_frame_header_decode(decoder->header_bytes, &decoder->header);
    if (decoder->header.length > TTRPC_FRAME_MAX_DATA) {
        decoder->discard_left = decoder->header.length;
        decoder->state = DECODER_DISCARD;
        return TTRPC_FRAME_OVERSIZED;
    }
    if (decoder->header.length == 0) {
        decoder->state = DECODER_DONE;
        return TTRPC_FRAME_COMPLETE;
    }
    decoder->data = g_malloc(decoder->header.length);
    decoder->state = DECODER_DATA;
    return TTRPC_FRAME_NEED_MORE;
}

TtrpcFrameResult ttrpc_frame_decoder_feed(TtrpcFrameDecoder *decoder, const guint8 **data,
                                          gsize *len)
{
    if (decoder->state == DECODER_DONE)
        decoder_restart(decoder);

    while (*len > 0) {
        switch (decoder->state) {
        case DECODER_HEADER: {
            decoder->header_got +=
                take_input(data, len, decoder->header_bytes + decoder->header_got,
                           TTRPC_FRAME_HEADER_SIZE - decoder->header_got);
            if (decoder->header_got < TTRPC_FRAME_HEADER_SIZE)
                break;
            TtrpcFrameResult result = decoder_header_done(decoder);
            if (result != TTRPC_FRAME_NEED_MORE)
                return result;
            break;
        }
        case DECODER_DATA:
            decoder->data_got += take_input(data, len, decoder->data + decoder->data_got,
                                            decoder->header.length - decoder->data_got);
            if (decoder->data_got == decoder->header.length) {
                decoder->state = DECODER_DONE;
                return TTRPC_FRAME_COMPLETE;
            }
            break;
        case DECODER_DISCARD:
            decoder->discard_left -= take_input(data, len, NULL, decoder->discard_left);
            if (decoder->discard_left == 0)
                decoder_restart(decoder);
            break;
        case DECODER_DONE:
            g_assert_not_reached();
        }
    }
    return TTRPC_FRAME_NEED_MORE;
}

const TtrpcFrameHeader *ttrpc_frame_decoder_header(TtrpcFrameDecoder *decoder)
{
    return &decoder->header;
}

const guint8 *ttrpc_frame_decoder_data(TtrpcFrameDecoder *decoder)
{
    return decoder->state == DECODER_DONE ? decoder->data : NULL;
}

gboolean ttrpc_frame_decoder_is_idle(TtrpcFrameDecoder *decoder)
{
    return decoder->state == DECODER_DONE ||
           (decoder->state == DECODER_HEADER && decoder->header_got == 0);
}
