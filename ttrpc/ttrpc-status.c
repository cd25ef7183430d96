/* gRPC status codes: names, the TTRPC_ERROR domain, and the mapping from other GErrors. */
#include "ttrpc-status.h"

/* Only GIO's error codes (constants) are used, and its error domain is found by its quark's
 * name: a reference to g_io_error_quark() would make every program that links ttrpc, the guest
 * agent included, load libgio and what it pulls in (libmount, libblkid, libselinux, libz...):
 * about 3 MiB of the guest's initramfs, held twice in each pod's guest RAM (the initramfs copy
 * and the unpacked files). */
#include <gio/gio.h>

/* GIO's G_IO_ERROR domain ("g-io-error-quark"); 0 until something created it, when no GError
 * of that domain can exist either. */
#define IO_ERROR_DOMAIN (g_quark_try_string("g-io-error-quark"))

G_DEFINE_QUARK(ttrpc - error - quark, ttrpc_error)

static const char *const code_names[TTRPC_CODE_LAST] = {
    [TTRPC_CODE_OK] = "OK",
    [TTRPC_CODE_CANCELLED] = "Canceled",
    [TTRPC_CODE_UNKNOWN] = "Unknown",
    [TTRPC_CODE_INVALID_ARGUMENT] = "InvalidArgument",
    [TTRPC_CODE_DEADLINE_EXCEEDED] = "DeadlineExceeded",
    [TTRPC_CODE_NOT_FOUND] = "NotFound",
    [TTRPC_CODE_ALREADY_EXISTS] = "AlreadyExists",
    [TTRPC_CODE_PERMISSION_DENIED] = "PermissionDenied",
    [TTRPC_CODE_RESOURCE_EXHAUSTED] = "ResourceExhausted",
    [TTRPC_CODE_FAILED_PRECONDITION] = "FailedPrecondition",
    [TTRPC_CODE_ABORTED] = "Aborted",
    [TTRPC_CODE_OUT_OF_RANGE] = "OutOfRange",
    [TTRPC_CODE_UNIMPLEMENTED] = "Unimplemented",
    [TTRPC_CODE_INTERNAL] = "Internal",
    [TTRPC_CODE_UNAVAILABLE] = "Unavailable",
    [TTRPC_CODE_DATA_LOSS] = "DataLoss",
    [TTRPC_CODE_UNAUTHENTICATED] = "Unauthenticated",
};

const char *ttrpc_code_name(TtrpcCode code)
{
    if ((guint)code >= TTRPC_CODE_LAST)
        return "Unknown";
    return code_names[code];
}

static TtrpcCode code_from_io_error(gint code)
{
    switch (code) {
    case G_IO_ERROR_NOT_FOUND:
        return TTRPC_CODE_NOT_FOUND;
    case G_IO_ERROR_EXISTS:
        return TTRPC_CODE_ALREADY_EXISTS;
    case G_IO_ERROR_PERMISSION_DENIED:
        return TTRPC_CODE_PERMISSION_DENIED;
    case G_IO_ERROR_INVALID_ARGUMENT:
        return TTRPC_CODE_INVALID_ARGUMENT;
    case G_IO_ERROR_CANCELLED:
        return TTRPC_CODE_CANCELLED;
    case G_IO_ERROR_TIMED_OUT:
        return TTRPC_CODE_DEADLINE_EXCEEDED;
    case G_IO_ERROR_NOT_SUPPORTED:
        return TTRPC_CODE_UNIMPLEMENTED;
    default:
        return TTRPC_CODE_UNKNOWN;
    }
}

static TtrpcCode code_from_file_error(gint code)
{
    switch (code) {
    case G_FILE_ERROR_NOENT:
        return TTRPC_CODE_NOT_FOUND;
    case G_FILE_ERROR_EXIST:
        return TTRPC_CODE_ALREADY_EXISTS;
    case G_FILE_ERROR_PERM:
    case G_FILE_ERROR_ACCES:
        return TTRPC_CODE_PERMISSION_DENIED;
    case G_FILE_ERROR_INVAL:
        return TTRPC_CODE_INVALID_ARGUMENT;
    default:
        return TTRPC_CODE_UNKNOWN;
    }
}

TtrpcCode ttrpc_code_from_gerror(const GError *error)
{
    if (error->domain == TTRPC_ERROR)
        return error->code > 0 && error->code < TTRPC_CODE_LAST ? (TtrpcCode)error->code
                                                                : TTRPC_CODE_UNKNOWN;
    if (error->domain == IO_ERROR_DOMAIN)
        return code_from_io_error(error->code);
    if (error->domain == G_FILE_ERROR)
        return code_from_file_error(error->code);
    return TTRPC_CODE_UNKNOWN;
}

GError *ttrpc_status_to_error(const Google__Rpc__Status *status)
{
    TtrpcCode code = status->code > 0 && status->code < TTRPC_CODE_LAST ? (TtrpcCode)status->code
                                                                        : TTRPC_CODE_UNKNOWN;
    const char *message = status->message;
    return g_error_new_literal(
        TTRPC_ERROR, code, message != NULL && *message != '\0' ? message : ttrpc_code_name(code));
}
