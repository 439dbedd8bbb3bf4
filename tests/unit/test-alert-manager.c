/* Unit tests for src/alert/manager.c: alerts in, notifications out, on a
 * virtual clock. Configs are built by hand so these tests see only the
 * manager, not the YAML parser. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alert/manager.h"

#define S (1000ull)
#define MIN (60 * S)
#define T0 (1800000000000ull) /* 2027-01-15 */

static char *ops_group_by[] = { "team" };
static char *step0_rx[] = { "pager-a" };
static char *step1_rx[] = { "pager-b" };
static struct conf_esc_step two_steps[] = {
    { .notify = step0_rx, .n_notify = 1, .wait_ms = 5 * MIN },
    { .notify = step1_rx, .n_notify = 1, .wait_ms = 15 * MIN },
};
static struct conf_policy policies[] = {
    { .name = "two", .steps = two_steps, .n_steps = 2, .repeat = 0, .ack_timeout_ms = 10 * MIN },
};

/* root: receiver ops, grouped by team, group_wait gw;
 * child 0: severity=critical -> escalation "two", continue true;
 * child 1: team=db -> receiver dba. */
static struct conf_matcher crit_match[] = { { .name = "severity", .op = CONF_MATCH_EQ,
                                              .value = "critical" } };
static struct conf_matcher db_match[] = { { .name = "team", .op = CONF_MATCH_EQ, .value = "db" } };

struct fixture {
    struct conf conf;
    struct conf_route root;
    struct conf_route kids[2];
    struct alert_mgr *m;
    struct alert_mgr_out out;
};

static struct fixture *fixture_new(uint64_t group_wait_ms)
{
    struct fixture *f = calloc(1, sizeof(*f));

    f->kids[0] = (struct conf_route){
        .matchers = crit_match,
        .n_matchers = 1,
        .escalation = "two",
        .continue_ = true,
        .group_wait_ms = CONF_INHERIT,
        .group_interval_ms = CONF_INHERIT,
        .repeat_interval_ms = CONF_INHERIT,
    };
    f->kids[1] = (struct conf_route){
        .receiver = "dba",
        .matchers = db_match,
        .n_matchers = 1,
        .group_wait_ms = CONF_INHERIT,
        .group_interval_ms = CONF_INHERIT,
        .repeat_interval_ms = CONF_INHERIT,
    };
    f->root = (struct conf_route){
        .receiver = "ops",
        .has_group_by = true,
        .group_by = ops_group_by,
        .n_group_by = 1,
        .group_wait_ms = group_wait_ms,
        .group_interval_ms = 5 * MIN,
        .repeat_interval_ms = 4 * 60 * MIN,
        .routes = f->kids,
        .n_routes = 2,
    };
    f->conf.route = &f->root;
    f->conf.policies = policies;
    f->conf.n_policies = 1;
    assert_int_equal(alert_mgr_new(&f->conf, 1, 1, &f->m, NULL), 0);
    return f;
}

static void fixture_free(struct fixture *f)
{
    alert_mgr_out_clear(&f->out);
    alert_mgr_free(f->m);
    free(f);
}

static int64_t fire(struct fixture *f, const char *monitor, const char *team, const char *sev,
                    const char *suppressed, uint64_t now)
{
    struct alert_labels ls = { 0 };
    struct alert_input in = {
        .source = "monitor",
        .monitor = monitor,
        .labels = &ls,
        .severity = strcmp(sev, "critical") == 0 ? ALERT_SEV_CRITICAL : ALERT_SEV_HIGH,
        .summary = "down",
        .message = "connection refused",
        .suppressed = suppressed,
    };
    int64_t id = 0;

    assert_int_equal(alert_labels_set(&ls, "alertname", "MonitorDown"), 0);
    assert_int_equal(alert_labels_set(&ls, "monitor", monitor), 0);
    assert_int_equal(alert_labels_set(&ls, "team", team), 0);
    assert_int_equal(alert_labels_set(&ls, "severity", sev), 0);
    assert_int_equal(alert_mgr_fire(f->m, &in, now, &id, &f->out), 0);
    alert_labels_clear(&ls);
    assert_true(id > 0);
    return id;
}

static void resolve(struct fixture *f, int64_t id, uint64_t now)
{
    const struct alert_view *v = alert_mgr_find_id(f->m, id);

    assert_non_null(v);
    assert_int_equal(alert_mgr_resolve_fp(f->m, v->fingerprint, now, &f->out), 0);
}

/* The index of the note to receiver, or -1; at most one is expected. */
static int note_for(const struct alert_mgr_out *o, const char *receiver)
{
    int found = -1;

    for (size_t i = 0; i < o->n_notes; i++)
        if (strcmp(o->notes[i].receiver, receiver) == 0) {
            assert_int_equal(found, -1);
            found = (int)i;
        }
    return found;
}

static void test_fire_group_wait_zero(void **state)
{
    struct fixture *f = fixture_new(0);
    int64_t id = fire(f, "web", "core", "high", NULL, T0);
    const struct alert_note *n;

    (void)state;
    assert_int_equal(f->out.n_changed, 1);
    assert_int_equal(f->out.changed[0], id);
    assert_int_equal(f->out.n_notes, 0); /* notes come from tick */
    assert_int_equal(alert_mgr_next_wake(f->m), T0);
    alert_mgr_tick(f->m, T0, &f->out);
    assert_int_equal(f->out.n_notes, 1);
    n = &f->out.notes[0];
    assert_string_equal(n->receiver, "ops");
    assert_string_equal(n->reason, "firing");
    assert_int_equal(n->n_alerts, 1);
    assert_int_equal(n->alert_ids[0], id);
    assert_false(n->resolved[0]);
    assert_int_equal(n->id, 1);
    assert_non_null(strstr(n->idempotency_key, "-1"));
    assert_string_equal(alert_labels_get(&n->group_labels, "team"), "core");
    /* nothing new: the next message is the repeat */
    assert_int_equal(alert_mgr_next_wake(f->m), T0 + 4 * 60 * MIN);
    fixture_free(f);
}

static void test_grouping(void **state)
{
    struct fixture *f = fixture_new(30 * S);
    int64_t a, b, c;

    (void)state;
    a = fire(f, "web", "core", "high", NULL, T0);
    b = fire(f, "api", "core", "high", NULL, T0 + S);
    c = fire(f, "cdn", "edge", "high", NULL, T0 + 2 * S);
    alert_mgr_tick(f->m, T0 + 29 * S, &f->out);
    assert_int_equal(f->out.n_notes, 0);
    alert_mgr_tick(f->m, T0 + 30 * S, &f->out);
    /* web and api share team=core: one message with both */
    assert_int_equal(f->out.n_notes, 1);
    assert_int_equal(f->out.notes[0].n_alerts, 2);
    assert_int_equal(f->out.notes[0].alert_ids[0] + f->out.notes[0].alert_ids[1], a + b);
    alert_mgr_tick(f->m, T0 + 32 * S, &f->out);
    assert_int_equal(f->out.n_notes, 2);
    assert_int_equal(f->out.notes[1].n_alerts, 1);
    assert_int_equal(f->out.notes[1].alert_ids[0], c);
    /* a third core alert waits for group_interval after the first message */
    fire(f, "db2", "core", "high", NULL, T0 + 60 * S);
    alert_mgr_tick(f->m, T0 + 90 * S, &f->out);
    assert_int_equal(f->out.n_notes, 2);
    assert_int_equal(alert_mgr_next_wake(f->m), T0 + 30 * S + 5 * MIN);
    alert_mgr_tick(f->m, T0 + 30 * S + 5 * MIN, &f->out);
    assert_int_equal(f->out.n_notes, 3);
    assert_int_equal(f->out.notes[2].n_alerts, 3); /* the whole group, as Alertmanager sends */
    fixture_free(f);
}

static void test_resolve_announced_then_forgotten(void **state)
{
    struct fixture *f = fixture_new(0);
    int64_t id = fire(f, "web", "core", "high", NULL, T0);
    const struct alert_note *n;

    (void)state;
    alert_mgr_tick(f->m, T0, &f->out);
    assert_int_equal(f->out.n_notes, 1);
    resolve(f, id, T0 + MIN);
    assert_int_equal(alert_mgr_find_id(f->m, id)->state, ALERT_STATE_RESOLVED);
    assert_int_equal(alert_mgr_open_count(f->m), 0);
    /* announced at group_interval after the last message */
    alert_mgr_tick(f->m, T0 + 4 * MIN, &f->out);
    assert_int_equal(f->out.n_notes, 1);
    alert_mgr_tick(f->m, T0 + 5 * MIN, &f->out);
    assert_int_equal(f->out.n_notes, 2);
    n = &f->out.notes[1];
    assert_string_equal(n->reason, "resolved");
    assert_int_equal(n->n_alerts, 1);
    assert_true(n->resolved[0]);
    assert_int_equal(n->alert_ids[0], id);
    /* then nothing holds it: it leaves memory and nothing more is due */
    alert_mgr_tick(f->m, T0 + 6 * MIN, &f->out);
    assert_null(alert_mgr_find_id(f->m, id));
    assert_int_equal(alert_mgr_next_wake(f->m), ALERT_NEVER);
    fixture_free(f);
}

/* One resolved alert is forgotten in the same sweep that finds another
 * still held by its group: deciding the second must not read the first
 * after it is freed (ASan's use-after-free, seen from a resolve by hand). */
static void test_forget_while_another_is_held(void **state)
{
    struct fixture *f = fixture_new(0);
    int64_t a = fire(f, "web", "core", "high", NULL, T0);
    int64_t b = fire(f, "cdn", "edge", "high", NULL, T0);

    (void)state;
    alert_mgr_tick(f->m, T0, &f->out);
    assert_int_equal(f->out.n_notes, 2);
    resolve(f, a, T0 + MIN);
    alert_mgr_tick(f->m, T0 + 5 * MIN, &f->out);
    assert_int_equal(f->out.n_notes, 3); /* a's resolve */
    /* a is now held by nothing; b's resolve is not announced yet */
    assert_int_equal(alert_mgr_resolve_id(f->m, b, "alice", T0 + 6 * MIN, &f->out), 0);
    alert_mgr_tick(f->m, T0 + 6 * MIN, &f->out);
    assert_null(alert_mgr_find_id(f->m, a));
    assert_non_null(alert_mgr_find_id(f->m, b));
    assert_int_equal(alert_mgr_find_id(f->m, b)->state, ALERT_STATE_RESOLVED);
    fixture_free(f);
}

/* One resolved alert leaves memory while another, resolved too, is still
 * held by its group: deciding the second must not read the first after it
 * was freed (ASan caught this with inbound alerts). */
static void test_forget_one_while_another_is_held(void **state)
{
    struct fixture *f = fixture_new(0);
    int64_t a = fire(f, "web", "core", "high", NULL, T0);
    int64_t b;

    (void)state;
    alert_mgr_tick(f->m, T0, &f->out);
    b = fire(f, "cdn", "edge", "high", NULL, T0 + 2 * MIN);
    alert_mgr_tick(f->m, T0 + 2 * MIN, &f->out);
    assert_int_equal(f->out.n_notes, 2);
    resolve(f, a, T0 + 3 * MIN);
    resolve(f, b, T0 + 3 * MIN);
    alert_mgr_tick(f->m, T0 + 5 * MIN, &f->out); /* core announces a */
    assert_int_equal(f->out.n_notes, 3);
    alert_mgr_tick(f->m, T0 + 6 * MIN, &f->out); /* a is forgotten, b still held */
    assert_null(alert_mgr_find_id(f->m, a));
    assert_non_null(alert_mgr_find_id(f->m, b));
    alert_mgr_tick(f->m, T0 + 7 * MIN, &f->out); /* edge announces b */
    assert_int_equal(f->out.n_notes, 4);
    assert_int_equal(f->out.notes[3].alert_ids[0], b);
    assert_true(f->out.notes[3].resolved[0]);
    fixture_free(f);
}

static void test_resolve_unheard_is_silent(void **state)
{
    struct fixture *f = fixture_new(30 * S);
    int64_t id = fire(f, "web", "core", "high", NULL, T0);

    (void)state;
    resolve(f, id, T0 + 10 * S);
    alert_mgr_tick(f->m, T0 + 60 * S, &f->out);
    alert_mgr_tick(f->m, T0 + 60 * MIN, &f->out);
    assert_int_equal(f->out.n_notes, 0);
    assert_int_equal(f->out.n_changed, 1); /* the row still records it */
    fixture_free(f);
}

static void test_escalation_ack_resolve(void **state)
{
    struct fixture *f = fixture_new(0);
    int64_t id = fire(f, "db", "core", "critical", NULL, T0);
    int i;

    (void)state;
    /* critical: the escalated child pages pager-a at once; a child took it,
     * so the root's receiver does not (Alertmanager's walk) */
    assert_int_equal(f->out.n_notes, 1);
    assert_string_equal(f->out.notes[0].receiver, "pager-a");
    assert_string_equal(f->out.notes[0].reason, "firing");
    assert_string_equal(f->out.notes[0].group_key, "esc-1");
    alert_mgr_tick(f->m, T0, &f->out);
    assert_int_equal(f->out.n_notes, 1);
    /* no ack: after the 5 min wait the next step */
    alert_mgr_tick(f->m, T0 + 5 * MIN - 1, &f->out);
    assert_int_equal(f->out.n_notes, 1);
    alert_mgr_tick(f->m, T0 + 5 * MIN, &f->out);
    assert_int_equal(f->out.n_notes, 2);
    assert_string_equal(f->out.notes[1].receiver, "pager-b");
    assert_string_equal(f->out.notes[1].reason, "escalated");
    /* ack: escalation stops (no repeat pass: the policy has repeat 0) */
    assert_int_equal(alert_mgr_ack(f->m, id, "alice", T0 + 6 * MIN, &f->out), 0);
    assert_int_equal(alert_mgr_find_id(f->m, id)->state, ALERT_STATE_ACKED);
    assert_string_equal(alert_mgr_find_id(f->m, id)->acked_by, "alice");
    alert_mgr_tick(f->m, T0 + 7 * MIN, &f->out);
    alert_mgr_tick(f->m, T0 + 15 * MIN, &f->out); /* the ack holds 10 min */
    assert_int_equal(f->out.n_notes, 2);
    /* resolve: everyone paged hears it, acked or not */
    resolve(f, id, T0 + 15 * MIN);
    assert_int_equal(f->out.n_notes, 4);
    for (i = 2; i < 4; i++) {
        assert_string_equal(f->out.notes[i].reason, "resolved");
        assert_true(f->out.notes[i].resolved[0]);
        assert_int_equal(f->out.notes[i].alert_ids[0], id);
    }
    assert_string_equal(f->out.notes[2].receiver, "pager-a");
    assert_string_equal(f->out.notes[3].receiver, "pager-b");
    assert_int_equal(alert_mgr_ack(f->m, id, "bob", T0 + 9 * MIN, &f->out), -EALREADY);
    fixture_free(f);
}

static void test_ack_expires(void **state)
{
    struct fixture *f = fixture_new(0);
    int64_t id = fire(f, "db", "core", "critical", NULL, T0);

    (void)state;
    alert_mgr_tick(f->m, T0, &f->out);
    assert_int_equal(alert_mgr_ack(f->m, id, "alice", T0 + MIN, &f->out), 0);
    alert_mgr_out_clear(&f->out);
    /* policy "two" holds an ack for 10 min */
    alert_mgr_tick(f->m, T0 + 10 * MIN, &f->out);
    assert_int_equal(f->out.n_notes, 0);
    alert_mgr_tick(f->m, T0 + 11 * MIN, &f->out);
    assert_int_equal(f->out.n_notes, 1);
    assert_string_equal(f->out.notes[0].reason, "ack-expired");
    assert_int_equal(alert_mgr_find_id(f->m, id)->state, ALERT_STATE_FIRING);
    fixture_free(f);
}

static void test_suppressed_then_released(void **state)
{
    struct fixture *f = fixture_new(0);
    int64_t id = fire(f, "app", "core", "high", "depends on router", T0);
    int64_t id2;

    (void)state;
    assert_int_equal(alert_mgr_find_id(f->m, id)->state, ALERT_STATE_SILENCED);
    assert_string_equal(alert_mgr_find_id(f->m, id)->suppressed, "depends on router");
    alert_mgr_tick(f->m, T0 + MIN, &f->out);
    assert_int_equal(f->out.n_notes, 0);
    assert_int_equal(alert_mgr_ack(f->m, id, "x", T0, &f->out), -EINVAL);
    /* the router came back, the app is still down: now it is sent */
    id2 = fire(f, "app", "core", "high", NULL, T0 + 2 * MIN);
    assert_int_equal(id2, id);
    assert_int_equal(alert_mgr_find_id(f->m, id)->state, ALERT_STATE_FIRING);
    alert_mgr_tick(f->m, T0 + 2 * MIN, &f->out);
    assert_int_equal(f->out.n_notes, 1);
    fixture_free(f);
}

static void test_restore(void **state)
{
    struct fixture *f = fixture_new(0);
    struct alert_labels ls = { 0 };
    const char *notified[] = { "ops" };
    struct alert_view v = {
        .id = 41,
        .source = "monitor",
        .monitor = "web",
        .severity = ALERT_SEV_HIGH,
        .state = ALERT_STATE_FIRING,
        .labels = &ls,
        .starts_ms = T0 - 60 * MIN,
    };
    struct alert_restore r = { .alert = &v, .notified = notified, .n_notified = 1 };
    int64_t id;

    (void)state;
    assert_int_equal(alert_labels_set(&ls, "monitor", "web"), 0);
    assert_int_equal(alert_labels_set(&ls, "team", "core"), 0);
    v.fingerprint = alert_labels_fingerprint(&ls);
    assert_int_equal(alert_mgr_restore(f->m, &r, T0, &f->out, NULL), 0);
    assert_int_equal(alert_mgr_restore(f->m, &r, T0, &f->out, NULL), -EEXIST);
    /* heard before the restart: not said again */
    alert_mgr_tick(f->m, T0 + MIN, &f->out);
    assert_int_equal(f->out.n_notes, 0);
    /* new ids continue after the restored one */
    id = fire(f, "api", "edge", "high", NULL, T0 + MIN);
    assert_int_equal(id, 42);
    /* its resolve still reaches the receiver */
    assert_int_equal(alert_mgr_resolve_fp(f->m, v.fingerprint, T0 + 2 * MIN, &f->out), 0);
    alert_mgr_tick(f->m, T0 + 5 * MIN, &f->out);
    {
        bool saw_resolved = false;
        for (size_t i = 0; i < f->out.n_notes; i++)
            for (size_t j = 0; j < f->out.notes[i].n_alerts; j++)
                if (f->out.notes[i].alert_ids[j] == 41 && f->out.notes[i].resolved[j])
                    saw_resolved = true;
        assert_true(saw_resolved);
    }
    /* one nobody heard of goes out as new */
    v.id = 50;
    assert_int_equal(alert_labels_set(&ls, "team", "db"), 0);
    v.fingerprint = alert_labels_fingerprint(&ls);
    r.n_notified = 0;
    alert_mgr_out_clear(&f->out);
    assert_int_equal(alert_mgr_restore(f->m, &r, T0 + 6 * MIN, &f->out, NULL), 0);
    alert_mgr_tick(f->m, T0 + 6 * MIN, &f->out);
    assert_true(note_for(&f->out, "dba") >= 0);
    alert_labels_clear(&ls);
    fixture_free(f);
}

static void test_continue_and_no_route(void **state)
{
    struct fixture *f = fixture_new(0);
    struct conf empty = { 0 };
    struct alert_mgr *m2 = NULL;
    struct alert_mgr_out o2 = { 0 };
    struct alert_labels ls = { 0 };
    struct alert_input in = { .labels = &ls, .severity = ALERT_SEV_LOW };

    (void)state;
    /* team=db matches the dba child, which ends the walk */
    fire(f, "pg", "db", "high", NULL, T0);
    alert_mgr_tick(f->m, T0, &f->out);
    assert_int_equal(f->out.n_notes, 1);
    assert_string_equal(f->out.notes[0].receiver, "dba");
    /* no route: alerts are recorded, nothing is sent */
    assert_int_equal(alert_mgr_new(&empty, 7, 9, &m2, NULL), 0);
    assert_int_equal(alert_labels_set(&ls, "monitor", "x"), 0);
    assert_int_equal(alert_mgr_fire(m2, &in, T0, NULL, &o2), 0);
    alert_mgr_tick(m2, T0 + 60 * MIN, &o2);
    assert_int_equal(o2.n_notes, 0);
    assert_int_equal(o2.n_changed, 1);
    assert_int_equal(o2.changed[0], 7);
    alert_labels_clear(&ls);
    alert_mgr_out_clear(&o2);
    alert_mgr_free(m2);
    fixture_free(f);
}

static void test_reconfigure_keeps_what_was_heard(void **state)
{
    struct fixture *f = fixture_new(30 * S);
    int64_t heard, unheard;

    (void)state;
    heard = fire(f, "web", "core", "high", NULL, T0);
    alert_mgr_tick(f->m, T0 + 30 * S, &f->out);
    assert_int_equal(f->out.n_notes, 1);
    unheard = fire(f, "cdn", "edge", "high", NULL, T0 + 40 * S);
    assert_int_equal(alert_mgr_reconfigure(f->m, &f->conf, T0 + 50 * S, &f->out, NULL), 0);
    alert_mgr_tick(f->m, T0 + 90 * S, &f->out);
    /* the unheard one still goes out; the heard one is not repeated */
    assert_int_equal(f->out.n_notes, 2);
    assert_int_equal(f->out.notes[1].n_alerts, 1);
    assert_int_equal(f->out.notes[1].alert_ids[0], unheard);
    assert_non_null(alert_mgr_find_id(f->m, heard));
    fixture_free(f);
}

static void set_silence(struct fixture *f, int64_t id, const char *monitor_re, uint64_t start,
                        uint64_t end, uint64_t now)
{
    struct alert_silence_matcher mt = { "monitor", ALERT_MATCH_RE, monitor_re };
    struct alert_silence_spec sp = { .id = id, .matchers = &mt, .n_matchers = 1,
                                     .starts_ms = start, .ends_ms = end };

    assert_int_equal(alert_mgr_set_silences(f->m, &sp, 1, now, &f->out, NULL), 0);
}

static void test_silence_mutes_then_releases(void **state)
{
    struct fixture *f = fixture_new(0);
    int64_t id;

    (void)state;
    set_silence(f, 7, "web|db-.*", T0, T0 + 10 * MIN, T0);
    id = fire(f, "web", "core", "high", NULL, T0 + MIN);
    assert_int_equal(alert_mgr_find_id(f->m, id)->state, ALERT_STATE_SILENCED);
    assert_string_equal(alert_mgr_find_id(f->m, id)->suppressed, "silence 7");
    alert_mgr_tick(f->m, T0 + MIN, &f->out);
    assert_int_equal(f->out.n_notes, 0);
    /* the regex is anchored: "web2" is not silenced by "web|db-.*" */
    fire(f, "web2", "edge", "high", NULL, T0 + MIN);
    alert_mgr_tick(f->m, T0 + MIN, &f->out);
    assert_int_equal(f->out.n_notes, 1);
    assert_int_equal(alert_mgr_next_wake(f->m), T0 + 10 * MIN);
    /* the silence ends while it still fires: now it goes out */
    alert_mgr_tick(f->m, T0 + 10 * MIN, &f->out);
    assert_int_equal(alert_mgr_find_id(f->m, id)->state, ALERT_STATE_FIRING);
    assert_null(alert_mgr_find_id(f->m, id)->suppressed);
    assert_int_equal(f->out.n_notes, 2);
    assert_int_equal(f->out.notes[1].alert_ids[0], id);
    fixture_free(f);
}

static void test_silence_after_heard_mutes_repeats_not_resolve(void **state)
{
    struct fixture *f = fixture_new(0);
    int64_t id = fire(f, "db-1", "core", "high", NULL, T0);

    (void)state;
    alert_mgr_tick(f->m, T0, &f->out);
    assert_int_equal(f->out.n_notes, 1);
    set_silence(f, 3, "db-.*", T0 + MIN, T0 + 24 * 60 * MIN, T0 + MIN);
    assert_int_equal(alert_mgr_find_id(f->m, id)->state, ALERT_STATE_SILENCED);
    /* no repeat at repeat_interval (4h) while muted */
    alert_mgr_tick(f->m, T0 + 5 * 60 * MIN, &f->out);
    assert_int_equal(f->out.n_notes, 1);
    /* but the resolve reaches whoever heard it fire */
    resolve(f, id, T0 + 6 * 60 * MIN);
    alert_mgr_tick(f->m, T0 + 6 * 60 * MIN + 5 * MIN, &f->out);
    assert_int_equal(f->out.n_notes, 2);
    assert_string_equal(f->out.notes[1].reason, "resolved");
    assert_true(f->out.notes[1].resolved[0]);
    fixture_free(f);
}

static void test_silence_bad_regex_changes_nothing(void **state)
{
    struct fixture *f = fixture_new(0);
    struct alert_silence_matcher mt = { "monitor", ALERT_MATCH_RE, "(" };
    struct alert_silence_spec sp = { .id = 1, .matchers = &mt, .n_matchers = 1,
                                     .starts_ms = T0, .ends_ms = T0 + MIN };
    struct opsd_error err = { 0 };
    int64_t id;

    (void)state;
    set_silence(f, 9, "web", T0, T0 + 60 * MIN, T0);
    assert_int_equal(alert_mgr_set_silences(f->m, &sp, 1, T0, &f->out, &err), -EINVAL);
    assert_true(err.msg[0] != '\0');
    /* the earlier silence still holds */
    id = fire(f, "web", "core", "high", NULL, T0 + MIN);
    assert_int_equal(alert_mgr_find_id(f->m, id)->state, ALERT_STATE_SILENCED);
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fire_group_wait_zero),
        cmocka_unit_test(test_grouping),
        cmocka_unit_test(test_resolve_announced_then_forgotten),
        cmocka_unit_test(test_forget_while_another_is_held),
        cmocka_unit_test(test_resolve_unheard_is_silent),
        cmocka_unit_test(test_escalation_ack_resolve),
        cmocka_unit_test(test_ack_expires),
        cmocka_unit_test(test_suppressed_then_released),
        cmocka_unit_test(test_restore),
        cmocka_unit_test(test_continue_and_no_route),
        cmocka_unit_test(test_reconfigure_keeps_what_was_heard),
        cmocka_unit_test(test_silence_mutes_then_releases),
        cmocka_unit_test(test_silence_after_heard_mutes_repeats_not_resolve),
        cmocka_unit_test(test_silence_bad_regex_changes_nothing),
        cmocka_unit_test(test_forget_one_while_another_is_held),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
