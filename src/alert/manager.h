/* The alert manager: alerts in, notifications out. It holds every open
 * alert, routes each through the config's route tree into aggregation groups
 * (Alertmanager semantics) or into an escalation policy, and turns group
 * flushes and escalation steps into notifications for named receivers.
 *
 * Pure logic on a clock the caller passes in: it sends nothing, stores
 * nothing and logs nothing. The caller (sched/alerting.c) writes what
 * changed and the notifications to the store in one transaction, and only
 * then hands the notifications to the sender: a notification exists only
 * once it is durable.
 *
 * Ids: alerts and notifications get ids from two counters the caller seeds
 * with the largest ids stored, so a row's id is known before it is written. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert/escalation.h"
#include "alert/route.h"
#include "config/config.h"
#include "util/error.h"

/* Stored and sent over the API: values only grow (they match
 * enum store_alert_state). */
enum alert_state {
    ALERT_STATE_FIRING = 1,
    ALERT_STATE_ACKED = 2,
    ALERT_STATE_RESOLVED = 3,
    ALERT_STATE_SILENCED = 4, /* firing but suppressed: recorded, not sent */
};
const char *alert_state_to_string(enum alert_state s);
int alert_state_from_string(const char *s, enum alert_state *ret);

/* One alert as the manager holds it. Borrowed from the manager: valid until
 * the next call that takes an alert_mgr_out (or alert_mgr_free). */
struct alert_view {
    int64_t id;
    uint64_t fingerprint;
    const char *monitor; /* NULL for inbound alerts */
    const char *source;  /* "monitor", "api", ... */
    enum alert_severity severity;
    enum alert_state state;
    const struct alert_labels *labels; /* includes alertname, monitor, severity */
    const char *summary;
    const char *message;
    const char *suppressed; /* why it is not sent, or NULL */
    uint64_t starts_ms, updated_ms, acked_ms, resolved_ms;
    const char *acked_by;
    int review; /* enum store_alert_review */
    const char *review_by;
    uint64_t reviewed_ms;
};

/* One notification to write and then send. Strings and arrays owned by the
 * out struct that holds it. */
struct alert_note {
    int64_t id;
    char *receiver;
    const char *reason; /* static: "firing", "resolved", "escalated", ... */
    char *group_key;    /* "g-<hex>" for a route group, "esc-<alert id>" for a page */
    char *idempotency_key;
    struct alert_labels group_labels;
    int64_t *alert_ids; /* what the notification is about */
    bool *resolved;     /* per alert: announced as resolved */
    size_t n_alerts;
};

/* What one call produced. Zero-initialised is empty; each call appends, so
 * the caller may collect several calls' worth before writing. */
struct alert_mgr_out {
    int64_t *changed; /* ids of alerts whose stored row must be rewritten */
    size_t n_changed, cap_changed;
    struct alert_note *notes;
    size_t n_notes, cap_notes;
};
void alert_mgr_out_clear(struct alert_mgr_out *o);
/* Adds id to o->changed (once): for callers that change what is stored
 * about an alert outside the manager, such as an inbound alert's end. */
void alert_mgr_out_changed(struct alert_mgr_out *o, int64_t id);

struct alert_mgr;

/* Builds the manager's routes and policies from c (borrowed: it must
 * outlive the manager, or be replaced with alert_mgr_reconfigure()). The
 * config was validated by conf_load, so failures here are -EINVAL with err
 * filled only for what validation cannot see. next_alert_id and
 * next_note_id are the first ids to hand out. */
int alert_mgr_new(const struct conf *c, int64_t next_alert_id, int64_t next_note_id,
                  struct alert_mgr **ret, struct opsd_error *err);
struct alert_mgr *alert_mgr_free(struct alert_mgr *m);

/* Swaps in a reloaded config: open alerts are re-routed into the new tree
 * as if already notified (no repeat of what receivers already heard);
 * running escalations keep their state when their policy still exists. On
 * failure the old config stays. */
int alert_mgr_reconfigure(struct alert_mgr *m, const struct conf *c, uint64_t now_ms,
                          struct alert_mgr_out *out, struct opsd_error *err);

/* Something is wrong. */
struct alert_input {
    const char *source;                /* "monitor", "api", "prometheus", ... */
    const char *monitor;               /* NULL for inbound alerts */
    const struct alert_labels *labels; /* the full label set (the caller adds alertname,
                                          monitor, severity); the fingerprint is over these */
    enum alert_severity severity;
    const char *summary;
    const char *message;
    const char *suppressed; /* maintenance or dependency: recorded, not sent; NULL: send */
    uint64_t starts_ms;     /* 0: now */
};

/* Raises (or refreshes) the alert for in's labels. An open alert with the
 * same fingerprint is updated in place (message, suppression); a change of
 * suppression from set to NULL routes it then, as if it fired now.
 * *ret_id (may be NULL) gets the alert's id. */
int alert_mgr_fire(struct alert_mgr *m, const struct alert_input *in, uint64_t now_ms,
                   int64_t *ret_id, struct alert_mgr_out *out);
/* The open alert with this fingerprint recovered. -ENOENT if none. */
int alert_mgr_resolve_fp(struct alert_mgr *m, uint64_t fingerprint, uint64_t now_ms,
                         struct alert_mgr_out *out);
/* Resolves by id (CLI/API): -ENOENT unknown or not in memory, -EALREADY
 * resolved. */
int alert_mgr_resolve_id(struct alert_mgr *m, int64_t id, const char *by, uint64_t now_ms,
                         struct alert_mgr_out *out);
/* Acknowledges: escalation stops until the ack expires. -ENOENT, -EALREADY
 * when already resolved, -EINVAL when silenced (nothing to stop). */
int alert_mgr_ack(struct alert_mgr *m, int64_t id, const char *by, uint64_t now_ms,
                  struct alert_mgr_out *out);
/* The clock reached now: flushes due groups, advances escalations. */
void alert_mgr_tick(struct alert_mgr *m, uint64_t now_ms, struct alert_mgr_out *out);
/* When tick must next run; ALERT_NEVER when nothing waits. */
uint64_t alert_mgr_next_wake(const struct alert_mgr *m);

/* Puts back an alert that was open when opsd stopped, as the store has it,
 * without a word to anyone: receivers already heard it (notified lists the
 * receivers any notification about it went to, for the resolve message).
 * Escalation restarts its waits from now at step 0, already notified. An
 * alert no receiver heard of (notified empty) is routed as if new, so what
 * was pending when opsd stopped still goes out. */
struct alert_restore {
    const struct alert_view *alert; /* copied; its labels are the full set */
    const char *const *notified;
    size_t n_notified;
};
int alert_mgr_restore(struct alert_mgr *m, const struct alert_restore *r, uint64_t now_ms,
                      struct alert_mgr_out *out, struct opsd_error *err);

/* A silence: alerts whose labels match all matchers are muted from starts
 * to ends (recorded as silenced, not sent). One that fired and was heard
 * before the silence began is muted too (no repeats, no escalation) and its
 * resolve still reaches whoever heard it; when the silence ends and it
 * still fires, it goes out unless its receivers heard it already. */
struct alert_silence_matcher {
    const char *name;
    enum alert_match_op op;
    const char *value;
};
struct alert_silence_spec {
    int64_t id;
    const struct alert_silence_matcher *matchers;
    size_t n_matchers;
    uint64_t starts_ms, ends_ms;
};
/* Replaces the silences (copied) and re-checks every open alert at now.
 * -EINVAL with err for a bad matcher; nothing changes then. */
int alert_mgr_set_silences(struct alert_mgr *m, const struct alert_silence_spec *v, size_t n,
                           uint64_t now_ms, struct alert_mgr_out *out, struct opsd_error *err);

/* Lookups; NULL when not in memory (resolved alerts leave it once every
 * group has announced them). */
const struct alert_view *alert_mgr_find_id(const struct alert_mgr *m, int64_t id);
const struct alert_view *alert_mgr_find_fp(const struct alert_mgr *m, uint64_t fingerprint);
size_t alert_mgr_open_count(const struct alert_mgr *m);
