/* A process's stdio: containerd's fifos on one side, the agent's stream calls on the other. */
#pragma once

#include <glib.h>

#include "shim-agent.h"

typedef struct _ShimIo ShimIo;

/* A relay event for its owner: the streams drained, or delivered what was expected. */
typedef void (*ShimIoFunc)(gpointer user_data);

/* Opens the fifos ("" = not connected) the way that never blocks and never loses the reader:
 * stdout/stderr O_RDWR, stdin read end plus our own write end held until CloseIO. */
ShimIo *shim_io_open(const char *stdin_path, const char *stdout_path, const char *stderr_path,
                     GError **error);
/* TRUE if a stdin fifo was given. */
gboolean shim_io_has_stdin(ShimIo *io);

/* Starts relaying for the process (@exec_id "" = init) once it runs. @agent must outlive the
 * relay or be freed first (pending reads then end the streams). @drained is called once both
 * output streams have reached EOF (or were closed). */
void shim_io_start(ShimIo *io, ShimAgent *agent, const char *container_id, const char *exec_id,
                   ShimIoFunc drained, gpointer user_data);
/* CloseIO{stdin}: drop our own stdin writer; EOF reaches the process once the client's writer
 * is closed too. */
void shim_io_close_stdin(ShimIo *io);
gboolean shim_io_is_drained(ShimIo *io);
/* Calls @func once stdout and stderr have each delivered @out_bytes and @err_bytes since the
 * start (into their fifos, or discarded), at once if they already have; not after
 * shim_io_free(). */
void shim_io_when_delivered(ShimIo *io, guint64 out_bytes, guint64 err_bytes, ShimIoFunc func,
                            gpointer user_data);
/* Stops every relay and closes the fifos (readers see EOF); the drained callback is not called
 * any more. Frees @io. */
void shim_io_free(ShimIo *io);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ShimIo, shim_io_free)
