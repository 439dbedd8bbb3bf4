/* Leveled logging, one logfmt event per line on stderr:
 *   ts=2026-11-23T15:00:00.123Z level=info event=state_change monitor=web state=down
 * The macros check the level before evaluating their arguments. Only the
 * edges (cmd, sched, web, store glue) log; pure modules return errors.
 * Never pass a secret or token: there is no scrubbing after the fact. */
#pragma once

enum log_level {
    LOG_LEVEL_DEBUG = 0,
    LOG_LEVEL_INFO = 1,
    LOG_LEVEL_WARN = 2,
    LOG_LEVEL_ERROR = 3,
};

extern enum log_level log_min_level;

int log_level_from_string(const char *s, enum log_level *ret);
void log_emit(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Quotes s as a logfmt value (escaping quotes, backslashes and newlines,
 * truncating at 200 bytes). Returns a pointer into a small rotating buffer
 * valid for the next few calls on this thread: use it only as an argument. */
const char *log_q(const char *s);

#define log_at(lvl, ...)                                                                           \
    do {                                                                                           \
        if ((lvl) >= log_min_level)                                                                \
            log_emit((lvl), __VA_ARGS__);                                                          \
    } while (0)
#define log_debug(...) log_at(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...) log_at(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...) log_at(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) log_at(LOG_LEVEL_ERROR, __VA_ARGS__)
/* Logs and returns r, for `return log_error_errno(r, "...")`. */
#define log_error_errno(r, ...) ({ log_error(__VA_ARGS__); (r); })
