/* fastres: reading DNS messages in wire form.
 *
 * Contract: owns every reading of a DNS message's bytes: the header, names
 * (skip, expand, compare), a record iterator and the validation of whole
 * messages (msg.c); what of a reply a cache may keep, its TTL and whether
 * its names survive a TTL count-down (msg_cache.c); the answers glibc
 * takes from a reply, addresses along the CNAME chain and a PTR's host
 * name (msg_answer.c). Called by the layers above (net/ on replies off the
 * wire, lookup/ for the caches, api/ for the answers). Pure functions over
 * the caller's buffer: no state, any thread, nothing to do at fork; never
 * writes the message, never reads past len, allocates only in
 * fr_msg_names_stable (a bit mask, freed before it returns).
 *
 * c-ares 1.18 parses only whole replies of one kind (ares_parse_a_reply
 * and friends, each allocating a hostent); it has no record iterator
 * (ares_dns_record_t arrived in 1.22). fastres needs to walk any reply
 * without allocating (validation, TTLs for the cache, A/AAAA extraction on
 * the cache-hit path), so this module is hand-written. */
#ifndef FR_MSG_H
#define FR_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

/* RFC 1035 4.2.1: UDP messages without EDNS are at most 512 octets. */
#define FR_MSG_UDP_MAX 512
/* RFC 1035 2.3.4: names are at most 255 octets on the wire, i.e. 253
 * characters in text form without the trailing dot. */
#define FR_MSG_NAME_MAX 255
/* Largest reply fastres keeps (TCP replies can reach 65535). */
#define FR_MSG_MAX 65535

#define FR_T_A 1
#define FR_T_NS 2
#define FR_T_CNAME 5
#define FR_T_SOA 6
#define FR_T_PTR 12
#define FR_T_MX 15
#define FR_T_TXT 16
#define FR_T_AAAA 28
#define FR_T_SRV 33
#define FR_T_OPT 41
#define FR_C_IN 1

#define FR_RCODE_NOERROR 0
#define FR_RCODE_FORMERR 1
#define FR_RCODE_SERVFAIL 2
#define FR_RCODE_NXDOMAIN 3
#define FR_RCODE_NOTIMP 4
#define FR_RCODE_REFUSED 5

struct fr_msg_hdr {
    uint16_t id;
    uint16_t flags;   /* QR|Opcode|AA|TC|RD|RA|Z|AD|CD|RCODE as on the wire */
    uint16_t qdcount, ancount, nscount, arcount;
};

#define FR_MSG_TC(h) (((h)->flags >> 9) & 1)
#define FR_MSG_RCODE(h) ((h)->flags & 0xf)

enum fr_msg_section { FR_SEC_QUESTION, FR_SEC_ANSWER, FR_SEC_AUTHORITY, FR_SEC_ADDITIONAL };

/* One resource record as found in a message; offsets point into msg. */
struct fr_msg_rr {
    enum fr_msg_section section;
    size_t name_off;     /* owner name (possibly compressed) */
    uint16_t type, rclass;
    uint32_t ttl;
    uint16_t rdlen;
    size_t rdata_off;
};

/* Iterator over all records of a message, in wire order. */
struct fr_msg_iter {
    const uint8_t *msg;
    size_t len;
    struct fr_msg_hdr hdr;
    size_t off;
    enum fr_msg_section section;
    unsigned left;       /* records left in the current section */
};

/* FR_OK and *h filled when len holds a header. */
enum fr_status fr_msg_header(const uint8_t *msg, size_t len, struct fr_msg_hdr *h);

/* Start iterating; FR_FAIL on a message too short for its header. */
enum fr_status fr_msg_iter_init(struct fr_msg_iter *it, const uint8_t *msg, size_t len);
/* FR_OK with *rr filled; FR_NOTFOUND at the end; FR_FAIL on a malformed
 * record (the message must then be treated as garbage). Question entries
 * come back with ttl 0 and rdlen 0. */
enum fr_status fr_msg_iter_next(struct fr_msg_iter *it, struct fr_msg_rr *rr);

/* Walk every record: FR_OK when the message is a reply (QR set) well
 * formed as a whole (names, lengths, counts; nothing after the last record
 * is required). */
enum fr_status fr_msg_validate(const uint8_t *msg, size_t len);
/* The same for a query a program built (QR clear): res_send's input. */
enum fr_status fr_msg_validate_query(const uint8_t *msg, size_t len);

/* Skip a (possibly compressed) name at off; FR_OK with *next set to the
 * offset after it. Loops and out-of-range pointers give FR_FAIL. */
enum fr_status fr_msg_name_skip(const uint8_t *msg, size_t len, size_t off, size_t *next);
/* Expand the name at off into text form without trailing dot ("" for the
 * root), escaping like dn_expand does. */
enum fr_status fr_msg_name_text(const uint8_t *msg, size_t len, size_t off, char *out, size_t outsz);
/* 1 when the two wire names (in messages a and b, possibly the same) are
 * equal ignoring ASCII case, 0 when not, -1 when malformed. */
int fr_msg_name_eq(const uint8_t *a, size_t alen, size_t aoff,
                   const uint8_t *b, size_t blen, size_t boff);

/* RFC 2181 8: a TTL is at most 2^31 - 1; a value with the top bit set is
 * to be read as 0. */
#define FR_MSG_TTL_MAX 0x7fffffffu
/* A record's TTL as it is to be understood (wire value, or 0). Applied to
 * each TTL before any minimum is taken: a single 2^31 beside 3600 makes
 * the minimum 0, not 3600. */
uint32_t fr_msg_ttl(uint32_t wire);

/* ---- msg_cache.c ---- */

/* How long a reply may be cached, in seconds, following RFC 2308:
 * positive answers live for the smallest TTL in the answer section;
 * NXDOMAIN and NODATA for min(SOA TTL, SOA MINIMUM) of the SOA in the
 * authority section; every one of these read through fr_msg_ttl. FR_OK with *ttl and *negative set; FR_FAIL when the
 * reply must not be cached (SERVFAIL or other rcodes, TC set, malformed,
 * or a negative reply without SOA). */
enum fr_status fr_msg_cache_ttl(const uint8_t *msg, size_t len, uint32_t *ttl, int *negative);

/* FR_OK when every name of the message reads only bytes that are served
 * unchanged from the cache: not the header (the caller puts its own query
 * ID there) and no record's TTL field (counted down on a hit). Names are
 * the question's, the owners', and those in the rdata of the types RFC
 * 3597 4 lets be compressed or decompressed (NS, CNAME, SOA, PTR, MX, the
 * other RFC 1035 types, RP, AFSDB, RT, PX, SRV, NAPTR, KX). FR_FAIL when a
 * name (through a compression pointer) reads such a byte, or on a
 * malformed message; FR_NOMEM. See cache.c for why such replies are
 * refused rather than rewritten. */
enum fr_status fr_msg_names_stable(const uint8_t *msg, size_t len);

/* ---- msg_answer.c ---- */

/* Addresses of the asked type that answer qname (in the message's own
 * question), following the CNAME chain the way glibc's getanswer_r does:
 * records whose owner is the current name are taken in order, a CNAME
 * moves the current name to its target. */
#define FR_MSG_ADDRS_MAX 64  /* more than fit in a 512-octet reply (A: 16 octets each) */
struct fr_msg_addrs {
    int family;                 /* AF_INET or AF_INET6 */
    unsigned n;
    unsigned char addr[FR_MSG_ADDRS_MAX][16];
    uint32_t min_ttl;
    char canon[FR_MSG_NAME_MAX * 4 + 1];  /* owner of the address records, text form (escaped) */
    /* Owners of the CNAME records followed, in order (gethostbyname's
     * aliases): offsets of wire names in the message. */
    unsigned naliases;
    size_t alias_off[FR_MSG_ADDRS_MAX];
};
/* FR_OK with at least one address; FR_NODATA for NOERROR without any;
 * FR_NOTFOUND for NXDOMAIN; FR_FAIL for malformed or another rcode;
 * FR_PUNT for more than FR_MSG_ADDRS_MAX addresses (glibc returns them
 * all: the caller hands the call to libc). */
enum fr_status fr_msg_addrs(const uint8_t *msg, size_t len, uint16_t qtype, struct fr_msg_addrs *out);

/* The host name of a PTR reply as Debian glibc 2.36's getanswer_ptr
 * (nss_dns) takes it: the first IN PTR record owned by the question's
 * name or the last CNAME target before it, in text form escaped like
 * ns_name_ntop ("." for the root). FR_OK with out set; FR_EMPTY when
 * there is no such record (glibc: NO_RECOVERY, "try again"); FR_FAIL
 * when the target is not a host name (glibc: not found, NO_RECOVERY);
 * FR_PUNT where glibc fails with an errno fastres does not reproduce
 * (more than one question, a compressed question name, a malformed
 * record, a target longer than FR_MSG_PTR_NAME_MAX). */
/* The longest host name in text form (255 octets on the wire); Debian's
 * glibc 2.36 returns names that long (measured with 250 characters),
 * upstream 2.36 stopped at MAXHOSTNAMELEN (64). */
#define FR_MSG_PTR_NAME_MAX 253
enum fr_status fr_msg_ptr(const uint8_t *msg, size_t len, char *out, size_t outsz);

#endif
