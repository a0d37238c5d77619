/* fastres: res_query, res_search, res_querydomain and res_send (and
 * their res_n* forms).
 *
 * Owns their shaping as glibc 2.36's resolver does it: the name.domain
 * join and its length rule, the search through the lookup layer
 * (resolve.h), the reply copied into the caller's buffer, and which
 * res_send queries fastres may race (net/engine.h). Called by shim.c
 * only. Thread-safe; no state of its own. Never writes h_errno or errno:
 * shim.c does, from the statuses below. */
#ifndef FR_RESQ_H
#define FR_RESQ_H

#include "base/config.h"
#include "base/status.h"

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

/* res_send: the program's query (msg, msglen) raced through the engine,
 * without the cache, as it is (one question, opcode QUERY, at most an OPT
 * record; anything else FR_PUNT). FR_OK with the reply in answer (the
 * query's ID restored) and *outlen set; when no server answered, FR_AGAIN
 * (glibc's res_send: ETIMEDOUT), or FR_REFUSED when every server refused
 * the connection (ECONNREFUSED); FR_NOMEM; FR_PUNT when libc must answer
 * (also for a reply larger than anslen, and when a server answered with
 * an rcode glibc would hand back). */
enum fr_status fr_resq_send(const struct fr_config *cfg, const unsigned char *msg, int msglen,
                            unsigned char *answer, int anslen, int *outlen);

#endif
