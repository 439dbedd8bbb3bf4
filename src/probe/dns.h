/* The dns monitor's judgement: a DNS response (wire format) turned into
 * the answers of the type asked for, one string each in presentation form,
 * and those answers (or the lack of them) judged against expect. The
 * resolver (c-ares on the loop) lives in sched/dns.c. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

struct probe_result;

#define PROBE_DNS_MAX_ANSWERS 64 /* answers kept from one response; the rest are counted */
#define PROBE_DNS_MAX_TEXT 2048  /* bytes of one answer's text (a long TXT record is cut) */

/* The answers of one type from a response, as text:
 *   A, AAAA          the address ("192.0.2.1", "2001:db8::1")
 *   CNAME, NS, PTR   the name, without the final dot ("mail.example.com")
 *   MX               "preference exchange" ("10 mail.example.com")
 *   TXT              the character-strings of one record joined without a
 *                    separator; control bytes and bytes that are not UTF-8
 *                    appear as \DDD (decimal)
 *   SOA              "mname rname serial"
 *   SRV              "priority weight port target" ("10 5 5060 sip.example.com")
 * Names use the escapes of zone files: "\." for a dot inside a label, "\\"
 * for a backslash, \DDD for other bytes outside printable ASCII. */
struct probe_dns_answers {
    char **v; /* sorted (numbers in numeric order), each owned */
    size_t n;
    size_t n_dropped; /* answers past PROBE_DNS_MAX_ANSWERS, not in v */
    bool cut;         /* some answer's text was cut at PROBE_DNS_MAX_TEXT */
    char *alias;      /* rr is not CNAME: the last CNAME target seen, or NULL; owned */
};

/* Parses the response msg (len bytes) and collects the answer section's
 * records of type rr and class IN (a CNAME chain that leads to them is
 * skipped). On success fills *ret (the caller clears it with
 * probe_dns_answers_clear()) and returns 0; a malformed message returns
 * -EBADMSG and leaves *ret untouched. */
int probe_dns_parse(const uint8_t *msg, size_t len, enum conf_dns_record rr,
                    struct probe_dns_answers *ret);
void probe_dns_answers_clear(struct probe_dns_answers *a);

/* Whether answer a (as probe_dns_parse() writes it) stands for the same
 * data as the expected text e: addresses compare as addresses ("2001:DB8::1"
 * is "2001:db8:0::1"); names ignore letter case and a final dot; TXT
 * compares exactly. */
bool probe_dns_same(enum conf_dns_record rr, const char *a, const char *e);
/* Whether answer a contains the text e: ignoring case, except for TXT. */
bool probe_dns_contains(enum conf_dns_record rr, const char *a, const char *e);

/* How a query ended. Not stored: only its message is. */
enum probe_dns_outcome {
    PROBE_DNS_ANSWERED, /* NOERROR with answers of the type asked for */
    PROBE_DNS_NODATA,   /* NOERROR without them: the name exists */
    PROBE_DNS_NXDOMAIN,
    PROBE_DNS_SERVFAIL,
    PROBE_DNS_REFUSED,
    PROBE_DNS_FORMERR,
    PROBE_DNS_NOTIMP,
    PROBE_DNS_BADRESP,     /* a response that could not be parsed */
    PROBE_DNS_TIMEOUT,     /* no response at all */
    PROBE_DNS_CONNREFUSED, /* the server's port is closed (ICMP unreachable, TCP RST) */
    PROBE_DNS_NO_SERVER,   /* the server's own name did not resolve; see error */
    PROBE_DNS_ERROR,       /* anything else; see error */
    PROBE_DNS_INTERNAL,    /* opsd could not ask (no resolver); unknown, see error */
};

/* What one check observed. */
struct probe_dns_obs {
    enum probe_dns_outcome outcome;
    const struct probe_dns_answers *answers; /* borrowed; for PROBE_DNS_ANSWERED */
    const char *error; /* the resolver's text for NO_SERVER and ERROR, or NULL */
    unsigned retries;  /* tries that went unanswered before the outcome */
    int32_t total_us;  /* from sending the query to its outcome */
    int32_t server_us; /* looking up the server's name first; PROBE_NO_VALUE if not done */
};

/* Judges obs against m (query, record, dns_server, expect_contains,
 * expect_equals, max_latency_ms) into r: status, message and timings
 * (dns_us is the lookup of the server's name, total_us the query). */
void probe_dns_evaluate(const struct conf_monitor *m, const struct probe_dns_obs *obs,
                        struct probe_result *r);

/* Splits a dns monitor's server ("host", "host:port", "[v6]" or
 * "[v6]:port"; a bare IPv6 address is taken whole) into the host, without
 * brackets, and the port (53 when not given). Returns 0, or -EINVAL when
 * it is malformed or the host does not fit in n bytes, leaving ret_host
 * and ret_port untouched. */
int probe_dns_split_server(const char *server, char *ret_host, size_t n, unsigned *ret_port);
