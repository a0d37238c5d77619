/* fastres: the memo of recent sort orders (internal to sort*.c, and
 * fr_sort_forget of sort.h).
 *
 * Owns the per-thread memo: the order found for a list, kept for
 * FR_SORT_MEMO_MS and voided at once by fr_sort_forget (any thread: it
 * bumps one atomic epoch). Called by sort.c around each sort. No lock: the
 * memo is thread-local, so it is thread- and fork-safe. */
#include "api/sort.h"
#include "api/sort_int.h"

#include <stdatomic.h>
#include <string.h>

/* The sort of a list costs a UDP socket and a connect() per address (and
 * a netlink dump when interface data counts): about 10 us for two
 * addresses, against well under a microsecond for the cache hit that
 * produced the list. The order depends on the list and on the machine's
 * routes, interface addresses and gai.conf, not on the time; so the order
 * found for a list is reused for the same list for FR_SORT_MEMO_MS, the
 * window fastres already allows AI_ADDRCONFIG's view of the interfaces
 * (gai.c), and dropped at once when that view or the configuration is
 * seen to change (fr_sort_forget). A route change inside the window is
 * seen up to that much later than glibc sees it (README, Deliberate
 * differences). */
#define FR_SORT_MEMO_MS 1000
/* Lists remembered per thread: a program resolves a handful of names at a
 * time; the memo is thread-local so that it needs no lock (and so is fork
 * safe), and each thread's costs about 4 KiB of TLS. */
#define FR_SORT_MEMO_SLOTS 8

struct fr_sort_memo {
    uint64_t at_ms;          /* when the order was found; 0: empty */
    uint64_t epoch;          /* fr_sort_epoch then */
    uint8_t n;
    uint8_t order[FR_SORT_MEMO_MAX];
    struct sockaddr_in6 addr[FR_SORT_MEMO_MAX];   /* ai_addr, zero-padded */
};

static __thread struct fr_sort_memo fr_sort_memo[FR_SORT_MEMO_SLOTS];
static __thread unsigned fr_sort_memo_next;
/* Bumped by fr_sort_forget(): memo entries of an older epoch are void. */
static _Atomic uint64_t fr_sort_epoch = 1;

void fr_sort_forget(void)
{
    atomic_fetch_add_explicit(&fr_sort_epoch, 1, memory_order_relaxed);
}

uint64_t fr_sort_memo_epoch(void)
{
    return atomic_load_explicit(&fr_sort_epoch, memory_order_relaxed);
}

/* The list's key: each node's sockaddr (port and scope included: both can
 * change the route), zero-padded to one size. 0 when too long. Compared
 * whole (no hash): a few slots of a few dozen octets. */
size_t fr_sort_memo_key(const struct addrinfo *list, struct sockaddr_in6 *key)
{
    size_t n = 0;
    for (const struct addrinfo *p = list; p; p = p->ai_next, n++) {
        if (n == FR_SORT_MEMO_MAX)
            return 0;
        memset(&key[n], 0, sizeof(key[n]));
        memcpy(&key[n], p->ai_addr, p->ai_addrlen);
    }
    return n;
}

static const struct fr_sort_memo *fr_sort_memo_slot(const struct sockaddr_in6 *key, size_t n, uint64_t now)
{
    uint64_t epoch = fr_sort_memo_epoch();
    for (unsigned i = 0; i < FR_SORT_MEMO_SLOTS; i++) {
        struct fr_sort_memo *m = &fr_sort_memo[i];
        /* A clock behind the stamp (a test resetting a fake clock) is a
         * miss, like an old one. */
        if (m->at_ms && m->n == n && m->epoch == epoch && now >= m->at_ms &&
            now - m->at_ms < FR_SORT_MEMO_MS && memcmp(m->addr, key, n * sizeof(*key)) == 0)
            return m;
    }
    return NULL;
}

bool fr_sort_memo_find(const struct sockaddr_in6 *key, size_t n, uint64_t now, size_t *order)
{
    const struct fr_sort_memo *m = fr_sort_memo_slot(key, n, now);
    if (!m)
        return false;
    for (size_t k = 0; k < n; k++)
        order[k] = m->order[k];
    return true;
}

void fr_sort_memo_put(const struct sockaddr_in6 *key, size_t n, uint64_t now, uint64_t epoch, const size_t *order)
{
    struct fr_sort_memo *m = &fr_sort_memo[fr_sort_memo_next];
    fr_sort_memo_next = (fr_sort_memo_next + 1) % FR_SORT_MEMO_SLOTS;
    m->at_ms = now ? now : 1;
    m->epoch = epoch;
    m->n = (uint8_t)n;
    for (size_t i = 0; i < n; i++)
        m->order[i] = (uint8_t)order[i];
    memcpy(m->addr, key, n * sizeof(*key));
}

