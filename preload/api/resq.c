/* fastres: the res_* query functions (see resq.h). */
#include "api/resq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/engine.h"
#include "dns/msg.h"
#include "lookup/resolve.h"

enum fr_status fr_resq(const struct fr_config *cfg, enum fr_resq_mode mode, const char *name,
                       const char *domain, int qclass, int qtype, unsigned char *answer, int anslen,
                       int *outlen, enum fr_status *residual)
{
    char full[FR_RESOLVE_NAME_MAX];
    struct fr_search s;
    if (!name || anslen < 0 || qclass < 0 || qclass > 0xffff || qtype < 0 || qtype > 0xffff)
        return FR_PUNT;
    if (domain) {
        if (fr_resolve_join(name, domain, full) != FR_OK)
            return FR_FAIL;
        name = full;
    }
    uint16_t qt = (uint16_t)qtype;
    enum fr_status st = fr_resolve_search(cfg, name, &qt, 1, (uint16_t)qclass,
                                          mode == FR_RESQ_SEARCH, &s);
    if (st == FR_NOMEM || st == FR_PUNT)
        goto done;
    if (s.reply[0].msg) {
        if (s.reply[0].len > (size_t)anslen) {
            /* glibc reads what fits and reports the truncation in its own
             * way; leave such callers to it. */
            st = FR_PUNT;
            goto done;
        }
        memcpy(answer, s.reply[0].msg, s.reply[0].len);
        if (st == FR_OK) {
            *outlen = (int)s.reply[0].len;
            *residual = mode == FR_RESQ_SEARCH ? s.residual : FR_OK;
        }
    }
done:
    fr_search_free(&s);
    return st;
}

/* A query glibc's res_send would send as it is and fastres can race:
 * opcode QUERY, not a reply, one question, no answer or authority
 * records, at most an OPT record (EDNS) in the additional section. Others
 * (UPDATE, NOTIFY, TSIG-signed, several questions) go to libc. */
static int resq_send_query_ok(const uint8_t *msg, size_t len, struct fr_msg_rr *question)
{
    struct fr_msg_iter it;
    struct fr_msg_rr rr;
    if (fr_msg_validate_query(msg, len) != FR_OK || fr_msg_iter_init(&it, msg, len) != FR_OK)
        return 0;
    const struct fr_msg_hdr *h = &it.hdr;
    if ((h->flags & 0x8000) || ((h->flags >> 11) & 0xf) != 0 || h->qdcount != 1 ||
        h->ancount != 0 || h->nscount != 0 || h->arcount > 1)
        return 0;
    if (fr_msg_iter_next(&it, question) != FR_OK || question->section != FR_SEC_QUESTION)
        return 0;
    if (h->arcount == 1 && (fr_msg_iter_next(&it, &rr) != FR_OK || rr.type != FR_T_OPT))
        return 0;
    return 1;
}

enum fr_status fr_resq_send(const struct fr_config *cfg, const unsigned char *msg, int msglen,
                            unsigned char *answer, int anslen, int *outlen)
{
    struct fr_msg_rr question;
    char name[FR_MSG_NAME_MAX * 4 + 1];
    if (!msg || !answer || msglen < 12 || anslen < 12 ||
        !resq_send_query_ok(msg, (size_t)msglen, &question) ||
        fr_msg_name_text(msg, (size_t)msglen, question.name_off, name, sizeof name) != FR_OK)
        return FR_PUNT;   /* glibc's own checks and errors (EINVAL, ...) */
    struct fr_question q = {
        .name = name, .qtype = question.type, .qclass = question.rclass,
        .query = msg, .query_len = (size_t)msglen,
    };
    /* Straight to the engine: res_send asks every time (no cache). */
    enum fr_status st = fr_engine_race(cfg, &q, 1);
    if (st != FR_OK)
        goto done;
    st = q.status;
    if (st == FR_OK) {
        if (q.answer_len > (size_t)anslen) {
            /* glibc keeps what fits (UDP) or sets TC (TCP): libc says it. */
            st = FR_PUNT;
            goto done;
        }
        memcpy(answer, q.answer, q.answer_len);
        /* The program matches the reply to its own query's ID; each send
         * went out with an ID of fastres's. */
        answer[0] = msg[0];
        answer[1] = msg[1];
        *outlen = (int)q.answer_len;
        goto done;
    }
    if (st == FR_AGAIN) {
        /* glibc's res_send returns any other rcode than SERVFAIL, NOTIMP
         * and REFUSED to the caller (FORMERR included), and sets errno
         * from how each server failed: such calls go to libc. With no
         * reply at all: ECONNREFUSED when every server refused the
         * connection, else ETIMEDOUT (__res_context_send; shim.c). */
        if (q.fail_rcode >= 0) {
            st = FR_PUNT;
            goto done;
        }
        if (q.conn_refused)
            st = FR_REFUSED;
    }
done:
    free(q.answer);
    return st;
}
