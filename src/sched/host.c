/* Host and process checks: a sample read from /proc and statvfs on the
 * thread pool (statvfs can stall on a sick disk), judged on the loop
 * against the previous sample, which gives the rates (CPU %, bytes/s) and
 * notices a restarted process. The previous sample is the monitor's memory. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sched/sched-impl.h"
#include "util/xalloc.h"

struct host_work {
    struct sched_work w;
    bool process;
    /* host: what to read */
    char **mounts, **ifaces;
    size_t n_mounts, n_ifaces;
    /* process: what to look for */
    char *pidfile, *name, *match;
    uint64_t started_ms;
    uint64_t t0_ns, took_us;
    int rc;
    struct opsd_error err;
    struct probe_host_sample *host; /* the sample read */
    struct probe_proc_sample proc;
};

/* What a host or process monitor remembers: its previous sample. */
struct host_memory {
    struct probe_host_sample *host;
    struct probe_proc_sample proc;
};

static bool str_same(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static char **strv_dup(char *const *v, size_t n)
{
    char **d = xcalloc(n ? n : 1, sizeof(*d));

    for (size_t i = 0; i < n; i++)
        d[i] = xstrdup(v[i]);
    return d;
}

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static void run(struct sched_work *w)
{
    struct host_work *hw = (struct host_work *)w;

    if (hw->process) {
        struct probe_proc_env env = {
            .proc_root = NULL,
            .clk_tck = sysconf(_SC_CLK_TCK),
            .page_size = sysconf(_SC_PAGESIZE),
            .self_pid = (int)getpid(),
        };
        struct probe_proc_query q = { .pidfile = hw->pidfile, .name = hw->name, .cmdline = hw->match };

        hw->rc = probe_proc_sample_read(&env, &q, hw->started_ms, &hw->proc, &hw->err);
    } else {
        struct probe_host_filter f = {
            .mounts = (const char *const *)hw->mounts,
            .n_mounts = hw->n_mounts,
            .ifaces = (const char *const *)hw->ifaces,
            .n_ifaces = hw->n_ifaces,
        };

        hw->host = xcalloc(1, sizeof(*hw->host));
        hw->rc = probe_host_sample_read(NULL, &f, hw->started_ms, hw->host, &hw->err);
    }
    hw->took_us = (uv_hrtime() - hw->t0_ns) / 1000;
}

static struct host_memory *memory(struct mon *m)
{
    if (!m->memory) {
        struct host_memory *mem = xcalloc(1, sizeof(*mem));

        probe_proc_sample_init(&mem->proc);
        m->memory = mem;
        m->memory_size = sizeof(*mem);
    }
    return m->memory;
}

static void limit(struct probe_limit *dst, const struct conf_limit *src)
{
    dst->warn = src->warn;
    dst->crit = src->crit;
}

/* "disk_used_pct{mount=\"/\"}" */
static void to_metrics(const struct probe_host_metric *hm, size_t n, struct probe_metric *out)
{
    for (size_t i = 0; i < n; i++) {
        if (hm[i].label_key && hm[i].label[0])
            snprintf(out[i].name, sizeof(out[i].name), "%s{%s=\"%s\"}", hm[i].name,
                     hm[i].label_key, hm[i].label);
        else
            snprintf(out[i].name, sizeof(out[i].name), "%s", hm[i].name);
        snprintf(out[i].unit, sizeof(out[i].unit), "%s", hm[i].unit ? hm[i].unit : "");
        out[i].value = hm[i].value;
    }
}

static void done(struct sched_work *w, struct mon *m)
{
    struct host_work *hw = (struct host_work *)w;
    struct host_memory *mem = memory(m);
    const struct conf_limits *cl = &m->conf->limits;
    struct probe_host_metric *hm = NULL;
    struct probe_metric *metrics = NULL;
    struct probe_result r;
    size_t n = 0;

    probe_result_init(&r, hw->started_ms);
    if (hw->rc < 0) {
        r.status = PROBE_UNKNOWN;
        snprintf(r.message, sizeof(r.message), "%s", hw->err.msg);
    } else if (hw->process) {
        struct probe_proc_limits lim;

        probe_proc_limits_init(&lim);
        lim.min_count = m->conf->min_count;
        lim.max_count = m->conf->max_count;
        lim.restart_warns = m->conf->restart_warns;
        limit(&lim.cpu, &cl->cpu);
        limit(&lim.rss, &cl->rss);
        probe_proc_evaluate(&lim, mem->proc.valid ? &mem->proc : NULL, &hw->proc, &r);
        hm = xcalloc(PROBE_PROC_MAX_METRICS, sizeof(*hm));
        n = probe_proc_metrics(mem->proc.valid ? &mem->proc : NULL, &hw->proc, hm,
                               PROBE_PROC_MAX_METRICS);
        /* The new sample becomes the one to compare with. */
        probe_proc_sample_clear(&mem->proc);
        mem->proc = hw->proc;
        probe_proc_sample_init(&hw->proc);
    } else {
        struct probe_host_limits lim;

        probe_host_limits_init(&lim);
        limit(&lim.cpu, &cl->cpu);
        limit(&lim.memory, &cl->memory);
        limit(&lim.swap, &cl->swap);
        limit(&lim.disk, &cl->disk);
        limit(&lim.inodes, &cl->inodes);
        limit(&lim.load1, &cl->load1);
        limit(&lim.load5, &cl->load5);
        limit(&lim.load15, &cl->load15);
        limit(&lim.net_rx, &cl->net_rx);
        limit(&lim.net_tx, &cl->net_tx);
        probe_host_evaluate(&lim, mem->host, hw->host, &r);
        hm = xcalloc(PROBE_HOST_MAX_METRICS, sizeof(*hm));
        n = probe_host_metrics(mem->host, hw->host, hm, PROBE_HOST_MAX_METRICS);
        free(mem->host);
        mem->host = hw->host;
        hw->host = NULL;
    }
    if (n) {
        n = n > PROBE_MAX_METRICS ? PROBE_MAX_METRICS : n;
        metrics = xcalloc(n, sizeof(*metrics));
        to_metrics(hm, n, metrics);
        r.metrics = metrics;
        r.n_metrics = n;
    }
    r.total_us = hw->took_us > INT32_MAX ? INT32_MAX : (int32_t)hw->took_us;
    sched_record(m, &r, false);
    free(metrics);
    free(hm);
    sched_check_finished(m);
}

static void work_free(struct sched_work *w)
{
    struct host_work *hw = (struct host_work *)w;

    strv_free(hw->mounts, hw->n_mounts);
    strv_free(hw->ifaces, hw->n_ifaces);
    free(hw->pidfile);
    free(hw->name);
    free(hw->match);
    free(hw->host);
    probe_proc_sample_clear(&hw->proc);
    free(hw);
}

void sched_host_start(struct mon *m)
{
    const struct conf_monitor *cf = m->conf;
    struct host_work *hw = xcalloc(1, sizeof(*hw));

    hw->w.run = run;
    hw->w.done = done;
    hw->w.free = work_free;
    hw->process = cf->type == CONF_MON_PROCESS;
    if (cf->n_mounts) {
        hw->mounts = strv_dup(cf->mounts, cf->n_mounts);
        hw->n_mounts = cf->n_mounts;
    }
    if (cf->n_interfaces) {
        hw->ifaces = strv_dup(cf->interfaces, cf->n_interfaces);
        hw->n_ifaces = cf->n_interfaces;
    }
    hw->pidfile = cf->pidfile ? xstrdup(cf->pidfile) : NULL;
    hw->name = cf->process_name ? xstrdup(cf->process_name) : NULL;
    hw->match = cf->match ? xstrdup(cf->match) : NULL;
    probe_proc_sample_init(&hw->proc);
    hw->started_ms = clock_now_ms(m->s->clock);
    hw->t0_ns = uv_hrtime();
    sched_work_start(m, &hw->w);
}

void sched_host_inherit(struct mon *m, const struct mon *prev)
{
    const struct host_memory *pm = prev->memory;
    struct host_memory *mem;

    if (!pm)
        return;
    mem = memory(m);
    if (pm->host) {
        mem->host = xmalloc(sizeof(*mem->host));
        memcpy(mem->host, pm->host, sizeof(*mem->host));
    }
    /* A process sample is only a baseline for the same query. */
    if (pm->proc.valid && str_same(m->conf->pidfile, prev->conf->pidfile) &&
        str_same(m->conf->process_name, prev->conf->process_name) &&
        str_same(m->conf->match, prev->conf->match)) {
        mem->proc = pm->proc;
        mem->proc.procs = NULL;
        if (pm->proc.n_procs) {
            mem->proc.procs = xcalloc(pm->proc.n_procs, sizeof(*mem->proc.procs));
            memcpy(mem->proc.procs, pm->proc.procs, pm->proc.n_procs * sizeof(*pm->proc.procs));
        }
    }
}

void sched_host_forget(struct mon *m)
{
    struct host_memory *mem = m->memory;

    if (mem) {
        free(mem->host);
        probe_proc_sample_clear(&mem->proc);
    }
    free(mem);
    m->memory = NULL;
}
