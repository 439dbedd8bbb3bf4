/* Unit tests for the log monitor: counting in time and line windows, lines
 * split across polls, and following a real file in a temporary directory
 * through rotation, copytruncate, deletion, replacement and restarts. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
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
#include "util/error.h"

struct fx {
    char dir[64];
    char path[128];
    char other[128];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/opsd-logwatch-XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof(f->path), "%s/app.log", f->dir);
    snprintf(f->other, sizeof(f->other), "%s/app.log.1", f->dir);
    *state = f;
    return 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    chmod(p, 0700);
    return remove(p);
}

static int teardown(void **state)
{
    struct fx *f = *state;

    chmod(f->dir, 0700);
    nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void append_n(const char *path, const char *s, size_t n)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, s, n), (ssize_t)n);
    close(fd);
}

static void append(const char *path, const char *s)
{
    append_n(path, s, strlen(s));
}

/* Writes path anew (O_TRUNC: same inode if it exists). */
static void rewrite(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, 0644);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
    close(fd);
}

/* Copies s into dst without its NUL: text inside a longer line. */
static void put(char *dst, const char *s)
{
    while (*s)
        *dst++ = *s++;
}

static struct probe_log_config base_config(const char *path)
{
    return (struct probe_log_config){
        .path = path,
        .pattern = "ERROR|FATAL",
        .window_kind = PROBE_LOG_WINDOW_TIME,
        .window = 5 * 60 * 1000,
        .max_matches = 5,
        .warn_matches = PROBE_LOG_NO_WARN,
    };
}

static struct probe_log *make(const struct probe_log_config *cfg)
{
    struct probe_log *w = NULL;
    struct opsd_error err = { 0 };

    assert_int_equal(probe_log_new(cfg, &w, &err), 0);
    assert_non_null(w);
    return w;
}

static int poll_at(struct probe_log *w, uint64_t now, struct probe_result *r)
{
    probe_result_init(r, now);
    return probe_log_poll(w, now, r);
}

static struct probe_log_stats stats(const struct probe_log *w)
{
    struct probe_log_stats st;

    probe_log_get_stats(w, &st);
    return st;
}

static void test_pattern_check(void **state)
{
    struct opsd_error err = { 0 };
    struct probe_log_config cfg = base_config("/nonexistent/x.log");
    struct probe_log *w = (struct probe_log *)&err; /* must stay untouched */

    (void)state;
    assert_int_equal(probe_log_pattern_check("ERROR|FATAL", false, &err), 0);
    assert_int_equal(probe_log_pattern_check("^[0-9]+ (WARN|ERR)", true, &err), 0);
    assert_int_equal(probe_log_pattern_check("ERROR(", false, &err), -EINVAL);
    assert_int_equal(err.code, -EINVAL);
    assert_string_equal(err.msg, "invalid pattern 'ERROR(': unmatched ( or \\(");
    assert_int_equal(probe_log_pattern_check("a[b", false, &err), -EINVAL);
    assert_string_equal(err.msg, "invalid pattern 'a[b': unmatched [, [^, [:, [., or [=");
    assert_int_equal(probe_log_pattern_check("", false, &err), -EINVAL);
    assert_string_equal(err.msg, "pattern is empty");

    cfg.pattern = "x{2,1}";
    assert_int_equal(probe_log_new(&cfg, &w, &err), -EINVAL);
    assert_string_equal(err.msg, "invalid pattern 'x{2,1}': invalid content of \\{\\}");
    assert_ptr_equal(w, (struct probe_log *)&err);
    cfg.pattern = "ERROR";
    cfg.exclude = "(";
    assert_int_equal(probe_log_new(&cfg, &w, &err), -EINVAL);
    assert_string_equal(err.msg, "invalid exclude pattern '(': unmatched ( or \\(");
    cfg.exclude = NULL;
    cfg.window = 0;
    assert_int_equal(probe_log_new(&cfg, &w, &err), -EINVAL);
    assert_string_equal(err.msg, "log window must be above 0");
    cfg.window = 10;
    cfg.warn_matches = 5;
    assert_int_equal(probe_log_new(&cfg, &w, &err), -EINVAL);
    assert_string_equal(err.msg, "warn_matches (5) must be below max_matches (5)");
    cfg.warn_matches = PROBE_LOG_NO_WARN;
    cfg.window_kind = PROBE_LOG_WINDOW_LINES;
    cfg.window = PROBE_LOG_MAX_WINDOW_LINES + 1;
    assert_int_equal(probe_log_new(&cfg, &w, &err), -EINVAL);
    assert_string_equal(err.msg, "log window of 1000001 lines is above the 1000000 maximum");
    assert_ptr_equal(w, (struct probe_log *)&err);
    assert_null(probe_log_free(NULL));
}

static void test_basic_count(void **state)
{
    struct fx *f = *state;
    struct probe_log_config cfg = base_config(f->path);
    struct probe_log *w;
    struct probe_result r;
    struct probe_log_stats st;
    size_t len;

    cfg.max_matches = 2;
    append(f->path, "ERROR old history\nFATAL old too\n");
    w = make(&cfg);
    /* The first poll starts at the end: history is not news. */
    assert_int_equal(poll_at(w, 1000, &r), 0);
    assert_int_equal(r.status, PROBE_OK);
    assert_string_equal(r.message, "0 lines matching 'ERROR|FATAL' in the last 5m (max 2)");
    assert_int_equal(stats(w).lines, 0);

    append(f->path, "ERROR one\ninfo fine\nFATAL disk full\n");
    assert_int_equal(poll_at(w, 2000, &r), 0);
    assert_int_equal(r.status, PROBE_OK);
    assert_string_equal(
        r.message, "2 lines matching 'ERROR|FATAL' in the last 5m (max 2); last: FATAL disk full");
    append(f->path, "debug\nan ERROR inside\n");
    assert_int_equal(poll_at(w, 3000, &r), 0);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_string_equal(
        r.message, "3 lines matching 'ERROR|FATAL' in the last 5m (max 2); last: an ERROR inside");
    assert_int_equal(probe_log_window_count(w), 3);
    st = stats(w);
    assert_int_equal(st.lines, 5);
    assert_int_equal(st.matches, 3);
    assert_int_equal(st.bytes, 58);
    assert_int_equal(st.polls, 3);
    assert_int_equal(st.bytes_per_s, 22); /* 22 bytes in the last 1000 ms */
    assert_int_equal(st.behind_bytes, 0);
    assert_memory_equal(probe_log_last_match(w, 0, &len), "an ERROR inside", 15);
    assert_int_equal(len, 15);
    assert_memory_equal(probe_log_last_match(w, 1, &len), "FATAL disk full", 15);
    assert_memory_equal(probe_log_last_match(w, 2, &len), "ERROR one", 9);
    assert_null(probe_log_last_match(w, 3, &len));
    probe_log_free(w);
}

static void test_from_start_and_warning(void **state)
{
    struct fx *f = *state;
    struct probe_log_config cfg = base_config(f->path);
    struct probe_log *w;
    struct probe_result r;

    cfg.from_start = true;
    cfg.warn_matches = 1;
    cfg.max_matches = 3;
    append(f->path, "ERROR a\nERROR b\nok\n");
    w = make(&cfg);
    poll_at(w, 1000, &r);
    assert_int_equal(r.status, PROBE_WARNING);
    assert_string_equal(
        r.message, "2 lines matching 'ERROR|FATAL' in the last 5m (warn 1, max 3); last: ERROR b");
    probe_log_free(w);
}

static void test_time_window_expiry(void **state)
{
    struct fx *f = *state;
    struct probe_log_config cfg = base_config(f->path);
    struct probe_log *w;
    struct probe_result r;

    cfg.window = 60000;
    cfg.max_matches = 2;
    append(f->path, "");
    w = make(&cfg);
    poll_at(w, 0, &r);
    append(f->path, "ERROR 1\nERROR 2\n");
    poll_at(w, 10000, &r);
    append(f->path, "ERROR 3\n");
    poll_at(w, 40000, &r);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_string_equal(r.message,
                        "3 lines matching 'ERROR|FATAL' in the last 1m (max 2); last: ERROR 3");
    poll_at(w, 69999, &r);
    assert_int_equal(probe_log_window_count(w), 3);
    poll_at(w, 70000, &r); /* the two seen at 10s are 60s old: gone */
    assert_int_equal(probe_log_window_count(w), 1);
    assert_int_equal(r.status, PROBE_OK);
    poll_at(w, 100000, &r);
    assert_int_equal(probe_log_window_count(w), 0);
    assert_string_equal(r.message, "0 lines matching 'ERROR|FATAL' in the last 1m (max 2)");
    /* A clock stepped back keeps what it has. */
    append(f->path, "ERROR 4\n");
    poll_at(w, 200000, &r);
    poll_at(w, 150000, &r);
    assert_int_equal(probe_log_window_count(w), 1);
    assert_int_equal(stats(w).matches, 4);
    probe_log_free(w);
}

static void test_line_window(void **state)
{
    struct fx *f = *state;
    struct probe_log_config cfg = base_config(f->path);
    struct probe_log *w;
    struct probe_result r;

    cfg.window_kind = PROBE_LOG_WINDOW_LINES;
    cfg.window = 4;
    cfg.max_matches = 1;
    append(f->path, "");
    w = make(&cfg);
    poll_at(w, 0, &r);
    append(f->path, "ERROR\nok\nFATAL\n");
    poll_at(w, 1000, &r);
    assert_int_equal(r.status, PROBE_CRITICAL);
    assert_string_equal(r.message,
                        "2 lines matching 'ERROR|FATAL' in the last 4 lines (max 1); last: FATAL");
    append(f->path, "ok\n"); /* window: ERROR ok FATAL ok */
    poll_at(w, 2000, &r);
    assert_int_equal(probe_log_window_count(w), 2);
    append(f->path, "ok\n"); /* ok FATAL ok ok */
    poll_at(w, 3000, &r);
    assert_int_equal(probe_log_window_count(w), 1);
    assert_int_equal(r.status, PROBE_OK);
    append(f->path, "ok\nok\n"); /* ok ok ok ok; time alone expires nothing */
    poll_at(w, 3000000, &r);
    assert_int_equal(probe_log_window_count(w), 0);
    append(f->path, "ERROR\nERROR\nERROR\nERROR\nERROR\nok\n");
    poll_at(w, 3001000, &r);
    assert_int_equal(probe_log_window_count(w), 3);
    assert_int_equal(stats(w).lines, 13);
    probe_log_free(w);
}

static void test_partial_line(void **state)
{
    struct fx *f = *state;
    struct probe_log_config cfg = base_config(f->path);
    struct probe_log *w;
    struct probe_result r;
    struct probe_log_cursor c;

    append(f->path, "start\n");
    w = make(&cfg);
    poll_at(w, 0, &r);
    append(f->path, "ok\nERR");
    poll_at(w, 1000, &r);
    assert_int_equal(stats(w).lines, 1);
    assert_int_equal(probe_log_window_count(w), 0);
    /* The cursor points at the unfinished line, to read it again whole. */
    assert_int_equal(probe_log_cursor_get(w, &c), 0);
    assert_int_equal(c.offset, 9);
    append(f->path, "OR finished\nnext");
    poll_at(w, 2000, &r);
    assert_int_equal(stats(w).lines, 2);
    assert_int_equal(probe_log_window_count(w), 1);
    assert_string_equal(
        r.message, "1 line matching 'ERROR|FATAL' in the last 5m (max 5); last: ERROR finished");
    assert_int_equal(probe_log_cursor_get(w, &c), 0);
    assert_int_equal(c.offset, 24);
    probe_log_free(w);
}

static void test_long_line(void **state)
{
    struct fx *f = *state;
    struct probe_log_config cfg = base_config(f->path);
    struct probe_log *w;
    struct probe_result r;
    char *big = malloc(20001);
    size_t len;

    assert_non_null(big);
    append(f->path, "");
    w = make(&cfg);
    poll_at(w, 0, &r);
    /* Matched on its first 8 KiB: ERROR at 100 counts, at 10000 does not. */
    memset(big, 'a', 20000);
    put(big + 100, "ERROR");
    big[19999] = '\n';
    append_n(f->path, big, 20000);
    memset(big, 'b', 20000);
    put(big + 10000, "ERROR");
    big[19999] = '\n';
    append_n(f->path, big, 20000);
    poll_at(w, 1000, &r);
    assert_int_equal(stats(w).lines, 2);
    assert_int_equal(probe_log_window_count(w), 1);
    /* only PROBE_LOG_LAST_LEN bytes of it are kept and shown */
    assert_non_null(strstr(r.message, "; last: "));
    assert_int_equal(strlen(strstr(r.message, "; last: ") + 8), PROBE_LOG_LAST_LEN);
    assert_non_null(probe_log_last_match(w, 0, &len));
    assert_int_equal(len, PROBE_LOG_LAST_LEN);

    /* The same across polls: held, cut, and still one line. */
    memset(big, 'c', 20000);
    put(big + 8000, "FATAL");
    append_n(f->path, big, 12000);
    poll_at(w, 2000, &r);
    assert_int_equal(stats(w).lines, 2);
    append_n(f->path, big + 12000, 8000);
    poll_at(w, 3000, &r);
    assert_int_equal(stats(w).lines, 2);
    append(f->path, "\nok\n");
    poll_at(w, 4000, &r);
    assert_int_equal(stats(w).lines, 4);
    assert_int_equal(probe_log_window_count(w), 2);
    assert_int_equal(stats(w).bytes, 60004);
    free(big);
    probe_log_free(w);
}

static void test_rotation_rename(void **state)
{
    struct fx *f = *state;
    struct probe_log_config cfg = base_config(f->path);
    struct probe_log *w;
    struct probe_result r;
    struct probe_log_stats st;

    append(f->path, "old\n");
    w = make(&cfg);
    poll_at(w, 0, &r);
    append(f->path, "ERROR 1 unread at rotation\n");
    assert_int_equal(rename(f->path, f->other), 0);
    append(f->other, "ERROR 3 late into the old file\npartial FATAL");
    append(f->path, "ERROR 2 new file\nok\n");
    poll_at(w, 1000, &r);
    st = stats(w);
    assert_int_equal(st.rotations, 1);
    assert_int_equal(st.lines, 5); /* the unfinished last line of the old file counts */
    assert_int_equal(probe_log_window_count(w), 4);
    assert_string_equal(r.message, "4 lines matching 'ERROR|FATAL' in the last 5m (max 5); last: "
                                   "ERROR 2 new file");
    /* and on in the new one */
    append(f->path, "FATAL x\n");
    poll_at(w, 2000, &r);
    assert_int_equal(probe_log_window_count(w), 5);
    assert_int_equal(stats(w).rotations, 1);
    probe_log_free(w);
}

static void test_rotation_bounded_drain(void **state)
{
    struct fx *f = *state;
    struct probe_log_config cfg = base_config(f->path);
    struct probe_log *w;
    struct probe_result r;

    cfg.max_bytes_per_poll = 20;
    cfg.window = 1000000;
    cfg.max_matches = 100;
    append(f->path, "");
    w = make(&cfg);
    poll_at(w, 0, &r);
    append(f->path, "ERROR old 1\nERROR old 2\nERROR old 3\n"); /* 36 bytes */
    assert_int_equal(rename(f->path, f->other), 0);
    append(f->path, "ERROR new\n");
    /* The old file first, 20 bytes a poll; then the new one. */
    assert_int_equal(poll_at(w, 1000, &r), 1);
    assert_int_equal(stats(w).rotations, 0);
    assert_int_equal(stats(w).behind_bytes, 16);
    assert_string_equal(r.message, "1 line matching 'ERROR|FATAL' in the last 16m40s (max 100); "
                                   "16 bytes behind; last: ERROR old 1");
    /* The old file's last 16 bytes, then 4 of the new one's 10. */
    assert_int_equal(poll_at(w, 2000, &r), 1);
    assert_int_equal(stats(w).rotations, 1);
    assert_int_equal(stats(w).lines, 3);
    assert_int_equal(stats(w).behind_bytes, 6);
    assert_int_equal(poll_at(w, 3000, &r), 0);
    assert_int_equal(stats(w).rotations, 1);
    assert_int_equal(stats(w).lines, 4);
    assert_int_equal(stats(w).behind_bytes, 0);
    assert_int_equal(probe_log_window_count(w), 4);
    probe_log_free(w);
}

static void test_copytruncate(void **state)
{
    struct fx *f = *state;
    struct probe_log_config cfg = base_config(f->path);
    struct probe_log *w;
    struct probe_result r;
    int fd;

    append(f->path, "");
    w = make(&cfg);
    poll_at(w, 0, &r);
    append(f->path, "ERROR before truncation\nsome more text here\n");
    poll_at(w, 1000, &r);
    assert_int_equal(probe_log_window_count(w), 1);
    assert_int_equal(truncate(f->path, 0), 0);
    append(f->path, "FATAL after\n"); /* shorter than the old offset */
    poll_at(w, 2000, &r);
    assert_int_equal(stats(w).truncations, 1);
    assert_int_equal(probe_log_window_count(w), 2);
    assert_int_equal(stats(w).lines, 3);

    /* Truncated and written past the old offset between two polls: the
     * fingerprint of the first bytes tells. */
    assert_int_equal(truncate(f->path, 0), 0);
    append(f->path, "ERROR again, a longer line than before\nok\n");
    poll_at(w, 3000, &r);
    assert_int_equal(stats(w).truncations, 2);
    assert_int_equal(probe_log_window_count(w), 3);
    assert_int_equal(stats(w).lines, 5);

    /* A writer without O_APPEND goes on at its old offset: a hole of NULs. */
    assert_int_equal(truncate(f->path, 0), 0);
    fd = open(f->path, O_WRONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "FATAL in the hole\n", 18, 42), 18);
    close(fd);
    poll_at(w, 4000, &r);
    assert_int_equal(stats(w).truncations, 3);
    assert_int_equal(stats(w).lines, 6);
    assert_int_equal(probe_log_window_count(w), 4);
    assert_string_equal(
        r.message,
        "4 lines matching 'ERROR|FATAL' in the last 5m (max 5); last: FATAL in the hole");
    probe_log_free(w);
}

static void test_delete_and_recreate(void **state)
{
    struct fx *f = *state;
    struct probe_log_config cfg = base_config(f->path);
    struct probe_log *w;
    struct probe_result r;
    struct probe_log_cursor c;
    char want[512];

    append(f->path, "");
    w = make(&cfg);
    poll_at(w, 0, &r);
    append(f->path, "ERROR written before the unlink\n");
    assert_int_equal(unlink(f->path), 0);
    poll_at(w, 1000, &r);
    assert_int_equal(r.status, PROBE_UNKNOWN);
    snprintf(want, sizeof(want),
             "file missing: '%s'; 1 line matching 'ERROR|FATAL' in the last 5m (max 5); "
             "last: ERROR written before the unlink",
             f->path);
    assert_string_equal(r.message, want);
    /* Stored now, the cursor says: read whatever appears from its start. */
    assert_int_equal(probe_log_cursor_get(w, &c), 0);
    assert_int_equal(c.ino, 0);
    poll_at(w, 2000, &r);
    assert_int_equal(r.status, PROBE_UNKNOWN);
    append(f->path, "FATAL in the new file\n");
    poll_at(w, 3000, &r);
    assert_int_equal(r.status, PROBE_OK);
    assert_int_equal(probe_log_window_count(w), 2);
    assert_int_equal(stats(w).lines, 2);
    probe_log_free(w);

    /* Matches over the limit make it critical even with the file gone. */
    cfg.max_matches = 0;
    w = make(&cfg);
    poll_at(w, 0, &r);
    append(f->path, "ERROR x\n");
    assert_int_equal(unlink(f->path), 0);
    poll_at(w, 1000, &r);
    assert_int_equal(r.status, PROBE_CRITICAL);
    snprintf(want, sizeof(want),
             "1 line matching 'ERROR|FATAL' in the last 5m (max 0); file missing: '%s'; "
             "last: ERROR x",
             f->path);
    assert_string_equal(r.message, want);
    probe_log_free(w);
}

static void test_missing_at_start(void **state)
{
    struct fx *f = *state;
    struct probe_log_config cfg = base_config(f->path);
    struct probe_log *w;
    struct probe_result r;
    struct probe_log_cursor c = { 1, 2, 3, 4, 5 };

    w = make(&cfg);
    assert_int_equal(probe_log_cursor_get(w, &c), -ENODATA);
    assert_int_equal(c.dev, 1); /* untouched */
    poll_at(w, 0, &r);
    assert_int_equal(r.status, PROBE_UNKNOWN);
    /* It did not exist when watching began, so all of it is new. */
    append(f->path, "ERROR first\n");
    poll_at(w, 1000, &r);
    assert_int_equal(r.status, PROBE_OK);
    assert_int_equal(probe_log_window_count(w), 1);
    probe_log_free(w);
}

static void test_replaced_same_size(void **state)
{
    struct fx *f = *state;
    struct probe_log_config cfg = base_config(f->path);
    struct probe_log *w;
    struct probe_result r;

    append(f->path, "aaaa bbbb\n");
    w = make(&cfg);
    poll_at(w, 0, &r);
    /* A new file renamed over the path, as an editor or deploy would. */
    append(f->other, "ERROR xyz\n");
    assert_int_equal(rename(f->other, f->path), 0);
    poll_at(w, 1000, &r);
    assert_int_equal(stats(w).rotations, 1);
    assert_int_equal(probe_log_window_count(w), 1);
    /* Rewritten in place, same inode, same size. */
    rewrite(f->path, "FATAL xyz\n");
    poll_at(w, 2000, &r);
    assert_int_equal(stats(w).truncations, 1);
    assert_int_equal(probe_log_window_count(w), 2);
    assert_int_equal(stats(w).lines, 2);
    probe_log_free(w);
}

static void test_unreadable_and_directory(void **state)
{
    struct fx *f = *state;
    struct probe_log_config cfg = base_config(f->path);
    struct probe_log *w;
    struct probe_result r;
    char want[512];

    /* The path is a directory. */
    assert_int_equal(mkdir(f->path, 0700), 0);
    w = make(&cfg);
    poll_at(w, 0, &r);
    assert_int_equal(r.status, PROBE_UNKNOWN);
    snprintf(want, sizeof(want),
             "'%s' is a directory; 0 lines matching 'ERROR|FATAL' in the last 5m (max 5)", f->path);
    assert_string_equal(r.message, want);
    assert_int_equal(rmdir(f->path), 0);
    append(f->path, "ERROR\n");
    poll_at(w, 1000, &r);
    assert_int_equal(r.status, PROBE_OK);
    probe_log_free(w);

    /* Root reads through mode 000: check the message only where it can fail. */
    if (geteuid() != 0) {
        assert_int_equal(chmod(f->path, 0), 0);
        w = make(&cfg);
        poll_at(w, 0, &r);
        assert_int_equal(r.status, PROBE_UNKNOWN);
        snprintf(want, sizeof(want),
                 "cannot open '%s': permission denied; 0 lines matching 'ERROR|FATAL' in the "
                 "last 5m (max 5)",
                 f->path);
        assert_string_equal(r.message, want);
        probe_log_free(w);
    }
}

static void assert_cursor_equal(const struct probe_log_cursor *a, const struct probe_log_cursor *b)
{
    assert_int_equal(a->dev, b->dev);
    assert_int_equal(a->ino, b->ino);
    assert_int_equal(a->offset, b->offset);
    assert_int_equal(a->fp_hash, b->fp_hash);
    assert_int_equal(a->fp_len, b->fp_len);
}

static void test_cursor_restore(void **state)
{
    struct fx *f = *state;
    struct probe_log_config cfg = base_config(f->path);
    struct probe_log *w;
    struct probe_result r;
    struct probe_log_cursor c, c2;
    char text[PROBE_LOG_CURSOR_TEXT];
    struct stat st;

    append(f->path, "header line 2024-01-01T00:00:00Z\n");
    w = make(&cfg);
    poll_at(w, 0, &r);
    append(f->path, "ERROR seen by the first\nFAT");
    poll_at(w, 1000, &r);
    assert_int_equal(probe_log_window_count(w), 1);
    assert_int_equal(probe_log_cursor_get(w, &c), 0);
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(c.dev, (uint64_t)st.st_dev);
    assert_int_equal(c.ino, (uint64_t)st.st_ino);
    assert_int_equal(c.offset, 33 + 24);
    assert_int_equal(c.fp_len, 33 + 27);
    assert_int_equal(probe_log_restore(w, &c), -EBUSY);
    probe_log_free(w);

    /* opsd restarts; meanwhile the line is finished and more is written. */
    probe_log_cursor_format(&c, text, sizeof(text));
    memset(&c2, 0, sizeof(c2));
    assert_int_equal(probe_log_cursor_parse(text, &c2), 0);
    assert_cursor_equal(&c, &c2);
    append(f->path, "AL finished while down\nERROR also\n");
    w = make(&cfg);
    assert_int_equal(probe_log_restore(w, &c2), 0);
    poll_at(w, 5000, &r);
    assert_int_equal(stats(w).lines, 2);
    assert_int_equal(probe_log_window_count(w), 2);
    probe_log_free(w);

    /* Rotated while down: the new file is read from its start. */
    assert_int_equal(rename(f->path, f->other), 0);
    append(f->path, "ERROR in the rotated-in file\n");
    w = make(&cfg);
    assert_int_equal(probe_log_restore(w, &c2), 0);
    poll_at(w, 5000, &r);
    assert_int_equal(stats(w).lines, 1);
    assert_int_equal(probe_log_window_count(w), 1);
    assert_int_equal(probe_log_cursor_get(w, &c), 0);
    probe_log_free(w);

    /* Same inode, rewritten longer than the offset with other first bytes. */
    rewrite(f->path, "FATAL rewritten from scratch while opsd was down, longer\nok\n");
    w = make(&cfg);
    assert_int_equal(probe_log_restore(w, &c), 0);
    poll_at(w, 5000, &r);
    assert_int_equal(stats(w).lines, 2);
    assert_int_equal(probe_log_window_count(w), 1);
    probe_log_free(w);

    /* A saved "missing" cursor: what appears is new. */
    memset(&c, 0, sizeof(c));
    w = make(&cfg);
    assert_int_equal(probe_log_restore(w, &c), 0);
    poll_at(w, 5000, &r);
    assert_int_equal(stats(w).lines, 2);
    probe_log_free(w);

    assert_int_equal(probe_log_cursor_parse("v1:1:2:3:00000000000000ff:4", &c), 0);
    assert_int_equal(c.fp_hash, 255);
    assert_int_equal(c.fp_len, 4);
    c2 = c;
    assert_int_equal(probe_log_cursor_parse("v2:1:2:3:ff:4", &c), -EINVAL);
    assert_int_equal(probe_log_cursor_parse("v1:1:2:3:ff", &c), -EINVAL);
    assert_int_equal(probe_log_cursor_parse("v1:1:-2:3:ff:4", &c), -EINVAL);
    assert_int_equal(probe_log_cursor_parse("v1:1:2:3:ff:4x", &c), -EINVAL);
    assert_int_equal(probe_log_cursor_parse("v1:1:2:3:ff:1025", &c), -EINVAL);
    assert_int_equal(probe_log_cursor_parse("v1:1:2:99999999999999999999:ff:4", &c), -EINVAL);
    assert_cursor_equal(&c, &c2);
}

static void test_nul_bytes_and_crlf(void **state)
{
    struct fx *f = *state;
    struct probe_log_config cfg = base_config(f->path);
    struct probe_log *w;
    struct probe_result r;

    append(f->path, "");
    w = make(&cfg);
    poll_at(w, 0, &r);
    append_n(f->path, "abc\0ERROR after a NUL\n", 22);
    poll_at(w, 1000, &r);
    assert_int_equal(probe_log_window_count(w), 1);
    assert_string_equal(r.message, "1 line matching 'ERROR|FATAL' in the last 5m (max 5); last: "
                                   "abc?ERROR after a NUL");
    probe_log_free(w);

    /* The same through regexec (ignore_case), with anchors and CRLF. */
    cfg.pattern = "error$";
    cfg.ignore_case = true;
    w = make(&cfg);
    poll_at(w, 0, &r);
    static const char crlf[] = "x\0y Error\r\nERROR not at the end\r\n\xff\xfe ERROR\n";

    append_n(f->path, crlf, sizeof(crlf) - 1);
    poll_at(w, 1000, &r);
    assert_int_equal(stats(w).lines, 3);
    assert_int_equal(probe_log_window_count(w), 2);
    assert_string_equal(r.message,
                        "2 lines matching 'error$' in the last 5m (max 5); last: ?? ERROR");
    probe_log_free(w);
}

static void test_exclude(void **state)
{
    struct fx *f = *state;
    struct probe_log_config cfg = base_config(f->path);
    struct probe_log *w;
    struct probe_result r;

    cfg.exclude = "expected|retrying";
    append(f->path, "");
    w = make(&cfg);
    poll_at(w, 0, &r);
    append(f->path, "ERROR expected\nERROR real\nFATAL retrying\n");
    poll_at(w, 1000, &r);
    assert_int_equal(stats(w).lines, 3);
    assert_int_equal(probe_log_window_count(w), 1);
    probe_log_free(w);
}

static void test_per_poll_bound(void **state)
{
    struct fx *f = *state;
    struct probe_log_config cfg = base_config(f->path);
    struct probe_log *w;
    struct probe_result r;
    int polls = 0;

    cfg.max_bytes_per_poll = 100;
    cfg.max_matches = 1000;
    append(f->path, "");
    w = make(&cfg);
    poll_at(w, 0, &r);
    for (int i = 0; i < 100; i++)
        append(f->path, "ERROR 123\n");
    assert_int_equal(poll_at(w, 1000, &r), 1);
    assert_int_equal(stats(w).lines, 10);
    assert_int_equal(stats(w).behind_bytes, 900);
    assert_string_equal(r.message, "10 lines matching 'ERROR|FATAL' in the last 5m (max 1000); "
                                   "900 bytes behind; last: ERROR 123");
    while (poll_at(w, 2000, &r) == 1)
        polls++;
    assert_int_equal(polls, 8); /* 9 more polls, the last one ends exactly at EOF */
    assert_int_equal(stats(w).lines, 100);
    assert_int_equal(stats(w).behind_bytes, 0);
    probe_log_free(w);

    /* The line bound, checked per read. */
    cfg.max_bytes_per_poll = 0;
    cfg.max_lines_per_poll = 10;
    cfg.from_start = true;
    w = make(&cfg);
    assert_int_equal(poll_at(w, 0, &r), 0); /* 1000 bytes: one read */
    assert_int_equal(stats(w).lines, 100);
    probe_log_free(w);
}

static void test_message_cap_utf8(void **state)
{
    struct fx *f = *state;
    struct probe_log_config cfg = base_config(f->path);
    struct probe_log *w;
    struct probe_result r;
    char path[400], line[700];
    size_t n;

    /* A long path, so that the message overflows its cap. */
    n = (size_t)snprintf(path, sizeof(path), "%s/", f->dir);
    memset(path + n, 'l', 200);
    strcpy(path + n + 200, ".log");
    cfg.path = path;
    cfg.pattern = "x{1000}|ERROR";
    cfg.max_matches = 0;
    append(path, "");
    w = make(&cfg);
    poll_at(w, 0, &r);
    n = (size_t)snprintf(line, sizeof(line), "ERROR  ");
    while (n + 3 < 600) {
        put(line + n, "\xe2\x82\xac"); /* the euro sign */
        n += 3;
    }
    line[n++] = '\n';
    append_n(path, line, n);
    poll_at(w, 1000, &r);
    assert_int_equal(probe_log_window_count(w), 1);
    /* Kept: 240 bytes, the last two a cut euro sign, which is not shown. */
    assert_int_equal(strlen(strstr(r.message, "; last: ") + 8), PROBE_LOG_LAST_LEN - 2);
    assert_memory_equal(r.message + strlen(r.message) - 3, "\xe2\x82\xac", 3);

    assert_int_equal(unlink(path), 0);
    poll_at(w, 2000, &r);
    assert_int_equal(r.status, PROBE_CRITICAL);
    n = strlen(r.message);
    assert_true(n <= OPSD_MAX_MESSAGE - 1 && n >= OPSD_MAX_MESSAGE - 3);
    assert_non_null(strstr(r.message, "; file missing: '"));
    /* the cap cut the message: whole euro signs only, up to the end */
    assert_memory_equal(r.message + n - 3, "\xe2\x82\xac", 3);
    probe_log_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pattern_check),
        cmocka_unit_test_setup_teardown(test_basic_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_from_start_and_warning, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_window_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation_rename, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation_bounded_drain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copytruncate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_and_recreate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_at_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replaced_same_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_and_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cursor_restore, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nul_bytes_and_crlf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exclude, setup, teardown),
        cmocka_unit_test_setup_teardown(test_per_poll_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_message_cap_utf8, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
