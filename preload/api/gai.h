/* fastres: getaddrinfo for host names (see gai.c). */
#ifndef FR_GAI_H
#define FR_GAI_H

#include <netdb.h>

#include "base/config.h"
#include "base/status.h"

/* FR_OK with *res set (glibc layout: free with fr_gai_free or libc's
 * freeaddrinfo); FR_NOTFOUND (EAI_NONAME), FR_NODATA (EAI_NODATA),
 * FR_AGAIN (EAI_AGAIN), FR_NOMEM (EAI_MEMORY), or FR_PUNT: libc must
 * answer this call. */
enum fr_status fr_gai(const struct fr_config *cfg, const char *node, const char *service,
                      const struct addrinfo *hints, struct addrinfo **res);

/* Free a list made by fastres or by libc (same layout). Accepts NULL. */
void fr_gai_free(struct addrinfo *ai);

#endif
