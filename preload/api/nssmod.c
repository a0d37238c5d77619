/* fastres: calling NSS modules (see nssmod.h). */
#include "api/nssmod.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

/* The NSS module ABI: a module reports in nss_status plus h_errno values
 * (*h_errnop, sometimes the thread's h_errno) and errno (*errnop), and
 * its caller grows the buffer on TRYAGAIN + NETDB_INTERNAL + ERANGE. This
 * file speaks that ABI to call modules; it is not an error translation
 * for the program: the values come back to the shapers as fr_status
 * (nssmod_herr), and only shim.c turns statuses into h_errno again. */

/* Modules remembered per process (each loaded once, never unloaded, as
 * glibc keeps its modules). */
#define NSS_SLOTS 16
/* Not a NETDB_* value: "*h_errnop untouched". */
#define NSS_HERRNO_UNSET 0x7ead

struct slot {
    _Atomic int state;               /* 0 free, 1 being filled, 2 ready */
    char name[FR_NSS_NAME_MAX];
    void *handle;                    /* NULL: cannot be loaded */
};
static struct slot slots[NSS_SLOTS];

/* The module's handle, NULL when it cannot be loaded. Lock-free: two
 * threads loading the same module at once both dlopen it (ld.so counts
 * the second reference) and one slot keeps it. */
static void *nssmod_module_handle(const char *name)
{
    for (int i = 0; i < NSS_SLOTS; i++) {
        struct slot *s = &slots[i];
        int st = atomic_load_explicit(&s->state, memory_order_acquire);
        if (st == 2 && !strcmp(s->name, name))
            return s->handle;
        if (st == 0) {
            int expected = 0;
            char file[FR_NSS_NAME_MAX + 16];
            snprintf(file, sizeof file, "libnss_%s.so.2", name);
            void *h = dlopen(file, RTLD_LAZY);
            if (!atomic_compare_exchange_strong(&s->state, &expected, 1))
                return h;   /* slot taken meanwhile: use ours unrecorded */
            snprintf(s->name, sizeof s->name, "%s", name);
            s->handle = h;
            atomic_store_explicit(&s->state, 2, memory_order_release);
            if (!h)
                fr_log(FR_LOG_DEBUG, "nssmod", "cannot load %s: glibc treats it as unavailable",
                       file);
            return h;
        }
    }
    /* Every slot used by other names: load without remembering. */
    char file[FR_NSS_NAME_MAX + 16];
    snprintf(file, sizeof file, "libnss_%s.so.2", name);
    return dlopen(file, RTLD_LAZY);
}

static void *nssmod_module_fn(const char *module, const char *fn)
{
    void *h = nssmod_module_handle(module);
    if (!h)
        return NULL;
    char sym[FR_NSS_NAME_MAX + 32];
    snprintf(sym, sizeof sym, "_nss_%s_%s", module, fn);
    return dlsym(h, sym);
}

typedef enum nss_status (*byname4_fn)(const char *, struct gaih_addrtuple **, char *, size_t,
                                       int *, int *, int32_t *);
typedef enum nss_status (*byname3_fn)(const char *, int, struct hostent *, char *, size_t, int *,
                                       int *, int32_t *, char **);
typedef enum nss_status (*byname2_fn)(const char *, int, struct hostent *, char *, size_t, int *,
                                       int *);
typedef enum nss_status (*byaddr_fn)(const void *, socklen_t, int, struct hostent *, char *,
                                      size_t, int *, int *);

/* Call a module function with a growing buffer, as glibc's callers grow
 * their scratch buffers on TRYAGAIN + NETDB_INTERNAL + ERANGE. */
enum call_kind { CALL4, CALL3, CALL2, CALLADDR };
struct call {
    enum call_kind kind;
    void *fn;
    const char *name;
    const void *addr;
    int af, len;
};

/* A module's h_errno value as a status (nssmod.h). */
static enum fr_status nssmod_herr(int h)
{
    switch (h) {
    case NETDB_SUCCESS: return FR_OK;
    case HOST_NOT_FOUND: return FR_NOTFOUND;
    case NO_DATA: return FR_NODATA;
    case TRY_AGAIN: return FR_AGAIN;
    case NO_RECOVERY: return FR_FAIL;
    case NETDB_INTERNAL: return FR_SYSTEM;
    default: return FR_PUNT;
    }
}

static void nssmod_call_module(const struct call *c, struct fr_nssmod_result *r)
{
    size_t len = FR_NSSMOD_BUF_START;
    int saved = errno, saved_h = h_errno;
    h_errno = NSS_HERRNO_UNSET;
    for (;;) {
        char *buf = malloc(len);
        if (!buf) {
            r->status = NSS_STATUS_TRYAGAIN;
            r->herr = FR_SYSTEM;   /* glibc's own NETDB_INTERNAL + ENOMEM */
            r->herr_set = 1;
            r->err = ENOMEM;
            break;
        }
        int err = 0, herr = NSS_HERRNO_UNSET;
        enum nss_status st;
        r->at = NULL;
        r->canon = NULL;
        switch (c->kind) {
        case CALL4:
            st = ((byname4_fn)c->fn)(c->name, &r->at, buf, len, &err, &herr, NULL);
            break;
        case CALL3:
            st = ((byname3_fn)c->fn)(c->name, c->af, &r->he, buf, len, &err, &herr, NULL, &r->canon);
            break;
        case CALL2:
            st = ((byname2_fn)c->fn)(c->name, c->af, &r->he, buf, len, &err, &herr);
            break;
        default:
            st = ((byaddr_fn)c->fn)(c->addr, (socklen_t)c->len, c->af, &r->he, buf, len, &err, &herr);
            break;
        }
        if (st == NSS_STATUS_TRYAGAIN && herr == NETDB_INTERNAL && err == ERANGE &&
            len < FR_NSSMOD_BUF_MAX) {
            free(buf);
            len *= 2;
            continue;
        }
        r->status = st;
        r->herr_set = herr != NSS_HERRNO_UNSET;
        r->herr = r->herr_set ? nssmod_herr(herr) : FR_OK;
        r->err = err;
        if (st == NSS_STATUS_SUCCESS)
            r->buf = buf;
        else
            free(buf);
        break;
    }
    r->thread_herr_set = h_errno != NSS_HERRNO_UNSET;
    r->thread_herr = nssmod_herr(h_errno);
    h_errno = saved_h;
    errno = saved;
}

/* Call c when its function exists, else report the module missing. */
static void nssmod_call_or_missing(const struct call *c, struct fr_nssmod_result *r)
{
    memset(r, 0, sizeof *r);
    if (!c->fn) {
        r->missing = 1;
        return;
    }
    nssmod_call_module(c, r);
}

void fr_nssmod_byname4(const char *module, const char *name, struct fr_nssmod_result *r)
{
    struct call c = { .kind = CALL4, .name = name };
    c.fn = nssmod_module_fn(module, "gethostbyname4_r");
    nssmod_call_or_missing(&c, r);
}

void fr_nssmod_byname3(const char *module, const char *name, int af, int want3,
                    struct fr_nssmod_result *r)
{
    struct call c = { .kind = CALL3, .name = name, .af = af };
    c.fn = want3 > 0 ? nssmod_module_fn(module, "gethostbyname3_r") : NULL;
    if (!c.fn) {
        /* glibc passes gethostbyname2_r the same arguments; the extra
         * ones are never read. */
        c.kind = CALL2;
        c.fn = nssmod_module_fn(module, "gethostbyname2_r");
    }
    nssmod_call_or_missing(&c, r);
}

int fr_nssmod_has_byname(const char *module)
{
    return nssmod_module_fn(module, "gethostbyname3_r") || nssmod_module_fn(module, "gethostbyname2_r");
}

void fr_nssmod_byaddr(const char *module, const void *addr, int len, int af, struct fr_nssmod_result *r)
{
    struct call c = { .kind = CALLADDR, .addr = addr, .len = len, .af = af };
    c.fn = nssmod_module_fn(module, "gethostbyaddr_r");
    nssmod_call_or_missing(&c, r);
}

void fr_nssmod_result_free(struct fr_nssmod_result *r)
{
    if (!r)
        return;
    free(r->buf);
    r->buf = NULL;
}
