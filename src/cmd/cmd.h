/* Subcommands: one file each under src/cmd/, listed in main.c's table. */
#pragma once
#include <stdbool.h>

#include <jansson.h>

enum {
    CMD_EXIT_OK = 0,
    CMD_EXIT_FAILURE = 1, /* runtime failure: server unreachable, store error */
    CMD_EXIT_USAGE = 2,   /* bad arguments or invalid config */
};

int cmd_serve(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_alerts(int argc, char **argv);
int cmd_ack(int argc, char **argv);
int cmd_resolve(int argc, char **argv);
int cmd_notifications(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_silence(int argc, char **argv);

/* The config path: opt if given, else ./opsd.yaml, else /etc/opsd/opsd.yaml. */
const char *cmd_config_path(const char *opt);
/* After a failed conf_load (r < 0) of the default path (opt NULL) that does not
 * exist, tells the user where opsd looked and what to pass instead. */
void cmd_config_hint(const char *opt, int r);
/* The base URL of the running server ("http://127.0.0.1:8080"): server_opt if
 * given, else from the config's server.listen. Caller frees *ret_url.
 * Prints the problem and returns CMD_EXIT_USAGE on failure. */
int cmd_server_url(const char *server_opt, const char *config_opt, char **ret_url);
/* "--opt VALUE" or "--opt=VALUE" (and "-c VALUE", "-cVALUE"). Returns 1 when
 * argv[*i] is that option (value in *ret, *i advanced), 0 when it is not,
 * -1 when its value is missing. shopt may be NULL. */
int cmd_option_value(int argc, char **argv, int *i, const char *shopt, const char *lopt,
                     const char **ret);
/* The message of an API error body {"error":{"message":...}}, or NULL. */
const char *cmd_api_error_message(const json_t *j);

/* The options every client subcommand takes. */
struct cmd_client {
    const char *name; /* "opsd alerts", for messages */
    const char *config, *server, *token;
    bool json;
};
/* Takes argv[*i] if it is -c/--config, --server, --token or --json: 1 taken,
 * 0 not one of them, -1 after printing that its value is missing. */
int cmd_client_option(struct cmd_client *c, int argc, char **argv, int *i);
/* Prints "unknown option" or "unexpected argument" for argv[i]; returns
 * CMD_EXIT_USAGE. */
int cmd_bad_argument(const struct cmd_client *c, const char *arg);
/* method base+path with an optional bearer token (c->token or $OPSD_TOKEN)
 * and JSON body; the reply parsed into *ret (caller json_decref()s). Prints
 * what went wrong and returns CMD_EXIT_FAILURE when the server cannot be
 * reached, does not answer JSON or answers an error status (its message
 * shown), else 0. */
int cmd_api(const struct cmd_client *c, const char *method, const char *path, const char *body,
            json_t **ret);

/* GETs base+path with libcurl; body returned NUL-terminated (caller frees),
 * HTTP status in *ret_status. Returns 0, or -1 after printing the error. */
int cmd_http_get(const char *base, const char *path, char **ret_body, long *ret_status);
