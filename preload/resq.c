/* fastres: the res_* query functions (see resq.h). */
#include "resq.h"

#include <stdio.h>
#include <string.h>

#include "resolve.h"

enum fr_status fr_resq(const struct fr_config *cfg, enum fr_resq_mode mode, const char *name,
                       const char *domain, int qclass, int qtype, unsigned char *answer, int anslen,
                       int *outlen, enum fr_status *residual)
{
    char full[FR_RESOLVE_NAME_MAX];
    struct fr_search s;
    if (!name || anslen < 0 || qclass < 0 || qclass > 0xffff || qtype < 0 || qtype > 0xffff)
        return FR_PUNT;
    if (domain) {
        /* glibc's __res_context_querydomain length rule. */
        size_t nl = strlen(name), dl = strlen(domain);
        if (nl + dl + 1 >= FR_RESOLVE_NAME_MAX)
            return FR_FAIL;
        memcpy(full, name, nl);
        full[nl] = '.';
        memcpy(full + nl + 1, domain, dl + 1);
        name = full;
    }
    uint16_t qt = (uint16_t)qtype;
    enum fr_status st = fr_resolve_search(cfg, name, &qt, 1, (uint16_t)qclass,
                                          mode == FR_RESQ_SEARCH, &s);
    if (st == FR_NOMEM || st == FR_PUNT)
        goto done;
    if (s.reply[0].msg) {
        if (s.reply[0].len > (size_t)anslen) {
            /* glibc reads what fits and reports the truncation in its own
             * way; leave such callers to it. */
            st = FR_PUNT;
            goto done;
        }
        memcpy(answer, s.reply[0].msg, s.reply[0].len);
        if (st == FR_OK) {
            *outlen = (int)s.reply[0].len;
            *residual = mode == FR_RESQ_SEARCH ? s.residual : FR_OK;
        }
    }
done:
    fr_search_free(&s);
    return st;
}
