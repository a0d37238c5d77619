/* fastres: the shared cache's slots (see shcache.h for the contract):
 * the seqlock every reader and writer of a slot follows, the keyed
 * checksum of its content, lookup and store in a key's set of ways, and
 * the view that keeps configurations apart.
 *
 * Why CLOCK_REALTIME for expiry: CLOCK_MONOTONIC and CLOCK_BOOTTIME count
 * from boot, and also differ between processes in different time
 * namespaces (containers may run with a clock offset), so an absolute
 * monotonic expiry written by one process would mean another time to a
 * process of another namespace, or after a reboot when the file lives on
 * disk (FASTRES_SHARED_CACHE_PATH). The wall clock is the one clock all
 * processes of a machine share. It can jump: an entry whose stored time
 * is in the future (the clock went back) is ignored, and an entry is
 * never used longer than its TTL after its stored time, so a backward
 * step of at most the elapsed part of the TTL can stretch an entry's life
 * to at most twice its TTL, and a forward step only shortens it. */
#include "lookup/shcache.h"

#include <string.h>

#include "lookup/cache_rules.h"
#include "lookup/shcache_int.h"

/* ---- checksum ----
 * Hand-written: the only checksum in libc is none, and zlib's crc32 would
 * add a library to every process fastres is preloaded into. This one
 * (64-bit multiply-xorshift per 8 octets, murmur3's finaliser at the end)
 * only has to catch torn and random data, not an adversary: a process that
 * can write the file can ptrace the reader anyway. */
uint64_t fr_shcache_sum(uint64_t seed, const void *p, size_t n, uint64_t h)
{
    const uint8_t *b = p;
    h ^= seed;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, b, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15ull;
        h ^= h >> 29;
        b += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, b, n);
    h = (h ^ w ^ ((uint64_t)n << 56)) * 0x9e3779b97f4a7c15ull;
    return fr_cache_fmix(h, 1);
}

uint64_t fr_shcache_slot_sum(const struct fr_shcache *sc, uint32_t idx, const struct shc_head *h,
                             const uint8_t *data)
{
    uint64_t s = fr_shcache_sum(sc->salt ^ ((uint64_t)idx << 32), h, sizeof(*h), 0);
    return fr_shcache_sum(sc->salt, data, (size_t)h->namelen + h->msglen, s);
}

/* ---- keys ---- */

/* The in-process cache's key (cache.h), for names a slot can hold. */
static enum fr_status shc_key(const char *name, uint16_t qtype, uint16_t qclass, char *out, size_t *outlen,
                              uint32_t *hash)
{
    return fr_cache_key(name, FR_SHCACHE_NAME_MAX, qtype, qclass, out, outlen, hash);
}

/* ---- reading a slot ---- */

enum shc_got fr_shcache_copy(const struct fr_shcache *sc, uint32_t idx, const struct shc_want *want,
                             struct shc_copy *c, uint32_t *hits)
{
    struct shc_slot *s = &sc->slots[idx];
    uint32_t q1 = atomic_load_explicit(&s->seq, memory_order_acquire);
    if (q1 == 0)
        return SHC_GOT_EMPTY;
    if (q1 & 1)
        return SHC_GOT_BUSY;
    memcpy(&c->h, (const void *)&s->h, sizeof c->h);
    c->sum = s->sum;
    size_t n = (size_t)c->h.namelen + c->h.msglen;
    int keep = n <= sizeof c->data &&
               (want ? c->h.hash == want->hash && c->h.view == want->view && c->h.qtype == want->qtype &&
                           c->h.qclass == want->qclass && c->h.namelen == want->keylen
                     : c->h.namelen <= FR_SHCACHE_NAME_MAX);
    if (keep)
        memcpy(c->data, (const void *)s->data, n);
    if (hits)
        *hits = atomic_load_explicit(&s->hits, memory_order_relaxed);
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&s->seq, memory_order_relaxed) != q1)
        return SHC_GOT_TORN;
    return keep ? SHC_GOT_COPIED : SHC_GOT_OTHER;
}

/* Copy slot idx out when it is stable and its header is want's (view,
 * key); then check its checksum. 1: *c holds a consistent copy of the
 * key's entry; 0: not this key, empty, busy or torn; -1: damaged
 * (checksum). */
static int shc_read(struct fr_shcache *sc, uint32_t idx, const struct shc_want *want, const char *key,
                    struct shc_copy *c)
{
    for (int tries = 0; tries < SHC_READ_TRIES; tries++) {
        enum shc_got got = fr_shcache_copy(sc, idx, want, c, NULL);
        if (got == SHC_GOT_TORN)
            continue;   /* a writer came by: read again */
        if (got != SHC_GOT_COPIED)
            return 0;
        if (c->sum != fr_shcache_slot_sum(sc, idx, &c->h, c->data))
            return -1;
        return memcmp(c->data, key, want->keylen) == 0;
    }
    return 0;
}

/* Counters live in the file; a read-only mapping (fastres-stat) must not
 * write them. */
static void shc_count(struct fr_shcache *sc, _Atomic uint64_t *ctr)
{
    if (!sc->readonly)
        atomic_fetch_add_explicit(ctr, 1, memory_order_relaxed);
}

static uint32_t shc_set(const struct fr_shcache *sc, uint32_t hash)
{
    return (uint32_t)(((uint64_t)hash * sc->nsets) >> 32) * SHC_WAYS;
}

enum fr_status fr_shcache_lookup(struct fr_shcache *sc, uint64_t view, const char *name, uint16_t qtype,
                                 uint16_t qclass, uint64_t now_ms, uint8_t *msg, size_t cap, size_t *len,
                                 uint32_t *ttl_left)
{
    char key[FR_SHCACHE_NAME_MAX];
    size_t keylen;
    uint32_t hash, ttl;
    int negative;
    struct shc_copy c;
    if (!sc || !msg || shc_key(name, qtype, qclass, key, &keylen, &hash) != FR_OK)
        return FR_NOTFOUND;
    struct shc_want want = { .view = view, .hash = hash, .qtype = qtype, .qclass = qclass, .keylen = keylen };
    uint32_t base = shc_set(sc, hash);
    for (uint32_t w = 0; w < SHC_WAYS; w++) {
        int r = shc_read(sc, base + w, &want, key, &c);
        if (r < 0)
            shc_count(sc, &sc->hdr->rejected);
        if (r <= 0)
            continue;
        const struct shc_head *h = &c.h;
        uint8_t *m = c.data + h->namelen;
        /* Expired, from the future (the clock went back) or too large for
         * the caller: not for us. */
        if (h->stored_ms > now_ms + SHC_SKEW_MS || now_ms >= h->expire_ms || h->msglen > cap)
            continue;
        /* Untrusted: times consistent, and the reply as good as one
         * accepted from a server, for this very question. */
        if (h->ttl == 0 || h->ttl > FR_MSG_TTL_MAX || h->expire_ms != h->stored_ms + (uint64_t)h->ttl * 1000u ||
            fr_cache_fit(m, h->msglen, key, keylen, qtype, qclass, &ttl, &negative) != FR_OK) {
            shc_count(sc, &sc->hdr->rejected);
            continue;
        }
        uint32_t left, elapsed;
        fr_cache_age(h->stored_ms, h->expire_ms, now_ms, &elapsed, &left);
        memcpy(msg, m, h->msglen);
        fr_cache_countdown(msg, h->msglen, elapsed, h->floor_ttl, left, 0);
        *len = h->msglen;
        *ttl_left = left;
        if (!sc->readonly) {
            struct shc_slot *s = &sc->slots[base + w];
            atomic_fetch_add_explicit(&s->hits, 1, memory_order_relaxed);
            uint32_t now_s = (uint32_t)(now_ms / 1000);
            if (atomic_load_explicit(&s->atime_s, memory_order_relaxed) != now_s)
                atomic_store_explicit(&s->atime_s, now_s, memory_order_relaxed);
        }
        shc_count(sc, &sc->hdr->hits);
        return FR_OK;
    }
    shc_count(sc, &sc->hdr->misses);
    return FR_NOTFOUND;
}

/* ---- store ---- */

/* 1 when the writer holding s (seq odd) began over SHC_STUCK_MS ago (or
 * the clock jumped): it was killed or stopped, and the slot is free. */
static int shc_stuck(struct shc_slot *s, uint64_t now_ms)
{
    uint64_t since = atomic_load_explicit(&s->lock_ms, memory_order_relaxed);
    return now_ms >= since + SHC_STUCK_MS || since >= now_ms + SHC_STUCK_MS;
}

/* Claim slot s for writing: its seq goes odd. 0 when another live writer
 * holds it. *held is the odd value written. */
static int shc_claim(struct shc_slot *s, uint64_t now_ms, uint32_t *held)
{
    uint32_t q = atomic_load_explicit(&s->seq, memory_order_relaxed);
    uint32_t want = q + 1;
    if (q & 1) {
        /* Take a dead writer's slot over, keeping seq odd so that readers
         * still skip it. */
        if (!shc_stuck(s, now_ms))
            return 0;
        want = q + 2;
    }
    if (!atomic_compare_exchange_strong_explicit(&s->seq, &q, want, memory_order_acq_rel, memory_order_relaxed))
        return 0;
    atomic_store_explicit(&s->lock_ms, now_ms, memory_order_relaxed);
    /* Order the odd seq before the data writes (seqlock writer). */
    atomic_thread_fence(memory_order_release);
    *held = want;
    return 1;
}

enum fr_status fr_shcache_store(struct fr_shcache *sc, uint64_t view, const char *name, uint16_t qtype,
                                uint16_t qclass, const uint8_t *msg, size_t len, uint64_t now_ms,
                                const struct fr_shcache_clamp *clamp)
{
    char key[FR_SHCACHE_NAME_MAX];
    size_t keylen;
    uint32_t hash, ttl;
    int negative;
    struct shc_copy c;
    enum fr_status st;
    if (!sc || sc->readonly || !msg)
        return FR_FAIL;
    st = shc_key(name, qtype, qclass, key, &keylen, &hash);
    if (st != FR_OK)
        return st;
    if (keylen + len > sizeof c.data)
        return FR_RANGE;
    if (fr_cache_fit(msg, len, key, keylen, qtype, qclass, &ttl, &negative) != FR_OK)
        return FR_FAIL;
    uint32_t floor_ttl = 0;
    if (clamp)
        ttl = fr_cache_clamp(ttl, negative, clamp->min_ttl, clamp->max_ttl, clamp->neg_max_ttl, &floor_ttl);

    /* The way to write: the key's own slot, else an empty one (never
     * written, expired, or left by a dead writer), else the one least
     * recently hit (counted an eviction). */
    struct shc_want want = { .view = view, .hash = hash, .qtype = qtype, .qclass = qclass, .keylen = keylen };
    uint32_t base = shc_set(sc, hash), pick = UINT32_MAX, oldest = UINT32_MAX, oldest_at = UINT32_MAX;
    int evict = 0;
    for (uint32_t w = 0; w < SHC_WAYS && pick == UINT32_MAX; w++) {
        if (shc_read(sc, base + w, &want, key, &c) == 1)
            pick = base + w;
    }
    for (uint32_t w = 0; w < SHC_WAYS && pick == UINT32_MAX; w++) {
        struct shc_slot *s = &sc->slots[base + w];
        uint32_t q = atomic_load_explicit(&s->seq, memory_order_acquire);
        if (q == 0) {
            pick = base + w;
            break;
        }
        /* Unchecked reads (a torn value only picks a worse victim). */
        uint64_t exp = ((volatile struct shc_slot *)s)->h.expire_ms;
        if ((!(q & 1) && now_ms >= exp) || ((q & 1) && shc_stuck(s, now_ms))) {
            pick = base + w;
            break;
        }
        uint32_t at = atomic_load_explicit(&s->atime_s, memory_order_relaxed);
        if (at < oldest_at || oldest == UINT32_MAX) {
            oldest_at = at;
            oldest = base + w;
        }
    }
    if (pick == UINT32_MAX) {
        pick = oldest;
        evict = 1;
    }

    struct shc_slot *s = &sc->slots[pick];
    uint32_t held;
    if (!shc_claim(s, now_ms, &held)) {
        atomic_fetch_add_explicit(&sc->hdr->contended, 1, memory_order_relaxed);
        return FR_AGAIN;
    }
    struct shc_head h = {
        .view = view, .stored_ms = now_ms, .expire_ms = now_ms + (uint64_t)ttl * 1000u, .hash = hash,
        .ttl = ttl, .floor_ttl = floor_ttl, .qtype = qtype, .qclass = qclass,
        .namelen = (uint16_t)keylen, .msglen = (uint16_t)len,
    };
    memcpy(c.data, key, keylen);
    memcpy(c.data + keylen, msg, len);
    memcpy((void *)&s->h, &h, sizeof h);
    memcpy((void *)s->data, c.data, keylen + len);
    s->sum = fr_shcache_slot_sum(sc, pick, &h, c.data);
    atomic_store_explicit(&s->hits, 0, memory_order_relaxed);
    atomic_store_explicit(&s->atime_s, (uint32_t)(now_ms / 1000), memory_order_relaxed);
    /* Release: even again. If our claim was taken over meanwhile (we were
     * stopped for over SHC_STUCK_MS), the other writer's value stands. */
    uint32_t q = held;
    atomic_compare_exchange_strong_explicit(&s->seq, &q, held + 1, memory_order_release, memory_order_relaxed);
    atomic_fetch_add_explicit(&sc->hdr->stores, 1, memory_order_relaxed);
    if (evict)
        atomic_fetch_add_explicit(&sc->hdr->evictions, 1, memory_order_relaxed);
    return FR_OK;
}

/* ---- views ---- */

uint64_t fr_shcache_view(const struct fr_config *cfg)
{
    uint64_t h = fr_shcache_sum(SHC_MAGIC, &cfg->nservers, sizeof cfg->nservers, 0);
    for (unsigned i = 0; i < cfg->nservers && i < FR_MAX_SERVERS; i++)
        h = fr_shcache_sum(i, &cfg->servers[i].addr, cfg->servers[i].addrlen, h);
    uint32_t bits[5] = {(uint32_t)cfg->edns0, (uint32_t)cfg->trust_ad, cfg->cache_min_ttl, cfg->cache_max_ttl,
                        cfg->cache_neg_max_ttl};
    return fr_shcache_sum(0, bits, sizeof bits, h);
}

