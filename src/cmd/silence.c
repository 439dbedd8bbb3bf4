/* opsd silence add|list|expire: mute alerts by label for a while (the
 * API's /api/v1/silences). Silenced alerts are still recorded. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd/cmd.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/duration.h"
#include "util/xalloc.h"

static void usage(FILE *f)
{
    fprintf(
        f, "usage: opsd silence add --match MATCHER [--match ...] (--for DURATION | --until TIME)\n"
           "                        [--starts TIME] --comment TEXT [--author NAME]\n"
           "       opsd silence list [--all]\n"
           "       opsd silence expire ID\n"
           "       (each also takes -c FILE, --server URL, --token TOKEN, --json)\n"
           "\n"
           "A silence mutes every alert whose labels match all its matchers, from its start to\n"
           "its end: the alerts are recorded (state silenced) but nothing is sent. An alert\n"
           "that was already sent is muted too, and its resolve still reaches whoever heard\n"
           "it. Monitor alerts carry the labels monitor, severity, alertname=MonitorDown and\n"
           "the monitor's own labels.\n"
           "\n"
           "options:\n"
           "  --match MATCHER    name=value, name!=value, name=~regex or name!~regex\n"
           "                     (regexes are anchored, as in Alertmanager)\n"
           "  --for DURATION     how long, from the start: 2h, 30m, 1d\n"
           "  --until TIME       or until an RFC 3339 time, e.g. 2026-12-05T06:00:00Z\n"
           "  --starts TIME      start later than now (RFC 3339)\n"
           "  --comment TEXT     why (required)\n"
           "  --author NAME      who (default: the token's name)\n"
           "  --all              list: also expired silences\n"
           "  --token TOKEN      an API token with the write scope (default: $OPSD_TOKEN)\n"
           "  -c, --config FILE  find the server through FILE's server.listen\n"
           "  --server URL       talk to the server at URL\n"
           "  --json             print the API's JSON response\n"
           "  -h, --help         show this help and exit\n"
           "\n"
           "exit status: 0 ok; 1 the server is unreachable or refused; 2 bad arguments.\n");
}

static void print_silences(const json_t *arr)
{
    size_t i;
    json_t *s;
    char when[48];

    if (json_array_size(arr) == 0) {
        printf("no silences\n");
        return;
    }
    printf("%-5s  %-8s  %-24s  %-30s  %-10s  %s\n", "ID", "STATE", "ENDS (UTC)", "MATCHERS", "BY",
           "COMMENT");
    json_array_foreach(arr, i, s)
    {
        char matchers[256] = "";
        size_t k, off = 0;
        json_t *m;

        json_array_foreach(json_object_get(s, "matchers"), k, m)
        {
            int w = snprintf(matchers + off, sizeof(matchers) - off, "%s%s%s%s", k ? "," : "",
                             json_string_value(json_object_get(m, "name")),
                             json_string_value(json_object_get(m, "op")),
                             json_string_value(json_object_get(m, "value")));
            if (w < 0 || (size_t)w >= sizeof(matchers) - off)
                break;
            off += (size_t)w;
        }
        clock_format_rfc3339((uint64_t)json_integer_value(json_object_get(s, "ends_at_ms")), when,
                             sizeof(when));
        printf("%-5" JSON_INTEGER_FORMAT "  %-8s  %-24s  %-30s  %-10s  %s\n",
               json_integer_value(json_object_get(s, "id")),
               json_string_value(json_object_get(s, "state")), when, matchers,
               json_is_string(json_object_get(s, "created_by"))
                   ? json_string_value(json_object_get(s, "created_by"))
                   : "-",
               json_is_string(json_object_get(s, "comment"))
                   ? json_string_value(json_object_get(s, "comment"))
                   : "");
    }
}

int cmd_silence(int argc, char **argv)
{
    struct cmd_client c = { .name = "opsd silence" };
    const char *verb = NULL, *target = NULL, *dur = NULL, *until = NULL, *starts = NULL;
    const char *comment = NULL, *author = NULL, *v = NULL;
    json_t *matchers = json_array(), *j = NULL, *req;
    bool all = false;
    char *body = NULL;
    _cleanup_free_ char *path = NULL;
    int r = CMD_EXIT_USAGE;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int t;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            json_decref(matchers);
            return CMD_EXIT_OK;
        }
        if (strcmp(a, "--all") == 0) {
            all = true;
            continue;
        }
        t = cmd_client_option(&c, argc, argv, &i);
        if (t == 0 && (t = cmd_option_value(argc, argv, &i, NULL, "--match", &v)) > 0) {
            json_array_append_new(matchers, json_string(v));
            continue;
        }
        if (t == 0)
            t = cmd_option_value(argc, argv, &i, NULL, "--for", &dur);
        if (t == 0)
            t = cmd_option_value(argc, argv, &i, NULL, "--until", &until);
        if (t == 0)
            t = cmd_option_value(argc, argv, &i, NULL, "--starts", &starts);
        if (t == 0)
            t = cmd_option_value(argc, argv, &i, NULL, "--comment", &comment);
        if (t == 0)
            t = cmd_option_value(argc, argv, &i, NULL, "--author", &author);
        if (t < 0) {
            fprintf(stderr, "opsd silence: error: option '%s' needs a value\n", a);
            goto out;
        }
        if (t > 0)
            continue;
        if (a[0] == '-' || (verb && target)) {
            r = cmd_bad_argument(&c, a);
            goto out;
        }
        if (!verb)
            verb = a;
        else
            target = a;
    }
    if (!verb ||
        (strcmp(verb, "add") != 0 && strcmp(verb, "list") != 0 && strcmp(verb, "expire") != 0)) {
        fprintf(stderr, "opsd silence: error: %s (add, list or expire; see --help)\n",
                verb ? "unknown action" : "which action?");
        goto out;
    }
    if (strcmp(verb, "list") == 0) {
        r = cmd_api(&c, "GET", all ? "/api/v1/silences?all=true" : "/api/v1/silences", NULL, &j);
        if (r == 0) {
            if (c.json)
                body = json_dumps(j, JSON_INDENT(2)), puts(body ? body : "");
            else
                print_silences(json_object_get(j, "silences"));
        }
        goto out;
    }
    if (strcmp(verb, "expire") == 0) {
        char *end;
        if (!target || strtoll(target, &end, 10) <= 0 || *end) {
            fprintf(stderr, "opsd silence: error: expire needs the silence's id\n");
            goto out;
        }
        path = xasprintf("/api/v1/silences/%s", target);
        r = cmd_api(&c, "DELETE", path, NULL, &j);
        if (r == 0)
            printf("silence %s expired\n", target);
        goto out;
    }
    if (target) {
        r = cmd_bad_argument(&c, target);
        goto out;
    }
    if (json_array_size(matchers) == 0 || !comment || (!dur && !until) || (dur && until)) {
        fprintf(stderr, "opsd silence: error: add needs --match, --comment, and one of --for or "
                        "--until\n");
        goto out;
    }
    if (dur) {
        uint64_t ms;
        if (duration_parse_ms(dur, &ms) < 0) {
            fprintf(stderr, "opsd silence: error: --for '%s' is not a duration (e.g. 2h)\n", dur);
            goto out;
        }
    }
    req = json_pack("{s:O s:s}", "matchers", matchers, "comment", comment);
    if (dur)
        json_object_set_new(req, "duration", json_string(dur));
    if (until)
        json_object_set_new(req, "ends_at", json_string(until));
    if (starts)
        json_object_set_new(req, "starts_at", json_string(starts));
    if (author)
        json_object_set_new(req, "created_by", json_string(author));
    body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    r = cmd_api(&c, "POST", "/api/v1/silences", body, &j);
    if (r == 0) {
        json_t *s = json_object_get(j, "silence");
        char when[48];
        if (c.json) {
            free(body);
            body = json_dumps(j, JSON_INDENT(2));
            puts(body ? body : "");
        } else {
            clock_format_rfc3339((uint64_t)json_integer_value(json_object_get(s, "ends_at_ms")),
                                 when, sizeof(when));
            printf("silence %" JSON_INTEGER_FORMAT " %s until %s\n",
                   json_integer_value(json_object_get(s, "id")),
                   json_string_value(json_object_get(s, "state")), when);
        }
    }
out:
    free(body);
    json_decref(j);
    json_decref(matchers);
    return r;
}
