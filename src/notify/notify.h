/* Builders of notification requests: a group of alerts plus a receiver's
 * settings in, a list of request descriptions out (method, URL, headers, body)
 * that the sender hands to libcurl. Nothing here touches the network, a clock
 * or a file: time comes in as group->now_ms, so every byte is reproducible.
 *
 * Wire formats:
 *   webhook    POST url, JSON (opsd v1 below, or the Alertmanager webhook v4
 *              payload with format = NOTIFY_FORMAT_ALERTMANAGER); signed if
 *              the receiver has a secret (see "Signature" below).
 *   slack      POST incoming-webhook url, {"text", "blocks"}.
 *   telegram   POST {url|https://api.telegram.org}/bot{secret}/sendMessage,
 *              {chat_id, text, parse_mode: "HTML", disable_web_page_preview}.
 *   pagerduty  POST {url|https://events.pagerduty.com/v2/enqueue}, Events
 *              API v2, one request per alert (dedup_key = fingerprint).
 *   ntfy       POST {url}/{target}, text body, Title/Priority/Tags/Click
 *              headers (+ Bearer auth if secret).
 *   twilio     POST {url|https://api.twilio.com}/2010-04-01/Accounts/{account}
 *              /Messages.json, form To/From/Body, Basic auth; one request per
 *              recipient; whatsapp = true prefixes "whatsapp:" to both numbers.
 *   email      method "SMTP": body is an RFC 5322 message for CURLOPT_UPLOAD,
 *              mail_from/rcpt for CURLOPT_MAIL_FROM/CURLOPT_MAIL_RCPT. libcurl
 *              does the SMTP dot-stuffing; we emit CRLF line ends, keep lines
 *              under 998 octets (quoted-printable when a line would not be),
 *              and strip CR/LF from every header value so no input can add a
 *              header.
 *
 * Signature (webhook): with a secret, the request carries
 *   X-Opsd-Timestamp: <unix seconds of group->now_ms>
 *   X-Opsd-Signature: sha256=<lowercase hex HMAC-SHA256(secret, "<timestamp>.<body>")>
 *   Idempotency-Key:  <group->idempotency_key>
 * The timestamp is inside the MAC so a captured request cannot be replayed
 * later with a fresh timestamp: receivers recompute the MAC over the raw body,
 * compare in constant time, reject timestamps more than 5 minutes from their
 * clock, and drop repeats of an idempotency key seen within that window. The
 * same headers are sent for the Alertmanager format (Alertmanager itself
 * signs nothing, so its consumers simply ignore them).
 *
 * Text templates: the human-readable text (Slack, Telegram, ntfy, SMS, email)
 * comes from two templates, a subject and a per-alert block; alert blocks are
 * joined by a blank line. "{name}" is replaced by a field, "{{" is a literal
 * "{". A template line that holds at least one field and where every field
 * expanded to nothing is dropped, so "Ack: {ack_url}" vanishes without a link.
 * Values are escaped for the channel (HTML for Telegram, &<> for Slack); the
 * template's own text is not, so it may hold channel markup.
 *   subject fields: status (firing|resolved), STATUS (FIRING|RESOLVED),
 *     count (alerts with the group's status), firing, resolved, severity (the
 *     highest among those alerts), monitors (their distinct names, ", "-joined,
 *     at most 5 then "+N"), group_key, external_url
 *   alert fields: icon (a red circle firing, a check mark resolved), monitor,
 *     severity, status, STATUS, since (start, "2026-11-23 18:56 UTC"),
 *     duration (start to end, or to now while firing: "1h 5m"), summary,
 *     message, fingerprint, ack_url, resolve_url (both empty once resolved:
 *     the links have nothing left to do), label.KEY (a label's value)
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "util/error.h"
#include "util/sbuf.h"

#define NOTIFY_DEFAULT_SUBJECT "[{STATUS}:{count}] {severity} {monitors}"
#define NOTIFY_DEFAULT_ALERT                                                                       \
    "{icon} {monitor} ({severity}) {STATUS}\n"                                                     \
    "since {since} ({duration})\n"                                                                 \
    "{summary}\n"                                                                                  \
    "{message}\n"                                                                                  \
    "Ack: {ack_url}\n"                                                                             \
    "Resolve: {resolve_url}"

/* Caps on what one group may produce, all sized by outside input. */
#define NOTIFY_MAX_ALERTS 1000     /* alerts in a webhook payload; the rest go to truncatedAlerts */
#define NOTIFY_MAX_FIELD 2048      /* code points of one summary/message value in text */
#define NOTIFY_TELEGRAM_MAX 4096   /* Telegram sendMessage text, in UTF-16 units */
#define NOTIFY_SLACK_MAX_ALERTS 20 /* alert sections in one Slack message (50-block limit) */
#define NOTIFY_SLACK_SECTION_MAX 3000 /* Slack section text */
#define NOTIFY_SLACK_HEADER_MAX 150   /* Slack header block text */
#define NOTIFY_PD_SUMMARY_MAX 1024    /* PagerDuty payload.summary */
#define NOTIFY_PD_DEDUP_MAX 255       /* PagerDuty dedup_key */
#define NOTIFY_NTFY_MAX 4096          /* ntfy message bytes before it becomes an attachment */
#define NOTIFY_SMS_MAX 1600           /* Twilio Body, in characters */

/* Stored in config and state: values only grow. */
enum notify_kind {
    NOTIFY_WEBHOOK = 1,
    NOTIFY_SLACK = 2,
    NOTIFY_TELEGRAM = 3,
    NOTIFY_PAGERDUTY = 4,
    NOTIFY_NTFY = 5,
    NOTIFY_TWILIO = 6,
    NOTIFY_EMAIL = 7,
};

enum notify_format {
    NOTIFY_FORMAT_OPSD = 0,
    NOTIFY_FORMAT_ALERTMANAGER = 1,
};

enum notify_status {
    NOTIFY_FIRING = 1,
    NOTIFY_RESOLVED = 2,
};

enum notify_severity {
    NOTIFY_CRITICAL = 1,
    NOTIFY_HIGH = 2,
    NOTIFY_MEDIUM = 3,
    NOTIFY_LOW = 4,
};

struct notify_label {
    const char *key;
    const char *value;
};

/* One alert; every pointer is borrowed. NULL strings read as empty. */
struct notify_alert {
    const char *fingerprint; /* stable per alert: PagerDuty dedup_key */
    enum notify_status status;
    bool acknowledged; /* firing but acked: PagerDuty "acknowledge" */
    enum notify_severity severity;
    const char *monitor;
    const struct notify_label *labels;
    size_t n_labels;
    const char *summary; /* one line */
    const char *message; /* may be several lines */
    uint64_t starts_at_ms;
    uint64_t ends_at_ms; /* 0 = unset */
    const char *ack_url; /* one-click links, may be NULL */
    const char *resolve_url;
    int64_t id; /* opsd's alert id (for the API's ack/resolve), 0 = unknown */
};

/* What one notification is about; every pointer is borrowed. */
struct notify_group {
    const char *group_key;
    const char *idempotency_key; /* same on retries of this notification */
    const char *external_url;    /* opsd's own URL, may be NULL */
    const struct notify_label *group_labels;
    size_t n_group_labels;
    const struct notify_alert *alerts;
    size_t n_alerts; /* >= 1 */
    uint64_t now_ms;
    const char *reason; /* why it goes out: "firing", "escalated", ...; NULL = from status */
};

/* A receiver's settings; which fields count depends on kind (see the table
 * at the top). Every pointer is borrowed. */
struct notify_receiver {
    enum notify_kind kind;
    const char *name;    /* Alertmanager "receiver" */
    const char *url;     /* target URL, API base or smtp(s):// URL */
    const char *secret;  /* webhook HMAC key | bot token | routing key | auth token | ntfy token */
    const char *account; /* twilio: account SID */
    const char *target;  /* telegram: chat_id; ntfy: topic */
    const char *from;    /* twilio: sender number; email: From ("Name <a@b>" or "a@b") */
    const char *const *to; /* twilio: numbers; email: addresses */
    size_t n_to;
    enum notify_format format;    /* webhook only */
    bool whatsapp;                /* twilio only */
    const char *subject_template; /* NULL = NOTIFY_DEFAULT_SUBJECT */
    const char *alert_template;   /* NULL = NOTIFY_DEFAULT_ALERT */
};

/* One request to send. Content-Type is not among headers: send content_type. */
struct notify_request {
    const char *method; /* "POST", or "SMTP" (static) */
    char *url;
    char **headers; /* "Name: value" lines, for curl_slist_append */
    size_t n_headers;
    char *body; /* NUL-terminated too, for convenience */
    size_t body_len;
    const char *content_type; /* static */
    char *mail_from;          /* email: "<addr>" */
    char **rcpt;              /* email: "<addr>" each */
    size_t n_rcpt;
};

struct notify_request_list {
    struct notify_request *v;
    size_t n;
};

/* Builds the requests for group g to receiver r. On success *ret (which the
 * caller frees with notify_request_list_free()) holds at least one request;
 * on failure (-EINVAL: missing or malformed setting, bad template) *ret is
 * untouched and err says why. */
int notify_build(const struct notify_receiver *r, const struct notify_group *g,
                 struct notify_request_list *ret, struct opsd_error *err);
/* Frees the requests and empties l; accepts an empty or zeroed list. */
void notify_request_list_free(struct notify_request_list *l);

/* Checks a template names only known fields; ctx_alert selects the alert
 * field set. For config loading. */
int notify_template_check(const char *tmpl, bool ctx_alert, struct opsd_error *err);

const char *notify_kind_to_string(enum notify_kind k);
int notify_kind_from_string(const char *s, enum notify_kind *ret);
const char *notify_severity_to_string(enum notify_severity s);
const char *notify_status_to_string(enum notify_status s);

/* --- helpers, exported for the other channels and for tests --- */

enum notify_escape {
    NOTIFY_ESC_NONE = 0,
    NOTIFY_ESC_HTML = 1,  /* & < > " for Telegram HTML */
    NOTIFY_ESC_SLACK = 2, /* & < > for Slack mrkdwn */
};

/* Renders the subject (a == NULL) or one alert's block into sb. */
void notify_render(struct sbuf *sb, const char *tmpl, const struct notify_group *g,
                   const struct notify_alert *a, enum notify_escape esc);
/* Appends s escaped. */
void notify_escape(struct sbuf *sb, const char *s, enum notify_escape esc);
/* Appends s percent-encoded for application/x-www-form-urlencoded (space as '+'). */
void notify_form_encode(struct sbuf *sb, const char *s);
/* Writes the lowercase hex HMAC-SHA256 of data under key into hex (65 bytes). */
void notify_hmac_sha256_hex(const void *key, size_t key_len, const void *data, size_t len,
                            char hex[65]);
/* The webhook signature: hex HMAC of "<ts_sec>.<body>" into hex (65 bytes). */
void notify_sign(const char *secret, uint64_t ts_sec, const char *body, size_t len, char hex[65]);
/* Length of the longest prefix of s (len bytes) holding at most max code
 * points (UTF-16 units if utf16) and ending on a code point boundary and,
 * if markup, outside an "&...;" entity. */
size_t notify_utf8_prefix(const char *s, size_t len, size_t max, bool utf16, bool markup);
/* Replaces s's invalid UTF-8 with U+FFFD into sb (jansson rejects it). */
void notify_utf8_clean(struct sbuf *sb, const char *s);
/* Appends a header-safe copy of s: CR, LF and other control bytes become
 * spaces, so a value can never start a new header line. */
void notify_header_clean(struct sbuf *sb, const char *s);
/* RFC 3339 as Go's RFC3339Nano prints it (Alertmanager): trailing zero
 * fraction digits dropped; 0 ms prints "0001-01-01T00:00:00Z". buf >= 32. */
const char *notify_rfc3339(uint64_t ms, char *buf, size_t n);
/* RFC 5322 date, "Mon, 23 Nov 2026 18:56:51 +0000". buf >= 40. */
const char *notify_rfc5322_date(uint64_t ms, char *buf, size_t n);


/* A request executor with a libcurl multi handle of its own, driven on a
 * libuv loop, so a slow receiver never delays a check. At most max_inflight
 * requests run at once; the others wait in a FIFO queue. Nothing is retried
 * here: each result says whether a retry may help, the caller schedules it.
 *
 * HTTP ("POST"): url with headers, "Content-Type: <content_type>" and the
 * body, byte for byte; no "Expect:", redirects are not followed (a receiver
 * that redirects is misconfigured: the result says so), the response body is
 * read up to OPSD_MAX_NOTIFY_RESPONSE bytes and the transfer ends there.
 * SMTP ("SMTP"): url smtp://host[:port] or smtps://, MAIL FROM mail_from,
 * RCPT TO each rcpt, the body uploaded as the message (libcurl dot-stuffs).
 * All recipients or none: one refused recipient fails the whole request. */
struct notify_sender;

#define NOTIFY_DEFAULT_TIMEOUT_MS 30000             /* when opts->timeout_ms is 0 */
#define NOTIFY_MAX_RETRY_AFTER_MS (86400 * 1000ULL) /* Retry-After values are capped at a day */
#define NOTIFY_ERROR_BODY 100 /* bytes of a response body quoted in an error */

struct notify_send_opts {
    uint64_t timeout_ms;       /* the whole attempt, connect included; 0 = the default */
    bool tls_verify;           /* verify the peer's certificate and host name */
    bool smtp_starttls;        /* smtp:// only: require STARTTLS; without it, plain text */
    const char *smtp_username; /* SMTP AUTH (any mechanism the server offers); may be NULL */
    const char *smtp_password;
};

struct notify_send_result {
    bool ok; /* HTTP 2xx; SMTP: the message was accepted */
    /* Whether a later attempt may succeed. False for 3xx, for 4xx other than
     * 408/425/429, for SMTP 5xx and for our own misconfiguration (a bad URL, a
     * protocol the method does not use, a refused login, STARTTLS required but
     * not offered); true for the rest: connect and TLS errors, timeouts, 5xx,
     * 408/425/429, SMTP 4xx, "cancelled" and "shutting down". */
    bool retryable;
    int http_status;         /* 0 if none; SMTP: the last reply code */
    uint64_t retry_after_ms; /* Retry-After of a 429/503 (seconds or HTTP-date), else 0 */
    int32_t took_us;         /* the transfer's time, queueing not included */
    /* "" when ok, else e.g. "HTTP 500: <the first NOTIFY_ERROR_BODY bytes of the
     * body>" or libcurl's error text. Never holds the URL's path, query or
     * credentials, a header value or the SMTP password (a Telegram bot token
     * sits in the path): wherever one appears, an echoing body included, it is
     * masked as "***", whole (from 4 bytes) and in parts (from 8 bytes). */
    char error[256];
};

/* Called once per submitted request; r is valid during the call only. The
 * callback may call any notify_sender_ function, notify_sender_close()
 * included. */
typedef void (*notify_send_cb)(const struct notify_send_result *r, void *userdata);

/* Makes a sender on loop; the caller ends it with notify_sender_close().
 * -EINVAL for max_inflight 0; *ret is untouched on failure. */
int notify_sender_new(uv_loop_t *loop, unsigned max_inflight, struct notify_sender **ret,
                      struct opsd_error *err);

/* Starts req, or queues it behind max_inflight others. req and o (NULL: the
 * defaults, TLS verified) are copied: the caller may free them after the
 * call. On success cb(userdata) runs exactly once: on a later loop turn when
 * the request ends, or from inside notify_sender_cancel_all() or
 * notify_sender_close(). On failure cb is never called: -EINVAL for an
 * unknown method or a request missing its URL, sender or recipients,
 * -ESHUTDOWN once the sender is closing, -ENOMEM if libcurl cannot make a
 * handle. */
int notify_sender_submit(struct notify_sender *s, const struct notify_request *req,
                         const struct notify_send_opts *o, notify_send_cb cb, void *userdata);

/* Requests handed to libcurl and not yet finished. */
unsigned notify_sender_inflight(const struct notify_sender *s);
/* Requests waiting for a free slot. */
unsigned notify_sender_queued(const struct notify_sender *s);

/* Abandons every running and queued request: each one's cb runs before this
 * returns, in start then queue order, with ok = false, retryable = true and
 * error "cancelled". The sender stays usable. */
void notify_sender_cancel_all(struct notify_sender *s);

/* Ends the sender: abandons every request as notify_sender_cancel_all() does
 * but with error "shutting down" (their callbacks run before this returns;
 * a submit from one gets -ESHUTDOWN), closes its loop handles and frees it;
 * done(ud), if not NULL, runs once that is over, on a later loop turn. s is
 * freed then: only another notify_sender_close(), ignored, may come before. */
void notify_sender_close(struct notify_sender *s, void (*done)(void *ud), void *ud);

/* --- the outbox's stored form of a notification (outbox.c) --- */

/* What a notification says, as stored before it is sent: the group and its
 * alerts, never the receiver's settings (no secrets reach the database).
 * The sender decodes it at each attempt and builds the requests with the
 * receiver's current config, the attempt's time, and fresh signed links. */
struct notify_payload {
    char *reason;    /* "firing", "resolved", "escalated", ... */
    char *group_key;
    struct notify_label *group_labels; /* owned strings */
    size_t n_group_labels;
    struct notify_alert *alerts;       /* owned strings and labels; urls NULL */
    int64_t *alert_ids;                /* alert_ids[i] is alerts[i]'s id */
    size_t n_alerts;
};

/* Encodes g's group and alerts (ids[i] for g->alerts[i]) with reason into
 * *ret_json (caller frees). Returns 0; or, when the whole group would pass
 * OPSD_MAX_NOTIFY_PAYLOAD, the number of leading alerts kept (the rest are
 * dropped); -ENOMEM. */
int notify_payload_encode(const struct notify_group *g, const char *reason, const int64_t *ids,
                          char **ret_json);
/* Parses what notify_payload_encode() wrote; -EINVAL with err filled for
 * anything else, *ret untouched. Free with notify_payload_free(). */
int notify_payload_decode(const char *json, struct notify_payload *ret, struct opsd_error *err);
void notify_payload_free(struct notify_payload *p);

/* The wait before retry number attempt (1 = the first retry): exponential
 * from min_ms, capped at max_ms, with "full jitter" (a uniform pick in
 * [wait/2, wait]) from rnd so receivers coming back are not hit by every
 * sender at once. */
uint64_t notify_backoff_ms(unsigned attempt, uint64_t min_ms, uint64_t max_ms, uint32_t rnd);
