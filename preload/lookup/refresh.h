/* fastres: refreshing hot cache entries without making anyone wait.
 *
 * Contract: owns the pending refreshes (at most FR_REFRESH_MAX, each
 * given up after FR_REFRESH_LIFETIME_MS), their lock and fork handler,
 * and stores what comes back into the cache. Called by lookup/ask.c
 * (start on a FR_CACHE_REFRESH hit, reap on every call) and
 * lookup/resolve.c (counts for FASTRES_STATS). Any thread; a fork.h
 * handler (FR_FORK_RANK_REFRESH) keeps its lock usable in a child, which
 * drops the parent's refreshes. Never waits (try-lock, non-blocking
 * sockets), never starts a thread, never closes a descriptor that is no
 * longer its own. The datagrams are net/oneshot.c's (one question to
 * every server, once, collected later without blocking): one datagram per
 * server and no retry is all a refresh needs, not the engine's racing.
 *
 * When a cache hit falls in the last part of an entry's life, the caller
 * is answered from the cache at once and the question is sent to every
 * server from a fresh non-blocking UDP socket (fr_refresh_start). Nobody
 * waits for the reply: the next fastres call in any thread of the process
 * collects it without blocking (fr_refresh_reap) and stores it, so a name
 * in use is renewed before it expires and never costs a caller a round
 * trip.
 *
 * No thread is started for this, and no signal handler installed. The
 * price is up to two descriptors (one per address family) per pending
 * refresh, at most 2 x FR_REFRESH_MAX, that outlive the call that opened
 * them, and only for names in use. Without a thread nothing can run
 * between two calls into fastres, so nothing can close them at a set
 * time; what bounds their life is:
 *   - the first call into fastres (any interposed function, in any thread,
 *     fr_resolve_reap) made once the reply has come in or
 *     FR_REFRESH_LIFETIME_MS have passed;
 *   - exit (a destructor closes whatever is still pending);
 *   - exec (they are close-on-exec) and fork (a child drops the copies it
 *     inherits, in its fork handler).
 * So a program that makes one refreshing lookup and then no other fastres
 * call keeps the socket(s) until it exits or execs: FR_REFRESH_LIFETIME_MS
 * is when a refresh is given up, not a bound on the descriptor's life. A
 * thread or a timer signal could give a hard bound, but starting either
 * behind the program's back is what this library must never do; keeping
 * the sockets until the next call is the lesser cost (issue 9, defect 5).
 * Before touching a socket fastres checks that the descriptor is still
 * the socket it opened (device and inode): a program that closes every
 * descriptor, or reuses the number, loses the refresh, never its own
 * file. */
#ifndef FR_REFRESH_H
#define FR_REFRESH_H

#include <stdint.h>

#include "lookup/cache.h"
#include "base/config.h"

/* Refreshes pending at once in a process; more are skipped (the cache
 * offers the entry for refresh again later). */
#define FR_REFRESH_MAX 8
/* A refresh whose reply has not come in this time is abandoned; its
 * sockets are closed by the next call into fastres (see above). Two
 * seconds: a refresh goes to every server at once, and a healthy one
 * answers in well under a second. */
#define FR_REFRESH_LIFETIME_MS 2000

void fr_refresh_start(const struct fr_config *cfg, const char *name, uint16_t qtype, uint16_t qclass);
/* Store replies that have arrived for pending refreshes into c; returns at
 * once when none is pending or another thread is reaping. */
void fr_refresh_reap(struct fr_cache *c);
/* Refreshes sent and completed since start (statistics and tests). */
void fr_refresh_counts(uint64_t *sent, uint64_t *stored);

#endif
