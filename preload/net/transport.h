/* fastres network layer: the transport, over c-ares.
 *
 * Why c-ares stays the transport (and not a res_msend-style loop of our
 * own): c-ares 1.18 already does what a stub transport must get exactly
 * right and what fastres's tests hold it to: matching replies by ID,
 * question and source, TCP after a truncated reply (with its own connect
 * and length framing), EDNS query building. The exchange above only needs
 * "send this question to that server, call me back with each reply", and
 * each send's own callback gives an unambiguous round trip per send (every
 * send carries a fresh ID). A persistent TCP transport (one connection per
 * server, pipelined) can sit beside this one behind the same calls.
 *
 * A lane is one server for one question: a c-ares channel of its own, so
 * A and AAAA never share a socket (the conntrack race behind Kubernetes'
 * 5-second delays) and no socket outlives the call. Channels are costly
 * to make in c-ares 1.18 and are pooled (idle, without sockets).
 *
 * Called by the exchange only (exchange_lane.c opens lanes and sends,
 * exchange.c polls and closes them). A lane belongs to the thread whose
 * call made it; the pool is shared, locked, and its lock is taken across
 * fork (base/fork.h). */
#ifndef FR_NET_TRANSPORT_H
#define FR_NET_TRANSPORT_H

#include <ares.h>
#include <poll.h>
#include <stdint.h>

#include "base/config.h"

/* c-ares 1.18 hands at most this many sockets per channel to ares_getsock. */
#define FR_TRANSPORT_SOCKS ARES_GETSOCK_MAXNUM

struct fr_transport {
    const struct fr_server *server;
    ares_channel ch;
    int flags;          /* c-ares flags the channel was made with */
    int socks;          /* sockets c-ares holds open for this lane */
    int open_errno;     /* why the last socket could not be opened, or 0 */
};

/* Library set-up, once per process; 0 when c-ares cannot be used. */
int fr_transport_ready(void);

/* Point t at sv (use_vc: TCP only). 0, or -1 (nothing held). */
int fr_transport_open(struct fr_transport *t, const struct fr_server *sv, int use_vc);
/* End every send still held (their callbacks see ARES_ECANCELLED) and
 * give the channel back. Accepts a never-opened (zeroed) t. */
void fr_transport_close(struct fr_transport *t);

/* Send the query (the ID in qbuf is replaced by a fresh random one); cb
 * runs once for it, with the reply or an error, possibly before return. */
void fr_transport_send(struct fr_transport *t, unsigned char *qbuf, int qlen, ares_callback cb,
                       void *arg);

/* Append t's sockets to pfd (at most FR_TRANSPORT_SOCKS) and lower
 * *wake_ms to c-ares's own next timer. Returns the number added. */
unsigned fr_transport_pollfds(struct fr_transport *t, struct pollfd *pfd, uint64_t now_ms,
                              uint64_t *wake_ms);
/* Let c-ares read/write what poll reported for t's entries pfd[0..n) and
 * run its timers. */
void fr_transport_process(struct fr_transport *t, const struct pollfd *pfd, unsigned n);

/* Sockets open right now across the process (tests, statistics). */
uint64_t fr_transport_sockets_open(void);

#endif
