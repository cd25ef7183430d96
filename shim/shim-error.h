/* The shim's error domain: what went wrong, independent of the wire. The Task service maps each
 * code to a ttrpc status code (shim-task-service.c); errors of the agent keep the code it sent. */
#pragma once

#include <glib.h>

#define SHIM_ERROR (shim_error_quark())
GQuark shim_error_quark(void);

typedef enum {
    SHIM_ERROR_INVALID,     /* a malformed or out-of-limits request, spec, option or config */
    SHIM_ERROR_NOT_FOUND,   /* no container or process with that id, or it already finished */
    SHIM_ERROR_EXISTS,      /* the id is already taken */
    SHIM_ERROR_STATE,       /* not possible in the object's or the host's current state */
    SHIM_ERROR_UNSUPPORTED, /* a feature this runtime does not have (checkpoints) */
    SHIM_ERROR_EXHAUSTED,   /* more than the configured ceilings or ranges hold */
    SHIM_ERROR_UNAVAILABLE, /* the pod's sandbox, agent or state is gone or not there yet */
    SHIM_ERROR_ABORTED,     /* the container went away while the request ran */
    SHIM_ERROR_CANCELLED,   /* the user interrupted it */
    SHIM_ERROR_FAILED,      /* a system call or a host service failed */
    SHIM_ERROR_LAST
} ShimErrorCode;
