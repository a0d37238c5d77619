/* fastres: the preloaded library seen from a program, inside the lab.
 *
 * Each test starts a dnsmasq (and faultdns where a server must misbehave)
 * on 127.0.0.x, writes the lab's /etc/resolv.conf and /etc/hosts, and
 * runs build/tools/frprobe under LD_PRELOAD=$FASTRES_TEST_PRELOAD with
 * fork+exec, reading the key=value lines it prints. Most cases also run
 * the same frprobe without the preload and require glibc's line to be the
 * same (timings and the library that answered aside): fastres must
 * answer exactly as glibc would. Run with -j1: fixed addresses. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lab_lib.h"

#define ADDR_DNSMASQ "127.0.0.5"
#define ADDR_SILENT "127.0.0.3"
/* Nothing listens here. */
#define ADDR_DEAD "127.0.0.8"
#define ADDR_DEAD2 "127.0.0.9"

/* Output of one frprobe run. */
#define OUT_MAX 65536
/* Bound on one frprobe run (a glibc run behind a silent server takes 5 s). */
#define PROBE_TIMEOUT_MS 20000
#define ARGS_MAX 24

static struct lab_proc procs[3];

static void stop_all(void)
{
    for (size_t i = 0; i < sizeof procs / sizeof procs[0]; i++)
        lab_proc_stop(&procs[i]);
}

TestSuite(preload, .fini = stop_all, .timeout = 90);

static const char *RESOLV = "nameserver " ADDR_DNSMASQ "\nsearch lab.test\n";
static const char *HOSTS = "127.0.0.1 localhost\n10.9.9.9 shadow.test\n";

/* A name with this many A records: its hostent needs more than the
 * 1 KiB buffer below which the shim leaves gethostbyname_r to libc, so
 * fastres's own ERANGE path is what answers (the reply goes over TCP). */
#define MANY_ADDRS 100

static void lab_up(void)
{
    static const char *const fixed[] = {
        "--host-record=foo.test,10.0.0.1,fd00::1",
        "--host-record=v4only.test,10.0.0.2",
        "--host-record=short.lab.test,10.0.0.3",
        "--host-record=shadow.test,10.0.0.4",
        "--host-record=a.b.lab.test,10.0.0.5",
        "--host-record=a.b,10.0.0.6",
        "--cname=alias.test,foo.test",
        "--local=/test/",
        "--local=/b/",
        /* single-label names must be NXDOMAIN, not REFUSED */
        "--local=/nx/",
        "--local=/short/",
    };
    static char many[MANY_ADDRS][48];
    const char *args[sizeof fixed / sizeof fixed[0] + MANY_ADDRS + 1];
    size_t n = 0;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        args[n++] = fixed[i];
    for (int i = 0; i < MANY_ADDRS; i++) {
        snprintf(many[i], sizeof many[i], "--host-record=many.test,10.0.2.%d", i + 1);
        args[n++] = many[i];
    }
    args[n] = NULL;
    cr_assert_eq(lab_dnsmasq_start(&procs[0], ADDR_DNSMASQ, args), 0, "dnsmasq did not start");
    cr_assert_eq(lab_write_file("/etc/resolv.conf", RESOLV), 0);
    cr_assert_eq(lab_write_file("/etc/hosts", HOSTS), 0);
}

struct run {
    char out[OUT_MAX];
    char err[OUT_MAX];
    int status;
    double ms;
};

/* Run frprobe with args (NULL-terminated), with or without the preload,
 * with extra "NAME=VALUE" environment entries (NULL-terminated, may be
 * NULL). */
static void probe(struct run *r, int preload, const char *const *env_extra, const char *const *args)
{
    char tool[LAB_PATH_MAX];
    cr_assert_eq(lab_tool_path("frprobe", tool, sizeof tool), 0);
    const char *lib = getenv("FASTRES_TEST_PRELOAD");
    if (!lib || !*lib)
        lib = getenv("FASTRES_TEST_LIB");
    cr_assert(lib && *lib, "FASTRES_TEST_PRELOAD not set (run via make check-fast)");
    const char *asan = getenv("FASTRES_TEST_ASAN_OPTIONS");

    static char envbuf[ARGS_MAX][LAB_PATH_MAX * 2];
    char *envp[ARGS_MAX + 1];
    int ne = 0;
    snprintf(envbuf[ne], sizeof envbuf[ne], "PATH=/usr/bin:/bin");
    envp[ne] = envbuf[ne], ne++;
    if (preload) {
        snprintf(envbuf[ne], sizeof envbuf[ne], "LD_PRELOAD=%s", lib);
        envp[ne] = envbuf[ne], ne++;
        if (asan && *asan) {
            snprintf(envbuf[ne], sizeof envbuf[ne], "ASAN_OPTIONS=%s", asan);
            envp[ne] = envbuf[ne], ne++;
        }
    }
    /* NSS modules not installed system-wide (test_diff_surface.sh). */
    const char *nssdir = getenv("FASTRES_TEST_NSS_DIR");
    if (nssdir && *nssdir) {
        snprintf(envbuf[ne], sizeof envbuf[ne], "LD_LIBRARY_PATH=%s", nssdir);
        envp[ne] = envbuf[ne], ne++;
    }
    for (int i = 0; env_extra && env_extra[i] && ne < ARGS_MAX; i++) {
        snprintf(envbuf[ne], sizeof envbuf[ne], "%s", env_extra[i]);
        envp[ne] = envbuf[ne], ne++;
    }
    envp[ne] = NULL;
    char *argv[ARGS_MAX + 2];
    int na = 0;
    argv[na++] = tool;
    for (int i = 0; args[i] && na < ARGS_MAX + 1; i++)
        argv[na++] = (char *)args[i];
    argv[na] = NULL;

    int po[2], pe[2];
    cr_assert_eq(pipe2(po, O_CLOEXEC), 0);
    cr_assert_eq(pipe2(pe, O_CLOEXEC), 0);
    double t0 = lab_now_ms();
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        dup2(po[1], 1);
        dup2(pe[1], 2);
        execve(tool, argv, envp);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    size_t no = 0, nerr = 0;
    int open_o = 1, open_e = 1, killed = 0;
    while (open_o || open_e) {
        double left = t0 + PROBE_TIMEOUT_MS - lab_now_ms();
        if (left <= 0) {
            kill(pid, SIGKILL);
            killed = 1;
            break;
        }
        struct pollfd p[2] = { { po[0], open_o ? POLLIN : 0, 0 }, { pe[0], open_e ? POLLIN : 0, 0 } };
        if (poll(p, 2, (int)left) < 0 && errno != EINTR)
            break;
        if (p[0].revents) {
            ssize_t k = read(po[0], r->out + no, sizeof r->out - 1 - no);
            if (k <= 0)
                open_o = 0;
            else
                no += (size_t)k;
        }
        if (p[1].revents) {
            ssize_t k = read(pe[0], r->err + nerr, sizeof r->err - 1 - nerr);
            if (k <= 0)
                open_e = 0;
            else
                nerr += (size_t)k;
        }
    }
    r->out[no] = '\0';
    r->err[nerr] = '\0';
    close(po[0]);
    close(pe[0]);
    waitpid(pid, &r->status, 0);
    r->ms = lab_now_ms() - t0;
    cr_assert(!killed, "frprobe %s did not finish in %d ms", args[0], PROBE_TIMEOUT_MS);
    cr_assert(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0,
              "frprobe %s failed (status %d); stderr: %s", args[0], r->status, r->err);
}

/* Line n (0-based) of the output, copied to line. */
static void nth_line(const struct run *r, int n, char *line, size_t sz)
{
    const char *p = r->out;
    for (int i = 0; i < n && p; i++) {
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    cr_assert(p && *p, "frprobe printed fewer than %d lines:\n%s\nstderr: %s", n + 1, r->out, r->err);
    size_t l = strcspn(p, "\n");
    cr_assert_lt(l, sz);
    memcpy(line, p, l);
    line[l] = '\0';
}

/* Value of key in a line ("" when absent). */
static void field(const char *line, const char *key, char *val, size_t sz)
{
    size_t kl = strlen(key);
    const char *p = line;
    val[0] = '\0';
    while ((p = strstr(p, key))) {
        if ((p == line || p[-1] == ' ') && p[kl] == '=') {
            p += kl + 1;
            size_t l = strcspn(p, " ");
            if (l >= sz)
                l = sz - 1;
            memcpy(val, p, l);
            val[l] = '\0';
            return;
        }
        p += kl;
    }
}

/* The line without the fields that may differ between the two runs
 * (and without the address order when the upstream rotates it). */
static void comparable_ex(const char *line, char *out, size_t sz, int unordered)
{
    out[0] = '\0';
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", line);
    char *save = NULL;
    for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        if (!strncmp(t, "ms=", 3) || !strncmp(t, "lib=", 4) ||
            (unordered && !strncmp(t, "addrs=", 6)))
            continue;
        size_t l = strlen(out);
        snprintf(out + l, sz - l, "%s%s", l ? " " : "", t);
    }
}

static void comparable(const char *line, char *out, size_t sz)
{
    comparable_ex(line, out, sz, 0);
}

static long stats_raced(const struct run *r)
{
    const char *p = strstr(r->err, "questions raced ");
    cr_assert_not_null(p, "no FASTRES_STATS line on stderr: %s", r->err);
    return strtol(p + strlen("questions raced "), NULL, 10);
}

/* ---- each entry point against dnsmasq ---- */

/* Known divergences these comparisons catch (shim.c; expected to pass
 * once fixed, glibc 2.36's behaviour measured by the glibc runs here):
 * - res_search/res_nsearch that succeed leave h_errno (res_h_errno) at
 *   HOST_NOT_FOUND in glibc (__res_context_search sets it before the
 *   first query and never clears it); fastres sets NETDB_SUCCESS.
 * - gethostbyname_r answered from /etc/hosts leaves *h_errnop at
 *   HOST_NOT_FOUND in glibc; fastres sets NETDB_SUCCESS (answers from DNS
 *   agree: 0 in both).
 * - A name with 100 A records (many.test, over TCP): fastres keeps only
 *   FR_MSG_ADDRS_MAX (64) of them (msg.h), glibc all 100; so
 *   gethostbyname_r with 1 KiB succeeds with 64 where glibc says ERANGE. */

struct ep_case {
    char args[6][24];          /* one frprobe operation */
    char key[3][12];           /* fields to check */
    char val[3][48];
    int glibc_same;            /* 1: glibc prints the same line */
    int not_raced;             /* 1: nothing raced (answered from /etc/hosts, or a
                                * buffer under 1 KiB the shim leaves to libc) */
    int unordered;             /* 1: dnsmasq rotates the records: compare
                                * the number of addresses, not their order */
};

static struct ep_case ep_cases[] = {
    { { "gai", "foo.test", "unspec" }, { "rc", "addrs", "canon" }, { "0", "fd00::1,10.0.0.1", "foo.test" }, 1, 0, 0 },
    { { "gai", "foo.test", "inet" }, { "rc", "addrs" }, { "0", "10.0.0.1" }, 1, 0, 0 },
    { { "gai", "foo.test", "inet6" }, { "rc", "addrs" }, { "0", "fd00::1" }, 1, 0, 0 },
    { { "gai", "alias.test", "inet" }, { "rc", "addrs", "canon" }, { "0", "10.0.0.1", "foo.test" }, 1, 0, 0 },
    { { "gai", "nx.test", "unspec" }, { "rc" }, { "EAI_NONAME" }, 1, 0, 0 },
    { { "gai", "v4only.test", "inet6" }, { "rc" }, { "EAI_NODATA" }, 1, 0, 0 },
    { { "gai", "v4only.test", "unspec" }, { "rc", "addrs" }, { "0", "10.0.0.2" }, 1, 0, 0 },
    { { "ghbn", "foo.test" }, { "ok", "addrs", "hname" }, { "1", "10.0.0.1", "foo.test" }, 1, 0, 0 },
    { { "ghbn", "alias.test" }, { "ok", "hname", "aliases" }, { "1", "foo.test", "1" }, 1, 0, 0 },
    { { "ghbn", "nx.test" }, { "ok", "herr" }, { "0", "HOST_NOT_FOUND" }, 1, 0, 0 },
    { { "ghbn2", "foo.test", "inet6" }, { "ok", "addrs", "family" }, { "1", "fd00::1", "inet6" }, 1, 0, 0 },
    { { "ghbn2", "v4only.test", "inet6" }, { "ok", "herr" }, { "0", "NO_DATA" }, 1, 0, 0 },
    { { "ghbnr", "foo.test", "1024" }, { "rc", "ok", "addrs" }, { "0", "1", "10.0.0.1" }, 1, 0, 0 },
    { { "ghbnr", "foo.test", "8" }, { "rc", "ok" }, { "ERANGE", "0" }, 1, 1, 0 },
    { { "ghbnr", "many.test", "1024" }, { "rc", "ok", "herr" }, { "ERANGE", "0", "NETDB_INTERNAL" }, 1, 0, 0 },
    { { "ghbnr", "many.test", "16384" }, { "rc", "ok", "naddrs" }, { "0", "1", "100" }, 1, 0, 1 },
    { { "ghbn2r", "many.test", "inet", "1024" }, { "rc", "ok" }, { "ERANGE", "0" }, 1, 0, 1 },
    { { "ghbn", "many.test" }, { "ok", "naddrs" }, { "1", "100" }, 1, 0, 1 },
    { { "gai", "many.test", "inet" }, { "rc", "naddrs" }, { "0", "100" }, 1, 0, 1 },
    { { "ghbnr", "nx.test", "1024" }, { "rc", "ok", "herr" }, { "0", "0", "HOST_NOT_FOUND" }, 1, 0, 0 },
    { { "ghbn2r", "foo.test", "inet6", "1024" }, { "rc", "addrs" }, { "0", "fd00::1" }, 1, 0, 0 },
    { { "ghbn2r", "foo.test", "inet6", "16" }, { "rc" }, { "ERANGE" }, 1, 1, 0 },
    /* The thread's h_errno after gethostbyname_r (therr; glibc's resolver
     * leaves a code there), and a search whose every candidate the
     * server refuses: EAGAIN (issue 9, defect 6). */
    { { "ghbnr", "foo.test", "1024" }, { "rc", "herr", "therr" }, { "0", "0", "HOST_NOT_FOUND" }, 1, 0, 0 },
    { { "ghbnr", "nx.test", "1024" }, { "rc", "herr", "therr" }, { "0", "HOST_NOT_FOUND", "HOST_NOT_FOUND" }, 1, 0, 0 },
    { { "ghbn2r", "v4only.test", "inet6", "1024" }, { "rc", "herr", "therr" }, { "0", "NO_DATA", "NO_DATA" }, 1, 0, 0 },
    { { "ghbnr", "many.test", "1024" }, { "rc", "therr" }, { "ERANGE", "HOST_NOT_FOUND" }, 1, 0, 0 },
    { { "ghbnr", "shadow.test", "1024" }, { "rc", "therr" }, { "0", "unset" }, 1, 1, 0 },
    { { "ghbnr", "refused", "1024" }, { "rc", "herr", "therr" }, { "EAGAIN", "TRY_AGAIN", "TRY_AGAIN" }, 1, 0, 0 },
    { { "ghbn2r", "refused", "inet6", "1024" }, { "rc", "herr", "therr" }, { "EAGAIN", "TRY_AGAIN", "TRY_AGAIN" }, 1, 0, 0 },
    { { "res", "res_query", "foo.test", "-", "a" }, { "lib", "rcode", "addrs" }, { "libfastres.so", "0", "10.0.0.1" }, 1, 0, 0 },
    { { "res", "__res_query", "foo.test", "-", "a" }, { "lib", "addrs" }, { "libfastres.so", "10.0.0.1" }, 0, 0, 0 },
    { { "res", "res_search", "short", "-", "a" }, { "lib", "addrs" }, { "libfastres.so", "10.0.0.3" }, 1, 0, 0 },
    { { "res", "__res_search", "short", "-", "a" }, { "lib", "addrs" }, { "libfastres.so", "10.0.0.3" }, 0, 0, 0 },
    { { "res", "res_querydomain", "short", "lab.test", "a" }, { "lib", "addrs" }, { "libfastres.so", "10.0.0.3" }, 1, 0, 0 },
    { { "res", "__res_querydomain", "short", "lab.test", "a" }, { "lib", "addrs" }, { "libfastres.so", "10.0.0.3" }, 0, 0, 0 },
    { { "res", "res_nquery", "foo.test", "-", "aaaa" }, { "lib", "addrs" }, { "libfastres.so", "fd00::1" }, 1, 0, 0 },
    { { "res", "__res_nquery", "foo.test", "-", "aaaa" }, { "lib", "addrs" }, { "libfastres.so", "fd00::1" }, 0, 0, 0 },
    { { "res", "res_nsearch", "short", "-", "a" }, { "lib", "addrs" }, { "libfastres.so", "10.0.0.3" }, 1, 0, 0 },
    { { "res", "__res_nsearch", "short", "-", "a" }, { "lib", "addrs" }, { "libfastres.so", "10.0.0.3" }, 0, 0, 0 },
    { { "res", "res_nquerydomain", "short", "lab.test", "a" }, { "lib", "addrs" }, { "libfastres.so", "10.0.0.3" }, 1, 0, 0 },
    { { "res", "__res_nquerydomain", "short", "lab.test", "a" }, { "lib", "addrs" }, { "libfastres.so", "10.0.0.3" }, 0, 0, 0 },
    { { "res", "res_query", "nx.test", "-", "a" }, { "rc", "herr" }, { "-1", "HOST_NOT_FOUND" }, 1, 0, 0 },
    { { "res", "res_query", "v4only.test", "-", "aaaa" }, { "rc", "herr" }, { "-1", "NO_DATA" }, 1, 0, 0 },
    { { "res", "res_search", "nx", "-", "a" }, { "rc", "herr" }, { "-1", "HOST_NOT_FOUND" }, 1, 0, 0 },
    { { "direct", "foo.test" }, { "lib" }, { "libfastres.so" }, 0, 0, 0 },
    /* /etc/hosts first (nsswitch files dns): the hosts entry shadows DNS */
    { { "gai", "shadow.test", "inet" }, { "rc", "addrs" }, { "0", "10.9.9.9" }, 1, 1, 0 },
    { { "ghbn", "shadow.test" }, { "ok", "addrs" }, { "1", "10.9.9.9" }, 1, 1, 0 },
    { { "ghbnr", "shadow.test", "1024" }, { "ok", "addrs" }, { "1", "10.9.9.9" }, 1, 1, 0 },
    /* search list: a short name found through the search domain */
    { { "gai", "short", "inet" }, { "rc", "addrs", "canon" }, { "0", "10.0.0.3", "short.lab.test" }, 1, 0, 0 },
    { { "ghbn", "short" }, { "ok", "addrs", "hname" }, { "1", "10.0.0.3", "short.lab.test" }, 1, 0, 0 },
    { { "gai", "short.", "inet" }, { "rc" }, { "EAI_NONAME" }, 1, 0, 0 },
    /* reverse lookups (issue 11): DNS, /etc/hosts by address */
    /* (no lib= check: ASan's runtime, preloaded first in the SAN build,
     * intercepts gethostbyaddr and getnameinfo and calls on to fastres) */
    { { "ghba", "10.0.0.1" }, { "ok", "hname", "addrs" }, { "1", "foo.test", "10.0.0.1" }, 1, 0, 0 },
    { { "ghba", "fd00::1" }, { "ok", "hname", "family" }, { "1", "foo.test", "inet6" }, 1, 0, 0 },
    { { "ghba", "10.9.9.9" }, { "ok", "hname" }, { "1", "shadow.test" }, 1, 1, 0 },
    { { "gni", "10.0.0.1", "1" }, { "rc", "host", "serv" }, { "0", "foo.test", "http" }, 1, 0, 0 },
    { { "gni", "10.9.9.9", "0" }, { "rc", "host", "serv" }, { "0", "shadow.test", "http" }, 1, 1, 0 },
};

ParameterizedTestParameters(preload, entry_points)
{
    return cr_make_param_array(struct ep_case, ep_cases, sizeof ep_cases / sizeof ep_cases[0]);
}

static void args_of(const struct ep_case *c, const char **argv)
{
    int n = 0;
    for (int i = 0; i < 6 && c->args[i][0]; i++)
        argv[n++] = c->args[i];
    argv[n] = NULL;
}

ParameterizedTest(struct ep_case *c, preload, entry_points)
{
    LAB_REQUIRE();
    lab_up();
    const char *argv[8];
    args_of(c, argv);
    static struct run r, g;
    const char *const env[] = { "FASTRES_STATS=1", NULL };
    probe(&r, 1, env, argv);
    char line[4096], v[256];
    nth_line(&r, 0, line, sizeof line);
    for (int k = 0; k < 3 && c->key[k][0]; k++) {
        field(line, c->key[k], v, sizeof v);
        cr_expect_str_eq(v, c->val[k], "%s %s: %s=%s, expected %s\n  line: %s", c->args[0],
                         c->args[1], c->key[k], v, c->val[k], line);
    }
    /* fastres answered, not libc behind it (hosts answers race nothing) */
    if (c->not_raced)
        cr_expect_eq(stats_raced(&r), 0, "%s %s: raced a name /etc/hosts has", c->args[0], c->args[1]);
    else {
        cr_expect_gt(stats_raced(&r), 0, "%s %s: nothing raced: libc answered?", c->args[0],
                     c->args[1]);
        /* One line per nameserver: what the process learned of it. */
        const char *sv = strstr(r.err, "server 127.0.0.");
        cr_expect_not_null(sv, "no per-server FASTRES_STATS line: %s", r.err);
        cr_expect(sv && strstr(sv, "srtt ") && strstr(sv, "won "), "per-server line: %s", r.err);
    }
    if (c->glibc_same) {
        probe(&g, 0, NULL, argv);
        char gline[4096], a[4096], b[4096];
        nth_line(&g, 0, gline, sizeof gline);
        comparable_ex(line, a, sizeof a, c->unordered);
        comparable_ex(gline, b, sizeof b, c->unordered);
        cr_expect_str_eq(a, b, "fastres and glibc differ:\n  fastres: %s\n  glibc:   %s", a, b);
    }
}

/* The two kinds of symbols: without the preload, __res_* is not even
 * visible (glibc >= 2.34 keeps it as a compat symbol only), and res_*
 * resolve to libc. */
Test(preload, symbols_without_preload_are_libc)
{
    LAB_REQUIRE();
    lab_up();
    static struct run r;
    const char *const argv[] = { "res", "res_query", "foo.test", "-", "a",
                                 "res", "__res_query", "foo.test", "-", "a",
                                 "direct", "foo.test", NULL };
    probe(&r, 0, NULL, argv);
    char line[4096], v[64];
    nth_line(&r, 0, line, sizeof line);
    field(line, "lib", v, sizeof v);
    cr_expect_str_eq(v, "libc.so.6", "%s", line);
    nth_line(&r, 1, line, sizeof line);
    field(line, "rc", v, sizeof v);
    cr_expect_str_eq(v, "nosym", "%s", line);
    nth_line(&r, 2, line, sizeof line);
    field(line, "lib", v, sizeof v);
    cr_expect_str_eq(v, "libc.so.6", "%s", line);
}

/* ---- ndots ---- */

struct ndots_case {
    int ndots;
    char addr[16];   /* a.b as is (10.0.0.6) or a.b.lab.test (10.0.0.5) */
};
static struct ndots_case ndots_cases[] = { { 1, "10.0.0.6" }, { 2, "10.0.0.5" } };
ParameterizedTestParameters(preload, ndots)
{
    return cr_make_param_array(struct ndots_case, ndots_cases,
                               sizeof ndots_cases / sizeof ndots_cases[0]);
}
ParameterizedTest(struct ndots_case *nc, preload, ndots)
{
    LAB_REQUIRE();
    lab_up();
    char resolv[160];
    snprintf(resolv, sizeof resolv, "nameserver %s\nsearch lab.test\noptions ndots:%d\n",
             ADDR_DNSMASQ, nc->ndots);
    cr_assert_eq(lab_write_file("/etc/resolv.conf", resolv), 0);
    static struct run r, g;
    const char *const argv[] = { "gai", "a.b", "inet", "res", "res_search", "a.b", "-", "a", NULL };
    probe(&r, 1, NULL, argv);
    probe(&g, 0, NULL, argv);
    for (int i = 0; i < 2; i++) {
        char line[4096], gline[4096], v[64], a[4096], b[4096];
        nth_line(&r, i, line, sizeof line);
        nth_line(&g, i, gline, sizeof gline);
        field(line, "addrs", v, sizeof v);
        cr_expect_str_eq(v, nc->addr, "ndots:%d: %s", nc->ndots, line);
        comparable(line, a, sizeof a);
        comparable(gline, b, sizeof b);
        cr_expect_str_eq(a, b, "fastres: %s\n  glibc: %s", line, gline);
    }
}

/* ---- failures ---- */

/* Every server silent: EAI_AGAIN / TRY_AGAIN at fastres's deadline. */
Test(preload, all_silent_is_try_again)
{
    LAB_REQUIRE();
    const char *const args[] = { "--mode", "drop", NULL };
    cr_assert_eq(lab_fault_start(&procs[1], ADDR_SILENT, args), 0);
    cr_assert_eq(lab_write_file("/etc/resolv.conf", "nameserver " ADDR_SILENT "\n"), 0);
    static struct run r;
    const char *const env[] = { "FASTRES_TIMEOUT_MS=300", NULL };
    const char *const argv[] = { "gai", "foo.test", "unspec", "ghbn", "foo.test", "ghbnr",
                                 "foo.test", "1024", "res", "res_query", "foo.test", "-", "a", NULL };
    probe(&r, 1, env, argv);
    char line[4096], v[64];
    nth_line(&r, 0, line, sizeof line);
    field(line, "rc", v, sizeof v);
    cr_expect_str_eq(v, "EAI_AGAIN", "%s", line);
    nth_line(&r, 1, line, sizeof line);
    field(line, "herr", v, sizeof v);
    cr_expect_str_eq(v, "TRY_AGAIN", "%s", line);
    nth_line(&r, 2, line, sizeof line);
    field(line, "herr", v, sizeof v);
    cr_expect_str_eq(v, "TRY_AGAIN", "%s", line);
    field(line, "rc", v, sizeof v);
    /* glibc 2.36 returns EAGAIN (nss_dns: TRY_AGAIN becomes EAGAIN). */
    cr_expect_str_eq(v, "EAGAIN", "gethostbyname_r rc %s", v);
    field(line, "therr", v, sizeof v);
    cr_expect_str_eq(v, "TRY_AGAIN", "gethostbyname_r leaves h_errno %s", v);
    nth_line(&r, 3, line, sizeof line);
    field(line, "herr", v, sizeof v);
    cr_expect_str_eq(v, "TRY_AGAIN", "%s", line);
    cr_expect_lt(r.ms, 8000, "four lookups at a 300 ms deadline took %.0f ms", r.ms);
}

/* Nothing listening anywhere: the same answers as glibc, and fast. */
Test(preload, dead_servers_like_glibc)
{
    LAB_REQUIRE();
    cr_assert_eq(lab_write_file("/etc/resolv.conf",
                                "nameserver " ADDR_DEAD "\nnameserver " ADDR_DEAD2 "\n"), 0);
    static struct run r, g;
    const char *const argv[] = { "gai", "foo.test", "inet", "ghbn", "foo.test",
                                 "res", "res_query", "foo.test", "-", "a", NULL };
    probe(&r, 1, NULL, argv);
    probe(&g, 0, NULL, argv);
    for (int i = 0; i < 3; i++) {
        char line[4096], gline[4096], a[4096], b[4096];
        nth_line(&r, i, line, sizeof line);
        nth_line(&g, i, gline, sizeof gline);
        comparable(line, a, sizeof a);
        comparable(gline, b, sizeof b);
        cr_expect_str_eq(a, b, "fastres: %s\n  glibc: %s", line, gline);
    }
    cr_expect_lt(r.ms, 3000, "refused servers took %.0f ms", r.ms);
}

/* ---- programs that do awkward things ---- */

Test(preload, fork_child_and_parent_resolve)
{
    LAB_REQUIRE();
    lab_up();
    static struct run r;
    const char *const env[] = { "FASTRES_CACHE_SIZE=0", NULL };
    /* a lookup before the fork, so the parent has state to inherit */
    const char *const argv[] = { "gai", "foo.test", "inet", "fork", "foo.test", "fork", "v4only.test", NULL };
    probe(&r, 1, env, argv);
    for (int i = 1; i <= 2; i++) {
        char line[4096], v[64];
        nth_line(&r, i, line, sizeof line);
        const char *want = i == 1 ? "10.0.0.1" : "10.0.0.2";
        field(line, "parent", v, sizeof v);
        cr_expect_str_eq(v, want, "%s", line);
        field(line, "child", v, sizeof v);
        cr_expect_str_eq(v, want, "%s", line);
        field(line, "child_exit", v, sizeof v);
        cr_expect_str_eq(v, "0", "%s", line);
    }
    /* with the cache off every lookup went to dnsmasq: 1 + 2 + 2 */
    cr_expect_geq(lab_wait_query_count(&procs[0], 5, 3000), 5);
}

Test(preload, threads_all_right)
{
    LAB_REQUIRE();
    lab_up();
    static struct run r;
    const char *const env[] = { "FASTRES_CACHE_SIZE=0", NULL };
    const char *const argv[] = { "threads", "32", "foo.test", "threads", "32", "v4only.test", NULL };
    probe(&r, 1, env, argv);
    for (int i = 0; i < 2; i++) {
        char line[4096], v[64];
        nth_line(&r, i, line, sizeof line);
        field(line, "ok", v, sizeof v);
        cr_expect_str_eq(v, "32", "%s", line);
        field(line, "same", v, sizeof v);
        cr_expect_str_eq(v, "32", "%s", line);
        field(line, "addrs", v, sizeof v);
        cr_expect_str_eq(v, i ? "10.0.0.2" : "10.0.0.1", "%s", line);
    }
}

Test(preload, closing_every_descriptor_between_lookups)
{
    LAB_REQUIRE();
    lab_up();
    static struct run r;
    const char *const env[] = { "FASTRES_CACHE_SIZE=0", NULL };
    const char *const argv[] = { "gai", "foo.test", "inet", "closeall", "foo.test", "closeall",
                                 "v4only.test", "ghbn", "foo.test", NULL };
    probe(&r, 1, env, argv);
    const char *want[] = { "10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.1" };
    for (int i = 0; i < 4; i++) {
        char line[4096], v[64];
        nth_line(&r, i, line, sizeof line);
        field(line, "addrs", v, sizeof v);
        cr_expect_str_eq(v, want[i], "%s", line);
    }
}

Test(preload, no_descriptor_left_open)
{
    LAB_REQUIRE();
    lab_up();
    static struct run r;
    const char *const env[] = { "FASTRES_CACHE_SIZE=0", NULL };
    /* the first lookup may open what stays open by design (nothing in
     * fastres does, but libc's own files might); the later ones must not
     * add anything */
    const char *const argv[] = { "fds", "foo.test", "fds", "foo.test", "fds", "nx.test", NULL };
    probe(&r, 1, env, argv);
    for (int i = 0; i < 3; i++) {
        char line[4096], b[16], a[16];
        nth_line(&r, i, line, sizeof line);
        field(line, "before", b, sizeof b);
        field(line, "after", a, sizeof a);
        cr_expect_str_eq(a, b, "descriptors changed: %s", line);
    }
}

/* A refreshing lookup leaves a socket open past the call (refresh.h);
 * any later call into fastres closes it once the reply is in, even one
 * that never reaches DNS (an /etc/hosts answer). Issue 9, defect 5: the
 * socket used to be closed only by a later DNS lookup. */
#define ADDR_REFRESH "127.0.0.12"
Test(preload, refresh_socket_closed_by_any_later_call)
{
    LAB_REQUIRE();
    /* TTL 3 s: the refresh window is its last second. */
    const char *const args[] = { "--mode", "answer", "--ttl", "3", "--record", "hot.test=A:10.9.0.1", NULL };
    cr_assert_eq(lab_fault_start(&procs[2], ADDR_REFRESH, args), 0);
    cr_assert_eq(lab_write_file("/etc/resolv.conf", "nameserver " ADDR_REFRESH "\n"), 0);
    cr_assert_eq(lab_write_file("/etc/hosts", HOSTS), 0);
    static struct run r;
    const char *const env[] = { "FASTRES_STATS=1", NULL };
    const char *const argv[] = { "gai", "hot.test", "inet", "sleep", "2300", "nfds",
                                 "gai", "hot.test", "inet", "nfds", "sleep", "1500",
                                 "ghbn", "localhost", "nfds", NULL };
    probe(&r, 1, env, argv);
    char line[4096], v[16];
    int n[3];
    const int at[3] = { 2, 4, 7 };   /* the nfds lines */
    for (int i = 0; i < 3; i++) {
        nth_line(&r, at[i], line, sizeof line);
        field(line, "n", v, sizeof v);
        n[i] = atoi(v);
        cr_assert_gt(n[i], 0, "no descriptor count: %s", line);
    }
    cr_assert_not_null(strstr(r.err, "refreshes sent 1"), "no refresh was sent: %s", r.err);
    cr_expect_eq(n[1], n[0] + 1, "the refresh should hold one socket: %d then %d", n[0], n[1]);
    cr_expect_eq(n[2], n[0], "an /etc/hosts lookup after the reply left %d descriptor(s) open",
                 n[2] - n[0]);
}

/* ---- falling through to libc ---- */

struct punt_case {
    char title[32];
    char resolv[96];      /* "" : the usual one */
    char env[48];         /* "" : none */
    int editres;
};
static struct punt_case punt_cases[] = {
    { "FASTRES_DISABLE=1", "", "FASTRES_DISABLE=1", 0 },
    { "options inet6", "nameserver " ADDR_DNSMASQ "\nsearch lab.test\noptions inet6\n", "", 0 },
    { "options no-aaaa", "nameserver " ADDR_DNSMASQ "\nsearch lab.test\noptions no-aaaa\n", "", 0 },
    { "sortlist", "nameserver " ADDR_DNSMASQ "\nsortlist 10.0.0.0/255.0.0.0\n", "", 0 },
    { "edited _res", "", "", 1 },
    { "HOSTALIASES", "", "HOSTALIASES=/nonexistent", 0 },
};
ParameterizedTestParameters(preload, punts_to_libc)
{
    return cr_make_param_array(struct punt_case, punt_cases, sizeof punt_cases / sizeof punt_cases[0]);
}
ParameterizedTest(struct punt_case *pc, preload, punts_to_libc)
{
    LAB_REQUIRE();
    lab_up();
    if (pc->resolv[0])
        cr_assert_eq(lab_write_file("/etc/resolv.conf", pc->resolv), 0);
    static struct run r;
    const char *env[] = { "FASTRES_STATS=1", pc->env[0] ? pc->env : NULL, NULL };
    const char *argv[12];
    int n = 0;
    if (pc->editres)
        argv[n++] = "editres";
    argv[n++] = "gai";
    argv[n++] = "foo.test";
    argv[n++] = "inet";
    argv[n++] = "res";
    argv[n++] = "res_query";
    argv[n++] = "foo.test";
    argv[n++] = "-";
    argv[n++] = "a";
    argv[n] = NULL;
    probe(&r, 1, env, argv);
    char line[4096], v[64];
    nth_line(&r, pc->editres, line, sizeof line);
    field(line, "addrs", v, sizeof v);
    cr_expect_str_eq(v, "10.0.0.1", "%s: libc did not answer: %s", pc->title, line);
    nth_line(&r, pc->editres + 1, line, sizeof line);
    field(line, "addrs", v, sizeof v);
    cr_expect_str_eq(v, "10.0.0.1", "%s: %s", pc->title, line);
    cr_expect_eq(stats_raced(&r), 0, "%s: fastres raced questions instead of libc", pc->title);
}

/* ---- the seed scenario ---- */

/* First nameserver silent, second good: fastres answers at once, glibc
 * waits out its 5 s timeout on the first. */
Test(preload, silent_first_nameserver, .timeout = 120)
{
    LAB_REQUIRE();
    lab_up();
    const char *const args[] = { "--mode", "drop", NULL };
    cr_assert_eq(lab_fault_start(&procs[1], ADDR_SILENT, args), 0);
    cr_assert_eq(lab_write_file("/etc/resolv.conf",
                                "nameserver " ADDR_SILENT "\nnameserver " ADDR_DNSMASQ "\n"), 0);
    static struct run r, g;
    const char *const argv[] = { "gai", "foo.test", "inet", NULL };
    probe(&r, 1, NULL, argv);
    char line[4096], v[64];
    nth_line(&r, 0, line, sizeof line);
    field(line, "addrs", v, sizeof v);
    cr_expect_str_eq(v, "10.0.0.1", "%s", line);
    field(line, "ms", v, sizeof v);
    double fast = strtod(v, NULL);
    cr_expect_lt(fast, 100, "fastres took %.1f ms behind a silent server", fast);

    probe(&g, 0, NULL, argv);
    nth_line(&g, 0, line, sizeof line);
    field(line, "addrs", v, sizeof v);
    cr_expect_str_eq(v, "10.0.0.1", "glibc: %s", line);
    field(line, "ms", v, sizeof v);
    double slow = strtod(v, NULL);
    cr_expect_geq(slow, 4000, "glibc took only %.0f ms: is the first server really silent?", slow);
    cr_log_info("silent first nameserver: fastres %.1f ms, glibc %.0f ms", fast, slow);
}

/* LOCALDOMAIN and RES_OPTIONS (issue 11) behind a silent first server:
 * the search list and ndots come from the environment (a.b has fewer
 * dots than ndots:2, so a.b.lab.test is asked first and answers), fastres
 * answers at once and as glibc does, which waits out timeout:1 first. */
Test(preload, env_overrides_behind_silent_server, .timeout = 120)
{
    LAB_REQUIRE();
    lab_up();
    const char *const args[] = { "--mode", "drop", NULL };
    cr_assert_eq(lab_fault_start(&procs[1], ADDR_SILENT, args), 0);
    cr_assert_eq(lab_write_file("/etc/resolv.conf", "nameserver " ADDR_SILENT "\nnameserver "
                                ADDR_DNSMASQ "\nsearch other.test\noptions ndots:1\n"), 0);
    static struct run r, g;
    const char *const env[] = { "FASTRES_STATS=1", "LOCALDOMAIN=lab.test",
                                "RES_OPTIONS=ndots:2 timeout:1", NULL };
    const char *const argv[] = { "gai", "a.b", "inet", "ghbn", "short", NULL };
    probe(&r, 1, env, argv);
    probe(&g, 0, env, argv);
    char line[4096], gline[4096], a[4096], b[4096], v[64];
    for (int i = 0; i < 2; i++) {
        nth_line(&r, i, line, sizeof line);
        nth_line(&g, i, gline, sizeof gline);
        comparable(line, a, sizeof a);
        comparable(gline, b, sizeof b);
        cr_expect_str_eq(a, b, "fastres and glibc differ:\n  %s\n  %s", line, gline);
    }
    nth_line(&r, 0, line, sizeof line);
    field(line, "addrs", v, sizeof v);
    cr_expect_str_eq(v, "10.0.0.5", "ndots:2 and LOCALDOMAIN not applied: %s", line);
    field(line, "ms", v, sizeof v);
    double fast = strtod(v, NULL);
    cr_expect_lt(fast, 100, "fastres took %.1f ms behind a silent server", fast);
    cr_expect_gt(stats_raced(&r), 0, "fastres stepped aside");
    nth_line(&g, 0, gline, sizeof gline);
    field(gline, "ms", v, sizeof v);
    double slow = strtod(v, NULL);
    cr_expect_geq(slow, 900, "glibc took only %.0f ms: is the first server silent?", slow);
    cr_log_info("LOCALDOMAIN/RES_OPTIONS behind a silent server: fastres %.1f ms, glibc %.0f ms",
                fast, slow);
}

/* Reverse lookups behind a silent first server (issue 11): gethostbyaddr
 * and getnameinfo answer at once with glibc's answer, which waits out
 * the first server (timeout:2 here, to keep the glibc run short). */
Test(preload, reverse_behind_silent_server, .timeout = 120)
{
    LAB_REQUIRE();
    lab_up();
    const char *const args[] = { "--mode", "drop", NULL };
    cr_assert_eq(lab_fault_start(&procs[1], ADDR_SILENT, args), 0);
    cr_assert_eq(lab_write_file("/etc/resolv.conf", "nameserver " ADDR_SILENT "\nnameserver "
                                ADDR_DNSMASQ "\noptions timeout:2\n"), 0);
    static struct run r, g;
    const char *const env[] = { "FASTRES_STATS=1", NULL };
    const char *const argv[] = { "ghba", "10.0.0.1", "gni", "10.0.0.1", "1", "ghba", "fd00::1",
                                 NULL };
    probe(&r, 1, env, argv);
    probe(&g, 0, env, argv);
    char line[4096], gline[4096], a[4096], b[4096], v[64];
    double slowest = 0, glibc_total = 0;
    for (int i = 0; i < 3; i++) {
        nth_line(&r, i, line, sizeof line);
        nth_line(&g, i, gline, sizeof gline);
        comparable(line, a, sizeof a);
        comparable(gline, b, sizeof b);
        cr_expect_str_eq(a, b, "fastres and glibc differ:\n  %s\n  %s", line, gline);
        /* Interposed: shown by the time and FASTRES_STATS below (lib=
         * names ASan's runtime in the SAN build, which calls on to us). */
        field(line, "ms", v, sizeof v);
        if (strtod(v, NULL) > slowest)
            slowest = strtod(v, NULL);
        field(gline, "ms", v, sizeof v);
        glibc_total += strtod(v, NULL);
    }
    nth_line(&r, 0, line, sizeof line);
    field(line, "hname", v, sizeof v);
    cr_expect_str_eq(v, "foo.test", "%s", line);
    nth_line(&r, 1, line, sizeof line);
    field(line, "host", v, sizeof v);
    cr_expect_str_eq(v, "foo.test", "%s", line);
    cr_expect_lt(slowest, 100, "fastres took %.1f ms behind a silent server", slowest);
    cr_expect_gt(stats_raced(&r), 0, "fastres stepped aside");
    cr_expect_geq(glibc_total, 3 * 1900, "glibc took only %.0f ms: is the first server silent?",
                  glibc_total);
    cr_log_info("reverse lookups behind a silent server: fastres at most %.1f ms each, glibc %.0f ms"
                " for three", slowest, glibc_total);
}

/* res_send / res_nsend (issue 11): the program's own query, raced
 * behind a silent first server, answered as glibc answers it (which waits
 * out timeout:2 first), with the query's ID; every name binds here. */
Test(preload, res_send_behind_silent_server, .timeout = 120)
{
    LAB_REQUIRE();
    lab_up();
    const char *const args[] = { "--mode", "drop", NULL };
    cr_assert_eq(lab_fault_start(&procs[1], ADDR_SILENT, args), 0);
    cr_assert_eq(lab_write_file("/etc/resolv.conf", "nameserver " ADDR_SILENT "\nnameserver "
                                ADDR_DNSMASQ "\noptions timeout:2\n"), 0);
    static struct run r, g;
    const char *const env[] = { "FASTRES_STATS=1", NULL };
    const char *const argv[] = { "send", "res_send", "foo.test", "a",
                                 "send", "res_nsend", "nx.test", "a",
                                 "send", "__res_send", "foo.test", "aaaa",
                                 "send", "__res_nsend", "foo.test", "a", NULL };
    probe(&r, 1, env, argv);
    char line[4096], gline[4096], a[4096], b[4096], v[64];
    double slowest = 0;
    for (int i = 0; i < 4; i++) {
        nth_line(&r, i, line, sizeof line);
        field(line, "lib", v, sizeof v);
        cr_expect_str_eq(v, "libfastres.so", "not interposed: %s", line);
        field(line, "idsame", v, sizeof v);
        cr_expect_str_eq(v, "1", "reply ID is not the query's: %s", line);
        field(line, "ms", v, sizeof v);
        if (strtod(v, NULL) > slowest)
            slowest = strtod(v, NULL);
    }
    nth_line(&r, 0, line, sizeof line);
    field(line, "addrs", v, sizeof v);
    cr_expect_str_eq(v, "10.0.0.1", "%s", line);
    cr_expect_lt(slowest, 100, "fastres took %.1f ms behind a silent server", slowest);
    cr_expect_gt(stats_raced(&r), 0, "fastres stepped aside");
    /* glibc: the first two only (each waits 2 s for the silent server). */
    const char *const gargv[] = { "send", "res_send", "foo.test", "a",
                                  "send", "res_nsend", "nx.test", "a", NULL };
    probe(&g, 0, env, gargv);
    double glibc_ms = 0;
    for (int i = 0; i < 2; i++) {
        nth_line(&r, i, line, sizeof line);
        nth_line(&g, i, gline, sizeof gline);
        comparable(line, a, sizeof a);
        comparable(gline, b, sizeof b);
        cr_expect_str_eq(a, b, "fastres and glibc differ:\n  %s\n  %s", line, gline);
        field(gline, "ms", v, sizeof v);
        glibc_ms += strtod(v, NULL);
    }
    cr_expect_geq(glibc_ms, 2 * 1900, "glibc took only %.0f ms: is the first server silent?", glibc_ms);
    cr_log_info("res_send behind a silent server: fastres at most %.1f ms, glibc %.0f ms for two",
                slowest, glibc_ms);
}

/* Every server silent: res_send fails with ETIMEDOUT, as glibc's does
 * (timeout:1 attempts:1, so glibc's run stays short). */
Test(preload, res_send_all_silent, .timeout = 120)
{
    LAB_REQUIRE();
    lab_up();
    const char *const args[] = { "--mode", "drop", NULL };
    cr_assert_eq(lab_fault_start(&procs[1], ADDR_SILENT, args), 0);
    cr_assert_eq(lab_write_file("/etc/resolv.conf", "nameserver " ADDR_SILENT
                                "\noptions timeout:1 attempts:1\n"), 0);
    static struct run r, g;
    const char *const argv[] = { "send", "res_send", "foo.test", "a", NULL };
    probe(&r, 1, NULL, argv);
    probe(&g, 0, NULL, argv);
    char line[4096], gline[4096], a[4096], b[4096];
    nth_line(&r, 0, line, sizeof line);
    nth_line(&g, 0, gline, sizeof gline);
    comparable(line, a, sizeof a);
    comparable(gline, b, sizeof b);
    cr_expect_str_eq(a, b, "fastres and glibc differ:\n  %s\n  %s", line, gline);
    cr_expect(strstr(line, "rc=-1") && strstr(line, "errno=ETIMEDOUT"), "%s", line);
}

/* An nsswitch line with another source (issue 11): Debian's
 * "files myhostname dns" behind a silent first server. fastres asks
 * myhostname itself (the module, in its place) and DNS through its
 * engine: answers at once, as glibc does after its time-out; the host
 * name comes from myhostname, a DNS name from DNS. */
Test(preload, nsswitch_myhostname_behind_silent_server, .timeout = 120)
{
    LAB_REQUIRE();
    lab_up();
    const char *const args[] = { "--mode", "drop", NULL };
    cr_assert_eq(lab_fault_start(&procs[1], ADDR_SILENT, args), 0);
    cr_assert_eq(lab_write_file("/etc/resolv.conf", "nameserver " ADDR_SILENT "\nnameserver "
                                ADDR_DNSMASQ "\noptions timeout:2\n"), 0);
    cr_assert_eq(lab_write_file("/etc/nsswitch.conf", "hosts: files myhostname dns\n"), 0);
    char host[256];
    cr_assert_eq(gethostname(host, sizeof host), 0);
    static struct run r, g;
    const char *const env[] = { "FASTRES_STATS=1", NULL };
    const char *const argv[] = { "gai", "foo.test", "unspec", "gai", host, "inet",
                                 "ghba", "10.0.0.1", NULL };
    probe(&r, 1, env, argv);
    probe(&g, 0, env, argv);
    char line[4096], gline[4096], a[4096], b[4096], v[64];
    double slowest = 0, glibc_ms = 0;
    for (int i = 0; i < 3; i++) {
        nth_line(&r, i, line, sizeof line);
        nth_line(&g, i, gline, sizeof gline);
        comparable(line, a, sizeof a);
        comparable(gline, b, sizeof b);
        cr_expect_str_eq(a, b, "fastres and glibc differ:\n  %s\n  %s", line, gline);
        field(line, "ms", v, sizeof v);
        if (strtod(v, NULL) > slowest)
            slowest = strtod(v, NULL);
        field(gline, "ms", v, sizeof v);
        glibc_ms += strtod(v, NULL);
    }
    nth_line(&g, 1, gline, sizeof gline);
    field(gline, "rc", v, sizeof v);
    cr_expect_str_eq(v, "0", "glibc did not resolve the host name: myhostname missing? %s", gline);
    cr_expect_lt(slowest, 100, "fastres took %.1f ms behind a silent server", slowest);
    cr_expect_gt(stats_raced(&r), 0, "fastres stepped aside");
    cr_expect_geq(glibc_ms, 2 * 1900, "glibc took only %.0f ms: is the first server silent?", glibc_ms);
    cr_log_info("hosts: files myhostname dns behind a silent server: fastres at most %.1f ms,"
                " glibc %.0f ms for three", slowest, glibc_ms);
}
