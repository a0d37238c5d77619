/* fastres fuzz harness: shaping replies into getaddrinfo lists and
 * hostents (preload/api/gai*.c, preload/api/hostent.c), the way fr_gai,
 * fr_hostent_query and fr_hostent_fill do it after a search.
 *
 * The search itself (preload/lookup/resolve.c: cache, engine, network) is
 * replaced at link time by fr_resolve_search below, which hands the
 * fuzzer's replies to the shapers after the same gate the engine puts
 * every upstream reply through (NOERROR or NXDOMAIN, not truncated,
 * fr_msg_validate). libfr.a is an archive, so resolve.o is not linked.
 *
 * Input: 1 octet of flags (family, AI_* flags, buffer size), 2 octets the
 * length of the first reply (for A), then the replies (A, then AAAA).
 * Checked: no memory error or undefined behaviour; lists and hostents are
 * well formed (families, lengths, NUL-terminated names, NULL-terminated
 * arrays inside the caller's buffer). */
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/config.h"
#include "base/config_test.h"
#include "api/gai.h"
#include "api/hostent.h"
#include "dns/msg.h"
#include "lookup/resolve.h"
#include "fuzz.h"


static const uint8_t *rep_a, *rep_aaaa;
static size_t rep_a_len, rep_aaaa_len;

/* The engine's gate (engine.c on_reply). */
static int usable(const uint8_t *m, size_t len)
{
    struct fr_msg_hdr h;
    return fr_msg_header(m, len, &h) == FR_OK &&
           (FR_MSG_RCODE(&h) == FR_RCODE_NOERROR || FR_MSG_RCODE(&h) == FR_RCODE_NXDOMAIN) &&
           !FR_MSG_TC(&h) && fr_msg_validate(m, len) == FR_OK;
}

enum fr_status fr_resolve_search(const struct fr_config *cfg, const char *name, const uint16_t *qtypes,
                                 unsigned n, uint16_t qclass, int search, struct fr_search *out)
{
    (void)cfg; (void)qclass; (void)search;
    memset(out, 0, sizeof *out);
    strcpy(out->name, name);
    int answered = 0, nx = 0;
    for (unsigned i = 0; i < n; i++) {
        const uint8_t *m = qtypes[i] == FR_T_A ? rep_a : rep_aaaa;
        size_t len = qtypes[i] == FR_T_A ? rep_a_len : rep_aaaa_len;
        if (!usable(m, len))
            continue;
        /* An exact-size copy: a read past the end is an ASan error. */
        out->reply[i].msg = malloc(len);
        if (!out->reply[i].msg) {
            fr_search_free(out);
            return FR_NOMEM;
        }
        memcpy(out->reply[i].msg, m, len);
        out->reply[i].len = len;
        struct fr_msg_hdr h;
        fr_msg_header(m, len, &h);
        if (FR_MSG_RCODE(&h) == FR_RCODE_NXDOMAIN)
            nx = 1;
        else if (h.ancount)
            answered = 1;
    }
    /* As __res_context_query classifies: records answer; else NXDOMAIN,
     * else NODATA. */
    if (answered)
        return FR_OK;
    fr_search_free(out);
    return nx ? FR_NOTFOUND : FR_NODATA;
}

void fr_search_free(struct fr_search *s)
{
    for (unsigned i = 0; i < FR_ENGINE_PAIR; i++) {
        free(s->reply[i].msg);
        s->reply[i].msg = NULL;
    }
}

static const char *no_env(const char *name)
{
    (void)name;
    return NULL;
}

static void check_list(const struct addrinfo *ai, int canon)
{
    CHECK(ai);
    if (canon)
        CHECK(ai->ai_canonname && strlen(ai->ai_canonname) <= FR_MSG_NAME_MAX * 4);
    for (; ai; ai = ai->ai_next) {
        CHECK(ai->ai_family == AF_INET || ai->ai_family == AF_INET6);
        CHECK(ai->ai_addr && ai->ai_addr->sa_family == ai->ai_family);
        CHECK(ai->ai_addrlen == (ai->ai_family == AF_INET ? sizeof(struct sockaddr_in)
                                                          : sizeof(struct sockaddr_in6)));
    }
}

static void check_hostent(const struct hostent *h, int af, const char *buf, size_t buflen)
{
    const char *end = buf + buflen;
    CHECK(h->h_addrtype == af && h->h_length == (af == AF_INET ? 4 : 16));
    CHECK(h->h_name >= buf && h->h_name + strlen(h->h_name) < end);
    unsigned n = 0;
    for (char **a = h->h_aliases; *a; a++)
        CHECK(*a >= buf && *a + strlen(*a) < end);
    for (char **a = h->h_addr_list; *a; a++, n++)
        CHECK(*a >= buf && *a + h->h_length <= end);
    CHECK(n >= 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct fr_config *cfg;
    static const int families[4] = { AF_UNSPEC, AF_INET, AF_INET6, AF_UNSPEC };
    static const size_t buflens[8] = { 0, 8, 32, 64, 128, 512, 1024, 8192 };

    if (!cfg) {
        /* hosts: dns only, so no /etc/hosts is read */
        cfg = fr_config_parse("nameserver 127.0.0.2\n", "hosts: dns\n", no_env);
        CHECK(cfg);
    }
    if (size < 3)
        return 0;
    uint8_t f = data[0];
    size_t l1 = (size_t)data[1] << 8 | data[2];
    data += 3;
    size -= 3;
    if (l1 > size)
        l1 = size;
    rep_a = data;
    rep_a_len = l1;
    rep_aaaa = data + l1;
    rep_aaaa_len = size - l1;

    /* getaddrinfo */
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = families[f & 3];
    hints.ai_socktype = (f & 0x80) ? SOCK_STREAM : 0;
    hints.ai_flags = ((f & 4) ? AI_CANONNAME : 0) | ((f & 8) ? AI_V4MAPPED : 0) | ((f & 16) ? AI_ALL : 0);
    enum fr_status st = fr_gai(cfg, "host.example", NULL, &hints, &res);
    if (st == FR_OK) {
        check_list(res, !!(f & 4));
        fr_gai_free(res);
    }

    /* gethostbyname2_r */
    int af = (f & 0x20) ? AF_INET6 : AF_INET;
    struct fr_hostdata *d = NULL;
    if (fr_hostent_query(cfg, "host.example", af, &d) == FR_OK) {
        size_t buflen = buflens[(f >> 5) & 7];
        char *buf = malloc(buflen ? buflen : 1);
        struct hostent h;
        CHECK(buf);
        enum fr_status fs = fr_hostent_fill(d, &h, buf, buflen);
        CHECK(fs == FR_OK || fs == FR_RANGE);
        if (fs == FR_OK)
            check_hostent(&h, af, buf, buflen);
        free(buf);
        const unsigned char(*addrs)[16];
        CHECK(fr_hostdata_addrs(d, &addrs) >= 1);
        fr_hostdata_free(d);
    }
    return 0;
}
