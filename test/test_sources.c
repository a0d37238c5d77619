/* Tests for preload/api/sources.c: the test for names libc answers
 * without a lookup, "files then dns" on a plain hosts line, and the NSS
 * loop over a line with modules (actions, __nss_next2's skip of a missing
 * module). The sources are scripted asks: no file, no network. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "api/sources.h"

/* ---- fr_sources_literal ------------------------------------------------ */

/* Criterion copies the parameters into a worker whose addresses differ:
 * strings are held in arrays, not pointed to. */
struct lit_case {
    char name[24];      /* "(null)" stands for NULL */
    int literal;
};

static struct lit_case lit_cases[] = {
    { "(null)", 1 },        { "", 1 },             { "1.2.3.4", 1 },
    { "1.2", 1 },           { "0x7f.1", 1 },       { "127.1", 1 },
    { "4294967295", 1 },    { "::1", 1 },          { "fe80::1%lo", 1 },
    { "1.2.3.4 junk", 1 },  /* inet_aton stops at white space: libc decides */
    { "localhost", 0 },     { "1.2.3.4.5", 0 },    { "example.com", 0 },
    { "1.2.3.x", 0 },       { "4294967296", 0 },   { "a.b", 0 },
};

ParameterizedTestParameters(sources, literal)
{
    return cr_make_param_array(struct lit_case, lit_cases, sizeof lit_cases / sizeof lit_cases[0]);
}

ParameterizedTest(struct lit_case *c, sources, literal)
{
    const char *name = strcmp(c->name, "(null)") ? c->name : NULL;
    cr_expect_eq(fr_sources_literal(name), c->literal, "\"%s\"", c->name);
    /* A superset of glibc's own numeric rules: whatever getaddrinfo takes
     * as a numeric host (no lookup with AI_NUMERICHOST) must go to libc. */
    if (name && *name) {
        struct addrinfo h = { .ai_flags = AI_NUMERICHOST }, *res = NULL;
        if (getaddrinfo(name, NULL, &h, &res) == 0) {
            freeaddrinfo(res);
            cr_expect(fr_sources_literal(name), "\"%s\" is numeric for glibc", c->name);
        }
    }
}

/* ---- scripted sources -------------------------------------------------- */

/* One source's scripted outcome: for plain lines the fr_status; for lines
 * with modules an NSS status, or missing, or an fr_status that ends the
 * walk. */
struct script {
    enum fr_status st;
    enum nss_status nss;
    int missing;
};

struct run {
    const struct script *script;   /* by position on the line */
    const struct fr_config *cfg;
    char order[16];                /* 'F' files, 'D' dns, index digit for modules */
};

static enum fr_status plain_ask(void *ctx, enum fr_nss_kind kind)
{
    struct run *r = ctx;
    size_t n = strlen(r->order);
    r->order[n] = kind == FR_NSS_FILES ? 'F' : 'D';
    return r->script[kind == FR_NSS_FILES ? 0 : 1].st;
}

static enum fr_status walk_ask(void *ctx, const struct fr_nss_source *src, enum nss_status *status,
                               int *missing)
{
    struct run *r = ctx;
    unsigned i = (unsigned)(src - r->cfg->nss);
    size_t n = strlen(r->order);
    r->order[n] = (char)('0' + i);
    if (r->script[i].st != FR_OK)
        return r->script[i].st;
    if (r->script[i].missing)
        *missing = 1;
    else
        *status = r->script[i].nss;
    return FR_OK;
}

/* ---- fr_sources_plain -------------------------------------------------- */

struct plain_case {
    char title[48];
    int hosts_first;
    enum fr_status files, dns;
    char order[8];
    enum fr_status want;
};

static struct plain_case plain_cases[] = {
    { "files dns: in the hosts file", 1, FR_OK, FR_OK, "F", FR_OK },
    { "files dns: not there, DNS answers", 1, FR_NOTFOUND, FR_OK, "FD", FR_OK },
    { "files dns: not there, DNS fails", 1, FR_NOTFOUND, FR_AGAIN, "FD", FR_AGAIN },
    { "files dns: files to libc", 1, FR_PUNT, FR_OK, "F", FR_PUNT },
    { "files dns: files out of memory", 1, FR_NOMEM, FR_OK, "F", FR_NOMEM },
    { "files dns: other failure of files ends it", 1, FR_NODATA, FR_OK, "F", FR_NODATA },
    { "dns alone", 0, FR_OK, FR_NOTFOUND, "D", FR_NOTFOUND },
};

ParameterizedTestParameters(sources, plain)
{
    return cr_make_param_array(struct plain_case, plain_cases,
                               sizeof plain_cases / sizeof plain_cases[0]);
}

ParameterizedTest(struct plain_case *c, sources, plain)
{
    static struct fr_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.hosts_first = c->hosts_first;
    struct script s[2] = { { .st = c->files }, { .st = c->dns } };
    struct run r = { .script = s, .cfg = &cfg };
    cr_expect_eq(fr_sources_plain(&cfg, plain_ask, &r), c->want, "%s", c->title);
    cr_expect_str_eq(r.order, c->order, "%s", c->title);
}

/* ---- fr_sources_walk --------------------------------------------------- */

#define OK_(nss_st) { FR_OK, nss_st, 0 }
#define MISSING { FR_OK, NSS_STATUS_UNAVAIL, 1 }

struct walk_case {
    char title[72];
    unsigned n;
    /* per source: [STATUS=return] beyond SUCCESS (bit per FR_NSS_ST_*) */
    unsigned char extra_return[4];
    struct script script[4];
    enum fr_status want;
    char order[8];
    enum nss_status status;
    int called;
};

#define RET(st) (1u << (st))

static struct walk_case walk_cases[] = {
    { "all asked, the last one's status", 3, { 0 },
      { OK_(NSS_STATUS_NOTFOUND), OK_(NSS_STATUS_UNAVAIL), OK_(NSS_STATUS_NOTFOUND) },
      FR_OK, "012", NSS_STATUS_NOTFOUND, 1 },
    { "success ends the walk", 3, { 0 },
      { OK_(NSS_STATUS_NOTFOUND), OK_(NSS_STATUS_SUCCESS), OK_(NSS_STATUS_NOTFOUND) },
      FR_OK, "01", NSS_STATUS_SUCCESS, 1 },
    { "[NOTFOUND=return] ends it", 3, { 0, RET(FR_NSS_ST_NOTFOUND), 0 },
      { OK_(NSS_STATUS_NOTFOUND), OK_(NSS_STATUS_NOTFOUND), OK_(NSS_STATUS_SUCCESS) },
      FR_OK, "01", NSS_STATUS_NOTFOUND, 1 },
    { "[NOTFOUND=return] not taken on TRYAGAIN", 3, { 0, RET(FR_NSS_ST_NOTFOUND), 0 },
      { OK_(NSS_STATUS_NOTFOUND), OK_(NSS_STATUS_TRYAGAIN), OK_(NSS_STATUS_SUCCESS) },
      FR_OK, "012", NSS_STATUS_SUCCESS, 1 },
    { "NSS_STATUS_RETURN ends it", 3, { 0 },
      { OK_(NSS_STATUS_NOTFOUND), OK_(NSS_STATUS_RETURN), OK_(NSS_STATUS_SUCCESS) },
      FR_OK, "01", NSS_STATUS_RETURN, 1 },
    { "missing module skipped, status kept", 3, { 0 },
      { OK_(NSS_STATUS_NOTFOUND), MISSING, OK_(NSS_STATUS_TRYAGAIN) },
      FR_OK, "012", NSS_STATUS_TRYAGAIN, 1 },
    { "missing module with [UNAVAIL=return] ends it, status before", 3,
      { 0, RET(FR_NSS_ST_UNAVAIL), 0 },
      { OK_(NSS_STATUS_TRYAGAIN), MISSING, OK_(NSS_STATUS_SUCCESS) },
      FR_OK, "01", NSS_STATUS_TRYAGAIN, 1 },
    { "missing module last: status before", 2, { 0 },
      { OK_(NSS_STATUS_NOTFOUND), MISSING },
      FR_OK, "01", NSS_STATUS_NOTFOUND, 1 },
    { "nothing asked: UNAVAIL, not called", 2, { 0 },
      { MISSING, MISSING },
      FR_OK, "01", NSS_STATUS_UNAVAIL, 0 },
    { "an ask for libc ends the walk", 3, { 0 },
      { OK_(NSS_STATUS_NOTFOUND), { FR_PUNT, NSS_STATUS_SUCCESS, 0 }, OK_(NSS_STATUS_SUCCESS) },
      FR_PUNT, "01", NSS_STATUS_UNAVAIL, 0 },
    { "out of memory ends the walk", 2, { 0 },
      { { FR_NOMEM, NSS_STATUS_SUCCESS, 0 }, OK_(NSS_STATUS_SUCCESS) },
      FR_NOMEM, "0", NSS_STATUS_UNAVAIL, 0 },
};

ParameterizedTestParameters(sources, walk)
{
    return cr_make_param_array(struct walk_case, walk_cases,
                               sizeof walk_cases / sizeof walk_cases[0]);
}

ParameterizedTest(struct walk_case *c, sources, walk)
{
    static struct fr_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.nss_n = c->n;
    cfg.nss_nmodules = c->n;
    for (unsigned i = 0; i < c->n; i++) {
        cfg.nss[i].kind = FR_NSS_MODULE;
        snprintf(cfg.nss[i].name, sizeof cfg.nss[i].name, "m%u", i);
        cfg.nss[i].ret[FR_NSS_ST_SUCCESS] = 1;
        for (int k = 0; k < FR_NSS_NST; k++)
            if (c->extra_return[i] & (1u << k))
                cfg.nss[i].ret[k] = 1;
    }
    struct run r = { .script = c->script, .cfg = &cfg };
    enum nss_status status = NSS_STATUS_UNAVAIL;
    int called = -1;
    enum fr_status st = fr_sources_walk(&cfg, walk_ask, &r, &status, &called);
    cr_expect_eq(st, c->want, "%s: %d", c->title, st);
    cr_expect_str_eq(r.order, c->order, "%s", c->title);
    if (st == FR_OK) {
        cr_expect_eq(status, c->status, "%s: status %d", c->title, status);
        cr_expect_eq(called, c->called, "%s: called %d", c->title, called);
    }
}
