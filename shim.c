/* fastres: the interposed symbols.
 *
 * Every exported function is a one-line wrapper over a static worker
 * here. A worker takes a configuration snapshot, decides whether fastres
 * may answer (enabled, the files are ones it implements, the program did
 * not edit _res), calls the library, and translates its status into
 * glibc's error conventions: this file is the one place where EAI_*,
 * h_errno and errno are produced. Whatever fastres cannot answer exactly
 * as glibc would goes to libc's own function (real_*). */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <resolv.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "api/gai.h"
#include "api/gni.h"
#include "api/hostent.h"
#include "base/log.h"
#include "base/real.h"
#include "lookup/resolve.h"
#include "api/resq.h"
#include "lookup/shcache.h"

#define FR_EXPORT __attribute__((visibility("default")))

/* gethostbyname_r buffers smaller than this go to libc: glibc's nss_files
 * parses /etc/hosts lines inside the caller's buffer and fails with ERANGE
 * when one does not fit, before any DNS lookup; fastres does not reproduce
 * that threshold. Programs that grow the buffer on ERANGE start at 1 KiB
 * or more. */
#define SHIM_HOSTENT_R_MIN 1024

static atomic_int stats_wanted;

/* ------------------------------------------------------------------ */
/* Gate and translation */

/* The configuration to answer with, or NULL: go to libc. */
static const struct fr_config *shim_enter(res_state statp)
{
    fr_resolve_reap();   /* refresh sockets: closed by any call (refresh.h) */
    const struct fr_config *cfg = fr_config_acquire();
    if (!cfg)
        return NULL;
    if (cfg->stats)
        atomic_store_explicit(&stats_wanted, 1, memory_order_relaxed);
    if (cfg->disabled || cfg->punt || !fr_config_res_matches(cfg, statp)) {
        if (cfg->punt && !cfg->disabled)
            fr_log(FR_LOG_DEBUG, "shim", "handing over to libc: %s", cfg->punt);
        fr_config_release(cfg);
        return NULL;
    }
    return cfg;
}

/* getaddrinfo's codes. Besides the lookup's own outcomes (gai.h), the
 * AF_INET path reports gethostbyname2_r's outcome as it is, which glibc's
 * try_simple_gethostbyname maps: not found with NO_DATA, and a reply
 * without an address (NO_RECOVERY + "try again", FR_EMPTY), give
 * EAI_NODATA; TRY_AGAIN with EAGAIN gives EAI_AGAIN; any other not-found
 * (HOST_NOT_FOUND, NO_RECOVERY, TRY_AGAIN after an answered last query)
 * gives EAI_NONAME: glibc's getaddrinfo never reports EAI_FAIL for a
 * lookup. */
static int to_eai(enum fr_status st)
{
    switch (st) {
    case FR_OK:
        return 0;
    case FR_NODATA:
    case FR_EMPTY:
        return EAI_NODATA;
    case FR_AGAIN:
        return EAI_AGAIN;
    case FR_NOMEM:
        return EAI_MEMORY;
    case FR_SYSTEM:
        return EAI_SYSTEM;
    case FR_NOTFOUND:
    case FR_FAIL:
    case FR_AGAIN_NOTFOUND:
    case FR_BADNAME:
    default:
        return EAI_NONAME;
    }
}

static int to_herrno(enum fr_status st)
{
    switch (st) {
    case FR_OK:
        return NETDB_SUCCESS;
    case FR_NOTFOUND:
        return HOST_NOT_FOUND;
    case FR_NODATA:
        return NO_DATA;
    case FR_AGAIN:
    case FR_AGAIN_NOTFOUND:
        return TRY_AGAIN;
    case FR_NOMEM:
    case FR_RANGE:
    case FR_SYSTEM:
        return NETDB_INTERNAL;
    case FR_FAIL:
    case FR_EMPTY:
    case FR_BADNAME:
    default:
        return NO_RECOVERY;
    }
}

static void set_herrno(res_state statp, enum fr_status st)
{
    int h = to_herrno(st);
    h_errno = h;
    if (statp)
        statp->res_h_errno = h;
    if (st == FR_NOMEM)
        errno = ENOMEM;
}

/* ------------------------------------------------------------------ */
/* getaddrinfo */

static int shim_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                            struct addrinfo **res)
{
    const struct fr_real *real = fr_real_get();
    const struct fr_config *cfg = shim_enter(&_res);
    if (!cfg)
        return real ? real->getaddrinfo(node, service, hints, res) : EAI_SYSTEM;
    enum fr_status st = fr_gai(cfg, node, service, hints, res);
    fr_config_release(cfg);
    if (st == FR_PUNT)
        return real ? real->getaddrinfo(node, service, hints, res) : EAI_SYSTEM;
    if (st == FR_NOMEM)
        errno = ENOMEM;
    return to_eai(st);
}

static void shim_freeaddrinfo(struct addrinfo *ai)
{
    fr_resolve_reap();
    fr_gai_free(ai);
}

/* ------------------------------------------------------------------ */
/* gethostbyname family */

/* gethostbyname_r's contract: 0 with *result set, or 0 with *result NULL
 * and *h_errnop set (not found), ERANGE for a short buffer, EAGAIN and
 * TRY_AGAIN when no server answered. */
/* The end both reentrant forms share: the h_errno glibc's resolver also
 * leaves in the thread (programs read it: Debian's threaded perl does
 * after gethostbyname_r), then the answer packed into the caller's
 * buffer. FR_OK: *result set, *h_errnop from the answer's residual code
 * (none when no source wrote one: nss_files by address leaves it alone);
 * otherwise *result NULL and *h_errnop from the returned status. */
static enum fr_status shim_hostent_r_finish(enum fr_status st, struct fr_hostdata *d, struct hostent *ret,
                                            char *buf, size_t buflen, struct hostent **result,
                                            int *h_errnop)
{
    enum fr_status left = fr_hostent_resolver_left();
    if (left != FR_PUNT)
        h_errno = to_herrno(left);
    *result = NULL;
    if (st == FR_OK) {
        enum fr_status residual = fr_hostdata_residual(d);
        st = fr_hostent_fill(d, ret, buf, buflen);
        fr_hostdata_free(d);
        if (st == FR_OK) {
            *result = ret;
            if (residual != FR_PUNT)
                *h_errnop = to_herrno(residual);
            return FR_OK;
        }
    }
    *h_errnop = to_herrno(st);
    return st;
}

static int shim_ghbn_r(const char *name, int af, struct hostent *ret, char *buf, size_t buflen,
                       struct hostent **result, int *h_errnop)
{
    const struct fr_real *real = fr_real_get();
    const struct fr_config *cfg = shim_enter(&_res);
    struct fr_hostdata *d = NULL;
    enum fr_status st = FR_PUNT;
    if (cfg) {
        if (buflen >= SHIM_HOSTENT_R_MIN)
            st = fr_hostent_query(cfg, name, af, &d);
        fr_config_release(cfg);
    }
    if (st == FR_PUNT) {
        if (!real)
            return ENOSYS;
        return real->gethostbyname2_r(name, af, ret, buf, buflen, result, h_errnop);
    }
    st = shim_hostent_r_finish(st, d, ret, buf, buflen, result, h_errnop);
    if (st == FR_OK)
        return 0;
    switch (st) {
    case FR_RANGE:
        errno = ERANGE;
        return ERANGE;
    case FR_NOMEM:
        errno = ENOMEM;
        return ENOMEM;
    case FR_AGAIN:
        /* nss_dns turns TRY_AGAIN into errno EAGAIN, which gethostbyname_r
         * returns: measured against glibc 2.36 for silent, refusing and
         * absent servers alike. */
        errno = EAGAIN;
        return EAGAIN;
    case FR_EMPTY:
        /* nss_dns: TRYAGAIN with NO_RECOVERY, returned as EAGAIN. */
        errno = EAGAIN;
        return EAGAIN;
    default:
        return 0;
    }
}

static struct hostent *shim_ghbn(const char *name, int af)
{
    const struct fr_real *real = fr_real_get();
    const struct fr_config *cfg = shim_enter(&_res);
    struct fr_hostdata *d = NULL;
    enum fr_status st = FR_PUNT;
    if (cfg) {
        st = fr_hostent_query(cfg, name, af, &d);
        fr_config_release(cfg);
    }
    if (st == FR_PUNT)
        return real ? real->gethostbyname2(name, af) : NULL;
    if (st != FR_OK) {
        set_herrno(NULL, st);
        return NULL;
    }
    struct hostent *he = NULL;
    if (fr_hostent_fill_tls(d, FR_HOSTENT_BYNAME, &he) != FR_OK)
        set_herrno(NULL, FR_NOMEM);
    if (he && fr_hostdata_residual(d) != FR_PUNT)
        h_errno = to_herrno(fr_hostdata_residual(d));
    fr_hostdata_free(d);
    return he;
}

/* ------------------------------------------------------------------ */
/* gethostbyaddr family and getnameinfo */

/* gethostbyaddr_r as getXXbyYY_r.c ends after nss_files and nss_dns:
 * 0 with *result set; 0 with *result NULL and nss_dns's h_errno (not
 * found, no data, TRY_AGAIN after a time-out); EAGAIN with NO_RECOVERY
 * for a reply without a usable PTR record; ERANGE. errno is set to the
 * return value, as glibc does. */
static int shim_ghba_r(const void *addr, socklen_t len, int type, struct hostent *ret, char *buf,
                       size_t buflen, struct hostent **result, int *h_errnop)
{
    const struct fr_real *real = fr_real_get();
    const struct fr_config *cfg = shim_enter(&_res);
    struct fr_hostdata *d = NULL;
    enum fr_status st = FR_PUNT;
    if (cfg) {
        /* SHIM_HOSTENT_R_MIN: nss_files reads each line into buf (see
         * gethostbyname_r). */
        if (addr && buflen >= SHIM_HOSTENT_R_MIN && !fr_hostent_addr_any(addr, len))
            st = fr_hostent_query_addr(cfg, addr, (int)len, type, &d);
        fr_config_release(cfg);
    }
    if (st == FR_PUNT) {
        if (!real)
            return ENOSYS;
        return real->gethostbyaddr_r(addr, len, type, ret, buf, buflen, result, h_errnop);
    }
    int rc = 0;
    st = shim_hostent_r_finish(st, d, ret, buf, buflen, result, h_errnop);
    if (st == FR_OK) {
        errno = 0;
        return 0;
    }
    switch (st) {
    case FR_RANGE:
        rc = ERANGE;
        break;
    case FR_NOMEM:
        rc = ENOMEM;
        break;
    case FR_EMPTY:
        rc = EAGAIN;   /* nss_dns: TRYAGAIN with NO_RECOVERY */
        break;
    default:
        rc = 0;        /* nss_dns: NOTFOUND, whatever its h_errno */
        break;
    }
    errno = rc;
    return rc;
}

static struct hostent *shim_ghba(const void *addr, socklen_t len, int type)
{
    const struct fr_real *real = fr_real_get();
    const struct fr_config *cfg = shim_enter(&_res);
    struct fr_hostdata *d = NULL;
    enum fr_status st = FR_PUNT;
    if (cfg) {
        if (addr && !fr_hostent_addr_any(addr, len))
            st = fr_hostent_query_addr(cfg, addr, (int)len, type, &d);
        fr_config_release(cfg);
    }
    if (st == FR_PUNT)
        return real ? real->gethostbyaddr(addr, len, type) : NULL;
    enum fr_status left = fr_hostent_resolver_left();
    if (left != FR_PUNT)
        h_errno = to_herrno(left);
    if (st != FR_OK) {
        /* getXXbyYY.c copies a non-zero *h_errnop into h_errno; errno
         * is what gethostbyaddr_r left (shim_ghba_r). */
        set_herrno(NULL, st);
        errno = st == FR_EMPTY ? EAGAIN : st == FR_NOMEM ? ENOMEM : 0;
        return NULL;
    }
    struct hostent *he = NULL;
    if (fr_hostent_fill_tls(d, FR_HOSTENT_BYADDR, &he) != FR_OK)
        set_herrno(NULL, FR_NOMEM);
    if (he) {
        enum fr_status residual = fr_hostdata_residual(d);
        if (residual != FR_PUNT && residual != FR_OK)
            h_errno = to_herrno(residual);
        errno = 0;
    }
    fr_hostdata_free(d);
    return he;
}

/* getnameinfo as inet/getnameinfo.c does it: the host part from
 * gethostbyaddr_r's answer (fastres's), its numeric form and the service
 * part from libc itself (a call without the host, or with NI_NUMERICHOST,
 * does no lookup). */
static int shim_gni(const struct sockaddr *sa, socklen_t salen, char *host, socklen_t hostlen,
                    char *serv, socklen_t servlen, int flags)
{
    const struct fr_real *real = fr_real_get();
    if (!real)
        return EAI_SYSTEM;
    const void *addr;
    int af = sa ? sa->sa_family : AF_UNSPEC, len;
    if (!fr_gni_ours(sa, salen, host, hostlen, flags, &addr, &len))
        return real->getnameinfo(sa, salen, host, hostlen, serv, servlen, flags);
    const struct fr_config *cfg = shim_enter(&_res);
    if (!cfg)
        return real->getnameinfo(sa, salen, host, hostlen, serv, servlen, flags);
    struct fr_hostdata *d = NULL;
    enum fr_status st = FR_NOTFOUND;   /* "::": not found, no lookup */
    if (!fr_hostent_addr_any(addr, (socklen_t)len))
        st = fr_hostent_query_addr(cfg, addr, len, af, &d);
    fr_config_release(cfg);
    if (st == FR_PUNT)
        return real->getnameinfo(sa, salen, host, hostlen, serv, servlen, flags);
    enum fr_status left = fr_hostent_resolver_left();
    if (left != FR_PUNT)
        h_errno = to_herrno(left);
    /* errno as the internal gethostbyaddr_r leaves it (its return value;
     * "::" returns before touching it). */
    if (d || !fr_hostent_addr_any(addr, (socklen_t)len))
        errno = st == FR_EMPTY ? EAGAIN : st == FR_NOMEM ? ENOMEM : 0;
    int rc;
    if (st == FR_OK) {
        /* A second snapshot for NI_NOFQDN's local domain, worked out after
         * the lookup as glibc does. */
        const struct fr_config *cfg2 = (flags & NI_NOFQDN) ? shim_enter(&_res) : NULL;
        enum fr_status dleft;
        enum fr_status hst = fr_gni_host_name(cfg2, fr_hostdata_name(d), flags, host, hostlen, &dleft);
        fr_config_release(cfg2);
        if (hst == FR_PUNT) {
            fr_hostdata_free(d);
            return real->getnameinfo(sa, salen, host, hostlen, serv, servlen, flags);
        }
        if (dleft != FR_PUNT)
            h_errno = to_herrno(dleft);
        rc = hst == FR_OK ? 0 : EAI_OVERFLOW;
    } else if (st == FR_AGAIN) {
        h_errno = to_herrno(FR_AGAIN);
        rc = EAI_AGAIN;
    } else if (st == FR_NOMEM) {
        rc = EAI_MEMORY;
    } else if (flags & NI_NAMEREQD) {
        rc = EAI_NONAME;
    } else {
        rc = real->getnameinfo(sa, salen, host, hostlen, NULL, 0, flags | NI_NUMERICHOST);
    }
    fr_hostdata_free(d);
    if (rc == 0 && serv && servlen > 0)
        rc = real->getnameinfo(sa, salen, NULL, 0, serv, servlen, flags);
    return rc;
}

/* ------------------------------------------------------------------ */
/* res_* */

static int shim_resq(res_state statp, enum fr_resq_mode mode, const char *name, const char *domain,
                     int qclass, int qtype, unsigned char *answer, int anslen)
{
    const struct fr_real *real = fr_real_get();
    res_state st_for_check = statp ? statp : &_res;
    const struct fr_config *cfg = NULL;
    /* res_n* with a state the program never initialised: glibc fails
     * those itself; leave them to it. */
    if (!statp || (statp->options & RES_INIT))
        cfg = shim_enter(st_for_check);
    enum fr_status st = FR_PUNT, residual = FR_OK;
    int len = -1;
    if (cfg) {
        st = fr_resq(cfg, mode, name, domain, qclass, qtype, answer, anslen, &len, &residual);
        fr_config_release(cfg);
    }
    if (st == FR_PUNT) {
        if (!real)
            return -1;
        if (statp) {
            if (domain)
                return real->res_nquerydomain(statp, name, domain, qclass, qtype, answer, anslen);
            if (mode == FR_RESQ_SEARCH)
                return real->res_nsearch(statp, name, qclass, qtype, answer, anslen);
            return real->res_nquery(statp, name, qclass, qtype, answer, anslen);
        }
        if (domain)
            return real->res_querydomain(name, domain, qclass, qtype, answer, anslen);
        if (mode == FR_RESQ_SEARCH)
            return real->res_search(name, qclass, qtype, answer, anslen);
        return real->res_query(name, qclass, qtype, answer, anslen);
    }
    if (st == FR_OK) {
        if (residual != FR_OK)
            set_herrno(st_for_check, residual);   /* what glibc leaves behind */
        return len;
    }
    set_herrno(st_for_check, st);
    return -1;
}

/* res_send / res_nsend: the program's own query, raced. */
static int shim_send(res_state statp, const unsigned char *msg, int msglen, unsigned char *answer,
                     int anslen)
{
    const struct fr_real *real = fr_real_get();
    const struct fr_config *cfg = NULL;
    if (!statp || (statp->options & RES_INIT))
        cfg = shim_enter(statp ? statp : &_res);
    enum fr_status st = FR_PUNT;
    int len = -1;
    if (cfg) {
        st = fr_resq_send(cfg, msg, msglen, answer, anslen, &len);
        fr_config_release(cfg);
    }
    if (st == FR_PUNT) {
        if (!real)
            return -1;
        return statp ? real->res_nsend(statp, msg, msglen, answer, anslen)
                     : real->res_send(msg, msglen, answer, anslen);
    }
    if (st == FR_OK)
        return len;
    /* res_send's errno: how the servers failed (__res_context_send). */
    errno = st == FR_NOMEM ? ENOMEM : st == FR_REFUSED ? ECONNREFUSED : ETIMEDOUT;
    return -1;
}

/* ------------------------------------------------------------------ */

__attribute__((destructor)) static void shim_exit(void)
{
    if (atomic_load_explicit(&stats_wanted, memory_order_relaxed)) {
        fr_resolve_stats_print();
        fr_shcache_stats_print();
    }
}

/* ------------------------------------------------------------------ */
/* The exported symbols. Binaries built against glibc < 2.34 import the
 * res_* functions as __res_* from libresolv; newer ones import the plain
 * names from libc: both are defined, unversioned, so either reference
 * binds here. */

FR_EXPORT int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                          struct addrinfo **res)
{
    return shim_getaddrinfo(node, service, hints, res);
}

FR_EXPORT void freeaddrinfo(struct addrinfo *ai)
{
    shim_freeaddrinfo(ai);
}

FR_EXPORT struct hostent *gethostbyname(const char *name)
{
    return shim_ghbn(name, AF_INET);
}

FR_EXPORT struct hostent *gethostbyname2(const char *name, int af)
{
    return shim_ghbn(name, af);
}

FR_EXPORT int gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t buflen,
                              struct hostent **result, int *h_errnop)
{
    return shim_ghbn_r(name, AF_INET, ret, buf, buflen, result, h_errnop);
}

FR_EXPORT int gethostbyname2_r(const char *name, int af, struct hostent *ret, char *buf,
                               size_t buflen, struct hostent **result, int *h_errnop)
{
    return shim_ghbn_r(name, af, ret, buf, buflen, result, h_errnop);
}

FR_EXPORT struct hostent *gethostbyaddr(const void *addr, socklen_t len, int type)
{
    return shim_ghba(addr, len, type);
}

FR_EXPORT int gethostbyaddr_r(const void *addr, socklen_t len, int type, struct hostent *ret,
                              char *buf, size_t buflen, struct hostent **result, int *h_errnop)
{
    return shim_ghba_r(addr, len, type, ret, buf, buflen, result, h_errnop);
}

FR_EXPORT int getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host,
                          socklen_t hostlen, char *serv, socklen_t servlen, int flags)
{
    return shim_gni(sa, salen, host, hostlen, serv, servlen, flags);
}

#undef res_query
#undef res_search
#undef res_querydomain
#undef res_nquery
#undef res_nsearch
#undef res_nquerydomain
#undef res_send
#undef res_nsend

FR_EXPORT int res_query(const char *name, int qclass, int qtype, unsigned char *answer, int anslen)
{
    return shim_resq(NULL, FR_RESQ_QUERY, name, NULL, qclass, qtype, answer, anslen);
}

FR_EXPORT int res_search(const char *name, int qclass, int qtype, unsigned char *answer, int anslen)
{
    return shim_resq(NULL, FR_RESQ_SEARCH, name, NULL, qclass, qtype, answer, anslen);
}

FR_EXPORT int res_querydomain(const char *name, const char *domain, int qclass, int qtype,
                              unsigned char *answer, int anslen)
{
    return shim_resq(NULL, FR_RESQ_QUERY, name, domain, qclass, qtype, answer, anslen);
}

FR_EXPORT int res_nquery(res_state statp, const char *name, int qclass, int qtype,
                         unsigned char *answer, int anslen)
{
    return shim_resq(statp, FR_RESQ_QUERY, name, NULL, qclass, qtype, answer, anslen);
}

FR_EXPORT int res_nsearch(res_state statp, const char *name, int qclass, int qtype,
                          unsigned char *answer, int anslen)
{
    return shim_resq(statp, FR_RESQ_SEARCH, name, NULL, qclass, qtype, answer, anslen);
}

FR_EXPORT int res_nquerydomain(res_state statp, const char *name, const char *domain, int qclass,
                               int qtype, unsigned char *answer, int anslen)
{
    return shim_resq(statp, FR_RESQ_QUERY, name, domain, qclass, qtype, answer, anslen);
}

FR_EXPORT int res_send(const unsigned char *msg, int msglen, unsigned char *answer, int anslen)
{
    return shim_send(NULL, msg, msglen, answer, anslen);
}

FR_EXPORT int res_nsend(res_state statp, const unsigned char *msg, int msglen,
                        unsigned char *answer, int anslen)
{
    return shim_send(statp, msg, msglen, answer, anslen);
}

/* The pre-2.34 names are aliases of the same functions. */
FR_EXPORT int __res_query(const char *, int, int, unsigned char *, int) __attribute__((alias("res_query"), copy(res_query)));
FR_EXPORT int __res_search(const char *, int, int, unsigned char *, int) __attribute__((alias("res_search"), copy(res_search)));
FR_EXPORT int __res_querydomain(const char *, const char *, int, int, unsigned char *, int) __attribute__((alias("res_querydomain"), copy(res_querydomain)));
FR_EXPORT int __res_nquery(res_state, const char *, int, int, unsigned char *, int) __attribute__((alias("res_nquery"), copy(res_nquery)));
FR_EXPORT int __res_nsearch(res_state, const char *, int, int, unsigned char *, int) __attribute__((alias("res_nsearch"), copy(res_nsearch)));
FR_EXPORT int __res_nquerydomain(res_state, const char *, const char *, int, int, unsigned char *, int) __attribute__((alias("res_nquerydomain"), copy(res_nquerydomain)));
FR_EXPORT int __res_send(const unsigned char *, int, unsigned char *, int) __attribute__((alias("res_send"), copy(res_send)));
FR_EXPORT int __res_nsend(res_state, const unsigned char *, int, unsigned char *, int) __attribute__((alias("res_nsend"), copy(res_nsend)));
