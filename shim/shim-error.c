/* The shim's error domain and its mapping to gRPC status codes. */
#include "shim-error.h"

#include <gio/gio.h>
#include <string.h>

#include "shim-log.h"

G_DEFINE_QUARK(shim - error - quark, shim_error)

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

/* Failures on our side, whose message may not be the whole story: the log has the rest. */
static gboolean log_has_more(TtrpcCode code)
{
    return code == TTRPC_CODE_UNKNOWN || code == TTRPC_CODE_INTERNAL ||
           code == TTRPC_CODE_UNAVAILABLE || code == TTRPC_CODE_DEADLINE_EXCEEDED ||
           code == TTRPC_CODE_ABORTED || code == TTRPC_CODE_DATA_LOSS;
}

void shim_error_return(TtrpcCall *call, const GError *error)
{
    TtrpcCode code = shim_error_code(error);
    const char *pod = shim_log_get_pod();

    if (log_has_more(code) && pod && !strstr(error->message, "containerd's log"))
        ttrpc_call_return_error(call, code,
                                "%s (more in containerd's log, lines with runtime=secure pod=%s)",
                                error->message, pod);
    else
        ttrpc_call_return_error(call, code, "%s", error->message);
}
