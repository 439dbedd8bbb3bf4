/* The pages behind the signed one-click links in notifications
 * (/a/{id}/ack?t=..., /a/{id}/resolve?t=...).
 *
 * GET never acts: mail scanners, chat link previews and browsers'
 * prefetchers fetch links, so GET checks the token and shows what the link
 * will do with one button; the button POSTs to the same URL, which acts.
 * The token is the whole authentication (alert/link.h): signed, bound to
 * one alert and one action, expiring. It travels in the query string,
 * which the server never logs (only the path is). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert/alert.h"
#include "web/web-internal.h"

#define CT_HTML "text/html; charset=utf-8"
/* What a link action is recorded as done by (acked_by, the log). */
#define LINK_ACTOR "link"

static const char css[] =
    ":root{--bg:#f6f7f9;--card:#fff;--fg:#1f2933;--muted:#616e7c;--line:#e4e7eb;"
    "--act:#0969da;--ok:#1a7f37;--bad:#cf222e}"
    "@media (prefers-color-scheme:dark){:root{--bg:#0f1419;--card:#1a2027;--fg:#e4e7eb;"
    "--muted:#9aa5b1;--line:#323f4b;--act:#4493f8;--ok:#3fb950;--bad:#f85149}}"
    "*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--fg);"
    "font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}"
    "main{max-width:34rem;margin:0 auto;padding:2rem 1rem}"
    ".card{background:var(--card);border:1px solid var(--line);border-radius:.5rem;"
    "padding:1.25rem}h1{font-size:1.25rem;margin:0 0 .75rem}"
    "p{margin:.5rem 0}.done{color:var(--ok);font-weight:600}"
    ".refused{color:var(--bad);font-weight:600}"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:1rem 0}"
    "dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}"
    "button{font:inherit;font-weight:600;color:#fff;background:var(--act);border:0;"
    "border-radius:.375rem;padding:.75rem 1.5rem;width:100%;cursor:pointer}"
    "footer{color:var(--muted);font-size:.875rem;margin-top:1rem}";

static void add_time(struct sbuf *sb, uint64_t ms)
{
    char buf[40];
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
    sbuf_puts(sb, buf);
}

static void row(struct sbuf *sb, const char *name, const char *value)
{
    if (!value || !*value)
        return;
    sbuf_addf(sb, "<dt>%s</dt><dd>", name);
    sbuf_add_html(sb, value);
    sbuf_puts(sb, "</dd>\n");
}

void web_link_page_render(struct sbuf *sb, const struct web_link_page *p)
{
    const char *verb = p->resolve ? "Resolve" : "Acknowledge";

    sbuf_puts(sb, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                  "<meta name=\"robots\" content=\"noindex\">\n<title>");
    sbuf_addf(sb, "%s alert %" PRId64 " - opsd</title>\n<style>", verb, p->id);
    sbuf_puts(sb, css);
    sbuf_puts(sb, "</style>\n</head>\n<body>\n<main>\n<div class=\"card\">\n<h1>");
    sbuf_addf(sb, "%s alert %" PRId64 "</h1>\n", verb, p->id);
    if (p->text && *p->text) {
        sbuf_addf(sb, "<p class=\"%s\">",
                  p->kind == WEB_LINK_REFUSED ? "refused"
                  : p->kind == WEB_LINK_DONE  ? "done"
                                              : "intro");
        sbuf_add_html(sb, p->text);
        sbuf_puts(sb, "</p>\n");
    }
    if (p->has_alert) {
        sbuf_puts(sb, "<dl>\n");
        row(sb, "Summary", p->summary);
        row(sb, "Monitor", p->monitor);
        row(sb, "Severity", p->severity);
        row(sb, "State", p->state);
        if (p->starts_ms) {
            sbuf_puts(sb, "<dt>Since</dt><dd>");
            add_time(sb, p->starts_ms);
            sbuf_puts(sb, "</dd>\n");
        }
        row(sb, "Acknowledged by", p->acked_by);
        sbuf_puts(sb, "</dl>\n");
    }
    if (p->kind == WEB_LINK_CONFIRM && p->token) {
        /* Relative: the form posts to this very path, whatever prefix a
         * proxy mounts opsd under. The token is base64url: no escaping. */
        sbuf_addf(sb, "<form method=\"post\" action=\"%s?t=", p->resolve ? "resolve" : "ack");
        sbuf_add_html(sb, p->token);
        sbuf_addf(sb, "\">\n<button type=\"submit\">%s</button>\n</form>\n", verb);
    }
    sbuf_puts(sb, "</div>\n<footer>opsd &middot; one-click link</footer>\n</main>\n</body>\n"
                  "</html>\n");
}

/* The link's token: exactly one ?t=. NULL when missing or repeated. */
static const char *token_arg(const struct web_request *rq)
{
    const char *tok = NULL;

    for (size_t i = 0; i < rq->nargs; i++) {
        if (strcmp(rq->args[i].key, "t") != 0)
            continue;
        if (tok || !rq->args[i].value)
            return NULL;
        tok = rq->args[i].value;
    }
    return tok;
}

static void respond(struct web_response *ret, unsigned status, const struct web_link_page *p)
{
    struct sbuf sb = SBUF_INIT;

    web_link_page_render(&sb, p);
    free(ret->body);
    ret->status = status;
    ret->content_type = CT_HTML;
    ret->body = sbuf_detach(&sb, &ret->len);
    /* The page is about one moment of one alert, and its URL is a
     * credential: nothing may keep a copy. */
    ret->no_store = true;
}

static void refuse(struct web_response *ret, unsigned status, struct web_link_page *p,
                   const char *text)
{
    p->kind = WEB_LINK_REFUSED;
    p->text = text;
    p->token = NULL;
    respond(ret, status, p);
}

/* Fills p's alert details from a (scratch strings: use before the next
 * store call). */
static void describe(struct web_link_page *p, const struct store_alert *a)
{
    p->has_alert = true;
    p->summary = a->summary;
    p->monitor = a->monitor;
    p->severity = alert_severity_to_string((enum alert_severity)a->severity);
    p->state = alert_state_to_string((enum alert_state)a->state);
    p->starts_ms = a->starts_ms;
    p->acked_by = a->state == STORE_ALERT_ACKED ? a->acked_by : NULL;
}

static void act(const struct web_ctx *ctx, struct web_link_page *p, struct web_response *ret)
{
    struct store_alert a;
    int r = p->resolve ? sched_alert_resolve(ctx->sched, p->id, LINK_ACTOR)
                       : sched_alert_ack(ctx->sched, p->id, LINK_ACTOR);

    switch (r) {
    case 0:
        p->kind = WEB_LINK_DONE;
        p->text = p->resolve ? "Resolved. Everyone who was notified gets the resolve message."
                             : "Acknowledged. Escalation has stopped for this alert; "
                               "you will still be told when it resolves.";
        respond(ret, 200, p);
        /* answered once the change is committed, like the API */
        ret->when_durable = true;
        return;
    case -ENOENT:
    case -EALREADY:
        if (store_alert_get(ctx->store, p->id, &a, NULL) == 0 && a.state == STORE_ALERT_RESOLVED) {
            describe(p, &a);
            refuse(ret, 409, p, "This alert is already resolved: there is nothing left to do.");
        } else {
            refuse(ret, 404, p, "There is no such alert.");
        }
        return;
    case -EINVAL:
        refuse(ret, 409, p, "This alert is silenced: nothing was sent to acknowledge.");
        return;
    default:
        refuse(ret, 503, p, "opsd is stopping; try again in a moment.");
        return;
    }
}

void web_links_handle(const struct web_ctx *ctx, const struct web_match *m,
                      const struct web_request *rq, struct web_response *ret)
{
    struct web_link_page p = { .kind = WEB_LINK_CONFIRM,
                               .resolve = m->route == WEB_ROUTE_LINK_RESOLVE,
                               .id = m->id };
    struct opsd_error err = { 0 };
    struct store_alert a;
    const char *tok = token_arg(rq);
    int r;

    if (!tok) {
        refuse(ret, 400, &p,
               "This link is incomplete: its token is missing. Copy the whole link "
               "from the notification.");
        return;
    }
    r = sched_alert_link_check(ctx->sched, tok, p.resolve, p.id, &err);
    switch (r) {
    case 0:
        break;
    case -EINVAL:
        refuse(ret, 400, &p, "This link is damaged. Copy the whole link from the notification.");
        return;
    case -EKEYEXPIRED:
        refuse(ret, 403, &p,
               "This link has expired. Use `opsd ack` or `opsd resolve`, or the API, instead.");
        return;
    case -ESHUTDOWN:
        refuse(ret, 404, &p, "Alerting is not configured on this opsd.");
        return;
    default:
        /* tampered, signed with another key, or for another alert or
         * action: all the same to whoever holds it */
        refuse(ret, 403, &p, "This link is not valid for this alert and action.");
        return;
    }
    if (strcmp(rq->method, "POST") == 0) {
        act(ctx, &p, ret);
        return;
    }
    r = store_alert_get(ctx->store, p.id, &a, &err);
    if (r == -ENOENT) {
        refuse(ret, 404, &p, "There is no such alert.");
        return;
    }
    if (r < 0) {
        refuse(ret, 500, &p, "The alert cannot be read from the store right now.");
        return;
    }
    describe(&p, &a);
    if (a.state == STORE_ALERT_RESOLVED) {
        p.kind = WEB_LINK_DONE;
        p.text = "This alert is already resolved: there is nothing left to do.";
        respond(ret, 200, &p);
        return;
    }
    p.token = tok;
    p.text = p.resolve ? "Resolve this alert? Everyone who was notified gets the resolve message."
                       : "Acknowledge this alert? Escalation stops; you will still be told when "
                         "it resolves.";
    respond(ret, 200, &p);
}
