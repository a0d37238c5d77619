/* mxquery: read MX records the way mail programs do, with res_query (or
 * res_search with -s), for test/test_programs.sh.
 *
 * usage: mxquery [-s] NAME...
 *
 * Prints one line per name: "NAME: PREF HOST, PREF HOST" with the records
 * sorted (server order may vary), or "NAME: error h_errno=N". Exit status
 * 0 when every lookup ran (answers or not), 2 on usage errors. */
#include <arpa/nameser.h>
#include <netdb.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Largest DNS message (TCP length field); MX answers here are small. */
#define FR_MXQ_ANSLEN 65536
/* More MX records than any test name has. */
#define FR_MXQ_MAX_RR 64
/* "65535 " plus a presentation-form name. */
#define FR_MXQ_ITEM (8 + NS_MAXDNAME)

static int fr_mxq_cmp(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static void fr_mxq_one(const char *name, int search, unsigned char *ans)
{
    static char items[FR_MXQ_MAX_RR][FR_MXQ_ITEM];
    ns_msg msg;
    int len, n = 0;

    h_errno = 0;
    len = search ? res_search(name, ns_c_in, ns_t_mx, ans, FR_MXQ_ANSLEN)
                 : res_query(name, ns_c_in, ns_t_mx, ans, FR_MXQ_ANSLEN);
    if (len < 0) {
        printf("%s: error h_errno=%d\n", name, h_errno);
        return;
    }
    if (len > FR_MXQ_ANSLEN || ns_initparse(ans, len, &msg) < 0) {
        printf("%s: unparseable reply\n", name);
        return;
    }
    for (int i = 0; i < ns_msg_count(msg, ns_s_an) && n < FR_MXQ_MAX_RR; i++) {
        ns_rr rr;
        char host[NS_MAXDNAME];

        if (ns_parserr(&msg, ns_s_an, i, &rr) < 0 || ns_rr_type(rr) != ns_t_mx ||
            ns_rr_rdlen(rr) < 3)
            continue;
        if (dn_expand(ns_msg_base(msg), ns_msg_end(msg), ns_rr_rdata(rr) + 2, host,
                      sizeof(host)) < 0)
            continue;
        snprintf(items[n++], FR_MXQ_ITEM, "%u %s", ns_get16(ns_rr_rdata(rr)), host);
    }
    qsort(items, (size_t)n, sizeof(items[0]), fr_mxq_cmp);
    printf("%s:", name);
    for (int i = 0; i < n; i++)
        printf("%s %s", i ? "," : "", items[i]);
    printf("\n");
}

int main(int argc, char **argv)
{
    unsigned char *ans;
    int opt, search = 0;

    while ((opt = getopt(argc, argv, "s")) != -1) {
        if (opt != 's') {
            fprintf(stderr, "usage: mxquery [-s] NAME...\n");
            return 2;
        }
        search = 1;
    }
    ans = malloc(FR_MXQ_ANSLEN);
    if (!ans)
        return 1;
    for (int i = optind; i < argc; i++)
        fr_mxq_one(argv[i], search, ans);
    free(ans);
    return 0;
}
