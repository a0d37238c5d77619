/* fastres: internal to hostent*.c — one gethostbyname* / gethostbyaddr
 * answer (struct fr_hostdata) and the pieces of its lookup that the files
 * share: by name (hostent.c), by address (hostent_addr.c), through an
 * nsswitch line with modules (hostent_nss.c). */
#ifndef FR_HOSTENT_INT_H
#define FR_HOSTENT_INT_H

#include "api/hostent.h"

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

/* One lookup: by name (addr NULL) or by address (len octets of af); d
 * is the answer being filled by the current source. */
struct fr_hostent_q {
    const struct fr_config *cfg;
    const char *name;
    const void *addr;
    int len, af;
    struct fr_hostdata *d;
};

/* Replace q->d by an empty answer for q (chain: the walk over a line with
 * modules fills it). FR_OK or FR_NOMEM. */
enum fr_status fr_hostent_fresh(struct fr_hostent_q *q, int chain);
/* Ask files or dns for q into q->d (after fr_hostent_fresh): FR_OK, or
 * the source's failure as fr_hostent_query / fr_hostent_query_addr
 * describe it. */
enum fr_status fr_hostent_ask(struct fr_hostent_q *q, enum fr_nss_kind kind);
/* Add an alias to d: 0 (also when HOSTENT_MAX_ALIASES are kept), -1 when
 * out of memory. */
int fr_hostdata_alias(struct fr_hostdata *d, const char *a);
/* Set what fr_hostent_resolver_left reports for this thread. */
void fr_hostent_left_set(enum fr_status st);

/* By address (hostent_addr.c): /etc/hosts, and nss_dns's PTR lookup. */
enum fr_status fr_hostent_files_addr(const unsigned char *addr, int af, struct fr_hostdata *d);
enum fr_status fr_hostent_dns_addr(const struct fr_config *cfg, const unsigned char *addr, int af,
                                   struct fr_hostdata *d);

/* q's lookup through the hosts line (q->d NULL): a line with modules
 * through fr_hostent_chain, else files then dns (sources.h). FR_OK with
 * *out, or the failure as fr_hostent_query / fr_hostent_query_addr
 * describe it. */
enum fr_status fr_hostent_lookup(struct fr_hostent_q *q, struct fr_hostdata **out);

/* The walk over a line with modules (hostent_nss.c), by name or by
 * address: FR_OK with *out, or the failure as fr_hostent_query /
 * fr_hostent_query_addr describe it. */
enum fr_status fr_hostent_chain(struct fr_hostent_q *q, struct fr_hostdata **out);

#endif
