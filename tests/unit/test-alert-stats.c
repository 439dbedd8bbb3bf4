/* Unit tests for the alert statistics: review names, nearest-rank
 * percentiles, the per-severity rows (counts, MTTA, time to resolve) and
 * the ISO weeks, with exact expected values. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "alert/stats.h"
#include "util/cleanup.h"

#define S UINT64_C(1000)
#define DAY (86400 * S)
#define WEEK (7 * DAY)
#define T0 (UINT64_C(20787) * DAY) /* Monday 2026-11-30T00:00:00Z, ISO 2026-W49 */

static void test_review_names(void **state)
{
    enum alert_review r = ALERT_REVIEW_NONE;

    (void)state;
    assert_string_equal(alert_review_to_string(ALERT_REVIEW_ACTIONABLE), "actionable");
    assert_string_equal(alert_review_to_string(ALERT_REVIEW_FALSE_POSITIVE), "false_positive");
    assert_null(alert_review_to_string(ALERT_REVIEW_NONE));
    assert_null(alert_review_to_string((enum alert_review)3));
    assert_int_equal(alert_review_from_string("actionable", &r), 0);
    assert_int_equal(r, ALERT_REVIEW_ACTIONABLE);
    assert_int_equal(alert_review_from_string("false_positive", &r), 0);
    assert_int_equal(r, ALERT_REVIEW_FALSE_POSITIVE);
    /* Refused, r untouched. */
    assert_int_equal(alert_review_from_string("false-positive", &r), -EINVAL);
    assert_int_equal(alert_review_from_string("Actionable", &r), -EINVAL);
    assert_int_equal(alert_review_from_string("", &r), -EINVAL);
    assert_int_equal(alert_review_from_string(NULL, &r), -EINVAL);
    assert_int_equal(r, ALERT_REVIEW_FALSE_POSITIVE);
}

static void test_percentile_nearest_rank(void **state)
{
    const uint64_t one[] = { 7 };
    const uint64_t four[] = { 1, 2, 3, 4 };
    uint64_t ten[10], hundred[100];

    (void)state;
    for (int i = 0; i < 10; i++)
        ten[i] = (uint64_t)i + 1;
    for (int i = 0; i < 100; i++)
        hundred[i] = (uint64_t)i + 1;

    assert_int_equal(alert_stats_percentile(NULL, 0, 50), 0);
    assert_int_equal(alert_stats_percentile(four, 0, 50), 0);
    assert_int_equal(alert_stats_percentile(one, 1, 1), 7);
    assert_int_equal(alert_stats_percentile(one, 1, 50), 7);
    assert_int_equal(alert_stats_percentile(one, 1, 100), 7);
    /* rank ceil(p * n / 100): never an interpolated value */
    assert_int_equal(alert_stats_percentile(four, 4, 25), 1);
    assert_int_equal(alert_stats_percentile(four, 4, 26), 2);
    assert_int_equal(alert_stats_percentile(four, 4, 50), 2);
    assert_int_equal(alert_stats_percentile(four, 4, 51), 3);
    assert_int_equal(alert_stats_percentile(four, 4, 75), 3);
    assert_int_equal(alert_stats_percentile(four, 4, 90), 4);
    assert_int_equal(alert_stats_percentile(ten, 10, 50), 5);
    assert_int_equal(alert_stats_percentile(ten, 10, 90), 9);
    assert_int_equal(alert_stats_percentile(ten, 10, 91), 10);
    assert_int_equal(alert_stats_percentile(ten, 10, 100), 10);
    assert_int_equal(alert_stats_percentile(ten, 10, 10), 1);
    assert_int_equal(alert_stats_percentile(ten, 10, 11), 2);
    assert_int_equal(alert_stats_percentile(hundred, 100, 50), 50);
    assert_int_equal(alert_stats_percentile(hundred, 100, 90), 90);
    assert_int_equal(alert_stats_percentile(hundred, 99, 90), 90); /* ceil(89.1) */
    /* Out of range p is clamped to 1..100. */
    assert_int_equal(alert_stats_percentile(ten, 10, 0), 1);
    assert_int_equal(alert_stats_percentile(ten, 10, 150), 10);
}

static void assert_times(const struct alert_stats_times *t, uint64_t n, uint64_t p50, uint64_t p90,
                         uint64_t mean)
{
    assert_int_equal(t->n, n);
    assert_int_equal(t->p50_ms, p50);
    assert_int_equal(t->p90_ms, p90);
    assert_int_equal(t->mean_ms, mean);
}

static void assert_counts(const struct alert_stats_row *r, uint64_t count, uint64_t actionable,
                          uint64_t false_positive, uint64_t unreviewed, uint64_t acked,
                          uint64_t resolved, uint64_t open)
{
    assert_int_equal(r->count, count);
    assert_int_equal(r->actionable, actionable);
    assert_int_equal(r->false_positive, false_positive);
    assert_int_equal(r->unreviewed, unreviewed);
    assert_int_equal(r->acked, acked);
    assert_int_equal(r->resolved, resolved);
    assert_int_equal(r->open, open);
}

#define A(sev, st, rev, start, ack, res)                                                           \
    {                                                                                              \
        .severity = (sev), .state = (st), .review = (rev), .starts_ms = (start),                   \
        .acked_ms = (ack), .resolved_ms = (res)                                                    \
    }

/* A week of a small team's alerts, in no particular order. */
static const struct alert_stats_alert week_alerts[] = {
    /* critical: paged, acked in 1m, over in 5m, was real */
    A(ALERT_SEV_CRITICAL, ALERT_STATE_RESOLVED, ALERT_REVIEW_ACTIONABLE, T0 + DAY,
      T0 + DAY + 60 * S, T0 + DAY + 300 * S),
    /* low, the week before: acked 10s, over in 20s */
    A(ALERT_SEV_LOW, ALERT_STATE_RESOLVED, ALERT_REVIEW_NONE, T0 - 2 * DAY, T0 - 2 * DAY + 10 * S,
      T0 - 2 * DAY + 20 * S),
    /* critical: acked in 2m, over in 15m, noise */
    A(ALERT_SEV_CRITICAL, ALERT_STATE_RESOLVED, ALERT_REVIEW_FALSE_POSITIVE, T0 + 2 * DAY,
      T0 + 2 * DAY + 120 * S, T0 + 2 * DAY + 900 * S),
    /* critical: still firing, nobody acked */
    A(ALERT_SEV_CRITICAL, ALERT_STATE_FIRING, ALERT_REVIEW_NONE, T0 + 3 * DAY, 0, 0),
    /* high: acked in 30s, still open */
    A(ALERT_SEV_HIGH, ALERT_STATE_ACKED, ALERT_REVIEW_ACTIONABLE, T0 + 3 * DAY,
      T0 + 3 * DAY + 30 * S, 0),
    /* high: over by itself in 10m, never acked */
    A(ALERT_SEV_HIGH, ALERT_STATE_RESOLVED, ALERT_REVIEW_FALSE_POSITIVE, T0 + 4 * DAY, 0,
      T0 + 4 * DAY + 600 * S),
    /* an inbound alert with a severity this opsd does not know, silenced */
    A(9, ALERT_STATE_SILENCED, ALERT_REVIEW_NONE, T0 + 4 * DAY, 0, 0),
};

static void test_rows(void **state)
{
    struct alert_stats st;
    const struct alert_stats_row *crit, *high, *med, *low;

    (void)state;
    assert_int_equal(alert_stats_compute(week_alerts, 7, T0 - WEEK + DAY / 2, T0 + 5 * DAY, &st),
                     0);
    assert_int_equal(st.since_ms, T0 - WEEK + DAY / 2);
    assert_int_equal(st.until_ms, T0 + 5 * DAY);
    crit = &st.by_severity[ALERT_SEV_CRITICAL - 1];
    high = &st.by_severity[ALERT_SEV_HIGH - 1];
    med = &st.by_severity[ALERT_SEV_MEDIUM - 1];
    low = &st.by_severity[ALERT_SEV_LOW - 1];

    /* count, actionable, false positive, unreviewed, acked, resolved, open */
    assert_counts(&st.total, 7, 2, 2, 3, 4, 4, 3);
    assert_counts(crit, 3, 1, 1, 1, 2, 2, 1);
    assert_counts(high, 2, 1, 1, 0, 1, 1, 1);
    assert_counts(med, 0, 0, 0, 0, 0, 0, 0);
    assert_counts(low, 1, 0, 0, 1, 1, 1, 0);

    /* MTTA over 10s, 30s, 60s, 120s: p50 is the 2nd, p90 the 4th. */
    assert_times(&st.total.mtta, 4, 30 * S, 120 * S, 55 * S);
    /* TTR over 20s, 300s, 600s, 900s. */
    assert_times(&st.total.ttr, 4, 300 * S, 900 * S, 455 * S);
    assert_times(&crit->mtta, 2, 60 * S, 120 * S, 90 * S);
    assert_times(&crit->ttr, 2, 300 * S, 900 * S, 600 * S);
    assert_times(&high->mtta, 1, 30 * S, 30 * S, 30 * S);
    assert_times(&high->ttr, 1, 600 * S, 600 * S, 600 * S);
    assert_times(&med->mtta, 0, 0, 0, 0);
    assert_times(&med->ttr, 0, 0, 0, 0);
    assert_times(&low->mtta, 1, 10 * S, 10 * S, 10 * S);
    assert_times(&low->ttr, 1, 20 * S, 20 * S, 20 * S);

    /* Two ISO weeks overlap the window: W48 and W49 of 2026. */
    assert_int_equal(st.n_weeks, 2);
    assert_int_equal(st.weeks[0].start_ms, (int64_t)(T0 - WEEK));
    assert_int_equal(st.weeks[0].iso_year, 2026);
    assert_int_equal(st.weeks[0].iso_week, 48);
    assert_int_equal(st.weeks[0].total, 1);
    assert_int_equal(st.weeks[0].by_severity[ALERT_SEV_LOW - 1], 1);
    assert_int_equal(st.weeks[0].by_severity[ALERT_SEV_CRITICAL - 1], 0);
    assert_int_equal(st.weeks[1].start_ms, (int64_t)T0);
    assert_int_equal(st.weeks[1].iso_week, 49);
    /* the unknown severity counts in the week's total only */
    assert_int_equal(st.weeks[1].total, 6);
    assert_int_equal(st.weeks[1].by_severity[ALERT_SEV_CRITICAL - 1], 3);
    assert_int_equal(st.weeks[1].by_severity[ALERT_SEV_HIGH - 1], 2);
    assert_int_equal(st.weeks[1].by_severity[ALERT_SEV_MEDIUM - 1], 0);
    assert_int_equal(st.weeks[1].by_severity[ALERT_SEV_LOW - 1], 0);
    alert_stats_release(&st);
    assert_null(st.weeks);
    assert_int_equal(st.n_weeks, 0);
    alert_stats_release(NULL);
}

static void test_times_edges(void **state)
{
    /* The mean rounds to the nearest ms; an ack stamped before the start
     * (another clock) counts as 0, not as 584 million years. */
    const struct alert_stats_alert as[] = {
        A(ALERT_SEV_MEDIUM, ALERT_STATE_RESOLVED, ALERT_REVIEW_NONE, T0, T0 + 1, T0 + 1),
        A(ALERT_SEV_MEDIUM, ALERT_STATE_RESOLVED, ALERT_REVIEW_NONE, T0, T0 + 2, T0 + 2),
        A(ALERT_SEV_MEDIUM, ALERT_STATE_ACKED, ALERT_REVIEW_NONE, T0 + 10, T0 + 5, 0),
        /* resolved with no resolve time: counted resolved, no duration */
        A(ALERT_SEV_MEDIUM, ALERT_STATE_RESOLVED, ALERT_REVIEW_NONE, T0, 0, 0),
        /* a resolve time on an open alert (reopened?) is not a resolution */
        A(ALERT_SEV_MEDIUM, ALERT_STATE_FIRING, ALERT_REVIEW_NONE, T0, 0, T0 + 50),
    };
    struct alert_stats st;

    (void)state;
    assert_int_equal(alert_stats_compute(as, 5, T0, T0 + DAY, &st), 0);
    assert_counts(&st.total, 5, 0, 0, 5, 3, 3, 2);
    /* 0, 1, 2: p50 rank 2, p90 rank 3, mean 1 */
    assert_times(&st.total.mtta, 3, 1, 2, 1);
    /* 1, 2: mean 1.5 rounds to 2 */
    assert_times(&st.total.ttr, 2, 1, 2, 2);
    assert_int_equal(st.n_weeks, 1);
    assert_int_equal(st.weeks[0].total, 5);
    assert_int_equal(st.weeks[0].by_severity[ALERT_SEV_MEDIUM - 1], 5);
    alert_stats_release(&st);
}

static void test_weeks(void **state)
{
    const struct alert_stats_alert late[] = {
        A(ALERT_SEV_HIGH, ALERT_STATE_FIRING, ALERT_REVIEW_NONE, T0 + 1000, 0, 0),
        A(ALERT_SEV_HIGH, ALERT_STATE_FIRING, ALERT_REVIEW_NONE, T0 - 3 * WEEK, 0, 0),
    };
    struct alert_stats st = { .since_ms = 42 }, untouched;

    (void)state;
    /* An empty window has no weeks; the rows are all zero. */
    assert_int_equal(alert_stats_compute(NULL, 0, T0, T0, &st), 0);
    assert_int_equal(st.n_weeks, 0);
    assert_null(st.weeks);
    assert_counts(&st.total, 0, 0, 0, 0, 0, 0, 0);
    alert_stats_release(&st);

    /* A window of one ms, and one ending on a Monday at midnight: until
     * is exclusive, so the week it opens is not listed. */
    assert_int_equal(alert_stats_compute(NULL, 0, T0, T0 + 1, &st), 0);
    assert_int_equal(st.n_weeks, 1);
    assert_int_equal(st.weeks[0].start_ms, (int64_t)T0);
    alert_stats_release(&st);
    assert_int_equal(alert_stats_compute(NULL, 0, T0 - WEEK, T0, &st), 0);
    assert_int_equal(st.n_weeks, 1);
    assert_int_equal(st.weeks[0].start_ms, (int64_t)(T0 - WEEK));
    alert_stats_release(&st);
    /* Quiet weeks are listed with zeros. */
    assert_int_equal(alert_stats_compute(late, 2, T0 - 4 * WEEK + 5, T0 + 2 * DAY, &st), 0);
    assert_int_equal(st.n_weeks, 5);
    assert_int_equal(st.weeks[0].total, 0);
    assert_int_equal(st.weeks[1].total, 1);
    assert_int_equal(st.weeks[2].total, 0);
    assert_int_equal(st.weeks[3].total, 0);
    assert_int_equal(st.weeks[4].total, 1);
    alert_stats_release(&st);

    /* Since the epoch: the weeks start at the earliest alert's instead of
     * 1969's, and are capped at ten years when there are none. */
    assert_int_equal(alert_stats_compute(late, 2, 0, T0 + 2 * DAY, &st), 0);
    assert_int_equal(st.n_weeks, 4);
    assert_int_equal(st.weeks[0].start_ms, (int64_t)(T0 - 3 * WEEK));
    assert_int_equal(st.weeks[3].total, 1);
    assert_int_equal(st.total.count, 2);
    alert_stats_release(&st);
    assert_int_equal(alert_stats_compute(NULL, 0, 0, T0 + 2 * DAY, &st), 0);
    assert_int_equal(st.n_weeks, ALERT_STATS_MAX_WEEKS);
    assert_int_equal(st.weeks[ALERT_STATS_MAX_WEEKS - 1].start_ms, (int64_t)T0);
    assert_int_equal(st.weeks[0].start_ms,
                     (int64_t)T0 - (int64_t)(ALERT_STATS_MAX_WEEKS - 1) * (int64_t)WEEK);
    alert_stats_release(&st);

    /* Refused, ret untouched. */
    st = (struct alert_stats){ .since_ms = 42 };
    untouched = st;
    assert_int_equal(alert_stats_compute(late, 2, T0 + 1, T0, &st), -EINVAL);
    assert_int_equal(alert_stats_compute(NULL, 1, T0, T0 + 1, &st), -EINVAL);
    assert_int_equal(alert_stats_compute(late, 2, T0, T0 + 1, NULL), -EINVAL);
    assert_memory_equal(&st, &untouched, sizeof(st));
}

static void test_iso_weeks(void **state)
{
    static const struct {
        uint64_t day;   /* days since the epoch */
        int64_t monday; /* the day its week starts */
        int year, week;
    } cases[] = {
        { 20787, 20787, 2026, 49 }, /* Mon 2026-11-30 */
        { 20793, 20787, 2026, 49 }, /* Sun 2026-12-06 */
        { 20454, 20451, 2026, 1 },  /* Thu 2026-01-01: week 1 began in 2025 */
        { 20819, 20815, 2026, 53 }, /* Fri 2027-01-01: still 2026's last week */
        { 18630, 18624, 2020, 53 }, /* Sun 2021-01-03 */
        { 0, -3, 1970, 1 },         /* Thu 1970-01-01: its Monday was in 1969 */
    };
    int year, week;

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        /* any time of the day */
        for (uint64_t t = 0; t < DAY; t += DAY / 4 + 1) {
            year = week = -1;
            assert_int_equal(alert_stats_week_start(cases[i].day * DAY + t, &year, &week),
                             cases[i].monday * (int64_t)DAY);
            assert_int_equal(year, cases[i].year);
            assert_int_equal(week, cases[i].week);
        }
    }
    assert_int_equal(alert_stats_week_start(T0, NULL, NULL), (int64_t)T0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_review_names), cmocka_unit_test(test_percentile_nearest_rank),
        cmocka_unit_test(test_rows),         cmocka_unit_test(test_times_edges),
        cmocka_unit_test(test_weeks),        cmocka_unit_test(test_iso_weeks),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);

    printf("tests: %zu passed, %d failed\n", ARRAY_SIZE(tests) - (size_t)failed, failed);
    return failed ? 1 : 0;
}
