/* Escalation policies and the per-alert state machine that walks them. */
#include "alert/escalation.h"

#include <string.h>
#include <strings.h>

#include "util/cleanup.h"
#include "util/xalloc.h"

static const char *const severity_names[] = {
    [ALERT_SEV_CRITICAL] = "critical",
    [ALERT_SEV_HIGH] = "high",
    [ALERT_SEV_MEDIUM] = "medium",
    [ALERT_SEV_LOW] = "low",
};

static const char *const reason_names[] = {
    [ALERT_REASON_FIRING] = "firing",     [ALERT_REASON_ESCALATED] = "escalated",
    [ALERT_REASON_REPEATED] = "repeated", [ALERT_REASON_ACK_EXPIRED] = "ack-expired",
    [ALERT_REASON_RESOLVED] = "resolved",
};

const char *alert_severity_to_string(enum alert_severity s)
{
    if ((size_t)s >= ARRAY_SIZE(severity_names) || !severity_names[s])
        return NULL;
    return severity_names[s];
}

int alert_severity_from_string(const char *s, enum alert_severity *ret_sev)
{
    for (size_t i = 0; i < ARRAY_SIZE(severity_names); i++) {
        if (severity_names[i] && strcasecmp(s, severity_names[i]) == 0) {
            *ret_sev = (enum alert_severity)i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *alert_reason_to_string(enum alert_reason r)
{
    if ((size_t)r >= ARRAY_SIZE(reason_names) || !reason_names[r])
        return NULL;
    return reason_names[r];
}

struct alert_policy *alert_policy_new(void)
{
    struct alert_policy *p = xcalloc(1, sizeof(*p));

    p->channel = ALERT_CHANNEL_PAGE;
    return p;
}

struct alert_policy *alert_policy_free(struct alert_policy *p)
{
    if (!p)
        return NULL;
    for (size_t i = 0; i < p->n_steps; i++) {
        for (size_t j = 0; j < p->steps[i].n_receivers; j++)
            free(p->steps[i].receivers[j]);
        free(p->steps[i].receivers);
    }
    free(p->steps);
    free(p);
    return NULL;
}

static void policy_freep(struct alert_policy **p)
{
    alert_policy_free(*p);
}

int alert_policy_add_step(struct alert_policy *p, const char *const *receivers, size_t n,
                          uint64_t wait_ms, struct opsd_error *err)
{
    struct alert_step *s;

    if (n == 0)
        return opsd_errorf(err, -EINVAL, "escalation step %zu has no receivers", p->n_steps);
    if (p->n_steps >= ALERT_POLICY_MAX_STEPS)
        return opsd_errorf(err, -E2BIG, "too many escalation steps (max %d)",
                           ALERT_POLICY_MAX_STEPS);
    if (n > ALERT_POLICY_MAX_RECEIVERS)
        return opsd_errorf(err, -E2BIG, "escalation step %zu has too many receivers (max %d)",
                           p->n_steps, ALERT_POLICY_MAX_RECEIVERS);
    for (size_t i = 0; i < n; i++)
        if (!receivers[i] || !receivers[i][0])
            return opsd_errorf(err, -EINVAL, "escalation step %zu: receiver %zu has no name",
                               p->n_steps, i);

    /* Growing by one is fine: policies are built once, at config load. */
    p->steps = xrealloc(p->steps, (p->n_steps + 1) * sizeof(*p->steps));
    s = &p->steps[p->n_steps++];
    s->receivers = xcalloc(n, sizeof(*s->receivers));
    for (size_t i = 0; i < n; i++)
        s->receivers[i] = xstrdup(receivers[i]);
    s->n_receivers = n;
    s->wait_ms = wait_ms;
    return 0;
}

int alert_policy_default(enum alert_severity sev, const char *const *receivers, size_t n,
                         struct alert_policy **ret_policy, struct opsd_error *err)
{
    _cleanup_(policy_freep) struct alert_policy *p = NULL;
    const uint64_t min = 60 * 1000;
    uint64_t wait;
    int r;

    p = alert_policy_new();
    switch (sev) {
    case ALERT_SEV_CRITICAL:
        /* "Immediate page", 5 min response: a page nobody answers within
         * the response target is as good as lost, so page again. */
        wait = 5 * min;
        p->repeat = 2;
        p->respond_within_ms = 5 * min;
        break;
    case ALERT_SEV_HIGH:
        /* "Page if not ack'd" within the 15 min response target. */
        wait = 15 * min;
        p->repeat = 1;
        p->respond_within_ms = 15 * min;
        break;
    case ALERT_SEV_MEDIUM:
        p->channel = ALERT_CHANNEL_TICKET;
        wait = 0; /* a ticket stays in the queue: no reminders */
        p->respond_within_ms = 60 * min;
        break;
    case ALERT_SEV_LOW:
        p->channel = ALERT_CHANNEL_TICKET;
        wait = 0;
        p->next_business_day = true;
        break;
    default:
        return opsd_errorf(err, -EINVAL, "unknown severity %d", (int)sev);
    }
    r = alert_policy_add_step(p, receivers, n, wait, err);
    if (r < 0)
        return r;
    *ret_policy = steal_ptr(p);
    return 0;
}

void alert_esc_out_release(struct alert_esc_out *out)
{
    free(out->actions);
    *out = (struct alert_esc_out){ .next_wake_ms = ALERT_NO_WAKE };
}

static void out_reset(struct alert_esc_out *out)
{
    out->n = 0;
    out->next_wake_ms = ALERT_NO_WAKE;
}

static void out_push(struct alert_esc_out *out, enum alert_reason reason, size_t step,
                     unsigned pass, const char *const *receivers, size_t n, uint64_t at_ms)
{
    void *v = out->actions;

    xgrow(&v, &out->cap, out->n + 1, sizeof(*out->actions));
    out->actions = v;
    out->actions[out->n++] = (struct alert_action){
        .reason = reason,
        .step = step,
        .pass = pass,
        .receivers = receivers,
        .n_receivers = n,
        .at_ms = at_ms,
    };
}

void alert_esc_init(struct alert_esc *e, const struct alert_policy *policy)
{
    *e = (struct alert_esc){ .policy = policy, .phase = ALERT_ESC_IDLE };
}

static void forget_notified(struct alert_esc *e)
{
    for (size_t i = 0; i < e->n_notified; i++)
        free(e->notified[i]);
    e->n_notified = 0;
}

void alert_esc_release(struct alert_esc *e)
{
    forget_notified(e);
    free(e->notified);
    e->notified = NULL;
    e->cap_notified = 0;
}

static void remember(struct alert_esc *e, const char *name)
{
    void *v = e->notified;

    /* Linear: a handful of receivers per alert, capped by the policy. */
    for (size_t i = 0; i < e->n_notified; i++)
        if (strcmp(e->notified[i], name) == 0)
            return;
    xgrow(&v, &e->cap_notified, e->n_notified + 1, sizeof(*e->notified));
    e->notified = v;
    e->notified[e->n_notified++] = xstrdup(name);
}

/* Notifies the current step, due at at_ms. */
static void notify_step(struct alert_esc *e, enum alert_reason reason, uint64_t at_ms,
                        struct alert_esc_out *out)
{
    const struct alert_step *s = &e->policy->steps[e->step];

    for (size_t i = 0; i < s->n_receivers; i++)
        remember(e, s->receivers[i]);
    e->step_at_ms = at_ms;
    out_push(out, reason, e->step, e->pass, (const char *const *)s->receivers, s->n_receivers,
             at_ms);
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t step_deadline(const struct alert_esc *e)
{
    return add_sat(e->step_at_ms, e->policy->steps[e->step].wait_ms);
}

/* Walks every step whose wait has passed by now, then sets the wake-up. */
static void advance(struct alert_esc *e, uint64_t now_ms, struct alert_esc_out *out)
{
    const struct alert_policy *p = e->policy;

    /* Terminates: each turn moves (pass, step) forward and there are at
     * most (repeat + 1) * n_steps of them. */
    while (e->phase == ALERT_ESC_ACTIVE) {
        uint64_t due = step_deadline(e);

        if (due > now_ms || due == UINT64_MAX)
            break;
        if (e->step + 1 < p->n_steps) {
            e->step++;
            notify_step(e, ALERT_REASON_ESCALATED, due, out);
        } else if (e->pass < p->repeat) {
            e->pass++;
            e->step = 0;
            notify_step(e, ALERT_REASON_REPEATED, due, out);
        } else {
            e->phase = ALERT_ESC_EXHAUSTED;
        }
    }
    if (e->phase == ALERT_ESC_ACTIVE)
        out->next_wake_ms = step_deadline(e);
    else if (e->phase == ALERT_ESC_ACKED)
        out->next_wake_ms = e->ack_until_ms;
    else
        out->next_wake_ms = ALERT_NO_WAKE;
}

int alert_esc_start(struct alert_esc *e, uint64_t now_ms, struct alert_esc_out *out)
{
    out_reset(out);
    if (!e->policy || e->policy->n_steps == 0)
        return -EINVAL;
    if (e->phase != ALERT_ESC_IDLE && e->phase != ALERT_ESC_RESOLVED)
        return -EALREADY;
    forget_notified(e);
    e->phase = ALERT_ESC_ACTIVE;
    e->step = 0;
    e->pass = 0;
    notify_step(e, ALERT_REASON_FIRING, now_ms, out);
    advance(e, now_ms, out);
    return 0;
}

int alert_esc_tick(struct alert_esc *e, uint64_t now_ms, struct alert_esc_out *out)
{
    out_reset(out);
    if (e->phase == ALERT_ESC_ACKED && now_ms >= e->ack_until_ms) {
        /* The owner went quiet and the alert still fires: start over so
         * somebody is woken up again. */
        e->phase = ALERT_ESC_ACTIVE;
        e->step = 0;
        e->pass = 0;
        notify_step(e, ALERT_REASON_ACK_EXPIRED, e->ack_until_ms, out);
    }
    advance(e, now_ms, out);
    return 0;
}

int alert_esc_ack(struct alert_esc *e, uint64_t now_ms, uint64_t ack_timeout_ms,
                  struct alert_esc_out *out)
{
    out_reset(out);
    if (e->phase == ALERT_ESC_IDLE || e->phase == ALERT_ESC_RESOLVED)
        return -EINVAL;
    if (ack_timeout_ms == 0)
        ack_timeout_ms = ALERT_ACK_TIMEOUT_DEFAULT_MS;
    e->phase = ALERT_ESC_ACKED;
    e->ack_until_ms = add_sat(now_ms, ack_timeout_ms);
    out->next_wake_ms = e->ack_until_ms;
    return 0;
}

int alert_esc_resolve(struct alert_esc *e, uint64_t now_ms, struct alert_esc_out *out)
{
    out_reset(out);
    if (e->phase == ALERT_ESC_IDLE)
        return -EINVAL;
    if (e->phase == ALERT_ESC_RESOLVED)
        return -EALREADY;
    e->phase = ALERT_ESC_RESOLVED;
    if (e->n_notified > 0)
        out_push(out, ALERT_REASON_RESOLVED, 0, e->pass, (const char *const *)e->notified,
                 e->n_notified, now_ms);
    return 0;
}
