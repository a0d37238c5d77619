/* Tests for preload/lookup/shcache*.c: the answer cache shared by a user's
 * processes.
 *
 * Each test works on its own file in a fresh temporary directory, passes
 * times explicitly (the shared cache's clock is CLOCK_REALTIME, given to
 * fr_shcache_lookup/store as now_ms), and checks every answer it gets
 * against the one the name must have (the address is derived from the
 * name), so a torn, stale or foreign entry shows as a wrong answer.
 *
 * Some tests reach into the file (white box): the header is one 4096-octet
 * page, then slots of 1024 octets whose first 4 octets are the sequence
 * number (odd while written) and octets 8-15 the writer's start time; the
 * slot's data (name, then reply) starts at octet 80. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lab_lib.h"
#include "base/clock.h"
#include "dns/msg.h"
#include "lookup/shcache.h"

#define T0 1700000000000ull        /* a wall-clock time in ms (2023) */
#define VIEW 0x1234abcdull
#define SIZE_DEFAULT ((size_t)FR_SHCACHE_DEFAULT_KB * 1024)
#define SIZE_SMALL ((size_t)FR_SHCACHE_MIN_KB * 1024)   /* 56 slots */
#define HDR 4096
#define SLOT 1024
#define SLOT_DATA 80
/* Stress figures of the issue: 50 processes x 1000 lookups over 200 names. */
#define STRESS_PROCS 50
#define STRESS_LOOKUPS 1000
#define STRESS_NAMES 200
/* Writer kills: rounds, and the longest a writer lives per round (us). */
#define KILL_ROUNDS 40
#define KILL_MAX_US 3000

static char dir[256], path[300];

static void setup(void)
{
    snprintf(dir, sizeof dir, "%s/shc.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/cache", dir);
}

static void teardown(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[600];
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

TestSuite(shcache, .init = setup, .fini = teardown, .timeout = 120);

/* ---- replies ---- */

/* The address a name must have: "nK.shc.test" -> 10.77.K/256.K%256, with
 * record r of the reply at 10.(78+r).K/256.K%256. */
static uint32_t addr_of(unsigned k, unsigned r)
{
    return (10u << 24) | ((77u + r) << 16) | (k & 0xffffu);
}

static void name_of(unsigned k, char *out, size_t n)
{
    snprintf(out, n, "n%u.shc.test", k);
}

/* A NOERROR reply for (nK, A) with nrec A records of the given TTL. */
static size_t reply(uint8_t *p, unsigned k, unsigned nrec, uint32_t ttl)
{
    char name[64];
    name_of(k, name, sizeof name);
    size_t o = 0;
    o += lab_put16(p, 0x4242);
    o += lab_put16(p + o, 0x8180);
    o += lab_put16(p + o, 1);
    o += lab_put16(p + o, (uint16_t)nrec);
    o += lab_put16(p + o, 0);
    o += lab_put16(p + o, 0);
    o += lab_put_name(p + o, name);
    o += lab_put16(p + o, FR_T_A);
    o += lab_put16(p + o, FR_C_IN);
    for (unsigned r = 0; r < nrec; r++) {
        o += lab_put16(p + o, 0xc00c);
        o += lab_put16(p + o, FR_T_A);
        o += lab_put16(p + o, FR_C_IN);
        o += lab_put32(p + o, ttl);
        o += lab_put16(p + o, 4);
        o += lab_put32(p + o, addr_of(k, r));
    }
    return o;
}

/* 1 when msg is a correct answer for nK (every address the one it must
 * be), 0 otherwise. *ttl_min gets the smallest record TTL. */
static int answer_ok(const uint8_t *msg, size_t len, unsigned k, uint32_t *ttl_min)
{
    struct fr_msg_addrs a;
    if (fr_msg_addrs(msg, len, FR_T_A, &a) != FR_OK || a.n == 0)
        return 0;
    for (unsigned r = 0; r < a.n; r++) {
        uint32_t want = htonl(addr_of(k, r));
        if (memcmp(a.addr[r], &want, 4) != 0)
            return 0;
    }
    if (ttl_min)
        *ttl_min = a.min_ttl;
    return 1;
}

static enum fr_status store(struct fr_shcache *sc, unsigned k, unsigned nrec, uint32_t ttl, uint64_t now)
{
    uint8_t m[1024];
    char name[64];
    name_of(k, name, sizeof name);
    size_t len = reply(m, k, nrec, ttl);
    return fr_shcache_store(sc, VIEW, name, FR_T_A, FR_C_IN, m, len, now, NULL);
}

/* 1 hit and correct, 0 miss, -1 hit and WRONG. */
static int lookup(struct fr_shcache *sc, unsigned k, uint64_t now, uint32_t *ttl_min)
{
    uint8_t m[1024];
    size_t len;
    uint32_t left;
    char name[64];
    name_of(k, name, sizeof name);
    if (fr_shcache_lookup(sc, VIEW, name, FR_T_A, FR_C_IN, now, m, sizeof m, &len, &left) != FR_OK)
        return 0;
    return answer_ok(m, len, k, ttl_min) ? 1 : -1;
}

/* Run f with stderr going to a file; returns the number of lines
 * containing needle that it wrote. */
static int log_lines(void (*f)(void *), void *arg, const char *needle)
{
    char lp[400];
    snprintf(lp, sizeof lp, "%s/log", dir);
    int fd = open(lp, O_RDWR | O_CREAT | O_TRUNC, 0600), saved = dup(2);
    cr_assert(fd >= 0 && saved >= 0);
    dup2(fd, 2);
    f(arg);
    dup2(saved, 2);
    close(saved);
    close(fd);
    FILE *fp = fopen(lp, "r");
    char line[1024];
    int n = 0;
    while (fp && fgets(line, sizeof line, fp))
        if (strstr(line, needle))
            n++;
    if (fp)
        fclose(fp);
    unlink(lp);
    return n;
}

static int count_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n - 1;   /* opendir's own */
}

/* ---- basics ---- */

Test(shcache, store_lookup_countdown_expiry)
{
    struct fr_shcache *sc = NULL;
    int fds = count_fds();
    cr_assert_eq(fr_shcache_open(path, SIZE_DEFAULT, 0, &sc), FR_OK);
    cr_assert_eq(count_fds(), fds, "no descriptor is kept once mapped");
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    cr_assert_eq(st.st_uid, geteuid());

    cr_assert_eq(lookup(sc, 7, T0, NULL), 0);
    cr_assert_eq(store(sc, 7, 3, 300, T0), FR_OK);
    uint32_t t;
    cr_assert_eq(lookup(sc, 7, T0, &t), 1);
    cr_assert_eq(t, 300);
    cr_assert_eq(lookup(sc, 7, T0 + 100500, &t), 1);
    cr_assert_eq(t, 200, "counted down: %u", t);
    cr_assert_eq(lookup(sc, 7, T0 + 299999, &t), 1);
    cr_assert_eq(lookup(sc, 7, T0 + 300000, &t), 0, "expired");
    /* The clock went back by more than the slack: not trusted. */
    cr_assert_eq(lookup(sc, 7, T0 - 5000, &t), 0);

    /* Case and a trailing dot name the same key; another view does not. */
    uint8_t m[1024];
    size_t len;
    uint32_t left;
    cr_assert_eq(fr_shcache_lookup(sc, VIEW, "N7.SHC.Test.", FR_T_A, FR_C_IN, T0, m, sizeof m, &len, &left), FR_OK);
    cr_assert_eq(fr_shcache_lookup(sc, VIEW + 1, "n7.shc.test", FR_T_A, FR_C_IN, T0, m, sizeof m, &len, &left),
                 FR_NOTFOUND);
    cr_assert_eq(fr_shcache_lookup(sc, VIEW, "n7.shc.test", FR_T_AAAA, FR_C_IN, T0, m, sizeof m, &len, &left),
                 FR_NOTFOUND);
    /* A reply for another name is refused on store. */
    len = reply(m, 8, 1, 300);
    cr_assert_eq(fr_shcache_store(sc, VIEW, "n9.shc.test", FR_T_A, FR_C_IN, m, len, T0, NULL), FR_FAIL);
    /* TTL 0 is not cached; clamps apply. */
    cr_assert_eq(store(sc, 10, 1, 0, T0), FR_FAIL);
    struct fr_shcache_clamp cl = {0, 60, 0};
    len = reply(m, 11, 1, 3600);
    cr_assert_eq(fr_shcache_store(sc, VIEW, "n11.shc.test", FR_T_A, FR_C_IN, m, len, T0, &cl), FR_OK);
    cr_assert_eq(lookup(sc, 11, T0 + 59000, &t), 1);
    cr_assert_leq(t, 1u);
    cr_assert_eq(lookup(sc, 11, T0 + 60000, &t), 0);

    /* A second mapping (another process, in effect) sees the same entries. */
    struct fr_shcache *sc2 = NULL;
    cr_assert_eq(fr_shcache_open(path, SIZE_DEFAULT, 0, &sc2), FR_OK);
    cr_assert_eq(lookup(sc2, 7, T0 + 1000, &t), 1);
    struct fr_shcache_stats s;
    fr_shcache_stats(sc2, T0 + 1000, &s);
    cr_assert_eq(s.live, 2);
    cr_assert_geq(s.hits, 5);
    cr_assert_eq(s.stores, 2);
    fr_shcache_close(sc2);
    fr_shcache_close(sc);
}

static uint8_t *slot_of(uint8_t *map, size_t size, const char *name)
{
    for (size_t i = 0; i < (size - HDR) / SLOT; i++) {
        uint8_t *s = map + HDR + i * SLOT;
        if (*(uint32_t *)s && memcmp(s + SLOT_DATA, name, strlen(name)) == 0)
            return s;
    }
    return NULL;
}

/* ---- refusals: one log line each, nothing mapped ---- */

struct open_try {
    const char *path;
    enum fr_status st;
    struct fr_shcache *sc;
};

static void do_open(void *arg)
{
    struct open_try *o = arg;
    o->st = fr_shcache_open(o->path, SIZE_DEFAULT, 0, &o->sc);
}

static void make_valid_file(void)
{
    struct fr_shcache *sc = NULL;
    cr_assert_eq(fr_shcache_open(path, SIZE_DEFAULT, 0, &sc), FR_OK);
    cr_assert_eq(store(sc, 1, 1, 300, T0), FR_OK);
    fr_shcache_close(sc);
}

/* The shared cache counts TTLs down as the in-process cache does, so it
 * must refuse the reply whose CNAME target points into a TTL field: served
 * after the count-down it would name another host (it did before the rule
 * moved into fr_cache_fit). The control reply is stored and served. */
Test(shcache, names_read_the_same_once_served)
{
    struct fr_shcache *sc = NULL;
    cr_assert_eq(fr_shcache_open(path, SIZE_DEFAULT, 0, &sc), FR_OK);
    struct fr_shcache_clamp clamp = { .max_ttl = 300 };
    for (int to_ttl = 0; to_ttl <= 1; to_ttl++) {
        uint8_t m[128], out[1024];
        size_t len = lab_msg_cname_into_ttl(m, to_ttl), got = 0;
        uint32_t left;
        /* A view each, so the control's entry is not found for the other. */
        cr_assert_eq(fr_shcache_store(sc, VIEW + to_ttl, "www.example", FR_T_A, FR_C_IN, m, len, T0, &clamp),
                     to_ttl ? FR_FAIL : FR_OK, "to_ttl %d", to_ttl);
        enum fr_status st = fr_shcache_lookup(sc, VIEW + to_ttl, "www.example", FR_T_A, FR_C_IN, T0 + 2000, out,
                                              sizeof out, &got, &left);
        cr_assert_eq(st, to_ttl ? FR_NOTFOUND : FR_OK, "to_ttl %d", to_ttl);
        if (st == FR_OK) {
            struct fr_msg_addrs *a = calloc(1, sizeof *a);
            cr_assert(a);
            cr_assert_eq(fr_msg_addrs(out, got, FR_T_A, a), FR_OK);
            cr_expect_str_eq(a->canon, "abc");
            free(a);
        }
    }
    fr_shcache_close(sc);
}

Test(shcache, refuses_world_or_group_writable)
{
    make_valid_file();
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(chmod(path, i ? 0620 : 0606), 0);
        struct open_try o = {path, FR_OK, NULL};
        int n = log_lines(do_open, &o, "not using the shared cache");
        cr_assert_eq(o.st, FR_FAIL);
        cr_assert_null(o.sc);
        cr_assert_eq(n, 1, "one log line, got %d", n);
    }
}

Test(shcache, refuses_other_owner)
{
    make_valid_file();
    if (chown(path, 4321, 4321) != 0)
        cr_skip_test("cannot chown here (%s): run inside test/lab.sh as root", strerror(errno));
    struct open_try o = {path, FR_OK, NULL};
    int n = log_lines(do_open, &o, "owned by another user");
    cr_assert_eq(o.st, FR_FAIL);
    cr_assert_null(o.sc);
    cr_assert_eq(n, 1);
}

Test(shcache, refuses_symlink_and_directory)
{
    make_valid_file();
    char link[400];
    snprintf(link, sizeof link, "%s/link", dir);
    cr_assert_eq(symlink(path, link), 0);
    struct open_try o = {link, FR_OK, NULL};
    cr_assert_eq(log_lines(do_open, &o, "symbolic link"), 1);
    cr_assert_eq(o.st, FR_FAIL);
    char sub[400];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    cr_assert_eq(mkdir(sub, 0700), 0);
    struct open_try o2 = {sub, FR_OK, NULL};
    int n = log_lines(do_open, &o2, "not using the shared cache");
    rmdir(sub);
    cr_assert_eq(o2.st, FR_FAIL);
    cr_assert_eq(n, 1);
}

/* ---- broken files are replaced, never trusted ---- */

static void fill_random(int fd, off_t from, size_t n, unsigned seed)
{
    uint8_t buf[4096];
    srand(seed);
    for (size_t done = 0; done < n;) {
        for (size_t i = 0; i < sizeof buf; i++)
            buf[i] = (uint8_t)rand();
        size_t w = n - done < sizeof buf ? n - done : sizeof buf;
        cr_assert_eq(pwrite(fd, buf, w, from + (off_t)done), (ssize_t)w);
        done += w;
    }
}

Test(shcache, garbage_file_replaced)
{
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    cr_assert(fd >= 0);
    fill_random(fd, 0, SIZE_DEFAULT, 1);
    close(fd);
    struct open_try o = {path, FR_OK, NULL};
    cr_assert_eq(log_lines(do_open, &o, "replacing"), 1);
    cr_assert_eq(o.st, FR_OK);
    for (unsigned k = 0; k < 50; k++)
        cr_assert_eq(lookup(o.sc, k, T0, NULL), 0);
    cr_assert_eq(store(o.sc, 3, 2, 300, T0), FR_OK);
    cr_assert_eq(lookup(o.sc, 3, T0, NULL), 1);
    fr_shcache_close(o.sc);
}

Test(shcache, truncated_file_replaced)
{
    make_valid_file();
    cr_assert_eq(truncate(path, 5000), 0);
    struct open_try o = {path, FR_OK, NULL};
    cr_assert_eq(log_lines(do_open, &o, "replacing"), 1);
    cr_assert_eq(o.st, FR_OK);
    cr_assert_eq(lookup(o.sc, 1, T0, NULL), 0);
    fr_shcache_close(o.sc);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq((size_t)st.st_size, SIZE_DEFAULT);
}

/* Valid header, slots overwritten with garbage (after real entries were
 * stored): every lookup misses or is right, stores still work. */
Test(shcache, garbage_slots_never_answer)
{
    struct fr_shcache *sc = NULL;
    cr_assert_eq(fr_shcache_open(path, SIZE_SMALL, 0, &sc), FR_OK);
    for (unsigned k = 0; k < 40; k++)
        store(sc, k, 1 + k % 5, 300, T0);
    int fd = open(path, O_RDWR);
    cr_assert(fd >= 0);
    for (unsigned seed = 1; seed <= 20; seed++) {
        /* Garbage over a random part of the slot area, sometimes all of it. */
        size_t area = SIZE_SMALL - HDR;
        size_t off = seed % 4 ? (size_t)rand() % area : 0, n = seed % 4 ? 1 + (size_t)rand() % 2048 : area;
        if (off + n > area)
            n = area - off;
        fill_random(fd, HDR + (off_t)off, n, seed);
        for (unsigned k = 0; k < 40; k++)
            cr_assert_neq(lookup(sc, k, T0 + 1000, NULL), -1, "wrong answer for n%u (seed %u)", k, seed);
    }
    /* One flipped octet in a reply: the checksum catches it. */
    struct fr_shcache_stats before, after;
    cr_assert_eq(store(sc, 99, 2, 300, T0), FR_OK);
    uint8_t *map = mmap(NULL, SIZE_SMALL, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    cr_assert_neq(map, MAP_FAILED);
    uint8_t *s = slot_of(map, SIZE_SMALL, "n99.shc.test");
    cr_assert_not_null(s);
    s[SLOT_DATA + 12 + 42] ^= 0x01;   /* the reply's first address */
    fr_shcache_stats(sc, T0, &before);
    cr_assert_eq(lookup(sc, 99, T0 + 1000, NULL), 0);
    fr_shcache_stats(sc, T0, &after);
    cr_assert_eq(after.rejected, before.rejected + 1);
    munmap(map, SIZE_SMALL);
    close(fd);
    cr_assert_eq(store(sc, 99, 2, 300, T0 + 2000), FR_OK);
    cr_assert_eq(lookup(sc, 99, T0 + 2000, NULL), 1);
    fr_shcache_close(sc);
}

/* ---- a writer that dies mid-write ---- */

/* Deterministic: a slot left odd (claimed, half written) by a writer that
 * was killed is skipped by readers, left alone by writers for a second,
 * then taken over; a torn slot with an even seq fails its checksum. */
Test(shcache, writer_killed_after_claim)
{
    struct fr_shcache *sc = NULL;
    struct fr_shcache_stats st;
    cr_assert_eq(fr_shcache_open(path, SIZE_SMALL, 0, &sc), FR_OK);
    cr_assert_eq(store(sc, 5, 2, 300, T0), FR_OK);
    int fd = open(path, O_RDWR);
    uint8_t *map = mmap(NULL, SIZE_SMALL, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    cr_assert_neq(map, MAP_FAILED);
    uint8_t *s = slot_of(map, SIZE_SMALL, "n5.shc.test");
    cr_assert_not_null(s);
    /* What a writer killed mid-write leaves: seq odd, its start time, and
     * the old reply half overwritten. */
    (*(uint32_t *)s)++;
    uint64_t at = T0 + 10000;
    memcpy(s + 8, &at, 8);
    /* A slot being written is skipped, even while its old content is
     * still whole. */
    cr_assert_eq(lookup(sc, 5, T0 + 10050, NULL), 0);
    memset(s + SLOT_DATA + 30, 0xee, 40);
    cr_assert_eq(lookup(sc, 5, T0 + 10100, NULL), 0);
    fr_shcache_stats(sc, T0 + 10100, &st);
    cr_assert_eq(st.busy_slots, 1);
    /* Writers go around it (another way of the set)... */
    cr_assert_eq(store(sc, 5, 2, 300, T0 + 10500), FR_OK);
    cr_assert_eq(lookup(sc, 5, T0 + 10600, NULL), 1);
    /* ... and never into it while its writer may be alive, even when the
     * file is full. */
    for (unsigned k = 100; k < 400; k++)
        store(sc, k, 1, 300, T0 + 10700);
    fr_shcache_stats(sc, T0 + 10700, &st);
    cr_assert_eq(st.busy_slots, 1);
    /* Over a second later it is free again. */
    for (unsigned k = 100; k < 400; k++)
        store(sc, k, 1, 300, T0 + 11100);
    fr_shcache_stats(sc, T0 + 11100, &st);
    cr_assert_eq(st.busy_slots, 0);
    for (unsigned k = 100; k < 400; k++)
        cr_assert_neq(lookup(sc, k, T0 + 11200, NULL), -1);
    /* Torn slot with an even seq (half-written data): the checksum. */
    cr_assert_eq(store(sc, 6, 3, 300, T0 + 11300), FR_OK);
    s = slot_of(map, SIZE_SMALL, "n6.shc.test");
    cr_assert_not_null(s);
    memset(s + SLOT_DATA + 30, 0xee, 4);
    cr_assert_eq(lookup(sc, 6, T0 + 11300, NULL), 0);
    munmap(map, SIZE_SMALL);
    fr_shcache_close(sc);
}

/* Random: writers SIGKILLed at random points of a store loop; afterwards
 * (and meanwhile) every answer read is right. */
Test(shcache, writers_sigkilled_in_a_loop)
{
    struct fr_shcache *sc = NULL;
    cr_assert_eq(fr_shcache_open(path, SIZE_SMALL, 0, &sc), FR_OK);
    uint64_t now = fr_clock_real_ms();
    unsigned wrong = 0, hits = 0;
    srand(7);
    for (int round = 0; round < KILL_ROUNDS; round++) {
        pid_t pid = fork();
        cr_assert(pid >= 0);
        if (pid == 0) {
            struct fr_shcache *w = NULL;
            if (fr_shcache_open(path, SIZE_SMALL, 0, &w) != FR_OK)
                _exit(2);
            for (unsigned i = 0;; i++)
                store(w, (i * 7919u + (unsigned)round) % STRESS_NAMES, 1 + i % 30, 300, fr_clock_real_ms());
        }
        struct timespec ts = {0, (long)(rand() % KILL_MAX_US) * 1000L};
        nanosleep(&ts, NULL);
        for (unsigned k = 0; k < STRESS_NAMES; k += 7) {
            int r = lookup(sc, k, now, NULL);
            wrong += r < 0;
        }
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        cr_assert(WIFSIGNALED(status), "writer ended by itself (status %d)", status);
    }
    for (unsigned k = 0; k < STRESS_NAMES; k++) {
        int r = lookup(sc, k, now + 1, NULL);
        wrong += r < 0;
        hits += r > 0;
    }
    struct fr_shcache_stats s;
    fr_shcache_stats(sc, now, &s);
    cr_log_info("after %d kills: %u hits of %d, busy slots %u, damaged %u, rejected %llu", KILL_ROUNDS, hits,
                STRESS_NAMES, s.busy_slots, s.bad_slots, (unsigned long long)s.rejected);
    cr_assert_eq(wrong, 0, "%u wrong answers", wrong);
    cr_assert_gt(hits, 0);
    /* A slot stuck odd is taken over a second later. */
    for (unsigned k = 0; k < STRESS_NAMES; k++)
        store(sc, k, 1, 300, now + 2000);
    fr_shcache_stats(sc, now + 2000, &s);
    cr_assert_eq(s.busy_slots, 0);
    fr_shcache_close(sc);
}

/* ---- a full file ---- */

Test(shcache, full_file_evicts)
{
    struct fr_shcache *sc = NULL;
    cr_assert_eq(fr_shcache_open(path, SIZE_SMALL, 0, &sc), FR_OK);
    struct fr_shcache_stats s;
    fr_shcache_stats(sc, T0, &s);
    unsigned n = 10 * s.slots;
    for (unsigned k = 0; k < n; k++)
        cr_assert_eq(store(sc, k, 1 + k % 4, 300, T0 + k), FR_OK);
    fr_shcache_stats(sc, T0 + n, &s);
    cr_assert_eq(s.stores, n);
    cr_assert_eq(s.live, s.slots, "every slot in use");
    cr_assert_geq(s.evictions, n - s.slots);
    unsigned hits = 0;
    for (unsigned k = 0; k < n; k++) {
        int r = lookup(sc, k, T0 + n, NULL);
        cr_assert_neq(r, -1);
        hits += r == 1;
    }
    cr_assert_eq(hits, s.slots);
    /* The last name stored is always there. */
    cr_assert_eq(lookup(sc, n - 1, T0 + n, NULL), 1);
    fr_shcache_close(sc);
}

/* ---- many processes at once ---- */

Test(shcache, fifty_processes_every_answer_checked)
{
    /* Shared counters of the children. */
    _Atomic unsigned *cnt = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(cnt, MAP_FAILED);
    pid_t pids[STRESS_PROCS];
    /* The file does not exist yet: the children race to create it. */
    for (int p = 0; p < STRESS_PROCS; p++) {
        pids[p] = fork();
        cr_assert(pids[p] >= 0);
        if (pids[p] == 0) {
            struct fr_shcache *sc = NULL;
            alarm(100);
            if (fr_shcache_open(path, SIZE_DEFAULT, 0, &sc) != FR_OK)
                _exit(2);
            srand((unsigned)getpid());
            for (int i = 0; i < STRESS_LOOKUPS; i++) {
                unsigned k = (unsigned)rand() % STRESS_NAMES;
                uint64_t now = fr_clock_real_ms();
                int r = lookup(sc, k, now, NULL);
                if (r < 0)
                    atomic_fetch_add(&cnt[0], 1);
                else if (r > 0)
                    atomic_fetch_add(&cnt[1], 1);
                else if (store(sc, k, 1 + k % 8, 300, now) != FR_OK)
                    atomic_fetch_add(&cnt[2], 1);
            }
            fr_shcache_close(sc);
            _exit(0);
        }
    }
    int failed = 0;
    for (int p = 0; p < STRESS_PROCS; p++) {
        int status;
        waitpid(pids[p], &status, 0);
        failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    unsigned total = STRESS_PROCS * STRESS_LOOKUPS;
    cr_log_info("%d processes x %d lookups: %u hits, %u wrong, %u stores given up", STRESS_PROCS, STRESS_LOOKUPS,
                cnt[1], cnt[0], cnt[2]);
    cr_assert_eq(failed, 0);
    cr_assert_eq(cnt[0], 0, "%u wrong answers", cnt[0]);
    /* Each name is missed about once per process that races for it; most
     * lookups are hits. */
    cr_assert_gt(cnt[1], total * 8 / 10, "only %u hits of %u", cnt[1], total);
    munmap((void *)cnt, 4096);
}

/* ---- fork ---- */

Test(shcache, fork_child_shares_the_mapping)
{
    struct fr_shcache *sc = NULL;
    cr_assert_eq(fr_shcache_open(path, SIZE_DEFAULT, 0, &sc), FR_OK);
    uint64_t now = fr_clock_real_ms();
    cr_assert_eq(store(sc, 1, 1, 300, now), FR_OK);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0)
        _exit(lookup(sc, 1, now, NULL) == 1 && store(sc, 2, 2, 300, now) == FR_OK ? 0 : 1);
    int status;
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    cr_assert_eq(lookup(sc, 2, now, NULL), 1, "the child's store is seen by the parent");
    fr_shcache_close(sc);
}

/* ---- read-only mapping (fastres-stat) ---- */

static void count_entry(void *arg, const struct fr_shcache_entry *e)
{
    (*(unsigned *)arg)++;
    cr_assert_eq(e->qtype, FR_T_A);
}

Test(shcache, readonly_walk)
{
    struct fr_shcache *sc = NULL, *ro = NULL;
    cr_assert_eq(fr_shcache_open(path, SIZE_DEFAULT, 1, &ro), FR_AGAIN, "read-only never creates");
    cr_assert_eq(fr_shcache_open(path, SIZE_DEFAULT, 0, &sc), FR_OK);
    for (unsigned k = 0; k < 30; k++)
        store(sc, k, 2, 300, T0);
    cr_assert_eq(fr_shcache_open(path, SIZE_DEFAULT, 1, &ro), FR_OK);
    unsigned n = 0;
    fr_shcache_walk(ro, T0 + 1, count_entry, &n);
    cr_assert_eq(n, 30);
    cr_assert_eq(lookup(ro, 3, T0 + 1, NULL), 1);
    fr_shcache_close(ro);
    fr_shcache_close(sc);
}
