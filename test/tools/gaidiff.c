/* gaidiff: run resolver cases through libc's entry points and print one
 * normalised, deterministic line per case, so that a run with
 * LD_PRELOAD=libfastres.so can be diffed against a run without it.
 *
 * usage: gaidiff [-f FILE] [-r REPEAT] [-t SECONDS] [-n]
 *
 * Cases come one per line from FILE (default stdin); blank lines and lines
 * starting with '#' are skipped. Each case runs in a forked child (so a
 * crash or a hang is one case's result, not the end of the run) that gets
 * SIGALRM after -t SECONDS. With -n all cases run in this process, which
 * the alarm then kills; its last line is the case that hung or crashed. With -r N the child runs the case N times
 * and reports any run whose line differs from the first (a warm cache must
 * answer like a cold one).
 *
 * Case syntax: OP ARG...; arguments are whitespace-separated tokens where
 * "-" is a NULL pointer, "''" the empty string, "\xHH" any byte and "\\" a
 * backslash.
 *
 *   gai NODE SERVICE FAMILY SOCKTYPE PROTOCOL FLAGS   getaddrinfo with hints
 *   gai0 NODE SERVICE                                 getaddrinfo, hints NULL
 *   ghbn NAME                                         gethostbyname
 *   ghbn2 NAME FAMILY                                 gethostbyname2
 *   ghbnr NAME BUFLEN                                 gethostbyname_r
 *   ghbn2r NAME FAMILY BUFLEN                         gethostbyname2_r
 *   rq|rs|rnq|rns NAME CLASS TYPE [ANSLEN]            res_query, res_search,
 *                                                     res_nquery, res_nsearch
 *   rqo|rso NAME CLASS TYPE [ANSLEN]                  __res_query/__res_search
 *                                                     (the names pre-2.34
 *                                                     binaries import)
 *   rqd|rnqd NAME DOMAIN CLASS TYPE [ANSLEN]          res_(n)querydomain
 *   rsend|rnsend|rsendo|rnsendo|rsende NAME CLASS TYPE [ANSLEN]
 *                                                     res_send, res_nsend,
 *                                                     __res_send, __res_nsend
 *                                                     of res_mkquery's query
 *                                                     (rsende: res_send with
 *                                                     an EDNS OPT record);
 *                                                     id=same|DIFF tells if
 *                                                     the reply's ID is the
 *                                                     query's
 *   ghba ADDR FAMILY [LEN]                            gethostbyaddr (ADDR an
 *                                                     IPv4 or IPv6 literal;
 *                                                     LEN default its size)
 *   ghbar ADDR FAMILY BUFLEN [LEN]                    gethostbyaddr_r
 *   gni ADDR PORT FLAGS HOSTLEN SERVLEN [SCOPE]       getnameinfo on a
 *                                                     sockaddr_in(6); "-" for
 *                                                     HOSTLEN/SERVLEN: NULL
 *
 * ghba/ghbar/gni also print the thread's h_errno (therr=) and errno after
 * the call; FLAGS for gni: 0 or NI_X|NI_Y... or a number.
 *
 * FAMILY: AF_UNSPEC AF_INET AF_INET6 or a number; SOCKTYPE: 0 SOCK_STREAM
 * SOCK_DGRAM SOCK_RAW SOCK_SEQPACKET or a number; PROTOCOL: 0 IPPROTO_TCP
 * IPPROTO_UDP IPPROTO_SCTP IPPROTO_UDPLITE IPPROTO_RAW or a number; FLAGS:
 * 0 or AI_X|AI_Y|... or a number; CLASS: IN CH HS ANY or a number; TYPE: A
 * AAAA CNAME MX TXT SRV NS SOA PTR ANY or a number.
 *
 * Output: "CASE => RESULT". Address lists are printed sorted (the server's
 * order may vary; glibc's RFC 3484 sort only orders families and scopes),
 * with the family of the first result kept. For res_* the reply's header
 * (rcode, QR AA TC RD RA AD CD, section counts), question and answer
 * records (name, class, type, rdata; no ID, no TTL) are printed, answers
 * sorted. Buffers handed to the _r and res_* functions end at an
 * inaccessible page, so a write past the length given is a crash here.
 *
 * Internal names use the module name "gd". */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* One case line: a 254-octet name written as \xHH escapes is ~1 KiB. */
#define FR_GD_MAX_LINE 8192
/* The widest case (gai) has 7 tokens; extra tokens are an error. */
#define FR_GD_MAX_TOKENS 8
/* Default res_* answer buffer: the largest DNS message (TCP length field). */
#define FR_GD_DEFAULT_ANSLEN 65536
/* Largest buffer a case may ask for; keeps a typo from mapping gigabytes. */
#define FR_GD_MAX_BUFLEN (1 << 20)
/* Per-case deadline: glibc needs ~32 s to give up on three silent servers;
 * a case still running after this counts as hung. */
#define FR_GD_DEFAULT_TIMEOUT_S 60
/* Repeats per case: enough to show cold/warm cache differences. */
#define FR_GD_MAX_REPEAT 16
/* errno before a ghba/ghbar/gni call: a value no resolver sets, so the
 * output shows where glibc leaves errno as it found it. */
#define FR_GD_ENTRY_ERRNO EXDEV
/* Address strings: an IPv6 literal, port, scope and socket description. */
#define FR_GD_ITEM_MAX 256

struct fr_gd_name {
    const char *name;
    long value;
};

#define FR_GD_N(x) { #x, x }

static const struct fr_gd_name fr_gd_families[] = {
    FR_GD_N(AF_UNSPEC), FR_GD_N(AF_INET), FR_GD_N(AF_INET6), FR_GD_N(AF_UNIX), {NULL, 0}};
static const struct fr_gd_name fr_gd_socktypes[] = {
    {"0", 0}, FR_GD_N(SOCK_STREAM), FR_GD_N(SOCK_DGRAM), FR_GD_N(SOCK_RAW),
    FR_GD_N(SOCK_SEQPACKET), FR_GD_N(SOCK_RDM), {NULL, 0}};
static const struct fr_gd_name fr_gd_protocols[] = {
    {"0", 0}, FR_GD_N(IPPROTO_TCP), FR_GD_N(IPPROTO_UDP), FR_GD_N(IPPROTO_SCTP),
    FR_GD_N(IPPROTO_UDPLITE), FR_GD_N(IPPROTO_RAW), FR_GD_N(IPPROTO_ICMP), {NULL, 0}};
static const struct fr_gd_name fr_gd_aiflags[] = {
    FR_GD_N(AI_PASSIVE), FR_GD_N(AI_CANONNAME), FR_GD_N(AI_NUMERICHOST),
    FR_GD_N(AI_V4MAPPED), FR_GD_N(AI_ALL), FR_GD_N(AI_ADDRCONFIG), FR_GD_N(AI_IDN),
    FR_GD_N(AI_CANONIDN), FR_GD_N(AI_NUMERICSERV), {NULL, 0}};
static const struct fr_gd_name fr_gd_classes[] = {
    {"IN", ns_c_in}, {"CH", ns_c_chaos}, {"HS", ns_c_hs}, {"ANY", ns_c_any}, {NULL, 0}};
static const struct fr_gd_name fr_gd_types[] = {
    {"A", ns_t_a}, {"AAAA", ns_t_aaaa}, {"CNAME", ns_t_cname}, {"MX", ns_t_mx},
    {"TXT", ns_t_txt}, {"SRV", ns_t_srv}, {"NS", ns_t_ns}, {"SOA", ns_t_soa},
    {"PTR", ns_t_ptr}, {"ANY", ns_t_any}, {NULL, 0}};
static const struct fr_gd_name fr_gd_rcodes[] = {
    {"NOERROR", ns_r_noerror}, {"FORMERR", ns_r_formerr}, {"SERVFAIL", ns_r_servfail},
    {"NXDOMAIN", ns_r_nxdomain}, {"NOTIMP", ns_r_notimpl}, {"REFUSED", ns_r_refused}, {NULL, 0}};
static const struct fr_gd_name fr_gd_eai[] = {
    FR_GD_N(EAI_BADFLAGS), FR_GD_N(EAI_NONAME), FR_GD_N(EAI_AGAIN), FR_GD_N(EAI_FAIL),
    FR_GD_N(EAI_FAMILY), FR_GD_N(EAI_SOCKTYPE), FR_GD_N(EAI_SERVICE), FR_GD_N(EAI_MEMORY),
    FR_GD_N(EAI_SYSTEM), FR_GD_N(EAI_OVERFLOW), FR_GD_N(EAI_NODATA), FR_GD_N(EAI_ADDRFAMILY),
    FR_GD_N(EAI_INPROGRESS), FR_GD_N(EAI_CANCELED), FR_GD_N(EAI_NOTCANCELED),
    FR_GD_N(EAI_ALLDONE), FR_GD_N(EAI_INTR), FR_GD_N(EAI_IDN_ENCODE), {NULL, 0}};
static const struct fr_gd_name fr_gd_herr[] = {
    FR_GD_N(NETDB_INTERNAL), FR_GD_N(NETDB_SUCCESS), FR_GD_N(HOST_NOT_FOUND),
    FR_GD_N(TRY_AGAIN), FR_GD_N(NO_RECOVERY), FR_GD_N(NO_DATA), {NULL, 0}};

static const struct fr_gd_name fr_gd_niflags[] = {
    FR_GD_N(NI_NUMERICHOST), FR_GD_N(NI_NUMERICSERV), FR_GD_N(NI_NOFQDN), FR_GD_N(NI_NAMEREQD),
    FR_GD_N(NI_DGRAM), FR_GD_N(NI_IDN), {NULL, 0}};

struct fr_gd_case {
    char *tok[FR_GD_MAX_TOKENS]; /* decoded tokens; NULL for "-" */
    size_t len[FR_GD_MAX_TOKENS];
    int ntok;
};

/* A buffer whose last byte sits just below a PROT_NONE page. */
struct fr_gd_guarded {
    void *map;
    size_t maplen;
    unsigned char *buf;
};

static const char *fr_gd_name_of(const struct fr_gd_name *t, long v, char *tmp, size_t tmplen)
{
    for (; t->name; t++)
        if (t->value == v)
            return t->name;
    snprintf(tmp, tmplen, "%ld", v);
    return tmp;
}

/* Parses a table name or a number; 0 on success. */
static int fr_gd_parse_name(const struct fr_gd_name *t, const char *s, long *out)
{
    char *end;
    long v;

    if (!s)
        return -1;
    for (; t->name; t++) {
        if (strcmp(t->name, s) == 0) {
            *out = t->value;
            return 0;
        }
    }
    errno = 0;
    v = strtol(s, &end, 0);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

/* FLAGS: "0", a number, or AI_X|AI_Y. */
static int fr_gd_parse_flags(const char *s, long *out)
{
    char buf[FR_GD_MAX_LINE];
    char *save = NULL, *p;
    long v = 0, one;

    if (!s || strlen(s) >= sizeof(buf))
        return -1;
    strcpy(buf, s);
    for (p = strtok_r(buf, "|", &save); p; p = strtok_r(NULL, "|", &save)) {
        if (fr_gd_parse_name(fr_gd_aiflags, p, &one) != 0)
            return -1;
        v |= one;
    }
    *out = v;
    return 0;
}

static int fr_gd_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Splits line in place into decoded tokens; 0 on success. */
static int fr_gd_tokenize(char *line, struct fr_gd_case *c)
{
    char *p = line;

    memset(c, 0, sizeof(*c));
    for (;;) {
        char *start, *w, *tok;

        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        if (c->ntok == FR_GD_MAX_TOKENS)
            return -1;
        start = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if (*p)
            *p++ = '\0';
        if (strcmp(start, "-") == 0) {
            c->tok[c->ntok] = NULL;
            c->len[c->ntok++] = 0;
            continue;
        }
        if (strcmp(start, "''") == 0)
            start[0] = '\0';
        /* Decode escapes in place: the decoded form is never longer. */
        tok = start;
        for (w = start; *start;) {
            if (start[0] == '\\' && start[1] == '\\') {
                *w++ = '\\';
                start += 2;
            } else if (start[0] == '\\' && start[1] == 'x') {
                int hi = fr_gd_hexval((unsigned char)start[2]);
                int lo = hi < 0 ? -1 : fr_gd_hexval((unsigned char)start[3]);
                if (lo < 0)
                    return -1;
                *w++ = (char)(hi * 16 + lo);
                start += 4;
            } else {
                *w++ = *start++;
            }
        }
        *w = '\0';
        /* Points into line, which outlives the case. */
        c->tok[c->ntok] = tok;
        c->len[c->ntok++] = (size_t)(w - tok);
    }
    return 0;
}

static int fr_gd_guard_alloc(struct fr_gd_guarded *g, size_t len)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t data = ((len + (size_t)page - 1) / (size_t)page) * (size_t)page;
    void *m;

    m = mmap(NULL, data + (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return -1;
    if (mprotect((char *)m + data, (size_t)page, PROT_NONE) != 0) {
        munmap(m, data + (size_t)page);
        return -1;
    }
    g->map = m;
    g->maplen = data + (size_t)page;
    g->buf = (unsigned char *)m + data - len;
    /* Fill with a pattern so results never depend on leftover zeros. */
    memset(g->buf, 0xa5, len);
    return 0;
}

static void fr_gd_guard_free(struct fr_gd_guarded *g)
{
    if (g && g->map)
        munmap(g->map, g->maplen);
}

static int fr_gd_strcmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Prints a string with non-printable bytes, spaces and backslashes as
 * \xHH, so every output line stays one line of ASCII. */
static void fr_gd_put_str(FILE *out, const char *s)
{
    if (!s) {
        fputs("(null)", out);
        return;
    }
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch <= ' ' || ch >= 0x7f || ch == '\\' || ch == ',' || ch == ';')
            fprintf(out, "\\x%02x", ch);
        else
            fputc(ch, out);
    }
}

/* Prints the sorted items joined by "; ", then frees them. */
static void fr_gd_put_sorted(FILE *out, char **items, size_t n)
{
    qsort(items, n, sizeof(*items), fr_gd_strcmp);
    fputc('{', out);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputs("; ", out);
        fputs(items[i], out);
        free(items[i]);
    }
    fputc('}', out);
}

static void fr_gd_put_errno(FILE *out, const char *label, int e)
{
    const char *n = strerrorname_np(e);
    if (n)
        fprintf(out, " %s=%s", label, n);
    else
        fprintf(out, " %s=%d", label, e);
}

static void fr_gd_put_herrno(FILE *out, int h)
{
    char tmp[32];
    fprintf(out, " h_errno=%s", fr_gd_name_of(fr_gd_herr, h, tmp, sizeof(tmp)));
}

/* One sockaddr as "inet 10.0.0.1 port=80" / "inet6 ::1 port=0 scope=1 flow=0". */
static void fr_gd_fmt_sockaddr(char *dst, size_t dstlen, const struct sockaddr *sa, socklen_t salen)
{
    char a[INET6_ADDRSTRLEN];

    if (!sa) {
        snprintf(dst, dstlen, "addr=(null) addrlen=%u", (unsigned)salen);
    } else if (sa->sa_family == AF_INET && salen >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, a, sizeof(a));
        snprintf(dst, dstlen, "inet %s port=%u addrlen=%u", a, ntohs(in->sin_port), (unsigned)salen);
    } else if (sa->sa_family == AF_INET6 && salen >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof(a));
        snprintf(dst, dstlen, "inet6 %s port=%u scope=%u flow=%u addrlen=%u", a,
                 ntohs(in6->sin6_port), in6->sin6_scope_id, ntohl(in6->sin6_flowinfo),
                 (unsigned)salen);
    } else {
        snprintf(dst, dstlen, "family=%d addrlen=%u", sa->sa_family, (unsigned)salen);
    }
}

static void fr_gd_run_gai(FILE *out, const struct fr_gd_case *c, int with_hints)
{
    struct addrinfo hints, *res = NULL, *ai;
    long fam = 0, st = 0, proto = 0, flags = 0;
    char **items = NULL, tmp[32];
    size_t n = 0, extra_canon = 0;
    int rc;

    if (with_hints) {
        if (c->ntok != 7 || fr_gd_parse_name(fr_gd_families, c->tok[3], &fam) ||
            fr_gd_parse_name(fr_gd_socktypes, c->tok[4], &st) ||
            fr_gd_parse_name(fr_gd_protocols, c->tok[5], &proto) ||
            fr_gd_parse_flags(c->tok[6], &flags)) {
            fputs("BADCASE", out);
            return;
        }
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = (int)fam;
        hints.ai_socktype = (int)st;
        hints.ai_protocol = (int)proto;
        hints.ai_flags = (int)flags;
    } else if (c->ntok != 3) {
        fputs("BADCASE", out);
        return;
    }
    errno = 0;
    rc = getaddrinfo(c->tok[1], c->tok[2], with_hints ? &hints : NULL, &res);
    if (rc != 0) {
        int e = errno;
        fprintf(out, "rc=%s", fr_gd_name_of(fr_gd_eai, rc, tmp, sizeof(tmp)));
        /* errno is meaningful only for EAI_SYSTEM. */
        if (rc == EAI_SYSTEM)
            fr_gd_put_errno(out, "errno", e);
        return;
    }
    for (ai = res; ai; ai = ai->ai_next)
        n++;
    items = calloc(n ? n : 1, sizeof(*items));
    if (!items) {
        fputs("OOM", out);
        goto done;
    }
    fputs("rc=0", out);
    if (res) {
        fprintf(out, " first=%s canon=",
                fr_gd_name_of(fr_gd_families, res->ai_family, tmp, sizeof(tmp)));
        fr_gd_put_str(out, res->ai_canonname);
    }
    n = 0;
    for (ai = res; ai; ai = ai->ai_next) {
        char sa[FR_GD_ITEM_MAX], t1[32], t2[32], t3[32];
        char *item;

        if (ai != res && ai->ai_canonname)
            extra_canon++;
        fr_gd_fmt_sockaddr(sa, sizeof(sa), ai->ai_addr, ai->ai_addrlen);
        if (asprintf(&item, "%s %s %s %s",
                     fr_gd_name_of(fr_gd_families, ai->ai_family, t1, sizeof(t1)),
                     fr_gd_name_of(fr_gd_socktypes, ai->ai_socktype, t2, sizeof(t2)),
                     fr_gd_name_of(fr_gd_protocols, ai->ai_protocol, t3, sizeof(t3)), sa) < 0) {
            fputs(" OOM", out);
            break;
        }
        items[n++] = item;
    }
    if (extra_canon)
        fprintf(out, " extra_canon=%zu", extra_canon);
    fprintf(out, " n=%zu ", n);
    fr_gd_put_sorted(out, items, n);
done:
    free(items);
    if (res)
        freeaddrinfo(res);
}

/* Element i of a NULL-terminated pointer array that may sit at any
 * alignment: a _r call given an unaligned buffer may leave its h_aliases
 * and h_addr_list arrays unaligned (glibc's numeric path does). */
static char *fr_gd_ptr_at(char **arr, size_t i)
{
    char *p;
    memcpy(&p, (const char *)arr + i * sizeof(p), sizeof(p));
    return p;
}

static void fr_gd_put_hostent(FILE *out, const struct hostent *h)
{
    char tmp[32], *a;
    size_t n = 0;
    char **items;

    fputs(" name=", out);
    fr_gd_put_str(out, h->h_name);
    /* Aliases keep their order: it is the CNAME chain's. */
    fputs(" aliases=[", out);
    for (size_t i = 0; h->h_aliases && (a = fr_gd_ptr_at(h->h_aliases, i)); i++) {
        if (i)
            fputc(',', out);
        fr_gd_put_str(out, a);
    }
    fprintf(out, "] type=%s len=%d",
            fr_gd_name_of(fr_gd_families, h->h_addrtype, tmp, sizeof(tmp)), h->h_length);
    while (h->h_addr_list && fr_gd_ptr_at(h->h_addr_list, n))
        n++;
    items = calloc(n ? n : 1, sizeof(*items));
    if (!items) {
        fputs(" OOM", out);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char buf[INET6_ADDRSTRLEN] = "?";
        unsigned char addr[16];
        a = fr_gd_ptr_at(h->h_addr_list, i);
        if ((h->h_addrtype == AF_INET && h->h_length == 4) ||
            (h->h_addrtype == AF_INET6 && h->h_length == 16)) {
            memcpy(addr, a, (size_t)h->h_length);
            inet_ntop(h->h_addrtype, addr, buf, sizeof(buf));
        }
        items[i] = strdup(buf);
        if (!items[i]) {
            n = i;
            break;
        }
    }
    fprintf(out, " n=%zu ", n);
    fr_gd_put_sorted(out, items, n);
    free(items);
}

static void fr_gd_run_ghbn(FILE *out, const struct fr_gd_case *c, int two)
{
    struct hostent *h;
    long fam = AF_INET;

    if (c->ntok != (two ? 3 : 2) || (two && fr_gd_parse_name(fr_gd_families, c->tok[2], &fam))) {
        fputs("BADCASE", out);
        return;
    }
    h_errno = 0;
    h = two ? gethostbyname2(c->tok[1], (int)fam) : gethostbyname(c->tok[1]);
    if (!h) {
        fputs("NULL", out);
        fr_gd_put_herrno(out, h_errno);
        return;
    }
    fputs("ok", out);
    fr_gd_put_hostent(out, h);
}

static void fr_gd_run_ghbnr(FILE *out, const struct fr_gd_case *c, int two)
{
    struct fr_gd_guarded g = {0};
    struct hostent he, *result = (struct hostent *)&g; /* non-NULL sentinel */
    long fam = AF_INET, buflen = 0;
    int herr = 12345, ret;

    if (c->ntok != (two ? 4 : 3) ||
        (two && fr_gd_parse_name(fr_gd_families, c->tok[2], &fam)) ||
        fr_gd_parse_name(fr_gd_socktypes + 1 /* numbers only */, c->tok[two ? 3 : 2], &buflen) ||
        buflen < 0 || buflen > FR_GD_MAX_BUFLEN) {
        fputs("BADCASE", out);
        return;
    }
    if (fr_gd_guard_alloc(&g, (size_t)buflen) != 0) {
        fputs("MMAP-FAILED", out);
        return;
    }
    result = (struct hostent *)&g;
    if (two)
        ret = gethostbyname2_r(c->tok[1], (int)fam, &he, (char *)g.buf, (size_t)buflen, &result,
                               &herr);
    else
        ret = gethostbyname_r(c->tok[1], &he, (char *)g.buf, (size_t)buflen, &result, &herr);
    if (ret == 0)
        fputs("ret=0", out);
    else
        fprintf(out, "ret=%s", strerrorname_np(ret) ?: "?");
    if (result == (struct hostent *)&g) {
        fputs(" result=UNSET", out);
    } else if (!result) {
        fputs(" result=NULL", out);
        fr_gd_put_herrno(out, herr);
    } else {
        fputs(result == &he ? " result=ok" : " result=OTHER", out);
        fr_gd_put_hostent(out, result);
    }
    fr_gd_guard_free(&g);
}

/* ADDR (an IPv4 or IPv6 literal) into 16 octets; its length, 0 on error. */
static int fr_gd_parse_addr(const char *s, unsigned char *a)
{
    memset(a, 0, 16);
    if (!s)
        return 0;
    if (strchr(s, ':'))
        return inet_pton(AF_INET6, s, a) == 1 ? 16 : 0;
    return inet_pton(AF_INET, s, a) == 1 ? 4 : 0;
}

static void fr_gd_put_after(FILE *out, int e)
{
    char tmp[32];
    fprintf(out, " therr=%s", fr_gd_name_of(fr_gd_herr, h_errno, tmp, sizeof(tmp)));
    fr_gd_put_errno(out, "errno", e);
}

static void fr_gd_run_ghba(FILE *out, const struct fr_gd_case *c, int reentrant)
{
    unsigned char a[16];
    long fam = 0, len = 0, buflen = 0;
    int alen = fr_gd_parse_addr(c->tok[1], a);
    int lenarg = reentrant ? 4 : 3;
    if (c->ntok < lenarg || c->ntok > lenarg + 1 || !alen ||
        fr_gd_parse_name(fr_gd_families, c->tok[2], &fam) ||
        (reentrant && (fr_gd_parse_name(fr_gd_socktypes + 1, c->tok[3], &buflen) || buflen < 0 ||
                       buflen > FR_GD_MAX_BUFLEN)) ||
        (c->ntok > lenarg && (fr_gd_parse_name(fr_gd_socktypes + 1, c->tok[lenarg], &len) ||
                              len < 0 || len > 16))) {
        fputs("BADCASE", out);
        return;
    }
    if (c->ntok == lenarg)
        len = alen;
    h_errno = 0;
    if (!reentrant) {
        errno = FR_GD_ENTRY_ERRNO;
        struct hostent *h = gethostbyaddr(a, (socklen_t)len, (int)fam);
        int e = errno;
        if (!h) {
            fputs("NULL", out);
            fr_gd_put_after(out, e);
            return;
        }
        fputs("ok", out);
        fr_gd_put_hostent(out, h);
        fr_gd_put_after(out, e);
        return;
    }
    struct fr_gd_guarded g = {0};
    struct hostent he, *result;
    int herr = 12345, ret;
    if (fr_gd_guard_alloc(&g, (size_t)buflen) != 0) {
        fputs("MMAP-FAILED", out);
        return;
    }
    result = (struct hostent *)&g;
    errno = FR_GD_ENTRY_ERRNO;
    ret = gethostbyaddr_r(a, (socklen_t)len, (int)fam, &he, (char *)g.buf, (size_t)buflen, &result,
                          &herr);
    int e = errno;
    if (ret == 0)
        fputs("ret=0", out);
    else
        fprintf(out, "ret=%s", strerrorname_np(ret) ?: "?");
    if (result == (struct hostent *)&g) {
        fputs(" result=UNSET", out);
    } else if (!result) {
        fputs(" result=NULL", out);
        if (herr == 12345)
            fputs(" h_errno=UNSET", out);
        else
            fr_gd_put_herrno(out, herr);
    } else {
        fputs(result == &he ? " result=ok" : " result=OTHER", out);
        fr_gd_put_hostent(out, result);
        if (herr == 12345)
            fputs(" h_errno=UNSET", out);
        else
            fr_gd_put_herrno(out, herr);
    }
    fr_gd_put_after(out, e);
    fr_gd_guard_free(&g);
}

static void fr_gd_run_gni(FILE *out, const struct fr_gd_case *c)
{
    unsigned char a[16];
    long port = 0, flags = 0, hostlen = 0, servlen = 0, scope = 0, one;
    int alen = fr_gd_parse_addr(c->tok[1], a);
    char fbuf[FR_GD_MAX_LINE], *save = NULL;
    if (c->ntok < 6 || c->ntok > 7 || !alen ||
        fr_gd_parse_name(fr_gd_socktypes + 1, c->tok[2], &port) || !c->tok[3] ||
        strlen(c->tok[3]) >= sizeof(fbuf) ||
        (c->tok[4] && fr_gd_parse_name(fr_gd_socktypes + 1, c->tok[4], &hostlen)) ||
        (c->tok[5] && fr_gd_parse_name(fr_gd_socktypes + 1, c->tok[5], &servlen)) ||
        hostlen < 0 || hostlen > 4096 || servlen < 0 || servlen > 4096 ||
        (c->ntok == 7 && fr_gd_parse_name(fr_gd_socktypes + 1, c->tok[6], &scope))) {
        fputs("BADCASE", out);
        return;
    }
    strcpy(fbuf, c->tok[3]);
    for (char *p = strtok_r(fbuf, "|", &save); p; p = strtok_r(NULL, "|", &save)) {
        if (fr_gd_parse_name(fr_gd_niflags, p, &one) != 0) {
            fputs("BADCASE", out);
            return;
        }
        flags |= one;
    }
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    if (alen == 4) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        memcpy(&sin->sin_addr, a, 4);
        sl = sizeof *sin;
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        sin6->sin6_scope_id = (uint32_t)scope;
        memcpy(&sin6->sin6_addr, a, 16);
        sl = sizeof *sin6;
    }
    char host[4097], serv[4097];
    memset(host, 'H', sizeof host);
    memset(serv, 'S', sizeof serv);
    host[sizeof host - 1] = serv[sizeof serv - 1] = '\0';
    h_errno = 0;
    errno = FR_GD_ENTRY_ERRNO;
    int rc = getnameinfo((struct sockaddr *)&ss, sl, c->tok[4] ? host : NULL, (socklen_t)hostlen,
                         c->tok[5] ? serv : NULL, (socklen_t)servlen, (int)flags);
    int e = errno;
    char tmp[32];
    fprintf(out, "rc=%s", rc ? fr_gd_name_of(fr_gd_eai, rc, tmp, sizeof(tmp)) : "0");
    /* What the buffers hold: up to the NUL written, or untouched. */
    fputs(" host=", out);
    if (c->tok[4] && hostlen > 0 && memchr(host, 0, (size_t)hostlen))
        fr_gd_put_str(out, host);
    else
        fputs(host[0] == 'H' ? "UNTOUCHED" : "UNTERMINATED", out);
    fputs(" serv=", out);
    if (c->tok[5] && servlen > 0 && memchr(serv, 0, (size_t)servlen))
        fr_gd_put_str(out, serv);
    else
        fputs(serv[0] == 'S' ? "UNTOUCHED" : "UNTERMINATED", out);
    fr_gd_put_after(out, e);
}

/* Formats one answer record without its TTL: "name CLASS TYPE rdata". */
static void fr_gd_fmt_rr(char **dst, ns_msg *msg, ns_rr *rr)
{
    char rdata[4096], name[NS_MAXDNAME], t1[32], t2[32];
    const unsigned char *rd = ns_rr_rdata(*rr);
    const unsigned char *eom = ns_msg_end(*msg);
    size_t rdlen = ns_rr_rdlen(*rr);
    int type = ns_rr_type(*rr), ok = 1;
    char *w = rdata;
    size_t left = sizeof(rdata);

    rdata[0] = '\0';
    switch (type) {
    case ns_t_a:
    case ns_t_aaaa:
        if (rdlen != (type == ns_t_a ? 4u : 16u) ||
            !inet_ntop(type == ns_t_a ? AF_INET : AF_INET6, rd, rdata, sizeof(rdata)))
            ok = 0;
        break;
    case ns_t_cname:
    case ns_t_ns:
    case ns_t_ptr:
        if (dn_expand(ns_msg_base(*msg), eom, rd, name, sizeof(name)) < 0)
            ok = 0;
        else
            snprintf(rdata, sizeof(rdata), "%s", name);
        break;
    case ns_t_mx:
        if (rdlen < 3 || dn_expand(ns_msg_base(*msg), eom, rd + 2, name, sizeof(name)) < 0)
            ok = 0;
        else
            snprintf(rdata, sizeof(rdata), "%u %s", ns_get16(rd), name);
        break;
    case ns_t_srv:
        if (rdlen < 7 || dn_expand(ns_msg_base(*msg), eom, rd + 6, name, sizeof(name)) < 0)
            ok = 0;
        else
            snprintf(rdata, sizeof(rdata), "%u %u %u %s", ns_get16(rd), ns_get16(rd + 2),
                     ns_get16(rd + 4), name);
        break;
    case ns_t_soa: {
        char rname[NS_MAXDNAME];
        int l1 = dn_expand(ns_msg_base(*msg), eom, rd, name, sizeof(name));
        int l2 = l1 < 0 ? -1 : dn_expand(ns_msg_base(*msg), eom, rd + l1, rname, sizeof(rname));
        if (l2 < 0 || (size_t)(l1 + l2 + 20) > rdlen)
            ok = 0;
        else
            snprintf(rdata, sizeof(rdata), "%s %s %lu %lu %lu %lu %lu", name, rname,
                     ns_get32(rd + l1 + l2), ns_get32(rd + l1 + l2 + 4),
                     ns_get32(rd + l1 + l2 + 8), ns_get32(rd + l1 + l2 + 12),
                     ns_get32(rd + l1 + l2 + 16));
        break;
    }
    case ns_t_txt:
        for (size_t i = 0; i < rdlen && ok;) {
            size_t sl = rd[i++];
            if (i + sl > rdlen || left < sl * 4 + 4) {
                ok = 0;
                break;
            }
            *w++ = '"';
            left--;
            for (size_t k = 0; k < sl; k++) {
                unsigned char ch = rd[i + k];
                int m = (ch < ' ' || ch >= 0x7f || ch == '"' || ch == '\\')
                            ? snprintf(w, left, "\\%03u", ch)
                            : snprintf(w, left, "%c", ch);
                w += m;
                left -= (size_t)m;
            }
            *w++ = '"';
            *w++ = ' ';
            left -= 2;
            *w = '\0';
            i += sl;
        }
        break;
    default:
        ok = 0;
        break;
    }
    if (!ok) {
        /* Unknown type or bad rdata: RFC 3597 generic form. */
        w = rdata;
        left = sizeof(rdata);
        int m = snprintf(w, left, "\\# %zu ", rdlen);
        w += m;
        left -= (size_t)m;
        for (size_t i = 0; i < rdlen && left > 3; i++) {
            m = snprintf(w, left, "%02x", rd[i]);
            w += m;
            left -= (size_t)m;
        }
    }
    if (asprintf(dst, "%s %s %s %s", ns_rr_name(*rr),
                 fr_gd_name_of(fr_gd_classes, ns_rr_class(*rr), t1, sizeof(t1)),
                 fr_gd_name_of(fr_gd_types, type, t2, sizeof(t2)), rdata) < 0)
        *dst = NULL;
}

static void fr_gd_put_reply(FILE *out, const unsigned char *ans, int len)
{
    ns_msg msg;
    char **items = NULL, t1[32], t2[32];
    size_t n = 0;
    static const struct {
        ns_flag f;
        const char *name;
    } flags[] = {{ns_f_qr, "qr"}, {ns_f_aa, "aa"}, {ns_f_tc, "tc"}, {ns_f_rd, "rd"},
                 {ns_f_ra, "ra"}, {ns_f_ad, "ad"}, {ns_f_cd, "cd"}};

    if (ns_initparse(ans, len, &msg) < 0) {
        /* A reply cut short by a small buffer: its header still says what
         * the caller would see (rcode, TC). */
        if (len >= HFIXEDSZ) {
            const HEADER *hp = (const HEADER *)ans;
            fprintf(out, " rcode=%s qr=%d aa=%d tc=%d rd=%d ra=%d ad=%d cd=%d",
                    fr_gd_name_of(fr_gd_rcodes, hp->rcode, t1, sizeof(t1)), hp->qr, hp->aa,
                    hp->tc, hp->rd, hp->ra, hp->ad, hp->cd);
        }
        fputs(" UNPARSEABLE", out);
        return;
    }
    fprintf(out, " rcode=%s flags=",
            fr_gd_name_of(fr_gd_rcodes, ns_msg_getflag(msg, ns_f_rcode), t1, sizeof(t1)));
    for (size_t i = 0, any = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        if (ns_msg_getflag(msg, flags[i].f)) {
            fprintf(out, "%s%s", any ? "," : "", flags[i].name);
            any = 1;
        }
    }
    fprintf(out, " opcode=%d qd=%u an=%u ns=%u ar=%u", ns_msg_getflag(msg, ns_f_opcode),
            ns_msg_count(msg, ns_s_qd), ns_msg_count(msg, ns_s_an), ns_msg_count(msg, ns_s_ns),
            ns_msg_count(msg, ns_s_ar));
    for (int i = 0; i < ns_msg_count(msg, ns_s_qd); i++) {
        ns_rr rr;
        if (ns_parserr(&msg, ns_s_qd, i, &rr) < 0) {
            fputs(" q=UNPARSEABLE", out);
            return;
        }
        fprintf(out, " q=%s/%s/%s", ns_rr_name(rr),
                fr_gd_name_of(fr_gd_classes, ns_rr_class(rr), t1, sizeof(t1)),
                fr_gd_name_of(fr_gd_types, ns_rr_type(rr), t2, sizeof(t2)));
    }
    n = ns_msg_count(msg, ns_s_an);
    items = calloc(n ? n : 1, sizeof(*items));
    if (!items) {
        fputs(" OOM", out);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        ns_rr rr;
        if (ns_parserr(&msg, ns_s_an, (int)i, &rr) < 0)
            items[i] = strdup("UNPARSEABLE");
        else
            fr_gd_fmt_rr(&items[i], &msg, &rr);
        if (!items[i]) {
            n = i;
            break;
        }
    }
    fputs(" an={", out);
    qsort(items, n, sizeof(*items), fr_gd_strcmp);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputs("; ", out);
        /* Already text: libresolv escapes names, fr_gd_fmt_rr the rest. */
        fputs(items[i], out);
        free(items[i]);
    }
    fputc('}', out);
    free(items);
}

enum fr_gd_rop { FR_GD_RQ, FR_GD_RS, FR_GD_RNQ, FR_GD_RNS, FR_GD_RQO, FR_GD_RSO, FR_GD_RQD, FR_GD_RNQD };

typedef int (*fr_gd_res_fn)(const char *, int, int, unsigned char *, int);

static void fr_gd_run_res(FILE *out, const struct fr_gd_case *c, enum fr_gd_rop op)
{
    struct fr_gd_guarded g = {0};
    struct __res_state st;
    int dom = (op == FR_GD_RQD || op == FR_GD_RNQD);
    int base = dom ? 3 : 2;
    long cls, type, anslen = FR_GD_DEFAULT_ANSLEN;
    int ret = -1, st_ok = 0;

    memset(&st, 0, sizeof(st));
    if (c->ntok < base + 2 || c->ntok > base + 3 ||
        fr_gd_parse_name(fr_gd_classes, c->tok[base], &cls) ||
        fr_gd_parse_name(fr_gd_types, c->tok[base + 1], &type) ||
        (c->ntok == base + 3 &&
         fr_gd_parse_name(fr_gd_socktypes + 1 /* numbers only */, c->tok[base + 2], &anslen)) ||
        anslen < 0 || anslen > FR_GD_MAX_BUFLEN) {
        fputs("BADCASE", out);
        return;
    }
    if (fr_gd_guard_alloc(&g, (size_t)anslen) != 0) {
        fputs("MMAP-FAILED", out);
        return;
    }
    if (op == FR_GD_RNQ || op == FR_GD_RNS || op == FR_GD_RNQD) {
        if (res_ninit(&st) != 0) {
            fputs("RES_NINIT-FAILED", out);
            goto done;
        }
        st_ok = 1;
    }
    h_errno = 0;
    switch (op) {
    case FR_GD_RQ:
        ret = res_query(c->tok[1], (int)cls, (int)type, g.buf, (int)anslen);
        break;
    case FR_GD_RS:
        ret = res_search(c->tok[1], (int)cls, (int)type, g.buf, (int)anslen);
        break;
    case FR_GD_RNQ:
        ret = res_nquery(&st, c->tok[1], (int)cls, (int)type, g.buf, (int)anslen);
        break;
    case FR_GD_RNS:
        ret = res_nsearch(&st, c->tok[1], (int)cls, (int)type, g.buf, (int)anslen);
        break;
    case FR_GD_RQO:
    case FR_GD_RSO: {
        /* Resolved at run time: a preloaded library defining the old name
         * is found first, as it would be for an old binary. */
        const char *sym = op == FR_GD_RQO ? "__res_query" : "__res_search";
        fr_gd_res_fn fn = (fr_gd_res_fn)(uintptr_t)dlvsym(RTLD_DEFAULT, sym, "GLIBC_2.2.5");
        if (!fn)
            fn = (fr_gd_res_fn)(uintptr_t)dlsym(RTLD_DEFAULT, sym);
        if (!fn) {
            fputs("NO-SYMBOL", out);
            goto done;
        }
        ret = fn(c->tok[1], (int)cls, (int)type, g.buf, (int)anslen);
        break;
    }
    case FR_GD_RQD:
        ret = res_querydomain(c->tok[1], c->tok[2], (int)cls, (int)type, g.buf, (int)anslen);
        break;
    case FR_GD_RNQD:
        ret = res_nquerydomain(&st, c->tok[1], c->tok[2], (int)cls, (int)type, g.buf,
                               (int)anslen);
        break;
    }
    if (ret < 0) {
        fprintf(out, "ret=%d", ret);
        /* res_n* report through the state's res_h_errno, which is h_errno's
         * source for the non-n forms as well. */
        fr_gd_put_herrno(out, st_ok ? st.res_h_errno : h_errno);
        goto done;
    }
    /* The exact length may legitimately differ (name compression); report
     * only whether the reply fit the buffer. */
    if (ret > anslen) {
        fputs("ret=OVER", out);
        fr_gd_put_reply(out, g.buf, HFIXEDSZ <= anslen ? HFIXEDSZ : (int)anslen);
    } else {
        fputs("ret=LEN", out);
        fr_gd_put_reply(out, g.buf, ret);
    }
done:
    if (st_ok)
        res_nclose(&st);
    fr_gd_guard_free(&g);
}

typedef int (*fr_gd_send_fn)(const unsigned char *, int, unsigned char *, int);
typedef int (*fr_gd_nsend_fn)(res_state, const unsigned char *, int, unsigned char *, int);

static void fr_gd_run_send(FILE *out, const struct fr_gd_case *c, const char *op)
{
    struct fr_gd_guarded g = {0};
    struct __res_state st;
    long cls, type, anslen = FR_GD_DEFAULT_ANSLEN;
    unsigned char q[NS_PACKETSZ + 16];
    int n_st = !strcmp(op, "rnsend") || !strcmp(op, "rnsendo");
    int old = !strcmp(op, "rsendo") || !strcmp(op, "rnsendo");
    int ret = -1;

    memset(&st, 0, sizeof(st));
    if (c->ntok < 4 || c->ntok > 5 || fr_gd_parse_name(fr_gd_classes, c->tok[2], &cls) ||
        fr_gd_parse_name(fr_gd_types, c->tok[3], &type) ||
        (c->ntok == 5 && fr_gd_parse_name(fr_gd_socktypes + 1, c->tok[4], &anslen)) ||
        anslen < 0 || anslen > FR_GD_MAX_BUFLEN) {
        fputs("BADCASE", out);
        return;
    }
    int qlen = res_mkquery(ns_o_query, c->tok[1], (int)cls, (int)type, NULL, 0, NULL, q, NS_PACKETSZ);
    if (qlen < 0) {
        fputs("MKQUERY-FAILED", out);
        return;
    }
    if (!strcmp(op, "rsende")) {
        /* OPT: root owner, type 41, payload 1232, no extended flags. */
        static const unsigned char opt[] = { 0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0 };
        memcpy(q + qlen, opt, sizeof opt);
        qlen += (int)sizeof opt;
        q[11] = 1;
    }
    if (fr_gd_guard_alloc(&g, (size_t)anslen) != 0) {
        fputs("MMAP-FAILED", out);
        return;
    }
    if (n_st && res_ninit(&st) != 0) {
        fputs("RES_NINIT-FAILED", out);
        goto done;
    }
    errno = 0;
    if (old) {
        void *fn = dlvsym(RTLD_DEFAULT, n_st ? "__res_nsend" : "__res_send", "GLIBC_2.2.5");
        if (!fn)
            fn = dlsym(RTLD_DEFAULT, n_st ? "__res_nsend" : "__res_send");
        if (!fn) {
            fputs("NO-SYMBOL", out);
            goto done;
        }
        if (n_st)
            ret = ((fr_gd_nsend_fn)(uintptr_t)fn)(&st, q, qlen, g.buf, (int)anslen);
        else
            ret = ((fr_gd_send_fn)(uintptr_t)fn)(q, qlen, g.buf, (int)anslen);
    } else if (n_st) {
        ret = res_nsend(&st, q, qlen, g.buf, (int)anslen);
    } else {
        ret = res_send(q, qlen, g.buf, (int)anslen);
    }
    int e = errno;
    if (ret < 0) {
        fprintf(out, "ret=%d", ret);
        fr_gd_put_errno(out, "errno", e);
        goto done;
    }
    if (ret > anslen) {
        fputs("ret=OVER", out);
        goto done;
    }
    fputs("ret=LEN", out);
    fputs(ret >= 2 && g.buf[0] == q[0] && g.buf[1] == q[1] ? " id=same" : " id=DIFF", out);
    fr_gd_put_reply(out, g.buf, ret);
done:
    if (n_st)
        res_nclose(&st);
    fr_gd_guard_free(&g);
}

/* Runs one case, writing its result (no newline) to out. */
static void fr_gd_run_case(FILE *out, const struct fr_gd_case *c)
{
    static const struct {
        const char *op;
        enum fr_gd_rop rop;
    } res_ops[] = {{"rq", FR_GD_RQ},   {"rs", FR_GD_RS},   {"rnq", FR_GD_RNQ}, {"rns", FR_GD_RNS},
                   {"rqo", FR_GD_RQO}, {"rso", FR_GD_RSO}, {"rqd", FR_GD_RQD}, {"rnqd", FR_GD_RNQD}};
    const char *op = c->ntok ? c->tok[0] : NULL;

    if (!op) {
        fputs("BADCASE", out);
        return;
    }
    if (strcmp(op, "gai") == 0)
        fr_gd_run_gai(out, c, 1);
    else if (strcmp(op, "gai0") == 0)
        fr_gd_run_gai(out, c, 0);
    else if (strcmp(op, "ghbn") == 0)
        fr_gd_run_ghbn(out, c, 0);
    else if (strcmp(op, "ghbn2") == 0)
        fr_gd_run_ghbn(out, c, 1);
    else if (strcmp(op, "ghbnr") == 0)
        fr_gd_run_ghbnr(out, c, 0);
    else if (strcmp(op, "ghbn2r") == 0)
        fr_gd_run_ghbnr(out, c, 1);
    else if (strcmp(op, "ghba") == 0)
        fr_gd_run_ghba(out, c, 0);
    else if (strcmp(op, "ghbar") == 0)
        fr_gd_run_ghba(out, c, 1);
    else if (strcmp(op, "gni") == 0)
        fr_gd_run_gni(out, c);
    else if (!strcmp(op, "rsend") || !strcmp(op, "rnsend") || !strcmp(op, "rsendo") ||
             !strcmp(op, "rnsendo") || !strcmp(op, "rsende"))
        fr_gd_run_send(out, c, op);
    else {
        for (size_t i = 0; i < sizeof(res_ops) / sizeof(res_ops[0]); i++) {
            if (strcmp(op, res_ops[i].op) == 0) {
                fr_gd_run_res(out, c, res_ops[i].rop);
                return;
            }
        }
        fputs("BADCASE", out);
    }
}

/* Runs the case `repeat` times; returns the malloc'd result line. */
static char *fr_gd_run_repeated(const struct fr_gd_case *c, int repeat)
{
    char *first = NULL, *line = NULL;
    size_t firstlen = 0, len = 0;
    FILE *acc = NULL, *out;

    for (int i = 0; i < repeat; i++) {
        char *buf = NULL;
        size_t blen = 0;

        out = open_memstream(&buf, &blen);
        if (!out)
            break;
        fr_gd_run_case(out, c);
        fclose(out);
        if (i == 0) {
            first = buf;
            firstlen = blen;
            acc = open_memstream(&line, &len);
            if (!acc)
                break;
            fwrite(first, 1, firstlen, acc);
            continue;
        }
        if (strcmp(buf, first) != 0)
            fprintf(acc, " UNSTABLE(run %d: %s)", i + 1, buf);
        free(buf);
    }
    free(first);
    if (acc)
        fclose(acc);
    return line;
}

static void fr_gd_usage(void)
{
    fprintf(stderr, "usage: gaidiff [-f FILE] [-r REPEAT] [-t SECONDS] [-n]\n");
}

/* Runs the case in a child so a crash or hang is that case's result. */
static void fr_gd_run_forked(const char *raw, const struct fr_gd_case *c, int repeat, int timeout_s)
{
    int fds[2], status = 0;
    pid_t pid;
    char *res = NULL;
    size_t reslen = 0;
    FILE *acc;

    fflush(stdout);
    if (pipe(fds) != 0) {
        printf("%s => PIPE-FAILED\n", raw);
        return;
    }
    pid = fork();
    if (pid < 0) {
        printf("%s => FORK-FAILED\n", raw);
        close(fds[0]);
        close(fds[1]);
        return;
    }
    if (pid == 0) {
        char *line;
        size_t off = 0, l;

        close(fds[0]);
        alarm((unsigned)timeout_s);
        line = fr_gd_run_repeated(c, repeat);
        l = line ? strlen(line) : 0;
        while (off < l) {
            ssize_t w = write(fds[1], line + off, l - off);
            if (w <= 0)
                _exit(3);
            off += (size_t)w;
        }
        _exit(line ? 0 : 2);
    }
    close(fds[1]);
    acc = open_memstream(&res, &reslen);
    for (;;) {
        char buf[4096];
        ssize_t r = read(fds[0], buf, sizeof(buf));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (acc)
            fwrite(buf, 1, (size_t)r, acc);
    }
    close(fds[0]);
    if (acc)
        fclose(acc);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
        printf("%s => TIMEOUT(%ds)\n", raw, timeout_s);
    else if (WIFSIGNALED(status))
        printf("%s => CRASH(%s)\n", raw, sigabbrev_np(WTERMSIG(status)) ?: "?");
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        printf("%s => EXIT(%d)\n", raw, WEXITSTATUS(status));
    else
        printf("%s => %s\n", raw, res ? res : "");
    free(res);
}

int main(int argc, char **argv)
{
    FILE *in = stdin;
    char line[FR_GD_MAX_LINE];
    int opt, repeat = 1, timeout_s = FR_GD_DEFAULT_TIMEOUT_S, fork_each = 1, ncases = 0;

    /* AI_IDN converts from the locale's charset, as in a real program. */
    setlocale(LC_ALL, "");
    while ((opt = getopt(argc, argv, "f:r:t:nh")) != -1) {
        switch (opt) {
        case 'f':
            in = fopen(optarg, "r");
            if (!in) {
                perror(optarg);
                return 2;
            }
            break;
        case 'r':
            repeat = atoi(optarg);
            if (repeat < 1 || repeat > FR_GD_MAX_REPEAT) {
                fprintf(stderr, "gaidiff: -r must be 1..%d\n", FR_GD_MAX_REPEAT);
                return 2;
            }
            break;
        case 't':
            timeout_s = atoi(optarg);
            if (timeout_s < 1) {
                fprintf(stderr, "gaidiff: -t must be >= 1\n");
                return 2;
            }
            break;
        case 'n':
            fork_each = 0;
            break;
        default:
            fr_gd_usage();
            return 2;
        }
    }
    if (optind != argc) {
        fr_gd_usage();
        return 2;
    }
    while (fgets(line, sizeof(line), in)) {
        char work[FR_GD_MAX_LINE];
        struct fr_gd_case c;
        size_t l = strlen(line);

        if (l && line[l - 1] == '\n')
            line[--l] = '\0';
        else if (!feof(in)) {
            fprintf(stderr, "gaidiff: line longer than %d bytes\n", FR_GD_MAX_LINE - 1);
            return 2;
        }
        {
            const char *p = line + strspn(line, " \t");
            if (!*p || *p == '#')
                continue;
        }
        memcpy(work, line, l + 1);
        ncases++;
        if (fr_gd_tokenize(work, &c) != 0) {
            printf("%s => BADCASE\n", line);
            continue;
        }
        if (fork_each) {
            fr_gd_run_forked(line, &c, repeat, timeout_s);
        } else {
            char *res;
            /* The case goes out first, so a run killed by the alarm (a hang)
             * or a crash ends with the line of the case that did it. */
            printf("%s => ", line);
            fflush(stdout);
            alarm((unsigned)timeout_s);
            res = fr_gd_run_repeated(&c, repeat);
            alarm(0);
            printf("%s\n", res ? res : "OOM");
            free(res);
        }
    }
    if (in != stdin)
        fclose(in);
    fflush(stdout);
    fprintf(stderr, "gaidiff: %d cases\n", ncases);
    return 0;
}
