/* fastres: the in-process answer cache's lookups and stores (see cache.h
 * for the contract; cache_shards.c makes the shards, cache_rules.c holds
 * the rules shared with the shared cache).
 *
 * Layout: the key space is split by hash into shards, each with its own
 * rwlock, hash table (chained buckets) and slot array. A hit takes only its
 * shard's read lock, copies the reply out and releases the lock before the
 * TTLs in the copy are rewritten, so the time under the lock is one memcpy.
 * Eviction is GCLOCK (CLOCK with a small use counter) over the slot array:
 * a hit raises the entry's counter, the hand lowers counters and takes the
 * first entry at zero or past its stale window. A name hit
 * more often than the hand comes round therefore survives a scan of cold
 * names, which plain LRU/FIFO would flush. */
#include "lookup/cache.h"

#include <stdlib.h>
#include <string.h>

#include "dns/msg.h"
#include "lookup/cache_int.h"
#include "lookup/cache_rules.h"

/* GCLOCK counter ceiling: a hot entry survives this many revolutions of
 * the hand without a hit. Small so that a name that was hot once does not
 * outstay a change of working set for long. */
#define CACHE_USE_MAX 3
/* RFC 8767 / unbound prefetch: refresh in the last 10% of the TTL ... */
#define CACHE_REFRESH_DIV 10
/* ... but at least in the last second, so the refresh has one round trip of
 * time before the entry expires even for short TTLs ... */
#define CACHE_REFRESH_MIN_MS 1000
/* ... and never in the first half of the life, so a reply just stored is
 * not handed out for refresh at once (TTLs of 1-2 s). Handing out only once
 * per lifetime bounds the extra upstream load at one query per TTL. */
#define CACHE_REFRESH_MAX_DIV 2
static struct fr_cache_shard *fr_cache_shard_of(struct fr_cache *c, uint32_t hash)
{
    return &c->shards[c->shard_bits ? hash >> (32 - c->shard_bits) : 0];
}

/* Entry of the key in sh, with the pointer that points at it in its chain
 * (for unlinking). Caller holds sh->lock. */
static struct fr_cache_entry *fr_cache_find(struct fr_cache_shard *sh, const char *key, size_t keylen,
                                            uint32_t hash, uint16_t qtype, uint16_t qclass,
                                            struct fr_cache_entry ***link)
{
    struct fr_cache_entry **pp = &sh->buckets[hash & sh->mask];
    for (struct fr_cache_entry *e = *pp; e; pp = &e->next, e = e->next) {
        if (e->hash == hash && e->qtype == qtype && e->qclass == qclass && e->namelen == keylen &&
            memcmp(e->data, key, keylen) == 0) {
            if (link)
                *link = pp;
            return e;
        }
    }
    return NULL;
}

static size_t fr_cache_entry_size(const struct fr_cache_entry *e)
{
    return sizeof(*e) + e->namelen + e->msglen;
}

static int fr_cache_dead(const struct fr_cache *c, const struct fr_cache_entry *e, uint64_t now_ms)
{
    return now_ms >= e->expire_ms + (uint64_t)c->conf.stale_max * 1000u;
}

/* Unlink e from its bucket chain. Caller holds the write lock. */
static void fr_cache_unlink(struct fr_cache_shard *sh, struct fr_cache_entry *e)
{
    struct fr_cache_entry **pp = &sh->buckets[e->hash & sh->mask];
    while (*pp != e)
        pp = &(*pp)->next;
    *pp = e->next;
}

/* Unlink e from its chain and its slot, keeping the slot array dense (the
 * last entry moves into the hole). Caller holds the write lock and frees e. */
static void fr_cache_remove(struct fr_cache_shard *sh, struct fr_cache_entry *e)
{
    fr_cache_unlink(sh, e);
    sh->used--;
    if (e->slot != sh->used) {
        sh->slots[e->slot] = sh->slots[sh->used];
        sh->slots[e->slot]->slot = e->slot;
    }
    sh->slots[sh->used] = NULL;
    if (sh->hand >= sh->used)
        sh->hand = 0;
    sh->bytes -= fr_cache_entry_size(e);
}

/* Pick the entry to give up for a new one in a full shard (GCLOCK): the
 * first one the hand finds with its counter at zero or past its stale
 * window (whatever its counter). Dead entries are not searched for ahead of
 * the hand: that would cost a walk of the whole shard under the write lock
 * on every store; the hand and lookups reclaim them soon enough. Ends within CACHE_USE_MAX + 1
 * revolutions, since only the hand changes counters under the write lock.
 * *evicted is 1 when a live entry was chosen. */
static struct fr_cache_entry *fr_cache_victim(struct fr_cache *c, struct fr_cache_shard *sh,
                                              uint64_t now_ms, int *evicted)
{
    for (;;) {
        if (sh->hand >= sh->used)
            sh->hand = 0;
        struct fr_cache_entry *e = sh->slots[sh->hand];
        if (fr_cache_dead(c, e, now_ms)) {
            *evicted = 0;
            return e;
        }
        uint8_t u = atomic_load_explicit(&e->use, memory_order_relaxed);
        if (u == 0) {
            *evicted = 1;
            return e;
        }
        atomic_store_explicit(&e->use, (uint8_t)(u - 1), memory_order_relaxed);
        sh->hand++;
    }
}
/* ---- lookup ---- */

enum fr_cache_hit fr_cache_lookup(struct fr_cache *c, const char *name, uint16_t qtype, uint16_t qclass,
                                  uint64_t now_ms, int allow_stale,
                                  uint8_t *msg, size_t cap, size_t *len, uint32_t *ttl_left)
{
    char key[FR_CACHE_NAME_MAX];
    size_t keylen, mlen = 0;
    uint32_t hash, left = 0, elapsed = 0, floor_ttl = 0;
    enum fr_cache_hit hit = FR_CACHE_MISS;
    int dead = 0;

    if (!c || fr_cache_key(name, FR_CACHE_NAME_MAX, qtype, qclass, key, &keylen, &hash) != FR_OK)
        return FR_CACHE_MISS;
    struct fr_cache_shard *sh = fr_cache_shard_of(c, hash);

    pthread_rwlock_rdlock(&sh->lock);
    struct fr_cache_entry *e = fr_cache_find(sh, key, keylen, hash, qtype, qclass, NULL);
    if (!e || e->msglen > cap || !msg)
        goto unlock;
    if (now_ms < e->expire_ms) {
        uint64_t life = (uint64_t)e->ttl * 1000u;
        uint64_t win = life / CACHE_REFRESH_DIV;
        if (win < CACHE_REFRESH_MIN_MS)
            win = CACHE_REFRESH_MIN_MS;
        if (win > life / CACHE_REFRESH_MAX_DIV)
            win = life / CACHE_REFRESH_MAX_DIV;
        hit = FR_CACHE_FRESH;
        if (c->conf.refresh && now_ms >= e->expire_ms - win) {
            uint64_t r = atomic_load_explicit(&e->refresh_ms, memory_order_relaxed);
            /* One caller wins the exchange; the others see FRESH. */
            if ((r == 0 || now_ms >= r - 1 + FR_CACHE_REFRESH_RETRY_MS) &&
                atomic_compare_exchange_strong_explicit(&e->refresh_ms, &r, now_ms + 1,
                                                        memory_order_relaxed, memory_order_relaxed))
                hit = FR_CACHE_REFRESH;
        }
        fr_cache_age(e->stored_ms, e->expire_ms, now_ms, &elapsed, &left);
        floor_ttl = e->floor_ttl;
        /* Raise the use counter only when below the ceiling, so a hot
         * entry's cache line is not written on every hit. */
        uint8_t u = atomic_load_explicit(&e->use, memory_order_relaxed);
        if (u < CACHE_USE_MAX)
            atomic_store_explicit(&e->use, (uint8_t)(u + 1), memory_order_relaxed);
    } else if (!fr_cache_dead(c, e, now_ms)) {
        if (allow_stale) {
            hit = FR_CACHE_STALE;
            left = FR_CACHE_STALE_TTL;
        }
    } else {
        dead = 1;
    }
    if (hit != FR_CACHE_MISS) {
        mlen = e->msglen;
        memcpy(msg, e->data + e->namelen, mlen);
    }
unlock:
    switch (hit) {
    case FR_CACHE_MISS: atomic_fetch_add_explicit(&sh->misses, 1, memory_order_relaxed); break;
    case FR_CACHE_STALE: atomic_fetch_add_explicit(&sh->stale, 1, memory_order_relaxed); break;
    case FR_CACHE_REFRESH: atomic_fetch_add_explicit(&sh->refresh, 1, memory_order_relaxed);
        /* fall through: a refresh hit is also a hit */
    case FR_CACHE_FRESH: atomic_fetch_add_explicit(&sh->hits, 1, memory_order_relaxed); break;
    }
    pthread_rwlock_unlock(&sh->lock);

    if (dead) {
        /* Lazy reclaim: an entry past its stale window is freed by the
         * first lookup that finds it. It may have been replaced or removed
         * between the two locks, so look again. */
        struct fr_cache_entry *victim = NULL;
        pthread_rwlock_wrlock(&sh->lock);
        e = fr_cache_find(sh, key, keylen, hash, qtype, qclass, NULL);
        if (e && fr_cache_dead(c, e, now_ms)) {
            fr_cache_remove(sh, e);
            victim = e;
        }
        pthread_rwlock_unlock(&sh->lock);
        free(victim);
    }
    if (hit == FR_CACHE_MISS)
        return hit;
    fr_cache_countdown(msg, mlen, elapsed, floor_ttl, left, hit == FR_CACHE_STALE);
    *len = mlen;
    *ttl_left = left;
    return hit;
}

/* ---- store ---- */

enum fr_status fr_cache_store(struct fr_cache *c, const char *name, uint16_t qtype, uint16_t qclass,
                              const uint8_t *msg, size_t len, uint64_t now_ms)
{
    char key[FR_CACHE_NAME_MAX];
    size_t keylen;
    uint32_t hash, ttl;
    int negative;
    enum fr_status st;
    struct fr_cache_entry *e = NULL, *old = NULL;

    if (!c || !msg) {
        st = FR_FAIL;
        goto done;
    }
    if (len > FR_CACHE_MSG_MAX) {
        st = FR_RANGE;
        goto done;
    }
    st = fr_cache_key(name, FR_CACHE_NAME_MAX, qtype, qclass, key, &keylen, &hash);
    if (st != FR_OK)
        goto done;
    /* FR_FAIL, or FR_NOMEM from the names check. */
    st = fr_cache_fit(msg, len, key, keylen, qtype, qclass, &ttl, &negative);
    if (st != FR_OK)
        goto done;
    uint32_t floor_ttl;
    ttl = fr_cache_clamp(ttl, negative, c->conf.min_ttl, c->conf.max_ttl, c->conf.neg_max_ttl, &floor_ttl);

    e = malloc(sizeof(*e) + keylen + len);
    if (!e) {
        st = FR_NOMEM;
        goto done;
    }
    memset(e, 0, sizeof(*e));
    e->stored_ms = now_ms;
    e->expire_ms = now_ms + (uint64_t)ttl * 1000u;
    e->hash = hash;
    e->ttl = ttl;
    e->floor_ttl = floor_ttl;
    e->qtype = qtype;
    e->qclass = qclass;
    e->namelen = (uint16_t)keylen;
    e->msglen = (uint16_t)len;
    memcpy(e->data, key, keylen);
    memcpy(e->data + keylen, msg, len);

    struct fr_cache_shard *sh = fr_cache_shard_of(c, hash);
    struct fr_cache_entry **link;
    pthread_rwlock_wrlock(&sh->lock);
    old = fr_cache_find(sh, key, keylen, hash, qtype, qclass, &link);
    if (old) {
        /* Replace in place: same chain position and slot; a hot name stays
         * hot across refreshes. */
        e->next = old->next;
        e->slot = old->slot;
        atomic_store_explicit(&e->use, atomic_load_explicit(&old->use, memory_order_relaxed),
                              memory_order_relaxed);
        *link = e;
        sh->slots[e->slot] = e;
        sh->bytes -= fr_cache_entry_size(old);
    } else {
        if (sh->used < sh->cap) {
            e->slot = sh->used++;
        } else {
            /* Full: the victim's slot is the hand's; the new entry takes it
             * with use 0 and the hand moves on, so the new entry is the
             * last the hand reaches and gets a full revolution to be hit. */
            int evicted;
            old = fr_cache_victim(c, sh, now_ms, &evicted);
            fr_cache_unlink(sh, old);
            sh->bytes -= fr_cache_entry_size(old);
            if (evicted)
                atomic_fetch_add_explicit(&sh->evictions, 1, memory_order_relaxed);
            e->slot = old->slot;
            sh->hand = old->slot + 1;
        }
        sh->slots[e->slot] = e;
        struct fr_cache_entry **b = &sh->buckets[hash & sh->mask];
        e->next = *b;
        *b = e;
    }
    sh->bytes += fr_cache_entry_size(e);
    atomic_fetch_add_explicit(&sh->stores, 1, memory_order_relaxed);
    pthread_rwlock_unlock(&sh->lock);
    e = NULL;
    st = FR_OK;
done:
    free(old);
    free(e);
    return st;
}
