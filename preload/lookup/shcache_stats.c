/* fastres: what fastres-stat reads from the shared cache (see shcache.h):
 * the counters every process adds to in the file's header, and a walk of
 * the slots (live, expired, busy, damaged; each live entry). */
#include "lookup/shcache.h"

#include <string.h>

#include "lookup/shcache_int.h"

void fr_shcache_walk(struct fr_shcache *sc, uint64_t now_ms,
                     void (*fn)(void *arg, const struct fr_shcache_entry *e), void *arg)
{
    struct shc_copy c;
    if (!sc)
        return;
    for (uint32_t i = 0; i < sc->nslots; i++) {
        uint32_t hits;
        if (fr_shcache_copy(sc, i, NULL, &c, &hits) != SHC_GOT_COPIED ||
            c.sum != fr_shcache_slot_sum(sc, i, &c.h, c.data))
            continue;
        /* Re-checked as a lookup would, through the lookup itself. */
        struct fr_shcache_entry e;
        memcpy(e.name, c.data, c.h.namelen);
        e.name[c.h.namelen] = '\0';
        if (strlen(e.name) != c.h.namelen)
            continue;
        uint8_t msg[sizeof c.data];
        size_t len;
        if (fr_shcache_lookup(sc, c.h.view, e.name, c.h.qtype, c.h.qclass, now_ms, msg, sizeof msg, &len,
                              &e.ttl_left) != FR_OK)
            continue;
        e.qtype = c.h.qtype;
        e.qclass = c.h.qclass;
        e.hits = hits;
        e.view = c.h.view;
        fn(arg, &e);
    }
}

void fr_shcache_stats(struct fr_shcache *sc, uint64_t now_ms, struct fr_shcache_stats *out)
{
    struct fr_shcache_stats s;
    struct shc_copy c;
    memset(&s, 0, sizeof s);
    if (sc) {
        s.size = sc->size;
        s.created_ms = sc->hdr->created_ms;
        s.slots = sc->nslots;
        s.hits = atomic_load_explicit(&sc->hdr->hits, memory_order_relaxed);
        s.misses = atomic_load_explicit(&sc->hdr->misses, memory_order_relaxed);
        s.stores = atomic_load_explicit(&sc->hdr->stores, memory_order_relaxed);
        s.evictions = atomic_load_explicit(&sc->hdr->evictions, memory_order_relaxed);
        s.contended = atomic_load_explicit(&sc->hdr->contended, memory_order_relaxed);
        s.rejected = atomic_load_explicit(&sc->hdr->rejected, memory_order_relaxed);
        s.upstream_questions = atomic_load_explicit(&sc->hdr->upstream_questions, memory_order_relaxed);
        s.upstream_sent = atomic_load_explicit(&sc->hdr->upstream_sent, memory_order_relaxed);
        s.upstream_failed = atomic_load_explicit(&sc->hdr->upstream_failed, memory_order_relaxed);
        for (uint32_t i = 0; i < sc->nslots; i++) {
            enum shc_got got = fr_shcache_copy(sc, i, NULL, &c, NULL);
            if (got == SHC_GOT_BUSY)
                s.busy_slots++;
            if (got != SHC_GOT_COPIED && got != SHC_GOT_OTHER)
                continue;
            /* OTHER: lengths that do not fit a slot. */
            if (got == SHC_GOT_OTHER || c.sum != fr_shcache_slot_sum(sc, i, &c.h, c.data)) {
                s.bad_slots++;
            } else if (now_ms >= c.h.expire_ms || c.h.stored_ms > now_ms + SHC_SKEW_MS) {
                s.expired++;
            } else {
                s.live++;
                s.live_bytes += (uint64_t)c.h.namelen + c.h.msglen;
            }
        }
    }
    if (out)
        *out = s;
}

