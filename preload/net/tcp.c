/* fastres network layer: persistent, pipelined DNS over TCP (see tcp.h).
 *
 * This file puts questions on the connections and hands out the replies:
 * framing (with RFC 7828's keepalive option), reading the length-prefixed
 * replies, matching each to its question by ID and question, and the
 * poll round of the thread holding the reader role. The connections'
 * life is tcp_conn.c's, the wake-up pipes and the reader role
 * tcp_wake.c's (tcp_int.h). */
#include "net/tcp_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns/msg.h"

/* A DNS message over TCP: a 16-bit length, then at most 65535 octets. */
#define TCP_MSG_MAX 65535
/* RFC 7828's edns-tcp-keepalive option code; its value counts 100 ms. */
#define TCP_OPT_KEEPALIVE 11
#define TCP_KEEPALIVE_UNIT_US 100000u
/* The OPT pseudo-record's type (RFC 6891). */
#define TCP_T_OPT 41

/* q has its outcome: publish it to the asking thread and wake it. */
void fr_tcp_query_finish(struct fr_tcp_query *q, int err)
{
    q->next = NULL;
    q->conn = -1;
    q->err = err;
    __atomic_store_n(&q->done, 1, __ATOMIC_RELEASE);
    fr_tcp_wake(q->owner_wfd, &q->owner_id);
}

/* RFC 7828: the server's idle timeout for this connection, if it says. */
static void tcp_conn_keepalive(struct tcp_conn *c, const uint8_t *m, size_t len)
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
static int tcp_reply_matches(const struct fr_tcp_query *q, const uint8_t *m, size_t len)
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

static void tcp_conn_deliver(struct tcp_conn *c, const uint8_t *m, size_t len)
{
    for (struct fr_tcp_query **pp = &c->pending; *pp; pp = &(*pp)->next) {
        struct fr_tcp_query *q = *pp;
        if (!tcp_reply_matches(q, m, len))
            continue;
        uint8_t *copy = malloc(len);
        *pp = q->next;
        if (copy) {
            memcpy(copy, m, len);
            q->reply = copy;
            q->reply_len = len;
        }
        fr_tcp_query_finish(q, copy ? 0 : ENOMEM);
        c->answered = 1;
        c->failures = 0;
        c->late_until_us = 0;
        atomic_fetch_add(&fr_tcp_counts.replies, 1);
        tcp_conn_keepalive(c, m, len);
        return;
    }
    /* A reply nobody waits for (its asker gave up): dropped. */
}

static void tcp_conn_read(struct tcp_conn *c, uint64_t now_us)
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
            fr_tcp_conn_fail_pending(c, errno == ECONNREFUSED ? ECONNREFUSED : ECONNRESET);
            fr_tcp_conn_close(c, errno == ECONNREFUSED ? ECONNREFUSED : ECONNRESET, now_us);
            return;
        }
        if (r == 0) {
            /* EOF: the server closed (idle limit, restart). Questions
             * still waiting are lost and asked again by their exchange. */
            int had = c->pending != NULL;
            fr_tcp_conn_fail_pending(c, ECONNRESET);
            fr_tcp_conn_close(c, had ? ECONNRESET : 0, now_us);
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
            tcp_conn_deliver(c, c->rbuf + 2, mlen);
            memmove(c->rbuf, c->rbuf + 2 + mlen, c->rlen - 2 - mlen);
            c->rlen -= 2 + mlen;
        }
    }
}

int fr_tcp_send(const struct fr_server *sv, const uint8_t *q, size_t qlen, struct fr_tcp_query *tq,
                uint64_t now_us)
{
    int ret = -1;
    int init_ok = fr_tcp_init();
    memset(tq, 0, sizeof *tq);
    tq->conn = -1;
    if (!init_ok || qlen < 12 || qlen > TCP_MSG_MAX)
        return -1;
    struct tcp_pipe *me = fr_tcp_pipe_get();
    if (!me || !(tq->msg = malloc(qlen)))
        return -1;
    memcpy(tq->msg, q, qlen);
    tq->msg_len = qlen;
    tq->owner_wfd = me->wfd;
    tq->owner_id = me->id;

    pthread_mutex_lock(&fr_tcp_mu);
    fr_tcp_sweep_idle(now_us);
    struct tcp_conn *c = fr_tcp_conn_find(sv, 1);
    if (!c || now_us < c->backoff_until_us)
        goto done;
    fr_tcp_conn_still_ours(c, now_us);
    if (c->fd < 0) {
        int again = c->last_use_us != 0;
        if (fr_tcp_conn_open(c, now_us) != 0)
            goto done;
        if (again)
            atomic_fetch_add(&fr_tcp_counts.reconnects, 1);
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
    tq->conn = (int)(c - fr_tcp_conns);
    tq->next = c->pending;
    c->pending = tq;
    if (now_us > c->last_use_us)
        c->last_use_us = now_us;
    atomic_fetch_add(&fr_tcp_counts.queries, 1);
    fr_tcp_conn_flush(c, now_us);
    /* The reader must poll a new connection, or one with bytes to write. */
    fr_tcp_reader_kick(me);
    ret = 0;
done:
    pthread_mutex_unlock(&fr_tcp_mu);
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
    pthread_mutex_lock(&fr_tcp_mu);
    if (!fr_tcp_done(tq) && tq->conn >= 0) {
        struct tcp_conn *c = &fr_tcp_conns[tq->conn];
        for (struct fr_tcp_query **pp = &c->pending; *pp; pp = &(*pp)->next)
            if (*pp == tq) {
                *pp = tq->next;
                break;
            }
    }
    pthread_mutex_unlock(&fr_tcp_mu);
    free(tq->msg);
    tq->msg = NULL;
    tq->conn = -1;
}

unsigned fr_tcp_pollfds(struct pollfd *pfd, int *reader)
{
    unsigned n = 0;
    *reader = 0;
    struct tcp_pipe *me = fr_tcp_init() ? fr_tcp_pipe_get() : NULL;
    if (!me)
        return 0;
    pfd[n++] = (struct pollfd){ me->rfd, POLLIN, 0 };
    pthread_mutex_lock(&fr_tcp_mu);
    if (fr_tcp_reader_take(me)) {
        *reader = 1;
        for (unsigned i = 0; i < FR_TCP_MAX_CONNS; i++) {
            struct tcp_conn *c = &fr_tcp_conns[i];
            if (c->fd < 0)
                continue;
            if (!fr_tcp_conn_still_ours(c, 0))
                continue;
            short ev = POLLIN;
            if (c->connecting || c->wlen)
                ev |= POLLOUT;
            pfd[n++] = (struct pollfd){ c->fd, ev, 0 };
        }
    }
    pthread_mutex_unlock(&fr_tcp_mu);
    return n;
}

int fr_tcp_done(const struct fr_tcp_query *tq)
{
    return __atomic_load_n(&tq->done, __ATOMIC_ACQUIRE);
}

void fr_tcp_process(const struct pollfd *pfd, unsigned n, int reader, uint64_t now_us)
{
    struct tcp_pipe *me = fr_tcp_pipe_mine();
    if (!me || n == 0)
        return;
    if (fr_fileid_fd_is(me->rfd, &me->id)) {
        char b[64];
        while (read(me->rfd, b, sizeof b) > 0)
            ;
    }
    pthread_mutex_lock(&fr_tcp_mu);
    if (reader) {
        for (unsigned p = 1; p < n; p++) {
            if (!pfd[p].revents)
                continue;
            struct tcp_conn *c = NULL;
            for (unsigned i = 0; i < FR_TCP_MAX_CONNS && !c; i++)
                if (fr_tcp_conns[i].fd == pfd[p].fd)
                    c = &fr_tcp_conns[i];
            if (!c || !fr_fileid_fd_is(c->fd, &c->id))
                continue;
            if (c->connecting && (pfd[p].revents & (POLLOUT | POLLERR | POLLHUP))) {
                int err = 0;
                socklen_t el = sizeof err;
                if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
                    err = errno;
                if (err) {
                    fr_tcp_conn_fail_pending(c, err == ECONNREFUSED ? ECONNREFUSED : ECONNRESET);
                    fr_tcp_conn_close(c, err == ECONNREFUSED ? ECONNREFUSED : ECONNRESET, now_us);
                    continue;
                }
                c->connecting = 0;
            }
            if (pfd[p].revents & POLLOUT)
                fr_tcp_conn_flush(c, now_us);
            if (c->fd >= 0 && (pfd[p].revents & (POLLIN | POLLERR | POLLHUP)))
                tcp_conn_read(c, now_us);
        }
        fr_tcp_reader_drop();
    }
    fr_tcp_sweep_idle(now_us);
    if (reader)
        fr_tcp_reader_hand_over(me);
    pthread_mutex_unlock(&fr_tcp_mu);
}

