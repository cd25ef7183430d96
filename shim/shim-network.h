/* The pod's network on the host ("tcfilter"). CNI put one interface per network (a veth, say
 * eth0) into the pod's network namespace. For each the shim adds a tap in that namespace and tc
 * ingress filters that redirect every frame from the veth to the tap and back; the VM gets a
 * virtio-net NIC on the tap with the veth's MAC, and the guest agent gives that NIC the veth's
 * name, addresses, MTU and routes. The host side keeps its addresses but never sees a frame: tc
 * takes each one first. */
#pragma once

#include <glib.h>

#include "shim-agent.h"
#include "shim-state.h"
#include "vmm.h"

/* Pod keys of the state file, written before the taps exist. */
#define SHIM_STATE_NETNS "netns"         /* the pod's host network namespace */
#define SHIM_STATE_NET_LINKS "net_links" /* "veth:tap;..." the shim wired */

typedef struct _ShimNetwork ShimNetwork;

/* Reads the interfaces, addresses and routes of the network namespace at @netns, records the
 * links in @state, creates a tap per interface and redirects both ways. On failure what was
 * made is removed. */
ShimNetwork *shim_network_new(const char *netns, ShimState *state, GError **error);

/* The VM's NICs (borrowed, valid while @net lives) and the namespace their taps are in. */
const VmmNic *shim_network_get_nics(ShimNetwork *net, gsize *out_n_nics);
const char *shim_network_get_netns(ShimNetwork *net);

/* @error NULL: the guest's interfaces and routes are set. */
typedef void (*ShimNetworkDoneFunc)(const GError *error, gpointer user_data);
/* Sends UpdateInterface for each interface, then UpdateRoutes, one after the other; @func runs
 * once, from the main context. @net must outlive the calls. */
void shim_network_configure_guest(ShimNetwork *net, ShimAgent *agent, ShimNetworkDoneFunc func,
                                  gpointer user_data);

/* Removes the taps and the veths' filters (the VM must be gone), forgets them in @state, frees
 * @net. NULL is fine. */
void shim_network_free(ShimNetwork *net, ShimState *state);

/* The same from the state of a dead shim; fine when the namespace is gone already. */
gboolean shim_network_cleanup_stale(ShimState *state, GError **error);
