/* Unit tests for maintenance windows: one-off and recurring occurrences
 * (with a zone), which monitors a window covers, and which window is open
 * for a monitor when several overlap. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "alert/maint.h"

#define S 1000ULL
#define M (60 * S)
#define H (60 * M)
#define D (24 * H)
/* 2026-12-04T00:00:00Z, a Friday */
#define DAY0 1796342400000ULL

static char *db_mons[] = { "db" };
static struct conf_label team_core[] = { { "team", "core" } };
static struct conf_label tier_edge[] = { { "team", "core" }, { "tier", "edge" } };

static struct conf_maintenance windows[] = {
    /* one-off, 10:00-11:00 on DAY0 */
    { .name = "upgrade",
      .monitors = db_mons,
      .n_monitors = 1,
      .start_ms = DAY0 + 10 * H,
      .end_ms = DAY0 + 11 * H,
      .duration_ms = H },
    /* nightly at 02:00 Berlin time for 30 minutes */
    { .name = "nightly",
      .labels = team_core,
      .n_labels = 1,
      .schedule = "0 2 * * *",
      .tz = "Europe/Berlin",
      .duration_ms = 30 * M },
    /* every day at 01:50 UTC for an hour: overlaps nightly and ends later */
    { .name = "long",
      .labels = tier_edge,
      .n_labels = 2,
      .schedule = "50 1 * * *",
      .tz = "UTC",
      .duration_ms = H },
};

static struct conf_label lbl_core[] = { { "team", "core" } };
static struct conf_label lbl_core_edge[] = { { "team", "core" }, { "tier", "edge" } };
static struct conf_monitor mon_db = { .name = "db" };
static struct conf_monitor mon_api = { .name = "api", .labels = lbl_core, .n_labels = 1 };
static struct conf_monitor mon_edge = { .name = "edge", .labels = lbl_core_edge, .n_labels = 2 };

static struct conf conf = { .maintenance = windows, .n_maintenance = 3 };

static struct alert_maint *build(void)
{
    struct alert_maint *mt = NULL;
    struct opsd_error err = { 0 };

    assert_int_equal(alert_maint_new(&conf, NULL, &mt, &err), 0);
    assert_non_null(mt);
    assert_int_equal(alert_maint_count(mt), 3);
    return mt;
}

static void test_one_off(void **state)
{
    struct alert_maint *mt = build();
    uint64_t start = 0, end = 0;

    (void)state;
    /* before: the coming occurrence */
    assert_int_equal(alert_maint_occurrence(mt, 0, DAY0 + 9 * H, &start, &end), 0);
    assert_int_equal(start, DAY0 + 10 * H);
    assert_int_equal(end, DAY0 + 11 * H);
    assert_null(alert_maint_active(mt, &mon_db, DAY0 + 10 * H - 1, NULL));
    assert_ptr_equal(alert_maint_active(mt, &mon_db, DAY0 + 10 * H, &end), &windows[0]);
    assert_int_equal(end, DAY0 + 11 * H);
    /* end is exclusive, and a past one-off has no occurrence left */
    assert_null(alert_maint_active(mt, &mon_db, DAY0 + 11 * H, NULL));
    assert_int_equal(alert_maint_occurrence(mt, 0, DAY0 + 11 * H, &start, &end), -ENOENT);
    /* it names db only */
    assert_null(alert_maint_active(mt, &mon_api, DAY0 + 10 * H + M, NULL));
    alert_maint_free(mt);
}

static void test_recurring_in_zone(void **state)
{
    struct alert_maint *mt = build();
    uint64_t start = 0, end = 0;
    /* 02:00 in Berlin in December (CET, UTC+1) is 01:00 UTC */
    uint64_t at = DAY0 + 1 * H;

    (void)state;
    assert_null(alert_maint_active(mt, &mon_api, at - 1, NULL));
    assert_ptr_equal(alert_maint_active(mt, &mon_api, at, &end), &windows[1]);
    assert_int_equal(end, at + 30 * M);
    assert_ptr_equal(alert_maint_active(mt, &mon_api, at + 29 * M, NULL), &windows[1]);
    assert_null(alert_maint_active(mt, &mon_api, at + 30 * M, NULL));
    /* open now: this occurrence; after it: tomorrow's */
    assert_int_equal(alert_maint_occurrence(mt, 1, at + 10 * M, &start, &end), 0);
    assert_int_equal(start, at);
    assert_int_equal(alert_maint_occurrence(mt, 1, at + 30 * M, &start, &end), 0);
    assert_int_equal(start, at + D);
    assert_int_equal(end, at + D + 30 * M);
    /* db has no labels: the label windows never cover it */
    assert_null(alert_maint_active(mt, &mon_db, at + M, NULL));
    alert_maint_free(mt);
}

static void test_covers_and_overlap(void **state)
{
    struct alert_maint *mt = build();
    uint64_t end = 0;

    (void)state;
    assert_true(alert_maint_covers(mt, 0, &mon_db));
    assert_false(alert_maint_covers(mt, 0, &mon_api));
    assert_true(alert_maint_covers(mt, 1, &mon_api));
    assert_true(alert_maint_covers(mt, 1, &mon_edge));
    /* every label of the window must match */
    assert_false(alert_maint_covers(mt, 2, &mon_api));
    assert_true(alert_maint_covers(mt, 2, &mon_edge));
    /* 01:10 UTC: nightly (01:00-01:30) is open, long opens at 01:50 */
    assert_ptr_equal(alert_maint_active(mt, &mon_edge, DAY0 + 1 * H + 10 * M, &end), &windows[1]);
    /* 01:55: long only (nightly closed at 01:30) */
    assert_ptr_equal(alert_maint_active(mt, &mon_edge, DAY0 + 1 * H + 55 * M, &end), &windows[2]);
    assert_int_equal(end, DAY0 + 2 * H + 50 * M);
    alert_maint_free(mt);
}

static void test_overlap_picks_latest_end(void **state)
{
    static struct conf_maintenance two[] = {
        { .name = "short",
          .monitors = db_mons,
          .n_monitors = 1,
          .start_ms = DAY0,
          .end_ms = DAY0 + H,
          .duration_ms = H },
        { .name = "longer",
          .monitors = db_mons,
          .n_monitors = 1,
          .start_ms = DAY0 + 30 * M,
          .end_ms = DAY0 + 3 * H,
          .duration_ms = 150 * M },
    };
    struct conf c = { .maintenance = two, .n_maintenance = 2 };
    struct alert_maint *mt = NULL;
    struct opsd_error err = { 0 };
    uint64_t end = 0;

    (void)state;
    assert_int_equal(alert_maint_new(&c, NULL, &mt, &err), 0);
    assert_ptr_equal(alert_maint_active(mt, &mon_db, DAY0 + 10 * M, &end), &two[0]);
    assert_int_equal(end, DAY0 + H);
    /* both open: the one closing last says how long alerts stay held */
    assert_ptr_equal(alert_maint_active(mt, &mon_db, DAY0 + 40 * M, &end), &two[1]);
    assert_int_equal(end, DAY0 + 3 * H);
    alert_maint_free(mt);
}

static void test_bad_zone(void **state)
{
    static struct conf_maintenance bad[] = {
        { .name = "mars",
          .monitors = db_mons,
          .n_monitors = 1,
          .schedule = "0 2 * * *",
          .tz = "Mars/Olympus",
          .duration_ms = H },
    };
    struct conf c = { .maintenance = bad, .n_maintenance = 1 };
    struct alert_maint *mt = NULL;
    struct opsd_error err = { 0 };

    (void)state;
    assert_int_equal(alert_maint_new(&c, NULL, &mt, &err), -ENOENT);
    assert_null(mt);
    assert_non_null(strstr(err.msg, "maintenance window mars"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_off),
        cmocka_unit_test(test_recurring_in_zone),
        cmocka_unit_test(test_covers_and_overlap),
        cmocka_unit_test(test_overlap_picks_latest_end),
        cmocka_unit_test(test_bad_zone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
