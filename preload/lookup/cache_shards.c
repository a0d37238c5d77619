/* fastres: the in-process cache's shards (see cache.h): create and
 * destroy a cache, clear it, sum its counters, and keep its locks usable
 * across fork (a registry of live caches, with fork.h handlers). */
#include "lookup/cache.h"

#include <stdlib.h>
#include <string.h>

#include "base/fork.h"
#include "lookup/cache_int.h"

/* Shards per cache: many more than the cores of the machines fastres runs
 * on, so two threads seldom meet on one lock; each costs a few cache
 * lines. Must be a power of two. */
#define CACHE_SHARDS 32
/* Fewest entries a shard is given before the cache uses fewer shards: a
 * shard of one or two entries would evict on nearly every store, whatever
 * the hit pattern. */
#define CACHE_SHARD_MIN 8

/* ---- fork safety ----
 * A thread may hold a shard lock at the moment another thread forks; the
 * child's copy of that lock would stay locked forever. The prepare handler
 * therefore takes every lock of every live cache, so the fork happens at a
 * quiet point; the parent releases them, and the child re-initialises them
 * (unlocking is not an option: glibc decides between reader and writer
 * unlock by comparing the owner's TID, and the child's thread has a new
 * one). */
static pthread_mutex_t cache_reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fr_cache *cache_reg_head;
static pthread_once_t cache_reg_once = PTHREAD_ONCE_INIT;
static int cache_reg_atfork_err;

static void fr_cache_fork_prepare(void)
{
    for (struct fr_cache *c = cache_reg_head; c; c = c->reg_next)
        for (unsigned i = 0; i < c->nshards; i++)
            pthread_rwlock_wrlock(&c->shards[i].lock);
}

static void fr_cache_fork_parent(void)
{
    for (struct fr_cache *c = cache_reg_head; c; c = c->reg_next)
        for (unsigned i = 0; i < c->nshards; i++)
            pthread_rwlock_unlock(&c->shards[i].lock);
}

static void fr_cache_lock_init(pthread_rwlock_t *l)
{
    pthread_rwlockattr_t a;
    pthread_rwlockattr_init(&a);
    /* glibc's default prefers readers: a steady stream of hits on one shard
     * could starve a store forever. */
    pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(l, &a);
    pthread_rwlockattr_destroy(&a);
}

static void fr_cache_fork_child(void)
{
    for (struct fr_cache *c = cache_reg_head; c; c = c->reg_next)
        for (unsigned i = 0; i < c->nshards; i++)
            fr_cache_lock_init(&c->shards[i].lock);
}

static const struct fr_fork_handlers fr_cache_fork = {
    .name = "cache", .rank = FR_FORK_RANK_CACHE, .prepare = fr_cache_fork_prepare,
    .parent = fr_cache_fork_parent, .child = fr_cache_fork_child,
    /* The registry lock, held by fork.c around the shard locks. */
    .lock = &cache_reg_lock,
};

static void fr_cache_reg_init(void)
{
    cache_reg_atfork_err = fr_fork_register(&fr_cache_fork);
}
/* ---- create / destroy ---- */

void fr_cache_destroy(struct fr_cache *c)
{
    if (!c)
        return;
    if (c->registered) {
        pthread_mutex_lock(&cache_reg_lock);
        if (c->reg_prev)
            c->reg_prev->reg_next = c->reg_next;
        else
            cache_reg_head = c->reg_next;
        if (c->reg_next)
            c->reg_next->reg_prev = c->reg_prev;
        pthread_mutex_unlock(&cache_reg_lock);
    }
    if (c->shards) {
        for (unsigned i = 0; i < c->nshards; i++) {
            struct fr_cache_shard *sh = &c->shards[i];
            if (sh->slots)
                for (uint32_t j = 0; j < sh->used; j++)
                    free(sh->slots[j]);
            free(sh->slots);
            free(sh->buckets);
            pthread_rwlock_destroy(&sh->lock);
        }
        free(c->shards);
    }
    free(c);
}

struct fr_cache *fr_cache_create(const struct fr_cache_conf *conf)
{
    struct fr_cache *c = NULL, *ret = NULL;
    unsigned n = CACHE_SHARDS, bits = 5;

    static_assert(CACHE_SHARDS == 1u << 5, "bits must match CACHE_SHARDS");
    if (!conf || conf->max_entries == 0)
        goto done;
    pthread_once(&cache_reg_once, fr_cache_reg_init);
    if (cache_reg_atfork_err)
        goto done;
    while (n > 1 && conf->max_entries / n < CACHE_SHARD_MIN) {
        n /= 2;
        bits--;
    }
    c = calloc(1, sizeof(*c));
    if (!c)
        goto done;
    c->conf = *conf;
    c->shard_bits = bits;
    c->shards = aligned_alloc(CACHE_CACHELINE, sizeof(*c->shards) * n);
    if (!c->shards)
        goto done;
    memset(c->shards, 0, sizeof(*c->shards) * n);
    for (unsigned i = 0; i < n; i++) {
        struct fr_cache_shard *sh = &c->shards[i];
        /* Shards together hold exactly max_entries: the remainder goes one
         * each to the first shards. */
        uint32_t cap = conf->max_entries / n + (i < conf->max_entries % n);
        uint32_t nb = 1;
        while (nb < cap)
            nb <<= 1;
        fr_cache_lock_init(&sh->lock);
        c->nshards = i + 1;  /* destroy cleans up to here */
        sh->cap = cap;
        sh->mask = nb - 1;
        sh->buckets = calloc(nb, sizeof(*sh->buckets));
        sh->slots = calloc(cap, sizeof(*sh->slots));
        if (!sh->buckets || !sh->slots)
            goto done;
    }
    pthread_mutex_lock(&cache_reg_lock);
    c->reg_next = cache_reg_head;
    if (cache_reg_head)
        cache_reg_head->reg_prev = c;
    cache_reg_head = c;
    c->registered = 1;
    pthread_mutex_unlock(&cache_reg_lock);
    ret = c;
    c = NULL;
done:
    fr_cache_destroy(c);
    return ret;
}
void fr_cache_clear(struct fr_cache *c)
{
    if (!c)
        return;
    for (unsigned i = 0; i < c->nshards; i++) {
        struct fr_cache_shard *sh = &c->shards[i];
        pthread_rwlock_wrlock(&sh->lock);
        for (uint32_t j = 0; j < sh->used; j++) {
            free(sh->slots[j]);
            sh->slots[j] = NULL;
        }
        memset(sh->buckets, 0, ((size_t)sh->mask + 1) * sizeof(*sh->buckets));
        sh->used = 0;
        sh->hand = 0;
        sh->bytes = 0;
        pthread_rwlock_unlock(&sh->lock);
    }
}

void fr_cache_stats(struct fr_cache *c, struct fr_cache_stats *out)
{
    struct fr_cache_stats s;

    memset(&s, 0, sizeof(s));
    if (c) {
        for (unsigned i = 0; i < c->nshards; i++) {
            struct fr_cache_shard *sh = &c->shards[i];
            s.hits += atomic_load_explicit(&sh->hits, memory_order_relaxed);
            s.misses += atomic_load_explicit(&sh->misses, memory_order_relaxed);
            s.stale += atomic_load_explicit(&sh->stale, memory_order_relaxed);
            s.refresh += atomic_load_explicit(&sh->refresh, memory_order_relaxed);
            s.stores += atomic_load_explicit(&sh->stores, memory_order_relaxed);
            s.evictions += atomic_load_explicit(&sh->evictions, memory_order_relaxed);
            pthread_rwlock_rdlock(&sh->lock);
            s.entries += sh->used;
            s.bytes += sh->bytes;
            pthread_rwlock_unlock(&sh->lock);
        }
    }
    if (out)
        *out = s;
}
