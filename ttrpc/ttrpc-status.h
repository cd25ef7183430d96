/* Status codes inside the library: GError <-> google.rpc.Status. */
#pragma once

#include "status.pb-c.h"
#include "ttrpc.h"

/* The status code a handler's GError is sent with. */
TtrpcCode ttrpc_code_from_gerror(const GError *error);

/* A TTRPC_ERROR from a status received from the peer; an unknown code becomes Unknown. */
GError *ttrpc_status_to_error(const Google__Rpc__Status *status);
