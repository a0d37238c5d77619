/* fastres: the configuration snapshot keeper (see config.h).
 *
 * Owns the current snapshot, each thread's reference to it, the check for
 * changed files (at most once per FR_CONFIG_RECHECK_MS) and the config
 * lock's fork handlers. Building a snapshot is config_parse.c's job;
 * glibc's own view of the files, to compare with, config_res.c's. */
#include "base/config.h"
#include "base/config_int.h"
#include "base/config_test.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/fileid.h"
#include "base/fork.h"
#include "base/log.h"

#define RESOLV_CONF "/etc/resolv.conf"
#define NSSWITCH_CONF "/etc/nsswitch.conf"
/* First read buffer for resolv.conf and nsswitch.conf (a few hundred
 * bytes each); it doubles as needed: glibc reads files of any size. */
#define CONFIG_FILE_CHUNK 4096

/* ------------------------------------------------------------------ */
/* Snapshots */

struct snapshot {
    struct fr_config cfg;     /* first: callers see only this part */
    atomic_uint refs;
};

static pthread_mutex_t cfg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct snapshot *cfg_cur;            /* under cfg_lock */
static struct fr_fileid id_resolv, id_nss;  /* under cfg_lock */
static _Atomic uint64_t cfg_gen;
static _Atomic uint64_t cfg_checked_ms;
static pthread_once_t cfg_once = PTHREAD_ONCE_INIT;
static pthread_key_t cfg_key;
static int cfg_fork_ok;      /* set once by config_init */
static atomic_int read_failed;  /* 1 while a file cannot be read (logged once) */

/* Each thread keeps a reference to the snapshot it last used, so the
 * common path takes no lock: it compares one generation number. */
static __thread struct snapshot *tls_snap;
static __thread uint64_t tls_gen;

static void config_snap_put(struct snapshot *s)
{
    if (s && atomic_fetch_sub(&s->refs, 1) == 1) {
        struct fr_config *c = &s->cfg;
        fr_config_domains_clear(c);
        free(s);
    }
}

static void config_tls_release(void *p)
{
    config_snap_put(p);
}

/* A fork while another thread holds cfg_lock would leave the child with a
 * lock nobody can release: fork.c holds it across the fork. */
static const struct fr_fork_handlers cfg_fork = {
    .name = "config", .rank = FR_FORK_RANK_CONFIG, .lock = &cfg_lock,
};

static void config_init(void)
{
    pthread_key_create(&cfg_key, config_tls_release);
    cfg_fork_ok = fr_fork_register(&cfg_fork) == 0;
}

enum file_result {
    FILE_OK,        /* *text is the whole file */
    FILE_MISSING,   /* glibc takes its built-in defaults */
    FILE_ERROR,     /* could not be read: never mistake this for missing */
};

/* Read all of path into *text (NUL-terminated). Only the open errors glibc
 * ignores as "persistent errors caused by file system contents"
 * (__resolv_conf_load: EACCES, EISDIR, ELOOP, ENOENT, ENOTDIR, EPERM)
 * count as a missing file; anything else (EMFILE, ENOMEM, a read error,
 * a directory that opens but cannot be read) makes glibc's res_init fail,
 * so fastres must not invent a configuration either. */
static enum file_result config_file_read(const char *path, char **text, struct fr_fileid *id)
{
    enum file_result ret = FILE_ERROR;
    struct stat st;
    size_t len;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    memset(id, 0, sizeof *id);
    *text = NULL;
    if (fd < 0) {
        if (errno == EACCES || errno == EISDIR || errno == ELOOP || errno == ENOENT ||
            errno == ENOTDIR || errno == EPERM)
            ret = FILE_MISSING;
        goto done;
    }
    if (fstat(fd, &st) != 0)
        goto done;
    /* glibc reads files of any size: no limit but memory. */
    if (fr_fileid_read_fd(fd, CONFIG_FILE_CHUNK, SIZE_MAX / 4, text, &len) != FR_FILEID_READ_OK)
        goto done;
    fr_fileid_of(id, &st);
    ret = FILE_OK;
done:;
    int e = errno;   /* for the caller's log line */
    if (fd >= 0)
        close(fd);
    errno = e;
    return ret;
}

/* Build a new snapshot from the files; called with cfg_lock held. */
static struct snapshot *config_snap_build(void)
{
    struct fr_fileid rid, nid;
    char *rtext = NULL, *ntext = NULL;
    struct snapshot *s = NULL;
    const char *bad = NULL;
    if (config_file_read(RESOLV_CONF, &rtext, &rid) == FILE_ERROR)
        bad = RESOLV_CONF;
    else if (config_file_read(NSSWITCH_CONF, &ntext, &nid) == FILE_ERROR)
        bad = NSSWITCH_CONF;
    if (bad) {
        /* The caller keeps the last good snapshot, or (none yet) every
         * call goes to libc. One line per failing spell, not per call. */
        if (!atomic_exchange(&read_failed, 1))
            fr_log(FR_LOG_WARN, "config", "cannot read %s (%s): %s", bad, strerror(errno),
                   cfg_cur ? "keeping the configuration read before" : "libc answers until it can be read");
        goto done;
    }
    atomic_store(&read_failed, 0);
    struct fr_config *c = fr_config_parse(rtext, ntext, fr_config_getenv);
    if (!c)
        goto done;
    s = calloc(1, sizeof *s);
    if (!s) {
        fr_config_free(c);
        goto done;
    }
    s->cfg = *c;
    free(c);    /* the domain strings now belong to s->cfg */
    atomic_store(&s->refs, 1);
    /* glibc's view of the same files, to compare against _res later. */
    s->cfg.res_ok = fr_config_res_take(&s->cfg.res);
    if (s->cfg.res_ok && !s->cfg.punt && !fr_config_res_agrees(&s->cfg, &s->cfg.res)) {
        s->cfg.punt = "resolver settings read differently from glibc's res_ninit";
        fr_log(FR_LOG_INFO, "config", "%s: libc answers", s->cfg.punt);
    }
    s->cfg.generation = atomic_load(&cfg_gen) + 1;
    id_resolv = rid;
    id_nss = nid;
done:
    free(rtext);
    free(ntext);
    return s;
}

const struct fr_config *fr_config_acquire(void)
{
    pthread_once(&cfg_once, config_init);
    if (!cfg_fork_ok)
        return NULL;   /* a child could inherit cfg_lock held: libc answers */
    uint64_t now = fr_clock_now_ms();
    uint64_t checked = atomic_load_explicit(&cfg_checked_ms, memory_order_relaxed);
    int need_check = !atomic_load(&cfg_gen) || now - checked >= FR_CONFIG_RECHECK_MS ||
                     now < checked;
    /* One thread per interval does the stat()s; the others go on with the
     * snapshot they have. */
    if (need_check && (atomic_compare_exchange_strong(&cfg_checked_ms, &checked, now) ||
                       !atomic_load(&cfg_gen))) {
        pthread_mutex_lock(&cfg_lock);
        if (!cfg_cur || fr_fileid_changed(RESOLV_CONF, &id_resolv) ||
            fr_fileid_changed(NSSWITCH_CONF, &id_nss)) {
            struct snapshot *s = config_snap_build();
            if (s) {
                struct snapshot *old = cfg_cur;
                cfg_cur = s;
                atomic_store(&cfg_gen, s->cfg.generation);
                config_snap_put(old);
                if (old)
                    fr_log(FR_LOG_INFO, "config", "configuration changed, re-read");
            }
        }
        pthread_mutex_unlock(&cfg_lock);
    }

    uint64_t gen = atomic_load(&cfg_gen);
    if (!gen)
        return NULL;
    if (tls_gen != gen || !tls_snap) {
        pthread_mutex_lock(&cfg_lock);
        struct snapshot *old = tls_snap;
        tls_snap = cfg_cur;
        if (tls_snap)
            atomic_fetch_add(&tls_snap->refs, 1);
        tls_gen = tls_snap ? tls_snap->cfg.generation : 0;
        pthread_mutex_unlock(&cfg_lock);
        config_snap_put(old);
        pthread_setspecific(cfg_key, tls_snap);
    }
    if (tls_snap)
        atomic_fetch_add_explicit(&tls_snap->refs, 1, memory_order_relaxed);
    return tls_snap ? &tls_snap->cfg : NULL;
}

void fr_config_release(const struct fr_config *cfg)
{
    /* cfg is the first member of its snapshot. */
    if (cfg)
        config_snap_put((struct snapshot *)(void *)cfg);
}

void fr_config_reset(void)
{
    atomic_store(&cfg_checked_ms, 0);
    pthread_mutex_lock(&cfg_lock);
    memset(&id_resolv, 0, sizeof id_resolv);
    memset(&id_nss, 0, sizeof id_nss);
    pthread_mutex_unlock(&cfg_lock);
    /* Make the next acquire check at once, even under a fake clock. */
    atomic_store(&cfg_checked_ms, fr_clock_now_ms() - FR_CONFIG_RECHECK_MS);
}
