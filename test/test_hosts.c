/* Tests for preload/base/hosts*.c: a differential test against glibc's own
 * nss_files functions, plus re-check, limits, threads and fork.
 *
 * Runs inside test/lab.sh only: it rewrites /etc/hosts, which the lab
 * bind-mounts from a private tmpfs. Criterion runs tests in parallel
 * processes; every test that touches /etc/hosts first takes an exclusive
 * flock on $LAB_DIR/test_hosts.lock, held until its process ends.
 *
 * glibc side: _nss_files_gethostbyname4_r (getaddrinfo AF_UNSPEC) and
 * _nss_files_gethostbyname3_r (one family), both exported by libc.so.6 as
 * GLIBC_PRIVATE and found with dlsym. They read _res_hconf ("multi"),
 * which only res_init() fills in, once per process: each host.conf
 * variant below is a separate (parameterised) test, hence a fresh
 * process. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <nss.h>
#include <pthread.h>
#include <resolv.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/clock_test.h"
#include "base/hosts.h"
#include "base/hosts_test.h"

/* glibc buffer for one call; doubled on ERANGE up to GLIBC_BUF_MAX. The
 * largest case (a line with thousands of aliases) needs well under 1 MiB. */
#define GLIBC_BUF_START (1u << 20)
#define GLIBC_BUF_MAX (64u << 20)
/* Tokens of a case's file that are also used as queries (the long-line
 * cases have thousands; glibc re-reads the file per query). */
#define AUTO_QUERIES_MAX 40
/* Lookups timed for the printed median. */
#define COST_SAMPLES 20001
/* Bounds for the thread and fork tests: iterations, not time. */
#define THREADS 4
#define THREAD_LOOKUPS 20000
#define FORKS 20
/* A forked child that does not finish in this long is hung (deadlock). */
#define CHILD_TIMEOUT_S 10

typedef enum nss_status gbn4_fn(const char *, struct gaih_addrtuple **, char *, size_t, int *,
                                int *, int32_t *);
typedef enum nss_status gba_fn(const void *, socklen_t, int, struct hostent *, char *, size_t,
                               int *, int *);
typedef enum nss_status gbn3_fn(const char *, int, struct hostent *, char *, size_t, int *, int *,
                                int32_t *, char **);

/* ---- lab guard and file writing ---- */

static void lab_guard(void)
{
    const char *in = getenv("LAB_INSIDE");
    const char *dir = getenv("LAB_DIR");
    if (!in || strcmp(in, "1") != 0 || !dir) {
        const char *ci = getenv("CI");
        if (ci && (!strcmp(ci, "true") || !strcmp(ci, "1")))
            cr_assert_fail("not inside test/lab.sh (CI=true): run via make check-fast");
        cr_skip_test("not inside test/lab.sh: run it as test/lab.sh build/test/test_hosts");
    }
    /* Second safety net: /etc/hosts must be a mount point of its own. */
    FILE *f = fopen("/proc/self/mountinfo", "re");
    cr_assert_not_null(f);
    char line[4096];
    int mounted = 0;
    while (fgets(line, sizeof line, f)) {
        char mp[1024];
        if (sscanf(line, "%*s %*s %*s %*s %1023s", mp) == 1 && !strcmp(mp, "/etc/hosts"))
            mounted = 1;
    }
    fclose(f);
    cr_assert(mounted, "/etc/hosts is not bind-mounted: refusing to write it");
    char path[512];
    snprintf(path, sizeof path, "%s/test_hosts.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
    cr_assert_eq(flock(fd, LOCK_EX), 0);
    /* fd stays open: the lock lasts as long as this test's process. */
}

/* Rewrite in place (a rename would break the bind mount); len may cover
 * NUL bytes. */
static void write_file(const char *path, const char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        cr_assert_gt(w, 0, "write %s: %s", path, strerror(errno));
        off += (size_t)w;
    }
    cr_assert_eq(close(fd), 0);
}

static void write_hosts(const char *text)
{
    write_file("/etc/hosts", text, strlen(text));
    fr_hosts_reset();
}

/* ---- rendering both sides as text ---- */

static void put_addr(FILE *o, int family, const void *addr, uint32_t scope)
{
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(family, addr, buf, sizeof buf);
    fprintf(o, " %s", buf);
    if (scope)
        fprintf(o, "%%%u", scope);
}

static char *render_fr(const char *name, enum fr_hosts_mode mode, int family)
{
    char *s = NULL;
    size_t sl = 0;
    FILE *o = open_memstream(&s, &sl);
    struct fr_hosts_result *r = NULL;
    enum fr_status st = fr_hosts_lookup(name, mode, family, &r);
    if (st == FR_NOTFOUND) {
        fputs("notfound", o);
    } else if (st != FR_OK) {
        fprintf(o, "fr_status=%d", (int)st);
    } else {
        fprintf(o, "name=<%s> aliases=[", r->name);
        for (char **a = r->aliases; *a; a++)
            fprintf(o, " %s", *a);
        fputs(" ] addrs=[", o);
        for (size_t i = 0; i < r->naddrs; i++)
            put_addr(o, r->addrs[i].family, r->addrs[i].addr, r->addrs[i].scope_id);
        fputs(" ]", o);
        fr_hosts_result_free(r);
    }
    fclose(o);
    return s;
}

static char *render_glibc(const char *name, enum fr_hosts_mode mode, int family)
{
    static gbn4_fn *gbn4;
    static gbn3_fn *gbn3;
    if (!gbn4) {
        gbn4 = (gbn4_fn *)dlsym(RTLD_DEFAULT, "_nss_files_gethostbyname4_r");
        gbn3 = (gbn3_fn *)dlsym(RTLD_DEFAULT, "_nss_files_gethostbyname3_r");
        cr_assert(gbn4 && gbn3, "libc does not export _nss_files_gethostbyname[34]_r");
    }
    char *s = NULL;
    size_t sl = 0;
    FILE *o = open_memstream(&s, &sl);
    for (size_t bufsz = GLIBC_BUF_START; bufsz <= GLIBC_BUF_MAX; bufsz *= 2) {
        char *buf = malloc(bufsz);
        cr_assert_not_null(buf);
        int err = 0, herr = 0;
        int32_t ttl = 0;
        enum nss_status st;
        if (mode == FR_HOSTS_ALL) {
            struct gaih_addrtuple *pat = NULL;
            st = gbn4(name, &pat, buf, bufsz, &err, &herr, &ttl);
            if (st == NSS_STATUS_SUCCESS) {
                fprintf(o, "name=<%s> aliases=[ ] addrs=[", pat ? pat->name : "(null)");
                for (struct gaih_addrtuple *t = pat; t; t = t->next)
                    put_addr(o, t->family, t->addr, t->scopeid);
                fputs(" ]", o);
            }
        } else {
            struct hostent he;
            char *canon = NULL;
            st = gbn3(name, family, &he, buf, bufsz, &err, &herr, &ttl, &canon);
            if (st == NSS_STATUS_SUCCESS) {
                cr_assert_eq(he.h_addrtype, family);
                fprintf(o, "name=<%s> aliases=[", he.h_name);
                for (char **a = he.h_aliases; *a; a++)
                    fprintf(o, " %s", *a);
                fputs(" ] addrs=[", o);
                for (char **a = he.h_addr_list; *a; a++)
                    put_addr(o, family, *a, 0);
                fputs(" ]", o);
            }
        }
        free(buf);
        if (st == NSS_STATUS_TRYAGAIN && err == ERANGE)
            continue;
        if (st == NSS_STATUS_NOTFOUND)
            fputs("notfound", o);
        else if (st != NSS_STATUS_SUCCESS)
            fprintf(o, "nss_status=%d errno=%d", (int)st, err);
        break;
    }
    fclose(o);
    return s;
}

/* ---- the table of hosts files ---- */

struct hosts_case {
    const char *what;
    const char *text;      /* NULL: built by make_text */
    size_t len;            /* 0: strlen(text); else the exact length (NUL bytes) */
    const char *queries[12];
};

#define Q(...) { __VA_ARGS__, NULL }
#define NUL_TEXT "10.0.0.1 nul1\0nul2\n10.0.0.2 nul3\n\0 10.0.0.3 nul4\n"

static const struct hosts_case cases[] = {
    { "lab default", "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n", 0,
      Q("localhost", "LocalHost", "ip6-localhost", "ip6-loopback", "nothere", "localhost.") },
    { "several v4 lines, one name", "10.0.0.1 a\n10.0.0.2 a\n10.0.0.3 b a\n", 0,
      Q("a", "A", "b") },
    { "aliases of later lines appended", "10.0.0.1 host h1 h2\n10.0.0.2 other host h3\n10.0.0.3 HOST h4\n10.0.0.4 h1\n", 0,
      Q("host", "Host", "h1", "h3", "other", "h4") },
    { "case of names and aliases", "10.1.1.1 MixedCase.Example alias.EXAMPLE\n10.1.1.2 mixedcase.example\n", 0,
      Q("mixedcase.example", "MIXEDCASE.EXAMPLE", "Alias.example", "alias.example") },
    { "IPv4 and IPv6 interleaved", "10.0.0.1 dual\nfe80::1 dual\n10.0.0.2 dual\n2001:db8::5 dual x\n", 0,
      Q("dual", "x", "DUAL") },
    { "v4-mapped IPv6", "::ffff:192.0.2.7 mapped\n::ffff:10.9.9.9 both\n10.0.0.9 both\n::ffff:0:10.1.1.1 translated\n", 0,
      Q("mapped", "both", "translated") },
    { "::1 only", "::1 onlysix six-alias\n0:0:0:0:0:0:0:1 longsix\n", 0,
      Q("onlysix", "six-alias", "longsix") },
    { "IPv6 scope ids", "fe80::1%lo scoped\nfe80::2%1 scoped2\nfe80::3 scoped\nfe80::4%eth0 scoped3\n", 0,
      Q("scoped", "scoped2", "scoped3") },
    { "comments", "# comment\n   # indented comment\n10.0.0.1 c1 # trailing c2\n10.0.0.2 c3#c4\n10.0.0.3#c5\n#10.0.0.4 c6\n10.0.0.5 c7 #\n", 0,
      Q("c1", "c2", "c3", "c4", "c5", "c6", "c7", "#", "") },
    { "tabs and odd white space", "10.0.0.1\ttab1\t\ttab2 \t tab3\n \t 10.0.0.2   sp1\r\n\v10.0.0.3\fff1\n10.0.0.4  \t  ws \t\n", 0,
      Q("tab1", "tab2", "tab3", "sp1", "sp1\r", "ff1", "ws") },
    { "garbage lines", "garbage line\n10.0.0.256 bad1\n10.0.0 bad2\n1.2.3.4.5 bad3\n::g bad4\n10.0.0.1 good bad1\nxyz\n\n\n10.0.0.01 lead0\n0x0a.0.0.1 hex\n127.1 short\n 1.2.3.4x bad5\n", 0,
      Q("garbage", "line", "bad1", "bad2", "bad3", "bad4", "good", "lead0", "hex", "short", "bad5") },
    { "duplicate addresses", "10.0.0.1 dup\n10.0.0.1 dup\n10.0.0.1 dup dup DUP\n::1 dup\n", 0,
      Q("dup", "Dup") },
    { "trailing dots", "10.0.0.1 dot.example.\n10.0.0.2 nodot.example\n10.0.0.3 . root\n", 0,
      Q("dot.example.", "dot.example", "nodot.example.", "nodot.example", ".", "root") },
    { "name only an alias", "10.0.0.1 canon aliasonly\n10.0.0.2 canon2 aliasonly\n", 0,
      Q("aliasonly", "canon", "canon2") },
    { "no trailing newline", "10.0.0.1 a\n10.0.0.2 last", 0,
      Q("a", "last") },
    { "no trailing newline, leading blanks (glibc memmove quirk)", "10.0.0.1 a\n   10.0.0.2 last", 0,
      Q("a", "last", "lastast", "ast") },
    { "last line mostly blanks", "10.0.0.1 a\n          1.2.3.4 z", 0,
      Q("a", "z", "1.2.3.4", "z1.2.3.4") },
    { "empty file", "", 0, Q("localhost", "") },
    { "address only", "10.0.0.1\n10.0.0.2 \n::2\n", 0, Q("", "10.0.0.1") },
    { "IPv6 spellings", "2001:db8:0:0:0:0:0:1 six1\n2001:DB8::1 six1\n::1.2.3.4 compat\n::ffff:1.2.3.4 six2\n", 0,
      Q("six1", "compat", "six2") },
    { "name repeated on one line", "10.0.0.1 same same SAME\n10.0.0.2 other same\n10.0.0.3 SAME\n", 0,
      Q("same", "other") },
    { "NUL byte inside a line", NUL_TEXT, sizeof NUL_TEXT - 1,
      Q("nul1", "nul2", "nul3", "nul4") },
    { "CRLF file", "127.0.0.1 localhost\r\n10.0.0.1 crlf alias\r\n\r\n10.0.0.2 crlf\r\n", 0,
      Q("localhost", "crlf", "alias", "crlf\r") },
    { "canonical names differing in case", "10.0.0.1 Name a1\n10.0.0.2 name a2\n10.0.0.3 NAME a3\n10.0.0.4 Name a4\n", 0,
      Q("name", "a1", "a3", "NAME") },
    { "name later than its alias", "10.0.0.1 first later\n10.0.0.2 later first\nfe80::9 later\n", 0,
      Q("first", "later") },
    { "numeric-looking names", "10.0.0.1 10.0.0.2\n10.0.0.3 ::1\n10.0.0.4 1e100\n", 0,
      Q("10.0.0.2", "::1", "1e100", "10.0.0.1") },
    { "non-ASCII names", "10.0.0.1 caf\xc3\xa9 CAF\xc3\x89\n10.0.0.2 \xff\xfe\n", 0,
      Q("caf\xc3\xa9", "CAF\xc3\x89", "caf\xc3\x89", "\xff\xfe") },
    { "long line (thousands of aliases)", NULL, 0, Q("longhost", "alias1", "alias2999", "ALIAS1500", "missing") },
    { "long name (2000 characters)", NULL, 0, Q("short") },
    { "many lines for one name", NULL, 0, Q("many", "m7") },
};

/* The generated cases, built once per process. */
static const char *make_text(const struct hosts_case *c, size_t *len)
{
    static char *built[sizeof cases / sizeof cases[0]];
    size_t idx = (size_t)(c - cases);
    if (c->text) {
        *len = c->len ? c->len : strlen(c->text);
        return c->text;
    }
    if (!built[idx]) {
        char *s = NULL;
        size_t sl = 0;
        FILE *o = open_memstream(&s, &sl);
        if (!strcmp(c->what, "long line (thousands of aliases)")) {
            fputs("10.0.0.1 other\n10.9.9.9 longhost", o);
            for (int i = 0; i < 3000; i++)
                fprintf(o, " alias%d", i);
            fputs("\n::ffff:10.0.0.2 longhost alias1 extra\n", o);
        } else if (!strcmp(c->what, "long name (2000 characters)")) {
            fputs("10.0.0.1 ", o);
            for (int i = 0; i < 2000; i++)
                fputc('a' + i % 26, o);
            fputs(" short\n10.0.0.2 short\n", o);
        } else {
            for (int i = 0; i < 200; i++)
                fprintf(o, i % 3 ? "10.0.%d.%d many m%d\n" : "2001:db8::%x:%x many m%d\n", i / 256,
                        i % 256, i % 10);
        }
        fclose(o);
        built[idx] = s;
    }
    *len = strlen(built[idx]);
    return built[idx];
}

/* ---- host.conf variants (each a separate process) ---- */

struct hconf_case {
    const char *what;
    const char *hostconf;   /* NULL: the machine's /etc/host.conf */
    const char *multi_env;  /* NULL: RESOLV_MULTI unset */
    int expect_multi;       /* -1: whatever the machine's file says */
    int reorder;            /* FR_HOSTS_FAMILY must punt */
};

static const struct hconf_case hconf_cases[] = {
    { "machine host.conf", NULL, NULL, -1, 0 },
    { "RESOLV_MULTI=on", NULL, "on", 1, 0 },
    { "RESOLV_MULTI=off", NULL, "off", 0, 0 },
    { "empty host.conf (glibc default)", "", NULL, 0, 0 },
    { "multi on", "multi on\n", NULL, 1, 0 },
    { "MULTI ON with comment", "  MULTI   ON # yes\n", NULL, 1, 0 },
    { "multi only (prefix match)", "multi only\n", NULL, 1, 0 },
    { "multi,on (comma ends the keyword)", "multi,on\n", NULL, 0, 0 },
    { "last setting wins", "order hosts,bind\nmulti on\nmulti off\n", NULL, 0, 0 },
    { "commented out", "# multi on\n", NULL, 0, 0 },
    { "env overrides file", "multi on\n", "off", 0, 0 },
    { "reorder on", "multi on\nreorder on\n", NULL, 1, 1 },
};

/* Criterion runs each parameter in a freshly executed worker (another
 * address layout), so the parameter is an index, not a pointer. */
#define NHCONF (sizeof hconf_cases / sizeof hconf_cases[0])
static int hconf_index[NHCONF];

/* By address (issue 11): fr_hosts_lookup_addr against
 * _nss_files_gethostbyaddr_r. addr holds 4 (AF_INET) or 16 octets. */
static char *render_byaddr_fr(const unsigned char *addr, int family)
{
    char *s = NULL;
    size_t sl = 0;
    FILE *o = open_memstream(&s, &sl);
    struct fr_hosts_result *r = NULL;
    enum fr_status st = fr_hosts_lookup_addr(addr, family, &r);
    if (st == FR_NOTFOUND) {
        fputs("notfound", o);
    } else if (st != FR_OK) {
        fprintf(o, "fr_status=%d", (int)st);
    } else {
        fprintf(o, "name=<%s> aliases=[", r->name);
        for (char **a = r->aliases; *a; a++)
            fprintf(o, " %s", *a);
        fputs(" ] addrs=[", o);
        for (size_t i = 0; i < r->naddrs; i++)
            put_addr(o, r->addrs[i].family, r->addrs[i].addr, r->addrs[i].scope_id);
        fputs(" ]", o);
        fr_hosts_result_free(r);
    }
    fclose(o);
    return s;
}

static char *render_byaddr_glibc(const unsigned char *addr, int family)
{
    static gba_fn *gba;
    if (!gba) {
        gba = (gba_fn *)dlsym(RTLD_DEFAULT, "_nss_files_gethostbyaddr_r");
        cr_assert(gba, "libc does not export _nss_files_gethostbyaddr_r");
    }
    char *s = NULL;
    size_t sl = 0;
    FILE *o = open_memstream(&s, &sl);
    socklen_t len = family == AF_INET ? 4 : 16;
    for (size_t bufsz = GLIBC_BUF_START; bufsz <= GLIBC_BUF_MAX; bufsz *= 2) {
        char *buf = malloc(bufsz);
        cr_assert_not_null(buf);
        int err = 0, herr = 0;
        struct hostent he;
        enum nss_status st = gba(addr, len, family, &he, buf, bufsz, &err, &herr);
        if (st == NSS_STATUS_SUCCESS) {
            fprintf(o, "name=<%s> aliases=[", he.h_name);
            for (char **a = he.h_aliases; *a; a++)
                fprintf(o, " %s", *a);
            fputs(" ] addrs=[", o);
            for (char **a = he.h_addr_list; *a; a++)
                put_addr(o, family, *a, 0);
            fputs(" ]", o);
        }
        free(buf);
        if (st == NSS_STATUS_TRYAGAIN && err == ERANGE)
            continue;
        if (st == NSS_STATUS_NOTFOUND)
            fputs("notfound", o);
        else if (st != NSS_STATUS_SUCCESS)
            fprintf(o, "nss_status=%d errno=%d", (int)st, err);
        break;
    }
    fclose(o);
    return s;
}

/* Every address a token can name, by address in both families: 0 when
 * the token is no address. */
static unsigned compare_byaddr(const char *casewhat, const char *tok, unsigned *failed)
{
    unsigned char a4[4], a6[16], q[2][16];
    int fam[2], n = 0;
    if (inet_pton(AF_INET, tok, a4) == 1) {
        memcpy(q[n], a4, 4), fam[n++] = AF_INET;
        memset(a6, 0, 10);
        a6[10] = a6[11] = 0xff;
        memcpy(a6 + 12, a4, 4);
        memcpy(q[n], a6, 16), fam[n++] = AF_INET6;
    } else if (inet_pton(AF_INET6, tok, a6) == 1) {
        memcpy(q[n], a6, 16), fam[n++] = AF_INET6;
        memcpy(q[n], a6 + 12, 4), fam[n++] = AF_INET;
    }
    for (int i = 0; i < n; i++) {
        char *want = render_byaddr_glibc(q[i], fam[i]);
        char *got = render_byaddr_fr(q[i], fam[i]);
        int ok = !strcmp(want, got);
        cr_expect(ok, "case \"%s\", by address %s as %s:\n  glibc:   %s\n  fastres: %s", casewhat,
                  tok, fam[i] == AF_INET ? "AF_INET" : "AF_INET6", want, got);
        *failed += !ok;
        free(want);
        free(got);
    }
    return (unsigned)n;
}

ParameterizedTestParameters(hosts, differential)
{
    for (size_t i = 0; i < NHCONF; i++)
        hconf_index[i] = (int)i;
    return cr_make_param_array(int, hconf_index, NHCONF);
}

static int compare(const char *casewhat, const char *q, enum fr_hosts_mode mode, int family,
                   int may_punt)
{
    char *want = render_glibc(q, mode, family);
    char *got = render_fr(q, mode, family);
    int ok = !strcmp(want, got) || (may_punt && !strcmp(got, "fr_status=8"));
    cr_expect(ok, "case \"%s\", query \"%s\", %s:\n  glibc:   %s\n  fastres: %s", casewhat, q,
              mode == FR_HOSTS_ALL ? "gethostbyname4" : family == AF_INET ? "AF_INET" : "AF_INET6",
              want, got);
    free(want);
    free(got);
    return ok;
}

ParameterizedTest(int *hci, hosts, differential, .timeout = 120)
{
    cr_assert(*hci >= 0 && (size_t)*hci < NHCONF);
    const struct hconf_case *hc = &hconf_cases[*hci];
    lab_guard();
    unsetenv("RESOLV_MULTI");
    unsetenv("RESOLV_REORDER");
    unsetenv("RESOLV_HOST_CONF");
    if (hc->hostconf) {
        char path[512];
        snprintf(path, sizeof path, "%s/test_hosts.host.conf", getenv("LAB_DIR"));
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        cr_assert_geq(fd, 0);
        close(fd);
        write_file(path, hc->hostconf, strlen(hc->hostconf));
        setenv("RESOLV_HOST_CONF", path, 1);
    }
    if (hc->multi_env)
        setenv("RESOLV_MULTI", hc->multi_env, 1);
    /* glibc reads host.conf here, once for this process. */
    cr_assert_eq(res_init(), 0);

    /* The variant must really be in force on the glibc side. */
    write_hosts("10.0.0.1 probe\n10.0.0.2 probe\n");
    char *probe = render_glibc("probe", FR_HOSTS_ALL, 0);
    int glibc_multi = strstr(probe, "10.0.0.2") != NULL;
    free(probe);
    if (hc->expect_multi >= 0)
        cr_assert_eq(glibc_multi, hc->expect_multi, "%s: glibc multi=%d", hc->what, glibc_multi);

    size_t ncase = sizeof cases / sizeof cases[0];
    unsigned compared = 0, failed = 0;
    for (size_t i = 0; i < ncase; i++) {
        const struct hosts_case *c = &cases[i];
        size_t len;
        const char *text = make_text(c, &len);
        write_file("/etc/hosts", text, len);
        fr_hosts_reset();

        /* Queries: the listed ones, then the file's own tokens. */
        for (const char *const *q = c->queries; *q; q++)
            for (int m = 0; m < 3; m++) {
                enum fr_hosts_mode mode = m == 0 ? FR_HOSTS_ALL : FR_HOSTS_FAMILY;
                int fam = m == 1 ? AF_INET : AF_INET6;
                failed += !compare(c->what, *q, mode, fam, hc->reorder && m);
                compared++;
            }
        char *copy = strndup(text, len);
        char *save = NULL;
        int n = 0;
        for (char *t = strtok_r(copy, " \t\r\n\v\f#", &save); t && n < AUTO_QUERIES_MAX;
             t = strtok_r(NULL, " \t\r\n\v\f#", &save), n++)
            for (int m = 0; m < 3; m++) {
                enum fr_hosts_mode mode = m == 0 ? FR_HOSTS_ALL : FR_HOSTS_FAMILY;
                int fam = m == 1 ? AF_INET : AF_INET6;
                failed += !compare(c->what, t, mode, fam, hc->reorder && m);
                compared++;
            }
        free(copy);
        /* By address: every token that is one (first AUTO_QUERIES_MAX). */
        copy = strndup(text, len);
        save = NULL;
        n = 0;
        for (char *t = strtok_r(copy, " \t\r\n\v\f#", &save); t && n < AUTO_QUERIES_MAX;
             t = strtok_r(NULL, " \t\r\n\v\f#", &save), n++)
            compared += compare_byaddr(c->what, t, &failed);
        free(copy);
    }
    printf("hosts differential, %s (glibc multi %s): %zu hosts files, %u comparisons, "
           "%u differences\n", hc->what, glibc_multi ? "on" : "off", ncase, compared, failed);
    fflush(stdout);
    cr_assert_gt(ncase, 24);
    cr_assert_eq(failed, 0);

    if (hc->reorder) {
        struct fr_hosts_result *r = NULL;
        write_hosts("10.0.0.1 x\n");
        cr_assert_eq(fr_hosts_lookup("x", FR_HOSTS_FAMILY, AF_INET, &r), FR_PUNT);
        cr_assert_eq(fr_hosts_lookup("x", FR_HOSTS_ALL, 0, &r), FR_OK);
        fr_hosts_result_free(r);
    }
}

/* ---- behaviour that glibc has no counterpart for ---- */

static const char *first_addr(const char *name)
{
    static char buf[INET6_ADDRSTRLEN];
    struct fr_hosts_result *r = NULL;
    enum fr_status st = fr_hosts_lookup(name, FR_HOSTS_ALL, 0, &r);
    if (st == FR_NOTFOUND)
        return "notfound";
    if (st != FR_OK)
        return "error";
    inet_ntop(r->addrs[0].family, r->addrs[0].addr, buf, sizeof buf);
    fr_hosts_result_free(r);
    return buf;
}

struct recheck_step {
    const char *write;      /* new file content, or NULL */
    uint64_t advance_ms;
    const char *want;       /* first address of "h" afterwards */
};

Test(hosts, recheck_once_per_second)
{
    lab_guard();
    static const struct recheck_step steps[] = {
        { "10.0.0.1 h\n", 0, "10.0.0.1" },
        { "10.0.0.22 h\n", 0, "10.0.0.1" },             /* not seen before the re-check is due */
        { NULL, FR_HOSTS_RECHECK_MS - 1, "10.0.0.1" },
        { NULL, 1, "10.0.0.22" },                        /* due: stat sees the new size */
        { "10.0.0.333 h\n10.0.0.4 h\n", 10, "10.0.0.22" },
        { NULL, FR_HOSTS_RECHECK_MS, "10.0.0.4" },     /* malformed first line skipped */
        { "", FR_HOSTS_RECHECK_MS, "notfound" },
        { NULL, 5 * FR_HOSTS_RECHECK_MS, "notfound" },
    };
    fr_clock_set_fake(1000000);
    write_hosts("");
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        if (steps[i].write)
            write_file("/etc/hosts", steps[i].write, strlen(steps[i].write));
        fr_clock_advance(steps[i].advance_ms);
        cr_expect_str_eq(first_addr("h"), steps[i].want, "step %zu", i);
    }
    /* fr_hosts_reset forces a re-read whatever the clock says. */
    write_file("/etc/hosts", "10.0.0.5 h\n", 11);
    fr_hosts_reset();
    cr_expect_str_eq(first_addr("h"), "10.0.0.5");
    fr_clock_set_fake(0);
}

struct limit_case {
    int lines;
    enum fr_status want;
};

Test(hosts, address_limit_punts)
{
    lab_guard();
    setenv("RESOLV_MULTI", "on", 1);
    static const struct limit_case lc[] = {
        { 1, FR_OK },
        { FR_HOSTS_MAX_ADDRS, FR_OK },
        { FR_HOSTS_MAX_ADDRS + 1, FR_PUNT },
    };
    for (size_t i = 0; i < sizeof lc / sizeof lc[0]; i++) {
        char *s = NULL;
        size_t sl = 0;
        FILE *o = open_memstream(&s, &sl);
        for (int j = 0; j < lc[i].lines; j++)
            fprintf(o, "10.1.%d.%d big\n", j / 256, j % 256);
        fputs("10.2.0.1 small\n", o);
        fclose(o);
        write_hosts(s);
        free(s);
        struct fr_hosts_result *r = NULL;
        enum fr_status st = fr_hosts_lookup("big", FR_HOSTS_ALL, 0, &r);
        cr_expect_eq(st, lc[i].want, "%d lines: status %d", lc[i].lines, (int)st);
        if (st == FR_OK)
            cr_expect_eq(r->naddrs, (size_t)lc[i].lines);
        fr_hosts_result_free(r);
        cr_expect_eq(fr_hosts_lookup("small", FR_HOSTS_ALL, 0, &r), FR_OK);
        fr_hosts_result_free(r);
    }
}

Test(hosts, file_size_limit_punts)
{
    lab_guard();
    write_hosts("10.0.0.1 a\n");
    struct fr_hosts_result *r = NULL;
    cr_assert_eq(fr_hosts_lookup("a", FR_HOSTS_ALL, 0, &r), FR_OK);
    fr_hosts_result_free(r);
    /* Sparse: the tmpfs does not need the space. */
    cr_assert_eq(truncate("/etc/hosts", (off_t)FR_HOSTS_MAX_FILE + 1), 0);
    fr_hosts_reset();
    cr_expect_eq(fr_hosts_lookup("a", FR_HOSTS_ALL, 0, &r), FR_PUNT);
    cr_assert_eq(truncate("/etc/hosts", (off_t)FR_HOSTS_MAX_FILE), 0);
    fr_hosts_reset();
    cr_expect_eq(fr_hosts_lookup("a", FR_HOSTS_ALL, 0, &r), FR_OK);
    fr_hosts_result_free(r);
    write_hosts("10.0.0.1 a\n");
}

struct badarg_case {
    const char *name;
    enum fr_hosts_mode mode;
    int family;
};

Test(hosts, bad_arguments_punt)
{
    lab_guard();
    write_hosts("10.0.0.1 a\n");
    static const struct badarg_case bc[] = {
        { NULL, FR_HOSTS_ALL, 0 },
        { "a", FR_HOSTS_FAMILY, AF_UNIX },
        { "a", FR_HOSTS_FAMILY, 0 },
        { "a", (enum fr_hosts_mode)7, AF_INET },
    };
    for (size_t i = 0; i < sizeof bc / sizeof bc[0]; i++) {
        struct fr_hosts_result *r = (void *)&bc;  /* must stay untouched */
        cr_expect_eq(fr_hosts_lookup(bc[i].name, bc[i].mode, bc[i].family, &r), FR_PUNT, "%zu", i);
        cr_expect_eq(r, (void *)&bc);
    }
    fr_hosts_result_free(NULL);
}

static void *reader(void *arg)
{
    long bad = 0;
    for (int i = 0; i < THREAD_LOOKUPS; i++) {
        struct fr_hosts_result *r = NULL;
        enum fr_status st = fr_hosts_lookup(i % 2 ? "t" : "T", FR_HOSTS_FAMILY, AF_INET, &r);
        /* NOTFOUND is a real version too: a reload may fall between the
         * writer's O_TRUNC and its write. */
        if (st == FR_NOTFOUND)
            continue;
        if (st != FR_OK || r->naddrs != 1 || r->addrs[0].addr[0] != 10 || strcmp(r->name, "t"))
            bad++;
        fr_hosts_result_free(r);
    }
    return (void *)bad;
}

/* Readers keep looking up while the file changes and the clock moves:
 * every answer must be one of the versions (never torn), and ASan must
 * see no use of a freed copy. */
Test(hosts, threads_during_reloads)
{
    lab_guard();
    fr_clock_set_fake(5000000);
    write_hosts("10.0.0.1 t\n");
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, reader, NULL), 0);
    for (int i = 0; i < 200; i++) {
        char text[64];
        int n = snprintf(text, sizeof text, "10.0.%d.%d t\n%.*s", i % 256, i % 7, i % 5, "#####");
        write_file("/etc/hosts", text, (size_t)n);
        fr_clock_advance(FR_HOSTS_RECHECK_MS);
    }
    long bad = 0;
    for (int i = 0; i < THREADS; i++) {
        void *rv;
        pthread_join(th[i], &rv);
        bad += (long)rv;
    }
    cr_expect_eq(bad, 0, "%ld bad answers", bad);
    /* Once the clock moves on, the last version is what lookups see. */
    fr_clock_advance(FR_HOSTS_RECHECK_MS);
    struct fr_hosts_result *r = NULL;
    cr_assert_eq(fr_hosts_lookup("t", FR_HOSTS_FAMILY, AF_INET, &r), FR_OK);
    cr_expect_eq(r->addrs[0].addr[2], 199);
    cr_expect_eq(r->addrs[0].addr[3], 199 % 7);
    fr_hosts_result_free(r);
    fr_clock_set_fake(0);
}

static void *spinner(void *arg)
{
    volatile int *stop = arg;
    while (!*stop) {
        struct fr_hosts_result *r = NULL;
        if (fr_hosts_lookup("f", FR_HOSTS_ALL, 0, &r) == FR_OK)
            fr_hosts_result_free(r);
    }
    return NULL;
}

/* Fork while another thread is inside lookups (holding the read lock or
 * reloading): each child must still answer, and must see a changed file. */
Test(hosts, fork_child_works, .timeout = 120)
{
    lab_guard();
    write_hosts("10.0.0.1 f\n");
    volatile int stop = 0;
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, spinner, (void *)&stop), 0);
    int failures = 0;
    for (int i = 0; i < FORKS; i++) {
        fr_hosts_reset();  /* a reload is likely to be under way at fork time */
        pid_t pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
            alarm(CHILD_TIMEOUT_S);
            struct fr_hosts_result *r = NULL;
            if (fr_hosts_lookup("f", FR_HOSTS_ALL, 0, &r) != FR_OK)
                _exit(1);
            fr_hosts_result_free(r);
            fr_hosts_reset();
            if (fr_hosts_lookup("f", FR_HOSTS_FAMILY, AF_INET, &r) != FR_OK)
                _exit(2);
            fr_hosts_result_free(r);
            _exit(0);
        }
        int status = 0;
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            failures++;
            cr_log_error("child %d: status 0x%x%s", i, status,
                         WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM ? " (hung)" : "");
        }
    }
    stop = 1;
    pthread_join(th, NULL);
    cr_expect_eq(failures, 0);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Printed, not asserted: a shared 2-core machine is too noisy for a bound. */
Test(hosts, print_lookup_cost)
{
    lab_guard();
    fr_clock_set_fake(0);
    char *s = NULL;
    size_t sl = 0;
    FILE *o = open_memstream(&s, &sl);
    fputs("127.0.0.1 localhost\n::1 localhost ip6-localhost\n", o);
    for (int i = 0; i < 1000; i++)
        fprintf(o, "10.%d.%d.1 filler%d.example f%d\n", i / 256, i % 256, i, i);
    fclose(o);
    write_hosts(s);
    free(s);
    static const char *const what[] = { "miss (name not in hosts)", "hit localhost, AF_UNSPEC",
                                        "hit localhost, AF_INET" };
    static uint64_t ns[COST_SAMPLES];
    for (int w = 0; w < 3; w++) {
        for (int i = 0; i < COST_SAMPLES; i++) {
            struct fr_hosts_result *r = NULL;
            uint64_t t0 = now_ns();
            enum fr_status st = w == 0   ? fr_hosts_lookup("www.example.com", FR_HOSTS_ALL, 0, &r)
                                : w == 1 ? fr_hosts_lookup("localhost", FR_HOSTS_ALL, 0, &r)
                                         : fr_hosts_lookup("localhost", FR_HOSTS_FAMILY, AF_INET, &r);
            ns[i] = now_ns() - t0;
            cr_assert_eq(st, w == 0 ? FR_NOTFOUND : FR_OK);
            fr_hosts_result_free(r);
        }
        qsort(ns, COST_SAMPLES, sizeof ns[0], cmp_u64);
        printf("hosts lookup cost, %s (1002-line file): median %llu ns, p99 %llu ns\n", what[w],
               (unsigned long long)ns[COST_SAMPLES / 2],
               (unsigned long long)ns[COST_SAMPLES * 99 / 100]);
    }
    fflush(stdout);
}
