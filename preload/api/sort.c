/* fastres: RFC 3484 destination address ordering, as glibc 2.36 does it.
 *
 * Written from a reading of glibc 2.36 sysdeps/posix/getaddrinfo.c
 * (getaddrinfo's sort block, rfc3484_sort, match_prefix, get_scope,
 * gaiconf_init), sysdeps/unix/sysv/linux/check_pf.c (__check_pf) and
 * check_native.c (__check_native). The aim is the same order, not the
 * best order: glibc's deviations from RFC 3484/6724 are kept on purpose
 * and each is marked "glibc:" in the sort*.c files.
 *
 * This file is the entry point: which lists are sorted at all, the memo
 * (sort_memo.c), the sort itself (sources from sort_source.c, rules from
 * sort_rules.c, libc's qsort_r) and the relinking of the nodes. */
#include "api/sort.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "api/sort_int.h"
#include "base/clock.h"

/* Relink the n nodes of *list in order[] and move the canonical name to
 * the new head as glibc does. */
static void fr_sort_relink(struct addrinfo **list, struct addrinfo **nodes, size_t n, const size_t *order)
{
    size_t canon_holders = 0;
    char *canon = NULL;
    for (size_t i = 0; i < n; i++) {
        if (nodes[i]->ai_canonname) {
            canon = nodes[i]->ai_canonname;
            canon_holders++;
        }
    }
    struct addrinfo *head = nodes[order[0]], *q = head;
    for (size_t i = 1; i < n; i++)
        q = q->ai_next = nodes[order[i]];
    q->ai_next = NULL;
    /* glibc moves the canonical name to the new first entry. Several
     * holders cannot come from getaddrinfo; leave those names alone. */
    if (canon_holders == 1) {
        for (size_t i = 0; i < n; i++)
            nodes[i]->ai_canonname = NULL;
        head->ai_canonname = canon;
    }
    *list = head;
}

/* ---- entry point ------------------------------------------------------ */

enum fr_status fr_sort_addrinfo(struct addrinfo **list)
{
    enum fr_status st = FR_OK;
    struct fr_sort_dest *d = NULL;
    size_t *order = NULL;
    struct addrinfo **nodes = NULL;
    struct fr_sort_iflist ifl = {0};

    size_t n = 0;
    bool one_address = true;
    for (struct addrinfo *p = *list; p; p = p->ai_next, n++) {
        /* Only what getaddrinfo builds: its sort would crash on anything
         * else, so let libc answer such a call itself. */
        if (!p->ai_addr || (p->ai_family == AF_INET && p->ai_addrlen != sizeof(struct sockaddr_in)) ||
            (p->ai_family == AF_INET6 && p->ai_addrlen != sizeof(struct sockaddr_in6)) ||
            (p->ai_family != AF_INET && p->ai_family != AF_INET6) || p->ai_addr->sa_family != p->ai_family)
            return FR_PUNT;
        if (p != *list && (p->ai_addrlen != (*list)->ai_addrlen || memcmp(p->ai_addr, (*list)->ai_addr, p->ai_addrlen)))
            one_address = false;
    }
    /* glibc sorts only lists of more than one address (naddrs > 1) and
     * reads gai.conf only then; a single address keeps its order anyway. */
    if (n < 2 || one_address)
        return FR_OK;
    /* One clock read for the gai.conf check and the memo. */
    uint64_t now = fr_clock_now_ms();
    if (fr_sort_policy_gaiconf_active(now))
        return FR_PUNT;

    struct sockaddr_in6 key[FR_SORT_MEMO_MAX];
    /* Read before the sort: a fr_sort_forget() during it voids the result. */
    uint64_t epoch = fr_sort_memo_epoch();
    size_t nkey = fr_sort_memo_key(*list, key);
    if (nkey) {
        size_t ord[FR_SORT_MEMO_MAX];
        if (fr_sort_memo_find(key, nkey, now, ord)) {
            struct addrinfo *mnodes[FR_SORT_MEMO_MAX];
            size_t k = 0;
            for (struct addrinfo *p = *list; p; p = p->ai_next)
                mnodes[k++] = p;
            fr_sort_relink(list, mnodes, nkey, ord);
            return FR_OK;
        }
    }

    d = calloc(n, sizeof(*d));
    order = calloc(n, sizeof(*order));
    nodes = calloc(n, sizeof(*nodes));
    if (!d || !order || !nodes) {
        st = FR_NOMEM;
        goto done;
    }
    size_t i = 0;
    for (struct addrinfo *p = *list; p; p = p->ai_next, i++) {
        d[i].ai = p;
        order[i] = i;
    }
    fr_sort_source_fill(d, n, &ifl);

    /* libc's own qsort_r: glibc 2.36's is a merge sort; the comparator is
     * not transitive in every case, so the algorithm (not just the rules)
     * decides the result, and using libc's keeps the two identical. */
    struct fr_sort_ctx ctx = {d, n};
    qsort_r(order, n, sizeof(*order), fr_sort_rules_cmp, &ctx);

    if (nkey)
        fr_sort_memo_put(key, nkey, now, epoch, order);
    for (i = 0; i < n; i++)
        nodes[i] = d[i].ai;
    fr_sort_relink(list, nodes, n, order);
done:
    free(ifl.a);
    free(d);
    free(order);
    free(nodes);
    return st;
}
