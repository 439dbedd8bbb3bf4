/* Alerting on the loop: monitor state changes become alerts (alert/manager),
 * their notifications go into the store's outbox in the same transaction as
 * the state change, and only once that commit is done does the sender
 * (notify/send.c) deliver them, retrying with backoff until they are
 * delivered or alerting.give_up_after passes. After a crash the pending
 * rows are loaded again and sent with the same idempotency keys. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "alert/alert.h"
#include "notify/notify.h"
#include "sched/sched-impl.h"
#include "util/log.h"
#include "util/opsd_limits.h"
#include "util/sbuf.h"
#include "util/xalloc.h"

/* At most this many deliveries to one receiver at once, so a receiver that
 * hangs until every attempt times out holds only its own slots. */
#define PER_RECEIVER_INFLIGHT 4
/* Requests one notification may need (PagerDuty: one per alert; SMS: one
 * per number); a done-mask bit each, so a retry skips what went through. */
#define MAX_REQUESTS 64

struct obx {
    int64_t id;
    char *receiver;
    char *key;
    char *payload;
    char *reason;
    uint64_t created_ms, next_ms;
    unsigned attempts;
    bool inflight;
    unsigned reqs_left, reqs_failed;
    uint64_t done_mask;
    bool permanent; /* a request failed in a way a retry won't fix */
    uint64_t retry_after_ms;
    int http_status;
    int32_t took_us;
    uint64_t started_ms;
    char error[256];
};

struct req_ctx {
    struct alerting *a;
    int64_t id;
    unsigned bit;
};

/* An inbound alert that resolves by itself unless refreshed (Prometheus
 * re-sends what still fires with a later endsAt). */
struct expiry {
    int64_t id;
    uint64_t ends_ms;
};

struct alerting {
    struct sched *s;
    struct alert_mgr *mgr;
    struct notify_sender *sender;
    uv_timer_t timer;
    bool timer_closed;
    struct obx **items;
    size_t n_items, cap_items;
    uint64_t delivered, failed, attempts;
    bool closing;
    struct expiry *exp;
    size_t n_exp, cap_exp;
    uint8_t link_key[ALERT_LINK_KEY_LEN]; /* signs the one-click links */
};

static uint64_t now_ms(const struct sched *s)
{
    return clock_now_ms(s->clock);
}

/* ---- alert rows and outbox rows ------------------------------------------ */

static char *labels_json(const struct alert_labels *ls)
{
    json_t *o = json_object();
    char *s;

    for (size_t i = 0; i < ls->n; i++)
        json_object_set_new(o, ls->v[i].name, json_string(ls->v[i].value));
    s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s ? s : xstrdup("{}");
}

static uint64_t expiry_get(const struct alerting *a, int64_t id);

static void put_alert_row(struct alerting *a, const struct alert_view *v)
{
    char *lj = labels_json(v->labels);
    struct store_alert row = {
        .id = v->id,
        .fingerprint = v->fingerprint,
        .monitor = v->monitor,
        .source = v->source,
        .severity = (int)v->severity,
        .state = (int)v->state,
        .labels_json = lj,
        .summary = v->summary,
        .message = v->message,
        .suppressed = v->suppressed,
        .starts_ms = v->starts_ms,
        .updated_ms = v->updated_ms,
        .acked_ms = v->acked_ms,
        .acked_by = v->acked_by,
        .resolved_ms = v->resolved_ms,
        .review = v->review,
        .review_by = v->review_by,
        .reviewed_ms = v->reviewed_ms,
        .ends_ms = v->state == ALERT_STATE_RESOLVED ? 0 : expiry_get(a, v->id),
    };

    store_batch_put_alert(&a->s->pending, &row);
    free(lj);
}

/* The alert as a notifier sees it; labels points into lbuf. */
static void to_notify_alert(const struct alert_view *v, bool resolved, struct notify_label *lbuf,
                            char fp[17], struct notify_alert *ret)
{
    for (size_t i = 0; i < v->labels->n; i++)
        lbuf[i] = (struct notify_label){ v->labels->v[i].name, v->labels->v[i].value };
    snprintf(fp, 17, "%016" PRIx64, v->fingerprint);
    *ret = (struct notify_alert){
        .fingerprint = fp,
        .status = resolved ? NOTIFY_RESOLVED : NOTIFY_FIRING,
        .acknowledged = v->state == ALERT_STATE_ACKED,
        .severity = (enum notify_severity)v->severity,
        .monitor = v->monitor,
        .labels = lbuf,
        .n_labels = v->labels->n,
        .summary = v->summary,
        .message = v->message,
        .starts_at_ms = v->starts_ms,
        .ends_at_ms = resolved ? (v->resolved_ms ? v->resolved_ms : v->updated_ms) : 0,
    };
}

static void add_note_row(struct alerting *a, const struct alert_note *n, uint64_t now)
{
    struct sched *s = a->s;
    struct notify_alert *al = xcalloc(n->n_alerts, sizeof(*al));
    struct notify_label *lb = xcalloc(n->n_alerts * ALERT_MAX_LABELS + 1, sizeof(*lb));
    char(*fps)[17] = xcalloc(n->n_alerts, 17);
    int64_t *ids = xcalloc(n->n_alerts, sizeof(*ids));
    struct notify_label *gl = xcalloc(n->group_labels.n + 1, sizeof(*gl));
    size_t k = 0;
    char *payload = NULL;
    struct sbuf idlist = SBUF_INIT;

    for (size_t i = 0; i < n->n_alerts; i++) {
        const struct alert_view *v = alert_mgr_find_id(a->mgr, n->alert_ids[i]);
        if (!v)
            continue;
        to_notify_alert(v, n->resolved[i], &lb[k * ALERT_MAX_LABELS], fps[k], &al[k]);
        ids[k] = v->id;
        sbuf_addf(&idlist, "%s%" PRId64, k ? "," : "", v->id);
        k++;
    }
    for (size_t i = 0; i < n->group_labels.n; i++)
        gl[i] = (struct notify_label){ n->group_labels.v[i].name, n->group_labels.v[i].value };
    if (k > 0) {
        struct notify_group g = {
            .group_key = n->group_key,
            .idempotency_key = n->idempotency_key,
            .group_labels = gl,
            .n_group_labels = n->group_labels.n,
            .alerts = al,
            .n_alerts = k,
            .now_ms = now,
        };
        int kept = notify_payload_encode(&g, n->reason, ids, &payload);
        if (kept > 0)
            log_warn("event=notification_truncated id=%" PRId64 " alerts=%zu kept=%d", n->id, k,
                     kept);
    }
    if (payload) {
        struct store_notification row = {
            .id = n->id,
            .idempotency_key = n->idempotency_key,
            .receiver = n->receiver,
            .reason = n->reason,
            .group_key = n->group_key,
            .alert_ids = idlist.buf,
            .payload_json = payload,
            .state = STORE_NOTIF_PENDING,
            .created_ms = now,
            .next_attempt_ms = now,
        };
        store_batch_add_notification(&s->pending, &row);
        log_info("event=notification_queued id=%" PRId64 " receiver=%s reason=%s alerts=%s", n->id,
                 log_q(n->receiver), n->reason, log_q(idlist.buf));
    }
    free(payload);
    sbuf_release(&idlist);
    free(al);
    free(lb);
    free(fps);
    free(ids);
    free(gl);
}

static void arm(struct alerting *a);

/* Writes what the manager produced into the pending batch and starts the
 * write now: a page waits for one commit, not for the next flush tick. */
static void apply_out(struct alerting *a, struct alert_mgr_out *o)
{
    struct sched *s = a->s;
    uint64_t now = now_ms(s);

    for (size_t i = 0; i < o->n_changed; i++) {
        const struct alert_view *v = alert_mgr_find_id(a->mgr, o->changed[i]);
        if (v)
            put_alert_row(a, v);
    }
    for (size_t i = 0; i < o->n_notes; i++)
        add_note_row(a, &o->notes[i], now);
    if (o->n_changed || o->n_notes)
        sched_flush(s);
    alert_mgr_out_clear(o);
    arm(a);
}

/* ---- the outbox: sending what is committed ----------------------------------- */

static const struct conf_receiver *receiver_conf(const struct sched *s, const char *name)
{
    return conf_find_receiver(s->conf, name);
}

/* Deliveries in flight per receiver, counted once per pass: a count per
 * item would make a burst of N notifications cost N^2. */
struct rcount {
    const char *name; /* borrowed from an item */
    unsigned n;
};
struct rcounts {
    struct rcount *v;
    size_t n, cap;
};

static struct rcount *rcount_of(struct rcounts *c, const char *name)
{
    for (size_t j = 0; j < c->n; j++)
        if (strcmp(c->v[j].name, name) == 0)
            return &c->v[j];
    xgrow((void **)&c->v, &c->cap, c->n + 1, sizeof(*c->v));
    c->v[c->n] = (struct rcount){ .name = name };
    return &c->v[c->n++];
}

static void rcounts_take(const struct alerting *a, struct rcounts *c)
{
    *c = (struct rcounts){ 0 };
    for (size_t i = 0; i < a->n_items; i++)
        if (a->items[i]->inflight)
            rcount_of(c, a->items[i]->receiver)->n++;
}

static struct obx *item_find(const struct alerting *a, int64_t id)
{
    for (size_t i = 0; i < a->n_items; i++)
        if (a->items[i]->id == id)
            return a->items[i];
    return NULL;
}

static void item_free(struct obx *it)
{
    if (!it)
        return;
    free(it->receiver);
    free(it->key);
    free(it->payload);
    free(it->reason);
    free(it);
}

static void item_remove(struct alerting *a, struct obx *it)
{
    for (size_t i = 0; i < a->n_items; i++)
        if (a->items[i] == it) {
            memmove(&a->items[i], &a->items[i + 1], (a->n_items - i - 1) * sizeof(struct obx *));
            a->n_items--;
            break;
        }
    item_free(it);
}

static void item_add(struct alerting *a, const struct store_notification *n)
{
    struct obx *it;

    if (item_find(a, n->id))
        return;
    it = xcalloc(1, sizeof(*it));
    it->id = n->id;
    it->receiver = xstrdup(n->receiver);
    it->key = xstrdup(n->idempotency_key);
    it->payload = xstrdup(n->payload_json);
    it->reason = xstrdup(n->reason);
    it->created_ms = n->created_ms;
    it->next_ms = n->next_attempt_ms;
    it->attempts = n->attempts;
    xgrow((void **)&a->items, &a->cap_items, a->n_items + 1, sizeof(struct obx *));
    a->items[a->n_items++] = it;
}

static void record_attempt(struct alerting *a, struct obx *it)
{
    struct sched *s = a->s;
    const struct conf_alerting *ca = &s->conf->alerting;
    uint64_t now = now_ms(s);
    bool ok = it->reqs_failed == 0;
    struct store_notif_attempt at = {
        .notification_id = it->id,
        .ts_ms = it->started_ms,
        .ok = ok,
        .http_status = it->http_status,
        .took_us = it->took_us,
        .error = ok ? NULL : it->error,
    };
    struct store_notif_update up = {
        .id = it->id,
        .attempts = ++it->attempts,
        .last_attempt_ms = it->started_ms,
        .last_error = ok ? NULL : it->error,
    };

    a->attempts++;
    if (ok) {
        up.state = STORE_NOTIF_DELIVERED;
        up.done_ms = now;
        a->delivered++;
        log_info("event=notification_delivered id=%" PRId64 " receiver=%s attempts=%u "
                 "latency_ms=%" PRIu64,
                 it->id, log_q(it->receiver), it->attempts, now - it->created_ms);
    } else {
        uint32_t rnd = 0;
        uint64_t wait;
        (void)getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK);
        wait = notify_backoff_ms(it->attempts, ca->retry_min_ms, ca->retry_max_ms, rnd);
        if (it->retry_after_ms > wait)
            wait = it->retry_after_ms;
        if (it->permanent || now + wait > it->created_ms + ca->give_up_after_ms) {
            up.state = STORE_NOTIF_FAILED;
            up.done_ms = now;
            a->failed++;
            log_error("event=notification_failed id=%" PRId64 " receiver=%s attempts=%u "
                      "permanent=%s err=%s",
                      it->id, log_q(it->receiver), it->attempts, it->permanent ? "yes" : "no",
                      log_q(it->error));
        } else {
            up.state = STORE_NOTIF_PENDING;
            up.next_attempt_ms = now + wait;
            it->next_ms = now + wait;
            log_warn("event=notification_retry id=%" PRId64 " receiver=%s attempt=%u "
                     "retry_in_ms=%" PRIu64 " err=%s",
                     it->id, log_q(it->receiver), it->attempts, wait, log_q(it->error));
        }
    }
    store_batch_update_notification(&s->pending, &up);
    store_batch_add_notif_attempt(&s->pending, &at);
    sched_flush(s);
    if (up.state != STORE_NOTIF_PENDING)
        item_remove(a, it);
}

static void on_sent(const struct notify_send_result *r, void *userdata)
{
    struct req_ctx *c = userdata;
    struct alerting *a = c->a;
    struct obx *it = item_find(a, c->id);

    if (!it || a->closing) {
        free(c);
        return;
    }
    if (r->ok) {
        it->done_mask |= 1ULL << c->bit;
    } else {
        it->reqs_failed++;
        if (!r->retryable)
            it->permanent = true;
        if (r->retry_after_ms > it->retry_after_ms)
            it->retry_after_ms = r->retry_after_ms;
        snprintf(it->error, sizeof(it->error), "%s", r->error);
    }
    if (r->http_status)
        it->http_status = r->http_status;
    if (r->took_us > it->took_us)
        it->took_us = r->took_us;
    free(c);
    if (--it->reqs_left > 0)
        return;
    it->inflight = false;
    record_attempt(a, it);
    arm(a);
}

static void fail_now(struct alerting *a, struct obx *it, const char *why)
{
    snprintf(it->error, sizeof(it->error), "%s", why);
    it->permanent = true;
    it->reqs_failed = 1;
    it->started_ms = now_ms(a->s);
    record_attempt(a, it);
}

/* Gives each firing alert of p its signed ack and resolve links, made now
 * rather than stored with the payload: the outbox never holds a working
 * credential, and a retry hours later still carries a link that works for
 * link_ttl. urls (2 per alert) are the caller's to free. */
static void add_links(struct alerting *a, struct notify_payload *p, const char *ext, char **urls)
{
    const struct sched *s = a->s;
    uint64_t exp = now_ms(s) + s->conf->alerting.link_ttl_ms;

    for (size_t i = 0; i < p->n_alerts; i++) {
        char tok[ALERT_LINK_TOKEN_SIZE];
        struct opsd_error err = { 0 };
        int64_t id = p->alert_ids[i];

        if (p->alerts[i].status != NOTIFY_FIRING || id <= 0)
            continue;
        if (alert_link_create(a->link_key, ALERT_LINK_ACK, (uint64_t)id, exp, tok, sizeof(tok),
                              &err) == 0)
            urls[2 * i] = xasprintf("%s/a/%" PRId64 "/ack?t=%s", ext, id, tok);
        if (alert_link_create(a->link_key, ALERT_LINK_RESOLVE, (uint64_t)id, exp, tok, sizeof(tok),
                              &err) == 0)
            urls[2 * i + 1] = xasprintf("%s/a/%" PRId64 "/resolve?t=%s", ext, id, tok);
        if (err.msg[0])
            log_warn("event=link_failed alert=%" PRId64 " err=%s", id, log_q(err.msg));
        p->alerts[i].ack_url = urls[2 * i];
        p->alerts[i].resolve_url = urls[2 * i + 1];
    }
}

/* Builds and submits every request of it that has not gone through yet.
 * Returns false when it could not start (and was settled or rescheduled). */
static bool start_item(struct alerting *a, struct obx *it)
{
    struct sched *s = a->s;
    const struct conf_receiver *rc = receiver_conf(s, it->receiver);
    struct notify_payload p = { 0 };
    struct opsd_error err = { 0 };
    struct notify_request_list reqs = { 0 };
    char ext[512];
    char **urls;
    int r;

    if (!rc) {
        fail_now(a, it, "receiver is no longer in the config");
        return false;
    }
    if (notify_payload_decode(it->payload, &p, &err) < 0) {
        fail_now(a, it, err.msg);
        return false;
    }
    snprintf(ext, sizeof(ext), "%s",
             s->conf->alerting.external_url ? s->conf->alerting.external_url : "");
    urls = xcalloc(2 * p.n_alerts + 1, sizeof(*urls));
    if (ext[0])
        add_links(a, &p, ext, urls);
    {
        struct notify_group g = {
            .group_key = p.group_key,
            .idempotency_key = it->key,
            .external_url = ext[0] ? ext : NULL,
            .group_labels = p.group_labels,
            .n_group_labels = p.n_group_labels,
            .alerts = p.alerts,
            .n_alerts = p.n_alerts,
            .now_ms = now_ms(s),
            .reason = p.reason,
        };
        struct notify_receiver nr = {
            .kind = (enum notify_kind)rc->kind,
            .name = rc->name,
            .url = rc->url,
            .secret = rc->secret,
            .account = rc->account,
            .target = rc->target,
            .from = rc->from,
            .to = (const char *const *)rc->to,
            .n_to = rc->n_to,
            .format = rc->alertmanager_format ? NOTIFY_FORMAT_ALERTMANAGER : NOTIFY_FORMAT_OPSD,
            .whatsapp = rc->whatsapp,
            .subject_template = rc->subject_template,
            .alert_template = rc->alert_template,
        };
        r = notify_build(&nr, &g, &reqs, &err);
    }
    for (size_t i = 0; i < 2 * p.n_alerts; i++)
        free(urls[i]);
    free(urls);
    notify_payload_free(&p);
    if (r < 0) {
        fail_now(a, it, err.msg);
        return false;
    }
    it->inflight = true;
    it->reqs_left = 0;
    it->reqs_failed = 0;
    it->permanent = false;
    it->retry_after_ms = 0;
    it->http_status = 0;
    it->took_us = 0;
    it->error[0] = '\0';
    it->started_ms = now_ms(s);
    for (size_t i = 0; i < reqs.n && i < MAX_REQUESTS; i++) {
        struct notify_send_opts o = {
            .timeout_ms = rc->timeout_ms,
            .tls_verify = rc->tls_verify,
            .smtp_starttls = rc->smtp_starttls,
            .smtp_username = rc->smtp_username,
            .smtp_password = rc->smtp_password,
        };
        struct req_ctx *c;
        if (it->done_mask & (1ULL << i))
            continue;
        c = xcalloc(1, sizeof(*c));
        *c = (struct req_ctx){ .a = a, .id = it->id, .bit = (unsigned)i };
        /* counted first: a submit can finish synchronously on cancel */
        it->reqs_left++;
        if (notify_sender_submit(a->sender, &reqs.v[i], &o, on_sent, c) < 0) {
            it->reqs_left--;
            it->reqs_failed++;
            it->permanent = true;
            snprintf(it->error, sizeof(it->error), "request %zu could not be made", i);
            free(c);
        }
    }
    notify_request_list_free(&reqs);
    if (it->reqs_left == 0) {
        it->inflight = false;
        record_attempt(a, it);
        return false;
    }
    return true;
}

static void pump(struct alerting *a)
{
    uint64_t now = now_ms(a->s);
    struct rcounts rc;

    if (a->closing || a->s->stopping)
        return;
    rcounts_take(a, &rc);
    for (size_t i = 0; i < a->n_items; i++) {
        struct obx *it = a->items[i];
        struct rcount *c;
        if (it->inflight || it->next_ms > now)
            continue;
        c = rcount_of(&rc, it->receiver);
        if (c->n >= PER_RECEIVER_INFLIGHT)
            continue;
        if (start_item(a, it)) {
            c->n++; /* in flight now, so its name stays valid for this pass */
            continue;
        }
        /* it ended at once and may be gone: the array may have shifted, and
         * a count may borrow its name */
        free(rc.v);
        rcounts_take(a, &rc);
        i = (size_t)-1;
    }
    free(rc.v);
}

/* ---- the timer ---------------------------------------------------------------- */

static void expire_inbound(struct alerting *a, struct alert_mgr_out *o);

static void on_timer(uv_timer_t *t)
{
    struct alerting *a = t->data;
    struct alert_mgr_out o = { 0 };

    expire_inbound(a, &o);
    alert_mgr_tick(a->mgr, now_ms(a->s), &o);
    apply_out(a, &o); /* re-arms */
    pump(a);
    arm(a);
}

static void arm(struct alerting *a)
{
    uint64_t now = now_ms(a->s), due = alert_mgr_next_wake(a->mgr);
    struct rcounts rc;

    if (a->closing)
        return;
    /* An item held back by its receiver's in-flight limit waits for one of
     * that receiver's sends to end (on_sent re-arms), not for a timer: its
     * due time is past, and arming for it would spin the loop. */
    rcounts_take(a, &rc);
    for (size_t i = 0; i < a->n_items; i++) {
        const struct obx *it = a->items[i];
        if (it->inflight || it->next_ms >= due)
            continue;
        if (it->next_ms <= now && rcount_of(&rc, it->receiver)->n >= PER_RECEIVER_INFLIGHT)
            continue;
        due = it->next_ms;
    }
    free(rc.v);
    for (size_t i = 0; i < a->n_exp; i++)
        if (a->exp[i].ends_ms < due)
            due = a->exp[i].ends_ms;
    if (due == ALERT_NEVER) {
        uv_timer_stop(&a->timer);
        return;
    }
    uv_timer_start(&a->timer, on_timer, due > now ? due - now : 0, 0);
}

/* ---- monitors ---------------------------------------------------------------- */

/* The alertname label of a monitor's alerts: receivers and silences match
 * on it (Alertmanager users know the label). */
#define ALERTNAME_DOWN "MonitorDown"
#define ALERTNAME_FLAPPING "MonitorFlapping"

static const char *severity_name(enum conf_severity sev)
{
    return conf_severity_to_string(sev);
}

/* Why m's alert must not be sent, or NULL: a maintenance window is open
 * for it (*ret_maint set), or a parent it depends on is down. Written into
 * buf. */
static const char *suppression(struct sched *s, const struct conf_monitor *cf, char *buf,
                               size_t len, bool *ret_maint)
{
    const struct conf_maintenance *w = sched_monitor_maintenance(s, cf, now_ms(s), NULL);

    *ret_maint = w != NULL;
    if (w) {
        snprintf(buf, len, "maintenance %s", w->name);
        return buf;
    }
    for (size_t i = 0; i < cf->n_depends_on; i++) {
        const struct sched_monitor_view *pv = sched_monitor_find(s, cf->depends_on[i]);
        if (pv && pv->sm.state == PROBE_STATE_DOWN) {
            snprintf(buf, len, "depends on %s, which is down", cf->depends_on[i]);
            return buf;
        }
    }
    return NULL;
}

/* How many monitors depend on name, directly or through others. */
static size_t dependents(const struct conf *c, const char *name, unsigned depth)
{
    size_t n = 0;

    if (depth > 16)
        return 0;
    for (size_t i = 0; i < c->n_monitors; i++)
        for (size_t j = 0; j < c->monitors[i].n_depends_on; j++)
            if (strcmp(c->monitors[i].depends_on[j], name) == 0) {
                n += 1 + dependents(c, c->monitors[i].name, depth + 1);
                break;
            }
    return n;
}

/* Raises (or refreshes) one of m's alerts: alertname tells them apart
 * ("MonitorDown", "MonitorFlapping"), *slot keeps its id. */
static void fire_named(struct mon *m, const char *alertname, const char *base, const char *cause,
                       uint64_t ts, int64_t *slot)
{
    struct sched *s = m->s;
    struct alerting *a = s->alerting;
    const struct conf_monitor *cf = m->conf;
    struct alert_labels ls = { 0 };
    struct alert_mgr_out o = { 0 };
    char sup[256], summary[512];
    size_t deps = dependents(s->conf, cf->name, 0);
    bool maint;
    const char *held = suppression(s, cf, sup, sizeof(sup), &maint);
    struct alert_input in = {
        .source = "monitor",
        .monitor = cf->name,
        .labels = &ls,
        .severity = (enum alert_severity)cf->severity,
        .summary = summary,
        .message = cause,
        .suppressed = held,
        .starts_ms = ts,
    };
    int64_t id = 0;

    for (size_t i = 0; i < cf->n_labels; i++)
        (void)alert_labels_set(&ls, cf->labels[i].key, cf->labels[i].value);
    (void)alert_labels_set(&ls, "alertname", alertname);
    (void)alert_labels_set(&ls, "monitor", cf->name);
    (void)alert_labels_set(&ls, "severity", severity_name(cf->severity));
    /* the one alert of an outage says how far it reaches */
    if (deps)
        snprintf(summary, sizeof(summary), "%s (%zu dependent monitor%s affected)", base, deps,
                 deps == 1 ? "" : "s");
    else
        snprintf(summary, sizeof(summary), "%s", base);
    if (alert_mgr_fire(a->mgr, &in, now_ms(s), &id, &o) == 0)
        *slot = id;
    if (slot == &m->alert_id)
        m->alert_in_maint = maint;
    alert_labels_clear(&ls);
    alert_mgr_tick(a->mgr, now_ms(s), &o); /* group_wait 0 goes out now */
    apply_out(a, &o);
}

static void fire_for(struct mon *m, const char *cause, uint64_t ts)
{
    char dflt[OPSD_MAX_NAME + 16];
    const char *base = m->conf->summary;

    if (!base) {
        snprintf(dflt, sizeof(dflt), "%s is down", m->conf->name);
        base = dflt;
    }
    fire_named(m, ALERTNAME_DOWN, base, cause, ts, &m->alert_id);
}

static void resolve_slot(struct mon *m, int64_t *slot)
{
    struct alerting *a = m->s->alerting;
    struct alert_mgr_out o = { 0 };

    if (!*slot)
        return;
    (void)alert_mgr_resolve_id(a->mgr, *slot, NULL, now_ms(m->s), &o);
    *slot = 0;
    alert_mgr_tick(a->mgr, now_ms(m->s), &o);
    apply_out(a, &o);
}

static void resolve_for(struct mon *m)
{
    resolve_slot(m, &m->alert_id);
}

/* Children held back by this monitor being down may go out now. */
static void release_dependents(struct sched *s, const char *name)
{
    for (size_t i = 0; i < s->n_mons; i++) {
        struct mon *c = s->mons[i];
        const struct alert_view *v;
        if (!c->alert_id || c->view.sm.state != PROBE_STATE_DOWN)
            continue;
        v = alert_mgr_find_id(s->alerting->mgr, c->alert_id);
        if (!v || !v->suppressed)
            continue;
        for (size_t j = 0; j < c->conf->n_depends_on; j++)
            if (strcmp(c->conf->depends_on[j], name) == 0) {
                fire_for(c, v->message, v->starts_ms);
                break;
            }
    }
}

/* Brings m's alert in line with whether it is down now. */
static void settle(struct mon *m, bool down, const char *cause, uint64_t ts)
{
    if (down) {
        if (!m->alert_id)
            fire_for(m, cause, ts);
        return;
    }
    if (m->alert_id) {
        resolve_for(m);
        release_dependents(m->s, m->conf->name);
    }
}

/* ---- flapping ---------------------------------------------------------------- */

static struct alert_flap *flap_of(struct mon *m, bool was_down)
{
    const struct conf_alerting *ca = &m->s->conf->alerting;
    struct opsd_error err = { 0 };

    if (m->flap)
        return m->flap;
    m->flap = xmalloc(sizeof(*m->flap));
    if (alert_flap_init(m->flap, ca->flap_changes, ca->flap_window_ms, was_down, &err) < 0) {
        /* validated by conf_load; without a detector every change goes out */
        log_warn("event=flap_init_failed monitor=%s err=%s", m->conf->name, log_q(err.msg));
        free(m->flap);
        m->flap = NULL;
    }
    return m->flap;
}

/* While a monitor flaps its changes are held: one "is flapping" alert goes
 * out instead of an alert and a resolve for every flip, and the alert the
 * monitor had stays as it was. When it has kept still for the window the
 * flapping alert resolves and the monitor's alert follows its settled
 * state. */
static void flap_verdict(struct mon *m, const struct alert_flap_verdict *v, const char *cause,
                         uint64_t ts)
{
    char base[OPSD_MAX_NAME + 32], msg[256];

    if (v->event == ALERT_FLAP_STARTED) {
        snprintf(base, sizeof(base), "%s is flapping", m->conf->name);
        snprintf(msg, sizeof(msg),
                 "more than %u changes between up and down within %" PRIu64
                 " s; further changes are held until it is stable for %" PRIu64 " s (last: %s)",
                 m->flap->max_changes, m->flap->window_ms / 1000, m->flap->window_ms / 1000,
                 cause ? cause : "");
        log_info("event=flapping_started monitor=%s", m->conf->name);
        fire_named(m, ALERTNAME_FLAPPING, base, msg, ts, &m->flap_alert_id);
        return;
    }
    if (v->event == ALERT_FLAP_ENDED) {
        log_info("event=flapping_ended monitor=%s down=%d", m->conf->name, v->firing);
        resolve_slot(m, &m->flap_alert_id);
    }
    if (v->event == ALERT_FLAP_ENDED || v->deliver)
        settle(m, v->firing, cause, ts);
}

void sched_alerting_on_result(struct mon *m, bool in_maint)
{
    struct alert_flap_verdict v;
    uint64_t now = now_ms(m->s);
    const struct alert_view *av;

    if (!m->s->alerting)
        return;
    /* A window opened or closed over an open alert: held from now, or sent
     * now if it still fires (results keep coming during maintenance). */
    if (m->alert_id && m->alert_in_maint != in_maint &&
        (av = alert_mgr_find_id(m->s->alerting->mgr, m->alert_id)) != NULL) {
        char msg[OPSD_MAX_MESSAGE];
        uint64_t starts = av->starts_ms;

        snprintf(msg, sizeof(msg), "%s", av->message ? av->message : "");
        fire_for(m, msg, starts);
    }
    if (!m->flap || !m->flap->flapping)
        return;
    v = alert_flap_tick(m->flap, now);
    if (v.event == ALERT_FLAP_ENDED)
        flap_verdict(m, &v, m->view.last.message, now);
}

void sched_alerting_on_state(struct mon *m, enum probe_state from, enum probe_state to,
                             const char *cause, uint64_t ts)
{
    struct alert_flap *f;
    struct alert_flap_verdict v;

    if (!m->s->alerting || (to != PROBE_STATE_DOWN && from != PROBE_STATE_DOWN))
        return;
    f = flap_of(m, from == PROBE_STATE_DOWN);
    if (!f) {
        settle(m, to == PROBE_STATE_DOWN, cause, ts);
        return;
    }
    /* the detector runs on the wall clock, which never goes back for it */
    v = alert_flap_observe(f, to == PROBE_STATE_DOWN, MAX(now_ms(m->s), f->last_change_ms));
    flap_verdict(m, &v, cause, ts);
}

static struct mon *mon_of_alert(struct sched *s, int64_t id)
{
    for (size_t i = 0; i < s->n_mons; i++)
        if (s->mons[i]->alert_id == id || s->mons[i]->flap_alert_id == id)
            return s->mons[i];
    return NULL;
}

int sched_alert_ack(struct sched *s, int64_t id, const char *by)
{
    struct alerting *a = s->alerting;
    struct alert_mgr_out o = { 0 };
    int r;

    if (!a || s->stopping)
        return -ESHUTDOWN;
    r = alert_mgr_ack(a->mgr, id, by, now_ms(s), &o);
    if (r == 0)
        log_info("event=alert_acknowledged id=%" PRId64 " by=%s", id, log_q(by));
    apply_out(a, &o);
    return r;
}

int sched_alert_resolve(struct sched *s, int64_t id, const char *by)
{
    struct alerting *a = s->alerting;
    struct alert_mgr_out o = { 0 };
    struct mon *m;
    int r;

    if (!a || s->stopping)
        return -ESHUTDOWN;
    r = alert_mgr_resolve_id(a->mgr, id, by, now_ms(s), &o);
    if (r == 0) {
        log_info("event=alert_resolved id=%" PRId64 " by=%s", id, log_q(by));
        /* a monitor still down raises a new alert on its next change only */
        m = mon_of_alert(s, id);
        if (m && m->alert_id == id)
            m->alert_id = 0;
        else if (m)
            m->flap_alert_id = 0;
        alert_mgr_tick(a->mgr, now_ms(s), &o);
    }
    apply_out(a, &o);
    return r;
}

int sched_alert_link_check(struct sched *s, const char *token, bool resolve, int64_t id,
                           struct opsd_error *err)
{
    if (!s->alerting)
        return opsd_errorf(err, -ESHUTDOWN, "alerting is not configured");
    if (id <= 0)
        return opsd_errorf(err, -EACCES, "link token is for another alert");
    return alert_link_verify(s->alerting->link_key, token,
                             resolve ? ALERT_LINK_RESOLVE : ALERT_LINK_ACK, (uint64_t)id, now_ms(s),
                             err);
}

/* ---- inbound alerts ----------------------------------------------------------- */

static uint64_t expiry_get(const struct alerting *a, int64_t id)
{
    for (size_t i = 0; i < a->n_exp; i++)
        if (a->exp[i].id == id)
            return a->exp[i].ends_ms;
    return 0;
}

/* Sets (0: clears) when alert id resolves by itself; a change is stored
 * with the alert through o (NULL: it already is), so a restart re-arms the
 * same end. */
static void expiry_set(struct alerting *a, int64_t id, uint64_t ends_ms, struct alert_mgr_out *o)
{
    if (o && expiry_get(a, id) != ends_ms)
        alert_mgr_out_changed(o, id);
    for (size_t i = 0; i < a->n_exp; i++) {
        if (a->exp[i].id != id)
            continue;
        if (ends_ms) {
            a->exp[i].ends_ms = ends_ms;
        } else {
            a->exp[i] = a->exp[a->n_exp - 1];
            a->n_exp--;
        }
        return;
    }
    if (!ends_ms)
        return;
    xgrow((void **)&a->exp, &a->cap_exp, a->n_exp + 1, sizeof(a->exp[0]));
    a->exp[a->n_exp++] = (struct expiry){ .id = id, .ends_ms = ends_ms };
}

/* Alerts whose endsAt passed without a refresh resolve, as in Alertmanager. */
static void expire_inbound(struct alerting *a, struct alert_mgr_out *o)
{
    uint64_t now = now_ms(a->s);

    for (size_t i = 0; i < a->n_exp;) {
        struct expiry e = a->exp[i];
        const struct alert_view *v;

        if (e.ends_ms > now) {
            i++;
            continue;
        }
        a->exp[i] = a->exp[--a->n_exp];
        v = alert_mgr_find_id(a->mgr, e.id);
        if (v && v->state != ALERT_STATE_RESOLVED &&
            alert_mgr_resolve_id(a->mgr, e.id, NULL, now, o) == 0)
            log_info("event=alert_expired id=%" PRId64 " ends_at_ms=%" PRIu64, e.id, e.ends_ms);
    }
}

/* The open alert in means: by its labels, or with any_severity by its labels
 * under any severity. */
static const struct alert_view *find_inbound(struct alerting *a, const struct sched_inbound *in)
{
    const struct alert_view *v = alert_mgr_find_fp(a->mgr, alert_labels_fingerprint(in->labels));
    struct alert_labels ls = { 0 };

    if (v || !in->any_severity)
        return v;
    alert_labels_copy(&ls, in->labels);
    for (int sev = ALERT_SEV_CRITICAL; sev <= ALERT_SEV_LOW && !v; sev++) {
        (void)alert_labels_set(&ls, "severity", alert_severity_to_string((enum alert_severity)sev));
        v = alert_mgr_find_fp(a->mgr, alert_labels_fingerprint(&ls));
    }
    alert_labels_clear(&ls);
    return v;
}

static int64_t inbound_one(struct alerting *a, const struct sched_inbound *in, const char *by,
                           struct alert_mgr_out *o)
{
    uint64_t now = now_ms(a->s);
    const struct alert_view *v = find_inbound(a, in);
    struct alert_labels ls = { 0 };
    int64_t id = 0;
    int r;

    switch (in->action) {
    case SCHED_INBOUND_FIRE: {
        /* copied: the found alert's labels are the manager's */
        alert_labels_copy(&ls, v ? v->labels : in->labels);
        struct alert_input ai = {
            .source = in->source,
            .monitor = NULL,
            .labels = &ls,
            .severity = (enum alert_severity)in->severity,
            .summary = in->summary,
            .message = in->message,
            .starts_ms = in->starts_ms,
        };
        bool fresh = !v;
        if (alert_mgr_fire(a->mgr, &ai, now, &id, o) == 0) {
            expiry_set(a, id, in->ends_ms, o);
            if (fresh)
                log_info("event=alert_inbound action=fire source=%s id=%" PRId64 " by=%s",
                         in->source, id, log_q(by));
        }
        alert_labels_clear(&ls);
        return id;
    }
    case SCHED_INBOUND_RESOLVE:
        if (!v)
            return 0;
        id = v->id;
        if (alert_mgr_resolve_id(a->mgr, id, by, now, o) == 0)
            log_info("event=alert_inbound action=resolve source=%s id=%" PRId64 " by=%s",
                     in->source, id, log_q(by));
        expiry_set(a, id, 0, o);
        return id;
    case SCHED_INBOUND_ACK:
        if (!v)
            return 0;
        id = v->id;
        r = alert_mgr_ack(a->mgr, id, by, now, o);
        if (r == 0)
            log_info("event=alert_acknowledged id=%" PRId64 " source=%s by=%s", id, in->source,
                     log_q(by));
        return id;
    }
    return 0;
}

int sched_alert_inbound(struct sched *s, const struct sched_inbound *v, size_t n, const char *by,
                        int64_t *ret_ids)
{
    struct alerting *a = s->alerting;
    struct alert_mgr_out o = { 0 };

    if (!a || s->stopping)
        return -ESHUTDOWN;
    for (size_t i = 0; i < n; i++)
        ret_ids[i] = inbound_one(a, &v[i], by, &o);
    alert_mgr_tick(a->mgr, now_ms(s), &o); /* group_wait 0 goes out now */
    apply_out(a, &o);
    return 0;
}

/* ---- silences ---------------------------------------------------------------- */

struct sil_ctx {
    struct alert_silence_spec *v;
    size_t n;
    struct alert_silence_matcher *m;
    size_t nm;
    json_t **docs;
};

static int collect_silence(const struct store_silence *si, void *ud)
{
    struct sil_ctx *c = ud;
    json_t *doc = json_loads(si->matchers_json ? si->matchers_json : "[]", 0, NULL);
    size_t i;
    json_t *m;

    if (!json_is_array(doc)) {
        json_decref(doc);
        return 0;
    }
    c->v = xrealloc(c->v, (c->n + 1) * sizeof(c->v[0]));
    c->docs = xrealloc(c->docs, (c->n + 1) * sizeof(json_t *));
    c->docs[c->n] = doc;
    c->v[c->n] = (struct alert_silence_spec){
        .id = si->id,
        .starts_ms = si->starts_ms,
        .ends_ms = si->ends_ms,
        .n_matchers = json_array_size(doc),
    };
    /* matchers point into doc, which lives until the specs are applied */
    c->v[c->n].matchers =
        (void *)xcalloc(json_array_size(doc) + 1, sizeof(struct alert_silence_matcher));
    json_array_foreach(doc, i, m)
    {
        struct alert_silence_matcher *x = (struct alert_silence_matcher *)&c->v[c->n].matchers[i];
        const char *op = json_string_value(json_object_get(m, "op"));
        x->name = json_string_value(json_object_get(m, "name"));
        x->value = json_string_value(json_object_get(m, "value"));
        x->op = !op || !strcmp(op, "=") ? ALERT_MATCH_EQ
                : !strcmp(op, "!=")     ? ALERT_MATCH_NE
                : !strcmp(op, "=~")     ? ALERT_MATCH_RE
                                        : ALERT_MATCH_NRE;
        if (!x->name)
            x->name = "";
        if (!x->value)
            x->value = "";
    }
    c->n++;
    return 0;
}

int sched_silences_reload(struct sched *s, struct opsd_error *err)
{
    struct alerting *a = s->alerting;
    struct sil_ctx c = { 0 };
    struct alert_mgr_out o = { 0 };
    int r;

    if (!a)
        return 0;
    r = store_silences(s->store, now_ms(s), collect_silence, &c, err);
    if (r >= 0)
        r = alert_mgr_set_silences(a->mgr, c.v, c.n, now_ms(s), &o, err);
    for (size_t i = 0; i < c.n; i++) {
        free((void *)c.v[i].matchers);
        json_decref(c.docs[i]);
    }
    free(c.v);
    free(c.docs);
    if (r >= 0)
        log_info("event=silences_loaded active_or_pending=%zu", c.n);
    apply_out(a, &o);
    return r < 0 ? r : 0;
}

/* ---- after a commit ----------------------------------------------------------- */

void sched_alerting_committed(struct sched *s, const struct store_batch *b)
{
    struct alerting *a = s->alerting;

    if (!a || !b->n_notifications)
        return;
    for (size_t i = 0; i < b->n_notifications; i++)
        item_add(a, &b->notifications[i]);
    pump(a);
    arm(a);
}

/* ---- start, reload, stop --------------------------------------------------------- */

struct restore_ctx {
    struct alerting *a;
    struct store_alert *rows;
    size_t n;
};

static int collect_alert(const struct store_alert *r, void *ud)
{
    struct restore_ctx *c = ud;

    c->rows = xrealloc(c->rows, (c->n + 1) * sizeof(c->rows[0]));
    c->rows[c->n] = *r;
    c->rows[c->n].monitor = xstrdup(r->monitor);
    c->rows[c->n].source = xstrdup(r->source);
    c->rows[c->n].labels_json = xstrdup(r->labels_json);
    c->rows[c->n].summary = xstrdup(r->summary);
    c->rows[c->n].message = xstrdup(r->message);
    c->rows[c->n].suppressed = xstrdup(r->suppressed);
    c->rows[c->n].acked_by = xstrdup(r->acked_by);
    c->rows[c->n].review_by = xstrdup(r->review_by);
    c->n++;
    return 0;
}

struct notified_ctx {
    char **names;
    size_t n;
};

static int collect_receiver(const struct store_notification *n, void *ud)
{
    struct notified_ctx *c = ud;

    if (n->reason && strcmp(n->reason, "resolved") == 0)
        return 0;
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->names[i], n->receiver) == 0)
            return 0;
    c->names = xrealloc(c->names, (c->n + 1) * sizeof(c->names[0]));
    c->names[c->n++] = xstrdup(n->receiver);
    return 0;
}

static int collect_pending(const struct store_notification *n, void *ud)
{
    item_add(ud, n);
    return 0;
}

static struct mon *mon_by_name(struct sched *s, const char *name)
{
    for (size_t i = 0; name && i < s->n_mons; i++)
        if (strcmp(s->mons[i]->conf->name, name) == 0)
            return s->mons[i];
    return NULL;
}

static void restore_one(struct alerting *a, const struct store_alert *r, struct alert_mgr_out *o)
{
    struct sched *s = a->s;
    struct alert_labels ls = { 0 };
    struct notified_ctx nc = { 0 };
    struct store_notification_filter nf = { .alert_id = r->id };
    struct opsd_error err = { 0 };
    json_t *lj = json_loads(r->labels_json ? r->labels_json : "{}", 0, NULL);
    const char *k;
    json_t *v;
    struct mon *m = mon_by_name(s, r->monitor);
    struct alert_view view = {
        .id = r->id,
        .fingerprint = r->fingerprint,
        .monitor = r->monitor,
        .source = r->source,
        .severity = (enum alert_severity)r->severity,
        .state = (enum alert_state)r->state,
        .labels = &ls,
        .summary = r->summary,
        .message = r->message,
        .suppressed = r->suppressed,
        .starts_ms = r->starts_ms,
        .updated_ms = r->updated_ms,
        .acked_ms = r->acked_ms,
        .acked_by = r->acked_by,
        .review = r->review,
        .review_by = r->review_by,
        .reviewed_ms = r->reviewed_ms,
    };
    struct alert_restore ar = { .alert = &view };

    json_object_foreach(lj, k, v)
    {
        if (json_is_string(v))
            (void)alert_labels_set(&ls, k, json_string_value(v));
    }
    json_decref(lj);
    (void)store_notifications(s->store, &nf, collect_receiver, &nc, NULL);
    ar.notified = (const char *const *)nc.names;
    ar.n_notified = nc.n;
    if (alert_mgr_restore(a->mgr, &ar, now_ms(s), o, &err) < 0) {
        log_warn("event=alert_restore_failed id=%" PRId64 " err=%s", r->id, log_q(err.msg));
    } else if (r->ends_ms && r->state != STORE_ALERT_RESOLVED) {
        /* already past: the next expiry pass resolves it */
        expiry_set(a, r->id, r->ends_ms, NULL);
    } else if (!r->monitor && r->source && strcmp(r->source, "prometheus") == 0) {
        /* Stored before ends_ms was (schema 8): Prometheus refreshes it
         * within this if it still fires. */
        expiry_set(a, r->id, now_ms(s) + SCHED_INBOUND_RESOLVE_TIMEOUT_MS, o);
    } else if (r->monitor && !strcmp(r->source ? r->source : "monitor", "monitor")) {
        const char *an = alert_labels_get(&ls, "alertname");
        bool flapping = an && strcmp(an, ALERTNAME_FLAPPING) == 0;
        /* A monitor alert lives as long as its monitor is down. A flapping
         * alert ends here: the changes that made it are not kept. */
        if (m && m->view.sm.state == PROBE_STATE_DOWN && !flapping) {
            m->alert_id = r->id;
        } else {
            (void)alert_mgr_resolve_id(a->mgr, r->id, NULL, now_ms(s), o);
            log_info("event=alert_resolved_on_start id=%" PRId64 " monitor=%s why=%s", r->id,
                     log_q(r->monitor),
                     !m         ? "monitor removed"
                     : flapping ? "flap history not kept"
                                : "not down");
        }
    }
    for (size_t i = 0; i < nc.n; i++)
        free(nc.names[i]);
    free(nc.names);
    alert_labels_clear(&ls);
}

int sched_alerting_init(struct sched *s, struct opsd_error *err)
{
    struct alerting *a = xcalloc(1, sizeof(*a));
    struct restore_ctx rc = { .a = a };
    struct store_alert_filter af = { .open_only = true };
    struct store_notification_filter nf = { .state = STORE_NOTIF_PENDING, .oldest_first = true };
    struct alert_mgr_out o = { 0 };
    int64_t max_alert = 0, max_note = 0;
    int r;

    a->s = s;
    r = alert_link_key_load(s->conf->alerting.link_secret, s->conf->server.data_dir, a->link_key,
                            err);
    if (r >= 0)
        r = store_alert_max_id(s->store, &max_alert, err);
    if (r >= 0)
        r = store_notification_max_id(s->store, &max_note, err);
    if (r >= 0)
        r = alert_mgr_new(s->conf, max_alert + 1, max_note + 1, &a->mgr, err);
    if (r >= 0)
        r = notify_sender_new(s->loop,
                              s->conf->alerting.max_inflight ? s->conf->alerting.max_inflight : 64,
                              &a->sender, err);
    if (r < 0) {
        alert_mgr_free(a->mgr);
        explicit_bzero(a->link_key, sizeof(a->link_key)); /* freed memory keeps its bytes */
        free(a);
        return r;
    }
    uv_timer_init(s->loop, &a->timer);
    a->timer.data = a;
    s->alerting = a;
    {
        /* The default external_url is server.listen's: a wildcard there
         * makes links nobody can open. */
        const char *ext = s->conf->alerting.external_url;
        if (ext && (strstr(ext, "://0.0.0.0") || strstr(ext, "://[::]") || strstr(ext, "://*") ||
                    strstr(ext, "://:")))
            log_warn("event=links_unreachable external_url=%s msg=%s", log_q(ext),
                     log_q("one-click links in notifications point at a wildcard address; set "
                           "alerting.external_url to the URL people reach opsd at"));
    }
    /* Silences before alerts, so a restored alert is muted from the start. */
    {
        struct opsd_error serr = { 0 };
        if (sched_silences_reload(s, &serr) < 0)
            log_error("event=silences_load_failed err=%s", log_q(serr.msg));
    }
    /* Open alerts first, so what monitors are still down keeps its alert. */
    (void)store_alerts(s->store, &af, collect_alert, &rc, NULL);
    for (size_t i = rc.n; i-- > 0;) /* newest first from the store: restore oldest first */
        restore_one(a, &rc.rows[i], &o);
    for (size_t i = 0; i < rc.n; i++) {
        free((char *)rc.rows[i].monitor);
        free((char *)rc.rows[i].source);
        free((char *)rc.rows[i].labels_json);
        free((char *)rc.rows[i].summary);
        free((char *)rc.rows[i].message);
        free((char *)rc.rows[i].suppressed);
        free((char *)rc.rows[i].acked_by);
        free((char *)rc.rows[i].review_by);
    }
    free(rc.rows);
    /* A monitor down without an alert (alerting newly configured): raise it. */
    for (size_t i = 0; i < s->n_mons; i++)
        if (s->mons[i]->view.sm.state == PROBE_STATE_DOWN && !s->mons[i]->alert_id)
            fire_for(s->mons[i], "down when opsd started", s->mons[i]->view.sm.since_ms);
    (void)store_notifications(s->store, &nf, collect_pending, a, NULL);
    if (a->n_items)
        log_info("event=outbox_resumed pending=%zu", a->n_items);
    apply_out(a, &o);
    return 0;
}

void sched_alerting_start(struct sched *s)
{
    if (!s->alerting)
        return;
    pump(s->alerting);
    arm(s->alerting);
}

void sched_alerting_reload(struct sched *s)
{
    struct alerting *a = s->alerting;
    struct alert_mgr_out o = { 0 };
    struct opsd_error err = { 0 };

    if (!a)
        return;
    if (alert_mgr_reconfigure(a->mgr, s->conf, now_ms(s), &o, &err) < 0)
        log_error("event=alerting_reload_failed err=%s", log_q(err.msg));
    /* A new link_secret signs new links; links already sent stop working. */
    if (alert_link_key_load(s->conf->alerting.link_secret, s->conf->server.data_dir, a->link_key,
                            &err) < 0)
        log_error("event=link_key_reload_failed err=%s", log_q(err.msg));
    apply_out(a, &o);
    pump(a);
}

/* Called for a monitor that a reload removes: its alert ends with it. */
void sched_alerting_forget(struct mon *m)
{
    if (!m->s->alerting)
        return;
    resolve_for(m);
    resolve_slot(m, &m->flap_alert_id);
}

static void timer_closed(uv_handle_t *h)
{
    struct alerting *a = h->data;
    uv_close_cb cb = (uv_close_cb)a->s->alerting_close_cb;

    a->timer_closed = true;
    h->data = a->s;
    cb(h);
}

/* The sender is no loop handle of ours, but the engine counts it like one:
 * its close callback reads only h->data. */
static void sender_closed(void *ud)
{
    struct alerting *a = ud;
    uv_close_cb cb = (uv_close_cb)a->s->alerting_close_cb;
    uv_handle_t stand_in = { .data = a->s };

    cb(&stand_in);
}

unsigned sched_alerting_close(struct sched *s, uv_close_cb cb)
{
    struct alerting *a = s->alerting;

    if (!a)
        return 0;
    a->closing = true;
    s->alerting_close_cb = (void *)cb;
    uv_timer_stop(&a->timer);
    uv_close((uv_handle_t *)&a->timer, timer_closed);
    /* In-flight deliveries are abandoned unrecorded: their rows stay pending
     * and go out again, with the same idempotency key, after the restart. */
    notify_sender_close(a->sender, sender_closed, a);
    a->sender = NULL;
    return 2;
}

void sched_alerting_cleanup(struct sched *s)
{
    struct alerting *a = s->alerting;

    if (!a)
        return;
    for (size_t i = 0; i < a->n_items; i++)
        item_free(a->items[i]);
    free(a->items);
    free(a->exp);
    alert_mgr_free(a->mgr);
    explicit_bzero(a->link_key, sizeof(a->link_key));
    free(a);
    s->alerting = NULL;
}

void sched_alerting_stats(const struct sched *s, uint64_t *delivered, uint64_t *failed,
                          uint64_t *pending)
{
    const struct alerting *a = s->alerting;

    *delivered = a ? a->delivered : 0;
    *failed = a ? a->failed : 0;
    *pending = a ? a->n_items : 0;
}
