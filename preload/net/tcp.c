/* fastres network layer: persistent, pipelined DNS over TCP (see tcp.h). */
#include "net/tcp.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fork.h"
#include "base/log.h"
#include "dns/msg.h"

/* A DNS message over TCP: a 16-bit length, then at most 65535 octets. */
#define TCP_MSG_MAX 65535
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
/* RFC 7828's edns-tcp-keepalive option code; its value counts 100 ms. */
#define TCP_OPT_KEEPALIVE 11
#define TCP_KEEPALIVE_UNIT_US 100000u
/* The OPT pseudo-record's type (RFC 6891). */
#define TCP_T_OPT 41

struct conn {
    int used;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int fd;                      /* -1: closed */
    dev_t dev;
    ino_t ino;
    int connecting;
    int answered;                /* a reply came on this connection */
    uint8_t *wbuf;               /* framed queries not yet written */
    size_t wlen, wcap;
    uint8_t *rbuf;               /* partial reply */
    size_t rlen;
    struct fr_tcp_query *pending;
    uint64_t last_use_us, idle_us;
    uint64_t backoff_until_us;
    unsigned failures;
    uint64_t late_until_us;      /* a question went late: stalled until then,
                                    or until a reply comes */
};

/* A thread's wake-up pipe: others write a byte to wake it. */
struct tpipe {
    int rfd, wfd;
    dev_t dev;
    ino_t ino;                   /* both ends of one pipe share the inode */
    unsigned gen;                /* fork generation it was made in */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct conn conns[FR_TCP_MAX_CONNS];
static int reader_active;
static int reader_wfd = -1;
static dev_t reader_dev;
static ino_t reader_ino;
static pthread_key_t pipe_key;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int init_ok;
static struct {
    _Atomic uint64_t connects, queries, replies, reconnects, lost;
} stats;

/* ------------------------------------------------------------------ */
/* Descriptors the program may have closed or reused. */

static int fd_is(int fd, dev_t dev, ino_t ino)
{
    struct stat st;
    return fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

static int fd_id(int fd, dev_t *dev, ino_t *ino)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -1;
    *dev = st.st_dev;
    *ino = st.st_ino;
    return 0;
}

static void wake(int wfd, dev_t dev, ino_t ino)
{
    if (!fd_is(wfd, dev, ino))
        return;   /* not ours any more: its owner re-checks on its own */
    /* EAGAIN: the pipe is full, so the owner will wake anyway. */
    ssize_t r = write(wfd, "", 1);
    (void)r;
}

static void pipe_close(struct tpipe *p)
{
    if (p->gen == fr_fork_generation() && fd_is(p->rfd, p->dev, p->ino)) {
        close(p->rfd);
        if (fd_is(p->wfd, p->dev, p->ino))
            close(p->wfd);
    }
    p->rfd = p->wfd = -1;
}

static void pipe_destroy(void *v)
{
    struct tpipe *p = v;
    pipe_close(p);
    free(p);
}

/* This thread's wake-up pipe, made on first need; NULL when none can be. */
static struct tpipe *pipe_get(void)
{
    struct tpipe *p = pthread_getspecific(pipe_key);
    if (p && p->gen == fr_fork_generation() && fd_is(p->rfd, p->dev, p->ino) &&
        fd_is(p->wfd, p->dev, p->ino))
        return p;
    if (!p) {
        p = calloc(1, sizeof *p);
        if (!p || pthread_setspecific(pipe_key, p) != 0) {
            free(p);
            return NULL;
        }
    } else if (p->gen == fr_fork_generation()) {
        /* The program closed or reused one end: forget both, close what
         * is still ours. */
        pipe_close(p);
    }
    int fds[2];
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
        p->rfd = p->wfd = -1;
        return NULL;
    }
    p->rfd = fds[0];
    p->wfd = fds[1];
    p->gen = fr_fork_generation();
    if (fd_id(p->rfd, &p->dev, &p->ino) != 0) {
        close(fds[0]);
        close(fds[1]);
        p->rfd = p->wfd = -1;
        return NULL;
    }
    return p;
}

/* ------------------------------------------------------------------ */
/* Connections. mu held in everything below. */

/* q has its outcome: publish it to the asking thread and wake it. */
static void query_finish(struct fr_tcp_query *q, int err)
{
    q->next = NULL;
    q->conn = -1;
    q->err = err;
    __atomic_store_n(&q->done, 1, __ATOMIC_RELEASE);
    wake(q->owner_wfd, q->owner_dev, q->owner_ino);
}

/* Fail every query waiting on c with err. */
static void conn_fail_pending(struct conn *c, int err)
{
    struct fr_tcp_query *q = c->pending;
    c->pending = NULL;
    while (q) {
        struct fr_tcp_query *next = q->next;
        atomic_fetch_add(&stats.lost, 1);
        query_finish(q, err);
        q = next;
    }
}

static void conn_close(struct conn *c, int err, uint64_t now_us)
{
    if (c->fd >= 0 && fd_is(c->fd, c->dev, c->ino))
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
static int conn_still_ours(struct conn *c, uint64_t now_us)
{
    if (c->fd < 0 || fd_is(c->fd, c->dev, c->ino))
        return 1;
    c->fd = -1;
    conn_fail_pending(c, ECONNRESET);
    conn_close(c, 0, now_us);
    return 0;
}

static struct conn *conn_find(const struct fr_server *sv, int create)
{
    struct conn *free_slot = NULL;
    for (unsigned i = 0; i < FR_TCP_MAX_CONNS; i++) {
        struct conn *c = &conns[i];
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
            if (conns[i].fd < 0 && !conns[i].pending)
                free_slot = &conns[i];
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

static int conn_open(struct conn *c, uint64_t now_us)
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
        conn_close(c, e == ECONNREFUSED ? ECONNREFUSED : ECONNRESET, now_us);
        return -1;
    }
    if (fd_id(fd, &c->dev, &c->ino) != 0) {
        close(fd);
        return -1;
    }
    c->fd = fd;
    c->connecting = 1;
    c->idle_us = FR_TCP_IDLE_US;
    c->answered = 0;
    atomic_fetch_add(&stats.connects, 1);
    return 0;
}

/* Write what is queued; on a fatal error the connection is closed. */
static void conn_flush(struct conn *c, uint64_t now_us)
{
    while (c->wlen && !c->connecting) {
        ssize_t w = send(c->fd, c->wbuf, c->wlen, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                conn_fail_pending(c, ECONNRESET);
                conn_close(c, ECONNRESET, now_us);
            }
            return;
        }
        memmove(c->wbuf, c->wbuf + w, c->wlen - (size_t)w);
        c->wlen -= (size_t)w;
    }
}

/* RFC 7828: the server's idle timeout for this connection, if it says. */
static void conn_keepalive(struct conn *c, const uint8_t *m, size_t len)
{
    struct fr_msg_iter it;
    struct fr_msg_rr rr;
    if (fr_msg_iter_init(&it, m, len) != FR_OK)
        return;
    while (fr_msg_iter_next(&it, &rr) == FR_OK) {
        if (rr.section != FR_SEC_ADDITIONAL || rr.type != TCP_T_OPT)
            continue;
        size_t off = rr.rdata_off, end = rr.rdata_off + rr.rdlen;
        while (off + 4 <= end) {
            uint16_t code = (uint16_t)(m[off] << 8 | m[off + 1]);
            uint16_t olen = (uint16_t)(m[off + 2] << 8 | m[off + 3]);
            if (off + 4 + olen > end)
                break;
            if (code == TCP_OPT_KEEPALIVE && olen == 2) {
                uint64_t t = (uint64_t)(m[off + 4] << 8 | m[off + 5]) * TCP_KEEPALIVE_UNIT_US;
                /* 0 asks to close once idle: keep it only as long as the
                 * questions in flight need it. */
                c->idle_us = t;
            }
            off += 4u + olen;
        }
    }
}

/* Same ID and same question (name ignoring case, type, class). */
static int reply_matches(const struct fr_tcp_query *q, const uint8_t *m, size_t len)
{
    size_t qe, re;
    if (len < 12 || q->msg_len < 12 || memcmp(q->msg, m, 2) || m[4] != 0 || m[5] != 1)
        return 0;
    if (fr_msg_name_eq(q->msg, q->msg_len, 12, m, len, 12) != 1)
        return 0;
    if (fr_msg_name_skip(q->msg, q->msg_len, 12, &qe) != FR_OK ||
        fr_msg_name_skip(m, len, 12, &re) != FR_OK || qe + 4 > q->msg_len || re + 4 > len)
        return 0;
    return !memcmp(q->msg + qe, m + re, 4);
}

static void conn_deliver(struct conn *c, const uint8_t *m, size_t len)
{
    for (struct fr_tcp_query **pp = &c->pending; *pp; pp = &(*pp)->next) {
        struct fr_tcp_query *q = *pp;
        if (!reply_matches(q, m, len))
            continue;
        uint8_t *copy = malloc(len);
        *pp = q->next;
        if (copy) {
            memcpy(copy, m, len);
            q->reply = copy;
            q->reply_len = len;
        }
        query_finish(q, copy ? 0 : ENOMEM);
        c->answered = 1;
        c->failures = 0;
        c->late_until_us = 0;
        atomic_fetch_add(&stats.replies, 1);
        conn_keepalive(c, m, len);
        return;
    }
    /* A reply nobody waits for (its asker gave up): dropped. */
}

static void conn_read(struct conn *c, uint64_t now_us)
{
    if (!c->rbuf && !(c->rbuf = malloc(2 + TCP_MSG_MAX)))
        return;
    for (;;) {
        ssize_t r = recv(c->fd, c->rbuf + c->rlen, 2 + TCP_MSG_MAX - c->rlen, MSG_DONTWAIT);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            conn_fail_pending(c, errno == ECONNREFUSED ? ECONNREFUSED : ECONNRESET);
            conn_close(c, errno == ECONNREFUSED ? ECONNREFUSED : ECONNRESET, now_us);
            return;
        }
        if (r == 0) {
            /* EOF: the server closed (idle limit, restart). Questions
             * still waiting are lost and asked again by their exchange. */
            int had = c->pending != NULL;
            conn_fail_pending(c, ECONNRESET);
            conn_close(c, had ? ECONNRESET : 0, now_us);
            return;
        }
        c->rlen += (size_t)r;
        /* ACK at once: a server that leaves Nagle on holds its next reply
         * until the last one is acknowledged, and Linux delays ACKs up to
         * 40 ms. The flag does not stick, so it is set after every read. */
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
        while (c->rlen >= 2) {
            size_t mlen = (size_t)c->rbuf[0] << 8 | c->rbuf[1];
            if (c->rlen < 2 + mlen)
                break;
            conn_deliver(c, c->rbuf + 2, mlen);
            memmove(c->rbuf, c->rbuf + 2 + mlen, c->rlen - 2 - mlen);
            c->rlen -= 2 + mlen;
        }
    }
}

/* Connections idle past their limit are closed (at a call into fastres:
 * there is no timer). */
static void sweep_idle(uint64_t now_us)
{
    for (unsigned i = 0; i < FR_TCP_MAX_CONNS; i++) {
        struct conn *c = &conns[i];
        /* Threads pass times read at different moments: one read before
         * another thread's last use must not wrap the difference around. */
        if (c->fd >= 0 && !c->pending && now_us > c->last_use_us && now_us - c->last_use_us >= c->idle_us)
            conn_close(c, 0, now_us);
    }
}

/* ------------------------------------------------------------------ */

static void on_prepare(void)
{
    pthread_mutex_lock(&mu);
}

static void on_parent(void)
{
    pthread_mutex_unlock(&mu);
}

static void on_child(void)
{
    /* The connections are the parent's: close the child's copies (the
     * parent's stay open), forget the questions of threads the child does
     * not have, and drop this thread's copy of its wake-up pipe. */
    for (unsigned i = 0; i < FR_TCP_MAX_CONNS; i++) {
        struct conn *c = &conns[i];
        if (c->fd >= 0 && fd_is(c->fd, c->dev, c->ino))
            close(c->fd);
        c->fd = -1;
        c->connecting = 0;
        c->pending = NULL;
        c->wlen = c->rlen = 0;
    }
    reader_active = 0;
    reader_wfd = -1;
    struct tpipe *p = pthread_getspecific(pipe_key);
    if (p) {
        if (fd_is(p->rfd, p->dev, p->ino))
            close(p->rfd);
        if (fd_is(p->wfd, p->dev, p->ino))
            close(p->wfd);
        p->rfd = p->wfd = -1;
    }
    pthread_mutex_init(&mu, NULL);
}

static const struct fr_fork_handlers fork_handlers = {
    "net/tcp", FR_FORK_RANK_NET + 2, on_prepare, on_parent, on_child,
};

static void tcp_init(void)
{
    init_ok = pthread_key_create(&pipe_key, pipe_destroy) == 0 && fr_fork_register(&fork_handlers) == 0;
}

/* At exit: close the connections, never waiting for a thread that is in
 * the middle of using them. */
__attribute__((destructor)) static void tcp_fini(void)
{
    if (!init_ok || pthread_mutex_trylock(&mu) != 0)
        return;
    for (unsigned i = 0; i < FR_TCP_MAX_CONNS; i++)
        if (conns[i].fd >= 0 && !conns[i].pending)
            conn_close(&conns[i], 0, 0);
    pthread_mutex_unlock(&mu);
    /* Key destructors do not run for the thread that calls exit. */
    struct tpipe *p = pthread_getspecific(pipe_key);
    if (p)
        pipe_close(p);
}

/* The kernel is recovering a lost segment we sent on c (TCP_INFO): what
 * is sent behind it waits for its retransmission. */
static int conn_recovering(const struct conn *c)
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
    pthread_once(&once, tcp_init);
    if (!init_ok)
        return 0;
    pthread_mutex_lock(&mu);
    struct conn *c = conn_find(sv, 0);
    int ok = !c || now_us >= c->backoff_until_us;
    if (ok && c && now_us < c->late_until_us)
        ok = 0;
    if (ok && c && c->pending && fd_is(c->fd, c->dev, c->ino) && conn_recovering(c))
        ok = 0;
    pthread_mutex_unlock(&mu);
    return ok;
}

void fr_tcp_mark_late(const struct fr_server *sv, uint64_t now_us)
{
    pthread_once(&once, tcp_init);
    if (!init_ok)
        return;
    pthread_mutex_lock(&mu);
    struct conn *c = conn_find(sv, 0);
    if (c && c->fd >= 0)
        c->late_until_us = now_us + TCP_STALL_US;
    pthread_mutex_unlock(&mu);
}

static void kick_reader(const struct tpipe *me)
{
    if (reader_active && (!me || reader_wfd != me->wfd))
        wake(reader_wfd, reader_dev, reader_ino);
}

int fr_tcp_send(const struct fr_server *sv, const uint8_t *q, size_t qlen, struct fr_tcp_query *tq,
                uint64_t now_us)
{
    int ret = -1;
    pthread_once(&once, tcp_init);
    memset(tq, 0, sizeof *tq);
    tq->conn = -1;
    if (!init_ok || qlen < 12 || qlen > TCP_MSG_MAX)
        return -1;
    struct tpipe *me = pipe_get();
    if (!me || !(tq->msg = malloc(qlen)))
        return -1;
    memcpy(tq->msg, q, qlen);
    tq->msg_len = qlen;
    tq->owner_wfd = me->wfd;
    tq->owner_dev = me->dev;
    tq->owner_ino = me->ino;

    pthread_mutex_lock(&mu);
    sweep_idle(now_us);
    struct conn *c = conn_find(sv, 1);
    if (!c || now_us < c->backoff_until_us)
        goto done;
    conn_still_ours(c, now_us);
    if (c->fd < 0) {
        int again = c->last_use_us != 0;
        if (conn_open(c, now_us) != 0)
            goto done;
        if (again)
            atomic_fetch_add(&stats.reconnects, 1);
    }
    /* A query with an empty OPT record at its end (options edns0) asks
     * for the server's idle timeout (RFC 7828 3.1: clients send the
     * option without data over TCP). */
    size_t extra = qlen >= 23 && q[qlen - 11] == 0 && q[qlen - 10] == 0 && q[qlen - 9] == TCP_T_OPT &&
                           q[qlen - 2] == 0 && q[qlen - 1] == 0 && q[10] == 0 && q[11] == 1
                       ? 4
                       : 0;
    if (c->wlen + 2 + qlen + extra > c->wcap) {
        size_t cap = c->wcap ? c->wcap * 2 : 1024;
        while (cap < c->wlen + 2 + qlen + extra)
            cap *= 2;
        uint8_t *w = realloc(c->wbuf, cap);
        if (!w)
            goto done;
        c->wbuf = w;
        c->wcap = cap;
    }
    uint8_t *f = c->wbuf + c->wlen;
    f[0] = (uint8_t)((qlen + extra) >> 8);
    f[1] = (uint8_t)(qlen + extra);
    memcpy(f + 2, q, qlen);
    if (extra) {
        f[2 + qlen - 1] = 4;   /* RDLENGTH of the OPT record */
        static const uint8_t keepalive[4] = { 0, TCP_OPT_KEEPALIVE, 0, 0 };
        memcpy(f + 2 + qlen, keepalive, sizeof keepalive);
    }
    c->wlen += 2 + qlen + extra;
    tq->conn = (int)(c - conns);
    tq->next = c->pending;
    c->pending = tq;
    if (now_us > c->last_use_us)
        c->last_use_us = now_us;
    atomic_fetch_add(&stats.queries, 1);
    conn_flush(c, now_us);
    /* The reader must poll a new connection, or one with bytes to write. */
    kick_reader(me);
    ret = 0;
done:
    pthread_mutex_unlock(&mu);
    if (ret) {
        free(tq->msg);
        tq->msg = NULL;
    }
    return ret;
}

void fr_tcp_forget(struct fr_tcp_query *tq)
{
    if (!tq->msg)
        return;
    pthread_mutex_lock(&mu);
    if (!fr_tcp_done(tq) && tq->conn >= 0) {
        struct conn *c = &conns[tq->conn];
        for (struct fr_tcp_query **pp = &c->pending; *pp; pp = &(*pp)->next)
            if (*pp == tq) {
                *pp = tq->next;
                break;
            }
    }
    pthread_mutex_unlock(&mu);
    free(tq->msg);
    tq->msg = NULL;
    tq->conn = -1;
}

unsigned fr_tcp_pollfds(struct pollfd *pfd, int *reader)
{
    unsigned n = 0;
    *reader = 0;
    pthread_once(&once, tcp_init);
    struct tpipe *me = init_ok ? pipe_get() : NULL;
    if (!me)
        return 0;
    pfd[n++] = (struct pollfd){ me->rfd, POLLIN, 0 };
    pthread_mutex_lock(&mu);
    if (!reader_active) {
        reader_active = 1;
        reader_wfd = me->wfd;
        reader_dev = me->dev;
        reader_ino = me->ino;
        *reader = 1;
        for (unsigned i = 0; i < FR_TCP_MAX_CONNS; i++) {
            struct conn *c = &conns[i];
            if (c->fd < 0)
                continue;
            if (!conn_still_ours(c, 0))
                continue;
            short ev = POLLIN;
            if (c->connecting || c->wlen)
                ev |= POLLOUT;
            pfd[n++] = (struct pollfd){ c->fd, ev, 0 };
        }
    }
    pthread_mutex_unlock(&mu);
    return n;
}

/* Giving up the reader role: wake one other thread still waiting for a
 * reply, to take the role over. */
static void hand_over(const struct tpipe *me)
{
    for (unsigned i = 0; i < FR_TCP_MAX_CONNS; i++)
        for (struct fr_tcp_query *q = conns[i].pending; q; q = q->next)
            if (q->owner_wfd != me->wfd) {
                wake(q->owner_wfd, q->owner_dev, q->owner_ino);
                return;
            }
}

int fr_tcp_done(const struct fr_tcp_query *tq)
{
    return __atomic_load_n(&tq->done, __ATOMIC_ACQUIRE);
}

void fr_tcp_process(const struct pollfd *pfd, unsigned n, int reader, uint64_t now_us)
{
    struct tpipe *me = pthread_getspecific(pipe_key);
    if (!me || n == 0)
        return;
    if (fd_is(me->rfd, me->dev, me->ino)) {
        char b[64];
        while (read(me->rfd, b, sizeof b) > 0)
            ;
    }
    pthread_mutex_lock(&mu);
    if (reader) {
        for (unsigned p = 1; p < n; p++) {
            if (!pfd[p].revents)
                continue;
            struct conn *c = NULL;
            for (unsigned i = 0; i < FR_TCP_MAX_CONNS && !c; i++)
                if (conns[i].fd == pfd[p].fd)
                    c = &conns[i];
            if (!c || !fd_is(c->fd, c->dev, c->ino))
                continue;
            if (c->connecting && (pfd[p].revents & (POLLOUT | POLLERR | POLLHUP))) {
                int err = 0;
                socklen_t el = sizeof err;
                if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
                    err = errno;
                if (err) {
                    conn_fail_pending(c, err == ECONNREFUSED ? ECONNREFUSED : ECONNRESET);
                    conn_close(c, err == ECONNREFUSED ? ECONNREFUSED : ECONNRESET, now_us);
                    continue;
                }
                c->connecting = 0;
            }
            if (pfd[p].revents & POLLOUT)
                conn_flush(c, now_us);
            if (c->fd >= 0 && (pfd[p].revents & (POLLIN | POLLERR | POLLHUP)))
                conn_read(c, now_us);
        }
        reader_active = 0;
        reader_wfd = -1;
    }
    sweep_idle(now_us);
    if (reader)
        hand_over(me);
    pthread_mutex_unlock(&mu);
}

void fr_tcp_stats(struct fr_tcp_stats *out)
{
    out->connects = atomic_load(&stats.connects);
    out->queries = atomic_load(&stats.queries);
    out->replies = atomic_load(&stats.replies);
    out->reconnects = atomic_load(&stats.reconnects);
    out->lost = atomic_load(&stats.lost);
    out->open = 0;
    pthread_once(&once, tcp_init);
    if (!init_ok)
        return;
    pthread_mutex_lock(&mu);
    for (unsigned i = 0; i < FR_TCP_MAX_CONNS; i++)
        out->open += conns[i].fd >= 0;
    pthread_mutex_unlock(&mu);
}
