/* fastres network layer: random numbers (see rand.c).
 *
 * Owns the DNS message IDs (fr_rand_id, for transport.c, exchange_lane.c
 * and oneshot.c) and, through the link's --wrap=fopen, the random
 * file c-ares 1.18 reads. No state, no lock, no descriptor: safe from any
 * thread and across fork. */
#ifndef FR_RAND_H
#define FR_RAND_H

#include <stdint.h>
#include <stdlib.h>

/* A DNS message ID nobody can predict. */
uint16_t fr_rand_id(void);

#endif
