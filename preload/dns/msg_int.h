/* fastres: internal to msg*.c (the DNS message reader split by job);
 * nothing outside preload/dns/msg*.c includes this. */
#ifndef FR_MSG_INT_H
#define FR_MSG_INT_H

#include <stddef.h>
#include <stdint.h>

#include "dns/msg.h"

/* RFC 1035 4.1.4: a compression pointer has the top two bits set. A name
 * of at most 255 octets has at most 127 labels, so a chain that follows
 * more pointers than that is a loop. */
#define MSG_MAX_POINTERS 128

static inline uint16_t msg_get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t msg_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* FR_OK when the rdata of rr (not a question entry) is well formed for
 * its type: A and AAAA of their size, the names of CNAME, NS, PTR, MX and
 * SOA expandable and filling the rdata exactly; other types unchecked.
 * (msg.c; also read by fr_msg_addrs.) */
enum fr_status fr_msg_rdata_check(const uint8_t *msg, size_t len, const struct fr_msg_rr *rr);

#endif
