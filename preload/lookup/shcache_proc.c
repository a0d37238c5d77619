/* fastres: the process's shared cache (see shcache.h): where its file
 * is, the settings that turn it on, opening it once on first use without
 * making any thread wait, and the calls ask.c and shim.c make into it. */
#include "lookup/shcache.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/fork.h"
#include "base/log.h"
#include "lookup/shcache_int.h"

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
static _Atomic uint64_t shc_proc_hits, shc_proc_misses, shc_proc_stores;

int fr_shcache_get(const struct fr_config *cfg, const char *name, uint16_t qtype, uint16_t qclass, uint8_t *msg,
                   size_t cap, size_t *len)
{
    struct fr_shcache *sc = shc_get(cfg);
    uint32_t left;
    if (!sc)
        return 0;
    int hit = fr_shcache_lookup(sc, fr_shcache_view(cfg), name, qtype, qclass, fr_clock_real_ms(), msg, cap, len,
                                &left) == FR_OK;
    atomic_fetch_add_explicit(hit ? &shc_proc_hits : &shc_proc_misses, 1, memory_order_relaxed);
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
           "shows the file)", (unsigned long long)atomic_load(&shc_proc_hits),
           (unsigned long long)atomic_load(&shc_proc_misses), (unsigned long long)atomic_load(&shc_proc_stores));
}

void fr_shcache_put(const struct fr_config *cfg, const char *name, uint16_t qtype, uint16_t qclass,
                    const uint8_t *msg, size_t len)
{
    struct fr_shcache *sc = shc_get(cfg);
    if (!sc)
        return;
    struct fr_shcache_clamp cl = {cfg->cache_min_ttl, cfg->cache_max_ttl, cfg->cache_neg_max_ttl};
    if (fr_shcache_store(sc, fr_shcache_view(cfg), name, qtype, qclass, msg, len, fr_clock_real_ms(), &cl) == FR_OK)
        atomic_fetch_add_explicit(&shc_proc_stores, 1, memory_order_relaxed);
}

