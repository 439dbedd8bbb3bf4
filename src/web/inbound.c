/* Inbound alerts: opsd where Alertmanager or PagerDuty sits. Four shapes
 * come in (opsd's own, Prometheus' Alertmanager API v2 push, Alertmanager's
 * webhook v4 and PagerDuty's Events API v2) and all become the same fire,
 * resolve or acknowledge through sched_alert_inbound(), so they route,
 * group and escalate like monitor alerts.
 *
 * A push is parsed and validated whole before anything is applied: one bad
 * alert in a batch of a thousand rejects the batch and changes nothing. The
 * parser is pure (tests/unit/test-web.c, tests/fuzz/fuzz-web.c); the glue at
 * the bottom authenticates, applies and answers once the change is stored. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "alert/alert.h"
#include "util/apitoken.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/xalloc.h"
#include "web/web-internal.h"

#define MAX_LABEL_VALUE 1024 /* bytes of one label value */
#define MAX_DEDUP_KEY 255    /* PagerDuty's limit */
#define MAX_ROUTING_KEY 128  /* an opsd token is 48 characters */
#define MAX_PD_DETAILS 2048  /* bytes of custom_details kept in the message */
/* Longer texts are cut, not refused: Alertmanager retries a refused batch
 * for ever, so one long description would keep every alert in it out. The
 * summary matches PagerDuty's limit; either is stored with the alert and
 * copied into every notification about it. */
#define MAX_SUMMARY 1024
#define MAX_MESSAGE 8192

/* ---- parsing (pure) ---- */

bool web_inbound_path(const char *path)
{
    return path &&
           (strcmp(path, "/api/v1/alerts") == 0 || strcmp(path, "/api/v2/alerts") == 0 ||
            strcmp(path, "/api/v1/inbound/alertmanager") == 0 || strcmp(path, "/v2/enqueue") == 0);
}

int web_inbound_severity(const char *s, enum alert_severity *ret)
{
    /* the names Prometheus rules and PagerDuty use besides opsd's own */
    static const struct {
        const char *name;
        enum alert_severity sev;
    } aliases[] = {
        { "page", ALERT_SEV_CRITICAL },
        { "error", ALERT_SEV_HIGH },
        { "warning", ALERT_SEV_MEDIUM },
        { "info", ALERT_SEV_LOW },
    };

    if (!s)
        return -EINVAL;
    if (alert_severity_from_string(s, ret) == 0)
        return 0;
    for (size_t i = 0; i < ARRAY_SIZE(aliases); i++)
        if (strcasecmp(s, aliases[i].name) == 0) {
            *ret = aliases[i].sev;
            return 0;
        }
    return -EINVAL;
}

static void alert_clear(struct web_inbound_alert *a)
{
    alert_labels_clear(&a->labels);
    free(a->summary);
    free(a->message);
}

void web_inbound_clear(struct web_inbound *in)
{
    if (!in)
        return;
    for (size_t i = 0; i < in->n; i++)
        alert_clear(&in->v[i]);
    free(in->v);
    free(in->routing_key);
    free(in->dedup_key);
    *in = (struct web_inbound){ 0 };
}

/* A string field: absent or null leaves *ret NULL; anything but a string is
 * an error. Text over max bytes (0: no limit) is cut back to a UTF-8
 * character boundary and ends with an ellipsis, so it stays valid text
 * and the cut shows. */
static int opt_string(json_t *o, const char *key, const char *at, size_t max, char **ret,
                      struct opsd_error *err)
{
    static const char ellipsis[] = "\xe2\x80\xa6"; /* U+2026 */
    json_t *v = json_object_get(o, key);
    size_t n;

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return opsd_errorf(err, -EINVAL, "%s'%s' must be a string", at, key);
    free(*ret);
    n = json_string_length(v);
    if (max == 0 || n <= max) {
        *ret = xstrdup(json_string_value(v));
        return 0;
    }
    n = max - (sizeof(ellipsis) - 1);
    while (n > 0 && ((unsigned char)json_string_value(v)[n] & 0xc0) == 0x80)
        n--;
    *ret = xmalloc(n + sizeof(ellipsis));
    memcpy(*ret, json_string_value(v), n);
    memcpy(*ret + n, ellipsis, sizeof(ellipsis));
    return 0;
}

/* A time: RFC 3339 text or epoch ms; absent, null and Go's zero time
 * ("0001-01-01T00:00:00Z", what Alertmanager sends for "no end") are 0. */
static int opt_time(json_t *o, const char *key, const char *at, uint64_t *ret,
                    struct opsd_error *err)
{
    json_t *v = json_object_get(o, key);

    *ret = 0;
    if (!v || json_is_null(v))
        return 0;
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *ret = (uint64_t)json_integer_value(v);
        return 0;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (strncmp(s, "0001-01-01T", 11) == 0 || clock_parse_time(s, ret) == 0)
            return 0;
    }
    return opsd_errorf(err, -EINVAL,
                       "%s'%s' must be an RFC 3339 time (2026-12-05T02:00:00Z) or epoch ms", at,
                       key);
}

/* The labels object into ls (which may already hold some). */
static int parse_labels(json_t *o, const char *at, struct alert_labels *ls, struct opsd_error *err)
{
    const char *k;
    json_t *v;

    if (!json_is_object(o))
        return opsd_errorf(err, -EINVAL,
                           "%s'labels' must be an object of label names to string values", at);
    if (json_object_size(o) > OPSD_MAX_LABELS)
        return opsd_errorf(err, -E2BIG, "%s'labels' has %zu labels; at most %d are taken", at,
                           json_object_size(o), OPSD_MAX_LABELS);
    json_object_foreach(o, k, v)
    {
        int r;

        if (!json_is_string(v))
            return opsd_errorf(err, -EINVAL, "%slabel '%.64s' must have a string value", at, k);
        if (strlen(k) > OPSD_MAX_NAME || json_string_length(v) > MAX_LABEL_VALUE)
            return opsd_errorf(err, -EINVAL,
                               "%slabel '%.64s' is too long (names up to %d bytes, values up "
                               "to %d)",
                               at, k, OPSD_MAX_NAME, MAX_LABEL_VALUE);
        r = alert_labels_set(ls, k, json_string_value(v));
        if (r == -EINVAL)
            return opsd_errorf(err, r,
                               "%s'%.64s' is not a label name (letters, digits and _, not "
                               "starting with a digit)",
                               at, k);
        if (r < 0)
            return opsd_errorf(err, r, "%stoo many labels", at);
    }
    return 0;
}

/* Sets the severity label to opsd's name for sev, checks the set is not
 * empty and that it fits a stored alert row. */
static int finish_labels(struct web_inbound_alert *a, const char *at, struct opsd_error *err)
{
    json_t *o;
    size_t n;

    if (alert_labels_set(&a->labels, "severity", alert_severity_to_string(a->severity)) < 0)
        return opsd_errorf(err, -E2BIG, "%stoo many labels", at);
    if (a->labels.n < 2)
        return opsd_errorf(err, -EINVAL,
                           "%san alert needs at least one label besides severity (e.g. "
                           "alertname)",
                           at);
    o = json_object();
    for (size_t i = 0; i < a->labels.n; i++)
        json_object_set_new(o, a->labels.v[i].name, json_string(a->labels.v[i].value));
    n = json_dumpb(o, NULL, 0, JSON_COMPACT);
    json_decref(o);
    if (n == 0 || n > OPSD_MAX_ALERT_JSON)
        return opsd_errorf(err, -E2BIG, "%sthe labels take %zu bytes as JSON; at most %d", at, n,
                           OPSD_MAX_ALERT_JSON);
    return 0;
}

/* The end of parsing one alert of the label-keyed shapes (all but
 * PagerDuty): a resolve that named no severity matches any, a start in the
 * future is now, then finish_labels(). */
static int finish_alert(struct web_inbound_alert *a, bool severity_given, uint64_t now,
                        const char *at, struct opsd_error *err)
{
    a->any_severity = a->action != SCHED_INBOUND_FIRE && !severity_given;
    if (a->starts_ms > now)
        a->starts_ms = now;
    return finish_labels(a, at, err);
}

/* The severity from the labels: a name web_inbound_severity() knows, else
 * medium. *given says whether the labels named one. */
static enum alert_severity label_severity(const struct alert_labels *ls, bool *given)
{
    enum alert_severity sev = ALERT_SEV_MEDIUM;
    const char *s = alert_labels_get(ls, "severity");

    *given = s != NULL;
    if (s)
        (void)web_inbound_severity(s, &sev);
    return sev;
}

/* Alertmanager's summary/description annotations. */
static int parse_annotations(json_t *item, const char *at, struct web_inbound_alert *a,
                             struct opsd_error *err)
{
    json_t *an = json_object_get(item, "annotations");
    char where[64];
    int r;

    if (!an || json_is_null(an))
        return 0;
    if (!json_is_object(an))
        return opsd_errorf(err, -EINVAL, "%s'annotations' must be an object", at);
    snprintf(where, sizeof(where), "%sannotations: ", at);
    r = opt_string(an, "summary", where, MAX_SUMMARY, &a->summary, err);
    if (r >= 0)
        r = opt_string(an, "description", where, MAX_MESSAGE, &a->message, err);
    if (r >= 0 && !a->message)
        r = opt_string(an, "message", where, MAX_MESSAGE, &a->message, err);
    return r;
}

static int parse_api_alert(json_t *item, const char *at, uint64_t now, struct web_inbound_alert *a,
                           struct opsd_error *err)
{
    static const char *const known[] = { "labels", "summary",   "message", "severity",
                                         "status", "starts_at", "ends_at" };
    const char *k, *st;
    json_t *v;
    bool given = false;
    int r;

    if (!json_is_object(item))
        return opsd_errorf(err, -EINVAL, "%san alert must be an object", at);
    json_object_foreach(item, k, v)
    {
        size_t i;
        for (i = 0; i < ARRAY_SIZE(known) && strcmp(k, known[i]) != 0; i++)
            ;
        if (i == ARRAY_SIZE(known))
            return opsd_errorf(err, -EINVAL,
                               "%sunknown field '%.64s' (known: labels, summary, message, "
                               "severity, status, starts_at, ends_at)",
                               at, k);
    }
    r = parse_labels(json_object_get(item, "labels"), at, &a->labels, err);
    if (r < 0)
        return r;
    if ((r = opt_string(item, "summary", at, MAX_SUMMARY, &a->summary, err)) < 0 ||
        (r = opt_string(item, "message", at, MAX_MESSAGE, &a->message, err)) < 0 ||
        (r = opt_time(item, "starts_at", at, &a->starts_ms, err)) < 0 ||
        (r = opt_time(item, "ends_at", at, &a->ends_ms, err)) < 0)
        return r;
    a->severity = label_severity(&a->labels, &given);
    v = json_object_get(item, "severity");
    if (v && !json_is_null(v)) {
        if (!json_is_string(v) || web_inbound_severity(json_string_value(v), &a->severity) < 0)
            return opsd_errorf(err, -EINVAL,
                               "%s'severity' must be critical, high, medium or low (or "
                               "warning, error, info, page)",
                               at);
        given = true;
    }
    v = json_object_get(item, "status");
    st = json_is_string(v) ? json_string_value(v) : NULL;
    if (v && !json_is_null(v) &&
        (!st || (strcmp(st, "firing") != 0 && strcmp(st, "resolved") != 0)))
        return opsd_errorf(err, -EINVAL, "%s'status' must be \"firing\" or \"resolved\"", at);
    a->action = (st && strcmp(st, "resolved") == 0) || (a->ends_ms && a->ends_ms <= now)
                    ? SCHED_INBOUND_RESOLVE
                    : SCHED_INBOUND_FIRE;
    return finish_alert(a, given, now, at, err);
}

/* What Alertmanager's two shapes share: labels, annotations, startsAt and
 * endsAt (into *ends), and the severity from the labels. */
static int parse_am_common(json_t *item, const char *at, struct web_inbound_alert *a,
                           uint64_t *ends, bool *severity_given, struct opsd_error *err)
{
    int r;

    if (!json_is_object(item))
        return opsd_errorf(err, -EINVAL, "%san alert must be an object", at);
    r = parse_labels(json_object_get(item, "labels"), at, &a->labels, err);
    if (r >= 0)
        r = parse_annotations(item, at, a, err);
    if (r >= 0)
        r = opt_time(item, "startsAt", at, &a->starts_ms, err);
    if (r >= 0)
        r = opt_time(item, "endsAt", at, ends, err);
    if (r >= 0)
        a->severity = label_severity(&a->labels, severity_given);
    return r;
}

/* One of Prometheus' postable alerts. An endsAt at or before now resolves;
 * a firing one without endsAt ends after the resolve timeout. */
static int parse_am_v2_alert(json_t *item, const char *at, uint64_t now,
                             struct web_inbound_alert *a, struct opsd_error *err)
{
    char *gen = NULL;
    bool given = false;
    int r;

    r = parse_am_common(item, at, a, &a->ends_ms, &given, err);
    if (r >= 0)
        r = opt_string(item, "generatorURL", at, 0, &gen, err); /* checked, not kept */
    free(gen);
    if (r < 0)
        return r;
    if (a->ends_ms && a->ends_ms <= now) {
        a->action = SCHED_INBOUND_RESOLVE;
        a->ends_ms = 0;
    } else {
        a->action = SCHED_INBOUND_FIRE;
        if (!a->ends_ms)
            a->ends_ms = now + SCHED_INBOUND_RESOLVE_TIMEOUT_MS;
    }
    return finish_alert(a, given, now, at, err);
}

/* One alert of an Alertmanager webhook: its status says what happened
 * (that Alertmanager resolves it, so no expiry here). */
static int parse_am_hook_alert(json_t *item, const char *at, uint64_t now,
                               struct web_inbound_alert *a, struct opsd_error *err)
{
    json_t *v = json_object_get(item, "status");
    const char *st = json_is_string(v) ? json_string_value(v) : "";
    uint64_t ends = 0; /* checked, not kept */
    bool given = false;
    int r;

    r = parse_am_common(item, at, a, &ends, &given, err);
    if (r < 0)
        return r;
    if (strcmp(st, "firing") != 0 && strcmp(st, "resolved") != 0)
        return opsd_errorf(err, -EINVAL, "%s'status' must be \"firing\" or \"resolved\"", at);
    a->action = strcmp(st, "resolved") == 0 ? SCHED_INBOUND_RESOLVE : SCHED_INBOUND_FIRE;
    return finish_alert(a, given, now, at, err);
}

typedef int (*parse_one_fn)(json_t *item, const char *at, uint64_t now, struct web_inbound_alert *a,
                            struct opsd_error *err);

/* Parses every item of arr with fn into ret->v. */
static int parse_list(json_t *arr, parse_one_fn fn, uint64_t now, struct web_inbound *ret,
                      struct opsd_error *err)
{
    size_t n = json_array_size(arr), i;
    json_t *item;
    char at[48];
    int r;

    if (n > OPSD_MAX_INBOUND_ALERTS)
        return opsd_errorf(err, -E2BIG, "%zu alerts in one request; at most %d", n,
                           OPSD_MAX_INBOUND_ALERTS);
    ret->v = xcalloc(n ? n : 1, sizeof(ret->v[0]));
    json_array_foreach(arr, i, item)
    {
        snprintf(at, sizeof(at), "alerts[%zu]: ", i);
        r = fn(item, at, now, &ret->v[i], err);
        ret->n = i + 1; /* cleared on failure, half-parsed or not */
        if (r < 0)
            return r;
    }
    return 0;
}

static int parse_api(json_t *doc, uint64_t now, struct web_inbound *ret, struct opsd_error *err)
{
    json_t *alerts = json_is_object(doc) ? json_object_get(doc, "alerts") : NULL;
    json_t *one;
    int r;

    if (json_is_array(doc))
        return parse_list(doc, parse_api_alert, now, ret, err);
    if (alerts) {
        if (!json_is_array(alerts) || json_object_size(doc) != 1)
            return opsd_errorf(err, -EINVAL,
                               "the body must be {\"alerts\": [...]} or a single alert object");
        return parse_list(alerts, parse_api_alert, now, ret, err);
    }
    if (!json_is_object(doc))
        return opsd_errorf(err, -EINVAL, "the body must be a JSON object or array");
    one = json_array();
    json_array_append(one, doc);
    r = parse_list(one, parse_api_alert, now, ret, err);
    json_decref(one);
    return r;
}

static int parse_am_hook(json_t *doc, uint64_t now, struct web_inbound *ret, struct opsd_error *err)
{
    json_t *ver = json_object_get(doc, "version");

    if (!json_is_object(doc))
        return opsd_errorf(err, -EINVAL, "the body must be an Alertmanager webhook (an object)");
    if (!json_is_string(ver) || strcmp(json_string_value(ver), "4") != 0)
        return opsd_errorf(err, -EINVAL, "'version' must be \"4\" (Alertmanager webhook v4)");
    if (!json_is_array(json_object_get(doc, "alerts")))
        return opsd_errorf(err, -EINVAL, "'alerts' must be an array");
    return parse_list(json_object_get(doc, "alerts"), parse_am_hook_alert, now, ret, err);
}

/* "source=web-01 component=nginx group=prod class=http details={...}". */
static char *pd_message(json_t *p)
{
    static const char *const keys[] = { "source", "component", "group", "class" };
    struct sbuf sb = SBUF_INIT;
    json_t *d = json_object_get(p, "custom_details");

    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        json_t *v = json_object_get(p, keys[i]);
        if (json_is_string(v) && *json_string_value(v))
            sbuf_addf(&sb, "%s%s=%s", sb.len ? " " : "", keys[i], json_string_value(v));
    }
    if (d && !json_is_null(d)) {
        char *s = json_dumps(d, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
        if (s) {
            size_t n = strnlen(s, MAX_PD_DETAILS);
            /* not inside a character: a message that is not UTF-8 cannot
             * become a JSON string, in answers or notifications */
            while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
                n--;
            sbuf_addf(&sb, "%sdetails=%.*s", sb.len ? " " : "", (int)n, s);
        }
        free(s);
    }
    return sbuf_detach(&sb, NULL);
}

static int parse_pd(json_t *doc, uint64_t now, const char *new_key, struct web_inbound *ret,
                    struct opsd_error *err)
{
    json_t *act = json_object_get(doc, "event_action");
    json_t *key = json_object_get(doc, "dedup_key");
    json_t *rk = json_object_get(doc, "routing_key");
    json_t *p = json_object_get(doc, "payload");
    struct web_inbound_alert *a;
    const char *action = json_is_string(act) ? json_string_value(act) : "";
    const char *dk;

    if (!json_is_object(doc))
        return opsd_errorf(err, -EINVAL, "the event must be a JSON object");
    if (rk && !json_is_null(rk) &&
        (!json_is_string(rk) || json_string_length(rk) > MAX_ROUTING_KEY))
        return opsd_errorf(err, -EINVAL, "'routing_key' must be a string (an opsd API token)");
    if (strcmp(action, "trigger") != 0 && strcmp(action, "acknowledge") != 0 &&
        strcmp(action, "resolve") != 0)
        return opsd_errorf(err, -EINVAL,
                           "'event_action' must be \"trigger\", \"acknowledge\" or \"resolve\"");
    if (key && !json_is_null(key) &&
        (!json_is_string(key) || json_string_length(key) == 0 ||
         json_string_length(key) > MAX_DEDUP_KEY))
        return opsd_errorf(err, -EINVAL, "'dedup_key' must be a string of 1 to %d bytes",
                           MAX_DEDUP_KEY);
    dk = json_is_string(key) ? json_string_value(key) : NULL;
    if (!dk && strcmp(action, "trigger") != 0)
        return opsd_errorf(err, -EINVAL, "'dedup_key' is required to %s", action);
    if (!dk)
        dk = new_key;
    if (!dk || !*dk)
        return opsd_errorf(err, -EINVAL, "'dedup_key' is required");

    ret->v = xcalloc(1, sizeof(ret->v[0]));
    ret->n = 1;
    a = &ret->v[0];
    a->any_severity = true; /* the dedup_key alone names the alert */
    a->severity = ALERT_SEV_MEDIUM;
    a->action = action[0] == 't'   ? SCHED_INBOUND_FIRE
                : action[0] == 'a' ? SCHED_INBOUND_ACK
                                   : SCHED_INBOUND_RESOLVE;
    if (a->action == SCHED_INBOUND_FIRE) {
        json_t *sum = json_object_get(p, "summary"), *src = json_object_get(p, "source");
        json_t *sev = json_object_get(p, "severity");
        const char *sv = json_is_string(sev) ? json_string_value(sev) : "";
        int r;

        if (!json_is_object(p))
            return opsd_errorf(err, -EINVAL, "'payload' is required to trigger (an object)");
        if (!json_is_string(sum) || json_string_length(sum) == 0 || json_string_length(sum) > 1024)
            return opsd_errorf(err, -EINVAL,
                               "'payload.summary' must be a string of 1 to 1024 "
                               "bytes");
        if (!json_is_string(src) || json_string_length(src) == 0)
            return opsd_errorf(err, -EINVAL, "'payload.source' is required (a string)");
        if (!strcmp(sv, "critical"))
            a->severity = ALERT_SEV_CRITICAL;
        else if (!strcmp(sv, "error"))
            a->severity = ALERT_SEV_HIGH;
        else if (!strcmp(sv, "warning"))
            a->severity = ALERT_SEV_MEDIUM;
        else if (!strcmp(sv, "info"))
            a->severity = ALERT_SEV_LOW;
        else
            return opsd_errorf(err, -EINVAL,
                               "'payload.severity' must be critical, error, warning or info");
        for (const char *const *f = (const char *const[]){ "component", "group", "class", NULL };
             *f; f++) {
            json_t *v = json_object_get(p, *f);
            if (v && !json_is_null(v) && !json_is_string(v))
                return opsd_errorf(err, -EINVAL, "'payload.%s' must be a string", *f);
        }
        r = opt_time(p, "timestamp", "payload: ", &a->starts_ms, err);
        if (r < 0)
            return r;
        if (a->starts_ms > now)
            a->starts_ms = now;
        a->summary = xstrdup(json_string_value(sum));
        a->message = pd_message(p);
    }
    /* valid names, two labels and dk is not empty (checked above): these
     * cannot fail */
    (void)alert_labels_set(&a->labels, "alertname", "PagerDutyEvent");
    (void)alert_labels_set(&a->labels, "dedup_key", dk);
    ret->dedup_key = xstrdup(dk);
    if (json_is_string(rk))
        ret->routing_key = xstrdup(json_string_value(rk));
    return finish_labels(a, "", err);
}

int web_inbound_parse(enum web_inbound_kind kind, const char *body, size_t len, uint64_t now_ms,
                      const char *new_key, struct web_inbound *ret, struct opsd_error *err)
{
    struct web_inbound in = { 0 };
    json_error_t je;
    json_t *doc;
    int r;

    if (!body || len == 0)
        return opsd_errorf(err, -EINVAL, "the request has no body (expected JSON)");
    if (len > OPSD_MAX_INBOUND_BODY)
        return opsd_errorf(err, -E2BIG, "the body is over %d bytes", OPSD_MAX_INBOUND_BODY);
    doc = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!doc)
        return opsd_errorf(err, -EINVAL, "the body is not JSON: %s (line %d, column %d)", je.text,
                           je.line, je.column);
    switch (kind) {
    case WEB_INBOUND_API:
        r = parse_api(doc, now_ms, &in, err);
        break;
    case WEB_INBOUND_AM_V2:
        r = json_is_array(doc) ? parse_list(doc, parse_am_v2_alert, now_ms, &in, err)
                               : opsd_errorf(err, -EINVAL,
                                             "the body must be an array of alerts "
                                             "(Alertmanager API v2)");
        break;
    case WEB_INBOUND_AM_HOOK:
        r = parse_am_hook(doc, now_ms, &in, err);
        break;
    case WEB_INBOUND_PAGERDUTY:
        r = parse_pd(doc, now_ms, new_key, &in, err);
        break;
    default:
        r = opsd_errorf(err, -EINVAL, "unknown inbound kind %d", (int)kind);
        break;
    }
    json_decref(doc);
    if (r < 0) {
        web_inbound_clear(&in);
        return r;
    }
    *ret = in;
    return 0;
}

/* ---- glue ---- */

/* PagerDuty's error shape: {"status", "message", "errors": [...]}, keeping
 * the status and WWW-Authenticate a caller chose. */
static void pd_error(struct web_response *ret, unsigned status, const char *what, const char *msg)
{
    free(ret->body);
    web_respond_json(ret, status,
                     json_pack("{s:s s:s s:[s]}", "status", what, "message",
                               status == 400 ? "Event object is invalid" : msg, "errors", msg));
}

static void new_dedup_key(const struct web_ctx *ctx, char out[33])
{
    static uint64_t counter;
    unsigned char b[16];

    if (getrandom(b, sizeof(b), GRND_NONBLOCK) != (ssize_t)sizeof(b)) {
        /* unique enough for a key nobody else chose: time and a counter */
        uint64_t t = clock_now_ms(ctx->clock), c = ++counter;
        memcpy(b, &t, 8);
        memcpy(b + 8, &c, 8);
    }
    for (size_t i = 0; i < sizeof(b); i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static const char *source_of(enum web_inbound_kind k)
{
    return k == WEB_INBOUND_AM_V2       ? "prometheus"
           : k == WEB_INBOUND_AM_HOOK   ? "alertmanager"
           : k == WEB_INBOUND_PAGERDUTY ? "pagerduty"
                                        : "api";
}

void web_inbound_handle(const struct web_ctx *ctx, const struct web_match *m,
                        const struct web_request *rq, struct web_response *ret)
{
    enum web_inbound_kind kind = m->route == WEB_ROUTE_INBOUND_V2     ? WEB_INBOUND_AM_V2
                                 : m->route == WEB_ROUTE_INBOUND_HOOK ? WEB_INBOUND_AM_HOOK
                                 : m->route == WEB_ROUTE_INBOUND_PD   ? WEB_INBOUND_PAGERDUTY
                                                                      : WEB_INBOUND_API;
    bool pd = kind == WEB_INBOUND_PAGERDUTY, authed = false;
    char who[OPSD_MAX_NAME + 1] = "", key[33];
    struct web_inbound in = { 0 };
    struct opsd_error err = { 0 };
    struct sched_inbound *v = NULL;
    int64_t *ids = NULL;
    json_t *out;
    int r;

    /* A PagerDuty sender puts its key in the body, not in a header. */
    if (!pd || rq->authorization) {
        if (web_authorize(ctx, rq, APITOKEN_SCOPE_WRITE, who, sizeof(who), ret) < 0) {
            if (pd)
                pd_error(ret, ret->status, ret->status == 403 ? "forbidden" : "unauthorized",
                         "the token is unknown, revoked or without the write scope");
            return;
        }
        authed = true;
    }
    if (pd)
        new_dedup_key(ctx, key);
    r = web_inbound_parse(kind, rq->body, rq->body_len, clock_now_ms(ctx->clock), pd ? key : NULL,
                          &in, &err);
    if (r < 0) {
        if (pd)
            pd_error(ret, 400, "invalid event", err.msg);
        else
            web_response_error(ret, 400, "bad_request", "%s", err.msg);
        return;
    }
    if (!authed) {
        char hdr[MAX_ROUTING_KEY + 8];
        struct web_request with_key = *rq;

        snprintf(hdr, sizeof(hdr), "Bearer %s", in.routing_key ? in.routing_key : "");
        with_key.authorization = in.routing_key ? hdr : NULL;
        if (web_authorize(ctx, &with_key, APITOKEN_SCOPE_WRITE, who, sizeof(who), ret) < 0) {
            pd_error(ret, ret->status, ret->status == 403 ? "forbidden" : "unauthorized",
                     in.routing_key ? "the routing_key is not an opsd API token with the write "
                                      "scope"
                                    : "send the routing_key (an opsd API token with the write "
                                      "scope) or an Authorization: Bearer header");
            goto out;
        }
    }
    v = xcalloc(in.n ? in.n : 1, sizeof(*v));
    ids = xcalloc(in.n ? in.n : 1, sizeof(*ids));
    for (size_t i = 0; i < in.n; i++)
        v[i] = (struct sched_inbound){
            .action = in.v[i].action,
            .source = source_of(kind),
            .labels = &in.v[i].labels,
            .any_severity = in.v[i].any_severity,
            .severity = (int)in.v[i].severity,
            .summary = in.v[i].summary,
            .message = in.v[i].message,
            .starts_ms = in.v[i].starts_ms,
            .ends_ms = in.v[i].ends_ms,
        };
    r = sched_alert_inbound(ctx->sched, v, in.n, who, ids);
    if (r < 0) {
        if (pd)
            pd_error(ret, 503, "unavailable", "opsd is stopping");
        else
            web_response_error(ret, 503, "unavailable", "opsd is stopping");
        goto out;
    }
    if (pd) {
        web_respond_json(ret, 202,
                         json_pack("{s:s s:s s:s}", "status", "success", "message",
                                   "Event processed", "dedup_key", in.dedup_key));
    } else {
        out = json_array();
        for (size_t i = 0; i < in.n; i++)
            json_array_append_new(
                out,
                json_pack("{s:o s:s}", "id", ids[i] ? json_integer(ids[i]) : json_null(), "status",
                          in.v[i].action == SCHED_INBOUND_FIRE ? "firing" : "resolved"));
        web_respond_json(ret, 200, json_pack("{s:s s:o}", "status", "success", "alerts", out));
    }
    /* answered once the change is committed: a pushed alert must survive a crash */
    ret->when_durable = true;
out:
    free(v);
    free(ids);
    web_inbound_clear(&in);
}
