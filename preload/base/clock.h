/* fastres: the one place time is read.
 *
 * Everything that ages (cache entries, config re-read checks) reads time
 * through fr_clock_now_ms() so tests can move time without sleeping. */
#ifndef FR_CLOCK_H
#define FR_CLOCK_H
#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC, or the fake time when one is set. */
uint64_t fr_clock_now_ms(void);
/* Milliseconds on CLOCK_MONOTONIC, never faked: for network schedules
 * (re-sends, deadlines), which must follow real time even in tests that
 * move the cache's clock. */
uint64_t fr_clock_mono_ms(void);
/* The same clock in microseconds: round trips on loopback are a tenth of
 * a millisecond, too short to measure in ms. */
uint64_t fr_clock_mono_us(void);
/* Milliseconds on CLOCK_REALTIME, or the fake time when one is set: for
 * times shared between processes (shcache.c), which must mean the same in
 * every process, even across time namespaces. */
uint64_t fr_clock_real_ms(void);
/* Tests only: freeze time at ms (0 returns to the real clock). */
void fr_clock_set_fake(uint64_t ms);
/* Tests only: move the fake clock forward. */
void fr_clock_advance(uint64_t ms);

#endif
