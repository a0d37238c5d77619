/* fastres: the one fork mechanism.
 *
 * Every module that owns a lock or a descriptor registers its handlers
 * here (from its own pthread_once initialiser, before it first takes the
 * lock); this module makes the library's only pthread_atfork call.
 *
 * Order: prepare handlers run in ascending `rank`, parent and child
 * handlers in descending rank, so locks are taken in one global order
 * and released in the reverse one. A module whose lock may be taken while
 * another module's lock is held must have the higher rank (the layers
 * below have higher ranks than the layers above them). */
#ifndef FR_FORK_H
#define FR_FORK_H

#include <pthread.h>

/* Ranks, outermost first: a lock of a lower rank may be held while a lock
 * of a higher rank is taken, never the reverse. */
enum fr_fork_rank {
    FR_FORK_RANK_RESOLVE = 10,   /* lookup layer: in-flight sharing */
    FR_FORK_RANK_REFRESH = 20,   /* refresh sockets */
    FR_FORK_RANK_CACHE = 30,     /* cache shards */
    FR_FORK_RANK_NET = 40,       /* network layer: server table, channel pool */
    FR_FORK_RANK_HOSTS = 50,     /* hosts file snapshots */
    FR_FORK_RANK_CONFIG = 60,    /* configuration snapshots */
};

struct fr_fork_handlers {
    const char *name;           /* for the log line when registration fails */
    int rank;
    void (*prepare)(void);      /* take the module's locks; may be NULL */
    void (*parent)(void);       /* release them; may be NULL */
    void (*child)(void);        /* release or re-initialise; drop what belongs
                                   to the parent's other threads; may be NULL */
    /* The module's main mutex, held across fork; may be NULL. Taken before
     * prepare, released after parent; in the child re-initialised after
     * child (the child's only thread is the one that forked and holds it:
     * re-initialising is the safe release). Most modules need only this. */
    pthread_mutex_t *lock;
};

/* Keep h (static storage, never freed). Returns 0, or -1 when the table is
 * full or pthread_atfork failed: the module must then treat fork as
 * unsafe for its state (one log line is written). */
int fr_fork_register(const struct fr_fork_handlers *h);

/* Bumped in every forked child (before the child handlers run): a module
 * that keeps per-process state can compare it instead of calling getpid. */
unsigned fr_fork_generation(void);

#endif
