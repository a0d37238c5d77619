/* fastres: random numbers, without a descriptor.
 *
 * c-ares 1.18 as Debian builds it (no arc4random_buf at its build time)
 * opens /dev/urandom with fopen() for every channel and keeps the FILE
 * until the channel is destroyed. fastres makes channels per lookup, so
 * that would cost an open/fstat/close per server and question, and would
 * hold a descriptor a program closing all of its descriptors could pull
 * from under it. The library is linked with --wrap=fopen: c-ares's fopen
 * of its random file gets a stdio stream over getrandom(2) instead, with
 * no descriptor at all; every other fopen goes to libc. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "net/rand.h"

/* The path c-ares 1.18 reads its random bytes from (CARES_RANDOM_FILE). */
#define RAND_CARES_FILE "/dev/urandom"

FILE *__real_fopen(const char *path, const char *mode);
FILE *__wrap_fopen(const char *path, const char *mode);

static ssize_t rand_read(void *cookie, char *buf, size_t n)
{
    (void)cookie;
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(buf + got, n - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return got ? (ssize_t)got : -1;
        }
        got += (size_t)r;
    }
    return (ssize_t)got;
}

static int rand_close(void *cookie)
{
    (void)cookie;
    return 0;
}

FILE *__wrap_fopen(const char *path, const char *mode)
{
    if (path && !strcmp(path, RAND_CARES_FILE)) {
        cookie_io_functions_t io = { .read = rand_read, .close = rand_close };
        return fopencookie(NULL, "rb", io);
    }
    return __real_fopen(path, mode);
}

uint16_t fr_rand_id(void)
{
    /* DNS IDs must be unpredictable (RFC 5452): glibc 2.36's arc4random is
     * a per-thread CSPRNG; older glibc gets getrandom. */
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 36))
    return (uint16_t)arc4random();
#else
    uint16_t id = 0;
    if (rand_read(NULL, (char *)&id, sizeof id) != sizeof id)
        id = 0;
    return id;
#endif
}
