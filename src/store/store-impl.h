/* What a storage backend implements, and the backend-independent helpers the
 * backends share. Only src/store/ includes this: callers see store.h alone.
 *
 * store.c validates every argument, clamps times and limits, and guarantees
 * that out parameters stay untouched on failure, so a backend may assume
 * sane input and may scribble on the scratch outputs it is handed. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define STORE_MINUTE_MS UINT64_C(60000)
#define STORE_HOUR_MS UINT64_C(3600000)
#define STORE_DAY_MS UINT64_C(86400000)
/* Hour rollups outlive raw results: a 90-day uptime (and a year's report)
 * must still be answerable after raw retention has pruned the details. */
#define STORE_HOUR_RETENTION_MS (400 * STORE_DAY_MS)
/* Every time handed to a backend is at most this, so it fits an SQL
 * INTEGER with room for a day's arithmetic on top (292 million years). */
#define STORE_TS_MAX ((uint64_t)INT64_MAX / 2)

struct store_ops {
    const char *name; /* "sqlite", later "postgres" */

    /* Frees everything the backend owns, s included. Never fails. */
    void (*close)(struct store *s);
    int (*integrity_check)(struct store *s, struct opsd_error *err);

    int (*monitor_ensure)(struct store *s, const char *name, int type, int64_t *ret_id,
                          struct opsd_error *err);
    int (*monitor_state)(struct store *s, int64_t monitor_id, struct store_monitor_state *ret,
                         struct opsd_error *err);

    /* The batch is non-empty and validated. Results, events, memos, the
     * pre-aggregated rollups (see store_rollup_aggregate()), alert upserts,
     * notification inserts (ignored when the idempotency key is stored),
     * notification updates and attempts commit together or not at all.
     * Called from the worker thread, like prune. */
    int (*write)(struct store *s, const struct store_batch *b, struct opsd_error *err);

    /* ret[i] = the rollup sums over spans[i] (the minute or the hour table,
     * by spans[i].bucket_ms), all n read from one snapshot. 1 <= n <= 3. */
    int (*span_sums)(struct store *s, int64_t monitor_id, const struct store_span *spans, size_t n,
                     struct store_uptime *ret, struct opsd_error *err);
    /* Adds the hour rollups of UTC days first_day .. first_day+ndays-1 (days
     * since the epoch; first_day may be negative) into out[day - first_day],
     * which store.c has set to empty. One query, not ndays. */
    int (*day_sums)(struct store *s, int64_t monitor_id, int64_t first_day, unsigned ndays,
                    struct store_uptime *out, struct opsd_error *err);

    /* Same contract as store_results(); since < until, 1 <= limit <= the cap. */
    int (*results)(struct store *s, int64_t monitor_id, uint64_t since_ms, uint64_t until_ms,
                   unsigned limit, store_result_cb cb, void *userdata, struct opsd_error *err);
    /* Same contract as store_events(); since < until, 1 <= limit <= the cap. */
    int (*events)(struct store *s, int64_t monitor_id, uint64_t since_ms, uint64_t until_ms,
                  unsigned limit, store_event_cb cb, void *userdata, struct opsd_error *err);
    /* Same contract as store_memo_get(); buf has len >= 1 bytes. */
    int (*memo_get)(struct store *s, int64_t monitor_id, const char *key, char *buf, size_t len,
                    struct opsd_error *err);
    /* Same contract as store_metrics(); since < until, 1 <= limit <= the cap. */
    int (*metrics)(struct store *s, int64_t monitor_id, const char *name, uint64_t since_ms,
                   uint64_t until_ms, unsigned limit, store_metric_cb cb, void *userdata,
                   struct opsd_error *err);
    /* Fills *ret (message copied into msgbuf, truncated to msglen - 1 bytes)
     * or returns -ENOENT. */
    int (*last_result)(struct store *s, int64_t monitor_id, struct store_result *ret, char *msgbuf,
                       size_t msglen, struct opsd_error *err);

    /* ---- alerts and notifications (loop thread) ---- */
    int (*alert_max_id)(struct store *s, int64_t *ret_id, struct opsd_error *err);
    int (*notification_max_id)(struct store *s, int64_t *ret_id, struct opsd_error *err);
    /* f is normalised: state 0 or known, since < until (until one past
     * STORE_TS_MAX for "no bound"), 1 <= limit <= the cap. Same callback
     * contract as results. */
    int (*alerts)(struct store *s, const struct store_alert_filter *f, store_alert_cb cb,
                  void *userdata, struct opsd_error *err);
    /* id > 0. Fills *ret with strings in the backend's scratch, which lives
     * until the next alert_get or close; -ENOENT when there is none. */
    int (*alert_get)(struct store *s, int64_t id, struct store_alert *ret, struct opsd_error *err);
    /* since < until (until one past STORE_TS_MAX for "no bound"). Same
     * callback contract as results. */
    int (*alert_timings)(struct store *s, uint64_t since_ms, uint64_t until_ms,
                         store_alert_timing_cb cb, void *userdata, struct opsd_error *err);
    /* f is normalised: since clamped, 1 <= limit <= the cap. */
    int (*notifications)(struct store *s, const struct store_notification_filter *f,
                         store_notification_cb cb, void *userdata, struct opsd_error *err);
    /* id > 0; cb once with the row (strings valid during the call). */
    int (*notification_get)(struct store *s, int64_t id, store_notification_cb cb, void *userdata,
                            struct opsd_error *err);
    /* The newest limit attempts, handed to cb oldest first. */
    int (*notif_attempts)(struct store *s, int64_t notification_id, unsigned limit,
                          store_notif_attempt_cb cb, void *userdata, struct opsd_error *err);

    /* ---- silences and tokens: the writes are durable (synced) when they
     * return, each in its own transaction; loop thread ---- */
    int (*silence_add)(struct store *s, const struct store_silence *si, int64_t *ret_id,
                       struct opsd_error *err);
    /* id > 0, 0 < at_ms <= STORE_TS_MAX. */
    int (*silence_expire)(struct store *s, int64_t id, uint64_t at_ms, struct opsd_error *err);
    /* The first limit silences (by id) with ends_ms > since_ms. */
    int (*silences)(struct store *s, uint64_t since_ms, unsigned limit, store_silence_cb cb,
                    void *userdata, struct opsd_error *err);
    /* id > 0; rv validated (a known review, by and comment within their
     * caps, 0 < at_ms <= STORE_TS_MAX). -ENOENT when no such alert. */
    int (*alert_set_review)(struct store *s, int64_t id, const struct store_review *rv,
                            struct opsd_error *err);
    int (*token_add)(struct store *s, const struct store_token *t, int64_t *ret_id,
                     struct opsd_error *err);
    /* hash is 64 lowercase hex digits; strings in scratch like alert_get's. */
    int (*token_find)(struct store *s, const char *hash, struct store_token *ret,
                      struct opsd_error *err);
    int (*tokens)(struct store *s, unsigned limit, store_token_cb cb, void *userdata,
                  struct opsd_error *err);
    /* Revokes the live token named name, else (id > 0) the live token with
     * that id; -ENOENT if neither exists. */
    int (*token_revoke)(struct store *s, const char *name, int64_t id, uint64_t at_ms,
                        struct opsd_error *err);

    /* Deletes raw results with ts_ms < before_ms, minute rollups whose bucket
     * ends at or before before_ms, and hour rollups whose bucket ends at or
     * before hour_before_ms, in bounded chunks. Returns rows deleted. Runs
     * where write runs (the worker), never at the same time as write. */
    int (*prune)(struct store *s, uint64_t before_ms, uint64_t hour_before_ms,
                 struct opsd_error *err);
};

/* The backend-independent head of every backend's handle, which embeds it
 * as its first member. */
struct store {
    const struct store_ops *ops;
    const struct opsd_clock *clock; /* borrowed */
    int schema_version;             /* set by the backend's open */
};

/* One row of a rollup table: the checks of one monitor in one bucket. */
struct store_rollup {
    int64_t monitor_id;
    uint64_t bucket_ms;
    uint64_t count;
    uint64_t failures;
    uint64_t latency_sum_us;
    int64_t latency_min_us;
    int64_t latency_max_us;
};

/* Sums b's non-maintenance results per (monitor, minute) and per (monitor,
 * hour), so a batch of 10 000 results costs one upsert per bucket touched
 * rather than two per result. Caller frees both arrays. */
void store_rollup_aggregate(const struct store_batch *b, struct store_rollup **ret_minutes,
                            size_t *ret_n_minutes, struct store_rollup **ret_hours,
                            size_t *ret_n_hours);

/* Parses a notification's alert_ids ("12,13": decimal ids > 0, single
 * commas, nothing else) into *ret_ids (caller frees) and *ret_n; NULL or ""
 * is no ids. -EINVAL (outputs untouched) when malformed. */
int store_alert_ids_parse(const char *ids, int64_t **ret_ids, size_t *ret_n);

/* An empty sum: zero counts, min and max -1. */
void store_uptime_init(struct store_uptime *u);
/* Merges part into acc (counts add, min/max combine, empty parts ignored). */
void store_uptime_add(struct store_uptime *acc, const struct store_uptime *part);

/* How many bytes of m are stored: at most OPSD_MAX_MESSAGE, cut back to a
 * UTF-8 character boundary so a truncated message is still valid text. */
size_t store_message_len(const char *m);
/* The same for a result body, capped at OPSD_MAX_RESULT_BODY. */
size_t store_body_len(const char *b);

/* Backends. Each opens an existing or new database, runs pending migrations
 * and returns a handle whose ops point at its own table. */
int store_sqlite_open(const char *db_path, const struct opsd_clock *clock, struct store **ret_store,
                      struct opsd_error *err);
