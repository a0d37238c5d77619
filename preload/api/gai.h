/* fastres: getaddrinfo for host names, as glibc 2.36's gaih_inet.
 *
 * Owns getaddrinfo's shaping: which calls fastres answers (a host name,
 * flags and families it reproduces; numeric nodes go to libc), the
 * tuples (learnt from libc), AI_ADDRCONFIG, the list in glibc's layout
 * (gai.c), and the addresses gathered from the hosts line's sources in
 * glibc's order (gai_addrs.c, through sources.h, hostent.h, nssmod.h).
 * Called by shim.c only. Thread-safe (per-thread service templates, one
 * spare table taken atomically); no lock, no descriptor kept, so nothing
 * to do at fork. Never produces EAI_* codes: shim.c maps its statuses. */
#ifndef FR_GAI_H
#define FR_GAI_H

#include <netdb.h>

#include "base/config.h"
#include "base/status.h"

/* FR_OK with *res set (glibc layout: free with fr_gai_free or libc's
 * freeaddrinfo); FR_NOTFOUND (EAI_NONAME), FR_NODATA (EAI_NODATA),
 * FR_AGAIN (EAI_AGAIN), FR_NOMEM (EAI_MEMORY), or FR_PUNT: libc must
 * answer this call. On the AF_INET path without AI_CANONNAME (glibc's
 * try_simple_gethostbyname) also gethostbyname2_r's outcomes as
 * fr_hostent_query reports them: FR_EMPTY (EAI_NODATA), FR_FAIL and
 * FR_AGAIN_NOTFOUND (EAI_NONAME). An NSS module that answers that path
 * with SUCCESS and no address gives FR_PUNT. */
enum fr_status fr_gai(const struct fr_config *cfg, const char *node, const char *service,
                      const struct addrinfo *hints, struct addrinfo **res);

/* Free a list made by fastres or by libc (same layout). Accepts NULL. */
void fr_gai_free(struct addrinfo *ai);

#endif
