/* fastres: gethostbyaddr's lookup, by address (see hostent.h): the
 * reverse name nss_dns asks, /etc/hosts by address. */
#include "api/hostent_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/hosts.h"
#include "dns/msg.h"
#include "lookup/resolve.h"

/* The reverse name _nss_dns_gethostbyaddr2_r asks, from the address it
 * looks up (already unmapped). */
static void hostent_ptr_qname(const unsigned char *a, int af, char *out, size_t outsz)
{
    if (af == AF_INET) {
        snprintf(out, outsz, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1], a[0]);
        return;
    }
    static const char nib[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 15; i >= 0; i--) {
        out[o++] = nib[a[i] & 0xf];
        out[o++] = '.';
        out[o++] = nib[a[i] >> 4];
        out[o++] = '.';
    }
    strcpy(out + o, "ip6.arpa");
}

enum fr_status fr_hostent_dns_addr(const struct fr_config *cfg, const unsigned char *addr, int af,
                                   struct fr_hostdata *d)
{
    static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    static const unsigned char tunnelled[12] = { 0 };
    static const unsigned char v6local[4] = { 0, 0, 0, 1 };
    /* nss_dns asks the IPv4 name for a v4-mapped address, and for an
     * IPv4-compatible one other than ::1, and answers with the IPv4
     * address. */
    if (af == AF_INET6 && (!memcmp(addr, mapped, 12) ||
                           (!memcmp(addr, tunnelled, 12) && memcmp(addr + 12, v6local, 4)))) {
        addr += 12;
        af = AF_INET;
    }
    char qname[128];
    hostent_ptr_qname(addr, af, qname, sizeof qname);
    uint16_t qt = FR_T_PTR;
    struct fr_search s;
    char name[FR_MSG_PTR_NAME_MAX + 1];
    enum fr_status st = fr_resolve_search(cfg, qname, &qt, 1, FR_C_IN, 0, &s);
    /* __res_context_query leaves h_errno alone on success, sets it on
     * failure; nss_dns then reports NOTFOUND with that h_errno. */
    if (st != FR_OK && st != FR_NOMEM && st != FR_PUNT)
        fr_hostent_left_set(st);
    if (st != FR_OK)
        goto done;
    st = fr_msg_ptr(s.reply[0].msg, s.reply[0].len, name, sizeof name);
    if (st != FR_OK)
        goto done;   /* FR_EMPTY: nss_dns's TRYAGAIN with NO_RECOVERY */
    st = FR_NOMEM;
    d->af = af;
    d->len = af == AF_INET ? 4 : 16;
    d->name = strdup(name);
    d->addrs = calloc(1, 16);
    if (!d->name || !d->addrs)
        goto done;
    memcpy(d->addrs[0], addr, (size_t)d->len);
    d->naddrs = 1;
    st = FR_OK;
done:
    fr_search_free(&s);
    return st;
}

enum fr_status fr_hostent_files_addr(const unsigned char *addr, int af, struct fr_hostdata *d)
{
    struct fr_hosts_result *r = NULL;
    enum fr_status st = fr_hosts_lookup_addr(addr, af, &r);
    if (st != FR_OK)
        return st;
    st = FR_NOMEM;
    d->name = strdup(r->name);
    d->addrs = calloc(1, 16);
    if (!d->name || !d->addrs)
        goto done;
    for (char **a = r->aliases; a && *a; a++)
        if (fr_hostdata_alias(d, *a) != 0)
            goto done;
    if (d->naliases == HOSTENT_MAX_ALIASES && r->aliases[HOSTENT_MAX_ALIASES]) {
        st = FR_PUNT;   /* more aliases than kept: libc gives them all */
        goto done;
    }
    memcpy(d->addrs[0], r->addrs[0].addr, (size_t)d->len);
    d->naddrs = 1;
    d->from_hosts = 1;
    st = FR_OK;
done:
    fr_hosts_result_free(r);
    return st;
}

int fr_hostent_addr_any(const void *addr, socklen_t len)
{
    static const unsigned char zero[16];
    return len == 16 && !memcmp(addr, zero, 16);
}

enum fr_status fr_hostent_query_addr(const struct fr_config *cfg, const void *addr, int len,
                                     int af, struct fr_hostdata **out)
{
    if (!addr || !((af == AF_INET && len == 4) || (af == AF_INET6 && len == 16)))
        return FR_PUNT;
    if (fr_hosts_trims())
        return FR_PUNT;   /* gethostbyaddr's POSTPROCESS trims domains */
    fr_hostent_left_set(FR_PUNT);
    struct fr_hostent_q q = { .cfg = cfg, .addr = addr, .len = len, .af = af };
    return fr_hostent_lookup(&q, out);
}
