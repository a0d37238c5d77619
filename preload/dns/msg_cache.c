/* fastres: what of a reply a cache may keep (see msg.h): how long
 * (fr_msg_cache_ttl, RFC 2308) and whether its names survive the TTL
 * count-down a cache applies when it serves a copy (fr_msg_names_stable). */
#include "dns/msg.h"

#include <stdlib.h>

#include "dns/msg_int.h"

enum fr_status fr_msg_cache_ttl(const uint8_t *msg, size_t len, uint32_t *ttl, int *negative)
{
    struct fr_msg_iter it;
    struct fr_msg_rr rr;
    enum fr_status st;
    uint32_t answer_min = UINT32_MAX, soa_ttl = UINT32_MAX;
    unsigned answers = 0;

    if (fr_msg_iter_init(&it, msg, len) != FR_OK || FR_MSG_TC(&it.hdr) || it.hdr.qdcount != 1)
        return FR_FAIL;
    unsigned rcode = FR_MSG_RCODE(&it.hdr);
    if (rcode != FR_RCODE_NOERROR && rcode != FR_RCODE_NXDOMAIN)
        return FR_FAIL;
    /* Malformed means what fr_msg_validate refuses: walking the records
     * alone passes an owner name whose pointer leaves the message (found
     * by test/fuzz/fuzz_msg). */
    if (fr_msg_validate(msg, len) != FR_OK)
        return FR_FAIL;
    while ((st = fr_msg_iter_next(&it, &rr)) == FR_OK) {
        if (rr.section == FR_SEC_ANSWER) {
            answers++;
            uint32_t t = fr_msg_ttl(rr.ttl);
            if (t < answer_min)
                answer_min = t;
        } else if (rr.section == FR_SEC_AUTHORITY && rr.type == FR_T_SOA) {
            /* RFC 2308 5: the negative TTL is the smaller of the SOA's own
             * TTL and its MINIMUM field (the last 4 octets of rdata). */
            uint32_t min = fr_msg_ttl(msg_get32(msg + rr.rdata_off + rr.rdlen - 4));
            uint32_t t = fr_msg_ttl(rr.ttl);
            if (min < t)
                t = min;
            if (t < soa_ttl)
                soa_ttl = t;
        }
    }
    if (st != FR_NOTFOUND)
        return FR_FAIL;

    /* NOERROR with answers is positive, even when the answer is only a
     * CNAME chain: the chain itself is the cacheable fact. */
    if (rcode == FR_RCODE_NOERROR && answers > 0) {
        *ttl = answer_min;
        *negative = 0;
        return FR_OK;
    }
    /* RFC 2308 5: negative answers without SOA must not be cached. */
    if (soa_ttl == UINT32_MAX)
        return FR_FAIL;
    /* An NXDOMAIN that carries a CNAME chain is negative for the target;
     * its TTL must not outlive the chain. */
    if (answers && answer_min < soa_ttl)
        soa_ttl = answer_min;
    *ttl = soa_ttl;
    *negative = 1;
    return FR_OK;
}

/* ---- names that read only bytes served unchanged ---- */

#define MSG_T_MD 3
#define MSG_T_MF 4
#define MSG_T_MB 7
#define MSG_T_MG 8
#define MSG_T_MR 9
#define MSG_T_MINFO 14
#define MSG_T_RP 17
#define MSG_T_AFSDB 18
#define MSG_T_RT 21
#define MSG_T_PX 26
#define MSG_T_NAPTR 35
#define MSG_T_KX 36

static int msg_masked(const uint8_t *mask, size_t off)
{
    return mask[off / 8] >> (off % 8) & 1;
}

/* Walk the name at off as dn_expand would read it, to its end or to the
 * octet that makes it malformed: FR_FAIL when it reads an octet in mask
 * (length, label or pointer octets); otherwise FR_OK for a well-formed
 * name, FR_NOTFOUND for a malformed one (malformed in the served copy
 * too, since every octet it read is served unchanged). */
static enum fr_status msg_name_clear(const uint8_t *msg, size_t len, size_t off, const uint8_t *mask)
{
    unsigned hops = 0;
    size_t wire = 0;
    for (;;) {
        if (off >= len)
            return FR_NOTFOUND;
        if (msg_masked(mask, off))
            return FR_FAIL;
        uint8_t l = msg[off];
        if ((l & 0xc0) == 0xc0) {
            if (off + 2 > len)
                return FR_NOTFOUND;
            if (msg_masked(mask, off + 1))
                return FR_FAIL;
            if (++hops > MSG_MAX_POINTERS)
                return FR_NOTFOUND;
            off = (size_t)(msg_get16(msg + off) & 0x3fff);
            continue;
        }
        if (l & 0xc0)
            return FR_NOTFOUND;
        for (size_t i = 1; i <= l && off + i < len; i++)
            if (msg_masked(mask, off + i))
                return FR_FAIL;
        if (off + 1 + l > len)
            return FR_NOTFOUND;
        wire += (size_t)l + 1;
        if (wire > FR_MSG_NAME_MAX)
            return FR_NOTFOUND;
        if (l == 0)
            return FR_OK;
        off += (size_t)l + 1;
    }
}

/* The names at off inside rdata ending at end: a name is read from the
 * whole message, as dn_expand does (it may run past RDLENGTH), and the
 * next one starts where it ends. A malformed name ends the walk: where
 * the next would start is then undefined. */
static enum fr_status msg_rdata_names_clear(const uint8_t *msg, size_t len, size_t off, size_t end,
                                            unsigned names, const uint8_t *mask)
{
    while (names-- && off < end) {
        enum fr_status st = msg_name_clear(msg, len, off, mask);
        if (st == FR_FAIL)
            return FR_FAIL;
        if (st != FR_OK || fr_msg_name_skip(msg, len, off, &off) != FR_OK)
            return FR_OK;
    }
    return FR_OK;
}

static enum fr_status msg_rr_names_clear(const uint8_t *msg, size_t len, const struct fr_msg_rr *rr,
                                         const uint8_t *mask)
{
    size_t off = rr->rdata_off, end = rr->rdata_off + rr->rdlen;
    unsigned names = 1;

    switch (rr->type) {
    case FR_T_NS: case FR_T_CNAME: case FR_T_PTR:
    case MSG_T_MD: case MSG_T_MF: case MSG_T_MB: case MSG_T_MG: case MSG_T_MR:
        break;
    case FR_T_SOA: case MSG_T_MINFO: case MSG_T_RP:
        names = 2;
        break;
    case FR_T_MX: case MSG_T_AFSDB: case MSG_T_RT: case MSG_T_KX:
        off += 2;
        break;
    case MSG_T_PX:
        off += 2;
        names = 2;
        break;
    case FR_T_SRV:
        off += 6;
        break;
    case MSG_T_NAPTR:
        /* order, preference, then flags, services and regexp as
         * <character-string>s before the replacement name. */
        off += 4;
        for (int i = 0; i < 3; i++) {
            if (off >= end)
                return FR_OK;
            off += 1 + (size_t)msg[off];
        }
        break;
    default:
        return FR_OK;
    }
    return msg_rdata_names_clear(msg, len, off, end, names, mask);
}

enum fr_status fr_msg_names_stable(const uint8_t *msg, size_t len)
{
    struct fr_msg_iter it;
    struct fr_msg_rr rr;
    enum fr_status st;
    uint8_t *mask = NULL;

    if (fr_msg_iter_init(&it, msg, len) != FR_OK)
        return FR_FAIL;
    mask = calloc(len / 8 + 1, 1);
    if (!mask)
        return FR_NOMEM;
    for (size_t i = 0; i < 12; i++)
        mask[i / 8] |= (uint8_t)(1u << (i % 8));
    /* First the bytes that change, then the names: a pointer may point
     * forward, into a record not walked yet. The OPT record's TTL field
     * (extended RCODE and flags) is served as it is. */
    while ((st = fr_msg_iter_next(&it, &rr)) == FR_OK) {
        if (rr.section == FR_SEC_QUESTION || rr.type == FR_T_OPT)
            continue;
        for (size_t i = rr.rdata_off - 6; i < rr.rdata_off - 2; i++)
            mask[i / 8] |= (uint8_t)(1u << (i % 8));
    }
    if (st != FR_NOTFOUND) {
        st = FR_FAIL;
        goto done;
    }
    fr_msg_iter_init(&it, msg, len);
    while ((st = fr_msg_iter_next(&it, &rr)) == FR_OK) {
        if (msg_name_clear(msg, len, rr.name_off, mask) != FR_OK ||
            (rr.section != FR_SEC_QUESTION && msg_rr_names_clear(msg, len, &rr, mask) != FR_OK)) {
            st = FR_FAIL;
            goto done;
        }
    }
    st = st == FR_NOTFOUND ? FR_OK : FR_FAIL;
done:
    free(mask);
    return st;
}
