/* fastres lookup layer: one name's questions through the cache, another
 * thread's identical question in flight, the network, and the stale
 * answer, in that order.
 *
 * The process-wide cache lives here: created on first use with the first
 * configuration's settings (they come from the environment, which the
 * process does not change), cleared whenever the files change. Sharing a
 * question another thread is asking is lookup/inflight.c's. Called by
 * lookup/resolve.c; any thread; blocks only inside the engine call and
 * while waiting for another thread's answer (bounded by the deadline). */
#ifndef FR_ASK_H
#define FR_ASK_H

#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "net/engine.h"
#include "base/status.h"

/* glibc's MAXDNAME: the longest name res_querydomain builds. */
#define FR_ASK_NAME_MAX 1025

struct fr_reply {
    uint8_t *msg;          /* malloc'd reply (NOERROR or NXDOMAIN), or NULL */
    size_t len;
};

struct fr_inflight;

/* What became of one question. */
struct fr_ask_state {
    enum fr_status st;        /* FR_OK: the reply is set */
    int fail_rcode, conn_refused;   /* as in struct fr_question */
    int abandoned;            /* speculative question ended unanswered */
    struct fr_inflight *lead;    /* private: the in-flight slot led */
    struct fr_inflight *follow;  /* private: the slot waited for (another
                                  * thread's answer comes after the call) */
};

/* One question of one name. */
struct fr_ask_item {
    const char *name;
    uint16_t qtype;
    unsigned group;           /* the engine group (one per name) */
    /* Asked ahead of need (a later search candidate): it may be abandoned
     * when an earlier candidate decides, so it neither leads nor follows
     * another thread's identical question. */
    int speculative;
    struct fr_reply *rep;     /* out: the reply */
    struct fr_ask_state *qs;  /* out */
    int race_idx;             /* its index in the engine call, or -1 */
};

/* Called from inside the engine call whenever questions have finished;
 * race holds the engine's questions (it[i].race_idx indexes it). 1 ends
 * the call (fr_engine_ask's settled). */
typedef int (*fr_ask_settled_fn)(void *arg, const struct fr_ask_item *it, unsigned n,
                                 const struct fr_question *race);

/* Ask it[0..n) (n <= FR_ENGINE_MAX_QUESTIONS) in class qclass, the
 * network questions all in one engine call; settled may be NULL. FR_OK
 * when every question has its state, else FR_NOMEM / FR_PUNT. */
enum fr_status fr_ask(const struct fr_config *cfg, struct fr_ask_item *it, unsigned n, uint16_t qclass,
                      fr_ask_settled_fn settled, void *arg);

/* Collect refresh replies that came in (refresh.h); returns at once when
 * none is pending. */
void fr_ask_reap(void);

/* Counters for FASTRES_STATS. */
struct fr_ask_stats {
    uint64_t stale, shared, cache_hits, cache_misses;
    size_t cache_entries;
};
void fr_ask_stats(struct fr_ask_stats *out);

#endif
