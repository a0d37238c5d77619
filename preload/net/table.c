/* fastres network layer: the per-server table (see table.h). */
#include "net/table.h"
#include "net/table_test.h"

#include <pthread.h>
#include <string.h>

#include "base/fork.h"
#include "base/log.h"

/* RFC 6298 2.2-2.3 with its constants: alpha = 1/8, beta = 1/4. */
#define TABLE_ALPHA_SHIFT 3
#define TABLE_BETA_SHIFT 2
/* A failure count beyond this says nothing more (c-ares caps its
 * consecutive-failure count at 16 too); it also bounds the scheduler's
 * doubling penalty. */
#define TABLE_FAILS_CAP 16

struct table_entry {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char text[sizeof ((struct fr_server *)0)->text];
    uint32_t srtt_us, rttvar_us, samples, fails;
    uint64_t last_ok_us, last_fail_us, next_probe_us;
    uint64_t sent, answers, won, timeouts, servfail, refused, formerr, badreply, connrefused;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct table_entry table[FR_MAX_SERVERS];
static unsigned nentries;
/* Bumped on every clear, so events from a snapshot of an older list
 * cannot land on another server that took its slot. */
static unsigned generation = 1;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* fork.c holds the lock across fork. What the parent learned stays: the
 * child asks the same servers. */
static const struct fr_fork_handlers fork_handlers = {
    .name = "net/table", .rank = FR_FORK_RANK_NET, .lock = &lock,
};

static void table_init(void)
{
    fr_fork_register(&fork_handlers);
}

static int table_same_list(const struct fr_config *cfg)
{
    if (cfg->nservers != nentries)
        return 0;
    for (unsigned i = 0; i < nentries; i++)
        if (table[i].addrlen != cfg->servers[i].addrlen ||
            memcmp(&table[i].addr, &cfg->servers[i].addr, table[i].addrlen))
            return 0;
    return 1;
}

static void table_clear_for(const struct fr_config *cfg)
{
    memset(table, 0, sizeof table);
    nentries = cfg->nservers;
    for (unsigned i = 0; i < nentries; i++) {
        table[i].addrlen = cfg->servers[i].addrlen;
        memcpy(&table[i].addr, &cfg->servers[i].addr, cfg->servers[i].addrlen);
        memcpy(table[i].text, cfg->servers[i].text, sizeof table[i].text);
    }
    generation++;
}

/* Old knowledge goes: the RTT of a server not heard from, the failures of
 * one that has not failed, for FR_TABLE_FORGET_US. */
static void table_age(struct table_entry *e, uint64_t now_us)
{
    /* Threads pass times read at different moments: a snapshot's time may
     * be a little older than another thread's last event (no wrap-around). */
    if (e->samples && now_us > e->last_ok_us && now_us - e->last_ok_us > FR_TABLE_FORGET_US)
        e->samples = 0;
    if (e->fails && now_us > e->last_fail_us && now_us - e->last_fail_us > FR_TABLE_FORGET_US)
        e->fails = 0;
}

unsigned fr_table_snapshot(const struct fr_config *cfg, uint64_t now_us, struct fr_server_view *out)
{
    pthread_once(&once, table_init);
    pthread_mutex_lock(&lock);
    if (!table_same_list(cfg))
        table_clear_for(cfg);
    for (unsigned i = 0; i < nentries; i++) {
        struct table_entry *e = &table[i];
        table_age(e, now_us);
        out[i].srtt_us = e->srtt_us;
        out[i].rttvar_us = e->rttvar_us;
        out[i].samples = e->samples;
        out[i].fails = e->fails;
        out[i].probe_due = e->fails > 0 && now_us >= e->next_probe_us;
        if (out[i].probe_due)
            e->next_probe_us = now_us + FR_TABLE_PROBE_US;
    }
    unsigned gen = generation;
    pthread_mutex_unlock(&lock);
    return gen;
}

static void table_sample(struct table_entry *e, uint32_t rtt_us)
{
    if (!e->samples) {
        e->srtt_us = rtt_us;
        e->rttvar_us = rtt_us / 2;
    } else {
        uint32_t delta = e->srtt_us > rtt_us ? e->srtt_us - rtt_us : rtt_us - e->srtt_us;
        /* rttvar <- 3/4 rttvar + 1/4 |srtt - R|, then srtt <- 7/8 srtt + 1/8 R,
         * in that order (RFC 6298 2.3). */
        e->rttvar_us = e->rttvar_us - (e->rttvar_us >> TABLE_BETA_SHIFT) + (delta >> TABLE_BETA_SHIFT);
        e->srtt_us = e->srtt_us - (e->srtt_us >> TABLE_ALPHA_SHIFT) + (rtt_us >> TABLE_ALPHA_SHIFT);
    }
    if (e->samples < UINT32_MAX)
        e->samples++;
}

static void table_failed(struct table_entry *e, uint64_t now_us)
{
    if (e->fails == 0)   /* first failure: probe after the interval, not at once */
        e->next_probe_us = now_us + FR_TABLE_PROBE_US;
    if (e->fails < TABLE_FAILS_CAP)
        e->fails++;
    e->last_fail_us = now_us;
}

void fr_table_record(unsigned gen, unsigned idx, enum fr_table_event ev, uint32_t rtt_us,
                     uint64_t now_us)
{
    pthread_once(&once, table_init);
    pthread_mutex_lock(&lock);
    if (gen != generation || idx >= nentries)
        goto done;
    struct table_entry *e = &table[idx];
    switch (ev) {
    case FR_TABLE_SENT:
        e->sent++;
        break;
    case FR_TABLE_ANSWER:
    case FR_TABLE_ANSWER_UNTIMED:
        e->answers++;
        if (ev == FR_TABLE_ANSWER)
            table_sample(e, rtt_us);
        e->fails = 0;
        e->last_ok_us = now_us;
        break;
    case FR_TABLE_WON:
        e->won++;
        break;
    case FR_TABLE_TIMEOUT:
        e->timeouts++;
        table_failed(e, now_us);
        break;
    case FR_TABLE_SERVFAIL:
        e->servfail++;
        table_failed(e, now_us);
        break;
    case FR_TABLE_REFUSED:
        e->refused++;
        table_failed(e, now_us);
        break;
    case FR_TABLE_FORMERR:
        e->formerr++;
        table_failed(e, now_us);
        break;
    case FR_TABLE_BADREPLY:
        e->badreply++;
        table_failed(e, now_us);
        break;
    case FR_TABLE_CONNREFUSED:
        e->connrefused++;
        table_failed(e, now_us);
        break;
    }
done:
    pthread_mutex_unlock(&lock);
}

void fr_table_print(void)
{
    struct table_entry copy[FR_MAX_SERVERS];
    unsigned n;
    pthread_once(&once, table_init);
    pthread_mutex_lock(&lock);
    n = nentries;
    memcpy(copy, table, sizeof copy);
    pthread_mutex_unlock(&lock);
    for (unsigned i = 0; i < n; i++) {
        const struct table_entry *e = &copy[i];
        fr_log(FR_LOG_ERROR, "stats",
               "server %s: srtt %.3f ms, rttvar %.3f ms (%u samples), sent %llu, answers %llu, "
               "won %llu, timeouts %llu, servfail %llu, refused %llu, formerr %llu, bad %llu, "
               "unreachable %llu, failing %u",
               e->text, e->srtt_us / 1000.0, e->rttvar_us / 1000.0, e->samples,
               (unsigned long long)e->sent, (unsigned long long)e->answers,
               (unsigned long long)e->won, (unsigned long long)e->timeouts,
               (unsigned long long)e->servfail, (unsigned long long)e->refused,
               (unsigned long long)e->formerr, (unsigned long long)e->badreply,
               (unsigned long long)e->connrefused, e->fails);
    }
}

void fr_table_reset(void)
{
    pthread_once(&once, table_init);
    pthread_mutex_lock(&lock);
    memset(table, 0, sizeof table);
    nentries = 0;
    generation++;
    pthread_mutex_unlock(&lock);
}
