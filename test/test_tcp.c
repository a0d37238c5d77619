/* fastres: tests for preload/net/tcp*.c (FASTRES_TRANSPORT=tcp), inside the
 * lab: one persistent, pipelined connection per server, replies in any
 * order, reconnects, a program closing its descriptors, fork, threads.
 * faultdns counts the TCP connections it accepts and the UDP queries it
 * receives; the engine is called directly (fr_engine_race). */
#include <criterion/criterion.h>

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/config.h"
#include "base/config_test.h"
#include "net/engine.h"
#include "lab_lib.h"
#include "dns/msg.h"
#include "net/tcp.h"

#define ADDR1 "127.0.0.3"
#define ADDR2 "127.0.0.4"
#define ADDR_DEAD "127.0.0.8"   /* nothing listens there */

static struct lab_proc procs[2];
static char tcp_count[2][LAB_PATH_MAX], udp_count[2][LAB_PATH_MAX];

static void stop_all(void)
{
    for (int i = 0; i < 2; i++)
        lab_proc_stop(&procs[i]);
}

TestSuite(tcp, .fini = stop_all, .timeout = 60);

static long read_count(const char *path)
{
    FILE *f = fopen(path, "r");
    long n = -1;
    if (f) {
        if (fscanf(f, "%ld", &n) != 1)
            n = -1;
        fclose(f);
    }
    return n;
}

/* faultdns answering foo.test and bar.test, counting connections and UDP
 * queries; extra: more arguments (NULL-terminated, may be NULL). */
static void server(int i, const char *addr, const char *const *extra)
{
    const char *dir = getenv("LAB_DIR");
    cr_assert_not_null(dir);
    snprintf(tcp_count[i], sizeof tcp_count[i], "%s/tcp-%d.count", dir, i);
    snprintf(udp_count[i], sizeof udp_count[i], "%s/udp-%d.count", dir, i);
    const char *args[24] = { "--record", "foo.test=A:10.0.0.1", "--record", "foo.test=AAAA:fd00::1",
                             "--record", "bar.test=A:10.0.0.2", "--tcp-count-file", tcp_count[i],
                             "--udp-count-file", udp_count[i] };
    int n = 10;
    for (int k = 0; extra && extra[k] && n < 23; k++)
        args[n++] = extra[k];
    args[n] = NULL;
    cr_assert_eq(lab_fault_start(&procs[i], addr, args), 0, "faultdns did not start on %s", addr);
}

static struct fr_config *cfg_tcp(const char *resolv)
{
    struct fr_config *c = fr_config_parse(resolv, "hosts: files dns\n", NULL);
    cr_assert_not_null(c);
    c->tcp = 1;
    return c;
}

/* Ask name's A (and AAAA when both) once; 1 when every question was
 * answered with an address. */
static int ask(const struct fr_config *c, const char *name, int both)
{
    struct fr_question q[2];
    memset(q, 0, sizeof q);
    q[0].name = q[1].name = name;
    q[0].qtype = FR_T_A;
    q[1].qtype = FR_T_AAAA;
    q[0].qclass = q[1].qclass = FR_C_IN;
    unsigned n = both ? 2 : 1;
    int ok = fr_engine_race(c, q, n) == FR_OK;
    for (unsigned i = 0; i < n; i++) {
        struct fr_msg_addrs a;
        ok = ok && q[i].status == FR_OK &&
             fr_msg_addrs(q[i].answer, q[i].answer_len, q[i].qtype, &a) == FR_OK;
        free(q[i].answer);
    }
    return ok;
}

/* A and AAAA pipelined on one connection; the A reply comes 150 ms after
 * the AAAA reply, and each is matched to its question. No UDP at all. */
Test(tcp, pipelined_replies_out_of_order)
{
    LAB_REQUIRE();
    const char *const slow_a[] = { "--delay-a-ms", "150", NULL };
    server(0, ADDR1, slow_a);
    struct fr_config *c = cfg_tcp("nameserver " ADDR1 "\n");
    double t0 = lab_now_ms();
    cr_expect(ask(c, "foo.test", 1), "A and AAAA over one connection");
    double el = lab_now_ms() - t0;
    cr_expect_geq(el, 140, "the A reply was not held back (%.0f ms)", el);
    cr_expect_lt(el, 1000, "%.0f ms", el);
    cr_expect_eq(read_count(tcp_count[0]), 1, "connections");
    cr_expect_eq(read_count(udp_count[0]), 0, "UDP queries");
    fr_config_free(c);
}

/* Twenty lookups, one connection. */
Test(tcp, connection_is_kept)
{
    LAB_REQUIRE();
    server(0, ADDR1, NULL);
    struct fr_config *c = cfg_tcp("nameserver " ADDR1 "\n");
    for (int i = 0; i < 20; i++)
        cr_expect(ask(c, "foo.test", 1), "lookup %d", i);
    cr_expect_eq(read_count(tcp_count[0]), 1, "connections for 20 lookups");
    cr_expect_eq(read_count(udp_count[0]), 0, "UDP queries");
    struct fr_tcp_stats ts;
    fr_tcp_stats(&ts);
    cr_expect_eq(ts.connects, 1);
    cr_expect_eq(ts.open, 1, "the connection stays open between lookups");
    fr_config_free(c);
}

/* Break the connection under fastres's feet, as a reset would: shut down
 * (not close) every TCP socket of this process connected to port 53. */
static void *break_later(void *p)
{
    (void)p;
    usleep(100 * 1000);
    for (int fd = 3; fd < 1024; fd++) {
        struct sockaddr_in peer;
        socklen_t pl = sizeof peer;
        int type = 0;
        socklen_t tl = sizeof type;
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_STREAM &&
            getpeername(fd, (struct sockaddr *)&peer, &pl) == 0 && peer.sin_family == AF_INET &&
            ntohs(peer.sin_port) == 53)
            shutdown(fd, SHUT_RDWR);
    }
    return NULL;
}

/* The connection breaks with a question in flight: the question is asked
 * again on a new connection and answered. */
Test(tcp, reset_mid_flight)
{
    LAB_REQUIRE();
    const char *const slow[] = { "--delay-ms", "400", NULL };
    server(0, ADDR1, slow);
    struct fr_config *c = cfg_tcp("nameserver " ADDR1 "\n");
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, break_later, NULL), 0);
    double t0 = lab_now_ms();
    cr_expect(ask(c, "foo.test", 0), "answered after the reconnect");
    double el = lab_now_ms() - t0;
    pthread_join(th, NULL);
    cr_expect_lt(el, 2000, "%.0f ms", el);
    struct fr_tcp_stats ts;
    fr_tcp_stats(&ts);
    cr_expect_eq(ts.connects, 2, "connections: %llu", (unsigned long long)ts.connects);
    cr_expect_geq(ts.lost, 1, "the question in flight was not counted lost");
    cr_expect_eq(read_count(tcp_count[0]), 2);
    fr_config_free(c);
}

/* The server closes the connection while idle (here: restarts between
 * two lookups): the next lookup notices and reconnects. */
Test(tcp, server_closes_idle_connection)
{
    LAB_REQUIRE();
    server(0, ADDR1, NULL);
    struct fr_config *c = cfg_tcp("nameserver " ADDR1 "\n");
    cr_expect(ask(c, "foo.test", 1));
    lab_proc_stop(&procs[0]);
    server(0, ADDR1, NULL);
    double t0 = lab_now_ms();
    cr_expect(ask(c, "foo.test", 1), "answered after the server closed");
    cr_expect_lt(lab_now_ms() - t0, 1000);
    cr_expect_eq(read_count(tcp_count[0]), 1, "the new server got one connection");
    fr_config_free(c);
}

/* A server that accepts no connection costs nothing: the next server
 * answers, and the dead one is not tried over TCP again at once. */
Test(tcp, refused_connection_moves_on)
{
    LAB_REQUIRE();
    server(1, ADDR2, NULL);
    struct fr_config *c = cfg_tcp("nameserver " ADDR_DEAD "\nnameserver " ADDR2 "\n");
    for (int i = 0; i < 5; i++) {
        double t0 = lab_now_ms();
        cr_expect(ask(c, "foo.test", 1), "lookup %d", i);
        cr_expect_lt(lab_now_ms() - t0, 500, "lookup %d waited on the dead server", i);
    }
    fr_config_free(c);
}

static int count_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    struct dirent *e;
    if (!d)
        return -1;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* A daemon closes every descriptor between lookups and reuses the
 * numbers for its own files: fastres never touches them, and reconnects. */
Test(tcp, program_closes_every_descriptor)
{
    LAB_REQUIRE();
    server(0, ADDR1, NULL);
    struct fr_config *c = cfg_tcp("nameserver " ADDR1 "\n");
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int ok = ask(c, "foo.test", 1);
        /* closefrom(3), then files of its own on the freed numbers. */
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        char path[LAB_PATH_MAX];
        int fds[8];
        for (int i = 0; i < 8; i++) {
            snprintf(path, sizeof path, "%s/own-%d", getenv("LAB_DIR"), i);
            fds[i] = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
            ok = ok && fds[i] >= 0 && write(fds[i], "mine", 4) == 4;
        }
        ok = ok && ask(c, "foo.test", 1) && ask(c, "bar.test", 0);
        for (int i = 0; i < 8; i++) {
            char b[8] = { 0 };
            ok = ok && pread(fds[i], b, sizeof b, 0) == 4 && !memcmp(b, "mine", 4);
            struct stat st;
            ok = ok && fstat(fds[i], &st) == 0 && S_ISREG(st.st_mode);
        }
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child: status %d", status);
    cr_expect_eq(read_count(tcp_count[0]), 2, "reconnected once after the descriptors went");
    fr_config_free(c);
}

/* A forked child never uses the parent's connection: it makes its own,
 * and the parent's keeps working. */
Test(tcp, fork_child_has_its_own_connection)
{
    LAB_REQUIRE();
    server(0, ADDR1, NULL);
    struct fr_config *c = cfg_tcp("nameserver " ADDR1 "\n");
    cr_expect(ask(c, "foo.test", 1));
    int before = count_open_fds();
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int ok = ask(c, "foo.test", 1) && ask(c, "bar.test", 0);
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child: status %d", status);
    cr_expect(ask(c, "foo.test", 1), "the parent's connection broke");
    cr_expect_eq(read_count(tcp_count[0]), 2, "one connection each");
    cr_expect_eq(count_open_fds(), before, "descriptors changed in the parent");
    fr_config_free(c);
}

struct worker {
    const struct fr_config *c;
    int ok;
};

static void *worker(void *p)
{
    struct worker *w = p;
    for (int i = 0; i < 20; i++)
        w->ok += ask(w->c, (i & 1) ? "bar.test" : "foo.test", !(i & 1));
    return NULL;
}

/* 32 threads share the connections, replies handed to whoever asked. */
Test(tcp, thirty_two_threads)
{
    LAB_REQUIRE();
    const char *const jitter[] = { "--delay-a-ms", "5", NULL };
    server(0, ADDR1, jitter);
    struct fr_config *c = cfg_tcp("nameserver " ADDR1 "\n");
    pthread_t th[32];
    struct worker w[32];
    for (int i = 0; i < 32; i++) {
        w[i] = (struct worker){ c, 0 };
        cr_assert_eq(pthread_create(&th[i], NULL, worker, &w[i]), 0);
    }
    for (int i = 0; i < 32; i++) {
        pthread_join(th[i], NULL);
        cr_expect_eq(w[i].ok, 20, "thread %d: %d of 20", i, w[i].ok);
    }
    cr_expect_leq(read_count(tcp_count[0]), 2, "connections for 32 threads");
    /* 960 questions. A reply later than its RTO (32 threads on a loaded
     * 2-core machine, A replies 5 ms late) is asked again over UDP, as a
     * reply stuck behind a lost segment would be: a few, not the rest. */
    long udp = read_count(udp_count[0]);
    cr_expect_leq(udp, 96, "UDP queries: %ld of 960 questions", udp);
    fr_config_free(c);
}
