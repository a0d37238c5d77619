/* fastres: configuration from /etc/resolv.conf, /etc/nsswitch.conf and
 * FASTRES_* environment variables.
 *
 * Contract: a configuration is an immutable, reference-counted snapshot.
 * Every layer (shim, api, lookup, net) takes one with fr_config_acquire()
 * at the start of a lookup and hands it back with fr_config_release(); a
 * file change produces a new snapshot and lookups already running keep
 * the old one. Thread-safe (lookups share snapshots without a lock on the
 * common path) and fork-safe (the keeper's lock is registered with
 * fork.h). It never touches the network and never changes _res: glibc's
 * res_ninit is called on a private state only, to compare.
 *
 * The module's files: config.c (the snapshot keeper), config_parse.c (one
 * configuration from texts: defaults and the order of sources),
 * config_resolv.c (resolv.conf, LOCALDOMAIN, RES_OPTIONS, nameserver
 * addresses), config_nss.c (nsswitch.conf), config_env.c (FASTRES_*),
 * config_timing.c (glibc's timing model), config_res.c (the _res
 * comparison); config_int.h holds what they share, config_test.h the test
 * seams. */
#ifndef FR_CONFIG_H
#define FR_CONFIG_H

#include <netinet/in.h>
#include <resolv.h>
#include <stdint.h>
#include <sys/socket.h>

#include "base/status.h"

/* glibc's MAXNS: it never asks more than three nameservers from
 * resolv.conf, and fastres must not answer from one glibc would ignore. */
#define FR_RESOLV_MAX_NS 3
/* FASTRES_SERVERS may name more: racing costs one datagram per server. */
#define FR_MAX_SERVERS 8
/* glibc >= 2.26 has no fixed limit on search domains; fastres keeps a
 * generous bound and hands larger lists to libc. */
#define FR_MAX_DOMAINS 32
/* glibc's RES_MAXNDOTS, RES_MAXRETRANS (s) and RES_MAXRETRY caps. */
#define FR_MAX_NDOTS 15
#define FR_MAX_TIMEOUT_S 30
#define FR_MAX_ATTEMPTS 5
/* Upper bound for any FASTRES_*_MS setting: ten minutes is longer than any
 * resolver waits. */
#define FR_MAX_MS 600000
/* Sources fastres follows on an nsswitch.conf hosts line (glibc has no
 * limit; real lines have two to five). */
#define FR_NSS_MAX 8
/* Longest NSS module name kept (libnss_NAME.so.2). */
#define FR_NSS_NAME_MAX 32
/* How often files are checked for changes (glibc checks resolv.conf on
 * every call; a stat per lookup would dominate a cache hit). */
#define FR_CONFIG_RECHECK_MS 1000

struct fr_server {
    struct sockaddr_storage addr;   /* port included */
    socklen_t addrlen;
    char text[INET6_ADDRSTRLEN + 24];
};

/* One source of the nsswitch.conf hosts line, with its actions. */
enum fr_nss_kind { FR_NSS_FILES, FR_NSS_DNS, FR_NSS_MODULE };
/* NSS statuses as glibc numbers them (nss.h), + 2 for the index. */
enum { FR_NSS_ST_TRYAGAIN, FR_NSS_ST_UNAVAIL, FR_NSS_ST_NOTFOUND, FR_NSS_ST_SUCCESS, FR_NSS_NST };
struct fr_nss_source {
    enum fr_nss_kind kind;
    char name[FR_NSS_NAME_MAX];      /* the module's, for FR_NSS_MODULE */
    unsigned char ret[FR_NSS_NST];   /* 1: [STATUS=return] for that status */
};

struct fr_config {
    int disabled;                    /* FASTRES_DISABLE=1 */
    const char *punt;                /* non-NULL: every call goes to libc; the reason */
    unsigned nservers;
    struct fr_server servers[FR_MAX_SERVERS];
    unsigned ndomains;
    char *domains[FR_MAX_DOMAINS];
    unsigned ndots, timeout_s, attempts;
    int rotate, edns0, trust_ad, use_vc, no_tld_query;
    int hosts_first;                 /* nsswitch hosts: files dns (1) or dns (0) */
    /* The hosts line when it names other sources than files and dns
     * (nss_nmodules > 0): the sources in order; files and dns appear at
     * most once each and with glibc's default actions (see nssmod.h). */
    unsigned nss_n, nss_nmodules;
    struct fr_nss_source nss[FR_NSS_MAX];
    /* Engine timings (ms). deadline_ms is the give-up time when every
     * server is silent; server_budget_ms[i] is server i's share of it
     * (glibc's wait for that server over all attempts), which the engine
     * drops from the deadline once the server has failed for good, since
     * glibc moves past a failing server at once. */
    unsigned deadline_ms, resend_ms, resend_max_ms;
    /* FASTRES_MODE=race: every server at once, always (else hedge: see
     * net/plan.h), and the hedge delay's floor and cap. */
    int race;
    unsigned hedge_min_ms, hedge_max_ms;
    int parallel_search;             /* FASTRES_PARALLEL_SEARCH (resolve.c) */
    int tcp;                         /* FASTRES_TRANSPORT=tcp (net/tcp.h) */
    unsigned server_budget_ms[FR_MAX_SERVERS];
    /* Cache settings. */
    unsigned cache_size;
    uint32_t cache_min_ttl, cache_max_ttl, cache_neg_max_ttl, stale_max;
    int refresh, stats;
    uint64_t generation;             /* changes when the files change */
    /* What res_ninit made of the same files, to notice a program that
     * edited _res (glibc then follows _res, so fastres must punt). Copied
     * out and the state closed at once, so no glibc resolver state lives
     * in a snapshot. */
    struct fr_res_ref {
        unsigned long options;
        int retrans, retry, nscount, nsort;
        unsigned ndots;
        struct sockaddr_in6 ns[MAXNS];   /* big enough for either family */
        char dnsrch[MAXDNSRCH + 1][256];
        int ndnsrch;
    } res;
    int res_ok;
};

/* The current configuration (re-reading files at most once per
 * FR_CONFIG_RECHECK_MS); NULL when none can be built (out of memory), in
 * which case the caller goes to libc. */
const struct fr_config *fr_config_acquire(void);
void fr_config_release(const struct fr_config *cfg);

/* 1 when the calling thread's resolver state (_res, or statp for the
 * res_n* functions) is what glibc would build from the files, i.e. the
 * program did not edit it. */
int fr_config_res_matches(const struct fr_config *cfg, res_state statp);

/* getenv that returns NULL in secure-execution programs (AT_SECURE). */
const char *fr_config_getenv(const char *name);

#endif
