/* libmicrohttpd on the engine's loop: MHD runs without threads of its own
 * (MHD_USE_EPOLL); its epoll fd sits under a uv_poll_t and a uv_timer_t is
 * re-armed from MHD_get_timeout() after every MHD_run(). Request bodies are
 * capped; each request is logged at debug level with ping tokens redacted. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "util/cleanup.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "web/web-internal.h"
#include "web/web.h"

#define CONNECTION_LIMIT 1024u
#define CONNECTION_TIMEOUT_S 30u
#define CONNECTION_MEMORY_LIMIT ((size_t)128 * 1024) /* per connection: headers, URL */
#define BODY_ABORT_FACTOR 16 /* past this many times the cap, drop the connection */

struct web {
    uv_loop_t *loop;
    struct MHD_Daemon *mhd;
    uv_poll_t poll;   /* on MHD's epoll fd */
    uv_timer_t timer; /* MHD's own timeouts */
    struct web_ctx ctx;
    char *url;
    bool starting; /* MHD log lines go to start_error, not the log */
    char start_error[512];
    unsigned open_handles;     /* closing: handles whose close callback is pending */
    struct request *suspended; /* waiting for a commit before they are answered */
    bool closing;
    void (*done)(void *userdata);
    void *done_userdata;
};

/* Per request, from the first call of the access handler to completion. */
struct request {
    struct sbuf body; /* pings: at most WEB_PING_BODY_MAX bytes; other POSTs: OPSD_MAX_API_BODY */
    size_t received;  /* body bytes seen, kept or not */
    size_t limit;     /* OPSD_MAX_API_BODY, or OPSD_MAX_INBOUND_BODY for alert pushes */
    bool is_ping;
    bool too_large;
    bool responded;
    /* waiting for sched_when_durable(): the prepared answer, sent on resume */
    struct web *w;
    struct MHD_Connection *conn;
    bool waiting, resumed;
    struct web_response deferred;
    struct request *next_suspended;
};

__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct web *w = cls;
    char msg[512];
    size_t n;

    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    if (w->starting) {
        snprintf(w->start_error, sizeof(w->start_error), "%s", msg);
        return;
    }
    log_warn("event=http_error err=%s", log_q(msg));
}

static void add_headers(struct MHD_Response *r, const struct web_response *res)
{
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, res->content_type);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    if (res->no_store)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (res->allow)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, res->allow);
    if (res->www_authenticate)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, res->www_authenticate);
    if (strncmp(res->content_type, "text/html", 9) == 0) {
        /* The pages have no scripts and load nothing: say so. Forms (the
         * one-click link's button) post only back to opsd, and no page can
         * be framed, so a button cannot be clicked through a disguise. */
        MHD_add_response_header(r, "Content-Security-Policy",
                                "default-src 'none'; style-src 'unsafe-inline'; "
                                "base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
    }
}

/* Queues res (taking its body) and logs the request. */
static enum MHD_Result respond(struct MHD_Connection *conn, struct request *req, const char *method,
                               const char *url, struct web_response *res)
{
    struct MHD_Response *r;
    enum MHD_Result ok;
    char shown[256];

    req->responded = true;
    r = MHD_create_response_from_buffer(res->len, res->body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(res->body);
        return MHD_NO;
    }
    add_headers(r, res);
    ok = MHD_queue_response(conn, res->status, r);
    MHD_destroy_response(r);
    log_debug("event=http_request method=%s path=%s status=%u bytes=%zu", log_q(method),
              log_q(web_path_redact(url, shown, sizeof(shown))), res->status, res->len);
    return ok;
}

static void run(struct web *w);

static void unlink_suspended(struct web *w, struct request *req)
{
    for (struct request **pp = &w->suspended; *pp; pp = &(*pp)->next_suspended)
        if (*pp == req) {
            *pp = req->next_suspended;
            return;
        }
}

/* The engine committed (rc 0) or gave up (rc < 0): answer now. */
static void on_durable(void *userdata, int rc)
{
    struct request *req = userdata;
    struct web *w = req->w;

    if (rc < 0) {
        free(req->deferred.body);
        web_response_error(&req->deferred, 503, "not_stored",
                           "the change could not be stored (%s); try again", strerror(-rc));
    }
    unlink_suspended(w, req);
    req->waiting = false;
    req->resumed = true;
    MHD_resume_connection(req->conn);
    if (!w->closing)
        run(w);
}

struct args {
    struct web_query_arg v[WEB_MAX_QUERY_ARGS];
    size_t n;
    bool overflow;
};

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    struct args *a = cls;

    (void)kind;
    if (a->n == ARRAY_SIZE(a->v)) {
        a->overflow = true;
        return MHD_NO;
    }
    a->v[a->n++] = (struct web_query_arg){ .key = key ? key : "", .value = value };
    return MHD_YES;
}

static bool content_length_too_large(struct MHD_Connection *conn, size_t limit)
{
    const char *cl =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    unsigned long long v;
    char *end;

    if (!cl)
        return false;
    errno = 0;
    v = strtoull(cl, &end, 10);
    return errno == ERANGE || v > limit;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct web *w = cls;
    struct request *req = *con_cls;
    struct web_response res;
    struct args args = { .n = 0 };

    (void)version;
    if (!req) {
        /* First call: headers only. */
        req = xcalloc(1, sizeof(*req));
        sbuf_init(&req->body);
        req->is_ping = strncmp(url, "/ping/", 6) == 0;
        req->limit = web_inbound_path(url) ? OPSD_MAX_INBOUND_BODY : OPSD_MAX_API_BODY;
        *con_cls = req;
        if (content_length_too_large(conn, req->limit)) {
            web_response_error(&res, 413, "payload_too_large",
                               "request bodies are limited to %zu bytes", req->limit);
            return respond(conn, req, method, url, &res);
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;

        *upload_data_size = 0;
        if (req->responded)
            return MHD_YES;
        req->received += n;
        if (req->received > BODY_ABORT_FACTOR * req->limit)
            return MHD_NO; /* a client that will not stop: drop it */
        if (req->received > req->limit)
            req->too_large = true;
        else if (req->is_ping && req->body.len < WEB_PING_BODY_MAX)
            sbuf_add(&req->body, upload_data, MIN(n, WEB_PING_BODY_MAX - req->body.len));
        else if (!req->is_ping)
            sbuf_add(&req->body, upload_data, n);
        return MHD_YES;
    }
    if (req->responded)
        return MHD_YES;
    if (req->resumed) {
        res = req->deferred;
        req->deferred.body = NULL;
        return respond(conn, req, method, url, &res);
    }
    if (req->waiting)
        return MHD_YES;
    if (req->too_large) {
        web_response_error(&res, 413, "payload_too_large",
                           "request bodies are limited to %zu bytes", req->limit);
        return respond(conn, req, method, url, &res);
    }

    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &args);
    if (args.overflow) {
        web_response_error(&res, 400, "bad_request", "too many query parameters (at most %d)",
                           WEB_MAX_QUERY_ARGS);
        return respond(conn, req, method, url, &res);
    }
    {
        struct web_request rq = {
            .method = method,
            .path = url,
            .args = args.v,
            .nargs = args.n,
            .body = req->body.len ? req->body.buf : NULL,
            .body_len = req->body.len,
            .authorization =
                MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
        };
        memset(&res, 0, sizeof(res));
        web_handle(&w->ctx, &rq, &res);
    }
    if (res.when_durable) {
        /* Answer once the change is committed: an acknowledged write must
         * survive a crash. */
        req->deferred = res;
        req->waiting = true;
        req->w = w;
        req->conn = conn;
        req->next_suspended = w->suspended;
        w->suspended = req;
        MHD_suspend_connection(conn);
        sched_when_durable(w->ctx.sched, on_durable, req);
        return MHD_YES;
    }
    return respond(conn, req, method, url, &res);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct request *req = *con_cls;

    (void)cls;
    (void)conn;
    (void)toe;
    if (!req)
        return;
    sbuf_release(&req->body);
    free(req->deferred.body);
    free(req);
    *con_cls = NULL;
}

static void on_timer(uv_timer_t *t);

/* After every MHD_run(): MHD says how soon it needs to run again (0 when it
 * has work left over, e.g. connections that are ready but not yet served). */
static void rearm(struct web *w)
{
    MHD_UNSIGNED_LONG_LONG ms;

    if (MHD_get_timeout(w->mhd, &ms) == MHD_YES)
        uv_timer_start(&w->timer, on_timer, (uint64_t)ms, 0);
    else
        uv_timer_stop(&w->timer);
}

static void run(struct web *w)
{
    if (!w->mhd)
        return;
    MHD_run(w->mhd);
    rearm(w);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    (void)events;
    if (status < 0)
        log_warn("event=http_poll_error err=%s", log_q(uv_strerror(status)));
    run(p->data);
}

static void on_timer(uv_timer_t *t)
{
    run(t->data);
}

/* "http://host:port" of the socket MHD actually bound (port 0 picks one). */
static char *bound_url(struct MHD_Daemon *mhd, const struct sockaddr_storage *want)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(mhd, MHD_DAEMON_INFO_LISTEN_FD);
    struct sockaddr_storage ss = *want;
    socklen_t len = sizeof(ss);
    char host[INET6_ADDRSTRLEN];
    const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&ss;
    const struct sockaddr_in *a4 = (const struct sockaddr_in *)&ss;

    if (info)
        (void)getsockname(info->listen_fd, (struct sockaddr *)&ss, &len);
    if (ss.ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &a6->sin6_addr, host, sizeof(host));
        return xasprintf("http://[%s]:%u", host, (unsigned)ntohs(a6->sin6_port));
    }
    inet_ntop(AF_INET, &a4->sin_addr, host, sizeof(host));
    return xasprintf("http://%s:%u", host, (unsigned)ntohs(a4->sin_port));
}

static void on_closed(uv_handle_t *h)
{
    struct web *w = h->data;
    void (*done)(void *);
    void *userdata;

    if (--w->open_handles > 0)
        return;
    /* Both handles are gone: only now may MHD close the fd they watched. */
    if (w->mhd)
        MHD_stop_daemon(w->mhd);
    done = w->done;
    userdata = w->done_userdata;
    free(w->url);
    free(w);
    if (done)
        done(userdata);
}

void web_close(struct web *w, void (*done)(void *userdata), void *userdata)
{
    if (!w)
        return;
    w->done = done;
    w->done_userdata = userdata;
    w->closing = true;
    /* The engine stops first and answers every waiter, so none is left
     * here; should one be, it is resumed so MHD can close it. */
    while (w->suspended) {
        struct request *req = w->suspended;
        w->suspended = req->next_suspended;
        req->waiting = false;
        MHD_resume_connection(req->conn);
    }
    uv_poll_stop(&w->poll);
    uv_timer_stop(&w->timer);
    w->open_handles = 2;
    uv_close((uv_handle_t *)&w->poll, on_closed);
    uv_close((uv_handle_t *)&w->timer, on_closed);
}

int web_start(uv_loop_t *loop, const char *listen, struct sched *sched, struct store *store,
              const struct opsd_clock *clock, struct web **ret, struct opsd_error *err)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    const union MHD_DaemonInfo *info;
    unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    uint16_t port;
    struct web *w;
    int r;

    r = web_listen_parse(listen, &ss, &sslen, err);
    if (r < 0)
        return r;
    if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&ss;
        /* "[::]" takes IPv4 too, as operators expect on Linux. */
        flags |= IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr) ? MHD_USE_DUAL_STACK : MHD_USE_IPv6;
    }

    w = xcalloc(1, sizeof(*w));
    w->loop = loop;
    w->ctx = (struct web_ctx){ .sched = sched, .store = store, .clock = clock };
    w->starting = true;
    /* The port argument only names the port in MHD's messages: SOCK_ADDR binds. */
    port = ntohs(ss.ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)&ss)->sin6_port
                                          : ((const struct sockaddr_in *)&ss)->sin_port);
    /* clang-format off */
    w->mhd = MHD_start_daemon(flags, port, NULL, NULL, on_request, w,
                              MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                              MHD_OPTION_CONNECTION_LIMIT, CONNECTION_LIMIT,
                              MHD_OPTION_CONNECTION_TIMEOUT, CONNECTION_TIMEOUT_S,
                              MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONNECTION_MEMORY_LIMIT,
                              MHD_OPTION_NOTIFY_COMPLETED, on_completed, w,
                              MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, w,
                              MHD_OPTION_END);
    /* clang-format on */
    w->starting = false;
    if (!w->mhd) {
        r = opsd_errorf(err, -EADDRNOTAVAIL, "cannot listen on '%s': %s", listen,
                        w->start_error[0] ? w->start_error : "libmicrohttpd failed to start");
        free(w);
        return r;
    }
    info = MHD_get_daemon_info(w->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    if (!info || info->epoll_fd < 0) {
        MHD_stop_daemon(w->mhd);
        free(w);
        return opsd_errorf(err, -ENOTSUP, "cannot listen on '%s': libmicrohttpd has no epoll fd",
                           listen);
    }
    r = uv_poll_init(loop, &w->poll, info->epoll_fd);
    if (r < 0) {
        MHD_stop_daemon(w->mhd);
        free(w);
        return opsd_errorf(err, r, "cannot watch the HTTP server: %s", uv_strerror(r));
    }
    uv_timer_init(loop, &w->timer);
    w->poll.data = w;
    w->timer.data = w;
    w->url = bound_url(w->mhd, &ss);

    r = uv_poll_start(&w->poll, UV_READABLE, on_poll);
    if (r < 0) {
        opsd_errorf(err, r, "cannot watch the HTTP server: %s", uv_strerror(r));
        web_close(w, NULL, NULL); /* frees w from the loop */
        return r;
    }
    rearm(w);
    log_debug("event=web_listen url=%s", log_q(w->url));
    *ret = w;
    return 0;
}

const char *web_url(const struct web *w)
{
    return w->url;
}
