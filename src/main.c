/* opsd: global options, the command table, exit codes
 * (0 ok, 1 runtime failure, 2 usage or config error). */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "cmd/cmd.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    { "serve", cmd_serve, "run the monitors, the API and the status page" },
    { "check", cmd_check, "validate a config file and report every problem" },
    { "status", cmd_status, "show every monitor's state from the running server" },
    { "alerts", cmd_alerts, "list alerts (open ones by default)" },
    { "ack", cmd_ack, "acknowledge an alert: its escalation stops" },
    { "resolve", cmd_resolve, "resolve an alert by hand" },
    { "notifications", cmd_notifications, "show the outbox: delivered, pending and failed" },
    { "silence", cmd_silence, "mute alerts by label for a while" },
    { "token", cmd_token, "create, list and revoke API tokens" },
    { "version", cmd_version, "print the version" },
};

static void usage(FILE *f)
{
    fprintf(f, "usage: opsd [--version] [--help] <command> [<args>]\n\n"
               "opsd watches services and hosts, keeps their history, and publishes a status page.\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-14s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nRun 'opsd <command> --help' for a command's options. Docs: docs/opsd.md\n");
}

int main(int argc, char **argv)
{
    const char *name;
    int r;

    if (argc < 2) {
        usage(stderr);
        return CMD_EXIT_USAGE;
    }
    name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        usage(stdout);
        return CMD_EXIT_OK;
    }
    if (strcmp(name, "--version") == 0)
        name = "version";

    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(name, commands[i].name) != 0)
            continue;
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            fprintf(stderr, "opsd: error: libcurl failed to initialise\n");
            return CMD_EXIT_FAILURE;
        }
        r = commands[i].run(argc - 1, argv + 1);
        curl_global_cleanup();
        return r;
    }
    fprintf(stderr, "opsd: error: unknown command '%s' (see 'opsd --help')\n", name);
    return CMD_EXIT_USAGE;
}
