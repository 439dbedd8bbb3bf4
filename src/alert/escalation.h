/* Escalation policies and the per-alert state machine that walks them.
 *
 * Pure logic: every function takes the current time from the caller and
 * returns the notifications to send plus the time it next needs a tick().
 * Nothing here sends anything, reads a clock or logs. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* "No wake-up needed": the state is waiting for an outside event. */
#define ALERT_NO_WAKE UINT64_MAX
/* How long an ack holds before escalation restarts if the alert still fires
 * (PagerDuty's default): an ack nobody follows up on must not silence a
 * still-burning alert forever. */
#define ALERT_ACK_TIMEOUT_DEFAULT_MS (30ull * 60 * 1000)
#define ALERT_POLICY_MAX_STEPS 32
#define ALERT_POLICY_MAX_RECEIVERS 64 /* per step */
#define ALERT_POLICY_MAX_REPEAT 100

/* Stored and sent over the API: values never change meaning, only grow. */
enum alert_severity {
    ALERT_SEV_CRITICAL = 1,
    ALERT_SEV_HIGH = 2,
    ALERT_SEV_MEDIUM = 3,
    ALERT_SEV_LOW = 4,
};

enum alert_channel {
    ALERT_CHANNEL_PAGE = 1,   /* wake someone up */
    ALERT_CHANNEL_TICKET = 2, /* goes into a queue worked in office hours */
};

const char *alert_severity_to_string(enum alert_severity s);
int alert_severity_from_string(const char *s, enum alert_severity *ret_sev);

struct alert_step {
    char **receivers; /* owned */
    size_t n_receivers;
    uint64_t wait_ms; /* how long to wait for an ack before the next step */
};

struct alert_policy {
    struct alert_step *steps; /* owned, in order */
    size_t n_steps;
    unsigned repeat; /* extra passes over all steps after the first one */
    enum alert_channel channel;
    /* Response target from the severity table, for display and SLAs; 0 with
     * next_business_day means "next business day", which needs a calendar
     * the caller owns. */
    uint64_t respond_within_ms;
    bool next_business_day;
};

/* An empty policy (no steps, repeat 0, channel page); free with
 * alert_policy_free(). */
struct alert_policy *alert_policy_new(void);
/* NULL in, NULL out. */
struct alert_policy *alert_policy_free(struct alert_policy *p);
/* Appends a step notifying receivers (copied) and waiting wait_ms for an
 * ack. -EINVAL for no receivers or an empty name, -E2BIG past the caps. */
int alert_policy_add_step(struct alert_policy *p, const char *const *receivers, size_t n,
                          uint64_t wait_ms, struct opsd_error *err);

/* The default policy for a severity, after the handbooks' alerting table:
 *   critical  page now, re-page every 5 min (the response target) twice more
 *   high      page now, re-page once if not acked in 15 min
 *   medium    one ticket now (respond within 1 h), no re-notification
 *   low       one ticket now (respond next business day)
 * Every step notifies all receivers (copied). *ret_policy is left alone on
 * failure; the caller frees it with alert_policy_free(). */
int alert_policy_default(enum alert_severity sev, const char *const *receivers, size_t n,
                         struct alert_policy **ret_policy, struct opsd_error *err);

/* Stored: values only grow. */
enum alert_esc_phase {
    ALERT_ESC_IDLE = 0,      /* not started */
    ALERT_ESC_ACTIVE = 1,    /* walking the steps */
    ALERT_ESC_ACKED = 2,     /* someone owns it; until the ack expires */
    ALERT_ESC_EXHAUSTED = 3, /* all steps and repeats done, nobody acked */
    ALERT_ESC_RESOLVED = 4,
};

/* Why a notification goes out. Sent to notifiers: values only grow. */
enum alert_reason {
    ALERT_REASON_FIRING = 1,      /* start(): step 0 */
    ALERT_REASON_ESCALATED = 2,   /* a step's wait passed without an ack */
    ALERT_REASON_REPEATED = 3,    /* the last step passed, starting over at step 0 */
    ALERT_REASON_ACK_EXPIRED = 4, /* the ack timed out and the alert still fires */
    ALERT_REASON_RESOLVED = 5,    /* to everyone ever notified */
};

const char *alert_reason_to_string(enum alert_reason r);

struct alert_action {
    enum alert_reason reason;
    size_t step;   /* the step notified (0 for resolves) */
    unsigned pass; /* 0 for the first pass over the steps */
    /* Borrowed from the policy or the state: valid until the next call on
     * the state or until the policy is freed. */
    const char *const *receivers;
    size_t n_receivers;
    uint64_t at_ms; /* when it was due (may be < now on a late tick) */
};

/* What one event produced. Reset by every call that fills it. */
struct alert_esc_out {
    struct alert_action *actions;
    size_t n, cap;
    uint64_t next_wake_ms; /* ALERT_NO_WAKE when nothing is scheduled */
};

void alert_esc_out_release(struct alert_esc_out *out);

struct alert_esc {
    const struct alert_policy *policy; /* borrowed; must outlive the state */
    enum alert_esc_phase phase;
    size_t step;
    unsigned pass;
    uint64_t step_at_ms;   /* when the current step was due */
    uint64_t ack_until_ms; /* in ALERT_ESC_ACKED */
    char **notified;       /* owned copies, unique, in first-notified order */
    size_t n_notified, cap_notified;
};

/* Borrows policy. Release with alert_esc_release(). */
void alert_esc_init(struct alert_esc *e, const struct alert_policy *policy);
void alert_esc_release(struct alert_esc *e);

/* The alert started firing: notifies step 0 now. Also valid after a
 * resolve (a new firing, with a fresh notified set). -EALREADY while it
 * fires, -EINVAL for a policy without steps. */
int alert_esc_start(struct alert_esc *e, uint64_t now_ms, struct alert_esc_out *out);
/* Advances past every wait that has elapsed by now. Deadlines are kept on
 * the schedule (step N+1 is due at step N's due time + wait) rather than at
 * "now", so a late tick changes when messages go out, not the policy. A
 * tick with nothing due returns 0 and no actions. */
int alert_esc_tick(struct alert_esc *e, uint64_t now_ms, struct alert_esc_out *out);
/* Stops escalating until now + ack_timeout_ms (0 = the 30 min default);
 * acking again extends. -EINVAL when the alert does not fire. */
int alert_esc_ack(struct alert_esc *e, uint64_t now_ms, uint64_t ack_timeout_ms,
                  struct alert_esc_out *out);
/* Stops for good and notifies every receiver ever notified, acked or not:
 * whoever was woken up must learn that it is over. -EINVAL if it never
 * started, -EALREADY if already resolved. */
int alert_esc_resolve(struct alert_esc *e, uint64_t now_ms, struct alert_esc_out *out);
