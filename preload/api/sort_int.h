/* fastres: internal to sort*.c (the RFC 3484 sort of getaddrinfo results).
 *
 * The sort is one module in six files, called in this order by the entry
 * point (sort.c, fr_sort_addrinfo):
 *   sort_policy.c  glibc's policy tables (labels, precedences, scopes) and
 *                  whether /etc/gai.conf replaces them;
 *   sort_memo.c    the per-thread memo of recent orders (fr_sort_forget);
 *   sort_source.c  the source address of each destination (UDP connect());
 *   sort_iface.c   the interface view over rtnetlink (addresses, link types);
 *   sort_rules.c   the comparison of two destinations, rule by rule.
 * Nothing here holds a lock; state is an atomic word or thread-local, and
 * every descriptor is opened and closed within one call, so there is
 * nothing to do at fork. Nothing outside sort*.c includes this header. */
#ifndef FR_SORT_INT_H
#define FR_SORT_INT_H

#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* glibc's "unknown interface" index (0xffffffffu in sort_result.index). */
#define FR_SORT_NO_INDEX UINT32_MAX

/* Source address flags, glibc's in6ai_deprecated / in6ai_homeaddress. */
#define FR_SORT_DEPRECATED 1
#define FR_SORT_HOME 2

/* ---- per-destination state (glibc struct sort_result) ---------------- */

union fr_sort_sa {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
};

struct fr_sort_dest {
    struct addrinfo *ai;
    union fr_sort_sa src;  /* source the kernel picked; AF_INET for IPv4 */
    bool got_src;          /* connect() worked: the destination is usable */
    uint8_t flags;         /* FR_SORT_DEPRECATED | FR_SORT_HOME of src */
    uint8_t prefixlen;     /* of the interface address src was found as */
    uint32_t index;        /* its interface, or FR_SORT_NO_INDEX */
    int native;            /* rule 7 cache: -1 unknown, else 0/1 */
};

/* The comparator's argument: all destinations of the list being sorted. */
struct fr_sort_ctx {
    struct fr_sort_dest *d;
    size_t n;
};

/* One interface address as glibc's struct in6addrinfo holds it. */
struct fr_sort_ifaddr {
    uint8_t addr[16];  /* IPv4 as ::ffff:a.b.c.d */
    uint32_t index;
    uint8_t flags;
    uint8_t prefixlen;
};

struct fr_sort_iflist {
    struct fr_sort_ifaddr *a;
    size_t n, cap;
    bool seen_ipv6;   /* a non-loopback IPv6 address exists */
    bool failed;
};

/* Rule 7's question: the link type of up to two interfaces. */
struct fr_sort_native_q {
    uint32_t idx[2];   /* FR_SORT_NO_INDEX: nothing to ask */
    int *native[2];
};

/* ---- sort_policy.c ---------------------------------------------------- */

/* glibc's label, precedence and scope of an address (IPv4 or IPv6). */
int fr_sort_policy_label(const union fr_sort_sa *sa);
int fr_sort_policy_precedence(const union fr_sort_sa *sa);
int fr_sort_policy_scope(const union fr_sort_sa *sa);

/* true when /etc/gai.conf has active lines (glibc would then sort by other
 * tables): seen at most FR_SORT_GAICONF_RECHECK_MS ago, now from the
 * clock. Lock-free, any thread. */
bool fr_sort_policy_gaiconf_active(uint64_t now);

/* ---- sort_iface.c ----------------------------------------------------- */

/* Fill *l (zeroed by the caller, freed with free(l->a)) with the machine's
 * interface addresses sorted by address, as glibc's __check_pf and qsort;
 * on failure, or without a non-loopback IPv6 address, l->a stays NULL and
 * l->failed is set. */
void fr_sort_iface_load(struct fr_sort_iflist *l);

/* The interface address equal to key->addr, as glibc's bsearch finds it,
 * or NULL. */
const struct fr_sort_ifaddr *fr_sort_iface_find(const struct fr_sort_iflist *l, const struct fr_sort_ifaddr *key);

/* Set *q->native[k] (1 native, 0 tunnel) for every q->idx[k] found among
 * the links (glibc __check_native); others are left as they were. */
void fr_sort_iface_native(struct fr_sort_native_q *q);

/* ---- sort_source.c ---------------------------------------------------- */

/* Fill src, got_src, flags, prefixlen, index and native (-1) of d[0..n-1]
 * (ai set) by glibc's connect loop; *l is loaded on first need. */
void fr_sort_source_fill(struct fr_sort_dest *d, size_t n, struct fr_sort_iflist *l);

/* ---- sort_rules.c ----------------------------------------------------- */

/* glibc rfc3484_sort for qsort_r over indexes into arg's
 * (struct fr_sort_ctx) destinations. Negative: p1 first. */
int fr_sort_rules_cmp(const void *p1, const void *p2, void *arg);

/* ---- sort_memo.c ------------------------------------------------------ */

/* Longest list remembered: five addresses with three socket types, or
 * sixteen with one; longer lists are sorted every time. */
#define FR_SORT_MEMO_MAX 16

/* The current epoch, read before a sort so that a fr_sort_forget() during
 * it voids the result. */
uint64_t fr_sort_memo_epoch(void);

/* The list's key: each node's sockaddr zero-padded to one size, into
 * key[FR_SORT_MEMO_MAX]. Returns the number of nodes, 0 when too long. */
size_t fr_sort_memo_key(const struct addrinfo *list, struct sockaddr_in6 *key);

/* The order remembered for key[0..n-1] at now, into order[0..n-1]: true
 * on a hit. This thread's memo only. */
bool fr_sort_memo_find(const struct sockaddr_in6 *key, size_t n, uint64_t now, size_t *order);

/* Remember order[0..n-1] for key[0..n-1], found at now in epoch. */
void fr_sort_memo_put(const struct sockaddr_in6 *key, size_t n, uint64_t now, uint64_t epoch, const size_t *order);

#endif
