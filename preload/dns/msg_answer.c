/* fastres: the answers glibc takes from a reply (see msg.h): the
 * addresses of an A/AAAA reply along its CNAME chain (fr_msg_addrs) and the
 * host name of a PTR reply (fr_msg_ptr), each read as glibc's nss_dns does. */
#include "dns/msg.h"

#include <string.h>
#include <sys/socket.h>

#include "dns/msg_int.h"

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
        if (fr_msg_rdata_check(msg, len, &rr) != FR_OK)
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
static int msg_ptr_hnok(const char *text)
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
            if (!msg_ptr_hnok(text))
                return FR_FAIL;
            strcpy(out, text);
            return FR_OK;
        }
    }
    return FR_EMPTY;
}
