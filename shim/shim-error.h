/* The shim's error domain. Codes are gRPC status codes (TtrpcCode), so that the Task service can
 * answer containerd with the code the failing layer chose. */
#pragma once

#include <glib.h>

#include "ttrpc.h"

#define SHIM_ERROR (shim_error_quark())
GQuark shim_error_quark(void);

/* The status code to send for @error: SHIM_ERROR and TTRPC_ERROR keep their code, G_IO_ERROR
 * NOT_FOUND/EXISTS map to NotFound/AlreadyExists, anything else is Unknown. */
TtrpcCode shim_error_code(const GError *error);

/* Completes @call with the status code and message of @error. */
void shim_error_return(TtrpcCall *call, const GError *error);
