/* fastres network layer: the scheduler (see plan.h). */
#include "net/plan.h"

#include <string.h>

/* RFC 6298 2.3: RTO = SRTT + K * RTTVAR with K = 4. */
#define PLAN_RTTVAR_K 4

enum rank_class { CLASS_GOOD = 0, CLASS_UNKNOWN = 1, CLASS_FAILING = 2 };

static uint32_t plan_clamp32(uint64_t v, uint32_t lo, uint32_t hi)
{
    if (v < lo)
        return lo;
    return v > hi ? hi : (uint32_t)v;
}

/* The RTO the plan gives server view s (see plan.h). */
static uint32_t plan_rto(const struct fr_server_view *s, const struct fr_plan_params *p)
{
    if (p->race || !s->samples)
        return p->resend_us;
    uint32_t hi = p->resend_max_us > p->hedge_min_us ? p->resend_max_us : p->hedge_min_us;
    return plan_clamp32((uint64_t)s->srtt_us + PLAN_RTTVAR_K * (uint64_t)s->rttvar_us, p->hedge_min_us, hi);
}

/* What servers are ranked by: the unclamped RTO, so that servers below
 * the floor still rank by speed. */
static uint64_t plan_rank_rto(const struct fr_server_view *s)
{
    return (uint64_t)s->srtt_us + PLAN_RTTVAR_K * (uint64_t)s->rttvar_us;
}

static enum rank_class plan_class_of(const struct fr_server_view *s)
{
    if (s->fails)
        return CLASS_FAILING;
    return s->samples ? CLASS_GOOD : CLASS_UNKNOWN;
}

/* 1 when server a is to be asked before server b (a < b in configuration
 * order, which breaks ties). */
static int plan_before(const struct fr_server_view *v, unsigned a, unsigned b)
{
    enum rank_class ca = plan_class_of(&v[a]), cb = plan_class_of(&v[b]);
    if (ca != cb)
        return ca < cb;
    switch (ca) {
    case CLASS_GOOD:
        return plan_rank_rto(&v[a]) <= plan_rank_rto(&v[b]);
    case CLASS_UNKNOWN:
        return 1;
    case CLASS_FAILING:
        if (v[a].fails != v[b].fails)
            return v[a].fails < v[b].fails;
        return plan_rank_rto(&v[a]) <= plan_rank_rto(&v[b]);
    }
    return 1;
}

void fr_plan_make(const struct fr_server_view *v, unsigned n, const struct fr_plan_params *p,
                  struct fr_plan *out)
{
    unsigned order[FR_MAX_SERVERS];
    int any_good = 0;
    if (n > FR_MAX_SERVERS)
        n = FR_MAX_SERVERS;
    memset(out, 0, sizeof *out);
    out->n = n;

    /* Insertion sort, stable: n is at most FR_MAX_SERVERS. */
    for (unsigned i = 0; i < n; i++) {
        unsigned k = i;
        while (k > 0 && !plan_before(v, order[k - 1], i)) {
            order[k] = order[k - 1];
            k--;
        }
        order[k] = i;
        any_good |= plan_class_of(&v[i]) == CLASS_GOOD;
    }

    out->cold = p->race || !any_good;
    if (!out->cold)
        out->hedge_us = plan_clamp32(plan_rto(&v[order[0]], p), p->hedge_min_us, p->hedge_max_us);

    uint64_t t = 0;
    for (unsigned k = 0; k < n; k++) {
        struct fr_plan_step *s = &out->step[k];
        s->server = order[k];
        s->rto_us = plan_rto(&v[order[k]], p);
        if (out->cold) {
            s->start_us = 0;
            continue;
        }
        if (k > 0)
            t += out->hedge_us;
        s->start_us = t;
        if (k > 0 && v[order[k]].probe_due) {
            s->start_us = 0;
            s->probe = 1;
        }
    }
}
