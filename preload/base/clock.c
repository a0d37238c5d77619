/* fastres: monotonic clock with a test override. */
#include "base/clock.h"

#include <stdatomic.h>
#include <time.h>

/* 0 means "use the real clock"; a relaxed atomic is enough because tests
 * set it from one thread before resolving. */
static _Atomic uint64_t fake_ms;

uint64_t fr_clock_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t fr_clock_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t fr_clock_now_ms(void)
{
    uint64_t f = atomic_load_explicit(&fake_ms, memory_order_relaxed);
    if (f)
        return f;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t fr_clock_real_ms(void)
{
    uint64_t f = atomic_load_explicit(&fake_ms, memory_order_relaxed);
    if (f)
        return f;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void fr_clock_set_fake(uint64_t ms)
{
    atomic_store_explicit(&fake_ms, ms, memory_order_relaxed);
}

void fr_clock_advance(uint64_t ms)
{
    atomic_fetch_add_explicit(&fake_ms, ms, memory_order_relaxed);
}
