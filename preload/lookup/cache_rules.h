/* fastres: the rules both answer caches follow.
 *
 * Contract: one owner for what the in-process cache (cache.h) and the
 * user's shared cache (shcache.h) must agree on: the key of a question and
 * its hash, which replies may be kept and for how long (on top of
 * fr_msg_cache_ttl), the TTL clamps, and how a served copy's TTLs are
 * counted down. Called by cache*.c and shcache*.c only. Pure functions:
 * no state, no lock, no I/O, any thread, nothing to do at fork. */
#ifndef FR_CACHE_RULES_H
#define FR_CACHE_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

/* The key of a question, as both caches use it: name lower-cased (ASCII)
 * into out (max octets) without its one unescaped trailing dot, and a
 * hash of it with qtype and qclass. FR_BADNAME: NULL or longer than max. */
enum fr_status fr_cache_key(const char *name, size_t max, uint16_t qtype, uint16_t qclass, char *out,
                            size_t *outlen, uint32_t *hash);

/* MurmurHash3's finaliser: fmix32 of h's low 32 bits when wide is 0 (the
 * key's hash), fmix64 when 1 (the shared file's checksums). */
uint64_t fr_cache_fmix(uint64_t h, int wide);

/* FR_OK with *ttl (seconds, at most 2^31 - 1) and *negative when the reply
 * may be cached under (key, qtype, qclass): fr_msg_cache_ttl accepts it,
 * its question is exactly that key, its TTL is not 0, and every name in
 * it reads the same after a TTL count-down (fr_msg_names_stable). FR_FAIL
 * otherwise (FR_NOMEM when the names check could not allocate). */
enum fr_status fr_cache_fit(const uint8_t *msg, size_t len, const char *key, size_t keylen, uint16_t qtype,
                            uint16_t qclass, uint32_t *ttl, int *negative);

/* The TTL a cache keeps an accepted reply for: negative answers at most
 * neg_max_ttl, positive ones within [min_ttl, max_ttl] (a maximum of 0:
 * none). *floor_ttl: the least TTL its records are shown with (min_ttl for
 * positive answers, 0 for negative ones). */
uint32_t fr_cache_clamp(uint32_t ttl, int negative, uint32_t min_ttl, uint32_t max_ttl, uint32_t neg_max_ttl,
                        uint32_t *floor_ttl);

/* An entry's age at now_ms: *elapsed whole seconds since it was stored (0
 * when the clock reads earlier), *left seconds until expire_ms, rounded up
 * (expire_ms must be after now_ms). */
void fr_cache_age(uint64_t stored_ms, uint64_t expire_ms, uint64_t now_ms, uint32_t *elapsed, uint32_t *left);

/* Count the TTL of every record of a copy of a stored reply down (both
 * caches serve copies this way): stale: every TTL is the RFC 8767 one;
 * else max(ttl, floor_ttl) - elapsed, at least 0, at most ttl_left, a
 * top-bit TTL read as 0 (RFC 2181 8). The OPT record is left alone. */
void fr_cache_countdown(uint8_t *msg, size_t len, uint32_t elapsed, uint32_t floor_ttl, uint32_t ttl_left,
                        int stale);

#endif
