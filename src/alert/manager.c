/* The alert manager: open alerts, their routes, groups and escalations, on
 * a clock the caller passes in. See manager.h for the contract. */
#include "alert/manager.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/xalloc.h"

/* Acks that never expire still need a deadline the state machine can hold. */
#define ACK_FOREVER_MS (100ULL * 365 * 24 * 3600 * 1000)

static const char *const state_names[] = {
    [ALERT_STATE_FIRING] = "firing",
    [ALERT_STATE_ACKED] = "acknowledged",
    [ALERT_STATE_RESOLVED] = "resolved",
    [ALERT_STATE_SILENCED] = "silenced",
};

const char *alert_state_to_string(enum alert_state s)
{
    if ((size_t)s < sizeof(state_names) / sizeof(state_names[0]) && state_names[s])
        return state_names[s];
    return "unknown";
}

int alert_state_from_string(const char *s, enum alert_state *ret)
{
    for (size_t i = 1; i < sizeof(state_names) / sizeof(state_names[0]); i++)
        if (state_names[i] && s && strcmp(s, state_names[i]) == 0) {
            *ret = (enum alert_state)i;
            return 0;
        }
    return -EINVAL;
}

/* A route of the tree with what the alert module's route does not carry. */
struct rinfo {
    const struct alert_route *r;
    const char *escalation; /* effective (inherited), borrowed from the conf; NULL: none */
};

/* A built policy: by name for the config's, by (receiver, severity) for the
 * built-in default of the severity table. */
struct pinfo {
    char *name;
    char *receiver; /* built-in default only */
    enum alert_severity sev;
    struct alert_policy *p;
    uint64_t ack_timeout_ms;
};

/* One route an alert took: a group, or an escalation of its own. */
struct taken {
    size_t route;
    uint64_t group_key;    /* grouped routes */
    struct alert_esc *esc; /* escalated routes; owned */
    uint64_t esc_wake;
    char *policy_name; /* to keep the state across a reload */
};

struct ralert {
    struct alert_view v;
    struct alert_labels labels;
    char *monitor, *source, *summary, *message, *suppressed, *acked_by, *review_by;
    char *held;      /* the caller's reason (maintenance, dependency), or NULL */
    int64_t silence; /* the active silence muting it, or 0 */
    bool open;
    bool routed;  /* put into its routes (false while suppressed) */
    bool heard;   /* some notification announced it firing */
    bool gc_keep; /* gc()'s verdict, between its two passes */
    struct taken *taken;
    size_t n_taken;
    char **notified; /* receivers told about it through groups (for restore/reload) */
    size_t n_notified;
};

struct msilence {
    int64_t id;
    struct alert_route *matchers; /* a route used only for its matchers */
    uint64_t starts_ms, ends_ms;
};

struct mgroup {
    uint64_t key;
    size_t route;
    struct alert_group *g;
};

struct alert_mgr {
    const struct conf *conf;
    struct alert_route *root;
    struct rinfo *routes;
    size_t n_routes;
    struct pinfo *policies;
    size_t n_policies;
    struct ralert **all; /* open and resolved-but-unannounced, in id order */
    size_t n_all, cap_all;
    struct mgroup *groups; /* sorted by key */
    size_t n_groups, cap_groups;
    int64_t next_alert_id, next_note_id;
    bool gc_due;
    struct msilence *silences;
    size_t n_silences;
    uint64_t now_seen; /* the latest time a call brought: silence edges before it are past */
};

/* ---- small helpers ---- */

static void strv_add_unique(char ***v, size_t *n, const char *s)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*v)[i], s) == 0)
            return;
    *v = xrealloc(*v, (*n + 1) * sizeof(**v));
    (*v)[(*n)++] = xstrdup(s);
}

static void strv_free_n(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void set_str(char **dst, const char *src)
{
    if (*dst && src && strcmp(*dst, src) == 0)
        return;
    free(*dst);
    *dst = xstrdup(src);
}

static void view_sync(struct ralert *a)
{
    a->v.labels = &a->labels;
    a->v.monitor = a->monitor;
    a->v.source = a->source;
    a->v.summary = a->summary;
    a->v.message = a->message;
    a->v.suppressed = a->suppressed;
    a->v.acked_by = a->acked_by;
    a->v.review_by = a->review_by;
}

void alert_mgr_out_changed(struct alert_mgr_out *o, int64_t id)
{
    for (size_t i = 0; i < o->n_changed; i++)
        if (o->changed[i] == id)
            return;
    xgrow((void **)&o->changed, &o->cap_changed, o->n_changed + 1, sizeof(o->changed[0]));
    o->changed[o->n_changed++] = id;
}

void alert_mgr_out_clear(struct alert_mgr_out *o)
{
    for (size_t i = 0; i < o->n_notes; i++) {
        struct alert_note *n = &o->notes[i];
        free(n->receiver);
        free(n->group_key);
        free(n->idempotency_key);
        alert_labels_clear(&n->group_labels);
        free(n->alert_ids);
        free(n->resolved);
    }
    free(o->notes);
    free(o->changed);
    *o = (struct alert_mgr_out){ 0 };
}

static uint64_t fnv(uint64_t h, const char *s)
{
    for (; s && *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    h ^= 0xff;
    return h * 0x100000001b3ULL;
}

/* Appends a note; the caller fills its alerts. */
static struct alert_note *note_new(struct alert_mgr *m, struct alert_mgr_out *o,
                                   const char *receiver, const char *reason, const char *group_key,
                                   uint64_t now_ms)
{
    struct alert_note *n;
    char buf[32];
    uint64_t h = 0xcbf29ce484222325ULL;

    xgrow((void **)&o->notes, &o->cap_notes, o->n_notes + 1, sizeof(o->notes[0]));
    n = &o->notes[o->n_notes++];
    *n = (struct alert_note){ 0 };
    n->id = m->next_note_id++;
    n->receiver = xstrdup(receiver);
    n->reason = reason;
    n->group_key = xstrdup(group_key);
    /* Unique per notification and the same on every retry of it; the hash
     * of what it is about keeps keys of two opsd instances sharing a
     * receiver apart even when their ids collide. */
    snprintf(buf, sizeof(buf), "%" PRIu64, now_ms);
    h = fnv(fnv(fnv(fnv(h, receiver), group_key), reason), buf);
    n->idempotency_key = xasprintf("opsd-%016" PRIx64 "-%" PRId64, h, n->id);
    return n;
}

static void note_add_alert(struct alert_note *n, int64_t id, bool resolved)
{
    n->alert_ids = xrealloc(n->alert_ids, (n->n_alerts + 1) * sizeof(n->alert_ids[0]));
    n->resolved = xrealloc(n->resolved, (n->n_alerts + 1) * sizeof(n->resolved[0]));
    n->alert_ids[n->n_alerts] = id;
    n->resolved[n->n_alerts] = resolved;
    n->n_alerts++;
}

/* ---- building routes and policies from the config ---- */

static enum alert_match_op match_op(enum conf_match_op op)
{
    switch (op) {
    case CONF_MATCH_NE:
        return ALERT_MATCH_NE;
    case CONF_MATCH_RE:
        return ALERT_MATCH_RE;
    case CONF_MATCH_NRE:
        return ALERT_MATCH_NRE;
    case CONF_MATCH_EQ:
        break;
    }
    return ALERT_MATCH_EQ;
}

static void route_freep(struct alert_route **r)
{
    alert_route_free(*r);
}

static int build_route(struct alert_mgr *m, const struct conf_route *cr, const char *parent_esc,
                       struct alert_route **ret, struct opsd_error *err)
{
    _cleanup_(route_freep) struct alert_route *r = alert_route_new();
    const char *esc = cr->escalation ? cr->escalation : parent_esc;
    int rc;

    alert_route_set_receiver(r, cr->receiver);
    alert_route_set_continue(r, cr->continue_);
    alert_route_set_timers(r, cr->group_wait_ms, cr->group_interval_ms, cr->repeat_interval_ms);
    if (cr->has_group_by) {
        rc = alert_route_set_group_by(r, (const char *const *)cr->group_by, cr->n_group_by, err);
        if (rc < 0)
            return rc;
    }
    for (size_t i = 0; i < cr->n_matchers; i++) {
        rc = alert_route_add_matcher(r, cr->matchers[i].name, match_op(cr->matchers[i].op),
                                     cr->matchers[i].value, err);
        if (rc < 0)
            return rc;
    }
    m->routes = xrealloc(m->routes, (m->n_routes + 1) * sizeof(m->routes[0]));
    m->routes[m->n_routes++] = (struct rinfo){ .r = r, .escalation = esc };
    for (size_t i = 0; i < cr->n_routes; i++) {
        struct alert_route *child = NULL;
        rc = build_route(m, &cr->routes[i], esc, &child, err);
        if (rc < 0)
            return rc;
        alert_route_add_child(r, child);
    }
    *ret = steal_ptr(r);
    return 0;
}

static void policies_free(struct pinfo *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].receiver);
        alert_policy_free(v[i].p);
    }
    free(v);
}

static int build_policies(struct alert_mgr *m, const struct conf *c, struct opsd_error *err)
{
    for (size_t i = 0; i < c->n_policies; i++) {
        const struct conf_policy *cp = &c->policies[i];
        struct alert_policy *p = alert_policy_new();
        int rc;

        p->repeat = cp->repeat;
        for (size_t j = 0; j < cp->n_steps; j++) {
            rc = alert_policy_add_step(p, (const char *const *)cp->steps[j].notify,
                                       cp->steps[j].n_notify, cp->steps[j].wait_ms, err);
            if (rc < 0) {
                alert_policy_free(p);
                return rc;
            }
        }
        m->policies = xrealloc(m->policies, (m->n_policies + 1) * sizeof(m->policies[0]));
        m->policies[m->n_policies++] = (struct pinfo){
            .name = xstrdup(cp->name),
            .p = p,
            .ack_timeout_ms = cp->ack_timeout_ms ? cp->ack_timeout_ms : ACK_FOREVER_MS,
        };
    }
    return 0;
}

/* The policy an escalated route uses for an alert: the config's by name, or
 * for an undefined "default" the severity table's, paging the route's
 * receiver. NULL when neither applies. */
static struct pinfo *policy_for(struct alert_mgr *m, const char *name, const char *receiver,
                                enum alert_severity sev)
{
    struct alert_policy *p = NULL;
    struct opsd_error err = { 0 };

    for (size_t i = 0; i < m->n_policies; i++)
        if (!m->policies[i].receiver && strcmp(m->policies[i].name, name) == 0)
            return &m->policies[i];
    if (strcmp(name, "default") != 0 || !receiver)
        return NULL;
    for (size_t i = 0; i < m->n_policies; i++)
        if (m->policies[i].receiver && m->policies[i].sev == sev &&
            strcmp(m->policies[i].receiver, receiver) == 0)
            return &m->policies[i];
    if (alert_policy_default(sev, &receiver, 1, &p, &err) < 0)
        return NULL;
    m->policies = xrealloc(m->policies, (m->n_policies + 1) * sizeof(m->policies[0]));
    m->policies[m->n_policies] = (struct pinfo){
        .name = xstrdup(name),
        .receiver = xstrdup(receiver),
        .sev = sev,
        .p = p,
        .ack_timeout_ms = ALERT_ACK_TIMEOUT_DEFAULT_MS,
    };
    return &m->policies[m->n_policies++];
}

static void routes_free(struct alert_mgr *m)
{
    m->root = alert_route_free(m->root);
    free(m->routes);
    m->routes = NULL;
    m->n_routes = 0;
}

static size_t route_index(const struct alert_mgr *m, const struct alert_route *r)
{
    for (size_t i = 0; i < m->n_routes; i++)
        if (m->routes[i].r == r)
            return i;
    return SIZE_MAX;
}

/* ---- groups ---- */

static size_t group_find(const struct alert_mgr *m, uint64_t key, bool *found)
{
    size_t lo = 0, hi = m->n_groups;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->groups[mid].key < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < m->n_groups && m->groups[lo].key == key;
    return lo;
}

static struct alert_group *group_get(struct alert_mgr *m, size_t route,
                                     const struct alert_labels *ls, uint64_t now_ms,
                                     uint64_t *ret_key)
{
    const struct alert_route *r = m->routes[route].r;
    uint64_t key = alert_route_group_key(r, ls);
    bool found;
    size_t i = group_find(m, key, &found);

    *ret_key = key;
    if (found)
        return m->groups[i].g;
    xgrow((void **)&m->groups, &m->cap_groups, m->n_groups + 1, sizeof(m->groups[0]));
    memmove(&m->groups[i + 1], &m->groups[i], (m->n_groups - i) * sizeof(m->groups[0]));
    m->groups[i] =
        (struct mgroup){ .key = key, .route = route, .g = alert_group_new(r, ls, now_ms) };
    m->n_groups++;
    return m->groups[i].g;
}

static struct alert_group *group_by_key(struct alert_mgr *m, uint64_t key)
{
    bool found;
    size_t i = group_find(m, key, &found);

    return found ? m->groups[i].g : NULL;
}

/* ---- alerts ---- */

static struct ralert *find_open_fp(const struct alert_mgr *m, uint64_t fp)
{
    for (size_t i = m->n_all; i-- > 0;)
        if (m->all[i]->open && m->all[i]->v.fingerprint == fp)
            return m->all[i];
    return NULL;
}

/* The alert a group's entry stands for: the open one, else the newest
 * resolved one with that fingerprint. */
static struct ralert *find_any_fp(const struct alert_mgr *m, uint64_t fp)
{
    struct ralert *a = find_open_fp(m, fp);

    if (a)
        return a;
    for (size_t i = m->n_all; i-- > 0;)
        if (m->all[i]->v.fingerprint == fp)
            return m->all[i];
    return NULL;
}

static struct ralert *find_id(const struct alert_mgr *m, int64_t id)
{
    size_t lo = 0, hi = m->n_all;

    /* ids grow with insertion, so m->all is sorted by id */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->all[mid]->v.id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < m->n_all && m->all[lo]->v.id == id ? m->all[lo] : NULL;
}

static void taken_release(struct taken *t)
{
    if (t->esc) {
        alert_esc_release(t->esc);
        free(t->esc);
    }
    free(t->policy_name);
    *t = (struct taken){ 0 };
}

static void ralert_free(struct ralert *a)
{
    if (!a)
        return;
    alert_labels_clear(&a->labels);
    free(a->monitor);
    free(a->source);
    free(a->summary);
    free(a->message);
    free(a->suppressed);
    free(a->held);
    free(a->acked_by);
    free(a->review_by);
    for (size_t i = 0; i < a->n_taken; i++)
        taken_release(&a->taken[i]);
    free(a->taken);
    strv_free_n(a->notified, a->n_notified);
    free(a);
}

static void add_alert(struct alert_mgr *m, struct ralert *a)
{
    size_t i = m->n_all;

    xgrow((void **)&m->all, &m->cap_all, m->n_all + 1, sizeof(struct ralert *));
    /* restored alerts come in any order; keep m->all sorted by id */
    while (i > 0 && m->all[i - 1]->v.id > a->v.id)
        i--;
    memmove(&m->all[i + 1], &m->all[i], (m->n_all - i) * sizeof(struct ralert *));
    m->all[i] = a;
    m->n_all++;
}

/* Turns escalation actions into one single-alert note per receiver. */
static void esc_actions(struct alert_mgr *m, struct ralert *a, const struct alert_esc_out *eo,
                        uint64_t now_ms, struct alert_mgr_out *out)
{
    char key[40];

    snprintf(key, sizeof(key), "esc-%" PRId64, a->v.id);
    for (size_t i = 0; i < eo->n; i++) {
        const struct alert_action *ac = &eo->actions[i];
        bool resolved = ac->reason == ALERT_REASON_RESOLVED;
        for (size_t j = 0; j < ac->n_receivers; j++) {
            struct alert_note *n =
                note_new(m, out, ac->receivers[j], alert_reason_to_string(ac->reason), key, now_ms);
            note_add_alert(n, a->v.id, resolved);
            if (!resolved)
                a->heard = true;
        }
    }
}

/* Puts an unsuppressed alert into the routes it matches. already_heard: the
 * receivers heard it fire (restore, reload): group it as sent, and start
 * escalations as if step 0 had gone out. */
static void route_alert(struct alert_mgr *m, struct ralert *a, bool already_heard,
                        const char *const *notified, size_t n_notified, uint64_t now_ms,
                        struct alert_mgr_out *out)
{
    const struct alert_route *hits[64];
    size_t n;

    a->routed = true;
    if (!m->root)
        return;
    n = alert_route_match(m->root, &a->labels, hits, 64);
    if (n > 64)
        n = 64;
    for (size_t i = 0; i < n; i++) {
        size_t ri = route_index(m, hits[i]);
        const struct rinfo *info;
        struct taken t = { .route = ri };

        if (ri == SIZE_MAX)
            continue;
        info = &m->routes[ri];
        if (info->escalation) {
            struct pinfo *pi =
                policy_for(m, info->escalation, alert_route_receiver(info->r), a->v.severity);
            if (pi && pi->p->n_steps > 0) {
                struct alert_esc_out eo = { 0 };
                t.esc = xcalloc(1, sizeof(*t.esc));
                t.policy_name = xstrdup(pi->name);
                alert_esc_init(t.esc, pi->p);
                if (already_heard) {
                    /* step 0 went out before the restart: the waits start over now */
                    t.esc->phase =
                        a->v.state == ALERT_STATE_ACKED ? ALERT_ESC_ACKED : ALERT_ESC_ACTIVE;
                    t.esc->step_at_ms = now_ms;
                    t.esc->ack_until_ms = now_ms + pi->ack_timeout_ms;
                    for (size_t k = 0; k < n_notified; k++)
                        strv_add_unique(&t.esc->notified, &t.esc->n_notified, notified[k]);
                    t.esc->cap_notified = t.esc->n_notified;
                    t.esc_wake = a->v.state == ALERT_STATE_ACKED ? t.esc->ack_until_ms
                                                                 : now_ms + pi->p->steps[0].wait_ms;
                } else if (alert_esc_start(t.esc, now_ms, &eo) == 0) {
                    esc_actions(m, a, &eo, now_ms, out);
                    t.esc_wake = eo.next_wake_ms;
                }
                alert_esc_out_release(&eo);
                goto add;
            }
        }
        {
            struct alert_group *g = group_get(m, ri, &a->labels, now_ms, &t.group_key);
            if (already_heard)
                alert_group_restore(g, a->v.fingerprint, now_ms);
            else
                alert_group_put(g, a->v.fingerprint, false, now_ms);
        }
    add:
        a->taken = xrealloc(a->taken, (a->n_taken + 1) * sizeof(a->taken[0]));
        a->taken[a->n_taken++] = t;
    }
}

static void unroute_resolved(struct alert_mgr *m, struct ralert *a, uint64_t now_ms,
                             struct alert_mgr_out *out)
{
    for (size_t i = 0; i < a->n_taken; i++) {
        struct taken *t = &a->taken[i];
        if (t->esc) {
            struct alert_esc_out eo = { 0 };
            if (alert_esc_resolve(t->esc, now_ms, &eo) == 0)
                esc_actions(m, a, &eo, now_ms, out);
            t->esc_wake = ALERT_NO_WAKE;
            alert_esc_out_release(&eo);
        } else {
            struct alert_group *g = group_by_key(m, t->group_key);
            if (g)
                alert_group_put(g, a->v.fingerprint, true, now_ms);
        }
    }
    m->gc_due = true;
}

/* The active silence whose matchers hold for a at now, or 0. */
static int64_t silence_for(const struct alert_mgr *m, const struct ralert *a, uint64_t now_ms)
{
    for (size_t i = 0; i < m->n_silences; i++) {
        const struct msilence *si = &m->silences[i];
        if (si->starts_ms <= now_ms && now_ms < si->ends_ms &&
            alert_route_matchers_hold(si->matchers, &a->labels))
            return si->id;
    }
    return 0;
}

/* Takes a routed alert out of its routes without a word: it is muted, not
 * over. Whom it reached is kept for the resolve message. */
static void mute(struct alert_mgr *m, struct ralert *a)
{
    for (size_t i = 0; i < a->n_taken; i++) {
        struct taken *t = &a->taken[i];
        if (t->esc) {
            for (size_t k = 0; k < t->esc->n_notified; k++)
                strv_add_unique(&a->notified, &a->n_notified, t->esc->notified[k]);
        } else {
            struct alert_group *g = group_by_key(m, t->group_key);
            if (g)
                alert_group_remove(g, a->v.fingerprint);
        }
        taken_release(t);
    }
    free(a->taken);
    a->taken = NULL;
    a->n_taken = 0;
    a->routed = false;
    m->gc_due = true;
}

/* Brings an open alert in line with what holds it back now: the caller's
 * reason, else an active silence. Muted alerts are recorded, not sent; one
 * released goes out, unless its receivers heard it fire before. */
static void reevaluate(struct alert_mgr *m, struct ralert *a, uint64_t now_ms,
                       struct alert_mgr_out *out)
{
    int64_t sil = a->held ? 0 : silence_for(m, a, now_ms);
    char buf[48];
    const char *why = a->held;
    bool muted = why || sil;

    if (!a->open)
        return;
    if (sil) {
        snprintf(buf, sizeof(buf), "silence %" PRId64, sil);
        why = buf;
    }
    if (muted == !a->routed && a->silence == sil &&
        ((!why && !a->suppressed) || (why && a->suppressed && strcmp(why, a->suppressed) == 0)))
        return; /* nothing changes */
    a->silence = sil;
    set_str(&a->suppressed, why);
    if (muted) {
        if (a->routed)
            mute(m, a);
        a->v.state = ALERT_STATE_SILENCED;
    } else if (!a->routed) {
        a->v.state = a->v.acked_ms ? ALERT_STATE_ACKED : ALERT_STATE_FIRING;
        route_alert(m, a, a->heard, (const char *const *)a->notified, a->n_notified, now_ms, out);
    }
    a->v.updated_ms = now_ms;
    view_sync(a);
    alert_mgr_out_changed(out, a->v.id);
}

int alert_mgr_fire(struct alert_mgr *m, const struct alert_input *in, uint64_t now_ms,
                   int64_t *ret_id, struct alert_mgr_out *out)
{
    uint64_t fp = alert_labels_fingerprint(in->labels);
    struct ralert *a = find_open_fp(m, fp);

    if (a) {
        if ((in->message && (!a->message || strcmp(in->message, a->message) != 0)) ||
            (in->summary && (!a->summary || strcmp(in->summary, a->summary) != 0))) {
            a->v.updated_ms = now_ms;
            alert_mgr_out_changed(out, a->v.id);
        }
        if (in->message)
            set_str(&a->message, in->message);
        if (in->summary)
            set_str(&a->summary, in->summary);
        set_str(&a->held, in->suppressed);
        view_sync(a);
        reevaluate(m, a, now_ms, out);
        if (ret_id)
            *ret_id = a->v.id;
        return 0;
    }
    a = xcalloc(1, sizeof(*a));
    alert_labels_copy(&a->labels, in->labels);
    a->monitor = xstrdup(in->monitor);
    a->source = xstrdup(in->source ? in->source : "monitor");
    a->summary = xstrdup(in->summary);
    a->message = xstrdup(in->message);
    a->held = xstrdup(in->suppressed);
    a->open = true;
    a->v.id = m->next_alert_id++;
    a->v.fingerprint = fp;
    a->v.severity = in->severity;
    a->v.state = ALERT_STATE_FIRING;
    a->v.starts_ms = in->starts_ms ? in->starts_ms : now_ms;
    a->v.updated_ms = now_ms;
    view_sync(a);
    add_alert(m, a);
    /* not routed yet: reevaluate either mutes it or routes it */
    reevaluate(m, a, now_ms, out);
    alert_mgr_out_changed(out, a->v.id);
    if (ret_id)
        *ret_id = a->v.id;
    return 0;
}

static void silences_free(struct msilence *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        alert_route_free(v[i].matchers);
    free(v);
}

int alert_mgr_set_silences(struct alert_mgr *m, const struct alert_silence_spec *v, size_t n,
                           uint64_t now_ms, struct alert_mgr_out *out, struct opsd_error *err)
{
    struct msilence *nv = xcalloc(n ? n : 1, sizeof(*nv));

    for (size_t i = 0; i < n; i++) {
        nv[i].id = v[i].id;
        nv[i].starts_ms = v[i].starts_ms;
        nv[i].ends_ms = v[i].ends_ms;
        nv[i].matchers = alert_route_new();
        for (size_t j = 0; j < v[i].n_matchers; j++) {
            int r = alert_route_add_matcher(nv[i].matchers, v[i].matchers[j].name,
                                            v[i].matchers[j].op, v[i].matchers[j].value, err);
            if (r < 0) {
                silences_free(nv, i + 1);
                return r;
            }
        }
    }
    silences_free(m->silences, m->n_silences);
    m->silences = nv;
    m->n_silences = n;
    if (now_ms > m->now_seen)
        m->now_seen = now_ms;
    for (size_t i = 0; i < m->n_all; i++)
        reevaluate(m, m->all[i], now_ms, out);
    return 0;
}

static void resolve(struct alert_mgr *m, struct ralert *a, uint64_t now_ms,
                    struct alert_mgr_out *out)
{
    /* Muted after it was heard: whoever was told it fires learns it is over. */
    if (!a->routed && a->heard && a->n_notified)
        route_alert(m, a, true, (const char *const *)a->notified, a->n_notified, now_ms, out);
    a->open = false;
    a->v.state = ALERT_STATE_RESOLVED;
    a->v.resolved_ms = now_ms;
    a->v.updated_ms = now_ms;
    if (a->routed)
        unroute_resolved(m, a, now_ms, out);
    m->gc_due = true;
    alert_mgr_out_changed(out, a->v.id);
}

int alert_mgr_resolve_fp(struct alert_mgr *m, uint64_t fingerprint, uint64_t now_ms,
                         struct alert_mgr_out *out)
{
    struct ralert *a = find_open_fp(m, fingerprint);

    if (!a)
        return -ENOENT;
    resolve(m, a, now_ms, out);
    return 0;
}

int alert_mgr_resolve_id(struct alert_mgr *m, int64_t id, const char *by, uint64_t now_ms,
                         struct alert_mgr_out *out)
{
    struct ralert *a = find_id(m, id);

    if (!a)
        return -ENOENT;
    if (!a->open)
        return -EALREADY;
    (void)by;
    resolve(m, a, now_ms, out);
    return 0;
}

/* PagerDuty keeps an incident of its own for every alert it was paged
 * with: an ack here must acknowledge it there too, or PagerDuty goes on
 * escalating what someone already handles. Other channels hear nothing of
 * an ack (the resolve still reaches them). */
static void ack_pagerduty(struct alert_mgr *m, struct ralert *a, uint64_t now_ms,
                          struct alert_mgr_out *out)
{
    char **names = NULL, key[40];
    size_t n = 0;

    for (size_t i = 0; i < a->n_taken; i++) {
        const struct taken *t = &a->taken[i];
        if (t->esc) {
            for (size_t k = 0; k < t->esc->n_notified; k++)
                strv_add_unique(&names, &n, t->esc->notified[k]);
        } else if (a->heard) {
            strv_add_unique(&names, &n, alert_route_receiver(m->routes[t->route].r));
        }
    }
    snprintf(key, sizeof(key), "ack-%" PRId64, a->v.id);
    for (size_t i = 0; i < n; i++) {
        const struct conf_receiver *r = conf_find_receiver(m->conf, names[i]);
        if (r && r->kind == CONF_RECV_PAGERDUTY)
            note_add_alert(note_new(m, out, names[i], "acknowledged", key, now_ms), a->v.id, false);
    }
    strv_free_n(names, n);
}

int alert_mgr_ack(struct alert_mgr *m, int64_t id, const char *by, uint64_t now_ms,
                  struct alert_mgr_out *out)
{
    struct ralert *a = find_id(m, id);

    if (!a)
        return -ENOENT;
    if (!a->open)
        return -EALREADY;
    if (a->v.state == ALERT_STATE_SILENCED)
        return -EINVAL;
    for (size_t i = 0; i < a->n_taken; i++) {
        struct taken *t = &a->taken[i];
        struct pinfo *pi;
        struct alert_esc_out eo = { 0 };

        if (!t->esc)
            continue;
        pi = policy_for(m, t->policy_name, alert_route_receiver(m->routes[t->route].r),
                        a->v.severity);
        if (alert_esc_ack(t->esc, now_ms, pi ? pi->ack_timeout_ms : 0, &eo) == 0)
            t->esc_wake = eo.next_wake_ms;
        alert_esc_out_release(&eo);
    }
    a->v.state = ALERT_STATE_ACKED;
    a->v.acked_ms = now_ms;
    set_str(&a->acked_by, by);
    a->v.updated_ms = now_ms;
    view_sync(a);
    alert_mgr_out_changed(out, a->v.id);
    ack_pagerduty(m, a, now_ms, out);
    return 0;
}

/* Drops resolved alerts no group holds any more, and groups that are empty. */
static void gc(struct alert_mgr *m)
{
    size_t keep = 0;

    if (!m->gc_due)
        return;
    m->gc_due = false;
    /* Two passes: find_open_fp() walks the whole list, so nothing may be
     * freed (or moved) until every alert has its verdict. */
    for (size_t i = 0; i < m->n_all; i++) {
        struct ralert *a = m->all[i];
        bool held = a->open;
        for (size_t j = 0; !held && j < a->n_taken; j++) {
            struct alert_group *g;
            if (a->taken[j].esc)
                continue;
            g = group_by_key(m, a->taken[j].group_key);
            /* a newer open alert with the same labels owns the entry now */
            held =
                g && alert_group_holds(g, a->v.fingerprint) && !find_open_fp(m, a->v.fingerprint);
        }
        a->gc_keep = held;
    }
    for (size_t i = 0; i < m->n_all; i++) {
        struct ralert *a = m->all[i];
        if (a->gc_keep)
            m->all[keep++] = a;
        else
            ralert_free(a);
    }
    m->n_all = keep;
    keep = 0;
    for (size_t i = 0; i < m->n_groups; i++) {
        if (alert_group_is_empty(m->groups[i].g)) {
            alert_group_free(m->groups[i].g);
            continue;
        }
        m->groups[keep++] = m->groups[i];
    }
    m->n_groups = keep;
}

static void flush_group(struct alert_mgr *m, struct mgroup *mg, uint64_t now_ms,
                        struct alert_mgr_out *out)
{
    struct alert_batch b = { 0 };
    const char *receiver = alert_route_receiver(m->routes[mg->route].r);
    char key[40];
    struct alert_note *n;

    if (alert_group_tick(mg->g, now_ms, &b) != 1)
        return;
    if (!receiver || b.n_firing + b.n_resolved == 0) {
        alert_batch_clear(&b);
        return;
    }
    snprintf(key, sizeof(key), "g-%016" PRIx64, mg->key);
    n = note_new(m, out, receiver, b.n_firing ? "firing" : "resolved", key, now_ms);
    alert_labels_copy(&n->group_labels, alert_group_labels(mg->g));
    for (size_t i = 0; i < b.n_firing; i++) {
        struct ralert *a = find_any_fp(m, b.firing[i]);
        if (!a)
            continue;
        note_add_alert(n, a->v.id, false);
        a->heard = true;
        strv_add_unique(&a->notified, &a->n_notified, receiver);
    }
    for (size_t i = 0; i < b.n_resolved; i++) {
        struct ralert *a = NULL;
        /* the resolved one, not a newer open alert with the same labels */
        for (size_t j = m->n_all; j-- > 0;)
            if (m->all[j]->v.fingerprint == b.resolved[i] && !m->all[j]->open) {
                a = m->all[j];
                break;
            }
        if (a)
            note_add_alert(n, a->v.id, true);
    }
    if (n->n_alerts == 0) {
        /* nothing left to say: take the note back */
        out->n_notes--;
        m->next_note_id--;
        free(n->receiver);
        free(n->group_key);
        free(n->idempotency_key);
        alert_labels_clear(&n->group_labels);
        free(n->alert_ids);
        free(n->resolved);
    }
    alert_batch_clear(&b);
    m->gc_due = true;
}

void alert_mgr_tick(struct alert_mgr *m, uint64_t now_ms, struct alert_mgr_out *out)
{
    if (now_ms > m->now_seen)
        m->now_seen = now_ms;
    if (m->n_silences)
        for (size_t i = 0; i < m->n_all; i++)
            reevaluate(m, m->all[i], now_ms, out);
    gc(m);
    for (size_t i = 0; i < m->n_groups; i++)
        if (alert_group_next_due(m->groups[i].g) <= now_ms)
            flush_group(m, &m->groups[i], now_ms, out);
    for (size_t i = 0; i < m->n_all; i++) {
        struct ralert *a = m->all[i];
        for (size_t j = 0; a->open && j < a->n_taken; j++) {
            struct taken *t = &a->taken[j];
            struct alert_esc_out eo = { 0 };
            enum alert_esc_phase before;

            if (!t->esc || t->esc_wake == ALERT_NO_WAKE || t->esc_wake > now_ms)
                continue;
            before = t->esc->phase;
            if (alert_esc_tick(t->esc, now_ms, &eo) >= 0) {
                esc_actions(m, a, &eo, now_ms, out);
                t->esc_wake = eo.next_wake_ms;
                if (before == ALERT_ESC_ACKED && t->esc->phase != ALERT_ESC_ACKED &&
                    a->v.state == ALERT_STATE_ACKED) {
                    /* the ack ran out while it still fires */
                    a->v.state = ALERT_STATE_FIRING;
                    a->v.updated_ms = now_ms;
                    alert_mgr_out_changed(out, a->v.id);
                }
            }
            alert_esc_out_release(&eo);
        }
    }
}

uint64_t alert_mgr_next_wake(const struct alert_mgr *m)
{
    uint64_t next = ALERT_NEVER;

    /* a silence that starts or ends changes what may be sent */
    for (size_t i = 0; i < m->n_silences; i++) {
        const struct msilence *si = &m->silences[i];
        if (si->starts_ms > m->now_seen && si->starts_ms < next && si->ends_ms > si->starts_ms)
            next = si->starts_ms;
        if (si->ends_ms > m->now_seen && si->ends_ms < next)
            next = si->ends_ms;
    }

    for (size_t i = 0; i < m->n_groups; i++) {
        uint64_t d = alert_group_next_due(m->groups[i].g);
        if (d < next)
            next = d;
    }
    for (size_t i = 0; i < m->n_all; i++)
        for (size_t j = 0; m->all[i]->open && j < m->all[i]->n_taken; j++) {
            const struct taken *t = &m->all[i]->taken[j];
            if (t->esc && t->esc_wake != ALERT_NO_WAKE && t->esc_wake < next)
                next = t->esc_wake;
        }
    return next;
}

static struct ralert *ralert_from_view(const struct alert_view *v)
{
    struct ralert *a = xcalloc(1, sizeof(*a));

    a->v = *v;
    alert_labels_copy(&a->labels, v->labels);
    a->monitor = xstrdup(v->monitor);
    a->source = xstrdup(v->source ? v->source : "monitor");
    a->summary = xstrdup(v->summary);
    a->message = xstrdup(v->message);
    a->suppressed = xstrdup(v->suppressed);
    a->acked_by = xstrdup(v->acked_by);
    a->review_by = xstrdup(v->review_by);
    a->open = v->state != ALERT_STATE_RESOLVED;
    view_sync(a);
    return a;
}

int alert_mgr_restore(struct alert_mgr *m, const struct alert_restore *r, uint64_t now_ms,
                      struct alert_mgr_out *out, struct opsd_error *err)
{
    struct ralert *a;

    if (r->alert->state == ALERT_STATE_RESOLVED || r->alert->id <= 0 || find_id(m, r->alert->id) ||
        find_open_fp(m, r->alert->fingerprint))
        return opsd_errorf(err, -EEXIST, "alert %" PRId64 " is resolved or already held",
                           r->alert->id);
    a = ralert_from_view(r->alert);
    a->heard = r->n_notified > 0;
    for (size_t i = 0; i < r->n_notified; i++)
        strv_add_unique(&a->notified, &a->n_notified, r->notified[i]);
    add_alert(m, a);
    if (r->alert->id >= m->next_alert_id)
        m->next_alert_id = r->alert->id + 1;
    /* What held it back is the caller's to say again; a silence is ours. */
    if (a->suppressed && strncmp(a->suppressed, "silence ", 8) != 0)
        set_str(&a->held, a->suppressed);
    /* One nobody heard of yet (opsd stopped inside group_wait, or before its
     * page was written) goes out now, like a new alert. */
    reevaluate(m, a, now_ms, out);
    return 0;
}

const struct alert_view *alert_mgr_find_id(const struct alert_mgr *m, int64_t id)
{
    struct ralert *a = find_id(m, id);

    return a ? &a->v : NULL;
}

const struct alert_view *alert_mgr_find_fp(const struct alert_mgr *m, uint64_t fingerprint)
{
    struct ralert *a = find_open_fp(m, fingerprint);

    return a ? &a->v : NULL;
}

size_t alert_mgr_open_count(const struct alert_mgr *m)
{
    size_t n = 0;

    for (size_t i = 0; i < m->n_all; i++)
        n += m->all[i]->open;
    return n;
}

static int build(struct alert_mgr *m, const struct conf *c, struct opsd_error *err)
{
    int rc;

    m->conf = c;
    if (c->route) {
        rc = build_route(m, c->route, NULL, &m->root, err);
        if (rc < 0)
            return rc;
        rc = alert_route_validate(m->root, err);
        if (rc < 0)
            return rc;
    }
    return build_policies(m, c, err);
}

int alert_mgr_new(const struct conf *c, int64_t next_alert_id, int64_t next_note_id,
                  struct alert_mgr **ret, struct opsd_error *err)
{
    struct alert_mgr *m = xcalloc(1, sizeof(*m));
    int rc;

    m->next_alert_id = next_alert_id > 0 ? next_alert_id : 1;
    m->next_note_id = next_note_id > 0 ? next_note_id : 1;
    rc = build(m, c, err);
    if (rc < 0) {
        alert_mgr_free(m);
        return rc;
    }
    *ret = m;
    return 0;
}

struct alert_mgr *alert_mgr_free(struct alert_mgr *m)
{
    if (!m)
        return NULL;
    for (size_t i = 0; i < m->n_all; i++)
        ralert_free(m->all[i]);
    free(m->all);
    for (size_t i = 0; i < m->n_groups; i++)
        alert_group_free(m->groups[i].g);
    free(m->groups);
    routes_free(m);
    policies_free(m->policies, m->n_policies);
    silences_free(m->silences, m->n_silences);
    free(m);
    return NULL;
}

int alert_mgr_reconfigure(struct alert_mgr *m, const struct conf *c, uint64_t now_ms,
                          struct alert_mgr_out *out, struct opsd_error *err)
{
    struct alert_mgr fresh = { 0 };
    int rc;

    rc = build(&fresh, c, err);
    if (rc < 0) {
        routes_free(&fresh);
        policies_free(fresh.policies, fresh.n_policies);
        return rc;
    }
    for (size_t i = 0; i < m->n_groups; i++)
        alert_group_free(m->groups[i].g);
    free(m->groups);
    m->groups = NULL;
    m->n_groups = m->cap_groups = 0;
    routes_free(m);
    policies_free(m->policies, m->n_policies);
    m->conf = c;
    m->root = fresh.root;
    m->routes = fresh.routes;
    m->n_routes = fresh.n_routes;
    m->policies = fresh.policies;
    m->n_policies = fresh.n_policies;
    /* Open alerts go into the new tree; what receivers already heard is not
     * said again, what they have not heard yet still goes out. Resolved
     * alerts waiting for their announcement lose it: their groups are gone. */
    for (size_t i = 0; i < m->n_all; i++) {
        struct ralert *a = m->all[i];
        char **notified = NULL;
        size_t n_notified = 0;

        for (size_t j = 0; j < a->n_notified; j++)
            strv_add_unique(&notified, &n_notified, a->notified[j]);
        for (size_t j = 0; j < a->n_taken; j++) {
            if (a->taken[j].esc)
                for (size_t k = 0; k < a->taken[j].esc->n_notified; k++)
                    strv_add_unique(&notified, &n_notified, a->taken[j].esc->notified[k]);
            taken_release(&a->taken[j]);
        }
        free(a->taken);
        a->taken = NULL;
        a->n_taken = 0;
        a->routed = false;
        strv_free_n(a->notified, a->n_notified);
        a->notified = notified;
        a->n_notified = n_notified;
        reevaluate(m, a, now_ms, out);
    }
    m->gc_due = true;
    gc(m);
    return 0;
}
