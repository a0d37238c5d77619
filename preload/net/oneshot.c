/* fastres network layer: one question to every server, once (see
 * oneshot.h).
 *
 * Hand-written rather than a c-ares channel: c-ares 1.18 gives no way to
 * keep a query alive across calls while checking that its descriptors still
 * belong to it, and one datagram per server with a check of ID, source and
 * question is all a refresh needs (a truncated or unusable reply just lets
 * the entry expire into the normal, racing path). */
#include "net/oneshot.h"

#include <ares.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/rand.h"

/* Datagrams read per socket per collect: bounds the work one caller does. */
#define ONESHOT_READS_PER_COLLECT 8
/* glibc's RESOLV_EDNS_BUFFER_SIZE, as the engine uses it. */
#define ONESHOT_EDNS_SIZE 1200

int fr_oneshot_query_make(struct fr_oneshot_query *q, const struct fr_config *cfg, const char *name,
                          uint16_t qtype, uint16_t qclass)
{
    unsigned char *wire = NULL;
    int len = 0;
    uint16_t id = fr_rand_id();
    if (strlen(name) >= FR_ONESHOT_NAME_SIZE)
        return -1;
    if (ares_create_query(name, qclass, qtype, id, 1, &wire, &len, cfg->edns0 ? ONESHOT_EDNS_SIZE : 0) !=
        ARES_SUCCESS)
        return -1;
    if (cfg->trust_ad && len > 3)
        wire[3] |= 0x20;
    q->name = name;
    q->id = id;
    q->qtype = qtype;
    q->qclass = qclass;
    q->wire = wire;
    q->len = len;
    return 0;
}

void fr_oneshot_query_free(struct fr_oneshot_query *q)
{
    if (!q)
        return;
    ares_free_string(q->wire);
    q->wire = NULL;
}

static int oneshot_sock_open(int family, struct fr_oneshot_sock *s)
{
    s->fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s->fd < 0)
        return -1;
    if (fr_fileid_fd_of(s->fd, &s->id) != 0) {
        close(s->fd);
        s->fd = -1;
        return -1;
    }
    return 0;
}

static void oneshot_sock_drop(struct fr_oneshot_sock *s)
{
    /* Close only what is still ours: the program may have closed it and
     * opened something else under the same number. */
    if (fr_fileid_fd_is(s->fd, &s->id))
        close(s->fd);
    s->fd = -1;
}

void fr_oneshot_close(struct fr_oneshot *o)
{
    if (!o)
        return;
    oneshot_sock_drop(&o->s4);
    oneshot_sock_drop(&o->s6);
}

unsigned fr_oneshot_send(struct fr_oneshot *o, const struct fr_oneshot_query *q,
                         const struct fr_config *cfg)
{
    memset(o, 0, sizeof *o);
    o->s4.fd = o->s6.fd = -1;
    o->id = q->id;
    o->qtype = q->qtype;
    o->qclass = q->qclass;
    strcpy(o->name, q->name);   /* fits: fr_oneshot_query_make checked */
    o->nservers = cfg->nservers;
    memcpy(o->servers, cfg->servers, cfg->nservers * sizeof cfg->servers[0]);
    unsigned sent = 0;
    for (unsigned i = 0; i < cfg->nservers; i++) {
        const struct fr_server *sv = &cfg->servers[i];
        struct fr_oneshot_sock *s = sv->addr.ss_family == AF_INET ? &o->s4 : &o->s6;
        if (s->fd < 0 && oneshot_sock_open(sv->addr.ss_family, s) != 0)
            continue;
        if (sendto(s->fd, q->wire, (size_t)q->len, MSG_DONTWAIT, (const struct sockaddr *)&sv->addr,
                   sv->addrlen) == q->len)
            sent++;
    }
    if (!sent)
        fr_oneshot_close(o);
    return sent;
}

static int oneshot_from_server(const struct fr_oneshot *o, const struct sockaddr_storage *from,
                               socklen_t len)
{
    for (unsigned i = 0; i < o->nservers; i++) {
        const struct fr_server *sv = &o->servers[i];
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
static int oneshot_matches(const struct fr_oneshot *o, const uint8_t *m, size_t len)
{
    struct fr_msg_iter it;
    struct fr_msg_rr rr;
    uint8_t q[FR_MSG_UDP_MAX];
    unsigned char *qb = NULL;
    int qlen = 0, ok = 0;
    if (fr_msg_iter_init(&it, m, len) != FR_OK || it.hdr.id != o->id || !(it.hdr.flags & 0x8000) ||
        it.hdr.qdcount != 1 || fr_msg_iter_next(&it, &rr) != FR_OK || rr.type != o->qtype ||
        rr.rclass != o->qclass)
        return 0;
    /* Compare the question name with our own query's, in wire form. */
    if (ares_create_query(o->name, o->qclass, o->qtype, o->id, 1, &qb, &qlen, 0) != ARES_SUCCESS)
        return 0;
    if ((size_t)qlen <= sizeof q) {
        memcpy(q, qb, (size_t)qlen);
        ok = fr_msg_name_eq(m, len, rr.name_off, q, (size_t)qlen, 12) == 1;
    }
    ares_free_string(qb);
    return ok;
}

/* Read what has arrived on one socket; 1 when a usable reply is in buf. */
static int oneshot_read_sock(const struct fr_oneshot *o, const struct fr_oneshot_sock *s, uint8_t *buf,
                             size_t cap, size_t *len)
{
    for (unsigned n = 0; n < ONESHOT_READS_PER_COLLECT; n++) {
        struct sockaddr_storage from;
        socklen_t fl = sizeof from;
        ssize_t r = recvfrom(s->fd, buf, cap, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
        if (r < 0)
            return 0;   /* EAGAIN: nothing more yet */
        struct fr_msg_hdr h;
        if (!oneshot_from_server(o, &from, fl) || fr_msg_header(buf, (size_t)r, &h) != FR_OK ||
            !oneshot_matches(o, buf, (size_t)r))
            continue;
        unsigned rcode = FR_MSG_RCODE(&h);
        if (FR_MSG_TC(&h) || (rcode != FR_RCODE_NOERROR && rcode != FR_RCODE_NXDOMAIN) ||
            fr_msg_validate(buf, (size_t)r) != FR_OK)
            continue;   /* another server may still give a usable one */
        *len = (size_t)r;
        return 1;
    }
    return 0;
}

enum fr_oneshot_result fr_oneshot_collect(struct fr_oneshot *o, uint8_t *buf, size_t cap,
                                          size_t *len)
{
    struct fr_oneshot_sock *socks[2] = { &o->s4, &o->s6 };
    for (unsigned k = 0; k < 2; k++) {
        struct fr_oneshot_sock *s = socks[k];
        if (s->fd < 0)
            continue;
        if (!fr_fileid_fd_is(s->fd, &s->id)) {
            s->fd = -1;   /* the program closed it: forget, never close */
            continue;
        }
        if (oneshot_read_sock(o, s, buf, cap, len))
            return FR_ONESHOT_REPLY;
    }
    return o->s4.fd < 0 && o->s6.fd < 0 ? FR_ONESHOT_GONE : FR_ONESHOT_WAIT;
}
