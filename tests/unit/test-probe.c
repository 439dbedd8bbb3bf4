/* Unit tests for the pure monitor logic: state machine with confirmation,
 * spreading of checks over an interval, HTTP evaluation, heartbeat deadlines. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <curl/curl.h>

#include "probe/probe.h"

static void test_sm_pending_needs_confirm(void **state)
{
    struct probe_sm sm;
    enum probe_state from = PROBE_STATE_PAUSED;

    (void)state;
    probe_sm_init(&sm, PROBE_STATE_PENDING, 0);
    assert_false(probe_sm_feed(&sm, true, false, 2, 1000, &from));
    assert_int_equal(sm.state, PROBE_STATE_PENDING);
    assert_int_equal(from, PROBE_STATE_PAUSED); /* untouched when nothing changed */
    assert_true(probe_sm_feed(&sm, true, false, 2, 2000, &from));
    assert_int_equal(sm.state, PROBE_STATE_UP);
    assert_int_equal(from, PROBE_STATE_PENDING);
    assert_int_equal(sm.since_ms, 2000);
}

static void test_sm_flips_only_after_confirm(void **state)
{
    struct probe_sm sm;
    enum probe_state from;

    (void)state;
    probe_sm_init(&sm, PROBE_STATE_UP, 100);
    assert_false(probe_sm_feed(&sm, false, false, 3, 1000, &from));
    assert_false(probe_sm_feed(&sm, false, false, 3, 2000, &from));
    /* a success in between resets the count */
    assert_false(probe_sm_feed(&sm, true, false, 3, 3000, &from));
    assert_false(probe_sm_feed(&sm, false, false, 3, 4000, &from));
    assert_false(probe_sm_feed(&sm, false, false, 3, 5000, &from));
    assert_int_equal(sm.state, PROBE_STATE_UP);
    assert_int_equal(sm.since_ms, 100);
    assert_true(probe_sm_feed(&sm, false, false, 3, 6000, &from));
    assert_int_equal(sm.state, PROBE_STATE_DOWN);
    assert_int_equal(from, PROBE_STATE_UP);
    assert_int_equal(sm.since_ms, 6000);
    /* and back up after three successes */
    assert_false(probe_sm_feed(&sm, true, false, 3, 7000, &from));
    assert_false(probe_sm_feed(&sm, true, false, 3, 8000, &from));
    assert_true(probe_sm_feed(&sm, true, false, 3, 9000, &from));
    assert_int_equal(sm.state, PROBE_STATE_UP);
    assert_int_equal(from, PROBE_STATE_DOWN);
}

static void test_sm_forced_ignores_confirm(void **state)
{
    struct probe_sm sm;
    enum probe_state from;

    (void)state;
    probe_sm_init(&sm, PROBE_STATE_UP, 0);
    assert_true(probe_sm_feed(&sm, false, true, 10, 500, &from));
    assert_int_equal(sm.state, PROBE_STATE_DOWN);
    assert_true(probe_sm_feed(&sm, true, true, 10, 600, &from));
    assert_int_equal(sm.state, PROBE_STATE_UP);
    /* a forced result agreeing with the state changes nothing */
    assert_false(probe_sm_feed(&sm, true, true, 10, 700, &from));
    assert_int_equal(sm.since_ms, 600);
}

static void test_sm_confirm_one_and_zero(void **state)
{
    struct probe_sm sm;

    (void)state;
    probe_sm_init(&sm, PROBE_STATE_PENDING, 0);
    assert_true(probe_sm_feed(&sm, false, false, 1, 1, NULL));
    assert_int_equal(sm.state, PROBE_STATE_DOWN);
    /* confirm 0 is treated as 1, never as "flip on nothing" */
    assert_true(probe_sm_feed(&sm, true, false, 0, 2, NULL));
    assert_int_equal(sm.state, PROBE_STATE_UP);
}

static void test_sm_paused_stays_paused(void **state)
{
    struct probe_sm sm;

    (void)state;
    probe_sm_init(&sm, PROBE_STATE_PAUSED, 5);
    assert_false(probe_sm_feed(&sm, false, true, 1, 10, NULL));
    assert_int_equal(sm.state, PROBE_STATE_PAUSED);
    assert_int_equal(sm.since_ms, 5);
}

static void test_state_names(void **state)
{
    enum probe_state s = PROBE_STATE_UP;

    (void)state;
    assert_string_equal(probe_state_to_string(PROBE_STATE_DOWN), "down");
    assert_string_equal(probe_status_to_string(PROBE_WARNING), "warning");
    assert_int_equal(probe_state_from_string("paused", &s), 0);
    assert_int_equal(s, PROBE_STATE_PAUSED);
    assert_int_equal(probe_state_from_string("sideways", &s), -EINVAL);
    assert_int_equal(s, PROBE_STATE_PAUSED);
    /* stored values never change meaning */
    assert_int_equal(PROBE_STATE_PENDING, 0);
    assert_int_equal(PROBE_STATE_UP, 1);
    assert_int_equal(PROBE_STATE_DOWN, 2);
    assert_int_equal(PROBE_STATE_PAUSED, 3);
    assert_int_equal(PROBE_CRITICAL, 2);
}

/* 10 000 monitors on one 10 s interval: no 100 ms slice of the interval may
 * hold more than twice its fair share. */
static void test_spread_is_even(void **state)
{
    enum { N = 10000, SLICES = 100 };
    static unsigned counts[SLICES];
    char name[32];
    unsigned max = 0, min = N;

    (void)state;
    memset(counts, 0, sizeof(counts));
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "m%d", i);
        uint64_t off = probe_spread_offset(name, 10000, 20);
        assert_int_equal(off % 20, 0);
        assert_true(off < 10000);
        counts[off / 100]++;
    }
    for (int i = 0; i < SLICES; i++) {
        if (counts[i] > max)
            max = counts[i];
        if (counts[i] < min)
            min = counts[i];
    }
    assert_true(max <= 2 * N / SLICES);
    assert_true(min >= N / SLICES / 2);
}

static void test_spread_is_stable(void **state)
{
    (void)state;
    assert_int_equal(probe_spread_offset("api", 30000, 1), probe_spread_offset("api", 30000, 1));
    assert_int_not_equal(probe_spread_offset("api", 30000, 1), probe_spread_offset("apj", 30000, 1));
    assert_int_equal(probe_spread_offset("api", 0, 20), 0);
    /* an interval no longer than the quantum is not quantised */
    assert_true(probe_spread_offset("api", 20, 20) < 20);
    assert_int_equal(probe_spread_offset("api", 30000, 20) % 20, 0);
}

static void test_next_slot(void **state)
{
    (void)state;
    /* slots are offset + k * interval on the wall clock */
    assert_int_equal(probe_next_slot(100000, 10000, 2500), 102500);
    assert_int_equal(probe_next_slot(102500, 10000, 2500), 102500);
    assert_int_equal(probe_next_slot(102501, 10000, 2500), 112500);
    assert_int_equal(probe_next_slot(109999, 10000, 0), 110000);
    assert_int_equal(probe_next_slot(7, 0, 3), 7);
}

static struct conf_monitor http_monitor(void)
{
    static int codes[] = { 200, 204 };
    struct conf_monitor m;

    memset(&m, 0, sizeof(m));
    m.name = "api";
    m.type = CONF_MON_HTTP;
    m.expect_status = codes;
    m.n_expect_status = 2;
    return m;
}

static struct probe_http_obs obs_ok(void)
{
    struct probe_http_obs o;

    memset(&o, 0, sizeof(o));
    o.http_status = 200;
    o.body = "status: ok";
    o.body_len = 10;
    o.dns_us = 10;
    o.connect_us = 100;
    o.tls_us = PROBE_NO_VALUE;
    o.ttfb_us = 900;
    o.total_us = 1200;
    o.cert_days = PROBE_NO_VALUE;
    return o;
}

static void test_http_ok(void **state)
{
    struct conf_monitor m = http_monitor();
    struct probe_http_obs o = obs_ok();
    struct probe_result r;

    (void)state;
    probe_result_init(&r, 42);
    probe_http_evaluate(&m, &o, &r);
    assert_int_equal(r.status, PROBE_OK);
    assert_true(probe_result_ok(&r));
    assert_int_equal(r.http_status, 200);
    assert_int_equal(r.connect_us, 100);
    assert_int_equal(r.total_us, 1200);
    assert_int_equal(r.started_ms, 42);
    assert_string_equal(r.message, "HTTP 200 in 1 ms");
}

static void test_http_status_not_expected(void **state)
{
    struct conf_monitor m = http_monitor();
    struct probe_http_obs o = obs_ok();
    struct probe_result r;

    (void)state;
    o.http_status = 500;
    probe_result_init(&r, 0);
    probe_http_evaluate(&m, &o, &r);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_false(probe_result_ok(&r));
    assert_string_equal(r.message, "HTTP 500 (expected 200, 204)");

    /* no list: any 2xx/3xx */
    m.n_expect_status = 0;
    o.http_status = 302;
    probe_http_evaluate(&m, &o, &r);
    assert_int_equal(r.status, PROBE_OK);
    o.http_status = 404;
    probe_http_evaluate(&m, &o, &r);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_string_equal(r.message, "HTTP 404 (expected 2xx or 3xx)");
}

static void test_http_body_and_latency(void **state)
{
    struct conf_monitor m = http_monitor();
    struct probe_http_obs o = obs_ok();
    struct probe_result r;

    (void)state;
    m.body_contains = "ok";
    probe_result_init(&r, 0);
    probe_http_evaluate(&m, &o, &r);
    assert_int_equal(r.status, PROBE_OK);
    m.body_contains = "healthy";
    probe_http_evaluate(&m, &o, &r);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_non_null(strstr(r.message, "expect.body_contains not found"));
    assert_null(strstr(r.message, "healthy")); /* the expected text is never echoed */
    /* a NUL byte before the text does not hide it */
    o.body = "\0\0binary\0healthy";
    o.body_len = 16;
    probe_http_evaluate(&m, &o, &r);
    assert_int_equal(r.status, PROBE_OK);
    o.body_len = 10; /* the text lies past the captured length */
    probe_http_evaluate(&m, &o, &r);
    assert_int_equal(r.status, PROBE_CRITICAL);
    o.body = NULL;
    probe_http_evaluate(&m, &o, &r);
    assert_int_equal(r.status, PROBE_CRITICAL);

    m.body_contains = NULL;
    m.max_latency_ms = 1;
    o = obs_ok();
    o.total_us = 1000;
    probe_http_evaluate(&m, &o, &r);
    assert_int_equal(r.status, PROBE_OK); /* exactly at the limit is fine */
    o.total_us = 1001;
    probe_http_evaluate(&m, &o, &r);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_non_null(strstr(r.message, "above max_latency 1 ms"));
}

static void test_http_transport_errors(void **state)
{
    struct conf_monitor m = http_monitor();
    struct probe_http_obs o = obs_ok();
    struct probe_result r;

    (void)state;
    o.http_status = 0;
    o.curl_code = CURLE_COULDNT_CONNECT;
    o.curl_error = "Failed to connect to 127.0.0.1 port 9: Connection refused";
    probe_result_init(&r, 0);
    probe_http_evaluate(&m, &o, &r);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_string_equal(r.message, "connect: Failed to connect to 127.0.0.1 port 9: Connection refused");
    assert_int_equal(r.http_status, PROBE_NO_VALUE);

    o.curl_code = CURLE_OPERATION_TIMEDOUT;
    o.curl_error = "";
    probe_http_evaluate(&m, &o, &r);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_non_null(strstr(r.message, "timeout: "));

    o.curl_code = CURLE_PEER_FAILED_VERIFICATION;
    o.curl_error = "SSL certificate problem: certificate has expired";
    probe_http_evaluate(&m, &o, &r);
    assert_string_equal(r.message, "tls: SSL certificate problem: certificate has expired");
}

static void test_heartbeat_deadline(void **state)
{
    struct conf_monitor m;

    (void)state;
    memset(&m, 0, sizeof(m));
    m.period_ms = 24 * 3600000ULL;
    m.grace_ms = 3600000ULL;
    assert_int_equal(probe_heartbeat_deadline(&m, 1000), 1000 + 25 * 3600000ULL);
}

/* The kept copy owns a message of its own length; setting again frees the old. */
static void test_last_keeps_own_message(void **state)
{
    struct probe_result r;
    struct probe_last l = { 0 }, copy = { 0 };

    (void)state;
    probe_result_init(&r, 7);
    r.status = PROBE_CRITICAL;
    r.total_us = 42;
    snprintf(r.message, sizeof(r.message), "first");
    probe_last_set(&l, &r);
    snprintf(r.message, sizeof(r.message), "changed");
    assert_string_equal(l.message, "first");
    assert_int_equal(l.total_us, 42);
    assert_int_equal(l.started_ms, 7);
    assert_false(probe_status_ok(l.status));
    probe_last_set(&l, &r);
    assert_string_equal(l.message, "changed");
    probe_last_copy(&copy, &l);
    assert_ptr_not_equal(copy.message, l.message);
    assert_string_equal(copy.message, "changed");
    probe_last_clear(&l);
    probe_last_clear(&copy);
    assert_null(l.message);
}

static void file_conf(struct conf_monitor *m)
{
    memset(m, 0, sizeof(*m));
    m->type = CONF_MON_FILE;
    m->path = (char *)"/b/*.gz";
    m->max_size = UINT64_MAX;
    m->max_shrink_pct = -1;
}

static struct probe_file_obs file_obs(const char *path, uint64_t mtime, uint64_t size)
{
    struct probe_file_obs o;

    memset(&o, 0, sizeof(o));
    snprintf(o.path, sizeof(o.path), "%s", path);
    o.n_matches = 1;
    o.regular = true;
    o.mtime_ms = mtime;
    o.size = size;
    return o;
}

static void test_file_rules(void **state)
{
    const uint64_t now = 1000 * 3600 * 1000ULL;
    struct probe_file_memory mem;
    struct probe_metric mt[4];
    struct conf_monitor m;
    struct probe_file_obs o;
    struct probe_result r;

    (void)state;
    file_conf(&m);
    memset(&mem, 0, sizeof(mem));
    o = file_obs("", 0, 0);
    o.err = -ENOENT;
    probe_result_init(&r, now);
    probe_file_evaluate(&m, &o, &mem, now, &r, mt);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_string_equal(r.message, "no file matches '/b/*.gz'");
    assert_false(mem.have_cur);

    o = file_obs("/b/x", 0, 0);
    o.err = -EACCES;
    probe_file_evaluate(&m, &o, &mem, now, &r, mt);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_string_equal(r.message, "cannot read '/b/x': Permission denied");

    /* Fresh enough, big enough: ok, with three metrics. */
    m.max_age_ms = 25 * 3600 * 1000ULL;
    m.min_size = 1000;
    m.max_shrink_pct = 50;
    o = file_obs("/b/1.gz", now - 3600 * 1000, 10000);
    probe_file_evaluate(&m, &o, &mem, now, &r, mt);
    assert_int_equal(r.status, PROBE_OK);
    assert_string_equal(r.message, "'/b/1.gz' 10.0 KB, 1h old");
    assert_int_equal(r.n_metrics, 3);
    assert_string_equal(mt[0].name, "size_bytes");
    assert_true(mt[0].value == 10000);
    assert_true(mt[1].value == 3600);

    /* The same file again is not its own reference. */
    probe_file_evaluate(&m, &o, &mem, now, &r, mt);
    assert_false(mem.have_ref);

    /* A new file at 40 % of the old one: shrunk by 60 % > 50 %. */
    o = file_obs("/b/2.gz", now, 4000);
    probe_file_evaluate(&m, &o, &mem, now, &r, mt);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_string_equal(r.message,
                        "'/b/2.gz' is 4.00 KB, 60.0% smaller than the previous 10.0 KB (max 50%)");
    /* Checked again, the reference stays the old file: still critical. */
    probe_file_evaluate(&m, &o, &mem, now + 60000, &r, mt);
    assert_int_equal(r.status, PROBE_CRITICAL);

    /* Shrinking by exactly the limit is allowed. */
    o = file_obs("/b/3.gz", now, 2000);
    probe_file_evaluate(&m, &o, &mem, now, &r, mt);
    assert_int_equal(r.status, PROBE_OK);

    /* Too old and too small at once: both said, worst status wins. */
    o = file_obs("/b/4.gz", now - 26 * 3600 * 1000ULL, 900);
    probe_file_evaluate(&m, &o, &mem, now, &r, mt);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_string_equal(r.message, "'/b/4.gz' is 1d2h old (max 1d1h); '/b/4.gz' is 900 B, below "
                                   "min_size 1.00 KB; '/b/4.gz' is 900 B, 55.0% smaller than the "
                                   "previous 2.00 KB (max 50%)");

    /* Not a regular file. */
    o = file_obs("/b/dir.gz", now, 4096);
    o.regular = false;
    m.max_shrink_pct = -1;
    probe_file_evaluate(&m, &o, &mem, now, &r, mt);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_string_equal(r.message, "'/b/dir.gz' is not a regular file");

    /* max_size; a checksum change of the same path is a warning. */
    file_conf(&m);
    m.max_size = 100;
    m.checksum = true;
    memset(&mem, 0, sizeof(mem));
    o = file_obs("/etc/app.conf", now, 50);
    o.have_sha256 = true;
    memset(o.sha256, 'a', 64);
    probe_file_evaluate(&m, &o, &mem, now, &r, mt);
    assert_int_equal(r.status, PROBE_OK);
    o.mtime_ms++;
    memset(o.sha256, 'b', 64);
    probe_file_evaluate(&m, &o, &mem, now, &r, mt);
    assert_int_equal(r.status, PROBE_WARNING);
    assert_string_equal(r.message, "'/etc/app.conf' content changed (sha256 aaaaaaaaaaaa… -> "
                                   "bbbbbbbbbbbb…)");
    o.size = 101;
    probe_file_evaluate(&m, &o, &mem, now, &r, mt);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_string_equal(r.message, "'/etc/app.conf' is 101 B, above max_size 100 B");
}

static void json_case(const char *assertion, const char *doc, bool want, const char *why_want)
{
    struct probe_json_assert a;
    struct opsd_error err = { 0 };
    json_error_t jerr;
    json_t *d = json_loads(doc, JSON_DECODE_ANY, &jerr);
    char why[256] = "";

    assert_non_null(d);
    if (probe_json_assert_parse(assertion, &a, &err) < 0)
        fail_msg("parse '%s': %s", assertion, err.msg);
    assert_int_equal(probe_json_assert_eval(&a, d, why, sizeof(why)), want);
    if (why_want)
        assert_string_equal(why, why_want);
    probe_json_assert_free(&a);
    json_decref(d);
}

static void json_bad(const char *assertion, const char *msg)
{
    struct probe_json_assert a;
    struct opsd_error err = { 0 };

    memset(&a, 0x5a, sizeof(a));
    assert_int_equal(probe_json_assert_parse(assertion, &a, &err), -EINVAL);
    assert_string_equal(err.msg, msg);
    assert_int_equal(a.n_steps, 0x5a5a5a5a5a5a5a5aULL); /* untouched */
}

static void test_json_asserts(void **state)
{
    const char *doc = "{\"status\":\"ok\",\"n\":3,\"f\":2.5,\"ready\":true,\"off\":false,"
                      "\"nil\":null,\"checks\":[{\"name\":\"db\",\"ms\":12}],"
                      "\"odd key\":\"x\",\"s\":\"3\"}";

    (void)state;
    json_case("$.status == \"ok\"", doc, true, NULL);
    json_case("$.status != \"ok\"", doc, false, "$.status != \"ok\": it is \"ok\"");
    json_case("$.status == \"degraded\"", doc, false,
              "$.status == \"degraded\": it is \"ok\"");
    json_case("$.n == 3", doc, true, NULL);
    json_case("$.n == 3.0", doc, true, NULL); /* integer and real compare as numbers */
    json_case("$.f > 2", doc, true, NULL);
    json_case("$.f >= 2.5", doc, true, NULL);
    json_case("$.f < 2.5", doc, false, "$.f < 2.5: it is 2.5");
    json_case("$.n <= 2", doc, false, "$.n <= 2: it is 3");
    json_case("$.s > 1", doc, false, "$.s > 1: it is \"3\", not a number");
    json_case("$.checks[0].ms < 200", doc, true, NULL);
    json_case("$.checks[0][\"name\"] == \"db\"", doc, true, NULL);
    json_case("$[\"odd key\"] == \"x\"", doc, true, NULL);
    json_case("$.checks[1].ms < 200", doc, false, "$.checks[1].ms < 200: the path is missing");
    json_case("$.ready", doc, true, NULL);
    json_case("$.off", doc, false, "$.off: it is false");
    json_case("$.nil", doc, false, "$.nil: it is null");
    json_case("$.nil == null", doc, true, NULL);
    json_case("$.missing", doc, false, "$.missing: the path is missing");
    json_case("$", "[1]", true, NULL);
    json_case("  $.n==3", doc, true, NULL);

    json_bad("status == 1", "expected a path starting with '$' at column 1");
    json_bad("$.a ==", "expected a value after ==");
    json_bad("$.a[x]", "expected an index or a quoted name after '[' at column 5");
    json_bad("$.a[1", "expected ']' after the index at column 6");
    json_bad("$.a[\"b]", "unterminated [\"...\"] opened at column 4");
    json_bad("$.", "expected a name after '.' at column 3");
    json_bad("$.a ~ 1", "expected ==, !=, <, <=, > or >= at column 5");
    json_bad("$.a == {\"x\": 1}",
             "the value at column 8 is not a JSON string, number, true, false or null");
    json_bad("$.a == ok", "the value at column 8 is not a JSON string, number, true, false or null");
    json_bad("$.a < \"1\"", "< needs a number on its right");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sm_pending_needs_confirm),
        cmocka_unit_test(test_sm_flips_only_after_confirm),
        cmocka_unit_test(test_sm_forced_ignores_confirm),
        cmocka_unit_test(test_sm_confirm_one_and_zero),
        cmocka_unit_test(test_sm_paused_stays_paused),
        cmocka_unit_test(test_state_names),
        cmocka_unit_test(test_spread_is_even),
        cmocka_unit_test(test_spread_is_stable),
        cmocka_unit_test(test_next_slot),
        cmocka_unit_test(test_http_ok),
        cmocka_unit_test(test_http_status_not_expected),
        cmocka_unit_test(test_http_body_and_latency),
        cmocka_unit_test(test_http_transport_errors),
        cmocka_unit_test(test_heartbeat_deadline),
        cmocka_unit_test(test_last_keeps_own_message),
        cmocka_unit_test(test_file_rules),
        cmocka_unit_test(test_json_asserts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
