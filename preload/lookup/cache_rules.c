/* fastres: the rules both answer caches follow (see cache_rules.h). */
#include "lookup/cache_rules.h"

#include <string.h>

#include "lookup/cache.h"
#include "dns/msg.h"

/* ---- keys ---- */

enum fr_status fr_cache_key(const char *name, size_t max, uint16_t qtype, uint16_t qclass, char *out,
                            size_t *outlen, uint32_t *hash)
{
    size_t n, i, bs = 0;
    uint32_t h = 2166136261u;  /* FNV-1a offset basis */

    if (!name)
        return FR_BADNAME;
    n = strnlen(name, max + 2);
    /* One trailing dot means the same name (absolute form), unless it is
     * escaped ("a\." ends in a label holding a dot). */
    if (n > 0 && name[n - 1] == '.') {
        for (i = n - 1; i > 0 && name[i - 1] == '\\'; i--)
            bs++;
        if (bs % 2 == 0)
            n--;
    }
    if (n > max)
        return FR_BADNAME;
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (ch >= 'A' && ch <= 'Z')
            ch = (unsigned char)(ch - 'A' + 'a');
        out[i] = (char)ch;
        h = (h ^ ch) * 16777619u;  /* FNV prime */
    }
    h = (h ^ qtype) * 16777619u;
    h = (h ^ qclass) * 16777619u;
    *outlen = n;
    /* murmur3 fmix32: FNV's high bits (used to pick the shard) are weak
     * for short keys. */
    *hash = (uint32_t)fr_cache_fmix(h, 0);
    return FR_OK;
}

/* MurmurHash3's fmix32 and fmix64 are one body: the same three
 * xor-shifts and two multiplies, each width with its own shifts and
 * constants, its products taken modulo 2^32 or 2^64. */
uint64_t fr_cache_fmix(uint64_t h, int wide)
{
    static const struct fr_cache_fmix_k {
        unsigned s1, s2;
        uint64_t k1, k2, mask;
    } fm[2] = {
        { 16, 13, 0x85ebca6bu, 0xc2b2ae35u, 0xffffffffu },
        { 33, 33, 0xff51afd7ed558ccdull, 0xc4ceb9fe1a85ec53ull, ~0ull },
    };
    const struct fr_cache_fmix_k *p = &fm[wide != 0];
    h &= p->mask;
    h ^= h >> p->s1;
    h = h * p->k1 & p->mask;
    h ^= h >> p->s2;
    h = h * p->k2 & p->mask;
    return h ^ h >> p->s1;
}

/* ---- what may be kept, and how long ---- */

/* 1 when the reply's question is (key, qtype, qclass): a reply stored under
 * another question would answer the wrong name. */
static int fr_cache_question_is(const uint8_t *msg, size_t len, const char *key, size_t keylen,
                                uint16_t qtype, uint16_t qclass)
{
    struct fr_msg_iter it;
    struct fr_msg_rr rr;
    char text[FR_CACHE_NAME_MAX + 2];
    char qkey[FR_CACHE_NAME_MAX];
    size_t qlen;
    uint32_t h;

    if (fr_msg_iter_init(&it, msg, len) != FR_OK || fr_msg_iter_next(&it, &rr) != FR_OK ||
        rr.section != FR_SEC_QUESTION || rr.type != qtype || rr.rclass != qclass)
        return 0;
    if (fr_msg_name_text(msg, len, rr.name_off, text, sizeof text) != FR_OK ||
        fr_cache_key(text, FR_CACHE_NAME_MAX, qtype, qclass, qkey, &qlen, &h) != FR_OK)
        return 0;
    return qlen == keylen && memcmp(qkey, key, keylen) == 0;
}

enum fr_status fr_cache_fit(const uint8_t *msg, size_t len, const char *key, size_t keylen, uint16_t qtype,
                            uint16_t qclass, uint32_t *ttl, int *negative)
{
    uint32_t t;
    int neg;
    if (fr_msg_cache_ttl(msg, len, &t, &neg) != FR_OK ||
        !fr_cache_question_is(msg, len, key, keylen, qtype, qclass))
        return FR_FAIL;
    /* RFC 1035 3.2.1: TTL 0 means "use for this transaction only"; checked
     * before the clamp so min_ttl cannot revive it. A TTL with the top bit
     * set (RFC 2181 8) is already 0 here: fr_msg_cache_ttl reads each TTL
     * through fr_msg_ttl before taking the minimum. */
    if (t == 0)
        return FR_FAIL;
    /* A hit hands out the reply with its TTLs counted down in place (and
     * the caller puts its own ID in the header). A name compressed into
     * those bytes would read differently once served: a hostile CNAME
     * target pointing at a TTL of 0x03616263 reads "abc" when stored and ""
     * once the TTL is 300. Such replies are not stored (they are still
     * answered, uncached, exactly as received). Refusing is chosen over
     * the alternatives: RFC 1035 4.1.4 pointers name a prior occurrence
     * of a name, so no honest server emits one into a fixed field and
     * nothing real goes uncached; re-encoding every reply would need an
     * encoder for every record type; and not counting TTLs down would
     * break the caches' promise of TTLs no longer than what is left.
     * Both caches count down, so the rule is here, on the store path. */
    enum fr_status st = fr_msg_names_stable(msg, len);
    if (st != FR_OK)
        return st;
    *ttl = t;
    *negative = neg;
    return FR_OK;
}

uint32_t fr_cache_clamp(uint32_t ttl, int negative, uint32_t min_ttl, uint32_t max_ttl, uint32_t neg_max_ttl,
                        uint32_t *floor_ttl)
{
    *floor_ttl = 0;
    if (negative) {
        if (neg_max_ttl && ttl > neg_max_ttl)
            ttl = neg_max_ttl;
    } else {
        if (ttl < min_ttl)
            ttl = min_ttl;
        if (max_ttl && ttl > max_ttl)
            ttl = max_ttl;
        *floor_ttl = min_ttl;
    }
    return ttl;
}

/* ---- serving a copy ---- */

void fr_cache_age(uint64_t stored_ms, uint64_t expire_ms, uint64_t now_ms, uint32_t *elapsed, uint32_t *left)
{
    *left = (uint32_t)((expire_ms - now_ms + 999) / 1000);
    *elapsed = now_ms > stored_ms ? (uint32_t)((now_ms - stored_ms) / 1000) : 0;
}

/* ---- TTL rewriting ---- */

static uint32_t fr_cache_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void fr_cache_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Rewrite the TTL of every record of the copy: stale answers get the RFC
 * 8767 TTL; others max(ttl, floor) - elapsed, at least 0 and at most
 * ttl_left, so nothing claims to be valid longer than the cache keeps it.
 * The OPT pseudo-record's TTL field holds extended RCODE and flags. The
 * reply was validated when stored, so the walk cannot fail halfway; if it
 * did, the records before stay rewritten, which is harmless. */
void fr_cache_countdown(uint8_t *msg, size_t len, uint32_t elapsed, uint32_t floor_ttl, uint32_t ttl_left,
                        int stale)
{
    struct fr_msg_iter it;
    struct fr_msg_rr rr;

    if (fr_msg_iter_init(&it, msg, len) != FR_OK)
        return;
    while (fr_msg_iter_next(&it, &rr) == FR_OK) {
        if (rr.section == FR_SEC_QUESTION || rr.type == FR_T_OPT)
            continue;
        /* The TTL sits before RDLENGTH (2 octets) and RDATA. */
        uint8_t *p = msg + rr.rdata_off - 6;
        uint32_t t;
        if (stale) {
            t = FR_CACHE_STALE_TTL;
        } else {
            /* RFC 2181 8: a top-bit TTL (say an authority record's beside
             * answers of 3600) is 0, not "at most ttl_left". */
            t = fr_msg_ttl(fr_cache_get32(p));
            if (t < floor_ttl)
                t = floor_ttl;
            t = t > elapsed ? t - elapsed : 0;
            if (t > ttl_left)
                t = ttl_left;
        }
        fr_cache_put32(p, t);
    }
}

