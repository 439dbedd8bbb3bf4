/* Parsing and printing durations. */
#include "util/duration.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct unit {
    const char *name;
    uint64_t ms;
};

/* Longest names first so "ms" is not read as "m" followed by junk. */
static const struct unit units[] = {
    { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "d", 86400000 },
};

int duration_parse_ms(const char *s, uint64_t *ret_ms)
{
    uint64_t total = 0;
    const char *p = s;

    if (!s || !*s)
        return -EINVAL;
    while (*p) {
        uint64_t v = 0;
        const struct unit *u = NULL;
        int digits = 0;

        while (*p >= '0' && *p <= '9') {
            if (v > (UINT64_MAX - 9) / 10)
                return -ERANGE;
            v = v * 10 + (uint64_t)(*p - '0');
            p++;
            digits++;
        }
        if (!digits)
            return -EINVAL;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
            size_t l = strlen(units[i].name);
            if (strncmp(p, units[i].name, l) == 0 && (l == 2 || p[1] != 's')) {
                u = &units[i];
                p += l;
                break;
            }
        }
        if (!u)
            return -EINVAL;
        if (v && u->ms > UINT64_MAX / v)
            return -ERANGE;
        if (total > UINT64_MAX - v * u->ms)
            return -ERANGE;
        total += v * u->ms;
    }
    *ret_ms = total;
    return 0;
}

const char *duration_format(uint64_t ms, char *buf, size_t n)
{
    size_t off = 0;

    if (n == 0)
        return buf;
    buf[0] = '\0';
    if (ms == 0) {
        snprintf(buf, n, "0s");
        return buf;
    }
    for (int i = 4; i >= 0 && off < n; i--) {
        uint64_t q = ms / units[i].ms;
        if (!q)
            continue;
        int w = snprintf(buf + off, n - off, "%llu%s", (unsigned long long)q, units[i].name);
        if (w < 0)
            break;
        off += (size_t)w;
        ms -= q * units[i].ms;
    }
    return buf;
}
