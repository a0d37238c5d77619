/* fastres: NSS modules named on the nsswitch.conf hosts line besides files
 * and dns (myhostname, mymachines, resolve, mdns4_minimal, ...).
 *
 * fastres answers files and dns itself and hands each other source to its
 * own module, libnss_NAME.so.2, loaded with dlopen as glibc loads it
 * (RTLD_LAZY, once per process) and called through the same functions
 * glibc calls (_nss_NAME_gethostbyname4_r / 3_r / 2_r, _r,
 * gethostbyaddr_r). A module that cannot be loaded, or lacks the
 * function, is reported as missing: glibc's callers each treat that in
 * their own way (see gai_addrs.c and hostent_nss.c). The caller walks
 * the sources in order with their actions (sources.h).
 *
 * Thread-safe and lock-free (module handles kept in slots claimed
 * atomically, never unloaded: nothing to do at fork). Speaks the NSS
 * module ABI (nss_status, h_errno values, errno) to call the modules;
 * the h_errno values come back to its callers as fr_status (herr below),
 * and the caller's errno and h_errno are restored after each call. */
#ifndef FR_NSSMOD_H
#define FR_NSSMOD_H

#include <netdb.h>
#include <nss.h>
#include <stddef.h>

#include "base/config.h"
#include "base/status.h"

/* First buffer for a module's answer; doubled on ERANGE up to the max
 * (glibc grows its scratch buffer without bound; a module answer larger
 * than 1 MiB is not a host entry). */
#define FR_NSSMOD_BUF_START 1024
#define FR_NSSMOD_BUF_MAX (1u << 20)

/* One module call's outcome. herr/err are what the module left in
 * *h_errnop and *errnop (herr_set is 0 when it did not write *h_errnop);
 * missing is 1 when the module or the function does not exist. The
 * h_errno values are read here, as statuses: FR_OK (NETDB_SUCCESS),
 * FR_NOTFOUND (HOST_NOT_FOUND), FR_NODATA (NO_DATA), FR_AGAIN (TRY_AGAIN),
 * FR_FAIL (NO_RECOVERY), FR_SYSTEM (NETDB_INTERNAL), FR_PUNT (a value
 * glibc does not define). */
struct fr_nssmod_result {
    int missing;
    enum nss_status status;
    enum fr_status herr;
    int herr_set, err;
    /* Some modules (systemd's) also write the thread's h_errno: whether
     * this one did, and the value (as herr). The thread's h_errno is
     * restored after the call; glibc's callers see the module's value,
     * which the caller reproduces in its place in the sequence (shim.c
     * writes h_errno). */
    enum fr_status thread_herr;
    int thread_herr_set;
    /* On NSS_STATUS_SUCCESS, owned by the result (fr_nssmod_result_free): */
    char *buf;                        /* the module's buffer */
    struct hostent he;                /* _r, 2_r, 3_r */
    char *canon;                      /* 3_r: the canonical name, in buf */
    struct gaih_addrtuple *at;        /* 4_r: the tuples, in buf */
};

/* gethostbyname4_r (all addresses of name); missing when the module has
 * no such function (the caller then uses fr_nssmod_byname3). */
void fr_nssmod_byname4(const char *module, const char *name, struct fr_nssmod_result *r);
/* gethostbyname3_r when want3 and the module has it, else
 * gethostbyname2_r (getaddrinfo's choice); gethostbyname2_r alone when
 * want3 is -1 (gethostbyname*). */
void fr_nssmod_byname3(const char *module, const char *name, int af, int want3,
                    struct fr_nssmod_result *r);
/* 1 when the module has gethostbyname3_r or gethostbyname2_r. */
int fr_nssmod_has_byname(const char *module);
/* gethostbyaddr_r. */
void fr_nssmod_byaddr(const char *module, const void *addr, int len, int af, struct fr_nssmod_result *r);
/* Accepts a result never filled (zeroed). */
void fr_nssmod_result_free(struct fr_nssmod_result *r);

#endif
