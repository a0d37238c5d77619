/* fastres: the sort's view of the interfaces, over rtnetlink (internal to
 * sort*.c).
 *
 * Written from glibc 2.36 sysdeps/unix/sysv/linux/check_pf.c (__check_pf,
 * make_request) and check_native.c (__check_native). Owns the rtnetlink
 * dumps: the interface address list with each address's prefix length,
 * interface and deprecated/home flags, and the link type (tunnel or not)
 * asked by rule 7. Called by sort_source.c and sort_rules.c during one
 * sort; keeps nothing between calls (every dump opens and closes its own
 * socket), so it is thread- and fork-safe. Never sends anything but the
 * dump requests to the kernel. */
#include "api/sort_int.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if_arp.h>

/* Receive buffer for rtnetlink dumps: one page, as glibc's. The kernel
 * sizes dump parts after the reader's buffer, and a message that does not
 * fit (MSG_TRUNC) fails the whole dump in glibc; a bigger buffer here
 * would succeed where glibc fails (e.g. RTM_NEWLINK of a NIC with many
 * VFs) and change rule 7. */
#define FR_SORT_NL_BUF sysconf(_SC_PAGESIZE)
/* Dump parts read before giving up: 64k addresses fit in under 2000
 * one-page parts; the bound only stops a runaway loop. */
#define FR_SORT_NL_MAX_PARTS 65536
/* Interface addresses kept; a machine with more is treated like a failed
 * dump (glibc: no address information at all). */
#define FR_SORT_MAX_IFADDRS 65536

/* Callback per dump message: 0 to go on, 1 to stop early, -1 on failure. */
typedef int (*fr_sort_nl_fn)(const struct nlmsghdr *h, void *arg);

/* Dump one rtnetlink table (RTM_GETADDR, RTM_GETLINK) through fn.
 * Returns 0 when the dump ended or fn stopped it, -1 on failure. */
static int fr_sort_nl_dump(int type, fr_sort_nl_fn fn, void *arg)
{
    static _Atomic uint32_t seq_counter;
    int rc = -1;
    char *buf = NULL;
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0)
        goto done;
    long page = FR_SORT_NL_BUF;
    size_t bufsz = page > 0 ? (size_t)page : 4096;
    buf = malloc(bufsz);
    if (!buf)
        goto done;

    struct {
        struct nlmsghdr nh;
        struct rtgenmsg g;
    } req;
    memset(&req, 0, sizeof(req));
    req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.g));
    req.nh.nlmsg_type = (uint16_t)type;
    req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    /* Replies are matched by sequence number; only the kernel (nl_pid 0)
     * can answer on this socket anyway. */
    req.nh.nlmsg_seq = atomic_fetch_add(&seq_counter, 1) + 1;
    req.g.rtgen_family = AF_UNSPEC;
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    if (sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
        goto done;

    for (int parts = 0; parts < FR_SORT_NL_MAX_PARTS; parts++) {
        struct sockaddr_nl from;
        struct iovec iov = {buf, bufsz};
        struct msghdr msg = {.msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1};
        ssize_t len = recvmsg(fd, &msg, 0);
        if (len < 0 && errno == EINTR)
            continue;
        if (len < 0 || (msg.msg_flags & MSG_TRUNC))
            goto done;
        if (from.nl_pid != 0)
            continue;
        size_t left = (size_t)len;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
            if (h->nlmsg_seq != req.nh.nlmsg_seq)
                continue;
            if (h->nlmsg_type == NLMSG_DONE) {
                rc = 0;
                goto done;
            }
            if (h->nlmsg_type == NLMSG_ERROR)
                goto done;
            int r = fn(h, arg);
            if (r != 0) {
                rc = r > 0 ? 0 : -1;
                goto done;
            }
        }
    }
done:
    free(buf);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* RTM_NEWADDR -> one fr_sort_ifaddr, recorded like glibc's make_request. */
static int fr_sort_on_addr(const struct nlmsghdr *h, void *arg)
{
    struct fr_sort_iflist *l = arg;
    if (h->nlmsg_type != RTM_NEWADDR || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifaddrmsg)))
        return 0;
    const struct ifaddrmsg *ifa = NLMSG_DATA(h);
    if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
        return 0;
    size_t alen = ifa->ifa_family == AF_INET ? 4 : 16;

    /* glibc: IFA_ADDRESS wins wherever it appears, IFA_LOCAL only stands in
     * for a missing IFA_ADDRESS. On a point-to-point link IFA_ADDRESS is the
     * peer, so the local address is then not found (index unknown). */
    const void *local = NULL, *address = NULL;
    int rlen = (int)IFA_PAYLOAD(h);
    for (const struct rtattr *rta = IFA_RTA(ifa); RTA_OK(rta, rlen); rta = RTA_NEXT(rta, rlen)) {
        if (RTA_PAYLOAD(rta) < alen)
            continue;
        if (rta->rta_type == IFA_ADDRESS && !address)
            address = RTA_DATA(rta);
        else if (rta->rta_type == IFA_LOCAL && !local)
            local = RTA_DATA(rta);
    }
    if (!address)
        address = local;
    if (!address)
        return 0;

    if (l->n == l->cap) {
        if (l->cap >= FR_SORT_MAX_IFADDRS)
            return -1;
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct fr_sort_ifaddr *a = realloc(l->a, cap * sizeof(*a));
        if (!a)
            return -1;
        l->a = a;
        l->cap = cap;
    }
    struct fr_sort_ifaddr *e = &l->a[l->n++];
    memset(e, 0, sizeof(*e));
    if (ifa->ifa_family == AF_INET) {
        e->addr[10] = e->addr[11] = 0xff;
        memcpy(e->addr + 12, address, 4);
    } else {
        memcpy(e->addr, address, 16);
        if (!IN6_IS_ADDR_LOOPBACK((const struct in6_addr *)e->addr))
            l->seen_ipv6 = true;
    }
    /* glibc: only the 8-bit ifa_flags are read (not IFA_FLAGS); optimistic
     * counts as deprecated; temporary addresses get no flag at all. */
    e->flags = (uint8_t)(((ifa->ifa_flags & (IFA_F_DEPRECATED | IFA_F_OPTIMISTIC)) ? FR_SORT_DEPRECATED : 0) |
                         ((ifa->ifa_flags & IFA_F_HOMEADDRESS) ? FR_SORT_HOME : 0));
    e->prefixlen = ifa->ifa_prefixlen;
    e->index = ifa->ifa_index;
    return 0;
}

static int fr_sort_ifaddr_cmp(const void *a, const void *b)
{
    return memcmp(((const struct fr_sort_ifaddr *)a)->addr, ((const struct fr_sort_ifaddr *)b)->addr, 16);
}

/* glibc __check_pf + the qsort in getaddrinfo. glibc hands out the list
 * only when a non-loopback IPv6 address exists; otherwise (and when the
 * dump fails) no source gets flags, prefix length or interface. */
void fr_sort_iface_load(struct fr_sort_iflist *l)
{
    if (fr_sort_nl_dump(RTM_GETADDR, fr_sort_on_addr, l) != 0 || !l->seen_ipv6) {
        free(l->a);
        l->a = NULL;
        l->n = l->cap = 0;
        l->failed = true;
        return;
    }
    /* glibc's qsort is a stable merge sort, so equal addresses on two
     * interfaces keep kernel order and libc's bsearch picks the same one. */
    qsort(l->a, l->n, sizeof(*l->a), fr_sort_ifaddr_cmp);
}

/* RTM_NEWLINK: glibc __check_native. Tunnels (ipip, ip6tnl, sit) are not
 * native transport; every other link type is. */
static int fr_sort_on_link(const struct nlmsghdr *h, void *arg)
{
    struct fr_sort_native_q *q = arg;
    if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
        return 0;
    const struct ifinfomsg *ifi = NLMSG_DATA(h);
    int native = ifi->ifi_type != ARPHRD_TUNNEL6 && ifi->ifi_type != ARPHRD_TUNNEL && ifi->ifi_type != ARPHRD_SIT;
    for (int k = 0; k < 2; k++) {
        if (q->idx[k] == (uint32_t)ifi->ifi_index) {
            *q->native[k] = native;
            q->idx[k] = FR_SORT_NO_INDEX;
        }
    }
    return q->idx[0] == FR_SORT_NO_INDEX && q->idx[1] == FR_SORT_NO_INDEX;
}

void fr_sort_iface_native(struct fr_sort_native_q *q)
{
    (void)fr_sort_nl_dump(RTM_GETLINK, fr_sort_on_link, q);
}

const struct fr_sort_ifaddr *fr_sort_iface_find(const struct fr_sort_iflist *l, const struct fr_sort_ifaddr *key)
{
    return bsearch(key, l->a, l->n, sizeof(*l->a), fr_sort_ifaddr_cmp);
}
