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
 * answered (they still tell how fast that server is).
 * This file holds the call (set-up, poll loop, deadlines, groups, the
 * early end, teardown); exchange_lane.c the lanes (one server for one
 * question). */
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
#include "net/exchange_int.h"
#include "net/plan.h"
#include "net/table.h"
#include "net/tcp.h"
#include "net/transport.h"

/* glibc's RESOLV_EDNS_BUFFER_SIZE: the payload size it advertises with
 * `options edns0`. fastres advertises the same so replies match. */
#define EXCHANGE_EDNS_SIZE 1200
#define EXCHANGE_MAX_LANES (FR_ENGINE_MAX_QUESTIONS * FR_MAX_SERVERS)

struct fr_exchange_counters fr_exchange_stats;

void fr_engine_stats(struct fr_engine_stats *out)
{
    out->questions = atomic_load(&fr_exchange_stats.questions);
    out->sent = atomic_load(&fr_exchange_stats.sent);
    out->won = atomic_load(&fr_exchange_stats.won);
    out->failed = atomic_load(&fr_exchange_stats.failed);
    out->sockets_open = fr_transport_sockets_open();
}

void fr_exchange_finish(struct question_state *q, enum fr_status st)
{
    if (q->done)
        return;
    q->done = 1;
    q->x->finished_since = 1;
    q->out->status = st;
    q->out->finished = 1;
    atomic_fetch_add(st == FR_OK ? &fr_exchange_stats.won : &fr_exchange_stats.failed, 1);
}

/* Names the engine can put on the wire the way glibc's res_mkquery would:
 * labels of 1..63 octets, at most 253 characters, no backslash escapes
 * (c-ares 1.18 does not decode \DDD as ns_name_pton does). */
static int exchange_name_ok(const char *name)
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

static enum fr_status exchange_question_setup(struct exchange *x, struct question_state *q, struct fr_question *out)
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
        rc = exchange_name_ok(out->name) ? ares_create_query(out->name, out->qclass, out->qtype, 0, 1, &q->qbuf,
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

static void exchange_question_teardown(struct question_state *q)
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

static void exchange_plan(struct exchange *x, uint64_t now_us)
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

/* Once one question of a group has its answer, the others get as long
 * again as the first took plus one maximal re-send interval, not the
 * whole deadline: glibc likewise returns the first answer alone when the
 * second times out (res_send.c send_dg), and a server that drops AAAA
 * questions must not cost the full deadline. */
static void exchange_group_grace(struct exchange *x, uint64_t now, uint64_t *first_win)
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

/* Deadlines, group grace and each question's lanes at now: starts and
 * re-sends that are due. 1 while a question is still pending; *wake is
 * lowered to the next moment something is due. */
static int exchange_tick_all(struct exchange *x, uint64_t now, uint64_t *first_win, uint64_t *wake)
{
    int pending = 0;
    exchange_group_grace(x, now, first_win);
    for (unsigned i = 0; i < x->nq; i++) {
        struct question_state *q = &x->qs[i];
        if (!q->done && now >= q->deadline_us)
            fr_exchange_finish(q, FR_AGAIN);
        if (q->done)
            continue;
        if (q->deadline_us < *wake)
            *wake = q->deadline_us;
        fr_exchange_tick(q, now, wake);
        if (!q->done)
            pending = 1;
    }
    return pending;
}

/* The caller's settled callback, once questions have finished since it
 * last looked: 1 when it ends the call (the questions still open are
 * abandoned). */
static int exchange_settle(struct exchange *x, struct fr_question *qs, fr_engine_settled_fn settled,
                           void *arg)
{
    x->finished_since = 0;
    if (!settled(arg))
        return 0;
    for (unsigned i = 0; i < x->nq; i++)
        if (!x->qs[i].done) {
            qs[i].abandoned = 1;
            fr_exchange_finish(&x->qs[i], FR_AGAIN);
        }
    return 1;
}

/* One wait for the sockets of every open lane (c-ares's and the
 * persistent TCP connections'), until wake at the latest, and what came
 * in handed to them. -1 when poll itself failed (every question ends). */
static int exchange_poll(struct exchange *x, uint64_t now, uint64_t wake)
{
    struct pollfd pfd[EXCHANGE_MAX_LANES * FR_TRANSPORT_SOCKS + FR_TCP_POLLFDS];
    struct {
        struct fr_transport *t;
        unsigned first, n;
    } own[EXCHANGE_MAX_LANES];
    unsigned np = 0, nown = 0;
    uint64_t now_ms = now / US_PER_MS, wake_ms = UINT64_MAX;
    for (unsigned i = 0; i < x->nq; i++) {
        struct question_state *q = &x->qs[i];
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
    for (unsigned i = 0; i < x->nq && !tcp; i++)
        tcp = !x->qs[i].done && fr_exchange_uses_tcp(&x->qs[i]);
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
        for (unsigned i = 0; i < x->nq; i++)
            fr_exchange_finish(&x->qs[i], FR_AGAIN);
        return -1;
    }
    for (unsigned o = 0; o < nown; o++)
        fr_transport_process(own[o].t, pfd + own[o].first, rc > 0 ? own[o].n : 0);
    if (tcp) {
        uint64_t t = fr_clock_mono_us();
        fr_tcp_process(pfd + tcp_first, ntcp, reader, t);
        for (unsigned i = 0; i < x->nq; i++)
            fr_exchange_tcp_outcomes(&x->qs[i], t);
    }
    return 0;
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
    exchange_plan(&x, x.start_us);
    x.nq = n;
    uint64_t deadline = x.start_us + (uint64_t)cfg->deadline_ms * US_PER_MS;
    for (unsigned i = 0; i < n; i++) {
        atomic_fetch_add(&fr_exchange_stats.questions, 1);
        x.qs[i].deadline_us = deadline;
        ret = exchange_question_setup(&x, &x.qs[i], &qs[i]);
        if (ret != FR_OK)
            goto done;
    }

    /* Until every question has ended: what is due, the caller's verdict,
     * then one wait for replies. */
    uint64_t first_win[FR_ENGINE_MAX_QUESTIONS] = { 0 };
    for (;;) {
        uint64_t now = fr_clock_mono_us(), wake = UINT64_MAX;
        int pending = exchange_tick_all(&x, now, first_win, &wake);
        if (pending && settled && x.finished_since && exchange_settle(&x, qs, settled, arg))
            break;
        if (!pending || exchange_poll(&x, now, wake) != 0)
            break;
    }

done:
    for (unsigned i = 0; i < n; i++) {
        exchange_question_teardown(&x.qs[i]);
        if (ret != FR_OK) {
            free(qs[i].answer);
            qs[i].answer = NULL;
        }
    }
    return ret;
}
