/* fastres: internal to shcache*.c (the shared cache, split by job:
 * shcache_file.c the file, shcache.c the slot protocol, shcache_stats.c
 * what fastres-stat reads, shcache_proc.c the process's own use of it);
 * nothing else includes this.
 *
 * File layout (all integers in host order: the file never leaves the
 * machine, and is replaced if a host of another byte order wrote it,
 * since its header then fails the checks):
 *
 *   [0, 4096)  header: magic, layout version, geometry, a random salt,
 *              a checksum over those, then shared counters
 *   [4096, ...) slots of SHC_SLOT bytes, grouped in sets of SHC_WAYS:
 *              a key hashes to one set and lives in any of its ways
 *              (set-associative, like a CPU cache: no chains, no pointers,
 *              a bounded number of slots looked at per lookup)
 *
 * A slot: seq (even: stable, odd: being written, 0: never written),
 * atime/hits (eviction and statistics, not trusted for anything else),
 * lock_ms (when the current writer started), then the checksummed part:
 * view, times, key and reply. */
#ifndef FR_SHCACHE_INT_H
#define FR_SHCACHE_INT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/msg.h"
#include "lookup/shcache.h"

/* "FRSHCAC" + layout version 1; the version is also in the file name, so
 * two fastres releases with different layouts use different files rather
 * than replacing each other's. */
#define SHC_MAGIC 0x4652534843414331ull
#define SHC_VERSION 1
#define SHC_NAME "fastres-shcache-v1"
/* The header takes one page, so slots start page-aligned. */
#define SHC_HEADER 4096
/* One slot: holds an A/AAAA reply with a few CNAMEs (typically 50-300
 * octets) and its name; larger replies stay in the in-process cache. 1 KiB
 * keeps a slot within 16 cache lines and 4 slots per page. */
#define SHC_SLOT 1024
/* Ways per set: a lookup reads at most this many slot headers; 8 keeps
 * the miss cost at a few hundred ns and collisions rare. */
#define SHC_WAYS 8
/* A slot held by a writer for longer than this is taken over: a write
 * takes microseconds, so its writer has been killed or stopped. */
#define SHC_STUCK_MS 1000
/* A stored time this far in the future is a clock that went back (or a
 * forged entry); a little slack for processes reading the clock a few
 * milliseconds apart. */
#define SHC_SKEW_MS 2000
/* Reads of a slot retried when its writer changed it meanwhile. */
#define SHC_READ_TRIES 2

struct shc_head {            /* checksummed */
    uint64_t view;
    uint64_t stored_ms;      /* CLOCK_REALTIME */
    uint64_t expire_ms;      /* stored_ms + ttl * 1000 */
    uint32_t hash;
    uint32_t ttl;            /* seconds, clamped */
    uint32_t floor_ttl;      /* min_ttl for positive answers */
    uint16_t qtype, qclass;
    uint16_t namelen, msglen;
    uint32_t pad;
};

struct shc_slot {
    _Atomic uint32_t seq;
    _Atomic uint32_t atime_s;   /* last hit or store, wall seconds */
    _Atomic uint64_t lock_ms;   /* when the writer holding seq odd began */
    _Atomic uint32_t hits;
    uint32_t pad;
    uint64_t sum;               /* of head and data[0 .. namelen + msglen) */
    struct shc_head h;
    uint8_t data[SHC_SLOT - 32 - sizeof(struct shc_head)];
};
_Static_assert(sizeof(struct shc_slot) == SHC_SLOT, "slot size");
_Static_assert(FR_SHCACHE_NAME_MAX + FR_MSG_UDP_MAX <= sizeof(((struct shc_slot *)0)->data),
               "a slot holds any 512-octet reply with the longest name");

struct shc_file {
    uint64_t magic;
    uint32_t version, slot_size, ways, nslots;
    uint64_t size;              /* of the file, bytes */
    uint64_t salt;              /* random: keys the checksums */
    uint64_t created_ms;
    uint64_t sum;               /* of the fields above */
    /* Counters of all processes (relaxed atomics; not trusted). */
    _Atomic uint64_t hits, misses, stores, evictions, contended, rejected;
    /* fastres's own counters, added as things happen, so fastres-stat
     * shows them for programs that never print FASTRES_STATS (they leave
     * with _exit, as ssh does). Zero in a file made before they existed:
     * the header area was zero there. */
    _Atomic uint64_t upstream_questions, upstream_sent, upstream_failed;
};
_Static_assert(sizeof(struct shc_file) <= SHC_HEADER, "header size");

struct fr_shcache {
    uint8_t *base;
    size_t size;
    int readonly;
    uint32_t nslots, nsets;
    uint64_t salt;
    struct shc_file *hdr;
    struct shc_slot *slots;
};

/* A reader's own copy of a slot's checksummed part. */
struct shc_copy {
    struct shc_head h;
    uint64_t sum;
    uint8_t data[sizeof(((struct shc_slot *)0)->data)];
};

/* Checksum of n octets at p, seeded, continuing from h (shcache.c). */
uint64_t fr_shcache_sum(uint64_t seed, const void *p, size_t n, uint64_t h);
/* Checksum of slot idx's head and data (shcache.c). */
uint64_t fr_shcache_slot_sum(const struct fr_shcache *sc, uint32_t idx, const struct shc_head *h,
                             const uint8_t *data);

/* What one read of a slot under its seqlock found. */
enum shc_got {
    SHC_GOT_EMPTY,   /* never written */
    SHC_GOT_BUSY,    /* a writer holds it (seq odd) */
    SHC_GOT_TORN,    /* a writer came by during the copy: the copy is garbage */
    SHC_GOT_OTHER,   /* stable, but not a head the reader wants: data not copied */
    SHC_GOT_COPIED,  /* *c is a consistent copy (its checksum not yet checked) */
};

/* The slots a reader wants: those of one (view, key) when given, else any
 * whose name and reply fit a slot. */
struct shc_want {
    uint64_t view;
    uint32_t hash;
    uint16_t qtype, qclass;
    size_t keylen;
};

/* The reader's side of a slot's seqlock, once (shcache.c): copy slot
 * idx's head into *c and, when it is one want asks for, its data; *hits
 * (when hits is not NULL) the slot's hit count read in the same window. */
enum shc_got fr_shcache_copy(const struct fr_shcache *sc, uint32_t idx, const struct shc_want *want,
                             struct shc_copy *c, uint32_t *hits);

#endif
