/* fastres: glibc's timing model (res_send.c), which sets fastres's
 * default give-up time and each server's share of it (see config_int.h). */
#include "base/config_int.h"
#include "base/config_test.h"

#include <stdint.h>

/* glibc's wait for server i in one attempt, in seconds (res_send.c). */
static unsigned config_glibc_server_wait_s(unsigned timeout_s, unsigned i, unsigned nservers)
{
    unsigned s = timeout_s << i;
    if (i > 0)
        s /= nservers;
    return s ? s : 1;
}

unsigned fr_config_glibc_deadline_ms(unsigned timeout_s, unsigned attempts, unsigned nservers)
{
    unsigned per_attempt = 0;
    if (nservers == 0)
        nservers = 1;
    if (attempts == 0)
        attempts = 1;   /* glibc: attempts:0 still sends once */
    for (unsigned i = 0; i < nservers; i++)
        per_attempt += config_glibc_server_wait_s(timeout_s, i, nservers);
    return per_attempt * attempts * 1000u;
}

/* Split deadline_ms over the servers in glibc's proportions. */
void fr_config_server_budgets(struct fr_config *c)
{
    unsigned total = 0;
    for (unsigned i = 0; i < c->nservers; i++)
        total += config_glibc_server_wait_s(c->timeout_s, i, c->nservers);
    for (unsigned i = 0; i < c->nservers; i++)
        c->server_budget_ms[i] = (unsigned)((uint64_t)c->deadline_ms *
                                            config_glibc_server_wait_s(c->timeout_s, i, c->nservers) / total);
}
