/* fastres: monotonic clock with a test override. */
#include "base/clock.h"
#include "base/clock_test.h"

#include <stdatomic.h>
#include <time.h>

/* 0 means "use the real clock"; a relaxed atomic is enough because tests
 * set it from one thread before resolving. */
static _Atomic uint64_t fake_ms;

/* clock_gettime(id) in units of 1/per_s seconds (1000: ms, 1000000: us). */
static uint64_t clock_read(clockid_t id, uint64_t per_s)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * per_s + (uint64_t)ts.tv_nsec / (1000000000u / per_s);
}

uint64_t fr_clock_mono_ms(void)
{
    return clock_read(CLOCK_MONOTONIC, 1000u);
}

uint64_t fr_clock_mono_us(void)
{
    return clock_read(CLOCK_MONOTONIC, 1000000u);
}

uint64_t fr_clock_now_ms(void)
{
    uint64_t f = atomic_load_explicit(&fake_ms, memory_order_relaxed);
    return f ? f : clock_read(CLOCK_MONOTONIC, 1000u);
}

uint64_t fr_clock_real_ms(void)
{
    uint64_t f = atomic_load_explicit(&fake_ms, memory_order_relaxed);
    return f ? f : clock_read(CLOCK_REALTIME, 1000u);
}

void fr_clock_set_fake(uint64_t ms)
{
    atomic_store_explicit(&fake_ms, ms, memory_order_relaxed);
}

void fr_clock_advance(uint64_t ms)
{
    atomic_fetch_add_explicit(&fake_ms, ms, memory_order_relaxed);
}
