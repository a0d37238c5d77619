/* fastres: the answer cache shared by the processes of one user.
 *
 * Contract: owns the shared file and every access to it. Called by
 * lookup/ask.c (fr_shcache_get/put/note, behind the in-process cache),
 * shim.c (fr_shcache_stats_print) and scripts/fastres-stat.c (open
 * read-only, stats, walk). Never blocks on another process, never keeps a
 * descriptor, never trusts what it reads. Files: shcache_file.c (create,
 * ownership and mode checks, mapping, header), shcache.c (slot protocol:
 * seqlock, checksum, lookup, store, views), shcache_stats.c (the counters
 * and walk fastres-stat reads), shcache_proc.c (the process's shared
 * cache: settings, opening on first use, the calls above); internals and
 * the file layout in shcache_int.h; the rules it shares with the
 * in-process cache in cache_rules.h.
 *
 * A file of fixed-size slots mapped MAP_SHARED into every process that
 * uses fastres ($XDG_RUNTIME_DIR/fastres-shcache-v1 when that is set, else
 * /dev/shm/fastres-shcache-v1-UID; FASTRES_SHARED_CACHE_PATH overrides),
 * so a new process starts with what the user's other processes already
 * asked: no daemon, no socket, nothing to start. It sits behind the
 * in-process cache (cache.h): asked only on an in-process miss, and every
 * hit is copied into the in-process cache.
 *
 * Trust: the file is as much input as a reply from the wire. It is used
 * only when it is a regular file owned by the user and writable by nobody
 * else (else refused with one log line); every entry read is checked
 * (per-slot sequence number, a checksum keyed by the file's salt and the
 * slot, the key, fr_msg_validate-grade parsing of the reply, consistent
 * times) before it is used, so a crashed writer, a file of garbage or a
 * torn write gives a miss, never a wrong answer or a crash.
 *
 * Concurrency: readers never wait. A slot's sequence number is odd while
 * a writer fills it; a reader seeing it odd, or changed after its copy,
 * counts a miss. A writer claims a slot by compare-and-swap and gives up
 * (the answer stays in its own process) when another writer holds it; a
 * slot held for longer than SHC_STUCK_MS (a writer killed mid-write) is
 * taken over. Nothing in the file is ever a pointer.
 *
 * Time: entries carry absolute CLOCK_REALTIME expiry (see shcache.c on
 * why not CLOCK_MONOTONIC). Fork: the mapping is inherited (MAP_SHARED),
 * no descriptor is kept (closed right after mmap), exec drops the mapping. */
#ifndef FR_SHCACHE_H
#define FR_SHCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "base/status.h"

/* Default file size: 4 MiB holds about 4000 answers of up to 1 KiB, far
 * more names than one user's programs resolve in a TTL, and costs memory
 * only for the pages written (the file lives in tmpfs). */
#define FR_SHCACHE_DEFAULT_KB 4096
/* Bounds of FASTRES_SHARED_CACHE_KB: below 64 KiB a set-associative table
 * has too few sets to be useful; above 256 MiB it is no longer "a cache
 * for one user's stub lookups" and a mistake (a typo in the unit) would
 * eat memory. A file found with another size is used as it is, within the
 * same bounds. */
#define FR_SHCACHE_MIN_KB 64
#define FR_SHCACHE_MAX_KB (256 * 1024)
/* Longest key name shared (text form, no trailing dot): a name on the wire
 * is at most 253 characters; longer text (\DDD escapes) stays in-process. */
#define FR_SHCACHE_NAME_MAX 253

struct fr_shcache;

/* Clamps applied to TTLs on store (as the in-process cache applies them). */
struct fr_shcache_clamp {
    uint32_t min_ttl, max_ttl, neg_max_ttl;   /* 0 max = no maximum */
};

/* Map the file at path, creating it (size bytes, mode 0600) when missing
 * and replacing it when it holds no valid header (garbage, truncated, an
 * older layout). FR_OK with *out set; FR_FAIL when refused (not a regular
 * file, another owner, writable by group or others, a symlink, a size out
 * of bounds): one log line is written, with the reason; FR_AGAIN when the
 * file could not be made now (no space, no permission to create); FR_NOMEM.
 * readonly: map for reading only and never create or replace (fastres-stat). */
enum fr_status fr_shcache_open(const char *path, size_t size, int readonly, struct fr_shcache **out);
/* Unmap. Accepts NULL. */
void fr_shcache_close(struct fr_shcache *sc);

/* Look (name, qtype, qclass) up among the entries stored under view (a
 * hash of the servers and settings that made them: fr_shcache_view).
 * FR_OK: a valid, unexpired entry; its reply copied into msg (cap bytes),
 * every record's TTL counted down to what is left (never above *ttl_left,
 * the entry's remaining life in seconds, rounded up). FR_NOTFOUND
 * otherwise; msg, *len and *ttl_left are then untouched. now_ms is
 * CLOCK_REALTIME in ms (fr_clock_real_ms). */
enum fr_status fr_shcache_lookup(struct fr_shcache *sc, uint64_t view, const char *name, uint16_t qtype,
                                 uint16_t qclass, uint64_t now_ms, uint8_t *msg, size_t cap, size_t *len,
                                 uint32_t *ttl_left);
/* Store a reply under view. FR_OK stored; FR_FAIL not cacheable (as
 * fr_cache_store: rcode, TC, TTL 0, negative without SOA, wrong question);
 * FR_RANGE too large for a slot (stays in-process only); FR_BADNAME;
 * FR_AGAIN: another writer holds the slot (given up, no waiting). */
enum fr_status fr_shcache_store(struct fr_shcache *sc, uint64_t view, const char *name, uint16_t qtype,
                                uint16_t qclass, const uint8_t *msg, size_t len, uint64_t now_ms,
                                const struct fr_shcache_clamp *clamp);

/* Counters kept in the file (by every process) and a walk of the slots. */
struct fr_shcache_stats {
    uint64_t size, created_ms;
    uint32_t slots, live, expired, busy_slots, bad_slots;
    uint64_t live_bytes;                 /* name + reply bytes of live entries */
    uint64_t hits, misses, stores, evictions, contended, rejected;
    /* fastres's counters over every process (fr_shcache_note) */
    uint64_t upstream_questions, upstream_sent, upstream_failed;
};
void fr_shcache_stats(struct fr_shcache *sc, uint64_t now_ms, struct fr_shcache_stats *out);

/* One live entry, for fastres-stat; fn is called per entry found valid. */
struct fr_shcache_entry {
    char name[FR_SHCACHE_NAME_MAX + 1];
    uint16_t qtype, qclass;
    uint32_t ttl_left, hits;
    uint64_t view;
};
void fr_shcache_walk(struct fr_shcache *sc, uint64_t now_ms,
                     void (*fn)(void *arg, const struct fr_shcache_entry *e), void *arg);

/* The view of a configuration: servers (addresses and ports), the bits
 * fastres sets in queries (edns0, trust-ad) and the TTL clamps. Processes
 * with another view (FASTRES_SERVERS, another resolv.conf) neither see
 * nor overwrite each other's entries. */
uint64_t fr_shcache_view(const struct fr_config *cfg);

/* The path the process would use (settings and defaults above); 0 on
 * success, -1 when it does not fit in n. */
int fr_shcache_default_path(char *buf, size_t n);

/* ---- the process's shared cache (resolve.c) ----
 * Opened on first use from the settings FASTRES_SHARED_CACHE (default 1),
 * FASTRES_SHARED_CACHE_PATH, FASTRES_SHARED_CACHE_KB; off in secure
 * execution (AT_SECURE), when cfg->cache_size is 0, and for good in this
 * process after a refusal. Any thread; never blocks on another process. */

/* 1 with the reply in msg (TTLs counted down) when the shared cache has
 * it; 0 otherwise. */
int fr_shcache_get(const struct fr_config *cfg, const char *name, uint16_t qtype, uint16_t qclass, uint8_t *msg,
                   size_t cap, size_t *len);
/* Add to the counters in the file, when the process has it open:
 * questions asked upstream, datagrams sent, questions left unanswered.
 * (Not called on a cache hit: an atomic add on a line every process
 * shares would cost the hit path.) */
void fr_shcache_note(uint64_t questions, uint64_t sent, uint64_t failed);
/* Offer a reply from upstream to the shared cache (no result: best effort). */
void fr_shcache_put(const struct fr_config *cfg, const char *name, uint16_t qtype, uint16_t qclass,
                    const uint8_t *msg, size_t len);
/* One FASTRES_STATS line with this process's hits, misses and stores, when
 * it used the shared cache. */
void fr_shcache_stats_print(void);

#endif
