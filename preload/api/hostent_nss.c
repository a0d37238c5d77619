/* fastres: gethostbyname* and gethostbyaddr through an nsswitch hosts
 * line with other modules (nssmod.h), as getXXbyYY_r.c's loop does it:
 * the sources in the line's order (sources.h), files and dns asked as on
 * a plain line (hostent.c, hostent_addr.c), each module through its
 * gethostbyname2_r or gethostbyaddr_r. */
#include "api/hostent_int.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "api/nssmod.h"
#include "api/sources.h"

/* A module's hostent into d. */
static enum fr_status hostent_hostdata_from(struct fr_hostdata *d, const struct hostent *he, int af,
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
        if (fr_hostdata_alias(d, *a) != 0)
            return FR_NOMEM;
    }
    return FR_OK;
}

/* A module's h_errno (nssmod.h) fastres can carry on with: its
 * NETDB_INTERNAL (FR_SYSTEM) makes errno matter, which fastres does not
 * reproduce, so it goes to libc as an unknown value (FR_PUNT) does. */
static enum fr_status hostent_herr_known(enum fr_status h)
{
    return h == FR_SYSTEM ? FR_PUNT : h;
}

/* The walk (sources.h): the lookup and *h_errnop as the sources leave
 * it (FR_PUNT: untouched so far). */
struct chain {
    struct fr_hostent_q *q;
    enum fr_status herr;
};

/* files and dns carry glibc's default actions (config.c): only success
 * ends the walk there. Their outcome as getXXbyYY_r.c sees it: an NSS
 * status and *h_errnop; outcomes fastres has no status for go to libc. */
static enum fr_status hostent_chain_plain(struct chain *c, enum nss_status *status, enum fr_nss_kind kind)
{
    const void *addr = c->q->addr;
    enum fr_status st = fr_hostent_ask(c->q, kind);
    if (st == FR_OK) {
        *status = NSS_STATUS_SUCCESS;
        /* dns: NETDB_SUCCESS; files: by name HOST_NOT_FOUND (it
         * reads to the end), by address untouched. */
        if (kind == FR_NSS_DNS)
            c->herr = FR_OK;
        else if (!addr)
            c->herr = FR_NOTFOUND;
    } else if (st == FR_NOTFOUND && kind == FR_NSS_FILES) {
        *status = NSS_STATUS_NOTFOUND;
        c->herr = FR_NOTFOUND;
    } else if (kind == FR_NSS_DNS && (st == FR_NOTFOUND || st == FR_NODATA || st == FR_FAIL)) {
        *status = NSS_STATUS_NOTFOUND;
        c->herr = st;
    } else if (kind == FR_NSS_DNS && (st == FR_AGAIN || st == FR_EMPTY) && !addr) {
        *status = NSS_STATUS_TRYAGAIN;   /* nss_dns by name: TRYAGAIN */
        c->herr = st == FR_AGAIN ? FR_AGAIN : FR_FAIL;
    } else if (kind == FR_NSS_DNS && st == FR_AGAIN) {
        *status = NSS_STATUS_NOTFOUND;   /* by address: NOTFOUND, TRY_AGAIN */
        c->herr = FR_AGAIN;
    } else if (kind == FR_NSS_DNS && st == FR_EMPTY) {
        *status = NSS_STATUS_TRYAGAIN;   /* getanswer_ptr: TRYAGAIN, NO_RECOVERY */
        c->herr = FR_FAIL;
    } else {
        return FR_PUNT;   /* FR_PUNT, FR_NOMEM, statuses not mapped */
    }
    return FR_OK;
}

/* One source, into a fresh answer. */
static enum fr_status hostent_chain_ask(void *ctx, const struct fr_nss_source *src,
                                enum nss_status *status, int *missing)
{
    struct chain *c = ctx;
    struct fr_hostent_q *q = c->q;
    if (fr_hostent_fresh(q, 1) != FR_OK)
        return FR_NOMEM;
    if (src->kind != FR_NSS_MODULE)
        return hostent_chain_plain(c, status, src->kind);
    struct fr_nssmod_result r;
    if (q->addr)
        fr_nssmod_byaddr(src->name, q->addr, q->len, q->af, &r);
    else
        fr_nssmod_byname3(src->name, q->name, q->af, -1, &r);
    if (r.missing) {
        *missing = 1;   /* __nss_next2's skip (sources.h) */
        return FR_OK;
    }
    *status = r.status;
    if (r.herr_set)
        c->herr = hostent_herr_known(r.herr);
    /* The thread's h_errno: the module's value replaces what DNS
     * left before it (shim.c writes it at the end). */
    if (r.thread_herr_set) {
        enum fr_status th = hostent_herr_known(r.thread_herr);
        if (th == FR_PUNT) {
            fr_nssmod_result_free(&r);
            return FR_PUNT;
        }
        fr_hostent_left_set(th);
    }
    enum fr_status st = FR_OK;
    if (r.status == NSS_STATUS_SUCCESS)
        st = hostent_hostdata_from(q->d, &r.he, q->af, q->af == AF_INET ? 4 : 16);
    fr_nssmod_result_free(&r);
    if (st != FR_OK)
        return FR_PUNT;
    if (r.herr_set && c->herr == FR_PUNT)
        return FR_PUNT;   /* NETDB_INTERNAL etc.: errno matters */
    return FR_OK;
}

enum fr_status fr_hostent_chain(struct fr_hostent_q *q, struct fr_hostdata **out)
{
    struct chain c = { .q = q, .herr = FR_PUNT };
    enum nss_status status;
    int called;
    const void *addr = q->addr;
    enum fr_status st = fr_sources_walk(q->cfg, hostent_chain_ask, &c, &status, &called);
    if (st == FR_NOMEM)
        return FR_NOMEM;   /* no answer to start a source with (q->d is NULL) */
    if (st != FR_OK || !called)
        goto punt;   /* !called: glibc's NO_RECOVERY / NETDB_INTERNAL, rare */
    enum fr_status herr = c.herr;
    if (status == NSS_STATUS_SUCCESS) {
        q->d->chain_residual = herr;
        *out = q->d;
        return FR_OK;
    }
    fr_hostdata_free(q->d);
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
    fr_hostdata_free(q->d);
    return FR_PUNT;
}
