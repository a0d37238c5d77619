/* fastres: refreshing hot cache entries without making anyone wait.
 *
 * When a cache hit falls in the last part of an entry's life, the caller
 * is answered from the cache at once and the question is sent to every
 * server from a fresh non-blocking UDP socket (fr_refresh_start). Nobody
 * waits for the reply: the next fastres call in any thread of the process
 * collects it without blocking (fr_refresh_reap) and stores it, so a name
 * in use is renewed before it expires and never costs a caller a round
 * trip.
 *
 * No thread is started for this. The price is a descriptor that outlives
 * the call that opened it, for at most FR_REFRESH_LIFETIME_MS, and only
 * for a name in use. Such sockets are close-on-exec, and before touching
 * one fastres checks that the descriptor is still the socket it opened
 * (device and inode): a program that closes every descriptor, or reuses
 * the number, loses the refresh, never its own file. A forked child drops
 * the refreshes it inherited. */
#ifndef FR_REFRESH_H
#define FR_REFRESH_H

#include <stdint.h>

#include "cache.h"
#include "config.h"

/* Refreshes pending at once in a process; more are skipped (the cache
 * offers the entry for refresh again later). */
#define FR_REFRESH_MAX 8
/* A refresh whose reply has not come in this time is abandoned and its
 * sockets closed. */
#define FR_REFRESH_LIFETIME_MS 2000

void fr_refresh_start(const struct fr_config *cfg, const char *name, uint16_t qtype, uint16_t qclass);
/* Store replies that have arrived for pending refreshes into c; returns at
 * once when none is pending or another thread is reaping. */
void fr_refresh_reap(struct fr_cache *c);
/* Refreshes sent and completed since start (statistics and tests). */
void fr_refresh_counts(uint64_t *sent, uint64_t *stored);

#endif
