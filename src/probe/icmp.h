/* The icmp monitor's logic without sockets: echo requests as bytes, the
 * internet checksum, telling our replies (and ICMP errors about our
 * requests) apart from everything else a socket sees, and the counts and
 * round-trip times judged against the config. The sockets, timers and the
 * name lookup are sched/icmp.c's. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conf_monitor;
struct probe_result;
struct probe_metric;
struct sockaddr;

#define PROBE_ICMP_MAX_COUNT 100 /* echo requests per check (the config's cap on count) */
#define PROBE_ICMP_COOKIE_LEN 8  /* random bytes opening every payload of one check */
#define PROBE_ICMP_DATA_LEN 56   /* payload bytes, as ping(8): 64-byte ICMP messages */
#define PROBE_ICMP_REQUEST_LEN (8 + PROBE_ICMP_DATA_LEN)
#define PROBE_ICMP_METRICS 3      /* loss_pct, rtt_avg_seconds, rtt_max_seconds */
#define PROBE_ICMP_SPACING_MS 200 /* between echo requests, unless the timeout is short */

/* One check's echo requests and what came back. Sequence numbers on the
 * wire are 1..count. */
struct probe_icmp_session {
    bool v6;
    /* A raw socket sees every ICMP packet the host receives, IPv4 ones with
     * their IP header: replies must carry our identifier. A ping socket
     * (SOCK_DGRAM) gets only replies to itself, without the IP header, and
     * the kernel picks the identifier. */
    bool raw;
    uint16_t id;
    uint8_t cookie[PROBE_ICMP_COOKIE_LEN];
    unsigned count;
    unsigned sent;       /* requests handed to the kernel, in order */
    unsigned received;   /* distinct replies */
    unsigned duplicates; /* further replies to a request already answered */
    unsigned errors;     /* requests an ICMP error (unreachable, TTL) was about */
    int send_err;        /* the errno of a send that failed for good (unreachable), or 0 */
    uint64_t rtt_min_ns, rtt_max_ns, rtt_sum_ns;
    uint64_t sent_ns[PROBE_ICMP_MAX_COUNT]; /* monotonic, by sequence - 1 */
    uint8_t seen[PROBE_ICMP_MAX_COUNT];     /* 0 waiting, 1 replied, 2 an error came */
    char error[96]; /* the first ICMP error, e.g. "host unreachable, reported by 10.0.0.254" */
};

/* What probe_icmp_receive() made of a packet. */
enum probe_icmp_verdict {
    PROBE_ICMP_NOT_OURS = 0, /* someone else's packet, our own request, or garbage */
    PROBE_ICMP_REPLY = 1,    /* a first reply to one of our requests: counted */
    PROBE_ICMP_DUPLICATE = 2,
    PROBE_ICMP_ERROR = 3, /* an ICMP error about one of our requests */
};

/* The internet checksum (RFC 1071) of len bytes: the 16-bit value to store
 * as it is (memcpy) in the checksum field. Data that holds a correct
 * checksum sums to 0. */
uint16_t probe_icmp_checksum(const void *data, size_t len);

/* Starts a session of count (1..PROBE_ICMP_MAX_COUNT, clamped) requests.
 * cookie is PROBE_ICMP_COOKIE_LEN bytes, copied. */
void probe_icmp_session_init(struct probe_icmp_session *s, bool v6, bool raw, uint16_t id,
                             const uint8_t *cookie, unsigned count);

/* Writes echo request number seq (1..count) into buf: the ICMP header and
 * payload (cookie, then a fill pattern), checksummed for IPv4 (the kernel
 * checksums ICMPv6). Returns its length, or 0 when seq is out of range or
 * cap is below PROBE_ICMP_REQUEST_LEN. */
size_t probe_icmp_request(const struct probe_icmp_session *s, unsigned seq, uint8_t *buf,
                          size_t cap);

/* Records that request seq left at now_ns (a lost request counts too:
 * a send the kernel dropped for want of buffer space is loss). */
void probe_icmp_sent(struct probe_icmp_session *s, unsigned seq, uint64_t now_ns);

/* Records a send that failed for good (a positive errno such as
 * ENETUNREACH): the check can end; nothing more will come. */
void probe_icmp_send_failed(struct probe_icmp_session *s, int err);

/* Looks at one packet read from the socket at now_ns; from (may be NULL)
 * is where it came from, named in the message of an ICMP error. Counts a
 * reply (its RTT) or an error when it is about one of our requests; on
 * REPLY, DUPLICATE and ERROR sets *ret_seq (may be NULL), else leaves it
 * alone. */
enum probe_icmp_verdict probe_icmp_receive(struct probe_icmp_session *s, const uint8_t *pkt,
                                           size_t len, const struct sockaddr *from, uint64_t now_ns,
                                           unsigned *ret_seq);

/* Every request sent and each answered (or reported on by an ICMP error),
 * or a send failed for good: nothing more to wait for. */
bool probe_icmp_done(const struct probe_icmp_session *s);

/* Milliseconds between requests: PROBE_ICMP_SPACING_MS, less when count
 * requests would not all leave within the first half of the timeout (never
 * below 10 ms). */
uint64_t probe_icmp_spacing_ms(unsigned count, uint64_t timeout_ms);

/* Judges s against cf (max_loss, max_rtt) into r: status, message such as
 * "3/3 replies from 127.0.0.1, rtt min/avg/max 0.04/0.05/0.07 ms", total_us
 * (the average RTT; PROBE_NO_VALUE without replies). host is the monitor's
 * host, addr the address pinged (text; named as well when it differs from
 * host). metrics (room for PROBE_ICMP_METRICS) receives loss_pct and, with
 * replies, rtt_avg_seconds and rtt_max_seconds; r->metrics points at it. */
void probe_icmp_evaluate(const struct conf_monitor *cf, const struct probe_icmp_session *s,
                         const char *host, const char *addr, struct probe_result *r,
                         struct probe_metric *metrics);

/* The result when no ICMP socket could be opened (err a positive errno from
 * the raw socket, the last one tried): unknown, with what to do about it. */
void probe_icmp_socket_error(int err, bool v6, struct probe_result *r);
