/* fastres lookup layer: the search list (see resolve.h): asking the
 * candidates, alone or ahead of need, as glibc's walk (resolve_walk.c)
 * calls for them. */
#include "lookup/resolve.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lookup/ask.h"
#include "base/clock.h"
#include "base/log.h"
#include "lookup/refresh.h"
#include "lookup/resolve_int.h"
#include "net/table.h"
#include "net/tcp.h"

void fr_search_free(struct fr_search *s)
{
    for (unsigned i = 0; i < FR_ENGINE_PAIR; i++) {
        free(s->reply[i].msg);
        s->reply[i].msg = NULL;
        s->reply[i].len = 0;
    }
}

/* ------------------------------------------------------------------ */
/* The search list. glibc's __res_context_search asks candidates one after
 * another and stops at the first that answers or fails in a way it does
 * not go on from. fastres builds the same candidates, knows the outcome of
 * each once asked, and replays glibc's walk over those outcomes
 * (fr_resolve_walk, resolve_walk.c): the walk either ends, with exactly
 * glibc's result, or names the candidate whose outcome it needs next. That
 * candidate is then
 * asked, alone or with the candidates after it in glibc's order (see
 * resolve_search_parallel): an answer of a later candidate is used only when the
 * walk reaches it, i.e. when every candidate before it ended in a way at
 * which glibc goes on. */

/* Candidates kept on the stack (4.5 KiB): the name and three search
 * domains, as in a Kubernetes pod. Longer lists go on the heap, not on a
 * host program's possibly small thread stack. */
#define SEARCH_STACK_CANDS 4
/* How long a dotted name found through a search domain keeps dotted names
 * from being asked ahead (resolve_search_parallel): ten minutes, so that a program
 * that resolves in-cluster names like "svc.ns" pays extra queries once per
 * ten minutes, not on every lookup. */
#define SEARCH_DOTTED_HIT_MS (600u * 1000u)

/* Last time a dotted name was found in a search domain. */
static _Atomic uint64_t resolve_dotted_hit_ms;
static _Atomic uint64_t resolve_n_ahead;   /* candidates asked ahead of need */

/* Whether to ask the candidates after the needed one at the same time.
 * Only for a name with dots but fewer than ndots (in Kubernetes, with
 * ndots:5, that is almost always an outside name like api.example.com,
 * which glibc finds only after every search domain said NXDOMAIN): all
 * candidates at once cost the same queries as glibc's walk and one round
 * trip instead of four. A name without dots is most likely in the first
 * search domain (a service name) and goes one candidate at a time, as in
 * glibc; so do names glibc asks as they are first (dots >= ndots). Once a
 * dotted name was found through a search domain, dotted names go one at a
 * time for SEARCH_DOTTED_HIT_MS: this program resolves in-cluster dotted
 * names, and asking ahead would cost it queries glibc does not send. */
static int resolve_search_parallel(const struct search *s)
{
    if (!s->cfg->parallel_search || s->trailing || !s->dots || s->dots >= s->cfg->ndots)
        return 0;
    uint64_t hit = atomic_load(&resolve_dotted_hit_ms);
    return !hit || fr_clock_now_ms() - hit > SEARCH_DOTTED_HIT_MS;
}

struct settle_arg {
    const struct search *s;
};

/* During an engine call: would the walk end with what has come in? */
static int resolve_search_settled(void *arg, const struct fr_ask_item *it, unsigned n, const struct fr_question *race)
{
    const struct settle_arg *sa = arg;
    const struct search *s = sa->s;
    struct outcome o[SEARCH_MAX_CANDS];
    memcpy(o, s->out, s->ncand * sizeof o[0]);
    for (unsigned i = 0; i < n; i += s->n) {
        unsigned k = it[i].group;
        struct fr_reply rep[FR_ENGINE_PAIR];
        struct fr_ask_state qs[FR_ENGINE_PAIR];
        int known = 1;
        for (unsigned j = 0; j < s->n && known; j++) {
            const struct fr_ask_item *t = &it[i + j];
            if (t->race_idx >= 0) {
                const struct fr_question *q = &race[t->race_idx];
                known = q->finished;
                qs[j] = (struct fr_ask_state){ .st = q->status, .fail_rcode = q->fail_rcode,
                                         .conn_refused = q->conn_refused };
                rep[j] = (struct fr_reply){ q->answer, q->answer_len };
            } else if (t->qs->follow) {
                known = 0;   /* another thread's answer comes after the call */
            } else {
                qs[j] = *t->qs;
                rep[j] = *t->rep;
            }
        }
        if (known)
            fr_resolve_judge(rep, qs, s->n, &o[k]);
    }
    struct walk w;
    fr_resolve_walk(s, o, &w);
    return w.done;
}

/* Ask candidate `need` and, when asking ahead, the ones after it. */
static enum fr_status resolve_search_ask(struct search *s, unsigned need, uint16_t qclass)
{
    unsigned order[SEARCH_MAX_CANDS + 1], norder = fr_resolve_order(s, order);
    unsigned batch[FR_ENGINE_MAX_NAMES], nb = 0;
    batch[nb++] = need;
    if (resolve_search_parallel(s)) {
        unsigned pos = 0;
        while (pos < norder && order[pos] != need)
            pos++;
        for (pos++; pos < norder && nb < FR_ENGINE_MAX_NAMES; pos++) {
            unsigned k = order[pos];
            int dup = 0;
            for (unsigned b = 0; b < nb; b++)
                dup |= batch[b] == k;
            if (!dup && !s->out[k].known)
                batch[nb++] = k;
        }
    }
    struct fr_ask_item it[FR_ENGINE_MAX_QUESTIONS];
    unsigned ni = 0;
    for (unsigned b = 0; b < nb; b++) {
        struct cand *c = &s->cand[batch[b]];
        for (unsigned j = 0; j < s->n; j++) {
            free(c->rep[j].msg);
            c->rep[j] = (struct fr_reply){ 0 };
            it[ni++] = (struct fr_ask_item){
                .name = c->full, .qtype = s->qtypes[j], .group = batch[b], .speculative = b > 0,
                .rep = &c->rep[j], .qs = &c->qs[j],
            };
        }
    }
    if (nb > 1)
        atomic_fetch_add(&resolve_n_ahead, nb - 1);
    struct settle_arg sa = { s };
    enum fr_status st = fr_ask(s->cfg, it, ni, qclass, nb > 1 ? resolve_search_settled : NULL, &sa);
    if (st != FR_OK)
        return st;   /* FR_NOMEM / FR_PUNT */
    for (unsigned b = 0; b < nb; b++) {
        struct cand *c = &s->cand[batch[b]];
        int abandoned = 0;
        for (unsigned j = 0; j < s->n; j++)
            abandoned |= c->qs[j].abandoned;
        if (!abandoned)
            fr_resolve_judge(c->rep, c->qs, s->n, &s->out[batch[b]]);
    }
    return FR_OK;
}

static void resolve_search_move_replies(struct search *s, int k, struct fr_search *out)
{
    if (k < 0)
        return;
    for (unsigned j = 0; j < s->n; j++) {
        out->reply[j] = s->cand[k].rep[j];
        s->cand[k].rep[j] = (struct fr_reply){ 0 };
    }
}

static void resolve_search_free(struct search *s, struct cand *local)
{
    for (unsigned k = 0; k < s->ncand; k++)
        for (unsigned j = 0; j < FR_ENGINE_PAIR; j++)
            free(s->cand[k].rep[j].msg);
    if (s->cand != local)
        free(s->cand);
}

enum fr_status fr_resolve_search(const struct fr_config *cfg, const char *name, const uint16_t *qtypes,
                                 unsigned n, uint16_t qclass, int search, struct fr_search *out)
{
    enum fr_status ret;
    struct walk w;
    memset(out, 0, sizeof *out);
    out->residual = FR_NOTFOUND;
    if (n == 0 || n > FR_ENGINE_PAIR)
        return FR_PUNT;
    struct search search_state;
    struct search *s = &search_state;
    struct cand local[SEARCH_STACK_CANDS];
    s->dots = 0;
    s->ncand = search ? 1 + cfg->ndomains : 1;
    s->cand = s->ncand <= SEARCH_STACK_CANDS ? local : malloc(s->ncand * sizeof *s->cand);
    if (!s->cand)
        return FR_NOMEM;
    /* Only the candidates in use: this runs on every cache hit. */
    for (unsigned k = 0; k < s->ncand; k++) {
        memset(s->cand[k].rep, 0, sizeof s->cand[k].rep);
        s->out[k] = (struct outcome){ 0 };
        s->dom_root[k] = 0;
    }
    s->cfg = cfg;
    s->qtypes = qtypes;
    s->n = n;
    size_t len = strlen(name);
    s->trailing = len > 0 && name[len - 1] == '.';
    for (const char *p = name; *p; p++)
        s->dots += *p == '.';

    /* Every candidate's name up front; one that cannot be built has its
     * outcome (NO_RECOVERY) without a query. */
    for (unsigned k = 0; k < s->ncand; k++) {
        const char *dom = NULL;
        if (k > 0) {
            dom = cfg->domains[k - 1];
            if (dom[0] == '.')
                dom++;
            s->dom_root[k] = dom[0] == '\0';
        }
        if (fr_resolve_cand_name(name, dom, !search, s->cand[k].full) != FR_OK)
            s->out[k] = (struct outcome){ .known = 1, .st = FR_FAIL };
    }

    if (!search) {
        /* res_query: the name as it is, once. */
        if (!s->out[0].known && (ret = resolve_search_ask(s, 0, qclass)) != FR_OK)
            goto done;
        ret = s->out[0].st;
        if (s->out[0].asked)
            resolve_search_move_replies(s, 0, out);
        out->last_send_failed = s->out[0].asked && ret == FR_AGAIN;
        if (ret == FR_OK)
            snprintf(out->name, sizeof out->name, "%s", s->cand[0].full);
        goto done;
    }

    for (;;) {
        fr_resolve_walk(s, s->out, &w);
        if (w.done)
            break;
        if ((ret = resolve_search_ask(s, w.need, qclass)) != FR_OK)
            goto done;
        /* The needed candidate is never asked ahead of need, so it is
         * never abandoned: the walk moves on. */
    }
    ret = w.st;
    out->residual = w.residual;
    if (ret == FR_OK && w.winner >= 0) {
        resolve_search_move_replies(s, w.winner, out);
        snprintf(out->name, sizeof out->name, "%s", s->cand[w.winner].full);
        if (w.winner > 0 && s->dots)
            atomic_store(&resolve_dotted_hit_ms, fr_clock_now_ms());
    } else {
        /* res_search's caller gets the last candidate's replies. */
        resolve_search_move_replies(s, w.last_asked, out);
        out->last_send_failed = w.last_asked >= 0 && s->out[w.last_asked].st == FR_AGAIN;
    }
done:
    resolve_search_free(s, local);
    return ret;
}

void fr_resolve_reap(void)
{
    fr_ask_reap();
}

void fr_resolve_stats_print(void)
{
    struct fr_engine_stats es;
    fr_engine_stats(&es);
    struct fr_ask_stats as;
    fr_ask_stats(&as);
    uint64_t rsent, rstored;
    fr_refresh_counts(&rsent, &rstored);
    fr_log(FR_LOG_ERROR, "stats",
           "questions raced %llu, datagrams sent %llu, won %llu, failed %llu; cache hits %llu, "
           "misses %llu, stale served %llu, entries %zu; refreshes sent %llu, stored %llu; "
           "shared in flight %llu; search candidates asked ahead %llu",
           (unsigned long long)es.questions, (unsigned long long)es.sent,
           (unsigned long long)es.won, (unsigned long long)es.failed,
           (unsigned long long)as.cache_hits, (unsigned long long)as.cache_misses,
           (unsigned long long)as.stale, as.cache_entries, (unsigned long long)rsent,
           (unsigned long long)rstored, (unsigned long long)as.shared,
           (unsigned long long)atomic_load(&resolve_n_ahead));
    struct fr_tcp_stats ts;
    fr_tcp_stats(&ts);
    if (ts.connects)
        fr_log(FR_LOG_ERROR, "stats",
               "tcp: connections opened %llu (%llu again after a close), open %u, queries %llu, "
               "replies %llu, lost with a connection %llu",
               (unsigned long long)ts.connects, (unsigned long long)ts.reconnects, ts.open,
               (unsigned long long)ts.queries, (unsigned long long)ts.replies,
               (unsigned long long)ts.lost);
    fr_table_print();
}

