/* The file monitor's judgement: does the newest file matching a path (a
 * backup, an export) exist, is it fresh, is its size sane, did it shrink
 * against the one before it, did its content change. The I/O (glob, stat,
 * hashing) runs on a worker in sched/file.c. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

struct conf_monitor;
struct probe_result;
struct probe_metric;

#define PROBE_FILE_MAX_MATCHES 100000 /* glob matches looked at per check */
#define PROBE_FILE_PATH_MAX 4096

/* What one look at the file system found. */
struct probe_file_obs {
    int err;              /* 0; -ENOENT when nothing matches; another -errno when unreadable */
    char path[PROBE_FILE_PATH_MAX]; /* the newest match (or the path looked for) */
    uint64_t n_matches;
    bool matches_capped;  /* more than PROBE_FILE_MAX_MATCHES: the newest of those seen */
    bool regular;         /* a regular file (else a directory, socket, ...) */
    uint64_t mtime_ms;
    uint64_t size;
    bool have_sha256;
    char sha256[65];      /* hex */
};

/* What a file monitor remembers between checks: the file it saw last, and
 * the one before that, whose size a new file must not fall below by more
 * than max_shrink (tonight's backup against last night's). */
struct probe_file_memory {
    bool have_cur;
    char cur_path[PROBE_FILE_PATH_MAX];
    uint64_t cur_mtime_ms, cur_size;
    char cur_sha256[65];
    bool have_ref;
    uint64_t ref_size;
};

/* Judges obs (at now_ms) against cf into r, using and then updating mem.
 * metrics (room for at least 3) receives size_bytes, age_seconds and
 * matches; r->metrics points at it. */
void probe_file_evaluate(const struct conf_monitor *cf, const struct probe_file_obs *obs,
                         struct probe_file_memory *mem, uint64_t now_ms, struct probe_result *r,
                         struct probe_metric *metrics);
