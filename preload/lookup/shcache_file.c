/* fastres: the shared cache's file (see shcache.h for the contract;
 * its layout is in shcache_int.h): create it complete or not at all, check
 * who owns it and who may write it before mapping it, check its header,
 * map and unmap it. */
#include "lookup/shcache.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "lookup/shcache_int.h"

static uint64_t shc_header_sum(const struct shc_file *f)
{
    return fr_shcache_sum(SHC_MAGIC, f, offsetof(struct shc_file, sum), 0);
}

static int shc_geometry_ok(const struct shc_file *f, size_t size)
{
    if (f->magic != SHC_MAGIC || f->version != SHC_VERSION || f->slot_size != SHC_SLOT || f->ways != SHC_WAYS ||
        f->size != size || f->sum != shc_header_sum(f))
        return 0;
    uint64_t n = (size - SHC_HEADER) / SHC_SLOT;
    n -= n % SHC_WAYS;
    return f->nslots == n && n >= SHC_WAYS;
}

static int shc_size_ok(uint64_t size)
{
    return size >= (uint64_t)FR_SHCACHE_MIN_KB * 1024 && size <= (uint64_t)FR_SHCACHE_MAX_KB * 1024;
}

/* Check what fd is before mapping it: the file is shared with every
 * process of the user, and must be nobody else's. */
static enum fr_status shc_check_fd(int fd, const char *path, struct stat *st)
{
    const char *why = NULL;
    if (fstat(fd, st) != 0)
        why = "cannot stat it";
    else if (!S_ISREG(st->st_mode))
        why = "not a regular file";
    else if (st->st_uid != geteuid())
        why = "owned by another user";
    else if (st->st_mode & (S_IWGRP | S_IWOTH))
        why = "writable by group or others";
    if (!why)
        return FR_OK;
    fr_log(FR_LOG_WARN, "shcache", "not using the shared cache %s: %s", path, why);
    return FR_FAIL;
}

/* Write a fresh file next to path and put it in place: link() when
 * nothing is there (the first creator wins, and a file is visible only
 * once complete), rename() over a broken one. */
static enum fr_status shc_create(const char *path, size_t size, int replace)
{
    char tmp[PATH_MAX];
    uint64_t salt = 0;
    enum fr_status st = FR_AGAIN;
    void *m = MAP_FAILED;
    int fd = -1;
    if (getrandom(&salt, sizeof salt, GRND_NONBLOCK) != (ssize_t)sizeof salt)
        salt = fr_clock_mono_us() ^ ((uint64_t)getpid() << 32);
    if (snprintf(tmp, sizeof tmp, "%s.%ld.%016llx.tmp", path, (long)getpid(), (unsigned long long)salt) >=
        (int)sizeof tmp)
        return FR_FAIL;
    fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        goto done;
    /* Every page allocated now: a tmpfs that fills up later must not turn a
     * first write into a page of the mapping into SIGBUS. */
    if (fchmod(fd, 0600) != 0 || ftruncate(fd, (off_t)size) != 0 || posix_fallocate(fd, 0, (off_t)size) != 0)
        goto done;
    m = mmap(NULL, SHC_HEADER, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED)
        goto done;
    struct shc_file *f = m;
    uint64_t n = (size - SHC_HEADER) / SHC_SLOT;
    f->version = SHC_VERSION;
    f->slot_size = SHC_SLOT;
    f->ways = SHC_WAYS;
    f->nslots = (uint32_t)(n - n % SHC_WAYS);
    f->size = size;
    f->salt = salt;
    f->created_ms = fr_clock_real_ms();
    f->magic = SHC_MAGIC;
    f->sum = shc_header_sum(f);
    if (replace) {
        if (rename(tmp, path) == 0) {
            tmp[0] = '\0';
            st = FR_OK;
        }
    } else if (link(tmp, path) == 0 || errno == EEXIST) {
        st = FR_OK;   /* ours, or another process's that came first */
    }
done:
    if (m != MAP_FAILED)
        munmap(m, SHC_HEADER);
    if (fd >= 0)
        close(fd);
    if (tmp[0])
        unlink(tmp);
    return st;
}

enum fr_status fr_shcache_open(const char *path, size_t size, int readonly, struct fr_shcache **out)
{
    enum fr_status st = FR_FAIL;
    struct fr_shcache *sc = NULL;
    void *m = MAP_FAILED;
    struct stat sb;
    if (!path || !*path || !shc_size_ok(size))
        return FR_FAIL;
    /* Up to three rounds: create when missing, open, and open once more
     * after replacing a broken file. */
    for (int round = 0; round < 3; round++) {
        int fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
            if (errno == ENOENT && !readonly) {
                st = shc_create(path, size, 0);
                if (st != FR_OK)
                    return st;
                continue;
            }
            if (errno == ELOOP)
                fr_log(FR_LOG_WARN, "shcache", "not using the shared cache %s: a symbolic link", path);
            else if (errno != ENOENT)
                fr_log(FR_LOG_WARN, "shcache", "not using the shared cache %s: %s", path, strerror(errno));
            return errno == ENOENT ? FR_AGAIN : FR_FAIL;
        }
        st = shc_check_fd(fd, path, &sb);
        /* A size out of bounds (truncated, grown) is a broken file, as
         * is a bad header: replaced below. */
        if (st == FR_OK && shc_size_ok((uint64_t)sb.st_size)) {
            m = mmap(NULL, (size_t)sb.st_size, readonly ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
            if (m == MAP_FAILED)
                st = FR_AGAIN;
        }
        /* The mapping stays valid without the descriptor: nothing is kept
         * open for a host program to trip over. */
        close(fd);
        if (st != FR_OK)
            return st;
        if (m != MAP_FAILED && shc_geometry_ok(m, (size_t)sb.st_size))
            break;
        if (m != MAP_FAILED)
            munmap(m, (size_t)sb.st_size);
        m = MAP_FAILED;
        if (readonly || round == 2) {
            fr_log(FR_LOG_WARN, "shcache", "the shared cache %s holds no valid header", path);
            return FR_FAIL;
        }
        fr_log(FR_LOG_WARN, "shcache", "the shared cache %s holds no valid header; replacing it", path);
        st = shc_create(path, size, 1);
        if (st != FR_OK)
            return st;
    }
    if (m == MAP_FAILED)
        return FR_FAIL;
    sc = calloc(1, sizeof *sc);
    if (!sc) {
        munmap(m, (size_t)sb.st_size);
        return FR_NOMEM;
    }
    sc->base = m;
    sc->size = (size_t)sb.st_size;
    sc->readonly = readonly;
    sc->hdr = m;
    sc->nslots = sc->hdr->nslots;
    sc->nsets = sc->nslots / SHC_WAYS;
    sc->salt = sc->hdr->salt;
    sc->slots = (struct shc_slot *)(sc->base + SHC_HEADER);
    *out = sc;
    return FR_OK;
}

void fr_shcache_close(struct fr_shcache *sc)
{
    if (!sc)
        return;
    munmap(sc->base, sc->size);
    free(sc);
}

