/* fastres: configuration snapshots (see config.h). */
#include "base/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/fork.h"
#include "base/log.h"

#define RESOLV_CONF "/etc/resolv.conf"
#define NSSWITCH_CONF "/etc/nsswitch.conf"
/* First read buffer for resolv.conf and nsswitch.conf (a few hundred
 * bytes each); it doubles as needed: glibc reads files of any size. */
#define CONFIG_FILE_CHUNK 4096

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

/* ------------------------------------------------------------------ */
/* Environment */

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

static void bad_setting(const char *var, const char *val, const char *why)
{
    /* One line per bad variable, on the first configuration only. */
    if (atomic_load(&env_warned))
        return;
    /* At error level so that FASTRES_LOG=error still shows it. */
    fr_log(FR_LOG_ERROR, "config", "ignoring %s=\"%s\": %s; using the default", var, val, why);
}

/* Parse an unsigned setting in [lo, hi]; leaves *out alone on error. */
static void env_uint(const char *(*get)(const char *), const char *var, unsigned lo, unsigned hi,
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
        bad_setting(var, v, why);
        return;
    }
    *out = (unsigned)n;
}

/* A setting with two words: *out = 0 for word0, 1 for word1 (any case). */
static void env_choice(const char *(*get)(const char *), const char *var, const char *word0,
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
    bad_setting(var, v, why);
}

static void env_bool(const char *(*get)(const char *), const char *var, int *out)
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
        bad_setting(var, v, "expected 1 or 0");
}

/* ------------------------------------------------------------------ */
/* Servers */

/* Parse "1.2.3.4", "1.2.3.4:53", "::1", "[::1]:53", "fe80::1%eth0",
 * "[fe80::1%2]:5353". allow_port is 0 for resolv.conf, whose nameserver
 * lines take no port. */
static int server_parse(const char *text, int allow_port, struct fr_server *out)
{
    char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
    const char *port = NULL;
    size_t hl;
    struct fr_server s;
    memset(&s, 0, sizeof s);

    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || !allow_port)
            return -1;
        hl = (size_t)(close - text - 1);
        if (hl >= sizeof host)
            return -1;
        memcpy(host, text + 1, hl);
        host[hl] = '\0';
        if (close[1] == ':')
            port = close + 2;
        else if (close[1])
            return -1;
    } else {
        const char *colon = strchr(text, ':');
        /* One colon: IPv4 with a port; more: a bare IPv6 address. */
        if (allow_port && colon && !strchr(colon + 1, ':')) {
            hl = (size_t)(colon - text);
            port = colon + 1;
        } else {
            hl = strlen(text);
        }
        if (hl >= sizeof host)
            return -1;
        memcpy(host, text, hl);
        host[hl] = '\0';
    }

    unsigned long portnum = 53;
    if (port) {
        char *end;
        errno = 0;
        portnum = strtoul(port, &end, 10);
        if (!*port || *end || errno || portnum == 0 || portnum > 65535)
            return -1;
    }

    struct sockaddr_in *sin = (struct sockaddr_in *)&s.addr;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&s.addr;
    char *pct = strchr(host, '%');
    /* resolv.conf: glibc reads IPv4 with inet_aton ("10.1.2" is 10.1.0.2;
     * the text is already cut at the first blank, so nothing may trail). */
    if (!pct && (allow_port ? inet_pton(AF_INET, host, &sin->sin_addr) == 1
                            : inet_aton(host, &sin->sin_addr) != 0)) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)portnum);
        s.addrlen = sizeof *sin;
    } else {
        if (pct)
            *pct = '\0';
        if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
            return -1;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)portnum);
        if (pct) {
            /* Same rule as glibc's res_init: an interface name, else a
             * number. */
            unsigned idx = if_nametoindex(pct + 1);
            if (!idx) {
                char *end;
                unsigned long n = strtoul(pct + 1, &end, 10);
                if (!pct[1] || *end)
                    return -1;
                idx = (unsigned)n;
            }
            sin6->sin6_scope_id = idx;
        }
        s.addrlen = sizeof *sin6;
    }
    snprintf(s.text, sizeof s.text, "%s", text);
    *out = s;
    return 0;
}

static int servers_from_env(struct fr_config *c, const char *v)
{
    char buf[1024];
    unsigned n = 0;
    struct fr_server tmp[FR_MAX_SERVERS];
    if (strlen(v) >= sizeof buf)
        return -1;
    strcpy(buf, v);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
        if (n == FR_MAX_SERVERS || server_parse(tok, 1, &tmp[n]) != 0)
            return -1;
        n++;
    }
    if (n == 0)
        return -1;
    memcpy(c->servers, tmp, n * sizeof tmp[0]);
    c->nservers = n;
    return 0;
}

/* ------------------------------------------------------------------ */
/* resolv.conf (glibc res_init.c semantics) */

static void domains_clear(struct fr_config *c)
{
    for (unsigned i = 0; i < c->ndomains; i++)
        free(c->domains[i]);
    c->ndomains = 0;
}

/* Split the rest of a search/domain line into the search list. */
static int domains_set(struct fr_config *c, char *rest, int only_first)
{
    domains_clear(c);
    char *save = NULL;
    for (char *tok = strtok_r(rest, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
        if (c->ndomains == FR_MAX_DOMAINS) {
            c->punt = "more search domains than fastres keeps";
            return 0;
        }
        /* glibc drops a trailing dot from search domains? No: it keeps the
         * text as written; res_querydomain then strips one trailing dot. */
        c->domains[c->ndomains] = strdup(tok);
        if (!c->domains[c->ndomains])
            return -1;
        c->ndomains++;
        if (only_first)
            break;
    }
    return 0;
}

static unsigned opt_num(const char *v, unsigned cap)
{
    unsigned long n = strtoul(v, NULL, 10);
    return n > cap ? cap : (unsigned)n;
}

/* glibc's res_init matches flag options by prefix (strncmp with the
 * option's length): "rotatex" is rotate, "edns0=1" is edns0. */
static int opt_is(const char *o, const char *name)
{
    return !strncmp(o, name, strlen(name));
}

/* res_setoptions: options separated by blanks (resolv.conf lines end at
 * the newline; RES_OPTIONS is split on spaces and tabs only, so there a
 * newline is part of an option, as in glibc). */
static void parse_options(struct fr_config *c, char *rest, const char *seps)
{
    char *save = NULL;
    for (char *o = strtok_r(rest, seps, &save); o; o = strtok_r(NULL, seps, &save)) {
        if (!strncmp(o, "ndots:", 6))
            c->ndots = opt_num(o + 6, FR_MAX_NDOTS);
        else if (!strncmp(o, "timeout:", 8))
            c->timeout_s = opt_num(o + 8, FR_MAX_TIMEOUT_S);
        else if (!strncmp(o, "attempts:", 9))
            c->attempts = opt_num(o + 9, FR_MAX_ATTEMPTS);
        else if (opt_is(o, "rotate"))
            c->rotate = 1;   /* meaningless when every server is asked at once */
        else if (opt_is(o, "edns0"))
            c->edns0 = 1;
        else if (opt_is(o, "trust-ad"))
            c->trust_ad = 1;
        else if (opt_is(o, "use-vc"))
            c->use_vc = 1;
        else if (opt_is(o, "no-tld-query") || opt_is(o, "no_tld_query"))
            c->no_tld_query = 1;   /* glibc accepts both spellings */
        else if (opt_is(o, "single-request") || opt_is(o, "no-reload") || !strcmp(o, "debug"))
            ;   /* transport or diagnostics only: fastres always uses separate sockets */
        else if (opt_is(o, "no-aaaa") || !strcmp(o, "inet6") || !strcmp(o, "no-check-names") ||
                 !strcmp(o, "ip6-bytestring") || !strcmp(o, "ip6-dotint") ||
                 !strcmp(o, "no-ip6-dotint"))
            c->punt = "resolv.conf option fastres does not implement";
        /* glibc ignores unknown options; so does fastres. */
    }
}

/* LOCALDOMAIN as res_vinit_1 splits it: the first name runs to the first
 * blank (so a leading blank gives an empty first name), each later run
 * of non-blanks is a name, and a newline ends the list. */
static int domains_from_env(struct fr_config *c, const char *v)
{
    size_t len = strcspn(v, "\n");
    char *buf = strndup(v, len);
    if (!buf)
        return -1;
    domains_clear(c);
    int ret = 0;
    char *p = buf;
    for (int first = 1; first || *p; first = 0) {
        if (!first)
            p += strspn(p, " \t");
        if (!first && !*p)
            break;
        size_t n = strcspn(p, " \t");
        if (c->ndomains == FR_MAX_DOMAINS) {
            c->punt = "more search domains than fastres keeps";
            break;
        }
        c->domains[c->ndomains] = strndup(p, n);
        if (!c->domains[c->ndomains]) {
            ret = -1;
            break;
        }
        c->ndomains++;
        p += n;
    }
    free(buf);
    return ret;
}

/* localdomain: LOCALDOMAIN's value or NULL; when set, it is the search
 * list and resolv.conf's domain and search lines are ignored. */
static int parse_resolv(struct fr_config *c, const char *text, const char *localdomain)
{
    unsigned nns = 0;
    int have_search = 0;
    if (localdomain) {
        if (domains_from_env(c, localdomain) != 0)
            return -1;
        have_search = 1;
    }
    if (text) {
        const char *p = text;
        while (*p) {
            const char *eol = strchr(p, '\n');
            size_t len = eol ? (size_t)(eol - p) : strlen(p);
            char line[1024];
            if (len >= sizeof line) {
                c->punt = "resolv.conf line too long";
                len = sizeof line - 1;
            }
            memcpy(line, p, len);
            line[len] = '\0';
            p += len + (eol ? 1 : 0);
            if (line[0] == ';' || line[0] == '#')
                continue;
            char *rest;
            /* glibc matches the keyword followed by a space or tab. */
            if (!strncmp(line, "nameserver", 10) && (line[10] == ' ' || line[10] == '\t')) {
                rest = line + 11;
                rest += strspn(rest, " \t");
                rest[strcspn(rest, " \t\n;#")] = '\0';
                if (nns < FR_RESOLV_MAX_NS && *rest &&
                    server_parse(rest, 0, &c->servers[nns]) == 0)
                    nns++;
            } else if (!strncmp(line, "domain", 6) && (line[6] == ' ' || line[6] == '\t')) {
                if (localdomain)
                    continue;   /* glibc: LOCALDOMAIN overrides the file */
                if (domains_set(c, line + 7, 1) != 0)
                    return -1;
                have_search = 1;
            } else if (!strncmp(line, "search", 6) && (line[6] == ' ' || line[6] == '\t')) {
                if (localdomain)
                    continue;
                if (domains_set(c, line + 7, 0) != 0)
                    return -1;
                have_search = 1;
            } else if (!strncmp(line, "options", 7) && (line[7] == ' ' || line[7] == '\t')) {
                parse_options(c, line + 8, " \t\n");
            } else if (!strncmp(line, "sortlist", 8) && (line[8] == ' ' || line[8] == '\t')) {
                c->punt = "resolv.conf sortlist";
            }
        }
    }
    if (nns == 0) {
        /* glibc's default when no nameserver is listed: the local host. */
        struct sockaddr_in *sin = (struct sockaddr_in *)&c->servers[0].addr;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(53);
        sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        c->servers[0].addrlen = sizeof *sin;
        strcpy(c->servers[0].text, "127.0.0.1");
        nns = 1;
    }
    c->nservers = nns;
    if (!have_search) {
        /* glibc: without domain/search, the search list is the local
         * domain: what follows the first dot of the host name. */
        char host[256];
        if (gethostname(host, sizeof host) == 0) {
            host[sizeof host - 1] = '\0';
            char *dot = strchr(host, '.');
            if (dot && dot[1] && domains_set(c, dot + 1, 1) != 0)
                return -1;
        }
    }
    return 0;
}

/* One hosts line as glibc 2.36's nss_action_parse reads it: sources
 * separated by white space, each optionally followed by
 * [[!]STATUS=ACTION ...] (statuses SUCCESS NOTFOUND UNAVAIL TRYAGAIN,
 * actions RETURN CONTINUE MERGE, any case). What fastres follows: "files
 * dns" and "dns" as before; with other sources (NSS modules it calls,
 * nssmod.h), files and dns at most once each and with default actions, no
 * MERGE. 0 when the line is taken, else c->punt is set. */
static int parse_hosts_line(struct fr_config *c, char *s)
{
    unsigned n = 0, nfiles = 0, ndns = 0, nmod = 0;
    struct fr_nss_source src[FR_NSS_MAX];
    for (;;) {
        s += strspn(s, " \t\r\n\v\f");
        if (!*s)
            break;
        const char *name = s;
        while (*s && !isspace((unsigned char)*s) && *s != '[')
            s++;
        size_t nl = (size_t)(s - name);
        if (n == FR_NSS_MAX || nl == 0 || nl >= FR_NSS_NAME_MAX)
            goto punt;
        struct fr_nss_source *e = &src[n++];
        memset(e, 0, sizeof *e);
        memcpy(e->name, name, nl);
        e->ret[FR_NSS_ST_SUCCESS] = 1;
        for (size_t i = 0; i < nl; i++)
            if (!isalnum((unsigned char)name[i]) && name[i] != '_' && name[i] != '-')
                goto punt;   /* not a file name fastres will build */
        if (!strcmp(e->name, "files"))
            e->kind = FR_NSS_FILES, nfiles++;
        else if (!strcmp(e->name, "dns"))
            e->kind = FR_NSS_DNS, ndns++;
        else
            e->kind = FR_NSS_MODULE, nmod++;
        s += strspn(s, " \t\r\n\v\f");
        if (*s != '[')
            continue;
        s++;
        do {
            s += strspn(s, " \t\r\n\v\f");
            int not = *s == '!';
            if (not)
                s++;
            const char *st = s;
            while (*s && !isspace((unsigned char)*s) && *s != '=' && *s != ']')
                s++;
            int idx;
            size_t sl = (size_t)(s - st);
            if (sl == 7 && !strncasecmp(st, "SUCCESS", 7))
                idx = FR_NSS_ST_SUCCESS;
            else if (sl == 7 && !strncasecmp(st, "UNAVAIL", 7))
                idx = FR_NSS_ST_UNAVAIL;
            else if (sl == 8 && !strncasecmp(st, "NOTFOUND", 8))
                idx = FR_NSS_ST_NOTFOUND;
            else if (sl == 8 && !strncasecmp(st, "TRYAGAIN", 8))
                idx = FR_NSS_ST_TRYAGAIN;
            else
                goto punt;   /* glibc: parse error */
            s += strspn(s, " \t\r\n\v\f");
            if (*s != '=')
                goto punt;
            s++;
            s += strspn(s, " \t\r\n\v\f");
            const char *ac = s;
            while (*s && !isspace((unsigned char)*s) && *s != '=' && *s != ']')
                s++;
            size_t al = (size_t)(s - ac);
            int ret;
            if (al == 6 && !strncasecmp(ac, "RETURN", 6))
                ret = 1;
            else if (al == 8 && !strncasecmp(ac, "CONTINUE", 8))
                ret = 0;
            else
                goto punt;   /* MERGE (not for hosts) or a parse error */
            if (not) {
                for (int k = 0; k < FR_NSS_NST; k++)
                    if (k != idx)
                        e->ret[k] = (unsigned char)ret;
            } else {
                e->ret[idx] = (unsigned char)ret;
            }
            s += strspn(s, " \t\r\n\v\f");
            if (!*s)
                goto punt;   /* glibc reads past the end: not a line to follow */
        } while (*s != ']');
        s++;
        /* files and dns: fastres reproduces their default actions only. */
        if (e->kind != FR_NSS_MODULE &&
            (e->ret[FR_NSS_ST_SUCCESS] != 1 || e->ret[FR_NSS_ST_NOTFOUND] || e->ret[FR_NSS_ST_UNAVAIL] ||
             e->ret[FR_NSS_ST_TRYAGAIN]))
            goto punt;
    }
    if (n == 0)
        goto punt;
    if (nmod == 0) {
        if (n == 2 && nfiles == 1 && ndns == 1 && src[0].kind == FR_NSS_FILES) {
            c->hosts_first = 1;
            return 0;
        }
        if (n == 1 && ndns == 1) {
            c->hosts_first = 0;
            return 0;
        }
        goto punt;
    }
    if (nfiles > 1 || ndns > 1)
        goto punt;
    for (unsigned i = 0; i < n; i++)
        if (src[i].kind == FR_NSS_MODULE && !src[i].ret[FR_NSS_ST_SUCCESS])
            goto punt;   /* [SUCCESS=continue]: results of several sources */
    memcpy(c->nss, src, n * sizeof src[0]);
    c->nss_n = n;
    c->nss_nmodules = nmod;
    return 0;
punt:
    c->punt = "nsswitch.conf hosts line fastres does not follow";
    return -1;
}

/* nsswitch.conf: the first hosts line (parse_hosts_line). */
static void parse_nsswitch(struct fr_config *c, const char *text)
{
    if (!text) {
        /* glibc's built-in default is "dns [!UNAVAIL=return] files". */
        c->punt = "no nsswitch.conf";
        return;
    }
    const char *p = text;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char line[1024];
        if (len >= sizeof line)
            len = sizeof line - 1;
        memcpy(line, p, len);
        line[len] = '\0';
        p += len + (eol ? 1 : 0);
        char *s = line + strspn(line, " \t");
        if (strncmp(s, "hosts", 5) != 0)
            continue;
        s += 5;
        s += strspn(s, " \t");
        if (*s != ':')
            continue;
        s++;
        char *hash = strchr(s, '#');
        if (hash)
            *hash = '\0';
        if (parse_hosts_line(c, s) != 0)
            return;
        return;   /* glibc uses the first hosts line */
    }
    c->punt = "nsswitch.conf without a hosts line";
}

/* glibc's wait for server i in one attempt, in seconds (res_send.c). */
static unsigned glibc_server_wait_s(unsigned timeout_s, unsigned i, unsigned nservers)
{
    unsigned s = timeout_s << i;
    if (i > 0)
        s /= nservers;
    return s ? s : 1;
}

unsigned fr_config_glibc_deadline_ms(unsigned timeout_s, unsigned attempts, unsigned nservers)
{
    unsigned per_attempt = 0;
    if (nservers == 0)
        nservers = 1;
    if (attempts == 0)
        attempts = 1;   /* glibc: attempts:0 still sends once */
    for (unsigned i = 0; i < nservers; i++)
        per_attempt += glibc_server_wait_s(timeout_s, i, nservers);
    return per_attempt * attempts * 1000u;
}

/* Split deadline_ms over the servers in glibc's proportions. */
static void server_budgets(struct fr_config *c)
{
    unsigned total = 0;
    for (unsigned i = 0; i < c->nservers; i++)
        total += glibc_server_wait_s(c->timeout_s, i, c->nservers);
    for (unsigned i = 0; i < c->nservers; i++)
        c->server_budget_ms[i] = (unsigned)((uint64_t)c->deadline_ms *
                                            glibc_server_wait_s(c->timeout_s, i, c->nservers) / total);
}

static void apply_env(struct fr_config *c, const char *(*get)(const char *))
{
    const char *v;
    int b = 0;
    env_bool(get, "FASTRES_DISABLE", &b);
    c->disabled = b;

    if ((v = get("FASTRES_LOG"))) {
        static const char *const names[] = { "error", "warn", "info", "debug" };
        int found = -1;
        for (int i = 0; i < 4; i++)
            if (!strcasecmp(v, names[i]))
                found = i;
        if (found < 0)
            bad_setting("FASTRES_LOG", v, "expected error, warn, info or debug");
        else
            fr_log_set_level((enum fr_log_level)found);
    }
    if ((v = get("FASTRES_SERVERS")) && servers_from_env(c, v) != 0)
        bad_setting("FASTRES_SERVERS", v,
                    "expected a comma-separated list of up to 8 addresses (IPv4[:port], "
                    "IPv6, [IPv6%scope]:port)");
    env_uint(get, "FASTRES_TIMEOUT_MS", 1, FR_MAX_MS, &c->deadline_ms);
    env_uint(get, "FASTRES_RESEND_MS", 1, FR_MAX_MS, &c->resend_ms);
    env_uint(get, "FASTRES_RESEND_MAX_MS", 1, FR_MAX_MS, &c->resend_max_ms);
    env_choice(get, "FASTRES_MODE", "hedge", "race", &c->race);
    env_choice(get, "FASTRES_TRANSPORT", "udp", "tcp", &c->tcp);
    env_uint(get, "FASTRES_HEDGE_MIN_MS", 1, FR_MAX_MS, &c->hedge_min_ms);
    env_uint(get, "FASTRES_HEDGE_MAX_MS", 1, FR_MAX_MS, &c->hedge_max_ms);
    env_uint(get, "FASTRES_CACHE_SIZE", 0, 1u << 20, &c->cache_size);
    env_uint(get, "FASTRES_CACHE_MIN_TTL", 0, 7 * 86400, &c->cache_min_ttl);
    env_uint(get, "FASTRES_CACHE_MAX_TTL", 0, 7 * 86400, &c->cache_max_ttl);
    env_uint(get, "FASTRES_CACHE_NEG_MAX_TTL", 0, 7 * 86400, &c->cache_neg_max_ttl);
    env_uint(get, "FASTRES_STALE_MAX", 0, 7 * 86400, &c->stale_max);
    env_bool(get, "FASTRES_REFRESH", &c->refresh);
    env_bool(get, "FASTRES_PARALLEL_SEARCH", &c->parallel_search);
    env_bool(get, "FASTRES_STATS", &c->stats);
    if (c->resend_max_ms < c->resend_ms)
        c->resend_max_ms = c->resend_ms;
    if (c->hedge_max_ms < c->hedge_min_ms)
        c->hedge_max_ms = c->hedge_min_ms;
    if (c->cache_min_ttl > c->cache_max_ttl)
        c->cache_min_ttl = c->cache_max_ttl;
    if (c->attempts == 0)
        c->attempts = 1;
    server_budgets(c);
    /* The deadline environment value may shorten or lengthen glibc's; the
     * default is glibc's own give-up time for the same resolv.conf. */
    atomic_store(&env_warned, 1);
}

static const char *no_env(const char *name)
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
    c->ndots = 1;          /* glibc defaults: ndots 1, RES_TIMEOUT 5, RES_DFLRETRY 2 */
    c->timeout_s = 5;
    c->attempts = 2;
    c->resend_ms = DEFAULT_RESEND_MS;
    c->resend_max_ms = DEFAULT_RESEND_MAX_MS;
    c->hedge_min_ms = DEFAULT_HEDGE_MIN_MS;
    c->hedge_max_ms = DEFAULT_HEDGE_MAX_MS;
    c->cache_size = DEFAULT_CACHE_SIZE;
    c->cache_max_ttl = DEFAULT_CACHE_MAX_TTL;
    c->cache_neg_max_ttl = DEFAULT_NEG_MAX_TTL;
    c->stale_max = DEFAULT_STALE_MAX;
    c->refresh = 1;
    c->parallel_search = 1;
    /* glibc's own environment overrides of resolv.conf (res_vinit_1):
     * LOCALDOMAIN replaces the search list, RES_OPTIONS is read after the
     * file's options and wins over them. */
    const char *localdomain = getenv_fn ? getenv_fn("LOCALDOMAIN") : NULL;
    const char *res_options = getenv_fn ? getenv_fn("RES_OPTIONS") : NULL;
    if (parse_resolv(c, resolv_conf, localdomain) != 0) {
        fr_config_free(c);
        return NULL;
    }
    if (res_options) {
        char *o = strdup(res_options);
        if (!o) {
            fr_config_free(c);
            return NULL;
        }
        parse_options(c, o, " \t");
        free(o);
    }
    parse_nsswitch(c, nsswitch_conf);
    c->deadline_ms = fr_config_glibc_deadline_ms(c->timeout_s, c->attempts, c->nservers);
    apply_env(c, getenv_fn ? getenv_fn : no_env);
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
    domains_clear(c);
    free(c);
}

/* ------------------------------------------------------------------ */
/* Snapshots */

struct snapshot {
    struct fr_config cfg;     /* first: callers see only this part */
    atomic_uint refs;
};

struct file_id {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    int exists;
};

static pthread_mutex_t cfg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct snapshot *cfg_cur;            /* under cfg_lock */
static struct file_id id_resolv, id_nss;    /* under cfg_lock */
static _Atomic uint64_t cfg_gen;
static _Atomic uint64_t cfg_checked_ms;
static pthread_once_t cfg_once = PTHREAD_ONCE_INIT;
static pthread_key_t cfg_key;
static int cfg_fork_ok;      /* set once by cfg_init */
static atomic_int read_failed;  /* 1 while a file cannot be read (logged once) */

/* Each thread keeps a reference to the snapshot it last used, so the
 * common path takes no lock: it compares one generation number. */
static __thread struct snapshot *tls_snap;
static __thread uint64_t tls_gen;

static void snap_put(struct snapshot *s)
{
    if (s && atomic_fetch_sub(&s->refs, 1) == 1) {
        struct fr_config *c = &s->cfg;
        domains_clear(c);
        free(s);
    }
}

static void tls_release(void *p)
{
    snap_put(p);
}

/* A fork while another thread holds cfg_lock would leave the child with a
 * lock nobody can release: take it across the fork. */
static void cfg_fork_prepare(void)
{
    pthread_mutex_lock(&cfg_lock);
}

static void cfg_fork_parent(void)
{
    pthread_mutex_unlock(&cfg_lock);
}

static void cfg_fork_child(void)
{
    pthread_mutex_init(&cfg_lock, NULL);
}

static const struct fr_fork_handlers cfg_fork = {
    .name = "config", .rank = FR_FORK_RANK_CONFIG, .prepare = cfg_fork_prepare,
    .parent = cfg_fork_parent, .child = cfg_fork_child,
};

static void cfg_init(void)
{
    pthread_key_create(&cfg_key, tls_release);
    cfg_fork_ok = fr_fork_register(&cfg_fork) == 0;
}

enum file_result {
    FILE_OK,        /* *text is the whole file */
    FILE_MISSING,   /* glibc takes its built-in defaults */
    FILE_ERROR,     /* could not be read: never mistake this for missing */
};

/* Read all of path into *text (NUL-terminated). Only the open errors glibc
 * ignores as "persistent errors caused by file system contents"
 * (__resolv_conf_load: EACCES, EISDIR, ELOOP, ENOENT, ENOTDIR, EPERM)
 * count as a missing file; anything else (EMFILE, ENOMEM, a read error,
 * a directory that opens but cannot be read) makes glibc's res_init fail,
 * so fastres must not invent a configuration either. */
static enum file_result file_read(const char *path, char **text, struct file_id *id)
{
    enum file_result ret = FILE_ERROR;
    char *buf = NULL;
    size_t cap = CONFIG_FILE_CHUNK, got = 0;
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    memset(id, 0, sizeof *id);
    *text = NULL;
    if (fd < 0) {
        if (errno == EACCES || errno == EISDIR || errno == ELOOP || errno == ENOENT ||
            errno == ENOTDIR || errno == EPERM)
            ret = FILE_MISSING;
        goto done;
    }
    if (fstat(fd, &st) != 0)
        goto done;
    buf = malloc(cap);
    if (!buf)
        goto done;
    for (;;) {
        if (got + 1 == cap) {
            char *nb = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
            if (!nb)
                goto done;
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + got, cap - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            goto done;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    buf[got] = '\0';
    id->dev = st.st_dev;
    id->ino = st.st_ino;
    id->size = st.st_size;
    id->mtime = st.st_mtim;
    id->exists = 1;
    *text = buf;
    buf = NULL;
    ret = FILE_OK;
done:;
    int e = errno;   /* for the caller's log line */
    if (fd >= 0)
        close(fd);
    free(buf);
    errno = e;
    return ret;
}

static int file_changed(const char *path, const struct file_id *id)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return id->exists;
    return !id->exists || st.st_dev != id->dev || st.st_ino != id->ino || st.st_size != id->size ||
           st.st_mtim.tv_sec != id->mtime.tv_sec || st.st_mtim.tv_nsec != id->mtime.tv_nsec;
}

/* glibc's res_ninit leaves IPv6 servers in _u._ext.nsaddrs and an
 * AF_UNSPEC placeholder in nsaddr_list. */
static const struct sockaddr *res_server(res_state s, int i)
{
    if (s->_u._ext.nsaddrs[i])
        return (const struct sockaddr *)s->_u._ext.nsaddrs[i];
    return (const struct sockaddr *)&s->nsaddr_list[i];
}

static socklen_t sa_len(const struct sockaddr *sa)
{
    return sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

/* Field by field, never memcmp of whole structures: glibc's res_init
 * leaves sin_zero (and IPv6 padding) uninitialised, which gave random
 * mismatches (spurious punts; valgrind: jump on uninitialised value). */
static int sa_same(const struct sockaddr *a, const struct sockaddr *b)
{
    if (a->sa_family != b->sa_family)
        return 0;
    if (a->sa_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->sa_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
        return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
               !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr);
    }
    return 0;
}

/* The fields of a resolver state fastres compares. */
static void res_ref_fill(struct fr_res_ref *r, res_state st)
{
    memset(r, 0, sizeof *r);
    r->options = st->options;
    r->retrans = st->retrans;
    r->retry = st->retry;
    r->ndots = st->ndots;
    r->nscount = st->nscount;
    r->nsort = st->nsort;
    for (int i = 0; i < st->nscount && i < MAXNS; i++) {
        const struct sockaddr *sa = res_server(st, i);
        memcpy(&r->ns[i], sa, sa_len(sa));
    }
    for (int i = 0; i < MAXDNSRCH + 1 && st->dnsrch[i]; i++) {
        snprintf(r->dnsrch[i], sizeof r->dnsrch[i], "%s", st->dnsrch[i]);
        r->ndnsrch = i + 1;
    }
}

static int res_ref_take(struct fr_res_ref *r)
{
    struct __res_state st;
    memset(&st, 0, sizeof st);
    if (res_ninit(&st) != 0)
        return 0;
    res_ref_fill(r, &st);
    res_nclose(&st);
    return 1;
}

/* 1 when fastres's reading of the files and of LOCALDOMAIN/RES_OPTIONS
 * agrees with what glibc's res_ninit built from them: a safety net for
 * corner cases of the syntax fastres reads differently (and for glibc's
 * configuration cache, which re-reads the environment only when
 * resolv.conf changes). Servers are not compared: FASTRES_SERVERS may
 * replace them on purpose. */
static int res_ref_agrees(const struct fr_config *c, const struct fr_res_ref *r)
{
    unsigned attempts = r->retry == 0 ? 1u : (unsigned)r->retry;   /* apply_env's clamp */
    if (r->ndots != c->ndots || r->retrans < 0 || (unsigned)r->retrans != c->timeout_s ||
        r->retry < 0 || attempts != c->attempts)
        return 0;
    if (!!(r->options & RES_ROTATE) != !!c->rotate || !!(r->options & RES_USE_EDNS0) != !!c->edns0 ||
        !!(r->options & RES_TRUSTAD) != !!c->trust_ad || !!(r->options & RES_USEVC) != !!c->use_vc ||
        !!(r->options & RES_NOTLDQUERY) != !!c->no_tld_query)
        return 0;
    /* _res holds the first MAXDNSRCH search domains only. */
    unsigned n = c->ndomains < MAXDNSRCH ? c->ndomains : MAXDNSRCH;
    if ((unsigned)r->ndnsrch != n)
        return 0;
    for (unsigned i = 0; i < n; i++)
        if (strcmp(r->dnsrch[i], c->domains[i]) != 0)
            return 0;
    return 1;
}

/* Build a new snapshot from the files; called with cfg_lock held. */
static struct snapshot *snap_build(void)
{
    struct file_id rid, nid;
    char *rtext = NULL, *ntext = NULL;
    struct snapshot *s = NULL;
    const char *bad = NULL;
    if (file_read(RESOLV_CONF, &rtext, &rid) == FILE_ERROR)
        bad = RESOLV_CONF;
    else if (file_read(NSSWITCH_CONF, &ntext, &nid) == FILE_ERROR)
        bad = NSSWITCH_CONF;
    if (bad) {
        /* The caller keeps the last good snapshot, or (none yet) every
         * call goes to libc. One line per failing spell, not per call. */
        if (!atomic_exchange(&read_failed, 1))
            fr_log(FR_LOG_WARN, "config", "cannot read %s (%s): %s", bad, strerror(errno),
                   cfg_cur ? "keeping the configuration read before" : "libc answers until it can be read");
        goto done;
    }
    atomic_store(&read_failed, 0);
    struct fr_config *c = fr_config_parse(rtext, ntext, fr_config_getenv);
    if (!c)
        goto done;
    s = calloc(1, sizeof *s);
    if (!s) {
        fr_config_free(c);
        goto done;
    }
    s->cfg = *c;
    free(c);    /* the domain strings now belong to s->cfg */
    atomic_store(&s->refs, 1);
    /* glibc's view of the same files, to compare against _res later. */
    s->cfg.res_ok = res_ref_take(&s->cfg.res);
    if (s->cfg.res_ok && !s->cfg.punt && !res_ref_agrees(&s->cfg, &s->cfg.res)) {
        s->cfg.punt = "resolver settings read differently from glibc's res_ninit";
        fr_log(FR_LOG_INFO, "config", "%s: libc answers", s->cfg.punt);
    }
    s->cfg.generation = atomic_load(&cfg_gen) + 1;
    id_resolv = rid;
    id_nss = nid;
done:
    free(rtext);
    free(ntext);
    return s;
}

const struct fr_config *fr_config_acquire(void)
{
    pthread_once(&cfg_once, cfg_init);
    if (!cfg_fork_ok)
        return NULL;   /* a child could inherit cfg_lock held: libc answers */
    uint64_t now = fr_clock_now_ms();
    uint64_t checked = atomic_load_explicit(&cfg_checked_ms, memory_order_relaxed);
    int need_check = !atomic_load(&cfg_gen) || now - checked >= FR_CONFIG_RECHECK_MS ||
                     now < checked;
    /* One thread per interval does the stat()s; the others go on with the
     * snapshot they have. */
    if (need_check && (atomic_compare_exchange_strong(&cfg_checked_ms, &checked, now) ||
                       !atomic_load(&cfg_gen))) {
        pthread_mutex_lock(&cfg_lock);
        if (!cfg_cur || file_changed(RESOLV_CONF, &id_resolv) ||
            file_changed(NSSWITCH_CONF, &id_nss)) {
            struct snapshot *s = snap_build();
            if (s) {
                struct snapshot *old = cfg_cur;
                cfg_cur = s;
                atomic_store(&cfg_gen, s->cfg.generation);
                snap_put(old);
                if (old)
                    fr_log(FR_LOG_INFO, "config", "configuration changed, re-read");
            }
        }
        pthread_mutex_unlock(&cfg_lock);
    }

    uint64_t gen = atomic_load(&cfg_gen);
    if (!gen)
        return NULL;
    if (tls_gen != gen || !tls_snap) {
        pthread_mutex_lock(&cfg_lock);
        struct snapshot *old = tls_snap;
        tls_snap = cfg_cur;
        if (tls_snap)
            atomic_fetch_add(&tls_snap->refs, 1);
        tls_gen = tls_snap ? tls_snap->cfg.generation : 0;
        pthread_mutex_unlock(&cfg_lock);
        snap_put(old);
        pthread_setspecific(cfg_key, tls_snap);
    }
    if (tls_snap)
        atomic_fetch_add_explicit(&tls_snap->refs, 1, memory_order_relaxed);
    return tls_snap ? &tls_snap->cfg : NULL;
}

void fr_config_release(const struct fr_config *cfg)
{
    /* cfg is the first member of its snapshot. */
    if (cfg)
        snap_put((struct snapshot *)(void *)cfg);
}

void fr_config_reset(void)
{
    atomic_store(&cfg_checked_ms, 0);
    pthread_mutex_lock(&cfg_lock);
    memset(&id_resolv, 0, sizeof id_resolv);
    memset(&id_nss, 0, sizeof id_nss);
    pthread_mutex_unlock(&cfg_lock);
    /* Make the next acquire check at once, even under a fake clock. */
    atomic_store(&cfg_checked_ms, fr_clock_now_ms() - FR_CONFIG_RECHECK_MS);
}

/* ------------------------------------------------------------------ */
/* _res comparison */

int fr_config_res_matches(const struct fr_config *cfg, res_state statp)
{
    if (!statp || !(statp->options & RES_INIT))
        return 1;   /* glibc initialises it from the same files */
    const struct fr_res_ref *r = &cfg->res;
    if (!cfg->res_ok || statp->options != r->options || statp->retrans != r->retrans ||
        statp->retry != r->retry || statp->ndots != r->ndots || statp->nscount != r->nscount ||
        statp->nsort != r->nsort)
        return 0;
    for (int i = 0; i < statp->nscount && i < MAXNS; i++)
        if (!sa_same(res_server(statp, i), (const struct sockaddr *)&r->ns[i]))
            return 0;
    int n = 0;
    while (n < MAXDNSRCH + 1 && statp->dnsrch[n]) {
        if (n >= r->ndnsrch || strcmp(statp->dnsrch[n], r->dnsrch[n]) != 0)
            return 0;
        n++;
    }
    return n == r->ndnsrch;
}
