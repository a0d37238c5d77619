/* fastres: the _res comparison (see config_int.h and
 * fr_config_res_matches in config.h). */
#include "base/config_int.h"

#include <stdio.h>
#include <string.h>

/* glibc's res_ninit leaves IPv6 servers in _u._ext.nsaddrs and an
 * AF_UNSPEC placeholder in nsaddr_list. */
static const struct sockaddr *config_res_server(res_state s, int i)
{
    if (s->_u._ext.nsaddrs[i])
        return (const struct sockaddr *)s->_u._ext.nsaddrs[i];
    return (const struct sockaddr *)&s->nsaddr_list[i];
}

static socklen_t config_sa_len(const struct sockaddr *sa)
{
    return sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

/* Field by field, never memcmp of whole structures: glibc's res_init
 * leaves sin_zero (and IPv6 padding) uninitialised, which gave random
 * mismatches (spurious punts; valgrind: jump on uninitialised value). */
static int config_sa_same(const struct sockaddr *a, const struct sockaddr *b)
{
    if (a->sa_family != b->sa_family)
        return 0;
    if (a->sa_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->sa_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
        return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
               !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr);
    }
    return 0;
}

/* The fields of a resolver state fastres compares. */
static void config_res_ref_fill(struct fr_res_ref *r, res_state st)
{
    memset(r, 0, sizeof *r);
    r->options = st->options;
    r->retrans = st->retrans;
    r->retry = st->retry;
    r->ndots = st->ndots;
    r->nscount = st->nscount;
    r->nsort = st->nsort;
    for (int i = 0; i < st->nscount && i < MAXNS; i++) {
        const struct sockaddr *sa = config_res_server(st, i);
        memcpy(&r->ns[i], sa, config_sa_len(sa));
    }
    for (int i = 0; i < MAXDNSRCH + 1 && st->dnsrch[i]; i++) {
        snprintf(r->dnsrch[i], sizeof r->dnsrch[i], "%s", st->dnsrch[i]);
        r->ndnsrch = i + 1;
    }
}

int fr_config_res_take(struct fr_res_ref *r)
{
    struct __res_state st;
    memset(&st, 0, sizeof st);
    if (res_ninit(&st) != 0)
        return 0;
    config_res_ref_fill(r, &st);
    res_nclose(&st);
    return 1;
}

/* 1 when fastres's reading of the files and of LOCALDOMAIN/RES_OPTIONS
 * agrees with what glibc's res_ninit built from them: a safety net for
 * corner cases of the syntax fastres reads differently (and for glibc's
 * configuration cache, which re-reads the environment only when
 * resolv.conf changes). Servers are not compared: FASTRES_SERVERS may
 * replace them on purpose. */
int fr_config_res_agrees(const struct fr_config *c, const struct fr_res_ref *r)
{
    unsigned attempts = r->retry == 0 ? 1u : (unsigned)r->retry;   /* apply_env's clamp */
    if (r->ndots != c->ndots || r->retrans < 0 || (unsigned)r->retrans != c->timeout_s ||
        r->retry < 0 || attempts != c->attempts)
        return 0;
    if (!!(r->options & RES_ROTATE) != !!c->rotate || !!(r->options & RES_USE_EDNS0) != !!c->edns0 ||
        !!(r->options & RES_TRUSTAD) != !!c->trust_ad || !!(r->options & RES_USEVC) != !!c->use_vc ||
        !!(r->options & RES_NOTLDQUERY) != !!c->no_tld_query)
        return 0;
    /* _res holds the first MAXDNSRCH search domains only. */
    unsigned n = c->ndomains < MAXDNSRCH ? c->ndomains : MAXDNSRCH;
    if ((unsigned)r->ndnsrch != n)
        return 0;
    for (unsigned i = 0; i < n; i++)
        if (strcmp(r->dnsrch[i], c->domains[i]) != 0)
            return 0;
    return 1;
}

int fr_config_res_matches(const struct fr_config *cfg, res_state statp)
{
    if (!statp || !(statp->options & RES_INIT))
        return 1;   /* glibc initialises it from the same files */
    const struct fr_res_ref *r = &cfg->res;
    if (!cfg->res_ok || statp->options != r->options || statp->retrans != r->retrans ||
        statp->retry != r->retry || statp->ndots != r->ndots || statp->nscount != r->nscount ||
        statp->nsort != r->nsort)
        return 0;
    for (int i = 0; i < statp->nscount && i < MAXNS; i++)
        if (!config_sa_same(config_res_server(statp, i), (const struct sockaddr *)&r->ns[i]))
            return 0;
    int n = 0;
    while (n < MAXDNSRCH + 1 && statp->dnsrch[n]) {
        if (n >= r->ndnsrch || strcmp(statp->dnsrch[n], r->dnsrch[n]) != 0)
            return 0;
        n++;
    }
    return n == r->ndnsrch;
}
