/* The API's JSON shapes, built with jansson from plain structs (see
 * docs/api.md). Pure: the glue in handlers.c fills the structs. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"
#include "web/web-internal.h"

void web_result_from_probe(struct web_result *ret, const struct probe_last *r)
{
    *ret = (struct web_result){
        .time_ms = r->started_ms,
        .status = r->status,
        .ok = probe_status_ok(r->status),
        .message = r->message,
        .http_status = r->http_status,
        .cert_days = r->cert_days,
        .dns_us = r->dns_us,
        .connect_us = r->connect_us,
        .tls_us = r->tls_us,
        .ttfb_us = r->ttfb_us,
        .total_us = r->total_us,
    };
}

void web_result_from_store(struct web_result *ret, const struct store_result *r)
{
    *ret = (struct web_result){
        .time_ms = r->ts_ms,
        .status = (enum probe_status)r->status,
        .ok = r->ok,
        .message = r->message,
        .body = r->body,
        .http_status = r->http_status,
        .cert_days = r->cert_days,
        .dns_us = r->dns_us,
        .connect_us = r->connect_us,
        .tls_us = r->tls_us,
        .ttfb_us = r->ttfb_us,
        .total_us = r->total_us,
        .stored = true,
        .maintenance = r->maintenance,
    };
}

void web_event_from_store(struct web_event *ret, const struct store_event *e)
{
    *ret = (struct web_event){
        .time_ms = e->ts_ms,
        .from = (enum probe_state)e->from_state,
        .to = (enum probe_state)e->to_state,
        .cause = e->cause,
        .kind = e->kind,
    };
}

/* A JSON string of s, which need not be valid UTF-8 (probe messages quote
 * what servers sent): if it is not, bytes >= 0x80 become '?'. */
static json_t *text(const char *s)
{
    json_t *j = json_string(s);
    char *copy;

    if (j)
        return j;
    copy = xstrdup(s);
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    j = json_string(copy);
    free(copy);
    return j ? j : json_string("");
}

/* An RFC 3339 string, or null for 0 ("never"). */
static json_t *time_or_null(uint64_t ms)
{
    char buf[40];

    if (ms == 0)
        return json_null();
    return json_string(clock_format_rfc3339(ms, buf, sizeof(buf)));
}

/* Microseconds as milliseconds (exact to 3 decimals), or null. */
static json_t *ms_or_null(int32_t us)
{
    if (us == PROBE_NO_VALUE || us < 0)
        return json_null();
    return json_real(us / 1000.0);
}

static json_t *int_or_null(int32_t v)
{
    return v == PROBE_NO_VALUE ? json_null() : json_integer(v);
}

/* A duration in seconds: an integer when whole, else a fraction. */
static json_t *seconds(uint64_t ms)
{
    if (ms % 1000 == 0)
        return json_integer((json_int_t)(ms / 1000));
    return json_real(ms / 1000.0);
}

static json_t *ratio_or_null(double r)
{
    if (r < 0 || isnan(r))
        return json_null();
    return json_real(round(r * 1e6) / 1e6);
}

json_t *web_result_json(const struct web_result *r)
{
    json_t *j = json_object(), *t = json_object();
    const char *status = probe_status_to_string(r->status);

    json_object_set_new(t, "dns", ms_or_null(r->dns_us));
    json_object_set_new(t, "connect", ms_or_null(r->connect_us));
    json_object_set_new(t, "tls", ms_or_null(r->tls_us));
    json_object_set_new(t, "first_byte", ms_or_null(r->ttfb_us));
    json_object_set_new(t, "total", ms_or_null(r->total_us));

    json_object_set_new(j, "time", time_or_null(r->time_ms));
    json_object_set_new(j, "status", status ? json_string(status) : json_null());
    json_object_set_new(j, "ok", json_boolean(r->ok));
    json_object_set_new(j, "message", r->message && *r->message ? text(r->message) : json_null());
    json_object_set_new(j, "http_status", int_or_null(r->http_status));
    json_object_set_new(j, "cert_days", int_or_null(r->cert_days));
    json_object_set_new(j, "timings_ms", t); /* steals t */
    if (r->stored)
        json_object_set_new(j, "maintenance", json_boolean(r->maintenance));
    if (r->body)
        json_object_set_new(j, "body", text(r->body));
    return j;
}

/* A state's name (probe_state_to_string() maps unknown values to "pending"). */
static json_t *state_or_null(enum probe_state s)
{
    const char *name = probe_state_to_string(s);

    return name ? json_string(name) : json_null();
}

json_t *web_event_json(const struct web_event *e)
{
    json_t *j = json_object();

    json_object_set_new(j, "time", time_or_null(e->time_ms));
    json_object_set_new(j, "from", state_or_null(e->from));
    json_object_set_new(j, "to", state_or_null(e->to));
    json_object_set_new(j, "cause", e->cause && *e->cause ? text(e->cause) : json_null());
    json_object_set_new(j, "kind", text(e->kind ? e->kind : "state"));
    return j;
}

json_t *web_monitor_json(const struct web_monitor *m)
{
    const struct conf_monitor *c = m->conf;
    json_t *j = json_object(), *labels = json_object(), *up = json_object();
    const char *type = conf_monitor_type_to_string(c->type);
    const char *state = probe_state_to_string(m->state);

    for (size_t i = 0; i < c->n_labels; i++)
        json_object_set_new(labels, c->labels[i].key, text(c->labels[i].value));
    json_object_set_new(up, "24h", ratio_or_null(m->uptime[WEB_UPTIME_24H]));
    json_object_set_new(up, "7d", ratio_or_null(m->uptime[WEB_UPTIME_7D]));
    json_object_set_new(up, "30d", ratio_or_null(m->uptime[WEB_UPTIME_30D]));

    json_object_set_new(j, "name", text(c->name));
    json_object_set_new(j, "type", type ? json_string(type) : json_null());
    json_object_set_new(j, "description", c->description ? text(c->description) : json_null());
    json_object_set_new(j, "labels", labels); /* steals labels */
    json_object_set_new(j, "interval_s", seconds(c->interval_ms));
    json_object_set_new(j, "timeout_s", seconds(c->timeout_ms));
    json_object_set_new(j, "confirm", json_integer(c->confirm));
    json_object_set_new(j, "paused", json_boolean(c->paused));
    json_object_set_new(j, "down_on_warning", json_boolean(c->down_on_warning));
    json_object_set_new(j, "state", state ? json_string(state) : json_null());
    json_object_set_new(j, "since", time_or_null(m->since_ms));
    json_object_set_new(j, "last_check", time_or_null(m->has_result ? m->last.time_ms : 0));
    json_object_set_new(j, "latency_ms",
                        m->has_result ? ms_or_null(m->last.total_us) : json_null());
    json_object_set_new(j, "last_result", m->has_result ? web_result_json(&m->last) : json_null());
    json_object_set_new(j, "uptime", up); /* steals up */
    json_object_set_new(j, "checks_total", json_integer((json_int_t)m->checks_total));
    json_object_set_new(j, "checks_failed", json_integer((json_int_t)m->checks_failed));
    json_object_set_new(j, "maintenance",
                        m->maintenance ? json_pack("{s:s s:I}", "window", m->maintenance, "until",
                                                   (json_int_t)m->maintenance_end_ms)
                                       : json_null());
    if (c->type == CONF_MON_HEARTBEAT) {
        /* Never the token: it is a secret that lets anyone ping. */
        json_object_set_new(j, "period_s", seconds(c->period_ms));
        json_object_set_new(j, "grace_s", seconds(c->grace_ms));
        json_object_set_new(j, "last_ping", time_or_null(m->last_ping_ms));
    }
    if (c->type == CONF_MON_FILE) {
        json_object_set_new(j, "path", text(c->path));
        json_object_set_new(j, "max_age_s", c->max_age_ms ? seconds(c->max_age_ms) : json_null());
    }
    /* An exec monitor's command is not shown: its arguments may carry
     * secrets expanded from ${VAR}. */
    return j;
}

json_t *web_metric_point_json(const struct store_metric_point *p)
{
    json_t *j = json_object();

    json_object_set_new(j, "time", time_or_null(p->ts_ms));
    json_object_set_new(j, "name", text(p->name ? p->name : ""));
    json_object_set_new(j, "value", isfinite(p->value) ? json_real(p->value) : json_null());
    json_object_set_new(j, "unit", p->unit ? text(p->unit) : json_null());
    return j;
}

json_t *web_error_json(const char *code, const char *message)
{
    json_t *e = json_object(), *j = json_object();

    json_object_set_new(e, "code", text(code));
    json_object_set_new(e, "message", text(message));
    json_object_set_new(j, "error", e); /* steals e */
    return j;
}

char *web_json_dump(json_t *j, size_t *ret_len)
{
    /* 10 significant digits: every millisecond value with 3 decimals an
     * int32 of microseconds can hold, without binary noise. */
    char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10));
    char *out;
    size_t n;

    json_decref(j);
    if (!s)
        s = xstrdup("{}");
    n = strlen(s);
    out = xrealloc(s, n + 2);
    out[n] = '\n';
    out[n + 1] = '\0';
    if (ret_len)
        *ret_len = n + 1;
    return out;
}

void web_respond_json(struct web_response *ret, unsigned status, json_t *j)
{
    ret->status = status;
    ret->content_type = "application/json";
    ret->body = web_json_dump(j, &ret->len);
    ret->no_store = true;
    ret->allow = NULL;
}

void web_response_error(struct web_response *ret, unsigned status, const char *code,
                        const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    *ret = (struct web_response){
        .status = status,
        .content_type = "application/json",
        .no_store = true,
    };
    ret->body = web_json_dump(web_error_json(code, msg), &ret->len);
}
