/* Unit tests for the dns monitor's pure logic: real responses of dnsmasq
 * (captured byte for byte) and hand-built ones with compression, odd bytes
 * and every kind of damage, read into answer texts; those texts compared and
 * judged against expect into result messages; the server string split. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "probe/probe.h"

#define UNTOUCHED 0x5a

/* ---- real responses of dnsmasq 2.90 ------------------------------------------------ */

/* www.example.test A: 192.0.2.10 and 192.0.2.9, the owner compressed */
static const uint8_t resp_a[] = {
    0x12, 0x34, 0x85, 0x80, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x03, 0x77,
    0x77, 0x77, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74, 0x65, 0x73,
    0x74, 0x00, 0x00, 0x01, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x04, 0xc0, 0x00, 0x02, 0x0a, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0xc0, 0x00, 0x02, 0x09,
};

/* v6.example.test AAAA: 2001:db8::10 */
static const uint8_t resp_aaaa[] = {
    0x12, 0x34, 0x85, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x02, 0x76, 0x36, 0x07,
    0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0x00, 0x1c, 0x00,
    0x01, 0xc0, 0x0c, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x20, 0x01, 0x0d,
    0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
};

/* example.test MX: 5 mx2.example.test, 10 mail.example.test */
static const uint8_t resp_mx[] = {
    0x12, 0x34, 0x85, 0x80, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x07, 0x65, 0x78, 0x61,
    0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0x00, 0x0f, 0x00, 0x01, 0xc0, 0x0c,
    0x00, 0x0f, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x05, 0x03, 0x6d, 0x78, 0x32,
    0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0xc0, 0x0c,
    0x00, 0x0f, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x15, 0x00, 0x0a, 0x04, 0x6d, 0x61, 0x69,
    0x6c, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00,
};

/* long.example.test TXT: two character-strings, "part one " and "part two" */
static const uint8_t resp_txt[] = {
    0x12, 0x34, 0x85, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x04, 0x6c,
    0x6f, 0x6e, 0x67, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74, 0x65,
    0x73, 0x74, 0x00, 0x00, 0x10, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x10, 0x00, 0x01, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x13, 0x09, 0x70, 0x61, 0x72, 0x74, 0x20, 0x6f, 0x6e, 0x65,
    0x20, 0x08, 0x70, 0x61, 0x72, 0x74, 0x20, 0x74, 0x77, 0x6f,
};

/* alias.example.test A: CNAME www.example.test, then its two A records */
static const uint8_t resp_a_via_cname[] = {
    0x12, 0x34, 0x85, 0x80, 0x00, 0x01, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x05, 0x61,
    0x6c, 0x69, 0x61, 0x73, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74,
    0x65, 0x73, 0x74, 0x00, 0x00, 0x01, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x05, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x12, 0x03, 0x77, 0x77, 0x77, 0x07, 0x65, 0x78, 0x61,
    0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0xc0, 0x30, 0x00, 0x01,
    0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0xc0, 0x00, 0x02, 0x09, 0xc0, 0x30,
    0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0xc0, 0x00, 0x02, 0x0a,
};

/* alias.example.test CNAME: www.example.test */
static const uint8_t resp_cname[] = {
    0x12, 0x34, 0x85, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x05, 0x61,
    0x6c, 0x69, 0x61, 0x73, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74,
    0x65, 0x73, 0x74, 0x00, 0x00, 0x05, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x05, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x12, 0x03, 0x77, 0x77, 0x77, 0x07, 0x65, 0x78, 0x61,
    0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00,
};

/* _sip._udp.example.test SRV: 10 5 5060 sip.example.test */
static const uint8_t resp_srv[] = {
    0x12, 0x34, 0x85, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x04, 0x5f, 0x73, 0x69,
    0x70, 0x04, 0x5f, 0x75, 0x64, 0x70, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74,
    0x65, 0x73, 0x74, 0x00, 0x00, 0x21, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x21, 0x00, 0x01, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x18, 0x00, 0x0a, 0x00, 0x05, 0x13, 0xc4, 0x03, 0x73, 0x69, 0x70, 0x07, 0x65,
    0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00,
};

/* 10.2.0.192.in-addr.arpa PTR: www.example.test */
static const uint8_t resp_ptr[] = {
    0x12, 0x34, 0x85, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x02, 0x31, 0x30,
    0x01, 0x32, 0x01, 0x30, 0x03, 0x31, 0x39, 0x32, 0x07, 0x69, 0x6e, 0x2d, 0x61, 0x64, 0x64,
    0x72, 0x04, 0x61, 0x72, 0x70, 0x61, 0x00, 0x00, 0x0c, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x0c,
    0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x12, 0x03, 0x77, 0x77, 0x77, 0x07, 0x65, 0x78,
    0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00,
};

/* nx.example.test A: NXDOMAIN, the question alone */
static const uint8_t resp_nxdomain[] = {
    0x12, 0x34, 0x81, 0x83, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x02, 0x6e, 0x78, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c,
    0x65, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0x00, 0x01, 0x00, 0x01,
};

/* ---- hand-built responses -------------------------------------------------------- */

struct msg {
    uint8_t b[70000];
    size_t n;
};

static void put8(struct msg *m, unsigned v)
{
    m->b[m->n++] = (uint8_t)v;
}

static void put16(struct msg *m, unsigned v)
{
    put8(m, v >> 8);
    put8(m, v & 0xff);
}

static void put32(struct msg *m, uint32_t v)
{
    put16(m, v >> 16);
    put16(m, v & 0xffff);
}

static void put_bytes(struct msg *m, const void *p, size_t n)
{
    memcpy(m->b + m->n, p, n);
    m->n += n;
}

/* A name in wire form, uncompressed: "www.example.test" ("" is the root). */
static void put_name(struct msg *m, const char *name)
{
    while (*name) {
        size_t l = strcspn(name, ".");
        put8(m, (unsigned)l);
        put_bytes(m, name, l);
        name += l;
        if (*name == '.')
            name++;
    }
    put8(m, 0);
}

static void put_ptr(struct msg *m, unsigned off)
{
    put16(m, 0xc000 | off);
}

/* Header and question; the question's name starts at offset 12. */
static void start(struct msg *m, unsigned rcode, unsigned ancount, const char *qname,
                  unsigned qtype)
{
    m->n = 0;
    put16(m, 0x1234);
    put16(m, 0x8180 | rcode);
    put16(m, 1);
    put16(m, ancount);
    put16(m, 0);
    put16(m, 0);
    put_name(m, qname);
    put16(m, qtype);
    put16(m, 1);
}

/* The fixed part of an answer owned by the question's name; returns where
 * rdlength goes, for end_rr(). */
static size_t rr(struct msg *m, unsigned type)
{
    size_t at;

    put_ptr(m, 12);
    put16(m, type);
    put16(m, 1);
    put32(m, 300);
    at = m->n;
    put16(m, 0);
    return at;
}

static void end_rr(struct msg *m, size_t at)
{
    size_t len = m->n - at - 2;

    m->b[at] = (uint8_t)(len >> 8);
    m->b[at + 1] = (uint8_t)(len & 0xff);
}

static struct probe_dns_answers parse_ok(const uint8_t *b, size_t n, enum conf_dns_record t)
{
    struct probe_dns_answers a;

    assert_int_equal(probe_dns_parse(b, n, t, &a), 0);
    return a;
}

static void parse_bad(const uint8_t *b, size_t n, enum conf_dns_record t)
{
    struct probe_dns_answers a;

    memset(&a, UNTOUCHED, sizeof(a));
    assert_int_equal(probe_dns_parse(b, n, t, &a), -EBADMSG);
    for (size_t i = 0; i < sizeof(a); i++)
        assert_int_equal(((const uint8_t *)&a)[i], UNTOUCHED);
}

/* ---- parsing ---------------------------------------------------------------------- */

static void test_parse_real(void **state)
{
    struct probe_dns_answers a;

    (void)state;
    a = parse_ok(resp_a, sizeof(resp_a), CONF_DNS_A);
    assert_int_equal(a.n, 2);
    /* numbers in numeric order: .9 before .10 */
    assert_string_equal(a.v[0], "192.0.2.9");
    assert_string_equal(a.v[1], "192.0.2.10");
    assert_null(a.alias);
    assert_false(a.cut);
    probe_dns_answers_clear(&a);
    assert_null(a.v);
    assert_int_equal(a.n, 0);

    a = parse_ok(resp_aaaa, sizeof(resp_aaaa), CONF_DNS_AAAA);
    assert_int_equal(a.n, 1);
    assert_string_equal(a.v[0], "2001:db8::10");
    probe_dns_answers_clear(&a);

    a = parse_ok(resp_mx, sizeof(resp_mx), CONF_DNS_MX);
    assert_int_equal(a.n, 2);
    assert_string_equal(a.v[0], "5 mx2.example.test");
    assert_string_equal(a.v[1], "10 mail.example.test");
    probe_dns_answers_clear(&a);

    a = parse_ok(resp_txt, sizeof(resp_txt), CONF_DNS_TXT);
    assert_int_equal(a.n, 1);
    assert_string_equal(a.v[0], "part one part two");
    probe_dns_answers_clear(&a);

    a = parse_ok(resp_a_via_cname, sizeof(resp_a_via_cname), CONF_DNS_A);
    assert_int_equal(a.n, 2);
    assert_string_equal(a.v[0], "192.0.2.9");
    assert_string_equal(a.v[1], "192.0.2.10");
    assert_string_equal(a.alias, "www.example.test");
    probe_dns_answers_clear(&a);

    a = parse_ok(resp_cname, sizeof(resp_cname), CONF_DNS_CNAME);
    assert_int_equal(a.n, 1);
    assert_string_equal(a.v[0], "www.example.test");
    assert_null(a.alias);
    probe_dns_answers_clear(&a);

    a = parse_ok(resp_srv, sizeof(resp_srv), CONF_DNS_SRV);
    assert_int_equal(a.n, 1);
    assert_string_equal(a.v[0], "10 5 5060 sip.example.test");
    probe_dns_answers_clear(&a);

    a = parse_ok(resp_ptr, sizeof(resp_ptr), CONF_DNS_PTR);
    assert_int_equal(a.n, 1);
    assert_string_equal(a.v[0], "www.example.test");
    probe_dns_answers_clear(&a);

    a = parse_ok(resp_nxdomain, sizeof(resp_nxdomain), CONF_DNS_A);
    assert_int_equal(a.n, 0);
    assert_int_equal(a.n_dropped, 0);
    probe_dns_answers_clear(&a);

    /* the records of another type are not answers */
    a = parse_ok(resp_a, sizeof(resp_a), CONF_DNS_AAAA);
    assert_int_equal(a.n, 0);
    probe_dns_answers_clear(&a);
}

static void test_parse_soa_ns_compressed(void **state)
{
    static struct msg m;
    struct probe_dns_answers a;
    size_t at, ns_name;

    (void)state;
    start(&m, 0, 2, "example.test", CONF_DNS_SOA);
    at = rr(&m, CONF_DNS_SOA);
    ns_name = m.n;
    put8(&m, 3);
    put_bytes(&m, "ns1", 3);
    put_ptr(&m, 12); /* ns1.example.test */
    put8(&m, 10);
    put_bytes(&m, "hostmaster", 10);
    put_ptr(&m, 12);
    put32(&m, 2024010101u);
    put32(&m, 7200);
    put32(&m, 3600);
    put32(&m, 1209600);
    put32(&m, 300);
    end_rr(&m, at);
    /* a SOA record of another owner after it: both are answers */
    put_ptr(&m, (unsigned)ns_name);
    put16(&m, CONF_DNS_SOA);
    put16(&m, 1);
    put32(&m, 60);
    at = m.n;
    put16(&m, 0);
    put_ptr(&m, (unsigned)ns_name);
    put_name(&m, "");
    put32(&m, 4294967295u);
    put32(&m, 1);
    put32(&m, 1);
    put32(&m, 1);
    put32(&m, 1);
    end_rr(&m, at);
    a = parse_ok(m.b, m.n, CONF_DNS_SOA);
    assert_int_equal(a.n, 2);
    assert_string_equal(a.v[0], "ns1.example.test . 4294967295");
    assert_string_equal(a.v[1], "ns1.example.test hostmaster.example.test 2024010101");
    probe_dns_answers_clear(&a);

    start(&m, 0, 2, "example.test", CONF_DNS_NS);
    at = rr(&m, CONF_DNS_NS);
    put8(&m, 3);
    put_bytes(&m, "ns2", 3);
    put_ptr(&m, 12);
    end_rr(&m, at);
    at = rr(&m, CONF_DNS_NS);
    put8(&m, 3);
    put_bytes(&m, "NS1", 3);
    put_ptr(&m, 12);
    end_rr(&m, at);
    a = parse_ok(m.b, m.n, CONF_DNS_NS);
    assert_int_equal(a.n, 2);
    /* as received (case kept), sorted ignoring case */
    assert_string_equal(a.v[0], "NS1.example.test");
    assert_string_equal(a.v[1], "ns2.example.test");
    probe_dns_answers_clear(&a);
}

static void test_parse_odd_bytes(void **state)
{
    static struct msg m;
    struct probe_dns_answers a;
    size_t at;
    /* "v=1" TAB "é" (valid UTF-8) 0xff (not UTF-8) 0xe9 (a lone Latin-1 é) DEL */
    static const uint8_t txt[] = { 'v', '=', '1', '\t', 0xc3, 0xa9, 0xff, 0xe9, 0x7f, '"' };

    (void)state;
    start(&m, 0, 2, "example.test", CONF_DNS_TXT);
    at = rr(&m, CONF_DNS_TXT);
    put8(&m, sizeof(txt));
    put_bytes(&m, txt, sizeof(txt));
    end_rr(&m, at);
    at = rr(&m, CONF_DNS_TXT); /* an empty TXT record: no strings at all */
    end_rr(&m, at);
    a = parse_ok(m.b, m.n, CONF_DNS_TXT);
    assert_int_equal(a.n, 2);
    assert_string_equal(a.v[0], "");
    assert_string_equal(a.v[1], "v=1\\009é\\255\\233\\127\"");
    probe_dns_answers_clear(&a);

    /* a label holding a dot, a backslash and a space; and the root */
    start(&m, 0, 2, "x.test", CONF_DNS_CNAME);
    at = rr(&m, CONF_DNS_CNAME);
    put8(&m, 5);
    put_bytes(&m, "a.b\\ ", 5);
    put_name(&m, "test");
    end_rr(&m, at);
    at = rr(&m, CONF_DNS_CNAME);
    put_name(&m, "");
    end_rr(&m, at);
    a = parse_ok(m.b, m.n, CONF_DNS_CNAME);
    assert_int_equal(a.n, 2);
    assert_string_equal(a.v[0], ".");
    assert_string_equal(a.v[1], "a\\.b\\\\\\032.test");
    probe_dns_answers_clear(&a);
}

static void test_parse_caps(void **state)
{
    static struct msg m;
    struct probe_dns_answers a;
    size_t at;
    char big[255];

    (void)state;
    start(&m, 0, 70, "many.test", CONF_DNS_A);
    for (unsigned i = 0; i < 70; i++) {
        at = rr(&m, CONF_DNS_A);
        put8(&m, 10);
        put8(&m, 0);
        put8(&m, 0);
        put8(&m, i);
        end_rr(&m, at);
    }
    a = parse_ok(m.b, m.n, CONF_DNS_A);
    assert_int_equal(a.n, PROBE_DNS_MAX_ANSWERS);
    assert_int_equal(a.n_dropped, 70 - PROBE_DNS_MAX_ANSWERS);
    assert_string_equal(a.v[0], "10.0.0.0");
    assert_string_equal(a.v[63], "10.0.0.63");
    probe_dns_answers_clear(&a);

    /* a TXT record of 20 strings of 255 bytes: cut at PROBE_DNS_MAX_TEXT */
    memset(big, 'x', sizeof(big));
    start(&m, 0, 1, "big.test", CONF_DNS_TXT);
    at = rr(&m, CONF_DNS_TXT);
    for (int i = 0; i < 20; i++) {
        put8(&m, sizeof(big));
        put_bytes(&m, big, sizeof(big));
    }
    end_rr(&m, at);
    a = parse_ok(m.b, m.n, CONF_DNS_TXT);
    assert_int_equal(a.n, 1);
    assert_true(a.cut);
    assert_int_equal(strlen(a.v[0]), PROBE_DNS_MAX_TEXT);
    probe_dns_answers_clear(&a);
}

static void test_parse_malformed(void **state)
{
    static struct msg m;
    uint8_t b[sizeof(resp_a)];
    size_t at;

    (void)state;
    parse_bad(NULL, 0, CONF_DNS_A);
    parse_bad(resp_a, 11, CONF_DNS_A); /* shorter than a header */
    /* cut anywhere inside the answers */
    for (size_t n = 12; n < sizeof(resp_a); n++)
        parse_bad(resp_a, n, CONF_DNS_A);
    for (size_t n = 12; n < sizeof(resp_mx); n++)
        parse_bad(resp_mx, n, CONF_DNS_MX);
    for (size_t n = 12; n < sizeof(resp_txt); n++)
        parse_bad(resp_txt, n, CONF_DNS_TXT);

    /* more answers announced than present */
    memcpy(b, resp_a, sizeof(b));
    b[7] = 3;
    parse_bad(b, sizeof(b), CONF_DNS_A);

    /* a pointer to itself, and one pointing forwards */
    memcpy(b, resp_a, sizeof(b));
    b[35] = 34;
    parse_bad(b, sizeof(b), CONF_DNS_A);
    b[35] = 50;
    parse_bad(b, sizeof(b), CONF_DNS_A);

    /* an A record of 5 bytes */
    start(&m, 0, 1, "x.test", CONF_DNS_A);
    at = rr(&m, CONF_DNS_A);
    put_bytes(&m, "\x01\x02\x03\x04\x05", 5);
    end_rr(&m, at);
    parse_bad(m.b, m.n, CONF_DNS_A);
    /* ... which is fine when A is not what was asked */
    {
        struct probe_dns_answers a = parse_ok(m.b, m.n, CONF_DNS_MX);
        assert_int_equal(a.n, 0);
        probe_dns_answers_clear(&a);
    }

    /* a name longer than 255 bytes */
    start(&m, 0, 1, "x.test", CONF_DNS_CNAME);
    at = rr(&m, CONF_DNS_CNAME);
    for (int i = 0; i < 5; i++) {
        put8(&m, 63);
        for (int j = 0; j < 63; j++)
            put8(&m, 'a');
    }
    put8(&m, 0);
    end_rr(&m, at);
    parse_bad(m.b, m.n, CONF_DNS_CNAME);

    /* an extended label type (0x40) */
    start(&m, 0, 1, "x.test", CONF_DNS_CNAME);
    at = rr(&m, CONF_DNS_CNAME);
    put8(&m, 0x41);
    put8(&m, 'a');
    put8(&m, 0);
    end_rr(&m, at);
    parse_bad(m.b, m.n, CONF_DNS_CNAME);

    /* a CNAME whose name runs past its rdata, and one with bytes left over */
    start(&m, 0, 1, "x.test", CONF_DNS_CNAME);
    at = rr(&m, CONF_DNS_CNAME);
    put_name(&m, "y.test");
    end_rr(&m, at);
    m.b[at + 1] -= 2;
    parse_bad(m.b, m.n, CONF_DNS_CNAME);
    m.b[at + 1] += 3;
    put8(&m, 0);
    parse_bad(m.b, m.n, CONF_DNS_CNAME);

    /* a TXT string longer than its record; a short SOA; a short SRV */
    start(&m, 0, 1, "x.test", CONF_DNS_TXT);
    at = rr(&m, CONF_DNS_TXT);
    put8(&m, 10);
    put_bytes(&m, "abc", 3);
    end_rr(&m, at);
    parse_bad(m.b, m.n, CONF_DNS_TXT);
    start(&m, 0, 1, "x.test", CONF_DNS_SOA);
    at = rr(&m, CONF_DNS_SOA);
    put_name(&m, "a");
    put_name(&m, "b");
    put32(&m, 1);
    end_rr(&m, at);
    parse_bad(m.b, m.n, CONF_DNS_SOA);
    start(&m, 0, 1, "x.test", CONF_DNS_SRV);
    at = rr(&m, CONF_DNS_SRV);
    put16(&m, 1);
    put16(&m, 2);
    end_rr(&m, at);
    parse_bad(m.b, m.n, CONF_DNS_SRV);
}

/* ---- matching ------------------------------------------------------------------------ */

static void test_same_and_contains(void **state)
{
    (void)state;
    assert_true(probe_dns_same(CONF_DNS_A, "192.0.2.10", "192.0.2.10"));
    assert_false(probe_dns_same(CONF_DNS_A, "192.0.2.10", "192.0.2.1"));
    assert_true(probe_dns_same(CONF_DNS_AAAA, "2001:db8::10", "2001:DB8:0:0::10"));
    assert_false(probe_dns_same(CONF_DNS_AAAA, "2001:db8::10", "2001:db8::1"));
    /* not an address: compared as written */
    assert_false(probe_dns_same(CONF_DNS_A, "192.0.2.10", "192.0.2.010x"));
    assert_true(probe_dns_same(CONF_DNS_CNAME, "www.example.test", "WWW.Example.Test."));
    assert_true(probe_dns_same(CONF_DNS_MX, "10 mail.example.test", "10 Mail.example.test."));
    assert_false(probe_dns_same(CONF_DNS_MX, "10 mail.example.test", "20 mail.example.test"));
    assert_true(probe_dns_same(CONF_DNS_SOA, "ns1.example.test host.example.test 7",
                               "ns1.example.test. host.example.test. 7"));
    assert_true(probe_dns_same(CONF_DNS_NS, ".", "."));
    /* an escaped dot at the end is part of the label */
    assert_false(probe_dns_same(CONF_DNS_CNAME, "a\\.", "a"));
    assert_true(probe_dns_same(CONF_DNS_CNAME, "a\\\\", "a\\\\."));
    /* TXT: exact */
    assert_true(probe_dns_same(CONF_DNS_TXT, "v=spf1 -all", "v=spf1 -all"));
    assert_false(probe_dns_same(CONF_DNS_TXT, "v=spf1 -all", "V=SPF1 -ALL"));
    assert_false(probe_dns_same(CONF_DNS_TXT, "end.", "end"));

    assert_true(probe_dns_contains(CONF_DNS_A, "192.0.2.10", "0.2.1"));
    assert_true(probe_dns_contains(CONF_DNS_MX, "10 mail.example.test", "MAIL.EXAMPLE"));
    assert_true(probe_dns_contains(CONF_DNS_AAAA, "2001:db8::10", "DB8"));
    assert_true(probe_dns_contains(CONF_DNS_TXT, "v=spf1 include:x -all", "include:x"));
    assert_false(probe_dns_contains(CONF_DNS_TXT, "v=spf1 -all", "SPF1"));
}

/* ---- judging --------------------------------------------------------------------------- */

static struct conf_monitor mon(enum conf_dns_record t, const char *query)
{
    return (struct conf_monitor){
        .name = (char *)"dns-test",
        .type = CONF_MON_DNS,
        .query = (char *)query,
        .record = t,
        .dns_server = (char *)"127.0.0.1:5353",
        .timeout_ms = 1000,
    };
}

static struct probe_result judge(const struct conf_monitor *m, enum probe_dns_outcome o,
                                 const struct probe_dns_answers *a, int32_t us)
{
    struct probe_result r;
    struct probe_dns_obs obs = {
        .outcome = o,
        .answers = a,
        .total_us = us,
        .server_us = PROBE_NO_VALUE,
        .error = "Misformatted domain name",
    };

    probe_result_init(&r, 1000);
    probe_dns_evaluate(m, &obs, &r);
    return r;
}

static void test_evaluate_ok(void **state)
{
    struct conf_monitor m = mon(CONF_DNS_A, "www.example.test");
    struct probe_dns_answers a = parse_ok(resp_a, sizeof(resp_a), CONF_DNS_A);
    struct probe_result r;
    char *eq[] = { (char *)"192.0.2.10", (char *)"192.0.2.9" };

    (void)state;
    r = judge(&m, PROBE_DNS_ANSWERED, &a, 1234);
    assert_int_equal(r.status, PROBE_OK);
    assert_string_equal(r.message, "A www.example.test: 192.0.2.9, 192.0.2.10 in 1.2 ms");
    assert_int_equal(r.total_us, 1234);
    assert_int_equal(r.dns_us, PROBE_NO_VALUE);

    m.expect_contains = (char *)"192.0.2.10";
    m.expect_equals = eq;
    m.n_expect_equals = 2;
    m.max_latency_ms = 200;
    r = judge(&m, PROBE_DNS_ANSWERED, &a, 199000);
    assert_int_equal(r.status, PROBE_OK);
    assert_string_equal(r.message, "A www.example.test: 192.0.2.9, 192.0.2.10 in 199.0 ms");

    r = judge(&m, PROBE_DNS_ANSWERED, &a, 250300);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_string_equal(r.message, "A www.example.test: 192.0.2.9, 192.0.2.10 in 250.3 ms, above "
                                   "max_latency 200 ms");

    m.expect_contains = (char *)"192.0.2.99";
    r = judge(&m, PROBE_DNS_ANSWERED, &a, 1000);
    assert_int_equal(r.status, PROBE_CRITICAL);
    /* the expected text is not quoted: it may be a secret from ${VAR} */
    assert_string_equal(r.message, "A www.example.test: 192.0.2.9, 192.0.2.10 in 1.0 ms, "
                                   "expect.contains not found in the answers");

    m.expect_contains = NULL;
    m.n_expect_equals = 1; /* only 192.0.2.10 */
    r = judge(&m, PROBE_DNS_ANSWERED, &a, 1000);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_string_equal(r.message, "A www.example.test: 192.0.2.9, 192.0.2.10 in 1.0 ms, not the "
                                   "expect.equals set (1 unexpected)");
    probe_dns_answers_clear(&a);

    /* equals is a set: order and duplicates do not matter, missing ones do */
    {
        char *eq3[] = { (char *)"192.0.2.9", (char *)"192.0.2.10", (char *)"192.0.2.9",
                        (char *)"192.0.2.11" };
        a = parse_ok(resp_a_via_cname, sizeof(resp_a_via_cname), CONF_DNS_A);
        m = mon(CONF_DNS_A, "alias.example.test");
        m.expect_equals = eq3;
        m.n_expect_equals = 3;
        r = judge(&m, PROBE_DNS_ANSWERED, &a, 1000);
        assert_int_equal(r.status, PROBE_OK);
        m.n_expect_equals = 4;
        r = judge(&m, PROBE_DNS_ANSWERED, &a, 1000);
        assert_int_equal(r.status, PROBE_CRITICAL);
        assert_string_equal(r.message, "A alias.example.test: 192.0.2.9, 192.0.2.10 in 1.0 ms, "
                                       "not the expect.equals set (1 missing)");
        /* a repeated entry counts once */
        eq3[0] = eq3[2] = (char *)"192.0.2.12";
        r = judge(&m, PROBE_DNS_ANSWERED, &a, 1000);
        assert_string_equal(r.message, "A alias.example.test: 192.0.2.9, 192.0.2.10 in 1.0 ms, "
                                       "not the expect.equals set (2 missing, 1 unexpected)");
        probe_dns_answers_clear(&a);
    }

    /* MX compared as names; TXT quoted in the message */
    {
        char *eq2[] = { (char *)"10 MAIL.example.test.", (char *)"5 mx2.example.test" };
        a = parse_ok(resp_mx, sizeof(resp_mx), CONF_DNS_MX);
        m = mon(CONF_DNS_MX, "example.test");
        m.expect_equals = eq2;
        m.n_expect_equals = 2;
        r = judge(&m, PROBE_DNS_ANSWERED, &a, 500);
        assert_int_equal(r.status, PROBE_OK);
        assert_string_equal(r.message,
                            "MX example.test: 5 mx2.example.test, 10 mail.example.test in 0.5 ms");
        probe_dns_answers_clear(&a);
    }
    a = parse_ok(resp_txt, sizeof(resp_txt), CONF_DNS_TXT);
    m = mon(CONF_DNS_TXT, "long.example.test");
    m.expect_contains = (char *)"one part";
    r = judge(&m, PROBE_DNS_ANSWERED, &a, 800);
    assert_int_equal(r.status, PROBE_OK);
    assert_string_equal(r.message, "TXT long.example.test: \"part one part two\" in 0.8 ms");
    probe_dns_answers_clear(&a);
}

static void test_evaluate_failures(void **state)
{
    struct conf_monitor m = mon(CONF_DNS_A, "www.example.test");
    struct probe_dns_answers none = { 0 };
    struct probe_dns_answers a;
    struct probe_result r;
    struct probe_dns_obs obs;

    (void)state;
    r = judge(&m, PROBE_DNS_NXDOMAIN, NULL, 1500);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_string_equal(r.message, "A www.example.test: no such domain (NXDOMAIN) in 1.5 ms");

    r = judge(&m, PROBE_DNS_NODATA, &none, 1500);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_string_equal(r.message, "A www.example.test: no A record (NODATA) in 1.5 ms");
    /* NOERROR with answers, none of the type: NODATA too, naming the alias */
    a = parse_ok(resp_cname, sizeof(resp_cname), CONF_DNS_A);
    m.query = (char *)"alias.example.test";
    r = judge(&m, PROBE_DNS_ANSWERED, &a, 1500);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_string_equal(r.message, "A alias.example.test: no A record (NODATA; an alias of "
                                   "www.example.test) in 1.5 ms");
    probe_dns_answers_clear(&a);
    m.query = (char *)"www.example.test";

    r = judge(&m, PROBE_DNS_SERVFAIL, NULL, 2000);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_string_equal(
        r.message, "A www.example.test: server failure (SERVFAIL) from 127.0.0.1:5353 in 2.0 ms");
    r = judge(&m, PROBE_DNS_REFUSED, NULL, 2000);
    assert_string_equal(r.message,
                        "A www.example.test: query refused (REFUSED) by 127.0.0.1:5353 in 2.0 ms");
    r = judge(&m, PROBE_DNS_FORMERR, NULL, 2000);
    assert_string_equal(r.message,
                        "A www.example.test: format error (FORMERR) from 127.0.0.1:5353 in 2.0 ms");
    r = judge(&m, PROBE_DNS_NOTIMP, NULL, 2000);
    assert_string_equal(r.message,
                        "A www.example.test: not implemented (NOTIMP) by 127.0.0.1:5353 in 2.0 ms");
    r = judge(&m, PROBE_DNS_BADRESP, NULL, 2000);
    assert_string_equal(r.message,
                        "A www.example.test: malformed response from 127.0.0.1:5353 in 2.0 ms");
    r = judge(&m, PROBE_DNS_CONNREFUSED, NULL, 300);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_string_equal(r.message,
                        "A www.example.test: connection refused by 127.0.0.1:5353 (after 0.3 ms)");
    r = judge(&m, PROBE_DNS_TIMEOUT, NULL, 1000400);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_string_equal(
        r.message, "A www.example.test: timeout, no answer from 127.0.0.1:5353 (after 1000.4 ms)");
    r = judge(&m, PROBE_DNS_ERROR, NULL, 100);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_string_equal(r.message, "A www.example.test: Misformatted domain name (after 0.1 ms)");
    r = judge(&m, PROBE_DNS_INTERNAL, NULL, 100);
    assert_int_equal(r.status, PROBE_UNKNOWN);
    assert_string_equal(r.message, "A www.example.test: Misformatted domain name");

    /* the system's resolvers, c-ares' own timeout after three tries */
    m.dns_server = NULL;
    obs = (struct probe_dns_obs){
        .outcome = PROBE_DNS_TIMEOUT, .retries = 3, .total_us = 7000000, .server_us = PROBE_NO_VALUE
    };
    probe_result_init(&r, 0);
    probe_dns_evaluate(&m, &obs, &r);
    assert_string_equal(r.message, "A www.example.test: timeout, no answer from the system "
                                   "resolvers (after 7000.0 ms, 3 tries)");

    /* a server given by name that does not resolve */
    m.dns_server = (char *)"ns1.example.test";
    obs = (struct probe_dns_obs){ .outcome = PROBE_DNS_NO_SERVER,
                                  .error = "Domain name not found",
                                  .total_us = 2500,
                                  .server_us = 2500 };
    probe_result_init(&r, 0);
    probe_dns_evaluate(&m, &obs, &r);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_string_equal(r.message, "A www.example.test: cannot look up the server "
                                   "'ns1.example.test': Domain name not found (after 2.5 ms)");
    assert_int_equal(r.dns_us, 2500);

    /* an answer after a lost packet says so */
    a = parse_ok(resp_aaaa, sizeof(resp_aaaa), CONF_DNS_AAAA);
    m = mon(CONF_DNS_AAAA, "v6.example.test");
    obs = (struct probe_dns_obs){ .outcome = PROBE_DNS_ANSWERED,
                                  .answers = &a,
                                  .retries = 1,
                                  .total_us = 1001500,
                                  .server_us = 800 };
    probe_result_init(&r, 0);
    probe_dns_evaluate(&m, &obs, &r);
    assert_int_equal(r.status, PROBE_OK);
    assert_string_equal(r.message, "AAAA v6.example.test: 2001:db8::10 in 1001.5 ms (1 retry)");
    assert_int_equal(r.dns_us, 800);
    probe_dns_answers_clear(&a);
}

static void test_evaluate_long(void **state)
{
    static struct msg msg;
    struct conf_monitor m = mon(CONF_DNS_A, "many.test");
    struct probe_dns_answers a;
    struct probe_result r;
    size_t at, n;
    char big[200];
    char *eq[40];
    char eqbuf[40][16];

    (void)state;
    start(&msg, 0, 100, "many.test", CONF_DNS_A);
    for (unsigned i = 0; i < 100; i++) {
        at = rr(&msg, CONF_DNS_A);
        put8(&msg, 198);
        put8(&msg, 51);
        put8(&msg, 100);
        put8(&msg, i);
        end_rr(&msg, at);
    }
    a = parse_ok(msg.b, msg.n, CONF_DNS_A);
    r = judge(&m, PROBE_DNS_ANSWERED, &a, 4200);
    assert_int_equal(r.status, PROBE_OK);
    n = strlen(r.message);
    assert_true(n < OPSD_MAX_MESSAGE - 1);
    assert_memory_equal(r.message, "A many.test: 198.51.100.0, 198.51.100.1, ", 41);
    /* 64 kept, 36 dropped: "and N more" counts both */
    assert_non_null(strstr(r.message, " more in 4.2 ms"));
    assert_string_equal(r.message + n - strlen(" in 4.2 ms"), " in 4.2 ms");

    /* a long answer list and a failing equals still end with the difference */
    for (int i = 0; i < 40; i++) {
        snprintf(eqbuf[i], sizeof(eqbuf[i]), "203.0.113.%d", i);
        eq[i] = eqbuf[i];
    }
    m.expect_equals = eq;
    m.n_expect_equals = 40;
    r = judge(&m, PROBE_DNS_ANSWERED, &a, 4200);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_true(strlen(r.message) < OPSD_MAX_MESSAGE - 1);
    /* 64 answers compared, 36 past the cap: 100 unexpected, 40 missing */
    assert_non_null(strstr(r.message, " more in 4.2 ms, not the expect.equals set (40 missing, "
                                      "100 unexpected)"));
    probe_dns_answers_clear(&a);

    /* one long TXT answer is cut with an ellipsis */
    memset(big, 'y', sizeof(big));
    start(&msg, 0, 1, "t.test", CONF_DNS_TXT);
    at = rr(&msg, CONF_DNS_TXT);
    put8(&msg, sizeof(big));
    put_bytes(&msg, big, sizeof(big));
    end_rr(&msg, at);
    a = parse_ok(msg.b, msg.n, CONF_DNS_TXT);
    m = mon(CONF_DNS_TXT, "t.test");
    r = judge(&m, PROBE_DNS_ANSWERED, &a, 1000);
    assert_int_equal(r.status, PROBE_OK);
    assert_non_null(strstr(r.message, "yyy…\" in 1.0 ms"));
    assert_true(strlen(r.message) < 140);
    probe_dns_answers_clear(&a);
}

/* ---- the server string --------------------------------------------------------------------- */

static void test_split_server(void **state)
{
    char host[64];
    unsigned port;
    static const char *const bad[] = { "",      ":53",    "[::1",       "[::1]x", "[]:53",
                                       "a:",    "a:0",    "a:65536",    "a:-1",   "a:5x",
                                       "a: 53", "[::1]:", "[::1]:99999" };

    (void)state;
    assert_int_equal(probe_dns_split_server("127.0.0.1:5353", host, sizeof(host), &port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 5353);
    assert_int_equal(probe_dns_split_server("192.0.2.53", host, sizeof(host), &port), 0);
    assert_string_equal(host, "192.0.2.53");
    assert_int_equal(port, 53);
    assert_int_equal(probe_dns_split_server("[2001:db8::53]:5300", host, sizeof(host), &port), 0);
    assert_string_equal(host, "2001:db8::53");
    assert_int_equal(port, 5300);
    assert_int_equal(probe_dns_split_server("[::1]", host, sizeof(host), &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 53);
    assert_int_equal(probe_dns_split_server("::1", host, sizeof(host), &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(probe_dns_split_server("ns1.example.test:65535", host, sizeof(host), &port),
                     0);
    assert_string_equal(host, "ns1.example.test");
    assert_int_equal(port, 65535);

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(host, UNTOUCHED, sizeof(host));
        port = 0x5a5a;
        assert_int_equal(probe_dns_split_server(bad[i], host, sizeof(host), &port), -EINVAL);
        assert_int_equal((unsigned char)host[0], UNTOUCHED);
        assert_int_equal(port, 0x5a5a);
    }
    /* a host that does not fit */
    port = 0x5a5a;
    assert_int_equal(probe_dns_split_server("abcdefgh:53", host, 8, &port), -EINVAL);
    assert_int_equal(port, 0x5a5a);
    assert_int_equal(probe_dns_split_server("abcdefg:53", host, 8, &port), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_real),      cmocka_unit_test(test_parse_soa_ns_compressed),
        cmocka_unit_test(test_parse_odd_bytes), cmocka_unit_test(test_parse_caps),
        cmocka_unit_test(test_parse_malformed), cmocka_unit_test(test_same_and_contains),
        cmocka_unit_test(test_evaluate_ok),     cmocka_unit_test(test_evaluate_failures),
        cmocka_unit_test(test_evaluate_long),   cmocka_unit_test(test_split_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
