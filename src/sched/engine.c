/* The engine: a timer per monitor on its slot, a concurrency limit with a
 * FIFO, results fed to each monitor's state machine, and batches of results
 * and state changes written to the store off the loop. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/flap.h"
#include "alert/maint.h"
#include "sched/sched-impl.h"
#include "util/cleanup.h"
#include "util/duration.h"
#include "util/log.h"
#include "util/xalloc.h"

#define FLUSH_INTERVAL_MS 1000
/* Check slots are multiples of this: see probe_spread_offset(). */
#define FIRST_CHECK_SPREAD_MS 10000
#define STOP_DRAIN_MAX_MS 10000u /* in-flight checks get this long to finish on stop */
#define SCHED_QUANTUM_MS 100
#define FLUSH_EAGER_RESULTS 20000 /* flush before the tick once this many wait */
#define PRUNE_FIRST_MS 5000       /* soon after start: a long-stopped opsd has a backlog */
#define PRUNE_INTERVAL_MS 3600000

const double sched_lag_bounds[12] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                      0.05,   0.1,   0.25,   0.5,   1.0,  0 /* +Inf */ };

static void start_check(struct mon *m);
static void close_handles(struct sched *s);
static void maybe_finish_stop(struct sched *s);
static void flush(struct sched *s);

double sched_lag_quantile(const struct sched_stats *st, double q)
{
    uint64_t want, prev = 0;

    if (!st->lag_count)
        return 0;
    want = (uint64_t)(q * (double)st->lag_count + 0.999999);
    for (int i = 0; i < 12; i++) {
        uint64_t cum = st->lag_bucket[i];
        if (cum >= want) {
            double lo = i ? sched_lag_bounds[i - 1] : 0;
            double hi = i < 11 ? sched_lag_bounds[i] : sched_lag_bounds[10];
            if (i == 11 || cum == prev)
                return hi;
            return lo + (hi - lo) * (double)(want - prev) / (double)(cum - prev);
        }
        prev = cum;
    }
    return sched_lag_bounds[10];
}

static void observe_lag(struct sched *s, double lag_s)
{
    if (lag_s < 0)
        lag_s = 0;
    for (int i = 0; i < 12; i++)
        if (i == 11 || lag_s <= sched_lag_bounds[i])
            s->stats.lag_bucket[i]++;
    s->stats.lag_sum_s += lag_s;
    s->stats.lag_count++;
}

static uint64_t now_ms(const struct sched *s)
{
    return clock_now_ms(s->clock);
}

/* ---- recording results ---------------------------------------------------- */

static void add_event(struct mon *m, enum probe_state from, enum probe_state to, uint64_t ts,
                      const char *cause)
{
    struct store_event ev = {
        .monitor_id = m->view.store_id,
        .ts_ms = ts,
        .from_state = (int)from,
        .to_state = (int)to,
        .cause = cause,
    };

    store_batch_add_event(&m->s->pending, &ev);
    log_info("event=state_change monitor=%s from=%s to=%s cause=%s", m->conf->name,
             probe_state_to_string(from), probe_state_to_string(to), log_q(cause));
}

/* Feeds one verdict to the state machine: confirm's consecutive count, or
 * the X-of-Y window when the monitor has a tolerance. An explicit signal and
 * the first success of a pending monitor decide at once either way; the
 * window then restarts from the new state. */
static bool judge(struct mon *m, bool ok, bool forced, uint64_t ts, enum probe_state *from)
{
    struct alert_xofy *x = m->xofy;
    bool changed;

    if (!x)
        return probe_sm_feed(&m->view.sm, ok, forced, m->conf->confirm, ts, from);
    if (forced || (ok && m->view.sm.state == PROBE_STATE_PENDING)) {
        changed = probe_sm_feed(&m->view.sm, ok, true, 1, ts, from);
        if (changed)
            alert_xofy_reset(x, !ok);
        return changed;
    }
    if (!alert_xofy_push(x, ok))
        return false;
    return probe_sm_feed(&m->view.sm, !x->down, true, 1, ts, from);
}

static void tolerance_setup(struct mon *m, const struct mon *prev)
{
    const struct conf_monitor *cf = m->conf;

    if (!cf->fail_x)
        return;
    m->xofy = xcalloc(1, sizeof(*m->xofy));
    if (prev && prev->xofy && prev->conf && prev->conf->fail_x == cf->fail_x &&
        prev->conf->fail_y == cf->fail_y && prev->conf->recover_x == cf->recover_x &&
        prev->conf->recover_y == cf->recover_y) {
        *m->xofy = *prev->xofy;
        return;
    }
    /* validated by conf_load, so init cannot fail */
    (void)alert_xofy_init(m->xofy, cf->fail_x, cf->fail_y, cf->recover_x, cf->recover_y, NULL);
    alert_xofy_reset(m->xofy, m->view.sm.state == PROBE_STATE_DOWN);
}

void sched_record(struct mon *m, const struct probe_result *r, bool forced)
{
    struct sched *s = m->s;
    enum probe_state from;
    bool ok = probe_result_ok(r) && !(r->status == PROBE_WARNING && m->conf->down_on_warning);
    bool in_maint = alert_maint_active(s->maint, m->conf, r->started_ms, NULL) != NULL;
    struct store_metric metrics[STORE_MAX_METRICS];
    struct store_result sr = {
        .monitor_id = m->view.store_id,
        .ts_ms = r->started_ms,
        .status = (int)r->status,
        .ok = ok,
        .dns_us = r->dns_us,
        .connect_us = r->connect_us,
        .tls_us = r->tls_us,
        .ttfb_us = r->ttfb_us,
        /* Never negative: the store refuses a batch with an unset total. */
        .total_us = r->total_us < 0 ? 0 : r->total_us,
        .http_status = r->http_status,
        .cert_days = r->cert_days,
        .message = r->message,
        .body = r->body,
        /* left out of uptime and SLOs by the rollups */
        .maintenance = in_maint,
        .metrics = metrics,
        .n_metrics = MIN(r->n_metrics, (size_t)STORE_MAX_METRICS),
    };

    for (size_t i = 0; i < sr.n_metrics; i++)
        metrics[i] = (struct store_metric){
            .name = r->metrics[i].name,
            .unit = r->metrics[i].unit[0] ? r->metrics[i].unit : NULL,
            .value = r->metrics[i].value,
        };
    probe_last_set(&m->view.last, r);
    m->view.has_result = true;
    m->view.checks_total++;
    s->stats.checks_done++;
    if (ok) {
        s->stats.checks_ok++;
    } else {
        m->view.checks_failed++;
        s->stats.checks_failed++;
    }
    log_debug("event=result monitor=%s status=%s latency_ms=%.1f msg=%s", m->conf->name,
              probe_status_to_string(r->status), (double)r->total_us / 1000.0, log_q(r->message));
    store_batch_add_result(&s->pending, &sr);
    if (judge(m, ok, forced, r->started_ms, &from)) {
        add_event(m, from, m->view.sm.state, r->started_ms, r->message);
        if (m->view.sm.state == PROBE_STATE_DOWN)
            sched_action_on_down(m, now_ms(s));
        sched_alerting_on_state(m, from, m->view.sm.state, r->message, r->started_ms);
    }
    sched_alerting_on_result(m, in_maint);
    if (s->pending.n_results >= FLUSH_EAGER_RESULTS)
        flush(s);
}

/* ---- scheduling ------------------------------------------------------------- */

static void on_slot(uv_timer_t *t);

/* Wall-clock slots map to loop time through one shared offset, so every
 * timer for the same slot expires in the same loop iteration whenever it
 * was armed (reading the wall clock afresh for each would scatter them). */
static void sync_clocks(struct sched *s)
{
    s->wall_minus_loop = (int64_t)now_ms(s) - (int64_t)uv_now(s->loop);
}

void sched_arm_at(struct mon *m, uint64_t at_ms, uv_timer_cb cb)
{
    int64_t due_loop = (int64_t)at_ms - m->s->wall_minus_loop;
    int64_t now_loop = (int64_t)uv_now(m->s->loop);

    uv_timer_start(&m->timer, cb, due_loop > now_loop ? (uint64_t)(due_loop - now_loop) : 0, 0);
}

static void enqueue(struct sched *s, struct mon *m)
{
    m->queued = true;
    m->next_queued = NULL;
    if (s->q_tail)
        s->q_tail->next_queued = m;
    else
        s->q_head = m;
    s->q_tail = m;
    s->stats.queued++;
}

static struct mon *dequeue(struct sched *s)
{
    struct mon *m = s->q_head;

    if (!m)
        return NULL;
    s->q_head = m->next_queued;
    if (!s->q_head)
        s->q_tail = NULL;
    m->next_queued = NULL;
    m->queued = false;
    s->stats.queued--;
    return m;
}

static void unqueue(struct sched *s, struct mon *m)
{
    struct mon **pp = &s->q_head, *prev = NULL;

    while (*pp && *pp != m) {
        prev = *pp;
        pp = &(*pp)->next_queued;
    }
    if (!*pp)
        return;
    *pp = m->next_queued;
    if (s->q_tail == m)
        s->q_tail = prev;
    m->queued = false;
    m->next_queued = NULL;
    s->stats.queued--;
}

static void on_slot(uv_timer_t *t)
{
    struct mon *m = t->data;
    struct sched *s = m->s;
    uint64_t now = now_ms(s), due = m->due_ms, interval = m->conf->interval_ms;

    s->stats.checks_scheduled++;
    m->due_ms = probe_next_slot(due + 1, interval, m->offset_ms);
    if (m->due_ms <= now) {
        /* The loop stalled past whole slots: count them, keep the phase. */
        uint64_t missed = (now - m->due_ms) / interval + 1;
        s->stats.checks_scheduled += missed;
        s->stats.checks_skipped += missed;
        m->due_ms += missed * interval;
    }
    sched_arm_at(m, m->due_ms, on_slot);

    if (m->in_flight || m->queued) {
        s->stats.checks_skipped++;
        return;
    }
    m->cur_due_ms = due;
    if (s->stats.in_flight >= s->conf->server.max_concurrency)
        enqueue(s, m);
    else
        start_check(m);
}

static void no_check(struct mon *m)
{
    sched_check_finished(m);
}

static void no_cancel(struct mon *m)
{
    (void)m;
}

static const struct sched_driver drivers[] = {
    [CONF_MON_HTTP] = { sched_http_start, sched_http_cancel },
    [CONF_MON_TCP] = { sched_tcp_start, sched_tcp_cancel },
    /* fed by pings, not checks */
    [CONF_MON_HEARTBEAT] = { no_check, no_cancel, sched_heartbeat_inherit, sched_heartbeat_forget },
    [CONF_MON_EXEC] = { sched_exec_start, sched_exec_cancel },
    [CONF_MON_FILE] = { sched_file_start, sched_work_cancel, sched_file_inherit, NULL },
    [CONF_MON_LOG] = { sched_log_start, sched_work_cancel, sched_log_inherit, sched_log_forget },
    [CONF_MON_HOST] = { sched_host_start, sched_work_cancel, sched_host_inherit,
                        sched_host_forget },
    [CONF_MON_PROCESS] = { sched_host_start, sched_work_cancel, sched_host_inherit,
                           sched_host_forget },
    [CONF_MON_DNS] = { sched_dns_start, sched_dns_cancel },
    [CONF_MON_TLS] = { sched_tls_start, sched_tls_cancel },
    [CONF_MON_ICMP] = { sched_icmp_start, sched_icmp_cancel },
};

static const struct sched_driver no_driver = { no_check, no_cancel, NULL, NULL };

static const struct sched_driver *driver(const struct mon *m)
{
    size_t t = (size_t)m->type;

    return t < ARRAY_SIZE(drivers) && drivers[t].start ? &drivers[t] : &no_driver;
}

static void start_check(struct mon *m)
{
    struct sched *s = m->s;

    m->in_flight = true;
    s->stats.in_flight++;
    s->stats.checks_started++;
    observe_lag(s, (double)((int64_t)now_ms(s) - (int64_t)m->cur_due_ms) / 1000.0);
    driver(m)->start(m);
}

/* A check has ended, with a result or cancelled: its place under the
 * concurrency limit goes to the next queued check, and a stop in progress
 * may now go on. */
static void release_slot(struct mon *m)
{
    struct sched *s = m->s;
    struct mon *next;

    m->in_flight = false;
    s->stats.in_flight--;
    /* A check that ends inside start_check() (a plugin that cannot be
     * split, a skipped stuck check) comes back here: the outer call's loop
     * refills the slots, so a long queue never turns into deep recursion. */
    if (s->releasing)
        return;
    s->releasing = true;
    while (!s->stopping && s->stats.in_flight < s->conf->server.max_concurrency &&
           (next = dequeue(s)))
        start_check(next);
    s->releasing = false;
    maybe_finish_stop(s);
}

void sched_check_finished(struct mon *m)
{
    release_slot(m);
}

/* Abandons a monitor's queued or running check; no result is recorded. */
static void cancel_check(struct mon *m)
{
    struct sched *s = m->s;

    if (m->queued)
        unqueue(s, m);
    if (!m->in_flight)
        return;
    driver(m)->cancel(m);
    release_slot(m);
}

/* ---- monitors: create, start, remove ---------------------------------------------- */

static void mon_closed(uv_handle_t *h)
{
    struct mon *m = h->data;
    struct sched *s = m->s;

    bool counted = m->close_counted;

    curl_url_cleanup(m->curlu);
    curl_slist_free_all(m->http_headers);
    if (driver(m)->forget)
        driver(m)->forget(m);
    else
        free(m->memory);
    sched_action_forget(m);
    probe_last_clear(&m->view.last);
    free(m->xofy);
    free(m->flap);
    free(m);
    if (counted && --s->closing == 0)
        maybe_finish_stop(s);
}

static void mon_remove(struct mon *m)
{
    cancel_check(m);
    m->removed = true;
    uv_timer_stop(&m->timer);
    uv_close((uv_handle_t *)&m->timer, mon_closed);
}

static int mon_new(struct sched *s, const struct conf_monitor *cf, const struct mon *prev,
                   struct mon **ret, struct opsd_error *err)
{
    struct mon *m;
    int64_t id;
    int r;

    r = store_monitor_ensure(s->store, cf->name, (int)cf->type, &id, err);
    if (r < 0)
        return r;
    m = xcalloc(1, sizeof(*m));
    m->s = s;
    m->conf = cf;
    m->type = cf->type;
    m->view.conf = cf;
    m->view.store_id = id;
    uv_timer_init(s->loop, &m->timer);
    m->timer.data = m;
    m->offset_ms = probe_spread_offset(cf->name, cf->interval_ms, SCHED_QUANTUM_MS);
    if (cf->type == CONF_MON_HTTP)
        m->curlu = sched_http_parse_url(cf->url);
    probe_sm_init(&m->view.sm, PROBE_STATE_PENDING, 0);

    if (prev) {
        /* A changed monitor keeps what it knew. */
        m->view.sm = prev->view.sm;
        m->view.sm.consec_ok = m->view.sm.consec_fail = 0;
        m->view.has_result = prev->view.has_result;
        probe_last_copy(&m->view.last, &prev->view.last);
        m->view.checks_total = prev->view.checks_total;
        m->view.checks_failed = prev->view.checks_failed;
        m->view.last_ping_ms = prev->view.last_ping_ms;
        m->last_success_ms = prev->last_success_ms;
        m->alert_id = prev->alert_id;
        m->flap_alert_id = prev->flap_alert_id;
        m->alert_in_maint = prev->alert_in_maint;
        if (prev->flap) {
            m->flap = xmalloc(sizeof(*m->flap));
            memcpy(m->flap, prev->flap, sizeof(*m->flap));
        }
        sched_action_inherit(m, prev);
        if (prev->type == cf->type && driver(prev)->inherit) {
            driver(prev)->inherit(m, prev);
        } else if (prev->type == cf->type && prev->memory) {
            /* Copied, not taken: a reload that fails later keeps prev. */
            m->memory = xmalloc(prev->memory_size);
            memcpy(m->memory, prev->memory, prev->memory_size);
            m->memory_size = prev->memory_size;
        }
    } else {
        struct store_monitor_state st;
        struct store_result last;
        char msg[OPSD_MAX_MESSAGE];

        if (store_monitor_state(s->store, id, &st, NULL) == 0 && st.since_ms)
            probe_sm_init(&m->view.sm, (enum probe_state)st.state, st.since_ms);
        if (store_last_result(s->store, id, &last, msg, sizeof(msg), NULL) == 0) {
            m->view.last = (struct probe_last){
                .started_ms = last.ts_ms,
                .status = (enum probe_status)last.status,
                .dns_us = last.dns_us,
                .connect_us = last.connect_us,
                .tls_us = last.tls_us,
                .ttfb_us = last.ttfb_us,
                .total_us = last.total_us,
                .http_status = last.http_status,
                .cert_days = last.cert_days,
                .message = xstrdup(last.message ? last.message : ""),
            };
            m->view.has_result = true;
            if (last.ok && cf->type == CONF_MON_HEARTBEAT)
                m->last_success_ms = last.ts_ms;
        }
    }
    tolerance_setup(m, prev);
    *ret = m;
    return 0;
}

/* Puts the state right for paused/unpaused and arms the first timer. */
static void mon_start(struct mon *m)
{
    struct sched *s = m->s;
    uint64_t now = now_ms(s);
    enum probe_state cur = m->view.sm.state;

    if (m->conf->paused) {
        if (cur != PROBE_STATE_PAUSED) {
            add_event(m, cur, PROBE_STATE_PAUSED, now, "paused in config");
            probe_sm_init(&m->view.sm, PROBE_STATE_PAUSED, now);
        }
        return;
    }
    if (cur == PROBE_STATE_PAUSED) {
        add_event(m, cur, PROBE_STATE_PENDING, now, "resumed in config");
        probe_sm_init(&m->view.sm, PROBE_STATE_PENDING, now);
    }
    if (m->conf->type == CONF_MON_HEARTBEAT) {
        sched_heartbeat_arm(m, now);
        return;
    }
    /* The first check comes within FIRST_CHECK_SPREAD_MS of start (still
     * spread, by the same hash), not a whole interval later: a new or
     * restarted monitor should not sit in "pending" for minutes. Later checks
     * keep to the regular slots. */
    m->due_ms =
        probe_next_slot(now, MIN(m->conf->interval_ms, FIRST_CHECK_SPREAD_MS), m->offset_ms);
    sched_arm_at(m, m->due_ms, on_slot);
}

/* ---- writing to the store ------------------------------------------------------- */

static void write_work(uv_work_t *w)
{
    struct sched *s = w->data;

    if (s->prune_in_flight) {
        s->prune_rc = store_prune(s->store, s->prune_before_ms, &s->write_err);
        return;
    }
    s->write_rc = store_write(s->store, &s->writing, &s->write_err);
}

static void waiters_fire(struct sched_waiter **list, int rc)
{
    struct sched_waiter *w = *list;

    *list = NULL;
    while (w) {
        struct sched_waiter *next = w->next;
        w->cb(w->userdata, rc);
        free(w);
        w = next;
    }
}

void sched_when_durable(struct sched *s, void (*cb)(void *userdata, int rc), void *userdata)
{
    struct sched_waiter *w, **pp;

    if (store_batch_empty(&s->pending) && store_batch_empty(&s->writing) && !s->write_in_flight) {
        cb(userdata, 0);
        return;
    }
    w = xcalloc(1, sizeof(*w));
    w->cb = cb;
    w->userdata = userdata;
    /* in arrival order: answers go out in the order the changes were made */
    for (pp = &s->waiters_pending; *pp; pp = &(*pp)->next)
        ;
    *pp = w;
    flush(s);
}

static void write_done(uv_work_t *w, int status)
{
    struct sched *s = w->data;

    (void)status;
    if (s->prune_in_flight) {
        s->prune_in_flight = false;
        if (s->prune_rc < 0)
            log_error("event=prune_failed err=%s", log_q(s->write_err.msg));
        else if (s->prune_rc > 0)
            log_info("event=pruned rows=%d", s->prune_rc);
    } else {
        s->write_in_flight = false;
        if (s->write_rc < 0) {
            s->stats.write_errors++;
            s->write_failures++;
            log_error("event=store_write_failed results=%zu events=%zu attempt=%u err=%s",
                      s->writing.n_results, s->writing.n_events, s->write_failures,
                      log_q(s->write_err.msg));
            /* Keep the batch for the next tick; give it up only when the store
             * keeps refusing, so memory stays bounded. */
            if (s->write_failures < 5 && !s->stopping)
                return;
            if (s->writing.n_notifications)
                log_error("event=notifications_lost count=%zu err=%s", s->writing.n_notifications,
                          log_q(s->write_err.msg));
            store_batch_clear(&s->writing);
            waiters_fire(&s->waiters_writing, s->write_rc);
        } else {
            s->stats.results_written += s->writing.n_results;
            /* only now are its notifications durable, and may be sent */
            sched_alerting_committed(s, &s->writing);
            store_batch_clear(&s->writing);
            waiters_fire(&s->waiters_writing, 0);
        }
        s->write_failures = 0;
    }
    /* What piled up during the write and has someone waiting on it (an API
     * answer, a notification to send) goes now, not at the next tick:
     * otherwise an alert raised mid-write waits up to FLUSH_INTERVAL_MS
     * before it may be sent. Plain results keep their batching. */
    if (s->waiters_pending || s->pending.n_notifications)
        flush(s);
    maybe_finish_stop(s);
}

static void flush(struct sched *s)
{
    struct store_batch tmp;

    if (s->write_in_flight || s->prune_in_flight)
        return;
    if (store_batch_empty(&s->writing)) {
        if (store_batch_empty(&s->pending)) {
            waiters_fire(&s->waiters_pending, 0);
            return;
        }
        tmp = s->writing;
        s->writing = s->pending;
        s->pending = tmp;
        s->waiters_writing = s->waiters_pending;
        s->waiters_pending = NULL;
    }
    s->write_in_flight = true;
    s->work.data = s;
    uv_queue_work(s->loop, &s->work, write_work, write_done);
}

static void on_flush_tick(uv_timer_t *t)
{
    sync_clocks(t->data);
    flush(t->data);
}

static void on_prune_tick(uv_timer_t *t)
{
    struct sched *s = t->data;

    if (s->write_in_flight || s->prune_in_flight)
        return;
    s->prune_before_ms = now_ms(s) - s->conf->server.retention_ms;
    s->prune_in_flight = true;
    s->work.data = s;
    uv_queue_work(s->loop, &s->work, write_work, write_done);
}

void sched_flush(struct sched *s)
{
    flush(s);
}

/* ---- lifecycle ----------------------------------------------------------------- */

int sched_new(uv_loop_t *loop, struct conf *conf, struct store *store,
              const struct opsd_clock *clock, struct sched **ret, struct opsd_error *err)
{
    struct sched *s = xcalloc(1, sizeof(*s));
    int r;

    s->loop = loop;
    s->store = store;
    s->clock = clock;
    s->curl_epfd = -1;
    r = sched_http_init(s, err);
    if (r < 0) {
        free(s);
        return r;
    }
    uv_timer_init(loop, &s->flush_timer);
    s->flush_timer.data = s;
    uv_timer_init(loop, &s->prune_timer);
    s->prune_timer.data = s;

    s->mons = xcalloc(conf->n_monitors ? conf->n_monitors : 1, sizeof(struct mon *));
    for (size_t i = 0; i < conf->n_monitors; i++) {
        r = mon_new(s, &conf->monitors[i], NULL, &s->mons[i], err);
        if (r < 0)
            break;
        s->n_mons++;
    }
    s->conf = conf;
    if (r >= 0)
        r = alert_maint_new(conf, NULL, &s->maint, err);
    if (r >= 0)
        r = sched_alerting_init(s, err);
    if (r < 0) {
        /* Nothing started: close the handles; the last close frees s. The
         * caller runs the loop once more before closing it. */
        s->stopping = true;
        s->stop_stage = STOP_CLOSING;
        s->free_when_closed = true;
        close_handles(s);
        return r;
    }
    *ret = s;
    return 0;
}

int sched_start(struct sched *s, struct opsd_error *err)
{
    (void)err;
    uv_update_time(s->loop);
    sync_clocks(s);
    for (size_t i = 0; i < s->n_mons; i++)
        mon_start(s->mons[i]);
    uv_timer_start(&s->flush_timer, on_flush_tick, FLUSH_INTERVAL_MS, FLUSH_INTERVAL_MS);
    uv_timer_start(&s->prune_timer, on_prune_tick, PRUNE_FIRST_MS, PRUNE_INTERVAL_MS);
    sched_alerting_start(s);
    s->started = true;
    log_info("event=engine_started monitors=%zu max_concurrency=%u", s->n_mons,
             s->conf->server.max_concurrency);
    return 0;
}

static struct mon *find_mon(const struct sched *s, const char *name)
{
    const struct conf_monitor *cf = conf_find_monitor(s->conf, name);

    if (!cf || (size_t)(cf - s->conf->monitors) >= s->n_mons)
        return NULL;
    return s->mons[cf - s->conf->monitors];
}

int sched_reload(struct sched *s, struct conf *conf, struct opsd_error *err)
{
    struct mon **mons;
    bool *fresh;
    size_t added = 0, removed = 0, changed = 0;
    struct alert_maint *maint = NULL;
    int r = 0;

    /* Once stopping, new timers would keep the loop alive forever. */
    if (s->stopping) {
        conf_free(conf);
        return opsd_errorf(err, -ESHUTDOWN, "the engine is stopping");
    }
    r = alert_maint_new(conf, NULL, &maint, err);
    if (r < 0) {
        conf_free(conf);
        return r;
    }
    mons = xcalloc(conf->n_monitors ? conf->n_monitors : 1, sizeof(struct mon *));
    fresh = xcalloc(conf->n_monitors ? conf->n_monitors : 1, sizeof(*fresh));

    /* First create every new or changed monitor, touching nothing running, so
     * a failure leaves the old config in charge. */
    for (size_t i = 0; i < conf->n_monitors; i++) {
        const struct conf_monitor *nc = &conf->monitors[i];
        struct mon *old = find_mon(s, nc->name);

        if (old && conf_monitor_equal(old->conf, nc)) {
            mons[i] = old;
            continue;
        }
        r = mon_new(s, nc, old, &mons[i], err);
        if (r < 0)
            break;
        fresh[i] = true;
    }
    if (r < 0) {
        for (size_t i = 0; i < conf->n_monitors; i++)
            if (fresh[i] && mons[i]) {
                mons[i]->removed = true;
                uv_close((uv_handle_t *)&mons[i]->timer, mon_closed);
            }
        free(mons);
        free(fresh);
        alert_maint_free(maint);
        conf_free(conf);
        return r;
    }

    /* Commit: stop monitors that went away or were replaced. */
    for (size_t j = 0; j < s->n_mons; j++) {
        struct mon *old = s->mons[j];
        bool kept = false;
        for (size_t i = 0; i < conf->n_monitors && !kept; i++)
            kept = mons[i] == old;
        if (kept)
            continue;
        if (conf_find_monitor(conf, old->conf->name)) {
            changed++;
        } else {
            removed++;
            sched_alerting_forget(old);
        }
        mon_remove(old);
    }
    for (size_t i = 0; i < conf->n_monitors; i++) {
        if (!fresh[i]) {
            mons[i]->conf = &conf->monitors[i];
            mons[i]->view.conf = mons[i]->conf;
        } else {
            if (!find_mon(s, conf->monitors[i].name))
                added++;
            mon_start(mons[i]);
        }
    }
    free(s->mons);
    s->mons = mons;
    s->n_mons = conf->n_monitors;
    conf_free(s->conf);
    s->conf = conf;
    alert_maint_free(s->maint);
    s->maint = maint;
    free(fresh);
    sched_alerting_reload(s);
    log_info("event=reloaded monitors=%zu added=%zu changed=%zu removed=%zu", s->n_mons, added,
             changed, removed);
    return 0;
}

static void sched_handle_closed(uv_handle_t *h)
{
    struct sched *s = h->data;

    if (--s->closing == 0)
        maybe_finish_stop(s);
}

static void close_handles(struct sched *s)
{
    s->stop_stage = STOP_CLOSING;
    sched_action_stop_all(s);
    s->closing = (unsigned)s->n_mons + 4;
    for (size_t i = 0; i < s->n_mons; i++) {
        s->mons[i]->close_counted = true;
        mon_remove(s->mons[i]);
    }
    s->n_mons = 0;
    uv_close((uv_handle_t *)&s->flush_timer, sched_handle_closed);
    uv_close((uv_handle_t *)&s->prune_timer, sched_handle_closed);
    sched_http_close(s, sched_handle_closed);
    /* Counted after the calls: close callbacks only run on a later turn. */
    s->closing += sched_dns_close(s, sched_handle_closed);
    s->closing += sched_alerting_close(s, sched_handle_closed);
}

/* Moves the stop along: drain in-flight checks, write everything, close
 * handles, report. Called whenever one of those may have finished. */
static void maybe_finish_stop(struct sched *s)
{
    void (*done)(void *);

    switch (s->stop_stage) {
    case STOP_NONE:
        return;
    case STOP_DRAINING:
        if (s->stats.in_flight)
            return;
        s->stop_stage = STOP_FLUSHING;
        /* fall through */
    case STOP_FLUSHING:
        if (s->write_in_flight || s->prune_in_flight)
            return;
        if (!store_batch_empty(&s->pending) || !store_batch_empty(&s->writing)) {
            flush(s);
            return;
        }
        close_handles(s);
        return;
    case STOP_CLOSING:
        if (s->closing)
            return;
        s->stop_stage = STOP_DONE;
        if (s->free_when_closed) {
            sched_free(s);
            return;
        }
        log_info("event=engine_stopped checks_done=%" PRIu64 " results_written=%" PRIu64,
                 s->stats.checks_done, s->stats.results_written);
        waiters_fire(&s->waiters_writing, -ESHUTDOWN);
        waiters_fire(&s->waiters_pending, -ESHUTDOWN);
        done = s->stop_done;
        s->stop_done = NULL;
        if (done)
            done(s->stop_ud);
        return;
    case STOP_DONE:
        return;
    }
}

/* In-flight checks had their chance: abandon the rest so a stop never waits
 * for a long timeout (systemd's stop timeout is shorter than a day). */
static void on_drain_timeout(uv_timer_t *t)
{
    struct sched *s = t->data;

    if (s->stop_stage != STOP_DRAINING)
        return;
    log_warn("event=stop_abandoning_checks in_flight=%u after_ms=%u", s->stats.in_flight,
             STOP_DRAIN_MAX_MS);
    /* A cancel can finish the stop and empty s->mons: re-check the bound. */
    for (size_t i = 0; i < s->n_mons; i++)
        if (s->mons[i]->in_flight)
            cancel_check(s->mons[i]);
}

void sched_stop(struct sched *s, void (*done)(void *userdata), void *userdata)
{
    if (s->stop_stage != STOP_NONE)
        return;
    s->stopping = true;
    s->stop_stage = STOP_DRAINING;
    s->stop_done = done;
    s->stop_ud = userdata;
    for (size_t i = 0; i < s->n_mons; i++) {
        struct mon *m = s->mons[i];
        uv_timer_stop(&m->timer);
        if (m->queued)
            unqueue(s, m);
    }
    uv_timer_stop(&s->prune_timer);
    /* The flush timer is idle until the stop closes it: it times the drain. */
    uv_timer_start(&s->flush_timer, on_drain_timeout, STOP_DRAIN_MAX_MS, 0);
    log_info("event=engine_stopping in_flight=%u pending_results=%zu", s->stats.in_flight,
             s->pending.n_results);
    maybe_finish_stop(s);
}

struct sched *sched_free(struct sched *s)
{
    if (!s)
        return NULL;
    sched_http_cleanup(s);
    sched_dns_cleanup(s);
    sched_alerting_cleanup(s);
    for (struct sched_waiter *w = s->waiters_pending, *n; w; w = n) {
        n = w->next;
        free(w);
    }
    for (struct sched_waiter *w = s->waiters_writing, *n; w; w = n) {
        n = w->next;
        free(w);
    }
    store_batch_clear(&s->pending);
    store_batch_clear(&s->writing);
    free(s->mons);
    alert_maint_free(s->maint);
    conf_free(s->conf);
    free(s);
    return NULL;
}

const struct conf_maintenance *sched_monitor_maintenance(const struct sched *s,
                                                         const struct conf_monitor *m,
                                                         uint64_t now_ms, uint64_t *ret_end_ms)
{
    return alert_maint_active(s->maint, m, now_ms, ret_end_ms);
}

size_t sched_maintenance_count(const struct sched *s)
{
    return alert_maint_count(s->maint);
}

int sched_maintenance_at(const struct sched *s, size_t i, uint64_t now_ms,
                         struct sched_maintenance *ret)
{
    int r;

    if (i >= alert_maint_count(s->maint))
        return -ENOENT;
    *ret = (struct sched_maintenance){ .conf = alert_maint_conf(s->maint, i) };
    r = alert_maint_occurrence(s->maint, i, now_ms, &ret->start_ms, &ret->end_ms);
    ret->scheduled = r == 0;
    ret->active = r == 0 && ret->start_ms <= now_ms;
    for (size_t j = 0; j < s->n_mons; j++)
        if (alert_maint_covers(s->maint, i, s->mons[j]->conf))
            ret->n_monitors++;
    return 0;
}

const struct conf *sched_conf(const struct sched *s)
{
    return s->conf;
}

size_t sched_monitor_count(const struct sched *s)
{
    return s->n_mons;
}

const struct sched_monitor_view *sched_monitor_at(const struct sched *s, size_t i)
{
    return i < s->n_mons ? &s->mons[i]->view : NULL;
}

const struct sched_monitor_view *sched_monitor_find(const struct sched *s, const char *name)
{
    struct mon *m = find_mon(s, name);

    return m ? &m->view : NULL;
}

void sched_get_stats(const struct sched *s, struct sched_stats *ret)
{
    *ret = s->stats;
}
