/* fastres: asynchronous cache refresh (see refresh.h): the pending
 * refreshes, their lifetime, their lock and fork handler, counters, and
 * storing what comes back into the cache. The datagrams themselves are
 * net/oneshot.c's. */
#include "lookup/refresh.h"

#include <pthread.h>
#include <stdatomic.h>

#include "base/clock.h"
#include "base/fork.h"
#include "base/log.h"
#include "net/oneshot.h"

struct refresh_pending {
    int used;
    uint64_t expires_ms;
    struct fr_oneshot os;    /* the question, its sockets */
};

static pthread_mutex_t refresh_lock = PTHREAD_MUTEX_INITIALIZER;
static struct refresh_pending refresh_tab[FR_REFRESH_MAX];
static atomic_int refresh_npending;
static _Atomic uint64_t refresh_n_sent, refresh_n_stored;
static pthread_once_t refresh_fork_once = PTHREAD_ONCE_INIT;
static int refresh_fork_ok;

void fr_refresh_counts(uint64_t *sent, uint64_t *stored)
{
    *sent = atomic_load(&refresh_n_sent);
    *stored = atomic_load(&refresh_n_stored);
}

static void refresh_pending_drop(struct refresh_pending *p)
{
    fr_oneshot_close(&p->os);
    p->used = 0;
    atomic_fetch_sub(&refresh_npending, 1);
}

/* ---- fork ----
 * A thread may hold the lock while another forks: take it first, so the
 * child is forked at a quiet point (issue 9: children hung in
 * fr_refresh_start without this). */
static void refresh_fork_child(void)
{
    /* The parent collects its own replies: the child closes its copies of
     * the sockets (only those still ours) and forgets the refreshes. */
    for (unsigned i = 0; i < FR_REFRESH_MAX; i++)
        if (refresh_tab[i].used)
            refresh_pending_drop(&refresh_tab[i]);
}

static const struct fr_fork_handlers refresh_fork = {
    /* fork.c holds refresh_lock across fork, re-initialised after this. */
    .name = "refresh", .rank = FR_FORK_RANK_REFRESH, .child = refresh_fork_child,
    .lock = &refresh_lock,
};

static void refresh_fork_init(void)
{
    refresh_fork_ok = fr_fork_register(&refresh_fork) == 0;
}

void fr_refresh_start(const struct fr_config *cfg, const char *name, uint16_t qtype, uint16_t qclass)
{
    struct fr_oneshot_query q;
    struct refresh_pending *p = NULL;

    /* Without fork handlers a child could inherit the lock held: no
     * refreshes then (entries simply expire into the normal path). */
    pthread_once(&refresh_fork_once, refresh_fork_init);
    if (!refresh_fork_ok)
        return;
    if (fr_oneshot_query_make(&q, cfg, name, qtype, qclass) != 0)
        return;

    pthread_mutex_lock(&refresh_lock);
    for (unsigned i = 0; i < FR_REFRESH_MAX && !p; i++)
        if (!refresh_tab[i].used)
            p = &refresh_tab[i];
    if (!p)
        goto done;   /* busy: the cache offers the entry again later */
    if (fr_oneshot_send(&p->os, &q, cfg) == 0)
        goto done;
    p->used = 1;
    p->expires_ms = fr_clock_mono_ms() + FR_REFRESH_LIFETIME_MS;
    atomic_fetch_add(&refresh_npending, 1);
    atomic_fetch_add(&refresh_n_sent, 1);
    fr_log(FR_LOG_DEBUG, "refresh", "refreshing %s type %u", name, qtype);
done:
    pthread_mutex_unlock(&refresh_lock);
    fr_oneshot_query_free(&q);
}

/* At exit (exit() or the end of main; not _exit): close what is still
 * pending, so the process ends with no descriptor of fastres's left open
 * (valgrind --track-fds, a parent counting them). The kernel would close
 * them a moment later anyway; this only makes the promise exact. A lock
 * held by another, still running thread means that thread is using the
 * table: it is left alone then (try-lock, never wait in exit). */
__attribute__((destructor)) static void refresh_exit(void)
{
    if (atomic_load(&refresh_npending) == 0 || pthread_mutex_trylock(&refresh_lock) != 0)
        return;
    for (unsigned i = 0; i < FR_REFRESH_MAX; i++)
        if (refresh_tab[i].used)
            refresh_pending_drop(&refresh_tab[i]);
    pthread_mutex_unlock(&refresh_lock);
}

/* Collect p's reply, if in, into c; drop p when it is done or expired.
 * The 64 KiB buffer lives here, not in fr_refresh_reap: every call into
 * fastres passes through that one, and only calls with a refresh pending
 * should need the stack (a program's thread may have a small one). */
__attribute__((noinline)) static void refresh_collect(struct refresh_pending *p, struct fr_cache *c,
                                                      uint64_t now)
{
    uint8_t buf[FR_MSG_MAX];
    size_t len = 0;
    enum fr_oneshot_result r = fr_oneshot_collect(&p->os, buf, sizeof buf, &len);
    if (r == FR_ONESHOT_REPLY &&
        fr_cache_store(c, p->os.name, p->os.qtype, p->os.qclass, buf, len, fr_clock_now_ms()) == FR_OK)
        atomic_fetch_add(&refresh_n_stored, 1);
    if (r != FR_ONESHOT_WAIT || now >= p->expires_ms)
        refresh_pending_drop(p);
}

void fr_refresh_reap(struct fr_cache *c)
{
    if (atomic_load_explicit(&refresh_npending, memory_order_relaxed) == 0)
        return;
    if (pthread_mutex_trylock(&refresh_lock) != 0)
        return;
    uint64_t now = fr_clock_mono_ms();
    for (unsigned i = 0; i < FR_REFRESH_MAX; i++)
        if (refresh_tab[i].used)
            refresh_collect(&refresh_tab[i], c, now);
    pthread_mutex_unlock(&refresh_lock);
}
