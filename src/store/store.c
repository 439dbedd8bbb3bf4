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
            m[i].name = xstrndup(r->metrics[i].name ? r->metrics[i].name : "",
                                 STORE_MAX_METRIC_NAME);
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

bool store_batch_empty(const struct store_batch *b)
{
    return b->n_results == 0 && b->n_events == 0 && b->n_memos == 0;
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
    free(b->results);
    free(b->events);
    free(b->memos);
    memset(b, 0, sizeof(*b));
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

/* Refuses what the schema cannot hold faithfully before a transaction is
 * opened, so a bad row never half-writes a batch. */
static int batch_validate(const struct store_batch *b, struct opsd_error *err)
{
    size_t i;

    if ((b->n_results && !b->results) || (b->n_events && !b->events) ||
        (b->n_memos && !b->memos))
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

int store_prune(struct store *s, uint64_t before_ms, struct opsd_error *err)
{
    uint64_t now;

    if (!s)
        return opsd_errorf(err, -EINVAL, "cannot prune: no store");
    now = MIN(clock_now_ms(s->clock), STORE_TS_MAX);
    return s->ops->prune(s, MIN(before_ms, STORE_TS_MAX),
                         now > STORE_HOUR_RETENTION_MS ? now - STORE_HOUR_RETENTION_MS : 0, err);
}
