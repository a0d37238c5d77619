/* fastres: resolv.conf, LOCALDOMAIN and RES_OPTIONS as glibc's res_init
 * reads them, and nameserver addresses (see config_int.h). */
#include "base/config_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Parse "1.2.3.4", "1.2.3.4:53", "::1", "[::1]:53", "fe80::1%eth0",
 * "[fe80::1%2]:5353". allow_port is 0 for resolv.conf, whose nameserver
 * lines take no port. */
int fr_config_server_parse(const char *text, int allow_port, struct fr_server *out)
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

void fr_config_domains_clear(struct fr_config *c)
{
    for (unsigned i = 0; i < c->ndomains; i++)
        free(c->domains[i]);
    c->ndomains = 0;
}

/* Split the rest of a search/domain line into the search list. */
static int config_domains_set(struct fr_config *c, char *rest, int only_first)
{
    fr_config_domains_clear(c);
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

static unsigned config_opt_num(const char *v, unsigned cap)
{
    unsigned long n = strtoul(v, NULL, 10);
    return n > cap ? cap : (unsigned)n;
}

/* glibc's res_init matches flag options by prefix (strncmp with the
 * option's length): "rotatex" is rotate, "edns0=1" is edns0. */
static int config_opt_is(const char *o, const char *name)
{
    return !strncmp(o, name, strlen(name));
}

/* res_setoptions: options separated by blanks (resolv.conf lines end at
 * the newline; RES_OPTIONS is split on spaces and tabs only, so there a
 * newline is part of an option, as in glibc). */
void fr_config_options_parse(struct fr_config *c, char *rest, const char *seps)
{
    char *save = NULL;
    for (char *o = strtok_r(rest, seps, &save); o; o = strtok_r(NULL, seps, &save)) {
        if (!strncmp(o, "ndots:", 6))
            c->ndots = config_opt_num(o + 6, FR_MAX_NDOTS);
        else if (!strncmp(o, "timeout:", 8))
            c->timeout_s = config_opt_num(o + 8, FR_MAX_TIMEOUT_S);
        else if (!strncmp(o, "attempts:", 9))
            c->attempts = config_opt_num(o + 9, FR_MAX_ATTEMPTS);
        else if (config_opt_is(o, "rotate"))
            c->rotate = 1;   /* meaningless when every server is asked at once */
        else if (config_opt_is(o, "edns0"))
            c->edns0 = 1;
        else if (config_opt_is(o, "trust-ad"))
            c->trust_ad = 1;
        else if (config_opt_is(o, "use-vc"))
            c->use_vc = 1;
        else if (config_opt_is(o, "no-tld-query") || config_opt_is(o, "no_tld_query"))
            c->no_tld_query = 1;   /* glibc accepts both spellings */
        else if (config_opt_is(o, "single-request") || config_opt_is(o, "no-reload") || !strcmp(o, "debug"))
            ;   /* transport or diagnostics only: fastres always uses separate sockets */
        else if (config_opt_is(o, "no-aaaa") || !strcmp(o, "inet6") || !strcmp(o, "no-check-names") ||
                 !strcmp(o, "ip6-bytestring") || !strcmp(o, "ip6-dotint") ||
                 !strcmp(o, "no-ip6-dotint"))
            c->punt = "resolv.conf option fastres does not implement";
        /* glibc ignores unknown options; so does fastres. */
    }
}

/* LOCALDOMAIN as res_vinit_1 splits it: the first name runs to the first
 * blank (so a leading blank gives an empty first name), each later run
 * of non-blanks is a name, and a newline ends the list. */
static int config_domains_from_env(struct fr_config *c, const char *v)
{
    size_t len = strcspn(v, "\n");
    char *buf = strndup(v, len);
    if (!buf)
        return -1;
    fr_config_domains_clear(c);
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
int fr_config_resolv_parse(struct fr_config *c, const char *text, const char *localdomain)
{
    unsigned nns = 0;
    int have_search = 0;
    if (localdomain) {
        if (config_domains_from_env(c, localdomain) != 0)
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
                    fr_config_server_parse(rest, 0, &c->servers[nns]) == 0)
                    nns++;
            } else if (!strncmp(line, "domain", 6) && (line[6] == ' ' || line[6] == '\t')) {
                if (localdomain)
                    continue;   /* glibc: LOCALDOMAIN overrides the file */
                if (config_domains_set(c, line + 7, 1) != 0)
                    return -1;
                have_search = 1;
            } else if (!strncmp(line, "search", 6) && (line[6] == ' ' || line[6] == '\t')) {
                if (localdomain)
                    continue;
                if (config_domains_set(c, line + 7, 0) != 0)
                    return -1;
                have_search = 1;
            } else if (!strncmp(line, "options", 7) && (line[7] == ' ' || line[7] == '\t')) {
                fr_config_options_parse(c, line + 8, " \t\n");
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
            if (dot && dot[1] && config_domains_set(c, dot + 1, 1) != 0)
                return -1;
        }
    }
    return 0;
}
