/* Unit tests for the icmp monitor's pure logic: the internet checksum,
 * echo requests as bytes, replies as ping sockets (no IP header, the
 * kernel's identifier) and raw sockets (IPv4 header, every packet of the
 * host) deliver them, duplicates, strangers and ICMP errors, the pacing of
 * requests, and the judgement into status, message and metric series. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "probe/probe.h"

#define MS 1000000ull /* nanoseconds */

static const uint8_t cookie[PROBE_ICMP_COOKIE_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8 };

/* --- helpers --- */

static void session(struct probe_icmp_session *s, bool v6, bool raw, unsigned count)
{
    probe_icmp_session_init(s, v6, raw, 0x1234, cookie, count);
}

/* Sends requests 1..n at 1000 ms + seq ms. */
static void send_all(struct probe_icmp_session *s, unsigned n)
{
    for (unsigned seq = 1; seq <= n; seq++)
        probe_icmp_sent(s, seq, 1000 * MS + seq * MS);
}

/* The reply a host sends to request seq: its echo, type changed, and (for
 * IPv4) checksummed again; id replaces the identifier (a ping socket's
 * kernel picks its own). Returns the length. */
static size_t reply(const struct probe_icmp_session *s, unsigned seq, uint16_t id, uint8_t *buf)
{
    size_t n = probe_icmp_request(s, seq, buf, PROBE_ICMP_REQUEST_LEN);
    uint16_t sum;

    assert_int_equal(n, PROBE_ICMP_REQUEST_LEN);
    buf[0] = s->v6 ? 129 : 0;
    buf[4] = (uint8_t)(id >> 8);
    buf[5] = (uint8_t)id;
    buf[2] = buf[3] = 0;
    if (!s->v6) {
        sum = probe_icmp_checksum(buf, n);
        memcpy(buf + 2, &sum, 2);
    }
    return n;
}

/* Puts an IPv4 header (with opt_words 32-bit words of options) before
 * len bytes at buf + 60; returns the start and sets *ret_len. */
static uint8_t *ip4_wrap(uint8_t *buf, size_t len, unsigned opt_words, uint8_t proto,
                         size_t *ret_len)
{
    size_t hl = 20 + 4 * (size_t)opt_words;
    uint8_t *p = buf + 60 - hl;

    memset(p, 0, hl);
    p[0] = (uint8_t)(0x40 | (hl / 4));
    p[2] = (uint8_t)((hl + len) >> 8);
    p[3] = (uint8_t)(hl + len);
    p[8] = 64;
    p[9] = proto;
    p[12] = 127, p[15] = 1;
    p[16] = 127, p[19] = 1;
    *ret_len = hl + len;
    return p;
}

/* An ICMP error (type, code) quoting the request seq with quote_len bytes
 * of it after its IP header, as a router would send it; into out. */
static size_t icmp_error(const struct probe_icmp_session *s, uint8_t type, uint8_t code,
                         unsigned seq, size_t quote_len, uint8_t *out)
{
    uint8_t req[PROBE_ICMP_REQUEST_LEN];
    size_t hl = s->v6 ? 40 : 20, n;
    uint16_t sum;

    probe_icmp_request(s, seq, req, sizeof(req));
    memset(out, 0, 8 + hl);
    out[0] = type;
    out[1] = code;
    if (s->v6) {
        out[8] = 0x60;
        out[8 + 6] = 58;
        out[8 + 7] = 64;
    } else {
        out[8] = 0x45;
        out[8 + 9] = 1;
        out[8 + 8] = 1;
    }
    memcpy(out + 8 + hl, req, quote_len);
    n = 8 + hl + quote_len;
    if (!s->v6) {
        sum = probe_icmp_checksum(out, n);
        memcpy(out + 2, &sum, 2);
    }
    return n;
}

static struct sockaddr_in from4(const char *ip)
{
    struct sockaddr_in a = { .sin_family = AF_INET };

    assert_int_equal(inet_pton(AF_INET, ip, &a.sin_addr), 1);
    return a;
}

static struct conf_monitor conf(unsigned count, double max_loss, uint64_t max_rtt_ms)
{
    return (struct conf_monitor){
        .name = (char *)"gw",
        .type = CONF_MON_ICMP,
        .host = (char *)"10.0.0.1",
        .count = count,
        .max_loss_pct = max_loss,
        .max_rtt_ms = max_rtt_ms,
        .timeout_ms = 10000,
    };
}

/* Replies to requests of s whose bit is set in mask, seq i after rtt_ms[i-1]. */
static void answer(struct probe_icmp_session *s, unsigned mask, const double *rtt_ms)
{
    uint8_t buf[PROBE_ICMP_REQUEST_LEN];

    for (unsigned seq = 1; seq <= s->count; seq++) {
        if (!(mask & (1u << (seq - 1))))
            continue;
        size_t n = reply(s, seq, s->id, buf);
        uint64_t at = s->sent_ns[seq - 1] + (uint64_t)llround(rtt_ms[seq - 1] * 1e6);
        assert_int_equal(probe_icmp_receive(s, buf, n, NULL, at, NULL), PROBE_ICMP_REPLY);
    }
}

static const struct probe_metric *metric(const struct probe_result *r, const char *name)
{
    for (size_t i = 0; i < r->n_metrics; i++)
        if (strcmp(r->metrics[i].name, name) == 0)
            return &r->metrics[i];
    return NULL;
}

/* --- the checksum and the requests --- */

static void test_checksum(void **state)
{
    /* RFC 1071's example: the sum is 0xddf2, the checksum its complement. */
    static const uint8_t rfc[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
    uint8_t buf[16], out[2];
    uint16_t sum;

    (void)state;
    sum = probe_icmp_checksum(rfc, sizeof(rfc));
    memcpy(out, &sum, 2);
    assert_int_equal(out[0], 0x22);
    assert_int_equal(out[1], 0x0d);

    /* An odd length pads with a zero byte. */
    static const uint8_t odd[] = { 0x12, 0x34, 0x56 };
    sum = probe_icmp_checksum(odd, sizeof(odd));
    memcpy(out, &sum, 2);
    assert_int_equal(out[0], (uint8_t) ~(0x12 + 0x56));
    assert_int_equal(out[1], (uint8_t)~0x34);

    /* Nothing sums to 0xffff's complement; a carry wraps around. */
    assert_int_equal(probe_icmp_checksum(NULL, 0), 0xffff);
    memset(buf, 0xff, sizeof(buf));
    assert_int_equal(probe_icmp_checksum(buf, sizeof(buf)), 0);

    /* Data holding its own checksum sums to 0. */
    memcpy(buf, rfc, 8);
    buf[8] = 0x22, buf[9] = 0x0d;
    assert_int_equal(probe_icmp_checksum(buf, 10), 0);
}

static void test_request_v4(void **state)
{
    struct probe_icmp_session s;
    uint8_t buf[PROBE_ICMP_REQUEST_LEN + 8];

    (void)state;
    session(&s, false, true, 3);
    memset(buf, 0xaa, sizeof(buf));
    assert_int_equal(probe_icmp_request(&s, 2, buf, sizeof(buf)), 64);
    assert_int_equal(buf[0], 8); /* echo request */
    assert_int_equal(buf[1], 0);
    assert_int_equal(buf[4] << 8 | buf[5], 0x1234);
    assert_int_equal(buf[6] << 8 | buf[7], 2);
    assert_memory_equal(buf + 8, cookie, sizeof(cookie));
    assert_int_equal(buf[63], 63);
    assert_int_equal(buf[64], 0xaa); /* nothing written past the request */
    assert_int_equal(probe_icmp_checksum(buf, 64), 0);

    /* Out of range, or no room: nothing written. */
    memset(buf, 0xaa, sizeof(buf));
    assert_int_equal(probe_icmp_request(&s, 0, buf, sizeof(buf)), 0);
    assert_int_equal(probe_icmp_request(&s, 4, buf, sizeof(buf)), 0);
    assert_int_equal(probe_icmp_request(&s, 1, buf, 63), 0);
    assert_int_equal(buf[0], 0xaa);
}

static void test_request_v6(void **state)
{
    struct probe_icmp_session s;
    uint8_t buf[PROBE_ICMP_REQUEST_LEN];

    (void)state;
    session(&s, true, false, 100);
    assert_int_equal(probe_icmp_request(&s, 100, buf, sizeof(buf)), 64);
    assert_int_equal(buf[0], 128);
    /* The kernel checksums ICMPv6 (the sum covers a pseudo-header). */
    assert_int_equal(buf[2], 0);
    assert_int_equal(buf[3], 0);
    assert_int_equal(buf[6] << 8 | buf[7], 100);
}

static void test_session_init(void **state)
{
    struct probe_icmp_session s;

    (void)state;
    session(&s, false, false, 0);
    assert_int_equal(s.count, 1);
    session(&s, false, false, 1000);
    assert_int_equal(s.count, PROBE_ICMP_MAX_COUNT);
    assert_int_equal(s.sent, 0);
    assert_false(probe_icmp_done(&s));
    /* A seq out of range is not recorded. */
    probe_icmp_sent(&s, 0, 5);
    probe_icmp_sent(&s, 101, 5);
    assert_int_equal(s.sent, 0);
}

/* --- replies --- */

static void test_reply_ping_socket_v4(void **state)
{
    struct probe_icmp_session s;
    uint8_t buf[PROBE_ICMP_REQUEST_LEN];
    unsigned seq = 77;
    size_t n;

    (void)state;
    session(&s, false, false, 3);
    send_all(&s, 2);
    /* The kernel chose identifier 0x9999: a ping socket does not check it. */
    n = reply(&s, 2, 0x9999, buf);
    assert_int_equal(probe_icmp_receive(&s, buf, n, NULL, 1000 * MS + 2 * MS + 250000, &seq),
                     PROBE_ICMP_REPLY);
    assert_int_equal(seq, 2);
    assert_int_equal(s.received, 1);
    assert_int_equal(s.rtt_min_ns, 250000);
    assert_int_equal(s.rtt_max_ns, 250000);
    assert_int_equal(s.rtt_sum_ns, 250000);
    assert_false(probe_icmp_done(&s));

    /* A reply for a request not sent yet (3) is not ours. */
    n = reply(&s, 3, 0x9999, buf);
    seq = 77;
    assert_int_equal(probe_icmp_receive(&s, buf, n, NULL, 2000 * MS, &seq), PROBE_ICMP_NOT_OURS);
    assert_int_equal(seq, 77);

    probe_icmp_sent(&s, 3, 1003 * MS);
    assert_int_equal(probe_icmp_receive(&s, buf, n, NULL, 1003 * MS + 5 * MS, NULL),
                     PROBE_ICMP_REPLY);
    n = reply(&s, 1, 0x9999, buf);
    assert_int_equal(probe_icmp_receive(&s, buf, n, NULL, 1001 * MS + 100000, NULL),
                     PROBE_ICMP_REPLY);
    assert_int_equal(s.received, 3);
    assert_int_equal(s.rtt_min_ns, 100000);
    assert_int_equal(s.rtt_max_ns, 5 * MS);
    assert_int_equal(s.rtt_sum_ns, 100000 + 250000 + 5 * MS);
    assert_true(probe_icmp_done(&s));
}

static void test_reply_raw_v4(void **state)
{
    struct probe_icmp_session s;
    uint8_t buf[60 + PROBE_ICMP_REQUEST_LEN], *p;
    size_t n, len;

    (void)state;
    session(&s, false, true, 3);
    send_all(&s, 3);

    /* A raw socket reads the IP header too. */
    n = reply(&s, 1, 0x1234, buf + 60);
    p = ip4_wrap(buf, n, 0, 1, &len);
    assert_int_equal(probe_icmp_receive(&s, p, len, NULL, 1002 * MS, NULL), PROBE_ICMP_REPLY);
    assert_int_equal(s.rtt_min_ns, MS);

    /* With IP options the ICMP part starts later. */
    n = reply(&s, 2, 0x1234, buf + 60);
    p = ip4_wrap(buf, n, 2, 1, &len);
    assert_int_equal(probe_icmp_receive(&s, p, len, NULL, 1004 * MS, NULL), PROBE_ICMP_REPLY);

    /* Someone else's ping (another identifier, same cookie by chance). */
    n = reply(&s, 3, 0x4321, buf + 60);
    p = ip4_wrap(buf, n, 0, 1, &len);
    assert_int_equal(probe_icmp_receive(&s, p, len, NULL, 1005 * MS, NULL), PROBE_ICMP_NOT_OURS);

    /* A corrupted reply fails the checksum. */
    n = reply(&s, 3, 0x1234, buf + 60);
    buf[60 + 30] ^= 0x01;
    p = ip4_wrap(buf, n, 0, 1, &len);
    assert_int_equal(probe_icmp_receive(&s, p, len, NULL, 1005 * MS, NULL), PROBE_ICMP_NOT_OURS);

    /* Not IPv4, not ICMP, a header length below 20 or past the end. */
    n = reply(&s, 3, 0x1234, buf + 60);
    p = ip4_wrap(buf, n, 0, 17, &len);
    assert_int_equal(probe_icmp_receive(&s, p, len, NULL, 1005 * MS, NULL), PROBE_ICMP_NOT_OURS);
    p = ip4_wrap(buf, n, 0, 1, &len);
    p[0] = 0x65;
    assert_int_equal(probe_icmp_receive(&s, p, len, NULL, 1005 * MS, NULL), PROBE_ICMP_NOT_OURS);
    p[0] = 0x44;
    assert_int_equal(probe_icmp_receive(&s, p, len, NULL, 1005 * MS, NULL), PROBE_ICMP_NOT_OURS);
    p[0] = 0x4f;
    assert_int_equal(probe_icmp_receive(&s, p, 27, NULL, 1005 * MS, NULL), PROBE_ICMP_NOT_OURS);
    assert_int_equal(probe_icmp_receive(&s, p, 19, NULL, 1005 * MS, NULL), PROBE_ICMP_NOT_OURS);

    /* The intact one counts. */
    p[0] = 0x45;
    assert_int_equal(probe_icmp_receive(&s, p, len, NULL, 1005 * MS, NULL), PROBE_ICMP_REPLY);
    assert_int_equal(s.received, 3);
    assert_true(probe_icmp_done(&s));
}

static void test_reply_v6(void **state)
{
    struct probe_icmp_session s;
    uint8_t buf[PROBE_ICMP_REQUEST_LEN];
    size_t n;

    (void)state;
    /* Ping socket: identifier not checked. */
    session(&s, true, false, 2);
    send_all(&s, 2);
    n = reply(&s, 1, 0x0001, buf);
    assert_int_equal(probe_icmp_receive(&s, buf, n, NULL, 1001 * MS + 40000, NULL),
                     PROBE_ICMP_REPLY);
    /* An IPv4 reply type means nothing on an ICMPv6 socket. */
    buf[0] = 0;
    assert_int_equal(probe_icmp_receive(&s, buf, n, NULL, 1002 * MS, NULL), PROBE_ICMP_NOT_OURS);

    /* Raw: no IP header, no checksum to check (the kernel did), identifier
     * checked. */
    session(&s, true, true, 2);
    send_all(&s, 2);
    n = reply(&s, 2, 0x1235, buf);
    assert_int_equal(probe_icmp_receive(&s, buf, n, NULL, 1003 * MS, NULL), PROBE_ICMP_NOT_OURS);
    n = reply(&s, 2, 0x1234, buf);
    assert_int_equal(probe_icmp_receive(&s, buf, n, NULL, 1003 * MS, NULL), PROBE_ICMP_REPLY);
    assert_int_equal(s.rtt_max_ns, MS);
}

static void test_not_ours(void **state)
{
    struct probe_icmp_session s;
    uint8_t buf[60 + PROBE_ICMP_REQUEST_LEN], *p;
    unsigned seq = 99;
    size_t n, len;

    (void)state;
    session(&s, false, false, 3);
    send_all(&s, 3);

    /* Our own request, as a raw socket on loopback sees it. */
    n = probe_icmp_request(&s, 1, buf, sizeof(buf));
    assert_int_equal(probe_icmp_receive(&s, buf, n, NULL, 1002 * MS, &seq), PROBE_ICMP_NOT_OURS);
    /* Another check's cookie. */
    n = reply(&s, 1, 0, buf);
    buf[8] ^= 0xff;
    assert_int_equal(probe_icmp_receive(&s, buf, n, NULL, 1002 * MS, &seq), PROBE_ICMP_NOT_OURS);
    /* A reply too short to carry the cookie. */
    n = reply(&s, 1, 0, buf);
    assert_int_equal(probe_icmp_receive(&s, buf, 15, NULL, 1002 * MS, &seq), PROBE_ICMP_NOT_OURS);
    assert_int_equal(probe_icmp_receive(&s, buf, 7, NULL, 1002 * MS, &seq), PROBE_ICMP_NOT_OURS);
    assert_int_equal(probe_icmp_receive(&s, buf, 0, NULL, 1002 * MS, &seq), PROBE_ICMP_NOT_OURS);
    /* Sequence 0, or one we never use. */
    n = reply(&s, 1, 0, buf);
    buf[7] = 0;
    assert_int_equal(probe_icmp_receive(&s, buf, n, NULL, 1002 * MS, &seq), PROBE_ICMP_NOT_OURS);
    buf[6] = 1;
    assert_int_equal(probe_icmp_receive(&s, buf, n, NULL, 1002 * MS, &seq), PROBE_ICMP_NOT_OURS);
    /* A reply with a code other than 0. */
    n = reply(&s, 1, 0, buf);
    buf[1] = 1;
    assert_int_equal(probe_icmp_receive(&s, buf, n, NULL, 1002 * MS, &seq), PROBE_ICMP_NOT_OURS);
    /* Other types: a redirect, a timestamp reply. */
    n = reply(&s, 1, 0, buf);
    buf[0] = 5;
    assert_int_equal(probe_icmp_receive(&s, buf, n, NULL, 1002 * MS, &seq), PROBE_ICMP_NOT_OURS);
    buf[0] = 14;
    assert_int_equal(probe_icmp_receive(&s, buf, n, NULL, 1002 * MS, &seq), PROBE_ICMP_NOT_OURS);
    assert_int_equal(seq, 99);
    assert_int_equal(s.received, 0);

    /* The raw IPv4 session: our own request with its IP header. */
    session(&s, false, true, 3);
    send_all(&s, 3);
    n = probe_icmp_request(&s, 1, buf + 60, PROBE_ICMP_REQUEST_LEN);
    p = ip4_wrap(buf, n, 0, 1, &len);
    assert_int_equal(probe_icmp_receive(&s, p, len, NULL, 1002 * MS, &seq), PROBE_ICMP_NOT_OURS);
    assert_int_equal(seq, 99);
    assert_int_equal(s.received + s.errors + s.duplicates, 0);
}

static void test_duplicates(void **state)
{
    struct probe_icmp_session s;
    uint8_t buf[PROBE_ICMP_REQUEST_LEN];
    unsigned seq = 0;
    size_t n;

    (void)state;
    session(&s, false, false, 2);
    send_all(&s, 2);
    n = reply(&s, 1, 7, buf);
    assert_int_equal(probe_icmp_receive(&s, buf, n, NULL, 1002 * MS, NULL), PROBE_ICMP_REPLY);
    assert_int_equal(probe_icmp_receive(&s, buf, n, NULL, 1900 * MS, &seq), PROBE_ICMP_DUPLICATE);
    assert_int_equal(seq, 1);
    assert_int_equal(probe_icmp_receive(&s, buf, n, NULL, 1950 * MS, NULL), PROBE_ICMP_DUPLICATE);
    /* Duplicates change neither the count nor the RTTs. */
    assert_int_equal(s.received, 1);
    assert_int_equal(s.duplicates, 2);
    assert_int_equal(s.rtt_max_ns, MS);
    assert_false(probe_icmp_done(&s));
}

/* --- ICMP errors about our requests --- */

static void test_errors_v4(void **state)
{
    struct probe_icmp_session s;
    struct sockaddr_in router = from4("10.0.0.254");
    uint8_t err[600], pkt[700], *p;
    unsigned seq = 0;
    size_t n, len;

    (void)state;
    session(&s, false, true, 3);
    send_all(&s, 3);
    /* Host unreachable quoting the whole request (Linux does). */
    n = icmp_error(&s, 3, 1, 2, PROBE_ICMP_REQUEST_LEN, err);
    memcpy(pkt + 60, err, n);
    p = ip4_wrap(pkt, n, 0, 1, &len);
    assert_int_equal(probe_icmp_receive(&s, p, len, (struct sockaddr *)&router, 1010 * MS, &seq),
                     PROBE_ICMP_ERROR);
    assert_int_equal(seq, 2);
    assert_int_equal(s.errors, 1);
    assert_string_equal(s.error, "host unreachable, reported by 10.0.0.254");

    /* An old router quotes 8 bytes only: the identifier alone says it is
     * ours. The first error's text stays. */
    n = icmp_error(&s, 11, 0, 1, 8, err);
    memcpy(pkt + 60, err, n);
    p = ip4_wrap(pkt, n, 0, 1, &len);
    assert_int_equal(probe_icmp_receive(&s, p, len, NULL, 1010 * MS, &seq), PROBE_ICMP_ERROR);
    assert_int_equal(seq, 1);
    assert_int_equal(s.errors, 2);
    assert_string_equal(s.error, "host unreachable, reported by 10.0.0.254");
    assert_false(probe_icmp_done(&s));

    /* The same error again counts once. */
    assert_int_equal(probe_icmp_receive(&s, p, len, NULL, 1010 * MS, NULL), PROBE_ICMP_ERROR);
    assert_int_equal(s.errors, 2);

    /* A reply after all (the error was about a copy): the reply wins. */
    n = reply(&s, 1, 0x1234, pkt + 60);
    p = ip4_wrap(pkt, n, 0, 1, &len);
    assert_int_equal(probe_icmp_receive(&s, p, len, NULL, 1011 * MS, NULL), PROBE_ICMP_REPLY);
    assert_int_equal(s.errors, 1);
    assert_int_equal(s.received, 1);

    /* Errors about someone else's echo, or about a non-echo packet. */
    s.id = 0x7777;
    n = icmp_error(&s, 3, 1, 3, PROBE_ICMP_REQUEST_LEN, err);
    s.id = 0x1234;
    memcpy(pkt + 60, err, n);
    p = ip4_wrap(pkt, n, 0, 1, &len);
    assert_int_equal(probe_icmp_receive(&s, p, len, NULL, 1012 * MS, NULL), PROBE_ICMP_NOT_OURS);
    n = icmp_error(&s, 3, 3, 3, PROBE_ICMP_REQUEST_LEN, err);
    err[8 + 9] = 17; /* a UDP datagram's port unreachable */
    memset(err + 2, 0, 2);
    uint16_t sum = probe_icmp_checksum(err, n);
    memcpy(err + 2, &sum, 2);
    memcpy(pkt + 60, err, n);
    p = ip4_wrap(pkt, n, 0, 1, &len);
    assert_int_equal(probe_icmp_receive(&s, p, len, NULL, 1012 * MS, NULL), PROBE_ICMP_NOT_OURS);
    /* A quote cut inside the IP header. */
    n = icmp_error(&s, 3, 1, 3, PROBE_ICMP_REQUEST_LEN, err);
    memcpy(pkt + 60, err, 8 + 12);
    p = ip4_wrap(pkt, 8 + 12, 0, 1, &len);
    memset(p + 20 + 2, 0, 2);
    sum = probe_icmp_checksum(p + 20, 8 + 12);
    memcpy(p + 22, &sum, 2);
    assert_int_equal(probe_icmp_receive(&s, p, len, NULL, 1012 * MS, NULL), PROBE_ICMP_NOT_OURS);

    /* The last one unreachable too: everything accounted for, done. */
    n = icmp_error(&s, 3, 13, 3, PROBE_ICMP_REQUEST_LEN, err);
    memcpy(pkt + 60, err, n);
    p = ip4_wrap(pkt, n, 0, 1, &len);
    assert_int_equal(probe_icmp_receive(&s, p, len, NULL, 1012 * MS, NULL), PROBE_ICMP_ERROR);
    assert_int_equal(s.received + s.errors, 3);
    assert_true(probe_icmp_done(&s));

    /* On a ping socket the identifier is the kernel's: an error quoting 8
     * bytes cannot be told apart from someone else's. */
    session(&s, false, false, 1);
    send_all(&s, 1);
    n = icmp_error(&s, 3, 1, 1, 8, err);
    assert_int_equal(probe_icmp_receive(&s, err, n, NULL, 1012 * MS, NULL), PROBE_ICMP_NOT_OURS);
    n = icmp_error(&s, 3, 0, 1, PROBE_ICMP_REQUEST_LEN, err);
    assert_int_equal(probe_icmp_receive(&s, err, n, NULL, 1012 * MS, NULL), PROBE_ICMP_ERROR);
    assert_string_equal(s.error, "network unreachable");
    assert_true(probe_icmp_done(&s));
}

static void test_errors_v6(void **state)
{
    struct probe_icmp_session s;
    struct sockaddr_in6 router = { .sin6_family = AF_INET6 };
    uint8_t err[200];
    size_t n;

    (void)state;
    assert_int_equal(inet_pton(AF_INET6, "2001:db8::fe", &router.sin6_addr), 1);
    session(&s, true, true, 2);
    send_all(&s, 2);
    n = icmp_error(&s, 1, 3, 1, PROBE_ICMP_REQUEST_LEN, err);
    assert_int_equal(probe_icmp_receive(&s, err, n, (struct sockaddr *)&router, 1005 * MS, NULL),
                     PROBE_ICMP_ERROR);
    assert_string_equal(s.error, "address unreachable, reported by 2001:db8::fe");
    n = icmp_error(&s, 3, 0, 2, 8, err);
    assert_int_equal(probe_icmp_receive(&s, err, n, NULL, 1005 * MS, NULL), PROBE_ICMP_ERROR);
    assert_true(probe_icmp_done(&s));

    /* The quoted packet's next header must be ICMPv6. */
    session(&s, true, true, 1);
    send_all(&s, 1);
    n = icmp_error(&s, 3, 0, 1, 8, err);
    err[8 + 6] = 17;
    assert_int_equal(probe_icmp_receive(&s, err, n, NULL, 1005 * MS, NULL), PROBE_ICMP_NOT_OURS);
    n = icmp_error(&s, 3, 0, 1, 8, err);
    assert_int_equal(probe_icmp_receive(&s, err, 8 + 39, NULL, 1005 * MS, NULL),
                     PROBE_ICMP_NOT_OURS);
    assert_int_equal(probe_icmp_receive(&s, err, n, NULL, 1005 * MS, NULL), PROBE_ICMP_ERROR);
    assert_string_equal(s.error, "hop limit exceeded");
}

static void test_send_failed(void **state)
{
    struct probe_icmp_session s;

    (void)state;
    session(&s, false, false, 3);
    probe_icmp_sent(&s, 1, 1000 * MS);
    assert_false(probe_icmp_done(&s));
    probe_icmp_send_failed(&s, ENETUNREACH);
    probe_icmp_send_failed(&s, EPERM); /* the first one stays */
    assert_int_equal(s.send_err, ENETUNREACH);
    assert_true(probe_icmp_done(&s));
    session(&s, false, false, 3);
    probe_icmp_send_failed(&s, 0);
    assert_int_equal(s.send_err, EIO);
}

static void test_spacing(void **state)
{
    (void)state;
    assert_int_equal(probe_icmp_spacing_ms(3, 10000), 200);
    assert_int_equal(probe_icmp_spacing_ms(1, 10), 200);
    /* 100 requests must leave within the first half of 10 s. */
    assert_int_equal(probe_icmp_spacing_ms(100, 10000), 50);
    assert_int_equal(probe_icmp_spacing_ms(3, 1000), 200);
    assert_int_equal(probe_icmp_spacing_ms(5, 1000), 125);
    assert_int_equal(probe_icmp_spacing_ms(100, 1000), 10); /* the floor */
}

/* --- the judgement --- */

static void test_evaluate_all_replies(void **state)
{
    static const double rtt[] = { 0.04, 0.07, 0.05 };
    struct conf_monitor cf = conf(3, 0, 0);
    struct probe_icmp_session s;
    struct probe_metric metrics[PROBE_ICMP_METRICS];
    struct probe_result r;

    (void)state;
    session(&s, false, false, 3);
    send_all(&s, 3);
    answer(&s, 7, rtt);
    probe_result_init(&r, 1);
    probe_icmp_evaluate(&cf, &s, "127.0.0.1", "127.0.0.1", &r, metrics);
    assert_int_equal(r.status, PROBE_OK);
    assert_string_equal(r.message, "3/3 replies from 127.0.0.1, rtt min/avg/max 0.04/0.05/0.07 ms");
    assert_int_equal(r.total_us, 53); /* 0.0533 ms */
    assert_ptr_equal(r.metrics, metrics);
    assert_int_equal(r.n_metrics, 3);
    assert_true(metric(&r, "loss_pct")->value == 0);
    assert_string_equal(metric(&r, "loss_pct")->unit, "%");
    assert_true(fabs(metric(&r, "rtt_avg_seconds")->value - 0.16e-3 / 3) < 1e-12);
    assert_true(fabs(metric(&r, "rtt_max_seconds")->value - 0.07e-3) < 1e-12);
    assert_string_equal(metric(&r, "rtt_max_seconds")->unit, "s");
}

static void test_evaluate_loss(void **state)
{
    static const double rtt[] = { 1, 2, 3 };
    struct conf_monitor cf = conf(3, 34, 0);
    struct probe_icmp_session s;
    struct probe_metric metrics[PROBE_ICMP_METRICS];
    struct probe_result r;

    (void)state;
    /* 1 of 3: 67% > 34%. */
    session(&s, false, false, 3);
    send_all(&s, 3);
    answer(&s, 1, rtt);
    probe_result_init(&r, 1);
    probe_icmp_evaluate(&cf, &s, "10.0.0.1", "10.0.0.1", &r, metrics);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_string_equal(r.message, "1/3 replies from 10.0.0.1 (67% loss > max 34%), rtt "
                                   "min/avg/max 1.00/1.00/1.00 ms");
    assert_true(fabs(metric(&r, "loss_pct")->value - 200.0 / 3) < 1e-9);
    assert_int_equal(r.total_us, 1000);

    /* 2 of 3: 33% is within 34%. */
    session(&s, false, false, 3);
    send_all(&s, 3);
    answer(&s, 5, rtt);
    probe_icmp_evaluate(&cf, &s, "10.0.0.1", "10.0.0.1", &r, metrics);
    assert_int_equal(r.status, PROBE_OK);
    assert_string_equal(r.message,
                        "2/3 replies from 10.0.0.1 (33% loss), rtt min/avg/max 1.00/2.00/3.00 ms");

    /* The default max_loss 0: any loss is critical, and needs no "> max". */
    cf.max_loss_pct = 0;
    probe_icmp_evaluate(&cf, &s, "10.0.0.1", "10.0.0.1", &r, metrics);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_string_equal(r.message,
                        "2/3 replies from 10.0.0.1 (33% loss), rtt min/avg/max 1.00/2.00/3.00 ms");

    /* 33.3% against max 33%: a decimal shows why it is over. */
    cf.max_loss_pct = 33;
    probe_icmp_evaluate(&cf, &s, "10.0.0.1", "10.0.0.1", &r, metrics);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_string_equal(r.message, "2/3 replies from 10.0.0.1 (33.3% loss > max 33%), rtt "
                                   "min/avg/max 1.00/2.00/3.00 ms");

    /* Exactly at the limit is not above it. */
    cf = conf(4, 50, 0);
    session(&s, false, false, 4);
    send_all(&s, 4);
    answer(&s, 5, (const double[]){ 1, 1, 1, 1 });
    probe_icmp_evaluate(&cf, &s, "10.0.0.1", "10.0.0.1", &r, metrics);
    assert_int_equal(r.status, PROBE_OK);
    assert_string_equal(r.message,
                        "2/4 replies from 10.0.0.1 (50% loss), rtt min/avg/max 1.00/1.00/1.00 ms");
}

static void test_evaluate_no_replies(void **state)
{
    struct conf_monitor cf = conf(3, 34, 200);
    struct probe_icmp_session s;
    struct probe_metric metrics[PROBE_ICMP_METRICS];
    struct probe_result r;

    (void)state;
    session(&s, false, false, 3);
    send_all(&s, 3);
    probe_result_init(&r, 1);
    r.total_us = 1000000; /* the caller's: the check's duration */
    probe_icmp_evaluate(&cf, &s, "10.0.0.1", "10.0.0.1", &r, metrics);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_string_equal(r.message, "no replies from 10.0.0.1 (100% loss)");
    assert_int_equal(r.total_us, 1000000);
    assert_int_equal(r.n_metrics, 1);
    assert_true(metric(&r, "loss_pct")->value == 100);
    assert_null(metric(&r, "rtt_avg_seconds"));

    /* A name is shown with the address it resolved to. */
    probe_icmp_evaluate(&cf, &s, "gateway.example.net", "10.0.0.1", &r, metrics);
    assert_string_equal(r.message, "no replies from gateway.example.net (10.0.0.1) (100% loss)");

    /* A session that never started (zeroed) is all loss, not a division by 0. */
    memset(&s, 0, sizeof(s));
    probe_icmp_evaluate(&cf, &s, "10.0.0.1", "10.0.0.1", &r, metrics);
    assert_string_equal(r.message, "no replies from 10.0.0.1 (100% loss)");
    session(&s, false, false, 3);
    send_all(&s, 3);

    /* max_loss 100%: losing everything is allowed. */
    cf.max_loss_pct = 100;
    probe_icmp_evaluate(&cf, &s, "10.0.0.1", "10.0.0.1", &r, metrics);
    assert_int_equal(r.status, PROBE_OK);
}

static void test_evaluate_rtt(void **state)
{
    static const double slow[] = { 210, 250, 290 }, fine[] = { 150, 200, 250 };
    struct conf_monitor cf = conf(3, 0, 200);
    struct probe_icmp_session s;
    struct probe_metric metrics[PROBE_ICMP_METRICS];
    struct probe_result r;

    (void)state;
    session(&s, true, false, 3);
    send_all(&s, 3);
    answer(&s, 7, slow);
    probe_result_init(&r, 1);
    probe_icmp_evaluate(&cf, &s, "::1", "::1", &r, metrics);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_string_equal(r.message, "3/3 replies from ::1, rtt min/avg/max 210.00/250.00/290.00 ms "
                                   "(avg > max 200 ms)");
    assert_int_equal(r.total_us, 250000);
    assert_true(fabs(metric(&r, "rtt_avg_seconds")->value - 0.25) < 1e-9);
    assert_true(fabs(metric(&r, "rtt_max_seconds")->value - 0.29) < 1e-9);

    /* An average of exactly max_rtt passes, whatever the slowest was. */
    session(&s, true, false, 3);
    send_all(&s, 3);
    answer(&s, 7, fine);
    probe_icmp_evaluate(&cf, &s, "::1", "::1", &r, metrics);
    assert_int_equal(r.status, PROBE_OK);
    assert_string_equal(r.message, "3/3 replies from ::1, rtt min/avg/max 150.00/200.00/250.00 ms");

    /* max_rtt 0: not checked. */
    cf.max_rtt_ms = 0;
    session(&s, true, false, 3);
    send_all(&s, 3);
    answer(&s, 7, slow);
    probe_icmp_evaluate(&cf, &s, "::1", "::1", &r, metrics);
    assert_int_equal(r.status, PROBE_OK);

    /* Loss and a slow average together. */
    cf = conf(3, 34, 200);
    session(&s, true, false, 3);
    send_all(&s, 3);
    answer(&s, 2, slow);
    probe_icmp_evaluate(&cf, &s, "::1", "::1", &r, metrics);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_string_equal(r.message, "1/3 replies from ::1 (67% loss > max 34%), rtt min/avg/max "
                                   "250.00/250.00/250.00 ms (avg > max 200 ms)");
}

static void test_evaluate_notes(void **state)
{
    static const double rtt[] = { 1, 1, 1 };
    struct conf_monitor cf = conf(3, 0, 0);
    struct probe_icmp_session s;
    struct probe_metric metrics[PROBE_ICMP_METRICS];
    struct sockaddr_in router = from4("192.0.2.254");
    uint8_t err[200];
    struct probe_result r;
    size_t n;

    (void)state;
    /* A send that failed at once: no route. */
    session(&s, false, false, 3);
    probe_icmp_sent(&s, 1, 1000 * MS);
    probe_icmp_send_failed(&s, ENETUNREACH);
    probe_result_init(&r, 1);
    probe_icmp_evaluate(&cf, &s, "192.0.2.1", "192.0.2.1", &r, metrics);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_string_equal(
        r.message, "no replies from 192.0.2.1 (100% loss; cannot send: Network is unreachable)");

    /* ICMP errors, and duplicates. */
    session(&s, false, false, 3);
    send_all(&s, 3);
    answer(&s, 3, rtt);
    n = icmp_error(&s, 3, 1, 3, PROBE_ICMP_REQUEST_LEN, err);
    assert_int_equal(probe_icmp_receive(&s, err, n, (struct sockaddr *)&router, 1100 * MS, NULL),
                     PROBE_ICMP_ERROR);
    n = reply(&s, 1, 0, err);
    assert_int_equal(probe_icmp_receive(&s, err, n, NULL, 1100 * MS, NULL), PROBE_ICMP_DUPLICATE);
    assert_true(probe_icmp_done(&s));
    probe_icmp_evaluate(&cf, &s, "192.0.2.1", "192.0.2.1", &r, metrics);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_string_equal(r.message,
                        "2/3 replies from 192.0.2.1 (33% loss; host unreachable, reported by "
                        "192.0.2.254), rtt min/avg/max 1.00/1.00/1.00 ms, 1 duplicate");
    assert_int_equal(probe_icmp_receive(&s, err, n, NULL, 1100 * MS, NULL), PROBE_ICMP_DUPLICATE);
    probe_icmp_evaluate(&cf, &s, "192.0.2.1", "192.0.2.1", &r, metrics);
    assert_non_null(strstr(r.message, ", 2 duplicates"));
}

static void test_evaluate_long_message(void **state)
{
    static const double rtt[] = { 1, 1, 1 };
    struct conf_monitor cf = conf(3, 34, 1);
    struct probe_icmp_session s;
    struct probe_metric metrics[PROBE_ICMP_METRICS];
    struct probe_result r;
    char host[254];

    (void)state;
    memset(host, 'a', sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    session(&s, true, false, 3);
    send_all(&s, 3);
    answer(&s, 1, rtt);
    snprintf(s.error, sizeof(s.error), "%s",
             "address unreachable, reported by "
             "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    probe_icmp_send_failed(&s, EHOSTUNREACH);
    s.duplicates = 4000000000u;
    probe_result_init(&r, 1);
    probe_icmp_evaluate(&cf, &s, host, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", &r, metrics);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_true(strlen(r.message) < sizeof(r.message));
    assert_true(strncmp(r.message, "1/3 replies from aaaa", 21) == 0);
}

static void test_socket_error(void **state)
{
    struct probe_result r;

    (void)state;
    probe_result_init(&r, 1);
    probe_icmp_socket_error(EPERM, false, &r);
    assert_int_equal(r.status, PROBE_UNKNOWN);
    assert_string_equal(r.message, "cannot open an ICMP socket: Operation not permitted (allow "
                                   "ping sockets with sysctl net.ipv4.ping_group_range or run "
                                   "as root)");
    assert_int_equal(r.n_metrics, 0);
    probe_icmp_socket_error(EACCES, true, &r);
    assert_string_equal(r.message, "cannot open an ICMPv6 socket: Permission denied (allow ping "
                                   "sockets with sysctl net.ipv4.ping_group_range or run as "
                                   "root)");
    probe_icmp_socket_error(EAFNOSUPPORT, true, &r);
    assert_string_equal(r.message, "cannot open an ICMPv6 socket: Address family not supported "
                                   "by protocol (IPv6 is disabled on this host)");
    probe_icmp_socket_error(EMFILE, false, &r);
    assert_string_equal(r.message, "cannot open an ICMP socket: Too many open files");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checksum),
        cmocka_unit_test(test_request_v4),
        cmocka_unit_test(test_request_v6),
        cmocka_unit_test(test_session_init),
        cmocka_unit_test(test_reply_ping_socket_v4),
        cmocka_unit_test(test_reply_raw_v4),
        cmocka_unit_test(test_reply_v6),
        cmocka_unit_test(test_not_ours),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_errors_v4),
        cmocka_unit_test(test_errors_v6),
        cmocka_unit_test(test_send_failed),
        cmocka_unit_test(test_spacing),
        cmocka_unit_test(test_evaluate_all_replies),
        cmocka_unit_test(test_evaluate_loss),
        cmocka_unit_test(test_evaluate_no_replies),
        cmocka_unit_test(test_evaluate_rtt),
        cmocka_unit_test(test_evaluate_notes),
        cmocka_unit_test(test_evaluate_long_message),
        cmocka_unit_test(test_socket_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
