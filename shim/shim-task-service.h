/* The containerd Task API ("containerd.task.v2.Task") served to containerd: thin handlers that
 * decode, find the container/process, call the core and encode. */
#pragma once

#include "shim-container.h"
#include "ttrpc.h"

#define SHIM_TASK_SERVICE "containerd.task.v2.Task"

/* The status code containerd gets for @error: SHIM_ERROR codes by one table; the agent's and the
 * transport's TTRPC_ERROR keep their code; G_IO_ERROR NOT_FOUND/EXISTS and G_FILE_ERROR NOENT
 * map to NotFound/AlreadyExists; anything else is Unknown. */
TtrpcCode shim_task_service_code(const GError *error);

/* Completes @call with the status code and message of @error. Failures on the shim's side say
 * where the rest is (containerd's log, lines with this pod). */
void shim_task_service_return_error(TtrpcCall *call, const GError *error);

/* Registers every Task method on @server, acting on @containers (which must outlive it). */
void shim_task_service_register(TtrpcServer *server, ShimContainers *containers);
