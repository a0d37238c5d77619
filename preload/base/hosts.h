/* fastres: /etc/hosts lookups that give what glibc 2.36's nss_files gives.
 *
 * glibc reads /etc/hosts line by line on every call
 * (nss/nss_files/files-hosts.c); fastres keeps one parsed, hashed copy
 * shared by all threads and re-checks the file with stat() at most once
 * per FR_HOSTS_RECHECK_MS (see hosts.c for that deliberate deviation).
 *
 * What is reproduced:
 *  - line syntax: leading white space, '#' comments anywhere, address,
 *    canonical name, aliases; malformed addresses make glibc skip the
 *    line; lines of any length; a NUL ends a line's text;
 *  - addresses are parsed by libc's own inet_pton, so "fe80::1%eth0" is
 *    skipped exactly as glibc skips it and scope_id is always 0;
 *  - FR_HOSTS_ALL is _nss_files_gethostbyname4_r (what getaddrinfo uses
 *    for AF_UNSPEC): each matching line gives one address of its own
 *    family, in file order; the name is the first matching line's
 *    canonical name; there are no aliases (gethostbyname4_r has none);
 *  - FR_HOSTS_FAMILY is _nss_files_gethostbyname3_r (getaddrinfo with one
 *    family, gethostbyname, gethostbyname2): AF_INET queries also take
 *    IPv6 lines holding a v4-mapped address or ::1 (as 127.0.0.1); the
 *    first matching line gives name and aliases, later matching lines
 *    append their aliases and, when it differs (case-sensitively), their
 *    canonical name;
 *  - "multi" from /etc/host.conf (RESOLV_HOST_CONF) and RESOLV_MULTI, read
 *    once per process like glibc's _res_hconf_init: glibc's default is
 *    off (first matching line only), Debian's host.conf turns it on;
 *  - names and aliases match ASCII-case-insensitively (glibc: strcasecmp);
 *    a trailing dot is not special (".": "localhost." matches only a line
 *    that says "localhost.").
 *
 * Contract: the api shapers (gai, hostent) call it for the "files" step
 * of nsswitch's hosts line. Thread-safe (lookups do not block each
 * other), fork-safe (its locks are registered with fork.h); it never
 * writes a file, never touches the network and logs only an oversized
 * file. Files: hosts.c (the current copy, re-checks, lookups),
 * hosts_file.c (the file format), hosts_conf.c (host.conf); hosts_int.h
 * holds what they share, hosts_test.h the test seams.
 */
#ifndef FR_HOSTS_H
#define FR_HOSTS_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

/* Addresses one lookup may return. glibc has no limit; a name with more
 * than this many lines is a generated file, not a hosts table, and copying
 * them all would cost the hot path: such lookups give FR_PUNT so libc
 * answers them itself, exactly. */
#define FR_HOSTS_MAX_ADDRS 256

/* How often the file's identity (dev, ino, size, mtime) is re-checked. */
#define FR_HOSTS_RECHECK_MS 1000

/* Largest hosts file fastres parses. The biggest published blocklist
 * hosts files are about 5 MB (150,000 lines); loading one of 6 MB took
 * 77 ms and raised peak memory by 27 MB (parsed copy plus the file and a
 * scratch copy while loading). Beyond this, lookups give FR_PUNT (libc
 * reads the file itself) and one line is logged per file change. */
#define FR_HOSTS_MAX_FILE (32u << 20)

struct fr_hosts_addr {
    int family;               /* AF_INET (addr[0..3]) or AF_INET6 */
    unsigned char addr[16];
    uint32_t scope_id;        /* always 0: nss_files never sets one */
};

struct fr_hosts_result {
    char *name;            /* canonical name: first field after the address of the first matching line */
    char **aliases;        /* NULL-terminated, in glibc's order (empty for FR_HOSTS_ALL) */
    size_t naddrs;
    struct fr_hosts_addr *addrs;   /* in glibc's order */
};

/* mode FR_HOSTS_ALL: what _nss_files_gethostbyname4_r returns (both families, file order);
 * mode FR_HOSTS_FAMILY with family AF_INET or AF_INET6: what gethostbyname2_r/3_r returns. */
enum fr_hosts_mode { FR_HOSTS_ALL, FR_HOSTS_FAMILY };

/* FR_OK with *out set (one allocation, free with fr_hosts_result_free);
 * FR_NOTFOUND when no line matches, or when /etc/hosts does not exist;
 * FR_NOMEM;
 * FR_PUNT when glibc would answer differently from a plain search:
 *   the file exists but cannot be opened or read, or is not a regular
 *   file (glibc: UNAVAIL/TRYAGAIN, whose nsswitch actions differ from
 *   NOTFOUND), is larger than FR_HOSTS_MAX_FILE, the result would exceed
 *   FR_HOSTS_MAX_ADDRS, host.conf has "reorder on" (gethostbyname*_r then
 *   reorders addresses; FR_HOSTS_FAMILY only), or family is neither
 *   AF_INET nor AF_INET6 in FR_HOSTS_FAMILY mode.
 * Thread-safe; lookups do not block each other. */
enum fr_status fr_hosts_lookup(const char *name, enum fr_hosts_mode mode, int family,
                               struct fr_hosts_result **out);

/* By address, as _nss_files_gethostbyaddr2_r (gethostbyaddr's files
 * step): the first line whose address, parsed for family (AF_INET: 4
 * octets at addr, also matching v4-mapped IPv6 lines and ::1 as
 * 127.0.0.1; AF_INET6: 16 octets, IPv6 lines only), equals addr; its
 * name and aliases, one address; "multi" does not apply. FR_OK,
 * FR_NOTFOUND, FR_NOMEM, or FR_PUNT (as fr_hosts_lookup, and when trim
 * domains are configured: gethostbyaddr then trims the names). A linear
 * scan, as glibc's. */
enum fr_status fr_hosts_lookup_addr(const void *addr, int family, struct fr_hosts_result **out);

/* 1 when host.conf "trim" or RESOLV_ADD_TRIM_DOMAINS /
 * RESOLV_OVERRIDE_TRIM_DOMAINS are set: glibc then trims domains from the
 * names gethostbyaddr returns (from DNS too). */
int fr_hosts_trims(void);

/* Accepts NULL. */
void fr_hosts_result_free(struct fr_hosts_result *r);

#endif
