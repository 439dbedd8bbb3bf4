/* Maintenance windows. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alert/maint.h"
#include "probe/cron.h"
#include "util/xalloc.h"

struct window {
    const struct conf_maintenance *conf;
    bool recurring;
    struct probe_cron cron;
    struct probe_tz *tz;
};

struct alert_maint {
    struct window *v;
    size_t n;
};

struct alert_maint *alert_maint_free(struct alert_maint *mt)
{
    if (!mt)
        return NULL;
    for (size_t i = 0; i < mt->n; i++)
        probe_tz_free(mt->v[i].tz);
    free(mt->v);
    free(mt);
    return NULL;
}

int alert_maint_new(const struct conf *c, const char *zone_dir, struct alert_maint **ret,
                    struct opsd_error *err)
{
    struct alert_maint *mt = xcalloc(1, sizeof(*mt));
    int r = 0;

    mt->v = xcalloc(c->n_maintenance ? c->n_maintenance : 1, sizeof(*mt->v));
    for (size_t i = 0; i < c->n_maintenance && r == 0; i++) {
        const struct conf_maintenance *cw = &c->maintenance[i];
        struct window *w = &mt->v[mt->n++];
        struct opsd_error e = { 0 };

        w->conf = cw;
        w->recurring = cw->schedule != NULL;
        if (!w->recurring)
            continue;
        r = probe_cron_parse(cw->schedule, &w->cron, &e);
        if (r == 0)
            r = probe_tz_load(cw->tz ? cw->tz : "UTC", zone_dir, &w->tz, &e);
        if (r < 0)
            opsd_errorf(err, r, "maintenance window %s: %s", cw->name, e.msg);
    }
    if (r < 0) {
        alert_maint_free(mt);
        return r;
    }
    *ret = mt;
    return 0;
}

size_t alert_maint_count(const struct alert_maint *mt)
{
    return mt ? mt->n : 0;
}

const struct conf_maintenance *alert_maint_conf(const struct alert_maint *mt, size_t i)
{
    return mt->v[i].conf;
}

int alert_maint_occurrence(const struct alert_maint *mt, size_t i, uint64_t now_ms,
                           uint64_t *ret_start_ms, uint64_t *ret_end_ms)
{
    const struct window *w = &mt->v[i];
    uint64_t start;

    if (!w->recurring) {
        if (now_ms >= w->conf->end_ms)
            return -ENOENT;
        *ret_start_ms = w->conf->start_ms;
        *ret_end_ms = w->conf->end_ms;
        return 0;
    }
    /* The latest start at or before now is the open occurrence if its
     * duration has not run out; config keeps a duration below a week, and
     * occurrences may overlap when the schedule fires more often than the
     * duration: the latest start then still gives the longest-open one. */
    if (probe_cron_prev(&w->cron, w->tz, now_ms, &start) == 0 &&
        now_ms < start + w->conf->duration_ms) {
        *ret_start_ms = start;
        *ret_end_ms = start + w->conf->duration_ms;
        return 0;
    }
    if (probe_cron_next(&w->cron, w->tz, now_ms, &start) < 0)
        return -ENOENT;
    *ret_start_ms = start;
    *ret_end_ms = start + w->conf->duration_ms;
    return 0;
}

static const char *label_of(const struct conf_monitor *m, const char *key)
{
    for (size_t i = 0; i < m->n_labels; i++)
        if (strcmp(m->labels[i].key, key) == 0)
            return m->labels[i].value;
    return NULL;
}

bool alert_maint_covers(const struct alert_maint *mt, size_t i, const struct conf_monitor *m)
{
    const struct conf_maintenance *w = mt->v[i].conf;

    for (size_t j = 0; j < w->n_monitors; j++)
        if (strcmp(w->monitors[j], m->name) == 0)
            return true;
    if (!w->n_labels)
        return false;
    for (size_t j = 0; j < w->n_labels; j++) {
        const char *v = label_of(m, w->labels[j].key);
        if (!v || strcmp(v, w->labels[j].value) != 0)
            return false;
    }
    return true;
}

const struct conf_maintenance *alert_maint_active(const struct alert_maint *mt,
                                                  const struct conf_monitor *m, uint64_t now_ms,
                                                  uint64_t *ret_end_ms)
{
    const struct conf_maintenance *best = NULL;
    uint64_t best_end = 0, start, end;

    for (size_t i = 0; mt && i < mt->n; i++) {
        if (!alert_maint_covers(mt, i, m))
            continue;
        if (alert_maint_occurrence(mt, i, now_ms, &start, &end) < 0 || now_ms < start)
            continue;
        if (!best || end > best_end) {
            best = mt->v[i].conf;
            best_end = end;
        }
    }
    if (best && ret_end_ms)
        *ret_end_ms = best_end;
    return best;
}
