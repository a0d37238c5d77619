/* Tests for preload/base/fileid.c: file and descriptor identities, whole-file reads.
 *
 * No network, no system file: files are made with mkstemp under the
 * test's own temporary directory and data is fed through pipes. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fileid.h"

/* A pipe whose read end gets len bytes of pattern (from a child, so any
 * length fits), then end of file. Returns the read end. */
static int feed(size_t len)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        close(p[0]);
        char buf[4096];
        for (size_t i = 0; i < sizeof buf; i++)
            buf[i] = (char)('a' + i % 26);
        for (size_t off = 0; off < len;) {
            size_t n = len - off < sizeof buf ? len - off : sizeof buf;
            ssize_t w = write(p[1], buf, n);
            if (w <= 0)
                _exit(1);
            off += (size_t)w;
        }
        _exit(0);
    }
    close(p[1]);
    return p[0];
}

struct read_case {
    size_t len, hint, max;
    enum fr_fileid_read_result want;
};

static struct read_case read_cases[] = {
    { 0, 0, 100, FR_FILEID_READ_OK },
    { 0, 4096, 100, FR_FILEID_READ_OK },
    { 1, 0, 100, FR_FILEID_READ_OK },
    { 100, 1, 100, FR_FILEID_READ_OK },        /* exactly max, grown from 1 byte */
    { 101, 1, 100, FR_FILEID_READ_TOOBIG },    /* one byte over */
    { 100, 101, 100, FR_FILEID_READ_OK },      /* hosts.c's hint: size + 1 */
    { 101, 101, 100, FR_FILEID_READ_TOOBIG },  /* grew while being read */
    { 100000, 4096, SIZE_MAX / 4, FR_FILEID_READ_OK },   /* config.c: no limit */
    { 70000, 7, 70000, FR_FILEID_READ_OK },
    { 70001, 7, 70000, FR_FILEID_READ_TOOBIG },
};

ParameterizedTestParameters(fileid, read_fd)
{
    return cr_make_param_array(struct read_case, read_cases, sizeof read_cases / sizeof read_cases[0]);
}

ParameterizedTest(struct read_case *rc, fileid, read_fd)
{
    int fd = feed(rc->len);
    char *text = (char *)1;
    size_t len = 12345;
    enum fr_fileid_read_result r = fr_fileid_read_fd(fd, rc->hint, rc->max, &text, &len);
    close(fd);
    int status;
    wait(&status);
    cr_assert_eq(r, rc->want, "len %zu hint %zu max %zu: got %d", rc->len, rc->hint, rc->max, r);
    if (r != FR_FILEID_READ_OK) {
        /* Out-parameters are set only on success. */
        cr_expect_eq(text, (char *)1);
        cr_expect_eq(len, 12345);
        return;
    }
    cr_assert_eq(len, rc->len);
    cr_expect_eq(text[len], '\0');
    for (size_t i = 0; i < len; i++)
        if (text[i] < 'a' || text[i] > 'z')
            cr_assert_fail("byte %zu is %d", i, text[i]);
    free(text);
}

Test(fileid, read_error_keeps_errno)
{
    /* A descriptor open for writing only: read(2) fails with EBADF. */
    char path[] = "/tmp/fileid-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    int wfd = open(path, O_WRONLY);
    cr_assert_geq(wfd, 0);
    char *text = NULL;
    size_t len = 0;
    errno = 0;
    cr_expect_eq(fr_fileid_read_fd(wfd, 16, 100, &text, &len), FR_FILEID_READ_ERROR);
    cr_expect_eq(errno, EBADF);
    cr_expect_null(text);
    close(wfd);
    close(fd);
    unlink(path);
}

Test(fileid, identity_follows_changes)
{
    char path[] = "/tmp/fileid-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "one\n", 4), 4);
    struct stat st;
    cr_assert_eq(fstat(fd, &st), 0);
    struct fr_fileid id, same;
    fr_fileid_of(&id, &st);
    fr_fileid_of(&same, &st);
    cr_expect(id.exists);
    cr_expect(fr_fileid_same(&id, &same));
    cr_expect_not(fr_fileid_changed(path, &id));

    /* Size changes. */
    cr_assert_eq(write(fd, "two\n", 4), 4);
    cr_expect(fr_fileid_changed(path, &id));
    cr_assert_eq(fstat(fd, &st), 0);
    fr_fileid_of(&id, &st);
    cr_expect_not(fr_fileid_changed(path, &id));

    /* Same size, another mtime (ns resolution). */
    struct timespec ts[2] = { st.st_atim, st.st_mtim };
    ts[1].tv_nsec = (ts[1].tv_nsec + 1) % 1000000000;
    cr_assert_eq(futimens(fd, ts), 0);
    cr_expect(fr_fileid_changed(path, &id));
    cr_assert_eq(fstat(fd, &st), 0);
    fr_fileid_of(&id, &st);

    /* Replaced by another file (new inode) of the same size and mtime. */
    char path2[] = "/tmp/fileid-XXXXXX";
    int fd2 = mkstemp(path2);
    cr_assert_geq(fd2, 0);
    cr_assert_eq(write(fd2, "one\ntwo\n", 8), 8);
    cr_assert_eq(futimens(fd2, (struct timespec[2]){ st.st_atim, st.st_mtim }), 0);
    cr_assert_eq(rename(path2, path), 0);
    cr_expect(fr_fileid_changed(path, &id));

    /* Missing: changed only if it existed. */
    cr_assert_eq(unlink(path), 0);
    cr_expect(fr_fileid_changed(path, &id));
    struct fr_fileid none = { 0 };
    cr_expect_not(fr_fileid_changed(path, &none));
    cr_expect(fr_fileid_same(&none, &(struct fr_fileid){ 0 }));
    cr_expect_not(fr_fileid_same(&none, &id));
    close(fd);
    close(fd2);
}

/* ---- descriptor identities (net/tcp*.c, net/oneshot.c) ---- */

Test(fileid, fd_identity_is_the_open_file)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(s, 0);
    struct fr_fileid_fd id, untouched = { .dev = 7, .ino = 7 };
    cr_assert_eq(fr_fileid_fd_of(s, &id), 0);
    cr_expect(fr_fileid_fd_is(s, &id), "a socket is itself");
    /* Two sockets never share an identity (sockfs gives each an inode). */
    int s2 = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(s2, 0);
    cr_expect_not(fr_fileid_fd_is(s2, &id));
    close(s2);

    /* The program closes it and opens another file under the same number. */
    char path[] = "/tmp/fileid-XXXXXX";
    int f = mkstemp(path);
    cr_assert_geq(f, 0);
    unlink(path);
    cr_assert_eq(close(s), 0);
    cr_assert_eq(dup2(f, s), s);
    close(f);
    cr_expect_not(fr_fileid_fd_is(s, &id), "another file under the same number is not ours");
    close(s);
    cr_expect_not(fr_fileid_fd_is(s, &id), "a closed number is not ours");

    /* No descriptor: never ours, and fr_fileid_fd_of fails leaving *id. */
    cr_expect_not(fr_fileid_fd_is(-1, &id));
    cr_expect_eq(fr_fileid_fd_of(-1, &untouched), -1);
    cr_expect_eq(untouched.dev, 7);
    cr_expect_eq(untouched.ino, 7);
}

Test(fileid, fd_identity_of_both_pipe_ends)
{
    /* tcp_wake.c keeps one identity for both ends of a pipe. */
    int p[2];
    cr_assert_eq(pipe(p), 0);
    struct fr_fileid_fd id;
    cr_assert_eq(fr_fileid_fd_of(p[0], &id), 0);
    cr_expect(fr_fileid_fd_is(p[0], &id));
    cr_expect(fr_fileid_fd_is(p[1], &id));
    /* Writing changes a pipe's times; its identity stays. */
    cr_assert_eq(write(p[1], "x", 1), 1);
    cr_expect(fr_fileid_fd_is(p[1], &id));
    close(p[0]);
    close(p[1]);
}
