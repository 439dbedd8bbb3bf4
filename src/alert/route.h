/* Alert routing and grouping with Alertmanager semantics, as pure logic:
 * label sets with a stable fingerprint, a route tree whose children inherit
 * what they leave unset, the depth-first walk that picks the routes taking an
 * alert, and the per-group timer state machine (group_wait, group_interval,
 * repeat_interval) on a clock the caller passes in. Sending lives in notify/. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "util/opsd_limits.h"

/* An alert carries the monitor's labels plus a few of its own (monitor,
 * severity, ...): the monitor's cap plus room for those. */
#define ALERT_MAX_LABELS (OPSD_MAX_LABELS + 8)
/* "Not set here: inherit from the parent" for the route timers. */
#define ALERT_INHERIT UINT64_MAX
/* A due time that never comes. */
#define ALERT_NEVER UINT64_MAX

/* Alertmanager's defaults, used when no route up to the root sets a timer. */
#define ALERT_DEFAULT_GROUP_WAIT_MS (30 * 1000ULL)
#define ALERT_DEFAULT_GROUP_INTERVAL_MS (5 * 60 * 1000ULL)
#define ALERT_DEFAULT_REPEAT_INTERVAL_MS (4 * 60 * 60 * 1000ULL)

/* ---- label sets ---- */

struct alert_label {
    char *name;  /* owned */
    char *value; /* owned, never empty */
};

/* Sorted by name, names unique. Zero-initialised is a valid empty set.
 * The set owns its strings; release with alert_labels_clear(). */
struct alert_labels {
    struct alert_label *v;
    size_t n, cap;
};

void alert_labels_init(struct alert_labels *ls);
void alert_labels_clear(struct alert_labels *ls);
/* Sets name to value (both copied), replacing an existing value. An empty
 * value removes the label: as in Prometheus, empty and absent are the same.
 * -EINVAL if name is not [a-zA-Z_][a-zA-Z0-9_]*, -E2BIG past ALERT_MAX_LABELS;
 * the set is unchanged on failure. */
int alert_labels_set(struct alert_labels *ls, const char *name, const char *value);
/* The value of name (borrowed from ls), or NULL when absent. */
const char *alert_labels_get(const struct alert_labels *ls, const char *name);
/* Replaces dst's contents with a copy of src. */
void alert_labels_copy(struct alert_labels *dst, const struct alert_labels *src);
/* FNV-1a 64 over "name\0value\0" for each label in order: stable across
 * runs and builds, so it can be stored. The empty set hashes to the FNV
 * offset basis. */
uint64_t alert_labels_fingerprint(const struct alert_labels *ls);

/* ---- route tree ---- */

/* Matcher operators; stored in config dumps: values never change. */
enum alert_match_op {
    ALERT_MATCH_EQ = 0,  /* =  */
    ALERT_MATCH_NE = 1,  /* != */
    ALERT_MATCH_RE = 2,  /* =~ anchored: the whole value must match */
    ALERT_MATCH_NRE = 3, /* !~ anchored */
};

struct alert_route;

/* A route that sets nothing: it inherits receiver, group_by and timers, has
 * no matchers (matches everything) and continue is false. Caller frees the
 * tree with alert_route_free() on its root. */
struct alert_route *alert_route_new(void);
/* Frees r and all its descendants. Accepts NULL; returns NULL. */
struct alert_route *alert_route_free(struct alert_route *r);
/* Appends child as parent's last child (children are tried in the order
 * added). Steals child, which must not already have a parent. */
void alert_route_add_child(struct alert_route *parent, struct alert_route *child);

/* Setters. Copies strings. NULL receiver = inherit. */
void alert_route_set_receiver(struct alert_route *r, const char *receiver);
void alert_route_set_continue(struct alert_route *r, bool cont);
/* Each ALERT_INHERIT to inherit that timer. */
void alert_route_set_timers(struct alert_route *r, uint64_t group_wait_ms,
                            uint64_t group_interval_ms, uint64_t repeat_interval_ms);
/* Sets group_by to names[0..n) (copied). A single "..." groups by all labels
 * (each distinct label set is its own group); n == 0 puts every alert of the
 * route into one group. "..." mixed with names, or an invalid name, is
 * -EINVAL with err filled and r unchanged. Never called = inherit. */
int alert_route_set_group_by(struct alert_route *r, const char *const *names, size_t n,
                             struct opsd_error *err);
/* Adds a matcher; all of a route's matchers must hold for it to match. Regexes
 * are compiled here (POSIX extended), anchored like Alertmanager's. An absent
 * label matches as "". On a bad regex or label name: -EINVAL, err filled, r
 * unchanged. */
int alert_route_add_matcher(struct alert_route *r, const char *name, enum alert_match_op op,
                            const char *value, struct opsd_error *err);

/* Parses one matcher as Alertmanager writes it: name=value, name!=value,
 * name=~regex, name!~regex; the value may be in double quotes (with \" and
 * \\ escapes). On success *ret_name and *ret_value are new strings the
 * caller frees; on failure -EINVAL with err saying what is wrong, and the
 * outputs are untouched. The regex is not compiled here. */
int alert_matcher_parse(const char *s, char **ret_name, enum alert_match_op *ret_op,
                        char **ret_value, struct opsd_error *err);
/* "=", "!=", "=~" or "!~". */
const char *alert_match_op_to_string(enum alert_match_op op);

/* Effective settings after inheritance (own value, else the nearest
 * ancestor's, else the default). Receiver: borrowed, NULL when no route up
 * to the root names one. */
const char *alert_route_receiver(const struct alert_route *r);
struct alert_route_timers {
    uint64_t group_wait_ms;
    uint64_t group_interval_ms;
    uint64_t repeat_interval_ms;
};
void alert_route_timers(const struct alert_route *r, struct alert_route_timers *ret);
bool alert_route_continue(const struct alert_route *r);

/* Checks what Alertmanager rejects at load: the root names a receiver and
 * has no matchers, and no effective group_interval or repeat_interval is 0.
 * -EINVAL with err filled on the first problem. */
int alert_route_validate(const struct alert_route *root, struct opsd_error *err);

/* Whether all of r's own matchers hold for ls (true with none), ignoring
 * its place in a tree: silences use a route as a matcher set. */
bool alert_route_matchers_hold(const struct alert_route *r, const struct alert_labels *ls);

/* Walks the tree depth-first for an alert with labels ls: a route is entered
 * only if its matchers hold (the root always is); its children are tried in
 * order, the first match ends the search unless that child has continue set;
 * a route none of whose children match takes the alert itself. Writes up to
 * max routes (borrowed from the tree) to out in walk order and returns how
 * many took the alert, which may exceed max (call again with more room). */
size_t alert_route_match(const struct alert_route *root, const struct alert_labels *ls,
                         const struct alert_route **out, size_t max);

/* ---- groups ---- */

/* Fills ret (cleared first) with the labels of ls that r groups by. */
void alert_route_group_labels(const struct alert_route *r, const struct alert_labels *ls,
                              struct alert_labels *ret);
/* The key of the group an alert with labels ls joins under route r: a hash
 * of r's position in the tree and of the group labels, stable across
 * restarts for an unchanged config, so the caller's map can be looked up (and
 * stored) by it. */
uint64_t alert_route_group_key(const struct alert_route *r, const struct alert_labels *ls);

/* One aggregation group: the alerts (by fingerprint) that one route groups
 * together, and when the receiver must next hear about them:
 *   - never sent yet:  created + group_wait (if anything fires);
 *   - something new:   last_sent + group_interval (a newly firing alert, or
 *                      a firing alert the receiver saw resolve);
 *   - nothing new:     last_sent + repeat_interval (while anything fires).
 * An alert that resolves before the receiver heard it fire is dropped without
 * a word; one that resolves after is sent once as resolved, then dropped.
 * When the group is empty the caller frees it. */
struct alert_group;

/* A group for route r (borrowed: it must outlive the group) holding alerts
 * labelled like ls, created at now_ms; timers are taken from r now, so a
 * later change to r does not move them. Caller frees with alert_group_free(). */
struct alert_group *alert_group_new(const struct alert_route *r, const struct alert_labels *ls,
                                    uint64_t now_ms);
struct alert_group *alert_group_free(struct alert_group *g);
const struct alert_route *alert_group_route(const struct alert_group *g);
/* The group's labels (the group_by subset), borrowed. */
const struct alert_labels *alert_group_labels(const struct alert_group *g);
uint64_t alert_group_key(const struct alert_group *g);

/* An alert of the group fired (resolved false) or resolved (true) at now_ms;
 * repeats are harmless. Returns true when this changes what the receiver
 * will be told, i.e. when the due time may have moved. Resolving an alert
 * the group does not hold is a no-op. */
bool alert_group_put(struct alert_group *g, uint64_t fingerprint, bool resolved, uint64_t now_ms);
/* Puts back a firing alert the receiver already heard of (after a restart
 * or a reload), as if a notification holding it went out at sent_ms: no
 * new message for it until something changes or repeat_interval passes. */
void alert_group_restore(struct alert_group *g, uint64_t fingerprint, uint64_t sent_ms);
/* Takes the alert out of the group without a word to the receiver (it was
 * silenced after it fired: it is muted, not over). */
void alert_group_remove(struct alert_group *g, uint64_t fingerprint);
/* Whether the group still holds the alert (firing, or resolved and not yet
 * announced). */
bool alert_group_holds(const struct alert_group *g, uint64_t fingerprint);
/* When the group must next be flushed, or ALERT_NEVER. */
uint64_t alert_group_next_due(const struct alert_group *g);
bool alert_group_is_empty(const struct alert_group *g);

/* What one notification says: all firing alerts of the group and those newly
 * resolved, each sorted by fingerprint. Owns its arrays; release with
 * alert_batch_clear(). */
struct alert_batch {
    uint64_t *firing;
    size_t n_firing;
    uint64_t *resolved;
    size_t n_resolved;
};
void alert_batch_clear(struct alert_batch *b);

/* The clock reached now_ms. If the group is due, fills *ret (which the
 * caller then owns), records the notification as sent at now_ms (dropping
 * the resolved alerts in it) and returns 1; otherwise returns 0 and leaves
 * *ret untouched. */
int alert_group_tick(struct alert_group *g, uint64_t now_ms, struct alert_batch *ret);
