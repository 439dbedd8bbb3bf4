/* Unit tests for cron heartbeats: expression parsing, TZif zones (system ones
 * and files written here, corrupt ones included), next/prev fire times across
 * DST changes, and the heartbeat deadline. Expected instants were computed
 * with GNU date (TZ=Europe/Berlin date -d '2026-03-29 03:00' +%s). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "probe/probe.h"

#define S(x) ((uint64_t)(x)*1000)

static char tmpdir[] = "/tmp/opsd-test-cron-XXXXXX";

static struct probe_cron parse_ok(const char *expr)
{
    struct probe_cron c;
    struct opsd_error err = { 0 };
    int r = probe_cron_parse(expr, &c, &err);

    if (r < 0)
        fail_msg("'%s': %s", expr, err.msg);
    return c;
}

static struct probe_tz *zone(const char *name)
{
    struct probe_tz *tz = NULL;
    struct opsd_error err = { 0 };
    int r = probe_tz_load(name, NULL, &tz, &err);

    if (r < 0)
        fail_msg("zone '%s': %s", name, err.msg);
    return tz;
}

static uint64_t next_ok(const char *expr, const struct probe_tz *tz, uint64_t after)
{
    struct probe_cron c = parse_ok(expr);
    uint64_t t = 0;

    assert_int_equal(probe_cron_next(&c, tz, after, &t), 0);
    return t;
}

static uint64_t prev_ok(const char *expr, const struct probe_tz *tz, uint64_t at)
{
    struct probe_cron c = parse_ok(expr);
    uint64_t t = 0;

    assert_int_equal(probe_cron_prev(&c, tz, at, &t), 0);
    return t;
}

static uint64_t bits(int lo, int hi, int step)
{
    uint64_t m = 0;

    for (int v = lo; v <= hi; v += step)
        m |= UINT64_C(1) << v;
    return m;
}

static void assert_cron_equal(const struct probe_cron *a, const struct probe_cron *b)
{
    assert_int_equal(a->minute, b->minute);
    assert_int_equal(a->hour, b->hour);
    assert_int_equal(a->dom, b->dom);
    assert_int_equal(a->month, b->month);
    assert_int_equal(a->dow, b->dow);
    assert_int_equal(a->minute_star, b->minute_star);
    assert_int_equal(a->hour_star, b->hour_star);
    assert_int_equal(a->dom_star, b->dom_star);
    assert_int_equal(a->dow_star, b->dow_star);
}

/* ---- Parsing ---- */

static void test_parse_stars_and_steps(void **state)
{
    struct probe_cron c;

    (void)state;
    c = parse_ok("*/15 * * * *");
    assert_int_equal(c.minute, bits(0, 45, 15));
    assert_int_equal(c.hour, bits(0, 23, 1));
    assert_int_equal(c.dom, bits(1, 31, 1));
    assert_int_equal(c.month, bits(1, 12, 1));
    assert_int_equal(c.dow, bits(0, 6, 1));
    assert_true(c.minute_star && c.hour_star && c.dom_star && c.dow_star);

    c = parse_ok("0 */5 */10 */4 */2");
    assert_int_equal(c.minute, 1);
    assert_int_equal(c.hour, bits(0, 20, 5));
    assert_int_equal(c.dom, bits(1, 31, 10)); /* 1, 11, 21, 31 */
    assert_int_equal(c.month, bits(1, 9, 4)); /* 1, 5, 9 */
    assert_int_equal(c.dow, bits(0, 6, 2));   /* 0, 2, 4, 6 (and 8 is out) */
    assert_false(c.minute_star);
    assert_true(c.hour_star);

    /* a-b/n and a/n (to the end of the field) */
    c = parse_ok("10-40/10 7/20 5/10 2/5 1/3");
    assert_int_equal(c.minute, bits(10, 40, 10));
    assert_int_equal(c.hour, 1u << 7); /* 27 is past 23 */
    assert_int_equal(c.dom, bits(5, 25, 10));
    assert_int_equal(c.month, bits(2, 12, 5));           /* 2, 7, 12 */
    assert_int_equal(c.dow, (1u << 1) | (1u << 4) | 1u); /* 1, 4, 7 = Sunday */
    assert_false(c.minute_star || c.hour_star || c.dom_star || c.dow_star);

    c = parse_ok("7/20 * * * *");
    assert_int_equal(c.minute, (UINT64_C(1) << 7) | (UINT64_C(1) << 27) | (UINT64_C(1) << 47));
}

static void test_parse_lists_ranges_names(void **state)
{
    struct probe_cron c;

    (void)state;
    c = parse_ok("5,10-12,20-40/10 1-5/2 1,15 JAN-MAR,dec mon-fri");
    assert_int_equal(c.minute, (UINT64_C(1) << 5) | bits(10, 12, 1) | bits(20, 40, 10));
    assert_int_equal(c.hour, (1u << 1) | (1u << 3) | (1u << 5));
    assert_int_equal(c.dom, (1u << 1) | (1u << 15));
    assert_int_equal(c.month, bits(1, 3, 1) | (1u << 12));
    assert_int_equal(c.dow, bits(1, 5, 1));

    /* names in any case, and in lists with numbers */
    c = parse_ok("0 0 * Jul,aUg,9 Sun,SAT,3");
    assert_int_equal(c.month, (1u << 7) | (1u << 8) | (1u << 9));
    assert_int_equal(c.dow, (1u << 0) | (1u << 6) | (1u << 3));
    c = parse_ok("0 0 * * tue-thu/2");
    assert_int_equal(c.dow, (1u << 2) | (1u << 4));

    /* 7 is Sunday too, alone or ending a range */
    c = parse_ok("0 0 * * 7");
    assert_int_equal(c.dow, 1);
    c = parse_ok("0 0 * * 5-7");
    assert_int_equal(c.dow, (1u << 5) | (1u << 6) | 1u);
    c = parse_ok("0 0 * * 0,7");
    assert_int_equal(c.dow, 1);

    /* blanks: tabs, runs of spaces, leading and trailing */
    c = parse_ok(" \t0\t3  * *\t1 ");
    assert_int_equal(c.minute, 1);
    assert_int_equal(c.hour, 1u << 3);
    assert_int_equal(c.dow, 1u << 1);
    assert_true(c.dom_star);
    assert_false(c.dow_star);
}

static void test_parse_macros(void **state)
{
    static const struct {
        const char *macro, *expr;
    } cases[] = {
        { "@yearly", "0 0 1 1 *" }, { "@annually", "0 0 1 1 *" },  { "@monthly", "0 0 1 * *" },
        { "@weekly", "0 0 * * 0" }, { "@daily", "0 0 * * *" },     { "@midnight", "0 0 * * *" },
        { "@hourly", "0 * * * *" }, { "  @DAILY  ", "0 0 * * *" },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct probe_cron a = parse_ok(cases[i].macro);
        struct probe_cron b = parse_ok(cases[i].expr);

        assert_cron_equal(&a, &b);
    }
}

static void test_parse_errors(void **state)
{
    static const struct {
        const char *expr, *msg;
    } cases[] = {
        { "", "empty schedule" },
        { " \t ", "empty schedule" },
        { "* * * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 4" },
        { "* * * * * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 6" },
        { "61 * * * *", "minute field: 61 is out of range 0-59" },
        { "99999999999 * * * *", "minute field: 99999999999 is out of range 0-59" },
        { "* 24 * * *", "hour field: 24 is out of range 0-23" },
        { "* * 0 * *", "day-of-month field: 0 is out of range 1-31" },
        { "* * 32 * *", "day-of-month field: 32 is out of range 1-31" },
        { "* * * 13 *", "month field: 13 is out of range 1-12" },
        { "* * * 0 *", "month field: 0 is out of range 1-12" },
        { "* * * * 8", "day-of-week field: 8 is out of range 0-7" },
        { "* 1-30 * * *", "hour field: 30 is out of range 0-23" },
        { "*/0 * * * *", "minute field: step 0 is out of range 1-59" },
        { "*/60 * * * *", "minute field: step 60 is out of range 1-59" },
        { "* */24 * * *", "hour field: step 24 is out of range 1-23" },
        { "*/ * * * *", "minute field: '/' must be followed by a step" },
        { "5-1 * * * *", "minute field: range 5-1 runs backwards" },
        { "* * * * FRI-SUN", "day-of-week field: range FRI-SUN runs backwards (Sunday is also 7)" },
        { "* * * FOO *", "month field: 'FOO' is not a month name (JAN-DEC)" },
        { "* * * JANUARY *", "month field: 'JANUARY' is not a month name (JAN-DEC)" },
        { "* * * * MOX", "day-of-week field: 'MOX' is not a day name (SUN-SAT)" },
        { "JAN * * * *", "minute field: 'JAN' is not a number" },
        { "* * MON * *", "day-of-month field: 'MON' is not a number" },
        { "1,,2 * * * *", "minute field: empty list element" },
        { "1, * * * *", "minute field: empty list element" },
        { "1- * * * *", "minute field: expected a number at the end of '1-'" },
        { "* * * 1- *", "month field: expected a number or name at the end of '1-'" },
        { "#5 * * * *", "minute field: unexpected '#' in '#5'" },
        { "*5 * * * *", "minute field: unexpected '5' in '*5'" },
        { "1-2-3 * * * *", "minute field: unexpected '-' in '1-2-3'" },
        { "*/5/2 * * * *", "minute field: unexpected '/' in '*/5/2'" },
        { "0 0 L * *", "day-of-month field: 'L' is not a number" },
        { "@reboot", "'@reboot' is not supported: a heartbeat needs times to expect pings at" },
        { "@fortnightly",
          "unknown macro '@fortnightly' (expected @yearly, @annually, @monthly, @weekly, "
          "@daily, @midnight or @hourly)" },
        { "@daily 5", "unexpected '5' after '@daily'" },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct probe_cron c, before;
        struct opsd_error err = { 0 };

        memset(&c, 0xa5, sizeof(c));
        before = c;
        assert_int_equal(probe_cron_parse(cases[i].expr, &c, &err), -EINVAL);
        assert_int_equal(err.code, -EINVAL);
        assert_string_equal(err.msg, cases[i].msg);
        assert_memory_equal(&c, &before, sizeof(c)); /* untouched */
    }
}

static void test_parse_limits(void **state)
{
    char long_expr[PROBE_CRON_MAX_LEN + 2];
    struct probe_cron c;
    struct opsd_error err = { 0 };

    (void)state;
    assert_int_equal(probe_cron_parse(NULL, &c, &err), -EINVAL);
    assert_string_equal(err.msg, "no schedule");
    memset(long_expr, ' ', sizeof(long_expr) - 1);
    long_expr[sizeof(long_expr) - 1] = '\0';
    memcpy(long_expr, "* * * * *", 9);
    assert_int_equal(probe_cron_parse(long_expr, &c, &err), -EINVAL);
    assert_string_equal(err.msg, "schedule is longer than 256 bytes");
    long_expr[PROBE_CRON_MAX_LEN] = '\0';
    assert_int_equal(probe_cron_parse(long_expr, &c, &err), 0);
    /* a NULL error struct is fine */
    assert_int_equal(probe_cron_parse("61 * * * *", &c, NULL), -EINVAL);
}

/* ---- Fire times in UTC ---- */

static void test_vixie_or_rule(void **state)
{
    struct probe_tz *utc = zone("UTC");

    (void)state;
    /* Both restricted: the 13th OR any Friday. 2026-01-01 is a Thursday. */
    assert_int_equal(next_ok("0 0 13 * FRI", utc, S(1767225600)), S(1767312000)); /* Fri 2nd */
    assert_int_equal(next_ok("0 0 13 * FRI", utc, S(1767312000)), S(1767916800)); /* Fri 9th */
    assert_int_equal(next_ok("0 0 13 * FRI", utc, S(1767916800)), S(1768262400)); /* Tue 13th */
    assert_int_equal(next_ok("0 0 13 * FRI", utc, S(1768262400)), S(1768521600)); /* Fri 16th */
    assert_int_equal(prev_ok("0 0 13 * FRI", utc, S(1768521600) - 1), S(1768262400));
    /* Only one restricted: that one alone. */
    assert_int_equal(next_ok("0 0 13 * *", utc, S(1767225600)), S(1768262400));
    assert_int_equal(next_ok("0 0 * * FRI", utc, S(1767916800)), S(1768521600));
    /* A starred step counts as '*' (Vixie keys on the '*'): odd days AND Fridays,
     * so not the 2nd but the 9th, then not the 16th but the 23rd. */
    assert_int_equal(next_ok("0 0 */2 * FRI", utc, S(1767225600)), S(1767916800));
    assert_int_equal(next_ok("0 0 */2 * FRI", utc, S(1767916800)), S(1769126400));
    assert_int_equal(prev_ok("0 0 */2 * FRI", utc, S(1769126400) - 1), S(1767916800));
    probe_tz_free(utc);
}

static void test_month_ends(void **state)
{
    struct probe_tz *utc = zone("UTC");

    (void)state;
    /* 2026-01-31 12:00 -> 2026-02-01 00:00 */
    assert_int_equal(next_ok("0 0 1 * *", utc, S(1769860800)), S(1769904000));
    /* at-or-before includes the instant itself */
    assert_int_equal(prev_ok("0 0 1 * *", utc, S(1769904000)), S(1769904000));
    assert_int_equal(prev_ok("0 0 1 * *", utc, S(1769904000) - 1), S(1767225600));
    /* the 31st skips February and April: Jan 31 -> Mar 31 -> May 31 */
    assert_int_equal(next_ok("0 0 31 * *", utc, S(1769817600)), S(1774915200));
    assert_int_equal(next_ok("0 0 31 * *", utc, S(1774915200)), S(1780185600));
    assert_int_equal(prev_ok("0 0 31 * *", utc, S(1780185600) - 1), S(1774915200));
    assert_int_equal(prev_ok("0 0 31 * *", utc, S(1774915200) - 1), S(1769817600));
    /* weekdays at 08:30 from a Friday 09:00 -> Monday 08:30 */
    assert_int_equal(next_ok("30 8 * * MON-FRI", utc, S(1767344400)), S(1767601800));
    /* @weekly from Thursday 2026-01-01 -> Sunday 2026-01-04 */
    assert_int_equal(next_ok("@weekly", utc, S(1767225600)), S(1767484800));
    probe_tz_free(utc);
}

static void test_leap_day(void **state)
{
    struct probe_tz *utc = zone("UTC");

    (void)state;
    /* 2026-01-01 -> 2028-02-29 12:00 -> 2032-02-29 12:00 */
    assert_int_equal(next_ok("0 12 29 2 *", utc, S(1767225600)), S(1835438400));
    assert_int_equal(next_ok("0 12 29 2 *", utc, S(1835438400)), S(1961668800));
    /* 2100 is not a leap year: 2096-03-01 -> 2104-02-29, 8 years on */
    assert_int_equal(next_ok("0 12 29 2 *", utc, S(3981398400)), S(4233729600));
    assert_int_equal(prev_ok("0 12 29 2 *", utc, S(4233729600) - 1), S(3981355200));
    /* 2027-06-01 -> back to 2024-02-29 12:00 */
    assert_int_equal(prev_ok("0 12 29 2 *", utc, S(1811808000)), S(1709208000));
    probe_tz_free(utc);
}

static void test_year_end(void **state)
{
    struct probe_tz *utc = zone("UTC");

    (void)state;
    assert_int_equal(next_ok("59 23 31 12 *", utc, S(1798761540)), S(1830297540));
    assert_int_equal(next_ok("59 23 31 12 *", utc, S(1798761540) - 1), S(1798761540));
    assert_int_equal(next_ok("@yearly", utc, S(1798761600) - 1), S(1798761600));
    assert_int_equal(prev_ok("@yearly", utc, S(1798761600) - 1), S(1767225600));
    assert_int_equal(prev_ok("59 23 31 12 *", utc, S(1830297540) - 1), S(1798761540));
    probe_tz_free(utc);
}

static void test_strictly_after(void **state)
{
    struct probe_tz *utc = zone("Etc/UTC");

    (void)state;
    /* 2026-01-01 00:00:00.000 is a fire time: next is the one after it */
    assert_int_equal(next_ok("* * * * *", utc, S(1767225600)), S(1767225660));
    assert_int_equal(next_ok("* * * * *", utc, S(1767225600) - 1), S(1767225600));
    assert_int_equal(next_ok("* * * * *", utc, S(1767225600) + 500), S(1767225660));
    assert_int_equal(prev_ok("* * * * *", utc, S(1767225660) - 1), S(1767225600));
    assert_int_equal(prev_ok("* * * * *", utc, S(1767225600) + 59999), S(1767225600));
    assert_int_equal(next_ok("@hourly", utc, S(1767225600)), S(1767229200));
    /* 2026-03-15 10:20 UTC; and from the epoch, 1970-03-15 10:20 */
    assert_int_equal(next_ok("20 10 15 3 *", utc, S(1767225600)), S(1773570000));
    assert_int_equal(next_ok("20 10 15 3 *", utc, 0), S(6344400));
    probe_tz_free(utc);
}

static void test_never_fires(void **state)
{
    struct probe_tz *utc = zone("UTC");
    struct probe_tz *berlin = zone("Europe/Berlin");
    const char *never[] = { "0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 30 2 */7" };

    (void)state;
    for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
        struct probe_cron c = parse_ok(never[i]);
        uint64_t t = 42;

        assert_int_equal(probe_cron_next(&c, utc, S(1767225600), &t), -ENOENT);
        assert_int_equal(probe_cron_next(&c, berlin, S(1767225600), &t), -ENOENT);
        assert_int_equal(probe_cron_prev(&c, berlin, S(1767225600), &t), -ENOENT);
        assert_int_equal(t, 42);
    }
    {
        struct probe_cron c = parse_ok("* * * * *");
        uint64_t t = 42;

        /* before the first fire time after 1970 */
        assert_int_equal(probe_cron_prev(&c, utc, 59999, &t), 0);
        assert_int_equal(t, 0);
        c = parse_ok("0 12 * * *");
        assert_int_equal(probe_cron_prev(&c, utc, 1000, &t), -ENOENT);
        /* out of range */
        assert_int_equal(probe_cron_next(&c, utc, UINT64_MAX, &t), -ERANGE);
        assert_int_equal(probe_cron_prev(&c, utc, UINT64_MAX, &t), -ERANGE);
        assert_int_equal(t, 0);
    }
    probe_tz_free(utc);
    probe_tz_free(berlin);
}

/* ---- Zones and DST ---- */

static void test_berlin_spring_forward(void **state)
{
    struct probe_tz *b = zone("Europe/Berlin");

    (void)state;
    /* 2026-03-29: 02:00 CET -> 03:00 CEST at 01:00 UTC (1774746000) */
    assert_int_equal(probe_tz_offset(b, S(1774746000) - 1), 3600);
    assert_int_equal(probe_tz_offset(b, S(1774746000)), 7200);
    /* 02:30 does not exist: fires at 03:00 CEST, once */
    assert_int_equal(next_ok("30 2 * * *", b, S(1774661400)), S(1774746000));
    assert_int_equal(next_ok("30 2 * * *", b, S(1774746000)), S(1774830600)); /* Mar 30 02:30 */
    assert_int_equal(prev_ok("30 2 * * *", b, S(1774746000)), S(1774746000));
    assert_int_equal(prev_ok("30 2 * * *", b, S(1774746000) - 1), S(1774661400)); /* 28th */
    assert_int_equal(prev_ok("30 2 * * *", b, S(1774830600) - 1), S(1774746000));
    /* two skipped times still fire once */
    assert_int_equal(next_ok("0,30 2 * * *", b, S(1774661400)), S(1774746000));
    assert_int_equal(next_ok("0,30 2 * * *", b, S(1774746000)), S(1774828800)); /* 30th 02:00 */
    /* 03:00 is the same instant as the gap's end: still one fire */
    assert_int_equal(next_ok("0 2,3 * * *", b, S(1774663200)), S(1774746000));
    assert_int_equal(next_ok("0 2,3 * * *", b, S(1774746000)), S(1774828800));
    /* wildcard hour: 02:15 is skipped, not moved; 01:15 CET -> 03:15 CEST */
    assert_int_equal(next_ok("15 * * * *", b, S(1774746000) - 2700), S(1774746000) + S(900));
    assert_int_equal(prev_ok("15 * * * *", b, S(1774746000) + S(899)), S(1774746000) - S(2700));
    assert_int_equal(next_ok("*/30 * * * *", b, S(1774746000) - 1), S(1774746000));
    /* 03:00 daily: the 28th at 03:00 CET, then the 29th at 03:00 CEST */
    assert_int_equal(next_ok("0 3 * * *", b, S(1774661400)), S(1774663200));
    assert_int_equal(next_ok("0 3 * * *", b, S(1774663200)), S(1774746000));
    probe_tz_free(b);
}

static void test_berlin_fall_back(void **state)
{
    struct probe_tz *b = zone("Europe/Berlin");

    (void)state;
    /* 2026-10-25: 03:00 CEST -> 02:00 CET at 01:00 UTC (1792890000) */
    assert_int_equal(probe_tz_offset(b, S(1792890000) - 1), 7200);
    assert_int_equal(probe_tz_offset(b, S(1792890000)), 3600);
    /* 02:30 happens at 00:30 UTC and 01:30 UTC: fixed fires the first only */
    assert_int_equal(next_ok("30 2 * * *", b, S(1792846800)), S(1792888200));
    assert_int_equal(next_ok("30 2 * * *", b, S(1792888200)), S(1792978200)); /* 26th 02:30 */
    assert_int_equal(prev_ok("30 2 * * *", b, S(1792891800) + S(900)), S(1792888200));
    assert_int_equal(prev_ok("30 2 * * *", b, S(1792978200) - 1), S(1792888200));
    assert_int_equal(next_ok("0 2 * * *", b, S(1792846800)), S(1792886400));
    assert_int_equal(next_ok("0 2 * * *", b, S(1792886400)), S(1792976400)); /* 26th 02:00 */
    /* 03:00 CET happens once, at 02:00 UTC */
    assert_int_equal(next_ok("0 3 * * *", b, S(1792846800)), S(1792893600));
    /* wildcard: the hourly :30 fires in both passes */
    assert_int_equal(next_ok("30 * * * *", b, S(1792888200)), S(1792891800));
    assert_int_equal(prev_ok("30 * * * *", b, S(1792891800)), S(1792891800));
    assert_int_equal(prev_ok("30 * * * *", b, S(1792891800) - 1), S(1792888200));
    probe_tz_free(b);
}

/* A year of fires in Berlin, chained: daily fixed times once a day on both
 * DST days, wildcard ones once per real hour; prev undoes next. */
static void test_berlin_year_chain(void **state)
{
    static const struct {
        const char *expr;
        int count;
    } cases[] = {
        { "30 2 * * *", 365 },     { "0 3 * * *", 365 },   { "30 * * * *", 8760 },
        { "*/30 * * * *", 17520 }, { "0 12 * * MON", 52 },
    };
    struct probe_tz *b = zone("Europe/Berlin");
    const uint64_t start = S(1767222000); /* 2026-01-01 00:00 CET */
    const uint64_t end = S(1798758000);   /* 2027-01-01 00:00 CET */

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct probe_cron c = parse_ok(cases[i].expr);
        uint64_t t = start - 1, prev = 0;
        int n = 0;

        for (;;) {
            uint64_t p;

            assert_int_equal(probe_cron_next(&c, b, t, &t), 0);
            if (t >= end)
                break;
            assert_true(t > prev);
            assert_int_equal(probe_cron_prev(&c, b, t, &p), 0);
            assert_int_equal(p, t);
            if (prev) {
                assert_int_equal(probe_cron_prev(&c, b, t - 1, &p), 0);
                assert_int_equal(p, prev);
            }
            prev = t;
            n++;
        }
        assert_int_equal(n, cases[i].count);
    }
    probe_tz_free(b);
}

static void test_new_york(void **state)
{
    struct probe_tz *ny = zone("America/New_York");

    (void)state;
    assert_int_equal(probe_tz_offset(ny, S(1767225600)), -18000);
    /* weekdays 09:00 EST = 14:00 UTC: Thursday 1st, Friday 2nd, Monday 5th */
    assert_int_equal(next_ok("0 9 * * MON-FRI", ny, S(1767225600)), S(1767276000));
    assert_int_equal(next_ok("0 9 * * MON-FRI", ny, S(1767276000)), S(1767362400));
    assert_int_equal(next_ok("0 9 * * MON-FRI", ny, S(1767362400)), S(1767621600));
    /* 2026-03-08: 02:30 skipped -> 03:00 EDT = 07:00 UTC */
    assert_int_equal(next_ok("30 2 * * *", ny, S(1772868600)), S(1772953200));
    assert_int_equal(probe_tz_offset(ny, S(1772953200)), -14400);
    /* 2026-11-01: 01:30 twice -> the EDT one (05:30 UTC), then 11-02 01:30 EST */
    assert_int_equal(next_ok("30 1 * * *", ny, S(1793424600)), S(1793511000));
    assert_int_equal(next_ok("30 1 * * *", ny, S(1793511000)), S(1793601000));
    probe_tz_free(ny);
}

static void test_lord_howe(void **state)
{
    struct probe_tz *lh = zone("Australia/Lord_Howe");

    (void)state;
    /* +11 in summer, +10:30 in winter: a 30-minute DST */
    assert_int_equal(probe_tz_offset(lh, S(1767225600)), 39600);
    assert_int_equal(probe_tz_offset(lh, S(1782864000)), 37800);
    /* 2026-04-05: 02:00 +11 -> 01:30 +10:30; 01:45 happens twice */
    assert_int_equal(next_ok("45 1 * * *", lh, S(1775313900) - S(3600)), S(1775313900));
    assert_int_equal(next_ok("45 1 * * *", lh, S(1775313900)), S(1775402100));
    assert_int_equal(next_ok("*/15 * * * *", lh, S(1775313900)), S(1775314800));
    assert_int_equal(next_ok("45 * * * *", lh, S(1775313900)), S(1775315700));
    /* 2026-10-04: 02:00 +10:30 -> 02:30 +11; 02:15 fires at the gap's end */
    assert_int_equal(next_ok("15 2 * * *", lh, S(1791041340)), S(1791041400));
    assert_int_equal(prev_ok("15 2 * * *", lh, S(1791041400) + S(3600)), S(1791041400));
    assert_int_equal(next_ok("0 2 * * *", lh, S(1791041340)), S(1791041400));
    probe_tz_free(lh);
}

static void test_kathmandu_and_utc(void **state)
{
    struct probe_tz *k = zone("Asia/Kathmandu");
    struct probe_tz *u = zone("UTC");
    struct probe_tz *eu = zone("Etc/UTC");

    (void)state;
    assert_int_equal(probe_tz_offset(k, S(1767225600)), 20700);
    /* 09:00 +05:45 = 03:15 UTC */
    assert_int_equal(next_ok("0 9 * * *", k, S(1767225600)), S(1767237300));
    assert_int_equal(prev_ok("0 9 * * *", k, S(1767237300) - 1), S(1767237300) - S(86400));
    assert_string_equal(probe_tz_name(k), "Asia/Kathmandu");
    assert_int_equal(probe_tz_offset(u, S(1782864000)), 0);
    assert_int_equal(probe_tz_offset(eu, S(4118086800)), 0);
    assert_string_equal(probe_tz_name(eu), "Etc/UTC");
    assert_int_equal(next_ok("30 8 * * *", u, S(1767169800)), S(1767256200));
    probe_tz_free(k);
    probe_tz_free(u);
    probe_tz_free(eu);
}

static void test_far_future(void **state)
{
    struct probe_tz *b = zone("Europe/Berlin");
    struct probe_tz *lh = zone("Australia/Lord_Howe");
    struct probe_tz *ny = zone("America/New_York");

    (void)state;
    /* Past the tables' last transition: the footer's rule governs */
    assert_int_equal(probe_tz_offset(b, S(4118086800)), 7200);
    assert_int_equal(probe_tz_offset(b, S(4131309600)), 3600);
    assert_int_equal(next_ok("0 3 * * *", b, S(4118086800) - S(86400)), S(4118086800));
    assert_int_equal(next_ok("0 3 * * *", b, S(4131309600) - S(86400)), S(4131309600));
    /* 2100-03-28 spring forward at 01:00 UTC; 2100-10-31 fall back */
    assert_int_equal(next_ok("30 2 * * *", b, S(4109878800) - S(3600)), S(4109878800));
    assert_int_equal(next_ok("0 3 * * *", b, S(4128627600)), S(4128627600) + S(3600));
    assert_int_equal(next_ok("30 2 * * *", b, S(4128627600) - S(3600)), S(4128627600) - S(1800));
    /* Lord Howe 2100-10-03 02:00 +10:30 -> 02:30 +11 at 15:30 UTC the day before */
    assert_int_equal(next_ok("15 2 * * *", lh, S(4126174200) - S(3600)), S(4126174200));
    /* 2100-04-04 01:30-01:59 happens twice; fixed 01:45 fires at +11 only */
    assert_int_equal(next_ok("45 1 * * *", lh, S(4110446700) - 1), S(4110446700));
    assert_int_equal(next_ok("45 1 * * *", lh, S(4110446700)), S(4110534900));
    assert_int_equal(next_ok("45 * * * *", lh, S(4110446700)), S(4110448500));
    /* 01:15 happens once, before the change */
    assert_int_equal(next_ok("15 1 * * *", lh, S(4110444900) - 1), S(4110444900));
    /* New York 2100-03-14 02:00 EST -> 03:00 EDT */
    assert_int_equal(next_ok("30 2 * * *", ny, S(4108690740)), S(4108690800));
    probe_tz_free(b);
    probe_tz_free(lh);
    probe_tz_free(ny);
}

static void test_local_to_utc(void **state)
{
    struct probe_tz *b = zone("Europe/Berlin");
    struct probe_tz *lh = zone("Australia/Lord_Howe");
    uint64_t t = 42;

    (void)state;
    /* 2026-07-01 12:00 local = 10:00 UTC */
    assert_int_equal(probe_tz_local_to_utc(b, S(1782907200), &t), PROBE_TZ_LOCAL_UNIQUE);
    assert_int_equal(t, S(1782900000));
    assert_int_equal(probe_tz_local_to_utc(b, S(1782907200) + 123, &t), PROBE_TZ_LOCAL_UNIQUE);
    assert_int_equal(t, S(1782900000) + 123);
    /* 2026-03-29 02:30 (1774751400 as if UTC): skipped, the gap ends at 01:00 UTC */
    assert_int_equal(probe_tz_local_to_utc(b, S(1774751400), &t), PROBE_TZ_LOCAL_SKIPPED);
    assert_int_equal(t, S(1774746000));
    /* 2026-10-25 02:30 (1792895400): twice, the first at 00:30 UTC */
    assert_int_equal(probe_tz_local_to_utc(b, S(1792895400), &t), PROBE_TZ_LOCAL_REPEATED);
    assert_int_equal(t, S(1792888200));
    /* 2026-10-25 03:00 once, at 02:00 UTC */
    assert_int_equal(probe_tz_local_to_utc(b, S(1792897200), &t), PROBE_TZ_LOCAL_UNIQUE);
    assert_int_equal(t, S(1792893600));
    /* Lord Howe 2026-04-05 01:45 (1775353500) twice: 14:45 UTC first */
    assert_int_equal(probe_tz_local_to_utc(lh, S(1775353500), &t), PROBE_TZ_LOCAL_REPEATED);
    assert_int_equal(t, S(1775313900));
    /* 2100-07-01 03:00 in Berlin, from the footer */
    assert_int_equal(probe_tz_local_to_utc(b, S(4118094000), &t), PROBE_TZ_LOCAL_UNIQUE);
    assert_int_equal(t, S(4118086800));
    t = 42;
    assert_int_equal(probe_tz_local_to_utc(b, UINT64_MAX, &t), -ERANGE);
    assert_int_equal(probe_tz_local_to_utc(b, 0, &t), -ERANGE); /* 1969-12-31 23:00 UTC */
    assert_int_equal(t, 42);
    probe_tz_free(b);
    probe_tz_free(lh);
}

/* ---- Loading zones ---- */

static void test_tz_bad_names(void **state)
{
    static const struct {
        const char *name, *msg;
    } cases[] = {
        { "", "empty time zone name" },
        { "../etc/passwd", "time zone '../etc/passwd': '..' is not allowed" },
        { "Europe/../../etc/passwd", "time zone 'Europe/../../etc/passwd': '..' is not allowed" },
        { "/etc/passwd", "time zone '/etc/passwd' is a path: give a name such as Europe/Berlin" },
        { "Europe/Ber lin", "time zone 'Europe/Ber lin': ' ' is not allowed (only letters, "
                            "digits, '_', '+', '-' and '/')" },
        { "Europe/./Berlin", "time zone 'Europe/./Berlin': '.' is not allowed (only letters, "
                             "digits, '_', '+', '-' and '/')" },
        { "Europe\\Berlin", "time zone 'Europe\\Berlin': '\\' is not allowed (only letters, "
                            "digits, '_', '+', '-' and '/')" },
        { "Europe/Berlin\n", "time zone name: byte 0x0a at offset 13 is not allowed (only "
                             "letters, digits, '_', '+', '-' and '/')" },
        { "Europe//Berlin", "time zone 'Europe//Berlin' has an empty path component" },
        { "Europe/", "time zone 'Europe/' has an empty path component" },
    };
    char long_name[PROBE_TZ_MAX_NAME + 2];
    struct probe_tz *tz = NULL;
    struct opsd_error err = { 0 };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct probe_tz *sentinel = (struct probe_tz *)&sentinel;

        assert_int_equal(probe_tz_load(cases[i].name, NULL, &sentinel, &err), -EINVAL);
        assert_string_equal(err.msg, cases[i].msg);
        assert_ptr_equal(sentinel, (struct probe_tz *)&sentinel); /* untouched */
    }
    memset(long_name, 'A', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    assert_int_equal(probe_tz_load(long_name, NULL, &tz, &err), -EINVAL);
    assert_string_equal(err.msg, "time zone name is longer than 64 bytes");
    long_name[PROBE_TZ_MAX_NAME] = '\0';
    assert_int_equal(probe_tz_load(long_name, NULL, &tz, &err), -ENOENT);
    assert_null(tz);
}

static void test_tz_missing(void **state)
{
    struct probe_tz *tz = NULL;
    struct opsd_error err = { 0 };

    (void)state;
    assert_int_equal(probe_tz_load("Europe/Nowhere", NULL, &tz, &err), -ENOENT);
    assert_string_equal(err.msg,
                        "unknown time zone 'Europe/Nowhere' (no file /usr/share/zoneinfo/Europe/"
                        "Nowhere)");
    assert_int_equal(probe_tz_load("Europe", NULL, &tz, &err), -ENOENT);
    assert_string_equal(err.msg,
                        "unknown time zone 'Europe' (/usr/share/zoneinfo/Europe is not a file)");
    assert_int_equal(probe_tz_load("Europe/Berlin/x", NULL, &tz, &err), -ENOENT);
    assert_int_equal(probe_tz_load("Europe/Berlin", tmpdir, &tz, &err), -ENOENT);
    assert_null(tz);
    /* UTC needs no file, wherever the directory points */
    assert_int_equal(probe_tz_load("UTC", tmpdir, &tz, &err), 0);
    assert_int_equal(probe_tz_offset(tz, S(1782864000)), 0);
    tz = probe_tz_free(tz);
    assert_null(tz);
    assert_null(probe_tz_free(NULL));
}

/* Writes a TZif file: version 0 (v1 only, 32-bit) or '2' (a slim empty v1
 * block, then 64-bit data and the footer). */
struct tzif_spec {
    char version;
    uint32_t n_trans;
    const int64_t *trans;
    const uint8_t *idx;
    uint32_t n_types;
    const int32_t *utoff;
    const uint8_t *isdst;
    const char *footer;
};

static unsigned char *put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
    return p + 4;
}

static unsigned char *put_header(unsigned char *p, char version, uint32_t timecnt, uint32_t typecnt,
                                 uint32_t charcnt)
{
    memcpy(p, "TZif", 4);
    p[4] = (unsigned char)version;
    memset(p + 5, 0, 15);
    p = put32(p + 20, 0); /* isutcnt */
    p = put32(p, 0);      /* isstdcnt */
    p = put32(p, 0);      /* leapcnt */
    p = put32(p, timecnt);
    p = put32(p, typecnt);
    return put32(p, charcnt);
}

static size_t tzif_build(unsigned char *buf, const struct tzif_spec *sp)
{
    unsigned char *p = buf;
    size_t tsize = sp->version ? 8 : 4;

    if (sp->version) {
        p = put_header(p, sp->version, 0, 1, 1);
        memset(p, 0, 7); /* one type, one designation byte */
        p += 7;
    }
    p = put_header(p, sp->version, sp->n_trans, sp->n_types, 4);
    for (uint32_t i = 0; i < sp->n_trans; i++) {
        if (tsize == 8)
            p = put32(p, (uint32_t)((uint64_t)sp->trans[i] >> 32));
        p = put32(p, (uint32_t)sp->trans[i]);
    }
    for (uint32_t i = 0; i < sp->n_trans; i++)
        *p++ = sp->idx[i];
    for (uint32_t i = 0; i < sp->n_types; i++) {
        p = put32(p, (uint32_t)sp->utoff[i]);
        *p++ = sp->isdst[i];
        *p++ = 0;
    }
    memcpy(p, "ZZZ", 4);
    p += 4;
    if (sp->version)
        p += sprintf((char *)p, "\n%s\n", sp->footer);
    return (size_t)(p - buf);
}

static void write_zone(const char *name, const void *data, size_t len)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void write_spec(const char *name, const struct tzif_spec *sp)
{
    unsigned char buf[1024];
    size_t n = tzif_build(buf, sp);

    write_zone(name, buf, n);
}

static int load_test_zone(const char *name, struct probe_tz **tz, struct opsd_error *err)
{
    return probe_tz_load(name, tmpdir, tz, err);
}

static void test_tz_slim_footer_only(void **state)
{
    static const int32_t cet[] = { 3600 };
    static const uint8_t std[] = { 0 };
    static const struct tzif_spec slim = { '2', 0,   NULL, NULL,
                                           1,   cet, std,  "CET-1CEST,M3.5.0,M10.5.0/3" };
    static const uint64_t instants[] = { S(1774746000) - 1,
                                         S(1774746000),
                                         S(1792890000) - 1,
                                         S(1792890000),
                                         S(4118086800),
                                         S(4131309600),
                                         0 };
    static const char *exprs[] = { "30 2 * * *", "30 * * * *", "0 3 * * *" };
    struct probe_tz *sys = zone("Europe/Berlin");
    struct probe_tz *tz = NULL;
    struct opsd_error err = { 0 };

    (void)state;
    write_spec("Slim", &slim);
    assert_int_equal(load_test_zone("Slim", &tz, &err), 0);
    /* A footer alone gives what the full table gives */
    for (size_t i = 0; i < sizeof(instants) / sizeof(instants[0]); i++) {
        assert_int_equal(probe_tz_offset(tz, instants[i]), probe_tz_offset(sys, instants[i]));
        for (size_t j = 0; j < sizeof(exprs) / sizeof(exprs[0]); j++) {
            assert_int_equal(next_ok(exprs[j], tz, instants[i]),
                             next_ok(exprs[j], sys, instants[i]));
            assert_int_equal(prev_ok(exprs[j], tz, instants[i] + S(86400 * 3)),
                             prev_ok(exprs[j], sys, instants[i] + S(86400 * 3)));
        }
    }
    assert_int_equal(next_ok("30 2 * * *", tz, S(1774661400)), S(1774746000));
    probe_tz_free(tz);
    probe_tz_free(sys);
}

static void test_tz_written_zones(void **state)
{
    /* DST all year: "EST5EDT,0/0,J365/25" */
    static const int32_t est[] = { -18000 };
    static const uint8_t std[] = { 0 };
    static const struct tzif_spec always = {
        '2', 0, NULL, NULL, 1, est, std, "EST5EDT,0/0,J365/25"
    };
    /* Version 1: two transitions, then the last type forever */
    static const int64_t trans[] = { 1000000000, 2000000000 };
    static const uint8_t idx[] = { 1, 0 };
    static const int32_t offs[] = { 3600, 7200 };
    static const uint8_t dst[] = { 0, 1 };
    static const struct tzif_spec v1 = { 0, 2, trans, idx, 2, offs, dst, NULL };
    /* No DST in the footer, offsets not whole hours */
    static const int32_t odd[] = { 20700 };
    static const struct tzif_spec fixed = { '2', 0, NULL, NULL, 1, odd, std, "<+0545>-5:45" };
    /* A footer that gives no rule for its DST: glibc's US default */
    static const struct tzif_spec norule = { '2', 0, NULL, NULL, 1, est, std, "EST5EDT" };
    struct probe_tz *tz = NULL;
    struct opsd_error err = { 0 };

    (void)state;
    write_spec("Always", &always);
    assert_int_equal(load_test_zone("Always", &tz, &err), 0);
    assert_int_equal(probe_tz_offset(tz, S(1767225600)), -14400);
    assert_int_equal(probe_tz_offset(tz, S(1767243600) - 1), -14400); /* New Year at 05:00Z */
    assert_int_equal(probe_tz_offset(tz, S(1767243600)), -14400);
    assert_int_equal(probe_tz_offset(tz, S(1782864000)), -14400);
    /* midnight local, every day of 2026 at 04:00 UTC: no gap or repeat at New Year */
    assert_int_equal(next_ok("0 0 * * *", tz, S(1767225600)), S(1767240000));
    assert_int_equal(next_ok("0 0 * * *", tz, S(1767240000)), S(1767326400));
    tz = probe_tz_free(tz);

    write_spec("V1", &v1);
    assert_int_equal(load_test_zone("V1", &tz, &err), 0);
    assert_int_equal(probe_tz_offset(tz, S(999999999)), 3600); /* type 0 before */
    assert_int_equal(probe_tz_offset(tz, S(1000000000)), 7200);
    assert_int_equal(probe_tz_offset(tz, S(2000000000)), 3600);
    assert_int_equal(probe_tz_offset(tz, S(4118086800)), 3600);
    tz = probe_tz_free(tz);

    write_spec("Fixed", &fixed);
    assert_int_equal(load_test_zone("Fixed", &tz, &err), 0);
    assert_int_equal(next_ok("0 9 * * *", tz, S(1767225600)), S(1767237300));
    tz = probe_tz_free(tz);

    write_spec("NoRule", &norule);
    assert_int_equal(load_test_zone("NoRule", &tz, &err), 0);
    assert_int_equal(probe_tz_offset(tz, S(1772953200)), -14400); /* 2026-03-08 07:00Z */
    assert_int_equal(probe_tz_offset(tz, S(1772953200) - 1), -18000);
    tz = probe_tz_free(tz);
}

static void expect_corrupt(const char *name, const void *data, size_t len, const char *msg)
{
    struct probe_tz *tz = NULL;
    struct opsd_error err = { 0 };
    char want[600];

    write_zone(name, data, len);
    assert_int_equal(load_test_zone(name, &tz, &err), -EBADMSG);
    assert_null(tz);
    if (msg) {
        snprintf(want, sizeof(want), "time zone '%s': %s/%s is not a valid TZif file (%s)", name,
                 tmpdir, name, msg);
        assert_string_equal(err.msg, want);
    }
}

static void expect_spec_corrupt(const char *name, const struct tzif_spec *sp, const char *msg)
{
    unsigned char buf[1024];
    size_t n = tzif_build(buf, sp);

    expect_corrupt(name, buf, n, msg);
}

static void test_tz_corrupt(void **state)
{
    static const int64_t trans[] = { 2000000000, 1000000000 };
    static const uint8_t idx[] = { 0, 0 };
    static const uint8_t idx_bad[] = { 0, 5 };
    static const int64_t asc[] = { 1000000000, 2000000000 };
    static const int32_t offs[] = { 3600 };
    static const int32_t huge[] = { 100000 };
    static const uint8_t std[] = { 0 };
    static const struct tzif_spec desc = { '2', 2, trans, idx, 1, offs, std, "CET-1" };
    static const struct tzif_spec badidx = { '2', 2, asc, idx_bad, 1, offs, std, "CET-1" };
    static const struct tzif_spec badoff = { '2', 0, NULL, NULL, 1, huge, std, "CET-1" };
    static const struct tzif_spec badfoot = { '2', 0, NULL, NULL, 1, offs, std, "CET-1CEST,M3" };
    static const struct tzif_spec badfoot2 = { '2', 0, NULL, NULL, 1, offs, std, "C-1" };
    static const struct tzif_spec badfoot3 = { '2', 0,    NULL, NULL,
                                               1,   offs, std,  "CET-1CEST,M13.5.0,M10.5.0" };
    static const struct tzif_spec good = { '2', 2, asc, idx, 1, offs, std, "CET-1" };
    unsigned char buf[1024];
    static const char garbage[] = "not a time zone at all, just text longer than a header";
    size_t n;

    (void)state;
    expect_corrupt("Garbage", garbage, sizeof(garbage) - 1, "bad magic");
    expect_corrupt("Empty", "", 0, "truncated header");
    expect_spec_corrupt("Desc", &desc, "transition times are not ascending");
    expect_spec_corrupt("BadIdx", &badidx, "transition type index out of range");
    expect_spec_corrupt("BadOff", &badoff, "UTC offset out of range");
    expect_spec_corrupt("BadFoot", &badfoot, "bad POSIX TZ string in footer");
    expect_spec_corrupt("BadFoot2", &badfoot2, "bad POSIX TZ string in footer");
    expect_spec_corrupt("BadFoot3", &badfoot3, "bad POSIX TZ string in footer");

    n = tzif_build(buf, &good);
    memcpy(buf + n, "x", 1);
    expect_corrupt("Trailing", buf, n + 1, "bad footer");
    expect_corrupt("NoNewline", buf, n - 1, "unterminated footer");
    /* Counts far beyond the file: capped before anything is sized by them */
    n = tzif_build(buf, &good);
    put32(buf + 51 + 32, 0x7fffffff); /* second header's timecnt */
    expect_corrupt("HugeTime", buf, n, "too many transitions");
    n = tzif_build(buf, &good);
    put32(buf + 51 + 36, 0xffffffff);
    expect_corrupt("HugeTypes", buf, n, "local time type count is not 1-256");
    n = tzif_build(buf, &good);
    put32(buf + 51 + 28, 3); /* leap seconds, as in right/ zones */
    expect_corrupt("Leap", buf, n, "leap-second records are not supported");
    n = tzif_build(buf, &good);
    put32(buf + 51 + 32, 200); /* more transitions than bytes */
    expect_corrupt("Short", buf, n, "truncated data block");
    n = tzif_build(buf, &good);
    buf[4] = '1';
    expect_corrupt("Version", buf, n, "unknown version");
}

static void *read_system_zone(const char *name, size_t *ret_len)
{
    char path[256];
    FILE *f;
    void *buf = malloc(1 << 16);

    assert_non_null(buf);
    snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
    f = fopen(path, "r");
    assert_non_null(f);
    *ret_len = fread(buf, 1, 1 << 16, f);
    fclose(f);
    assert_true(*ret_len > 1000);
    return buf;
}

/* Every truncation of a real file is an error; every byte flipped either
 * loads (and then answers) or is an error: never a crash or a hang. */
static void test_tz_truncated_and_flipped(void **state)
{
    size_t len;
    unsigned char *orig = read_system_zone("Europe/Berlin", &len);
    unsigned char *buf = malloc(len);
    struct probe_cron c = parse_ok("30 2 * * *");
    int loaded = 0;

    (void)state;
    assert_non_null(buf);
    for (size_t n = 0; n < len; n++) {
        struct probe_tz *tz = NULL;

        write_zone("Trunc", orig, n);
        assert_int_equal(load_test_zone("Trunc", &tz, NULL), -EBADMSG);
        assert_null(tz);
    }
    for (size_t i = 0; i < len; i++) {
        static const unsigned char flips[] = { 0x01, 0x80 };

        for (size_t f = 0; f < sizeof(flips); f++) {
            struct probe_tz *tz = NULL;
            uint64_t t;
            int r;

            memcpy(buf, orig, len);
            buf[i] ^= flips[f];
            write_zone("Flip", buf, len);
            r = load_test_zone("Flip", &tz, NULL);
            if (r < 0) {
                assert_int_equal(r, -EBADMSG);
                continue;
            }
            loaded++;
            (void)probe_tz_offset(tz, S(1774746000));
            (void)probe_tz_offset(tz, S(4118086800));
            r = probe_cron_next(&c, tz, S(1767225600), &t);
            assert_true(r == 0 || r == -ENOENT);
            r = probe_cron_prev(&c, tz, S(4118086800), &t);
            assert_true(r == 0 || r == -ENOENT);
            r = probe_tz_local_to_utc(tz, S(1774751400), &t);
            assert_true(r >= 0 || r == -ERANGE);
            probe_tz_free(tz);
        }
    }
    /* flips in v1 data or designations are harmless */
    assert_true(loaded > 0);
    free(buf);
    free(orig);
}

static void test_tz_too_large(void **state)
{
    unsigned char *big = calloc(1, PROBE_TZ_MAX_FILE + 1);
    struct probe_tz *tz = NULL;
    struct opsd_error err = { 0 };
    char want[600];

    (void)state;
    assert_non_null(big);
    memcpy(big, "TZif2", 5);
    write_zone("Big", big, PROBE_TZ_MAX_FILE + 1);
    assert_int_equal(load_test_zone("Big", &tz, &err), -EFBIG);
    snprintf(want, sizeof(want),
             "time zone 'Big': %s/Big is 262145 bytes, more than a TZif file's 262144", tmpdir);
    assert_string_equal(err.msg, want);
    assert_null(tz);
    free(big);
}

/* ---- Heartbeat deadline ---- */

static void test_deadline(void **state)
{
    struct probe_tz *b = zone("Europe/Berlin");
    struct probe_cron c = parse_ok("0 3 * * *");
    const uint64_t grace = 30 * 60 * 1000;
    uint64_t d = 42;

    (void)state;
    /* pinged 2026-06-01 03:02 CEST: the next run is 06-02 03:00 CEST (01:00Z), late at 01:30Z */
    assert_int_equal(probe_cron_deadline(&c, b, grace, S(1780275720), 0, &d), 0);
    assert_int_equal(d, S(1780363800));
    /* never pinged, created 2026-06-01 14:00 CEST: the same run */
    assert_int_equal(probe_cron_deadline(&c, b, grace, 0, S(1780315200), &d), 0);
    assert_int_equal(d, S(1780363800));
    /* the creation time is ignored once pinged */
    assert_int_equal(probe_cron_deadline(&c, b, grace, S(1780275720), S(1780315200), &d), 0);
    assert_int_equal(d, S(1780363800));
    /* an early ping (02:55 for 03:00) counts for the run before: due by 03:30 */
    assert_int_equal(probe_cron_deadline(&c, b, grace, S(1780361700), 0, &d), 0);
    assert_int_equal(d, S(1780363800));
    /* a ping right at 03:00 covers that run: due the next day */
    assert_int_equal(probe_cron_deadline(&c, b, grace, S(1780362000), 0, &d), 0);
    assert_int_equal(d, S(1780450200));
    /* a zero grace is the run itself */
    assert_int_equal(probe_cron_deadline(&c, b, 0, S(1780362000), 0, &d), 0);
    assert_int_equal(d, S(1780448400));
    /* on the spring-forward day 03:00 is right after the gap: 01:00Z + 30m */
    assert_int_equal(probe_cron_deadline(&c, b, grace, S(1774663500), 0, &d), 0);
    assert_int_equal(d, S(1774747800));
    d = 42;
    assert_int_equal(probe_cron_deadline(&c, b, UINT64_MAX, S(1780275720), 0, &d), -ERANGE);
    c = parse_ok("0 0 30 2 *");
    assert_int_equal(probe_cron_deadline(&c, b, grace, S(1780275720), 0, &d), -ENOENT);
    assert_int_equal(d, 42);
    probe_tz_free(b);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    static const char *names[] = { "Slim",     "Always",    "V1",       "Fixed",    "NoRule",
                                   "Garbage",  "Empty",     "Desc",     "BadIdx",   "BadOff",
                                   "BadFoot",  "BadFoot2",  "BadFoot3", "Trailing", "NoNewline",
                                   "HugeTime", "HugeTypes", "Leap",     "Short",    "Version",
                                   "Trunc",    "Flip",      "Big" };
    char path[256];

    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
        unlink(path);
    }
    return rmdir(tmpdir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_stars_and_steps),
        cmocka_unit_test(test_parse_lists_ranges_names),
        cmocka_unit_test(test_parse_macros),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_limits),
        cmocka_unit_test(test_vixie_or_rule),
        cmocka_unit_test(test_month_ends),
        cmocka_unit_test(test_leap_day),
        cmocka_unit_test(test_year_end),
        cmocka_unit_test(test_strictly_after),
        cmocka_unit_test(test_never_fires),
        cmocka_unit_test(test_berlin_spring_forward),
        cmocka_unit_test(test_berlin_fall_back),
        cmocka_unit_test(test_berlin_year_chain),
        cmocka_unit_test(test_new_york),
        cmocka_unit_test(test_lord_howe),
        cmocka_unit_test(test_kathmandu_and_utc),
        cmocka_unit_test(test_far_future),
        cmocka_unit_test(test_local_to_utc),
        cmocka_unit_test(test_tz_bad_names),
        cmocka_unit_test(test_tz_missing),
        cmocka_unit_test(test_tz_slim_footer_only),
        cmocka_unit_test(test_tz_written_zones),
        cmocka_unit_test(test_tz_corrupt),
        cmocka_unit_test(test_tz_truncated_and_flipped),
        cmocka_unit_test(test_tz_too_large),
        cmocka_unit_test(test_deadline),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
