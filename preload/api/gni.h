/* fastres: getnameinfo's host part, as glibc 2.36's inet/getnameinfo.c.
 *
 * Owns which getnameinfo calls fastres answers and the address they ask
 * about, NI_NOFQDN's local domain (nrl_domainname) and its cut. The
 * lookup itself is gethostbyaddr_r's (hostent.h); the numeric form and
 * the service part come from libc. Called by shim.c only. Thread-safe:
 * the local domain is worked out once per process, claimed atomically (a
 * second thread meanwhile gets FR_PUNT); no lock, no descriptor. Never
 * writes h_errno, errno or EAI_* codes: shim.c does. */
#ifndef FR_GNI_H
#define FR_GNI_H

#include <netdb.h>
#include <sys/socket.h>

#include "base/config.h"
#include "base/status.h"

/* 1 when fastres answers this call: a name wanted (host, hostlen > 0)
 * for a whole AF_INET or AF_INET6 sockaddr, with only flags it
 * reproduces (NI_NUMERICSERV, NI_NAMEREQD, NI_DGRAM, NI_NOFQDN); then
 * addr and len (4 or 16) are the address to look up (its family is
 * sa->sa_family). 0: libc. */
int fr_gni_ours(const struct sockaddr *sa, socklen_t salen, const char *host, socklen_t hostlen,
                int flags, const void **addr, int *len);

/* The host part of a call fr_gni_ours accepted, once gethostbyaddr_r
 * found name: with NI_NOFQDN cut after the local domain (cfg: a snapshot,
 * needed only then), copied into host. FR_OK written; FR_RANGE when it
 * does not fit (EAI_OVERFLOW); FR_PUNT when libc must answer the call
 * (the local domain cannot be worked out exactly, or no cfg). *left: the
 * h_errno the domain's lookups leave (FR_PUNT: none asked DNS). */
enum fr_status fr_gni_host_name(const struct fr_config *cfg, const char *name, int flags, char *host,
                                socklen_t hostlen, enum fr_status *left);

#endif
