/* fastres: the nsswitch.conf hosts line, walked for one lookup.
 *
 * Owns glibc's order of the sources: "files then dns" for the plain lines
 * ("files dns", "dns"), and the NSS loop for lines with other modules
 * (which source is asked next, when the line's [STATUS=ACTION]s end the
 * walk, how __nss_next2 skips a missing module). Also the one test of a
 * name that libc answers without asking any source (an address literal).
 *
 * Called by the shapers (gai*.c, hostent*.c), which supply the asking of
 * one source: getaddrinfo (gaih_inet) and gethostbyname/gethostbyaddr
 * (getXXbyYY_r.c) ask each source differently and read its outcome
 * differently, so each keeps its own rules for that. No state, no lock:
 * thread- and fork-safe. Never asks a source itself. */
#ifndef FR_SOURCES_H
#define FR_SOURCES_H

#include <nss.h>

#include "base/config.h"
#include "base/status.h"

/* 1 when libc answers name without a lookup, so fastres leaves the call
 * to it: NULL, the empty string, an inet_aton form ("1.2.3.4", "1.2",
 * "0x7f.1"), anything with a ':' (IPv6 literals, with or without a scope).
 * A superset of what each caller's glibc path treats as numeric
 * (getaddrinfo's __inet_aton_exact and inet_pton, gethostbyname's
 * __nss_hostname_digits_dots): libc applies its own exact rule to what it
 * gets. */
int fr_sources_literal(const char *name);

/* A line without modules (cfg->nss_nmodules == 0): ask(ctx, FR_NSS_FILES)
 * when the line starts with files (cfg->hosts_first), then
 * ask(ctx, FR_NSS_DNS) when files did not find the name (FR_NOTFOUND).
 * Returns the last ask's status. */
typedef enum fr_status (*fr_sources_plain_fn)(void *ctx, enum fr_nss_kind kind);
enum fr_status fr_sources_plain(const struct fr_config *cfg, fr_sources_plain_fn ask, void *ctx);

/* One source of a line with modules. FR_OK when the source was asked,
 * with *status its NSS status as glibc's loop sees it; FR_OK with
 * *missing set when the module or its function does not exist and the
 * caller's glibc path skips it as __nss_next2 does (gethostbyname*,
 * gethostbyaddr; getaddrinfo reports UNAVAIL instead); any other status
 * (FR_PUNT, FR_NOMEM) ends the walk with it. */
typedef enum fr_status (*fr_sources_nss_fn)(void *ctx, const struct fr_nss_source *src,
                                            enum nss_status *status, int *missing);
/* The NSS loop over cfg->nss (cfg->nss_nmodules > 0): each source asked
 * in order until its action for the status it reported is RETURN (the
 * last source always ends the walk). A missing module ends the walk when
 * its UNAVAIL action is RETURN or it is the last source, else is skipped
 * without a call. FR_OK with *status the last asked source's status
 * (NSS_STATUS_UNAVAIL when none) and *called 1 when any source was asked;
 * else what ask returned. */
enum fr_status fr_sources_walk(const struct fr_config *cfg, fr_sources_nss_fn ask, void *ctx,
                               enum nss_status *status, int *called);

#endif
