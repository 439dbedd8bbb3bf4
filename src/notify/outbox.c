/* The outbox's stored form of a notification, and the retry schedule: pure,
 * so a payload written before a crash reads back the same afterwards. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "notify/notify.h"
#include "util/opsd_limits.h"
#include "util/xalloc.h"

static json_t *labels_obj(const struct notify_label *v, size_t n)
{
    json_t *o = json_object();

    for (size_t i = 0; i < n; i++)
        if (v[i].key && v[i].value)
            json_object_set_new(o, v[i].key, json_string(v[i].value));
    return o;
}

static json_t *alert_obj(const struct notify_alert *a, int64_t id)
{
    json_t *o = json_object();

    json_object_set_new(o, "id", json_integer(id));
    json_object_set_new(o, "fingerprint", json_string(a->fingerprint ? a->fingerprint : ""));
    json_object_set_new(o, "status", json_string(notify_status_to_string(a->status)));
    json_object_set_new(o, "acknowledged", json_boolean(a->acknowledged));
    json_object_set_new(o, "severity", json_string(notify_severity_to_string(a->severity)));
    if (a->monitor)
        json_object_set_new(o, "monitor", json_string(a->monitor));
    json_object_set_new(o, "labels", labels_obj(a->labels, a->n_labels));
    if (a->summary)
        json_object_set_new(o, "summary", json_string(a->summary));
    if (a->message)
        json_object_set_new(o, "message", json_string(a->message));
    json_object_set_new(o, "starts_at_ms", json_integer((json_int_t)a->starts_at_ms));
    json_object_set_new(o, "ends_at_ms", json_integer((json_int_t)a->ends_at_ms));
    return o;
}

int notify_payload_encode(const struct notify_group *g, const char *reason, const int64_t *ids,
                          char **ret_json)
{
    json_t *root = json_object(), *alerts = json_array();
    char *s = NULL;
    size_t keep = g->n_alerts;

    json_object_set_new(root, "v", json_integer(1));
    json_object_set_new(root, "reason", json_string(reason ? reason : "firing"));
    json_object_set_new(root, "group_key", json_string(g->group_key ? g->group_key : ""));
    json_object_set_new(root, "group_labels", labels_obj(g->group_labels, g->n_group_labels));
    for (size_t i = 0; i < g->n_alerts; i++)
        json_array_append_new(alerts, alert_obj(&g->alerts[i], ids[i]));
    json_object_set_new(root, "alerts", alerts);
    for (;;) {
        s = json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII);
        if (!s || strlen(s) <= OPSD_MAX_NOTIFY_PAYLOAD || keep <= 1)
            break;
        /* too big for one row: keep the first alerts (the group is sorted
         * by fingerprint, so which ones is stable) */
        free(s);
        keep = keep / 2;
        while (json_array_size(alerts) > keep)
            json_array_remove(alerts, json_array_size(alerts) - 1);
    }
    json_decref(root);
    if (!s)
        return -ENOMEM;
    *ret_json = s;
    return keep < g->n_alerts ? (int)keep : 0;
}

static char *get_str(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);

    return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

static int labels_from(json_t *o, struct notify_label **ret, size_t *ret_n)
{
    const char *k;
    json_t *v;
    size_t n = 0;
    struct notify_label *ls;

    if (!o) {
        *ret = NULL;
        *ret_n = 0;
        return 0;
    }
    if (!json_is_object(o))
        return -EINVAL;
    ls = xcalloc(json_object_size(o) + 1, sizeof(*ls));
    json_object_foreach(o, k, v)
    {
        if (!json_is_string(v))
            continue;
        ls[n].key = xstrdup(k);
        ls[n].value = xstrdup(json_string_value(v));
        n++;
    }
    *ret = ls;
    *ret_n = n;
    return 0;
}

static void labels_free(struct notify_label *ls, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free((char *)ls[i].key);
        free((char *)ls[i].value);
    }
    free(ls);
}

void notify_payload_free(struct notify_payload *p)
{
    if (!p)
        return;
    free(p->reason);
    free(p->group_key);
    labels_free(p->group_labels, p->n_group_labels);
    for (size_t i = 0; i < p->n_alerts; i++) {
        struct notify_alert *a = &p->alerts[i];
        free((char *)a->fingerprint);
        free((char *)a->monitor);
        free((char *)a->summary);
        free((char *)a->message);
        labels_free((struct notify_label *)a->labels, a->n_labels);
    }
    free(p->alerts);
    free(p->alert_ids);
    *p = (struct notify_payload){ 0 };
}

static int severity_from(const char *s)
{
    static const char *const names[] = { NULL, "critical", "high", "medium", "low" };

    for (int i = 1; i <= 4; i++)
        if (s && strcmp(s, names[i]) == 0)
            return i;
    return NOTIFY_HIGH;
}

int notify_payload_decode(const char *json, struct notify_payload *ret, struct opsd_error *err)
{
    json_error_t je;
    json_t *root = json_loads(json ? json : "", JSON_REJECT_DUPLICATES, &je), *alerts;
    struct notify_payload p = { 0 };
    size_t idx;
    json_t *ja;
    int rc = 0;

    if (!json_is_object(root) || json_integer_value(json_object_get(root, "v")) != 1) {
        rc = opsd_errorf(err, -EINVAL, "stored notification payload is not readable (%s)",
                         root ? "unknown version" : je.text);
        goto out;
    }
    alerts = json_object_get(root, "alerts");
    if (!json_is_array(alerts) || json_array_size(alerts) == 0) {
        rc = opsd_errorf(err, -EINVAL, "stored notification payload has no alerts");
        goto out;
    }
    p.reason = get_str(root, "reason");
    p.group_key = get_str(root, "group_key");
    if (labels_from(json_object_get(root, "group_labels"), &p.group_labels, &p.n_group_labels) <
        0) {
        rc = opsd_errorf(err, -EINVAL, "stored notification payload: bad group_labels");
        goto out;
    }
    p.alerts = xcalloc(json_array_size(alerts), sizeof(p.alerts[0]));
    p.alert_ids = xcalloc(json_array_size(alerts), sizeof(p.alert_ids[0]));
    json_array_foreach(alerts, idx, ja)
    {
        struct notify_alert *a = &p.alerts[p.n_alerts];
        struct notify_label *ls = NULL;
        size_t nls = 0;
        char *st;

        if (!json_is_object(ja) ||
            labels_from(json_object_get(ja, "labels"), &ls, &nls) < 0) {
            rc = opsd_errorf(err, -EINVAL, "stored notification payload: bad alert %zu", idx);
            goto out;
        }
        p.alert_ids[p.n_alerts] = (int64_t)json_integer_value(json_object_get(ja, "id"));
        a->id = p.alert_ids[p.n_alerts];
        a->fingerprint = get_str(ja, "fingerprint");
        st = get_str(ja, "status");
        a->status = st && strcmp(st, "resolved") == 0 ? NOTIFY_RESOLVED : NOTIFY_FIRING;
        free(st);
        a->acknowledged = json_is_true(json_object_get(ja, "acknowledged"));
        st = get_str(ja, "severity");
        a->severity = (enum notify_severity)severity_from(st);
        free(st);
        a->monitor = get_str(ja, "monitor");
        a->labels = ls;
        a->n_labels = nls;
        a->summary = get_str(ja, "summary");
        a->message = get_str(ja, "message");
        a->starts_at_ms = (uint64_t)json_integer_value(json_object_get(ja, "starts_at_ms"));
        a->ends_at_ms = (uint64_t)json_integer_value(json_object_get(ja, "ends_at_ms"));
        p.n_alerts++;
    }
    *ret = p;
    p = (struct notify_payload){ 0 };
out:
    notify_payload_free(&p);
    json_decref(root);
    return rc;
}

uint64_t notify_backoff_ms(unsigned attempt, uint64_t min_ms, uint64_t max_ms, uint32_t rnd)
{
    uint64_t wait = min_ms ? min_ms : 1;

    for (unsigned i = 1; i < attempt && wait < max_ms; i++)
        wait *= 2;
    if (wait > max_ms)
        wait = max_ms;
    /* half fixed, half random: never sooner than half the step */
    return wait - (wait / 2) * (rnd % 1001) / 1000;
}
