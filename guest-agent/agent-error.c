/* The agent's error domain. */
#include "agent-error.h"

G_DEFINE_QUARK(secure_agent_error_quark, agent_error)
