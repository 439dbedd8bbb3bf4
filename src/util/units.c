/* Parsing and printing sizes and percentages. */
#include "util/units.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

struct unit {
    const char *name;
    uint64_t mult;
};

static const struct unit units[] = {
    { "", 1 },
    { "b", 1 },
    { "kb", 1000ULL },
    { "mb", 1000ULL * 1000 },
    { "gb", 1000ULL * 1000 * 1000 },
    { "tb", 1000ULL * 1000 * 1000 * 1000 },
    { "kib", 1024ULL },
    { "mib", 1024ULL * 1024 },
    { "gib", 1024ULL * 1024 * 1024 },
    { "tib", 1024ULL * 1024 * 1024 * 1024 },
};

int units_parse_bytes(const char *s, uint64_t *ret)
{
    uint64_t v = 0;
    const char *p = s;
    int digits = 0;

    if (!s)
        return -EINVAL;
    while (*p >= '0' && *p <= '9') {
        if (v > (UINT64_MAX - 9) / 10)
            return -ERANGE;
        v = v * 10 + (uint64_t)(*p - '0');
        p++;
        digits++;
    }
    if (!digits)
        return -EINVAL;
    while (*p == ' ')
        p++;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcasecmp(p, units[i].name) != 0)
            continue;
        if (v && units[i].mult > UINT64_MAX / v)
            return -ERANGE;
        *ret = v * units[i].mult;
        return 0;
    }
    return -EINVAL;
}

int units_parse_percent(const char *s, double max, double *ret)
{
    char *end;
    double v;

    if (!s || !((*s >= '0' && *s <= '9') || *s == '.'))
        return -EINVAL;
    v = strtod(s, &end);
    if (end == s)
        return -EINVAL;
    if (*end == '%')
        end++;
    if (*end || !isfinite(v))
        return -EINVAL;
    if (v < 0 || v > max)
        return -ERANGE;
    *ret = v;
    return 0;
}

int units_parse_number(const char *s, double *ret)
{
    char *end;
    double v;

    if (!s || !((*s >= '0' && *s <= '9') || *s == '.'))
        return -EINVAL;
    v = strtod(s, &end);
    if (end == s || *end || !isfinite(v))
        return -EINVAL;
    *ret = v;
    return 0;
}

const char *units_format_bytes(uint64_t v, char *buf, size_t n)
{
    static const char *const names[] = { "B", "KB", "MB", "GB", "TB", "PB" };
    double d = (double)v;
    size_t i = 0;

    while (d >= 1000 && i + 1 < sizeof(names) / sizeof(names[0])) {
        d /= 1000;
        i++;
    }
    if (i == 0)
        snprintf(buf, n, "%llu B", (unsigned long long)v);
    else
        snprintf(buf, n, d < 10 ? "%.2f %s" : d < 100 ? "%.1f %s" : "%.0f %s", d, names[i]);
    return buf;
}
