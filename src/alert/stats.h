/* Alert statistics for the weekly review: how many alerts there were, how
 * many needed a person (actionable) and how many did not (false
 * positives), how fast someone acknowledged them (MTTA) and how long they
 * lasted (time to resolve), per severity and per ISO week. Pure: the caller
 * reads the alerts of a window from the store and hands them in. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "alert/escalation.h"
#include "alert/manager.h"

/* Stored and sent over the API: values only grow (they match
 * enum store_alert_review). */
enum alert_review {
    ALERT_REVIEW_NONE = 0,
    ALERT_REVIEW_ACTIONABLE = 1,
    ALERT_REVIEW_FALSE_POSITIVE = 2,
};
/* "actionable" or "false_positive"; NULL for none and unknown values. */
const char *alert_review_to_string(enum alert_review r);
/* Takes those two names only (none is not a verdict); -EINVAL, *ret
 * untouched, for anything else. */
int alert_review_from_string(const char *s, enum alert_review *ret);

/* One alert as the statistics see it. */
struct alert_stats_alert {
    int severity; /* enum alert_severity; an unknown value counts in the total only */
    enum alert_state state;
    enum alert_review review;
    uint64_t starts_ms;
    uint64_t acked_ms;    /* the latest acknowledgement; 0 = never */
    uint64_t resolved_ms; /* 0 = not resolved */
};

/* A distribution of durations over n alerts, in ms; all 0 when n is 0.
 * Percentiles are nearest-rank (see alert_stats_percentile()); the mean
 * is rounded to the nearest ms. */
struct alert_stats_times {
    uint64_t n;
    uint64_t p50_ms, p90_ms, mean_ms;
};

struct alert_stats_row {
    uint64_t count;
    uint64_t actionable, false_positive, unreviewed; /* these three add up to count */
    uint64_t acked;                                  /* acknowledged at some point */
    uint64_t resolved;                               /* resolved, by a monitor or by hand */
    uint64_t open;                 /* still firing, acknowledged or silenced: count - resolved */
    struct alert_stats_times mtta; /* acked_ms - starts_ms, over the acked alerts */
    struct alert_stats_times ttr;  /* resolved_ms - starts_ms, over the resolved ones */
};

#define ALERT_STATS_SEVERITIES 4  /* by_severity[i] is severity i + 1: critical .. low */
#define ALERT_STATS_MAX_WEEKS 520 /* ten years of weekly rows */
#define ALERT_STATS_WEEK_MS (7 * UINT64_C(86400000))

/* One ISO week: Monday 00:00 UTC to the next Monday. */
struct alert_stats_week {
    int64_t start_ms; /* negative for the week of 1970-01-01, which began on a Monday in 1969 */
    int iso_year, iso_week; /* 2026, 49 for "2026-W49" */
    uint64_t total;
    uint64_t by_severity[ALERT_STATS_SEVERITIES];
};

struct alert_stats {
    uint64_t since_ms, until_ms;
    struct alert_stats_row total;
    struct alert_stats_row by_severity[ALERT_STATS_SEVERITIES];
    struct alert_stats_week *weeks; /* n_weeks, oldest first; owned (alert_stats_release) */
    size_t n_weeks;
};

/* The statistics of alerts[0..n) (those that started in [since, until),
 * in any order) into *ret. A duration that would be negative (an
 * acknowledgement stamped before the start by another clock) counts as 0.
 *
 * Weeks: a row for every ISO week from the week of since to the week of
 * until - 1 ms, empty weeks included, so a quiet week reads as 0. A window
 * longer than ALERT_STATS_MAX_WEEKS weeks (since = 0, say) starts at the
 * week of its earliest alert instead, and keeps the newest
 * ALERT_STATS_MAX_WEEKS weeks at most; the totals always count every alert.
 * No weeks when since == until.
 *
 * Returns 0, or -EINVAL (ret untouched) when since > until or alerts is
 * NULL with n > 0. The caller frees with alert_stats_release(). */
int alert_stats_compute(const struct alert_stats_alert *alerts, size_t n, uint64_t since_ms,
                        uint64_t until_ms, struct alert_stats *ret);
void alert_stats_release(struct alert_stats *st);

/* The p-th percentile (1 <= p <= 100) of sorted[0..n), ascending, by
 * nearest rank: the value at rank ceil(p * n / 100) (1-based), the smallest
 * value with at least p% of them at or below it. It is always one of the
 * values, never an interpolation: the p90 of 1..10 is 9, the p50 of
 * {1, 2, 3, 4} is 2. 0 when n is 0. */
uint64_t alert_stats_percentile(const uint64_t *sorted, size_t n, unsigned p);

/* The Monday 00:00 UTC that starts the ISO week holding ms, and that week's
 * ISO year and number (ret_year and ret_week may be NULL). */
int64_t alert_stats_week_start(uint64_t ms, int *ret_year, int *ret_week);
