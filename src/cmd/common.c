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

int cmd_option_value(int argc, char **argv, int *i, const char *shopt, const char *lopt,
                     const char **ret)
{
    const char *a = argv[*i];
    size_t l = strlen(lopt);

    if (strncmp(a, lopt, l) == 0 && a[l] == '=') {
        *ret = a + l + 1;
        return 1;
    }
    if (shopt && strncmp(a, shopt, 2) == 0 && a[2]) {
        *ret = a + 2;
        return 1;
    }
    if (strcmp(a, lopt) != 0 && !(shopt && strcmp(a, shopt) == 0))
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *ret = argv[++*i];
    return 1;
}

const char *cmd_api_error_message(const json_t *j)
{
    return json_string_value(json_object_get(json_object_get(j, "error"), "message"));
}

int cmd_client_option(struct cmd_client *c, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    int r;

    if (strcmp(a, "--json") == 0) {
        c->json = true;
        return 1;
    }
    r = cmd_option_value(argc, argv, i, "-c", "--config", &c->config);
    if (r == 0)
        r = cmd_option_value(argc, argv, i, NULL, "--server", &c->server);
    if (r == 0)
        r = cmd_option_value(argc, argv, i, NULL, "--token", &c->token);
    if (r < 0)
        fprintf(stderr, "%s: error: option '%s' needs a value\n", c->name, a);
    return r;
}

int cmd_bad_argument(const struct cmd_client *c, const char *arg)
{
    if (arg[0] == '-')
        fprintf(stderr, "%s: error: unknown option '%s' (see '%s --help')\n", c->name, arg,
                c->name);
    else
        fprintf(stderr, "%s: error: unexpected argument '%s' (see '%s --help')\n", c->name, arg,
                c->name);
    return CMD_EXIT_USAGE;
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

static int http(const char *method, const char *base, const char *path, const char *token,
                const char *body, char **ret_body, long *ret_status);

int cmd_http_get(const char *base, const char *path, char **ret_body, long *ret_status)
{
    return http("GET", base, path, NULL, NULL, ret_body, ret_status);
}

int cmd_api(const struct cmd_client *c, const char *method, const char *path, const char *body,
            json_t **ret)
{
    _cleanup_free_ char *url = NULL, *reply = NULL;
    const char *token = c->token ? c->token : getenv("OPSD_TOKEN");
    long status = 0;
    json_t *j;
    int r;

    r = cmd_server_url(c->server, c->config, &url);
    if (r != 0)
        return r;
    if (http(method, url, path, token && *token ? token : NULL, body, &reply, &status) < 0)
        return CMD_EXIT_FAILURE;
    j = json_loads(reply, 0, NULL);
    if (status < 200 || status > 299) {
        const char *msg = j ? cmd_api_error_message(j) : NULL;
        fprintf(stderr, "%s: error: %s (HTTP %ld)\n", c->name, msg ? msg : "the server refused",
                status);
        if (status == 401 && !token)
            fprintf(stderr, "%s: hint: pass --token or set OPSD_TOKEN (opsd token create)\n",
                    c->name);
        json_decref(j);
        return CMD_EXIT_FAILURE;
    }
    if (!j) {
        fprintf(stderr, "%s: error: the server at '%s' did not answer JSON (is it opsd?)\n",
                c->name, url);
        return CMD_EXIT_FAILURE;
    }
    *ret = j;
    return 0;
}

static int http(const char *method, const char *base, const char *path, const char *token,
                const char *body, char **ret_body, long *ret_status)
{
    struct sbuf sb = SBUF_INIT;
    char errbuf[CURL_ERROR_SIZE] = "";
    _cleanup_free_ char *url = xasprintf("%s%s", base, path);
    CURL *h = curl_easy_init();
    CURLcode rc;
    long status = 0;
    struct curl_slist *hdrs = NULL;
    _cleanup_free_ char *auth = NULL;

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
    if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
    }
    if (token) {
        auth = xasprintf("Authorization: Bearer %s", token);
        hdrs = curl_slist_append(hdrs, auth);
    }
    if (body)
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    rc = curl_easy_perform(h);
    curl_slist_free_all(hdrs);
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
