/* fastres: tests for the network layer behind preload/net/engine.h (net/exchange*.c: the race and hedging), inside the lab.
 *
 * Each test starts its upstreams (faultdns for misbehaving servers,
 * dnsmasq for a real one) on 127.0.0.x, builds a configuration with
 * fr_config_parse from resolv.conf text and a stub environment (for the
 * FASTRES_* timings), and calls fr_engine_race directly. Time bounds are
 * generous: these tests prove behaviour (who wins, when it gives up),
 * the benchmark proves speed. Run with -j1 (test/run-all.sh does): tests
 * share fixed addresses. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/config.h"
#include "base/config_test.h"
#include "net/engine.h"
#include "lab_lib.h"
#include "dns/msg.h"

#define ADDR1 "127.0.0.3"
#define ADDR2 "127.0.0.4"
#define ADDR_DNSMASQ "127.0.0.5"
/* Nothing ever listens here (ICMP port unreachable). */
#define ADDR_DEAD1 "127.0.0.8"
#define ADDR_DEAD2 "127.0.0.9"
/* The in-test listener recording source ports. */
#define ADDR_SPY "127.0.0.10"

/* Bounds, generous for a loaded 2-core machine. */
#define T_FAST_MS 500      /* "well under a second" */
#define T_QUICK_FAIL_MS 1000

#define RECORDS                                                                          \
    "--record", "foo.test=A:10.0.0.1", "--record", "foo.test=AAAA:fd00::1", "--ttl", "60", \
        "--neg-ttl", "30"

static struct lab_proc procs[3];

static void stop_all(void)
{
    for (size_t i = 0; i < sizeof procs / sizeof procs[0]; i++)
        lab_proc_stop(&procs[i]);
}

TestSuite(engine, .fini = stop_all, .timeout = 60);

/* ---- helpers ---- */

static void env_set(const char *name, const char *value)
{
    cr_assert_eq(lab_env_set(name, value), 0, "stub environment full");
}

static struct fr_config *cfg_make(const char *resolv)
{
    struct fr_config *c = fr_config_parse(resolv, "hosts: files dns\n", lab_env_get);
    cr_assert_not_null(c);
    cr_assert_null(c->punt, "config punts: %s", c->punt);
    return c;
}

static void fault(struct lab_proc *p, const char *addr, const char *const *args)
{
    cr_assert_eq(lab_fault_start(p, addr, args), 0, "faultdns did not start on %s", addr);
}

static void fault_mode(struct lab_proc *p, const char *addr, const char *mode)
{
    const char *const args[] = { "--mode", mode, RECORDS, NULL };
    fault(p, addr, args);
}

static void dnsmasq(struct lab_proc *p, const char *addr)
{
    const char *const args[] = { "--host-record=foo.test,10.0.0.1,fd00::1", "--local=/test/", NULL };
    cr_assert_eq(lab_dnsmasq_start(p, addr, args), 0, "dnsmasq did not start on %s", addr);
}

/* Race one question; returns the elapsed wall time in ms. */
static double race1(const struct fr_config *c, const char *name, uint16_t qtype, struct fr_question *q)
{
    memset(q, 0, sizeof *q);
    q->name = name;
    q->qtype = qtype;
    q->qclass = FR_C_IN;
    double t0 = lab_now_ms();
    enum fr_status st = fr_engine_race(c, q, 1);
    double el = lab_now_ms() - t0;
    cr_assert_eq(st, FR_OK, "engine did not run: %d", st);
    return el;
}

/* The winning reply answers `name` with `addr` (text), NOERROR. */
static void expect_answer(const struct fr_question *q, const char *name, uint16_t qtype,
                          const char *addr)
{
    cr_assert_eq(q->status, FR_OK, "%s: status %d (fail_rcode %d)", name, q->status, q->fail_rcode);
    cr_assert_not_null(q->answer);
    struct fr_msg_hdr h;
    cr_assert_eq(fr_msg_header(q->answer, q->answer_len, &h), FR_OK);
    cr_expect_eq(FR_MSG_RCODE(&h), FR_RCODE_NOERROR, "rcode %d", FR_MSG_RCODE(&h));
    cr_expect_eq(FR_MSG_TC(&h), 0, "truncated reply won");
    cr_assert_eq(fr_msg_validate(q->answer, q->answer_len), FR_OK);
    char qn[FR_MSG_NAME_MAX * 4 + 1];
    cr_assert_eq(fr_msg_name_text(q->answer, q->answer_len, 12, qn, sizeof qn), FR_OK);
    cr_expect_str_eq(qn, name, "reply is for another question");
    struct fr_msg_addrs a;
    cr_assert_eq(fr_msg_addrs(q->answer, q->answer_len, qtype, &a), FR_OK, "no address in reply");
    char t[INET6_ADDRSTRLEN];
    inet_ntop(a.family, a.addr[0], t, sizeof t);
    cr_expect_str_eq(t, addr);
}

static unsigned count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    cr_assert_not_null(d);
    unsigned n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* ---- a silent first server costs nothing ---- */

struct second_case {
    char kind[16];   /* "faultdns" or "dnsmasq" */
};
static struct second_case second_cases[] = { { "faultdns" }, { "dnsmasq" } };

ParameterizedTestParameters(engine, silent_first_second_answers)
{
    return cr_make_param_array(struct second_case, second_cases,
                               sizeof second_cases / sizeof second_cases[0]);
}

ParameterizedTest(struct second_case *sc, engine, silent_first_second_answers)
{
    LAB_REQUIRE();
    fault_mode(&procs[0], ADDR1, "drop");
    const char *second = ADDR2;
    if (!strcmp(sc->kind, "dnsmasq")) {
        dnsmasq(&procs[1], ADDR_DNSMASQ);
        second = ADDR_DNSMASQ;
    } else {
        fault_mode(&procs[1], ADDR2, "answer");
    }
    char resolv[128];
    snprintf(resolv, sizeof resolv, "nameserver %s\nnameserver %s\n", ADDR1, second);
    struct fr_config *c = cfg_make(resolv);
    cr_assert_geq(c->deadline_ms, 10000, "default deadline is glibc's");
    struct fr_question q;
    double el = race1(c, "foo.test", FR_T_A, &q);
    expect_answer(&q, "foo.test", FR_T_A, "10.0.0.1");
    cr_expect_lt(el, T_FAST_MS, "%s behind a silent server took %.0f ms", sc->kind, el);
    /* Both were asked at once. */
    cr_expect_geq(lab_wait_query_count(&procs[0], 1, 2000), 1, "silent server was not asked");
    free(q.answer);
    fr_config_free(c);
}

/* ---- a bad reply never wins ---- */

struct bad_case {
    char mode[16];
    int rcode;         /* fail_rcode seen when the bad server is alone (-1: none) */
};
static struct bad_case bad_cases[] = {
    { "servfail", FR_RCODE_SERVFAIL }, { "refused", FR_RCODE_REFUSED },
    { "formerr", FR_RCODE_FORMERR },   { "garbage", -2 },
    { "wrongid", -1 },                 { "wrongq", -1 },
    { "tc", -3 },
};

ParameterizedTestParameters(engine, bad_first_good_second)
{
    return cr_make_param_array(struct bad_case, bad_cases, sizeof bad_cases / sizeof bad_cases[0]);
}

/* The good server answers 100 ms late, so the bad reply arrives first.
 * Race mode asks every server every time. */
ParameterizedTest(struct bad_case *bc, engine, bad_first_good_second)
{
    LAB_REQUIRE();
    env_set("FASTRES_MODE", "race");
    fault_mode(&procs[0], ADDR1, bc->mode);
    const char *const good[] = { "--delay-ms", "100", RECORDS, NULL };
    fault(&procs[1], ADDR2, good);
    struct fr_config *c = cfg_make("nameserver " ADDR1 "\nnameserver " ADDR2 "\n");
    for (int round = 0; round < 3; round++) {
        struct fr_question q;
        double el = race1(c, "foo.test", FR_T_A, &q);
        expect_answer(&q, "foo.test", FR_T_A, "10.0.0.1");
        cr_expect_lt(el, 2000, "%s: %.0f ms", bc->mode, el);
        free(q.answer);
    }
    cr_expect_geq(lab_wait_query_count(&procs[0], 3, 2000), 3, "%s server was not asked", bc->mode);
    fr_config_free(c);
}

ParameterizedTestParameters(engine, bad_first_learned)
{
    /* Not "tc": that server answers fully over TCP, so it is a good one. */
    return cr_make_param_array(struct bad_case, bad_cases, sizeof bad_cases / sizeof bad_cases[0] - 1);
}

/* Hedge mode: the first (cold) question asks both servers; after that the
 * bad one is not asked first, and with the good one answering within the
 * hedge delay, not at all. */
ParameterizedTest(struct bad_case *bc, engine, bad_first_learned)
{
    LAB_REQUIRE();
    fault_mode(&procs[0], ADDR1, bc->mode);
    const char *const good[] = { "--delay-ms", "20", RECORDS, NULL };
    fault(&procs[1], ADDR2, good);
    struct fr_config *c = cfg_make("nameserver " ADDR1 "\nnameserver " ADDR2 "\n");
    struct fr_question q;
    race1(c, "foo.test", FR_T_A, &q);
    expect_answer(&q, "foo.test", FR_T_A, "10.0.0.1");
    free(q.answer);
    long first = lab_wait_query_count(&procs[0], 1, 2000);
    cr_expect_geq(first, 1, "%s: the cold question did not ask every server", bc->mode);
    for (int round = 0; round < 5; round++) {
        double el = race1(c, "foo.test", FR_T_A, &q);
        expect_answer(&q, "foo.test", FR_T_A, "10.0.0.1");
        cr_expect_lt(el, 2000, "%s: %.0f ms", bc->mode, el);
        free(q.answer);
    }
    long later = lab_wait_query_count(&procs[0], first, 500);
    cr_expect_eq(later, first, "%s: the bad server was asked again (%ld after %ld)", bc->mode, later, first);
    fr_config_free(c);
}

ParameterizedTestParameters(engine, bad_alone)
{
    return cr_make_param_array(struct bad_case, bad_cases, sizeof bad_cases / sizeof bad_cases[0]);
}

/* The same bad servers alone: never an answer (tc: answered over TCP). */
ParameterizedTest(struct bad_case *bc, engine, bad_alone)
{
    LAB_REQUIRE();
    fault_mode(&procs[0], ADDR1, bc->mode);
    env_set("FASTRES_TIMEOUT_MS", "600");
    struct fr_config *c = cfg_make("nameserver " ADDR1 "\n");
    struct fr_question q;
    double el = race1(c, "foo.test", FR_T_A, &q);
    if (bc->rcode == -3) {
        expect_answer(&q, "foo.test", FR_T_A, "10.0.0.1");
    } else {
        cr_expect_eq(q.status, FR_AGAIN, "%s: status %d", bc->mode, q.status);
        cr_expect_null(q.answer);
        if (bc->rcode >= 0)
            cr_expect_eq(q.fail_rcode, bc->rcode, "%s: fail_rcode %d", bc->mode, q.fail_rcode);
        else if (bc->rcode == -1)
            cr_expect_eq(q.fail_rcode, -1, "%s: a dropped reply counted: %d", bc->mode, q.fail_rcode);
        cr_expect_eq(q.conn_refused, 0);
        cr_expect_lt(el, 2500, "%s: %.0f ms", bc->mode, el);
    }
    free(q.answer);
    fr_config_free(c);
}


/* ---- failing fast ---- */

/* Every server says SERVFAIL: no reason to wait for the (20 s) deadline. */
Test(engine, all_servfail_fails_fast)
{
    LAB_REQUIRE();
    fault_mode(&procs[0], ADDR1, "servfail");
    fault_mode(&procs[1], ADDR2, "servfail");
    struct fr_config *c = cfg_make("nameserver " ADDR1 "\nnameserver " ADDR2 "\n");
    cr_assert_geq(c->deadline_ms, 20000);
    struct fr_question q;
    double el = race1(c, "foo.test", FR_T_A, &q);
    cr_expect_eq(q.status, FR_AGAIN);
    cr_expect_eq(q.fail_rcode, FR_RCODE_SERVFAIL);
    cr_expect_eq(q.conn_refused, 0);
    cr_expect_null(q.answer);
    cr_expect_lt(el, T_QUICK_FAIL_MS, "all SERVFAIL took %.0f ms", el);
    /* glibc asks each server `attempts` (2) times. */
    cr_expect_eq(lab_wait_query_count(&procs[0], 2, 2000), 2);
    cr_expect_eq(lab_wait_query_count(&procs[1], 2, 2000), 2);
    fr_config_free(c);
}

/* Nothing listens anywhere: ICMP port unreachable, conn_refused set. */
Test(engine, nothing_listening_fails_fast)
{
    LAB_REQUIRE();
    struct fr_config *c = cfg_make("nameserver " ADDR_DEAD1 "\nnameserver " ADDR_DEAD2 "\n");
    struct fr_question q;
    double el = race1(c, "foo.test", FR_T_A, &q);
    cr_expect_eq(q.status, FR_AGAIN);
    cr_expect_eq(q.conn_refused, 1, "conn_refused not set");
    cr_expect_eq(q.fail_rcode, -1);
    cr_expect_lt(el, T_QUICK_FAIL_MS, "refused connections took %.0f ms", el);
    fr_config_free(c);
}

/* One refusing and one answering: the answer, not the refusal. */
Test(engine, one_dead_one_good)
{
    LAB_REQUIRE();
    fault_mode(&procs[0], ADDR2, "answer");
    struct fr_config *c = cfg_make("nameserver " ADDR_DEAD1 "\nnameserver " ADDR2 "\n");
    struct fr_question q;
    double el = race1(c, "foo.test", FR_T_A, &q);
    expect_answer(&q, "foo.test", FR_T_A, "10.0.0.1");
    cr_expect_lt(el, T_FAST_MS);
    free(q.answer);
    fr_config_free(c);
}

/* ---- transport ---- */

Test(engine, truncated_goes_tcp)
{
    LAB_REQUIRE();
    fault_mode(&procs[0], ADDR1, "tc");
    struct fr_config *c = cfg_make("nameserver " ADDR1 "\n");
    struct fr_question q;
    double el = race1(c, "foo.test", FR_T_AAAA, &q);
    expect_answer(&q, "foo.test", FR_T_AAAA, "fd00::1");
    cr_expect_lt(el, 2000);
    /* one UDP question, one TCP question */
    cr_expect_geq(lab_wait_query_count(&procs[0], 2, 2000), 2);
    free(q.answer);
    fr_config_free(c);
}

/* NXDOMAIN is an answer (it wins and is returned as is). */
Test(engine, nxdomain_is_an_answer)
{
    LAB_REQUIRE();
    fault_mode(&procs[0], ADDR1, "answer");
    struct fr_config *c = cfg_make("nameserver " ADDR1 "\n");
    struct fr_question q;
    race1(c, "nx.test", FR_T_A, &q);
    cr_assert_eq(q.status, FR_OK);
    struct fr_msg_hdr h;
    cr_assert_eq(fr_msg_header(q.answer, q.answer_len, &h), FR_OK);
    cr_expect_eq(FR_MSG_RCODE(&h), FR_RCODE_NXDOMAIN);
    free(q.answer);
    fr_config_free(c);
}

/* ---- deadline and re-sends ---- */

Test(engine, all_silent_gives_up_at_deadline)
{
    LAB_REQUIRE();
    fault_mode(&procs[0], ADDR1, "drop");
    fault_mode(&procs[1], ADDR2, "drop");
    env_set("FASTRES_TIMEOUT_MS", "300");
    struct fr_config *c = cfg_make("nameserver " ADDR1 "\nnameserver " ADDR2 "\n");
    cr_assert_eq(c->deadline_ms, 300);
    struct fr_question q;
    double el = race1(c, "foo.test", FR_T_A, &q);
    cr_expect_eq(q.status, FR_AGAIN);
    cr_expect_eq(q.fail_rcode, -1);
    cr_expect_eq(q.conn_refused, 0);
    cr_expect_geq(el, 250, "gave up early: %.0f ms", el);
    cr_expect_lt(el, 2000, "gave up late: %.0f ms", el);
    fr_config_free(c);
}

Test(engine, resend_schedule)
{
    LAB_REQUIRE();
    fault_mode(&procs[0], ADDR1, "drop");
    env_set("FASTRES_TIMEOUT_MS", "400");
    env_set("FASTRES_RESEND_MS", "50");
    struct fr_config *c = cfg_make("nameserver " ADDR1 "\n");
    struct fr_question q;
    race1(c, "foo.test", FR_T_A, &q);
    cr_expect_eq(q.status, FR_AGAIN);
    /* sends at 0, 50, 150, 350 ms */
    cr_expect_geq(q.sent, 3, "only %u sends in 400 ms with 50 ms re-sends", q.sent);
    cr_expect_leq(q.sent, 6, "%u sends: the interval does not double", q.sent);
    long n = lab_wait_query_count(&procs[0], 3, 2000);
    cr_expect_geq(n, 3, "faultdns saw %ld queries", n);
    cr_expect_eq((unsigned long)n, q.sent, "faultdns saw %ld, engine sent %u", n, q.sent);
    fr_config_free(c);
}

/* Without re-sends (resend longer than the deadline) one datagram only. */
Test(engine, no_resend_before_interval)
{
    LAB_REQUIRE();
    fault_mode(&procs[0], ADDR1, "drop");
    env_set("FASTRES_TIMEOUT_MS", "300");
    env_set("FASTRES_RESEND_MS", "5000");
    struct fr_config *c = cfg_make("nameserver " ADDR1 "\n");
    struct fr_question q;
    race1(c, "foo.test", FR_T_A, &q);
    cr_expect_eq(q.sent, 1);
    cr_expect_eq(lab_wait_query_count(&procs[0], 1, 2000), 1);
    fr_config_free(c);
}

/* A lossy server: re-sends get the answer through. Seeded drops. */
Test(engine, lossy_server_answers)
{
    LAB_REQUIRE();
    const char *const args[] = { "--drop-pct", "60", "--seed", "7", RECORDS, NULL };
    fault(&procs[0], ADDR1, args);
    env_set("FASTRES_TIMEOUT_MS", "5000");
    env_set("FASTRES_RESEND_MS", "50");
    env_set("FASTRES_RESEND_MAX_MS", "100");
    struct fr_config *c = cfg_make("nameserver " ADDR1 "\n");
    unsigned total_sent = 0;
    for (int i = 0; i < 10; i++) {
        struct fr_question q;
        race1(c, "foo.test", FR_T_A, &q);
        expect_answer(&q, "foo.test", FR_T_A, "10.0.0.1");
        total_sent += q.sent;
        free(q.answer);
    }
    /* With 60 % loss some questions needed more than one datagram. */
    cr_expect_gt(total_sent, 10, "no re-send was ever needed (%u sent)", total_sent);
    fr_config_free(c);
}

/* One silent and one refusing server: once the refusing one is out of
 * attempts, only the silent one's share of the deadline is left. */
Test(engine, deadline_shrinks_when_a_server_fails)
{
    LAB_REQUIRE();
    fault_mode(&procs[0], ADDR1, "drop");
    fault_mode(&procs[1], ADDR2, "refused");
    env_set("FASTRES_TIMEOUT_MS", "4000");
    struct fr_config *c = cfg_make("nameserver " ADDR1 "\nnameserver " ADDR2 "\n");
    cr_assert_eq(c->server_budget_ms[0], 2000);
    cr_assert_eq(c->server_budget_ms[1], 2000);
    struct fr_question q;
    double el = race1(c, "foo.test", FR_T_A, &q);
    cr_expect_eq(q.status, FR_AGAIN);
    cr_expect_eq(q.fail_rcode, FR_RCODE_REFUSED);
    cr_expect_geq(el, 1900, "gave up before the silent server's share: %.0f ms", el);
    cr_expect_lt(el, 3500, "waited the full deadline: %.0f ms", el);
    fr_config_free(c);
}

/* ---- two questions ---- */

Test(engine, a_and_aaaa_together)
{
    LAB_REQUIRE();
    fault_mode(&procs[0], ADDR1, "drop");
    dnsmasq(&procs[1], ADDR_DNSMASQ);
    struct fr_config *c = cfg_make("nameserver " ADDR1 "\nnameserver " ADDR_DNSMASQ "\n");
    struct fr_question q[2];
    memset(q, 0, sizeof q);
    q[0] = (struct fr_question){ .name = "foo.test", .qtype = FR_T_A, .qclass = FR_C_IN };
    q[1] = (struct fr_question){ .name = "foo.test", .qtype = FR_T_AAAA, .qclass = FR_C_IN };
    double t0 = lab_now_ms();
    cr_assert_eq(fr_engine_race(c, q, 2), FR_OK);
    double el = lab_now_ms() - t0;
    expect_answer(&q[0], "foo.test", FR_T_A, "10.0.0.1");
    expect_answer(&q[1], "foo.test", FR_T_AAAA, "fd00::1");
    cr_expect_lt(el, T_FAST_MS);
    free(q[0].answer);
    free(q[1].answer);
    fr_config_free(c);
}

/* A spy server records the source port of each question (and never
 * answers): A and AAAA must come from different sockets. */
struct spy {
    int fd;
    unsigned n;
    uint16_t qtype[16], port[16];
};

static void *spy_run(void *arg)
{
    struct spy *s = arg;
    double end = lab_now_ms() + 3000;
    while (s->n < 16 && lab_now_ms() < end) {
        struct pollfd p = { .fd = s->fd, .events = POLLIN };
        if (poll(&p, 1, 100) <= 0)
            continue;
        uint8_t buf[512];
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t r = recvfrom(s->fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
        if (r < 17)
            continue;
        size_t off;
        if (fr_msg_name_skip(buf, (size_t)r, 12, &off) != FR_OK || off + 2 > (size_t)r)
            continue;
        s->qtype[s->n] = (uint16_t)(buf[off] << 8 | buf[off + 1]);
        s->port[s->n] = ntohs(from.sin_port);
        s->n++;
    }
    return NULL;
}

Test(engine, a_and_aaaa_use_different_sockets)
{
    LAB_REQUIRE();
    struct spy s = { 0 };
    s.fd = socket(AF_INET, SOCK_DGRAM, 0);
    cr_assert_geq(s.fd, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(53) };
    inet_pton(AF_INET, ADDR_SPY, &sin.sin_addr);
    cr_assert_eq(bind(s.fd, (struct sockaddr *)&sin, sizeof sin), 0, "bind " ADDR_SPY ":53");
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, spy_run, &s), 0);
    env_set("FASTRES_TIMEOUT_MS", "300");
    env_set("FASTRES_RESEND_MS", "5000");
    struct fr_config *c = cfg_make("nameserver " ADDR_SPY "\n");
    struct fr_question q[2];
    memset(q, 0, sizeof q);
    q[0] = (struct fr_question){ .name = "foo.test", .qtype = FR_T_A, .qclass = FR_C_IN };
    q[1] = (struct fr_question){ .name = "foo.test", .qtype = FR_T_AAAA, .qclass = FR_C_IN };
    cr_assert_eq(fr_engine_race(c, q, 2), FR_OK);
    pthread_join(t, NULL);
    close(s.fd);
    cr_assert_eq(s.n, 2, "spy saw %u questions, expected one A and one AAAA", s.n);
    int a = s.qtype[0] == FR_T_A ? 0 : 1;
    cr_assert_eq(s.qtype[a], FR_T_A);
    cr_assert_eq(s.qtype[1 - a], FR_T_AAAA);
    cr_expect_neq(s.port[0], s.port[1], "A and AAAA both from port %u", s.port[0]);
    fr_config_free(c);
}

/* ---- hygiene ---- */

Test(engine, no_descriptor_outlives_a_race)
{
    LAB_REQUIRE();
    fault_mode(&procs[0], ADDR1, "tc");   /* UDP and TCP sockets */
    fault_mode(&procs[1], ADDR2, "drop");
    struct fr_config *c = cfg_make("nameserver " ADDR1 "\nnameserver " ADDR2 "\n");
    /* First race initialises c-ares and anything else lazily opened. */
    struct fr_question q;
    race1(c, "foo.test", FR_T_A, &q);
    free(q.answer);
    unsigned before = count_fds();
    for (int i = 0; i < 5; i++) {
        race1(c, "foo.test", i % 2 ? FR_T_A : FR_T_AAAA, &q);
        cr_expect_eq(q.status, FR_OK);
        free(q.answer);
    }
    cr_expect_eq(count_fds(), before, "descriptors before %u, after %u", before, count_fds());
    struct fr_engine_stats es;
    fr_engine_stats(&es);
    cr_expect_eq(es.sockets_open, 0, "%llu sockets still open", (unsigned long long)es.sockets_open);
    cr_expect_geq(es.questions, 6);
    cr_expect_geq(es.won, 6);
    fr_config_free(c);
}

struct badname_case {
    char name[300];
};
/* "" and "." are not here: they name the root, which res_query asks as
 * glibc does (test_diff compares it). */
static struct badname_case badname_cases[] = {
    { "a..b" },
    { ".a" },
    { "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.test" },   /* 64 */
    { "a\\.b.test" },
};
ParameterizedTestParameters(engine, bad_names)
{
    return cr_make_param_array(struct badname_case, badname_cases,
                               sizeof badname_cases / sizeof badname_cases[0]);
}
ParameterizedTest(struct badname_case *bn, engine, bad_names)
{
    LAB_REQUIRE();
    fault_mode(&procs[0], ADDR1, "answer");
    struct fr_config *c = cfg_make("nameserver " ADDR1 "\n");
    struct fr_question q;
    race1(c, bn->name, FR_T_A, &q);
    cr_expect_eq(q.status, FR_BADNAME, "\"%s\": status %d", bn->name, q.status);
    cr_expect_eq(q.sent, 0);
    cr_expect_eq(lab_wait_query_count(&procs[0], 0, 300), 0, "\"%s\" was sent", bn->name);
    fr_config_free(c);
}

/* The root ("" or "."): a query glibc's res_mkquery makes too. */
Test(engine, root_name_is_asked)
{
    LAB_REQUIRE();
    fault_mode(&procs[0], ADDR1, "answer");
    struct fr_config *c = cfg_make("nameserver " ADDR1 "\n");
    const char *names[] = { "", "." };
    for (int i = 0; i < 2; i++) {
        struct fr_question q;
        race1(c, names[i], FR_T_A, &q);
        cr_expect_eq(q.status, FR_OK, "\"%s\": status %d", names[i], q.status);
        cr_expect_geq(q.sent, 1);
        if (q.status == FR_OK) {
            char qn[8];
            cr_assert_eq(fr_msg_name_text(q.answer, q.answer_len, 12, qn, sizeof qn), FR_OK);
            cr_expect_str_eq(qn, "", "the question is the root");
        }
        free(q.answer);
    }
    cr_expect_eq(lab_wait_query_count(&procs[0], 2, 2000), 2);
    fr_config_free(c);
}

/* A name of 253 characters goes out; 254 does not. */
Test(engine, longest_name)
{
    LAB_REQUIRE();
    fault_mode(&procs[0], ADDR1, "answer");
    struct fr_config *c = cfg_make("nameserver " ADDR1 "\n");
    char name[260];
    /* 3 labels of 63 + 1 of 61 = 250 + 3 dots = 253 */
    snprintf(name, sizeof name, "%.63s.%.63s.%.63s.%.61s", "", "", "", "");
    memset(name, 'a', 253);
    name[63] = name[127] = name[191] = '.';
    name[253] = '\0';
    struct fr_question q;
    race1(c, name, FR_T_A, &q);
    cr_expect_eq(q.status, FR_OK, "253 characters: %d", q.status);   /* NXDOMAIN from faultdns */
    free(q.answer);
    name[253] = 'a';
    name[254] = '\0';
    race1(c, name, FR_T_A, &q);
    cr_expect_eq(q.status, FR_BADNAME, "254 characters: %d", q.status);
    fr_config_free(c);
}

Test(engine, refuses_bad_calls)
{
    struct fr_config *c = cfg_make("nameserver 127.0.0.1\n");
    struct fr_question q[3];
    memset(q, 0, sizeof q);
    cr_expect_eq(fr_engine_race(c, q, 0), FR_PUNT);
    cr_expect_eq(fr_engine_race(c, q, FR_ENGINE_MAX_QUESTIONS + 1), FR_PUNT);
    fr_config_free(c);
}

/* ---- hedge mode: what the process has learned (net/table.h) ---- */

/* Race n single questions for foo.test A; each must be answered within
 * bound_ms. */
static void answered_n(const struct fr_config *c, int n, double bound_ms, const char *what)
{
    for (int i = 0; i < n; i++) {
        struct fr_question q;
        double el = race1(c, "foo.test", FR_T_A, &q);
        expect_answer(&q, "foo.test", FR_T_A, "10.0.0.1");
        cr_expect_lt(el, bound_ms, "%s, question %d: %.1f ms", what, i, el);
        free(q.answer);
    }
}

/* A warm process behind a silent first server asks only the second: the
 * silent one hears the first (cold) question only. */
Test(engine, warm_process_skips_silent_server)
{
    LAB_REQUIRE();
    fault_mode(&procs[0], ADDR1, "drop");
    fault_mode(&procs[1], ADDR2, "answer");
    struct fr_config *c = cfg_make("nameserver " ADDR1 "\nnameserver " ADDR2 "\n");
    answered_n(c, 20, T_FAST_MS, "silent first server");
    long silent = lab_wait_query_count(&procs[0], 1, 2000);
    long good = lab_wait_query_count(&procs[1], 20, 2000);
    cr_expect_eq(silent, 1, "the silent server was asked %ld times in 20 questions", silent);
    cr_expect_eq(good, 20, "the good server was asked %ld times for 20 questions", good);
    fr_config_free(c);
}

/* Race mode keeps asking everybody, as fastres did before the table. */
Test(engine, race_mode_asks_every_server)
{
    LAB_REQUIRE();
    env_set("FASTRES_MODE", "race");
    fault_mode(&procs[0], ADDR1, "drop");
    fault_mode(&procs[1], ADDR2, "answer");
    struct fr_config *c = cfg_make("nameserver " ADDR1 "\nnameserver " ADDR2 "\n");
    answered_n(c, 10, T_FAST_MS, "race mode");
    cr_expect_eq(lab_wait_query_count(&procs[0], 10, 2000), 10);
    fr_config_free(c);
}

/* The server that was silent comes back while the one in use goes
 * silent: the next question is answered by the hedge at once, and the
 * returned server is asked first from then on. */
Test(engine, server_comes_back)
{
    LAB_REQUIRE();
    fault_mode(&procs[0], ADDR1, "drop");
    fault_mode(&procs[1], ADDR2, "answer");
    struct fr_config *c = cfg_make("nameserver " ADDR1 "\nnameserver " ADDR2 "\n");
    answered_n(c, 5, T_FAST_MS, "before");
    lab_proc_stop(&procs[0]);
    lab_proc_stop(&procs[1]);
    fault_mode(&procs[0], ADDR1, "answer");
    fault_mode(&procs[1], ADDR2, "drop");
    answered_n(c, 10, T_FAST_MS, "after the swap");
    long first = lab_wait_query_count(&procs[0], 10, 2000);
    long second = lab_wait_query_count(&procs[1], 1, 2000);
    cr_expect_eq(first, 10, "the returned server answered %ld of 10", first);
    cr_expect_leq(second, 3, "the now silent server was asked %ld times", second);
    fr_config_free(c);
}

/* The server in use slows from ~0.1 ms to 300 ms: the hedge to the other
 * answers long before, and the slow one stops being asked first. */
Test(engine, rtt_jump)
{
    LAB_REQUIRE();
    const char *addr[2] = { ADDR1, ADDR2 };
    fault_mode(&procs[0], ADDR1, "answer");
    fault_mode(&procs[1], ADDR2, "answer");
    struct fr_config *c = cfg_make("nameserver " ADDR1 "\nnameserver " ADDR2 "\n");
    answered_n(c, 5, T_FAST_MS, "both fast");
    /* The server in use is whichever won the first (cold) question. */
    long n0 = lab_wait_query_count(&procs[0], 1, 2000), n1 = lab_wait_query_count(&procs[1], 1, 2000);
    int used = n0 > n1 ? 0 : 1;
    /* On a loaded machine (the sanitizer build) a reply can be later than
     * the 5 ms hedge floor now and then: a stray hedge is allowed. */
    cr_expect_geq(used ? n1 : n0, 4, "no server was kept (%ld, %ld)", n0, n1);
    cr_expect_leq(used ? n0 : n1, 3, "the other server was asked again and again (%ld, %ld)", n0, n1);
    lab_proc_stop(&procs[used]);
    const char *const slow[] = { "--delay-ms", "300", RECORDS, NULL };
    fault(&procs[used], addr[used], slow);
    answered_n(c, 10, 200, "the server in use now slow");
    long after = lab_wait_query_count(&procs[used], 1, 2000);
    cr_expect_leq(after, 2, "the slowed server was asked %ld times in 10 questions", after);
    fr_config_free(c);
}

struct share_arg {
    const struct fr_config *c;
    int ok;
};

static void *share_thread(void *p)
{
    struct share_arg *a = p;
    for (int i = 0; i < 20; i++) {
        struct fr_question q;
        memset(&q, 0, sizeof q);
        q.name = "foo.test";
        q.qtype = FR_T_A;
        q.qclass = FR_C_IN;
        if (fr_engine_race(a->c, &q, 1) == FR_OK && q.status == FR_OK)
            a->ok++;
        free(q.answer);
    }
    return NULL;
}

/* Eight threads share one table: after the first questions, none asks the
 * silent server. */
Test(engine, threads_share_the_table)
{
    LAB_REQUIRE();
    fault_mode(&procs[0], ADDR1, "drop");
    fault_mode(&procs[1], ADDR2, "answer");
    struct fr_config *c = cfg_make("nameserver " ADDR1 "\nnameserver " ADDR2 "\n");
    pthread_t th[8];
    struct share_arg args[8];
    for (int i = 0; i < 8; i++) {
        args[i] = (struct share_arg){ c, 0 };
        cr_assert_eq(pthread_create(&th[i], NULL, share_thread, &args[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        cr_expect_eq(args[i].ok, 20, "thread %d: %d of 20 answered", i, args[i].ok);
    }
    long silent = lab_wait_query_count(&procs[0], 1, 2000);
    /* At most each thread's first question finds the table cold. */
    cr_expect_leq(silent, 8, "the silent server was asked %ld times in 160 questions", silent);
    fr_config_free(c);
}

/* A forked child inherits what the parent learned, and its lock. */
Test(engine, forked_child_keeps_the_table)
{
    LAB_REQUIRE();
    fault_mode(&procs[0], ADDR1, "drop");
    fault_mode(&procs[1], ADDR2, "answer");
    struct fr_config *c = cfg_make("nameserver " ADDR1 "\nnameserver " ADDR2 "\n");
    answered_n(c, 3, T_FAST_MS, "parent");
    long silent = lab_wait_query_count(&procs[0], 1, 2000);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int ok = 0;
        for (int i = 0; i < 5; i++) {
            struct fr_question q;
            memset(&q, 0, sizeof q);
            q.name = "foo.test";
            q.qtype = FR_T_A;
            q.qclass = FR_C_IN;
            ok += fr_engine_race(c, &q, 1) == FR_OK && q.status == FR_OK;
            free(q.answer);
        }
        _exit(ok == 5 ? 0 : 1);
    }
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child: status %d", status);
    cr_expect_eq(lab_wait_query_count(&procs[0], silent, 1000), silent,
                 "the child asked the silent server");
    fr_config_free(c);
}

/* A lossy best server: each lost datagram costs about one hedge delay
 * (5 ms by default), not the 200 ms of a fixed re-send. */
Test(engine, loss_costs_a_hedge_delay)
{
    LAB_REQUIRE();
    const char *const lossy1[] = { "--drop-pct", "30", "--seed", "11", RECORDS, NULL };
    const char *const lossy2[] = { "--drop-pct", "30", "--seed", "12", RECORDS, NULL };
    fault(&procs[0], ADDR1, lossy1);
    fault(&procs[1], ADDR2, lossy2);
    struct fr_config *c = cfg_make("nameserver " ADDR1 "\nnameserver " ADDR2 "\n");
    /* The first question finds the table cold: both servers at once, and
     * a re-send only after FASTRES_RESEND_MS. Not measured. */
    struct fr_question q0;
    race1(c, "foo.test", FR_T_A, &q0);
    free(q0.answer);
    double worst = 0;
    unsigned sent = 0;
    for (int i = 0; i < 40; i++) {
        struct fr_question q;
        double el = race1(c, "foo.test", FR_T_A, &q);
        expect_answer(&q, "foo.test", FR_T_A, "10.0.0.1");
        if (el > worst)
            worst = el;
        sent += q.sent;
        free(q.answer);
    }
    cr_expect_gt(sent, 40, "no datagram was ever lost (%u sent)", sent);
    cr_expect_lt(worst, 150, "a loss cost %.1f ms", worst);
    fr_config_free(c);
}
