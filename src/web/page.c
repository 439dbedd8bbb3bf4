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

bool web_page_waiting_first_ping(const struct web_page_monitor *m)
{
    return m->heartbeat && m->state == PROBE_STATE_PENDING && !m->has_result &&
           m->last_ping_ms == 0;
}

static const char *state_label(const struct web_page_monitor *m)
{
    switch (m->state) {
    case PROBE_STATE_UP:
        return m->degraded ? "Degraded" : "Operational";
    case PROBE_STATE_DOWN:
        return "Down";
    case PROBE_STATE_PAUSED:
        return "Paused";
    case PROBE_STATE_PENDING:
    default:
        return web_page_waiting_first_ping(m) ? "Waiting for first ping" : "Checking";
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

/* Colours and their WCAG 2.1 contrast ratios (AA: 4.5:1 for text, 3:1 for
 * graphics). Text sits on the card (.list) or on the page (h1, legend,
 * footer).
 *   light  text   #1f2933 on card #fff 14.76, on page #f6f7f9 13.76
 *          muted  #616e7c on card 5.21, on page 4.86
 *          badges up #1a7f37 5.08, down #cf222e 5.36, degraded #9a6700 4.86 (on card)
 *   dark   text   #e4e7eb on card #1a2027 13.23, on page #0f1419 14.92
 *          muted  #9aa5b1 on card 6.56, on page 7.40
 *          badges up #3fb950 6.46, down #f85149 4.89, degraded #d29922 6.49 (on card)
 *   both   banner text #fff on up #1a7f37 5.08, on down #cf222e 5.36,
 *          on grey #52606d 6.46, on maintenance blue #0969da 5.13
 *   maintenance badge #0969da on light card 5.13, #58a6ff on dark card 6.62
 * Day cells are graphics and never the only carrier: each has a title, the
 * bar an aria-label and the card its uptime in words. Against the light
 * card: full 5.08, low 5.36, high #7cb518 2.48, mid #e8890c 2.62; against
 * the dark card: full 3.23, low 3.06, high 6.63, mid 6.26. "No data" cells
 * (#e4e7eb / #2d3640) are faint on purpose, so a new install's empty days
 * recede behind the days that have data. */
static const char css[] =
    ":root{--bg:#f6f7f9;--card:#fff;--fg:#1f2933;--muted:#616e7c;--line:#e4e7eb;"
    "--up:#1a7f37;--high:#7cb518;--mid:#e8890c;--low:#cf222e;--none:#e4e7eb;--wait:#52606d;"
    "--up-text:#1a7f37;--down-text:#cf222e;--degraded-text:#9a6700;--maint:#0969da;"
    "--maint-text:#0969da}"
    "@media (prefers-color-scheme:dark){:root{--bg:#0f1419;--card:#1a2027;--fg:#e4e7eb;"
    "--muted:#9aa5b1;--line:#2d3640;--none:#2d3640;--up-text:#3fb950;--down-text:#f85149;"
    "--degraded-text:#d29922;--maint-text:#58a6ff}}"
    "*{box-sizing:border-box}"
    "body{margin:0;background:var(--bg);color:var(--fg);"
    "font:16px/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,Helvetica,Arial,sans-serif}"
    "main{max-width:52rem;margin:0 auto;padding:1.5rem 1rem 3rem}"
    "h1{font-size:1.6rem;margin:0 0 1rem}"
    ".banner{border-radius:.5rem;padding:1rem 1.25rem;color:#fff;margin-bottom:1.5rem}"
    ".banner p{margin:0}.verdict{font-weight:600}.updated{font-size:.85rem}"
    ".banner.up{background:var(--up)}.banner.down{background:var(--low)}"
    ".banner.pending,.banner.paused{background:var(--wait)}.banner.maint{background:var(--maint)}"
    ".maint-list{list-style:none;margin:0 0 1.5rem;padding:0;background:var(--card);"
    "border:1px solid var(--line);border-left:4px solid var(--maint);border-radius:.5rem}"
    ".maint-list li{padding:.75rem 1.25rem;border-top:1px solid var(--line)}"
    ".maint-list li:first-child{border-top:0}"
    ".maint-list .when{color:var(--muted);font-size:.85rem}"
    ".list{list-style:none;margin:0;padding:0;background:var(--card);"
    "border:1px solid var(--line);border-radius:.5rem}"
    ".mon{padding:1rem 1.25rem;border-top:1px solid var(--line)}"
    ".mon:first-child{border-top:0}"
    ".head{display:flex;justify-content:space-between;align-items:baseline;gap:.25rem 1rem;"
    "flex-wrap:wrap}"
    "h2{font-size:1.05rem;margin:0;word-break:break-word}"
    ".desc{color:var(--muted);font-size:.9rem;margin:.1rem 0 0}"
    ".state{display:flex;align-items:baseline;gap:.75rem;flex-wrap:wrap;font-size:.85rem}"
    ".pct{color:var(--muted);white-space:nowrap}"
    ".badge{font-weight:600;white-space:nowrap}"
    ".badge.up{color:var(--up-text)}.badge.down{color:var(--down-text)}"
    ".badge.degraded{color:var(--degraded-text)}"
    ".badge.pending,.badge.paused{color:var(--muted)}.badge.maint{color:var(--maint-text)}"
    ".bar{display:flex;gap:2px;height:2.1rem;margin:.6rem 0 .3rem}"
    ".day{flex:1 1 0;min-width:0;border-radius:2px}"
    ".day,.swatch{background:var(--none)}"
    ".full{background:var(--up)}.high{background:var(--high)}"
    ".mid{background:var(--mid)}.low{background:var(--low)}"
    ".axis{display:flex;justify-content:space-between;color:var(--muted);font-size:.8rem}"
    ".legend{display:flex;flex-wrap:wrap;justify-content:center;gap:.35rem 1.25rem;"
    "list-style:none;margin:1rem 0 0;padding:0;color:var(--muted);font-size:.8rem}"
    ".legend li{display:flex;align-items:center;gap:.4rem}"
    ".swatch{display:inline-block;width:.75rem;height:.75rem;border-radius:2px}"
    ".short{display:none}"
    "@media (max-width:40rem){.long{display:none}.short{display:inline}}"
    "footer{color:var(--muted);font-size:.8rem;margin-top:1.5rem;text-align:center}";

static bool shown(const struct web_page_monitor *m)
{
    return m->public_;
}

static void banner(struct sbuf *sb, const struct web_page *p)
{
    size_t n_down = 0, n_checking = 0, n_up = 0, n_waiting = 0, n_paused = 0, n_maint = 0,
           listed = 0;
    char hhmm[16], iso[32];
    time_t t = (time_t)(p->now_ms / 1000);
    struct tm tm;

    for (size_t i = 0; i < p->n_monitors; i++) {
        const struct web_page_monitor *m = &p->monitors[i];
        if (!shown(m))
            continue;
        if (m->state == PROBE_STATE_PAUSED)
            n_paused++; /* listed, but never down nor checking */
        else if (m->maintenance)
            n_maint++; /* announced: neither an outage nor all clear */
        else if (m->state == PROBE_STATE_DOWN)
            n_down++;
        else if (m->state == PROBE_STATE_UP)
            n_up++;
        else if (web_page_waiting_first_ping(m))
            n_waiting++; /* may wait a whole period: its card says so */
        else
            n_checking++;
    }

    if (n_down > 0) {
        sbuf_addf(sb,
                  "<section class=\"banner down\" role=\"status\"><p class=\"verdict\">"
                  "%zu monitor%s down: ",
                  n_down, n_down == 1 ? "" : "s");
        for (size_t i = 0; i < p->n_monitors && listed < BANNER_MAX_NAMES; i++) {
            const struct web_page_monitor *m = &p->monitors[i];
            if (!shown(m) || m->state != PROBE_STATE_DOWN || m->maintenance)
                continue;
            if (listed++)
                sbuf_puts(sb, ", ");
            sbuf_add_html(sb, m->name);
        }
        if (n_down > listed)
            sbuf_addf(sb, " and %zu more", n_down - listed);
        sbuf_puts(sb, "</p>");
    } else if (n_maint > 0) {
        sbuf_addf(sb,
                  "<section class=\"banner maint\" role=\"status\"><p class=\"verdict\">"
                  "Maintenance in progress (%zu monitor%s)</p>",
                  n_maint, n_maint == 1 ? "" : "s");
    } else if (n_checking > 0) {
        sbuf_puts(sb, "<section class=\"banner pending\" role=\"status\"><p class=\"verdict\">"
                      "Checking...</p>");
    } else if (n_up > 0) {
        sbuf_puts(sb, "<section class=\"banner up\" role=\"status\"><p class=\"verdict\">"
                      "All systems operational</p>");
    } else if (n_waiting > 0) {
        sbuf_puts(sb, "<section class=\"banner pending\" role=\"status\"><p class=\"verdict\">"
                      "Waiting for first ping</p>");
    } else if (n_paused > 0) {
        sbuf_puts(sb, "<section class=\"banner paused\" role=\"status\"><p class=\"verdict\">"
                      "All monitors paused</p>");
    } else {
        sbuf_puts(sb, "<section class=\"banner pending\" role=\"status\"><p class=\"verdict\">"
                      "No monitors to show</p>");
    }

    gmtime_r(&t, &tm);
    strftime(hhmm, sizeof(hhmm), "%H:%M", &tm);
    strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
    sbuf_addf(sb,
              "<p class=\"updated\">Last updated <time datetime=\"%s\">%s UTC</time></p>"
              "</section>\n",
              iso, hhmm);
}

/* Sums the last n of the page's days of m. */
static void window_sum(const struct web_page *p, const struct web_page_monitor *m, unsigned n,
                       uint64_t *ret_count, uint64_t *ret_failures)
{
    uint64_t count = 0, failures = 0;

    for (unsigned i = p->ndays - n; m->days && i < p->ndays; i++) {
        count += m->days[i].count;
        failures += m->days[i].failures;
    }
    *ret_count = count;
    *ret_failures = failures;
}

/* "99.95% uptime, 90 days" or "No data in 90 days". */
static void uptime_words(struct sbuf *sb, const struct web_page *p,
                         const struct web_page_monitor *m, unsigned ndays)
{
    uint64_t count, failures;
    char pct[32];

    window_sum(p, m, ndays, &count, &failures);
    if (count)
        sbuf_addf(sb, "%s uptime, %u days", web_format_percent(count, failures, pct, sizeof(pct)),
                  ndays);
    else
        sbuf_addf(sb, "No data in %u days", ndays);
}

static void monitor(struct sbuf *sb, const struct web_page *p, const struct web_page_monitor *m)
{
    uint64_t today = p->now_ms / DAY_MS, count, failures;
    unsigned phone_days = p->ndays < WEB_STATUS_PHONE_DAYS ? p->ndays : WEB_STATUS_PHONE_DAYS;
    bool two_windows = phone_days < p->ndays;
    char pct[32], cell_pct[32], day[16];

    window_sum(p, m, p->ndays, &count, &failures);
    web_format_percent(count, failures, pct, sizeof(pct));

    sbuf_puts(sb, "<li class=\"mon\">\n<div class=\"head\"><div><h2>");
    sbuf_add_html(sb, m->name);
    sbuf_puts(sb, "</h2>");
    if (m->description && *m->description) {
        sbuf_puts(sb, "<p class=\"desc\">");
        sbuf_add_html(sb, m->description);
        sbuf_puts(sb, "</p>");
    }
    /* The uptime figure names its window; a narrow screen shows the days
     * its bar shows. */
    sbuf_puts(sb, "</div><div class=\"state\"><span class=\"pct\">");
    if (two_windows) {
        sbuf_puts(sb, "<span class=\"long\">");
        uptime_words(sb, p, m, p->ndays);
        sbuf_puts(sb, "</span><span class=\"short\">");
        uptime_words(sb, p, m, phone_days);
        sbuf_puts(sb, "</span>");
    } else {
        uptime_words(sb, p, m, p->ndays);
    }
    sbuf_addf(sb, "</span><span class=\"badge %s\">%s</span></div></div>\n",
              m->maintenance                              ? "maint"
              : m->state == PROBE_STATE_UP && m->degraded ? "degraded"
                                                          : state_class(m->state),
              m->maintenance ? "Under maintenance" : state_label(m));

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
    sbuf_puts(sb, "</div>\n<div class=\"axis\"><span>");
    if (two_windows)
        sbuf_addf(sb,
                  "<span class=\"long\">%u days ago</span><span class=\"short\">%u days ago</span>",
                  p->ndays, phone_days);
    else
        sbuf_addf(sb, "%u days ago", p->ndays);
    sbuf_puts(sb, "</span><span>Today</span></div>\n</li>\n");
}

static void format_utc(uint64_t ms, char *buf, size_t n)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, n, "%a %d %b %H:%M UTC", &tm);
}

/* Open and coming maintenance, Statuspage-style: what, when, what for. */
static void maintenance(struct sbuf *sb, const struct web_page *p)
{
    char from[40], to[40];

    if (!p->n_maint)
        return;
    sbuf_puts(sb, "<ul class=\"maint-list\" aria-label=\"Maintenance\">\n");
    for (size_t i = 0; i < p->n_maint; i++) {
        const struct web_page_maint *w = &p->maint[i];

        format_utc(w->start_ms, from, sizeof(from));
        format_utc(w->end_ms, to, sizeof(to));
        sbuf_addf(sb, "<li><strong>%s:</strong> ",
                  w->active ? "Maintenance in progress" : "Scheduled maintenance");
        sbuf_add_html(sb, w->description && *w->description ? w->description : w->name);
        if (w->active)
            sbuf_addf(sb, "<br><span class=\"when\">until %s</span></li>\n", to);
        else
            sbuf_addf(sb, "<br><span class=\"when\">%s &ndash; %s</span></li>\n", from, to);
    }
    sbuf_puts(sb, "</ul>\n");
}

/* The colour key of the day cells; the words carry it, not the colours. */
static void legend(struct sbuf *sb)
{
    sbuf_puts(sb, "<ul class=\"legend\" aria-label=\"Colour key of the daily bars\">\n"
                  "<li><span class=\"swatch\" aria-hidden=\"true\"></span>No data</li>\n"
                  "<li><span class=\"swatch full\" aria-hidden=\"true\"></span>100%</li>\n"
                  "<li><span class=\"swatch high\" aria-hidden=\"true\"></span>&ge; 99%</li>\n"
                  "<li><span class=\"swatch mid\" aria-hidden=\"true\"></span>&ge; 95%</li>\n"
                  "<li><span class=\"swatch low\" aria-hidden=\"true\"></span>Below 95%</li>\n"
                  "</ul>\n");
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
    /* A narrow screen shows only the last WEB_STATUS_PHONE_DAYS cells. */
    if (p->ndays > WEB_STATUS_PHONE_DAYS)
        sbuf_addf(sb, "@media (max-width:40rem){.bar .day:nth-child(-n+%u){display:none}}",
                  p->ndays - WEB_STATUS_PHONE_DAYS);
    sbuf_puts(sb, "</style>\n</head>\n<body>\n<main>\n<h1>");
    sbuf_add_html(sb, title);
    sbuf_puts(sb, "</h1>\n");
    banner(sb, p);
    maintenance(sb, p);

    for (size_t i = 0; i < p->n_monitors; i++)
        n_shown += shown(&p->monitors[i]);
    if (n_shown > 0) {
        sbuf_puts(sb, "<ul class=\"list\">\n");
        for (size_t i = 0; i < p->n_monitors; i++)
            if (shown(&p->monitors[i]))
                monitor(sb, p, &p->monitors[i]);
        sbuf_puts(sb, "</ul>\n");
        legend(sb);
    }
    sbuf_addf(sb,
              "<footer>Updated %s &middot; this page refreshes every minute</footer>\n"
              "</main>\n</body>\n</html>\n",
              updated);
}
