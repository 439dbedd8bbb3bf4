/* Subcommands: one file each under src/cmd/, listed in main.c's table. */
#pragma once
#include <stdbool.h>

enum {
    CMD_EXIT_OK = 0,
    CMD_EXIT_FAILURE = 1, /* runtime failure: server unreachable, store error */
    CMD_EXIT_USAGE = 2,   /* bad arguments or invalid config */
};

int cmd_serve(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_version(int argc, char **argv);

/* The config path: opt if given, else ./opsd.yaml, else /etc/opsd/opsd.yaml. */
const char *cmd_config_path(const char *opt);
/* After a failed conf_load (r < 0) of the default path (opt NULL) that does not
 * exist, tells the user where opsd looked and what to pass instead. */
void cmd_config_hint(const char *opt, int r);
/* The base URL of the running server ("http://127.0.0.1:8080"): server_opt if
 * given, else from the config's server.listen. Caller frees *ret_url.
 * Prints the problem and returns CMD_EXIT_USAGE on failure. */
int cmd_server_url(const char *server_opt, const char *config_opt, char **ret_url);
/* GETs base+path with libcurl; body returned NUL-terminated (caller frees),
 * HTTP status in *ret_status. Returns 0, or -1 after printing the error. */
int cmd_http_get(const char *base, const char *path, char **ret_body, long *ret_status);
