/* Port forwarding into the pod VM (CRI PortForward, `kubectl port-forward`). containerd serves it
 * by dialing 127.0.0.1:PORT inside the pod's network namespace on the host, where no socket of
 * the guest is. So the shim listens there, an nftables rule in that namespace redirects every
 * TCP connection to 127.0.0.1 to its listener, and each accepted connection is relayed through
 * the agent (OpenPort, then ReadPort/WritePort/ClosePort) to 127.0.0.1:PORT in the guest, the
 * port it was meant for (SO_ORIGINAL_DST). */
#pragma once

#include <glib.h>

#include "shim-agent.h"

#define SHIM_PORT_FORWARD_TABLE "secure-container-port-forward"

typedef struct _ShimPortForward ShimPortForward;

/* Listens in the network namespace at @netns and installs the redirect there. */
ShimPortForward *shim_port_forward_new(const char *netns, GError **error);
/* Accepts from now on, relaying through @agent (which must outlive @pf, or be freed first:
 * then the relays end). */
void shim_port_forward_start(ShimPortForward *pf, ShimAgent *agent);
/* Ends every relay, closes the listener and removes the redirect. NULL is fine. */
void shim_port_forward_free(ShimPortForward *pf);
/* Removes the redirect a dead shim left in the namespace @netns_fd (named @netns); fine when
 * there is none. */
void shim_port_forward_cleanup_stale(int netns_fd, const char *netns);
