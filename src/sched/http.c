/* HTTP checks: libcurl multi driven through its socket API on the engine's
 * loop (the pattern of curl's docs/examples/multi-uv.c), so thousands of
 * checks share one thread and no check blocks another. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>

#include "sched/sched-impl.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/opsd_limits.h"
#include "util/sbuf.h"
#include "util/xalloc.h"

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

/* curl's sockets live in an epoll set of our own, which sits under one
 * uv_poll_t on the loop. A uv_poll_t per socket would cost an allocation, a
 * handle close and five more syscalls for every check (libuv validates each
 * new fd with an add/delete pair and sets O_NONBLOCK again). */
static void on_curl_epoll(uv_poll_t *h, int status, int events)
{
    struct sched *s = h->data;
    struct epoll_event ev[256];
    int n, running;

    (void)status;
    (void)events;
    do {
        n = epoll_wait(s->curl_epfd, ev, (int)ARRAY_SIZE(ev), 0);
        for (int i = 0; i < n; i++) {
            int flags = 0;
            if (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP))
                flags |= CURL_CSELECT_IN;
            if (ev[i].events & EPOLLOUT)
                flags |= CURL_CSELECT_OUT;
            if (ev[i].events & EPOLLERR)
                flags |= CURL_CSELECT_ERR;
            curl_multi_socket_action(s->multi, ev[i].data.fd, flags, &running);
        }
    } while (n == (int)ARRAY_SIZE(ev));
    process_done(s);
}

/* Which epoll events each of curl's sockets is registered for (0: not in
 * the set), indexed by fd: the sockets are ours only while curl has them. */
static uint32_t *fd_slot(struct sched *s, curl_socket_t fd)
{
    size_t old = s->cap_fd_events;

    if ((size_t)fd >= old) {
        xgrow((void **)&s->fd_events, &s->cap_fd_events, (size_t)fd + 1, sizeof(uint32_t));
        memset(s->fd_events + old, 0, (s->cap_fd_events - old) * sizeof(uint32_t));
    }
    return &s->fd_events[fd];
}

static int on_curl_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct sched *s = userp;
    struct epoll_event ev = { .data.fd = fd };
    uint32_t *cur;

    (void)e;
    (void)socketp;
    if (fd < 0)
        return 0;
    cur = fd_slot(s, fd);
    if (what == CURL_POLL_REMOVE) {
        if (*cur)
            epoll_ctl(s->curl_epfd, EPOLL_CTL_DEL, fd, &ev);
        *cur = 0;
        return 0;
    }
    if (what & CURL_POLL_IN)
        ev.events |= EPOLLIN;
    if (what & CURL_POLL_OUT)
        ev.events |= EPOLLOUT;
    /* EPOLLET is never used, so bit 31 is free to mean "in the set". */
    if ((ev.events | EPOLLET) == *cur)
        return 0;
    if (epoll_ctl(s->curl_epfd, *cur ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) < 0) {
        log_error("event=epoll_ctl_failed fd=%d err=%s", (int)fd, log_q(strerror(errno)));
        return -1;
    }
    *cur = ev.events | EPOLLET;
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
    s->http_headers = curl_slist_append(NULL, "Connection: close");
    s->curl_epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s->curl_epfd < 0) {
        int r = -errno;
        curl_multi_cleanup(s->multi);
        s->multi = NULL;
        curl_slist_free_all(s->http_headers);
        s->http_headers = NULL;
        return opsd_errorf(err, r, "cannot create an epoll set: %s", strerror(-r));
    }
    uv_poll_init(s->loop, &s->curl_poll, s->curl_epfd);
    s->curl_poll.data = s;
    uv_poll_start(&s->curl_poll, UV_READABLE, on_curl_epoll);
    uv_timer_init(s->loop, &s->curl_timer);
    s->curl_timer.data = s;
    return 0;
}

/* Closes the two loop handles; cb runs once for each. */
void sched_http_close(struct sched *s, uv_close_cb cb)
{
    uv_timer_stop(&s->curl_timer);
    uv_close((uv_handle_t *)&s->curl_timer, cb);
    uv_poll_stop(&s->curl_poll);
    uv_close((uv_handle_t *)&s->curl_poll, cb);
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
    free(s->fd_events);
    s->fd_events = NULL;
    s->cap_fd_events = 0;
    curl_slist_free_all(s->http_headers);
    s->http_headers = NULL;
    if (s->curl_epfd >= 0)
        close(s->curl_epfd);
    s->curl_epfd = -1;
}

/* Easy handles are recycled: creating one per check costs more than the
 * check itself at a thousand checks a second. */
static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata);

/* Options every check shares are set once, when the handle is made: string
 * options are copied and parsed again on every setopt. */
static CURL *easy_new(struct sched *s)
{
    CURL *e = curl_easy_init();

    if (!e)
        return NULL;
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "opsd/" OPSD_VERSION " (+monitoring)");
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    /* A check measures a real connection each time: a reused one would hide
     * DNS, connect and TLS problems and their timings. */
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    /* ... and says so, so the server closes first and the TIME_WAIT state
     * lands there, not on the monitoring host's ephemeral ports. */
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, s->http_headers);
    return e;
}

static CURL *easy_get(struct sched *s)
{
    if (s->n_pool)
        return s->easy_pool[--s->n_pool];
    return easy_new(s);
}

static void easy_put(struct sched *s, CURL *e)
{
    if (s->n_pool >= 256) {
        curl_easy_cleanup(e);
        return;
    }
    /* No curl_easy_reset(): sched_http_start() sets every option a check
     * uses, each time, and resetting costs more than the check's own setup. */
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

/* The shared "Connection: close" and the monitor's own headers, in order;
 * a header the config sets to "" is sent empty ("Name;" to libcurl). */
static struct curl_slist *headers_for(struct sched *s, const struct conf_monitor *cf)
{
    struct curl_slist *l = NULL;

    (void)s;
    l = curl_slist_append(l, "Connection: close");
    for (size_t i = 0; i < cf->n_headers; i++) {
        char *h = cf->headers[i].value[0] ? xasprintf("%s: %s", cf->headers[i].key,
                                                      cf->headers[i].value)
                                          : xasprintf("%s;", cf->headers[i].key);
        l = curl_slist_append(l, h);
        free(h);
    }
    return l;
}

void sched_http_start(struct mon *m)
{
    struct sched *s = m->s;
    const struct conf_monitor *cf = m->conf;
    struct http_check *c;
    CURL *e = easy_get(s);
    CURLMcode mc;
    bool is_head;

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
    c->capture = cf->body_contains != NULL || cf->n_expect_json;
    c->started_ms = clock_now_ms(s->clock);
    m->check = c;

    /* The URL was parsed once, when the monitor was made. */
    curl_easy_setopt(e, CURLOPT_CURLU, m->curlu);
    if (!m->curlu)
        curl_easy_setopt(e, CURLOPT_URL, cf->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, c);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)cf->timeout_ms);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, cf->follow_redirects ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)cf->max_redirects);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, cf->tls_verify ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, cf->tls_verify ? 2L : 0L);
    curl_easy_setopt(e, CURLOPT_CERTINFO, strncmp(cf->url, "https:", 6) == 0 ? 1L : 0L);
    is_head = cf->method && strcmp(cf->method, "HEAD") == 0;
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L); /* clears NOBODY and POST: set those after */
    curl_easy_setopt(e, CURLOPT_NOBODY, is_head ? 1L : 0L);
    if (cf->body) {
        /* Copied: a reload may free the config while the check still runs. */
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(cf->body));
        curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, cf->body);
    }
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST,
                     cf->method && !is_head && strcmp(cf->method, "GET") != 0 &&
                             !(cf->body && strcmp(cf->method, "POST") == 0)
                         ? cf->method
                         : NULL);
    if (m->http_headers)
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, m->http_headers);
    else if (cf->n_headers)
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, m->http_headers = headers_for(s, cf));
    else
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, s->http_headers);
    /* Pooled handles keep options: credentials are set, or cleared, on every check. */
    curl_easy_setopt(e, CURLOPT_USERNAME, cf->auth_username);
    curl_easy_setopt(e, CURLOPT_PASSWORD, cf->auth_password);
    curl_easy_setopt(e, CURLOPT_XOAUTH2_BEARER, cf->auth_bearer);
    curl_easy_setopt(e, CURLOPT_HTTPAUTH,
                     cf->auth_bearer ? (long)CURLAUTH_BEARER : (long)CURLAUTH_BASIC);

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

CURLU *sched_http_parse_url(const char *url)
{
    CURLU *u = curl_url();

    if (u && curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
        curl_url_cleanup(u);
        u = NULL; /* CURLOPT_URL then reports the problem as the check's result */
    }
    return u;
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
