/* fastres: RFC 3484 destination address ordering, as glibc 2.36 does it.
 *
 * Written from a reading of glibc 2.36 sysdeps/posix/getaddrinfo.c
 * (getaddrinfo's sort block, rfc3484_sort, match_prefix, get_scope,
 * gaiconf_init), sysdeps/unix/sysv/linux/check_pf.c (__check_pf) and
 * check_native.c (__check_native). The aim is the same order, not the
 * best order: glibc's deviations from RFC 3484/6724 are kept on purpose
 * and each is marked "glibc:" below. */
#include "api/sort.h"

#include <ctype.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "base/clock.h"

/* glibc reads its sort policy from here (GAICONF_FNAME). */
#define FR_SORT_GAICONF "/etc/gai.conf"
/* How stale our view of gai.conf may be. glibc itself reads the file once
 * per process (again on mtime change only with "reload yes"); a second is
 * the project's bound on noticing an edit. */
#define FR_SORT_GAICONF_RECHECK_MS 1000
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
/* glibc's "unknown interface" index (0xffffffffu in sort_result.index). */
#define FR_SORT_NO_INDEX UINT32_MAX

/* Source address flags, glibc's in6ai_deprecated / in6ai_homeaddress. */
#define FR_SORT_DEPRECATED 1
#define FR_SORT_HOME 2

/* ---- policy tables ---------------------------------------------------- */

struct fr_sort_prefix {
    uint8_t prefix[16];
    unsigned bits;
    int val;
};

/* Labels: RFC 3484 section 2.1 default policy table, with glibc's changes
 * (glibc default_labels): fec0::/10 (site-local, RFC 3879) gets label 5 of
 * its own because site-local IPv6 is never NATed, fc00::/7 (ULA, RFC 4193)
 * gets 6, and 2001::/32 (Teredo, RFC 4380) gets 7. First match in this
 * order wins, as in glibc's match_prefix. */
static const struct fr_sort_prefix fr_sort_labels[] = {
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, 0},       /* ::1 */
    {{0x20, 0x02}, 16, 2},                                             /* 6to4 */
    {{0}, 96, 3},                                                      /* IPv4-compatible */
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96, 4},               /* IPv4-mapped */
    {{0xfe, 0xc0}, 10, 5},                                             /* site-local */
    {{0xfc}, 7, 6},                                                    /* ULA */
    {{0x20, 0x01, 0, 0}, 32, 7},                                       /* Teredo */
    {{0}, 0, 1},                                                       /* everything else */
};

/* Precedences: exactly the RFC 3484 section 2.1 default policy table
 * (glibc default_precedence; glibc never adopted RFC 6724's table, so
 * IPv4 stays at 10, below all native IPv6 at 40). */
static const struct fr_sort_prefix fr_sort_precedence[] = {
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, 50},      /* ::1 */
    {{0x20, 0x02}, 16, 30},                                            /* 6to4 */
    {{0}, 96, 20},                                                     /* IPv4-compatible */
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96, 10},              /* IPv4-mapped */
    {{0}, 0, 40},                                                      /* everything else */
};

/* IPv4 scopes (glibc default_scopes, after RFC 3484 section 3.2 / RFC 6724
 * section 3.2): 169.254/16 and 127/8 are link-local (2), the rest global
 * (14). Host byte order; the last entry matches everything. */
static const struct {
    uint32_t addr, mask;
    int scope;
} fr_sort_scopes4[] = {
    {0xa9fe0000u, 0xffff0000u, 2},
    {0x7f000000u, 0xff000000u, 2},
    {0, 0, 14},
};

/* ---- per-destination state (glibc struct sort_result) ---------------- */

union fr_sort_sa {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
};

struct fr_sort_dest {
    struct addrinfo *ai;
    union fr_sort_sa src;  /* source the kernel picked; AF_INET for IPv4 */
    bool got_src;          /* connect() worked: the destination is usable */
    uint8_t flags;         /* FR_SORT_DEPRECATED | FR_SORT_HOME of src */
    uint8_t prefixlen;     /* of the interface address src was found as */
    uint32_t index;        /* its interface, or FR_SORT_NO_INDEX */
    int native;            /* rule 7 cache: -1 unknown, else 0/1 */
};

struct fr_sort_ctx {
    struct fr_sort_dest *d;
    size_t n;
};

/* One interface address as glibc's struct in6addrinfo holds it. */
struct fr_sort_ifaddr {
    uint8_t addr[16];  /* IPv4 as ::ffff:a.b.c.d */
    uint32_t index;
    uint8_t flags;
    uint8_t prefixlen;
};

struct fr_sort_iflist {
    struct fr_sort_ifaddr *a;
    size_t n, cap;
    bool seen_ipv6;   /* a non-loopback IPv6 address exists */
    bool failed;
};

/* ---- rtnetlink -------------------------------------------------------- */

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
static void fr_sort_iflist_load(struct fr_sort_iflist *l)
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

struct fr_sort_native_q {
    uint32_t idx[2];
    int *native[2];
};

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

/* ---- address classification ----------------------------------------- */

/* glibc match_prefix: IPv4 is looked up as ::ffff:a.b.c.d. */
static int fr_sort_match(const union fr_sort_sa *sa, const struct fr_sort_prefix *tab, int dflt)
{
    uint8_t a[16] = {0};
    if (sa->sa.sa_family == AF_INET) {
        a[10] = a[11] = 0xff;
        memcpy(a + 12, &sa->in.sin_addr, 4);
    } else if (sa->sa.sa_family == AF_INET6) {
        memcpy(a, &sa->in6.sin6_addr, 16);
    } else {
        return dflt;
    }
    for (;; tab++) {
        unsigned full = tab->bits / 8, rest = tab->bits % 8;
        if (memcmp(a, tab->prefix, full) != 0)
            continue;
        uint8_t m = (uint8_t)(0xff00 >> rest);
        if (rest == 0 || (a[full] & m) == (tab->prefix[full] & m))
            return tab->val;
    }
}

/* glibc get_scope. IPv6: multicast scope field, link-local and loopback 2,
 * site-local 5, the rest (ULA, v4-mapped included) 14. */
static int fr_sort_scope(const union fr_sort_sa *sa)
{
    if (sa->sa.sa_family == AF_INET6) {
        const struct in6_addr *a = &sa->in6.sin6_addr;
        if (IN6_IS_ADDR_MULTICAST(a))
            return a->s6_addr[1] & 0xf;
        if (IN6_IS_ADDR_LINKLOCAL(a) || IN6_IS_ADDR_LOOPBACK(a))
            return 2;
        if (IN6_IS_ADDR_SITELOCAL(a))
            return 5;
        return 14;
    }
    if (sa->sa.sa_family == AF_INET) {
        uint32_t v = ntohl(sa->in.sin_addr.s_addr);
        for (size_t i = 0;; i++)
            if ((v & fr_sort_scopes4[i].mask) == fr_sort_scopes4[i].addr)
                return fr_sort_scopes4[i].scope;
    }
    return 15;
}

/* glibc's "fls" is really a count of leading zero bits (32 for 0): the
 * length of the common prefix within one 32-bit word. */
static int fr_sort_common_bits(uint32_t x)
{
    return x ? __builtin_clz(x) : 32;
}

/* glibc computes 0xffffffffu << (32 - prefixlen); with prefixlen 0 (source
 * not in the interface list) that shift is by 32, which the x86 shift
 * instruction performs modulo 32: the mask is all ones, so only a
 * destination equal to its source scores. Reproduced here without UB. */
static uint32_t fr_sort_mask4(unsigned prefixlen)
{
    return 0xffffffffu << ((32u - prefixlen) & 31u);
}

static const union fr_sort_sa *fr_sort_dst(const struct fr_sort_dest *d)
{
    return (const union fr_sort_sa *)d->ai->ai_addr;
}

/* Rule 7 input, cached per interface as glibc does; unknown counts as 0. */
static void fr_sort_fill_native(struct fr_sort_ctx *c, struct fr_sort_dest *a1, struct fr_sort_dest *a2, int *n1,
                                int *n2)
{
    *n1 = a1->native;
    *n2 = a2->native;
    if (*n1 != -1 && *n2 != -1)
        return;
    struct fr_sort_native_q q = {{FR_SORT_NO_INDEX, FR_SORT_NO_INDEX}, {n1, n2}};
    if (*n1 == -1) {
        *n1 = 0;
        q.idx[0] = a1->index;
    }
    if (*n2 == -1) {
        *n2 = 0;
        q.idx[1] = a2->index;
    }
    uint32_t want1 = q.idx[0], want2 = q.idx[1];
    (void)fr_sort_nl_dump(RTM_GETLINK, fr_sort_on_link, &q);
    for (size_t i = 0; i < c->n; i++) {
        if (want1 != FR_SORT_NO_INDEX && c->d[i].index == want1)
            c->d[i].native = *n1;
        else if (want2 != FR_SORT_NO_INDEX && c->d[i].index == want2)
            c->d[i].native = *n2;
    }
}

/* glibc rfc3484_sort, rule for rule. Negative: p1 first. */
static int fr_sort_cmp(const void *p1, const void *p2, void *arg)
{
    struct fr_sort_ctx *c = arg;
    size_t i1 = *(const size_t *)p1, i2 = *(const size_t *)p2;
    struct fr_sort_dest *a1 = &c->d[i1], *a2 = &c->d[i2];

    /* Rule 1: avoid unusable destinations (no route: connect failed). */
    if (a1->got_src != a2->got_src)
        return a1->got_src ? -1 : 1;

    /* From here on both have a source or neither has. */
    int dscope1 = fr_sort_scope(fr_sort_dst(a1)), dscope2 = fr_sort_scope(fr_sort_dst(a2));

    /* Rule 2: prefer matching scope. */
    if (a1->got_src) {
        bool m1 = dscope1 == fr_sort_scope(&a1->src), m2 = dscope2 == fr_sort_scope(&a2->src);
        if (m1 != m2)
            return m1 ? -1 : 1;
    }
    /* Rule 3: avoid deprecated source addresses. */
    if (a1->got_src) {
        bool d1 = a1->flags & FR_SORT_DEPRECATED, d2 = a2->flags & FR_SORT_DEPRECATED;
        if (d1 != d2)
            return d1 ? 1 : -1;
    }
    /* Rule 4: prefer home addresses. */
    if (a1->got_src) {
        bool h1 = a1->flags & FR_SORT_HOME, h2 = a2->flags & FR_SORT_HOME;
        if (h1 != h2)
            return h1 ? -1 : 1;
    }
    /* Rule 5: prefer matching label. */
    if (a1->got_src) {
        bool m1 = fr_sort_match(fr_sort_dst(a1), fr_sort_labels, INT32_MAX) ==
                  fr_sort_match(&a1->src, fr_sort_labels, INT32_MAX);
        bool m2 = fr_sort_match(fr_sort_dst(a2), fr_sort_labels, INT32_MAX) ==
                  fr_sort_match(&a2->src, fr_sort_labels, INT32_MAX);
        if (m1 != m2)
            return m1 ? -1 : 1;
    }
    /* Rule 6: prefer higher precedence. */
    int prec1 = fr_sort_match(fr_sort_dst(a1), fr_sort_precedence, 0);
    int prec2 = fr_sort_match(fr_sort_dst(a2), fr_sort_precedence, 0);
    if (prec1 != prec2)
        return prec1 > prec2 ? -1 : 1;

    /* Rule 7: prefer native transport, asked only when the interfaces
     * differ. */
    if (a1->got_src && a1->index != a2->index) {
        int n1, n2;
        fr_sort_fill_native(c, a1, a2, &n1, &n2);
        if (!n1 != !n2)
            return n1 ? -1 : 1;
    }
    /* Rule 8: prefer smaller scope. */
    if (dscope1 != dscope2)
        return dscope1 < dscope2 ? -1 : 1;

    /* Rule 9: longest matching prefix, same family only. */
    if (a1->got_src && a1->ai->ai_family == a2->ai->ai_family) {
        int bits1 = 0, bits2 = 0;
        if (a1->ai->ai_family == AF_INET) {
            /* glibc: IPv4 prefixes count only inside the source's subnet. */
            uint32_t d1 = ntohl(fr_sort_dst(a1)->in.sin_addr.s_addr), s1 = ntohl(a1->src.in.sin_addr.s_addr);
            uint32_t d2 = ntohl(fr_sort_dst(a2)->in.sin_addr.s_addr), s2 = ntohl(a2->src.in.sin_addr.s_addr);
            uint32_t m1 = fr_sort_mask4(a1->prefixlen), m2 = fr_sort_mask4(a2->prefixlen);
            if ((s1 & m1) == (d1 & m1))
                bits1 = fr_sort_common_bits(d1 ^ s1);
            if ((s2 & m2) == (d2 & m2))
                bits2 = fr_sort_common_bits(d2 ^ s2);
        } else if (a1->ai->ai_family == AF_INET6) {
            /* glibc: walk 32-bit words until either pair differs, then
             * compare the common bits of that one word only. */
            uint32_t d1[4], s1[4], d2[4], s2[4];
            memcpy(d1, &fr_sort_dst(a1)->in6.sin6_addr, 16);
            memcpy(s1, &a1->src.in6.sin6_addr, 16);
            memcpy(d2, &fr_sort_dst(a2)->in6.sin6_addr, 16);
            memcpy(s2, &a2->src.in6.sin6_addr, 16);
            int w = 0;
            while (w < 4 && d1[w] == s1[w] && d2[w] == s2[w])
                w++;
            if (w < 4) {
                bits1 = fr_sort_common_bits(ntohl(d1[w] ^ s1[w]));
                bits2 = fr_sort_common_bits(ntohl(d2[w] ^ s2[w]));
            }
        }
        if (bits1 != bits2)
            return bits1 > bits2 ? -1 : 1;
    }
    /* Rule 10: keep the original order. */
    return i1 < i2 ? -1 : 1;
}

/* ---- source addresses (the connect loop of glibc's getaddrinfo) ------- */

/* glibc try_connect: an IPv6 socket that refuses IPv4 destinations
 * (EAFNOSUPPORT) is replaced by an IPv4 one, once. */
static bool fr_sort_try_connect(int *fd, int *af, union fr_sort_sa *src, const struct addrinfo *q)
{
    socklen_t sl = sizeof(src->in6);
    for (int attempt = 0; attempt < 2; attempt++) {
        if (*fd != -1 && connect(*fd, q->ai_addr, q->ai_addrlen) == 0 && getsockname(*fd, &src->sa, &sl) == 0)
            return true;
        if (!(errno == EAFNOSUPPORT && *af == AF_INET6 && q->ai_family == AF_INET))
            return false;
        if (*fd != -1)
            close(*fd);
        *af = AF_INET;
        *fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_IP);
    }
    return false;
}

/* Find the source among the interface addresses (glibc's bsearch key). */
static void fr_sort_lookup_src(struct fr_sort_dest *d, int af, const struct fr_sort_iflist *l)
{
    struct fr_sort_ifaddr key;
    memset(&key, 0, sizeof(key));
    if (d->ai->ai_family == AF_INET && af == AF_INET) {
        uint32_t v = d->src.in.sin_addr.s_addr;
        /* glibc: any 127/8 source on an IPv4 socket is looked up as
         * 127.0.0.1 (lo's address); an IPv6 socket gets no such help. */
        if ((ntohl(v) & 0xff000000u) == 0x7f000000u)
            v = htonl(0x7f000001u);
        key.addr[10] = key.addr[11] = 0xff;
        memcpy(key.addr + 12, &v, 4);
    } else {
        memcpy(key.addr, &d->src.in6.sin6_addr, 16);
    }
    const struct fr_sort_ifaddr *f = bsearch(&key, l->a, l->n, sizeof(*l->a), fr_sort_ifaddr_cmp);
    if (f) {
        d->flags = f->flags;
        d->prefixlen = f->prefixlen;
        d->index = f->index;
    }
}

static void fr_sort_sources(struct fr_sort_dest *d, size_t n, struct fr_sort_iflist *l)
{
    /* glibc keeps one socket and reconnects it; it opens a new one only
     * when an IPv4 socket meets an IPv6 destination. So IPv4 destinations
     * after an IPv6 one go through an IPv6 socket (v4-mapped source), which
     * changes the interface lookup above. Reproduced as is. */
    int fd = -1, af = AF_UNSPEC;
    for (size_t i = 0; i < n; i++) {
        struct addrinfo *q = d[i].ai;
        d[i].native = -1;
        /* Same address as the previous entry (socktype expansion): reuse. */
        if (i > 0 && d[i - 1].ai->ai_addrlen == q->ai_addrlen &&
            memcmp(d[i - 1].ai->ai_addr, q->ai_addr, q->ai_addrlen) == 0) {
            d[i].src = d[i - 1].src;
            d[i].got_src = d[i - 1].got_src;
            d[i].flags = d[i - 1].flags;
            d[i].prefixlen = d[i - 1].prefixlen;
            d[i].index = d[i - 1].index;
            continue;
        }
        d[i].got_src = false;
        d[i].flags = 0;
        d[i].prefixlen = 0;
        d[i].index = FR_SORT_NO_INDEX;
        if (fd == -1 || (af == AF_INET && q->ai_family == AF_INET6)) {
            if (fd != -1)
                close(fd);
            af = q->ai_family;
            /* UDP: connect() only picks a route, nothing is sent. */
            fd = socket(af, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_IP);
        } else {
            struct sockaddr unspec = {.sa_family = AF_UNSPEC};
            (void)connect(fd, &unspec, sizeof(unspec));
        }
        if (!fr_sort_try_connect(&fd, &af, &d[i].src, q))
            continue;
        d[i].got_src = true;
        if (!l->a && !l->failed)
            fr_sort_iflist_load(l);
        if (l->n > 0)
            fr_sort_lookup_src(&d[i], af, l);
        if (q->ai_family == AF_INET && af == AF_INET6) {
            /* IPv4 destination on an IPv6 socket: keep the source as the
             * IPv4 address, as glibc converts it in place. */
            struct in_addr v4;
            memcpy(&v4, &d[i].src.in6.sin6_addr.s6_addr[12], 4);
            in_port_t port = d[i].src.in6.sin6_port;
            memset(&d[i].src, 0, sizeof(d[i].src));
            d[i].src.in.sin_family = AF_INET;
            d[i].src.in.sin_port = port;
            d[i].src.in.sin_addr = v4;
        }
    }
    if (fd != -1)
        close(fd);
}

/* ---- /etc/gai.conf ---------------------------------------------------- */

/* true when the file has a line that is neither blank nor a comment, or
 * cannot be read to the end. Missing or unopenable: glibc then uses its
 * built-in tables, so false. */
static bool fr_sort_gaiconf_scan(const char *path)
{
    bool active = false;
    char *line = NULL;
    size_t cap = 0;
    FILE *fp = fopen(path, "re");
    if (!fp)
        goto done;
    while (!active && getline(&line, &cap, fp) > 0) {
        for (const char *p = line; *p && *p != '#'; p++) {
            if (!isspace((unsigned char)*p)) {
                active = true;
                break;
            }
        }
    }
    if (ferror(fp))
        active = true;
    fclose(fp);
done:
    free(line);
    return active;
}

/* (checked_at_ms << 2) | 2 (valid) | 1 (active). One atomic word instead of
 * a lock, so a fork() in another thread can never leave it held. */
static _Atomic uint64_t fr_sort_gaiconf_state;

static bool fr_sort_gaiconf_active(uint64_t now)
{
    uint64_t st = atomic_load_explicit(&fr_sort_gaiconf_state, memory_order_acquire);
    /* A clock behind the stamp (tests resetting a fake clock) re-checks. */
    if ((st & 2) && now >= (st >> 2) && now - (st >> 2) < FR_SORT_GAICONF_RECHECK_MS)
        return st & 1;
    /* Concurrent callers may both read the file; either result is fresh. */
    bool active = fr_sort_gaiconf_scan(FR_SORT_GAICONF);
    atomic_store_explicit(&fr_sort_gaiconf_state, (now << 2) | 2u | (active ? 1u : 0u), memory_order_release);
    return active;
}

/* ---- memo of recent orders ------------------------------------------- */

/* The sort of a list costs a UDP socket and a connect() per address (and
 * a netlink dump when interface data counts): about 10 us for two
 * addresses, against well under a microsecond for the cache hit that
 * produced the list. The order depends on the list and on the machine's
 * routes, interface addresses and gai.conf, not on the time; so the order
 * found for a list is reused for the same list for FR_SORT_MEMO_MS, the
 * window fastres already allows AI_ADDRCONFIG's view of the interfaces
 * (gai.c), and dropped at once when that view or the configuration is
 * seen to change (fr_sort_forget). A route change inside the window is
 * seen up to that much later than glibc sees it (README, Deliberate
 * differences). */
#define FR_SORT_MEMO_MS 1000
/* Lists remembered per thread: a program resolves a handful of names at a
 * time; the memo is thread-local so that it needs no lock (and so is fork
 * safe), and each thread's costs about 4 KiB of TLS. */
#define FR_SORT_MEMO_SLOTS 8
/* Longest list remembered: five addresses with three socket types, or
 * sixteen with one; longer lists are sorted every time. */
#define FR_SORT_MEMO_MAX 16

struct fr_sort_memo {
    uint64_t at_ms;          /* when the order was found; 0: empty */
    uint64_t epoch;          /* fr_sort_epoch then */
    uint8_t n;
    uint8_t order[FR_SORT_MEMO_MAX];
    struct sockaddr_in6 addr[FR_SORT_MEMO_MAX];   /* ai_addr, zero-padded */
};

static __thread struct fr_sort_memo fr_sort_memo[FR_SORT_MEMO_SLOTS];
static __thread unsigned fr_sort_memo_next;
/* Bumped by fr_sort_forget(): memo entries of an older epoch are void. */
static _Atomic uint64_t fr_sort_epoch = 1;

void fr_sort_forget(void)
{
    atomic_fetch_add_explicit(&fr_sort_epoch, 1, memory_order_relaxed);
}

/* The list's key: each node's sockaddr (port and scope included: both can
 * change the route), zero-padded to one size. 0 when too long. Compared
 * whole (no hash): a few slots of a few dozen octets. */
static size_t fr_sort_memo_key(const struct addrinfo *list, struct sockaddr_in6 *key)
{
    size_t n = 0;
    for (const struct addrinfo *p = list; p; p = p->ai_next, n++) {
        if (n == FR_SORT_MEMO_MAX)
            return 0;
        memset(&key[n], 0, sizeof(key[n]));
        memcpy(&key[n], p->ai_addr, p->ai_addrlen);
    }
    return n;
}

static struct fr_sort_memo *fr_sort_memo_find(const struct sockaddr_in6 *key, size_t n, uint64_t now)
{
    uint64_t epoch = atomic_load_explicit(&fr_sort_epoch, memory_order_relaxed);
    for (unsigned i = 0; i < FR_SORT_MEMO_SLOTS; i++) {
        struct fr_sort_memo *m = &fr_sort_memo[i];
        /* A clock behind the stamp (a test resetting a fake clock) is a
         * miss, like an old one. */
        if (m->at_ms && m->n == n && m->epoch == epoch && now >= m->at_ms &&
            now - m->at_ms < FR_SORT_MEMO_MS && memcmp(m->addr, key, n * sizeof(*key)) == 0)
            return m;
    }
    return NULL;
}

static void fr_sort_memo_put(const struct sockaddr_in6 *key, size_t n, uint64_t now, uint64_t epoch,
                             const size_t *order)
{
    struct fr_sort_memo *m = &fr_sort_memo[fr_sort_memo_next];
    fr_sort_memo_next = (fr_sort_memo_next + 1) % FR_SORT_MEMO_SLOTS;
    m->at_ms = now ? now : 1;
    m->epoch = epoch;
    m->n = (uint8_t)n;
    for (size_t i = 0; i < n; i++)
        m->order[i] = (uint8_t)order[i];
    memcpy(m->addr, key, n * sizeof(*key));
}

/* Relink the n nodes of *list in order[] and move the canonical name to
 * the new head as glibc does. */
static void fr_sort_relink(struct addrinfo **list, struct addrinfo **nodes, size_t n, const size_t *order)
{
    size_t canon_holders = 0;
    char *canon = NULL;
    for (size_t i = 0; i < n; i++) {
        if (nodes[i]->ai_canonname) {
            canon = nodes[i]->ai_canonname;
            canon_holders++;
        }
    }
    struct addrinfo *head = nodes[order[0]], *q = head;
    for (size_t i = 1; i < n; i++)
        q = q->ai_next = nodes[order[i]];
    q->ai_next = NULL;
    /* glibc moves the canonical name to the new first entry. Several
     * holders cannot come from getaddrinfo; leave those names alone. */
    if (canon_holders == 1) {
        for (size_t i = 0; i < n; i++)
            nodes[i]->ai_canonname = NULL;
        head->ai_canonname = canon;
    }
    *list = head;
}

/* ---- entry point ------------------------------------------------------ */

enum fr_status fr_sort_addrinfo(struct addrinfo **list)
{
    enum fr_status st = FR_OK;
    struct fr_sort_dest *d = NULL;
    size_t *order = NULL;
    struct addrinfo **nodes = NULL;
    struct fr_sort_iflist ifl = {0};

    size_t n = 0;
    bool one_address = true;
    for (struct addrinfo *p = *list; p; p = p->ai_next, n++) {
        /* Only what getaddrinfo builds: its sort would crash on anything
         * else, so let libc answer such a call itself. */
        if (!p->ai_addr || (p->ai_family == AF_INET && p->ai_addrlen != sizeof(struct sockaddr_in)) ||
            (p->ai_family == AF_INET6 && p->ai_addrlen != sizeof(struct sockaddr_in6)) ||
            (p->ai_family != AF_INET && p->ai_family != AF_INET6) || p->ai_addr->sa_family != p->ai_family)
            return FR_PUNT;
        if (p != *list && (p->ai_addrlen != (*list)->ai_addrlen || memcmp(p->ai_addr, (*list)->ai_addr, p->ai_addrlen)))
            one_address = false;
    }
    /* glibc sorts only lists of more than one address (naddrs > 1) and
     * reads gai.conf only then; a single address keeps its order anyway. */
    if (n < 2 || one_address)
        return FR_OK;
    /* One clock read for the gai.conf check and the memo. */
    uint64_t now = fr_clock_now_ms();
    if (fr_sort_gaiconf_active(now))
        return FR_PUNT;

    struct sockaddr_in6 key[FR_SORT_MEMO_MAX];
    /* Read before the sort: a fr_sort_forget() during it voids the result. */
    uint64_t epoch = atomic_load_explicit(&fr_sort_epoch, memory_order_relaxed);
    size_t nkey = fr_sort_memo_key(*list, key);
    if (nkey) {
        const struct fr_sort_memo *m = fr_sort_memo_find(key, nkey, now);
        if (m) {
            struct addrinfo *mnodes[FR_SORT_MEMO_MAX];
            size_t ord[FR_SORT_MEMO_MAX], k = 0;
            for (struct addrinfo *p = *list; p; p = p->ai_next)
                mnodes[k++] = p;
            for (k = 0; k < nkey; k++)
                ord[k] = m->order[k];
            fr_sort_relink(list, mnodes, nkey, ord);
            return FR_OK;
        }
    }

    d = calloc(n, sizeof(*d));
    order = calloc(n, sizeof(*order));
    nodes = calloc(n, sizeof(*nodes));
    if (!d || !order || !nodes) {
        st = FR_NOMEM;
        goto done;
    }
    size_t i = 0;
    for (struct addrinfo *p = *list; p; p = p->ai_next, i++) {
        d[i].ai = p;
        order[i] = i;
    }
    fr_sort_sources(d, n, &ifl);

    /* libc's own qsort_r: glibc 2.36's is a merge sort; the comparator is
     * not transitive in every case, so the algorithm (not just the rules)
     * decides the result, and using libc's keeps the two identical. */
    struct fr_sort_ctx ctx = {d, n};
    qsort_r(order, n, sizeof(*order), fr_sort_cmp, &ctx);

    if (nkey)
        fr_sort_memo_put(key, nkey, now, epoch, order);
    for (i = 0; i < n; i++)
        nodes[i] = d[i].ai;
    fr_sort_relink(list, nodes, n, order);
done:
    free(ifl.a);
    free(d);
    free(order);
    free(nodes);
    return st;
}
