/* /metrics in the Prometheus text exposition format 0.0.4, rendered from
 * plain structs (the glue in handlers.c fills them from the engine). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "web/web-internal.h"

void web_prom_escape(struct sbuf *sb, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '\\':
            sbuf_puts(sb, "\\\\");
            break;
        case '"':
            sbuf_puts(sb, "\\\"");
            break;
        case '\n':
            sbuf_puts(sb, "\\n");
            break;
        default:
            sbuf_putc(sb, *s);
        }
    }
}

/* A sample value: shortest decimal that reads back the same, +Inf/NaN as
 * the format spells them. */
static void add_value(struct sbuf *sb, double v)
{
    if (isnan(v))
        sbuf_puts(sb, "NaN");
    else if (isinf(v))
        sbuf_puts(sb, v > 0 ? "+Inf" : "-Inf");
    else
        sbuf_addf(sb, "%.15g", v);
}

static void header(struct sbuf *sb, const char *name, const char *type, const char *help)
{
    sbuf_addf(sb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void simple(struct sbuf *sb, const char *name, const char *type, const char *help, double v)
{
    header(sb, name, type, help);
    sbuf_addf(sb, "%s ", name);
    add_value(sb, v);
    sbuf_putc(sb, '\n');
}

void web_prom_histogram(struct sbuf *sb, const char *name, const char *help, const double *bounds,
                        const uint64_t *buckets, size_t n, double sum, uint64_t count)
{
    header(sb, name, "histogram", help);
    for (size_t i = 0; i < n; i++) {
        sbuf_addf(sb, "%s_bucket{le=\"", name);
        if (i == n - 1 || isinf(bounds[i]))
            sbuf_puts(sb, "+Inf");
        else
            add_value(sb, bounds[i]);
        sbuf_addf(sb, "\"} %llu\n", (unsigned long long)buckets[i]);
    }
    sbuf_addf(sb, "%s_sum ", name);
    add_value(sb, sum);
    sbuf_addf(sb, "\n%s_count %llu\n", name, (unsigned long long)count);
}

int web_proc_parse_stat(const char *text, long page_size, long ticks_per_s,
                        struct web_proc_stats *ret)
{
    /* "pid (comm) state ppid ...": comm may hold spaces and parentheses,
     * so count fields from the last ')'. utime and stime are fields 14 and
     * 15, rss (pages) is 24; after ") " the state is field 3. */
    const char *p = strrchr(text, ')');
    unsigned long long utime = 0, stime = 0, rss = 0;
    int field = 3;
    char *end;

    if (!p || page_size <= 0 || ticks_per_s <= 0)
        return -EINVAL;
    p++;
    while (field <= 24) {
        while (*p == ' ')
            p++;
        if (!*p)
            return -EINVAL;
        if (field == 14 || field == 15 || field == 24) {
            unsigned long long v = strtoull(p, &end, 10);
            if (end == p)
                return -EINVAL;
            if (field == 14)
                utime = v;
            else if (field == 15)
                stime = v;
            else
                rss = v;
            p = end;
        }
        while (*p && *p != ' ')
            p++;
        field++;
    }
    *ret = (struct web_proc_stats){
        .ok = true,
        .rss_bytes = rss * (unsigned long long)page_size,
        .cpu_s = (double)(utime + stime) / (double)ticks_per_s,
    };
    return 0;
}

static const enum probe_state all_states[] = {
    PROBE_STATE_UP,
    PROBE_STATE_DOWN,
    PROBE_STATE_PENDING,
    PROBE_STATE_PAUSED,
};

static void monitor_label(struct sbuf *sb, const char *metric, const char *name)
{
    sbuf_addf(sb, "%s{monitor=\"", metric);
    web_prom_escape(sb, name);
    sbuf_putc(sb, '"');
}

void web_metrics_render(struct sbuf *sb, const struct web_metric_monitor *mons, size_t n,
                        const struct sched_stats *st, const double *lag_bounds,
                        const struct web_proc_stats *proc)
{
    header(sb, "opsd_monitor_up", "gauge", "Whether the monitor is up (1) or not (0).");
    for (size_t i = 0; i < n; i++) {
        monitor_label(sb, "opsd_monitor_up", mons[i].name);
        sbuf_addf(sb, "} %d\n", mons[i].state == PROBE_STATE_UP);
    }

    header(sb, "opsd_monitor_state", "gauge",
           "The monitor's state: 1 for the current one, 0 for the others.");
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < ARRAY_SIZE(all_states); k++) {
            const char *s = probe_state_to_string(all_states[k]);
            monitor_label(sb, "opsd_monitor_state", mons[i].name);
            sbuf_puts(sb, ",state=\"");
            web_prom_escape(sb, s ? s : "unknown");
            sbuf_addf(sb, "\"} %d\n", mons[i].state == all_states[k]);
        }
    }

    header(sb, "opsd_monitor_latency_seconds", "gauge", "Total time of the monitor's last check.");
    for (size_t i = 0; i < n; i++) {
        if (!mons[i].has_latency)
            continue;
        monitor_label(sb, "opsd_monitor_latency_seconds", mons[i].name);
        sbuf_puts(sb, "} ");
        add_value(sb, mons[i].latency_s);
        sbuf_putc(sb, '\n');
    }

    header(sb, "opsd_monitor_cert_expiry_days", "gauge",
           "Days until the monitor's TLS certificate expires, when known.");
    for (size_t i = 0; i < n; i++) {
        if (!mons[i].has_cert)
            continue;
        monitor_label(sb, "opsd_monitor_cert_expiry_days", mons[i].name);
        sbuf_addf(sb, "} %d\n", (int)mons[i].cert_days);
    }

    header(sb, "opsd_checks_total", "counter", "Checks finished, by result.");
    sbuf_addf(sb, "opsd_checks_total{result=\"ok\"} %llu\n", (unsigned long long)st->checks_ok);
    sbuf_addf(sb, "opsd_checks_total{result=\"failed\"} %llu\n",
              (unsigned long long)st->checks_failed);
    simple(sb, "opsd_checks_scheduled_total", "counter", "Check slots that came due.",
           (double)st->checks_scheduled);
    simple(sb, "opsd_checks_skipped_total", "counter",
           "Check slots skipped because the previous check still ran.", (double)st->checks_skipped);
    simple(sb, "opsd_checks_in_flight", "gauge", "Checks running now.", (double)st->in_flight);
    simple(sb, "opsd_checks_queued", "gauge", "Checks waiting for the concurrency limit.",
           (double)st->queued);
    simple(sb, "opsd_results_written_total", "counter", "Results written to the store.",
           (double)st->results_written);
    simple(sb, "opsd_store_write_errors_total", "counter", "Failed writes to the store.",
           (double)st->write_errors);
    web_prom_histogram(sb, "opsd_check_start_lag_seconds",
                       "How late checks started after their scheduled time.", lag_bounds,
                       st->lag_bucket, ARRAY_SIZE(st->lag_bucket), st->lag_sum_s, st->lag_count);
    simple(sb, "opsd_monitors", "gauge", "Monitors in the running config.", (double)n);
    if (proc && proc->ok) {
        simple(sb, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
               (double)proc->rss_bytes);
        simple(sb, "process_cpu_seconds_total", "counter",
               "Total user and system CPU time spent in seconds.", proc->cpu_s);
    }
    header(sb, "opsd_build_info", "gauge", "The running opsd's version.");
    sbuf_puts(sb, "opsd_build_info{version=\"");
    web_prom_escape(sb, OPSD_VERSION);
    sbuf_puts(sb, "\"} 1\n");
}
