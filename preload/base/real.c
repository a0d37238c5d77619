/* fastres: binding libc's real resolver functions. */
#include "base/real.h"

#include <dlfcn.h>
#include <pthread.h>

#include "base/log.h"

static struct fr_real real;
static pthread_once_t real_once = PTHREAD_ONCE_INIT;
static int real_ok;

/* dlsym returns void *; POSIX guarantees it converts to a function pointer.
 * glibc < 2.34 kept the res_* functions in libresolv under __res_* names
 * only, hence the second name tried. */
#define BIND2(field, sym, alt)                                                  \
    do {                                                                        \
        *(void **)&real.field = dlsym(RTLD_NEXT, sym);                          \
        if (!real.field && *(alt))                                               \
            *(void **)&real.field = dlsym(RTLD_NEXT, (const char *)(alt));     \
        if (!real.field) {                                                      \
            fr_log(FR_LOG_ERROR, "real", "cannot find libc's %s: %s", sym, dlerror()); \
            ok = 0;                                                             \
        }                                                                       \
    } while (0)
#define BIND(field, sym) BIND2(field, sym, "")

static void real_bind(void)
{
    int ok = 1;
    BIND(getaddrinfo, "getaddrinfo");
    BIND(freeaddrinfo, "freeaddrinfo");
    BIND(gethostbyname, "gethostbyname");
    BIND(gethostbyname2, "gethostbyname2");
    BIND(gethostbyname_r, "gethostbyname_r");
    BIND(gethostbyname2_r, "gethostbyname2_r");
    BIND(gethostbyaddr, "gethostbyaddr");
    BIND(gethostbyaddr_r, "gethostbyaddr_r");
    BIND(getnameinfo, "getnameinfo");
    /* glibc >= 2.34 has res_* in libc under their plain names; the
     * __res_* names are compat aliases of the same code. */
    BIND2(res_query, "res_query", "__res_query");
    BIND2(res_search, "res_search", "__res_search");
    BIND2(res_querydomain, "res_querydomain", "__res_querydomain");
    BIND2(res_nquery, "res_nquery", "__res_nquery");
    BIND2(res_nsearch, "res_nsearch", "__res_nsearch");
    BIND2(res_nquerydomain, "res_nquerydomain", "__res_nquerydomain");
    BIND2(res_send, "res_send", "__res_send");
    BIND2(res_nsend, "res_nsend", "__res_nsend");
    real_ok = ok;
}

const struct fr_real *fr_real_get(void)
{
    pthread_once(&real_once, real_bind);
    return real_ok ? &real : NULL;
}
