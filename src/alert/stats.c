/* Alert statistics: counts per severity, nearest-rank percentiles of the
 * times to acknowledge and to resolve, and alerts per ISO week. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert/stats.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

#define DAY_MS INT64_C(86400000)

static const char *const review_names[] = {
    [ALERT_REVIEW_ACTIONABLE] = "actionable",
    [ALERT_REVIEW_FALSE_POSITIVE] = "false_positive",
};

const char *alert_review_to_string(enum alert_review r)
{
    if ((size_t)r >= ARRAY_SIZE(review_names))
        return NULL;
    return review_names[r];
}

int alert_review_from_string(const char *s, enum alert_review *ret)
{
    if (!s)
        return -EINVAL;
    for (size_t i = 0; i < ARRAY_SIZE(review_names); i++) {
        if (review_names[i] && strcmp(s, review_names[i]) == 0) {
            *ret = (enum alert_review)i;
            return 0;
        }
    }
    return -EINVAL;
}

uint64_t alert_stats_percentile(const uint64_t *sorted, size_t n, unsigned p)
{
    uint64_t rank;

    if (n == 0 || !sorted)
        return 0;
    if (p < 1)
        p = 1;
    if (p > 100)
        p = 100;
    rank = ((uint64_t)p * n + 99) / 100; /* ceil(p * n / 100), >= 1 */
    return sorted[rank - 1];
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* Sorts v[0..n) and summarises it; sum is of the same values. */
static void times_of(uint64_t *v, size_t n, long double sum, struct alert_stats_times *ret)
{
    qsort(v, n, sizeof(*v), cmp_u64);
    ret->n = n;
    ret->p50_ms = alert_stats_percentile(v, n, 50);
    ret->p90_ms = alert_stats_percentile(v, n, 90);
    /* long double: a sum of a million long outages can pass 2^64 ms */
    ret->mean_ms = n ? (uint64_t)(sum / (long double)n + 0.5L) : 0;
}

static uint64_t since_start(uint64_t t, uint64_t starts_ms)
{
    return t > starts_ms ? t - starts_ms : 0;
}

/* The row of severity sev (0: every alert). scratch has room for n. */
static void row_of(const struct alert_stats_alert *a, size_t n, int sev, uint64_t *scratch,
                   struct alert_stats_row *ret)
{
    struct alert_stats_row r = { 0 };
    long double sum = 0;
    size_t k = 0, i;

    for (i = 0; i < n; i++) {
        if (sev && a[i].severity != sev)
            continue;
        r.count++;
        if (a[i].review == ALERT_REVIEW_ACTIONABLE)
            r.actionable++;
        else if (a[i].review == ALERT_REVIEW_FALSE_POSITIVE)
            r.false_positive++;
        else
            r.unreviewed++;
        if (a[i].state == ALERT_STATE_RESOLVED)
            r.resolved++;
        if (a[i].acked_ms) {
            r.acked++;
            scratch[k] = since_start(a[i].acked_ms, a[i].starts_ms);
            sum += scratch[k++];
        }
    }
    times_of(scratch, k, sum, &r.mtta);
    for (i = 0, k = 0, sum = 0; i < n; i++) {
        if ((sev && a[i].severity != sev) || a[i].state != ALERT_STATE_RESOLVED ||
            !a[i].resolved_ms)
            continue;
        scratch[k] = since_start(a[i].resolved_ms, a[i].starts_ms);
        sum += scratch[k++];
    }
    times_of(scratch, k, sum, &r.ttr);
    r.open = r.count - r.resolved;
    *ret = r;
}

int64_t alert_stats_week_start(uint64_t ms, int *ret_year, int *ret_week)
{
    int64_t day = (int64_t)(ms / (uint64_t)DAY_MS);
    int64_t monday = day - (day + 3) % 7; /* day 0, 1970-01-01, was a Thursday */

    if (ret_year || ret_week) {
        /* The ISO year is the year of the week's Thursday, and week 1 is
         * the one holding the year's first Thursday. */
        time_t thursday = (time_t)((monday + 3) * 86400);
        struct tm tm;
        int year = 0, week = 0;

        if (gmtime_r(&thursday, &tm)) {
            year = tm.tm_year + 1900;
            week = tm.tm_yday / 7 + 1;
        }
        if (ret_year)
            *ret_year = year;
        if (ret_week)
            *ret_week = week;
    }
    return monday * DAY_MS;
}

static size_t weeks_between(int64_t first, int64_t last)
{
    return (size_t)((last - first) / (int64_t)ALERT_STATS_WEEK_MS) + 1;
}

static void fill_weeks(const struct alert_stats_alert *a, size_t n, struct alert_stats *st)
{
    int64_t first = alert_stats_week_start(st->since_ms, NULL, NULL);
    int64_t last = alert_stats_week_start(st->until_ms - 1, NULL, NULL);
    size_t nw = weeks_between(first, last), i;

    if (nw > ALERT_STATS_MAX_WEEKS && n > 0) {
        uint64_t earliest = a[0].starts_ms;
        int64_t w;

        for (i = 1; i < n; i++)
            if (a[i].starts_ms < earliest)
                earliest = a[i].starts_ms;
        w = alert_stats_week_start(earliest, NULL, NULL);
        if (w > first && w <= last)
            first = w;
        nw = weeks_between(first, last);
    }
    if (nw > ALERT_STATS_MAX_WEEKS) {
        first = last - (int64_t)(ALERT_STATS_MAX_WEEKS - 1) * (int64_t)ALERT_STATS_WEEK_MS;
        nw = ALERT_STATS_MAX_WEEKS;
    }
    st->weeks = xcalloc(nw, sizeof(*st->weeks));
    st->n_weeks = nw;
    for (i = 0; i < nw; i++) {
        struct alert_stats_week *w = &st->weeks[i];

        w->start_ms = first + (int64_t)i * (int64_t)ALERT_STATS_WEEK_MS;
        /* + 3 days: the Thursday, never before the epoch */
        (void)alert_stats_week_start((uint64_t)(w->start_ms + 3 * DAY_MS), &w->iso_year,
                                     &w->iso_week);
    }
    for (i = 0; i < n; i++) {
        int64_t ws = alert_stats_week_start(a[i].starts_ms, NULL, NULL);
        struct alert_stats_week *w;

        if (ws < first || ws > last)
            continue;
        w = &st->weeks[(ws - first) / (int64_t)ALERT_STATS_WEEK_MS];
        w->total++;
        if (a[i].severity >= 1 && a[i].severity <= ALERT_STATS_SEVERITIES)
            w->by_severity[a[i].severity - 1]++;
    }
}

int alert_stats_compute(const struct alert_stats_alert *alerts, size_t n, uint64_t since_ms,
                        uint64_t until_ms, struct alert_stats *ret)
{
    struct alert_stats st = { .since_ms = since_ms, .until_ms = until_ms };
    uint64_t *scratch;

    if (since_ms > until_ms || (n && !alerts) || !ret)
        return -EINVAL;
    scratch = xmalloc((n ? n : 1) * sizeof(*scratch));
    row_of(alerts, n, 0, scratch, &st.total);
    for (int s = 1; s <= ALERT_STATS_SEVERITIES; s++)
        row_of(alerts, n, s, scratch, &st.by_severity[s - 1]);
    free(scratch);
    if (since_ms < until_ms)
        fill_weeks(alerts, n, &st);
    *ret = st;
    return 0;
}

void alert_stats_release(struct alert_stats *st)
{
    if (!st)
        return;
    free(st->weeks);
    st->weeks = NULL;
    st->n_weeks = 0;
}
