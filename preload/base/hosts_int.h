/* fastres: internal to hosts*.c: what the hosts module's files share.
 * Nothing outside preload/base/hosts*.c includes this; the public
 * contract is hosts.h, the test seams hosts_test.h.
 *
 * hosts_file.c turns /etc/hosts into an immutable table (struct
 * fr_hosts_db) with glibc's line syntax; hosts_conf.c reads host.conf's
 * flags once per process; hosts.c keeps the current table (re-checking the
 * file, locks, fork) and answers lookups from it. */
#ifndef FR_HOSTS_INT_H
#define FR_HOSTS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "base/fileid.h"
#include "base/hosts.h"

/* glibc's _PATH_HOSTS; nss_files has no way to name another file. */
#define FR_HOSTS_PATH "/etc/hosts"
/* End of a posting chain / empty key slot. */
#define FR_HOSTS_NONE UINT32_MAX

/* One line glibc would accept in at least one mode. */
struct fr_hosts_line {
    uint32_t name;           /* offset of the canonical name in strs */
    uint32_t alias0;         /* index of the first alias in alias_offs */
    uint32_t nalias;
    int kind;                /* AF_INET: inet_pton(AF_INET) took the address; else AF_INET6 */
    unsigned char addr[16];  /* 4 or 16 octets as inet_pton wrote them */
};

/* A distinct name or alias (ASCII case folded) and the lines carrying it. */
struct fr_hosts_key {
    uint32_t hash;
    uint32_t str;            /* offset of its first spelling in strs; FR_HOSTS_NONE: empty slot */
    uint32_t first, last;    /* posting chain, in file order */
};

struct fr_hosts_posting {
    uint32_t line, next;
};

struct fr_hosts_db {
    enum fr_status status;   /* FR_OK; FR_NOTFOUND: no file; FR_PUNT: glibc would not just search */
    struct fr_fileid sig;    /* the file it was read from (exists 0: could not be opened) */
    char *strs;
    size_t nstrs;
    uint32_t *alias_offs;
    size_t nalias, alias_cap;
    struct fr_hosts_line *lines;
    size_t nlines, lines_cap;
    struct fr_hosts_key *keys;
    size_t nkeys, keys_cap;  /* keys_cap: a power of two */
    struct fr_hosts_posting *posts;
    size_t nposts, posts_cap;
};

/* hosts_file.c */

/* Read and parse FR_HOSTS_PATH. FR_OK with *out set (its status says what
 * lookups answer), or FR_NOMEM. */
enum fr_status fr_hosts_db_load(struct fr_hosts_db **out);
/* Accepts NULL. */
void fr_hosts_db_free(struct fr_hosts_db *db);
/* The key of name (glibc's case-insensitive match), or NULL. */
const struct fr_hosts_key *fr_hosts_db_find(const struct fr_hosts_db *db, const char *name);

/* glibc tests white space with isspace() of the caller's locale; in the C
 * locale and in UTF-8 locales that is exactly this set. */
static inline int fr_hosts_isspace(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* hosts_conf.c: host.conf and its environment variables, read once per
 * process (glibc's _res_hconf_init); fr_hosts_conf_forget makes the next
 * call read them again. */
#define FR_HOSTS_CONF_MULTI 1u
#define FR_HOSTS_CONF_REORDER 2u
#define FR_HOSTS_CONF_TRIM 4u    /* trim domains configured (host.conf or environment) */
unsigned fr_hosts_conf(void);
void fr_hosts_conf_forget(void);

#endif
