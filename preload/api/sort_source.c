/* fastres: the source address of each destination, as glibc's getaddrinfo
 * finds it before sorting (internal to sort*.c).
 *
 * Written from glibc 2.36 sysdeps/posix/getaddrinfo.c (the connect loop of
 * getaddrinfo's sort block, try_connect). Owns that loop: one UDP socket,
 * connect()ed to each destination in turn (nothing is sent: connect() only
 * picks a route), getsockname() giving the kernel's source, which is then
 * looked up in sort_iface.c's interface list. Called by sort.c once per
 * sort; the socket never outlives the call, so it is thread- and
 * fork-safe. */
#include "api/sort_int.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>

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
    const struct fr_sort_ifaddr *f = fr_sort_iface_find(l, &key);
    if (f) {
        d->flags = f->flags;
        d->prefixlen = f->prefixlen;
        d->index = f->index;
    }
}

void fr_sort_source_fill(struct fr_sort_dest *d, size_t n, struct fr_sort_iflist *l)
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
            fr_sort_iface_load(l);
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
