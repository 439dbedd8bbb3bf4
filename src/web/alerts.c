/* The alerting API: alerts, their acknowledgement, resolution and review,
 * the review statistics, and the notification outbox with its delivery
 * history. Reads come from the store; writes go through the engine and are
 * answered once they are committed, except silences and reviews, which the
 * store writes durably at once. Every write needs a bearer token with the
 * write scope. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert.h"
#include "util/apitoken.h"
#include "util/clock.h"
#include "util/duration.h"
#include "util/xalloc.h"
#include "web/web-internal.h"

/* ---- JSON shapes (pure) ---- */

static json_t *str_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

static json_t *time_or_null(uint64_t ms)
{
    return ms ? json_integer((json_int_t)ms) : json_null();
}

json_t *web_alert_json(const struct store_alert *a)
{
    char fp[17];
    json_t *labels = a->labels_json ? json_loads(a->labels_json, 0, NULL) : NULL;
    json_t *o;

    snprintf(fp, sizeof(fp), "%016" PRIx64, a->fingerprint);
    if (!json_is_object(labels)) {
        json_decref(labels);
        labels = json_object();
    }
    o = json_pack("{s:I s:s s:o s:s s:s s:s s:o s:o s:o s:o s:I s:I s:o s:o s:o s:o s:o}", "id",
                  (json_int_t)a->id, "fingerprint", fp, "monitor", str_or_null(a->monitor),
                  "source", a->source ? a->source : "monitor", "severity",
                  alert_severity_to_string((enum alert_severity)a->severity), "state",
                  alert_state_to_string((enum alert_state)a->state), "labels", labels, "summary",
                  str_or_null(a->summary), "message", str_or_null(a->message), "suppressed",
                  str_or_null(a->suppressed), "starts_at_ms", (json_int_t)a->starts_ms,
                  "updated_at_ms", (json_int_t)a->updated_ms, "acked_at_ms",
                  time_or_null(a->acked_ms), "acked_by", str_or_null(a->acked_by), "resolved_at_ms",
                  time_or_null(a->resolved_ms), "review",
                  str_or_null(alert_review_to_string((enum alert_review)a->review)), "review_by",
                  str_or_null(a->review_by));
    json_object_set_new(o, "reviewed_at_ms", time_or_null(a->reviewed_ms));
    json_object_set_new(o, "review_comment", str_or_null(a->review_comment));
    json_object_set_new(o, "ends_at_ms", time_or_null(a->ends_ms));
    return o;
}

static const char *notif_state_name(int st)
{
    return st == STORE_NOTIF_PENDING     ? "pending"
           : st == STORE_NOTIF_DELIVERED ? "delivered"
           : st == STORE_NOTIF_FAILED    ? "failed"
                                         : "unknown";
}

json_t *web_notification_json(const struct store_notification *n, bool with_payload)
{
    json_t *ids = json_array();
    json_t *o;

    for (const char *p = n->alert_ids; p && *p;) {
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p)
            break;
        json_array_append_new(ids, json_integer(v));
        p = *end == ',' ? end + 1 : end;
    }
    o = json_pack("{s:I s:s s:s s:s s:s s:o s:s s:i s:I s:o s:o s:o s:o}", "id", (json_int_t)n->id,
                  "idempotency_key", n->idempotency_key, "receiver", n->receiver, "reason",
                  n->reason ? n->reason : "", "group_key", n->group_key ? n->group_key : "",
                  "alert_ids", ids, "state", notif_state_name(n->state), "attempts",
                  (int)n->attempts, "created_at_ms", (json_int_t)n->created_ms,
                  "next_attempt_at_ms",
                  n->state == STORE_NOTIF_PENDING ? json_integer((json_int_t)n->next_attempt_ms)
                                                  : json_null(),
                  "last_attempt_at_ms", time_or_null(n->last_attempt_ms), "done_at_ms",
                  time_or_null(n->done_ms), "last_error", str_or_null(n->last_error));
    if (with_payload && n->payload_json) {
        json_t *p = json_loads(n->payload_json, 0, NULL);
        if (p)
            json_object_set_new(o, "payload", p);
    }
    return o;
}

json_t *web_notif_attempt_json(const struct store_notif_attempt *a)
{
    return json_pack("{s:I s:b s:o s:f s:o}", "at_ms", (json_int_t)a->ts_ms, "ok", a->ok,
                     "http_status", a->http_status ? json_integer(a->http_status) : json_null(),
                     "took_ms", (double)a->took_us / 1000.0, "error", str_or_null(a->error));
}

static const char *silence_state(const struct store_silence *si, uint64_t now_ms)
{
    if (si->expired_ms || si->ends_ms <= now_ms)
        return "expired";
    return si->starts_ms > now_ms ? "pending" : "active";
}

json_t *web_silence_json(const struct store_silence *si, uint64_t now_ms)
{
    json_t *m = si->matchers_json ? json_loads(si->matchers_json, 0, NULL) : NULL;

    if (!json_is_array(m)) {
        json_decref(m);
        m = json_array();
    }
    return json_pack("{s:I s:s s:o s:I s:I s:o s:o s:I s:o}", "id", (json_int_t)si->id, "state",
                     silence_state(si, now_ms), "matchers", m, "starts_at_ms",
                     (json_int_t)si->starts_ms, "ends_at_ms", (json_int_t)si->ends_ms, "created_by",
                     str_or_null(si->author), "comment", str_or_null(si->comment), "created_at_ms",
                     (json_int_t)si->created_ms, "expired_at_ms", time_or_null(si->expired_ms));
}

/* A time as RFC 3339 text or epoch milliseconds. */
static int time_arg(json_t *v, const char *key, uint64_t *ret, struct opsd_error *err)
{
    if (json_is_integer(v) && json_integer_value(v) > 0) {
        *ret = (uint64_t)json_integer_value(v);
        return 0;
    }
    if (json_is_string(v) && clock_parse_time(json_string_value(v), ret) == 0)
        return 0;
    return opsd_errorf(err, -EINVAL,
                       "'%s' must be an RFC 3339 time (2026-12-05T02:00:00Z) or epoch ms", key);
}

int web_silence_parse(const char *body, size_t len, uint64_t now_ms, const char *author,
                      struct store_silence *ret, char **ret_matchers_json, json_t **ret_doc,
                      struct opsd_error *err)
{
    json_error_t je;
    json_t *doc = json_loadb(body ? body : "", body ? len : 0, JSON_REJECT_DUPLICATES, &je);
    json_t *ms, *out = NULL, *v;
    struct alert_route *check = NULL;
    struct store_silence si = { 0 };
    const char *k;
    size_t i;
    int r = 0;

    if (!json_is_object(doc)) {
        r = opsd_errorf(err, -EINVAL, "the body must be a JSON object (%s)",
                        doc ? "got another type" : je.text);
        goto out;
    }
    json_object_foreach(doc, k, v)
    {
        if (strcmp(k, "matchers") != 0 && strcmp(k, "starts_at") != 0 &&
            strcmp(k, "ends_at") != 0 && strcmp(k, "duration") != 0 && strcmp(k, "comment") != 0 &&
            strcmp(k, "created_by") != 0 && strcmp(k, "startsAt") != 0 &&
            strcmp(k, "endsAt") != 0 && strcmp(k, "createdBy") != 0) {
            r = opsd_errorf(err, -EINVAL,
                            "unknown field '%s' (known: matchers, starts_at, ends_at, duration, "
                            "comment, created_by)",
                            k);
            goto out;
        }
    }
    ms = json_object_get(doc, "matchers");
    if (!json_is_array(ms) || json_array_size(ms) == 0 || json_array_size(ms) > 32) {
        r = opsd_errorf(err, -EINVAL,
                        "'matchers' must be a list of 1 to 32 matchers, e.g. [\"monitor=db\"]");
        goto out;
    }
    out = json_array();
    check = alert_route_new();
    json_array_foreach(ms, i, v)
    {
        char *name = NULL, *value = NULL;
        enum alert_match_op op = ALERT_MATCH_EQ;

        if (json_is_string(v)) {
            r = alert_matcher_parse(json_string_value(v), &name, &op, &value, err);
            if (r < 0)
                goto out;
        } else if (json_is_object(v) && json_is_string(json_object_get(v, "name")) &&
                   json_is_string(json_object_get(v, "value"))) {
            bool re = json_is_true(json_object_get(v, "isRegex"));
            bool eq = !json_is_false(json_object_get(v, "isEqual"));
            name = strdup(json_string_value(json_object_get(v, "name")));
            value = strdup(json_string_value(json_object_get(v, "value")));
            op = re ? (eq ? ALERT_MATCH_RE : ALERT_MATCH_NRE)
                    : (eq ? ALERT_MATCH_EQ : ALERT_MATCH_NE);
        } else {
            r = opsd_errorf(err, -EINVAL,
                            "matchers[%zu] must be \"name=value\" or {\"name\", \"value\"}", i);
            goto out;
        }
        r = alert_route_add_matcher(check, name, op, value, err);
        if (r == 0)
            json_array_append_new(out, json_pack("{s:s s:s s:s}", "name", name, "op",
                                                 alert_match_op_to_string(op), "value", value));
        free(name);
        free(value);
        if (r < 0)
            goto out;
    }
    si.starts_ms = now_ms;
    v = json_object_get(doc, "starts_at");
    if (!v)
        v = json_object_get(doc, "startsAt");
    if (v && (r = time_arg(v, "starts_at", &si.starts_ms, err)) < 0)
        goto out;
    v = json_object_get(doc, "ends_at");
    if (!v)
        v = json_object_get(doc, "endsAt");
    if (v) {
        if ((r = time_arg(v, "ends_at", &si.ends_ms, err)) < 0)
            goto out;
    } else if (json_is_string(json_object_get(doc, "duration"))) {
        uint64_t d;
        if (duration_parse_ms(json_string_value(json_object_get(doc, "duration")), &d) < 0 ||
            d == 0) {
            r = opsd_errorf(err, -EINVAL, "'duration' must be a duration such as 2h or 30m");
            goto out;
        }
        si.ends_ms = si.starts_ms + d;
    } else {
        r = opsd_errorf(err, -EINVAL, "say how long: 'ends_at' or 'duration' (e.g. \"2h\")");
        goto out;
    }
    if (si.ends_ms <= si.starts_ms || si.ends_ms <= now_ms) {
        r = opsd_errorf(err, -EINVAL, "the silence must end after it starts and in the future");
        goto out;
    }
    v = json_object_get(doc, "comment");
    if (!json_is_string(v) || !*json_string_value(v) || json_string_length(v) > 1024) {
        r = opsd_errorf(err, -EINVAL,
                        "'comment' is required (why this is silenced; at most 1024 bytes)");
        goto out;
    }
    si.comment = json_string_value(v);
    v = json_object_get(doc, "created_by");
    if (!v)
        v = json_object_get(doc, "createdBy");
    si.author = json_is_string(v) && *json_string_value(v) ? json_string_value(v) : author;
    si.created_ms = now_ms;
    *ret_matchers_json = json_dumps(out, JSON_COMPACT);
    si.matchers_json = *ret_matchers_json;
    *ret = si;
    *ret_doc = doc;
    doc = NULL;
out:
    alert_route_free(check);
    json_decref(out);
    json_decref(doc);
    return r;
}

int web_review_parse(const char *body, size_t len, int *ret_review, const char **ret_comment,
                     json_t **ret_doc, struct opsd_error *err)
{
    json_error_t je;
    json_t *doc = json_loadb(body ? body : "", body ? len : 0, JSON_REJECT_DUPLICATES, &je);
    json_t *v, *c;
    enum alert_review rv;
    const char *k;
    int r = 0;

    if (!json_is_object(doc)) {
        r = opsd_errorf(err, -EINVAL, "the body must be a JSON object (%s)",
                        doc ? "got another type" : je.text);
        goto out;
    }
    json_object_foreach(doc, k, v)
    {
        if (strcmp(k, "review") != 0 && strcmp(k, "comment") != 0) {
            r = opsd_errorf(err, -EINVAL, "unknown field '%.64s' (known: review, comment)", k);
            goto out;
        }
    }
    v = json_object_get(doc, "review");
    if (!json_is_string(v) || alert_review_from_string(json_string_value(v), &rv) < 0) {
        r = opsd_errorf(
            err, -EINVAL, "'review' must be \"actionable\" or \"false_positive\"%s%.64s%s",
            json_is_string(v) ? ", not '" : "", json_is_string(v) ? json_string_value(v) : "",
            json_is_string(v) ? "'" : "");
        goto out;
    }
    c = json_object_get(doc, "comment");
    if (c && !json_is_null(c) &&
        (!json_is_string(c) || json_string_length(c) > STORE_MAX_REVIEW_COMMENT ||
         strlen(json_string_value(c)) != json_string_length(c))) {
        r = opsd_errorf(err, -EINVAL, "'comment' must be text of at most %d bytes",
                        STORE_MAX_REVIEW_COMMENT);
        goto out;
    }
    *ret_review = (int)rv;
    *ret_comment = json_is_string(c) && *json_string_value(c) ? json_string_value(c) : NULL;
    *ret_doc = doc;
    doc = NULL;
out:
    json_decref(doc);
    return r;
}

/* A since/until value: epoch ms, RFC 3339, or a duration back from now. */
static int stats_time(const char *key, const char *v, uint64_t now_ms, uint64_t *ret,
                      struct opsd_error *err)
{
    uint64_t x;

    /* Digits alone are ms, as in ?since= of the alert list, never the
     * Unix seconds clock_parse_time() would also take. 15 digits reach
     * the year 33658. */
    if (v && *v && strspn(v, "0123456789") == strlen(v)) {
        if (strlen(v) > 15)
            goto bad;
        *ret = strtoull(v, NULL, 10);
        return 0;
    }
    if (v && duration_parse_ms(v, &x) == 0) {
        *ret = x < now_ms ? now_ms - x : 0;
        return 0;
    }
    if (v && clock_parse_time(v, &x) == 0) {
        *ret = x;
        return 0;
    }
bad:
    return opsd_errorf(err, -EINVAL,
                       "'%s' must be a duration before now (7d, 12h), an RFC 3339 time "
                       "(2026-11-30T00:00:00Z) or epoch ms, not '%.64s'",
                       key, v ? v : "");
}

int web_alert_stats_query_parse(const struct web_query_arg *args, size_t n, uint64_t now_ms,
                                uint64_t *ret_since, uint64_t *ret_until, struct opsd_error *err)
{
    uint64_t since = 0, until = now_ms;
    bool has_since = false, has_until = false;
    int r;

    for (size_t i = 0; i < n; i++) {
        const char *k = args[i].key;
        bool is_since = strcmp(k, "since") == 0;

        if (!is_since && strcmp(k, "until") != 0)
            return opsd_errorf(err, -EINVAL, "unknown parameter '%.64s' (known: since, until)", k);
        if (is_since ? has_since : has_until)
            return opsd_errorf(err, -EINVAL, "'%s' is given more than once", k);
        r = stats_time(k, args[i].value, now_ms, is_since ? &since : &until, err);
        if (r < 0)
            return r;
        *(is_since ? &has_since : &has_until) = true;
    }
    if (!has_since)
        since = until > WEB_STATS_DEFAULT_WINDOW_MS ? until - WEB_STATS_DEFAULT_WINDOW_MS : 0;
    if (since > until)
        return opsd_errorf(err, -EINVAL, "'since' must not be later than 'until'");
    *ret_since = since;
    *ret_until = until;
    return 0;
}

static json_t *times_json(const struct alert_stats_times *t)
{
    if (t->n == 0)
        return json_pack("{s:i s:n s:n s:n}", "count", 0, "p50", "p90", "mean");
    return json_pack("{s:I s:I s:I s:I}", "count", (json_int_t)t->n, "p50", (json_int_t)t->p50_ms,
                     "p90", (json_int_t)t->p90_ms, "mean", (json_int_t)t->mean_ms);
}

static json_t *stats_row_json(const struct alert_stats_row *r)
{
    return json_pack("{s:I s:I s:I s:I s:I s:I s:I s:o s:o}", "count", (json_int_t)r->count,
                     "actionable", (json_int_t)r->actionable, "false_positive",
                     (json_int_t)r->false_positive, "unreviewed", (json_int_t)r->unreviewed,
                     "acknowledged", (json_int_t)r->acked, "resolved", (json_int_t)r->resolved,
                     "open", (json_int_t)r->open, "mtta_ms", times_json(&r->mtta), "ttr_ms",
                     times_json(&r->ttr));
}

json_t *web_alert_stats_json(const struct alert_stats *st)
{
    json_t *sev = json_object(), *weeks = json_array();
    char since[32], until[32];

    for (int i = 0; i < ALERT_STATS_SEVERITIES; i++)
        json_object_set_new(sev, alert_severity_to_string((enum alert_severity)(i + 1)),
                            stats_row_json(&st->by_severity[i]));
    for (size_t i = 0; i < st->n_weeks; i++) {
        const struct alert_stats_week *w = &st->weeks[i];
        json_t *ws = json_object();
        char name[16], day[32];

        for (int k = 0; k < ALERT_STATS_SEVERITIES; k++)
            json_object_set_new(ws, alert_severity_to_string((enum alert_severity)(k + 1)),
                                json_integer((json_int_t)w->by_severity[k]));
        snprintf(name, sizeof(name), "%04d-W%02d", w->iso_year, w->iso_week);
        /* A week starting before the epoch (1969-12-29) has no ms of its own to show. */
        clock_format_rfc3339(w->start_ms > 0 ? (uint64_t)w->start_ms : 0, day, sizeof(day));
        day[10] = '\0';
        json_array_append_new(weeks, json_pack("{s:s s:s s:I s:I s:o}", "week", name, "starts_on",
                                               w->start_ms >= 0 ? day : "1969-12-29",
                                               "starts_at_ms", (json_int_t)w->start_ms, "total",
                                               (json_int_t)w->total, "by_severity", ws));
    }
    clock_format_rfc3339(st->since_ms, since, sizeof(since));
    clock_format_rfc3339(st->until_ms, until, sizeof(until));
    return json_pack("{s:I s:s s:I s:s s:s s:o s:o s:o}", "since_ms", (json_int_t)st->since_ms,
                     "since", since, "until_ms", (json_int_t)st->until_ms, "until", until,
                     "percentiles", "nearest-rank", "total", stats_row_json(&st->total),
                     "by_severity", sev, "weeks", weeks);
}

/* ---- glue ---- */

int web_authorize(const struct web_ctx *ctx, const struct web_request *rq, int need, char *name,
                  size_t len, struct web_response *ret)
{
    struct store_token t;
    struct apitoken_record rec = { 0 };
    char hash[APITOKEN_HASH_SIZE];
    const char *h = rq->authorization, *tok;
    int r;

    if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
        web_response_error(
            ret, 401, "unauthorized",
            "this endpoint needs 'Authorization: Bearer <token>' (opsd token create)");
        ret->www_authenticate = "Bearer realm=\"opsd\"";
        return -EACCES;
    }
    for (tok = h + 7; *tok == ' '; tok++)
        ;
    if (apitoken_hash(tok, hash) < 0 || store_token_find(ctx->store, hash, &t, NULL) < 0) {
        web_response_error(ret, 401, "unauthorized", "the token is unknown or revoked");
        ret->www_authenticate = "Bearer realm=\"opsd\", error=\"invalid_token\"";
        return -EACCES;
    }
    snprintf(rec.hash, sizeof(rec.hash), "%s", t.hash);
    snprintf(rec.prefix, sizeof(rec.prefix), "%s", t.prefix ? t.prefix : "");
    rec.scope = (enum apitoken_scope)t.scope;
    snprintf(name, len, "%s", t.name ? t.name : "");
    /* Compared again in constant time: the lookup by hash only found the row. */
    r = apitoken_verify(&rec, tok, (enum apitoken_scope)need, NULL);
    if (r == -EPERM) {
        web_response_error(ret, 403, "forbidden", "the token's scope is '%s'; this needs '%s'",
                           apitoken_scope_to_string(rec.scope),
                           apitoken_scope_to_string((enum apitoken_scope)need));
        return r;
    }
    if (r < 0) {
        web_response_error(ret, 401, "unauthorized", "the token is unknown or revoked");
        ret->www_authenticate = "Bearer realm=\"opsd\", error=\"invalid_token\"";
        return r;
    }
    return 0;
}

struct collect {
    json_t *arr;
    bool payload;
};

static int add_alert(const struct store_alert *a, void *ud)
{
    json_array_append_new(((struct collect *)ud)->arr, web_alert_json(a));
    return 0;
}

static int add_notification(const struct store_notification *n, void *ud)
{
    struct collect *c = ud;

    json_array_append_new(c->arr, web_notification_json(n, c->payload));
    return 0;
}

static int add_attempt(const struct store_notif_attempt *a, void *ud)
{
    json_array_append_new(((struct collect *)ud)->arr, web_notif_attempt_json(a));
    return 0;
}

static int parse_uint(const char *key, const char *v, uint64_t max, uint64_t *ret,
                      struct opsd_error *err)
{
    char *end;
    unsigned long long x;

    if (!v || !*v)
        return opsd_errorf(err, -EINVAL, "'%s' needs a value", key);
    errno = 0;
    x = strtoull(v, &end, 10);
    if (errno || *end || *v == '-' || x > max)
        return opsd_errorf(err, -EINVAL, "'%s' must be a whole number up to %llu, not '%s'", key,
                           (unsigned long long)max, v);
    *ret = x;
    return 0;
}

static void get_alerts(const struct web_ctx *ctx, const struct web_request *rq,
                       struct web_response *ret)
{
    struct store_alert_filter f = { .limit = WEB_HISTORY_DEFAULT_LIMIT };
    struct opsd_error err = { 0 };
    struct collect c = { .arr = json_array() };
    uint64_t v = 0;
    int r = 0;

    for (size_t i = 0; i < rq->nargs && r >= 0; i++) {
        const char *k = rq->args[i].key, *val = rq->args[i].value;
        if (strcmp(k, "state") == 0) {
            enum alert_state st;
            if (val && strcmp(val, "open") == 0)
                f.open_only = true;
            else if (alert_state_from_string(val, &st) == 0)
                f.state = (int)st;
            else
                r = opsd_errorf(&err, -EINVAL,
                                "'state' must be open, firing, acknowledged, silenced or "
                                "resolved, not '%s'",
                                val ? val : "");
        } else if (strcmp(k, "monitor") == 0) {
            f.monitor = val;
        } else if (strcmp(k, "since") == 0) {
            r = parse_uint(k, val, UINT64_MAX / 4, &f.since_ms, &err);
        } else if (strcmp(k, "until") == 0) {
            r = parse_uint(k, val, UINT64_MAX / 4, &f.until_ms, &err);
        } else if (strcmp(k, "limit") == 0) {
            r = parse_uint(k, val, OPSD_MAX_RESULTS_LIMIT, &v, &err);
            f.limit = (unsigned)v;
        } else {
            r = opsd_errorf(&err, -EINVAL,
                            "unknown parameter '%s' (known: state, monitor, since, until, limit)",
                            k);
        }
    }
    if (r < 0) {
        json_decref(c.arr);
        web_response_error(ret, 400, "bad_request", "%s", err.msg);
        return;
    }
    r = store_alerts(ctx->store, &f, add_alert, &c, &err);
    if (r < 0) {
        json_decref(c.arr);
        web_response_error(ret, 500, "store_error", "%s", err.msg);
        return;
    }
    web_respond_json(ret, 200, json_pack("{s:o}", "alerts", c.arr));
}

static void get_alert(const struct web_ctx *ctx, int64_t id, struct web_response *ret)
{
    struct store_alert a;
    struct opsd_error err = { 0 };
    struct store_notification_filter nf = { .alert_id = id, .oldest_first = true };
    struct collect c = { .arr = json_array() };
    json_t *o;
    int r = store_alert_get(ctx->store, id, &a, &err);

    if (r == -ENOENT) {
        json_decref(c.arr);
        web_response_error(ret, 404, "not_found", "no alert %" PRId64, id);
        return;
    }
    if (r < 0) {
        json_decref(c.arr);
        web_response_error(ret, 500, "store_error", "%s", err.msg);
        return;
    }
    o = web_alert_json(&a); /* before the next store call: a's strings are scratch */
    (void)store_notifications(ctx->store, &nf, add_notification, &c, NULL);
    json_object_set_new(o, "notifications", c.arr);
    web_respond_json(ret, 200, json_pack("{s:o}", "alert", o));
}

static void post_alert(const struct web_ctx *ctx, const struct web_match *m,
                       const struct web_request *rq, struct web_response *ret)
{
    char who[OPSD_MAX_NAME + 1];
    bool ack = m->route == WEB_ROUTE_ALERT_ACK;
    int r;

    if (web_authorize(ctx, rq, APITOKEN_SCOPE_WRITE, who, sizeof(who), ret) < 0)
        return;
    r = ack ? sched_alert_ack(ctx->sched, m->id, who) : sched_alert_resolve(ctx->sched, m->id, who);
    switch (r) {
    case 0:
        web_respond_json(ret, 200,
                         json_pack("{s:I s:s s:s}", "id", (json_int_t)m->id, "state",
                                   ack ? "acknowledged" : "resolved", "by", who));
        ret->when_durable = true;
        return;
    case -ENOENT: {
        /* The manager forgets resolved alerts; the store still knows them,
         * and "already resolved" tells the operator more than "not found". */
        struct store_alert a;
        if (store_alert_get(ctx->store, m->id, &a, NULL) == 0 && a.state == STORE_ALERT_RESOLVED)
            web_response_error(ret, 409, "conflict", "alert %" PRId64 " is already resolved",
                               m->id);
        else
            web_response_error(ret, 404, "not_found", "no open alert %" PRId64, m->id);
        return;
    }
    case -EALREADY:
        web_response_error(ret, 409, "conflict", "alert %" PRId64 " is already resolved", m->id);
        return;
    case -EINVAL:
        web_response_error(ret, 409, "conflict",
                           "alert %" PRId64 " is silenced: nothing was sent to acknowledge", m->id);
        return;
    default:
        web_response_error(ret, 503, "unavailable", "opsd is stopping");
        return;
    }
}

static void post_review(const struct web_ctx *ctx, int64_t id, const struct web_request *rq,
                        struct web_response *ret)
{
    char who[OPSD_MAX_NAME + 1];
    struct opsd_error err = { 0 };
    struct store_review rv = { .by = who, .at_ms = clock_now_ms(ctx->clock) };
    json_t *doc = NULL;
    int r;

    if (web_authorize(ctx, rq, APITOKEN_SCOPE_WRITE, who, sizeof(who), ret) < 0)
        return;
    if (web_review_parse(rq->body, rq->body_len, &rv.review, &rv.comment, &doc, &err) < 0) {
        web_response_error(ret, 400, "bad_request", "%s", err.msg);
        return;
    }
    /* Straight to the store, durably, like a silence: the engine's copy of
     * the alert leaves a newer review alone (store_alert_set_review()). */
    r = store_alert_set_review(ctx->store, id, &rv, &err);
    if (r == -ENOENT)
        web_response_error(ret, 404, "not_found", "no alert %" PRId64, id);
    else if (r < 0)
        web_response_error(ret, 500, "store_error", "%s", err.msg);
    else
        web_respond_json(ret, 200,
                         json_pack("{s:I s:s s:s s:o s:I}", "id", (json_int_t)id, "review",
                                   alert_review_to_string((enum alert_review)rv.review), "by", who,
                                   "comment", str_or_null(rv.comment), "reviewed_at_ms",
                                   (json_int_t)rv.at_ms));
    json_decref(doc);
}

struct timings {
    struct alert_stats_alert *v;
    size_t n, cap;
};

static int add_timing(const struct store_alert_timing *t, void *ud)
{
    struct timings *c = ud;

    if (c->n == OPSD_MAX_STATS_ALERTS)
        return -E2BIG;
    xgrow((void **)&c->v, &c->cap, c->n + 1, sizeof(*c->v));
    c->v[c->n++] = (struct alert_stats_alert){
        .severity = t->severity,
        .state = (enum alert_state)t->state,
        .review = (enum alert_review)t->review,
        .starts_ms = t->starts_ms,
        .acked_ms = t->acked_ms,
        .resolved_ms = t->resolved_ms,
    };
    return 0;
}

static void get_alert_stats(const struct web_ctx *ctx, const struct web_request *rq,
                            struct web_response *ret)
{
    struct opsd_error err = { 0 };
    struct timings c = { 0 };
    struct alert_stats st;
    uint64_t since = 0, until = 0;
    int r;

    if (web_alert_stats_query_parse(rq->args, rq->nargs, clock_now_ms(ctx->clock), &since, &until,
                                    &err) < 0) {
        web_response_error(ret, 400, "bad_request", "%s", err.msg);
        return;
    }
    r = store_alert_timings(ctx->store, since, until, add_timing, &c, &err);
    if (r == -E2BIG)
        web_response_error(ret, 400, "bad_request",
                           "more than %d alerts started in the window: narrow it with since "
                           "and until",
                           OPSD_MAX_STATS_ALERTS);
    else if (r < 0)
        web_response_error(ret, 500, "store_error", "%s", err.msg);
    else if (alert_stats_compute(c.v, c.n, since, until, &st) < 0)
        web_response_error(ret, 400, "bad_request", "'since' must not be later than 'until'");
    else {
        web_respond_json(ret, 200, web_alert_stats_json(&st));
        alert_stats_release(&st);
    }
    free(c.v);
}

static void get_notifications(const struct web_ctx *ctx, const struct web_request *rq,
                              struct web_response *ret)
{
    struct store_notification_filter f = { .limit = WEB_HISTORY_DEFAULT_LIMIT };
    struct opsd_error err = { 0 };
    struct collect c = { .arr = json_array() };
    uint64_t v = 0;
    int r = 0;

    for (size_t i = 0; i < rq->nargs && r >= 0; i++) {
        const char *k = rq->args[i].key, *val = rq->args[i].value;
        if (strcmp(k, "state") == 0) {
            if (val && strcmp(val, "pending") == 0)
                f.state = STORE_NOTIF_PENDING;
            else if (val && strcmp(val, "delivered") == 0)
                f.state = STORE_NOTIF_DELIVERED;
            else if (val && strcmp(val, "failed") == 0)
                f.state = STORE_NOTIF_FAILED;
            else
                r = opsd_errorf(&err, -EINVAL,
                                "'state' must be pending, delivered or failed, not '%s'",
                                val ? val : "");
        } else if (strcmp(k, "alert") == 0) {
            r = parse_uint(k, val, INT64_MAX, &v, &err);
            f.alert_id = (int64_t)v;
        } else if (strcmp(k, "since") == 0) {
            r = parse_uint(k, val, UINT64_MAX / 4, &f.since_ms, &err);
        } else if (strcmp(k, "limit") == 0) {
            r = parse_uint(k, val, OPSD_MAX_RESULTS_LIMIT, &v, &err);
            f.limit = (unsigned)v;
        } else {
            r = opsd_errorf(&err, -EINVAL,
                            "unknown parameter '%s' (known: state, alert, since, limit)", k);
        }
    }
    if (r < 0) {
        json_decref(c.arr);
        web_response_error(ret, 400, "bad_request", "%s", err.msg);
        return;
    }
    r = store_notifications(ctx->store, &f, add_notification, &c, &err);
    if (r < 0) {
        json_decref(c.arr);
        web_response_error(ret, 500, "store_error", "%s", err.msg);
        return;
    }
    {
        uint64_t delivered, failed, pending;
        sched_alerting_stats(ctx->sched, &delivered, &failed, &pending);
        web_respond_json(ret, 200,
                         json_pack("{s:o s:{s:I s:I s:I}}", "notifications", c.arr, "since_start",
                                   "delivered", (json_int_t)delivered, "failed", (json_int_t)failed,
                                   "pending", (json_int_t)pending));
    }
}

struct one_ctx {
    json_t *n;
};

static int take_one(const struct store_notification *n, void *ud)
{
    struct one_ctx *c = ud;

    if (!c->n)
        c->n = web_notification_json(n, true);
    return 1;
}

static void get_notification(const struct web_ctx *ctx, int64_t id, struct web_response *ret)
{
    struct one_ctx c = { 0 };
    struct collect att = { .arr = json_array() };
    struct opsd_error err = { 0 };
    int r;

    r = store_notification_get(ctx->store, id, take_one, &c, &err);
    if (r < 0 || !c.n) {
        json_decref(att.arr);
        if (r < 0 && r != -ENOENT)
            web_response_error(ret, 500, "store_error", "%s", err.msg);
        else
            web_response_error(ret, 404, "not_found", "no notification %" PRId64, id);
        return;
    }
    (void)store_notif_attempts(ctx->store, id, add_attempt, &att, NULL);
    json_object_set_new(c.n, "attempts_history", att.arr);
    web_respond_json(ret, 200, json_pack("{s:o}", "notification", c.n));
}

struct sil_list {
    json_t *arr;
    uint64_t now;
    int64_t want; /* one id, or 0 for all */
};

static int add_silence(const struct store_silence *si, void *ud)
{
    struct sil_list *c = ud;

    if (!c->want || c->want == si->id)
        json_array_append_new(c->arr, web_silence_json(si, c->now));
    return 0;
}

static void get_silences(const struct web_ctx *ctx, const struct web_request *rq, int64_t one,
                         struct web_response *ret)
{
    struct sil_list c = { .arr = json_array(), .now = clock_now_ms(ctx->clock), .want = one };
    struct opsd_error err = { 0 };
    bool all = one != 0;

    for (size_t i = 0; i < rq->nargs; i++) {
        if (strcmp(rq->args[i].key, "all") == 0 &&
            (!rq->args[i].value || strcmp(rq->args[i].value, "true") == 0)) {
            all = true;
        } else {
            json_decref(c.arr);
            web_response_error(ret, 400, "bad_request", "unknown parameter '%s' (known: all)",
                               rq->args[i].key);
            return;
        }
    }
    if (store_silences(ctx->store, all ? 0 : c.now, add_silence, &c, &err) < 0) {
        json_decref(c.arr);
        web_response_error(ret, 500, "store_error", "%s", err.msg);
        return;
    }
    if (one) {
        if (json_array_size(c.arr) == 0) {
            json_decref(c.arr);
            web_response_error(ret, 404, "not_found", "no silence %" PRId64, one);
            return;
        }
        web_respond_json(ret, 200, json_pack("{s:O}", "silence", json_array_get(c.arr, 0)));
        json_decref(c.arr);
        return;
    }
    web_respond_json(ret, 200, json_pack("{s:o}", "silences", c.arr));
}

static void post_silence(const struct web_ctx *ctx, const struct web_request *rq,
                         struct web_response *ret)
{
    char who[OPSD_MAX_NAME + 1];
    struct store_silence si;
    struct opsd_error err = { 0 };
    char *mj = NULL;
    json_t *doc = NULL;
    int64_t id = 0;
    uint64_t now = clock_now_ms(ctx->clock);

    if (web_authorize(ctx, rq, APITOKEN_SCOPE_WRITE, who, sizeof(who), ret) < 0)
        return;
    if (web_silence_parse(rq->body, rq->body_len, now, who, &si, &mj, &doc, &err) < 0) {
        web_response_error(ret, 400, "bad_request", "%s", err.msg);
        return;
    }
    if (store_silence_add(ctx->store, &si, &id, &err) < 0) {
        web_response_error(ret, 500, "store_error", "%s", err.msg);
    } else {
        si.id = id;
        web_respond_json(ret, 201, json_pack("{s:o}", "silence", web_silence_json(&si, now)));
        /* durable already; muting what it matches is pending like any change */
        (void)sched_silences_reload(ctx->sched, NULL);
        ret->when_durable = true;
    }
    free(mj);
    json_decref(doc);
}

static void delete_silence(const struct web_ctx *ctx, const struct web_request *rq, int64_t id,
                           struct web_response *ret)
{
    char who[OPSD_MAX_NAME + 1];
    struct opsd_error err = { 0 };
    int r;

    if (web_authorize(ctx, rq, APITOKEN_SCOPE_WRITE, who, sizeof(who), ret) < 0)
        return;
    r = store_silence_expire(ctx->store, id, clock_now_ms(ctx->clock), &err);
    if (r == -ENOENT) {
        web_response_error(ret, 404, "not_found", "no silence %" PRId64, id);
        return;
    }
    if (r == -EALREADY) {
        web_response_error(ret, 409, "conflict", "silence %" PRId64 " has already ended", id);
        return;
    }
    if (r < 0) {
        web_response_error(ret, 500, "store_error", "%s", err.msg);
        return;
    }
    (void)sched_silences_reload(ctx->sched, NULL);
    web_respond_json(
        ret, 200, json_pack("{s:I s:s s:s}", "id", (json_int_t)id, "state", "expired", "by", who));
    ret->when_durable = true;
}

void web_alerts_handle(const struct web_ctx *ctx, const struct web_match *m,
                       const struct web_request *rq, struct web_response *ret)
{
    switch (m->route) {
    case WEB_ROUTE_ALERTS:
        get_alerts(ctx, rq, ret);
        return;
    case WEB_ROUTE_ALERT:
        get_alert(ctx, m->id, ret);
        return;
    case WEB_ROUTE_ALERT_ACK:
    case WEB_ROUTE_ALERT_RESOLVE:
        post_alert(ctx, m, rq, ret);
        return;
    case WEB_ROUTE_ALERT_REVIEW:
        post_review(ctx, m->id, rq, ret);
        return;
    case WEB_ROUTE_ALERT_STATS:
        get_alert_stats(ctx, rq, ret);
        return;
    case WEB_ROUTE_NOTIFICATIONS:
        get_notifications(ctx, rq, ret);
        return;
    case WEB_ROUTE_NOTIFICATION:
        get_notification(ctx, m->id, ret);
        return;
    case WEB_ROUTE_SILENCES:
        if (strcmp(rq->method, "POST") == 0)
            post_silence(ctx, rq, ret);
        else
            get_silences(ctx, rq, 0, ret);
        return;
    case WEB_ROUTE_SILENCE:
        if (strcmp(rq->method, "DELETE") == 0)
            delete_silence(ctx, rq, m->id, ret);
        else
            get_silences(ctx, rq, m->id, ret);
        return;
    default:
        web_response_error(ret, 404, "not_found", "no such endpoint");
        return;
    }
}
