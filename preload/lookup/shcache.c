/* fastres: the answer cache shared by the processes of one user (see
 * shcache.h for the contract).
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
 * view, times, key and reply.
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

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lookup/cache_rules.h"
#include "base/clock.h"
#include "base/fork.h"
#include "base/log.h"
#include "dns/msg.h"

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

/* ---- checksum ----
 * Hand-written: the only checksum in libc is none, and zlib's crc32 would
 * add a library to every process fastres is preloaded into. This one
 * (64-bit multiply-xorshift per 8 octets, murmur3's finaliser at the end)
 * only has to catch torn and random data, not an adversary: a process that
 * can write the file can ptrace the reader anyway. */
static uint64_t shc_sum(uint64_t seed, const void *p, size_t n, uint64_t h)
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

static uint64_t shc_slot_sum(const struct fr_shcache *sc, uint32_t idx, const struct shc_head *h,
                             const uint8_t *data)
{
    uint64_t s = shc_sum(sc->salt ^ ((uint64_t)idx << 32), h, sizeof(*h), 0);
    return shc_sum(sc->salt, data, (size_t)h->namelen + h->msglen, s);
}

static uint64_t shc_header_sum(const struct shc_file *f)
{
    return shc_sum(SHC_MAGIC, f, offsetof(struct shc_file, sum), 0);
}

/* ---- keys ---- */

/* The in-process cache's key (cache.h), for names a slot can hold. */
static enum fr_status shc_key(const char *name, uint16_t qtype, uint16_t qclass, char *out, size_t *outlen,
                              uint32_t *hash)
{
    return fr_cache_key(name, FR_SHCACHE_NAME_MAX, qtype, qclass, out, outlen, hash);
}

/* ---- open ---- */

static int shc_geometry_ok(const struct shc_file *f, size_t size)
{
    if (f->magic != SHC_MAGIC || f->version != SHC_VERSION || f->slot_size != SHC_SLOT || f->ways != SHC_WAYS ||
        f->size != size || f->sum != shc_header_sum(f))
        return 0;
    uint64_t n = (size - SHC_HEADER) / SHC_SLOT;
    n -= n % SHC_WAYS;
    return f->nslots == n && n >= SHC_WAYS;
}

static int shc_size_ok(uint64_t size)
{
    return size >= (uint64_t)FR_SHCACHE_MIN_KB * 1024 && size <= (uint64_t)FR_SHCACHE_MAX_KB * 1024;
}

/* Check what fd is before mapping it: the file is shared with every
 * process of the user, and must be nobody else's. */
static enum fr_status shc_check_fd(int fd, const char *path, struct stat *st)
{
    const char *why = NULL;
    if (fstat(fd, st) != 0)
        why = "cannot stat it";
    else if (!S_ISREG(st->st_mode))
        why = "not a regular file";
    else if (st->st_uid != geteuid())
        why = "owned by another user";
    else if (st->st_mode & (S_IWGRP | S_IWOTH))
        why = "writable by group or others";
    if (!why)
        return FR_OK;
    fr_log(FR_LOG_WARN, "shcache", "not using the shared cache %s: %s", path, why);
    return FR_FAIL;
}

/* Write a fresh file next to path and put it in place: link() when
 * nothing is there (the first creator wins, and a file is visible only
 * once complete), rename() over a broken one. */
static enum fr_status shc_create(const char *path, size_t size, int replace)
{
    char tmp[PATH_MAX];
    uint64_t salt = 0;
    enum fr_status st = FR_AGAIN;
    void *m = MAP_FAILED;
    int fd = -1;
    if (getrandom(&salt, sizeof salt, GRND_NONBLOCK) != (ssize_t)sizeof salt)
        salt = fr_clock_mono_us() ^ ((uint64_t)getpid() << 32);
    if (snprintf(tmp, sizeof tmp, "%s.%ld.%016llx.tmp", path, (long)getpid(), (unsigned long long)salt) >=
        (int)sizeof tmp)
        return FR_FAIL;
    fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        goto done;
    /* Every page allocated now: a tmpfs that fills up later must not turn a
     * first write into a page of the mapping into SIGBUS. */
    if (fchmod(fd, 0600) != 0 || ftruncate(fd, (off_t)size) != 0 || posix_fallocate(fd, 0, (off_t)size) != 0)
        goto done;
    m = mmap(NULL, SHC_HEADER, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED)
        goto done;
    struct shc_file *f = m;
    uint64_t n = (size - SHC_HEADER) / SHC_SLOT;
    f->version = SHC_VERSION;
    f->slot_size = SHC_SLOT;
    f->ways = SHC_WAYS;
    f->nslots = (uint32_t)(n - n % SHC_WAYS);
    f->size = size;
    f->salt = salt;
    f->created_ms = fr_clock_real_ms();
    f->magic = SHC_MAGIC;
    f->sum = shc_header_sum(f);
    if (replace) {
        if (rename(tmp, path) == 0) {
            tmp[0] = '\0';
            st = FR_OK;
        }
    } else if (link(tmp, path) == 0 || errno == EEXIST) {
        st = FR_OK;   /* ours, or another process's that came first */
    }
done:
    if (m != MAP_FAILED)
        munmap(m, SHC_HEADER);
    if (fd >= 0)
        close(fd);
    if (tmp[0])
        unlink(tmp);
    return st;
}

enum fr_status fr_shcache_open(const char *path, size_t size, int readonly, struct fr_shcache **out)
{
    enum fr_status st = FR_FAIL;
    struct fr_shcache *sc = NULL;
    void *m = MAP_FAILED;
    struct stat sb;
    if (!path || !*path || !shc_size_ok(size))
        return FR_FAIL;
    /* Up to three rounds: create when missing, open, and open once more
     * after replacing a broken file. */
    for (int round = 0; round < 3; round++) {
        int fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
            if (errno == ENOENT && !readonly) {
                st = shc_create(path, size, 0);
                if (st != FR_OK)
                    return st;
                continue;
            }
            if (errno == ELOOP)
                fr_log(FR_LOG_WARN, "shcache", "not using the shared cache %s: a symbolic link", path);
            else if (errno != ENOENT)
                fr_log(FR_LOG_WARN, "shcache", "not using the shared cache %s: %s", path, strerror(errno));
            return errno == ENOENT ? FR_AGAIN : FR_FAIL;
        }
        st = shc_check_fd(fd, path, &sb);
        /* A size out of bounds (truncated, grown) is a broken file, as
         * is a bad header: replaced below. */
        if (st == FR_OK && shc_size_ok((uint64_t)sb.st_size)) {
            m = mmap(NULL, (size_t)sb.st_size, readonly ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
            if (m == MAP_FAILED)
                st = FR_AGAIN;
        }
        /* The mapping stays valid without the descriptor: nothing is kept
         * open for a host program to trip over. */
        close(fd);
        if (st != FR_OK)
            return st;
        if (m != MAP_FAILED && shc_geometry_ok(m, (size_t)sb.st_size))
            break;
        if (m != MAP_FAILED)
            munmap(m, (size_t)sb.st_size);
        m = MAP_FAILED;
        if (readonly || round == 2) {
            fr_log(FR_LOG_WARN, "shcache", "the shared cache %s holds no valid header", path);
            return FR_FAIL;
        }
        fr_log(FR_LOG_WARN, "shcache", "the shared cache %s holds no valid header; replacing it", path);
        st = shc_create(path, size, 1);
        if (st != FR_OK)
            return st;
    }
    if (m == MAP_FAILED)
        return FR_FAIL;
    sc = calloc(1, sizeof *sc);
    if (!sc) {
        munmap(m, (size_t)sb.st_size);
        return FR_NOMEM;
    }
    sc->base = m;
    sc->size = (size_t)sb.st_size;
    sc->readonly = readonly;
    sc->hdr = m;
    sc->nslots = sc->hdr->nslots;
    sc->nsets = sc->nslots / SHC_WAYS;
    sc->salt = sc->hdr->salt;
    sc->slots = (struct shc_slot *)(sc->base + SHC_HEADER);
    *out = sc;
    return FR_OK;
}

void fr_shcache_close(struct fr_shcache *sc)
{
    if (!sc)
        return;
    munmap(sc->base, sc->size);
    free(sc);
}

/* ---- reading a slot ---- */

struct shc_copy {
    struct shc_head h;
    uint64_t sum;
    uint8_t data[sizeof(((struct shc_slot *)0)->data)];
};

/* Copy slot idx out when it is stable and its header is (view, key);
 * then check its checksum. 1: *c holds a consistent copy of the key's
 * entry; 0: not this key, empty, busy or torn; -1: damaged (checksum). */
static int shc_read(struct fr_shcache *sc, uint32_t idx, uint64_t view, const char *key, size_t keylen,
                    uint32_t hash, uint16_t qtype, uint16_t qclass, struct shc_copy *c)
{
    struct shc_slot *s = &sc->slots[idx];
    for (int tries = 0; tries < SHC_READ_TRIES; tries++) {
        uint32_t q1 = atomic_load_explicit(&s->seq, memory_order_acquire);
        if (q1 == 0 || (q1 & 1))
            return 0;
        memcpy(&c->h, (const void *)&s->h, sizeof c->h);
        c->sum = s->sum;
        int match = c->h.hash == hash && c->h.view == view && c->h.qtype == qtype && c->h.qclass == qclass &&
                    c->h.namelen == keylen && (size_t)c->h.namelen + c->h.msglen <= sizeof c->data;
        if (match)
            memcpy(c->data, (const void *)s->data, (size_t)c->h.namelen + c->h.msglen);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&s->seq, memory_order_relaxed) != q1)
            continue;   /* a writer came by: read again */
        if (!match)
            return 0;
        if (c->sum != shc_slot_sum(sc, idx, &c->h, c->data))
            return -1;
        return memcmp(c->data, key, keylen) == 0;
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
    uint32_t base = shc_set(sc, hash);
    for (uint32_t w = 0; w < SHC_WAYS; w++) {
        int r = shc_read(sc, base + w, view, key, keylen, hash, qtype, qclass, &c);
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
    uint32_t base = shc_set(sc, hash), pick = UINT32_MAX, oldest = UINT32_MAX, oldest_at = UINT32_MAX;
    int evict = 0;
    for (uint32_t w = 0; w < SHC_WAYS && pick == UINT32_MAX; w++) {
        if (shc_read(sc, base + w, view, key, keylen, hash, qtype, qclass, &c) == 1)
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
    s->sum = shc_slot_sum(sc, pick, &h, c.data);
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

/* ---- statistics ---- */

void fr_shcache_walk(struct fr_shcache *sc, uint64_t now_ms,
                     void (*fn)(void *arg, const struct fr_shcache_entry *e), void *arg)
{
    struct shc_copy c;
    if (!sc)
        return;
    for (uint32_t i = 0; i < sc->nslots; i++) {
        struct shc_slot *s = &sc->slots[i];
        uint32_t q1 = atomic_load_explicit(&s->seq, memory_order_acquire);
        if (q1 == 0 || (q1 & 1))
            continue;
        memcpy(&c.h, (const void *)&s->h, sizeof c.h);
        c.sum = s->sum;
        if (c.h.namelen > FR_SHCACHE_NAME_MAX || (size_t)c.h.namelen + c.h.msglen > sizeof c.data)
            continue;
        memcpy(c.data, (const void *)s->data, (size_t)c.h.namelen + c.h.msglen);
        uint32_t hits = atomic_load_explicit(&s->hits, memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&s->seq, memory_order_relaxed) != q1 || c.sum != shc_slot_sum(sc, i, &c.h, c.data))
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
            struct shc_slot *sl = &sc->slots[i];
            uint32_t q1 = atomic_load_explicit(&sl->seq, memory_order_acquire);
            if (q1 == 0)
                continue;
            if (q1 & 1) {
                s.busy_slots++;
                continue;
            }
            memcpy(&c.h, (const void *)&sl->h, sizeof c.h);
            c.sum = sl->sum;
            int fits = c.h.namelen <= FR_SHCACHE_NAME_MAX && (size_t)c.h.namelen + c.h.msglen <= sizeof c.data;
            if (fits)
                memcpy(c.data, (const void *)sl->data, (size_t)c.h.namelen + c.h.msglen);
            atomic_thread_fence(memory_order_acquire);
            if (atomic_load_explicit(&sl->seq, memory_order_relaxed) != q1)
                continue;
            if (!fits || c.sum != shc_slot_sum(sc, i, &c.h, c.data)) {
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

/* ---- views ---- */

uint64_t fr_shcache_view(const struct fr_config *cfg)
{
    uint64_t h = shc_sum(SHC_MAGIC, &cfg->nservers, sizeof cfg->nservers, 0);
    for (unsigned i = 0; i < cfg->nservers && i < FR_MAX_SERVERS; i++)
        h = shc_sum(i, &cfg->servers[i].addr, cfg->servers[i].addrlen, h);
    uint32_t bits[5] = {(uint32_t)cfg->edns0, (uint32_t)cfg->trust_ad, cfg->cache_min_ttl, cfg->cache_max_ttl,
                        cfg->cache_neg_max_ttl};
    return shc_sum(0, bits, sizeof bits, h);
}

/* ---- the process's shared cache ---- */

int fr_shcache_default_path(char *buf, size_t n)
{
    const char *p = fr_config_getenv("FASTRES_SHARED_CACHE_PATH");
    const char *xdg = fr_config_getenv("XDG_RUNTIME_DIR");
    int r;
    if (p && *p)
        r = snprintf(buf, n, "%s", p);
    else if (xdg && xdg[0] == '/')
        /* The user's own 0700 directory: the name needs no uid. */
        r = snprintf(buf, n, "%s/" SHC_NAME, xdg);
    else
        r = snprintf(buf, n, "/dev/shm/" SHC_NAME "-%lu", (unsigned long)geteuid());
    return r > 0 && (size_t)r < n ? 0 : -1;
}

enum { SHC_UNTRIED, SHC_OPENING, SHC_READY, SHC_OFF };
static atomic_int shc_state = SHC_UNTRIED;
static struct fr_shcache *_Atomic shc_proc;
/* When an FR_AGAIN open (no space, a race) may be tried again. */
static _Atomic uint64_t shc_retry_ms;
/* A failed open is retried at most this often: creating the file costs a
 * few system calls, too many to repeat on every lookup. */
#define SHC_RETRY_MS 5000

static void shc_fork_child(void)
{
    /* A thread of the parent was opening: the child has no such thread. */
    int o = SHC_OPENING;
    atomic_compare_exchange_strong(&shc_state, &o, SHC_UNTRIED);
}

static const struct fr_fork_handlers shc_fork = {
    .name = "shcache", .rank = FR_FORK_RANK_CACHE, .child = shc_fork_child,
};

/* Settings: one log line per bad value, the default used. */
static int shc_settings(size_t *size)
{
    const char *on = fr_config_getenv("FASTRES_SHARED_CACHE");
    const char *kb = fr_config_getenv("FASTRES_SHARED_CACHE_KB");
    unsigned long k = FR_SHCACHE_DEFAULT_KB;
    /* Secure execution: the environment is ignored (fr_config_getenv), and
     * a file named by another user's settings is no place for answers a
     * setuid program will trust. Off. */
    if (getauxval(AT_SECURE))
        return 0;
    if (on && !strcmp(on, "0"))
        return 0;
    if (on && strcmp(on, "1"))
        fr_log(FR_LOG_ERROR, "config", "ignoring FASTRES_SHARED_CACHE=\"%s\": expected 1 or 0; using the default",
               on);
    if (kb) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(kb, &end, 10);
        if (!*kb || *end || errno || kb[0] == '-' || v < FR_SHCACHE_MIN_KB || v > FR_SHCACHE_MAX_KB)
            fr_log(FR_LOG_ERROR, "config",
                   "ignoring FASTRES_SHARED_CACHE_KB=\"%s\": expected a whole number from %u to %u; using the default",
                   kb, FR_SHCACHE_MIN_KB, FR_SHCACHE_MAX_KB);
        else
            k = v;
    }
    *size = (size_t)k * 1024;
    return 1;
}

static struct fr_shcache *shc_get(const struct fr_config *cfg)
{
    int s = atomic_load_explicit(&shc_state, memory_order_acquire);
    if (s == SHC_READY)
        return atomic_load_explicit(&shc_proc, memory_order_acquire);
    if (s != SHC_UNTRIED || !cfg->cache_size)
        return NULL;
    if (fr_clock_mono_ms() < atomic_load(&shc_retry_ms))
        return NULL;
    /* One thread opens; the others go on without the shared cache
     * meanwhile (never wait). */
    if (!atomic_compare_exchange_strong(&shc_state, &s, SHC_OPENING))
        return NULL;
    static int registered;
    if (!registered)
        registered = fr_fork_register(&shc_fork) == 0 ? 1 : -1;
    size_t size = 0;
    char path[PATH_MAX];
    struct fr_shcache *sc = NULL;
    int next = SHC_OFF;
    if (registered > 0 && shc_settings(&size) && fr_shcache_default_path(path, sizeof path) == 0) {
        enum fr_status st = fr_shcache_open(path, size, 0, &sc);
        if (st == FR_OK)
            next = SHC_READY;
        else if (st == FR_AGAIN || st == FR_NOMEM)
            next = SHC_UNTRIED;
        if (next == SHC_UNTRIED)
            atomic_store(&shc_retry_ms, fr_clock_mono_ms() + SHC_RETRY_MS);
    }
    atomic_store_explicit(&shc_proc, sc, memory_order_release);
    atomic_store_explicit(&shc_state, next, memory_order_release);
    return sc;
}

/* This process's share of the file's counters, for FASTRES_STATS. */
static _Atomic uint64_t p_hits, p_misses, p_stores;

int fr_shcache_get(const struct fr_config *cfg, const char *name, uint16_t qtype, uint16_t qclass, uint8_t *msg,
                   size_t cap, size_t *len)
{
    struct fr_shcache *sc = shc_get(cfg);
    uint32_t left;
    if (!sc)
        return 0;
    int hit = fr_shcache_lookup(sc, fr_shcache_view(cfg), name, qtype, qclass, fr_clock_real_ms(), msg, cap, len,
                                &left) == FR_OK;
    atomic_fetch_add_explicit(hit ? &p_hits : &p_misses, 1, memory_order_relaxed);
    return hit;
}

void fr_shcache_note(uint64_t questions, uint64_t sent, uint64_t failed)
{
    struct fr_shcache *sc = atomic_load_explicit(&shc_proc, memory_order_acquire);
    if (atomic_load_explicit(&shc_state, memory_order_acquire) != SHC_READY || !sc || sc->readonly)
        return;
    if (questions)
        atomic_fetch_add_explicit(&sc->hdr->upstream_questions, questions, memory_order_relaxed);
    if (sent)
        atomic_fetch_add_explicit(&sc->hdr->upstream_sent, sent, memory_order_relaxed);
    if (failed)
        atomic_fetch_add_explicit(&sc->hdr->upstream_failed, failed, memory_order_relaxed);
}

void fr_shcache_stats_print(void)
{
    struct fr_shcache *sc = atomic_load_explicit(&shc_proc, memory_order_acquire);
    if (atomic_load_explicit(&shc_state, memory_order_acquire) != SHC_READY || !sc)
        return;
    fr_log(FR_LOG_ERROR, "stats", "shared cache: hits %llu, misses %llu, stores %llu (this process; fastres-stat "
           "shows the file)", (unsigned long long)atomic_load(&p_hits), (unsigned long long)atomic_load(&p_misses),
           (unsigned long long)atomic_load(&p_stores));
}

void fr_shcache_put(const struct fr_config *cfg, const char *name, uint16_t qtype, uint16_t qclass,
                    const uint8_t *msg, size_t len)
{
    struct fr_shcache *sc = shc_get(cfg);
    if (!sc)
        return;
    struct fr_shcache_clamp cl = {cfg->cache_min_ttl, cfg->cache_max_ttl, cfg->cache_neg_max_ttl};
    if (fr_shcache_store(sc, fr_shcache_view(cfg), name, qtype, qclass, msg, len, fr_clock_real_ms(), &cl) == FR_OK)
        atomic_fetch_add_explicit(&p_stores, 1, memory_order_relaxed);
}
