/* fastres network layer: persistent, pipelined DNS over TCP
 * (FASTRES_TRANSPORT=tcp; RFC 7766).
 *
 * One connection per server per process, opened on first use and kept
 * across calls; every thread's questions are pipelined on it and replies
 * are matched by ID and question in whatever order they come. No thread
 * of its own: whichever waiting thread holds the reader role polls the
 * connections and hands each reply to the thread that asked, waking it
 * through that thread's own eventfd; the role passes on at the end of
 * every poll round, so no thread waits for another's reply past its own
 * timers.
 *
 * The host program owns its descriptors: before every use of a
 * connection or an eventfd, its device and inode are checked
 * (fr_fileid_fd_is, base/fileid.h); one that is no longer fastres's (the
 * program closed it, or reused the number) is forgotten, never read,
 * written or closed. Sockets and eventfds are close-on-exec, writes
 * never raise SIGPIPE, a forked child closes its copies at once and
 * never touches its parent's connections.
 *
 * What stays open between calls: the connections (closed when idle for
 * FR_TCP_IDLE_US, or what the server's edns-tcp-keepalive says, at the
 * next call into fastres after that, and at exit) and one eventfd per
 * thread that waited on them (closed when the thread exits).
 *
 * Called by the exchange (exchange_lane.c asks, exchange.c polls) and for
 * statistics; any thread. The module's files: tcp.c (questions, replies,
 * the poll round), tcp_conn.c (connections' life), tcp_wake.c (wake-up
 * pipes, reader role); tcp_int.h is internal to them. */
#ifndef FR_NET_TCP_H
#define FR_NET_TCP_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/config.h"
#include "base/fileid.h"

/* RFC 7766 6.2.3 suggests idle timeouts of seconds; unbound closes idle
 * client connections after 10 s. */
#define FR_TCP_IDLE_US (10ull * 1000000u)
/* Connections the process keeps: one per server fastres may know. */
#define FR_TCP_MAX_CONNS (2 * FR_MAX_SERVERS)
/* Descriptors one thread's poll needs: its eventfd and every connection. */
#define FR_TCP_POLLFDS (1 + FR_TCP_MAX_CONNS)

/* One question sent on a connection. The caller owns the storage and must
 * call fr_tcp_forget before freeing it. */
struct fr_tcp_query {
    /* out, valid once done is set */
    int done;             /* read with fr_tcp_done (another thread sets it) */
    int err;              /* 0: reply set; else the connection failed
                           * (ECONNREFUSED: not accepting; other: lost) */
    uint8_t *reply;       /* malloc'd; the caller frees it */
    size_t reply_len;
    /* private */
    uint8_t *msg;         /* the query, malloc'd */
    size_t msg_len;
    int conn;
    int owner_wfd;        /* the asking thread's wake-up pipe ... */
    struct fr_fileid_fd owner_id;   /* ... and its identity */
    struct fr_tcp_query *next;
};

/* 1 when sv can be asked over TCP now: no connection failure being
 * backed off, the kernel not recovering a lost segment on it (TCP_INFO),
 * and no question on it late since its last reply (fr_tcp_mark_late):
 * a stream with a late reply most likely waits behind a lost segment for
 * TCP's own retransmission, and questions sent on it now would wait too. */
int fr_tcp_usable(const struct fr_server *sv, uint64_t now_us);

/* A question sent to sv over TCP went past its re-send time: until a
 * reply comes on that connection (or 300 ms pass), it counts as stalled
 * (fr_tcp_usable). */
void fr_tcp_mark_late(const struct fr_server *sv, uint64_t now_us);

/* Queue query (qlen bytes, ID already set) to sv. 0, or -1 (nothing
 * queued: no memory, no descriptor, or sv refuses connections). */
int fr_tcp_send(const struct fr_server *sv, const uint8_t *q, size_t qlen, struct fr_tcp_query *tq,
                uint64_t now_us);

/* 1 once tq has its outcome (reply or err). */
int fr_tcp_done(const struct fr_tcp_query *tq);

/* Stop waiting for tq and free what the module holds for it (not the
 * reply: the caller's). Accepts a query never sent. */
void fr_tcp_forget(struct fr_tcp_query *tq);

/* The descriptors this thread polls while it waits: its eventfd and, when
 * it takes the reader role, every connection. Returns how many were put
 * in pfd (at most FR_TCP_POLLFDS); *reader says whether the role was
 * taken. 0 when no eventfd can be had (the caller then polls with a short
 * timeout). */
unsigned fr_tcp_pollfds(struct pollfd *pfd, int *reader);

/* After poll: read this thread's wake-ups and, as reader, read and hand
 * out replies, write queued queries, notice failures; then give up the
 * role. pfd/n as filled by fr_tcp_pollfds. */
void fr_tcp_process(const struct pollfd *pfd, unsigned n, int reader, uint64_t now_us);

/* Counters for FASTRES_STATS and tests. */
struct fr_tcp_stats {
    uint64_t connects, queries, replies, reconnects, lost;
    unsigned open;
};
void fr_tcp_stats(struct fr_tcp_stats *out);

#endif
