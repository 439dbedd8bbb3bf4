/* Unit tests for the pure half of src/web/inbound.c: the four inbound
 * alert shapes (opsd's own, Alertmanager API v2, Alertmanager webhook v4,
 * PagerDuty Events API v2), parsed and validated whole. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/cleanup.h"
#include "util/sbuf.h"
#include "util/xalloc.h"
#include "web/web-internal.h"

#define NOW 1800000000000ull /* 2027-01-15T08:00:00Z */
#define KEY "0123456789abcdef0123456789abcdef"

static int parse(enum web_inbound_kind k, const char *body, struct web_inbound *ret,
                 struct opsd_error *err)
{
    return web_inbound_parse(k, body, strlen(body), NOW, KEY, ret, err);
}

static const char *label(const struct web_inbound_alert *a, const char *name)
{
    return alert_labels_get(&a->labels, name);
}

/* Fails parsing with code and a message containing msg; ret untouched. */
static void parse_fails(enum web_inbound_kind k, const char *body, int code, const char *msg)
{
    struct web_inbound in;
    struct opsd_error err = { 0 };

    memset(&in, 0x5a, sizeof(in));
    assert_int_equal(parse(k, body, &in, &err), code);
    assert_int_equal(err.code, code);
    if (!strstr(err.msg, msg))
        fail_msg("'%.80s': message '%s' lacks '%s'", body, err.msg, msg);
    for (size_t i = 0; i < sizeof(in); i++)
        assert_int_equal(((unsigned char *)&in)[i], 0x5a);
}

static void test_severity(void **state)
{
    static const struct {
        const char *s;
        enum alert_severity want;
    } ok[] = {
        { "critical", ALERT_SEV_CRITICAL }, { "page", ALERT_SEV_CRITICAL },
        { "high", ALERT_SEV_HIGH },         { "error", ALERT_SEV_HIGH },
        { "medium", ALERT_SEV_MEDIUM },     { "warning", ALERT_SEV_MEDIUM },
        { "low", ALERT_SEV_LOW },           { "info", ALERT_SEV_LOW },
        { "Warning", ALERT_SEV_MEDIUM },
    };
    enum alert_severity sev = ALERT_SEV_LOW;

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
        assert_int_equal(web_inbound_severity(ok[i].s, &sev), 0);
        assert_int_equal(sev, ok[i].want);
    }
    sev = ALERT_SEV_LOW;
    assert_int_equal(web_inbound_severity("sev1", &sev), -EINVAL);
    assert_int_equal(web_inbound_severity(NULL, &sev), -EINVAL);
    assert_int_equal(sev, ALERT_SEV_LOW);
}

static void test_paths(void **state)
{
    (void)state;
    assert_true(web_inbound_path("/api/v1/alerts"));
    assert_true(web_inbound_path("/api/v2/alerts"));
    assert_true(web_inbound_path("/api/v1/inbound/alertmanager"));
    assert_true(web_inbound_path("/v2/enqueue"));
    assert_false(web_inbound_path("/api/v1/alerts/1/ack"));
    assert_false(web_inbound_path("/api/v1/silences"));
    assert_false(web_inbound_path(NULL));
}

static void test_routes(void **state)
{
    struct web_match m;

    (void)state;
    assert_int_equal(web_route_match("POST", "/api/v1/alerts", &m), 0);
    assert_int_equal(m.route, WEB_ROUTE_INBOUND_API);
    assert_true(m.method_ok);
    assert_int_equal(web_route_match("GET", "/api/v1/alerts", &m), 0);
    assert_int_equal(m.route, WEB_ROUTE_ALERTS);
    assert_int_equal(web_route_match("DELETE", "/api/v1/alerts", &m), 0);
    assert_false(m.method_ok);
    assert_string_equal(m.allow, "GET, HEAD, POST");
    assert_int_equal(web_route_match("POST", "/api/v2/alerts", &m), 0);
    assert_int_equal(m.route, WEB_ROUTE_INBOUND_V2);
    assert_int_equal(web_route_match("POST", "/api/v1/inbound/alertmanager", &m), 0);
    assert_int_equal(m.route, WEB_ROUTE_INBOUND_HOOK);
    assert_int_equal(web_route_match("POST", "/v2/enqueue", &m), 0);
    assert_int_equal(m.route, WEB_ROUTE_INBOUND_PD);
    assert_int_equal(web_route_match("GET", "/v2/enqueue", &m), 0);
    assert_false(m.method_ok);
    assert_string_equal(m.allow, "POST");
}

static void test_api(void **state)
{
    struct web_inbound in = { 0 };
    struct opsd_error err = { 0 };

    (void)state;
    assert_int_equal(
        parse(WEB_INBOUND_API,
              "{\"alerts\":[{\"labels\":{\"alertname\":\"DiskFull\",\"host\":\"db1\","
              "\"empty\":\"\"},\"summary\":\"full\",\"message\":\"97%\","
              "\"severity\":\"high\"},"
              "{\"labels\":{\"alertname\":\"X\",\"severity\":\"warning\"},"
              "\"status\":\"resolved\"},"
              "{\"labels\":{\"alertname\":\"Y\"},\"status\":\"resolved\"},"
              "{\"labels\":{\"alertname\":\"Z\"},\"ends_at\":\"2027-01-15T07:59:59Z\"},"
              "{\"labels\":{\"alertname\":\"Q\"},\"starts_at\":1799999990000,"
              "\"ends_at\":\"2027-01-15T09:00:00Z\"}]}",
              &in, &err),
        0);
    assert_int_equal(in.n, 5);
    assert_int_equal(in.v[0].action, SCHED_INBOUND_FIRE);
    assert_int_equal(in.v[0].severity, ALERT_SEV_HIGH);
    assert_false(in.v[0].any_severity);
    assert_string_equal(label(&in.v[0], "severity"), "high");
    assert_string_equal(label(&in.v[0], "host"), "db1");
    assert_null(label(&in.v[0], "empty")); /* empty is absent, as in Prometheus */
    assert_int_equal(in.v[0].labels.n, 3);
    assert_string_equal(in.v[0].summary, "full");
    assert_string_equal(in.v[0].message, "97%");
    /* a label severity is mapped and named: the resolve is exact */
    assert_int_equal(in.v[1].action, SCHED_INBOUND_RESOLVE);
    assert_string_equal(label(&in.v[1], "severity"), "medium");
    assert_false(in.v[1].any_severity);
    /* a resolve naming no severity finds the alert under any */
    assert_int_equal(in.v[2].action, SCHED_INBOUND_RESOLVE);
    assert_true(in.v[2].any_severity);
    assert_string_equal(label(&in.v[2], "severity"), "medium");
    /* an end in the past resolves; in the future it is the expiry */
    assert_int_equal(in.v[3].action, SCHED_INBOUND_RESOLVE);
    assert_int_equal(in.v[4].action, SCHED_INBOUND_FIRE);
    assert_int_equal(in.v[4].starts_ms, 1799999990000ull);
    assert_int_equal(in.v[4].ends_ms, NOW + 3600 * 1000ull);
    web_inbound_clear(&in);
    assert_int_equal(in.n, 0);

    /* a single object and a bare array are taken too */
    assert_int_equal(parse(WEB_INBOUND_API, "{\"labels\":{\"a\":\"b\"}}", &in, &err), 0);
    assert_int_equal(in.n, 1);
    assert_int_equal(in.v[0].severity, ALERT_SEV_MEDIUM);
    web_inbound_clear(&in);
    assert_int_equal(
        parse(WEB_INBOUND_API, "[{\"labels\":{\"a\":\"b\",\"severity\":\"sev9\"}}]", &in, &err), 0);
    assert_string_equal(label(&in.v[0], "severity"), "medium"); /* unknown: medium */
    web_inbound_clear(&in);
    web_inbound_clear(NULL);
}

static void test_api_invalid(void **state)
{
    static const struct {
        const char *body;
        int code;
        const char *msg;
    } bad[] = {
        { "", -EINVAL, "no body" },
        { "{\"alerts\":[", -EINVAL, "not JSON" },
        { "\"x\"", -EINVAL, "object or array" },
        { "{\"alerts\":{}}", -EINVAL, "{\"alerts\": [...]}" },
        { "{\"alerts\":[],\"x\":1}", -EINVAL, "{\"alerts\": [...]}" },
        { "[1]", -EINVAL, "alerts[0]: an alert must be an object" },
        { "{\"summary\":\"x\"}", -EINVAL, "'labels' must be an object" },
        { "{\"labels\":{}}", -EINVAL, "at least one label" },
        { "{\"labels\":{\"severity\":\"high\"}}", -EINVAL, "at least one label" },
        { "{\"labels\":{\"a\":1}}", -EINVAL, "label 'a' must have a string value" },
        { "{\"labels\":{\"bad-name\":\"v\"}}", -EINVAL, "'bad-name' is not a label name" },
        { "{\"labels\":{\"0a\":\"v\"}}", -EINVAL, "is not a label name" },
        { "{\"labels\":{\"a\":\"b\"},\"sevrity\":\"high\"}", -EINVAL, "unknown field 'sevrity'" },
        { "{\"labels\":{\"a\":\"b\"},\"severity\":\"sev1\"}", -EINVAL, "'severity' must be" },
        { "{\"labels\":{\"a\":\"b\"},\"severity\":2}", -EINVAL, "'severity' must be" },
        { "{\"labels\":{\"a\":\"b\"},\"status\":\"burning\"}", -EINVAL, "'status' must be" },
        { "{\"labels\":{\"a\":\"b\"},\"summary\":3}", -EINVAL, "'summary' must be a string" },
        { "{\"labels\":{\"a\":\"b\"},\"ends_at\":\"soon\"}", -EINVAL, "'ends_at' must be" },
        { "{\"labels\":{\"a\":\"b\",\"a\":\"c\"}}", -EINVAL, "not JSON" },
        { "[{\"labels\":{\"a\":\"b\"}},{\"labels\":{\"a\":2}}]", -EINVAL, "alerts[1]: " },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        parse_fails(WEB_INBOUND_API, bad[i].body, bad[i].code, bad[i].msg);
}

static void test_limits(void **state)
{
    struct sbuf sb = SBUF_INIT;
    struct web_inbound in = { 0 };
    struct opsd_error err = { 0 };

    (void)state;
    /* OPSD_MAX_INBOUND_ALERTS is taken, one more is not */
    sbuf_add(&sb, "[", 1);
    for (int i = 0; i < OPSD_MAX_INBOUND_ALERTS; i++)
        sbuf_addf(&sb, "%s{\"labels\":{\"alertname\":\"A\",\"i\":\"%d\"}}", i ? "," : "", i);
    sbuf_add(&sb, "]", 1);
    assert_int_equal(web_inbound_parse(WEB_INBOUND_AM_V2, sb.buf, sb.len, NOW, KEY, &in, &err), 0);
    assert_int_equal(in.n, OPSD_MAX_INBOUND_ALERTS);
    web_inbound_clear(&in);
    sb.buf[sb.len - 1] = ',';
    sbuf_addf(&sb, "{\"labels\":{\"a\":\"b\"}}]");
    parse_fails(WEB_INBOUND_AM_V2, sb.buf, -E2BIG, "at most 1000");
    sbuf_release(&sb);

    /* OPSD_MAX_LABELS labels, then one more */
    sbuf_add(&sb, "{\"labels\":{", 11);
    for (int i = 0; i < OPSD_MAX_LABELS; i++)
        sbuf_addf(&sb, "%s\"l%d\":\"v\"", i ? "," : "", i);
    sbuf_add(&sb, "}}", 2);
    assert_int_equal(parse(WEB_INBOUND_API, sb.buf, &in, &err), 0);
    assert_int_equal(in.v[0].labels.n, OPSD_MAX_LABELS + 1); /* and severity */
    web_inbound_clear(&in);
    sb.len -= 2;
    sbuf_add(&sb, ",\"extra\":\"v\"}}", 14);
    parse_fails(WEB_INBOUND_API, sb.buf, -E2BIG, "at most 32");
    sbuf_release(&sb);

    /* a long value, and labels too big to store */
    sbuf_add(&sb, "{\"labels\":{\"a\":\"", 16);
    for (int i = 0; i < 1025; i++)
        sbuf_add(&sb, "x", 1);
    sbuf_add(&sb, "\"}}", 3);
    parse_fails(WEB_INBOUND_API, sb.buf, -EINVAL, "too long");
    sbuf_release(&sb);
    sbuf_add(&sb, "{\"labels\":{", 11);
    for (int i = 0; i < 20; i++) {
        sbuf_addf(&sb, "%s\"l%d\":\"", i ? "," : "", i);
        for (int j = 0; j < 1000; j++)
            sbuf_add(&sb, "x", 1);
        sbuf_add(&sb, "\"", 1);
    }
    sbuf_add(&sb, "}}", 2);
    parse_fails(WEB_INBOUND_API, sb.buf, -E2BIG, "bytes as JSON");
    sbuf_release(&sb);

    /* a summary and message over their limits are cut, not refused, on a
     * character boundary and marked; at the limit they are kept whole */
    sbuf_puts(&sb, "{\"labels\":{\"a\":\"b\"},\"summary\":\"");
    for (int i = 0; i < 1000; i++)
        sbuf_add(&sb, "\xc3\xa9", 2); /* e acute: 1024 - 3 bytes would split one */
    sbuf_puts(&sb, "\",\"message\":\"");
    for (int i = 0; i < 8192; i++)
        sbuf_add(&sb, "m", 1);
    sbuf_add(&sb, "\"}", 2);
    assert_int_equal(parse(WEB_INBOUND_API, sb.buf, &in, &err), 0);
    assert_int_equal(strlen(in.v[0].summary), 1023); /* 510 e-acutes, U+2026 */
    assert_memory_equal(in.v[0].summary + 1016, "\xc3\xa9\xc3\xa9\xe2\x80\xa6", 7);
    assert_int_equal(strlen(in.v[0].message), 8192);
    assert_int_equal(in.v[0].message[8191], 'm');
    web_inbound_clear(&in);
    sbuf_release(&sb);
    sbuf_puts(&sb, "[{\"labels\":{\"a\":\"b\"},\"annotations\":{\"description\":\"");
    for (int i = 0; i < 9000; i++)
        sbuf_add(&sb, "d", 1);
    sbuf_puts(&sb, "\"}}]");
    assert_int_equal(web_inbound_parse(WEB_INBOUND_AM_V2, sb.buf, sb.len, NOW, KEY, &in, &err), 0);
    assert_int_equal(strlen(in.v[0].message), 8192);
    assert_string_equal(in.v[0].message + 8189, "\xe2\x80\xa6");
    assert_int_equal(in.v[0].message[8188], 'd');
    web_inbound_clear(&in);
    sbuf_release(&sb);

    /* a real buffer that long, holding JSON: only the size is wrong (and a
     * length the body does not have would read past it) */
    {
        char *body = xmalloc(OPSD_MAX_INBOUND_BODY + 2);

        memset(body, ' ', OPSD_MAX_INBOUND_BODY + 1);
        body[OPSD_MAX_INBOUND_BODY + 1] = '\0';
        body[0] = '[';
        body[OPSD_MAX_INBOUND_BODY - 1] = ']';
        assert_int_equal(
            web_inbound_parse(WEB_INBOUND_API, body, OPSD_MAX_INBOUND_BODY, NOW, KEY, &in, &err),
            0);
        assert_int_equal(in.n, 0);
        web_inbound_clear(&in);
        parse_fails(WEB_INBOUND_API, body, -E2BIG, "over"); /* "[ ... ] ": one byte more */
        free(body);
    }
}

static void test_am_v2(void **state)
{
    struct web_inbound in = { 0 };
    struct opsd_error err = { 0 };

    (void)state;
    assert_int_equal(
        parse(WEB_INBOUND_AM_V2,
              "[{\"labels\":{\"alertname\":\"HighLatency\",\"job\":\"api\",\"severity\":"
              "\"critical\"},\"annotations\":{\"summary\":\"p99\",\"description\":\"p99 is 2s\","
              "\"runbook_url\":\"http://x\"},\"startsAt\":\"2027-01-15T07:59:00.123456789Z\","
              "\"endsAt\":\"2027-01-15T08:04:00Z\",\"generatorURL\":\"http://prom/graph\","
              "\"future_field\":true},"
              "{\"labels\":{\"alertname\":\"Gone\"},\"endsAt\":\"2027-01-15T08:00:00Z\"},"
              "{\"labels\":{\"alertname\":\"NoEnd\"},\"startsAt\":\"2030-01-01T00:00:00Z\","
              "\"endsAt\":\"0001-01-01T00:00:00Z\"}]",
              &in, &err),
        0);
    assert_int_equal(in.n, 3);
    assert_int_equal(in.v[0].action, SCHED_INBOUND_FIRE);
    assert_int_equal(in.v[0].severity, ALERT_SEV_CRITICAL);
    assert_string_equal(in.v[0].summary, "p99");
    assert_string_equal(in.v[0].message, "p99 is 2s");
    assert_int_equal(in.v[0].starts_ms, NOW - 60 * 1000 + 123);
    assert_int_equal(in.v[0].ends_ms, NOW + 4 * 60 * 1000);
    /* endsAt == now is over */
    assert_int_equal(in.v[1].action, SCHED_INBOUND_RESOLVE);
    assert_true(in.v[1].any_severity);
    /* no end (Go's zero time): the resolve timeout; a future start is now */
    assert_int_equal(in.v[2].action, SCHED_INBOUND_FIRE);
    assert_int_equal(in.v[2].ends_ms, NOW + SCHED_INBOUND_RESOLVE_TIMEOUT_MS);
    assert_int_equal(in.v[2].starts_ms, NOW);
    web_inbound_clear(&in);

    assert_int_equal(parse(WEB_INBOUND_AM_V2, "[]", &in, &err), 0);
    assert_int_equal(in.n, 0);
    web_inbound_clear(&in);

    parse_fails(WEB_INBOUND_AM_V2, "{\"labels\":{\"a\":\"b\"}}", -EINVAL, "array of alerts");
    parse_fails(WEB_INBOUND_AM_V2, "[{\"labels\":{\"a\":\"b\"},\"annotations\":[]}]", -EINVAL,
                "'annotations' must be an object");
    parse_fails(WEB_INBOUND_AM_V2, "[{\"labels\":{\"a\":\"b\"},\"annotations\":{\"summary\":1}}]",
                -EINVAL, "annotations: 'summary' must be a string");
    parse_fails(WEB_INBOUND_AM_V2, "[{\"labels\":{\"a\":\"b\"},\"startsAt\":\"yesterday\"}]",
                -EINVAL, "'startsAt' must be");
    parse_fails(WEB_INBOUND_AM_V2, "[{\"labels\":{\"a\":\"b\"},\"generatorURL\":5}]", -EINVAL,
                "'generatorURL' must be a string");
}

static void test_am_hook(void **state)
{
    struct web_inbound in = { 0 };
    struct opsd_error err = { 0 };

    (void)state;
    assert_int_equal(
        parse(WEB_INBOUND_AM_HOOK,
              "{\"version\":\"4\",\"status\":\"firing\",\"receiver\":\"opsd\",\"groupKey\":\"{}\","
              "\"alerts\":[{\"status\":\"firing\",\"labels\":{\"alertname\":\"NodeDown\","
              "\"severity\":\"page\"},\"annotations\":{\"message\":\"down\"},"
              "\"startsAt\":\"2027-01-15T07:00:00Z\",\"endsAt\":\"0001-01-01T00:00:00Z\","
              "\"fingerprint\":\"abc\"},"
              "{\"status\":\"resolved\",\"labels\":{\"alertname\":\"Other\"},"
              "\"endsAt\":\"2027-01-15T07:30:00Z\"}]}",
              &in, &err),
        0);
    assert_int_equal(in.n, 2);
    assert_int_equal(in.v[0].action, SCHED_INBOUND_FIRE);
    assert_int_equal(in.v[0].severity, ALERT_SEV_CRITICAL);
    assert_string_equal(label(&in.v[0], "severity"), "critical");
    assert_string_equal(in.v[0].message, "down");
    assert_int_equal(in.v[0].ends_ms, 0); /* the Alertmanager resolves it, no expiry */
    assert_int_equal(in.v[1].action, SCHED_INBOUND_RESOLVE);
    web_inbound_clear(&in);

    parse_fails(WEB_INBOUND_AM_HOOK, "[]", -EINVAL, "an object");
    parse_fails(WEB_INBOUND_AM_HOOK, "{\"version\":\"3\",\"alerts\":[]}", -EINVAL, "\"4\"");
    parse_fails(WEB_INBOUND_AM_HOOK, "{\"version\":4,\"alerts\":[]}", -EINVAL, "\"4\"");
    parse_fails(WEB_INBOUND_AM_HOOK, "{\"version\":\"4\"}", -EINVAL, "'alerts' must be an array");
    parse_fails(WEB_INBOUND_AM_HOOK, "{\"version\":\"4\",\"alerts\":[{\"labels\":{\"a\":\"b\"}}]}",
                -EINVAL, "alerts[0]: 'status'");
}

static void test_pagerduty(void **state)
{
    struct web_inbound in = { 0 };
    struct opsd_error err = { 0 };
    const struct web_inbound_alert *a;

    (void)state;
    assert_int_equal(parse(WEB_INBOUND_PAGERDUTY,
                           "{\"routing_key\":\"opsd_abc\",\"event_action\":\"trigger\","
                           "\"dedup_key\":\"disk-db2\",\"payload\":{\"summary\":\"disk full\","
                           "\"source\":\"db2\",\"severity\":\"warning\",\"component\":\"disk\","
                           "\"group\":\"prod\",\"class\":\"fs\",\"custom_details\":{\"used\":97},"
                           "\"timestamp\":\"2027-01-15T07:55:00Z\"},\"client\":\"x\"}",
                           &in, &err),
                     0);
    assert_int_equal(in.n, 1);
    a = &in.v[0];
    assert_int_equal(a->action, SCHED_INBOUND_FIRE);
    assert_true(a->any_severity);
    assert_int_equal(a->severity, ALERT_SEV_MEDIUM);
    assert_string_equal(label(a, "dedup_key"), "disk-db2");
    assert_string_equal(label(a, "alertname"), "PagerDutyEvent");
    assert_string_equal(label(a, "severity"), "medium");
    assert_int_equal(a->labels.n, 3); /* the source, component, ... may change: not labels */
    assert_string_equal(a->summary, "disk full");
    assert_string_equal(a->message,
                        "source=db2 component=disk group=prod class=fs details={\"used\":97}");
    assert_int_equal(a->starts_ms, NOW - 5 * 60 * 1000);
    assert_string_equal(in.routing_key, "opsd_abc");
    assert_string_equal(in.dedup_key, "disk-db2");
    web_inbound_clear(&in);

    /* no dedup_key: the one given */
    assert_int_equal(parse(WEB_INBOUND_PAGERDUTY,
                           "{\"event_action\":\"trigger\",\"payload\":{\"summary\":\"s\","
                           "\"source\":\"x\",\"severity\":\"critical\"}}",
                           &in, &err),
                     0);
    assert_string_equal(in.dedup_key, KEY);
    assert_string_equal(label(&in.v[0], "dedup_key"), KEY);
    assert_int_equal(in.v[0].severity, ALERT_SEV_CRITICAL);
    assert_null(in.routing_key);
    web_inbound_clear(&in);

    assert_int_equal(parse(WEB_INBOUND_PAGERDUTY,
                           "{\"event_action\":\"acknowledge\",\"dedup_key\":\"k\"}", &in, &err),
                     0);
    assert_int_equal(in.v[0].action, SCHED_INBOUND_ACK);
    assert_true(in.v[0].any_severity);
    web_inbound_clear(&in);
    assert_int_equal(parse(WEB_INBOUND_PAGERDUTY,
                           "{\"event_action\":\"resolve\",\"dedup_key\":\"k\"}", &in, &err),
                     0);
    assert_int_equal(in.v[0].action, SCHED_INBOUND_RESOLVE);
    web_inbound_clear(&in);

    /* custom_details cut to MAX_PD_DETAILS (2048) bytes inside a two-byte
     * character: the message stays UTF-8 (jansson, and so every answer and
     * notification carrying it, refuses anything else) */
    {
        struct sbuf sb = SBUF_INIT;
        json_t *j;

        sbuf_addf(&sb, "{\"event_action\":\"trigger\",\"payload\":{\"summary\":\"s\","
                       "\"source\":\"x\",\"severity\":\"info\",\"custom_details\":{\"k\":\"");
        for (int i = 0; i < 2041; i++) /* {"k":" is 6 bytes: the \u00e9 spans 2047-2048 */
            sbuf_add(&sb, "a", 1);
        sbuf_addf(&sb, "\u00e9\"}}}");
        assert_int_equal(parse(WEB_INBOUND_PAGERDUTY, sb.buf, &in, &err), 0);
        j = json_string(in.v[0].message);
        assert_non_null(j);
        json_decref(j);
        assert_true(strlen(in.v[0].message) < strlen("source=x details=") + 2048);
        web_inbound_clear(&in);
        sbuf_release(&sb);
    }

    parse_fails(WEB_INBOUND_PAGERDUTY, "[]", -EINVAL, "a JSON object");
    parse_fails(WEB_INBOUND_PAGERDUTY, "{\"event_action\":\"explode\"}", -EINVAL,
                "'event_action' must be");
    parse_fails(WEB_INBOUND_PAGERDUTY, "{\"event_action\":\"resolve\"}", -EINVAL,
                "'dedup_key' is required to resolve");
    parse_fails(WEB_INBOUND_PAGERDUTY, "{\"event_action\":\"resolve\",\"dedup_key\":\"\"}", -EINVAL,
                "1 to 255");
    parse_fails(WEB_INBOUND_PAGERDUTY, "{\"event_action\":\"resolve\",\"dedup_key\":5}", -EINVAL,
                "1 to 255");
    parse_fails(WEB_INBOUND_PAGERDUTY,
                "{\"event_action\":\"resolve\",\"dedup_key\":\"k\",\"routing_key\":7}", -EINVAL,
                "'routing_key' must be");
    parse_fails(WEB_INBOUND_PAGERDUTY, "{\"event_action\":\"trigger\",\"dedup_key\":\"k\"}",
                -EINVAL, "'payload' is required");
    parse_fails(WEB_INBOUND_PAGERDUTY,
                "{\"event_action\":\"trigger\",\"payload\":{\"source\":\"x\",\"severity\":"
                "\"info\"}}",
                -EINVAL, "'payload.summary'");
    parse_fails(WEB_INBOUND_PAGERDUTY,
                "{\"event_action\":\"trigger\",\"payload\":{\"summary\":\"s\",\"severity\":"
                "\"info\"}}",
                -EINVAL, "'payload.source'");
    parse_fails(WEB_INBOUND_PAGERDUTY,
                "{\"event_action\":\"trigger\",\"payload\":{\"summary\":\"s\",\"source\":\"x\","
                "\"severity\":\"high\"}}",
                -EINVAL, "critical, error, warning or info");
    parse_fails(WEB_INBOUND_PAGERDUTY,
                "{\"event_action\":\"trigger\",\"payload\":{\"summary\":\"s\",\"source\":\"x\","
                "\"severity\":\"info\",\"group\":1}}",
                -EINVAL, "'payload.group' must be a string");
    parse_fails(WEB_INBOUND_PAGERDUTY,
                "{\"event_action\":\"trigger\",\"payload\":{\"summary\":\"s\",\"source\":\"x\","
                "\"severity\":\"info\",\"timestamp\":\"then\"}}",
                -EINVAL, "'timestamp' must be");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_severity),    cmocka_unit_test(test_paths),
        cmocka_unit_test(test_routes),      cmocka_unit_test(test_api),
        cmocka_unit_test(test_api_invalid), cmocka_unit_test(test_limits),
        cmocka_unit_test(test_am_v2),       cmocka_unit_test(test_am_hook),
        cmocka_unit_test(test_pagerduty),
    };
    int failed = cmocka_run_group_tests_name("web-inbound", tests, NULL, NULL);

    printf("tests: %zu passed, %d failed\n", ARRAY_SIZE(tests) - (size_t)failed, failed);
    return failed ? 1 : 0;
}
