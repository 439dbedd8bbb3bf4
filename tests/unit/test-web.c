/* Unit tests for the web module's pure parts: listen addresses, routes, the
 * history (results, events) query, ping paths, alert reviews and statistics, JSON shapes,
 * /metrics and the status page. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/cleanup.h"
#include "alert/stats.h"
#include "web/web-internal.h"

/* 2026-11-20T12:00:00Z */
#define T0 1795176000000ull

static size_t count_substr(const char *hay, const char *needle)
{
    size_t n = 0, l = strlen(needle);

    for (const char *p = strstr(hay, needle); p; p = strstr(p + l, needle))
        n++;
    return n;
}

/* ---- listen addresses ---- */

static void test_listen_valid(void **state)
{
    static const struct {
        const char *listen;
        int family;
        const char *addr;
        unsigned port;
    } cases[] = {
        { "127.0.0.1:8080", AF_INET, "127.0.0.1", 8080 },
        { "0.0.0.0:80", AF_INET, "0.0.0.0", 80 },
        { "[::1]:8080", AF_INET6, "::1", 8080 },
        { "[::]:8080", AF_INET6, "::", 8080 },
        { "[fe80::1:2]:65535", AF_INET6, "fe80::1:2", 65535 },
        { "localhost:9000", AF_INET, "127.0.0.1", 9000 },
        { "*:81", AF_INET, "0.0.0.0", 81 },
        { ":82", AF_INET, "0.0.0.0", 82 },
        { "10.1.2.3:0", AF_INET, "10.1.2.3", 0 },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct sockaddr_storage ss;
        socklen_t len = 0;
        char buf[INET6_ADDRSTRLEN];
        struct opsd_error err = { 0 };

        assert_int_equal(web_listen_parse(cases[i].listen, &ss, &len, &err), 0);
        assert_int_equal(ss.ss_family, cases[i].family);
        if (cases[i].family == AF_INET) {
            const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
            assert_int_equal(len, sizeof(*a));
            assert_string_equal(inet_ntop(AF_INET, &a->sin_addr, buf, sizeof(buf)), cases[i].addr);
            assert_int_equal(ntohs(a->sin_port), cases[i].port);
        } else {
            const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
            assert_int_equal(len, sizeof(*a));
            assert_string_equal(inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof(buf)),
                                cases[i].addr);
            assert_int_equal(ntohs(a->sin6_port), cases[i].port);
        }
    }
}

static void test_listen_invalid(void **state)
{
    static const struct {
        const char *listen;
        const char *msg; /* a part of the message */
    } cases[] = {
        { "", "invalid listen address ''" },
        { "8080", "expected host:port" },
        { "127.0.0.1", "expected host:port" },
        { "127.0.0.1:", "invalid port ''" },
        { "127.0.0.1:65536", "invalid port '65536'" },
        { "127.0.0.1:80x", "invalid port '80x'" },
        { "127.0.0.1:-1", "invalid port '-1'" },
        { "127.0.0.1:123456", "invalid port '123456'" },
        { "[::1]8080", "expected [IPv6]:port" },
        { "[::1", "expected [IPv6]:port" },
        { "[]:80", "invalid IPv6 address" },
        { "[zz::1]:80", "invalid IPv6 address 'zz::1'" },
        { "[127.0.0.1]:80", "invalid IPv6 address '127.0.0.1'" },
        { "::1:8080", "in brackets" },
        { "example.com:80", "invalid IPv4 address 'example.com'" },
        { "1.2.3:80", "invalid IPv4 address '1.2.3'" },
        { "256.1.1.1:80", "invalid IPv4 address '256.1.1.1'" },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct sockaddr_storage ss;
        socklen_t len = 12345;
        struct opsd_error err = { 0 };

        memset(&ss, 0xab, sizeof(ss));
        assert_int_equal(web_listen_parse(cases[i].listen, &ss, &len, &err), -EINVAL);
        assert_int_equal(err.code, -EINVAL);
        if (!strstr(err.msg, cases[i].msg))
            fail_msg("'%s': message '%s' lacks '%s'", cases[i].listen, err.msg, cases[i].msg);
        /* untouched on failure */
        assert_int_equal(len, 12345);
        assert_int_equal(((unsigned char *)&ss)[0], 0xab);
    }
}

/* ---- routes ---- */

static void test_route_match(void **state)
{
    struct web_match m;

    (void)state;
    assert_int_equal(web_route_match("GET", "/", &m), 0);
    assert_int_equal(m.route, WEB_ROUTE_PAGE);
    assert_true(m.method_ok);

    assert_int_equal(web_route_match("HEAD", "/healthz", &m), 0);
    assert_int_equal(m.route, WEB_ROUTE_HEALTHZ);
    assert_true(m.method_ok);

    assert_int_equal(web_route_match("GET", "/metrics", &m), 0);
    assert_int_equal(m.route, WEB_ROUTE_METRICS);

    assert_int_equal(web_route_match("GET", "/api/v1/monitors", &m), 0);
    assert_int_equal(m.route, WEB_ROUTE_MONITORS);

    assert_int_equal(web_route_match("GET", "/api/v1/monitors/web-1.prod", &m), 0);
    assert_int_equal(m.route, WEB_ROUTE_MONITOR);
    assert_string_equal(m.name, "web-1.prod");

    assert_int_equal(web_route_match("GET", "/api/v1/monitors/db/results", &m), 0);
    assert_int_equal(m.route, WEB_ROUTE_RESULTS);
    assert_string_equal(m.name, "db");

    assert_int_equal(web_route_match("HEAD", "/api/v1/monitors/web-1.prod/events", &m), 0);
    assert_int_equal(m.route, WEB_ROUTE_EVENTS);
    assert_string_equal(m.name, "web-1.prod");
    assert_true(m.method_ok);
    assert_int_equal(web_route_match("POST", "/api/v1/monitors/db/events", &m), 0);
    assert_int_equal(m.route, WEB_ROUTE_EVENTS);
    assert_false(m.method_ok);
    assert_string_equal(m.allow, "GET, HEAD");

    assert_int_equal(web_route_match("POST", "/ping/abc", &m), 0);
    assert_int_equal(m.route, WEB_ROUTE_PING);
    assert_true(m.method_ok);

    /* a known path with the wrong method: 405 and what is allowed */
    assert_int_equal(web_route_match("POST", "/api/v1/monitors", &m), 0);
    assert_false(m.method_ok);
    assert_string_equal(m.allow, "GET, HEAD");
    assert_int_equal(web_route_match("DELETE", "/ping/abc/fail", &m), 0);
    assert_false(m.method_ok);
    assert_string_equal(m.allow, "GET, HEAD, POST");

    /* unknown paths: ret untouched */
    memset(&m, 0x5a, sizeof(m));
    assert_int_equal(web_route_match("GET", "/nope", &m), -ENOENT);
    assert_int_equal(web_route_match("GET", "/api/v1/monitors/db/event", &m), -ENOENT);
    assert_int_equal(web_route_match("GET", "/api/v1/monitors/db/events/", &m), -ENOENT);
    assert_int_equal(web_route_match("GET", "/api/v1/monitors//events", &m), -ENOENT);
    assert_int_equal(web_route_match("GET", "/api/v1/monitors//results", &m), -ENOENT);
    assert_int_equal(web_route_match("GET", "/api/v2/monitors", &m), -ENOENT);
    assert_int_equal(web_route_match("GET", "/healthz/", &m), -ENOENT);
    assert_int_equal(((unsigned char *)&m)[0], 0x5a);
}

/* ---- the history query (results, events) ---- */

static void test_query_defaults(void **state)
{
    struct web_history_query q;
    struct opsd_error err = { 0 };

    (void)state;
    assert_int_equal(web_history_query_parse(NULL, 0, T0, &q, &err), 0);
    assert_int_equal(q.until_ms, T0);
    assert_int_equal(q.since_ms, T0 - 24ull * 3600 * 1000);
    assert_int_equal(q.limit, 100);
}

static void test_query_valid(void **state)
{
    struct web_query_arg a[] = {
        { "since", "2026-11-19T12:00:00Z" },
        { "until", "1795176000" },
        { "limit", "10000" },
    };
    struct web_query_arg b[] = { { "until", "2026-11-20T13:00:00+01:00" }, { "limit", "1" } };
    struct web_history_query q;
    struct opsd_error err = { 0 };

    (void)state;
    assert_int_equal(web_history_query_parse(a, ARRAY_SIZE(a), 1, &q, &err), 0);
    assert_int_equal(q.since_ms, T0 - 24ull * 3600 * 1000);
    assert_int_equal(q.until_ms, T0);
    assert_int_equal(q.limit, 10000);

    /* until alone: since defaults to until - 24h */
    assert_int_equal(web_history_query_parse(b, ARRAY_SIZE(b), 1, &q, &err), 0);
    assert_int_equal(q.until_ms, T0);
    assert_int_equal(q.since_ms, T0 - 24ull * 3600 * 1000);
    assert_int_equal(q.limit, 1);
}

static void test_query_invalid(void **state)
{
    static const struct {
        struct web_query_arg args[2];
        size_t n;
        const char *msg;
    } cases[] = {
        { { { "limit", "0" } }, 1, "limit must be an integer between 1 and 10000" },
        { { { "limit", "10001" } }, 1, "limit must be an integer between 1 and 10000" },
        { { { "limit", "-5" } }, 1, "limit must be an integer between 1 and 10000" },
        { { { "limit", "1.5" } }, 1, "limit must be an integer between 1 and 10000" },
        { { { "limit", "ten" } }, 1, "limit must be an integer between 1 and 10000" },
        { { { "limit", "" } }, 1, "limit must be an integer between 1 and 10000" },
        { { { "limit", NULL } }, 1, "limit must be an integer between 1 and 10000" },
        { { { "limit", "99999999999999999999" } }, 1, "limit must be an integer" },
        { { { "since", "yesterday" } }, 1, "since must be an RFC 3339 time" },
        { { { "since", "" } }, 1, "since needs a value" },
        { { { "until", NULL } }, 1, "until needs a value" },
        { { { "until", "2026-13-01T00:00:00Z" } }, 1, "until must be an RFC 3339 time" },
        { { { "until", "2026-11-20T12:00:00" } }, 1, "until must be an RFC 3339 time" },
        { { { "sort", "asc" } }, 1, "unknown query parameter 'sort'" },
        { { { "", "x" } }, 1, "unknown query parameter ''" },
        { { { "since", "1795176001" }, { "until", "1795176000" } },
          2,
          "since must not be later than until" },
        { { { "limit", "5" }, { "limit", "6" } }, 2, "limit is given more than once" },
        { { { "since", "1" }, { "since", "2" } }, 2, "since is given more than once" },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct web_history_query q = { .since_ms = 7, .until_ms = 8, .limit = 9 };
        struct opsd_error err = { 0 };

        assert_int_equal(web_history_query_parse(cases[i].args, cases[i].n, T0, &q, &err), -EINVAL);
        if (!strstr(err.msg, cases[i].msg))
            fail_msg("case %zu: message '%s' lacks '%s'", i, err.msg, cases[i].msg);
        assert_int_equal(q.since_ms, 7);
        assert_int_equal(q.until_ms, 8);
        assert_int_equal(q.limit, 9);
    }
}

/* ---- pings ---- */

#define TOKEN "abcdefghijklmnop" /* 16 chars, the shortest allowed */

static void test_ping_parse_valid(void **state)
{
    static const struct {
        const char *path;
        const char *token;
        enum probe_ping_kind kind;
        int exit_code;
    } cases[] = {
        { "/ping/" TOKEN, TOKEN, PROBE_PING_SUCCESS, 0 },
        { "/ping/" TOKEN "/start", TOKEN, PROBE_PING_START, 0 },
        { "/ping/" TOKEN "/fail", TOKEN, PROBE_PING_FAIL, 0 },
        { "/ping/" TOKEN "/0", TOKEN, PROBE_PING_EXIT, 0 },
        { "/ping/" TOKEN "/1", TOKEN, PROBE_PING_EXIT, 1 },
        { "/ping/" TOKEN "/255", TOKEN, PROBE_PING_EXIT, 255 },
        { "/ping/" TOKEN "/007", TOKEN, PROBE_PING_EXIT, 7 },
        { "/ping/Ab_9-Ab_9-Ab_9-Ab_9-", "Ab_9-Ab_9-Ab_9-Ab_9-", PROBE_PING_SUCCESS, 0 },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct web_ping p;

        assert_int_equal(web_ping_parse(cases[i].path, &p), 0);
        assert_string_equal(p.token, cases[i].token);
        assert_int_equal(p.kind, cases[i].kind);
        if (cases[i].kind == PROBE_PING_EXIT)
            assert_int_equal(p.exit_code, cases[i].exit_code);
    }
}

static void test_ping_parse_invalid(void **state)
{
    char long_ok[6 + 128 + 1], too_long[6 + 129 + 1];
    struct web_ping p;
    static const struct {
        const char *path;
        int r;
    } cases[] = {
        { "/ping/" TOKEN "/256", -EINVAL },
        { "/ping/" TOKEN "/1000", -EINVAL },
        { "/ping/" TOKEN "/-1", -EINVAL },
        { "/ping/" TOKEN "/1x", -EINVAL },
        { "/ping/" TOKEN "/", -EINVAL },
        { "/ping/" TOKEN "/start/x", -EINVAL },
        { "/ping/" TOKEN "/fail/", -EINVAL },
        { "/ping/" TOKEN "/log", -EINVAL },
        { "/ping/" TOKEN "/START", -EINVAL },
        { "/ping/abcdefghijklmno", -ENOENT }, /* 15 chars */
        { "/ping/abcdefghijklmno/fail", -ENOENT },
        { "/ping/abcdefgh.jklmnop", -ENOENT },
        { "/ping/abcdefgh jklmnop", -ENOENT },
        { "/ping/", -ENOENT },
        { "/ping", -ENOENT },
        { "/pong/" TOKEN, -ENOENT },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        memset(&p, 0x5a, sizeof(p));
        if (web_ping_parse(cases[i].path, &p) != cases[i].r)
            fail_msg("'%s' should give %d", cases[i].path, cases[i].r);
        assert_int_equal(p.exit_code, 0x5a5a5a5a); /* untouched */
    }

    memcpy(long_ok, "/ping/", 6);
    memset(long_ok + 6, 'x', 128);
    long_ok[6 + 128] = '\0';
    assert_int_equal(web_ping_parse(long_ok, &p), 0);
    assert_int_equal(strlen(p.token), 128);

    memcpy(too_long, "/ping/", 6);
    memset(too_long + 6, 'x', 129);
    too_long[6 + 129] = '\0';
    assert_int_equal(web_ping_parse(too_long, &p), -ENOENT);
}

static void test_path_redact(void **state)
{
    char buf[64];

    (void)state;
    assert_string_equal(web_path_redact("/ping/" TOKEN, buf, sizeof(buf)), "/ping/<token>");
    assert_string_equal(web_path_redact("/ping/" TOKEN "/fail", buf, sizeof(buf)),
                        "/ping/<token>/fail");
    assert_string_equal(web_path_redact("/ping/x/42", buf, sizeof(buf)), "/ping/<token>/42");
    assert_string_equal(web_path_redact("/api/v1/monitors", buf, sizeof(buf)), "/api/v1/monitors");
    assert_null(strstr(web_path_redact("/ping/" TOKEN "/start", buf, sizeof(buf)), TOKEN));
}

/* ---- alert review and statistics ---- */

static void test_review_routes(void **state)
{
    struct web_match m;

    (void)state;
    assert_int_equal(web_route_match("POST", "/api/v1/alerts/12/review", &m), 0);
    assert_int_equal(m.route, WEB_ROUTE_ALERT_REVIEW);
    assert_int_equal(m.id, 12);
    assert_true(m.method_ok);
    assert_int_equal(web_route_match("GET", "/api/v1/alerts/12/review", &m), 0);
    assert_false(m.method_ok);
    assert_string_equal(m.allow, "POST");
    assert_int_equal(web_route_match("GET", "/api/v1/alerts/stats", &m), 0);
    assert_int_equal(m.route, WEB_ROUTE_ALERT_STATS);
    assert_true(m.method_ok);
    assert_int_equal(web_route_match("POST", "/api/v1/alerts/stats", &m), 0);
    assert_false(m.method_ok);
    assert_string_equal(m.allow, "GET, HEAD");
    assert_int_equal(web_route_match("GET", "/api/v1/alerts/stats/", &m), -ENOENT);
    assert_int_equal(web_route_match("POST", "/api/v1/alerts/12/reviews", &m), -ENOENT);
    assert_int_equal(web_route_match("POST", "/api/v1/notifications/12/review", &m), -ENOENT);
}

static void test_link_routes(void **state)
{
    struct web_match m;

    (void)state;
    assert_int_equal(web_route_match("GET", "/a/12/ack", &m), 0);
    assert_int_equal(m.route, WEB_ROUTE_LINK_ACK);
    assert_int_equal(m.id, 12);
    assert_true(m.method_ok);
    assert_int_equal(web_route_match("POST", "/a/7/resolve", &m), 0);
    assert_int_equal(m.route, WEB_ROUTE_LINK_RESOLVE);
    assert_int_equal(m.id, 7);
    assert_true(m.method_ok);
    assert_int_equal(web_route_match("HEAD", "/a/7/resolve", &m), 0);
    assert_true(m.method_ok);
    assert_int_equal(web_route_match("DELETE", "/a/7/ack", &m), 0);
    assert_false(m.method_ok);
    assert_string_equal(m.allow, "GET, HEAD, POST");
    assert_int_equal(web_route_match("GET", "/a/0/ack", &m), -ENOENT);
    assert_int_equal(web_route_match("GET", "/a/07/ack", &m), -ENOENT);
    assert_int_equal(web_route_match("GET", "/a/-1/ack", &m), -ENOENT);
    assert_int_equal(web_route_match("GET", "/a/99999999999999999999/ack", &m), -ENOENT);
    assert_int_equal(web_route_match("GET", "/a/12", &m), -ENOENT);
    assert_int_equal(web_route_match("GET", "/a/12/ack/", &m), -ENOENT);
    assert_int_equal(web_route_match("GET", "/a/12/silence", &m), -ENOENT);
    assert_int_equal(web_route_match("GET", "/a/", &m), -ENOENT);
}

static void test_link_page(void **state)
{
    struct web_link_page p = {
        .kind = WEB_LINK_CONFIRM,
        .id = 42,
        .token = "AbC-_9",
        .text = "Acknowledge this alert?",
        .has_alert = true,
        .summary = "<img src=x> down",
        .monitor = "db",
        .severity = "critical",
        .state = "firing",
        .starts_ms = 1700000000000ull,
    };
    struct sbuf sb = SBUF_INIT;

    (void)state;
    web_link_page_render(&sb, &p);
    assert_non_null(strstr(sb.buf, "<title>Acknowledge alert 42 - opsd</title>"));
    /* relative, so a proxy's path prefix is kept */
    assert_non_null(strstr(sb.buf, "<form method=\"post\" action=\"ack?t=AbC-_9\">"));
    assert_non_null(strstr(sb.buf, "<dd>&lt;img src=x&gt; down</dd>"));
    assert_null(strstr(sb.buf, "<img"));
    assert_non_null(strstr(sb.buf, "<dt>Since</dt><dd>2023-11-14 22:13:20 UTC</dd>"));
    assert_null(strstr(sb.buf, "Acknowledged by"));
    assert_null(strstr(sb.buf, "<script"));
    sbuf_release(&sb);

    /* The resolve link posts to resolve; refusals and outcomes have no
     * button, even with a token at hand. */
    sb = (struct sbuf)SBUF_INIT;
    p.resolve = true;
    p.acked_by = "alice";
    web_link_page_render(&sb, &p);
    assert_non_null(strstr(sb.buf, "action=\"resolve?t=AbC-_9\""));
    assert_non_null(strstr(sb.buf, "<h1>Resolve alert 42</h1>"));
    assert_non_null(strstr(sb.buf, "<dt>Acknowledged by</dt><dd>alice</dd>"));
    sbuf_release(&sb);
    for (int kind = WEB_LINK_DONE; kind <= WEB_LINK_REFUSED; kind++) {
        sb = (struct sbuf)SBUF_INIT;
        p.kind = (enum web_link_kind)kind;
        p.text = "This link has expired.";
        web_link_page_render(&sb, &p);
        assert_null(strstr(sb.buf, "<form"));
        assert_non_null(strstr(sb.buf, kind == WEB_LINK_DONE ? "<p class=\"done\">This link"
                                                             : "<p class=\"refused\">This link"));
        sbuf_release(&sb);
    }
}

#define REVIEW(body) web_review_parse(body, strlen(body), &review, &comment, &doc, &err)

static void test_review_parse(void **state)
{
    static const char *const bad[] = {
        "",
        "[]",
        "{\"review\":\"maybe\"}",
        "{\"review\":\"false-positive\"}",
        "{\"review\":1}",
        "{}",
        "{\"review\":\"actionable\",\"why\":\"x\"}",
        "{\"review\":\"actionable\",\"comment\":5}",
        "{\"review\":\"actionable\",\"review\":\"actionable\"}",
        "{\"review\":\"actionable\",\"comment\":\"a\\u0000b\"}",
    };
    struct opsd_error err = { 0 };
    const char *comment = "untouched";
    json_t *doc = NULL;
    int review = -1;
    char body[1200];

    (void)state;
    assert_int_equal(REVIEW("{\"review\":\"actionable\",\"comment\":\"disk full\"}"), 0);
    assert_int_equal(review, STORE_REVIEW_ACTIONABLE);
    assert_string_equal(comment, "disk full");
    json_decref(doc);
    assert_int_equal(REVIEW("{\"review\":\"false_positive\",\"comment\":null}"), 0);
    assert_int_equal(review, STORE_REVIEW_FALSE_POSITIVE);
    assert_null(comment);
    json_decref(doc);

    review = -1;
    comment = "untouched";
    doc = NULL;
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        if (web_review_parse(bad[i], strlen(bad[i]), &review, &comment, &doc, &err) != -EINVAL)
            fail_msg("accepted %s", bad[i]);
        assert_true(err.msg[0] != '\0');
    }
    assert_int_equal(review, -1);
    assert_string_equal(comment, "untouched");
    assert_null(doc);
    assert_int_equal(REVIEW("{\"review\":\"maybe\"}"), -EINVAL);
    assert_non_null(strstr(err.msg, "'maybe'"));

    /* the comment's cap, 1024 bytes */
    snprintf(body, sizeof(body), "{\"review\":\"actionable\",\"comment\":\"%0*d\"}", 1024, 0);
    assert_int_equal(web_review_parse(body, strlen(body), &review, &comment, &doc, &err), 0);
    assert_int_equal(strlen(comment), 1024);
    json_decref(doc);
    snprintf(body, sizeof(body), "{\"review\":\"actionable\",\"comment\":\"%0*d\"}", 1025, 0);
    assert_int_equal(web_review_parse(body, strlen(body), &review, &comment, &doc, &err), -EINVAL);
}

static void test_stats_query(void **state)
{
    struct opsd_error err = { 0 };
    uint64_t since = 1, until = 2;
    struct web_query_arg durations[] = { { "since", "30d" }, { "until", "1d" } };
    struct web_query_arg times[] = { { "until", "2026-11-20T00:00:00Z" },
                                     { "since", "1795000000000" } };
    struct web_query_arg only_until[] = { { "until", "1795000000000" } };
    struct web_query_arg bad[][2] = {
        { { "since", "yesterday" }, { "until", "1d" } },
        { { "since", "" }, { "until", "1d" } },
        { { "since", NULL }, { "until", "1d" } },
        { { "since", "1h" }, { "until", "2h" } }, /* since after until */
        { { "since", "1h" }, { "since", "2h" } },
        { { "severity", "high" }, { "until", "1d" } },
        { { "since", "1234567890123456" }, { "until", "1d" } }, /* ms past year 33658 */
    };

    (void)state;
    /* defaults: the last 7 days */
    assert_int_equal(web_alert_stats_query_parse(NULL, 0, T0, &since, &until, &err), 0);
    assert_int_equal(until, T0);
    assert_int_equal(since, T0 - 7 * 86400000ull);
    /* durations count back from now, until's too */
    assert_int_equal(web_alert_stats_query_parse(durations, 2, T0, &since, &until, &err), 0);
    assert_int_equal(since, T0 - 30 * 86400000ull);
    assert_int_equal(until, T0 - 86400000ull);
    /* RFC 3339 and epoch ms */
    assert_int_equal(web_alert_stats_query_parse(times, 2, T0, &since, &until, &err), 0);
    assert_int_equal(since, 1795000000000ull);
    assert_int_equal(until, T0 - 12 * 3600000ull);
    /* since defaults to 7 days before until, not before now */
    assert_int_equal(web_alert_stats_query_parse(only_until, 1, T0, &since, &until, &err), 0);
    assert_int_equal(until, 1795000000000ull);
    assert_int_equal(since, 1795000000000ull - 7 * 86400000ull);

    since = 1;
    until = 2;
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        err.msg[0] = '\0';
        if (web_alert_stats_query_parse(bad[i], 2, T0, &since, &until, &err) != -EINVAL)
            fail_msg("accepted case %zu", i);
        assert_true(err.msg[0] != '\0');
    }
    assert_int_equal(since, 1);
    assert_int_equal(until, 2);
}

static void test_stats_json(void **state)
{
    const struct alert_stats_alert as[] = {
        { .severity = ALERT_SEV_CRITICAL,
          .state = ALERT_STATE_RESOLVED,
          .review = ALERT_REVIEW_ACTIONABLE,
          .starts_ms = T0,
          .acked_ms = T0 + 60000,
          .resolved_ms = T0 + 300000 },
        { .severity = ALERT_SEV_LOW, .state = ALERT_STATE_FIRING, .starts_ms = T0 + 1000 },
    };
    struct alert_stats st;
    json_t *j, *crit, *med, *w;

    (void)state;
    /* T0 is a Friday: the window covers that ISO week and the next */
    assert_int_equal(alert_stats_compute(as, 2, T0 - 3600000, T0 + 4 * 86400000ull, &st), 0);
    j = web_alert_stats_json(&st);
    alert_stats_release(&st);
    assert_string_equal(json_string_value(json_object_get(j, "percentiles")), "nearest-rank");
    assert_string_equal(json_string_value(json_object_get(j, "since")), "2026-11-20T11:00:00.000Z");
    assert_int_equal(json_integer_value(json_object_get(j, "until_ms")), T0 + 4 * 86400000ull);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "total"), "count")), 2);
    crit = json_object_get(json_object_get(j, "by_severity"), "critical");
    assert_int_equal(json_integer_value(json_object_get(crit, "actionable")), 1);
    assert_int_equal(json_integer_value(json_object_get(crit, "acknowledged")), 1);
    assert_int_equal(json_integer_value(json_object_get(crit, "resolved")), 1);
    assert_int_equal(json_integer_value(json_object_get(crit, "open")), 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(crit, "mtta_ms"), "p50")),
                     60000);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(crit, "ttr_ms"), "p90")),
                     300000);
    /* nothing to measure: null, not 0 */
    med = json_object_get(json_object_get(j, "by_severity"), "medium");
    assert_int_equal(json_integer_value(json_object_get(med, "count")), 0);
    assert_true(json_is_null(json_object_get(json_object_get(med, "mtta_ms"), "p50")));
    assert_true(json_is_null(json_object_get(json_object_get(med, "ttr_ms"), "mean")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(med, "ttr_ms"), "count")),
                     0);
    assert_int_equal(json_array_size(json_object_get(j, "weeks")), 2);
    w = json_array_get(json_object_get(j, "weeks"), 0);
    assert_string_equal(json_string_value(json_object_get(w, "week")), "2026-W47");
    assert_string_equal(json_string_value(json_object_get(w, "starts_on")), "2026-11-16");
    assert_int_equal(json_integer_value(json_object_get(w, "total")), 2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(w, "by_severity"), "low")),
                     1);
    w = json_array_get(json_object_get(j, "weeks"), 1);
    assert_string_equal(json_string_value(json_object_get(w, "week")), "2026-W48");
    assert_int_equal(json_integer_value(json_object_get(w, "total")), 0);
    json_decref(j);
}

/* ---- JSON ---- */

static char *dump(json_t *j)
{
    return web_json_dump(j, NULL);
}

static void test_monitor_json_http(void **state)
{
    struct conf_label labels[] = { { "team", "core" } };
    struct conf_monitor c = {
        .name = "api",
        .type = CONF_MON_HTTP,
        .description = "Public API",
        .public_ = true,
        .interval_ms = 30000,
        .timeout_ms = 10000,
        .confirm = 2,
        .labels = labels,
        .n_labels = 1,
    };
    struct web_monitor m = {
        .conf = &c,
        .state = PROBE_STATE_UP,
        .since_ms = T0,
        .has_result = true,
        .last = {
            .time_ms = T0 + 60000,
            .status = PROBE_OK,
            .ok = true,
            .message = "HTTP 200",
            .http_status = 200,
            .cert_days = 42,
            .dns_us = 1001,
            .connect_us = PROBE_NO_VALUE,
            .tls_us = 2500,
            .ttfb_us = 11000,
            .total_us = 12345,
        },
        .checks_total = 10,
        .checks_failed = 1,
        .uptime = { 2878.0 / 2880.0, -1, 1 },
    };
    _cleanup_free_ char *s = dump(web_monitor_json(&m));

    (void)state;
    assert_string_equal(
        s, "{\"name\":\"api\",\"type\":\"http\",\"description\":\"Public API\","
           "\"labels\":{\"team\":\"core\"},\"interval_s\":30,\"timeout_s\":10,\"confirm\":2,"
           "\"paused\":false,\"down_on_warning\":false,\"state\":\"up\",\"since\":\"2026-11-20T12:"
           "00:00.000Z\","
           "\"last_check\":\"2026-11-20T12:01:00.000Z\",\"latency_ms\":12.345,"
           "\"last_result\":{\"time\":\"2026-11-20T12:01:00.000Z\",\"status\":\"ok\","
           "\"ok\":true,\"message\":\"HTTP 200\",\"http_status\":200,\"cert_days\":42,"
           "\"timings_ms\":{\"dns\":1.001,\"connect\":null,\"tls\":2.5,\"first_byte\":11.0,"
           "\"total\":12.345}},\"uptime\":{\"24h\":0.999306,\"7d\":null,\"30d\":1.0},"
           "\"checks_total\":10,\"checks_failed\":1,\"maintenance\":null}\n");
}

static void test_monitor_json_heartbeat(void **state)
{
    struct conf_monitor c = {
        .name = "backup",
        .type = CONF_MON_HEARTBEAT,
        .public_ = true,
        .interval_ms = 1500,
        .timeout_ms = 1000,
        .confirm = 1,
        .token = "s3cr3t-t0ken-abcdef",
        .period_ms = 86400000,
        .grace_ms = 3600000,
    };
    struct web_monitor m = {
        .conf = &c,
        .state = PROBE_STATE_PENDING,
        .last_ping_ms = T0,
        .uptime = { -1, -1, -1 },
    };
    _cleanup_free_ char *s = dump(web_monitor_json(&m));
    json_t *j = json_loads(s, 0, NULL);

    (void)state;
    assert_non_null(j);
    assert_null(strstr(s, "s3cr3t")); /* the token is a secret */
    assert_string_equal(json_string_value(json_object_get(j, "type")), "heartbeat");
    assert_string_equal(json_string_value(json_object_get(j, "state")), "pending");
    assert_string_equal(json_string_value(json_object_get(j, "last_ping")),
                        "2026-11-20T12:00:00.000Z");
    assert_int_equal(json_integer_value(json_object_get(j, "period_s")), 86400);
    assert_int_equal(json_integer_value(json_object_get(j, "grace_s")), 3600);
    assert_true(json_is_real(json_object_get(j, "interval_s")));
    assert_true(json_number_value(json_object_get(j, "interval_s")) == 1.5);
    assert_true(json_is_null(json_object_get(j, "description")));
    assert_true(json_is_null(json_object_get(j, "since")));
    assert_true(json_is_null(json_object_get(j, "last_check")));
    assert_true(json_is_null(json_object_get(j, "latency_ms")));
    assert_true(json_is_null(json_object_get(j, "last_result")));
    assert_true(json_is_null(json_object_get(json_object_get(j, "uptime"), "24h")));
    json_decref(j);
}

static void test_result_json_from_store(void **state)
{
    struct store_result sr = {
        .monitor_id = 3,
        .ts_ms = T0,
        .status = PROBE_CRITICAL,
        .ok = false,
        .dns_us = STORE_NO_VALUE,
        .connect_us = 500,
        .tls_us = STORE_NO_VALUE,
        .ttfb_us = STORE_NO_VALUE,
        .total_us = 5000123,
        .http_status = STORE_NO_VALUE,
        .cert_days = STORE_NO_VALUE,
        .message = "bad \xff byte", /* not UTF-8: must still give valid JSON */
        .maintenance = true,
    };
    struct web_result r;
    _cleanup_free_ char *s = NULL;

    (void)state;
    web_result_from_store(&r, &sr);
    s = dump(web_result_json(&r));
    assert_string_equal(s, "{\"time\":\"2026-11-20T12:00:00.000Z\",\"status\":\"critical\","
                           "\"ok\":false,\"message\":\"bad ? byte\",\"http_status\":null,"
                           "\"cert_days\":null,\"timings_ms\":{\"dns\":null,\"connect\":0.5,"
                           "\"tls\":null,\"first_byte\":null,\"total\":5000.123},"
                           "\"maintenance\":true}\n");
}

static void test_event_json(void **state)
{
    static const struct {
        struct store_event e;
        const char *json;
    } cases[] = {
        { { 3, T0 + 1, PROBE_STATE_UP, PROBE_STATE_DOWN, "HTTP 500 (expected 200)", NULL },
          "{\"time\":\"2026-11-20T12:00:00.001Z\",\"from\":\"up\",\"to\":\"down\","
          "\"cause\":\"HTTP 500 (expected 200)\",\"kind\":\"state\"}\n" },
        { { 3, T0, PROBE_STATE_PENDING, PROBE_STATE_UP, NULL, NULL },
          "{\"time\":\"2026-11-20T12:00:00.000Z\",\"from\":\"pending\",\"to\":\"up\","
          "\"cause\":null,\"kind\":\"state\"}\n" },
        { { 3, T0, PROBE_STATE_DOWN, PROBE_STATE_PAUSED, "", NULL },
          "{\"time\":\"2026-11-20T12:00:00.000Z\",\"from\":\"down\",\"to\":\"paused\","
          "\"cause\":null,\"kind\":\"state\"}\n" },
        /* a state from a newer opsd shows as probe_state_to_string() says;
         * a cause that is not UTF-8 still gives valid JSON */
        { { 3, T0, 42, PROBE_STATE_DOWN, "got \xfe", NULL },
          "{\"time\":\"2026-11-20T12:00:00.000Z\",\"from\":\"pending\",\"to\":\"down\","
          "\"cause\":\"got ?\",\"kind\":\"state\"}\n" },
        /* an on_failure action's outcome */
        { { 3, T0, PROBE_STATE_DOWN, PROBE_STATE_DOWN, "on_failure: exit status 0", "action" },
          "{\"time\":\"2026-11-20T12:00:00.000Z\",\"from\":\"down\",\"to\":\"down\","
          "\"cause\":\"on_failure: exit status 0\",\"kind\":\"action\"}\n" },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct web_event we;
        _cleanup_free_ char *s = NULL;

        web_event_from_store(&we, &cases[i].e);
        assert_int_equal(we.time_ms, cases[i].e.ts_ms);
        assert_ptr_equal(we.cause, cases[i].e.cause); /* borrowed */
        s = dump(web_event_json(&we));
        assert_string_equal(s, cases[i].json);
    }
}

static void test_result_from_probe(void **state)
{
    struct probe_result res = {
        .started_ms = T0,
        .status = PROBE_WARNING,
        .dns_us = 1,
        .connect_us = 2,
        .tls_us = 3,
        .ttfb_us = 4,
        .total_us = 5,
        .http_status = 301,
        .cert_days = 9,
        .message = "slow",
    };
    struct probe_last pr = { 0 };
    struct web_result r;

    (void)state;
    probe_last_set(&pr, &res);
    web_result_from_probe(&r, &pr);
    assert_int_equal(r.time_ms, T0);
    assert_int_equal(r.status, PROBE_WARNING);
    assert_true(r.ok); /* a warning counts as up */
    assert_string_equal(r.message, "slow");
    assert_int_equal(r.http_status, 301);
    assert_int_equal(r.cert_days, 9);
    assert_int_equal(r.ttfb_us, 4);
    assert_int_equal(r.total_us, 5);
    probe_last_clear(&pr);
}

static void test_error_json(void **state)
{
    struct web_response res;

    (void)state;
    web_response_error(&res, 404, "not_found", "no monitor named '%s'", "a\"b");
    assert_int_equal(res.status, 404);
    assert_string_equal(res.content_type, "application/json");
    assert_string_equal(res.body,
                        "{\"error\":{\"code\":\"not_found\",\"message\":\"no monitor named "
                        "'a\\\"b'\"}}\n");
    assert_int_equal(res.len, strlen(res.body));
    free(res.body);
}

/* ---- metrics ---- */

static void test_prom_escape(void **state)
{
    struct sbuf sb = SBUF_INIT;

    (void)state;
    web_prom_escape(&sb, "a\"b\\c\nd{e}=f");
    assert_string_equal(sb.buf, "a\\\"b\\\\c\\nd{e}=f");
    sbuf_release(&sb);
}

static void test_prom_histogram(void **state)
{
    const double bounds[] = { 0.005, 0.25, 1.0 / 0.0 };
    const uint64_t buckets[] = { 3, 7, 9 };
    struct sbuf sb = SBUF_INIT;

    (void)state;
    web_prom_histogram(&sb, "x_seconds", "How long.", bounds, buckets, 3, 1.5, 9);
    assert_string_equal(sb.buf, "# HELP x_seconds How long.\n"
                                "# TYPE x_seconds histogram\n"
                                "x_seconds_bucket{le=\"0.005\"} 3\n"
                                "x_seconds_bucket{le=\"0.25\"} 7\n"
                                "x_seconds_bucket{le=\"+Inf\"} 9\n"
                                "x_seconds_sum 1.5\n"
                                "x_seconds_count 9\n");
    sbuf_release(&sb);

    /* the last bucket is +Inf even when its bound is finite */
    web_prom_histogram(&sb, "y", "h", (const double[]){ 1, 2 }, (const uint64_t[]){ 1, 2 }, 2, 0,
                       2);
    assert_non_null(strstr(sb.buf, "y_bucket{le=\"1\"} 1\ny_bucket{le=\"+Inf\"} 2\n"));
    sbuf_release(&sb);
}

static void test_metrics_render(void **state)
{
    double bounds[12];
    struct web_metric_monitor mons[] = {
        { .name = "api",
          .state = PROBE_STATE_UP,
          .has_latency = true,
          .latency_s = 0.012345,
          .has_cert = true,
          .cert_days = 42 },
        { .name = "we\"ird\\name", .state = PROBE_STATE_DOWN },
    };
    struct sched_stats st = { .checks_ok = 90,
                              .checks_failed = 10,
                              .checks_scheduled = 101,
                              .checks_skipped = 1,
                              .in_flight = 2,
                              .queued = 3,
                              .results_written = 99,
                              .write_errors = 4,
                              .lag_sum_s = 0.5,
                              .lag_count = 12 };
    struct web_proc_stats proc = { .ok = true, .rss_bytes = 4096000, .cpu_s = 1.25 };
    struct sbuf sb = SBUF_INIT;

    (void)state;
    for (size_t i = 0; i < 12; i++) {
        bounds[i] = 0.001 * (double)(1u << i);
        st.lag_bucket[i] = i + 1;
    }
    web_metrics_render(&sb, mons, ARRAY_SIZE(mons), &st, bounds, &proc);

    assert_non_null(strstr(sb.buf, "opsd_monitor_up{monitor=\"api\"} 1\n"));
    assert_non_null(strstr(sb.buf, "opsd_monitor_up{monitor=\"we\\\"ird\\\\name\"} 0\n"));
    assert_non_null(strstr(sb.buf, "opsd_monitor_state{monitor=\"api\",state=\"up\"} 1\n"));
    assert_non_null(strstr(sb.buf, "opsd_monitor_state{monitor=\"api\",state=\"down\"} 0\n"));
    assert_non_null(
        strstr(sb.buf, "opsd_monitor_state{monitor=\"we\\\"ird\\\\name\",state=\"down\"} 1\n"));
    assert_int_equal(count_substr(sb.buf, "opsd_monitor_state{"), 8);
    assert_non_null(strstr(sb.buf, "opsd_monitor_latency_seconds{monitor=\"api\"} 0.012345\n"));
    assert_int_equal(count_substr(sb.buf, "opsd_monitor_latency_seconds{"), 1);
    assert_non_null(strstr(sb.buf, "opsd_monitor_cert_expiry_days{monitor=\"api\"} 42\n"));
    assert_int_equal(count_substr(sb.buf, "opsd_monitor_cert_expiry_days{"), 1);
    assert_non_null(strstr(sb.buf, "opsd_checks_total{result=\"ok\"} 90\n"));
    assert_non_null(strstr(sb.buf, "opsd_checks_total{result=\"failed\"} 10\n"));
    assert_non_null(strstr(sb.buf, "\nopsd_checks_scheduled_total 101\n"));
    assert_non_null(strstr(sb.buf, "\nopsd_checks_skipped_total 1\n"));
    assert_non_null(strstr(sb.buf, "\nopsd_checks_in_flight 2\n"));
    assert_non_null(strstr(sb.buf, "\nopsd_checks_queued 3\n"));
    assert_non_null(strstr(sb.buf, "\nopsd_results_written_total 99\n"));
    assert_non_null(strstr(sb.buf, "\nopsd_store_write_errors_total 4\n"));
    assert_non_null(strstr(sb.buf, "opsd_check_start_lag_seconds_bucket{le=\"0.001\"} 1\n"));
    assert_non_null(strstr(sb.buf, "opsd_check_start_lag_seconds_bucket{le=\"+Inf\"} 12\n"));
    assert_non_null(strstr(sb.buf, "\nopsd_check_start_lag_seconds_count 12\n"));
    assert_non_null(strstr(sb.buf, "\nopsd_monitors 2\n"));
    assert_non_null(strstr(sb.buf, "\nprocess_resident_memory_bytes 4096000\n"));
    assert_non_null(strstr(sb.buf, "\nprocess_cpu_seconds_total 1.25\n"));
    assert_non_null(strstr(sb.buf, "\nopsd_build_info{version=\"" OPSD_VERSION "\"} 1\n"));
    assert_non_null(strstr(sb.buf, "# TYPE opsd_checks_total counter\n"));
    assert_non_null(strstr(sb.buf, "# TYPE opsd_check_start_lag_seconds histogram\n"));
    /* every metric family declared once */
    assert_int_equal(count_substr(sb.buf, "# TYPE opsd_monitor_up "), 1);
    assert_int_equal(count_substr(sb.buf, "# TYPE "), count_substr(sb.buf, "# HELP "));
    assert_int_equal(sb.buf[sb.len - 1], '\n');
    sbuf_release(&sb);
}

static void test_proc_parse_stat(void **state)
{
    /* comm may hold spaces and parentheses */
    const char *line = "18799 (my (odd) cmd) R 18756 18756 2742 0 -1 4194304 100 0 0 0 "
                       "250 150 0 0 20 0 1 0 129618 3133440 389 18446744073709551615 0 0\n";
    struct web_proc_stats p = { 0 };

    (void)state;
    assert_int_equal(web_proc_parse_stat(line, 4096, 100, &p), 0);
    assert_true(p.ok);
    assert_int_equal(p.rss_bytes, 389ull * 4096);
    assert_true(p.cpu_s == 4.0);

    p.rss_bytes = 77;
    assert_int_equal(web_proc_parse_stat("12 (x) R 1 2 3", 4096, 100, &p), -EINVAL);
    assert_int_equal(web_proc_parse_stat("no paren", 4096, 100, &p), -EINVAL);
    assert_int_equal(p.rss_bytes, 77);
}

/* ---- the status page ---- */

static char *render_page(const struct web_page_monitor *mons, size_t n, unsigned ndays)
{
    struct web_page p = {
        .title = "Acme Status",
        .now_ms = T0,
        .ndays = ndays,
        .monitors = mons,
        .n_monitors = n,
    };
    struct sbuf sb = SBUF_INIT;

    web_page_render(&sb, &p);
    return sbuf_detach(&sb, NULL);
}

static void test_page_banner_all_up(void **state)
{
    struct web_page_monitor mons[] = {
        { .name = "api", .public_ = true, .state = PROBE_STATE_UP },
        { .name = "db", .public_ = true, .state = PROBE_STATE_UP },
        { .name = "old", .public_ = true, .state = PROBE_STATE_PAUSED },     /* not counted */
        { .name = "internal", .public_ = false, .state = PROBE_STATE_DOWN }, /* not shown */
    };
    _cleanup_free_ char *html = render_page(mons, ARRAY_SIZE(mons), 90);

    (void)state;
    assert_non_null(strstr(html,
                           "<section class=\"banner up\" role=\"status\"><p class=\"verdict\">"
                           "All systems operational</p>"));
    assert_null(strstr(html, "internal"));
    assert_non_null(strstr(html, "<h2>old</h2>"));
    assert_non_null(strstr(html, "<span class=\"badge paused\">Paused</span>"));
    assert_non_null(strstr(html, "<span class=\"badge up\">Operational</span>"));
    assert_int_equal(count_substr(html, "<li class=\"mon\">"), 3);
    assert_int_equal(count_substr(html, "<span class=\"day "), 3 * 90);
}

static void test_page_banner_down(void **state)
{
    struct web_page_monitor mons[] = {
        { .name = "api", .public_ = true, .state = PROBE_STATE_DOWN },
        { .name = "web", .public_ = true, .state = PROBE_STATE_UP },
        { .name = "db", .public_ = true, .state = PROBE_STATE_DOWN },
        { .name = "queue", .public_ = true, .state = PROBE_STATE_PENDING },
        { .name = "secret", .public_ = false, .state = PROBE_STATE_DOWN },
    };
    _cleanup_free_ char *html = render_page(mons, ARRAY_SIZE(mons), 90);
    _cleanup_free_ char *one = render_page(mons, 2, 90);

    (void)state;
    assert_non_null(strstr(html,
                           "<section class=\"banner down\" role=\"status\"><p class=\"verdict\">"
                           "2 monitors down: api, db</p>"));
    assert_null(strstr(html, "secret"));
    assert_non_null(strstr(html, "<span class=\"badge down\">Down</span>"));
    assert_non_null(strstr(one, "1 monitor down: api</p>"));
}

static void test_page_maintenance(void **state)
{
    struct web_page_monitor mons[] = {
        { .name = "db", .public_ = true, .state = PROBE_STATE_DOWN, .maintenance = true },
        { .name = "api", .public_ = true, .state = PROBE_STATE_UP },
    };
    struct web_page_maint maint[] = {
        { .name = "upgrade",
          .description = "Database <upgrade>",
          .active = true,
          .start_ms = T0 - 600000,
          .end_ms = T0 + 1800000 },
        { .name = "nightly", .start_ms = T0 + 86400000, .end_ms = T0 + 86400000 + 1800000 },
    };
    struct web_page p = {
        .title = "Acme Status",
        .now_ms = T0,
        .ndays = 90,
        .monitors = mons,
        .n_monitors = 2,
        .maint = maint,
        .n_maint = 2,
    };
    struct sbuf sb = SBUF_INIT;
    _cleanup_free_ char *html = NULL;
    _cleanup_free_ char *outage = NULL;

    (void)state;
    web_page_render(&sb, &p);
    html = sbuf_detach(&sb, NULL);
    /* down under maintenance is announced, not an outage */
    assert_non_null(strstr(html, "<section class=\"banner maint\" role=\"status\"><p "
                                 "class=\"verdict\">Maintenance in progress (1 monitor)</p>"));
    assert_null(strstr(html, "monitor down"));
    assert_non_null(strstr(html, "<span class=\"badge maint\">Under maintenance</span>"));
    assert_non_null(strstr(html, "<strong>Maintenance in progress:</strong> Database "
                                 "&lt;upgrade&gt;<br><span class=\"when\">until "));
    assert_non_null(strstr(html, "<strong>Scheduled maintenance:</strong> nightly<br>"));
    /* a real outage elsewhere still wins the banner */
    mons[1].state = PROBE_STATE_DOWN;
    p.n_maint = 0;
    web_page_render(&sb, &p);
    outage = sbuf_detach(&sb, NULL);
    assert_non_null(strstr(outage, "1 monitor down: api</p>"));
    assert_null(strstr(outage, "<ul class=\"maint-list\""));
}

static void test_page_banner_many_down(void **state)
{
    struct web_page_monitor mons[12];
    char names[12][8];
    _cleanup_free_ char *html = NULL;

    (void)state;
    for (size_t i = 0; i < 12; i++) {
        snprintf(names[i], sizeof(names[i]), "m%zu", i);
        mons[i] = (struct web_page_monitor){ .name = names[i],
                                             .public_ = true,
                                             .state = PROBE_STATE_DOWN };
    }
    html = render_page(mons, 12, 90);
    assert_non_null(strstr(html, "12 monitors down: m0, m1, m2, m3, m4, m5, m6, m7, m8, m9 and "
                                 "2 more</p>"));
}

static void test_page_banner_pending(void **state)
{
    struct web_page_monitor mons[] = {
        { .name = "api", .public_ = true, .state = PROBE_STATE_UP },
        { .name = "db", .public_ = true, .state = PROBE_STATE_PENDING },
    };
    _cleanup_free_ char *html = render_page(mons, ARRAY_SIZE(mons), 90);

    (void)state;
    assert_non_null(strstr(html, "<section class=\"banner pending\" role=\"status\">"
                                 "<p class=\"verdict\">Checking...</p>"));
    assert_null(strstr(html, "All systems operational"));
    assert_non_null(strstr(html, "<span class=\"badge pending\">Checking</span>"));
}

static void test_page_days(void **state)
{
    /* oldest first: 2026-11-16 .. 2026-11-20 */
    struct store_uptime days[5] = {
        { .count = 0 },
        { .count = 2880, .failures = 0 },
        { .count = 2880, .failures = 2 },  /* 99.93% */
        { .count = 100, .failures = 5 },   /* 95% exactly */
        { .count = 1000, .failures = 51 }, /* 94.9% */
    };
    struct web_page_monitor mons[] = {
        { .name = "api",
          .description = "The API",
          .public_ = true,
          .state = PROBE_STATE_UP,
          .days = days },
    };
    _cleanup_free_ char *html = render_page(mons, 1, 5);

    (void)state;
    assert_non_null(strstr(html, "<span class=\"day none\" title=\"2026-11-16: no data\"></span>\n"
                                 "<span class=\"day full\" title=\"2026-11-17: 100% (0 failed of "
                                 "2880 checks)\"></span>\n"
                                 "<span class=\"day high\" title=\"2026-11-18: 99.93% (2 failed of "
                                 "2880 checks)\"></span>\n"
                                 "<span class=\"day mid\" title=\"2026-11-19: 95.00% (5 failed of "
                                 "100 checks)\"></span>\n"
                                 "<span class=\"day low\" title=\"2026-11-20: 94.90% (51 failed of "
                                 "1000 checks)\"></span>\n"));
    /* overall: 58 failed of 6860 -> 99.15% */
    assert_non_null(strstr(html, "<div class=\"bar\" role=\"img\" aria-label=\"api: 99.15% "
                                 "uptime over the last 5 days\">"));
    /* next to the badge, naming its window; no phone variant when all days fit */
    assert_non_null(strstr(html, "<div class=\"state\"><span class=\"pct\">99.15% uptime, 5 days"
                                 "</span><span class=\"badge up\">Operational</span></div>"));
    assert_null(strstr(html, "class=\"short\""));
    assert_null(strstr(html, "nth-child"));
    assert_non_null(strstr(html, "<p class=\"desc\">The API</p>"));
}

static void test_page_escaping(void **state)
{
    struct web_page_monitor mons[] = {
        { .name = "<script>alert(1)</script>",
          .description = "a & \"b\" 'c'",
          .public_ = true,
          .state = PROBE_STATE_DOWN },
    };
    struct web_page p = {
        .title = "<b>Acme</b>",
        .now_ms = T0,
        .ndays = 90,
        .monitors = mons,
        .n_monitors = 1,
    };
    struct sbuf sb = SBUF_INIT;

    (void)state;
    web_page_render(&sb, &p);
    assert_null(strstr(sb.buf, "<script"));
    assert_null(strstr(sb.buf, "<b>"));
    assert_non_null(strstr(sb.buf, "<title>&lt;b&gt;Acme&lt;/b&gt;</title>"));
    assert_non_null(strstr(sb.buf, "<h2>&lt;script&gt;alert(1)&lt;/script&gt;</h2>"));
    assert_non_null(strstr(sb.buf, "1 monitor down: &lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_non_null(strstr(sb.buf, "aria-label=\"&lt;script&gt;alert(1)&lt;/script&gt;: no data"));
    assert_non_null(strstr(sb.buf, "a &amp; &quot;b&quot; &#39;c&#39;"));
    sbuf_release(&sb);
}

static void test_page_document(void **state)
{
    struct web_page_monitor mons[] = {
        { .name = "api", .public_ = true, .state = PROBE_STATE_UP }
    };
    _cleanup_free_ char *html = render_page(mons, 1, 90);

    (void)state;
    assert_true(strncmp(html, "<!DOCTYPE html>\n<html lang=\"en\">", 31) == 0);
    assert_non_null(strstr(html, "<meta http-equiv=\"refresh\" content=\"60\">"));
    assert_non_null(strstr(html, "<meta name=\"viewport\""));
    assert_non_null(strstr(html, "<title>Acme Status</title>"));
    assert_non_null(strstr(html, "Updated 2026-11-20 12:00:00 UTC"));
    /* no JavaScript, nothing loaded from elsewhere */
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, "http://"));
    assert_null(strstr(html, "https://"));
    assert_null(strstr(html, "<link"));
    assert_null(strstr(html, "url("));
    /* 90 cells without data, oldest first */
    assert_int_equal(count_substr(html, "<span class=\"day none\""), 90);
    assert_non_null(strstr(html, "title=\"2026-08-23: no data\""));
    assert_true(strstr(html, "2026-08-23") < strstr(html, "2026-11-20: no data"));
    assert_non_null(strstr(html, "</html>\n"));
}

static void test_page_empty(void **state)
{
    _cleanup_free_ char *html = render_page(NULL, 0, 90);

    (void)state;
    assert_non_null(strstr(html, "No monitors to show"));
    assert_null(strstr(html, "<ul"));
}

/* The page with every public monitor paused, and with private ones down. */
static void test_page_banner_all_paused(void **state)
{
    struct web_page_monitor mons[] = {
        { .name = "old", .public_ = true, .state = PROBE_STATE_PAUSED },
        { .name = "older", .public_ = true, .state = PROBE_STATE_PAUSED },
        { .name = "secret", .public_ = false, .state = PROBE_STATE_DOWN },
        { .name = "hidden", .public_ = false, .state = PROBE_STATE_PENDING },
    };
    _cleanup_free_ char *html = render_page(mons, ARRAY_SIZE(mons), 90);

    (void)state;
    assert_non_null(strstr(html, "<section class=\"banner paused\" role=\"status\">"
                                 "<p class=\"verdict\">All monitors paused</p>"));
    assert_null(strstr(html, "No monitors to show"));
    assert_null(strstr(html, "Checking"));
    assert_null(strstr(html, "down:"));
    assert_int_equal(count_substr(html, "<span class=\"badge paused\">Paused</span>"), 2);
}

static void test_page_waiting_first_ping(void **state)
{
    struct web_page_monitor never = {
        .name = "backup", .public_ = true, .state = PROBE_STATE_PENDING, .heartbeat = true
    };
    struct web_page_monitor started = never, restored = never, http = never, paused = never;
    struct web_page_monitor mons[2];
    _cleanup_free_ char *up = NULL, *alone = NULL, *checking = NULL;

    (void)state;
    started.last_ping_ms = T0;  /* a /start ping: its job is running */
    restored.has_result = true; /* has a verdict from before a restart */
    http.heartbeat = false;
    paused.state = PROBE_STATE_PAUSED;
    assert_true(web_page_waiting_first_ping(&never));
    assert_false(web_page_waiting_first_ping(&started));
    assert_false(web_page_waiting_first_ping(&restored));
    assert_false(web_page_waiting_first_ping(&http));
    assert_false(web_page_waiting_first_ping(&paused));

    /* beside an up monitor it does not hold the banner on "Checking" */
    mons[0] = (struct web_page_monitor){ .name = "api", .public_ = true, .state = PROBE_STATE_UP };
    mons[1] = never;
    up = render_page(mons, 2, 90);
    assert_non_null(strstr(up, "<p class=\"verdict\">All systems operational</p>"));
    assert_null(strstr(up, "Checking"));
    assert_non_null(strstr(up, "<span class=\"badge pending\">Waiting for first ping</span>"));

    /* alone, the banner says what it waits for */
    alone = render_page(&never, 1, 90);
    assert_non_null(strstr(alone, "<section class=\"banner pending\" role=\"status\">"
                                  "<p class=\"verdict\">Waiting for first ping</p>"));

    /* a heartbeat that has been pinged still checks */
    mons[1] = started;
    checking = render_page(mons, 2, 90);
    assert_non_null(strstr(checking, "<p class=\"verdict\">Checking...</p>"));
    assert_non_null(strstr(checking, "<span class=\"badge pending\">Checking</span>"));
}

/* On a narrow screen the bar shows 30 days: so does the figure. */
static void test_page_phone_window(void **state)
{
    struct store_uptime days[90] = { { 0 } };
    struct web_page_monitor mons[] = {
        { .name = "api", .public_ = true, .state = PROBE_STATE_UP, .days = days },
    };
    _cleanup_free_ char *html = NULL;

    (void)state;
    for (size_t i = 0; i < 90; i++)
        days[i].count = 1000;
    days[0].failures = 900; /* 90 days ago: only in the long window */
    days[89].failures = 3;  /* today */
    html = render_page(mons, 1, 90);

    /* 90 days: 903 of 90000 failed -> 98.99%; 30 days: 3 of 30000 -> 99.99% */
    assert_non_null(strstr(html, "<span class=\"pct\"><span class=\"long\">98.99% uptime, 90 days"
                                 "</span><span class=\"short\">99.99% uptime, 30 days</span>"
                                 "</span>"));
    assert_non_null(strstr(html, "@media (max-width:40rem){.bar .day:nth-child(-n+60)"
                                 "{display:none}}"));
    assert_non_null(strstr(html, "<span class=\"long\">90 days ago</span>"
                                 "<span class=\"short\">30 days ago</span>"));
    assert_non_null(strstr(html, "aria-label=\"api: 98.99% uptime over the last 90 days\""));
}

static void test_page_legend_and_updated(void **state)
{
    struct store_uptime days[90] = { { 0 } };
    struct web_page_monitor mons[] = {
        { .name = "api", .public_ = true, .state = PROBE_STATE_UP, .days = days },
        { .name = "new", .public_ = true, .state = PROBE_STATE_UP },
    };
    _cleanup_free_ char *html = NULL, *empty = NULL;
    const char *legend, *list_end;

    (void)state;
    days[89].count = 10;
    html = render_page(mons, ARRAY_SIZE(mons), 90);

    /* the banner says when (T0 is 12:00 UTC), inside the banner */
    assert_non_null(strstr(html, "All systems operational</p><p class=\"updated\">Last updated "
                                 "<time datetime=\"2026-11-20T12:00:00Z\">12:00 UTC</time></p>"
                                 "</section>"));
    /* a figure beside every badge, and words when there is no data */
    assert_non_null(strstr(html, "<span class=\"long\">100% uptime, 90 days</span>"));
    assert_non_null(strstr(html, "<span class=\"pct\"><span class=\"long\">No data in 90 days"
                                 "</span><span class=\"short\">No data in 30 days</span></span>"
                                 "<span class=\"badge up\">Operational</span>"));
    /* a key under the list, in words, with decorative swatches */
    legend = strstr(html, "<ul class=\"legend\" aria-label=\"Colour key of the daily bars\">");
    list_end = strstr(html, "</ul>");
    assert_non_null(legend);
    assert_true(list_end < legend);
    assert_non_null(strstr(legend, "<li><span class=\"swatch\" aria-hidden=\"true\"></span>"
                                   "No data</li>\n"
                                   "<li><span class=\"swatch full\" aria-hidden=\"true\"></span>"
                                   "100%</li>\n"
                                   "<li><span class=\"swatch high\" aria-hidden=\"true\"></span>"
                                   "&ge; 99%</li>\n"
                                   "<li><span class=\"swatch mid\" aria-hidden=\"true\"></span>"
                                   "&ge; 95%</li>\n"
                                   "<li><span class=\"swatch low\" aria-hidden=\"true\"></span>"
                                   "Below 95%</li>\n</ul>"));
    /* swatches are not day cells */
    assert_int_equal(count_substr(html, "class=\"day "), 2 * 90);

    /* no list, no key */
    empty = render_page(NULL, 0, 90);
    assert_null(strstr(empty, "class=\"legend\""));
    assert_non_null(strstr(empty, "<p class=\"updated\">Last updated"));
}

/* ---- colour contrast, computed from the page's own CSS ---- */

/* The 0xRRGGBB of "--name:#rrggbb" in the first block after marker, or -1. */
static long css_var(const char *html, const char *marker, const char *name)
{
    const char *block = strstr(html, marker), *end, *v;
    char key[32];
    unsigned rgb;
    int n = 0;

    if (!block)
        return -1;
    end = strchr(block + strlen(marker), '}');
    snprintf(key, sizeof(key), "--%s:#", name);
    v = strstr(block, key);
    if (!v || v > end || sscanf(v + strlen(key), "%6x%n", &rgb, &n) != 1)
        return -1;
    if (n == 3) /* #abc is #aabbcc */
        rgb = (rgb >> 8) * 0x110000 + ((rgb >> 4) & 0xf) * 0x1100 + (rgb & 0xf) * 0x11;
    else if (n != 6)
        return -1;
    return (long)rgb;
}

static double luminance(long rgb)
{
    double c[3];

    for (int i = 0; i < 3; i++) {
        double x = (double)((rgb >> (16 - 8 * i)) & 0xff) / 255.0;
        c[i] = x <= 0.03928 ? x / 12.92 : pow((x + 0.055) / 1.055, 2.4);
    }
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
}

static double contrast(long a, long b)
{
    double la = luminance(a), lb = luminance(b);

    return la > lb ? (la + 0.05) / (lb + 0.05) : (lb + 0.05) / (la + 0.05);
}

static void test_page_contrast(void **state)
{
    static const char *const light = ":root{", *const dark = "(prefers-color-scheme:dark){:root{";
    static const struct {
        const char *fg, *bg; /* variables; "#fff" is the banners' text */
    } text_pairs[] = {
        { "fg", "card" },
        { "fg", "bg" },
        { "muted", "card" },
        { "muted", "bg" },
        { "up-text", "card" },
        { "down-text", "card" },
        { "degraded-text", "card" },
        { "#fff", "up" },
        { "#fff", "low" },
        { "#fff", "wait" },
    };
    struct web_page_monitor mons[] = { { .name = "api", .public_ = true } };
    _cleanup_free_ char *html = render_page(mons, 1, 90);

    (void)state;
    /* the badges and banners take their colours from these variables */
    assert_non_null(strstr(html, ".badge.up{color:var(--up-text)}"));
    assert_non_null(strstr(html, ".badge.down{color:var(--down-text)}"));
    assert_non_null(strstr(html, ".badge.degraded{color:var(--degraded-text)}"));
    assert_non_null(strstr(html, ".badge.pending,.badge.paused{color:var(--muted)}"));
    assert_non_null(strstr(html, ".banner{border-radius:.5rem;padding:1rem 1.25rem;color:#fff;"));
    assert_non_null(strstr(html, ".banner.up{background:var(--up)}"));

    for (int mode = 0; mode < 2; mode++) {
        for (size_t i = 0; i < ARRAY_SIZE(text_pairs); i++) {
            long fg, bg;
            double r;

            /* dark mode inherits what it does not override */
            fg = strcmp(text_pairs[i].fg, "#fff") == 0 ? 0xffffff : -1;
            if (fg < 0 && mode == 1)
                fg = css_var(html, dark, text_pairs[i].fg);
            if (fg < 0)
                fg = css_var(html, light, text_pairs[i].fg);
            bg = mode == 1 ? css_var(html, dark, text_pairs[i].bg) : -1;
            if (bg < 0)
                bg = css_var(html, light, text_pairs[i].bg);
            assert_true(fg >= 0 && bg >= 0);
            r = contrast(fg, bg);
            if (r < 4.5)
                fail_msg("%s mode: %s #%06lx on %s #%06lx is %.2f:1, below 4.5:1",
                         mode ? "dark" : "light", text_pairs[i].fg, fg, text_pairs[i].bg, bg, r);
        }
        /* "no data" cells are faint beside the days with data */
        {
            long card = mode == 1 ? css_var(html, dark, "card") : css_var(html, light, "card");
            long none = mode == 1 ? css_var(html, dark, "none") : css_var(html, light, "none");
            assert_true(contrast(none, card) < 1.5);
            assert_true(contrast(css_var(html, light, "up"), card) > 3 * contrast(none, card) / 2);
        }
    }
    /* the reviewer's numbers: the dark badges used to be ~3.1:1 */
    assert_true(contrast(0x1a7f37, 0x1a2027) < 4.5);
    assert_true(contrast(0x3fb950, 0x1a2027) >= 4.5);
}

static void test_day_class(void **state)
{
    static const struct {
        uint64_t count, failures;
        const char *cls;
    } cases[] = {
        { 0, 0, "none" },     { 1, 0, "full" },    { 2880, 0, "full" }, { 100, 1, "high" },
        { 1000, 10, "high" }, { 1000, 11, "mid" }, { 100, 5, "mid" },   { 1000, 51, "low" },
        { 10, 10, "low" },    { 5, 9, "low" },
    };

    (void)state;
    assert_string_equal(web_day_class(NULL), "none");
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        struct store_uptime u = { .count = cases[i].count, .failures = cases[i].failures };
        assert_string_equal(web_day_class(&u), cases[i].cls);
    }
}

static void test_format_percent(void **state)
{
    char buf[32];

    (void)state;
    assert_string_equal(web_format_percent(0, 0, buf, sizeof(buf)), "-");
    assert_string_equal(web_format_percent(2880, 0, buf, sizeof(buf)), "100%");
    assert_string_equal(web_format_percent(2880, 2, buf, sizeof(buf)), "99.93%");
    assert_string_equal(web_format_percent(1000000, 1, buf, sizeof(buf)), "99.99%");
    assert_string_equal(web_format_percent(3, 1, buf, sizeof(buf)), "66.66%");
    assert_string_equal(web_format_percent(4, 4, buf, sizeof(buf)), "0.00%");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listen_valid),
        cmocka_unit_test(test_listen_invalid),
        cmocka_unit_test(test_route_match),
        cmocka_unit_test(test_query_defaults),
        cmocka_unit_test(test_query_valid),
        cmocka_unit_test(test_query_invalid),
        cmocka_unit_test(test_ping_parse_valid),
        cmocka_unit_test(test_ping_parse_invalid),
        cmocka_unit_test(test_path_redact),
        cmocka_unit_test(test_review_routes),
        cmocka_unit_test(test_link_routes),
        cmocka_unit_test(test_link_page),
        cmocka_unit_test(test_review_parse),
        cmocka_unit_test(test_stats_query),
        cmocka_unit_test(test_stats_json),
        cmocka_unit_test(test_monitor_json_http),
        cmocka_unit_test(test_monitor_json_heartbeat),
        cmocka_unit_test(test_result_json_from_store),
        cmocka_unit_test(test_event_json),
        cmocka_unit_test(test_result_from_probe),
        cmocka_unit_test(test_error_json),
        cmocka_unit_test(test_prom_escape),
        cmocka_unit_test(test_prom_histogram),
        cmocka_unit_test(test_metrics_render),
        cmocka_unit_test(test_proc_parse_stat),
        cmocka_unit_test(test_page_banner_all_up),
        cmocka_unit_test(test_page_banner_down),
        cmocka_unit_test(test_page_maintenance),
        cmocka_unit_test(test_page_banner_many_down),
        cmocka_unit_test(test_page_banner_pending),
        cmocka_unit_test(test_page_days),
        cmocka_unit_test(test_page_escaping),
        cmocka_unit_test(test_page_document),
        cmocka_unit_test(test_page_empty),
        cmocka_unit_test(test_page_banner_all_paused),
        cmocka_unit_test(test_page_waiting_first_ping),
        cmocka_unit_test(test_page_phone_window),
        cmocka_unit_test(test_page_legend_and_updated),
        cmocka_unit_test(test_page_contrast),
        cmocka_unit_test(test_day_class),
        cmocka_unit_test(test_format_percent),
    };
    int failed = cmocka_run_group_tests_name("web", tests, NULL, NULL);

    printf("tests: %zu passed, %d failed\n", ARRAY_SIZE(tests) - (size_t)failed, failed);
    return failed ? 1 : 0;
}
