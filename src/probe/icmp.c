/* The icmp monitor's rules: echo requests carry the check's identifier and
 * a random cookie; a reply counts when its sequence number is one we sent
 * and its payload starts with the cookie (and, on a raw socket, when its
 * identifier is ours). Loss above max_loss or an average RTT above max_rtt
 * is critical. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "probe/probe.h"
#include "util/cleanup.h"

#define ICMP4_ECHO_REPLY 0
#define ICMP4_UNREACH 3
#define ICMP4_ECHO 8
#define ICMP4_TIME_EXCEEDED 11
#define ICMP6_UNREACH 1
#define ICMP6_TIME_EXCEEDED 3
#define ICMP6_ECHO 128
#define ICMP6_ECHO_REPLY 129
#define IP4_MIN_HEADER 20
#define IP6_HEADER 40
#define PROTO_ICMP4 1
#define PROTO_ICMP6 58

#define SEEN_WAITING 0
#define SEEN_REPLY 1
#define SEEN_ERROR 2

uint16_t probe_icmp_checksum(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t sum = 0;
    uint16_t w;

    /* Summing native-order words gives the checksum in native order of the
     * stored bytes: the one's-complement sum does not care (RFC 1071 2.B). */
    for (; len > 1; p += 2, len -= 2) {
        memcpy(&w, p, 2);
        sum += w;
    }
    if (len) {
        w = 0;
        memcpy(&w, p, 1);
        sum += w;
    }
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

void probe_icmp_session_init(struct probe_icmp_session *s, bool v6, bool raw, uint16_t id,
                             const uint8_t *cookie, unsigned count)
{
    memset(s, 0, sizeof(*s));
    s->v6 = v6;
    s->raw = raw;
    s->id = id;
    memcpy(s->cookie, cookie, PROBE_ICMP_COOKIE_LEN);
    s->count = count < 1 ? 1 : count > PROBE_ICMP_MAX_COUNT ? PROBE_ICMP_MAX_COUNT : count;
}

size_t probe_icmp_request(const struct probe_icmp_session *s, unsigned seq, uint8_t *buf,
                          size_t cap)
{
    uint16_t sum;

    if (seq < 1 || seq > s->count || cap < PROBE_ICMP_REQUEST_LEN)
        return 0;
    buf[0] = s->v6 ? ICMP6_ECHO : ICMP4_ECHO;
    buf[1] = 0;
    put16(buf + 2, 0);
    put16(buf + 4, s->id);
    put16(buf + 6, (uint16_t)seq);
    memcpy(buf + 8, s->cookie, PROBE_ICMP_COOKIE_LEN);
    for (size_t i = 8 + PROBE_ICMP_COOKIE_LEN; i < PROBE_ICMP_REQUEST_LEN; i++)
        buf[i] = (uint8_t)i;
    if (!s->v6) {
        sum = probe_icmp_checksum(buf, PROBE_ICMP_REQUEST_LEN);
        memcpy(buf + 2, &sum, 2);
    }
    return PROBE_ICMP_REQUEST_LEN;
}

void probe_icmp_sent(struct probe_icmp_session *s, unsigned seq, uint64_t now_ns)
{
    if (seq < 1 || seq > s->count)
        return;
    s->sent_ns[seq - 1] = now_ns;
    if (seq > s->sent)
        s->sent = seq;
}

void probe_icmp_send_failed(struct probe_icmp_session *s, int err)
{
    if (!s->send_err)
        s->send_err = err > 0 ? err : EIO;
}

/* The sequence number of our echo request (ICMP header first, n bytes of
 * it at hand), or 0 when it is not ours. need_cookie: a reply echoes the
 * whole payload; an ICMP error may quote only the first 8 bytes of the
 * request, so there the identifier alone must do (raw sockets only). */
static unsigned our_request(const struct probe_icmp_session *s, const uint8_t *echo, size_t n,
                            bool need_cookie)
{
    unsigned seq;

    if (n < 8)
        return 0;
    seq = get16(echo + 6);
    if (s->raw && get16(echo + 4) != s->id)
        return 0;
    if (seq < 1 || seq > s->sent)
        return 0;
    if (n >= 8 + PROBE_ICMP_COOKIE_LEN) {
        if (memcmp(echo + 8, s->cookie, PROBE_ICMP_COOKIE_LEN) != 0)
            return 0;
    } else if (need_cookie) {
        return 0;
    }
    return seq;
}

static const char *error_text(bool v6, uint8_t type, uint8_t code)
{
    static const char *const unreach4[] = {
        "network unreachable",
        "host unreachable",
        "protocol unreachable",
        "port unreachable",
        "fragmentation needed",
        "source route failed",
        "destination network unknown",
        "destination host unknown",
        "source host isolated",
        "network administratively prohibited",
        "host administratively prohibited",
        "network unreachable for TOS",
        "host unreachable for TOS",
        "communication administratively prohibited",
        "host precedence violation",
        "precedence cutoff in effect",
    };
    static const char *const unreach6[] = {
        "no route to destination",
        "communication administratively prohibited",
        "beyond scope of source address",
        "address unreachable",
        "port unreachable",
        "source address failed ingress/egress policy",
        "reject route to destination",
    };

    if (!v6 && type == ICMP4_UNREACH)
        return code < 16 ? unreach4[code] : "destination unreachable";
    if (v6 && type == ICMP6_UNREACH)
        return code < 7 ? unreach6[code] : "destination unreachable";
    if (code == 1)
        return "fragment reassembly time exceeded";
    return v6 ? "hop limit exceeded" : "time to live exceeded";
}

static void note_error(struct probe_icmp_session *s, uint8_t type, uint8_t code,
                       const struct sockaddr *from)
{
    char addr[INET6_ADDRSTRLEN] = "";
    const char *what = error_text(s->v6, type, code);

    if (s->error[0])
        return;
    if (from && from->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)from)->sin_addr, addr,
                  sizeof(addr));
    else if (from && from->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)from)->sin6_addr, addr,
                  sizeof(addr));
    if (addr[0])
        snprintf(s->error, sizeof(s->error), "%s, reported by %s", what, addr);
    else
        snprintf(s->error, sizeof(s->error), "%s", what);
}

/* The request an ICMP error quotes (its IP header first), or 0. */
static unsigned quoted_request(const struct probe_icmp_session *s, const uint8_t *q, size_t n)
{
    size_t hl;

    if (s->v6) {
        if (n < IP6_HEADER || q[0] >> 4 != 6 || q[6] != PROTO_ICMP6)
            return 0;
        hl = IP6_HEADER;
    } else {
        if (n < IP4_MIN_HEADER || q[0] >> 4 != 4 || q[9] != PROTO_ICMP4)
            return 0;
        hl = (size_t)(q[0] & 0x0f) * 4;
        if (hl < IP4_MIN_HEADER || n < hl)
            return 0;
    }
    if (n - hl < 8 || q[hl] != (s->v6 ? ICMP6_ECHO : ICMP4_ECHO))
        return 0;
    return our_request(s, q + hl, n - hl, !s->raw);
}

enum probe_icmp_verdict probe_icmp_receive(struct probe_icmp_session *s, const uint8_t *pkt,
                                           size_t len, const struct sockaddr *from, uint64_t now_ns,
                                           unsigned *ret_seq)
{
    const uint8_t *icmp = pkt;
    size_t n = len;
    unsigned seq;
    uint8_t type, code;

    if (!s->v6 && s->raw) {
        /* IPv4 raw sockets read the IP header too; nobody checked the ICMP
         * checksum yet. */
        size_t hl;

        if (n < IP4_MIN_HEADER || pkt[0] >> 4 != 4 || pkt[9] != PROTO_ICMP4)
            return PROBE_ICMP_NOT_OURS;
        hl = (size_t)(pkt[0] & 0x0f) * 4;
        if (hl < IP4_MIN_HEADER || n < hl + 8)
            return PROBE_ICMP_NOT_OURS;
        icmp += hl;
        n -= hl;
        if (probe_icmp_checksum(icmp, n) != 0)
            return PROBE_ICMP_NOT_OURS;
    }
    if (n < 8)
        return PROBE_ICMP_NOT_OURS;
    type = icmp[0];
    code = icmp[1];

    if (type == (s->v6 ? ICMP6_ECHO_REPLY : ICMP4_ECHO_REPLY)) {
        uint64_t rtt;

        if (code != 0 || !(seq = our_request(s, icmp, n, true)))
            return PROBE_ICMP_NOT_OURS;
        if (ret_seq)
            *ret_seq = seq;
        if (s->seen[seq - 1] == SEEN_REPLY) {
            s->duplicates++;
            return PROBE_ICMP_DUPLICATE;
        }
        if (s->seen[seq - 1] == SEEN_ERROR)
            s->errors--; /* an error, then the reply after all: the reply wins */
        s->seen[seq - 1] = SEEN_REPLY;
        rtt = now_ns > s->sent_ns[seq - 1] ? now_ns - s->sent_ns[seq - 1] : 0;
        if (!s->received || rtt < s->rtt_min_ns)
            s->rtt_min_ns = rtt;
        if (!s->received || rtt > s->rtt_max_ns)
            s->rtt_max_ns = rtt;
        s->rtt_sum_ns += rtt;
        s->received++;
        return PROBE_ICMP_REPLY;
    }

    if (s->v6 ? type == ICMP6_UNREACH || type == ICMP6_TIME_EXCEEDED
              : type == ICMP4_UNREACH || type == ICMP4_TIME_EXCEEDED) {
        if (!(seq = quoted_request(s, icmp + 8, n - 8)))
            return PROBE_ICMP_NOT_OURS;
        if (ret_seq)
            *ret_seq = seq;
        if (s->seen[seq - 1] == SEEN_WAITING) {
            s->seen[seq - 1] = SEEN_ERROR;
            s->errors++;
        }
        note_error(s, type, code, from);
        return PROBE_ICMP_ERROR;
    }
    return PROBE_ICMP_NOT_OURS;
}

bool probe_icmp_done(const struct probe_icmp_session *s)
{
    if (s->send_err)
        return true;
    return s->sent >= s->count && s->received + s->errors >= s->count;
}

uint64_t probe_icmp_spacing_ms(unsigned count, uint64_t timeout_ms)
{
    uint64_t ms = PROBE_ICMP_SPACING_MS;

    if (count > 1 && timeout_ms / 2 / (count - 1) < ms)
        ms = timeout_ms / 2 / (count - 1);
    return ms < 10 ? 10 : ms;
}

static void add_metric(struct probe_result *r, struct probe_metric *metrics, const char *name,
                       const char *unit, double v)
{
    struct probe_metric *m = &metrics[r->n_metrics++];

    snprintf(m->name, sizeof(m->name), "%s", name);
    snprintf(m->unit, sizeof(m->unit), "%s", unit);
    m->value = v;
}

/* Appends to r's message as far as it fits. */
static void say(struct probe_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct probe_result *r, const char *fmt, ...)
{
    size_t len = strlen(r->message);
    va_list ap;

    if (len + 1 >= sizeof(r->message))
        return;
    va_start(ap, fmt);
    vsnprintf(r->message + len, sizeof(r->message) - len, fmt, ap);
    va_end(ap);
}

/* A loss as a whole percentage ("67"), or with a decimal when rounding
 * would make it read as the limit it differs from ("33.3" against 33). */
static void format_loss(char *buf, size_t n, double loss, double max, const char *max_s)
{
    snprintf(buf, n, "%.0f", loss);
    if (loss != max && strcmp(buf, max_s) == 0)
        snprintf(buf, n, "%.1f", loss);
}

void probe_icmp_evaluate(const struct conf_monitor *cf, const struct probe_icmp_session *s,
                         const char *host, const char *addr, struct probe_result *r,
                         struct probe_metric *metrics)
{
    char target[320], loss_s[16], max_s[16];
    unsigned count = s->count ? s->count : 1; /* a session never started: all lost */
    double loss = 100.0 * (double)(count - MIN(s->received, count)) / (double)count;
    double avg_ms = s->received ? (double)s->rtt_sum_ns / s->received / 1e6 : 0;
    bool loss_bad = loss > cf->max_loss_pct;
    bool rtt_bad = s->received && cf->max_rtt_ms && avg_ms > (double)cf->max_rtt_ms;

    r->metrics = metrics;
    r->n_metrics = 0;
    r->message[0] = '\0';
    r->status = loss_bad || rtt_bad ? PROBE_CRITICAL : PROBE_OK;
    if (strcmp(host, addr) == 0)
        snprintf(target, sizeof(target), "%s", addr);
    else
        snprintf(target, sizeof(target), "%s (%s)", host, addr);
    snprintf(max_s, sizeof(max_s), "%.4g", cf->max_loss_pct);
    format_loss(loss_s, sizeof(loss_s), loss, cf->max_loss_pct, max_s);

    add_metric(r, metrics, "loss_pct", "%", loss);
    if (s->received) {
        double avg_us = (double)s->rtt_sum_ns / s->received / 1e3;

        add_metric(r, metrics, "rtt_avg_seconds", "s", avg_us / 1e6);
        add_metric(r, metrics, "rtt_max_seconds", "s", (double)s->rtt_max_ns / 1e9);
        r->total_us = avg_us > INT32_MAX ? INT32_MAX : (int32_t)(avg_us + 0.5);
        say(r, "%u/%u replies from %s", s->received, count, target);
    } else {
        say(r, "no replies from %s", target);
    }

    if (s->received < count || s->error[0] || s->send_err) {
        say(r, " (%s%% loss", loss_s);
        /* The limit is news only when it is not the default "no loss" and
         * something came back. */
        if (loss_bad && cf->max_loss_pct > 0 && s->received)
            say(r, " > max %s%%", max_s);
        if (s->error[0])
            say(r, "; %s", s->error);
        if (s->send_err)
            say(r, "; cannot send: %s", strerror(s->send_err));
        say(r, ")");
    }
    if (s->received) {
        say(r, ", rtt min/avg/max %.2f/%.2f/%.2f ms", (double)s->rtt_min_ns / 1e6, avg_ms,
            (double)s->rtt_max_ns / 1e6);
        if (rtt_bad)
            say(r, " (avg > max %" PRIu64 " ms)", cf->max_rtt_ms);
    }
    if (s->duplicates)
        say(r, ", %u duplicate%s", s->duplicates, s->duplicates == 1 ? "" : "s");
}

void probe_icmp_socket_error(int err, bool v6, struct probe_result *r)
{
    const char *hint = "";

    if (err == EPERM || err == EACCES)
        hint = " (allow ping sockets with sysctl net.ipv4.ping_group_range or run as root)";
    else if (err == EAFNOSUPPORT && v6)
        hint = " (IPv6 is disabled on this host)";
    r->status = PROBE_UNKNOWN;
    r->metrics = NULL;
    r->n_metrics = 0;
    snprintf(r->message, sizeof(r->message), "cannot open an ICMP%s socket: %s%s", v6 ? "v6" : "",
             strerror(err), hint);
}
