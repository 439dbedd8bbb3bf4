/* A growable string buffer. Invariants (after git's strbuf): buf is never
 * NULL once initialised and is always NUL-terminated. */
#pragma once
#include <stdarg.h>
#include <stddef.h>

struct sbuf {
    char *buf;
    size_t len;
    size_t cap;
};

#define SBUF_INIT { .buf = sbuf_empty, .len = 0, .cap = 0 }
extern char sbuf_empty[];

void sbuf_init(struct sbuf *sb);
void sbuf_release(struct sbuf *sb);
void sbuf_reset(struct sbuf *sb);
void sbuf_add(struct sbuf *sb, const void *data, size_t n);
void sbuf_puts(struct sbuf *sb, const char *s);
void sbuf_putc(struct sbuf *sb, char c);
void sbuf_addf(struct sbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sbuf_vaddf(struct sbuf *sb, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Appends s with HTML special characters escaped. */
void sbuf_add_html(struct sbuf *sb, const char *s);
/* Hands the buffer to the caller (who frees it) and reinitialises sb. */
char *sbuf_detach(struct sbuf *sb, size_t *ret_len);
