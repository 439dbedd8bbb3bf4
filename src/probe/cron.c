/* Cron expressions, TZif time zones and the fire times of one in the other,
 * for heartbeat monitors that expect a ping on a schedule. */
#include "probe/cron.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/xalloc.h"

/* ---- Civil calendar (proleptic Gregorian), after Howard Hinnant ---- */

#define DAY_S INT64_C(86400)
/* 9999-12-31T23:59:59Z: the last instant accepted from callers. */
#define MAX_INSTANT_S INT64_C(253402300799)
/* Ends of the timeline for segments without a transition: far enough out
 * that adding an offset cannot overflow. */
#define SEG_MIN (-(INT64_C(1) << 50))
#define SEG_MAX (INT64_C(1) << 50)
/* No zone is more than 26 h from UTC; RFC 8536 keeps offsets inside this. */
#define MAX_OFFSET_S (26 * 3600)
#define HORIZON_S ((int64_t)PROBE_CRON_HORIZON_YEARS * 366 * DAY_S)

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *ret_y, int *ret_m, int *ret_d)
{
    int64_t era, doe, yoe, doy, mp;
    int m;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *ret_d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *ret_m = m;
    *ret_y = (int)(yoe + era * 400 + (m <= 2));
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
    static const int dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* 0 = Sunday; 1970-01-01 was a Thursday. */
static int weekday(int64_t day)
{
    return (int)(day + 4 - floor_div(day + 4, 7) * 7);
}

/* ---- Parsing cron expressions ---- */

struct field {
    const char *name;         /* as messages call it */
    int min, max;             /* as written: day-of-week goes to 7 */
    const char *const *names; /* three-letter names of min, min + 1, ... */
    int n_names;
    const char *name_range; /* for messages */
};

static const char *const month_names[] = { "JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                           "JUL", "AUG", "SEP", "OCT", "NOV", "DEC" };
static const char *const day_names[] = { "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT" };

static const struct field fields[5] = {
    { "minute", 0, 59, NULL, 0, NULL },
    { "hour", 0, 23, NULL, 0, NULL },
    { "day-of-month", 1, 31, NULL, 0, NULL },
    { "month", 1, 12, month_names, 12, "a month name (JAN-DEC)" },
    { "day-of-week", 0, 7, day_names, 7, "a day name (SUN-SAT)" },
};

struct macro {
    const char *name;
    const char *expr;
};

static const struct macro macros[] = {
    { "@yearly", "0 0 1 1 *" }, { "@annually", "0 0 1 1 *" }, { "@monthly", "0 0 1 * *" },
    { "@weekly", "0 0 * * 0" }, { "@daily", "0 0 * * *" },    { "@midnight", "0 0 * * *" },
    { "@hourly", "0 * * * *" },
};

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char ascii_upper(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

static bool ascii_ieq(const char *a, size_t alen, const char *b)
{
    size_t i;

    for (i = 0; i < alen && b[i]; i++)
        if (ascii_upper(a[i]) != ascii_upper(b[i]))
            return false;
    return i == alen && !b[i];
}

/* One value of field f at *p: digits, or a name where f has names.
 * [elem, end) is the whole list element, for messages. */
static int parse_value(const struct field *f, const char *elem, const char **p, const char *end,
                       int *ret, struct opsd_error *reterr)
{
    const char *s = *p;
    const char *q = s;
    long v = 0;

    if (q < end && is_digit(*q)) {
        while (q < end && is_digit(*q)) {
            if (v <= 9999)
                v = v * 10 + (*q - '0');
            q++;
        }
        if (v < f->min || v > f->max)
            return opsd_errorf(reterr, -EINVAL, "%s field: %.*s is out of range %d-%d", f->name,
                               (int)(q - s), s, f->min, f->max);
        *ret = (int)v;
        *p = q;
        return 0;
    }
    if (q < end && is_alpha(*q)) {
        while (q < end && is_alpha(*q))
            q++;
        if (!f->names)
            return opsd_errorf(reterr, -EINVAL, "%s field: '%.*s' is not a number", f->name,
                               (int)(q - s), s);
        for (int i = 0; i < f->n_names; i++) {
            if (ascii_ieq(s, (size_t)(q - s), f->names[i])) {
                *ret = f->min + i;
                *p = q;
                return 0;
            }
        }
        return opsd_errorf(reterr, -EINVAL, "%s field: '%.*s' is not %s", f->name, (int)(q - s), s,
                           f->name_range);
    }
    if (q == end)
        return opsd_errorf(reterr, -EINVAL, "%s field: expected a number%s at the end of '%.*s'",
                           f->name, f->names ? " or name" : "", (int)(end - elem), elem);
    return opsd_errorf(reterr, -EINVAL, "%s field: unexpected '%c' in '%.*s'", f->name, *q,
                       (int)(end - elem), elem);
}

/* One list element [s, end) of field f into *mask. */
static int parse_element(const struct field *f, const char *s, const char *end, uint64_t *mask,
                         struct opsd_error *reterr)
{
    const char *p = s;
    int lo = 0, hi = 0, step = 1;
    int r;

    if (p == end)
        return opsd_errorf(reterr, -EINVAL, "%s field: empty list element", f->name);
    if (*p == '*') {
        lo = f->min;
        hi = f->max;
        p++;
    } else {
        r = parse_value(f, s, &p, end, &lo, reterr);
        if (r < 0)
            return r;
        hi = lo;
        if (p < end && *p == '-') {
            p++;
            r = parse_value(f, s, &p, end, &hi, reterr);
            if (r < 0)
                return r;
            if (hi < lo)
                return opsd_errorf(reterr, -EINVAL, "%s field: range %.*s runs backwards%s",
                                   f->name, (int)(p - s), s,
                                   f->max == 7 && hi == 0 ? " (Sunday is also 7)" : "");
        } else if (p < end && *p == '/') {
            /* "a/n" runs from a to the field's end, as in cronie. */
            hi = f->max;
        }
    }
    if (p < end && *p == '/') {
        const char *n = ++p;
        long v = 0;

        while (p < end && is_digit(*p)) {
            if (v <= 9999)
                v = v * 10 + (*p - '0');
            p++;
        }
        if (p == n)
            return opsd_errorf(reterr, -EINVAL, "%s field: '/' must be followed by a step",
                               f->name);
        if (v < 1 || v > f->max)
            return opsd_errorf(reterr, -EINVAL, "%s field: step %.*s is out of range 1-%d", f->name,
                               (int)(p - n), n, f->max);
        step = (int)v;
    }
    if (p < end)
        return opsd_errorf(reterr, -EINVAL, "%s field: unexpected '%c' in '%.*s'", f->name, *p,
                           (int)(end - s), s);
    for (int v = lo; v <= hi; v += step)
        *mask |= UINT64_C(1) << v;
    return 0;
}

static int parse_field(const struct field *f, const char *s, const char *end, uint64_t *ret_mask,
                       struct opsd_error *reterr)
{
    uint64_t mask = 0;
    int r;

    for (;;) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *e = comma ? comma : end;

        r = parse_element(f, s, e, &mask, reterr);
        if (r < 0)
            return r;
        if (!comma)
            break;
        s = comma + 1;
    }
    *ret_mask = mask;
    return 0;
}

static int parse_fields(const char *s, struct probe_cron *ret, struct opsd_error *reterr)
{
    const char *start[5], *end[5];
    uint64_t mask[5];
    int n = 0;
    int r;

    for (const char *p = s; *p;) {
        const char *b;

        while (is_blank(*p))
            p++;
        if (!*p)
            break;
        b = p;
        while (*p && !is_blank(*p))
            p++;
        if (n < 5) {
            start[n] = b;
            end[n] = p;
        }
        n++;
    }
    if (n != 5)
        return opsd_errorf(reterr, -EINVAL,
                           "expected 5 fields (minute hour day-of-month month day-of-week), "
                           "got %d",
                           n);
    for (int i = 0; i < 5; i++) {
        r = parse_field(&fields[i], start[i], end[i], &mask[i], reterr);
        if (r < 0)
            return r;
    }
    /* Sunday is both 0 and 7 in day-of-week; keep it in one bit. */
    if (mask[4] & (UINT64_C(1) << 7))
        mask[4] = (mask[4] | 1) & ~(UINT64_C(1) << 7);
    *ret = (struct probe_cron){
        .minute = mask[0],
        .hour = (uint32_t)mask[1],
        .dom = (uint32_t)mask[2],
        .month = (uint16_t)mask[3],
        .dow = (uint8_t)mask[4],
        .minute_star = *start[0] == '*',
        .hour_star = *start[1] == '*',
        .dom_star = *start[2] == '*',
        .dow_star = *start[4] == '*',
    };
    return 0;
}

int probe_cron_parse(const char *expr, struct probe_cron *ret, struct opsd_error *reterr)
{
    const char *s = expr;
    size_t len;

    if (!s)
        return opsd_errorf(reterr, -EINVAL, "no schedule");
    len = strnlen(s, PROBE_CRON_MAX_LEN + 1);
    if (len > PROBE_CRON_MAX_LEN)
        return opsd_errorf(reterr, -EINVAL, "schedule is longer than %d bytes", PROBE_CRON_MAX_LEN);
    while (is_blank(*s))
        s++;
    if (!*s)
        return opsd_errorf(reterr, -EINVAL, "empty schedule");
    if (*s == '@') {
        const char *e = s;
        const char *rest;

        while (*e && !is_blank(*e))
            e++;
        for (rest = e; is_blank(*rest); rest++)
            ;
        if (*rest)
            return opsd_errorf(reterr, -EINVAL, "unexpected '%s' after '%.*s'", rest, (int)(e - s),
                               s);
        for (size_t i = 0; i < ARRAY_SIZE(macros); i++)
            if (ascii_ieq(s, (size_t)(e - s), macros[i].name))
                return parse_fields(macros[i].expr, ret, reterr);
        if (ascii_ieq(s, (size_t)(e - s), "@reboot"))
            return opsd_errorf(reterr, -EINVAL,
                               "'@reboot' is not supported: a heartbeat needs times to expect "
                               "pings at");
        return opsd_errorf(reterr, -EINVAL,
                           "unknown macro '%.*s' (expected @yearly, @annually, @monthly, "
                           "@weekly, @daily, @midnight or @hourly)",
                           (int)(e - s), s);
    }
    return parse_fields(s, ret, reterr);
}

/* ---- Matching wall times ---- */

/* The lowest set bit >= from, or -1. */
static int next_bit(uint64_t mask, int from)
{
    if (from > 63)
        return -1;
    mask &= ~UINT64_C(0) << from;
    return mask ? __builtin_ctzll(mask) : -1;
}

/* The highest set bit <= from, or -1. */
static int prev_bit(uint64_t mask, int from)
{
    if (from < 0)
        return -1;
    if (from < 63)
        mask &= (UINT64_C(2) << from) - 1;
    return mask ? 63 - __builtin_clzll(mask) : -1;
}

/* A day being looked at: days since the epoch and its calendar date. */
struct cursor {
    int64_t day;
    int y, m, d;
};

static void cursor_set(struct cursor *k, int64_t day)
{
    k->day = day;
    civil_from_days(day, &k->y, &k->m, &k->d);
}

static bool day_matches(const struct probe_cron *c, const struct cursor *k)
{
    bool dom = c->dom >> k->d & 1;
    bool dow = c->dow >> weekday(k->day) & 1;

    return (c->dom_star || c->dow_star) ? dom && dow : dom || dow;
}

/* The first local minute >= lo and < hi (local seconds, wall time counted
 * as if UTC) that c allows. Skips whole months, days and hours at a time. */
static bool next_match(const struct probe_cron *c, int64_t lo, int64_t hi, int64_t *ret)
{
    int64_t m = floor_div(lo + 59, 60) * 60;
    int64_t last_day;
    struct cursor k;
    int h, mi;

    if (m >= hi)
        return false;
    last_day = floor_div(hi - 1, DAY_S);
    cursor_set(&k, floor_div(m, DAY_S));
    h = (int)((m - k.day * DAY_S) / 3600);
    mi = (int)((m - k.day * DAY_S) % 3600 / 60);
    while (k.day <= last_day) {
        int nh, nm;

        if (!(c->month >> k.m & 1)) {
            cursor_set(&k, days_from_civil(k.y + (k.m == 12), k.m % 12 + 1, 1));
            h = mi = 0;
            continue;
        }
        if (!day_matches(c, &k)) {
            int nd = k.d + 1;

            /* With AND the day of the month must match: jump to the next one. */
            if (c->dom_star || c->dow_star) {
                nd = next_bit(c->dom, nd);
                if (nd < 0 || nd > days_in_month(k.y, k.m))
                    nd = days_in_month(k.y, k.m) + 1;
            }
            cursor_set(&k, k.day + (nd - k.d));
            h = mi = 0;
            continue;
        }
        nh = next_bit(c->hour, h);
        if (nh < 0) {
            cursor_set(&k, k.day + 1);
            h = mi = 0;
            continue;
        }
        if (nh != h) {
            h = nh;
            mi = 0;
        }
        nm = next_bit(c->minute, mi);
        if (nm < 0) {
            mi = 0;
            if (++h > 23) {
                cursor_set(&k, k.day + 1);
                h = 0;
            }
            continue;
        }
        m = k.day * DAY_S + h * 3600 + nm * 60;
        if (m >= hi)
            return false;
        *ret = m;
        return true;
    }
    return false;
}

/* The last local minute <= hi and >= lo that c allows. */
static bool prev_match(const struct probe_cron *c, int64_t hi, int64_t lo, int64_t *ret)
{
    int64_t m = floor_div(hi, 60) * 60;
    int64_t first_day;
    struct cursor k;
    int h, mi;

    if (m < lo)
        return false;
    first_day = floor_div(lo, DAY_S);
    cursor_set(&k, floor_div(m, DAY_S));
    h = (int)((m - k.day * DAY_S) / 3600);
    mi = (int)((m - k.day * DAY_S) % 3600 / 60);
    while (k.day >= first_day) {
        int ph, pm;

        if (!(c->month >> k.m & 1)) {
            cursor_set(&k, days_from_civil(k.y, k.m, 1) - 1);
            h = 23;
            mi = 59;
            continue;
        }
        if (!day_matches(c, &k)) {
            int pd = k.d - 1;

            if (c->dom_star || c->dow_star) {
                pd = prev_bit(c->dom, pd);
                if (pd < 1)
                    pd = 0;
            }
            cursor_set(&k, k.day - (k.d - pd));
            h = 23;
            mi = 59;
            continue;
        }
        ph = prev_bit(c->hour, h);
        if (ph < 0) {
            cursor_set(&k, k.day - 1);
            h = 23;
            mi = 59;
            continue;
        }
        if (ph != h) {
            h = ph;
            mi = 59;
        }
        pm = prev_bit(c->minute, mi);
        if (pm < 0) {
            mi = 59;
            if (--h < 0) {
                cursor_set(&k, k.day - 1);
                h = 23;
            }
            continue;
        }
        m = k.day * DAY_S + h * 3600 + pm * 60;
        if (m < lo)
            return false;
        *ret = m;
        return true;
    }
    return false;
}

/* ---- Time zones ---- */

/* When a POSIX TZ rule switches: on day 'J' n (1-365, Feb 29 never counted),
 * 'D' n (0-365, counting Feb 29) or 'M' (weekday d of week w of month m),
 * at time seconds after local midnight (may be negative or past 24 h). */
struct tz_rule {
    char kind;
    int n, m, w, d;
    int32_t time;
};

struct probe_tz {
    char *name;
    size_t n_trans;
    int64_t *trans;     /* ascending instants */
    int32_t *trans_off; /* offset from each transition on */
    int32_t off0;       /* offset before the first transition */
    bool footer;        /* the POSIX TZ rule governs after the last transition */
    bool dst;           /* ... and it has daylight saving */
    int32_t std_off, dst_off;
    struct tz_rule start, end;
};

/* The day (since the epoch) rule r names in year y. */
static int64_t rule_day(const struct tz_rule *r, int64_t y)
{
    int64_t jan1 = days_from_civil(y, 1, 1);
    int first, day;

    switch (r->kind) {
    case 'J':
        return jan1 + r->n - 1 + (is_leap(y) && r->n >= 60);
    case 'D':
        return jan1 + r->n;
    default:
        first = 1 + (r->d - weekday(days_from_civil(y, r->m, 1)) + 7) % 7;
        day = first + (r->w - 1) * 7;
        while (day > days_in_month(y, r->m))
            day -= 7;
        return days_from_civil(y, r->m, day);
    }
}

/* Year y's DST start and end as instants: the start is written in standard
 * time, the end in daylight time. */
static void rule_year(const struct probe_tz *tz, int64_t y, int64_t *ret_start, int64_t *ret_end)
{
    *ret_start = rule_day(&tz->start, y) * DAY_S + tz->start.time - tz->std_off;
    *ret_end = rule_day(&tz->end, y) * DAY_S + tz->end.time - tz->dst_off;
}

/* The footer's offset at t, and the instants of its switches around t. */
static int32_t footer_at(const struct probe_tz *tz, int64_t t, int64_t *ret_s, int64_t *ret_e)
{
    int64_t s = SEG_MIN, e = SEG_MAX;
    int64_t st, en;
    int y, mo, d;
    bool in_dst;

    if (!tz->dst) {
        *ret_s = s;
        *ret_e = e;
        return tz->std_off;
    }
    civil_from_days(floor_div(t + tz->std_off, DAY_S), &y, &mo, &d);
    rule_year(tz, y, &st, &en);
    /* Southern zones have DST across New Year: end before start. */
    in_dst = st < en ? st <= t && t < en : !(en <= t && t < st);
    for (int yy = y - 1; yy <= y + 1; yy++) {
        int64_t sw[2];

        rule_year(tz, yy, &sw[0], &sw[1]);
        for (int i = 0; i < 2; i++) {
            if (sw[i] <= t && sw[i] > s)
                s = sw[i];
            if (sw[i] > t && sw[i] < e)
                e = sw[i];
        }
    }
    *ret_s = s;
    *ret_e = e;
    return in_dst ? tz->dst_off : tz->std_off;
}

/* The offset at t and the stretch [*ret_s, *ret_e) around t it holds over
 * (a stretch may end at a switch that keeps the offset: harmless). */
static int32_t zone_at(const struct probe_tz *tz, int64_t t, int64_t *ret_s, int64_t *ret_e)
{
    size_t n = tz->n_trans, lo = 0, hi;

    if (n == 0 || t >= tz->trans[n - 1]) {
        int64_t last = n ? tz->trans[n - 1] : SEG_MIN;
        int32_t off;

        if (!tz->footer) {
            *ret_s = last;
            *ret_e = SEG_MAX;
            return n ? tz->trans_off[n - 1] : tz->off0;
        }
        off = footer_at(tz, t, ret_s, ret_e);
        if (*ret_s < last)
            *ret_s = last;
        return off;
    }
    if (t < tz->trans[0]) {
        *ret_s = SEG_MIN;
        *ret_e = tz->trans[0];
        return tz->off0;
    }
    /* Last transition <= t; t < trans[n - 1] so one follows it. */
    hi = n - 1;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;

        if (tz->trans[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    *ret_s = tz->trans[lo];
    *ret_e = tz->trans[lo + 1];
    return tz->trans_off[lo];
}

struct seg {
    int64_t start, end; /* [start, end) */
    int32_t off;        /* in effect over the segment */
    int32_t prev_off;   /* in effect just before start */
};

static void zone_seg(const struct probe_tz *tz, int64_t t, struct seg *ret)
{
    int64_t s2, e2;

    ret->off = zone_at(tz, t, &ret->start, &ret->end);
    ret->prev_off = ret->start > SEG_MIN ? zone_at(tz, ret->start - 1, &s2, &e2) : ret->off;
}

int32_t probe_tz_offset(const struct probe_tz *tz, uint64_t utc_ms)
{
    int64_t t = utc_ms / 1000 > (uint64_t)MAX_INSTANT_S ? MAX_INSTANT_S : (int64_t)(utc_ms / 1000);
    int64_t s, e;

    return zone_at(tz, t, &s, &e);
}

const char *probe_tz_name(const struct probe_tz *tz)
{
    return tz->name;
}

int probe_tz_local_to_utc(const struct probe_tz *tz, uint64_t local_ms, uint64_t *ret_utc_ms)
{
    int64_t wall, t, first = 0, gap = 0;
    bool in_gap = false;
    int found = 0;

    if (local_ms / 1000 > (uint64_t)MAX_INSTANT_S)
        return -ERANGE;
    wall = (int64_t)(local_ms / 1000);
    /* Every instant showing wall lies within MAX_OFFSET_S of it. */
    for (t = wall - MAX_OFFSET_S; t <= wall + MAX_OFFSET_S;) {
        struct seg sg;
        int64_t u;

        zone_seg(tz, t, &sg);
        u = wall - sg.off;
        if (u >= sg.start && u < sg.end) {
            if (!found++)
                first = u;
        } else if (sg.prev_off < sg.off && wall >= sg.start + sg.prev_off &&
                   wall < sg.start + sg.off && !in_gap) {
            gap = sg.start;
            in_gap = true;
        }
        t = sg.end;
    }
    if (found) {
        if (first < 0)
            return -ERANGE;
        *ret_utc_ms = (uint64_t)first * 1000 + local_ms % 1000;
        return found > 1 ? PROBE_TZ_LOCAL_REPEATED : PROBE_TZ_LOCAL_UNIQUE;
    }
    if (!in_gap || gap < 0)
        return -ERANGE;
    *ret_utc_ms = (uint64_t)gap * 1000;
    return PROBE_TZ_LOCAL_SKIPPED;
}

struct probe_tz *probe_tz_free(struct probe_tz *tz)
{
    if (!tz)
        return NULL;
    free(tz->name);
    free(tz->trans);
    free(tz->trans_off);
    free(tz);
    return NULL;
}

/* ---- Reading TZif files (RFC 8536) ---- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_counts {
    uint32_t isut, isstd, leap, time, type, chars;
};

#define TZIF_HEADER 44

/* Reads a header at p (len bytes left) and the size of the block after it.
 * A block that will be skipped (version 1 data in a version 2+ file) is
 * only sized. */
static int tzif_header(const unsigned char *p, size_t len, size_t time_size, bool skip,
                       struct tzif_counts *ret, size_t *ret_block, const char **why)
{
    struct tzif_counts k;

    if (len < TZIF_HEADER || memcmp(p, "TZif", 4) != 0) {
        *why = len < TZIF_HEADER ? "truncated header" : "bad magic";
        return -EBADMSG;
    }
    k.isut = be32(p + 20);
    k.isstd = be32(p + 24);
    k.leap = be32(p + 28);
    k.time = be32(p + 32);
    k.type = be32(p + 36);
    k.chars = be32(p + 40);
    /* Caps first, so the size below cannot overflow. */
    if (k.time > PROBE_TZ_MAX_TRANSITIONS) {
        *why = "too many transitions";
        return -EBADMSG;
    }
    if ((k.type == 0 && !skip) || k.type > 256) {
        *why = "local time type count is not 1-256";
        return -EBADMSG;
    }
    if ((k.chars == 0 && !skip) || k.chars > 1024) {
        *why = "designation size is not 1-1024";
        return -EBADMSG;
    }
    if (k.leap > 64) {
        *why = "too many leap-second records";
        return -EBADMSG;
    }
    if (k.leap != 0 && !skip) {
        /* right/ zones count leap seconds in their timestamps. */
        *why = "leap-second records are not supported";
        return -EBADMSG;
    }
    if ((k.isstd != 0 && k.isstd != k.type) || (k.isut != 0 && k.isut != k.type)) {
        *why = "standard/UT indicator count does not match the type count";
        return -EBADMSG;
    }
    *ret = k;
    *ret_block = (size_t)k.time * time_size + k.time + (size_t)k.type * 6 + k.chars +
                 (size_t)k.leap * (time_size + 4) + k.isstd + k.isut;
    if (*ret_block > len - TZIF_HEADER) {
        *why = "truncated data block";
        return -EBADMSG;
    }
    return 0;
}

/* The data block at p into tz. */
static int tzif_block(const unsigned char *p, const struct tzif_counts *k, size_t time_size,
                      struct probe_tz *tz, const char **why)
{
    const unsigned char *idx = p + (size_t)k->time * time_size;
    const unsigned char *types = idx + k->time;
    int32_t offs[256] = { 0 };

    for (uint32_t i = 0; i < k->type; i++) {
        const unsigned char *ty = types + (size_t)i * 6;
        int32_t off = (int32_t)be32(ty);

        if (off < -89999 || off > 93599) {
            *why = "UTC offset out of range";
            return -EBADMSG;
        }
        if (ty[4] > 1 || ty[5] >= k->chars) {
            *why = "bad local time type";
            return -EBADMSG;
        }
        offs[i] = off;
    }
    tz->n_trans = k->time;
    tz->off0 = offs[0];
    if (k->time == 0)
        return 0;
    tz->trans = xmalloc(k->time * sizeof(*tz->trans));
    tz->trans_off = xmalloc(k->time * sizeof(*tz->trans_off));
    for (uint32_t i = 0; i < k->time; i++) {
        const unsigned char *q = p + (size_t)i * time_size;
        int64_t t = time_size == 8 ? be64(q) : (int64_t)(int32_t)be32(q);

        if (i > 0 && t <= tz->trans[i - 1]) {
            *why = "transition times are not ascending";
            return -EBADMSG;
        }
        if (idx[i] >= k->type) {
            *why = "transition type index out of range";
            return -EBADMSG;
        }
        tz->trans[i] = t;
        tz->trans_off[i] = offs[idx[i]];
    }
    return 0;
}

/* A zone abbreviation: three or more letters, or <...> of [A-Za-z0-9+-]. */
static bool tzstr_name(const char **p)
{
    const char *s = *p;

    if (*s == '<') {
        const char *b = ++s;

        while ((*s >= '0' && *s <= '9') || is_alpha(*s) || *s == '+' || *s == '-')
            s++;
        if (*s != '>' || s - b < 3)
            return false;
        *p = s + 1;
        return true;
    }
    while (is_alpha(*s))
        s++;
    if (s - *p < 3)
        return false;
    *p = s;
    return true;
}

/* [+-]h[h[h]][:mm[:ss]] into seconds, hours up to max_h. */
static bool tzstr_time(const char **p, int max_h, int32_t *ret)
{
    const char *s = *p;
    int sign = 1, h = 0, m = 0, sec = 0, digits = 0;

    if (*s == '+' || *s == '-')
        sign = *s++ == '-' ? -1 : 1;
    while (is_digit(*s) && digits < 3) {
        h = h * 10 + (*s++ - '0');
        digits++;
    }
    if (!digits || h > max_h)
        return false;
    if (*s == ':') {
        if (!is_digit(s[1]) || !is_digit(s[2]))
            return false;
        m = (s[1] - '0') * 10 + (s[2] - '0');
        s += 3;
        if (*s == ':') {
            if (!is_digit(s[1]) || !is_digit(s[2]))
                return false;
            sec = (s[1] - '0') * 10 + (s[2] - '0');
            s += 3;
        }
        if (m > 59 || sec > 59)
            return false;
    }
    *ret = sign * (h * 3600 + m * 60 + sec);
    *p = s;
    return true;
}

static bool tzstr_eat(const char **p, char c)
{
    if (**p != c)
        return false;
    (*p)++;
    return true;
}

static bool tzstr_num(const char **p, int lo, int hi, int *ret)
{
    const char *s = *p;
    int v = 0;

    if (!is_digit(*s))
        return false;
    while (is_digit(*s) && v <= 9999)
        v = v * 10 + (*s++ - '0');
    if (v < lo || v > hi)
        return false;
    *ret = v;
    *p = s;
    return true;
}

static bool tzstr_rule(const char **p, struct tz_rule *r)
{
    const char *s = *p;

    *r = (struct tz_rule){ .time = 7200 };
    if (*s == 'J') {
        s++;
        r->kind = 'J';
        if (!tzstr_num(&s, 1, 365, &r->n))
            return false;
    } else if (*s == 'M') {
        s++;
        r->kind = 'M';
        if (!tzstr_num(&s, 1, 12, &r->m) || !tzstr_eat(&s, '.') || !tzstr_num(&s, 1, 5, &r->w) ||
            !tzstr_eat(&s, '.') || !tzstr_num(&s, 0, 6, &r->d))
            return false;
    } else {
        r->kind = 'D';
        if (!tzstr_num(&s, 0, 365, &r->n))
            return false;
    }
    /* RFC 8536 widens POSIX's 0-24 h to -167..167 h here. */
    if (tzstr_eat(&s, '/') && !tzstr_time(&s, 167, &r->time))
        return false;
    *p = s;
    return true;
}

/* The footer's TZ string, e.g. "CET-1CEST,M3.5.0,M10.5.0/3". POSIX offsets
 * count west of UTC; ours count east. */
static bool tzstr_parse(const char *s, struct probe_tz *tz)
{
    int32_t off;

    if (!tzstr_name(&s) || !tzstr_time(&s, 24, &off))
        return false;
    tz->std_off = -off;
    tz->footer = true;
    if (!*s)
        return true;
    if (!tzstr_name(&s))
        return false;
    tz->dst = true;
    tz->dst_off = tz->std_off + 3600;
    if (*s && *s != ',') {
        if (!tzstr_time(&s, 24, &off))
            return false;
        tz->dst_off = -off;
    }
    if (!*s) {
        /* No rule: POSIX leaves it to the implementation; glibc uses the US one. */
        tz->start = (struct tz_rule){ .kind = 'M', .m = 3, .w = 2, .d = 0, .time = 7200 };
        tz->end = (struct tz_rule){ .kind = 'M', .m = 11, .w = 1, .d = 0, .time = 7200 };
        return true;
    }
    if (!tzstr_eat(&s, ',') || !tzstr_rule(&s, &tz->start) || !tzstr_eat(&s, ',') ||
        !tzstr_rule(&s, &tz->end))
        return false;
    return !*s;
}

static int tzif_parse(const unsigned char *buf, size_t len, struct probe_tz *tz, const char **why)
{
    struct tzif_counts k;
    size_t block, off;
    const unsigned char *nl;
    char footer[256];
    int r;

    if (len < TZIF_HEADER) {
        *why = "truncated header";
        return -EBADMSG;
    }
    r = tzif_header(buf, len, 4, buf[4] >= '2', &k, &block, why);
    if (r < 0)
        return r;
    if (buf[4] == 0)
        return tzif_block(buf + TZIF_HEADER, &k, 4, tz, why);
    if (buf[4] < '2') {
        *why = "unknown version";
        return -EBADMSG;
    }
    off = TZIF_HEADER + block;
    r = tzif_header(buf + off, len - off, 8, false, &k, &block, why);
    if (r < 0)
        return r;
    r = tzif_block(buf + off + TZIF_HEADER, &k, 8, tz, why);
    if (r < 0)
        return r;
    off += TZIF_HEADER + block;
    if (off >= len || buf[off] != '\n') {
        *why = "missing footer";
        return -EBADMSG;
    }
    off++;
    nl = memchr(buf + off, '\n', len - off);
    if (!nl || (size_t)(nl - (buf + off)) >= sizeof(footer) || nl + 1 != buf + len) {
        *why = !nl ? "unterminated footer" : "bad footer";
        return -EBADMSG;
    }
    memcpy(footer, buf + off, (size_t)(nl - (buf + off)));
    footer[nl - (buf + off)] = '\0';
    if (memchr(footer, '\0', (size_t)(nl - (buf + off)))) {
        *why = "bad footer";
        return -EBADMSG;
    }
    if (footer[0] && !tzstr_parse(footer, tz)) {
        *why = "bad POSIX TZ string in footer";
        return -EBADMSG;
    }
    return 0;
}

static int check_name(const char *name, struct opsd_error *reterr)
{
    size_t len;

    if (!name || !*name)
        return opsd_errorf(reterr, -EINVAL, "empty time zone name");
    len = strnlen(name, PROBE_TZ_MAX_NAME + 1);
    if (len > PROBE_TZ_MAX_NAME)
        return opsd_errorf(reterr, -EINVAL, "time zone name is longer than %d bytes",
                           PROBE_TZ_MAX_NAME);
    for (size_t i = 0; i < len; i++) {
        char c = name[i];

        if (is_alpha(c) || is_digit(c) || c == '_' || c == '+' || c == '-' || c == '/')
            continue;
        if (c == '.' && name[i + 1] == '.')
            return opsd_errorf(reterr, -EINVAL, "time zone '%s': '..' is not allowed", name);
        if (c >= ' ' && c < 0x7f)
            return opsd_errorf(reterr, -EINVAL,
                               "time zone '%s': '%c' is not allowed (only letters, digits, "
                               "'_', '+', '-' and '/')",
                               name, c);
        return opsd_errorf(reterr, -EINVAL,
                           "time zone name: byte 0x%02x at offset %zu is not allowed (only "
                           "letters, digits, '_', '+', '-' and '/')",
                           (unsigned char)c, i);
    }
    if (name[0] == '/')
        return opsd_errorf(reterr, -EINVAL,
                           "time zone '%s' is a path: give a name such as Europe/Berlin", name);
    if (name[len - 1] == '/' || strstr(name, "//"))
        return opsd_errorf(reterr, -EINVAL, "time zone '%s' has an empty path component", name);
    return 0;
}

static void closep(int *fd)
{
    if (*fd >= 0)
        close(*fd);
}

/* Reads the whole of path (a regular file of at most PROBE_TZ_MAX_FILE). */
static int read_file(const char *name, const char *path, unsigned char **ret_buf, size_t *ret_len,
                     struct opsd_error *reterr)
{
    _cleanup_(closep) int fd = -1;
    _cleanup_free_ unsigned char *buf = NULL;
    struct stat st;
    size_t cap, len = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int r = -errno;

        if (r == -ENOENT || r == -ENOTDIR)
            return opsd_errorf(reterr, -ENOENT, "unknown time zone '%s' (no file %s)", name, path);
        return opsd_errorf(reterr, r, "time zone '%s': cannot open %s: %s", name, path,
                           strerror(-r));
    }
    if (fstat(fd, &st) < 0)
        return opsd_errorf(reterr, -errno, "time zone '%s': cannot stat %s", name, path);
    if (!S_ISREG(st.st_mode))
        return opsd_errorf(reterr, -ENOENT, "unknown time zone '%s' (%s is not a file)", name,
                           path);
    if (st.st_size > PROBE_TZ_MAX_FILE)
        return opsd_errorf(reterr, -EFBIG,
                           "time zone '%s': %s is %lld bytes, more than a TZif file's %d", name,
                           path, (long long)st.st_size, PROBE_TZ_MAX_FILE);
    /* One byte spare, to see a file that grew since fstat. */
    cap = (size_t)st.st_size + 1;
    buf = xmalloc(cap);
    while (len < cap) {
        ssize_t n = read(fd, buf + len, cap - len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return opsd_errorf(reterr, -errno, "time zone '%s': cannot read %s", name, path);
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len == cap)
        return opsd_errorf(reterr, -EAGAIN, "time zone '%s': %s changed while being read", name,
                           path);
    *ret_buf = steal_ptr(buf);
    *ret_len = len;
    return 0;
}

int probe_tz_load(const char *name, const char *dir, struct probe_tz **ret_tz,
                  struct opsd_error *reterr)
{
    _cleanup_(probe_tz_freep) struct probe_tz *tz = NULL;
    _cleanup_free_ char *path = NULL;
    _cleanup_free_ unsigned char *buf = NULL;
    const char *why = "invalid";
    size_t len = 0;
    int r;

    r = check_name(name, reterr);
    if (r < 0)
        return r;
    tz = xcalloc(1, sizeof(*tz));
    tz->name = xstrdup(name);
    /* Needs no file, so a machine without tzdata can still run UTC monitors. */
    if (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0) {
        *ret_tz = steal_ptr(tz);
        return 0;
    }
    path = xasprintf("%s/%s", dir ? dir : PROBE_TZ_DIR, name);
    r = read_file(name, path, &buf, &len, reterr);
    if (r < 0)
        return r;
    r = tzif_parse(buf, len, tz, &why);
    if (r < 0)
        return opsd_errorf(reterr, r, "time zone '%s': %s is not a valid TZif file (%s)", name,
                           path, why);
    *ret_tz = steal_ptr(tz);
    return 0;
}

/* ---- Fire times ---- */

static bool fixed_time(const struct probe_cron *c)
{
    return !c->minute_star && !c->hour_star;
}

int probe_cron_next(const struct probe_cron *c, const struct probe_tz *tz, uint64_t after_ms,
                    uint64_t *ret_ms)
{
    bool fixed = fixed_time(c);
    int64_t t, horizon;

    if (after_ms / 1000 > (uint64_t)MAX_INSTANT_S)
        return -ERANGE;
    /* Fires are on whole seconds: the first one that is > after_ms. */
    t = (int64_t)(after_ms / 1000) + 1;
    horizon = t + HORIZON_S;
    while (t <= horizon) {
        struct seg sg;
        int64_t lo, hi, wall;

        zone_seg(tz, t, &sg);
        /* Fixed times the gap swallowed fire as it ends. */
        if (fixed && sg.start == t && sg.prev_off < sg.off &&
            next_match(c, sg.start + sg.prev_off, sg.start + sg.off, &wall)) {
            *ret_ms = (uint64_t)t * 1000;
            return 0;
        }
        lo = t + sg.off;
        /* Fixed times already passed before the clocks went back. */
        if (fixed && sg.prev_off > sg.off && lo < sg.start + sg.prev_off)
            lo = sg.start + sg.prev_off;
        hi = (sg.end < horizon + 1 ? sg.end : horizon + 1) + sg.off;
        if (next_match(c, lo, hi, &wall)) {
            *ret_ms = (uint64_t)(wall - sg.off) * 1000;
            return 0;
        }
        t = sg.end;
    }
    return -ENOENT;
}

int probe_cron_prev(const struct probe_cron *c, const struct probe_tz *tz, uint64_t at_ms,
                    uint64_t *ret_ms)
{
    bool fixed = fixed_time(c);
    int64_t t, floor_s;

    if (at_ms / 1000 > (uint64_t)MAX_INSTANT_S)
        return -ERANGE;
    t = (int64_t)(at_ms / 1000);
    floor_s = t > HORIZON_S ? t - HORIZON_S : 0;
    while (t >= floor_s) {
        struct seg sg;
        int64_t lo, wall;

        zone_seg(tz, t, &sg);
        lo = (sg.start > floor_s ? sg.start : floor_s) + sg.off;
        if (fixed && sg.prev_off > sg.off && lo < sg.start + sg.prev_off)
            lo = sg.start + sg.prev_off;
        if (prev_match(c, t + sg.off, lo, &wall)) {
            *ret_ms = (uint64_t)(wall - sg.off) * 1000;
            return 0;
        }
        if (fixed && sg.start >= floor_s && sg.prev_off < sg.off &&
            next_match(c, sg.start + sg.prev_off, sg.start + sg.off, &wall)) {
            *ret_ms = (uint64_t)sg.start * 1000;
            return 0;
        }
        t = sg.start - 1;
    }
    return -ENOENT;
}

int probe_cron_deadline(const struct probe_cron *c, const struct probe_tz *tz, uint64_t grace_ms,
                        uint64_t last_success_ms, uint64_t created_ms, uint64_t *ret_deadline_ms)
{
    uint64_t next;
    int r;

    r = probe_cron_next(c, tz, last_success_ms ? last_success_ms : created_ms, &next);
    if (r < 0)
        return r;
    if (grace_ms > UINT64_MAX - next)
        return -ERANGE;
    *ret_deadline_ms = next + grace_ms;
    return 0;
}
