/* lookup: the benchmark's load generator.
 *
 *   lookup -n COUNT -d SECONDS [-t THREADS] [-f unspec|inet] [-u PREFIX]
 *          -o RAWFILE NAME...
 *
 * Runs COUNT getaddrinfo() lookups (SOCK_STREAM, ai_flags 0, the family
 * -f picks; AF_UNSPEC by default as most programs ask) over THREADS
 * threads, lookup i asking for NAME[i % number of names], or with -u for
 * PREFIX<i>.NAME[i % number of names]: a new name every lookup, so that no
 * cache (the contender's or a daemon's) answers it; a NAME of "@" stands
 * for no suffix there: the name is PREFIX<i> alone, without a dot (a
 * short name that the search list completes). Each lookup is timed with
 * CLOCK_MONOTONIC around getaddrinfo() alone.
 *
 * The same source builds against glibc (build/bench/lookup, which
 * LD_PRELOAD can reach) and statically against musl (musl-gcc -static,
 * build/bench/lookup-musl: musl's own stub resolver).
 *
 * Two bounds, whichever comes first: COUNT lookups, or SECONDS of wall
 * time. No lookup starts after the wall-time cap; a lookup still running
 * when the cap passes is "cut": it is written with the time it had taken
 * so far (a lower bound) and the process leaves with _exit() without
 * waiting for it (glibc may sit 5 s or more in one lookup).
 *
 * RAWFILE gets one line per lookup, in start order:
 *     NANOSECONDS STATUS
 * STATUS is "ok", the getaddrinfo error name (e.g. EAI_AGAIN), or "cut".
 * stdout gets one summary line:
 *     done=N failed=N cut=N wall_ns=N fastres=0|1
 * fastres=1 when libfastres is mapped into this process (so the caller
 * can check that LD_PRELOAD took). Exit 0 unless the run itself could not
 * be made (bad arguments, no memory, file errors): failed lookups are
 * results, not errors.
 *
 * Standalone tool: it reads the real clock directly (preload/base/clock.h is
 * for the library, whose time tests fake). */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* More lookups than any cell needs: a cache hit takes ~100 ns, so a few
 * seconds of cap stay under this; 16 bytes each, 160 MB at most. */
#define BENCH_COUNT_MAX 10000000L
/* Threads: the bench uses 1 and 2 on a 2-core machine; a few more for
 * experiments. */
#define BENCH_THREADS_MAX 64
/* Wall-time cap: one cell of the full run is capped at tens of seconds. */
#define BENCH_SECONDS_MAX 3600
/* How often the main thread looks at the clock while waiting for the
 * workers (the cap is checked at this granularity). */
#define BENCH_POLL_NS 10000000L
/* Longest name the bench asks for: a DNS name's presentation form. */
#define BENCH_NAME_MAX 256

enum bench_state { BENCH_PENDING = 0, BENCH_RUNNING, BENCH_DONE };

struct bench_slot {
    int64_t start_ns;      /* set when the lookup starts */
    int64_t lat_ns;        /* set when it ends */
    int status;            /* getaddrinfo() result */
    _Atomic int state;
};

static struct {
    long count;
    int64_t deadline_ns;
    int family;
    char **names;
    int nnames;
    const char *prefix;    /* -u: unique names, or NULL */
    struct bench_slot *slots;
    atomic_long next;      /* index of the next lookup to start */
    atomic_int running;    /* worker threads not yet finished */
} B;

static int64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *bench_worker(void *arg)
{
    struct addrinfo hints;
    (void)arg;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = B.family;
    hints.ai_socktype = SOCK_STREAM;
    for (;;) {
        struct addrinfo *res = NULL;
        char unique[BENCH_NAME_MAX];
        const char *name;
        long i = atomic_fetch_add(&B.next, 1);
        int64_t t0;
        if (i >= B.count)
            break;
        name = B.names[i % B.nnames];
        if (B.prefix) {
            /* Built before the clock starts; too long cannot happen (main
             * checks the longest name), but a cut name would still be a
             * valid, if different, name. */
            if (!strcmp(name, "@"))
                snprintf(unique, sizeof(unique), "%s%ld", B.prefix, i);
            else
                snprintf(unique, sizeof(unique), "%s%ld.%s", B.prefix, i, name);
            name = unique;
        }
        t0 = bench_now_ns();
        if (t0 >= B.deadline_ns) {
            /* Not started: leave it PENDING; it is not counted. */
            break;
        }
        B.slots[i].start_ns = t0;
        atomic_store(&B.slots[i].state, BENCH_RUNNING);
        B.slots[i].status = getaddrinfo(name, NULL, &hints, &res);
        B.slots[i].lat_ns = bench_now_ns() - t0;
        atomic_store(&B.slots[i].state, BENCH_DONE);
        if (res)
            freeaddrinfo(res);
    }
    atomic_fetch_sub(&B.running, 1);
    return NULL;
}

static const char *bench_eai_name(int e)
{
    switch (e) {
    case 0: return "ok";
    case EAI_AGAIN: return "EAI_AGAIN";
    case EAI_FAIL: return "EAI_FAIL";
    case EAI_NONAME: return "EAI_NONAME";
    case EAI_NODATA: return "EAI_NODATA";
    case EAI_ADDRFAMILY: return "EAI_ADDRFAMILY";
    case EAI_MEMORY: return "EAI_MEMORY";
    case EAI_SYSTEM: return "EAI_SYSTEM";
    case EAI_FAMILY: return "EAI_FAMILY";
    case EAI_SERVICE: return "EAI_SERVICE";
    case EAI_SOCKTYPE: return "EAI_SOCKTYPE";
    case EAI_BADFLAGS: return "EAI_BADFLAGS";
    case EAI_OVERFLOW: return "EAI_OVERFLOW";
    default: return "EAI_OTHER";
    }
}

/* 1 when a mapping of this process names libfastres. */
static int bench_fastres_mapped(void)
{
    char line[4096];
    int found = 0;
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (strstr(line, "libfastres"))
            found = 1;
    fclose(f);
    return found;
}

static void bench_usage(void)
{
    fprintf(stderr, "usage: lookup -n COUNT -d SECONDS [-t THREADS] [-f unspec|inet] "
                    "[-u PREFIX] -o RAWFILE NAME...\n");
}

int main(int argc, char **argv)
{
    pthread_t tids[BENCH_THREADS_MAX];
    long count = 0, seconds = 0, threads = 1, done = 0, failed = 0, cut = 0;
    const char *out = NULL, *prefix = NULL;
    int family = AF_UNSPEC, opt, started = 0, rc = 1, all_joined = 0;
    int64_t t_start, t_end, now;
    FILE *f = NULL;
    char *end;

    while ((opt = getopt(argc, argv, "n:d:t:f:o:u:")) != -1) {
        switch (opt) {
        case 'n': count = strtol(optarg, &end, 10); if (*end) count = -1; break;
        case 'd': seconds = strtol(optarg, &end, 10); if (*end) seconds = -1; break;
        case 't': threads = strtol(optarg, &end, 10); if (*end) threads = -1; break;
        case 'f':
            if (!strcmp(optarg, "unspec"))
                family = AF_UNSPEC;
            else if (!strcmp(optarg, "inet"))
                family = AF_INET;
            else
                family = -1;
            break;
        case 'o': out = optarg; break;
        case 'u': prefix = optarg; break;
        default: bench_usage(); return 2;
        }
    }
    if (count < 1 || count > BENCH_COUNT_MAX || seconds < 1 || seconds > BENCH_SECONDS_MAX ||
        threads < 1 || threads > BENCH_THREADS_MAX || family < 0 || !out || optind >= argc) {
        bench_usage();
        return 2;
    }
    for (int k = optind; prefix && k < argc; k++) {
        /* prefix, the largest index, '.', the name and its NUL */
        if (strlen(prefix) + 20 + 1 + strlen(argv[k]) + 1 > BENCH_NAME_MAX) {
            fprintf(stderr, "lookup: -u %s with %s: name too long\n", prefix, argv[k]);
            return 2;
        }
    }

    B.prefix = prefix;
    B.count = count;
    B.family = family;
    B.names = argv + optind;
    B.nnames = argc - optind;
    B.slots = calloc((size_t)count, sizeof(*B.slots));
    if (!B.slots) {
        fprintf(stderr, "lookup: no memory for %ld lookups\n", count);
        goto done;
    }
    f = fopen(out, "w");
    if (!f) {
        fprintf(stderr, "lookup: %s: %s\n", out, strerror(errno));
        goto done;
    }

    t_start = bench_now_ns();
    B.deadline_ns = t_start + (int64_t)seconds * 1000000000;
    atomic_store(&B.running, (int)threads);
    for (long i = 0; i < threads; i++) {
        if (pthread_create(&tids[i], NULL, bench_worker, NULL) != 0) {
            atomic_fetch_sub(&B.running, (int)(threads - i));
            break;
        }
        started++;
    }
    if (started == 0) {
        fprintf(stderr, "lookup: cannot start a thread\n");
        goto done;
    }
    /* Wait for the workers, but not past the cap: a worker stuck in a
     * lookup is cut, not waited for. */
    for (;;) {
        struct timespec nap = {0, BENCH_POLL_NS};
        now = bench_now_ns();
        if (atomic_load(&B.running) == 0 || now >= B.deadline_ns)
            break;
        nanosleep(&nap, NULL);
    }
    if (atomic_load(&B.running) == 0) {
        for (int i = 0; i < started; i++)
            pthread_join(tids[i], NULL);
        all_joined = 1;
    }
    t_end = bench_now_ns();

    for (long i = 0; i < count; i++) {
        struct bench_slot *s = &B.slots[i];
        int st = atomic_load(&s->state);
        if (st == BENCH_PENDING)
            continue;
        if (st == BENCH_RUNNING) {
            cut++;
            fprintf(f, "%lld cut\n", (long long)(t_end - s->start_ns));
            continue;
        }
        done++;
        if (s->status != 0)
            failed++;
        fprintf(f, "%lld %s\n", (long long)s->lat_ns, bench_eai_name(s->status));
    }
    if (fclose(f) != 0) {
        f = NULL;
        fprintf(stderr, "lookup: %s: %s\n", out, strerror(errno));
        goto done;
    }
    f = NULL;
    printf("done=%ld failed=%ld cut=%ld wall_ns=%lld fastres=%d\n", done, failed, cut,
           (long long)(t_end - t_start), bench_fastres_mapped());
    fflush(stdout);
    rc = 0;
    if (!all_joined) {
        /* Workers are still inside getaddrinfo(): exit() would run library
         * destructors under them. */
        fflush(stderr);
        _exit(rc);
    }
done:
    if (f)
        fclose(f);
    free(B.slots);
    return rc;
}
