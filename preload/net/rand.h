/* fastres: random numbers (see rand.c). */
#ifndef FR_RAND_H
#define FR_RAND_H

#include <stdint.h>
#include <stdlib.h>

/* A DNS message ID nobody can predict. */
uint16_t fr_rand_id(void);

#endif
