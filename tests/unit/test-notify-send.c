/* Unit tests for the notification sender, on a real libuv loop against
 * loopback servers of the test's own: an in-process libmicrohttpd daemon (one
 * thread per connection, so a slow answer holds only its own), a small SMTP
 * responder thread, a socket that listens but never accepts (nothing ever
 * answers) and one bound but not listening (connection refused). Every wait
 * runs the loop until the callbacks have fired, bounded by a watchdog. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <microhttpd.h>
#include <uv.h>

#include "notify/notify.h"
#include "util/cleanup.h"
#include "util/sbuf.h"

#define WATCHDOG_MS 20000 /* generous for valgrind; a passing run takes well under 2 s */
#define MAX_SEEN 32

/* ---- the HTTP server ------------------------------------------------------ */

struct seen {
    char method[16];
    char url[256];
    struct sbuf headers; /* "\nName: value" for each, so "\nName: " matches a whole name */
    struct sbuf body;
};

static struct {
    struct MHD_Daemon *d;
    int port;
    pthread_mutex_t mu;
    struct seen seen[MAX_SEEN];
    int n_seen;
    int slow_now, slow_max; /* requests inside /slow's handler: now and at most */
} web = { .mu = PTHREAD_MUTEX_INITIALIZER };

struct upload {
    struct sbuf body;
};

static enum MHD_Result add_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    sbuf_addf(cls, "\n%s: %s", key, value ? value : "");
    return MHD_YES;
}

static void web_reset(void)
{
    pthread_mutex_lock(&web.mu);
    for (int i = 0; i < web.n_seen; i++) {
        sbuf_release(&web.seen[i].headers);
        sbuf_release(&web.seen[i].body);
    }
    web.n_seen = 0;
    web.slow_now = web.slow_max = 0;
    pthread_mutex_unlock(&web.mu);
}

static int web_count(void)
{
    int n;

    pthread_mutex_lock(&web.mu);
    n = web.n_seen;
    pthread_mutex_unlock(&web.mu);
    return n;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *body,
                             const char *hname, const char *hvalue)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ok;

    if (hname)
        MHD_add_response_header(r, hname, hvalue);
    ok = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result on_http(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload_data,
                               size_t *upload_data_size, void **con_cls)
{
    struct upload *u = *con_cls;
    char buf[512];

    if (!u) {
        u = calloc(1, sizeof(*u));
        sbuf_init(&u->body);
        *con_cls = u;
        return MHD_YES;
    }
    if (*upload_data_size) {
        sbuf_add(&u->body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&web.mu);
    if (web.n_seen < MAX_SEEN) {
        struct seen *s = &web.seen[web.n_seen++];

        snprintf(s->method, sizeof(s->method), "%s", method);
        snprintf(s->url, sizeof(s->url), "%s", url);
        sbuf_init(&s->headers);
        MHD_get_connection_values(c, MHD_HEADER_KIND, add_header, &s->headers);
        sbuf_init(&s->body);
        sbuf_add(&s->body, u->body.buf, u->body.len);
    }
    pthread_mutex_unlock(&web.mu);

    if (strncmp(url, "/hook", 5) == 0)
        return reply(c, 200, "ok", NULL, NULL);
    if (strncmp(url, "/status/", 8) == 0) {
        unsigned code = (unsigned)atoi(url + 8);

        snprintf(buf, sizeof(buf), "status %u\r\nbody\tline two\n", code);
        if (code == 429)
            return reply(c, code, buf, "Retry-After", "7");
        if (code == 503) {
            char date[64];
            time_t t = time(NULL) + 120;
            struct tm tm;

            strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&t, &tm));
            return reply(c, code, buf, "Retry-After", date);
        }
        return reply(c, code, buf, NULL, NULL);
    }
    if (strcmp(url, "/redirect") == 0)
        return reply(c, 302, "", "Location", "/hook/elsewhere");
    if (strcmp(url, "/slow") == 0) {
        pthread_mutex_lock(&web.mu);
        web.slow_now++;
        if (web.slow_now > web.slow_max)
            web.slow_max = web.slow_now;
        pthread_mutex_unlock(&web.mu);
        usleep(150 * 1000); /* the receiver being slow, in its own thread */
        pthread_mutex_lock(&web.mu);
        web.slow_now--;
        pthread_mutex_unlock(&web.mu);
        return reply(c, 200, "ok", NULL, NULL);
    }
    if (strcmp(url, "/big") == 0) {
        size_t n = 1 << 20;
        char *big = malloc(n);
        struct MHD_Response *r;
        enum MHD_Result ok;

        memset(big, 'x', n);
        r = MHD_create_response_from_buffer(n, big, MHD_RESPMEM_MUST_FREE);
        ok = MHD_queue_response(c, 200, r);
        MHD_destroy_response(r);
        return ok;
    }
    if (strncmp(url, "/echo404/", 9) == 0) {
        /* Like Express's default page: the path (and here a header) echoed. */
        const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");

        snprintf(buf, sizeof(buf), "Cannot %s %s (auth %s)", method, url, auth ? auth : "-");
        return reply(c, 404, buf, NULL, NULL);
    }
    return reply(c, 404, "not found", NULL, NULL);
}

static void on_http_done(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct upload *u = *con_cls;

    if (u) {
        sbuf_release(&u->body);
        free(u);
    }
    *con_cls = NULL;
}

/* ---- the SMTP responder --------------------------------------------------- */

#define MAX_CONN 8

static struct {
    int lfd;
    int port;
    pthread_t accept_thread;
    pthread_t conn[MAX_CONN];
    int n_conn;
    atomic_bool stop;
    pthread_mutex_t mu;
    struct sbuf log; /* "FROM <a>\nTO <b>\nDATA\n<message>\n.\n" per message */
    int n_msgs;
} mail = { .mu = PTHREAD_MUTEX_INITIALIZER };

struct lines {
    int fd;
    char buf[8192];
    size_t len;
};

/* Reads one CRLF line into out (CRLF stripped); false on EOF, error, stop or
 * 5 s of silence. */
static bool read_line(struct lines *l, char *out, size_t cap)
{
    for (int waited = 0; waited < 5000;) {
        char *nl = memchr(l->buf, '\n', l->len);
        struct pollfd p = { .fd = l->fd, .events = POLLIN };
        ssize_t n;

        if (nl) {
            size_t n_line = (size_t)(nl - l->buf);
            size_t keep = n_line > 0 && nl[-1] == '\r' ? n_line - 1 : n_line;

            keep = keep < cap - 1 ? keep : cap - 1;
            memcpy(out, l->buf, keep);
            out[keep] = '\0';
            memmove(l->buf, nl + 1, l->len - n_line - 1);
            l->len -= n_line + 1;
            return true;
        }
        if (atomic_load(&mail.stop) || l->len == sizeof(l->buf))
            return false;
        if (poll(&p, 1, 100) == 0) {
            waited += 100;
            continue;
        }
        n = read(l->fd, l->buf + l->len, sizeof(l->buf) - l->len);
        if (n <= 0)
            return false;
        l->len += (size_t)n;
    }
    return false;
}

static void say(int fd, const char *s)
{
    size_t n = strlen(s);

    if (write(fd, s, n) != (ssize_t)n)
        return;
}

static void *smtp_conn(void *arg)
{
    struct lines l = { .fd = (int)(intptr_t)arg };
    char line[1024];

    say(l.fd, "220 sink.test ESMTP\r\n");
    while (read_line(&l, line, sizeof(line))) {
        if (strncasecmp(line, "EHLO", 4) == 0) {
            say(l.fd, "250-sink.test\r\n250 SIZE 10485760\r\n");
        } else if (strncasecmp(line, "HELO", 4) == 0 || strncasecmp(line, "RSET", 4) == 0 ||
                   strncasecmp(line, "NOOP", 4) == 0) {
            say(l.fd, "250 OK\r\n");
        } else if (strncasecmp(line, "MAIL FROM:", 10) == 0) {
            char *sp = strchr(line + 10, ' '); /* parameters: SIZE=... */

            if (sp)
                *sp = '\0';
            pthread_mutex_lock(&mail.mu);
            sbuf_addf(&mail.log, "FROM %s\n", line + 10);
            pthread_mutex_unlock(&mail.mu);
            say(l.fd, "250 OK\r\n");
        } else if (strncasecmp(line, "RCPT TO:", 8) == 0) {
            if (strstr(line, "reject")) {
                say(l.fd, "550 5.1.1 no such user here\r\n");
                continue;
            }
            pthread_mutex_lock(&mail.mu);
            sbuf_addf(&mail.log, "TO %s\n", line + 8);
            pthread_mutex_unlock(&mail.mu);
            say(l.fd, "250 OK\r\n");
        } else if (strncasecmp(line, "DATA", 4) == 0) {
            struct sbuf data = SBUF_INIT;
            bool end = false;

            say(l.fd, "354 go ahead\r\n");
            while (read_line(&l, line, sizeof(line))) {
                if (strcmp(line, ".") == 0) {
                    end = true;
                    break;
                }
                sbuf_addf(&data, "%s\r\n", line[0] == '.' ? line + 1 : line);
            }
            if (end) {
                pthread_mutex_lock(&mail.mu);
                sbuf_addf(&mail.log, "DATA\n%s.\n", data.buf);
                mail.n_msgs++;
                pthread_mutex_unlock(&mail.mu);
                say(l.fd, "250 2.0.0 queued\r\n");
            }
            sbuf_release(&data);
            if (!end)
                break;
        } else if (strncasecmp(line, "QUIT", 4) == 0) {
            say(l.fd, "221 bye\r\n");
            break;
        } else {
            say(l.fd, "500 5.5.2 command unrecognised\r\n");
        }
    }
    close(l.fd);
    return NULL;
}

static void *smtp_accept(void *arg)
{
    (void)arg;
    while (!atomic_load(&mail.stop)) {
        struct pollfd p = { .fd = mail.lfd, .events = POLLIN };
        int fd;

        if (poll(&p, 1, 100) <= 0)
            continue;
        fd = accept(mail.lfd, NULL, NULL);
        if (fd < 0)
            continue;
        if (mail.n_conn == MAX_CONN ||
            pthread_create(&mail.conn[mail.n_conn], NULL, smtp_conn, (void *)(intptr_t)fd) != 0) {
            close(fd);
            continue;
        }
        mail.n_conn++;
    }
    return NULL;
}

static void mail_reset(void)
{
    pthread_mutex_lock(&mail.mu);
    sbuf_reset(&mail.log);
    mail.n_msgs = 0;
    pthread_mutex_unlock(&mail.mu);
}

/* ---- sockets: one that never answers, one that refuses -------------------- */

static int hang_fd = -1, hang_port;
static int refuse_fd = -1, refuse_port;

static int loopback_socket(bool do_listen, int *ret_port)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sin);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    if (do_listen)
        assert_int_equal(listen(fd, 64), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    *ret_port = ntohs(sin.sin_port);
    return fd;
}

static int group_setup(void **state)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

    (void)state;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -1;
    web.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
                             NULL, NULL, on_http, NULL, MHD_OPTION_SOCK_ADDR, &sin,
                             MHD_OPTION_NOTIFY_COMPLETED, on_http_done, NULL, MHD_OPTION_END);
    if (!web.d)
        return -1;
    web.port = MHD_get_daemon_info(web.d, MHD_DAEMON_INFO_BIND_PORT)->port;

    sbuf_init(&mail.log);
    mail.lfd = loopback_socket(true, &mail.port);
    if (pthread_create(&mail.accept_thread, NULL, smtp_accept, NULL) != 0)
        return -1;
    hang_fd = loopback_socket(true, &hang_port);
    refuse_fd = loopback_socket(false, &refuse_port);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    MHD_stop_daemon(web.d);
    web_reset();
    atomic_store(&mail.stop, true);
    pthread_join(mail.accept_thread, NULL);
    for (int i = 0; i < mail.n_conn; i++)
        pthread_join(mail.conn[i], NULL);
    close(mail.lfd);
    sbuf_release(&mail.log);
    close(hang_fd);
    close(refuse_fd);
    curl_global_cleanup();
    return 0;
}

/* ---- the loop ------------------------------------------------------------- */

struct fx {
    uv_loop_t loop;
    uv_timer_t watchdog;
    bool timed_out;
    struct notify_sender *s;
    bool closed; /* the test closed s itself */
    int done_calls;
};

struct outcome {
    int calls;
    int seq; /* order among all callbacks */
    struct notify_send_result r;
};

static int seq;
static uv_loop_t *test_loop;

/* Every callback ends the loop's turn, so run_until() looks at its condition
 * again: with UV_RUN_ONCE alone, a callback that runs in the timers phase
 * would leave the turn blocked in the poll phase after it. */
static void on_result(const struct notify_send_result *r, void *ud)
{
    struct outcome *o = ud;

    o->calls++;
    o->seq = ++seq;
    o->r = *r;
    uv_stop(test_loop);
}

static void on_watchdog(uv_timer_t *t)
{
    struct fx *f = t->data;

    f->timed_out = true;
    uv_stop(&f->loop);
}

static void on_done(void *ud)
{
    struct fx *f = ud;

    f->done_calls++;
    uv_stop(test_loop);
}

static struct fx *fx_new(unsigned max_inflight)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct opsd_error err;

    assert_int_equal(uv_loop_init(&f->loop), 0);
    test_loop = &f->loop;
    uv_timer_init(&f->loop, &f->watchdog);
    f->watchdog.data = f;
    uv_timer_start(&f->watchdog, on_watchdog, WATCHDOG_MS, 0);
    assert_int_equal(notify_sender_new(&f->loop, max_inflight, &f->s, &err), 0);
    web_reset();
    mail_reset();
    seq = 0;
    return f;
}

/* Runs the loop until *n reaches want, or the watchdog fires (a failure). */
static void run_until(struct fx *f, const int *n, int want)
{
    while (*n < want && !f->timed_out)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_false(f->timed_out);
}

static void fx_free(struct fx *f)
{
    if (!f->closed)
        notify_sender_close(f->s, on_done, f);
    run_until(f, &f->done_calls, 1);
    assert_int_equal(f->done_calls, 1);
    uv_timer_stop(&f->watchdog);
    uv_close((uv_handle_t *)&f->watchdog, NULL);
    assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    free(f);
}

static char *url_for(const char *path)
{
    char *u;

    assert_true(asprintf(&u, "http://127.0.0.1:%d%s", web.port, path) > 0);
    return u;
}

static const struct notify_send_opts opts = { .timeout_ms = 5000, .tls_verify = true };

/* Sends one POST of "{}" to url and runs the loop until its result is in. */
static void post_one(struct fx *f, const char *url, const struct notify_send_opts *o,
                     struct outcome *out)
{
    struct notify_request q = { .method = "POST",
                                .url = (char *)url,
                                .body = "{}",
                                .body_len = 2,
                                .content_type = "application/json" };

    assert_int_equal(notify_sender_submit(f->s, &q, o ? o : &opts, on_result, out), 0);
    run_until(f, &out->calls, 1);
    assert_int_equal(out->calls, 1);
}

/* ---- HTTP ----------------------------------------------------------------- */

static void test_post_arrives(void **state)
{
    struct fx *f = fx_new(4);
    _cleanup_free_ char *url = url_for("/hook/a?x=1");
    char *headers[] = { "X-Opsd-Signature: sha256=abc", "Title: Hello world",
                        "Idempotency-Key: k-1" };
    char body[2000]; /* past 1 KiB, where libcurl would otherwise send "Expect:" */
    struct notify_request q = { .method = "POST",
                                .url = url,
                                .headers = headers,
                                .n_headers = 3,
                                .body = body,
                                .body_len = sizeof(body),
                                .content_type = "application/json" };
    struct outcome out = { 0 };
    struct seen *s;

    for (size_t i = 0; i < sizeof(body); i++)
        body[i] = (char)("{\"a\":\"\xc3\xa9\\n\"}\r\n\0"[i % 16]);
    assert_int_equal(notify_sender_submit(f->s, &q, &opts, on_result, &out), 0);
    /* Copied: scribbling on the caller's request changes nothing. */
    q.url = "http://127.0.0.1:1/";
    headers[0] = "X-Other: 1";
    assert_int_equal(notify_sender_inflight(f->s), 1);
    assert_int_equal(out.calls, 0); /* never from inside submit */
    run_until(f, &out.calls, 1);

    assert_true(out.r.ok);
    assert_int_equal(out.r.http_status, 200);
    assert_string_equal(out.r.error, "");
    assert_int_equal(out.r.retry_after_ms, 0);
    assert_true(out.r.took_us > 0);
    assert_int_equal(notify_sender_inflight(f->s), 0);

    assert_int_equal(web_count(), 1);
    s = &web.seen[0];
    assert_string_equal(s->method, "POST");
    assert_string_equal(s->url, "/hook/a");
    assert_non_null(strstr(s->headers.buf, "\nX-Opsd-Signature: sha256=abc"));
    assert_non_null(strstr(s->headers.buf, "\nTitle: Hello world"));
    assert_non_null(strstr(s->headers.buf, "\nIdempotency-Key: k-1"));
    assert_non_null(strstr(s->headers.buf, "\nContent-Type: application/json"));
    assert_non_null(strstr(s->headers.buf, "\nContent-Length: 2000"));
    assert_non_null(strstr(s->headers.buf, "\nUser-Agent: opsd/" OPSD_VERSION));
    assert_null(strcasestr(s->headers.buf, "\nExpect:"));
    assert_null(strstr(s->headers.buf, "X-Other"));
    assert_int_equal(s->body.len, sizeof(body));
    assert_memory_equal(s->body.buf, body, sizeof(body));
    fx_free(f);
}

static void test_http_500(void **state)
{
    struct fx *f = fx_new(4);
    _cleanup_free_ char *url = url_for("/status/500");
    struct outcome out = { 0 };

    post_one(f, url, NULL, &out);
    assert_false(out.r.ok);
    assert_true(out.r.retryable);
    assert_int_equal(out.r.http_status, 500);
    /* The body on one line: control bytes are spaces, runs of them one. */
    assert_string_equal(out.r.error, "HTTP 500: status 500 body line two");
    fx_free(f);
}

static void test_http_4xx(void **state)
{
    static const struct {
        const char *path;
        bool retryable;
    } cases[] = {
        { "/status/400", false }, { "/status/401", false }, { "/status/404", false },
        { "/status/408", true },  { "/status/425", true },  { "/status/502", true },
    };
    struct fx *f = fx_new(4);

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        _cleanup_free_ char *url = url_for(cases[i].path);
        struct outcome out = { 0 };
        char want[32];

        post_one(f, url, NULL, &out);
        snprintf(want, sizeof(want), "HTTP %s: ", cases[i].path + 8);
        assert_false(out.r.ok);
        assert_int_equal(out.r.retryable, cases[i].retryable);
        assert_int_equal(out.r.http_status, atoi(cases[i].path + 8));
        assert_true(strncmp(out.r.error, want, strlen(want)) == 0);
        assert_int_equal(out.r.retry_after_ms, 0);
    }
    fx_free(f);
}

static void test_retry_after(void **state)
{
    struct fx *f = fx_new(4);
    _cleanup_free_ char *u429 = url_for("/status/429");
    _cleanup_free_ char *u503 = url_for("/status/503");
    struct outcome a = { 0 }, b = { 0 };

    post_one(f, u429, NULL, &a);
    assert_false(a.r.ok);
    assert_true(a.r.retryable);
    assert_int_equal(a.r.http_status, 429);
    assert_int_equal(a.r.retry_after_ms, 7000);

    /* An HTTP-date, taken against the response's Date. */
    post_one(f, u503, NULL, &b);
    assert_true(b.r.retryable);
    assert_int_equal(b.r.http_status, 503);
    assert_in_range(b.r.retry_after_ms, 119000, 121000);
    fx_free(f);
}

static void test_redirect_not_followed(void **state)
{
    struct fx *f = fx_new(4);
    _cleanup_free_ char *url = url_for("/redirect");
    struct outcome out = { 0 };

    post_one(f, url, NULL, &out);
    assert_false(out.r.ok);
    assert_false(out.r.retryable);
    assert_int_equal(out.r.http_status, 302);
    assert_non_null(strstr(out.r.error, "HTTP 302: the receiver redirects"));
    assert_int_equal(web_count(), 1);
    assert_string_equal(web.seen[0].url, "/redirect");
    fx_free(f);
}

static void test_big_response(void **state)
{
    struct fx *f = fx_new(4);
    _cleanup_free_ char *url = url_for("/big");
    struct outcome out = { 0 };

    /* 1 MiB of answer: reading stops at the cap, the status decides. */
    post_one(f, url, NULL, &out);
    assert_true(out.r.ok);
    assert_int_equal(out.r.http_status, 200);
    assert_string_equal(out.r.error, "");
    fx_free(f);
}

static void test_refused(void **state)
{
    struct fx *f = fx_new(4);
    _cleanup_free_ char *url = NULL;
    struct outcome out = { 0 };

    assert_true(asprintf(&url, "http://127.0.0.1:%d/botSECRET123:abc/sendMessage?token=SECRET",
                         refuse_port) > 0);
    post_one(f, url, NULL, &out);
    assert_false(out.r.ok);
    assert_true(out.r.retryable);
    assert_int_equal(out.r.http_status, 0);
    assert_true(out.r.error[0] != '\0');
    assert_null(strstr(out.r.error, "SECRET"));
    assert_null(strstr(out.r.error, "sendMessage"));
    fx_free(f);
}

static void test_timeout(void **state)
{
    struct fx *f = fx_new(4);
    _cleanup_free_ char *url = NULL;
    struct notify_send_opts o = { .timeout_ms = 300, .tls_verify = true };
    struct outcome out = { 0 };
    uint64_t t0 = uv_hrtime();

    assert_true(asprintf(&url, "http://127.0.0.1:%d/botSECRET/x", hang_port) > 0);
    post_one(f, url, &o, &out);
    assert_false(out.r.ok);
    assert_true(out.r.retryable);
    assert_int_equal(out.r.http_status, 0);
    assert_non_null(strstr(out.r.error, "timed out"));
    assert_null(strstr(out.r.error, "SECRET"));
    assert_true((uv_hrtime() - t0) / 1000000 < 3000);
    assert_true(out.r.took_us >= 250000);
    fx_free(f);
}

static void test_secrets_masked(void **state)
{
    struct fx *f = fx_new(4);
    _cleanup_free_ char *url = url_for("/echo404/botSECRET/sendMessage?x=1");
    char *headers[] = { "Authorization: Bearer SECRETTOKENVALUE" };
    struct notify_request q = { .method = "POST",
                                .url = url,
                                .headers = headers,
                                .n_headers = 1,
                                .body = "{}",
                                .body_len = 2,
                                .content_type = "application/json" };
    struct outcome out = { 0 };

    assert_int_equal(notify_sender_submit(f->s, &q, &opts, on_result, &out), 0);
    run_until(f, &out.calls, 1);
    /* The receiver echoed the path and the header: both masked. */
    assert_int_equal(out.r.http_status, 404);
    assert_false(out.r.retryable);
    assert_null(strstr(out.r.error, "SECRET"));
    assert_string_equal(out.r.error, "HTTP 404: Cannot POST *** (auth ***)");
    fx_free(f);
}

static void test_wrong_protocol(void **state)
{
    struct fx *f = fx_new(4);
    _cleanup_free_ char *url = NULL;
    struct outcome out = { 0 };

    /* A POST never goes to a mail server (nor a mail to a web server). */
    assert_true(asprintf(&url, "smtp://127.0.0.1:%d", mail.port) > 0);
    post_one(f, url, NULL, &out);
    assert_false(out.r.ok);
    assert_false(out.r.retryable);
    fx_free(f);
}

static void test_max_inflight(void **state)
{
    struct fx *f = fx_new(2);
    _cleanup_free_ char *url = url_for("/slow");
    struct notify_request q = { .method = "POST", .url = url, .body = "{}", .body_len = 2 };
    struct outcome out[5] = { 0 };
    int total = 0;

    for (int i = 0; i < 5; i++)
        assert_int_equal(notify_sender_submit(f->s, &q, &opts, on_result, &out[i]), 0);
    assert_int_equal(notify_sender_inflight(f->s), 2);
    assert_int_equal(notify_sender_queued(f->s), 3);
    while (total < 5 && !f->timed_out) {
        uv_run(&f->loop, UV_RUN_ONCE);
        total = 0;
        for (int i = 0; i < 5; i++)
            total += out[i].calls;
        assert_true(notify_sender_inflight(f->s) <= 2);
    }
    assert_false(f->timed_out);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(out[i].calls, 1);
        assert_true(out[i].r.ok);
    }
    /* Never more than 2 at the receiver, and 2 at once did happen. */
    assert_int_equal(web.slow_max, 2);
    assert_int_equal(web_count(), 5);
    assert_int_equal(notify_sender_queued(f->s), 0);
    fx_free(f);
}

/* ---- SMTP ----------------------------------------------------------------- */

static void test_smtp(void **state)
{
    static const char *const to[] = { "ops <oncall@example.test>", "b@example.test" };
    static const struct notify_alert a = { .fingerprint = "f1",
                                           .status = NOTIFY_FIRING,
                                           .severity = NOTIFY_CRITICAL,
                                           .monitor = "db",
                                           .summary = "db down",
                                           .message = ".a line with a leading dot\n.",
                                           .starts_at_ms = 1795455000000ULL };
    static const struct notify_group g = { .group_key = "k",
                                           .idempotency_key = "n-1",
                                           .alerts = &a,
                                           .n_alerts = 1,
                                           .now_ms = 1795456800000ULL };
    struct fx *f = fx_new(4);
    _cleanup_free_ char *url = NULL;
    struct notify_receiver r = { .kind = NOTIFY_EMAIL,
                                 .name = "mail",
                                 .from = "opsd <opsd@example.test>",
                                 .to = to,
                                 .n_to = 2 };
    struct notify_request_list l = { 0 };
    struct opsd_error err;
    struct outcome out = { 0 };
    struct sbuf want = SBUF_INIT;

    assert_true(asprintf(&url, "smtp://127.0.0.1:%d", mail.port) > 0);
    r.url = url;
    assert_int_equal(notify_build(&r, &g, &l, &err), 0);
    assert_int_equal(l.n, 1);
    assert_non_null(strstr(l.v[0].body, "\r\n.a line with a leading dot\r\n.\r\n"));
    assert_int_equal(notify_sender_submit(f->s, &l.v[0], &opts, on_result, &out), 0);
    run_until(f, &out.calls, 1);
    assert_true(out.r.ok);
    assert_string_equal(out.r.error, "");
    assert_int_equal(out.r.http_status, 250);

    /* What the sink got, dot-unstuffed, is the message byte for byte. */
    sbuf_addf(&want,
              "FROM <opsd@example.test>\nTO <oncall@example.test>\nTO <b@example.test>\n"
              "DATA\n%s.\n",
              l.v[0].body);
    pthread_mutex_lock(&mail.mu);
    assert_int_equal(mail.n_msgs, 1);
    assert_string_equal(mail.log.buf, want.buf);
    pthread_mutex_unlock(&mail.mu);
    sbuf_release(&want);
    notify_request_list_free(&l);
    fx_free(f);
}

static void test_smtp_rejected(void **state)
{
    struct fx *f = fx_new(4);
    _cleanup_free_ char *url = NULL;
    char *rcpt[] = { "<ok@example.test>", "<reject@example.test>" };
    char msg[] = "Subject: x\r\n\r\nhello\r\n";
    struct notify_request q = { .method = "SMTP",
                                .body = msg,
                                .body_len = sizeof(msg) - 1,
                                .mail_from = "<opsd@example.test>",
                                .rcpt = rcpt,
                                .n_rcpt = 2 };
    struct outcome out = { 0 };

    assert_true(asprintf(&url, "smtp://127.0.0.1:%d", mail.port) > 0);
    q.url = url;
    assert_int_equal(notify_sender_submit(f->s, &q, &opts, on_result, &out), 0);
    run_until(f, &out.calls, 1);
    /* A permanent refusal: retrying will not help. */
    assert_false(out.r.ok);
    assert_false(out.r.retryable);
    assert_int_equal(out.r.http_status, 550);
    assert_string_equal(out.r.error, "RCPT failed: 550 (server: 550 5.1.1 no such user here)");
    assert_int_equal(mail.n_msgs, 0);
    fx_free(f);
}

/* ---- submit's checks, cancel and close ------------------------------------ */

static void test_invalid(void **state)
{
    struct notify_sender *s = (struct notify_sender *)0x1;
    struct opsd_error err;
    uv_loop_t loop;
    struct fx *f;
    struct notify_request get = { .method = "GET", .url = "http://127.0.0.1/" };
    struct notify_request nourl = { .method = "POST" };
    struct notify_request norcpt = { .method = "SMTP",
                                     .url = "smtp://127.0.0.1",
                                     .mail_from = "<a@b>" };
    struct outcome out = { 0 };

    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(notify_sender_new(&loop, 0, &s, &err), -EINVAL);
    assert_ptr_equal(s, (struct notify_sender *)0x1); /* untouched */
    assert_int_equal(uv_loop_close(&loop), 0);

    f = fx_new(1);
    assert_int_equal(notify_sender_submit(f->s, &get, &opts, on_result, &out), -EINVAL);
    assert_int_equal(notify_sender_submit(f->s, &nourl, &opts, on_result, &out), -EINVAL);
    assert_int_equal(notify_sender_submit(f->s, &norcpt, &opts, on_result, &out), -EINVAL);
    assert_int_equal(notify_sender_inflight(f->s), 0);
    assert_int_equal(notify_sender_queued(f->s), 0);
    fx_free(f);
    assert_int_equal(out.calls, 0);
}

static void test_cancel_all(void **state)
{
    struct fx *f = fx_new(1);
    _cleanup_free_ char *slow = url_for("/slow");
    _cleanup_free_ char *hook = url_for("/hook/after");
    struct notify_request q = { .method = "POST", .url = slow, .body = "{}", .body_len = 2 };
    struct outcome out[3] = { 0 }, after = { 0 };

    for (int i = 0; i < 3; i++)
        assert_int_equal(notify_sender_submit(f->s, &q, &opts, on_result, &out[i]), 0);
    notify_sender_cancel_all(f->s);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(out[i].calls, 1);
        assert_int_equal(out[i].seq, i + 1); /* the running one, then the queue in order */
        assert_false(out[i].r.ok);
        assert_true(out[i].r.retryable);
        assert_string_equal(out[i].r.error, "cancelled");
    }
    assert_int_equal(notify_sender_inflight(f->s), 0);
    assert_int_equal(notify_sender_queued(f->s), 0);
    /* Still usable. */
    post_one(f, hook, NULL, &after);
    assert_true(after.r.ok);
    fx_free(f);
}

struct closer {
    struct fx *f;
    struct outcome out[4];
    int calls;
    int resubmit_rc[4];
    const char *url;
};

static struct closer *the_closer;

static void on_result_closer(const struct notify_send_result *r, void *ud)
{
    struct closer *c = the_closer;
    struct notify_request q = {
        .method = "POST", .url = (char *)c->url, .body = "", .body_len = 0
    };
    int i = (int)((struct outcome *)ud - c->out);

    on_result(r, ud);
    c->calls++;
    /* Submitting during close fails, and that callback is never called. */
    c->resubmit_rc[i] = notify_sender_submit(c->f->s, &q, &opts, on_result, &c->out[3]);
}

static void on_poll_server(uv_timer_t *t)
{
    struct closer *c = t->data;
    int now;

    pthread_mutex_lock(&web.mu);
    now = web.slow_now;
    pthread_mutex_unlock(&web.mu);
    if (now < 2)
        return;
    /* Two requests inside the server's handler, a third queued: close. */
    uv_timer_stop(t);
    c->f->closed = true;
    notify_sender_close(c->f->s, on_done, c->f);
}

static void test_close_in_flight(void **state)
{
    struct fx *f = fx_new(2);
    _cleanup_free_ char *slow = url_for("/slow");
    struct notify_request q = { .method = "POST", .url = slow, .body = "{}", .body_len = 2 };
    struct closer c = { .f = f, .url = slow };
    uv_timer_t poller;

    the_closer = &c;
    for (int i = 0; i < 3; i++)
        assert_int_equal(notify_sender_submit(f->s, &q, &opts, on_result_closer, &c.out[i]), 0);
    uv_timer_init(&f->loop, &poller);
    poller.data = &c;
    uv_timer_start(&poller, on_poll_server, 1, 1);
    run_until(f, &c.calls, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(c.out[i].calls, 1);
        assert_false(c.out[i].r.ok);
        assert_true(c.out[i].r.retryable);
        assert_string_equal(c.out[i].r.error, "shutting down");
        assert_int_equal(c.resubmit_rc[i], -ESHUTDOWN);
    }
    assert_int_equal(c.out[3].calls, 0);
    assert_int_equal(f->done_calls, 0); /* on a later loop turn */
    uv_close((uv_handle_t *)&poller, NULL);
    fx_free(f);
}

static void on_result_close_now(const struct notify_send_result *r, void *ud)
{
    struct closer *c = the_closer;

    on_result(r, ud);
    c->calls++;
    if (c->calls == 1) {
        c->f->closed = true;
        notify_sender_close(c->f->s, on_done, c->f);
        notify_sender_close(c->f->s, on_done, c->f); /* ignored */
    }
}

static void test_close_from_callback(void **state)
{
    struct fx *f = fx_new(1);
    _cleanup_free_ char *hook = url_for("/hook/c");
    struct notify_request q = { .method = "POST", .url = hook, .body = "{}", .body_len = 2 };
    struct closer c = { .f = f };

    the_closer = &c;
    for (int i = 0; i < 3; i++)
        assert_int_equal(notify_sender_submit(f->s, &q, &opts, on_result_close_now, &c.out[i]), 0);
    run_until(f, &c.calls, 3);
    assert_true(c.out[0].r.ok);
    for (int i = 1; i < 3; i++) {
        assert_int_equal(c.out[i].calls, 1);
        assert_string_equal(c.out[i].r.error, "shutting down");
    }
    fx_free(f);
    assert_int_equal(web_count(), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_post_arrives),
        cmocka_unit_test(test_http_500),
        cmocka_unit_test(test_http_4xx),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_redirect_not_followed),
        cmocka_unit_test(test_big_response),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_secrets_masked),
        cmocka_unit_test(test_wrong_protocol),
        cmocka_unit_test(test_max_inflight),
        cmocka_unit_test(test_smtp),
        cmocka_unit_test(test_smtp_rejected),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_cancel_all),
        cmocka_unit_test(test_close_in_flight),
        cmocka_unit_test(test_close_from_callback),
    };
    int failed = cmocka_run_group_tests(tests, group_setup, group_teardown);

    printf("tests: %zu passed, %d failed\n", ARRAY_SIZE(tests) - (size_t)failed, failed);
    return failed != 0;
}
