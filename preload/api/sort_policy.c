/* fastres: glibc's RFC 3484 policy for the sort (internal to sort*.c).
 *
 * Written from glibc 2.36 sysdeps/posix/getaddrinfo.c (default_labels,
 * default_precedence, default_scopes, match_prefix, get_scope,
 * gaiconf_init). Owns the built-in policy tables and the answer to
 * "does /etc/gai.conf replace them?"; the sort punts to libc when it
 * does, so gai.conf's contents are never parsed here. */
#include "api/sort_int.h"

#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

/* glibc reads its sort policy from here (GAICONF_FNAME). */
#define FR_SORT_GAICONF "/etc/gai.conf"
/* How stale our view of gai.conf may be. glibc itself reads the file once
 * per process (again on mtime change only with "reload yes"); a second is
 * the project's bound on noticing an edit. */
#define FR_SORT_GAICONF_RECHECK_MS 1000

/* ---- policy tables ---------------------------------------------------- */

struct fr_sort_prefix {
    uint8_t prefix[16];
    unsigned bits;
    int val;
};

/* Labels: RFC 3484 section 2.1 default policy table, with glibc's changes
 * (glibc default_labels): fec0::/10 (site-local, RFC 3879) gets label 5 of
 * its own because site-local IPv6 is never NATed, fc00::/7 (ULA, RFC 4193)
 * gets 6, and 2001::/32 (Teredo, RFC 4380) gets 7. First match in this
 * order wins, as in glibc's match_prefix. */
static const struct fr_sort_prefix fr_sort_labels[] = {
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, 0},       /* ::1 */
    {{0x20, 0x02}, 16, 2},                                             /* 6to4 */
    {{0}, 96, 3},                                                      /* IPv4-compatible */
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96, 4},               /* IPv4-mapped */
    {{0xfe, 0xc0}, 10, 5},                                             /* site-local */
    {{0xfc}, 7, 6},                                                    /* ULA */
    {{0x20, 0x01, 0, 0}, 32, 7},                                       /* Teredo */
    {{0}, 0, 1},                                                       /* everything else */
};

/* Precedences: exactly the RFC 3484 section 2.1 default policy table
 * (glibc default_precedence; glibc never adopted RFC 6724's table, so
 * IPv4 stays at 10, below all native IPv6 at 40). */
static const struct fr_sort_prefix fr_sort_precedence[] = {
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, 50},      /* ::1 */
    {{0x20, 0x02}, 16, 30},                                            /* 6to4 */
    {{0}, 96, 20},                                                     /* IPv4-compatible */
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96, 10},              /* IPv4-mapped */
    {{0}, 0, 40},                                                      /* everything else */
};

/* IPv4 scopes (glibc default_scopes, after RFC 3484 section 3.2 / RFC 6724
 * section 3.2): 169.254/16 and 127/8 are link-local (2), the rest global
 * (14). Host byte order; the last entry matches everything. */
static const struct {
    uint32_t addr, mask;
    int scope;
} fr_sort_scopes4[] = {
    {0xa9fe0000u, 0xffff0000u, 2},
    {0x7f000000u, 0xff000000u, 2},
    {0, 0, 14},
};

/* ---- address classification ----------------------------------------- */

/* glibc match_prefix: IPv4 is looked up as ::ffff:a.b.c.d. */
static int fr_sort_match(const union fr_sort_sa *sa, const struct fr_sort_prefix *tab, int dflt)
{
    uint8_t a[16] = {0};
    if (sa->sa.sa_family == AF_INET) {
        a[10] = a[11] = 0xff;
        memcpy(a + 12, &sa->in.sin_addr, 4);
    } else if (sa->sa.sa_family == AF_INET6) {
        memcpy(a, &sa->in6.sin6_addr, 16);
    } else {
        return dflt;
    }
    for (;; tab++) {
        unsigned full = tab->bits / 8, rest = tab->bits % 8;
        if (memcmp(a, tab->prefix, full) != 0)
            continue;
        uint8_t m = (uint8_t)(0xff00 >> rest);
        if (rest == 0 || (a[full] & m) == (tab->prefix[full] & m))
            return tab->val;
    }
}

/* glibc get_scope. IPv6: multicast scope field, link-local and loopback 2,
 * site-local 5, the rest (ULA, v4-mapped included) 14. */
int fr_sort_policy_scope(const union fr_sort_sa *sa)
{
    if (sa->sa.sa_family == AF_INET6) {
        const struct in6_addr *a = &sa->in6.sin6_addr;
        if (IN6_IS_ADDR_MULTICAST(a))
            return a->s6_addr[1] & 0xf;
        if (IN6_IS_ADDR_LINKLOCAL(a) || IN6_IS_ADDR_LOOPBACK(a))
            return 2;
        if (IN6_IS_ADDR_SITELOCAL(a))
            return 5;
        return 14;
    }
    if (sa->sa.sa_family == AF_INET) {
        uint32_t v = ntohl(sa->in.sin_addr.s_addr);
        for (size_t i = 0;; i++)
            if ((v & fr_sort_scopes4[i].mask) == fr_sort_scopes4[i].addr)
                return fr_sort_scopes4[i].scope;
    }
    return 15;
}

/* glibc get_label and get_precedence: the same defaults (INT_MAX, 0) for
 * an address of another family, which getaddrinfo never sorts. */
int fr_sort_policy_label(const union fr_sort_sa *sa)
{
    return fr_sort_match(sa, fr_sort_labels, INT32_MAX);
}

int fr_sort_policy_precedence(const union fr_sort_sa *sa)
{
    return fr_sort_match(sa, fr_sort_precedence, 0);
}

/* ---- /etc/gai.conf ---------------------------------------------------- */

/* true when the file has a line that is neither blank nor a comment, or
 * cannot be read to the end. Missing or unopenable: glibc then uses its
 * built-in tables, so false. */
static bool fr_sort_gaiconf_scan(const char *path)
{
    bool active = false;
    char *line = NULL;
    size_t cap = 0;
    FILE *fp = fopen(path, "re");
    if (!fp)
        goto done;
    while (!active && getline(&line, &cap, fp) > 0) {
        for (const char *p = line; *p && *p != '#'; p++) {
            if (!isspace((unsigned char)*p)) {
                active = true;
                break;
            }
        }
    }
    if (ferror(fp))
        active = true;
    fclose(fp);
done:
    free(line);
    return active;
}

/* (checked_at_ms << 2) | 2 (valid) | 1 (active). One atomic word instead of
 * a lock, so a fork() in another thread can never leave it held. */
static _Atomic uint64_t fr_sort_gaiconf_state;

bool fr_sort_policy_gaiconf_active(uint64_t now)
{
    uint64_t st = atomic_load_explicit(&fr_sort_gaiconf_state, memory_order_acquire);
    /* A clock behind the stamp (tests resetting a fake clock) re-checks. */
    if ((st & 2) && now >= (st >> 2) && now - (st >> 2) < FR_SORT_GAICONF_RECHECK_MS)
        return st & 1;
    /* Concurrent callers may both read the file; either result is fresh. */
    bool active = fr_sort_gaiconf_scan(FR_SORT_GAICONF);
    atomic_store_explicit(&fr_sort_gaiconf_state, (now << 2) | 2u | (active ? 1u : 0u), memory_order_release);
    return active;
}
