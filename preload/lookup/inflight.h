/* fastres lookup layer: sharing a question in flight.
 *
 * Contract: when several threads ask the same question (name, type,
 * class) at once, one of them, the leader, asks the network and the
 * others, the followers, wait for its result instead of asking too. Owns
 * the table of questions in flight (FR_INFLIGHT_MAX), its lock and
 * condition variable, and their fork handler (FR_FORK_RANK_RESOLVE: a
 * child forgets the questions its parent's other threads were leading).
 * Called by lookup/ask.c only. Sharing is an optimisation, never a
 * requirement: when the table is full, or fork safety could not be
 * registered, a question simply is asked on its own. Waits are timed on
 * CLOCK_MONOTONIC, so a wall-clock step neither cuts one short nor
 * stretches it. Never starts a thread; never blocks but in
 * fr_inflight_wait. */
#ifndef FR_INFLIGHT_H
#define FR_INFLIGHT_H

#include <stdint.h>

#include "net/engine.h"

struct fr_inflight;

/* The question's slot: led (*lead set: this thread must ask and then
 * fr_inflight_publish), followed (*follow set: fr_inflight_wait), or
 * neither (both NULL: ask alone). Out-parameters are always written. */
void fr_inflight_join(const char *name, uint16_t qtype, uint16_t qclass, struct fr_inflight **lead,
                      struct fr_inflight **follow);

/* The leader's result q (its answer is copied; q is left as it is) for
 * the followers; the slot is freed once the last of them has read it. */
void fr_inflight_publish(struct fr_inflight *f, const struct fr_question *q);

/* Wait at most wait_ms for the leader of f. 1 when its result came: *out
 * holds status, fail_rcode and conn_refused, and for FR_OK a malloc'd
 * copy of the answer (answer NULL and status FR_NOMEM when the copy could
 * not be made). 0 when the wait ran out (*out untouched). Either way the
 * follower's hold on f ends. */
int fr_inflight_wait(struct fr_inflight *f, uint64_t wait_ms, struct fr_question *out);

/* Questions answered by another thread's question since start. */
uint64_t fr_inflight_shared(void);

#endif
