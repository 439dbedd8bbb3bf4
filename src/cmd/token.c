/* opsd token create|list|revoke: API tokens, made on the store directly (as
 * the user who owns data_dir) so the first token can always be made, with
 * or without a running server. A token is printed once; only its SHA-256
 * is stored. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cmd/cmd.h"
#include "config/config.h"
#include "store/store.h"
#include "util/apitoken.h"
#include "util/clock.h"
#include "util/opsd_limits.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: opsd token create --name NAME [--scope read|write|admin] [-c FILE] [--json]\n"
            "       opsd token list [-c FILE] [--json]\n"
            "       opsd token revoke NAME|ID [-c FILE]\n"
            "\n"
            "API tokens authenticate writes to the API (acks, silences, inbound alerts):\n"
            "'Authorization: Bearer <token>', or --token / $OPSD_TOKEN for the CLI. A token is\n"
            "shown once, when it is made; the store keeps only its SHA-256 and its first\n"
            "characters. Scopes: read < write < admin; a scope grants everything below it.\n"
            "These work on the store under the config's server.data_dir directly, so run them\n"
            "as the user that owns it; the server need not run.\n"
            "\n"
            "options:\n"
            "  --name NAME        a unique name for the token (who or what uses it)\n"
            "  --scope SCOPE      read, write (default) or admin\n"
            "  -c, --config FILE  the config whose data_dir holds the store\n"
            "                     (default: ./opsd.yaml, then /etc/opsd/opsd.yaml)\n"
            "  --json             machine-readable output\n"
            "  -h, --help         show this help and exit\n"
            "\n"
            "exit status: 0 ok; 1 store error or no such token; 2 bad arguments or config.\n");
}

static bool name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > OPSD_MAX_NAME)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr("_.-@", *s)))
            return false;
    return true;
}

static int open_store(const char *config, struct store **ret)
{
    struct conf_diags diags = { 0 };
    struct conf *conf = NULL;
    struct opsd_error err = { 0 };
    int r;

    r = conf_load(cmd_config_path(config), &conf, &diags);
    if (r < 0) {
        conf_diags_print(&diags, stderr);
        conf_diags_free(&diags);
        cmd_config_hint(config, r);
        return CMD_EXIT_USAGE;
    }
    conf_diags_free(&diags);
    r = store_open(conf->server.data_dir, &clock_real, ret, &err);
    if (r < 0) {
        fprintf(stderr, "opsd token: error: cannot open the store in '%s': %s\n",
                conf->server.data_dir, err.msg);
        conf_free(conf);
        return CMD_EXIT_FAILURE;
    }
    conf_free(conf);
    return 0;
}

static int list_one(const struct store_token *t, void *ud)
{
    json_t *arr = ud;

    json_array_append_new(
        arr, json_pack("{s:I s:s s:s s:s s:I s:o s:o}", "id", (json_int_t)t->id, "name", t->name,
                       "scope", apitoken_scope_to_string((enum apitoken_scope)t->scope), "prefix",
                       t->prefix ? t->prefix : "", "created_at_ms", (json_int_t)t->created_ms,
                       "last_used_at_ms",
                       t->last_used_ms ? json_integer((json_int_t)t->last_used_ms) : json_null(),
                       "revoked_at_ms",
                       t->revoked_ms ? json_integer((json_int_t)t->revoked_ms) : json_null()));
    return 0;
}

static int create(struct store *st, const char *name, const char *scope_s, bool json)
{
    enum apitoken_scope scope;
    struct apitoken_record rec;
    struct opsd_error err = { 0 };
    char tok[APITOKEN_SIZE];
    struct store_token t;
    int64_t id = 0;
    int r;

    if (apitoken_scope_from_string(scope_s, &scope) < 0) {
        fprintf(stderr, "opsd token: error: unknown scope '%s' (read, write or admin)\n", scope_s);
        return CMD_EXIT_USAGE;
    }
    if (apitoken_create(scope, tok, &rec, &err) < 0) {
        fprintf(stderr, "opsd token: error: %s\n", err.msg);
        return CMD_EXIT_FAILURE;
    }
    t = (struct store_token){
        .name = name,
        .hash = rec.hash,
        .prefix = rec.prefix,
        .scope = (int)scope,
        .created_ms = clock_now_ms(&clock_real),
    };
    r = store_token_add(st, &t, &id, &err);
    if (r == -EEXIST) {
        fprintf(stderr,
                "opsd token: error: a token named '%s' exists (revoke it first, or pick "
                "another name)\n",
                name);
        return CMD_EXIT_FAILURE;
    }
    if (r < 0) {
        fprintf(stderr, "opsd token: error: %s\n", err.msg);
        return CMD_EXIT_FAILURE;
    }
    if (json) {
        printf("{\"id\":%" PRId64 ",\"name\":\"%s\",\"scope\":\"%s\",\"token\":\"%s\"}\n", id, name,
               apitoken_scope_to_string(scope), tok);
    } else {
        printf("%s\n", tok);
        fprintf(stderr,
                "opsd token: made token %" PRId64 " '%s' with scope %s; it is shown only now\n", id,
                name, apitoken_scope_to_string(scope));
    }
    return CMD_EXIT_OK;
}

int cmd_token(int argc, char **argv)
{
    const char *config = NULL, *name = NULL, *scope = "write", *verb = NULL, *target = NULL;
    bool json = false;
    struct store *st = NULL;
    struct opsd_error err = { 0 };
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
            r = cmd_option_value(argc, argv, &i, NULL, "--name", &name);
        if (r == 0)
            r = cmd_option_value(argc, argv, &i, NULL, "--scope", &scope);
        if (r < 0) {
            fprintf(stderr, "opsd token: error: option '%s' needs a value\n", a);
            return CMD_EXIT_USAGE;
        }
        if (r > 0)
            continue;
        if (a[0] == '-') {
            fprintf(stderr, "opsd token: error: unknown option '%s' (see 'opsd token --help')\n",
                    a);
            return CMD_EXIT_USAGE;
        }
        if (!verb)
            verb = a;
        else if (!target)
            target = a;
        else {
            fprintf(stderr, "opsd token: error: unexpected argument '%s'\n", a);
            return CMD_EXIT_USAGE;
        }
    }
    if (!verb ||
        (strcmp(verb, "create") != 0 && strcmp(verb, "list") != 0 && strcmp(verb, "revoke") != 0)) {
        fprintf(stderr, "opsd token: error: %s%s%s (create, list or revoke; see --help)\n",
                verb ? "unknown action '" : "which action?", verb ? verb : "", verb ? "'" : "");
        return CMD_EXIT_USAGE;
    }
    if (strcmp(verb, "create") == 0 && (!name || !name_ok(name))) {
        fprintf(stderr, "opsd token: error: create needs --name NAME (letters, digits, "
                        "'_.-@', at most 128)\n");
        return CMD_EXIT_USAGE;
    }
    if (strcmp(verb, "revoke") == 0 && !target) {
        fprintf(stderr, "opsd token: error: revoke needs the token's name or id\n");
        return CMD_EXIT_USAGE;
    }
    if ((strcmp(verb, "revoke") != 0 && target) || (strcmp(verb, "create") != 0 && name)) {
        fprintf(stderr, "opsd token: error: unexpected arguments for '%s'\n", verb);
        return CMD_EXIT_USAGE;
    }
    r = open_store(config, &st);
    if (r != 0)
        return r;
    if (strcmp(verb, "create") == 0) {
        r = create(st, name, scope, json);
    } else if (strcmp(verb, "list") == 0) {
        json_t *arr = json_array();
        if (store_tokens(st, list_one, arr, &err) < 0) {
            fprintf(stderr, "opsd token: error: %s\n", err.msg);
            r = CMD_EXIT_FAILURE;
        } else if (json) {
            char *s = json_dumps(json_pack("{s:o}", "tokens", arr), JSON_INDENT(2));
            arr = NULL;
            puts(s ? s : "{}");
            free(s);
        } else {
            size_t i;
            json_t *t;
            printf("%-5s  %-24s  %-6s  %-13s  %s\n", "ID", "NAME", "SCOPE", "PREFIX", "STATE");
            json_array_foreach(arr, i, t)
                printf("%-5" JSON_INTEGER_FORMAT "  %-24s  %-6s  opsd_%-8s  %s\n",
                       json_integer_value(json_object_get(t, "id")),
                       json_string_value(json_object_get(t, "name")),
                       json_string_value(json_object_get(t, "scope")),
                       json_string_value(json_object_get(t, "prefix")),
                       json_is_null(json_object_get(t, "revoked_at_ms")) ? "live" : "revoked");
        }
        json_decref(arr);
    } else {
        int rr = store_token_revoke(st, target, clock_now_ms(&clock_real), &err);
        if (rr == -ENOENT) {
            fprintf(stderr, "opsd token: error: no live token '%s'\n", target);
            r = CMD_EXIT_FAILURE;
        } else if (rr < 0) {
            fprintf(stderr, "opsd token: error: %s\n", err.msg);
            r = CMD_EXIT_FAILURE;
        } else {
            fprintf(stderr, "opsd token: revoked '%s'\n", target);
        }
    }
    store_close(st);
    return r;
}
