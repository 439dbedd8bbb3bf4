/* Child processes for exec checks and on_failure actions: uv_spawn in a
 * session and process group of their own (setsid), stdout and stderr read
 * through pipes up to a cap (the rest drained, so a flood never blocks),
 * the whole group sent SIGTERM at the timeout and SIGKILL a second later.
 * The loop never waits on a child.
 *
 * A child's context outlives a cancel: it kills the group and waits for the
 * exit (so the child is reaped, never left a zombie) before closing its
 * handles and freeing itself. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched/sched-impl.h"
#include "util/sbuf.h"
#include "util/xalloc.h"

/* After SIGTERM at the timeout, the group gets this long before SIGKILL. */
#define KILL_GRACE_MS 1000
/* A child that exited but left a background process holding its stdout
 * open is judged on what it wrote by then, this long after its exit. */
#define EOF_GRACE_MS 200

struct sched_child {
    sched_child_cb cb;     /* NULL once cancelled or called */
    void *userdata;
    uv_process_t proc;
    uv_pipe_t out, err;
    uv_timer_t timer;
    unsigned handles_open;
    bool spawned, exited, out_eof, err_eof;
    bool timed_out, killed, done;
    int64_t exit_status;
    int term_signal;
    int spawn_error;
    struct sbuf obuf, ebuf;
    bool out_truncated, err_truncated;
    size_t cap;
    bool reap_group;       /* kill what the child left in its group when it exits */
    uint64_t timeout_ms;
    uint64_t t0_ns;
};

/* Environment of every child: a fixed PATH and the C locale, so output is
 * parseable (no localized decimal commas) and opsd's own environment, where
 * secrets for ${VAR} live, is not handed to every command. */
static char env_path[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
static char env_lang[] = "LANG=C";
static char env_lc_all[] = "LC_ALL=C";
static char *child_env[] = { env_path, env_lang, env_lc_all, NULL };

static void maybe_free(struct sched_child *c)
{
    if (c->handles_open)
        return;
    sbuf_release(&c->obuf);
    sbuf_release(&c->ebuf);
    free(c);
}

static void handle_closed(uv_handle_t *h)
{
    struct sched_child *c = h->data;

    c->handles_open--;
    maybe_free(c);
}

static void close_one(uv_handle_t *h)
{
    if (h->data && !uv_is_closing(h))
        uv_close(h, handle_closed);
}

/* Closes what is left once the child has exited (or never started). */
static void close_all(struct sched_child *c)
{
    close_one((uv_handle_t *)&c->timer);
    close_one((uv_handle_t *)&c->out);
    close_one((uv_handle_t *)&c->err);
    if (c->spawned)
        close_one((uv_handle_t *)&c->proc);
}

static void kill_group(struct sched_child *c, int sig)
{
    if (!c->spawned || c->exited)
        return;
    /* The child called setsid(): its pid is its process group. */
    if (kill(-c->proc.pid, sig) < 0)
        uv_process_kill(&c->proc, sig);
}

/* Reports once the child has exited and its output is read (or given up on). */
static void maybe_done(struct sched_child *c)
{
    struct sched_child_result r;
    sched_child_cb cb = c->cb;

    if (!c->exited || c->done || !(c->out_eof && c->err_eof))
        return;
    c->done = true;
    c->cb = NULL;
    if (cb) {
        r = (struct sched_child_result){
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
            .took_us = (uv_hrtime() - c->t0_ns) / 1000,
        };
        cb(&r, c->userdata);
    }
    close_all(c);
}

static void on_timer(uv_timer_t *t)
{
    struct sched_child *c = t->data;

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
    struct sched_child *c = p->data;

    c->exited = true;
    c->exit_status = exit_status;
    c->term_signal = term_signal;
    /* A plugin's leftovers go with it (ESRCH, nothing left, is the usual
     * case); an action's do not: a restart command leaves the service. */
    if (c->reap_group || !c->cb)
        (void)kill(-p->pid, SIGKILL);
    if (!c->cb) {
        /* Cancelled: the child is reaped, nothing is reported. */
        c->done = true;
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
    struct sched_child *c = s->data;
    bool is_out = s == (uv_stream_t *)&c->out;
    struct sbuf *sb = is_out ? &c->obuf : &c->ebuf;
    bool *trunc = is_out ? &c->out_truncated : &c->err_truncated;

    if (n > 0) {
        size_t room = c->cap - MIN(sb->len, c->cap);

        /* Past the cap the output is read and dropped, so a flooding child
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

static void init_handle(struct sched_child *c, uv_handle_t *h)
{
    h->data = c;
    c->handles_open++;
}

struct sched_child *sched_child_start(uv_loop_t *loop, char *const *argv, uint64_t timeout_ms,
                                      size_t cap, bool reap_group, sched_child_cb cb,
                                      void *userdata)
{
    struct sched_child *c = xcalloc(1, sizeof(*c));
    uv_stdio_container_t stdio[3];
    uv_process_options_t opt;
    int r;

    c->cb = cb;
    c->userdata = userdata;
    c->cap = cap;
    c->reap_group = reap_group;
    c->t0_ns = uv_hrtime();
    c->timeout_ms = timeout_ms;
    sbuf_init(&c->obuf);
    sbuf_init(&c->ebuf);
    uv_timer_init(loop, &c->timer);
    init_handle(c, (uv_handle_t *)&c->timer);
    uv_pipe_init(loop, &c->out, 0);
    init_handle(c, (uv_handle_t *)&c->out);
    uv_pipe_init(loop, &c->err, 0);
    init_handle(c, (uv_handle_t *)&c->err);

    memset(stdio, 0, sizeof(stdio));
    stdio[0].flags = UV_IGNORE;
    stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[1].data.stream = (uv_stream_t *)&c->out;
    stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[2].data.stream = (uv_stream_t *)&c->err;
    memset(&opt, 0, sizeof(opt));
    opt.file = argv[0];
    opt.args = (char **)argv;
    opt.env = child_env;
    opt.cwd = "/";
    opt.flags = UV_PROCESS_DETACHED; /* setsid: a group of its own to kill */
    opt.stdio_count = 3;
    opt.stdio = stdio;
    opt.exit_cb = on_exit_cb;
    c->proc.data = c;
    r = uv_spawn(loop, &c->proc, &opt);
    /* Even a failed spawn leaves a handle that must be closed. */
    c->spawned = true;
    init_handle(c, (uv_handle_t *)&c->proc);
    if (r < 0) {
        c->spawn_error = r;
        c->exited = c->out_eof = c->err_eof = true;
        /* Reported on a later turn, never from inside this call. */
        uv_timer_start(&c->timer, on_timer, 0, 0);
        return c;
    }
    uv_read_start((uv_stream_t *)&c->out, on_alloc, on_read);
    uv_read_start((uv_stream_t *)&c->err, on_alloc, on_read);
    uv_timer_start(&c->timer, on_timer, timeout_ms, 0);
    return c;
}

void sched_child_cancel(struct sched_child *c)
{
    if (!c || c->done)
        return;
    c->cb = NULL;
    if (c->exited) {
        /* Waiting for output after the exit (or a failed spawn): nothing
         * to reap. */
        c->done = true;
        close_all(c);
        return;
    }
    /* Killed now, reaped in on_exit_cb, which then closes the handles. */
    c->killed = true;
    kill_group(c, SIGKILL);
    uv_timer_stop(&c->timer);
}
