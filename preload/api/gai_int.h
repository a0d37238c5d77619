/* fastres: internal to gai*.c — the addresses one getaddrinfo call
 * gathers (gai_addrs.c) before gai.c turns them into an addrinfo list. */
#ifndef FR_GAI_INT_H
#define FR_GAI_INT_H

#include "base/config.h"
#include "base/hosts.h"
#include "base/status.h"
#include "dns/msg.h"

/* Addresses one getaddrinfo call returns at most (two replies). */
#define GAI_MAX_ADDRS (2 * FR_MSG_ADDRS_MAX + FR_HOSTS_MAX_ADDRS)

struct fr_gai_addr {
    int family;
    unsigned char a[16];
};

struct fr_gai_found {
    struct fr_gai_addr addrs[GAI_MAX_ADDRS];
    unsigned n;
    char canon[FR_MSG_NAME_MAX * 4 + 1];
    int have_canon;
};

/* A table to gather into (NULL when out of memory), and back when done
 * (accepts NULL). */
struct fr_gai_found *fr_gai_found_get(void);
void fr_gai_found_put(struct fr_gai_found *f);

/* node's addresses for family (AF_UNSPEC, AF_INET, AF_INET6; with
 * AI_ADDRCONFIG already applied) and the hints' flags, into f (emptied
 * first), in the order and with the canonical name glibc 2.36's gaih_inet
 * finds them. FR_OK with f->n > 0; FR_NOTFOUND, FR_NODATA, FR_AGAIN as
 * glibc's EAI_NONAME, EAI_NODATA, EAI_AGAIN; on the AF_INET path without
 * AI_CANONNAME (try_simple_gethostbyname) gethostbyname2_r's own outcome
 * as fr_hostent_query reports it (shim.c maps it as glibc's getaddrinfo
 * does); FR_NOMEM; FR_PUNT. */
enum fr_status fr_gai_addrs(const struct fr_config *cfg, const char *node, int family, int flags,
                            struct fr_gai_found *f);

#endif
