/* TCP checks: resolve (only when the host is a name), connect, close. A
 * check's handles live in its own context, freed once every handle has
 * closed, so a cancelled check never touches its monitor again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched/sched-impl.h"
#include "util/xalloc.h"

struct tcp_check {
    struct mon *m; /* NULL once finished or cancelled */
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t connect;
    uv_getaddrinfo_t gai;
    bool gai_pending;
    bool tcp_open;
    unsigned handles_open;
    uint64_t t0_ns;
    int32_t dns_us;
    int32_t connect_us;       /* PROBE_NO_VALUE until connected */
    uint64_t started_ms;
    uv_write_t write;
    char *send;               /* a copy: the write may outlive a reload's config */
    bool reading;             /* waiting for expect.contains */
    char got[4096];           /* what the server sent, for expect.contains */
    size_t n_got;
};

#define SHOW_GOT 60 /* bytes of the server's answer quoted in a message */

static void maybe_free(struct tcp_check *c)
{
    if (!c->handles_open && !c->gai_pending) {
        free(c->send);
        free(c);
    }
}

static void handle_closed(uv_handle_t *h)
{
    struct tcp_check *c = h->data;

    c->handles_open--;
    maybe_free(c);
}

/* Detaches the context from its monitor and starts closing its handles. */
static void release(struct tcp_check *c)
{
    c->m = NULL;
    if (c->gai_pending)
        uv_cancel((uv_req_t *)&c->gai);
    if (!uv_is_closing((uv_handle_t *)&c->timer))
        uv_close((uv_handle_t *)&c->timer, handle_closed);
    if (c->tcp_open && !uv_is_closing((uv_handle_t *)&c->tcp))
        uv_close((uv_handle_t *)&c->tcp, handle_closed);
}

static int32_t elapsed_us(const struct tcp_check *c)
{
    uint64_t d = (uv_hrtime() - c->t0_ns) / 1000;
    return d > INT32_MAX ? INT32_MAX : (int32_t)d;
}

/* Ends the check with "<what> (after 1.2 ms)" or, when ok, "<what> in 1.2 ms". */
static void complete(struct tcp_check *c, enum probe_status st, const char *what)
{
    struct mon *m = c->m;
    struct probe_result r;

    if (!m)
        return;
    probe_result_init(&r, c->started_ms);
    r.status = st;
    r.dns_us = c->dns_us;
    r.total_us = elapsed_us(c);
    r.connect_us = c->connect_us;
    snprintf(r.message, sizeof(r.message), st == PROBE_OK ? "%s in %.1f ms" : "%s (after %.1f ms)",
             what, (double)r.total_us / 1000.0);
    m->check = NULL;
    release(c);
    sched_record(m, &r, false);
    sched_check_finished(m);
}

static void fail(struct tcp_check *c, const char *stage, int uverr)
{
    char what[160];

    snprintf(what, sizeof(what), "%s: %s", stage, uv_strerror(uverr));
    complete(c, PROBE_CRITICAL, what);
}

/* The server's answer so far, printable, for messages. */
static const char *shown(const struct tcp_check *c, char *buf, size_t n)
{
    size_t k = 0;

    for (size_t i = 0; i < c->n_got && i < SHOW_GOT && k + 1 < n; i++) {
        unsigned char ch = (unsigned char)c->got[i];
        buf[k++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '.';
    }
    buf[k] = '\0';
    return buf;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct tcp_check *c = h->data;

    (void)suggested;
    *buf = uv_buf_init(c->got + c->n_got, (unsigned)(sizeof(c->got) - c->n_got));
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    struct tcp_check *c = st->data;
    const char *want;
    char what[256], got[SHOW_GOT + 1];

    (void)buf;
    if (!c->m || !c->reading)
        return;
    want = c->m->conf->expect_contains;
    if (n > 0)
        c->n_got += (size_t)n;
    if (memmem(c->got, c->n_got, want, strlen(want))) {
        c->reading = false;
        uv_read_stop(st);
        /* The expected text is not echoed: it may come from ${VAR}. */
        snprintf(what, sizeof(what), "%s port %u answered with expect.contains",
                 c->m->conf->host, c->m->conf->port);
        complete(c, PROBE_OK, what);
        return;
    }
    if (n >= 0 && c->n_got < sizeof(c->got))
        return;
    c->reading = false;
    uv_read_stop(st);
    if (n >= 0)
        snprintf(what, sizeof(what), "expect.contains not in the first %zu bytes: \"%s\"",
                 sizeof(c->got), shown(c, got, sizeof(got)));
    else if (n == UV_EOF)
        snprintf(what, sizeof(what), "connection closed before expect.contains: \"%s\"",
                 shown(c, got, sizeof(got)));
    else
        snprintf(what, sizeof(what), "read: %s", uv_strerror((int)n));
    complete(c, PROBE_CRITICAL, what);
}

static void on_written(uv_write_t *req, int status)
{
    struct tcp_check *c = req->data;
    char what[256];

    if (!c->m)
        return;
    if (status < 0) {
        fail(c, "send", status);
        return;
    }
    if (!c->m->conf->expect_contains) {
        snprintf(what, sizeof(what), "connected to %s port %u and sent", c->m->conf->host,
                 c->m->conf->port);
        complete(c, PROBE_OK, what);
    }
}

static void on_connect(uv_connect_t *req, int status)
{
    struct tcp_check *c = req->data;
    const struct conf_monitor *cf;
    char what[256];
    int r;

    if (!c->m)
        return;
    if (status != 0) {
        fail(c, "connect", status);
        return;
    }
    cf = c->m->conf;
    c->connect_us = elapsed_us(c);
    if (!cf->send && !cf->expect_contains) {
        snprintf(what, sizeof(what), "connected to %s port %u", cf->host, cf->port);
        complete(c, PROBE_OK, what);
        return;
    }
    if (cf->expect_contains) {
        c->reading = true;
        r = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
        if (r < 0) {
            fail(c, "read", r);
            return;
        }
    }
    if (cf->send) {
        uv_buf_t b;

        c->send = xstrdup(cf->send);
        b = uv_buf_init(c->send, (unsigned)strlen(c->send));

        c->write.data = c;
        r = uv_write(&c->write, (uv_stream_t *)&c->tcp, &b, 1, on_written);
        if (r < 0)
            fail(c, "send", r);
    }
}

static void on_timeout(uv_timer_t *t)
{
    struct tcp_check *c = t->data;
    if (!c->m)
        return;
    if (c->reading) {
        char what[256], got[SHOW_GOT + 1];

        snprintf(what, sizeof(what), "timeout: expect.contains not seen; got \"%s\"",
                 shown(c, got, sizeof(got)));
        complete(c, PROBE_CRITICAL, what);
        return;
    }
    complete(c, PROBE_CRITICAL, c->gai_pending ? "timeout: no answer to the name lookup"
                                               : "timeout: no answer to connect");
}

static void connect_addr(struct tcp_check *c, const struct sockaddr *sa)
{
    int r;

    r = uv_tcp_init(c->m->s->loop, &c->tcp);
    if (r < 0) {
        fail(c, "socket", r);
        return;
    }
    c->tcp.data = c;
    c->tcp_open = true;
    c->handles_open++;
    c->connect.data = c;
    r = uv_tcp_connect(&c->connect, &c->tcp, sa, on_connect);
    if (r < 0)
        fail(c, "connect", r);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct tcp_check *c = req->data;

    c->gai_pending = false;
    if (!c->m) {
        uv_freeaddrinfo(res);
        maybe_free(c);
        return;
    }
    c->dns_us = elapsed_us(c);
    if (status < 0 || !res) {
        fail(c, "dns", status);
        uv_freeaddrinfo(res);
        return;
    }
    connect_addr(c, res->ai_addr);
    uv_freeaddrinfo(res);
}

void sched_tcp_start(struct mon *m)
{
    struct sched *s = m->s;
    const struct conf_monitor *cf = m->conf;
    struct tcp_check *c = xcalloc(1, sizeof(*c));
    union {
        struct sockaddr sa;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
    } addr;
    char port[8];

    c->m = m;
    c->dns_us = PROBE_NO_VALUE;
    c->connect_us = PROBE_NO_VALUE;
    c->t0_ns = uv_hrtime();
    c->started_ms = clock_now_ms(s->clock);
    m->check = c;
    uv_timer_init(s->loop, &c->timer);
    c->timer.data = c;
    c->handles_open++;
    uv_timer_start(&c->timer, on_timeout, cf->timeout_ms, 0);

    if (uv_ip4_addr(cf->host, (int)cf->port, &addr.in4) == 0 ||
        uv_ip6_addr(cf->host, (int)cf->port, &addr.in6) == 0) {
        connect_addr(c, &addr.sa);
        return;
    }
    snprintf(port, sizeof(port), "%u", cf->port);
    c->gai.data = c;
    c->gai_pending = true;
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    int r = uv_getaddrinfo(s->loop, &c->gai, on_resolved, cf->host, port, &hints);
    if (r < 0) {
        c->gai_pending = false;
        fail(c, "dns", r);
    }
}

void sched_tcp_cancel(struct mon *m)
{
    struct tcp_check *c = m->check;

    if (!c)
        return;
    m->check = NULL;
    release(c);
}
