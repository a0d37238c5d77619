/* fastres: tests for the scheduler (preload/net/plan.c) and the server
 * table it reads (preload/net/table.c).
 *
 * No network and no sleeping: events are fed to the table with made-up
 * times (microseconds) and the plans made from its snapshots are checked.
 * Each Criterion test runs in its own process, so each starts with an
 * empty table. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <string.h>

#include "base/config.h"
#include "base/config_test.h"
#include "net/plan.h"
#include "net/table.h"
#include "net/table_test.h"

#define MS 1000ull
#define S (1000ull * MS)
/* Start of the made-up clock: far from 0, as CLOCK_MONOTONIC is. */
#define T0 (1000ull * S)

static struct fr_config *cfg;

static void setup(void)
{
    cfg = fr_config_parse("nameserver 127.0.0.3\nnameserver 127.0.0.4\nnameserver 127.0.0.5\n",
                          "hosts: files dns\n", NULL);
    cr_assert_not_null(cfg);
    cr_assert_eq(cfg->nservers, 3);
    fr_table_reset();
}

static void teardown(void)
{
    fr_config_free(cfg);
}

TestSuite(plan, .init = setup, .fini = teardown);

/* The defaults from config_parse.c, in microseconds. */
static struct fr_plan_params params(void)
{
    struct fr_plan_params p = {
        .race = cfg->race,
        .hedge_min_us = cfg->hedge_min_ms * 1000u,
        .hedge_max_us = cfg->hedge_max_ms * 1000u,
        .resend_us = cfg->resend_ms * 1000u,
        .resend_max_us = cfg->resend_max_ms * 1000u,
    };
    return p;
}

static unsigned gen;

static void plan_at(uint64_t now, struct fr_plan *pl)
{
    struct fr_server_view v[FR_MAX_SERVERS];
    struct fr_plan_params p = params();
    gen = fr_table_snapshot(cfg, now, v);
    fr_plan_make(v, cfg->nservers, &p, pl);
}

static void answer(unsigned server, uint64_t rtt_us, uint64_t now)
{
    fr_table_record(gen, server, FR_TABLE_SENT, 0, now - rtt_us);
    fr_table_record(gen, server, FR_TABLE_ANSWER, (uint32_t)rtt_us, now);
}

static void event(unsigned server, enum fr_table_event ev, uint64_t now)
{
    fr_table_record(gen, server, ev, 0, now);
}

/* Offset at which server s is first asked in pl. */
static uint64_t start_of(const struct fr_plan *pl, unsigned s)
{
    for (unsigned k = 0; k < pl->n; k++)
        if (pl->step[k].server == s)
            return pl->step[k].start_us;
    cr_assert_fail("server %u not in the plan", s);
    return 0;
}

static const struct fr_plan_step *step_of(const struct fr_plan *pl, unsigned s)
{
    for (unsigned k = 0; k < pl->n; k++)
        if (pl->step[k].server == s)
            return &pl->step[k];
    cr_assert_fail("server %u not in the plan", s);
    return NULL;
}

/* ---- cold start ---- */

Test(plan, cold_table_races_every_server)
{
    struct fr_plan pl;
    plan_at(T0, &pl);
    cr_expect(pl.cold);
    cr_assert_eq(pl.n, 3);
    for (unsigned k = 0; k < 3; k++) {
        cr_expect_eq(pl.step[k].server, k, "configuration order");
        cr_expect_eq(pl.step[k].start_us, 0);
        cr_expect_eq(pl.step[k].rto_us, cfg->resend_ms * MS, "unknown server: FASTRES_RESEND_MS");
    }
}

Test(plan, race_mode_races_even_when_warm)
{
    cfg->race = 1;
    struct fr_plan pl;
    plan_at(T0, &pl);
    answer(1, 300, T0 + 300);
    plan_at(T0 + 1 * MS, &pl);
    cr_expect(pl.cold);
    for (unsigned k = 0; k < 3; k++) {
        cr_expect_eq(pl.step[k].start_us, 0);
        cr_expect_eq(pl.step[k].rto_us, cfg->resend_ms * MS);
    }
}

/* ---- a silent first server ---- */

/* After one cold question answered by the second server, the second is
 * asked first and the silent (never measured) first one only as a hedge. */
Test(plan, one_answer_ends_the_race)
{
    struct fr_plan pl;
    plan_at(T0, &pl);
    answer(1, 400, T0 + 400);
    plan_at(T0 + 1 * MS, &pl);
    cr_expect_not(pl.cold);
    cr_expect_eq(pl.step[0].server, 1);
    cr_expect_eq(pl.step[0].start_us, 0);
    cr_expect_eq(pl.hedge_us, cfg->hedge_min_ms * MS, "a 0.4 ms server hedges at the floor");
    cr_expect_eq(start_of(&pl, 0), pl.hedge_us, "unknown servers follow in configuration order");
    cr_expect_eq(start_of(&pl, 2), 2 * pl.hedge_us);
}

Test(plan, silent_server_goes_last)
{
    struct fr_plan pl;
    plan_at(T0, &pl);
    answer(1, 400, T0 + 400);
    answer(2, 500, T0 + 500);
    event(0, FR_TABLE_TIMEOUT, T0 + 200 * MS);
    plan_at(T0 + 300 * MS, &pl);
    cr_expect_eq(pl.step[0].server, 1);
    cr_expect_eq(pl.step[1].server, 2);
    cr_expect_eq(pl.step[2].server, 0, "the server that timed out is asked last");
    cr_expect_eq(pl.step[2].probe, 0, "no probe before FR_TABLE_PROBE_US");
}

/* Every server failing: no knowledge to trust, race them all. */
Test(plan, all_failing_races)
{
    struct fr_plan pl;
    plan_at(T0, &pl);
    for (unsigned s = 0; s < 3; s++) {
        answer(s, 400, T0 + 400);
        event(s, FR_TABLE_TIMEOUT, T0 + 10 * MS);
    }
    plan_at(T0 + 20 * MS, &pl);
    cr_expect(pl.cold);
    for (unsigned k = 0; k < 3; k++)
        cr_expect_eq(pl.step[k].start_us, 0);
}

/* ---- ranking ---- */

struct rank_case {
    uint32_t rtt_us[3];       /* 0: never answered */
    unsigned fails[3];        /* timeouts recorded after the answers */
    unsigned order[3];        /* expected plan order */
};

static struct rank_case rank_cases[] = {
    /* fastest first */
    { { 900, 300, 600 }, { 0, 0, 0 }, { 1, 2, 0 } },
    /* a slow (+200 ms) first server goes behind the fast ones */
    { { 200000, 400, 500 }, { 0, 0, 0 }, { 1, 2, 0 } },
    /* the fastest, once failing, behind every answering one */
    { { 100, 300, 600 }, { 1, 0, 0 }, { 1, 2, 0 } },
    /* unknown before failing, answering before unknown */
    { { 0, 300, 100 }, { 0, 0, 3 }, { 1, 0, 2 } },
    /* among failing servers, fewer failures first */
    { { 100, 200, 300 }, { 3, 1, 0 }, { 2, 1, 0 } },
    /* ties keep configuration order */
    { { 400, 400, 400 }, { 0, 0, 0 }, { 0, 1, 2 } },
};

ParameterizedTestParameters(plan, ranking)
{
    return cr_make_param_array(struct rank_case, rank_cases, sizeof rank_cases / sizeof rank_cases[0]);
}

ParameterizedTest(struct rank_case *rc, plan, ranking)
{
    struct fr_plan pl;
    plan_at(T0, &pl);
    for (unsigned s = 0; s < 3; s++)
        if (rc->rtt_us[s])
            answer(s, rc->rtt_us[s], T0 + rc->rtt_us[s]);
    for (unsigned s = 0; s < 3; s++)
        for (unsigned f = 0; f < rc->fails[s]; f++)
            event(s, FR_TABLE_TIMEOUT, T0 + 300 * MS);
    plan_at(T0 + 400 * MS, &pl);
    for (unsigned k = 0; k < 3; k++)
        cr_expect_eq(pl.step[k].server, rc->order[k], "position %u: server %u, expected %u", k,
                     pl.step[k].server, rc->order[k]);
}

/* ---- loss and recovery ---- */

/* One lost datagram demotes the best server; its next answer restores it. */
Test(plan, loss_then_answer)
{
    struct fr_plan pl;
    plan_at(T0, &pl);
    answer(0, 200, T0 + 200);
    answer(1, 400, T0 + 400);
    plan_at(T0 + 1 * MS, &pl);
    cr_expect_eq(pl.step[0].server, 0);
    event(0, FR_TABLE_TIMEOUT, T0 + 6 * MS);
    plan_at(T0 + 7 * MS, &pl);
    cr_expect_eq(pl.step[0].server, 1, "the server that lost a datagram is not first");
    answer(0, 200, T0 + 8 * MS);
    plan_at(T0 + 9 * MS, &pl);
    cr_expect_eq(pl.step[0].server, 0, "an answer clears the failure");
}

/* A flapping server (fails, answers, fails...) is never first while its
 * last outcome is a failure, and the steady one keeps the lead then. */
Test(plan, flapping_server)
{
    struct fr_plan pl;
    plan_at(T0, &pl);
    answer(1, 10 * MS, T0 + 10 * MS);
    uint64_t t = T0 + 20 * MS;
    for (int i = 0; i < 10; i++, t += 10 * MS) {
        answer(0, 100, t);
        plan_at(t + 1, &pl);
        cr_expect_eq(pl.step[0].server, 0, "round %d: answering and fastest", i);
        event(0, FR_TABLE_TIMEOUT, t + 5 * MS);
        plan_at(t + 5 * MS + 1, &pl);
        cr_expect_eq(pl.step[0].server, 1, "round %d: the flapping server just failed", i);
    }
}

/* A failed server is offered one probe per FR_TABLE_PROBE_US, claimed by
 * whoever takes the snapshot, and its probe starts at once. */
Test(plan, recovery_probes)
{
    struct fr_plan pl;
    plan_at(T0, &pl);
    answer(1, 400, T0 + 400);
    event(0, FR_TABLE_SERVFAIL, T0 + 500);
    plan_at(T0 + 1 * MS, &pl);
    cr_expect_eq(step_of(&pl, 0)->probe, 0, "no probe right after the failure");

    uint64_t due = T0 + 500 + FR_TABLE_PROBE_US;
    plan_at(due, &pl);
    const struct fr_plan_step *s0 = step_of(&pl, 0);
    cr_expect_eq(s0->probe, 1, "probe due");
    cr_expect_eq(s0->start_us, 0, "a probe goes out at once");
    cr_expect_eq(pl.step[0].server, 1, "the probe does not displace the best server");

    plan_at(due + 1, &pl);
    cr_expect_eq(step_of(&pl, 0)->probe, 0, "the probe was claimed by the snapshot before");
    plan_at(due + FR_TABLE_PROBE_US - 1, &pl);
    cr_expect_eq(step_of(&pl, 0)->probe, 0, "at most one probe per interval");
    plan_at(due + FR_TABLE_PROBE_US, &pl);
    cr_expect_eq(step_of(&pl, 0)->probe, 1, "the next interval's probe");

    /* The probe is answered: the server is good again and fastest. */
    answer(0, 100, due + FR_TABLE_PROBE_US + 100);
    plan_at(due + FR_TABLE_PROBE_US + 200, &pl);
    cr_expect_eq(pl.step[0].server, 0);
    cr_expect_eq(pl.step[0].probe, 0);
}

/* ---- RTT, variance, floor and cap ---- */

/* Steady 20 ms answers: srtt 20 ms, rttvar shrinks; RTO = srtt + 4 rttvar. */
Test(plan, steady_rtt_converges)
{
    struct fr_plan pl;
    plan_at(T0, &pl);
    uint64_t t = T0;
    for (int i = 0; i < 60; i++, t += 100 * MS)
        answer(0, 20 * MS, t);
    plan_at(t, &pl);
    const struct fr_plan_step *s = step_of(&pl, 0);
    cr_expect_geq(s->rto_us, 20 * MS);
    cr_expect_lt(s->rto_us, 21 * MS, "variance decays for a steady server: %u us", s->rto_us);
    cr_expect_eq(pl.hedge_us, s->rto_us);
}

/* First sample R: srtt R, rttvar R/2 (RFC 6298 2.2): RTO 3R. */
Test(plan, first_sample)
{
    struct fr_plan pl;
    plan_at(T0, &pl);
    answer(0, 10 * MS, T0 + 10 * MS);
    plan_at(T0 + 11 * MS, &pl);
    cr_expect_eq(step_of(&pl, 0)->rto_us, 30 * MS);
    cr_expect_eq(pl.hedge_us, 30 * MS);
}

/* Jittery answers (5 ms and 45 ms alternating) give a larger RTO than
 * steady ones of the same mean. */
Test(plan, variance_widens_the_hedge)
{
    struct fr_plan pl;
    plan_at(T0, &pl);
    uint64_t t = T0;
    for (int i = 0; i < 40; i++, t += 100 * MS)
        answer(0, (i & 1) ? 45 * MS : 5 * MS, t);
    plan_at(t, &pl);
    uint32_t jitter_rto = step_of(&pl, 0)->rto_us;
    cr_expect_gt(jitter_rto, 60 * MS, "srtt ~25 ms + 4 x rttvar ~20 ms: got %u us", jitter_rto);
    cr_expect_leq(jitter_rto, cfg->resend_max_ms * MS);
}

Test(plan, hedge_floor_and_cap)
{
    struct fr_plan pl;
    plan_at(T0, &pl);
    answer(0, 50, T0 + 50);   /* 50 us: below the floor */
    plan_at(T0 + 1 * MS, &pl);
    cr_expect_eq(pl.hedge_us, cfg->hedge_min_ms * MS);
    cr_expect_eq(step_of(&pl, 0)->rto_us, cfg->hedge_min_ms * MS, "RTO floor");

    fr_table_reset();
    plan_at(T0, &pl);
    answer(0, 400 * MS, T0 + 400 * MS);   /* RTO 1.2 s: above the cap */
    plan_at(T0 + 401 * MS, &pl);
    cr_expect_eq(pl.hedge_us, cfg->hedge_max_ms * MS, "hedge cap");
    cr_expect_eq(step_of(&pl, 0)->rto_us, cfg->resend_max_ms * MS, "RTO capped at FASTRES_RESEND_MAX_MS");
    cr_expect_eq(start_of(&pl, 1), cfg->hedge_max_ms * MS);
    cr_expect_eq(start_of(&pl, 2), 2 * cfg->hedge_max_ms * MS);
}

/* ---- aging, list changes, generations ---- */

Test(plan, knowledge_ages_out)
{
    struct fr_plan pl;
    plan_at(T0, &pl);
    answer(1, 400, T0 + 400);
    event(0, FR_TABLE_TIMEOUT, T0 + 500);
    plan_at(T0 + FR_TABLE_FORGET_US, &pl);
    cr_expect_not(pl.cold, "still known just before the horizon");
    plan_at(T0 + 500 + FR_TABLE_FORGET_US + 1, &pl);
    cr_expect(pl.cold, "forgotten: a new race");
    cr_expect_eq(pl.step[0].server, 0, "the failure is forgotten too");
}

Test(plan, server_list_change_clears)
{
    struct fr_plan pl;
    plan_at(T0, &pl);
    answer(2, 400, T0 + 400);
    unsigned old_gen = gen;
    struct fr_config *other = fr_config_parse("nameserver 127.0.0.5\nnameserver 127.0.0.3\n",
                                              "hosts: files dns\n", NULL);
    cr_assert_not_null(other);
    struct fr_server_view v[FR_MAX_SERVERS];
    unsigned g2 = fr_table_snapshot(other, T0 + 1 * MS, v);
    cr_expect_neq(g2, old_gen);
    cr_expect_eq(v[0].samples, 0, "a new list starts unknown");
    /* An event from the old list's snapshot must not land on the new one. */
    fr_table_record(old_gen, 0, FR_TABLE_ANSWER, 100, T0 + 2 * MS);
    fr_table_snapshot(other, T0 + 3 * MS, v);
    cr_expect_eq(v[0].samples, 0, "stale generation ignored");
    fr_config_free(other);
}

/* Threads read the clock at different moments: a snapshot taken with a
 * time a little older than another thread's last answer keeps what the
 * table knows (no wrap-around into "forgotten"). */
Test(plan, snapshot_older_than_last_event)
{
    struct fr_plan pl;
    plan_at(T0, &pl);
    answer(1, 400, T0 + 2 * MS);
    event(0, FR_TABLE_TIMEOUT, T0 + 2 * MS);
    plan_at(T0 + 1 * MS, &pl);
    cr_expect_not(pl.cold, "the answer was forgotten");
    cr_expect_eq(pl.step[0].server, 1);
    cr_expect_eq(pl.step[2].server, 0, "the failure was forgotten");
}
