/* Checks that block run on libuv's thread pool, one work request each. A
 * cancelled check's request may already be running: it is disowned (w->m
 * cleared) and frees itself when it comes back, without a result. */
#include "sched/sched-impl.h"

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
    if (m) {
        m->check = NULL;
        w->done(w, m);
    }
    w->free(w);
}

void sched_work_start(struct mon *m, struct sched_work *w)
{
    w->m = m;
    w->req.data = w;
    m->check = w;
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
