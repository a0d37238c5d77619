/* fastres lookup layer: cache, in-flight sharing, network, stale (see
 * ask.h). */
#include "lookup/ask.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lookup/cache.h"
#include "base/clock.h"
#include "base/fork.h"
#include "base/log.h"
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

/* ------------------------------------------------------------------ */
/* In-flight sharing: when several threads ask the same question at once,
 * one (the leader) races it and the others wait for its reply. */

/* Questions in flight at once across the process; more simply race on
 * their own (sharing is an optimisation, never a requirement). */
#define INFLIGHT_MAX 64

struct fr_inflight {
    int used;
    char name[FR_ASK_NAME_MAX];
    uint16_t qtype, qclass;
    int done;
    unsigned waiters;
    struct fr_question result;   /* status, answer (owned here), fail info */
};

static pthread_mutex_t inflight_lock = PTHREAD_MUTEX_INITIALIZER;
/* Waits on it are timed on CLOCK_MONOTONIC (ask_inflight_init): a wall-clock
 * step must not cut a wait short or stretch it. */
static pthread_cond_t inflight_cond = PTHREAD_COND_INITIALIZER;
static struct fr_inflight inflight[INFLIGHT_MAX];
static pthread_once_t inflight_once = PTHREAD_ONCE_INIT;
/* 0 when the fork handlers could not be registered: every question then
 * races on its own (sharing is only an optimisation). */
static int inflight_ok;

static void ask_inflight_cond_init(void)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&inflight_cond, &a);
    pthread_condattr_destroy(&a);
}

static void ask_inflight_child(void)
{
    /* The leaders of questions in flight are threads the child does not
     * have: forget those questions (their replies are never coming). */
    for (unsigned i = 0; i < INFLIGHT_MAX; i++) {
        if (inflight[i].used)
            free(inflight[i].result.answer);
        memset(&inflight[i], 0, sizeof inflight[i]);
    }
    ask_inflight_cond_init();
}

static const struct fr_fork_handlers inflight_fork = {
    /* fork.c holds inflight_lock across fork, re-initialised after this. */
    .name = "resolve", .rank = FR_FORK_RANK_RESOLVE, .child = ask_inflight_child,
    .lock = &inflight_lock,
};

static void ask_inflight_init(void)
{
    ask_inflight_cond_init();
    inflight_ok = fr_fork_register(&inflight_fork) == 0;
}

static struct fr_inflight *ask_inflight_find(const char *name, uint16_t qtype, uint16_t qclass)
{
    for (unsigned i = 0; i < INFLIGHT_MAX; i++) {
        struct fr_inflight *f = &inflight[i];
        if (f->used && f->qtype == qtype && f->qclass == qclass && !strcasecmp(f->name, name))
            return f;
    }
    return NULL;
}

static void ask_inflight_release(struct fr_inflight *f)
{
    /* inflight_lock held */
    if (f->done && f->waiters == 0) {
        free(f->result.answer);
        memset(f, 0, sizeof *f);
    }
}

/* ------------------------------------------------------------------ */

static _Atomic uint64_t n_stale, n_shared;

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

enum fr_status fr_ask(const struct fr_config *cfg, struct fr_ask_item *it, unsigned n, uint16_t qclass,
                      fr_ask_settled_fn settled, void *arg)
{
    struct fr_cache *c = ask_cache_get(cfg);
    uint64_t now = fr_clock_now_ms();
    uint8_t buf[FR_CACHE_MSG_MAX];
    struct fr_question race[FR_ENGINE_MAX_QUESTIONS];
    unsigned nrace = 0, idx[FR_ENGINE_MAX_QUESTIONS];
    enum fr_status ret = FR_OK;

    pthread_once(&inflight_once, ask_inflight_init);
    if (c)
        fr_refresh_reap(c);
    for (unsigned i = 0; i < n; i++) {
        size_t len;
        uint32_t ttl;
        struct fr_ask_state *qs = it[i].qs;
        struct fr_reply *rep = it[i].rep;
        *qs = (struct fr_ask_state){ .st = FR_AGAIN, .fail_rcode = -1 };
        it[i].race_idx = -1;
        enum fr_cache_hit h = fr_cache_lookup(c, it[i].name, it[i].qtype, qclass, now, 0, buf,
                                              sizeof buf, &len, &ttl);
        /* Behind the process's cache, the user's shared one (shcache.h);
         * what it gives is kept in the process's cache too. */
        if (h == FR_CACHE_MISS && c &&
            fr_shcache_get(cfg, it[i].name, it[i].qtype, qclass, buf, sizeof buf, &len)) {
            fr_cache_store(c, it[i].name, it[i].qtype, qclass, buf, len, now);
            h = FR_CACHE_FRESH;
        }
        if (h != FR_CACHE_MISS) {
            /* In the last part of the entry's life: answer from the cache
             * now and let the refresh come in behind (refresh.h). */
            if (h == FR_CACHE_REFRESH)
                fr_refresh_start(cfg, it[i].name, it[i].qtype, qclass);
            ask_reply_set(rep, buf, len);
            ask_reply_recase(rep, it[i].name);
            qs->st = rep->msg ? FR_OK : FR_NOMEM;
            continue;
        }
        /* Join a question another thread is already racing, or lead it. */
        if (inflight_ok && !it[i].speculative) {
            pthread_mutex_lock(&inflight_lock);
            struct fr_inflight *f = ask_inflight_find(it[i].name, it[i].qtype, qclass);
            if (f && !f->done) {
                f->waiters++;
                qs->follow = f;
            } else {
                for (unsigned k = 0; k < INFLIGHT_MAX && !f; k++)
                    if (!inflight[k].used)
                        f = &inflight[k];
                if (f && !f->used) {
                    memset(f, 0, sizeof *f);
                    f->used = 1;
                    snprintf(f->name, sizeof f->name, "%s", it[i].name);
                    f->qtype = it[i].qtype;
                    f->qclass = qclass;
                    qs->lead = f;
                }
            }
            pthread_mutex_unlock(&inflight_lock);
        }
        if (qs->follow)
            continue;
        race[nrace] = (struct fr_question){
            .name = it[i].name, .qtype = it[i].qtype, .qclass = qclass, .group = it[i].group,
        };
        it[i].race_idx = (int)nrace;
        idx[nrace++] = i;
    }

    if (nrace) {
        struct ask_cb cb = { settled, arg, it, n, race };
        enum fr_status est = fr_engine_ask(cfg, race, nrace, settled ? ask_settled : NULL, &cb);
        uint64_t sent = 0, failed = 0;
        for (unsigned r = 0; r < nrace; r++) {
            sent += race[r].sent;
            failed += race[r].status != FR_OK && !race[r].abandoned;
        }
        fr_shcache_note(nrace, sent, failed);
        for (unsigned r = 0; r < nrace; r++) {
            struct fr_ask_item *t = &it[idx[r]];
            struct fr_ask_state *qs = t->qs;
            if (est != FR_OK) {
                race[r].status = est;
                ret = est;
            }
            qs->st = race[r].status;
            qs->fail_rcode = race[r].fail_rcode;
            qs->conn_refused = race[r].conn_refused;
            qs->abandoned = race[r].abandoned;
            if (race[r].status == FR_OK) {
                t->rep->msg = race[r].answer;
                t->rep->len = race[r].answer_len;
                fr_cache_store(c, t->name, t->qtype, qclass, t->rep->msg, t->rep->len, now);
                if (c)
                    fr_shcache_put(cfg, t->name, t->qtype, qclass, t->rep->msg, t->rep->len);
            }
            if (qs->lead) {
                pthread_mutex_lock(&inflight_lock);
                struct fr_inflight *f = qs->lead;
                f->result = race[r];
                f->result.answer = NULL;
                if (race[r].status == FR_OK) {
                    f->result.answer = malloc(race[r].answer_len);
                    if (f->result.answer)
                        memcpy(f->result.answer, race[r].answer, race[r].answer_len);
                    else
                        f->result.status = FR_AGAIN;
                }
                f->done = 1;
                ask_inflight_release(f);
                pthread_cond_broadcast(&inflight_cond);
                pthread_mutex_unlock(&inflight_lock);
            }
        }
    }

    /* Wait for questions led by other threads. Their leader has the same
     * deadline as we would have; the wait is bounded by it plus a margin
     * in case the leader's thread was stopped. */
    for (unsigned i = 0; i < n; i++) {
        struct fr_ask_state *qs = it[i].qs;
        struct fr_inflight *f = qs->follow;
        if (!f)
            continue;
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        uint64_t ms = cfg->deadline_ms + 1000;
        until.tv_sec += (time_t)(ms / 1000);
        until.tv_nsec += (long)(ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&inflight_lock);
        int rc = 0;
        while (!f->done && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&inflight_cond, &inflight_lock, &until);
        if (f->done) {
            qs->st = f->result.status;
            qs->fail_rcode = f->result.fail_rcode;
            qs->conn_refused = f->result.conn_refused;
            if (f->result.status == FR_OK) {
                ask_reply_set(it[i].rep, f->result.answer, f->result.answer_len);
                ask_reply_recase(it[i].rep, it[i].name);
                if (!it[i].rep->msg)
                    qs->st = FR_NOMEM;
            }
            atomic_fetch_add(&n_shared, 1);
        }
        f->waiters--;
        ask_inflight_release(f);
        pthread_mutex_unlock(&inflight_lock);
    }

    /* RFC 8767: when no upstream answered, an expired answer is better
     * than none. */
    for (unsigned i = 0; i < n; i++) {
        size_t len;
        uint32_t ttl;
        struct fr_ask_state *qs = it[i].qs;
        if (qs->st != FR_AGAIN || qs->abandoned || !c)
            continue;
        if (fr_cache_lookup(c, it[i].name, it[i].qtype, qclass, fr_clock_now_ms(), 1, buf, sizeof buf,
                            &len, &ttl) == FR_CACHE_STALE) {
            ask_reply_set(it[i].rep, buf, len);
            ask_reply_recase(it[i].rep, it[i].name);
            if (it[i].rep->msg) {
                qs->st = FR_OK;
                atomic_fetch_add(&n_stale, 1);
                fr_log(FR_LOG_INFO, "resolve", "no server answered %s; serving a stale answer",
                       it[i].name);
            }
        }
    }
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
    out->shared = atomic_load(&n_shared);
    out->cache_hits = cs.hits;
    out->cache_misses = cs.misses;
    out->cache_entries = cs.entries;
}
