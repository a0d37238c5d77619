/* fastres: /etc/hosts lookups from a parsed copy kept current (see
 * hosts.h). The file format is hosts_file.c's, host.conf hosts_conf.c's.
 *
 * Deliberate deviation: glibc re-reads /etc/hosts on every call. fastres
 * keeps a parsed copy and looks at the file's identity (dev, ino, size,
 * mtime in ns) at most once per FR_HOSTS_RECHECK_MS, so an edit can go
 * unseen for up to that long, and an in-place rewrite that keeps size and
 * mtime (same clock tick) goes unseen until the next change. A stat per
 * lookup would cost more than the whole cached answer it guards.
 *
 * Threads: the parsed copy (struct fr_hosts_db) is immutable once published.
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
#include "base/hosts_int.h"
#include "base/hosts_test.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "base/clock.h"
#include "base/fork.h"

static pthread_rwlock_t db_lock = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
static pthread_mutex_t reload_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fr_hosts_db *db_cur;       /* guarded by db_lock; replaced under reload_lock too */
static _Atomic uint64_t next_check_ms;   /* 0: check (or load) on the next lookup */
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;
static int hosts_fork_ok;                /* set once by hosts_fork_register */

/* Fork: take both locks, so no reload or lookup is half done in the
 * child; the child re-initialises them rather than unlocking (a writer's
 * unlock checks the owner's TID, and the child's thread has a new one). */
static void hosts_fork_prepare(void)
{
    pthread_rwlock_wrlock(&db_lock);
}

static void hosts_fork_parent(void)
{
    pthread_rwlock_unlock(&db_lock);
}

static void hosts_fork_child(void)
{
    pthread_rwlock_t rw = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
    db_lock = rw;
}

/* reload_lock (the outer one) is held by fork.c around these. */
static const struct fr_fork_handlers hosts_fork = {
    .name = "hosts", .rank = FR_FORK_RANK_HOSTS, .prepare = hosts_fork_prepare,
    .parent = hosts_fork_parent, .child = hosts_fork_child, .lock = &reload_lock,
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
        struct fr_fileid sig;
        struct stat sb;
        if (stat(FR_HOSTS_PATH, &sb) == 0) {
            fr_fileid_of(&sig, &sb);
            same = fr_fileid_same(&sig, &db_cur->sig);
        } else if (errno == ENOENT || errno == ENOTDIR) {
            same = db_cur->status == FR_NOTFOUND;
        }
    }
    if (!same) {
        struct fr_hosts_db *db = NULL;
        st = fr_hosts_db_load(&db);
        if (st != FR_OK)
            goto done;  /* next_check_ms stays due: the next lookup retries */
        pthread_rwlock_wrlock(&db_lock);
        struct fr_hosts_db *old = db_cur;
        db_cur = db;
        pthread_rwlock_unlock(&db_lock);
        fr_hosts_db_free(old);
    }
    atomic_store_explicit(&next_check_ms, now + FR_HOSTS_RECHECK_MS, memory_order_release);
done:
    pthread_mutex_unlock(&reload_lock);
    return st;
}


/* The current table, read-locked (the caller unlocks db_lock), ready to
 * search; NULL with *st set to what the lookup answers when there is none
 * (FR_NOMEM, or the table's own status: no file, or a file glibc would
 * not just search). */
static const struct fr_hosts_db *hosts_hold(enum fr_status *st)
{
    *st = hosts_refresh();
    if (*st != FR_OK)
        return NULL;
    pthread_rwlock_rdlock(&db_lock);
    const struct fr_hosts_db *db = db_cur;
    if (db && db->status == FR_OK)
        return db;
    /* !db: fr_hosts_reset (tests) ran since the refresh: let libc answer */
    *st = db ? db->status : FR_PUNT;
    pthread_rwlock_unlock(&db_lock);
    return NULL;
}

/* Address of line l in the given mode (files-hosts.c LINE_PARSER):
 * 1 and *fam/addr set when the line counts, 0 when glibc skips it. */
static int hosts_line_addr(const struct fr_hosts_line *l, enum fr_hosts_mode mode, int family,
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
static enum fr_status hosts_answer(const struct fr_hosts_db *db, const char *name,
                                   enum fr_hosts_mode mode, int family, int multi,
                                   struct fr_hosts_result **out)
{
    uint32_t match[FR_HOSTS_MAX_ADDRS];
    size_t n = 0;
    const struct fr_hosts_key *k = fr_hosts_db_find(db, name);
    if (!k)
        return FR_NOTFOUND;
    for (uint32_t p = k->first; p != FR_HOSTS_NONE; p = db->posts[p].next) {
        const struct fr_hosts_line *l = &db->lines[db->posts[p].line];
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
    const struct fr_hosts_line *first = &db->lines[match[0]];
    const char *canon = db->strs + first->name;
    size_t nalias = 0, textlen = strlen(canon) + 1;
    if (mode == FR_HOSTS_FAMILY) {
        for (size_t i = 0; i < n; i++) {
            const struct fr_hosts_line *l = &db->lines[match[i]];
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
        const struct fr_hosts_line *l = &db->lines[match[i]];
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
    unsigned hconf = fr_hosts_conf();
    /* gethostbyname*_r reorder the addresses after nss_files when asked
     * to; FR_HOSTS_FAMILY serves them too, so libc must do it. */
    if (mode == FR_HOSTS_FAMILY && (hconf & FR_HOSTS_CONF_REORDER))
        return FR_PUNT;
    enum fr_status st;
    const struct fr_hosts_db *db = hosts_hold(&st);
    if (!db)
        return st;
    st = hosts_answer(db, name, mode, family, (hconf & FR_HOSTS_CONF_MULTI) != 0, out);
    pthread_rwlock_unlock(&db_lock);
    return st;
}

/* _nss_files_gethostbyaddr2_r: the first line, in file order, whose
 * address as parsed for family af (hosts_line_addr, FR_HOSTS_FAMILY:
 * AF_INET also takes v4-mapped IPv6 lines and ::1) is addr. Read-locked
 * by the caller. */
static enum fr_status hosts_answer_addr(const struct fr_hosts_db *db, const unsigned char *addr,
                                        int family, struct fr_hosts_result **out)
{
    size_t alen = family == AF_INET ? 4 : 16;
    for (size_t i = 0; i < db->nlines; i++) {
        const struct fr_hosts_line *l = &db->lines[i];
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
    if (fr_hosts_conf() & FR_HOSTS_CONF_TRIM)
        return FR_PUNT;   /* gethostbyaddr trims the names: not reproduced */
    enum fr_status st;
    const struct fr_hosts_db *db = hosts_hold(&st);
    if (!db)
        return st;
    st = hosts_answer_addr(db, addr, family, out);
    pthread_rwlock_unlock(&db_lock);
    return st;
}

int fr_hosts_trims(void)
{
    return (fr_hosts_conf() & FR_HOSTS_CONF_TRIM) != 0;
}

void fr_hosts_result_free(struct fr_hosts_result *r)
{
    free(r);  /* one block, see hosts_answer */
}

void fr_hosts_reset(void)
{
    pthread_mutex_lock(&reload_lock);
    pthread_rwlock_wrlock(&db_lock);
    struct fr_hosts_db *old = db_cur;
    db_cur = NULL;
    atomic_store_explicit(&next_check_ms, 0, memory_order_release);
    fr_hosts_conf_forget();
    pthread_rwlock_unlock(&db_lock);
    pthread_mutex_unlock(&reload_lock);
    fr_hosts_db_free(old);
}
