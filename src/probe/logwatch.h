/* The log monitor: follows a growing log file across checks and counts the
 * lines matching a pattern in a sliding window (the last N minutes, or the
 * last N lines), surviving rotation, copytruncate, deletion and replacement,
 * and resuming where it stopped after a restart through a small cursor.
 *
 * Unlike the rest of probe/, a watcher does I/O (open, fstat, pread on one
 * regular file): a poll is meant to run on a worker thread, never the loop.
 * Time still comes from the caller. A watcher is thread-compatible: no
 * global state, so different watchers may be polled in parallel, but one
 * watcher must not be used by two threads at once. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct opsd_error;
struct probe_result;

#define PROBE_LOG_LINE_MAX 8192 /* bytes of a line matched; the rest is cut (still one line) */
#define PROBE_LOG_MAX_WINDOW_LINES 1000000       /* largest line window */
#define PROBE_LOG_MAX_BYTES_PER_POLL (64u << 20) /* default bound on one poll's reading */
#define PROBE_LOG_MAX_LINES_PER_POLL 2000000     /* default; checked per 256 KiB read */
#define PROBE_LOG_LAST_KEEP 5                    /* most recent matching lines kept */
#define PROBE_LOG_LAST_LEN 240                   /* bytes kept of each */
#define PROBE_LOG_NO_WARN UINT32_MAX

/* Stored with the config's meaning: values never change. */
enum probe_log_window {
    PROBE_LOG_WINDOW_TIME = 0,  /* window is milliseconds */
    PROBE_LOG_WINDOW_LINES = 1, /* window is a line count */
};

/* What a watcher is built from; every pointer is borrowed for the call
 * only (probe_log_new copies what it keeps). */
struct probe_log_config {
    const char *path;    /* the log file; symlinks are followed */
    const char *pattern; /* POSIX ERE a line must match */
    const char *exclude; /* ERE: matching lines that also match this don't count; or NULL */
    bool ignore_case;    /* for both patterns */
    enum probe_log_window window_kind;
    uint64_t window;             /* ms or lines, per window_kind; > 0 */
    uint32_t max_matches;        /* critical when more lines than this match in the window */
    uint32_t warn_matches;       /* warning above this; PROBE_LOG_NO_WARN for none */
    bool from_start;             /* the first file read from its start, not its end */
    uint64_t max_bytes_per_poll; /* 0 -> PROBE_LOG_MAX_BYTES_PER_POLL */
    uint64_t max_lines_per_poll; /* 0 -> PROBE_LOG_MAX_LINES_PER_POLL */
};

/* Where a watcher stands in its file, to store across restarts. offset is
 * the start of the first line not yet counted. fp_* fingerprint the file's
 * first bytes, so a file replaced under the same inode number, or truncated
 * and rewritten past offset, is told apart. dev == ino == 0 means "no file
 * seen yet, and the path was missing": whatever appears is read from 0. */
struct probe_log_cursor {
    uint64_t dev;
    uint64_t ino;
    uint64_t offset;
    uint64_t fp_hash; /* FNV-1a 64 of the first fp_len bytes */
    uint32_t fp_len;  /* 0..PROBE_LOG_FP_LEN */
};
#define PROBE_LOG_FP_LEN 1024
#define PROBE_LOG_CURSOR_TEXT 112 /* room for probe_log_cursor_format, NUL included */

/* Counters for metrics; they only grow, except behind_bytes and bytes_per_s. */
struct probe_log_stats {
    uint64_t lines;       /* lines read (a cut line counts once) */
    uint64_t matches;     /* lines that matched (and were not excluded) */
    uint64_t bytes;       /* bytes read */
    uint64_t rotations;   /* switches to a new file at the path */
    uint64_t truncations; /* restarts at 0 in the same file (copytruncate, rewrite) */
    uint64_t polls;
    uint64_t behind_bytes; /* left unread by the last poll's bound */
    uint64_t bytes_per_s;  /* read by the last poll / time since the one before */
};

struct probe_log;

/* Checks an ERE the way a watcher compiles it, for config time. Returns 0,
 * or -EINVAL with e.g. "invalid pattern 'ERROR(': unmatched ( or \(". */
int probe_log_pattern_check(const char *pattern, bool ignore_case, struct opsd_error *reterr);

/* Builds a watcher; nothing is opened until the first poll. Returns 0 and
 * sets *ret (caller frees with probe_log_free), or -EINVAL with reterr
 * filled and *ret untouched. */
int probe_log_new(const struct probe_log_config *cfg, struct probe_log **ret,
                  struct opsd_error *reterr);
/* Closes the file and frees w. Accepts NULL; returns NULL. */
struct probe_log *probe_log_free(struct probe_log *w);

/* Resumes from a stored cursor; only before the first poll (-EBUSY after).
 * At the first poll the file resumes at c->offset if it has the same device,
 * inode and fingerprint and is at least that long; otherwise it is a file
 * written since (rotated, replaced, truncated) and is read from 0. */
int probe_log_restore(struct probe_log *w, const struct probe_log_cursor *c);
/* The cursor to store. -ENODATA (and *ret untouched) when there is nothing
 * worth storing yet: no poll found a file or a missing path. */
int probe_log_cursor_get(const struct probe_log *w, struct probe_log_cursor *ret);
/* "v1:dev:ino:offset:fp_hash:fp_len" (decimal, hash in hex) into buf. */
const char *probe_log_cursor_format(const struct probe_log_cursor *c, char *buf, size_t n);
/* Parses probe_log_cursor_format's text; -EINVAL (*ret untouched) if malformed. */
int probe_log_cursor_parse(const char *s, struct probe_log_cursor *ret);

/* Reads what was appended since the last poll (at most the per-poll bound),
 * counts matching lines as seen at now_ms, expires the window, and fills r's
 * status and message (r initialised by the caller). A missing, unreadable or
 * non-regular file is reported in r (unknown, unless the matches already
 * make it critical), not returned as an error. Returns 1 when it stopped at
 * the bound with more to read (the caller may poll again soon), else 0. */
int probe_log_poll(struct probe_log *w, uint64_t now_ms, struct probe_result *r);

void probe_log_get_stats(const struct probe_log *w, struct probe_log_stats *ret);
/* Matches in the window as of the last poll. */
uint64_t probe_log_window_count(const struct probe_log *w);
/* The i-th most recent matching line (0 = newest), cut to PROBE_LOG_LAST_LEN
 * bytes, raw (may hold any byte); NULL past the ones kept. Borrowed: valid
 * until the next poll. */
const char *probe_log_last_match(const struct probe_log *w, unsigned i, size_t *ret_len);
