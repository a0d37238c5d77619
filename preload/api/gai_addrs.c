/* fastres: the addresses of a host name for getaddrinfo, gathered as
 * glibc 2.36's gaih_inet gathers them (see gai_int.h): the hosts line's
 * sources in order (sources.h), each asked as get_nss_addresses asks it,
 * and the AF_INET path through gethostbyname2_r (hostent.h). */
#include "api/gai_int.h"

#include <netdb.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "api/hostent.h"
#include "api/nssmod.h"
#include "api/sources.h"
#include "lookup/resolve.h"

/* One spare table, kept between calls: at about 9 KiB, a malloc and free
 * of it cost a cache hit (about 1 µs in all) a tenth of its time. Taken
 * and given back atomically, so threads never wait; a second thread at
 * the same moment mallocs its own. Not calloc'd: filled entry by entry. */
static struct fr_gai_found *_Atomic found_spare;

struct fr_gai_found *fr_gai_found_get(void)
{
    struct fr_gai_found *f = atomic_exchange(&found_spare, NULL);
    return f ? f : malloc(sizeof *f);
}

void fr_gai_found_put(struct fr_gai_found *f)
{
    struct fr_gai_found *none = NULL;
    if (f && !atomic_compare_exchange_strong(&found_spare, &none, f))
        free(f);
}

static void gai_found_add(struct fr_gai_found *f, int family, const unsigned char *a, int map4)
{
    if (f->n >= GAI_MAX_ADDRS)
        return;
    struct fr_gai_addr *x = &f->addrs[f->n++];
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

static void gai_found_canon(struct fr_gai_found *f, const char *name)
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
static enum fr_status gai_from_hosts(const char *name, int family, int map4, struct fr_gai_found *f)
{
    struct fr_hosts_result *r = NULL;
    enum fr_status st = fr_hosts_lookup(name, family == AF_UNSPEC ? FR_HOSTS_ALL : FR_HOSTS_FAMILY,
                                        family, &r);
    if (st != FR_OK)
        return st;
    for (size_t i = 0; i < r->naddrs; i++)
        gai_found_add(f, r->addrs[i].family, r->addrs[i].addr, map4);
    gai_found_canon(f, r->name);
    fr_hosts_result_free(r);
    return FR_OK;
}

/* DNS for one family (or both, raced together). */
static enum fr_status gai_from_dns(const struct fr_config *cfg, const char *name, int family, int map4,
                               struct fr_gai_found *f)
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
                gai_found_add(f, ma.family, ma.addr[k], map4);
            gai_found_canon(f, ma.canon);
        }
        /* Records, but no address (a CNAME to nothing): glibc's
         * gaih_getanswer reports NO_RECOVERY, which getaddrinfo turns into
         * EAI_NONAME (gai_no_data_of: neither "no data" nor "try again"). */
        if (st == FR_OK && f->n == before)
            st = FR_EMPTY;
    }
    fr_search_free(&s);
    return st;
}

/* glibc's no_data bookkeeping: what a failed source reports. */
static int gai_no_data_of(enum fr_status st)
{
    return st == FR_AGAIN ? 2 : st == FR_NODATA ? 1 : 0;
}

/* One nsswitch source (files or dns) as glibc's get_nss_addresses asks
 * it: both families at once for AF_UNSPEC; for AF_INET6 the IPv6 lookup,
 * then with AI_V4MAPPED the IPv4 one (mapped) when there was no IPv6
 * answer or AI_ALL is set. The first source that finds anything ends the
 * lookup, so a hosts-file IPv4 line shadows DNS's AAAA records. */
static enum fr_status gai_source_ask(const struct fr_config *cfg, int dns, const char *name, int family,
                             int flags, struct fr_gai_found *f, int *no_data, int *no_inet6_data)
{
    enum fr_status st, st4;
    if (family != AF_INET6) {
        st = dns ? gai_from_dns(cfg, name, family, 0, f) : gai_from_hosts(name, family, 0, f);
        *no_data = *no_inet6_data = gai_no_data_of(st);
        return st;
    }
    st = dns ? gai_from_dns(cfg, name, AF_INET6, 0, f) : gai_from_hosts(name, AF_INET6, 0, f);
    *no_data = *no_inet6_data = gai_no_data_of(st);
    if (st == FR_PUNT || st == FR_NOMEM || !(flags & AI_V4MAPPED) ||
        !((flags & AI_ALL) || f->n == 0))
        return st;
    st4 = dns ? gai_from_dns(cfg, name, AF_INET, 1, f) : gai_from_hosts(name, AF_INET, 1, f);
    *no_data = gai_no_data_of(st4);
    if (st4 == FR_PUNT || st4 == FR_NOMEM)
        return st4;
    return f->n ? FR_OK : st;
}



/* ------------------------------------------------------------------ */
/* nsswitch lines with modules: get_nss_addresses' loop (glibc 2.36) */

/* h_errno after a module call (as a status, nssmod.h): what it wrote,
 * else what was there. */
static enum fr_status gai_mod_herr(const struct fr_nssmod_result *r, enum fr_status before)
{
    return r->herr_set ? r->herr : before;
}

/* glibc's gethosts: one family through gethostbyname3_r/2_r. -1: libc
 * must answer (EAI_SYSTEM, EAI_MEMORY). */
static int gai_gethosts(const char *mod, const char *name, int fam, int want3, int req_family,
                    struct fr_gai_found *f, enum nss_status *status, int *no_data, enum fr_status *herr,
                    int *got_ipv6, int *canon_done)
{
    struct fr_nssmod_result r;
    fr_nssmod_byname3(mod, name, fam, want3, &r);
    *no_data = 0;
    *status = r.status;
    *herr = gai_mod_herr(&r, *herr);
    int ret = 0;
    if (r.status != NSS_STATUS_SUCCESS) {
        if (*herr == FR_SYSTEM)
            ret = -1;
        else
            *no_data = *herr == FR_AGAIN ? 2 : *herr == FR_NODATA;
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
        gai_found_add(f, fam, (const unsigned char *)r.he.h_addr_list[i],
                  fam == AF_INET && req_family == AF_INET6);
    if (r.canon && !*canon_done) {
        gai_found_canon(f, r.canon);
        *canon_done = 1;
    }
done:
    fr_nssmod_result_free(&r);
    return ret;
}

/* One module as get_nss_addresses asks it. FR_OK when it ran (status and
 * the rest set), FR_PUNT when libc must answer. */
static enum fr_status gai_module_source(const char *mod, const char *name, int family, int flags,
                                    struct fr_gai_found *f, int *no_data, int *no_inet6_data,
                                    enum nss_status *status, enum fr_status *herr)
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
                    gai_found_canon(f, r.at->name);
                for (struct gaih_addrtuple *t = r.at; t; t = t->next) {
                    if (t->family != AF_INET && t->family != AF_INET6) {
                        fr_nssmod_result_free(&r);
                        return FR_PUNT;
                    }
                    gai_found_add(f, t->family, (const unsigned char *)t->addr, 0);
                }
                /* glibc: no_data = 1, cleared by any tuple kept. */
                *no_data = f->n ? 0 : 1;
            } else {
                *herr = gai_mod_herr(&r, *herr);
                *no_data = *herr == FR_AGAIN ? 2 : *herr == FR_NODATA;
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
        *herr = FR_SYSTEM;
        return FR_OK;
    }
    if (family == AF_INET6 || family == AF_UNSPEC) {
        if (gai_gethosts(mod, name, AF_INET6, want3, family, f, status, &nd, herr, &got_ipv6,
                     &canon_done) != 0)
            return FR_PUNT;
        *no_data = nd;
        *no_inet6_data = nd;
        inet6_status = *status;
    }
    if (family == AF_INET || family == AF_UNSPEC ||
        (family == AF_INET6 && (flags & AI_V4MAPPED) && ((flags & AI_ALL) || !got_ipv6))) {
        if (gai_gethosts(mod, name, AF_INET, want3, family, f, status, &nd, herr, &got_ipv6,
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
            gai_found_canon(f, name);
        *status = NSS_STATUS_SUCCESS;
    } else if (inet6_status == NSS_STATUS_TRYAGAIN) {
        *status = NSS_STATUS_TRYAGAIN;
    } else if (*status == NSS_STATUS_UNAVAIL && inet6_status != NSS_STATUS_UNAVAIL) {
        *status = inet6_status;
    }
    return FR_OK;
}

/* One walk over the hosts line (sources.h): its lookup and what it keeps
 * between sources. */
struct walk {
    const struct fr_config *cfg;
    const char *name;
    int family, flags;
    struct fr_gai_found *f;
    int no_data, no_inet6_data;
    enum fr_status herr;   /* the thread's h_errno as the sources leave it; FR_PUNT unknown */
};

/* files or dns (one nsswitch source, as gai_source_ask() asks it). */
static enum fr_status gai_plain_ask(void *ctx, enum fr_nss_kind kind)
{
    struct walk *w = ctx;
    return gai_source_ask(w->cfg, kind == FR_NSS_DNS, w->name, w->family, w->flags, w->f, &w->no_data,
                  &w->no_inet6_data);
}

/* One source of a line with modules, each starting afresh (glibc
 * discards what a source that did not end the walk found). */
static enum fr_status gai_chain_ask(void *ctx, const struct fr_nss_source *src,
                                enum nss_status *status, int *missing)
{
    struct walk *w = ctx;
    w->f->n = 0;
    w->f->have_canon = 0;
    if (src->kind == FR_NSS_MODULE)
        return gai_module_source(src->name, w->name, w->family, w->flags, w->f, &w->no_data,
                             &w->no_inet6_data, status, &w->herr);
    enum fr_status st = gai_plain_ask(w, src->kind);
    if (st == FR_PUNT || st == FR_NOMEM)
        return st;
    *status = st == FR_OK ? NSS_STATUS_SUCCESS : NSS_STATUS_NOTFOUND;
    if (st != FR_OK)
        w->herr = st == FR_AGAIN ? FR_AGAIN : st == FR_NODATA ? FR_NODATA : FR_NOTFOUND;
    return FR_OK;
}

/* The line with modules: its sources in order (sources.h). */
static enum fr_status gai_chain_sources(struct walk *w)
{
    enum nss_status status;
    int called;
    enum fr_status st = fr_sources_walk(w->cfg, gai_chain_ask, w, &status, &called);
    if (st != FR_OK)
        return st;
    /* glibc reports a failure that set NETDB_INTERNAL as EAI_SYSTEM (a
     * missing module last on the line: errno EBUSY): libc says it. */
    if ((status == NSS_STATUS_TRYAGAIN || status == NSS_STATUS_UNAVAIL) && w->herr == FR_SYSTEM)
        return FR_PUNT;
    if (status == NSS_STATUS_SUCCESS && w->f->n)
        return FR_OK;
    w->f->n = 0;
    return FR_NOTFOUND;
}

/* glibc's try_simple_gethostbyname: AF_INET without AI_CANONNAME goes
 * through gethostbyname2_r; its failures are reported as they are
 * (FR_NODATA, FR_EMPTY, FR_NOTFOUND, FR_FAIL, FR_AGAIN_NOTFOUND,
 * FR_AGAIN...), and shim.c maps them as glibc's getaddrinfo maps that
 * path's outcome. */
static enum fr_status gai_simple_inet(const struct fr_config *cfg, const char *name,
                                  struct fr_gai_found *f)
{
    struct fr_hostdata *d = NULL;
    enum fr_status st = fr_hostent_query(cfg, name, AF_INET, &d);
    if (st == FR_OK) {
        const unsigned char(*addrs)[16];
        unsigned n = fr_hostdata_addrs(d, &addrs);
        for (unsigned i = 0; i < n; i++)
            gai_found_add(f, AF_INET, addrs[i], 0);
        fr_hostdata_free(d);
    }
    return st;
}

enum fr_status fr_gai_addrs(const struct fr_config *cfg, const char *node, int family, int flags,
                            struct fr_gai_found *f)
{
    struct walk w = { .cfg = cfg, .name = node, .family = family, .flags = flags, .f = f,
                      .herr = FR_PUNT };
    enum fr_status st;
    f->n = 0;
    f->have_canon = 0;
    if (family == AF_INET && !(flags & AI_CANONNAME)) {
        /* glibc takes its old gethostbyname2_r path here
         * (try_simple_gethostbyname), with that path's error mapping. */
        st = gai_simple_inet(cfg, node, f);
    } else if (cfg->nss_nmodules) {
        st = gai_chain_sources(&w);
    } else {
        st = fr_sources_plain(cfg, gai_plain_ask, &w);
    }
    if (st == FR_PUNT || st == FR_NOMEM)
        return st;

    if (f->n == 0 && family == AF_INET && !(flags & AI_CANONNAME))
        return st;   /* gai_simple_inet's status is final */
    if (f->n == 0) {
        /* glibc: both sources timed out → EAI_AGAIN; some reported no data
         * → EAI_NODATA; otherwise EAI_NONAME. */
        if (w.no_data && w.no_inet6_data)
            return (w.no_data == 2 && w.no_inet6_data == 2) ? FR_AGAIN : FR_NODATA;
        return FR_NOTFOUND;
    }
    return FR_OK;
}
