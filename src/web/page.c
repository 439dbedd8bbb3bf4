/* The public status page: server-rendered HTML5 with inline CSS, no
 * JavaScript and nothing fetched from elsewhere. It reloads itself every
 * minute. Pure: rendered from plain structs into an sbuf, every string from
 * the config escaped. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/cleanup.h"
#include "web/web-internal.h"

#define DAY_MS (24ull * 3600 * 1000)
#define BANNER_MAX_NAMES 10 /* names listed in a "down" banner before "and N more" */

const char *web_day_class(const struct store_uptime *u)
{
    if (!u || u->count == 0)
        return "none";
    if (u->failures == 0)
        return "full";
    if (u->failures >= u->count)
        return "low";
    /* Integer comparisons: no rounding can promote a day a class. */
    if ((u->count - u->failures) * 100 >= u->count * 99)
        return "high";
    if ((u->count - u->failures) * 100 >= u->count * 95)
        return "mid";
    return "low";
}

const char *web_format_percent(uint64_t count, uint64_t failures, char *buf, size_t n)
{
    uint64_t hundredths;

    if (count == 0) {
        snprintf(buf, n, "-");
        return buf;
    }
    if (failures == 0) {
        snprintf(buf, n, "100%%");
        return buf;
    }
    if (failures > count)
        failures = count;
    /* Rounded down, in hundredths of a percent. */
    hundredths = (count - failures) * 10000 / count;
    snprintf(buf, n, "%" PRIu64 ".%02" PRIu64 "%%", hundredths / 100, hundredths % 100);
    return buf;
}

static const char *format_day(uint64_t day_start_ms, char *buf, size_t n)
{
    time_t t = (time_t)(day_start_ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%d", &tm);
    return buf;
}

static const char *state_label(enum probe_state s)
{
    switch (s) {
    case PROBE_STATE_UP:
        return "Operational";
    case PROBE_STATE_DOWN:
        return "Down";
    case PROBE_STATE_PAUSED:
        return "Paused";
    case PROBE_STATE_PENDING:
    default:
        return "Checking";
    }
}

static const char *state_class(enum probe_state s)
{
    switch (s) {
    case PROBE_STATE_UP:
        return "up";
    case PROBE_STATE_DOWN:
        return "down";
    case PROBE_STATE_PAUSED:
        return "paused";
    case PROBE_STATE_PENDING:
    default:
        return "pending";
    }
}

static const char css[] =
    ":root{--bg:#f6f7f9;--card:#fff;--fg:#1f2933;--muted:#616e7c;--line:#e4e7eb;"
    "--up:#1a7f37;--high:#7cb518;--mid:#e8890c;--low:#cf222e;--none:#c9cfd6;--wait:#52606d}"
    "@media (prefers-color-scheme:dark){:root{--bg:#0f1419;--card:#1a2027;--fg:#e4e7eb;"
    "--muted:#9aa5b1;--line:#2d3640;--none:#3e4c59}}"
    "*{box-sizing:border-box}"
    "body{margin:0;background:var(--bg);color:var(--fg);"
    "font:16px/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,Helvetica,Arial,sans-serif}"
    "main{max-width:52rem;margin:0 auto;padding:1.5rem 1rem 3rem}"
    "h1{font-size:1.6rem;margin:0 0 1rem}"
    ".banner{border-radius:.5rem;padding:1rem 1.25rem;color:#fff;font-weight:600;"
    "margin-bottom:1.5rem}"
    ".banner.up{background:var(--up)}.banner.down{background:var(--low)}"
    ".banner.pending{background:var(--wait)}"
    ".list{list-style:none;margin:0;padding:0;background:var(--card);"
    "border:1px solid var(--line);border-radius:.5rem}"
    ".mon{padding:1rem 1.25rem;border-top:1px solid var(--line)}"
    ".mon:first-child{border-top:0}"
    ".head{display:flex;justify-content:space-between;align-items:baseline;gap:1rem;"
    "flex-wrap:wrap}"
    "h2{font-size:1.05rem;margin:0;word-break:break-word}"
    ".desc{color:var(--muted);font-size:.9rem;margin:.1rem 0 0}"
    ".badge{font-size:.85rem;font-weight:600;white-space:nowrap}"
    ".badge.up{color:var(--up)}.badge.down{color:var(--low)}"
    ".badge.pending,.badge.paused{color:var(--muted)}"
    ".bar{display:flex;gap:2px;height:2.1rem;margin:.6rem 0 .3rem}"
    ".day{flex:1 1 0;min-width:0;border-radius:2px;background:var(--none)}"
    ".day.full{background:var(--up)}.day.high{background:var(--high)}"
    ".day.mid{background:var(--mid)}.day.low{background:var(--low)}"
    ".legend{display:flex;justify-content:space-between;color:var(--muted);font-size:.8rem}"
    ".short{display:none}"
    "@media (max-width:40rem){.bar .day:nth-child(-n+60){display:none}"
    ".long{display:none}.short{display:inline}}"
    "footer{color:var(--muted);font-size:.8rem;margin-top:1.5rem;text-align:center}";

static bool shown(const struct web_page_monitor *m)
{
    return m->public_;
}

static void banner(struct sbuf *sb, const struct web_page *p)
{
    size_t n_down = 0, n_pending = 0, n_shown = 0, listed = 0;

    for (size_t i = 0; i < p->n_monitors; i++) {
        const struct web_page_monitor *m = &p->monitors[i];
        if (!shown(m) || m->state == PROBE_STATE_PAUSED)
            continue;
        n_shown++;
        if (m->state == PROBE_STATE_DOWN)
            n_down++;
        else if (m->state == PROBE_STATE_PENDING)
            n_pending++;
    }

    if (n_down > 0) {
        sbuf_addf(sb, "<section class=\"banner down\" role=\"status\">%zu monitor%s down: ", n_down,
                  n_down == 1 ? "" : "s");
        for (size_t i = 0; i < p->n_monitors && listed < BANNER_MAX_NAMES; i++) {
            const struct web_page_monitor *m = &p->monitors[i];
            if (!shown(m) || m->state != PROBE_STATE_DOWN)
                continue;
            if (listed++)
                sbuf_puts(sb, ", ");
            sbuf_add_html(sb, m->name);
        }
        if (n_down > listed)
            sbuf_addf(sb, " and %zu more", n_down - listed);
        sbuf_puts(sb, "</section>\n");
    } else if (n_pending > 0) {
        sbuf_puts(sb, "<section class=\"banner pending\" role=\"status\">Checking...</section>\n");
    } else if (n_shown == 0) {
        sbuf_puts(sb, "<section class=\"banner pending\" role=\"status\">No monitors to show"
                      "</section>\n");
    } else {
        sbuf_puts(sb, "<section class=\"banner up\" role=\"status\">All systems operational"
                      "</section>\n");
    }
}

static void monitor(struct sbuf *sb, const struct web_page *p, const struct web_page_monitor *m)
{
    uint64_t today = p->now_ms / DAY_MS, count = 0, failures = 0;
    char pct[32], cell_pct[32], day[16];

    for (unsigned i = 0; m->days && i < p->ndays; i++) {
        count += m->days[i].count;
        failures += m->days[i].failures;
    }
    web_format_percent(count, failures, pct, sizeof(pct));

    sbuf_puts(sb, "<li class=\"mon\">\n<div class=\"head\"><div><h2>");
    sbuf_add_html(sb, m->name);
    sbuf_puts(sb, "</h2>");
    if (m->description && *m->description) {
        sbuf_puts(sb, "<p class=\"desc\">");
        sbuf_add_html(sb, m->description);
        sbuf_puts(sb, "</p>");
    }
    sbuf_addf(sb, "</div><span class=\"badge %s\">%s</span></div>\n", state_class(m->state),
              state_label(m->state));

    sbuf_puts(sb, "<div class=\"bar\" role=\"img\" aria-label=\"");
    sbuf_add_html(sb, m->name);
    if (count)
        sbuf_addf(sb, ": %s uptime over the last %u days\">\n", pct, p->ndays);
    else
        sbuf_addf(sb, ": no data for the last %u days\">\n", p->ndays);
    for (unsigned i = 0; i < p->ndays; i++) {
        const struct store_uptime *u = m->days ? &m->days[i] : NULL;
        uint64_t d = today - (p->ndays - 1 - i);

        format_day(d * DAY_MS, day, sizeof(day));
        if (!u || u->count == 0) {
            sbuf_addf(sb, "<span class=\"day none\" title=\"%s: no data\"></span>\n", day);
            continue;
        }
        web_format_percent(u->count, u->failures, cell_pct, sizeof(cell_pct));
        sbuf_addf(sb,
                  "<span class=\"day %s\" title=\"%s: %s (%" PRIu64 " failed of %" PRIu64
                  " check%s)\"></span>\n",
                  web_day_class(u), day, cell_pct, u->failures, u->count, u->count == 1 ? "" : "s");
    }
    sbuf_puts(sb, "</div>\n");
    sbuf_addf(sb,
              "<div class=\"legend\"><span><span class=\"long\">%u days ago</span>"
              "<span class=\"short\">%u days ago</span></span><span>%s%s</span>"
              "<span>Today</span></div>\n</li>\n",
              p->ndays, p->ndays < 30 ? p->ndays : 30, count ? pct : "No data",
              count ? " uptime" : "");
}

void web_page_render(struct sbuf *sb, const struct web_page *p)
{
    const char *title = p->title && *p->title ? p->title : "Status";
    char updated[40];
    time_t t = (time_t)(p->now_ms / 1000);
    struct tm tm;
    size_t n_shown = 0;

    gmtime_r(&t, &tm);
    strftime(updated, sizeof(updated), "%Y-%m-%d %H:%M:%S UTC", &tm);

    sbuf_puts(sb, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                  "<meta http-equiv=\"refresh\" content=\"60\">\n<title>");
    sbuf_add_html(sb, title);
    sbuf_puts(sb, "</title>\n<style>");
    sbuf_puts(sb, css);
    sbuf_puts(sb, "</style>\n</head>\n<body>\n<main>\n<h1>");
    sbuf_add_html(sb, title);
    sbuf_puts(sb, "</h1>\n");
    banner(sb, p);

    for (size_t i = 0; i < p->n_monitors; i++)
        n_shown += shown(&p->monitors[i]);
    if (n_shown > 0) {
        sbuf_puts(sb, "<ul class=\"list\">\n");
        for (size_t i = 0; i < p->n_monitors; i++)
            if (shown(&p->monitors[i]))
                monitor(sb, p, &p->monitors[i]);
        sbuf_puts(sb, "</ul>\n");
    }
    sbuf_addf(sb,
              "<footer>Updated %s &middot; this page refreshes every minute</footer>\n"
              "</main>\n</body>\n</html>\n",
              updated);
}
