/* The frame codec: header layout, partial input, zero-length and maximum-size frames,
 * oversized frames dropped without buffering, truncated input. */
#include <stdlib.h>
#include <string.h>

#include "ttrpc-test-util.h"

START_TEST(test_header_is_big_endian)
{
    TtrpcFrameHeader header = {.length = 0x27, .stream_id = 0x0f, .type = 1, .flags = 0};
    guint8 bytes[TTRPC_FRAME_HEADER_SIZE];
    const guint8 expected[] = {0, 0, 0, 0x27, 0, 0, 0, 0x0f, 1, 0};
    ttrpc_frame_header_encode(&header, bytes);
    ck_assert_mem_eq(bytes, expected, sizeof(expected));

    const guint8 big[] = {0x01, 0x02, 0x03, 0x04, 0xff, 0xfe, 0xfd, 0xfc, 2, 0x80};
    ttrpc_frame_header_decode(big, &header);
    ck_assert_uint_eq(header.length, 0x01020304);
    ck_assert_uint_eq(header.stream_id, 0xfffefdfc);
    ck_assert_uint_eq(header.type, 2);
    ck_assert_uint_eq(header.flags, 0x80);
}
END_TEST

/* Feeds @bytes in pieces of @piece bytes; collects every complete frame's data as GBytes. */
static GPtrArray *feed_in_pieces(TtrpcFrameDecoder *decoder, const guint8 *bytes, gsize len,
                                 gsize piece, guint *out_oversized)
{
    GPtrArray *frames = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    *out_oversized = 0;
    for (gsize offset = 0; offset < len; offset += piece) {
        const guint8 *data = bytes + offset;
        gsize left = MIN(piece, len - offset);
        while (left > 0) {
            TtrpcFrameResult result = ttrpc_frame_decoder_feed(decoder, &data, &left);
            const TtrpcFrameHeader *header = ttrpc_frame_decoder_header(decoder);
            if (result == TTRPC_FRAME_COMPLETE)
                g_ptr_array_add(frames,
                                g_bytes_new(ttrpc_frame_decoder_data(decoder), header->length));
            else if (result == TTRPC_FRAME_OVERSIZED)
                (*out_oversized)++;
        }
    }
    return frames;
}

/* Three frames back to back (5 bytes, 0 bytes, 3 bytes), split at every possible size. */
START_TEST(test_partial_input)
{
    g_autoptr(GByteArray) stream = g_byte_array_new();
    const char *payloads[] = {"hello", "", "abc"};
    for (guint i = 0; i < G_N_ELEMENTS(payloads); i++) {
        g_autoptr(GBytes) frame = ttrpc_frame_encode(
            2 * i + 1, TTRPC_FRAME_REQUEST, (const guint8 *)payloads[i], strlen(payloads[i]));
        g_byte_array_append(stream, g_bytes_get_data(frame, NULL), g_bytes_get_size(frame));
    }
    for (gsize piece = 1; piece <= stream->len; piece++) {
        g_autoptr(TtrpcFrameDecoder) decoder = ttrpc_frame_decoder_new();
        guint oversized;
        g_autoptr(GPtrArray) frames =
            feed_in_pieces(decoder, stream->data, stream->len, piece, &oversized);
        ck_assert_uint_eq(oversized, 0);
        ck_assert_uint_eq(frames->len, 3);
        for (guint i = 0; i < 3; i++) {
            GBytes *data = g_ptr_array_index(frames, i);
            ck_assert_uint_eq(g_bytes_get_size(data), strlen(payloads[i]));
            if (g_bytes_get_size(data) > 0)
                ck_assert_mem_eq(g_bytes_get_data(data, NULL), payloads[i], strlen(payloads[i]));
        }
        ck_assert(ttrpc_frame_decoder_is_idle(decoder));
        ck_assert_uint_eq(ttrpc_frame_decoder_header(decoder)->stream_id, 5);
    }
}
END_TEST

START_TEST(test_zero_length_frame)
{
    g_autoptr(GBytes) frame = ttrpc_frame_encode(7, TTRPC_FRAME_RESPONSE, NULL, 0);
    ck_assert_uint_eq(g_bytes_get_size(frame), TTRPC_FRAME_HEADER_SIZE);
    g_autoptr(TtrpcFrameDecoder) decoder = ttrpc_frame_decoder_new();
    const guint8 *data = g_bytes_get_data(frame, NULL);
    gsize len = TTRPC_FRAME_HEADER_SIZE;
    ck_assert_int_eq(ttrpc_frame_decoder_feed(decoder, &data, &len), TTRPC_FRAME_COMPLETE);
    ck_assert_uint_eq(len, 0);
    ck_assert_ptr_null(ttrpc_frame_decoder_data(decoder));
    ck_assert_uint_eq(ttrpc_frame_decoder_header(decoder)->length, 0);
    ck_assert_uint_eq(ttrpc_frame_decoder_header(decoder)->type, TTRPC_FRAME_RESPONSE);
}
END_TEST

START_TEST(test_maximum_size)
{
    g_autofree guint8 *payload = g_malloc(TTRPC_FRAME_MAX_DATA);
    for (gsize i = 0; i < TTRPC_FRAME_MAX_DATA; i++)
        payload[i] = i * 7;
    g_autoptr(GBytes) frame =
        ttrpc_frame_encode(1, TTRPC_FRAME_REQUEST, payload, TTRPC_FRAME_MAX_DATA);
    ck_assert_ptr_nonnull(frame);
    ck_assert_ptr_null(
        ttrpc_frame_encode(1, TTRPC_FRAME_REQUEST, payload, TTRPC_FRAME_MAX_DATA + 1));

    g_autoptr(TtrpcFrameDecoder) decoder = ttrpc_frame_decoder_new();
    guint oversized;
    g_autoptr(GPtrArray) frames = feed_in_pieces(decoder, g_bytes_get_data(frame, NULL),
                                                 g_bytes_get_size(frame), 65536, &oversized);
    ck_assert_uint_eq(oversized, 0);
    ck_assert_uint_eq(frames->len, 1);
    GBytes *data = g_ptr_array_index(frames, 0);
    ck_assert_uint_eq(g_bytes_get_size(data), TTRPC_FRAME_MAX_DATA);
    ck_assert(memcmp(g_bytes_get_data(data, NULL), payload, TTRPC_FRAME_MAX_DATA) == 0);
}
END_TEST

/* A header claiming 4 GiB - 1 must not allocate: the bytes that follow are skipped as they come,
 * and the frame after the oversized one decodes normally. */
START_TEST(test_oversized_is_skipped)
{
    const guint32 sizes[] = {TTRPC_FRAME_MAX_DATA + 1, 0xffffffff};
    for (guint s = 0; s < G_N_ELEMENTS(sizes); s++) {
        g_autoptr(TtrpcFrameDecoder) decoder = ttrpc_frame_decoder_new();
        guint8 header[TTRPC_FRAME_HEADER_SIZE];
        TtrpcFrameHeader h = {.length = sizes[s], .stream_id = 9, .type = 1};
        ttrpc_frame_header_encode(&h, header);
        const guint8 *data = header;
        gsize len = sizeof(header);
        ck_assert_int_eq(ttrpc_frame_decoder_feed(decoder, &data, &len), TTRPC_FRAME_OVERSIZED);
        ck_assert_uint_eq(ttrpc_frame_decoder_header(decoder)->length, sizes[s]);
        ck_assert_uint_eq(ttrpc_frame_decoder_header(decoder)->stream_id, 9);
        ck_assert(!ttrpc_frame_decoder_is_idle(decoder));
        if (sizes[s] != TTRPC_FRAME_MAX_DATA + 1)
            continue;
        /* Drop the body in chunks, then a normal frame must come through. */
        g_autofree guint8 *junk = g_malloc0(65536);
        gsize left = sizes[s];
        while (left > 0) {
            gsize n = MIN(left, 65536);
            data = junk;
            len = n;
            ck_assert_int_eq(ttrpc_frame_decoder_feed(decoder, &data, &len), TTRPC_FRAME_NEED_MORE);
            ck_assert_uint_eq(len, 0);
            left -= n;
        }
        ck_assert(ttrpc_frame_decoder_is_idle(decoder));
        g_autoptr(GBytes) next =
            ttrpc_frame_encode(11, TTRPC_FRAME_REQUEST, (const guint8 *)"ok", 2);
        data = g_bytes_get_data(next, &len);
        ck_assert_int_eq(ttrpc_frame_decoder_feed(decoder, &data, &len), TTRPC_FRAME_COMPLETE);
        ck_assert_uint_eq(ttrpc_frame_decoder_header(decoder)->stream_id, 11);
        ck_assert_mem_eq(ttrpc_frame_decoder_data(decoder), "ok", 2);
    }
}
END_TEST

START_TEST(test_truncated_is_not_idle)
{
    g_autoptr(GBytes) frame =
        ttrpc_frame_encode(1, TTRPC_FRAME_REQUEST, (const guint8 *)"abcdef", 6);
    gsize size = g_bytes_get_size(frame);
    for (gsize cut = 1; cut < size; cut++) {
        g_autoptr(TtrpcFrameDecoder) decoder = ttrpc_frame_decoder_new();
        const guint8 *data = g_bytes_get_data(frame, NULL);
        gsize len = cut;
        ck_assert_int_eq(ttrpc_frame_decoder_feed(decoder, &data, &len), TTRPC_FRAME_NEED_MORE);
        ck_assert(!ttrpc_frame_decoder_is_idle(decoder));
    }
}
END_TEST

static Suite *frame_suite(void)
{
    Suite *suite = suite_create("ttrpc-frame");
    TCase *codec = tcase_create("codec");
    tcase_add_test(codec, test_header_is_big_endian);
    tcase_add_test(codec, test_partial_input);
    tcase_add_test(codec, test_zero_length_frame);
    tcase_add_test(codec, test_maximum_size);
    tcase_add_test(codec, test_oversized_is_skipped);
    tcase_add_test(codec, test_truncated_is_not_idle);
    suite_add_tcase(suite, codec);
    return suite;
}

int main(void)
{
    return test_util_run(frame_suite(), CK_NOFORK);
}
