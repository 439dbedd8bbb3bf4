/* Allocation wrappers for small internal objects: they abort on OOM, so
 * callers need no failure path for memory they cannot do without. Anything
 * sized by outside input is capped (opsd_limits.h) before it gets here. */
#pragma once
#include <stddef.h>
#include <stdarg.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);            /* NULL in, NULL out */
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/* Grows *p (an array of *cap elements of size sz) so it holds at least need. */
void xgrow(void **p, size_t *cap, size_t need, size_t sz);
