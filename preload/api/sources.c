/* fastres: the hosts line's sources in glibc's order (see sources.h). */
#include "api/sources.h"

#include <arpa/inet.h>
#include <string.h>

int fr_sources_literal(const char *name)
{
    struct in_addr a;
    return !name || !*name || strchr(name, ':') || inet_aton(name, &a);
}

enum fr_status fr_sources_plain(const struct fr_config *cfg, fr_sources_plain_fn ask, void *ctx)
{
    enum fr_status st = FR_NOTFOUND;
    if (cfg->hosts_first)
        st = ask(ctx, FR_NSS_FILES);
    if (st == FR_NOTFOUND)
        st = ask(ctx, FR_NSS_DNS);
    return st;
}

/* 1 when glibc stops after source i with this status (its action is
 * RETURN), 0 when it goes on. */
static int sources_returns(const struct fr_config *cfg, unsigned i, enum nss_status st)
{
    int idx = st == NSS_STATUS_SUCCESS    ? FR_NSS_ST_SUCCESS
              : st == NSS_STATUS_NOTFOUND ? FR_NSS_ST_NOTFOUND
              : st == NSS_STATUS_UNAVAIL  ? FR_NSS_ST_UNAVAIL
              : st == NSS_STATUS_TRYAGAIN ? FR_NSS_ST_TRYAGAIN
                                          : -1;
    if (idx < 0)
        return 1;   /* NSS_STATUS_RETURN: glibc returns */
    return cfg->nss[i].ret[idx];
}

enum fr_status fr_sources_walk(const struct fr_config *cfg, fr_sources_nss_fn ask, void *ctx,
                               enum nss_status *status, int *called)
{
    *status = NSS_STATUS_UNAVAIL;
    *called = 0;
    for (unsigned i = 0; i < cfg->nss_n; i++) {
        const struct fr_nss_source *src = &cfg->nss[i];
        enum nss_status s = *status;
        int missing = 0;
        enum fr_status st = ask(ctx, src, &s, &missing);
        if (st != FR_OK)
            return st;
        if (missing) {
            /* __nss_next2: skipped while UNAVAIL says continue and
             * another source follows; else the walk ends here with the
             * status before. */
            if (src->ret[FR_NSS_ST_UNAVAIL] || i + 1 == cfg->nss_n)
                break;
            continue;
        }
        *called = 1;
        *status = s;
        if (sources_returns(cfg, i, s))
            break;
    }
    return FR_OK;
}
