/* opsd alerts (with its review and stats subcommands), opsd ack, opsd
 * resolve, opsd notifications: the alerting API from the command line.
 * Reads need nothing; ack, resolve and review send a token with the write
 * scope (--token or $OPSD_TOKEN). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "cmd/cmd.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/duration.h"
#include "util/sbuf.h"
#include "util/xalloc.h"

static const char client_opts[] =
    "  -c, --config FILE  find the server through FILE's server.listen\n"
    "                     (default: ./opsd.yaml, then /etc/opsd/opsd.yaml)\n"
    "  --server URL       talk to the server at URL (wins over -c)\n"
    "  --json             print the API's JSON response as it is\n"
    "  -h, --help         show this help and exit\n";

static const char exit_text[] = "\nexit status: 0 ok; 1 the server is unreachable or refused; "
                                "2 bad arguments or no usable config.\n";

/* "3m ago" from epoch ms; "-" for null. */
static void ago(const json_t *v, char *buf, size_t n)
{
    uint64_t now = clock_now_ms(&clock_real), ms;
    char d[32];

    if (!json_is_integer(v)) {
        snprintf(buf, n, "-");
        return;
    }
    ms = (uint64_t)json_integer_value(v);
    duration_format(now > ms ? (now - ms) / 1000 * 1000 : 0, d, sizeof(d));
    snprintf(buf, n, "%s ago", d);
}

static const char *s_or(const json_t *v, const char *dflt)
{
    return json_is_string(v) ? json_string_value(v) : dflt;
}

static void print_json(const json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2));

    if (s)
        puts(s);
    free(s);
}

/* Appends ?k=v / &k=v, escaping v. */
static void query_add(struct sbuf *sb, const char *k, const char *v)
{
    char *e = curl_easy_escape(NULL, v, 0);

    sbuf_addf(sb, "%c%s=%s", strchr(sb->buf, '?') ? '&' : '?', k, e ? e : "");
    curl_free(e);
}

static int parse_since(const struct cmd_client *c, const char *v, struct sbuf *q)
{
    uint64_t ms;
    char buf[32];

    if (duration_parse_ms(v, &ms) < 0) {
        fprintf(stderr, "%s: error: --since '%s' is not a duration (e.g. 7d, 12h)\n", c->name, v);
        return CMD_EXIT_USAGE;
    }
    snprintf(buf, sizeof(buf), "%" PRIu64, clock_now_ms(&clock_real) - ms);
    query_add(q, "since", buf);
    return 0;
}

/* ---- opsd alerts ---- */

static void alerts_usage(FILE *f)
{
    fprintf(f,
            "usage: opsd alerts [--state STATE] [--monitor NAME] [--since DURATION] [--limit N]\n"
            "                   [-c FILE] [--server URL] [--json]\n"
            "       opsd alerts review ALERT_ID actionable|false_positive [--comment TEXT]\n"
            "       opsd alerts stats [--since WHEN] [--until WHEN]\n"
            "\n"
            "Lists alerts, newest first (GET /api/v1/alerts). By default the open ones: firing,\n"
            "acknowledged and silenced. 'review' records whether an alert needed a person;\n"
            "'stats' sums a window up for the weekly review (see their --help).\n"
            "\n"
            "options:\n"
            "  --state STATE      open (default), firing, acknowledged, silenced, resolved, all\n"
            "  --monitor NAME     only this monitor's alerts\n"
            "  --since DURATION   only alerts that started within it, e.g. 7d\n"
            "  --limit N          at most N alerts (default 100)\n"
            "%s%s",
            client_opts, exit_text);
}

static int alerts_review(int argc, char **argv);
static int alerts_stats(int argc, char **argv);

int cmd_alerts(int argc, char **argv)
{
    struct cmd_client c = { .name = "opsd alerts" };
    const char *state = "open", *monitor = NULL, *since = NULL, *limit = NULL;
    struct sbuf q = SBUF_INIT;
    json_t *j = NULL, *arr;
    size_t i;
    json_t *a;
    int r;

    if (argc > 1 && strcmp(argv[1], "review") == 0)
        return alerts_review(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "stats") == 0)
        return alerts_stats(argc - 1, argv + 1);
    for (int k = 1; k < argc; k++) {
        const char *arg = argv[k];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            alerts_usage(stdout);
            return CMD_EXIT_OK;
        }
        r = cmd_client_option(&c, argc, argv, &k);
        if (r == 0)
            r = cmd_option_value(argc, argv, &k, NULL, "--state", &state);
        if (r == 0)
            r = cmd_option_value(argc, argv, &k, NULL, "--monitor", &monitor);
        if (r == 0)
            r = cmd_option_value(argc, argv, &k, NULL, "--since", &since);
        if (r == 0)
            r = cmd_option_value(argc, argv, &k, NULL, "--limit", &limit);
        if (r < 0) {
            fprintf(stderr, "%s: error: option '%s' needs a value\n", c.name, arg);
            return CMD_EXIT_USAGE;
        }
        if (r == 0)
            return cmd_bad_argument(&c, arg);
    }
    sbuf_puts(&q, "/api/v1/alerts");
    if (strcmp(state, "all") != 0)
        query_add(&q, "state", state);
    if (monitor)
        query_add(&q, "monitor", monitor);
    if (limit)
        query_add(&q, "limit", limit);
    if (since && parse_since(&c, since, &q) != 0) {
        sbuf_release(&q);
        return CMD_EXIT_USAGE;
    }
    r = cmd_api(&c, "GET", q.buf, NULL, &j);
    sbuf_release(&q);
    if (r != 0)
        return r;
    if (c.json) {
        print_json(j);
        json_decref(j);
        return CMD_EXIT_OK;
    }
    arr = json_object_get(j, "alerts");
    if (json_array_size(arr) == 0) {
        printf("no %s alerts\n", strcmp(state, "all") == 0 ? "" : state);
    } else {
        printf("%-6s  %-12s  %-8s  %-20s  %-12s  %s\n", "ID", "STATE", "SEVERITY", "MONITOR",
               "STARTED", "SUMMARY");
        json_array_foreach(arr, i, a)
        {
            char since_buf[48];
            ago(json_object_get(a, "starts_at_ms"), since_buf, sizeof(since_buf));
            printf("%-6" JSON_INTEGER_FORMAT "  %-12s  %-8s  %-20s  %-12s  %s\n",
                   json_integer_value(json_object_get(a, "id")),
                   s_or(json_object_get(a, "state"), "-"),
                   s_or(json_object_get(a, "severity"), "-"),
                   s_or(json_object_get(a, "monitor"), "-"), since_buf,
                   s_or(json_object_get(a, "summary"), ""));
        }
    }
    json_decref(j);
    return CMD_EXIT_OK;
}

/* ---- opsd alerts review ---- */

static void review_usage(FILE *f)
{
    fprintf(f,
            "usage: opsd alerts review ALERT_ID actionable|false_positive [--comment TEXT]\n"
            "                          [--token TOKEN] [-c FILE] [--server URL] [--json]\n"
            "\n"
            "Records whether an alert needed a person (POST /api/v1/alerts/ID/review), for the\n"
            "weekly review that 'opsd alerts stats' feeds. Any alert can be reviewed, open or\n"
            "resolved; a second review replaces the first. The reviewer is the token's name.\n"
            "\n"
            "  actionable         someone had to act on it\n"
            "  false_positive     nothing was wrong, or nothing could be done: tune or remove it\n"
            "\n"
            "options:\n"
            "  --comment TEXT     why (at most 1024 bytes)\n"
            "  --token TOKEN      an API token with the write scope (default: $OPSD_TOKEN)\n"
            "%s%s",
            client_opts, exit_text);
}

static int alerts_review(int argc, char **argv)
{
    struct cmd_client c = { .name = "opsd alerts review" };
    const char *id = NULL, *verdict = NULL, *comment = NULL;
    _cleanup_free_ char *path = NULL, *body = NULL;
    json_t *j = NULL, *req;
    char *end;
    int r;

    for (int k = 1; k < argc; k++) {
        const char *arg = argv[k];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            review_usage(stdout);
            return CMD_EXIT_OK;
        }
        r = cmd_client_option(&c, argc, argv, &k);
        if (r == 0)
            r = cmd_option_value(argc, argv, &k, NULL, "--comment", &comment);
        if (r < 0) {
            if (strncmp(arg, "--comment", 9) == 0)
                fprintf(stderr, "%s: error: option '%s' needs a value\n", c.name, arg);
            return CMD_EXIT_USAGE;
        }
        if (r > 0)
            continue;
        if (arg[0] == '-' || (id && verdict))
            return cmd_bad_argument(&c, arg);
        *(id ? &verdict : &id) = arg;
    }
    if (!id || strtoll(id, &end, 10) <= 0 || *end) {
        fprintf(stderr, "%s: error: %s (see '%s --help')\n", c.name,
                id ? "the alert id must be a positive number" : "which alert? pass its id", c.name);
        return CMD_EXIT_USAGE;
    }
    if (!verdict ||
        (strcmp(verdict, "actionable") != 0 && strcmp(verdict, "false_positive") != 0)) {
        fprintf(stderr, "%s: error: the review must be 'actionable' or 'false_positive'%s%s%s\n",
                c.name, verdict ? ", not '" : "", verdict ? verdict : "", verdict ? "'" : "");
        return CMD_EXIT_USAGE;
    }
    req = json_pack("{s:s}", "review", verdict);
    if (comment)
        json_object_set_new(req, "comment", json_string(comment));
    body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (!body) {
        fprintf(stderr, "%s: error: the comment is not valid UTF-8\n", c.name);
        return CMD_EXIT_USAGE;
    }
    path = xasprintf("/api/v1/alerts/%s/review", id);
    r = cmd_api(&c, "POST", path, body, &j);
    if (r != 0)
        return r;
    if (c.json)
        print_json(j);
    else
        printf("alert %s reviewed as %s by %s\n", id, s_or(json_object_get(j, "review"), "?"),
               s_or(json_object_get(j, "by"), "?"));
    json_decref(j);
    return CMD_EXIT_OK;
}

/* ---- opsd alerts stats ---- */

static void stats_usage(FILE *f)
{
    fprintf(f,
            "usage: opsd alerts stats [--since WHEN] [--until WHEN] [-c FILE] [--server URL]\n"
            "                         [--json]\n"
            "\n"
            "Sums up the alerts that started in a window, for the weekly review\n"
            "(GET /api/v1/alerts/stats): per severity, how many there were, how many were\n"
            "reviewed actionable or false positive and how many are not reviewed yet, the time\n"
            "to acknowledge (MTTA, over the acknowledged alerts) and to resolve (TTR, over the\n"
            "resolved ones) as median and 90th percentile (nearest rank); then the alerts per\n"
            "ISO week (weeks start on Monday, UTC).\n"
            "\n"
            "options:\n"
            "  --since WHEN       start of the window (default 7d): a duration before now (7d,\n"
            "                     12h), an RFC 3339 time (2026-11-30T00:00:00Z) or epoch ms\n"
            "  --until WHEN       end of the window, the same forms (default: now)\n"
            "%s%s",
            client_opts, exit_text);
}

static bool when_valid(const char *v)
{
    uint64_t ms;

    return duration_parse_ms(v, &ms) == 0 || clock_parse_time(v, &ms) == 0;
}

/* A duration from the API (ms, or null) as "4m12s": whole seconds from a
 * second up, "-" when there is none. */
static const char *dur(const json_t *v, char *buf, size_t n)
{
    uint64_t ms;

    if (!json_is_integer(v))
        return "-";
    ms = (uint64_t)json_integer_value(v);
    if (ms >= 1000)
        ms = (ms + 500) / 1000 * 1000;
    return duration_format(ms, buf, n);
}

static uint64_t num(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);

    return json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
}

static void stats_row(const char *name, const json_t *r)
{
    const json_t *mtta = json_object_get(r, "mtta_ms"), *ttr = json_object_get(r, "ttr_ms");
    char a[32], b[32], c[32], d[32];

    printf("%-9s %6" PRIu64 " %11" PRIu64 " %11" PRIu64 " %11" PRIu64 " %6" PRIu64 " %5" PRIu64
           " %9s %9s %9s %9s\n",
           name, num(r, "count"), num(r, "actionable"), num(r, "false_positive"),
           num(r, "unreviewed"), num(r, "acknowledged"), num(r, "open"),
           dur(json_object_get(mtta, "p50"), a, sizeof(a)),
           dur(json_object_get(mtta, "p90"), b, sizeof(b)),
           dur(json_object_get(ttr, "p50"), c, sizeof(c)),
           dur(json_object_get(ttr, "p90"), d, sizeof(d)));
}

static const char *const severities[] = { "critical", "high", "medium", "low" };

static int alerts_stats(int argc, char **argv)
{
    struct cmd_client c = { .name = "opsd alerts stats" };
    const char *since = "7d", *until = NULL;
    struct sbuf q = SBUF_INIT;
    json_t *j = NULL, *w;
    size_t i;
    int r;

    for (int k = 1; k < argc; k++) {
        const char *arg = argv[k];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            stats_usage(stdout);
            return CMD_EXIT_OK;
        }
        r = cmd_client_option(&c, argc, argv, &k);
        if (r == 0)
            r = cmd_option_value(argc, argv, &k, NULL, "--since", &since);
        if (r == 0)
            r = cmd_option_value(argc, argv, &k, NULL, "--until", &until);
        if (r < 0) {
            fprintf(stderr, "%s: error: option '%s' needs a value\n", c.name, arg);
            return CMD_EXIT_USAGE;
        }
        if (r == 0)
            return cmd_bad_argument(&c, arg);
    }
    if (!when_valid(since) || (until && !when_valid(until))) {
        fprintf(stderr,
                "%s: error: --%s '%s' is not a duration (7d, 12h), an RFC 3339 time or epoch "
                "ms\n",
                c.name, when_valid(since) ? "until" : "since", when_valid(since) ? until : since);
        return CMD_EXIT_USAGE;
    }
    sbuf_puts(&q, "/api/v1/alerts/stats");
    query_add(&q, "since", since);
    if (until)
        query_add(&q, "until", until);
    r = cmd_api(&c, "GET", q.buf, NULL, &j);
    sbuf_release(&q);
    if (r != 0)
        return r;
    if (c.json) {
        print_json(j);
        json_decref(j);
        return CMD_EXIT_OK;
    }
    printf("alerts that started from %s to %s\n\n", s_or(json_object_get(j, "since"), "?"),
           s_or(json_object_get(j, "until"), "?"));
    printf("%-9s %6s %11s %11s %11s %6s %5s %9s %9s %9s %9s\n", "SEVERITY", "ALERTS", "ACTIONABLE",
           "FALSE POS.", "UNREVIEWED", "ACKED", "OPEN", "MTTA P50", "MTTA P90", "TTR P50",
           "TTR P90");
    for (i = 0; i < ARRAY_SIZE(severities); i++)
        stats_row(severities[i], json_object_get(json_object_get(j, "by_severity"), severities[i]));
    stats_row("total", json_object_get(j, "total"));
    printf("\n%-9s %-10s %6s %8s %6s %6s %6s\n", "WEEK", "FROM", "ALERTS", "CRITICAL", "HIGH",
           "MEDIUM", "LOW");
    json_array_foreach(json_object_get(j, "weeks"), i, w)
    {
        const json_t *bs = json_object_get(w, "by_severity");

        printf("%-9s %-10s %6" PRIu64 " %8" PRIu64 " %6" PRIu64 " %6" PRIu64 " %6" PRIu64 "\n",
               s_or(json_object_get(w, "week"), "?"), s_or(json_object_get(w, "starts_on"), "?"),
               num(w, "total"), num(bs, "critical"), num(bs, "high"), num(bs, "medium"),
               num(bs, "low"));
    }
    printf("\nMTTA is over the acknowledged alerts, TTR over the resolved ones; percentiles are "
           "nearest-rank.\n");
    json_decref(j);
    return CMD_EXIT_OK;
}

/* ---- opsd ack / opsd resolve ---- */

static int ack_or_resolve(int argc, char **argv, bool ack)
{
    struct cmd_client c = { .name = ack ? "opsd ack" : "opsd resolve" };
    const char *id = NULL;
    _cleanup_free_ char *path = NULL;
    char *end;
    json_t *j = NULL;
    int r;

    for (int k = 1; k < argc; k++) {
        const char *arg = argv[k];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            printf("usage: %s ALERT_ID [--token TOKEN] [-c FILE] [--server URL] [--json]\n"
                   "\n"
                   "%s (POST /api/v1/alerts/ID/%s).\n"
                   "%s\n"
                   "options:\n"
                   "  --token TOKEN      an API token with the write scope (default: $OPSD_TOKEN)\n"
                   "%s%s",
                   c.name,
                   ack ? "Acknowledges an alert: its escalation stops until the ack expires"
                       : "Resolves an alert by hand: everyone notified hears it is over",
                   ack ? "ack" : "resolve",
                   ack ? "An ack never hides the resolve message; it expires after the "
                         "policy's ack_timeout\n(default 30m) and the alert pages again if it "
                         "still fires."
                       : "A monitor that is still down raises a new alert on its next change.",
                   client_opts, exit_text);
            return CMD_EXIT_OK;
        }
        r = cmd_client_option(&c, argc, argv, &k);
        if (r < 0)
            return CMD_EXIT_USAGE;
        if (r > 0)
            continue;
        if (arg[0] == '-' || id)
            return cmd_bad_argument(&c, arg);
        id = arg;
    }
    if (!id || strtoll(id, &end, 10) <= 0 || *end) {
        fprintf(stderr, "%s: error: %s (see '%s --help')\n", c.name,
                id ? "the alert id must be a positive number" : "which alert? pass its id", c.name);
        return CMD_EXIT_USAGE;
    }
    path = xasprintf("/api/v1/alerts/%s/%s", id, ack ? "ack" : "resolve");
    r = cmd_api(&c, "POST", path, "{}", &j);
    if (r != 0)
        return r;
    if (c.json)
        print_json(j);
    else
        printf("alert %s %s by %s\n", id, ack ? "acknowledged" : "resolved",
               s_or(json_object_get(j, "by"), "?"));
    json_decref(j);
    return CMD_EXIT_OK;
}

int cmd_ack(int argc, char **argv)
{
    return ack_or_resolve(argc, argv, true);
}

int cmd_resolve(int argc, char **argv)
{
    return ack_or_resolve(argc, argv, false);
}

/* ---- opsd notifications ---- */

static void notifications_usage(FILE *f)
{
    fprintf(f,
            "usage: opsd notifications [--failed | --pending | --state STATE] [--alert ID]\n"
            "                          [--since DURATION] [--limit N] [-c FILE] [--server URL]\n"
            "                          [--json]\n"
            "\n"
            "Lists the outbox, newest first (GET /api/v1/notifications): every notification is\n"
            "written before it is sent and kept with its delivery attempts.\n"
            "\n"
            "options:\n"
            "  --failed           only those given up on (alerting.give_up_after passed, or the\n"
            "                     receiver refused them for good)\n"
            "  --pending          only those still being delivered or retried\n"
            "  --state STATE      pending, delivered or failed\n"
            "  --alert ID         only notifications about that alert\n"
            "  --since DURATION   only those created within it, e.g. 24h\n"
            "  --limit N          at most N (default 100)\n"
            "%s%s",
            client_opts, exit_text);
}

int cmd_notifications(int argc, char **argv)
{
    struct cmd_client c = { .name = "opsd notifications" };
    const char *state = NULL, *alert = NULL, *since = NULL, *limit = NULL;
    struct sbuf q = SBUF_INIT;
    json_t *j = NULL, *arr, *n;
    size_t i;
    int r;

    for (int k = 1; k < argc; k++) {
        const char *arg = argv[k];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            notifications_usage(stdout);
            return CMD_EXIT_OK;
        }
        if (strcmp(arg, "--failed") == 0 || strcmp(arg, "--pending") == 0) {
            state = arg + 2;
            continue;
        }
        r = cmd_client_option(&c, argc, argv, &k);
        if (r == 0)
            r = cmd_option_value(argc, argv, &k, NULL, "--state", &state);
        if (r == 0)
            r = cmd_option_value(argc, argv, &k, NULL, "--alert", &alert);
        if (r == 0)
            r = cmd_option_value(argc, argv, &k, NULL, "--since", &since);
        if (r == 0)
            r = cmd_option_value(argc, argv, &k, NULL, "--limit", &limit);
        if (r < 0) {
            fprintf(stderr, "%s: error: option '%s' needs a value\n", c.name, arg);
            return CMD_EXIT_USAGE;
        }
        if (r == 0)
            return cmd_bad_argument(&c, arg);
    }
    sbuf_puts(&q, "/api/v1/notifications");
    if (state)
        query_add(&q, "state", state);
    if (alert)
        query_add(&q, "alert", alert);
    if (limit)
        query_add(&q, "limit", limit);
    if (since && parse_since(&c, since, &q) != 0) {
        sbuf_release(&q);
        return CMD_EXIT_USAGE;
    }
    r = cmd_api(&c, "GET", q.buf, NULL, &j);
    sbuf_release(&q);
    if (r != 0)
        return r;
    if (c.json) {
        print_json(j);
        json_decref(j);
        return CMD_EXIT_OK;
    }
    arr = json_object_get(j, "notifications");
    if (json_array_size(arr) == 0) {
        printf("no %snotifications\n", state ? state : "");
        json_decref(j);
        return CMD_EXIT_OK;
    }
    printf("%-6s  %-9s  %-16s  %-11s  %-10s  %-8s  %-12s  %s\n", "ID", "STATE", "RECEIVER",
           "REASON", "ALERTS", "ATTEMPTS", "CREATED", "LAST ERROR");
    json_array_foreach(arr, i, n)
    {
        char created[48];
        struct sbuf ids = SBUF_INIT;
        size_t x;
        json_t *id;

        json_array_foreach(json_object_get(n, "alert_ids"), x, id)
            sbuf_addf(&ids, "%s%" JSON_INTEGER_FORMAT, x ? "," : "", json_integer_value(id));
        ago(json_object_get(n, "created_at_ms"), created, sizeof(created));
        printf("%-6" JSON_INTEGER_FORMAT "  %-9s  %-16s  %-11s  %-10s  %-8" JSON_INTEGER_FORMAT
               "  %-12s  %s\n",
               json_integer_value(json_object_get(n, "id")), s_or(json_object_get(n, "state"), "-"),
               s_or(json_object_get(n, "receiver"), "-"), s_or(json_object_get(n, "reason"), "-"),
               ids.buf, json_integer_value(json_object_get(n, "attempts")), created,
               s_or(json_object_get(n, "last_error"), ""));
        sbuf_release(&ids);
    }
    json_decref(j);
    return CMD_EXIT_OK;
}
