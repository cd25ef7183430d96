/* The ttrpc service "secure.agent.v1.Agent" (proto/agent.proto): thin handlers that decode a
 * request, check its sizes, call the pod, sandbox or builder, and encode the reply. */
#pragma once

#include "agent.h"

G_BEGIN_DECLS

/* Registers every method on @agent's server; @agent must outlive it. */
void agent_service_register(Agent *agent);

G_END_DECLS
