/* The notification transport: performs notify_build()'s requests (HTTP POST
 * and SMTP) on the loop through a libcurl multi handle of its own, driven by
 * CURLMOPT_SOCKETFUNCTION/CURLMOPT_TIMERFUNCTION as the checks' multi is in
 * sched/http.c, but apart from it, so a slow receiver never delays a check. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>

#include <curl/curl.h>

#include "notify/notify.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/opsd_limits.h"
#include "util/sbuf.h"
#include "util/xalloc.h"

struct job {
    struct notify_sender *s;
    struct job *prev, *next; /* in s->running or s->queue */
    CURL *easy;              /* while running */
    bool smtp;
    char *url;
    struct curl_slist *headers; /* HTTP: the request's, then Content-Type and "Expect:" */
    char **header_lines;        /* the request's own, kept for masking */
    size_t n_header_lines;
    char *body;
    size_t body_len;
    size_t body_off; /* SMTP: bytes uploaded so far */
    char *mail_from;
    struct curl_slist *rcpt;
    uint64_t timeout_ms;
    bool tls_verify;
    bool starttls;
    char *username;
    char *password;
    notify_send_cb cb;
    void *userdata;
    struct sbuf resp; /* the response body, up to OPSD_MAX_NOTIFY_RESPONSE */
    bool resp_full;   /* the cap was reached and the transfer stopped there */
    char retry_after[64];
    char date[64];
    char smtp_reply[128]; /* the server's last error reply line */
    char errbuf[CURL_ERROR_SIZE];
};

struct job_list {
    struct job *head, *tail;
    unsigned n;
};

struct notify_sender {
    uv_loop_t *loop;
    CURLM *multi;
    int epfd;       /* curl's sockets, under poll */
    uv_poll_t poll; /* handles embedded, freed in on_closed() */
    uv_timer_t timer;
    unsigned max_inflight;
    struct job_list running;
    struct job_list queue;
    bool closing;
    unsigned n_closed;
    void (*done)(void *ud);
    void *done_ud;
};

static void list_append(struct job_list *l, struct job *j)
{
    j->next = NULL;
    j->prev = l->tail;
    if (l->tail)
        l->tail->next = j;
    else
        l->head = j;
    l->tail = j;
    l->n++;
}

static void list_remove(struct job_list *l, struct job *j)
{
    if (j->prev)
        j->prev->next = j->next;
    else
        l->head = j->next;
    if (j->next)
        j->next->prev = j->prev;
    else
        l->tail = j->prev;
    j->prev = j->next = NULL;
    l->n--;
}

static char **strv_copy(char *const *v, size_t n)
{
    char **c = xcalloc(n ? n : 1, sizeof(*c));

    for (size_t i = 0; i < n; i++)
        c[i] = xstrdup(v[i]);
    return c;
}

static void job_free(struct job *j)
{
    if (!j)
        return;
    if (j->easy)
        curl_easy_cleanup(j->easy);
    free(j->url);
    curl_slist_free_all(j->headers);
    for (size_t i = 0; i < j->n_header_lines; i++)
        free(j->header_lines[i]);
    free(j->header_lines);
    free(j->body);
    free(j->mail_from);
    curl_slist_free_all(j->rcpt);
    free(j->username);
    if (j->password)
        explicit_bzero(j->password, strlen(j->password));
    free(j->password);
    sbuf_release(&j->resp);
    free(j);
}

/* ---- masking: what the error text must never show ------------------------ */

struct needles {
    char **v;
    size_t n, cap;
};

static void needle_add(struct needles *nd, const char *s, size_t len, size_t min)
{
    if (!s || len < min)
        return;
    xgrow((void **)&nd->v, &nd->cap, nd->n + 1, sizeof(*nd->v));
    nd->v[nd->n++] = xstrndup(s, len);
}

/* s, and each of its parts between separators that is at least 8 bytes long
 * (a token inside a path, a query or "Bearer <token>"). */
static void needle_add_split(struct needles *nd, const char *s, const char *seps)
{
    if (!s)
        return;
    needle_add(nd, s, strlen(s), 4);
    for (const char *p = s; *p;) {
        size_t n = strcspn(p, seps);

        needle_add(nd, p, n, 8);
        p += n;
        p += strspn(p, seps);
    }
}

static void needles_from_url(struct needles *nd, const char *url)
{
    static const CURLUPart parts[] = { CURLUPART_PATH, CURLUPART_QUERY, CURLUPART_USER,
                                       CURLUPART_PASSWORD };
    CURLU *u = curl_url();

    if (!u || curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
        /* Unparsable: mask everything after the scheme. */
        const char *p = strstr(url, "://");

        needle_add(nd, p ? p + 3 : url, strlen(p ? p + 3 : url), 4);
        curl_url_cleanup(u);
        return;
    }
    for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
        for (int decode = 0; decode < 2; decode++) {
            char *v = NULL;

            if (curl_url_get(u, parts[i], &v, decode ? CURLU_URLDECODE : 0) != CURLUE_OK)
                continue;
            needle_add_split(nd, v, "/?&=;,");
            curl_free(v);
        }
    }
    curl_url_cleanup(u);
}

static int longest_first(const void *a, const void *b)
{
    size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);

    return la < lb ? 1 : la > lb ? -1 : 0;
}

/* Replaces in sb every occurrence of the job's secrets by "***". */
static void mask(struct sbuf *sb, const struct job *j)
{
    struct needles nd = { 0 };
    struct sbuf out = SBUF_INIT;

    needles_from_url(&nd, j->url);
    for (size_t i = 0; i < j->n_header_lines; i++) {
        const char *v = strchr(j->header_lines[i], ':');

        if (v)
            needle_add_split(&nd, v + 1 + strspn(v + 1, " \t"), " \t,;=");
    }
    needle_add(&nd, j->username, j->username ? strlen(j->username) : 0, 4);
    needle_add(&nd, j->password, j->password ? strlen(j->password) : 0, 4);
    if (nd.n)
        qsort(nd.v, nd.n, sizeof(*nd.v), longest_first);
    for (size_t i = 0; i < nd.n; i++) {
        size_t len = strlen(nd.v[i]);
        const char *p = sb->buf, *hit;

        sbuf_reset(&out);
        while ((hit = memmem(p, sb->len - (size_t)(p - sb->buf), nd.v[i], len))) {
            sbuf_add(&out, p, (size_t)(hit - p));
            sbuf_puts(&out, "***");
            p = hit + len;
        }
        if (p == sb->buf)
            continue; /* not found */
        sbuf_add(&out, p, sb->len - (size_t)(p - sb->buf));
        sbuf_reset(sb);
        sbuf_add(sb, out.buf, out.len);
    }
    for (size_t i = 0; i < nd.n; i++)
        free(nd.v[i]);
    free(nd.v);
    sbuf_release(&out);
}

/* The longest prefix of s (len bytes) of at most max bytes that ends on a
 * UTF-8 code point boundary. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
        max--;
    return max;
}

/* Appends the response body as one line: control bytes become spaces, runs
 * of spaces one, invalid UTF-8 U+FFFD. */
static void add_body_line(struct sbuf *sb, const struct sbuf *body)
{
    _cleanup_free_ char *flat = xmalloc(body->len + 1);
    size_t n = 0;

    for (size_t i = 0; i < body->len; i++) {
        unsigned char c = (unsigned char)body->buf[i];

        if (c < 0x20 || c == 0x7f)
            c = ' ';
        if (c == ' ' && (n == 0 || flat[n - 1] == ' '))
            continue;
        flat[n++] = (char)c;
    }
    while (n > 0 && flat[n - 1] == ' ')
        n--;
    flat[n] = '\0';
    notify_utf8_clean(sb, flat);
}

/* ---- libcurl callbacks ---------------------------------------------------- */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct job *j = userdata;
    size_t n = size * nmemb, room = OPSD_MAX_NOTIFY_RESPONSE - j->resp.len;

    sbuf_add(&j->resp, ptr, MIN(n, room));
    if (n > room) {
        /* Enough to say what went wrong: stop here (CURLE_WRITE_ERROR, which
         * finish() reads as the end of the response). */
        j->resp_full = true;
        return 0;
    }
    return n;
}

static void copy_value(char *dst, size_t cap, const char *p, size_t n)
{
    while (n > 0 && (*p == ' ' || *p == '\t')) {
        p++;
        n--;
    }
    while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == '\n' || p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    n = MIN(n, cap - 1);
    memcpy(dst, p, n);
    dst[n] = '\0';
}

/* HTTP: response header lines, a status line first (again after a 1xx).
 * SMTP: the server's reply lines. */
static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct job *j = userdata;
    size_t n = size * nmemb;

    if (j->smtp) {
        char line[sizeof(j->smtp_reply)];

        copy_value(line, sizeof(line), ptr, n);
        if (line[0] == '4' || line[0] == '5') /* not the "221 bye" that follows */
            memcpy(j->smtp_reply, line, sizeof(line));
    } else if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
        j->retry_after[0] = j->date[0] = '\0';
    } else if (n > 12 && strncasecmp(ptr, "Retry-After:", 12) == 0) {
        copy_value(j->retry_after, sizeof(j->retry_after), ptr + 12, n - 12);
    } else if (n > 5 && strncasecmp(ptr, "Date:", 5) == 0) {
        copy_value(j->date, sizeof(j->date), ptr + 5, n - 5);
    }
    return n;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *userdata)
{
    struct job *j = userdata;
    size_t n = MIN(size * nitems, j->body_len - j->body_off);

    memcpy(buf, j->body + j->body_off, n);
    j->body_off += n;
    return n;
}

/* ---- results -------------------------------------------------------------- */

/* Retry-After: delta-seconds, or an HTTP-date taken against the response's
 * own Date (so a skewed clock on either side does not matter), else ours. */
static uint64_t retry_after_ms(const struct job *j)
{
    const char *v = j->retry_after;
    time_t at, base = -1;

    if (!v[0])
        return 0;
    if (v[strspn(v, "0123456789")] == '\0') {
        unsigned long long sec = strtoull(v, NULL, 10); /* ULLONG_MAX on overflow */

        return sec >= NOTIFY_MAX_RETRY_AFTER_MS / 1000 ? NOTIFY_MAX_RETRY_AFTER_MS : sec * 1000;
    }
    at = curl_getdate(v, NULL);
    if (at == -1)
        return 0;
    if (j->date[0])
        base = curl_getdate(j->date, NULL);
    if (base == -1)
        base = time(NULL);
    if (at <= base)
        return 0;
    return (uint64_t)(at - base) >= NOTIFY_MAX_RETRY_AFTER_MS / 1000 ? NOTIFY_MAX_RETRY_AFTER_MS
                                                                     : (uint64_t)(at - base) * 1000;
}

/* Whether another attempt may succeed after libcurl failed with rc: not when
 * our own settings are wrong, nor after a permanent (5xx) SMTP reply. */
static bool curl_retryable(CURLcode rc, bool smtp, long code)
{
    switch (rc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_LOGIN_DENIED:
    case CURLE_AUTH_ERROR:
    case CURLE_USE_SSL_FAILED:
    case CURLE_TOO_MANY_REDIRECTS:
    case CURLE_BAD_FUNCTION_ARGUMENT:
        return false;
    default:
        return !(smtp && code >= 500 && code < 600);
    }
}

static bool http_retryable(long code)
{
    if (code >= 400 && code < 500)
        return code == 408 || code == 425 || code == 429;
    return true; /* 5xx, and anything odd */
}

static void result_init(struct notify_send_result *r, const char *error)
{
    memset(r, 0, sizeof(*r));
    r->retryable = true;
    snprintf(r->error, sizeof(r->error), "%s", error);
}

static void result_fill(struct job *j, CURLcode rc, struct notify_send_result *r)
{
    _cleanup_(sbuf_release) struct sbuf e = SBUF_INIT;
    curl_off_t us = 0;
    long code = 0;

    memset(r, 0, sizeof(*r));
    curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &code);
    r->http_status = (int)code;
    if (curl_easy_getinfo(j->easy, CURLINFO_TOTAL_TIME_T, &us) == CURLE_OK && us > 0)
        r->took_us = us > INT32_MAX ? INT32_MAX : (int32_t)us;
    if (rc == CURLE_WRITE_ERROR && j->resp_full)
        rc = CURLE_OK;

    /* What came from outside (libcurl's text, which may quote the server, the
     * server's reply, the body) is masked before it is cut, so no part of a
     * secret is left at the edge; our own words are not. */
    if (rc != CURLE_OK) {
        r->retryable = curl_retryable(rc, j->smtp, code);
        sbuf_puts(&e, j->errbuf[0] ? j->errbuf : curl_easy_strerror(rc));
        while (e.len > 0 && e.buf[e.len - 1] == '\n')
            e.buf[--e.len] = '\0';
        if (j->smtp && j->smtp_reply[0])
            sbuf_addf(&e, " (server: %s)", j->smtp_reply);
        mask(&e, j);
    } else if (j->smtp || (code >= 200 && code < 300)) {
        r->ok = true;
    } else if (code >= 300 && code < 400) {
        sbuf_addf(&e,
                  "HTTP %ld: the receiver redirects, and redirects are not followed "
                  "(configure the final URL)",
                  code);
    } else {
        r->retryable = http_retryable(code);
        sbuf_addf(&e, "HTTP %ld", code);
        if (j->resp.len) {
            _cleanup_(sbuf_release) struct sbuf b = SBUF_INIT;

            add_body_line(&b, &j->resp);
            mask(&b, j);
            if (b.len)
                sbuf_addf(&e, ": %.*s", (int)utf8_cut(b.buf, b.len, NOTIFY_ERROR_BODY), b.buf);
        }
    }
    if (!j->smtp && (code == 429 || code == 503))
        r->retry_after_ms = retry_after_ms(j);
    snprintf(r->error, sizeof(r->error), "%.*s", (int)utf8_cut(e.buf, e.len, sizeof(r->error) - 1),
             e.buf);
}

/* ---- the multi on the loop ------------------------------------------------ */

static void process_done(struct notify_sender *s);

static void on_curl_epoll(uv_poll_t *h, int status, int events)
{
    struct notify_sender *s = h->data;
    struct epoll_event ev[64];
    int n, running;

    (void)status;
    (void)events;
    do {
        n = epoll_wait(s->epfd, ev, (int)ARRAY_SIZE(ev), 0);
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
        process_done(s);
    } while (n == (int)ARRAY_SIZE(ev) && !s->closing);
}

/* Few sockets, so no table of what each is registered for: MOD, and ADD
 * when the kernel does not know the fd (a closed fd leaves the set). */
static int on_curl_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct notify_sender *s = userp;
    struct epoll_event ev = { .data.fd = fd };

    (void)e;
    (void)socketp;
    if (fd < 0)
        return 0;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(s->epfd, EPOLL_CTL_DEL, fd, &ev); /* ENOENT if curl closed it first */
        return 0;
    }
    if (what & CURL_POLL_IN)
        ev.events |= EPOLLIN;
    if (what & CURL_POLL_OUT)
        ev.events |= EPOLLOUT;
    if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 &&
        (errno != ENOENT || epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)) {
        log_error("event=notify_epoll_ctl_failed fd=%d err=%s", (int)fd, log_q(strerror(errno)));
        return -1;
    }
    return 0;
}

static void on_curl_timeout(uv_timer_t *t)
{
    struct notify_sender *s = t->data;
    int running;

    curl_multi_socket_action(s->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    process_done(s);
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct notify_sender *s = userp;

    (void)multi;
    if (s->closing)
        return 0; /* the timer is closed or closing */
    if (timeout_ms < 0)
        uv_timer_stop(&s->timer);
    else
        uv_timer_start(&s->timer, on_curl_timeout, (uint64_t)timeout_ms, 0);
    return 0;
}

static int job_start(struct notify_sender *s, struct job *j)
{
    CURL *e = curl_easy_init();

    if (!e)
        return -ENOMEM;
    curl_easy_setopt(e, CURLOPT_PRIVATE, j);
    curl_easy_setopt(e, CURLOPT_URL, j->url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "opsd/" OPSD_VERSION);
    /* A POST to smtp:// or mail to http:// is a configuration error, not a
     * request to try: each method gets only its own protocols. */
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, j->smtp ? "smtp,smtps" : "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)j->timeout_ms);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, j->tls_verify ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, j->tls_verify ? 2L : 0L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->errbuf);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, j);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
    if (j->smtp) {
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(e, CURLOPT_READDATA, j);
        curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)j->body_len);
        curl_easy_setopt(e, CURLOPT_MAIL_FROM, j->mail_from);
        curl_easy_setopt(e, CURLOPT_MAIL_RCPT, j->rcpt);
        curl_easy_setopt(e, CURLOPT_USE_SSL,
                         j->starttls ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_NONE);
        if (j->username)
            curl_easy_setopt(e, CURLOPT_USERNAME, j->username);
        if (j->password)
            curl_easy_setopt(e, CURLOPT_PASSWORD, j->password);
    } else {
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->headers);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)j->body_len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->body); /* borrowed: the job owns it */
    }
    if (curl_multi_add_handle(s->multi, e) != CURLM_OK) {
        curl_easy_cleanup(e);
        return -ENOMEM;
    }
    j->easy = e;
    list_append(&s->running, j);
    return 0;
}

static void job_finish(struct job *j, CURLcode rc)
{
    struct notify_sender *s = j->s;
    struct notify_send_result r;

    result_fill(j, rc, &r);
    curl_multi_remove_handle(s->multi, j->easy);
    list_remove(&s->running, j);
    j->cb(&r, j->userdata);
    job_free(j);
}

/* Starts queued jobs while there is room; one that cannot start ends with
 * an error at once. */
static void start_queued(struct notify_sender *s)
{
    while (!s->closing && s->queue.head && s->running.n < s->max_inflight) {
        struct job *j = s->queue.head;
        struct notify_send_result r;

        list_remove(&s->queue, j);
        if (job_start(s, j) >= 0)
            continue;
        result_init(&r, "cannot start the request: out of memory");
        j->cb(&r, j->userdata);
        job_free(j);
    }
}

/* Callbacks may close the sender: s stays allocated until the handles'
 * close callbacks, but the multi must not be read once closing. */
static void process_done(struct notify_sender *s)
{
    CURLMsg *msg;
    int left;

    while (!s->closing && (msg = curl_multi_info_read(s->multi, &left))) {
        struct job *j = NULL;

        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&j);
        if (j)
            job_finish(j, msg->data.result);
    }
    start_queued(s);
}

/* ---- the API -------------------------------------------------------------- */

int notify_sender_new(uv_loop_t *loop, unsigned max_inflight, struct notify_sender **ret,
                      struct opsd_error *err)
{
    struct notify_sender *s;
    int r;

    if (max_inflight == 0)
        return opsd_errorf(err, -EINVAL, "the sender needs at least one request in flight");
    s = xcalloc(1, sizeof(*s));
    s->loop = loop;
    s->max_inflight = max_inflight;
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s->epfd < 0) {
        r = -errno;
        free(s);
        return opsd_errorf(err, r, "cannot create an epoll set: %s", strerror(-r));
    }
    s->multi = curl_multi_init();
    if (!s->multi) {
        close(s->epfd);
        free(s);
        return opsd_errorf(err, -ENOMEM, "cannot create the libcurl multi handle");
    }
    r = uv_poll_init(loop, &s->poll, s->epfd);
    if (r < 0) {
        curl_multi_cleanup(s->multi);
        close(s->epfd);
        free(s);
        return opsd_errorf(err, r, "cannot watch the epoll set: %s", uv_strerror(r));
    }
    curl_multi_setopt(s->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(s->multi, CURLMOPT_SOCKETDATA, s);
    curl_multi_setopt(s->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(s->multi, CURLMOPT_TIMERDATA, s);
    s->poll.data = s;
    uv_poll_start(&s->poll, UV_READABLE, on_curl_epoll);
    uv_timer_init(loop, &s->timer);
    s->timer.data = s;
    *ret = s;
    return 0;
}

int notify_sender_submit(struct notify_sender *s, const struct notify_request *req,
                         const struct notify_send_opts *o, notify_send_cb cb, void *userdata)
{
    struct job *j;
    bool smtp;
    int r;

    if (s->closing)
        return -ESHUTDOWN;
    if (!req->method || !req->url || !cb || (req->body_len && !req->body))
        return -EINVAL;
    smtp = strcmp(req->method, "SMTP") == 0;
    if (!smtp && strcmp(req->method, "POST") != 0)
        return -EINVAL;
    if (smtp && (!req->mail_from || req->n_rcpt == 0))
        return -EINVAL;

    j = xcalloc(1, sizeof(*j));
    j->s = s;
    j->smtp = smtp;
    j->url = xstrdup(req->url);
    j->body = xmalloc(req->body_len + 1);
    if (req->body_len)
        memcpy(j->body, req->body, req->body_len);
    j->body[req->body_len] = '\0';
    j->body_len = req->body_len;
    j->header_lines = strv_copy(req->headers, req->n_headers);
    j->n_header_lines = req->n_headers;
    if (!smtp) {
        for (size_t i = 0; i < req->n_headers; i++)
            j->headers = curl_slist_append(j->headers, req->headers[i]);
        if (req->content_type) {
            _cleanup_free_ char *ct = xasprintf("Content-Type: %s", req->content_type);

            j->headers = curl_slist_append(j->headers, ct);
        }
        j->headers = curl_slist_append(j->headers, "Expect:");
    } else {
        j->mail_from = xstrdup(req->mail_from);
        for (size_t i = 0; i < req->n_rcpt; i++)
            j->rcpt = curl_slist_append(j->rcpt, req->rcpt[i]);
    }
    j->timeout_ms = o && o->timeout_ms ? o->timeout_ms : NOTIFY_DEFAULT_TIMEOUT_MS;
    if (j->timeout_ms > LONG_MAX)
        j->timeout_ms = LONG_MAX;
    j->tls_verify = o ? o->tls_verify : true;
    j->starttls = o && o->smtp_starttls;
    if (smtp && o) {
        j->username = xstrdup(o->smtp_username);
        j->password = xstrdup(o->smtp_password);
    }
    j->cb = cb;
    j->userdata = userdata;
    sbuf_init(&j->resp);

    /* FIFO: a submit from a callback waits behind those already queued. */
    if (s->queue.n || s->running.n >= s->max_inflight) {
        list_append(&s->queue, j);
        return 0;
    }
    r = job_start(s, j);
    if (r < 0)
        job_free(j);
    return r;
}

unsigned notify_sender_inflight(const struct notify_sender *s)
{
    return s->running.n;
}

unsigned notify_sender_queued(const struct notify_sender *s)
{
    return s->queue.n;
}

/* Takes every job off the multi and the queue first, then runs their
 * callbacks, so a callback that submits or cancels finds a consistent
 * sender. */
static void abandon_all(struct notify_sender *s, const char *why)
{
    struct job_list gone = { 0 };
    struct job *j;

    while ((j = s->running.head)) {
        list_remove(&s->running, j);
        curl_multi_remove_handle(s->multi, j->easy);
        curl_easy_cleanup(j->easy);
        j->easy = NULL;
        list_append(&gone, j);
    }
    while ((j = s->queue.head)) {
        list_remove(&s->queue, j);
        list_append(&gone, j);
    }
    while ((j = gone.head)) {
        struct notify_send_result r;

        list_remove(&gone, j);
        result_init(&r, why);
        j->cb(&r, j->userdata);
        job_free(j);
    }
}

void notify_sender_cancel_all(struct notify_sender *s)
{
    abandon_all(s, "cancelled");
}

static void on_closed(uv_handle_t *h)
{
    struct notify_sender *s = h->data;
    void (*done)(void *ud) = s->done;
    void *ud = s->done_ud;

    if (++s->n_closed < 2)
        return;
    /* Closes the cached connections; their sockets leave the epoll set
     * through on_curl_socket, so the set goes after. */
    curl_multi_cleanup(s->multi);
    close(s->epfd);
    free(s);
    if (done)
        done(ud);
}

void notify_sender_close(struct notify_sender *s, void (*done)(void *ud), void *ud)
{
    if (s->closing)
        return;
    s->closing = true;
    s->done = done;
    s->done_ud = ud;
    abandon_all(s, "shutting down");
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, on_closed);
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, on_closed);
}
