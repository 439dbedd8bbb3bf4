/* Checks that block run on libuv's thread pool, one work request each. A
 * cancelled check's request may already be running: it is disowned (w->m
 * cleared) and frees itself when it comes back, without a result.
 *
 * A worker stuck in the kernel (a hung NFS mount, a dead disk) cannot be
 * interrupted, so each check also has a timer: at the monitor's timeout the
 * check is recorded as failed and disowned, and the monitor goes on. While
 * STUCK_MAX such workers are still out, no new thread-pool check starts, so
 * the pool's threads stay free for the store's writes and name lookups. */
#include <stdio.h>

#include "sched/sched-impl.h"
#include "util/duration.h"
#include "util/log.h"

#define STUCK_MAX 2

/* Workers disowned at their timeout and not back yet, process-wide: they
 * may outlive the engine that started them, so they count here. */
static unsigned stuck;

static void timer_closed(uv_handle_t *h)
{
    struct sched_work *w = h->data;

    w->timer_closed = true;
    if (w->work_done)
        w->free(w);
}

static void stop_timer(struct sched_work *w)
{
    if (!uv_is_closing((uv_handle_t *)&w->timer))
        uv_close((uv_handle_t *)&w->timer, timer_closed);
}

static void on_work(uv_work_t *req)
{
    struct sched_work *w = req->data;

    w->run(w);
}

static void on_work_done(uv_work_t *req, int status)
{
    struct sched_work *w = req->data;
    struct mon *m = w->m;

    (void)status;
    if (w->timed_out) {
        stuck--;
        log_info("event=stuck_check_returned stuck=%u", stuck);
    }
    if (m) {
        m->check = NULL;
        w->m = NULL;
        w->done(w, m);
    }
    w->work_done = true;
    stop_timer(w);
    if (w->timer_closed)
        w->free(w);
}

static void on_timeout(uv_timer_t *t)
{
    struct sched_work *w = t->data;
    struct mon *m = w->m;
    struct probe_result r;
    char d[32];

    if (!m)
        return;
    w->m = NULL;
    w->timed_out = true;
    stuck++;
    m->check = NULL;
    probe_result_init(&r, clock_now_ms(m->s->clock));
    r.status = PROBE_CRITICAL;
    r.total_us = (int32_t)(m->conf->timeout_ms > INT32_MAX / 1000 ? INT32_MAX
                                                                 : m->conf->timeout_ms * 1000);
    snprintf(r.message, sizeof(r.message),
             "timeout: the check did not finish within %s (is the file system hung?)",
             duration_format(m->conf->timeout_ms, d, sizeof(d)));
    log_warn("event=check_stuck monitor=%s stuck=%u", m->conf->name, stuck);
    sched_record(m, &r, false);
    sched_check_finished(m);
}

void sched_work_start(struct mon *m, struct sched_work *w)
{
    if (stuck >= STUCK_MAX) {
        struct probe_result r;

        probe_result_init(&r, clock_now_ms(m->s->clock));
        r.status = PROBE_UNKNOWN;
        snprintf(r.message, sizeof(r.message),
                 "not checked: %u earlier checks are stuck in the kernel (a hung file system?)",
                 stuck);
        w->free(w);
        sched_record(m, &r, false);
        sched_check_finished(m);
        return;
    }
    w->m = m;
    w->req.data = w;
    w->work_done = w->timer_closed = w->timed_out = false;
    m->check = w;
    uv_timer_init(m->s->loop, &w->timer);
    w->timer.data = w;
    uv_timer_start(&w->timer, on_timeout, m->conf->timeout_ms, 0);
    /* Only fails for a NULL callback, which cannot happen here. */
    uv_queue_work(m->s->loop, &w->req, on_work, on_work_done);
}

void sched_work_cancel(struct mon *m)
{
    struct sched_work *w = m->check;

    if (!w)
        return;
    w->m = NULL;
    m->check = NULL;
    /* Not yet started: it will not run, and on_work_done still frees it. */
    uv_cancel((uv_req_t *)&w->req);
}
