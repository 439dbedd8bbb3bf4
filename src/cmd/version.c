/* opsd version */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <sqlite3.h>
#include <uv.h>
#include <yaml.h>

#include "cmd/cmd.h"

int cmd_version(int argc, char **argv)
{
    bool json = false;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: opsd version [--json]\n\nPrints opsd's version and its libraries'.\n");
            return CMD_EXIT_OK;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else {
            fprintf(stderr, "opsd version: error: unknown option '%s'\n", argv[i]);
            return CMD_EXIT_USAGE;
        }
    }
    if (json) {
        printf("{\"version\":\"%s\",\"libuv\":\"%s\",\"libcurl\":\"%s\",\"libmicrohttpd\":\"%s\","
               "\"jansson\":\"%s\",\"sqlite\":\"%s\",\"libyaml\":\"%s\"}\n",
               OPSD_VERSION, uv_version_string(), curl_version_info(CURLVERSION_NOW)->version,
               MHD_get_version(), JANSSON_VERSION, sqlite3_libversion(), yaml_get_version_string());
    } else {
        printf("opsd %s (libuv %s, libcurl %s, libmicrohttpd %s, jansson %s, sqlite %s, libyaml %s)\n",
               OPSD_VERSION, uv_version_string(), curl_version_info(CURLVERSION_NOW)->version,
               MHD_get_version(), JANSSON_VERSION, sqlite3_libversion(), yaml_get_version_string());
    }
    return CMD_EXIT_OK;
}
