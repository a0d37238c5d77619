/* fastres network layer: persistent TCP's wake-ups (internal to tcp*.c,
 * see tcp_int.h).
 *
 * Every thread that waits for a TCP reply has a wake-up pipe of its own
 * (made on first need, closed when the thread exits); the thread that
 * reads a reply, or that queues a question the reader must poll, writes
 * a byte to it. The reader role (one thread at a time polls the
 * connections) is kept here too: who holds it, and whom to wake to take
 * it over. A pipe is checked to be fastres's (device, inode, fork
 * generation) before every use: the program may have closed or reused
 * its numbers. */
#include "net/tcp_int.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/fork.h"

static pthread_key_t pipe_key;
/* The reader role (mu held): whether a thread holds it, and its pipe. */
static int reader_active;
static int reader_wfd = -1;
static struct fr_fileid_fd reader_id;

void fr_tcp_wake(int wfd, const struct fr_fileid_fd *id)
{
    if (!fr_fileid_fd_is(wfd, id))
        return;   /* not ours any more: its owner re-checks on its own */
    /* EAGAIN: the pipe is full, so the owner will wake anyway. */
    ssize_t r = write(wfd, "", 1);
    (void)r;
}

static void tcp_pipe_close(struct tcp_pipe *p)
{
    if (p->gen == fr_fork_generation() && fr_fileid_fd_is(p->rfd, &p->id)) {
        close(p->rfd);
        if (fr_fileid_fd_is(p->wfd, &p->id))
            close(p->wfd);
    }
    p->rfd = p->wfd = -1;
}

static void tcp_pipe_destroy(void *v)
{
    struct tcp_pipe *p = v;
    tcp_pipe_close(p);
    free(p);
}

/* This thread's wake-up pipe, made on first need; NULL when none can be. */
struct tcp_pipe *fr_tcp_pipe_get(void)
{
    struct tcp_pipe *p = pthread_getspecific(pipe_key);
    if (p && p->gen == fr_fork_generation() && fr_fileid_fd_is(p->rfd, &p->id) &&
        fr_fileid_fd_is(p->wfd, &p->id))
        return p;
    if (!p) {
        p = calloc(1, sizeof *p);
        if (!p || pthread_setspecific(pipe_key, p) != 0) {
            free(p);
            return NULL;
        }
    } else if (p->gen == fr_fork_generation()) {
        /* The program closed or reused one end: forget both, close what
         * is still ours. */
        tcp_pipe_close(p);
    }
    int fds[2];
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
        p->rfd = p->wfd = -1;
        return NULL;
    }
    p->rfd = fds[0];
    p->wfd = fds[1];
    p->gen = fr_fork_generation();
    if (fr_fileid_fd_of(p->rfd, &p->id) != 0) {
        close(fds[0]);
        close(fds[1]);
        p->rfd = p->wfd = -1;
        return NULL;
    }
    return p;
}

int fr_tcp_wake_init(void)
{
    return pthread_key_create(&pipe_key, tcp_pipe_destroy) == 0 ? 0 : -1;
}

struct tcp_pipe *fr_tcp_pipe_mine(void)
{
    return pthread_getspecific(pipe_key);
}

void fr_tcp_wake_forked(void)
{
    reader_active = 0;
    reader_wfd = -1;
    struct tcp_pipe *p = pthread_getspecific(pipe_key);
    if (p) {
        if (fr_fileid_fd_is(p->rfd, &p->id))
            close(p->rfd);
        if (fr_fileid_fd_is(p->wfd, &p->id))
            close(p->wfd);
        p->rfd = p->wfd = -1;
    }
}

void fr_tcp_wake_exit(void)
{
    /* Key destructors do not run for the thread that calls exit. */
    struct tcp_pipe *p = pthread_getspecific(pipe_key);
    if (p)
        tcp_pipe_close(p);
}

int fr_tcp_reader_take(const struct tcp_pipe *me)
{
    if (reader_active)
        return 0;
    reader_active = 1;
    reader_wfd = me->wfd;
    reader_id = me->id;
    return 1;
}

void fr_tcp_reader_drop(void)
{
    reader_active = 0;
    reader_wfd = -1;
}

void fr_tcp_reader_kick(const struct tcp_pipe *me)
{
    if (reader_active && (!me || reader_wfd != me->wfd))
        fr_tcp_wake(reader_wfd, &reader_id);
}

/* Giving up the reader role: wake one other thread still waiting for a
 * reply, to take the role over. */
void fr_tcp_reader_hand_over(const struct tcp_pipe *me)
{
    for (unsigned i = 0; i < FR_TCP_MAX_CONNS; i++)
        for (struct fr_tcp_query *q = fr_tcp_conns[i].pending; q; q = q->next)
            if (q->owner_wfd != me->wfd) {
                fr_tcp_wake(q->owner_wfd, &q->owner_id);
                return;
            }
}
