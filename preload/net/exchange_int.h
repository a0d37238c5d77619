/* fastres network layer: internal to exchange*.c (the exchange behind
 * engine.h); no other module includes this.
 *
 * A call (struct exchange) holds its questions; a question (struct
 * question_state) one lane per server, in plan order; a lane (struct lane)
 * the sends made to that server, through c-ares (transport.h) or over the
 * shared TCP connection (tcp.h, struct tsend). exchange.c sets a call up,
 * runs its poll loop, ends its questions (deadline, group grace, settled)
 * and tears it down; exchange_lane.c runs the lanes of one question:
 * starts them when the plan says, re-sends when late, judges replies,
 * falls back from TCP to UDP. A call belongs to the thread that made it:
 * nothing here is locked, and nothing outlives the call. */
#ifndef FR_NET_EXCHANGE_INT_H
#define FR_NET_EXCHANGE_INT_H

#include <stdatomic.h>
#include <stdint.h>

#include "net/engine.h"
#include "net/plan.h"
#include "net/tcp.h"
#include "net/transport.h"

#define US_PER_MS 1000u
/* Floor of a TCP question's re-send time: below it, a question pending on
 * a busy connection (threads waiting their turn to read, a loaded host, a
 * server answering pipelined questions one by one) is no sign of a lost
 * segment. */
#define EXCHANGE_TCP_RTO_MIN_US (10u * US_PER_MS)

/* Counters since start (fr_engine_stats). */
struct fr_exchange_counters {
    _Atomic uint64_t questions, sent, won, failed;
};
extern struct fr_exchange_counters fr_exchange_stats;

struct exchange;
struct question_state;

/* One send over the shared TCP connection (FASTRES_TRANSPORT=tcp). */
struct tsend {
    struct fr_tcp_query tq;
    uint64_t sent_us;
    int delivered;
    struct tsend *next;
};

/* One server for one question. */
struct lane {
    struct question_state *q;
    unsigned server;        /* index in the configuration */
    struct fr_transport t;  /* opened when the lane starts */
    uint64_t start_us;      /* when the plan asks this server */
    uint64_t next_send_us;  /* re-send time while started and not done */
    uint32_t interval_us;   /* current RTO; doubles per re-send */
    unsigned outstanding;   /* sends the transport still holds */
    unsigned bad;           /* unusable replies or errors so far */
    unsigned refused;       /* of which: connection refused */
    int started, done;
    int tcp;                /* asked over the shared TCP connection */
    uint64_t late_us;       /* when the re-send time last passed */
    struct tsend *tsends;
};

struct question_state {
    struct exchange *x;
    struct fr_question *out;
    unsigned char *qbuf;
    int qlen;
    int qbuf_copy;          /* qbuf is a malloc'd copy of out->query */
    struct lane lanes[FR_MAX_SERVERS];   /* in plan order */
    unsigned nlanes;
    int done;
    uint64_t deadline_us;   /* shrinks as servers fail for good */
};

struct exchange {
    uint64_t start_us;
    const struct fr_config *cfg;
    unsigned gen;           /* table generation of the snapshot */
    struct fr_plan plan;
    struct question_state qs[FR_ENGINE_MAX_QUESTIONS];
    unsigned nq;
    int finished_since;     /* a question finished since `settled` last ran */
};

/* exchange.c: q has its outcome st (the first one counts). */
void fr_exchange_finish(struct question_state *q, enum fr_status st);

/* exchange_lane.c: run q's due sends at now (start the lanes whose time
 * has come, re-send the late ones); lower *wake to q's next timer. */
void fr_exchange_tick(struct question_state *q, uint64_t now, uint64_t *wake);
/* exchange_lane.c: hand q's TCP replies that have come in to their lanes. */
void fr_exchange_tcp_outcomes(struct question_state *q, uint64_t now_us);
/* exchange_lane.c: 1 while q waits for a reply over TCP. */
int fr_exchange_uses_tcp(const struct question_state *q);

#endif
