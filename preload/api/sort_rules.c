/* fastres: the RFC 3484 comparison of two destinations, as glibc 2.36's
 * rfc3484_sort does it (internal to sort*.c).
 *
 * Written from glibc 2.36 sysdeps/posix/getaddrinfo.c (rfc3484_sort). Owns
 * the ten rules and their order, with glibc's deviations from RFC 3484/6724
 * kept on purpose (each marked "glibc:"); the policy tables come from
 * sort_policy.c, the sources from sort_source.c, rule 7's link types from
 * sort_iface.c. Called only through qsort_r by sort.c; writes nothing but
 * the rule 7 cache in the destinations of the list being sorted. */
#include "api/sort_int.h"

#include <string.h>

#include <arpa/inet.h>

/* glibc's "fls" is really a count of leading zero bits (32 for 0): the
 * length of the common prefix within one 32-bit word. */
static int fr_sort_common_bits(uint32_t x)
{
    return x ? __builtin_clz(x) : 32;
}

/* glibc computes 0xffffffffu << (32 - prefixlen); with prefixlen 0 (source
 * not in the interface list) that shift is by 32, which the x86 shift
 * instruction performs modulo 32: the mask is all ones, so only a
 * destination equal to its source scores. Reproduced here without UB. */
static uint32_t fr_sort_mask4(unsigned prefixlen)
{
    return 0xffffffffu << ((32u - prefixlen) & 31u);
}

static const union fr_sort_sa *fr_sort_dst(const struct fr_sort_dest *d)
{
    return (const union fr_sort_sa *)d->ai->ai_addr;
}

/* Rule 7 input, cached per interface as glibc does; unknown counts as 0. */
static void fr_sort_fill_native(struct fr_sort_ctx *c, struct fr_sort_dest *a1, struct fr_sort_dest *a2, int *n1,
                                int *n2)
{
    *n1 = a1->native;
    *n2 = a2->native;
    if (*n1 != -1 && *n2 != -1)
        return;
    struct fr_sort_native_q q = {{FR_SORT_NO_INDEX, FR_SORT_NO_INDEX}, {n1, n2}};
    if (*n1 == -1) {
        *n1 = 0;
        q.idx[0] = a1->index;
    }
    if (*n2 == -1) {
        *n2 = 0;
        q.idx[1] = a2->index;
    }
    uint32_t want1 = q.idx[0], want2 = q.idx[1];
    fr_sort_iface_native(&q);
    for (size_t i = 0; i < c->n; i++) {
        if (want1 != FR_SORT_NO_INDEX && c->d[i].index == want1)
            c->d[i].native = *n1;
        else if (want2 != FR_SORT_NO_INDEX && c->d[i].index == want2)
            c->d[i].native = *n2;
    }
}

/* glibc rfc3484_sort, rule for rule. Negative: p1 first. */
int fr_sort_rules_cmp(const void *p1, const void *p2, void *arg)
{
    struct fr_sort_ctx *c = arg;
    size_t i1 = *(const size_t *)p1, i2 = *(const size_t *)p2;
    struct fr_sort_dest *a1 = &c->d[i1], *a2 = &c->d[i2];

    /* Rule 1: avoid unusable destinations (no route: connect failed). */
    if (a1->got_src != a2->got_src)
        return a1->got_src ? -1 : 1;

    /* From here on both have a source or neither has. */
    int dscope1 = fr_sort_policy_scope(fr_sort_dst(a1)), dscope2 = fr_sort_policy_scope(fr_sort_dst(a2));

    /* Rule 2: prefer matching scope. */
    if (a1->got_src) {
        bool m1 = dscope1 == fr_sort_policy_scope(&a1->src), m2 = dscope2 == fr_sort_policy_scope(&a2->src);
        if (m1 != m2)
            return m1 ? -1 : 1;
    }
    /* Rule 3: avoid deprecated source addresses. */
    if (a1->got_src) {
        bool d1 = a1->flags & FR_SORT_DEPRECATED, d2 = a2->flags & FR_SORT_DEPRECATED;
        if (d1 != d2)
            return d1 ? 1 : -1;
    }
    /* Rule 4: prefer home addresses. */
    if (a1->got_src) {
        bool h1 = a1->flags & FR_SORT_HOME, h2 = a2->flags & FR_SORT_HOME;
        if (h1 != h2)
            return h1 ? -1 : 1;
    }
    /* Rule 5: prefer matching label. */
    if (a1->got_src) {
        bool m1 = fr_sort_policy_label(fr_sort_dst(a1)) == fr_sort_policy_label(&a1->src);
        bool m2 = fr_sort_policy_label(fr_sort_dst(a2)) == fr_sort_policy_label(&a2->src);
        if (m1 != m2)
            return m1 ? -1 : 1;
    }
    /* Rule 6: prefer higher precedence. */
    int prec1 = fr_sort_policy_precedence(fr_sort_dst(a1));
    int prec2 = fr_sort_policy_precedence(fr_sort_dst(a2));
    if (prec1 != prec2)
        return prec1 > prec2 ? -1 : 1;

    /* Rule 7: prefer native transport, asked only when the interfaces
     * differ. */
    if (a1->got_src && a1->index != a2->index) {
        int n1, n2;
        fr_sort_fill_native(c, a1, a2, &n1, &n2);
        if (!n1 != !n2)
            return n1 ? -1 : 1;
    }
    /* Rule 8: prefer smaller scope. */
    if (dscope1 != dscope2)
        return dscope1 < dscope2 ? -1 : 1;

    /* Rule 9: longest matching prefix, same family only. */
    if (a1->got_src && a1->ai->ai_family == a2->ai->ai_family) {
        int bits1 = 0, bits2 = 0;
        if (a1->ai->ai_family == AF_INET) {
            /* glibc: IPv4 prefixes count only inside the source's subnet. */
            uint32_t d1 = ntohl(fr_sort_dst(a1)->in.sin_addr.s_addr), s1 = ntohl(a1->src.in.sin_addr.s_addr);
            uint32_t d2 = ntohl(fr_sort_dst(a2)->in.sin_addr.s_addr), s2 = ntohl(a2->src.in.sin_addr.s_addr);
            uint32_t m1 = fr_sort_mask4(a1->prefixlen), m2 = fr_sort_mask4(a2->prefixlen);
            if ((s1 & m1) == (d1 & m1))
                bits1 = fr_sort_common_bits(d1 ^ s1);
            if ((s2 & m2) == (d2 & m2))
                bits2 = fr_sort_common_bits(d2 ^ s2);
        } else if (a1->ai->ai_family == AF_INET6) {
            /* glibc: walk 32-bit words until either pair differs, then
             * compare the common bits of that one word only. */
            uint32_t d1[4], s1[4], d2[4], s2[4];
            memcpy(d1, &fr_sort_dst(a1)->in6.sin6_addr, 16);
            memcpy(s1, &a1->src.in6.sin6_addr, 16);
            memcpy(d2, &fr_sort_dst(a2)->in6.sin6_addr, 16);
            memcpy(s2, &a2->src.in6.sin6_addr, 16);
            int w = 0;
            while (w < 4 && d1[w] == s1[w] && d2[w] == s2[w])
                w++;
            if (w < 4) {
                bits1 = fr_sort_common_bits(ntohl(d1[w] ^ s1[w]));
                bits2 = fr_sort_common_bits(ntohl(d2[w] ^ s2[w]));
            }
        }
        if (bits1 != bits2)
            return bits1 > bits2 ? -1 : 1;
    }
    /* Rule 10: keep the original order. */
    return i1 < i2 ? -1 : 1;
}
