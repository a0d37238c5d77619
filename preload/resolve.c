/* fastres: search rules, cache and in-flight sharing (see resolve.h). */
#include "resolve.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "clock.h"
#include "fork.h"
#include "log.h"
#include "refresh.h"
#include "shcache.h"
#include "net/table.h"

/* ------------------------------------------------------------------ */
/* The process-wide cache: created on first use with the first
 * configuration's settings (they come from the environment, which the
 * process does not change), cleared whenever the files change. */

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fr_cache *_Atomic cache;
static _Atomic uint64_t cache_gen;
static atomic_int cache_tried;

static struct fr_cache *cache_get(const struct fr_config *cfg)
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

struct inflight {
    int used;
    char name[FR_RESOLVE_NAME_MAX];
    uint16_t qtype, qclass;
    int done;
    unsigned waiters;
    struct fr_question result;   /* status, answer (owned here), fail info */
};

static pthread_mutex_t inflight_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t inflight_cond = PTHREAD_COND_INITIALIZER;
static struct inflight inflight[INFLIGHT_MAX];
static pthread_once_t inflight_once = PTHREAD_ONCE_INIT;
/* 0 when the fork handlers could not be registered: every question then
 * races on its own (sharing is only an optimisation). */
static int inflight_ok;

static void inflight_prepare(void)
{
    pthread_mutex_lock(&inflight_lock);
}

static void inflight_parent(void)
{
    pthread_mutex_unlock(&inflight_lock);
}

static void inflight_child(void)
{
    /* The leaders of questions in flight are threads the child does not
     * have: forget those questions (their replies are never coming). */
    for (unsigned i = 0; i < INFLIGHT_MAX; i++) {
        if (inflight[i].used)
            free(inflight[i].result.answer);
        memset(&inflight[i], 0, sizeof inflight[i]);
    }
    pthread_mutex_init(&inflight_lock, NULL);
    pthread_cond_init(&inflight_cond, NULL);
}

static const struct fr_fork_handlers inflight_fork = {
    .name = "resolve", .rank = FR_FORK_RANK_RESOLVE, .prepare = inflight_prepare,
    .parent = inflight_parent, .child = inflight_child,
};

static void inflight_init(void)
{
    inflight_ok = fr_fork_register(&inflight_fork) == 0;
}

static struct inflight *inflight_find(const char *name, uint16_t qtype, uint16_t qclass)
{
    for (unsigned i = 0; i < INFLIGHT_MAX; i++) {
        struct inflight *f = &inflight[i];
        if (f->used && f->qtype == qtype && f->qclass == qclass && !strcasecmp(f->name, name))
            return f;
    }
    return NULL;
}

static void inflight_release(struct inflight *f)
{
    /* inflight_lock held */
    if (f->done && f->waiters == 0) {
        free(f->result.answer);
        memset(f, 0, sizeof *f);
    }
}

/* ------------------------------------------------------------------ */

static _Atomic uint64_t n_stale, n_shared;

static void reply_set(struct fr_reply *r, const uint8_t *msg, size_t len)
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
static void reply_recase(struct fr_reply *r, const char *name)
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

struct qstate {
    enum fr_status st;        /* FR_OK: reply set */
    int fail_rcode, conn_refused;
    int abandoned;            /* speculative question ended unanswered */
    struct inflight *lead;    /* we lead this question's in-flight slot */
    struct inflight *follow;  /* we wait for this slot */
};

/* One question of one candidate name. */
struct item {
    const char *name;
    uint16_t qtype;
    unsigned cand;            /* candidate index: the engine group */
    /* A question asked ahead of need (a later search candidate): it may
     * be abandoned when an earlier candidate decides, so it neither leads
     * nor follows another thread's identical question. */
    int speculative;
    struct fr_reply *rep;
    struct qstate *qs;
    int race_idx;             /* its index in the engine call, or -1 */
};

typedef int (*ask_settled_fn)(void *arg, const struct item *it, unsigned n,
                              const struct fr_question *race);

struct ask_cb {
    ask_settled_fn fn;
    void *arg;
    const struct item *it;
    unsigned n;
    const struct fr_question *race;
};

static int ask_settled(void *p)
{
    struct ask_cb *cb = p;
    return cb->fn(cb->arg, cb->it, cb->n, cb->race);
}

/* Ask the questions it[0..n): each from the cache, from another thread's
 * identical question in flight, or from the engine, all engine questions
 * in one call; then the stale answer for any left without one. settled
 * (may be NULL) may end the engine call early (speculative questions). */
static enum fr_status ask(const struct fr_config *cfg, struct item *it, unsigned n, uint16_t qclass,
                          ask_settled_fn settled, void *arg)
{
    struct fr_cache *c = cache_get(cfg);
    uint64_t now = fr_clock_now_ms();
    uint8_t buf[FR_CACHE_MSG_MAX];
    struct fr_question race[FR_ENGINE_MAX_QUESTIONS];
    unsigned nrace = 0, idx[FR_ENGINE_MAX_QUESTIONS];
    enum fr_status ret = FR_OK;

    pthread_once(&inflight_once, inflight_init);
    if (c)
        fr_refresh_reap(c);
    for (unsigned i = 0; i < n; i++) {
        size_t len;
        uint32_t ttl;
        struct qstate *qs = it[i].qs;
        struct fr_reply *rep = it[i].rep;
        *qs = (struct qstate){ .st = FR_AGAIN, .fail_rcode = -1 };
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
            reply_set(rep, buf, len);
            reply_recase(rep, it[i].name);
            qs->st = rep->msg ? FR_OK : FR_NOMEM;
            continue;
        }
        /* Join a question another thread is already racing, or lead it. */
        if (inflight_ok && !it[i].speculative) {
            pthread_mutex_lock(&inflight_lock);
            struct inflight *f = inflight_find(it[i].name, it[i].qtype, qclass);
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
            .name = it[i].name, .qtype = it[i].qtype, .qclass = qclass, .group = it[i].cand,
        };
        it[i].race_idx = (int)nrace;
        idx[nrace++] = i;
    }

    if (nrace) {
        struct ask_cb cb = { settled, arg, it, n, race };
        enum fr_status est = fr_engine_ask(cfg, race, nrace, settled ? ask_settled : NULL, &cb);
        for (unsigned r = 0; r < nrace; r++) {
            struct item *t = &it[idx[r]];
            struct qstate *qs = t->qs;
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
                struct inflight *f = qs->lead;
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
                inflight_release(f);
                pthread_cond_broadcast(&inflight_cond);
                pthread_mutex_unlock(&inflight_lock);
            }
        }
    }

    /* Wait for questions led by other threads. Their leader has the same
     * deadline as we would have; the wait is bounded by it plus a margin
     * in case the leader's thread was stopped. */
    for (unsigned i = 0; i < n; i++) {
        struct qstate *qs = it[i].qs;
        struct inflight *f = qs->follow;
        if (!f)
            continue;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
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
                reply_set(it[i].rep, f->result.answer, f->result.answer_len);
                reply_recase(it[i].rep, it[i].name);
                if (!it[i].rep->msg)
                    qs->st = FR_NOMEM;
            }
            atomic_fetch_add(&n_shared, 1);
        }
        f->waiters--;
        inflight_release(f);
        pthread_mutex_unlock(&inflight_lock);
    }

    /* RFC 8767: when no upstream answered, an expired answer is better
     * than none. */
    for (unsigned i = 0; i < n; i++) {
        size_t len;
        uint32_t ttl;
        struct qstate *qs = it[i].qs;
        if (qs->st != FR_AGAIN || qs->abandoned || !c)
            continue;
        if (fr_cache_lookup(c, it[i].name, it[i].qtype, qclass, fr_clock_now_ms(), 1, buf, sizeof buf,
                            &len, &ttl) == FR_CACHE_STALE) {
            reply_set(it[i].rep, buf, len);
            reply_recase(it[i].rep, it[i].name);
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
static enum fr_status classify(const struct fr_reply *rep, const struct qstate *qs, unsigned n)
{
    const struct fr_reply *hp = NULL, *hp2 = NULL;
    struct fr_msg_hdr h1, h2;
    for (unsigned i = 0; i < n; i++) {
        if (qs[i].st != FR_OK)
            continue;
        if (!hp)
            hp = &rep[i];
        else
            hp2 = &rep[i];
    }
    if (!hp)
        return FR_AGAIN;    /* res_send failed for every question */
    /* glibc treats a missing second reply as a copy of the first. */
    if (!hp2)
        hp2 = hp;
    if (fr_msg_header(hp->msg, hp->len, &h1) != FR_OK || fr_msg_header(hp2->msg, hp2->len, &h2) != FR_OK)
        return FR_FAIL;
    unsigned r1 = FR_MSG_RCODE(&h1), r2 = FR_MSG_RCODE(&h2);
    if ((r1 == FR_RCODE_NOERROR && h1.ancount) || (r2 == FR_RCODE_NOERROR && h2.ancount))
        return FR_OK;
    switch (r1 == FR_RCODE_NOERROR ? r2 : r1) {
    case FR_RCODE_NXDOMAIN:
        return FR_NOTFOUND;
    case FR_RCODE_SERVFAIL:
        return FR_AGAIN;
    case FR_RCODE_NOERROR:
        return FR_NODATA;
    default:
        return FR_FAIL;
    }
}

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
 * (search_walk): the walk either ends, with exactly glibc's result, or
 * names the candidate whose outcome it needs next. That candidate is then
 * asked, alone or with the candidates after it in glibc's order (see
 * search_parallel): an answer of a later candidate is used only when the
 * walk reaches it, i.e. when every candidate before it ended in a way at
 * which glibc goes on. */

/* Candidate 0 is the name as it is; 1..ndomains the search domains. */
#define SEARCH_MAX_CANDS (FR_MAX_DOMAINS + 1)
/* How long a dotted name found through a search domain keeps dotted names
 * from being asked ahead (search_parallel): ten minutes, so that a program
 * that resolves in-cluster names like "svc.ns" pays extra queries once per
 * ten minutes, not on every lookup. */
#define SEARCH_DOTTED_HIT_MS (600u * 1000u)

struct outcome {
    int known;
    enum fr_status st;        /* the candidate's verdict */
    int servfail, refused;
    int asked;                /* 0: failed before a query (name too long, empty label) */
};

struct cand {
    char full[FR_RESOLVE_NAME_MAX];   /* without the final dot */
    struct fr_reply rep[FR_ENGINE_PAIR];
    struct qstate qs[FR_ENGINE_PAIR];
};

struct search {
    const struct fr_config *cfg;
    const uint16_t *qtypes;
    unsigned n;                /* questions per candidate */
    unsigned ncand;            /* 1 + ndomains */
    unsigned dots;
    int trailing;
    int dom_root[SEARCH_MAX_CANDS];   /* the domain is the root ("" or ".") */
    struct outcome out[SEARCH_MAX_CANDS];
    struct cand cand[SEARCH_MAX_CANDS];
};

struct walk {
    int done;                  /* 0: the outcome of `need` is needed */
    unsigned need;
    enum fr_status st;         /* done: the search's result */
    int winner;                /* done with FR_OK: the candidate that answered */
    int last_asked;            /* the last candidate glibc sent queries for, or -1 */
    enum fr_status residual;   /* fr_search.residual */
};

/* Build candidate text as __res_context_querydomain would: name.domain (or
 * name alone), with glibc's length checks. FR_FAIL when res_mkquery or
 * the length checks would fail (NO_RECOVERY). */
static enum fr_status cand_name(const char *name, const char *domain, int raw, char *full)
{
    size_t nl = strlen(name);
    if (domain) {
        size_t dl = strlen(domain);
        if (nl + dl + 1 >= FR_RESOLVE_NAME_MAX)
            return FR_FAIL;
        memcpy(full, name, nl);
        full[nl] = '.';
        memcpy(full + nl + 1, domain, dl + 1);
    } else {
        /* res_query passes the name straight to res_mkquery ("" is the
         * root); res_querydomain's check rejects "" (its length wraps). */
        if (nl >= FR_RESOLVE_NAME_MAX || (!raw && (nl == 0 || nl - 1 >= FR_RESOLVE_NAME_MAX - 1)))
            return FR_FAIL;
        memcpy(full, name, nl + 1);
    }
    /* An empty label ("a..b", ".a", "a..") makes res_mkquery fail:
     * NO_RECOVERY. A lone "." is the root. */
    if (strcmp(full, ".") && (full[0] == '.' || strstr(full, "..")))
        return FR_FAIL;
    /* The cache and the engine see names without the final dot. */
    size_t fl = strlen(full);
    if (fl >= 1 && full[fl - 1] == '.')
        full[fl - 1] = '\0';
    return FR_OK;
}

/* The verdict on one asked candidate, as candidate() in glibc's loop sees
 * it: NO_RECOVERY when a query could not be built, set-up failures as
 * they are, otherwise __res_context_query's classification; servfail and
 * refused feed the walk's "go on" rules. */
static void cand_judge(const struct fr_reply *rep, const struct qstate *qs, unsigned n, struct outcome *o)
{
    int all_refused = 1;
    o->known = 1;
    o->asked = 1;
    o->servfail = 0;
    o->refused = 0;
    for (unsigned i = 0; i < n; i++) {
        if (qs[i].st == FR_BADNAME) {
            o->st = FR_FAIL;   /* res_mkquery failed: NO_RECOVERY */
            return;
        }
        if (qs[i].st == FR_NOMEM || qs[i].st == FR_PUNT) {
            o->st = qs[i].st;
            return;
        }
        if (qs[i].fail_rcode == FR_RCODE_SERVFAIL)
            o->servfail = 1;
        if (qs[i].st != FR_AGAIN || !qs[i].conn_refused)
            all_refused = 0;
    }
    o->refused = all_refused;
    o->st = classify(rep, qs, n);
}

static int is_stop(enum fr_status st)
{
    return st == FR_OK || st == FR_NOMEM || st == FR_PUNT;
}

/* glibc's __res_context_search over the outcomes known so far. */
static void search_walk(const struct search *s, const struct outcome *o, struct walk *w)
{
    const struct fr_config *cfg = s->cfg;
    enum fr_status st, saved = FR_NOTFOUND, last = FR_NOTFOUND;
    int have_saved = 0, got_nodata = 0, got_servfail = 0, tried_as_is = 0, searched = 0;
    int root_on_list = 0;
    memset(w, 0, sizeof *w);
    w->winner = -1;
    w->last_asked = -1;
    w->residual = FR_NOTFOUND;

#define WALK_TAKE(k)                                                                             \
    do {                                                                                         \
        if (!o[k].known) {                                                                       \
            w->need = (k);                                                                       \
            return;                                                                              \
        }                                                                                        \
        st = o[k].st;                                                                            \
        if (o[k].asked)                                                                          \
            w->last_asked = (int)(k);                                                            \
    } while (0)
#define WALK_END(result, win)                                                                    \
    do {                                                                                         \
        w->done = 1;                                                                             \
        w->st = (result);                                                                        \
        w->winner = (result) == FR_OK ? (int)(win) : -1;                                         \
        return;                                                                                  \
    } while (0)

    if (s->dots >= cfg->ndots || s->trailing) {
        WALK_TAKE(0);
        if (is_stop(st) || s->trailing)
            WALK_END(st, 0);
        saved = st;
        have_saved = 1;
        tried_as_is = 1;
        w->residual = st;
    }
    /* glibc's RES_DEFNAMES and RES_DNSRCH are on by default and fastres
     * punts when a program changed _res, so both are on here. */
    if (!s->dots || !s->trailing) {
        for (unsigned d = 1; d < s->ncand; d++) {
            searched = 1;
            if (s->dom_root[d])
                root_on_list = 1;
            WALK_TAKE(d);
            if (is_stop(st))
                WALK_END(st, d);
            last = st;
            w->residual = st;
            if (o[d].refused)
                WALK_END(FR_AGAIN, d);   /* glibc: errno ECONNREFUSED, no server present */
            if (st == FR_NODATA) {
                got_nodata = 1;
                continue;
            }
            if (st == FR_NOTFOUND)
                continue;
            if (st == FR_AGAIN && o[d].servfail) {
                got_servfail = 1;
                continue;
            }
            break;   /* anything else: stop searching */
        }
    }
    if ((s->dots || !searched || !cfg->no_tld_query) && !(tried_as_is || root_on_list)) {
        WALK_TAKE(0);
        if (is_stop(st))
            WALK_END(st, 0);
        last = st;
    }
    if (have_saved)
        WALK_END(saved, -1);
    if (got_nodata)
        WALK_END(FR_NODATA, -1);
    if (got_servfail)
        WALK_END(FR_AGAIN, -1);
    /* glibc: the h_errno of the last query made (HOST_NOT_FOUND when no
     * query was made at all). */
    WALK_END(last, -1);
#undef WALK_TAKE
#undef WALK_END
}

static _Atomic uint64_t dotted_hit_ms;   /* last time a dotted name was found in a search domain */
static _Atomic uint64_t n_ahead;         /* candidates asked ahead of need */

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
static int search_parallel(const struct search *s)
{
    if (!s->cfg->parallel_search || s->trailing || !s->dots || s->dots >= s->cfg->ndots)
        return 0;
    uint64_t hit = atomic_load(&dotted_hit_ms);
    return !hit || fr_clock_now_ms() - hit > SEARCH_DOTTED_HIT_MS;
}

/* glibc's order of candidates when every one ends in "go on". */
static unsigned search_order(const struct search *s, unsigned *order)
{
    unsigned n = 0;
    if (s->dots >= s->cfg->ndots || s->trailing) {
        order[n++] = 0;
        if (s->trailing)
            return n;
    }
    for (unsigned d = 1; d < s->ncand; d++)
        order[n++] = d;
    if (s->dots < s->cfg->ndots && (s->dots || s->ncand == 1 || !s->cfg->no_tld_query))
        order[n++] = 0;
    return n;
}

struct settle_arg {
    const struct search *s;
};

/* During an engine call: would the walk end with what has come in? */
static int search_settled(void *arg, const struct item *it, unsigned n, const struct fr_question *race)
{
    const struct settle_arg *sa = arg;
    const struct search *s = sa->s;
    struct outcome o[SEARCH_MAX_CANDS];
    memcpy(o, s->out, sizeof o);
    for (unsigned i = 0; i < n; i += s->n) {
        unsigned k = it[i].cand;
        struct fr_reply rep[FR_ENGINE_PAIR];
        struct qstate qs[FR_ENGINE_PAIR];
        int known = 1;
        for (unsigned j = 0; j < s->n && known; j++) {
            const struct item *t = &it[i + j];
            if (t->race_idx >= 0) {
                const struct fr_question *q = &race[t->race_idx];
                known = q->finished;
                qs[j] = (struct qstate){ .st = q->status, .fail_rcode = q->fail_rcode,
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
            cand_judge(rep, qs, s->n, &o[k]);
    }
    struct walk w;
    search_walk(s, o, &w);
    return w.done;
}

/* Ask candidate `need` and, when asking ahead, the ones after it. */
static enum fr_status search_ask(struct search *s, unsigned need, uint16_t qclass)
{
    unsigned order[SEARCH_MAX_CANDS + 1], norder = search_order(s, order);
    unsigned batch[FR_ENGINE_MAX_NAMES], nb = 0;
    batch[nb++] = need;
    if (search_parallel(s)) {
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
    struct item it[FR_ENGINE_MAX_QUESTIONS];
    unsigned ni = 0;
    for (unsigned b = 0; b < nb; b++) {
        struct cand *c = &s->cand[batch[b]];
        for (unsigned j = 0; j < s->n; j++) {
            free(c->rep[j].msg);
            c->rep[j] = (struct fr_reply){ 0 };
            it[ni++] = (struct item){
                .name = c->full, .qtype = s->qtypes[j], .cand = batch[b], .speculative = b > 0,
                .rep = &c->rep[j], .qs = &c->qs[j],
            };
        }
    }
    if (nb > 1)
        atomic_fetch_add(&n_ahead, nb - 1);
    struct settle_arg sa = { s };
    enum fr_status st = ask(s->cfg, it, ni, qclass, nb > 1 ? search_settled : NULL, &sa);
    if (st != FR_OK)
        return st;   /* FR_NOMEM / FR_PUNT */
    for (unsigned b = 0; b < nb; b++) {
        struct cand *c = &s->cand[batch[b]];
        int abandoned = 0;
        for (unsigned j = 0; j < s->n; j++)
            abandoned |= c->qs[j].abandoned;
        if (!abandoned)
            cand_judge(c->rep, c->qs, s->n, &s->out[batch[b]]);
    }
    return FR_OK;
}

static void search_move_replies(struct search *s, int k, struct fr_search *out)
{
    if (k < 0)
        return;
    for (unsigned j = 0; j < s->n; j++) {
        out->reply[j] = s->cand[k].rep[j];
        s->cand[k].rep[j] = (struct fr_reply){ 0 };
    }
}

static void search_free(struct search *s)
{
    if (!s)
        return;
    for (unsigned k = 0; k < s->ncand; k++)
        for (unsigned j = 0; j < FR_ENGINE_PAIR; j++)
            free(s->cand[k].rep[j].msg);
    free(s);
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
    /* On the heap: a candidate per search domain, each with a full name,
     * is too much for the stack of a host program's small thread. */
    struct search *s = calloc(1, sizeof *s);
    if (!s)
        return FR_NOMEM;
    s->cfg = cfg;
    s->qtypes = qtypes;
    s->n = n;
    s->ncand = search ? 1 + cfg->ndomains : 1;
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
        if (cand_name(name, dom, !search, s->cand[k].full) != FR_OK)
            s->out[k] = (struct outcome){ .known = 1, .st = FR_FAIL };
    }

    if (!search) {
        /* res_query: the name as it is, once. */
        if (!s->out[0].known && (ret = search_ask(s, 0, qclass)) != FR_OK)
            goto done;
        ret = s->out[0].st;
        if (s->out[0].asked)
            search_move_replies(s, 0, out);
        if (ret == FR_OK)
            snprintf(out->name, sizeof out->name, "%s", s->cand[0].full);
        goto done;
    }

    for (;;) {
        search_walk(s, s->out, &w);
        if (w.done)
            break;
        if ((ret = search_ask(s, w.need, qclass)) != FR_OK)
            goto done;
        /* The needed candidate is never asked ahead of need, so it is
         * never abandoned: the walk moves on. */
    }
    ret = w.st;
    out->residual = w.residual;
    if (ret == FR_OK && w.winner >= 0) {
        search_move_replies(s, w.winner, out);
        snprintf(out->name, sizeof out->name, "%s", s->cand[w.winner].full);
        if (w.winner > 0 && s->dots)
            atomic_store(&dotted_hit_ms, fr_clock_now_ms());
    } else {
        /* res_search's caller gets the last candidate's replies. */
        search_move_replies(s, w.last_asked, out);
    }
done:
    search_free(s);
    return ret;
}

void fr_resolve_reap(void)
{
    struct fr_cache *c = atomic_load_explicit(&cache, memory_order_acquire);
    if (c)
        fr_refresh_reap(c);   /* returns at once when nothing is pending */
}

void fr_resolve_stats_print(void)
{
    struct fr_engine_stats es;
    fr_engine_stats(&es);
    struct fr_cache_stats cs = { 0 };
    struct fr_cache *c = atomic_load(&cache);
    if (c)
        fr_cache_stats(c, &cs);
    uint64_t rsent, rstored;
    fr_refresh_counts(&rsent, &rstored);
    fr_log(FR_LOG_ERROR, "stats",
           "questions raced %llu, datagrams sent %llu, won %llu, failed %llu; cache hits %llu, "
           "misses %llu, stale served %llu, entries %zu; refreshes sent %llu, stored %llu; "
           "shared in flight %llu; search candidates asked ahead %llu",
           (unsigned long long)es.questions, (unsigned long long)es.sent,
           (unsigned long long)es.won, (unsigned long long)es.failed,
           (unsigned long long)cs.hits, (unsigned long long)cs.misses,
           (unsigned long long)atomic_load(&n_stale), cs.entries, (unsigned long long)rsent,
           (unsigned long long)rstored, (unsigned long long)atomic_load(&n_shared),
           (unsigned long long)atomic_load(&n_ahead));
    fr_table_print();
}
