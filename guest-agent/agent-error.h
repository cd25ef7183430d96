/* The agent's error domain: what went wrong in a request, independent of the wire. The service
 * maps each code to a ttrpc status code. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define AGENT_ERROR (agent_error_quark())
GQuark agent_error_quark(void);

typedef enum {
    AGENT_ERROR_INVALID,   /* a malformed or out-of-limits argument */
    AGENT_ERROR_NOT_FOUND, /* no container or process with that id */
    AGENT_ERROR_EXISTS,    /* the id is already taken */
    AGENT_ERROR_STATE,     /* not possible in the object's current state */
    AGENT_ERROR_FAILED,    /* a system call failed */
    AGENT_ERROR_TIMED_OUT, /* what the call waits for did not happen in time */
    AGENT_ERROR_LAST
} AgentErrorCode;

/* TRUE when the agent may change the system it runs on (@may_change: it is the VM's init); else
 * FALSE with AGENT_ERROR_STATE, "a host-mode agent @refusal (it would be the host's)": a host-mode
 * agent (tests) runs on the host, whose network, clock or CPUs are not the pod's. */
gboolean agent_error_may_change(gboolean may_change, const char *refusal, GError **error);

G_END_DECLS
