/* Heartbeats: the job reports in (Healthchecks.io-style pings) and the
 * engine only keeps deadlines. A heartbeat expects a success ping every
 * period, or at every time its cron schedule fires (in its time zone), plus
 * grace. /start pings open runs (several at once with ?rid=), so success
 * pings can be judged on their duration (min_runtime, max_runtime) and a
 * run that never ends is noticed at start + max_runtime. The timer is
 * armed for the earliest of those deadlines. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched/sched-impl.h"
#include "util/duration.h"
#include "util/log.h"
#include "util/xalloc.h"

#define MAX_RUNS 16 /* open runs per heartbeat; the oldest goes when more start */

struct hb_run {
    char rid[SCHED_MAX_RID + 1]; /* "" for a run started without ?rid= */
    uint64_t start_ms;
    bool overdue_reported;       /* max_runtime passed: said once */
};

/* A heartbeat's memory: its schedule and its open runs. */
struct hb_memory {
    bool parsed;
    bool has_schedule;
    struct probe_cron cron;
    struct probe_tz *tz;
    uint64_t deadline_ms; /* the schedule's: no success ping by then is a miss */
    struct hb_run runs[MAX_RUNS];
    size_t n_runs;
};

static void on_deadline(uv_timer_t *t);

static struct hb_memory *memory(struct mon *m)
{
    struct hb_memory *mem = m->memory;
    struct opsd_error err = { 0 };

    if (!mem) {
        mem = xcalloc(1, sizeof(*mem));
        m->memory = mem;
        m->memory_size = sizeof(*mem);
    }
    if (!mem->parsed) {
        mem->parsed = true;
        /* The config check parsed both already; a failure here means the
         * zone file changed underneath, and the period-less heartbeat then
         * falls back to one day. */
        if (m->conf->schedule && probe_cron_parse(m->conf->schedule, &mem->cron, &err) == 0 &&
            probe_tz_load(m->conf->tz ? m->conf->tz : "UTC", NULL, &mem->tz, &err) == 0)
            mem->has_schedule = true;
        else if (m->conf->schedule)
            log_error("event=heartbeat_schedule_failed monitor=%s err=%s", m->conf->name,
                      log_q(err.msg));
    }
    return mem;
}

/* The schedule's deadline for a heartbeat whose last success was at last
 * (0: never, counting from since). */
static uint64_t schedule_deadline(struct mon *m, uint64_t last, uint64_t since)
{
    struct hb_memory *mem = memory(m);
    uint64_t d;

    if (mem->has_schedule &&
        probe_cron_deadline(&mem->cron, mem->tz, m->conf->grace_ms, last, since, &d) == 0)
        return d;
    if (m->conf->period_ms)
        return (last ? last : since) + m->conf->period_ms + m->conf->grace_ms;
    return (last ? last : since) + 86400000 + m->conf->grace_ms;
}

/* Arms the timer for the earliest deadline: the schedule's, or an open
 * run's start + max_runtime. */
static void arm(struct mon *m)
{
    struct hb_memory *mem = memory(m);
    uint64_t at = mem->deadline_ms;

    for (size_t i = 0; m->conf->max_runtime_ms && i < mem->n_runs; i++)
        if (!mem->runs[i].overdue_reported)
            at = MIN(at, mem->runs[i].start_ms + m->conf->max_runtime_ms);
    sched_arm_at(m, at, on_deadline);
}

void sched_heartbeat_arm(struct mon *m, uint64_t now_ms)
{
    /* A deadline that passed while opsd was down fires at once: no success
     * ping arrived in time, whoever was to blame. */
    memory(m)->deadline_ms = schedule_deadline(m, m->last_success_ms, now_ms);
    arm(m);
}

static void fmt_time(uint64_t ms, char *buf, size_t n)
{
    if (ms)
        clock_format_rfc3339(ms, buf, n);
    else
        snprintf(buf, n, "never");
}

static void on_deadline(uv_timer_t *t)
{
    struct mon *m = t->data;
    struct sched *s = m->s;
    struct hb_memory *mem = memory(m);
    uint64_t now = clock_now_ms(s->clock);
    struct probe_result r;
    char a[40], b[32], c[32];

    for (size_t i = 0; m->conf->max_runtime_ms && i < mem->n_runs; i++) {
        struct hb_run *run = &mem->runs[i];

        if (run->overdue_reported || now < run->start_ms + m->conf->max_runtime_ms)
            continue;
        run->overdue_reported = true;
        probe_result_init(&r, now);
        r.status = PROBE_CRITICAL;
        fmt_time(run->start_ms, a, sizeof(a));
        snprintf(r.message, sizeof(r.message), "run%s%s started at %s is still running after %s "
                 "(max_runtime %s)", run->rid[0] ? " " : "", run->rid, a,
                 duration_format(now - run->start_ms - (now - run->start_ms) % 1000, b, sizeof(b)),
                 duration_format(m->conf->max_runtime_ms, c, sizeof(c)));
        s->stats.checks_scheduled++;
        sched_record(m, &r, true);
    }
    if (now >= mem->deadline_ms) {
        probe_result_init(&r, now);
        r.status = PROBE_CRITICAL;
        fmt_time(m->last_success_ms, a, sizeof(a));
        duration_format(m->conf->grace_ms, c, sizeof(c));
        if (mem->has_schedule)
            snprintf(r.message, sizeof(r.message),
                     "no ping for the run due by schedule '%s' (%s) + grace %s (last success: %s)",
                     m->conf->schedule, m->conf->tz ? m->conf->tz : "UTC", c, a);
        else
            snprintf(r.message, sizeof(r.message),
                     "no ping within period %s + grace %s (last success: %s)",
                     duration_format(m->conf->period_ms, b, sizeof(b)), c, a);
        s->stats.checks_scheduled++;
        sched_record(m, &r, true);
        /* While it stays silent, record a failure at every missed run: the
         * next fire + grace, or every period. */
        mem->deadline_ms = mem->has_schedule ? schedule_deadline(m, now, now)
                                             : now + (m->conf->period_ms ? m->conf->period_ms
                                                                         : 86400000);
    }
    arm(m);
}

static struct hb_run *find_run(struct hb_memory *mem, const char *rid)
{
    for (size_t i = 0; i < mem->n_runs; i++)
        if (strcmp(mem->runs[i].rid, rid) == 0)
            return &mem->runs[i];
    return NULL;
}

static void drop_run(struct hb_memory *mem, struct hb_run *run)
{
    size_t i = (size_t)(run - mem->runs);

    memmove(&mem->runs[i], &mem->runs[i + 1], (mem->n_runs - i - 1) * sizeof(*run));
    mem->n_runs--;
}

static void start_run(struct hb_memory *mem, const char *rid, uint64_t now)
{
    struct hb_run *run = find_run(mem, rid);

    if (!run) {
        if (mem->n_runs == MAX_RUNS)
            drop_run(mem, &mem->runs[0]); /* the oldest: a run that never reported back */
        run = &mem->runs[mem->n_runs++];
        snprintf(run->rid, sizeof(run->rid), "%s", rid);
    }
    run->start_ms = now;
    run->overdue_reported = false;
}

/* Appends "; text" to r's message. */
static void say(struct probe_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct probe_result *r, const char *fmt, ...)
{
    size_t len = strlen(r->message);
    va_list ap;

    if (len + 2 >= sizeof(r->message))
        return;
    memcpy(r->message + len, "; ", 3);
    va_start(ap, fmt);
    vsnprintf(r->message + len + 2, sizeof(r->message) - len - 2, fmt, ap);
    va_end(ap);
}

/* Judges a success ping's run: too short, too long, or a second success
 * where the schedule expects one. */
static void judge_success(struct mon *m, struct hb_memory *mem, uint64_t now, int64_t run_ms,
                          struct probe_result *r)
{
    const struct conf_monitor *cf = m->conf;
    char a[32], b[32];
    uint64_t prev_fire;

    if (run_ms >= 0 && cf->min_runtime_ms && (uint64_t)run_ms < cf->min_runtime_ms) {
        r->status = PROBE_CRITICAL;
        say(r, "the run took %s, less than min_runtime %s",
            duration_format((uint64_t)run_ms, a, sizeof(a)),
            duration_format(cf->min_runtime_ms, b, sizeof(b)));
    }
    if (run_ms >= 0 && cf->max_runtime_ms && (uint64_t)run_ms > cf->max_runtime_ms) {
        if (r->status == PROBE_OK)
            r->status = PROBE_WARNING;
        say(r, "the run took %s, more than max_runtime %s",
            duration_format((uint64_t)run_ms - (uint64_t)run_ms % 1000, a, sizeof(a)),
            duration_format(cf->max_runtime_ms, b, sizeof(b)));
    }
    /* One success per scheduled run: a second since the latest fire time
     * means the job runs more often than its schedule says. */
    if (mem->has_schedule && m->last_success_ms &&
        probe_cron_prev(&mem->cron, mem->tz, now, &prev_fire) == 0 &&
        m->last_success_ms > prev_fire) {
        char t[40];

        if (r->status == PROBE_OK)
            r->status = PROBE_WARNING;
        fmt_time(prev_fire, t, sizeof(t));
        say(r, "a second success since the run due at %s: pinged more often than the schedule",
            t);
    }
}

int sched_heartbeat_ping(struct sched *s, const char *token, const char *rid,
                         enum probe_ping_kind kind, int exit_code, const char *body,
                         size_t body_len)
{
    const struct conf_monitor *cf;
    struct hb_memory *mem;
    struct hb_run *run;
    struct probe_result r;
    char extra[OPSD_MAX_MESSAGE];
    char *copy = NULL;
    int64_t run_ms = -1;
    struct mon *m;
    uint64_t now;

    if (!token)
        return -ENOENT;
    /* s->mons[i] always runs s->conf->monitors[i]. */
    cf = conf_find_heartbeat(s->conf, token);
    if (!cf || (size_t)(cf - s->conf->monitors) >= s->n_mons)
        return -ENOENT;
    m = s->mons[cf - s->conf->monitors];
    if (s->stopping)
        return -ESHUTDOWN;
    now = clock_now_ms(s->clock);
    rid = rid ? rid : "";
    m->view.last_ping_ms = now;
    if (m->conf->paused)
        return 0;
    mem = memory(m);
    if (kind == PROBE_PING_START) {
        start_run(mem, rid, now);
        log_info("event=ping monitor=%s kind=start rid=%s", m->conf->name, log_q(rid));
        arm(m);
        return 0;
    }

    probe_result_init(&r, now);
    /* The message carries the body's first line; the body itself (the
     * job's output, capped) is stored with the result. */
    extra[0] = '\0';
    if (body && body_len) {
        size_t n = MIN(body_len, (size_t)OPSD_MAX_RESULT_BODY);

        copy = xmalloc(n + 1);
        for (size_t i = 0; i < n; i++)
            copy[i] = body[i] ? body[i] : '?';
        copy[n] = '\0';
        r.body = copy;
        n = strcspn(copy, "\r\n");
        if (n)
            snprintf(extra, sizeof(extra), ": %.*s", (int)MIN(n, (size_t)200), copy);
    }
    run = find_run(mem, rid);
    if (run) {
        run_ms = (int64_t)(now - MIN(now, run->start_ms));
        r.total_us = (int32_t)MIN((uint64_t)run_ms * 1000, (uint64_t)INT32_MAX);
        drop_run(mem, run);
    }
    if (kind == PROBE_PING_SUCCESS || (kind == PROBE_PING_EXIT && exit_code == 0)) {
        r.status = PROBE_OK;
        snprintf(r.message, sizeof(r.message), "success ping%s", extra);
        judge_success(m, mem, now, run_ms, &r);
        /* A run judged a failure (too short) does not meet the deadline. */
        if (r.status != PROBE_CRITICAL) {
            m->last_success_ms = now;
            mem->deadline_ms = schedule_deadline(m, now, now);
        }
    } else {
        r.status = PROBE_CRITICAL;
        if (kind == PROBE_PING_EXIT)
            snprintf(r.message, sizeof(r.message), "exit status %d%s", exit_code, extra);
        else
            snprintf(r.message, sizeof(r.message), "fail ping%s", extra);
    }
    arm(m);
    log_info("event=ping monitor=%s kind=%s rid=%s", m->conf->name,
             r.status == PROBE_CRITICAL ? "fail" : "success", log_q(rid));
    /* An explicit signal is the job's own word: no confirmation needed. */
    sched_record(m, &r, true);
    free(copy);
    return 0;
}

void sched_heartbeat_inherit(struct mon *m, const struct mon *prev)
{
    const struct hb_memory *pm = prev->memory;
    struct hb_memory *mem;

    if (!pm)
        return;
    /* The open runs carry over; the schedule is the new config's. */
    mem = memory(m);
    memcpy(mem->runs, pm->runs, sizeof(mem->runs));
    mem->n_runs = pm->n_runs;
}

void sched_heartbeat_forget(struct mon *m)
{
    struct hb_memory *mem = m->memory;

    if (mem)
        probe_tz_free(mem->tz);
    free(mem);
    m->memory = NULL;
}
