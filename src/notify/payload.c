/* One builder per channel: a group of alerts in, the exact requests its API
 * expects out. JSON is dumped compact with keys in insertion order so the
 * bytes (and so the webhook signature) are reproducible. */
#include "notify/notify.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

static const char *const kind_names[] = {
    [NOTIFY_WEBHOOK] = "webhook",     [NOTIFY_SLACK] = "slack", [NOTIFY_TELEGRAM] = "telegram",
    [NOTIFY_PAGERDUTY] = "pagerduty", [NOTIFY_NTFY] = "ntfy",   [NOTIFY_TWILIO] = "twilio",
    [NOTIFY_EMAIL] = "email",
};

const char *notify_kind_to_string(enum notify_kind k)
{
    return k >= 1 && (size_t)k < ARRAY_SIZE(kind_names) ? kind_names[k] : "unknown";
}

int notify_kind_from_string(const char *s, enum notify_kind *ret)
{
    for (size_t i = 1; i < ARRAY_SIZE(kind_names); i++)
        if (!strcmp(s, kind_names[i])) {
            *ret = (enum notify_kind)i;
            return 0;
        }
    return -EINVAL;
}

static const char *str(const char *s)
{
    return s ? s : "";
}

static struct notify_request *req_add(struct notify_request_list *l, const char *method, char *url,
                                      const char *content_type)
{
    struct notify_request *q;

    l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
    q = &l->v[l->n++];
    memset(q, 0, sizeof(*q));
    q->method = method;
    q->url = url;
    q->content_type = content_type;
    return q;
}

static void __attribute__((format(printf, 2, 3)))
hdr_add(struct notify_request *q, const char *fmt, ...)
{
    va_list ap;

    q->headers = xrealloc(q->headers, (q->n_headers + 1) * sizeof(*q->headers));
    va_start(ap, fmt);
    q->headers[q->n_headers++] = xvasprintf(fmt, ap);
    va_end(ap);
}

static void body_set(struct notify_request *q, struct sbuf *sb)
{
    q->body = sbuf_detach(sb, &q->body_len);
}

void notify_request_list_free(struct notify_request_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        struct notify_request *q = &l->v[i];

        free(q->url);
        for (size_t j = 0; j < q->n_headers; j++)
            free(q->headers[j]);
        free(q->headers);
        free(q->body);
        free(q->mail_from);
        for (size_t j = 0; j < q->n_rcpt; j++)
            free(q->rcpt[j]);
        free(q->rcpt);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* A JSON string of s with invalid UTF-8 replaced: jansson refuses it, and a
 * monitor's output is not ours to trust. New reference. */
static json_t *jstr(const char *s)
{
    struct sbuf sb = SBUF_INIT;
    json_t *j;

    notify_utf8_clean(&sb, s);
    j = json_stringn(sb.buf, sb.len);
    sbuf_release(&sb);
    return j;
}

static json_t *jstr_or_null(const char *s)
{
    return s ? jstr(s) : json_null();
}

static json_t *jtime(uint64_t ms)
{
    char buf[40];

    return json_string(notify_rfc3339(ms, buf, sizeof(buf)));
}

/* Steals j, which must not be NULL (only OOM makes jansson return NULL). */
static void jset(json_t *o, const char *key, json_t *j)
{
    if (!j || json_object_set_new(o, key, j) < 0)
        abort();
}

static void jpush(json_t *a, json_t *j)
{
    if (!j || json_array_append_new(a, j) < 0)
        abort();
}

static void body_json(struct notify_request *q, json_t *root)
{
    q->body = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!q->body)
        abort();
    q->body_len = strlen(q->body);
    json_decref(root);
}

static enum notify_status group_status(const struct notify_group *g)
{
    for (size_t i = 0; i < g->n_alerts; i++)
        if (g->alerts[i].status == NOTIFY_FIRING)
            return NOTIFY_FIRING;
    return NOTIFY_RESOLVED;
}

static const char *subject_tmpl(const struct notify_receiver *r)
{
    return r->subject_template ? r->subject_template : NOTIFY_DEFAULT_SUBJECT;
}

static const char *alert_tmpl(const struct notify_receiver *r)
{
    return r->alert_template ? r->alert_template : NOTIFY_DEFAULT_ALERT;
}

static char *render_subject(const struct notify_receiver *r, const struct notify_group *g,
                            enum notify_escape esc)
{
    struct sbuf sb = SBUF_INIT;

    notify_render(&sb, subject_tmpl(r), g, NULL, esc);
    return sbuf_detach(&sb, NULL);
}

/* The alert blocks, joined by a blank line. */
static void render_alerts(struct sbuf *sb, const struct notify_receiver *r,
                          const struct notify_group *g, enum notify_escape esc)
{
    for (size_t i = 0; i < g->n_alerts; i++) {
        if (i)
            sbuf_puts(sb, "\n\n");
        notify_render(sb, alert_tmpl(r), g, &g->alerts[i], esc);
    }
}

/* Cuts sb to at most max units (see notify_utf8_prefix) and appends note,
 * keeping the whole within max. */
static void cut(struct sbuf *sb, size_t max, bool utf16, bool markup, const char *note)
{
    size_t note_units = 0, n;

    /* The note is ours and valid UTF-8: count its lead bytes (4-byte
     * sequences are two UTF-16 units). */
    for (const unsigned char *p = (const unsigned char *)note; *p; p++)
        note_units += (*p & 0xc0) != 0x80 ? (utf16 && *p >= 0xf0 ? 2 : 1) : 0;

    if (notify_utf8_prefix(sb->buf, sb->len, max, utf16, markup) == sb->len)
        return;
    /* Counting units of what fits: max minus the note's length. */
    n = notify_utf8_prefix(sb->buf, sb->len, max - note_units, utf16, markup);
    sb->len = n;
    sb->buf[n] = '\0';
    sbuf_puts(sb, note);
}

static json_t *labels_obj(const struct notify_label *l, size_t n)
{
    json_t *o = json_object();

    for (size_t i = 0; i < n; i++)
        jset(o, str(l[i].key), jstr(l[i].value));
    return o;
}

static int setting(const char *v, const char *what, const struct notify_receiver *r,
                   struct opsd_error *err)
{
    if (v && *v)
        return 0;
    return opsd_errorf(err, -EINVAL, "receiver '%s' (%s) has no %s", str(r->name),
                       notify_kind_to_string(r->kind), what);
}

/* --- webhook --- */

static json_t *opsd_payload(const struct notify_receiver *r, const struct notify_group *g,
                            const char *subject)
{
    json_t *root = json_object(), *alerts = json_array();
    size_t n = MIN(g->n_alerts, NOTIFY_MAX_ALERTS);

    jset(root, "version", json_string("1"));
    jset(root, "idempotency_key", jstr(str(g->idempotency_key)));
    jset(root, "group_key", jstr(str(g->group_key)));
    jset(root, "status", json_string(notify_status_to_string(group_status(g))));
    jset(root, "reason",
         json_string(g->reason ? g->reason : notify_status_to_string(group_status(g))));
    jset(root, "receiver", jstr(str(r->name)));
    jset(root, "external_url", jstr_or_null(g->external_url));
    jset(root, "title", jstr(subject));
    jset(root, "group_labels", labels_obj(g->group_labels, g->n_group_labels));
    jset(root, "truncated_alerts", json_integer((json_int_t)(g->n_alerts - n)));
    for (size_t i = 0; i < n; i++) {
        const struct notify_alert *a = &g->alerts[i];
        json_t *o = json_object();

        jset(o, "id", a->id ? json_integer((json_int_t)a->id) : json_null());
        jset(o, "fingerprint", jstr(str(a->fingerprint)));
        jset(o, "status", json_string(notify_status_to_string(a->status)));
        jset(o, "acknowledged", json_boolean(a->acknowledged));
        jset(o, "severity", json_string(notify_severity_to_string(a->severity)));
        jset(o, "monitor", jstr(str(a->monitor)));
        jset(o, "labels", labels_obj(a->labels, a->n_labels));
        jset(o, "summary", jstr(str(a->summary)));
        jset(o, "message", jstr(str(a->message)));
        jset(o, "starts_at", jtime(a->starts_at_ms));
        jset(o, "ends_at", a->ends_at_ms ? jtime(a->ends_at_ms) : json_null());
        jset(o, "ack_url", jstr_or_null(a->ack_url));
        jset(o, "resolve_url", jstr_or_null(a->resolve_url));
        jpush(alerts, o);
    }
    jset(root, "alerts", alerts);
    return root;
}

static int keycmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Go marshals Alertmanager's KV maps with sorted keys; so do we. Steals o. */
static json_t *sorted(json_t *o)
{
    size_t n = json_object_size(o), i = 0;
    _cleanup_free_ const char **keys = xcalloc(n ? n : 1, sizeof(*keys));
    json_t *s = json_object(), *v;
    const char *key;

    json_object_foreach(o, key, v) keys[i++] = key;
    qsort(keys, n, sizeof(*keys), keycmp);
    for (i = 0; i < n; i++)
        jset(s, keys[i], json_incref(json_object_get(o, keys[i])));
    json_decref(o);
    return s;
}

/* Alertmanager's labels: ours, plus alertname and severity unless set. */
static json_t *am_labels(const struct notify_alert *a)
{
    json_t *o = labels_obj(a->labels, a->n_labels);

    if (!json_object_get(o, "alertname"))
        jset(o, "alertname", jstr(str(a->monitor)));
    if (!json_object_get(o, "severity"))
        jset(o, "severity", json_string(notify_severity_to_string(a->severity)));
    return sorted(o);
}

static json_t *am_annotations(const struct notify_alert *a)
{
    json_t *o = json_object();

    if (a->summary)
        jset(o, "summary", jstr(a->summary));
    if (a->message)
        jset(o, "description", jstr(a->message));
    if (a->ack_url)
        jset(o, "ack_url", jstr(a->ack_url));
    if (a->resolve_url)
        jset(o, "resolve_url", jstr(a->resolve_url));
    return sorted(o);
}

/* The pairs every object in objs carries with the same value, as Alertmanager
 * computes commonLabels/commonAnnotations. */
static json_t *common(json_t *const *objs, size_t n)
{
    json_t *o = json_object();
    const char *key;
    json_t *v;

    if (!n)
        return o;
    json_object_foreach(objs[0], key, v)
    {
        bool all = true;

        for (size_t i = 1; i < n && all; i++)
            all = json_equal(json_object_get(objs[i], key), v);
        if (all)
            jset(o, key, json_incref(v));
    }
    return o;
}

static json_t *am_payload(const struct notify_receiver *r, const struct notify_group *g)
{
    json_t *root = json_object(), *alerts = json_array();
    size_t n = MIN(g->n_alerts, NOTIFY_MAX_ALERTS);
    _cleanup_free_ json_t **lab = xcalloc(n, sizeof(json_t *));
    _cleanup_free_ json_t **ann = xcalloc(n, sizeof(json_t *));

    for (size_t i = 0; i < n; i++) {
        const struct notify_alert *a = &g->alerts[i];
        json_t *o = json_object();
        lab[i] = am_labels(a);
        ann[i] = am_annotations(a);
        jset(o, "status", json_string(notify_status_to_string(a->status)));
        jset(o, "labels", lab[i]);
        jset(o, "annotations", ann[i]);
        jset(o, "startsAt", jtime(a->starts_at_ms));
        jset(o, "endsAt", jtime(a->ends_at_ms));
        jset(o, "generatorURL", jstr(str(g->external_url)));
        jset(o, "fingerprint", jstr(str(a->fingerprint)));
        jpush(alerts, o);
    }
    /* Field order as Alertmanager's webhook.Message marshals it. */
    jset(root, "receiver", jstr(str(r->name)));
    jset(root, "status", json_string(notify_status_to_string(group_status(g))));
    jset(root, "alerts", alerts);
    jset(root, "groupLabels", sorted(labels_obj(g->group_labels, g->n_group_labels)));
    jset(root, "commonLabels", common(lab, n));
    jset(root, "commonAnnotations", common(ann, n));
    jset(root, "externalURL", jstr(str(g->external_url)));
    jset(root, "version", json_string("4"));
    jset(root, "groupKey", jstr(str(g->group_key)));
    jset(root, "truncatedAlerts", json_integer((json_int_t)(g->n_alerts - n)));
    return root;
}

static int build_webhook(const struct notify_receiver *r, const struct notify_group *g,
                         struct notify_request_list *l, struct opsd_error *err)
{
    struct notify_request *q;
    _cleanup_free_ char *subject = NULL;
    int k;

    if ((k = setting(r->url, "url", r, err)) < 0)
        return k;
    subject = render_subject(r, g, NOTIFY_ESC_NONE);
    q = req_add(l, "POST", xstrdup(r->url), "application/json");
    body_json(q, r->format == NOTIFY_FORMAT_ALERTMANAGER ? am_payload(r, g)
                                                         : opsd_payload(r, g, subject));
    if (g->idempotency_key) {
        struct sbuf v = SBUF_INIT;

        notify_header_clean(&v, g->idempotency_key);
        hdr_add(q, "Idempotency-Key: %s", v.buf);
        sbuf_release(&v);
    }
    if (r->secret && *r->secret) {
        uint64_t ts = g->now_ms / 1000;
        char hex[65];

        notify_sign(r->secret, ts, q->body, q->body_len, hex);
        hdr_add(q, "X-Opsd-Timestamp: %" PRIu64, ts);
        hdr_add(q, "X-Opsd-Signature: sha256=%s", hex);
    }
    return 0;
}

/* --- slack --- */

static json_t *slack_text(const char *type, const char *text)
{
    json_t *o = json_object();

    jset(o, "type", json_string(type));
    jset(o, "text", jstr(text));
    return o;
}

static json_t *slack_button(const char *label, const char *url, const char *style)
{
    json_t *b = json_object();

    jset(b, "type", json_string("button"));
    jset(b, "text", slack_text("plain_text", label));
    jset(b, "url", jstr(url));
    if (style)
        jset(b, "style", json_string(style));
    return b;
}

static int build_slack(const struct notify_receiver *r, const struct notify_group *g,
                       struct notify_request_list *l, struct opsd_error *err)
{
    struct sbuf sb = SBUF_INIT;
    json_t *root, *blocks, *o;
    _cleanup_free_ char *subject = NULL;
    size_t n = MIN(g->n_alerts, NOTIFY_SLACK_MAX_ALERTS);
    int k;

    if ((k = setting(r->url, "url", r, err)) < 0)
        return k;
    root = json_object();
    blocks = json_array();
    /* "text" is what the phone's notification shows; it is mrkdwn too. */
    subject = render_subject(r, g, NOTIFY_ESC_NONE);
    notify_escape(&sb, subject, NOTIFY_ESC_SLACK);
    jset(root, "text", jstr(sb.buf));
    sbuf_reset(&sb);

    sbuf_puts(&sb, subject);
    cut(&sb, NOTIFY_SLACK_HEADER_MAX, false, false, "\xe2\x80\xa6");
    o = json_object();
    jset(o, "type", json_string("header"));
    jset(o, "text", slack_text("plain_text", sb.buf));
    jpush(blocks, o);

    for (size_t i = 0; i < n; i++) {
        const struct notify_alert *a = &g->alerts[i];

        sbuf_reset(&sb);
        notify_render(&sb, alert_tmpl(r), g, a, NOTIFY_ESC_SLACK);
        cut(&sb, NOTIFY_SLACK_SECTION_MAX, false, true, "\xe2\x80\xa6");
        o = json_object();
        jset(o, "type", json_string("section"));
        jset(o, "text", slack_text("mrkdwn", sb.buf));
        jpush(blocks, o);
        if (a->status == NOTIFY_FIRING && (a->ack_url || a->resolve_url)) {
            json_t *el = json_array();

            if (a->ack_url)
                jpush(el, slack_button("Acknowledge", a->ack_url, "primary"));
            if (a->resolve_url)
                jpush(el, slack_button("Resolve", a->resolve_url, NULL));
            o = json_object();
            jset(o, "type", json_string("actions"));
            jset(o, "elements", el);
            jpush(blocks, o);
        }
    }
    if (g->n_alerts > n) {
        json_t *el = json_array();

        sbuf_reset(&sb);
        sbuf_addf(&sb,
                  "\xe2\x80\xa6"
                  "and %zu more",
                  g->n_alerts - n);
        if (g->external_url) {
            sbuf_puts(&sb, " in ");
            notify_escape(&sb, g->external_url, NOTIFY_ESC_SLACK);
        }
        jpush(el, slack_text("mrkdwn", sb.buf));
        o = json_object();
        jset(o, "type", json_string("context"));
        jset(o, "elements", el);
        jpush(blocks, o);
    }
    jset(root, "blocks", blocks);
    sbuf_release(&sb);
    body_json(req_add(l, "POST", xstrdup(r->url), "application/json"), root);
    return 0;
}

/* --- telegram --- */

static int build_telegram(const struct notify_receiver *r, const struct notify_group *g,
                          struct notify_request_list *l, struct opsd_error *err)
{
    struct sbuf sb = SBUF_INIT;
    _cleanup_free_ char *subject = NULL;
    const char *api = r->url && *r->url ? r->url : "https://api.telegram.org";
    struct notify_request *q;
    json_t *root;
    int k;

    if ((k = setting(r->secret, "bot token", r, err)) < 0 ||
        (k = setting(r->target, "chat_id", r, err)) < 0)
        return k;
    /* A token holding '/', '?' or '#' would change the URL's path. */
    if (strpbrk(r->secret, "/?#% \t\r\n"))
        return opsd_errorf(err, -EINVAL, "receiver '%s': malformed telegram bot token",
                           str(r->name));
    subject = render_subject(r, g, NOTIFY_ESC_HTML);
    sbuf_addf(&sb, "<b>%s</b>\n\n", subject);
    render_alerts(&sb, r, g, NOTIFY_ESC_HTML);
    /* Telegram counts UTF-16 units after parsing entities; counting them in
     * the raw HTML over-counts, which only makes the cut safer. The bold tag
     * closes before any cut point unless the subject alone is ~4000 long. */
    cut(&sb, NOTIFY_TELEGRAM_MAX, true, true, "\n\xe2\x80\xa6 (truncated)");

    root = json_object();
    jset(root, "chat_id", jstr(r->target));
    jset(root, "text", jstr(sb.buf));
    jset(root, "parse_mode", json_string("HTML"));
    jset(root, "disable_web_page_preview", json_true());
    sbuf_release(&sb);
    q = req_add(l, "POST", xasprintf("%s/bot%s/sendMessage", api, r->secret), "application/json");
    body_json(q, root);
    return 0;
}

/* --- pagerduty --- */

static const char *pd_severity(enum notify_severity s)
{
    switch (s) {
    case NOTIFY_CRITICAL:
        return "critical";
    case NOTIFY_HIGH:
        return "error";
    case NOTIFY_MEDIUM:
        return "warning";
    case NOTIFY_LOW:
        return "info";
    }
    return "error";
}

/* PagerDuty wants the affected host: a host/instance label if there is one. */
static const char *pd_source(const struct notify_alert *a)
{
    for (size_t i = 0; i < a->n_labels; i++)
        if (!strcmp(str(a->labels[i].key), "host") || !strcmp(str(a->labels[i].key), "instance"))
            return str(a->labels[i].value);
    return a->monitor && *a->monitor ? a->monitor : "opsd";
}

static json_t *pd_link(const char *href, const char *text)
{
    json_t *o = json_object();

    jset(o, "href", jstr(href));
    jset(o, "text", json_string(text));
    return o;
}

static int build_pagerduty(const struct notify_receiver *r, const struct notify_group *g,
                           struct notify_request_list *ret, struct opsd_error *err)
{
    const char *url = r->url && *r->url ? r->url : "https://events.pagerduty.com/v2/enqueue";
    struct sbuf sb = SBUF_INIT;
    int k;

    if ((k = setting(r->secret, "routing key", r, err)) < 0)
        return k;
    for (size_t i = 0; i < g->n_alerts; i++) {
        size_t n = strlen(str(g->alerts[i].fingerprint));

        if (!n || n > NOTIFY_PD_DEDUP_MAX)
            return opsd_errorf(err, -EINVAL,
                               "alert %zu: fingerprint must be 1..%d bytes for "
                               "pagerduty's dedup_key",
                               i, NOTIFY_PD_DEDUP_MAX);
    }
    for (size_t i = 0; i < g->n_alerts; i++) {
        const struct notify_alert *a = &g->alerts[i];
        json_t *root = json_object(), *p, *d, *links;
        const char *action = a->status == NOTIFY_RESOLVED ? "resolve"
                             : a->acknowledged            ? "acknowledge"
                                                          : "trigger";

        jset(root, "routing_key", jstr(r->secret));
        jset(root, "event_action", json_string(action));
        jset(root, "dedup_key", jstr(a->fingerprint));
        /* acknowledge/resolve carry no payload: PagerDuty ignores it. */
        if (strcmp(action, "trigger") != 0) {
            body_json(req_add(ret, "POST", xstrdup(url), "application/json"), root);
            continue;
        }
        sbuf_reset(&sb);
        sbuf_addf(&sb, "[%s] %s: %s", notify_severity_to_string(a->severity), str(a->monitor),
                  a->summary ? a->summary : str(a->message));
        cut(&sb, NOTIFY_PD_SUMMARY_MAX, false, false, "\xe2\x80\xa6");
        p = json_object();
        jset(p, "summary", jstr(sb.buf));
        jset(p, "source", jstr(pd_source(a)));
        jset(p, "severity", json_string(pd_severity(a->severity)));
        jset(p, "timestamp", jtime(a->starts_at_ms));
        jset(p, "component", jstr(str(a->monitor)));
        jset(p, "group", jstr(str(g->group_key)));
        d = json_object();
        jset(d, "monitor", jstr(str(a->monitor)));
        jset(d, "message", jstr(str(a->message)));
        jset(d, "labels", labels_obj(a->labels, a->n_labels));
        jset(p, "custom_details", d);
        jset(root, "payload", p);
        links = json_array();
        if (a->ack_url)
            jpush(links, pd_link(a->ack_url, "Acknowledge in opsd"));
        if (a->resolve_url)
            jpush(links, pd_link(a->resolve_url, "Resolve in opsd"));
        jset(root, "links", links);
        jset(root, "client", json_string("opsd"));
        if (g->external_url)
            jset(root, "client_url", jstr(g->external_url));
        body_json(req_add(ret, "POST", xstrdup(url), "application/json"), root);
    }
    sbuf_release(&sb);
    return 0;
}

/* --- ntfy --- */

/* RFC 2047 "B" encoded words for non-ASCII header values (ntfy and email
 * decode them), each word at most 75 bytes and split on code points. */
static void header_value(struct sbuf *sb, const char *s, const char *fold)
{
    struct sbuf clean = SBUF_INIT;
    bool ascii = true;

    notify_header_clean(&clean, s);
    for (size_t i = 0; i < clean.len; i++)
        ascii &= (unsigned char)clean.buf[i] < 0x80;
    if (ascii) {
        sbuf_add(sb, clean.buf, clean.len);
    } else {
        struct sbuf u = SBUF_INIT;

        notify_utf8_clean(&u, clean.buf);
        for (size_t off = 0; off < u.len;) {
            /* 45 bytes encode to 60; with "=?UTF-8?B?" and "?=" that is 72. */
            size_t n =
                notify_utf8_prefix(u.buf + off, MIN(u.len - off, 45), SIZE_MAX, false, false);
            unsigned char out[64];

            EVP_EncodeBlock(out, (const unsigned char *)u.buf + off, (int)n);
            if (off)
                sbuf_puts(sb, fold);
            sbuf_addf(sb, "=?UTF-8?B?%s?=", (char *)out);
            off += n;
        }
        sbuf_release(&u);
    }
    sbuf_release(&clean);
}

static bool topic_ok(const char *t)
{
    size_t n = strlen(t);

    return n >= 1 && n <= 64 &&
           strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == n;
}

static int build_ntfy(const struct notify_receiver *r, const struct notify_group *g,
                      struct notify_request_list *l, struct opsd_error *err)
{
    static const char *const prio[] = {
        [NOTIFY_CRITICAL] = "5", [NOTIFY_HIGH] = "4", [NOTIFY_MEDIUM] = "3", [NOTIFY_LOW] = "2"
    };
    enum notify_status st = group_status(g);
    enum notify_severity top = NOTIFY_LOW;
    const struct notify_alert *click = NULL;
    struct sbuf sb = SBUF_INIT;
    _cleanup_free_ char *subject = NULL;
    struct notify_request *q;
    size_t base;
    int k;

    if ((k = setting(r->url, "url", r, err)) < 0 || (k = setting(r->target, "topic", r, err)) < 0)
        return k;
    if (!topic_ok(r->target))
        return opsd_errorf(err, -EINVAL,
                           "receiver '%s': ntfy topic '%s' is not 1-64 of "
                           "[A-Za-z0-9_-]",
                           str(r->name), r->target);
    for (size_t i = 0; i < g->n_alerts; i++) {
        const struct notify_alert *a = &g->alerts[i];

        if (a->status != st)
            continue;
        top = MIN(top, a->severity);
        if (!click && a->ack_url && a->status == NOTIFY_FIRING)
            click = a;
    }
    base = strlen(r->url);
    while (base && r->url[base - 1] == '/')
        base--;
    q = req_add(l, "POST", xasprintf("%.*s/%s", (int)base, r->url, r->target),
                "text/plain; charset=utf-8");
    subject = render_subject(r, g, NOTIFY_ESC_NONE);
    header_value(&sb, subject, " ");
    hdr_add(q, "Title: %s", sb.buf);
    /* A recovery should not ring like the outage did: resolved is low. */
    hdr_add(q, "Priority: %s", st == NOTIFY_FIRING && top >= 1 && top <= 4 ? prio[top] : "2");
    hdr_add(q, "Tags: %s,%s", st == NOTIFY_FIRING ? "rotating_light" : "white_check_mark",
            notify_severity_to_string(top));
    if (click) {
        sbuf_reset(&sb);
        notify_header_clean(&sb, click->ack_url);
        hdr_add(q, "Click: %s", sb.buf);
    }
    if (r->secret && *r->secret) {
        sbuf_reset(&sb);
        notify_header_clean(&sb, r->secret);
        hdr_add(q, "Authorization: Bearer %s", sb.buf);
    }
    sbuf_reset(&sb);
    render_alerts(&sb, r, g, NOTIFY_ESC_NONE);
    /* ntfy's limit is in bytes: back off to a code point boundary. */
    if (sb.len > NOTIFY_NTFY_MAX) {
        static const char note[] = "\n\xe2\x80\xa6 (truncated)";
        size_t n = NOTIFY_NTFY_MAX - strlen(note);

        while (n && (sb.buf[n] & 0xc0) == 0x80)
            n--;
        sb.len = n;
        sb.buf[n] = '\0';
        sbuf_puts(&sb, note);
    }
    body_set(q, &sb);
    return 0;
}

/* --- twilio (SMS, WhatsApp) --- */

static void basic_auth(struct notify_request *q, const char *user, const char *pass)
{
    _cleanup_free_ char *raw = xasprintf("%s:%s", user, pass);
    size_t n = strlen(raw);
    _cleanup_free_ unsigned char *b64 = xmalloc(4 * ((n + 2) / 3) + 1);

    EVP_EncodeBlock(b64, (const unsigned char *)raw, (int)n);
    hdr_add(q, "Authorization: Basic %s", (char *)b64);
}

static int build_twilio(const struct notify_receiver *r, const struct notify_group *g,
                        struct notify_request_list *l, struct opsd_error *err)
{
    const char *api = r->url && *r->url ? r->url : "https://api.twilio.com";
    const char *pre = r->whatsapp ? "whatsapp:" : "";
    struct sbuf text = SBUF_INIT;
    _cleanup_free_ char *subject = NULL;
    size_t n;
    int k;

    if ((k = setting(r->account, "account SID", r, err)) < 0 ||
        (k = setting(r->secret, "auth token", r, err)) < 0 ||
        (k = setting(r->from, "from number", r, err)) < 0)
        return k;
    n = strlen(r->account);
    if (strspn(r->account, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != n)
        return opsd_errorf(err, -EINVAL, "receiver '%s': malformed account SID", str(r->name));
    if (!r->n_to)
        return opsd_errorf(err, -EINVAL, "receiver '%s' (twilio) has no recipients", str(r->name));
    subject = render_subject(r, g, NOTIFY_ESC_NONE);
    sbuf_puts(&text, subject);
    sbuf_puts(&text, "\n\n");
    render_alerts(&text, r, g, NOTIFY_ESC_NONE);
    cut(&text, NOTIFY_SMS_MAX, false, false, "\xe2\x80\xa6");
    for (size_t i = 0; i < r->n_to; i++) {
        struct notify_request *q = req_add(
            l, "POST", xasprintf("%s/2010-04-01/Accounts/%s/Messages.json", api, r->account),
            "application/x-www-form-urlencoded");
        struct sbuf body = SBUF_INIT, v = SBUF_INIT;

        sbuf_addf(&v, "%s%s", strncmp(r->to[i], pre, strlen(pre)) ? pre : "", r->to[i]);
        sbuf_puts(&body, "To=");
        notify_form_encode(&body, v.buf);
        sbuf_reset(&v);
        sbuf_addf(&v, "%s%s", strncmp(r->from, pre, strlen(pre)) ? pre : "", r->from);
        sbuf_puts(&body, "&From=");
        notify_form_encode(&body, v.buf);
        sbuf_puts(&body, "&Body=");
        notify_form_encode(&body, text.buf);
        basic_auth(q, r->account, r->secret);
        body_set(q, &body);
        sbuf_release(&v);
    }
    sbuf_release(&text);
    return 0;
}

/* --- email --- */

/* The addr-spec inside "Name <a@b>" or the whole of "a@b", header-cleaned. */
static char *addr_spec(const char *s)
{
    const char *lt = strrchr(s, '<'), *gt = lt ? strchr(lt, '>') : NULL;
    struct sbuf sb = SBUF_INIT, raw = SBUF_INIT;

    if (lt && gt)
        sbuf_add(&raw, lt + 1, (size_t)(gt - lt - 1));
    else
        sbuf_puts(&raw, s);
    for (size_t i = 0; i < raw.len; i++)
        if ((unsigned char)raw.buf[i] > 0x20 && raw.buf[i] != '<' && raw.buf[i] != '>' &&
            raw.buf[i] != 0x7f)
            sbuf_putc(&sb, raw.buf[i]);
    sbuf_release(&raw);
    return sbuf_detach(&sb, NULL);
}

/* msg-id's left part must be dot-atom-text: keep atext, map the rest to '-'. */
static void msgid_part(struct sbuf *sb, const char *s)
{
    for (; *s; s++)
        sbuf_putc(sb, (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                              (*s >= '0' && *s <= '9') || strchr("!#$%&'*+-/=?^_`{|}~.", *s)
                          ? *s
                          : '-');
}

/* Quoted-printable (RFC 2045) for bodies with a line RFC 5322 would not take. */
static void qp_encode(struct sbuf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t col = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        bool eol = i + 1 == len || s[i + 1] == '\r';
        char enc[4];
        size_t w;

        if (c == '\r' && i + 1 < len && s[i + 1] == '\n') {
            sbuf_puts(out, "\r\n");
            i++;
            col = 0;
            continue;
        }
        if ((c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !eol)) {
            enc[0] = (char)c, w = 1;
        } else {
            enc[0] = '=', enc[1] = hex[c >> 4], enc[2] = hex[c & 15], w = 3;
        }
        if (col + w > 75) {
            sbuf_puts(out, "=\r\n");
            col = 0;
        }
        sbuf_add(out, enc, w);
        col += w;
    }
}

static int build_email(const struct notify_receiver *r, const struct notify_group *g,
                       struct notify_request_list *l, struct opsd_error *err)
{
    struct sbuf m = SBUF_INIT, text = SBUF_INIT, crlf = SBUF_INIT;
    _cleanup_free_ char *subject = NULL, *from = NULL;
    struct notify_request *q;
    const char *domain;
    size_t line = 0;
    bool long_line = false;
    char date[48];
    int k;

    if ((k = setting(r->url, "smtp url", r, err)) < 0 ||
        (k = setting(r->from, "from address", r, err)) < 0)
        return k;
    if (!r->n_to)
        return opsd_errorf(err, -EINVAL, "receiver '%s' (email) has no recipients", str(r->name));
    from = addr_spec(r->from);
    domain = strrchr(from, '@');
    domain = domain && domain[1] ? domain + 1 : "opsd.invalid";

    sbuf_puts(&m, "From: ");
    if (strchr(r->from, '<')) {
        /* Only the display name may be an encoded word, never the address. */
        _cleanup_free_ char *name = xstrndup(r->from, (size_t)(strchr(r->from, '<') - r->from));
        size_t n = strlen(name);

        while (n && name[n - 1] == ' ')
            name[--n] = '\0';
        header_value(&m, name, "\r\n ");
        sbuf_addf(&m, "%s<%s>", n ? " " : "", from);
    } else {
        sbuf_puts(&m, from);
    }
    sbuf_puts(&m, "\r\nTo: ");
    for (size_t i = 0; i < r->n_to; i++) {
        sbuf_puts(&m, i ? ",\r\n " : "");
        notify_header_clean(&m, r->to[i]);
    }
    subject = render_subject(r, g, NOTIFY_ESC_NONE);
    sbuf_puts(&m, "\r\nSubject: ");
    header_value(&m, subject, "\r\n ");
    sbuf_addf(&m, "\r\nDate: %s\r\nMessage-ID: <",
              notify_rfc5322_date(g->now_ms, date, sizeof(date)));
    msgid_part(&m, g->idempotency_key && *g->idempotency_key ? g->idempotency_key : "opsd");
    sbuf_putc(&m, '@');
    msgid_part(&m, domain);
    sbuf_puts(&m, ">\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n");

    render_alerts(&text, r, g, NOTIFY_ESC_NONE);
    if (g->external_url)
        sbuf_addf(&text, "\n\n-- \nopsd %s", g->external_url);
    /* Bare CR or LF in a message body is not allowed: normalise to CRLF. */
    for (size_t i = 0; i < text.len; i++) {
        if (text.buf[i] == '\r')
            continue;
        if (text.buf[i] == '\n') {
            sbuf_puts(&crlf, "\r\n");
            line = 0;
            continue;
        }
        sbuf_putc(&crlf, text.buf[i]);
        long_line |= ++line > 998;
    }
    sbuf_puts(&crlf, "\r\n");
    if (long_line) {
        sbuf_puts(&m, "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
        qp_encode(&m, crlf.buf, crlf.len);
    } else {
        sbuf_puts(&m, "Content-Transfer-Encoding: 8bit\r\n\r\n");
        sbuf_add(&m, crlf.buf, crlf.len);
    }
    sbuf_release(&text);
    sbuf_release(&crlf);

    q = req_add(l, "SMTP", xstrdup(r->url), "message/rfc822");
    body_set(q, &m);
    q->mail_from = xasprintf("<%s>", from);
    q->rcpt = xcalloc(r->n_to, sizeof(*q->rcpt));
    for (size_t i = 0; i < r->n_to; i++) {
        _cleanup_free_ char *a = addr_spec(r->to[i]);

        q->rcpt[q->n_rcpt++] = xasprintf("<%s>", a);
    }
    return 0;
}

int notify_build(const struct notify_receiver *r, const struct notify_group *g,
                 struct notify_request_list *ret, struct opsd_error *err)
{
    struct notify_request_list l = { 0 };
    int k;

    if (!g->n_alerts)
        return opsd_errorf(err, -EINVAL, "notification group '%s' has no alerts",
                           str(g->group_key));
    if (r->subject_template && (k = notify_template_check(r->subject_template, false, err)) < 0)
        return k;
    if (r->alert_template && (k = notify_template_check(r->alert_template, true, err)) < 0)
        return k;
    switch (r->kind) {
    case NOTIFY_WEBHOOK:
        k = build_webhook(r, g, &l, err);
        break;
    case NOTIFY_SLACK:
        k = build_slack(r, g, &l, err);
        break;
    case NOTIFY_TELEGRAM:
        k = build_telegram(r, g, &l, err);
        break;
    case NOTIFY_PAGERDUTY:
        k = build_pagerduty(r, g, &l, err);
        break;
    case NOTIFY_NTFY:
        k = build_ntfy(r, g, &l, err);
        break;
    case NOTIFY_TWILIO:
        k = build_twilio(r, g, &l, err);
        break;
    case NOTIFY_EMAIL:
        k = build_email(r, g, &l, err);
        break;
    default:
        k = opsd_errorf(err, -EINVAL, "receiver '%s' has unknown kind %d", str(r->name),
                        (int)r->kind);
    }
    if (k < 0) {
        notify_request_list_free(&l);
        return k;
    }
    *ret = l;
    return 0;
}
