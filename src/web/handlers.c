/* The routes: glue that reads the engine (sched) and the store, fills the
 * plain structs of web-internal.h and hands them to the pure renderers.
 * Runs on the loop thread, inside MHD_run(), so engine state is read
 * directly. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "web/web-internal.h"

#define CT_JSON "application/json"
#define CT_TEXT "text/plain; charset=utf-8"
#define CT_HTML "text/html; charset=utf-8"
#define CT_PROM "text/plain; version=0.0.4; charset=utf-8"

static void respond_text(struct web_response *ret, unsigned status, const char *ct,
                         const char *text)
{
    *ret = (struct web_response){ .status = status, .content_type = ct, .no_store = true };
    ret->body = xstrdup(text);
    ret->len = strlen(text);
}

static void respond_sbuf(struct web_response *ret, unsigned status, const char *ct, struct sbuf *sb)
{
    *ret = (struct web_response){ .status = status, .content_type = ct, .no_store = true };
    ret->body = sbuf_detach(sb, &ret->len);
}

static enum probe_state view_state(const struct sched_monitor_view *v)
{
    return v->conf->paused ? PROBE_STATE_PAUSED : v->sm.state;
}

static double uptime_ratio(const struct web_ctx *ctx, const struct sched_monitor_view *v,
                           uint64_t now, uint64_t window_ms)
{
    struct store_uptime u;
    struct opsd_error err = { 0 };
    int r;

    if (!ctx->store)
        return -1;
    r = store_uptime(ctx->store, v->store_id, now > window_ms ? now - window_ms : 0, now, &u, &err);
    if (r < 0) {
        log_warn("event=web_store_error monitor=%s op=uptime err=%s", log_q(v->conf->name),
                 log_q(err.msg));
        return -1;
    }
    return store_uptime_ratio(&u);
}

static void fill_monitor(const struct web_ctx *ctx, const struct sched_monitor_view *v,
                         uint64_t now, struct web_monitor *ret)
{
    static const uint64_t windows[WEB_UPTIME_N] = {
        [WEB_UPTIME_24H] = 24ull * 3600 * 1000,
        [WEB_UPTIME_7D] = 7ull * 24 * 3600 * 1000,
        [WEB_UPTIME_30D] = 30ull * 24 * 3600 * 1000,
    };
    struct web_monitor m = {
        .conf = v->conf,
        .state = view_state(v),
        .since_ms = v->sm.since_ms,
        .has_result = v->has_result,
        .checks_total = v->checks_total,
        .checks_failed = v->checks_failed,
        .last_ping_ms = v->last_ping_ms,
    };

    const struct conf_maintenance *w =
        sched_monitor_maintenance(ctx->sched, v->conf, now, &m.maintenance_end_ms);

    m.maintenance = w ? w->name : NULL;
    if (v->has_result)
        web_result_from_probe(&m.last, &v->last); /* borrows v->last.message */
    for (size_t i = 0; i < WEB_UPTIME_N; i++)
        m.uptime[i] = uptime_ratio(ctx, v, now, windows[i]);
    *ret = m;
}

static void get_monitors(const struct web_ctx *ctx, struct web_response *ret)
{
    uint64_t now = clock_now_ms(ctx->clock);
    size_t n = sched_monitor_count(ctx->sched);
    json_t *arr = json_array();

    for (size_t i = 0; i < n; i++) {
        struct web_monitor m;
        fill_monitor(ctx, sched_monitor_at(ctx->sched, i), now, &m);
        json_array_append_new(arr, web_monitor_json(&m));
    }
    web_respond_json(ret, 200, json_pack("{s:o}", "monitors", arr)); /* "o" steals arr */
}

static void get_monitor(const struct web_ctx *ctx, const char *name, struct web_response *ret)
{
    const struct sched_monitor_view *v = sched_monitor_find(ctx->sched, name);
    struct web_monitor m;

    if (!v) {
        web_response_error(ret, 404, "not_found", "no monitor named '%s'", name);
        return;
    }
    fill_monitor(ctx, v, clock_now_ms(ctx->clock), &m);
    web_respond_json(ret, 200, web_monitor_json(&m));
}

static int add_result(const struct store_result *r, void *userdata)
{
    json_t *arr = userdata;
    struct web_result wr;

    web_result_from_store(&wr, r);
    json_array_append_new(arr, web_result_json(&wr));
    return 0;
}

/* The front half of the history routes (results, events): finds the
 * monitor, parses the window and checks there is a store. Returns the
 * monitor, or NULL with ret filled with the error response. */
static const struct sched_monitor_view *history_begin(const struct web_ctx *ctx, const char *name,
                                                      const struct web_query_arg *args,
                                                      size_t nargs, struct web_history_query *ret_q,
                                                      struct web_response *ret)
{
    const struct sched_monitor_view *v = sched_monitor_find(ctx->sched, name);
    struct opsd_error err = { 0 };

    if (!v) {
        web_response_error(ret, 404, "not_found", "no monitor named '%s'", name);
        return NULL;
    }
    if (web_history_query_parse(args, nargs, clock_now_ms(ctx->clock), ret_q, &err) < 0) {
        web_response_error(ret, 400, "bad_request", "%s", err.msg);
        return NULL;
    }
    if (!ctx->store) {
        web_response_error(ret, 503, "unavailable", "no store is open");
        return NULL;
    }
    return v;
}

/* The back half: answers with {"monitor":name,"<key>":arr} (stealing arr),
 * or a 500 if the store read failed with r < 0. */
static void history_end(const char *name, const char *key, json_t *arr, int r,
                        const struct opsd_error *err, struct web_response *ret)
{
    if (r < 0) {
        json_decref(arr);
        log_warn("event=web_store_error monitor=%s op=%s err=%s", log_q(name), key,
                 log_q(err->msg));
        web_response_error(ret, 500, "internal_error", "cannot read %s: %s", key, err->msg);
        return;
    }
    web_respond_json(ret, 200, json_pack("{s:s,s:o}", "monitor", name, key, arr)); /* steals arr */
}

static void get_results(const struct web_ctx *ctx, const char *name,
                        const struct web_query_arg *args, size_t nargs, struct web_response *ret)
{
    const struct sched_monitor_view *v;
    struct web_history_query q;
    struct opsd_error err = { 0 };
    json_t *arr;
    int r;

    v = history_begin(ctx, name, args, nargs, &q, ret);
    if (!v)
        return;
    arr = json_array();
    r = store_results(ctx->store, v->store_id, q.since_ms, q.until_ms, q.limit, add_result, arr,
                      &err);
    history_end(name, "results", arr, r, &err, ret);
}

static int add_event(const struct store_event *e, void *userdata)
{
    json_t *arr = userdata;
    struct web_event we;

    web_event_from_store(&we, e);
    json_array_append_new(arr, web_event_json(&we));
    return 0;
}

static void get_events(const struct web_ctx *ctx, const char *name,
                       const struct web_query_arg *args, size_t nargs, struct web_response *ret)
{
    const struct sched_monitor_view *v;
    struct web_history_query q;
    struct opsd_error err = { 0 };
    json_t *arr;
    int r;

    v = history_begin(ctx, name, args, nargs, &q, ret);
    if (!v)
        return;
    arr = json_array();
    r = store_events(ctx->store, v->store_id, q.since_ms, q.until_ms, q.limit, add_event, arr,
                     &err);
    history_end(name, "events", arr, r, &err, ret);
}

static int add_point(const struct store_metric_point *p, void *userdata)
{
    json_t *arr = userdata;

    json_array_append_new(arr, web_metric_point_json(p));
    return 0;
}

/* The series a monitor's checks measured (perfdata, file sizes): the
 * history window of results and events, plus ?name= for one series. */
static void get_series(const struct web_ctx *ctx, const char *name,
                       const struct web_query_arg *args, size_t nargs, struct web_response *ret)
{
    struct web_query_arg rest[WEB_MAX_QUERY_ARGS];
    const struct sched_monitor_view *v;
    const char *metric = NULL;
    struct web_history_query q;
    struct opsd_error err = { 0 };
    size_t nrest = 0;
    json_t *arr;
    int r;

    for (size_t i = 0; i < nargs; i++) {
        if (strcmp(args[i].key, "name") != 0) {
            if (nrest < ARRAY_SIZE(rest))
                rest[nrest++] = args[i];
            continue;
        }
        if (metric) {
            web_response_error(ret, 400, "bad_request", "name is given more than once");
            return;
        }
        if (!args[i].value || !*args[i].value || strlen(args[i].value) > STORE_MAX_METRIC_NAME) {
            web_response_error(ret, 400, "bad_request",
                               "name must be a metric name of 1 to %d bytes",
                               STORE_MAX_METRIC_NAME);
            return;
        }
        metric = args[i].value;
    }
    v = history_begin(ctx, name, rest, nrest, &q, ret);
    if (!v)
        return;
    arr = json_array();
    r = store_metrics(ctx->store, v->store_id, metric, q.since_ms, q.until_ms, q.limit, add_point,
                      arr, &err);
    history_end(name, "metrics", arr, r, &err, ret);
}

/* ---- /metrics ---- */

static void read_proc(struct web_proc_stats *ret)
{
    char buf[1024];
    ssize_t n;
    int fd;

    ret->ok = false;
    fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return;
    buf[n] = '\0';
    (void)web_proc_parse_stat(buf, sysconf(_SC_PAGESIZE), sysconf(_SC_CLK_TCK), ret);
}

static void get_metrics(const struct web_ctx *ctx, struct web_response *ret)
{
    size_t n = sched_monitor_count(ctx->sched);
    _cleanup_free_ struct web_metric_monitor *mons = xcalloc(n ? n : 1, sizeof(*mons));
    struct sched_stats st;
    struct web_proc_stats proc;
    struct sbuf sb = SBUF_INIT;

    for (size_t i = 0; i < n; i++) {
        const struct sched_monitor_view *v = sched_monitor_at(ctx->sched, i);
        mons[i] = (struct web_metric_monitor){
            .name = v->conf->name,
            .state = view_state(v),
            .has_latency = v->has_result && v->last.total_us != PROBE_NO_VALUE,
            .latency_s = v->last.total_us / 1e6,
            .has_cert = v->has_result && v->last.cert_days != PROBE_NO_VALUE,
            .cert_days = v->last.cert_days,
        };
    }
    sched_get_stats(ctx->sched, &st);
    read_proc(&proc);
    web_metrics_render(&sb, mons, n, &st, sched_lag_bounds, &proc);
    respond_sbuf(ret, 200, CT_PROM, &sb);
}

/* ---- maintenance windows ---- */

static void get_maintenance(const struct web_ctx *ctx, struct web_response *ret)
{
    uint64_t now = clock_now_ms(ctx->clock);
    size_t n = sched_maintenance_count(ctx->sched);
    json_t *arr = json_array();

    for (size_t i = 0; i < n; i++) {
        struct sched_maintenance w;
        json_t *mons, *labels, *o;

        if (sched_maintenance_at(ctx->sched, i, now, &w) < 0)
            continue;
        mons = json_array();
        labels = json_object();
        for (size_t j = 0; j < w.conf->n_monitors; j++)
            json_array_append_new(mons, json_string(w.conf->monitors[j]));
        for (size_t j = 0; j < w.conf->n_labels; j++)
            json_object_set_new(labels, w.conf->labels[j].key,
                                json_string(w.conf->labels[j].value));
        o = json_pack("{s:s s:o s:o s:o s:o s:o s:I s:b s:o s:o s:I}", "name", w.conf->name,
                      "description",
                      w.conf->description ? json_string(w.conf->description) : json_null(),
                      "monitors", mons, "labels", labels, "schedule",
                      w.conf->schedule ? json_string(w.conf->schedule) : json_null(), "tz",
                      w.conf->schedule ? json_string(w.conf->tz) : json_null(), "duration_s",
                      (json_int_t)(w.conf->duration_ms / 1000), "active", w.active, "start",
                      w.scheduled ? json_integer((json_int_t)w.start_ms) : json_null(), "end",
                      w.scheduled ? json_integer((json_int_t)w.end_ms) : json_null(), "covers",
                      (json_int_t)w.n_monitors);
        json_array_append_new(arr, o);
    }
    web_respond_json(ret, 200, json_pack("{s:o}", "maintenance", arr));
}

/* ---- the status page ---- */

/* How far ahead the page announces scheduled maintenance. */
#define PAGE_MAINT_AHEAD_MS (7ull * 24 * 3600 * 1000)

static int maint_cmp(const void *a, const void *b)
{
    const struct web_page_maint *x = a, *y = b;

    if (x->active != y->active)
        return x->active ? -1 : 1;
    return x->start_ms < y->start_ms ? -1 : x->start_ms > y->start_ms;
}

static void get_page(const struct web_ctx *ctx, struct web_response *ret)
{
    const struct conf *conf = sched_conf(ctx->sched);
    uint64_t now = clock_now_ms(ctx->clock);
    size_t n = sched_monitor_count(ctx->sched), k = 0;
    _cleanup_free_ struct web_page_monitor *mons = xcalloc(n ? n : 1, sizeof(*mons));
    _cleanup_free_ struct store_uptime *days = NULL;
    _cleanup_free_ struct web_page_maint *maint = NULL;
    size_t nm, n_maint = 0;
    struct sbuf sb = SBUF_INIT;
    struct web_page page;

    for (size_t i = 0; i < n; i++)
        k += sched_monitor_at(ctx->sched, i)->conf->public_;
    days = xcalloc(k ? k * WEB_STATUS_DAYS : 1, sizeof(*days));

    k = 0;
    for (size_t i = 0; i < n; i++) {
        const struct sched_monitor_view *v = sched_monitor_at(ctx->sched, i);
        struct opsd_error err = { 0 };
        struct store_uptime *d;

        mons[i] = (struct web_page_monitor){
            .name = v->conf->name,
            .description = v->conf->description,
            .public_ = v->conf->public_,
            .state = view_state(v),
            .degraded = v->has_result && v->last.status == PROBE_WARNING,
            .heartbeat = v->conf->type == CONF_MON_HEARTBEAT,
            .has_result = v->has_result,
            .last_ping_ms = v->last_ping_ms,
            .maintenance = sched_monitor_maintenance(ctx->sched, v->conf, now, NULL) != NULL,
        };
        if (!v->conf->public_)
            continue;
        d = &days[k++ * WEB_STATUS_DAYS];
        mons[i].days = d;
        if (ctx->store &&
            store_uptime_days(ctx->store, v->store_id, now, WEB_STATUS_DAYS, d, &err) < 0) {
            log_warn("event=web_store_error monitor=%s op=uptime_days err=%s", log_q(v->conf->name),
                     log_q(err.msg));
            memset(d, 0, WEB_STATUS_DAYS * sizeof(*d)); /* shown as "no data" */
        }
    }
    nm = sched_maintenance_count(ctx->sched);
    maint = xcalloc(nm ? nm : 1, sizeof(*maint));
    for (size_t i = 0; i < nm; i++) {
        struct sched_maintenance w;
        if (sched_maintenance_at(ctx->sched, i, now, &w) < 0 || !w.scheduled ||
            w.start_ms > now + PAGE_MAINT_AHEAD_MS)
            continue;
        maint[n_maint++] = (struct web_page_maint){
            .name = w.conf->name,
            .description = w.conf->description,
            .active = w.active,
            .start_ms = w.start_ms,
            .end_ms = w.end_ms,
        };
    }
    qsort(maint, n_maint, sizeof(*maint), maint_cmp);
    page = (struct web_page){
        .title = conf && conf->server.title ? conf->server.title : "Status",
        .now_ms = now,
        .ndays = WEB_STATUS_DAYS,
        .monitors = mons,
        .n_monitors = n,
        .maint = maint,
        .n_maint = n_maint,
    };
    web_page_render(&sb, &page);
    respond_sbuf(ret, 200, CT_HTML, &sb);
}

/* ---- heartbeat pings ---- */

static bool rid_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n < 1 || n > SCHED_MAX_RID)
        return false;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static void ping(const struct web_ctx *ctx, const char *path, const struct web_query_arg *args,
                 size_t nargs, const char *body, size_t body_len, struct web_response *ret)
{
    const char *rid = NULL;
    struct web_ping p;
    int r;

    for (size_t i = 0; i < nargs; i++) {
        if (strcmp(args[i].key, "rid") != 0)
            continue; /* Healthchecks.io clients may send others; they are ignored */
        if (rid || !rid_valid(args[i].value)) {
            respond_text(ret, 400, CT_TEXT,
                         "bad request: rid must be given once, 1 to 64 characters of "
                         "A-Z a-z 0-9 . _ -\n");
            return;
        }
        rid = args[i].value;
    }

    r = web_ping_parse(path, &p);
    if (r == -ENOENT) {
        respond_text(ret, 404, CT_TEXT, "not found\n");
        return;
    }
    if (r < 0) {
        respond_text(ret, 400, CT_TEXT,
                     "bad request: expected /ping/<token>, /ping/<token>/start, "
                     "/ping/<token>/fail or /ping/<token>/<exit code 0-255>\n");
        return;
    }
    r = sched_heartbeat_ping(ctx->sched, p.token, rid, p.kind, p.exit_code, body, body_len);
    if (r == -ENOENT) {
        respond_text(ret, 404, CT_TEXT, "not found\n");
        return;
    }
    if (r == -ESHUTDOWN) {
        respond_text(ret, 503, CT_TEXT, "shutting down\n");
        return;
    }
    if (r < 0) {
        log_warn("event=web_ping_error err=%s", log_q(strerror(-r)));
        respond_text(ret, 500, CT_TEXT, "internal error\n");
        return;
    }
    respond_text(ret, 200, CT_TEXT, "OK\n");
}

void web_handle(const struct web_ctx *ctx, const struct web_request *rq, struct web_response *ret)
{
    const char *method = rq->method, *path = rq->path, *body = rq->body;
    const struct web_query_arg *args = rq->args;
    size_t nargs = rq->nargs, body_len = rq->body_len;
    struct web_match m;
    char shown[256];

    if (web_route_match(method, path, &m) < 0) {
        web_response_error(ret, 404, "not_found", "no such endpoint: %s",
                           web_path_redact(path, shown, sizeof(shown)));
        return;
    }
    if (!m.method_ok) {
        web_response_error(ret, 405, "method_not_allowed", "%s is not allowed on %s (allowed: %s)",
                           method, web_path_redact(path, shown, sizeof(shown)), m.allow);
        ret->allow = m.allow;
        return;
    }
    switch (m.route) {
    case WEB_ROUTE_PAGE:
        get_page(ctx, ret);
        break;
    case WEB_ROUTE_HEALTHZ:
        web_respond_json(ret, 200, json_pack("{s:s}", "status", "ok"));
        break;
    case WEB_ROUTE_METRICS:
        get_metrics(ctx, ret);
        break;
    case WEB_ROUTE_MONITORS:
        get_monitors(ctx, ret);
        break;
    case WEB_ROUTE_MONITOR:
        get_monitor(ctx, m.name, ret);
        break;
    case WEB_ROUTE_RESULTS:
        get_results(ctx, m.name, args, nargs, ret);
        break;
    case WEB_ROUTE_EVENTS:
        get_events(ctx, m.name, args, nargs, ret);
        break;
    case WEB_ROUTE_SERIES:
        get_series(ctx, m.name, args, nargs, ret);
        break;
    case WEB_ROUTE_PING:
        ping(ctx, path, args, nargs, body, body_len, ret);
        break;
    case WEB_ROUTE_ALERTS:
    case WEB_ROUTE_ALERT:
    case WEB_ROUTE_ALERT_ACK:
    case WEB_ROUTE_ALERT_RESOLVE:
    case WEB_ROUTE_ALERT_REVIEW:
    case WEB_ROUTE_ALERT_STATS:
    case WEB_ROUTE_NOTIFICATIONS:
    case WEB_ROUTE_NOTIFICATION:
    case WEB_ROUTE_SILENCES:
    case WEB_ROUTE_SILENCE:
        web_alerts_handle(ctx, &m, rq, ret);
        break;
    case WEB_ROUTE_MAINTENANCE:
        get_maintenance(ctx, ret);
        break;
    case WEB_ROUTE_INBOUND_API:
    case WEB_ROUTE_INBOUND_V2:
    case WEB_ROUTE_INBOUND_HOOK:
    case WEB_ROUTE_INBOUND_PD:
        web_inbound_handle(ctx, &m, rq, ret);
        break;
    case WEB_ROUTE_LINK_ACK:
    case WEB_ROUTE_LINK_RESOLVE:
        web_links_handle(ctx, &m, rq, ret);
        break;
    }
}
