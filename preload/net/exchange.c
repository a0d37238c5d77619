/* fastres network layer: the exchange (implements engine.h).
 *
 * One call runs one or two questions (A and AAAA) to their end: it takes
 * a snapshot of the server table, has the scheduler (plan.h) order the
 * servers, and then, in a poll loop in the shape of musl's res_msend.c:
 * - asks each server when the plan says (the best at once, the next one
 *   hedge delay later, all at once when nothing is known);
 * - re-sends to a server whose reply is late by its RTO (doubling, capped
 *   at FASTRES_RESEND_MAX_MS) and records the timeout;
 * - accepts only NOERROR/NXDOMAIN, well formed, not truncated, from the
 *   server asked, for the question asked (the transport checks the last
 *   three); anything else never wins: the server is asked again at once
 *   while it has `attempts` left (glibc asks each server that often, musl
 *   re-sends SERVFAIL at once) and the next server is started at once;
 * - stops at glibc's deadline for the same resolv.conf, shortened by a
 *   server's share once it has failed for good;
 * and records every send and outcome in the table, with the round trip of
 * every accepted reply, including late ones for a question already
 * answered (they still tell how fast that server is). */
#include "net/engine.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "dns/msg.h"
#include "net/plan.h"
#include "net/rand.h"
#include "net/table.h"
#include "net/tcp.h"
#include "net/transport.h"

/* glibc's RESOLV_EDNS_BUFFER_SIZE: the payload size it advertises with
 * `options edns0`. fastres advertises the same so replies match. */
#define EXCHANGE_EDNS_SIZE 1200
#define EXCHANGE_MAX_LANES (FR_ENGINE_MAX_QUESTIONS * FR_MAX_SERVERS)
#define US_PER_MS 1000u
/* Floor of a TCP question's re-send time: below it, a question pending on
 * a busy connection (threads waiting their turn to read, a loaded host, a
 * server answering pipelined questions one by one) is no sign of a lost
 * segment. */
#define EXCHANGE_TCP_RTO_MIN_US (10u * US_PER_MS)

static struct {
    _Atomic uint64_t questions, sent, won, failed;
} stats;

void fr_engine_stats(struct fr_engine_stats *out)
{
    out->questions = atomic_load(&stats.questions);
    out->sent = atomic_load(&stats.sent);
    out->won = atomic_load(&stats.won);
    out->failed = atomic_load(&stats.failed);
    out->sockets_open = fr_transport_sockets_open();
}

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

/* One send: its own callback argument, so its reply's round trip is
 * measured from its own departure. */
struct send {
    struct lane *lane;
    uint64_t sent_us;
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

static void question_finish(struct question_state *q, enum fr_status st)
{
    if (q->done)
        return;
    q->done = 1;
    q->x->finished_since = 1;
    q->out->status = st;
    q->out->finished = 1;
    atomic_fetch_add(st == FR_OK ? &stats.won : &stats.failed, 1);
}

/* A question fails early when every server is out of attempts and none
 * has a send that could still be answered. */
static void question_check_exhausted(struct question_state *q)
{
    int all_refused = 1;
    for (unsigned i = 0; i < q->nlanes; i++) {
        if (!q->lanes[i].done || q->lanes[i].outstanding)
            return;
        if (q->lanes[i].refused != q->lanes[i].bad)
            all_refused = 0;
    }
    q->out->conn_refused = all_refused && q->out->fail_rcode < 0;
    question_finish(q, FR_AGAIN);
}

static void lane_send(struct lane *l, uint64_t now_us);

/* A lane that cannot be opened has failed for good, like a server that
 * refuses: the others carry on. */
static int lane_open_udp(struct lane *l);

static void lane_start(struct lane *l, uint64_t now_us)
{
    l->started = 1;
    if (!l->tcp && lane_open_udp(l))
        return;
    lane_send(l, now_us);
}

/* Start the next server of the plan now, e.g. because one answered
 * SERVFAIL: no point waiting out the hedge delay. */
static void start_next(struct question_state *q, uint64_t now_us)
{
    for (unsigned i = 0; i < q->nlanes; i++) {
        struct lane *l = &q->lanes[i];
        if (!l->started) {
            l->start_us = now_us;
            return;
        }
    }
}

static enum fr_table_event rcode_event(int rcode)
{
    switch (rcode) {
    case FR_RCODE_SERVFAIL:
        return FR_TABLE_SERVFAIL;
    case FR_RCODE_REFUSED:
        return FR_TABLE_REFUSED;
    case FR_RCODE_FORMERR:
        return FR_TABLE_FORMERR;
    default:
        return FR_TABLE_BADREPLY;
    }
}

/* One send's outcome, from either transport: status is c-ares's. */
static void lane_reply(struct lane *l, uint64_t sent_us, int status, const unsigned char *abuf, int alen)
{
    struct question_state *q = l->q;
    struct exchange *x = q->x;
    if (l->outstanding)
        l->outstanding--;
    if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED)
        return;

    uint64_t now = fr_clock_mono_us();
    enum fr_table_event ev = FR_TABLE_BADREPLY;
    int rcode = -1;
    if (status == ARES_SUCCESS && abuf && alen > 0) {
        struct fr_msg_hdr h;
        if (fr_msg_header(abuf, (size_t)alen, &h) == FR_OK) {
            rcode = (int)FR_MSG_RCODE(&h);
            if ((rcode == FR_RCODE_NOERROR || rcode == FR_RCODE_NXDOMAIN) && !FR_MSG_TC(&h) &&
                fr_msg_validate(abuf, (size_t)alen) == FR_OK)
                ev = FR_TABLE_ANSWER;
            else if (rcode != FR_RCODE_NOERROR && rcode != FR_RCODE_NXDOMAIN)
                ev = rcode_event(rcode);
        } else if (alen >= 4) {
            rcode = abuf[3] & 0xf;
        }
    } else if (status == ARES_ECONNREFUSED && l->t.open_errno) {
        /* c-ares could not open a socket (out of descriptors or memory)
         * and reports it as "could not contact the servers": fastres
         * cannot answer as glibc would; libc gets the call. */
        if (!q->done)
            question_finish(q, FR_PUNT);
        return;
    } else if (status == ARES_ECONNREFUSED) {
        ev = FR_TABLE_CONNREFUSED;
    }

    if (ev == FR_TABLE_ANSWER) {
        /* sent_us 0: no round trip to take from this reply (see its caller). */
        uint64_t rtt = sent_us ? now - sent_us : 0;
        fr_table_record(x->gen, l->server, sent_us ? FR_TABLE_ANSWER : FR_TABLE_ANSWER_UNTIMED,
                        rtt > UINT32_MAX ? UINT32_MAX : (uint32_t)rtt, now);
        if (q->done)
            return;   /* a late reply: measured, not needed */
        uint8_t *copy = malloc((size_t)alen);
        if (!copy) {
            question_finish(q, FR_NOMEM);
            return;
        }
        memcpy(copy, abuf, (size_t)alen);
        q->out->answer = copy;
        q->out->answer_len = (size_t)alen;
        fr_table_record(x->gen, l->server, FR_TABLE_WON, 0, now);
        question_finish(q, FR_OK);
        return;
    }

    fr_table_record(x->gen, l->server, ev, 0, now);
    if (q->done)
        return;
    if (status == ARES_SUCCESS) {
        if (rcode >= 0)
            q->out->fail_rcode = rcode;
        fr_log(FR_LOG_DEBUG, "exchange", "%s: unusable reply (rcode %d, %d bytes) for %s",
               x->cfg->servers[l->server].text, rcode, alen, q->out->name);
    } else {
        if (status == ARES_ECONNREFUSED)
            l->refused++;
        fr_log(FR_LOG_DEBUG, "exchange", "%s: %s for %s", x->cfg->servers[l->server].text,
               ares_strerror(status), q->out->name);
    }
    /* SERVFAIL, REFUSED, FORMERR, malformed, unreachable: never a winner
     * while another server may answer. */
    start_next(q, now);
    l->bad++;
    if (l->bad >= x->cfg->attempts) {
        l->done = 1;
        /* glibc would not have waited for this server: neither do we. */
        uint64_t budget = (uint64_t)x->cfg->server_budget_ms[l->server] * US_PER_MS;
        q->deadline_us = q->deadline_us > x->start_us + budget ? q->deadline_us - budget : x->start_us;
    } else {
        lane_send(l, now);
    }
    question_check_exhausted(q);
}

static void on_reply(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    (void)timeouts;
    struct send *sd = arg;
    struct lane *l = sd->lane;
    uint64_t sent_us = sd->sent_us;
    free(sd);
    lane_reply(l, sent_us, status, abuf, alen);
}

static int lane_open_udp(struct lane *l)
{
    const struct fr_config *cfg = l->q->x->cfg;
    l->tcp = 0;
    if (l->t.ch)
        return 0;
    if (fr_transport_open(&l->t, &cfg->servers[l->server], cfg->use_vc)) {
        fr_log(FR_LOG_WARN, "exchange", "%s: cannot open a channel; not asked", cfg->servers[l->server].text);
        l->done = 1;
        return -1;
    }
    return 0;
}

/* Over the shared connection; 0, or -1 when the server cannot be asked
 * over TCP now (the caller then asks it over UDP). */
static int lane_send_tcp(struct lane *l, uint64_t now_us)
{
    struct question_state *q = l->q;
    struct tsend *ts = calloc(1, sizeof *ts);
    if (!ts)
        return -1;
    uint16_t id = fr_rand_id();
    q->qbuf[0] = (unsigned char)(id >> 8);
    q->qbuf[1] = (unsigned char)id;
    if (fr_tcp_send(&q->x->cfg->servers[l->server], q->qbuf, (size_t)q->qlen, &ts->tq, now_us)) {
        free(ts);
        return -1;
    }
    ts->sent_us = now_us;
    ts->next = l->tsends;
    l->tsends = ts;
    return 0;
}

static void lane_count_send(struct lane *l, uint64_t now_us)
{
    struct question_state *q = l->q;
    l->outstanding++;
    l->next_send_us = now_us + l->interval_us;
    q->out->sent++;
    atomic_fetch_add(&stats.sent, 1);
    fr_table_record(q->x->gen, l->server, FR_TABLE_SENT, 0, now_us);
}

static void lane_send(struct lane *l, uint64_t now_us)
{
    struct question_state *q = l->q;
    if (l->done)
        return;
    if (l->tcp) {
        if (lane_send_tcp(l, now_us) == 0) {
            lane_count_send(l, now_us);
            return;
        }
        /* Not accepting connections (or no descriptor): UDP, at once. */
        fr_log(FR_LOG_DEBUG, "exchange", "%s: cannot ask over TCP; UDP", q->x->cfg->servers[l->server].text);
        if (lane_open_udp(l))
            return;
    }
    if (!l->t.ch)
        return;
    struct send *sd = malloc(sizeof *sd);
    if (!sd)
        return;   /* the re-send timer tries again */
    sd->lane = l;
    sd->sent_us = now_us;
    /* Counted first: c-ares may call back before ares_send returns. */
    lane_count_send(l, now_us);
    fr_transport_send(&l->t, q->qbuf, q->qlen, on_reply, sd);
}

/* The re-send time of a started lane has come: the reply is late. */
static void lane_late(struct lane *l, uint64_t now_us)
{
    const struct fr_config *cfg = l->q->x->cfg;
    if (l->outstanding)
        fr_table_record(l->q->x->gen, l->server, FR_TABLE_TIMEOUT, 0, now_us);
    l->late_us = now_us;
    uint64_t next = (uint64_t)l->interval_us * 2;
    uint64_t cap = (uint64_t)cfg->resend_max_ms * US_PER_MS;
    if (cap < l->interval_us)
        cap = l->interval_us;   /* an RTO above the cap is not shortened */
    /* Over TCP, a late reply most likely sits behind a lost segment: the
     * stream waits for TCP's own retransmission (200 ms at least on
     * Linux), and a re-send on it would wait behind the same hole. The
     * re-send goes over UDP, as in UDP mode; the TCP question stays
     * open and may still answer first. */
    if (l->tcp) {
        fr_log(FR_LOG_DEBUG, "exchange", "%s: late over TCP; UDP", cfg->servers[l->server].text);
        fr_tcp_mark_late(&l->q->x->cfg->servers[l->server], now_us);
        if (lane_open_udp(l))
            return;
    }
    lane_send(l, now_us);
    l->interval_us = (uint32_t)(next > cap ? cap : next);
}

/* Names the engine can put on the wire the way glibc's res_mkquery would:
 * labels of 1..63 octets, at most 253 characters, no backslash escapes
 * (c-ares 1.18 does not decode \DDD as ns_name_pton does). */
static int name_ok(const char *name)
{
    size_t len = strlen(name), label = 0;
    if (len && name[len - 1] == '.')
        len--;
    if (len == 0)
        return 1;   /* the root */
    if (len > FR_MSG_NAME_MAX - 2)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (name[i] == '\\')
            return 0;
        if (name[i] == '.') {
            if (label == 0)
                return 0;
            label = 0;
        } else if (++label > 63) {
            return 0;
        }
    }
    return label > 0;
}

static enum fr_status question_setup(struct exchange *x, struct question_state *q, struct fr_question *out)
{
    const struct fr_config *cfg = x->cfg;
    q->x = x;
    q->out = out;
    out->status = FR_AGAIN;
    out->answer = NULL;
    out->answer_len = 0;
    out->sent = 0;
    out->fail_rcode = -1;
    out->conn_refused = 0;
    out->finished = 0;
    out->abandoned = 0;
    int rc = ARES_SUCCESS;
    if (out->query) {
        if (out->query_len < 12 || out->query_len > FR_MSG_MAX)
            return FR_PUNT;
        q->qbuf = malloc(out->query_len);
        if (!q->qbuf)
            return FR_NOMEM;
        memcpy(q->qbuf, out->query, out->query_len);
        q->qlen = (int)out->query_len;
        q->qbuf_copy = 1;
    } else {
        rc = name_ok(out->name) ? ares_create_query(out->name, out->qclass, out->qtype, 0, 1, &q->qbuf,
                                                    &q->qlen, cfg->edns0 ? EXCHANGE_EDNS_SIZE : 0)
                                : ARES_EBADNAME;
    }
    if (rc != ARES_SUCCESS) {
        q->done = 1;
        /* Out of memory is no verdict on the name: the call goes to libc. */
        out->status = rc == ARES_ENOMEM ? FR_NOMEM : FR_BADNAME;
        out->finished = 1;
        return rc == ARES_ENOMEM ? FR_NOMEM : FR_OK;
    }
    if (cfg->trust_ad && !out->query && q->qlen > 3)
        q->qbuf[3] |= 0x20;   /* AD bit, as glibc sets with trust-ad */
    q->nlanes = x->plan.n;
    for (unsigned i = 0; i < q->nlanes; i++) {
        struct lane *l = &q->lanes[i];
        const struct fr_plan_step *s = &x->plan.step[i];
        l->q = q;
        l->server = s->server;
        l->start_us = x->start_us + s->start_us;
        l->interval_us = s->rto_us;
        l->tcp = cfg->tcp && fr_tcp_usable(&cfg->servers[l->server], x->start_us);
        /* Over TCP a reply is late only when the stream stalls (loss is
         * TCP's to repair): threads queueing for the reader role on a busy
         * host must not look like loss and send the question over UDP. */
        if (l->tcp && l->interval_us < EXCHANGE_TCP_RTO_MIN_US)
            l->interval_us = EXCHANGE_TCP_RTO_MIN_US;
        /* Servers asked at once over UDP are opened now, so that a failure
         * to set up sends the call to libc rather than half-asking. */
        if (!l->tcp && s->start_us == 0 && fr_transport_open(&l->t, &cfg->servers[l->server], cfg->use_vc))
            return FR_PUNT;
    }
    return FR_OK;
}

static void question_teardown(struct question_state *q)
{
    for (unsigned i = 0; i < q->nlanes; i++) {
        struct lane *l = &q->lanes[i];
        fr_transport_close(&l->t);
        while (l->tsends) {
            struct tsend *ts = l->tsends;
            l->tsends = ts->next;
            fr_tcp_forget(&ts->tq);
            if (!ts->delivered)
                free(ts->tq.reply);
            free(ts);
        }
    }
    if (q->qbuf && q->qbuf_copy)
        free(q->qbuf);
    else if (q->qbuf)
        ares_free_string(q->qbuf);
}

static void plan_for(struct exchange *x, uint64_t now_us)
{
    const struct fr_config *cfg = x->cfg;
    struct fr_server_view views[FR_MAX_SERVERS];
    struct fr_plan_params p = {
        .race = cfg->race,
        .hedge_min_us = cfg->hedge_min_ms * US_PER_MS,
        .hedge_max_us = cfg->hedge_max_ms * US_PER_MS,
        .resend_us = cfg->resend_ms * US_PER_MS,
        .resend_max_us = cfg->resend_max_ms * US_PER_MS,
    };
    x->gen = fr_table_snapshot(cfg, now_us, views);
    fr_plan_make(views, cfg->nservers, &p, &x->plan);
}

/* Hand the TCP replies that have come in (another thread may have read
 * them) to their lanes; re-send what a lost connection took with it. */
static void question_tcp_outcomes(struct question_state *q, uint64_t now_us)
{
    for (unsigned k = 0; k < q->nlanes && !q->done; k++) {
        struct lane *l = &q->lanes[k];
        for (struct tsend *ts = l->tsends; ts && !q->done; ts = ts->next) {
            if (ts->delivered || !fr_tcp_done(&ts->tq))
                continue;
            ts->delivered = 1;
            if (ts->tq.err == 0) {
                /* Karn's rule: a reply that came after this question was
                 * late (and asked again) gives no round trip: over TCP it
                 * most likely waited for a retransmitted segment. */
                uint64_t timed = l->late_us > ts->sent_us ? 0 : ts->sent_us;
                lane_reply(l, timed, ARES_SUCCESS, ts->tq.reply, (int)ts->tq.reply_len);
            } else if (ts->tq.err == ECONNREFUSED) {
                lane_reply(l, ts->sent_us, ARES_ECONNREFUSED, NULL, 0);
            } else {
                /* Lost with its connection (reset, closed, not ours any
                 * more): asked again at once, on a new one or over UDP. */
                if (l->outstanding)
                    l->outstanding--;
                if (!l->done)
                    lane_send(l, now_us);
            }
            free(ts->tq.reply);
            ts->tq.reply = NULL;
        }
    }
}

static int question_uses_tcp(const struct question_state *q)
{
    for (unsigned k = 0; k < q->nlanes; k++)
        if (q->lanes[k].tsends && !q->lanes[k].done)
            return 1;
    return 0;
}

/* Run the due sends of one question; lower *wake to its next timer. */
static void question_tick(struct question_state *q, uint64_t now, uint64_t *wake)
{
    for (unsigned k = 0; k < q->nlanes && !q->done; k++) {
        struct lane *l = &q->lanes[k];
        if (l->done)
            continue;
        if (!l->started) {
            if (now >= l->start_us)
                lane_start(l, now);
        } else if (now >= l->next_send_us) {
            lane_late(l, now);
        }
        if (q->done || l->done)
            continue;
        uint64_t t = l->started ? l->next_send_us : l->start_us;
        if (t < *wake)
            *wake = t;
    }
    if (!q->done)
        question_check_exhausted(q);
}

/* Once one question of a group has its answer, the others get as long
 * again as the first took plus one maximal re-send interval, not the
 * whole deadline: glibc likewise returns the first answer alone when the
 * second times out (res_send.c send_dg), and a server that drops AAAA
 * questions must not cost the full deadline. */
static void group_grace(struct exchange *x, uint64_t now, uint64_t *first_win)
{
    const struct fr_config *cfg = x->cfg;
    for (unsigned i = 0; i < x->nq; i++) {
        struct question_state *q = &x->qs[i];
        if (!q->done || q->out->status != FR_OK || first_win[i])
            continue;
        first_win[i] = now;
        uint64_t grace = now + (now - x->start_us) + (uint64_t)cfg->resend_max_ms * US_PER_MS;
        for (unsigned k = 0; k < x->nq; k++)
            if (x->qs[k].out->group == q->out->group && x->qs[k].deadline_us > grace)
                x->qs[k].deadline_us = grace;
    }
}

enum fr_status fr_engine_race(const struct fr_config *cfg, struct fr_question *qs, unsigned n)
{
    return fr_engine_ask(cfg, qs, n, NULL, NULL);
}

enum fr_status fr_engine_ask(const struct fr_config *cfg, struct fr_question *qs, unsigned n,
                             fr_engine_settled_fn settled, void *arg)
{
    struct exchange x;
    enum fr_status ret = FR_OK;
    memset(&x, 0, sizeof x);
    x.cfg = cfg;
    if (n == 0 || n > FR_ENGINE_MAX_QUESTIONS || cfg->nservers == 0)
        return FR_PUNT;
    if (!fr_transport_ready())
        return FR_PUNT;

    x.start_us = fr_clock_mono_us();
    plan_for(&x, x.start_us);
    x.nq = n;
    uint64_t deadline = x.start_us + (uint64_t)cfg->deadline_ms * US_PER_MS;
    for (unsigned i = 0; i < n; i++) {
        atomic_fetch_add(&stats.questions, 1);
        x.qs[i].deadline_us = deadline;
        ret = question_setup(&x, &x.qs[i], &qs[i]);
        if (ret != FR_OK)
            goto done;
    }

    uint64_t first_win[FR_ENGINE_MAX_QUESTIONS] = { 0 };
    for (;;) {
        uint64_t now = fr_clock_mono_us();
        int pending = 0;
        group_grace(&x, now, first_win);
        uint64_t wake = UINT64_MAX;
        for (unsigned i = 0; i < n; i++) {
            struct question_state *q = &x.qs[i];
            if (!q->done && now >= q->deadline_us)
                question_finish(q, FR_AGAIN);
            if (q->done)
                continue;
            if (q->deadline_us < wake)
                wake = q->deadline_us;
            question_tick(q, now, &wake);
            if (!q->done)
                pending = 1;
        }
        if (pending && settled && x.finished_since) {
            x.finished_since = 0;
            if (settled(arg)) {
                for (unsigned i = 0; i < n; i++)
                    if (!x.qs[i].done) {
                        qs[i].abandoned = 1;
                        question_finish(&x.qs[i], FR_AGAIN);
                    }
                break;
            }
        }
        if (!pending)
            break;

        struct pollfd pfd[EXCHANGE_MAX_LANES * FR_TRANSPORT_SOCKS + FR_TCP_POLLFDS];
        struct {
            struct fr_transport *t;
            unsigned first, n;
        } own[EXCHANGE_MAX_LANES];
        unsigned np = 0, nown = 0;
        uint64_t now_ms = now / US_PER_MS, wake_ms = UINT64_MAX;
        for (unsigned i = 0; i < n; i++) {
            struct question_state *q = &x.qs[i];
            if (q->done)
                continue;
            for (unsigned k = 0; k < q->nlanes; k++) {
                struct fr_transport *t = &q->lanes[k].t;
                if (!t->ch)
                    continue;
                own[nown].t = t;
                own[nown].first = np;
                own[nown].n = fr_transport_pollfds(t, pfd + np, now_ms, &wake_ms);
                np += own[nown].n;
                nown++;
            }
        }
        if (wake_ms != UINT64_MAX && wake_ms * US_PER_MS < wake)
            wake = wake_ms * US_PER_MS;
        unsigned tcp_first = np, ntcp = 0;
        int reader = 0, tcp = 0;
        for (unsigned i = 0; i < n && !tcp; i++)
            tcp = !x.qs[i].done && question_uses_tcp(&x.qs[i]);
        if (tcp) {
            ntcp = fr_tcp_pollfds(pfd + np, &reader);
            np += ntcp;
            /* Without a wake-up pipe, look again every millisecond. */
            if (!ntcp && wake > now + US_PER_MS)
                wake = now + US_PER_MS;
        }
        uint64_t wait = wake > now ? wake - now : 0;
        struct timespec ts = { (time_t)(wait / 1000000u), (long)(wait % 1000000u) * 1000L };
        int rc = ppoll(pfd, np, &ts, NULL);
        if (rc < 0 && errno != EINTR) {
            fr_log(FR_LOG_ERROR, "exchange", "poll: %s", strerror(errno));
            for (unsigned i = 0; i < n; i++)
                question_finish(&x.qs[i], FR_AGAIN);
            break;
        }
        for (unsigned o = 0; o < nown; o++)
            fr_transport_process(own[o].t, pfd + own[o].first, rc > 0 ? own[o].n : 0);
        if (tcp) {
            uint64_t t = fr_clock_mono_us();
            fr_tcp_process(pfd + tcp_first, ntcp, reader, t);
            for (unsigned i = 0; i < n; i++)
                question_tcp_outcomes(&x.qs[i], t);
        }
    }

done:
    for (unsigned i = 0; i < n; i++) {
        question_teardown(&x.qs[i]);
        if (ret != FR_OK) {
            free(qs[i].answer);
            qs[i].answer = NULL;
        }
    }
    return ret;
}
