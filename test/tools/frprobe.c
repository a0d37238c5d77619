/* frprobe: exercise the resolver entry points for the preload tests.
 *
 *   frprobe OP ARGS... [OP ARGS...]...
 *
 * Run under LD_PRELOAD=libfastres.so (or without, for glibc's answers).
 * Each operation prints one line of space-separated key=value fields,
 * starting with op=NAME, and ms=N (wall time of the call). Operations:
 *
 *   gai NAME FAMILY            getaddrinfo (FAMILY unspec|inet|inet6):
 *                              rc=0|EAI_* naddrs=N addrs=A,B,... canon=NAME
 *   ghbn NAME                  gethostbyname: ok=1 hname=H_NAME naddrs=N addrs=...
 *                              aliases=N
 *                              or ok=0 herr=HOST_NOT_FOUND|...
 *   ghbn2 NAME FAMILY          gethostbyname2, same output
 *   ghbnr NAME BUFLEN          gethostbyname_r with a BUFLEN-octet buffer:
 *                              rc=0|ERANGE|... and the ghbn fields; herr= is
 *                              *h_errnop, therr= the thread's h_errno after
 *                              the call (unset: not touched)
 *   ghbn2r NAME FAMILY BUFLEN  gethostbyname2_r
 *   res FUNC NAME DOMAIN TYPE  FUNC is any of res_query, __res_query,
 *                              res_search, res_querydomain, res_nquery, ...
 *                              looked up with dlsym(RTLD_DEFAULT, FUNC);
 *                              DOMAIN "-" for none (querydomain needs one);
 *                              TYPE a|aaaa|mx|txt. Prints lib=FILE (where
 *                              the symbol lives), rc=LEN|-1, rcode=,
 *                              ancount=, addrs= (A/AAAA in the answer),
 *                              herr=
 *   ghba ADDR                  gethostbyaddr (ADDR an IPv4 or IPv6 literal):
 *                              the ghbn fields (hname= is the PTR name)
 *   gni ADDR NAMEREQD          getnameinfo, port 80, flags NI_NAMEREQD
 *                              when NAMEREQD is 1: rc=0|EAI_* host=NAME
 *   send FUNC NAME TYPE        res_mkquery's query for NAME sent with FUNC
 *                              (res_send, __res_send, res_nsend or
 *                              __res_nsend, found with dlsym): lib= rc=
 *                              and the reply's fields as for res, idsame=1
 *                              when the reply's ID is the query's
 *   direct NAME                res_query called by name (a link-time
 *                              reference to libc's res_query@GLIBC_2.34):
 *                              rc= lib= (where &res_query points)
 *   threads N NAME             N threads call getaddrinfo(NAME, AF_INET)
 *                              at once: ok=K bad=M addrs=(of the first)
 *   fork NAME                  fork; child and parent each getaddrinfo:
 *                              parent=ADDRS child=ADDRS
 *   closeall NAME              close every descriptor >= 3, then gai
 *   fds NAME                   descriptors before/after a getaddrinfo:
 *                              before=N after=M
 *   sleep MS                   sleep MS milliseconds, calling nothing
 *   nfds                       descriptors open now: n=N
 *   editres                    res_init, then _res.retrans = 1 (an edited
 *                              _res, which glibc then follows)
 *   nfd                        the same as nfds, printed as op=nfd
 *
 * Exit status 0 unless an argument is wrong. */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Threads the "threads" operation may start. */
#define PROBE_THREADS_MAX 256
/* Reply buffer for res_*: the largest DNS message. */
#define PROBE_ANSWER_MAX 65536
/* Output of one list of addresses. */
#define PROBE_LIST_MAX 4096

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static int family_of(const char *s)
{
    if (!strcmp(s, "inet"))
        return AF_INET;
    if (!strcmp(s, "inet6"))
        return AF_INET6;
    if (!strcmp(s, "unspec"))
        return AF_UNSPEC;
    fprintf(stderr, "frprobe: bad family %s\n", s);
    exit(2);
}

static const char *eai_name(int rc)
{
    switch (rc) {
    case 0: return "0";
    case EAI_NONAME: return "EAI_NONAME";
    case EAI_NODATA: return "EAI_NODATA";
    case EAI_AGAIN: return "EAI_AGAIN";
    case EAI_FAIL: return "EAI_FAIL";
    case EAI_MEMORY: return "EAI_MEMORY";
    case EAI_SYSTEM: return "EAI_SYSTEM";
    case EAI_FAMILY: return "EAI_FAMILY";
    case EAI_SERVICE: return "EAI_SERVICE";
    case EAI_ADDRFAMILY: return "EAI_ADDRFAMILY";
    default: return "EAI_OTHER";
    }
}

/* Not an h_errno code: "never set" (ghbnr, ghbn2r). */
#define FRPROBE_HERR_UNSET 12345

static const char *herr_name(int h)
{
    switch (h) {
    case NETDB_SUCCESS: return "0";
    case HOST_NOT_FOUND: return "HOST_NOT_FOUND";
    case TRY_AGAIN: return "TRY_AGAIN";
    case NO_RECOVERY: return "NO_RECOVERY";
    case NO_DATA: return "NO_DATA";
    case NETDB_INTERNAL: return "NETDB_INTERNAL";
    default: return "OTHER";
    }
}

static const char *errno_name(int e)
{
    switch (e) {
    case 0: return "0";
    case ERANGE: return "ERANGE";
    case EAGAIN: return "EAGAIN";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ENOENT: return "ENOENT";
    case ENOMEM: return "ENOMEM";
    default: return "OTHER";
    }
}

static void append(char *list, const char *item)
{
    size_t l = strlen(list);
    snprintf(list + l, PROBE_LIST_MAX - l, "%s%s", l ? "," : "", item);
}

/* Addresses of a getaddrinfo list, each once, in order. */
static void gai_addrs(const struct addrinfo *ai, char *list)
{
    list[0] = '\0';
    for (; ai; ai = ai->ai_next) {
        char t[INET6_ADDRSTRLEN];
        const void *a = ai->ai_family == AF_INET
                            ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
                            : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
        inet_ntop(ai->ai_family, a, t, sizeof t);
        char probe[INET6_ADDRSTRLEN + 2];
        snprintf(probe, sizeof probe, ",%s,", t);
        char wrapped[PROBE_LIST_MAX + 2];
        snprintf(wrapped, sizeof wrapped, ",%s,", list);
        if (!strstr(wrapped, probe))
            append(list, t);
    }
    if (!list[0])
        strcpy(list, "-");
}

static int do_gai(const char *name, int family, char *list, char *canon, size_t canonsz)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_CANONNAME;
    int rc = getaddrinfo(name, NULL, &hints, &res);
    list[0] = '\0';
    if (canon)
        snprintf(canon, canonsz, "-");
    if (rc == 0) {
        gai_addrs(res, list);
        if (canon && res->ai_canonname)
            snprintf(canon, canonsz, "%s", res->ai_canonname);
        freeaddrinfo(res);
    } else {
        strcpy(list, "-");
    }
    return rc;
}

static void print_hostent(const struct hostent *he)
{
    char list[PROBE_LIST_MAX] = "";
    int n = 0;
    for (char **p = he->h_addr_list; *p; p++) {
        char t[INET6_ADDRSTRLEN];
        inet_ntop(he->h_addrtype, *p, t, sizeof t);
        append(list, t);
    }
    for (char **p = he->h_aliases; *p; p++)
        n++;
    int na = 0;
    for (char **p = he->h_addr_list; *p; p++)
        na++;
    printf(" ok=1 hname=%s naddrs=%d addrs=%s aliases=%d family=%s", he->h_name, na,
           list[0] ? list : "-", n, he->h_addrtype == AF_INET ? "inet" : "inet6");
}

/* Where a function's code lives (basename of the object). */
static const char *lib_of(void *fn)
{
    Dl_info di;
    if (!fn || !dladdr(fn, &di) || !di.dli_fname)
        return "-";
    const char *s = strrchr(di.dli_fname, '/');
    return s ? s + 1 : di.dli_fname;
}

static int type_of(const char *s)
{
    if (!strcmp(s, "a"))
        return ns_t_a;
    if (!strcmp(s, "aaaa"))
        return ns_t_aaaa;
    if (!strcmp(s, "mx"))
        return ns_t_mx;
    if (!strcmp(s, "txt"))
        return ns_t_txt;
    fprintf(stderr, "frprobe: bad type %s\n", s);
    exit(2);
}

typedef int (*q_fn)(const char *, int, int, unsigned char *, int);
typedef int (*qd_fn)(const char *, const char *, int, int, unsigned char *, int);
typedef int (*nq_fn)(res_state, const char *, int, int, unsigned char *, int);
typedef int (*nqd_fn)(res_state, const char *, const char *, int, int, unsigned char *, int);

static void print_reply(const unsigned char *ans, int len)
{
    ns_msg m;
    if (len <= 0 || ns_initparse(ans, len, &m) != 0) {
        printf(" rcode=- ancount=- addrs=-");
        return;
    }
    char list[PROBE_LIST_MAX] = "";
    int an = ns_msg_count(m, ns_s_an);
    for (int i = 0; i < an; i++) {
        ns_rr rr;
        if (ns_parserr(&m, ns_s_an, i, &rr) != 0)
            break;
        char t[INET6_ADDRSTRLEN];
        if (ns_rr_type(rr) == ns_t_a && ns_rr_rdlen(rr) == 4)
            append(list, inet_ntop(AF_INET, ns_rr_rdata(rr), t, sizeof t));
        else if (ns_rr_type(rr) == ns_t_aaaa && ns_rr_rdlen(rr) == 16)
            append(list, inet_ntop(AF_INET6, ns_rr_rdata(rr), t, sizeof t));
    }
    printf(" rcode=%d ancount=%d addrs=%s", ns_msg_getflag(m, ns_f_rcode), an, list[0] ? list : "-");
}

static void op_res(const char *func, const char *name, const char *domain, int type)
{
    static unsigned char ans[PROBE_ANSWER_MAX];
    void *fn = dlsym(RTLD_DEFAULT, func);
    if (!fn) {
        printf("op=res func=%s lib=- rc=nosym\n", func);
        return;
    }
    int is_n = strstr(func, "res_n") != NULL;
    int is_dom = strstr(func, "querydomain") != NULL;
    struct __res_state st;
    if (is_n) {
        memset(&st, 0, sizeof st);
        if (res_ninit(&st) != 0) {
            printf("op=res func=%s rc=ninit-failed\n", func);
            return;
        }
    }
    const char *dom = strcmp(domain, "-") ? domain : NULL;
    h_errno = 0;
    double t0 = now_ms();
    int rc;
    if (is_n && is_dom)
        rc = ((nqd_fn)fn)(&st, name, dom, ns_c_in, type, ans, sizeof ans);
    else if (is_n)
        rc = ((nq_fn)fn)(&st, name, ns_c_in, type, ans, sizeof ans);
    else if (is_dom)
        rc = ((qd_fn)fn)(name, dom, ns_c_in, type, ans, sizeof ans);
    else
        rc = ((q_fn)fn)(name, ns_c_in, type, ans, sizeof ans);
    double el = now_ms() - t0;
    int herr = is_n ? st.res_h_errno : h_errno;
    printf("op=res func=%s name=%s lib=%s rc=%d", func, name, lib_of(fn), rc);
    print_reply(ans, rc);
    printf(" herr=%s ms=%.1f\n", herr_name(herr), el);
    if (is_n)
        res_nclose(&st);
}

static void op_ghbn(const char *op, const char *name, int family, int use_r, size_t buflen)
{
    double t0 = now_ms();
    printf("op=%s name=%s", op, name);
    if (use_r) {
        struct hostent he, *result = NULL;
        int herr = 0;
        char *buf = malloc(buflen ? buflen : 1);
        /* glibc leaves a code in the thread's h_errno too (programs such
         * as threaded perl read it): a value no call sets shows whether it
         * was touched. */
        h_errno = FRPROBE_HERR_UNSET;
        int rc = family == -1 ? gethostbyname_r(name, &he, buf, buflen, &result, &herr)
                              : gethostbyname2_r(name, family, &he, buf, buflen, &result, &herr);
        double el = now_ms() - t0;
        printf(" rc=%s", errno_name(rc));
        if (result)
            print_hostent(result);
        else
            printf(" ok=0");
        int therr = h_errno;
        printf(" herr=%s therr=%s ms=%.1f\n", herr_name(herr),
               therr == FRPROBE_HERR_UNSET ? "unset" : herr_name(therr), el);
        free(buf);
        return;
    }
    h_errno = 0;
    struct hostent *he = family == -1 ? gethostbyname(name) : gethostbyname2(name, family);
    double el = now_ms() - t0;
    if (he)
        print_hostent(he);
    else
        printf(" ok=0");
    printf(" herr=%s ms=%.1f\n", herr_name(he ? 0 : h_errno), el);
}

struct thr {
    const char *name;
    int rc;
    char list[PROBE_LIST_MAX];
};

static pthread_barrier_t barrier;

static void *thr_run(void *arg)
{
    struct thr *t = arg;
    pthread_barrier_wait(&barrier);
    t->rc = do_gai(t->name, AF_INET, t->list, NULL, 0);
    return NULL;
}

static void op_threads(int n, const char *name)
{
    static struct thr th[PROBE_THREADS_MAX];
    pthread_t tid[PROBE_THREADS_MAX];
    if (n < 1 || n > PROBE_THREADS_MAX) {
        fprintf(stderr, "frprobe: threads 1..%d\n", PROBE_THREADS_MAX);
        exit(2);
    }
    pthread_barrier_init(&barrier, NULL, (unsigned)n);
    double t0 = now_ms();
    for (int i = 0; i < n; i++) {
        th[i].name = name;
        if (pthread_create(&tid[i], NULL, thr_run, &th[i]) != 0) {
            fprintf(stderr, "frprobe: pthread_create failed\n");
            exit(2);
        }
    }
    for (int i = 0; i < n; i++)
        pthread_join(tid[i], NULL);
    double el = now_ms() - t0;
    int ok = 0, same = 0;
    for (int i = 0; i < n; i++) {
        ok += th[i].rc == 0;
        same += !strcmp(th[i].list, th[0].list);
    }
    printf("op=threads name=%s n=%d ok=%d same=%d addrs=%s ms=%.1f\n", name, n, ok, same,
           th[0].list, el);
    pthread_barrier_destroy(&barrier);
}

static void op_fork(const char *name)
{
    char list[PROBE_LIST_MAX];
    int pfd[2];
    if (pipe(pfd) != 0)
        exit(2);
    double t0 = now_ms();
    pid_t pid = fork();
    if (pid < 0)
        exit(2);
    if (pid == 0) {
        close(pfd[0]);
        int rc = do_gai(name, AF_INET, list, NULL, 0);
        char out[PROBE_LIST_MAX + 32];
        int n = snprintf(out, sizeof out, "%s %s", eai_name(rc), list);
        ssize_t w = write(pfd[1], out, (size_t)n);
        (void)w;
        close(pfd[1]);
        _exit(0);
    }
    close(pfd[1]);
    int rc = do_gai(name, AF_INET, list, NULL, 0);
    char child[PROBE_LIST_MAX + 32] = "";
    ssize_t r = read(pfd[0], child, sizeof child - 1);
    child[r > 0 ? r : 0] = '\0';
    close(pfd[0]);
    int status;
    waitpid(pid, &status, 0);
    char *sp = strchr(child, ' ');
    if (sp)
        *sp++ = '\0';
    printf("op=fork name=%s parent_rc=%s parent=%s child_rc=%s child=%s child_exit=%d ms=%.1f\n",
           name, eai_name(rc), list, child[0] ? child : "-", sp ? sp : "-",
           WIFEXITED(status) ? WEXITSTATUS(status) : -1, now_ms() - t0);
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1;   /* opendir's own descriptor */
}

static void op_gai_line(const char *op, const char *name, int family)
{
    char list[PROBE_LIST_MAX], canon[1100];
    double t0 = now_ms();
    int rc = do_gai(name, family, list, canon, sizeof canon);
    double el = now_ms() - t0;
    int n = strcmp(list, "-") ? 1 : 0;
    for (const char *p = list; *p; p++)
        n += *p == ',';
    printf("op=%s name=%s rc=%s naddrs=%d addrs=%s canon=%s ms=%.1f\n", op, name, eai_name(rc), n,
           list, canon, el);
}

static int addr_of(const char *s, unsigned char *a, int *family)
{
    if (inet_pton(AF_INET, s, a) == 1) {
        *family = AF_INET;
        return 4;
    }
    if (inet_pton(AF_INET6, s, a) == 1) {
        *family = AF_INET6;
        return 16;
    }
    fprintf(stderr, "frprobe: bad address %s\n", s);
    exit(2);
}

static void op_ghba(const char *addr)
{
    unsigned char a[16];
    int family;
    int len = addr_of(addr, a, &family);
    double t0 = now_ms();
    printf("op=ghba addr=%s", addr);
    h_errno = 0;
    struct hostent *he = gethostbyaddr(a, (socklen_t)len, family);
    double el = now_ms() - t0;
    if (he)
        print_hostent(he);
    else
        printf(" ok=0");
    printf(" herr=%s ms=%.1f lib=%s\n", herr_name(he ? 0 : h_errno), el,
           lib_of((void *)gethostbyaddr));
}

static void op_gni(const char *addr, int namereqd)
{
    unsigned char a[16];
    int family;
    addr_of(addr, a, &family);
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    if (family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(80);
        memcpy(&sin->sin_addr, a, 4);
        sl = sizeof *sin;
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(80);
        memcpy(&sin6->sin6_addr, a, 16);
        sl = sizeof *sin6;
    }
    char host[NI_MAXHOST] = "", serv[NI_MAXSERV] = "";
    double t0 = now_ms();
    int rc = getnameinfo((struct sockaddr *)&ss, sl, host, sizeof host, serv, sizeof serv,
                         namereqd ? NI_NAMEREQD : 0);
    double el = now_ms() - t0;
    printf("op=gni addr=%s rc=%s host=%s serv=%s ms=%.1f lib=%s\n", addr, eai_name(rc),
           rc ? "-" : host, rc ? "-" : serv, el, lib_of((void *)getnameinfo));
}

typedef int (*send_fn)(const unsigned char *, int, unsigned char *, int);
typedef int (*nsend_fn)(res_state, const unsigned char *, int, unsigned char *, int);

static void op_send(const char *func, const char *name, int type)
{
    static unsigned char ans[PROBE_ANSWER_MAX];
    unsigned char q[NS_PACKETSZ];
    void *fn = dlsym(RTLD_DEFAULT, func);
    if (!fn) {
        printf("op=send func=%s lib=- rc=nosym\n", func);
        return;
    }
    int qlen = res_mkquery(ns_o_query, name, ns_c_in, type, NULL, 0, NULL, q, sizeof q);
    int is_n = strstr(func, "res_n") != NULL;
    struct __res_state st;
    if (is_n) {
        memset(&st, 0, sizeof st);
        if (res_ninit(&st) != 0) {
            printf("op=send func=%s rc=ninit-failed\n", func);
            return;
        }
    }
    double t0 = now_ms();
    int rc = is_n ? ((nsend_fn)fn)(&st, q, qlen, ans, sizeof ans) : ((send_fn)fn)(q, qlen, ans, sizeof ans);
    double el = now_ms() - t0;
    int e = errno;
    printf("op=send func=%s name=%s lib=%s rc=%d", func, name, lib_of(fn), rc);
    print_reply(ans, rc);
    printf(" idsame=%d errno=%s ms=%.1f\n", rc >= 2 && ans[0] == q[0] && ans[1] == q[1],
           rc < 0 ? errno_name(e) : "-", el);
    if (is_n)
        res_nclose(&st);
}

static void need(int argc, int i, int n, const char *op)
{
    if (i + n >= argc) {
        fprintf(stderr, "frprobe: %s needs %d arguments\n", op, n);
        exit(2);
    }
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 1; i < argc; i++) {
        const char *op = argv[i];
        if (!strcmp(op, "gai")) {
            need(argc, i, 2, op);
            op_gai_line("gai", argv[i + 1], family_of(argv[i + 2]));
            i += 2;
        } else if (!strcmp(op, "ghbn")) {
            need(argc, i, 1, op);
            op_ghbn(op, argv[i + 1], -1, 0, 0);
            i += 1;
        } else if (!strcmp(op, "ghbn2")) {
            need(argc, i, 2, op);
            op_ghbn(op, argv[i + 1], family_of(argv[i + 2]), 0, 0);
            i += 2;
        } else if (!strcmp(op, "ghbnr")) {
            need(argc, i, 2, op);
            op_ghbn(op, argv[i + 1], -1, 1, strtoul(argv[i + 2], NULL, 10));
            i += 2;
        } else if (!strcmp(op, "ghbn2r")) {
            need(argc, i, 3, op);
            op_ghbn(op, argv[i + 1], family_of(argv[i + 2]), 1, strtoul(argv[i + 3], NULL, 10));
            i += 3;
        } else if (!strcmp(op, "send")) {
            need(argc, i, 3, op);
            op_send(argv[i + 1], argv[i + 2], type_of(argv[i + 3]));
            i += 3;
        } else if (!strcmp(op, "ghba")) {
            need(argc, i, 1, op);
            op_ghba(argv[i + 1]);
            i += 1;
        } else if (!strcmp(op, "gni")) {
            need(argc, i, 2, op);
            op_gni(argv[i + 1], atoi(argv[i + 2]));
            i += 2;
        } else if (!strcmp(op, "res")) {
            need(argc, i, 4, op);
            op_res(argv[i + 1], argv[i + 2], argv[i + 3], type_of(argv[i + 4]));
            i += 4;
        } else if (!strcmp(op, "direct")) {
            need(argc, i, 1, op);
            static unsigned char ans[PROBE_ANSWER_MAX];
            /* A link-time reference: res_query@GLIBC_2.34 in libc. */
            int a = res_query(argv[i + 1], ns_c_in, ns_t_a, ans, sizeof ans);
            printf("op=direct name=%s rc=%d lib=%s\n", argv[i + 1], a, lib_of((void *)res_query));
            i += 1;
        } else if (!strcmp(op, "threads")) {
            need(argc, i, 2, op);
            op_threads(atoi(argv[i + 1]), argv[i + 2]);
            i += 2;
        } else if (!strcmp(op, "fork")) {
            need(argc, i, 1, op);
            op_fork(argv[i + 1]);
            i += 1;
        } else if (!strcmp(op, "closeall")) {
            need(argc, i, 1, op);
            /* What daemons do before exec or when they daemonise; glibc
             * 2.34+ has closefrom. Descriptors the library held are gone. */
            closefrom(3);
            op_gai_line("closeall", argv[i + 1], AF_INET);
            i += 1;
        } else if (!strcmp(op, "fds")) {
            need(argc, i, 1, op);
            int before = count_fds();
            char list[PROBE_LIST_MAX];
            int rc = do_gai(argv[i + 1], AF_UNSPEC, list, NULL, 0);
            int after = count_fds();
            printf("op=fds name=%s rc=%s before=%d after=%d\n", argv[i + 1], eai_name(rc), before,
                   after);
            i += 1;
        } else if (!strcmp(op, "sleep")) {
            need(argc, i, 1, op);
            /* No resolver call meanwhile: what fastres keeps open then. */
            usleep((useconds_t)strtoul(argv[i + 1], NULL, 10) * 1000u);
            printf("op=sleep ms=%s\n", argv[i + 1]);
            i += 1;
        } else if (!strcmp(op, "nfds")) {
            printf("op=nfds n=%d\n", count_fds());
        } else if (!strcmp(op, "nfd")) {
            printf("op=nfd n=%d\n", count_fds());
        } else if (!strcmp(op, "editres")) {
            res_init();
            _res.retrans = 1;
            printf("op=editres retrans=%d\n", _res.retrans);
        } else {
            fprintf(stderr, "frprobe: unknown operation %s\n", op);
            return 2;
        }
    }
    return 0;
}
