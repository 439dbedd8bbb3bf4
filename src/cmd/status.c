/* opsd status: every monitor's state from the running server
 * (GET /api/v1/monitors), as an aligned table or as the API's JSON. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd/cmd.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/xalloc.h"

enum { COL_NAME, COL_TYPE, COL_STATE, COL_SINCE, COL_LATENCY, COL_LAST, COL_UPTIME, N_COLS };

static const char *const headers[N_COLS] = {
    "NAME", "TYPE", "STATE", "SINCE", "LATENCY", "LAST CHECK", "UPTIME(24h)",
};

static void usage(FILE *f)
{
    fprintf(f, "usage: opsd status [-c FILE] [--server URL] [--json] [--help]\n"
               "\n"
               "Shows every monitor's state as the running server sees it (GET /api/v1/monitors).\n"
               "\n"
               "options:\n"
               "  -c, --config FILE  find the server through FILE's server.listen\n"
               "                     (default: ./opsd.yaml, then /etc/opsd/opsd.yaml)\n"
               "  --server URL       ask the server at URL, e.g. http://127.0.0.1:8080\n"
               "                     (no config needed; wins over -c)\n"
               "  --json             print the API's JSON response as it is\n"
               "  -h, --help         show this help and exit\n"
               "\n"
               "Columns: SINCE is how long the monitor has been in its state, LATENCY the last\n"
               "check's total time, UPTIME(24h) the share of successful checks over the last day\n"
               "('-' when there is no data).\n"
               "\n"
               "exit status: 0 ok; 1 the server is unreachable or answered with an error;\n"
               "2 bad arguments or no usable config.\n");
}

/* "3m ago" from an RFC 3339 time, "-" for null or junk. */
static void format_ago(const json_t *t, uint64_t now_ms, char *buf, size_t n)
{
    uint64_t ms, s;

    if (!json_is_string(t) || clock_parse_time(json_string_value(t), &ms) < 0) {
        snprintf(buf, n, "-");
        return;
    }
    s = now_ms > ms ? (now_ms - ms) / 1000 : 0;
    if (s < 60)
        snprintf(buf, n, "%llus ago", (unsigned long long)s);
    else if (s < 3600)
        snprintf(buf, n, "%llum ago", (unsigned long long)(s / 60));
    else if (s < 86400)
        snprintf(buf, n, "%lluh ago", (unsigned long long)(s / 3600));
    else
        snprintf(buf, n, "%llud ago", (unsigned long long)(s / 86400));
}

static void format_latency(const json_t *v, char *buf, size_t n)
{
    double ms;

    if (!json_is_number(v)) {
        snprintf(buf, n, "-");
        return;
    }
    ms = json_number_value(v);
    if (ms < 10)
        snprintf(buf, n, "%.1fms", ms);
    else if (ms < 1000)
        snprintf(buf, n, "%.0fms", ms);
    else
        snprintf(buf, n, "%.2fs", ms / 1000);
}

/* A ratio as a percentage rounded down ("99.95%"), so a failure never shows
 * as 100%. */
static void format_uptime(const json_t *v, char *buf, size_t n)
{
    double r, hundredths;

    if (!json_is_number(v)) {
        snprintf(buf, n, "-");
        return;
    }
    r = json_number_value(v);
    if (r >= 1) {
        snprintf(buf, n, "100%%");
        return;
    }
    hundredths = floor(r * 10000 + 1e-6);
    if (hundredths >= 10000)
        hundredths = 9999;
    if (hundredths < 0)
        hundredths = 0;
    snprintf(buf, n, "%.2f%%", hundredths / 100);
}

static const char *str_or_dash(const json_t *v)
{
    return json_is_string(v) ? json_string_value(v) : "-";
}

/* Pads every column but the last to its width, two spaces apart. */
static void print_row(const size_t width[N_COLS], const char *const row[N_COLS])
{
    for (size_t c = 0; c + 1 < N_COLS; c++)
        printf("%-*s  ", (int)width[c], row[c]);
    printf("%s\n", row[N_COLS - 1]);
}

static int print_table(const json_t *monitors)
{
    size_t n = json_array_size(monitors), width[N_COLS];
    uint64_t now = clock_now_ms(&clock_real);
    _cleanup_free_ char(*cells)[N_COLS][64] = xcalloc(n ? n : 1, sizeof(*cells));

    for (size_t c = 0; c < N_COLS; c++)
        width[c] = strlen(headers[c]);
    for (size_t i = 0; i < n; i++) {
        const json_t *m = json_array_get(monitors, i);
        char(*row)[64] = cells[i];

        snprintf(row[COL_NAME], 64, "%s", str_or_dash(json_object_get(m, "name")));
        snprintf(row[COL_TYPE], 64, "%s", str_or_dash(json_object_get(m, "type")));
        /* A warning shows beside the state: still up, but degraded. */
        snprintf(row[COL_STATE], 64, "%s%s", str_or_dash(json_object_get(m, "state")),
                 strcmp(str_or_dash(json_object_get(json_object_get(m, "last_result"), "status")),
                        "warning") == 0
                     ? " (warning)"
                     : "");
        format_ago(json_object_get(m, "since"), now, row[COL_SINCE], 64);
        format_latency(json_object_get(m, "latency_ms"), row[COL_LATENCY], 64);
        format_ago(json_object_get(m, "last_check"), now, row[COL_LAST], 64);
        format_uptime(json_object_get(json_object_get(m, "uptime"), "24h"), row[COL_UPTIME], 64);
        for (size_t c = 0; c < N_COLS; c++)
            width[c] = MAX(width[c], strlen(row[c]));
    }

    print_row(width, headers);
    for (size_t i = 0; i < n; i++) {
        const char *row[N_COLS];
        for (size_t c = 0; c < N_COLS; c++)
            row[c] = cells[i][c];
        print_row(width, row);
    }
    if (n == 0)
        printf("(no monitors configured)\n");
    return CMD_EXIT_OK;
}

/* The message of an API error body, or NULL. */
int cmd_status(int argc, char **argv)
{
    const char *config = NULL, *server = NULL;
    bool json = false;
    _cleanup_free_ char *url = NULL, *body = NULL;
    json_t *j;
    json_error_t jerr;
    long status = 0;
    int r;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return CMD_EXIT_OK;
        }
        if (strcmp(a, "--json") == 0) {
            json = true;
            continue;
        }
        r = cmd_option_value(argc, argv, &i, "-c", "--config", &config);
        if (r == 0)
            r = cmd_option_value(argc, argv, &i, NULL, "--server", &server);
        if (r < 0) {
            fprintf(stderr, "opsd status: error: option '%s' needs a value\n", a);
            return CMD_EXIT_USAGE;
        }
        if (r > 0)
            continue;
        if (a[0] == '-')
            fprintf(stderr, "opsd status: error: unknown option '%s' (see 'opsd status --help')\n",
                    a);
        else
            fprintf(stderr,
                    "opsd status: error: unexpected argument '%s' (see 'opsd status --help')\n", a);
        return CMD_EXIT_USAGE;
    }
    if (server && !*server) {
        fprintf(stderr, "opsd status: error: --server needs a URL, e.g. http://127.0.0.1:8080\n");
        return CMD_EXIT_USAGE;
    }

    r = cmd_server_url(server, config, &url);
    if (r != 0)
        return r;
    if (cmd_http_get(url, "/api/v1/monitors", &body, &status) < 0)
        return CMD_EXIT_FAILURE; /* cmd_http_get said why */

    j = json_loads(body, 0, &jerr);
    if (status != 200) {
        const char *msg = j ? cmd_api_error_message(j) : NULL;
        fprintf(stderr, "opsd status: error: the server at '%s' answered HTTP %ld: %s\n", url,
                status, msg ? msg : "(no error message)");
        json_decref(j);
        return CMD_EXIT_FAILURE;
    }
    if (json) {
        fputs(body, stdout);
        if (!*body || body[strlen(body) - 1] != '\n')
            putchar('\n');
        json_decref(j);
        return CMD_EXIT_OK;
    }
    if (!j || !json_is_array(json_object_get(j, "monitors"))) {
        fprintf(stderr,
                "opsd status: error: the server at '%s' did not answer with a monitor list "
                "(is it opsd?)\n",
                url);
        json_decref(j);
        return CMD_EXIT_FAILURE;
    }
    r = print_table(json_object_get(j, "monitors"));
    json_decref(j);
    return r;
}
