/* Monitor logic without I/O: the state machine that turns results into
 * up/down with confirmation, the spreading of checks over an interval, and
 * the evaluation of what a probe observed against what the config expects.
 * The I/O (libcurl, sockets, timers) lives in sched/. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "util/opsd_limits.h"

/* Result status, Nagios semantics; stored and sent: values never change. */
enum probe_status {
    PROBE_OK = 0,
    PROBE_WARNING = 1,
    PROBE_CRITICAL = 2,
    PROBE_UNKNOWN = 3,
};

/* Monitor state; stored and sent: values never change. */
enum probe_state {
    PROBE_STATE_PENDING = 0,
    PROBE_STATE_UP = 1,
    PROBE_STATE_DOWN = 2,
    PROBE_STATE_PAUSED = 3,
};

const char *probe_status_to_string(enum probe_status s);
const char *probe_state_to_string(enum probe_state s);
int probe_state_from_string(const char *s, enum probe_state *ret);

#define PROBE_NO_VALUE INT32_MIN

/* A number a check measured besides its timings (a plugin's perfdata, a
 * file's size), stored as a series per monitor and name. Values are in base
 * units: seconds, bytes, percent, or a plain count. */
#define PROBE_MAX_METRIC_NAME 160
#define PROBE_MAX_METRICS 512 /* a host with many mounts and interfaces */
struct probe_metric {
    char name[PROBE_MAX_METRIC_NAME];
    char unit[8]; /* "s", "B", "%", "c" or "" */
    double value;
};

struct probe_result {
    uint64_t started_ms;     /* wall clock */
    enum probe_status status;
    int32_t dns_us, connect_us, tls_us, ttfb_us, total_us; /* PROBE_NO_VALUE if n/a */
    int32_t http_status;     /* PROBE_NO_VALUE if none */
    int32_t cert_days;       /* PROBE_NO_VALUE if none */
    char message[OPSD_MAX_MESSAGE];
    const struct probe_metric *metrics; /* borrowed until the result is recorded */
    size_t n_metrics;
    const char *body; /* a ping's body, NUL-terminated; borrowed until recorded; or NULL */
};

void probe_result_init(struct probe_result *r, uint64_t started_ms);
/* A result counts as up unless critical or unknown. */
static inline bool probe_status_ok(enum probe_status s)
{
    return s == PROBE_OK || s == PROBE_WARNING;
}
static inline bool probe_result_ok(const struct probe_result *r)
{
    return probe_status_ok(r->status);
}

/* What a monitor keeps of its latest result: the same facts, with the
 * message on the heap at its own length. A result is scratch space with a
 * full-size message buffer; keeping one per monitor cost ~500 bytes each. */
struct probe_last {
    uint64_t started_ms;
    enum probe_status status;
    int32_t dns_us, connect_us, tls_us, ttfb_us, total_us;
    int32_t http_status;
    int32_t cert_days;
    char *message;           /* owned; NULL until set */
};

/* Copies r into l, replacing (and freeing) l's message. */
void probe_last_set(struct probe_last *l, const struct probe_result *r);
void probe_last_copy(struct probe_last *dst, const struct probe_last *src);
void probe_last_clear(struct probe_last *l);

/* Per-monitor state machine: pending -> up/down, flipping only after
 * `confirm` consecutive results that disagree with the current state, or at
 * once for a forced (explicit) signal such as a heartbeat /fail. */
struct probe_sm {
    enum probe_state state;
    uint64_t since_ms;
    unsigned consec_ok;
    unsigned consec_fail;
};

void probe_sm_init(struct probe_sm *sm, enum probe_state state, uint64_t since_ms);
/* Feeds one result. Returns true (and sets *ret_from) when the state changed. */
bool probe_sm_feed(struct probe_sm *sm, bool ok, bool forced, unsigned confirm, uint64_t now_ms,
                   enum probe_state *ret_from);

/* Where in [0, interval) a monitor's checks fall: a stable hash of its name,
 * so N monitors on one interval spread evenly and keep their slots across
 * restarts. Offsets are multiples of quantum_ms (when the interval is longer):
 * checks sharing a quantum start in one loop iteration, so the loop wakes
 * once for a handful of checks instead of once per check. */
uint64_t probe_spread_offset(const char *name, uint64_t interval_ms, uint64_t quantum_ms);
/* The first scheduled time >= now_ms for a monitor with that offset. */
uint64_t probe_next_slot(uint64_t now_ms, uint64_t interval_ms, uint64_t offset_ms);

/* What an HTTP check observed (from libcurl). */
struct probe_http_obs {
    int curl_code;            /* CURLE_*; 0 on transfer success */
    const char *curl_error;   /* libcurl's error text, or NULL */
    long http_status;
    const char *body;         /* captured prefix of the body (NUL-terminated) */
    size_t body_len;
    bool body_truncated;
    int32_t dns_us, connect_us, tls_us, ttfb_us, total_us;
    int32_t cert_days;        /* PROBE_NO_VALUE if not https */
};
/* Judges obs against m's expectations into r (status, message, timings). */
void probe_http_evaluate(const struct conf_monitor *m, const struct probe_http_obs *obs,
                         struct probe_result *r);

/* A heartbeat's deadline: no success ping by then means down. */
uint64_t probe_heartbeat_deadline(const struct conf_monitor *m, uint64_t last_success_ms);

/* Heartbeat ping kinds (Healthchecks.io-compatible URLs). */
enum probe_ping_kind {
    PROBE_PING_SUCCESS = 0,
    PROBE_PING_START = 1,
    PROBE_PING_FAIL = 2,
    PROBE_PING_EXIT = 3,      /* /ping/<token>/<exit-code> */
};

/* Per-type pure logic, one header each, reached through this one. */
#include "probe/cron.h"
#include "probe/file.h"
#include "probe/jsonassert.h"
#include "probe/hostres.h"
#include "probe/logwatch.h"
#include "probe/plugin.h"
#include "probe/dns.h"
#include "probe/icmp.h"
#include "probe/tls.h"
