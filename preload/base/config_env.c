/* fastres: FASTRES_* settings and the secure-execution getenv (see
 * config_int.h). Each bad value gives one log line on the first
 * configuration and keeps the default. */
#include "base/config_int.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/auxv.h>

#include "base/log.h"

const char *fr_config_getenv(const char *name)
{
    /* ld.so ignores the environment's paths for setuid programs; fastres,
     * if loaded anyway (ld.so.preload), must not let the caller's
     * environment steer a privileged program's resolver either. glibc's
     * own variables (LOCALDOMAIN, RES_OPTIONS, HOSTALIASES) are read as
     * glibc reads them, with plain getenv: ld.so already removed them
     * from a secure program's environment (unsecvars.h), so they count
     * only if the program set them itself, and then glibc follows them. */
    if (!strncmp(name, "FASTRES_", 8) && getauxval(AT_SECURE))
        return NULL;
    return getenv(name);
}

static atomic_int env_warned;

static void config_bad_setting(const char *var, const char *val, const char *why)
{
    /* One line per bad variable, on the first configuration only. */
    if (atomic_load(&env_warned))
        return;
    /* At error level so that FASTRES_LOG=error still shows it. */
    fr_log(FR_LOG_ERROR, "config", "ignoring %s=\"%s\": %s; using the default", var, val, why);
}

/* Parse an unsigned setting in [lo, hi]; leaves *out alone on error. */
static void config_env_uint(const char *(*get)(const char *), const char *var, unsigned lo, unsigned hi,
                     unsigned *out)
{
    const char *v = get(var);
    if (!v)
        return;
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (!*v || *end || errno || v[0] == '-' || n < lo || n > hi) {
        char why[64];
        snprintf(why, sizeof why, "expected a whole number from %u to %u", lo, hi);
        config_bad_setting(var, v, why);
        return;
    }
    *out = (unsigned)n;
}

/* A setting with two words: *out = 0 for word0, 1 for word1 (any case). */
static void config_env_choice(const char *(*get)(const char *), const char *var, const char *word0,
                       const char *word1, int *out)
{
    const char *v = get(var);
    if (!v)
        return;
    if (!strcasecmp(v, word0) || !strcasecmp(v, word1)) {
        *out = !strcasecmp(v, word1);
        return;
    }
    char why[64];
    snprintf(why, sizeof why, "expected %s or %s", word0, word1);
    config_bad_setting(var, v, why);
}

static void config_env_bool(const char *(*get)(const char *), const char *var, int *out)
{
    const char *v = get(var);
    if (!v)
        return;
    if (!strcmp(v, "1") || !strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcasecmp(v, "on"))
        *out = 1;
    else if (!strcmp(v, "0") || !strcasecmp(v, "no") || !strcasecmp(v, "false") ||
             !strcasecmp(v, "off"))
        *out = 0;
    else
        config_bad_setting(var, v, "expected 1 or 0");
}

static int config_servers_from_env(struct fr_config *c, const char *v)
{
    char buf[1024];
    unsigned n = 0;
    struct fr_server tmp[FR_MAX_SERVERS];
    if (strlen(v) >= sizeof buf)
        return -1;
    strcpy(buf, v);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
        if (n == FR_MAX_SERVERS || fr_config_server_parse(tok, 1, &tmp[n]) != 0)
            return -1;
        n++;
    }
    if (n == 0)
        return -1;
    memcpy(c->servers, tmp, n * sizeof tmp[0]);
    c->nservers = n;
    return 0;
}

void fr_config_env_apply(struct fr_config *c, const char *(*get)(const char *))
{
    const char *v;
    int b = 0;
    config_env_bool(get, "FASTRES_DISABLE", &b);
    c->disabled = b;

    if ((v = get("FASTRES_LOG"))) {
        static const char *const names[] = { "error", "warn", "info", "debug" };
        int found = -1;
        for (int i = 0; i < 4; i++)
            if (!strcasecmp(v, names[i]))
                found = i;
        if (found < 0)
            config_bad_setting("FASTRES_LOG", v, "expected error, warn, info or debug");
        else
            fr_log_set_level((enum fr_log_level)found);
    }
    if ((v = get("FASTRES_SERVERS")) && config_servers_from_env(c, v) != 0)
        config_bad_setting("FASTRES_SERVERS", v,
                    "expected a comma-separated list of up to 8 addresses (IPv4[:port], "
                    "IPv6, [IPv6%scope]:port)");
    config_env_uint(get, "FASTRES_TIMEOUT_MS", 1, FR_MAX_MS, &c->deadline_ms);
    config_env_uint(get, "FASTRES_RESEND_MS", 1, FR_MAX_MS, &c->resend_ms);
    config_env_uint(get, "FASTRES_RESEND_MAX_MS", 1, FR_MAX_MS, &c->resend_max_ms);
    config_env_choice(get, "FASTRES_MODE", "hedge", "race", &c->race);
    config_env_choice(get, "FASTRES_TRANSPORT", "udp", "tcp", &c->tcp);
    config_env_uint(get, "FASTRES_HEDGE_MIN_MS", 1, FR_MAX_MS, &c->hedge_min_ms);
    config_env_uint(get, "FASTRES_HEDGE_MAX_MS", 1, FR_MAX_MS, &c->hedge_max_ms);
    config_env_uint(get, "FASTRES_CACHE_SIZE", 0, 1u << 20, &c->cache_size);
    config_env_uint(get, "FASTRES_CACHE_MIN_TTL", 0, 7 * 86400, &c->cache_min_ttl);
    config_env_uint(get, "FASTRES_CACHE_MAX_TTL", 0, 7 * 86400, &c->cache_max_ttl);
    config_env_uint(get, "FASTRES_CACHE_NEG_MAX_TTL", 0, 7 * 86400, &c->cache_neg_max_ttl);
    config_env_uint(get, "FASTRES_STALE_MAX", 0, 7 * 86400, &c->stale_max);
    config_env_bool(get, "FASTRES_REFRESH", &c->refresh);
    config_env_bool(get, "FASTRES_PARALLEL_SEARCH", &c->parallel_search);
    config_env_bool(get, "FASTRES_STATS", &c->stats);
    if (c->resend_max_ms < c->resend_ms)
        c->resend_max_ms = c->resend_ms;
    if (c->hedge_max_ms < c->hedge_min_ms)
        c->hedge_max_ms = c->hedge_min_ms;
    if (c->cache_min_ttl > c->cache_max_ttl)
        c->cache_min_ttl = c->cache_max_ttl;
    if (c->attempts == 0)
        c->attempts = 1;
    fr_config_server_budgets(c);
    /* The deadline environment value may shorten or lengthen glibc's; the
     * default is glibc's own give-up time for the same resolv.conf. */
    atomic_store(&env_warned, 1);
}
