/* Scope-bound cleanup for locals and ownership hand-off, after systemd. */
#pragma once
#include <stdlib.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

/* Takes the value out of a _cleanup_ local so the cleanup sees NULL. */
#define steal_ptr(p)                                                                               \
    ({                                                                                             \
        __typeof__(p) _p_ = (p);                                                                   \
        (p) = NULL;                                                                                \
        _p_;                                                                                       \
    })

static inline void freep(void *p)
{
    free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
/* sys/param.h (pulled in by uv.h) may define these already, identically. */
#ifndef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#endif
#ifndef MAX
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#endif
