/* Test seams: only test/ includes this (and the module itself, so the
 * prototypes are checked).
 *
 * fastres clock: a fake time for fr_clock_now_ms and fr_clock_real_ms,
 * so tests move time without sleeping (the network clocks,
 * fr_clock_mono_*, are never faked). */
#ifndef FR_CLOCK_TEST_H
#define FR_CLOCK_TEST_H
#include <stdint.h>

/* Freeze time at ms (0 returns to the real clock). */
void fr_clock_set_fake(uint64_t ms);
/* Move the fake clock forward. */
void fr_clock_advance(uint64_t ms);

#endif
