/* fastres: glibc's search rules over the candidates (see resolve.h and
 * resolve.c): building each candidate name as __res_context_querydomain
 * does, the verdict __res_context_query gives its replies, the order in
 * which __res_context_search asks them and its walk over the verdicts.
 * Pure functions: no state, no lock, no I/O. */
#include "lookup/resolve.h"

#include <string.h>

#include "lookup/resolve_int.h"

static enum fr_status resolve_classify(const struct fr_reply *rep, const struct fr_ask_state *qs, unsigned n)
{
    const struct fr_reply *hp = NULL, *hp2 = NULL;
    struct fr_msg_hdr h1, h2;
    for (unsigned i = 0; i < n; i++) {
        if (qs[i].st != FR_OK)
            continue;
        if (!hp)
            hp = &rep[i];
        else
            hp2 = &rep[i];
    }
    if (!hp)
        return FR_AGAIN;    /* res_send failed for every question */
    /* glibc treats a missing second reply as a copy of the first. */
    if (!hp2)
        hp2 = hp;
    if (fr_msg_header(hp->msg, hp->len, &h1) != FR_OK || fr_msg_header(hp2->msg, hp2->len, &h2) != FR_OK)
        return FR_FAIL;
    unsigned r1 = FR_MSG_RCODE(&h1), r2 = FR_MSG_RCODE(&h2);
    if ((r1 == FR_RCODE_NOERROR && h1.ancount) || (r2 == FR_RCODE_NOERROR && h2.ancount))
        return FR_OK;
    switch (r1 == FR_RCODE_NOERROR ? r2 : r1) {
    case FR_RCODE_NXDOMAIN:
        return FR_NOTFOUND;
    case FR_RCODE_SERVFAIL:
        return FR_AGAIN;
    case FR_RCODE_NOERROR:
        return FR_NODATA;
    default:
        return FR_FAIL;
    }
}

enum fr_status fr_resolve_join(const char *name, const char *domain, char *full)
{
    size_t nl = strlen(name), dl = strlen(domain);
    if (nl + dl + 1 >= FR_RESOLVE_NAME_MAX)
        return FR_FAIL;
    memcpy(full, name, nl);
    full[nl] = '.';
    memcpy(full + nl + 1, domain, dl + 1);
    return FR_OK;
}

enum fr_status fr_resolve_cand_name(const char *name, const char *domain, int raw, char *full)
{
    size_t nl = strlen(name);
    if (domain) {
        if (fr_resolve_join(name, domain, full) != FR_OK)
            return FR_FAIL;
    } else {
        /* res_query passes the name straight to res_mkquery ("" is the
         * root); res_querydomain's check rejects "" (its length wraps). */
        if (nl >= FR_RESOLVE_NAME_MAX || (!raw && (nl == 0 || nl - 1 >= FR_RESOLVE_NAME_MAX - 1)))
            return FR_FAIL;
        memcpy(full, name, nl + 1);
    }
    /* An empty label ("a..b", ".a", "a..") makes res_mkquery fail:
     * NO_RECOVERY. A lone "." is the root. */
    if (strcmp(full, ".") && (full[0] == '.' || strstr(full, "..")))
        return FR_FAIL;
    /* The cache and the engine see names without the final dot. */
    size_t fl = strlen(full);
    if (fl >= 1 && full[fl - 1] == '.')
        full[fl - 1] = '\0';
    return FR_OK;
}

/* The verdict on one asked candidate, as candidate() in glibc's loop sees
 * it: NO_RECOVERY when a query could not be built, set-up failures as
 * they are, otherwise __res_context_query's classification; servfail and
 * refused feed the walk's "go on" rules. */
void fr_resolve_judge(const struct fr_reply *rep, const struct fr_ask_state *qs, unsigned n, struct outcome *o)
{
    int all_refused = 1;
    o->known = 1;
    o->asked = 1;
    o->servfail = 0;
    o->refused = 0;
    for (unsigned i = 0; i < n; i++) {
        if (qs[i].st == FR_BADNAME) {
            o->st = FR_FAIL;   /* res_mkquery failed: NO_RECOVERY */
            return;
        }
        if (qs[i].st == FR_NOMEM || qs[i].st == FR_PUNT) {
            o->st = qs[i].st;
            return;
        }
        if (qs[i].fail_rcode == FR_RCODE_SERVFAIL)
            o->servfail = 1;
        if (qs[i].st != FR_AGAIN || !qs[i].conn_refused)
            all_refused = 0;
    }
    o->refused = all_refused;
    o->st = resolve_classify(rep, qs, n);
}

static int resolve_is_stop(enum fr_status st)
{
    return st == FR_OK || st == FR_NOMEM || st == FR_PUNT;
}

/* glibc's __res_context_search over the outcomes known so far. */
void fr_resolve_walk(const struct search *s, const struct outcome *o, struct walk *w)
{
    const struct fr_config *cfg = s->cfg;
    enum fr_status st, saved = FR_NOTFOUND, last = FR_NOTFOUND;
    int have_saved = 0, got_nodata = 0, got_servfail = 0, tried_as_is = 0, searched = 0;
    int root_on_list = 0;
    memset(w, 0, sizeof *w);
    w->winner = -1;
    w->last_asked = -1;
    w->residual = FR_NOTFOUND;

#define WALK_TAKE(k)                                                                             \
    do {                                                                                         \
        if (!o[k].known) {                                                                       \
            w->need = (k);                                                                       \
            return;                                                                              \
        }                                                                                        \
        st = o[k].st;                                                                            \
        if (o[k].asked)                                                                          \
            w->last_asked = (int)(k);                                                            \
    } while (0)
#define WALK_END(result, win)                                                                    \
    do {                                                                                         \
        w->done = 1;                                                                             \
        w->st = (result);                                                                        \
        w->winner = (result) == FR_OK ? (int)(win) : -1;                                         \
        return;                                                                                  \
    } while (0)

    if (s->dots >= cfg->ndots || s->trailing) {
        WALK_TAKE(0);
        if (resolve_is_stop(st) || s->trailing)
            WALK_END(st, 0);
        saved = st;
        have_saved = 1;
        tried_as_is = 1;
        w->residual = st;
    }
    /* glibc's RES_DEFNAMES and RES_DNSRCH are on by default and fastres
     * punts when a program changed _res, so both are on here. */
    if (!s->dots || !s->trailing) {
        for (unsigned d = 1; d < s->ncand; d++) {
            searched = 1;
            if (s->dom_root[d])
                root_on_list = 1;
            WALK_TAKE(d);
            if (resolve_is_stop(st))
                WALK_END(st, d);
            last = st;
            w->residual = st;
            if (o[d].refused)
                WALK_END(FR_AGAIN, d);   /* glibc: errno ECONNREFUSED, no server present */
            if (st == FR_NODATA) {
                got_nodata = 1;
                continue;
            }
            if (st == FR_NOTFOUND)
                continue;
            if (st == FR_AGAIN && o[d].servfail) {
                got_servfail = 1;
                continue;
            }
            break;   /* anything else: stop searching */
        }
    }
    if ((s->dots || !searched || !cfg->no_tld_query) && !(tried_as_is || root_on_list)) {
        WALK_TAKE(0);
        if (resolve_is_stop(st))
            WALK_END(st, 0);
        last = st;
    }
    if (have_saved)
        WALK_END(saved, -1);
    if (got_nodata)
        WALK_END(FR_NODATA, -1);
    if (got_servfail)
        WALK_END(FR_AGAIN, -1);
    /* glibc: the h_errno of the last query made (HOST_NOT_FOUND when no
     * query was made at all). */
    WALK_END(last, -1);
#undef WALK_TAKE
#undef WALK_END
}

/* glibc's order of candidates when every one ends in "go on". */
unsigned fr_resolve_order(const struct search *s, unsigned *order)
{
    unsigned n = 0;
    if (s->dots >= s->cfg->ndots || s->trailing) {
        order[n++] = 0;
        if (s->trailing)
            return n;
    }
    for (unsigned d = 1; d < s->ncand; d++)
        order[n++] = d;
    if (s->dots < s->cfg->ndots && (s->dots || s->ncand == 1 || !s->cfg->no_tld_query))
        order[n++] = 0;
    return n;
}

