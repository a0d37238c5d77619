/* fastres: gethostbyname and friends (see hostent.h): the answer kept
 * between lookup and packing, the lookup by name, and the walk of a
 * plain hosts line shared with the lookup by address (hostent_addr.c). */
#include "api/hostent_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "api/sources.h"
#include "base/hosts.h"
#include "dns/msg.h"
#include "lookup/resolve.h"

/* glibc keeps h_errno per thread; so does this (fr_hostent_resolver_left). */
static __thread enum fr_status resolver_left = FR_PUNT;

enum fr_status fr_hostent_resolver_left(void)
{
    return resolver_left;
}

void fr_hostent_left_set(enum fr_status st)
{
    resolver_left = st;
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

int fr_hostdata_alias(struct fr_hostdata *d, const char *a)
{
    if (d->naliases == HOSTENT_MAX_ALIASES)
        return 0;
    d->aliases[d->naliases] = strdup(a);
    if (!d->aliases[d->naliases])
        return -1;
    d->naliases++;
    return 0;
}

static enum fr_status hostent_from_hosts(const char *name, int af, struct fr_hostdata *d)
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
        if (fr_hostdata_alias(d, *a) != 0)
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

static enum fr_status hostent_from_dns(const struct fr_config *cfg, const char *name, int af,
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
            fr_hostdata_alias(d, text) != 0)
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


enum fr_status fr_hostent_fresh(struct fr_hostent_q *q, int chain)
{
    fr_hostdata_free(q->d);
    q->d = calloc(1, sizeof *q->d);
    if (!q->d)
        return FR_NOMEM;
    q->d->af = q->af;
    q->d->len = q->af == AF_INET ? 4 : 16;
    q->d->by_addr = q->addr != NULL;
    q->d->chain = chain;
    return FR_OK;
}

enum fr_status fr_hostent_ask(struct fr_hostent_q *q, enum fr_nss_kind kind)
{
    if (kind == FR_NSS_FILES)
        return q->addr ? fr_hostent_files_addr(q->addr, q->af, q->d) : hostent_from_hosts(q->name, q->af, q->d);
    return q->addr ? fr_hostent_dns_addr(q->cfg, q->addr, q->af, q->d)
                   : hostent_from_dns(q->cfg, q->name, q->af, q->d);
}

/* One source of a plain line, into a fresh answer. */
static enum fr_status hostent_plain_ask(void *ctx, enum fr_nss_kind kind)
{
    struct fr_hostent_q *q = ctx;
    if (fr_hostent_fresh(q, 0) != FR_OK)
        return FR_NOMEM;
    return fr_hostent_ask(q, kind);
}

enum fr_status fr_hostent_lookup(struct fr_hostent_q *q, struct fr_hostdata **out)
{
    if (q->cfg->nss_nmodules)
        return fr_hostent_chain(q, out);
    enum fr_status st = fr_sources_plain(q->cfg, hostent_plain_ask, q);
    if (st != FR_OK) {
        fr_hostdata_free(q->d);
        return st;
    }
    *out = q->d;
    return FR_OK;
}

enum fr_status fr_hostent_query(const struct fr_config *cfg, const char *name, int af,
                                struct fr_hostdata **out)
{
    if ((af != AF_INET && af != AF_INET6) || fr_sources_literal(name))
        return FR_PUNT;   /* numeric forms: libc answers them without a lookup */
    resolver_left = FR_PUNT;
    struct fr_hostent_q q = { .cfg = cfg, .name = name, .af = af };
    return fr_hostent_lookup(&q, out);
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
