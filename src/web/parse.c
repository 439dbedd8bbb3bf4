/* The web's parsers, pure so they are unit-tested: listen addresses, the
 * route table, the history (results, events) query string and heartbeat
 * ping paths. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "web/web-internal.h"

static int parse_port(const char *s, uint16_t *ret)
{
    unsigned long v;
    char *end;

    if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 5)
        return -EINVAL;
    v = strtoul(s, &end, 10);
    if (*end || v > 65535)
        return -EINVAL;
    *ret = (uint16_t)v;
    return 0;
}

int web_listen_parse(const char *listen, struct sockaddr_storage *ret_addr, socklen_t *ret_len,
                     struct opsd_error *err)
{
    struct sockaddr_storage ss;
    const char *colon, *port_s;
    char host[INET6_ADDRSTRLEN + 1];
    size_t hostlen;
    uint16_t port;

    if (!listen || !*listen)
        return opsd_errorf(err, -EINVAL,
                           "invalid listen address '' (expected e.g. 127.0.0.1:8080)");
    if (listen[0] == '[') {
        const char *close = strchr(listen, ']');
        if (!close || close[1] != ':')
            return opsd_errorf(
                err, -EINVAL, "invalid listen address '%s' (expected [IPv6]:port, e.g. [::1]:8080)",
                listen);
        hostlen = (size_t)(close - listen - 1);
        if (hostlen == 0 || hostlen >= sizeof(host))
            return opsd_errorf(err, -EINVAL, "invalid IPv6 address in listen address '%s'", listen);
        memcpy(host, listen + 1, hostlen);
        host[hostlen] = '\0';
        port_s = close + 2;
    } else {
        colon = strrchr(listen, ':');
        if (!colon)
            return opsd_errorf(err, -EINVAL,
                               "invalid listen address '%s' (expected host:port, e.g. "
                               "127.0.0.1:8080)",
                               listen);
        if (memchr(listen, ':', (size_t)(colon - listen)))
            return opsd_errorf(err, -EINVAL,
                               "invalid listen address '%s' (put an IPv6 address in brackets, "
                               "e.g. [::1]:8080)",
                               listen);
        hostlen = (size_t)(colon - listen);
        if (hostlen >= sizeof(host))
            return opsd_errorf(err, -EINVAL, "invalid host in listen address '%s'", listen);
        memcpy(host, listen, hostlen);
        host[hostlen] = '\0';
        port_s = colon + 1;
    }
    if (parse_port(port_s, &port) < 0)
        return opsd_errorf(err, -EINVAL,
                           "invalid port '%s' in listen address '%s' (expected 0..65535)", port_s,
                           listen);

    memset(&ss, 0, sizeof(ss));
    if (listen[0] == '[') {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
            return opsd_errorf(err, -EINVAL, "invalid IPv6 address '%s' in listen address '%s'",
                               host, listen);
        *ret_len = sizeof(*a6);
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        if (!*host || strcmp(host, "*") == 0)
            a4->sin_addr.s_addr = htonl(INADDR_ANY);
        else if (strcmp(host, "localhost") == 0)
            a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        else if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
            return opsd_errorf(err, -EINVAL,
                               "invalid IPv4 address '%s' in listen address '%s' (numeric "
                               "addresses only)",
                               host, listen);
        *ret_len = sizeof(*a4);
    }
    *ret_addr = ss;
    return 0;
}

/* ---- routes ---- */

#define ALLOW_GET "GET, HEAD"
#define ALLOW_PING "GET, HEAD, POST"

static bool is_get(const char *method)
{
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

/* The {id} at p: decimal, > 0, no leading zero, no sign. Returns it and
 * where it ends in *end, or 0 when p holds none. */
static int64_t path_id(const char *p, const char **end)
{
    char *e;
    long long id;

    if (*p < '1' || *p > '9')
        return 0;
    errno = 0;
    id = strtoll(p, &e, 10);
    if (errno || id <= 0)
        return 0;
    *end = e;
    return id;
}

int web_route_match(const char *method, const char *path, struct web_match *ret)
{
    static const struct {
        const char *path;
        enum web_route route;
    } fixed[] = {
        { "/", WEB_ROUTE_PAGE },
        { "/healthz", WEB_ROUTE_HEALTHZ },
        { "/metrics", WEB_ROUTE_METRICS },
        { "/api/v1/monitors", WEB_ROUTE_MONITORS },
        { "/api/v1/monitors/", WEB_ROUTE_MONITORS },
        { "/api/v1/maintenance", WEB_ROUTE_MAINTENANCE },
    };
    static const char monitors[] = "/api/v1/monitors/";
    struct web_match m = { 0 };

    for (size_t i = 0; i < ARRAY_SIZE(fixed); i++) {
        if (strcmp(path, fixed[i].path) == 0) {
            m.route = fixed[i].route;
            m.allow = ALLOW_GET;
            m.method_ok = is_get(method);
            *ret = m;
            return 0;
        }
    }
    if (strcmp(path, "/ping") == 0 || strncmp(path, "/ping/", 6) == 0) {
        m.route = WEB_ROUTE_PING;
        m.allow = ALLOW_PING;
        m.method_ok = is_get(method) || strcmp(method, "POST") == 0;
        *ret = m;
        return 0;
    }
    if (strcmp(path, "/api/v1/silences") == 0) {
        m.route = WEB_ROUTE_SILENCES;
        m.allow = "GET, HEAD, POST";
        m.method_ok = is_get(method) || strcmp(method, "POST") == 0;
        *ret = m;
        return 0;
    }
    if (strncmp(path, "/api/v1/silences/", 17) == 0) {
        const char *end = NULL;
        int64_t id = path_id(path + 17, &end);

        if (!id || *end)
            return -ENOENT;
        m.id = id;
        m.route = WEB_ROUTE_SILENCE;
        m.allow = "GET, HEAD, DELETE";
        m.method_ok = is_get(method) || strcmp(method, "DELETE") == 0;
        *ret = m;
        return 0;
    }
    if (strcmp(path, "/api/v1/alerts") == 0 && strcmp(method, "POST") == 0) {
        m.route = WEB_ROUTE_INBOUND_API;
        m.allow = "GET, HEAD, POST";
        m.method_ok = true;
        *ret = m;
        return 0;
    }
    if (strcmp(path, "/api/v2/alerts") == 0 || strcmp(path, "/api/v1/inbound/alertmanager") == 0 ||
        strcmp(path, "/v2/enqueue") == 0) {
        m.route = path[1] == 'v'   ? WEB_ROUTE_INBOUND_PD
                  : path[6] == '2' ? WEB_ROUTE_INBOUND_V2
                                   : WEB_ROUTE_INBOUND_HOOK;
        m.allow = "POST";
        m.method_ok = strcmp(method, "POST") == 0;
        *ret = m;
        return 0;
    }
    if (strcmp(path, "/api/v1/alerts") == 0 || strcmp(path, "/api/v1/notifications") == 0) {
        m.route = path[8] == 'a' ? WEB_ROUTE_ALERTS : WEB_ROUTE_NOTIFICATIONS;
        m.allow = path[8] == 'a' ? "GET, HEAD, POST" : ALLOW_GET;
        m.method_ok = is_get(method);
        *ret = m;
        return 0;
    }
    if (strcmp(path, "/api/v1/alerts/stats") == 0) {
        m.route = WEB_ROUTE_ALERT_STATS;
        m.allow = ALLOW_GET;
        m.method_ok = is_get(method);
        *ret = m;
        return 0;
    }
    if (strncmp(path, "/api/v1/alerts/", 15) == 0 ||
        strncmp(path, "/api/v1/notifications/", 22) == 0) {
        bool alerts = path[8] == 'a';
        const char *end = NULL;
        int64_t id = path_id(path + (alerts ? 15 : 22), &end);

        if (!id)
            return -ENOENT;
        m.id = id;
        if (*end == '\0') {
            m.route = alerts ? WEB_ROUTE_ALERT : WEB_ROUTE_NOTIFICATION;
            m.allow = ALLOW_GET;
            m.method_ok = is_get(method);
        } else if (alerts && (strcmp(end, "/ack") == 0 || strcmp(end, "/resolve") == 0)) {
            m.route = end[1] == 'a' ? WEB_ROUTE_ALERT_ACK : WEB_ROUTE_ALERT_RESOLVE;
            m.allow = "POST";
            m.method_ok = strcmp(method, "POST") == 0;
        } else if (alerts && strcmp(end, "/review") == 0) {
            m.route = WEB_ROUTE_ALERT_REVIEW;
            m.allow = "POST";
            m.method_ok = strcmp(method, "POST") == 0;
        } else {
            return -ENOENT;
        }
        *ret = m;
        return 0;
    }
    if (strncmp(path, "/a/", 3) == 0) {
        const char *end = NULL;
        int64_t id = path_id(path + 3, &end);

        if (!id || (strcmp(end, "/ack") != 0 && strcmp(end, "/resolve") != 0))
            return -ENOENT;
        m.id = id;
        m.route = end[1] == 'a' ? WEB_ROUTE_LINK_ACK : WEB_ROUTE_LINK_RESOLVE;
        /* GET only shows what the link does: mail scanners and chat
         * previews fetch links, and must not acknowledge anything. */
        m.allow = "GET, HEAD, POST";
        m.method_ok = is_get(method) || strcmp(method, "POST") == 0;
        *ret = m;
        return 0;
    }
    if (strncmp(path, monitors, sizeof(monitors) - 1) == 0) {
        const char *name = path + sizeof(monitors) - 1;
        const char *slash = strchr(name, '/');
        size_t len = slash ? (size_t)(slash - name) : strlen(name);

        if (len == 0 || len > OPSD_MAX_NAME)
            return -ENOENT;
        if (!slash)
            m.route = WEB_ROUTE_MONITOR;
        else if (strcmp(slash, "/results") == 0)
            m.route = WEB_ROUTE_RESULTS;
        else if (strcmp(slash, "/events") == 0)
            m.route = WEB_ROUTE_EVENTS;
        else if (strcmp(slash, "/metrics") == 0)
            m.route = WEB_ROUTE_SERIES;
        else
            return -ENOENT;
        memcpy(m.name, name, len);
        m.name[len] = '\0';
        m.allow = ALLOW_GET;
        m.method_ok = is_get(method);
        *ret = m;
        return 0;
    }
    return -ENOENT;
}

/* ---- the history query (results, events) ---- */

static int parse_time_arg(const char *key, const char *value, uint64_t *ret, struct opsd_error *err)
{
    if (!value || !*value)
        return opsd_errorf(err, -EINVAL,
                           "%s needs a value (RFC 3339 time or Unix seconds, e.g. %s=1700000000)",
                           key, key);
    if (clock_parse_time(value, ret) < 0)
        return opsd_errorf(err, -EINVAL,
                           "%s must be an RFC 3339 time (2026-11-20T15:00:00Z) or Unix seconds, "
                           "not '%.64s'",
                           key, value);
    return 0;
}

int web_history_query_parse(const struct web_query_arg *args, size_t n, uint64_t now_ms,
                            struct web_history_query *ret, struct opsd_error *err)
{
    struct web_history_query q = { 0 };
    bool has_since = false, has_until = false, has_limit = false;
    int r;

    q.limit = WEB_HISTORY_DEFAULT_LIMIT;
    for (size_t i = 0; i < n; i++) {
        const char *k = args[i].key, *v = args[i].value;

        if (strcmp(k, "since") == 0 || strcmp(k, "until") == 0) {
            bool is_since = k[0] == 's';
            bool *seen = is_since ? &has_since : &has_until;
            if (*seen)
                return opsd_errorf(err, -EINVAL, "%s is given more than once", k);
            r = parse_time_arg(k, v, is_since ? &q.since_ms : &q.until_ms, err);
            if (r < 0)
                return r;
            *seen = true;
        } else if (strcmp(k, "limit") == 0) {
            unsigned long lim;
            char *end;

            if (has_limit)
                return opsd_errorf(err, -EINVAL, "limit is given more than once");
            if (!v || !*v || strspn(v, "0123456789") != strlen(v) || strlen(v) > 9)
                return opsd_errorf(err, -EINVAL, "limit must be an integer between 1 and %d",
                                   OPSD_MAX_RESULTS_LIMIT);
            lim = strtoul(v, &end, 10);
            if (*end || lim < 1 || lim > OPSD_MAX_RESULTS_LIMIT)
                return opsd_errorf(err, -EINVAL, "limit must be an integer between 1 and %d",
                                   OPSD_MAX_RESULTS_LIMIT);
            q.limit = (unsigned)lim;
            has_limit = true;
        } else {
            return opsd_errorf(err, -EINVAL,
                               "unknown query parameter '%.64s' (expected since, until, limit)", k);
        }
    }
    if (!has_until)
        q.until_ms = now_ms;
    if (!has_since)
        q.since_ms = q.until_ms > WEB_HISTORY_DEFAULT_WINDOW_MS
                         ? q.until_ms - WEB_HISTORY_DEFAULT_WINDOW_MS
                         : 0;
    if (q.since_ms > q.until_ms)
        return opsd_errorf(err, -EINVAL, "since must not be later than until");
    *ret = q;
    return 0;
}

/* ---- heartbeat pings ---- */

bool web_token_valid(const char *s, size_t n)
{
    if (n < OPSD_MIN_TOKEN_LEN || n > OPSD_MAX_TOKEN_LEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

int web_ping_parse(const char *path, struct web_ping *ret)
{
    struct web_ping p = { 0 };
    const char *tok, *slash, *rest;
    size_t toklen;

    if (strncmp(path, "/ping/", 6) != 0)
        return -ENOENT;
    tok = path + 6;
    slash = strchr(tok, '/');
    toklen = slash ? (size_t)(slash - tok) : strlen(tok);
    if (!web_token_valid(tok, toklen))
        return -ENOENT;
    memcpy(p.token, tok, toklen);
    p.token[toklen] = '\0';

    p.kind = PROBE_PING_SUCCESS;
    if (slash) {
        rest = slash + 1;
        if (strcmp(rest, "start") == 0) {
            p.kind = PROBE_PING_START;
        } else if (strcmp(rest, "fail") == 0) {
            p.kind = PROBE_PING_FAIL;
        } else {
            size_t len = strlen(rest);
            int code = 0;

            if (len == 0 || len > 3 || strspn(rest, "0123456789") != len)
                return -EINVAL;
            for (size_t i = 0; i < len; i++)
                code = code * 10 + (rest[i] - '0');
            if (code > 255)
                return -EINVAL;
            p.kind = PROBE_PING_EXIT;
            p.exit_code = code;
        }
    }
    *ret = p;
    return 0;
}

const char *web_path_redact(const char *path, char *buf, size_t n)
{
    const char *tok, *slash;

    if (n == 0)
        return buf;
    if (strncmp(path, "/ping/", 6) != 0) {
        snprintf(buf, n, "%s", path);
        return buf;
    }
    tok = path + 6;
    slash = strchr(tok, '/');
    if (slash)
        snprintf(buf, n, "/ping/<token>%s", slash);
    else
        snprintf(buf, n, "/ping/<token>");
    return buf;
}
