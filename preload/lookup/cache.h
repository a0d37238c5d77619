/* fastres: the in-process answer cache (storage layer).
 *
 * Contract: owns the process's replies by question: lookup with refresh
 * and stale verdicts, store, clear, counters. Called by lookup/ask.c (the
 * cache singleton, lookups and stores) and lookup/refresh.c (stores of
 * refreshed replies). Never does I/O, logs, or starts a thread; time comes
 * in as an argument. Files: cache.c (lookup, store, GCLOCK eviction),
 * cache_shards.c (create, destroy, clear, statistics, fork), internals in
 * cache_int.h; the rules it shares with shcache.h (key, what may be
 * kept, TTL clamps and count-down) are cache_rules.h's.
 *
 * Stores raw DNS replies (wire form) keyed by (name, qtype, qclass); the
 * name is compared ignoring ASCII case and one trailing dot. Modelled on
 * c-ares 1.23's ares_qcache.c (time passed in by the caller, positive TTL =
 * smallest answer TTL, negative TTL from the SOA, TTL 0 and truncated or
 * failed replies not stored, TTLs counted down in what is handed out), with
 * what c-ares' single-threaded cache does not need: sharded locks so that
 * all threads of a process share one cache, a hard entry bound with
 * CLOCK eviction, refresh-ahead and serve-stale (RFC 8767).
 *
 * Memory bound: at most max_entries entries, each at most
 * FR_CACHE_ENTRY_MAX bytes (bookkeeping + key + a reply of at most
 * FR_CACHE_MSG_MAX octets; 5248 bytes, so 10,000 entries stay under
 * 53 MB even if every reply were 4 KiB; a typical 100-octet A reply takes
 * about 200), plus fixed tables of at most 3 pointers per entry allocated
 * at create. fr_cache_stats() reports the entry bytes in use.
 *
 * Threads: every function may be called from any thread at any time, except
 * that fr_cache_destroy() must not race with other calls on the same cache.
 * Fork: the child keeps the parent's entries and may use the cache at once
 * (locks are taken around fork by handlers registered with fork.h). */
#ifndef FR_CACHE_H
#define FR_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

/* Largest reply stored. Replies above the classic 512-octet UDP limit come
 * from EDNS (DNS flag day 2020 recommends a 1232-octet buffer) or TCP; the
 * few larger than 4096 are bulk TXT/DNSSEC data that a stub's callers
 * rarely ask twice, and storing up to 65535 octets would make the bound
 * max_entries x 64 KiB. */
#define FR_CACHE_MSG_MAX 4096
/* Longest key name in text form: MAXDNAME (1025 with the NUL) from
 * arpa/nameser.h, the size dn_expand may produce with \DDD escapes. */
#define FR_CACHE_NAME_MAX 1024
/* RFC 8767 4: TTL put on records served stale ("30 seconds is
 * recommended"). */
#define FR_CACHE_STALE_TTL 30
/* A refresh handed out that has not stored a new reply after this long is
 * taken to have failed, and the entry is handed out for refresh again.
 * fastres sends every query to all servers at once, so a healthy refresh
 * lands within one round trip (well under a second); 3 s also covers one
 * lost packet and a retry, while still leaving room for several attempts
 * in the refresh window of a TTL of a minute or more. */
#define FR_CACHE_REFRESH_RETRY_MS 3000
/* Upper bound of one entry's memory: bookkeeping (checked at compile time
 * in cache_int.h to be at most 128 bytes), key and reply. */
#define FR_CACHE_ENTRY_MAX (128 + FR_CACHE_NAME_MAX + FR_CACHE_MSG_MAX)

struct fr_cache_conf {
    unsigned max_entries;      /* 0 = cache off */
    uint32_t min_ttl, max_ttl; /* clamp for positive answers, seconds; max_ttl 0 = no maximum */
    uint32_t neg_max_ttl;      /* clamp for negative answers; 0 = no maximum */
    uint32_t stale_max;        /* seconds past expiry an entry may still be served stale (RFC 8767); 0 = never */
    int refresh;               /* 1 = report FR_CACHE_REFRESH once per entry in the last part of its life */
};

enum fr_cache_hit { FR_CACHE_MISS, FR_CACHE_FRESH, FR_CACHE_REFRESH, FR_CACHE_STALE };

struct fr_cache;

/* NULL on failure or max_entries 0. */
struct fr_cache *fr_cache_create(const struct fr_cache_conf *conf);
/* Accepts NULL. No other call on c may run concurrently. */
void fr_cache_destroy(struct fr_cache *c);

/* Copy the stored reply for (name, qtype, qclass) into msg (cap bytes).
 * FR_CACHE_FRESH: within its TTL.
 * FR_CACHE_REFRESH: within its TTL but in its refresh window (the last 10%
 *   of its life, at least the last second, at most the second half; see
 *   cache.c). Given to one caller per entry, who should query upstream and
 *   fr_cache_store() the new reply; if no new reply is stored within
 *   FR_CACHE_REFRESH_RETRY_MS the entry is handed out for refresh again.
 *   Only with conf->refresh set; otherwise such hits are FR_CACHE_FRESH.
 * FR_CACHE_STALE: expired less than stale_max seconds ago, returned only
 *   when allow_stale is 1 (the engine asks again with it after every
 *   upstream failed); without allow_stale such entries are a MISS.
 * FR_CACHE_MISS: nothing usable, or the reply does not fit in cap; msg,
 *   *len and *ttl_left are then untouched.
 * On a hit *len is the reply's length and *ttl_left the remaining TTL in
 * seconds, rounded up (FR_CACHE_STALE_TTL for stale hits). Every record's
 * TTL in the copy is counted down to what is left of it and never above
 * *ttl_left (set to FR_CACHE_STALE_TTL when stale); the OPT pseudo-record
 * is left alone. The copy keeps the message ID of the stored reply: the
 * caller sets the ID of its own query. A NULL cache is always a MISS. */
enum fr_cache_hit fr_cache_lookup(struct fr_cache *c, const char *name, uint16_t qtype, uint16_t qclass,
                                  uint64_t now_ms, int allow_stale,
                                  uint8_t *msg, size_t cap, size_t *len, uint32_t *ttl_left);

/* Store a reply, replacing any entry of the same key. The TTL comes from
 * fr_msg_cache_ttl() and is clamped by the conf.
 * FR_OK: stored. FR_FAIL: must not be cached (fr_msg_cache_ttl refused it:
 * SERVFAIL and other rcodes, TC, malformed, negative without SOA; TTL 0;
 * question not (name, qtype, qclass); a name compressed into the header
 * or a TTL field, which would read differently once served: see
 * fr_msg_names_stable). FR_RANGE: reply longer than
 * FR_CACHE_MSG_MAX. FR_BADNAME: name longer than FR_CACHE_NAME_MAX.
 * FR_NOMEM: allocation failed (the old entry, if any, stays). */
enum fr_status fr_cache_store(struct fr_cache *c, const char *name, uint16_t qtype, uint16_t qclass,
                              const uint8_t *msg, size_t len, uint64_t now_ms);

/* Drop every entry (resolv.conf changed). Statistics counters are kept. */
void fr_cache_clear(struct fr_cache *c);

/* hits: FRESH + REFRESH answers; refresh: of those, REFRESH; stale: STALE
 * answers; misses: MISS answers. So lookups = hits + stale + misses.
 * stores: successful stores; evictions: live entries pushed out to make
 * room (not expired ones reclaimed, not replaced ones, not clear()).
 * entries/bytes: current content (bytes of entries, without the fixed
 * tables). */
struct fr_cache_stats { uint64_t hits, misses, stale, refresh, stores, evictions; size_t entries, bytes; };
void fr_cache_stats(struct fr_cache *c, struct fr_cache_stats *out);

#endif
