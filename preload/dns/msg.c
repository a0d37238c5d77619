/* fastres: reading DNS messages in wire form (see msg.h for why this is
 * hand-written rather than taken from c-ares 1.18). */
#include "dns/msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* RFC 1035 4.1.4: a compression pointer has the top two bits set. A name
 * of at most 255 octets has at most 127 labels, so a chain that follows
 * more pointers than that is a loop. */
#define MSG_MAX_POINTERS 128

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint32_t fr_msg_ttl(uint32_t wire)
{
    return wire > FR_MSG_TTL_MAX ? 0 : wire;
}

enum fr_status fr_msg_header(const uint8_t *msg, size_t len, struct fr_msg_hdr *h)
{
    if (!msg || len < 12)
        return FR_FAIL;
    h->id = get16(msg);
    h->flags = get16(msg + 2);
    h->qdcount = get16(msg + 4);
    h->ancount = get16(msg + 6);
    h->nscount = get16(msg + 8);
    h->arcount = get16(msg + 10);
    return FR_OK;
}

enum fr_status fr_msg_name_skip(const uint8_t *msg, size_t len, size_t off, size_t *next)
{
    size_t total = 0;
    while (off < len) {
        uint8_t l = msg[off];
        if ((l & 0xc0) == 0xc0) {
            if (off + 2 > len)
                return FR_FAIL;
            *next = off + 2;
            return FR_OK;
        }
        if (l & 0xc0)           /* 0x40/0x80: extended label types, obsolete */
            return FR_FAIL;
        total += (size_t)l + 1;
        if (total > FR_MSG_NAME_MAX)
            return FR_FAIL;
        if (l == 0) {
            *next = off + 1;
            return FR_OK;
        }
        off += (size_t)l + 1;
    }
    return FR_FAIL;
}

/* Follow pointers to the next real label of a name. Returns the offset of
 * a length octet, or (size_t)-1 on a malformed name. */
static size_t label_at(const uint8_t *msg, size_t len, size_t off, unsigned *hops)
{
    while (off < len && (msg[off] & 0xc0) == 0xc0) {
        if (off + 2 > len || ++*hops > MSG_MAX_POINTERS)
            return (size_t)-1;
        off = (size_t)(get16(msg + off) & 0x3fff);
    }
    if (off >= len || (msg[off] & 0xc0) || off + 1 + msg[off] > len)
        return (size_t)-1;
    return off;
}

enum fr_status fr_msg_name_text(const uint8_t *msg, size_t len, size_t off, char *out, size_t outsz)
{
    unsigned hops = 0;
    size_t o = 0, wire = 0;
    for (;;) {
        off = label_at(msg, len, off, &hops);
        if (off == (size_t)-1)
            return FR_FAIL;
        uint8_t l = msg[off];
        wire += (size_t)l + 1;
        if (wire > FR_MSG_NAME_MAX)
            return FR_FAIL;
        if (l == 0)
            break;
        if (o && o + 1 < outsz)
            out[o++] = '.';
        for (size_t i = 1; i <= l; i++) {
            unsigned char c = msg[off + i];
            char esc[5];
            size_t n;
            /* Same escaping as dn_expand (ns_name_ntop): special characters
             * get a backslash, non-printables become \DDD. */
            if (c == '.' || c == '\\' || c == '"' || c == '(' || c == ')' || c == ';' ||
                c == '@' || c == '$') {
                esc[0] = '\\';
                esc[1] = (char)c;
                n = 2;
            } else if (c <= 0x20 || c >= 0x7f) {
                snprintf(esc, sizeof esc, "\\%03u", c);
                n = 4;
            } else {
                esc[0] = (char)c;
                n = 1;
            }
            if (o + n >= outsz)
                return FR_FAIL;
            memcpy(out + o, esc, n);
            o += n;
        }
        off += (size_t)l + 1;
    }
    if (o >= outsz)
        return FR_FAIL;
    out[o] = '\0';
    return FR_OK;
}

static uint8_t lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

int fr_msg_name_eq(const uint8_t *a, size_t alen, size_t aoff,
                   const uint8_t *b, size_t blen, size_t boff)
{
    unsigned ha = 0, hb = 0;
    for (;;) {
        aoff = label_at(a, alen, aoff, &ha);
        boff = label_at(b, blen, boff, &hb);
        if (aoff == (size_t)-1 || boff == (size_t)-1)
            return -1;
        uint8_t la = a[aoff], lb = b[boff];
        if (la != lb)
            return 0;
        if (la == 0)
            return 1;
        for (unsigned i = 1; i <= la; i++)
            if (lower(a[aoff + i]) != lower(b[boff + i]))
                return 0;
        aoff += (size_t)la + 1;
        boff += (size_t)lb + 1;
    }
}

enum fr_status fr_msg_iter_init(struct fr_msg_iter *it, const uint8_t *msg, size_t len)
{
    if (fr_msg_header(msg, len, &it->hdr) != FR_OK)
        return FR_FAIL;
    it->msg = msg;
    it->len = len;
    it->off = 12;
    it->section = FR_SEC_QUESTION;
    it->left = it->hdr.qdcount;
    return FR_OK;
}

enum fr_status fr_msg_iter_next(struct fr_msg_iter *it, struct fr_msg_rr *rr)
{
    while (it->left == 0) {
        if (it->section == FR_SEC_ADDITIONAL)
            return FR_NOTFOUND;
        it->section++;
        it->left = it->section == FR_SEC_ANSWER      ? it->hdr.ancount
                   : it->section == FR_SEC_AUTHORITY ? it->hdr.nscount
                                                     : it->hdr.arcount;
    }
    size_t p;
    if (fr_msg_name_skip(it->msg, it->len, it->off, &p) != FR_OK)
        return FR_FAIL;
    struct fr_msg_rr r = { .section = it->section, .name_off = it->off };
    if (p + 4 > it->len)
        return FR_FAIL;
    r.type = get16(it->msg + p);
    r.rclass = get16(it->msg + p + 2);
    p += 4;
    if (it->section != FR_SEC_QUESTION) {
        if (p + 6 > it->len)
            return FR_FAIL;
        r.ttl = get32(it->msg + p);
        r.rdlen = get16(it->msg + p + 4);
        p += 6;
        if (p + r.rdlen > it->len)
            return FR_FAIL;
        r.rdata_off = p;
        p += r.rdlen;
    }
    it->off = p;
    it->left--;
    *rr = r;
    return FR_OK;
}

/* Skip a name inside rdata and make sure it also expands: skipping stops
 * at the first pointer, so a pointer that loops or leaves the message
 * would otherwise pass (and a CNAME target is followed later). */
static enum fr_status rdata_name(const uint8_t *msg, size_t len, size_t off, size_t *next)
{
    char tmp[FR_MSG_NAME_MAX * 4 + 1];
    if (fr_msg_name_skip(msg, len, off, next) != FR_OK)
        return FR_FAIL;
    return fr_msg_name_text(msg, len, off, tmp, sizeof tmp);
}

/* Record types whose rdata starts with (or is) a domain name that may be
 * compressed; such names must be well formed for the message to count. */
static enum fr_status rdata_check(const uint8_t *msg, size_t len, const struct fr_msg_rr *rr)
{
    size_t end = rr->rdata_off + rr->rdlen, next;
    switch (rr->type) {
    case FR_T_A:
        return rr->rdlen == 4 ? FR_OK : FR_FAIL;
    case FR_T_AAAA:
        return rr->rdlen == 16 ? FR_OK : FR_FAIL;
    case FR_T_CNAME:
    case FR_T_NS:
    case FR_T_PTR:
        if (rdata_name(msg, len, rr->rdata_off, &next) != FR_OK || next != end)
            return FR_FAIL;
        return FR_OK;
    case FR_T_MX:
        if (rr->rdlen < 3 || rdata_name(msg, len, rr->rdata_off + 2, &next) != FR_OK ||
            next != end)
            return FR_FAIL;
        return FR_OK;
    case FR_T_SOA: {
        size_t p;
        if (rdata_name(msg, len, rr->rdata_off, &p) != FR_OK ||
            rdata_name(msg, len, p, &next) != FR_OK || next + 20 != end)
            return FR_FAIL;
        return FR_OK;
    }
    default:
        return FR_OK;
    }
}

/* Every record well formed; qr: the QR bit the message must carry. */
static enum fr_status validate(const uint8_t *msg, size_t len, int qr)
{
    struct fr_msg_iter it;
    struct fr_msg_rr rr;
    enum fr_status st;
    if (fr_msg_iter_init(&it, msg, len) != FR_OK)
        return FR_FAIL;
    /* QR clear in a "reply": a query (e.g. ours echoed back); read as a
     * reply it would be NODATA. glibc drops the server on it too. */
    if (!(it.hdr.flags & 0x8000) != !qr)
        return FR_FAIL;
    while ((st = fr_msg_iter_next(&it, &rr)) == FR_OK) {
        if (rr.section != FR_SEC_QUESTION && rdata_check(msg, len, &rr) != FR_OK)
            return FR_FAIL;
        /* Names are validated as part of the walk; also make sure each
         * owner name can be expanded (pointers may not loop). */
        char tmp[FR_MSG_NAME_MAX * 4 + 1];
        if (fr_msg_name_text(msg, len, rr.name_off, tmp, sizeof tmp) != FR_OK)
            return FR_FAIL;
    }
    return st == FR_NOTFOUND ? FR_OK : FR_FAIL;
}

enum fr_status fr_msg_validate(const uint8_t *msg, size_t len)
{
    return validate(msg, len, 1);
}

enum fr_status fr_msg_validate_query(const uint8_t *msg, size_t len)
{
    return validate(msg, len, 0);
}

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
            uint32_t min = fr_msg_ttl(get32(msg + rr.rdata_off + rr.rdlen - 4));
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

static int masked(const uint8_t *mask, size_t off)
{
    return mask[off / 8] >> (off % 8) & 1;
}

/* Walk the name at off as dn_expand would read it, to its end or to the
 * octet that makes it malformed: FR_FAIL when it reads an octet in mask
 * (length, label or pointer octets); otherwise FR_OK for a well-formed
 * name, FR_NOTFOUND for a malformed one (malformed in the served copy
 * too, since every octet it read is served unchanged). */
static enum fr_status name_clear(const uint8_t *msg, size_t len, size_t off, const uint8_t *mask)
{
    unsigned hops = 0;
    size_t wire = 0;
    for (;;) {
        if (off >= len)
            return FR_NOTFOUND;
        if (masked(mask, off))
            return FR_FAIL;
        uint8_t l = msg[off];
        if ((l & 0xc0) == 0xc0) {
            if (off + 2 > len)
                return FR_NOTFOUND;
            if (masked(mask, off + 1))
                return FR_FAIL;
            if (++hops > MSG_MAX_POINTERS)
                return FR_NOTFOUND;
            off = (size_t)(get16(msg + off) & 0x3fff);
            continue;
        }
        if (l & 0xc0)
            return FR_NOTFOUND;
        for (size_t i = 1; i <= l && off + i < len; i++)
            if (masked(mask, off + i))
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
static enum fr_status rdata_names_clear(const uint8_t *msg, size_t len, size_t off, size_t end,
                                        unsigned names, const uint8_t *mask)
{
    while (names-- && off < end) {
        enum fr_status st = name_clear(msg, len, off, mask);
        if (st == FR_FAIL)
            return FR_FAIL;
        if (st != FR_OK || fr_msg_name_skip(msg, len, off, &off) != FR_OK)
            return FR_OK;
    }
    return FR_OK;
}

static enum fr_status rr_names_clear(const uint8_t *msg, size_t len, const struct fr_msg_rr *rr,
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
    return rdata_names_clear(msg, len, off, end, names, mask);
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
        if (name_clear(msg, len, rr.name_off, mask) != FR_OK ||
            (rr.section != FR_SEC_QUESTION && rr_names_clear(msg, len, &rr, mask) != FR_OK)) {
            st = FR_FAIL;
            goto done;
        }
    }
    st = st == FR_NOTFOUND ? FR_OK : FR_FAIL;
done:
    free(mask);
    return st;
}

enum fr_status fr_msg_addrs(const uint8_t *msg, size_t len, uint16_t qtype, struct fr_msg_addrs *out)
{
    struct fr_msg_iter it;
    struct fr_msg_rr rr;
    enum fr_status st;
    size_t want;            /* offset of the name the next records must own */
    unsigned n = 0;
    uint32_t min_ttl = UINT32_MAX;
    uint16_t alen = qtype == FR_T_A ? 4 : 16;

    if (qtype != FR_T_A && qtype != FR_T_AAAA)
        return FR_FAIL;
    if (fr_msg_iter_init(&it, msg, len) != FR_OK || it.hdr.qdcount != 1)
        return FR_FAIL;
    if (fr_msg_iter_next(&it, &rr) != FR_OK)
        return FR_FAIL;
    want = rr.name_off;
    out->naliases = 0;
    unsigned rcode = FR_MSG_RCODE(&it.hdr);
    if (rcode == FR_RCODE_NXDOMAIN)
        return FR_NOTFOUND;
    if (rcode != FR_RCODE_NOERROR)
        return FR_FAIL;

    while ((st = fr_msg_iter_next(&it, &rr)) == FR_OK && rr.section == FR_SEC_ANSWER) {
        if (rdata_check(msg, len, &rr) != FR_OK)
            return FR_FAIL;
        if (rr.rclass != FR_C_IN)
            continue;
        int same = fr_msg_name_eq(msg, len, rr.name_off, msg, len, want);
        if (same < 0)
            return FR_FAIL;
        if (!same)
            continue;   /* glibc skips records for names off the chain */
        if (rr.type == FR_T_CNAME) {
            if (out->naliases < FR_MSG_ADDRS_MAX)
                out->alias_off[out->naliases++] = rr.name_off;
            want = rr.rdata_off;
            if (fr_msg_ttl(rr.ttl) < min_ttl)
                min_ttl = fr_msg_ttl(rr.ttl);
        } else if (rr.type == qtype && rr.rdlen == alen) {
            if (n == FR_MSG_ADDRS_MAX)
                return FR_PUNT;   /* more than fastres carries: libc answers */
            memcpy(out->addr[n], msg + rr.rdata_off, alen);
            n++;
            if (fr_msg_ttl(rr.ttl) < min_ttl)
                min_ttl = fr_msg_ttl(rr.ttl);
        }
    }
    if (st == FR_FAIL)
        return FR_FAIL;
    if (n == 0)
        return FR_NODATA;
    if (fr_msg_name_text(msg, len, want, out->canon, sizeof out->canon) != FR_OK)
        return FR_FAIL;
    out->family = qtype == FR_T_A ? AF_INET : AF_INET6;
    out->n = n;
    out->min_ttl = min_ttl;
    return FR_OK;
}

/* __res_binary_hnok (resolv/res-name-checking.c) on a name's text form: labels
 * of [0-9A-Za-z_-] only (any other octet is escaped by fr_msg_name_text
 * and so fails here too), not starting with '-'. */
static int ptr_hnok(const char *text)
{
    if (text[0] == '-')
        return 0;
    for (const char *p = text; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              c == '-' || c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

enum fr_status fr_msg_ptr(const uint8_t *msg, size_t len, char *out, size_t outsz)
{
    struct fr_msg_iter it;
    struct fr_msg_rr rr;
    char text[FR_MSG_NAME_MAX * 4 + 1];
    /* __ns_rr_cursor_init: exactly one question, its name uncompressed. */
    if (fr_msg_iter_init(&it, msg, len) != FR_OK || it.hdr.qdcount != 1)
        return FR_PUNT;
    for (size_t off = 12;;) {
        if (off >= len || (msg[off] & 0xc0) != 0)
            return FR_PUNT;
        if (msg[off] == 0)
            break;
        off += (size_t)msg[off] + 1;
    }
    size_t expected = 12;   /* the question's name, then each CNAME target */
    unsigned left = it.hdr.ancount;
    while (left > 0) {
        enum fr_status st = fr_msg_iter_next(&it, &rr);
        if (st == FR_NOTFOUND)
            break;
        if (st != FR_OK)
            return FR_PUNT;
        if (rr.section == FR_SEC_QUESTION)
            continue;
        left--;
        if (rr.rclass != FR_C_IN)
            continue;
        if (rr.type == FR_T_CNAME) {
            /* glibc: no owner check, "based on historic precedent". */
            if (fr_msg_name_text(msg, len, rr.rdata_off, text, sizeof text) != FR_OK)
                return FR_PUNT;
            expected = rr.rdata_off;
        } else if (rr.type == FR_T_PTR &&
                   fr_msg_name_eq(msg, len, rr.name_off, msg, len, expected) == 1) {
            /* The first matching PTR is the answer, if its target is a
             * host name: Debian's glibc 2.36 (CVE-2026-4438 fix) answers
             * others as not found with NO_RECOVERY (measured:
             * "-dash.lab.test" and "sp\\032ace" fail, a CNAME target with
             * '/' before the PTR does not). */
            if (fr_msg_name_text(msg, len, rr.rdata_off, text, sizeof text) != FR_OK)
                return FR_PUNT;
            if (!text[0])
                strcpy(text, ".");   /* ns_name_ntop writes the root as "." */
            if (strlen(text) > FR_MSG_PTR_NAME_MAX || strlen(text) >= outsz)
                return FR_PUNT;
            if (!ptr_hnok(text))
                return FR_FAIL;
            strcpy(out, text);
            return FR_OK;
        }
    }
    return FR_EMPTY;
}
