/* The agent's error domain. */
#include "agent-error.h"

G_DEFINE_QUARK(secure_agent_error_quark, agent_error)

gboolean agent_error_may_change(gboolean may_change, const char *refusal, GError **error)
{
    if (may_change)
        return TRUE;
    g_set_error(error, AGENT_ERROR, AGENT_ERROR_STATE,
                "a host-mode agent %s (it would be the host's)", refusal);
    return FALSE;
}
