/* What several subcommands share: finding the config and the server. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cmd/cmd.h"
#include "config/config.h"
#include "util/cleanup.h"
#include "util/sbuf.h"
#include "util/xalloc.h"

const char *cmd_config_path(const char *opt)
{
    return opt ? opt : conf_default_path();
}

void cmd_config_hint(const char *opt, int r)
{
    if (opt || r != -ENOENT)
        return;
    fprintf(stderr, "opsd: hint: no ./opsd.yaml here and no /etc/opsd/opsd.yaml; pass -c FILE "
                    "(examples/opsd.yaml is a config that runs as is)\n");
}

/* Turns a listen address into a URL a local client can reach: wildcard
 * addresses become the matching loopback address. */
static char *listen_to_url(const char *listen)
{
    const char *colon = strrchr(listen, ':');
    const char *port = colon ? colon + 1 : "8080";
    size_t hostlen = colon ? (size_t)(colon - listen) : strlen(listen);
    _cleanup_free_ char *host = xstrndup(listen, hostlen);

    if (strncmp(listen, "http://", 7) == 0 || strncmp(listen, "https://", 8) == 0)
        return xstrdup(listen);
    if (!*host || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "*") == 0)
        return xasprintf("http://127.0.0.1:%s", port);
    if (strcmp(host, "[::]") == 0)
        return xasprintf("http://[::1]:%s", port);
    return xasprintf("http://%s:%s", host, port);
}

int cmd_server_url(const char *server_opt, const char *config_opt, char **ret_url)
{
    struct conf_diags diags = { 0 };
    struct conf *conf = NULL;
    const char *path;
    int r;

    if (server_opt) {
        size_t n = strlen(server_opt);
        while (n > 0 && server_opt[n - 1] == '/')
            n--;
        *ret_url = xstrndup(server_opt, n);
        return 0;
    }
    path = cmd_config_path(config_opt);
    r = conf_load(path, &conf, &diags);
    if (r < 0) {
        conf_diags_print(&diags, stderr);
        conf_diags_free(&diags);
        cmd_config_hint(config_opt, r);
        fprintf(stderr, "opsd: error: cannot find the server without a valid config "
                        "(pass --server URL or -c FILE)\n");
        return CMD_EXIT_USAGE;
    }
    conf_diags_free(&diags);
    *ret_url = listen_to_url(conf->server.listen);
    conf_free(conf);
    return 0;
}

static size_t collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct sbuf *sb = userdata;
    size_t n = size * nmemb;

    if (sb->len + n > (64u << 20))
        return 0; /* a runaway server: give up rather than eat memory */
    sbuf_add(sb, ptr, n);
    return n;
}

int cmd_http_get(const char *base, const char *path, char **ret_body, long *ret_status)
{
    struct sbuf sb = SBUF_INIT;
    char errbuf[CURL_ERROR_SIZE] = "";
    _cleanup_free_ char *url = xasprintf("%s%s", base, path);
    CURL *h = curl_easy_init();
    CURLcode rc;
    long status = 0;

    if (!h) {
        fprintf(stderr, "opsd: error: cannot create an HTTP client\n");
        return -1;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sb);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 15000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "opsd/" OPSD_VERSION);
    rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
        fprintf(stderr, "opsd: error: cannot reach the server at '%s': %s\n", base,
                errbuf[0] ? errbuf : curl_easy_strerror(rc));
        curl_easy_cleanup(h);
        sbuf_release(&sb);
        return -1;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    *ret_status = status;
    *ret_body = sbuf_detach(&sb, NULL);
    return 0;
}
