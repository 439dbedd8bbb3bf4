/* The text side of notifications: escaping for each channel, UTF-8-safe
 * cutting, times in the formats the wire wants, the HMAC signer and the small
 * template language documented in notify.h. */
#include "notify/notify.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

const char *notify_severity_to_string(enum notify_severity s)
{
    switch (s) {
    case NOTIFY_CRITICAL:
        return "critical";
    case NOTIFY_HIGH:
        return "high";
    case NOTIFY_MEDIUM:
        return "medium";
    case NOTIFY_LOW:
        return "low";
    }
    return "unknown";
}

const char *notify_status_to_string(enum notify_status s)
{
    return s == NOTIFY_RESOLVED ? "resolved" : "firing";
}

void notify_escape(struct sbuf *sb, const char *s, enum notify_escape esc)
{
    if (!s)
        return;
    if (esc == NOTIFY_ESC_NONE) {
        sbuf_puts(sb, s);
        return;
    }
    for (; *s; s++) {
        switch (*s) {
        case '&':
            sbuf_puts(sb, "&amp;");
            break;
        case '<':
            sbuf_puts(sb, "&lt;");
            break;
        case '>':
            sbuf_puts(sb, "&gt;");
            break;
        /* Only HTML needs quotes escaped (inside href="..."); Slack would
         * show "&quot;" literally. */
        case '"':
            sbuf_puts(sb, esc == NOTIFY_ESC_HTML ? "&quot;" : "\"");
            break;
        default:
            sbuf_putc(sb, *s);
        }
    }
}

void notify_form_encode(struct sbuf *sb, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            sbuf_putc(sb, (char)*p);
        } else if (*p == ' ') {
            sbuf_putc(sb, '+');
        } else {
            sbuf_putc(sb, '%');
            sbuf_putc(sb, hex[*p >> 4]);
            sbuf_putc(sb, hex[*p & 15]);
        }
    }
}

void notify_hmac_sha256_hex(const void *key, size_t key_len, const void *data, size_t len,
                            char hex[65])
{
    unsigned char mac[32];
    unsigned int mac_len = sizeof(mac);

    HMAC(EVP_sha256(), key, (int)key_len, data, len, mac, &mac_len);
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
}

void notify_sign(const char *secret, uint64_t ts_sec, const char *body, size_t len, char hex[65])
{
    struct sbuf sb = SBUF_INIT;

    sbuf_addf(&sb, "%" PRIu64 ".", ts_sec);
    sbuf_add(&sb, body, len);
    notify_hmac_sha256_hex(secret, strlen(secret), sb.buf, sb.len, hex);
    sbuf_release(&sb);
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    size_t k;
    uint32_t cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        k = 2, cp = s[0] & 0x1f;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        k = 3, cp = s[0] & 0x0f;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        k = 4, cp = s[0] & 0x07;
    else
        return 0;
    if (n < k)
        return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    /* Overlong forms, surrogates and values past U+10FFFF. */
    if ((k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return k;
}

size_t notify_utf8_prefix(const char *s, size_t len, size_t max, bool utf16, bool markup)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, units = 0, amp = SIZE_MAX;

    while (i < len) {
        size_t k = utf8_seq(p + i, len - i);
        size_t u = utf16 && k == 4 ? 2 : 1;

        if (!k)
            k = 1;
        if (units + u > max)
            break;
        if (markup && p[i] == '&')
            amp = i;
        else if (markup && p[i] == ';')
            amp = SIZE_MAX;
        units += u;
        i += k;
    }
    /* Cutting "&am" would leave Telegram/Slack a broken entity: back off to
     * before the '&' instead. */
    if (i < len && amp != SIZE_MAX)
        i = amp;
    return i;
}

void notify_utf8_clean(struct sbuf *sb, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t n = strlen((const char *)p);

    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq(p + i, n - i);

        if (k) {
            sbuf_add(sb, p + i, k);
            i += k;
        } else {
            sbuf_puts(sb, "\xef\xbf\xbd");
            i++;
        }
    }
}

void notify_header_clean(struct sbuf *sb, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++)
        sbuf_putc(sb, *p < 0x20 || *p == 0x7f ? ' ' : (char)*p);
}

const char *notify_rfc3339(uint64_t ms, char *buf, size_t n)
{
    time_t t = (time_t)(ms / 1000);
    unsigned frac = (unsigned)(ms % 1000);
    struct tm tm;
    int w;

    if (!ms) {
        snprintf(buf, n, "0001-01-01T00:00:00Z");
        return buf;
    }
    gmtime_r(&t, &tm);
    w = snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (frac) {
        int digits = 3;

        while (frac % 10 == 0)
            frac /= 10, digits--;
        snprintf(buf + w, n - (size_t)w, ".%0*uZ", digits, frac);
    } else {
        snprintf(buf + w, n - (size_t)w, "Z");
    }
    return buf;
}

/* Our own name tables: strftime's %a/%b follow the locale, RFC 5322 does not. */
static const char *const wdays[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

const char *notify_rfc5322_date(uint64_t ms, char *buf, size_t n)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    snprintf(buf, n, "%s, %02d %s %04d %02d:%02d:%02d +0000", wdays[tm.tm_wday], tm.tm_mday,
             months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

static void since_str(uint64_t ms, char *buf, size_t n)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    snprintf(buf, n, "%04d-%02d-%02d %02d:%02d UTC", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min);
}

/* "3d 4h", "1h 5m", "5m", "42s": two units are enough to read at a glance. */
static void duration_str(uint64_t ms, char *buf, size_t n)
{
    uint64_t s = ms / 1000;

    if (s >= 86400)
        snprintf(buf, n, "%" PRIu64 "d %" PRIu64 "h", s / 86400, s % 86400 / 3600);
    else if (s >= 3600)
        snprintf(buf, n, "%" PRIu64 "h %" PRIu64 "m", s / 3600, s % 3600 / 60);
    else if (s >= 60)
        snprintf(buf, n, "%" PRIu64 "m", s / 60);
    else
        snprintf(buf, n, "%" PRIu64 "s", s);
}

/* The group's status: firing while any alert fires. */
static enum notify_status group_status(const struct notify_group *g)
{
    for (size_t i = 0; i < g->n_alerts; i++)
        if (g->alerts[i].status == NOTIFY_FIRING)
            return NOTIFY_FIRING;
    return NOTIFY_RESOLVED;
}

static const char *const subject_fields[] = { "status",   "STATUS",    "count",
                                              "firing",   "resolved",  "severity",
                                              "monitors", "group_key", "external_url" };
static const char *const alert_fields[] = { "icon",    "monitor",     "severity", "status",
                                            "STATUS",  "since",       "duration", "summary",
                                            "message", "fingerprint", "ack_url",  "resolve_url" };

static bool known_field(const char *name, size_t len, bool ctx_alert)
{
    const char *const *f = ctx_alert ? alert_fields : subject_fields;
    size_t n = ctx_alert ? ARRAY_SIZE(alert_fields) : ARRAY_SIZE(subject_fields);

    if (ctx_alert && len > 6 && !strncmp(name, "label.", 6))
        return true;
    for (size_t i = 0; i < n; i++)
        if (strlen(f[i]) == len && !strncmp(f[i], name, len))
            return true;
    return false;
}

int notify_template_check(const char *tmpl, bool ctx_alert, struct opsd_error *err)
{
    for (const char *p = tmpl; *p; p++) {
        const char *end;

        if (*p != '{')
            continue;
        if (p[1] == '{') {
            p++;
            continue;
        }
        end = strchr(p, '}');
        if (!end)
            return opsd_errorf(err, -EINVAL, "unterminated field at '%.20s' in template", p);
        if (!known_field(p + 1, (size_t)(end - p - 1), ctx_alert))
            return opsd_errorf(err, -EINVAL, "unknown field '%.*s' in %s template",
                               (int)(end - p - 1), p + 1, ctx_alert ? "alert" : "subject");
        p = end;
    }
    return 0;
}

static void subject_field(struct sbuf *out, const char *name, size_t len,
                          const struct notify_group *g)
{
    enum notify_status st = group_status(g);
    size_t firing = 0, count = 0, shown = 0;
    enum notify_severity top = NOTIFY_LOW;

#define IS(lit) (len == strlen(lit) && !strncmp(name, lit, len))
    for (size_t i = 0; i < g->n_alerts; i++) {
        firing += g->alerts[i].status == NOTIFY_FIRING;
        if (g->alerts[i].status == st) {
            count++;
            top = MIN(top, g->alerts[i].severity);
        }
    }
    if (IS("status")) {
        sbuf_puts(out, notify_status_to_string(st));
    } else if (IS("STATUS")) {
        sbuf_puts(out, st == NOTIFY_FIRING ? "FIRING" : "RESOLVED");
    } else if (IS("count")) {
        sbuf_addf(out, "%zu", count);
    } else if (IS("firing")) {
        sbuf_addf(out, "%zu", firing);
    } else if (IS("resolved")) {
        sbuf_addf(out, "%zu", g->n_alerts - firing);
    } else if (IS("severity")) {
        sbuf_puts(out, notify_severity_to_string(top));
    } else if (IS("monitors")) {
        size_t more = 0;

        for (size_t i = 0; i < g->n_alerts; i++) {
            const char *m = g->alerts[i].monitor ? g->alerts[i].monitor : "";
            bool dup = false;

            if (g->alerts[i].status != st)
                continue;
            for (size_t j = 0; j < i && !dup; j++)
                dup = g->alerts[j].status == st && g->alerts[j].monitor &&
                      !strcmp(g->alerts[j].monitor, m);
            if (dup)
                continue;
            if (shown == 5) {
                more++;
                continue;
            }
            sbuf_puts(out, shown++ ? ", " : "");
            sbuf_puts(out, m);
        }
        if (more)
            sbuf_addf(out, " +%zu", more);
    } else if (IS("group_key")) {
        sbuf_puts(out, g->group_key ? g->group_key : "");
    } else if (IS("external_url")) {
        sbuf_puts(out, g->external_url ? g->external_url : "");
    }
}

static void alert_field(struct sbuf *out, const char *name, size_t len,
                        const struct notify_group *g, const struct notify_alert *a)
{
    bool firing = a->status == NOTIFY_FIRING;
    char buf[64];

    if (IS("icon")) {
        sbuf_puts(out, firing ? "\xf0\x9f\x94\xb4" : "\xe2\x9c\x85");
    } else if (IS("monitor")) {
        sbuf_puts(out, a->monitor ? a->monitor : "");
    } else if (IS("severity")) {
        sbuf_puts(out, notify_severity_to_string(a->severity));
    } else if (IS("status")) {
        sbuf_puts(out, notify_status_to_string(a->status));
    } else if (IS("STATUS")) {
        sbuf_puts(out, firing ? "FIRING" : "RESOLVED");
    } else if (IS("since")) {
        since_str(a->starts_at_ms, buf, sizeof(buf));
        sbuf_puts(out, buf);
    } else if (IS("duration")) {
        uint64_t end = !firing && a->ends_at_ms ? a->ends_at_ms : g->now_ms;

        duration_str(end > a->starts_at_ms ? end - a->starts_at_ms : 0, buf, sizeof(buf));
        sbuf_puts(out, buf);
    } else if (IS("summary") || IS("message")) {
        const char *s = IS("summary") ? a->summary : a->message;
        size_t n = s ? strlen(s) : 0;
        size_t cut = notify_utf8_prefix(s ? s : "", n, NOTIFY_MAX_FIELD, false, false);

        sbuf_add(out, s, cut);
        if (cut < n)
            sbuf_puts(out, "\xe2\x80\xa6");
    } else if (IS("fingerprint")) {
        sbuf_puts(out, a->fingerprint ? a->fingerprint : "");
    } else if (IS("ack_url")) {
        sbuf_puts(out, firing && a->ack_url ? a->ack_url : "");
    } else if (IS("resolve_url")) {
        sbuf_puts(out, firing && a->resolve_url ? a->resolve_url : "");
    } else if (len > 6 && !strncmp(name, "label.", 6)) {
        for (size_t i = 0; i < a->n_labels; i++)
            if (strlen(a->labels[i].key) == len - 6 &&
                !strncmp(a->labels[i].key, name + 6, len - 6))
                sbuf_puts(out, a->labels[i].value ? a->labels[i].value : "");
    }
#undef IS
}

void notify_render(struct sbuf *sb, const char *tmpl, const struct notify_group *g,
                   const struct notify_alert *a, enum notify_escape esc)
{
    struct sbuf line = SBUF_INIT, val = SBUF_INIT;
    const char *p = tmpl;
    bool first = true;

    /* Line by line, so a line whose fields all came out empty can go. */
    while (*p) {
        const char *eol = strchrnul(p, '\n');
        bool fields = false, filled = false;

        sbuf_reset(&line);
        for (const char *q = p; q < eol; q++) {
            const char *end;

            if (*q != '{') {
                sbuf_putc(&line, *q);
                continue;
            }
            if (q[1] == '{') {
                sbuf_putc(&line, '{');
                q++;
                continue;
            }
            end = memchr(q, '}', (size_t)(eol - q));
            if (!end || !known_field(q + 1, (size_t)(end - q - 1), a != NULL)) {
                sbuf_putc(&line, *q); /* unchecked template: show it as typed */
                continue;
            }
            sbuf_reset(&val);
            if (a)
                alert_field(&val, q + 1, (size_t)(end - q - 1), g, a);
            else
                subject_field(&val, q + 1, (size_t)(end - q - 1), g);
            fields = true;
            filled |= val.len > 0;
            notify_escape(&line, val.buf, esc);
            q = end;
        }
        if (!fields || filled) {
            if (!first)
                sbuf_putc(sb, '\n');
            sbuf_add(sb, line.buf, line.len);
            first = false;
        }
        p = *eol ? eol + 1 : eol;
    }
    sbuf_release(&line);
    sbuf_release(&val);
}
