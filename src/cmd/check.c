/* opsd check: validates a config file and reports every problem in it at
 * once, each with its file:line:col (like `nginx -t`). Exit 0 when the file
 * is valid, 2 when it is not or cannot be read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd/cmd.h"
#include "config/config.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: opsd check [-c FILE] [--json] [--help]\n"
               "\n"
               "Validates a config file and reports every problem in it, one per line:\n"
               "  FILE:LINE:COL: error: MESSAGE\n"
               "\n"
               "options:\n"
               "  -c, --config FILE  the config to check (default ./opsd.yaml if it exists,\n"
               "                     else /etc/opsd/opsd.yaml)\n"
               "  --json             also print the result as JSON on stdout:\n"
               "                     {\"ok\":true,\"monitors\":N} or\n"
               "                     {\"ok\":false,\"errors\":[{\"line\":L,\"col\":C,"
               "\"message\":M}]}\n"
               "  -h, --help         show this help\n"
               "\n"
               "Exit status: 0 the config is valid, 2 it is not (or cannot be read) or the\n"
               "arguments are wrong. The keys are described in docs/config.md.\n");
}

/* Prints j compactly on stdout, with a newline; steals j. */
static void print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);

    if (s)
        printf("%s\n", s);
    free(s);
    json_decref(j);
}

static json_t *errors_json(const struct conf_diags *d)
{
    json_t *a = json_array();

    for (size_t i = 0; i < d->n; i++)
        json_array_append_new(a, json_pack("{s:I,s:I,s:s}", "line", (json_int_t)d->v[i].line, "col",
                                           (json_int_t)d->v[i].col, "message", d->v[i].msg));
    if (d->dropped) {
        char msg[128];

        snprintf(msg, sizeof(msg), "%zu more problems not shown", d->dropped);
        json_array_append_new(a, json_pack("{s:I,s:I,s:s}", "line", (json_int_t)0, "col",
                                           (json_int_t)0, "message", msg));
    }
    return a;
}

int cmd_check(int argc, char **argv)
{
    struct conf_diags diags = { 0 };
    struct conf *conf = NULL;
    const char *config_opt = NULL, *path;
    bool json = false;
    int r;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return CMD_EXIT_OK;
        } else if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "opsd check: error: option '%s' needs a FILE argument\n", a);
                return CMD_EXIT_USAGE;
            }
            config_opt = argv[++i];
        } else if (strncmp(a, "--config=", 9) == 0) {
            config_opt = a + 9;
        } else if (strncmp(a, "-c", 2) == 0) {
            config_opt = a + 2;
        } else if (a[0] == '-') {
            fprintf(stderr, "opsd check: error: unknown option '%s' (see 'opsd check --help')\n",
                    a);
            return CMD_EXIT_USAGE;
        } else {
            fprintf(stderr, "opsd check: error: unexpected argument '%s' (use -c FILE)\n", a);
            return CMD_EXIT_USAGE;
        }
    }

    path = cmd_config_path(config_opt);
    r = conf_load(path, &conf, &diags);
    if (r < 0) {
        conf_diags_print(&diags, stderr);
        cmd_config_hint(config_opt, r);
        if (json)
            print_json(json_pack("{s:b,s:o}", "ok", 0, "errors", errors_json(&diags)));
        conf_diags_free(&diags);
        return CMD_EXIT_USAGE;
    }
    if (json)
        print_json(json_pack("{s:b,s:I}", "ok", 1, "monitors", (json_int_t)conf->n_monitors));
    else
        printf("%s: ok (%zu monitors)\n", path, conf->n_monitors);
    conf_free(conf);
    conf_diags_free(&diags);
    return CMD_EXIT_OK;
}
