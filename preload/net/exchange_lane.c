/* fastres network layer: the lanes of one question (internal to the
 * exchange, see exchange_int.h).
 *
 * A lane is one server for one question. It starts when the plan says (or
 * at once when another server gave an unusable reply), sends through
 * c-ares over UDP or over the shared TCP connection, re-sends when its
 * reply is late by its RTO (doubling, capped at FASTRES_RESEND_MAX_MS;
 * a late TCP question is asked again over UDP), and judges every reply:
 * only NOERROR/NXDOMAIN, well formed, not truncated, wins; anything else
 * makes it ask again while it has `attempts` left. Every send and outcome
 * is recorded in the server table. */
#include "net/exchange_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "dns/msg.h"
#include "net/rand.h"
#include "net/table.h"

/* One send: its own callback argument, so its reply's round trip is
 * measured from its own departure. */
struct send {
    struct lane *lane;
    uint64_t sent_us;
};

/* A question fails early when every server is out of attempts and none
 * has a send that could still be answered. */
static void exchange_question_check_exhausted(struct question_state *q)
{
    int all_refused = 1;
    for (unsigned i = 0; i < q->nlanes; i++) {
        if (!q->lanes[i].done || q->lanes[i].outstanding)
            return;
        if (q->lanes[i].refused != q->lanes[i].bad)
            all_refused = 0;
    }
    q->out->conn_refused = all_refused && q->out->fail_rcode < 0;
    fr_exchange_finish(q, FR_AGAIN);
}

static void exchange_lane_send(struct lane *l, uint64_t now_us);

/* A lane that cannot be opened has failed for good, like a server that
 * refuses: the others carry on. */
static int exchange_lane_open_udp(struct lane *l);

static void exchange_lane_start(struct lane *l, uint64_t now_us)
{
    l->started = 1;
    if (!l->tcp && exchange_lane_open_udp(l))
        return;
    exchange_lane_send(l, now_us);
}

/* Start the next server of the plan now, e.g. because one answered
 * SERVFAIL: no point waiting out the hedge delay. */
static void exchange_lane_start_next(struct question_state *q, uint64_t now_us)
{
    for (unsigned i = 0; i < q->nlanes; i++) {
        struct lane *l = &q->lanes[i];
        if (!l->started) {
            l->start_us = now_us;
            return;
        }
    }
}

static enum fr_table_event exchange_lane_rcode_event(int rcode)
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
static void exchange_lane_reply(struct lane *l, uint64_t sent_us, int status, const unsigned char *abuf, int alen)
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
                ev = exchange_lane_rcode_event(rcode);
        } else if (alen >= 4) {
            rcode = abuf[3] & 0xf;
        }
    } else if (status == ARES_ECONNREFUSED && l->t.open_errno) {
        /* c-ares could not open a socket (out of descriptors or memory)
         * and reports it as "could not contact the servers": fastres
         * cannot answer as glibc would; libc gets the call. */
        if (!q->done)
            fr_exchange_finish(q, FR_PUNT);
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
            fr_exchange_finish(q, FR_NOMEM);
            return;
        }
        memcpy(copy, abuf, (size_t)alen);
        q->out->answer = copy;
        q->out->answer_len = (size_t)alen;
        fr_table_record(x->gen, l->server, FR_TABLE_WON, 0, now);
        fr_exchange_finish(q, FR_OK);
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
    exchange_lane_start_next(q, now);
    l->bad++;
    if (l->bad >= x->cfg->attempts) {
        l->done = 1;
        /* glibc would not have waited for this server: neither do we. */
        uint64_t budget = (uint64_t)x->cfg->server_budget_ms[l->server] * US_PER_MS;
        q->deadline_us = q->deadline_us > x->start_us + budget ? q->deadline_us - budget : x->start_us;
    } else {
        exchange_lane_send(l, now);
    }
    exchange_question_check_exhausted(q);
}

static void exchange_lane_on_reply(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    (void)timeouts;
    struct send *sd = arg;
    struct lane *l = sd->lane;
    uint64_t sent_us = sd->sent_us;
    free(sd);
    exchange_lane_reply(l, sent_us, status, abuf, alen);
}

static int exchange_lane_open_udp(struct lane *l)
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
static int exchange_lane_send_tcp(struct lane *l, uint64_t now_us)
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

static void exchange_lane_count_send(struct lane *l, uint64_t now_us)
{
    struct question_state *q = l->q;
    l->outstanding++;
    l->next_send_us = now_us + l->interval_us;
    q->out->sent++;
    atomic_fetch_add(&fr_exchange_stats.sent, 1);
    fr_table_record(q->x->gen, l->server, FR_TABLE_SENT, 0, now_us);
}

static void exchange_lane_send(struct lane *l, uint64_t now_us)
{
    struct question_state *q = l->q;
    if (l->done)
        return;
    if (l->tcp) {
        if (exchange_lane_send_tcp(l, now_us) == 0) {
            exchange_lane_count_send(l, now_us);
            return;
        }
        /* Not accepting connections (or no descriptor): UDP, at once. */
        fr_log(FR_LOG_DEBUG, "exchange", "%s: cannot ask over TCP; UDP", q->x->cfg->servers[l->server].text);
        if (exchange_lane_open_udp(l))
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
    exchange_lane_count_send(l, now_us);
    fr_transport_send(&l->t, q->qbuf, q->qlen, exchange_lane_on_reply, sd);
}

/* The re-send time of a started lane has come: the reply is late. */
static void exchange_lane_late(struct lane *l, uint64_t now_us)
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
        if (exchange_lane_open_udp(l))
            return;
    }
    exchange_lane_send(l, now_us);
    l->interval_us = (uint32_t)(next > cap ? cap : next);
}

/* Hand the TCP replies that have come in (another thread may have read
 * them) to their lanes; re-send what a lost connection took with it. */
void fr_exchange_tcp_outcomes(struct question_state *q, uint64_t now_us)
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
                exchange_lane_reply(l, timed, ARES_SUCCESS, ts->tq.reply, (int)ts->tq.reply_len);
            } else if (ts->tq.err == ECONNREFUSED) {
                exchange_lane_reply(l, ts->sent_us, ARES_ECONNREFUSED, NULL, 0);
            } else {
                /* Lost with its connection (reset, closed, not ours any
                 * more): asked again at once, on a new one or over UDP. */
                if (l->outstanding)
                    l->outstanding--;
                if (!l->done)
                    exchange_lane_send(l, now_us);
            }
            free(ts->tq.reply);
            ts->tq.reply = NULL;
        }
    }
}

int fr_exchange_uses_tcp(const struct question_state *q)
{
    for (unsigned k = 0; k < q->nlanes; k++)
        if (q->lanes[k].tsends && !q->lanes[k].done)
            return 1;
    return 0;
}

/* Run the due sends of one question; lower *wake to its next timer. */
void fr_exchange_tick(struct question_state *q, uint64_t now, uint64_t *wake)
{
    for (unsigned k = 0; k < q->nlanes && !q->done; k++) {
        struct lane *l = &q->lanes[k];
        if (l->done)
            continue;
        if (!l->started) {
            if (now >= l->start_us)
                exchange_lane_start(l, now);
        } else if (now >= l->next_send_us) {
            exchange_lane_late(l, now);
        }
        if (q->done || l->done)
            continue;
        uint64_t t = l->started ? l->next_send_us : l->start_us;
        if (t < *wake)
            *wake = t;
    }
    if (!q->done)
        exchange_question_check_exhausted(q);
}
