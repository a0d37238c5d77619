/* fastres: /etc/hosts, parsed once and searched by hash.
 *
 * The parser follows glibc 2.36 step by step (nss/nss_readline.c,
 * nss/nss_files/files-parse.c, nss/nss_files/files-hosts.c) so that the
 * same bytes give the same lines, including glibc's quirks; each quirk is
 * marked "glibc:" where it is reproduced.
 *
 * Deliberate deviation: glibc re-reads /etc/hosts on every call. fastres
 * keeps a parsed copy and looks at the file's identity (dev, ino, size,
 * mtime in ns) at most once per FR_HOSTS_RECHECK_MS, so an edit can go
 * unseen for up to that long, and an in-place rewrite that keeps size and
 * mtime (same clock tick) goes unseen until the next change. A stat per
 * lookup would cost more than the whole cached answer it guards.
 *
 * Threads: the parsed copy (struct hosts_db) is immutable once published.
 * Readers take db_lock for reading (they never block each other); one
 * thread at a time re-checks the file (reload_lock, try-locked so nobody
 * waits for a re-check that is under way) and swaps in a new copy under
 * the write lock, which waits only for lookups already running.
 *
 * Fork: a child gets copies of the locks as they were at fork time,
 * possibly held by threads that do not exist in the child. The fork
 * handlers (fork.h) take both locks before the fork, so the child starts
 * from a finished state, and re-initialise them in the child. */
#include "base/hosts.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/fork.h"
#include "base/log.h"

/* glibc's _PATH_HOSTS; nss_files has no way to name another file. */
#define HOSTS_PATH "/etc/hosts"
/* glibc's _PATH_HOSTCONF, overridden by RESOLV_HOST_CONF. */
#define HOSTCONF_PATH "/etc/host.conf"
/* glibc reads host.conf with fgets into a 256-byte buffer
 * (resolv/res_hconf.c do_init); a longer line is cut into pieces the same
 * way here. */
#define HOSTCONF_LINE_MAX 256
/* Initial size of the key table (a power of two); it doubles at half full. */
#define KEYS_INITIAL 64
/* End of a posting chain / empty key slot. */
#define NONE UINT32_MAX

#define HCONF_MULTI 1u
#define HCONF_REORDER 2u
#define HCONF_TRIM 4u            /* trim domains configured (host.conf or environment) */

struct hosts_sig {
    int exists;              /* 0: stat said ENOENT/ENOTDIR */
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtim;
};

/* One line glibc would accept in at least one mode. */
struct hosts_line {
    uint32_t name;           /* offset of the canonical name in strs */
    uint32_t alias0;         /* index of the first alias in alias_offs */
    uint32_t nalias;
    int kind;                /* AF_INET: inet_pton(AF_INET) took the address; else AF_INET6 */
    unsigned char addr[16];  /* 4 or 16 octets as inet_pton wrote them */
};

/* A distinct name or alias (ASCII case folded) and the lines carrying it. */
struct hosts_key {
    uint32_t hash;
    uint32_t str;            /* offset of its first spelling in strs; NONE: empty slot */
    uint32_t first, last;    /* posting chain, in file order */
};

struct hosts_posting {
    uint32_t line, next;
};

struct hosts_db {
    enum fr_status status;   /* FR_OK; FR_NOTFOUND: no file; FR_PUNT: glibc would not just search */
    struct hosts_sig sig;
    char *strs;
    size_t nstrs;
    uint32_t *alias_offs;
    size_t nalias, alias_cap;
    struct hosts_line *lines;
    size_t nlines, lines_cap;
    struct hosts_key *keys;
    size_t nkeys, keys_cap;  /* keys_cap: a power of two */
    struct hosts_posting *posts;
    size_t nposts, posts_cap;
};

static pthread_rwlock_t db_lock = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
static pthread_mutex_t reload_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hosts_db *db_cur;             /* guarded by db_lock; replaced under reload_lock too */
static _Atomic uint64_t next_check_ms;      /* 0: check (or load) on the next lookup */
static _Atomic int hconf_flags = -1;        /* -1: host.conf not read yet */
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;
static int hosts_fork_ok;                   /* set once by hosts_fork_register */

/* glibc tests white space with isspace() of the caller's locale; in the C
 * locale and in UTF-8 locales that is exactly this set. */
static int hosts_isspace(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static unsigned char hosts_fold(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* glibc compares with strcasecmp in the caller's locale. In the C and
 * UTF-8 locales that folds ASCII letters only, as here; single-byte
 * locales with other case rules (tr_TR.ISO-8859-9: 'I' vs 'i') differ and
 * are not imitated. */
static int hosts_caseeq(const char *a, const char *b)
{
    for (;; a++, b++) {
        if (hosts_fold((unsigned char)*a) != hosts_fold((unsigned char)*b))
            return 0;
        if (*a == '\0')
            return 1;
    }
}

/* FNV-1a over the folded bytes. */
static uint32_t hosts_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) {
        h ^= hosts_fold((unsigned char)*s);
        h *= 16777619u;
    }
    return h;
}

static void hosts_db_free(struct hosts_db *db)
{
    if (!db)
        return;
    free(db->strs);
    free(db->alias_offs);
    free(db->lines);
    free(db->keys);
    free(db->posts);
    free(db);
}

/* Make room for one more element in a growing array. */
static int hosts_grow(void **arr, size_t *cap, size_t n, size_t elsize)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *p = reallocarray(*arr, ncap, elsize);
    if (!p)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

static struct hosts_key *hosts_key_find(struct hosts_key *keys, size_t cap, const char *strs,
                                        const char *name, uint32_t h)
{
    size_t mask = cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct hosts_key *k = &keys[i];
        if (k->str == NONE)
            return k;
        if (k->hash == h && hosts_caseeq(strs + k->str, name))
            return k;
    }
}

static int hosts_keys_rehash(struct hosts_db *db)
{
    size_t ncap = db->keys_cap ? db->keys_cap * 2 : KEYS_INITIAL;
    struct hosts_key *nk = malloc(ncap * sizeof *nk);
    if (!nk)
        return -1;
    for (size_t i = 0; i < ncap; i++)
        nk[i].str = NONE;
    for (size_t i = 0; i < db->keys_cap; i++) {
        struct hosts_key *k = &db->keys[i];
        if (k->str == NONE)
            continue;
        *hosts_key_find(nk, ncap, db->strs, db->strs + k->str, k->hash) = *k;
    }
    free(db->keys);
    db->keys = nk;
    db->keys_cap = ncap;
    return 0;
}

/* Record that line carries the name at strs offset str. */
static int hosts_index_name(struct hosts_db *db, uint32_t line, uint32_t str)
{
    if ((db->nkeys + 1) * 2 > db->keys_cap && hosts_keys_rehash(db) < 0)
        return -1;
    const char *name = db->strs + str;
    uint32_t h = hosts_hash(name);
    struct hosts_key *k = hosts_key_find(db->keys, db->keys_cap, db->strs, name, h);
    if (k->str != NONE && db->posts[k->last].line == line)
        return 0;  /* the line already matches this name (name repeated as alias) */
    if (hosts_grow((void **)&db->posts, &db->posts_cap, db->nposts, sizeof *db->posts) < 0)
        return -1;
    uint32_t p = (uint32_t)db->nposts++;
    db->posts[p].line = line;
    db->posts[p].next = NONE;
    if (k->str == NONE) {
        k->hash = h;
        k->str = str;
        k->first = p;
        db->nkeys++;
    } else {
        db->posts[k->last].next = p;
    }
    k->last = p;
    return 0;
}

static uint32_t hosts_add_str(struct hosts_db *db, const char *s)
{
    size_t n = strlen(s) + 1;
    uint32_t off = (uint32_t)db->nstrs;
    /* strs was sized for the whole file: no line yields more text than it has */
    memcpy(db->strs + db->nstrs, s, n);
    db->nstrs += n;
    return off;
}

/* Parse one line the way internal_getent + parse_line do. buf holds the
 * line as fgets returned it (newline included when there was one, NUL
 * after); it is modified. 0: done (line taken or skipped), -1: no memory. */
static int hosts_parse_line(struct hosts_db *db, char *buf)
{
    /* __nss_readline: skip leading white space, then empty and comment
     * lines. glibc: memmove (buf, p, strlen (p)) moves the text without
     * its NUL, so the string keeps its old length and ends in the last
     * (p - buf) characters of the original; harmless when a newline ends
     * the line (the cut below removes the tail), visible on a last line
     * without newline: "  1.2.3.4 name" reads as "1.2.3.4 namee". */
    char *p = buf;
    while (hosts_isspace((unsigned char)*p))
        p++;
    if (*p == '\0' || *p == '#')
        return 0;
    if (p != buf)
        memmove(buf, p, strlen(p));

    /* parse_line: the line ends at the first '#' or newline. */
    char *line = buf;
    line[strcspn(line, "#\n")] = '\0';

    /* STRING_FIELD (addr, isspace, 1) */
    char *addr = line;
    while (*line && !hosts_isspace((unsigned char)*line))
        line++;
    if (*line) {
        *line++ = '\0';
        while (hosts_isspace((unsigned char)*line))
            line++;
    }

    struct hosts_line hl = {0};
    if (inet_pton(AF_INET, addr, hl.addr) > 0)
        hl.kind = AF_INET;
    else if (inet_pton(AF_INET6, addr, hl.addr) > 0)
        hl.kind = AF_INET6;
    else
        return 0;  /* glibc: "Illegal address: ignore line." in every mode */

    /* STRING_FIELD (h_name, isspace, 1): may be empty ("10.0.0.1" alone
     * gives the name ""). */
    char *name = line;
    while (*line && !hosts_isspace((unsigned char)*line))
        line++;
    if (*line) {
        *line++ = '\0';
        while (hosts_isspace((unsigned char)*line))
            line++;
    }

    if (hosts_grow((void **)&db->lines, &db->lines_cap, db->nlines, sizeof *db->lines) < 0)
        return -1;
    uint32_t li = (uint32_t)db->nlines;
    hl.name = hosts_add_str(db, name);
    hl.alias0 = (uint32_t)db->nalias;

    /* parse_list: white-space separated aliases, empty ones dropped. */
    while (*line) {
        while (hosts_isspace((unsigned char)*line))
            line++;
        char *elt = line;
        while (*line && !hosts_isspace((unsigned char)*line))
            line++;
        if (line == elt)
            break;
        if (*line)
            *line++ = '\0';
        if (hosts_grow((void **)&db->alias_offs, &db->alias_cap, db->nalias,
                       sizeof *db->alias_offs) < 0)
            return -1;
        db->alias_offs[db->nalias++] = hosts_add_str(db, elt);
        hl.nalias++;
    }
    db->lines[li] = hl;
    db->nlines++;

    if (hosts_index_name(db, li, hl.name) < 0)
        return -1;
    for (uint32_t i = 0; i < hl.nalias; i++)
        if (hosts_index_name(db, li, db->alias_offs[hl.alias0 + i]) < 0)
            return -1;
    return 0;
}

/* Split data into lines as fgets does (a line ends after '\n' or at the
 * end of the file; a NUL inside a line ends its text) and parse each. */
static enum fr_status hosts_parse(struct hosts_db *db, const char *data, size_t len)
{
    enum fr_status st = FR_NOMEM;
    char *scratch = malloc(len + 1);
    db->strs = malloc(len + 1);
    if (!scratch || !db->strs)
        goto done;
    size_t off = 0;
    while (off < len) {
        const char *nl = memchr(data + off, '\n', len - off);
        size_t n = nl ? (size_t)(nl - (data + off)) + 1 : len - off;
        memcpy(scratch, data + off, n);
        scratch[n] = '\0';
        off += n;
        if (hosts_parse_line(db, scratch) < 0)
            goto done;
    }
    if (!db->keys && hosts_keys_rehash(db) < 0)
        goto done;
    st = FR_OK;
done:
    free(scratch);
    return st;
}

static void hosts_sig_of(struct hosts_sig *sig, const struct stat *sb)
{
    sig->exists = 1;
    sig->dev = sb->st_dev;
    sig->ino = sb->st_ino;
    sig->size = sb->st_size;
    sig->mtim = sb->st_mtim;
}

static int hosts_sig_eq(const struct hosts_sig *a, const struct hosts_sig *b)
{
    if (a->exists != b->exists)
        return 0;
    if (!a->exists)
        return 1;
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtim.tv_sec == b->mtim.tv_sec && a->mtim.tv_nsec == b->mtim.tv_nsec;
}

/* Read and parse the file. FR_OK with *out set (its status says what
 * lookups answer), or FR_NOMEM. */
static enum fr_status hosts_load(struct hosts_db **out)
{
    enum fr_status st = FR_NOMEM;
    char *data = NULL;
    int fd = -1;
    struct hosts_db *db = calloc(1, sizeof *db);
    if (!db)
        goto done;
    db->status = FR_PUNT;

    fd = open(HOSTS_PATH, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        /* glibc: fopen fails, nss_files says UNAVAIL and "hosts: files dns"
         * goes on to DNS exactly as after NOTFOUND. A missing file is common
         * in minimal containers, so it must not cost a punt per lookup.
         * Anything else (EACCES, EMFILE, EAGAIN → TRYAGAIN, ...) is rare and
         * may differ in h_errno or nsswitch action: libc decides. */
        if (errno == ENOENT || errno == ENOTDIR)
            db->status = FR_NOTFOUND;
        st = FR_OK;
        goto done;
    }
    struct stat sb;
    if (fstat(fd, &sb) < 0) {
        st = FR_OK;
        goto done;
    }
    hosts_sig_of(&db->sig, &sb);
    /* glibc needs a seekable stream (ESPIPE → UNAVAIL for a FIFO); device
     * files and directories are not worth imitating. */
    if (!S_ISREG(sb.st_mode)) {
        st = FR_OK;
        goto done;
    }
    if ((uintmax_t)sb.st_size > FR_HOSTS_MAX_FILE) {
        fr_log(FR_LOG_WARN, __func__, "%s is %jd bytes, over the %u-byte limit: libc reads it",
               HOSTS_PATH, (intmax_t)sb.st_size, FR_HOSTS_MAX_FILE);
        st = FR_OK;
        goto done;
    }
    /* One byte more than allowed, to notice a file that grew meanwhile. */
    size_t cap = (size_t)sb.st_size + 1, len = 0;
    data = malloc(cap);
    if (!data)
        goto done;
    for (;;) {
        if (len == cap) {
            if (cap > FR_HOSTS_MAX_FILE) {
                st = FR_OK;  /* grew past the limit while being read */
                goto done;
            }
            size_t ncap = cap * 2 > (size_t)FR_HOSTS_MAX_FILE + 1 ? (size_t)FR_HOSTS_MAX_FILE + 1
                                                                  : cap * 2;
            char *nd = realloc(data, ncap);
            if (!nd)
                goto done;
            data = nd;
            cap = ncap;
        }
        ssize_t r = read(fd, data + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            st = FR_OK;  /* EIO and the like: glibc's fgets fails → UNAVAIL */
            goto done;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    if (hosts_parse(db, data, len) != FR_OK)
        goto done;
    db->status = FR_OK;
    st = FR_OK;
done:
    if (fd >= 0)
        close(fd);
    free(data);
    if (st == FR_OK)
        *out = db;
    else
        hosts_db_free(db);
    return st;
}

/* Fork: take both locks, so no reload or lookup is half done in the
 * child; the child re-initialises them rather than unlocking (a writer's
 * unlock checks the owner's TID, and the child's thread has a new one). */
static void hosts_fork_prepare(void)
{
    pthread_mutex_lock(&reload_lock);
    pthread_rwlock_wrlock(&db_lock);
}

static void hosts_fork_parent(void)
{
    pthread_rwlock_unlock(&db_lock);
    pthread_mutex_unlock(&reload_lock);
}

static void hosts_fork_child(void)
{
    pthread_rwlock_t rw = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
    pthread_mutex_t mx = PTHREAD_MUTEX_INITIALIZER;
    db_lock = rw;
    reload_lock = mx;
}

static const struct fr_fork_handlers hosts_fork = {
    .name = "hosts", .rank = FR_FORK_RANK_HOSTS, .prepare = hosts_fork_prepare,
    .parent = hosts_fork_parent, .child = hosts_fork_child,
};

static void hosts_fork_register(void)
{
    hosts_fork_ok = fr_fork_register(&hosts_fork) == 0;
}

/* Re-check the file if due; load it the first time. FR_OK or FR_NOMEM. */
static enum fr_status hosts_refresh(void)
{
    uint64_t now = fr_clock_now_ms();
    uint64_t due = atomic_load_explicit(&next_check_ms, memory_order_acquire);
    /* The second test notices a clock that went backwards (fake clocks). */
    if (due != 0 && now < due && due - now <= FR_HOSTS_RECHECK_MS)
        return FR_OK;
    if (pthread_mutex_trylock(&reload_lock) != 0) {
        /* Someone is re-checking: use the copy we have, if any. */
        if (due != 0)
            return FR_OK;
        pthread_mutex_lock(&reload_lock);
    }
    enum fr_status st = FR_OK;
    due = atomic_load_explicit(&next_check_ms, memory_order_acquire);
    now = fr_clock_now_ms();
    if (due != 0 && now < due && due - now <= FR_HOSTS_RECHECK_MS)
        goto done;  /* another thread just did it */

    /* Only reload_lock holders replace db_cur, so reading it here is safe. */
    int same = 0;
    if (db_cur) {
        struct hosts_sig sig = {0};
        struct stat sb;
        if (stat(HOSTS_PATH, &sb) == 0) {
            hosts_sig_of(&sig, &sb);
            same = hosts_sig_eq(&sig, &db_cur->sig);
        } else if (errno == ENOENT || errno == ENOTDIR) {
            same = db_cur->status == FR_NOTFOUND;
        }
    }
    if (!same) {
        struct hosts_db *db = NULL;
        st = hosts_load(&db);
        if (st != FR_OK)
            goto done;  /* next_check_ms stays due: the next lookup retries */
        pthread_rwlock_wrlock(&db_lock);
        struct hosts_db *old = db_cur;
        db_cur = db;
        pthread_rwlock_unlock(&db_lock);
        hosts_db_free(old);
    }
    atomic_store_explicit(&next_check_ms, now + FR_HOSTS_RECHECK_MS, memory_order_release);
done:
    pthread_mutex_unlock(&reload_lock);
    return st;
}

/* glibc resolv/res_hconf.c arg_bool: a prefix match, so "multi only" is on. */
static unsigned hosts_hconf_bool(const char *args, unsigned flags, unsigned flag)
{
    if (strncasecmp(args, "on", 2) == 0)
        return flags | flag;
    if (strncasecmp(args, "off", 3) == 0)
        return flags & ~flag;
    return flags;
}

/* The "multi" and "reorder" settings as glibc's do_init computes them:
 * host.conf, then RESOLV_MULTI / RESOLV_REORDER. glibc uses getenv, not
 * secure_getenv; for setuid programs ld.so has already removed
 * RESOLV_HOST_CONF, so plain getenv gives what glibc sees. Other keywords
 * (order, trim) do not change these two flags. */
static unsigned hosts_hconf_read(void)
{
    unsigned flags = 0;  /* glibc: memset to 0, so multi is off unless asked for */
    const char *path = getenv("RESOLV_HOST_CONF");
    FILE *fp = fopen(path ? path : HOSTCONF_PATH, "rce");
    if (fp) {
        char buf[HOSTCONF_LINE_MAX];
        while (fgets(buf, sizeof buf, fp)) {
            *strchrnul(buf, '\n') = '\0';
            const char *s = buf;
            while (hosts_isspace((unsigned char)*s))
                s++;
            if (*s == '\0' || *s == '#')
                continue;
            const char *start = s;
            while (*s && !hosts_isspace((unsigned char)*s) && *s != '#' && *s != ',')
                s++;
            size_t len = (size_t)(s - start);
            while (hosts_isspace((unsigned char)*s))
                s++;
            if (len == 5 && strncasecmp(start, "multi", 5) == 0)
                flags = hosts_hconf_bool(s, flags, HCONF_MULTI);
            else if (len == 7 && strncasecmp(start, "reorder", 7) == 0)
                flags = hosts_hconf_bool(s, flags, HCONF_REORDER);
            else if (len == 4 && strncasecmp(start, "trim", 4) == 0)
                flags |= HCONF_TRIM;   /* domains trimmed from gethostbyaddr's names */
        }
        fclose(fp);
    }
    const char *v = getenv("RESOLV_MULTI");
    if (v)
        flags = hosts_hconf_bool(v, flags, HCONF_MULTI);
    v = getenv("RESOLV_REORDER");
    if (v)
        flags = hosts_hconf_bool(v, flags, HCONF_REORDER);
    if (getenv("RESOLV_ADD_TRIM_DOMAINS") || getenv("RESOLV_OVERRIDE_TRIM_DOMAINS"))
        flags |= HCONF_TRIM;
    return flags;
}

static unsigned hosts_hconf(void)
{
    int f = atomic_load_explicit(&hconf_flags, memory_order_acquire);
    if (f >= 0)
        return (unsigned)f;
    /* Racing first readers compute the same value; the first store wins. */
    int expected = -1, mine = (int)hosts_hconf_read();
    if (atomic_compare_exchange_strong(&hconf_flags, &expected, mine))
        return (unsigned)mine;
    return (unsigned)expected;
}

/* Address of line l in the given mode (files-hosts.c LINE_PARSER):
 * 1 and *fam/addr set when the line counts, 0 when glibc skips it. */
static int hosts_line_addr(const struct hosts_line *l, enum fr_hosts_mode mode, int family,
                           struct fr_hosts_addr *a)
{
    memset(a, 0, sizeof *a);
    if (mode == FR_HOSTS_ALL || family == l->kind) {
        a->family = l->kind;
        memcpy(a->addr, l->addr, l->kind == AF_INET ? 4 : 16);
        return 1;
    }
    if (family != AF_INET)
        return 0;  /* AF_INET6 without AI_V4MAPPED flags: IPv4 lines do not count */
    /* glibc: an AF_INET lookup takes v4-mapped IPv6 lines as their IPv4
     * address and ::1 as 127.0.0.1; other IPv6 lines are skipped. */
    const struct in6_addr *in6 = (const void *)l->addr;
    a->family = AF_INET;
    if (IN6_IS_ADDR_V4MAPPED(in6)) {
        memcpy(a->addr, l->addr + 12, 4);
        return 1;
    }
    if (IN6_IS_ADDR_LOOPBACK(in6)) {
        static const unsigned char lo[4] = {127, 0, 0, 1};
        memcpy(a->addr, lo, 4);
        return 1;
    }
    return 0;
}

/* Build the answer from db (read-locked by the caller). */
static enum fr_status hosts_answer(const struct hosts_db *db, const char *name,
                                   enum fr_hosts_mode mode, int family, int multi,
                                   struct fr_hosts_result **out)
{
    uint32_t match[FR_HOSTS_MAX_ADDRS];
    size_t n = 0;
    uint32_t h = hosts_hash(name);
    const struct hosts_key *k = hosts_key_find(db->keys, db->keys_cap, db->strs, name, h);
    if (k->str == NONE)
        return FR_NOTFOUND;
    for (uint32_t p = k->first; p != NONE; p = db->posts[p].next) {
        const struct hosts_line *l = &db->lines[db->posts[p].line];
        struct fr_hosts_addr a;
        if (!hosts_line_addr(l, mode, family, &a))
            continue;
        if (n == FR_HOSTS_MAX_ADDRS)
            return FR_PUNT;
        match[n++] = db->posts[p].line;
        if (!multi)
            break;  /* glibc without "multi on": the first matching line only */
    }
    if (n == 0)
        return FR_NOTFOUND;

    /* Aliases (FR_HOSTS_FAMILY, gethostbyname3_multi): the first line's,
     * then for each later line its aliases and, if it differs
     * (strcmp, case-sensitive), its canonical name. */
    const struct hosts_line *first = &db->lines[match[0]];
    const char *canon = db->strs + first->name;
    size_t nalias = 0, textlen = strlen(canon) + 1;
    if (mode == FR_HOSTS_FAMILY) {
        for (size_t i = 0; i < n; i++) {
            const struct hosts_line *l = &db->lines[match[i]];
            for (uint32_t j = 0; j < l->nalias; j++)
                textlen += strlen(db->strs + db->alias_offs[l->alias0 + j]) + 1;
            nalias += l->nalias;
            if (i > 0 && strcmp(db->strs + l->name, canon) != 0) {
                textlen += strlen(db->strs + l->name) + 1;
                nalias++;
            }
        }
    }

    /* One block: result, alias pointers, addresses, text. */
    size_t size = sizeof(struct fr_hosts_result) + (nalias + 1) * sizeof(char *) +
                  n * sizeof(struct fr_hosts_addr) + textlen;
    struct fr_hosts_result *r = malloc(size);
    if (!r)
        return FR_NOMEM;
    r->aliases = (char **)(r + 1);
    r->addrs = (struct fr_hosts_addr *)(r->aliases + nalias + 1);
    r->naddrs = n;
    for (size_t i = 0; i < n; i++)
        hosts_line_addr(&db->lines[match[i]], mode, family, &r->addrs[i]);
    char *text = (char *)(r->addrs + n);
    size_t len = strlen(canon) + 1;
    r->name = memcpy(text, canon, len);
    text += len;
    size_t ai = 0;
    for (size_t i = 0; i < n && mode == FR_HOSTS_FAMILY; i++) {
        const struct hosts_line *l = &db->lines[match[i]];
        for (uint32_t j = 0; j < l->nalias; j++) {
            const char *s = db->strs + db->alias_offs[l->alias0 + j];
            len = strlen(s) + 1;
            r->aliases[ai++] = memcpy(text, s, len);
            text += len;
        }
        const char *s = db->strs + l->name;
        if (i > 0 && strcmp(s, canon) != 0) {
            len = strlen(s) + 1;
            r->aliases[ai++] = memcpy(text, s, len);
            text += len;
        }
    }
    r->aliases[ai] = NULL;
    *out = r;
    return FR_OK;
}

enum fr_status fr_hosts_lookup(const char *name, enum fr_hosts_mode mode, int family,
                               struct fr_hosts_result **out)
{
    if (!name || !out)
        return FR_PUNT;
    if (mode == FR_HOSTS_FAMILY && family != AF_INET && family != AF_INET6)
        return FR_PUNT;
    if (mode != FR_HOSTS_FAMILY && mode != FR_HOSTS_ALL)
        return FR_PUNT;
    pthread_once(&fork_once, hosts_fork_register);
    if (!hosts_fork_ok)
        return FR_PUNT;   /* a child could inherit a lock held: libc answers */
    unsigned hconf = hosts_hconf();
    /* gethostbyname*_r reorder the addresses after nss_files when asked
     * to; FR_HOSTS_FAMILY serves them too, so libc must do it. */
    if (mode == FR_HOSTS_FAMILY && (hconf & HCONF_REORDER))
        return FR_PUNT;
    enum fr_status st = hosts_refresh();
    if (st != FR_OK)
        return st;
    pthread_rwlock_rdlock(&db_lock);
    const struct hosts_db *db = db_cur;
    if (!db)
        st = FR_PUNT;  /* fr_hosts_reset (tests) ran since the refresh: let libc answer */
    else if (db->status != FR_OK)
        st = db->status;
    else
        st = hosts_answer(db, name, mode, family, (hconf & HCONF_MULTI) != 0, out);
    pthread_rwlock_unlock(&db_lock);
    return st;
}

/* _nss_files_gethostbyaddr2_r: the first line, in file order, whose
 * address as parsed for family af (hosts_line_addr, FR_HOSTS_FAMILY:
 * AF_INET also takes v4-mapped IPv6 lines and ::1) is addr. Read-locked
 * by the caller. */
static enum fr_status hosts_answer_addr(const struct hosts_db *db, const unsigned char *addr,
                                        int family, struct fr_hosts_result **out)
{
    size_t alen = family == AF_INET ? 4 : 16;
    for (size_t i = 0; i < db->nlines; i++) {
        const struct hosts_line *l = &db->lines[i];
        struct fr_hosts_addr a;
        if (!hosts_line_addr(l, FR_HOSTS_FAMILY, family, &a) || memcmp(a.addr, addr, alen) != 0)
            continue;
        const char *name = db->strs + l->name;
        size_t textlen = strlen(name) + 1;
        for (uint32_t j = 0; j < l->nalias; j++)
            textlen += strlen(db->strs + db->alias_offs[l->alias0 + j]) + 1;
        size_t size = sizeof(struct fr_hosts_result) + (l->nalias + 1) * sizeof(char *) +
                      sizeof(struct fr_hosts_addr) + textlen;
        struct fr_hosts_result *r = malloc(size);
        if (!r)
            return FR_NOMEM;
        r->aliases = (char **)(r + 1);
        r->addrs = (struct fr_hosts_addr *)(r->aliases + l->nalias + 1);
        r->naddrs = 1;
        r->addrs[0] = a;
        char *text = (char *)(r->addrs + 1);
        size_t n = strlen(name) + 1;
        r->name = memcpy(text, name, n);
        text += n;
        for (uint32_t j = 0; j < l->nalias; j++) {
            const char *al = db->strs + db->alias_offs[l->alias0 + j];
            n = strlen(al) + 1;
            r->aliases[j] = memcpy(text, al, n);
            text += n;
        }
        r->aliases[l->nalias] = NULL;
        *out = r;
        return FR_OK;
    }
    return FR_NOTFOUND;
}

enum fr_status fr_hosts_lookup_addr(const void *addr, int family, struct fr_hosts_result **out)
{
    if (!addr || !out || (family != AF_INET && family != AF_INET6))
        return FR_PUNT;
    pthread_once(&fork_once, hosts_fork_register);
    if (!hosts_fork_ok)
        return FR_PUNT;
    if (hosts_hconf() & HCONF_TRIM)
        return FR_PUNT;   /* gethostbyaddr trims the names: not reproduced */
    enum fr_status st = hosts_refresh();
    if (st != FR_OK)
        return st;
    pthread_rwlock_rdlock(&db_lock);
    const struct hosts_db *db = db_cur;
    if (!db)
        st = FR_PUNT;
    else if (db->status != FR_OK)
        st = db->status;
    else
        st = hosts_answer_addr(db, addr, family, out);
    pthread_rwlock_unlock(&db_lock);
    return st;
}

int fr_hosts_trims(void)
{
    return (hosts_hconf() & HCONF_TRIM) != 0;
}

void fr_hosts_result_free(struct fr_hosts_result *r)
{
    free(r);  /* one block, see hosts_answer */
}

void fr_hosts_reset(void)
{
    pthread_mutex_lock(&reload_lock);
    pthread_rwlock_wrlock(&db_lock);
    struct hosts_db *old = db_cur;
    db_cur = NULL;
    atomic_store_explicit(&next_check_ms, 0, memory_order_release);
    atomic_store_explicit(&hconf_flags, -1, memory_order_release);
    pthread_rwlock_unlock(&db_lock);
    pthread_mutex_unlock(&reload_lock);
    hosts_db_free(old);
}
