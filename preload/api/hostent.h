/* fastres: gethostbyname, gethostbyname2, gethostbyaddr and their _r
 * forms, and getnameinfo's host lookup.
 *
 * Owns their shaping as glibc 2.36's getXXbyYY_r.c, nss_files and nss_dns
 * do it: the answer (struct fr_hostdata) and its packing into a caller's
 * buffer (hostent.c), the lookup by name (hostent.c) and by address
 * (hostent_addr.c) through the hosts line's sources in glibc's order
 * (sources.h; with other NSS modules hostent_nss.c), the h_errno glibc
 * leaves behind (as statuses), the per-thread results of the
 * non-reentrant forms (hostent_tls.c). Called by shim.c, by gai_addrs.c
 * for getaddrinfo's AF_INET path and by gni.c. Thread-safe (per-thread residual h_errno,
 * per-thread results); no lock, no
 * descriptor kept; the per-thread buffers are freed at thread exit. Never
 * writes h_errno or errno: shim.c does.
 *
 * The lookup (fr_hostent_query) and the packing into a caller's buffer
 * (fr_hostent_fill) are separate so that the non-reentrant forms can grow
 * their per-thread buffer and pack again without asking twice. */
#ifndef FR_HOSTENT_H
#define FR_HOSTENT_H

#include <netdb.h>
#include <stddef.h>
#include <sys/socket.h>

#include "base/config.h"
#include "base/status.h"

struct fr_hostdata;

/* FR_OK with *out set; FR_NOTFOUND (HOST_NOT_FOUND), FR_NODATA (NO_DATA),
 * FR_AGAIN (TRY_AGAIN), FR_FAIL (NO_RECOVERY), FR_NOMEM, or FR_PUNT. */
enum fr_status fr_hostent_query(const struct fr_config *cfg, const char *name, int af,
                                struct fr_hostdata **out);
/* Pack into ret/buf as gethostbyname_r does; FR_RANGE when buflen is too
 * small. */
enum fr_status fr_hostent_fill(const struct fr_hostdata *d, struct hostent *ret, char *buf,
                               size_t buflen);
void fr_hostdata_free(struct fr_hostdata *d);   /* accepts NULL */
/* gethostbyname* and gethostbyaddr's result: d packed into the calling
 * thread's hostent for that function (each has its own, as glibc's
 * getXXbyYY.c keeps one static per function), its buffer grown as needed
 * and freed when the thread exits (hostent_tls.c). FR_OK with *out, valid
 * until the thread's next call of the same slot; FR_NOMEM. */
enum fr_hostent_slot { FR_HOSTENT_BYNAME, FR_HOSTENT_BYADDR };
enum fr_status fr_hostent_fill_tls(const struct fr_hostdata *d, enum fr_hostent_slot slot,
                                   struct hostent **out);
/* The h_errno glibc leaves after this answer: nss_files leaves
 * HOST_NOT_FOUND behind even when it finds the name, nss_dns succeeds
 * cleanly; FR_PUNT: untouched (nss_files by address). */
enum fr_status fr_hostdata_residual(const struct fr_hostdata *d);
/* What glibc's resolver leaves in the thread's h_errno after this
 * thread's last fr_hostent_query, which gethostbyname_r callers see
 * besides *h_errnop (measured against glibc 2.36): FR_PUNT when DNS was
 * not asked (an /etc/hosts answer leaves h_errno untouched); after a
 * search that found records, its residual (HOST_NOT_FOUND unless an
 * earlier candidate failed otherwise), also when the answer then does
 * not fit or holds no address; after a failed search, its failure. */
enum fr_status fr_hostent_resolver_left(void);
/* gethostbyaddr's lookup, as glibc 2.36 does it for "hosts: files dns"
 * or "dns": /etc/hosts by address (hosts.h), then a PTR question for the
 * in-addr.arpa / ip6.arpa name nss_dns builds (v4-mapped and
 * IPv4-compatible addresses are asked and answered as IPv4), read as
 * getanswer_ptr reads it (msg.h). af/len: (AF_INET, 4) or (AF_INET6,
 * 16), anything else FR_PUNT; the caller handles "::" (glibc answers it
 * without a lookup). FR_OK with *out (one address, no aliases from DNS);
 * nss_dns's NOTFOUND with its h_errno as FR_NOTFOUND (HOST_NOT_FOUND),
 * FR_NODATA, FR_AGAIN (TRY_AGAIN), FR_FAIL (NO_RECOVERY); FR_EMPTY for a
 * reply without a usable PTR record (nss_dns: TRYAGAIN with
 * NO_RECOVERY); FR_NOMEM; FR_PUNT. fr_hostent_resolver_left tells the
 * thread's h_errno afterwards, as for fr_hostent_query. */
enum fr_status fr_hostent_query_addr(const struct fr_config *cfg, const void *addr, int len,
                                     int af, struct fr_hostdata **out);
/* "::" (16 zero octets, whatever the type): glibc's gethostbyaddr_r
 * answers it without a lookup (PREPROCESS in inet/gethstbyad_r.c), so the
 * callers do not ask fr_hostent_query_addr for it. */
int fr_hostent_addr_any(const void *addr, socklen_t len);
/* The official name (h_name) of an answer. */
const char *fr_hostdata_name(const struct fr_hostdata *d);
/* The addresses (4 or 16 octets used of each), in glibc's order. */
unsigned fr_hostdata_addrs(const struct fr_hostdata *d, const unsigned char (**addrs)[16]);

#endif
