/* Tests for the lab itself: faultdns does what each mode says, and the
 * lab_lib helpers start, count and stop upstreams. Run inside test/lab.sh
 * (make check-fast does); outside it they skip, or fail when CI=true.
 *
 * Each test is its own process (Criterion), and the .fini fixture stops
 * whatever it started, so a failed assertion frees the address for the
 * next test. Run with -j1: the tests share fixed 127.0.0.x addresses. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <poll.h>
#include <resolv.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lab_lib.h"

/* A reply from a local upstream takes well under a millisecond; this
 * bound only has to survive a loaded 2-core machine. */
#define T_REPLY_MS 3000
/* How long a test waits to be sure no reply is coming (drop). */
#define T_SILENCE_MS 400
/* Queries sent in the drop-pct pattern test. */
#define T_PATTERN_N 40

#define ADDR_FAULT "127.0.0.5"
#define ADDR_FAULT2 "127.0.0.7"
#define ADDR_DNSMASQ "127.0.0.6"

static struct lab_proc procs[3];

static void stop_all(void)
{
    for (size_t i = 0; i < sizeof(procs) / sizeof(*procs); i++)
        lab_proc_stop(&procs[i]);
}

TestSuite(lab, .fini = stop_all, .timeout = 60);

/* The records every answer-mode faultdns below serves. */
#define RECORDS                                                                   \
    "--record", "foo.test=A:10.0.0.1", "--record", "foo.test=AAAA:fd00::1",       \
    "--record", "www.test=CNAME:foo.test", "--record", "mail.test=MX:10 mx1.test", \
    "--record", "txt.test=TXT:hello world", "--record",                           \
    "_sip._tcp.test=SRV:10 5 5060 sip.test", "--ttl", "123", "--neg-ttl", "45"

static void fault(struct lab_proc *p, const char *addr, const char *const *args)
{
    cr_assert_eq(lab_fault_start(p, addr, args), 0, "faultdns did not start on %s", addr);
}

/* Ask and require a well-formed reply. */
static void ask(const char *srv, int tcp, const char *name, int type, uint16_t id,
                struct lab_reply *r)
{
    unsigned char buf[65535];
    int n = lab_dns_query(srv, tcp, name, type, id, T_REPLY_MS, buf, sizeof(buf));
    cr_assert_gt(n, 0, "no %s reply from %s for %s/%d", tcp ? "TCP" : "UDP", srv, name, type);
    cr_assert_eq(lab_dns_parse(buf, (size_t)n, r), 0, "malformed reply for %s", name);
}

/* ---- answer mode ---- */

struct answer_case {
    char name[64];
    int type;
    int rcode;
    unsigned ancount;
    int first_type;     /* type of the first answer record (0: none) */
    char first[64];     /* its data */
    int last_type;      /* type and data of the last answer record */
    char last[64];
    int soa;            /* 1 when the authority section must hold an SOA */
};

ParameterizedTestParameters(lab, answer_mode)
{
    static struct answer_case cases[] = {
        {"foo.test", ns_t_a, ns_r_noerror, 1, ns_t_a, "10.0.0.1", ns_t_a, "10.0.0.1", 0},
        {"FOO.Test", ns_t_a, ns_r_noerror, 1, ns_t_a, "10.0.0.1", ns_t_a, "10.0.0.1", 0},
        {"foo.test", ns_t_aaaa, ns_r_noerror, 1, ns_t_aaaa, "fd00::1", ns_t_aaaa, "fd00::1", 0},
        {"www.test", ns_t_a, ns_r_noerror, 2, ns_t_cname, "foo.test", ns_t_a, "10.0.0.1", 0},
        {"www.test", ns_t_cname, ns_r_noerror, 1, ns_t_cname, "foo.test", ns_t_cname, "foo.test", 0},
        {"mail.test", ns_t_mx, ns_r_noerror, 1, ns_t_mx, "10 mx1.test", ns_t_mx, "10 mx1.test", 0},
        {"txt.test", ns_t_txt, ns_r_noerror, 1, ns_t_txt, "hello world", ns_t_txt, "hello world", 0},
        {"_sip._tcp.test", ns_t_srv, ns_r_noerror, 1, ns_t_srv, "10 5 5060 sip.test", ns_t_srv,
         "10 5 5060 sip.test", 0},
        {"nx.test", ns_t_a, ns_r_nxdomain, 0, 0, "", 0, "", 1},
        {"foo.test", ns_t_mx, ns_r_noerror, 0, 0, "", 0, "", 1},
        {"mail.test", ns_t_a, ns_r_noerror, 0, 0, "", 0, "", 1},
    };
    return cr_make_param_array(struct answer_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct answer_case *c, lab, answer_mode)
{
    LAB_REQUIRE();
    const char *const args[] = {RECORDS, NULL};
    struct lab_reply r;
    fault(&procs[0], ADDR_FAULT, args);
    for (int tcp = 0; tcp <= 1; tcp++) {
        ask(ADDR_FAULT, tcp, c->name, c->type, 0x1234, &r);
        cr_assert_eq(r.id, 0x1234);
        cr_assert(r.qr && r.aa && !r.tc);
        cr_assert_eq(r.rcode, c->rcode, "%s/%d: rcode %d, want %d", c->name, c->type, r.rcode, c->rcode);
        cr_assert_eq(strcasecmp(r.qname, c->name), 0);
        cr_assert_eq(r.qtype, c->type);
        cr_assert_eq(r.ancount, c->ancount, "%s/%d: %u answers", c->name, c->type, r.ancount);
        if (c->ancount) {
            cr_assert_eq(r.rr[0].section, 1);
            cr_assert_eq(r.rr[0].type, c->first_type);
            cr_assert_str_eq(r.rr[0].data, c->first);
            cr_assert_eq(r.rr[0].ttl, 123);
            cr_assert_eq(r.rr[c->ancount - 1].type, c->last_type);
            cr_assert_str_eq(r.rr[c->ancount - 1].data, c->last);
        }
        const struct lab_rr *soa = lab_reply_find(&r, 2, ns_t_soa);
        if (c->soa) {
            cr_assert_not_null(soa, "%s/%d: negative reply without SOA", c->name, c->type);
            cr_assert_str_eq(soa->owner, "test");
            cr_assert_eq(soa->ttl, 45);
            cr_assert(strstr(soa->data, " 45") != NULL, "SOA minimum: %s", soa->data);
        } else {
            cr_assert_null(soa);
        }
    }
    cr_assert_eq(lab_query_count(&procs[0]), 2);
}

/* ---- simple failure modes ---- */

struct rcode_case {
    char mode[16];
    int rcode;
};

ParameterizedTestParameters(lab, rcode_modes)
{
    static struct rcode_case cases[] = {
        {"servfail", ns_r_servfail},
        {"refused", ns_r_refused},
        {"formerr", ns_r_formerr},
    };
    return cr_make_param_array(struct rcode_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct rcode_case *c, lab, rcode_modes)
{
    LAB_REQUIRE();
    const char *const args[] = {"--mode", c->mode, RECORDS, NULL};
    struct lab_reply r;
    fault(&procs[0], ADDR_FAULT, args);
    for (int tcp = 0; tcp <= 1; tcp++) {
        ask(ADDR_FAULT, tcp, "foo.test", ns_t_a, 77, &r);
        cr_assert_eq(r.id, 77);
        cr_assert_eq(r.rcode, c->rcode, "%s: rcode %d", c->mode, r.rcode);
        cr_assert_eq(r.ancount, 0);
        cr_assert_str_eq(r.qname, "foo.test");
    }
}

Test(lab, drop_never_answers)
{
    LAB_REQUIRE();
    const char *const args[] = {"--mode", "drop", RECORDS, NULL};
    unsigned char buf[512];
    fault(&procs[0], ADDR_FAULT, args);
    cr_assert_eq(lab_dns_query(ADDR_FAULT, 0, "foo.test", ns_t_a, 1, T_SILENCE_MS, buf, sizeof(buf)), 0);
    cr_assert_eq(lab_dns_query(ADDR_FAULT, 1, "foo.test", ns_t_a, 2, T_SILENCE_MS, buf, sizeof(buf)), 0);
    cr_assert_eq(lab_query_count(&procs[0]), 2, "both queries must be counted");
}

Test(lab, tc_udp_then_tcp)
{
    LAB_REQUIRE();
    const char *const args[] = {"--mode", "tc", RECORDS, NULL};
    struct lab_reply r;
    fault(&procs[0], ADDR_FAULT, args);
    ask(ADDR_FAULT, 0, "foo.test", ns_t_a, 5, &r);
    cr_assert(r.tc, "UDP reply must be truncated");
    cr_assert_eq(r.ancount, 0);
    cr_assert_eq(r.id, 5);
    ask(ADDR_FAULT, 1, "foo.test", ns_t_a, 6, &r);
    cr_assert(!r.tc, "TCP reply must be whole");
    cr_assert_eq(r.ancount, 1);
    cr_assert_str_eq(r.rr[0].data, "10.0.0.1");
    cr_assert_eq(lab_query_count(&procs[0]), 2);
}

Test(lab, big_answer_truncated_over_udp)
{
    LAB_REQUIRE();
    /* 40 A records do not fit in 512 octets: UDP gets TC, TCP all 40. */
    const char *args[2 * 40 + 1];
    static char recs[40][40];
    struct lab_reply r;
    for (int i = 0; i < 40; i++) {
        snprintf(recs[i], sizeof(recs[i]), "big.test=A:10.1.0.%d", i + 1);
        args[2 * i] = "--record";
        args[2 * i + 1] = recs[i];
    }
    args[80] = NULL;
    fault(&procs[0], ADDR_FAULT, args);
    ask(ADDR_FAULT, 0, "big.test", ns_t_a, 9, &r);
    cr_assert(r.tc);
    cr_assert_eq(r.ancount, 0);
    ask(ADDR_FAULT, 1, "big.test", ns_t_a, 9, &r);
    cr_assert(!r.tc);
    cr_assert_eq(r.ancount, 40);
    cr_assert_eq(r.nrr, 40);
    cr_assert_str_eq(r.rr[39].data, "10.1.0.40");
}

Test(lab, wrongid)
{
    LAB_REQUIRE();
    const char *const args[] = {"--mode", "wrongid", RECORDS, NULL};
    struct lab_reply r;
    fault(&procs[0], ADDR_FAULT, args);
    ask(ADDR_FAULT, 0, "foo.test", ns_t_a, 0xffff, &r);
    cr_assert_eq(r.id, 0x0000, "ID must be the query's + 1 (wrapping)");
    cr_assert_eq(r.ancount, 1);
    ask(ADDR_FAULT, 1, "foo.test", ns_t_a, 100, &r);
    cr_assert_eq(r.id, 101);
}

Test(lab, wrongq)
{
    LAB_REQUIRE();
    const char *const args[] = {"--mode", "wrongq", RECORDS, NULL};
    struct lab_reply r;
    fault(&procs[0], ADDR_FAULT, args);
    ask(ADDR_FAULT, 0, "foo.test", ns_t_a, 3, &r);
    cr_assert_eq(r.id, 3);
    cr_assert_str_eq(r.qname, "wrongq.foo.test");
    cr_assert_eq(r.ancount, 1);
    cr_assert_str_eq(r.rr[0].owner, "wrongq.foo.test");
    /* The trap: a client that ignores the question takes this address. */
    cr_assert_str_eq(r.rr[0].data, "10.0.0.1");
}

/* Garbage replies: random, yet the same for the same seed. */
static int garbage_bytes(const char *seed, unsigned char *out, size_t outsz)
{
    const char *const args[] = {"--mode", "garbage", "--seed", seed, NULL};
    int n;
    fault(&procs[0], ADDR_FAULT, args);
    n = lab_dns_query(ADDR_FAULT, 0, "foo.test", ns_t_a, 42, T_REPLY_MS, out, outsz);
    lab_proc_stop(&procs[0]);
    return n;
}

Test(lab, garbage_is_seeded)
{
    LAB_REQUIRE();
    unsigned char a[600], b[600], c[600];
    int na = garbage_bytes("11", a, sizeof(a));
    int nb = garbage_bytes("11", b, sizeof(b));
    int nc = garbage_bytes("12", c, sizeof(c));
    cr_assert_gt(na, 0, "garbage mode must send something");
    cr_assert_eq(na, nb);
    cr_assert_eq(memcmp(a, b, (size_t)na), 0, "same seed, same garbage");
    cr_assert(nc != na || memcmp(a, c, (size_t)na) != 0, "another seed, other garbage");
    /* Not a reply to our question. */
    struct lab_reply r;
    cr_assert(lab_dns_parse(a, (size_t)na, &r) != 0 || r.id != 42 || strcmp(r.qname, "foo.test"));
}

Test(lab, delay_does_not_block)
{
    LAB_REQUIRE();
    /* Two queries during one delay: replied in parallel, so both arrive
     * after about one delay, not two. */
    const int delay = 1000;
    const char *const args[] = {"--delay-ms", "1000", RECORDS, NULL};
    unsigned char b1[512], b2[512];
    struct lab_reply r;
    fault(&procs[0], ADDR_FAULT, args);
    double t0 = lab_now_ms();
    int n1 = lab_dns_query(ADDR_FAULT, 1, "foo.test", ns_t_a, 1, 3 * delay, b1, sizeof(b1));
    double t1 = lab_now_ms();
    cr_assert_gt(n1, 0);
    cr_assert_geq(t1 - t0, delay - 10, "reply after %.0f ms, before the delay", t1 - t0);

    /* Now two at once, on separate sockets: UDP (sent first) then TCP. */
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(53)};
    inet_pton(AF_INET, ADDR_FAULT, &sin.sin_addr);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    int qlen = res_mkquery(ns_o_query, "www.test", ns_c_in, ns_t_a, NULL, 0, NULL, b2, sizeof(b2));
    cr_assert_gt(qlen, 0);
    t0 = lab_now_ms();
    cr_assert_eq(send(fd, b2, (size_t)qlen, 0), qlen);
    n1 = lab_dns_query(ADDR_FAULT, 1, "foo.test", ns_t_a, 2, 3 * delay, b1, sizeof(b1));
    cr_assert_gt(n1, 0);
    struct pollfd pfd = {fd, POLLIN, 0};
    cr_assert_eq(poll(&pfd, 1, 3 * delay), 1);
    int n2 = (int)recv(fd, b2, sizeof(b2), 0);
    t1 = lab_now_ms();
    close(fd);
    cr_assert_gt(n2, 0);
    cr_assert_eq(lab_dns_parse(b2, (size_t)n2, &r), 0);
    cr_assert_str_eq(r.qname, "www.test");
    cr_assert_lt(t1 - t0, 1.8 * delay, "two delayed replies took %.0f ms: serialised?", t1 - t0);
}

/* One run of T_PATTERN_N queries at --drop-pct 50: bit i set when query i
 * was answered. All are sent first, then replies are collected once
 * faultdns has counted them all. */
static uint64_t drop_pattern(const char *seed)
{
    const char *const args[] = {"--drop-pct", "50", "--seed", seed, RECORDS, NULL};
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(53)};
    unsigned char q[512], rbuf[512];
    uint64_t answered = 0;
    int fd;

    fault(&procs[0], ADDR_FAULT, args);
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    inet_pton(AF_INET, ADDR_FAULT, &sin.sin_addr);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    int qlen = res_mkquery(ns_o_query, "foo.test", ns_c_in, ns_t_a, NULL, 0, NULL, q, sizeof(q));
    cr_assert_gt(qlen, 0);
    for (int i = 0; i < T_PATTERN_N; i++) {
        q[0] = 0;
        q[1] = (unsigned char)i;
        cr_assert_eq(send(fd, q, (size_t)qlen, 0), qlen);
        /* One at a time, so no socket buffer overflows and drops
         * queries the PRNG did not drop. */
        double until = lab_now_ms() + T_REPLY_MS;
        while (lab_query_count(&procs[0]) < i + 1 && lab_now_ms() < until)
            usleep(1000);
    }
    cr_assert_eq(lab_query_count(&procs[0]), T_PATTERN_N);
    for (;;) {
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, T_SILENCE_MS) != 1)
            break;
        ssize_t n = recv(fd, rbuf, sizeof(rbuf), 0);
        if (n >= 2 && rbuf[1] < T_PATTERN_N)
            answered |= 1ULL << rbuf[1];
    }
    close(fd);
    lab_proc_stop(&procs[0]);
    return answered;
}

Test(lab, drop_pct_is_reproducible, .timeout = 120)
{
    LAB_REQUIRE();
    uint64_t a = drop_pattern("7"), b = drop_pattern("7"), c = drop_pattern("8");
    int kept = __builtin_popcountll(a);
    cr_assert_eq(a, b, "same seed, different drops: %#llx vs %#llx", (unsigned long long)a,
                 (unsigned long long)b);
    /* 50% of 40: outside 8..32 has probability below 1e-4. */
    cr_assert(kept >= 8 && kept <= 32, "%d of %d answered at 50%% drop", kept, T_PATTERN_N);
    cr_assert_neq(a, c, "another seed, same drops");
}

Test(lab, counts_udp_tcp_and_hostile_input)
{
    LAB_REQUIRE();
    const char *const args[] = {RECORDS, NULL};
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(53)};
    struct lab_reply r;
    /* Hostile datagrams: too short, a label running past the end, a
     * compression loop, no question, two questions, an over-long name,
     * and a reply (QR set) that must not be answered. */
    static const unsigned char bad[][40] = {
        {0x12},
        {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 63, 'a'},
        {0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1},
        {0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
        {0, 4, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 0, 1, 0, 1, 1, 'b', 0, 0, 1, 0, 1},
        {0, 5, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 0, 1, 0, 1},
    };
    static const size_t badlen[] = {1, 14, 18, 12, 26, 19};
    unsigned char longname[600] = {0, 6, 1, 0, 0, 1};
    size_t ll = 12;
    for (int i = 0; i < 9; i++) {     /* 9 labels of 63: 576 octets > 255 */
        longname[ll++] = 63;
        memset(longname + ll, 'x', 63);
        ll += 63;
    }
    longname[ll++] = 0;
    longname[ll++] = 0, longname[ll++] = 1, longname[ll++] = 0, longname[ll++] = 1;

    fault(&procs[0], ADDR_FAULT, args);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    inet_pton(AF_INET, ADDR_FAULT, &sin.sin_addr);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    for (size_t i = 0; i < sizeof(badlen) / sizeof(*badlen); i++)
        cr_assert_eq(send(fd, bad[i], badlen[i], 0), (ssize_t)badlen[i]);
    cr_assert_eq(send(fd, longname, ll, 0), (ssize_t)ll);
    cr_assert_eq(lab_wait_query_count(&procs[0], 7, T_REPLY_MS), 7);
    /* Malformed questions get FORMERR (those with a header), the QR one
     * and the 1-byte one nothing. */
    int formerr = 0, other = 0;
    for (;;) {
        unsigned char rb[512];
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, T_SILENCE_MS) != 1)
            break;
        ssize_t n = recv(fd, rb, sizeof(rb), 0);
        if (n >= 12 && (rb[3] & 0xf) == ns_r_formerr)
            formerr++;
        else
            other++;
        cr_assert(!(n >= 2 && rb[1] == 5), "a QR=1 message must not be answered");
    }
    close(fd);
    cr_assert_eq(formerr, 5, "%d FORMERR replies", formerr);
    cr_assert_eq(other, 0);

    /* Still alive and counting over both transports. */
    ask(ADDR_FAULT, 0, "foo.test", ns_t_a, 10, &r);
    ask(ADDR_FAULT, 1, "foo.test", ns_t_a, 11, &r);
    ask(ADDR_FAULT, 1, "www.test", ns_t_a, 12, &r);
    cr_assert_eq(r.ancount, 2);
    cr_assert_eq(lab_query_count(&procs[0]), 10);
}

Test(lab, tcp_pipelined_and_split)
{
    LAB_REQUIRE();
    const char *const args[] = {RECORDS, NULL};
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(53)};
    unsigned char q[600], rb[1024];
    fault(&procs[0], ADDR_FAULT, args);
    int qlen = res_mkquery(ns_o_query, "foo.test", ns_c_in, ns_t_a, NULL, 0, NULL, q + 2, 512);
    cr_assert_gt(qlen, 0);
    q[0] = 0;
    q[1] = (unsigned char)qlen;
    /* Two copies back to back, sent in three pieces. */
    memcpy(q + 2 + qlen, q, (size_t)qlen + 2);
    size_t total = 2 * ((size_t)qlen + 2);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    inet_pton(AF_INET, ADDR_FAULT, &sin.sin_addr);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    cr_assert_eq(send(fd, q, 1, 0), 1);
    cr_assert_eq(lab_wait_query_count(&procs[0], 0, 0), 0);
    cr_assert_eq(send(fd, q + 1, 10, 0), 10);
    cr_assert_eq(send(fd, q + 11, total - 11, 0), (ssize_t)(total - 11));
    size_t got = 0;
    double until = lab_now_ms() + T_REPLY_MS;
    while (lab_now_ms() < until) {
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, T_SILENCE_MS) != 1)
            break;
        ssize_t n = recv(fd, rb + got, sizeof(rb) - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    size_t l1 = (size_t)(rb[0] << 8 | rb[1]);
    cr_assert_geq(got, 4 + 2 * l1, "got %zu bytes, want two replies of %zu", got, l1);
    cr_assert_eq(lab_query_count(&procs[0]), 2);
}

Test(lab, ipv6_listen)
{
    LAB_REQUIRE();
    const char *const args[] = {RECORDS, NULL};
    struct lab_reply r;
    fault(&procs[0], "[::1]:5353", args);
    ask("[::1]:5353", 0, "foo.test", ns_t_aaaa, 1, &r);
    cr_assert_str_eq(r.rr[0].data, "fd00::1");
    ask("[::1]:5353", 1, "foo.test", ns_t_aaaa, 1, &r);
    cr_assert_eq(r.ancount, 1);
}

/* ---- forward mode in front of a real dnsmasq ---- */

Test(lab, forward_to_dnsmasq)
{
    LAB_REQUIRE();
    const char *const dm[] = {"--host-record=fwd.test,10.9.9.9", "--local=/test/", NULL};
    const char *const fw[] = {"--mode", "forward", "--forward", ADDR_DNSMASQ, NULL};
    struct lab_reply r;
    cr_assert_eq(lab_dnsmasq_start(&procs[1], ADDR_DNSMASQ, dm), 0);
    cr_assert_eq(lab_query_count(&procs[1]), 0, "readiness probes must not count");
    fault(&procs[0], ADDR_FAULT, fw);
    ask(ADDR_FAULT, 0, "fwd.test", ns_t_a, 0x4242, &r);
    cr_assert_eq(r.id, 0x4242, "the client's ID must be restored");
    cr_assert_eq(r.ancount, 1);
    cr_assert_str_eq(r.rr[0].data, "10.9.9.9");
    ask(ADDR_FAULT, 1, "nope.test", ns_t_a, 7, &r);
    cr_assert_eq(r.rcode, ns_r_nxdomain);
    cr_assert_eq(lab_wait_query_count(&procs[1], 2, T_REPLY_MS), 2);
    cr_assert_eq(lab_query_count(&procs[0]), 2);
}

Test(lab, forward_with_delay_and_drop)
{
    LAB_REQUIRE();
    const char *const dm[] = {"--host-record=fwd.test,10.9.9.9", NULL};
    const char *const slow[] = {"--mode", "forward", "--forward", ADDR_DNSMASQ, "--delay-ms", "300", NULL};
    const char *const lossy[] = {"--mode", "forward", "--forward", ADDR_DNSMASQ, "--drop-pct", "100", NULL};
    unsigned char buf[512];
    struct lab_reply r;
    cr_assert_eq(lab_dnsmasq_start(&procs[1], ADDR_DNSMASQ, dm), 0);
    fault(&procs[0], ADDR_FAULT, slow);
    fault(&procs[2], ADDR_FAULT2, lossy);
    double t0 = lab_now_ms();
    ask(ADDR_FAULT, 0, "fwd.test", ns_t_a, 1, &r);
    cr_assert_geq(lab_now_ms() - t0, 290);
    cr_assert_str_eq(r.rr[0].data, "10.9.9.9");
    cr_assert_eq(lab_dns_query(ADDR_FAULT2, 0, "fwd.test", ns_t_a, 2, T_SILENCE_MS, buf, sizeof(buf)), 0);
    cr_assert_eq(lab_query_count(&procs[2]), 1);
    cr_assert_eq(lab_wait_query_count(&procs[1], 1, T_REPLY_MS), 1, "a dropped query must not reach dnsmasq");
}

/* ---- lab_lib itself ---- */

Test(lab, dnsmasq_counts_queries)
{
    LAB_REQUIRE();
    const char *const dm[] = {"--host-record=foo.test,10.0.0.1", "--mx-host=foo.test,mx.test,5",
                              "--txt-record=foo.test,v=1", NULL};
    struct lab_reply r;
    cr_assert_eq(lab_dnsmasq_start(&procs[1], ADDR_DNSMASQ, dm), 0);
    ask(ADDR_DNSMASQ, 0, "foo.test", ns_t_a, 1, &r);
    cr_assert_str_eq(r.rr[0].data, "10.0.0.1");
    ask(ADDR_DNSMASQ, 0, "foo.test", ns_t_mx, 2, &r);
    cr_assert_str_eq(r.rr[0].data, "5 mx.test");
    ask(ADDR_DNSMASQ, 1, "foo.test", ns_t_txt, 3, &r);
    cr_assert_str_eq(r.rr[0].data, "v=1");
    cr_assert_eq(lab_wait_query_count(&procs[1], 3, T_REPLY_MS), 3);
}

Test(lab, write_file_keeps_bind_mount)
{
    LAB_REQUIRE();
    char path[LAB_PATH_MAX], back[128] = {0};
    snprintf(path, sizeof(path), "%s/resolv.conf", getenv("LAB_DIR"));
    cr_assert_eq(lab_write_file("/etc/resolv.conf", "nameserver 127.0.0.9\n"), 0);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    cr_assert_gt(fread(back, 1, sizeof(back) - 1, f), 0);
    fclose(f);
    cr_assert_str_eq(back, "nameserver 127.0.0.9\n", "the lab's file must be written in place");
    cr_assert_eq(lab_write_file("/etc/resolv.conf", "nameserver 127.0.0.2\n"), 0);
}

Test(lab, stop_accepts_zeroed_and_stopped)
{
    LAB_REQUIRE();
    struct lab_proc z = {0};
    lab_proc_stop(NULL);
    lab_proc_stop(&z);
    cr_assert_eq(z.pid, 0);
    cr_assert_eq(lab_query_count(&z), -1);
    fault(&procs[0], ADDR_FAULT, NULL);
    pid_t pid = procs[0].pid;
    lab_proc_stop(&procs[0]);
    cr_assert_eq(procs[0].pid, 0);
    cr_assert_eq(kill(pid, 0), -1, "process must be gone and reaped");
    lab_proc_stop(&procs[0]);
}

Test(lab, start_fails_cleanly)
{
    LAB_REQUIRE();
    const char *const bad[] = {"--mode", "nonsense", NULL};
    struct lab_proc p = {0};
    cr_assert_eq(lab_fault_start(&p, ADDR_FAULT, bad), -1);
    cr_assert_eq(p.pid, 0, "out-parameter untouched on failure");
    /* Address taken: the second one cannot bind. */
    fault(&procs[0], ADDR_FAULT, NULL);
    cr_assert_eq(lab_fault_start(&p, ADDR_FAULT, NULL), -1);
    cr_assert_eq(p.pid, 0);
}
