/* Shared helpers for the ttrpc tests: a private main context, a server and a client joined
 * by a socketpair, a raw peer that writes and reads frames by hand, and an echo service. */
#pragma once

#include <check.h>
#include <glib.h>

#include "test-util.h"
#include "ttrpc-frame.h"
#include "ttrpc.h"
#include "ttrpc.pb-c.h"

#define TEST_SERVICE "test.v1.Echo"

typedef struct {
    GMainContext *context;
    TtrpcServer *server;
    TtrpcClient *client; /* NULL when the test talks raw bytes over raw_fd instead */
    int raw_fd;
    GPtrArray *held;     /* TtrpcCall kept by the "Hold" method until the test answers them */
    GPtrArray *recorded; /* copies of the requests the "Record" method got (server rigs only) */
    guint n_closed;      /* server connections that ended */
} TestRig;

/* A server serving one end of a socketpair; the other end goes to a client when @with_client,
 * or stays in rig->raw_fd. */
TestRig *test_rig_new(gboolean with_client);
/* A client whose peer is the raw fd (no server): the test plays the server by hand. */
TestRig *test_rig_new_client_only(void);
void test_rig_free(TestRig *rig);

/* How long TEST_UTIL_WAIT() waits for something the rig does (the rig's context is the
 * thread-default one while it lives). */
#define TEST_WAIT_US (5 * G_USEC_PER_SEC)

/* Iterates without blocking until nothing is ready. */
void test_rig_drain(TestRig *rig);

/* Raw peer: writes a frame with any header fields; reads one frame (iterating the context). */
void raw_send(TestRig *rig, guint32 length, guint32 stream_id, guint8 type, const guint8 *data,
              gsize data_len);
/* Writes all of @data without blocking, running the context while the socket is full (the
 * peer may only read as we write). */
void raw_send_draining(TestRig *rig, const guint8 *data, gsize len);
/* A whole Request frame calling TEST_SERVICE/@method. */
GBytes *test_request_frame(guint32 stream_id, const char *method, const guint8 *payload,
                           gsize payload_len, gint64 timeout_nano);
/* Sends test_request_frame() with raw_send_draining(). */
void raw_send_call(TestRig *rig, guint32 stream_id, const char *method, const guint8 *payload,
                   gsize payload_len, gint64 timeout_nano);
/* Reads one frame's header and data (g_free) from the raw fd; FALSE on EOF. */
gboolean raw_read_frame(TestRig *rig, TtrpcFrameHeader *out_header, guint8 **out_data);
/* Reads one frame that must be a Request; returns it decoded. */
Ttrpc__Request *raw_receive_request(TestRig *rig, guint32 *out_stream_id);
/* Returns the decoded Response; *@out_length gets the frame's data length. */
Ttrpc__Response *raw_receive(TestRig *rig, guint32 *out_stream_id, guint32 *out_length);
/* TRUE when the server closed the raw connection (EOF within a few seconds). */
gboolean raw_wait_eof(TestRig *rig);

/* A message to echo: a KeyValue with @key and @value. */
#define TEST_KV(name, k, v)                                                                        \
    Ttrpc__KeyValue name = TTRPC__KEY_VALUE__INIT;                                                 \
    name.key = (char *)(k);                                                                        \
    name.value = (char *)(v)

/* Records one client reply. */
typedef struct {
    gboolean done;
    GBytes *payload;
    GError *error;
    guint order; /* when it arrived, counting from 1 */
} TestReply;

void test_reply_func(const guint8 *payload, gsize len, const GError *error, gpointer user_data);
void test_reply_clear(TestReply *reply);

void response_free(Ttrpc__Response *response);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Ttrpc__Response, response_free)
void request_free(Ttrpc__Request *request);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Ttrpc__Request, request_free)
