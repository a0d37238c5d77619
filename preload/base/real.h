/* fastres: libc's own functions, bound once with dlsym(RTLD_NEXT).
 *
 * Every call fastres cannot answer exactly as glibc would goes to these.
 * They are resolved on first use (pthread_once), never from a constructor,
 * so a program that never resolves pays nothing. */
#ifndef FR_REAL_H
#define FR_REAL_H

#include <netdb.h>
#include <resolv.h>

struct fr_real {
    int (*getaddrinfo)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
    void (*freeaddrinfo)(struct addrinfo *);
    struct hostent *(*gethostbyname)(const char *);
    struct hostent *(*gethostbyname2)(const char *, int);
    int (*gethostbyname_r)(const char *, struct hostent *, char *, size_t, struct hostent **, int *);
    int (*gethostbyname2_r)(const char *, int, struct hostent *, char *, size_t, struct hostent **,
                            int *);
    struct hostent *(*gethostbyaddr)(const void *, socklen_t, int);
    int (*gethostbyaddr_r)(const void *, socklen_t, int, struct hostent *, char *, size_t,
                           struct hostent **, int *);
    int (*getnameinfo)(const struct sockaddr *, socklen_t, char *, socklen_t, char *, socklen_t,
                       int);
    int (*res_query)(const char *, int, int, unsigned char *, int);
    int (*res_search)(const char *, int, int, unsigned char *, int);
    int (*res_querydomain)(const char *, const char *, int, int, unsigned char *, int);
    int (*res_nquery)(res_state, const char *, int, int, unsigned char *, int);
    int (*res_nsearch)(res_state, const char *, int, int, unsigned char *, int);
    int (*res_nquerydomain)(res_state, const char *, const char *, int, int, unsigned char *, int);
    int (*res_send)(const unsigned char *, int, unsigned char *, int);
    int (*res_nsend)(res_state, const unsigned char *, int, unsigned char *, int);
};

/* The table; NULL only when libc's symbols cannot be found at all, which
 * cannot happen in a glibc process (callers still check). */
const struct fr_real *fr_real_get(void);

#endif
