/* fastres: internal to resolve*.c (the search list, split by job:
 * resolve.c asks the candidates, resolve_walk.c holds glibc's rules over
 * them); nothing else includes this. */
#ifndef FR_RESOLVE_INT_H
#define FR_RESOLVE_INT_H

#include "lookup/resolve.h"

/* Candidate 0 is the name as it is; 1..ndomains the search domains. */
#define SEARCH_MAX_CANDS (FR_MAX_DOMAINS + 1)

struct outcome {
    int known;
    enum fr_status st;        /* the candidate's verdict */
    int servfail, refused;
    int asked;                /* 0: failed before a query (name too long, empty label) */
};

struct cand {
    char full[FR_RESOLVE_NAME_MAX];   /* without the final dot */
    struct fr_reply rep[FR_ENGINE_PAIR];
    struct fr_ask_state qs[FR_ENGINE_PAIR];
};

struct search {
    const struct fr_config *cfg;
    const uint16_t *qtypes;
    unsigned n;                /* questions per candidate */
    unsigned ncand;            /* 1 + ndomains */
    unsigned dots;
    int trailing;
    int dom_root[SEARCH_MAX_CANDS];   /* the domain is the root ("" or ".") */
    struct outcome out[SEARCH_MAX_CANDS];
    struct cand *cand;         /* ncand of them */
};

struct walk {
    int done;                  /* 0: the outcome of `need` is needed */
    unsigned need;
    enum fr_status st;         /* done: the search's result */
    int winner;                /* done with FR_OK: the candidate that answered */
    int last_asked;            /* the last candidate glibc sent queries for, or -1 */
    enum fr_status residual;   /* fr_search.residual */
};

/* ---- resolve_walk.c ---- */

/* Build candidate text as __res_context_querydomain would: name.domain (or
 * name alone), with glibc's length checks. FR_FAIL when res_mkquery or
 * the length checks would fail (NO_RECOVERY). */
enum fr_status fr_resolve_cand_name(const char *name, const char *domain, int raw, char *full);
/* The verdict on one asked candidate (n questions) into *o. */
void fr_resolve_judge(const struct fr_reply *rep, const struct fr_ask_state *qs, unsigned n, struct outcome *o);
/* glibc's __res_context_search over the outcomes known so far. */
void fr_resolve_walk(const struct search *s, const struct outcome *o, struct walk *w);
/* glibc's order of candidates when every one ends in "go on"; returns how
 * many were written to order (at most SEARCH_MAX_CANDS + 1). */
unsigned fr_resolve_order(const struct search *s, unsigned *order);

#endif
