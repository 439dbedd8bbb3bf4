/* logfmt lines on stderr. */
#include "util/log.h"
#include "util/clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum log_level log_min_level = LOG_LEVEL_INFO;

static const char *const names[] = { "debug", "info", "warn", "error" };

int log_level_from_string(const char *s, enum log_level *ret)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            *ret = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

void log_emit(enum log_level lvl, const char *fmt, ...)
{
    char line[2048], ts[40];
    va_list ap;
    int n;

    clock_format_rfc3339(clock_now_ms(&clock_real), ts, sizeof(ts));
    n = snprintf(line, sizeof(line), "ts=%s level=%s ", ts, names[lvl]);
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    /* One write per line so concurrent writers do not interleave. */
    n = (int)strlen(line);
    line[n++] = '\n';
    fwrite(line, 1, (size_t)n, stderr);
}

const char *log_q(const char *s)
{
    static __thread char ring[8][220];
    static __thread unsigned slot;
    char *b = ring[slot++ % 8];
    size_t o = 0;

    if (!s)
        s = "";
    b[o++] = '"';
    for (; *s && o < 200; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            b[o++] = '\\';
            b[o++] = (char)c;
        } else if (c == '\n') {
            b[o++] = '\\';
            b[o++] = 'n';
        } else if (c < 0x20) {
            b[o++] = ' ';
        } else {
            b[o++] = (char)c;
        }
    }
    if (*s) {
        memcpy(b + o, "...", 3);
        o += 3;
    }
    b[o++] = '"';
    b[o] = '\0';
    return b;
}
