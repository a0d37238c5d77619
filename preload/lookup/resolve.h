/* fastres lookup layer: asking a name with glibc's search rules.
 *
 * Between the shapers (gai, hostent, resq) and ask.h: it builds the
 * candidate names the way glibc's __res_context_search does (ndots,
 * search list, trailing dot), asks them through ask.h (cache, in-flight
 * sharing, network), classifies each candidate's replies the way
 * __res_context_query does and replays glibc's walk over those verdicts,
 * so the search stops and fails exactly where glibc's would, even when
 * several candidates were asked at once.
 *
 * Contract: called by the shapers (api/gai, hostent, resq) and by shim.c
 * (reap, statistics); asks through ask.h only (the statistics line also
 * reads refresh's, the engine's, tcp's and table's counters). Any thread; its only state
 * is two statistics-grade atomics (nothing to do at fork); never blocks
 * beyond the ask it makes. Files: resolve.c (asking the candidates, the
 * FASTRES_STATS line), resolve_walk.c (glibc's rules: candidate names,
 * verdicts, order, the walk), internals in resolve_int.h. */
#ifndef FR_RESOLVE_H
#define FR_RESOLVE_H

#include <stddef.h>
#include <stdint.h>

#include "lookup/ask.h"
#include "base/config.h"
#include "net/engine.h"
#include "dns/msg.h"
#include "base/status.h"

/* glibc's MAXDNAME: the longest name res_querydomain builds. */
#define FR_RESOLVE_NAME_MAX FR_ASK_NAME_MAX

struct fr_search {
    /* out */
    struct fr_reply reply[FR_ENGINE_PAIR];  /* per question of the winning candidate */
    char name[FR_RESOLVE_NAME_MAX];   /* the candidate that answered */
    /* On success of a search: the h_errno glibc leaves behind, since
     * __res_context_search sets HOST_NOT_FOUND before the first query and
     * each failed candidate sets its own, and success clears neither. */
    enum fr_status residual;
    /* On failure: 1 when the last query the search made got no usable
     * reply (glibc's res_send failed: errno ETIMEDOUT or ECONNREFUSED,
     * which nss_dns reports as "unavailable" rather than "not found"). */
    int last_send_failed;
};

/* Ask qtypes[0..n) (n <= 2, e.g. A and AAAA) for name, searching like
 * res_search when search is 1, or asking name as it is (res_query) when 0.
 * FR_OK: a candidate answered (some reply has NOERROR and records); the
 * replies are in out and must be released with fr_search_free.
 * Otherwise glibc's h_errno for the failure: FR_NOTFOUND (HOST_NOT_FOUND),
 * FR_NODATA (NO_DATA), FR_AGAIN (TRY_AGAIN), FR_FAIL (NO_RECOVERY); or
 * FR_NOMEM / FR_PUNT (go to libc). On failure out->reply may still hold
 * the last replies (res_query copies them for its caller). */
enum fr_status fr_resolve_search(const struct fr_config *cfg, const char *name, const uint16_t *qtypes,
                                 unsigned n, uint16_t qclass, int search, struct fr_search *out);
void fr_search_free(struct fr_search *s);

/* name "." domain into full (FR_RESOLVE_NAME_MAX bytes): glibc's
 * __res_context_querydomain rule, FR_FAIL when the two do not fit. The
 * search list and res_querydomain both join names through it. */
enum fr_status fr_resolve_join(const char *name, const char *domain, char *full);

/* Collect refresh replies that have come in and close the sockets of
 * refreshes that are done or expired (refresh.h), without blocking. Every
 * interposed call runs this, so that "the next fastres call" closes them
 * whatever that call is (an /etc/hosts answer, a punt, freeaddrinfo). */
void fr_resolve_reap(void);

/* Counters for FASTRES_STATS. */
void fr_resolve_stats_print(void);

#endif
