/* TLS checks: resolve (only when the host is a name), connect (trying each
 * address the lookup gave until one answers), with starttls: smtp the SMTP
 * dialogue up to STARTTLS, then a TLS handshake through memory BIOs: what
 * the socket reads goes into OpenSSL, what OpenSSL wants to send goes out
 * with uv_write, so nothing blocks the loop. probe_tls_evaluate() judges
 * what the handshake showed.
 *
 * The handshake never fails on a bad chain (SSL_VERIFY_NONE): the chain is
 * still verified against the system's trust store, and the result read
 * after it, so an expired or misnamed certificate is reported as such
 * rather than as a failed handshake.
 *
 * As in tcp.c, a check's handles live in its own context, freed once every
 * handle has closed, so a cancelled check never touches its monitor again. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "sched/sched-impl.h"
#include "util/log.h"
#include "util/xalloc.h"

enum stage {
    STAGE_RESOLVE,
    STAGE_CONNECT,
    STAGE_GREETING, /* smtp: waiting for the 220 greeting */
    STAGE_EHLO,     /* smtp: EHLO sent */
    STAGE_STARTTLS, /* smtp: STARTTLS sent */
    STAGE_HANDSHAKE,
};

struct tls_check {
    struct mon *m; /* NULL once finished or cancelled */
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t connect;
    uv_getaddrinfo_t gai;
    bool gai_pending;
    bool tcp_open;
    unsigned handles_open;
    struct addrinfo *addrs;           /* the lookup's answer (owned), or NULL */
    const struct addrinfo *next_addr; /* tried when a connect fails */
    enum stage stage;
    SSL *ssl;
    bool verify_seen;
    int verify_depth; /* where the chain's first problem was */
    uint64_t t0_ns, hs_t0_ns;
    int32_t dns_us, connect_us;
    uint64_t started_ms;
    size_t len;
    char buf[PROBE_TLS_SMTP_MAX_REPLY]; /* smtp: what was read of the replies so far */
};

/* One uv_write and its bytes, freed by its callback. */
struct wreq {
    uv_write_t req;
    char data[];
};

/* One context for every check: the trust store is read once. Made on the
 * first tls check and kept to the process's exit, not freed by a
 * destructor: destructors run after OpenSSL's own atexit cleanup, and
 * freeing into a library that has shut down can crash. A static pointer
 * keeps it reachable, so neither LeakSanitizer nor valgrind call it lost.
 * The loop is one thread: no lock. */
static SSL_CTX *shared_ctx;

/* ---- the context's life --------------------------------------------------- */

static void maybe_free(struct tls_check *c)
{
    if (c->handles_open || c->gai_pending)
        return;
    SSL_free(c->ssl);
    if (c->addrs)
        uv_freeaddrinfo(c->addrs);
    free(c);
}

static void handle_closed(uv_handle_t *h)
{
    struct tls_check *c = h->data;

    c->handles_open--;
    maybe_free(c);
}

/* Detaches the context from its monitor and starts closing its handles. */
static void release(struct tls_check *c)
{
    c->m = NULL;
    if (c->gai_pending)
        uv_cancel((uv_req_t *)&c->gai);
    if (!uv_is_closing((uv_handle_t *)&c->timer))
        uv_close((uv_handle_t *)&c->timer, handle_closed);
    if (c->tcp_open && !uv_is_closing((uv_handle_t *)&c->tcp))
        uv_close((uv_handle_t *)&c->tcp, handle_closed);
}

static int32_t us_since(uint64_t t0_ns)
{
    uint64_t d = (uv_hrtime() - t0_ns) / 1000;
    return d > INT32_MAX ? INT32_MAX : (int32_t)d;
}

/* Records r (timings filled in here) and ends the check. */
static void finish(struct tls_check *c, struct probe_result *r)
{
    struct mon *m = c->m;

    r->dns_us = c->dns_us;
    r->connect_us = c->connect_us;
    r->total_us = us_since(c->t0_ns);
    m->check = NULL;
    release(c);
    sched_record(m, r, false);
    sched_check_finished(m);
}

/* Ends the check as critical with "<what> (after 1.2 ms)". */
static void fail_msg(struct tls_check *c, const char *what)
{
    struct probe_result r;

    if (!c->m)
        return;
    probe_result_init(&r, c->started_ms);
    r.status = PROBE_CRITICAL;
    snprintf(r.message, sizeof(r.message), "%s (after %.1f ms)", what,
             (double)us_since(c->t0_ns) / 1000.0);
    finish(c, &r);
}

static void fail(struct tls_check *c, const char *stage, int uverr)
{
    char what[160];

    snprintf(what, sizeof(what), "%s: %s", stage, uv_strerror(uverr));
    fail_msg(c, what);
}

/* ---- writing ---------------------------------------------------------------- */

static void on_write(uv_write_t *req, int status)
{
    struct tls_check *c = req->data;

    free((struct wreq *)req); /* req is its first member */
    /* A close cancels what is queued: the context is still there (its
     * close callback runs after this), the monitor maybe not. */
    if (status < 0 && status != UV_ECANCELED && c->m)
        fail(c, "write", status);
}

static int send_bytes(struct tls_check *c, const void *p, size_t n)
{
    struct wreq *w = xmalloc(sizeof(*w) + n);
    uv_buf_t b = uv_buf_init(w->data, (unsigned)n);
    int r;

    memcpy(w->data, p, n);
    w->req.data = c;
    r = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
    if (r < 0) {
        free(w);
        fail(c, "write", r);
    }
    return r;
}

/* Sends what OpenSSL has written into its outgoing BIO. */
static int flush_tls(struct tls_check *c)
{
    BIO *wb = SSL_get_wbio(c->ssl);
    char chunk[16384];
    int n, r;

    while ((n = BIO_read(wb, chunk, sizeof(chunk))) > 0) {
        r = send_bytes(c, chunk, (size_t)n);
        if (r < 0)
            return r;
    }
    return 0;
}

/* A parting word on a connection about to close (QUIT, close_notify), if
 * the socket takes it at once; nothing waits for it. */
static void say_goodbye(struct tls_check *c, const char *plain)
{
    char chunk[4096];
    int n;

    if (!c->ssl || c->stage != STAGE_HANDSHAKE) {
        if (plain)
            (void)uv_try_write((uv_stream_t *)&c->tcp,
                               &(uv_buf_t){ .base = (char *)plain, .len = strlen(plain) }, 1);
        return;
    }
    ERR_clear_error();
    if (plain)
        (void)SSL_write(c->ssl, plain, (int)strlen(plain));
    (void)SSL_shutdown(c->ssl);
    while ((n = BIO_read(SSL_get_wbio(c->ssl), chunk, sizeof(chunk))) > 0) {
        uv_buf_t b = uv_buf_init(chunk, (unsigned)n);
        if (uv_try_write((uv_stream_t *)&c->tcp, &b, 1) != n)
            break;
    }
    ERR_clear_error();
}

/* ---- TLS ----------------------------------------------------------------------- */

/* Notes where in the chain verification first failed; the handshake goes
 * on either way (SSL_VERIFY_NONE), the error is read after it. */
static int on_verify(int ok, X509_STORE_CTX *store)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct tls_check *c = ssl ? SSL_get_app_data(ssl) : NULL;

    if (!ok && c && !c->verify_seen) {
        c->verify_seen = true;
        c->verify_depth = X509_STORE_CTX_get_error_depth(store);
    }
    return ok;
}

static SSL_CTX *tls_ctx(void)
{
    SSL_CTX *ctx;

    if (shared_ctx)
        return shared_ctx;
    ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        return NULL;
    /* Read once: the bundle file now, the hashed directory as issuers are
     * looked up (then cached in the store). */
    if (SSL_CTX_set_default_verify_paths(ctx) != 1)
        log_warn("event=tls_trust_store_failed err=%s",
                 log_q(ERR_reason_error_string(ERR_peek_error())));
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, on_verify);
    /* Every check sees the certificate afresh: no resumed sessions. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    ERR_clear_error();
    shared_ctx = ctx;
    return ctx;
}

/* "tls: <OpenSSL's reason>", for a handshake that failed. */
static void fail_tls(struct tls_check *c, int ssl_err)
{
    unsigned long e = ERR_peek_error();
    const char *reason = e ? ERR_reason_error_string(e) : NULL;
    char what[256];

    if (reason)
        snprintf(what, sizeof(what), "tls: handshake failed: %s", reason);
    else
        snprintf(what, sizeof(what), "tls: handshake failed (OpenSSL error %d)", ssl_err);
    ERR_clear_error();
    fail_msg(c, what);
}

static void judge(struct tls_check *c)
{
    struct mon *m = c->m;
    struct probe_metric metrics[PROBE_TLS_METRICS];
    struct probe_tls_obs obs;
    struct probe_result r;
    X509 *leaf = SSL_get0_peer_certificate(c->ssl);

    memset(&obs, 0, sizeof(obs));
    obs.verify_result = SSL_get_verify_result(c->ssl);
    obs.verify_depth = c->verify_depth;
    obs.version = SSL_get_version(c->ssl);
    obs.cipher = SSL_get_cipher_name(c->ssl);
    obs.handshake_us = us_since(c->hs_t0_ns);
    if (leaf && probe_tls_inspect(leaf, probe_tls_name(m->conf), &obs) < 0) {
        fail_msg(c, "tls: the certificate's validity dates cannot be read");
        return;
    }
    probe_result_init(&r, c->started_ms);
    probe_tls_evaluate(m->conf, &obs, clock_now_ms(m->s->clock), &r, metrics);
    r.tls_us = us_since(c->t0_ns);
    say_goodbye(c, m->conf->starttls ? "QUIT\r\n" : NULL);
    finish(c, &r);
}

/* Runs the handshake as far as the bytes read so far allow. */
static void handshake(struct tls_check *c)
{
    int rc, e;

    ERR_clear_error();
    rc = SSL_do_handshake(c->ssl);
    e = rc == 1 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, rc);
    /* Sent even on failure: an alert tells the server why. */
    if (flush_tls(c) < 0) {
        ERR_clear_error();
        return;
    }
    if (rc == 1)
        judge(c);
    else if (e != SSL_ERROR_WANT_READ)
        fail_tls(c, e);
    ERR_clear_error();
}

static void start_tls(struct tls_check *c)
{
    const char *name = probe_tls_name(c->m->conf);
    SSL_CTX *ctx = tls_ctx();
    BIO *rb, *wb;

    if (!ctx || !(c->ssl = SSL_new(ctx))) {
        fail_tls(c, 0);
        return;
    }
    rb = BIO_new(BIO_s_mem());
    wb = BIO_new(BIO_s_mem());
    if (!rb || !wb) {
        BIO_free(rb);
        BIO_free(wb);
        fail_tls(c, 0);
        return;
    }
    /* An empty read BIO means "wait for more", not end of stream. */
    BIO_set_mem_eof_return(rb, -1);
    SSL_set_bio(c->ssl, rb, wb);
    SSL_set_app_data(c->ssl, c);
    SSL_set_connect_state(c->ssl);
    /* No SNI for an address (RFC 6066 3). */
    if (!probe_tls_name_is_ip(name) && SSL_set_tlsext_host_name(c->ssl, name) != 1) {
        fail_tls(c, 0);
        return;
    }
    c->stage = STAGE_HANDSHAKE;
    c->hs_t0_ns = uv_hrtime();
    handshake(c);
}

/* ---- SMTP up to STARTTLS ------------------------------------------------------------ */

static const char *ehlo_name(void)
{
    static char name[256];
    size_t n = sizeof(name);

    if (!name[0] &&
        (uv_os_gethostname(name, &n) < 0 || !n ||
         name[strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")]))
        snprintf(name, sizeof(name), "localhost");
    return name;
}

static void smtp_refused(struct tls_check *c, const char *what,
                         const struct probe_tls_smtp_reply *rep, const char *expected)
{
    char msg[300];

    snprintf(msg, sizeof(msg), "smtp: %s '%s' (expected %s)", what, rep->text, expected);
    say_goodbye(c, "QUIT\r\n");
    fail_msg(c, msg);
}

/* Acts on one complete reply. */
static void smtp_reply(struct tls_check *c, const struct probe_tls_smtp_reply *rep)
{
    char line[300];

    switch (c->stage) {
    case STAGE_GREETING:
        if (rep->code != 220) {
            smtp_refused(c, "the server's greeting is", rep, "220");
            return;
        }
        snprintf(line, sizeof(line), "EHLO %s\r\n", ehlo_name());
        c->stage = STAGE_EHLO;
        send_bytes(c, line, strlen(line));
        return;
    case STAGE_EHLO:
        if (rep->code != 250) {
            smtp_refused(c, "EHLO answered", rep, "250");
            return;
        }
        if (!rep->starttls) {
            say_goodbye(c, "QUIT\r\n");
            fail_msg(c, "smtp: the server does not offer STARTTLS (not in its EHLO reply)");
            return;
        }
        c->stage = STAGE_STARTTLS;
        send_bytes(c, "STARTTLS\r\n", 10);
        return;
    case STAGE_STARTTLS:
        if (rep->code != 220) {
            smtp_refused(c, "STARTTLS answered", rep, "220");
            return;
        }
        /* Whatever came after the 220 was sent in the clear, before TLS:
         * dropped, never taken as part of the handshake. */
        c->len = 0;
        start_tls(c);
        return;
    default:
        return;
    }
}

/* Takes in what was read during the dialogue, a reply at a time. */
static void smtp_feed(struct tls_check *c, const char *p, size_t n)
{
    while (c->m && c->stage != STAGE_HANDSHAKE && (n || c->len)) {
        struct probe_tls_smtp_reply rep;
        size_t k = MIN(n, sizeof(c->buf) - c->len);
        char what[200];
        int r;

        memcpy(c->buf + c->len, p, k);
        c->len += k;
        p += k;
        n -= k;
        r = probe_tls_smtp_reply(c->buf, c->len, &rep);
        if (r == 0 && n == 0)
            return; /* wait for more */
        if (r == -EMSGSIZE || r == 0) {
            snprintf(what, sizeof(what), "smtp: a reply longer than %d bytes",
                     PROBE_TLS_SMTP_MAX_REPLY);
            fail_msg(c, what);
            return;
        }
        if (r < 0) {
            struct probe_tls_smtp_reply shown = { 0 };
            size_t w = MIN(c->len, (size_t)60);

            for (size_t i = 0; i < w; i++)
                shown.text[i] = c->buf[i] >= 0x20 && c->buf[i] < 0x7f ? c->buf[i] : '?';
            snprintf(what, sizeof(what), "smtp: not an SMTP reply: '%s'", shown.text);
            fail_msg(c, what);
            return;
        }
        memmove(c->buf, c->buf + r, c->len - (size_t)r);
        c->len -= (size_t)r;
        smtp_reply(c, &rep);
    }
}

/* ---- reading, connecting, resolving ------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    /* Each read is consumed at once, so one buffer per thread serves all. */
    static _Thread_local char scratch[64 * 1024];

    (void)h;
    (void)suggested;
    *buf = uv_buf_init(scratch, sizeof(scratch));
}

static const char *const closed_during[STAGE_HANDSHAKE + 1] = {
    [STAGE_GREETING] = "smtp: the server closed the connection before its greeting",
    [STAGE_EHLO] = "smtp: the server closed the connection after EHLO",
    [STAGE_STARTTLS] = "smtp: the server closed the connection after STARTTLS",
    [STAGE_HANDSHAKE] = "tls: the server closed the connection during the handshake",
};

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct tls_check *c = s->data;

    if (!c->m || n == 0)
        return;
    if (n < 0) {
        if (n == UV_EOF && closed_during[c->stage])
            fail_msg(c, closed_during[c->stage]);
        else
            fail(c, c->stage == STAGE_HANDSHAKE ? "tls" : "smtp", (int)n);
        return;
    }
    if (c->stage != STAGE_HANDSHAKE) {
        smtp_feed(c, buf->base, (size_t)n);
        return;
    }
    if (BIO_write(SSL_get_rbio(c->ssl), buf->base, (int)n) != (int)n) {
        fail_tls(c, 0);
        return;
    }
    handshake(c);
}

static void connect_next(struct tls_check *c);

/* The failed address's socket has closed: on to the next one. */
static void on_closed_retry(uv_handle_t *h)
{
    struct tls_check *c = h->data;

    c->handles_open--;
    c->tcp_open = false;
    if (!c->m) {
        maybe_free(c);
        return;
    }
    connect_next(c);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct tls_check *c = req->data;
    int r;

    if (!c->m)
        return;
    if (status < 0) {
        if (c->next_addr) {
            uv_close((uv_handle_t *)&c->tcp, on_closed_retry);
            return;
        }
        fail(c, "connect", status);
        return;
    }
    c->connect_us = us_since(c->t0_ns);
    r = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (r < 0) {
        fail(c, "read", r);
        return;
    }
    if (c->m->conf->starttls) {
        c->stage = STAGE_GREETING;
        return;
    }
    start_tls(c);
}

static void connect_addr(struct tls_check *c, const struct sockaddr *sa)
{
    int r;

    c->stage = STAGE_CONNECT;
    r = uv_tcp_init(c->m->s->loop, &c->tcp);
    if (r < 0) {
        fail(c, "socket", r);
        return;
    }
    c->tcp.data = c;
    c->tcp_open = true;
    c->handles_open++;
    /* Handshake flights and SMTP commands are small writes each waiting
     * for an answer: Nagle would only add delay. */
    (void)uv_tcp_nodelay(&c->tcp, 1);
    c->connect.data = c;
    r = uv_tcp_connect(&c->connect, &c->tcp, sa, on_connect);
    if (r < 0)
        fail(c, "connect", r);
}

static void connect_next(struct tls_check *c)
{
    const struct addrinfo *ai = c->next_addr;

    c->next_addr = ai->ai_next;
    connect_addr(c, ai->ai_addr);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct tls_check *c = req->data;

    c->gai_pending = false;
    if (!c->m) {
        uv_freeaddrinfo(res);
        maybe_free(c);
        return;
    }
    c->dns_us = us_since(c->t0_ns);
    if (status < 0 || !res) {
        uv_freeaddrinfo(res);
        fail(c, "dns", status < 0 ? status : UV_EAI_NONAME);
        return;
    }
    c->addrs = res;
    c->next_addr = res;
    connect_next(c);
}

static void on_timeout(uv_timer_t *t)
{
    static const char *const waiting_for[] = {
        [STAGE_RESOLVE] = "timeout: no answer to the name lookup",
        [STAGE_CONNECT] = "timeout: no answer to connect",
        [STAGE_GREETING] = "timeout: no SMTP greeting",
        [STAGE_EHLO] = "timeout: no answer to EHLO",
        [STAGE_STARTTLS] = "timeout: no answer to STARTTLS",
        [STAGE_HANDSHAKE] = "timeout: the TLS handshake did not finish",
    };
    struct tls_check *c = t->data;

    fail_msg(c, waiting_for[c->stage]);
}

void sched_tls_start(struct mon *m)
{
    struct sched *s = m->s;
    const struct conf_monitor *cf = m->conf;
    struct tls_check *c = xcalloc(1, sizeof(*c));
    union {
        struct sockaddr sa;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
    } addr;
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    char port[8];
    int r;

    c->m = m;
    c->dns_us = c->connect_us = PROBE_NO_VALUE;
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
    c->stage = STAGE_RESOLVE;
    c->gai.data = c;
    c->gai_pending = true;
    r = uv_getaddrinfo(s->loop, &c->gai, on_resolved, cf->host, port, &hints);
    if (r < 0) {
        c->gai_pending = false;
        fail(c, "dns", r);
    }
}

void sched_tls_cancel(struct mon *m)
{
    struct tls_check *c = m->check;

    if (!c)
        return;
    m->check = NULL;
    release(c);
}
