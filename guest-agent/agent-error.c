/* The agent's error domain. */
#include "agent-error.h"

G_DEFINE_QUARK(secure-agent-error-quark, agent_error)
