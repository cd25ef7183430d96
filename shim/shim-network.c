/* Pod networking on the host: taps and tc redirects in the pod's network namespace (libnl-route),
 * and the guest's side of it through the agent. */
#include "shim-network.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <linux/pkt_cls.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <netlink/route/act/mirred.h>
#include <netlink/route/addr.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/link.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/route.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "agent.pb-c.h"
#include "shim-error.h"
#include "shim-port-forward.h"
#include "common-fd.h"

#define TAP_PREFIX "sctap"
#define NET_MAX_LINKS 16     /* the agent's ListInterfaces limit is 64; a pod has one or two */
#define NET_MAX_ADDRESSES 16 /* per interface, the agent's limit */
#define NET_MAX_ROUTES 64    /* the agent's limit */
#define INGRESS_HANDLE TC_HANDLE(0xffff, 0)

typedef struct {
    char *name; /* the veth's, the guest NIC's too */
    char *mac;
    char *tap;
    int ifindex;
    guint mtu;
    GPtrArray *addresses; /* "address/prefix" */
} NetLink;

typedef struct {
    char *destination; /* "" = default */
    char *gateway;
    char *device;
    char *source;
    guint scope;
    guint family; /* 4 or 6 */
} NetRoute;

struct _ShimNetwork {
    char *netns;
    int netns_fd;      /* open from the start: see vmm_netns_enter_fd() */
    GPtrArray *links;  /* NetLink */
    GPtrArray *routes; /* NetRoute */
    VmmNic *nics;
};

typedef struct nl_sock NlSock;
typedef struct nl_cache NlCache;
typedef struct rtnl_link RtLink;
typedef struct rtnl_qdisc RtQdisc;
typedef struct rtnl_cls RtCls;
typedef struct rtnl_act RtAct;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NlSock, nl_socket_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(NlCache, nl_cache_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(RtLink, rtnl_link_put)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(RtQdisc, rtnl_qdisc_put)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(RtCls, rtnl_cls_put)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(RtAct, rtnl_act_put)

static void net_link_free(NetLink *l)
{
    g_free(l->name);
    g_free(l->mac);
    g_free(l->tap);
    g_ptr_array_unref(l->addresses);
    g_free(l);
}

static void net_route_free(NetRoute *r)
{
    g_free(r->destination);
    g_free(r->gateway);
    g_free(r->device);
    g_free(r->source);
    g_free(r);
}

static gboolean nl_failed(GError **error, int err, const char *format, ...) G_GNUC_PRINTF(3, 4);
static gboolean nl_failed(GError **error, int err, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    g_autofree char *what = g_strdup_vprintf(format, args);
    va_end(args);
    g_set_error(error, SHIM_ERROR, SHIM_ERROR_FAILED, "%s: %s", what, nl_geterror(err));
    return FALSE;
}

/* "address/prefix" or "address" of @addr, or NULL for an address of another family. */
static char *addr_text(struct nl_addr *addr, gboolean with_prefix)
{
    char buf[INET6_ADDRSTRLEN];
    int family = addr ? nl_addr_get_family(addr) : AF_UNSPEC;
    if ((family != AF_INET && family != AF_INET6) ||
        !inet_ntop(family, nl_addr_get_binary_addr(addr), buf, sizeof(buf)))
        return NULL;
    return with_prefix ? g_strdup_printf("%s/%u", buf, nl_addr_get_prefixlen(addr)) : g_strdup(buf);
}

/* ---- reading the namespace ----------------------------------------------------------------- */

static NetLink *link_new(struct rtnl_link *link)
{
    char mac[32];
    NetLink *l = g_new0(NetLink, 1);
    l->name = g_strdup(rtnl_link_get_name(link));
    l->ifindex = rtnl_link_get_ifindex(link);
    l->mtu = rtnl_link_get_mtu(link);
    l->mac = g_ascii_strdown(nl_addr2str(rtnl_link_get_addr(link), mac, sizeof(mac)), -1);
    l->addresses = g_ptr_array_new_with_free_func(g_free);
    return l;
}

/* Every Ethernet link but ours (a tap a previous shim left is removed by its cleanup). */
static gboolean read_links(struct nl_sock *sk, ShimNetwork *net, GError **error)
{
    g_autoptr(NlCache) cache = NULL;
    int err = rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache);
    if (err < 0)
        return nl_failed(error, err, "list the links of '%s'", net->netns);
    for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
        struct rtnl_link *link = (struct rtnl_link *)o;
        if (rtnl_link_get_arptype(link) != ARPHRD_ETHER ||
            g_str_has_prefix(rtnl_link_get_name(link), TAP_PREFIX))
            continue;
        if (net->links->len == NET_MAX_LINKS) {
            g_set_error(error, SHIM_ERROR, SHIM_ERROR_STATE,
                        "the pod's network namespace '%s' has more than %d interfaces", net->netns,
                        NET_MAX_LINKS);
            return FALSE;
        }
        g_ptr_array_add(net->links, link_new(link));
    }
    return TRUE;
}

static NetLink *link_by_index(ShimNetwork *net, int ifindex)
{
    for (guint i = 0; i < net->links->len; i++) {
        NetLink *l = net->links->pdata[i];
        if (l->ifindex == ifindex)
            return l;
    }
    return NULL;
}

/* Global addresses only: the guest makes its own link-local ones. */
static gboolean read_addresses(struct nl_sock *sk, ShimNetwork *net, GError **error)
{
    g_autoptr(NlCache) cache = NULL;
    int err = rtnl_addr_alloc_cache(sk, &cache);
    if (err < 0)
        return nl_failed(error, err, "list the addresses of '%s'", net->netns);
    for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
        struct rtnl_addr *addr = (struct rtnl_addr *)o;
        NetLink *l = link_by_index(net, rtnl_addr_get_ifindex(addr));
        char *text = rtnl_addr_get_scope(addr) == RT_SCOPE_UNIVERSE
                         ? addr_text(rtnl_addr_get_local(addr), FALSE)
                         : NULL;
        if (!l || !text) {
            g_free(text);
            continue;
        }
        if (l->addresses->len == NET_MAX_ADDRESSES) {
            g_free(text);
            g_set_error(error, SHIM_ERROR, SHIM_ERROR_STATE,
                        "interface '%s' has more than %d addresses", l->name, NET_MAX_ADDRESSES);
            return FALSE;
        }
        g_ptr_array_add(l->addresses,
                        g_strdup_printf("%s/%d", text, rtnl_addr_get_prefixlen(addr)));
        g_free(text);
    }
    return TRUE;
}

/* The main table's unicast routes through our links, less those the kernel made for an
 * address (the guest's kernel makes the same when the agent adds it). */
static NetRoute *route_new(ShimNetwork *net, struct rtnl_route *route)
{
    struct rtnl_nexthop *nh =
        rtnl_route_get_nnexthops(route) == 1 ? rtnl_route_nexthop_n(route, 0) : NULL;
    NetLink *l = nh ? link_by_index(net, rtnl_route_nh_get_ifindex(nh)) : NULL;
    struct nl_addr *dst = rtnl_route_get_dst(route);
    if (!l || rtnl_route_get_table(route) != RT_TABLE_MAIN ||
        rtnl_route_get_type(route) != RTN_UNICAST ||
        rtnl_route_get_protocol(route) == RTPROT_KERNEL)
        return NULL;
    NetRoute *r = g_new0(NetRoute, 1);
    r->family = rtnl_route_get_family(route) == AF_INET6 ? 6 : 4;
    r->destination = dst && nl_addr_get_prefixlen(dst) > 0 ? addr_text(dst, TRUE) : NULL;
    r->gateway = addr_text(rtnl_route_nh_get_gateway(nh), FALSE);
    r->source = addr_text(rtnl_route_get_pref_src(route), FALSE);
    r->device = g_strdup(l->name);
    r->scope = rtnl_route_get_scope(route);
    if (!r->destination)
        r->destination = g_strdup("");
    return r;
}

static gboolean read_routes(struct nl_sock *sk, ShimNetwork *net, GError **error)
{
    g_autoptr(NlCache) cache = NULL;
    int err = rtnl_route_alloc_cache(sk, AF_UNSPEC, 0, &cache);
    if (err < 0)
        return nl_failed(error, err, "list the routes of '%s'", net->netns);
    for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
        int family = rtnl_route_get_family((struct rtnl_route *)o);
        NetRoute *r =
            family == AF_INET || family == AF_INET6 ? route_new(net, (struct rtnl_route *)o) : NULL;
        if (!r)
            continue;
        if (net->routes->len == NET_MAX_ROUTES) {
            net_route_free(r);
            g_set_error(error, SHIM_ERROR, SHIM_ERROR_STATE,
                        "the pod's network namespace has more than %d routes", NET_MAX_ROUTES);
            return FALSE;
        }
        g_ptr_array_add(net->routes, r);
    }
    return TRUE;
}

/* ---- wiring --------------------------------------------------------------------------------- */

/* A persistent tap in this thread's network namespace, for QEMU to open by name. */
static gboolean tap_create(const char *name, GError **error)
{
    struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI};
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    g_strlcpy(ifr.ifr_name, name, sizeof(ifr.ifr_name));
    gboolean ok = fd >= 0 && ioctl(fd, TUNSETIFF, &ifr) == 0 && ioctl(fd, TUNSETPERSIST, 1) == 0;
    int saved = errno;
    common_fd_close(&fd);
    if (!ok)
        g_set_error(error, SHIM_ERROR, SHIM_ERROR_FAILED, "create tap '%s': %s", name,
                    g_strerror(saved));
    return ok;
}

/* The tap gets the veth's MTU (so the guest's frames fit) and goes up. */
static gboolean tap_up(struct nl_sock *sk, const NetLink *l, int *out_ifindex, GError **error)
{
    g_autoptr(RtLink) tap = NULL;
    int err = rtnl_link_get_kernel(sk, 0, l->tap, &tap);
    if (err < 0)
        return nl_failed(error, err, "find tap '%s'", l->tap);
    g_autoptr(RtLink) change = rtnl_link_alloc();
    rtnl_link_set_mtu(change, l->mtu);
    rtnl_link_set_flags(change, IFF_UP);
    err = rtnl_link_change(sk, tap, change, 0);
    if (err < 0)
        return nl_failed(error, err, "set tap '%s' up with MTU %u", l->tap, l->mtu);
    *out_ifindex = rtnl_link_get_ifindex(tap);
    return TRUE;
}

static gboolean add_ingress(struct nl_sock *sk, int ifindex, const char *name, GError **error)
{
    g_autoptr(RtQdisc) q = rtnl_qdisc_alloc();
    rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
    rtnl_tc_set_parent(TC_CAST(q), TC_H_INGRESS);
    rtnl_tc_set_handle(TC_CAST(q), INGRESS_HANDLE);
    rtnl_tc_set_kind(TC_CAST(q), "ingress");
    int err = rtnl_qdisc_add(sk, q, NLM_F_CREATE | NLM_F_EXCL);
    return err >= 0 || nl_failed(error, err, "add an ingress qdisc to '%s'", name);
}

/* Every frame that enters @from leaves through @to: a u32 filter matching all, with a mirred
 * egress redirect. */
static gboolean add_redirect(struct nl_sock *sk, int from, int to, const char *name, GError **error)
{
    g_autoptr(RtCls) cls = rtnl_cls_alloc();
    g_autoptr(RtAct) act = rtnl_act_alloc();
    rtnl_tc_set_ifindex(TC_CAST(cls), from);
    rtnl_tc_set_parent(TC_CAST(cls), INGRESS_HANDLE);
    rtnl_cls_set_protocol(cls, ETH_P_ALL);
    int err = rtnl_tc_set_kind(TC_CAST(cls), "u32");
    if (err >= 0)
        err = rtnl_u32_add_key_uint32(cls, 0, 0, 0, 0);
    /* Without it the match would only lead to further keys, never to the action. */
    if (err >= 0)
        err = rtnl_u32_set_cls_terminal(cls);
    rtnl_tc_set_kind(TC_CAST(act), "mirred");
    rtnl_mirred_set_action(act, TCA_EGRESS_REDIR);
    rtnl_mirred_set_policy(act, TC_ACT_STOLEN);
    rtnl_mirred_set_ifindex(act, to);
    if (err >= 0)
        err = rtnl_u32_add_action(cls, act);
    if (err >= 0)
        err = rtnl_cls_add(sk, cls, NLM_F_CREATE | NLM_F_EXCL);
    return err >= 0 || nl_failed(error, err, "redirect the frames of '%s'", name);
}

static gboolean wire_link(struct nl_sock *sk, NetLink *l, GError **error)
{
    int tap_index = 0;
    return tap_create(l->tap, error) && tap_up(sk, l, &tap_index, error) &&
           add_ingress(sk, l->ifindex, l->name, error) &&
           add_ingress(sk, tap_index, l->tap, error) &&
           add_redirect(sk, l->ifindex, tap_index, l->name, error) &&
           add_redirect(sk, tap_index, l->ifindex, l->tap, error);
}

/* Deletes the tap (its filters go with it) and the veth's ingress qdisc; errors are logged. */
static void unwire_link(struct nl_sock *sk, const char *veth, const char *tap)
{
    g_autoptr(RtLink) link = NULL;
    if (rtnl_link_get_kernel(sk, 0, tap, &link) >= 0) {
        int err = rtnl_link_delete(sk, link);
        if (err < 0)
            g_warning("delete tap '%s': %s", tap, nl_geterror(err));
    }
    g_clear_pointer(&link, rtnl_link_put);
    if (rtnl_link_get_kernel(sk, 0, veth, &link) < 0)
        return; /* CNI removed it already */
    g_autoptr(RtQdisc) q = rtnl_qdisc_alloc();
    rtnl_tc_set_ifindex(TC_CAST(q), rtnl_link_get_ifindex(link));
    rtnl_tc_set_parent(TC_CAST(q), TC_H_INGRESS);
    rtnl_tc_set_handle(TC_CAST(q), INGRESS_HANDLE);
    int err = rtnl_qdisc_delete(sk, q);
    if (err < 0 && err != -NLE_OBJ_NOTFOUND)
        g_warning("remove the ingress qdisc of '%s': %s", veth, nl_geterror(err));
}

/* A netlink socket in the namespace @fd (named @netns), which it stays in wherever it is used. */
static struct nl_sock *netns_socket(int fd, const char *netns, GError **error)
{
    int saved = -1;
    if (!vmm_netns_enter_fd(fd, netns, &saved, error))
        return NULL;
    struct nl_sock *sk = nl_socket_alloc();
    int err = sk ? nl_connect(sk, NETLINK_ROUTE) : -NLE_NOMEM;
    vmm_netns_leave(&saved);
    if (err < 0) {
        nl_socket_free(sk);
        nl_failed(error, err, "netlink socket in '%s'", netns);
        return NULL;
    }
    return sk;
}

static void record_links(ShimNetwork *net, ShimState *state)
{
    g_autoptr(GString) text = g_string_new(NULL);
    for (guint i = 0; i < net->links->len; i++) {
        NetLink *l = net->links->pdata[i];
        g_string_append_printf(text, "%s:%s;", l->name, l->tap);
    }
    shim_state_set(state, NULL, SHIM_STATE_NETNS, net->netns);
    shim_state_set(state, NULL, SHIM_STATE_NET_LINKS, text->str);
}

/* Removes what @links ("veth:tap;...") names in the namespace @fd (named @netns). */
static void unwire_recorded(int fd, const char *netns, const char *links)
{
    g_autoptr(GError) error = NULL;
    if (!links || !*links)
        return;
    g_autoptr(NlSock) sk = netns_socket(fd, netns, &error);
    if (!sk) {
        g_warning("%s", error->message);
        return;
    }
    g_auto(GStrv) pairs = g_strsplit(links, ";", -1);
    for (char **p = pairs; *p; p++) {
        g_auto(GStrv) names = g_strsplit(*p, ":", 2);
        if (g_strv_length(names) == 2)
            unwire_link(sk, names[0], names[1]);
    }
}

static void network_free(ShimNetwork *net)
{
    common_fd_close(&net->netns_fd);
    g_free(net->netns);
    g_ptr_array_unref(net->links);
    g_ptr_array_unref(net->routes);
    g_free(net->nics);
    g_free(net);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ShimNetwork, network_free)

/* Taps are made with the thread inside the namespace: a tap is born in its opener's. */
static gboolean wire_all(ShimNetwork *net, struct nl_sock *sk, GError **error)
{
    int saved = -1;
    if (!vmm_netns_enter_fd(net->netns_fd, net->netns, &saved, error))
        return FALSE;
    gboolean ok = TRUE;
    for (guint i = 0; ok && i < net->links->len; i++)
        ok = wire_link(sk, net->links->pdata[i], error);
    vmm_netns_leave(&saved);
    return ok;
}

ShimNetwork *shim_network_new(const char *netns, ShimState *state, GError **error)
{
    g_autoptr(ShimNetwork) net = g_new0(ShimNetwork, 1);
    net->netns_fd = -1;
    net->netns = g_strdup(netns);
    net->links = g_ptr_array_new_with_free_func((GDestroyNotify)net_link_free);
    net->routes = g_ptr_array_new_with_free_func((GDestroyNotify)net_route_free);
    net->netns_fd = vmm_netns_open(netns, error);
    if (net->netns_fd < 0)
        return NULL;
    g_autoptr(NlSock) sk = netns_socket(net->netns_fd, netns, error);
    if (!sk || !read_links(sk, net, error) || !read_addresses(sk, net, error) ||
        !read_routes(sk, net, error))
        return NULL;
    net->nics = g_new0(VmmNic, net->links->len + 1);
    for (guint i = 0; i < net->links->len; i++) {
        NetLink *l = net->links->pdata[i];
        l->tap = g_strdup_printf(TAP_PREFIX "%u", i);
        net->nics[i].tap = l->tap;
        net->nics[i].mac = l->mac;
        g_info("pod network: %s (%s, MTU %u, %u addresses) through tap %s", l->name, l->mac, l->mtu,
               l->addresses->len, l->tap);
    }
    if (net->links->len == 0)
        g_info("pod network: '%s' has no interface to mirror; the pod has only loopback", netns);
    record_links(net, state);
    if (!shim_state_save(state, error))
        return NULL;
    if (!wire_all(net, sk, error)) {
        g_prefix_error(error, "pod network in '%s': ", netns);
        shim_network_free(g_steal_pointer(&net), state);
        return NULL;
    }
    return g_steal_pointer(&net);
}

const VmmNic *shim_network_get_nics(ShimNetwork *net, gsize *out_n_nics)
{
    *out_n_nics = net->links->len;
    return net->nics;
}

const char *shim_network_get_netns(ShimNetwork *net)
{
    return net->netns;
}

void shim_network_free(ShimNetwork *net, ShimState *state)
{
    if (!net)
        return;
    g_autofree char *links = shim_state_get(state, NULL, SHIM_STATE_NET_LINKS);
    unwire_recorded(net->netns_fd, net->netns, links);
    shim_state_set(state, NULL, SHIM_STATE_NETNS, NULL);
    shim_state_set(state, NULL, SHIM_STATE_NET_LINKS, NULL);
    network_free(net);
}

gboolean shim_network_cleanup_stale(ShimState *state, GError **error)
{
    g_autofree char *netns = shim_state_get(state, NULL, SHIM_STATE_NETNS);
    g_autofree char *links = shim_state_get(state, NULL, SHIM_STATE_NET_LINKS);
    (void)error;
    /* A namespace that is gone took the taps with it. */
    int fd = netns ? vmm_netns_open(netns, NULL) : -1;
    if (fd >= 0) {
        unwire_recorded(fd, netns, links);
        shim_port_forward_cleanup_stale(fd, netns);
        close(fd);
    }
    return TRUE;
}

/* ---- the guest ------------------------------------------------------------------------------ */

typedef struct {
    ShimNetwork *net;
    ShimAgent *agent;
    guint next; /* the link to send; links->len: the routes */
    ShimNetworkDoneFunc func;
    gpointer user_data;
} GuestConfig;

static void guest_next(GuestConfig *gc);

static void guest_reply(const ProtobufCMessage *reply, const GError *error, gpointer user_data)
{
    GuestConfig *gc = user_data;
    (void)reply;
    /* On error @net may be gone (the pod ended, which ends the agent's calls first). */
    if (error || gc->next > gc->net->links->len) {
        gc->func(error, gc->user_data);
        g_free(gc);
        return;
    }
    guest_next(gc);
}

static void send_interface(GuestConfig *gc, const NetLink *l)
{
    g_autofree Secure__Agent__V1__IPAddress *addrs =
        g_new0(Secure__Agent__V1__IPAddress, l->addresses->len + 1);
    g_autofree Secure__Agent__V1__IPAddress **ptrs =
        g_new0(Secure__Agent__V1__IPAddress *, l->addresses->len + 1);
    g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < l->addresses->len; i++) {
        g_auto(GStrv) parts = g_strsplit(l->addresses->pdata[i], "/", 2);
        secure__agent__v1__ipaddress__init(&addrs[i]);
        addrs[i].address = g_strdup(parts[0]);
        g_ptr_array_add(texts, addrs[i].address);
        addrs[i].prefix_len = (guint32)g_ascii_strtoull(parts[1], NULL, 10);
        ptrs[i] = &addrs[i];
    }
    Secure__Agent__V1__Interface iface = SECURE__AGENT__V1__INTERFACE__INIT;
    iface.mac = l->mac;
    iface.name = l->name;
    iface.mtu = l->mtu;
    iface.n_addresses = l->addresses->len;
    iface.addresses = ptrs;
    Secure__Agent__V1__UpdateInterfaceRequest req =
        SECURE__AGENT__V1__UPDATE_INTERFACE_REQUEST__INIT;
    req.interface = &iface;
    shim_agent_call(gc->agent, "UpdateInterface", &req.base, &google__protobuf__empty__descriptor,
                    SHIM_AGENT_DEADLINE, guest_reply, gc);
}

static void send_routes(GuestConfig *gc)
{
    GPtrArray *routes = gc->net->routes;
    g_autofree Secure__Agent__V1__Route *rs = g_new0(Secure__Agent__V1__Route, routes->len + 1);
    g_autofree Secure__Agent__V1__Route **ptrs =
        g_new0(Secure__Agent__V1__Route *, routes->len + 1);
    for (guint i = 0; i < routes->len; i++) {
        NetRoute *r = routes->pdata[i];
        secure__agent__v1__route__init(&rs[i]);
        rs[i].destination = r->destination;
        rs[i].gateway = r->gateway ? r->gateway : "";
        rs[i].device = r->device;
        rs[i].source = r->source ? r->source : "";
        rs[i].scope = r->scope;
        rs[i].family = r->family;
        ptrs[i] = &rs[i];
    }
    Secure__Agent__V1__UpdateRoutesRequest req = SECURE__AGENT__V1__UPDATE_ROUTES_REQUEST__INIT;
    req.n_routes = routes->len;
    req.routes = ptrs;
    shim_agent_call(gc->agent, "UpdateRoutes", &req.base, &google__protobuf__empty__descriptor,
                    SHIM_AGENT_DEADLINE, guest_reply, gc);
}

static void guest_next(GuestConfig *gc)
{
    guint i = gc->next++;
    if (i < gc->net->links->len)
        send_interface(gc, gc->net->links->pdata[i]);
    else
        send_routes(gc);
}

void shim_network_configure_guest(ShimNetwork *net, ShimAgent *agent, ShimNetworkDoneFunc func,
                                  gpointer user_data)
{
    GuestConfig *gc = g_new0(GuestConfig, 1);
    gc->net = net;
    gc->agent = agent;
    gc->func = func;
    gc->user_data = user_data;
    guest_next(gc);
}
