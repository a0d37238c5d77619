/* fastres network layer: persistent TCP's connections (internal to
 * tcp*.c, see tcp_int.h; the module's contract is tcp.h).
 *
 * The table of connections, one per server, and each one's life: found
 * or made for a server, connected (non-blocking, close-on-exec), written
 * to, closed on failure with a back-off before the next connect, closed
 * when idle, checked before every use to be still fastres's descriptor,
 * closed in a forked child and at exit. Also what tcp.h offers about a
 * server's connection: whether it can be asked now, and marking it late. */
#include "net/tcp_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fork.h"

/* After a connection is refused or fails before any reply, the server is
 * asked over UDP for this long, doubling per failure up to the cap: a
 * server without TCP must not cost a connect per question. */
#define TCP_BACKOFF_US (1000u * 1000u)
#define TCP_BACKOFF_MAX_US (30u * 1000u * 1000u)
/* After a question on a connection went late, new questions go over UDP
 * for this long or until a reply comes on it: the hole a lost segment
 * leaves in the stream is filled by TCP's retransmission, 200 ms at the
 * earliest on Linux (TCP_RTO_MIN). */
#define TCP_STALL_US (300u * 1000u)

pthread_mutex_t fr_tcp_mu = PTHREAD_MUTEX_INITIALIZER;
struct tcp_conn fr_tcp_conns[FR_TCP_MAX_CONNS];
struct fr_tcp_counters fr_tcp_counts;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int init_ok;

/* ------------------------------------------------------------------ */
/* Connections. fr_tcp_mu held in everything below. */

/* Fail every query waiting on c with err. */
void fr_tcp_conn_fail_pending(struct tcp_conn *c, int err)
{
    struct fr_tcp_query *q = c->pending;
    c->pending = NULL;
    while (q) {
        struct fr_tcp_query *next = q->next;
        atomic_fetch_add(&fr_tcp_counts.lost, 1);
        fr_tcp_query_finish(q, err);
        q = next;
    }
}

void fr_tcp_conn_close(struct tcp_conn *c, int err, uint64_t now_us)
{
    if (c->fd >= 0 && fr_fileid_fd_is(c->fd, &c->id))
        close(c->fd);
    c->fd = -1;
    c->connecting = 0;
    c->wlen = 0;
    c->rlen = 0;
    c->late_until_us = 0;
    if (err) {
        /* Refused: back off. Broken before it ever answered: reconnect
         * once (a reset can hit any connection), back off the second time
         * in a row (the server takes connections but does not serve DNS
         * on them). A server closing a connection that has answered is
         * normal (its idle limit). */
        if (!c->answered && err != ECONNREFUSED)
            c->failures++;
        if (err == ECONNREFUSED || (!c->answered && c->failures >= 2)) {
            unsigned f = c->failures < 5 ? c->failures : 5;
            uint64_t b = (uint64_t)TCP_BACKOFF_US << f;
            c->backoff_until_us = now_us + (b > TCP_BACKOFF_MAX_US ? TCP_BACKOFF_MAX_US : b);
            if (err == ECONNREFUSED)
                c->failures++;
        }
    }
    c->answered = 0;
}

/* 1 when c's descriptor is still fastres's socket. Else the program
 * closed it or reuses the number: forget it, never closing, reading or
 * writing it; the questions on it are lost (asked again). */
int fr_tcp_conn_still_ours(struct tcp_conn *c, uint64_t now_us)
{
    if (c->fd < 0 || fr_fileid_fd_is(c->fd, &c->id))
        return 1;
    c->fd = -1;
    fr_tcp_conn_fail_pending(c, ECONNRESET);
    fr_tcp_conn_close(c, 0, now_us);
    return 0;
}

struct tcp_conn *fr_tcp_conn_find(const struct fr_server *sv, int create)
{
    struct tcp_conn *free_slot = NULL;
    for (unsigned i = 0; i < FR_TCP_MAX_CONNS; i++) {
        struct tcp_conn *c = &fr_tcp_conns[i];
        if (!c->used) {
            if (!free_slot)
                free_slot = c;
            continue;
        }
        if (c->addrlen == sv->addrlen && !memcmp(&c->addr, &sv->addr, sv->addrlen))
            return c;
    }
    if (!create)
        return NULL;
    if (!free_slot) {
        /* Reuse a slot without a connection. */
        for (unsigned i = 0; i < FR_TCP_MAX_CONNS && !free_slot; i++)
            if (fr_tcp_conns[i].fd < 0 && !fr_tcp_conns[i].pending)
                free_slot = &fr_tcp_conns[i];
        if (!free_slot)
            return NULL;
        free(free_slot->wbuf);
        free(free_slot->rbuf);
    }
    memset(free_slot, 0, sizeof *free_slot);
    free_slot->used = 1;
    free_slot->fd = -1;
    free_slot->addrlen = sv->addrlen;
    memcpy(&free_slot->addr, &sv->addr, sv->addrlen);
    return free_slot;
}

int fr_tcp_conn_open(struct tcp_conn *c, uint64_t now_us)
{
    int fd = socket(c->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
    if (connect(fd, (const struct sockaddr *)&c->addr, c->addrlen) != 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        fr_tcp_conn_close(c, e == ECONNREFUSED ? ECONNREFUSED : ECONNRESET, now_us);
        return -1;
    }
    if (fr_fileid_fd_of(fd, &c->id) != 0) {
        close(fd);
        return -1;
    }
    c->fd = fd;
    c->connecting = 1;
    c->idle_us = FR_TCP_IDLE_US;
    c->answered = 0;
    atomic_fetch_add(&fr_tcp_counts.connects, 1);
    return 0;
}

/* Write what is queued; on a fatal error the connection is closed. */
void fr_tcp_conn_flush(struct tcp_conn *c, uint64_t now_us)
{
    while (c->wlen && !c->connecting) {
        ssize_t w = send(c->fd, c->wbuf, c->wlen, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                fr_tcp_conn_fail_pending(c, ECONNRESET);
                fr_tcp_conn_close(c, ECONNRESET, now_us);
            }
            return;
        }
        memmove(c->wbuf, c->wbuf + w, c->wlen - (size_t)w);
        c->wlen -= (size_t)w;
    }
}

/* Connections idle past their limit are closed (at a call into fastres:
 * there is no timer). */
void fr_tcp_sweep_idle(uint64_t now_us)
{
    for (unsigned i = 0; i < FR_TCP_MAX_CONNS; i++) {
        struct tcp_conn *c = &fr_tcp_conns[i];
        /* Threads pass times read at different moments: one read before
         * another thread's last use must not wrap the difference around. */
        if (c->fd >= 0 && !c->pending && now_us > c->last_use_us && now_us - c->last_use_us >= c->idle_us)
            fr_tcp_conn_close(c, 0, now_us);
    }
}

/* ------------------------------------------------------------------ */

static void tcp_fork_child(void)
{
    /* The connections are the parent's: close the child's copies (the
     * parent's stay open), forget the questions of threads the child does
     * not have, and drop this thread's copy of its wake-up pipe. */
    for (unsigned i = 0; i < FR_TCP_MAX_CONNS; i++) {
        struct tcp_conn *c = &fr_tcp_conns[i];
        if (c->fd >= 0 && fr_fileid_fd_is(c->fd, &c->id))
            close(c->fd);
        c->fd = -1;
        c->connecting = 0;
        c->pending = NULL;
        c->wlen = c->rlen = 0;
    }
    fr_tcp_wake_forked();
}

/* fork.c holds fr_tcp_mu across fork and re-initialises it after
 * tcp_fork_child. */
static const struct fr_fork_handlers fork_handlers = {
    .name = "net/tcp", .rank = FR_FORK_RANK_NET + 2, .child = tcp_fork_child, .lock = &fr_tcp_mu,
};

static void tcp_init(void)
{
    init_ok = fr_tcp_wake_init() == 0 && fr_fork_register(&fork_handlers) == 0;
}

int fr_tcp_init(void)
{
    pthread_once(&once, tcp_init);
    return init_ok;
}

/* At exit: close the connections, never waiting for a thread that is in
 * the middle of using them. */
__attribute__((destructor)) static void tcp_fini(void)
{
    if (!init_ok || pthread_mutex_trylock(&fr_tcp_mu) != 0)
        return;
    for (unsigned i = 0; i < FR_TCP_MAX_CONNS; i++)
        if (fr_tcp_conns[i].fd >= 0 && !fr_tcp_conns[i].pending)
            fr_tcp_conn_close(&fr_tcp_conns[i], 0, 0);
    pthread_mutex_unlock(&fr_tcp_mu);
    fr_tcp_wake_exit();
}

/* The kernel is recovering a lost segment we sent on c (TCP_INFO): what
 * is sent behind it waits for its retransmission. */
static int tcp_conn_recovering(const struct tcp_conn *c)
{
    struct tcp_info ti;
    socklen_t tl = sizeof ti;
    if (c->fd < 0 || c->connecting || getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) != 0)
        return 0;
    /* Recovery or Loss: a segment is being retransmitted (Disorder and
     * CWR come with bursts on a busy host and lose nothing). */
    return ti.tcpi_ca_state >= TCP_CA_Recovery || ti.tcpi_retransmits > 0;
}

int fr_tcp_usable(const struct fr_server *sv, uint64_t now_us)
{
    if (!fr_tcp_init())
        return 0;
    pthread_mutex_lock(&fr_tcp_mu);
    struct tcp_conn *c = fr_tcp_conn_find(sv, 0);
    int ok = !c || now_us >= c->backoff_until_us;
    if (ok && c && now_us < c->late_until_us)
        ok = 0;
    if (ok && c && c->pending && fr_fileid_fd_is(c->fd, &c->id) && tcp_conn_recovering(c))
        ok = 0;
    pthread_mutex_unlock(&fr_tcp_mu);
    return ok;
}

void fr_tcp_mark_late(const struct fr_server *sv, uint64_t now_us)
{
    if (!fr_tcp_init())
        return;
    pthread_mutex_lock(&fr_tcp_mu);
    struct tcp_conn *c = fr_tcp_conn_find(sv, 0);
    if (c && c->fd >= 0)
        c->late_until_us = now_us + TCP_STALL_US;
    pthread_mutex_unlock(&fr_tcp_mu);
}

void fr_tcp_stats(struct fr_tcp_stats *out)
{
    out->connects = atomic_load(&fr_tcp_counts.connects);
    out->queries = atomic_load(&fr_tcp_counts.queries);
    out->replies = atomic_load(&fr_tcp_counts.replies);
    out->reconnects = atomic_load(&fr_tcp_counts.reconnects);
    out->lost = atomic_load(&fr_tcp_counts.lost);
    out->open = 0;
    if (!fr_tcp_init())
        return;
    pthread_mutex_lock(&fr_tcp_mu);
    for (unsigned i = 0; i < FR_TCP_MAX_CONNS; i++)
        out->open += fr_tcp_conns[i].fd >= 0;
    pthread_mutex_unlock(&fr_tcp_mu);
}
