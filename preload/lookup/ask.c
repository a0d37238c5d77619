/* fastres lookup layer: cache, in-flight sharing, network, stale (see
 * ask.h). */
#include "lookup/ask.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "lookup/cache.h"
#include "base/clock.h"
#include "base/log.h"
#include "lookup/inflight.h"
#include "lookup/refresh.h"
#include "lookup/shcache.h"

/* ------------------------------------------------------------------ */
/* The process-wide cache (ask.h). */

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fr_cache *_Atomic cache;
static _Atomic uint64_t cache_gen;
static atomic_int cache_tried;

static struct fr_cache *ask_cache_get(const struct fr_config *cfg)
{
    struct fr_cache *c = atomic_load_explicit(&cache, memory_order_acquire);
    if (!c && cfg->cache_size && !atomic_load(&cache_tried)) {
        pthread_mutex_lock(&cache_lock);
        c = atomic_load(&cache);
        if (!c && !atomic_load(&cache_tried)) {
            struct fr_cache_conf cc = {
                .max_entries = cfg->cache_size,
                .min_ttl = cfg->cache_min_ttl,
                .max_ttl = cfg->cache_max_ttl,
                .neg_max_ttl = cfg->cache_neg_max_ttl,
                .stale_max = cfg->stale_max,
                .refresh = cfg->refresh,
            };
            c = fr_cache_create(&cc);
            atomic_store(&cache_gen, cfg->generation);
            atomic_store_explicit(&cache, c, memory_order_release);
            atomic_store(&cache_tried, 1);
        }
        pthread_mutex_unlock(&cache_lock);
    }
    if (!c)
        return NULL;
    /* A newer configuration means resolv.conf changed: answers from the
     * old servers must not outlive it. Only the first thread to see the
     * new generation clears. */
    uint64_t g = atomic_load(&cache_gen);
    if (g < cfg->generation && atomic_compare_exchange_strong(&cache_gen, &g, cfg->generation))
        fr_cache_clear(c);
    return c;
}

static _Atomic uint64_t n_stale;

static void ask_reply_set(struct fr_reply *r, const uint8_t *msg, size_t len)
{
    free(r->msg);
    r->msg = NULL;
    r->len = 0;
    uint8_t *m = malloc(len);
    if (m) {
        memcpy(m, msg, len);
        r->msg = m;
        r->len = len;
    }
}

/* A reply from the cache or from another thread's identical question
 * carries the question name in the case it was first asked in. A server
 * echoes the asker's case (and glibc's callers see it in h_name and
 * res_query's question), so put this caller's spelling back. */
static void ask_reply_recase(struct fr_reply *r, const char *name)
{
    size_t off = 12;
    const char *p = name;
    if (!r->msg || r->len < 12)
        return;
    while (off < r->len && r->msg[off] && !(r->msg[off] & 0xc0)) {
        uint8_t l = r->msg[off];
        if (off + 1 + l > r->len)
            return;
        for (uint8_t i = 0; i < l; i++) {
            if (!p[i] || (p[i] | 0x20) != (r->msg[off + 1 + i] | 0x20))
                return;   /* not the same name (escapes): leave it */
        }
        memcpy(r->msg + off + 1, p, l);
        p += l;
        if (*p == '.')
            p++;
        off += 1u + l;
    }
}

struct ask_cb {
    fr_ask_settled_fn fn;
    void *arg;
    const struct fr_ask_item *it;
    unsigned n;
    const struct fr_question *race;
};

static int ask_settled(void *p)
{
    struct ask_cb *cb = p;
    return cb->fn(cb->arg, cb->it, cb->n, cb->race);
}

/* One fr_ask call: the questions that go to the network. */
struct ask_call {
    const struct fr_config *cfg;
    struct fr_cache *c;
    uint64_t now;
    uint16_t qclass;
    struct fr_question race[FR_ENGINE_MAX_QUESTIONS];
    unsigned nrace, idx[FR_ENGINE_MAX_QUESTIONS];
};

/* 1: answered from the process's cache, or the user's shared one behind
 * it (shcache.h; what it gives is kept in the process's cache too). */
static int ask_from_cache(struct ask_call *a, struct fr_ask_item *t)
{
    uint8_t buf[FR_CACHE_MSG_MAX];
    size_t len;
    uint32_t ttl;
    enum fr_cache_hit h = fr_cache_lookup(a->c, t->name, t->qtype, a->qclass, a->now, 0, buf, sizeof buf,
                                          &len, &ttl);
    if (h == FR_CACHE_MISS && a->c &&
        fr_shcache_get(a->cfg, t->name, t->qtype, a->qclass, buf, sizeof buf, &len)) {
        fr_cache_store(a->c, t->name, t->qtype, a->qclass, buf, len, a->now);
        h = FR_CACHE_FRESH;
    }
    if (h == FR_CACHE_MISS)
        return 0;
    /* In the last part of the entry's life: answer from the cache now and
     * let the refresh come in behind (refresh.h). */
    if (h == FR_CACHE_REFRESH)
        fr_refresh_start(a->cfg, t->name, t->qtype, a->qclass);
    ask_reply_set(t->rep, buf, len);
    ask_reply_recase(t->rep, t->name);
    t->qs->st = t->rep->msg ? FR_OK : FR_NOMEM;
    return 1;
}

/* The engine call for the questions nobody else is asking; then each
 * result to its item, the caches and the threads waiting on it. */
static enum fr_status ask_race(struct ask_call *a, struct fr_ask_item *it, unsigned n,
                               fr_ask_settled_fn settled, void *arg)
{
    enum fr_status ret = FR_OK;
    struct ask_cb cb = { settled, arg, it, n, a->race };
    enum fr_status est = fr_engine_ask(a->cfg, a->race, a->nrace, settled ? ask_settled : NULL, &cb);
    uint64_t sent = 0, failed = 0;
    for (unsigned r = 0; r < a->nrace; r++) {
        sent += a->race[r].sent;
        failed += a->race[r].status != FR_OK && !a->race[r].abandoned;
    }
    fr_shcache_note(a->nrace, sent, failed);
    for (unsigned r = 0; r < a->nrace; r++) {
        struct fr_question *q = &a->race[r];
        struct fr_ask_item *t = &it[a->idx[r]];
        struct fr_ask_state *qs = t->qs;
        if (est != FR_OK) {
            q->status = est;
            ret = est;
        }
        qs->st = q->status;
        qs->fail_rcode = q->fail_rcode;
        qs->conn_refused = q->conn_refused;
        qs->abandoned = q->abandoned;
        if (q->status == FR_OK) {
            t->rep->msg = q->answer;
            t->rep->len = q->answer_len;
            fr_cache_store(a->c, t->name, t->qtype, a->qclass, t->rep->msg, t->rep->len, a->now);
            if (a->c)
                fr_shcache_put(a->cfg, t->name, t->qtype, a->qclass, t->rep->msg, t->rep->len);
        }
        if (qs->lead)
            fr_inflight_publish(qs->lead, q);
    }
    return ret;
}

/* A question led by another thread. Its leader has the same deadline as
 * this thread would have; the wait is bounded by it plus a margin in case
 * the leader's thread was stopped. */
static void ask_follow(const struct fr_config *cfg, struct fr_ask_item *t)
{
    struct fr_question q;
    if (!fr_inflight_wait(t->qs->follow, cfg->deadline_ms + 1000, &q))
        return;
    t->qs->st = q.status;
    t->qs->fail_rcode = q.fail_rcode;
    t->qs->conn_refused = q.conn_refused;
    if (q.status == FR_OK) {
        free(t->rep->msg);
        t->rep->msg = q.answer;
        t->rep->len = q.answer_len;
        ask_reply_recase(t->rep, t->name);
    }
}

/* RFC 8767: when no upstream answered, an expired answer is better than
 * none. */
static void ask_stale(struct fr_cache *c, struct fr_ask_item *t, uint16_t qclass)
{
    uint8_t buf[FR_CACHE_MSG_MAX];
    size_t len;
    uint32_t ttl;
    if (t->qs->st != FR_AGAIN || t->qs->abandoned || !c)
        return;
    if (fr_cache_lookup(c, t->name, t->qtype, qclass, fr_clock_now_ms(), 1, buf, sizeof buf, &len, &ttl) !=
        FR_CACHE_STALE)
        return;
    ask_reply_set(t->rep, buf, len);
    ask_reply_recase(t->rep, t->name);
    if (t->rep->msg) {
        t->qs->st = FR_OK;
        atomic_fetch_add(&n_stale, 1);
        fr_log(FR_LOG_INFO, "resolve", "no server answered %s; serving a stale answer", t->name);
    }
}

/* Each question, in this order: the caches; another thread's identical
 * question in flight (join it) or the network (lead it, all in one engine
 * call); then the waits for the questions others lead; then the stale
 * answer for what no server answered. */
enum fr_status fr_ask(const struct fr_config *cfg, struct fr_ask_item *it, unsigned n, uint16_t qclass,
                      fr_ask_settled_fn settled, void *arg)
{
    struct ask_call a = { .cfg = cfg, .c = ask_cache_get(cfg), .now = fr_clock_now_ms(), .qclass = qclass };
    enum fr_status ret = FR_OK;

    if (a.c)
        fr_refresh_reap(a.c);
    for (unsigned i = 0; i < n; i++) {
        struct fr_ask_state *qs = it[i].qs;
        *qs = (struct fr_ask_state){ .st = FR_AGAIN, .fail_rcode = -1 };
        it[i].race_idx = -1;
        if (ask_from_cache(&a, &it[i]))
            continue;
        /* Speculative questions (asked ahead of need) neither lead nor
         * follow: they may be abandoned (ask.h). */
        if (!it[i].speculative)
            fr_inflight_join(it[i].name, it[i].qtype, qclass, &qs->lead, &qs->follow);
        if (qs->follow)
            continue;
        a.race[a.nrace] = (struct fr_question){
            .name = it[i].name, .qtype = it[i].qtype, .qclass = qclass, .group = it[i].group,
        };
        it[i].race_idx = (int)a.nrace;
        a.idx[a.nrace++] = i;
    }
    if (a.nrace)
        ret = ask_race(&a, it, n, settled, arg);
    for (unsigned i = 0; i < n; i++)
        if (it[i].qs->follow)
            ask_follow(cfg, &it[i]);
    for (unsigned i = 0; i < n; i++)
        ask_stale(a.c, &it[i], qclass);
    return ret;
}

/* __res_context_query's verdict on one candidate's replies. */
void fr_ask_reap(void)
{
    struct fr_cache *c = atomic_load_explicit(&cache, memory_order_acquire);
    if (c)
        fr_refresh_reap(c);   /* returns at once when nothing is pending */
}

void fr_ask_stats(struct fr_ask_stats *out)
{
    struct fr_cache_stats cs = { 0 };
    struct fr_cache *c = atomic_load(&cache);
    if (c)
        fr_cache_stats(c, &cs);
    out->stale = atomic_load(&n_stale);
    out->shared = fr_inflight_shared();
    out->cache_hits = cs.hits;
    out->cache_misses = cs.misses;
    out->cache_entries = cs.entries;
}
