/* fastres: getnameinfo's host part (see gni.h). */
#include "api/gni.h"

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/hostent.h"

/* The getnameinfo calls fastres answers: a name wanted for an inet
 * address, with flags it reproduces. NI_NUMERICHOST needs no lookup and
 * NI_IDN the IDNA decoder: libc does those. */
#define GNI_FLAGS (NI_NUMERICSERV | NI_NAMEREQD | NI_DGRAM | NI_NOFQDN)

int fr_gni_ours(const struct sockaddr *sa, socklen_t salen, const char *host, socklen_t hostlen,
                int flags, const void **addr, int *len)
{
    if (flags & ~GNI_FLAGS)
        return 0;
    if (!sa || !host || hostlen == 0)
        return 0;
    if (sa->sa_family == AF_INET && salen >= sizeof(struct sockaddr_in)) {
        *addr = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
        *len = 4;
        return 1;
    }
    if (sa->sa_family == AF_INET6 && salen >= sizeof(struct sockaddr_in6)) {
        *addr = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        *len = 16;
        return 1;
    }
    return 0;
}

/* NI_NOFQDN's cut: name into out, ended before the "." that precedes the
 * first occurrence of domain in it (domain NULL: name whole). FR_RANGE
 * when name does not fit in outsz. */
static enum fr_status gni_nofqdn(const char *name, const char *domain, char *out, size_t outsz)
{
    if (strlen(name) >= outsz)
        return FR_RANGE;
    strcpy(out, name);
    char *c = domain ? strstr(out, domain) : NULL;
    if (c && c != out && c[-1] == '.')
        c[-1] = '\0';
    return FR_OK;
}

/* ------------------------------------------------------------------ */
/* NI_NOFQDN's local domain: glibc's nrl_domainname */

/* 0: not known, 1: a thread is working it out, 2: known (domain_text,
 * NULL when there is none). Once per process, as glibc's. */
static _Atomic int domain_state;
static char *domain_text;

/* The text after the first dot of the answer's name, when d has one. */
static int gni_domain_of(const struct fr_hostdata *d, char **out)
{
    const char *dot = strchr(fr_hostdata_name(d), '.');
    if (!dot)
        return 0;
    *out = strdup(dot + 1);
    return 1;
}

/* One of nrl_domainname's tries, whose lookup ended with st (d its
 * answer): what the resolver left goes to *left, the domain of the
 * answer's name to *dom. 1 found, 0 not, -1 when the call must go to libc.
 * Frees d. */
static int gni_domain_try(enum fr_status st, struct fr_hostdata *d, enum fr_status *left, char **dom)
{
    int found = 0;
    if (fr_hostent_resolver_left() != FR_PUNT)
        *left = fr_hostent_resolver_left();
    if (st == FR_OK)
        found = gni_domain_of(d, dom);
    fr_hostdata_free(d);
    return st == FR_PUNT || st == FR_NOMEM ? -1 : found;
}

/* glibc's nrl_domainname for getnameinfo's NI_NOFQDN, worked out once
 * per process as glibc does: the domain part of the first official name
 * with a dot among "localhost", the host name (gethostname) and
 * 127.0.0.1, each looked up as glibc does (NULL: none). FR_OK with
 * *domain; FR_PUNT when it cannot be worked out exactly (a lookup went to
 * libc, another thread is working it out). *left: the thread's h_errno
 * those lookups leave (FR_PUNT: none asked DNS). */
static enum fr_status gni_local_domain(const struct fr_config *cfg, const char **domain,
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
    int found = gni_domain_try(st, d, left, &dom);
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
        if ((found = gni_domain_try(st, d, left, &dom)) < 0)
            goto fail;
    }
    if (!found) {
        static const unsigned char lo[4] = { 127, 0, 0, 1 };
        d = NULL;
        st = fr_hostent_query_addr(cfg, lo, 4, AF_INET, &d);
        if ((found = gni_domain_try(st, d, left, &dom)) < 0)
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

enum fr_status fr_gni_host_name(const struct fr_config *cfg, const char *name, int flags, char *host,
                                socklen_t hostlen, enum fr_status *left)
{
    char trimmed[NI_MAXHOST];
    *left = FR_PUNT;
    if (flags & NI_NOFQDN) {
        /* glibc: after the lookup, its local domain (once per process),
         * cut after the first "." + domain found in the name. */
        const char *domain = NULL;
        if (!cfg || gni_local_domain(cfg, &domain, left) != FR_OK ||
            gni_nofqdn(name, domain, trimmed, sizeof trimmed) != FR_OK)
            return FR_PUNT;
        name = trimmed;
    }
    size_t n = strlen(name) + 1;
    if (n > hostlen)
        return FR_RANGE;
    memcpy(host, name, n);
    return FR_OK;
}
