/* Pod networking inside the guest: the NIC that carries a CNI interface's MAC gets its name,
 * MTU and addresses, and the pod's routes are added (rtnetlink through libnl-route-3). Every value
 * comes from the host and is checked before anything changes; the limits are those of
 * proto/agent.proto. */
#pragma once

#include <glib.h>

#include "agent.pb-c.h"

G_BEGIN_DECLS

#define AGENT_NETWORK_ADDRESSES_MAX 16
#define AGENT_NETWORK_ROUTES_MAX 64
#define AGENT_NETWORK_LIST_MAX 64
#define AGENT_NETWORK_MTU_MIN 68
#define AGENT_NETWORK_MTU_MAX 65535

/* Finds the link whose MAC is @iface->mac, sets it down, renames it to @iface->name, sets its
 * MTU (0 keeps it), replaces its addresses with @iface->addresses and sets it up; sets "lo" up.
 * @may_change is FALSE in host mode: the arguments are still checked, then the call fails with
 * AGENT_ERROR_STATE instead of changing the host's network. */
gboolean agent_network_update_interface(const Secure__Agent__V1__Interface *iface,
                                        gboolean may_change, GError **error);

/* Adds @routes: every device must exist; routes without a gateway go first, so that the gateways
 * of the others are reachable. A route that exists already is fine. @may_change as above. */
gboolean agent_network_update_routes(Secure__Agent__V1__Route *const *routes, gsize n_routes,
                                     gboolean may_change, GError **error);

/* The links as they are now (at most AGENT_NETWORK_LIST_MAX, each with at most
 * AGENT_NETWORK_ADDRESSES_MAX addresses). Caller frees with
 * secure__agent__v1__list_interfaces_response__free_unpacked(reply, NULL). */
Secure__Agent__V1__ListInterfacesResponse *agent_network_list(GError **error);

G_END_DECLS
