/* faultdns: a small, deliberately misbehaving DNS upstream for the lab.
 *
 *   faultdns --listen ADDR[:PORT] [--mode MODE] [--record NAME=TYPE:VALUE ...]
 *            [--ttl N] [--neg-ttl N] [--delay-ms N] [--drop-pct P --seed S]
 *            [--forward ADDR[:PORT]] [--reply-from ADDR[:PORT]] [--tcp-idle-ms N]
 *            [--count-file F] [--pid-file F] [-v]
 *            [--delay-a-ms N] [--tcp-count-file F] [--udp-count-file F]
 *
 * Single-threaded poll loop serving UDP and TCP on the same address and
 * port (53 by default). Modes:
 *   answer   (default) answer from --record entries (A, AAAA, CNAME, MX,
 *            TXT, SRV); NXDOMAIN + SOA for unknown names, NODATA + SOA for
 *            a known name without the asked type
 *   drop     never answer
 *   servfail, refused, formerr   reply with that rcode and no records
 *   tc       UDP replies carry TC and no records; TCP answers fully
 *   wrongid  the answer, with ID+1
 *   wrongq   the answer, for a different question name ("wrongq." + name)
 *   garbage  random bytes
 *   forward  relay to --forward (e.g. dnsmasq), applying delay and drop
 * Hostile modes (what a broken or malicious upstream sends). Those that
 * damage the records apply to replies that have records of the asked type
 * (A, AAAA) for the question name itself; other replies are normal:
 *   ptrloop    the first answer's owner is a compression pointer to itself
 *   ptrpast    the first answer's owner points past the end of the message
 *   longlabel  the first answer's owner starts with a 64-octet label
 *   longname   the first answer's owner is over 255 octets (4 x 63 + qname)
 *   countbig   ANCOUNT is 2 more than the records present
 *   rdlen      RDLENGTH wrong for the type: A with 5 octets, AAAA with 17
 *   ttltop     the first answer's TTL has the top bit set (RFC 2181 8: 0);
 *              the others keep --ttl
 *   otheraddr  the answer is sent from --reply-from ADDR[:PORT], not from
 *              the address asked
 *   otherport  the answer is sent from the listening address, another port
 *   dup        the answer is sent twice
 *   flood      FR_FAULT_FLOOD datagrams to the asking socket, then the
 *              answer: first a runt (the answer's first 4 octets), then
 *              random bytes of header size or more and the answer under
 *              wrong IDs, alternately
 *   echo       the query itself (QR clear) sent back, then the answer
 *   tcreset    UDP: TC; TCP: the connection is reset on the query
 *   tcstall    UDP: TC; TCP: the query is read and never answered
 *   tcgarbage  UDP: TC; TCP: a length-prefixed message of random bytes
 *   tcshort    UDP: TC; TCP: the length prefix says 8 (less than a DNS
 *              header), the whole answer follows, then the close
 * --tcp-idle-ms N closes idle TCP clients after N ms (default 10000).
 * --delay-ms holds every reply in a timer queue (other queries go on);
 * --drop-pct drops that share of queries using a PRNG seeded by --seed, so
 * a run repeats exactly. Every query received (UDP datagram or TCP message)
 * is counted, and --count-file is rewritten (atomically, by rename) after
 * each one, before any reply, so a client that got a reply sees its query
 * counted. The count file is first written with 0 once the sockets listen:
 * its existence means "ready". SIGTERM/SIGINT end it cleanly (exit 0).
 *
 * Record values: A:10.0.0.1  AAAA:fd00::1  CNAME:target.test
 * MX:"10 mail.test"  TXT:any text  SRV:"prio weight port target".
 *
 * --fault NAME=KIND[:TYPE] (repeatable): a question for NAME or any name
 * under it (of TYPE only, when given) gets, in every mode that answers
 * from the records, as KIND says: servfail, refused, formerr, notimp (that
 * rcode, no records), drop (no reply at all) or slowN (the normal answer,
 * N more ms late; N at most 10000). The first matching entry wins. A name
 * or zone whose server is broken or slow beside others that answer, e.g.
 * a SERVFAIL, timing-out or late candidate in a search list.
 *
 * Names are read with dn_expand() and written with dn_comp() (libresolv);
 * the rest of the wire format is a few fixed fields written by hand. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <resolv.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* RFC 1035 2.3.4: 255 octets on the wire; text with \DDD escapes can be
 * four times longer, which is what dn_expand may produce. */
#define FR_FAULT_NAME_MAX 1025
/* Enough --record entries for any test; each is a few hundred bytes. */
#define FR_FAULT_RECORDS_MAX 256
/* A TXT value; split into 255-octet strings on the wire (RFC 1035 3.3.14). */
#define FR_FAULT_TXT_MAX 1024
/* RFC 1035 4.2.1: without EDNS a UDP reply is at most 512 octets; longer
 * answers are sent truncated (TC) so clients retry over TCP. */
#define FR_FAULT_UDP_MAX 512
/* TCP messages carry a 16-bit length. */
#define FR_FAULT_MSG_MAX 65535
/* Concurrent TCP clients; tests open a handful. Extra ones are closed. */
#define FR_FAULT_TCP_MAX 64
/* An idle TCP client is closed after this long (RFC 7766 suggests ~10 s). */
#define FR_FAULT_TCP_IDLE_MS 10000
/* Replies waiting for --delay-ms; beyond this a reply is dropped (logged)
 * rather than letting memory grow without bound. */
#define FR_FAULT_PENDING_MAX 4096
/* Queries relayed to --forward and not yet answered. */
#define FR_FAULT_FORWARD_MAX 4096
/* A relayed query unanswered this long is forgotten (the client has long
 * given up: stub resolvers wait at most a few seconds per try). */
#define FR_FAULT_FORWARD_TTL_MS 10000
/* Bound on a blocking TCP fetch from --forward (only when the upstream's
 * UDP reply was truncated and our client asked over TCP). */
#define FR_FAULT_TCP_FETCH_MS 2000
/* Longest CNAME chain followed inside our own records. */
#define FR_FAULT_CNAME_HOPS 8
/* Name-compression table for dn_comp(). */
#define FR_FAULT_DNPTRS 64
/* Datagrams the flood mode sends before each answer: enough to fill a
 * client's read loop many times over, few enough that the socket's
 * default receive buffer (about 200 KiB) keeps the answer behind them. */
#define FR_FAULT_FLOOD 48
/* Longest poll sleep, so a missed wakeup cannot stall timers for long. */
#define FR_FAULT_POLL_MAX_MS 1000

enum fr_fault_mode {
    MODE_ANSWER, MODE_DROP, MODE_SERVFAIL, MODE_REFUSED, MODE_FORMERR, MODE_TC,
    MODE_WRONGID, MODE_WRONGQ, MODE_GARBAGE, MODE_FORWARD,
    MODE_PTRLOOP, MODE_PTRPAST, MODE_LONGLABEL, MODE_LONGNAME, MODE_COUNTBIG, MODE_RDLEN,
    MODE_TTLTOP, MODE_OTHERADDR, MODE_OTHERPORT, MODE_DUP, MODE_FLOOD, MODE_ECHO, MODE_TCRESET,
    MODE_TCSTALL, MODE_TCGARBAGE, MODE_TCSHORT,
};
static const char *const fr_fault_mode_names[] = {
    "answer", "drop", "servfail", "refused", "formerr", "tc",
    "wrongid", "wrongq", "garbage", "forward",
    "ptrloop", "ptrpast", "longlabel", "longname", "countbig", "rdlen",
    "ttltop", "otheraddr", "otherport", "dup", "flood", "echo", "tcreset",
    "tcstall", "tcgarbage", "tcshort",
};

struct fr_fault_rec {
    char name[FR_FAULT_NAME_MAX];
    uint16_t type;
    uint8_t addr[16];
    uint16_t n[3];                 /* MX pref; SRV prio, weight, port */
    char target[FR_FAULT_NAME_MAX];/* CNAME/MX/SRV target */
    char txt[FR_FAULT_TXT_MAX];
};

/* A reply destination: a UDP peer, or a TCP connection (slot + generation,
 * so a reply for a closed and reused slot is not sent to a stranger). */
struct fr_fault_dest {
    int tcp;
    struct sockaddr_storage peer;
    socklen_t peerlen;
    int slot;
    unsigned gen;
};

struct fr_fault_pending {
    int used;
    uint64_t due_ms;
    struct fr_fault_dest dest;
    size_t len;
    uint8_t *buf;
};

struct fr_fault_fwd {
    int used;
    uint16_t new_id, orig_id;
    uint64_t expire_ms;
    struct fr_fault_dest dest;
    uint8_t *query;                /* kept for a TCP re-fetch */
    size_t qlen;
};

struct fr_fault_conn {
    int fd;                        /* -1 when free */
    unsigned gen;
    uint64_t last_ms;
    uint8_t *buf;                  /* 2-byte length + message */
    size_t have;
};

struct fr_fault_query {
    uint16_t id, flags, qtype, qclass;
    char qname[FR_FAULT_NAME_MAX];
    int has_q;                     /* a well-formed single question */
};

static struct {
    enum fr_fault_mode mode;
    struct sockaddr_storage listen;
    socklen_t listenlen;
    struct sockaddr_storage fwd;
    socklen_t fwdlen;
    int have_fwd;
    struct sockaddr_storage reply_from;
    socklen_t reply_fromlen;
    int have_reply_from;
    unsigned tcp_idle_ms;
    struct fr_fault_rec *recs;
    unsigned nrecs;
    uint32_t ttl, neg_ttl;
    unsigned delay_ms;
    double drop_pct;
    unsigned short drop_rng[3], garbage_rng[3];
    const char *count_file, *pid_file;
    /* --delay-a-ms: replies to A questions wait this much longer, so
     * pipelined A and AAAA replies come back out of order. */
    unsigned delay_a_ms;
    /* --tcp-count-file / --udp-count-file: TCP connections accepted and
     * UDP queries received, each rewritten as it changes. */
    const char *tcp_count_file, *udp_count_file;
    long tcp_accepts, udp_queries;
    int verbose;

    int udp_fd, tcp_fd, fwd_fd;
    int alt_fd;                    /* otheraddr/otherport: replies leave here */
    struct fr_fault_conn conns[FR_FAULT_TCP_MAX];
    struct fr_fault_pending pending[FR_FAULT_PENDING_MAX];
    struct fr_fault_fwd fwds[FR_FAULT_FORWARD_MAX];
    uint16_t next_fwd_id;
    long count;
} G;

static volatile sig_atomic_t fr_fault_stop;

static void fr_fault_on_signal(int sig) { (void)sig; fr_fault_stop = 1; }

static uint64_t fr_fault_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void fr_fault_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fr_fault_log(const char *fmt, ...)
{
    va_list ap;
    if (!G.verbose)
        return;
    va_start(ap, fmt);
    fputs("faultdns: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* "ADDR", "ADDR:PORT", "[V6]:PORT" or a bare IPv6 literal. */
static int fr_fault_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *port = NULL;
    unsigned long p = 53;
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    size_t hl;

    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end || (end[1] && end[1] != ':'))
            return -1;
        hl = (size_t)(end - s - 1);
        if (hl >= sizeof(host))
            return -1;
        memcpy(host, s + 1, hl);
        host[hl] = 0;
        if (end[1] == ':')
            port = end + 2;
    } else {
        const char *colon = strchr(s, ':');
        if (colon && strchr(colon + 1, ':'))
            colon = NULL;          /* bare IPv6 literal */
        hl = colon ? (size_t)(colon - s) : strlen(s);
        if (hl >= sizeof(host))
            return -1;
        memcpy(host, s, hl);
        host[hl] = 0;
        if (colon)
            port = colon + 1;
    }
    if (port) {
        char *end;
        errno = 0;
        p = strtoul(port, &end, 10);
        if (errno || *end || end == port || p == 0 || p > 65535)
            return -1;
    }
    memset(ss, 0, sizeof(*ss));
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)p);
        *len = sizeof(*in4);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)p);
        *len = sizeof(*in6);
        return 0;
    }
    return -1;
}

static int fr_fault_parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    unsigned long v;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || end == s || v > max || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

/* Lower-case a name and drop one trailing dot, so "Foo.TEST." matches the
 * "foo.test" that dn_expand gives for a query. */
static int fr_fault_norm_name(const char *in, char *out, size_t outsz)
{
    size_t n = strlen(in);
    if (n > 1 && in[n - 1] == '.' && in[n - 2] != '\\')
        n--;
    if (n >= outsz || n == 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)((in[i] >= 'A' && in[i] <= 'Z') ? in[i] + 32 : in[i]);
    out[n] = 0;
    return 0;
}

static int fr_fault_parse_record(const char *spec)
{
    struct fr_fault_rec r;
    const char *eq = strchr(spec, '='), *colon, *val;
    char name[FR_FAULT_NAME_MAX], type[16];
    int ok = -1;

    memset(&r, 0, sizeof(r));
    if (G.nrecs >= FR_FAULT_RECORDS_MAX || !eq || (size_t)(eq - spec) >= sizeof(name))
        goto done;
    memcpy(name, spec, (size_t)(eq - spec));
    name[eq - spec] = 0;
    if (fr_fault_norm_name(name, r.name, sizeof(r.name)) < 0)
        goto done;
    colon = strchr(eq + 1, ':');
    if (!colon || (size_t)(colon - eq - 1) >= sizeof(type))
        goto done;
    memcpy(type, eq + 1, (size_t)(colon - eq - 1));
    type[colon - eq - 1] = 0;
    val = colon + 1;

    if (!strcasecmp(type, "A")) {
        r.type = ns_t_a;
        ok = inet_pton(AF_INET, val, r.addr) == 1 ? 0 : -1;
    } else if (!strcasecmp(type, "AAAA")) {
        r.type = ns_t_aaaa;
        ok = inet_pton(AF_INET6, val, r.addr) == 1 ? 0 : -1;
    } else if (!strcasecmp(type, "CNAME")) {
        r.type = ns_t_cname;
        ok = fr_fault_norm_name(val, r.target, sizeof(r.target));
    } else if (!strcasecmp(type, "MX")) {
        unsigned pref;
        char host[FR_FAULT_NAME_MAX];
        r.type = ns_t_mx;
        if (sscanf(val, "%u %1024s", &pref, host) == 2 && pref <= 65535) {
            r.n[0] = (uint16_t)pref;
            ok = fr_fault_norm_name(host, r.target, sizeof(r.target));
        }
    } else if (!strcasecmp(type, "SRV")) {
        unsigned a, b, c;
        char host[FR_FAULT_NAME_MAX];
        r.type = ns_t_srv;
        if (sscanf(val, "%u %u %u %1024s", &a, &b, &c, host) == 4 &&
            a <= 65535 && b <= 65535 && c <= 65535) {
            r.n[0] = (uint16_t)a;
            r.n[1] = (uint16_t)b;
            r.n[2] = (uint16_t)c;
            ok = fr_fault_norm_name(host, r.target, sizeof(r.target));
        }
    } else if (!strcasecmp(type, "TXT")) {
        r.type = ns_t_txt;
        if (strlen(val) < sizeof(r.txt)) {
            strcpy(r.txt, val);
            ok = 0;
        }
    }
done:
    if (ok == 0)
        G.recs[G.nrecs++] = r;
    return ok;
}

/* --fault entries: few per test (one per broken name or zone). */
#define FR_FAULT_NF_MAX 32
/* --fault's drop and slowN: not rcodes (those are 4 bits). */
#define FR_FAULT_NF_DROP 0x100
#define FR_FAULT_NF_SLOW 0x101
/* slowN: ten seconds is later than any stub waits for one try. */
#define FR_FAULT_NF_SLOW_MAX_MS 10000

static struct fr_fault_nf {
    char name[FR_FAULT_NAME_MAX];  /* normalised: lower case, no final dot */
    uint16_t type;                 /* 0: every type */
    int rcode;
    unsigned slow_ms;              /* FR_FAULT_NF_SLOW */
} fr_fault_nf_list[FR_FAULT_NF_MAX];
static unsigned fr_fault_nf_count;
/* Extra delay of the reply being built (a slowN entry matched); reset for
 * every query, read by fr_fault_reply. */
static unsigned fr_fault_nf_slow_ms;

/* NAME=KIND[:TYPE]; 0 on success. */
static int fr_fault_nf_parse(const char *spec)
{
    static const struct { const char *name; int rcode; } rcodes[] = {
        {"servfail", ns_r_servfail}, {"refused", ns_r_refused},
        {"formerr", ns_r_formerr},   {"notimp", ns_r_notimpl},
        {"drop", FR_FAULT_NF_DROP},
    };
    struct fr_fault_nf e;
    const char *eq = strchr(spec, '='), *colon;
    char name[FR_FAULT_NAME_MAX];
    size_t rlen;
    unsigned i;

    memset(&e, 0, sizeof(e));
    if (fr_fault_nf_count >= FR_FAULT_NF_MAX || !eq || (size_t)(eq - spec) >= sizeof(name))
        return -1;
    memcpy(name, spec, (size_t)(eq - spec));
    name[eq - spec] = 0;
    if (fr_fault_norm_name(name, e.name, sizeof(e.name)) < 0)
        return -1;
    colon = strchr(eq + 1, ':');
    rlen = colon ? (size_t)(colon - eq - 1) : strlen(eq + 1);
    for (i = 0; i < sizeof(rcodes) / sizeof(*rcodes); i++)
        if (strlen(rcodes[i].name) == rlen && !strncasecmp(eq + 1, rcodes[i].name, rlen))
            break;
    if (i < sizeof(rcodes) / sizeof(*rcodes)) {
        e.rcode = rcodes[i].rcode;
    } else {
        char num[16];
        unsigned long ms;
        if (rlen <= 4 || rlen - 4 >= sizeof(num) || strncasecmp(eq + 1, "slow", 4))
            return -1;
        memcpy(num, eq + 5, rlen - 4);
        num[rlen - 4] = 0;
        if (fr_fault_parse_uint(num, FR_FAULT_NF_SLOW_MAX_MS, &ms) < 0)
            return -1;
        e.rcode = FR_FAULT_NF_SLOW;
        e.slow_ms = (unsigned)ms;
    }
    if (colon) {
        int t = ns_t_invalid;
        if (!strcasecmp(colon + 1, "A")) t = ns_t_a;
        else if (!strcasecmp(colon + 1, "AAAA")) t = ns_t_aaaa;
        else if (!strcasecmp(colon + 1, "CNAME")) t = ns_t_cname;
        else if (!strcasecmp(colon + 1, "MX")) t = ns_t_mx;
        else if (!strcasecmp(colon + 1, "TXT")) t = ns_t_txt;
        else if (!strcasecmp(colon + 1, "SRV")) t = ns_t_srv;
        if (t == ns_t_invalid)
            return -1;
        e.type = (uint16_t)t;
    }
    fr_fault_nf_list[fr_fault_nf_count++] = e;
    return 0;
}

/* The --fault kind for a question (and its delay for slowN), or -1 when
 * none matches. */
static int fr_fault_nf_match(const char *qname, uint16_t qtype, unsigned *slow_ms)
{
    size_t ql = strlen(qname);
    for (unsigned i = 0; i < fr_fault_nf_count; i++) {
        const struct fr_fault_nf *e = &fr_fault_nf_list[i];
        size_t nl = strlen(e->name);
        if (e->type && e->type != qtype)
            continue;
        if (ql == nl ? !strcasecmp(qname, e->name)
                     : ql > nl && qname[ql - nl - 1] == '.' && !strcasecmp(qname + ql - nl, e->name)) {
            *slow_ms = e->slow_ms;
            return e->rcode;
        }
    }
    return -1;
}

/* ---- writing messages ---- */

struct fr_fault_wbuf {
    uint8_t *b;
    size_t len, cap;
    int err;
    uint8_t *dnptrs[FR_FAULT_DNPTRS];
};

static void fr_fault_w_init(struct fr_fault_wbuf *w, uint8_t *b, size_t cap)
{
    memset(w, 0, sizeof(*w));
    w->b = b;
    w->cap = cap;
    w->dnptrs[0] = b;
    w->dnptrs[1] = NULL;
}

static void fr_fault_w_bytes(struct fr_fault_wbuf *w, const void *p, size_t n)
{
    if (w->err || w->cap - w->len < n) {
        w->err = 1;
        return;
    }
    memcpy(w->b + w->len, p, n);
    w->len += n;
}

static void fr_fault_w_u16(struct fr_fault_wbuf *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    fr_fault_w_bytes(w, b, 2);
}

static void fr_fault_w_u32(struct fr_fault_wbuf *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    fr_fault_w_bytes(w, b, 4);
}

/* compress = 0 for SRV targets (RFC 2782: no compression). */
static void fr_fault_w_name(struct fr_fault_wbuf *w, const char *name, int compress)
{
    int n;
    if (w->err)
        return;
    n = dn_comp(name, w->b + w->len, (int)(w->cap - w->len),
                compress ? w->dnptrs : NULL, compress ? &w->dnptrs[FR_FAULT_DNPTRS - 1] : NULL);
    if (n < 0)
        w->err = 1;
    else
        w->len += (size_t)n;
}

static void fr_fault_w_header(struct fr_fault_wbuf *w, const struct fr_fault_query *q, int rcode,
                              unsigned an, unsigned ns)
{
    /* QR, the query's opcode and RD, AA and RA set. */
    uint16_t flags = (uint16_t)(0x8000 | (q->flags & 0x7800) | 0x0400 | (q->flags & 0x0100) |
                                0x0080 | (rcode & 0xf));
    fr_fault_w_u16(w, q->id);
    fr_fault_w_u16(w, flags);
    fr_fault_w_u16(w, q->has_q ? 1 : 0);
    fr_fault_w_u16(w, (uint16_t)an);
    fr_fault_w_u16(w, (uint16_t)ns);
    fr_fault_w_u16(w, 0);
}

static void fr_fault_w_rr(struct fr_fault_wbuf *w, const char *owner, const struct fr_fault_rec *r)
{
    size_t rdlen_at;
    fr_fault_w_name(w, owner, 1);
    fr_fault_w_u16(w, r->type);
    fr_fault_w_u16(w, ns_c_in);
    fr_fault_w_u32(w, G.ttl);
    rdlen_at = w->len;
    fr_fault_w_u16(w, 0);
    switch (r->type) {
    case ns_t_a: fr_fault_w_bytes(w, r->addr, 4); break;
    case ns_t_aaaa: fr_fault_w_bytes(w, r->addr, 16); break;
    case ns_t_cname: fr_fault_w_name(w, r->target, 1); break;
    case ns_t_mx:
        fr_fault_w_u16(w, r->n[0]);
        fr_fault_w_name(w, r->target, 1);
        break;
    case ns_t_srv:
        fr_fault_w_u16(w, r->n[0]);
        fr_fault_w_u16(w, r->n[1]);
        fr_fault_w_u16(w, r->n[2]);
        fr_fault_w_name(w, r->target, 0);
        break;
    case ns_t_txt: {
        size_t left = strlen(r->txt), off = 0;
        do {
            /* RFC 1035 3.3.14: character-strings are at most 255 octets. */
            uint8_t n = (uint8_t)(left > 255 ? 255 : left);
            fr_fault_w_bytes(w, &n, 1);
            fr_fault_w_bytes(w, r->txt + off, n);
            off += n;
            left -= n;
        } while (left > 0);
        break;
    }
    }
    if (!w->err) {
        size_t rdlen = w->len - rdlen_at - 2;
        w->b[rdlen_at] = (uint8_t)(rdlen >> 8);
        w->b[rdlen_at + 1] = (uint8_t)rdlen;
    }
}

/* The SOA that goes with negative answers: owned by the name's last label
 * (the "zone"), MINIMUM and TTL both --neg-ttl (RFC 2308 negative TTL). */
static void fr_fault_w_soa(struct fr_fault_wbuf *w, const char *qname)
{
    const char *zone = strrchr(qname, '.');
    size_t rdlen_at;
    zone = zone ? zone + 1 : qname;
    fr_fault_w_name(w, zone, 1);
    fr_fault_w_u16(w, ns_t_soa);
    fr_fault_w_u16(w, ns_c_in);
    fr_fault_w_u32(w, G.neg_ttl);
    rdlen_at = w->len;
    fr_fault_w_u16(w, 0);
    fr_fault_w_name(w, "ns.faultdns.invalid", 1);
    fr_fault_w_name(w, "hostmaster.faultdns.invalid", 1);
    fr_fault_w_u32(w, 1);       /* serial */
    fr_fault_w_u32(w, 3600);    /* refresh */
    fr_fault_w_u32(w, 600);     /* retry */
    fr_fault_w_u32(w, 86400);   /* expire */
    fr_fault_w_u32(w, G.neg_ttl);
    if (!w->err) {
        size_t rdlen = w->len - rdlen_at - 2;
        w->b[rdlen_at] = (uint8_t)(rdlen >> 8);
        w->b[rdlen_at + 1] = (uint8_t)rdlen;
    }
}

static int fr_fault_name_known(const char *name)
{
    for (unsigned i = 0; i < G.nrecs; i++)
        if (!strcasecmp(G.recs[i].name, name))
            return 1;
    return 0;
}

/* Header + question only, with the given rcode (and TC when asked). */
static size_t fr_fault_build_bare(const struct fr_fault_query *q, int rcode, int tc, uint8_t *out,
                                  size_t cap)
{
    struct fr_fault_wbuf w;
    fr_fault_w_init(&w, out, cap);
    fr_fault_w_header(&w, q, rcode, 0, 0);
    if (q->has_q) {
        fr_fault_w_name(&w, q->qname, 1);
        fr_fault_w_u16(&w, q->qtype);
        fr_fault_w_u16(&w, q->qclass);
    }
    if (w.err) {
        /* The name cannot be written back: header alone, no question. */
        fr_fault_w_init(&w, out, cap);
        struct fr_fault_query bare = *q;
        bare.has_q = 0;
        fr_fault_w_header(&w, &bare, rcode, 0, 0);
    }
    if (tc && w.len >= 4)
        out[2] |= 0x02;
    return w.err ? 0 : w.len;
}

/* The authoritative answer for q from --record entries. owner replaces the
 * question name everywhere (wrongq) when not NULL. */
static size_t fr_fault_build_answer(const struct fr_fault_query *q, const char *owner, uint8_t *out,
                                    size_t cap)
{
    struct fr_fault_wbuf w;
    const char *chain[FR_FAULT_CNAME_HOPS + 1];
    unsigned nchain = 0, an = 0;
    const char *cur = q->qname;
    int rcode = ns_r_noerror, found = 0;

    if (!q->has_q)
        return fr_fault_build_bare(q, ns_r_formerr, 0, out, cap);
    if (q->qclass != ns_c_in)
        return fr_fault_build_bare(q, ns_r_refused, 0, out, cap);
    rcode = fr_fault_nf_match(q->qname, q->qtype, &fr_fault_nf_slow_ms);
    if (rcode == FR_FAULT_NF_DROP)
        return 0;
    if (rcode >= 0 && rcode != FR_FAULT_NF_SLOW)
        return fr_fault_build_bare(q, rcode, 0, out, cap);
    rcode = ns_r_noerror;
    /* Follow CNAMEs among our own records (not when CNAME is asked). */
    chain[nchain++] = cur;
    while (q->qtype != ns_t_cname && nchain <= FR_FAULT_CNAME_HOPS) {
        const char *next = NULL;
        int has_type = 0;
        for (unsigned i = 0; i < G.nrecs; i++) {
            if (strcasecmp(G.recs[i].name, cur))
                continue;
            if (G.recs[i].type == q->qtype)
                has_type = 1;
            else if (G.recs[i].type == ns_t_cname && !next)
                next = G.recs[i].target;
        }
        if (has_type || !next)
            break;
        cur = next;
        chain[nchain++] = cur;
    }

    fr_fault_w_init(&w, out, cap);
    fr_fault_w_header(&w, q, rcode, 0, 0);
    fr_fault_w_name(&w, owner ? owner : q->qname, 1);
    fr_fault_w_u16(&w, q->qtype);
    fr_fault_w_u16(&w, q->qclass);
    for (unsigned c = 0; c < nchain; c++) {
        const char *oname = (c == 0 && owner) ? owner : chain[c];
        for (unsigned i = 0; i < G.nrecs; i++) {
            const struct fr_fault_rec *r = &G.recs[i];
            if (strcasecmp(r->name, chain[c]))
                continue;
            /* Intermediate links contribute their CNAME; the last one its
             * records of the asked type. */
            if ((c + 1 < nchain && r->type == ns_t_cname && !strcasecmp(r->target, chain[c + 1])) ||
                (c + 1 == nchain && r->type == q->qtype)) {
                fr_fault_w_rr(&w, oname, r);
                an++;
                if (c + 1 == nchain)
                    found = 1;
            }
        }
    }
    if (!found) {
        /* NXDOMAIN when the last name in the chain does not exist at all,
         * NODATA otherwise; both carry the SOA (RFC 2308). */
        if (!fr_fault_name_known(chain[nchain - 1]))
            rcode = ns_r_nxdomain;
        fr_fault_w_soa(&w, chain[nchain - 1]);
    }
    if (w.err)
        return fr_fault_build_bare(q, ns_r_servfail, 0, out, cap);
    /* Patch rcode and counts now that they are known. */
    out[3] = (uint8_t)((out[3] & 0xf0) | rcode);
    out[6] = (uint8_t)(an >> 8);
    out[7] = (uint8_t)an;
    out[9] = found ? 0 : 1;
    return w.len;
}

/* The answer for q with its records damaged as G.mode says (ptrloop ...
 * ttltop). Written by hand, since dn_comp cannot write a broken name: the
 * question uncompressed at offset 12, every owner a pointer to it (0xC00C)
 * except the first one's when the mode damages the owner. Only A and AAAA
 * records of the question name itself; any other reply is the normal one. */
static size_t fr_fault_build_hostile(const struct fr_fault_query *q, uint8_t *out, size_t cap)
{
    struct fr_fault_wbuf w;
    unsigned an = 0;
    static const uint8_t ptr_q[2] = {0xc0, HFIXEDSZ};
    uint8_t label[64];

    if (!q->has_q || q->qclass != ns_c_in || (q->qtype != ns_t_a && q->qtype != ns_t_aaaa))
        return fr_fault_build_answer(q, NULL, out, cap);
    for (unsigned i = 0; i < G.nrecs; i++)
        an += G.recs[i].type == q->qtype && !strcasecmp(G.recs[i].name, q->qname);
    if (an == 0)
        return fr_fault_build_answer(q, NULL, out, cap);

    fr_fault_w_init(&w, out, cap);
    fr_fault_w_header(&w, q, ns_r_noerror, G.mode == MODE_COUNTBIG ? an + 2 : an, 0);
    fr_fault_w_name(&w, q->qname, 0);
    fr_fault_w_u16(&w, q->qtype);
    fr_fault_w_u16(&w, q->qclass);
    unsigned k = 0;
    for (unsigned i = 0; i < G.nrecs; i++) {
        const struct fr_fault_rec *r = &G.recs[i];
        size_t alen = r->type == ns_t_a ? 4 : 16;
        if (r->type != q->qtype || strcasecmp(r->name, q->qname))
            continue;
        if (k == 0 && G.mode == MODE_PTRLOOP) {
            /* A pointer to this very pointer: a reader that follows
             * pointers without a bound never ends. */
            uint8_t self[2] = {(uint8_t)(0xc0 | (w.len >> 8)), (uint8_t)w.len};
            fr_fault_w_bytes(&w, self, 2);
        } else if (k == 0 && G.mode == MODE_PTRPAST) {
            static const uint8_t past[2] = {0xff, 0xff};   /* offset 16383 */
            fr_fault_w_bytes(&w, past, 2);
        } else if (k == 0 && G.mode == MODE_LONGLABEL) {
            /* 64 = 0x40: the top bits 01 are the obsolete extended label
             * type (RFC 6891 5), not a length any reader may accept. */
            label[0] = 64;
            memset(label + 1, 'a', 63);
            fr_fault_w_bytes(&w, label, 64);
            fr_fault_w_bytes(&w, "a", 1);
            fr_fault_w_bytes(&w, ptr_q, 2);
        } else if (k == 0 && G.mode == MODE_LONGNAME) {
            /* 4 x 64 octets of labels before the question name: over the
             * 255 octets of RFC 1035 2.3.4 whatever the question is. */
            label[0] = 63;
            memset(label + 1, 'b', 63);
            for (int j = 0; j < 4; j++)
                fr_fault_w_bytes(&w, label, 64);
            fr_fault_w_bytes(&w, ptr_q, 2);
        } else {
            fr_fault_w_bytes(&w, ptr_q, 2);
        }
        fr_fault_w_u16(&w, r->type);
        fr_fault_w_u16(&w, ns_c_in);
        fr_fault_w_u32(&w, (k == 0 && G.mode == MODE_TTLTOP) ? (0x80000000u | G.ttl) : G.ttl);
        if (G.mode == MODE_RDLEN) {
            static const uint8_t zero = 0;
            fr_fault_w_u16(&w, (uint16_t)(alen + 1));
            fr_fault_w_bytes(&w, r->addr, alen);
            fr_fault_w_bytes(&w, &zero, 1);
        } else {
            fr_fault_w_u16(&w, (uint16_t)alen);
            fr_fault_w_bytes(&w, r->addr, alen);
        }
        k++;
    }
    return w.err ? 0 : w.len;
}

/* ---- reading queries ---- */

static void fr_fault_parse_query(const uint8_t *m, size_t len, struct fr_fault_query *q)
{
    const uint8_t *p;
    int n;
    memset(q, 0, sizeof(*q));
    if (len < HFIXEDSZ)
        return;
    q->id = (uint16_t)(m[0] << 8 | m[1]);
    q->flags = (uint16_t)(m[2] << 8 | m[3]);
    if ((m[4] << 8 | m[5]) != 1)
        return;
    n = dn_expand(m, m + len, m + HFIXEDSZ, q->qname, sizeof(q->qname));
    if (n < 0)
        return;
    p = m + HFIXEDSZ + n;
    if ((size_t)(p - m) + 4 > len)
        return;
    q->qtype = (uint16_t)(p[0] << 8 | p[1]);
    q->qclass = (uint16_t)(p[2] << 8 | p[3]);
    q->has_q = 1;
}

/* ---- files ---- */

static void fr_fault_write_atomic(const char *path, const char *text)
{
    char tmp[4096];
    FILE *f;
    if (!path || snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return;
    f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "faultdns: %s: %s\n", tmp, strerror(errno));
        return;
    }
    fputs(text, f);
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        fprintf(stderr, "faultdns: %s: %s\n", path, strerror(errno));
}

static void fr_fault_count_query(void)
{
    char text[32];
    G.count++;
    snprintf(text, sizeof(text), "%ld\n", G.count);
    fr_fault_write_atomic(G.count_file, text);
}

/* ---- sending ---- */

static void fr_fault_conn_close(int slot)
{
    struct fr_fault_conn *c = &G.conns[slot];
    if (c->fd < 0)
        return;
    close(c->fd);
    free(c->buf);
    c->buf = NULL;
    c->fd = -1;
    c->have = 0;
    c->gen++;
}

static void fr_fault_send_now(const struct fr_fault_dest *d, const uint8_t *msg, size_t len)
{
    if (!d->tcp) {
        int fd = G.alt_fd >= 0 ? G.alt_fd : G.udp_fd;
        if (sendto(fd, msg, len, 0, (const struct sockaddr *)&d->peer, d->peerlen) < 0)
            fr_fault_log("udp send: %s", strerror(errno));
        return;
    }
    struct fr_fault_conn *c = &G.conns[d->slot];
    if (c->fd < 0 || c->gen != d->gen || len > FR_FAULT_MSG_MAX)
        return;
    uint8_t pre[2] = {(uint8_t)(len >> 8), (uint8_t)len};
    struct iovec iov[2] = {{pre, 2}, {(void *)msg, len}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
    /* Replies are small and the socket buffer is empty in practice; a
     * short write means a client that does not read: drop it. */
    ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n != (ssize_t)(len + 2)) {
        fr_fault_log("tcp send short (%zd of %zu): closing", n, len + 2);
        fr_fault_conn_close(d->slot);
    }
}

static void fr_fault_count_to(const char *path, long *n)
{
    char text[32];
    (*n)++;
    snprintf(text, sizeof(text), "%ld\n", *n);
    fr_fault_write_atomic(path, text);
}

/* 1 when the reply answers an A question. */
static int fr_fault_is_a(const uint8_t *msg, size_t len)
{
    int skip;
    if (len < 12 || msg[5] != 1 || (skip = dn_skipname(msg + 12, msg + len)) < 0 ||
        12 + (size_t)skip + 2 > len)
        return 0;
    return msg[12 + skip] == 0 && msg[12 + skip + 1] == 1;
}

/* Send after --delay-ms, plus --delay-a-ms for A and a slowN --fault's
 * delay (or now). */
static void fr_fault_reply(const struct fr_fault_dest *d, const uint8_t *msg, size_t len)
{
    unsigned delay = G.delay_ms + fr_fault_nf_slow_ms + (fr_fault_is_a(msg, len) ? G.delay_a_ms : 0);
    if (delay == 0) {
        fr_fault_send_now(d, msg, len);
        return;
    }
    for (unsigned i = 0; i < FR_FAULT_PENDING_MAX; i++) {
        struct fr_fault_pending *p = &G.pending[i];
        if (p->used)
            continue;
        p->buf = malloc(len);
        if (!p->buf)
            break;
        memcpy(p->buf, msg, len);
        p->len = len;
        p->dest = *d;
        p->due_ms = fr_fault_now_ms() + delay;
        p->used = 1;
        return;
    }
    fr_fault_log("timer queue full: reply dropped");
}

static uint64_t fr_fault_run_timers(uint64_t now)
{
    uint64_t next = now + FR_FAULT_POLL_MAX_MS;
    for (unsigned i = 0; i < FR_FAULT_PENDING_MAX; i++) {
        struct fr_fault_pending *p = &G.pending[i];
        if (!p->used)
            continue;
        if (p->due_ms <= now) {
            fr_fault_send_now(&p->dest, p->buf, p->len);
            free(p->buf);
            p->buf = NULL;
            p->used = 0;
        } else if (p->due_ms < next) {
            next = p->due_ms;
        }
    }
    for (unsigned i = 0; i < FR_FAULT_FORWARD_MAX; i++) {
        struct fr_fault_fwd *f = &G.fwds[i];
        if (f->used && f->expire_ms <= now) {
            free(f->query);
            f->query = NULL;
            f->used = 0;
        }
    }
    for (int i = 0; i < FR_FAULT_TCP_MAX; i++)
        if (G.conns[i].fd >= 0 && now - G.conns[i].last_ms >= G.tcp_idle_ms)
            fr_fault_conn_close(i);
    return next;
}

/* ---- forwarding ---- */

static void fr_fault_forward(const uint8_t *msg, size_t len, const struct fr_fault_dest *d)
{
    struct fr_fault_fwd *slot = NULL;
    uint8_t copy[FR_FAULT_MSG_MAX];
    if (len < HFIXEDSZ)
        return;
    for (unsigned i = 0; i < FR_FAULT_FORWARD_MAX && !slot; i++)
        if (!G.fwds[i].used)
            slot = &G.fwds[i];
    if (!slot) {
        fr_fault_log("forward table full: query dropped");
        return;
    }
    /* A fresh ID per relayed query, so two clients using the same ID do
     * not get each other's replies. */
    uint16_t id;
    for (;;) {
        int clash = 0;
        id = G.next_fwd_id++;
        for (unsigned i = 0; i < FR_FAULT_FORWARD_MAX && !clash; i++)
            clash = G.fwds[i].used && G.fwds[i].new_id == id;
        if (!clash)
            break;
    }
    slot->query = malloc(len);
    if (!slot->query)
        return;
    memcpy(slot->query, msg, len);
    slot->qlen = len;
    slot->used = 1;
    slot->new_id = id;
    slot->orig_id = (uint16_t)(msg[0] << 8 | msg[1]);
    slot->expire_ms = fr_fault_now_ms() + FR_FAULT_FORWARD_TTL_MS;
    slot->dest = *d;
    memcpy(copy, msg, len);
    copy[0] = (uint8_t)(id >> 8);
    copy[1] = (uint8_t)id;
    if (send(G.fwd_fd, copy, len, 0) < 0)
        fr_fault_log("forward send: %s", strerror(errno));
}

/* Blocking, bounded TCP exchange with the --forward upstream. */
static size_t fr_fault_tcp_fetch(const uint8_t *q, size_t qlen, uint8_t *out, size_t cap)
{
    struct timeval tv = {FR_FAULT_TCP_FETCH_MS / 1000, (FR_FAULT_TCP_FETCH_MS % 1000) * 1000};
    uint8_t pre[2] = {(uint8_t)(qlen >> 8), (uint8_t)qlen}, lenb[2];
    size_t got = 0, want, result = 0;
    int fd = socket(G.fwd.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto done;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&G.fwd, G.fwdlen) < 0 ||
        send(fd, pre, 2, MSG_NOSIGNAL) != 2 || send(fd, q, qlen, MSG_NOSIGNAL) != (ssize_t)qlen)
        goto done;
    if (recv(fd, lenb, 2, MSG_WAITALL) != 2)
        goto done;
    want = (size_t)(lenb[0] << 8 | lenb[1]);
    if (want > cap)
        goto done;
    while (got < want) {
        ssize_t n = recv(fd, out + got, want - got, 0);
        if (n <= 0)
            goto done;
        got += (size_t)n;
    }
    result = got;
done:
    if (fd >= 0)
        close(fd);
    return result;
}

static void fr_fault_on_upstream(void)
{
    uint8_t buf[FR_FAULT_MSG_MAX];
    ssize_t n = recv(G.fwd_fd, buf, sizeof(buf), 0);
    if (n < HFIXEDSZ)
        return;
    uint16_t id = (uint16_t)(buf[0] << 8 | buf[1]);
    for (unsigned i = 0; i < FR_FAULT_FORWARD_MAX; i++) {
        struct fr_fault_fwd *f = &G.fwds[i];
        if (!f->used || f->new_id != id)
            continue;
        size_t len = (size_t)n;
        if (f->dest.tcp && (buf[2] & 0x02)) {
            /* Truncated over UDP but our client speaks TCP: fetch it whole. */
            uint8_t q[FR_FAULT_MSG_MAX];
            memcpy(q, f->query, f->qlen);
            q[0] = buf[0];
            q[1] = buf[1];
            size_t got = fr_fault_tcp_fetch(q, f->qlen, buf, sizeof(buf));
            if (got >= HFIXEDSZ)
                len = got;
        }
        buf[0] = (uint8_t)(f->orig_id >> 8);
        buf[1] = (uint8_t)f->orig_id;
        fr_fault_reply(&f->dest, buf, len);
        free(f->query);
        f->query = NULL;
        f->used = 0;
        return;
    }
}

/* ---- hostile transport ---- */

/* Before the answer: a runt, random datagrams and the answer under other
 * IDs, all from the address asked. */
static void fr_fault_flood(const uint8_t *ans, size_t alen, const struct fr_fault_dest *d)
{
    uint8_t junk[FR_FAULT_UDP_MAX];
    for (int i = 0; i < FR_FAULT_FLOOD; i++) {
        size_t n;
        if (i == 0) {
            /* Shorter than a header: glibc drops the server on it. */
            n = alen < 4 ? alen : 4;
            memcpy(junk, ans, n);
        } else if (i % 2 == 0) {
            n = HFIXEDSZ + (size_t)(erand48(G.garbage_rng) * (FR_FAULT_UDP_MAX - HFIXEDSZ));
            if (n > FR_FAULT_UDP_MAX)
                n = FR_FAULT_UDP_MAX;
            for (size_t j = 0; j < n; j++)
                junk[j] = (uint8_t)(erand48(G.garbage_rng) * 256.0);
        } else {
            n = alen < sizeof(junk) ? alen : sizeof(junk);
            memcpy(junk, ans, n);
            junk[0] ^= (uint8_t)(1 + i);
        }
        fr_fault_reply(d, junk, n);
    }
}

/* TCP side of tcreset/tcstall/tcgarbage/tcshort (after a UDP TC). */
static void fr_fault_tcp_hostile(const struct fr_fault_query *q, const struct fr_fault_dest *d,
                                 uint8_t *out, size_t cap)
{
    struct fr_fault_conn *c = &G.conns[d->slot];
    size_t n;
    if (c->fd < 0 || c->gen != d->gen)
        return;
    switch (G.mode) {
    case MODE_TCRESET: {
        /* SO_LINGER 0: close() sends RST instead of FIN. */
        struct linger lg = {1, 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        fr_fault_conn_close(d->slot);
        return;
    }
    case MODE_TCSTALL:
        return;                    /* read, never answered; idle close later */
    case MODE_TCGARBAGE:
        n = 1 + (size_t)(erand48(G.garbage_rng) * FR_FAULT_UDP_MAX);
        if (n > FR_FAULT_UDP_MAX || n > cap)
            n = FR_FAULT_UDP_MAX < cap ? FR_FAULT_UDP_MAX : cap;
        for (size_t j = 0; j < n; j++)
            out[j] = (uint8_t)(erand48(G.garbage_rng) * 256.0);
        fr_fault_reply(d, out, n);
        return;
    case MODE_TCSHORT:
    default: {
        n = fr_fault_build_answer(q, NULL, out, cap);
        /* Sent now and whole; the client reads an 8-octet "message", then
         * the rest of the answer as the next length and data, then EOF. */
        uint8_t pre[2] = {0, 8};
        struct iovec iov[2] = {{pre, 2}, {out, n}};
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
        if (n > 0 && sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
            fr_fault_log("tcp send: %s", strerror(errno));
        fr_fault_conn_close(d->slot);
        return;
    }
    }
}

/* ---- one query ---- */

static void fr_fault_handle(const uint8_t *msg, size_t len, const struct fr_fault_dest *d)
{
    static uint8_t out[FR_FAULT_MSG_MAX];
    struct fr_fault_query q;
    size_t n = 0;
    char wrong[FR_FAULT_NAME_MAX];

    fr_fault_count_query();
    fr_fault_nf_slow_ms = 0;
    fr_fault_parse_query(msg, len, &q);
    fr_fault_log("%s query #%ld len %zu id %u %s type %u", d->tcp ? "tcp" : "udp", G.count, len,
                 q.id, q.has_q ? q.qname : "(none)", q.qtype);
    if (G.drop_pct > 0 && erand48(G.drop_rng) * 100.0 < G.drop_pct) {
        fr_fault_log("dropped (drop-pct)");
        return;
    }
    if (len < HFIXEDSZ)
        return;                     /* nothing to reply to */
    if (q.flags & 0x8000)
        return;                     /* a reply, not a query: never answer (no loops) */

    switch (G.mode) {
    case MODE_DROP:
        return;
    case MODE_FORWARD:
        fr_fault_forward(msg, len, d);
        return;
    case MODE_SERVFAIL: n = fr_fault_build_bare(&q, ns_r_servfail, 0, out, sizeof(out)); break;
    case MODE_REFUSED: n = fr_fault_build_bare(&q, ns_r_refused, 0, out, sizeof(out)); break;
    case MODE_FORMERR: n = fr_fault_build_bare(&q, ns_r_formerr, 0, out, sizeof(out)); break;
    case MODE_TC:
        if (!d->tcp)
            n = fr_fault_build_bare(&q, ns_r_noerror, 1, out, sizeof(out));
        else
            n = fr_fault_build_answer(&q, NULL, out, sizeof(out));
        break;
    case MODE_WRONGID:
        n = fr_fault_build_answer(&q, NULL, out, sizeof(out));
        if (n >= 2) {
            uint16_t id = (uint16_t)(q.id + 1);
            out[0] = (uint8_t)(id >> 8);
            out[1] = (uint8_t)id;
        }
        break;
    case MODE_WRONGQ:
        if (q.has_q && snprintf(wrong, sizeof(wrong), "wrongq.%s", q.qname) < (int)sizeof(wrong) &&
            strlen(q.qname) + 7 <= NS_MAXDNAME - 2)
            n = fr_fault_build_answer(&q, wrong, out, sizeof(out));
        else
            n = fr_fault_build_answer(&q, "wrongq.invalid", out, sizeof(out));
        break;
    case MODE_GARBAGE: {
        /* 1..FR_FAULT_UDP_MAX random octets from the seeded stream. */
        n = 1 + (size_t)(erand48(G.garbage_rng) * FR_FAULT_UDP_MAX);
        if (n > FR_FAULT_UDP_MAX)
            n = FR_FAULT_UDP_MAX;
        for (size_t i = 0; i < n; i++)
            out[i] = (uint8_t)(erand48(G.garbage_rng) * 256.0);
        break;
    }
    case MODE_PTRLOOP: case MODE_PTRPAST: case MODE_LONGLABEL: case MODE_LONGNAME:
    case MODE_COUNTBIG: case MODE_RDLEN: case MODE_TTLTOP:
        n = fr_fault_build_hostile(&q, out, sizeof(out));
        break;
    case MODE_TCRESET: case MODE_TCSTALL: case MODE_TCGARBAGE: case MODE_TCSHORT:
        if (!d->tcp) {
            n = fr_fault_build_bare(&q, ns_r_noerror, 1, out, sizeof(out));
            break;
        }
        fr_fault_tcp_hostile(&q, d, out, sizeof(out));
        return;
    case MODE_ANSWER:
    case MODE_OTHERADDR:
    case MODE_OTHERPORT:
    case MODE_DUP:
    case MODE_FLOOD:
    case MODE_ECHO:
    default:
        n = fr_fault_build_answer(&q, NULL, out, sizeof(out));
        break;
    }
    if (n == 0)
        return;
    if (!d->tcp && n > FR_FAULT_UDP_MAX && G.mode != MODE_GARBAGE)
        n = fr_fault_build_bare(&q, out[3] & 0xf, 1, out, sizeof(out));
    if (n == 0)
        return;
    if (G.mode == MODE_FLOOD && !d->tcp)
        fr_fault_flood(out, n, d);
    if (G.mode == MODE_ECHO && !d->tcp)
        fr_fault_reply(d, msg, len);
    fr_fault_reply(d, out, n);
    if (G.mode == MODE_DUP)
        fr_fault_reply(d, out, n);
}

static void fr_fault_on_udp(void)
{
    uint8_t buf[FR_FAULT_MSG_MAX];
    struct fr_fault_dest d = {0};
    d.peerlen = sizeof(d.peer);
    ssize_t n = recvfrom(G.udp_fd, buf, sizeof(buf), 0, (struct sockaddr *)&d.peer, &d.peerlen);
    if (n < 0)
        return;
    if (G.udp_count_file)
        fr_fault_count_to(G.udp_count_file, &G.udp_queries);
    fr_fault_handle(buf, (size_t)n, &d);
}

static void fr_fault_on_accept(void)
{
    int fd = accept4(G.tcp_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    if (G.tcp_count_file)
        fr_fault_count_to(G.tcp_count_file, &G.tcp_accepts);
    for (int i = 0; i < FR_FAULT_TCP_MAX; i++) {
        struct fr_fault_conn *c = &G.conns[i];
        if (c->fd >= 0)
            continue;
        c->buf = malloc(2 + FR_FAULT_MSG_MAX);
        if (!c->buf)
            break;
        c->fd = fd;
        c->have = 0;
        c->last_ms = fr_fault_now_ms();
        return;
    }
    fr_fault_log("too many tcp clients: closing one");
    close(fd);
}

static void fr_fault_on_conn(int slot)
{
    struct fr_fault_conn *c = &G.conns[slot];
    ssize_t n = recv(c->fd, c->buf + c->have, 2 + FR_FAULT_MSG_MAX - c->have, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        fr_fault_conn_close(slot);
        return;
    }
    c->have += (size_t)n;
    c->last_ms = fr_fault_now_ms();
    /* Handle every complete message in the buffer (pipelined queries). */
    while (c->fd >= 0 && c->have >= 2) {
        size_t mlen = (size_t)(c->buf[0] << 8 | c->buf[1]);
        if (c->have < 2 + mlen)
            break;
        struct fr_fault_dest d = {.tcp = 1, .slot = slot, .gen = c->gen};
        uint8_t msg[FR_FAULT_MSG_MAX];
        memcpy(msg, c->buf + 2, mlen);
        memmove(c->buf, c->buf + 2 + mlen, c->have - 2 - mlen);
        c->have -= 2 + mlen;
        fr_fault_handle(msg, mlen, &d);
    }
}

/* ---- setup ---- */

static void fr_fault_usage(void)
{
    fprintf(stderr,
            "usage: faultdns --listen ADDR[:PORT] [--mode MODE] [--record NAME=TYPE:VALUE ...]\n"
            "                [--ttl N] [--neg-ttl N] [--delay-ms N] [--drop-pct P] [--seed S]\n"
            "                [--forward ADDR[:PORT]] [--reply-from ADDR[:PORT]] [--tcp-idle-ms N]\n"
            "                [--count-file F] [--pid-file F] [-v]\n"
            "modes: answer drop servfail refused formerr tc wrongid wrongq garbage forward\n"
            "       ptrloop ptrpast longlabel longname countbig rdlen ttltop otheraddr otherport\n"
            "       dup flood echo tcreset tcstall tcgarbage tcshort\n"
            "types: A AAAA CNAME MX(\"PREF HOST\") TXT SRV(\"PRIO WEIGHT PORT TARGET\")\n");
    fputs("--fault NAME=KIND[:TYPE]: servfail refused formerr notimp drop slowMS, NAME and below\n",
          stderr);
}

static int fr_fault_open_sockets(void)
{
    int one = 1;
    G.udp_fd = socket(G.listen.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    G.tcp_fd = socket(G.listen.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (G.udp_fd < 0 || G.tcp_fd < 0)
        return -1;
    setsockopt(G.tcp_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (G.listen.ss_family == AF_INET6) {
        setsockopt(G.udp_fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        setsockopt(G.tcp_fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    }
    if (bind(G.udp_fd, (struct sockaddr *)&G.listen, G.listenlen) < 0 ||
        bind(G.tcp_fd, (struct sockaddr *)&G.listen, G.listenlen) < 0 ||
        listen(G.tcp_fd, FR_FAULT_TCP_MAX) < 0)
        return -1;
    if (G.mode == MODE_OTHERADDR || G.mode == MODE_OTHERPORT) {
        struct sockaddr_storage from = G.reply_from;
        socklen_t fromlen = G.reply_fromlen;
        if (G.mode == MODE_OTHERPORT) {
            /* The listening address, port 0: the kernel picks another. */
            from = G.listen;
            fromlen = G.listenlen;
            if (from.ss_family == AF_INET)
                ((struct sockaddr_in *)&from)->sin_port = 0;
            else
                ((struct sockaddr_in6 *)&from)->sin6_port = 0;
        }
        G.alt_fd = socket(from.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (G.alt_fd < 0 || bind(G.alt_fd, (struct sockaddr *)&from, fromlen) < 0)
            return -1;
    }
    if (G.have_fwd) {
        G.fwd_fd = socket(G.fwd.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (G.fwd_fd < 0 || connect(G.fwd_fd, (struct sockaddr *)&G.fwd, G.fwdlen) < 0)
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"fault", required_argument, NULL, 'X'},
        {"listen", required_argument, NULL, 'l'},   {"mode", required_argument, NULL, 'm'},
        {"record", required_argument, NULL, 'r'},   {"ttl", required_argument, NULL, 't'},
        {"neg-ttl", required_argument, NULL, 'n'},  {"delay-ms", required_argument, NULL, 'd'},
        {"drop-pct", required_argument, NULL, 'p'}, {"seed", required_argument, NULL, 's'},
        {"forward", required_argument, NULL, 'f'},  {"count-file", required_argument, NULL, 'c'},
        {"pid-file", required_argument, NULL, 'P'}, {"verbose", no_argument, NULL, 'v'},
        {"reply-from", required_argument, NULL, 'R'},
        {"tcp-idle-ms", required_argument, NULL, 'I'},
        {"help", no_argument, NULL, 'h'},           {"delay-a-ms", required_argument, NULL, 'A'},
        {"tcp-count-file", required_argument, NULL, 'C'},
        {"udp-count-file", required_argument, NULL, 'U'},
        {NULL, 0, NULL, 0},
    };
    int have_listen = 0, opt, rc = 1;
    const char *listen_arg = NULL;
    unsigned long v, seed = 1;
    char *end;
    sigset_t block, orig;
    struct sigaction sa;

    G.ttl = 300;
    G.neg_ttl = 60;
    G.udp_fd = G.tcp_fd = G.fwd_fd = G.alt_fd = -1;
    G.tcp_idle_ms = FR_FAULT_TCP_IDLE_MS;
    for (int i = 0; i < FR_FAULT_TCP_MAX; i++)
        G.conns[i].fd = -1;
    G.recs = calloc(FR_FAULT_RECORDS_MAX, sizeof(*G.recs));
    if (!G.recs)
        return 1;

    while ((opt = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
        switch (opt) {
        case 'l':
            if (fr_fault_parse_addr(optarg, &G.listen, &G.listenlen) < 0)
                goto bad_arg;
            have_listen = 1;
            listen_arg = optarg;
            break;
        case 'f':
            if (fr_fault_parse_addr(optarg, &G.fwd, &G.fwdlen) < 0)
                goto bad_arg;
            G.have_fwd = 1;
            break;
        case 'm': {
            size_t i;
            for (i = 0; i < sizeof(fr_fault_mode_names) / sizeof(*fr_fault_mode_names); i++)
                if (!strcmp(optarg, fr_fault_mode_names[i]))
                    break;
            if (i == sizeof(fr_fault_mode_names) / sizeof(*fr_fault_mode_names))
                goto bad_arg;
            G.mode = (enum fr_fault_mode)i;
            break;
        }
        case 'r':
            if (fr_fault_parse_record(optarg) < 0)
                goto bad_arg;
            break;
        case 'X':
            if (fr_fault_nf_parse(optarg) < 0)
                goto bad_arg;
            break;
        case 't':
            if (fr_fault_parse_uint(optarg, 0x7fffffff, &v) < 0)
                goto bad_arg;
            G.ttl = (uint32_t)v;
            break;
        case 'n':
            if (fr_fault_parse_uint(optarg, 0x7fffffff, &v) < 0)
                goto bad_arg;
            G.neg_ttl = (uint32_t)v;
            break;
        case 'd':
            /* An hour is far beyond any test; it bounds due-time arithmetic. */
            if (fr_fault_parse_uint(optarg, 3600000, &v) < 0)
                goto bad_arg;
            G.delay_ms = (unsigned)v;
            break;
        case 'p':
            G.drop_pct = strtod(optarg, &end);
            if (*end || end == optarg || G.drop_pct < 0 || G.drop_pct > 100)
                goto bad_arg;
            break;
        case 's':
            if (fr_fault_parse_uint(optarg, 0xffffffffUL, &seed) < 0)
                goto bad_arg;
            break;
        case 'R':
            if (fr_fault_parse_addr(optarg, &G.reply_from, &G.reply_fromlen) < 0)
                goto bad_arg;
            G.have_reply_from = 1;
            break;
        case 'I':
            /* At least 1 ms; at most an hour (bounds the timer arithmetic). */
            if (fr_fault_parse_uint(optarg, 3600000, &v) < 0 || v == 0)
                goto bad_arg;
            G.tcp_idle_ms = (unsigned)v;
            break;
        case 'c': G.count_file = optarg; break;
        case 'A':
            if (fr_fault_parse_uint(optarg, 3600000, &v) < 0)
                goto bad_arg;
            G.delay_a_ms = (unsigned)v;
            break;
        case 'C': G.tcp_count_file = optarg; break;
        case 'U': G.udp_count_file = optarg; break;
        case 'P': G.pid_file = optarg; break;
        case 'v': G.verbose = 1; break;
        case 'h': fr_fault_usage(); return 0;
        default: fr_fault_usage(); return 2;
        }
        continue;
    bad_arg:
        fprintf(stderr, "faultdns: bad argument: %s\n", optarg);
        fr_fault_usage();
        return 2;
    }
    if (!have_listen || optind != argc || (G.mode == MODE_FORWARD) != G.have_fwd ||
        (G.mode == MODE_OTHERADDR) != G.have_reply_from) {
        fprintf(stderr, "faultdns: --listen is required, --forward goes with --mode forward"
                        " and --reply-from with --mode otheraddr\n");
        fr_fault_usage();
        return 2;
    }
    /* Two independent streams from one seed: the drop pattern does not
     * depend on the mode (garbage draws from its own stream). */
    G.drop_rng[0] = 0x330e;
    G.drop_rng[1] = (unsigned short)seed;
    G.drop_rng[2] = (unsigned short)(seed >> 16);
    G.garbage_rng[0] = 0x1234;
    G.garbage_rng[1] = (unsigned short)seed;
    G.garbage_rng[2] = (unsigned short)(seed >> 16);

    /* SIGTERM/SIGINT stay blocked except inside ppoll, so the flag is
     * seen without a race between the check and the wait. */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fr_fault_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &orig);
    sigdelset(&orig, SIGTERM);
    sigdelset(&orig, SIGINT);

    if (fr_fault_open_sockets() < 0) {
        fprintf(stderr, "faultdns: cannot listen on %s: %s\n", listen_arg, strerror(errno));
        goto done;
    }
    if (G.pid_file) {
        char text[32];
        snprintf(text, sizeof(text), "%ld\n", (long)getpid());
        fr_fault_write_atomic(G.pid_file, text);
    }
    /* Written last: its existence tells the lab we are ready. */
    fr_fault_write_atomic(G.tcp_count_file, "0\n");
    fr_fault_write_atomic(G.udp_count_file, "0\n");
    fr_fault_write_atomic(G.count_file, "0\n");

    while (!fr_fault_stop) {
        struct pollfd pfd[3 + FR_FAULT_TCP_MAX];
        int slots[3 + FR_FAULT_TCP_MAX];
        nfds_t n = 0;
        uint64_t now = fr_fault_now_ms(), next = fr_fault_run_timers(now);
        struct timespec ts = {(time_t)((next - now) / 1000), (long)((next - now) % 1000) * 1000000};

        pfd[n].fd = G.udp_fd, pfd[n].events = POLLIN, slots[n++] = -1;
        pfd[n].fd = G.tcp_fd, pfd[n].events = POLLIN, slots[n++] = -2;
        if (G.fwd_fd >= 0)
            pfd[n].fd = G.fwd_fd, pfd[n].events = POLLIN, slots[n++] = -3;
        for (int i = 0; i < FR_FAULT_TCP_MAX; i++)
            if (G.conns[i].fd >= 0)
                pfd[n].fd = G.conns[i].fd, pfd[n].events = POLLIN, slots[n++] = i;
        if (ppoll(pfd, n, &ts, &orig) < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "faultdns: poll: %s\n", strerror(errno));
            goto done;
        }
        for (nfds_t i = 0; i < n; i++) {
            if (!pfd[i].revents)
                continue;
            if (slots[i] == -1)
                fr_fault_on_udp();
            else if (slots[i] == -2)
                fr_fault_on_accept();
            else if (slots[i] == -3)
                fr_fault_on_upstream();
            else if (G.conns[slots[i]].fd == pfd[i].fd)
                fr_fault_on_conn(slots[i]);
        }
    }
    rc = 0;
done:
    for (int i = 0; i < FR_FAULT_TCP_MAX; i++)
        fr_fault_conn_close(i);
    for (unsigned i = 0; i < FR_FAULT_PENDING_MAX; i++)
        free(G.pending[i].buf);
    for (unsigned i = 0; i < FR_FAULT_FORWARD_MAX; i++)
        free(G.fwds[i].query);
    if (G.udp_fd >= 0)
        close(G.udp_fd);
    if (G.tcp_fd >= 0)
        close(G.tcp_fd);
    if (G.fwd_fd >= 0)
        close(G.fwd_fd);
    if (G.alt_fd >= 0)
        close(G.alt_fd);
    free(G.recs);
    return rc;
}
