/* fastres network layer: one question to every server, once, with nobody
 * waiting for the reply.
 *
 * Contract: fr_oneshot_send sends one question to every server of a
 * configuration, one datagram each, from fresh non-blocking, close-on-exec
 * UDP sockets (one per address family); fr_oneshot_collect later reads,
 * without blocking, what has arrived and hands back the first valid reply:
 * the question's ID, from one of the servers asked (address and port), a
 * response carrying one question equal to ours, NOERROR or NXDOMAIN, not
 * truncated, well-formed (dns/msg.h); fr_oneshot_close closes the sockets.
 * No thread, no waiting, no retry, no timer: a lost datagram or an
 * unusable reply is just no reply, and the caller decides how long to keep
 * collecting.
 *
 * Descriptors: a struct fr_oneshot holds up to two sockets that outlive
 * the call that sent the question, until fr_oneshot_close. Before every
 * use (read or close) a socket is checked to be still the one opened here
 * (fr_fileid_fd_is, base/fileid.h): the program may have closed the number
 * and opened something else under it, which is then forgotten, never read
 * or closed.
 *
 * No state of its own and no lock: the caller owns every struct
 * fr_oneshot and serialises the calls on one (lookup/refresh.c: its
 * pending table under its lock). Fork and exit are the owner's to handle:
 * it registers with base/fork.h and calls fr_oneshot_close in the child
 * (on the copies, only those still ours) and at exit. Called by
 * lookup/refresh.c; never logs. */
#ifndef FR_NET_ONESHOT_H
#define FR_NET_ONESHOT_H

#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "base/fileid.h"
#include "dns/msg.h"

/* A name as the caller gives it, in presentation form: every octet may be
 * escaped as \DDD (four characters), plus the NUL. */
#define FR_ONESHOT_NAME_SIZE (FR_MSG_NAME_MAX * 4 + 1)

/* One question in wire form, made before the owner takes its lock. */
struct fr_oneshot_query {
    const char *name;        /* the caller's, read until fr_oneshot_send */
    uint16_t id, qtype, qclass;
    unsigned char *wire;     /* from ares_create_query */
    int len;
};

struct fr_oneshot_sock {
    int fd;                  /* -1: none */
    struct fr_fileid_fd id;  /* what fd was opened on */
};

/* One question sent, its reply not yet collected. */
struct fr_oneshot {
    /* The question (the owner may read it). */
    char name[FR_ONESHOT_NAME_SIZE];
    uint16_t id, qtype, qclass;
    /* private */
    struct fr_oneshot_sock s4, s6;
    unsigned nservers;
    struct fr_server servers[FR_MAX_SERVERS];
};

/* Build the question for name with a fresh ID (cfg: EDNS0, the AD bit);
 * 0, or -1 when the name is too long or c-ares cannot build it (*q is set
 * only on 0; free it with fr_oneshot_query_free). */
int fr_oneshot_query_make(struct fr_oneshot_query *q, const struct fr_config *cfg, const char *name,
                          uint16_t qtype, uint16_t qclass);
void fr_oneshot_query_free(struct fr_oneshot_query *q);

/* Send q to every server of cfg, filling *o (overwritten). Returns how many
 * datagrams left; 0: none, and no socket is left open in *o. */
unsigned fr_oneshot_send(struct fr_oneshot *o, const struct fr_oneshot_query *q,
                         const struct fr_config *cfg);

enum fr_oneshot_result {
    FR_ONESHOT_WAIT,         /* nothing usable yet */
    FR_ONESHOT_REPLY,        /* a valid reply is in the caller's buffer */
    FR_ONESHOT_GONE,         /* no socket left (the program closed them):
                              * nothing more can come */
};

/* Read, without blocking, what has arrived for o (a few datagrams per
 * socket: bounds one caller's work). On FR_ONESHOT_REPLY the reply is in
 * buf (cap bytes; FR_MSG_MAX holds any datagram) and *len is set. */
enum fr_oneshot_result fr_oneshot_collect(struct fr_oneshot *o, uint8_t *buf, size_t cap,
                                          size_t *len);

/* Close o's sockets that are still ours; forget the others. Accepts NULL
 * and an o already closed. */
void fr_oneshot_close(struct fr_oneshot *o);

#endif
