/* fastres: has a file changed, is a descriptor still the one we opened,
 * and reading one whole.
 *
 * Contract: a file's identity is its device, inode, size and mtime (ns)
 * as stat(2) gives them; two identities are the same when both say the
 * file is missing or all four fields agree. The configuration keeper
 * (config.c: resolv.conf, nsswitch.conf) and the hosts keeper (hosts.c:
 * /etc/hosts) use it to decide when to read a file again, and
 * fr_fileid_read_fd to read it.
 * A descriptor's identity is the device and inode fstat(2) gives for it
 * (size and mtime left out: a socket's or pipe's change as it is used).
 * The modules that keep a descriptor across calls (net/tcp*.c,
 * net/oneshot.c) take it when they open one and check it before every
 * use: the program may have closed the number and opened something else
 * under it, which fastres must never read, write or close.
 * Stateless and thread-safe; it never keeps a descriptor (the caller
 * opens and closes it) and never logs. */
#ifndef FR_FILEID_H
#define FR_FILEID_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

struct fr_fileid {
    int exists;                /* 0: missing (or never read): the other fields are 0 */
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
};

/* The identity stat(2) or fstat(2) gave in *st. */
void fr_fileid_of(struct fr_fileid *id, const struct stat *st);

/* 1 when a and b name the same file contents (see the contract). */
int fr_fileid_same(const struct fr_fileid *a, const struct fr_fileid *b);

/* 1 when path's identity now differs from id; a path stat(2) cannot
 * reach counts as missing (changed only if id said it existed). */
int fr_fileid_changed(const char *path, const struct fr_fileid *id);

/* What a descriptor is open on (see the contract). */
struct fr_fileid_fd {
    dev_t dev;
    ino_t ino;
};

/* fd's identity into *id; 0, or -1 when fstat(2) fails (*id untouched). */
int fr_fileid_fd_of(int fd, struct fr_fileid_fd *id);

/* 1 when fd is open (>= 0) and still on the file *id was taken from. */
int fr_fileid_fd_is(int fd, const struct fr_fileid_fd *id);

enum fr_fileid_read_result {
    FR_FILEID_READ_OK,
    FR_FILEID_READ_NOMEM,
    FR_FILEID_READ_ERROR,      /* read(2) failed: errno says why */
    FR_FILEID_READ_TOOBIG,     /* more than max bytes */
};

/* Read fd from its position to the end into a new buffer, NUL-terminated
 * (*len does not count the NUL; a NUL inside the data stays). hint is the
 * first buffer size in bytes (the file's size when known), which doubles
 * as needed; max is the most bytes accepted (SIZE_MAX / 4 is "no limit"
 * in practice). *text and *len are set only on FR_FILEID_READ_OK; errno
 * is kept from a failed read for the caller's log line. */
enum fr_fileid_read_result fr_fileid_read_fd(int fd, size_t hint, size_t max, char **text,
                                             size_t *len);

#endif
