/* fastres test lab: helpers for tests that run inside test/lab.sh.
 *
 * test/lab.sh puts a test binary in a private network + mount namespace
 * where 127.0.0.2 ... 127.0.0.20 exist on lo and /etc/resolv.conf and
 * /etc/hosts are writable bind mounts. These helpers start upstreams there
 * (a real dnsmasq, or build/tools/faultdns for misbehaving servers), count
 * the queries they received, rewrite the bind-mounted files, and send raw
 * DNS queries. Every upstream started here gets SIGTERM when the process
 * that started it dies, so a crashed test leaves nothing running.
 *
 * Typical use in a Criterion test:
 *
 *     Test(cache, second_lookup_is_local) {
 *         LAB_REQUIRE();
 *         struct lab_proc up = {0};
 *         const char *const args[] = {"--host-record=foo.test,10.0.0.1", NULL};
 *         cr_assert_eq(lab_dnsmasq_start(&up, "127.0.0.5", args), 0);
 *         lab_write_file("/etc/resolv.conf", "nameserver 127.0.0.5\n");
 *         ... two lookups ...
 *         cr_assert_eq(lab_wait_query_count(&up, 1, 1000), 1);
 *         lab_proc_stop(&up);
 *     }
 *
 * Functions returning int give 0 on success and -1 on failure (with a line
 * on stderr saying why), unless stated otherwise. */
#ifndef LAB_LIB_H
#define LAB_LIB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* "127.0.0.20:65535" or a bracketed IPv6 literal with a port. */
#define LAB_ADDR_MAX 64
/* Files live under LAB_DIR, a short mkdtemp() directory. */
#define LAB_PATH_MAX 256

enum lab_kind { LAB_KIND_NONE = 0, LAB_KIND_DNSMASQ, LAB_KIND_FAULTDNS };

/* One upstream process. Zero-initialise before use; lab_proc_stop()
 * accepts a zeroed or already stopped one. */
struct lab_proc {
    pid_t pid;                      /* 0 when not running */
    char addr[LAB_ADDR_MAX];        /* listen address as given: ADDR or ADDR:PORT */
    char count_file[LAB_PATH_MAX];  /* faultdns: its --count-file */
    char log_file[LAB_PATH_MAX];    /* dnsmasq: its --log-facility; faultdns: its stderr */
    enum lab_kind kind;
};

/* 1 when running inside test/lab.sh (LAB_INSIDE=1), else 0. */
int lab_in_lab(void);
/* 1 when CI=true (or CI=1) is set: being outside the lab is then an error. */
int lab_in_ci(void);

/* First statement of every test that needs the lab: skips the test when
 * run by hand outside the lab, fails it in CI. Needs criterion.h. */
#define LAB_REQUIRE()                                                          \
    do {                                                                       \
        if (!lab_in_lab()) {                                                   \
            if (lab_in_ci())                                                   \
                cr_assert_fail("not inside test/lab.sh (CI=true): run via make check-fast"); \
            cr_skip_test("not inside test/lab.sh: run it as test/lab.sh BINARY"); \
        }                                                                      \
    } while (0)

/* Start a real dnsmasq on addr (IPv4 or IPv6 literal, port 53) with
 * -k --no-resolv --no-hosts --bind-interfaces --cache-size=0 --log-queries
 * and a log file under LAB_DIR, plus the caller's NULL-terminated args
 * (args may be NULL), e.g. "--host-record=foo.test,10.0.0.1",
 * "--local=/test/", "--server=127.0.0.6". Returns once it answers a probe
 * (bounded ~2 s); the probe queries are not counted by lab_query_count(). */
int lab_dnsmasq_start(struct lab_proc *p, const char *addr, const char *const *args);

/* Start faultdns (from $FASTRES_TEST_TOOLS, default build/tools) with
 * --listen addr (ADDR or ADDR:PORT), a --count-file under LAB_DIR and the
 * caller's NULL-terminated args (may be NULL), e.g. "--mode", "drop".
 * Returns once it listens (bounded ~2 s). */
int lab_fault_start(struct lab_proc *p, const char *addr, const char *const *args);

/* Queries the upstream has received so far (faultdns: UDP + TCP; dnsmasq:
 * "query[" lines in its log). -1 when unknown. The count may lag a reply
 * by a moment for dnsmasq; use lab_wait_query_count() to assert. */
long lab_query_count(const struct lab_proc *p);

/* Poll lab_query_count() until it reaches at least min or timeout_ms
 * passes, then wait a short settle time so extra queries show up too
 * (an assertion "exactly 1" must see a stray second query). Returns the
 * last count read. */
long lab_wait_query_count(const struct lab_proc *p, long min, int timeout_ms);

/* SIGTERM, then SIGKILL after a bounded wait; reaps the process. Accepts a
 * zeroed or never-started p; leaves p->pid 0. */
void lab_proc_stop(struct lab_proc *p);

/* A stub environment for fr_config_parse(): lab_env_set adds or replaces a
 * variable (0, or -1 when all LAB_ENV_MAX slots are taken), lab_env_get
 * looks one up. Names and values are not copied. Each Criterion test runs
 * in its own process, so each starts empty. */
#define LAB_ENV_MAX 8
int lab_env_set(const char *name, const char *value);
const char *lab_env_get(const char *name);

/* Replace a file's content in place (open O_TRUNC, write, close): keeps
 * the bind mounts of /etc/resolv.conf and /etc/hosts that a rename would
 * break. */
int lab_write_file(const char *path, const char *text);

/* Real CLOCK_MONOTONIC in milliseconds, for generous wall-clock bounds
 * (code under test reads time through preload/base/clock.h instead). */
double lab_now_ms(void);

/* Path of a helper program: $FASTRES_TEST_TOOLS/name (default
 * build/tools/name). */
int lab_tool_path(const char *name, char *out, size_t outsz);

/* ---- raw DNS client ---- */

#define LAB_RR_MAX 64      /* more records than fit a 512-octet reply (A: 16 octets each) */
#define LAB_TEXT_MAX 1024  /* largest record text: a TXT of a few strings, an SOA */
#define LAB_NAME_MAX 1025  /* dn_expand's worst case with \DDD escapes */

struct lab_rr {
    int section;                 /* 1 answer, 2 authority, 3 additional */
    uint16_t type, rclass;
    uint32_t ttl;
    char owner[LAB_NAME_MAX];
    /* rdata as text: A/AAAA as inet_ntop; CNAME/NS/PTR the target name;
     * MX "pref host"; SRV "prio weight port target"; TXT the strings
     * joined by a single space; SOA "mname rname serial refresh retry
     * expire minimum"; anything else "len=N". */
    char data[LAB_TEXT_MAX];
};

struct lab_reply {
    uint16_t id;
    int qr, aa, tc, rd, ra, rcode;
    unsigned qdcount, ancount, nscount, arcount;
    char qname[LAB_NAME_MAX];    /* first question, "" when none */
    uint16_t qtype;
    unsigned nrr;                /* records parsed (answer, authority, additional) */
    struct lab_rr rr[LAB_RR_MAX];
};

/* Send one query (class IN, RD set, given id) for name/type to server
 * ("ADDR", "ADDR:PORT", "[V6]:PORT"; port 53 by default) over UDP
 * (tcp = 0) or TCP (tcp = 1) and wait up to timeout_ms for the first
 * reply. Returns the reply length (> 0), 0 on timeout (or TCP connection
 * closed without a reply), -1 on error. Over UDP any datagram counts as
 * the reply, whatever its ID or question, so tests can see bad replies. */
int lab_dns_query(const char *server, int tcp, const char *name, int type, uint16_t id,
                  int timeout_ms, unsigned char *buf, size_t bufsz);

/* Parse a reply into r (up to LAB_RR_MAX records). 0 when well formed,
 * -1 when malformed (r is then partly filled). */
/* DNS wire-form builders for tests' own replies: a 16- or 32-bit field in
 * network order, and a dotted name as labels (no compression). Each
 * returns the bytes written. */
size_t lab_put16(uint8_t *p, uint16_t v);
size_t lab_put32(uint8_t *p, uint32_t v);
size_t lab_put_name(uint8_t *p, const char *name);

/* A reply for www.example A: a CNAME to "abc" and abc's A record (TTL
 * 0x03616263). With to_ttl, the CNAME target is a compression pointer into
 * that TTL field (it reads "abc" as stored and something else once a cache
 * counts the TTL down); without, a pointer to abc's owner name (the
 * control). Writes at most 64 bytes; returns the length. */
size_t lab_msg_cname_into_ttl(uint8_t *p, int to_ttl);

int lab_dns_parse(const unsigned char *buf, size_t len, struct lab_reply *r);

/* First record of the given section (1-3) and type, or NULL. */
const struct lab_rr *lab_reply_find(const struct lab_reply *r, int section, uint16_t type);

#endif
