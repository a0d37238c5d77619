/* fastres: asynchronous cache refresh (see refresh.h).
 *
 * Hand-written rather than a c-ares channel: c-ares 1.18 gives no way to
 * keep a query alive across calls while checking that its descriptors still
 * belong to it, and one datagram per server with a check of ID, source and
 * question is all a refresh needs (a truncated or unusable reply just lets
 * the entry expire into the normal, racing path). */
#include "lookup/refresh.h"

#include <ares.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/fork.h"
#include "base/log.h"
#include "dns/msg.h"
#include "net/rand.h"

/* Datagrams read per socket per reap: bounds the work one caller does. */
#define REFRESH_READS_PER_REAP 8
/* glibc's RESOLV_EDNS_BUFFER_SIZE, as the engine uses it. */
#define REFRESH_EDNS_SIZE 1200

struct refresh_sock {
    int fd;
    dev_t dev;
    ino_t ino;
};

struct refresh_pending {
    int used;
    uint64_t expires_ms;
    uint16_t id, qtype, qclass;
    char name[FR_MSG_NAME_MAX * 4 + 1];
    struct refresh_sock s4, s6;
    unsigned nservers;
    struct fr_server servers[FR_MAX_SERVERS];
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

static int refresh_sock_open(int family, struct refresh_sock *s)
{
    struct stat st;
    s->fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s->fd < 0)
        return -1;
    if (fstat(s->fd, &st) != 0) {
        close(s->fd);
        s->fd = -1;
        return -1;
    }
    s->dev = st.st_dev;
    s->ino = st.st_ino;
    return 0;
}

/* Is s->fd still the socket we opened (in this process)? */
static int refresh_sock_ours(const struct refresh_sock *s)
{
    struct stat st;
    return s->fd >= 0 && fstat(s->fd, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino;
}

static void refresh_sock_drop(struct refresh_sock *s)
{
    /* Close only what is still ours: the program may have closed it and
     * opened something else under the same number. */
    if (refresh_sock_ours(s))
        close(s->fd);
    s->fd = -1;
}

static void refresh_pending_drop(struct refresh_pending *p)
{
    refresh_sock_drop(&p->s4);
    refresh_sock_drop(&p->s6);
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
    unsigned char *q = NULL;
    int qlen = 0;
    uint16_t id;
    struct refresh_pending *p = NULL;

    /* Without fork handlers a child could inherit the lock held: no
     * refreshes then (entries simply expire into the normal path). */
    pthread_once(&refresh_fork_once, refresh_fork_init);
    if (!refresh_fork_ok)
        return;
    id = fr_rand_id();
    if (strlen(name) >= sizeof p->name)
        return;
    if (ares_create_query(name, qclass, qtype, id, 1, &q, &qlen, cfg->edns0 ? REFRESH_EDNS_SIZE : 0) !=
        ARES_SUCCESS)
        return;
    if (cfg->trust_ad && qlen > 3)
        q[3] |= 0x20;

    pthread_mutex_lock(&refresh_lock);
    for (unsigned i = 0; i < FR_REFRESH_MAX && !p; i++)
        if (!refresh_tab[i].used)
            p = &refresh_tab[i];
    if (!p)
        goto done;   /* busy: the cache offers the entry again later */
    memset(p, 0, sizeof *p);
    p->s4.fd = p->s6.fd = -1;
    p->id = id;
    p->qtype = qtype;
    p->qclass = qclass;
    strcpy(p->name, name);
    p->nservers = cfg->nservers;
    memcpy(p->servers, cfg->servers, cfg->nservers * sizeof cfg->servers[0]);
    unsigned sent = 0;
    for (unsigned i = 0; i < cfg->nservers; i++) {
        const struct fr_server *sv = &cfg->servers[i];
        struct refresh_sock *s = sv->addr.ss_family == AF_INET ? &p->s4 : &p->s6;
        if (s->fd < 0 && refresh_sock_open(sv->addr.ss_family, s) != 0)
            continue;
        if (sendto(s->fd, q, (size_t)qlen, MSG_DONTWAIT, (const struct sockaddr *)&sv->addr,
                   sv->addrlen) == qlen)
            sent++;
    }
    if (!sent) {
        refresh_sock_drop(&p->s4);
        refresh_sock_drop(&p->s6);
        goto done;
    }
    p->used = 1;
    p->expires_ms = fr_clock_mono_ms() + FR_REFRESH_LIFETIME_MS;
    atomic_fetch_add(&refresh_npending, 1);
    atomic_fetch_add(&refresh_n_sent, 1);
    fr_log(FR_LOG_DEBUG, "refresh", "refreshing %s type %u", name, qtype);
done:
    pthread_mutex_unlock(&refresh_lock);
    ares_free_string(q);
}

static int refresh_from_server(const struct refresh_pending *p, const struct sockaddr_storage *from,
                               socklen_t len)
{
    for (unsigned i = 0; i < p->nservers; i++) {
        const struct fr_server *sv = &p->servers[i];
        if (from->ss_family != sv->addr.ss_family)
            continue;
        if (from->ss_family == AF_INET) {
            const struct sockaddr_in *a = (const void *)from, *b = (const void *)&sv->addr;
            if (len >= sizeof *a && a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr)
                return 1;
        } else {
            const struct sockaddr_in6 *a = (const void *)from, *b = (const void *)&sv->addr;
            if (len >= sizeof *a && a->sin6_port == b->sin6_port &&
                !memcmp(&a->sin6_addr, &b->sin6_addr, sizeof a->sin6_addr))
                return 1;
        }
    }
    return 0;
}

/* The reply answers our question: ID, QR, one question equal to ours. */
static int refresh_matches(const struct refresh_pending *p, const uint8_t *m, size_t len)
{
    struct fr_msg_iter it;
    struct fr_msg_rr rr;
    uint8_t q[FR_MSG_UDP_MAX];
    unsigned char *qb = NULL;
    int qlen = 0, ok = 0;
    if (fr_msg_iter_init(&it, m, len) != FR_OK || it.hdr.id != p->id || !(it.hdr.flags & 0x8000) ||
        it.hdr.qdcount != 1 || fr_msg_iter_next(&it, &rr) != FR_OK || rr.type != p->qtype ||
        rr.rclass != p->qclass)
        return 0;
    /* Compare the question name with our own query's, in wire form. */
    if (ares_create_query(p->name, p->qclass, p->qtype, p->id, 1, &qb, &qlen, 0) != ARES_SUCCESS)
        return 0;
    if ((size_t)qlen <= sizeof q) {
        memcpy(q, qb, (size_t)qlen);
        ok = fr_msg_name_eq(m, len, rr.name_off, q, (size_t)qlen, 12) == 1;
    }
    ares_free_string(qb);
    return ok;
}

/* Read what has arrived on one socket; 1 when a usable reply was stored. */
static int refresh_reap_sock(struct refresh_pending *p, struct refresh_sock *s, struct fr_cache *c)
{
    uint8_t buf[FR_MSG_MAX];
    for (unsigned n = 0; n < REFRESH_READS_PER_REAP; n++) {
        struct sockaddr_storage from;
        socklen_t fl = sizeof from;
        ssize_t r = recvfrom(s->fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
        if (r < 0)
            return 0;   /* EAGAIN: nothing more yet */
        struct fr_msg_hdr h;
        if (!refresh_from_server(p, &from, fl) || fr_msg_header(buf, (size_t)r, &h) != FR_OK ||
            !refresh_matches(p, buf, (size_t)r))
            continue;
        unsigned rcode = FR_MSG_RCODE(&h);
        if (FR_MSG_TC(&h) || (rcode != FR_RCODE_NOERROR && rcode != FR_RCODE_NXDOMAIN) ||
            fr_msg_validate(buf, (size_t)r) != FR_OK)
            continue;   /* another server may still give a usable one */
        if (fr_cache_store(c, p->name, p->qtype, p->qclass, buf, (size_t)r, fr_clock_now_ms()) == FR_OK)
            atomic_fetch_add(&refresh_n_stored, 1);
        return 1;
    }
    return 0;
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

void fr_refresh_reap(struct fr_cache *c)
{
    if (atomic_load_explicit(&refresh_npending, memory_order_relaxed) == 0)
        return;
    if (pthread_mutex_trylock(&refresh_lock) != 0)
        return;
    uint64_t now = fr_clock_mono_ms();
    for (unsigned i = 0; i < FR_REFRESH_MAX; i++) {
        struct refresh_pending *p = &refresh_tab[i];
        if (!p->used)
            continue;
        int done = 0;
        struct refresh_sock *socks[2] = { &p->s4, &p->s6 };
        for (unsigned k = 0; k < 2 && !done; k++) {
            struct refresh_sock *s = socks[k];
            if (s->fd < 0)
                continue;
            if (!refresh_sock_ours(s)) {
                s->fd = -1;   /* the program closed it: forget, never close */
                continue;
            }
            done = refresh_reap_sock(p, s, c);
        }
        if (done || now >= p->expires_ms || (p->s4.fd < 0 && p->s6.fd < 0))
            refresh_pending_drop(p);
    }
    pthread_mutex_unlock(&refresh_lock);
}
