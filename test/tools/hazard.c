/* hazard: process hazards for the preload tests (test/test_hazards.sh).
 *
 *   hazard OP ARGS... [OP ARGS...]...
 *
 * Run with or without LD_PRELOAD=libfastres.so; one line per operation,
 * key=value fields, no times (so glibc's and fastres's lines compare).
 *
 *   look NAME            getaddrinfo(NAME, AF_UNSPEC), gethostbyname(NAME)
 *                        and res_query(NAME, A): three lines op=gai,
 *                        op=ghbn, op=res
 *   nfd                  op=nfd n=(descriptors open)
 *   where                op=where loaded=(1: libfastres.so is in the
 *                        process) secure=(AT_SECURE) getaddrinfo=(the
 *                        object defining it)
 *   nofile N             close every descriptor above stderr, then
 *                        RLIMIT_NOFILE soft limit 3 + N: N free numbers
 *                        (hard limit kept)
 *   alarm US             SIGALRM every US microseconds, handled without
 *                        SA_RESTART, until noalarm
 *   noalarm              stop it: op=alarm signals=(delivered)
 *   failsweep NAME KMAX  for k = 1, 2, ... KMAX: a child in which the k-th
 *                        malloc/calloc/realloc called from libfastres.so
 *                        fails (once) runs `look
 *                        NAME`: op=fail k=K gai=... ghbn=... res=...
 *                        fds=BEFORE/AFTER allocs=N; a child killed by a
 *                        signal gives op=fail k=K crash=SIG (14, SIGALRM: hung). Stops after the
 *                        first k beyond the allocations a lookup makes
 *                        (op=failsweep ks=K): later ones change nothing.
 *   refresh NAME WAIT_MS a daemon closing every descriptor after a lookup
 *                        that started a cache refresh: getaddrinfo, wait,
 *                        getaddrinfo again (op=refresh sockets=NEW: the
 *                        descriptors it left open), closefrom(3), then the
 *                        program's own UDP socket (a datagram to itself
 *                        queued), a file and a pipe take the numbers; two
 *                        more lookups; op=reuse udp= file= pipe= flags=
 *                        (ok when the data, offsets and flags are intact)
 *
 * HAZARD_TRACE=1 prints the stack of the failing call on stderr.
 * malloc, calloc, realloc and free are defined here, over the next
 * definitions (libc's, or ASan's in a sanitizer run), so that failsweep can
 * fail one call; without failsweep they only pass calls on.
 * Exit status 0 unless an argument is wrong. */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <dirent.h>
#include <dlfcn.h>
#include <link.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Output of one list of addresses. */
#define HZ_LIST_MAX 2048
/* Reply buffer for res_query: the largest DNS message. */
#define HZ_ANSWER_MAX 65536
/* A failsweep child that runs longer than this hangs (a lookup from a
 * healthy local server takes milliseconds). */
#define HZ_CHILD_S 10
/* dlsym may allocate before the next calloc is known; served from here. */
#define HZ_BOOT_SIZE 4096

/* ---- allocation failure ---- */

/* In a sanitizer build these run before the ASan runtime has set itself up
 * (its start-up calls dlsym, which allocates): they must not be
 * instrumented. */
#define HZ_NOSAN __attribute__((no_sanitize("address", "undefined")))

static void *(*next_malloc)(size_t);
static void *(*next_calloc)(size_t, size_t);
static void *(*next_realloc)(void *, size_t);
static void (*next_free)(void *);
static char boot[HZ_BOOT_SIZE] __attribute__((aligned(16)));
static size_t boot_used;
static int binding;
static long fail_at;          /* 0: never fail */
static long alloc_count;

HZ_NOSAN static void bind_next(void)
{
    if (next_malloc || binding)
        return;
    binding = 1;
    next_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
    next_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
    next_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
    next_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
    binding = 0;
}

HZ_NOSAN static void *boot_alloc(size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n > sizeof(boot) - boot_used)
        return NULL;
    void *p = boot + boot_used;
    boot_used += n;
    return p;          /* static storage: already zero */
}

/* The object whose allocations may fail (libfastres.so, c-ares inside it
 * included). glibc's own allocations are left alone: glibc 2.36 leaves a
 * lock of resolv_conf.c taken when one fails there, and the next lookup
 * hangs; that is glibc's to fix, not what this test is about. */
static int target_set;

HZ_NOSAN static int fail_now(void *caller)
{
    Dl_info di;
    if (!fail_at || !target_set || !dladdr(caller, &di) || !di.dli_fname ||
        !strstr(di.dli_fname, "libfastres"))
        return 0;
    if (++alloc_count == fail_at) {
        if (getenv("HAZARD_TRACE")) {
            /* Where the failing call came from, for whoever reads a failure. */
            void *bt[32];
            fail_at = 0;
            backtrace_symbols_fd(bt, backtrace(bt, 32), 2);
            fail_at = alloc_count;
        }
        errno = ENOMEM;
        return 1;
    }
    return 0;
}

/* Exported (the tools are built with -fvisibility=hidden), so that libc,
 * c-ares and fastres call it. */
__attribute__((visibility("default"))) HZ_NOSAN void *malloc(size_t n)
{
    bind_next();
    if (!next_malloc)
        return boot_alloc(n);
    return fail_now(__builtin_return_address(0)) ? NULL : next_malloc(n);
}

__attribute__((visibility("default"))) HZ_NOSAN void *calloc(size_t a, size_t b)
{
    bind_next();
    if (!next_calloc)
        return b && a > (size_t)-1 / b ? NULL : boot_alloc(a * b);
    return fail_now(__builtin_return_address(0)) ? NULL : next_calloc(a, b);
}

__attribute__((visibility("default"))) HZ_NOSAN void *realloc(void *p, size_t n)
{
    bind_next();
    if ((char *)p >= boot && (char *)p < boot + sizeof(boot)) {
        /* Rare (a dlsym buffer grown): copy out of the boot area. */
        char *q = malloc(n);
        size_t left = (size_t)(boot + sizeof(boot) - (char *)p);
        for (size_t i = 0; q && i < n && i < left; i++)
            q[i] = ((char *)p)[i];
        return q;
    }
    if (n && fail_now(__builtin_return_address(0)))
        return NULL;
    return next_realloc(p, n);
}

__attribute__((visibility("default"))) HZ_NOSAN void free(void *p)
{
    if (!p || ((char *)p >= boot && (char *)p < boot + sizeof(boot)))
        return;
    bind_next();
    next_free(p);
}

/* ---- lookups ---- */

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
    default: return "EAI_OTHER";
    }
}

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

static void append(char *list, const char *item)
{
    size_t l = strlen(list);
    snprintf(list + l, HZ_LIST_MAX - l, "%s%s", l ? "," : "", item);
}

/* The three lookups of `look`, each formatted into its own buffer (so the
 * failsweep child can format while an allocation may still fail). */
struct hz_look {
    char gai[HZ_LIST_MAX + 64], ghbn[HZ_LIST_MAX + 64], res[HZ_LIST_MAX + 64];
};

static void do_look(const char *name, struct hz_look *o)
{
    static unsigned char ans[HZ_ANSWER_MAX];
    char list[HZ_LIST_MAX], t[INET6_ADDRSTRLEN];
    struct addrinfo hints, *res = NULL;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    errno = 0;
    int rc = getaddrinfo(name, NULL, &hints, &res);
    int e = errno;
    list[0] = 0;
    for (struct addrinfo *ai = res; rc == 0 && ai; ai = ai->ai_next) {
        const void *a = ai->ai_family == AF_INET
                            ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
                            : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
        append(list, inet_ntop(ai->ai_family, a, t, sizeof t));
    }
    if (rc == 0)
        freeaddrinfo(res);
    snprintf(o->gai, sizeof o->gai, "rc=%s%s%s addrs=%s", eai_name(rc),
             rc == EAI_SYSTEM ? " errno=" : "", rc == EAI_SYSTEM ? strerror(e) : "",
             list[0] ? list : "-");

    h_errno = 0;
    struct hostent *he = gethostbyname(name);
    list[0] = 0;
    for (char **p = he ? he->h_addr_list : NULL; p && *p; p++)
        append(list, inet_ntop(he->h_addrtype, *p, t, sizeof t));
    snprintf(o->ghbn, sizeof o->ghbn, "ok=%d addrs=%s herr=%s", he != NULL, list[0] ? list : "-",
             herr_name(he ? 0 : h_errno));

    h_errno = 0;
    int n = res_query(name, ns_c_in, ns_t_a, ans, sizeof ans);
    int herr = h_errno;
    ns_msg m;
    list[0] = 0;
    if (n > 0 && ns_initparse(ans, n, &m) == 0) {
        for (int i = 0; i < ns_msg_count(m, ns_s_an); i++) {
            ns_rr rr;
            if (ns_parserr(&m, ns_s_an, i, &rr) == 0 && ns_rr_type(rr) == ns_t_a && ns_rr_rdlen(rr) == 4)
                append(list, inet_ntop(AF_INET, ns_rr_rdata(rr), t, sizeof t));
        }
    }
    snprintf(o->res, sizeof o->res, "rc=%d addrs=%s herr=%s", n, list[0] ? list : "-",
             herr_name(n < 0 ? herr : 0));
}

static void print_look(const char *name, const struct hz_look *o)
{
    printf("op=gai name=%s %s\nop=ghbn name=%s %s\nop=res name=%s %s\n", name, o->gai, name, o->ghbn,
           name, o->res);
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

/* ---- signals ---- */

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

static void op_alarm(long us)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;     /* no SA_RESTART: system calls get EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{us / 1000000, us % 1000000}, {us / 1000000, us % 1000000}};
    setitimer(ITIMER_REAL, &it, NULL);
}

static void op_noalarm(void)
{
    struct itimerval it;
    memset(&it, 0, sizeof it);
    setitimer(ITIMER_REAL, &it, NULL);
    printf("op=alarm signals=%s\n", alarms > 0 ? "some" : "none");
}

/* ---- failsweep ---- */

static int find_fastres(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    return info->dlpi_name && strstr(info->dlpi_name, "libfastres") != NULL;
}

/* libfastres.so is in the process (preloaded or linked). */
static int fastres_loaded(void)
{
    return dl_iterate_phdr(find_fastres, NULL) != 0;
}

static void op_failsweep(const char *name, long kmax)
{
    long k;
    if (!fastres_loaded()) {
        printf("op=failsweep target=none (no libfastres in the process)\n");
        return;
    }
    target_set = 1;
    fflush(stdout);
    for (k = 1; k <= kmax; k++) {
        pid_t pid = fork();
        if (pid < 0) {
            printf("op=fail k=%ld fork-failed\n", k);
            return;
        }
        if (pid == 0) {
            static struct hz_look o;
            /* A hang ends the child (SIGALRM, reported as a crash). */
            alarm(HZ_CHILD_S);
            int before = count_fds();
            alloc_count = 0;
            fail_at = k;
            do_look(name, &o);
            fail_at = 0;
            int after = count_fds();
            printf("op=fail k=%ld gai=[%s] ghbn=[%s] res=[%s] fds=%d/%d allocs=%ld\n", k, o.gai,
                   o.ghbn, o.res, before, after, alloc_count);
            fflush(stdout);
            _exit(alloc_count < k ? 3 : 0);
        }
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        if (WIFSIGNALED(st)) {
            printf("op=fail k=%ld crash=%d\n", k, WTERMSIG(st));
            fflush(stdout);
        } else if (WIFEXITED(st) && WEXITSTATUS(st) == 3) {
            break;
        } else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            printf("op=fail k=%ld exit=%d\n", k, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
            fflush(stdout);
        }
    }
    printf("op=failsweep ks=%ld\n", k);
}

/* ---- refresh, then closefrom ---- */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static void op_refresh(const char *name, long wait_ms)
{
    static const char filedata[] = "the program's own file: 0123456789";
    static const char pipedata[] = "the program's own pipe";
    static const char udpdata[] = "the program's own datagram";
    struct hz_look o;
    char buf[256];
    int fl_before[3], fd_before[3];
    const char *udp_ok = "bad", *file_ok = "bad", *pipe_ok = "bad", *flags_ok = "ok";

    do_look(name, &o);
    sleep_ms(wait_ms);
    /* The hit, and nothing that calls into fastres before the count: any
     * call (freeaddrinfo, the next lookup) collects refresh replies that
     * have come in and closes their sockets, and on loopback they come in
     * at once. The list is freed once the program has closed and reused
     * every descriptor, so that call meets the reused numbers too. */
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *hit = NULL;
    int before = count_fds();
    int hit_rc = getaddrinfo(name, NULL, &hints, &hit);
    int after = count_fds();
    printf("op=refresh name=%s sockets=%d\n", name, after - before);

    closefrom(3);
    /* Lowest numbers first: the UDP socket and the file take the numbers
     * the refresh sockets had. */
    int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sin;
    char path[] = "/tmp/hazard.XXXXXX";
    int f = -1, p[2] = {-1, -1};
    if (u < 0 || bind(u, (struct sockaddr *)&sin, sizeof sin) < 0 ||
        getsockname(u, (struct sockaddr *)&sin, &sl) < 0 ||
        sendto(u, udpdata, sizeof udpdata, 0, (struct sockaddr *)&sin, sizeof sin) < 0 ||
        (f = mkstemp(path)) < 0 || write(f, filedata, sizeof filedata) != (ssize_t)sizeof filedata ||
        lseek(f, 0, SEEK_SET) != 0 || pipe(p) < 0 ||
        write(p[1], pipedata, sizeof pipedata) != (ssize_t)sizeof pipedata) {
        printf("op=reuse setup-failed errno=%s\n", strerror(errno));
        return;
    }
    unlink(path);
    int mine[3] = {u, f, p[0]};
    for (int i = 0; i < 3; i++) {
        fl_before[i] = fcntl(mine[i], F_GETFL);
        fd_before[i] = fcntl(mine[i], F_GETFD);
    }
    if (hit_rc == 0)
        freeaddrinfo(hit);
    /* Time for the refresh replies to arrive, then lookups that collect
     * what fastres still believes pending. */
    sleep_ms(100);
    do_look(name, &o);
    print_look(name, &o);
    do_look("nope.lab.test", &o);

    for (int i = 0; i < 3; i++)
        if (fcntl(mine[i], F_GETFL) != fl_before[i] || fcntl(mine[i], F_GETFD) != fd_before[i])
            flags_ok = "bad";
    ssize_t n = recv(u, buf, sizeof buf, MSG_DONTWAIT);
    if (n == (ssize_t)sizeof udpdata && !memcmp(buf, udpdata, sizeof udpdata) &&
        recv(u, buf, sizeof buf, MSG_DONTWAIT) < 0 && errno == EAGAIN)
        udp_ok = "ok";
    if (lseek(f, 0, SEEK_CUR) == 0 && read(f, buf, sizeof buf) == (ssize_t)sizeof filedata &&
        !memcmp(buf, filedata, sizeof filedata))
        file_ok = "ok";
    fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
    if (read(p[0], buf, sizeof buf) == (ssize_t)sizeof pipedata && !memcmp(buf, pipedata, sizeof pipedata) &&
        read(p[0], buf, sizeof buf) < 0 && errno == EAGAIN)
        pipe_ok = "ok";
    printf("op=reuse fds=%d,%d,%d udp=%s file=%s pipe=%s flags=%s\n", u, f, p[0], udp_ok, file_ok,
           pipe_ok, flags_ok);
    close(u);
    close(f);
    close(p[0]);
    close(p[1]);
}

static void need(int argc, int i, int n, const char *op)
{
    if (i + n >= argc) {
        fprintf(stderr, "hazard: %s needs %d arguments\n", op, n);
        exit(2);
    }
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 1; i < argc; i++) {
        const char *op = argv[i];
        if (!strcmp(op, "look")) {
            struct hz_look o;
            need(argc, i, 1, op);
            do_look(argv[i + 1], &o);
            print_look(argv[i + 1], &o);
            i += 1;
        } else if (!strcmp(op, "where")) {
            Dl_info di;
            void *fn = dlsym(RTLD_DEFAULT, "getaddrinfo");
            const char *lib = fn && dladdr(fn, &di) && di.dli_fname ? di.dli_fname : "-";
            /* In a sanitizer run getaddrinfo is ASan's interceptor, which
             * calls fastres's: loaded= is what tells. */
            printf("op=where loaded=%d secure=%lu getaddrinfo=%s\n", fastres_loaded(),
                   getauxval(AT_SECURE), strrchr(lib, '/') ? strrchr(lib, '/') + 1 : lib);
        } else if (!strcmp(op, "nfd")) {
            printf("op=nfd n=%d\n", count_fds());
        } else if (!strcmp(op, "nofile")) {
            need(argc, i, 1, op);
            /* Exactly N free numbers: what the program inherited above
             * stderr varies with how it is started, so it goes first. */
            closefrom(3);
            struct rlimit rl;
            getrlimit(RLIMIT_NOFILE, &rl);
            rl.rlim_cur = 3 + strtoul(argv[i + 1], NULL, 10);
            if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
                fprintf(stderr, "hazard: setrlimit: %s\n", strerror(errno));
                return 2;
            }
            printf("op=nofile free=%s\n", argv[i + 1]);
            i += 1;
        } else if (!strcmp(op, "alarm")) {
            need(argc, i, 1, op);
            op_alarm(strtol(argv[i + 1], NULL, 10));
            i += 1;
        } else if (!strcmp(op, "noalarm")) {
            op_noalarm();
        } else if (!strcmp(op, "failsweep")) {
            need(argc, i, 2, op);
            op_failsweep(argv[i + 1], strtol(argv[i + 2], NULL, 10));
            i += 2;
        } else if (!strcmp(op, "refresh")) {
            need(argc, i, 2, op);
            op_refresh(argv[i + 1], strtol(argv[i + 2], NULL, 10));
            i += 2;
        } else {
            fprintf(stderr, "hazard: unknown operation %s\n", op);
            return 2;
        }
    }
    return 0;
}
