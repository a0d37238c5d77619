/* fastres: tests for preload/base/config*.c (resolv.conf, nsswitch.conf and
 * FASTRES_* settings).
 *
 * No network. Every case goes through fr_config_parse() with the file
 * texts and a stub environment, so nothing depends on the machine's
 * files. Inside the lab (test/lab.sh bind-mounts a writable
 * /etc/resolv.conf) the resolv.conf cases are also compared with what
 * glibc's res_ninit makes of the same text. Criterion runs each test in its
 * own process, so the "warn once" state and the log level start fresh. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <resolv.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <errno.h>
#include <unistd.h>

#include "base/config.h"
#include "base/config_test.h"
#include "lab_lib.h"

/* Largest stderr output one parse may produce in these tests. */
#define ERRBUF 8192

/* ---- stub environment ---- */

static void env_set(const char *name, const char *value)
{
    cr_assert_eq(lab_env_set(name, value), 0, "stub environment full");
}

/* Parse with fd 2 redirected to a pipe; returns the config and fills err
 * with what was written to stderr (fastres logs with write(2) on fd 2). */
static struct fr_config *parse_capture(const char *resolv, const char *nss, int use_env, char *err,
                                       size_t errsz)
{
    int p[2];
    cr_assert_eq(pipe2(p, O_NONBLOCK), 0);
    fflush(stderr);
    int saved = dup(2);
    cr_assert_geq(saved, 0);
    dup2(p[1], 2);
    struct fr_config *c = fr_config_parse(resolv, nss, use_env ? lab_env_get : NULL);
    dup2(saved, 2);
    close(saved);
    close(p[1]);
    ssize_t n = read(p[0], err, errsz - 1);
    err[n > 0 ? n : 0] = '\0';
    close(p[0]);
    cr_assert_not_null(c, "fr_config_parse returned NULL");
    return c;
}

static unsigned count_lines(const char *s)
{
    unsigned n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Criterion hands parameters to the test process by copy: cases hold
 * arrays, not pointers, and this marks a missing file. */
#define MISSING "<missing>"
static const char *file_text(const char *t)
{
    return strcmp(t, MISSING) ? t : NULL;
}

static const char *NSS_OK = "passwd: files\nhosts: files dns\nnetworks: files\n";

/* Text form "addr" or "addr%scope" and port of a configured server. */
static void server_text(const struct fr_server *s, char *out, size_t outsz, unsigned *port,
                        unsigned *scope)
{
    char a[INET6_ADDRSTRLEN];
    if (s->addr.ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const void *)&s->addr;
        inet_ntop(AF_INET, &sin->sin_addr, a, sizeof a);
        *port = ntohs(sin->sin_port);
        *scope = 0;
        cr_assert_eq(s->addrlen, sizeof *sin);
    } else {
        cr_assert_eq(s->addr.ss_family, AF_INET6, "family %d", s->addr.ss_family);
        const struct sockaddr_in6 *sin6 = (const void *)&s->addr;
        inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof a);
        *port = ntohs(sin6->sin6_port);
        *scope = sin6->sin6_scope_id;
        cr_assert_eq(s->addrlen, sizeof *sin6);
    }
    snprintf(out, outsz, "%s", a);
}

/* ---- resolv.conf ---- */

struct resolv_case {
    char title[48];
    char text[200];            /* MISSING: no file */
    unsigned nservers;
    char servers[3][48];       /* inet_ntop form; port 53 */
    unsigned scope0;           /* scope id of server 0 (IPv6) */
    int ndomains;              /* -1: not checked (depends on host name) */
    char domains[4][24];
    unsigned ndots, timeout_s, attempts;
    int rotate, edns0;
    int punt;
};

static struct resolv_case resolv_cases[] = {
    { "v4", "nameserver 192.0.2.1\n", 1, { "192.0.2.1" }, 0, 0, { "" }, 1, 5, 2, 0, 0, 0 },
    { "v6", "nameserver 2001:db8::53\n", 1, { "2001:db8::53" }, 0, 0, { "" }, 1, 5, 2, 0, 0, 0 },
    { "v6 numeric scope", "nameserver fe80::1%7\n", 1, { "fe80::1" }, 7, 0, { "" }, 1, 5, 2, 0, 0, 0 },
    { "tab and trailing comment", "nameserver\t192.0.2.7 # main\n", 1, { "192.0.2.7" }, 0, 0, { "" },
      1, 5, 2, 0, 0, 0 },
    { "four servers keep three",
      "nameserver 192.0.2.1\nnameserver 192.0.2.2\nnameserver 2001:db8::3\nnameserver 192.0.2.4\n", 3,
      { "192.0.2.1", "192.0.2.2", "2001:db8::3" }, 0, 0, { "" }, 1, 5, 2, 0, 0, 0 },
    { "bad server line skipped", "nameserver banana\nnameserver 192.0.2.9\n", 1, { "192.0.2.9" }, 0,
      0, { "" }, 1, 5, 2, 0, 0, 0 },
    { "domain then search: search wins", "nameserver 192.0.2.1\ndomain a.test\nsearch b.test c.test\n",
      1, { "192.0.2.1" }, 0, 2, { "b.test", "c.test" }, 1, 5, 2, 0, 0, 0 },
    { "search then domain: domain wins", "nameserver 192.0.2.1\nsearch b.test c.test\ndomain a.test\n",
      1, { "192.0.2.1" }, 0, 1, { "a.test" }, 1, 5, 2, 0, 0, 0 },
    { "domain keeps its first word", "domain a.test b.test\n", 1, { "127.0.0.1" }, 0, 1, { "a.test" },
      1, 5, 2, 0, 0, 0 },
    { "search with tabs", "search\tx.test\ty.test  z.test\n", 1, { "127.0.0.1" }, 0, 3,
      { "x.test", "y.test", "z.test" }, 1, 5, 2, 0, 0, 0 },
    { "options", "nameserver 192.0.2.1\noptions ndots:3 timeout:2 attempts:4\n", 1, { "192.0.2.1" },
      0, 0, { "" }, 3, 2, 4, 0, 0, 0 },
    { "options caps", "nameserver 192.0.2.1\noptions ndots:99 timeout:99 attempts:99\n", 1,
      { "192.0.2.1" }, 0, 0, { "" }, 15, 30, 5, 0, 0, 0 },
    { "options on two lines", "nameserver 192.0.2.1\noptions ndots:2\noptions timeout:1\n", 1,
      { "192.0.2.1" }, 0, 0, { "" }, 2, 1, 2, 0, 0, 0 },
    { "rotate edns0", "nameserver 192.0.2.1\noptions rotate edns0\n", 1, { "192.0.2.1" }, 0, 0,
      { "" }, 1, 5, 2, 1, 1, 0 },
    { "no-tld-query use-vc trust-ad", "nameserver 192.0.2.1\noptions no-tld-query use-vc trust-ad\n",
      1, { "192.0.2.1" }, 0, 0, { "" }, 1, 5, 2, 0, 0, 0 },
    { "no_tld_query (glibc's other spelling)", "nameserver 192.0.2.1\noptions no_tld_query\n", 1,
      { "192.0.2.1" }, 0, 0, { "" }, 1, 5, 2, 0, 0, 0 },
    { "options match by prefix", "nameserver 192.0.2.1\noptions rotatefoo edns0x\n", 1,
      { "192.0.2.1" }, 0, 0, { "" }, 1, 5, 2, 1, 1, 0 },
    { "short IPv4 forms (inet_aton)", "nameserver 10.1.2\nnameserver 127.1\nnameserver 1.2.3.4x\n", 2,
      { "10.1.0.2", "127.0.0.1" }, 0, 0, { "" }, 1, 5, 2, 0, 0, 0 },
    { "unknown options ignored", "nameserver 192.0.2.1\noptions frobnicate ndots:4 colour:blue\n", 1,
      { "192.0.2.1" }, 0, 0, { "" }, 4, 5, 2, 0, 0, 0 },
    { "single-request is transport only", "nameserver 192.0.2.1\noptions single-request-reopen\n",
      1, { "192.0.2.1" }, 0, 0, { "" }, 1, 5, 2, 0, 0, 0 },
    { "punt inet6", "nameserver 192.0.2.1\noptions inet6\n", 1, { "192.0.2.1" }, 0, 0, { "" }, 1, 5,
      2, 0, 0, 1 },
    { "punt no-aaaa", "nameserver 192.0.2.1\noptions no-aaaa\n", 1, { "192.0.2.1" }, 0, 0, { "" }, 1,
      5, 2, 0, 0, 1 },
    { "punt sortlist", "nameserver 192.0.2.1\nsortlist 10.0.0.0/255.0.0.0\n", 1, { "192.0.2.1" }, 0,
      0, { "" }, 1, 5, 2, 0, 0, 1 },
    { "comments ; and #", "; nameserver 192.0.2.1\n# nameserver 192.0.2.2\nnameserver 192.0.2.3\n"
      "#search no.test\n;options ndots:5\n", 1, { "192.0.2.3" }, 0, 0, { "" }, 1, 5, 2, 0, 0, 0 },
    { "keyword needs a blank", "nameserver192.0.2.1\nsearchfoo.test\nnameserver 192.0.2.2\n", 1,
      { "192.0.2.2" }, 0, 0, { "" }, 1, 5, 2, 0, 0, 0 },
    { "no final newline", "nameserver 192.0.2.5", 1, { "192.0.2.5" }, 0, 0, { "" }, 1, 5, 2, 0, 0, 0 },
    { "missing file: 127.0.0.1", MISSING, 1, { "127.0.0.1" }, 0, -1, { "" }, 1, 5, 2, 0, 0, 0 },
    { "empty file: 127.0.0.1", "", 1, { "127.0.0.1" }, 0, -1, { "" }, 1, 5, 2, 0, 0, 0 },
};

ParameterizedTestParameters(config, resolv)
{
    return cr_make_param_array(struct resolv_case, resolv_cases,
                               sizeof resolv_cases / sizeof resolv_cases[0]);
}

/* glibc's view of the same text, read through the lab's /etc/resolv.conf. */
static void compare_with_glibc(const struct resolv_case *rc, const struct fr_config *c)
{
    cr_assert_eq(lab_write_file("/etc/resolv.conf", rc->text), 0);
    struct __res_state rs;
    memset(&rs, 0, sizeof rs);
    cr_assert_eq(res_ninit(&rs), 0, "%s: res_ninit failed", rc->title);
    cr_expect_eq((unsigned)rs.nscount, c->nservers, "%s: glibc has %d servers, fastres %u",
                 rc->title, rs.nscount, c->nservers);
    cr_expect_eq((unsigned)rs.ndots, c->ndots, "%s: ndots glibc %d fastres %u", rc->title, rs.ndots,
                 c->ndots);
    cr_expect_eq((unsigned)rs.retrans, c->timeout_s, "%s: timeout glibc %d fastres %u", rc->title,
                 rs.retrans, c->timeout_s);
    cr_expect_eq((unsigned)rs.retry, c->attempts, "%s: attempts glibc %d fastres %u", rc->title,
                 rs.retry, c->attempts);
    cr_expect_eq(!!(rs.options & RES_ROTATE), c->rotate, "%s: rotate", rc->title);
    cr_expect_eq(!!(rs.options & RES_USE_EDNS0), c->edns0, "%s: edns0", rc->title);
    cr_expect_eq(!!(rs.options & RES_NOTLDQUERY), c->no_tld_query, "%s: no-tld-query", rc->title);
    cr_expect_eq(!!(rs.options & RES_USEVC), c->use_vc, "%s: use-vc", rc->title);
    cr_expect_eq(!!(rs.options & RES_TRUSTAD), c->trust_ad, "%s: trust-ad", rc->title);
    unsigned nd = 0;
    while (nd < MAXDNSRCH && rs.dnsrch[nd])
        nd++;
    cr_expect_eq(nd, c->ndomains, "%s: glibc has %u search domains, fastres %u", rc->title, nd,
                 c->ndomains);
    for (unsigned i = 0; i < nd && i < c->ndomains; i++)
        cr_expect_str_eq(rs.dnsrch[i], c->domains[i], "%s: domain %u", rc->title, i);
    res_nclose(&rs);
}

ParameterizedTest(struct resolv_case *rc, config, resolv)
{
    char err[ERRBUF];
    struct fr_config *c = parse_capture(file_text(rc->text), NSS_OK, 0, err, sizeof err);
    cr_assert_eq(c->nservers, rc->nservers, "%s: %u servers, expected %u", rc->title, c->nservers,
                 rc->nservers);
    for (unsigned i = 0; i < rc->nservers; i++) {
        char a[INET6_ADDRSTRLEN];
        unsigned port, scope;
        server_text(&c->servers[i], a, sizeof a, &port, &scope);
        cr_expect_str_eq(a, rc->servers[i], "%s: server %u", rc->title, i);
        cr_expect_eq(port, 53, "%s: server %u port %u", rc->title, i, port);
        if (i == 0)
            cr_expect_eq(scope, rc->scope0, "%s: scope %u", rc->title, scope);
    }
    if (rc->ndomains >= 0) {
        cr_assert_eq(c->ndomains, (unsigned)rc->ndomains, "%s: %u domains, expected %d", rc->title,
                     c->ndomains, rc->ndomains);
        for (int i = 0; i < rc->ndomains; i++)
            cr_expect_str_eq(c->domains[i], rc->domains[i], "%s: domain %d", rc->title, i);
    }
    cr_expect_eq(c->ndots, rc->ndots, "%s: ndots %u", rc->title, c->ndots);
    cr_expect_eq(c->timeout_s, rc->timeout_s, "%s: timeout %u", rc->title, c->timeout_s);
    cr_expect_eq(c->attempts, rc->attempts, "%s: attempts %u", rc->title, c->attempts);
    cr_expect_eq(c->rotate, rc->rotate, "%s: rotate", rc->title);
    cr_expect_eq(c->edns0, rc->edns0, "%s: edns0", rc->title);
    cr_expect_eq(c->punt != NULL, rc->punt, "%s: punt %s", rc->title, c->punt ? c->punt : "(none)");
    cr_expect_eq(c->hosts_first, 1, "%s: nsswitch files dns", rc->title);
    cr_expect_str_empty(err, "%s: unexpected stderr: %s", rc->title, err);
    /* The default deadline is glibc's for the same file. */
    cr_expect_eq(c->deadline_ms, fr_config_glibc_deadline_ms(c->timeout_s, c->attempts, c->nservers),
                 "%s: deadline %u", rc->title, c->deadline_ms);
    if (file_text(rc->text) && rc->text[0] && lab_in_lab())
        compare_with_glibc(rc, c);
    fr_config_free(c);
}

/* Link-local server with an interface name: the scope is lo's index. */
Test(config, v6_scope_by_interface_name)
{
    unsigned lo = if_nametoindex("lo");
    cr_assert_gt(lo, 0, "no lo interface");
    char err[ERRBUF];
    struct fr_config *c = parse_capture("nameserver fe80::53%lo\n", NSS_OK, 0, err, sizeof err);
    char a[INET6_ADDRSTRLEN];
    unsigned port, scope;
    cr_assert_eq(c->nservers, 1);
    server_text(&c->servers[0], a, sizeof a, &port, &scope);
    cr_expect_str_eq(a, "fe80::53");
    cr_expect_eq(scope, lo);
    fr_config_free(c);
    /* An unknown interface name makes the line unusable: default server. */
    c = parse_capture("nameserver fe80::53%nosuchif0\n", NSS_OK, 0, err, sizeof err);
    server_text(&c->servers[0], a, sizeof a, &port, &scope);
    cr_expect_str_eq(a, "127.0.0.1");
    fr_config_free(c);
}

/* Without domain/search lines the search list is the host name's domain.
 * A private UTS namespace lets the test choose the host name. */
struct hostname_case {
    char hostname[32];
    char domain[32];      /* "": no search domain */
};

static struct hostname_case hostname_cases[] = {
    { "box.example.org", "example.org" },
    { "box", "" },
    { "box.", "" },          /* nothing after the dot */
    { "a.b.c.test", "b.c.test" },
};

ParameterizedTestParameters(config, hostname_domain)
{
    return cr_make_param_array(struct hostname_case, hostname_cases,
                               sizeof hostname_cases / sizeof hostname_cases[0]);
}

ParameterizedTest(struct hostname_case *hc, config, hostname_domain)
{
    if (unshare(CLONE_NEWUTS) != 0)
        cr_skip_test("cannot make a UTS namespace (not root?)");
    cr_assert_eq(sethostname(hc->hostname, strlen(hc->hostname)), 0);
    char err[ERRBUF];
    struct fr_config *c = parse_capture("nameserver 192.0.2.1\n", NSS_OK, 0, err, sizeof err);
    if (hc->domain[0]) {
        cr_assert_eq(c->ndomains, 1, "%s: %u domains", hc->hostname, c->ndomains);
        cr_expect_str_eq(c->domains[0], hc->domain);
    } else {
        cr_expect_eq(c->ndomains, 0, "%s: %u domains", hc->hostname, c->ndomains);
    }
    fr_config_free(c);
    /* An explicit search line wins over the host name. */
    c = parse_capture("search s.test\n", NSS_OK, 0, err, sizeof err);
    cr_assert_eq(c->ndomains, 1);
    cr_expect_str_eq(c->domains[0], "s.test");
    fr_config_free(c);
}

/* ---- nsswitch.conf ---- */

struct nss_case {
    char title[48];
    char text[80];         /* MISSING: no file */
    int punt;
    int hosts_first;       /* when not punting */
};

static struct nss_case nss_cases[] = {
    { "files dns", "hosts: files dns\n", 0, 1 },
    { "dns", "hosts: dns\n", 0, 0 },
    { "tabs and indentation", "  hosts:\tfiles\tdns\n", 0, 1 },
    { "no blank after colon", "hosts:files dns\n", 0, 1 },
    { "trailing comment", "hosts: files dns # the usual\n", 0, 1 },
    { "first hosts line wins", "hosts: files dns\nhosts: files\n", 0, 1 },
    { "first hosts line wins (punt)", "hosts: files\nhosts: files dns\n", 1, 0 },
    { "files only", "hosts: files\n", 1, 0 },
    { "dns files", "hosts: dns files\n", 1, 0 },
    /* Other sources (issue 11): NSS modules fastres calls in their place. */
    { "myhostname", "hosts: files dns myhostname\n", 0, 0 },
    { "Debian myhostname", "hosts: files myhostname dns\n", 0, 0 },
    { "mdns", "hosts: files mdns4_minimal [NOTFOUND=return] dns\n", 0, 0 },
    { "resolve", "hosts: resolve [!UNAVAIL=return] files\n", 0, 0 },
    { "systemd", "hosts: files resolve [!UNAVAIL=return] dns myhostname\n", 0, 0 },
    { "default action spelled out", "hosts: files [SUCCESS=return] dns\n", 0, 1 },
    { "action item on files", "hosts: files [NOTFOUND=return] dns\n", 1, 0 },
    { "merge", "hosts: files dns myhostname [SUCCESS=merge]\n", 1, 0 },
    { "success continues", "hosts: files mymachines [SUCCESS=continue] dns\n", 1, 0 },
    { "bad status", "hosts: files dns mdns [FOUND=return]\n", 1, 0 },
    { "unclosed bracket", "hosts: files dns mdns [NOTFOUND=return\n", 1, 0 },
    { "dns twice", "hosts: dns files dns myhostname\n", 1, 0 },
    { "no hosts line", "passwd: files\ngroup: files\n", 1, 0 },
    { "commented hosts line", "#hosts: files dns\n", 1, 0 },
    { "hostsx is not hosts", "hostsx: files dns\n", 1, 0 },
    { "missing file", MISSING, 1, 0 },
};

ParameterizedTestParameters(config, nsswitch)
{
    return cr_make_param_array(struct nss_case, nss_cases, sizeof nss_cases / sizeof nss_cases[0]);
}

ParameterizedTest(struct nss_case *nc, config, nsswitch)
{
    char err[ERRBUF];
    struct fr_config *c = parse_capture("nameserver 192.0.2.1\n", file_text(nc->text), 0, err, sizeof err);
    cr_expect_eq(c->punt != NULL, nc->punt, "%s: punt = %s", nc->title, c->punt ? c->punt : "(none)");
    if (!nc->punt)
        cr_expect_eq(c->hosts_first, nc->hosts_first, "%s: hosts_first %d", nc->title,
                     c->hosts_first);
    fr_config_free(c);
}

/* The sources and actions of a line with modules, as glibc parses them. */
Test(config, nsswitch_sources_and_actions)
{
    char err[ERRBUF];
    struct fr_config *c = parse_capture("nameserver 192.0.2.1\n",
                                        "hosts: files resolve [!UNAVAIL=return] dns myhostname "
                                        "mdns4_minimal [notfound=RETURN TRYAGAIN = return]\n",
                                        0, err, sizeof err);
    cr_assert_null(c->punt, "punt: %s", c->punt);
    cr_assert_eq(c->nss_n, 5);
    cr_expect_eq(c->nss_nmodules, 3);
    static const char *const names[] = { "files", "resolve", "dns", "myhostname", "mdns4_minimal" };
    static const enum fr_nss_kind kinds[] = { FR_NSS_FILES, FR_NSS_MODULE, FR_NSS_DNS,
                                              FR_NSS_MODULE, FR_NSS_MODULE };
    /* ret[] per TRYAGAIN, UNAVAIL, NOTFOUND, SUCCESS */
    static const unsigned char ret[5][FR_NSS_NST] = {
        { 0, 0, 0, 1 }, { 1, 0, 1, 1 }, { 0, 0, 0, 1 }, { 0, 0, 0, 1 }, { 1, 0, 1, 1 },
    };
    for (unsigned i = 0; i < 5; i++) {
        cr_expect_str_eq(c->nss[i].name, names[i]);
        cr_expect_eq(c->nss[i].kind, kinds[i], "%s", names[i]);
        for (int k = 0; k < FR_NSS_NST; k++)
            cr_expect_eq(c->nss[i].ret[k], ret[i][k], "%s status %d", names[i], k);
    }
    fr_config_free(c);
}

/* ---- glibc's give-up time ---- */

struct deadline_case {
    unsigned timeout_s, attempts, nservers;
    unsigned ms;
};

/* res_send.c send_dg: server i waits (retrans << i) / nscount seconds for
 * i > 0 (retrans for i = 0), at least 1 s; each attempt asks every server. */
static struct deadline_case deadline_cases[] = {
    { 5, 2, 1, 10000 },   /* defaults, one server: 5 + 5 */
    { 5, 2, 2, 20000 },   /* (5 + 10/2) x 2 */
    { 5, 2, 3, 28000 },   /* (5 + 10/3 + 20/3) x 2 = (5 + 3 + 6) x 2 */
    { 1, 1, 1, 1000 },
    { 1, 1, 2, 2000 },    /* 1 + 2/2 */
    { 1, 1, 3, 3000 },    /* 1 + max(1, 2/3) + max(1, 4/3) */
    { 2, 3, 2, 12000 },   /* (2 + 4/2) x 3 */
    { 30, 5, 1, 150000 }, /* the caps */
    { 0, 1, 1, 1000 },    /* timeout:0 still waits a second */
    { 5, 0, 1, 5000 },    /* attempts:0 still sends once */
};

ParameterizedTestParameters(config, glibc_deadline)
{
    return cr_make_param_array(struct deadline_case, deadline_cases,
                               sizeof deadline_cases / sizeof deadline_cases[0]);
}

ParameterizedTest(struct deadline_case *dc, config, glibc_deadline)
{
    unsigned ms = fr_config_glibc_deadline_ms(dc->timeout_s, dc->attempts, dc->nservers);
    cr_expect_eq(ms, dc->ms, "timeout %u attempts %u servers %u: %u ms, expected %u",
                 dc->timeout_s, dc->attempts, dc->nservers, ms, dc->ms);
}

/* The per-server budgets split the deadline in glibc's proportions. */
Test(config, server_budgets)
{
    char err[ERRBUF];
    struct fr_config *c = parse_capture(
        "nameserver 192.0.2.1\nnameserver 192.0.2.2\nnameserver 192.0.2.3\n", NSS_OK, 0, err,
        sizeof err);
    cr_assert_eq(c->deadline_ms, 28000);
    /* weights 5, 3, 6 of 14 */
    cr_expect_eq(c->server_budget_ms[0], 10000);
    cr_expect_eq(c->server_budget_ms[1], 6000);
    cr_expect_eq(c->server_budget_ms[2], 12000);
    fr_config_free(c);

    env_set("FASTRES_TIMEOUT_MS", "2000");
    c = parse_capture("nameserver 192.0.2.1\nnameserver 192.0.2.2\n", NSS_OK, 1, err, sizeof err);
    cr_assert_eq(c->deadline_ms, 2000);
    cr_expect_eq(c->server_budget_ms[0], 1000);
    cr_expect_eq(c->server_budget_ms[1], 1000);
    fr_config_free(c);
}

/* ---- FASTRES_* environment ---- */

enum field {
    F_DISABLED, F_DEADLINE, F_RESEND, F_RESEND_MAX, F_CACHE_SIZE, F_MIN_TTL, F_MAX_TTL,
    F_NEG_MAX_TTL, F_STALE_MAX, F_REFRESH, F_STATS, F_RACE, F_HEDGE_MIN, F_HEDGE_MAX, F_TCP, F_PARALLEL,
};

static long field_get(const struct fr_config *c, enum field f)
{
    switch (f) {
    case F_DISABLED: return c->disabled;
    case F_DEADLINE: return c->deadline_ms;
    case F_RESEND: return c->resend_ms;
    case F_RESEND_MAX: return c->resend_max_ms;
    case F_CACHE_SIZE: return c->cache_size;
    case F_MIN_TTL: return c->cache_min_ttl;
    case F_MAX_TTL: return c->cache_max_ttl;
    case F_NEG_MAX_TTL: return c->cache_neg_max_ttl;
    case F_STALE_MAX: return c->stale_max;
    case F_RACE: return c->race;
    case F_HEDGE_MIN: return c->hedge_min_ms;
    case F_HEDGE_MAX: return c->hedge_max_ms;
    case F_TCP: return c->tcp;
    case F_PARALLEL: return c->parallel_search;
    case F_REFRESH: return c->refresh;
    case F_STATS: return c->stats;
    }
    return -1;
}

struct env_case {
    char var[32], value[32];
    enum field field;
    long expect;      /* the field's value after parsing */
    int warn;         /* 1: exactly one stderr line naming var */
};

/* Defaults with one server (resolv.conf below): deadline 10000 ms, resend
 * 200, resend max 1000, cache 1024, TTLs 0 / 86400 / 3600, stale 86400,
 * refresh 1, stats 0. */
static struct env_case env_cases[] = {
    { "FASTRES_DISABLE", "1", F_DISABLED, 1, 0 },
    { "FASTRES_DISABLE", "yes", F_DISABLED, 1, 0 },
    { "FASTRES_DISABLE", "0", F_DISABLED, 0, 0 },
    { "FASTRES_DISABLE", "maybe", F_DISABLED, 0, 1 },
    { "FASTRES_TIMEOUT_MS", "300", F_DEADLINE, 300, 0 },
    { "FASTRES_TIMEOUT_MS", "600000", F_DEADLINE, 600000, 0 },
    { "FASTRES_TIMEOUT_MS", "600001", F_DEADLINE, 10000, 1 },
    { "FASTRES_TIMEOUT_MS", "0", F_DEADLINE, 10000, 1 },
    { "FASTRES_TIMEOUT_MS", "-5", F_DEADLINE, 10000, 1 },
    { "FASTRES_TIMEOUT_MS", "12ms", F_DEADLINE, 10000, 1 },
    { "FASTRES_TIMEOUT_MS", "", F_DEADLINE, 10000, 1 },
    { "FASTRES_TIMEOUT_MS", "99999999999999999999999", F_DEADLINE, 10000, 1 },
    { "FASTRES_RESEND_MS", "50", F_RESEND, 50, 0 },
    { "FASTRES_RESEND_MS", "fast", F_RESEND, 200, 1 },
    { "FASTRES_RESEND_MS", "5000", F_RESEND_MAX, 5000, 0 },  /* max raised to resend */
    { "FASTRES_RESEND_MAX_MS", "400", F_RESEND_MAX, 400, 0 },
    { "FASTRES_RESEND_MAX_MS", "0", F_RESEND_MAX, 1000, 1 },
    { "FASTRES_CACHE_SIZE", "0", F_CACHE_SIZE, 0, 0 },
    { "FASTRES_CACHE_SIZE", "4096", F_CACHE_SIZE, 4096, 0 },
    { "FASTRES_CACHE_SIZE", "lots", F_CACHE_SIZE, 1024, 1 },
    { "FASTRES_CACHE_MIN_TTL", "30", F_MIN_TTL, 30, 0 },
    { "FASTRES_CACHE_MIN_TTL", "x", F_MIN_TTL, 0, 1 },
    { "FASTRES_CACHE_MAX_TTL", "600", F_MAX_TTL, 600, 0 },
    { "FASTRES_CACHE_MAX_TTL", "1.5", F_MAX_TTL, 86400, 1 },
    { "FASTRES_CACHE_NEG_MAX_TTL", "5", F_NEG_MAX_TTL, 5, 0 },
    { "FASTRES_CACHE_NEG_MAX_TTL", "-1", F_NEG_MAX_TTL, 3600, 1 },
    { "FASTRES_STALE_MAX", "0", F_STALE_MAX, 0, 0 },
    { "FASTRES_STALE_MAX", "forever", F_STALE_MAX, 86400, 1 },
    { "FASTRES_MODE", "race", F_RACE, 1, 0 },
    { "FASTRES_MODE", "RACE", F_RACE, 1, 0 },
    { "FASTRES_MODE", "hedge", F_RACE, 0, 0 },
    { "FASTRES_MODE", "fast", F_RACE, 0, 1 },
    { "FASTRES_MODE", "", F_RACE, 0, 1 },
    { "FASTRES_HEDGE_MIN_MS", "2", F_HEDGE_MIN, 2, 0 },
    { "FASTRES_HEDGE_MIN_MS", "0", F_HEDGE_MIN, 5, 1 },
    { "FASTRES_HEDGE_MIN_MS", "-3", F_HEDGE_MIN, 5, 1 },
    { "FASTRES_HEDGE_MIN_MS", "300", F_HEDGE_MAX, 300, 0 },  /* cap raised to the floor */
    { "FASTRES_HEDGE_MAX_MS", "50", F_HEDGE_MAX, 50, 0 },
    { "FASTRES_HEDGE_MAX_MS", "soon", F_HEDGE_MAX, 200, 1 },
    { "FASTRES_TRANSPORT", "tcp", F_TCP, 1, 0 },
    { "FASTRES_TRANSPORT", "udp", F_TCP, 0, 0 },
    { "FASTRES_TRANSPORT", "tls", F_TCP, 0, 1 },
    { "FASTRES_PARALLEL_SEARCH", "0", F_PARALLEL, 0, 0 },
    { "FASTRES_PARALLEL_SEARCH", "maybe", F_PARALLEL, 1, 1 },
    { "FASTRES_REFRESH", "0", F_REFRESH, 0, 0 },
    { "FASTRES_REFRESH", "2", F_REFRESH, 1, 1 },
    { "FASTRES_STATS", "1", F_STATS, 1, 0 },
    { "FASTRES_STATS", "on", F_STATS, 1, 0 },
    { "FASTRES_STATS", "please", F_STATS, 0, 1 },
};

ParameterizedTestParameters(config, env)
{
    return cr_make_param_array(struct env_case, env_cases, sizeof env_cases / sizeof env_cases[0]);
}

ParameterizedTest(struct env_case *ec, config, env)
{
    char err[ERRBUF];
    env_set(ec->var, ec->value);
    struct fr_config *c = parse_capture("nameserver 192.0.2.1\n", NSS_OK, 1, err, sizeof err);
    long got = field_get(c, ec->field);
    cr_expect_eq(got, ec->expect, "%s=\"%s\": got %ld, expected %ld", ec->var, ec->value, got,
                 ec->expect);
    if (ec->warn) {
        cr_expect_eq(count_lines(err), 1, "%s=\"%s\": expected one stderr line, got: %s", ec->var,
                     ec->value, err);
        cr_expect(strstr(err, ec->var) != NULL, "stderr does not name %s: %s", ec->var, err);
    } else {
        cr_expect_str_empty(err, "%s=\"%s\": unexpected stderr: %s", ec->var, ec->value, err);
    }
    fr_config_free(c);
}

/* Bad settings are reported on the first configuration only (a re-read
 * after a file change must not repeat them), one line per variable. */
Test(config, env_warns_once_per_variable)
{
    char err[ERRBUF];
    env_set("FASTRES_TIMEOUT_MS", "soon");
    env_set("FASTRES_CACHE_SIZE", "big");
    struct fr_config *c = parse_capture("nameserver 192.0.2.1\n", NSS_OK, 1, err, sizeof err);
    cr_expect_eq(count_lines(err), 2, "two bad variables, stderr: %s", err);
    cr_expect(strstr(err, "FASTRES_TIMEOUT_MS") && strstr(err, "FASTRES_CACHE_SIZE"), "%s", err);
    fr_config_free(c);
    c = parse_capture("nameserver 192.0.2.1\n", NSS_OK, 1, err, sizeof err);
    cr_expect_str_empty(err, "second configuration repeated the warning: %s", err);
    cr_expect_eq(c->deadline_ms, 10000);
    fr_config_free(c);
}

/* FASTRES_LOG: valid levels are silent, a bad one warns. */
struct log_case {
    char value[16];
    int warn;
};
static struct log_case log_cases[] = {
    { "error", 0 }, { "warn", 0 }, { "info", 0 }, { "DEBUG", 0 }, { "loud", 1 }, { "", 1 },
};
ParameterizedTestParameters(config, env_log)
{
    return cr_make_param_array(struct log_case, log_cases, sizeof log_cases / sizeof log_cases[0]);
}
ParameterizedTest(struct log_case *lc, config, env_log)
{
    char err[ERRBUF];
    env_set("FASTRES_LOG", lc->value);
    struct fr_config *c = parse_capture("nameserver 192.0.2.1\n", NSS_OK, 1, err, sizeof err);
    if (lc->warn) {
        cr_expect_eq(count_lines(err), 1, "FASTRES_LOG=\"%s\": %s", lc->value, err);
        cr_expect(strstr(err, "FASTRES_LOG") != NULL, "%s", err);
    } else {
        cr_expect_str_empty(err, "FASTRES_LOG=\"%s\": %s", lc->value, err);
    }
    fr_config_free(c);
}

/* ---- FASTRES_SERVERS ---- */

struct servers_case {
    char value[112];
    int ok;                   /* 0: warning, resolv.conf's servers kept */
    unsigned n;
    char addr[FR_MAX_SERVERS][16];
    unsigned port[FR_MAX_SERVERS];
    int scope_lo;             /* server 0's scope is lo's index */
};

static struct servers_case servers_cases[] = {
    { "127.0.0.5", 1, 1, { "127.0.0.5" }, { 53 }, 0 },
    { "127.0.0.5:5353", 1, 1, { "127.0.0.5" }, { 5353 }, 0 },
    { "127.0.0.5:5353,127.0.0.6", 1, 2, { "127.0.0.5", "127.0.0.6" }, { 5353, 53 }, 0 },
    { "127.0.0.5, 127.0.0.6:54", 1, 2, { "127.0.0.5", "127.0.0.6" }, { 53, 54 }, 0 },
    { "::1", 1, 1, { "::1" }, { 53 }, 0 },
    { "[::1]:5300", 1, 1, { "::1" }, { 5300 }, 0 },
    { "[::1]", 1, 1, { "::1" }, { 53 }, 0 },
    { "[fe80::1%lo]:53", 1, 1, { "fe80::1" }, { 53 }, 1 },
    { "fe80::1%lo", 1, 1, { "fe80::1" }, { 53 }, 1 },
    { "127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5,127.0.0.6,127.0.0.7,127.0.0.8,127.0.0.9", 1, 8,
      { "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6", "127.0.0.7", "127.0.0.8",
        "127.0.0.9" },
      { 53, 53, 53, 53, 53, 53, 53, 53 }, 0 },
    { "127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5,127.0.0.6,127.0.0.7,127.0.0.8,127.0.0.9,127.0.0.10",
      0, 0, { "" }, { 0 }, 0 },
    { "garbage", 0, 0, { "" }, { 0 }, 0 },
    { "127.0.0.5,garbage", 0, 0, { "" }, { 0 }, 0 },
    { "", 0, 0, { "" }, { 0 }, 0 },
    { ",", 0, 0, { "" }, { 0 }, 0 },
    { "127.0.0.5:0", 0, 0, { "" }, { 0 }, 0 },
    { "127.0.0.5:65536", 0, 0, { "" }, { 0 }, 0 },
    { "127.0.0.5:", 0, 0, { "" }, { 0 }, 0 },
    { "[::1]x", 0, 0, { "" }, { 0 }, 0 },
    { "[::1:53", 0, 0, { "" }, { 0 }, 0 },
    { "fe80::1%nosuchif0", 0, 0, { "" }, { 0 }, 0 },
    { "300.1.1.1", 0, 0, { "" }, { 0 }, 0 },
};

ParameterizedTestParameters(config, env_servers)
{
    return cr_make_param_array(struct servers_case, servers_cases,
                               sizeof servers_cases / sizeof servers_cases[0]);
}

ParameterizedTest(struct servers_case *sc, config, env_servers)
{
    char err[ERRBUF];
    env_set("FASTRES_SERVERS", sc->value);
    struct fr_config *c =
        parse_capture("nameserver 192.0.2.1\nnameserver 192.0.2.2\n", NSS_OK, 1, err, sizeof err);
    if (!sc->ok) {
        cr_expect_eq(count_lines(err), 1, "FASTRES_SERVERS=\"%s\": stderr %s", sc->value, err);
        cr_expect(strstr(err, "FASTRES_SERVERS") != NULL, "%s", err);
        cr_assert_eq(c->nservers, 2, "FASTRES_SERVERS=\"%s\": resolv.conf servers not kept",
                     sc->value);
        char a[INET6_ADDRSTRLEN];
        unsigned port, scope;
        server_text(&c->servers[0], a, sizeof a, &port, &scope);
        cr_expect_str_eq(a, "192.0.2.1");
        fr_config_free(c);
        return;
    }
    cr_expect_str_empty(err, "FASTRES_SERVERS=\"%s\": %s", sc->value, err);
    cr_assert_eq(c->nservers, sc->n, "FASTRES_SERVERS=\"%s\": %u servers", sc->value, c->nservers);
    for (unsigned i = 0; i < sc->n; i++) {
        char a[INET6_ADDRSTRLEN];
        unsigned port, scope;
        server_text(&c->servers[i], a, sizeof a, &port, &scope);
        cr_expect_str_eq(a, sc->addr[i], "server %u", i);
        cr_expect_eq(port, sc->port[i], "server %u port %u", i, port);
        if (i == 0 && sc->scope_lo)
            cr_expect_eq(scope, if_nametoindex("lo"), "scope %u", scope);
    }
    fr_config_free(c);
}

/* ---- environment that must be ignored or must punt ---- */

/* A secure-execution program gets no environment: fr_config_parse with a
 * NULL lookup uses defaults even when the process environment says
 * otherwise. */
Test(config, no_environment_means_defaults)
{
    setenv("FASTRES_TIMEOUT_MS", "123", 1);
    setenv("FASTRES_DISABLE", "1", 1);
    setenv("FASTRES_SERVERS", "127.0.0.9", 1);
    char err[ERRBUF];
    struct fr_config *c = parse_capture("nameserver 192.0.2.1\n", NSS_OK, 0, err, sizeof err);
    cr_expect_eq(c->deadline_ms, 10000);
    cr_expect_eq(c->disabled, 0);
    cr_expect_eq(c->nservers, 1);
    cr_expect_str_empty(err);
    fr_config_free(c);
    /* Positive control: this process is not secure, so fr_config_getenv
     * does see the variable, and a parse through it applies it. */
    cr_assert_str_eq(fr_config_getenv("FASTRES_TIMEOUT_MS"), "123");
    c = fr_config_parse("nameserver 192.0.2.1\n", NSS_OK, fr_config_getenv);
    cr_assert_not_null(c);
    cr_expect_eq(c->deadline_ms, 123);
    cr_expect_eq(c->disabled, 1);
    fr_config_free(c);
}

/* HOSTALIASES (alias files for res_search and gethostbyname) is not
 * implemented: fastres steps aside. */
Test(config, hostaliases_punts)
{
    char err[ERRBUF];
    struct fr_config *c = parse_capture("nameserver 192.0.2.1\n", NSS_OK, 1, err, sizeof err);
    cr_expect_null(c->punt, "no glibc variable set, yet punt: %s", c->punt);
    fr_config_free(c);
    env_set("HOSTALIASES", "/tmp/aliases");
    c = parse_capture("nameserver 192.0.2.1\n", NSS_OK, 1, err, sizeof err);
    cr_expect_not_null(c->punt, "HOSTALIASES set but fastres would answer");
    fr_config_free(c);
}

/* ---- LOCALDOMAIN and RES_OPTIONS (issue 11) ----
 * Read as glibc 2.36's res_vinit_1 reads them: LOCALDOMAIN replaces the
 * search list (resolv.conf's domain/search lines are then ignored),
 * RES_OPTIONS is applied after the file's options. Each case is also
 * compared with res_ninit in the lab, with the variables in the real
 * environment (Criterion runs each case in a fresh process, so glibc's
 * configuration cache is built with them). */
#define UNSET "<unset>"
struct glibc_env_case {
    char title[48];
    char text[120];
    char localdomain[48], res_options[64];
    int ndomains;
    char domains[4][16];
    unsigned ndots, timeout_s, attempts;
    int rotate, edns0, no_tld_query;
    int punt;
};

static struct glibc_env_case glibc_env_cases[] = {
    { "LOCALDOMAIN replaces search", "nameserver 192.0.2.1\nsearch a.test b.test\n", "x.test y.test",
      UNSET, 2, { "x.test", "y.test" }, 1, 5, 2, 0, 0, 0, 0 },
    { "LOCALDOMAIN beats a later domain line", "nameserver 192.0.2.1\nsearch a.test\ndomain d.test\n",
      "x.test", UNSET, 1, { "x.test" }, 1, 5, 2, 0, 0, 0, 0 },
    { "LOCALDOMAIN tabs and runs of blanks", "nameserver 192.0.2.1\n", "x.test\t y.test  z.test ",
      UNSET, 3, { "x.test", "y.test", "z.test" }, 1, 5, 2, 0, 0, 0, 0 },
    { "LOCALDOMAIN newline ends it", "nameserver 192.0.2.1\n", "x.test\ny.test", UNSET, 1,
      { "x.test" }, 1, 5, 2, 0, 0, 0, 0 },
    { "LOCALDOMAIN leading blank: empty first", "nameserver 192.0.2.1\n", " x.test", UNSET, 2,
      { "", "x.test" }, 1, 5, 2, 0, 0, 0, 0 },
    { "LOCALDOMAIN empty", "nameserver 192.0.2.1\nsearch a.test\n", "", UNSET, 1, { "" }, 1, 5, 2,
      0, 0, 0, 0 },
    { "RES_OPTIONS over the file", "nameserver 192.0.2.1\noptions ndots:2 timeout:3 attempts:4\n",
      UNSET, "ndots:5 attempts:1", 0, { "" }, 5, 3, 1, 0, 0, 0, 0 },
    { "RES_OPTIONS flags and caps", "nameserver 192.0.2.1\n", UNSET,
      "  rotate\tedns0 no-tld-query timeout:99", 0, { "" }, 1, 30, 2, 1, 1, 1, 0 },
    { "RES_OPTIONS unknown ignored", "nameserver 192.0.2.1\n", UNSET, "frob ndots:3 colour:x", 0,
      { "" }, 3, 5, 2, 0, 0, 0, 0 },
    { "RES_OPTIONS newline is no separator", "nameserver 192.0.2.1\n", UNSET, "ndots:2\nrotate", 0,
      { "" }, 2, 5, 2, 0, 0, 0, 0 },
    { "RES_OPTIONS empty", "nameserver 192.0.2.1\noptions ndots:4\n", UNSET, "", 0, { "" }, 4, 5, 2,
      0, 0, 0, 0 },
    { "RES_OPTIONS no-aaaa still punts", "nameserver 192.0.2.1\n", UNSET, "no-aaaa", 0, { "" }, 1, 5,
      2, 0, 0, 0, 1 },
    { "both", "nameserver 192.0.2.1\nsearch a.test\noptions ndots:2\n", "k.test", "ndots:5", 1,
      { "k.test" }, 5, 5, 2, 0, 0, 0, 0 },
};

ParameterizedTestParameters(config, glibc_env)
{
    return cr_make_param_array(struct glibc_env_case, glibc_env_cases, sizeof glibc_env_cases / sizeof glibc_env_cases[0]);
}

ParameterizedTest(struct glibc_env_case *ec, config, glibc_env)
{
    char err[ERRBUF];
    if (strcmp(ec->localdomain, UNSET))
        env_set("LOCALDOMAIN", ec->localdomain);
    if (strcmp(ec->res_options, UNSET))
        env_set("RES_OPTIONS", ec->res_options);
    struct fr_config *c = parse_capture(ec->text, NSS_OK, 1, err, sizeof err);
    cr_expect_eq(c->punt != NULL, ec->punt, "%s: punt %s", ec->title, c->punt ? c->punt : "(none)");
    if (ec->ndomains >= 0) {
        cr_expect_eq(c->ndomains, (unsigned)ec->ndomains, "%s: %u domains", ec->title, c->ndomains);
        for (int i = 0; i < ec->ndomains && (unsigned)i < c->ndomains; i++)
            cr_expect_str_eq(c->domains[i], ec->domains[i], "%s: domain %d", ec->title, i);
    }
    cr_expect_eq(c->ndots, ec->ndots, "%s: ndots %u", ec->title, c->ndots);
    cr_expect_eq(c->timeout_s, ec->timeout_s, "%s: timeout %u", ec->title, c->timeout_s);
    cr_expect_eq(c->attempts, ec->attempts, "%s: attempts %u", ec->title, c->attempts);
    cr_expect_eq(c->rotate, ec->rotate, "%s: rotate", ec->title);
    cr_expect_eq(c->edns0, ec->edns0, "%s: edns0", ec->title);
    cr_expect_eq(c->no_tld_query, ec->no_tld_query, "%s: no-tld-query", ec->title);
    cr_expect_eq(c->deadline_ms, fr_config_glibc_deadline_ms(c->timeout_s, c->attempts, c->nservers),
                 "%s: deadline %u", ec->title, c->deadline_ms);
    if (lab_in_lab()) {
        if (strcmp(ec->localdomain, UNSET))
            setenv("LOCALDOMAIN", ec->localdomain, 1);
        if (strcmp(ec->res_options, UNSET))
            setenv("RES_OPTIONS", ec->res_options, 1);
        struct resolv_case rc;
        memset(&rc, 0, sizeof rc);
        snprintf(rc.title, sizeof rc.title, "%s", ec->title);
        snprintf(rc.text, sizeof rc.text, "%s", ec->text);
        compare_with_glibc(&rc, c);
    }
    fr_config_free(c);
}

/* Many search domains: up to FR_MAX_DOMAINS kept, more punt. */
Test(config, search_list_limits)
{
    char text[4096] = "search";
    for (int i = 0; i < FR_MAX_DOMAINS; i++) {
        char d[16];
        snprintf(d, sizeof d, " d%d.test", i);
        strcat(text, d);
    }
    strcat(text, "\n");
    char err[ERRBUF];
    struct fr_config *c = parse_capture(text, NSS_OK, 0, err, sizeof err);
    cr_expect_eq(c->ndomains, FR_MAX_DOMAINS);
    cr_expect_null(c->punt);
    cr_expect_str_eq(c->domains[FR_MAX_DOMAINS - 1], "d31.test");
    fr_config_free(c);
    text[strlen(text) - 1] = '\0';
    strcat(text, " one-more.test\n");
    c = parse_capture(text, NSS_OK, 0, err, sizeof err);
    cr_expect_not_null(c->punt, "more than %d search domains must punt", FR_MAX_DOMAINS);
    fr_config_free(c);
}

/* fr_config_free accepts NULL (style rule: destroy functions do). */
Test(config, free_null)
{
    fr_config_free(NULL);
}

/* ---- reading the files (issue 9, defect 2) ----
 * These go through fr_config_acquire() and the real /etc paths. Each test
 * runs in its own process (Criterion), which first moves to a mount
 * namespace of its own with a tmpfs over /etc: the files can then be
 * anything, a directory included, without touching the lab's. */

/* Past the 64 KiB fastres once refused to read (and took for missing). */
#define BIG_FILE_BYTES (70 * 1024)
#define ETC_DIR "a directory"   /* etc_set: make the path a directory */

static void etc_put(const char *path, const char *what)
{
    if (unlink(path) != 0)
        rmdir(path);
    if (!what)
        return;   /* missing */
    if (!strcmp(what, ETC_DIR)) {
        cr_assert_eq(mkdir(path, 0755), 0, "mkdir %s: %s", path, strerror(errno));
        return;
    }
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    fputs(what, f);
    cr_assert_eq(fclose(f), 0);
}

/* resolv.conf and nsswitch.conf as given: text, NULL (missing) or ETC_DIR. */
static void etc_set(const char *resolv, const char *nss)
{
    static int done;
    if (!done) {
        LAB_REQUIRE();
        cr_assert_eq(unshare(CLONE_NEWNS), 0, "unshare: %s", strerror(errno));
        cr_assert_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0, "%s", strerror(errno));
        cr_assert_eq(mount("fastres-test-etc", "/etc", "tmpfs", 0, "size=1m"), 0, "%s", strerror(errno));
        done = 1;
    }
    etc_put("/etc/resolv.conf", resolv);
    etc_put("/etc/nsswitch.conf", nss);
    fr_config_reset();
}

/* BIG_FILE_BYTES of comment lines, then last_line. */
static char *big_text(const char *last_line)
{
    size_t n = BIG_FILE_BYTES + 64 + strlen(last_line) + 1;   /* the loop may overshoot by a line */
    char *t = malloc(n);
    cr_assert_not_null(t);
    size_t len = 0;
    static const char line[] = "# a long comment line, as generated files have them\n";
    while (len < BIG_FILE_BYTES) {
        memcpy(t + len, line, sizeof line - 1);
        len += sizeof line - 1;
    }
    strcpy(t + len, last_line);
    return t;
}

static void expect_server(const struct fr_config *c, const char *addr)
{
    cr_assert_not_null(c, "no configuration: calls would go to libc");
    cr_expect_eq(c->nservers, 1, "%u servers", c->nservers);
    cr_expect_str_eq(c->servers[0].text, addr, "server %s, expected %s", c->servers[0].text, addr);
}

Test(config, resolv_conf_over_64k_is_read_whole)
{
    char *t = big_text("nameserver 127.0.0.33\n");
    etc_set(t, "hosts: files dns\n");
    const struct fr_config *c = fr_config_acquire();
    expect_server(c, "127.0.0.33");
    cr_expect_null(c->punt, "punt: %s", c->punt);
    fr_config_release(c);
    free(t);
}

Test(config, nsswitch_conf_over_64k_is_read_whole)
{
    char *t = big_text("hosts: files dns\n");
    etc_set("nameserver 127.0.0.33\n", t);
    const struct fr_config *c = fr_config_acquire();
    expect_server(c, "127.0.0.33");
    cr_expect_null(c->punt, "punt: %s", c->punt);
    cr_expect_eq(c->hosts_first, 1);
    fr_config_release(c);
    free(t);
}

/* A missing resolv.conf is glibc's default, 127.0.0.1 (unchanged). */
Test(config, missing_resolv_conf_is_glibc_default)
{
    etc_set(NULL, "hosts: files dns\n");
    const struct fr_config *c = fr_config_acquire();
    expect_server(c, "127.0.0.1");
    fr_config_release(c);
}

/* Opens (a directory does) but cannot be read: glibc's res_init fails; no
 * configuration may be invented, so libc answers. */
Test(config, unreadable_resolv_conf_goes_to_libc)
{
    etc_set(ETC_DIR, "hosts: files dns\n");
    const struct fr_config *c = fr_config_acquire();
    cr_expect_null(c, "a configuration with %s", c ? c->servers[0].text : "");
    fr_config_release(c);
}

Test(config, unreadable_nsswitch_conf_goes_to_libc)
{
    etc_set("nameserver 127.0.0.33\n", ETC_DIR);
    const struct fr_config *c = fr_config_acquire();
    cr_expect_null(c, "a configuration although nsswitch.conf cannot be read");
    fr_config_release(c);
}

Test(config, unreadable_resolv_conf_keeps_last_configuration)
{
    etc_set("nameserver 127.0.0.33\n", "hosts: files dns\n");
    const struct fr_config *c = fr_config_acquire();
    expect_server(c, "127.0.0.33");
    uint64_t gen = c->generation;
    fr_config_release(c);
    etc_set(ETC_DIR, "hosts: files dns\n");
    c = fr_config_acquire();
    expect_server(c, "127.0.0.33");
    cr_expect_eq(c->generation, gen, "a new configuration from an unreadable file");
    fr_config_release(c);
    /* Readable again: read again. */
    etc_set("nameserver 127.0.0.34\n", "hosts: files dns\n");
    c = fr_config_acquire();
    expect_server(c, "127.0.0.34");
    fr_config_release(c);
}

/* Out of descriptors (EMFILE) is not "no resolv.conf" (glibc: res_init
 * fails on every open error but the persistent ones). */
Test(config, resolv_conf_open_failure_goes_to_libc)
{
    etc_set("nameserver 127.0.0.33\n", "hosts: files dns\n");
    struct rlimit old, low;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
    low = old;
    low.rlim_cur = 64;   /* few descriptors to fill */
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
    int fds[64], n = 0;
    while (n < 64 && (fds[n] = dup(0)) >= 0)
        n++;
    cr_assert_eq(errno, EMFILE);
    const struct fr_config *c = fr_config_acquire();
    while (n > 0)
        close(fds[--n]);
    setrlimit(RLIMIT_NOFILE, &old);
    cr_expect_null(c, "a configuration (%s) without reading resolv.conf", c ? c->servers[0].text : "");
    fr_config_release(c);
}

/* The snapshot the library uses: LOCALDOMAIN and RES_OPTIONS from the
 * process environment, agreeing with res_ninit's reading, so no punt. */
Test(config, acquire_reads_localdomain_and_res_options)
{
    setenv("LOCALDOMAIN", "env.test", 1);
    setenv("RES_OPTIONS", "ndots:3 timeout:1", 1);
    etc_set("nameserver 127.0.0.33\nsearch file.test\n", "hosts: files dns\n");
    const struct fr_config *c = fr_config_acquire();
    expect_server(c, "127.0.0.33");
    cr_expect_null(c->punt, "punt: %s", c->punt);
    cr_expect_eq(c->ndomains, 1);
    cr_expect_str_eq(c->domains[0], "env.test");
    cr_expect_eq(c->ndots, 3);
    cr_expect_eq(c->timeout_s, 1);
    fr_config_release(c);
}

/* Safety net: where fastres reads the files differently from res_ninit,
 * it steps aside. A search line with nothing after the keyword: glibc
 * skips it and keeps the domain line's list, fastres empties the list. */
Test(config, acquire_punts_when_res_ninit_disagrees)
{
    etc_set("nameserver 127.0.0.33\ndomain d.test\nsearch \n", "hosts: files dns\n");
    const struct fr_config *c = fr_config_acquire();
    cr_assert_not_null(c);
    cr_expect_not_null(c->punt, "fastres has %u domains, glibc 1: must punt", c->ndomains);
    fr_config_release(c);
}
