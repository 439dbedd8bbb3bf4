/* The engine: one libuv loop runs every check. libcurl multi is driven
 * through its socket API on the loop (no thread per check); TCP checks are
 * uv_tcp connects; heartbeats are deadline timers fed by pings. Results are
 * batched and written to the store off the loop. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config/config.h"
#include "probe/probe.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/error.h"

struct sched;

/* A read-only view of one monitor, valid until the next loop iteration that
 * may reload the config (do not keep pointers across callbacks). */
struct sched_monitor_view {
    const struct conf_monitor *conf;
    int64_t store_id;
    struct probe_sm sm; /* state and since */
    bool has_result;
    struct probe_last last; /* the most recent result, if has_result */
    uint64_t checks_total;
    uint64_t checks_failed;
    uint64_t last_ping_ms; /* heartbeats: last ping of any kind, 0 if none */
};

/* Engine-wide counters for /metrics and the benchmark. */
struct sched_stats {
    uint64_t checks_scheduled; /* slots that came due */
    uint64_t checks_started;
    uint64_t checks_done;
    uint64_t checks_ok;
    uint64_t checks_failed;
    uint64_t checks_skipped; /* a slot came due while the previous check still ran */
    uint64_t results_written;
    uint64_t write_errors;
    unsigned in_flight;
    unsigned queued; /* waiting for the concurrency limit */
    /* start lag (actual - scheduled) histogram, cumulative Prometheus-style */
    uint64_t lag_bucket[12];
    double lag_sum_s;
    uint64_t lag_count;
};
/* Upper bounds (seconds) of the lag histogram buckets; the last is +Inf. */
extern const double sched_lag_bounds[12];
/* Estimated p-quantile (0..1) of start lag in seconds from the histogram. */
double sched_lag_quantile(const struct sched_stats *st, double q);

/* Creates the engine. Borrows loop, store and clock; takes ownership of conf
 * (freed by sched_free or replaced by sched_reload), also on failure. On
 * failure the engine's handles are closing: run the loop before closing it. */
int sched_new(uv_loop_t *loop, struct conf *conf, struct store *store,
              const struct opsd_clock *clock, struct sched **ret, struct opsd_error *err);
int sched_start(struct sched *s, struct opsd_error *err);
/* Swaps in a new config (taking ownership): added monitors start, removed
 * ones stop, changed ones restart with their history. On failure the old
 * config keeps running and conf is freed. */
int sched_reload(struct sched *s, struct conf *conf, struct opsd_error *err);
/* Stops scheduling, lets in-flight checks finish or time out, flushes every
 * result to the store, then calls done(userdata) on the loop. */
void sched_stop(struct sched *s, void (*done)(void *userdata), void *userdata);
struct sched *sched_free(struct sched *s);

const struct conf *sched_conf(const struct sched *s);
size_t sched_monitor_count(const struct sched *s);
/* i in [0, count): monitors in config order. */
const struct sched_monitor_view *sched_monitor_at(const struct sched *s, size_t i);
const struct sched_monitor_view *sched_monitor_find(const struct sched *s, const char *name);
void sched_get_stats(const struct sched *s, struct sched_stats *ret);

/* The maintenance window covering m open at now (the one closing last), or
 * NULL; *ret_end_ms (may be NULL) gets when it closes. */
const struct conf_maintenance *sched_monitor_maintenance(const struct sched *s,
                                                         const struct conf_monitor *m,
                                                         uint64_t now_ms, uint64_t *ret_end_ms);
/* Window i in config order, with its open or next occurrence. */
struct sched_maintenance {
    const struct conf_maintenance *conf;
    bool scheduled;            /* an occurrence is open or to come (false: a one-off in the past) */
    bool active;               /* open now */
    uint64_t start_ms, end_ms; /* that occurrence, when scheduled */
    size_t n_monitors;         /* monitors it covers */
};
size_t sched_maintenance_count(const struct sched *s);
int sched_maintenance_at(const struct sched *s, size_t i, uint64_t now_ms,
                         struct sched_maintenance *ret);

/* A heartbeat ping. Returns 0, or -ENOENT for an unknown token (nothing
 * changes). exit_code is used for PROBE_PING_EXIT; body (may be NULL) is
 * kept as the result message, capped. */
int sched_heartbeat_ping(struct sched *s, const char *token, const char *rid,
                         enum probe_ping_kind kind, int exit_code, const char *body,
                         size_t body_len);
/* A run id (?rid=) pairs a /start with its end when runs overlap: 1 to
 * SCHED_MAX_RID characters of [A-Za-z0-9._-] (a UUID fits). */
#define SCHED_MAX_RID 64
/* Calls cb(userdata, rc) on the loop once everything changed so far is
 * committed to the store (rc 0), or could not be (rc < 0: the store kept
 * refusing, or the engine stopped first). For API writes that must be
 * durable before they are answered. cb may run before this returns when
 * nothing is pending. */
void sched_when_durable(struct sched *s, void (*cb)(void *userdata, int rc), void *userdata);

/* Acknowledges or resolves an alert by id as `by` (a token's name). 0, or
 * -ENOENT (no such open alert), -EALREADY (resolved), -EINVAL (silenced:
 * nothing to acknowledge), -ESHUTDOWN (stopping). The change is pending:
 * wait for it with sched_when_durable(). */
int sched_alert_ack(struct sched *s, int64_t id, const char *by);
int sched_alert_resolve(struct sched *s, int64_t id, const char *by);

/* Checks a one-click link's token (alert/link.h) for acknowledging
 * (resolve false) or resolving alert id, with the key the links are signed
 * with, at the engine's now. 0 or alert_link_verify()'s codes; -ESHUTDOWN
 * when alerting is not configured (no links were ever sent). */
int sched_alert_link_check(struct sched *s, const char *token, bool resolve, int64_t id,
                           struct opsd_error *err);

/* Inbound alerts: pushed by Prometheus, an Alertmanager, a PagerDuty
 * sender or a script (web/inbound.c parses them). */
struct alert_labels;
/* How long a Prometheus alert stays firing without a refresh when it came
 * without an endsAt, or when opsd restarted (its endsAt is not stored):
 * Alertmanager's resolve_timeout default. */
#define SCHED_INBOUND_RESOLVE_TIMEOUT_MS (5 * 60 * 1000ull)
enum sched_inbound_action {
    SCHED_INBOUND_FIRE = 1,
    SCHED_INBOUND_RESOLVE = 2,
    SCHED_INBOUND_ACK = 3,
};
struct sched_inbound {
    enum sched_inbound_action action;
    const char *source;                /* "api", "prometheus", "alertmanager", "pagerduty" */
    const struct alert_labels *labels; /* borrowed; the full set, severity included */
    /* The severity label does not tell alerts apart: an open alert with
     * these labels and any severity is the one meant (PagerDuty's dedup_key;
     * a resolve that names no severity). A fire then refreshes it as is. */
    bool any_severity;
    int severity; /* enum alert_severity */
    const char *summary, *message;
    uint64_t starts_ms; /* 0: now */
    uint64_t ends_ms;   /* fire: resolves by itself then unless refreshed; 0: never */
};
/* Applies v[0..n) in order as `by` (a token's name): ret_ids[i] gets the
 * alert's id, or 0 when a resolve or ack found no open alert. 0, or
 * -ESHUTDOWN with nothing applied. The change is pending: wait for it with
 * sched_when_durable(). */
int sched_alert_inbound(struct sched *s, const struct sched_inbound *v, size_t n, const char *by,
                        int64_t *ret_ids);

/* Reads the silences from the store again (after one was added or
 * expired) and re-checks every open alert against them. */
int sched_silences_reload(struct sched *s, struct opsd_error *err);

/* Notifications delivered and failed since start, and pending now. */
void sched_alerting_stats(const struct sched *s, uint64_t *delivered, uint64_t *failed,
                          uint64_t *pending);
/* Flushes pending results now (tests, shutdown); done called on the loop. */
void sched_flush(struct sched *s);
