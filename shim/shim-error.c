/* The shim's error domain and its mapping to gRPC status codes. */
#include "shim-error.h"

#include <gio/gio.h>

G_DEFINE_QUARK(shim-error-quark, shim_error)

TtrpcCode shim_error_code(const GError *error)
{
    if (error->domain == SHIM_ERROR || error->domain == TTRPC_ERROR) {
        if (error->code > TTRPC_CODE_OK && error->code < TTRPC_CODE_LAST)
            return (TtrpcCode)error->code;
        return TTRPC_CODE_UNKNOWN;
    }
    if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        return TTRPC_CODE_NOT_FOUND;
    if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_EXISTS))
        return TTRPC_CODE_ALREADY_EXISTS;
    if (g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TTRPC_CODE_NOT_FOUND;
    return TTRPC_CODE_UNKNOWN;
}

void shim_error_return(TtrpcCall *call, const GError *error)
{
    ttrpc_call_return_error(call, shim_error_code(error), "%s", error->message);
}
