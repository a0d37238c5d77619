/* Tests for preload/api/sort*.c: fr_sort_addrinfo must give glibc's own order.
 *
 * Each table row runs in a forked child that enters a fresh network +
 * mount namespace (nested inside test/lab.sh's when run by run-all.sh, so
 * rows with different interface setups can run side by side), makes every
 * mount private, puts a tmpfs on /tmp and bind-mounts its own /etc/hosts,
 * /etc/nsswitch.conf ("hosts: files"), /etc/resolv.conf and /etc/gai.conf
 * over the real ones. It then configures interfaces with ip(8), asks libc's
 * getaddrinfo for "sort.test" (whose addresses the hosts file lists), builds
 * the list glibc builds before sorting (same addresses, same order, same
 * socktype expansion), sorts it with fr_sort_addrinfo and reports both
 * orders to the parent through shared memory; the parent compares.
 *
 * Nothing is sent anywhere: UDP connect() only selects a route, and the
 * namespace has no interface but lo and veth pairs whose both ends are in
 * it. Addresses are loopback, private, or documentation ranges; the 6to4
 * and Teredo ones are destinations that are only connect()ed. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/clock_test.h"
#include "api/sort.h"

/* Largest hosts list in the table (8 addresses x 3 socktypes fit). */
#define ST_MAX_ADDRS 12
#define ST_MAX_ENTRIES (ST_MAX_ADDRS * 3)
/* ip(8) commands per row. */
#define ST_MAX_CMDS 12
/* "inet6 <45-char address> raw" plus room. */
#define ST_STR 80
/* A row needs a few ip(8) runs and lookups; 60 s is far beyond that even
 * on a loaded 2-core machine under ASan, and still bounds a hang. */
#define ST_CHILD_TIMEOUT_MS 60000
/* Sorts per size in the timing test: enough for a stable mean. */
#define ST_BENCH_ROUNDS 300
#define ST_NAME "sort.test"

/* ---- the table ----------------------------------------------------------- */

#define LO "ip link set lo up"
/* A veth pair, both ends here, v0 carrying the addresses. */
#define VETH "ip link add v0 type veth peer name v1", "ip link set v0 up", "ip link set v1 up"
#define V4NET "ip addr add 192.168.1.10/24 dev v0", "ip route add default dev v0"
#define V6NET "ip -6 addr add 2001:db8:1::10/64 dev v0 nodad", "ip -6 route add default dev v0"
/* A global IPv6 address makes glibc use interface data at all (its
 * __check_pf hands out the address list only when one exists). */
#define V6LO "ip -6 addr add 2001:db8::1/64 dev lo"

struct sort_case {
    const char *name;
    int family, socktype, flags;     /* getaddrinfo hints */
    const char *addrs[ST_MAX_ADDRS]; /* /etc/hosts order */
    const char *cmds[ST_MAX_CMDS];   /* after LO */
    const char *gaiconf;             /* NULL: comments only */
    const char *first;               /* address glibc must put first (rule check) */
};

static const struct sort_case cases[] = {
    /* Rule 1: no route to 10.0.0.1, so the loopback goes first. */
    {"v4_rule1_unreachable", AF_INET, SOCK_STREAM, 0, {"10.0.0.1", "127.0.0.1"}, {0}, NULL, "127.0.0.1"},
    /* Rule 8: 127/8 has scope 2, private space scope 14. */
    {"v4_rule8_scope", AF_INET, SOCK_STREAM, 0, {"203.0.113.5", "192.168.1.20", "127.0.0.1"},
     {VETH, "ip addr add 192.168.1.10/24 dev v0"}, NULL, "127.0.0.1"},
    /* Rule 9 without interface data (no global IPv6): glibc's mask is all
     * ones, only destination == source scores. */
    {"v4_rule9_no_ifdata", AF_INET, SOCK_DGRAM, 0, {"127.128.0.1", "127.0.0.2", "127.0.0.1"}, {0}, NULL,
     "127.0.0.1"},
    /* Same list with interface data: lo's /8 makes 127.0.0.2 beat
     * 127.128.0.1, unlike the row above. */
    {"v4_rule9_lo_prefix", AF_INET, SOCK_DGRAM, 0, {"127.128.0.1", "127.0.0.2", "127.0.0.1"}, {V6LO}, NULL,
     "127.0.0.1"},
    /* Rule 9 inside the source's /24 only. */
    {"v4_rule9_subnet", AF_INET, SOCK_STREAM, 0, {"192.168.200.1", "192.168.1.200", "192.168.1.11"},
     {VETH, "ip addr add 192.168.1.10/24 dev v0", "ip route add 192.168.0.0/16 dev v0", V6NET}, NULL,
     "192.168.1.11"},
    /* Rule 8 with IPv4 link-local (169.254/16 is scope 2). */
    {"v4_linklocal", AF_INET, SOCK_STREAM, 0, {"192.168.1.77", "169.254.7.7", "198.51.100.3"},
     {VETH, V4NET, "ip addr add 169.254.1.10/16 dev v0"}, NULL, "169.254.7.7"},
    /* Multicast destinations next to unicast ones. */
    {"v4_multicast", AF_INET, SOCK_DGRAM, 0, {"239.1.2.3", "224.0.0.251", "192.168.1.99", "127.0.0.1"},
     {VETH, V4NET}, NULL, "127.0.0.1"},
    /* Eight IPv4 destinations, all three socktypes each. */
    {"v4_eight_expanded", AF_INET, 0, 0,
     {"198.51.100.1", "192.168.1.129", "10.9.9.9", "127.0.0.1", "192.168.1.11", "169.254.1.1", "203.0.113.77",
      "192.168.1.10"},
     {VETH, V4NET, V6NET}, NULL, "127.0.0.1"},
    /* Rule 1 for IPv6: no IPv6 route but ::1. */
    {"v6_rule1_unreachable", AF_INET6, SOCK_STREAM, 0, {"2001:db8::5", "::1"}, {0}, NULL, "::1"},
    /* Scopes: site-local, link-local without scope id (unusable),
     * multicast of several scopes, global. */
    {"v6_scopes", AF_INET6, SOCK_DGRAM, 0, {"fec0::5", "fe80::5", "ff0e::5", "ff05::2", "2001:db8:2::5"},
     {VETH, V6NET, "ip -6 addr add fe80::10/64 dev v0 nodad"}, NULL, NULL},
    /* Rule 9 for IPv6: the ULA destination shares 64 bits with its source,
     * the global one only 45. */
    {"v6_rule9_ula", AF_INET6, SOCK_STREAM, 0, {"2001:db8:5::1", "fd00:1::20"},
     {VETH, V6NET, "ip -6 addr add fd00:1::10/64 dev v0 nodad"}, NULL, "fd00:1::20"},
    /* Rule 5: with only a 6to4 source, the 6to4 destination's label
     * matches. */
    {"v6_rule5_6to4_source", AF_INET6, SOCK_STREAM, 0, {"2001:db8:9::7", "2002:c633:6401::1"},
     {VETH, "ip -6 addr add 2002:c000:20a::1/48 dev v0 nodad", "ip -6 route add default dev v0"}, NULL,
     "2002:c633:6401::1"},
    /* Rule 5 + 6: Teredo and 6to4 labels differ from a native source;
     * Teredo keeps precedence 40, 6to4 has 30. */
    {"mixed_teredo_6to4", AF_UNSPEC, SOCK_STREAM, 0,
     {"2001:0:4136:e378:8000:63bf:3fff:fdd2", "2002:c000:204::1", "2001:db8:9::7", "203.0.113.9"},
     {VETH, V4NET, V6NET}, NULL, "2001:db8:9::7"},
    /* Rule 6: ::1 (50) > native IPv6 (40) > IPv4 (10); unreachable last. */
    {"mixed_lo_only", AF_UNSPEC, 0, 0, {"127.0.0.1", "::1", "10.1.1.1", "2001:db8::1"}, {0}, NULL, "::1"},
    {"mixed_v6_precedence", AF_UNSPEC, 0, 0, {"198.51.100.7", "2001:db8:9::7", "192.168.1.50"},
     {VETH, V4NET, V6NET}, NULL, "2001:db8:9::7"},
    /* Many kinds in one list, default socktypes. */
    {"mixed_kinds", AF_UNSPEC, 0, 0,
     {"10.0.0.1", "fd00::1", "fec0::1", "169.254.1.1", "2002:c000:204::1", "192.168.1.33", "::1", "127.0.0.1"},
     {VETH, V4NET, V6NET}, NULL, "::1"},
    /* Rule 3: the only global IPv6 source is deprecated, so IPv4 wins. */
    {"mixed_rule3_deprecated", AF_UNSPEC, SOCK_STREAM, 0, {"2001:db8:1::99", "192.168.1.50"},
     {VETH, V4NET, "ip -6 addr add 2001:db8:1::10/64 dev v0 nodad preferred_lft 0",
      "ip -6 route add default dev v0"},
     NULL, "192.168.1.50"},
    /* Rule 4: a home-address source (ip's "home", IPv6 only) beats even
     * ::1's precedence. */
    {"v6_rule4_home", AF_INET6, SOCK_STREAM, 0, {"::1", "2001:db8:9::7"},
     {VETH, "ip -6 addr add 2001:db8:1::10/64 dev v0 nodad home", "ip -6 route add default dev v0"}, NULL,
     "2001:db8:9::7"},
    /* Rule 7 quirk: a point-to-point source is listed under its peer, so
     * its interface is unknown and counts as non-native; rules 8-9 would
     * not separate the two. */
    {"v4_rule7_ptp_unknown_index", AF_INET, SOCK_STREAM, 0, {"10.5.0.2", "203.0.113.1"},
     {VETH, V4NET, V6NET, "ip link add v2 type veth peer name v3", "ip link set v2 up", "ip link set v3 up",
      "ip addr add 10.5.0.1 peer 10.5.0.2/32 dev v2"},
     NULL, "203.0.113.1"},
    /* 127.0.0.5 is a deprecated address. On an IPv4 socket glibc looks any
     * 127/8 source up as 127.0.0.1 (not deprecated): rule 9 puts .5 first. */
    {"v4_lo_source_as_127_0_0_1", AF_INET, SOCK_DGRAM, 0, {"127.0.0.6", "127.0.0.5"},
     {V6LO, "ip addr add 127.0.0.5/32 dev lo preferred_lft 0"}, NULL, "127.0.0.5"},
    /* Same, but after an IPv6 destination glibc's socket is IPv6: the
     * source ::ffff:127.0.0.5 is found as deprecated, rule 3 puts .6 first. */
    {"mixed_v6_socket_for_v4", AF_UNSPEC, SOCK_DGRAM, 0, {"2001:db8::99", "127.0.0.5", "127.0.0.6"},
     {V6LO, "ip addr add 127.0.0.5/32 dev lo preferred_lft 0"}, NULL, "2001:db8::99"},
    /* AF_INET6 + AI_V4MAPPED|AI_ALL: IPv6 first, then mapped IPv4. */
    {"v4mapped_all", AF_INET6, SOCK_STREAM, AI_V4MAPPED | AI_ALL,
     {"192.168.1.50", "2001:db8:9::7", "127.0.0.1", "::1"}, {VETH, V4NET, V6NET}, NULL, "::1"},
    /* AF_INET6 + AI_V4MAPPED with IPv4 only: all mapped. */
    {"v4mapped_only", AF_INET6, 0, AI_V4MAPPED, {"10.9.9.9", "127.0.0.1", "192.168.1.50"}, {VETH, V4NET}, NULL,
     NULL},
    /* SOCK_RAW only. */
    {"raw_only", AF_UNSPEC, SOCK_RAW, 0, {"192.168.1.50", "fd00::9", "::1", "10.0.0.9"}, {VETH, V4NET, V6NET}, NULL,
     "::1"},
    /* The canonical name moves to the new first entry. */
    {"canonname_moves", AF_UNSPEC, 0, AI_CANONNAME, {"203.0.113.1", "192.168.1.2", "2001:db8:9::1"},
     {VETH, V4NET, V6NET}, NULL, "2001:db8:9::1"},
    /* IPv6 lines in an IPv4 lookup (nss_files maps ::1 and ::ffff:x). */
    {"v4_from_v6_lines", AF_INET, SOCK_STREAM, 0, {"::ffff:192.168.1.60", "10.0.0.1", "::1", "192.168.1.61"},
     {VETH, "ip addr add 192.168.1.10/24 dev v0", V6NET}, NULL, "127.0.0.1"},
    /* A v4-mapped line in an AF_UNSPEC lookup. */
    {"mixed_v4mapped_line", AF_UNSPEC, SOCK_STREAM, 0, {"::ffff:192.168.1.60", "192.168.1.61", "2001:db8:9::7"},
     {VETH, V4NET, V6NET}, NULL, NULL},
    /* Already in glibc's order: nothing may move. */
    {"already_sorted", AF_UNSPEC, SOCK_STREAM, 0, {"::1", "2001:db8:9::1", "127.0.0.1", "192.168.1.2"},
     {VETH, V4NET, V6NET}, NULL, "::1"},
};
#define N_CASES (sizeof(cases) / sizeof(cases[0]))

/* ---- child/parent plumbing --------------------------------------------- */

struct sort_result {
    int done;
    int no_privilege; /* unshare refused: not root, no user namespace */
    char err[256];
    int gai_rc, fr_status;
    size_t n_libc, n_ours, n_file;
    char libc[ST_MAX_ENTRIES][ST_STR], ours[ST_MAX_ENTRIES][ST_STR], file[ST_MAX_ENTRIES][ST_STR];
    int canon_libc, canon_ours; /* index of the entry with ai_canonname, -1 none */
    char canon_name_ours[64];
    /* gai.conf test and timing test results */
    int statuses[16];
    double us_per_sort[2];
};

static void fail_child(struct sort_result *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof(r->err), fmt, ap);
    va_end(ap);
    _exit(1);
}

static void write_file(struct sort_result *r, const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        fail_child(r, "cannot write %s: %s", path, strerror(errno));
}

static void bind_over(struct sort_result *r, const char *src, const char *dst)
{
    if (mount(src, dst, NULL, MS_BIND, NULL) != 0)
        fail_child(r, "bind %s over %s: %s", src, dst, strerror(errno));
}

/* Enter a private namespace with our own /etc files and lo up. Safe to
 * call as root anywhere: nothing here reaches the machine's mounts or
 * network. */
static void enter_sandbox(struct sort_result *r, const char *hosts, const char *gaiconf)
{
    if (unshare(CLONE_NEWNET | CLONE_NEWNS) != 0) {
        r->no_privilege = errno == EPERM;
        fail_child(r, "unshare(CLONE_NEWNET|CLONE_NEWNS): %s", strerror(errno));
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        fail_child(r, "make mounts private: %s", strerror(errno));
    if (mount("fr-sort-test", "/tmp", "tmpfs", 0, "size=1m") != 0)
        fail_child(r, "tmpfs on /tmp: %s", strerror(errno));
    /* nscd would answer from the machine's own files: hide its socket. */
    static const char *const hide[] = {"/run/nscd", "/var/run/nscd"};
    for (size_t i = 0; i < 2; i++) {
        struct stat st;
        if (stat(hide[i], &st) == 0 && S_ISDIR(st.st_mode) && mount("h", hide[i], "tmpfs", 0, "size=64k") != 0)
            fail_child(r, "hide %s: %s", hide[i], strerror(errno));
    }
    write_file(r, "/tmp/hosts", hosts);
    write_file(r, "/tmp/nsswitch.conf", "hosts: files\n");
    write_file(r, "/tmp/resolv.conf", "nameserver 127.0.0.1\n");
    write_file(r, "/tmp/gai.conf", gaiconf ? gaiconf : "# test: built-in tables\n");
    bind_over(r, "/tmp/hosts", "/etc/hosts");
    bind_over(r, "/tmp/nsswitch.conf", "/etc/nsswitch.conf");
    bind_over(r, "/tmp/resolv.conf", "/etc/resolv.conf");
    bind_over(r, "/tmp/gai.conf", "/etc/gai.conf");
    if (system(LO " >/dev/null 2>&1") != 0)
        fail_child(r, "%s failed", LO);
}

static void run_cmds(struct sort_result *r, const char *const *cmds)
{
    for (size_t i = 0; i < ST_MAX_CMDS && cmds[i]; i++) {
        char line[512];
        snprintf(line, sizeof(line), "%s >/tmp/ip.err 2>&1", cmds[i]);
        if (system(line) != 0) {
            char msg[160] = "";
            FILE *f = fopen("/tmp/ip.err", "r");
            if (f) {
                if (!fgets(msg, sizeof(msg), f))
                    msg[0] = 0;
                fclose(f);
            }
            fail_child(r, "setup \"%s\" failed: %s", cmds[i], msg);
        }
    }
}

/* Fork, run fn in the child, wait (bounded), return the shared result. */
static struct sort_result *run_in_child(void (*fn)(struct sort_result *, const void *), const void *arg)
{
    struct sort_result *r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(r, MAP_FAILED);
    memset(r, 0, sizeof(*r));
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        fn(r, arg);
        r->done = 1;
        _exit(0);
    }
    int status = 0;
    for (int waited = 0;; waited += 10) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (waited >= ST_CHILD_TIMEOUT_MS) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            cr_assert_fail("child did not finish within %d ms", ST_CHILD_TIMEOUT_MS);
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    /* Run by hand without root: nothing to compare against; inside
     * test/lab.sh (root or a user namespace) this never happens. */
    if (r->no_privilege)
        cr_skip_test("needs root or test/lab.sh: %s", r->err);
    cr_assert(r->done && WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed (status %d): %s", status,
              r->err[0] ? r->err : "crashed");
    return r;
}

static void describe(const struct addrinfo *ai, char *out)
{
    char a[INET6_ADDRSTRLEN] = "?";
    const void *src = ai->ai_family == AF_INET ? (const void *)&((const struct sockaddr_in *)ai->ai_addr)->sin_addr
                                               : (const void *)&((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
    inet_ntop(ai->ai_family, src, a, sizeof(a));
    const char *t = ai->ai_socktype == SOCK_STREAM ? "stream"
                    : ai->ai_socktype == SOCK_DGRAM ? "dgram"
                    : ai->ai_socktype == SOCK_RAW   ? "raw"
                                                    : "other";
    snprintf(out, ST_STR, "%s %s %s", ai->ai_family == AF_INET ? "inet" : "inet6", a, t);
}

static size_t record(const struct addrinfo *ai, char (*out)[ST_STR], int *canon)
{
    size_t n = 0;
    if (canon)
        *canon = -1;
    for (; ai && n < ST_MAX_ENTRIES; ai = ai->ai_next, n++) {
        describe(ai, out[n]);
        if (canon && ai->ai_canonname)
            *canon = (int)n;
    }
    return n;
}

/* One glibc-layout node (sockaddr inside the allocation), as glibc's
 * generate_addrinfo makes it, so freeaddrinfo can free it. */
static struct addrinfo *make_node(int family, const void *addr, int socktype, int flags)
{
    size_t salen = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    struct addrinfo *ai = calloc(1, sizeof(*ai) + salen);
    if (!ai)
        return NULL;
    ai->ai_flags = flags;
    ai->ai_family = family;
    ai->ai_socktype = socktype;
    ai->ai_protocol = socktype == SOCK_STREAM ? IPPROTO_TCP : socktype == SOCK_DGRAM ? IPPROTO_UDP : 0;
    ai->ai_addrlen = (socklen_t)salen;
    ai->ai_addr = (struct sockaddr *)(ai + 1);
    ai->ai_addr->sa_family = (sa_family_t)family;
    if (family == AF_INET)
        memcpy(&((struct sockaddr_in *)ai->ai_addr)->sin_addr, addr, 4);
    else
        memcpy(&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, addr, 16);
    return ai;
}

/* Append addr's nodes (one per socktype) at *tail. */
static int append_addr(struct addrinfo ***tail, int family, const void *addr, int socktype, int flags)
{
    static const int all[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_RAW};
    for (size_t k = 0; k < 3; k++) {
        if (socktype && k > 0)
            break;
        struct addrinfo *ai = make_node(family, addr, socktype ? socktype : all[k], flags);
        if (!ai)
            return -1;
        **tail = ai;
        *tail = &ai->ai_next;
    }
    return 0;
}

/* The list glibc has before sorting: hosts-file order per family pass.
 * AF_UNSPEC: one pass in file order (nss_files gethostbyname4_r).
 * AF_INET: IPv4 answers. AF_INET6: IPv6 lines, then with AI_V4MAPPED (and
 * AI_ALL, or no IPv6 found) the IPv4 answers as ::ffff:a.b.c.d. */
static struct addrinfo *build_presorted(const struct sort_case *c)
{
    struct addrinfo *head = NULL, **tail = &head;
    bool got6 = false;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < ST_MAX_ADDRS && c->addrs[i]; i++) {
            unsigned char a4[4], a6[16];
            bool is4 = inet_pton(AF_INET, c->addrs[i], a4) == 1;
            if (!is4 && inet_pton(AF_INET6, c->addrs[i], a6) != 1)
                return NULL;
            /* nss_files answers an IPv4 lookup from IPv6 lines too: ::1
             * as 127.0.0.1, ::ffff:a.b.c.d as a.b.c.d. */
            bool as4 = is4 || IN6_IS_ADDR_LOOPBACK((struct in6_addr *)a6) ||
                       IN6_IS_ADDR_V4MAPPED((struct in6_addr *)a6);
            if (!is4 && as4) {
                static const unsigned char lo4[4] = {127, 0, 0, 1};
                memcpy(a4, IN6_IS_ADDR_LOOPBACK((struct in6_addr *)a6) ? lo4 : a6 + 12, 4);
            }
            int rc = 0;
            if (c->family == AF_UNSPEC && pass == 0)
                rc = is4 ? append_addr(&tail, AF_INET, a4, c->socktype, c->flags)
                         : append_addr(&tail, AF_INET6, a6, c->socktype, c->flags);
            else if (c->family == AF_INET && pass == 0 && as4)
                rc = append_addr(&tail, AF_INET, a4, c->socktype, c->flags);
            else if (c->family == AF_INET6 && pass == 0 && !is4) {
                rc = append_addr(&tail, AF_INET6, a6, c->socktype, c->flags);
                got6 = true;
            } else if (c->family == AF_INET6 && pass == 1 && as4 && (c->flags & AI_V4MAPPED) &&
                       ((c->flags & AI_ALL) || !got6)) {
                unsigned char m[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
                memcpy(m + 12, a4, 4);
                rc = append_addr(&tail, AF_INET6, m, c->socktype, c->flags);
            }
            if (rc != 0)
                return NULL;
        }
    }
    if (head && (c->flags & AI_CANONNAME))
        head->ai_canonname = strdup(ST_NAME);
    return head;
}

static void hosts_text(const struct sort_case *c, char *buf, size_t cap)
{
    size_t len = (size_t)snprintf(buf, cap, "# test_sort: %s\n", c->name);
    for (size_t i = 0; i < ST_MAX_ADDRS && c->addrs[i] && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s %s\n", c->addrs[i], ST_NAME);
}

static void child_compare(struct sort_result *r, const void *arg)
{
    const struct sort_case *c = arg;
    char hosts[2048];
    hosts_text(c, hosts, sizeof(hosts));
    enter_sandbox(r, hosts, c->gaiconf);
    run_cmds(r, c->cmds);

    struct addrinfo hints = {.ai_family = c->family, .ai_socktype = c->socktype, .ai_flags = c->flags};
    struct addrinfo *libc = NULL;
    r->gai_rc = getaddrinfo(ST_NAME, NULL, &hints, &libc);
    if (r->gai_rc != 0)
        fail_child(r, "getaddrinfo: %s", gai_strerror(r->gai_rc));
    r->n_libc = record(libc, r->libc, &r->canon_libc);
    freeaddrinfo(libc);

    struct addrinfo *ours = build_presorted(c);
    if (!ours)
        fail_child(r, "cannot build the list");
    r->n_file = record(ours, r->file, NULL);
    r->fr_status = fr_sort_addrinfo(&ours);
    r->n_ours = record(ours, r->ours, &r->canon_ours);
    if (r->canon_ours >= 0) {
        const struct addrinfo *p = ours;
        for (int k = 0; k < r->canon_ours; k++)
            p = p->ai_next;
        snprintf(r->canon_name_ours, sizeof(r->canon_name_ours), "%s", p->ai_canonname);
    }
    freeaddrinfo(ours);
}

static void dump(const char *title, char (*l)[ST_STR], size_t n)
{
    cr_log_info("%s (%zu):", title, n);
    for (size_t i = 0; i < n; i++)
        cr_log_info("  %2zu %s", i, l[i]);
}

ParameterizedTestParameters(sort, matches_glibc)
{
    static size_t idx[N_CASES];
    for (size_t i = 0; i < N_CASES; i++)
        idx[i] = i;
    return cr_make_param_array(size_t, idx, N_CASES);
}

ParameterizedTest(size_t *i, sort, matches_glibc, .timeout = 120)
{
    const struct sort_case *c = &cases[*i];
    struct sort_result *r = run_in_child(child_compare, c);
    bool same = r->n_libc == r->n_ours;
    for (size_t k = 0; same && k < r->n_libc; k++)
        same = strcmp(r->libc[k], r->ours[k]) == 0;
    if (!same || r->fr_status != FR_OK) {
        cr_log_error("case %s differs from glibc", c->name);
        dump("hosts order", r->file, r->n_file);
        dump("glibc", r->libc, r->n_libc);
        dump("fr_sort_addrinfo", r->ours, r->n_ours);
    }
    cr_assert_eq(r->fr_status, FR_OK, "%s: status %d", c->name, r->fr_status);
    /* The builder must have produced glibc's address set. */
    cr_assert_eq(r->n_file, r->n_libc, "%s: %zu entries built, glibc has %zu", c->name, r->n_file, r->n_libc);
    cr_assert(same, "%s: order differs from glibc's", c->name);
    cr_assert_eq(r->canon_ours, r->canon_libc, "%s: canonname at %d, glibc %d", c->name, r->canon_ours,
                 r->canon_libc);
    if (r->canon_ours >= 0)
        cr_expect_str_eq(r->canon_name_ours, ST_NAME);
    if (c->first) {
        /* The rule the row is about really decided glibc's order. */
        char want[ST_STR];
        const char *sp = strchr(r->libc[0], ' ');
        snprintf(want, sizeof(want), "%s", sp ? sp + 1 : "");
        *strchrnul(want, ' ') = 0;
        cr_assert_str_eq(want, c->first, "%s: glibc put %s first, the row expects %s", c->name, want, c->first);
    }
    munmap(r, sizeof(*r));
}

/* ---- no-sandbox cases --------------------------------------------------- */

Test(sort, trivial_lists_untouched)
{
    struct addrinfo *none = NULL;
    cr_assert_eq(fr_sort_addrinfo(&none), FR_OK);
    cr_assert_null(none);

    /* One address in three socktypes: glibc does not sort (naddrs == 1),
     * so neither may we, whatever the rules would say. */
    unsigned char a[4] = {192, 0, 2, 1};
    struct addrinfo *head = NULL, **tail = &head;
    cr_assert_eq(append_addr(&tail, AF_INET, a, 0, 0), 0);
    struct addrinfo *before[3] = {head, head->ai_next, head->ai_next->ai_next};
    cr_assert_eq(fr_sort_addrinfo(&head), FR_OK);
    cr_assert(head == before[0] && head->ai_next == before[1] && head->ai_next->ai_next == before[2]);
    cr_assert_null(before[2]->ai_next);
    freeaddrinfo(head);
}

Test(sort, foreign_nodes_punt)
{
    /* A node getaddrinfo never makes (AF_UNIX) goes to libc, untouched. */
    unsigned char a[4] = {192, 0, 2, 1};
    struct addrinfo *head = make_node(AF_INET, a, SOCK_STREAM, 0);
    cr_assert_not_null(head);
    struct addrinfo *odd = calloc(1, sizeof(*odd) + sizeof(struct sockaddr_in6));
    cr_assert_not_null(odd);
    odd->ai_family = AF_UNIX;
    odd->ai_addrlen = sizeof(struct sockaddr_in6);
    odd->ai_addr = (struct sockaddr *)(odd + 1);
    odd->ai_addr->sa_family = AF_UNIX;
    head->ai_next = odd;
    struct addrinfo *keep = head;
    cr_assert_eq(fr_sort_addrinfo(&head), FR_PUNT);
    cr_assert(head == keep && head->ai_next == odd);
    freeaddrinfo(head);
}

/* ---- gai.conf ----------------------------------------------------------- */

struct gaiconf_case {
    const char *text;
    enum fr_status want;
};

static const struct gaiconf_case gaiconf_cases[] = {
    {"", FR_OK},
    {"# only comments\n\n   \t\n#precedence ::ffff:0:0/96 100\n", FR_OK},
    {"   # label ::1/128 0\n", FR_OK},
    {"reload yes\n", FR_PUNT},
    {"label ::/0 1 # trailing comment\n", FR_PUNT},
    {"\tprecedence ::ffff:0:0/96 100\n", FR_PUNT},
    {"#\n#\nscopev4 ::ffff:169.254.0.0/112 2", FR_PUNT}, /* no final newline */
};

static void child_gaiconf(struct sort_result *r, const void *arg)
{
    (void)arg;
    enter_sandbox(r, "127.0.0.1 " ST_NAME "\n::1 " ST_NAME "\n", "");
    unsigned char a4[4] = {127, 0, 0, 1}, a6[16] = {[15] = 1};
    uint64_t t = 1000000;
    for (size_t i = 0; i < sizeof(gaiconf_cases) / sizeof(gaiconf_cases[0]); i++) {
        write_file(r, "/tmp/gai.conf", gaiconf_cases[i].text);
        /* Past the re-check interval, so each case is read afresh. */
        t += 5000;
        fr_clock_set_fake(t);
        struct addrinfo *head = NULL, **tail = &head;
        if (append_addr(&tail, AF_INET, a4, SOCK_STREAM, 0) || append_addr(&tail, AF_INET6, a6, SOCK_STREAM, 0))
            fail_child(r, "out of memory");
        r->statuses[i] = fr_sort_addrinfo(&head);
        freeaddrinfo(head);
    }
    /* Re-check timing: an edit is seen after at most a second, never
     * earlier than the interval allows. */
    size_t k = 10;
    struct step {
        const char *text;
        uint64_t advance;
    } steps[] = {
        {"precedence ::ffff:0:0/96 100\n", 5000}, /* read: PUNT */
        {"# cleared\n", 500},                      /* cached: still PUNT */
        {"# cleared\n", 499},                      /* 999 ms: still PUNT */
        {"# cleared\n", 2},                        /* 1001 ms: re-read, OK */
        {"reload yes\n", 10},                      /* cached: OK */
        {"reload yes\n", 1000},                    /* re-read: PUNT */
    };
    for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++, k++) {
        write_file(r, "/tmp/gai.conf", steps[s].text);
        t += steps[s].advance;
        fr_clock_set_fake(t);
        struct addrinfo *head = NULL, **tail = &head;
        if (append_addr(&tail, AF_INET, a4, SOCK_STREAM, 0) || append_addr(&tail, AF_INET6, a6, SOCK_STREAM, 0))
            fail_child(r, "out of memory");
        r->statuses[k] = fr_sort_addrinfo(&head);
        freeaddrinfo(head);
    }
}

Test(sort, gaiconf_active_lines_punt, .timeout = 120)
{
    struct sort_result *r = run_in_child(child_gaiconf, NULL);
    for (size_t i = 0; i < sizeof(gaiconf_cases) / sizeof(gaiconf_cases[0]); i++)
        cr_expect_eq(r->statuses[i], gaiconf_cases[i].want, "gai.conf case %zu (\"%s\"): status %d, want %d", i,
                     gaiconf_cases[i].text, r->statuses[i], gaiconf_cases[i].want);
    static const enum fr_status want[] = {FR_PUNT, FR_PUNT, FR_PUNT, FR_OK, FR_OK, FR_PUNT};
    for (size_t s = 0; s < 6; s++)
        cr_expect_eq(r->statuses[10 + s], want[s], "re-check step %zu: status %d, want %d", s, r->statuses[10 + s],
                     want[s]);
    munmap(r, sizeof(*r));
}

/* ---- memo: the order of a list is reused for a second ------------------ */

/* Sort [10.0.0.1, 192.168.1.20] and report which comes first: 0 for
 * 10.0.0.1, 1 for 192.168.1.20, -1 on failure. */
static int memo_first(struct sort_result *r)
{
    unsigned char a[4] = {10, 0, 0, 1}, b[4] = {192, 168, 1, 20};
    struct addrinfo *head = NULL, **tail = &head;
    if (append_addr(&tail, AF_INET, a, SOCK_STREAM, 0) || append_addr(&tail, AF_INET, b, SOCK_STREAM, 0))
        fail_child(r, "out of memory");
    int first = -1;
    if (fr_sort_addrinfo(&head) == FR_OK)
        first = ((const struct sockaddr_in *)head->ai_addr)->sin_addr.s_addr == htonl(0x0a000001u) ? 0 : 1;
    freeaddrinfo(head);
    return first;
}

static void child_memo(struct sort_result *r, const void *arg)
{
    (void)arg;
    enter_sandbox(r, "", NULL);
    static const char *const up[] = {VETH, "ip addr add 192.168.1.10/24 dev v0", NULL};
    static const char *const down[] = {"ip addr del 192.168.1.10/24 dev v0", NULL};
    uint64_t t = 1000000;
    fr_clock_set_fake(t);
    /* No route to either: rule 10 keeps the list's order. */
    r->statuses[0] = memo_first(r);
    /* 192.168.1.20 becomes reachable, 10.0.0.1 stays unreachable (rule 1). */
    run_cmds(r, up);
    fr_clock_set_fake(t += 999);
    r->statuses[1] = memo_first(r);   /* within the window: the order found before */
    fr_clock_set_fake(t += 2);
    r->statuses[2] = memo_first(r);   /* 1001 ms: sorted afresh */
    run_cmds(r, down);
    fr_clock_set_fake(t += 10);
    r->statuses[3] = memo_first(r);   /* still within the new window */
    fr_sort_forget();
    r->statuses[4] = memo_first(r);   /* forgotten: sorted afresh */
}

Test(sort, memo_window_and_forget, .timeout = 120)
{
    struct sort_result *r = run_in_child(child_memo, NULL);
    static const int want[] = {0, 0, 1, 1, 0};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        cr_expect_eq(r->statuses[i], want[i], "step %zu: first %d, want %d", i, r->statuses[i], want[i]);
    munmap(r, sizeof(*r));
}

/* ---- timing (printed, not asserted) ------------------------------------- */

static void child_bench(struct sort_result *r, const void *arg)
{
    (void)arg;
    enter_sandbox(r, "", NULL);
    static const char *const cmds[] = {VETH, V4NET, V6NET, NULL};
    run_cmds(r, cmds);
    static const char *const addrs[8] = {"192.168.1.50", "2001:db8:9::7", "203.0.113.1", "fd00::1",
                                         "127.0.0.1",    "::1",           "10.0.0.1",    "2002:c000:204::1"};
    static const size_t sizes[2] = {2, 8};
    for (size_t z = 0; z < 2; z++) {
        struct addrinfo *head = NULL, **tail = &head;
        for (size_t i = 0; i < sizes[z]; i++) {
            unsigned char a[16];
            int fam = inet_pton(AF_INET, addrs[i], a) == 1 ? AF_INET : AF_INET6;
            if (fam == AF_INET6)
                inet_pton(AF_INET6, addrs[i], a);
            if (append_addr(&tail, fam, a, SOCK_STREAM, 0))
                fail_child(r, "out of memory");
        }
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (int k = 0; k < ST_BENCH_ROUNDS; k++)
            if (fr_sort_addrinfo(&head) != FR_OK)
                fail_child(r, "sort failed");
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double us = (double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
        r->us_per_sort[z] = us / ST_BENCH_ROUNDS;
        freeaddrinfo(head);
    }
}

Test(sort, timing, .timeout = 120)
{
    struct sort_result *r = run_in_child(child_bench, NULL);
    /* Informational: printed for the report, never asserted. */
    fprintf(stderr, "test_sort timing: fr_sort_addrinfo 2 entries %.1f us, 8 entries %.1f us (mean of %d)\n",
            r->us_per_sort[0], r->us_per_sort[1], ST_BENCH_ROUNDS);
    cr_assert_gt(r->us_per_sort[1], 0.0);
    munmap(r, sizeof(*r));
}
