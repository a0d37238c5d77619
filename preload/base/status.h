/* fastres: internal status codes.
 *
 * Modules under preload/ report outcomes with these codes only; shim.c is
 * the one place that turns them into EAI_* / h_errno / errno, so the
 * mapping to glibc's error conventions lives in a single table. */
#ifndef FR_STATUS_H
#define FR_STATUS_H

enum fr_status {
    FR_OK = 0,
    FR_NOTFOUND,   /* name does not exist (NXDOMAIN, or not in hosts file) */
    FR_NODATA,     /* name exists, no record of the asked type */
    FR_AGAIN,      /* no server gave a usable answer before the deadline / SERVFAIL */
    FR_FAIL,       /* permanent failure (REFUSED/FORMERR everywhere, NO_RECOVERY) */
    FR_NOMEM,      /* allocation failed */
    FR_RANGE,      /* caller's buffer too small (ERANGE for _r functions) */
    FR_BADNAME,    /* name that DNS cannot carry (too long, empty label) */
    FR_PUNT,       /* fastres cannot answer exactly as glibc would: call libc */
    FR_AGAIN_NOTFOUND, /* h_errno TRY_AGAIN (a SERVFAIL on the way), but the
                      last query of the search got an answer, so nss_dns
                      reports "not found": gethostbyname_r returns 0,
                      getaddrinfo's AF_INET path EAI_NONAME */
    FR_EMPTY,      /* a reply with records but no address of the asked type
                      (a CNAME to nothing): glibc's nss_dns reports
                      NO_RECOVERY and "try again" for it */
    FR_SYSTEM,     /* an NSS module's NETDB_INTERNAL: the failure is in
                      errno, which fastres does not reproduce (the
                      shapers hand such calls to libc; shim.c would map
                      it to EAI_SYSTEM / NETDB_INTERNAL) */
    FR_REFUSED,    /* no reply, every server refused the connection:
                      res_send's errno ECONNREFUSED (FR_AGAIN there:
                      ETIMEDOUT) */
};


#endif
