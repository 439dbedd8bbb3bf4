/* Unit tests for the store: the pure rollup planning, and everything behind
 * store.h through a real SQLite database in a temporary directory, checked
 * against brute-force sums over the rows the test itself wrote. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/store.h"
#include "util/cleanup.h"
#include "util/opsd_limits.h"

#define MIN_MS UINT64_C(60000)
#define HOUR_MS UINT64_C(3600000)
#define DAY_MS UINT64_C(86400000)
#define DAY0 (UINT64_C(20833) * DAY_MS) /* 2027-01-15T00:00:00Z */

struct fixture {
    char dir[64];
    struct opsd_clock clock;
    struct store *s;
};

/* ---- helpers ---- */

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint64_t rnd(void)
{
    /* xorshift64: deterministic, so a failure reproduces. */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static uint64_t rnd_below(uint64_t n)
{
    return rnd() % n;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/opsd-test-store-XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    clock_virtual_init(&f->clock, DAY0 + 12 * HOUR_MS);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    f->s = store_close(f->s);
    nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void open_store(struct fixture *f)
{
    struct opsd_error err = { 0 };
    int r;

    r = store_open(f->dir, &f->clock, &f->s, &err);
    if (r < 0)
        fail_msg("store_open: %s", err.msg);
}

static void reopen_store(struct fixture *f)
{
    f->s = store_close(f->s);
    open_store(f);
}

static int64_t ensure(struct fixture *f, const char *name)
{
    struct opsd_error err = { 0 };
    int64_t id = -1;

    assert_int_equal(store_monitor_ensure(f->s, name, 1, &id, &err), 0);
    assert_true(id > 0);
    return id;
}

static struct store_result mk_result(int64_t mon, uint64_t ts, bool ok, int32_t total_us)
{
    return (struct store_result){
        .monitor_id = mon,
        .ts_ms = ts,
        .status = ok ? 0 : 2,
        .ok = ok,
        .dns_us = STORE_NO_VALUE,
        .connect_us = STORE_NO_VALUE,
        .tls_us = STORE_NO_VALUE,
        .ttfb_us = STORE_NO_VALUE,
        .total_us = total_us,
        .http_status = STORE_NO_VALUE,
        .cert_days = STORE_NO_VALUE,
    };
}

static void write_batch(struct fixture *f, struct store_batch *b)
{
    struct opsd_error err = { 0 };
    int r;

    r = store_write(f->s, b, &err);
    if (r < 0)
        fail_msg("store_write: %s", err.msg);
    store_batch_clear(b);
}

static void write_results(struct fixture *f, const struct store_result *rs, size_t n)
{
    struct store_batch b = { 0 };
    size_t i;

    for (i = 0; i < n; i++)
        store_batch_add_result(&b, &rs[i]);
    write_batch(f, &b);
}

/* A side connection for looking at what the store's API does not show. */
static sqlite3 *side_open(const struct fixture *f)
{
    char path[128];
    sqlite3 *db = NULL;

    snprintf(path, sizeof(path), "%s/opsd.db", f->dir);
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    return db;
}

static int64_t sql_int(const struct fixture *f, const char *sql)
{
    sqlite3 *db = side_open(f);
    sqlite3_stmt *st = NULL;
    int64_t v;

    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static int64_t sql_intf(const struct fixture *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int64_t sql_intf(const struct fixture *f, const char *fmt, ...)
{
    char sql[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    return sql_int(f, sql);
}

static void sql_exec(const struct fixture *f, const char *sql)
{
    sqlite3 *db = side_open(f);

    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void assert_uptime_equal(const struct store_uptime *got, const struct store_uptime *want)
{
    assert_int_equal(got->count, want->count);
    assert_int_equal(got->failures, want->failures);
    assert_int_equal(got->latency_sum_us, want->latency_sum_us);
    assert_int_equal(got->latency_min_us, want->latency_min_us);
    assert_int_equal(got->latency_max_us, want->latency_max_us);
}

static const struct store_uptime empty_uptime = { .latency_min_us = -1, .latency_max_us = -1 };

static void uptime_add_result(struct store_uptime *u, const struct store_result *r)
{
    if (u->count == 0 || r->total_us < u->latency_min_us)
        u->latency_min_us = r->total_us;
    if (u->count == 0 || r->total_us > u->latency_max_us)
        u->latency_max_us = r->total_us;
    u->count++;
    u->failures += !r->ok;
    u->latency_sum_us += (uint64_t)r->total_us;
}

/* THE RULE the store promises: a result counts towards the window [since,
 * until) when it is not a maintenance result and the start of its minute
 * bucket lies in the window, i.e. since <= floor_minute(ts) < until. For
 * minute-aligned windows that is simply since <= ts < until. */
static struct store_uptime brute_uptime(const struct store_result *rs, size_t n, int64_t mon,
                                        uint64_t since, uint64_t until)
{
    struct store_uptime u = empty_uptime;
    size_t i;

    for (i = 0; i < n; i++) {
        uint64_t bucket = rs[i].ts_ms - rs[i].ts_ms % MIN_MS;

        if (rs[i].monitor_id == mon && !rs[i].maintenance && since <= bucket && bucket < until)
            uptime_add_result(&u, &rs[i]);
    }
    return u;
}

/* ---- rollup plan (pure) ---- */

struct plan_case {
    const char *name;
    uint64_t since, until;
    size_t n;
    struct store_span spans[3];
};

#define H0 (DAY0 + 10 * HOUR_MS)
#define M(x) ((x)*MIN_MS)
#define HR(x) ((x)*HOUR_MS)

static const struct plan_case plan_cases[] = {
    { "empty window", H0 + 5, H0 + 5, 0, { { 0 } } },
    { "inverted window", H0 + HR(2), H0, 0, { { 0 } } },
    { "one aligned hour", H0, H0 + HR(1), 1, { { H0, H0 + HR(1), HOUR_MS } } },
    { "three aligned hours", H0, H0 + HR(3), 1, { { H0, H0 + HR(3), HOUR_MS } } },
    { "aligned minutes inside an hour",
      H0 + M(10),
      H0 + M(50),
      1,
      { { H0 + M(10), H0 + M(50), MIN_MS } } },
    { "unaligned edges inside an hour",
      H0 + M(10) + 5000,
      H0 + M(50) + 30000,
      1,
      { { H0 + M(11), H0 + M(50) + 30000, MIN_MS } } },
    { "under a minute, no bucket start inside",
      H0 + M(10) + 5000,
      H0 + M(10) + 50000,
      0,
      { { 0 } } },
    { "under a minute, one bucket start inside",
      H0 + M(10) + 50000,
      H0 + M(11) + 10000,
      1,
      { { H0 + M(11), H0 + M(11) + 10000, MIN_MS } } },
    { "one millisecond on a bucket start",
      H0 + M(10),
      H0 + M(10) + 1,
      1,
      { { H0 + M(10), H0 + M(10) + 1, MIN_MS } } },
    { "one millisecond after a bucket start", H0 + M(10) + 1, H0 + M(10) + 2, 0, { { 0 } } },
    { "crossing an hour, no whole hour",
      H0 + M(50),
      H0 + HR(1) + M(10),
      2,
      { { H0 + M(50), H0 + HR(1), MIN_MS }, { H0 + HR(1), H0 + HR(1) + M(10), MIN_MS } } },
    { "head, hours and tail",
      H0 + M(30) + 1,
      H0 + HR(5) + M(20) + 30000,
      3,
      { { H0 + M(31), H0 + HR(1), MIN_MS },
        { H0 + HR(1), H0 + HR(5), HOUR_MS },
        { H0 + HR(5), H0 + HR(5) + M(20) + 30000, MIN_MS } } },
    { "crossing midnight",
      DAY0 + DAY_MS - M(90),
      DAY0 + DAY_MS + M(150),
      3,
      { { DAY0 + DAY_MS - M(90), DAY0 + DAY_MS - M(60), MIN_MS },
        { DAY0 + DAY_MS - M(60), DAY0 + DAY_MS + HR(2), HOUR_MS },
        { DAY0 + DAY_MS + HR(2), DAY0 + DAY_MS + M(150), MIN_MS } } },
    { "aligned start, unaligned end",
      H0,
      H0 + HR(2) + M(5) + 7,
      2,
      { { H0, H0 + HR(2), HOUR_MS }, { H0 + HR(2), H0 + HR(2) + M(5) + 7, MIN_MS } } },
    { "start rounds up onto an hour",
      H0 + M(59) + 59000,
      H0 + HR(3),
      1,
      { { H0 + HR(1), H0 + HR(3), HOUR_MS } } },
    { "aligned start, end inside the same hour",
      H0,
      H0 + M(45) + 1,
      1,
      { { H0, H0 + M(45) + 1, MIN_MS } } },
    { "a day of hours", DAY0, DAY0 + DAY_MS, 1, { { DAY0, DAY0 + DAY_MS, HOUR_MS } } },
    { "from the epoch", 0, M(90), 2, { { 0, HR(1), HOUR_MS }, { HR(1), M(90), MIN_MS } } },
    { "top of the range, no bucket start", UINT64_MAX - 10, UINT64_MAX, 0, { { 0 } } },
    /* UINT64_MAX % 60000 == 51615: one minute starts in the last minute of
     * the range and no hour does, so the ceilings must not wrap. */
    { "top of the range, one bucket start",
      UINT64_MAX - MIN_MS,
      UINT64_MAX,
      1,
      { { UINT64_MAX - 51615, UINT64_MAX, MIN_MS } } },
};

static void test_plan_cases(void **state)
{
    size_t i, j;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(plan_cases); i++) {
        const struct plan_case *c = &plan_cases[i];
        struct store_span spans[3];
        size_t n;

        memset(spans, 0xAB, sizeof(spans));
        n = store_rollup_plan(c->since, c->until, spans);
        if (n != c->n)
            fail_msg("%s: %zu spans, want %zu", c->name, n, c->n);
        for (j = 0; j < n; j++) {
            if (spans[j].start_ms != c->spans[j].start_ms ||
                spans[j].end_ms != c->spans[j].end_ms ||
                spans[j].bucket_ms != c->spans[j].bucket_ms)
                fail_msg("%s: span %zu is [%llu, %llu)/%llu", c->name, j,
                         (unsigned long long)spans[j].start_ms, (unsigned long long)spans[j].end_ms,
                         (unsigned long long)spans[j].bucket_ms);
        }
    }
}

/* Checks the plan for one window against the definition: every minute
 * bucket start b with since <= b < until is covered exactly once (by a
 * minute span containing b or an hour span containing it), nothing else is,
 * hour spans are whole hours, and the spans come in order. */
static void check_plan(uint64_t since, uint64_t until)
{
    struct store_span spans[3];
    size_t n, i, hours = 0;
    uint64_t b, lo, hi;

    n = store_rollup_plan(since, until, spans);
    assert_true(n <= 3);
    for (i = 0; i < n; i++) {
        assert_true(spans[i].start_ms < spans[i].end_ms);
        assert_int_equal(spans[i].start_ms % MIN_MS, 0);
        if (spans[i].bucket_ms == HOUR_MS) {
            hours++;
            assert_int_equal(spans[i].start_ms % HOUR_MS, 0);
            assert_int_equal(spans[i].end_ms % HOUR_MS, 0);
        } else {
            assert_int_equal(spans[i].bucket_ms, MIN_MS);
        }
        if (i > 0)
            assert_int_equal(spans[i].start_ms, spans[i - 1].end_ms);
    }
    assert_true(hours <= 1);
    if (n > 0)
        assert_true(spans[n - 1].end_ms <= until);

    lo = since > 2 * HOUR_MS ? since - 2 * HOUR_MS : 0;
    lo -= lo % MIN_MS;
    hi = until + 2 * HOUR_MS;
    for (b = lo; b < hi; b += MIN_MS) {
        int covered = 0;

        for (i = 0; i < n; i++)
            covered += spans[i].start_ms <= b && b < spans[i].end_ms;
        if (covered != (since <= b && b < until))
            fail_msg("window [%llu, %llu): bucket %llu covered %d times", (unsigned long long)since,
                     (unsigned long long)until, (unsigned long long)b, covered);
    }
}

static uint64_t random_edge(uint64_t base)
{
    static const uint64_t align[] = { 1, 1000, MIN_MS, HOUR_MS, DAY_MS };
    uint64_t t = base + rnd_below(3 * DAY_MS);

    t -= t % align[rnd_below(ARRAY_SIZE(align))];
    switch (rnd_below(4)) {
    case 0:
        return t + 1;
    case 1:
        return t - 1;
    default:
        return t;
    }
}

static void test_plan_property(void **state)
{
    static const uint64_t lengths[] = { 1,       59999,       60000,       60001,  HOUR_MS - 1,
                                        HOUR_MS, HOUR_MS + 1, 2 * HOUR_MS, DAY_MS, 50 * HOUR_MS };
    int i;

    (void)state;
    for (i = 0; i < 3000; i++) {
        uint64_t since = random_edge(DAY0), until;

        if (i % 3 == 0)
            until = random_edge(DAY0);
        else if (i % 3 == 1)
            until = since + lengths[rnd_below(ARRAY_SIZE(lengths))];
        else
            until = since + rnd_below(30 * HOUR_MS);
        check_plan(since, until);
    }
    check_plan(0, 1);
    check_plan(0, 3 * HOUR_MS + 1);
}

static void test_uptime_ratio(void **state)
{
    struct store_uptime u = empty_uptime;

    (void)state;
    assert_true(store_uptime_ratio(&u) < 0);
    assert_true(store_uptime_ratio(NULL) < 0);
    u.count = 4;
    u.failures = 1;
    assert_true(store_uptime_ratio(&u) == 0.75);
    u.failures = 0;
    assert_true(store_uptime_ratio(&u) == 1.0);
}

/* ---- batches ---- */

static void test_batch_helpers(void **state)
{
    struct store_batch b = { 0 };
    struct store_result r = mk_result(1, DAY0, true, 10);
    struct store_event e = { .monitor_id = 1, .ts_ms = DAY0, .from_state = 0, .to_state = 1 };
    char msg[16] = "hello";
    char cause[16] = "first check";
    char *big = malloc(OPSD_MAX_MESSAGE + 10);
    int i;

    (void)state;
    r.message = msg;
    e.cause = cause;
    store_batch_add_result(&b, &r);
    store_batch_add_event(&b, &e);
    strcpy(msg, "changed");
    strcpy(cause, "changed");
    assert_string_equal(b.results[0].message, "hello");
    assert_string_equal(b.events[0].cause, "first check");

    /* A long message is cut below the cap on a character boundary: here a
     * two-byte 'é' straddles the cap. */
    assert_non_null(big);
    memset(big, 'a', OPSD_MAX_MESSAGE + 9);
    big[OPSD_MAX_MESSAGE - 1] = (char)0xC3;
    big[OPSD_MAX_MESSAGE] = (char)0xA9;
    big[OPSD_MAX_MESSAGE + 9] = '\0';
    r.message = big;
    store_batch_add_result(&b, &r);
    assert_int_equal(strlen(b.results[1].message), OPSD_MAX_MESSAGE - 1);
    free(big);

    r.message = NULL;
    for (i = 0; i < 100; i++)
        store_batch_add_result(&b, &r);
    assert_int_equal(b.n_results, 102);
    assert_null(b.results[101].message);

    store_batch_clear(&b);
    assert_int_equal(b.n_results, 0);
    assert_int_equal(b.n_events, 0);
    assert_null(b.results);
    store_batch_add_result(&b, &r);
    assert_int_equal(b.n_results, 1);
    store_batch_clear(&b);
    store_batch_clear(&b);
}

/* ---- opening and migrations ---- */

static void test_migrations(void **state)
{
    struct fixture *f = *state;
    int version;

    open_store(f);
    version = store_schema_version(f->s);
    assert_true(version >= 1);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM schema_migrations"), version);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND"
                                " name IN ('monitors', 'results', 'events', 'rollup_minute',"
                                " 'rollup_hour', 'schema_migrations')"),
                     6);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND"
                                " name IN ('results_monitor_ts', 'events_monitor_ts')"),
                     2);
    assert_int_equal(sql_int(f, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
    assert_int_equal(sql_int(f, "SELECT applied_at FROM schema_migrations WHERE version = 1"),
                     f->clock.virt_ms);

    /* Reopening later applies nothing again. */
    clock_advance(&f->clock, DAY_MS);
    reopen_store(f);
    assert_int_equal(store_schema_version(f->s), version);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM schema_migrations"), version);
    assert_int_equal(sql_int(f, "SELECT max(applied_at) FROM schema_migrations"),
                     f->clock.virt_ms - DAY_MS);
    assert_int_equal(store_schema_version(NULL), -EINVAL);
}

static void test_newer_schema_refused(void **state)
{
    struct fixture *f = *state;
    struct opsd_error err = { 0 };
    struct store *s = (struct store *)&err; /* a sentinel: must stay untouched */

    open_store(f);
    f->s = store_close(f->s);
    sql_exec(f, "INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)");
    assert_int_equal(store_open(f->dir, &f->clock, &s, &err), -ENOTSUP);
    assert_ptr_equal(s, (struct store *)&err);
    assert_non_null(strstr(err.msg, "999"));
}

static void test_open_errors(void **state)
{
    struct fixture *f = *state;
    struct opsd_error err = { 0 };
    struct store *s = NULL;
    char path[128];
    struct stat st;
    FILE *fp;

    /* mkdir -p, with the new directories private to the service's group. */
    snprintf(path, sizeof(path), "%s/a/b/c/", f->dir);
    assert_int_equal(store_open(path, &f->clock, &s, &err), 0);
    s = store_close(s);
    snprintf(path, sizeof(path), "%s/a/b", f->dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0027, 0);
    assert_int_equal(st.st_mode & 0700, 0700);

    /* The data directory is a file. */
    snprintf(path, sizeof(path), "%s/file", f->dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(store_open(path, &f->clock, &s, &err), -ENOTDIR);
    assert_null(s);
    assert_non_null(strstr(err.msg, "file"));

    /* Something that is not a database sits where the database goes. */
    snprintf(path, sizeof(path), "%s/opsd.db", f->dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("this is not an SQLite database, not even close, no header at all\n", fp);
    fclose(fp);
    assert_int_equal(store_open(f->dir, &f->clock, &s, &err), -EIO);
    assert_null(s);

    assert_int_equal(store_open("", &f->clock, &s, &err), -EINVAL);
    assert_int_equal(store_open(f->dir, NULL, &s, &err), -EINVAL);
    assert_null(s);
    assert_null(store_close(NULL));
}

/* ---- monitors and events ---- */

static void test_monitor_ensure(void **state)
{
    struct fixture *f = *state;
    struct opsd_error err = { 0 };
    char longname[OPSD_MAX_NAME + 2];
    int64_t a, b, id;

    open_store(f);
    assert_int_equal(store_monitor_ensure(f->s, "web", 1, &a, &err), 0);
    assert_int_equal(store_monitor_ensure(f->s, "web", 1, &id, &err), 0);
    assert_int_equal(id, a);
    assert_int_equal(store_monitor_ensure(f->s, "db", 2, &b, &err), 0);
    assert_true(b != a);

    /* A changed type keeps the id (and so the history). */
    assert_int_equal(store_monitor_ensure(f->s, "web", 3, &id, &err), 0);
    assert_int_equal(id, a);
    assert_int_equal(sql_int(f, "SELECT type FROM monitors WHERE name = 'web'"), 3);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM monitors"), 2);

    reopen_store(f);
    assert_int_equal(store_monitor_ensure(f->s, "db", 2, &id, &err), 0);
    assert_int_equal(id, b);

    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    id = 12345;
    assert_int_equal(store_monitor_ensure(f->s, "", 1, &id, &err), -EINVAL);
    assert_int_equal(store_monitor_ensure(f->s, NULL, 1, &id, &err), -EINVAL);
    assert_int_equal(store_monitor_ensure(f->s, longname, 1, &id, &err), -EINVAL);
    assert_int_equal(id, 12345);
    longname[OPSD_MAX_NAME] = '\0';
    assert_int_equal(store_monitor_ensure(f->s, longname, 1, &id, &err), 0);
}

static void test_events_state(void **state)
{
    struct fixture *f = *state;
    struct opsd_error err = { 0 };
    struct store_monitor_state st = { 9, 9 };
    struct store_batch b = { 0 };
    struct store_event e;
    int64_t web, db;

    open_store(f);
    web = ensure(f, "web");
    db = ensure(f, "db");
    assert_int_equal(store_monitor_state(f->s, web, &st, &err), 0);
    assert_int_equal(st.state, 0);
    assert_int_equal(st.since_ms, 0);

    e = (struct store_event){ web, DAY0 + 1000, 0, 1, "first check passed", NULL };
    store_batch_add_event(&b, &e);
    e = (struct store_event){ web, DAY0 + 5000, 1, 2, "3 of 3 checks failed", NULL };
    store_batch_add_event(&b, &e);
    e = (struct store_event){ db, DAY0 + 9000, 0, 3, NULL, NULL };
    store_batch_add_event(&b, &e);
    write_batch(f, &b);

    assert_int_equal(store_monitor_state(f->s, web, &st, &err), 0);
    assert_int_equal(st.state, 2);
    assert_int_equal(st.since_ms, DAY0 + 5000);
    assert_int_equal(store_monitor_state(f->s, db, &st, &err), 0);
    assert_int_equal(st.state, 3);

    /* Two changes with one timestamp: the one stored later wins. */
    e = (struct store_event){ web, DAY0 + 7000, 2, 1, "recovered", NULL };
    store_batch_add_event(&b, &e);
    e = (struct store_event){ web, DAY0 + 7000, 1, 3, "paused", NULL };
    store_batch_add_event(&b, &e);
    write_batch(f, &b);
    assert_int_equal(store_monitor_state(f->s, web, &st, &err), 0);
    assert_int_equal(st.state, 3);
    assert_int_equal(st.since_ms, DAY0 + 7000);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM events WHERE cause IS NULL"), 1);

    st = (struct store_monitor_state){ 9, 9 };
    assert_int_equal(store_monitor_state(f->s, web, NULL, &err), -EINVAL);
    assert_int_equal(store_monitor_state(NULL, web, &st, &err), -EINVAL);
    assert_int_equal(st.state, 9);
}

struct event_collect {
    struct store_event e[16];
    char cause[16][64];
    int n;
    int stop_after; /* 0: never */
    int ret;        /* returned when stopping */
};

static int event_collect_cb(const struct store_event *e, void *userdata)
{
    struct event_collect *c = userdata;

    assert_true(c->n < 16);
    c->e[c->n] = *e;
    /* The cause is only valid during the call: keep a copy. */
    if (e->cause) {
        snprintf(c->cause[c->n], sizeof(c->cause[0]), "%s", e->cause);
        c->e[c->n].cause = c->cause[c->n];
    }
    c->n++;
    if (c->stop_after && c->n == c->stop_after)
        return c->ret;
    return 0;
}

static int event_reenter_cb(const struct store_event *e, void *userdata)
{
    struct event_collect c = { 0 };

    return store_events(userdata, e->monitor_id, 0, UINT64_MAX, 1, event_collect_cb, &c, NULL);
}

static void test_events_history(void **state)
{
    struct fixture *f = *state;
    struct opsd_error err = { 0 };
    struct store_batch b = { 0 };
    struct event_collect c = { 0 };
    struct store_event e;
    int64_t web, db;

    open_store(f);
    web = ensure(f, "web");
    db = ensure(f, "db");

    /* Nothing stored yet: an empty walk, not an error. */
    assert_int_equal(store_events(f->s, web, 0, UINT64_MAX, 10, event_collect_cb, &c, &err), 0);
    assert_int_equal(c.n, 0);

    e = (struct store_event){ web, DAY0 + 1000, 0, 1, "HTTP 200", NULL };
    store_batch_add_event(&b, &e);
    e = (struct store_event){ web, DAY0 + 5000, 1, 2, "HTTP 500 (expected 200)", NULL };
    store_batch_add_event(&b, &e);
    e = (struct store_event){ db, DAY0 + 6000, 0, 2, "connection refused", NULL };
    store_batch_add_event(&b, &e);
    e = (struct store_event){ web, DAY0 + 9000, 2, 1, NULL, NULL };
    store_batch_add_event(&b, &e);
    write_batch(f, &b);
    /* Stored in a later batch with the same time: the later one is newer. */
    e = (struct store_event){ web, DAY0 + 9000, 1, 3, "paused", NULL };
    store_batch_add_event(&b, &e);
    write_batch(f, &b);

    /* Newest first, ties by id, every field and the cause text. */
    assert_int_equal(store_events(f->s, web, 0, UINT64_MAX, 100, event_collect_cb, &c, &err), 4);
    assert_int_equal(c.n, 4);
    assert_int_equal(c.e[0].ts_ms, DAY0 + 9000);
    assert_int_equal(c.e[0].to_state, 3);
    assert_string_equal(c.e[0].cause, "paused");
    assert_int_equal(c.e[1].ts_ms, DAY0 + 9000);
    assert_int_equal(c.e[1].from_state, 2);
    assert_int_equal(c.e[1].to_state, 1);
    assert_null(c.e[1].cause);
    assert_int_equal(c.e[2].monitor_id, web);
    assert_int_equal(c.e[2].ts_ms, DAY0 + 5000);
    assert_int_equal(c.e[2].from_state, 1);
    assert_int_equal(c.e[2].to_state, 2);
    assert_string_equal(c.e[2].cause, "HTTP 500 (expected 200)");
    assert_int_equal(c.e[3].ts_ms, DAY0 + 1000);
    assert_int_equal(c.e[3].from_state, 0);

    /* [since, until): since included, until excluded. */
    memset(&c, 0, sizeof(c));
    assert_int_equal(
        store_events(f->s, web, DAY0 + 1000, DAY0 + 9000, 100, event_collect_cb, &c, &err), 2);
    assert_int_equal(c.e[0].ts_ms, DAY0 + 5000);
    assert_int_equal(c.e[1].ts_ms, DAY0 + 1000);
    memset(&c, 0, sizeof(c));
    assert_int_equal(
        store_events(f->s, web, DAY0 + 1001, DAY0 + 9001, 100, event_collect_cb, &c, &err), 3);
    assert_int_equal(c.e[2].ts_ms, DAY0 + 5000);

    /* limit keeps the newest; one over the cap is capped, not refused. */
    memset(&c, 0, sizeof(c));
    assert_int_equal(store_events(f->s, web, 0, UINT64_MAX, 2, event_collect_cb, &c, &err), 2);
    assert_string_equal(c.e[0].cause, "paused");
    assert_null(c.e[1].cause);
    memset(&c, 0, sizeof(c));
    assert_int_equal(store_events(f->s, web, 0, UINT64_MAX, OPSD_MAX_RESULTS_LIMIT + 1,
                                  event_collect_cb, &c, &err),
                     4);

    /* Another monitor's events stay its own. */
    memset(&c, 0, sizeof(c));
    assert_int_equal(store_events(f->s, db, 0, UINT64_MAX, 100, event_collect_cb, &c, &err), 1);
    assert_string_equal(c.e[0].cause, "connection refused");

    /* Empty: limit 0, an empty window, a window with nothing, no such monitor. */
    memset(&c, 0, sizeof(c));
    assert_int_equal(store_events(f->s, web, 0, UINT64_MAX, 0, event_collect_cb, &c, &err), 0);
    assert_int_equal(
        store_events(f->s, web, DAY0 + 5000, DAY0 + 5000, 10, event_collect_cb, &c, &err), 0);
    assert_int_equal(
        store_events(f->s, web, DAY0 + 10000, UINT64_MAX, 10, event_collect_cb, &c, &err), 0);
    assert_int_equal(store_events(f->s, db + 100, 0, UINT64_MAX, 10, event_collect_cb, &c, &err),
                     0);
    assert_int_equal(c.n, 0);

    /* A callback stops the walk; a negative return is passed on. */
    memset(&c, 0, sizeof(c));
    c.stop_after = 1;
    c.ret = 1;
    assert_int_equal(store_events(f->s, web, 0, UINT64_MAX, 100, event_collect_cb, &c, &err), 1);
    memset(&c, 0, sizeof(c));
    c.stop_after = 2;
    c.ret = -ECANCELED;
    assert_int_equal(store_events(f->s, web, 0, UINT64_MAX, 100, event_collect_cb, &c, &err),
                     -ECANCELED);

    /* Bad arguments; re-entry refused and the store still usable. */
    assert_int_equal(store_events(f->s, web, DAY0 + 1, DAY0, 10, event_collect_cb, &c, &err),
                     -EINVAL);
    assert_int_equal(store_events(f->s, web, 0, 1, 10, NULL, &c, &err), -EINVAL);
    assert_int_equal(store_events(NULL, web, 0, 1, 10, event_collect_cb, &c, &err), -EINVAL);
    assert_int_equal(store_events(f->s, web, 0, UINT64_MAX, 10, event_reenter_cb, f->s, &err),
                     -EBUSY);
    memset(&c, 0, sizeof(c));
    assert_int_equal(store_events(f->s, web, 0, UINT64_MAX, 10, event_collect_cb, &c, &err), 4);
}

/* ---- writing and reading results ---- */

struct collect {
    struct store_result r[64];
    char msg[64][64];
    int n;
    int stop_after; /* 0: never */
    int ret;        /* returned when stopping */
};

static int collect_cb(const struct store_result *r, void *userdata)
{
    struct collect *c = userdata;

    assert_true(c->n < 64);
    c->r[c->n] = *r;
    if (r->message) {
        snprintf(c->msg[c->n], sizeof(c->msg[0]), "%s", r->message);
        c->r[c->n].message = c->msg[c->n];
    }
    c->n++;
    if (c->stop_after && c->n == c->stop_after)
        return c->ret;
    return 0;
}

static void test_write_read(void **state)
{
    struct fixture *f = *state;
    struct opsd_error err = { 0 };
    struct store_result rs[3], got, untouched;
    struct collect c = { 0 };
    char msgbuf[8];
    int64_t web, db;

    open_store(f);
    web = ensure(f, "web");
    db = ensure(f, "db");

    rs[0] = mk_result(web, DAY0 + 1000, true, 1500);
    rs[0].dns_us = 100;
    rs[0].connect_us = 200;
    rs[0].tls_us = 300;
    rs[0].ttfb_us = 400;
    rs[0].http_status = 200;
    rs[0].cert_days = 42;
    rs[0].message = "200 OK";
    rs[1] = mk_result(web, DAY0 + 2000, false, 5000000); /* every optional one NULL */
    rs[1].status = 2;
    rs[1].message = NULL;
    rs[2] = mk_result(db, DAY0 + 3000, true, 7);
    rs[2].message = "a rather long message that will not fit";
    write_results(f, rs, 3);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM results WHERE dns_us IS NULL AND"
                                " connect_us IS NULL AND tls_us IS NULL AND ttfb_us IS NULL AND"
                                " http_status IS NULL AND cert_days IS NULL"),
                     2);

    assert_int_equal(store_results(f->s, web, 0, UINT64_MAX, 100, collect_cb, &c, &err), 2);
    assert_int_equal(c.n, 2);
    /* Newest first. */
    assert_int_equal(c.r[0].ts_ms, DAY0 + 2000);
    assert_int_equal(c.r[0].monitor_id, web);
    assert_false(c.r[0].ok);
    assert_false(c.r[0].maintenance);
    assert_int_equal(c.r[0].status, 2);
    assert_int_equal(c.r[0].dns_us, STORE_NO_VALUE);
    assert_int_equal(c.r[0].connect_us, STORE_NO_VALUE);
    assert_int_equal(c.r[0].tls_us, STORE_NO_VALUE);
    assert_int_equal(c.r[0].ttfb_us, STORE_NO_VALUE);
    assert_int_equal(c.r[0].http_status, STORE_NO_VALUE);
    assert_int_equal(c.r[0].cert_days, STORE_NO_VALUE);
    assert_int_equal(c.r[0].total_us, 5000000);
    assert_null(c.r[0].message);
    assert_int_equal(c.r[1].ts_ms, DAY0 + 1000);
    assert_true(c.r[1].ok);
    assert_int_equal(c.r[1].dns_us, 100);
    assert_int_equal(c.r[1].connect_us, 200);
    assert_int_equal(c.r[1].tls_us, 300);
    assert_int_equal(c.r[1].ttfb_us, 400);
    assert_int_equal(c.r[1].total_us, 1500);
    assert_int_equal(c.r[1].http_status, 200);
    assert_int_equal(c.r[1].cert_days, 42);
    assert_string_equal(c.r[1].message, "200 OK");

    assert_int_equal(store_last_result(f->s, web, &got, msgbuf, sizeof(msgbuf), &err), 0);
    assert_int_equal(got.ts_ms, DAY0 + 2000);
    assert_null(got.message);
    assert_int_equal(store_last_result(f->s, db, &got, msgbuf, sizeof(msgbuf), &err), 0);
    assert_ptr_equal(got.message, msgbuf);
    assert_string_equal(got.message, "a rathe");
    assert_int_equal(store_last_result(f->s, db, &got, NULL, 0, &err), 0);
    assert_null(got.message);
    assert_int_equal(got.total_us, 7);

    /* Nothing stored: -ENOENT with a message, *ret untouched. */
    memset(&untouched, 0x5A, sizeof(untouched));
    got = untouched;
    err.msg[0] = '\0';
    assert_int_equal(store_last_result(f->s, web + 100, &got, msgbuf, sizeof(msgbuf), &err),
                     -ENOENT);
    assert_memory_equal(&got, &untouched, sizeof(got));
    assert_true(err.msg[0] != '\0');
    assert_int_equal(store_last_result(f->s, web, NULL, msgbuf, 1, &err), -EINVAL);
    assert_int_equal(store_last_result(f->s, web, &got, NULL, 8, &err), -EINVAL);

    /* Survives a reopen. */
    reopen_store(f);
    assert_int_equal(store_last_result(f->s, web, &got, msgbuf, sizeof(msgbuf), &err), 0);
    assert_int_equal(got.ts_ms, DAY0 + 2000);
}

static int reenter_cb(const struct store_result *r, void *userdata)
{
    struct store *s = userdata;
    struct collect c = { 0 };

    return store_results(s, r->monitor_id, 0, UINT64_MAX, 1, collect_cb, &c, NULL);
}

static void test_results_order_limit(void **state)
{
    struct fixture *f = *state;
    struct opsd_error err = { 0 };
    struct store_result rs[50];
    struct collect c = { 0 };
    int64_t web;
    int i;

    open_store(f);
    web = ensure(f, "web");
    for (i = 0; i < 50; i++) {
        /* Pairs share a timestamp; the later-stored one counts as newer. */
        rs[i] = mk_result(web, DAY0 + (uint64_t)(i / 2) * 1000, true, i);
    }
    write_results(f, rs, 50);

    assert_int_equal(store_results(f->s, web, 0, UINT64_MAX, 10, collect_cb, &c, &err), 10);
    for (i = 0; i < 10; i++)
        assert_int_equal(c.r[i].total_us, 49 - i);

    /* [since, until): since included, until excluded. */
    memset(&c, 0, sizeof(c));
    assert_int_equal(store_results(f->s, web, DAY0 + 3000, DAY0 + 6000, 100, collect_cb, &c, &err),
                     6);
    assert_int_equal(c.r[0].ts_ms, DAY0 + 5000);
    assert_int_equal(c.r[5].ts_ms, DAY0 + 3000);

    /* A callback stops the walk; a negative return is passed on. */
    memset(&c, 0, sizeof(c));
    c.stop_after = 3;
    c.ret = 1;
    assert_int_equal(store_results(f->s, web, 0, UINT64_MAX, 100, collect_cb, &c, &err), 3);
    assert_int_equal(c.n, 3);
    memset(&c, 0, sizeof(c));
    c.stop_after = 2;
    c.ret = -ECANCELED;
    assert_int_equal(store_results(f->s, web, 0, UINT64_MAX, 100, collect_cb, &c, &err),
                     -ECANCELED);

    memset(&c, 0, sizeof(c));
    assert_int_equal(store_results(f->s, web, 0, UINT64_MAX, 0, collect_cb, &c, &err), 0);
    assert_int_equal(store_results(f->s, web, DAY0, DAY0, 10, collect_cb, &c, &err), 0);
    assert_int_equal(store_results(f->s, web + 1, 0, UINT64_MAX, 10, collect_cb, &c, &err), 0);
    assert_int_equal(c.n, 0);
    assert_int_equal(store_results(f->s, web, DAY0 + 1, DAY0, 10, collect_cb, &c, &err), -EINVAL);
    assert_int_equal(store_results(f->s, web, 0, 1, 10, NULL, &c, &err), -EINVAL);

    /* Calling back into the store from the callback is refused, not UB. */
    assert_int_equal(store_results(f->s, web, 0, UINT64_MAX, 10, reenter_cb, f->s, &err), -EBUSY);
    /* ... and leaves the store usable. */
    memset(&c, 0, sizeof(c));
    assert_int_equal(store_results(f->s, web, 0, UINT64_MAX, 5, collect_cb, &c, &err), 5);
}

static void test_write_atomic(void **state)
{
    struct fixture *f = *state;
    struct opsd_error err = { 0 };
    struct store_batch b = { 0 };
    struct store_result r;
    struct store_event e = { 0 };
    struct store_uptime u;
    int64_t web;

    open_store(f);
    web = ensure(f, "web");

    /* The second result names a monitor that does not exist: the whole
     * batch, the valid result and its rollups included, is rolled back. */
    r = mk_result(web, DAY0 + 1000, true, 10);
    store_batch_add_result(&b, &r);
    r.monitor_id = web + 99;
    store_batch_add_result(&b, &r);
    e = (struct store_event){ web, DAY0 + 1000, 0, 1, "up", NULL };
    store_batch_add_event(&b, &e);
    assert_int_equal(store_write(f->s, &b, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "FOREIGN KEY"));
    store_batch_clear(&b);
    assert_int_equal(sql_int(f, "SELECT (SELECT count(*) FROM results) + (SELECT count(*) FROM"
                                " events) + (SELECT count(*) FROM rollup_minute) + (SELECT"
                                " count(*) FROM rollup_hour)"),
                     0);

    /* Refused before any SQL runs. */
    r = mk_result(web, DAY0, true, STORE_NO_VALUE);
    store_batch_add_result(&b, &r);
    assert_int_equal(store_write(f->s, &b, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "total_us"));
    store_batch_clear(&b);
    r = mk_result(0, DAY0, true, 1);
    store_batch_add_result(&b, &r);
    assert_int_equal(store_write(f->s, &b, &err), -EINVAL);
    store_batch_clear(&b);
    r = mk_result(web, UINT64_MAX, true, 1);
    store_batch_add_result(&b, &r);
    assert_int_equal(store_write(f->s, &b, &err), -EINVAL);
    store_batch_clear(&b);
    assert_int_equal(store_write(f->s, NULL, &err), -EINVAL);
    assert_int_equal(store_write(f->s, &b, &err), 0); /* empty */

    /* The writer is still usable after the rollback. */
    r = mk_result(web, DAY0 + 1000, true, 10);
    write_results(f, &r, 1);
    assert_int_equal(store_uptime(f->s, web, 0, UINT64_MAX, &u, &err), 0);
    assert_int_equal(u.count, 1);
}

/* ---- uptime ---- */

static void shuffle(struct store_result *rs, size_t n)
{
    size_t i;

    for (i = n - 1; i > 0; i--) {
        size_t j = rnd_below(i + 1);
        struct store_result t = rs[i];

        rs[i] = rs[j];
        rs[j] = t;
    }
}

/* Writes rs in batches of random size, so the same bucket is upserted by
 * several batches and the ON CONFLICT path merges counts and min/max. */
static void write_in_random_batches(struct fixture *f, struct store_result *rs, size_t n)
{
    size_t i = 0;

    shuffle(rs, n);
    while (i < n) {
        size_t want = 1 + rnd_below(300);
        size_t k = MIN(n - i, want);

        write_results(f, rs + i, k);
        i += k;
    }
}

static void check_uptime(struct fixture *f, const struct store_result *rs, size_t n, int64_t mon,
                         uint64_t since, uint64_t until)
{
    struct opsd_error err = { 0 };
    struct store_uptime got, want;

    assert_int_equal(store_uptime(f->s, mon, since, until, &got, &err), 0);
    want = brute_uptime(rs, n, mon, since, until);
    if (memcmp(&got, &want, sizeof(got)) != 0)
        fail_msg("window [%llu, %llu): count %llu/%llu failures %llu/%llu sum %llu/%llu"
                 " min %lld/%lld max %lld/%lld (got/want)",
                 (unsigned long long)since, (unsigned long long)until,
                 (unsigned long long)got.count, (unsigned long long)want.count,
                 (unsigned long long)got.failures, (unsigned long long)want.failures,
                 (unsigned long long)got.latency_sum_us, (unsigned long long)want.latency_sum_us,
                 (long long)got.latency_min_us, (long long)want.latency_min_us,
                 (long long)got.latency_max_us, (long long)want.latency_max_us);
}

static void test_uptime_vs_bruteforce(void **state)
{
    struct fixture *f = *state;
    const uint64_t start = DAY0 + 21 * HOUR_MS, end = DAY0 + 27 * HOUR_MS;
    const size_t cap = 4000;
    struct store_result *rs = calloc(cap, sizeof(*rs));
    struct opsd_error err = { 0 };
    struct store_uptime u = { 7, 7, 7, 7, 7 };
    size_t n = 0, i;
    uint64_t m;
    int64_t web, db;

    assert_non_null(rs);
    open_store(f);
    web = ensure(f, "web");
    db = ensure(f, "db");

    /* Six hours across midnight: results exactly on minute, hour and day
     * boundaries, a millisecond before them, and anywhere in between; some
     * minutes empty, some failing, some in maintenance. */
    for (m = start; m < end; m += MIN_MS) {
        uint64_t ts[4] = { m, m - 1, m + 1 + rnd_below(MIN_MS - 2), m + MIN_MS - 1 };
        size_t k;

        if (rnd_below(13) == 0)
            continue;
        for (k = 0; k < 4; k++) {
            struct store_result *r;

            if (k > 0 && rnd_below(2) == 0 && m % HOUR_MS != 0)
                continue;
            assert_true(n + 2 <= cap);
            r = &rs[n++];
            *r = mk_result(web, ts[k], rnd_below(7) != 0, (int32_t)(1 + rnd_below(900000)));
            r->maintenance = rnd_below(11) == 0;
            /* The other monitor's rows must never leak into web's sums. */
            rs[n++] = mk_result(db, ts[k], false, 1);
        }
    }
    write_in_random_batches(f, rs, n);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM results"), n);

    check_uptime(f, rs, n, web, 0, UINT64_MAX);
    check_uptime(f, rs, n, web, start, end);
    check_uptime(f, rs, n, web, start - 1, end + 1);
    check_uptime(f, rs, n, web, DAY0 + 22 * HOUR_MS + M(30), DAY0 + 25 * HOUR_MS + M(15));
    check_uptime(f, rs, n, web, DAY0 + 23 * HOUR_MS - 1, DAY0 + 25 * HOUR_MS + 1);
    check_uptime(f, rs, n, web, DAY0 + DAY_MS, DAY0 + DAY_MS + 1);
    check_uptime(f, rs, n, web, DAY0 + DAY_MS - 1, DAY0 + DAY_MS);
    check_uptime(f, rs, n, web, DAY0 + DAY_MS - MIN_MS, DAY0 + DAY_MS + MIN_MS);
    check_uptime(f, rs, n, web, DAY0 + DAY_MS + 5, DAY0 + DAY_MS + 10);
    check_uptime(f, rs, n, db, start, end);
    for (i = 0; i < 400; i++) {
        uint64_t a = start - HOUR_MS + rnd_below(8 * HOUR_MS);
        uint64_t b = a + rnd_below(i % 2 ? 5 * HOUR_MS : 2 * MIN_MS);

        if (rnd_below(2))
            a -= a % (rnd_below(2) ? HOUR_MS : MIN_MS);
        if (rnd_below(2))
            b -= b % (rnd_below(2) ? HOUR_MS : MIN_MS);
        if (rnd_below(3) == 0)
            b += rnd_below(3) - 1;
        if (a > b)
            continue;
        check_uptime(f, rs, n, web, a, b);
    }

    /* No data and bad windows. */
    assert_int_equal(store_uptime(f->s, web + 99, start, end, &u, &err), 0);
    assert_uptime_equal(&u, &empty_uptime);
    u = (struct store_uptime){ 7, 7, 7, 7, 7 };
    assert_int_equal(store_uptime(f->s, web, end, start, &u, &err), -EINVAL);
    assert_int_equal(u.count, 7);
    assert_int_equal(store_uptime(f->s, web, start, start, &u, &err), 0);
    assert_int_equal(u.count, 0);
    free(rs);
}

static void test_maintenance_excluded(void **state)
{
    struct fixture *f = *state;
    struct opsd_error err = { 0 };
    struct store_result rs[4];
    struct store_uptime u, days[1];
    struct collect c = { 0 };
    int64_t web;

    open_store(f);
    web = ensure(f, "web");
    rs[0] = mk_result(web, DAY0 + M(1), true, 100);
    rs[1] = mk_result(web, DAY0 + M(2), false, 999999); /* down, but in maintenance */
    rs[1].maintenance = true;
    rs[2] = mk_result(web, DAY0 + M(3), false, 5);
    rs[2].maintenance = true;
    rs[3] = mk_result(web, DAY0 + M(4), true, 300);
    write_results(f, rs, 4);

    /* Stored as history ... */
    assert_int_equal(store_results(f->s, web, 0, UINT64_MAX, 10, collect_cb, &c, &err), 4);
    assert_true(c.r[1].maintenance);
    assert_true(c.r[2].maintenance);
    assert_false(c.r[0].maintenance);

    /* ... but not counted, at either rollup level. */
    assert_int_equal(store_uptime(f->s, web, DAY0, DAY0 + M(10), &u, &err), 0);
    assert_int_equal(u.count, 2);
    assert_int_equal(u.failures, 0);
    assert_int_equal(u.latency_sum_us, 400);
    assert_int_equal(u.latency_min_us, 100);
    assert_int_equal(u.latency_max_us, 300);
    assert_int_equal(store_uptime(f->s, web, DAY0, DAY0 + HOUR_MS, &u, &err), 0);
    assert_int_equal(u.count, 2);
    assert_true(store_uptime_ratio(&u) == 1.0);
    assert_int_equal(store_uptime_days(f->s, web, DAY0, 1, days, &err), 0);
    assert_int_equal(days[0].count, 2);
    assert_int_equal(days[0].failures, 0);

    /* A bucket holding only maintenance results has no rollup row at all. */
    rs[0] = mk_result(web, DAY0 + HOUR_MS * 3, false, 1);
    rs[0].maintenance = true;
    write_results(f, rs, 1);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM rollup_minute"), 2);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM rollup_hour"), 1);
}

static void test_uptime_days(void **state)
{
    struct fixture *f = *state;
    struct opsd_error err = { 0 };
    const size_t cap = 2000;
    struct store_result *rs = calloc(cap, sizeof(*rs));
    struct store_uptime out[8], want, sentinel[2];
    uint64_t now = DAY0 + 6 * DAY_MS + 5 * HOUR_MS + 17;
    size_t n = 0;
    unsigned d;
    int64_t web, db;

    assert_non_null(rs);
    open_store(f);
    web = ensure(f, "web");
    db = ensure(f, "db");

    /* Days 0..6 with data except day 2 and day 4; results on the first and
     * last millisecond of a day, and one after now that must not count. */
    for (d = 0; d < 7; d++) {
        uint64_t day = DAY0 + d * DAY_MS;
        int k;

        if (d == 2 || d == 4)
            continue;
        rs[n++] = mk_result(web, day, true, 10 + (int32_t)d);
        rs[n++] = mk_result(web, day + DAY_MS - 1, d % 2 == 0, 1000 * (int32_t)d + 1);
        for (k = 0; k < 100; k++) {
            rs[n] = mk_result(web, day + rnd_below(DAY_MS), rnd_below(5) != 0,
                              (int32_t)(50 + rnd_below(5000)));
            rs[n].maintenance = rnd_below(10) == 0;
            n++;
        }
        rs[n++] = mk_result(db, day + 1, false, 1);
    }
    rs[n++] = mk_result(web, DAY0 + 7 * DAY_MS, true, 1);
    write_in_random_batches(f, rs, n);

    /* Eight days ending today: day -1 (before any data) .. day 6. */
    memset(out, 0x77, sizeof(out));
    assert_int_equal(store_uptime_days(f->s, web, now, 8, out, &err), 0);
    for (d = 0; d < 8; d++) {
        uint64_t day = DAY0 + d * DAY_MS - DAY_MS;

        want = brute_uptime(rs, n, web, day, day + DAY_MS);
        assert_uptime_equal(&out[d], &want);
    }
    assert_int_equal(out[0].count, 0);
    assert_int_equal(out[0].latency_min_us, -1);
    assert_int_equal(out[3].count, 0);
    assert_true(out[1].count > 0);

    /* One day: today's so far. */
    assert_int_equal(store_uptime_days(f->s, web, now, 1, out, &err), 0);
    want = brute_uptime(rs, n, web, DAY0 + 6 * DAY_MS, DAY0 + 7 * DAY_MS);
    assert_uptime_equal(&out[0], &want);

    /* Near the epoch, days before it are empty rather than an error. */
    assert_int_equal(store_uptime_days(f->s, web, 3 * DAY_MS, 8, out, &err), 0);
    for (d = 0; d < 8; d++)
        assert_int_equal(out[d].count, 0);

    memset(sentinel, 0x33, sizeof(sentinel));
    memcpy(out, sentinel, sizeof(sentinel));
    assert_int_equal(store_uptime_days(f->s, web, now, 0, out, &err), -EINVAL);
    assert_int_equal(store_uptime_days(f->s, web, now, STORE_MAX_DAYS + 1, out, &err), -EINVAL);
    assert_int_equal(store_uptime_days(f->s, web, UINT64_MAX, 2, out, &err), -EINVAL);
    assert_memory_equal(out, sentinel, sizeof(sentinel));
    free(rs);
}

/* ---- retention ---- */

struct points {
    size_t n;
    uint64_t ts[16];
    char name[16][64];
    char unit[16][8];
    double value[16];
};

static int collect_point(const struct store_metric_point *p, void *userdata)
{
    struct points *c = userdata;

    if (c->n >= 16)
        return 1;
    c->ts[c->n] = p->ts_ms;
    snprintf(c->name[c->n], sizeof(c->name[0]), "%s", p->name);
    snprintf(c->unit[c->n], sizeof(c->unit[0]), "%s", p->unit ? p->unit : "(null)");
    c->value[c->n] = p->value;
    c->n++;
    return 0;
}

/* Metrics ride with their result: written in its transaction, read back by
 * name or all together, newest first, and pruned with the raw results. */
static void test_metrics(void **state)
{
    struct fixture *f = *state;
    struct opsd_error err = { 0 };
    const uint64_t t0 = DAY0 + 12 * HOUR_MS;
    struct store_metric m1[] = { { "load1", NULL, 0.5 }, { "size_bytes", "B", 1e6 } };
    struct store_metric m2[] = { { "load1", NULL, 1.25 }, { "size_bytes", "B", 2e6 } };
    struct store_result rs[3];
    struct store_batch b = { 0 };
    struct points c = { 0 };
    int64_t a, other;
    int r;

    open_store(f);
    a = ensure(f, "a");
    other = ensure(f, "other");
    rs[0] = mk_result(a, t0, true, 10);
    rs[0].metrics = m1;
    rs[0].n_metrics = 2;
    rs[1] = mk_result(a, t0 + MIN_MS, true, 10);
    rs[1].metrics = m2;
    rs[1].n_metrics = 2;
    rs[2] = mk_result(other, t0, true, 10);
    rs[2].metrics = m1;
    rs[2].n_metrics = 1;
    for (size_t i = 0; i < 3; i++)
        store_batch_add_result(&b, &rs[i]);
    /* The batch owns copies: the caller's arrays may go away. */
    m1[0].value = -1;
    write_batch(f, &b);

    r = store_metrics(f->s, a, "load1", 0, t0 + HOUR_MS, 10, collect_point, &c, &err);
    assert_int_equal(r, 2);
    assert_int_equal(c.ts[0], t0 + MIN_MS);
    assert_true(c.value[0] == 1.25 && c.value[1] == 0.5);
    assert_string_equal(c.unit[0], "(null)");

    memset(&c, 0, sizeof(c));
    r = store_metrics(f->s, a, NULL, 0, t0 + HOUR_MS, 3, collect_point, &c, &err);
    assert_int_equal(r, 3); /* limit */
    assert_string_equal(c.unit[0], "B");
    assert_int_equal(c.ts[2], t0);

    memset(&c, 0, sizeof(c));
    r = store_metrics(f->s, a, "size_bytes", t0 + 1, t0 + HOUR_MS, 10, collect_point, &c, &err);
    assert_int_equal(r, 1); /* since is inclusive, t0 is before it */
    assert_true(c.value[0] == 2e6);

    memset(&c, 0, sizeof(c));
    assert_int_equal(store_metrics(f->s, other, NULL, 0, t0 + HOUR_MS, 10, collect_point, &c, &err),
                     1);
    assert_true(c.value[0] == 0.5);
    assert_int_equal(store_metrics(f->s, a, "nope", 0, t0 + HOUR_MS, 10, collect_point, &c, &err),
                     0);
    assert_int_equal(store_metrics(f->s, a, NULL, 5, 4, 10, collect_point, &c, &err), -EINVAL);

    /* Pruned with the results they came with. */
    clock_virtual_init(&f->clock, t0 + 30 * DAY_MS);
    assert_true(store_prune(f->s, t0 + 30000, &err) >= 3);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM metrics"), 2);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM metrics WHERE ts_ms < "
                                "0 + (SELECT min(ts_ms) FROM results)"),
                     0);
}

/* An action's outcome is an event too, but never a state: the state a
 * monitor restarts in comes from state changes only. */
static void test_action_events(void **state)
{
    struct fixture *f = *state;
    struct opsd_error err = { 0 };
    struct store_monitor_state st;
    struct store_batch b = { 0 };
    struct store_event e;
    int64_t web;

    open_store(f);
    web = ensure(f, "web");
    e = (struct store_event){ web, DAY0 + 1000, 1, 2, "HTTP 500", NULL };
    store_batch_add_event(&b, &e);
    e = (struct store_event){ web, DAY0 + 2000, 1, 1, "on_failure: exit status 0", "action" };
    store_batch_add_event(&b, &e);
    write_batch(f, &b);
    assert_int_equal(store_monitor_state(f->s, web, &st, &err), 0);
    assert_int_equal(st.state, 2);
    assert_int_equal(st.since_ms, DAY0 + 1000);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM events WHERE kind = 'action'"), 1);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM events WHERE kind IS NULL"), 1);
}

static void test_prune(void **state)
{
    struct fixture *f = *state;
    struct opsd_error err = { 0 };
    const size_t n_old = 12000;
    struct store_result *rs = calloc(n_old + 100, sizeof(*rs));
    const uint64_t now = DAY0 + 500 * DAY_MS;
    const uint64_t cut = now - 30 * DAY_MS + 30000; /* mid-minute */
    struct store_uptime u;
    struct collect c = { 0 };
    int64_t web, rows_before, rows_after;
    size_t i, n = 0;
    int r;

    assert_non_null(rs);
    clock_virtual_init(&f->clock, now);
    open_store(f);
    web = ensure(f, "web");

    /* More old rows than one prune chunk, spread over the hour before cut;
     * then rows after the cut, two of them in the cut's own minute. */
    for (i = 0; i < n_old; i++)
        rs[n++] = mk_result(web, cut - HOUR_MS - HOUR_MS + i * 600, true, 1);
    rs[n++] = mk_result(web, cut - 1, true, 1);
    rs[n++] = mk_result(web, cut, true, 1);
    rs[n++] = mk_result(web, cut + 1, true, 1);
    for (i = 0; i < 50; i++)
        rs[n++] = mk_result(web, cut + HOUR_MS + i * MIN_MS, true, 1);
    /* Hour rollups just older and just younger than 400 days. */
    rs[n++] = mk_result(web, now - 401 * DAY_MS, true, 1);
    rs[n++] = mk_result(web, now - 399 * DAY_MS, true, 1);
    write_in_random_batches(f, rs, n);

    rows_before = sql_int(f, "SELECT (SELECT count(*) FROM results) + (SELECT count(*) FROM"
                             " rollup_minute) + (SELECT count(*) FROM rollup_hour)");
    r = store_prune(f->s, cut, &err);
    rows_after = sql_int(f, "SELECT (SELECT count(*) FROM results) + (SELECT count(*) FROM"
                            " rollup_minute) + (SELECT count(*) FROM rollup_hour)");
    assert_true(r > (int)n_old);
    assert_int_equal(r, rows_before - rows_after);

    assert_int_equal(sql_int(f, "SELECT count(*) FROM results"), 52);
    assert_int_equal(store_results(f->s, web, 0, cut, 10, collect_cb, &c, &err), 0);
    /* The cut's minute keeps its rollup: raw results inside it remain. */
    assert_int_equal(sql_intf(f, "SELECT count(*) FROM rollup_minute WHERE bucket_ms < %llu",
                              (unsigned long long)cut),
                     1);
    /* Hour rollups go at 400 days, whatever the raw cut. */
    assert_int_equal(sql_intf(f, "SELECT count(*) FROM rollup_hour WHERE bucket_ms < %llu",
                              (unsigned long long)(now - 400 * DAY_MS)),
                     0);
    assert_int_equal(sql_intf(f, "SELECT count(*) FROM rollup_hour WHERE bucket_ms < %llu",
                              (unsigned long long)(now - 398 * DAY_MS)),
                     1);

    /* A long window still answers from hour rollups after raw rows and
     * minute rollups are gone: [cut - 3h, cut + 3h) is whole hours around
     * every row written near the cut. */
    assert_int_equal(store_uptime(f->s, web, cut - 3 * HOUR_MS, cut + 3 * HOUR_MS, &u, &err), 0);
    assert_int_equal(u.count, n_old + 3 + 50);

    /* Nothing left to prune. */
    assert_int_equal(store_prune(f->s, cut, &err), 0);
    assert_int_equal(store_prune(NULL, cut, &err), -EINVAL);
    free(rs);
}

/* ---- integrity, durability, concurrency ---- */

static void test_integrity(void **state)
{
    struct fixture *f = *state;
    struct opsd_error err = { 0 };
    struct store_result r;

    open_store(f);
    assert_int_equal(store_integrity_check(f->s, &err), 0);
    r = mk_result(ensure(f, "web"), DAY0, true, 1);
    write_results(f, &r, 1);
    assert_int_equal(store_integrity_check(f->s, &err), 0);
    assert_int_equal(store_integrity_check(NULL, &err), -EINVAL);
}

/* The child acknowledges batches and dies by SIGKILL the instant the last
 * store_write() returns, with no close, no checkpoint, no atexit. Every
 * acknowledged row must be there when the parent opens the store again. */
static void test_durability_kill9(void **state)
{
    struct fixture *f = *state;
    const int batches = 3, per_batch = 1000;
    struct opsd_error err = { 0 };
    struct store_monitor_state st;
    struct store_uptime u;
    char wal[128];
    int64_t web;
    pid_t pid;
    int status;

    open_store(f);
    web = ensure(f, "web");
    f->s = store_close(f->s); /* never share SQLite handles across fork() */

    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct store *s = NULL;
        struct store_batch b = { 0 };
        int i, j;

        if (store_open(f->dir, &f->clock, &s, NULL) < 0)
            _exit(1);
        for (i = 0; i < batches; i++) {
            for (j = 0; j < per_batch; j++) {
                struct store_result r =
                    mk_result(web, DAY0 + (uint64_t)(i * per_batch + j) * 1000, j % 10 != 0, j);
                store_batch_add_result(&b, &r);
            }
            struct store_event e = { web, DAY0 + (uint64_t)i, (i + 1) % 3, (i + 2) % 3, "x", NULL };
            store_batch_add_event(&b, &e);
            if (store_write(s, &b, NULL) < 0)
                _exit(2);
            store_batch_clear(&b);
        }
        raise(SIGKILL);
        _exit(3);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);

    /* The data is still only in the WAL: recovery is what is being tested. */
    snprintf(wal, sizeof(wal), "%s/opsd.db-wal", f->dir);
    assert_int_equal(access(wal, F_OK), 0);

    open_store(f);
    assert_int_equal(store_integrity_check(f->s, &err), 0);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM results"), batches * per_batch);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM events"), batches);
    assert_int_equal(store_uptime(f->s, web, 0, UINT64_MAX, &u, &err), 0);
    assert_int_equal(u.count, batches * per_batch);
    assert_int_equal(u.failures, batches * per_batch / 10);
    assert_int_equal(store_monitor_state(f->s, web, &st, &err), 0);
    assert_int_equal(st.state, (batches + 1) % 3);
    assert_int_equal(st.since_ms, DAY0 + batches - 1);
}

struct writer_arg {
    struct store *s;
    int64_t mon;
    int failures;
    int pruned;
    int done;
    struct opsd_error err;
};

static void *writer_thread(void *p)
{
    struct writer_arg *w = p;
    struct store_batch b = { 0 };
    int i, j;

    for (i = 0; i < 40; i++) {
        for (j = 0; j < 250; j++) {
            struct store_result r =
                mk_result(w->mon, DAY0 + (uint64_t)(i * 250 + j) * 100, true, j + 1);
            store_batch_add_result(&b, &r);
        }
        if (store_write(w->s, &b, &w->err) < 0)
            w->failures++;
        store_batch_clear(&b);
    }
    /* The engine prunes from the worker too, between writes. */
    w->pruned = store_prune(w->s, DAY0 + 500 * 100, &w->err);
    __atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* store_write() and store_prune() on a worker while the loop thread reads
 * and does its own small writes: neither side may see an error (busy) or a
 * torn batch. */
static void test_concurrent_write_read(void **state)
{
    struct fixture *f = *state;
    struct opsd_error err = { 0 };
    struct writer_arg w = { 0 };
    struct store_uptime u;
    const char *failed = NULL;
    pthread_t t;
    char name[32];
    int64_t id;
    int i = 0;

    open_store(f);
    w.s = f->s;
    w.mon = ensure(f, "web");
    assert_int_equal(pthread_create(&t, NULL, writer_thread, &w), 0);
    /* Failures are noted and reported after the join: failing here would
     * close the store under the writer thread. */
    while (!failed) {
        struct collect c = { 0 };
        int done = __atomic_load_n(&w.done, __ATOMIC_ACQUIRE);

        if (store_uptime(f->s, w.mon, 0, UINT64_MAX, &u, &err) < 0)
            failed = "store_uptime";
        else if (u.count % 250 != 0)
            failed = "a torn batch";
        else if (store_results(f->s, w.mon, 0, UINT64_MAX, 5, collect_cb, &c, &err) < 0)
            failed = "store_results";
        snprintf(name, sizeof(name), "m%d", i++);
        if (!failed && store_monitor_ensure(f->s, name, 1, &id, &err) < 0)
            failed = "store_monitor_ensure";
        if (done)
            break;
    }
    assert_int_equal(pthread_join(t, NULL), 0);
    if (failed)
        fail_msg("loop thread: %s: %s", failed, err.msg);
    if (w.failures)
        fail_msg("%d batches failed, last: %s", w.failures, w.err.msg);
    assert_int_equal(store_uptime(f->s, w.mon, 0, UINT64_MAX, &u, &err), 0);
    assert_int_equal(u.count, 40 * 250);
    assert_int_equal(w.pruned, 500);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM results"), 40 * 250 - 500);
}

/* ---- alerts, the notification outbox, silences and tokens ---- */

#define FP_TOP UINT64_C(0xfedcba9876543210) /* the top bit set: must not turn negative */

/* Ids seen by a walk, in order, and whatever the test wants stopped. */
struct ids {
    int64_t v[64];
    int n;
    int stop_after; /* 0: never */
};

static int ids_push(struct ids *c, int64_t id)
{
    assert_true(c->n < 64);
    c->v[c->n++] = id;
    return c->stop_after && c->n == c->stop_after ? 1 : 0;
}

static int alert_ids_cb(const struct store_alert *a, void *userdata)
{
    return ids_push(userdata, a->id);
}

static int notif_ids_cb(const struct store_notification *n, void *userdata)
{
    return ids_push(userdata, n->id);
}

static int silence_ids_cb(const struct store_silence *si, void *userdata)
{
    return ids_push(userdata, si->id);
}

static int token_ids_cb(const struct store_token *t, void *userdata)
{
    return ids_push(userdata, t->id);
}

static void assert_ids(const struct ids *c, int n, ...)
{
    va_list ap;
    int i;

    assert_int_equal(c->n, n);
    va_start(ap, n);
    for (i = 0; i < n; i++) {
        int64_t want = va_arg(ap, int64_t);

        if (c->v[i] != want) {
            va_end(ap);
            fail_msg("id %d: got %lld, want %lld", i, (long long)c->v[i], (long long)want);
        }
    }
    va_end(ap);
}

static void assert_str_or_null(const char *got, const char *want)
{
    if (!want)
        assert_null(got);
    else {
        assert_non_null(got);
        assert_string_equal(got, want);
    }
}

static void assert_alert_equal(const struct store_alert *got, const struct store_alert *want)
{
    assert_int_equal(got->id, want->id);
    assert_true(got->fingerprint == want->fingerprint);
    assert_str_or_null(got->monitor, want->monitor);
    assert_str_or_null(got->source, want->source);
    assert_int_equal(got->severity, want->severity);
    assert_int_equal(got->state, want->state);
    assert_str_or_null(got->labels_json, want->labels_json);
    assert_str_or_null(got->summary, want->summary);
    assert_str_or_null(got->message, want->message);
    assert_str_or_null(got->suppressed, want->suppressed);
    assert_int_equal(got->starts_ms, want->starts_ms);
    assert_int_equal(got->updated_ms, want->updated_ms);
    assert_int_equal(got->acked_ms, want->acked_ms);
    assert_str_or_null(got->acked_by, want->acked_by);
    assert_int_equal(got->resolved_ms, want->resolved_ms);
    assert_int_equal(got->review, want->review);
    assert_str_or_null(got->review_by, want->review_by);
    assert_int_equal(got->reviewed_ms, want->reviewed_ms);
    assert_str_or_null(got->review_comment, want->review_comment);
    assert_int_equal(got->ends_ms, want->ends_ms);
}

static struct store_alert mk_alert(int64_t id, const char *monitor, int state, uint64_t starts)
{
    return (struct store_alert){
        .id = id,
        .fingerprint = (uint64_t)id * UINT64_C(0x9E3779B97F4A7C15),
        .monitor = monitor,
        .source = monitor ? "monitor" : "api",
        .severity = 2,
        .state = state,
        .labels_json = "{\"alertname\":\"down\"}",
        .summary = "down",
        .starts_ms = starts,
        .updated_ms = starts,
        .resolved_ms = state == STORE_ALERT_RESOLVED ? starts + 1000 : 0,
    };
}

static struct store_notification mk_notif(int64_t id, const char *key, const char *alert_ids,
                                          uint64_t created)
{
    return (struct store_notification){
        .id = id,
        .idempotency_key = key,
        .receiver = "ops-slack",
        .reason = "firing",
        .group_key = "{}:{alertname=\"down\"}",
        .alert_ids = alert_ids,
        .payload_json = "{\"v\":1}",
        .state = STORE_NOTIF_PENDING,
        .created_ms = created,
        .next_attempt_ms = created,
    };
}

static void write_alerts(struct fixture *f, const struct store_alert *as, size_t n)
{
    struct store_batch b = { 0 };
    size_t i;

    for (i = 0; i < n; i++)
        store_batch_put_alert(&b, &as[i]);
    write_batch(f, &b);
}

static void write_notifs(struct fixture *f, const struct store_notification *ns, size_t n)
{
    struct store_batch b = { 0 };
    size_t i;

    for (i = 0; i < n; i++)
        store_batch_add_notification(&b, &ns[i]);
    write_batch(f, &b);
}

static struct store_notification notif_copy;
static char notif_payload[64], notif_error[64];

/* Keeps the last notification seen, with the strings a test looks at. */
static int notif_keep_cb(const struct store_notification *n, void *userdata)
{
    (void)userdata;
    notif_copy = *n;
    snprintf(notif_payload, sizeof(notif_payload), "%s", n->payload_json ? n->payload_json : "");
    snprintf(notif_error, sizeof(notif_error), "%s", n->last_error ? n->last_error : "(null)");
    notif_copy.payload_json = notif_payload;
    notif_copy.last_error = notif_error;
    return 0;
}

static void test_batch_helpers_alerting(void **state)
{
    struct store_batch b = { 0 };
    char mon[16] = "web", summary[16] = "web is down", key[16] = "k1", err[16] = "timeout";
    struct store_alert a = mk_alert(1, mon, STORE_ALERT_FIRING, DAY0);
    struct store_notification n = mk_notif(1, key, "1", DAY0);
    struct store_notif_update u = { .id = 1, .state = STORE_NOTIF_FAILED, .last_error = err };
    struct store_notif_attempt at = { .notification_id = 1, .ts_ms = DAY0, .error = err };
    char *big = malloc(OPSD_MAX_ALERT_JSON + 100);

    (void)state;
    assert_non_null(big);
    a.summary = summary;

    /* Each kind alone makes the batch non-empty, so store_write() runs. */
    store_batch_put_alert(&b, &a);
    assert_false(store_batch_empty(&b));
    store_batch_clear(&b);
    assert_true(store_batch_empty(&b));
    store_batch_add_notification(&b, &n);
    assert_false(store_batch_empty(&b));
    store_batch_clear(&b);
    store_batch_update_notification(&b, &u);
    assert_false(store_batch_empty(&b));
    store_batch_clear(&b);
    store_batch_add_notif_attempt(&b, &at);
    assert_false(store_batch_empty(&b));
    store_batch_clear(&b);

    /* The batch owns copies. */
    store_batch_put_alert(&b, &a);
    store_batch_add_notification(&b, &n);
    store_batch_update_notification(&b, &u);
    store_batch_add_notif_attempt(&b, &at);
    strcpy(mon, "changed");
    strcpy(summary, "changed");
    strcpy(key, "changed");
    strcpy(err, "changed");
    assert_string_equal(b.alerts[0].monitor, "web");
    assert_string_equal(b.alerts[0].summary, "web is down");
    assert_true(b.alerts[0].fingerprint == a.fingerprint);
    assert_string_equal(b.notifications[0].idempotency_key, "k1");
    assert_string_equal(b.notif_updates[0].last_error, "timeout");
    assert_string_equal(b.notif_attempts[0].error, "timeout");
    assert_null(b.alerts[0].acked_by);

    /* Oversized JSON is kept one byte over its cap (so validation refuses
     * it), never copied whole. */
    memset(big, '{', OPSD_MAX_ALERT_JSON + 99);
    big[OPSD_MAX_ALERT_JSON + 99] = '\0';
    a.labels_json = big;
    store_batch_put_alert(&b, &a);
    assert_int_equal(strlen(b.alerts[1].labels_json), OPSD_MAX_ALERT_JSON + 1);
    free(big);

    store_batch_clear(&b);
    assert_int_equal(b.n_alerts + b.n_notifications + b.n_notif_updates + b.n_notif_attempts, 0);
    assert_null(b.alerts);
    assert_null(b.notifications);
    store_batch_clear(&b);
}

static void test_alert_roundtrip(void **state)
{
    struct fixture *f = *state;
    struct opsd_error err = { 0 };
    struct store_alert a, got, sentinel;
    struct ids c = { 0 };

    open_store(f);
    a = (struct store_alert){
        .id = 7,
        .fingerprint = FP_TOP,
        .monitor = "web",
        .source = "monitor",
        .severity = 1,
        .state = STORE_ALERT_FIRING,
        .labels_json = "{\"alertname\":\"down\",\"monitor\":\"web\"}",
        .summary = "web is down",
        .message = "connection refused\nsecond line",
        .suppressed = "depends on router",
        .starts_ms = DAY0 + 1000,
        .updated_ms = DAY0 + 1000,
        .ends_ms = DAY0 + 300000,
    };
    write_alerts(f, &a, 1);
    assert_int_equal(store_alert_get(f->s, 7, &got, &err), 0);
    assert_alert_equal(&got, &a);

    /* The same id again replaces the whole row: a field set before and
     * NULL now reads NULL. */
    a.state = STORE_ALERT_ACKED;
    a.suppressed = NULL;
    a.summary = "web is still down";
    a.updated_ms = DAY0 + 5000;
    a.acked_ms = DAY0 + 4000;
    a.acked_by = "alice";
    a.review = STORE_REVIEW_ACTIONABLE;
    a.review_by = "bob";
    a.reviewed_ms = DAY0 + 6000;
    a.fingerprint = UINT64_MAX;
    a.ends_ms = 0;
    write_alerts(f, &a, 1);
    assert_int_equal(store_alert_get(f->s, 7, &got, &err), 0);
    assert_alert_equal(&got, &a);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM alerts"), 1);
    assert_int_equal(sql_int(f, "SELECT fingerprint = 'ffffffffffffffff' FROM alerts"), 1);

    /* Strings live in the store's scratch: the next get replaces them but
     * the first get's values were copies, not the statement's. */
    a.fingerprint = FP_TOP;
    a.id = 8;
    a.acked_by = NULL;
    write_alerts(f, &a, 1);
    assert_int_equal(store_alert_get(f->s, 8, &got, &err), 0);
    assert_true(got.fingerprint == FP_TOP);
    assert_null(got.acked_by);
    assert_int_equal(store_alerts(f->s, &(struct store_alert_filter){ 0 }, alert_ids_cb, &c, &err),
                     2);
    assert_ids(&c, 2, (int64_t)8, (int64_t)7);
    /* still readable after another call ran */
    assert_string_equal(got.labels_json, a.labels_json);

    /* A value larger than a database page is handed out by SQLite in a
     * buffer its statement frees on reset: what the caller reads must be
     * the store's copy (ASan would see the difference). */
    {
        char *big = malloc(10001);

        assert_non_null(big);
        memset(big, 'L', 10000);
        big[10000] = '\0';
        a.id = 9;
        a.labels_json = big;
        write_alerts(f, &a, 1);
        assert_int_equal(store_alert_get(f->s, 9, &got, &err), 0);
        assert_int_equal(strlen(got.labels_json), 10000);
        assert_true(got.labels_json != big);
        free(big);
    }

    /* Missing ids: -ENOENT and ret untouched. */
    memset(&sentinel, 0x5a, sizeof(sentinel));
    got = sentinel;
    assert_int_equal(store_alert_get(f->s, 99, &got, &err), -ENOENT);
    assert_int_equal(store_alert_get(f->s, 0, &got, &err), -ENOENT);
    assert_int_equal(store_alert_get(f->s, 7, NULL, &err), -EINVAL);
    assert_memory_equal(&got, &sentinel, sizeof(got));
}

static void test_notification_idempotent(void **state)
{
    struct fixture *f = *state;
    struct opsd_error err = { 0 };
    struct store_batch b = { 0 };
    struct store_notification n;
    struct ids c = { 0 };
    int64_t max = -1;

    open_store(f);
    n = mk_notif(1, "grp:ops-slack:1", "12,13", DAY0);
    n.payload_json = "{\"first\":true}";
    write_notifs(f, &n, 1);

    /* A replay with the same key, whether under the same id or a new one,
     * leaves the first row as it was. */
    n.payload_json = "{\"second\":true}";
    n.alert_ids = "99";
    n.receiver = "pager";
    write_notifs(f, &n, 1);
    n.id = 2;
    write_notifs(f, &n, 1);

    assert_int_equal(sql_int(f, "SELECT count(*) FROM notifications"), 1);
    assert_int_equal(store_notifications(f->s, &(struct store_notification_filter){ 0 },
                                         notif_keep_cb, NULL, &err),
                     1);
    assert_int_equal(notif_copy.id, 1);
    assert_string_equal(notif_payload, "{\"first\":true}");
    /* Nor did the replay link itself to alert 99. */
    assert_int_equal(store_notifications(f->s,
                                         &(struct store_notification_filter){ .alert_id = 99 },
                                         notif_ids_cb, &c, &err),
                     0);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM notification_alerts"), 2);
    assert_int_equal(store_notification_max_id(f->s, &max, &err), 0);
    assert_int_equal(max, 1);

    /* A new key under a taken id is a caller bug, and refused. */
    n = mk_notif(1, "another key", NULL, DAY0);
    store_batch_add_notification(&b, &n);
    assert_int_equal(store_write(f->s, &b, &err), -EINVAL);
    store_batch_clear(&b);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM notifications"), 1);
}

struct attempt_collect {
    struct store_notif_attempt a[16];
    char error[16][32];
    int n;
};

static int attempt_cb(const struct store_notif_attempt *a, void *userdata)
{
    struct attempt_collect *c = userdata;

    assert_true(c->n < 16);
    c->a[c->n] = *a;
    snprintf(c->error[c->n], sizeof(c->error[0]), "%s", a->error ? a->error : "(null)");
    c->a[c->n].error = c->error[c->n];
    c->n++;
    return 0;
}

static void test_notification_update_attempts(void **state)
{
    struct fixture *f = *state;
    struct opsd_error err = { 0 };
    struct store_batch b = { 0 };
    struct store_notification n = mk_notif(5, "k5", "1", DAY0);
    struct store_notif_update u = {
        .id = 5,
        .state = STORE_NOTIF_PENDING,
        .attempts = 2,
        .next_attempt_ms = DAY0 + 8000,
        .last_attempt_ms = DAY0 + 3000,
        .last_error = "HTTP 502",
    };
    struct store_notif_attempt at[3] = {
        { 5, DAY0 + 3000, false, 502, 1200, "HTTP 502" },
        { 5, DAY0 + 1000, false, 0, 10000, "connection refused" },
        { 5, DAY0 + 9000, true, 200, 800, NULL },
    };
    struct attempt_collect c = { 0 };

    open_store(f);
    /* Insert, update and the attempts so far in one batch: the update and
     * the attempts find the row written before them. */
    store_batch_add_notification(&b, &n);
    store_batch_update_notification(&b, &u);
    store_batch_add_notif_attempt(&b, &at[0]);
    store_batch_add_notif_attempt(&b, &at[1]);
    write_batch(f, &b);
    assert_int_equal(store_notifications(f->s, &(struct store_notification_filter){ 0 },
                                         notif_keep_cb, NULL, &err),
                     1);
    assert_int_equal(notif_copy.state, STORE_NOTIF_PENDING);
    assert_int_equal(notif_copy.attempts, 2);
    assert_int_equal(notif_copy.next_attempt_ms, DAY0 + 8000);
    assert_int_equal(notif_copy.last_attempt_ms, DAY0 + 3000);
    assert_int_equal(notif_copy.done_ms, 0);
    assert_string_equal(notif_error, "HTTP 502");
    assert_int_equal(notif_copy.created_ms, DAY0);

    /* Delivered on the third try. */
    u = (struct store_notif_update){
        5, STORE_NOTIF_DELIVERED, 3, 0, DAY0 + 9000, DAY0 + 9000, NULL
    };
    store_batch_update_notification(&b, &u);
    store_batch_add_notif_attempt(&b, &at[2]);
    /* An update of an id never stored changes nothing and fails nothing. */
    u.id = 77;
    store_batch_update_notification(&b, &u);
    write_batch(f, &b);
    assert_int_equal(store_notifications(f->s, &(struct store_notification_filter){ 0 },
                                         notif_keep_cb, NULL, &err),
                     1);
    assert_int_equal(notif_copy.state, STORE_NOTIF_DELIVERED);
    assert_int_equal(notif_copy.attempts, 3);
    assert_int_equal(notif_copy.done_ms, DAY0 + 9000);
    assert_string_equal(notif_error, "(null)");

    /* Oldest first, whatever order they were written in. */
    assert_int_equal(store_notif_attempts(f->s, 5, attempt_cb, &c, &err), 3);
    assert_int_equal(c.a[0].ts_ms, DAY0 + 1000);
    assert_false(c.a[0].ok);
    assert_int_equal(c.a[0].http_status, 0);
    assert_int_equal(c.a[0].took_us, 10000);
    assert_string_equal(c.error[0], "connection refused");
    assert_int_equal(c.a[1].ts_ms, DAY0 + 3000);
    assert_int_equal(c.a[1].http_status, 502);
    assert_int_equal(c.a[2].ts_ms, DAY0 + 9000);
    assert_true(c.a[2].ok);
    assert_int_equal(c.a[2].http_status, 200);
    assert_string_equal(c.error[2], "(null)");
    assert_int_equal(c.a[2].notification_id, 5);
    memset(&c, 0, sizeof(c));
    assert_int_equal(store_notif_attempts(f->s, 6, attempt_cb, &c, &err), 0);
    assert_int_equal(store_notif_attempts(f->s, 5, NULL, &c, &err), -EINVAL);

    /* One by id: the same row the list gave; an unknown id is -ENOENT. */
    memset(&notif_copy, 0, sizeof(notif_copy));
    assert_int_equal(store_notification_get(f->s, 5, notif_keep_cb, NULL, &err), 1);
    assert_int_equal(notif_copy.id, 5);
    assert_int_equal(notif_copy.state, STORE_NOTIF_DELIVERED);
    assert_int_equal(notif_copy.attempts, 3);
    assert_int_equal(store_notification_get(f->s, 77, notif_keep_cb, NULL, &err), -ENOENT);
    assert_int_equal(store_notification_get(f->s, 0, notif_keep_cb, NULL, &err), -ENOENT);
    assert_int_equal(store_notification_get(f->s, 5, NULL, NULL, &err), -EINVAL);
}

static void test_alert_filters(void **state)
{
    struct fixture *f = *state;
    struct opsd_error err = { 0 };
    struct store_alert as[] = {
        mk_alert(1, "web", STORE_ALERT_RESOLVED, DAY0 + 1000),
        mk_alert(2, "db", STORE_ALERT_FIRING, DAY0 + 2000),
        mk_alert(3, "web", STORE_ALERT_ACKED, DAY0 + 3000),
        mk_alert(4, NULL, STORE_ALERT_SILENCED, DAY0 + 4000),
        mk_alert(5, "web", STORE_ALERT_FIRING, DAY0 + 5000),
        mk_alert(6, "db", STORE_ALERT_RESOLVED, DAY0 + 6000),
    };
    struct ids c;

#define ALERTS(...)                                                                                \
    (memset(&c, 0, sizeof(c)),                                                                     \
     store_alerts(f->s, &(struct store_alert_filter){ __VA_ARGS__ }, alert_ids_cb, &c, &err))

    open_store(f);
    write_alerts(f, as, ARRAY_SIZE(as));

    assert_int_equal(ALERTS(0), 6); /* newest (by id) first */
    assert_ids(&c, 6, (int64_t)6, (int64_t)5, (int64_t)4, (int64_t)3, (int64_t)2, (int64_t)1);
    assert_int_equal(ALERTS(.state = STORE_ALERT_RESOLVED), 2);
    assert_ids(&c, 2, (int64_t)6, (int64_t)1);
    assert_int_equal(ALERTS(.state = STORE_ALERT_FIRING), 2);
    assert_ids(&c, 2, (int64_t)5, (int64_t)2);
    assert_int_equal(ALERTS(.open_only = true), 4);
    assert_ids(&c, 4, (int64_t)5, (int64_t)4, (int64_t)3, (int64_t)2);
    assert_int_equal(ALERTS(.monitor = "web"), 3);
    assert_ids(&c, 3, (int64_t)5, (int64_t)3, (int64_t)1);
    assert_int_equal(ALERTS(.monitor = "web", .open_only = true), 2);
    assert_ids(&c, 2, (int64_t)5, (int64_t)3);
    assert_int_equal(ALERTS(.monitor = "web", .open_only = true, .state = STORE_ALERT_ACKED), 1);
    assert_ids(&c, 1, (int64_t)3);
    assert_int_equal(ALERTS(.monitor = "nosuch"), 0);
    /* since <= starts_ms < until */
    assert_int_equal(ALERTS(.since_ms = DAY0 + 2000, .until_ms = DAY0 + 5000), 3);
    assert_ids(&c, 3, (int64_t)4, (int64_t)3, (int64_t)2);
    assert_int_equal(ALERTS(.since_ms = DAY0 + 5000), 2);
    assert_ids(&c, 2, (int64_t)6, (int64_t)5);
    assert_int_equal(ALERTS(.until_ms = DAY0 + 2000), 1);
    assert_ids(&c, 1, (int64_t)1);
    assert_int_equal(ALERTS(.since_ms = DAY0 + 3000, .until_ms = DAY0 + 3000), 0);
    assert_int_equal(ALERTS(.since_ms = DAY0 + 3001, .until_ms = DAY0 + 3000), -EINVAL);
    assert_int_equal(ALERTS(.limit = 2), 2);
    assert_ids(&c, 2, (int64_t)6, (int64_t)5);
    assert_int_equal(ALERTS(.limit = 2, .open_only = true, .monitor = "db"), 1);
    assert_ids(&c, 1, (int64_t)2);
    assert_int_equal(ALERTS(.state = 9), -EINVAL);
    /* A callback returning 1 stops the walk; the count is what it saw. */
    memset(&c, 0, sizeof(c));
    c.stop_after = 3;
    assert_int_equal(store_alerts(f->s, &(struct store_alert_filter){ 0 }, alert_ids_cb, &c, &err),
                     3);
    assert_int_equal(store_alerts(f->s, NULL, alert_ids_cb, &c, &err), -EINVAL);
#undef ALERTS
}

static void test_notification_filters(void **state)
{
    struct fixture *f = *state;
    struct opsd_error err = { 0 };
    struct store_notification ns[] = {
        mk_notif(1, "k1", "12,13", DAY0 + 1000),
        mk_notif(2, "k2", "112", DAY0 + 2000),
        mk_notif(3, "k3", "5,112,120", DAY0 + 3000),
        mk_notif(4, "k4", "12", DAY0 + 4000),
        mk_notif(5, "k5", NULL, DAY0 + 5000),
        mk_notif(6, "k6", "1212,212,121", DAY0 + 500), /* created before the others */
    };
    struct store_batch b = { 0 };
    struct ids c;

#define NOTIFS(...)                                                                                \
    (memset(&c, 0, sizeof(c)),                                                                     \
     store_notifications(f->s, &(struct store_notification_filter){ __VA_ARGS__ }, notif_ids_cb,   \
                         &c, &err))

    open_store(f);
    ns[1].state = STORE_NOTIF_DELIVERED;
    ns[3].state = STORE_NOTIF_FAILED;
    write_notifs(f, ns, ARRAY_SIZE(ns));

    /* By creation time, newest first unless asked for the oldest. */
    assert_int_equal(NOTIFS(0), 6);
    assert_ids(&c, 6, (int64_t)5, (int64_t)4, (int64_t)3, (int64_t)2, (int64_t)1, (int64_t)6);
    assert_int_equal(NOTIFS(.oldest_first = true), 6);
    assert_ids(&c, 6, (int64_t)6, (int64_t)1, (int64_t)2, (int64_t)3, (int64_t)4, (int64_t)5);
    assert_int_equal(NOTIFS(.state = STORE_NOTIF_PENDING, .oldest_first = true), 4);
    assert_ids(&c, 4, (int64_t)6, (int64_t)1, (int64_t)3, (int64_t)5);
    assert_int_equal(NOTIFS(.state = STORE_NOTIF_DELIVERED), 1);
    assert_ids(&c, 1, (int64_t)2);
    /* Alert 12 is in "12,13" and "12", not in "112", "5,112,120" or
     * "1212,212,121". */
    assert_int_equal(NOTIFS(.alert_id = 12), 2);
    assert_ids(&c, 2, (int64_t)4, (int64_t)1);
    assert_int_equal(NOTIFS(.alert_id = 12, .oldest_first = true), 2);
    assert_ids(&c, 2, (int64_t)1, (int64_t)4);
    assert_int_equal(NOTIFS(.alert_id = 112), 2);
    assert_ids(&c, 2, (int64_t)3, (int64_t)2);
    assert_int_equal(NOTIFS(.alert_id = 13), 1);
    assert_int_equal(NOTIFS(.alert_id = 120), 1);
    assert_int_equal(NOTIFS(.alert_id = 1), 0);
    assert_int_equal(NOTIFS(.alert_id = 21), 0);
    assert_int_equal(NOTIFS(.alert_id = 12, .state = STORE_NOTIF_FAILED), 1);
    assert_ids(&c, 1, (int64_t)4);
    assert_int_equal(NOTIFS(.alert_id = 112, .state = STORE_NOTIF_PENDING, .oldest_first = true),
                     1);
    assert_ids(&c, 1, (int64_t)3);
    assert_int_equal(NOTIFS(.since_ms = DAY0 + 3000), 3);
    assert_ids(&c, 3, (int64_t)5, (int64_t)4, (int64_t)3);
    assert_int_equal(NOTIFS(.since_ms = DAY0 + 3000, .alert_id = 12), 1);
    assert_int_equal(NOTIFS(.limit = 2, .oldest_first = true), 2);
    assert_ids(&c, 2, (int64_t)6, (int64_t)1);
    assert_int_equal(NOTIFS(.limit = 1, .state = STORE_NOTIF_PENDING), 1);
    assert_ids(&c, 1, (int64_t)5);
    assert_int_equal(NOTIFS(.state = 4), -EINVAL);
    assert_int_equal(NOTIFS(.alert_id = -1), -EINVAL);
#undef NOTIFS

    /* Malformed alert id lists are refused before anything is written. */
    {
        static const char *const bad[] = { "12,,13", "012", " 12", "12,",
                                           ",12",    "-3",  "1x",  "99999999999999999999" };
        size_t i;

        for (i = 0; i < ARRAY_SIZE(bad); i++) {
            struct store_notification n = mk_notif(100 + (int64_t)i, "bad", bad[i], DAY0);

            store_batch_add_notification(&b, &n);
            assert_int_equal(store_write(f->s, &b, &err), -EINVAL);
            assert_non_null(strstr(err.msg, "alert ids"));
            store_batch_clear(&b);
        }
    }
    assert_int_equal(sql_int(f, "SELECT count(*) FROM notifications"), 6);
}

static void test_max_ids(void **state)
{
    struct fixture *f = *state;
    struct opsd_error err = { 0 };
    struct store_alert as[] = { mk_alert(41, "web", STORE_ALERT_FIRING, DAY0),
                                mk_alert(3, "web", STORE_ALERT_FIRING, DAY0) };
    struct store_notification ns[] = { mk_notif(9, "a", "41", DAY0), mk_notif(17, "b", "3", DAY0) };
    int64_t id = -1;

    open_store(f);
    assert_int_equal(store_alert_max_id(f->s, &id, &err), 0);
    assert_int_equal(id, 0);
    id = -1;
    assert_int_equal(store_notification_max_id(f->s, &id, &err), 0);
    assert_int_equal(id, 0);
    write_alerts(f, as, ARRAY_SIZE(as));
    write_notifs(f, ns, ARRAY_SIZE(ns));
    assert_int_equal(store_alert_max_id(f->s, &id, &err), 0);
    assert_int_equal(id, 41);
    assert_int_equal(store_notification_max_id(f->s, &id, &err), 0);
    assert_int_equal(id, 17);

    /* Failures leave *ret_id alone: a bad argument, and the database
     * itself failing (its table gone under it). */
    id = -7;
    assert_int_equal(store_alert_max_id(NULL, &id, &err), -EINVAL);
    assert_int_equal(store_alert_max_id(f->s, NULL, &err), -EINVAL);
    sql_exec(f, "DROP TABLE alerts");
    assert_int_equal(store_alert_max_id(f->s, &id, &err), -EIO);
    assert_int_equal(id, -7);
}

struct silence_collect {
    struct store_silence si[8];
    int n;
};

static int silence_keep_cb(const struct store_silence *si, void *userdata)
{
    struct silence_collect *c = userdata;

    assert_true(c->n < 8);
    c->si[c->n] = *si;
    c->si[c->n].matchers_json = NULL; /* not kept: the walk's strings end with it */
    c->si[c->n].author = NULL;
    c->si[c->n].comment = NULL;
    c->n++;
    return 0;
}

static int silence_check_strings_cb(const struct store_silence *si, void *userdata)
{
    (void)userdata;
    if (si->id == 1) {
        assert_string_equal(si->matchers_json,
                            "[{\"name\":\"monitor\",\"op\":\"=\",\"value\":\"web\"}]");
        assert_string_equal(si->author, "alice");
        assert_string_equal(si->comment, "deploy");
    } else {
        assert_null(si->author);
        assert_null(si->comment);
    }
    return 0;
}

static void test_silences(void **state)
{
    struct fixture *f = *state;
    struct opsd_error err = { 0 };
    struct store_silence si = {
        .matchers_json = "[{\"name\":\"monitor\",\"op\":\"=\",\"value\":\"web\"}]",
        .starts_ms = DAY0,
        .ends_ms = DAY0 + HOUR_MS,
        .author = "alice",
        .comment = "deploy",
        .created_ms = DAY0 - 1000,
    };
    struct silence_collect c = { 0 };
    struct ids ids = { 0 };
    int64_t id1 = -1, id2 = -1, id = -5;

    open_store(f);
    assert_int_equal(store_silence_add(f->s, &si, &id1, &err), 0);
    si.id = 999; /* ignored on insert */
    si.author = NULL;
    si.comment = NULL;
    si.matchers_json = "[]";
    si.ends_ms = DAY0 + 2 * HOUR_MS;
    assert_int_equal(store_silence_add(f->s, &si, &id2, &err), 0);
    assert_int_equal(id1, 1);
    assert_int_equal(id2, 2);
    /* Durable when the call returns: committed, seen by another connection. */
    assert_int_equal(sql_int(f, "SELECT count(*) FROM silences"), 2);

    assert_int_equal(store_silences(f->s, 0, silence_keep_cb, &c, &err), 2);
    assert_int_equal(c.si[0].id, 1);
    assert_int_equal(c.si[0].starts_ms, DAY0);
    assert_int_equal(c.si[0].ends_ms, DAY0 + HOUR_MS);
    assert_int_equal(c.si[0].created_ms, DAY0 - 1000);
    assert_int_equal(c.si[0].expired_ms, 0);
    assert_int_equal(c.si[1].id, 2);
    assert_int_equal(store_silences(f->s, 0, silence_check_strings_cb, NULL, &err), 2);

    /* Expired early by hand: ends then, and says when. */
    assert_int_equal(store_silence_expire(f->s, id1, DAY0 + 600000, &err), 0);
    memset(&c, 0, sizeof(c));
    assert_int_equal(store_silences(f->s, 0, silence_keep_cb, &c, &err), 2);
    assert_int_equal(c.si[0].expired_ms, DAY0 + 600000);
    assert_int_equal(c.si[0].ends_ms, DAY0 + 600000);
    assert_int_equal(c.si[1].expired_ms, 0);
    assert_int_equal(store_silence_expire(f->s, id1, DAY0 + 700000, &err), -EALREADY);
    assert_int_equal(store_silence_expire(f->s, id1, DAY0 + 600000, &err), -EALREADY);
    /* Over by itself already. */
    assert_int_equal(store_silence_expire(f->s, id2, DAY0 + 2 * HOUR_MS, &err), -EALREADY);
    assert_int_equal(store_silence_expire(f->s, 999, DAY0, &err), -ENOENT);
    assert_int_equal(store_silence_expire(f->s, id2, 0, &err), -EINVAL);

    /* since: those ending after it. */
    assert_int_equal(store_silences(f->s, DAY0 + 600000, silence_ids_cb, &ids, &err), 1);
    assert_ids(&ids, 1, id2);
    memset(&ids, 0, sizeof(ids));
    assert_int_equal(store_silences(f->s, DAY0 + 599999, silence_ids_cb, &ids, &err), 2);
    memset(&ids, 0, sizeof(ids));
    assert_int_equal(store_silences(f->s, DAY0 + 2 * HOUR_MS, silence_ids_cb, &ids, &err), 0);

    /* Refused, *ret_id untouched. */
    si.ends_ms = si.starts_ms;
    assert_int_equal(store_silence_add(f->s, &si, &id, &err), -EINVAL);
    si.ends_ms = si.starts_ms + 1;
    si.matchers_json = NULL;
    assert_int_equal(store_silence_add(f->s, &si, &id, &err), -EINVAL);
    si.matchers_json = "";
    assert_int_equal(store_silence_add(f->s, &si, &id, &err), -EINVAL);
    assert_int_equal(id, -5);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM silences"), 2);
}

/* A review is a durable write beside the engine's batches: any state,
 * the latest wins, and the engine's older copy of the row never undoes it. */
static void test_alert_review(void **state)
{
    struct fixture *f = *state;
    struct opsd_error err = { 0 };
    struct store_alert as[] = {
        mk_alert(1, "web", STORE_ALERT_FIRING, DAY0),
        mk_alert(2, "db", STORE_ALERT_RESOLVED, DAY0 + 1000),
    };
    struct store_review rv = {
        .review = STORE_REVIEW_FALSE_POSITIVE,
        .by = "alice",
        .comment = "threshold too tight",
        .at_ms = DAY0 + 5000,
    };
    struct store_alert got;
    char big[STORE_MAX_REVIEW_COMMENT + 2];

    open_store(f);
    write_alerts(f, as, ARRAY_SIZE(as));

    assert_int_equal(store_alert_set_review(f->s, 1, &rv, &err), 0);
    /* Durable when the call returns: committed, seen by another connection. */
    assert_int_equal(sql_int(f, "SELECT review FROM alerts WHERE id = 1"), 2);
    assert_int_equal(store_alert_get(f->s, 1, &got, &err), 0);
    assert_int_equal(got.review, STORE_REVIEW_FALSE_POSITIVE);
    assert_string_equal(got.review_by, "alice");
    assert_string_equal(got.review_comment, "threshold too tight");
    assert_int_equal(got.reviewed_ms, DAY0 + 5000);
    /* The rest of the row is left alone. */
    assert_int_equal(got.state, STORE_ALERT_FIRING);
    assert_string_equal(got.summary, "down");

    /* A resolved alert can be reviewed too, without a comment. */
    rv.review = STORE_REVIEW_ACTIONABLE;
    rv.by = "bob";
    rv.comment = NULL;
    rv.at_ms = DAY0 + 6000;
    assert_int_equal(store_alert_set_review(f->s, 2, &rv, &err), 0);
    assert_int_equal(store_alert_get(f->s, 2, &got, &err), 0);
    assert_int_equal(got.review, STORE_REVIEW_ACTIONABLE);
    assert_string_equal(got.review_by, "bob");
    assert_null(got.review_comment);
    assert_int_equal(got.state, STORE_ALERT_RESOLVED);

    /* Re-reviewed: the second verdict replaces the first, comment too. */
    rv.at_ms = DAY0 + 7000;
    assert_int_equal(store_alert_set_review(f->s, 1, &rv, &err), 0);
    assert_int_equal(store_alert_get(f->s, 1, &got, &err), 0);
    assert_int_equal(got.review, STORE_REVIEW_ACTIONABLE);
    assert_string_equal(got.review_by, "bob");
    assert_null(got.review_comment);
    assert_int_equal(got.reviewed_ms, DAY0 + 7000);

    /* The engine upserts from its copy, which has not seen the review (or
     * saw the same one): the stored review stays. */
    as[0].state = STORE_ALERT_ACKED;
    as[0].acked_ms = DAY0 + 8000;
    write_alerts(f, as, 1);
    assert_int_equal(store_alert_get(f->s, 1, &got, &err), 0);
    assert_int_equal(got.state, STORE_ALERT_ACKED);
    assert_int_equal(got.review, STORE_REVIEW_ACTIONABLE);
    assert_string_equal(got.review_by, "bob");
    assert_int_equal(got.reviewed_ms, DAY0 + 7000);
    as[0].review = STORE_REVIEW_FALSE_POSITIVE;
    as[0].review_by = "stale";
    as[0].reviewed_ms = DAY0 + 7000; /* the same time: not newer */
    write_alerts(f, as, 1);
    assert_int_equal(store_alert_get(f->s, 1, &got, &err), 0);
    assert_int_equal(got.review, STORE_REVIEW_ACTIONABLE);
    assert_string_equal(got.review_by, "bob");
    /* A row that carries a newer review does replace it. */
    as[0].reviewed_ms = DAY0 + 9000;
    as[0].review_comment = "newer";
    write_alerts(f, as, 1);
    assert_int_equal(store_alert_get(f->s, 1, &got, &err), 0);
    assert_int_equal(got.review, STORE_REVIEW_FALSE_POSITIVE);
    assert_string_equal(got.review_by, "stale");
    assert_string_equal(got.review_comment, "newer");
    assert_int_equal(got.reviewed_ms, DAY0 + 9000);

    /* Refused: unknown alert, bad review, missing reviewer, long comment,
     * no time. Nothing changes. */
    assert_int_equal(store_alert_set_review(f->s, 3, &rv, &err), -ENOENT);
    assert_int_equal(store_alert_set_review(f->s, 0, &rv, &err), -ENOENT);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM alerts"), 2);
    rv.review = STORE_REVIEW_NONE;
    assert_int_equal(store_alert_set_review(f->s, 2, &rv, &err), -EINVAL);
    rv.review = 3;
    assert_int_equal(store_alert_set_review(f->s, 2, &rv, &err), -EINVAL);
    rv.review = STORE_REVIEW_FALSE_POSITIVE;
    rv.by = NULL;
    assert_int_equal(store_alert_set_review(f->s, 2, &rv, &err), -EINVAL);
    rv.by = "";
    assert_int_equal(store_alert_set_review(f->s, 2, &rv, &err), -EINVAL);
    rv.by = "carol";
    memset(big, 'c', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    rv.comment = big;
    assert_int_equal(store_alert_set_review(f->s, 2, &rv, &err), -EINVAL);
    big[STORE_MAX_REVIEW_COMMENT] = '\0'; /* at the cap: fine */
    rv.at_ms = 0;
    assert_int_equal(store_alert_set_review(f->s, 2, &rv, &err), -EINVAL);
    assert_int_equal(store_alert_set_review(NULL, 2, &rv, &err), -EINVAL);
    assert_int_equal(store_alert_set_review(f->s, 2, NULL, &err), -EINVAL);
    assert_int_equal(store_alert_get(f->s, 2, &got, &err), 0);
    assert_int_equal(got.review, STORE_REVIEW_ACTIONABLE);
    assert_string_equal(got.review_by, "bob");
    rv.at_ms = DAY0 + 10000;
    assert_int_equal(store_alert_set_review(f->s, 2, &rv, &err), 0);
    assert_int_equal(store_alert_get(f->s, 2, &got, &err), 0);
    assert_int_equal(strlen(got.review_comment), STORE_MAX_REVIEW_COMMENT);
}

struct timing_collect {
    struct store_alert_timing t[16];
    int n;
    int stop_after; /* 0: never */
};

static int timing_cb(const struct store_alert_timing *t, void *userdata)
{
    struct timing_collect *c = userdata;

    assert_true(c->n < 16);
    c->t[c->n++] = *t;
    return c->stop_after && c->n == c->stop_after ? 1 : 0;
}

static int timing_fail_cb(const struct store_alert_timing *t, void *userdata)
{
    (void)t;
    (void)userdata;
    return -ECANCELED;
}

static void test_alert_timings(void **state)
{
    struct fixture *f = *state;
    struct opsd_error err = { 0 };
    /* Ids out of start order (an inbound alert's start is its source's). */
    struct store_alert as[] = {
        mk_alert(1, "web", STORE_ALERT_RESOLVED, DAY0 + 3000),
        mk_alert(2, "db", STORE_ALERT_ACKED, DAY0 + 1000),
        mk_alert(3, NULL, STORE_ALERT_FIRING, DAY0 + 2000),
        mk_alert(4, "web", STORE_ALERT_FIRING, DAY0 + 2000),
        mk_alert(5, "web", STORE_ALERT_FIRING, DAY0 + 9000),
    };
    struct store_review rv = { STORE_REVIEW_FALSE_POSITIVE, "alice", NULL, DAY0 + 20000 };
    struct timing_collect c = { 0 };

    as[0].severity = 1;
    as[0].acked_ms = DAY0 + 3500;
    as[1].acked_ms = DAY0 + 1700;
    as[2].severity = 4;
    open_store(f);
    write_alerts(f, as, ARRAY_SIZE(as));
    assert_int_equal(store_alert_set_review(f->s, 1, &rv, &err), 0);

    /* [since, until) by start, oldest first, ties by id. */
    assert_int_equal(store_alert_timings(f->s, DAY0 + 1000, DAY0 + 9000, timing_cb, &c, &err), 4);
    assert_int_equal(c.t[0].id, 2);
    assert_int_equal(c.t[1].id, 3);
    assert_int_equal(c.t[2].id, 4);
    assert_int_equal(c.t[3].id, 1);
    assert_int_equal(c.t[3].severity, 1);
    assert_int_equal(c.t[3].state, STORE_ALERT_RESOLVED);
    assert_int_equal(c.t[3].review, STORE_REVIEW_FALSE_POSITIVE);
    assert_int_equal(c.t[3].starts_ms, DAY0 + 3000);
    assert_int_equal(c.t[3].acked_ms, DAY0 + 3500);
    assert_int_equal(c.t[3].resolved_ms, DAY0 + 4000);
    assert_int_equal(c.t[0].state, STORE_ALERT_ACKED);
    assert_int_equal(c.t[0].acked_ms, DAY0 + 1700);
    assert_int_equal(c.t[0].resolved_ms, 0);
    assert_int_equal(c.t[0].review, STORE_REVIEW_NONE);
    assert_int_equal(c.t[1].severity, 4);

    /* until 0 is no bound; since is inclusive. */
    memset(&c, 0, sizeof(c));
    assert_int_equal(store_alert_timings(f->s, DAY0 + 2000, 0, timing_cb, &c, &err), 4);
    assert_int_equal(c.t[0].id, 3);
    assert_int_equal(c.t[3].id, 5);
    memset(&c, 0, sizeof(c));
    assert_int_equal(store_alert_timings(f->s, 0, 0, timing_cb, &c, &err), 5);
    /* The callback stops the walk: how many it saw, or its error. */
    memset(&c, 0, sizeof(c));
    c.stop_after = 2;
    assert_int_equal(store_alert_timings(f->s, 0, 0, timing_cb, &c, &err), 2);
    assert_int_equal(store_alert_timings(f->s, 0, 0, timing_fail_cb, NULL, &err), -ECANCELED);
    /* Empty windows, and a reversed one. */
    memset(&c, 0, sizeof(c));
    assert_int_equal(store_alert_timings(f->s, DAY0 + 1000, DAY0 + 1000, timing_cb, &c, &err), 0);
    assert_int_equal(store_alert_timings(f->s, DAY0 + 10000, 0, timing_cb, &c, &err), 0);
    assert_int_equal(c.n, 0);
    assert_int_equal(store_alert_timings(f->s, DAY0 + 2, DAY0 + 1, timing_cb, &c, &err), -EINVAL);
    assert_int_equal(store_alert_timings(f->s, 0, 0, NULL, NULL, &err), -EINVAL);
    assert_int_equal(store_alert_timings(NULL, 0, 0, timing_cb, &c, &err), -EINVAL);
    /* The window is an index range, not a scan. */
    assert_int_equal(sql_int(f, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND"
                                " name = 'alerts_starts'"),
                     1);
}

static char hash_a[65], hash_b[65], hash_c[65];

static void make_hashes(void)
{
    memset(hash_a, 'a', 64);
    memset(hash_b, 'b', 64);
    memset(hash_c, '0', 64);
    hash_c[63] = 'f';
}

static void test_tokens(void **state)
{
    struct fixture *f = *state;
    struct opsd_error err = { 0 };
    struct store_token t = {
        .name = "ci",
        .hash = hash_a,
        .prefix = "Ab3dE_9z",
        .scope = 2,
        .created_ms = DAY0,
    };
    struct store_token got, sentinel;
    struct ids ids = { 0 };
    int64_t id1 = -1, id2 = -1, id3 = -1, id = -5;
    char idbuf[24];

    make_hashes();
    open_store(f);
    assert_int_equal(store_token_add(f->s, &t, &id1, &err), 0);
    assert_true(id1 > 0);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM api_tokens"), 1); /* durable */

    assert_int_equal(store_token_find(f->s, hash_a, &got, &err), 0);
    assert_int_equal(got.id, id1);
    assert_string_equal(got.name, "ci");
    assert_string_equal(got.hash, hash_a);
    assert_string_equal(got.prefix, "Ab3dE_9z");
    assert_int_equal(got.scope, 2);
    assert_int_equal(got.created_ms, DAY0);
    assert_int_equal(got.last_used_ms, 0);
    assert_int_equal(got.revoked_ms, 0);

    /* A second live token with that name, or the same secret again. */
    t.hash = hash_b;
    assert_int_equal(store_token_add(f->s, &t, &id, &err), -EEXIST);
    assert_non_null(strstr(err.msg, "ci"));
    t.name = "deploy";
    t.hash = hash_a;
    assert_int_equal(store_token_add(f->s, &t, &id, &err), -EEXIST);
    t.hash = "not-a-hash";
    assert_int_equal(store_token_add(f->s, &t, &id, &err), -EINVAL);
    t.hash = hash_b;
    t.name = "";
    assert_int_equal(store_token_add(f->s, &t, &id, &err), -EINVAL);
    assert_int_equal(id, -5);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM api_tokens"), 1);

    /* Revoked: no longer found, and its name is free again. */
    assert_int_equal(store_token_revoke(f->s, "ci", DAY0 + 1000, &err), 0);
    memset(&sentinel, 0x5a, sizeof(sentinel));
    got = sentinel;
    assert_int_equal(store_token_find(f->s, hash_a, &got, &err), -ENOENT);
    assert_int_equal(store_token_find(f->s, "zz", &got, &err), -ENOENT);
    assert_memory_equal(&got, &sentinel, sizeof(got));
    assert_int_equal(store_token_revoke(f->s, "ci", DAY0 + 2000, &err), -ENOENT);
    t.name = "ci";
    assert_int_equal(store_token_add(f->s, &t, &id2, &err), 0);
    assert_true(id2 > id1);
    assert_int_equal(store_token_find(f->s, hash_b, &got, &err), 0);
    assert_int_equal(got.id, id2);

    /* By id, as a decimal string. */
    t.name = "backup";
    t.hash = hash_c;
    t.scope = 3;
    assert_int_equal(store_token_add(f->s, &t, &id3, &err), 0);
    snprintf(idbuf, sizeof(idbuf), "%lld", (long long)id3);
    assert_int_equal(store_token_revoke(f->s, idbuf, DAY0 + 3000, &err), 0);
    assert_int_equal(store_token_revoke(f->s, idbuf, DAY0 + 3000, &err), -ENOENT);
    assert_int_equal(store_token_revoke(f->s, "nosuch", DAY0, &err), -ENOENT);
    assert_int_equal(store_token_revoke(f->s, "ci", 0, &err), -EINVAL);

    /* Listing shows revoked ones too, oldest first. */
    assert_int_equal(store_tokens(f->s, token_ids_cb, &ids, &err), 3);
    assert_ids(&ids, 3, id1, id2, id3);
    assert_int_equal(
        sql_intf(f, "SELECT revoked_ms FROM api_tokens WHERE id = %lld", (long long)id1),
        DAY0 + 1000);
    assert_int_equal(
        sql_intf(f, "SELECT revoked_ms FROM api_tokens WHERE id = %lld", (long long)id3),
        DAY0 + 3000);
    assert_int_equal(
        sql_intf(f, "SELECT revoked_ms FROM api_tokens WHERE id = %lld", (long long)id2), 0);
}

/* One transaction for everything in a batch: a bad result takes the
 * alerts, notifications and attempts down with it. */
static void test_outbox_atomic(void **state)
{
    struct fixture *f = *state;
    struct opsd_error err = { 0 };
    struct store_batch b = { 0 };
    struct store_alert a = mk_alert(1, "web", STORE_ALERT_FIRING, DAY0);
    struct store_notification n = mk_notif(1, "k1", "1", DAY0);
    struct store_notif_attempt at = { 1, DAY0 + 10, false, 500, 100, "HTTP 500" };
    struct store_notif_update u = { 1, STORE_NOTIF_PENDING, 1, DAY0 + 1000, DAY0 + 10, 0, "x" };
    struct store_result r;
    char *big = malloc(OPSD_MAX_ALERT_JSON + 2);
    int64_t web;

    assert_non_null(big);
    open_store(f);
    web = ensure(f, "web");

#define COUNT_OUTBOX                                                                               \
    "SELECT (SELECT count(*) FROM alerts) + (SELECT count(*) FROM notifications) + (SELECT"        \
    " count(*) FROM notification_alerts) + (SELECT count(*) FROM notif_attempts)"

    /* The database refuses the result (an unknown monitor): a failure in
     * the middle of the transaction, after the alert rows were sent. */
    store_batch_put_alert(&b, &a);
    store_batch_add_notification(&b, &n);
    store_batch_update_notification(&b, &u);
    store_batch_add_notif_attempt(&b, &at);
    r = mk_result(web + 99, DAY0, true, 10);
    store_batch_add_result(&b, &r);
    assert_int_equal(store_write(f->s, &b, &err), -EINVAL);
    assert_int_equal(sql_int(f, COUNT_OUTBOX), 0);
    store_batch_clear(&b);

    /* store.c refuses the result before any SQL runs. */
    store_batch_put_alert(&b, &a);
    store_batch_add_notification(&b, &n);
    r = mk_result(web, DAY0, true, STORE_NO_VALUE);
    store_batch_add_result(&b, &r);
    assert_int_equal(store_write(f->s, &b, &err), -EINVAL);
    store_batch_clear(&b);

    /* ... and any bad outbox row fails the results with it. */
    static const struct {
        const char *what;
        int state, review;
        int64_t id;
    } bad_alerts[] = {
        { "state", 9, 0, 2 },
        { "state", 0, 0, 2 },
        { "review", 1, 3, 2 },
        { "id", 1, 0, 0 },
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad_alerts); i++) {
        struct store_alert bad = mk_alert(bad_alerts[i].id, "web", bad_alerts[i].state, DAY0);

        bad.review = bad_alerts[i].review;
        r = mk_result(web, DAY0, true, 10);
        store_batch_add_result(&b, &r);
        store_batch_put_alert(&b, &bad);
        assert_int_equal(store_write(f->s, &b, &err), -EINVAL);
        assert_non_null(strstr(err.msg, bad_alerts[i].what));
        store_batch_clear(&b);
    }
    memset(big, 'x', OPSD_MAX_ALERT_JSON + 1);
    big[OPSD_MAX_ALERT_JSON + 1] = '\0';
    a.labels_json = big;
    store_batch_put_alert(&b, &a);
    assert_int_equal(store_write(f->s, &b, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "labels"));
    store_batch_clear(&b);
    a.labels_json = "{}";
    big[OPSD_MAX_NAME + 1] = '\0';
    a.monitor = big;
    store_batch_put_alert(&b, &a);
    assert_int_equal(store_write(f->s, &b, &err), -EINVAL);
    store_batch_clear(&b);
    a.monitor = "web";
    n.idempotency_key = "";
    store_batch_add_notification(&b, &n);
    assert_int_equal(store_write(f->s, &b, &err), -EINVAL);
    store_batch_clear(&b);
    n.idempotency_key = "k1";
    n.receiver = NULL;
    store_batch_add_notification(&b, &n);
    assert_int_equal(store_write(f->s, &b, &err), -EINVAL);
    store_batch_clear(&b);
    n.receiver = "ops";
    at.notification_id = 0;
    store_batch_add_notif_attempt(&b, &at);
    assert_int_equal(store_write(f->s, &b, &err), -EINVAL);
    store_batch_clear(&b);
    at.notification_id = 1;
    u.state = 0;
    store_batch_update_notification(&b, &u);
    assert_int_equal(store_write(f->s, &b, &err), -EINVAL);
    store_batch_clear(&b);
    u.state = STORE_NOTIF_PENDING;
    assert_int_equal(sql_int(f, COUNT_OUTBOX), 0);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM results"), 0);

    /* The same rows, valid, all land. */
    store_batch_put_alert(&b, &a);
    store_batch_add_notification(&b, &n);
    store_batch_update_notification(&b, &u);
    store_batch_add_notif_attempt(&b, &at);
    r = mk_result(web, DAY0, true, 10);
    store_batch_add_result(&b, &r);
    write_batch(f, &b);
    assert_int_equal(sql_int(f, COUNT_OUTBOX), 4);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM results"), 1);
    assert_int_equal(sql_int(f, "SELECT attempts FROM notifications WHERE id = 1"), 1);
#undef COUNT_OUTBOX
    free(big);
}

/* Prune leaves the alerting tables alone (weekly reviews need them). */
static void test_prune_keeps_alerts(void **state)
{
    struct fixture *f = *state;
    struct opsd_error err = { 0 };
    struct store_batch b = { 0 };
    struct store_alert a = mk_alert(1, "web", STORE_ALERT_RESOLVED, DAY0);
    struct store_notification n = mk_notif(1, "k1", "1", DAY0);
    struct store_notif_attempt at = { 1, DAY0, true, 200, 100, NULL };
    struct store_silence si = { .matchers_json = "[]", .starts_ms = DAY0, .ends_ms = DAY0 + 1 };
    struct store_result r;
    int64_t web, id;

    clock_virtual_init(&f->clock, DAY0 + 500 * DAY_MS);
    open_store(f);
    web = ensure(f, "web");
    n.state = STORE_NOTIF_DELIVERED;
    store_batch_put_alert(&b, &a);
    store_batch_add_notification(&b, &n);
    store_batch_add_notif_attempt(&b, &at);
    r = mk_result(web, DAY0, true, 10);
    store_batch_add_result(&b, &r);
    write_batch(f, &b);
    assert_int_equal(store_silence_add(f->s, &si, &id, &err), 0);

    assert_true(store_prune(f->s, DAY0 + 400 * DAY_MS, &err) >= 1);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM results"), 0);
    assert_int_equal(sql_int(f, "SELECT (SELECT count(*) FROM alerts) + (SELECT count(*) FROM"
                                " notifications) + (SELECT count(*) FROM notif_attempts) + (SELECT"
                                " count(*) FROM notification_alerts) + (SELECT count(*) FROM"
                                " silences)"),
                     5);
}

static void test_alerting_reopen(void **state)
{
    struct fixture *f = *state;
    struct opsd_error err = { 0 };
    struct store_alert a = mk_alert(3, "web", STORE_ALERT_ACKED, DAY0), got;
    struct store_notification n = mk_notif(4, "k4", "3", DAY0);
    struct store_silence si = { .matchers_json = "[]", .starts_ms = DAY0, .ends_ms = DAY0 + 10 };
    struct store_token t = { .name = "ci", .hash = hash_a, .prefix = "p", .scope = 1 };
    struct store_token tg;
    struct ids ids = { 0 };
    struct attempt_collect c = { 0 };
    struct store_notif_attempt at = { 4, DAY0, false, 503, 5, "HTTP 503" };
    struct store_batch b = { 0 };
    struct store_result r;
    int64_t id, web;
    int version;

    make_hashes();
    open_store(f);
    version = store_schema_version(f->s);
    web = ensure(f, "web");
    a.fingerprint = FP_TOP;
    a.acked_by = "alice";
    store_batch_put_alert(&b, &a);
    store_batch_add_notification(&b, &n);
    store_batch_add_notif_attempt(&b, &at);
    write_batch(f, &b);
    assert_int_equal(store_silence_add(f->s, &si, &id, &err), 0);
    assert_int_equal(store_token_add(f->s, &t, &id, &err), 0);

    reopen_store(f);
    assert_int_equal(store_schema_version(f->s), version);
    assert_int_equal(store_alert_get(f->s, 3, &got, &err), 0);
    assert_alert_equal(&got, &a);
    assert_int_equal(store_notifications(f->s, &(struct store_notification_filter){ .alert_id = 3 },
                                         notif_ids_cb, &ids, &err),
                     1);
    assert_ids(&ids, 1, (int64_t)4);
    assert_int_equal(store_notif_attempts(f->s, 4, attempt_cb, &c, &err), 1);
    assert_string_equal(c.error[0], "HTTP 503");
    memset(&ids, 0, sizeof(ids));
    assert_int_equal(store_silences(f->s, 0, silence_ids_cb, &ids, &err), 1);
    assert_int_equal(store_token_find(f->s, hash_a, &tg, &err), 0);
    assert_string_equal(tg.name, "ci");

    /* A database of the schema before alerting (5: no alerting tables)
     * gains them in the alerting migrations, keeping what it held. */
    r = mk_result(web, DAY0, true, 10);
    write_results(f, &r, 1);
    f->s = store_close(f->s);
    sql_exec(f, "DROP TABLE notification_alerts; DROP TABLE notif_attempts;"
                " DROP TABLE notifications; DROP TABLE alerts; DROP TABLE silences;"
                " DROP TABLE api_tokens;");
    sql_exec(f, "DELETE FROM schema_migrations WHERE version >= 6");
    open_store(f);
    assert_int_equal(store_schema_version(f->s), version);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM schema_migrations"), version);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND"
                                " name IN ('alerts', 'notifications', 'notification_alerts',"
                                " 'notif_attempts', 'silences', 'api_tokens')"),
                     6);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND"
                                " name IN ('notifications_state_next', 'notifications_created',"
                                " 'notif_attempts_notification', 'api_tokens_live_name')"),
                     4);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM results"), 1);
    assert_int_equal(store_alert_get(f->s, 3, &got, &err), -ENOENT);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM pragma_table_info('alerts') WHERE"
                                " name = 'review_comment'"),
                     1);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM pragma_table_info('alerts') WHERE"
                                " name = 'ends_ms'"),
                     1);
    /* The version this opsd writes: the one before alerting (5) plus the
     * alerting migration, the review's (7) and inbound alerts' ends (8). */
    assert_int_equal(version, 8);
}

/* Silences and tokens are written on the loop thread while the worker
 * writes batches: they wait their turn instead of failing busy. */
static void test_concurrent_small_writes(void **state)
{
    struct fixture *f = *state;
    struct opsd_error err = { 0 };
    struct writer_arg w = { 0 };
    struct store_silence si = { .matchers_json = "[]", .starts_ms = DAY0, .ends_ms = DAY0 + 10 };
    const char *failed = NULL;
    char name[32];
    pthread_t t;
    int64_t id;
    int i = 0;

    open_store(f);
    w.s = f->s;
    w.mon = ensure(f, "web");
    assert_int_equal(pthread_create(&t, NULL, writer_thread, &w), 0);
    while (!failed) {
        int done = __atomic_load_n(&w.done, __ATOMIC_ACQUIRE);
        char hash[65];

        snprintf(hash, sizeof(hash), "%064x", i);
        snprintf(name, sizeof(name), "t%d", i);
        if (store_silence_add(f->s, &si, &id, &err) < 0)
            failed = "store_silence_add";
        else if (store_token_add(
                     f->s,
                     &(struct store_token){ .name = name, .hash = hash, .prefix = "p", .scope = 1 },
                     &id, &err) < 0)
            failed = "store_token_add";
        else if (store_token_revoke(f->s, name, DAY0, &err) < 0)
            failed = "store_token_revoke";
        i++;
        if (done)
            break;
    }
    assert_int_equal(pthread_join(t, NULL), 0);
    if (failed)
        fail_msg("loop thread: %s: %s", failed, err.msg);
    if (w.failures)
        fail_msg("%d batches failed, last: %s", w.failures, w.err.msg);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM silences"), i);
    assert_int_equal(sql_int(f, "SELECT count(*) FROM api_tokens WHERE revoked_ms = 0"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_cases),
        cmocka_unit_test(test_plan_property),
        cmocka_unit_test(test_uptime_ratio),
        cmocka_unit_test(test_batch_helpers),
        cmocka_unit_test_setup_teardown(test_migrations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_monitor_ensure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_results_order_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uptime_vs_bruteforce, setup, teardown),
        cmocka_unit_test_setup_teardown(test_maintenance_excluded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uptime_days, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_action_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_integrity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_durability_kill9, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_write_read, setup, teardown),
        cmocka_unit_test(test_batch_helpers_alerting),
        cmocka_unit_test_setup_teardown(test_alert_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notification_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notification_update_attempts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alert_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notification_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silences, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alert_review, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alert_timings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outbox_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune_keeps_alerts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alerting_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_small_writes, setup, teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);

    printf("tests: %zu passed, %d failed\n", ARRAY_SIZE(tests) - (size_t)failed, failed);
    return failed ? 1 : 0;
}
