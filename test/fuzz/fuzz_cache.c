/* fastres fuzz harness: cache store -> lookup -> TTL count-down
 * (preload/lookup/cache*.c) with a reply as it comes off the network.
 *
 * Input: 4 octets of settings (cache clamps, lookup times), then the reply.
 * The reply is stored under its own question (as the engine does after
 * fr_msg_validate). Whatever the cache accepts must come out, at every
 * lookup time, (1) octet for octet the same except the TTL fields of
 * records other than OPT, (2) still valid, (3) meaning the same: the same
 * names (question, owners, names in rdata), the same addresses and
 * canonical name for A/AAAA, and (4) with TTLs no larger than stored
 * (raised to the configured minimum at most) and than *ttl_left; stale
 * hits carry FR_CACHE_STALE_TTL. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lookup/cache.h"
#include "dns/msg.h"
#include "fuzz.h"

#define T0 1000000000ull

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Text of a name, or "" marked failed in *ok. */
static void text_of(const uint8_t *m, size_t len, size_t off, char *out, size_t cap, int *ok)
{
    *ok = fr_msg_name_text(m, len, off, out, cap) == FR_OK;
    if (!*ok)
        out[0] = '\0';
}

/* Compare the name at off in both messages (the same offsets: only TTL
 * octets differ). */
static void same_name(const uint8_t *a, const uint8_t *b, size_t len, size_t off)
{
    char ta[FR_MSG_NAME_MAX * 4 + 1], tb[FR_MSG_NAME_MAX * 4 + 1];
    int oka, okb;
    text_of(a, len, off, ta, sizeof ta, &oka);
    text_of(b, len, off, tb, sizeof tb, &okb);
    CHECK(oka == okb);
    CHECK(strcmp(ta, tb) == 0);
}

static void same_addrs(const uint8_t *a, const uint8_t *b, size_t len, uint16_t qtype)
{
    static struct fr_msg_addrs x, y;
    enum fr_status sa = fr_msg_addrs(a, len, qtype, &x);
    enum fr_status sb = fr_msg_addrs(b, len, qtype, &y);
    CHECK(sa == sb);
    if (sa != FR_OK)
        return;
    CHECK(x.n == y.n && x.family == y.family);
    CHECK(memcmp(x.addr, y.addr, sizeof x.addr[0] * x.n) == 0);
    CHECK(strcmp(x.canon, y.canon) == 0);
    CHECK(x.naliases == y.naliases);
    for (unsigned i = 0; i < x.naliases; i++) {
        CHECK(x.alias_off[i] == y.alias_off[i]);
        same_name(a, b, len, x.alias_off[i]);
    }
}

static void check_served(const uint8_t *orig, size_t len, const uint8_t *out, size_t got,
                         enum fr_cache_hit hit, uint32_t left, uint32_t floor_ttl)
{
    struct fr_msg_iter it;
    struct fr_msg_rr rr;
    size_t prev = 0;

    CHECK(got == len);
    CHECK(left > 0);
    CHECK(fr_msg_validate(out, got) == FR_OK);
    CHECK(fr_msg_iter_init(&it, orig, len) == FR_OK);
    while (fr_msg_iter_next(&it, &rr) == FR_OK) {
        same_name(orig, out, len, rr.name_off);
        if (rr.section == FR_SEC_QUESTION)
            continue;
        size_t t = rr.rdata_off - 6;
        /* (1) everything between TTL fields is untouched */
        CHECK(memcmp(orig + prev, out + prev, t - prev) == 0);
        prev = t + 4;
        uint32_t was = get32(orig + t), now = get32(out + t);
        if (rr.type == FR_T_OPT) {
            CHECK(was == now);
        } else if (hit == FR_CACHE_STALE) {
            CHECK(now == FR_CACHE_STALE_TTL);
        } else {
            uint32_t bound = fr_msg_ttl(was) > floor_ttl ? fr_msg_ttl(was) : floor_ttl;
            CHECK(now <= bound);
            CHECK(now <= left);
        }
        /* (3) names inside rdata */
        switch (rr.type) {
        case FR_T_CNAME: case FR_T_NS: case FR_T_PTR:
            same_name(orig, out, len, rr.rdata_off);
            break;
        case FR_T_MX:
            same_name(orig, out, len, rr.rdata_off + 2);
            break;
        case FR_T_SRV:
            if (rr.rdlen > 6)
                same_name(orig, out, len, rr.rdata_off + 6);
            break;
        case FR_T_SOA: {
            size_t n2;
            same_name(orig, out, len, rr.rdata_off);
            if (fr_msg_name_skip(orig, len, rr.rdata_off, &n2) == FR_OK)
                same_name(orig, out, len, n2);
            break;
        }
        default:
            break;
        }
    }
    CHECK(memcmp(orig + prev, out + prev, len - prev) == 0);
    same_addrs(orig, out, len, FR_T_A);
    same_addrs(orig, out, len, FR_T_AAAA);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t mins[4] = { 0, 1, 60, 3600 };
    static const uint32_t maxs[4] = { 0, 1, 300, 86400 };
    static uint8_t out[FR_CACHE_MSG_MAX];
    struct fr_msg_iter it;
    struct fr_msg_rr q;
    char name[FR_MSG_NAME_MAX * 4 + 1];

    if (size < 4)
        return 0;
    uint8_t s0 = data[0];
    uint32_t min_ttl = mins[s0 & 3], max_ttl = maxs[(s0 >> 2) & 3];
    uint32_t stale_max = (s0 & 0x10) ? 600 : 0;
    int refresh = !!(s0 & 0x20);
    /* lookup times: two offsets in seconds (up to 65535 s), plus one past
     * any stale window */
    uint64_t d1 = (uint64_t)data[1] * 257, d2 = d1 + (uint64_t)data[2] * 257 + data[3];
    data += 4;
    size -= 4;
    uint8_t *msg = malloc(size ? size : 1);
    if (!msg)
        return 0;
    memcpy(msg, data, size);

    /* The key is the reply's own question; garbage gets a fixed name. */
    uint16_t qtype = FR_T_A, qclass = FR_C_IN;
    if (fr_msg_iter_init(&it, msg, size) == FR_OK && fr_msg_iter_next(&it, &q) == FR_OK &&
        q.section == FR_SEC_QUESTION && fr_msg_name_text(msg, size, q.name_off, name, sizeof name) == FR_OK) {
        qtype = q.type;
        qclass = q.rclass;
    } else {
        strcpy(name, "fuzz.example");
    }

    struct fr_cache_conf conf = { .max_entries = 4, .min_ttl = min_ttl, .max_ttl = max_ttl,
                                  .neg_max_ttl = max_ttl, .stale_max = stale_max, .refresh = refresh };
    struct fr_cache *c = fr_cache_create(&conf);
    CHECK(c);
    enum fr_status st = fr_cache_store(c, name, qtype, qclass, msg, size, T0);
    if (st == FR_OK) {
        CHECK(fr_msg_validate(msg, size) == FR_OK);
        uint64_t when[4] = { T0, T0 + d1 * 1000, T0 + d2 * 1000 + 999, T0 + (d2 + 86400) * 1000 };
        for (int i = 0; i < 4; i++) {
            size_t got = 0;
            uint32_t left = 0;
            enum fr_cache_hit h = fr_cache_lookup(c, name, qtype, qclass, when[i], 1, out, sizeof out,
                                                  &got, &left);
            /* Just stored: always there. */
            if (i == 0)
                CHECK(h == FR_CACHE_FRESH || h == FR_CACHE_REFRESH);
            if (h != FR_CACHE_MISS)
                check_served(msg, size, out, got, h, left, h == FR_CACHE_STALE ? 0 : min_ttl);
        }
        /* A buffer one octet short is a miss that leaves it alone. */
        if (size > 0) {
            size_t got = 7;
            uint32_t left = 7;
            CHECK(fr_cache_lookup(c, name, qtype, qclass, T0, 1, out, size - 1, &got, &left) ==
                  FR_CACHE_MISS);
            CHECK(got == 7 && left == 7);
        }
    } else {
        CHECK(st == FR_FAIL || st == FR_RANGE || st == FR_BADNAME || st == FR_NOMEM);
        size_t got;
        uint32_t left;
        CHECK(fr_cache_lookup(c, name, qtype, qclass, T0, 1, out, sizeof out, &got, &left) ==
              FR_CACHE_MISS);
    }
    struct fr_cache_stats cs;
    fr_cache_stats(c, &cs);
    CHECK(cs.entries <= 4);
    fr_cache_destroy(c);
    free(msg);
    return 0;
}
