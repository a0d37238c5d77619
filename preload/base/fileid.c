/* fastres: file and descriptor identities, whole-file reads (see
 * fileid.h). */
#include "base/fileid.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

void fr_fileid_of(struct fr_fileid *id, const struct stat *st)
{
    id->exists = 1;
    id->dev = st->st_dev;
    id->ino = st->st_ino;
    id->size = st->st_size;
    id->mtime = st->st_mtim;
}

int fr_fileid_same(const struct fr_fileid *a, const struct fr_fileid *b)
{
    if (a->exists != b->exists)
        return 0;
    if (!a->exists)
        return 1;
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

int fr_fileid_changed(const char *path, const struct fr_fileid *id)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return id->exists;
    struct fr_fileid now;
    fr_fileid_of(&now, &st);
    return !fr_fileid_same(&now, id);
}

int fr_fileid_fd_of(int fd, struct fr_fileid_fd *id)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -1;
    id->dev = st.st_dev;
    id->ino = st.st_ino;
    return 0;
}

int fr_fileid_fd_is(int fd, const struct fr_fileid_fd *id)
{
    struct stat st;
    return fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == id->dev && st.st_ino == id->ino;
}

enum fr_fileid_read_result fr_fileid_read_fd(int fd, size_t hint, size_t max, char **text,
                                             size_t *len)
{
    enum fr_fileid_read_result ret = FR_FILEID_READ_NOMEM;
    /* cap counts the data bytes the buffer holds; one more is allocated
     * for the NUL. Reading stops one byte past max, to tell a file of
     * exactly max bytes from a longer one (or one that grew meanwhile). */
    size_t cap = hint ? hint : 1, got = 0;
    if (cap > max)
        cap = max + 1;
    char *buf = malloc(cap + 1);
    if (!buf)
        goto done;
    for (;;) {
        if (got == cap) {
            if (got > max) {
                ret = FR_FILEID_READ_TOOBIG;
                goto done;
            }
            size_t ncap = cap > SIZE_MAX / 4 ? 0 : cap * 2;
            if (!ncap)
                goto done;
            if (ncap > max)
                ncap = max + 1;
            char *nb = realloc(buf, ncap + 1);
            if (!nb)
                goto done;
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + got, cap - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            ret = FR_FILEID_READ_ERROR;
            goto done;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    buf[got] = '\0';
    *text = buf;
    *len = got;
    buf = NULL;
    ret = FR_FILEID_READ_OK;
done:;
    int e = errno;   /* free() may not change it, but the caller logs it */
    free(buf);
    errno = e;
    return ret;
}
