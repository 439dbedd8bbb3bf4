/* on_failure actions, Monit-style: when a monitor goes down, run its
 * command (systemctl restart app) as a child (child.c), at most max_runs
 * times per window so a service that cannot come back is not restarted
 * forever. Each outcome (exit status, time, the first line of output) is
 * stored as an event of kind "action"; so is a run skipped by the limit.
 *
 * A run outlives a reload that replaces or removes its monitor (a restart
 * command should finish); it records against the monitor's stored id and
 * is found by the monitor's name, never through a monitor pointer, so a
 * reload (or one that fails half-way) cannot leave a dangling one.
 * Stopping the engine kills runs still going. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched/sched-impl.h"
#include "util/cleanup.h"
#include "util/duration.h"
#include "util/log.h"
#include "util/xalloc.h"

#define ACTION_OUTPUT_CAP 4096

struct action_run {
    struct sched *s;
    int64_t monitor_id;
    char *name;
    struct sched_child *child;
    struct action_run *next; /* s->actions */
};

struct action_state {
    uint64_t runs[100]; /* start times of recent runs, oldest first (max_runs <= 100) */
    size_t n_runs;
};

static struct action_run *running_for(struct sched *s, const char *name)
{
    for (struct action_run *r = s->actions; r; r = r->next)
        if (strcmp(r->name, name) == 0)
            return r;
    return NULL;
}

static void unlink_run(struct action_run *run)
{
    struct action_run **pp = &run->s->actions;

    while (*pp && *pp != run)
        pp = &(*pp)->next;
    if (*pp)
        *pp = run->next;
}

static void add_action_event(struct sched *s, int64_t monitor_id, enum probe_state state,
                             uint64_t ts, const char *cause)
{
    struct store_event ev = {
        .monitor_id = monitor_id,
        .ts_ms = ts,
        .from_state = (int)state,
        .to_state = (int)state,
        .cause = cause,
        .kind = "action",
    };

    store_batch_add_event(&s->pending, &ev);
}

/* The first non-blank line of out, at most n bytes, into buf. */
static void first_line(const char *out, size_t len, char *buf, size_t n)
{
    size_t i = 0, j;

    while (i < len && (out[i] == '\n' || out[i] == '\r' || out[i] == ' ' || out[i] == '\t'))
        i++;
    for (j = i; j < len && out[j] != '\n' && out[j] != '\r' && j - i < n - 1; j++)
        buf[j - i] = out[j] >= 0x20 || (unsigned char)out[j] >= 0x80 ? out[j] : '?';
    buf[j - i] = '\0';
}

static void on_done(const struct sched_child_result *res, void *userdata)
{
    struct action_run *run = userdata;
    struct sched *s = run->s;
    char what[128], line[256], cause[OPSD_MAX_MESSAGE], took[32];
    const struct sched_monitor_view *v = sched_monitor_find(s, run->name);
    enum probe_state state = v ? v->sm.state : PROBE_STATE_DOWN;

    if (res->spawn_error)
        snprintf(what, sizeof(what), "cannot start: %s", uv_strerror(res->spawn_error));
    else if (res->timed_out)
        snprintf(what, sizeof(what), "killed at its timeout of %s",
                 duration_format(res->timeout_ms, took, sizeof(took)));
    else if (res->term_signal)
        snprintf(what, sizeof(what), "killed by signal %d", res->term_signal);
    else
        snprintf(what, sizeof(what), "exit status %lld", (long long)res->exit_status);
    first_line(res->out, res->out_len, line, sizeof(line));
    if (!line[0])
        first_line(res->err, res->err_len, line, sizeof(line));
    duration_format(res->took_us / 1000, took, sizeof(took));
    snprintf(cause, sizeof(cause), "on_failure: %s after %s%s%s", what, took,
             line[0] ? ": " : "", line);
    add_action_event(s, run->monitor_id, state, clock_now_ms(s->clock), cause);
    /* Not the output: a command may print what it was given. */
    log_info("event=action_done monitor=%s result=%s", run->name, log_q(what));
    unlink_run(run);
    free(run->name);
    free(run);
}

static struct action_state *state_of(struct mon *m)
{
    if (!m->action)
        m->action = xcalloc(1, sizeof(struct action_state));
    return m->action;
}

void sched_action_on_down(struct mon *m, uint64_t now_ms)
{
    const struct conf_monitor *cf = m->conf;
    struct action_state *st;
    struct action_run *run;
    struct opsd_error err = { 0 };
    char **argv = NULL, cause[OPSD_MAX_MESSAGE], per[32];
    size_t keep = 0;

    if (!cf->action_command || m->s->stopping)
        return;
    st = state_of(m);
    if (running_for(m->s, cf->name)) {
        add_action_event(m->s, m->view.store_id, PROBE_STATE_DOWN, now_ms,
                         "on_failure: not run: the previous run is still going");
        return;
    }
    /* Forget runs older than the window. */
    while (keep < st->n_runs && st->runs[keep] + cf->action_per_ms <= now_ms)
        keep++;
    memmove(st->runs, st->runs + keep, (st->n_runs - keep) * sizeof(st->runs[0]));
    st->n_runs -= keep;
    if (st->n_runs >= cf->action_max_runs) {
        snprintf(cause, sizeof(cause),
                 "on_failure: not run: %zu runs in the last %s already (max_runs %u)", st->n_runs,
                 duration_format(cf->action_per_ms, per, sizeof(per)), cf->action_max_runs);
        add_action_event(m->s, m->view.store_id, PROBE_STATE_DOWN, now_ms, cause);
        log_warn("event=action_limited monitor=%s runs=%zu", cf->name, st->n_runs);
        return;
    }
    if (probe_plugin_split(cf->action_command, &argv, NULL, &err) < 0) {
        /* The config check split it already. */
        snprintf(cause, sizeof(cause), "on_failure: not run: %s", err.msg);
        add_action_event(m->s, m->view.store_id, PROBE_STATE_DOWN, now_ms, cause);
        return;
    }
    if (st->n_runs == ARRAY_SIZE(st->runs)) {
        memmove(st->runs, st->runs + 1, (st->n_runs - 1) * sizeof(st->runs[0]));
        st->n_runs--;
    }
    st->runs[st->n_runs++] = now_ms;
    run = xcalloc(1, sizeof(*run));
    run->s = m->s;
    run->monitor_id = m->view.store_id;
    run->name = xstrdup(cf->name);
    run->next = m->s->actions;
    m->s->actions = run;
    /* The command is never logged: it may carry secrets from ${VAR}. */
    log_info("event=action_started monitor=%s run=%zu max_runs=%u", cf->name, st->n_runs,
             cf->action_max_runs);
    /* What a restart command starts must outlive it: the group is killed
     * only at the timeout, not when the command exits. */
    run->child = sched_child_start(m->s->loop, argv, cf->action_timeout_ms, ACTION_OUTPUT_CAP,
                                   false, on_done, run);
    free(argv);
}

void sched_action_inherit(struct mon *m, const struct mon *prev)
{
    const struct action_state *ps = prev->action;
    struct action_state *st;

    if (!ps || !m->conf->action_command)
        return;
    st = state_of(m);
    memcpy(st->runs, ps->runs, sizeof(st->runs));
    st->n_runs = ps->n_runs;
}

void sched_action_forget(struct mon *m)
{
    /* A run still going finishes on its own: it holds no monitor pointer. */
    free(m->action);
    m->action = NULL;
}

void sched_action_stop_all(struct sched *s)
{
    while (s->actions) {
        struct action_run *run = s->actions;

        s->actions = run->next;
        log_warn("event=action_killed monitor=%s reason=stopping", run->name);
        sched_child_cancel(run->child);
        free(run->name);
        free(run);
    }
}
