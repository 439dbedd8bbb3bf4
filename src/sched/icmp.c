/* ICMP checks: resolve (only when the host is a name), open an ICMP socket,
 * send count echo requests spaced apart, read what comes back as it comes,
 * and judge it with probe_icmp_evaluate() once every reply is in or the
 * timeout is up. The socket is an unprivileged ping socket (SOCK_DGRAM)
 * where net.ipv4.ping_group_range admits our group, else a raw one (root or
 * CAP_NET_RAW). One socket per check: a ping socket's replies are its own,
 * a raw socket sees every ICMP packet of the host and the session sorts
 * them out. As in tcp.c, a check's handles live in its own context, freed
 * once every handle has closed, so a cancelled check never touches its
 * monitor again. */
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sched/sched-impl.h"
#include "util/log.h"
#include "util/xalloc.h"

/* <linux/icmp.h>'s, whose includes clash with glibc's: a raw IPv4 ICMP
 * socket drops the types whose bit is set. */
#define RAW_ICMP_FILTER 1
#define ICMP4_ECHO_REPLY 0
#define ICMP4_UNREACH 3
#define ICMP4_TIME_EXCEEDED 11

#define READS_PER_WAKEUP 64 /* a raw socket on a busy host must not hog the loop */
#define RECV_BUF 2048       /* ours are 84 bytes; an ICMP error quotes at most 576 */

union icmp_addr {
    struct sockaddr sa;
    struct sockaddr_in in4;
    struct sockaddr_in6 in6;
    struct sockaddr_storage ss;
};

struct icmp_check {
    struct mon *m; /* NULL once finished or cancelled */
    uv_timer_t deadline;
    uv_timer_t pacer; /* the next echo request */
    uv_poll_t poll;   /* readable fd */
    uv_getaddrinfo_t gai;
    bool gai_pending;
    bool poll_open;
    unsigned handles_open;
    int fd; /* closed once poll has closed */
    uint64_t t0_ns;
    uint64_t started_ms;
    int32_t dns_us;
    union icmp_addr addr;
    socklen_t addr_len;
    char addr_text[INET6_ADDRSTRLEN];
    struct probe_icmp_session sess;
};

static void maybe_free(struct icmp_check *c)
{
    if (!c->handles_open && !c->gai_pending)
        free(c);
}

static void handle_closed(uv_handle_t *h)
{
    struct icmp_check *c = h->data;

    c->handles_open--;
    maybe_free(c);
}

static void poll_closed(uv_handle_t *h)
{
    struct icmp_check *c = h->data;

    close(c->fd);
    c->fd = -1;
    handle_closed(h);
}

/* Detaches the context from its monitor and starts closing its handles. */
static void release(struct icmp_check *c)
{
    c->m = NULL;
    if (c->gai_pending)
        uv_cancel((uv_req_t *)&c->gai);
    if (!uv_is_closing((uv_handle_t *)&c->deadline))
        uv_close((uv_handle_t *)&c->deadline, handle_closed);
    if (!uv_is_closing((uv_handle_t *)&c->pacer))
        uv_close((uv_handle_t *)&c->pacer, handle_closed);
    if (c->poll_open && !uv_is_closing((uv_handle_t *)&c->poll))
        uv_close((uv_handle_t *)&c->poll, poll_closed);
}

static int32_t elapsed_us(const struct icmp_check *c)
{
    uint64_t d = (uv_hrtime() - c->t0_ns) / 1000;
    return d > INT32_MAX ? INT32_MAX : (int32_t)d;
}

static void finish(struct icmp_check *c, struct probe_result *r)
{
    struct mon *m = c->m;

    r->dns_us = c->dns_us;
    m->check = NULL;
    release(c);
    sched_record(m, r, false);
    sched_check_finished(m);
}

/* Ends the check before any echo request went out. */
static void fail(struct icmp_check *c, enum probe_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(struct icmp_check *c, enum probe_status st, const char *fmt, ...)
{
    struct probe_result r;
    va_list ap;

    if (!c->m)
        return;
    probe_result_init(&r, c->started_ms);
    r.status = st;
    r.total_us = elapsed_us(c);
    va_start(ap, fmt);
    vsnprintf(r.message, sizeof(r.message), fmt, ap);
    va_end(ap);
    finish(c, &r);
}

/* Ends the check with the judgement of what came back. */
static void complete(struct icmp_check *c)
{
    struct probe_metric metrics[PROBE_ICMP_METRICS];
    struct probe_result r;

    if (!c->m)
        return;
    probe_result_init(&r, c->started_ms);
    r.total_us = elapsed_us(c); /* without replies; else the average RTT */
    probe_icmp_evaluate(c->m->conf, &c->sess, c->m->conf->host, c->addr_text, &r, metrics);
    finish(c, &r);
}

static void random_bytes(uint8_t *buf, size_t n)
{
    static uint64_t x;

    if (getrandom(buf, n, GRND_NONBLOCK) == (ssize_t)n)
        return;
    /* No entropy yet (early boot): the cookie only has to differ between
     * checks, not be secret. */
    x ^= uv_hrtime() ^ ((uint64_t)getpid() << 32);
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (uint8_t)x;
    }
}

static void send_next(struct icmp_check *c)
{
    uint8_t buf[PROBE_ICMP_REQUEST_LEN];
    unsigned seq = c->sess.sent + 1;
    size_t len = probe_icmp_request(&c->sess, seq, buf, sizeof(buf));
    uint64_t t;
    ssize_t n;

    if (!len)
        return;
    t = uv_hrtime();
    do
        n = sendto(c->fd, buf, len, 0, &c->addr.sa, c->addr_len);
    while (n < 0 && errno == EINTR);
    probe_icmp_sent(&c->sess, seq, t);
    /* A full socket buffer loses this request; anything else (no route, a
     * firewall's EPERM) would fail every one of them. */
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS && errno != ENOMEM)
        probe_icmp_send_failed(&c->sess, errno);
    if (c->sess.sent >= c->sess.count)
        uv_timer_stop(&c->pacer);
    if (probe_icmp_done(&c->sess))
        complete(c);
}

static void on_pace(uv_timer_t *t)
{
    struct icmp_check *c = t->data;

    if (c->m)
        send_next(c);
}

static void on_readable(uv_poll_t *p, int status, int events)
{
    struct icmp_check *c = p->data;
    uint8_t buf[RECV_BUF];
    union icmp_addr from;
    socklen_t from_len;
    ssize_t n;

    (void)events;
    if (!c->m)
        return;
    if (status < 0) {
        /* libuv has stopped watching the socket: end with what came so far. */
        int err = 0;
        socklen_t el = sizeof(err);

        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || !err)
            err = -status;
        probe_icmp_send_failed(&c->sess, err);
        complete(c);
        return;
    }
    for (int i = 0; i < READS_PER_WAKEUP; i++) {
        from_len = sizeof(from);
        n = recvfrom(c->fd, buf, sizeof(buf), 0, &from.sa, &from_len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break; /* EAGAIN: all read */
        }
        probe_icmp_receive(&c->sess, buf, (size_t)n, &from.sa, uv_hrtime(), NULL);
    }
    if (probe_icmp_done(&c->sess))
        complete(c);
}

static void on_deadline(uv_timer_t *t)
{
    struct icmp_check *c = t->data;

    if (!c->m)
        return;
    if (c->gai_pending)
        fail(c, PROBE_CRITICAL, "timeout: no answer to the name lookup of '%s'", c->m->conf->host);
    else
        complete(c);
}

/* A raw socket wakes us for every ICMP packet of the host: let only echo
 * replies and errors through. Best effort. */
static void filter_raw(int fd, bool v6)
{
    if (v6) {
        struct icmp6_filter f;

        ICMP6_FILTER_SETBLOCKALL(&f);
        ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
        ICMP6_FILTER_SETPASS(ICMP6_DST_UNREACH, &f);
        ICMP6_FILTER_SETPASS(ICMP6_TIME_EXCEEDED, &f);
        (void)setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof(f));
    } else {
        uint32_t mask = ~(1u << ICMP4_ECHO_REPLY | 1u << ICMP4_UNREACH | 1u << ICMP4_TIME_EXCEEDED);

        (void)setsockopt(fd, SOL_RAW, RAW_ICMP_FILTER, &mask, sizeof(mask));
    }
}

/* A ping socket where the sysctl allows it, else a raw one. Returns the fd
 * or a negative errno (the raw socket's: it is the one root would get). */
static int open_socket(bool v6, bool *ret_raw)
{
    int family = v6 ? AF_INET6 : AF_INET, proto = v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
    int fd;

    fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
    if (fd >= 0) {
        *ret_raw = false;
        return fd;
    }
    if (errno != EACCES && errno != EPERM && errno != EPROTONOSUPPORT && errno != ESOCKTNOSUPPORT &&
        errno != EINVAL)
        return -errno;
    fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
    if (fd < 0)
        return -errno;
    filter_raw(fd, v6);
    *ret_raw = true;
    return fd;
}

static void ping_addr(struct icmp_check *c, const struct sockaddr *sa)
{
    const struct conf_monitor *cf = c->m->conf;
    bool v6 = sa->sa_family == AF_INET6, raw = false;
    uint8_t rnd[2 + PROBE_ICMP_COOKIE_LEN];
    uint64_t spacing;
    int fd, r;

    if (v6) {
        c->addr.in6 = *(const struct sockaddr_in6 *)(const void *)sa;
        c->addr.in6.sin6_port = 0;
        c->addr_len = sizeof(c->addr.in6);
        uv_ip6_name(&c->addr.in6, c->addr_text, sizeof(c->addr_text));
    } else {
        c->addr.in4 = *(const struct sockaddr_in *)(const void *)sa;
        c->addr.in4.sin_port = 0;
        c->addr_len = sizeof(c->addr.in4);
        uv_ip4_name(&c->addr.in4, c->addr_text, sizeof(c->addr_text));
    }
    if (cf->ip_version && cf->ip_version != (v6 ? 6u : 4u)) {
        fail(c, PROBE_UNKNOWN, "host '%s' is an IPv%d address, but ip_version is %u", cf->host,
             v6 ? 6 : 4, cf->ip_version);
        return;
    }
    fd = open_socket(v6, &raw);
    if (fd < 0) {
        struct probe_result res;

        probe_result_init(&res, c->started_ms);
        res.total_us = elapsed_us(c);
        probe_icmp_socket_error(-fd, v6, &res);
        finish(c, &res);
        return;
    }
    r = uv_poll_init_socket(c->m->s->loop, &c->poll, fd);
    if (r < 0) {
        close(fd);
        fail(c, PROBE_UNKNOWN, "cannot watch the ICMP socket: %s", uv_strerror(r));
        return;
    }
    c->fd = fd;
    c->poll.data = c;
    c->poll_open = true;
    c->handles_open++;
    random_bytes(rnd, sizeof(rnd));
    probe_icmp_session_init(&c->sess, v6, raw, (uint16_t)(rnd[0] << 8 | rnd[1]), rnd + 2,
                            cf->count);
    log_debug("event=icmp_start monitor=%s addr=%s socket=%s count=%u", cf->name, c->addr_text,
              raw ? "raw" : "ping", c->sess.count);
    r = uv_poll_start(&c->poll, UV_READABLE, on_readable);
    if (r < 0) {
        fail(c, PROBE_UNKNOWN, "cannot watch the ICMP socket: %s", uv_strerror(r));
        return;
    }
    spacing = probe_icmp_spacing_ms(c->sess.count, cf->timeout_ms);
    send_next(c);
    if (c->m && c->sess.sent < c->sess.count)
        uv_timer_start(&c->pacer, on_pace, spacing, spacing);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct icmp_check *c = req->data;
    const struct conf_monitor *cf;

    c->gai_pending = false;
    if (!c->m) {
        uv_freeaddrinfo(res);
        maybe_free(c);
        return;
    }
    cf = c->m->conf;
    c->dns_us = elapsed_us(c);
    if (status < 0 || !res)
        fail(c, PROBE_CRITICAL, "cannot resolve '%s'%s: %s", cf->host,
             cf->ip_version == 4   ? " to an IPv4 address"
             : cf->ip_version == 6 ? " to an IPv6 address"
                                   : "",
             uv_strerror(status < 0 ? status : UV_EAI_NODATA));
    else
        ping_addr(c, res->ai_addr);
    uv_freeaddrinfo(res);
}

void sched_icmp_start(struct mon *m)
{
    struct sched *s = m->s;
    const struct conf_monitor *cf = m->conf;
    struct icmp_check *c = xcalloc(1, sizeof(*c));
    union icmp_addr addr;
    int r;

    c->m = m;
    c->fd = -1;
    c->dns_us = PROBE_NO_VALUE;
    c->t0_ns = uv_hrtime();
    c->started_ms = clock_now_ms(s->clock);
    m->check = c;
    uv_timer_init(s->loop, &c->deadline);
    c->deadline.data = c;
    uv_timer_init(s->loop, &c->pacer);
    c->pacer.data = c;
    c->handles_open += 2;
    uv_timer_start(&c->deadline, on_deadline, cf->timeout_ms, 0);

    if (uv_ip4_addr(cf->host, 0, &addr.in4) == 0 || uv_ip6_addr(cf->host, 0, &addr.in6) == 0) {
        ping_addr(c, &addr.sa);
        return;
    }
    c->gai.data = c;
    c->gai_pending = true;
    struct addrinfo hints = {
        .ai_family = cf->ip_version == 4   ? AF_INET
                     : cf->ip_version == 6 ? AF_INET6
                                           : AF_UNSPEC,
        .ai_socktype = SOCK_DGRAM, /* one entry per address */
    };
    r = uv_getaddrinfo(s->loop, &c->gai, on_resolved, cf->host, NULL, &hints);
    if (r < 0) {
        c->gai_pending = false;
        fail(c, PROBE_CRITICAL, "cannot resolve '%s': %s", cf->host, uv_strerror(r));
    }
}

void sched_icmp_cancel(struct mon *m)
{
    struct icmp_check *c = m->check;

    if (!c)
        return;
    m->check = NULL;
    release(c);
}
