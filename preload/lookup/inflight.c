/* fastres lookup layer: sharing a question in flight (see inflight.h). */
#include "lookup/inflight.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/fork.h"
#include "lookup/ask.h"

/* Questions in flight at once across the process; more simply race on
 * their own (sharing is an optimisation, never a requirement). */
#define FR_INFLIGHT_MAX 64

struct fr_inflight {
    int used;
    char name[FR_ASK_NAME_MAX];
    uint16_t qtype, qclass;
    int done;
    unsigned waiters;
    struct fr_question result;   /* status, answer (owned here), fail info */
};

static pthread_mutex_t inflight_lock = PTHREAD_MUTEX_INITIALIZER;
/* Waits on it are timed on CLOCK_MONOTONIC (inflight_cond_init): a
 * wall-clock step must not cut a wait short or stretch it. */
static pthread_cond_t inflight_cond = PTHREAD_COND_INITIALIZER;
static struct fr_inflight inflight[FR_INFLIGHT_MAX];
static pthread_once_t inflight_once = PTHREAD_ONCE_INIT;
/* 0 when the fork handlers could not be registered: every question then
 * races on its own. */
static int inflight_ok;
static _Atomic uint64_t inflight_n_shared;

static void inflight_cond_init(void)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&inflight_cond, &a);
    pthread_condattr_destroy(&a);
}

static void inflight_child(void)
{
    /* The leaders of questions in flight are threads the child does not
     * have: forget those questions (their replies are never coming). */
    for (unsigned i = 0; i < FR_INFLIGHT_MAX; i++) {
        if (inflight[i].used)
            free(inflight[i].result.answer);
        memset(&inflight[i], 0, sizeof inflight[i]);
    }
    inflight_cond_init();
}

static const struct fr_fork_handlers inflight_fork = {
    /* fork.c holds inflight_lock across fork, re-initialised after this. */
    .name = "resolve", .rank = FR_FORK_RANK_RESOLVE, .child = inflight_child,
    .lock = &inflight_lock,
};

static void inflight_init(void)
{
    inflight_cond_init();
    inflight_ok = fr_fork_register(&inflight_fork) == 0;
}

static struct fr_inflight *inflight_find(const char *name, uint16_t qtype, uint16_t qclass)
{
    for (unsigned i = 0; i < FR_INFLIGHT_MAX; i++) {
        struct fr_inflight *f = &inflight[i];
        if (f->used && f->qtype == qtype && f->qclass == qclass && !strcasecmp(f->name, name))
            return f;
    }
    return NULL;
}

static void inflight_release(struct fr_inflight *f)
{
    /* inflight_lock held */
    if (f->done && f->waiters == 0) {
        free(f->result.answer);
        memset(f, 0, sizeof *f);
    }
}

void fr_inflight_join(const char *name, uint16_t qtype, uint16_t qclass, struct fr_inflight **lead,
                      struct fr_inflight **follow)
{
    *lead = *follow = NULL;
    pthread_once(&inflight_once, inflight_init);
    if (!inflight_ok)
        return;
    pthread_mutex_lock(&inflight_lock);
    struct fr_inflight *f = inflight_find(name, qtype, qclass);
    if (f && !f->done) {
        f->waiters++;
        *follow = f;
    } else {
        for (unsigned k = 0; k < FR_INFLIGHT_MAX && !f; k++)
            if (!inflight[k].used)
                f = &inflight[k];
        if (f && !f->used) {
            memset(f, 0, sizeof *f);
            f->used = 1;
            snprintf(f->name, sizeof f->name, "%s", name);
            f->qtype = qtype;
            f->qclass = qclass;
            *lead = f;
        }
    }
    pthread_mutex_unlock(&inflight_lock);
}

void fr_inflight_publish(struct fr_inflight *f, const struct fr_question *q)
{
    pthread_mutex_lock(&inflight_lock);
    f->result = *q;
    f->result.answer = NULL;
    if (q->status == FR_OK) {
        f->result.answer = malloc(q->answer_len);
        if (f->result.answer)
            memcpy(f->result.answer, q->answer, q->answer_len);
        else
            f->result.status = FR_AGAIN;
    }
    f->done = 1;
    inflight_release(f);
    pthread_cond_broadcast(&inflight_cond);
    pthread_mutex_unlock(&inflight_lock);
}

int fr_inflight_wait(struct fr_inflight *f, uint64_t wait_ms, struct fr_question *out)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)(wait_ms / 1000);
    until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    int got = 0;
    pthread_mutex_lock(&inflight_lock);
    int rc = 0;
    while (!f->done && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&inflight_cond, &inflight_lock, &until);
    if (f->done) {
        out->status = f->result.status;
        out->fail_rcode = f->result.fail_rcode;
        out->conn_refused = f->result.conn_refused;
        out->answer = NULL;
        out->answer_len = 0;
        if (f->result.status == FR_OK) {
            out->answer = malloc(f->result.answer_len);
            if (out->answer) {
                memcpy(out->answer, f->result.answer, f->result.answer_len);
                out->answer_len = f->result.answer_len;
            } else {
                out->status = FR_NOMEM;
            }
        }
        atomic_fetch_add(&inflight_n_shared, 1);
        got = 1;
    }
    f->waiters--;
    inflight_release(f);
    pthread_mutex_unlock(&inflight_lock);
    return got;
}

uint64_t fr_inflight_shared(void)
{
    return atomic_load(&inflight_n_shared);
}
