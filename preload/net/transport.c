/* fastres network layer: the transport over c-ares (see transport.h). */
#include "net/transport.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/fork.h"
#include "net/rand.h"

static _Atomic uint64_t sockets_open;

uint64_t fr_transport_sockets_open(void)
{
    return atomic_load(&sockets_open);
}

/* ------------------------------------------------------------------ */
/* Sockets: c-ares opens them through these so that every socket is
 * close-on-exec from birth and TCP writes never raise SIGPIPE in the host
 * program. They must be non-blocking from birth too: c-ares 1.18 leaves
 * user-managed sockets exactly as opened (configure_socket returns early
 * when socket functions are set) and read_udp_packets reads until
 * EAGAIN, so a blocking UDP socket that stays open (a truncated reply
 * moved the query to TCP, an unusable reply was skipped) hangs the
 * exchange in recvfrom. */

static ares_socket_t transport_sock_open(int domain, int type, int protocol, void *user)
{
    struct fr_transport *t = user;
    int fd = socket(domain, type | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol);
    if (fd >= 0) {
        t->socks++;
        atomic_fetch_add(&sockets_open, 1);
    } else {
        t->open_errno = errno ? errno : EMFILE;
    }
    return fd;
}

static int transport_sock_close(ares_socket_t fd, void *user)
{
    struct fr_transport *t = user;
    t->socks--;
    atomic_fetch_sub(&sockets_open, 1);
    return close(fd);
}

static int transport_sock_connect(ares_socket_t fd, const struct sockaddr *sa, ares_socklen_t len,
                                  void *user)
{
    const struct fr_transport *t = user;
    /* c-ares 1.18 keeps servers without an IPv6 scope id; put it back for
     * link-local servers such as fe80::1%eth0. */
    if (sa->sa_family == AF_INET6 && t->server->addr.ss_family == AF_INET6 &&
        len >= (ares_socklen_t)sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 s6;
        memcpy(&s6, sa, sizeof s6);
        const struct sockaddr_in6 *cfg6 = (const void *)&t->server->addr;
        if (!s6.sin6_scope_id)
            s6.sin6_scope_id = cfg6->sin6_scope_id;
        return connect(fd, (struct sockaddr *)&s6, sizeof s6);
    }
    return connect(fd, sa, len);
}

static ares_ssize_t transport_sock_recvfrom(ares_socket_t fd, void *buf, size_t len, int flags,
                                            struct sockaddr *from, ares_socklen_t *fromlen, void *user)
{
    (void)user;
    return recvfrom(fd, buf, len, flags, from, fromlen);
}

static ares_ssize_t transport_sock_sendv(ares_socket_t fd, const struct iovec *iov, int n, void *user)
{
    (void)user;
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = (struct iovec *)iov;
    m.msg_iovlen = (size_t)n;
    return sendmsg(fd, &m, MSG_NOSIGNAL);
}

static const struct ares_socket_functions sock_funcs = {
    transport_sock_open, transport_sock_close, transport_sock_connect, transport_sock_recvfrom,
    transport_sock_sendv,
};

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
 * exchange ends every send itself. */
#define POOL_CHANNEL_TIMEOUT_MS FR_MAX_MS

struct pooled {
    ares_channel ch;
    int flags;
    struct sockaddr_storage server;
};

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pooled pool[POOL_MAX];
static unsigned pool_n;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int lib_ok;

/* fork.c holds pool_lock across fork. */
static const struct fr_fork_handlers fork_handlers = {
    .name = "net/transport", .rank = FR_FORK_RANK_NET + 1, .lock = &pool_lock,
};

static void transport_init(void)
{
    lib_ok = ares_library_init(ARES_LIB_INIT_ALL) == ARES_SUCCESS;
    fr_fork_register(&fork_handlers);
}

int fr_transport_ready(void)
{
    pthread_once(&once, transport_init);
    return lib_ok;
}

static void transport_server_node(const struct fr_server *sv, struct ares_addr_port_node *node)
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
}

static ares_channel transport_channel_new(int flags)
{
    struct ares_options o;
    struct in_addr placeholder = { htonl(INADDR_LOOPBACK) };
    ares_channel ch;
    memset(&o, 0, sizeof o);
    /* Every option c-ares would otherwise read from /etc/resolv.conf or
     * the environment is set, so ares_init_options reads no file: the
     * channel knows exactly one server (set by the caller). NOCHECKRESP
     * hands SERVFAIL and REFUSED replies to the callback instead of
     * retrying inside c-ares: the exchange decides. */
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

int fr_transport_open(struct fr_transport *t, const struct fr_server *sv, int use_vc)
{
    int flags = ARES_FLAG_NOCHECKRESP | ARES_FLAG_NOSEARCH | (use_vc ? ARES_FLAG_USEVC : 0);
    struct pooled got = { 0 };
    int found = -1;

    if (!fr_transport_ready())
        return -1;
    pthread_mutex_lock(&pool_lock);
    for (unsigned i = 0; i < pool_n; i++) {
        if (pool[i].flags != flags)
            continue;
        found = (int)i;
        if (!memcmp(&pool[i].server, &sv->addr, sizeof pool[i].server))
            break;   /* already pointed at this server */
    }
    if (found >= 0) {
        got = pool[found];
        pool[found] = pool[--pool_n];
    }
    pthread_mutex_unlock(&pool_lock);

    t->server = sv;
    t->flags = flags;
    t->socks = 0;
    t->open_errno = 0;
    t->ch = found >= 0 ? got.ch : transport_channel_new(flags);
    if (!t->ch)
        return -1;
    if (found < 0 || memcmp(&got.server, &sv->addr, sizeof got.server)) {
        struct ares_addr_port_node node;
        transport_server_node(sv, &node);
        if (ares_set_servers_ports(t->ch, &node) != ARES_SUCCESS) {
            ares_destroy(t->ch);
            t->ch = NULL;
            return -1;
        }
    }
    ares_set_socket_functions(t->ch, &sock_funcs, t);
    return 0;
}

void fr_transport_close(struct fr_transport *t)
{
    if (!t->ch)
        return;
    ares_cancel(t->ch);   /* callbacks see ARES_ECANCELLED */
    int kept = 0;
    if (t->socks == 0) {
        pthread_mutex_lock(&pool_lock);
        if (pool_n < POOL_MAX) {
            pool[pool_n].ch = t->ch;
            pool[pool_n].flags = t->flags;
            memcpy(&pool[pool_n].server, &t->server->addr, sizeof pool[pool_n].server);
            pool_n++;
            kept = 1;
        }
        pthread_mutex_unlock(&pool_lock);
    }
    if (!kept)
        ares_destroy(t->ch);   /* closes whatever it still holds */
    t->ch = NULL;
}

void fr_transport_send(struct fr_transport *t, unsigned char *qbuf, int qlen, ares_callback cb,
                       void *arg)
{
    /* c-ares 1.18's ares_send keeps the caller's ID: every send gets a
     * fresh unpredictable one (ares_send copies the buffer). Distinct IDs
     * also make each reply's round trip unambiguous: a late reply to the
     * first send is never taken for the reply to a re-send (Karn's
     * problem). */
    uint16_t id = fr_rand_id();
    qbuf[0] = (unsigned char)(id >> 8);
    qbuf[1] = (unsigned char)id;
    ares_send(t->ch, qbuf, qlen, cb, arg);
}

unsigned fr_transport_pollfds(struct fr_transport *t, struct pollfd *pfd, uint64_t now_ms,
                              uint64_t *wake_ms)
{
    ares_socket_t socks[ARES_GETSOCK_MAXNUM];
    unsigned np = 0;
    int bits = ares_getsock(t->ch, socks, ARES_GETSOCK_MAXNUM);
    for (int s = 0; s < ARES_GETSOCK_MAXNUM; s++) {
        /* c-ares's ARES_GETSOCK_WRITABLE shifts a signed 1 by up to 31
         * (undefined behaviour, UBSan aborts): test the same bits
         * unsigned. */
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
        np++;
    }
    /* c-ares's own timers (TCP connect, its per-send timeout). */
    struct timeval tv, *tvp = ares_timeout(t->ch, NULL, &tv);
    if (tvp) {
        uint64_t w = now_ms + (uint64_t)tvp->tv_sec * 1000u + (uint64_t)tvp->tv_usec / 1000u;
        if (w < *wake_ms)
            *wake_ms = w;
    }
    return np;
}

void fr_transport_process(struct fr_transport *t, const struct pollfd *pfd, unsigned n)
{
    for (unsigned p = 0; p < n && t->ch; p++) {
        if (!pfd[p].revents)
            continue;
        ares_socket_t rd = (pfd[p].revents & (POLLIN | POLLERR | POLLHUP)) ? pfd[p].fd : ARES_SOCKET_BAD;
        ares_socket_t wr = (pfd[p].revents & (POLLOUT | POLLERR | POLLHUP)) ? pfd[p].fd : ARES_SOCKET_BAD;
        ares_process_fd(t->ch, rd, wr);
    }
    /* Timers. */
    if (t->ch)
        ares_process_fd(t->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
}
