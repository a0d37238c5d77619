/* fastres: reading DNS messages in wire form (see msg.h for why this is
 * hand-written rather than taken from c-ares 1.18): the header, names,
 * the record iterator and the validation of a whole message. */
#include "dns/msg.h"

#include <stdio.h>
#include <string.h>

#include "dns/msg_int.h"

uint32_t fr_msg_ttl(uint32_t wire)
{
    return wire > FR_MSG_TTL_MAX ? 0 : wire;
}

enum fr_status fr_msg_header(const uint8_t *msg, size_t len, struct fr_msg_hdr *h)
{
    if (!msg || len < 12)
        return FR_FAIL;
    h->id = msg_get16(msg);
    h->flags = msg_get16(msg + 2);
    h->qdcount = msg_get16(msg + 4);
    h->ancount = msg_get16(msg + 6);
    h->nscount = msg_get16(msg + 8);
    h->arcount = msg_get16(msg + 10);
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
static size_t msg_label_at(const uint8_t *msg, size_t len, size_t off, unsigned *hops)
{
    while (off < len && (msg[off] & 0xc0) == 0xc0) {
        if (off + 2 > len || ++*hops > MSG_MAX_POINTERS)
            return (size_t)-1;
        off = (size_t)(msg_get16(msg + off) & 0x3fff);
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
        off = msg_label_at(msg, len, off, &hops);
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

static uint8_t msg_lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

int fr_msg_name_eq(const uint8_t *a, size_t alen, size_t aoff,
                   const uint8_t *b, size_t blen, size_t boff)
{
    unsigned ha = 0, hb = 0;
    for (;;) {
        aoff = msg_label_at(a, alen, aoff, &ha);
        boff = msg_label_at(b, blen, boff, &hb);
        if (aoff == (size_t)-1 || boff == (size_t)-1)
            return -1;
        uint8_t la = a[aoff], lb = b[boff];
        if (la != lb)
            return 0;
        if (la == 0)
            return 1;
        for (unsigned i = 1; i <= la; i++)
            if (msg_lower(a[aoff + i]) != msg_lower(b[boff + i]))
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
    r.type = msg_get16(it->msg + p);
    r.rclass = msg_get16(it->msg + p + 2);
    p += 4;
    if (it->section != FR_SEC_QUESTION) {
        if (p + 6 > it->len)
            return FR_FAIL;
        r.ttl = msg_get32(it->msg + p);
        r.rdlen = msg_get16(it->msg + p + 4);
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
static enum fr_status msg_rdata_name(const uint8_t *msg, size_t len, size_t off, size_t *next)
{
    char tmp[FR_MSG_NAME_MAX * 4 + 1];
    if (fr_msg_name_skip(msg, len, off, next) != FR_OK)
        return FR_FAIL;
    return fr_msg_name_text(msg, len, off, tmp, sizeof tmp);
}

/* Record types whose rdata starts with (or is) a domain name that may be
 * compressed; such names must be well formed for the message to count. */
enum fr_status fr_msg_rdata_check(const uint8_t *msg, size_t len, const struct fr_msg_rr *rr)
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
        if (msg_rdata_name(msg, len, rr->rdata_off, &next) != FR_OK || next != end)
            return FR_FAIL;
        return FR_OK;
    case FR_T_MX:
        if (rr->rdlen < 3 || msg_rdata_name(msg, len, rr->rdata_off + 2, &next) != FR_OK ||
            next != end)
            return FR_FAIL;
        return FR_OK;
    case FR_T_SOA: {
        size_t p;
        if (msg_rdata_name(msg, len, rr->rdata_off, &p) != FR_OK ||
            msg_rdata_name(msg, len, p, &next) != FR_OK || next + 20 != end)
            return FR_FAIL;
        return FR_OK;
    }
    default:
        return FR_OK;
    }
}

/* Every record well formed; qr: the QR bit the message must carry. */
static enum fr_status msg_validate(const uint8_t *msg, size_t len, int qr)
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
        if (rr.section != FR_SEC_QUESTION && fr_msg_rdata_check(msg, len, &rr) != FR_OK)
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
    return msg_validate(msg, len, 1);
}

enum fr_status fr_msg_validate_query(const uint8_t *msg, size_t len)
{
    return msg_validate(msg, len, 0);
}
