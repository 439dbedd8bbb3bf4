/* Growable string buffer. */
#include "util/sbuf.h"
#include "util/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char sbuf_empty[1];

void sbuf_init(struct sbuf *sb)
{
    sb->buf = sbuf_empty;
    sb->len = 0;
    sb->cap = 0;
}

void sbuf_release(struct sbuf *sb)
{
    if (sb->cap)
        free(sb->buf);
    sbuf_init(sb);
}

void sbuf_reset(struct sbuf *sb)
{
    sb->len = 0;
    if (sb->cap)
        sb->buf[0] = '\0';
}

static void grow(struct sbuf *sb, size_t extra)
{
    size_t need = sb->len + extra + 1;
    size_t cap = sb->cap;

    if (need <= cap)
        return;
    if (cap < 64)
        cap = 64;
    while (cap < need)
        cap *= 2;
    if (sb->cap) {
        sb->buf = xrealloc(sb->buf, cap);
    } else {
        sb->buf = xmalloc(cap);
        sb->buf[0] = '\0';
    }
    sb->cap = cap;
}

void sbuf_add(struct sbuf *sb, const void *data, size_t n)
{
    if (!n)
        return;
    grow(sb, n);
    memcpy(sb->buf + sb->len, data, n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
}

void sbuf_puts(struct sbuf *sb, const char *s)
{
    sbuf_add(sb, s, strlen(s));
}

void sbuf_putc(struct sbuf *sb, char c)
{
    sbuf_add(sb, &c, 1);
}

void sbuf_vaddf(struct sbuf *sb, const char *fmt, va_list ap)
{
    va_list cp;
    int n;

    va_copy(cp, ap);
    n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n <= 0)
        return;
    grow(sb, (size_t)n);
    vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
    sb->len += (size_t)n;
}

void sbuf_addf(struct sbuf *sb, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    sbuf_vaddf(sb, fmt, ap);
    va_end(ap);
}

void sbuf_add_html(struct sbuf *sb, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': sbuf_puts(sb, "&lt;"); break;
        case '>': sbuf_puts(sb, "&gt;"); break;
        case '&': sbuf_puts(sb, "&amp;"); break;
        case '"': sbuf_puts(sb, "&quot;"); break;
        case '\'': sbuf_puts(sb, "&#39;"); break;
        default: sbuf_putc(sb, *s);
        }
    }
}

char *sbuf_detach(struct sbuf *sb, size_t *ret_len)
{
    char *p;

    if (ret_len)
        *ret_len = sb->len;
    p = sb->cap ? sb->buf : xstrdup("");
    sbuf_init(sb);
    return p;
}
