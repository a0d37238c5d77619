/* fastres: tests for preload/dns/msg*.c (the DNS message walker).
 *
 * No network. Every message is built here byte by byte with a small
 * builder, so each case states exactly what is on the wire, including the
 * hostile ones (pointer loops, pointers out of range, truncated records,
 * oversized names). Names read back are compared with libresolv's
 * dn_expand, the reference for the text form. Cases are numbered builders
 * (Criterion copies parameters into the test process, so they hold no
 * pointers). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <arpa/inet.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns/msg.h"

/* ---- builder ---- */

struct mb {
    uint8_t b[FR_MSG_MAX];
    size_t n;
};

static void u8(struct mb *m, unsigned v)
{
    cr_assert_lt(m->n, sizeof m->b);
    m->b[m->n++] = (uint8_t)v;
}

static void u16(struct mb *m, unsigned v)
{
    u8(m, v >> 8);
    u8(m, v & 0xff);
}

static void u32(struct mb *m, uint32_t v)
{
    u16(m, v >> 16);
    u16(m, v & 0xffff);
}

static void bytes(struct mb *m, const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        u8(m, ((const uint8_t *)p)[i]);
}

/* flags: rcode in the low bits, QR|RD|RA always set */
static void hdr(struct mb *m, unsigned rcode, unsigned tc, unsigned qd, unsigned an, unsigned ns,
                unsigned ar)
{
    m->n = 0;
    u16(m, 0x1234);
    u16(m, 0x8000 | 0x0100 | 0x0080 | (tc ? 0x0200 : 0) | rcode);
    u16(m, qd);
    u16(m, an);
    u16(m, ns);
    u16(m, ar);
}

/* Uncompressed name from dotted text ("" is the root). */
static void name(struct mb *m, const char *text)
{
    const char *p = text;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        u8(m, (unsigned)l);
        bytes(m, p, l);
        p += l + (dot ? 1 : 0);
    }
    u8(m, 0);
}

static void ptr(struct mb *m, unsigned off)
{
    u16(m, 0xc000 | off);
}

static void question(struct mb *m, const char *qname, unsigned type)
{
    name(m, qname);
    u16(m, type);
    u16(m, FR_C_IN);
}

/* Record header after the owner name. */
static void rrh(struct mb *m, unsigned type, unsigned rclass, uint32_t ttl, unsigned rdlen)
{
    u16(m, type);
    u16(m, rclass);
    u32(m, ttl);
    u16(m, rdlen);
}

static void rr_a(struct mb *m, const char *owner, uint32_t ttl, const char *addr)
{
    uint8_t a[4];
    cr_assert_eq(inet_pton(AF_INET, addr, a), 1);
    if (owner)
        name(m, owner);
    else
        ptr(m, 12);   /* the question name */
    rrh(m, FR_T_A, FR_C_IN, ttl, 4);
    bytes(m, a, 4);
}

static void rr_aaaa(struct mb *m, const char *owner, uint32_t ttl, const char *addr)
{
    uint8_t a[16];
    cr_assert_eq(inet_pton(AF_INET6, addr, a), 1);
    name(m, owner);
    rrh(m, FR_T_AAAA, FR_C_IN, ttl, 16);
    bytes(m, a, 16);
}

static void rr_cname(struct mb *m, const char *owner, uint32_t ttl, const char *target)
{
    name(m, owner);
    size_t at = m->n;
    rrh(m, FR_T_CNAME, FR_C_IN, ttl, 0);
    size_t start = m->n;
    name(m, target);
    unsigned len = (unsigned)(m->n - start);
    m->b[at + 8] = (uint8_t)(len >> 8);
    m->b[at + 9] = (uint8_t)len;
}

static void rr_soa(struct mb *m, const char *owner, uint32_t ttl, uint32_t minimum)
{
    name(m, owner);
    size_t at = m->n;
    rrh(m, FR_T_SOA, FR_C_IN, ttl, 0);
    size_t start = m->n;
    name(m, "ns.test");
    name(m, "host.test");
    u32(m, 1);      /* serial */
    u32(m, 3600);   /* refresh */
    u32(m, 600);    /* retry */
    u32(m, 86400);  /* expire */
    u32(m, minimum);
    unsigned len = (unsigned)(m->n - start);
    m->b[at + 8] = (uint8_t)(len >> 8);
    m->b[at + 9] = (uint8_t)len;
}

/* A name of `octets` wire octets (labels of 63 and a shorter last one). */
static void long_name_text(char *out, size_t wire_octets)
{
    /* wire = sum(len + 1) + 1 for the root */
    size_t left = wire_octets - 1, o = 0;
    while (left > 0) {
        size_t l = left - 1 > 63 ? 63 : left - 1;
        cr_assert_gt(l, 0, "cannot make a name of %zu octets", wire_octets);
        if (o)
            out[o++] = '.';
        memset(out + o, 'a' + (int)(left % 26), l);
        o += l;
        left -= l + 1;
    }
    out[o] = '\0';
}

/* ---- fr_msg_validate on well-formed and hostile messages ---- */

enum vcase {
    V_SIMPLE, V_CNAME_CHAIN, V_HEADER_ONLY, V_TRAILING_BYTES, V_NAME_255, V_LABEL_63, V_SOA_NEG,
    V_SHORT_HEADER, V_PTR_SELF, V_PTR_PAIR, V_PTR_OUT_OF_RANGE, V_PTR_HALF, V_LABEL_PTR_LOOP,
    V_TRUNC_RR_HEADER, V_TRUNC_QUESTION, V_RDLEN_OVERFLOW, V_COUNT_TOO_HIGH, V_NAME_256,
    V_LABEL_64, V_LABEL_80, V_PTR_MAKES_256, V_NO_TERMINATOR, V_A_RDLEN_5, V_AAAA_RDLEN_4,
    V_CNAME_RDATA_SHORT, V_CNAME_RDATA_LOOP, V_SOA_SHORT, V_MX_SHORT, V_EMPTY,
    V_QUERY_ECHO,
    V_NCASES
};

struct vexpect {
    enum vcase c;
    enum fr_status st;
    char title[40];
};

static void build_v(enum vcase c, struct mb *m)
{
    char big[400];
    switch (c) {
    case V_SIMPLE:
        hdr(m, 0, 0, 1, 2, 0, 0);
        question(m, "foo.test", FR_T_A);
        rr_a(m, NULL, 300, "10.0.0.1");
        rr_a(m, "foo.test", 300, "10.0.0.2");
        break;
    case V_CNAME_CHAIN:
        hdr(m, 0, 0, 1, 3, 0, 0);
        question(m, "www.test", FR_T_A);
        rr_cname(m, "www.test", 60, "a.test");
        rr_cname(m, "a.test", 60, "b.test");
        rr_a(m, "b.test", 60, "10.0.0.3");
        break;
    case V_HEADER_ONLY:
        hdr(m, 0, 0, 0, 0, 0, 0);
        break;
    case V_TRAILING_BYTES:
        hdr(m, 0, 0, 1, 1, 0, 0);
        question(m, "foo.test", FR_T_A);
        rr_a(m, NULL, 300, "10.0.0.1");
        u32(m, 0xdeadbeef);
        break;
    case V_NAME_255:
        long_name_text(big, 255);
        hdr(m, 0, 0, 1, 0, 0, 0);
        question(m, big, FR_T_A);
        break;
    case V_LABEL_63:
        memset(big, 'x', 63);
        strcpy(big + 63, ".test");
        hdr(m, 0, 0, 1, 0, 0, 0);
        question(m, big, FR_T_A);
        break;
    case V_SOA_NEG:
        hdr(m, FR_RCODE_NXDOMAIN, 0, 1, 0, 1, 0);
        question(m, "nx.test", FR_T_A);
        rr_soa(m, "test", 600, 60);
        break;
    case V_SHORT_HEADER:
        hdr(m, 0, 0, 0, 0, 0, 0);
        m->n = 11;
        break;
    case V_PTR_SELF:
        hdr(m, 0, 0, 1, 0, 0, 0);
        ptr(m, 12);   /* the question name points at itself */
        u16(m, FR_T_A);
        u16(m, FR_C_IN);
        break;
    case V_PTR_PAIR:
        hdr(m, 0, 0, 1, 1, 0, 0);
        question(m, "foo.test", FR_T_A);
        /* owner at X points to Y, Y (the rdata's first octets) to X */
        {
            size_t x = m->n;
            ptr(m, (unsigned)(x + 2 + 10));
            rrh(m, FR_T_CNAME, FR_C_IN, 60, 2);
            ptr(m, (unsigned)x);
        }
        break;
    case V_PTR_OUT_OF_RANGE:
        hdr(m, 0, 0, 1, 1, 0, 0);
        question(m, "foo.test", FR_T_A);
        ptr(m, 0x3000);
        rrh(m, FR_T_A, FR_C_IN, 60, 4);
        u32(m, 0x0a000001);
        break;
    case V_PTR_HALF:
        hdr(m, 0, 0, 1, 0, 0, 0);
        u8(m, 0xc0);   /* a pointer cut after its first octet */
        break;
    case V_LABEL_PTR_LOOP:
        hdr(m, 0, 0, 1, 1, 0, 0);
        question(m, "foo.test", FR_T_A);
        {
            size_t x = m->n;
            u8(m, 1);
            u8(m, 'a');
            ptr(m, (unsigned)x);   /* "a" then back to itself: a.a.a.a... */
            rrh(m, FR_T_A, FR_C_IN, 60, 4);
            u32(m, 0x0a000001);
        }
        break;
    case V_TRUNC_RR_HEADER:
        hdr(m, 0, 0, 1, 1, 0, 0);
        question(m, "foo.test", FR_T_A);
        ptr(m, 12);
        u16(m, FR_T_A);
        u16(m, FR_C_IN);
        u16(m, 0);   /* TTL cut in half */
        break;
    case V_TRUNC_QUESTION:
        hdr(m, 0, 0, 1, 0, 0, 0);
        name(m, "foo.test");
        u16(m, FR_T_A);   /* class missing */
        break;
    case V_RDLEN_OVERFLOW:
        hdr(m, 0, 0, 1, 1, 0, 0);
        question(m, "foo.test", FR_T_A);
        ptr(m, 12);
        rrh(m, FR_T_TXT, FR_C_IN, 60, 100);
        u32(m, 0x04746573);   /* 4 of the 100 octets */
        break;
    case V_COUNT_TOO_HIGH:
        hdr(m, 0, 0, 1, 2, 0, 0);
        question(m, "foo.test", FR_T_A);
        rr_a(m, NULL, 300, "10.0.0.1");
        break;
    case V_NAME_256:
        hdr(m, 0, 0, 1, 0, 0, 0);
        /* 255 octets of labels plus one more label */
        long_name_text(big, 255);
        {
            char b2[sizeof big + 2];
            snprintf(b2, sizeof b2, "z.%s", big);   /* 257 octets */
            question(m, b2, FR_T_A);
        }
        break;
    case V_LABEL_64:
        hdr(m, 0, 0, 1, 0, 0, 0);
        u8(m, 64);   /* 0x40: an obsolete extended label type */
        for (int i = 0; i < 64; i++)
            u8(m, 'x');
        u8(m, 0);
        u16(m, FR_T_A);
        u16(m, FR_C_IN);
        break;
    case V_LABEL_80:
        hdr(m, 0, 0, 1, 0, 0, 0);
        u8(m, 0x80);
        u8(m, 0);
        u16(m, FR_T_A);
        u16(m, FR_C_IN);
        break;
    case V_PTR_MAKES_256:
        /* question of 255 octets; an answer owner "zz" + pointer to it is
         * 258 octets once expanded */
        long_name_text(big, 255);
        hdr(m, 0, 0, 1, 1, 0, 0);
        question(m, big, FR_T_A);
        u8(m, 2);
        u8(m, 'z');
        u8(m, 'z');
        ptr(m, 12);
        rrh(m, FR_T_A, FR_C_IN, 60, 4);
        u32(m, 0x0a000001);
        break;
    case V_NO_TERMINATOR:
        hdr(m, 0, 0, 1, 0, 0, 0);
        u8(m, 3);
        bytes(m, "foo", 3);   /* ends without the root label */
        break;
    case V_A_RDLEN_5:
        hdr(m, 0, 0, 1, 1, 0, 0);
        question(m, "foo.test", FR_T_A);
        ptr(m, 12);
        rrh(m, FR_T_A, FR_C_IN, 60, 5);
        u32(m, 0x0a000001);
        u8(m, 0);
        break;
    case V_AAAA_RDLEN_4:
        hdr(m, 0, 0, 1, 1, 0, 0);
        question(m, "foo.test", FR_T_AAAA);
        ptr(m, 12);
        rrh(m, FR_T_AAAA, FR_C_IN, 60, 4);
        u32(m, 0x0a000001);
        break;
    case V_CNAME_RDATA_SHORT:
        /* rdlen says 3 but the name inside is longer */
        hdr(m, 0, 0, 1, 1, 0, 0);
        question(m, "foo.test", FR_T_A);
        ptr(m, 12);
        rrh(m, FR_T_CNAME, FR_C_IN, 60, 3);
        name(m, "bar.test");
        break;
    case V_CNAME_RDATA_LOOP:
        hdr(m, 0, 0, 1, 1, 0, 0);
        question(m, "foo.test", FR_T_A);
        ptr(m, 12);
        rrh(m, FR_T_CNAME, FR_C_IN, 60, 2);
        ptr(m, (unsigned)m->n);   /* points at itself */
        break;
    case V_SOA_SHORT:
        hdr(m, FR_RCODE_NXDOMAIN, 0, 1, 0, 1, 0);
        question(m, "nx.test", FR_T_A);
        name(m, "test");
        rrh(m, FR_T_SOA, FR_C_IN, 60, 2 + 2 + 16);
        name(m, "");
        name(m, "");
        u32(m, 1);
        u32(m, 2);
        u32(m, 3);
        u32(m, 4);   /* MINIMUM missing */
        break;
    case V_MX_SHORT:
        hdr(m, 0, 0, 1, 1, 0, 0);
        question(m, "foo.test", FR_T_MX);
        ptr(m, 12);
        rrh(m, FR_T_MX, FR_C_IN, 60, 2);
        u16(m, 10);   /* preference without an exchange name */
        break;
    case V_EMPTY:
        m->n = 0;
        break;
    case V_QUERY_ECHO:
        /* Our own query sent back (QR clear): read as a reply it is NODATA. */
        hdr(m, 0, 0, 1, 0, 0, 0);
        question(m, "foo.test", FR_T_A);
        m->b[2] &= 0x7f;
        break;
    case V_NCASES:
        break;
    }
}

static struct vexpect vcases[] = {
    { V_SIMPLE, FR_OK, "simple A" },
    { V_CNAME_CHAIN, FR_OK, "CNAME chain" },
    { V_HEADER_ONLY, FR_OK, "header only" },
    { V_TRAILING_BYTES, FR_OK, "bytes after the last record" },
    { V_NAME_255, FR_OK, "255-octet name" },
    { V_LABEL_63, FR_OK, "63-octet label" },
    { V_SOA_NEG, FR_OK, "NXDOMAIN with SOA" },
    { V_SHORT_HEADER, FR_FAIL, "11-octet header" },
    { V_PTR_SELF, FR_FAIL, "pointer to itself" },
    { V_PTR_PAIR, FR_FAIL, "two pointers in a loop" },
    { V_PTR_OUT_OF_RANGE, FR_FAIL, "pointer past the end" },
    { V_PTR_HALF, FR_FAIL, "half a pointer" },
    { V_LABEL_PTR_LOOP, FR_FAIL, "label then pointer back" },
    { V_TRUNC_RR_HEADER, FR_FAIL, "truncated RR header" },
    { V_TRUNC_QUESTION, FR_FAIL, "truncated question" },
    { V_RDLEN_OVERFLOW, FR_FAIL, "rdlen past the end" },
    { V_COUNT_TOO_HIGH, FR_FAIL, "ancount larger than records" },
    { V_NAME_256, FR_FAIL, "257-octet name" },
    { V_LABEL_64, FR_FAIL, "64-octet label" },
    { V_LABEL_80, FR_FAIL, "label type 0x80" },
    { V_PTR_MAKES_256, FR_FAIL, "compression makes > 255 octets" },
    { V_NO_TERMINATOR, FR_FAIL, "name without root label" },
    { V_A_RDLEN_5, FR_FAIL, "A with rdlen 5" },
    { V_AAAA_RDLEN_4, FR_FAIL, "AAAA with rdlen 4" },
    { V_CNAME_RDATA_SHORT, FR_FAIL, "CNAME rdata shorter than name" },
    { V_CNAME_RDATA_LOOP, FR_FAIL, "CNAME target loops" },
    { V_SOA_SHORT, FR_FAIL, "SOA without MINIMUM" },
    { V_MX_SHORT, FR_FAIL, "MX without exchange" },
    { V_EMPTY, FR_FAIL, "zero octets" },
    { V_QUERY_ECHO, FR_FAIL, "a query (QR clear)" },
};

ParameterizedTestParameters(msg, validate)
{
    return cr_make_param_array(struct vexpect, vcases, sizeof vcases / sizeof vcases[0]);
}

ParameterizedTest(struct vexpect *ve, msg, validate)
{
    static struct mb m;
    build_v(ve->c, &m);
    /* A heap copy of exactly the message's length, so ASan catches any
     * read past the end. */
    uint8_t *copy = malloc(m.n ? m.n : 1);
    cr_assert_not_null(copy);
    memcpy(copy, m.b, m.n);
    enum fr_status st = fr_msg_validate(copy, m.n);
    cr_expect_eq(st, ve->st, "%s: fr_msg_validate gave %d, expected %d", ve->title, st, ve->st);
    /* The other readers must not crash or over-read either. */
    uint32_t ttl;
    int neg;
    (void)fr_msg_cache_ttl(copy, m.n, &ttl, &neg);
    struct fr_msg_addrs *a = malloc(sizeof *a);
    cr_assert_not_null(a);
    enum fr_status ast = fr_msg_addrs(copy, m.n, FR_T_A, a);
    if (ve->st == FR_FAIL && ast == FR_OK)
        cr_expect_fail("%s: fr_msg_addrs accepted a malformed message", ve->title);
    free(a);
    free(copy);
}

/* Every prefix of a good message is handled safely, and none but the
 * whole is valid once the last record is cut. */
Test(msg, every_truncation)
{
    static struct mb m;
    build_v(V_CNAME_CHAIN, &m);
    for (size_t len = 0; len < m.n; len++) {
        uint8_t *copy = malloc(len ? len : 1);
        memcpy(copy, m.b, len);
        cr_expect_eq(fr_msg_validate(copy, len), FR_FAIL, "prefix of %zu octets of %zu accepted",
                     len, m.n);
        uint32_t ttl;
        int neg;
        cr_expect_eq(fr_msg_cache_ttl(copy, len, &ttl, &neg), FR_FAIL, "prefix %zu cached", len);
        free(copy);
    }
    cr_expect_eq(fr_msg_validate(m.b, m.n), FR_OK);
}

/* Random bytes behind a plausible header never crash the walker (ASan
 * and UBSan builds check the reads). Seeded: the run repeats exactly. */
Test(msg, random_garbage)
{
    unsigned short seed[3] = { 1, 2, 3 };
    static struct mb m;
    unsigned ok = 0;
    for (int round = 0; round < 3000; round++) {
        size_t len = 12 + (size_t)(erand48(seed) * 200);
        for (size_t i = 0; i < len; i++)
            m.b[i] = (uint8_t)(erand48(seed) * 256);
        /* small counts so the walk goes some way in */
        m.b[4] = 0;
        m.b[5] = 1;
        m.b[6] = 0;
        m.b[7] = (uint8_t)(erand48(seed) * 4);
        m.b[8] = m.b[9] = m.b[10] = m.b[11] = 0;
        uint8_t *copy = malloc(len);
        memcpy(copy, m.b, len);
        if (fr_msg_validate(copy, len) == FR_OK)
            ok++;
        uint32_t ttl;
        int neg;
        (void)fr_msg_cache_ttl(copy, len, &ttl, &neg);
        struct fr_msg_addrs a;
        (void)fr_msg_addrs(copy, len, FR_T_A, &a);
        char text[FR_MSG_NAME_MAX * 4 + 1];
        (void)fr_msg_name_text(copy, len, 12, text, sizeof text);
        free(copy);
    }
    cr_log_info("%u of 3000 random messages were well formed", ok);
}

/* ---- names ---- */

/* fr_msg_name_text gives dn_expand's text for names with odd octets. */
struct namecase {
    uint8_t wire[40];
    size_t len;
};

static struct namecase namecases[] = {
    { "\3foo\4test\0", 10 },
    { "\0", 1 },
    { "\3a.b\4test\0", 10 },        /* dot inside a label */
    { "\3a b\0", 5 },               /* space */
    { "\4a\\\"b\0", 6 },            /* backslash and quote */
    { "\3\x01\x7f\xff\0", 5 },      /* non-printables */
    { "\5(;@$)\0", 7 },             /* specials */
    { "\3FoO\4TeSt\0", 10 },        /* case kept */
};

ParameterizedTestParameters(msg, name_text_like_dn_expand)
{
    return cr_make_param_array(struct namecase, namecases, sizeof namecases / sizeof namecases[0]);
}

ParameterizedTest(struct namecase *nc, msg, name_text_like_dn_expand)
{
    static struct mb m;
    hdr(&m, 0, 0, 1, 0, 0, 0);
    bytes(&m, nc->wire, nc->len);
    u16(&m, FR_T_A);
    u16(&m, FR_C_IN);
    char mine[FR_MSG_NAME_MAX * 4 + 1], ref[FR_MSG_NAME_MAX * 4 + 1];
    cr_assert_eq(fr_msg_name_text(m.b, m.n, 12, mine, sizeof mine), FR_OK);
    cr_assert_gt(dn_expand(m.b, m.b + m.n, m.b + 12, ref, sizeof ref), 0);
    /* dn_expand writes the root as "" too */
    cr_expect_str_eq(mine, ref);
    /* Too small an output buffer fails rather than truncating. */
    size_t need = strlen(ref) + 1;
    char small[64];
    cr_expect_eq(fr_msg_name_text(m.b, m.n, 12, small, need - 1 ? need - 1 : 0), FR_FAIL,
                 "buffer of %zu for \"%s\" accepted", need - 1, ref);
}

Test(msg, name_text_follows_pointers)
{
    static struct mb m;
    hdr(&m, 0, 0, 1, 1, 0, 0);
    question(&m, "foo.test", FR_T_A);
    size_t owner = m.n;
    u8(&m, 3);
    bytes(&m, "www", 3);
    ptr(&m, 12);
    rrh(&m, FR_T_A, FR_C_IN, 1, 4);
    u32(&m, 0);
    char t[300];
    cr_assert_eq(fr_msg_name_text(m.b, m.n, owner, t, sizeof t), FR_OK);
    cr_expect_str_eq(t, "www.foo.test");
    size_t next;
    cr_assert_eq(fr_msg_name_skip(m.b, m.n, owner, &next), FR_OK);
    cr_expect_eq(next, owner + 6, "skip stops after the pointer");
}

Test(msg, name_eq)
{
    static struct mb a, b;
    hdr(&a, 0, 0, 1, 1, 0, 0);
    question(&a, "Foo.TEST", FR_T_A);
    size_t ptr_owner = a.n;
    ptr(&a, 12);
    hdr(&b, 0, 0, 1, 0, 0, 0);
    question(&b, "foo.test", FR_T_A);
    size_t other = b.n;
    name(&b, "foo.test.x");
    cr_expect_eq(fr_msg_name_eq(a.b, a.n, 12, b.b, b.n, 12), 1, "case must not matter");
    cr_expect_eq(fr_msg_name_eq(a.b, a.n, ptr_owner, b.b, b.n, 12), 1, "pointer vs plain");
    cr_expect_eq(fr_msg_name_eq(a.b, a.n, 12, b.b, b.n, other), 0, "prefix is not equal");
    cr_expect_eq(fr_msg_name_eq(a.b, a.n, 12, b.b, b.n, 0x3000), -1, "out of range is malformed");
}

/* ---- fr_msg_cache_ttl ---- */

enum tcase {
    T_POS_MIN, T_POS_CNAME, T_NX_SOA_MIN, T_NX_SOA_TTL, T_NODATA_SOA, T_NX_NO_SOA,
    T_NODATA_NO_SOA, T_SERVFAIL, T_REFUSED, T_TC, T_NX_CHAIN, T_NOQUESTION, T_ZERO_TTL,
    T_SOA_IN_ANSWER_ONLY, T_TWO_SOA, T_TOP_BESIDE, T_TOP_ALL, T_TOP_MAX, T_SOA_TTL_TOP,
    T_SOA_MIN_TOP, T_CNAME_TOP, T_OWNER_PTR_OUT,
};

struct tttl {
    enum tcase c;
    enum fr_status st;
    uint32_t ttl;
    int negative;
    char title[40];
};

static void build_t(enum tcase c, struct mb *m)
{
    switch (c) {
    case T_POS_MIN:
        hdr(m, 0, 0, 1, 3, 1, 0);
        question(m, "foo.test", FR_T_A);
        rr_a(m, NULL, 300, "10.0.0.1");
        rr_a(m, NULL, 100, "10.0.0.2");
        rr_a(m, NULL, 200, "10.0.0.3");
        rr_soa(m, "test", 5, 5);   /* authority does not shorten a positive answer */
        break;
    case T_POS_CNAME:
        hdr(m, 0, 0, 1, 2, 0, 0);
        question(m, "www.test", FR_T_A);
        rr_cname(m, "www.test", 50, "foo.test");
        rr_a(m, "foo.test", 300, "10.0.0.1");
        break;
    case T_NX_SOA_MIN:
        hdr(m, FR_RCODE_NXDOMAIN, 0, 1, 0, 1, 0);
        question(m, "nx.test", FR_T_A);
        rr_soa(m, "test", 600, 60);
        break;
    case T_NX_SOA_TTL:
        hdr(m, FR_RCODE_NXDOMAIN, 0, 1, 0, 1, 0);
        question(m, "nx.test", FR_T_A);
        rr_soa(m, "test", 30, 600);
        break;
    case T_NODATA_SOA:
        hdr(m, 0, 0, 1, 0, 1, 0);
        question(m, "foo.test", FR_T_AAAA);
        rr_soa(m, "test", 900, 120);
        break;
    case T_NX_NO_SOA:
        hdr(m, FR_RCODE_NXDOMAIN, 0, 1, 0, 0, 0);
        question(m, "nx.test", FR_T_A);
        break;
    case T_NODATA_NO_SOA:
        hdr(m, 0, 0, 1, 0, 0, 0);
        question(m, "foo.test", FR_T_AAAA);
        break;
    case T_SERVFAIL:
        hdr(m, FR_RCODE_SERVFAIL, 0, 1, 0, 1, 0);
        question(m, "foo.test", FR_T_A);
        rr_soa(m, "test", 600, 60);
        break;
    case T_REFUSED:
        hdr(m, FR_RCODE_REFUSED, 0, 1, 0, 0, 0);
        question(m, "foo.test", FR_T_A);
        break;
    case T_TC:
        hdr(m, 0, 1, 1, 1, 0, 0);
        question(m, "foo.test", FR_T_A);
        rr_a(m, NULL, 300, "10.0.0.1");
        break;
    case T_NX_CHAIN:
        hdr(m, FR_RCODE_NXDOMAIN, 0, 1, 1, 1, 0);
        question(m, "www.test", FR_T_A);
        rr_cname(m, "www.test", 10, "gone.test");
        rr_soa(m, "test", 600, 60);
        break;
    case T_NOQUESTION:
        hdr(m, 0, 0, 0, 1, 0, 0);
        rr_a(m, "foo.test", 300, "10.0.0.1");
        break;
    case T_ZERO_TTL:
        hdr(m, 0, 0, 1, 1, 0, 0);
        question(m, "foo.test", FR_T_A);
        rr_a(m, NULL, 0, "10.0.0.1");
        break;
    case T_SOA_IN_ANSWER_ONLY:
        /* NODATA whose SOA sits in the wrong section is not a negative
         * answer with SOA: answers > 0 make it positive (the SOA is the
         * answer), which is what a server answering an SOA question does. */
        hdr(m, 0, 0, 1, 1, 0, 0);
        question(m, "test", FR_T_SOA);
        rr_soa(m, "test", 700, 60);
        break;
    case T_TWO_SOA:
        hdr(m, FR_RCODE_NXDOMAIN, 0, 1, 0, 2, 0);
        question(m, "nx.test", FR_T_A);
        rr_soa(m, "test", 600, 300);
        rr_soa(m, "test", 90, 600);
        break;
    /* RFC 2181 8: each TTL with the top bit set is 0 before the minimum. */
    case T_TOP_BESIDE:
        hdr(m, 0, 0, 1, 2, 0, 0);
        question(m, "foo.test", FR_T_A);
        rr_a(m, NULL, 0x80000000u, "10.0.0.1");
        rr_a(m, NULL, 3600, "10.0.0.2");
        break;
    case T_TOP_ALL:
        hdr(m, 0, 0, 1, 2, 0, 0);
        question(m, "foo.test", FR_T_A);
        rr_a(m, NULL, 0xffffffffu, "10.0.0.1");
        rr_a(m, NULL, 0x80000001u, "10.0.0.2");
        break;
    case T_TOP_MAX:
        hdr(m, 0, 0, 1, 2, 0, 0);
        question(m, "foo.test", FR_T_A);
        rr_a(m, NULL, 0x7fffffffu, "10.0.0.1");
        rr_a(m, NULL, 0x80000000u, "10.0.0.2");
        break;
    case T_SOA_TTL_TOP:
        hdr(m, FR_RCODE_NXDOMAIN, 0, 1, 0, 1, 0);
        question(m, "nx.test", FR_T_A);
        rr_soa(m, "test", 0xffffffffu, 600);
        break;
    case T_SOA_MIN_TOP:
        hdr(m, 0, 0, 1, 0, 1, 0);
        question(m, "foo.test", FR_T_AAAA);
        rr_soa(m, "test", 600, 0x80000000u);
        break;
    case T_CNAME_TOP:
        hdr(m, FR_RCODE_NXDOMAIN, 0, 1, 1, 1, 0);
        question(m, "www.test", FR_T_A);
        rr_cname(m, "www.test", 0x90000000u, "gone.test");
        rr_soa(m, "test", 600, 60);
        break;
    case T_OWNER_PTR_OUT:
        /* the answer's owner points past the end (fuzz_msg found it cached) */
        hdr(m, 0, 0, 1, 1, 0, 0);
        question(m, "foo.test", FR_T_A);
        ptr(m, 0x3fff);
        rrh(m, FR_T_A, FR_C_IN, 300, 4);
        u32(m, 0x0a000001);
        break;
    }
}

static struct tttl tcases[] = {
    { T_POS_MIN, FR_OK, 100, 0, "positive: smallest answer TTL" },
    { T_POS_CNAME, FR_OK, 50, 0, "positive: CNAME TTL counts" },
    { T_NX_SOA_MIN, FR_OK, 60, 1, "NXDOMAIN: SOA MINIMUM" },
    { T_NX_SOA_TTL, FR_OK, 30, 1, "NXDOMAIN: SOA TTL" },
    { T_NODATA_SOA, FR_OK, 120, 1, "NODATA: min(SOA TTL, MINIMUM)" },
    { T_NX_NO_SOA, FR_FAIL, 0, 0, "NXDOMAIN without SOA" },
    { T_NODATA_NO_SOA, FR_FAIL, 0, 0, "NODATA without SOA" },
    { T_SERVFAIL, FR_FAIL, 0, 0, "SERVFAIL" },
    { T_REFUSED, FR_FAIL, 0, 0, "REFUSED" },
    { T_TC, FR_FAIL, 0, 0, "truncated" },
    { T_NX_CHAIN, FR_OK, 10, 1, "NXDOMAIN after CNAME: chain TTL" },
    { T_NOQUESTION, FR_FAIL, 0, 0, "no question" },
    { T_ZERO_TTL, FR_OK, 0, 0, "TTL 0 kept as 0" },
    { T_SOA_IN_ANSWER_ONLY, FR_OK, 700, 0, "SOA question answered" },
    { T_TWO_SOA, FR_OK, 90, 1, "two SOAs: the smaller" },
    { T_TOP_BESIDE, FR_OK, 0, 0, "2^31 beside 3600 is 0" },
    { T_TOP_ALL, FR_OK, 0, 0, "all TTLs top bit: 0" },
    { T_TOP_MAX, FR_OK, 0, 0, "2^31 - 1 beside 2^31: 0" },
    { T_SOA_TTL_TOP, FR_OK, 0, 1, "SOA TTL top bit: 0" },
    { T_SOA_MIN_TOP, FR_OK, 0, 1, "SOA MINIMUM top bit: 0" },
    { T_CNAME_TOP, FR_OK, 0, 1, "NXDOMAIN chain TTL top bit: 0" },
    { T_OWNER_PTR_OUT, FR_FAIL, 0, 0, "owner pointer past the end" },
};

ParameterizedTestParameters(msg, cache_ttl)
{
    return cr_make_param_array(struct tttl, tcases, sizeof tcases / sizeof tcases[0]);
}

ParameterizedTest(struct tttl *tc, msg, cache_ttl)
{
    static struct mb m;
    build_t(tc->c, &m);
    cr_assert_eq(fr_msg_validate(m.b, m.n), tc->c == T_OWNER_PTR_OUT ? FR_FAIL : FR_OK,
                 "%s: the test message is (not) malformed", tc->title);
    uint32_t ttl = 0xdeadbeef;
    int neg = -7;
    enum fr_status st = fr_msg_cache_ttl(m.b, m.n, &ttl, &neg);
    cr_assert_eq(st, tc->st, "%s: status %d, expected %d", tc->title, st, tc->st);
    if (st == FR_OK) {
        cr_expect_eq(ttl, tc->ttl, "%s: ttl %u, expected %u", tc->title, ttl, tc->ttl);
        cr_expect_eq(neg, tc->negative, "%s: negative %d", tc->title, neg);
    } else {
        /* out-parameters are set only on success */
        cr_expect_eq(ttl, 0xdeadbeef, "%s: ttl written on failure", tc->title);
        cr_expect_eq(neg, -7, "%s: negative written on failure", tc->title);
    }
}

/* ---- fr_msg_addrs ---- */

enum acase {
    A_TWO, A_CHAIN, A_OFF_CHAIN, A_ORDER, A_CASE, A_AAAA, A_WRONG_TYPE, A_NODATA, A_NXDOMAIN,
    A_SERVFAIL, A_WRONG_RDLEN, A_CLASS_CH, A_QTYPE_MX, A_PTR_OWNER, A_CNAME_ONLY, A_MANY,
};

struct aexp {
    enum acase c;
    uint16_t qtype;
    enum fr_status st;
    unsigned n;
    char first[40], last[40];   /* first and last address */
    char canon[40];
    unsigned naliases;
    uint32_t min_ttl;
    char title[40];
};

static void build_a(enum acase c, struct mb *m)
{
    switch (c) {
    case A_TWO:
        hdr(m, 0, 0, 1, 2, 0, 0);
        question(m, "foo.test", FR_T_A);
        rr_a(m, NULL, 300, "10.0.0.1");
        rr_a(m, "foo.test", 200, "10.0.0.2");
        break;
    case A_CHAIN:
        hdr(m, 0, 0, 1, 4, 0, 0);
        question(m, "www.test", FR_T_A);
        rr_cname(m, "www.test", 90, "a.test");
        rr_cname(m, "a.test", 80, "b.test");
        rr_a(m, "b.test", 300, "10.0.0.7");
        rr_a(m, "b.test", 300, "10.0.0.8");
        break;
    case A_OFF_CHAIN:
        hdr(m, 0, 0, 1, 4, 0, 0);
        question(m, "www.test", FR_T_A);
        rr_a(m, "other.test", 10, "10.9.9.9");
        rr_cname(m, "www.test", 300, "a.test");
        rr_a(m, "www.test", 10, "10.9.9.8");   /* owner left behind by the CNAME */
        rr_a(m, "a.test", 300, "10.0.0.1");
        break;
    case A_ORDER:
        /* the address comes before the CNAME that leads to it */
        hdr(m, 0, 0, 1, 2, 0, 0);
        question(m, "www.test", FR_T_A);
        rr_a(m, "a.test", 300, "10.0.0.1");
        rr_cname(m, "www.test", 300, "a.test");
        break;
    case A_CASE:
        hdr(m, 0, 0, 1, 2, 0, 0);
        question(m, "WWW.Test", FR_T_A);
        rr_cname(m, "www.TEST", 300, "A.test");
        rr_a(m, "a.TEST", 300, "10.0.0.4");
        break;
    case A_AAAA:
        hdr(m, 0, 0, 1, 2, 0, 0);
        question(m, "foo.test", FR_T_AAAA);
        rr_aaaa(m, "foo.test", 300, "fd00::1");
        rr_aaaa(m, "foo.test", 300, "fd00::2");
        break;
    case A_WRONG_TYPE:
        hdr(m, 0, 0, 1, 1, 0, 0);
        question(m, "foo.test", FR_T_AAAA);
        rr_a(m, NULL, 300, "10.0.0.1");
        break;
    case A_NODATA:
        hdr(m, 0, 0, 1, 0, 1, 0);
        question(m, "foo.test", FR_T_AAAA);
        rr_soa(m, "test", 300, 60);
        break;
    case A_NXDOMAIN:
        hdr(m, FR_RCODE_NXDOMAIN, 0, 1, 0, 1, 0);
        question(m, "nx.test", FR_T_A);
        rr_soa(m, "test", 300, 60);
        break;
    case A_SERVFAIL:
        hdr(m, FR_RCODE_SERVFAIL, 0, 1, 0, 0, 0);
        question(m, "foo.test", FR_T_A);
        break;
    case A_WRONG_RDLEN:
        hdr(m, 0, 0, 1, 2, 0, 0);
        question(m, "foo.test", FR_T_A);
        rr_a(m, NULL, 300, "10.0.0.1");
        ptr(m, 12);
        rrh(m, FR_T_A, FR_C_IN, 300, 6);
        u32(m, 0x0a000002);
        u16(m, 0);
        break;
    case A_CLASS_CH:
        hdr(m, 0, 0, 1, 2, 0, 0);
        question(m, "foo.test", FR_T_A);
        ptr(m, 12);
        rrh(m, FR_T_A, 3 /* CH */, 300, 4);
        u32(m, 0x0a0000ff);
        rr_a(m, NULL, 300, "10.0.0.1");
        break;
    case A_QTYPE_MX:
        hdr(m, 0, 0, 1, 1, 0, 0);
        question(m, "foo.test", FR_T_A);
        rr_a(m, NULL, 300, "10.0.0.1");
        break;
    case A_PTR_OWNER:
        hdr(m, 0, 0, 1, 1, 0, 0);
        question(m, "foo.test", FR_T_A);
        rr_a(m, NULL, 42, "10.0.0.9");
        break;
    case A_CNAME_ONLY:
        hdr(m, 0, 0, 1, 1, 0, 0);
        question(m, "www.test", FR_T_A);
        rr_cname(m, "www.test", 300, "a.test");
        break;
    case A_MANY:
        hdr(m, 0, 0, 1, 70, 0, 0);
        question(m, "foo.test", FR_T_A);
        for (int i = 0; i < 70; i++) {
            char a[16];
            snprintf(a, sizeof a, "10.0.1.%d", i);
            rr_a(m, NULL, 300, a);
        }
        break;
    }
}

static struct aexp acases[] = {
    { A_TWO, FR_T_A, FR_OK, 2, "10.0.0.1", "10.0.0.2", "foo.test", 0, 200, "two A" },
    { A_CHAIN, FR_T_A, FR_OK, 2, "10.0.0.7", "10.0.0.8", "b.test", 2, 80, "CNAME chain" },
    { A_OFF_CHAIN, FR_T_A, FR_OK, 1, "10.0.0.1", "10.0.0.1", "a.test", 1, 300, "records off the chain" },
    { A_ORDER, FR_T_A, FR_NODATA, 0, "", "", "", 0, 0, "address before its CNAME" },
    { A_CASE, FR_T_A, FR_OK, 1, "10.0.0.4", "10.0.0.4", "a.TEST", 1, 300, "case-insensitive owners" },
    { A_AAAA, FR_T_AAAA, FR_OK, 2, "fd00::1", "fd00::2", "foo.test", 0, 300, "AAAA" },
    { A_WRONG_TYPE, FR_T_AAAA, FR_NODATA, 0, "", "", "", 0, 0, "A records for AAAA" },
    { A_NODATA, FR_T_AAAA, FR_NODATA, 0, "", "", "", 0, 0, "NODATA" },
    { A_NXDOMAIN, FR_T_A, FR_NOTFOUND, 0, "", "", "", 0, 0, "NXDOMAIN" },
    { A_SERVFAIL, FR_T_A, FR_FAIL, 0, "", "", "", 0, 0, "SERVFAIL" },
    { A_WRONG_RDLEN, FR_T_A, FR_FAIL, 0, "", "", "", 0, 0, "A with rdlen 6" },
    { A_CLASS_CH, FR_T_A, FR_OK, 1, "10.0.0.1", "10.0.0.1", "foo.test", 0, 300, "class CH skipped" },
    { A_QTYPE_MX, FR_T_MX, FR_FAIL, 0, "", "", "", 0, 0, "qtype MX refused" },
    { A_PTR_OWNER, FR_T_A, FR_OK, 1, "10.0.0.9", "10.0.0.9", "foo.test", 0, 42, "compressed owner" },
    { A_CNAME_ONLY, FR_T_A, FR_NODATA, 0, "", "", "", 0, 0, "CNAME without address" },
    /* glibc returns every address: more than fastres carries goes to libc. */
    { A_MANY, FR_T_A, FR_PUNT, 0, "", "", "", 0, 0, "more than FR_MSG_ADDRS_MAX" },
};

ParameterizedTestParameters(msg, addrs)
{
    return cr_make_param_array(struct aexp, acases, sizeof acases / sizeof acases[0]);
}

static void addr_text(const struct fr_msg_addrs *a, unsigned i, char *out, size_t outsz)
{
    inet_ntop(a->family, a->addr[i], out, (socklen_t)outsz);
}

ParameterizedTest(struct aexp *ae, msg, addrs)
{
    static struct mb m;
    build_a(ae->c, &m);
    if (ae->st != FR_FAIL || ae->c == A_SERVFAIL || ae->c == A_QTYPE_MX)
        cr_assert_eq(fr_msg_validate(m.b, m.n), FR_OK, "%s: test message malformed", ae->title);
    struct fr_msg_addrs *a = calloc(1, sizeof *a);
    cr_assert_not_null(a);
    enum fr_status st = fr_msg_addrs(m.b, m.n, ae->qtype, a);
    cr_assert_eq(st, ae->st, "%s: status %d, expected %d", ae->title, st, ae->st);
    if (st == FR_OK) {
        char t[64];
        cr_expect_eq(a->family, ae->qtype == FR_T_A ? AF_INET : AF_INET6);
        cr_assert_eq(a->n, ae->n, "%s: %u addresses, expected %u", ae->title, a->n, ae->n);
        addr_text(a, 0, t, sizeof t);
        cr_expect_str_eq(t, ae->first, "%s: first", ae->title);
        addr_text(a, a->n - 1, t, sizeof t);
        cr_expect_str_eq(t, ae->last, "%s: last", ae->title);
        /* The canonical name is the last CNAME target as written there;
         * DNS names compare without case, so only that is asserted. */
        cr_expect(!strcasecmp(a->canon, ae->canon), "%s: canon %s, expected %s", ae->title,
                  a->canon, ae->canon);
        cr_expect_eq(a->naliases, ae->naliases, "%s: %u aliases", ae->title, a->naliases);
        cr_expect_eq(a->min_ttl, ae->min_ttl, "%s: min ttl %u", ae->title, a->min_ttl);
    }
    free(a);
}

/* The aliases are the owners of the CNAMEs followed, in order. */
Test(msg, addrs_alias_names)
{
    static struct mb m;
    build_a(A_CHAIN, &m);
    struct fr_msg_addrs a;
    cr_assert_eq(fr_msg_addrs(m.b, m.n, FR_T_A, &a), FR_OK);
    cr_assert_eq(a.naliases, 2);
    char t[300];
    cr_assert_eq(fr_msg_name_text(m.b, m.n, a.alias_off[0], t, sizeof t), FR_OK);
    cr_expect_str_eq(t, "www.test");
    cr_assert_eq(fr_msg_name_text(m.b, m.n, a.alias_off[1], t, sizeof t), FR_OK);
    cr_expect_str_eq(t, "a.test");
}

/* Iterator: sections and counts in wire order. */
Test(msg, iterator_sections)
{
    static struct mb m;
    hdr(&m, 0, 0, 1, 1, 1, 1);
    question(&m, "foo.test", FR_T_A);
    rr_a(&m, NULL, 1, "10.0.0.1");
    rr_soa(&m, "test", 2, 3);
    rr_a(&m, "ns.test", 4, "10.0.0.2");
    struct fr_msg_iter it;
    struct fr_msg_rr rr;
    cr_assert_eq(fr_msg_iter_init(&it, m.b, m.n), FR_OK);
    static const enum fr_msg_section want[] = { FR_SEC_QUESTION, FR_SEC_ANSWER, FR_SEC_AUTHORITY,
                                                FR_SEC_ADDITIONAL };
    static const uint16_t types[] = { FR_T_A, FR_T_A, FR_T_SOA, FR_T_A };
    static const uint32_t ttls[] = { 0, 1, 2, 4 };
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(fr_msg_iter_next(&it, &rr), FR_OK, "record %d", i);
        cr_expect_eq(rr.section, want[i], "record %d section %d", i, rr.section);
        cr_expect_eq(rr.type, types[i], "record %d type %u", i, rr.type);
        cr_expect_eq(rr.ttl, ttls[i], "record %d ttl %u", i, rr.ttl);
    }
    cr_expect_eq(fr_msg_iter_next(&it, &rr), FR_NOTFOUND);
    cr_expect_eq(fr_msg_iter_next(&it, &rr), FR_NOTFOUND, "stays at the end");
}

Test(msg, header)
{
    static struct mb m;
    hdr(&m, FR_RCODE_NXDOMAIN, 1, 1, 2, 3, 4);
    struct fr_msg_hdr h;
    cr_assert_eq(fr_msg_header(m.b, m.n, &h), FR_OK);
    cr_expect_eq(h.id, 0x1234);
    cr_expect_eq(FR_MSG_RCODE(&h), FR_RCODE_NXDOMAIN);
    cr_expect_eq(FR_MSG_TC(&h), 1);
    cr_expect_eq(h.qdcount, 1);
    cr_expect_eq(h.ancount, 2);
    cr_expect_eq(h.nscount, 3);
    cr_expect_eq(h.arcount, 4);
    cr_expect_eq(fr_msg_header(m.b, 11, &h), FR_FAIL);
    cr_expect_eq(fr_msg_header(NULL, 12, &h), FR_FAIL);
}

/* ---- fr_msg_names_stable: no name reads a byte the cache rewrites ---- */

enum scase {
    S_PLAIN, S_CNAME_INTO_TTL, S_OWNER_INTO_TTL, S_INTO_HEADER, S_RUN_INTO_TTL, S_MX_INTO_TTL,
    S_SRV_INTO_TTL, S_SOA_RNAME_INTO_TTL, S_QNAME_INTO_TTL, S_INTO_OPT_TTL, S_INTO_A_RDATA,
    S_CHAIN_TO_PRIOR, S_SRV_PAST_RDATA,
};

struct sexp {
    enum scase c;
    enum fr_status st;
    char title[48];
};

/* Patch a 2-octet compression pointer at `at` to point at `to`. */
static void patch_ptr(struct mb *m, size_t at, size_t to)
{
    m->b[at] = (uint8_t)(0xc0 | to >> 8);
    m->b[at + 1] = (uint8_t)to;
}

/* Offset of the TTL field of the record whose owner name ends at `after_owner`. */
#define TTL_AT(after_owner) ((after_owner) + 4)

static void build_s(enum scase c, struct mb *m)
{
    size_t p, o;
    switch (c) {
    case S_PLAIN:
        hdr(m, 0, 0, 1, 2, 0, 0);
        question(m, "www.test", FR_T_A);
        rr_cname(m, "www.test", 300, "abc");
        rr_a(m, "abc", 300, "10.0.0.1");
        break;
    case S_CNAME_INTO_TTL:
    case S_CHAIN_TO_PRIOR:
        /* www.test CNAME -> (pointer to the next record's TTL, 0x03616263,
         * which reads "abc" followed by RDLENGTH's 0x00) */
        hdr(m, 0, 0, 1, 2, 0, 0);
        question(m, "www.test", FR_T_A);
        ptr(m, 12);
        rrh(m, FR_T_CNAME, FR_C_IN, 300, 2);
        p = m->n;
        ptr(m, 0);
        name(m, "abc");
        o = m->n;
        rrh(m, FR_T_A, FR_C_IN, 0x03616263u, 4);
        u32(m, 0x0a000001);
        /* control: the target points at the owner "abc" instead */
        patch_ptr(m, p, c == S_CNAME_INTO_TTL ? TTL_AT(o) : p + 2);
        break;
    case S_OWNER_INTO_TTL:
        hdr(m, 0, 0, 1, 1, 0, 0);
        question(m, "abc", FR_T_A);
        p = m->n;
        ptr(m, 0);
        rrh(m, FR_T_A, FR_C_IN, 0x03616263u, 4);
        u32(m, 0x0a000001);
        patch_ptr(m, p, TTL_AT(p + 2));
        break;
    case S_INTO_HEADER:
        /* QDCOUNT's high octet 0x00 reads as the root */
        hdr(m, 0, 0, 1, 1, 0, 0);
        question(m, "www.test", FR_T_CNAME);
        ptr(m, 12);
        rrh(m, FR_T_CNAME, FR_C_IN, 300, 2);
        ptr(m, 4);
        break;
    case S_RUN_INTO_TTL:
        /* points at CLASS's low octet 0x01: a one-octet label made of the
         * TTL's first octet, then its second (0x00) ends the name */
        hdr(m, 0, 0, 1, 2, 0, 0);
        question(m, "www.test", FR_T_A);
        ptr(m, 12);
        rrh(m, FR_T_CNAME, FR_C_IN, 300, 2);
        p = m->n;
        ptr(m, 0);
        name(m, "\x01" "a");
        o = m->n;
        rrh(m, FR_T_A, FR_C_IN, 0x41000100u, 4);
        u32(m, 0x0a000001);
        patch_ptr(m, p, TTL_AT(o) - 1);
        break;
    case S_MX_INTO_TTL:
        hdr(m, 0, 0, 1, 1, 0, 0);
        question(m, "abc", FR_T_MX);
        ptr(m, 12);
        o = m->n;
        rrh(m, FR_T_MX, FR_C_IN, 0x03616263u, 4);
        u16(m, 10);
        ptr(m, TTL_AT(o));
        break;
    case S_SRV_INTO_TTL:
        hdr(m, 0, 0, 1, 1, 0, 0);
        question(m, "abc", FR_T_SRV);
        ptr(m, 12);
        o = m->n;
        rrh(m, FR_T_SRV, FR_C_IN, 0x03616263u, 8);
        u16(m, 1);
        u16(m, 1);
        u16(m, 53);
        ptr(m, TTL_AT(o));
        break;
    case S_SOA_RNAME_INTO_TTL:
        hdr(m, FR_RCODE_NXDOMAIN, 0, 1, 0, 1, 0);
        question(m, "nx.test", FR_T_A);
        ptr(m, 12);
        o = m->n;
        rrh(m, FR_T_SOA, FR_C_IN, 0x03616263u, 2 + 2 + 20);
        ptr(m, 12);
        ptr(m, TTL_AT(o));
        for (int i = 0; i < 5; i++)
            u32(m, 60);
        break;
    case S_QNAME_INTO_TTL:
        /* the question itself is a pointer forward into a TTL */
        hdr(m, 0, 0, 1, 1, 0, 0);
        p = m->n;
        ptr(m, 0);
        u16(m, FR_T_A);
        u16(m, FR_C_IN);
        name(m, "abc");
        o = m->n;
        rrh(m, FR_T_A, FR_C_IN, 0x03616263u, 4);
        u32(m, 0x0a000001);
        patch_ptr(m, p, TTL_AT(o));
        break;
    case S_INTO_OPT_TTL:
        /* OPT's TTL field is served as it is: reading it is harmless */
        hdr(m, 0, 0, 1, 1, 0, 1);
        question(m, "www.test", FR_T_CNAME);
        ptr(m, 12);
        rrh(m, FR_T_CNAME, FR_C_IN, 300, 2);
        p = m->n;
        ptr(m, 0);
        u8(m, 0);
        o = m->n;
        rrh(m, FR_T_OPT, 1232, 0x00000000u, 0);
        patch_ptr(m, p, TTL_AT(o));
        break;
    case S_SRV_PAST_RDATA:
        /* the SRV target's one label (11 octets) runs past RDLENGTH over
         * the next record's header, TTL included (fuzz_cache found one) */
        hdr(m, 0, 0, 1, 2, 0, 0);
        question(m, "abc", FR_T_SRV);
        ptr(m, 12);
        rrh(m, FR_T_SRV, FR_C_IN, 300, 7);
        u16(m, 1);
        u16(m, 1);
        u16(m, 53);
        u8(m, 11);
        ptr(m, 12);
        rrh(m, FR_T_A, FR_C_IN, 300, 4);
        u32(m, 0x00000000);
        break;
    case S_INTO_A_RDATA:
        /* address 0.0.0.1: rdata is served as it is */
        hdr(m, 0, 0, 1, 2, 0, 0);
        question(m, "www.test", FR_T_A);
        ptr(m, 12);
        o = m->n;
        rrh(m, FR_T_A, FR_C_IN, 300, 4);
        u32(m, 0x00000001);
        ptr(m, 12);
        rrh(m, FR_T_CNAME, FR_C_IN, 300, 2);
        ptr(m, o + 10);
        break;
    }
}

static struct sexp scases[] = {
    { S_PLAIN, FR_OK, "plain chain" },
    { S_CHAIN_TO_PRIOR, FR_OK, "pointer to an owner name" },
    { S_CNAME_INTO_TTL, FR_FAIL, "CNAME target into a TTL" },
    { S_OWNER_INTO_TTL, FR_FAIL, "owner name into its TTL" },
    { S_INTO_HEADER, FR_FAIL, "name into the header" },
    { S_RUN_INTO_TTL, FR_FAIL, "labels running into a TTL" },
    { S_MX_INTO_TTL, FR_FAIL, "MX exchange into a TTL" },
    { S_SRV_INTO_TTL, FR_FAIL, "SRV target into a TTL" },
    { S_SOA_RNAME_INTO_TTL, FR_FAIL, "SOA RNAME into a TTL" },
    { S_QNAME_INTO_TTL, FR_FAIL, "question name into a TTL" },
    { S_INTO_OPT_TTL, FR_OK, "into OPT's TTL field (not rewritten)" },
    { S_INTO_A_RDATA, FR_OK, "into A rdata (not rewritten)" },
    { S_SRV_PAST_RDATA, FR_FAIL, "SRV target past RDLENGTH into a TTL" },
};

ParameterizedTestParameters(msg, names_stable)
{
    return cr_make_param_array(struct sexp, scases, sizeof scases / sizeof scases[0]);
}

ParameterizedTest(struct sexp *se, msg, names_stable)
{
    static struct mb m;
    build_s(se->c, &m);
    /* Each of these validates: only the cache's own check tells them apart. */
    cr_assert_eq(fr_msg_validate(m.b, m.n), FR_OK, "%s: test message malformed", se->title);
    cr_expect_eq(fr_msg_names_stable(m.b, m.n), se->st, "%s", se->title);
}
