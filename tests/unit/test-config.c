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
               "timeout, confirm, down_on_warning, on_failure, labels, expect, host, port, send)");
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
        "  - {name: hb, type: heartbeat, token: 0123456789abcdef, period: 1h}\n";
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
        /* what does not change the checking */
        { "url: http://a/", "url: http://a/\n    description: hello", true },
        { "url: http://a/", "url: http://a/\n    public: false", true },
        { "{team: core, env: prod}", "{env: prod, team: core}", true },
        { "[200, 204]", "[204, 200, 200]", true },
        { "url: http://a/", "url: http://a/\n    method: GET\n    interval: 60s", true },
        { "monitors:\n", "# moved down a line\nmonitors:\n", true },
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
        cmocka_unit_test_teardown(test_default_path, teardown),
    };

    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
