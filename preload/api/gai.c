/* fastres: getaddrinfo for host names, as glibc 2.36's gaih_inet does it.
 *
 * Only the part that needs the network is done here: a node that is a
 * host name. Numeric nodes, a NULL node, unusual flags or families go to
 * libc, which answers those without any lookup. Service names, socket
 * types and protocols are expanded by libc itself (a numeric call with the
 * same service and hints gives the exact tuples and errors), so fastres
 * only supplies the addresses and the canonical name. */
#include "api/gai.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/clock.h"
#include "api/hostent.h"
#include "base/hosts.h"
#include "base/log.h"
#include "dns/msg.h"
#include "api/nssmod.h"
#include "base/real.h"
#include "lookup/resolve.h"
#include "api/sort.h"

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
/* Addresses one getaddrinfo call returns at most (two replies). */
#define GAI_MAX_ADDRS (2 * FR_MSG_ADDRS_MAX + FR_HOSTS_MAX_ADDRS)

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
static enum fr_status template_get(const char *service, const struct addrinfo *hints,
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

static int addrconfig_bits(void)
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

/* Node text that libc answers without a lookup: inet_aton forms, IPv6
 * literals (with or without a scope), the empty string. */
static int has_nonascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return 1;
    return 0;
}

static int has_ace_label(const char *s)
{
    for (const char *p = s; *p; p++)
        if ((p == s || p[-1] == '.') && !strncasecmp(p, "xn--", 4))
            return 1;
    return 0;
}

static int node_is_numeric(const char *node)
{
    struct in_addr a;
    if (!*node || strchr(node, ':') || inet_aton(node, &a))
        return 1;
    return 0;
}

struct addr {
    int family;
    unsigned char a[16];
};

struct found {
    struct addr addrs[GAI_MAX_ADDRS];
    unsigned n;
    char canon[FR_MSG_NAME_MAX * 4 + 1];
    int have_canon;
};

/* One spare table, kept between calls: at about 9 KiB, a malloc and free
 * of it cost a cache hit (about 1 µs in all) a tenth of its time. Taken
 * and given back atomically, so threads never wait; a second thread at
 * the same moment mallocs its own. Not calloc'd: filled entry by entry. */
static struct found *_Atomic found_spare;

static struct found *found_get(void)
{
    struct found *f = atomic_exchange(&found_spare, NULL);
    return f ? f : malloc(sizeof *f);
}

static void found_put(struct found *f)
{
    struct found *none = NULL;
    if (f && !atomic_compare_exchange_strong(&found_spare, &none, f))
        free(f);
}

static void found_add(struct found *f, int family, const unsigned char *a, int map4)
{
    if (f->n >= GAI_MAX_ADDRS)
        return;
    struct addr *x = &f->addrs[f->n++];
    memset(x, 0, sizeof *x);
    if (map4) {
        /* AI_V4MAPPED: ::ffff:a.b.c.d */
        x->family = AF_INET6;
        x->a[10] = x->a[11] = 0xff;
        memcpy(x->a + 12, a, 4);
    } else {
        x->family = family;
        memcpy(x->a, a, family == AF_INET ? 4 : 16);
    }
}

static void found_canon(struct found *f, const char *name)
{
    if (f->have_canon)
        return;
    size_t l = strlen(name);
    if (l >= sizeof f->canon)
        l = sizeof f->canon - 1;
    memcpy(f->canon, name, l);
    f->canon[l] = '\0';
    f->have_canon = 1;
}

/* /etc/hosts for one family (or both); FR_OK when anything matched. */
static enum fr_status from_hosts(const char *name, int family, int map4, struct found *f)
{
    struct fr_hosts_result *r = NULL;
    enum fr_status st = fr_hosts_lookup(name, family == AF_UNSPEC ? FR_HOSTS_ALL : FR_HOSTS_FAMILY,
                                        family, &r);
    if (st != FR_OK)
        return st;
    for (size_t i = 0; i < r->naddrs; i++)
        found_add(f, r->addrs[i].family, r->addrs[i].addr, map4);
    found_canon(f, r->name);
    fr_hosts_result_free(r);
    return FR_OK;
}

/* DNS for one family (or both, raced together). */
static enum fr_status from_dns(const struct fr_config *cfg, const char *name, int family, int map4,
                               struct found *f)
{
    uint16_t qt[2];
    unsigned nq = 0;
    struct fr_search s;
    if (family == AF_UNSPEC || family == AF_INET)
        qt[nq++] = FR_T_A;
    if (family == AF_UNSPEC || family == AF_INET6)
        qt[nq++] = FR_T_AAAA;
    enum fr_status st = fr_resolve_search(cfg, name, qt, nq, FR_C_IN, 1, &s);
    if (st == FR_OK) {
        unsigned before = f->n;
        /* glibc's gaih_getanswer takes the A reply first, then AAAA; the
         * canonical name comes from the first reply with addresses. */
        for (unsigned i = 0; i < nq && st == FR_OK; i++) {
            struct fr_msg_addrs ma;
            enum fr_status ast = s.reply[i].msg ? fr_msg_addrs(s.reply[i].msg, s.reply[i].len, qt[i], &ma)
                                                : FR_NODATA;
            if (ast == FR_PUNT)
                st = FR_PUNT;
            if (ast != FR_OK)
                continue;
            for (unsigned k = 0; k < ma.n; k++)
                found_add(f, ma.family, ma.addr[k], map4);
            found_canon(f, ma.canon);
        }
        /* Records, but no address (a CNAME to nothing): glibc's
         * gaih_getanswer reports NO_RECOVERY, which getaddrinfo turns into
         * EAI_NONAME. */
        if (st == FR_OK && f->n == before)
            st = FR_FAIL;
    }
    fr_search_free(&s);
    return st;
}

/* glibc's no_data bookkeeping: what a failed source reports. */
static int no_data_of(enum fr_status st)
{
    return st == FR_AGAIN ? 2 : st == FR_NODATA ? 1 : 0;
}

/* One nsswitch source (files or dns) as glibc's get_nss_addresses asks
 * it: both families at once for AF_UNSPEC; for AF_INET6 the IPv6 lookup,
 * then with AI_V4MAPPED the IPv4 one (mapped) when there was no IPv6
 * answer or AI_ALL is set. The first source that finds anything ends the
 * lookup, so a hosts-file IPv4 line shadows DNS's AAAA records. */
static enum fr_status source(const struct fr_config *cfg, int dns, const char *name, int family,
                             int flags, struct found *f, int *no_data, int *no_inet6_data)
{
    enum fr_status st, st4;
    if (family != AF_INET6) {
        st = dns ? from_dns(cfg, name, family, 0, f) : from_hosts(name, family, 0, f);
        *no_data = *no_inet6_data = no_data_of(st);
        return st;
    }
    st = dns ? from_dns(cfg, name, AF_INET6, 0, f) : from_hosts(name, AF_INET6, 0, f);
    *no_data = *no_inet6_data = no_data_of(st);
    if (st == FR_PUNT || st == FR_NOMEM || !(flags & AI_V4MAPPED) ||
        !((flags & AI_ALL) || f->n == 0))
        return st;
    st4 = dns ? from_dns(cfg, name, AF_INET, 1, f) : from_hosts(name, AF_INET, 1, f);
    *no_data = no_data_of(st4);
    if (st4 == FR_PUNT || st4 == FR_NOMEM)
        return st4;
    return f->n ? FR_OK : st;
}


/* ------------------------------------------------------------------ */
/* nsswitch lines with modules: get_nss_addresses' loop (glibc 2.36) */

/* h_errno after a module call: what it wrote, else what was there. */
static int mod_herrno(const struct fr_nssmod_result *r, int before)
{
    return r->herrno_set ? r->herrno : before;
}

/* glibc's gethosts: one family through gethostbyname3_r/2_r. -1: libc
 * must answer (EAI_SYSTEM, EAI_MEMORY). */
static int gethosts(const char *mod, const char *name, int fam, int want3, int req_family,
                    struct found *f, enum nss_status *status, int *no_data, int *herr,
                    int *got_ipv6, int *canon_done)
{
    struct fr_nssmod_result r;
    fr_nssmod_byname3(mod, name, fam, want3, &r);
    *no_data = 0;
    *status = r.status;
    *herr = mod_herrno(&r, *herr);
    int ret = 0;
    if (r.status != NSS_STATUS_SUCCESS) {
        if (*herr == NETDB_INTERNAL)
            ret = -1;
        else
            *no_data = *herr == TRY_AGAIN ? 2 : *herr == NO_DATA;
        goto done;
    }
    unsigned n = 0;
    while (r.he.h_addr_list && r.he.h_addr_list[n])
        n++;
    if (n == 0 || r.he.h_length > 16)
        goto done;
    if (r.he.h_length != (fam == AF_INET ? 4 : 16)) {
        ret = -1;
        goto done;
    }
    *got_ipv6 = fam == AF_INET6;
    for (unsigned i = 0; i < n; i++)
        found_add(f, fam, (const unsigned char *)r.he.h_addr_list[i],
                  fam == AF_INET && req_family == AF_INET6);
    if (r.canon && !*canon_done) {
        found_canon(f, r.canon);
        *canon_done = 1;
    }
done:
    fr_nssmod_result_free(&r);
    return ret;
}

/* One module as get_nss_addresses asks it. FR_OK when it ran (status and
 * the rest set), FR_PUNT when libc must answer. */
static enum fr_status module_source(const char *mod, const char *name, int family, int flags,
                                    struct found *f, int *no_data, int *no_inet6_data,
                                    enum nss_status *status, int *herr)
{
    *no_data = 0;
    if (family == AF_UNSPEC) {
        struct fr_nssmod_result r;
        fr_nssmod_byname4(mod, name, &r);
        if (!r.missing) {
            *status = r.status;
            if (r.status == NSS_STATUS_SUCCESS) {
                if ((flags & AI_CANONNAME) && (!r.at || !r.at->name)) {
                    fr_nssmod_result_free(&r);
                    return FR_PUNT;
                }
                if (r.at && (flags & AI_CANONNAME))
                    found_canon(f, r.at->name);
                for (struct gaih_addrtuple *t = r.at; t; t = t->next) {
                    if (t->family != AF_INET && t->family != AF_INET6) {
                        fr_nssmod_result_free(&r);
                        return FR_PUNT;
                    }
                    found_add(f, t->family, (const unsigned char *)t->addr, 0);
                }
                /* glibc: no_data = 1, cleared by any tuple kept. */
                *no_data = f->n ? 0 : 1;
            } else {
                *herr = mod_herrno(&r, *herr);
                *no_data = *herr == TRY_AGAIN ? 2 : *herr == NO_DATA;
            }
            *no_inet6_data = *no_data;
            fr_nssmod_result_free(&r);
            return FR_OK;
        }
    }
    /* gethostbyname3_r when a canonical name is wanted, else 2_r. */
    int want3 = (flags & AI_CANONNAME) ? 1 : 0;
    enum nss_status inet6_status = NSS_STATUS_UNAVAIL;
    int got_ipv6 = 0, canon_done = 0, nd;
    if (!fr_nssmod_has_byname(mod)) {
        /* glibc: no function at all: UNAVAIL, NETDB_INTERNAL, EBUSY */
        *status = NSS_STATUS_UNAVAIL;
        *herr = NETDB_INTERNAL;
        return FR_OK;
    }
    if (family == AF_INET6 || family == AF_UNSPEC) {
        if (gethosts(mod, name, AF_INET6, want3, family, f, status, &nd, herr, &got_ipv6,
                     &canon_done) != 0)
            return FR_PUNT;
        *no_data = nd;
        *no_inet6_data = nd;
        inet6_status = *status;
    }
    if (family == AF_INET || family == AF_UNSPEC ||
        (family == AF_INET6 && (flags & AI_V4MAPPED) && ((flags & AI_ALL) || !got_ipv6))) {
        if (gethosts(mod, name, AF_INET, want3, family, f, status, &nd, herr, &got_ipv6,
                     &canon_done) != 0)
            return FR_PUNT;
        *no_data = nd;
        if (family == AF_INET) {
            *no_inet6_data = nd;
            inet6_status = *status;
        }
    }
    if (inet6_status == NSS_STATUS_SUCCESS || *status == NSS_STATUS_SUCCESS) {
        /* getcanonname: glibc 2.36 returns the name asked. */
        if ((flags & AI_CANONNAME) && !canon_done)
            found_canon(f, name);
        *status = NSS_STATUS_SUCCESS;
    } else if (inet6_status == NSS_STATUS_TRYAGAIN) {
        *status = NSS_STATUS_TRYAGAIN;
    } else if (*status == NSS_STATUS_UNAVAIL && inet6_status != NSS_STATUS_UNAVAIL) {
        *status = inet6_status;
    }
    return FR_OK;
}

/* The hosts line's sources in order, each starting afresh (glibc
 * discards what a source that did not end the walk found). */
static enum fr_status chain_sources(const struct fr_config *cfg, const char *name, int family,
                                    int flags, struct found *f, int *no_data, int *no_inet6_data)
{
    enum nss_status status = NSS_STATUS_UNAVAIL;
    int herr = -1;   /* the thread's h_errno as the sources leave it; -1 unknown */
    for (unsigned i = 0; i < cfg->nss_n; i++) {
        const struct fr_nss_source *src = &cfg->nss[i];
        f->n = 0;
        f->have_canon = 0;
        if (src->kind != FR_NSS_MODULE) {
            enum fr_status st = source(cfg, src->kind == FR_NSS_DNS, name, family, flags, f, no_data,
                                       no_inet6_data);
            if (st == FR_PUNT || st == FR_NOMEM)
                return st;
            status = st == FR_OK ? NSS_STATUS_SUCCESS : NSS_STATUS_NOTFOUND;
            herr = st == FR_OK ? herr : st == FR_AGAIN ? TRY_AGAIN : st == FR_NODATA ? NO_DATA
                                                                                  : HOST_NOT_FOUND;
        } else {
            enum fr_status st = module_source(src->name, name, family, flags, f, no_data,
                                              no_inet6_data, &status, &herr);
            if (st != FR_OK)
                return st;
        }
        if (fr_nssmod_returns(cfg, i, status))
            break;
    }
    /* glibc reports a failure that set NETDB_INTERNAL as EAI_SYSTEM (a
     * missing module last on the line: errno EBUSY): libc says it. */
    if ((status == NSS_STATUS_TRYAGAIN || status == NSS_STATUS_UNAVAIL) && herr == NETDB_INTERNAL)
        return FR_PUNT;
    if (status == NSS_STATUS_SUCCESS && f->n)
        return FR_OK;
    f->n = 0;
    return FR_NOTFOUND;
}

/* glibc's try_simple_gethostbyname: AF_INET without AI_CANONNAME goes
 * through gethostbyname2_r, and its failures map as: not found with
 * NO_DATA → EAI_NODATA, other not-found → EAI_NONAME, TRY_AGAIN →
 * EAI_AGAIN, any other error (a reply without address) → EAI_NODATA. */
static enum fr_status simple_inet(const struct fr_config *cfg, const char *name, struct found *f)
{
    struct fr_hostdata *d = NULL;
    enum fr_status st = fr_hostent_query(cfg, name, AF_INET, &d);
    switch (st) {
    case FR_OK: {
        const unsigned char(*addrs)[16];
        unsigned n = fr_hostdata_addrs(d, &addrs);
        for (unsigned i = 0; i < n; i++)
            found_add(f, AF_INET, addrs[i], 0);
        fr_hostdata_free(d);
        return FR_OK;
    }
    case FR_NODATA:
    case FR_EMPTY:
        return FR_NODATA;
    case FR_NOTFOUND:
    case FR_FAIL:
    case FR_AGAIN_NOTFOUND:
        return FR_NOTFOUND;
    default:
        return st;   /* FR_AGAIN, FR_NOMEM, FR_PUNT */
    }
}

static struct addrinfo *node_new(const struct addr *a, const struct tuple *t)
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
    struct found *f = NULL;
    struct addrinfo *head = NULL, **tail = &head;
    enum fr_status st;

    if (!node || (hints->ai_flags & ~GAI_FLAGS_OK) || node_is_numeric(node))
        return FR_PUNT;
    if ((hints->ai_flags & AI_IDN) && has_nonascii(node))
        return FR_PUNT;
    if (hints->ai_family != AF_UNSPEC && hints->ai_family != AF_INET && hints->ai_family != AF_INET6)
        return FR_PUNT;
    /* glibc rejects AI_CANONNAME without a node, and flags it does not
     * know, with EAI_BADFLAGS; both went to libc above. */
    st = template_get(service, hints, &tmpl);
    if (st != FR_OK)
        return st;

    if (hints->ai_flags & AI_ADDRCONFIG) {
        int bits = addrconfig_bits();
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

    f = found_get();
    if (!f)
        return FR_NOMEM;
    f->n = 0;
    f->have_canon = 0;

    int family = hints->ai_family;
    int no_data = 0, no_inet6_data = 0;
    if (family == AF_INET && !(hints->ai_flags & AI_CANONNAME)) {
        /* glibc takes its old gethostbyname2_r path here
         * (try_simple_gethostbyname), with that path's error mapping. */
        st = simple_inet(cfg, node, f);
    } else if (cfg->nss_nmodules) {
        st = chain_sources(cfg, node, family, hints->ai_flags, f, &no_data, &no_inet6_data);
    } else {
        st = FR_NOTFOUND;
        if (cfg->hosts_first)
            st = source(cfg, 0, node, family, hints->ai_flags, f, &no_data, &no_inet6_data);
        if (st == FR_NOTFOUND)
            st = source(cfg, 1, node, family, hints->ai_flags, f, &no_data, &no_inet6_data);
    }
    if (st == FR_PUNT || st == FR_NOMEM)
        goto done;

    if (f->n == 0 && family == AF_INET && !(hints->ai_flags & AI_CANONNAME))
        goto done;   /* simple_inet's status is final */
    if (f->n == 0) {
        /* glibc: both sources timed out → EAI_AGAIN; some reported no data
         * → EAI_NODATA; otherwise EAI_NONAME. */
        if (no_data && no_inet6_data)
            st = (no_data == 2 && no_inet6_data == 2) ? FR_AGAIN : FR_NODATA;
        else
            st = FR_NOTFOUND;
        goto done;
    }

    for (unsigned i = 0; i < f->n; i++) {
        for (unsigned k = 0; k < tmpl.n; k++) {
            struct addrinfo *ai = node_new(&f->addrs[i], &tmpl.t[k]);
            if (!ai) {
                st = FR_NOMEM;
                goto done;
            }
            *tail = ai;
            tail = &ai->ai_next;
        }
    }
    if ((hints->ai_flags & AI_CANONIDN) && (hints->ai_flags & AI_CANONNAME) && f->have_canon &&
        has_ace_label(f->canon)) {
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
    found_put(f);
    return st;
}
