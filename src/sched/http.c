/* HTTP checks: libcurl multi driven through its socket API on the engine's
 * loop (the pattern of curl's docs/examples/multi-uv.c), so thousands of
 * checks share one thread and no check blocks another. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sched/sched-impl.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/opsd_limits.h"
#include "util/sbuf.h"
#include "util/xalloc.h"

struct sock_ctx {
    uv_poll_t poll;
    curl_socket_t fd;
    struct sched *s;
};

struct http_check {
    struct mon *m;
    CURL *easy;
    struct sbuf body;
    bool capture;
    bool truncated;
    char errbuf[CURL_ERROR_SIZE];
    uint64_t started_ms;
};

static void process_done(struct sched *s);

static void sock_closed(uv_handle_t *h)
{
    struct sock_ctx *c = h->data;

    c->s->open_socks--;
    free(c);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct sock_ctx *c = h->data;
    int flags = 0, running;

    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(c->s->multi, c->fd, flags, &running);
    process_done(c->s);
}

static int on_curl_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct sched *s = userp;
    struct sock_ctx *c = socketp;
    int events = 0, r;

    (void)e;
    if (what == CURL_POLL_REMOVE) {
        if (c) {
            uv_poll_stop(&c->poll);
            curl_multi_assign(s->multi, fd, NULL);
            uv_close((uv_handle_t *)&c->poll, sock_closed);
        }
        return 0;
    }
    if (!c) {
        c = xcalloc(1, sizeof(*c));
        c->fd = fd;
        c->s = s;
        r = uv_poll_init_socket(s->loop, &c->poll, fd);
        if (r < 0) {
            log_error("event=poll_init_failed fd=%d err=%s", (int)fd, log_q(uv_strerror(r)));
            free(c);
            return -1;
        }
        c->poll.data = c;
        s->open_socks++;
        curl_multi_assign(s->multi, fd, c);
    }
    if (what & CURL_POLL_IN)
        events |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        events |= UV_WRITABLE;
    uv_poll_start(&c->poll, events, on_poll);
    return 0;
}

static void on_curl_timeout(uv_timer_t *t)
{
    struct sched *s = t->data;
    int running;

    curl_multi_socket_action(s->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    process_done(s);
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct sched *s = userp;

    (void)multi;
    if (timeout_ms < 0)
        uv_timer_stop(&s->curl_timer);
    else
        uv_timer_start(&s->curl_timer, on_curl_timeout, (uint64_t)timeout_ms, 0);
    return 0;
}

int sched_http_init(struct sched *s, struct opsd_error *err)
{
    s->multi = curl_multi_init();
    if (!s->multi)
        return opsd_errorf(err, -ENOMEM, "cannot create the libcurl multi handle");
    curl_multi_setopt(s->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(s->multi, CURLMOPT_SOCKETDATA, s);
    curl_multi_setopt(s->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(s->multi, CURLMOPT_TIMERDATA, s);
    uv_timer_init(s->loop, &s->curl_timer);
    s->curl_timer.data = s;
    return 0;
}

void sched_http_close(struct sched *s, uv_close_cb cb)
{
    uv_timer_stop(&s->curl_timer);
    uv_close((uv_handle_t *)&s->curl_timer, cb);
}

void sched_http_cleanup(struct sched *s)
{
    for (size_t i = 0; i < s->n_pool; i++)
        curl_easy_cleanup(s->easy_pool[i]);
    free(s->easy_pool);
    s->easy_pool = NULL;
    s->n_pool = s->cap_pool = 0;
    if (s->multi)
        curl_multi_cleanup(s->multi);
    s->multi = NULL;
}

/* Easy handles are recycled: creating one per check costs more than the
 * check itself at a thousand checks a second. */
static CURL *easy_get(struct sched *s)
{
    if (s->n_pool)
        return s->easy_pool[--s->n_pool];
    return curl_easy_init();
}

static void easy_put(struct sched *s, CURL *e)
{
    if (s->n_pool >= 256) {
        curl_easy_cleanup(e);
        return;
    }
    curl_easy_reset(e);
    xgrow((void **)&s->easy_pool, &s->cap_pool, s->n_pool + 1, sizeof(CURL *));
    s->easy_pool[s->n_pool++] = e;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct http_check *c = userdata;
    size_t n = size * nmemb;

    if (c->capture) {
        size_t room = OPSD_MAX_BODY_CAPTURE - c->body.len;
        if (n > room)
            c->truncated = true;
        sbuf_add(&c->body, ptr, MIN(n, room));
    }
    return n;
}

static void check_free(struct http_check *c)
{
    sbuf_release(&c->body);
    free(c);
}

void sched_http_start(struct mon *m)
{
    struct sched *s = m->s;
    const struct conf_monitor *cf = m->conf;
    struct http_check *c;
    CURL *e = easy_get(s);
    CURLMcode mc;

    if (!e) {
        struct probe_result r;
        probe_result_init(&r, clock_now_ms(s->clock));
        snprintf(r.message, sizeof(r.message), "cannot create an HTTP handle");
        sched_record(m, &r, false);
        sched_check_finished(m);
        return;
    }
    c = xcalloc(1, sizeof(*c));
    c->m = m;
    c->easy = e;
    sbuf_init(&c->body);
    c->capture = cf->body_contains != NULL;
    c->started_ms = clock_now_ms(s->clock);
    m->check = c;

    curl_easy_setopt(e, CURLOPT_URL, cf->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, c);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)cf->timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "opsd/" OPSD_VERSION " (+monitoring)");
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, cf->follow_redirects ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)cf->max_redirects);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, cf->tls_verify ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, cf->tls_verify ? 2L : 0L);
    /* A check measures a real connection each time: a reused one would hide
     * DNS, connect and TLS problems and their timings. */
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    if (strncmp(cf->url, "https:", 6) == 0)
        curl_easy_setopt(e, CURLOPT_CERTINFO, 1L);
    if (cf->method && strcmp(cf->method, "HEAD") == 0)
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    else if (cf->method && strcmp(cf->method, "GET") != 0)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, cf->method);

    mc = curl_multi_add_handle(s->multi, e);
    if (mc != CURLM_OK) {
        struct probe_result r;
        probe_result_init(&r, c->started_ms);
        snprintf(r.message, sizeof(r.message), "cannot start the check: %s",
                 curl_multi_strerror(mc));
        m->check = NULL;
        easy_put(s, e);
        check_free(c);
        sched_record(m, &r, false);
        sched_check_finished(m);
    }
}

void sched_http_cancel(struct mon *m)
{
    struct http_check *c = m->check;

    if (!c)
        return;
    curl_multi_remove_handle(m->s->multi, c->easy);
    easy_put(m->s, c->easy);
    m->check = NULL;
    check_free(c);
}

static int32_t us_info(CURL *e, CURLINFO what)
{
    curl_off_t v = 0;

    if (curl_easy_getinfo(e, what, &v) != CURLE_OK || v <= 0)
        return PROBE_NO_VALUE;
    return v > INT32_MAX ? INT32_MAX : (int32_t)v;
}

/* Days until the leaf certificate's notAfter, from libcurl's CERTINFO. */
static int32_t cert_days(CURL *e, uint64_t now_ms)
{
    struct curl_certinfo *ci = NULL;
    struct curl_slist *sl;

    if (curl_easy_getinfo(e, CURLINFO_CERTINFO, &ci) != CURLE_OK || !ci || ci->num_of_certs < 1)
        return PROBE_NO_VALUE;
    for (sl = ci->certinfo[0]; sl; sl = sl->next) {
        struct tm tm;
        time_t t;

        if (strncmp(sl->data, "Expire date:", 12) != 0)
            continue;
        memset(&tm, 0, sizeof(tm));
        if (!strptime(sl->data + 12, "%b %d %H:%M:%S %Y", &tm))
            return PROBE_NO_VALUE;
        t = timegm(&tm);
        return (int32_t)(((int64_t)t * 1000 - (int64_t)now_ms) / 86400000);
    }
    return PROBE_NO_VALUE;
}

static void finish(struct http_check *c, CURLcode rc)
{
    struct mon *m = c->m;
    struct sched *s = m->s;
    struct probe_http_obs obs;
    struct probe_result r;
    long code = 0;

    memset(&obs, 0, sizeof(obs));
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &code);
    obs.curl_code = (int)rc;
    obs.curl_error = c->errbuf;
    obs.http_status = code;
    obs.body = c->body.buf;
    obs.body_len = c->body.len;
    obs.body_truncated = c->truncated;
    obs.dns_us = us_info(c->easy, CURLINFO_NAMELOOKUP_TIME_T);
    obs.connect_us = us_info(c->easy, CURLINFO_CONNECT_TIME_T);
    obs.tls_us = us_info(c->easy, CURLINFO_APPCONNECT_TIME_T);
    obs.ttfb_us = us_info(c->easy, CURLINFO_STARTTRANSFER_TIME_T);
    obs.total_us = us_info(c->easy, CURLINFO_TOTAL_TIME_T);
    if (obs.total_us == PROBE_NO_VALUE)
        obs.total_us = 0;
    obs.cert_days = rc == CURLE_OK ? cert_days(c->easy, c->started_ms) : PROBE_NO_VALUE;

    probe_result_init(&r, c->started_ms);
    probe_http_evaluate(m->conf, &obs, &r);

    curl_multi_remove_handle(s->multi, c->easy);
    easy_put(s, c->easy);
    m->check = NULL;
    check_free(c);
    sched_record(m, &r, false);
    sched_check_finished(m);
}

static void process_done(struct sched *s)
{
    CURLMsg *msg;
    int left;

    while ((msg = curl_multi_info_read(s->multi, &left))) {
        struct http_check *c = NULL;

        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
        if (c)
            finish(c, msg->data.result);
    }
}
