/* Pod networking inside the guest over rtnetlink (libnl-route-3). The host is not trusted: a
 * request is checked completely before its first change, and errors quote the value they are
 * about. Netlink requests to the kernel answer at once, so they run on the loop's thread. */
#include "agent-network.h"
#include "agent-error.h"
#include "common-id.h"

#include <arpa/inet.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <string.h>

#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>

#define MAC_LEN 6
#define MAC_TEXT_LEN 17
#define SHOWN_MAX 80
#define NIC_WAIT_MS 5000
/* What a host-mode agent answers to a network change (agent_error_may_change()). */
#define HOST_MODE_REFUSAL "changes no network configuration"

typedef struct nl_sock NetSock;
typedef struct nl_cache NetCache;
typedef struct nl_addr NetAddr;
typedef struct rtnl_link NetLink;
typedef struct rtnl_addr NetLinkAddr;
typedef struct rtnl_route NetRoute;

G_DEFINE_AUTOPTR_CLEANUP_FUNC(NetSock, nl_socket_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NetCache, nl_cache_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NetAddr, nl_addr_put)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NetLink, rtnl_link_put)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NetLinkAddr, rtnl_addr_put)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NetRoute, rtnl_route_put)

/* An IP address or network from the host, parsed. */
typedef struct {
    int family; /* AF_INET or AF_INET6 */
    guint8 bytes[16];
    guint prefix_len;
} NetworkIp;

/* A route from the host, parsed; its device resolved. */
typedef struct {
    const Secure__Agent__V1__Route *request;
    NetworkIp destination;
    NetworkIp gateway; /* family 0: none */
    NetworkIp source;  /* family 0: none */
    int ifindex;
} NetworkRoute;

static guint network_bits(int family)
{
    return family == AF_INET ? 32 : 128;
}

static gboolean network_invalid(GError **error, const char *what, const char *value)
{
    g_autofree char *shown = g_strescape(strlen(value) > SHOWN_MAX ? "(too long)" : value, NULL);

    g_set_error(error, AGENT_ERROR, AGENT_ERROR_INVALID, "invalid %s '%s'", what, shown);
    return FALSE;
}

static gboolean network_parse_mac(const char *text, guint8 *out_mac, GError **error)
{
    if (strlen(text) != MAC_TEXT_LEN)
        return network_invalid(error, "MAC", text);
    for (gsize i = 0; i < MAC_LEN; i++) {
        const char *pair = text + 3 * i;

        if (!g_ascii_isxdigit(pair[0]) || !g_ascii_isxdigit(pair[1]) ||
            (i < MAC_LEN - 1 && pair[2] != ':'))
            return network_invalid(error, "MAC", text);
        out_mac[i] = g_ascii_xdigit_value(pair[0]) << 4 | g_ascii_xdigit_value(pair[1]);
    }
    /* A NIC's own address is unicast and not all zeros (loopback's is, and it is not ours to
     * rename). */
    if ((out_mac[0] & 1) != 0 || memcmp(out_mac, (guint8[MAC_LEN]){0}, MAC_LEN) == 0)
        return network_invalid(error, "MAC (not a unicast NIC address)", text);
    return TRUE;
}

static gboolean network_check_name(const char *what, const char *name, GError **error)
{
    return common_ifname_is_valid(name) || network_invalid(error, what, name);
}

/* @text as an address of @family (AF_UNSPEC: either), with a full-length prefix. */
static gboolean network_parse_ip(const char *what, const char *text, int family, NetworkIp *out_ip,
                                 GError **error)
{
    memset(out_ip, 0, sizeof(*out_ip));
    if (family != AF_INET6 && inet_pton(AF_INET, text, out_ip->bytes) == 1)
        out_ip->family = AF_INET;
    else if (family != AF_INET && inet_pton(AF_INET6, text, out_ip->bytes) == 1)
        out_ip->family = AF_INET6;
    else
        return network_invalid(error, what, text);
    out_ip->prefix_len = network_bits(out_ip->family);
    return TRUE;
}

static gboolean network_check_prefix(const char *what, const char *text, guint prefix_len,
                                     const NetworkIp *ip, guint min, GError **error)
{
    if (prefix_len >= min && prefix_len <= network_bits(ip->family))
        return TRUE;
    g_set_error(error, AGENT_ERROR, AGENT_ERROR_INVALID,
                "invalid prefix length %u of %s '%s' (%u..%u)", prefix_len, what, text, min,
                network_bits(ip->family));
    return FALSE;
}

static gboolean network_check_interface(const Secure__Agent__V1__Interface *iface, guint8 *out_mac,
                                        NetworkIp *out_ips, GError **error)
{
    if (iface == NULL) {
        g_set_error_literal(error, AGENT_ERROR, AGENT_ERROR_INVALID, "no interface given");
        return FALSE;
    }
    if (!network_parse_mac(iface->mac, out_mac, error) ||
        !network_check_name("interface name", iface->name, error))
        return FALSE;
    if (iface->mtu != 0 &&
        (iface->mtu < AGENT_NETWORK_MTU_MIN || iface->mtu > AGENT_NETWORK_MTU_MAX)) {
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_INVALID, "MTU %u of '%s' out of range (%d..%d)",
                    iface->mtu, iface->name, AGENT_NETWORK_MTU_MIN, AGENT_NETWORK_MTU_MAX);
        return FALSE;
    }
    if (iface->n_addresses > AGENT_NETWORK_ADDRESSES_MAX) {
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_INVALID, "%zu addresses for '%s', at most %d",
                    iface->n_addresses, iface->name, AGENT_NETWORK_ADDRESSES_MAX);
        return FALSE;
    }
    for (gsize i = 0; i < iface->n_addresses; i++) {
        const Secure__Agent__V1__IPAddress *address = iface->addresses[i];

        if (!network_parse_ip("address", address->address, AF_UNSPEC, &out_ips[i], error) ||
            !network_check_prefix("address", address->address, address->prefix_len, &out_ips[i], 1,
                                  error))
            return FALSE;
        out_ips[i].prefix_len = address->prefix_len;
    }
    return TRUE;
}

static gboolean network_failed(GError **error, int err, const char *format, ...)
    G_GNUC_PRINTF(3, 4);

/* Fails with @format's text and libnl's message for @err. */
static gboolean network_failed(GError **error, int err, const char *format, ...)
{
    g_autofree char *what = NULL;
    va_list args;

    va_start(args, format);
    what = g_strdup_vprintf(format, args);
    va_end(args);
    g_set_error(error, AGENT_ERROR, AGENT_ERROR_FAILED, "%s: %s", what, nl_geterror(err));
    return FALSE;
}

static NetSock *network_connect(GError **error)
{
    g_autoptr(NetSock) sock = nl_socket_alloc();
    int err;

    if (sock == NULL) {
        g_set_error_literal(error, AGENT_ERROR, AGENT_ERROR_FAILED,
                            "no memory for a netlink socket");
        return NULL;
    }
    err = nl_connect(sock, NETLINK_ROUTE);
    if (err < 0) {
        network_failed(error, err, "connect to rtnetlink");
        return NULL;
    }
    return g_steal_pointer(&sock);
}

static NetCache *network_links(NetSock *sock, GError **error)
{
    NetCache *links = NULL;
    int err = rtnl_link_alloc_cache(sock, AF_UNSPEC, &links);

    if (err < 0)
        network_failed(error, err, "list links");
    return err < 0 ? NULL : links;
}

static NetCache *network_addresses(NetSock *sock, GError **error)
{
    NetCache *addresses = NULL;
    int err = rtnl_addr_alloc_cache(sock, &addresses);

    if (err < 0)
        network_failed(error, err, "list addresses");
    return err < 0 ? NULL : addresses;
}

/* The link with hardware address @mac (a reference), or NULL. */
static NetLink *network_find_by_mac(NetCache *links, const guint8 *mac)
{
    for (struct nl_object *o = nl_cache_get_first(links); o != NULL; o = nl_cache_get_next(o)) {
        NetAddr *addr = rtnl_link_get_addr((NetLink *)o);

        if (addr != NULL && nl_addr_get_len(addr) == MAC_LEN &&
            memcmp(nl_addr_get_binary_addr(addr), mac, MAC_LEN) == 0) {
            nl_object_get(o);
            return (NetLink *)o;
        }
    }
    return NULL;
}

/* Drains what the kernel sent to @events: only the wake-up matters. */
static int network_ignore_message(struct nl_msg *msg, void *data)
{
    (void)msg;
    (void)data;
    return NL_OK;
}

/* The link with hardware address @mac, waiting up to NIC_WAIT_MS for it to appear: a NIC
 * attached to a VM resumed from a template shows up a little after the host's attach returned.
 * Woken by the kernel's link notifications; the cache is read again after subscribing, so a
 * link that appeared in between is not missed. */
static NetLink *network_wait_for_mac(NetSock *sock, NetCache *links, const guint8 *mac)
{
    g_autoptr(NetSock) events = nl_socket_alloc();
    gint64 deadline = g_get_monotonic_time() + NIC_WAIT_MS * 1000;
    NetLink *link = network_find_by_mac(links, mac);

    if (link != NULL || events == NULL)
        return link;
    nl_socket_disable_seq_check(events);
    nl_socket_modify_cb(events, NL_CB_VALID, NL_CB_CUSTOM, network_ignore_message, NULL);
    if (nl_connect(events, NETLINK_ROUTE) < 0 || nl_socket_add_membership(events, RTNLGRP_LINK) < 0)
        return NULL;
    while (nl_cache_refill(sock, links) >= 0 && (link = network_find_by_mac(links, mac)) == NULL) {
        gint64 left_ms = (deadline - g_get_monotonic_time()) / 1000;
        struct pollfd pfd = {.fd = nl_socket_get_fd(events), .events = POLLIN};

        if (left_ms <= 0 || poll(&pfd, 1, (int)left_ms) <= 0)
            break;
        nl_recvmsgs_default(events);
    }
    return link;
}

static gboolean network_change(NetSock *sock, NetLink *link, NetLink *change, const char *what,
                               GError **error)
{
    int err = rtnl_link_change(sock, link, change, 0);

    if (err < 0)
        return network_failed(error, err, "%s link %d", what, rtnl_link_get_ifindex(link));
    return TRUE;
}

static gboolean network_set_up(NetSock *sock, NetLink *link, gboolean up, GError **error)
{
    g_autoptr(NetLink) change = rtnl_link_alloc();

    if (up)
        rtnl_link_set_flags(change, IFF_UP);
    else
        rtnl_link_unset_flags(change, IFF_UP);
    return network_change(sock, link, change, up ? "set up" : "set down", error);
}

/* The kernel renames only a link that is down. */
static gboolean network_rename(NetSock *sock, NetLink *link,
                               const Secure__Agent__V1__Interface *iface, GError **error)
{
    g_autoptr(NetLink) change = rtnl_link_alloc();

    rtnl_link_set_name(change, iface->name);
    if (iface->mtu != 0)
        rtnl_link_set_mtu(change, iface->mtu);
    return network_change(sock, link, change, "rename/set MTU of", error);
}

static NetAddr *network_nl_addr(const NetworkIp *ip)
{
    NetAddr *addr = nl_addr_build(ip->family, ip->bytes, network_bits(ip->family) / 8);

    nl_addr_set_prefixlen(addr, ip->prefix_len);
    return addr;
}

/* Removes every address of link @ifindex, of any family. */
static gboolean network_flush_addresses(NetSock *sock, int ifindex, GError **error)
{
    g_autoptr(NetCache) addresses = network_addresses(sock, error);

    if (addresses == NULL)
        return FALSE;
    for (struct nl_object *o = nl_cache_get_first(addresses); o != NULL; o = nl_cache_get_next(o)) {
        NetLinkAddr *addr = (NetLinkAddr *)o;
        int err;

        if (rtnl_addr_get_ifindex(addr) != ifindex)
            continue;
        /* Removing an IPv4 primary address removes its secondaries with it. */
        err = rtnl_addr_delete(sock, addr, 0);
        if (err < 0 && err != -NLE_NOADDR)
            return network_failed(error, err, "remove an address of link %d", ifindex);
    }
    return TRUE;
}

static gboolean network_add_address(NetSock *sock, int ifindex, const NetworkIp *ip,
                                    const char *text, GError **error)
{
    g_autoptr(NetLinkAddr) addr = rtnl_addr_alloc();
    g_autoptr(NetAddr) local = network_nl_addr(ip);
    int err;

    rtnl_addr_set_ifindex(addr, ifindex);
    err = rtnl_addr_set_local(addr, local);
    if (err >= 0) {
        rtnl_addr_set_prefixlen(addr, ip->prefix_len);
        err = rtnl_addr_add(sock, addr, 0);
    }
    if (err < 0)
        return network_failed(error, err, "add address %s/%u", text, ip->prefix_len);
    return TRUE;
}

/* FALSE if a link other than @link is called @name already. */
static gboolean network_name_free(NetCache *links, NetLink *link, const char *name, GError **error)
{
    g_autoptr(NetLink) other = rtnl_link_get_by_name(links, name);

    if (other == NULL || rtnl_link_get_ifindex(other) == rtnl_link_get_ifindex(link))
        return TRUE;
    g_set_error(error, AGENT_ERROR, AGENT_ERROR_EXISTS, "another link (%d) is called '%s'",
                rtnl_link_get_ifindex(other), name);
    return FALSE;
}

/* The loopback is set up at boot; set it up again in case something took it down. */
static gboolean network_set_lo_up(NetSock *sock, NetCache *links, GError **error)
{
    g_autoptr(NetLink) lo = rtnl_link_get_by_name(links, "lo");

    return lo == NULL || network_set_up(sock, lo, TRUE, error);
}

static gboolean network_configure(NetSock *sock, NetCache *links, NetLink *link,
                                  const Secure__Agent__V1__Interface *iface, const NetworkIp *ips,
                                  GError **error)
{
    int ifindex = rtnl_link_get_ifindex(link);

    if (!network_set_up(sock, link, FALSE, error) || !network_rename(sock, link, iface, error) ||
        !network_flush_addresses(sock, ifindex, error))
        return FALSE;
    for (gsize i = 0; i < iface->n_addresses; i++) {
        if (!network_add_address(sock, ifindex, &ips[i], iface->addresses[i]->address, error))
            return FALSE;
    }
    return network_set_up(sock, link, TRUE, error) && network_set_lo_up(sock, links, error);
}

gboolean agent_network_update_interface(const Secure__Agent__V1__Interface *iface,
                                        gboolean may_change, GError **error)
{
    guint8 mac[MAC_LEN];
    NetworkIp ips[AGENT_NETWORK_ADDRESSES_MAX];
    g_autoptr(NetSock) sock = NULL;
    g_autoptr(NetCache) links = NULL;
    g_autoptr(NetLink) link = NULL;

    if (!network_check_interface(iface, mac, ips, error) ||
        !agent_error_may_change(may_change, HOST_MODE_REFUSAL, error))
        return FALSE;
    if ((sock = network_connect(error)) == NULL || (links = network_links(sock, error)) == NULL)
        return FALSE;
    link = network_wait_for_mac(sock, links, mac);
    if (link == NULL) {
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_NOT_FOUND,
                    "no interface with MAC '%s' (waited %d ms)", iface->mac, NIC_WAIT_MS);
        return FALSE;
    }
    if (!network_name_free(links, link, iface->name, error) ||
        !network_configure(sock, links, link, iface, ips, error)) {
        g_prefix_error(error, "interface '%s' (MAC %s): ", iface->name, iface->mac);
        return FALSE;
    }
    return TRUE;
}

/* "" (the default route) or ADDRESS/PREFIX of @family. */
static gboolean network_parse_destination(const char *text, int family, NetworkIp *out_ip,
                                          GError **error)
{
    const char *slash = strrchr(text, '/');
    g_autofree char *address = NULL;
    guint64 prefix_len = 0;

    if (text[0] == '\0') {
        memset(out_ip, 0, sizeof(*out_ip));
        out_ip->family = family;
        return TRUE;
    }
    if (slash == NULL)
        return network_invalid(error, "route destination", text);
    address = g_strndup(text, slash - text);
    if (!network_parse_ip("route destination", address, family, out_ip, NULL) ||
        !g_ascii_string_to_unsigned(slash + 1, 10, 0, network_bits(family), &prefix_len, NULL))
        return network_invalid(error, "route destination", text);
    out_ip->prefix_len = prefix_len;
    return TRUE;
}

/* "" or an address of @family; out_ip->family stays 0 for "". */
static gboolean network_parse_optional(const char *what, const char *text, int family,
                                       NetworkIp *out_ip, GError **error)
{
    memset(out_ip, 0, sizeof(*out_ip));
    return text[0] == '\0' || network_parse_ip(what, text, family, out_ip, error);
}

static gboolean network_check_scope(guint scope, GError **error)
{
    if (scope == RT_SCOPE_UNIVERSE || scope == RT_SCOPE_SITE || scope == RT_SCOPE_LINK ||
        scope == RT_SCOPE_HOST)
        return TRUE;
    g_set_error(error, AGENT_ERROR, AGENT_ERROR_INVALID, "invalid route scope %u", scope);
    return FALSE;
}

static gboolean network_check_route(const Secure__Agent__V1__Route *r, NetworkRoute *out,
                                    GError **error)
{
    int family = r->family == 4 ? AF_INET : r->family == 6 ? AF_INET6 : AF_UNSPEC;

    if (family == AF_UNSPEC) {
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_INVALID, "invalid route family %u (4 or 6)",
                    r->family);
        return FALSE;
    }
    out->request = r;
    return network_parse_destination(r->destination, family, &out->destination, error) &&
           network_parse_optional("route gateway", r->gateway, family, &out->gateway, error) &&
           network_parse_optional("route source", r->source, family, &out->source, error) &&
           network_check_name("route device", r->device, error) &&
           network_check_scope(r->scope, error);
}

/* "DESTINATION [via GATEWAY] dev DEVICE", for errors. */
static char *network_route_text(const Secure__Agent__V1__Route *r)
{
    return g_strdup_printf("%s%s%s dev %s", r->destination[0] != '\0' ? r->destination : "default",
                           r->gateway[0] != '\0' ? " via " : "", r->gateway, r->device);
}

static gboolean network_add_route(NetSock *sock, const NetworkRoute *parsed, GError **error)
{
    const Secure__Agent__V1__Route *r = parsed->request;
    g_autoptr(NetRoute) route = rtnl_route_alloc();
    g_autoptr(NetAddr) destination = network_nl_addr(&parsed->destination);
    struct rtnl_nexthop *hop = rtnl_route_nh_alloc();
    g_autofree char *text = NULL;
    int err;

    rtnl_route_set_family(route, parsed->destination.family);
    rtnl_route_set_table(route, RT_TABLE_MAIN);
    rtnl_route_set_scope(route, r->scope);
    rtnl_route_set_dst(route, destination);
    rtnl_route_nh_set_ifindex(hop, parsed->ifindex);
    if (parsed->gateway.family != 0) {
        g_autoptr(NetAddr) gateway = network_nl_addr(&parsed->gateway);

        rtnl_route_nh_set_gateway(hop, gateway);
    }
    rtnl_route_add_nexthop(route, hop);
    if (parsed->source.family != 0) {
        g_autoptr(NetAddr) source = network_nl_addr(&parsed->source);

        rtnl_route_set_pref_src(route, source);
    }
    err = rtnl_route_add(sock, route, 0);
    if (err >= 0 || err == -NLE_EXIST)
        return TRUE;
    text = network_route_text(r);
    return network_failed(error, err, "add route %s", text);
}

/* Parses every route and finds its device, before anything changes. */
static gboolean network_check_routes(Secure__Agent__V1__Route *const *routes, gsize n_routes,
                                     NetCache *links, NetworkRoute *out_parsed, GError **error)
{
    for (gsize i = 0; i < n_routes; i++) {
        if (!network_check_route(routes[i], &out_parsed[i], error))
            return FALSE;
        if (links == NULL)
            continue;
        out_parsed[i].ifindex = rtnl_link_name2i(links, routes[i]->device);
        if (out_parsed[i].ifindex == 0) {
            g_set_error(error, AGENT_ERROR, AGENT_ERROR_NOT_FOUND, "no route device '%s'",
                        routes[i]->device);
            return FALSE;
        }
    }
    return TRUE;
}

gboolean agent_network_update_routes(Secure__Agent__V1__Route *const *routes, gsize n_routes,
                                     gboolean may_change, GError **error)
{
    NetworkRoute parsed[AGENT_NETWORK_ROUTES_MAX];
    g_autoptr(NetSock) sock = NULL;
    g_autoptr(NetCache) links = NULL;

    if (n_routes > AGENT_NETWORK_ROUTES_MAX) {
        g_set_error(error, AGENT_ERROR, AGENT_ERROR_INVALID, "%zu routes, at most %d", n_routes,
                    AGENT_NETWORK_ROUTES_MAX);
        return FALSE;
    }
    /* The values first, then (only where it may change anything) the devices. */
    if (!network_check_routes(routes, n_routes, NULL, parsed, error) ||
        !agent_error_may_change(may_change, HOST_MODE_REFUSAL, error))
        return FALSE;
    if ((sock = network_connect(error)) == NULL || (links = network_links(sock, error)) == NULL ||
        !network_check_routes(routes, n_routes, links, parsed, error))
        return FALSE;
    for (int with_gateway = 0; with_gateway <= 1; with_gateway++) {
        for (gsize i = 0; i < n_routes; i++) {
            if ((parsed[i].gateway.family != 0) == with_gateway &&
                !network_add_route(sock, &parsed[i], error))
                return FALSE;
        }
    }
    return TRUE;
}

static char *network_mac_text(NetAddr *addr)
{
    const guint8 *b;

    if (addr == NULL || nl_addr_get_len(addr) != MAC_LEN)
        return g_strdup("");
    b = nl_addr_get_binary_addr(addr);
    return g_strdup_printf("%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
}

static Secure__Agent__V1__IPAddress *network_ip_message(NetLinkAddr *addr)
{
    Secure__Agent__V1__IPAddress *ip = g_new0(Secure__Agent__V1__IPAddress, 1);
    NetAddr *local = rtnl_addr_get_local(addr);
    char text[INET6_ADDRSTRLEN] = "";

    secure__agent__v1__ipaddress__init(ip);
    if (local != NULL)
        inet_ntop(nl_addr_get_family(local), nl_addr_get_binary_addr(local), text, sizeof(text));
    ip->address = g_strdup(text);
    ip->prefix_len = rtnl_addr_get_prefixlen(addr);
    return ip;
}

static Secure__Agent__V1__InterfaceState *network_state_message(NetLink *link, NetCache *addresses)
{
    Secure__Agent__V1__InterfaceState *state = g_new0(Secure__Agent__V1__InterfaceState, 1);
    Secure__Agent__V1__Interface *iface = g_new0(Secure__Agent__V1__Interface, 1);

    secure__agent__v1__interface_state__init(state);
    secure__agent__v1__interface__init(iface);
    state->interface = iface;
    state->up = (rtnl_link_get_flags(link) & IFF_UP) != 0;
    iface->name = g_strdup(rtnl_link_get_name(link));
    iface->mac = network_mac_text(rtnl_link_get_addr(link));
    iface->mtu = rtnl_link_get_mtu(link);
    iface->addresses = g_new0(Secure__Agent__V1__IPAddress *, AGENT_NETWORK_ADDRESSES_MAX);
    for (struct nl_object *o = nl_cache_get_first(addresses);
         o != NULL && iface->n_addresses < AGENT_NETWORK_ADDRESSES_MAX; o = nl_cache_get_next(o)) {
        if (rtnl_addr_get_ifindex((NetLinkAddr *)o) == rtnl_link_get_ifindex(link))
            iface->addresses[iface->n_addresses++] = network_ip_message((NetLinkAddr *)o);
    }
    return state;
}

Secure__Agent__V1__ListInterfacesResponse *agent_network_list(GError **error)
{
    g_autoptr(NetSock) sock = network_connect(error);
    g_autoptr(NetCache) links = NULL;
    g_autoptr(NetCache) addresses = NULL;
    Secure__Agent__V1__ListInterfacesResponse *reply;

    if (sock == NULL || (links = network_links(sock, error)) == NULL ||
        (addresses = network_addresses(sock, error)) == NULL)
        return NULL;
    reply = g_new0(Secure__Agent__V1__ListInterfacesResponse, 1);
    secure__agent__v1__list_interfaces_response__init(reply);
    reply->interfaces = g_new0(Secure__Agent__V1__InterfaceState *, AGENT_NETWORK_LIST_MAX);
    for (struct nl_object *o = nl_cache_get_first(links);
         o != NULL && reply->n_interfaces < AGENT_NETWORK_LIST_MAX; o = nl_cache_get_next(o))
        reply->interfaces[reply->n_interfaces++] = network_state_message((NetLink *)o, addresses);
    return reply;
}
