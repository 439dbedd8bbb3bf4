/* Monitor logic without I/O: names, the state machine, check spreading,
 * and judging what a probe observed. */
#include "probe/probe.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "util/xalloc.h"

static const char *const status_names[] = { "ok", "warning", "critical", "unknown" };
static const char *const state_names[] = { "pending", "up", "down", "paused" };

const char *probe_status_to_string(enum probe_status s)
{
    return (unsigned)s < 4 ? status_names[s] : "unknown";
}

const char *probe_state_to_string(enum probe_state s)
{
    return (unsigned)s < 4 ? state_names[s] : "pending";
}

int probe_state_from_string(const char *s, enum probe_state *ret)
{
    for (unsigned i = 0; i < 4; i++) {
        if (strcmp(s, state_names[i]) == 0) {
            *ret = (enum probe_state)i;
            return 0;
        }
    }
    return -EINVAL;
}

void probe_result_init(struct probe_result *r, uint64_t started_ms)
{
    memset(r, 0, sizeof(*r));
    r->started_ms = started_ms;
    r->status = PROBE_UNKNOWN;
    r->dns_us = r->connect_us = r->tls_us = r->ttfb_us = PROBE_NO_VALUE;
    r->total_us = 0;
    r->http_status = PROBE_NO_VALUE;
    r->cert_days = PROBE_NO_VALUE;
}

void probe_last_set(struct probe_last *l, const struct probe_result *r)
{
    char *msg = xstrdup(r->message);

    free(l->message);
    *l = (struct probe_last){
        .started_ms = r->started_ms,
        .status = r->status,
        .dns_us = r->dns_us,
        .connect_us = r->connect_us,
        .tls_us = r->tls_us,
        .ttfb_us = r->ttfb_us,
        .total_us = r->total_us,
        .http_status = r->http_status,
        .cert_days = r->cert_days,
        .message = msg,
    };
}

void probe_last_copy(struct probe_last *dst, const struct probe_last *src)
{
    char *msg = xstrdup(src->message);

    free(dst->message);
    *dst = *src;
    dst->message = msg;
}

void probe_last_clear(struct probe_last *l)
{
    free(l->message);
    l->message = NULL;
}

void probe_sm_init(struct probe_sm *sm, enum probe_state state, uint64_t since_ms)
{
    memset(sm, 0, sizeof(*sm));
    sm->state = state;
    sm->since_ms = since_ms;
}

bool probe_sm_feed(struct probe_sm *sm, bool ok, bool forced, unsigned confirm, uint64_t now_ms,
                   enum probe_state *ret_from)
{
    enum probe_state target = ok ? PROBE_STATE_UP : PROBE_STATE_DOWN;
    enum probe_state from = sm->state;

    if (sm->state == PROBE_STATE_PAUSED)
        return false;
    if (ok) {
        sm->consec_ok++;
        sm->consec_fail = 0;
    } else {
        sm->consec_fail++;
        sm->consec_ok = 0;
    }
    if (sm->state == target)
        return false;
    if (confirm < 1)
        confirm = 1;
    if (!forced && (ok ? sm->consec_ok : sm->consec_fail) < confirm)
        return false;
    sm->state = target;
    sm->since_ms = now_ms;
    if (ret_from)
        *ret_from = from;
    return true;
}

/* FNV-1a then a splitmix64 finaliser: FNV alone leaves names that differ only
 * in a trailing digit clustered together. */
static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

uint64_t probe_spread_offset(const char *name, uint64_t interval_ms, uint64_t quantum_ms)
{
    uint64_t off;

    if (!interval_ms)
        return 0;
    off = name_hash(name) % interval_ms;
    if (quantum_ms && interval_ms > quantum_ms)
        off -= off % quantum_ms;
    return off;
}

uint64_t probe_next_slot(uint64_t now_ms, uint64_t interval_ms, uint64_t offset_ms)
{
    uint64_t base, t;

    if (!interval_ms)
        return now_ms;
    offset_ms %= interval_ms;
    base = now_ms - now_ms % interval_ms;
    t = base + offset_ms;
    if (t < now_ms)
        t += interval_ms;
    return t;
}

static bool status_expected(const struct conf_monitor *m, long status)
{
    if (!m->n_expect_status)
        return status >= 200 && status < 400;
    for (size_t i = 0; i < m->n_expect_status; i++)
        if (m->expect_status[i] == status)
            return true;
    return false;
}

static void expected_list(const struct conf_monitor *m, char *buf, size_t n)
{
    size_t off = 0;

    if (!m->n_expect_status) {
        snprintf(buf, n, "2xx or 3xx");
        return;
    }
    buf[0] = '\0';
    for (size_t i = 0; i < m->n_expect_status && off + 8 < n; i++)
        off += (size_t)snprintf(buf + off, n - off, "%s%d", i ? ", " : "", m->expect_status[i]);
}

static const char *curl_reason(const struct probe_http_obs *obs, char *buf, size_t n)
{
    const char *e = obs->curl_error && *obs->curl_error ? obs->curl_error
                                                        : curl_easy_strerror(obs->curl_code);
    switch (obs->curl_code) {
    case CURLE_OPERATION_TIMEDOUT:
        snprintf(buf, n, "timeout: %s", e);
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
        snprintf(buf, n, "dns: %s", e);
        break;
    case CURLE_COULDNT_CONNECT:
        snprintf(buf, n, "connect: %s", e);
        break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
        snprintf(buf, n, "tls: %s", e);
        break;
    case CURLE_TOO_MANY_REDIRECTS:
        snprintf(buf, n, "redirects: %s", e);
        break;
    default:
        snprintf(buf, n, "%s", e);
    }
    return buf;
}

void probe_http_evaluate(const struct conf_monitor *m, const struct probe_http_obs *obs,
                         struct probe_result *r)
{
    char tmp[OPSD_MAX_MESSAGE];
    int32_t ms;

    r->dns_us = obs->dns_us;
    r->connect_us = obs->connect_us;
    r->tls_us = obs->tls_us;
    r->ttfb_us = obs->ttfb_us;
    r->total_us = obs->total_us;
    r->cert_days = obs->cert_days;
    r->http_status = obs->http_status > 0 ? (int32_t)obs->http_status : PROBE_NO_VALUE;
    ms = obs->total_us / 1000;

    if (obs->curl_code != 0) {
        r->status = PROBE_CRITICAL;
        snprintf(r->message, sizeof(r->message), "%s", curl_reason(obs, tmp, sizeof(tmp)));
        return;
    }
    if (!status_expected(m, obs->http_status)) {
        expected_list(m, tmp, sizeof(tmp));
        r->status = PROBE_CRITICAL;
        snprintf(r->message, sizeof(r->message), "HTTP %ld (expected %s)", obs->http_status, tmp);
        return;
    }
    /* memmem, not strstr: a body may hold NUL bytes before the text. The
     * expected text is not echoed: it may come from ${VAR}, and results are
     * served to anyone who can read the API. */
    if (m->body_contains && (!obs->body || !memmem(obs->body, obs->body_len, m->body_contains,
                                                   strlen(m->body_contains)))) {
        r->status = PROBE_CRITICAL;
        snprintf(r->message, sizeof(r->message),
                 "HTTP %ld: expect.body_contains not found in the body%s", obs->http_status,
                 obs->body_truncated ? " (searched the first 64 KiB)" : "");
        return;
    }
    if (m->n_expect_json) {
        json_error_t jerr;
        json_t *doc = obs->body ? json_loadb(obs->body, obs->body_len, JSON_DECODE_ANY, &jerr)
                                : NULL;

        if (!doc) {
            r->status = PROBE_CRITICAL;
            snprintf(r->message, sizeof(r->message), "HTTP %ld: the body is not JSON (%s%s)",
                     obs->http_status, obs->body ? jerr.text : "empty",
                     obs->body_truncated ? "; only the first 64 KiB are read" : "");
            return;
        }
        for (size_t i = 0; i < m->n_expect_json; i++) {
            struct probe_json_assert a;
            char why[OPSD_MAX_MESSAGE - 32];
            bool ok;

            if (probe_json_assert_parse(m->expect_json[i], &a, NULL) < 0)
                continue; /* checked when the config was loaded */
            ok = probe_json_assert_eval(&a, doc, why, sizeof(why));
            probe_json_assert_free(&a);
            if (!ok) {
                json_decref(doc);
                r->status = PROBE_CRITICAL;
                snprintf(r->message, sizeof(r->message), "HTTP %ld: %s", obs->http_status, why);
                return;
            }
        }
        json_decref(doc);
    }
    if (m->max_latency_ms && (uint64_t)obs->total_us > m->max_latency_ms * 1000) {
        r->status = PROBE_CRITICAL;
        snprintf(r->message, sizeof(r->message), "HTTP %ld in %" PRId32 " ms, above max_latency %" PRIu64 " ms",
                 obs->http_status, ms, m->max_latency_ms);
        return;
    }
    if (m->degraded_latency_ms && (uint64_t)obs->total_us > m->degraded_latency_ms * 1000) {
        r->status = PROBE_WARNING;
        snprintf(r->message, sizeof(r->message),
                 "HTTP %ld in %" PRId32 " ms, above degraded_latency %" PRIu64 " ms",
                 obs->http_status, ms, m->degraded_latency_ms);
        return;
    }
    r->status = PROBE_OK;
    snprintf(r->message, sizeof(r->message), "HTTP %ld in %" PRId32 " ms", obs->http_status, ms);
}

uint64_t probe_heartbeat_deadline(const struct conf_monitor *m, uint64_t last_success_ms)
{
    return last_success_ms + m->period_ms + m->grace_ms;
}
