/* fastres: the one place time is read.
 *
 * Contract: every module reads time here. Everything that ages (cache
 * entries, config and hosts re-read checks) reads fr_clock_now_ms() so
 * tests can move time without sleeping (clock_test.h); network schedules
 * read the never-faked fr_clock_mono_*. Stateless but for the test's fake
 * time; thread- and fork-safe; never sleeps. */
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

#endif
