/* fastres network layer: internal to tcp*.c (persistent TCP, tcp.h); no
 * other module includes this.
 *
 * tcp_conn.c keeps the connection table (one connection per server) and
 * each connection's life: connect, write, close, back-off after failures,
 * the idle sweep, the checks that a descriptor is still fastres's, fork
 * and exit. tcp_wake.c keeps every waiting thread's wake-up pipe and the
 * reader role (which thread polls the connections). tcp.c puts questions
 * on the connections and hands out the replies: framing, reading,
 * matching replies to questions, the poll round.
 *
 * One mutex, fr_tcp_mu, guards the table, the questions pending on it and
 * the reader role: everything below marked "mu held" expects it held. */
#ifndef FR_NET_TCP_INT_H
#define FR_NET_TCP_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "base/fileid.h"
#include "net/tcp.h"

struct tcp_conn {
    int used;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int fd;                      /* -1: closed */
    struct fr_fileid_fd id;      /* what fd was opened on */
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
struct tcp_pipe {
    int rfd, wfd;
    struct fr_fileid_fd id;      /* both ends of one pipe share the inode */
    unsigned gen;                /* fork generation it was made in */
};

extern pthread_mutex_t fr_tcp_mu;
extern struct tcp_conn fr_tcp_conns[FR_TCP_MAX_CONNS];
struct fr_tcp_counters {
    _Atomic uint64_t connects, queries, replies, reconnects, lost;
};
extern struct fr_tcp_counters fr_tcp_counts;

/* tcp_conn.c ------------------------------------------------------- */

/* Once per process: 1 when the module can be used (wake-up pipes' key
 * made, fork handlers registered). */
int fr_tcp_init(void);
/* mu held in all of these. */
void fr_tcp_conn_fail_pending(struct tcp_conn *c, int err);
void fr_tcp_conn_close(struct tcp_conn *c, int err, uint64_t now_us);
int fr_tcp_conn_still_ours(struct tcp_conn *c, uint64_t now_us);
struct tcp_conn *fr_tcp_conn_find(const struct fr_server *sv, int create);
int fr_tcp_conn_open(struct tcp_conn *c, uint64_t now_us);
void fr_tcp_conn_flush(struct tcp_conn *c, uint64_t now_us);
void fr_tcp_sweep_idle(uint64_t now_us);

/* tcp_wake.c ------------------------------------------------------- */

/* Make the thread-specific key (from fr_tcp_init); 0, or -1. */
int fr_tcp_wake_init(void);
/* In the forked child: no reader, and this thread's pipe is the
 * parent's (closed). */
void fr_tcp_wake_forked(void);
/* At exit: close the calling thread's pipe. */
void fr_tcp_wake_exit(void);
/* This thread's wake-up pipe, made on first need; NULL when none can be. */
struct tcp_pipe *fr_tcp_pipe_get(void);
/* This thread's pipe as it is (NULL if never made). */
struct tcp_pipe *fr_tcp_pipe_mine(void);
/* Wake the thread owning the pipe wfd (identity *id), if still its. */
void fr_tcp_wake(int wfd, const struct fr_fileid_fd *id);
/* mu held in all of these. */
/* Take the reader role for me: 1 when taken (nobody held it). */
int fr_tcp_reader_take(const struct tcp_pipe *me);
/* Give the reader role up. */
void fr_tcp_reader_drop(void);
/* Wake the reader, unless it is me. */
void fr_tcp_reader_kick(const struct tcp_pipe *me);
/* Wake one other thread still waiting for a reply, to take the role. */
void fr_tcp_reader_hand_over(const struct tcp_pipe *me);

/* tcp.c ------------------------------------------------------------ */

/* q has its outcome: publish it to the asking thread and wake it (mu
 * held). */
void fr_tcp_query_finish(struct fr_tcp_query *q, int err);

#endif
