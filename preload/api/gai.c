/* fastres: getaddrinfo for host names, as glibc 2.36's gaih_inet does it.
 *
 * Only the part that needs the network is done here: a node that is a
 * host name. Numeric nodes, a NULL node, unusual flags or families go to
 * libc, which answers those without any lookup. Service names, socket
 * types and protocols are expanded by libc itself (a numeric call with the
 * same service and hints gives the exact tuples and errors), so fastres
 * only supplies the addresses (gai_addrs.c) and the canonical name; this
 * file checks the call, learns the tuples, applies AI_ADDRCONFIG and
 * builds the list in glibc's layout. */
#include "api/gai.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "api/gai_int.h"
#include "api/sort.h"
#include "api/sources.h"
#include "base/clock.h"
#include "base/real.h"

/* Flags fastres implements; anything else (AI_NUMERICHOST, unknown bits)
 * goes to libc. AI_IDN and AI_CANONIDN are implemented only where glibc's
 * IDNA step changes nothing: an all-ASCII node, and a canonical name
 * without an ACE ("xn--") label; other names go to libc. */
#define GAI_FLAGS_OK                                                                              \
    (AI_PASSIVE | AI_CANONNAME | AI_NUMERICSERV | AI_ADDRCONFIG | AI_V4MAPPED | AI_ALL | AI_IDN | \
     AI_CANONIDN)
/* getaddrinfo yields at most three tuples per address (SOCK_STREAM,
 * SOCK_DGRAM, SOCK_RAW) for the inet families. */
#define GAI_MAX_TUPLES 4
/* Services remembered per thread, so that a cache hit does not read
 * /etc/services each time. */
#define GAI_TEMPLATE_SLOTS 8
#define GAI_SERVICE_MAX 32
/* Interface families are re-read at most this often for AI_ADDRCONFIG
 * (glibc asks netlink on every call). */
#define GAI_ADDRCONFIG_RECHECK_MS 1000

struct tuple {
    int socktype, protocol;
    uint16_t port;   /* network order */
};

struct template {
    int valid;
    int socktype, protocol, flags;
    char service[GAI_SERVICE_MAX];
    unsigned n;
    struct tuple t[GAI_MAX_TUPLES];
};

static __thread struct template tmpl_cache[GAI_TEMPLATE_SLOTS];
static __thread unsigned tmpl_next;

/* The (socktype, protocol, port) tuples glibc makes for this service and
 * these hints, learnt from libc itself. FR_PUNT when libc reports an error
 * (EAI_SERVICE, EAI_SOCKTYPE...): libc will report it for the whole call,
 * before any lookup, exactly as glibc checks the service first. */
static enum fr_status gai_template_get(const char *service, const struct addrinfo *hints,
                                   struct template *out)
{
    const struct fr_real *real = fr_real_get();
    int cacheable = !service || strlen(service) < GAI_SERVICE_MAX;
    for (unsigned i = 0; cacheable && i < GAI_TEMPLATE_SLOTS; i++) {
        struct template *t = &tmpl_cache[i];
        if (t->valid && t->socktype == hints->ai_socktype && t->protocol == hints->ai_protocol &&
            t->flags == (hints->ai_flags & AI_NUMERICSERV) &&
            (service ? t->valid == 2 && !strcmp(t->service, service) : t->valid == 1)) {
            *out = *t;
            return FR_OK;
        }
    }
    if (!real)
        return FR_PUNT;
    struct addrinfo h, *res = NULL;
    memset(&h, 0, sizeof h);
    h.ai_family = AF_INET;
    h.ai_socktype = hints->ai_socktype;
    h.ai_protocol = hints->ai_protocol;
    h.ai_flags = AI_NUMERICHOST | (hints->ai_flags & AI_NUMERICSERV);
    if (real->getaddrinfo("127.0.0.1", service, &h, &res) != 0)
        return FR_PUNT;
    struct template t;
    memset(&t, 0, sizeof t);
    for (struct addrinfo *ai = res; ai && t.n < GAI_MAX_TUPLES; ai = ai->ai_next) {
        t.t[t.n].socktype = ai->ai_socktype;
        t.t[t.n].protocol = ai->ai_protocol;
        t.t[t.n].port = ((struct sockaddr_in *)ai->ai_addr)->sin_port;
        t.n++;
    }
    real->freeaddrinfo(res);
    if (t.n == 0)
        return FR_PUNT;
    t.socktype = hints->ai_socktype;
    t.protocol = hints->ai_protocol;
    t.flags = hints->ai_flags & AI_NUMERICSERV;
    t.valid = service ? 2 : 1;
    if (service)
        strcpy(t.service, service);
    if (cacheable) {
        tmpl_cache[tmpl_next] = t;
        tmpl_next = (tmpl_next + 1) % GAI_TEMPLATE_SLOTS;
    }
    *out = t;
    return FR_OK;
}

/* glibc's __check_pf as AI_ADDRCONFIG uses it: is there an IPv4 address
 * other than 127.0.0.1, an IPv6 address other than ::1? */
static _Atomic uint64_t pf_checked_ms;
static atomic_int pf_bits = -1;

static int gai_addrconfig_bits(void)
{
    uint64_t now = fr_clock_now_ms();
    int bits = atomic_load(&pf_bits);
    if (bits >= 0 && now - atomic_load(&pf_checked_ms) < GAI_ADDRCONFIG_RECHECK_MS)
        return bits;
    struct ifaddrs *ifa = NULL;
    if (getifaddrs(&ifa) != 0)
        return -1;
    bits = 0;
    for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
        if (!i->ifa_addr)
            continue;
        if (i->ifa_addr->sa_family == AF_INET) {
            const struct sockaddr_in *s = (const void *)i->ifa_addr;
            if (s->sin_addr.s_addr != htonl(INADDR_LOOPBACK))
                bits |= 1;
        } else if (i->ifa_addr->sa_family == AF_INET6) {
            const struct sockaddr_in6 *s = (const void *)i->ifa_addr;
            if (!IN6_IS_ADDR_LOOPBACK(&s->sin6_addr))
                bits |= 2;
        }
    }
    freeifaddrs(ifa);
    /* The interfaces changed: orders found for the old ones are void. */
    if (atomic_exchange(&pf_bits, bits) != bits)
        fr_sort_forget();
    atomic_store(&pf_checked_ms, now);
    return bits;
}

/* AI_IDN: glibc's IDNA step changes nothing for an all-ASCII node. */
static int gai_has_nonascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return 1;
    return 0;
}

/* AI_CANONIDN: a canonical name with an ACE ("xn--") label is decoded by
 * glibc's IDNA step: libc. */
static int gai_has_ace_label(const char *s)
{
    for (const char *p = s; *p; p++)
        if ((p == s || p[-1] == '.') && !strncasecmp(p, "xn--", 4))
            return 1;
    return 0;
}

static struct addrinfo *gai_node_new(const struct fr_gai_addr *a, const struct tuple *t)
{
    socklen_t len = a->family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    /* glibc's layout: the sockaddr lives in the same allocation, right
     * after the addrinfo, so libc's freeaddrinfo frees both at once. */
    struct addrinfo *ai = calloc(1, sizeof *ai + len);
    if (!ai)
        return NULL;
    ai->ai_family = a->family;
    ai->ai_socktype = t->socktype;
    ai->ai_protocol = t->protocol;
    ai->ai_addrlen = len;
    ai->ai_addr = (struct sockaddr *)(ai + 1);
    if (a->family == AF_INET) {
        struct sockaddr_in *s = (void *)ai->ai_addr;
        s->sin_family = AF_INET;
        s->sin_port = t->port;
        memcpy(&s->sin_addr, a->a, 4);
    } else {
        struct sockaddr_in6 *s = (void *)ai->ai_addr;
        s->sin6_family = AF_INET6;
        s->sin6_port = t->port;
        memcpy(&s->sin6_addr, a->a, 16);
    }
    return ai;
}

void fr_gai_free(struct addrinfo *ai)
{
    /* Exactly what glibc's freeaddrinfo does, so lists from either side
     * can be freed here. */
    while (ai) {
        struct addrinfo *next = ai->ai_next;
        free(ai->ai_canonname);
        free(ai);
        ai = next;
    }
}

enum fr_status fr_gai(const struct fr_config *cfg, const char *node, const char *service,
                      const struct addrinfo *hints_in, struct addrinfo **res)
{
    static const struct addrinfo default_hints = { .ai_flags = AI_V4MAPPED | AI_ADDRCONFIG };
    const struct addrinfo *hints = hints_in ? hints_in : &default_hints;
    struct addrinfo local;
    struct template tmpl;
    struct fr_gai_found *f = NULL;
    struct addrinfo *head = NULL, **tail = &head;
    enum fr_status st;

    /* A NULL or numeric node: libc answers it without a lookup. */
    if (fr_sources_literal(node) || (hints->ai_flags & ~GAI_FLAGS_OK))
        return FR_PUNT;
    if ((hints->ai_flags & AI_IDN) && gai_has_nonascii(node))
        return FR_PUNT;
    if (hints->ai_family != AF_UNSPEC && hints->ai_family != AF_INET && hints->ai_family != AF_INET6)
        return FR_PUNT;
    /* glibc rejects AI_CANONNAME without a node, and flags it does not
     * know, with EAI_BADFLAGS; both went to libc above. */
    st = gai_template_get(service, hints, &tmpl);
    if (st != FR_OK)
        return st;

    if (hints->ai_flags & AI_ADDRCONFIG) {
        int bits = gai_addrconfig_bits();
        if (bits < 0)
            return FR_PUNT;
        int v4 = bits & 1, v6 = bits & 2;
        if (hints->ai_family == AF_UNSPEC && (v4 || v6)) {
            if (!v4 != !v6) {
                local = *hints;
                local.ai_family = v4 ? AF_INET : AF_INET6;
                hints = &local;
            }
        } else if ((hints->ai_family == AF_INET && !v4) || (hints->ai_family == AF_INET6 && !v6)) {
            return FR_NOTFOUND;   /* glibc: EAI_NONAME without a lookup */
        }
    }

    f = fr_gai_found_get();
    if (!f)
        return FR_NOMEM;
    st = fr_gai_addrs(cfg, node, hints->ai_family, hints->ai_flags, f);
    /* FR_OK without an address: an NSS module answered the AF_INET path
     * (simple_inet) with SUCCESS and no address. fastres has no result
     * list to give for it, and 0 with *res unset would crash the caller:
     * libc answers that call. */
    if (st == FR_OK && f->n == 0)
        st = FR_PUNT;
    if (st != FR_OK)
        goto done;

    for (unsigned i = 0; i < f->n; i++) {
        for (unsigned k = 0; k < tmpl.n; k++) {
            struct addrinfo *ai = gai_node_new(&f->addrs[i], &tmpl.t[k]);
            if (!ai) {
                st = FR_NOMEM;
                goto done;
            }
            *tail = ai;
            tail = &ai->ai_next;
        }
    }
    if ((hints->ai_flags & AI_CANONIDN) && (hints->ai_flags & AI_CANONNAME) && f->have_canon &&
        gai_has_ace_label(f->canon)) {
        st = FR_PUNT;
        goto done;
    }
    if (hints->ai_flags & AI_CANONNAME) {
        head->ai_canonname = strdup(f->have_canon ? f->canon : node);
        if (!head->ai_canonname) {
            st = FR_NOMEM;
            goto done;
        }
    }
    if (head->ai_next) {
        /* New configuration files: start the sort's memo afresh too. */
        static _Atomic uint64_t sort_gen;
        if (atomic_load_explicit(&sort_gen, memory_order_relaxed) != cfg->generation &&
            atomic_exchange(&sort_gen, cfg->generation) != cfg->generation)
            fr_sort_forget();
        st = fr_sort_addrinfo(&head);
        if (st != FR_OK)
            goto done;
    }
    *res = head;
    head = NULL;
    st = FR_OK;
done:
    fr_gai_free(head);
    fr_gai_found_put(f);
    return st;
}
