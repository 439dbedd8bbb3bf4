/* Log checks: a watcher (probe/logwatch.c) per monitor follows the file
 * across checks; each poll runs on the thread pool. The watcher belongs to
 * the check while it is polled and to the monitor between checks, so a
 * reload or stop that disowns a running poll never frees it under the
 * worker. Its position is stored with the result (a memo), so a restart
 * goes on where the last stored check stopped. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched/sched-impl.h"
#include "util/log.h"
#include "util/xalloc.h"

#define CURSOR_MEMO "log.cursor"

struct log_memory {
    struct probe_log *w; /* NULL while a poll has it, or before the first check */
    bool have_cursor;    /* to restore into the next watcher made */
    struct probe_log_cursor cursor;
    bool have_last;      /* where the last finished poll stopped */
    struct probe_log_cursor last;
};

struct log_work {
    struct sched_work w;
    struct probe_log *watcher;
    uint64_t now_ms;
    uint64_t t0_ns;
    struct probe_result r;
    struct probe_log_stats stats;
    uint64_t window_count;
    bool have_cursor;
    char cursor[PROBE_LOG_CURSOR_TEXT];
    uint64_t took_us;
};

static struct log_memory *memory(struct mon *m)
{
    if (!m->memory) {
        m->memory = xcalloc(1, sizeof(struct log_memory));
        m->memory_size = sizeof(struct log_memory);
    }
    return m->memory;
}

static void run(struct sched_work *w)
{
    struct log_work *lw = (struct log_work *)w;
    struct probe_log_cursor c;

    (void)probe_log_poll(lw->watcher, lw->now_ms, &lw->r);
    probe_log_get_stats(lw->watcher, &lw->stats);
    lw->window_count = probe_log_window_count(lw->watcher);
    if (probe_log_cursor_get(lw->watcher, &c) == 0) {
        probe_log_cursor_format(&c, lw->cursor, sizeof(lw->cursor));
        lw->have_cursor = true;
    }
    lw->took_us = (uv_hrtime() - lw->t0_ns) / 1000;
}

static void done(struct sched_work *w, struct mon *m)
{
    struct log_work *lw = (struct log_work *)w;
    struct log_memory *mem = memory(m);
    struct probe_metric metrics[3] = { 0 };

    mem->w = lw->watcher;
    lw->watcher = NULL;
    mem->have_last = probe_log_cursor_get(mem->w, &mem->last) == 0;
    snprintf(metrics[0].name, sizeof(metrics[0].name), "window_matches");
    metrics[0].unit[0] = '\0';
    metrics[0].value = (double)lw->window_count;
    snprintf(metrics[1].name, sizeof(metrics[1].name), "lines_read");
    snprintf(metrics[1].unit, sizeof(metrics[1].unit), "c");
    metrics[1].value = (double)lw->stats.lines;
    snprintf(metrics[2].name, sizeof(metrics[2].name), "bytes_per_second");
    snprintf(metrics[2].unit, sizeof(metrics[2].unit), "B");
    metrics[2].value = (double)lw->stats.bytes_per_s;
    lw->r.metrics = metrics;
    lw->r.n_metrics = 3;
    lw->r.total_us = lw->took_us > INT32_MAX ? INT32_MAX : (int32_t)lw->took_us;
    if (lw->have_cursor) {
        struct store_memo memo = {
            .monitor_id = m->view.store_id,
            .key = CURSOR_MEMO,
            .value = lw->cursor,
        };
        store_batch_set_memo(&m->s->pending, &memo);
    }
    sched_record(m, &lw->r, false);
    sched_check_finished(m);
}

static void work_free(struct sched_work *w)
{
    struct log_work *lw = (struct log_work *)w;

    probe_log_free(lw->watcher); /* still here only when the check was disowned */
    free(lw);
}

/* The watcher for m's config, restoring the position a previous watcher
 * (of this run, or stored by the last one) reached. */
static struct probe_log *make_watcher(struct mon *m, struct log_memory *mem,
                                      struct opsd_error *err)
{
    const struct conf_monitor *cf = m->conf;
    struct probe_log_config lc = {
        .path = cf->path,
        .pattern = cf->pattern,
        .exclude = cf->exclude,
        .ignore_case = cf->ignore_case,
        .window_kind = cf->window_lines ? PROBE_LOG_WINDOW_LINES : PROBE_LOG_WINDOW_TIME,
        .window = cf->window_lines ? cf->window_lines : cf->window_ms,
        .max_matches = cf->max_matches,
        .warn_matches = cf->warn_matches == UINT_MAX ? PROBE_LOG_NO_WARN : cf->warn_matches,
        .from_start = cf->from_start,
    };
    struct probe_log *w = NULL;
    char text[PROBE_LOG_CURSOR_TEXT];

    if (probe_log_new(&lc, &w, err) < 0)
        return NULL;
    if (!mem->have_cursor && m->s->store &&
        store_memo_get(m->s->store, m->view.store_id, CURSOR_MEMO, text, sizeof(text), NULL) ==
            0 &&
        probe_log_cursor_parse(text, &mem->cursor) == 0)
        mem->have_cursor = true;
    if (mem->have_cursor)
        (void)probe_log_restore(w, &mem->cursor);
    mem->have_cursor = false;
    return w;
}

void sched_log_start(struct mon *m)
{
    struct log_memory *mem = memory(m);
    struct log_work *lw;
    struct opsd_error err = { 0 };

    if (!mem->w)
        mem->w = make_watcher(m, mem, &err);
    if (!mem->w) {
        struct probe_result r;

        /* The config check compiled the same patterns: only memory can fail. */
        probe_result_init(&r, clock_now_ms(m->s->clock));
        snprintf(r.message, sizeof(r.message), "cannot watch the log: %s", err.msg);
        sched_record(m, &r, false);
        sched_check_finished(m);
        return;
    }
    lw = xcalloc(1, sizeof(*lw));
    lw->w.run = run;
    lw->w.done = done;
    lw->w.free = work_free;
    lw->watcher = mem->w;
    mem->w = NULL;
    lw->now_ms = clock_now_ms(m->s->clock);
    lw->t0_ns = uv_hrtime();
    probe_result_init(&lw->r, lw->now_ms);
    sched_work_start(m, &lw->w);
}

void sched_log_inherit(struct mon *m, const struct mon *prev)
{
    const struct log_memory *pm = prev->memory;
    struct log_memory *mem;

    /* Only the position carries over, and only for the same file: the
     * watcher itself is rebuilt for the changed config. A poll in flight
     * has prev's watcher; the stored memo stands in then. */
    if (!pm || !m->conf->path || !prev->conf->path || strcmp(m->conf->path, prev->conf->path) != 0)
        return;
    mem = memory(m);
    if (pm->w && probe_log_cursor_get(pm->w, &mem->cursor) == 0) {
        mem->have_cursor = true;
    } else if (pm->have_last) {
        /* A poll is in flight with prev's watcher: go on from where the
         * one before it stopped (the stored memo may lag behind that). */
        mem->cursor = pm->last;
        mem->have_cursor = true;
    } else if (pm->have_cursor) {
        mem->cursor = pm->cursor;
        mem->have_cursor = true;
    }
}

void sched_log_forget(struct mon *m)
{
    struct log_memory *mem = m->memory;

    if (mem)
        probe_log_free(mem->w);
    free(mem);
    m->memory = NULL;
}
