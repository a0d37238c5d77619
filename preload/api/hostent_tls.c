/* fastres: the per-thread results of gethostbyname, gethostbyname2 and
 * gethostbyaddr (see fr_hostent_fill_tls in hostent.h). */
#include "api/hostent.h"

#include <pthread.h>
#include <stdlib.h>

/* The per-thread buffer starts at this size and doubles up to the
 * maximum (a reply of 64 KiB cannot carry more). */
#define HOSTENT_TLS_BUF_START 1024
#define HOSTENT_TLS_BUF_MAX (256 * 1024)

struct tls_hostent {
    struct hostent he;
    char *buf;
    size_t len;
};

/* glibc's gethostbyname and gethostbyaddr each have a result of their
 * own (getXXbyYY.c: static per function): one call does not overwrite
 * the other's. Per thread here. */
enum { TLS_SLOTS = FR_HOSTENT_BYADDR + 1 };
struct tls_hostents {
    struct tls_hostent slot[TLS_SLOTS];
};

static pthread_key_t hostent_key;
static pthread_once_t hostent_once = PTHREAD_ONCE_INIT;
static __thread struct tls_hostents *tls_he;

static void hostent_tls_free(void *p)
{
    struct tls_hostents *t = p;
    if (t) {
        for (int i = 0; i < TLS_SLOTS; i++)
            free(t->slot[i].buf);
        free(t);
    }
}

static void hostent_key_init(void)
{
    pthread_key_create(&hostent_key, hostent_tls_free);
}

enum fr_status fr_hostent_fill_tls(const struct fr_hostdata *d, enum fr_hostent_slot slot,
                                   struct hostent **out)
{
    pthread_once(&hostent_once, hostent_key_init);
    if (!tls_he) {
        struct tls_hostents *all = calloc(1, sizeof *all);
        if (!all)
            return FR_NOMEM;
        tls_he = all;
        pthread_setspecific(hostent_key, all);
    }
    struct tls_hostent *t = &tls_he->slot[slot];
    for (;;) {
        if (t->buf && fr_hostent_fill(d, &t->he, t->buf, t->len) == FR_OK) {
            *out = &t->he;
            return FR_OK;
        }
        size_t n = t->len ? t->len * 2 : HOSTENT_TLS_BUF_START;
        if (n > HOSTENT_TLS_BUF_MAX)
            return FR_NOMEM;
        char *b = realloc(t->buf, n);
        if (!b)
            return FR_NOMEM;
        t->buf = b;
        t->len = n;
    }
}
