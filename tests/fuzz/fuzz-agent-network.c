/* Fuzz target: the checks of the agent's network calls, on requests as the host sends them.
 * Input: one byte choosing the call (even: UpdateInterface, odd: UpdateRoutes), then the
 * request's protobuf bytes. The calls run as a host-mode agent would (may_change FALSE), so they
 * stop after their checks and never touch this machine's network. */
#include <stdint.h>

#include "agent-error.h"
#include "agent-network.h"

static void fuzz_interface(const uint8_t *data, size_t size)
{
    Secure__Agent__V1__UpdateInterfaceRequest *req =
        secure__agent__v1__update_interface_request__unpack(NULL, size, data);
    g_autoptr(GError) error = NULL;

    if (req == NULL)
        return;
    g_assert(!agent_network_update_interface(req->interface, FALSE, &error));
    g_assert(error->domain == AGENT_ERROR);
    secure__agent__v1__update_interface_request__free_unpacked(req, NULL);
}

static void fuzz_routes(const uint8_t *data, size_t size)
{
    Secure__Agent__V1__UpdateRoutesRequest *req =
        secure__agent__v1__update_routes_request__unpack(NULL, size, data);
    g_autoptr(GError) error = NULL;

    if (req == NULL)
        return;
    /* No route at all is a valid request that a host-mode agent still refuses. */
    g_assert(!agent_network_update_routes(req->routes, req->n_routes, FALSE, &error));
    g_assert(error->domain == AGENT_ERROR);
    secure__agent__v1__update_routes_request__free_unpacked(req, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] % 2 == 0)
        fuzz_interface(data + 1, size - 1);
    else
        fuzz_routes(data + 1, size - 1);
    return 0;
}
