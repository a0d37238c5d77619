/* fastres: racing engine over c-ares (see engine.h).
 *
 * The loop follows musl's res_msend.c: send to all servers at once, accept
 * only NOERROR/NXDOMAIN, re-send at once after SERVFAIL and the like (up
 * to `attempts` bad replies per server, as glibc asks each server that
 * often), keep waiting otherwise, re-send unanswered questions on a
 * doubling millisecond schedule, stop at the deadline. */
#include "engine.h"

#include <ares.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "msg.h"
#include "rand.h"

/* glibc's RESOLV_EDNS_BUFFER_SIZE: the payload size it advertises with
 * `options edns0`. fastres advertises the same so replies match. */
#define ENGINE_EDNS_SIZE 1200
/* c-ares 1.18 hands at most this many sockets per channel to
 * ares_getsock; one server per channel uses one UDP and one TCP socket. */
#define ENGINE_SOCKS_PER_CHANNEL ARES_GETSOCK_MAXNUM
#define ENGINE_MAX_CHANNELS (FR_ENGINE_MAX_QUESTIONS * FR_MAX_SERVERS)

static struct {
    _Atomic uint64_t questions, sent, won, failed, sockets_open;
} stats;

void fr_engine_stats(struct fr_engine_stats *out)
{
    out->questions = atomic_load(&stats.questions);
    out->sent = atomic_load(&stats.sent);
    out->won = atomic_load(&stats.won);
    out->failed = atomic_load(&stats.failed);
    out->sockets_open = atomic_load(&stats.sockets_open);
}

struct race;
struct question_state;

/* One server for one question: a channel of its own. */
struct lane {
    struct question_state *q;
    const struct fr_server *server;
    ares_channel ch;
    unsigned outstanding;   /* sends c-ares still holds */
    unsigned bad;           /* unusable replies or errors so far */
    unsigned refused;       /* of which: connection refused */
    int socks;              /* sockets c-ares holds open for this lane */
    int flags;              /* c-ares flags the channel was made with */
    int done;               /* no more sends to this server */
};

struct question_state {
    struct race *race;
    struct fr_question *out;
    unsigned char *qbuf;
    int qlen;
    struct lane lanes[FR_MAX_SERVERS];
    unsigned nlanes;
    int done;
    uint64_t next_send_ms;
    unsigned interval_ms;
    uint64_t deadline_ms;   /* shrinks as servers fail for good */
};

struct race {
    uint64_t start_ms;
    const struct fr_config *cfg;
    struct question_state qs[FR_ENGINE_MAX_QUESTIONS];
    unsigned nq;
};

/* ------------------------------------------------------------------ */
/* Sockets: c-ares opens them through these so that every socket is
 * close-on-exec from birth and TCP writes never raise SIGPIPE in the host
 * program. They must be non-blocking from birth too: c-ares 1.18 leaves
 * user-managed sockets exactly as opened (configure_socket returns early
 * when socket functions are set) and read_udp_packets reads until
 * EAGAIN, so a blocking UDP socket that stays open (a truncated reply
 * moved the query to TCP, an unusable reply was skipped) hangs the race
 * in recvfrom. */

static ares_socket_t sock_open(int domain, int type, int protocol, void *user)
{
    struct lane *l = user;
    int fd = socket(domain, type | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol);
    if (fd >= 0) {
        l->socks++;
        atomic_fetch_add(&stats.sockets_open, 1);
    }
    return fd;
}

static int sock_close(ares_socket_t fd, void *user)
{
    struct lane *l = user;
    l->socks--;
    atomic_fetch_sub(&stats.sockets_open, 1);
    return close(fd);
}

static int sock_connect(ares_socket_t fd, const struct sockaddr *sa, ares_socklen_t len, void *user)
{
    const struct lane *l = user;
    /* c-ares 1.18 keeps servers without an IPv6 scope id; put it back for
     * link-local servers such as fe80::1%eth0. */
    if (sa->sa_family == AF_INET6 && l->server->addr.ss_family == AF_INET6 &&
        len >= (ares_socklen_t)sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 s6;
        memcpy(&s6, sa, sizeof s6);
        const struct sockaddr_in6 *cfg6 = (const void *)&l->server->addr;
        if (!s6.sin6_scope_id)
            s6.sin6_scope_id = cfg6->sin6_scope_id;
        return connect(fd, (struct sockaddr *)&s6, sizeof s6);
    }
    return connect(fd, sa, len);
}

static ares_ssize_t sock_recvfrom(ares_socket_t fd, void *buf, size_t len, int flags,
                                  struct sockaddr *from, ares_socklen_t *fromlen, void *user)
{
    (void)user;
    return recvfrom(fd, buf, len, flags, from, fromlen);
}

static ares_ssize_t sock_sendv(ares_socket_t fd, const struct iovec *iov, int n, void *user)
{
    (void)user;
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = (struct iovec *)iov;
    m.msg_iovlen = (size_t)n;
    return sendmsg(fd, &m, MSG_NOSIGNAL);
}

static const struct ares_socket_functions sock_funcs = {
    sock_open, sock_close, sock_connect, sock_recvfrom, sock_sendv,
};

/* ------------------------------------------------------------------ */

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static int lib_ok;

static void lib_init(void)
{
    lib_ok = ares_library_init(ARES_LIB_INIT_ALL) == ARES_SUCCESS;
}


/* ------------------------------------------------------------------ */
/* Idle channels. A c-ares 1.18 channel carries about 50 KiB of hash
 * buckets that ares_init_options and ares_destroy walk one by one: making
 * one per lookup and server cost eight times glibc's whole lookup. Channels
 * go back to this pool only once they hold no socket (ares_cancel closes
 * them), so the pool keeps no descriptor between calls and a forked child
 * can use what it inherits. */

/* Idle channels kept: enough for A and AAAA to several servers in a few
 * threads at once, about 1.6 MiB at most. */
#define POOL_MAX 32
/* Channels are made with a per-send timeout longer than any deadline: the
 * race ends every send itself. */
#define POOL_CHANNEL_TIMEOUT_MS FR_MAX_MS

struct pooled {
    ares_channel ch;
    int flags;
    struct sockaddr_storage server;
};

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pooled pool[POOL_MAX];
static unsigned pool_n;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

static void pool_prepare(void)
{
    pthread_mutex_lock(&pool_lock);
}

static void pool_release(void)
{
    pthread_mutex_unlock(&pool_lock);
}

static void pool_init(void)
{
    pthread_atfork(pool_prepare, pool_release, pool_release);
}

static int server_node(const struct fr_server *sv, struct ares_addr_port_node *node)
{
    memset(node, 0, sizeof *node);
    const struct sockaddr *sa = (const struct sockaddr *)&sv->addr;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const void *)sa;
        node->family = AF_INET;
        memcpy(&node->addr.addr4, &sin->sin_addr, 4);
        node->udp_port = node->tcp_port = ntohs(sin->sin_port);
    } else {
        const struct sockaddr_in6 *sin6 = (const void *)sa;
        node->family = AF_INET6;
        memcpy(&node->addr.addr6, &sin6->sin6_addr, 16);
        node->udp_port = node->tcp_port = ntohs(sin6->sin6_port);
    }
    return 0;
}

static ares_channel channel_new(int flags)
{
    struct ares_options o;
    struct in_addr placeholder = { htonl(INADDR_LOOPBACK) };
    ares_channel ch;
    memset(&o, 0, sizeof o);
    /* Every option c-ares would otherwise read from /etc/resolv.conf or
     * the environment is set, so ares_init_options reads no file: the
     * channel knows exactly one server (set by the caller). NOCHECKRESP
     * hands SERVFAIL and REFUSED replies to the callback instead of
     * retrying inside c-ares: the race decides. */
    int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_NDOTS |
               ARES_OPT_DOMAINS | ARES_OPT_LOOKUPS | ARES_OPT_SORTLIST | ARES_OPT_SERVERS;
    o.flags = flags;
    o.timeout = POOL_CHANNEL_TIMEOUT_MS;
    o.tries = 1;
    o.ndots = 1;
    o.ndomains = 0;
    o.lookups = (char *)"b";
    o.nsort = 0;
    o.nservers = 1;
    o.servers = &placeholder;
    if (ares_init_options(&ch, &o, mask) != ARES_SUCCESS)
        return NULL;
    return ch;
}

static int lane_open(struct lane *l, const struct fr_config *cfg)
{
    int flags = ARES_FLAG_NOCHECKRESP | ARES_FLAG_NOSEARCH | (cfg->use_vc ? ARES_FLAG_USEVC : 0);
    struct pooled got = { 0 };
    int found = -1;

    pthread_once(&pool_once, pool_init);
    pthread_mutex_lock(&pool_lock);
    for (unsigned i = 0; i < pool_n; i++) {
        if (pool[i].flags != flags)
            continue;
        found = (int)i;
        if (!memcmp(&pool[i].server, &l->server->addr, sizeof pool[i].server))
            break;   /* already pointed at this server */
    }
    if (found >= 0) {
        got = pool[found];
        pool[found] = pool[--pool_n];
    }
    pthread_mutex_unlock(&pool_lock);

    l->flags = flags;
    l->socks = 0;
    l->ch = found >= 0 ? got.ch : channel_new(flags);
    if (!l->ch)
        return -1;
    if (found < 0 || memcmp(&got.server, &l->server->addr, sizeof got.server)) {
        struct ares_addr_port_node node;
        server_node(l->server, &node);
        if (ares_set_servers_ports(l->ch, &node) != ARES_SUCCESS) {
            ares_destroy(l->ch);
            l->ch = NULL;
            return -1;
        }
    }
    ares_set_socket_functions(l->ch, &sock_funcs, l);
    return 0;
}

/* End every send still held and keep the channel if it is clean. */
static void lane_close(struct lane *l)
{
    if (!l->ch)
        return;
    ares_cancel(l->ch);   /* callbacks see ARES_ECANCELLED */
    int kept = 0;
    if (l->socks == 0) {
        pthread_mutex_lock(&pool_lock);
        if (pool_n < POOL_MAX) {
            pool[pool_n].ch = l->ch;
            pool[pool_n].flags = l->flags;
            memcpy(&pool[pool_n].server, &l->server->addr, sizeof pool[pool_n].server);
            pool_n++;
            kept = 1;
        }
        pthread_mutex_unlock(&pool_lock);
    }
    if (!kept)
        ares_destroy(l->ch);   /* closes whatever it still holds */
    l->ch = NULL;
}

static void question_finish(struct question_state *q, enum fr_status st)
{
    if (q->done)
        return;
    q->done = 1;
    q->out->status = st;
    if (st == FR_OK)
        atomic_fetch_add(&stats.won, 1);
    else
        atomic_fetch_add(&stats.failed, 1);
}

/* A question fails early when every server is out of attempts and none
 * has a send that could still be answered. */
static void question_check_exhausted(struct question_state *q)
{
    int all_refused = 1;
    for (unsigned i = 0; i < q->nlanes; i++) {
        if (!q->lanes[i].done || q->lanes[i].outstanding)
            return;
        if (q->lanes[i].refused != q->lanes[i].bad)
            all_refused = 0;
    }
    q->out->conn_refused = all_refused && q->out->fail_rcode < 0;
    question_finish(q, FR_AGAIN);
}

static void lane_send(struct lane *l);

static void on_reply(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    (void)timeouts;
    struct lane *l = arg;
    struct question_state *q = l->q;
    if (l->outstanding)
        l->outstanding--;
    if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED || q->done)
        return;

    if (status == ARES_SUCCESS && abuf && alen > 0) {
        struct fr_msg_hdr h;
        if (fr_msg_header(abuf, (size_t)alen, &h) == FR_OK &&
            (FR_MSG_RCODE(&h) == FR_RCODE_NOERROR || FR_MSG_RCODE(&h) == FR_RCODE_NXDOMAIN) &&
            !FR_MSG_TC(&h) && fr_msg_validate(abuf, (size_t)alen) == FR_OK) {
            uint8_t *copy = malloc((size_t)alen);
            if (!copy) {
                question_finish(q, FR_NOMEM);
                return;
            }
            memcpy(copy, abuf, (size_t)alen);
            q->out->answer = copy;
            q->out->answer_len = (size_t)alen;
            question_finish(q, FR_OK);
            return;
        }
        if (alen >= 4)
            q->out->fail_rcode = abuf[3] & 0xf;
        fr_log(FR_LOG_DEBUG, "engine", "%s: unusable reply (rcode %d, %d bytes) for %s",
               l->server->text, alen >= 4 ? abuf[3] & 0xf : -1, alen, q->out->name);
    } else {
        if (status == ARES_ECONNREFUSED)
            l->refused++;
        fr_log(FR_LOG_DEBUG, "engine", "%s: %s for %s", l->server->text, ares_strerror(status),
               q->out->name);
    }
    /* SERVFAIL, REFUSED, FORMERR, malformed, connection refused: never a
     * winner while another server may answer. Ask this server again at
     * once while it has attempts left (glibc asks each server `attempts`
     * times; musl re-sends SERVFAIL at once). */
    l->bad++;
    if (l->bad >= q->race->cfg->attempts) {
        l->done = 1;
        /* glibc would not have waited for this server: neither do we. */
        unsigned budget = q->race->cfg->server_budget_ms[l - q->lanes];
        q->deadline_ms = q->deadline_ms > q->race->start_ms + budget ? q->deadline_ms - budget
                                                                      : q->race->start_ms;
    } else
        lane_send(l);
    question_check_exhausted(q);
}

static void lane_send(struct lane *l)
{
    if (l->done || !l->ch)
        return;
    l->outstanding++;
    l->q->out->sent++;
    atomic_fetch_add(&stats.sent, 1);
    /* c-ares 1.18's ares_send keeps the caller's ID: every send gets a
     * fresh unpredictable one (ares_send copies the buffer). */
    uint16_t id = fr_rand_id();
    l->q->qbuf[0] = (unsigned char)(id >> 8);
    l->q->qbuf[1] = (unsigned char)id;
    ares_send(l->ch, l->q->qbuf, l->q->qlen, on_reply, l);
}

/* Names the engine can put on the wire the way glibc's res_mkquery would:
 * labels of 1..63 octets, at most 253 characters, no backslash escapes
 * (c-ares 1.18 does not decode \DDD as ns_name_pton does). */
static int name_ok(const char *name)
{
    size_t len = strlen(name), label = 0;
    if (len && name[len - 1] == '.')
        len--;
    if (len == 0)
        return 1;   /* the root */
    if (len > FR_MSG_NAME_MAX - 2)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (name[i] == '\\')
            return 0;
        if (name[i] == '.') {
            if (label == 0)
                return 0;
            label = 0;
        } else if (++label > 63) {
            return 0;
        }
    }
    return label > 0;
}

static enum fr_status question_setup(struct race *r, struct question_state *q, struct fr_question *out)
{
    const struct fr_config *cfg = r->cfg;
    q->race = r;
    q->out = out;
    out->status = FR_AGAIN;
    out->answer = NULL;
    out->answer_len = 0;
    out->sent = 0;
    out->fail_rcode = -1;
    out->conn_refused = 0;
    if (!name_ok(out->name)) {
        q->done = 1;
        out->status = FR_BADNAME;
        return FR_OK;
    }
    if (ares_create_query(out->name, out->qclass, out->qtype, 0, 1, &q->qbuf, &q->qlen,
                          cfg->edns0 ? ENGINE_EDNS_SIZE : 0) != ARES_SUCCESS) {
        q->done = 1;
        out->status = FR_BADNAME;
        return FR_OK;
    }
    if (cfg->trust_ad && q->qlen > 3)
        q->qbuf[3] |= 0x20;   /* AD bit, as glibc sets with trust-ad */
    q->nlanes = cfg->nservers;
    for (unsigned i = 0; i < q->nlanes; i++) {
        struct lane *l = &q->lanes[i];
        l->q = q;
        l->server = &cfg->servers[i];
        if (lane_open(l, cfg) != 0)
            return FR_PUNT;
    }
    q->interval_ms = cfg->resend_ms;
    return FR_OK;
}

static void question_teardown(struct question_state *q)
{
    for (unsigned i = 0; i < q->nlanes; i++)
        lane_close(&q->lanes[i]);
    if (q->qbuf)
        ares_free_string(q->qbuf);
}

enum fr_status fr_engine_race(const struct fr_config *cfg, struct fr_question *qs, unsigned n)
{
    struct race r;
    enum fr_status ret = FR_OK;
    memset(&r, 0, sizeof r);
    r.cfg = cfg;
    if (n == 0 || n > FR_ENGINE_MAX_QUESTIONS || cfg->nservers == 0)
        return FR_PUNT;
    pthread_once(&lib_once, lib_init);
    if (!lib_ok)
        return FR_PUNT;

    r.nq = n;
    for (unsigned i = 0; i < n; i++) {
        atomic_fetch_add(&stats.questions, 1);
        ret = question_setup(&r, &r.qs[i], &qs[i]);
        if (ret != FR_OK)
            goto done;
    }

    uint64_t start = fr_clock_mono_ms();
    uint64_t deadline = start + cfg->deadline_ms;
    r.start_ms = start;
    for (unsigned i = 0; i < n; i++) {
        r.qs[i].next_send_ms = start;
        r.qs[i].deadline_ms = deadline;
    }

    uint64_t first_win = 0;
    for (;;) {
        uint64_t now = fr_clock_mono_ms();
        int pending = 0;
        /* Once one question of a pair has its answer, the other gets as long
         * again as the first took plus one maximal re-send interval, not the
         * whole deadline: glibc likewise returns the first answer alone
         * when the second times out (res_send.c send_dg), and a server that
         * drops AAAA questions must not cost the full deadline. */
        if (!first_win)
            for (unsigned i = 0; i < n; i++)
                if (r.qs[i].done && qs[i].status == FR_OK)
                    first_win = now;
        uint64_t grace = first_win ? first_win + (first_win - start) + cfg->resend_max_ms : UINT64_MAX;
        uint64_t wake = UINT64_MAX;
        for (unsigned i = 0; i < n; i++) {
            struct question_state *q = &r.qs[i];
            if (!q->done && q->deadline_ms > grace)
                q->deadline_ms = grace;
            if (!q->done && now >= q->deadline_ms)
                question_finish(q, FR_AGAIN);
            if (q->done)
                continue;
            if (q->deadline_ms < wake)
                wake = q->deadline_ms;
            if (now >= q->next_send_ms) {
                for (unsigned k = 0; k < q->nlanes; k++)
                    lane_send(&q->lanes[k]);
                /* First send at t=0, then after resend_ms, doubling up to
                 * resend_max_ms. */
                q->next_send_ms = now + q->interval_ms;
                q->interval_ms = q->interval_ms * 2 > cfg->resend_max_ms ? cfg->resend_max_ms
                                                                         : q->interval_ms * 2;
                question_check_exhausted(q);
            }
            if (!q->done) {
                pending = 1;
                if (q->next_send_ms < wake)
                    wake = q->next_send_ms;
            }
        }
        if (!pending)
            break;

        struct pollfd pfd[ENGINE_MAX_CHANNELS * ENGINE_SOCKS_PER_CHANNEL];
        ares_channel owner[ENGINE_MAX_CHANNELS * ENGINE_SOCKS_PER_CHANNEL];
        nfds_t np = 0;
        for (unsigned i = 0; i < n; i++) {
            struct question_state *q = &r.qs[i];
            if (q->done)
                continue;
            for (unsigned k = 0; k < q->nlanes; k++) {
                struct lane *l = &q->lanes[k];
                ares_socket_t socks[ARES_GETSOCK_MAXNUM];
                int bits = ares_getsock(l->ch, socks, ARES_GETSOCK_MAXNUM);
                for (int s = 0; s < ARES_GETSOCK_MAXNUM; s++) {
                    /* c-ares's ARES_GETSOCK_WRITABLE shifts a signed 1 by
                     * up to 31 (undefined behaviour, UBSan aborts): test
                     * the same bits unsigned. */
                    unsigned ub = (unsigned)bits;
                    short ev = 0;
                    if (ub & (1u << s))
                        ev |= POLLIN;
                    if (ub & (1u << (s + ARES_GETSOCK_MAXNUM)))
                        ev |= POLLOUT;
                    if (!ev)
                        continue;
                    pfd[np].fd = socks[s];
                    pfd[np].events = ev;
                    pfd[np].revents = 0;
                    owner[np] = l->ch;
                    np++;
                }
                /* c-ares's own timers (TCP connect, its per-send timeout). */
                struct timeval tv, *tvp = ares_timeout(l->ch, NULL, &tv);
                if (tvp) {
                    uint64_t t = now + (uint64_t)tvp->tv_sec * 1000u + (uint64_t)tvp->tv_usec / 1000u;
                    if (t < wake)
                        wake = t;
                }
            }
        }
        int wait = wake > now ? (int)(wake - now) : 0;
        int rc = poll(pfd, np, wait);
        if (rc < 0 && errno != EINTR) {
            fr_log(FR_LOG_ERROR, "engine", "poll: %s", strerror(errno));
            for (unsigned i = 0; i < n; i++)
                question_finish(&r.qs[i], FR_AGAIN);
            break;
        }
        for (nfds_t p = 0; rc > 0 && p < np; p++) {
            if (!pfd[p].revents)
                continue;
            ares_socket_t rd = (pfd[p].revents & (POLLIN | POLLERR | POLLHUP)) ? pfd[p].fd
                                                                               : ARES_SOCKET_BAD;
            ares_socket_t wr = (pfd[p].revents & (POLLOUT | POLLERR | POLLHUP)) ? pfd[p].fd
                                                                                : ARES_SOCKET_BAD;
            ares_process_fd(owner[p], rd, wr);
        }
        /* Let every channel run its timers. */
        for (unsigned i = 0; i < n; i++)
            for (unsigned k = 0; k < r.qs[i].nlanes; k++)
                if (!r.qs[i].done)
                    ares_process_fd(r.qs[i].lanes[k].ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    }

done:
    for (unsigned i = 0; i < n; i++) {
        question_teardown(&r.qs[i]);
        if (ret != FR_OK) {
            free(qs[i].answer);
            qs[i].answer = NULL;
        }
    }
    return ret;
}
