/* ttrpc: containerd's RPC protocol (unary calls) over any connected stream fd.
 *
 * Everything runs on one GMainContext; no function blocks except ttrpc_client_call_sync(),
 * which iterates the context itself. Nothing here is thread-safe.
 */
#pragma once

#include <glib.h>
#include <protobuf-c/protobuf-c.h>

G_BEGIN_DECLS

/* Errors of this domain carry gRPC status codes as their code. */
#define TTRPC_ERROR (ttrpc_error_quark())
GQuark ttrpc_error_quark(void);

typedef enum {
    TTRPC_CODE_OK = 0,
    TTRPC_CODE_CANCELLED = 1,
    TTRPC_CODE_UNKNOWN = 2,
    TTRPC_CODE_INVALID_ARGUMENT = 3,
    TTRPC_CODE_DEADLINE_EXCEEDED = 4,
    TTRPC_CODE_NOT_FOUND = 5,
    TTRPC_CODE_ALREADY_EXISTS = 6,
    TTRPC_CODE_PERMISSION_DENIED = 7,
    TTRPC_CODE_RESOURCE_EXHAUSTED = 8,
    TTRPC_CODE_FAILED_PRECONDITION = 9,
    TTRPC_CODE_ABORTED = 10,
    TTRPC_CODE_OUT_OF_RANGE = 11,
    TTRPC_CODE_UNIMPLEMENTED = 12,
    TTRPC_CODE_INTERNAL = 13,
    TTRPC_CODE_UNAVAILABLE = 14,
    TTRPC_CODE_DATA_LOSS = 15,
    TTRPC_CODE_UNAUTHENTICATED = 16,
    TTRPC_CODE_LAST
} TtrpcCode;

/* The gRPC name of a code ("NotFound"), for messages. */
const char *ttrpc_code_name(TtrpcCode code);

/* The status code a GError is sent with: TTRPC_ERROR keeps its code, G_IO_ERROR and
 * G_FILE_ERROR codes map to their gRPC kin (NOT_FOUND -> NotFound, ...), anything else ->
 * Unknown. */
TtrpcCode ttrpc_code_from_gerror(const GError *error);

/* ---- server ---------------------------------------------------------------------------- */

typedef struct _TtrpcServer TtrpcServer;
typedef struct _TtrpcCall TtrpcCall;

/* A method handler. The server decodes the request payload with the method's request type
 * before the handler runs (a payload that does not decode is answered InvalidArgument there and
 * the handler never runs), so @request is always a message of that type: cast it in one line.
 * The server owns @request and frees it when the handler returns, even if the call is still
 * open: a handler that completes @call later copies what it keeps (ttrpc_message_copy() for the
 * whole message). The handler must complete @call exactly once, now or later, with
 * ttrpc_call_return() or ttrpc_call_return_error(); until then the server keeps @call alive even
 * if the connection drops or the deadline passes (completion is then silently dropped). */
typedef void (*TtrpcHandler)(TtrpcCall *call, const ProtobufCMessage *request, gpointer user_data);

typedef struct {
    const char *name;                               /* method name, e.g. "Create" */
    const ProtobufCMessageDescriptor *request_type; /* never NULL */
    TtrpcHandler handler;
} TtrpcMethod;

/* @context: NULL for the thread-default context. */
TtrpcServer *ttrpc_server_new(GMainContext *context);
/* Closes every listener and connection; pending calls are cancelled (completions dropped). */
void ttrpc_server_free(TtrpcServer *server);

/* Registers @service ("containerd.task.v2.Task"); @methods must outlive the server. */
void ttrpc_server_register(TtrpcServer *server, const char *service, const TtrpcMethod *methods,
                           gsize n_methods, gpointer user_data);

/* Creates a unix socket at @path (mode 0600) and accepts on it. Peers must have the server's
 * euid and egid (SO_PEERCRED), as containerd requires. Fails if @path exists (remove a stale
 * socket first); ttrpc_server_free() removes the socket file again. */
gboolean ttrpc_server_listen_unix(TtrpcServer *server, const char *path, GError **error);
/* Accepts on an already listening socket; takes ownership of *@listen_fd and sets it to -1.
 * A unix socket gets the SO_PEERCRED check too; its file is left alone. */
gboolean ttrpc_server_listen_fd(TtrpcServer *server, int *listen_fd, GError **error);
/* Serves one connected stream fd (socketpair end, virtio-serial port, vsock); takes ownership
 * of *@fd and sets it to -1. */
void ttrpc_server_serve_fd(TtrpcServer *server, int *fd);

/* Called when a served connection ends (peer closed, read error or protocol error). */
typedef void (*TtrpcConnectionClosedFunc)(TtrpcServer *server, gpointer user_data);
void ttrpc_server_set_closed_func(TtrpcServer *server, TtrpcConnectionClosedFunc func,
                                  gpointer user_data);
guint ttrpc_server_n_connections(TtrpcServer *server);

/* Completes @call with @reply (NULL: an empty reply). Frees @call. */
void ttrpc_call_return(TtrpcCall *call, const ProtobufCMessage *reply);
/* Completes @call with a status. Frees @call. */
void ttrpc_call_return_error(TtrpcCall *call, TtrpcCode code, const char *format, ...)
    G_GNUC_PRINTF(3, 4);
/* As above from a GError: TTRPC_ERROR keeps its code, G_IO_ERROR_NOT_FOUND -> NotFound, etc.,
 * anything else -> Unknown. */
void ttrpc_call_return_gerror(TtrpcCall *call, const GError *error);

/* Monotonic deadline (g_get_monotonic_time() units) from timeout_nano, or 0 for none. */
gint64 ttrpc_call_get_deadline(TtrpcCall *call);
/* The request metadata value for @key (compared ignoring ASCII case), or NULL. */
const char *ttrpc_call_get_metadata(TtrpcCall *call, const char *key);
/* TRUE once the connection is gone or the deadline has passed: a reply would be dropped. */
gboolean ttrpc_call_is_cancelled(TtrpcCall *call);
const char *ttrpc_call_get_method(TtrpcCall *call);

/* ---- protobuf-c messages --------------------------------------------------------------- */

/* Frees a message that protobuf_c_message_unpack() made with the default allocator (as every
 * decoded request and reply here is); NULL is ignored. */
void ttrpc_message_free(ProtobufCMessage *message);
/* A deep copy of @message, to be freed with ttrpc_message_free(): what a handler keeps of its
 * request past its return. */
ProtobufCMessage *ttrpc_message_copy(const ProtobufCMessage *message);

/* ---- client ---------------------------------------------------------------------------- */

typedef struct _TtrpcClient TtrpcClient;

/* The result of one call: on success @error is NULL and @payload/@len hold the reply message
 * (valid only during the callback); otherwise @error is in TTRPC_ERROR with the status code
 * (TTRPC_CODE_UNAVAILABLE when the connection dropped, DEADLINE_EXCEEDED on timeout).
 * Called exactly once, always from the main context, never from inside ttrpc_client_call(). */
typedef void (*TtrpcReplyFunc)(const guint8 *payload, gsize len, const GError *error,
                               gpointer user_data);

/* Takes ownership of *@fd (a connected stream) and sets it to -1. */
TtrpcClient *ttrpc_client_new(int *fd, GMainContext *context);
TtrpcClient *ttrpc_client_connect_unix(const char *path, GMainContext *context, GError **error);
/* Fails every pending call with UNAVAILABLE (their callbacks run from the main context),
 * closes the fd, frees @client. */
void ttrpc_client_free(TtrpcClient *client);

/* Metadata sent with every later call (e.g. containerd-namespace-ttrpc); the key is sent in
 * lower case, as Go's ttrpc does. */
void ttrpc_client_set_metadata(TtrpcClient *client, const char *key, const char *value);

/* Called once when the connection ends; pending calls fail as described above. */
typedef void (*TtrpcClientClosedFunc)(TtrpcClient *client, gpointer user_data);
void ttrpc_client_set_closed_func(TtrpcClient *client, TtrpcClientClosedFunc func,
                                  gpointer user_data);
gboolean ttrpc_client_is_closed(TtrpcClient *client);

/* Sends a call. @timeout_us: 0 for none; otherwise both sent as timeout_nano and enforced
 * locally. @request NULL sends an empty message. */
void ttrpc_client_call(TtrpcClient *client, const char *service, const char *method,
                       const ProtobufCMessage *request, gint64 timeout_us, TtrpcReplyFunc func,
                       gpointer user_data);

/* Blocking form for command-line tools and tests: iterates the client's context until the
 * reply arrives. Returns the reply bytes (g_bytes, never NULL on success; may be empty). */
GBytes *ttrpc_client_call_sync(TtrpcClient *client, const char *service, const char *method,
                               const ProtobufCMessage *request, gint64 timeout_us, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TtrpcServer, ttrpc_server_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TtrpcClient, ttrpc_client_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ProtobufCMessage, ttrpc_message_free)

G_END_DECLS
