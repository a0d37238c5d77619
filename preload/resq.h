/* fastres: res_query, res_search and res_querydomain (and res_n*). */
#ifndef FR_RESQ_H
#define FR_RESQ_H

#include "config.h"
#include "status.h"

enum fr_resq_mode { FR_RESQ_QUERY, FR_RESQ_SEARCH };

/* Ask (name[.domain]) for class/type. FR_OK with *outlen set and the reply
 * in answer; otherwise glibc's h_errno as a status (FR_NOTFOUND,
 * FR_NODATA, FR_AGAIN, FR_FAIL) with the last reply copied into answer
 * when there was one and it fits; FR_PUNT when libc must answer (also
 * when the reply does not fit in anslen). */
/* On FR_OK of a search, *residual is the h_errno glibc leaves behind
 * (resolve.h); for a plain query it is FR_OK: h_errno stays untouched. */
enum fr_status fr_resq(const struct fr_config *cfg, enum fr_resq_mode mode, const char *name,
                       const char *domain, int qclass, int qtype, unsigned char *answer, int anslen,
                       int *outlen, enum fr_status *residual);

#endif
