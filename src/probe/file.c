/* The file monitor's rules: missing, too old, too small or too large is
 * critical; a content change (when checksums are asked for) is a warning;
 * shrinking against the previous file by more than max_shrink is critical. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "probe/probe.h"
#include "util/duration.h"
#include "util/units.h"

static void add_metric(struct probe_result *r, struct probe_metric *metrics, const char *name,
                       const char *unit, double v)
{
    struct probe_metric *m = &metrics[r->n_metrics++];

    snprintf(m->name, sizeof(m->name), "%s", name);
    snprintf(m->unit, sizeof(m->unit), "%s", unit);
    m->value = v;
}

/* Appends "; text" (or text first) to r's message, as far as it fits. */
static void say(struct probe_result *r, const char *text)
{
    size_t len = strlen(r->message);

    snprintf(r->message + len, sizeof(r->message) - len, "%s%s", len ? "; " : "", text);
}

static void worsen(struct probe_result *r, enum probe_status s)
{
    if (r->status == PROBE_OK || (s == PROBE_CRITICAL && r->status == PROBE_WARNING))
        r->status = s;
}

void probe_file_evaluate(const struct conf_monitor *cf, const struct probe_file_obs *obs,
                         struct probe_file_memory *mem, uint64_t now_ms, struct probe_result *r,
                         struct probe_metric *metrics)
{
    char a[32], b[32], text[OPSD_MAX_MESSAGE];
    uint64_t age_ms;

    r->metrics = metrics;
    r->n_metrics = 0;
    r->message[0] = '\0';
    if (obs->err == -ENOENT) {
        r->status = PROBE_CRITICAL;
        snprintf(r->message, sizeof(r->message), "%s '%s'",
                 strpbrk(cf->path, "*?[") ? "no file matches" : "no such file", cf->path);
        add_metric(r, metrics, "matches", "", 0);
        return;
    }
    if (obs->err < 0) {
        r->status = PROBE_CRITICAL;
        snprintf(r->message, sizeof(r->message), "cannot read '%s': %s", obs->path,
                 strerror(-obs->err));
        return;
    }
    r->status = PROBE_OK;
    age_ms = now_ms > obs->mtime_ms ? now_ms - obs->mtime_ms : 0;
    add_metric(r, metrics, "size_bytes", "B", (double)obs->size);
    add_metric(r, metrics, "age_seconds", "s", (double)age_ms / 1000.0);
    add_metric(r, metrics, "matches", "", (double)obs->n_matches);

    /* A new file (or a rewritten one) turns the one seen so far into the
     * reference the new one's size is held against. */
    if (mem->have_cur &&
        (strcmp(mem->cur_path, obs->path) != 0 || mem->cur_mtime_ms != obs->mtime_ms)) {
        mem->have_ref = true;
        mem->ref_size = mem->cur_size;
    }

    if (!obs->regular) {
        worsen(r, PROBE_CRITICAL);
        snprintf(text, sizeof(text), "'%s' is not a regular file", obs->path);
        say(r, text);
    }
    if (cf->max_age_ms && age_ms > cf->max_age_ms) {
        worsen(r, PROBE_CRITICAL);
        snprintf(text, sizeof(text), "'%s' is %s old (max %s)", obs->path,
                 duration_format(age_ms - age_ms % 1000, a, sizeof(a)),
                 duration_format(cf->max_age_ms, b, sizeof(b)));
        say(r, text);
    }
    if (cf->min_size && obs->size < cf->min_size) {
        worsen(r, PROBE_CRITICAL);
        snprintf(text, sizeof(text), "'%s' is %s, below min_size %s", obs->path,
                 units_format_bytes(obs->size, a, sizeof(a)),
                 units_format_bytes(cf->min_size, b, sizeof(b)));
        say(r, text);
    }
    if (cf->max_size != UINT64_MAX && obs->size > cf->max_size) {
        worsen(r, PROBE_CRITICAL);
        snprintf(text, sizeof(text), "'%s' is %s, above max_size %s", obs->path,
                 units_format_bytes(obs->size, a, sizeof(a)),
                 units_format_bytes(cf->max_size, b, sizeof(b)));
        say(r, text);
    }
    if (cf->max_shrink_pct >= 0 && mem->have_ref && mem->ref_size > 0 &&
        obs->size < mem->ref_size) {
        double shrink = 100.0 * (double)(mem->ref_size - obs->size) / (double)mem->ref_size;

        if (shrink > cf->max_shrink_pct) {
            worsen(r, PROBE_CRITICAL);
            snprintf(text, sizeof(text), "'%s' is %s, %.1f%% smaller than the previous %s (max %g%%)",
                     obs->path, units_format_bytes(obs->size, a, sizeof(a)), shrink,
                     units_format_bytes(mem->ref_size, b, sizeof(b)), cf->max_shrink_pct);
            say(r, text);
        }
    }
    if (cf->checksum && obs->have_sha256 && mem->have_cur && mem->cur_sha256[0] &&
        strcmp(mem->cur_path, obs->path) == 0 && strcmp(mem->cur_sha256, obs->sha256) != 0) {
        worsen(r, PROBE_WARNING);
        snprintf(text, sizeof(text), "'%s' content changed (sha256 %.12s… -> %.12s…)", obs->path,
                 mem->cur_sha256, obs->sha256);
        say(r, text);
    }
    if (r->status == PROBE_OK) {
        snprintf(text, sizeof(text), "'%s' %s, %s old", obs->path,
                 units_format_bytes(obs->size, a, sizeof(a)),
                 duration_format(age_ms - age_ms % 1000, b, sizeof(b)));
        say(r, text);
    }

    mem->have_cur = true;
    snprintf(mem->cur_path, sizeof(mem->cur_path), "%s", obs->path);
    mem->cur_mtime_ms = obs->mtime_ms;
    mem->cur_size = obs->size;
    if (obs->have_sha256)
        memcpy(mem->cur_sha256, obs->sha256, sizeof(mem->cur_sha256));
    else
        mem->cur_sha256[0] = '\0';
}
