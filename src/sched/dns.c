/* DNS checks: c-ares on the engine's loop. c-ares says which sockets it
 * wants watched (ARES_OPT_SOCK_STATE_CB); each gets a uv_poll_t, and one
 * uv_timer_t per channel wakes it for its retries (ares_timeout()). Nothing
 * blocks: not the query, not the lookup of a server given by name.
 *
 * One channel per distinct server string ("192.0.2.53", "[2001:db8::53]:5353",
 * "ns1.example.com"), and one for the system's resolvers, made on first use
 * and shared by every monitor that asks the same server; at most
 * DNS_MAX_CHANNELS, the least recently used idle one making room. A server
 * given by name is looked up through the system channel. Both views age:
 * /etc/resolv.conf is read again after DNS_SYSTEM_TTL_MS, a server's name
 * looked up again after DNS_SERVER_TTL_MS; a channel busy at that moment is
 * retired (c-ares cannot change a busy channel's servers) and replaced.
 *
 * A check's timeout is its own timer. A check that times out or is
 * cancelled (reload, stop) is disowned: it never touches its monitor again,
 * and its context lives on until c-ares calls back, which frees it. When a
 * channel's every pending query is disowned (a server that stopped
 * answering), ares_cancel() ends them at once instead of after c-ares' last
 * retry. */
#include <ares.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched/sched-impl.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/xalloc.h"

#define DNS_MAX_CHANNELS 64
#define DNS_TOO_MANY "too many dns servers in use at once (at most 64)"
/* c-ares waits this long for the first try, then doubles it for each
 * round: 1 s, 2 s, 4 s. A check's own timeout may end it sooner. */
#define DNS_TRY_TIMEOUT_MS 1000
#define DNS_TRIES 3
#define DNS_SERVER_TTL_MS (5 * 60 * 1000) /* a server's name is looked up again after this */
#define DNS_SYSTEM_TTL_MS (60 * 1000)     /* /etc/resolv.conf is read again after this */
#define DNS_CLASS_IN 1
#define DNS_MAX_SERVER_ADDRS 4 /* of a server given by name, tried in turn */

struct dns_chan;

/* One of c-ares' sockets, watched on the loop. */
struct dns_sock {
    uv_poll_t poll;
    ares_socket_t fd;
    struct dns_chan *ch;
    struct dns_sock *next;
};

struct dns_check {
    struct mon *m; /* NULL once finished or cancelled */
    struct dns_chan *ch;
    enum conf_dns_record rr;
    uv_timer_t timer;
    bool timer_closed;
    bool in_ares; /* a query is pending in c-ares: its callback is still to come */
    bool waiting; /* on ch->waiters, for the server's address */
    struct dns_check *next_waiter;
    uint64_t started_ms;   /* wall clock */
    uint64_t t0_ns, tq_ns; /* check start, query sent */
    int32_t server_us;
};

struct dns_state;

struct dns_chan {
    struct dns_state *st;
    char *server;   /* as configured; NULL: the system's resolvers */
    char host[256]; /* server's host, without brackets */
    unsigned port;
    bool by_name;         /* host is a name, looked up before use */
    bool bad_server;      /* the server string did not parse: never opened */
    bool retired;         /* replaced by a newer channel for the same server; dropped when idle */
    ares_channel channel; /* NULL until made (or when making it failed) */
    char open_error[128]; /* why it could not be made */
    uv_timer_t timer;     /* c-ares' next timeout */
    struct dns_sock *socks;
    unsigned pending;   /* callbacks c-ares still owes: queries and server lookups */
    unsigned owned;     /* pending queries whose check still waits for them */
    unsigned lookups;   /* pending lookups of other channels' server names (system channel) */
    uint64_t opened_ms; /* loop time the channel was made */
    uint64_t used_ms;   /* loop time of its last check */
    /* by_name only */
    bool have_addr;
    bool resolving;
    uint64_t resolved_ms;
    struct dns_check *waiters;
    struct dns_chan *lookup_via; /* the system channel its name is being looked up on */
};

struct dns_state {
    struct sched *s;
    struct dns_chan *chans[DNS_MAX_CHANNELS];
    size_t n_chans;
    unsigned depth; /* > 0 while c-ares runs: no channel may be cancelled or destroyed */
    bool closed;    /* sched_dns_close() ran: the loop handles are gone */
};

static void chan_arm(struct dns_chan *ch);
static void query_send(struct dns_check *c);

static int32_t us_since(uint64_t t_ns)
{
    uint64_t d = (uv_hrtime() - t_ns) / 1000;
    return d > INT32_MAX ? INT32_MAX : (int32_t)d;
}

static bool chan_idle(const struct dns_chan *ch)
{
    return !ch->pending && !ch->resolving && !ch->waiters;
}

/* ---- c-ares' sockets and timeouts on the loop ------------------------------------ */

static void sock_closed(uv_handle_t *h)
{
    free(h->data);
}

static struct dns_sock **sock_find(struct dns_chan *ch, ares_socket_t fd)
{
    struct dns_sock **pp = &ch->socks;

    while (*pp && (*pp)->fd != fd)
        pp = &(*pp)->next;
    return pp;
}

static void on_sock_ready(uv_poll_t *h, int status, int events)
{
    struct dns_sock *sk = h->data;
    struct dns_chan *ch = sk->ch;
    /* On an error (an ICMP unreachable on a UDP socket) libuv has stopped
     * the poll: c-ares reads the error and closes the socket. */
    ares_socket_t rfd = status < 0 || (events & UV_READABLE) ? sk->fd : ARES_SOCKET_BAD;
    ares_socket_t wfd = status < 0 || (events & UV_WRITABLE) ? sk->fd : ARES_SOCKET_BAD;

    /* sk may be closed in there; ch stays. */
    ch->st->depth++;
    ares_process_fd(ch->channel, rfd, wfd);
    ch->st->depth--;
    chan_arm(ch);
}

/* c-ares opens, changes and closes its sockets through this. */
static void on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
    struct dns_chan *ch = data;
    struct dns_sock **pp, *sk;
    int r;

    if (ch->st->closed)
        return; /* the handles are closed already; c-ares closes the fds */
    pp = sock_find(ch, fd);
    sk = *pp;
    if (!readable && !writable) {
        if (!sk)
            return;
        *pp = sk->next;
        /* Stopped before c-ares closes the fd (and maybe reuses its number). */
        uv_poll_stop(&sk->poll);
        uv_close((uv_handle_t *)&sk->poll, sock_closed);
        return;
    }
    if (!sk) {
        sk = xcalloc(1, sizeof(*sk));
        r = uv_poll_init_socket(ch->st->s->loop, &sk->poll, fd);
        if (r < 0) {
            /* The query times out; say why. */
            log_error("event=dns_poll_failed fd=%d err=%s", (int)fd, log_q(uv_strerror(r)));
            free(sk);
            return;
        }
        sk->fd = fd;
        sk->ch = ch;
        sk->poll.data = sk;
        sk->next = ch->socks;
        ch->socks = sk;
    }
    uv_poll_start(&sk->poll, (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0),
                  on_sock_ready);
}

static void on_chan_timer(uv_timer_t *t)
{
    struct dns_chan *ch = t->data;

    ch->st->depth++;
    ares_process_fd(ch->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    ch->st->depth--;
    chan_arm(ch);
}

/* Arms the channel's timer for c-ares' next timeout, or stops it. */
static void chan_arm(struct dns_chan *ch)
{
    struct timeval tv;
    uint64_t ms;

    if (ch->st->closed || !ch->channel)
        return;
    if (!ares_timeout(ch->channel, NULL, &tv)) {
        uv_timer_stop(&ch->timer);
        return;
    }
    ms = (uint64_t)tv.tv_sec * 1000 + ((uint64_t)tv.tv_usec + 999) / 1000;
    uv_timer_start(&ch->timer, on_chan_timer, ms, 0);
}

/* ---- channels -------------------------------------------------------------------- */

/* Makes the c-ares channel: our socket callback, our retry policy, and the
 * server unless it is a name not looked up yet. */
static int chan_open(struct dns_chan *ch)
{
    struct ares_options opt = {
        /* A server named in the config gives its own answer, SERVFAIL and REFUSED
         * included; the system's resolvers fail over as the system does. */
        .flags = ch->server ? ARES_FLAG_NOCHECKRESP : 0,
        .timeout = DNS_TRY_TIMEOUT_MS,
        .tries = DNS_TRIES,
        .sock_state_cb = on_sock_state,
        .sock_state_cb_data = ch,
        .lookups = (char *)"fb", /* hosts file, then DNS: read no nsswitch.conf */
    };
    int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB |
               ARES_OPT_LOOKUPS;
    int r;

    ch->open_error[0] = '\0';
    r = ares_init_options(&ch->channel, &opt, mask);
    if (r != ARES_SUCCESS) {
        snprintf(ch->open_error, sizeof(ch->open_error), "cannot make a resolver: %s",
                 ares_strerror(r));
        log_error("event=dns_resolver_failed server=%s err=%s", log_q(ch->server),
                  log_q(ares_strerror(r)));
        ch->channel = NULL;
        return -1;
    }
    ch->opened_ms = uv_now(ch->st->s->loop);
    return 0;
}

/* Points the channel at the n addresses of its server (c-ares tries them
 * in turn). Only while no query is pending: c-ares refuses otherwise. */
static int chan_set_servers(struct dns_chan *ch, struct ares_addr_port_node *nodes, size_t n)
{
    int r;

    for (size_t i = 0; i < n; i++) {
        nodes[i].udp_port = (int)ch->port;
        nodes[i].tcp_port = (int)ch->port;
        nodes[i].next = i + 1 < n ? &nodes[i + 1] : NULL;
    }
    r = ares_set_servers_ports(ch->channel, nodes);
    if (r != ARES_SUCCESS) {
        log_error("event=dns_set_server_failed server=%s err=%s", log_q(ch->server),
                  log_q(ares_strerror(r)));
        return -1;
    }
    return 0;
}

/* Points the channel at its server given as an address. */
static int chan_set_server_addr(struct dns_chan *ch)
{
    struct ares_addr_port_node node = { 0 };

    if (inet_pton(AF_INET, ch->host, &node.addr.addr4) == 1)
        node.family = AF_INET;
    else if (inet_pton(AF_INET6, ch->host, &node.addr.addr6) == 1)
        node.family = AF_INET6;
    else
        return -1;
    return chan_set_servers(ch, &node, 1);
}

/* Closes the watchers c-ares did not close itself (it closes them all
 * when the channel is destroyed, but a poll left open would hold the loop). */
static void socks_close(struct dns_chan *ch)
{
    while (ch->socks) {
        struct dns_sock *sk = ch->socks;

        ch->socks = sk->next;
        uv_poll_stop(&sk->poll);
        uv_close((uv_handle_t *)&sk->poll, sock_closed);
    }
}

/* Makes the channel if it is not made, pointed at its server when that is
 * an address. A failure is kept in open_error and tried again next time. */
static void chan_ensure_open(struct dns_chan *ch)
{
    if (ch->channel || ch->bad_server || chan_open(ch) < 0)
        return;
    ch->have_addr = false;
    if (ch->server && !ch->by_name && chan_set_server_addr(ch) < 0) {
        snprintf(ch->open_error, sizeof(ch->open_error), "cannot use the server '%s'", ch->server);
        ares_destroy(ch->channel);
        ch->channel = NULL;
        socks_close(ch);
    }
}

static void chan_closed(uv_handle_t *h)
{
    struct dns_chan *ch = h->data;

    free(ch->server);
    free(ch);
}

/* Frees an idle channel (nothing pending, so c-ares calls nothing back). */
static void chan_drop(struct dns_state *st, size_t i)
{
    struct dns_chan *ch = st->chans[i];

    if (ch->channel)
        ares_destroy(ch->channel);
    ch->channel = NULL;
    socks_close(ch);
    st->chans[i] = st->chans[--st->n_chans];
    uv_timer_stop(&ch->timer);
    uv_close((uv_handle_t *)&ch->timer, chan_closed);
}

/* Whether the channel's view of its server is old: the system channel
 * read /etc/resolv.conf when made, a server's name was looked up. */
static bool chan_stale(const struct dns_chan *ch, uint64_t now)
{
    if (!ch->server)
        return ch->channel && now - ch->opened_ms >= DNS_SYSTEM_TTL_MS;
    return ch->by_name && ch->have_addr && now - ch->resolved_ms >= DNS_SERVER_TTL_MS;
}

/* Renews a stale channel: in place when idle (the system channel made
 * afresh, a name looked up again by the next check); when busy (c-ares
 * cannot change the servers of a channel with queries pending), by retiring
 * it: a new channel takes the next checks, the old one is dropped once its
 * queries are done. Returns false when ch was retired. */
static bool chan_renew(struct dns_chan *ch, uint64_t now)
{
    struct dns_state *st = ch->st;

    if (!chan_stale(ch, now) || st->depth)
        return true;
    if (chan_idle(ch)) {
        if (ch->server) {
            ch->have_addr = false;
            return true;
        }
        ares_destroy(ch->channel);
        ch->channel = NULL;
        socks_close(ch);
        chan_ensure_open(ch);
        return true;
    }
    if (st->n_chans == DNS_MAX_CHANNELS)
        return true; /* no room for the new one: the old one serves on */
    ch->retired = true;
    return false;
}

/* Drops the retired channels that are done. */
static void chan_sweep(struct dns_state *st)
{
    if (st->depth)
        return;
    for (size_t i = st->n_chans; i-- > 0;)
        if (st->chans[i]->retired && chan_idle(st->chans[i]))
            chan_drop(st, i);
}

/* The channel for server (NULL: the system's), made if need be. NULL when
 * DNS_MAX_CHANNELS are all busy. */
static struct dns_chan *chan_get(struct dns_state *st, const char *server)
{
    uint64_t now = uv_now(st->s->loop);
    struct dns_chan *ch;
    char addr[64];

    chan_sweep(st);
    for (size_t i = 0; i < st->n_chans; i++) {
        ch = st->chans[i];
        if (ch->retired || !(server ? ch->server && strcmp(ch->server, server) == 0 : !ch->server))
            continue;
        ch->used_ms = now;
        if (!chan_renew(ch, now))
            break;
        chan_ensure_open(ch);
        return ch;
    }
    if (st->n_chans == DNS_MAX_CHANNELS) {
        size_t lru = SIZE_MAX;

        for (size_t i = 0; i < st->n_chans && !st->depth; i++)
            if (chan_idle(st->chans[i]) &&
                (lru == SIZE_MAX || st->chans[i]->used_ms < st->chans[lru]->used_ms))
                lru = i;
        if (lru == SIZE_MAX)
            return NULL;
        chan_drop(st, lru);
    }
    ch = xcalloc(1, sizeof(*ch));
    ch->st = st;
    ch->used_ms = now;
    ch->port = 53;
    uv_timer_init(st->s->loop, &ch->timer);
    ch->timer.data = ch;
    st->chans[st->n_chans++] = ch;
    if (server) {
        ch->server = xstrdup(server);
        if (probe_dns_split_server(server, ch->host, sizeof(ch->host), &ch->port) < 0) {
            /* The config check refuses such a server: not reached. */
            ch->bad_server = true;
            snprintf(ch->open_error, sizeof(ch->open_error), "server '%s' is malformed", server);
            return ch;
        }
        ch->by_name =
            inet_pton(AF_INET, ch->host, addr) != 1 && inet_pton(AF_INET6, ch->host, addr) != 1;
    }
    chan_ensure_open(ch);
    return ch;
}

/* When every query pending on a channel is disowned (its checks timed out
 * or were cancelled), nobody waits for c-ares' remaining retries: end them
 * now. Never from inside c-ares, whose callbacks ares_cancel() calls. */
static void chan_maybe_cancel(struct dns_chan *ch)
{
    if (ch->owned || ch->lookups || !ch->pending || ch->st->depth || !ch->channel || ch->st->closed)
        return;
    ch->st->depth++;
    ares_cancel(ch->channel);
    ch->st->depth--;
    chan_arm(ch);
}

/* ---- checks -------------------------------------------------------------------- */

static void maybe_free(struct dns_check *c)
{
    if (c->timer_closed && !c->in_ares && !c->waiting)
        free(c);
}

static void check_timer_closed(uv_handle_t *h)
{
    struct dns_check *c = h->data;

    c->timer_closed = true;
    maybe_free(c);
}

static bool unlink_waiter(struct dns_check *c)
{
    struct dns_check **pp = &c->ch->waiters;

    while (*pp && *pp != c)
        pp = &(*pp)->next_waiter;
    if (!*pp)
        return false;
    *pp = c->next_waiter;
    c->next_waiter = NULL;
    c->waiting = false;
    return true;
}

/* Detaches the check from its monitor; it frees itself once c-ares and
 * the timer are done with it. */
static void disown(struct dns_check *c)
{
    c->m->check = NULL;
    c->m = NULL;
    if (c->in_ares)
        c->ch->owned--;
    if (c->waiting)
        unlink_waiter(c); /* fails only while the waiters are being served */
    uv_close((uv_handle_t *)&c->timer, check_timer_closed);
}

static void complete(struct dns_check *c, const struct probe_dns_obs *obs)
{
    struct mon *m = c->m;
    struct dns_chan *ch = c->ch;
    struct probe_result r;

    disown(c);
    if (ch)
        chan_maybe_cancel(ch);
    probe_result_init(&r, c->started_ms);
    probe_dns_evaluate(m->conf, obs, &r);
    sched_record(m, &r, false);
    sched_check_finished(m);
}

/* Ends a check that could not be asked (no resolver, too many servers). */
static void complete_internal(struct dns_check *c, const char *why)
{
    struct probe_dns_obs obs = {
        .outcome = PROBE_DNS_INTERNAL,
        .error = why,
        .total_us = us_since(c->t0_ns),
        .server_us = PROBE_NO_VALUE,
    };

    complete(c, &obs);
}

static enum probe_dns_outcome outcome_of(int status)
{
    switch (status) {
    case ARES_SUCCESS:
        return PROBE_DNS_ANSWERED;
    case ARES_ENODATA:
        return PROBE_DNS_NODATA;
    case ARES_ENOTFOUND:
        return PROBE_DNS_NXDOMAIN;
    case ARES_ESERVFAIL:
        return PROBE_DNS_SERVFAIL;
    case ARES_EREFUSED:
        return PROBE_DNS_REFUSED;
    case ARES_EFORMERR:
        return PROBE_DNS_FORMERR;
    case ARES_ENOTIMP:
        return PROBE_DNS_NOTIMP;
    case ARES_EBADRESP:
        return PROBE_DNS_BADRESP;
    case ARES_ETIMEOUT:
        return PROBE_DNS_TIMEOUT;
    case ARES_ECONNREFUSED:
        return PROBE_DNS_CONNREFUSED;
    case ARES_ECANCELLED:
    case ARES_EDESTRUCTION:
        return PROBE_DNS_INTERNAL;
    default:
        return PROBE_DNS_ERROR;
    }
}

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    struct dns_check *c = arg;
    struct dns_chan *ch = c->ch;
    struct probe_dns_answers answers = { 0 };
    struct probe_dns_obs obs = {
        .outcome = outcome_of(status),
        .answers = &answers,
        .error = ares_strerror(status),
        .retries = timeouts > 0 ? (unsigned)timeouts : 0,
        .server_us = c->server_us,
    };

    c->in_ares = false;
    ch->pending--;
    if (!c->m || ch->st->closed) {
        maybe_free(c);
        return;
    }
    ch->owned--;
    obs.total_us = us_since(c->tq_ns);
    /* The answer section tells NODATA's alias, if any, too. */
    if ((status == ARES_SUCCESS || status == ARES_ENODATA) && abuf && alen > 0 &&
        probe_dns_parse(abuf, (size_t)alen, c->rr, &answers) < 0)
        obs.outcome = PROBE_DNS_BADRESP;
    complete(c, &obs);
    probe_dns_answers_clear(&answers);
}

static void on_check_timeout(uv_timer_t *t)
{
    struct dns_check *c = t->data;
    struct probe_dns_obs obs = {
        .outcome = c->waiting ? PROBE_DNS_NO_SERVER : PROBE_DNS_TIMEOUT,
        .error = "no answer in time",
        .total_us = us_since(c->t0_ns),
        .server_us = c->server_us,
    };

    if (c->m)
        complete(c, &obs);
}

static void query_send(struct dns_check *c)
{
    struct dns_chan *ch = c->ch;
    struct dns_state *st = ch->st;

    c->in_ares = true;
    ch->pending++;
    ch->owned++;
    c->tq_ns = uv_hrtime();
    /* c-ares may call on_answer before returning (a name it cannot encode):
     * c is not touched after. */
    st->depth++;
    ares_query(ch->channel, c->m->conf->query, DNS_CLASS_IN, (int)c->rr, on_answer, c);
    st->depth--;
    chan_arm(ch);
}

/* ---- servers given by name ---------------------------------------------------------- */

static void on_server_addr(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
    struct dns_chan *ch = arg;
    struct dns_state *st = ch->st;
    struct dns_chan *sys = ch->lookup_via;
    struct dns_check *list = ch->waiters, *c, *next;
    struct ares_addr_port_node nodes[DNS_MAX_SERVER_ADDRS];
    char addr[INET6_ADDRSTRLEN] = "";
    size_t n = 0;
    bool ok = false;

    (void)timeouts;
    sys->pending--;
    sys->lookups--;
    ch->lookup_via = NULL;
    ch->resolving = false;
    ch->waiters = NULL;
    if (status == ARES_SUCCESS && res && !st->closed) {
        /* All of its addresses, in the order c-ares sorted them (RFC 6724):
         * "localhost" may be ::1 first, where nothing listens. */
        memset(nodes, 0, sizeof(nodes));
        for (const struct ares_addrinfo_node *a = res->nodes; a && n < ARRAY_SIZE(nodes);
             a = a->ai_next) {
            if (a->ai_family == AF_INET) {
                nodes[n].family = AF_INET;
                memcpy(&nodes[n].addr.addr4, &((const struct sockaddr_in *)a->ai_addr)->sin_addr,
                       sizeof(nodes[n].addr.addr4));
            } else if (a->ai_family == AF_INET6) {
                nodes[n].family = AF_INET6;
                memcpy(&nodes[n].addr.addr6, &((const struct sockaddr_in6 *)a->ai_addr)->sin6_addr,
                       sizeof(nodes[n].addr.addr6));
            } else {
                continue;
            }
            if (!n)
                inet_ntop(a->ai_family, &nodes[n].addr, addr, sizeof(addr));
            n++;
        }
        ok = n && ch->channel && chan_set_servers(ch, nodes, n) == 0;
        if (ok) {
            ch->have_addr = true;
            ch->resolved_ms = uv_now(st->s->loop);
            log_debug("event=dns_server_resolved server=%s addr=%s addrs=%zu", log_q(ch->server),
                      addr, n);
        }
    }
    if (res)
        ares_freeaddrinfo(res);
    if (!ok && status == ARES_SUCCESS)
        status = ARES_ENODATA;
    for (c = list; c; c = next) {
        next = c->next_waiter;
        c->next_waiter = NULL;
        c->waiting = false;
        if (!c->m || st->closed) {
            maybe_free(c);
        } else if (ok) {
            c->server_us = us_since(c->t0_ns);
            query_send(c);
        } else {
            struct probe_dns_obs obs = {
                .outcome = PROBE_DNS_NO_SERVER,
                .error = status == ARES_ENODATA ? "no address" : ares_strerror(status),
                .total_us = us_since(c->t0_ns),
                .server_us = us_since(c->t0_ns),
            };
            complete(c, &obs);
        }
    }
}

/* Looks up the channel's server name through the system channel; the
 * waiting checks go on in on_server_addr(). */
static void chan_resolve(struct dns_chan *ch, struct dns_check *c)
{
    struct dns_state *st = ch->st;
    struct ares_addrinfo_hints hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM };
    struct dns_chan *sys;

    /* Waiting before the lookup starts: a name in /etc/hosts is answered
     * before ares_getaddrinfo() returns. */
    c->waiting = true;
    c->next_waiter = ch->waiters;
    ch->waiters = c;
    if (ch->resolving)
        return;
    ch->resolving = true; /* not idle now: chan_get() will not drop ch for room */
    sys = chan_get(st, NULL);
    if (!sys || !sys->channel) {
        ch->resolving = false;
        unlink_waiter(c);
        complete_internal(c, sys ? sys->open_error : DNS_TOO_MANY);
        return;
    }
    sys->pending++;
    sys->lookups++;
    ch->lookup_via = sys;
    st->depth++;
    ares_getaddrinfo(sys->channel, ch->host, NULL, &hints, on_server_addr, ch);
    st->depth--;
    chan_arm(sys);
}

/* ---- the driver ---------------------------------------------------------------------- */

static struct dns_state *state_get(struct sched *s)
{
    struct dns_state *st = s->dns;

    if (st)
        return st;
    ares_library_init(ARES_LIB_INIT_ALL);
    st = xcalloc(1, sizeof(*st));
    st->s = s;
    s->dns = st;
    return st;
}

void sched_dns_start(struct mon *m)
{
    struct sched *s = m->s;
    struct dns_state *st = state_get(s);
    struct dns_check *c = xcalloc(1, sizeof(*c));
    struct dns_chan *ch;

    c->m = m;
    c->rr = m->conf->record;
    c->started_ms = clock_now_ms(s->clock);
    c->t0_ns = uv_hrtime();
    c->server_us = PROBE_NO_VALUE;
    m->check = c;
    uv_timer_init(s->loop, &c->timer);
    c->timer.data = c;
    uv_timer_start(&c->timer, on_check_timeout, m->conf->timeout_ms, 0);

    ch = chan_get(st, m->conf->dns_server);
    if (!ch) {
        complete_internal(c, DNS_TOO_MANY);
        return;
    }
    if (!ch->channel) {
        complete_internal(c, ch->open_error);
        return;
    }
    c->ch = ch;
    if (ch->by_name && (ch->resolving || !ch->have_addr)) {
        chan_resolve(ch, c);
        return;
    }
    query_send(c);
}

void sched_dns_cancel(struct mon *m)
{
    struct dns_check *c = m->check;
    struct dns_chan *ch;

    if (!c)
        return;
    ch = c->ch;
    disown(c);
    if (ch)
        chan_maybe_cancel(ch);
}

unsigned sched_dns_close(struct sched *s, uv_close_cb cb)
{
    struct dns_state *st = s->dns;
    unsigned n = 0;

    if (!st)
        return 0;
    st->closed = true;
    /* The engine's cb counts them and finds s in data; cleanup frees them. */
    for (size_t i = 0; i < st->n_chans; i++) {
        struct dns_chan *ch = st->chans[i];

        uv_timer_stop(&ch->timer);
        ch->timer.data = s;
        uv_close((uv_handle_t *)&ch->timer, cb);
        n++;
        for (struct dns_sock *sk = ch->socks; sk; sk = sk->next) {
            uv_poll_stop(&sk->poll);
            sk->poll.data = s;
            uv_close((uv_handle_t *)&sk->poll, cb);
            n++;
        }
    }
    return n;
}

void sched_dns_cleanup(struct sched *s)
{
    struct dns_state *st = s->dns;

    if (!st)
        return;
    st->closed = true;
    /* Every channel first: destroying one calls back the lookups and
     * queries pending on it, which may name another channel. */
    for (size_t i = 0; i < st->n_chans; i++) {
        if (st->chans[i]->channel)
            ares_destroy(st->chans[i]->channel);
        st->chans[i]->channel = NULL;
    }
    for (size_t i = 0; i < st->n_chans; i++) {
        struct dns_chan *ch = st->chans[i];

        while (ch->socks) {
            struct dns_sock *sk = ch->socks;
            ch->socks = sk->next;
            free(sk);
        }
        free(ch->server);
        free(ch);
    }
    free(st);
    s->dns = NULL;
    ares_library_cleanup();
}
