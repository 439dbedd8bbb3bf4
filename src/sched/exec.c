/* Exec checks: a Nagios/Monitoring-Plugins command run with uv_spawn in a
 * process group of its own (setsid), stdout and stderr read through pipes
 * up to a cap, the whole group killed at the timeout. The loop never waits
 * on the child; probe_plugin_evaluate() judges what it did.
 *
 * A check's context outlives its monitor when cancelled: it kills the group
 * and waits for the exit (so the child is reaped, never left a zombie)
 * before closing its handles and freeing itself. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched/sched-impl.h"
#include "util/log.h"
#include "util/sbuf.h"
#include "util/xalloc.h"

/* After SIGTERM at the timeout, the group gets this long before SIGKILL. */
#define KILL_GRACE_MS 1000
/* A plugin that exited but left a background child holding its stdout open
 * is judged on what it wrote by then, this long after its exit. */
#define EOF_GRACE_MS 200

struct exec_check {
    struct mon *m; /* NULL once finished or cancelled */
    uv_process_t proc;
    uv_pipe_t out, err;
    uv_timer_t timer;
    unsigned handles_open;
    bool spawned, exited, out_eof, err_eof;
    bool timed_out, killed, judged;
    int64_t exit_status;
    int term_signal;
    int spawn_error;
    struct sbuf obuf, ebuf;
    bool out_truncated, err_truncated;
    uint64_t timeout_ms;
    uint64_t started_ms;
    uint64_t t0_ns;
};

/* Environment of every plugin: a fixed PATH and the C locale, so output is
 * parseable (no localized decimal commas) and opsd's own environment, where
 * secrets for ${VAR} live, is not handed to every command. */
static char env_path[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
static char env_lang[] = "LANG=C";
static char env_lc_all[] = "LC_ALL=C";
static char *plugin_env[] = { env_path, env_lang, env_lc_all, NULL };

static void maybe_free(struct exec_check *c)
{
    if (c->handles_open)
        return;
    sbuf_release(&c->obuf);
    sbuf_release(&c->ebuf);
    free(c);
}

static void handle_closed(uv_handle_t *h)
{
    struct exec_check *c = h->data;

    c->handles_open--;
    maybe_free(c);
}

static void close_one(struct exec_check *c, uv_handle_t *h)
{
    if (h->data && !uv_is_closing(h))
        uv_close(h, handle_closed);
}

/* Closes what is left once the child has exited (or never started). */
static void close_all(struct exec_check *c)
{
    close_one(c, (uv_handle_t *)&c->timer);
    close_one(c, (uv_handle_t *)&c->out);
    close_one(c, (uv_handle_t *)&c->err);
    if (c->spawned)
        close_one(c, (uv_handle_t *)&c->proc);
}

static void kill_group(struct exec_check *c, int sig)
{
    if (!c->spawned || c->exited)
        return;
    /* The child called setsid(): its pid is its process group. */
    if (kill(-c->proc.pid, sig) < 0)
        uv_process_kill(&c->proc, sig);
}

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

/* Judges the run and records it; the handles close after. */
static void judge(struct exec_check *c)
{
    struct mon *m = c->m;
    struct probe_plugin_run run = {
        .spawn_error = c->spawn_error,
        .timed_out = c->timed_out,
        .timeout_ms = c->timeout_ms,
        .exit_status = c->exit_status,
        .term_signal = c->term_signal,
        .out = c->obuf.buf,
        .out_len = c->obuf.len,
        .out_truncated = c->out_truncated,
        .err = c->ebuf.buf,
        .err_len = c->ebuf.len,
    };
    struct probe_plugin_output out = { 0 };
    struct probe_metric metrics[PROBE_PLUGIN_MAX_PERF];
    struct probe_result r;
    uint64_t us;

    c->judged = true;
    if (!m)
        return;
    c->m = NULL;
    m->check = NULL;
    probe_plugin_evaluate(&run, &out);
    probe_result_init(&r, c->started_ms);
    r.status = out.status;
    snprintf(r.message, sizeof(r.message), "%s", out.message);
    us = (uv_hrtime() - c->t0_ns) / 1000;
    r.total_us = us > INT32_MAX ? INT32_MAX : (int32_t)us;
    for (size_t i = 0; i < out.n_perf && r.n_metrics < PROBE_PLUGIN_MAX_PERF; i++)
        if (!out.perf[i].undetermined)
            to_metric(&out.perf[i], &metrics[r.n_metrics++]);
    r.metrics = metrics;
    probe_plugin_output_clear(&out);
    sched_record(m, &r, false);
    sched_check_finished(m);
}

/* Judged once the child has exited and its output is read (or given up on). */
static void maybe_done(struct exec_check *c)
{
    if (!c->exited || c->judged)
        return;
    if (c->out_eof && c->err_eof) {
        judge(c);
        close_all(c);
    }
}

static void on_timer(uv_timer_t *t)
{
    struct exec_check *c = t->data;

    if (c->exited) {
        /* EOF_GRACE_MS after the exit: a background child still holds a pipe. */
        c->out_eof = c->err_eof = true;
        maybe_done(c);
        return;
    }
    if (!c->killed) {
        c->timed_out = true;
        c->killed = true;
        kill_group(c, SIGTERM);
        uv_timer_start(&c->timer, on_timer, KILL_GRACE_MS, 0);
        return;
    }
    kill_group(c, SIGKILL);
}

static void on_exit_cb(uv_process_t *p, int64_t exit_status, int term_signal)
{
    struct exec_check *c = p->data;

    c->exited = true;
    c->exit_status = exit_status;
    c->term_signal = term_signal;
    /* Whatever the plugin left running in its group goes with it (ESRCH,
     * nothing left, is the usual case). */
    (void)kill(-p->pid, SIGKILL);
    if (!c->m) {
        /* Cancelled: the child is reaped, nothing is judged. */
        c->judged = true;
        close_all(c);
        return;
    }
    if (!(c->out_eof && c->err_eof))
        uv_timer_start(&c->timer, on_timer, EOF_GRACE_MS, 0);
    maybe_done(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    /* Each read is appended at once, so one buffer per thread serves all. */
    static _Thread_local char scratch[64 * 1024];

    (void)h;
    (void)suggested;
    *buf = uv_buf_init(scratch, sizeof(scratch));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct exec_check *c = s->data;
    bool is_out = s == (uv_stream_t *)&c->out;
    struct sbuf *sb = is_out ? &c->obuf : &c->ebuf;
    bool *trunc = is_out ? &c->out_truncated : &c->err_truncated;

    if (n > 0) {
        size_t room = PROBE_PLUGIN_MAX_OUTPUT - MIN(sb->len, (size_t)PROBE_PLUGIN_MAX_OUTPUT);

        /* Past the cap the output is read and dropped, so a flooding plugin
         * never blocks on a full pipe while we wait for its exit. */
        if ((size_t)n > room)
            *trunc = true;
        sbuf_add(sb, buf->base, MIN((size_t)n, room));
        return;
    }
    if (n == 0)
        return;
    uv_read_stop(s);
    if (is_out)
        c->out_eof = true;
    else
        c->err_eof = true;
    maybe_done(c);
}

static void init_handle(struct exec_check *c, uv_handle_t *h)
{
    h->data = c;
    c->handles_open++;
}

void sched_exec_start(struct mon *m)
{
    struct sched *s = m->s;
    struct exec_check *c = xcalloc(1, sizeof(*c));
    uv_stdio_container_t stdio[3];
    uv_process_options_t opt;
    struct opsd_error err = { 0 };
    char **argv = NULL;
    int r;

    c->m = m;
    c->started_ms = clock_now_ms(s->clock);
    c->t0_ns = uv_hrtime();
    c->timeout_ms = m->conf->timeout_ms;
    sbuf_init(&c->obuf);
    sbuf_init(&c->ebuf);
    m->check = c;
    uv_timer_init(s->loop, &c->timer);
    init_handle(c, (uv_handle_t *)&c->timer);
    uv_pipe_init(s->loop, &c->out, 0);
    init_handle(c, (uv_handle_t *)&c->out);
    uv_pipe_init(s->loop, &c->err, 0);
    init_handle(c, (uv_handle_t *)&c->err);

    r = probe_plugin_split(m->conf->command, &argv, NULL, &err);
    if (r < 0) {
        /* The config check split it already; only a cap can differ here. */
        c->spawn_error = r;
        c->exited = c->out_eof = c->err_eof = true;
        log_warn("event=exec_split_failed monitor=%s err=%s", m->conf->name, log_q(err.msg));
        maybe_done(c);
        return;
    }
    memset(stdio, 0, sizeof(stdio));
    stdio[0].flags = UV_IGNORE;
    stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[1].data.stream = (uv_stream_t *)&c->out;
    stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[2].data.stream = (uv_stream_t *)&c->err;
    memset(&opt, 0, sizeof(opt));
    opt.file = argv[0];
    opt.args = argv;
    opt.env = plugin_env;
    opt.cwd = "/";
    opt.flags = UV_PROCESS_DETACHED; /* setsid: a group of its own to kill */
    opt.stdio_count = 3;
    opt.stdio = stdio;
    opt.exit_cb = on_exit_cb;
    c->proc.data = c;
    r = uv_spawn(s->loop, &c->proc, &opt);
    free(argv);
    if (r < 0) {
        /* libuv still made a handle that must be closed. */
        c->spawned = true;
        init_handle(c, (uv_handle_t *)&c->proc);
        c->spawn_error = r;
        c->exited = c->out_eof = c->err_eof = true;
        maybe_done(c);
        return;
    }
    c->spawned = true;
    init_handle(c, (uv_handle_t *)&c->proc);
    uv_read_start((uv_stream_t *)&c->out, on_alloc, on_read);
    uv_read_start((uv_stream_t *)&c->err, on_alloc, on_read);
    uv_timer_start(&c->timer, on_timer, c->timeout_ms, 0);
}

void sched_exec_cancel(struct mon *m)
{
    struct exec_check *c = m->check;

    if (!c)
        return;
    c->m = NULL;
    m->check = NULL;
    if (c->exited) {
        /* Waiting for output after the exit: nothing to reap. */
        c->judged = true;
        close_all(c);
        return;
    }
    /* Killed now, reaped in on_exit_cb, which then closes the handles. */
    c->killed = true;
    kill_group(c, SIGKILL);
    uv_timer_stop(&c->timer);
}
