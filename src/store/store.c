/* The backend-independent half of the store: argument checks, dispatch
 * through struct store_ops, batches, rollup planning and aggregation, and
 * the uptime arithmetic built on them. */
#include "store/store-impl.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "util/cleanup.h"
#include "util/opsd_limits.h"
#include "util/xalloc.h"

/* ---- batches ---- */

static size_t cut_len(const char *m, size_t cap)
{
    size_t n = strnlen(m, cap + 1);

    if (n <= cap)
        return n;
    n = cap;
    /* Back off over continuation bytes so no character is cut in half. */
    while (n > 0 && ((unsigned char)m[n] & 0xC0) == 0x80)
        n--;
    return n;
}

size_t store_body_len(const char *b)
{
    return cut_len(b, OPSD_MAX_RESULT_BODY);
}

size_t store_message_len(const char *m)
{
    return cut_len(m, OPSD_MAX_MESSAGE);
}

static char *copy_text(const char *s)
{
    return s ? xstrndup(s, store_message_len(s)) : NULL;
}

void store_batch_add_result(struct store_batch *b, const struct store_result *r)
{
    struct store_result *dst;

    xgrow((void **)&b->results, &b->cap_results, b->n_results + 1, sizeof(*b->results));
    dst = &b->results[b->n_results++];
    *dst = *r;
    dst->message = copy_text(r->message);
    dst->body = r->body ? xstrndup(r->body, store_body_len(r->body)) : NULL;
    dst->metrics = NULL;
    dst->n_metrics = 0;
    if (r->metrics && r->n_metrics) {
        size_t n = MIN(r->n_metrics, (size_t)STORE_MAX_METRICS);
        struct store_metric *m = xcalloc(n, sizeof(*m));

        for (size_t i = 0; i < n; i++) {
            m[i].name =
                xstrndup(r->metrics[i].name ? r->metrics[i].name : "", STORE_MAX_METRIC_NAME);
            m[i].unit = copy_text(r->metrics[i].unit);
            m[i].value = r->metrics[i].value;
        }
        dst->metrics = m;
        dst->n_metrics = n;
    }
}

void store_batch_add_event(struct store_batch *b, const struct store_event *e)
{
    struct store_event *dst;

    xgrow((void **)&b->events, &b->cap_events, b->n_events + 1, sizeof(*b->events));
    dst = &b->events[b->n_events++];
    *dst = *e;
    dst->cause = copy_text(e->cause);
    dst->kind = e->kind ? xstrdup(e->kind) : NULL;
}

void store_batch_set_memo(struct store_batch *b, const struct store_memo *m)
{
    struct store_memo *dst;

    xgrow((void **)&b->memos, &b->cap_memos, b->n_memos + 1, sizeof(*b->memos));
    dst = &b->memos[b->n_memos++];
    dst->monitor_id = m->monitor_id;
    dst->key = xstrndup(m->key ? m->key : "", STORE_MAX_MEMO_KEY);
    dst->value = xstrndup(m->value ? m->value : "", STORE_MAX_MEMO_VALUE);
}

/* For strings the store refuses rather than cuts (JSON, keys, names): one
 * byte over the cap is kept, so batch_validate() still sees the overflow,
 * and memory stays bounded whatever the caller hands in. */
static char *copy_capped(const char *s, size_t cap)
{
    return s ? xstrndup(s, cap + 1) : NULL;
}

void store_batch_put_alert(struct store_batch *b, const struct store_alert *a)
{
    struct store_alert *dst;

    xgrow((void **)&b->alerts, &b->cap_alerts, b->n_alerts + 1, sizeof(*b->alerts));
    dst = &b->alerts[b->n_alerts++];
    *dst = *a;
    dst->monitor = copy_capped(a->monitor, OPSD_MAX_NAME);
    dst->source = copy_text(a->source);
    dst->labels_json = copy_capped(a->labels_json, OPSD_MAX_ALERT_JSON);
    dst->summary = copy_text(a->summary);
    dst->message = copy_text(a->message);
    dst->suppressed = copy_text(a->suppressed);
    dst->acked_by = copy_text(a->acked_by);
    dst->review_by = copy_text(a->review_by);
    dst->review_comment = copy_capped(a->review_comment, STORE_MAX_REVIEW_COMMENT);
}

void store_batch_add_notification(struct store_batch *b, const struct store_notification *n)
{
    struct store_notification *dst;

    xgrow((void **)&b->notifications, &b->cap_notifications, b->n_notifications + 1,
          sizeof(*b->notifications));
    dst = &b->notifications[b->n_notifications++];
    *dst = *n;
    dst->idempotency_key = copy_capped(n->idempotency_key, OPSD_MAX_MESSAGE);
    dst->receiver = copy_capped(n->receiver, OPSD_MAX_NAME);
    dst->reason = copy_text(n->reason);
    dst->group_key = copy_capped(n->group_key, OPSD_MAX_ALERT_JSON);
    dst->alert_ids = copy_capped(n->alert_ids, OPSD_MAX_NOTIFY_PAYLOAD);
    dst->payload_json = copy_capped(n->payload_json, OPSD_MAX_NOTIFY_PAYLOAD);
    dst->last_error = copy_text(n->last_error);
}

void store_batch_update_notification(struct store_batch *b, const struct store_notif_update *u)
{
    struct store_notif_update *dst;

    xgrow((void **)&b->notif_updates, &b->cap_notif_updates, b->n_notif_updates + 1,
          sizeof(*b->notif_updates));
    dst = &b->notif_updates[b->n_notif_updates++];
    *dst = *u;
    dst->last_error = copy_text(u->last_error);
}

void store_batch_add_notif_attempt(struct store_batch *b, const struct store_notif_attempt *a)
{
    struct store_notif_attempt *dst;

    xgrow((void **)&b->notif_attempts, &b->cap_notif_attempts, b->n_notif_attempts + 1,
          sizeof(*b->notif_attempts));
    dst = &b->notif_attempts[b->n_notif_attempts++];
    *dst = *a;
    dst->error = copy_text(a->error);
}

bool store_batch_empty(const struct store_batch *b)
{
    return b->n_results == 0 && b->n_events == 0 && b->n_memos == 0 && b->n_alerts == 0 &&
           b->n_notifications == 0 && b->n_notif_updates == 0 && b->n_notif_attempts == 0;
}

void store_batch_clear(struct store_batch *b)
{
    size_t i;

    /* The strings were copied by store_batch_add_*(), so the batch owns
     * them even though the public structs hold them as const. */
    for (i = 0; i < b->n_results; i++) {
        struct store_result *r = &b->results[i];

        free((char *)r->message);
        free((char *)r->body);
        for (size_t j = 0; j < r->n_metrics; j++) {
            free((char *)r->metrics[j].name);
            free((char *)r->metrics[j].unit);
        }
        free((struct store_metric *)r->metrics);
    }
    for (i = 0; i < b->n_events; i++) {
        free((char *)b->events[i].cause);
        free((char *)b->events[i].kind);
    }
    for (i = 0; i < b->n_memos; i++) {
        free((char *)b->memos[i].key);
        free((char *)b->memos[i].value);
    }
    for (i = 0; i < b->n_alerts; i++) {
        struct store_alert *a = &b->alerts[i];

        free((char *)a->monitor);
        free((char *)a->source);
        free((char *)a->labels_json);
        free((char *)a->summary);
        free((char *)a->message);
        free((char *)a->suppressed);
        free((char *)a->acked_by);
        free((char *)a->review_by);
        free((char *)a->review_comment);
    }
    for (i = 0; i < b->n_notifications; i++) {
        struct store_notification *n = &b->notifications[i];

        free((char *)n->idempotency_key);
        free((char *)n->receiver);
        free((char *)n->reason);
        free((char *)n->group_key);
        free((char *)n->alert_ids);
        free((char *)n->payload_json);
        free((char *)n->last_error);
    }
    for (i = 0; i < b->n_notif_updates; i++)
        free((char *)b->notif_updates[i].last_error);
    for (i = 0; i < b->n_notif_attempts; i++)
        free((char *)b->notif_attempts[i].error);
    free(b->results);
    free(b->events);
    free(b->memos);
    free(b->alerts);
    free(b->notifications);
    free(b->notif_updates);
    free(b->notif_attempts);
    memset(b, 0, sizeof(*b));
}

int store_alert_ids_parse(const char *ids, int64_t **ret_ids, size_t *ret_n)
{
    _cleanup_free_ int64_t *v = NULL;
    size_t n = 0, cap = 0;
    const char *p = ids;

    if (!ids || !*ids) {
        *ret_ids = NULL;
        *ret_n = 0;
        return 0;
    }
    /* Strict: decimal ids > 0 joined by single commas, no spaces or signs,
     * so "12,13" has one spelling and the join table one meaning. */
    for (;;) {
        int64_t id = 0;

        if (*p < '1' || *p > '9')
            return -EINVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (id > (INT64_MAX - (*p - '0')) / 10)
                return -EINVAL;
            id = id * 10 + (*p - '0');
        }
        xgrow((void **)&v, &cap, n + 1, sizeof(*v));
        v[n++] = id;
        if (*p == '\0')
            break;
        if (*p++ != ',')
            return -EINVAL;
    }
    *ret_ids = steal_ptr(v);
    *ret_n = n;
    return 0;
}

/* ---- rollup math ---- */

void store_uptime_init(struct store_uptime *u)
{
    *u = (struct store_uptime){ .latency_min_us = -1, .latency_max_us = -1 };
}

void store_uptime_add(struct store_uptime *acc, const struct store_uptime *part)
{
    if (part->count == 0)
        return;
    if (acc->count == 0 || part->latency_min_us < acc->latency_min_us)
        acc->latency_min_us = part->latency_min_us;
    if (acc->count == 0 || part->latency_max_us > acc->latency_max_us)
        acc->latency_max_us = part->latency_max_us;
    acc->count += part->count;
    acc->failures += part->failures;
    acc->latency_sum_us += part->latency_sum_us;
}

double store_uptime_ratio(const struct store_uptime *u)
{
    if (!u || u->count == 0)
        return -1;
    return (double)(u->count - u->failures) / (double)u->count;
}

static uint64_t floor_to(uint64_t t, uint64_t w)
{
    return t - t % w;
}

/* The first multiple of w at or after t; UINT64_MAX when there is none, which
 * is past every window's end. */
static uint64_t ceil_to(uint64_t t, uint64_t w)
{
    uint64_t f = floor_to(t, w);

    if (f == t)
        return t;
    return f > UINT64_MAX - w ? UINT64_MAX : f + w;
}

/* A bucket (start b, width w) belongs to [since, until) when since <= b <
 * until. Every minute bucket that does is covered exactly once: the minutes
 * before the first whole hour (head), the whole hours (middle, read from
 * the hour table), and the minutes of the last, partial hour (tail). An hour
 * bucket is only used when all sixty of its minutes belong to the window,
 * so both tables give the same answer and the hour table answers most of it. */
size_t store_rollup_plan(uint64_t since_ms, uint64_t until_ms, struct store_span spans[3])
{
    uint64_t head_start, head_end, mid_start, mid_end, tail_start;
    size_t n = 0;

    if (since_ms >= until_ms)
        return 0;

    head_start = ceil_to(since_ms, STORE_MINUTE_MS);
    head_end = MIN(ceil_to(since_ms, STORE_HOUR_MS), until_ms);
    mid_start = ceil_to(since_ms, STORE_HOUR_MS);
    mid_end = floor_to(until_ms, STORE_HOUR_MS);
    tail_start = MAX(mid_end, head_end);

    if (head_start < head_end)
        spans[n++] = (struct store_span){ head_start, head_end, STORE_MINUTE_MS };
    if (mid_start < mid_end)
        spans[n++] = (struct store_span){ mid_start, mid_end, STORE_HOUR_MS };
    if (tail_start < until_ms)
        spans[n++] = (struct store_span){ tail_start, until_ms, STORE_MINUTE_MS };
    return n;
}

struct keyed {
    int64_t monitor_id;
    uint64_t minute_ms;
    const struct store_result *r;
};

static int keyed_cmp(const void *a, const void *b)
{
    const struct keyed *x = a, *y = b;

    if (x->monitor_id != y->monitor_id)
        return x->monitor_id < y->monitor_id ? -1 : 1;
    if (x->minute_ms != y->minute_ms)
        return x->minute_ms < y->minute_ms ? -1 : 1;
    return 0;
}

/* Adds one row to rows unless it continues the last one. */
static void rollup_push(struct store_rollup **rows, size_t *n, size_t *cap,
                        const struct store_rollup *row)
{
    struct store_rollup *last = *n ? &(*rows)[*n - 1] : NULL;

    if (last && last->monitor_id == row->monitor_id && last->bucket_ms == row->bucket_ms) {
        last->count += row->count;
        last->failures += row->failures;
        last->latency_sum_us += row->latency_sum_us;
        last->latency_min_us = MIN(last->latency_min_us, row->latency_min_us);
        last->latency_max_us = MAX(last->latency_max_us, row->latency_max_us);
        return;
    }
    xgrow((void **)rows, cap, *n + 1, sizeof(**rows));
    (*rows)[(*n)++] = *row;
}

void store_rollup_aggregate(const struct store_batch *b, struct store_rollup **ret_minutes,
                            size_t *ret_n_minutes, struct store_rollup **ret_hours,
                            size_t *ret_n_hours)
{
    _cleanup_free_ struct keyed *keys = xmalloc(b->n_results * sizeof(*keys));
    struct store_rollup *minutes = NULL, *hours = NULL;
    size_t nk = 0, nm = 0, cm = 0, nh = 0, ch = 0, i;

    for (i = 0; i < b->n_results; i++) {
        const struct store_result *r = &b->results[i];

        /* Maintenance checks are kept as raw history but must not count
         * against uptime, and rollups are what uptime is read from. */
        if (r->maintenance)
            continue;
        keys[nk++] = (struct keyed){ r->monitor_id, floor_to(r->ts_ms, STORE_MINUTE_MS), r };
    }
    /* Sorting by (monitor, minute) also orders by (monitor, hour), so one
     * pass builds both levels. */
    qsort(keys, nk, sizeof(*keys), keyed_cmp);
    for (i = 0; i < nk; i++) {
        struct store_rollup row = {
            .monitor_id = keys[i].monitor_id,
            .bucket_ms = keys[i].minute_ms,
            .count = 1,
            .failures = keys[i].r->ok ? 0 : 1,
            .latency_sum_us = (uint64_t)keys[i].r->total_us,
            .latency_min_us = keys[i].r->total_us,
            .latency_max_us = keys[i].r->total_us,
        };

        rollup_push(&minutes, &nm, &cm, &row);
        row.bucket_ms = floor_to(row.bucket_ms, STORE_HOUR_MS);
        rollup_push(&hours, &nh, &ch, &row);
    }
    *ret_minutes = minutes;
    *ret_n_minutes = nm;
    *ret_hours = hours;
    *ret_n_hours = nh;
}

/* ---- dispatch ---- */

static int mkdir_p(const char *dir, mode_t mode)
{
    _cleanup_free_ char *p = xstrdup(dir);
    struct stat st;
    char *c;

    for (c = p + 1;; c++) {
        char saved = *c;

        if (saved != '/' && saved != '\0')
            continue;
        *c = '\0';
        if (mkdir(p, mode) < 0 && errno != EEXIST)
            return -errno;
        *c = saved;
        if (saved == '\0')
            break;
    }
    if (stat(dir, &st) < 0)
        return -errno;
    if (!S_ISDIR(st.st_mode))
        return -ENOTDIR;
    return 0;
}

int store_open(const char *data_dir, const struct opsd_clock *clock, struct store **ret_store,
               struct opsd_error *err)
{
    _cleanup_free_ char *path = NULL;
    int r;

    if (!data_dir || !*data_dir || !clock || !ret_store)
        return opsd_errorf(err, -EINVAL, "cannot open store: missing data directory or clock");
    r = mkdir_p(data_dir, 0750);
    if (r < 0)
        return opsd_errorf(err, r, "cannot create data directory '%s': %s", data_dir, strerror(-r));
    /* Only SQLite for now; a PostgreSQL backend would be chosen here (by a
     * config key or a URL-shaped data_dir) without any caller noticing. */
    path = xasprintf("%s/opsd.db", data_dir);
    return store_sqlite_open(path, clock, ret_store, err);
}

struct store *store_close(struct store *s)
{
    if (s)
        s->ops->close(s);
    return NULL;
}

int store_schema_version(struct store *s)
{
    if (!s)
        return -EINVAL;
    return s->schema_version;
}

int store_integrity_check(struct store *s, struct opsd_error *err)
{
    if (!s)
        return opsd_errorf(err, -EINVAL, "cannot check integrity: no store");
    return s->ops->integrity_check(s, err);
}

int store_monitor_ensure(struct store *s, const char *name, int type, int64_t *ret_id,
                         struct opsd_error *err)
{
    if (!s || !ret_id || !name)
        return opsd_errorf(err, -EINVAL, "cannot ensure monitor: missing argument");
    if (!*name || strlen(name) > OPSD_MAX_NAME)
        return opsd_errorf(err, -EINVAL, "invalid monitor name '%.*s' (1 to %d bytes)",
                           OPSD_MAX_NAME, name, OPSD_MAX_NAME);
    return s->ops->monitor_ensure(s, name, type, ret_id, err);
}

int store_monitor_state(struct store *s, int64_t monitor_id, struct store_monitor_state *ret,
                        struct opsd_error *err)
{
    if (!s || !ret)
        return opsd_errorf(err, -EINVAL, "cannot read monitor state: missing argument");
    return s->ops->monitor_state(s, monitor_id, ret, err);
}

/* Whether s (NULL allowed unless required) fits cap bytes. */
static bool text_fits(const char *s, size_t cap, bool required)
{
    if (!s)
        return !required;
    return (!required || *s) && strnlen(s, cap + 1) <= cap;
}

static bool alert_state_valid(int state)
{
    return state >= STORE_ALERT_FIRING && state <= STORE_ALERT_SILENCED;
}

static bool notif_state_valid(int state)
{
    return state >= STORE_NOTIF_PENDING && state <= STORE_NOTIF_FAILED;
}

/* The messages of these two are completed by batch_validate() with the
 * row's index. */
static int alert_validate(const struct store_alert *a, struct opsd_error *err)
{
    if (a->id <= 0)
        return opsd_errorf(err, -EINVAL, "id %lld", (long long)a->id);
    if (!alert_state_valid(a->state))
        return opsd_errorf(err, -EINVAL, "unknown state %d", a->state);
    if (a->review < STORE_REVIEW_NONE || a->review > STORE_REVIEW_FALSE_POSITIVE)
        return opsd_errorf(err, -EINVAL, "unknown review %d", a->review);
    if (MAX(MAX(a->starts_ms, a->updated_ms), MAX(a->acked_ms, a->resolved_ms)) > STORE_TS_MAX ||
        MAX(a->reviewed_ms, a->ends_ms) > STORE_TS_MAX)
        return opsd_errorf(err, -EINVAL, "time out of range");
    if (!text_fits(a->monitor, OPSD_MAX_NAME, false))
        return opsd_errorf(err, -EINVAL, "monitor name over %d bytes", OPSD_MAX_NAME);
    /* Cut JSON is not JSON: the caller caps it, the store only refuses. */
    if (!text_fits(a->labels_json, OPSD_MAX_ALERT_JSON, false))
        return opsd_errorf(err, -EINVAL, "labels over %d bytes", OPSD_MAX_ALERT_JSON);
    if (!text_fits(a->review_comment, STORE_MAX_REVIEW_COMMENT, false))
        return opsd_errorf(err, -EINVAL, "review comment over %d bytes", STORE_MAX_REVIEW_COMMENT);
    return 0;
}

static int notification_validate(const struct store_notification *n, struct opsd_error *err)
{
    _cleanup_free_ int64_t *ids = NULL;
    size_t n_ids;

    if (n->id <= 0)
        return opsd_errorf(err, -EINVAL, "id %lld", (long long)n->id);
    if (!text_fits(n->idempotency_key, OPSD_MAX_MESSAGE, true))
        return opsd_errorf(err, -EINVAL, "idempotency key missing or over %d bytes",
                           OPSD_MAX_MESSAGE);
    if (!text_fits(n->receiver, OPSD_MAX_NAME, true))
        return opsd_errorf(err, -EINVAL, "receiver missing or over %d bytes", OPSD_MAX_NAME);
    if (!notif_state_valid(n->state))
        return opsd_errorf(err, -EINVAL, "unknown state %d", n->state);
    if (MAX(MAX(n->created_ms, n->next_attempt_ms), MAX(n->last_attempt_ms, n->done_ms)) >
        STORE_TS_MAX)
        return opsd_errorf(err, -EINVAL, "time out of range");
    if (!text_fits(n->group_key, OPSD_MAX_ALERT_JSON, false))
        return opsd_errorf(err, -EINVAL, "group key over %d bytes", OPSD_MAX_ALERT_JSON);
    if (!text_fits(n->payload_json, OPSD_MAX_NOTIFY_PAYLOAD, false))
        return opsd_errorf(err, -EINVAL, "payload over %d bytes", OPSD_MAX_NOTIFY_PAYLOAD);
    if (!text_fits(n->alert_ids, OPSD_MAX_NOTIFY_PAYLOAD, false) ||
        store_alert_ids_parse(n->alert_ids, &ids, &n_ids) < 0)
        return opsd_errorf(err, -EINVAL, "alert ids '%.32s' are not like \"12,13\"", n->alert_ids);
    return 0;
}

/* Refuses what the schema cannot hold faithfully before a transaction is
 * opened, so a bad row never half-writes a batch. */
static int batch_validate(const struct store_batch *b, struct opsd_error *err)
{
    struct opsd_error why = { 0 };
    size_t i;
    int rc;

    if ((b->n_results && !b->results) || (b->n_events && !b->events) || (b->n_memos && !b->memos) ||
        (b->n_alerts && !b->alerts) || (b->n_notifications && !b->notifications) ||
        (b->n_notif_updates && !b->notif_updates) || (b->n_notif_attempts && !b->notif_attempts))
        return opsd_errorf(err, -EINVAL, "invalid batch: counts without arrays");
    for (i = 0; i < b->n_results; i++) {
        const struct store_result *r = &b->results[i];

        if (r->monitor_id <= 0)
            return opsd_errorf(err, -EINVAL, "invalid result %zu in batch: monitor id %lld", i,
                               (long long)r->monitor_id);
        if (r->ts_ms > STORE_TS_MAX)
            return opsd_errorf(err, -EINVAL, "invalid result %zu in batch: timestamp out of range",
                               i);
        if (r->total_us < 0)
            return opsd_errorf(err, -EINVAL, "invalid result %zu in batch: total_us is not set", i);
    }
    for (i = 0; i < b->n_memos; i++) {
        const struct store_memo *m = &b->memos[i];

        if (m->monitor_id <= 0 || !m->key || !*m->key || !m->value)
            return opsd_errorf(err, -EINVAL, "invalid memo %zu in batch", i);
    }
    for (i = 0; i < b->n_events; i++) {
        const struct store_event *e = &b->events[i];

        if (e->monitor_id <= 0)
            return opsd_errorf(err, -EINVAL, "invalid event %zu in batch: monitor id %lld", i,
                               (long long)e->monitor_id);
        if (e->ts_ms > STORE_TS_MAX)
            return opsd_errorf(err, -EINVAL, "invalid event %zu in batch: timestamp out of range",
                               i);
    }
    for (i = 0; i < b->n_alerts; i++) {
        rc = alert_validate(&b->alerts[i], &why);
        if (rc < 0)
            return opsd_errorf(err, rc, "invalid alert %zu in batch: %s", i, why.msg);
    }
    for (i = 0; i < b->n_notifications; i++) {
        rc = notification_validate(&b->notifications[i], &why);
        if (rc < 0)
            return opsd_errorf(err, rc, "invalid notification %zu in batch: %s", i, why.msg);
    }
    for (i = 0; i < b->n_notif_updates; i++) {
        const struct store_notif_update *u = &b->notif_updates[i];

        if (u->id <= 0 || !notif_state_valid(u->state))
            return opsd_errorf(err, -EINVAL, "invalid notification update %zu in batch", i);
        if (MAX(MAX(u->next_attempt_ms, u->last_attempt_ms), u->done_ms) > STORE_TS_MAX)
            return opsd_errorf(err, -EINVAL,
                               "invalid notification update %zu in batch: time out of range", i);
    }
    for (i = 0; i < b->n_notif_attempts; i++) {
        const struct store_notif_attempt *a = &b->notif_attempts[i];

        if (a->notification_id <= 0 || a->ts_ms > STORE_TS_MAX)
            return opsd_errorf(err, -EINVAL, "invalid notification attempt %zu in batch", i);
    }
    return 0;
}

int store_write(struct store *s, const struct store_batch *b, struct opsd_error *err)
{
    int r;

    if (!s || !b)
        return opsd_errorf(err, -EINVAL, "cannot write batch: missing argument");
    r = batch_validate(b, err);
    if (r < 0)
        return r;
    if (store_batch_empty(b))
        return 0;
    return s->ops->write(s, b, err);
}

int store_uptime(struct store *s, int64_t monitor_id, uint64_t since_ms, uint64_t until_ms,
                 struct store_uptime *ret, struct opsd_error *err)
{
    struct store_span spans[3];
    struct store_uptime parts[3], sum;
    size_t n, i;
    int r;

    if (!s || !ret)
        return opsd_errorf(err, -EINVAL, "cannot read uptime: missing argument");
    if (since_ms > until_ms)
        return opsd_errorf(err, -EINVAL, "cannot read uptime: window ends before it starts");

    store_uptime_init(&sum);
    /* Nothing is stored past STORE_TS_MAX, so clamping loses nothing and
     * lets callers pass UINT64_MAX for "until the end". */
    n = store_rollup_plan(MIN(since_ms, STORE_TS_MAX), MIN(until_ms, STORE_TS_MAX), spans);
    if (n > 0) {
        r = s->ops->span_sums(s, monitor_id, spans, n, parts, err);
        if (r < 0)
            return r;
        for (i = 0; i < n; i++)
            store_uptime_add(&sum, &parts[i]);
    }
    *ret = sum;
    return 0;
}

int store_uptime_days(struct store *s, int64_t monitor_id, uint64_t now_ms, unsigned ndays,
                      struct store_uptime *out, struct opsd_error *err)
{
    _cleanup_free_ struct store_uptime *days = NULL;
    int64_t first_day;
    unsigned i;
    int r;

    if (!s || !out)
        return opsd_errorf(err, -EINVAL, "cannot read daily uptime: missing argument");
    if (ndays == 0 || ndays > STORE_MAX_DAYS)
        return opsd_errorf(err, -EINVAL, "cannot read daily uptime: %u days (1 to %d)", ndays,
                           STORE_MAX_DAYS);
    if (now_ms > STORE_TS_MAX)
        return opsd_errorf(err, -EINVAL, "cannot read daily uptime: time out of range");

    /* Filled in scratch space so out is untouched if the backend fails
     * halfway through its rows. */
    days = xmalloc(ndays * sizeof(*days));
    for (i = 0; i < ndays; i++)
        store_uptime_init(&days[i]);
    first_day = (int64_t)(now_ms / STORE_DAY_MS) - (int64_t)(ndays - 1);
    r = s->ops->day_sums(s, monitor_id, first_day, ndays, days, err);
    if (r < 0)
        return r;
    memcpy(out, days, ndays * sizeof(*days));
    return 0;
}

int store_results(struct store *s, int64_t monitor_id, uint64_t since_ms, uint64_t until_ms,
                  unsigned limit, store_result_cb cb, void *userdata, struct opsd_error *err)
{
    if (!s || !cb)
        return opsd_errorf(err, -EINVAL, "cannot read results: missing argument");
    if (since_ms > until_ms)
        return opsd_errorf(err, -EINVAL, "cannot read results: window ends before it starts");
    since_ms = MIN(since_ms, STORE_TS_MAX);
    until_ms = MIN(until_ms, STORE_TS_MAX);
    if (limit == 0 || since_ms == until_ms)
        return 0;
    return s->ops->results(s, monitor_id, since_ms, until_ms, MIN(limit, OPSD_MAX_RESULTS_LIMIT),
                           cb, userdata, err);
}

int store_events(struct store *s, int64_t monitor_id, uint64_t since_ms, uint64_t until_ms,
                 unsigned limit, store_event_cb cb, void *userdata, struct opsd_error *err)
{
    if (!s || !cb)
        return opsd_errorf(err, -EINVAL, "cannot read events: missing argument");
    if (since_ms > until_ms)
        return opsd_errorf(err, -EINVAL, "cannot read events: window ends before it starts");
    since_ms = MIN(since_ms, STORE_TS_MAX);
    until_ms = MIN(until_ms, STORE_TS_MAX);
    if (limit == 0 || since_ms == until_ms)
        return 0;
    return s->ops->events(s, monitor_id, since_ms, until_ms, MIN(limit, OPSD_MAX_RESULTS_LIMIT), cb,
                          userdata, err);
}

int store_memo_get(struct store *s, int64_t monitor_id, const char *key, char *buf, size_t len,
                   struct opsd_error *err)
{
    if (!s || !key || !buf || !len)
        return opsd_errorf(err, -EINVAL, "cannot read memo: missing argument");
    return s->ops->memo_get(s, monitor_id, key, buf, len, err);
}

int store_metrics(struct store *s, int64_t monitor_id, const char *name, uint64_t since_ms,
                  uint64_t until_ms, unsigned limit, store_metric_cb cb, void *userdata,
                  struct opsd_error *err)
{
    if (!s || !cb)
        return opsd_errorf(err, -EINVAL, "cannot read metrics: missing argument");
    if (since_ms > until_ms)
        return opsd_errorf(err, -EINVAL, "cannot read metrics: window ends before it starts");
    since_ms = MIN(since_ms, STORE_TS_MAX);
    until_ms = MIN(until_ms, STORE_TS_MAX);
    if (limit == 0 || since_ms == until_ms)
        return 0;
    return s->ops->metrics(s, monitor_id, name, since_ms, until_ms,
                           MIN(limit, OPSD_MAX_RESULTS_LIMIT), cb, userdata, err);
}

int store_last_result(struct store *s, int64_t monitor_id, struct store_result *ret, char *msgbuf,
                      size_t msglen, struct opsd_error *err)
{
    if (!s || !ret || (!msgbuf && msglen))
        return opsd_errorf(err, -EINVAL, "cannot read last result: missing argument");
    return s->ops->last_result(s, monitor_id, ret, msgbuf, msglen, err);
}

/* ---- alerts and notifications ---- */

int store_alert_max_id(struct store *s, int64_t *ret_id, struct opsd_error *err)
{
    if (!s || !ret_id)
        return opsd_errorf(err, -EINVAL, "cannot read largest alert id: missing argument");
    return s->ops->alert_max_id(s, ret_id, err);
}

int store_notification_max_id(struct store *s, int64_t *ret_id, struct opsd_error *err)
{
    if (!s || !ret_id)
        return opsd_errorf(err, -EINVAL, "cannot read largest notification id: missing argument");
    return s->ops->notification_max_id(s, ret_id, err);
}

/* A filter's limit: 0 means as many as one query may return. */
static unsigned filter_limit(unsigned limit)
{
    return limit == 0 ? OPSD_MAX_RESULTS_LIMIT : MIN(limit, (unsigned)OPSD_MAX_RESULTS_LIMIT);
}

int store_alerts(struct store *s, const struct store_alert_filter *f, store_alert_cb cb,
                 void *userdata, struct opsd_error *err)
{
    struct store_alert_filter q;

    if (!s || !f || !cb)
        return opsd_errorf(err, -EINVAL, "cannot read alerts: missing argument");
    if (f->state != 0 && !alert_state_valid(f->state))
        return opsd_errorf(err, -EINVAL, "cannot read alerts: unknown state %d", f->state);
    if (f->monitor && strlen(f->monitor) > OPSD_MAX_NAME)
        return opsd_errorf(err, -EINVAL, "cannot read alerts: monitor name over %d bytes",
                           OPSD_MAX_NAME);
    if (f->until_ms && f->since_ms > f->until_ms)
        return opsd_errorf(err, -EINVAL, "cannot read alerts: window ends before it starts");
    /* The backend sees one shape: a real window, a real limit. Nothing is
     * stored past STORE_TS_MAX, so one past it is "no bound". */
    q = *f;
    q.since_ms = MIN(f->since_ms, STORE_TS_MAX);
    q.until_ms = f->until_ms ? MIN(f->until_ms, STORE_TS_MAX + 1) : STORE_TS_MAX + 1;
    q.limit = filter_limit(f->limit);
    if (q.since_ms >= q.until_ms)
        return 0;
    return s->ops->alerts(s, &q, cb, userdata, err);
}

int store_alert_get(struct store *s, int64_t id, struct store_alert *ret, struct opsd_error *err)
{
    if (!s || !ret)
        return opsd_errorf(err, -EINVAL, "cannot read alert: missing argument");
    if (id <= 0)
        return opsd_errorf(err, -ENOENT, "no alert %lld", (long long)id);
    return s->ops->alert_get(s, id, ret, err);
}

int store_alert_timings(struct store *s, uint64_t since_ms, uint64_t until_ms,
                        store_alert_timing_cb cb, void *userdata, struct opsd_error *err)
{
    uint64_t since, until;

    if (!s || !cb)
        return opsd_errorf(err, -EINVAL, "cannot read alert timings: missing argument");
    if (until_ms && since_ms > until_ms)
        return opsd_errorf(err, -EINVAL, "cannot read alert timings: window ends before it starts");
    since = MIN(since_ms, STORE_TS_MAX);
    until = until_ms ? MIN(until_ms, STORE_TS_MAX + 1) : STORE_TS_MAX + 1;
    if (since >= until)
        return 0;
    return s->ops->alert_timings(s, since, until, cb, userdata, err);
}

int store_notifications(struct store *s, const struct store_notification_filter *f,
                        store_notification_cb cb, void *userdata, struct opsd_error *err)
{
    struct store_notification_filter q;

    if (!s || !f || !cb)
        return opsd_errorf(err, -EINVAL, "cannot read notifications: missing argument");
    if (f->state != 0 && !notif_state_valid(f->state))
        return opsd_errorf(err, -EINVAL, "cannot read notifications: unknown state %d", f->state);
    if (f->alert_id < 0)
        return opsd_errorf(err, -EINVAL, "cannot read notifications: alert id %lld",
                           (long long)f->alert_id);
    q = *f;
    q.since_ms = MIN(f->since_ms, STORE_TS_MAX);
    q.limit = filter_limit(f->limit);
    return s->ops->notifications(s, &q, cb, userdata, err);
}

int store_notification_get(struct store *s, int64_t id, store_notification_cb cb, void *userdata,
                           struct opsd_error *err)
{
    if (!s || !cb)
        return opsd_errorf(err, -EINVAL, "cannot read notification: missing argument");
    if (id <= 0)
        return opsd_errorf(err, -ENOENT, "no notification %lld", (long long)id);
    return s->ops->notification_get(s, id, cb, userdata, err);
}

int store_notif_attempts(struct store *s, int64_t notification_id, store_notif_attempt_cb cb,
                         void *userdata, struct opsd_error *err)
{
    if (!s || !cb)
        return opsd_errorf(err, -EINVAL, "cannot read notification attempts: missing argument");
    return s->ops->notif_attempts(s, notification_id, OPSD_MAX_RESULTS_LIMIT, cb, userdata, err);
}

/* ---- silences and API tokens ---- */

int store_silence_add(struct store *s, const struct store_silence *si, int64_t *ret_id,
                      struct opsd_error *err)
{
    if (!s || !si || !ret_id)
        return opsd_errorf(err, -EINVAL, "cannot add silence: missing argument");
    if (!text_fits(si->matchers_json, OPSD_MAX_ALERT_JSON, true))
        return opsd_errorf(err, -EINVAL, "cannot add silence: matchers missing or over %d bytes",
                           OPSD_MAX_ALERT_JSON);
    /* ends_ms > starts_ms also keeps ends_ms >= 1, so "ends after 0" lists
     * every silence. */
    if (si->ends_ms <= si->starts_ms)
        return opsd_errorf(err, -EINVAL, "cannot add silence: it ends before it starts");
    if (MAX(si->ends_ms, MAX(si->created_ms, si->expired_ms)) > STORE_TS_MAX)
        return opsd_errorf(err, -EINVAL, "cannot add silence: time out of range");
    return s->ops->silence_add(s, si, ret_id, err);
}

int store_silence_expire(struct store *s, int64_t id, uint64_t at_ms, struct opsd_error *err)
{
    if (!s)
        return opsd_errorf(err, -EINVAL, "cannot expire silence: no store");
    /* expired_ms = 0 reads as "never expired". */
    if (at_ms == 0 || at_ms > STORE_TS_MAX)
        return opsd_errorf(err, -EINVAL, "cannot expire silence: time out of range");
    if (id <= 0)
        return opsd_errorf(err, -ENOENT, "no silence %lld", (long long)id);
    return s->ops->silence_expire(s, id, at_ms, err);
}

int store_silences(struct store *s, uint64_t since_ms, store_silence_cb cb, void *userdata,
                   struct opsd_error *err)
{
    if (!s || !cb)
        return opsd_errorf(err, -EINVAL, "cannot read silences: missing argument");
    return s->ops->silences(s, MIN(since_ms, STORE_TS_MAX), OPSD_MAX_RESULTS_LIMIT, cb, userdata,
                            err);
}

static bool hash_valid(const char *h)
{
    size_t i;

    for (i = 0; h[i]; i++)
        if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
            return false;
    return i == 64;
}

int store_alert_set_review(struct store *s, int64_t id, const struct store_review *rv,
                           struct opsd_error *err)
{
    if (!s || !rv)
        return opsd_errorf(err, -EINVAL, "cannot review alert: missing argument");
    if (rv->review != STORE_REVIEW_ACTIONABLE && rv->review != STORE_REVIEW_FALSE_POSITIVE)
        return opsd_errorf(err, -EINVAL, "cannot review alert %lld: unknown review %d",
                           (long long)id, rv->review);
    if (!text_fits(rv->by, OPSD_MAX_NAME, true))
        return opsd_errorf(err, -EINVAL,
                           "cannot review alert %lld: reviewer missing or over %d bytes",
                           (long long)id, OPSD_MAX_NAME);
    if (!text_fits(rv->comment, STORE_MAX_REVIEW_COMMENT, false))
        return opsd_errorf(err, -EINVAL, "cannot review alert %lld: comment over %d bytes",
                           (long long)id, STORE_MAX_REVIEW_COMMENT);
    if (rv->at_ms == 0 || rv->at_ms > STORE_TS_MAX)
        return opsd_errorf(err, -EINVAL, "cannot review alert %lld: time out of range",
                           (long long)id);
    if (id <= 0)
        return opsd_errorf(err, -ENOENT, "no alert %lld", (long long)id);
    return s->ops->alert_set_review(s, id, rv, err);
}

int store_token_add(struct store *s, const struct store_token *t, int64_t *ret_id,
                    struct opsd_error *err)
{
    if (!s || !t || !ret_id)
        return opsd_errorf(err, -EINVAL, "cannot add token: missing argument");
    if (!text_fits(t->name, OPSD_MAX_NAME, true))
        return opsd_errorf(err, -EINVAL, "cannot add token: name missing or over %d bytes",
                           OPSD_MAX_NAME);
    if (!t->hash || !hash_valid(t->hash))
        return opsd_errorf(err, -EINVAL, "cannot add token '%s': hash is not lowercase hex SHA-256",
                           t->name);
    if (!text_fits(t->prefix, OPSD_MAX_NAME, true) || t->scope <= 0)
        return opsd_errorf(err, -EINVAL, "cannot add token '%s': missing prefix or scope", t->name);
    if (MAX(t->created_ms, MAX(t->last_used_ms, t->revoked_ms)) > STORE_TS_MAX)
        return opsd_errorf(err, -EINVAL, "cannot add token '%s': time out of range", t->name);
    return s->ops->token_add(s, t, ret_id, err);
}

int store_token_find(struct store *s, const char *hash, struct store_token *ret,
                     struct opsd_error *err)
{
    if (!s || !hash || !ret)
        return opsd_errorf(err, -EINVAL, "cannot find token: missing argument");
    /* Not a hash we could have stored: no need to ask. Never echoed: even a
     * token's hash stays out of messages. */
    if (!hash_valid(hash))
        return opsd_errorf(err, -ENOENT, "no such token");
    return s->ops->token_find(s, hash, ret, err);
}

int store_tokens(struct store *s, store_token_cb cb, void *userdata, struct opsd_error *err)
{
    if (!s || !cb)
        return opsd_errorf(err, -EINVAL, "cannot read tokens: missing argument");
    return s->ops->tokens(s, OPSD_MAX_RESULTS_LIMIT, cb, userdata, err);
}

/* The id a name_or_id spells in decimal, or 0 if it spells none. */
static int64_t parse_id(const char *s)
{
    int64_t id = 0;

    if (*s < '1' || *s > '9')
        return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || id > (INT64_MAX - (*s - '0')) / 10)
            return 0;
        id = id * 10 + (*s - '0');
    }
    return id;
}

int store_token_revoke(struct store *s, const char *name_or_id, uint64_t at_ms,
                       struct opsd_error *err)
{
    if (!s || !name_or_id || !*name_or_id)
        return opsd_errorf(err, -EINVAL, "cannot revoke token: missing argument");
    /* revoked_ms = 0 reads as "live". */
    if (at_ms == 0 || at_ms > STORE_TS_MAX)
        return opsd_errorf(err, -EINVAL, "cannot revoke token: time out of range");
    if (strlen(name_or_id) > OPSD_MAX_NAME)
        return opsd_errorf(err, -ENOENT, "no live token '%.*s'", OPSD_MAX_NAME, name_or_id);
    return s->ops->token_revoke(s, name_or_id, parse_id(name_or_id), at_ms, err);
}

int store_prune(struct store *s, uint64_t before_ms, struct opsd_error *err)
{
    uint64_t now;

    if (!s)
        return opsd_errorf(err, -EINVAL, "cannot prune: no store");
    now = MIN(clock_now_ms(s->clock), STORE_TS_MAX);
    return s->ops->prune(s, MIN(before_ms, STORE_TS_MAX),
                         now > STORE_HOUR_RETENTION_MS ? now - STORE_HOUR_RETENTION_MS : 0, err);
}
