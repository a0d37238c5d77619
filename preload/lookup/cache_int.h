/* fastres: internal to cache*.c (the in-process answer cache, split by
 * job: cache.c looks up and stores, cache_shards.c makes, clears, counts
 * and guards the shards across fork); nothing else includes this. */
#ifndef FR_CACHE_INT_H
#define FR_CACHE_INT_H

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "lookup/cache.h"

/* Bytes of bookkeeping an entry must not exceed (cache.h promises it in
 * FR_CACHE_ENTRY_MAX). */
#define CACHE_ENTRY_HDR_MAX 128
/* Cache line size on x86-64 (and most arm64): keeps shards' locks and
 * counters off each other's lines. */
#define CACHE_CACHELINE 64

struct fr_cache_entry {
    struct fr_cache_entry *next;  /* bucket chain */
    uint64_t stored_ms;
    uint64_t expire_ms;
    /* 0, or 1 + the time it was last handed out for refresh (the +1 keeps
     * time 0 apart from "never"). Changed under the read lock, so atomic. */
    _Atomic uint64_t refresh_ms;
    uint32_t hash;
    uint32_t ttl;        /* seconds, clamped */
    uint32_t floor_ttl;  /* min_ttl for positive answers: records are shown at least this long */
    uint32_t slot;       /* index in the shard's slot array */
    uint16_t qtype, qclass;
    uint16_t namelen, msglen;
    /* GCLOCK counter, raised by readers under the read lock. */
    _Atomic uint8_t use;
    uint8_t data[];      /* name (namelen octets, no NUL), then the reply */
};
static_assert(sizeof(struct fr_cache_entry) <= CACHE_ENTRY_HDR_MAX, "entry header over its stated bound");
static_assert(FR_CACHE_MSG_MAX <= UINT16_MAX && FR_CACHE_NAME_MAX <= UINT16_MAX, "lengths are kept in 16 bits");

struct fr_cache_shard {
    pthread_rwlock_t lock;
    struct fr_cache_entry **buckets;
    struct fr_cache_entry **slots;
    uint32_t mask;       /* buckets - 1 */
    uint32_t cap, used, hand;
    size_t bytes;
    /* Counters, bumped by readers under the read lock. They share the
     * shard's cache lines, which readers of this shard touch anyway. */
    _Atomic uint64_t hits, misses, stale, refresh, stores, evictions;
} __attribute__((aligned(CACHE_CACHELINE)));

struct fr_cache {
    struct fr_cache_conf conf;
    unsigned shard_bits;
    unsigned nshards;
    struct fr_cache *reg_prev, *reg_next;  /* registry of live caches, for fork */
    int registered;
    struct fr_cache_shard *shards;
};
#endif
