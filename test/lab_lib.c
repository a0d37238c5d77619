/* fastres test lab helpers: see lab_lib.h.
 *
 * Queries are built with res_mkquery() and names read with dn_expand()
 * (both in glibc's libc since 2.34). The record walk in lab_dns_parse() is
 * hand-written: libresolv's ns_initparse()/ns_parserr() would do it, but
 * test binaries are not linked with -lresolv, and the code under test
 * (preload/dns/msg.c) must not check itself. */
#include "lab_lib.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <resolv.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* How long a started upstream may take to become ready. dnsmasq starts in
 * a few ms; the bound is generous for a loaded 2-core machine. */
#define LAB_START_MS 2000
/* Wait between readiness polls. */
#define LAB_POLL_MS 10
/* Probe timeout per try while waiting for dnsmasq to answer. */
#define LAB_PROBE_MS 100
/* After SIGTERM, how long a process has to exit before SIGKILL. */
#define LAB_STOP_MS 2000
/* After a count reaches its minimum, extra queries (retries, a second
 * server) are given this long to show up before the count is returned. */
#define LAB_SETTLE_MS 100
/* The readiness probe's name: its log lines are not counted. */
#define LAB_PROBE_NAME "lab-ready.invalid"
/* Caller arguments beyond the fixed ones we pass: a test serving one
 * record per address for an oversized reply passes about a hundred. */
#define LAB_ARGS_MAX 256
/* A dnsmasq log line of interest is short; longer lines are skipped. */
#define LAB_LINE_MAX 4096

int lab_in_lab(void)
{
    const char *v = getenv("LAB_INSIDE");
    return v && !strcmp(v, "1");
}

int lab_in_ci(void)
{
    const char *v = getenv("CI");
    return v && (!strcmp(v, "true") || !strcmp(v, "1"));
}

double lab_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void lab_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

int lab_tool_path(const char *name, char *out, size_t outsz)
{
    const char *dir = getenv("FASTRES_TEST_TOOLS");
    int n;
    if (!dir || !*dir)
        dir = "build/tools";
    n = snprintf(out, outsz, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= outsz)
        return -1;
    return 0;
}

int lab_write_file(const char *path, const char *text)
{
    size_t len = strlen(text), off = 0;
    int fd = open(path, O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, 0644), rc = -1;
    if (fd < 0) {
        fprintf(stderr, "lab: %s: %s\n", path, strerror(errno));
        return -1;
    }
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fprintf(stderr, "lab: write %s: %s\n", path, strerror(errno));
            goto done;
        }
        off += (size_t)n;
    }
    rc = 0;
done:
    if (close(fd) < 0)
        rc = -1;
    return rc;
}

static const char *lab_dir(void)
{
    const char *d = getenv("LAB_DIR");
    return d && *d ? d : "/tmp";
}

/* A file name under LAB_DIR unique to this process and this start. */
static int lab_make_path(char *out, size_t outsz, const char *what, const char *addr,
                         const char *suffix)
{
    static unsigned seq;
    char clean[LAB_ADDR_MAX];
    size_t i;
    int n;
    for (i = 0; addr[i] && i + 1 < sizeof(clean); i++)
        clean[i] = (addr[i] == ':' || addr[i] == '[' || addr[i] == ']' || addr[i] == '/') ? '_' : addr[i];
    clean[i] = 0;
    n = snprintf(out, outsz, "%s/%s-%s-%ld-%u%s", lab_dir(), what, clean, (long)getpid(), seq++,
                 suffix);
    return (n < 0 || (size_t)n >= outsz) ? -1 : 0;
}

/* fork + exec argv[0] with stdout/stderr to errpath. The child gets
 * SIGTERM when its parent dies, so a crashed test leaves no upstream. */
static pid_t lab_spawn(char *const argv[], const char *errpath)
{
    pid_t parent = getpid(), pid;
    int errfd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (errfd < 0) {
        fprintf(stderr, "lab: %s: %s\n", errpath, strerror(errno));
        return -1;
    }
    pid = fork();
    if (pid == 0) {
        /* Only async-signal-safe calls between fork and exec. */
        int devnull = open("/dev/null", O_RDONLY);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127);
        if (devnull >= 0)
            dup2(devnull, 0);
        dup2(errfd, 1);
        dup2(errfd, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    close(errfd);
    if (pid < 0)
        fprintf(stderr, "lab: fork: %s\n", strerror(errno));
    return pid;
}

/* 1 while pid runs; 0 (and reaped) once it exited. */
static int lab_alive(pid_t pid, int *status)
{
    return waitpid(pid, status, WNOHANG) == 0;
}

static void lab_show_file(const char *what, const char *path)
{
    char buf[2048];
    FILE *f = fopen(path, "r");
    size_t n;
    if (!f)
        return;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = 0;
    fclose(f);
    fprintf(stderr, "lab: %s output (%s):\n%s\n", what, path, buf);
}

static int lab_find_exe(const char *name, char *out, size_t outsz)
{
    const char *path = getenv("PATH");
    char dirs[4096];
    int n = snprintf(dirs, sizeof(dirs), "%s:/usr/sbin:/sbin:/usr/bin", path ? path : "");
    if (n < 0 || (size_t)n >= sizeof(dirs))
        return -1;
    for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        n = snprintf(out, outsz, "%s/%s", d, name);
        if (n > 0 && (size_t)n < outsz && access(out, X_OK) == 0)
            return 0;
    }
    return -1;
}

void lab_proc_stop(struct lab_proc *p)
{
    int status;
    double until;
    if (!p || p->pid <= 0)
        return;
    kill(p->pid, SIGTERM);
    until = lab_now_ms() + LAB_STOP_MS;
    while (lab_alive(p->pid, &status)) {
        if (lab_now_ms() > until) {
            fprintf(stderr, "lab: pid %ld ignored SIGTERM; killing\n", (long)p->pid);
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &status, 0);
            break;
        }
        lab_sleep_ms(LAB_POLL_MS);
    }
    p->pid = 0;
}

int lab_fault_start(struct lab_proc *p, const char *addr, const char *const *args)
{
    char tool[LAB_PATH_MAX];
    char *argv[LAB_ARGS_MAX + 8];
    int argc = 0, status;
    struct lab_proc np;
    struct stat st;
    double until;

    memset(&np, 0, sizeof(np));
    np.kind = LAB_KIND_FAULTDNS;
    if (strlen(addr) >= sizeof(np.addr) || lab_tool_path("faultdns", tool, sizeof(tool)) < 0 ||
        lab_make_path(np.count_file, sizeof(np.count_file), "faultdns", addr, ".count") < 0 ||
        lab_make_path(np.log_file, sizeof(np.log_file), "faultdns", addr, ".log") < 0) {
        fprintf(stderr, "lab: faultdns: address or paths too long\n");
        return -1;
    }
    if (access(tool, X_OK) != 0) {
        fprintf(stderr, "lab: %s not found: build it (make %s) or set FASTRES_TEST_TOOLS\n", tool, tool);
        return -1;
    }
    strcpy(np.addr, addr);
    unlink(np.count_file);
    argv[argc++] = tool;
    argv[argc++] = "--listen";
    argv[argc++] = np.addr;
    argv[argc++] = "--count-file";
    argv[argc++] = np.count_file;
    for (int i = 0; args && args[i]; i++) {
        if (i >= LAB_ARGS_MAX) {
            fprintf(stderr, "lab: faultdns: more than %d arguments\n", LAB_ARGS_MAX);
            return -1;
        }
        argv[argc++] = (char *)args[i];
    }
    argv[argc] = NULL;

    np.pid = lab_spawn(argv, np.log_file);
    if (np.pid < 0)
        return -1;
    /* faultdns writes its count file once it listens. */
    until = lab_now_ms() + LAB_START_MS;
    while (stat(np.count_file, &st) != 0) {
        if (!lab_alive(np.pid, &status)) {
            fprintf(stderr, "lab: faultdns on %s exited (exit code %d)\n", addr,
                    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
            lab_show_file("faultdns", np.log_file);
            return -1;
        }
        if (lab_now_ms() > until) {
            fprintf(stderr, "lab: faultdns on %s not ready after %d ms\n", addr, LAB_START_MS);
            lab_show_file("faultdns", np.log_file);
            lab_proc_stop(&np);
            return -1;
        }
        lab_sleep_ms(LAB_POLL_MS);
    }
    *p = np;
    return 0;
}

int lab_dnsmasq_start(struct lab_proc *p, const char *addr, const char *const *args)
{
    char exe[LAB_PATH_MAX], errlog[LAB_PATH_MAX], pidfile[LAB_PATH_MAX];
    char listen[LAB_ADDR_MAX + 32], logopt[LAB_PATH_MAX + 32], pidopt[LAB_PATH_MAX + 32];
    char *argv[LAB_ARGS_MAX + 16];
    unsigned char reply[512];
    int argc = 0, status;
    struct lab_proc np;
    double until;

    memset(&np, 0, sizeof(np));
    np.kind = LAB_KIND_DNSMASQ;
    if (lab_find_exe("dnsmasq", exe, sizeof(exe)) < 0) {
        fprintf(stderr, "lab: dnsmasq not found (apt-get install dnsmasq-base)\n");
        return -1;
    }
    if (strlen(addr) >= sizeof(np.addr) || strchr(addr, '#') ||
        lab_make_path(np.log_file, sizeof(np.log_file), "dnsmasq", addr, ".log") < 0 ||
        lab_make_path(errlog, sizeof(errlog), "dnsmasq", addr, ".stderr") < 0 ||
        lab_make_path(pidfile, sizeof(pidfile), "dnsmasq", addr, ".pid") < 0) {
        fprintf(stderr, "lab: dnsmasq: address or paths too long\n");
        return -1;
    }
    strcpy(np.addr, addr);
    snprintf(listen, sizeof(listen), "--listen-address=%s", addr);
    snprintf(logopt, sizeof(logopt), "--log-facility=%s", np.log_file);
    snprintf(pidopt, sizeof(pidopt), "--pid-file=%s", pidfile);
    unlink(np.log_file);
    argv[argc++] = exe;
    argv[argc++] = "-k";
    argv[argc++] = "--conf-file=/dev/null";
    argv[argc++] = "--no-resolv";
    argv[argc++] = "--no-hosts";
    argv[argc++] = "--bind-interfaces";
    argv[argc++] = listen;
    argv[argc++] = "--port=53";
    argv[argc++] = "--cache-size=0";
    argv[argc++] = logopt;
    argv[argc++] = "--log-queries";
    argv[argc++] = pidopt;
    /* Stay root: the log and pid files are ours, and in a user namespace
     * (test/lab.sh run without root) dnsmasq cannot switch users anyway. */
    argv[argc++] = "--user=root";
    for (int i = 0; args && args[i]; i++) {
        if (i >= LAB_ARGS_MAX) {
            fprintf(stderr, "lab: dnsmasq: more than %d arguments\n", LAB_ARGS_MAX);
            return -1;
        }
        argv[argc++] = (char *)args[i];
    }
    argv[argc] = NULL;

    np.pid = lab_spawn(argv, errlog);
    if (np.pid < 0)
        return -1;
    /* Ready once it answers anything (REFUSED or NXDOMAIN are fine). */
    until = lab_now_ms() + LAB_START_MS;
    for (uint16_t id = 1;; id++) {
        if (!lab_alive(np.pid, &status)) {
            fprintf(stderr, "lab: dnsmasq on %s exited (exit code %d)\n", addr,
                    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
            lab_show_file("dnsmasq", errlog);
            return -1;
        }
        if (lab_dns_query(addr, 0, LAB_PROBE_NAME, ns_t_a, id, LAB_PROBE_MS, reply, sizeof(reply)) > 0)
            break;
        if (lab_now_ms() > until) {
            fprintf(stderr, "lab: dnsmasq on %s not answering after %d ms\n", addr, LAB_START_MS);
            lab_show_file("dnsmasq", errlog);
            lab_proc_stop(&np);
            return -1;
        }
        lab_sleep_ms(LAB_POLL_MS);
    }
    *p = np;
    return 0;
}

long lab_query_count(const struct lab_proc *p)
{
    char line[LAB_LINE_MAX];
    long count = 0;
    FILE *f;

    if (!p || p->kind == LAB_KIND_NONE)
        return -1;
    if (p->kind == LAB_KIND_FAULTDNS) {
        f = fopen(p->count_file, "r");
        if (!f)
            return -1;
        if (fscanf(f, "%ld", &count) != 1)
            count = -1;
        fclose(f);
        return count;
    }
    f = fopen(p->log_file, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (strstr(line, "query[") && !strstr(line, LAB_PROBE_NAME))
            count++;
    fclose(f);
    return count;
}

long lab_wait_query_count(const struct lab_proc *p, long min, int timeout_ms)
{
    double until = lab_now_ms() + timeout_ms;
    long n = lab_query_count(p);
    while (n < min && lab_now_ms() < until) {
        lab_sleep_ms(LAB_POLL_MS);
        n = lab_query_count(p);
    }
    lab_sleep_ms(LAB_SETTLE_MS);
    return lab_query_count(p);
}

/* ---- raw DNS client ---- */

static int lab_parse_server(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *port = NULL;
    unsigned long pn = 53;
    size_t hl;
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end || (end[1] && end[1] != ':'))
            return -1;
        hl = (size_t)(end - s - 1);
        if (end[1] == ':')
            port = end + 2;
        s++;
    } else {
        const char *colon = strchr(s, ':');
        if (colon && strchr(colon + 1, ':'))
            colon = NULL;   /* bare IPv6 literal */
        hl = colon ? (size_t)(colon - s) : strlen(s);
        if (colon)
            port = colon + 1;
    }
    if (hl >= sizeof(host))
        return -1;
    memcpy(host, s, hl);
    host[hl] = 0;
    if (port) {
        char *end;
        pn = strtoul(port, &end, 10);
        if (*end || end == port || pn == 0 || pn > 65535)
            return -1;
    }
    memset(ss, 0, sizeof(*ss));
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)pn);
        *len = sizeof(*in4);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)pn);
        *len = sizeof(*in6);
        return 0;
    }
    return -1;
}

/* Wait for fd to become readable/writable before the deadline: 1 ready,
 * 0 timeout, -1 error. */
static int lab_wait_fd(int fd, short events, double until)
{
    for (;;) {
        struct pollfd pfd = {fd, events, 0};
        double left = until - lab_now_ms();
        int n;
        if (left <= 0)
            return 0;
        n = poll(&pfd, 1, (int)left + 1);
        if (n < 0 && errno == EINTR)
            continue;
        return n < 0 ? -1 : n;
    }
}

/* Read exactly len bytes before the deadline: 1 done, 0 timeout or EOF, -1 error. */
static int lab_read_full(int fd, unsigned char *buf, size_t len, double until)
{
    size_t got = 0;
    while (got < len) {
        int w = lab_wait_fd(fd, POLLIN, until);
        if (w <= 0)
            return w;
        ssize_t n = recv(fd, buf + got, len - got, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0)
            return errno == ECONNRESET ? 0 : -1;
        if (n == 0)
            return 0;
        got += (size_t)n;
    }
    return 1;
}

int lab_dns_query(const char *server, int tcp, const char *name, int type, uint16_t id,
                  int timeout_ms, unsigned char *buf, size_t bufsz)
{
    unsigned char q[2 + NS_PACKETSZ];
    struct sockaddr_storage ss;
    socklen_t sslen;
    double until = lab_now_ms() + timeout_ms;
    int qlen, fd = -1, rc = -1;

    if (lab_parse_server(server, &ss, &sslen) < 0) {
        fprintf(stderr, "lab: bad server address %s\n", server);
        return -1;
    }
    qlen = res_mkquery(ns_o_query, name, ns_c_in, type, NULL, 0, NULL, q + 2, NS_PACKETSZ);
    if (qlen < 0) {
        fprintf(stderr, "lab: cannot build a query for %s\n", name);
        return -1;
    }
    q[2] = (unsigned char)(id >> 8);
    q[3] = (unsigned char)id;
    q[4] |= 0x01;   /* RD, whatever _res.options say */
    q[0] = (unsigned char)(qlen >> 8);
    q[1] = (unsigned char)qlen;

    fd = socket(ss.ss_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto done;
    if (connect(fd, (struct sockaddr *)&ss, sslen) < 0 && errno != EINPROGRESS) {
        rc = (errno == ECONNREFUSED) ? 0 : -1;
        goto done;
    }
    if (!tcp) {
        if (send(fd, q + 2, (size_t)qlen, 0) != qlen)
            goto done;
        int w = lab_wait_fd(fd, POLLIN, until);
        if (w <= 0) {
            rc = w;
            goto done;
        }
        ssize_t n = recv(fd, buf, bufsz, 0);
        if (n < 0) {
            /* ICMP port unreachable: nobody listens there; no reply. */
            rc = (errno == ECONNREFUSED) ? 0 : -1;
            goto done;
        }
        rc = (int)n;
        goto done;
    }
    {
        int w = lab_wait_fd(fd, POLLOUT, until);
        int err = 0;
        socklen_t el = sizeof(err);
        unsigned char lenb[2];
        size_t rlen;
        if (w <= 0) {
            rc = w;
            goto done;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
            rc = (err == ECONNREFUSED) ? 0 : -1;
            goto done;
        }
        if (send(fd, q, (size_t)qlen + 2, MSG_NOSIGNAL) != qlen + 2)
            goto done;
        w = lab_read_full(fd, lenb, 2, until);
        if (w <= 0) {
            rc = w;
            goto done;
        }
        rlen = (size_t)(lenb[0] << 8 | lenb[1]);
        if (rlen > bufsz || rlen == 0) {
            fprintf(stderr, "lab: TCP reply of %zu bytes does not fit %zu\n", rlen, bufsz);
            goto done;
        }
        w = lab_read_full(fd, buf, rlen, until);
        rc = w <= 0 ? w : (int)rlen;
    }
done:
    if (fd >= 0)
        close(fd);
    return rc;
}

static uint16_t lab_get16(const unsigned char *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static uint32_t lab_get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Name at p (inside msg) as text, appended to out; -1 when malformed. */
static int lab_name_at(const unsigned char *msg, const unsigned char *eom, const unsigned char *p,
                       char *out, size_t outsz)
{
    char name[LAB_NAME_MAX];
    size_t have = strlen(out);
    if (dn_expand(msg, eom, p, name, sizeof(name)) < 0)
        return -1;
    if (snprintf(out + have, outsz - have, "%s", name) >= (int)(outsz - have))
        return -1;
    return 0;
}

static int lab_rdata_text(const unsigned char *msg, const unsigned char *eom, const struct lab_rr *rr,
                          const unsigned char *rd, uint16_t rdlen, char *out, size_t outsz)
{
    const unsigned char *end = rd + rdlen;
    int n;
    out[0] = 0;
    switch (rr->type) {
    case ns_t_a:
        return (rdlen == 4 && inet_ntop(AF_INET, rd, out, (socklen_t)outsz)) ? 0 : -1;
    case ns_t_aaaa:
        return (rdlen == 16 && inet_ntop(AF_INET6, rd, out, (socklen_t)outsz)) ? 0 : -1;
    case ns_t_cname:
    case ns_t_ns:
    case ns_t_ptr:
        return lab_name_at(msg, eom, rd, out, outsz);
    case ns_t_mx:
        if (rdlen < 3)
            return -1;
        snprintf(out, outsz, "%u ", lab_get16(rd));
        return lab_name_at(msg, eom, rd + 2, out, outsz);
    case ns_t_srv:
        if (rdlen < 7)
            return -1;
        snprintf(out, outsz, "%u %u %u ", lab_get16(rd), lab_get16(rd + 2), lab_get16(rd + 4));
        return lab_name_at(msg, eom, rd + 6, out, outsz);
    case ns_t_txt:
        while (rd < end) {
            size_t l = *rd++, have = strlen(out);
            if (l > (size_t)(end - rd))
                return -1;
            n = snprintf(out + have, outsz - have, "%s%.*s", have ? " " : "", (int)l, (const char *)rd);
            if (n < 0 || (size_t)n >= outsz - have)
                return -1;
            rd += l;
        }
        return 0;
    case ns_t_soa: {
        int skip;
        if (lab_name_at(msg, eom, rd, out, outsz) < 0 || (skip = dn_skipname(rd, end)) < 0)
            return -1;
        rd += skip;
        strncat(out, " ", outsz - strlen(out) - 1);
        if (lab_name_at(msg, eom, rd, out, outsz) < 0 || (skip = dn_skipname(rd, end)) < 0)
            return -1;
        rd += skip;
        if (end - rd != 20)
            return -1;
        size_t have = strlen(out);
        snprintf(out + have, outsz - have, " %u %u %u %u %u", lab_get32(rd), lab_get32(rd + 4),
                 lab_get32(rd + 8), lab_get32(rd + 12), lab_get32(rd + 16));
        return 0;
    }
    default:
        snprintf(out, outsz, "len=%u", rdlen);
        return 0;
    }
}

int lab_dns_parse(const unsigned char *buf, size_t len, struct lab_reply *r)
{
    const unsigned char *p = buf + NS_HFIXEDSZ, *eom = buf + len;
    unsigned total;

    memset(r, 0, sizeof(*r));
    if (len < NS_HFIXEDSZ)
        return -1;
    r->id = lab_get16(buf);
    r->qr = buf[2] >> 7;
    r->aa = (buf[2] >> 2) & 1;
    r->tc = (buf[2] >> 1) & 1;
    r->rd = buf[2] & 1;
    r->ra = buf[3] >> 7;
    r->rcode = buf[3] & 0xf;
    r->qdcount = lab_get16(buf + 4);
    r->ancount = lab_get16(buf + 6);
    r->nscount = lab_get16(buf + 8);
    r->arcount = lab_get16(buf + 10);
    for (unsigned i = 0; i < r->qdcount; i++) {
        char name[LAB_NAME_MAX];
        int n = dn_expand(buf, eom, p, name, sizeof(name));
        if (n < 0 || eom - (p + n) < 4)
            return -1;
        if (i == 0) {
            strcpy(r->qname, name);
            r->qtype = lab_get16(p + n);
        }
        p += n + 4;
    }
    total = r->ancount + r->nscount + r->arcount;
    for (unsigned i = 0; i < total; i++) {
        struct lab_rr rr;
        int n;
        uint16_t rdlen;
        memset(&rr, 0, sizeof(rr));
        rr.section = i < r->ancount ? 1 : i < r->ancount + r->nscount ? 2 : 3;
        n = dn_expand(buf, eom, p, rr.owner, sizeof(rr.owner));
        if (n < 0 || eom - (p + n) < 10)
            return -1;
        p += n;
        rr.type = lab_get16(p);
        rr.rclass = lab_get16(p + 2);
        rr.ttl = lab_get32(p + 4);
        rdlen = lab_get16(p + 8);
        p += 10;
        if (eom - p < rdlen)
            return -1;
        if (lab_rdata_text(buf, eom, &rr, p, rdlen, rr.data, sizeof(rr.data)) < 0)
            return -1;
        p += rdlen;
        if (r->nrr < LAB_RR_MAX)
            r->rr[r->nrr++] = rr;
    }
    return 0;
}

const struct lab_rr *lab_reply_find(const struct lab_reply *r, int section, uint16_t type)
{
    for (unsigned i = 0; i < r->nrr; i++)
        if (r->rr[i].section == section && r->rr[i].type == type)
            return &r->rr[i];
    return NULL;
}

static const char *env_names[LAB_ENV_MAX], *env_values[LAB_ENV_MAX];

int lab_env_set(const char *name, const char *value)
{
    for (int i = 0; i < LAB_ENV_MAX; i++)
        if (!env_names[i] || !strcmp(env_names[i], name)) {
            env_names[i] = name;
            env_values[i] = value;
            return 0;
        }
    return -1;
}

const char *lab_env_get(const char *name)
{
    for (int i = 0; i < LAB_ENV_MAX && env_names[i]; i++)
        if (!strcmp(env_names[i], name))
            return env_values[i];
    return NULL;
}

size_t lab_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return 2;
}

size_t lab_put32(uint8_t *p, uint32_t v)
{
    lab_put16(p, (uint16_t)(v >> 16));
    lab_put16(p + 2, (uint16_t)v);
    return 4;
}

size_t lab_put_name(uint8_t *p, const char *name)
{
    size_t o = 0;
    while (*name) {
        const char *dot = strchr(name, '.');
        size_t l = dot ? (size_t)(dot - name) : strlen(name);
        p[o++] = (uint8_t)l;
        memcpy(p + o, name, l);
        o += l;
        name += l;
        if (*name == '.')
            name++;
    }
    p[o++] = 0;
    return o;
}

size_t lab_msg_cname_into_ttl(uint8_t *p, int to_ttl)
{
    size_t o = 0;
    o += lab_put16(p + o, 0x1234);
    o += lab_put16(p + o, 0x8180);
    o += lab_put16(p + o, 1);
    o += lab_put16(p + o, 2);
    o += lab_put16(p + o, 0);
    o += lab_put16(p + o, 0);
    o += lab_put_name(p + o, "www.example");
    o += lab_put16(p + o, 1);          /* A */
    o += lab_put16(p + o, 1);          /* IN */
    o += lab_put16(p + o, 0xc00c);
    o += lab_put16(p + o, 5);          /* CNAME */
    o += lab_put16(p + o, 1);
    o += lab_put32(p + o, 600);
    o += lab_put16(p + o, 2);
    size_t target = o;
    o += 2;
    size_t owner = o;
    o += lab_put_name(p + o, "abc");
    o += lab_put16(p + o, 1);
    o += lab_put16(p + o, 1);
    size_t ttl = o;
    o += lab_put32(p + o, 0x03616263u);   /* the bytes of "\003abc" */
    o += lab_put16(p + o, 4);
    o += lab_put32(p + o, 0x0a000001);
    lab_put16(p + target, (uint16_t)(0xc000 | (to_ttl ? ttl : owner)));
    return o;
}
