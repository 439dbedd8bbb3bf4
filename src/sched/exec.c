/* Exec checks: a Nagios/Monitoring-Plugins command run as a child (see
 * child.c: its own process group, output capped, killed at the timeout);
 * probe_plugin_evaluate() judges what it did. */
#include <stdio.h>
#include <stdlib.h>

#include "sched/sched-impl.h"
#include "util/log.h"

struct exec_check {
    struct mon *m;
    struct sched_child *child;
    uint64_t started_ms;
};

static void to_metric(const struct probe_perf *p, struct probe_metric *m)
{
    snprintf(m->name, sizeof(m->name), "%s", p->label);
    switch (p->unit) {
    case PROBE_PERF_SECONDS:
        snprintf(m->unit, sizeof(m->unit), "s");
        break;
    case PROBE_PERF_BYTES:
        snprintf(m->unit, sizeof(m->unit), "B");
        break;
    case PROBE_PERF_PERCENT:
        snprintf(m->unit, sizeof(m->unit), "%%");
        break;
    case PROBE_PERF_COUNTER:
        snprintf(m->unit, sizeof(m->unit), "c");
        break;
    case PROBE_PERF_OTHER:
        snprintf(m->unit, sizeof(m->unit), "%s", p->uom);
        break;
    default:
        m->unit[0] = '\0';
    }
    m->value = p->base;
}

static void record(struct mon *m, uint64_t started_ms, const struct probe_plugin_run *run,
                   uint64_t took_us)
{
    struct probe_plugin_output out = { 0 };
    struct probe_metric metrics[PROBE_PLUGIN_MAX_PERF];
    struct probe_result r;

    probe_plugin_evaluate(run, &out);
    probe_result_init(&r, started_ms);
    r.status = out.status;
    snprintf(r.message, sizeof(r.message), "%s", out.message);
    r.total_us = took_us > INT32_MAX ? INT32_MAX : (int32_t)took_us;
    for (size_t i = 0; i < out.n_perf && r.n_metrics < PROBE_PLUGIN_MAX_PERF; i++)
        if (!out.perf[i].undetermined)
            to_metric(&out.perf[i], &metrics[r.n_metrics++]);
    r.metrics = metrics;
    probe_plugin_output_clear(&out);
    sched_record(m, &r, false);
    sched_check_finished(m);
}

static void on_done(const struct sched_child_result *res, void *userdata)
{
    struct exec_check *c = userdata;
    struct mon *m = c->m;
    struct probe_plugin_run run = {
        .spawn_error = res->spawn_error,
        .timed_out = res->timed_out,
        .timeout_ms = res->timeout_ms,
        .exit_status = res->exit_status,
        .term_signal = res->term_signal,
        .out = res->out,
        .out_len = res->out_len,
        .out_truncated = res->out_truncated,
        .err = res->err,
        .err_len = res->err_len,
    };

    m->check = NULL;
    record(m, c->started_ms, &run, res->took_us);
    free(c);
}

void sched_exec_start(struct mon *m)
{
    struct opsd_error err = { 0 };
    struct exec_check *c;
    char **argv = NULL;
    int r;

    r = probe_plugin_split(m->conf->command, &argv, NULL, &err);
    if (r < 0) {
        /* The config check split it already; only a cap can differ here. */
        struct probe_plugin_run run = { .spawn_error = r };

        log_warn("event=exec_split_failed monitor=%s err=%s", m->conf->name, log_q(err.msg));
        record(m, clock_now_ms(m->s->clock), &run, 0);
        return;
    }
    c = calloc(1, sizeof(*c));
    if (!c)
        abort();
    c->m = m;
    c->started_ms = clock_now_ms(m->s->clock);
    m->check = c;
    c->child = sched_child_start(m->s->loop, argv, m->conf->timeout_ms, PROBE_PLUGIN_MAX_OUTPUT,
                                 true, on_done, c);
    free(argv);
}

void sched_exec_cancel(struct mon *m)
{
    struct exec_check *c = m->check;

    if (!c)
        return;
    m->check = NULL;
    sched_child_cancel(c->child); /* on_done is never called now */
    free(c);
}
