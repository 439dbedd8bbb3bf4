/* What the web module's files share. The first part is pure: plain structs
 * the glue fills from the engine and the store, and the parsers and
 * renderers that turn them into bytes. Nothing in it calls sched_* or
 * store_*, so tests/unit/test-web.c links it alone. The last part is the
 * glue (handlers.c) that reads the engine and the store. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <jansson.h>

#include "alert/escalation.h"
#include "alert/route.h"
#include "config/config.h"
#include "probe/probe.h"
#include "sched/sched.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/opsd_limits.h"
#include "util/sbuf.h"

/* Bytes of a ping's body read; the engine keeps at most OPSD_MAX_MESSAGE
 * of the message it makes of them (sched_heartbeat_ping). */
#define WEB_PING_BODY_MAX (10 * 1024)
#define WEB_STATUS_DAYS 90       /* days on the status page's uptime bars */
#define WEB_STATUS_PHONE_DAYS 30 /* of those, the days a narrow screen shows */
#define WEB_MAX_QUERY_ARGS 16    /* query parameters looked at in one request */
/* Defaults of the history routes (results, events). */
#define WEB_HISTORY_DEFAULT_LIMIT 100
#define WEB_HISTORY_DEFAULT_WINDOW_MS (24ull * 3600 * 1000)

/* ---- parse.c: listen addresses, routes, query strings, ping paths ---- */

/* Parses "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:8080", "[::]:8080" (also
 * "localhost:8080", "*:8080" and ":8080"). Numeric addresses only: no DNS.
 * ret_addr/ret_len are untouched on failure, which returns -EINVAL. */
int web_listen_parse(const char *listen, struct sockaddr_storage *ret_addr, socklen_t *ret_len,
                     struct opsd_error *err);

enum web_route {
    WEB_ROUTE_PAGE,          /* GET / */
    WEB_ROUTE_HEALTHZ,       /* GET /healthz */
    WEB_ROUTE_METRICS,       /* GET /metrics */
    WEB_ROUTE_MONITORS,      /* GET /api/v1/monitors */
    WEB_ROUTE_MONITOR,       /* GET /api/v1/monitors/{name} */
    WEB_ROUTE_RESULTS,       /* GET /api/v1/monitors/{name}/results */
    WEB_ROUTE_EVENTS,        /* GET /api/v1/monitors/{name}/events */
    WEB_ROUTE_SERIES,        /* GET /api/v1/monitors/{name}/metrics */
    WEB_ROUTE_PING,          /* GET|POST|HEAD /ping/... */
    WEB_ROUTE_ALERTS,        /* GET /api/v1/alerts */
    WEB_ROUTE_ALERT,         /* GET /api/v1/alerts/{id} */
    WEB_ROUTE_ALERT_ACK,     /* POST /api/v1/alerts/{id}/ack */
    WEB_ROUTE_ALERT_RESOLVE, /* POST /api/v1/alerts/{id}/resolve */
    WEB_ROUTE_ALERT_REVIEW,  /* POST /api/v1/alerts/{id}/review */
    WEB_ROUTE_ALERT_STATS,   /* GET /api/v1/alerts/stats */
    WEB_ROUTE_NOTIFICATIONS, /* GET /api/v1/notifications */
    WEB_ROUTE_NOTIFICATION,  /* GET /api/v1/notifications/{id} (with its attempts) */
    WEB_ROUTE_SILENCES,      /* GET|POST /api/v1/silences */
    WEB_ROUTE_SILENCE,       /* GET|DELETE /api/v1/silences/{id} */
    WEB_ROUTE_MAINTENANCE,   /* GET /api/v1/maintenance */
    WEB_ROUTE_INBOUND_API,   /* POST /api/v1/alerts */
    WEB_ROUTE_INBOUND_V2,    /* POST /api/v2/alerts (Prometheus' push, Alertmanager API v2) */
    WEB_ROUTE_INBOUND_HOOK,  /* POST /api/v1/inbound/alertmanager (webhook v4) */
    WEB_ROUTE_INBOUND_PD,    /* POST /v2/enqueue (PagerDuty Events API v2) */
    WEB_ROUTE_LINK_ACK,      /* GET|POST /a/{id}/ack?t= (a signed one-click link) */
    WEB_ROUTE_LINK_RESOLVE,  /* GET|POST /a/{id}/resolve?t= */
};

struct web_match {
    enum web_route route;
    bool method_ok;               /* false: answer 405 with allow */
    const char *allow;            /* the methods the route takes, for the Allow header */
    char name[OPSD_MAX_NAME + 1]; /* {name} of the monitor routes */
    int64_t id;                   /* {id} of the alert and notification routes, > 0 */
};

/* Matches an (unescaped, query-less) path. Returns 0 and fills *ret, or
 * -ENOENT when no route has that path (ret untouched). */
int web_route_match(const char *method, const char *path, struct web_match *ret);

struct web_query_arg {
    const char *key;
    const char *value; /* NULL for "?key" without '=' */
};

/* A window of a monitor's history: [since, until), newest first, at most
 * limit rows. */
struct web_history_query {
    uint64_t since_ms, until_ms;
    unsigned limit;
};

/* Validates ?since=&until=&limit= of the history routes (results, events);
 * defaults: until=now, since=until-24h, limit=100. On a bad or unknown
 * parameter returns -EINVAL with a message naming it in err; ret is
 * untouched on failure. */
int web_history_query_parse(const struct web_query_arg *args, size_t n, uint64_t now_ms,
                            struct web_history_query *ret, struct opsd_error *err);

/* True when s[0..n) is a syntactically valid heartbeat token. */
bool web_token_valid(const char *s, size_t n);

struct web_ping {
    char token[OPSD_MAX_TOKEN_LEN + 1];
    enum probe_ping_kind kind;
    int exit_code; /* PROBE_PING_EXIT only */
};

/* Parses "/ping/<token>[/start|/fail|/<0..255>]". Returns 0, -ENOENT when
 * the token cannot be one (answer 404 without asking the engine), or -EINVAL
 * when the rest is malformed (400). ret is untouched on failure. */
int web_ping_parse(const char *path, struct web_ping *ret);

/* Copies path into buf (size n), with a ping token replaced by "<token>",
 * so it can be logged. */
const char *web_path_redact(const char *path, char *buf, size_t n);

/* ---- json.c: the API's JSON shapes ---- */

/* One check's outcome as the API shows it. */
struct web_result {
    uint64_t time_ms;
    enum probe_status status;
    bool ok;
    const char *message;                                   /* borrowed; NULL or "" -> null */
    const char *body;                                      /* borrowed; NULL -> left out */
    int32_t http_status;                                   /* PROBE_NO_VALUE if none */
    int32_t cert_days;                                     /* PROBE_NO_VALUE if none */
    int32_t dns_us, connect_us, tls_us, ttfb_us, total_us; /* PROBE_NO_VALUE if n/a */
    bool stored;      /* read from the store: maintenance below is known */
    bool maintenance; /* taken inside a maintenance window (left out of uptime) */
};

void web_result_from_probe(struct web_result *ret, const struct probe_last *r);
void web_result_from_store(struct web_result *ret, const struct store_result *r);

/* One state change as the API shows it. */
struct web_event {
    uint64_t time_ms;
    enum probe_state from, to;
    const char *cause; /* borrowed; NULL or "" -> null */
    const char *kind;  /* borrowed; NULL for a state change */
};

void web_event_from_store(struct web_event *ret, const struct store_event *e);

enum { WEB_UPTIME_24H, WEB_UPTIME_7D, WEB_UPTIME_30D, WEB_UPTIME_N };

/* One monitor as the API shows it. */
struct web_monitor {
    const struct conf_monitor *conf; /* borrowed */
    enum probe_state state;
    uint64_t since_ms; /* 0: unknown */
    bool has_result;
    struct web_result last; /* valid if has_result */
    uint64_t checks_total, checks_failed;
    uint64_t last_ping_ms;       /* heartbeats: 0 if none */
    double uptime[WEB_UPTIME_N]; /* ratios in [0,1]; < 0 when no data */
    const char *maintenance;     /* the open window covering it (borrowed), or NULL */
    uint64_t maintenance_end_ms;
};

/* New references; the caller owns them. */
json_t *web_result_json(const struct web_result *r);
json_t *web_event_json(const struct web_event *e);
json_t *web_monitor_json(const struct web_monitor *m);
json_t *web_metric_point_json(const struct store_metric_point *p);
json_t *web_error_json(const char *code, const char *message);
/* Serialises j (stealing it) as compact JSON plus a newline; caller frees. */
char *web_json_dump(json_t *j, size_t *ret_len);

/* ---- metrics.c: Prometheus text exposition 0.0.4 ---- */

struct web_metric_monitor {
    const char *name; /* borrowed */
    enum probe_state state;
    bool has_latency;
    double latency_s; /* the last check's total time */
    bool has_cert;
    int32_t cert_days;
};

struct web_proc_stats {
    bool ok; /* false: /proc/self/stat could not be read */
    uint64_t rss_bytes;
    double cpu_s;
};

/* Appends s escaped as a label value (\\, \" and \n). */
void web_prom_escape(struct sbuf *sb, const char *s);
/* Appends a histogram: name_bucket{le=...} for each of the n cumulative
 * buckets (the last is +Inf), name_sum and name_count. */
void web_prom_histogram(struct sbuf *sb, const char *name, const char *help, const double *bounds,
                        const uint64_t *buckets, size_t n, double sum, uint64_t count);
/* Parses the text of /proc/self/stat. Returns 0 or -EINVAL (ret untouched). */
int web_proc_parse_stat(const char *text, long page_size, long ticks_per_s,
                        struct web_proc_stats *ret);
/* The whole /metrics body. lag_bounds has ARRAY_SIZE(st->lag_bucket) entries. */
void web_metrics_render(struct sbuf *sb, const struct web_metric_monitor *mons, size_t n,
                        const struct sched_stats *st, const double *lag_bounds,
                        const struct web_proc_stats *proc);

/* ---- page.c: the status page ---- */

struct web_page_monitor {
    const char *name;        /* borrowed */
    const char *description; /* borrowed; may be NULL */
    bool public_;            /* false: left off the page */
    enum probe_state state;
    bool degraded;                   /* up, but its last result was a warning */
    const struct store_uptime *days; /* ndays entries, oldest first; may be NULL */
    bool heartbeat;                  /* a heartbeat monitor: fed by pings, not checks */
    bool has_result;                 /* it has a result (from this run or the store) */
    uint64_t last_ping_ms;           /* heartbeats: last ping of any kind, 0 if none */
    bool maintenance;                /* a maintenance window covering it is open */
};

/* A maintenance window as the page shows it: open now, or coming. */
struct web_page_maint {
    const char *name;        /* borrowed */
    const char *description; /* borrowed; may be NULL */
    bool active;
    uint64_t start_ms, end_ms;
};

struct web_page {
    const char *title;
    uint64_t now_ms; /* the last day shown is the UTC day of now_ms */
    unsigned ndays;
    const struct web_page_monitor *monitors;
    size_t n_monitors;
    const struct web_page_maint *maint; /* active first, then by start */
    size_t n_maint;
};

/* The CSS class of a day cell: "none" (no data), "full" (100%), "high"
 * (>= 99%), "mid" (>= 95%) or "low". */
const char *web_day_class(const struct store_uptime *u);
/* "100%", "99.95%" (rounded down, so never 100% with a failure), "-" when
 * count is 0. */
const char *web_format_percent(uint64_t count, uint64_t failures, char *buf, size_t n);
/* True for a pending heartbeat that has never been pinged: its card says
 * "Waiting for first ping" and it does not hold the banner on "Checking". */
bool web_page_waiting_first_ping(const struct web_page_monitor *m);
void web_page_render(struct sbuf *sb, const struct web_page *p);

/* ---- handlers.c: glue that reads the engine and the store ---- */

struct web_ctx {
    struct sched *sched;
    struct store *store;
    const struct opsd_clock *clock;
};

struct web_response {
    unsigned status;
    char *body; /* malloc'd; freed by whoever sends it */
    size_t len;
    const char *content_type;
    const char *allow; /* for 405; NULL otherwise */
    bool no_store;     /* Cache-Control: no-store */
    /* Send only once the change the handler made is committed (the server
     * waits with sched_when_durable() and answers 503 if it never is). */
    bool when_durable;
    const char *www_authenticate; /* for 401 */
};

/* One request as the handlers see it; everything borrowed. */
struct web_request {
    const char *method;
    const char *path;
    const struct web_query_arg *args;
    size_t nargs;
    const char *body; /* a POST's (capped) body, or NULL */
    size_t body_len;
    const char *authorization; /* the Authorization header, or NULL */
};

/* Answers one request. */
void web_handle(const struct web_ctx *ctx, const struct web_request *rq, struct web_response *ret);
/* ---- alerts.c: the alerting API (glue) ---- */

/* Checks rq's bearer token for scope need (enum apitoken_scope). Returns 0
 * and the token's name in name (len bytes), or fills ret with the 401/403
 * and returns < 0. */
int web_authorize(const struct web_ctx *ctx, const struct web_request *rq, int need, char *name,
                  size_t len, struct web_response *ret);
void web_alerts_handle(const struct web_ctx *ctx, const struct web_match *m,
                       const struct web_request *rq, struct web_response *ret);
/* The JSON shapes (pure). */
json_t *web_alert_json(const struct store_alert *a);
json_t *web_notification_json(const struct store_notification *n, bool with_payload);
json_t *web_notif_attempt_json(const struct store_notif_attempt *a);
json_t *web_silence_json(const struct store_silence *si, uint64_t now_ms);

/* A review as POSTed: {"review": "actionable" | "false_positive",
 * "comment": "..." (optional, at most STORE_MAX_REVIEW_COMMENT bytes)}.
 * Fills *ret_review (enum store_alert_review) and *ret_comment (NULL or a
 * string inside *ret_doc, which the caller json_decref()s), or returns
 * -EINVAL with a message; outputs untouched on failure. */
int web_review_parse(const char *body, size_t len, int *ret_review, const char **ret_comment,
                     json_t **ret_doc, struct opsd_error *err);

/* The window of GET /api/v1/alerts/stats: ?since= and ?until=, each epoch
 * ms, an RFC 3339 time or a duration before now ("7d"); defaults until now
 * and since 7 days before until. -EINVAL (ret untouched) with a message
 * naming the parameter on a bad, repeated or unknown one, or since after
 * until. */
#define WEB_STATS_DEFAULT_WINDOW_MS (7ull * 24 * 3600 * 1000)
int web_alert_stats_query_parse(const struct web_query_arg *args, size_t n, uint64_t now_ms,
                                uint64_t *ret_since, uint64_t *ret_until, struct opsd_error *err);
struct alert_stats;
json_t *web_alert_stats_json(const struct alert_stats *st);

/* A silence as POSTed: {"matchers": ["name=value", ...] or Alertmanager's
 * [{"name","value","isRegex","isEqual"}], "starts_at"/"ends_at" (RFC 3339
 * or epoch ms; starts default now) or "duration" ("2h"), "comment"
 * (required), "created_by" (default: the token's name)}. Fills ret (its
 * strings point into *ret_matchers_json and the JSON, which the caller
 * frees with json_decref(*ret_doc) and free()) or returns -EINVAL with a
 * message. Regexes are compiled to check them. */
int web_silence_parse(const char *body, size_t len, uint64_t now_ms, const char *author,
                      struct store_silence *ret, char **ret_matchers_json, json_t **ret_doc,
                      struct opsd_error *err);

/* Fills ret with status and j (stolen) as the JSON body, not to be cached;
 * the other fields (when_durable, www_authenticate) are left as set. */
void web_respond_json(struct web_response *ret, unsigned status, json_t *j);
/* Fills ret with a JSON error {"error":{"code":..,"message":..}}. */
void web_response_error(struct web_response *ret, unsigned status, const char *code,
                        const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ---- inbound.c: alerts pushed to opsd ---- */

enum web_inbound_kind {
    WEB_INBOUND_API = 1,   /* opsd's own shape */
    WEB_INBOUND_AM_V2,     /* Alertmanager API v2 postable alerts (Prometheus) */
    WEB_INBOUND_AM_HOOK,   /* Alertmanager webhook v4 */
    WEB_INBOUND_PAGERDUTY, /* PagerDuty Events API v2 */
};

/* One parsed alert; everything owned. */
struct web_inbound_alert {
    enum sched_inbound_action action;
    struct alert_labels labels; /* the full set, severity normalised */
    bool any_severity;          /* see struct sched_inbound */
    enum alert_severity severity;
    char *summary, *message; /* NULL when not given */
    uint64_t starts_ms, ends_ms;
};

struct web_inbound {
    struct web_inbound_alert *v;
    size_t n;
    char *routing_key; /* PagerDuty: as sent (a token), or NULL */
    char *dedup_key;   /* PagerDuty: the event's key, given or generated */
};

/* True for the paths that take inbound pushes (their bodies may be up to
 * OPSD_MAX_INBOUND_BODY). */
bool web_inbound_path(const char *path);
/* Maps a severity label: critical|high|medium|low, and warning, error,
 * info, page as Prometheus rules and PagerDuty name them. Returns 0, or
 * -EINVAL for anything else (*ret untouched). */
int web_inbound_severity(const char *s, enum alert_severity *ret);
/* Parses and validates a whole push of the given kind at now_ms. new_key
 * is the dedup_key a PagerDuty trigger without one gets (copied). Fills
 * *ret (release with web_inbound_clear()), or returns -EINVAL, -E2BIG (too
 * many alerts or labels) with a message naming the first problem, *ret
 * untouched. */
int web_inbound_parse(enum web_inbound_kind kind, const char *body, size_t len, uint64_t now_ms,
                      const char *new_key, struct web_inbound *ret, struct opsd_error *err);
void web_inbound_clear(struct web_inbound *in);
/* Answers one push (glue: auth, parse, sched_alert_inbound). */
void web_inbound_handle(const struct web_ctx *ctx, const struct web_match *m,
                        const struct web_request *rq, struct web_response *ret);

/* ---- links.c: the pages behind the one-click links in notifications ---- */

enum web_link_kind {
    WEB_LINK_CONFIRM = 1, /* GET: what the link will do, and a button that POSTs it */
    WEB_LINK_DONE,        /* POST went through, or there was nothing left to do */
    WEB_LINK_REFUSED,     /* bad, expired or misused link; unknown alert; conflict */
};

/* One link page; everything borrowed. */
struct web_link_page {
    enum web_link_kind kind;
    bool resolve; /* the link resolves (else it acknowledges) */
    int64_t id;
    const char *token;   /* CONFIRM: goes back in the form's action */
    const char *text;    /* the outcome or why it was refused */
    bool has_alert;      /* the alert's details below are filled */
    const char *summary; /* may be NULL */
    const char *monitor; /* may be NULL */
    const char *severity, *state;
    uint64_t starts_ms;
    const char *acked_by; /* may be NULL */
};

/* A whole HTML page, inline CSS, no script. The form posts to the same
 * path, relative, so it works behind a proxy that mounts opsd under a
 * prefix. */
void web_link_page_render(struct sbuf *sb, const struct web_link_page *p);
/* Answers GET (confirm page) and POST (act) on /a/{id}/ack|resolve. */
void web_links_handle(const struct web_ctx *ctx, const struct web_match *m,
                      const struct web_request *rq, struct web_response *ret);
