/* fastres: gethostbyname and friends (see hostent.h). */
#include "api/hostent.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/hosts.h"
#include "api/nssmod.h"
#include "dns/msg.h"
#include "lookup/resolve.h"

/* Aliases kept per answer: a CNAME chain longer than this is broken. */
#define HOSTENT_MAX_ALIASES 32

struct fr_hostdata {
    int af, len;
    char *name;
    unsigned naliases, naddrs;
    char *aliases[HOSTENT_MAX_ALIASES];
    unsigned char (*addrs)[16];
    int from_hosts;
    int by_addr;           /* gethostbyaddr's answer */
    /* Answers through an nsswitch line with modules: the *h_errnop glibc
     * leaves (FR_PUNT: untouched), which replaces the rules above. */
    int chain;
    enum fr_status chain_residual;
};

/* glibc keeps h_errno per thread; so does this (fr_hostent_resolver_left). */
static __thread enum fr_status resolver_left = FR_PUNT;

enum fr_status fr_hostent_resolver_left(void)
{
    return resolver_left;
}

enum fr_status fr_hostdata_residual(const struct fr_hostdata *d)
{
    if (d->chain)
        return d->chain_residual;
    /* nss_files' gethostbyaddr stops at the first matching line and never
     * writes *h_errnop; by name it reads to the end of the file, which
     * leaves HOST_NOT_FOUND. */
    if (d->from_hosts)
        return d->by_addr ? FR_PUNT : FR_NOTFOUND;
    return FR_OK;
}

const char *fr_hostdata_name(const struct fr_hostdata *d)
{
    return d->name;
}

unsigned fr_hostdata_addrs(const struct fr_hostdata *d, const unsigned char (**addrs)[16])
{
    *addrs = (const unsigned char(*)[16])d->addrs;
    return d->naddrs;
}

void fr_hostdata_free(struct fr_hostdata *d)
{
    if (!d)
        return;
    free(d->name);
    for (unsigned i = 0; i < d->naliases; i++)
        free(d->aliases[i]);
    free(d->addrs);
    free(d);
}

static int add_alias(struct fr_hostdata *d, const char *a)
{
    if (d->naliases == HOSTENT_MAX_ALIASES)
        return 0;
    d->aliases[d->naliases] = strdup(a);
    if (!d->aliases[d->naliases])
        return -1;
    d->naliases++;
    return 0;
}

static enum fr_status from_hosts(const char *name, int af, struct fr_hostdata *d)
{
    struct fr_hosts_result *r = NULL;
    enum fr_status st = fr_hosts_lookup(name, FR_HOSTS_FAMILY, af, &r);
    if (st != FR_OK)
        return st;
    st = FR_NOMEM;
    d->name = strdup(r->name);
    d->addrs = calloc(r->naddrs ? r->naddrs : 1, 16);
    if (!d->name || !d->addrs)
        goto done;
    for (char **a = r->aliases; a && *a; a++)
        if (add_alias(d, *a) != 0)
            goto done;
    for (size_t i = 0; i < r->naddrs; i++)
        if (r->addrs[i].family == af)
            memcpy(d->addrs[d->naddrs++], r->addrs[i].addr, (size_t)d->len);
    st = d->naddrs ? FR_OK : FR_NOTFOUND;
    d->from_hosts = 1;
done:
    fr_hosts_result_free(r);
    return st;
}

static enum fr_status from_dns(const struct fr_config *cfg, const char *name, int af,
                               struct fr_hostdata *d)
{
    uint16_t qt = af == AF_INET ? FR_T_A : FR_T_AAAA;
    struct fr_search s;
    struct fr_msg_addrs *ma = NULL;
    enum fr_status st = fr_resolve_search(cfg, name, &qt, 1, FR_C_IN, 1, &s);
    /* Measured against glibc 2.36: a search that ends in NO_RECOVERY (a
     * name res_mkquery refuses, e.g. over 253 characters) leaves
     * gethostbyname with HOST_NOT_FOUND. */
    if (st == FR_FAIL)
        st = FR_NOTFOUND;
    if (st == FR_OK)
        resolver_left = s.residual;
    else if (st != FR_NOMEM && st != FR_PUNT)
        resolver_left = st;
    /* Measured against glibc 2.36: TRY_AGAIN left by a SERVFAIL earlier
     * in the search, the last query answered (NXDOMAIN, NODATA): nss_dns
     * says "not found" (its status follows the last res_send's errno). */
    if (st == FR_AGAIN && !s.last_send_failed)
        st = FR_AGAIN_NOTFOUND;
    if (st != FR_OK)
        goto done;
    ma = malloc(sizeof *ma);
    if (!ma) {
        st = FR_NOMEM;
        goto done;
    }
    st = fr_msg_addrs(s.reply[0].msg, s.reply[0].len, qt, ma);
    /* The search stopped at this reply because it has records; without an
     * address among them glibc's getanswer_r gives NO_RECOVERY. */
    if (st == FR_NODATA || st == FR_NOTFOUND)
        st = FR_EMPTY;
    if (st != FR_OK)
        goto done;
    st = FR_NOMEM;
    d->name = strdup(ma->canon);
    d->addrs = calloc(ma->n, 16);
    if (!d->name || !d->addrs)
        goto done;
    for (unsigned i = 0; i < ma->naliases; i++) {
        char text[FR_MSG_NAME_MAX * 4 + 1];
        if (fr_msg_name_text(s.reply[0].msg, s.reply[0].len, ma->alias_off[i], text, sizeof text) ==
                FR_OK &&
            add_alias(d, text) != 0)
            goto done;
    }
    for (unsigned i = 0; i < ma->n; i++)
        memcpy(d->addrs[d->naddrs++], ma->addr[i], (size_t)d->len);
    st = FR_OK;
done:
    free(ma);
    fr_search_free(&s);
    return st;
}


/* ------------------------------------------------------------------ */
/* nsswitch lines with modules (nssmod.h): getXXbyYY_r.c's loop */

static enum fr_status from_dns_addr(const struct fr_config *cfg, const unsigned char *addr,
                                    int af, struct fr_hostdata *d);
static enum fr_status from_hosts_addr(const unsigned char *addr, int af, struct fr_hostdata *d);

/* h_errno values as statuses (shim.c maps them back). */
static enum fr_status herr_status(int h)
{
    switch (h) {
    case NETDB_SUCCESS: return FR_OK;
    case HOST_NOT_FOUND: return FR_NOTFOUND;
    case NO_DATA: return FR_NODATA;
    case TRY_AGAIN: return FR_AGAIN;
    case NO_RECOVERY: return FR_FAIL;
    default: return FR_PUNT;   /* NETDB_INTERNAL and others: libc */
    }
}

/* A module's hostent into d. */
static enum fr_status hostdata_from(struct fr_hostdata *d, const struct hostent *he, int af,
                                    int len)
{
    if (he->h_addrtype != af || he->h_length != len || !he->h_name)
        return FR_PUNT;
    unsigned n = 0;
    while (he->h_addr_list && he->h_addr_list[n])
        n++;
    d->name = strdup(he->h_name);
    d->addrs = calloc(n ? n : 1, 16);
    if (!d->name || !d->addrs)
        return FR_NOMEM;
    for (unsigned i = 0; i < n; i++)
        memcpy(d->addrs[d->naddrs++], he->h_addr_list[i], (size_t)len);
    for (char **a = he->h_aliases; a && *a; a++) {
        if (d->naliases == HOSTENT_MAX_ALIASES)
            return FR_PUNT;
        if (add_alias(d, *a) != 0)
            return FR_NOMEM;
    }
    return FR_OK;
}

/* The walk over the line's sources, by name (addr NULL) or by address.
 * files and dns carry glibc's default actions (config.c): only success
 * ends the walk there. A missing module is skipped as __nss_next2 skips
 * it (UNAVAIL's action; the last source ends the walk), without a call.
 * What the caller sees is the last source's status and the *h_errnop
 * left by the sources called; outcomes fastres has no status for go to
 * libc. */
static enum fr_status chain_query(const struct fr_config *cfg, const char *name, const void *addr,
                                  int alen, int af, struct fr_hostdata **out)
{
    enum nss_status status = NSS_STATUS_UNAVAIL;
    enum fr_status herr = FR_PUNT;   /* *h_errnop: untouched so far */
    enum fr_status st = FR_PUNT;
    struct fr_hostdata *d = NULL;
    int called = 0;
    for (unsigned i = 0; i < cfg->nss_n; i++) {
        const struct fr_nss_source *src = &cfg->nss[i];
        fr_hostdata_free(d);
        d = calloc(1, sizeof *d);
        if (!d)
            return FR_NOMEM;
        d->af = af;
        d->len = af == AF_INET ? 4 : 16;
        d->by_addr = addr != NULL;
        d->chain = 1;
        if (src->kind != FR_NSS_MODULE) {
            if (src->kind == FR_NSS_FILES)
                st = addr ? from_hosts_addr(addr, af, d) : from_hosts(name, af, d);
            else
                st = addr ? from_dns_addr(cfg, addr, af, d) : from_dns(cfg, name, af, d);
            called = 1;
            if (st == FR_OK) {
                status = NSS_STATUS_SUCCESS;
                /* dns: NETDB_SUCCESS; files: by name HOST_NOT_FOUND (it
                 * reads to the end), by address untouched. */
                if (src->kind == FR_NSS_DNS)
                    herr = FR_OK;
                else if (!addr)
                    herr = FR_NOTFOUND;
            } else if (st == FR_NOTFOUND && src->kind == FR_NSS_FILES) {
                status = NSS_STATUS_NOTFOUND;
                herr = FR_NOTFOUND;
            } else if (src->kind == FR_NSS_DNS &&
                       (st == FR_NOTFOUND || st == FR_NODATA || st == FR_FAIL)) {
                status = NSS_STATUS_NOTFOUND;
                herr = st;
            } else if (src->kind == FR_NSS_DNS && (st == FR_AGAIN || st == FR_EMPTY) && !addr) {
                status = NSS_STATUS_TRYAGAIN;   /* nss_dns by name: TRYAGAIN */
                herr = st == FR_AGAIN ? FR_AGAIN : FR_FAIL;
            } else if (src->kind == FR_NSS_DNS && st == FR_AGAIN) {
                status = NSS_STATUS_NOTFOUND;   /* by address: NOTFOUND, TRY_AGAIN */
                herr = FR_AGAIN;
            } else if (src->kind == FR_NSS_DNS && st == FR_EMPTY) {
                status = NSS_STATUS_TRYAGAIN;   /* getanswer_ptr: TRYAGAIN, NO_RECOVERY */
                herr = FR_FAIL;
            } else {
                goto punt;   /* FR_PUNT, FR_NOMEM, statuses not mapped */
            }
        } else {
            struct fr_nssmod_result r;
            if (addr)
                fr_nssmod_byaddr(src->name, addr, alen, af, &r);
            else
                fr_nssmod_byname3(src->name, name, af, -1, &r);
            if (r.missing) {
                /* __nss_next2: skipped while UNAVAIL says continue and
                 * another source follows; else the walk ends here with
                 * the status before. */
                if (src->ret[FR_NSS_ST_UNAVAIL] || i + 1 == cfg->nss_n)
                    break;
                continue;
            }
            called = 1;
            status = r.status;
            if (r.herrno_set)
                herr = herr_status(r.herrno);
            /* The thread's h_errno: the module's value replaces what DNS
             * left before it (shim.c writes it at the end). */
            if (r.thread_herrno_set) {
                enum fr_status th = herr_status(r.thread_herrno);
                if (th == FR_PUNT) {
                    fr_nssmod_result_free(&r);
                    goto punt;
                }
                resolver_left = th;
            }
            st = FR_OK;
            if (status == NSS_STATUS_SUCCESS)
                st = hostdata_from(d, &r.he, af, af == AF_INET ? 4 : 16);
            fr_nssmod_result_free(&r);
            if (st != FR_OK)
                goto punt;
            if (r.herrno_set && herr == FR_PUNT)
                goto punt;   /* NETDB_INTERNAL etc.: errno matters */
        }
        if (fr_nssmod_returns(cfg, i, status))
            break;
    }
    if (!called)
        goto punt;   /* glibc: NO_RECOVERY / NETDB_INTERNAL, rare */
    if (status == NSS_STATUS_SUCCESS) {
        d->chain_residual = herr;
        *out = d;
        return FR_OK;
    }
    fr_hostdata_free(d);
    /* getXXbyYY_r: NOTFOUND returns 0 with *h_errnop; TRYAGAIN returns
     * EAGAIN unless *h_errnop is NETDB_INTERNAL. The shim produces those
     * from these statuses. */
    if (status == NSS_STATUS_NOTFOUND &&
        (herr == FR_NOTFOUND || herr == FR_NODATA || herr == FR_FAIL || (addr && herr == FR_AGAIN)))
        return herr;   /* by address, FR_AGAIN is NOTFOUND with TRY_AGAIN (shim.c) */
    if (status == NSS_STATUS_TRYAGAIN && herr == FR_AGAIN && !addr)
        return FR_AGAIN;
    if (status == NSS_STATUS_TRYAGAIN && herr == FR_FAIL)
        return FR_EMPTY;
    return FR_PUNT;
punt:
    fr_hostdata_free(d);
    return FR_PUNT;
}

enum fr_status fr_hostent_query(const struct fr_config *cfg, const char *name, int af,
                                struct fr_hostdata **out)
{
    struct in_addr tmp;
    if ((af != AF_INET && af != AF_INET6) || !name || !*name || strchr(name, ':') ||
        inet_aton(name, &tmp))
        return FR_PUNT;   /* numeric forms: libc answers them without a lookup */
    resolver_left = FR_PUNT;
    if (cfg->nss_nmodules)
        return chain_query(cfg, name, NULL, 0, af, out);
    struct fr_hostdata *d = calloc(1, sizeof *d);
    if (!d)
        return FR_NOMEM;
    d->af = af;
    d->len = af == AF_INET ? 4 : 16;
    enum fr_status st = FR_NOTFOUND;
    if (cfg->hosts_first)
        st = from_hosts(name, af, d);
    if (st == FR_NOTFOUND) {
        fr_hostdata_free(d);
        d = calloc(1, sizeof *d);
        if (!d)
            return FR_NOMEM;
        d->af = af;
        d->len = af == AF_INET ? 4 : 16;
        st = from_dns(cfg, name, af, d);
    }
    if (st != FR_OK) {
        fr_hostdata_free(d);
        return st;
    }
    *out = d;
    return FR_OK;
}

enum fr_status fr_hostent_fill(const struct fr_hostdata *d, struct hostent *ret, char *buf,
                               size_t buflen)
{
    /* Layout: pointer arrays first (aligned), then addresses, then
     * strings, all inside the caller's buffer as glibc does. */
    uintptr_t base = (uintptr_t)buf;
    size_t pad = (sizeof(char *) - base % sizeof(char *)) % sizeof(char *);
    size_t need = pad + (d->naliases + 1 + d->naddrs + 1) * sizeof(char *) +
                  (size_t)d->naddrs * (size_t)d->len + strlen(d->name) + 1;
    for (unsigned i = 0; i < d->naliases; i++)
        need += strlen(d->aliases[i]) + 1;
    if (need > buflen)
        return FR_RANGE;
    char **aliases = (char **)(void *)(buf + pad);
    char **addrs = aliases + d->naliases + 1;
    char *p = (char *)(addrs + d->naddrs + 1);
    for (unsigned i = 0; i < d->naddrs; i++) {
        memcpy(p, d->addrs[i], (size_t)d->len);
        addrs[i] = p;
        p += d->len;
    }
    addrs[d->naddrs] = NULL;
    size_t l = strlen(d->name) + 1;
    memcpy(p, d->name, l);
    ret->h_name = p;
    p += l;
    for (unsigned i = 0; i < d->naliases; i++) {
        l = strlen(d->aliases[i]) + 1;
        memcpy(p, d->aliases[i], l);
        aliases[i] = p;
        p += l;
    }
    aliases[d->naliases] = NULL;
    ret->h_aliases = aliases;
    ret->h_addrtype = d->af;
    ret->h_length = d->len;
    ret->h_addr_list = addrs;
    return FR_OK;
}

/* ------------------------------------------------------------------ */
/* By address (gethostbyaddr, getnameinfo) */

/* The reverse name _nss_dns_gethostbyaddr2_r asks, from the address it
 * looks up (already unmapped). */
static void ptr_qname(const unsigned char *a, int af, char *out, size_t outsz)
{
    if (af == AF_INET) {
        snprintf(out, outsz, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1], a[0]);
        return;
    }
    static const char nib[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 15; i >= 0; i--) {
        out[o++] = nib[a[i] & 0xf];
        out[o++] = '.';
        out[o++] = nib[a[i] >> 4];
        out[o++] = '.';
    }
    strcpy(out + o, "ip6.arpa");
}

static enum fr_status from_dns_addr(const struct fr_config *cfg, const unsigned char *addr,
                                    int af, struct fr_hostdata *d)
{
    static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    static const unsigned char tunnelled[12] = { 0 };
    static const unsigned char v6local[4] = { 0, 0, 0, 1 };
    /* nss_dns asks the IPv4 name for a v4-mapped address, and for an
     * IPv4-compatible one other than ::1, and answers with the IPv4
     * address. */
    if (af == AF_INET6 && (!memcmp(addr, mapped, 12) ||
                           (!memcmp(addr, tunnelled, 12) && memcmp(addr + 12, v6local, 4)))) {
        addr += 12;
        af = AF_INET;
    }
    char qname[128];
    ptr_qname(addr, af, qname, sizeof qname);
    uint16_t qt = FR_T_PTR;
    struct fr_search s;
    char name[FR_MSG_PTR_NAME_MAX + 1];
    enum fr_status st = fr_resolve_search(cfg, qname, &qt, 1, FR_C_IN, 0, &s);
    /* __res_context_query leaves h_errno alone on success, sets it on
     * failure; nss_dns then reports NOTFOUND with that h_errno. */
    if (st != FR_OK && st != FR_NOMEM && st != FR_PUNT)
        resolver_left = st;
    if (st != FR_OK)
        goto done;
    st = fr_msg_ptr(s.reply[0].msg, s.reply[0].len, name, sizeof name);
    if (st != FR_OK)
        goto done;   /* FR_EMPTY: nss_dns's TRYAGAIN with NO_RECOVERY */
    st = FR_NOMEM;
    d->af = af;
    d->len = af == AF_INET ? 4 : 16;
    d->name = strdup(name);
    d->addrs = calloc(1, 16);
    if (!d->name || !d->addrs)
        goto done;
    memcpy(d->addrs[0], addr, (size_t)d->len);
    d->naddrs = 1;
    st = FR_OK;
done:
    fr_search_free(&s);
    return st;
}

static enum fr_status from_hosts_addr(const unsigned char *addr, int af, struct fr_hostdata *d)
{
    struct fr_hosts_result *r = NULL;
    enum fr_status st = fr_hosts_lookup_addr(addr, af, &r);
    if (st != FR_OK)
        return st;
    st = FR_NOMEM;
    d->name = strdup(r->name);
    d->addrs = calloc(1, 16);
    if (!d->name || !d->addrs)
        goto done;
    for (char **a = r->aliases; a && *a; a++)
        if (add_alias(d, *a) != 0)
            goto done;
    if (d->naliases == HOSTENT_MAX_ALIASES && r->aliases[HOSTENT_MAX_ALIASES]) {
        st = FR_PUNT;   /* more aliases than kept: libc gives them all */
        goto done;
    }
    memcpy(d->addrs[0], r->addrs[0].addr, (size_t)d->len);
    d->naddrs = 1;
    d->from_hosts = 1;
    st = FR_OK;
done:
    fr_hosts_result_free(r);
    return st;
}

enum fr_status fr_hostent_query_addr(const struct fr_config *cfg, const void *addr, int len,
                                     int af, struct fr_hostdata **out)
{
    if (!addr || !((af == AF_INET && len == 4) || (af == AF_INET6 && len == 16)))
        return FR_PUNT;
    if (fr_hosts_trims())
        return FR_PUNT;   /* gethostbyaddr's POSTPROCESS trims domains */
    resolver_left = FR_PUNT;
    if (cfg->nss_nmodules)
        return chain_query(cfg, NULL, addr, len, af, out);
    struct fr_hostdata *d = calloc(1, sizeof *d);
    if (!d)
        return FR_NOMEM;
    d->af = af;
    d->len = len;
    d->by_addr = 1;
    enum fr_status st = FR_NOTFOUND;
    if (cfg->hosts_first)
        st = from_hosts_addr(addr, af, d);
    if (st == FR_NOTFOUND) {
        fr_hostdata_free(d);
        d = calloc(1, sizeof *d);
        if (!d)
            return FR_NOMEM;
        d->by_addr = 1;
        st = from_dns_addr(cfg, addr, af, d);
    }
    if (st != FR_OK) {
        fr_hostdata_free(d);
        return st;
    }
    *out = d;
    return FR_OK;
}

/* ------------------------------------------------------------------ */
/* getnameinfo's NI_NOFQDN: glibc's nrl_domainname */

/* 0: not known, 1: a thread is working it out, 2: known (domain_text,
 * NULL when there is none). Once per process, as glibc's. */
static _Atomic int domain_state;
static char *domain_text;

/* The text after the first dot of the answer's name, when d has one. */
static int domain_of(const struct fr_hostdata *d, char **out)
{
    const char *dot = strchr(d->name, '.');
    if (!dot)
        return 0;
    *out = strdup(dot + 1);
    return 1;
}

/* One of nrl_domainname's tries, whose lookup ended with st (d its
 * answer): what the resolver left goes to *left, the domain of the
 * answer's name to *dom. 1 found, 0 not, -1 when the call must go to libc.
 * Frees d. */
static int domain_try(enum fr_status st, struct fr_hostdata *d, enum fr_status *left, char **dom)
{
    int found = 0;
    if (resolver_left != FR_PUNT)
        *left = resolver_left;
    if (st == FR_OK)
        found = domain_of(d, dom);
    fr_hostdata_free(d);
    return st == FR_PUNT || st == FR_NOMEM ? -1 : found;
}

enum fr_status fr_hostent_local_domain(const struct fr_config *cfg, const char **domain,
                                       enum fr_status *left)
{
    *left = FR_PUNT;
    int st0 = atomic_load(&domain_state);
    if (st0 == 2) {
        *domain = domain_text;
        return FR_OK;
    }
    int expected = 0;
    if (!atomic_compare_exchange_strong(&domain_state, &expected, 1))
        return FR_PUNT;   /* another thread is at it (glibc waits on a lock): libc */
    /* nrl_domainname_core: "localhost" by name, the host name (its own
     * dot, then by name), 127.0.0.1 by address; the first official name
     * with a dot gives the domain. */
    char *dom = NULL;
    struct fr_hostdata *d = NULL;
    char host[256];
    enum fr_status st = fr_hostent_query(cfg, "localhost", AF_INET, &d);
    int found = domain_try(st, d, left, &dom);
    if (found < 0)
        goto fail;
    if (!found) {
        if (gethostname(host, sizeof host) != 0)
            goto fail;
        host[sizeof host - 1] = '\0';
        const char *dot = strchr(host, '.');
        if (dot) {
            dom = strdup(dot + 1);
            found = 1;
        }
    }
    if (!found) {
        d = NULL;
        st = fr_hostent_query(cfg, host, AF_INET, &d);
        if ((found = domain_try(st, d, left, &dom)) < 0)
            goto fail;
    }
    if (!found) {
        static const unsigned char lo[4] = { 127, 0, 0, 1 };
        d = NULL;
        st = fr_hostent_query_addr(cfg, lo, 4, AF_INET, &d);
        if ((found = domain_try(st, d, left, &dom)) < 0)
            goto fail;
    }
    if (found && !dom)
        goto fail;   /* out of memory */
    domain_text = dom;
    atomic_store(&domain_state, 2);
    *domain = domain_text;
    return FR_OK;
fail:
    free(dom);
    *left = FR_PUNT;
    atomic_store(&domain_state, 0);
    return FR_PUNT;
}
