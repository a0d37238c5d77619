/* fastres fuzz harness: the DNS message reader (preload/dns/msg*.c) on raw
 * bytes as they come off the network: header, iteration, validation, name
 * expansion and comparison, cache TTL, address extraction and the cache's
 * name-stability check. Besides memory errors (ASan) and undefined
 * behaviour (UBSan), it checks that the functions agree with each other:
 * what fr_msg_validate accepts, every other reader must be able to walk. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dns/msg.h"
#include "fuzz.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fr_msg_hdr h;
    struct fr_msg_iter it;
    struct fr_msg_rr rr;
    char text[FR_MSG_NAME_MAX * 4 + 1];
    static struct fr_msg_addrs ma;
    uint32_t ttl;
    int neg;
    size_t next;
    /* An exact-size copy, so reading one octet past the message is an
     * ASan error and not a read of the fuzzer's buffer. */
    uint8_t *msg = malloc(size ? size : 1);
    if (!msg)
        return 0;
    memcpy(msg, data, size);

    enum fr_status hs = fr_msg_header(msg, size, &h);
    CHECK((hs == FR_OK) == (size >= 12));
    int valid = fr_msg_validate(msg, size) == FR_OK;

    unsigned records = 0;
    if (fr_msg_iter_init(&it, msg, size) == FR_OK) {
        enum fr_status st;
        while ((st = fr_msg_iter_next(&it, &rr)) == FR_OK) {
            records++;
            CHECK(rr.name_off < size);
            if (rr.section != FR_SEC_QUESTION)
                CHECK(rr.rdata_off + rr.rdlen <= size);
            CHECK(fr_msg_name_skip(msg, size, rr.name_off, &next) == FR_OK && next <= size);
            enum fr_status ts = fr_msg_name_text(msg, size, rr.name_off, text, sizeof text);
            if (valid)
                CHECK(ts == FR_OK);
            if (ts == FR_OK) {
                CHECK(strlen(text) < sizeof text);
                /* A name is equal to itself; to the question name, some answer. */
                CHECK(fr_msg_name_eq(msg, size, rr.name_off, msg, size, rr.name_off) == 1);
                (void)fr_msg_name_eq(msg, size, rr.name_off, msg, size, 12);
            }
            /* A short output buffer fails cleanly. */
            (void)fr_msg_name_text(msg, size, rr.name_off, text, records % 16);
            CHECK(fr_msg_ttl(rr.ttl) <= FR_MSG_TTL_MAX);
        }
        if (valid)
            CHECK(st == FR_NOTFOUND);
        /* The end stays the end. */
        if (st == FR_NOTFOUND)
            CHECK(fr_msg_iter_next(&it, &rr) == FR_NOTFOUND);
    }

    if (fr_msg_cache_ttl(msg, size, &ttl, &neg) == FR_OK) {
        CHECK(valid);
        CHECK(ttl <= FR_MSG_TTL_MAX);
        CHECK(neg == 0 || neg == 1);
    }
    for (int q = 0; q < 2; q++) {
        enum fr_status as = fr_msg_addrs(msg, size, q ? FR_T_AAAA : FR_T_A, &ma);
        if (as == FR_OK) {
            CHECK(ma.n >= 1 && ma.n <= FR_MSG_ADDRS_MAX);
            CHECK(ma.family == (q ? AF_INET6 : AF_INET));
            CHECK(strlen(ma.canon) < sizeof ma.canon);
            CHECK(ma.naliases <= FR_MSG_ADDRS_MAX);
            for (unsigned i = 0; i < ma.naliases; i++)
                CHECK(ma.alias_off[i] < size);
            CHECK(ma.min_ttl <= FR_MSG_TTL_MAX);
        }
    }
    enum fr_status ss = fr_msg_names_stable(msg, size);
    CHECK(ss == FR_OK || ss == FR_FAIL || ss == FR_NOMEM);
    free(msg);
    return 0;
}
