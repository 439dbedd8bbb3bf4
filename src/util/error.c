/* Filling struct opsd_error. */
#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>

int opsd_errorf(struct opsd_error *e, int code, const char *fmt, ...)
{
    va_list ap;

    if (!e)
        return code;
    e->code = code;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    return code;
}
