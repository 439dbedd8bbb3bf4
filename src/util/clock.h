/* The clock every time-dependent rule reads. Production passes clock_real;
 * tests pass a virtual clock they move by hand, so no test sleeps. */
#pragma once
#include <stdint.h>

struct opsd_clock {
    /* NULL means virtual: now is virt_ms. */
    uint64_t (*now_ms)(const struct opsd_clock *c);
    uint64_t virt_ms;
};

extern const struct opsd_clock clock_real;

/* Wall-clock milliseconds since the Unix epoch. */
static inline uint64_t clock_now_ms(const struct opsd_clock *c)
{
    return c->now_ms ? c->now_ms(c) : c->virt_ms;
}

static inline void clock_virtual_init(struct opsd_clock *c, uint64_t start_ms)
{
    c->now_ms = 0;
    c->virt_ms = start_ms;
}

static inline void clock_advance(struct opsd_clock *c, uint64_t ms)
{
    c->virt_ms += ms;
}

/* Formats ms-since-epoch as RFC 3339 UTC with milliseconds into buf (>= 32 bytes). */
const char *clock_format_rfc3339(uint64_t ms, char *buf, unsigned long n);
/* Parses RFC 3339 (Z or +hh:mm) or a plain integer of Unix seconds. */
int clock_parse_time(const char *s, uint64_t *ret_ms);
