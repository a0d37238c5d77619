/* fastres: host.conf's "multi", "reorder" and "trim" as glibc's
 * resolv/res_hconf.c reads them, once per process (see hosts_int.h). */
#include "base/hosts_int.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* glibc's _PATH_HOSTCONF, overridden by RESOLV_HOST_CONF. */
#define HOSTCONF_PATH "/etc/host.conf"
/* glibc reads host.conf with fgets into a 256-byte buffer
 * (resolv/res_hconf.c do_init); a longer line is cut into pieces the same
 * way here. */
#define HOSTCONF_LINE_MAX 256

static _Atomic int hconf_flags = -1;        /* -1: host.conf not read yet */

/* glibc resolv/res_hconf.c arg_bool: a prefix match, so "multi only" is on. */
static unsigned hosts_hconf_bool(const char *args, unsigned flags, unsigned flag)
{
    if (strncasecmp(args, "on", 2) == 0)
        return flags | flag;
    if (strncasecmp(args, "off", 3) == 0)
        return flags & ~flag;
    return flags;
}

/* The "multi" and "reorder" settings as glibc's do_init computes them:
 * host.conf, then RESOLV_MULTI / RESOLV_REORDER. glibc uses getenv, not
 * secure_getenv; for setuid programs ld.so has already removed
 * RESOLV_HOST_CONF, so plain getenv gives what glibc sees. Other keywords
 * (order, trim) do not change these two flags. */
static unsigned hosts_hconf_read(void)
{
    unsigned flags = 0;  /* glibc: memset to 0, so multi is off unless asked for */
    const char *path = getenv("RESOLV_HOST_CONF");
    FILE *fp = fopen(path ? path : HOSTCONF_PATH, "rce");
    if (fp) {
        char buf[HOSTCONF_LINE_MAX];
        while (fgets(buf, sizeof buf, fp)) {
            *strchrnul(buf, '\n') = '\0';
            const char *s = buf;
            while (fr_hosts_isspace((unsigned char)*s))
                s++;
            if (*s == '\0' || *s == '#')
                continue;
            const char *start = s;
            while (*s && !fr_hosts_isspace((unsigned char)*s) && *s != '#' && *s != ',')
                s++;
            size_t len = (size_t)(s - start);
            while (fr_hosts_isspace((unsigned char)*s))
                s++;
            if (len == 5 && strncasecmp(start, "multi", 5) == 0)
                flags = hosts_hconf_bool(s, flags, FR_HOSTS_CONF_MULTI);
            else if (len == 7 && strncasecmp(start, "reorder", 7) == 0)
                flags = hosts_hconf_bool(s, flags, FR_HOSTS_CONF_REORDER);
            else if (len == 4 && strncasecmp(start, "trim", 4) == 0)
                flags |= FR_HOSTS_CONF_TRIM;   /* domains trimmed from gethostbyaddr's names */
        }
        fclose(fp);
    }
    const char *v = getenv("RESOLV_MULTI");
    if (v)
        flags = hosts_hconf_bool(v, flags, FR_HOSTS_CONF_MULTI);
    v = getenv("RESOLV_REORDER");
    if (v)
        flags = hosts_hconf_bool(v, flags, FR_HOSTS_CONF_REORDER);
    if (getenv("RESOLV_ADD_TRIM_DOMAINS") || getenv("RESOLV_OVERRIDE_TRIM_DOMAINS"))
        flags |= FR_HOSTS_CONF_TRIM;
    return flags;
}

unsigned fr_hosts_conf(void)
{
    int f = atomic_load_explicit(&hconf_flags, memory_order_acquire);
    if (f >= 0)
        return (unsigned)f;
    /* Racing first readers compute the same value; the first store wins. */
    int expected = -1, mine = (int)hosts_hconf_read();
    if (atomic_compare_exchange_strong(&hconf_flags, &expected, mine))
        return (unsigned)mine;
    return (unsigned)expected;
}

void fr_hosts_conf_forget(void)
{
    atomic_store_explicit(&hconf_flags, -1, memory_order_release);
}
