/* A process's stdio (or a forwarded connection) as the agent serves it: output read on the loop
 * into a bounded buffer and handed to blocking reads; input written without blocking the loop. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Most bytes buffered per output stream; past that the agent stops reading the pipe, so a
 * process that writes faster than the host reads blocks on its own write. */
#define AGENT_OUTPUT_BUFFER_MAX (1024 * 1024)

typedef struct _AgentOutput AgentOutput;
typedef struct _AgentInput AgentInput;

/* Completes a read: @data/@len (valid during the call) and @eof (no more data will come).
 * Returns FALSE when the reader is gone (its caller disconnected): the bytes then stay for the
 * next read. */
typedef gboolean (*AgentReadFunc)(const guint8 *data, gsize len, gboolean eof, gpointer user_data);
/* Completes a write: @error NULL when every byte was written. */
typedef void (*AgentWriteFunc)(gsize written, const GError *error, gpointer user_data);

/* Reads @fd (a pipe or a pty master; taken, set to -1) on @context. @fd -1 gives a stream that is
 * at EOF from the start (stderr of a terminal process). */
AgentOutput *agent_output_new(int *fd, GMainContext *context);
/* Queues a read of at most @max_bytes; @func runs (from this call or the loop) once data or EOF
 * is there. Reads complete in the order they were queued. */
void agent_output_read(AgentOutput *output, gsize max_bytes, AgentReadFunc func,
                       gpointer user_data);
/* TRUE once the writer side is closed and every byte has been handed out. */
gboolean agent_output_is_done(AgentOutput *output);
/* Bytes the writer has produced so far: read from the fd, plus what it holds unread. */
guint64 agent_output_get_produced(AgentOutput *output);
/* Pending reads complete with EOF. */
void agent_output_free(AgentOutput *output);

/* What an input's fd is, which decides how agent_input_close() ends it. */
typedef enum {
    AGENT_INPUT_PIPE,   /* closing the fd is the end */
    AGENT_INPUT_TTY,    /* a pty master: the terminal's end-of-file character is the end */
    AGENT_INPUT_SOCKET, /* a stream socket: shutdown(SHUT_WR) is the end, other fds of it may
                         * go on reading */
    AGENT_INPUT_LAST
} AgentInputKind;

/* Writes to @fd (taken, set to -1). */
AgentInput *agent_input_new(int *fd, AgentInputKind kind, GMainContext *context);
/* Writes all of @data (copied); @func runs once it is written or the write failed. */
void agent_input_write(AgentInput *input, const guint8 *data, gsize len, AgentWriteFunc func,
                       gpointer user_data);
/* Ends the input after the queued writes. Later writes fail. */
void agent_input_close(AgentInput *input);
/* Pending writes fail. */
void agent_input_free(AgentInput *input);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgentOutput, agent_output_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AgentInput, agent_input_free)

G_END_DECLS
