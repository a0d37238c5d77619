/* fastres: the one fork mechanism (see fork.h). */
#include "base/fork.h"

#include <pthread.h>
#include <stdatomic.h>

#include "base/log.h"

/* Modules with fork handlers: today about half a dozen; room to grow. */
#define FORK_MAX_HANDLERS 16

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
/* Sorted by rank; read by the handlers below without reg_lock (fork runs
 * them in one thread, and the table only grows, under reg_lock, which
 * prepare takes first). */
static const struct fr_fork_handlers *table[FORK_MAX_HANDLERS];
static unsigned ntable;
static int atfork_err;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static atomic_uint generation;

static void fork_run_prepare(void)
{
    /* Held across fork so no registration changes the table meanwhile. */
    pthread_mutex_lock(&reg_lock);
    for (unsigned i = 0; i < ntable; i++) {
        if (table[i]->lock)
            pthread_mutex_lock(table[i]->lock);
        if (table[i]->prepare)
            table[i]->prepare();
    }
}

static void fork_run_parent(void)
{
    for (unsigned i = ntable; i-- > 0;) {
        if (table[i]->parent)
            table[i]->parent();
        if (table[i]->lock)
            pthread_mutex_unlock(table[i]->lock);
    }
    pthread_mutex_unlock(&reg_lock);
}

static void fork_run_child(void)
{
    atomic_fetch_add(&generation, 1);
    for (unsigned i = ntable; i-- > 0;) {
        if (table[i]->child)
            table[i]->child();
        if (table[i]->lock)
            pthread_mutex_init(table[i]->lock, NULL);
    }
    /* Only this thread exists in the child: re-initialising the lock is
     * the one safe way to free it. */
    pthread_mutex_init(&reg_lock, NULL);
}

static void fork_atfork_init(void)
{
    atfork_err = pthread_atfork(fork_run_prepare, fork_run_parent, fork_run_child);
}

int fr_fork_register(const struct fr_fork_handlers *h)
{
    int ret = -1;
    pthread_once(&atfork_once, fork_atfork_init);
    pthread_mutex_lock(&reg_lock);
    if (atfork_err || ntable == FORK_MAX_HANDLERS)
        goto done;
    for (unsigned i = 0; i < ntable; i++)
        if (table[i] == h) {
            ret = 0;
            goto done;
        }
    unsigned pos = ntable;
    while (pos > 0 && table[pos - 1]->rank > h->rank) {
        table[pos] = table[pos - 1];
        pos--;
    }
    table[pos] = h;
    ntable++;
    ret = 0;
done:
    pthread_mutex_unlock(&reg_lock);
    if (ret)
        fr_log(FR_LOG_ERROR, "fork", "cannot register fork handlers for %s", h->name);
    return ret;
}

unsigned fr_fork_generation(void)
{
    return atomic_load(&generation);
}
