/* fastres network layer: the scheduler. Pure: no I/O, no clock, no lock.
 *
 * From a snapshot of the server table (table.h) it makes one question's
 * plan: for each server, when it is first asked (an offset from the
 * question's start) and its re-send time (RTO), which then doubles.
 *
 * Hedge mode (the default):
 * - Servers are ranked: answering servers by srtt + 4 rttvar, then
 *   servers never measured (in configuration order), then failing servers
 *   by their failure count and RTO. A server that failed is never asked
 *   first while another is known good.
 * - The best server is asked at once; each next one joins one hedge delay
 *   H after the one before it, H = the best server's RTO clamped to
 *   [hedge_min, hedge_max]. An unusable reply (SERVFAIL, REFUSED, ...) or
 *   an unreachable server makes the exchange start the next one at once.
 * - A failing server that is due a probe (table.h) is asked at once too,
 *   alongside the best: its answer is what shows it has recovered.
 * - No doubt allowed: when no server is both measured and answering (a new
 *   process, or every server failing), every server is asked at once, as
 *   in race mode.
 * Race mode: every server at once, every re-send at `resend`, doubling,
 *   as fastres did before it kept a table.
 *
 * RTOs: a measured server's is srtt + 4 rttvar clamped to [hedge_min,
 * resend_max]; an unmeasured server's is `resend` (FASTRES_RESEND_MS). */
#ifndef FR_NET_PLAN_H
#define FR_NET_PLAN_H

#include <stdint.h>

#include "base/config.h"
#include "net/table.h"

struct fr_plan_params {
    int race;                  /* FASTRES_MODE=race */
    uint32_t hedge_min_us, hedge_max_us;
    uint32_t resend_us, resend_max_us;
};

struct fr_plan_step {
    unsigned server;           /* index in the configuration */
    uint64_t start_us;         /* offset from the question's start */
    uint32_t rto_us;           /* first re-send after start_us + rto_us */
    int probe;                 /* asked early as a recovery probe */
};

struct fr_plan {
    unsigned n;                /* every server, in the order they are asked */
    struct fr_plan_step step[FR_MAX_SERVERS];
    uint32_t hedge_us;         /* H; 0 when every server starts at once */
    int cold;                  /* raced for want of knowledge (or race mode) */
};

/* Plan for servers v[0..n) (n >= 1, n <= FR_MAX_SERVERS). */
void fr_plan_make(const struct fr_server_view *v, unsigned n, const struct fr_plan_params *p,
                  struct fr_plan *out);

#endif
