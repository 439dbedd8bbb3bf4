/* Unit tests for src/config: YAML in, struct conf or located diagnostics out. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "util/duration.h"
#include "util/opsd_limits.h"
#include "util/sbuf.h"
#include "util/xalloc.h"

/* A pointer no load may write: *ret_conf must stay as it was on failure. */
#define UNTOUCHED ((struct conf *)(uintptr_t)0x5eed)

static struct conf_diags diags;

static int teardown(void **state)
{
    conf_diags_free(&diags);
    return 0;
}

static void dump_diags(void)
{
    conf_diags_print(&diags, stderr);
}

static int load(const char *text, struct conf **ret)
{
    conf_diags_free(&diags);
    return conf_load_string("t.yaml", text, strlen(text), ret, &diags);
}

/* Loads text, which must be valid; the caller frees the result. */
static struct conf *load_ok(const char *text)
{
    struct conf *c = NULL;
    int r = load(text, &c);

    if (r < 0)
        dump_diags();
    assert_int_equal(r, 0);
    assert_int_equal(diags.n, 0);
    assert_non_null(c);
    return c;
}

/* Asserts one of the diagnostics sits at line:col and contains what. */
static void assert_diag(unsigned line, unsigned col, const char *what)
{
    for (size_t i = 0; i < diags.n; i++)
        if (diags.v[i].line == line && diags.v[i].col == col && strstr(diags.v[i].msg, what))
            return;
    fprintf(stderr, "no diagnostic at %u:%u containing \"%s\"; got:\n", line, col, what);
    dump_diags();
    fail();
}

/* The 1-based column where the first at starts on line line of text. */
static unsigned col_of(const char *text, unsigned line, const char *at)
{
    const char *p = text, *end, *hit;

    for (unsigned l = 1; l < line; l++) {
        p = strchr(p, '\n');
        assert_non_null(p);
        p++;
    }
    end = strchrnul(p, '\n');
    hit = memmem(p, (size_t)(end - p), at, strlen(at));
    if (!hit)
        fprintf(stderr, "'%s' is not on line %u of:\n%s", at, line, text);
    assert_non_null(hit);
    return (unsigned)(hit - p) + 1;
}

/* Asserts a diagnostic points at line of text, at the column where at starts. */
static void assert_diag_at(const char *text, unsigned line, const char *at, const char *what)
{
    assert_diag(line, col_of(text, line, at), what);
}

/* Loads text, which must fail with exactly one problem saying what, placed at
 * line:col. */
static void assert_one_place(const char *text, unsigned line, unsigned col, const char *what)
{
    struct conf *c = UNTOUCHED;
    int r = load(text, &c);

    assert_int_equal(r, -EINVAL);
    assert_ptr_equal(c, UNTOUCHED);
    if (diags.n != 1)
        dump_diags();
    assert_int_equal(diags.n, 1);
    assert_diag(line, col, what);
}

/* The same, placed on line at the column where at starts (at is the
 * offending node's text). */
static void assert_one(const char *text, unsigned line, const char *at, const char *what)
{
    assert_one_place(text, line, col_of(text, line, at), what);
}

/* ---- valid configs ---------------------------------------------------------------- */

static const char *full_example =
    "server:\n"
    "  listen: 0.0.0.0:9090\n"
    "  data_dir: /var/lib/opsd\n"
    "  retention: 30d\n"
    "  max_concurrency: 50\n"
    "  log_level: debug\n"
    "  title: \"Acme status\"\n"
    "defaults:\n"
    "  interval: 2m\n"
    "  timeout: 20s\n"
    "  confirm: 3\n"
    "monitors:\n"
    "  - name: api\n"
    "    type: http\n"
    "    description: \"Public API\"\n"
    "    paused: true\n"
    "    public: false\n"
    "    url: https://example.com/health\n"
    "    method: HEAD\n"
    "    interval: 30s\n"
    "    timeout: 1500ms\n"
    "    confirm: 4\n"
    "    follow_redirects: false\n"
    "    max_redirects: 0\n"
    "    tls_verify: false\n"
    "    expect: {status: [204, 200, 204], body_contains: \"ok\", max_latency: 500ms}\n"
    "    labels: {team: core, env: prod}\n"
    "  - {name: db, type: tcp, host: 127.0.0.1, port: 5432}\n"
    "  - {name: nightly-backup, type: heartbeat, token: \"abcdefghijklmnop_-12\", period: 24h, "
    "grace: 1h}\n";

static void test_full_example(void **state)
{
    struct conf *c = load_ok(full_example);
    const struct conf_monitor *m;

    assert_string_equal(c->path, "t.yaml");
    assert_string_equal(c->server.listen, "0.0.0.0:9090");
    assert_string_equal(c->server.data_dir, "/var/lib/opsd");
    assert_int_equal(c->server.retention_ms, 30ULL * 86400000);
    assert_int_equal(c->server.max_concurrency, 50);
    assert_string_equal(c->server.log_level, "debug");
    assert_string_equal(c->server.title, "Acme status");
    assert_int_equal(c->n_monitors, 3);

    m = &c->monitors[0];
    assert_string_equal(m->name, "api");
    assert_int_equal(m->type, CONF_MON_HTTP);
    assert_string_equal(m->description, "Public API");
    assert_true(m->paused);
    assert_false(m->public_);
    assert_string_equal(m->url, "https://example.com/health");
    assert_string_equal(m->method, "HEAD");
    assert_int_equal(m->interval_ms, 30000);
    assert_int_equal(m->timeout_ms, 1500);
    assert_int_equal(m->confirm, 4);
    assert_false(m->follow_redirects);
    assert_int_equal(m->max_redirects, 0);
    assert_false(m->tls_verify);
    assert_int_equal(m->n_expect_status, 2); /* sorted, repeats dropped */
    assert_int_equal(m->expect_status[0], 200);
    assert_int_equal(m->expect_status[1], 204);
    assert_string_equal(m->body_contains, "ok");
    assert_int_equal(m->max_latency_ms, 500);
    assert_int_equal(m->n_labels, 2); /* sorted by key */
    assert_string_equal(m->labels[0].key, "env");
    assert_string_equal(m->labels[0].value, "prod");
    assert_string_equal(m->labels[1].key, "team");
    assert_string_equal(m->labels[1].value, "core");
    assert_int_equal(m->line, 13);

    m = &c->monitors[1];
    assert_int_equal(m->type, CONF_MON_TCP);
    assert_string_equal(m->host, "127.0.0.1");
    assert_int_equal(m->port, 5432);
    assert_int_equal(m->interval_ms, 120000); /* from defaults */
    assert_int_equal(m->timeout_ms, 20000);
    assert_int_equal(m->confirm, 3);
    assert_null(m->url);
    assert_null(m->method);
    assert_int_equal(m->line, 28);

    m = &c->monitors[2];
    assert_int_equal(m->type, CONF_MON_HEARTBEAT);
    assert_string_equal(m->token, "abcdefghijklmnop_-12");
    assert_int_equal(m->period_ms, 86400000);
    assert_int_equal(m->grace_ms, 3600000);

    assert_ptr_equal(conf_find_monitor(c, "db"), &c->monitors[1]);
    assert_ptr_equal(conf_find_monitor(c, "nightly-backup"), &c->monitors[2]);
    assert_null(conf_find_monitor(c, "nope"));
    assert_ptr_equal(conf_find_heartbeat(c, "abcdefghijklmnop_-12"), &c->monitors[2]);
    assert_null(conf_find_heartbeat(c, "abcdefghijklmnop_-13"));
    conf_free(c);
}

static void test_defaults_applied(void **state)
{
    struct conf *c = load_ok("monitors:\n"
                             "  - {name: a, type: http, url: http://a}\n"
                             "  - {name: b, type: tcp, host: h, port: 1}\n"
                             "  - {name: c, type: heartbeat, token: 0123456789abcdef, period: 1m}\n"
                             "  - {name: d, type: tcp, host: h, port: 1, interval: 5s}\n");
    const struct conf_monitor *m = &c->monitors[0];

    assert_string_equal(c->server.listen, "127.0.0.1:8080");
    assert_string_equal(c->server.data_dir, "./var");
    assert_int_equal(c->server.retention_ms, 7ULL * 86400000);
    assert_int_equal(c->server.max_concurrency, 1000);
    assert_string_equal(c->server.log_level, "info");
    assert_string_equal(c->server.title, "Status");

    assert_int_equal(m->interval_ms, 60000);
    assert_int_equal(m->timeout_ms, 10000);
    assert_int_equal(m->confirm, 2);
    assert_string_equal(m->method, "GET");
    assert_true(m->follow_redirects);
    assert_int_equal(m->max_redirects, 5);
    assert_true(m->tls_verify);
    assert_true(m->public_);
    assert_false(m->paused);
    assert_int_equal(m->n_expect_status, 0);
    assert_null(m->body_contains);
    assert_int_equal(m->max_latency_ms, 0);
    assert_null(m->description);
    assert_int_equal(m->n_labels, 0);

    assert_int_equal(c->monitors[1].timeout_ms, 10000);
    assert_int_equal(c->monitors[2].grace_ms, 60000);
    assert_int_equal(c->monitors[2].confirm, 2);
    /* an interval under 10s pulls the default timeout down with it */
    assert_int_equal(c->monitors[3].interval_ms, 5000);
    assert_int_equal(c->monitors[3].timeout_ms, 5000);
    conf_free(c);
}

static void test_defaults_section(void **state)
{
    struct conf *c =
        load_ok("defaults: {interval: 3s, confirm: 5}\n"
                "monitors:\n"
                "  - {name: a, type: tcp, host: h, port: 1}\n"
                "  - {name: b, type: tcp, host: h, port: 1, interval: 1m, confirm: 1}\n"
                "  - {name: c, type: tcp, host: h, port: 1, timeout: 2s}\n");

    assert_int_equal(c->monitors[0].interval_ms, 3000);
    assert_int_equal(c->monitors[0].timeout_ms, 3000);
    assert_int_equal(c->monitors[0].confirm, 5);
    assert_int_equal(c->monitors[1].interval_ms, 60000);
    assert_int_equal(c->monitors[1].timeout_ms, 10000);
    assert_int_equal(c->monitors[1].confirm, 1);
    assert_int_equal(c->monitors[2].timeout_ms, 2000);
    conf_free(c);
}

static void test_empty_and_server_only(void **state)
{
    struct conf *c = load_ok("");

    assert_int_equal(c->n_monitors, 0);
    assert_string_equal(c->server.listen, "127.0.0.1:8080");
    conf_free(c);
    c = load_ok("# nothing but a comment\n---\n");
    conf_free(c);
    c = load_ok("server: {listen: ':8080'}\nmonitors:\n");
    assert_int_equal(c->n_monitors, 0);
    assert_string_equal(c->server.listen, ":8080");
    conf_free(c);
    c = load_ok("server:\n  listen: '[::]:8080'\nmonitors: []\n");
    conf_free(c);
}

static void test_durations(void **state)
{
    static const struct {
        const char *s;
        uint64_t ms;
    } good[] = {
        { "1s", 1000 },       { "90s", 90000 },   { "1m30s", 90000 },
        { "1h30m", 5400000 }, { "1500ms", 1500 }, { "1d", 86400000 },
    };
    uint64_t ms = 42;
    char text[256];

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct conf *c;

        assert_int_equal(duration_parse_ms(good[i].s, &ms), 0);
        assert_int_equal(ms, good[i].ms);
        snprintf(text, sizeof(text),
                 "monitors:\n  - {name: a, type: tcp, host: h, port: 1, interval: %s, "
                 "timeout: 100ms}\n",
                 good[i].s);
        c = load_ok(text);
        assert_int_equal(c->monitors[0].interval_ms, good[i].ms);
        conf_free(c);
    }
    ms = 42;
    assert_int_equal(duration_parse_ms("30", &ms), -EINVAL);
    assert_int_equal(duration_parse_ms("1x", &ms), -EINVAL);
    assert_int_equal(duration_parse_ms("", &ms), -EINVAL);
    assert_int_equal(duration_parse_ms("99999999999999999999d", &ms), -ERANGE);
    assert_int_equal(ms, 42);

    assert_one("monitors:\n  - {name: a, type: tcp, host: h, port: 1, interval: 30}\n", 2, "30}",
               "interval '30' is not a valid duration (use a number and a unit");
    assert_one("monitors:\n  - {name: a, type: tcp, host: h, port: 1, interval: 1.5s}\n", 2, "1.5s",
               "interval '1.5s' is not a valid duration");
    assert_one("monitors:\n  - {name: a, type: tcp, host: h, port: 1, interval: 200ms}\n", 2,
               "200ms", "interval '200ms' is below the 1s minimum (monitors[0].interval)");
    assert_one("monitors:\n  - {name: a, type: tcp, host: h, port: 1, interval: 25h}\n", 2, "25h",
               "interval '25h' is above the 1d maximum (monitors[0].interval)");
    assert_one("monitors:\n  - {name: a, type: tcp, host: h, port: 1, interval: "
               "99999999999999999999d}\n",
               2, "9999", "is above the 1d maximum");
    assert_one("monitors:\n  - {name: a, type: tcp, host: h, port: 1, timeout: 50ms}\n", 2, "50ms",
               "timeout '50ms' is below the 100ms minimum (monitors[0].timeout)");
    assert_one("server:\n  retention: 30m\n", 2, "30m",
               "retention '30m' is below the 1h minimum (server.retention)");
    assert_one(
        "monitors:\n  - {name: a, type: heartbeat, token: 0123456789abcdef, period: 500ms}\n", 2,
        "500ms", "period '500ms' is below the 1s minimum (monitors[0].period)");
}

/* ---- every kind of rejection -------------------------------------------------------- */

static void test_unknown_keys(void **state)
{
    assert_one("monitors:\n"
               "  - name: a\n"
               "    type: tcp\n"
               "    host: h\n"
               "    port: 1\n"
               "    intervall: 30s\n",
               6, "intervall", "unknown key 'intervall' (did you mean 'interval'?)");
    assert_one("monitor: []\n", 1, "monitor", "unknown key 'monitor' (did you mean 'monitors'?)");
    assert_one("server:\n  colour: blue\n", 2, "colour",
               "unknown key 'colour' (valid keys: listen, data_dir, retention, max_concurrency, "
               "log_level, title)");
    assert_one("monitors:\n  - {name: a, type: tcp, host: h, port: 1, zzz: 1}\n", 2, "zzz",
               "unknown key 'zzz' (valid keys: name, type, description, paused, public, interval, "
               "timeout, confirm, down_on_warning, on_failure, labels, severity, summary, "
               "depends_on, tolerance, expect, host, port, send)");
    assert_one("monitors:\n  - {name: a, type: http, url: 'http://a', expect: {statuss: 200}}\n", 2,
               "statuss", "unknown key 'statuss' (did you mean 'status'?)");
    assert_one("defaults: {confirn: 3}\n", 1, "confirn",
               "unknown key 'confirn' (did you mean 'confirm'?)");
}

static void test_key_does_not_apply(void **state)
{
    assert_one("monitors:\n  - {name: db, type: tcp, host: h, port: 1, url: 'http://x'}\n", 2,
               "url", "key 'url' does not apply to a tcp monitor (only to http monitors)");
    /* the type is known even when it comes after the key */
    assert_one("monitors:\n  - {port: 1, name: a, type: http, url: 'http://x'}\n", 2, "port",
               "key 'port' does not apply to an http monitor (only to tcp and tls monitors)");
    assert_one(
        "monitors:\n"
        "  - {name: a, type: heartbeat, token: 0123456789abcdef, period: 1m, interval: 1m}\n",
        2, "interval",
        "key 'interval' does not apply to a heartbeat monitor (only to http, tcp, exec, file, "
        "log, host, process, dns, tls and icmp monitors)");
}

static void test_duplicate_keys(void **state)
{
    assert_one("server:\n  listen: ':1'\n  title: x\n  listen: ':2'\n", 4, "listen",
               "duplicate key 'listen' (first at line 2)");
    assert_one("monitors:\n  - name: a\n    type: tcp\n    host: h\n    port: 1\n    port: 2\n", 6,
               "port", "duplicate key 'port' (first at line 5)");
    assert_one("monitors:\n  - {name: a, type: tcp, host: h, port: 1, labels: {a: x, a: y}}\n", 2,
               "a: y", "duplicate key 'a' (first at line 2)");
    assert_one("monitors: []\nmonitors: []\n", 2, "monitors",
               "duplicate key 'monitors' (first at line 1)");
}

static void test_wrong_types(void **state)
{
    assert_one("server: [a]\n", 1, "[a]", "expected a mapping, got a sequence (server)");
    assert_one("server: 5\n", 1, "5", "expected a mapping, got '5' (server)");
    assert_one("monitors: {a: 1}\n", 1, "{a",
               "expected a sequence of monitors, got a mapping (monitors)");
    assert_one("monitors:\n  - just-a-name\n", 2, "just",
               "expected a mapping, got 'just-a-name' (monitors[0])");
    assert_one("monitors:\n  - {name: a, type: tcp, host: h, port: 5s}\n", 2, "5s",
               "expected an integer, got '5s' (monitors[0].port)");
    assert_one("monitors:\n  - {name: a, type: tcp, host: h, port: 0x50}\n", 2, "0x50",
               "expected an integer, got '0x50' (monitors[0].port)");
    assert_one("monitors:\n  - {name: a, type: tcp, host: [h], port: 1}\n", 2, "[h]",
               "expected a string, got a sequence (monitors[0].host)");
    assert_one("monitors:\n  - {name: a, type: tcp, host: h, port: 1, paused: yes}\n", 2, "yes",
               "expected true or false, got 'yes' (monitors[0].paused)");
    assert_one("monitors:\n  - {name: a, type: tcp, host: h, port: 1, paused: True}\n", 2, "True",
               "expected true or false, got 'True' (monitors[0].paused)");
    assert_one("monitors:\n  - {name: a, type: tcp, host: h, port: 1, labels: [a]}\n", 2, "[a]",
               "expected a mapping, got a sequence (monitors[0].labels)");
    assert_one("monitors:\n  - {name: a, type: http, url: 'http://a', expect: 200}\n", 2, "200",
               "expected a mapping, got '200' (monitors[0].expect)");
    assert_one("monitors:\n  - {name: a, type: tcp, host: h, port: 1, confirm: {a: 1}}\n", 2,
               "{a: 1}", "expected an integer, got a mapping (monitors[0].confirm)");
    assert_one("monitors:\n  - name: a\n    type: tcp\n    host:\n    port: 1\n", 4, "host",
               "key 'host' has no value (monitors[0].host)");
    assert_one("monitors:\n  - {[a]: 1, name: a, type: tcp, host: h, port: 1}\n", 2, "[a]",
               "expected a key name, got a sequence (monitors[0])");
}

static void test_ranges(void **state)
{
    assert_one("monitors:\n  - {name: a, type: tcp, host: h, port: 70000}\n", 2, "70000",
               "port '70000' is above the maximum of 65535 (monitors[0].port)");
    assert_one("monitors:\n  - {name: a, type: tcp, host: h, port: -1}\n", 2, "-1",
               "port '-1' is below the minimum of 1 (monitors[0].port)");
    assert_one("monitors:\n  - {name: a, type: tcp, host: h, port: 99999999999999999999999}\n", 2,
               "9999", "is above the maximum of 65535");
    assert_one("monitors:\n  - {name: a, type: tcp, host: h, port: 1, confirm: 0}\n", 2, "0}",
               "confirm '0' is below the minimum of 1 (monitors[0].confirm)");
    assert_one("monitors:\n  - {name: a, type: http, url: 'http://a', max_redirects: 51}\n", 2,
               "51", "max_redirects '51' is above the maximum of 50 (monitors[0].max_redirects)");
    assert_one("server: {max_concurrency: 100001}\n", 1, "100001",
               "max_concurrency '100001' is above the maximum of 100000 (server.max_concurrency)");
    assert_one(
        "monitors:\n  - {name: a, type: http, url: 'http://a', expect: {status: [200, 99]}}\n", 2,
        "99]", "status '99' is below the minimum of 100 (monitors[0].expect.status[1])");
    assert_one("monitors:\n  - {name: a, type: http, url: 'http://a', expect: {status: 600}}\n", 2,
               "600", "status '600' is above the maximum of 599 (monitors[0].expect.status)");
    assert_one(
        "monitors:\n  - {name: a, type: tcp, host: h, port: 1, interval: 10s, timeout: 11s}\n", 2,
        "11s", "timeout '11s' exceeds the interval '10s' (monitors[0].timeout)");
    assert_one("defaults: {interval: 5s, timeout: 6s}\n", 1, "6s",
               "timeout '6s' exceeds the interval '5s' (defaults.timeout)");
    assert_one(
        "monitors:\n"
        "  - {name: a, type: http, url: 'http://a', timeout: 1s, expect: {max_latency: 2s}}\n",
        2, "2s}", "max_latency '2s' exceeds the timeout '1s'");
}

static void test_bad_strings(void **state)
{
    char text[512], name[OPSD_MAX_NAME + 2];

    assert_one("monitors:\n  - {name: Api, type: tcp, host: h, port: 1}\n", 2, "Api",
               "monitor name 'Api' is not valid (use lowercase letters, digits, '_', '.' and '-')");
    assert_one("monitors:\n  - {name: '', type: tcp, host: h, port: 1}\n", 2, "''",
               "monitor name '' is not valid");
    memset(name, 'a', OPSD_MAX_NAME + 1);
    name[OPSD_MAX_NAME + 1] = '\0';
    snprintf(text, sizeof(text), "monitors:\n  - {name: %s, type: tcp, host: h, port: 1}\n", name);
    assert_one(text, 2, "aaa", "is longer than 128 characters (monitors[0].name)");
    name[OPSD_MAX_NAME] = '\0';
    snprintf(text, sizeof(text), "monitors:\n  - {name: %s, type: tcp, host: h, port: 1}\n", name);
    conf_free(load_ok(text));

    assert_one("monitors:\n  - {name: a, type: htp}\n", 2, "htp",
               "unknown monitor type 'htp' (did you mean 'http'?)");
    assert_one("monitors:\n  - {name: a, type: ping}\n", 2, "ping",
               "unknown monitor type 'ping' (expected http, tcp, heartbeat, exec, file, log, host, "
               "process, dns, tls or icmp)");
    assert_one("monitors:\n  - {name: a, type: http, url: ftp://x}\n", 2, "ftp",
               "url 'ftp://x' does not start with http:// or https:// (monitors[0].url)");
    assert_one("monitors:\n  - {name: a, type: http, url: 'https://'}\n", 2, "'https",
               "url 'https://' has no host (monitors[0].url)");
    assert_one("monitors:\n  - {name: a, type: http, url: 'http://a', method: get}\n", 2, "get",
               "method 'get' is not supported (expected GET, HEAD, POST, PUT, DELETE, OPTIONS or "
               "PATCH)");
    assert_one("monitors:\n  - {name: a, type: tcp, host: 'http://h', port: 1}\n", 2, "'http://h'",
               "host 'http://h' is a URL, not a host name or address (monitors[0].host)");
    assert_one("server: {listen: '8080'}\n", 1, "'8080'", "listen '8080' is not host:port");
    assert_one("server: {listen: 'localhost:http'}\n", 1, "'localhost",
               "listen 'localhost:http' is not");
    assert_one("server: {log_level: verbose}\n", 1, "verbose",
               "log_level 'verbose' is not valid (expected debug, info, warn or error)");
    assert_one("server: {data_dir: ''}\n", 1, "''", "data_dir must not be empty (server.data_dir)");
    assert_one(
        "monitors:\n  - {name: a, type: http, url: 'http://a', expect: {body_contains: ''}}\n", 2,
        "''", "body_contains must not be empty");
}

static void test_tokens(void **state)
{
    assert_one("monitors:\n  - {name: a, type: heartbeat, token: secret, period: 1m}\n", 2,
               "secret", "token is 6 characters long, below the 16 minimum (monitors[0].token)");
    assert_false(strstr(diags.v[0].msg, "secret"));
    assert_one("monitors:\n  - {name: a, type: heartbeat, token: 'secret+secret+secret', period: "
               "1m}\n",
               2, "'secret", "token has a character other than letters, digits, '_' and '-'");
    assert_false(strstr(diags.v[0].msg, "secret+"));
    assert_one("monitors:\n"
               "  - {name: a, type: heartbeat, token: 0123456789abcdef, period: 1m}\n"
               "  - {name: b, type: tcp, host: h, port: 1}\n"
               "  - {name: c, type: heartbeat, token: 0123456789abcdef, period: 1m}\n",
               4, "0123456789abcdef",
               "duplicate heartbeat token (already used by monitor 'a' at line 2)");
    assert_false(strstr(diags.v[0].msg, "0123456789abcdef"));
}

static void test_duplicate_names(void **state)
{
    assert_one("monitors:\n"
               "  - {name: api, type: tcp, host: h, port: 1}\n"
               "  - {name: db, type: tcp, host: h, port: 2}\n"
               "  - name: api\n"
               "    type: tcp\n"
               "    host: h\n"
               "    port: 3\n",
               4, "api", "duplicate monitor name 'api' (first defined at line 2)");
}

static void test_missing_required(void **state)
{
    struct conf *c = UNTOUCHED;

    assert_int_equal(load("monitors:\n"
                          "  - type: tcp\n"
                          "    description: x\n"
                          "  - {name: b}\n"
                          "  - {name: c, type: http}\n"
                          "  - {name: d, type: heartbeat, token: 0123456789abcdef}\n",
                          &c),
                     -EINVAL);
    assert_ptr_equal(c, UNTOUCHED);
    assert_int_equal(diags.n, 6);
    assert_diag(2, 5, "missing required key 'name' (monitors[0])");
    assert_diag(2, 5, "missing required key 'host' for a tcp monitor (monitors[0])");
    assert_diag(2, 5, "missing required key 'port' for a tcp monitor (monitors[0])");
    assert_diag(4, 5, "missing required key 'type' (monitors[1])");
    assert_diag(5, 5, "missing required key 'url' for an http monitor (monitors[2])");
    assert_diag(6, 5,
                "a heartbeat monitor needs period or schedule (monitors[3]; e.g. period: 24h, or "
                "schedule: \"0 3 * * *\")");
}

static void test_labels(void **state)
{
    struct sbuf sb = SBUF_INIT;

    assert_one("monitors:\n  - {name: a, type: tcp, host: h, port: 1, labels: {my-team: x}}\n", 2,
               "my-team", "label name 'my-team' is not valid (use letters, digits and '_'");
    assert_one("monitors:\n  - {name: a, type: tcp, host: h, port: 1, labels: {team: [x]}}\n", 2,
               "[x]", "expected a string, got a sequence (monitors[0].labels.team)");
    sbuf_puts(&sb,
              "monitors:\n  - name: a\n    type: tcp\n    host: h\n    port: 1\n    labels:\n");
    for (int i = 0; i < OPSD_MAX_LABELS + 1; i++)
        sbuf_addf(&sb, "      k%d: v\n", i);
    assert_one(sb.buf, 7 + OPSD_MAX_LABELS, "k32", "too many labels (the limit is 32)");
    sbuf_release(&sb);
}

static void test_malformed_yaml(void **state)
{
    assert_one("server:\n  listen: ':1'\n bad: x\n", 3, "bad",
               "invalid YAML: did not find expected key (while parsing a block mapping at line 1, "
               "column 1)");
    assert_one("server:\n\tlisten: x\n", 2, "\t",
               "invalid YAML: found character that cannot start any token (indent with spaces");
    assert_one("server: {title: \"abc}\n", 2, "",
               "invalid YAML: found unexpected end of stream (while scanning a quoted scalar at "
               "line 1, column 17)");
    assert_one("title: a\xff\n", 1, "\xff", "invalid YAML: invalid leading UTF-8 octet");
    assert_one("monitors: []\n---\nmonitors: []\n", 2, "---", "unexpected second YAML document");
    assert_one("- a\n- b\n", 1, "- a", "expected a mapping at the top level, got a sequence");
}

static void test_too_large_and_unreadable(void **state)
{
    struct conf *c = UNTOUCHED;
    size_t n = OPSD_MAX_CONFIG_BYTES + 1;
    char *big = xmalloc(n);
    FILE *f;

    memset(big, '#', n);
    conf_diags_free(&diags);
    assert_int_equal(conf_load_string("big.yaml", big, n, &c, &diags), -EFBIG);
    free(big);
    assert_ptr_equal(c, UNTOUCHED);
    assert_int_equal(diags.n, 1);
    assert_int_equal(diags.v[0].line, 0);
    assert_string_equal(diags.v[0].msg, "config is larger than the 16 MiB limit");

    conf_diags_free(&diags);
    assert_int_equal(conf_load("/nonexistent/opsd.yaml", &c, &diags), -ENOENT);
    assert_ptr_equal(c, UNTOUCHED);
    assert_int_equal(diags.n, 1);
    assert_int_equal(diags.v[0].line, 0);
    assert_int_equal(diags.v[0].col, 0);
    assert_string_equal(diags.v[0].msg, "cannot read config: No such file or directory");

    {
        char *out = NULL;
        size_t len = 0;

        f = open_memstream(&out, &len);
        conf_diags_print(&diags, f);
        fclose(f);
        assert_string_equal(out, "/nonexistent/opsd.yaml: error: cannot read config: No such "
                                 "file or directory\n");
        free(out);
    }
}

static void test_load_file(void **state)
{
    char dir[] = "/tmp/opsd-test-config-XXXXXX", path[PATH_MAX];
    struct conf *c = NULL;
    FILE *f;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/opsd.yaml", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(full_example, f);
    fclose(f);
    conf_diags_free(&diags);
    assert_int_equal(conf_load(path, &c, &diags), 0);
    assert_int_equal(c->n_monitors, 3);
    assert_string_equal(c->path, path);
    conf_free(c);

    c = UNTOUCHED;
    conf_diags_free(&diags);
    assert_int_equal(conf_load(dir, &c, &diags), -EISDIR);
    assert_ptr_equal(c, UNTOUCHED);
    assert_string_equal(diags.v[0].msg, "cannot read config: Is a directory");
    unlink(path);
    rmdir(dir);
}

static void test_env_expansion(void **state)
{
    struct conf *c;

    setenv("OPSD_TEST_HOST", "db.internal", 1);
    setenv("OPSD_TEST_PORT", "5433", 1);
    setenv("OPSD_TEST_TOKEN", "0123456789abcdef0123", 1);
    setenv("OPSD_TEST_EMPTY", "", 1);
    unsetenv("OPSD_TEST_UNSET");
    c = load_ok("server: {title: 'Costs $$5 at ${OPSD_TEST_HOST}${OPSD_TEST_EMPTY}, $HOME'}\n"
                "monitors:\n"
                "  - {name: db, type: tcp, host: '${OPSD_TEST_HOST}', port: '${OPSD_TEST_PORT}'}\n"
                "  - {name: hb, type: heartbeat, token: '${OPSD_TEST_TOKEN}', period: 1h}\n");
    assert_string_equal(c->server.title, "Costs $5 at db.internal, $HOME");
    assert_string_equal(c->monitors[0].host, "db.internal");
    assert_int_equal(c->monitors[0].port, 5433);
    assert_string_equal(c->monitors[1].token, "0123456789abcdef0123");
    conf_free(c);

    assert_one("monitors:\n  - {name: a, type: tcp, host: '${OPSD_TEST_UNSET}', port: 1}\n", 2,
               "'${", "environment variable 'OPSD_TEST_UNSET' is not set (monitors[0].host)");
    assert_one("server: {title: 'a ${OPSD_TEST_HOST'}\n", 1, "'a",
               "unterminated '${' in 'a ${OPSD_TEST_HOST' (write '$$' for a literal '$')");
    assert_one("server: {title: '${A-B}'}\n", 1, "'${A", "invalid environment variable name 'A-B'");
    /* the expanded value is what gets checked; the message quotes it as written */
    setenv("OPSD_TEST_PORT", "http", 1);
    assert_one("monitors:\n  - {name: a, type: tcp, host: h, port: '${OPSD_TEST_PORT}'}\n", 2,
               "'${", "expected an integer, got '${OPSD_TEST_PORT}' (monitors[0].port)");
    assert_null(strstr(diags.v[0].msg, "http"));
    /* keys are not expanded */
    assert_one("server: {'${OPSD_TEST_HOST}': 1}\n", 1, "'${", "unknown key '${OPSD_TEST_HOST}'");
}

/* ---- secrets never reach a message ---------------------------------------------------- */

/* Loads text, which must fail with a diagnostic containing what, and asserts
 * that secret appears in no diagnostic, nor in what conf_diags_print() prints. */
static void assert_hidden(const char *text, const char *what, const char *secret)
{
    struct conf *c = UNTOUCHED;
    bool found = false;
    char *out = NULL;
    size_t len = 0;
    FILE *f;

    assert_int_equal(load(text, &c), -EINVAL);
    assert_ptr_equal(c, UNTOUCHED);
    for (size_t i = 0; i < diags.n; i++) {
        found = found || strstr(diags.v[i].msg, what);
        if (strstr(diags.v[i].msg, secret)) {
            fprintf(stderr, "'%s' shows in:\n", secret);
            dump_diags();
            fail();
        }
    }
    if (!found) {
        fprintf(stderr, "no diagnostic containing \"%s\" for:\n%s\ngot:\n", what, text);
        dump_diags();
        fail();
    }
    f = open_memstream(&out, &len);
    conf_diags_print(&diags, f);
    fclose(f);
    assert_null(strstr(out, secret));
    free(out);
}

/* Every kind of diagnostic that quotes a value, on a value taken from
 * ${OPSD_TEST_SECRET}: the message quotes the value as written, never what
 * the variable holds. */
static void test_env_secrets_never_quoted(void **state)
{
#define M "monitors:\n  - "
#define S "'${OPSD_TEST_SECRET}'"
    static const struct {
        const char *value;  /* what OPSD_TEST_SECRET holds */
        const char *secret; /* the part of it no message may show */
        const char *text;
        const char *what; /* the diagnostic it must cause */
    } cases[] = {
        /* url */
        { "Sup3rS3cret", "S3cret", M "{name: a, type: http, url: " S "}\n",
          "url '${OPSD_TEST_SECRET}' does not start with http://" },
        { "/Sup3rS3cret", "S3cret", M "{name: a, type: http, url: 'https://${OPSD_TEST_SECRET}'}\n",
          "url 'https://${OPSD_TEST_SECRET}' has no host" },
        { "Sup3rS3cret", "S3cret",
          M "{name: a, type: http, url: 'http://admin:${OPSD_TEST_SECRET}@127.0.0.1:1/a b'}\n",
          "url 'http://***@127.0.0.1:1/a b' contains a space" },
        { "Sup3r S3cret", "S3cret",
          M "{name: a, type: http, url: 'http://h/${OPSD_TEST_SECRET}'}\n",
          "url 'http://h/${OPSD_TEST_SECRET}' contains a space" },
        { "Sup3rS3cret", "S3cret", M "{name: a, type: http, url: 'http://h', method: " S "}\n",
          "method '${OPSD_TEST_SECRET}' is not supported" },
        /* host */
        { "u:Sup3rS3cret@h", "S3cret",
          M "{name: a, type: tcp, port: 1, host: 'http://${OPSD_TEST_SECRET}'}\n",
          "host 'http://${OPSD_TEST_SECRET}' is a URL" },
        { "Sup3r S3cret", "S3cret", M "{name: a, type: tcp, port: 1, host: " S "}\n",
          "host '${OPSD_TEST_SECRET}' contains a space" },
        { "Sup3rS3cret/x", "S3cret", M "{name: a, type: tcp, port: 1, host: " S "}\n",
          "host '${OPSD_TEST_SECRET}' is not a host name or IP address" },
        { "-Sup3rS3cret", "S3cret", M "{name: a, type: tcp, port: 1, host: " S "}\n",
          "host '${OPSD_TEST_SECRET}' is not a valid host name" },
        { "999.314159.271828.1", "271828", M "{name: a, type: tcp, port: 1, host: " S "}\n",
          "host '${OPSD_TEST_SECRET}' is not a valid IPv4 address" },
        { "fe80::31337::1", "31337", M "{name: a, type: tcp, port: 1, host: " S "}\n",
          "host '${OPSD_TEST_SECRET}' is not a valid IPv6 address" },
        { "db:31337", "31337", M "{name: a, type: tcp, port: 1, host: " S "}\n",
          "host '${OPSD_TEST_SECRET}' includes a port" },
        { "Sup3rS3cret.Sup3rS3cret.Sup3rS3cret.Sup3rS3cret.Sup3rS3cret.Sup3rS3cret.Sup3rS3cret."
          "Sup3rS3cret.Sup3rS3cret.Sup3rS3cret.Sup3rS3cret.Sup3rS3cret.Sup3rS3cret.Sup3rS3cret."
          "Sup3rS3cret.Sup3rS3cret.Sup3rS3cret.Sup3rS3cret.Sup3rS3cret.Sup3rS3cret.Sup3rS3cret."
          "Sup3rS3cret.x",
          "S3cret", M "{name: a, type: tcp, port: 1, host: " S "}\n",
          "host '${OPSD_TEST_SECRET}' is longer than 253 characters" },
        /* name, type */
        { "Sup3rS3cret", "S3cret", M "{name: " S ", type: tcp, host: h, port: 1}\n",
          "monitor name '${OPSD_TEST_SECRET}' is not valid" },
        { "sup3rs3cret-sup3rs3cret-sup3rs3cret-sup3rs3cret-sup3rs3cret-sup3rs3cret-sup3rs3cret-"
          "sup3rs3cret-sup3rs3cret-sup3rs3cret-sup3rs3cret-sup3rs3cret",
          "s3cret", M "{name: " S ", type: tcp, host: h, port: 1}\n",
          "monitor name '${OPSD_TEST_SECRET}' is longer than 128 characters" },
        { "Sup3rS3cret", "S3cret", M "{name: a, type: " S "}\n",
          "unknown monitor type '${OPSD_TEST_SECRET}' (expected http, tcp, heartbeat, exec, file, log, "
          "host, process, dns, tls or icmp)" },
        { "htpp", "htpp", M "{name: a, type: " S "}\n",
          "unknown monitor type '${OPSD_TEST_SECRET}' (did you mean 'http'?)" },
        /* integers, booleans */
        { "Sup3rS3cret", "S3cret", M "{name: a, type: tcp, host: h, port: " S "}\n",
          "expected an integer, got '${OPSD_TEST_SECRET}' (monitors[0].port)" },
        { "31337271828", "31337", M "{name: a, type: tcp, host: h, port: " S "}\n",
          "port '${OPSD_TEST_SECRET}' is above the maximum of 65535" },
        { "-31337", "31337", M "{name: a, type: tcp, host: h, port: 1, confirm: " S "}\n",
          "confirm '${OPSD_TEST_SECRET}' is below the minimum of 1" },
        { "31337", "31337",
          M "{name: a, type: http, url: 'http://h', expect: {status: [200, " S "]}}\n",
          "status '${OPSD_TEST_SECRET}' is above the maximum of 599" },
        { "Sup3rS3cret", "S3cret", M "{name: a, type: tcp, host: h, port: 1, paused: " S "}\n",
          "expected true or false, got '${OPSD_TEST_SECRET}'" },
        /* durations */
        { "Sup3rS3cret", "S3cret", M "{name: a, type: tcp, host: h, port: 1, interval: " S "}\n",
          "interval '${OPSD_TEST_SECRET}' is not a valid duration" },
        { "31337d", "31337", M "{name: a, type: tcp, host: h, port: 1, interval: " S "}\n",
          "interval '${OPSD_TEST_SECRET}' is above the 1d maximum" },
        { "271ms", "271", M "{name: a, type: tcp, host: h, port: 1, interval: " S "}\n",
          "interval '${OPSD_TEST_SECRET}' is below the 1s minimum" },
        { "31337ms", "31337",
          M "{name: a, type: tcp, host: h, port: 1, interval: 10s, timeout: " S "}\n",
          "timeout '${OPSD_TEST_SECRET}' exceeds the interval '10s' (monitors[0].timeout)" },
        { "31337ms", "31337", "defaults: {interval: " S ", timeout: 40s}\n",
          "timeout '40s' exceeds the interval '${OPSD_TEST_SECRET}' (defaults.timeout)" },
        { "31337ms", "31337",
          "defaults: {interval: " S "}\n" M
          "{name: a, type: tcp, host: h, port: 1, timeout: 40s}\n",
          "timeout '40s' exceeds the interval '${OPSD_TEST_SECRET}' (monitors[0].timeout)" },
        { "1337ms", "1337",
          M "{name: a, type: http, url: 'http://h', timeout: " S ", expect: {max_latency: 2s}}\n",
          "max_latency '2s' exceeds the timeout '${OPSD_TEST_SECRET}'" },
        { "1337ms", "1337",
          "defaults: {timeout: " S "}\n" M
          "{name: a, type: http, url: 'http://h', expect: {max_latency: 2s}}\n",
          "max_latency '2s' exceeds the timeout '${OPSD_TEST_SECRET}'" },
        { "1337ms", "1337",
          "defaults: {interval: " S "}\n" M
          "{name: a, type: http, url: 'http://h', expect: {max_latency: 2s}}\n",
          "max_latency '2s' exceeds the timeout '${OPSD_TEST_SECRET}'" },
        /* server */
        { "Sup3rS3cret", "S3cret", "server: {listen: " S "}\n",
          "listen '${OPSD_TEST_SECRET}' is not host:port" },
        { "Sup3rS3cret", "S3cret", "server: {log_level: " S "}\n",
          "log_level '${OPSD_TEST_SECRET}' is not valid" },
        { "Sup3rS3cret", "S3cret", "server: {retention: " S "}\n",
          "retention '${OPSD_TEST_SECRET}' is not a valid duration" },
        /* tokens, and names quoted by the duplicate checks */
        { "Sup3rS3cret", "S3cret", M "{name: a, type: heartbeat, period: 1m, token: " S "}\n",
          "token is 11 characters long, below the 16 minimum" },
        { "Sup3rS3cret+Sup3rS3cret", "S3cret",
          M "{name: a, type: heartbeat, period: 1m, token: " S "}\n",
          "token has a character other than" },
        { "sup3rs3cret", "s3cret",
          M "{name: " S ", type: tcp, host: h, port: 1}\n"
            "  - {name: " S ", type: tcp, host: h, port: 2}\n",
          "duplicate monitor name '${OPSD_TEST_SECRET}' (first defined at line 2)" },
        { "sup3rs3cret", "s3cret",
          M "{name: " S ", type: heartbeat, period: 1m, token: 0123456789abcdef}\n"
            "  - {name: b, type: heartbeat, period: 1m, token: 0123456789abcdef}\n",
          "already used by monitor '${OPSD_TEST_SECRET}' at line 2" },
        /* expansion problems quote the text as written */
        { "Sup3rS3cret", "S3cret", "server: {title: 'x ${OPSD_TEST_SECRET} ${OPSD'}\n",
          "unterminated '${' in 'x ${OPSD_TEST_SECRET} ${OPSD'" },
        { "Sup3rS3cret", "S3cret", "server: {data_dir: [" S "], title: x}\n",
          "expected a string, got a sequence (server.data_dir)" },
    };
#undef M
#undef S

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        setenv("OPSD_TEST_SECRET", cases[i].value, 1);
        assert_hidden(cases[i].text, cases[i].what, cases[i].secret);
    }
    unsetenv("OPSD_TEST_SECRET");
}

/* body_contains from the environment is never shown (one written in the file
 * may be). */
static void test_env_body_never_quoted(void **state)
{
    struct sbuf sb = SBUF_INIT;

    while (sb.len <= OPSD_MAX_BODY_CAPTURE)
        sbuf_puts(&sb, "Sup3rS3cret ");
    setenv("OPSD_TEST_SECRET", sb.buf, 1);
    sbuf_release(&sb);
    assert_hidden("monitors:\n  - {name: a, type: http, url: 'http://h', expect: {body_contains: "
                  "'${OPSD_TEST_SECRET}'}}\n",
                  "body_contains is longer than the 65536 bytes of a body that are checked",
                  "S3cret");
    setenv("OPSD_TEST_SECRET", "", 1);
    assert_hidden("monitors:\n  - {name: a, type: http, url: 'http://h', expect: {body_contains: "
                  "'${OPSD_TEST_SECRET}'}}\n",
                  "body_contains must not be empty", "${");
    setenv("OPSD_TEST_SECRET", "Sup3rS3cret", 1);
    assert_hidden("monitors:\n  - {name: a, type: http, url: 'http://h', expect: {body_contains: "
                  "'${OPSD_TEST_SECRET}', statuss: 200}}\n",
                  "unknown key 'statuss'", "S3cret");
    unsetenv("OPSD_TEST_SECRET");
}

/* The userinfo of a URL is masked in every message, even when written in the
 * file. */
static void test_url_userinfo_masked(void **state)
{
    char text[512], user[101];

    assert_one(
        "monitors:\n  - {name: a, type: http, url: 'http://admin:hunter2@127.0.0.1:1/a b'}\n", 2,
        "'http",
        "url 'http://***@127.0.0.1:1/a b' contains a space or control character (encode "
        "it, e.g. %20)");
    assert_null(strstr(diags.v[0].msg, "hunter2"));
    assert_null(strstr(diags.v[0].msg, "admin"));
    assert_one("monitors:\n  - {name: a, type: http, url: 'ftp://admin:hunter2@x/'}\n", 2, "'ftp",
               "url 'ftp://***@x/' does not start with http:// or https://");
    assert_one("monitors:\n  - {name: a, type: http, url: 'admin:hunter2@example.com/x'}\n", 2,
               "'admin", "url '***@example.com/x' does not start with http:// or https://");
    /* the last '@' of the authority ends the userinfo; one after it does not */
    assert_one("monitors:\n  - {name: a, type: http, url: 'http://u:p@ss@h/x?to=a@b c'}\n", 2,
               "'http", "url 'http://***@h/x?to=a@b c' contains a space");
    assert_one("monitors:\n  - {name: a, type: tcp, port: 1, host: 'https://admin:hunter2@h'}\n", 2,
               "'https", "host 'https://***@h' is a URL");
    assert_one("monitors:\n  - {name: a, type: tcp, port: 1, host: 'admin:hunter2@h'}\n", 2,
               "'admin", "host '***@h' is not a host name or IP address");
    assert_one("server: 'http://admin:hunter2@h'\n", 1, "'http",
               "expected a mapping, got 'http://***@h' (server)");
    /* masked before the value is cut to fit the message */
    memset(user, 'p', sizeof(user) - 1);
    user[sizeof(user) - 1] = '\0';
    snprintf(text, sizeof(text), "monitors:\n  - {name: a, type: http, url: 'http://u:%s@h/ x'}\n",
             user);
    assert_one(text, 2, "'http", "url 'http://***@h/ x' contains a space");
    assert_null(strstr(diags.v[0].msg, "ppp"));
}

/* ---- host syntax ------------------------------------------------------------------------ */

static void test_host_syntax(void **state)
{
    static const struct {
        const char *written, *stored;
    } good[] = {
        { "db.internal", "db.internal" },
        { "localhost", "localhost" },
        { "DB-1.Example.com.", "DB-1.Example.com." },
        { "10.0.0.5", "10.0.0.5" },
        { "'::1'", "::1" },
        { "'[::1]'", "::1" },
        { "'2001:db8::1'", "2001:db8::1" },
        { "'[fe80::1%eth0]'", "fe80::1%eth0" },
        { "'::ffff:10.0.0.5'", "::ffff:10.0.0.5" },
        { "db_1", "db_1" }, /* compose service names resolve although DNS forbids '_' */
        { "a23456789012345678901234567890123456789012345678901234567890123.b", /* 63 */
          "a23456789012345678901234567890123456789012345678901234567890123.b" },
    };
    static const struct {
        const char *written, *at, *what;
    } bad[] = {
        { "x/y", "x/y",
          "host 'x/y' is not a host name or IP address (use a DNS name such as db.internal, an "
          "IPv4 address such as 10.0.0.5 or an IPv6 address such as ::1)" },
        { "db~1.internal", "db~1", "host 'db~1.internal' is not a host name or IP address" },
        { "'db.internal:5432'", "'db",
          "host 'db.internal:5432' includes a port (set it with the "
          "port key)" },
        { "'[::1]:5432'", "'[", "host '[::1]:5432' includes a port" },
        { "10.0.0.256", "10.",
          "host '10.0.0.256' is not a valid IPv4 address (four numbers "
          "from 0 to 255, e.g. 10.0.0.5)" },
        { "10.1", "10.1", "host '10.1' is not a valid IPv4 address" },
        { "'1::2::3'", "'1::", "host '1::2::3' is not a valid IPv6 address (e.g. ::1 or [::1])" },
        { "'::g'", "'::g", "host '::g' is not a host name or IP address" },
        { "'[::1'", "'[", "host '[::1' is not a valid IPv6 address" },
        { "'[]'", "'[", "host '[]' is not a valid IPv6 address" },
        { "'[db.internal]'", "'[", "host '[db.internal]' is not a valid IPv6 address" },
        { "'fe80::1%'", "'fe80", "host 'fe80::1%' is not a valid IPv6 address" },
        { "'fe80::1%eth0/x'", "'fe80", "host 'fe80::1%eth0/x' is not a valid IPv6 address" },
        { "'db:http'", "'db", "host 'db:http' is not a host name or IP address" },
        { "a..b", "a..b",
          "host 'a..b' is not a valid host name (each part between dots is 1 to "
          "63 letters, digits, '-' or '_', not starting or ending with '-')" },
        { ".a", ".a", "host '.a' is not a valid host name" },
        { "a.", "a.", NULL }, /* a final dot is fine: see below */
        { "-a.b", "-a", "host '-a.b' is not a valid host name" },
        { "a-.b", "a-", "host 'a-.b' is not a valid host name" },
        { "a.b-", "a.b-", "host 'a.b-' is not a valid host name" },
        { "a234567890123456789012345678901234567890123456789012345678901234.b", "a2",
          "is not a valid host name" },
    };
    char text[512], name[300];
    struct conf *c;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        snprintf(text, sizeof(text), "monitors:\n  - {name: a, type: tcp, port: 1, host: %s}\n",
                 good[i].written);
        c = load_ok(text);
        assert_string_equal(c->monitors[0].host, good[i].stored);
        conf_free(c);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), "monitors:\n  - {name: a, type: tcp, port: 1, host: %s}\n",
                 bad[i].written);
        if (!bad[i].what) {
            conf_free(load_ok(text));
            continue;
        }
        assert_one(text, 2, bad[i].at, bad[i].what);
    }

    /* 253 characters is the longest name */
    memset(name, 'a', 253);
    for (size_t i = 50; i < 253; i += 50)
        name[i] = '.';
    name[253] = '\0';
    snprintf(text, sizeof(text), "monitors:\n  - {name: a, type: tcp, port: 1, host: %s}\n", name);
    c = load_ok(text);
    assert_string_equal(c->monitors[0].host, name);
    conf_free(c);
    snprintf(text, sizeof(text), "monitors:\n  - {name: a, type: tcp, port: 1, host: %s.}\n", name);
    conf_free(load_ok(text));
    strcat(name, "a");
    snprintf(text, sizeof(text), "monitors:\n  - {name: a, type: tcp, port: 1, host: %s}\n", name);
    assert_one(text, 2, "aaa", "is longer than 253 characters (monitors[0].host)");
}

/* The document is composed from libyaml's events here (to cap the nesting):
 * anchors, aliases and tags work as with yaml_parser_load(). */
static void test_anchors_and_aliases(void **state)
{
    struct conf *c = load_ok("defaults: &d {interval: 30s}\n"
                             "monitors:\n"
                             "  - {name: a, type: tcp, host: &h db.internal, port: 1,\n"
                             "     labels: &l {team: core, env: prod}}\n"
                             "  - {name: b, type: !!str tcp, host: *h, port: 2, labels: *l}\n"
                             "  - !!map {name: c, type: ! tcp, host: h, port: 3}\n");

    assert_int_equal(c->n_monitors, 3);
    assert_int_equal(c->monitors[0].interval_ms, 30000);
    assert_string_equal(c->monitors[1].host, "db.internal");
    assert_int_equal(c->monitors[1].n_labels, 2);
    assert_string_equal(c->monitors[1].labels[0].key, "env");
    assert_string_equal(c->monitors[1].labels[1].value, "core");
    assert_int_equal(c->monitors[2].line, 6);
    conf_free(c);

    assert_one("monitors:\n  - {name: a, type: tcp, host: *nope, port: 1}\n", 2, "*nope",
               "invalid YAML: found undefined alias '*nope'");
    assert_one("monitors:\n  - {name: &n a, type: tcp, host: &n h, port: 1}\n", 2, "&n h",
               "invalid YAML: anchor '&n' is defined twice (first at line 2, column 12)");
    /* an alias of its own collection is not followed forever */
    assert_one("monitors: &m [*m]\n", 1, "&m", "expected a mapping, got a sequence (monitors[0])");
}

/* ---- nesting ---------------------------------------------------------------------------- */

/* "monitors: [[...]]" nested depth levels deep in all (the top mapping is one). */
static char *nested_flow(size_t depth)
{
    struct sbuf sb = SBUF_INIT;

    sbuf_puts(&sb, "monitors: ");
    for (size_t i = 1; i < depth; i++)
        sbuf_putc(&sb, '[');
    for (size_t i = 1; i < depth; i++)
        sbuf_putc(&sb, ']');
    sbuf_putc(&sb, '\n');
    return sbuf_detach(&sb, NULL);
}

static void test_nesting_cap(void **state)
{
    struct sbuf sb = SBUF_INIT;
    char *text;

    assert_int_equal(CONF_MAX_DEPTH, 64);
    /* 100 levels: refused at the collection that makes 65, before loading */
    text = nested_flow(100);
    assert_one_place(text, 1, strlen("monitors: ") + 64,
                     "nesting deeper than 64 levels (an opsd config needs 5 at most)");
    free(text);
    text = nested_flow(65);
    assert_one_place(text, 1, strlen("monitors: ") + 64, "nesting deeper than 64 levels");
    free(text);

    /* 64 levels are loaded (and then found not to be monitors) */
    text = nested_flow(64);
    assert_one_place(text, 1, strlen("monitors: [") + 1,
                     "expected a mapping, got a sequence (monitors[0])");
    free(text);

    /* block style counts the same */
    for (size_t i = 0; i < 100; i++)
        sbuf_addf(&sb, "%*sa:\n", (int)(2 * i), "");
    assert_one_place(sb.buf, 65, 2 * 64 + 1, "nesting deeper than 64 levels");
    sbuf_release(&sb);

    /* deep enough to take libyaml seconds to load: refused at once */
    text = nested_flow(200000);
    assert_one_place(text, 1, strlen("monitors: ") + 64, "nesting deeper than 64 levels");
    free(text);

    /* a syntax error found before the limit is reported as before */
    assert_one("monitors: [[[[}\n", 1, "}", "invalid YAML: did not find expected node content");
}

static void test_many_problems_at_once(void **state)
{
    struct conf *c = UNTOUCHED;
    const char *text = "server:\n"                                      /* 1 */
                       "  listen: 8080\n"                               /* 2 */
                       "  retention: 1m\n"                              /* 3 */
                       "monitors:\n"                                    /* 4 */
                       "  - name: api\n"                                /* 5 */
                       "    type: http\n"                               /* 6 */
                       "    url: example.com\n"                         /* 7 */
                       "    intervall: 30s\n"                           /* 8 */
                       "  - {name: db, type: tcp, host: h, port: 0}\n"  /* 9 */
                       "  - {name: api, type: tcp, host: h, port: 1}\n" /* 10 */
                       "  - {type: heartbeat, token: x, period: 1m}\n"; /* 11 */

    assert_int_equal(load(text, &c), -EINVAL);
    assert_ptr_equal(c, UNTOUCHED);
    assert_int_equal(diags.n, 8);
    assert_diag_at(text, 2, "8080", "listen '8080' is not host:port");
    assert_diag_at(text, 3, "1m", "retention '1m' is below the 1h minimum");
    assert_diag_at(text, 7, "example", "url 'example.com' does not start with http:// or https://");
    assert_diag_at(text, 8, "intervall", "unknown key 'intervall' (did you mean 'interval'?)");
    assert_diag_at(text, 9, "0}", "port '0' is below the minimum of 1");
    assert_diag_at(text, 10, "api", "duplicate monitor name 'api' (first defined at line 5)");
    assert_diag_at(text, 11, "{type", "missing required key 'name' (monitors[3])");
    assert_diag_at(text, 11, "x,", "token is 1 characters long");
    /* sorted by place */
    for (size_t i = 1; i < diags.n; i++)
        assert_true(
            diags.v[i - 1].line < diags.v[i].line ||
            (diags.v[i - 1].line == diags.v[i].line && diags.v[i - 1].col <= diags.v[i].col));
}

static void test_diag_cap(void **state)
{
    struct sbuf sb = SBUF_INIT;
    struct conf *c = UNTOUCHED;
    char *out = NULL;
    size_t len = 0;
    FILE *f;

    sbuf_puts(&sb, "monitors:\n");
    for (int i = 0; i < OPSD_MAX_CONFIG_DIAGS + 50; i++)
        sbuf_addf(&sb, "  - {name: m%d, type: tcp, host: h, port: 0}\n", i);
    assert_int_equal(load(sb.buf, &c), -EINVAL);
    sbuf_release(&sb);
    assert_ptr_equal(c, UNTOUCHED);
    assert_int_equal(diags.n, OPSD_MAX_CONFIG_DIAGS);
    assert_int_equal(diags.dropped, 50);
    f = open_memstream(&out, &len);
    conf_diags_print(&diags, f);
    fclose(f);
    assert_non_null(strstr(out, "t.yaml:2:42: error: port '0' is below the minimum of 1 "
                                "(monitors[0].port)\n"));
    assert_non_null(strstr(out, "t.yaml: error: 50 more problems not shown (only the first 200 "
                                "are)\n"));
    free(out);
}

static void test_monitor_equal(void **state)
{
    static const char *base =
        "monitors:\n"
        "  - name: api\n"
        "    type: http\n"
        "    url: http://a/\n"
        "    labels: {team: core, env: prod}\n"
        "    expect: {status: [200, 204]}\n"
        "  - {name: db, type: tcp, host: h, port: 1}\n"
        "  - {name: hb, type: heartbeat, token: 0123456789abcdef, period: 1h}\n"
        "  - {name: x, type: tcp, host: h, port: 2, tolerance: {fail: 2, of: 3, recover: 1, "
        "recover_of: 2}}\n";
    static const struct {
        const char *from, *to;
        bool equal;
    } edits[] = {
        { "url: http://a/", "url: http://b/", false },
        { "url: http://a/", "url: http://a/\n    method: POST", false },
        { "url: http://a/", "url: http://a/\n    interval: 30s", false },
        { "url: http://a/", "url: http://a/\n    timeout: 5s", false },
        { "url: http://a/", "url: http://a/\n    confirm: 3", false },
        { "url: http://a/", "url: http://a/\n    paused: true", false },
        { "url: http://a/", "url: http://a/\n    tls_verify: false", false },
        { "url: http://a/", "url: http://a/\n    follow_redirects: false", false },
        { "url: http://a/", "url: http://a/\n    max_redirects: 1", false },
        { "status: [200, 204]", "status: [200]", false },
        { "status: [200, 204]", "status: [200, 204], body_contains: ok", false },
        { "status: [200, 204]", "status: [200, 204], max_latency: 1s", false },
        { "env: prod", "env: dev", false },
        { "env: prod", "env: prod, x: y", false },
        { "port: 1", "port: 2", false },
        { "host: h", "host: i", false },
        { "period: 1h", "period: 2h", false },
        { "period: 1h", "period: 1h, grace: 2m", false },
        { "token: 0123456789abcdef", "token: 0123456789abcdeg", false },
        /* tolerance changes how results are judged */
        { "port: 1}", "port: 1, tolerance: {fail: 1, of: 1}}", false },
        { "fail: 2", "fail: 1", false },
        { "of: 3", "of: 4", false },
        { "recover: 1", "recover: 2", false },
        { "recover_of: 2", "recover_of: 3", false },
        { "{fail: 2, of: 3, recover: 1, recover_of: 2}", "{fail: 2, of: 3}", false },
        /* what does not change the checking */
        { "url: http://a/", "url: http://a/\n    description: hello", true },
        { "url: http://a/", "url: http://a/\n    public: false", true },
        { "{team: core, env: prod}", "{env: prod, team: core}", true },
        { "[200, 204]", "[204, 200, 200]", true },
        { "url: http://a/", "url: http://a/\n    method: GET\n    interval: 60s", true },
        { "monitors:\n", "# moved down a line\nmonitors:\n", true },
        /* alerting only: how its alerts read and route, not how it is checked */
        { "port: 1}", "port: 1, severity: critical}", true },
        { "port: 1}", "port: 1, summary: 'DB down'}", true },
        { "port: 1}", "port: 1, depends_on: [api]}", true },
        { "{fail: 2, of: 3, recover: 1, recover_of: 2}", "{of: 3, recover_of: 2, fail: 2}", true },
    };
    struct conf *a = load_ok(base);

    for (size_t i = 0; i < a->n_monitors; i++)
        assert_true(conf_monitor_equal(&a->monitors[i], &a->monitors[i]));
    assert_false(conf_monitor_equal(&a->monitors[0], &a->monitors[1]));

    for (size_t e = 0; e < sizeof(edits) / sizeof(edits[0]); e++) {
        struct sbuf sb = SBUF_INIT;
        const char *at = strstr(base, edits[e].from);
        struct conf *b;
        size_t changed = 0;

        assert_non_null(at);
        sbuf_add(&sb, base, (size_t)(at - base));
        sbuf_puts(&sb, edits[e].to);
        sbuf_puts(&sb, at + strlen(edits[e].from));
        b = load_ok(sb.buf);
        sbuf_release(&sb);
        for (size_t i = 0; i < a->n_monitors; i++)
            changed += !conf_monitor_equal(&a->monitors[i], &b->monitors[i]);
        if (changed != (edits[e].equal ? 0u : 1u))
            fprintf(stderr, "edit %zu: '%s' -> '%s'\n", e, edits[e].from, edits[e].to);
        assert_int_equal(changed, edits[e].equal ? 0 : 1);
        conf_free(b);
    }
    conf_free(a);
}

/* ---- alerting: receivers, route, escalation, maintenance ------------------------------ */

static const char *alerting_example =
    "alerting:\n"                                   /* 1 */
    "  external_url: https://opsd.example.com/\n"   /* 2 */
    "  link_secret: \"${OPSD_TEST_LINK_SECRET}\"\n" /* 3 */
    "  link_ttl: 12h\n"                             /* 4 */
    "  give_up_after: 6h\n"                         /* 5 */
    "  retry_min: 2s\n"                             /* 6 */
    "  retry_max: 10m\n"                            /* 7 */
    "  flapping: {changes: 8, window: 1h}\n"        /* 8 */
    "  max_inflight: 16\n"                          /* 9 */
    "receivers:\n"                                  /* 10 */
    "  - {name: ops-hook, webhook: {url: \"http://127.0.0.1:9000/hook\", secret: "
    "\"${OPSD_TEST_HOOK_SECRET}\", format: alertmanager, tls_verify: false}, timeout: 3s}\n"
    "  - {name: oncall-tg, telegram: {bot_token: \"${OPSD_TEST_TG_TOKEN}\", chat_id: \"12345\", "
    "api_url: \"https://tg.example.com/\"}, subject_template: \"{STATUS} {monitors}\", "
    "template: \"{monitor}: {summary} {label.team}\"}\n"
    "  - {name: team-mail, email: {to: [ops@example.com, dba@example.com], from: \"opsd "
    "<opsd@example.com>\", smtp: {host: 127.0.0.1, port: 2525, starttls: false, tls: false, "
    "username: u, password: p}}}\n"
    "  - {name: pd, pagerduty: {routing_key: \"${OPSD_TEST_PD_KEY}\", url: "
    "\"https://events.pagerduty.com/v2/enqueue\"}}\n"
    "  - {name: chat, slack: {webhook_url: \"${OPSD_TEST_SLACK_URL}\"}}\n" /* 15 */
    "  - {name: push, ntfy: {url: \"http://127.0.0.1:8081\", topic: ops, token: tk}}\n"
    "  - {name: sms, twilio: {account_sid: AC1, auth_token: at, from: \"+15550001\", to: "
    "[\"+15550002\", \"+15550003\"], whatsapp: true, api_url: \"https://api.twilio.com\"}}\n"
    "  - {name: secure-mail, email: {to: ops@example.com, from: o@example.com, smtp: {host: "
    "\"::1\", port: 465, tls: true}}}\n"
    "route:\n" /* 19 */
    "  receiver: ops-hook\n"
    "  group_by: [monitor, team]\n"
    "  group_wait: 0s\n"
    "  group_interval: 5m\n"
    "  repeat_interval: 4h\n"
    "  escalation: default\n"
    "  routes:\n"
    "    - {match: {severity: critical}, receiver: oncall-tg, escalation: pager, continue: "
    "true}\n"
    "    - match_re: {monitor: \"db-.*\"}\n" /* 28 */
    "      matchers: [\"team!=core\", \"env=~prod|staging\", 'note=\"a \\\"b\\\" c\"', "
    "\"x !~ y.*\"]\n"
    "      receiver: pd\n"
    "      group_by: [\"...\"]\n"
    "      routes:\n"
    "        - {matchers: [\"env=prod\"], receiver: chat, repeat_interval: 1h}\n"
    "escalation_policies:\n" /* 34 */
    "  - name: pager\n"
    "    steps:\n"
    "      - {notify: [oncall-tg, push], wait: 2m}\n"
    "      - {notify: team-mail}\n"
    "    repeat: 2\n"
    "    ack_timeout: 0s\n"
    "maintenance:\n" /* 41 */
    "  - {name: nightly-db, monitors: [db-main], schedule: \"0 2 * * *\", duration: 30m, tz: "
    "Europe/Berlin}\n"
    "  - {name: move, labels: {team: core}, start: \"2026-12-05T02:00:00Z\", end: "
    "\"2026-12-05T04:00:00+01:00\", description: \"DC move\"}\n"
    "  - {name: patch, monitors: db-main, start: \"2026-12-05T02:00:00.250-00:30\", duration: "
    "1h}\n"
    "monitors:\n" /* 45 */
    "  - {name: db-main, type: tcp, host: 127.0.0.1, port: 5432, severity: critical, summary: "
    "\"Database unreachable\", depends_on: [router], tolerance: {fail: 3, of: 5, recover: 2, "
    "recover_of: 3}, labels: {team: core}}\n"
    "  - {name: router, type: tcp, host: 127.0.0.1, port: 22, tolerance: {fail: 1, of: 1}}\n"
    "  - {name: app, type: tcp, host: 127.0.0.1, port: 80, depends_on: [db-main, router], "
    "tolerance: {fail: 2, of: 4, recover: 3}}\n";

static void set_alerting_env(void)
{
    setenv("OPSD_TEST_LINK_SECRET", "0123456789abcdef-link", 1);
    setenv("OPSD_TEST_HOOK_SECRET", "hook-secret", 1);
    setenv("OPSD_TEST_TG_TOKEN", "123456:ABC-DEF", 1);
    setenv("OPSD_TEST_PD_KEY", "pd-routing-key", 1);
    setenv("OPSD_TEST_SLACK_URL", "https://hooks.slack.com/services/T0/B0/XYZ", 1);
}

static void test_alerting_full(void **state)
{
    const struct conf_receiver *r;
    const struct conf_route *rt, *ch;
    const struct conf_policy *p;
    const struct conf_maintenance *w;
    const struct conf_monitor *m;
    struct conf *c;

    set_alerting_env();
    c = load_ok(alerting_example);

    assert_string_equal(c->alerting.external_url, "https://opsd.example.com"); /* '/' dropped */
    assert_string_equal(c->alerting.link_secret, "0123456789abcdef-link");
    assert_int_equal(c->alerting.link_ttl_ms, 12 * 3600000ULL);
    assert_int_equal(c->alerting.give_up_after_ms, 6 * 3600000ULL);
    assert_int_equal(c->alerting.retry_min_ms, 2000);
    assert_int_equal(c->alerting.retry_max_ms, 600000);
    assert_int_equal(c->alerting.flap_changes, 8);
    assert_int_equal(c->alerting.flap_window_ms, 3600000);
    assert_int_equal(c->alerting.max_inflight, 16);

    assert_int_equal(c->n_receivers, 8);
    r = conf_find_receiver(c, "ops-hook");
    assert_ptr_equal(r, &c->receivers[0]);
    assert_int_equal(r->kind, CONF_RECV_WEBHOOK);
    assert_string_equal(r->url, "http://127.0.0.1:9000/hook");
    assert_string_equal(r->secret, "hook-secret");
    assert_true(r->alertmanager_format);
    assert_false(r->tls_verify);
    assert_int_equal(r->timeout_ms, 3000);
    assert_null(r->subject_template);
    assert_null(r->alert_template);
    assert_int_equal(r->line, 11);

    r = conf_find_receiver(c, "oncall-tg");
    assert_int_equal(r->kind, CONF_RECV_TELEGRAM);
    assert_string_equal(r->secret, "123456:ABC-DEF");
    assert_string_equal(r->target, "12345");
    assert_string_equal(r->url, "https://tg.example.com");
    assert_true(r->tls_verify);
    assert_int_equal(r->timeout_ms, 10000);
    assert_string_equal(r->subject_template, "{STATUS} {monitors}");
    assert_string_equal(r->alert_template, "{monitor}: {summary} {label.team}");

    r = conf_find_receiver(c, "team-mail");
    assert_int_equal(r->kind, CONF_RECV_EMAIL);
    assert_string_equal(r->url, "smtp://127.0.0.1:2525");
    assert_int_equal(r->n_to, 2);
    assert_string_equal(r->to[0], "ops@example.com");
    assert_string_equal(r->to[1], "dba@example.com");
    assert_string_equal(r->from, "opsd <opsd@example.com>");
    assert_false(r->smtp_starttls);
    assert_string_equal(r->smtp_username, "u");
    assert_string_equal(r->smtp_password, "p");

    r = conf_find_receiver(c, "pd");
    assert_int_equal(r->kind, CONF_RECV_PAGERDUTY);
    assert_string_equal(r->secret, "pd-routing-key");
    assert_string_equal(r->url, "https://events.pagerduty.com/v2/enqueue");

    r = conf_find_receiver(c, "chat");
    assert_int_equal(r->kind, CONF_RECV_SLACK);
    assert_string_equal(r->url, "https://hooks.slack.com/services/T0/B0/XYZ");
    assert_null(r->secret);

    r = conf_find_receiver(c, "push");
    assert_int_equal(r->kind, CONF_RECV_NTFY);
    assert_string_equal(r->url, "http://127.0.0.1:8081");
    assert_string_equal(r->target, "ops");
    assert_string_equal(r->secret, "tk");

    r = conf_find_receiver(c, "sms");
    assert_int_equal(r->kind, CONF_RECV_TWILIO);
    assert_string_equal(r->account, "AC1");
    assert_string_equal(r->secret, "at");
    assert_string_equal(r->from, "+15550001");
    assert_int_equal(r->n_to, 2);
    assert_string_equal(r->to[1], "+15550003");
    assert_true(r->whatsapp);
    assert_string_equal(r->url, "https://api.twilio.com");

    r = conf_find_receiver(c, "secure-mail");
    assert_string_equal(r->url, "smtps://[::1]:465");
    assert_int_equal(r->n_to, 1); /* a single string */
    assert_string_equal(r->to[0], "ops@example.com");
    assert_false(r->smtp_starttls); /* smtps: TLS from the first byte */
    assert_null(r->smtp_username);
    assert_null(conf_find_receiver(c, "nope"));
    assert_null(conf_find_receiver(c, NULL));

    rt = c->route;
    assert_non_null(rt);
    assert_string_equal(rt->receiver, "ops-hook");
    assert_true(rt->has_group_by);
    assert_int_equal(rt->n_group_by, 2);
    assert_string_equal(rt->group_by[0], "monitor");
    assert_string_equal(rt->group_by[1], "team");
    assert_int_equal(rt->group_wait_ms, 0);
    assert_int_equal(rt->group_interval_ms, 300000);
    assert_int_equal(rt->repeat_interval_ms, 4 * 3600000ULL);
    assert_string_equal(rt->escalation, "default");
    assert_int_equal(rt->n_matchers, 0);
    assert_false(rt->continue_);
    assert_int_equal(rt->line, 20);
    assert_int_equal(rt->n_routes, 2);

    ch = &rt->routes[0];
    assert_string_equal(ch->receiver, "oncall-tg");
    assert_string_equal(ch->escalation, "pager");
    assert_true(ch->continue_);
    assert_false(ch->has_group_by);
    assert_int_equal(ch->group_wait_ms, CONF_INHERIT);
    assert_int_equal(ch->group_interval_ms, CONF_INHERIT);
    assert_int_equal(ch->repeat_interval_ms, CONF_INHERIT);
    assert_int_equal(ch->n_matchers, 1);
    assert_string_equal(ch->matchers[0].name, "severity");
    assert_int_equal(ch->matchers[0].op, CONF_MATCH_EQ);
    assert_string_equal(ch->matchers[0].value, "critical");
    assert_int_equal(ch->matchers[0].line, 27);

    ch = &rt->routes[1];
    assert_int_equal(ch->line, 28);
    assert_null(ch->escalation);
    assert_true(ch->has_group_by);
    assert_int_equal(ch->n_group_by, 1);
    assert_string_equal(ch->group_by[0], "...");
    assert_int_equal(ch->n_matchers, 5);
    assert_string_equal(ch->matchers[0].name, "monitor");
    assert_int_equal(ch->matchers[0].op, CONF_MATCH_RE);
    assert_string_equal(ch->matchers[0].value, "db-.*");
    assert_string_equal(ch->matchers[1].name, "team");
    assert_int_equal(ch->matchers[1].op, CONF_MATCH_NE);
    assert_string_equal(ch->matchers[1].value, "core");
    assert_int_equal(ch->matchers[1].line, 29);
    assert_int_equal(ch->matchers[1].col, col_of(alerting_example, 29, "\"team"));
    assert_string_equal(ch->matchers[2].name, "env");
    assert_int_equal(ch->matchers[2].op, CONF_MATCH_RE);
    assert_string_equal(ch->matchers[2].value, "prod|staging");
    assert_string_equal(ch->matchers[3].name, "note");
    assert_int_equal(ch->matchers[3].op, CONF_MATCH_EQ);
    assert_string_equal(ch->matchers[3].value, "a \"b\" c");
    assert_string_equal(ch->matchers[4].name, "x");
    assert_int_equal(ch->matchers[4].op, CONF_MATCH_NRE);
    assert_string_equal(ch->matchers[4].value, "y.*");
    assert_int_equal(ch->n_routes, 1);
    assert_string_equal(ch->routes[0].receiver, "chat");
    assert_int_equal(ch->routes[0].repeat_interval_ms, 3600000);
    assert_int_equal(ch->routes[0].n_routes, 0);

    assert_int_equal(c->n_policies, 1);
    p = conf_find_policy(c, "pager");
    assert_ptr_equal(p, &c->policies[0]);
    assert_null(conf_find_policy(c, "default")); /* built in, not defined */
    assert_int_equal(p->n_steps, 2);
    assert_int_equal(p->steps[0].n_notify, 2);
    assert_string_equal(p->steps[0].notify[0], "oncall-tg");
    assert_string_equal(p->steps[0].notify[1], "push");
    assert_int_equal(p->steps[0].wait_ms, 120000);
    assert_int_equal(p->steps[0].line, 37);
    assert_int_equal(p->steps[1].n_notify, 1);
    assert_string_equal(p->steps[1].notify[0], "team-mail");
    assert_int_equal(p->steps[1].wait_ms, 300000); /* default 5m */
    assert_int_equal(p->repeat, 2);
    assert_int_equal(p->ack_timeout_ms, 0); /* never expire */
    assert_int_equal(p->line, 35);

    assert_int_equal(c->n_maintenance, 3);
    w = &c->maintenance[0];
    assert_string_equal(w->name, "nightly-db");
    assert_int_equal(w->n_monitors, 1);
    assert_string_equal(w->monitors[0], "db-main");
    assert_string_equal(w->schedule, "0 2 * * *");
    assert_string_equal(w->tz, "Europe/Berlin");
    assert_int_equal(w->duration_ms, 1800000);
    assert_int_equal(w->start_ms, 0);
    assert_int_equal(w->end_ms, 0);
    assert_int_equal(w->line, 42);
    w = &c->maintenance[1];
    assert_string_equal(w->description, "DC move");
    assert_int_equal(w->n_labels, 1);
    assert_string_equal(w->labels[0].key, "team");
    assert_string_equal(w->labels[0].value, "core");
    assert_null(w->schedule);
    assert_string_equal(w->tz, "UTC");
    assert_int_equal(w->start_ms, 1796436000000ULL); /* 2026-12-05T02:00:00Z */
    assert_int_equal(w->end_ms, 1796439600000ULL);   /* 04:00+01:00 = 03:00Z */
    assert_int_equal(w->duration_ms, 3600000);
    w = &c->maintenance[2];
    assert_int_equal(w->start_ms, 1796436000000ULL + 1800000 + 250); /* -00:30, .250 */
    assert_int_equal(w->duration_ms, 3600000);
    assert_int_equal(w->end_ms, w->start_ms + 3600000);

    m = conf_find_monitor(c, "db-main");
    assert_int_equal(m->severity, CONF_SEV_CRITICAL);
    assert_string_equal(m->summary, "Database unreachable");
    assert_int_equal(m->n_depends_on, 1);
    assert_string_equal(m->depends_on[0], "router");
    assert_int_equal(m->fail_x, 3);
    assert_int_equal(m->fail_y, 5);
    assert_int_equal(m->recover_x, 2);
    assert_int_equal(m->recover_y, 3);
    m = conf_find_monitor(c, "router");
    assert_int_equal(m->severity, CONF_SEV_HIGH); /* default */
    assert_null(m->summary);
    assert_int_equal(m->n_depends_on, 0);
    assert_int_equal(m->fail_x, 1);
    assert_int_equal(m->fail_y, 1);
    assert_int_equal(m->recover_x, 1); /* defaults */
    assert_int_equal(m->recover_y, 1);
    m = conf_find_monitor(c, "app");
    assert_int_equal(m->n_depends_on, 2);
    assert_int_equal(m->recover_x, 3);
    assert_int_equal(m->recover_y, 3); /* recover_of defaults to recover */
    conf_free(c);
}

static void test_alerting_defaults(void **state)
{
    struct conf *c = load_ok("server: {listen: 0.0.0.0:9090}\n"
                             "receivers:\n"
                             "  - {name: tg, telegram: {bot_token: '1:a', chat_id: '-100'}}\n"
                             "  - {name: pd, pagerduty: {routing_key: k}}\n"
                             "  - {name: sms, twilio: {account_sid: AC1, auth_token: t, from: "
                             "'+1', to: '+2'}}\n"
                             "  - {name: mail, email: {to: a@b.c, from: d@e.f, smtp: {host: "
                             "mx.example.com}}}\n"
                             "  - {name: hook, webhook: {url: 'http://h/'}}\n"
                             "escalation_policies:\n"
                             "  - {name: p, steps: [{notify: tg}]}\n"
                             "monitors:\n"
                             "  - {name: a, type: tcp, host: h, port: 1}\n");
    const struct conf_receiver *r;

    assert_string_equal(c->alerting.external_url, "http://0.0.0.0:9090");
    assert_null(c->alerting.link_secret);
    assert_int_equal(c->alerting.link_ttl_ms, 24 * 3600000ULL);
    assert_int_equal(c->alerting.give_up_after_ms, 24 * 3600000ULL);
    assert_int_equal(c->alerting.retry_min_ms, 1000);
    assert_int_equal(c->alerting.retry_max_ms, 300000);
    assert_int_equal(c->alerting.flap_changes, 6);
    assert_int_equal(c->alerting.flap_window_ms, 1800000);
    assert_int_equal(c->alerting.max_inflight, 64);
    assert_null(c->route); /* no route: nothing is sent */

    r = conf_find_receiver(c, "tg");
    assert_string_equal(r->url, "https://api.telegram.org");
    assert_int_equal(r->timeout_ms, 10000);
    assert_true(r->tls_verify);
    r = conf_find_receiver(c, "pd");
    assert_string_equal(r->url, "https://events.pagerduty.com/v2/enqueue");
    r = conf_find_receiver(c, "sms");
    assert_string_equal(r->url, "https://api.twilio.com");
    assert_false(r->whatsapp);
    assert_int_equal(r->n_to, 1);
    r = conf_find_receiver(c, "mail");
    assert_string_equal(r->url, "smtp://mx.example.com:25");
    assert_true(r->smtp_starttls);
    assert_true(r->tls_verify);
    r = conf_find_receiver(c, "hook");
    assert_string_equal(r->url, "http://h/"); /* a full URL: kept as written */
    assert_false(r->alertmanager_format);
    assert_null(r->secret);

    assert_int_equal(c->policies[0].repeat, 0);
    assert_int_equal(c->policies[0].ack_timeout_ms, 30 * 60000ULL);
    assert_int_equal(c->policies[0].steps[0].wait_ms, 5 * 60000ULL);
    assert_int_equal(c->monitors[0].severity, CONF_SEV_HIGH);
    assert_int_equal(c->monitors[0].fail_x, 0); /* no tolerance: confirm applies */
    assert_int_equal(c->monitors[0].fail_y, 0);
    assert_int_equal(c->monitors[0].recover_x, 0);
    assert_int_equal(c->monitors[0].recover_y, 0);
    conf_free(c);

    /* empty sections are no sections */
    c = load_ok("alerting:\nreceivers:\nroute:\nescalation_policies: []\nmaintenance: []\n");
    assert_int_equal(c->n_receivers, 0);
    assert_null(c->route);
    assert_int_equal(c->n_policies, 0);
    assert_int_equal(c->n_maintenance, 0);
    assert_string_equal(c->alerting.external_url, "http://127.0.0.1:8080");
    conf_free(c);
}

#define RECV "receivers:\n  - "

static void test_receiver_errors(void **state)
{
    /* names */
    assert_one(RECV "{name: Ops, webhook: {url: 'http://h'}}\n", 2, "Ops",
               "receiver name 'Ops' is not valid (use lowercase letters");
    assert_one(RECV "{name: a, webhook: {url: 'http://h'}}\n"
                    "  - {name: a, slack: {webhook_url: 'http://h'}}\n",
               3, "a, slack", "duplicate receiver name 'a' (first defined at line 2)");
    assert_one(RECV "{webhook: {url: 'http://h'}}\n", 2, "{webhook",
               "missing required key 'name' (receivers[0])");
    /* exactly one channel */
    assert_one(RECV "{name: a, timeout: 5s}\n", 2, "{name",
               "receiver has no channel (receivers[0]; add one of webhook, slack, telegram, "
               "pagerduty, ntfy, twilio or email)");
    assert_one(RECV "{name: a, webhook: {url: 'http://h'}, ntfy: {url: 'http://h', topic: t}}\n", 2,
               "ntfy",
               "receiver has a second channel 'ntfy' beside 'webhook' (receivers[0]; one channel "
               "per receiver");
    assert_one(RECV "{name: a, ntfy: {url: 'http://h', topic: t}, webhook: {url: 'http://h'}}\n", 2,
               "webhook", "receiver has a second channel 'webhook' beside 'ntfy'");
    /* required fields per channel */
    assert_one(RECV "{name: a, webhook: {secret: s}}\n", 2, "{secret",
               "missing required key 'url' (receivers[0].webhook)");
    assert_one(RECV "{name: a, slack: {}}\n", 2, "{}",
               "missing required key 'webhook_url' (receivers[0].slack)");
    assert_one(RECV "{name: a, telegram: {bot_token: '1:a'}}\n", 2, "{bot",
               "missing required key 'chat_id' (receivers[0].telegram)");
    assert_one(RECV "{name: a, pagerduty: {url: 'http://h'}}\n", 2, "{url",
               "missing required key 'routing_key' (receivers[0].pagerduty)");
    assert_one(RECV "{name: a, ntfy: {url: 'http://h'}}\n", 2, "{url",
               "missing required key 'topic' (receivers[0].ntfy)");
    assert_one(RECV "{name: a, twilio: {account_sid: AC1, auth_token: t, from: '+1'}}\n", 2,
               "{account", "missing required key 'to' (receivers[0].twilio)");
    assert_one(RECV "{name: a, email: {to: a@b.c, from: d@e.f}}\n", 2, "{to",
               "missing required key 'smtp' (receivers[0].email)");
    assert_one(RECV "{name: a, email: {to: a@b.c, from: d@e.f, smtp: {port: 25}}}\n", 2, "{port",
               "missing required key 'host' (receivers[0].email.smtp)");
    assert_one(RECV "{name: a, webhook: }\n", 2, "webhook",
               "key 'webhook' has no value (receivers[0].webhook)");
    /* values */
    assert_one(RECV "{name: a, webhook: {url: 'ftp://h'}}\n", 2, "'ftp",
               "url 'ftp://h' does not start with http:// or https:// (receivers[0].webhook.url)");
    assert_one(RECV "{name: a, ntfy: {url: 'h', topic: t}}\n", 2, "'h'",
               "url 'h' does not start with http:// or https://");
    assert_one(RECV "{name: a, telegram: {bot_token: '1:a', chat_id: '1', api_url: x}}\n", 2, "x}",
               "api_url 'x' does not start with http:// or https://");
    assert_one(RECV "{name: a, webhook: {url: 'http://h', format: json}}\n", 2, "json",
               "format 'json' is not supported (expected opsd or alertmanager)");
    assert_one(RECV "{name: a, ntfy: {url: 'http://h', topic: 'a/b'}}\n", 2, "'a/b'",
               "topic 'a/b' is not a valid ntfy topic (receivers[0].ntfy.topic");
    assert_one(RECV "{name: a, twilio: {account_sid: 'AC-1', auth_token: t, from: '+1', to: "
                    "'+2'}}\n",
               2, "'AC-1'", "account_sid 'AC-1' is not a Twilio account SID");
    assert_one(RECV "{name: a, twilio: {account_sid: AC1, auth_token: t, from: '+1', to: []}}\n", 2,
               "[]", "to is empty (receivers[0].twilio.to; list at least one)");
    assert_one(RECV "{name: a, email: {to: [ops], from: d@e.f, smtp: {host: h}}}\n", 2, "ops]",
               "to 'ops' is not an email address (receivers[0].email.to[0]; e.g. ops@example.com)");
    assert_one(RECV "{name: a, email: {to: a@b.c, from: 'opsd <x>', smtp: {host: h}}}\n", 2,
               "'opsd", "from 'opsd <x>' is not an email address");
    assert_one(RECV "{name: a, email: {to: a@b.c, from: d@e.f, smtp: {host: h, port: 0}}}\n", 2,
               "0}", "port '0' is below the minimum of 1 (receivers[0].email.smtp.port)");
    assert_one(RECV "{name: a, email: {to: a@b.c, from: d@e.f, smtp: {host: 'h:25'}}}\n", 2,
               "'h:25'", "host 'h:25' includes a port");
    assert_one(RECV "{name: a, email: {to: a@b.c, from: d@e.f, smtp: {host: h, tls: true, "
                    "starttls: true}}}\n",
               2, "starttls", "starttls and tls are both true (receivers[0].email.smtp;");
    assert_one(RECV "{name: a, email: {to: a@b.c, from: d@e.f, smtp: {host: h, password: p}}}\n", 2,
               "password", "password without username (receivers[0].email.smtp)");
    assert_one(RECV "{name: a, webhook: {url: 'http://h'}, timeout: 0s}\n", 2, "0s",
               "timeout '0s' is below the 1s minimum (receivers[0].timeout)");
    /* templates: subject fields and alert fields differ */
    assert_one(RECV "{name: a, webhook: {url: 'http://h'}, subject_template: '{monitor}'}\n", 2,
               "'{monitor}'",
               "subject_template: unknown field 'monitor' in subject template "
               "(receivers[0].subject_template; fields: status,");
    assert_one(RECV "{name: a, webhook: {url: 'http://h'}, template: 'x {monitors}'}\n", 2, "'x {",
               "template: unknown field 'monitors' in alert template (receivers[0].template; "
               "fields: icon,");
    assert_one(RECV "{name: a, webhook: {url: 'http://h'}, template: 'x {monitor'}\n", 2, "'x {",
               "template: unterminated field at '{monitor' in template");
    /* unknown keys, at every level */
    assert_one(RECV "{name: a, webhook: {url: 'http://h', formt: opsd}}\n", 2, "formt",
               "unknown key 'formt' (did you mean 'format'?)");
    assert_one(RECV "{name: a, slack: {webhook_url: 'http://h', channel: x}}\n", 2, "channel",
               "unknown key 'channel' (valid keys: webhook_url, tls_verify)");
    assert_one(RECV "{name: a, email: {to: a@b.c, from: d@e.f, smtp: {host: h, usrname: u}}}\n", 2,
               "usrname", "unknown key 'usrname' (did you mean 'username'?)");
    assert_one(RECV "{name: a, webhook: {url: 'http://h'}, subject: x}\n", 2, "subject",
               "unknown key 'subject' (valid keys: name, webhook, slack, telegram, pagerduty, "
               "ntfy, twilio, email, subject_template, template, timeout)");
    assert_one("receivers: {a: 1}\n", 1, "{a",
               "expected a sequence of receivers, got a mapping (receivers)");
    assert_one(RECV "x\n", 2, "x", "expected a mapping, got 'x' (receivers[0])");
}

static void test_receiver_limit(void **state)
{
    struct sbuf sb = SBUF_INIT;
    struct conf *c;

    sbuf_puts(&sb, "receivers:\n");
    for (int i = 0; i < OPSD_MAX_RECEIVERS; i++)
        sbuf_addf(&sb, "  - {name: r%d, webhook: {url: 'http://h'}}\n", i);
    c = load_ok(sb.buf);
    assert_int_equal(c->n_receivers, OPSD_MAX_RECEIVERS);
    conf_free(c);
    sbuf_addf(&sb, "  - {name: r%d, webhook: {url: 'http://h'}}\n", OPSD_MAX_RECEIVERS);
    assert_one_place(sb.buf, OPSD_MAX_RECEIVERS + 2, 5, "too many receivers (the limit is 256)");
    sbuf_release(&sb);
}

#define HOOKS                                                                                      \
    "receivers:\n"                                                                                 \
    "  - {name: hook, webhook: {url: 'http://h'}}\n"                                               \
    "  - {name: page, webhook: {url: 'http://p'}}\n"

static void test_route_errors(void **state)
{
    /* the root: a receiver, no matchers */
    assert_one(HOOKS "route: {group_wait: 1s}\n", 4, "{group",
               "missing required key 'receiver' (route; the root route takes every alert");
    assert_one(HOOKS "route: {receiver: hook, match: {a: b}}\n", 4, "match",
               "the root route must not have matchers (route.match;");
    assert_one(HOOKS "route: {receiver: hook, matchers: ['a=b']}\n", 4, "matchers",
               "the root route must not have matchers (route.matchers;");
    /* every receiver named exists */
    assert_one(HOOKS "route: {receiver: hoook}\n", 4, "hoook",
               "unknown receiver 'hoook' (route.receiver; did you mean 'hook'?)");
    assert_one(HOOKS "route:\n  receiver: hook\n  routes:\n    - {receiver: pager-x}\n", 7,
               "pager-x",
               "unknown receiver 'pager-x' (route.routes[0].receiver; defined: 'hook', 'page')");
    assert_one("route: {receiver: x}\n", 1, "x}",
               "unknown receiver 'x' (route.receiver; no receivers are defined)");
    /* escalation names exist, "default" is built in */
    assert_one(HOOKS "route: {receiver: hook, escalation: pager}\n", 4, "pager",
               "unknown escalation policy 'pager' (route.escalation; only the built-in 'default' "
               "is defined)");
    assert_one(HOOKS "route: {receiver: hook, escalation: defualt}\n", 4, "defualt",
               "unknown escalation policy 'defualt' (route.escalation; did you mean 'default'?)");
    /* timers */
    assert_one(HOOKS "route: {receiver: hook, group_interval: 0s}\n", 4, "0s",
               "group_interval must not be 0 (route.group_interval;");
    assert_one(HOOKS
               "route:\n  receiver: hook\n  routes: [{receiver: page, repeat_interval: 0s}]\n",
               6, "0s", "repeat_interval must not be 0 (route.routes[0].repeat_interval;");
    assert_one(HOOKS "route: {receiver: hook, group_wait: 5}\n", 4, "5}",
               "group_wait '5' is not a valid duration");
    /* group_by */
    assert_one(HOOKS "route: {receiver: hook, group_by: [monitor, '...']}\n", 4, "'...'",
               "'...' in group_by must stand alone (route.group_by[1];");
    assert_one(HOOKS "route: {receiver: hook, group_by: [1team]}\n", 4, "1team",
               "group_by '1team' is not a label name (route.group_by[0];");
    /* matchers */
    assert_one(HOOKS "route:\n  receiver: hook\n  routes: [{receiver: page, matchers: [team]}]\n",
               6, "team]",
               "matcher 'team' is not valid: no operator after the label name "
               "(route.routes[0].matchers[0]; write name=value");
    assert_one(HOOKS "route:\n  receiver: hook\n  routes: [{receiver: page, matchers: ['=x']}]\n",
               6, "'=x'", "matcher '=x' is not valid: it does not start with a label name");
    assert_one(HOOKS "route:\n  receiver: hook\n"
                     "  routes: [{receiver: page, matchers: ['a=\"x']}]\n",
               6, "'a=", "matcher 'a=\"x' is not valid: the quoted value has no closing '\"'");
    assert_one(HOOKS "route:\n  receiver: hook\n"
                     "  routes: [{receiver: page, matchers: ['a=\"x\" y']}]\n",
               6, "'a=", "is not valid: text after the quoted value");
    assert_one(HOOKS "route:\n  receiver: hook\n"
                     "  routes: [{receiver: page, matchers: ['a=\"\\t\"']}]\n",
               6, "'a=", "is not valid: an unknown escape in the quoted value");
    assert_one(HOOKS "route:\n  receiver: hook\n"
                     "  routes: [{receiver: page, matchers: ['env=~prod(']}]\n",
               6, "'env",
               "invalid regex in matcher 'env=~prod(': Unmatched ( or \\( "
               "(route.routes[0].matchers[0])");
    assert_one(HOOKS "route:\n  receiver: hook\n"
                     "  routes: [{receiver: page, match_re: {monitor: 'a)|(b'}}]\n",
               6, "'a)", "invalid regex 'a)|(b' for label 'monitor': Unmatched ");
    assert_one(HOOKS "route:\n  receiver: hook\n"
                     "  routes: [{receiver: page, match: {1x: b}}]\n",
               6, "1x", "label name '1x' is not valid (route.routes[0].match;");
    /* keys */
    assert_one(HOOKS "route: {receiver: hook, group_wiat: 1s}\n", 4, "group_wiat",
               "unknown key 'group_wiat' (did you mean 'group_wait'?)");
    assert_one(HOOKS "route:\n  receiver: hook\n  routes: [{receiver: page, contiue: true}]\n", 6,
               "contiue", "unknown key 'contiue' (did you mean 'continue'?)");
    assert_one(HOOKS "route: [a]\n", 4, "[a]", "expected a mapping, got a sequence (route)");
}

static void test_route_depth(void **state)
{
    struct sbuf sb = SBUF_INIT, deep = SBUF_INIT;
    struct conf *c;
    const struct conf_route *r;
    int depth = 0;

    /* 16 levels under the root is the most */
    sbuf_puts(&sb, HOOKS "route:\n  receiver: hook\n");
    for (int i = 1; i <= 16; i++)
        sbuf_addf(&sb, "%*sroutes:\n%*s- receiver: page\n", 2 * i, "", 2 * i, "");
    c = load_ok(sb.buf);
    for (r = c->route; r->n_routes; r = &r->routes[0])
        depth++;
    assert_int_equal(depth, 16);
    conf_free(c);

    sbuf_puts(&deep, sb.buf);
    sbuf_addf(&deep, "%*sroutes:\n%*s- receiver: page\n", 34, "", 34, "");
    assert_one_place(deep.buf, 4 + 2 * 16 + 3, 35,
                     "routes nested more than 16 levels deep (route.routes[0].routes[0]");
    sbuf_release(&sb);
    sbuf_release(&deep);
}

static void test_policy_errors(void **state)
{
    struct sbuf sb = SBUF_INIT;

    assert_one(HOOKS "escalation_policies:\n  - {name: p, steps: [{notify: [hook]}]}\n"
                     "  - {name: p, steps: [{notify: [page]}]}\n",
               6, "p, steps", "duplicate escalation policy name 'p' (first defined at line 5)");
    assert_one(HOOKS "escalation_policies:\n  - {name: p}\n", 5, "{name",
               "missing required key 'steps' (escalation_policies[0])");
    assert_one(HOOKS "escalation_policies:\n  - {name: p, steps: []}\n", 5, "[]",
               "steps is empty (escalation_policies[0].steps; a policy needs at least one step)");
    assert_one(HOOKS "escalation_policies:\n  - {name: p, steps: [{wait: 1m}]}\n", 5, "{wait",
               "missing required key 'notify' (escalation_policies[0].steps[0])");
    assert_one(HOOKS "escalation_policies:\n  - {name: p, steps: [{notify: []}]}\n", 5, "[]}",
               "notify is empty (escalation_policies[0].steps[0].notify; list at least one)");
    assert_one(HOOKS "escalation_policies:\n  - {name: p, steps: [{notify: [hook, pge]}]}\n", 5,
               "pge",
               "unknown receiver 'pge' (escalation_policies[0].steps[0].notify[1]; did you mean "
               "'page'?)");
    assert_one(HOOKS "escalation_policies:\n  - {name: p, steps: [{notify: nobody}]}\n", 5,
               "nobody", "unknown receiver 'nobody' (escalation_policies[0].steps[0].notify;");
    assert_one(HOOKS "escalation_policies:\n  - {name: p, steps: [{notify: hook}], repeat: 101}\n",
               5, "101",
               "repeat '101' is above the maximum of 100 (escalation_policies[0].repeat)");
    assert_one(HOOKS "escalation_policies:\n  - {name: p, steps: [{notify: hook, wait: 0s}]}\n", 5,
               "0s", "wait '0s' is below the 1s minimum");
    assert_one(HOOKS "escalation_policies:\n  - {name: p, steps: [{notify: hook}], ack_timeout: "
                     "soon}\n",
               5, "soon", "ack_timeout 'soon' is not a valid duration");
    assert_one(HOOKS "escalation_policies:\n  - {name: p, steps: [{notify: hook}], repeats: 1}\n",
               5, "repeats", "unknown key 'repeats' (did you mean 'repeat'?)");
    assert_one(HOOKS "escalation_policies:\n  - {name: p, steps: [{notify: hook, wiat: 1m}]}\n", 5,
               "wiat", "unknown key 'wiat' (did you mean 'wait'?)");

    /* at most 32 steps */
    sbuf_puts(&sb, HOOKS "escalation_policies:\n  - name: p\n    steps:\n");
    for (int i = 0; i < 32; i++)
        sbuf_puts(&sb, "      - {notify: hook}\n");
    conf_free(load_ok(sb.buf));
    sbuf_puts(&sb, "      - {notify: page}\n");
    assert_one_place(sb.buf, 7 + 32, 9,
                     "too many steps (escalation_policies[0].steps; the limit is 32)");
    sbuf_release(&sb);
}

#define MON_DB "monitors:\n  - {name: db, type: tcp, host: h, port: 1, labels: {team: core}}\n"

static void test_maintenance_errors(void **state)
{
    assert_one(MON_DB "maintenance:\n  - {name: w, monitors: [db], schedule: '0 2 * * *', "
                      "duration: 1h}\n  - {name: w, monitors: [db], schedule: '0 3 * * *', "
                      "duration: 1h}\n",
               5, "w, monitors", "duplicate maintenance window name 'w' (first defined at line 4)");
    assert_one(MON_DB "maintenance:\n  - {name: w, monitors: [db, dv], schedule: '0 2 * * *', "
                      "duration: 1h}\n",
               4, "dv]", "unknown monitor 'dv' (maintenance[0].monitors[1]; defined: 'db')");
    assert_one(MON_DB "maintenance:\n  - {name: w, schedule: '0 2 * * *', duration: 1h}\n", 4,
               "{name", "a maintenance window needs monitors or labels (maintenance[0];");
    assert_one(MON_DB "maintenance:\n  - {name: w, labels: {}, schedule: '0 2 * * *', duration: "
                      "1h}\n",
               4, "{},", "labels is empty (maintenance[0].labels; it would cover every monitor");
    assert_one(MON_DB "maintenance:\n  - {name: w, monitors: [db]}\n", 4, "{name",
               "a maintenance window needs schedule or start (maintenance[0];");
    /* recurring */
    assert_one(MON_DB "maintenance:\n  - {name: w, monitors: [db], schedule: '0 2 * * *'}\n", 4,
               "{name", "a recurring maintenance window needs duration (maintenance[0];");
    assert_one(MON_DB "maintenance:\n  - {name: w, monitors: [db], schedule: '0 2 * * *', "
                      "duration: 7d}\n",
               4, "7d", "duration '7d' is not below a week (maintenance[0].duration;");
    assert_one(MON_DB "maintenance:\n  - {name: w, monitors: [db], schedule: '0 2 * * *', "
                      "duration: 0s}\n",
               4, "0s", "duration '0s' is below the 1s minimum (maintenance[0].duration)");
    assert_one(MON_DB "maintenance:\n  - {name: w, monitors: [db], schedule: '0 25 * * *', "
                      "duration: 1h}\n",
               4, "'0 25", "schedule '0 25 * * *': ");
    assert_one(MON_DB "maintenance:\n  - {name: w, monitors: [db], schedule: '0 0 30 2 *', "
                      "duration: 1h}\n",
               4, "'0 0 30", "schedule '0 0 30 2 *' never fires (maintenance[0].schedule)");
    assert_one(MON_DB "maintenance:\n  - {name: w, monitors: [db], schedule: '0 2 * * *', "
                      "duration: 1h, tz: Mars/Olympus}\n",
               4, "Mars", "tz: ");
    assert_one(MON_DB "maintenance:\n  - {name: w, monitors: [db], schedule: '0 2 * * *', "
                      "duration: 1h, start: '2026-12-05T02:00:00Z'}\n",
               4, "start", "start and schedule are both set (maintenance[0];");
    /* one-off */
    assert_one(MON_DB "maintenance:\n  - {name: w, monitors: [db], start: "
                      "'2026-12-05T02:00:00Z'}\n",
               4, "{name", "a one-off maintenance window needs end or duration (maintenance[0])");
    assert_one(MON_DB "maintenance:\n  - {name: w, monitors: [db], start: '2026-12-05T02:00:00Z', "
                      "end: '2026-12-05T03:00:00+01:00'}\n",
               4, "'2026-12-05T03",
               "end '2026-12-05T03:00:00+01:00' is not after start '2026-12-05T02:00:00Z' "
               "(maintenance[0].end)");
    assert_one(MON_DB "maintenance:\n  - {name: w, monitors: [db], start: '2026-12-05T02:00:00Z', "
                      "end: '2026-12-05T03:00:00Z', duration: 1h}\n",
               4, "duration", "end and duration are both set (maintenance[0]; give one)");
    assert_one(MON_DB "maintenance:\n  - {name: w, monitors: [db], start: '2026-12-05T02:00:00Z', "
                      "duration: 1h, tz: UTC}\n",
               4, "tz", "tz without a schedule (maintenance[0];");
    assert_one(MON_DB "maintenance:\n  - {name: w, monitors: [db], end: '2026-12-05T02:00:00Z'}\n",
               4, "{name", "a maintenance window needs schedule or start");
    assert_one(MON_DB "maintenance:\n  - {name: w, monitors: [db], start: 'tomorrow', duration: "
                      "1h}\n",
               4, "'tomorrow'",
               "start 'tomorrow' is not an RFC 3339 time (maintenance[0].start; e.g. "
               "2026-12-05T02:00:00Z");
    assert_one(MON_DB "maintenance:\n  - {name: w, monitors: [db], start: '1969-12-31T23:59:59Z', "
                      "duration: 1h}\n",
               4, "'1969", "start '1969-12-31T23:59:59Z' is before 1970 (maintenance[0].start)");
    assert_one(MON_DB "maintenance:\n  - {name: w, monitors: [db], schedule: '0 2 * * *', "
                      "duration: 1h, monitor: [db]}\n",
               4, "monitor:", "unknown key 'monitor' (did you mean 'monitors'?)");
}

static void test_rfc3339(void **state)
{
    static const struct {
        const char *s;
        uint64_t ms; /* 0: must be refused */
    } cases[] = {
        { "2026-12-05T02:00:00Z", 1796436000000ULL },
        { "2026-12-05t02:00:00z", 1796436000000ULL },
        { "2026-12-05T03:00:00+01:00", 1796436000000ULL },
        { "2026-12-05T01:30:00-00:30", 1796436000000ULL },
        { "2026-12-05T02:00:00.5Z", 1796436000500ULL },
        { "2026-12-05T02:00:00.123456789Z", 1796436000123ULL },
        { "2024-02-29T00:00:00Z", 1709164800000ULL }, /* a leap day */
        { "1970-01-01T00:00:01Z", 1000 },
        { "2026-12-05", 0 },
        { "2026-12-05T02:00:00", 0 }, /* no offset */
        { "2026-12-05 02:00:00Z", 0 },
        { "2026-12-05T02:00Z", 0 },
        { "2026-12-05T24:00:00Z", 0 },
        { "2026-12-05T02:60:00Z", 0 },
        { "2026-12-05T02:00:60Z", 0 }, /* no leap seconds */
        { "2025-02-29T00:00:00Z", 0 },
        { "2026-13-01T00:00:00Z", 0 },
        { "2026-00-01T00:00:00Z", 0 },
        { "2026-12-05T02:00:00+0100", 0 },
        { "2026-12-05T02:00:00+24:00", 0 },
        { "2026-12-05T02:00:00.Z", 0 },
        { "2026-12-05T02:00:00Zx", 0 },
        { "26-12-05T02:00:00Z", 0 },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sbuf sb = SBUF_INIT;
        struct conf *c = UNTOUCHED;
        int r;

        sbuf_addf(&sb,
                  MON_DB "maintenance:\n  - {name: w, monitors: [db], start: '%s', duration: "
                         "1h}\n",
                  cases[i].s);
        r = load(sb.buf, &c);
        if ((r == 0) != (cases[i].ms != 0))
            fprintf(stderr, "case '%s'\n", cases[i].s);
        if (cases[i].ms) {
            assert_int_equal(r, 0);
            assert_int_equal(c->maintenance[0].start_ms, cases[i].ms);
            conf_free(c);
        } else {
            assert_int_equal(r, -EINVAL);
            assert_ptr_equal(c, UNTOUCHED);
            assert_diag(4, col_of(sb.buf, 4, "'2"), "is not an RFC 3339 time");
        }
        sbuf_release(&sb);
    }
}

#define TCP(name) "  - {name: " name ", type: tcp, host: h, port: 1"

static void test_monitor_alerting_errors(void **state)
{
    assert_one("monitors:\n" TCP("a") ", severity: urgent}\n", 2, "urgent",
               "severity 'urgent' is not valid (expected critical, high, medium or low)");
    assert_one("monitors:\n" TCP("a") ", severity: Critical}\n", 2, "Critical",
               "severity 'Critical' is not valid");
    assert_one("monitors:\n" TCP("a") ", summary: ''}\n", 2, "''",
               "summary must not be empty (monitors[0].summary;");
    assert_one("monitors:\n" TCP("a") ", summary: \"a\\nb\"}\n", 2, "\"a",
               "summary has a line break (monitors[0].summary;");
    /* depends_on */
    assert_one("monitors:\n" TCP("a") ", depends_on: [b]}\n" TCP("bb") "}\n", 2, "b]",
               "unknown monitor 'b' (monitors[0].depends_on[0]; defined: 'a', 'bb')");
    assert_one("monitors:\n" TCP("a") ", depends_on: [a]}\n", 2, "a]",
               "monitor 'a' depends on itself (monitors[0].depends_on[0])");
    assert_one("monitors:\n" TCP("a") ", depends_on: a}\n", 2, "a}",
               "monitor 'a' depends on itself (monitors[0].depends_on)");
    assert_one("monitors:\n" TCP("a") ", depends_on: [b]}\n" TCP("b") ", depends_on: [a]}\n", 3,
               "a]",
               "depends_on 'a' closes a cycle: a -> b -> a (monitors[1].depends_on[0]; a monitor "
               "cannot depend on itself through others)");
    assert_one("monitors:\n" TCP("a") ", depends_on: [b]}\n" TCP("b") ", depends_on: [c]}\n" TCP(
                   "c") ", depends_on: [x, b]}\n" TCP("x") "}\n",
               4, "b]", "depends_on 'b' closes a cycle: b -> c -> b (monitors[2].depends_on[1];");
    /* tolerance */
    assert_one("monitors:\n" TCP("a") ", tolerance: {fail: 3}}\n", 2, "{fail",
               "tolerance needs both fail and of (monitors[0].tolerance;");
    assert_one("monitors:\n" TCP("a") ", tolerance: {of: 3}}\n", 2, "{of",
               "tolerance needs both fail and of");
    assert_one("monitors:\n" TCP("a") ", tolerance: {fail: 4, of: 3}}\n", 2, "4,",
               "fail '4' exceeds of '3' (monitors[0].tolerance;");
    assert_one("monitors:\n" TCP("a") ", tolerance: {fail: 0, of: 3}}\n", 2, "0,",
               "fail '0' is below the minimum of 1 (monitors[0].tolerance.fail)");
    assert_one("monitors:\n" TCP("a") ", tolerance: {fail: 3, of: 65}}\n", 2, "65",
               "of '65' is above the maximum of 64 (monitors[0].tolerance.of)");
    assert_one("monitors:\n" TCP("a") ", tolerance: {fail: 3, of: 64, recover: 3, "
                                      "recover_of: 2}}\n",
               2, "3, recover_of", "recover '3' exceeds recover_of '2' (monitors[0].tolerance;");
    assert_one("monitors:\n" TCP("a") ", tolerance: {fail: 1, of: 1, recover_of: 65}}\n", 2, "65",
               "recover_of '65' is above the maximum of 64");
    assert_one("monitors:\n" TCP("a") ", tolerance: {fail: 1, of: 1, recovery: 1}}\n", 2,
               "recovery", "unknown key 'recovery' (did you mean 'recover'?)");
    assert_one("monitors:\n" TCP("a") ", confirm: 3, tolerance: {fail: 1, of: 2}}\n", 2,
               "tolerance",
               "tolerance and confirm are both set (monitors[0]; tolerance replaces confirm");
    /* defaults.confirm is not an explicit confirm */
    conf_free(load_ok("defaults: {confirm: 3}\nmonitors:\n" TCP("a") ", tolerance: {fail: 1, "
                                                                     "of: 2}}\n"));
}

static void test_alerting_section_errors(void **state)
{
    assert_one("alerting: {external_url: 'opsd.example.com'}\n", 1, "'opsd",
               "external_url 'opsd.example.com' does not start with http:// or https:// "
               "(alerting.external_url)");
    assert_one("alerting: {link_secret: too-short}\n", 1, "too-short",
               "link_secret is 9 bytes long, below the 16-byte minimum (alerting.link_secret)");
    assert_one("alerting: {retry_min: 10s, retry_max: 5s}\n", 1, "10s",
               "retry_min '10s' exceeds retry_max '5s' (alerting.retry_min)");
    assert_one("alerting: {retry_min: 10m}\n", 1, "10m",
               "retry_min '10m' exceeds retry_max '5m' (alerting.retry_min)");
    assert_one("alerting: {flapping: {changes: 65}}\n", 1, "65",
               "changes '65' is above the maximum of 64 (alerting.flapping.changes)");
    assert_one("alerting: {flapping: {changes: 0}}\n", 1, "0}",
               "changes '0' is below the minimum of 1 (alerting.flapping.changes)");
    assert_one("alerting: {flapping: {window: 0s}}\n", 1, "0s",
               "window '0s' is below the 1s minimum (alerting.flapping.window)");
    assert_one("alerting: {max_inflight: 0}\n", 1, "0}",
               "max_inflight '0' is below the minimum of 1 (alerting.max_inflight)");
    assert_one("alerting: {link_ttl: 1s}\n", 1, "1s",
               "link_ttl '1s' is below the 1m minimum (alerting.link_ttl)");
    assert_one("alerting: {give_up: 1h}\n", 1, "give_up",
               "unknown key 'give_up' (valid keys: external_url, link_secret, link_ttl, "
               "give_up_after, retry_min, retry_max, flapping, max_inflight)");
    assert_one("alerting: {flapping: {change: 3}}\n", 1, "change",
               "unknown key 'change' (did you mean 'changes'?)");
    assert_one("alertng: {}\n", 1, "alertng", "unknown key 'alertng' (did you mean 'alerting'?)");
    assert_one("alerting: []\n", 1, "[]", "expected a mapping, got a sequence (alerting)");
}

/* Every problem found in one run, across the sections. */
static void test_alerting_all_at_once(void **state)
{
    static const char *text = "alerting: {link_secret: x}\n"
                              "receivers:\n"
                              "  - {name: a, webhook: {url: x}}\n"
                              "route: {receiver: b}\n"
                              "escalation_policies:\n"
                              "  - {name: p, steps: [{notify: [c]}]}\n"
                              "maintenance:\n"
                              "  - {name: w, monitors: [d], schedule: '* * * * *', duration: 1m}\n"
                              "monitors:\n" TCP("m") ", depends_on: [e]}\n";
    struct conf *c = UNTOUCHED;

    assert_int_equal(load(text, &c), -EINVAL);
    assert_ptr_equal(c, UNTOUCHED);
    assert_int_equal(diags.n, 6);
    assert_diag_at(text, 1, "x}", "link_secret is 1 bytes long");
    assert_diag_at(text, 3, "x}", "url 'x' does not start with http://");
    assert_diag_at(text, 4, "b}", "unknown receiver 'b'");
    assert_diag_at(text, 6, "c]", "unknown receiver 'c'");
    assert_diag_at(text, 8, "d]", "unknown monitor 'd'");
    assert_diag_at(text, 10, "e]", "unknown monitor 'e'");
}

static void test_alerting_env(void **state)
{
    struct conf *c;

    setenv("OPSD_TEST_RECV", "ops", 1);
    setenv("OPSD_TEST_URL", "https://hooks.example.com/x", 1);
    setenv("OPSD_TEST_SEV", "low", 1);
    setenv("OPSD_TEST_WAIT", "90s", 1);
    unsetenv("OPSD_TEST_UNSET");
    c = load_ok("alerting: {external_url: '${OPSD_TEST_URL}'}\n"
                "receivers:\n"
                "  - {name: '${OPSD_TEST_RECV}', slack: {webhook_url: '${OPSD_TEST_URL}'}}\n"
                "route: {receiver: '${OPSD_TEST_RECV}', routes: [{matchers: "
                "['sev=${OPSD_TEST_SEV}'], receiver: ops}]}\n"
                "escalation_policies:\n"
                "  - {name: p, steps: [{notify: '${OPSD_TEST_RECV}', wait: '${OPSD_TEST_WAIT}'}]}\n"
                "monitors:\n" TCP("m") ", severity: '${OPSD_TEST_SEV}'}\n");
    assert_string_equal(c->alerting.external_url, "https://hooks.example.com/x");
    assert_string_equal(c->receivers[0].name, "ops");
    assert_string_equal(c->receivers[0].url, "https://hooks.example.com/x");
    assert_string_equal(c->route->receiver, "ops");
    assert_string_equal(c->route->routes[0].matchers[0].value, "low");
    assert_string_equal(c->policies[0].steps[0].notify[0], "ops");
    assert_int_equal(c->policies[0].steps[0].wait_ms, 90000);
    assert_int_equal(c->monitors[0].severity, CONF_SEV_LOW);
    conf_free(c);

    assert_one("receivers:\n  - {name: a, pagerduty: {routing_key: '${OPSD_TEST_UNSET}'}}\n", 2,
               "'${",
               "environment variable 'OPSD_TEST_UNSET' is not set "
               "(receivers[0].pagerduty.routing_key)");
}

/* No message quotes a secret: not as expanded, not even as written. */
static void test_alerting_secrets_never_quoted(void **state)
{
    static const struct {
        const char *text;
        const char *what; /* the diagnostic it must cause */
    } cases[] = {
        { "alerting: {link_secret: S3cretS3cret}\n", "link_secret is 12 bytes long" },
        { "alerting: {link_secret: '${S3cretS3cret'}\n", "unterminated '${' in the value" },
        { "alerting: {link_secret: '${S3cret-S3cret}'}\n",
          "invalid environment variable name in the value" },
        { RECV "{name: a, webhook: {url: 'http://h', secret: \"S3cret\\x01\"}}\n",
          "secret contains a control character (receivers[0].webhook.secret; the value is not "
          "shown" },
        { RECV "{name: a, webhook: {url: 'http://h', secret: '${S3cret'}}\n",
          "unterminated '${' in the value (receivers[0].webhook.secret;" },
        { RECV "{name: a, telegram: {bot_token: 'S3cret/x', chat_id: '1'}}\n",
          "bot_token has a character a Telegram bot token cannot have" },
        { RECV "{name: a, telegram: {bot_token: 'S3cret S3cret', chat_id: '1'}}\n",
          "bot_token has a character" },
        { RECV "{name: a, pagerduty: {routing_key: \"S3cret\\n\"}}\n",
          "routing_key contains a control character" },
        { RECV "{name: a, ntfy: {url: 'http://h', topic: t, token: \"S3cret\\r\"}}\n",
          "token contains a control character" },
        { RECV "{name: a, twilio: {account_sid: AC1, auth_token: '${S3cret', from: '+1', to: "
               "'+2'}}\n",
          "unterminated '${' in the value (receivers[0].twilio.auth_token;" },
        { RECV "{name: a, email: {to: a@b.c, from: d@e.f, smtp: {host: h, username: u, "
               "password: '${S3cret'}}}\n",
          "unterminated '${' in the value (receivers[0].email.smtp.password;" },
        { RECV "{name: a, slack: {webhook_url: 'hooks.slack.com/S3cret'}}\n",
          "webhook_url does not start with http:// or https:// (receivers[0].slack.webhook_url; "
          "the value is not shown" },
        { RECV "{name: a, slack: {webhook_url: 'https://h/S3cret S3cret'}}\n",
          "webhook_url contains a space or control character" },
        { RECV "{name: a, pagerduty: {routing_key: ''}}\n", "routing_key must not be empty" },
    };

    setenv("OPSD_TEST_SECRET", "S3cretS3cret", 1);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct conf *c = UNTOUCHED;

        assert_int_equal(load(cases[i].text, &c), -EINVAL);
        assert_ptr_equal(c, UNTOUCHED);
        if (diags.n != 1 || !strstr(diags.v[0].msg, cases[i].what)) {
            fprintf(stderr, "case %zu: want \"%s\"\n", i, cases[i].what);
            dump_diags();
        }
        assert_int_equal(diags.n, 1);
        assert_non_null(strstr(diags.v[0].msg, cases[i].what));
        assert_null(strstr(diags.v[0].msg, "S3cret"));
    }
}

static void test_severity_strings(void **state)
{
    enum conf_severity s = 0;

    assert_string_equal(conf_severity_to_string(CONF_SEV_CRITICAL), "critical");
    assert_string_equal(conf_severity_to_string(CONF_SEV_HIGH), "high");
    assert_string_equal(conf_severity_to_string(CONF_SEV_MEDIUM), "medium");
    assert_string_equal(conf_severity_to_string(CONF_SEV_LOW), "low");
    assert_string_equal(conf_severity_to_string((enum conf_severity)0), "unknown");
    assert_string_equal(conf_severity_to_string((enum conf_severity)9), "unknown");
    assert_int_equal(conf_severity_from_string("medium", &s), 0);
    assert_int_equal(s, CONF_SEV_MEDIUM);
    assert_int_equal(conf_severity_from_string("warning", &s), -EINVAL);
    assert_int_equal(s, CONF_SEV_MEDIUM); /* untouched */
    assert_int_equal(conf_severity_from_string(NULL, &s), -EINVAL);
    assert_null(conf_find_policy(NULL, "p"));
    assert_null(conf_find_receiver(NULL, "r"));
}

static void test_type_strings_and_free(void **state)
{
    enum conf_monitor_type t = 0;

    assert_string_equal(conf_monitor_type_to_string(CONF_MON_HTTP), "http");
    assert_string_equal(conf_monitor_type_to_string(CONF_MON_TCP), "tcp");
    assert_string_equal(conf_monitor_type_to_string(CONF_MON_HEARTBEAT), "heartbeat");
    assert_string_equal(conf_monitor_type_to_string((enum conf_monitor_type)99), "unknown");
    assert_int_equal(conf_monitor_type_from_string("tcp", &t), 0);
    assert_int_equal(t, CONF_MON_TCP);
    assert_int_equal(conf_monitor_type_from_string("TCP", &t), -EINVAL);
    assert_int_equal(t, CONF_MON_TCP);
    assert_null(conf_free(NULL));
    conf_diags_free(NULL);
}

static void test_default_path(void **state)
{
    char dir[] = "/tmp/opsd-test-cwd-XXXXXX", old[PATH_MAX];
    FILE *f;

    assert_non_null(getcwd(old, sizeof(old)));
    assert_non_null(mkdtemp(dir));
    assert_int_equal(chdir(dir), 0);
    assert_string_equal(conf_default_path(), "/etc/opsd/opsd.yaml");
    f = fopen("opsd.yaml", "w");
    assert_non_null(f);
    fclose(f);
    assert_string_equal(conf_default_path(), "./opsd.yaml");
    unlink("opsd.yaml");
    assert_int_equal(chdir(old), 0);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_full_example, teardown),
        cmocka_unit_test_teardown(test_defaults_applied, teardown),
        cmocka_unit_test_teardown(test_defaults_section, teardown),
        cmocka_unit_test_teardown(test_empty_and_server_only, teardown),
        cmocka_unit_test_teardown(test_durations, teardown),
        cmocka_unit_test_teardown(test_unknown_keys, teardown),
        cmocka_unit_test_teardown(test_key_does_not_apply, teardown),
        cmocka_unit_test_teardown(test_duplicate_keys, teardown),
        cmocka_unit_test_teardown(test_wrong_types, teardown),
        cmocka_unit_test_teardown(test_ranges, teardown),
        cmocka_unit_test_teardown(test_bad_strings, teardown),
        cmocka_unit_test_teardown(test_tokens, teardown),
        cmocka_unit_test_teardown(test_duplicate_names, teardown),
        cmocka_unit_test_teardown(test_missing_required, teardown),
        cmocka_unit_test_teardown(test_labels, teardown),
        cmocka_unit_test_teardown(test_malformed_yaml, teardown),
        cmocka_unit_test_teardown(test_too_large_and_unreadable, teardown),
        cmocka_unit_test_teardown(test_load_file, teardown),
        cmocka_unit_test_teardown(test_env_expansion, teardown),
        cmocka_unit_test_teardown(test_env_secrets_never_quoted, teardown),
        cmocka_unit_test_teardown(test_env_body_never_quoted, teardown),
        cmocka_unit_test_teardown(test_url_userinfo_masked, teardown),
        cmocka_unit_test_teardown(test_host_syntax, teardown),
        cmocka_unit_test_teardown(test_anchors_and_aliases, teardown),
        cmocka_unit_test_teardown(test_nesting_cap, teardown),
        cmocka_unit_test_teardown(test_many_problems_at_once, teardown),
        cmocka_unit_test_teardown(test_diag_cap, teardown),
        cmocka_unit_test_teardown(test_monitor_equal, teardown),
        cmocka_unit_test_teardown(test_type_strings_and_free, teardown),
        cmocka_unit_test_teardown(test_alerting_full, teardown),
        cmocka_unit_test_teardown(test_alerting_defaults, teardown),
        cmocka_unit_test_teardown(test_receiver_errors, teardown),
        cmocka_unit_test_teardown(test_receiver_limit, teardown),
        cmocka_unit_test_teardown(test_route_errors, teardown),
        cmocka_unit_test_teardown(test_route_depth, teardown),
        cmocka_unit_test_teardown(test_policy_errors, teardown),
        cmocka_unit_test_teardown(test_maintenance_errors, teardown),
        cmocka_unit_test_teardown(test_rfc3339, teardown),
        cmocka_unit_test_teardown(test_monitor_alerting_errors, teardown),
        cmocka_unit_test_teardown(test_alerting_section_errors, teardown),
        cmocka_unit_test_teardown(test_alerting_all_at_once, teardown),
        cmocka_unit_test_teardown(test_alerting_env, teardown),
        cmocka_unit_test_teardown(test_alerting_secrets_never_quoted, teardown),
        cmocka_unit_test_teardown(test_severity_strings, teardown),
        cmocka_unit_test_teardown(test_default_path, teardown),
    };

    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
