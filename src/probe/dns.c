/* DNS answers: the wire format of a response read with every length and
 * pointer checked against the message (a response is outside input), the
 * records of the type asked for written as text, and the judgement of
 * those texts against a dns monitor's expect. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "probe/probe.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

#define DNS_HEADER_LEN 12
#define DNS_CLASS_IN 1
#define DNS_MAX_WIRE_NAME 255
/* Every byte of a name escaped as \DDD, plus the dots and the NUL. */
#define DNS_MAX_NAME_TEXT (4 * DNS_MAX_WIRE_NAME + 1)
#define DNS_MAX_POINTERS 64
/* What a result message shows of one answer and of the expected list. */
#define MSG_MAX_ONE 80
#define MSG_MAX_LIST 256

/* ---- text with a cap ------------------------------------------------------ */

/* A fixed buffer filled up to cap bytes; a piece that does not fit whole is
 * left out and marks the text as cut. */
struct capbuf {
    char *buf;
    size_t len, cap; /* cap excludes the NUL */
    bool cut;
};

static void cap_add(struct capbuf *b, const char *s, size_t n)
{
    if (b->cut || n > b->cap - b->len) {
        b->cut = true;
        return;
    }
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
}

static void cap_puts(struct capbuf *b, const char *s)
{
    cap_add(b, s, strlen(s));
}

static void cap_byte_escaped(struct capbuf *b, uint8_t c)
{
    char esc[5];

    snprintf(esc, sizeof(esc), "\\%03u", (unsigned)c);
    cap_add(b, esc, 4);
}

/* ---- reading the wire format ------------------------------------------------ */

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads the name at *off (following compression pointers, which must point
 * backwards) into out in presentation form without the final dot, "." for
 * the root. *off moves past the name where it stands. */
static int read_name(const uint8_t *msg, size_t len, size_t *off, char out[DNS_MAX_NAME_TEXT])
{
    struct capbuf b = { .buf = out, .cap = DNS_MAX_NAME_TEXT - 1 };
    size_t pos = *off, end = 0, wire = 1;
    unsigned hops = 0;
    bool jumped = false;

    out[0] = '\0';
    for (;;) {
        uint8_t l;

        if (pos >= len)
            return -EBADMSG;
        l = msg[pos];
        if ((l & 0xc0) == 0xc0) {
            size_t target;

            if (pos + 1 >= len)
                return -EBADMSG;
            target = (size_t)(l & 0x3f) << 8 | msg[pos + 1];
            if (target >= pos || ++hops > DNS_MAX_POINTERS)
                return -EBADMSG;
            if (!jumped)
                end = pos + 2;
            jumped = true;
            pos = target;
            continue;
        }
        if (l & 0xc0) /* the obsolete extended label types */
            return -EBADMSG;
        pos++;
        if (l == 0)
            break;
        wire += (size_t)l + 1;
        if (wire > DNS_MAX_WIRE_NAME || l > len - pos)
            return -EBADMSG;
        if (b.len)
            cap_add(&b, ".", 1);
        for (size_t i = 0; i < l; i++) {
            uint8_t c = msg[pos + i];
            char pair[2] = { '\\', (char)c };

            if (c == '.' || c == '\\')
                cap_add(&b, pair, 2);
            else if (c < 0x21 || c > 0x7e)
                cap_byte_escaped(&b, c);
            else
                cap_add(&b, (const char *)&c, 1);
        }
        pos += l;
    }
    if (!b.len)
        cap_add(&b, ".", 1);
    *off = jumped ? end : pos;
    return b.cut ? -EBADMSG : 0;
}

/* The length of the valid UTF-8 sequence of 2 to 4 bytes at p, or 0. */
static size_t utf8_seq(const uint8_t *p, size_t n)
{
    size_t want;
    uint32_t cp;

    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        want = 2, cp = p[0] & 0x1fu;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        want = 3, cp = p[0] & 0x0fu;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        want = 4, cp = p[0] & 0x07u;
    else
        return 0;
    if (n < want)
        return 0;
    for (size_t i = 1; i < want; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3fu);
    }
    /* overlong forms, surrogates, beyond U+10FFFF */
    if ((want == 3 && cp < 0x800) || (want == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return want;
}

/* A TXT record's character-strings, joined. */
static int txt_text(const uint8_t *rd, size_t rdlen, struct capbuf *b)
{
    _cleanup_free_ uint8_t *raw = xmalloc(rdlen ? rdlen : 1);
    size_t n = 0;

    for (size_t pos = 0; pos < rdlen;) {
        size_t l = rd[pos++];

        if (l > rdlen - pos)
            return -EBADMSG;
        memcpy(raw + n, rd + pos, l);
        n += l;
        pos += l;
    }
    for (size_t i = 0; i < n && !b->cut;) {
        size_t k;

        if (raw[i] >= 0x20 && raw[i] < 0x7f) {
            cap_add(b, (const char *)raw + i, 1);
            i++;
        } else if (raw[i] >= 0x80 && (k = utf8_seq(raw + i, n - i))) {
            cap_add(b, (const char *)raw + i, k);
            i += k;
        } else {
            cap_byte_escaped(b, raw[i]);
            i++;
        }
    }
    return 0;
}

/* Writes the rdata of one record of type rr (at msg + off, rdlen bytes) as
 * text into b. */
static int rdata_text(const uint8_t *msg, size_t len, size_t off, size_t rdlen,
                      enum conf_dns_record rr, struct capbuf *b)
{
    char name[DNS_MAX_NAME_TEXT], name2[DNS_MAX_NAME_TEXT], num[64];
    char addr[INET6_ADDRSTRLEN];
    size_t end = off + rdlen, pos = off;
    /* Names inside rdata may point anywhere before them in the message,
     * but must themselves end inside the rdata. */
    size_t fixed;

    switch (rr) {
    case CONF_DNS_A:
    case CONF_DNS_AAAA:
        if (rdlen != (rr == CONF_DNS_A ? 4u : 16u))
            return -EBADMSG;
        inet_ntop(rr == CONF_DNS_A ? AF_INET : AF_INET6, msg + off, addr, sizeof(addr));
        cap_puts(b, addr);
        return 0;
    case CONF_DNS_CNAME:
    case CONF_DNS_NS:
    case CONF_DNS_PTR:
        if (read_name(msg, end, &pos, name) < 0 || pos != end)
            return -EBADMSG;
        cap_puts(b, name);
        return 0;
    case CONF_DNS_MX:
        fixed = 2;
        if (rdlen < fixed)
            return -EBADMSG;
        pos += fixed;
        if (read_name(msg, end, &pos, name) < 0 || pos != end)
            return -EBADMSG;
        snprintf(num, sizeof(num), "%u ", (unsigned)get16(msg + off));
        cap_puts(b, num);
        cap_puts(b, name);
        return 0;
    case CONF_DNS_SRV:
        fixed = 6;
        if (rdlen < fixed)
            return -EBADMSG;
        pos += fixed;
        if (read_name(msg, end, &pos, name) < 0 || pos != end)
            return -EBADMSG;
        snprintf(num, sizeof(num), "%u %u %u ", (unsigned)get16(msg + off),
                 (unsigned)get16(msg + off + 2), (unsigned)get16(msg + off + 4));
        cap_puts(b, num);
        cap_puts(b, name);
        return 0;
    case CONF_DNS_SOA:
        if (read_name(msg, end, &pos, name) < 0 || read_name(msg, end, &pos, name2) < 0 ||
            end - pos != 20)
            return -EBADMSG;
        snprintf(num, sizeof(num), " %" PRIu32, get32(msg + pos));
        cap_puts(b, name);
        cap_puts(b, " ");
        cap_puts(b, name2);
        cap_puts(b, num);
        return 0;
    case CONF_DNS_TXT:
        return txt_text(msg + off, rdlen, b);
    }
    return -EBADMSG;
}

/* Orders texts so that numbers compare as numbers: "9" before "10",
 * "10.0.0.9" before "10.0.0.10", "5 mx" before "10 mx". Letters ignore case;
 * texts equal so far fall back to strcmp. */
static int natural_cmp(const char *a, const char *b)
{
    const char *a0 = a, *b0 = b;

    while (*a && *b) {
        if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
            size_t na, nb;
            int c;

            while (*a == '0' && isdigit((unsigned char)a[1]))
                a++;
            while (*b == '0' && isdigit((unsigned char)b[1]))
                b++;
            na = strspn(a, "0123456789");
            nb = strspn(b, "0123456789");
            if (na != nb)
                return na < nb ? -1 : 1;
            c = strncmp(a, b, na);
            if (c)
                return c;
            a += na;
            b += nb;
            continue;
        }
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return tolower((unsigned char)*a) - tolower((unsigned char)*b);
        a++;
        b++;
    }
    if (*a || *b)
        return *a ? 1 : -1;
    return strcmp(a0, b0);
}

static int cmp_answer(const void *x, const void *y)
{
    return natural_cmp(*(char *const *)x, *(char *const *)y);
}

void probe_dns_answers_clear(struct probe_dns_answers *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
    free(a->alias);
    *a = (struct probe_dns_answers){ 0 };
}

int probe_dns_parse(const uint8_t *msg, size_t len, enum conf_dns_record rr,
                    struct probe_dns_answers *ret)
{
    struct probe_dns_answers a = { 0 };
    char name[DNS_MAX_NAME_TEXT];
    char text[PROBE_DNS_MAX_TEXT + 1];
    size_t pos = DNS_HEADER_LEN, cap_v = 0;
    unsigned qdcount, ancount;

    if (!msg || len < DNS_HEADER_LEN)
        return -EBADMSG;
    qdcount = get16(msg + 4);
    ancount = get16(msg + 6);
    for (unsigned i = 0; i < qdcount; i++) {
        if (read_name(msg, len, &pos, name) < 0 || len - pos < 4)
            return -EBADMSG;
        pos += 4;
    }
    for (unsigned i = 0; i < ancount; i++) {
        unsigned type, class;
        size_t rdlen;
        struct capbuf b = { .buf = text, .cap = PROBE_DNS_MAX_TEXT };

        if (read_name(msg, len, &pos, name) < 0 || len - pos < 10)
            goto bad;
        type = get16(msg + pos);
        class = get16(msg + pos + 2);
        rdlen = get16(msg + pos + 8);
        pos += 10;
        if (rdlen > len - pos)
            goto bad;
        text[0] = '\0';
        if (class == DNS_CLASS_IN && type == (unsigned)rr) {
            if (rdata_text(msg, len, pos, rdlen, rr, &b) < 0)
                goto bad;
            if (a.n >= PROBE_DNS_MAX_ANSWERS) {
                a.n_dropped++;
            } else {
                xgrow((void **)&a.v, &cap_v, a.n + 1, sizeof(char *));
                a.v[a.n++] = xstrdup(text);
                a.cut |= b.cut;
            }
        } else if (class == DNS_CLASS_IN && type == CONF_DNS_CNAME) {
            if (rdata_text(msg, len, pos, rdlen, CONF_DNS_CNAME, &b) < 0)
                goto bad;
            free(a.alias);
            a.alias = xstrdup(text);
        }
        pos += rdlen;
    }
    if (a.n)
        qsort(a.v, a.n, sizeof(char *), cmp_answer);
    *ret = a;
    return 0;
bad:
    probe_dns_answers_clear(&a);
    return -EBADMSG;
}

/* ---- matching ----------------------------------------------------------------- */

static bool has_names(enum conf_dns_record rr)
{
    return rr != CONF_DNS_A && rr != CONF_DNS_AAAA && rr != CONF_DNS_TXT;
}

/* The form two texts of type rr are compared in: an address in canonical
 * form; names in lower case without a final dot on any word. */
static void normalize(enum conf_dns_record rr, const char *s, char *out, size_t n)
{
    unsigned char bin[16];
    size_t o = 0;

    if ((rr == CONF_DNS_A || rr == CONF_DNS_AAAA)) {
        int af = rr == CONF_DNS_A ? AF_INET : AF_INET6;
        if (inet_pton(af, s, bin) == 1 && inet_ntop(af, bin, out, (socklen_t)n))
            return;
    }
    if (!has_names(rr)) {
        snprintf(out, n, "%s", s);
        return;
    }
    for (size_t i = 0; s[i] && o + 1 < n; i++) {
        bool word_end = s[i + 1] == '\0' || s[i + 1] == ' ';
        size_t backslashes = 0;
        bool escaped;

        while (backslashes < i && s[i - 1 - backslashes] == '\\')
            backslashes++;
        escaped = backslashes % 2;

        /* "a.example." -> "a.example", but the root "." stays */
        if (s[i] == '.' && word_end && !escaped && o > 0 && out[o - 1] != ' ')
            continue;
        out[o++] = (char)tolower((unsigned char)s[i]);
    }
    out[o] = '\0';
}

bool probe_dns_same(enum conf_dns_record rr, const char *a, const char *e)
{
    char na[PROBE_DNS_MAX_TEXT + 1], ne[PROBE_DNS_MAX_TEXT + 1];

    normalize(rr, a, na, sizeof(na));
    normalize(rr, e, ne, sizeof(ne));
    return strcmp(na, ne) == 0;
}

bool probe_dns_contains(enum conf_dns_record rr, const char *a, const char *e)
{
    return rr == CONF_DNS_TXT ? strstr(a, e) != NULL : strcasestr(a, e) != NULL;
}

/* ---- judging -------------------------------------------------------------------- */

/* Appends s to b, cut at max bytes (on a UTF-8 boundary) with "…". */
static void add_short(struct capbuf *b, const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n <= max) {
        cap_add(b, s, n);
        return;
    }
    while (n > 0 && (n > max || ((unsigned char)s[n] & 0xc0) == 0x80))
        n--;
    cap_add(b, s, n);
    cap_puts(b, "…");
}

/* "a, b, c" from the n texts of v, each cut at MSG_MAX_ONE bytes, TXT
 * quoted, in at most cap - 1 bytes: what does not fit (or was dropped)
 * becomes "and N more". */
static void list_text(enum conf_dns_record rr, char *const *v, size_t n, size_t dropped, char *buf,
                      size_t cap)
{
    const char *q = rr == CONF_DNS_TXT ? "\"" : "";
    struct capbuf lb = { .buf = buf, .cap = cap - 1 };
    char more[48];
    size_t shown;

    buf[0] = '\0';
    for (shown = 0; shown < n; shown++) {
        char one[MSG_MAX_ONE + 16];
        struct capbuf ob = { .buf = one, .cap = sizeof(one) - 1 };
        size_t reserve = shown + 1 < n || dropped ? sizeof(more) : 0;

        one[0] = '\0';
        if (shown)
            cap_puts(&ob, ", ");
        cap_puts(&ob, q);
        add_short(&ob, v[shown], MSG_MAX_ONE);
        cap_puts(&ob, q);
        if (lb.len + ob.len + reserve > lb.cap)
            break;
        cap_add(&lb, one, ob.len);
    }
    if (shown < n || dropped) {
        if (shown)
            snprintf(more, sizeof(more), " and %zu more", n - shown + dropped);
        else
            snprintf(more, sizeof(more), "%zu answers", n + dropped);
        lb.cut = false;
        cap_puts(&lb, more);
    }
}

static void set_message(struct probe_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_message(struct probe_result *r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(r->message, sizeof(r->message), fmt, ap);
    va_end(ap);
}

/* How the answers differ from expect.equals as sets: expected entries no
 * answer matches, and answers no entry matches (those dropped past the
 * cap count as such: they cannot be compared). */
static void equals_diff(const struct conf_monitor *m, const struct probe_dns_answers *a,
                        size_t *ret_missing, size_t *ret_unexpected)
{
    size_t missing = 0, unexpected = a->n_dropped;

    for (size_t i = 0; i < a->n; i++) {
        bool found = false;
        for (size_t j = 0; j < m->n_expect_equals && !found; j++)
            found = probe_dns_same(m->record, a->v[i], m->expect_equals[j]);
        unexpected += !found;
    }
    for (size_t j = 0; j < m->n_expect_equals; j++) {
        bool found = false, repeated = false;
        for (size_t k = 0; k < j && !repeated; k++)
            repeated = probe_dns_same(m->record, m->expect_equals[k], m->expect_equals[j]);
        for (size_t i = 0; i < a->n && !found && !repeated; i++)
            found = probe_dns_same(m->record, a->v[i], m->expect_equals[j]);
        missing += !found && !repeated;
    }
    *ret_missing = missing;
    *ret_unexpected = unexpected;
}

static bool contains_ok(const struct conf_monitor *m, const struct probe_dns_answers *a)
{
    for (size_t i = 0; i < a->n; i++)
        if (probe_dns_contains(m->record, a->v[i], m->expect_contains))
            return true;
    return false;
}

/* Room for a list of answers, once the fixed parts of a message take used
 * bytes. */
static size_t room_after(size_t used)
{
    return used + 48 < OPSD_MAX_MESSAGE ? MIN(OPSD_MAX_MESSAGE - used, MSG_MAX_LIST) : 48;
}

/* The expected texts are never quoted, like the http and tcp monitors'
 * (they may come from ${VAR}, and results are served to anyone who can
 * read the API); the answers are: they are public DNS data. */
static void judge_answers(const struct conf_monitor *m, const struct probe_dns_obs *obs,
                          const char *what, const char *took, struct probe_result *r)
{
    const struct probe_dns_answers *a = obs->answers;
    char list[OPSD_MAX_MESSAGE];
    size_t fixed = strlen(what) + strlen(took) + 8, missing, unexpected;

    if (m->expect_contains && !contains_ok(m, a)) {
        list_text(m->record, a->v, a->n, a->n_dropped, list, room_after(fixed + 40));
        r->status = PROBE_CRITICAL;
        set_message(r, "%s: %s %s, expect.contains not found in the answers", what, list, took);
        return;
    }
    if (m->expect_equals) {
        equals_diff(m, a, &missing, &unexpected);
        if (missing || unexpected) {
            char diff[64];

            if (missing && unexpected)
                snprintf(diff, sizeof(diff), "%zu missing, %zu unexpected", missing, unexpected);
            else if (missing)
                snprintf(diff, sizeof(diff), "%zu missing", missing);
            else
                snprintf(diff, sizeof(diff), "%zu unexpected", unexpected);
            list_text(m->record, a->v, a->n, a->n_dropped, list, room_after(fixed + 64));
            r->status = PROBE_CRITICAL;
            set_message(r, "%s: %s %s, not the expect.equals set (%s)", what, list, took, diff);
            return;
        }
    }
    if (m->max_latency_ms && (uint64_t)obs->total_us > m->max_latency_ms * 1000) {
        list_text(m->record, a->v, a->n, a->n_dropped, list, room_after(fixed + 40));
        r->status = PROBE_CRITICAL;
        set_message(r, "%s: %s %s, above max_latency %" PRIu64 " ms", what, list, took,
                    m->max_latency_ms);
        return;
    }
    list_text(m->record, a->v, a->n, a->n_dropped, list, room_after(fixed));
    r->status = PROBE_OK;
    set_message(r, "%s: %s %s", what, list, took);
}

void probe_dns_evaluate(const struct conf_monitor *m, const struct probe_dns_obs *obs,
                        struct probe_result *r)
{
    const char *server = m->dns_server ? m->dns_server : "the system resolvers";
    const char *err = obs->error ? obs->error : "unknown error";
    char what[300], took[64], retries[32] = "";
    double ms = (double)obs->total_us / 1000.0;

    r->dns_us = obs->server_us;
    r->total_us = obs->total_us;
    snprintf(what, sizeof(what), "%s %s", conf_dns_record_to_string(m->record), m->query);
    if (obs->retries)
        snprintf(retries, sizeof(retries), " (%u retr%s)", obs->retries,
                 obs->retries == 1 ? "y" : "ies");
    snprintf(took, sizeof(took), "in %.1f ms%s", ms, retries);
    r->status = PROBE_CRITICAL;

    switch (obs->outcome) {
    case PROBE_DNS_ANSWERED:
        if (obs->answers && (obs->answers->n || obs->answers->n_dropped)) {
            judge_answers(m, obs, what, took, r);
            return;
        }
        /* nothing of the type asked for: */
        /* fall through */
    case PROBE_DNS_NODATA:
        if (obs->answers && obs->answers->alias)
            set_message(r, "%s: no %s record (NODATA; an alias of %s) %s", what,
                        conf_dns_record_to_string(m->record), obs->answers->alias, took);
        else
            set_message(r, "%s: no %s record (NODATA) %s", what,
                        conf_dns_record_to_string(m->record), took);
        return;
    case PROBE_DNS_NXDOMAIN:
        set_message(r, "%s: no such domain (NXDOMAIN) %s", what, took);
        return;
    case PROBE_DNS_SERVFAIL:
        set_message(r, "%s: server failure (SERVFAIL) from %s %s", what, server, took);
        return;
    case PROBE_DNS_REFUSED:
        set_message(r, "%s: query refused (REFUSED) by %s %s", what, server, took);
        return;
    case PROBE_DNS_FORMERR:
        set_message(r, "%s: format error (FORMERR) from %s %s", what, server, took);
        return;
    case PROBE_DNS_NOTIMP:
        set_message(r, "%s: not implemented (NOTIMP) by %s %s", what, server, took);
        return;
    case PROBE_DNS_BADRESP:
        set_message(r, "%s: malformed response from %s %s", what, server, took);
        return;
    case PROBE_DNS_TIMEOUT:
        if (obs->retries > 1)
            set_message(r, "%s: timeout, no answer from %s (after %.1f ms, %u tries)", what, server,
                        ms, obs->retries);
        else
            set_message(r, "%s: timeout, no answer from %s (after %.1f ms)", what, server, ms);
        return;
    case PROBE_DNS_CONNREFUSED:
        set_message(r, "%s: connection refused by %s (after %.1f ms)", what, server, ms);
        return;
    case PROBE_DNS_NO_SERVER:
        set_message(r, "%s: cannot look up the server '%s': %s (after %.1f ms)", what, server, err,
                    ms);
        return;
    case PROBE_DNS_ERROR:
        set_message(r, "%s: %s (after %.1f ms)", what, err, ms);
        return;
    case PROBE_DNS_INTERNAL:
        break;
    }
    r->status = PROBE_UNKNOWN;
    set_message(r, "%s: %s", what, err);
}

int probe_dns_split_server(const char *server, char *ret_host, size_t n, unsigned *ret_port)
{
    const char *host = server, *port = NULL, *colon;
    size_t hlen;
    unsigned long p = 53;

    if (server[0] == '[') {
        const char *end = strchr(server, ']');

        if (!end || (end[1] && end[1] != ':'))
            return -EINVAL;
        host = server + 1;
        hlen = (size_t)(end - host);
        port = end[1] ? end + 2 : NULL;
    } else if ((colon = strchr(server, ':')) && !strchr(colon + 1, ':')) {
        hlen = (size_t)(colon - server);
        port = colon + 1;
    } else {
        hlen = strlen(server);
    }
    if (port) {
        char *end;

        if (!isdigit((unsigned char)*port))
            return -EINVAL;
        errno = 0;
        p = strtoul(port, &end, 10);
        if (*end || errno || p < 1 || p > 65535)
            return -EINVAL;
    }
    if (hlen == 0 || hlen >= n)
        return -EINVAL;
    memcpy(ret_host, host, hlen);
    ret_host[hlen] = '\0';
    *ret_port = (unsigned)p;
    return 0;
}
