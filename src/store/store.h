/* The store: where results, state changes and rollups live. An interface
 * (struct store_ops in store-impl.h) with SQLite behind it; a PostgreSQL
 * backend plugs in beside sqlite.c without touching callers.
 *
 * Threads: store_write() and store_prune() may run on one worker thread (the
 * engine batches results and writes them off the loop through
 * uv_queue_work), while every other call runs on the loop thread. At most
 * one store_write() or store_prune() at a time. The backend keeps a writer
 * and a reader connection so the two never block each other (SQLite WAL). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/clock.h"
#include "util/error.h"

struct store;

/* Errors: every int function returns >= 0 or a negative errno and fills err
 * (which may be NULL): -EINVAL for bad arguments (including a result for an
 * unknown monitor), -ENOENT for nothing found, -ENOSPC for a full disk,
 * -ENOTSUP when store_open() finds a schema newer than this opsd knows, -EIO
 * for other database failures. Out parameters are untouched on failure. */

#define STORE_NO_VALUE INT32_MIN /* a timing or number that does not apply */

/* One measured number that came with a result (a plugin's perfdata, a host's
 * memory use): stored as a time series per monitor and name. */
struct store_metric {
    const char *name;    /* "load1", "disk_used_pct{mount=\"/\"}"; at most STORE_MAX_METRIC_NAME */
    const char *unit;    /* "s", "B", "%", "c" or NULL: values are in base units */
    double value;
};
#define STORE_MAX_METRIC_NAME 160
#define STORE_MAX_METRICS 512 /* per result; more are dropped */

/* One check's outcome. Strings are borrowed for the duration of a call. */
struct store_result {
    int64_t monitor_id;
    uint64_t ts_ms;      /* when the check started (wall clock) */
    int status;          /* 0 ok, 1 warning, 2 critical, 3 unknown (Nagios) */
    bool ok;             /* counts as up for uptime */
    bool maintenance;    /* during a maintenance window: excluded from uptime (later issue) */
    int32_t dns_us;      /* name lookup; STORE_NO_VALUE if not applicable */
    int32_t connect_us;  /* TCP connect done */
    int32_t tls_us;      /* TLS handshake done */
    int32_t ttfb_us;     /* first byte */
    int32_t total_us;    /* whole check; always set */
    int32_t http_status; /* STORE_NO_VALUE if none */
    int32_t cert_days;   /* days to certificate expiry; STORE_NO_VALUE if none */
    const char *message; /* short human text; may be NULL */
    const char *body;    /* a heartbeat ping's body (the job's output), at most
                            OPSD_MAX_RESULT_BODY bytes kept; may be NULL */
    const struct store_metric *metrics; /* n_metrics of them, or NULL */
    size_t n_metrics;
};

/* A state change of a monitor, with its cause. */
struct store_event {
    int64_t monitor_id;
    uint64_t ts_ms;
    int from_state;      /* 0 pending, 1 up, 2 down, 3 paused */
    int to_state;
    const char *cause;
    const char *kind;    /* NULL for a state change; "action" for an on_failure
                            action's outcome (from_state = to_state = the state
                            it ran in) */
};

/* A small piece of a monitor's check state that must survive a restart (a
 * log monitor's read position), kept under a key per monitor. Written with
 * the results that depend on it, in their transaction. */
struct store_memo {
    int64_t monitor_id;
    const char *key;   /* at most STORE_MAX_MEMO_KEY bytes */
    const char *value; /* at most STORE_MAX_MEMO_VALUE bytes */
};
#define STORE_MAX_MEMO_KEY 64
#define STORE_MAX_MEMO_VALUE 1024

/* ---- alerts and the notification outbox (issue 4) ---- */

/* Stored: values only grow. */
enum store_alert_state {
    STORE_ALERT_FIRING = 1,
    STORE_ALERT_ACKED = 2,    /* acknowledged, still firing */
    STORE_ALERT_RESOLVED = 3,
    STORE_ALERT_SILENCED = 4, /* firing, but suppressed: recorded, not sent (see suppressed) */
};
enum store_alert_review {
    STORE_REVIEW_NONE = 0,
    STORE_REVIEW_ACTIONABLE = 1,
    STORE_REVIEW_FALSE_POSITIVE = 2,
};

/* One alert. Its id is chosen by the caller (the alert manager, seeded from
 * store_alert_max_id() at start), so it is known before the write. Strings
 * are borrowed for the duration of a call; NULL reads as absent. */
struct store_alert {
    int64_t id;               /* > 0 */
    uint64_t fingerprint;     /* of the label set (alert_labels_fingerprint) */
    const char *monitor;      /* the monitor that raised it, or NULL (inbound) */
    const char *source;       /* "monitor", "api", "prometheus", "alertmanager", "pagerduty" */
    int severity;             /* enum conf_severity */
    int state;                /* enum store_alert_state */
    const char *labels_json;  /* a JSON object of string values, at most OPSD_MAX_ALERT_JSON */
    const char *summary;      /* at most OPSD_MAX_MESSAGE bytes kept */
    const char *message;
    const char *suppressed;   /* why nothing is sent ("silence 3", "maintenance nightly-db",
                                 "depends on router"), or NULL */
    uint64_t starts_ms;
    uint64_t updated_ms;
    uint64_t acked_ms;        /* 0 = never */
    const char *acked_by;
    uint64_t resolved_ms;     /* 0 = not resolved */
    int review;               /* enum store_alert_review */
    const char *review_by;
    uint64_t reviewed_ms;     /* 0 = never reviewed */
    const char *review_comment;
    uint64_t ends_ms;         /* inbound: resolves by itself then unless refreshed; 0 = never */
};

/* Stored: values only grow. */
enum store_notif_state {
    STORE_NOTIF_PENDING = 1,   /* written, not yet delivered: the sender owns it */
    STORE_NOTIF_DELIVERED = 2,
    STORE_NOTIF_FAILED = 3,    /* given up after alerting.give_up_after */
};

/* One notification in the outbox: written before it is sent. The payload
 * is what to say (the group snapshot, JSON), never the receiver's secrets:
 * the sender builds the request from the payload and the receiver's current
 * config at each attempt. */
struct store_notification {
    int64_t id;                  /* > 0, chosen by the caller like an alert's */
    const char *idempotency_key; /* unique: a second insert with the same key is ignored */
    const char *receiver;
    const char *reason;          /* "firing", "resolved", "escalated", "repeated",
                                    "ack-expired", "acknowledged", "flapping" */
    const char *group_key;
    const char *alert_ids;       /* the alerts it is about, "12,13" */
    const char *payload_json;    /* at most OPSD_MAX_NOTIFY_PAYLOAD bytes */
    int state;                   /* enum store_notif_state */
    unsigned attempts;
    uint64_t created_ms;
    uint64_t next_attempt_ms;
    uint64_t last_attempt_ms;    /* 0 = never tried */
    uint64_t done_ms;            /* delivered or failed at; 0 while pending */
    const char *last_error;      /* of the last failed attempt, or NULL */
};

/* One delivery attempt, kept for the failure history. */
struct store_notif_attempt {
    int64_t notification_id;
    uint64_t ts_ms;
    bool ok;
    int http_status;      /* 0 when none (connect failed, SMTP) */
    int32_t took_us;
    const char *error;    /* NULL when ok */
};

/* A change to a stored notification after an attempt. */
struct store_notif_update {
    int64_t id;
    int state;
    unsigned attempts;
    uint64_t next_attempt_ms;
    uint64_t last_attempt_ms;
    uint64_t done_ms;
    const char *last_error;
};

/* What the engine hands to store_write(): owned arrays, filled on the loop,
 * written in one transaction on the worker. Alerts are upserted by id (the
 * whole row replaced, except the review: store_alert_set_review() writes it
 * beside the engine, whose copy of the alert may be older, so a row's
 * review fields replace the stored ones only when its reviewed_ms is
 * newer), notifications inserted (ignored when the idempotency key
 * exists), then updates and attempts applied. */
struct store_batch {
    struct store_result *results;
    size_t n_results, cap_results;
    struct store_event *events;
    size_t n_events, cap_events;
    struct store_memo *memos; /* applied in order: a later one for the same key wins */
    size_t n_memos, cap_memos;
    struct store_alert *alerts;
    size_t n_alerts, cap_alerts;
    struct store_notification *notifications;
    size_t n_notifications, cap_notifications;
    struct store_notif_update *notif_updates;
    size_t n_notif_updates, cap_notif_updates;
    struct store_notif_attempt *notif_attempts;
    size_t n_notif_attempts, cap_notif_attempts;
};

/* Copies r (and its message) into b. */
void store_batch_add_result(struct store_batch *b, const struct store_result *r);
void store_batch_add_event(struct store_batch *b, const struct store_event *e);
/* Copies m into b. */
void store_batch_set_memo(struct store_batch *b, const struct store_memo *m);
/* Each copies its argument and its strings into b. */
void store_batch_put_alert(struct store_batch *b, const struct store_alert *a);
void store_batch_add_notification(struct store_batch *b, const struct store_notification *n);
void store_batch_update_notification(struct store_batch *b, const struct store_notif_update *u);
void store_batch_add_notif_attempt(struct store_batch *b, const struct store_notif_attempt *a);
void store_batch_clear(struct store_batch *b); /* frees contents, keeps b usable */
bool store_batch_empty(const struct store_batch *b);

/* Sums over a window, from rollups: never a scan of raw results. */
struct store_uptime {
    uint64_t count;
    uint64_t failures;      /* checks with ok == false */
    uint64_t latency_sum_us;
    int64_t latency_min_us; /* -1 when count == 0 */
    int64_t latency_max_us;
};

/* uptime ratio in [0,1], or -1 when there is no data */
double store_uptime_ratio(const struct store_uptime *u);

/* The pure part of the rollup math: how a window [since, until) is covered by
 * minute buckets at the edges and hour buckets in the middle. Buckets are
 * included when their start lies inside the window. spans[i] are
 * [start, end) in ms with their bucket width; returns how many (0..3). */
struct store_span {
    uint64_t start_ms, end_ms;
    uint64_t bucket_ms; /* 60000 or 3600000 */
};
size_t store_rollup_plan(uint64_t since_ms, uint64_t until_ms, struct store_span spans[3]);

struct store_monitor_state {
    int state;          /* last stored to_state; 0 (pending) if none */
    uint64_t since_ms;  /* when it entered that state; 0 if none */
};

/* A stored metric point, as read back. */
struct store_metric_point {
    uint64_t ts_ms;
    const char *name;
    const char *unit; /* may be NULL */
    double value;
};

typedef int (*store_result_cb)(const struct store_result *r, void *userdata);
typedef int (*store_metric_cb)(const struct store_metric_point *p, void *userdata);
typedef int (*store_event_cb)(const struct store_event *e, void *userdata);

/* Opens (creating if needed) the store under data_dir, runs pending schema
 * migrations, and enables WAL. The clock is borrowed for the store's life.
 * Caller closes with store_close(). */
int store_open(const char *data_dir, const struct opsd_clock *clock, struct store **ret_store,
               struct opsd_error *err);
struct store *store_close(struct store *s);

/* Schema version after migrations (for tests and `opsd status --json`). */
int store_schema_version(struct store *s);
/* Runs PRAGMA integrity_check; 0 if "ok". */
int store_integrity_check(struct store *s, struct opsd_error *err);

/* Finds or creates the monitor row by name; history is keyed by name, so a
 * changed or re-added monitor keeps it. type is enum conf_monitor_type. */
int store_monitor_ensure(struct store *s, const char *name, int type, int64_t *ret_id,
                         struct opsd_error *err);
int store_monitor_state(struct store *s, int64_t monitor_id, struct store_monitor_state *ret,
                        struct opsd_error *err);

/* The memo stored under key for the monitor, copied into buf (len bytes,
 * NUL-terminated, truncated); -ENOENT when there is none. */
int store_memo_get(struct store *s, int64_t monitor_id, const char *key, char *buf, size_t len,
                   struct opsd_error *err);

/* Writes every result and event of b in one transaction, updating the minute
 * and hour rollups in the same transaction. Worker-thread safe (see top). */
int store_write(struct store *s, const struct store_batch *b, struct opsd_error *err);

int store_uptime(struct store *s, int64_t monitor_id, uint64_t since_ms, uint64_t until_ms,
                 struct store_uptime *ret, struct opsd_error *err);
/* Per UTC day, the ndays days ending with the day of now_ms (oldest first):
 * out[i] must have room for ndays entries. From hour rollups.
 * ndays is 1..STORE_MAX_DAYS. */
#define STORE_MAX_DAYS 3660
int store_uptime_days(struct store *s, int64_t monitor_id, uint64_t now_ms, unsigned ndays,
                      struct store_uptime *out, struct opsd_error *err);
/* Raw results in [since, until), newest first, at most limit; cb returning
 * non-zero stops the walk. The result passed to cb is valid during the call.
 * limit is capped at OPSD_MAX_RESULTS_LIMIT; 0 returns nothing. Returns how
 * many results cb saw, or a negative value cb returned. cb must not call
 * back into the store. */
int store_results(struct store *s, int64_t monitor_id, uint64_t since_ms, uint64_t until_ms,
                  unsigned limit, store_result_cb cb, void *userdata, struct opsd_error *err);
/* State changes in [since, until), newest first (ties: the later stored
 * first), at most limit; the same contract as store_results(): limit capped
 * at OPSD_MAX_RESULTS_LIMIT, 0 returns nothing, e->cause valid during the
 * call, returns how many events cb saw or a negative value cb returned, cb
 * must not call back into the store. */
int store_events(struct store *s, int64_t monitor_id, uint64_t since_ms, uint64_t until_ms,
                 unsigned limit, store_event_cb cb, void *userdata, struct opsd_error *err);
/* Metric points in [since, until), newest first, at most limit; name NULL
 * for every metric of the monitor, else that name only. The same contract
 * as store_results(). Results' metrics are written with them and pruned
 * with them. */
int store_metrics(struct store *s, int64_t monitor_id, const char *name, uint64_t since_ms,
                  uint64_t until_ms, unsigned limit, store_metric_cb cb, void *userdata,
                  struct opsd_error *err);
/* The newest raw result; -ENOENT when there is none. ret->message points into
 * msgbuf (msglen bytes). */
int store_last_result(struct store *s, int64_t monitor_id, struct store_result *ret,
                      char *msgbuf, size_t msglen, struct opsd_error *err);
/* ---- reading alerts and notifications (loop thread) ---- */

typedef int (*store_alert_cb)(const struct store_alert *a, void *userdata);
typedef int (*store_notification_cb)(const struct store_notification *n, void *userdata);
typedef int (*store_notif_attempt_cb)(const struct store_notif_attempt *a, void *userdata);

/* The largest alert and notification ids stored (0 when none). */
int store_alert_max_id(struct store *s, int64_t *ret_id, struct opsd_error *err);
int store_notification_max_id(struct store *s, int64_t *ret_id, struct opsd_error *err);

struct store_alert_filter {
    int state;          /* 0 any; else one enum store_alert_state */
    bool open_only;     /* firing, acked or silenced (not resolved) */
    const char *monitor; /* NULL any */
    uint64_t since_ms;  /* starts_ms >= since (0: no bound) */
    uint64_t until_ms;  /* starts_ms < until (0: no bound) */
    unsigned limit;     /* capped at OPSD_MAX_RESULTS_LIMIT; 0 = the cap */
};
/* Alerts matching f, newest first (by id). Same callback contract as
 * store_results(). */
int store_alerts(struct store *s, const struct store_alert_filter *f, store_alert_cb cb,
                 void *userdata, struct opsd_error *err);
/* One alert by id; -ENOENT when there is none. Strings point into the store's
 * scratch space, valid until the next call on s. */
int store_alert_get(struct store *s, int64_t id, struct store_alert *ret, struct opsd_error *err);

/* What the alert statistics read of one alert: no texts, no labels. */
struct store_alert_timing {
    int64_t id;
    int severity;           /* enum conf_severity */
    int state;              /* enum store_alert_state */
    int review;             /* enum store_alert_review */
    uint64_t starts_ms;
    uint64_t acked_ms;      /* 0 = never */
    uint64_t resolved_ms;   /* 0 = not resolved */
};
typedef int (*store_alert_timing_cb)(const struct store_alert_timing *t, void *userdata);
/* Every alert with since <= starts_ms < until (until 0: no bound), oldest
 * first (by starts_ms, then id). No limit: statistics count them all, so
 * the caller bounds the window (or stops by returning non-zero). Returns
 * how many cb saw, or a negative value cb returned; cb must not call back
 * into the store. */
int store_alert_timings(struct store *s, uint64_t since_ms, uint64_t until_ms,
                        store_alert_timing_cb cb, void *userdata, struct opsd_error *err);

struct store_notification_filter {
    int state;          /* 0 any; else one enum store_notif_state */
    int64_t alert_id;   /* 0 any; else notifications about that alert */
    uint64_t since_ms;  /* created_ms >= since (0: no bound) */
    unsigned limit;     /* capped at OPSD_MAX_RESULTS_LIMIT; 0 = the cap */
    bool oldest_first;  /* the sender's restart load wants creation order */
};
int store_notifications(struct store *s, const struct store_notification_filter *f,
                        store_notification_cb cb, void *userdata, struct opsd_error *err);
/* One notification by id: cb is called once with it; -ENOENT if none. */
int store_notification_get(struct store *s, int64_t id, store_notification_cb cb, void *userdata,
                           struct opsd_error *err);
/* Attempts of one notification, oldest first. */
int store_notif_attempts(struct store *s, int64_t notification_id, store_notif_attempt_cb cb,
                         void *userdata, struct opsd_error *err);

/* ---- silences, API tokens and alert reviews: small, rare writes done at
 * once on the loop thread (through their own connection, waiting out the
 * writer) so the API answers only after they are durable. ---- */

/* A person's verdict on an alert, for the weekly review. */
struct store_review {
    int review;          /* STORE_REVIEW_ACTIONABLE or STORE_REVIEW_FALSE_POSITIVE */
    const char *by;      /* who, at most OPSD_MAX_NAME bytes; required */
    const char *comment; /* may be NULL; at most STORE_MAX_REVIEW_COMMENT bytes */
    uint64_t at_ms;      /* > 0 */
};
#define STORE_MAX_REVIEW_COMMENT 1024
/* Sets the review of alert id, in any state; a second review replaces the
 * first. -ENOENT if no such alert is stored, -EINVAL for a bad review. */
int store_alert_set_review(struct store *s, int64_t id, const struct store_review *rv,
                           struct opsd_error *err);

struct store_silence {
    int64_t id;                /* set by the store on insert */
    const char *matchers_json; /* [{"name":..,"op":"=","value":..}, ...] */
    uint64_t starts_ms, ends_ms;
    const char *author;
    const char *comment;
    uint64_t created_ms;
    uint64_t expired_ms;       /* 0 unless expired early by hand */
};
typedef int (*store_silence_cb)(const struct store_silence *si, void *userdata);
/* Inserts si (its id ignored); *ret_id gets the new id. */
int store_silence_add(struct store *s, const struct store_silence *si, int64_t *ret_id,
                      struct opsd_error *err);
/* Sets expired_ms (and ends_ms to at_ms if later); -ENOENT if no such
 * silence, -EALREADY if it had already ended by at_ms. */
int store_silence_expire(struct store *s, int64_t id, uint64_t at_ms, struct opsd_error *err);
/* Silences whose ends_ms > since_ms (0: all), oldest first. */
int store_silences(struct store *s, uint64_t since_ms, store_silence_cb cb, void *userdata,
                   struct opsd_error *err);

struct store_token {
    int64_t id;
    const char *name;
    const char *hash;   /* lowercase hex SHA-256 of the token */
    const char *prefix; /* the first characters, for listings */
    int scope;          /* enum apitoken_scope */
    uint64_t created_ms;
    uint64_t last_used_ms; /* 0 = never */
    uint64_t revoked_ms;   /* 0 = live */
};
typedef int (*store_token_cb)(const struct store_token *t, void *userdata);
/* -EEXIST when a live token already has that name. */
int store_token_add(struct store *s, const struct store_token *t, int64_t *ret_id,
                    struct opsd_error *err);
/* The live token with that hash; -ENOENT if none. Strings valid until the
 * next call on s. */
int store_token_find(struct store *s, const char *hash, struct store_token *ret,
                     struct opsd_error *err);
int store_tokens(struct store *s, store_token_cb cb, void *userdata, struct opsd_error *err);
/* By name or by id (a decimal string); -ENOENT if no live token matches. */
int store_token_revoke(struct store *s, const char *name_or_id, uint64_t at_ms,
                       struct opsd_error *err);

/* Deletes raw results (and minute rollups) older than before_ms; hour rollups
 * are kept for 400 days. Returns rows deleted (>= 0). */
int store_prune(struct store *s, uint64_t before_ms, struct opsd_error *err);
