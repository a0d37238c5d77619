/* fastres: the network layer's entry point (implemented in net/).
 *
 * A question goes to the configured nameservers in the order and at the
 * times the scheduler (net/plan.h) derives from what the process has
 * learned about each server (net/table.h): the best one first and the
 * others a hedge delay later, or all at once when nothing is known yet
 * (or with FASTRES_MODE=race). The first acceptable reply (NOERROR or
 * NXDOMAIN, well formed, from the server it was sent to, for the question
 * asked) wins. net/exchange.c runs the call, net/exchange_lane.c each
 * server's sends for one question; net/transport.c sends them through
 * c-ares, net/tcp*.c over persistent TCP (FASTRES_TRANSPORT=tcp).
 *
 * Called by lookup/ask.c (and api/resq.c for res_send's own queries), from
 * any thread: a call's state is its own, the table and the channel pool
 * are locked, and their locks are taken across fork (base/fork.h). Every
 * lookup uses its own c-ares channels (one per question and server, so A
 * and AAAA never share a socket) and closes them before returning: no
 * descriptor outlives a call but the TCP connections of net/tcp.h, and a
 * forked child never shares a socket with its parent. */
#ifndef FR_ENGINE_H
#define FR_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "base/status.h"

/* Questions for one name: A and AAAA for AF_UNSPEC. */
#define FR_ENGINE_PAIR 2
/* Names asked in one call: a search-list candidate and the ones after it
 * (resolve.c asks several at once). Four covers Kubernetes' three search
 * domains and the name as it is. */
#define FR_ENGINE_MAX_NAMES 4
#define FR_ENGINE_MAX_QUESTIONS (FR_ENGINE_PAIR * FR_ENGINE_MAX_NAMES)

struct fr_question {
    /* in */
    const char *name;      /* text form, no trailing dot needed */
    uint16_t qtype, qclass;
    unsigned group;        /* questions of one name share a group (A/AAAA) */
    /* Non-NULL: a query the program built (res_send), sent as it is (its
     * ID replaced per send, as always) instead of one built from name,
     * qtype and qclass; name is then only for log lines. */
    const uint8_t *query;
    size_t query_len;
    /* out */
    enum fr_status status; /* FR_OK: answer holds the winning reply */
    uint8_t *answer;       /* malloc'd winning reply (NOERROR or NXDOMAIN) */
    size_t answer_len;
    unsigned sent;         /* datagrams sent for this question (statistics) */
    /* On FR_AGAIN: rcode of the last unusable reply (SERVFAIL, REFUSED,
     * FORMERR, ...) or -1 when no server replied at all; conn_refused is 1
     * when every server refused the connection (nothing listening), which
     * glibc treats as "no server present" and stops searching. */
    int fail_rcode;
    int conn_refused;
    int finished;          /* set when status is final (also seen by `settled`) */
    int abandoned;         /* ended unfinished because `settled` said so */
};

/* Ask n questions (n <= FR_ENGINE_MAX_QUESTIONS) of cfg's servers.
 * Each question ends with FR_OK (answer set; the caller frees it),
 * FR_AGAIN (deadline passed, or every server failed), FR_BADNAME (the name
 * cannot be put in a query), or FR_NOMEM/FR_PUNT (fastres could not set
 * up: the caller goes to libc). Returns FR_OK when the engine ran, else
 * the set-up failure.
 *
 * Within a group, once one question has its answer the others get as long
 * again plus one maximal re-send interval (glibc returns the first answer
 * alone when the second times out). settled (may be NULL) is called with
 * arg whenever questions have finished; when it returns 1 the call ends:
 * questions still open get FR_AGAIN and `abandoned`. */
typedef int (*fr_engine_settled_fn)(void *arg);
enum fr_status fr_engine_ask(const struct fr_config *cfg, struct fr_question *qs, unsigned n,
                             fr_engine_settled_fn settled, void *arg);
/* fr_engine_ask without the early end. */
enum fr_status fr_engine_race(const struct fr_config *cfg, struct fr_question *qs, unsigned n);

/* Counters since start (for FASTRES_STATS and tests). */
struct fr_engine_stats {
    uint64_t questions, sent, won, failed, sockets_open;
};
void fr_engine_stats(struct fr_engine_stats *out);

#endif
