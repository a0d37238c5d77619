/* fastres: one configuration from file texts and an environment (see
 * config_int.h): glibc's defaults, resolv.conf, LOCALDOMAIN/RES_OPTIONS,
 * nsswitch.conf, glibc's give-up time, then the FASTRES_* settings. */
#include "base/config_int.h"
#include "base/config_test.h"

#include <stdlib.h>
#include <string.h>

/* Defaults, with their reasons:
 * - first re-send after 200 ms: a healthy local or LAN resolver answers in
 *   well under 10 ms and a recursive cache miss typically under 200 ms, so
 *   a question unanswered by then has most likely been lost; glibc would
 *   wait 5 s. Doubling up to 1 s keeps a dead server from costing more than
 *   one datagram a second. */
#define DEFAULT_RESEND_MS 200
#define DEFAULT_RESEND_MAX_MS 1000
/* Hedging (net/plan.h): the next server is asked when the best one's
 * reply is late by its RTO (srtt + 4 rttvar), but never sooner than
 * HEDGE_MIN: on loopback or a LAN the RTO is a fraction of a millisecond,
 * and below a few milliseconds a busy host's scheduling delays (a
 * preempted process, a shared 2-core VM) look like loss and every such
 * hedge is a datagram for nothing. 5 ms keeps the hedge under 2 % of
 * questions on the benchmark machine while a lost datagram still costs
 * about 5 ms instead of the 200 ms a fixed re-send cost. The cap is the
 * fixed re-send fastres had before it kept a table: hedging is never
 * later than that for a slow server. */
#define DEFAULT_HEDGE_MIN_MS 5
#define DEFAULT_HEDGE_MAX_MS 200
/* 1024 answers of at most 4 KiB bound the cache at 4 MiB. */
#define DEFAULT_CACHE_SIZE 1024
#define DEFAULT_CACHE_MAX_TTL 86400
#define DEFAULT_NEG_MAX_TTL 3600
/* RFC 8767 suggests 1 to 3 days for the stale window; 1 day. */
#define DEFAULT_STALE_MAX 86400

static const char *config_no_env(const char *name)
{
    (void)name;
    return NULL;
}

struct fr_config *fr_config_parse(const char *resolv_conf, const char *nsswitch_conf,
                                  const char *(*getenv_fn)(const char *))
{
    struct fr_config *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    /* glibc defaults: ndots 1, RES_TIMEOUT 5, RES_DFLRETRY 2; the rest
     * zero as calloc left it. */
    *c = (struct fr_config){
        .ndots = 1, .timeout_s = 5, .attempts = 2,
        .resend_ms = DEFAULT_RESEND_MS, .resend_max_ms = DEFAULT_RESEND_MAX_MS,
        .hedge_min_ms = DEFAULT_HEDGE_MIN_MS, .hedge_max_ms = DEFAULT_HEDGE_MAX_MS,
        .cache_size = DEFAULT_CACHE_SIZE, .cache_max_ttl = DEFAULT_CACHE_MAX_TTL,
        .cache_neg_max_ttl = DEFAULT_NEG_MAX_TTL, .stale_max = DEFAULT_STALE_MAX,
        .refresh = 1, .parallel_search = 1,
    };
    /* glibc's own environment overrides of resolv.conf (res_vinit_1):
     * LOCALDOMAIN replaces the search list, RES_OPTIONS is read after the
     * file's options and wins over them. */
    const char *localdomain = getenv_fn ? getenv_fn("LOCALDOMAIN") : NULL;
    const char *res_options = getenv_fn ? getenv_fn("RES_OPTIONS") : NULL;
    if (fr_config_resolv_parse(c, resolv_conf, localdomain) != 0) {
        fr_config_free(c);
        return NULL;
    }
    if (res_options) {
        char *o = strdup(res_options);
        if (!o) {
            fr_config_free(c);
            return NULL;
        }
        fr_config_options_parse(c, o, " \t");
        free(o);
    }
    fr_config_nsswitch_parse(c, nsswitch_conf);
    c->deadline_ms = fr_config_glibc_deadline_ms(c->timeout_s, c->attempts, c->nservers);
    fr_config_env_apply(c, getenv_fn ? getenv_fn : config_no_env);
    /* Aliases from a HOSTALIASES file apply to res_search and
     * gethostbyname: not implemented. */
    if (getenv_fn && getenv_fn("HOSTALIASES"))
        c->punt = "HOSTALIASES is set";
    return c;
}

void fr_config_free(struct fr_config *c)
{
    if (!c)
        return;
    fr_config_domains_clear(c);
    free(c);
}
