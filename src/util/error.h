/* The error struct every fallible function fills: a negative errno-style
 * code and a message a person can read. */
#pragma once
#include <errno.h>

struct opsd_error {
    int code;
    char msg[512];
};

/* Fills e (which may be NULL) and returns code, so callers can write
 * `return opsd_errorf(err, -EINVAL, "...")`. code must be negative. */
int opsd_errorf(struct opsd_error *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
