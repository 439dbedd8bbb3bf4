/* Unit tests for notification builders: the exact bytes each channel gets
 * for one fixed group (two firing alerts, one resolved), the HMAC signer
 * against RFC 4231 test case 2, escaping for HTML/Slack/forms, cuts at the
 * channels' limits that never split a UTF-8 sequence or an HTML entity, CR/LF
 * injection into email headers, and the template rules. Expected JSON was
 * checked by hand against each API's documentation; the webhook signature
 * was recomputed with Python's hmac module. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "notify/notify.h"
#include "util/opsd_limits.h"
#include "util/cleanup.h"

static const struct notify_label l1[] = { { "env", "prod" }, { "host", "db-1" } };
static const struct notify_label l2[] = { { "env", "prod" } };
static const struct notify_label gl[] = { { "team", "core" } };
static const struct notify_alert alerts[] = {
    { .id = 11,
      .fingerprint = "a1b2c3",
      .status = NOTIFY_FIRING,
      .severity = NOTIFY_CRITICAL,
      .monitor = "db",
      .labels = l1,
      .n_labels = 2,
      .summary = "db down",
      .message = "connection refused <5432>",
      .starts_at_ms = 1795455000250ULL,
      .ack_url = "https://ops.example/a/1?t=x&y=1",
      .resolve_url = "https://ops.example/r/1" },
    { .id = 12,
      .fingerprint = "d4e5f6",
      .status = NOTIFY_FIRING,
      .severity = NOTIFY_HIGH,
      .monitor = "api",
      .labels = l2,
      .n_labels = 1,
      .summary = "5xx rate 12% & rising",
      .starts_at_ms = 1795455900000ULL },
    { .fingerprint = "0789ab",
      .status = NOTIFY_RESOLVED,
      .severity = NOTIFY_LOW,
      .monitor = "web",
      .labels = l2,
      .n_labels = 1,
      .summary = "slow",
      .starts_at_ms = 1795455000000ULL,
      .ends_at_ms = 1795456200000ULL,
      .ack_url = "https://ops.example/a/3" },
};
static const struct notify_group group = {
    .group_key = "{}:{team=\"core\"}",
    .idempotency_key = "n-42",
    .external_url = "https://ops.example",
    .group_labels = gl,
    .n_group_labels = 1,
    .alerts = alerts,
    .n_alerts = 3,
    .now_ms = 1795456800000ULL,
    .reason = "escalation",
};
static const char exp_webhook[] =
    "{\"version\":\"1\",\"idempotency_key\":\"n-42\",\"group_key\":\"{}:{team=\\\"core\\\"}\""
    ",\"status\":\"firing\",\"reason\":\"escalation\",\"receiver\":\"hook\",\"external_url\":"
    "\"https://ops.example\",\"title\":\"[FIRING:2] critical db, api\",\"group_labels\":{\"te"
    "am\":\"core\"},\"truncated_alerts\":0,\"alerts\":[{\"id\":11,\"fingerprint\":\"a1b2c3\","
    "\"status\":\"firing\",\"acknowledged\":false,\"severity\":\"critical\",\"monitor\":\"db\""
    ",\"labels\":{\"env\":\"prod\",\"host\":\"db-1\"},\"summary\":\"db down\",\"message\":\"c"
    "onnection refused <5432>\",\"starts_at\":\"2026-11-23T17:30:00.25Z\",\"ends_at\":null,\""
    "ack_url\":\"https://ops.example/a/1?t=x&y=1\",\"resolve_url\":\"https://ops.example/r/1\""
    "},{\"id\":12,\"fingerprint\":\"d4e5f6\",\"status\":\"firing\",\"acknowledged\":false,\"s"
    "everity\":\"high\",\"monitor\":\"api\",\"labels\":{\"env\":\"prod\"},\"summary\":\"5xx r"
    "ate 12% & rising\",\"message\":\"\",\"starts_at\":\"2026-11-23T17:45:00Z\",\"ends_at\":n"
    "ull,\"ack_url\":null,\"resolve_url\":null},{\"id\":null,\"fingerprint\":\"0789ab\",\"sta"
    "tus\":\"resolved\",\"acknowledged\":false,\"severity\":\"low\",\"monitor\":\"web\",\"lab"
    "els\":{\"env\":\"prod\"},\"summary\":\"slow\",\"message\":\"\",\"starts_at\":\"2026-11-2"
    "3T17:30:00Z\",\"ends_at\":\"2026-11-23T17:50:00Z\",\"ack_url\":\"https://ops.example/a/3"
    "\",\"resolve_url\":null}]}";
static const char exp_am[] =
    "{\"receiver\":\"am\",\"status\":\"firing\",\"alerts\":[{\"status\":\"firing\",\"labels\":{"
    "\"alertname\":\"db\",\"env\":\"prod\",\"host\":\"db-1\",\"severity\":\"critical\"},"
    "\"annotations\":{\"ack_url\":\"https://ops.example/a/1?t=x&y=1\",\"description\":\"connection "
    "refused <5432>\",\"resolve_url\":\"https://ops.example/r/1\",\"summary\":\"db "
    "down\"},\"startsAt\":\"2026-11-23T17:30:00.25Z\",\"endsAt\":\"0001-01-01T00:00:00Z\","
    "\"generatorURL\":\"https://"
    "ops.example\",\"fingerprint\":\"a1b2c3\"},{\"status\":\"firing\",\"labels\":{\"alertname\":"
    "\"api\",\"env\":\"prod\",\"severity\":\"high\"},\"annotations\":{\"summary\":\"5xx rate 12% & "
    "rising\"},\"startsAt\":\"2026-11-23T17:45:00Z\",\"endsAt\":\"0001-01-01T00:00:00Z\","
    "\"generatorURL\":\"https://"
    "ops.example\",\"fingerprint\":\"d4e5f6\"},{\"status\":\"resolved\",\"labels\":{\"alertname\":"
    "\"web\",\"env\":\"prod\",\"severity\":\"low\"},\"annotations\":{\"ack_url\":\"https://"
    "ops.example/a/"
    "3\",\"summary\":\"slow\"},\"startsAt\":\"2026-11-23T17:30:00Z\",\"endsAt\":\"2026-11-23T17:50:"
    "00Z\",\"generatorURL\":\"https://"
    "ops.example\",\"fingerprint\":\"0789ab\"}],\"groupLabels\":{\"team\":\"core\"},"
    "\"commonLabels\":{\"env\":\"prod\"},\"commonAnnotations\":{},\"externalURL\":\"https://"
    "ops.example\",\"version\":\"4\",\"groupKey\":\"{}:{team=\\\"core\\\"}\",\"truncatedAlerts\":"
    "0}";
static const char exp_slack[] =
    "{\"text\":\"[FIRING:2] critical db, "
    "api\",\"blocks\":[{\"type\":\"header\",\"text\":{\"type\":\"plain_text\",\"text\":\"[FIRING:2]"
    " critical db, "
    "api\"}},{\"type\":\"section\",\"text\":{\"type\":\"mrkdwn\",\"text\":\"\xf0\x9f\x94\xb4"
    " db (critical) FIRING\\nsince 2026-11-23 17:30 UTC (29m)\\ndb down\\nconnection refused "
    "&lt;5432&gt;\\nAck: https://ops.example/a/1?t=x&amp;y=1\\nResolve: "
    "https://ops.example/r/"
    "1\"}},{\"type\":\"actions\",\"elements\":[{\"type\":\"button\",\"text\":{\"type\":\"plain_"
    "text\",\"text\":\"Acknowledge\"},\"url\":\"https://ops.example/a/"
    "1?t=x&y=1\",\"style\":\"primary\"},{\"type\":\"button\",\"text\":{\"type\":\"plain_text\","
    "\"text\":\"Resolve\"},\"url\":\"https://ops.example/r/"
    "1\"}]},{\"type\":\"section\",\"text\":{\"type\":\"mrkdwn\",\"text\":\"\xf0\x9f\x94\xb4"
    " api (high) FIRING\\nsince 2026-11-23 17:45 UTC (15m)\\n5xx rate 12% &amp; "
    "rising\"}},{\"type\":\"section\",\"text\":{\"type\":\"mrkdwn\",\"text\":\"\xe2\x9c\x85"
    " web (low) RESOLVED\\nsince 2026-11-23 17:30 UTC (20m)\\nslow\"}}]}";
static const char exp_telegram[] =
    "{\"chat_id\":\"-100200\",\"text\":\"<b>[FIRING:2] critical db, api</b>\\n\\n\xf0\x9f\x94\xb4"
    " db (critical) FIRING\\nsince 2026-11-23 17:30 UTC (29m)\\ndb down\\nconnection refused "
    "&lt;5432&gt;\\nAck: https://ops.example/a/1?t=x&amp;y=1\\nResolve: "
    "https://ops.example/r/1\\n\\n\xf0\x9f\x94\xb4"
    " api (high) FIRING\\nsince 2026-11-23 17:45 UTC (15m)\\n5xx rate 12% &amp; "
    "rising\\n\\n\xe2\x9c\x85"
    " web (low) RESOLVED\\nsince 2026-11-23 17:30 UTC "
    "(20m)\\nslow\",\"parse_mode\":\"HTML\",\"disable_web_page_preview\":true}";
static const char exp_pd1[] =
    "{\"routing_key\":\"R0UTING\",\"event_action\":\"trigger\",\"dedup_key\":\"a1b2c3\","
    "\"payload\":{\"summary\":\"[critical] db: db "
    "down\",\"source\":\"db-1\",\"severity\":\"critical\",\"timestamp\":\"2026-11-23T17:30:00."
    "25Z\",\"component\":\"db\",\"group\":\"{}:{team=\\\"core\\\"}\",\"custom_details\":{"
    "\"monitor\":\"db\",\"message\":\"connection refused "
    "<5432>\",\"labels\":{\"env\":\"prod\",\"host\":\"db-1\"}}},\"links\":[{\"href\":\"https://"
    "ops.example/a/1?t=x&y=1\",\"text\":\"Acknowledge in "
    "opsd\"},{\"href\":\"https://ops.example/r/1\",\"text\":\"Resolve in "
    "opsd\"}],\"client\":\"opsd\",\"client_url\":\"https://ops.example\"}";
static const char exp_pd2[] =
    "{\"routing_key\":\"R0UTING\",\"event_action\":\"trigger\",\"dedup_key\":\"d4e5f6\","
    "\"payload\":{\"summary\":\"[high] api: 5xx rate 12% & "
    "rising\",\"source\":\"api\",\"severity\":\"error\",\"timestamp\":\"2026-11-23T17:45:00Z\","
    "\"component\":\"api\",\"group\":\"{}:{team=\\\"core\\\"}\",\"custom_details\":{\"monitor\":"
    "\"api\",\"message\":\"\",\"labels\":{\"env\":\"prod\"}}},\"links\":[],\"client\":\"opsd\","
    "\"client_url\":\"https://ops.example\"}";
static const char exp_pd3[] =
    "{\"routing_key\":\"R0UTING\",\"event_action\":\"resolve\",\"dedup_key\":\"0789ab\"}";

/* The alert text both plain-text channels (ntfy, email, SMS) carry. */
#define PLAIN_ALERTS                                                                               \
    "\xf0\x9f\x94\xb4 db (critical) FIRING\n"                                                      \
    "since 2026-11-23 17:30 UTC (29m)\n"                                                           \
    "db down\n"                                                                                    \
    "connection refused <5432>\n"                                                                  \
    "Ack: https://ops.example/a/1?t=x&y=1\n"                                                       \
    "Resolve: https://ops.example/r/1\n"                                                           \
    "\n"                                                                                           \
    "\xf0\x9f\x94\xb4 api (high) FIRING\n"                                                         \
    "since 2026-11-23 17:45 UTC (15m)\n"                                                           \
    "5xx rate 12% & rising\n"                                                                      \
    "\n"                                                                                           \
    "\xe2\x9c\x85 web (low) RESOLVED\n"                                                            \
    "since 2026-11-23 17:30 UTC (20m)\n"                                                           \
    "slow"

static const char *const to_numbers[] = { "+15551234567", "whatsapp:+4917600000" };

static void build_ok(const struct notify_receiver *r, const struct notify_group *g,
                     struct notify_request_list *l, size_t n)
{
    struct opsd_error err = { 0 };
    int k = notify_build(r, g, l, &err);

    if (k < 0)
        fail_msg("notify_build: %s", err.msg);
    assert_int_equal(l->n, n);
    for (size_t i = 0; i < l->n; i++)
        assert_int_equal(strlen(l->v[i].body), l->v[i].body_len);
}

static void assert_header(const struct notify_request *q, size_t i, const char *want)
{
    assert_true(i < q->n_headers);
    assert_string_equal(q->headers[i], want);
}

/* Counts code points of valid UTF-8, failing on invalid input. */
static size_t utf8_count(const char *s, size_t len)
{
    struct sbuf sb = SBUF_INIT;
    size_t n = 0;

    notify_utf8_clean(&sb, s);
    assert_int_equal(sb.len, len); /* nothing was replaced: s is valid */
    assert_memory_equal(sb.buf, s, len);
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xc0) != 0x80;
    sbuf_release(&sb);
    return n;
}

static void test_hmac_rfc4231(void **state)
{
    char hex[65];

    /* RFC 4231 section 4.3, test case 2. */
    notify_hmac_sha256_hex("Jefe", 4, "what do ya want for nothing?", 28, hex);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* The signed string is "<timestamp>.<body>". */
    notify_sign("secret", 1700000000, "{}", 2, hex);
    assert_string_equal(hex, "b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163");
}

static void test_escaping(void **state)
{
    struct sbuf sb = SBUF_INIT;

    notify_escape(&sb, "a<b> & \"c\" 'd'", NOTIFY_ESC_HTML);
    assert_string_equal(sb.buf, "a&lt;b&gt; &amp; &quot;c&quot; 'd'");
    sbuf_reset(&sb);
    notify_escape(&sb, "<!here> & \"x\"", NOTIFY_ESC_SLACK);
    assert_string_equal(sb.buf, "&lt;!here&gt; &amp; \"x\"");
    sbuf_reset(&sb);
    notify_escape(&sb, "<&>", NOTIFY_ESC_NONE);
    assert_string_equal(sb.buf, "<&>");
    sbuf_reset(&sb);
    notify_form_encode(&sb, "a b&c=d+\xc3\xa9/~%\n");
    assert_string_equal(sb.buf, "a+b%26c%3Dd%2B%C3%A9%2F~%25%0A");
    sbuf_reset(&sb);
    notify_header_clean(&sb, "x\r\nBcc: evil@example.com\t\x7f");
    assert_string_equal(sb.buf, "x  Bcc: evil@example.com  ");
    sbuf_reset(&sb);
    /* Invalid UTF-8 (stray continuation, overlong '/', surrogate, cut tail)
     * becomes U+FFFD so jansson accepts it. */
    notify_utf8_clean(&sb, "a\x80"
                           "b\xc0\xaf"
                           "c\xed\xa0\x80"
                           "d\xe2\x82");
    assert_string_equal(sb.buf, "a\xef\xbf\xbd"
                                "b\xef\xbf\xbd\xef\xbf\xbd"
                                "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                                "d\xef\xbf\xbd\xef\xbf\xbd");
    sbuf_release(&sb);
}

static void test_utf8_prefix(void **state)
{
    const char *s = "h\xc3\xa9llo";       /* héllo */
    const char *e = "a\xf0\x9f\x94\xb4z"; /* a, U+1F534, z */
    const char *m = "ab &amp; cd";

    assert_int_equal(notify_utf8_prefix(s, strlen(s), 2, false, false), 3);
    assert_int_equal(notify_utf8_prefix(s, strlen(s), 1, false, false), 1);
    assert_int_equal(notify_utf8_prefix(s, strlen(s), 99, false, false), strlen(s));
    /* The emoji is one code point but two UTF-16 units (Telegram's count). */
    assert_int_equal(notify_utf8_prefix(e, strlen(e), 2, false, false), 5);
    assert_int_equal(notify_utf8_prefix(e, strlen(e), 2, true, false), 1);
    assert_int_equal(notify_utf8_prefix(e, strlen(e), 3, true, false), 5);
    /* Never inside an entity: cutting at "&am" backs off to before '&'. */
    assert_int_equal(notify_utf8_prefix(m, strlen(m), 5, false, true), 3);
    assert_int_equal(notify_utf8_prefix(m, strlen(m), 5, false, false), 5);
    assert_int_equal(notify_utf8_prefix(m, strlen(m), 8, false, true), 8);
}

static void test_times(void **state)
{
    char buf[64];

    assert_string_equal(notify_rfc3339(0, buf, sizeof(buf)), "0001-01-01T00:00:00Z");
    assert_string_equal(notify_rfc3339(1795456800000ULL, buf, sizeof(buf)), "2026-11-23T18:00:00Z");
    assert_string_equal(notify_rfc3339(1795456800250ULL, buf, sizeof(buf)),
                        "2026-11-23T18:00:00.25Z");
    assert_string_equal(notify_rfc3339(1795456800007ULL, buf, sizeof(buf)),
                        "2026-11-23T18:00:00.007Z");
    assert_string_equal(notify_rfc5322_date(1795456800000ULL, buf, sizeof(buf)),
                        "Mon, 23 Nov 2026 18:00:00 +0000");
    assert_string_equal(notify_rfc5322_date(951782400000ULL, buf, sizeof(buf)),
                        "Tue, 29 Feb 2000 00:00:00 +0000");
}

static void test_template(void **state)
{
    struct sbuf sb = SBUF_INIT;
    struct opsd_error err = { 0 };
    struct notify_group g = group;

    notify_render(&sb, NOTIFY_DEFAULT_SUBJECT, &group, NULL, NOTIFY_ESC_NONE);
    assert_string_equal(sb.buf, "[FIRING:2] critical db, api");
    sbuf_reset(&sb);
    /* All resolved: the subject counts the resolved ones. */
    g.alerts = &alerts[2];
    g.n_alerts = 1;
    notify_render(&sb, NOTIFY_DEFAULT_SUBJECT, &g, NULL, NOTIFY_ESC_NONE);
    assert_string_equal(sb.buf, "[RESOLVED:1] low web");
    sbuf_reset(&sb);
    notify_render(&sb,
                  "{{x} {firing}/{resolved} {label.host}{label.none}\nhost={label.host}\n"
                  "none={label.none}\n{bogus}",
                  &group, &alerts[0], NOTIFY_ESC_HTML);
    /* {firing} is a subject field: shown as typed in an alert template. The
     * line with only an empty field went; the literal-only line stayed. */
    assert_string_equal(sb.buf, "{x} {firing}/{resolved} db-1\nhost=db-1\n{bogus}");
    sbuf_reset(&sb);
    notify_render(&sb, "{monitor}: {message}", &group, &alerts[0], NOTIFY_ESC_HTML);
    assert_string_equal(sb.buf, "db: connection refused &lt;5432&gt;");
    sbuf_release(&sb);

    assert_int_equal(notify_template_check(NOTIFY_DEFAULT_ALERT, true, &err), 0);
    assert_int_equal(notify_template_check(NOTIFY_DEFAULT_SUBJECT, false, &err), 0);
    assert_int_equal(notify_template_check("{{ {label.team}", true, &err), 0);
    assert_int_equal(notify_template_check("{monitor}", false, &err), -EINVAL);
    assert_string_equal(err.msg, "unknown field 'monitor' in subject template");
    assert_int_equal(notify_template_check("x {since", true, &err), -EINVAL);
    assert_string_equal(err.msg, "unterminated field at '{since' in template");
}

static void test_webhook_signed(void **state)
{
    struct notify_receiver r = {
        .kind = NOTIFY_WEBHOOK, .name = "hook", .url = "https://hook.example/in", .secret = "s3cret"
    };
    struct notify_request_list l = { 0 };
    struct notify_group g = group;
    char hex[65], want[128];

    build_ok(&r, &group, &l, 1);
    assert_string_equal(l.v[0].method, "POST");
    assert_string_equal(l.v[0].url, "https://hook.example/in");
    assert_string_equal(l.v[0].content_type, "application/json");
    assert_string_equal(l.v[0].body, exp_webhook);
    assert_int_equal(l.v[0].n_headers, 3);
    assert_header(&l.v[0], 0, "Idempotency-Key: n-42");
    assert_header(&l.v[0], 1, "X-Opsd-Timestamp: 1795456800");
    /* Computed independently: python3 hmac.new(b"s3cret", b"1795456800." + body, sha256). */
    assert_header(&l.v[0], 2,
                  "X-Opsd-Signature: "
                  "sha256=b465212feb0b1dea93c976318b7ba8f34860282a3cc168a27e39102d97dd9f07");
    notify_sign("s3cret", 1795456800, l.v[0].body, l.v[0].body_len, hex);
    snprintf(want, sizeof(want), "X-Opsd-Signature: sha256=%s", hex);
    assert_header(&l.v[0], 2, want);
    notify_request_list_free(&l);
    assert_null(l.v);

    /* No secret, no signature headers; the key cannot add a header. */
    r.secret = NULL;
    g.idempotency_key = "n-42\r\nX-Evil: 1";
    build_ok(&r, &g, &l, 1);
    assert_int_equal(l.v[0].n_headers, 1);
    assert_header(&l.v[0], 0, "Idempotency-Key: n-42  X-Evil: 1");
    notify_request_list_free(&l);
}

static void test_webhook_alertmanager(void **state)
{
    struct notify_receiver r = { .kind = NOTIFY_WEBHOOK,
                                 .name = "am",
                                 .url = "https://hook.example/am",
                                 .format = NOTIFY_FORMAT_ALERTMANAGER };
    struct notify_request_list l = { 0 };
    json_t *root, *a;
    const char *key;
    json_t *v;
    static const char *const top[] = { "receiver",       "status",       "alerts",
                                       "groupLabels",    "commonLabels", "commonAnnotations",
                                       "externalURL",    "version",      "groupKey",
                                       "truncatedAlerts" };
    static const char *const fields[] = { "status", "labels",       "annotations", "startsAt",
                                          "endsAt", "generatorURL", "fingerprint" };
    size_t i = 0;

    build_ok(&r, &group, &l, 1);
    assert_string_equal(l.v[0].body, exp_am);
    /* And structurally: exactly Alertmanager's v4 field names. */
    root = json_loads(l.v[0].body, 0, NULL);
    assert_non_null(root);
    assert_int_equal(json_object_size(root), 10);
    json_object_foreach(root, key, v) assert_string_equal(key, top[i++]);
    assert_string_equal(json_string_value(json_object_get(root, "version")), "4");
    a = json_array_get(json_object_get(root, "alerts"), 0);
    i = 0;
    json_object_foreach(a, key, v) assert_string_equal(key, fields[i++]);
    assert_int_equal(i, 7);
    assert_string_equal(json_string_value(json_object_get(a, "endsAt")), "0001-01-01T00:00:00Z");
    json_decref(root);
    notify_request_list_free(&l);
}

static void test_webhook_truncated_alerts(void **state)
{
    struct notify_receiver r = { .kind = NOTIFY_WEBHOOK,
                                 .url = "http://x",
                                 .format = NOTIFY_FORMAT_ALERTMANAGER };
    struct notify_alert *many = calloc(NOTIFY_MAX_ALERTS + 5, sizeof(*many));
    struct notify_group g = group;
    struct notify_request_list l = { 0 };
    json_t *root;

    for (size_t i = 0; i < NOTIFY_MAX_ALERTS + 5; i++)
        many[i] = alerts[i % 3];
    g.alerts = many;
    g.n_alerts = NOTIFY_MAX_ALERTS + 5;
    build_ok(&r, &g, &l, 1);
    root = json_loads(l.v[0].body, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(root, "truncatedAlerts")), 5);
    assert_int_equal(json_array_size(json_object_get(root, "alerts")), NOTIFY_MAX_ALERTS);
    json_decref(root);
    notify_request_list_free(&l);
    free(many);
}

static void test_slack(void **state)
{
    struct notify_receiver r = { .kind = NOTIFY_SLACK,
                                 .name = "sl",
                                 .url = "https://hooks.slack.com/services/T/B/X" };
    struct notify_request_list l = { 0 };

    build_ok(&r, &group, &l, 1);
    assert_string_equal(l.v[0].url, "https://hooks.slack.com/services/T/B/X");
    assert_string_equal(l.v[0].body, exp_slack);
    assert_int_equal(l.v[0].n_headers, 0);
    notify_request_list_free(&l);
}

static void test_slack_many_alerts(void **state)
{
    struct notify_receiver r = { .kind = NOTIFY_SLACK, .url = "https://hooks.slack.com/x" };
    struct notify_alert many[NOTIFY_SLACK_MAX_ALERTS + 3];
    struct notify_group g = group;
    struct notify_request_list l = { 0 };
    json_t *root, *blocks, *last;

    for (size_t i = 0; i < ARRAY_SIZE(many); i++)
        many[i] = alerts[1]; /* no links: one block each */
    g.alerts = many;
    g.n_alerts = ARRAY_SIZE(many);
    build_ok(&r, &g, &l, 1);
    root = json_loads(l.v[0].body, 0, NULL);
    blocks = json_object_get(root, "blocks");
    assert_int_equal(json_array_size(blocks), 1 + NOTIFY_SLACK_MAX_ALERTS + 1);
    last = json_array_get(blocks, json_array_size(blocks) - 1);
    assert_string_equal(json_string_value(json_object_get(last, "type")), "context");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(last, "elements"), 0), "text")),
                        "\xe2\x80\xa6"
                        "and 3 more in https://ops.example");
    json_decref(root);
    notify_request_list_free(&l);
}

static void test_telegram(void **state)
{
    struct notify_receiver r = {
        .kind = NOTIFY_TELEGRAM, .name = "tg", .secret = "123:ABC", .target = "-100200"
    };
    struct notify_request_list l = { 0 };
    struct opsd_error err = { 0 };

    build_ok(&r, &group, &l, 1);
    assert_string_equal(l.v[0].url, "https://api.telegram.org/bot123:ABC/sendMessage");
    assert_string_equal(l.v[0].body, exp_telegram);
    notify_request_list_free(&l);

    r.url = "http://tg.local:8081";
    build_ok(&r, &group, &l, 1);
    assert_string_equal(l.v[0].url, "http://tg.local:8081/bot123:ABC/sendMessage");
    notify_request_list_free(&l);

    r.secret = "123/../x";
    assert_int_equal(notify_build(&r, &group, &l, &err), -EINVAL);
    assert_null(l.v);
    assert_string_equal(err.msg, "receiver 'tg': malformed telegram bot token");
}

/* A long message of 3-byte characters and entities: the text stays within
 * 4096 UTF-16 units, is valid UTF-8, breaks no entity, and says it was cut. */
static void test_telegram_truncation(void **state)
{
    struct notify_receiver r = {
        .kind = NOTIFY_TELEGRAM, .secret = "1:A", .target = "1", .alert_template = "{message}"
    };
    struct notify_alert a = alerts[0];
    struct notify_group g = group;
    struct notify_request_list l = { 0 };
    struct sbuf msg = SBUF_INIT;
    const char *text, *note = "\n\xe2\x80\xa6 (truncated)";
    json_t *root;
    size_t len, units = 0, amp = 0;

    for (int i = 0; i < 700; i++)
        sbuf_puts(&msg, "\xe2\x82\xac<\xf0\x9f\x94\xa5"); /* euro sign, '<', U+1F525 */
    a.message = msg.buf;
    g.alerts = &a;
    g.n_alerts = 1;
    r.alert_template = "{message}\n{message}"; /* 2 x 2048 bytes cap */
    build_ok(&r, &g, &l, 1);
    root = json_loads(l.v[0].body, 0, NULL);
    text = json_string_value(json_object_get(root, "text"));
    len = strlen(text);
    utf8_count(text, len);
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)text[i];
        size_t k = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;

        units += k == 4 ? 2 : 1;
        i += k;
    }
    assert_true(units <= NOTIFY_TELEGRAM_MAX);
    assert_true(units > NOTIFY_TELEGRAM_MAX - 20);
    assert_true(len > strlen(note));
    assert_string_equal(text + len - strlen(note), note);
    /* Every '&' starts a whole "&lt;". */
    for (const char *p = text; (p = strchr(p, '&')); p++, amp++)
        assert_memory_equal(p, "&lt;", 4);
    assert_true(amp > 100);
    json_decref(root);
    notify_request_list_free(&l);
    sbuf_release(&msg);
}

static void test_pagerduty(void **state)
{
    struct notify_receiver r = { .kind = NOTIFY_PAGERDUTY, .name = "pd", .secret = "R0UTING" };
    struct notify_request_list l = { 0 };
    struct notify_alert acked = alerts[1];
    struct notify_group g = group;

    build_ok(&r, &group, &l, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(l.v[i].url, "https://events.pagerduty.com/v2/enqueue");
        assert_string_equal(l.v[i].content_type, "application/json");
    }
    assert_string_equal(l.v[0].body, exp_pd1);
    assert_string_equal(l.v[1].body, exp_pd2);
    assert_string_equal(l.v[2].body, exp_pd3);
    notify_request_list_free(&l);

    acked.acknowledged = true;
    g.alerts = &acked;
    g.n_alerts = 1;
    build_ok(&r, &g, &l, 1);
    assert_string_equal(l.v[0].body,
                        "{\"routing_key\":\"R0UTING\",\"event_action\":\"acknowledge\","
                        "\"dedup_key\":\"d4e5f6\"}");
    notify_request_list_free(&l);
}

static void test_pagerduty_limits(void **state)
{
    struct notify_receiver r = { .kind = NOTIFY_PAGERDUTY, .secret = "k" };
    struct notify_alert a = alerts[0];
    struct notify_group g = group;
    struct notify_request_list l = { 0 };
    struct opsd_error err = { 0 };
    struct sbuf s = SBUF_INIT;
    char fp[300];
    const char *summary;
    json_t *root;

    for (int i = 0; i < 1100; i++)
        sbuf_puts(&s, "\xc3\xa9"); /* 2-byte é: the cut must fall between pairs */
    a.summary = s.buf;
    g.alerts = &a;
    g.n_alerts = 1;
    build_ok(&r, &g, &l, 1);
    root = json_loads(l.v[0].body, 0, NULL);
    summary = json_string_value(json_object_get(json_object_get(root, "payload"), "summary"));
    assert_int_equal(utf8_count(summary, strlen(summary)), NOTIFY_PD_SUMMARY_MAX);
    assert_string_equal(summary + strlen(summary) - 3, "\xe2\x80\xa6");
    assert_memory_equal(summary, "[critical] db: \xc3\xa9", 17);
    json_decref(root);
    notify_request_list_free(&l);
    sbuf_release(&s);

    memset(fp, 'f', sizeof(fp) - 1);
    fp[sizeof(fp) - 1] = '\0';
    a.fingerprint = fp;
    assert_int_equal(notify_build(&r, &g, &l, &err), -EINVAL);
    assert_string_equal(err.msg, "alert 0: fingerprint must be 1..255 bytes for pagerduty's "
                                 "dedup_key");
    assert_null(l.v);
}

static void test_ntfy(void **state)
{
    struct notify_receiver r = {
        .kind = NOTIFY_NTFY, .name = "nt", .url = "https://ntfy.sh/", .target = "opsd_alerts"
    };
    struct notify_request_list l = { 0 };
    struct notify_group g = group;
    struct opsd_error err = { 0 };

    build_ok(&r, &group, &l, 1);
    assert_string_equal(l.v[0].url, "https://ntfy.sh/opsd_alerts");
    assert_string_equal(l.v[0].content_type, "text/plain; charset=utf-8");
    assert_int_equal(l.v[0].n_headers, 4);
    assert_header(&l.v[0], 0, "Title: [FIRING:2] critical db, api");
    assert_header(&l.v[0], 1, "Priority: 5");
    assert_header(&l.v[0], 2, "Tags: rotating_light,critical");
    assert_header(&l.v[0], 3, "Click: https://ops.example/a/1?t=x&y=1");
    assert_string_equal(l.v[0].body, PLAIN_ALERTS);
    notify_request_list_free(&l);

    /* Resolved: low priority, no Click; a token and a UTF-8 title. */
    g.alerts = &alerts[2];
    g.n_alerts = 1;
    r.secret = "tk_1";
    r.subject_template = "Erledigt \xe2\x9c\x85 {monitors}";
    build_ok(&r, &g, &l, 1);
    assert_int_equal(l.v[0].n_headers, 4);
    /* base64("Erledigt ✅ web") */
    assert_header(&l.v[0], 0, "Title: =?UTF-8?B?RXJsZWRpZ3Qg4pyFIHdlYg==?=");
    assert_header(&l.v[0], 1, "Priority: 2");
    assert_header(&l.v[0], 2, "Tags: white_check_mark,low");
    assert_header(&l.v[0], 3, "Authorization: Bearer tk_1");
    notify_request_list_free(&l);

    r.target = "a/b";
    assert_int_equal(notify_build(&r, &group, &l, &err), -EINVAL);
    assert_string_equal(err.msg, "receiver 'nt': ntfy topic 'a/b' is not 1-64 of [A-Za-z0-9_-]");
}

/* ntfy's 4096 is bytes: 4-byte characters are cut on a boundary. */
static void test_ntfy_truncation(void **state)
{
    struct notify_receiver r = {
        .kind = NOTIFY_NTFY, .url = "http://n", .target = "t", .alert_template = "{message}"
    };
    struct notify_alert a = alerts[0];
    struct notify_group g = group;
    struct notify_request_list l = { 0 };
    struct sbuf s = SBUF_INIT;
    const char *note = "\n\xe2\x80\xa6 (truncated)";

    for (int i = 0; i < 1500; i++)
        sbuf_puts(&s, "\xf0\x9f\x94\xa5");
    a.message = s.buf;
    a.ack_url = "https://x\r\nX-Evil: 1";
    g.alerts = &a;
    g.n_alerts = 1;
    g.idempotency_key = "k\r\nX-Evil: 2";
    build_ok(&r, &g, &l, 1);
    assert_true(l.v[0].body_len <= NOTIFY_NTFY_MAX);
    assert_true(l.v[0].body_len > NOTIFY_NTFY_MAX - 4);
    utf8_count(l.v[0].body, l.v[0].body_len);
    assert_string_equal(l.v[0].body + l.v[0].body_len - strlen(note), note);
    assert_header(&l.v[0], 3, "Click: https://x  X-Evil: 1");
    notify_request_list_free(&l);
    sbuf_release(&s);
}

static void test_twilio(void **state)
{
    struct notify_receiver r = { .kind = NOTIFY_TWILIO,
                                 .name = "tw",
                                 .account = "AC123",
                                 .secret = "tok",
                                 .from = "+15550000000",
                                 .to = to_numbers,
                                 .n_to = 2,
                                 .subject_template = "{STATUS} {monitors}",
                                 .alert_template = "{monitor}: {summary} {ack_url}" };
    struct notify_request_list l = { 0 };
    static const char body[] = "%5BFIRING%5D+db%2C+api%0A%0Adb%3A+db+down+"
                               "https%3A%2F%2Fops.example%2Fa%2F1%3Ft%3Dx%26y%3D1%0A%0A"
                               "api%3A+5xx+rate+12%25+%26+rising+%0A%0Aweb%3A+slow+";

    r.subject_template = "[{STATUS}] {monitors}";
    build_ok(&r, &group, &l, 2);
    assert_string_equal(l.v[0].url,
                        "https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json");
    assert_string_equal(l.v[0].content_type, "application/x-www-form-urlencoded");
    /* base64("AC123:tok") */
    assert_header(&l.v[0], 0, "Authorization: Basic QUMxMjM6dG9r");
    assert_memory_equal(l.v[0].body, "To=%2B15551234567&From=%2B15550000000&Body=", 43);
    assert_string_equal(l.v[0].body + 43, body);
    notify_request_list_free(&l);

    /* WhatsApp: both numbers get the prefix, once. */
    r.whatsapp = true;
    build_ok(&r, &group, &l, 2);
    assert_memory_equal(l.v[0].body, "To=whatsapp%3A%2B15551234567&From=whatsapp%3A%2B15550000000&",
                        60);
    assert_memory_equal(l.v[1].body, "To=whatsapp%3A%2B4917600000&From=", 33);
    notify_request_list_free(&l);
}

static void test_email(void **state)
{
    static const char *const to[] = { "ops <oncall@example.com>", "b@example.org" };
    struct notify_receiver r = { .kind = NOTIFY_EMAIL,
                                 .name = "em",
                                 .url = "smtp://mail.example:587",
                                 .from = "opsd <alerts@ops.example>",
                                 .to = to,
                                 .n_to = 2 };
    struct notify_request_list l = { 0 };
    struct sbuf want = SBUF_INIT;
    const char *p;

    build_ok(&r, &group, &l, 1);
    assert_string_equal(l.v[0].method, "SMTP");
    assert_string_equal(l.v[0].url, "smtp://mail.example:587");
    assert_string_equal(l.v[0].mail_from, "<alerts@ops.example>");
    assert_int_equal(l.v[0].n_rcpt, 2);
    assert_string_equal(l.v[0].rcpt[0], "<oncall@example.com>");
    assert_string_equal(l.v[0].rcpt[1], "<b@example.org>");
    sbuf_puts(&want, "From: opsd <alerts@ops.example>\r\n"
                     "To: ops <oncall@example.com>,\r\n b@example.org\r\n"
                     "Subject: [FIRING:2] critical db, api\r\n"
                     "Date: Mon, 23 Nov 2026 18:00:00 +0000\r\n"
                     "Message-ID: <n-42@ops.example>\r\n"
                     "MIME-Version: 1.0\r\n"
                     "Content-Type: text/plain; charset=utf-8\r\n"
                     "Content-Transfer-Encoding: 8bit\r\n"
                     "\r\n");
    for (p = PLAIN_ALERTS "\n\n-- \nopsd https://ops.example\n"; *p; p++)
        sbuf_puts(&want, *p == '\n' ? "\r\n" : (char[]){ *p, 0 });
    assert_string_equal(l.v[0].body, want.buf);
    /* No bare LF anywhere. */
    for (p = l.v[0].body; (p = strchr(p, '\n')); p++)
        assert_int_equal(p[-1], '\r');
    notify_request_list_free(&l);
    sbuf_release(&want);
}

static void test_email_injection(void **state)
{
    static const char *const to[] = { "a@example.com\r\nBcc: victim@example.net" };
    struct notify_receiver r = { .kind = NOTIFY_EMAIL,
                                 .url = "smtp://m",
                                 .from = "x\r\nBcc: evil@example.net\r\n <a@b.example>",
                                 .to = to,
                                 .n_to = 1,
                                 .subject_template = "{monitors}\r\nBcc: sub@example.net" };
    struct notify_alert a = alerts[0];
    struct notify_group g = group;
    struct notify_request_list l = { 0 };
    const char *hdr_end, *p;

    a.monitor = "db\r\nX-Evil: 1";
    g.alerts = &a;
    g.n_alerts = 1;
    g.idempotency_key = "k>\r\nX-Inj: 1";
    build_ok(&r, &g, &l, 1);
    hdr_end = strstr(l.v[0].body, "\r\n\r\n");
    assert_non_null(hdr_end);
    /* Header lines start only with our names (or a fold of To). */
    for (p = l.v[0].body; p < hdr_end; p = strstr(p, "\r\n") + 2) {
        assert_true(!strncmp(p, "From: ", 6) || !strncmp(p, "To: ", 4) ||
                    !strncmp(p, "Subject: ", 9) || !strncmp(p, "Date: ", 6) ||
                    !strncmp(p, "Message-ID: ", 12) || !strncmp(p, "MIME-Version: ", 14) ||
                    !strncmp(p, "Content-Type: ", 14) ||
                    !strncmp(p, "Content-Transfer-Encoding: ", 27));
    }
    assert_non_null(strstr(l.v[0].body, "From: x  Bcc: evil@example.net   <a@b.example>\r\n"));
    assert_non_null(strstr(l.v[0].body, "To: a@example.com  Bcc: victim@example.net\r\n"));
    assert_non_null(strstr(l.v[0].body, "Subject: db  X-Evil: 1  Bcc: sub@example.net\r\n"));
    assert_non_null(strstr(l.v[0].body, "Message-ID: <k---X-Inj--1@b.example>\r\n"));
    /* The envelope recipient lost its whitespace: one address, no command. */
    assert_string_equal(l.v[0].rcpt[0], "<a@example.comBcc:victim@example.net>");
    notify_request_list_free(&l);
}

/* A 1500-byte line goes quoted-printable; a UTF-8 subject is encoded words. */
static void test_email_qp_and_utf8_subject(void **state)
{
    static const char *const to[] = { "a@example.com" };
    struct notify_receiver r = { .kind = NOTIFY_EMAIL,
                                 .url = "smtp://m",
                                 .from = "a@b.example",
                                 .to = to,
                                 .n_to = 1,
                                 .alert_template = "{message}",
                                 .subject_template = "St\xc3\xb6rung {monitors}" };
    struct notify_alert a = alerts[0];
    struct notify_group g = group;
    struct notify_request_list l = { 0 };
    struct sbuf s = SBUF_INIT;
    const char *body, *p;

    for (int i = 0; i < 500; i++)
        sbuf_puts(&s, "a=\xc3\xa4");
    a.message = s.buf;
    g.alerts = &a;
    g.n_alerts = 1;
    build_ok(&r, &g, &l, 1);
    /* base64("Störung db") */
    assert_non_null(strstr(l.v[0].body, "Subject: =?UTF-8?B?U3TDtnJ1bmcgZGI=?=\r\n"));
    assert_non_null(strstr(l.v[0].body, "From: a@b.example\r\n"));
    assert_non_null(strstr(l.v[0].body, "Content-Transfer-Encoding: quoted-printable\r\n\r\n"));
    body = strstr(l.v[0].body, "\r\n\r\n") + 4;
    assert_memory_equal(body, "a=3D=C3=A4a=3D=C3=A4", 20);
    for (p = body; *p;) {
        const char *eol = strstr(p, "\r\n");

        assert_non_null(eol);
        assert_true(eol - p <= 76);
        p = eol + 2;
    }
    notify_request_list_free(&l);
    sbuf_release(&s);
}

static void test_errors(void **state)
{
    struct notify_request_list l = { .v = (void *)0x1, .n = 7 }; /* must stay untouched */
    struct notify_receiver r = { .kind = NOTIFY_WEBHOOK, .name = "w" };
    struct notify_group g = group;
    struct opsd_error err = { 0 };
    enum notify_kind k = NOTIFY_SLACK;

    assert_int_equal(notify_build(&r, &group, &l, &err), -EINVAL);
    assert_string_equal(err.msg, "receiver 'w' (webhook) has no url");
    r.kind = NOTIFY_TWILIO;
    r.account = "AC1";
    r.secret = "t";
    r.from = "+1";
    assert_int_equal(notify_build(&r, &group, &l, &err), -EINVAL);
    assert_string_equal(err.msg, "receiver 'w' (twilio) has no recipients");
    r.kind = NOTIFY_EMAIL;
    assert_int_equal(notify_build(&r, &group, &l, &err), -EINVAL);
    assert_string_equal(err.msg, "receiver 'w' (email) has no smtp url");
    r.kind = 99;
    assert_int_equal(notify_build(&r, &group, &l, &err), -EINVAL);
    assert_string_equal(err.msg, "receiver 'w' has unknown kind 99");
    r.kind = NOTIFY_SLACK;
    r.url = "https://x";
    r.alert_template = "{nope}";
    assert_int_equal(notify_build(&r, &group, &l, &err), -EINVAL);
    assert_string_equal(err.msg, "unknown field 'nope' in alert template");
    r.alert_template = NULL;
    g.n_alerts = 0;
    assert_int_equal(notify_build(&r, &g, &l, &err), -EINVAL);
    assert_ptr_equal(l.v, (void *)0x1);
    assert_int_equal(l.n, 7);

    assert_int_equal(notify_kind_from_string("ntfy", &k), 0);
    assert_int_equal(k, NOTIFY_NTFY);
    assert_int_equal(notify_kind_from_string("fax", &k), -EINVAL);
    assert_int_equal(k, NOTIFY_NTFY);
    assert_string_equal(notify_kind_to_string(NOTIFY_EMAIL), "email");
}

static void test_payload_round_trip(void **state)
{
    struct notify_label pl1[] = { { "monitor", "web" }, { "team", "core" } };
    struct notify_label pgl[] = { { "team", "core" } };
    struct notify_alert al[] = {
        { .fingerprint = "00000000000000ff", .status = NOTIFY_FIRING, .acknowledged = true,
          .severity = NOTIFY_CRITICAL, .monitor = "web", .labels = pl1, .n_labels = 2,
          .summary = "web is down", .message = "HTTP 500\nsecond line \xc3\xa9",
          .starts_at_ms = 1800000000123ull },
        { .fingerprint = "0000000000000100", .status = NOTIFY_RESOLVED, .severity = NOTIFY_LOW,
          .starts_at_ms = 5, .ends_at_ms = 9 },
    };
    struct notify_group g = { .group_key = "g-1", .group_labels = pgl, .n_group_labels = 1,
                              .alerts = al, .n_alerts = 2 };
    int64_t ids[] = { 12, 13 };
    struct notify_payload p = { 0 };
    char *json = NULL;

    (void)state;
    assert_int_equal(notify_payload_encode(&g, "escalated", ids, &json), 0);
    assert_int_equal(notify_payload_decode(json, &p, NULL), 0);
    assert_string_equal(p.reason, "escalated");
    assert_string_equal(p.group_key, "g-1");
    assert_int_equal(p.n_group_labels, 1);
    assert_string_equal(p.group_labels[0].value, "core");
    assert_int_equal(p.n_alerts, 2);
    assert_int_equal(p.alert_ids[0], 12);
    assert_int_equal(p.alert_ids[1], 13);
    assert_string_equal(p.alerts[0].fingerprint, "00000000000000ff");
    assert_int_equal(p.alerts[0].status, NOTIFY_FIRING);
    assert_true(p.alerts[0].acknowledged);
    assert_int_equal(p.alerts[0].severity, NOTIFY_CRITICAL);
    assert_string_equal(p.alerts[0].monitor, "web");
    assert_int_equal(p.alerts[0].n_labels, 2);
    assert_string_equal(p.alerts[0].message, "HTTP 500\nsecond line \xc3\xa9");
    assert_int_equal(p.alerts[0].starts_at_ms, 1800000000123ull);
    assert_int_equal(p.alerts[1].status, NOTIFY_RESOLVED);
    assert_int_equal(p.alerts[1].severity, NOTIFY_LOW);
    assert_null(p.alerts[1].monitor);
    assert_int_equal(p.alerts[1].ends_at_ms, 9);
    notify_payload_free(&p);
    free(json);
    /* what else might sit in the column is refused, not half-read */
    assert_int_equal(notify_payload_decode("{\"v\":2,\"alerts\":[{}]}", &p, NULL), -EINVAL);
    assert_int_equal(notify_payload_decode("{\"v\":1,\"alerts\":[]}", &p, NULL), -EINVAL);
    assert_int_equal(notify_payload_decode("not json", &p, NULL), -EINVAL);
    assert_null(p.alerts);
}

static void test_payload_too_big_keeps_a_prefix(void **state)
{
    static char big[4096];
    struct notify_alert al[200];
    int64_t ids[200];
    struct notify_group g = { .group_key = "g", .alerts = al, .n_alerts = 200 };
    struct notify_payload p = { 0 };
    char *json = NULL;
    int kept;

    (void)state;
    memset(big, 'x', sizeof(big) - 1);
    for (int i = 0; i < 200; i++) {
        al[i] = (struct notify_alert){ .fingerprint = "f", .status = NOTIFY_FIRING,
                                       .severity = NOTIFY_HIGH, .message = big };
        ids[i] = i + 1;
    }
    kept = notify_payload_encode(&g, "firing", ids, &json);
    assert_true(kept > 0 && kept < 200);
    assert_true(strlen(json) <= OPSD_MAX_NOTIFY_PAYLOAD);
    assert_int_equal(notify_payload_decode(json, &p, NULL), 0);
    assert_int_equal(p.n_alerts, (size_t)kept);
    assert_int_equal(p.alert_ids[0], 1);
    notify_payload_free(&p);
    free(json);
}

static void test_backoff(void **state)
{
    (void)state;
    /* doubling from 1 s, capped at 5 min, never below half the step */
    assert_int_equal(notify_backoff_ms(1, 1000, 300000, 0), 1000);
    assert_int_equal(notify_backoff_ms(1, 1000, 300000, 1000), 500);
    assert_int_equal(notify_backoff_ms(2, 1000, 300000, 0), 2000);
    assert_int_equal(notify_backoff_ms(4, 1000, 300000, 0), 8000);
    assert_int_equal(notify_backoff_ms(30, 1000, 300000, 0), 300000);
    assert_int_equal(notify_backoff_ms(1000, 1000, 300000, 1000), 150000);
    for (uint32_t r = 0; r < 3000; r += 7) {
        uint64_t w = notify_backoff_ms(3, 1000, 300000, r);
        assert_true(w >= 2000 && w <= 4000);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_utf8_prefix),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_template),
        cmocka_unit_test(test_webhook_signed),
        cmocka_unit_test(test_webhook_alertmanager),
        cmocka_unit_test(test_webhook_truncated_alerts),
        cmocka_unit_test(test_slack),
        cmocka_unit_test(test_slack_many_alerts),
        cmocka_unit_test(test_telegram),
        cmocka_unit_test(test_telegram_truncation),
        cmocka_unit_test(test_pagerduty),
        cmocka_unit_test(test_pagerduty_limits),
        cmocka_unit_test(test_ntfy),
        cmocka_unit_test(test_ntfy_truncation),
        cmocka_unit_test(test_twilio),
        cmocka_unit_test(test_email),
        cmocka_unit_test(test_email_injection),
        cmocka_unit_test(test_email_qp_and_utf8_subject),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_payload_round_trip),
        cmocka_unit_test(test_payload_too_big_keeps_a_prefix),
        cmocka_unit_test(test_backoff),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);

    printf("tests: %zu passed, %d failed\n", ARRAY_SIZE(tests) - (size_t)failed, failed);
    return failed != 0;
}
