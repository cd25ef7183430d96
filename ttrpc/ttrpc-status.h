/* Status codes inside the library: GError <-> google.rpc.Status. */
#pragma once

#include "status.pb-c.h"
#include "ttrpc.h"

/* A TTRPC_ERROR from a status received from the peer; an unknown code becomes Unknown. */
GError *ttrpc_status_to_error(const Google__Rpc__Status *status);
