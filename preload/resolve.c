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
    struct inflight *lead;    /* we lead this question's in-flight slot */
    struct inflight *follow;  /* we wait for this slot */
};

/* Ask the questions for one fully qualified name (no search). */
static enum fr_status ask(const struct fr_config *cfg, const char *name, const uint16_t *qtypes,
                          unsigned n, uint16_t qclass, struct fr_reply *rep, struct qstate *qs)
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
        qs[i] = (struct qstate){ .st = FR_AGAIN, .fail_rcode = -1 };
        enum fr_cache_hit h = fr_cache_lookup(c, name, qtypes[i], qclass, now, 0, buf, sizeof buf,
                                              &len, &ttl);
        if (h != FR_CACHE_MISS) {
            /* In the last part of the entry's life: answer from the cache
             * now and let the refresh come in behind (refresh.h). */
            if (h == FR_CACHE_REFRESH)
                fr_refresh_start(cfg, name, qtypes[i], qclass);
            reply_set(&rep[i], buf, len);
            reply_recase(&rep[i], name);
            qs[i].st = rep[i].msg ? FR_OK : FR_NOMEM;
            continue;
        }
        /* Join a question another thread is already racing, or lead it. */
        if (inflight_ok) {
            pthread_mutex_lock(&inflight_lock);
            struct inflight *f = inflight_find(name, qtypes[i], qclass);
            if (f && !f->done) {
                f->waiters++;
                qs[i].follow = f;
            } else {
                for (unsigned k = 0; k < INFLIGHT_MAX && !f; k++)
                    if (!inflight[k].used)
                        f = &inflight[k];
                if (f && !f->used) {
                    memset(f, 0, sizeof *f);
                    f->used = 1;
                    snprintf(f->name, sizeof f->name, "%s", name);
                    f->qtype = qtypes[i];
                    f->qclass = qclass;
                    qs[i].lead = f;
                }
            }
            pthread_mutex_unlock(&inflight_lock);
        }
        if (qs[i].follow)
            continue;
        race[nrace] = (struct fr_question){ .name = name, .qtype = qtypes[i], .qclass = qclass };
        idx[nrace++] = i;
    }

    if (nrace) {
        enum fr_status est = fr_engine_race(cfg, race, nrace);
        for (unsigned r = 0; r < nrace; r++) {
            unsigned i = idx[r];
            if (est != FR_OK) {
                race[r].status = est;
                ret = est;
            }
            qs[i].st = race[r].status;
            qs[i].fail_rcode = race[r].fail_rcode;
            qs[i].conn_refused = race[r].conn_refused;
            if (race[r].status == FR_OK) {
                rep[i].msg = race[r].answer;
                rep[i].len = race[r].answer_len;
                fr_cache_store(c, name, qtypes[i], qclass, rep[i].msg, rep[i].len, now);
            }
            if (qs[i].lead) {
                pthread_mutex_lock(&inflight_lock);
                struct inflight *f = qs[i].lead;
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
        struct inflight *f = qs[i].follow;
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
            qs[i].st = f->result.status;
            qs[i].fail_rcode = f->result.fail_rcode;
            qs[i].conn_refused = f->result.conn_refused;
            if (f->result.status == FR_OK) {
                reply_set(&rep[i], f->result.answer, f->result.answer_len);
                reply_recase(&rep[i], name);
                if (!rep[i].msg)
                    qs[i].st = FR_NOMEM;
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
        if (qs[i].st != FR_AGAIN || !c)
            continue;
        if (fr_cache_lookup(c, name, qtypes[i], qclass, fr_clock_now_ms(), 1, buf, sizeof buf, &len,
                            &ttl) == FR_CACHE_STALE) {
            reply_set(&rep[i], buf, len);
            reply_recase(&rep[i], name);
            if (rep[i].msg) {
                qs[i].st = FR_OK;
                atomic_fetch_add(&n_stale, 1);
                fr_log(FR_LOG_INFO, "resolve", "no server answered %s; serving a stale answer", name);
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
    for (unsigned i = 0; i < FR_ENGINE_MAX_QUESTIONS; i++) {
        free(s->reply[i].msg);
        s->reply[i].msg = NULL;
        s->reply[i].len = 0;
    }
}

/* One candidate, as __res_context_querydomain: builds name.domain (or
 * name alone), applies glibc's length checks, asks. *stop is set when the
 * search must not go on. */
static enum fr_status candidate(const struct fr_config *cfg, const char *name, const char *domain,
                                const uint16_t *qtypes, unsigned n, uint16_t qclass, int raw,
                                struct fr_search *out, int *servfail, int *refused)
{
    char full[FR_RESOLVE_NAME_MAX];
    size_t nl = strlen(name);
    struct qstate qs[FR_ENGINE_MAX_QUESTIONS];
    *servfail = 0;
    *refused = 0;
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

    fr_search_free(out);
    enum fr_status st = ask(cfg, full, qtypes, n, qclass, out->reply, qs);
    if (st != FR_OK)
        return st;   /* FR_NOMEM / FR_PUNT */
    int all_refused = 1;
    *servfail = 0;
    *refused = 0;
    for (unsigned i = 0; i < n; i++) {
        if (qs[i].st == FR_BADNAME)
            return FR_FAIL;   /* res_mkquery failed: NO_RECOVERY */
        if (qs[i].st == FR_NOMEM || qs[i].st == FR_PUNT)
            return qs[i].st;
        if (qs[i].fail_rcode == FR_RCODE_SERVFAIL)
            *servfail = 1;
        if (qs[i].st != FR_AGAIN || !qs[i].conn_refused)
            all_refused = 0;
    }
    *refused = all_refused;
    st = classify(out->reply, qs, n);
    if (st == FR_OK)
        snprintf(out->name, sizeof out->name, "%s", full);
    return st;
}

enum fr_status fr_resolve_search(const struct fr_config *cfg, const char *name, const uint16_t *qtypes,
                                 unsigned n, uint16_t qclass, int search, struct fr_search *out)
{
    unsigned dots = 0;
    size_t len = strlen(name);
    int trailing = len > 0 && name[len - 1] == '.';
    int servfail = 0, refused = 0, got_nodata = 0, got_servfail = 0, tried_as_is = 0;
    int searched = 0, root_on_list = 0;
    enum fr_status st, saved = FR_NOTFOUND, last = FR_NOTFOUND;
    int have_saved = 0;

    memset(out, 0, sizeof *out);
    out->residual = FR_NOTFOUND;
    for (const char *p = name; *p; p++)
        dots += *p == '.';

    if (!search) {
        st = candidate(cfg, name, NULL, qtypes, n, qclass, 1, out, &servfail, &refused);
        return st;
    }

    if (dots >= cfg->ndots || trailing) {
        st = candidate(cfg, name, NULL, qtypes, n, qclass, 0, out, &servfail, &refused);
        if (st == FR_OK || trailing || st == FR_NOMEM || st == FR_PUNT)
            return st;
        saved = st;
        have_saved = 1;
        tried_as_is = 1;
        out->residual = st;
    }

    /* glibc's RES_DEFNAMES and RES_DNSRCH are on by default and fastres
     * punts when a program changed _res, so both are on here. */
    if (!dots || !trailing) {
        for (unsigned d = 0; d < cfg->ndomains; d++) {
            const char *dom = cfg->domains[d];
            searched = 1;
            if (dom[0] == '.')
                dom++;
            if (dom[0] == '\0')
                root_on_list = 1;
            st = candidate(cfg, name, dom, qtypes, n, qclass, 0, out, &servfail, &refused);
            if (st == FR_OK || st == FR_NOMEM || st == FR_PUNT)
                return st;
            last = st;
            out->residual = st;
            if (refused)
                return FR_AGAIN;   /* glibc: errno ECONNREFUSED, no server present */
            if (st == FR_NODATA) {
                got_nodata = 1;
                continue;
            }
            if (st == FR_NOTFOUND)
                continue;
            if (st == FR_AGAIN && servfail) {
                got_servfail = 1;
                continue;
            }
            break;   /* anything else: stop searching */
        }
    }

    if ((dots || !searched || !cfg->no_tld_query) && !(tried_as_is || root_on_list)) {
        st = candidate(cfg, name, NULL, qtypes, n, qclass, 0, out, &servfail, &refused);
        if (st == FR_OK || st == FR_NOMEM || st == FR_PUNT)
            return st;
        last = st;
    }

    if (have_saved)
        return saved;
    if (got_nodata)
        return FR_NODATA;
    if (got_servfail)
        return FR_AGAIN;
    /* glibc: the h_errno of the last query made (HOST_NOT_FOUND when no
     * query was made at all). */
    return last;
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
           "shared in flight %llu",
           (unsigned long long)es.questions, (unsigned long long)es.sent,
           (unsigned long long)es.won, (unsigned long long)es.failed,
           (unsigned long long)cs.hits, (unsigned long long)cs.misses,
           (unsigned long long)atomic_load(&n_stale), cs.entries, (unsigned long long)rsent,
           (unsigned long long)rstored, (unsigned long long)atomic_load(&n_shared));
    fr_table_print();
}
