/* opsd serve: load the config, open the store, run the engine and the web
 * server on one loop until SIGTERM/SIGINT; SIGHUP reloads the config. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-daemon.h>
#include <uv.h>

#include "cmd/cmd.h"
#include "config/config.h"
#include "sched/sched.h"
#include "store/store.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "web/web.h"

struct server {
    uv_loop_t *loop;
    const char *config_path;
    struct conf_server overrides; /* from the command line; NULL fields unset */
    struct store *store;
    struct sched *sched;
    struct web *web;
    uv_signal_t sig_term, sig_int, sig_hup;
    uv_timer_t watchdog;
    bool watchdog_on;
    bool stopping;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: opsd serve [-c FILE] [--listen ADDR] [--data-dir DIR] [--log-level LEVEL]\n"
            "\n"
            "Runs every monitor in the config, stores their results, and serves the API,\n"
            "the status page, /metrics and the heartbeat ping URLs.\n"
            "\n"
            "  -c, --config FILE    config file (default ./opsd.yaml, then /etc/opsd/opsd.yaml)\n"
            "      --listen ADDR    override server.listen, e.g. 127.0.0.1:8080 or [::1]:8080\n"
            "      --data-dir DIR   override server.data_dir (the SQLite store lives there)\n"
            "      --log-level L    override server.log_level: debug, info, warn, error\n"
            "  -h, --help           show this help\n"
            "\n"
            "Signals: SIGTERM/SIGINT stop cleanly (in-flight checks finish, every result is\n"
            "written); SIGHUP reloads the config, keeping the old one if the new one is invalid.\n"
            "Logs go to stderr, one logfmt line per event. Exit status: 0 after a clean stop,\n"
            "1 on a runtime failure (store, listen address), 2 on a usage or config error.\n");
}

static void apply_overrides(struct server *sv, struct conf *c)
{
    if (sv->overrides.listen) {
        free(c->server.listen);
        c->server.listen = xstrdup(sv->overrides.listen);
        /* the links in notifications must point where opsd listens */
        if (c->alerting.external_url_default) {
            free(c->alerting.external_url);
            c->alerting.external_url = xasprintf("http://%s", c->server.listen);
        }
    }
    if (sv->overrides.data_dir) {
        free(c->server.data_dir);
        c->server.data_dir = xstrdup(sv->overrides.data_dir);
    }
    if (sv->overrides.log_level) {
        free(c->server.log_level);
        c->server.log_level = xstrdup(sv->overrides.log_level);
    }
}

static void stop_loop_handles(struct server *sv)
{
    uv_close((uv_handle_t *)&sv->sig_term, NULL);
    uv_close((uv_handle_t *)&sv->sig_int, NULL);
    uv_close((uv_handle_t *)&sv->sig_hup, NULL);
    if (sv->watchdog_on)
        uv_timer_stop(&sv->watchdog);
    uv_close((uv_handle_t *)&sv->watchdog, NULL);
}

static void web_closed(void *userdata)
{
    stop_loop_handles(userdata);
}

static void engine_stopped(void *userdata)
{
    struct server *sv = userdata;

    if (sv->web) {
        web_close(sv->web, web_closed, sv);
        sv->web = NULL;
    } else {
        stop_loop_handles(sv);
    }
}

static void begin_stop(struct server *sv, const char *why)
{
    if (sv->stopping) {
        log_warn("event=already_stopping signal=%s", why);
        return;
    }
    sv->stopping = true;
    log_info("event=stopping signal=%s", why);
    sd_notify(0, "STOPPING=1");
    sched_stop(sv->sched, engine_stopped, sv);
}

static void reload(struct server *sv)
{
    struct conf_diags diags = { 0 };
    struct opsd_error err = { 0 };
    struct conf *c = NULL;
    const struct conf *old = sched_conf(sv->sched);
    enum log_level lvl;
    int r;

    sd_notify(0, "RELOADING=1");
    r = conf_load(sv->config_path, &c, &diags);
    if (r < 0) {
        log_error("event=reload_failed config=%s problems=%zu", log_q(sv->config_path), diags.n);
        for (size_t i = 0; i < diags.n; i++)
            log_error("event=config_error line=%u col=%u msg=%s", diags.v[i].line, diags.v[i].col,
                      log_q(diags.v[i].msg));
        conf_diags_free(&diags);
        sd_notify(0, "READY=1");
        return;
    }
    conf_diags_free(&diags);
    apply_overrides(sv, c);
    if (strcmp(c->server.listen, old->server.listen) != 0 ||
        strcmp(c->server.data_dir, old->server.data_dir) != 0)
        log_warn("event=reload_needs_restart msg=%s",
                 log_q("server.listen and server.data_dir take effect on restart"));
    if (log_level_from_string(c->server.log_level, &lvl) == 0)
        log_min_level = lvl;
    r = sched_reload(sv->sched, c, &err);
    if (r < 0)
        log_error("event=reload_failed err=%s", log_q(err.msg));
    sd_notify(0, "READY=1");
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct server *sv = h->data;

    if (signum == SIGHUP) {
        if (sv->stopping)
            log_warn("event=reload_ignored reason=stopping");
        else
            reload(sv);
    } else
        begin_stop(sv, signum == SIGTERM ? "TERM" : "INT");
}

static void on_watchdog(uv_timer_t *t)
{
    (void)t;
    sd_notify(0, "WATCHDOG=1");
}

static int parse_args(int argc, char **argv, struct server *sv)
{
    /* clang-format off */
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "listen", required_argument, NULL, 'L' },
        { "data-dir", required_argument, NULL, 'D' },
        { "log-level", required_argument, NULL, 'l' },
        { "help", no_argument, NULL, 'h' },
        { 0 },
    };
    /* clang-format on */
    enum log_level lvl;
    int o;

    optind = 1;
    opterr = 0;
    while ((o = getopt_long(argc, argv, ":c:h", opts, NULL)) != -1) {
        switch (o) {
        case 'c':
            sv->config_path = optarg;
            break;
        case 'L':
            sv->overrides.listen = optarg;
            break;
        case 'D':
            sv->overrides.data_dir = optarg;
            break;
        case 'l':
            if (log_level_from_string(optarg, &lvl) < 0) {
                fprintf(stderr,
                        "opsd serve: error: unknown log level '%s' (debug, info, warn, error)\n",
                        optarg);
                return CMD_EXIT_USAGE;
            }
            sv->overrides.log_level = optarg;
            break;
        case 'h':
            usage(stdout);
            return -1;
        case ':':
            fprintf(stderr, "opsd serve: error: option '%s' needs a value\n", argv[optind - 1]);
            return CMD_EXIT_USAGE;
        default:
            fprintf(stderr, "opsd serve: error: unknown option '%s' (see 'opsd serve --help')\n",
                    argv[optind - 1]);
            return CMD_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "opsd serve: error: unexpected argument '%s'\n", argv[optind]);
        return CMD_EXIT_USAGE;
    }
    return 0;
}

/* The watchdog period systemd asks for in WATCHDOG_USEC, in microseconds;
 * 0 (no watchdog) when it is unset, zero or not a number. */
static uint64_t watchdog_usec(void)
{
    const char *s = getenv("WATCHDOG_USEC");
    unsigned long long v;
    char *end;

    if (!s)
        return 0;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end || s[strspn(s, " \t")] == '-') {
        log_warn("event=watchdog_invalid watchdog_usec=%s", log_q(s));
        return 0;
    }
    return v;
}

int cmd_serve(int argc, char **argv)
{
    struct server sv = { 0 };
    struct conf_diags diags = { 0 };
    struct opsd_error err = { 0 };
    struct conf *conf = NULL;
    uv_loop_t loop;
    uint64_t wd_usec;
    enum log_level lvl;
    const char *config_opt;
    int r, ret = CMD_EXIT_FAILURE;

    /* libuv's pool (4 threads by default) runs the store's writes, name
     * lookups and the file, log, host and process checks; a few more
     * threads keep one slow disk from delaying the rest. Read once, at the
     * pool's first use; an operator's own setting wins. */
    setenv("UV_THREADPOOL_SIZE", "8", 0);
    r = parse_args(argc, argv, &sv);
    if (r)
        return r < 0 ? CMD_EXIT_OK : r;
    config_opt = sv.config_path;
    sv.config_path = cmd_config_path(config_opt);
    r = conf_load(sv.config_path, &conf, &diags);
    if (r < 0) {
        conf_diags_print(&diags, stderr);
        conf_diags_free(&diags);
        cmd_config_hint(config_opt, r);
        return CMD_EXIT_USAGE;
    }
    conf_diags_free(&diags);
    apply_overrides(&sv, conf);
    if (log_level_from_string(conf->server.log_level, &lvl) == 0)
        log_min_level = lvl;

    /* A peer closing a socket mid-write must not kill the daemon. */
    signal(SIGPIPE, SIG_IGN);
    uv_loop_init(&loop);
    sv.loop = &loop;

    r = store_open(conf->server.data_dir, &clock_real, &sv.store, &err);
    if (r < 0) {
        log_error("event=store_open_failed data_dir=%s err=%s", log_q(conf->server.data_dir),
                  log_q(err.msg));
        conf_free(conf);
        goto out;
    }
    log_info("event=store_opened data_dir=%s schema_version=%d", log_q(conf->server.data_dir),
             store_schema_version(sv.store));

    r = sched_new(&loop, conf, sv.store, &clock_real, &sv.sched, &err);
    if (r < 0) {
        log_error("event=engine_failed err=%s", log_q(err.msg));
        goto out;
    }
    r = web_start(&loop, sched_conf(sv.sched)->server.listen, sv.sched, sv.store, &clock_real,
                  &sv.web, &err);
    if (r < 0) {
        log_error("event=listen_failed listen=%s err=%s",
                  log_q(sched_conf(sv.sched)->server.listen), log_q(err.msg));
        sv.stopping = true;
        sched_stop(sv.sched, NULL, NULL);
        uv_run(&loop, UV_RUN_DEFAULT);
        goto out;
    }
    sched_start(sv.sched, &err);

    uv_signal_init(&loop, &sv.sig_term);
    uv_signal_init(&loop, &sv.sig_int);
    uv_signal_init(&loop, &sv.sig_hup);
    sv.sig_term.data = sv.sig_int.data = sv.sig_hup.data = &sv;
    uv_signal_start(&sv.sig_term, on_signal, SIGTERM);
    uv_signal_start(&sv.sig_int, on_signal, SIGINT);
    uv_signal_start(&sv.sig_hup, on_signal, SIGHUP);
    uv_timer_init(&loop, &sv.watchdog);
    wd_usec = watchdog_usec();
    if (wd_usec > 0) {
        uint64_t half_ms = wd_usec / 2000;
        uv_timer_start(&sv.watchdog, on_watchdog, half_ms, half_ms ? half_ms : 1);
        sv.watchdog_on = true;
    }

    log_info("event=listening url=%s monitors=%zu config=%s", log_q(web_url(sv.web)),
             sched_monitor_count(sv.sched), log_q(sv.config_path));
    sd_notifyf(0, "READY=1\nSTATUS=serving %zu monitors on %s", sched_monitor_count(sv.sched),
               web_url(sv.web));

    uv_run(&loop, UV_RUN_DEFAULT);
    ret = CMD_EXIT_OK;

out:
    /* Whatever path got here, let closing handles finish before the loop goes. */
    uv_run(&loop, UV_RUN_DEFAULT);
    sv.sched = sched_free(sv.sched);
    sv.store = store_close(sv.store);
    if (uv_loop_close(&loop) != 0)
        log_warn("event=loop_close_busy");
    if (ret == CMD_EXIT_OK)
        log_info("event=stopped");
    return ret;
}
