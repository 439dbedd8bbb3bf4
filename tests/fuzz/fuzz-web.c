/* libFuzzer target: the web's pure parsers, everything a client or the
 * config can put in front of them. The input is read as four lines and
 * the rest:
 *     METHOD \n PATH \n QUERY \n LISTEN \n BODY
 * PATH goes to the route table, the ping parser and the log redactor, QUERY
 * (split on '&' and the first '=', as libmicrohttpd hands it over) to the
 * history query parser, LISTEN to the listen address parser, BODY to the
 * inbound alert parser in each of its four shapes. Besides not crashing,
 * checks what callers rely on: results in range, outputs untouched on
 * failure, a ping path is routed to the ping route and its token never
 * reaches the log, a parsed alert carries opsd's name of its severity. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#include "web/web-internal.h"

#define NOW_MS 1700000000000ull

/* Splits s in place at the first '\n'; returns the rest ("" at the end). */
static char *next_line(char *s)
{
    char *nl = strchr(s, '\n');
    if (!nl)
        return s + strlen(s);
    *nl = '\0';
    return nl + 1;
}

static void check_path(const char *method, const char *path)
{
    struct web_match m, m_before;
    struct web_ping p, p_before;
    char buf[256], small[8];
    int rm, rp;

    memset(&m, 0xa5, sizeof(m));
    m_before = m;
    rm = web_route_match(method, path, &m);
    if (rm == 0) {
        CHECK(m.allow);
        if (m.route == WEB_ROUTE_MONITOR || m.route == WEB_ROUTE_RESULTS ||
            m.route == WEB_ROUTE_EVENTS) {
            size_t len = strnlen(m.name, sizeof(m.name));

            CHECK(len > 0 && len <= OPSD_MAX_NAME);
            CHECK(strncmp(path + strlen("/api/v1/monitors/"), m.name, len) == 0);
        }
    } else {
        CHECK(rm == -ENOENT);
        CHECK(memcmp(&m, &m_before, sizeof(m)) == 0);
    }

    memset(&p, 0x5a, sizeof(p));
    p_before = p;
    rp = web_ping_parse(path, &p);
    if (rp == 0) {
        size_t toklen = strnlen(p.token, sizeof(p.token));

        CHECK(rm == 0 && m.route == WEB_ROUTE_PING);
        CHECK(web_token_valid(p.token, toklen));
        if (p.kind == PROBE_PING_EXIT)
            CHECK(p.exit_code >= 0 && p.exit_code <= 255);
    } else {
        CHECK(rp == -ENOENT || rp == -EINVAL);
        CHECK(memcmp(&p, &p_before, sizeof(p)) == 0);
    }

    web_path_redact(path, buf, sizeof(buf));
    CHECK(strnlen(buf, sizeof(buf)) < sizeof(buf));
    if (rp == 0)
        CHECK(!strstr(buf, p.token)); /* a heartbeat token is a secret: never logged */
    web_path_redact(path, small, sizeof(small));
    CHECK(strnlen(small, sizeof(small)) < sizeof(small));
}

static void check_query(char *query)
{
    struct web_query_arg args[WEB_MAX_QUERY_ARGS];
    size_t n = 0;
    char *s = query;

    /* "" is no parameters; "a&&b" has an empty key between, as with MHD. */
    while (*s && n < WEB_MAX_QUERY_ARGS) {
        char *amp = strchr(s, '&'), *eq;

        if (amp)
            *amp = '\0';
        eq = strchr(s, '=');
        if (eq)
            *eq = '\0';
        args[n].key = s;
        args[n].value = eq ? eq + 1 : NULL;
        n++;
        if (!amp)
            break;
        s = amp + 1;
    }

    for (int i = 0; i < 2; i++) {
        uint64_t now = i ? NOW_MS : 0;
        struct web_history_query q, q_before;
        struct opsd_error err = { 0 };
        int r;

        memset(&q, 0x33, sizeof(q));
        q_before = q;
        r = web_history_query_parse(args, n, now, &q, &err);
        if (r == 0) {
            CHECK(q.since_ms <= q.until_ms);
            CHECK(q.limit >= 1 && q.limit <= OPSD_MAX_RESULTS_LIMIT);
        } else {
            CHECK(r == -EINVAL && err.code == r && err.msg[0]);
            CHECK(memcmp(&q, &q_before, sizeof(q)) == 0);
        }
    }
}

static void check_listen(const char *listen)
{
    struct sockaddr_storage ss, ss_before;
    struct opsd_error err = { 0 };
    socklen_t len = 12345;
    int r;

    memset(&ss, 0x77, sizeof(ss));
    ss_before = ss;
    r = web_listen_parse(listen, &ss, &len, &err);
    if (r == 0) {
        CHECK((ss.ss_family == AF_INET && len == sizeof(struct sockaddr_in)) ||
              (ss.ss_family == AF_INET6 && len == sizeof(struct sockaddr_in6)));
    } else {
        CHECK(r == -EINVAL && err.code == r && err.msg[0]);
        CHECK(len == 12345 && memcmp(&ss, &ss_before, sizeof(ss)) == 0);
    }
}

/* NULL, or a string jansson takes (valid UTF-8). */
static bool utf8_ok(const char *s)
{
    json_t *j = s ? json_string(s) : NULL;

    json_decref(j);
    return !s || j;
}

static void check_inbound(const char *body, size_t len)
{
    static const enum web_inbound_kind kinds[] = { WEB_INBOUND_API, WEB_INBOUND_AM_V2,
                                                   WEB_INBOUND_AM_HOOK, WEB_INBOUND_PAGERDUTY };

    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        struct web_inbound in, in_before;
        struct opsd_error err = { 0 };
        int r;

        memset(&in, 0x3c, sizeof(in));
        in_before = in;
        r = web_inbound_parse(kinds[k], body, len, NOW_MS, "fuzz-key", &in, &err);
        if (r < 0) {
            CHECK((r == -EINVAL || r == -E2BIG) && err.code == r && err.msg[0]);
            CHECK(memcmp(&in, &in_before, sizeof(in)) == 0);
            continue;
        }
        CHECK(in.n <= OPSD_MAX_INBOUND_ALERTS);
        if (kinds[k] == WEB_INBOUND_PAGERDUTY)
            CHECK(in.n == 1 && in.dedup_key && in.dedup_key[0]);
        for (size_t i = 0; i < in.n; i++) {
            const struct web_inbound_alert *a = &in.v[i];
            const char *sev = alert_labels_get(&a->labels, "severity");

            CHECK(a->action == SCHED_INBOUND_FIRE || a->action == SCHED_INBOUND_RESOLVE ||
                  a->action == SCHED_INBOUND_ACK);
            CHECK(a->labels.n >= 2 && a->labels.n <= ALERT_MAX_LABELS);
            CHECK(sev && strcmp(sev, alert_severity_to_string(a->severity)) == 0);
            CHECK(a->starts_ms <= NOW_MS);
            /* stored and later put in JSON answers: must be UTF-8 */
            CHECK(utf8_ok(a->summary) && utf8_ok(a->message));
        }
        web_inbound_clear(&in);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf, *method, *path, *query, *listen, *body;

    buf = malloc(size + 1);
    if (!buf)
        abort();
    memcpy(buf, data, size);
    buf[size] = '\0';

    method = buf;
    path = next_line(method);
    query = next_line(path);
    listen = next_line(query);
    body = next_line(listen);

    check_path(method, path);
    check_query(query);
    check_listen(listen);
    check_inbound(body, size - (size_t)(body - buf));

    free(buf);
    return 0;
}
