/* Unit tests for alert routing and grouping: label sets and fingerprints,
 * the route walk (inheritance, continue, matchers, first-match order, the
 * default route), group keys, and the group timers on a virtual clock. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "alert/route.h"

#define S 1000ULL
#define M (60 * S)
#define H (60 * M)

/* Builds a label set from "k", "v", ... NULL. */
static void labels(struct alert_labels *ls, ...)
{
    va_list ap;
    const char *k;

    alert_labels_init(ls);
    va_start(ap, ls);
    while ((k = va_arg(ap, const char *))) {
        const char *v = va_arg(ap, const char *);
        assert_int_equal(alert_labels_set(ls, k, v), 0);
    }
    va_end(ap);
}

static struct alert_route *child(struct alert_route *parent, const char *receiver)
{
    struct alert_route *r = alert_route_new();

    if (receiver)
        alert_route_set_receiver(r, receiver);
    alert_route_add_child(parent, r);
    return r;
}

static void matcher(struct alert_route *r, const char *name, enum alert_match_op op,
                    const char *value)
{
    struct opsd_error err = { 0 };
    assert_int_equal(alert_route_add_matcher(r, name, op, value, &err), 0);
}

/* The receivers of the routes taking ls, joined by ",". */
static const char *route_to(const struct alert_route *root, const struct alert_labels *ls)
{
    static char buf[256];
    const struct alert_route *out[8];
    size_t n = alert_route_match(root, ls, out, 8);

    assert_true(n <= 8);
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i)
            strcat(buf, ",");
        strcat(buf, alert_route_receiver(out[i]) ? alert_route_receiver(out[i]) : "(null)");
    }
    return buf;
}

static void test_labels_sorted_and_fingerprint(void **state)
{
    struct alert_labels a, b, c;

    (void)state;
    labels(&a, "severity", "critical", "monitor", "web", "team", "ops", NULL);
    labels(&b, "team", "ops", "monitor", "web", "severity", "critical", NULL);
    assert_int_equal(a.n, 3);
    assert_string_equal(a.v[0].name, "monitor");
    assert_string_equal(a.v[1].name, "severity");
    assert_string_equal(a.v[2].name, "team");
    /* insertion order does not matter */
    assert_true(alert_labels_fingerprint(&a) == alert_labels_fingerprint(&b));
    /* stable across builds: FNV-1a of the empty set is the offset basis */
    labels(&c, NULL);
    assert_true(alert_labels_fingerprint(&c) == 0xcbf29ce484222325ULL);
    /* the separator keeps "ab"/"c" apart from "a"/"bc" */
    alert_labels_set(&c, "ab", "c");
    alert_labels_clear(&b);
    labels(&b, "a", "bc", NULL);
    assert_true(alert_labels_fingerprint(&b) != alert_labels_fingerprint(&c));
    /* replace, get, and empty value removes */
    assert_int_equal(alert_labels_set(&a, "team", "db"), 0);
    assert_string_equal(alert_labels_get(&a, "team"), "db");
    assert_int_equal(alert_labels_set(&a, "team", ""), 0);
    assert_null(alert_labels_get(&a, "team"));
    assert_int_equal(a.n, 2);
    /* invalid names are refused and leave the set alone */
    assert_int_equal(alert_labels_set(&a, "9lives", "x"), -EINVAL);
    assert_int_equal(alert_labels_set(&a, "a-b", "x"), -EINVAL);
    assert_int_equal(a.n, 2);
    alert_labels_clear(&a);
    alert_labels_clear(&b);
    alert_labels_clear(&c);
}

static void test_labels_cap(void **state)
{
    struct alert_labels ls = { 0 };
    char name[16];

    (void)state;
    for (int i = 0; i < ALERT_MAX_LABELS; i++) {
        snprintf(name, sizeof(name), "l%03d", i);
        assert_int_equal(alert_labels_set(&ls, name, "v"), 0);
    }
    assert_int_equal(alert_labels_set(&ls, "one_more", "v"), -E2BIG);
    assert_int_equal(ls.n, ALERT_MAX_LABELS);
    /* replacing an existing one still works at the cap */
    assert_int_equal(alert_labels_set(&ls, "l000", "w"), 0);
    alert_labels_clear(&ls);
}

static void test_inheritance(void **state)
{
    struct alert_route *root = alert_route_new();
    struct alert_route *a, *b;
    struct alert_route_timers t;
    struct alert_labels ls, gl = { 0 };
    const char *by[] = { "monitor" };

    (void)state;
    alert_route_set_receiver(root, "default");
    alert_route_set_timers(root, 10 * S, ALERT_INHERIT, 2 * H);
    assert_int_equal(alert_route_set_group_by(root, by, 1, NULL), 0);
    a = child(root, NULL);
    alert_route_set_timers(a, ALERT_INHERIT, 1 * M, ALERT_INHERIT);
    alert_route_set_continue(a, true);
    b = child(a, "pager");

    assert_string_equal(alert_route_receiver(a), "default");
    assert_string_equal(alert_route_receiver(b), "pager");
    alert_route_timers(b, &t);
    assert_int_equal(t.group_wait_ms, 10 * S);    /* from root */
    assert_int_equal(t.group_interval_ms, 1 * M); /* from a */
    assert_int_equal(t.repeat_interval_ms, 2 * H);
    alert_route_timers(root, &t);
    assert_int_equal(t.group_interval_ms, ALERT_DEFAULT_GROUP_INTERVAL_MS);
    /* continue is not inherited */
    assert_true(alert_route_continue(a));
    assert_false(alert_route_continue(b));
    /* group_by is */
    labels(&ls, "monitor", "web", "severity", "critical", NULL);
    alert_route_group_labels(b, &ls, &gl);
    assert_int_equal(gl.n, 1);
    assert_string_equal(alert_labels_get(&gl, "monitor"), "web");
    /* a route whose receiver is nowhere set has none */
    {
        struct alert_route *lone = alert_route_new();
        assert_null(alert_route_receiver(lone));
        alert_route_free(lone);
    }
    alert_labels_clear(&ls);
    alert_labels_clear(&gl);
    alert_route_free(root);
}

static void test_first_match_and_default(void **state)
{
    struct alert_route *root = alert_route_new();
    struct alert_route *db, *crit;
    struct alert_labels web_crit, db_crit, web_warn;

    (void)state;
    alert_route_set_receiver(root, "default");
    db = child(root, "db-team");
    matcher(db, "team", ALERT_MATCH_EQ, "db");
    crit = child(root, "pager");
    matcher(crit, "severity", ALERT_MATCH_EQ, "critical");

    labels(&web_crit, "monitor", "web", "severity", "critical", NULL);
    labels(&db_crit, "monitor", "pg", "severity", "critical", "team", "db", NULL);
    labels(&web_warn, "monitor", "web", "severity", "warning", NULL);
    assert_string_equal(route_to(root, &web_crit), "pager");
    /* both children match: the first one added wins */
    assert_string_equal(route_to(root, &db_crit), "db-team");
    /* nothing matches: the root takes it */
    assert_string_equal(route_to(root, &web_warn), "default");

    /* a matching child whose own children don't match takes it itself */
    {
        struct alert_route *sub = child(db, "db-oncall");
        matcher(sub, "severity", ALERT_MATCH_EQ, "page");
        assert_string_equal(route_to(root, &db_crit), "db-team");
    }
    alert_labels_clear(&web_crit);
    alert_labels_clear(&db_crit);
    alert_labels_clear(&web_warn);
    alert_route_free(root);
}

static void test_continue(void **state)
{
    struct alert_route *root = alert_route_new();
    struct alert_route *log, *crit, *all;
    struct alert_labels crit_ls, warn_ls;
    const struct alert_route *out[1];

    (void)state;
    alert_route_set_receiver(root, "default");
    log = child(root, "archive");
    alert_route_set_continue(log, true);
    crit = child(root, "pager");
    matcher(crit, "severity", ALERT_MATCH_EQ, "critical");
    all = child(root, "chat");
    (void)all;

    labels(&crit_ls, "monitor", "web", "severity", "critical", NULL);
    labels(&warn_ls, "monitor", "web", "severity", "warning", NULL);
    /* archive continues, pager stops the walk before chat */
    assert_string_equal(route_to(root, &crit_ls), "archive,pager");
    assert_string_equal(route_to(root, &warn_ls), "archive,chat");
    /* the count is the full one even when out is short */
    assert_int_equal(alert_route_match(root, &crit_ls, out, 1), 2);
    assert_string_equal(alert_route_receiver(out[0]), "archive");
    assert_int_equal(alert_route_match(root, &crit_ls, NULL, 0), 2);

    /* continue on a nested route: its siblings are still tried */
    {
        struct alert_route *r2 = alert_route_new();
        struct alert_route *team = child(r2, "team");
        struct alert_route *t1 = child(team, "team-log");
        struct alert_route *t2 = child(team, "team-page");
        alert_route_set_receiver(r2, "default");
        matcher(team, "monitor", ALERT_MATCH_EQ, "web");
        alert_route_set_continue(t1, true);
        matcher(t2, "severity", ALERT_MATCH_EQ, "critical");
        assert_string_equal(route_to(r2, &crit_ls), "team-log,team-page");
        assert_string_equal(route_to(r2, &warn_ls), "team-log");
        alert_route_free(r2);
    }
    alert_labels_clear(&crit_ls);
    alert_labels_clear(&warn_ls);
    alert_route_free(root);
}

static void test_matchers(void **state)
{
    struct alert_route *root = alert_route_new();
    struct alert_route *re, *nre, *ne;
    struct alert_labels a, b, c, d;
    struct opsd_error err = { 0 };

    (void)state;
    alert_route_set_receiver(root, "default");
    re = child(root, "re");
    matcher(re, "monitor", ALERT_MATCH_RE, "api|web");
    matcher(re, "severity", ALERT_MATCH_NRE, "info|warn.*");
    ne = child(root, "ne");
    matcher(ne, "env", ALERT_MATCH_NE, "staging");
    matcher(ne, "team", ALERT_MATCH_EQ, "");
    nre = child(root, "nre");
    (void)nre;

    /* anchored: "web" matches, "webshop" does not */
    labels(&a, "monitor", "web", "severity", "critical", "env", "staging", NULL);
    labels(&b, "monitor", "webshop", "severity", "critical", "env", "staging", NULL);
    labels(&c, "monitor", "api", "severity", "warning", "env", "prod", NULL);
    labels(&d, "monitor", "api", "severity", "warning", "team", "x", NULL);
    assert_string_equal(route_to(root, &a), "re");
    assert_string_equal(route_to(root, &b), "nre");
    /* !~ excludes warning; != on env=prod holds; team = "" holds when absent */
    assert_string_equal(route_to(root, &c), "ne");
    /* team=x fails `team=""`; absent env != staging holds but does not help */
    assert_string_equal(route_to(root, &d), "nre");

    /* a bad regex is reported with the label and leaves the route alone */
    assert_int_equal(alert_route_add_matcher(re, "monitor", ALERT_MATCH_RE, "a(b", &err), -EINVAL);
    assert_int_equal(err.code, -EINVAL);
    assert_non_null(strstr(err.msg, "invalid regex 'a(b' for label 'monitor'"));
    assert_string_equal(route_to(root, &a), "re");
    assert_int_equal(alert_route_add_matcher(re, "bad-name", ALERT_MATCH_EQ, "x", &err), -EINVAL);
    assert_non_null(strstr(err.msg, "invalid label name 'bad-name'"));

    /* a regex matching "" matches an absent label */
    {
        struct alert_route *r2 = alert_route_new();
        struct alert_route *opt = child(r2, "opt");
        alert_route_set_receiver(r2, "default");
        matcher(opt, "team", ALERT_MATCH_RE, "(db)?");
        assert_string_equal(route_to(r2, &a), "opt");
        assert_string_equal(route_to(r2, &d), "default");
        alert_route_free(r2);
    }
    alert_labels_clear(&a);
    alert_labels_clear(&b);
    alert_labels_clear(&c);
    alert_labels_clear(&d);
    alert_route_free(root);
}

static void test_validate(void **state)
{
    struct alert_route *root = alert_route_new();
    struct alert_route *c;
    struct opsd_error err = { 0 };

    (void)state;
    assert_int_equal(alert_route_validate(root, &err), -EINVAL);
    assert_string_equal(err.msg, "the root route must name a receiver");
    alert_route_set_receiver(root, "default");
    assert_int_equal(alert_route_validate(root, &err), 0);
    c = child(root, "x");
    alert_route_set_timers(c, ALERT_INHERIT, 0, ALERT_INHERIT);
    assert_int_equal(alert_route_validate(root, &err), -EINVAL);
    assert_string_equal(err.msg, "group_interval must be above 0 (route receiver 'x')");
    alert_route_set_timers(c, ALERT_INHERIT, ALERT_INHERIT, ALERT_INHERIT);
    assert_int_equal(alert_route_validate(root, &err), 0);
    matcher(root, "a", ALERT_MATCH_EQ, "b");
    assert_int_equal(alert_route_validate(root, &err), -EINVAL);
    alert_route_free(root);
}

static void test_group_keys(void **state)
{
    struct alert_route *root = alert_route_new();
    struct alert_route *a, *b;
    struct alert_labels w1, w2, api, nosev, gl = { 0 };
    const char *by[] = { "monitor", "severity" };
    const char *all[] = { "..." };
    const char *mixed[] = { "...", "monitor" };
    struct opsd_error err = { 0 };

    (void)state;
    alert_route_set_receiver(root, "default");
    a = child(root, "a");
    assert_int_equal(alert_route_set_group_by(a, by, 2, &err), 0);
    b = child(root, "b");

    labels(&w1, "monitor", "web", "severity", "critical", "instance", "1", NULL);
    labels(&w2, "monitor", "web", "severity", "critical", "instance", "2", NULL);
    labels(&api, "monitor", "api", "severity", "critical", "instance", "1", NULL);
    labels(&nosev, "monitor", "web", "instance", "1", NULL);

    /* same group_by values, one group; different, another */
    assert_true(alert_route_group_key(a, &w1) == alert_route_group_key(a, &w2));
    assert_true(alert_route_group_key(a, &w1) != alert_route_group_key(a, &api));
    /* an absent group_by label is its own value */
    assert_true(alert_route_group_key(a, &w1) != alert_route_group_key(a, &nosev));
    alert_route_group_labels(a, &nosev, &gl);
    assert_int_equal(gl.n, 1);
    /* the same labels under another route are another group */
    assert_true(alert_route_group_key(a, &w1) != alert_route_group_key(b, &w1));
    /* no group_by anywhere: one group per route */
    assert_true(alert_route_group_key(b, &w1) == alert_route_group_key(b, &api));
    alert_route_group_labels(b, &w1, &gl);
    assert_int_equal(gl.n, 0);

    /* '...': every distinct label set is a group */
    assert_int_equal(alert_route_set_group_by(b, all, 1, &err), 0);
    assert_true(alert_route_group_key(b, &w1) != alert_route_group_key(b, &w2));
    alert_route_group_labels(b, &w1, &gl);
    assert_int_equal(gl.n, 3);
    assert_int_equal(alert_route_set_group_by(b, mixed, 2, &err), -EINVAL);
    assert_string_equal(err.msg, "group_by '...' must be the only entry");
    /* refused: b still groups by everything */
    assert_true(alert_route_group_key(b, &w1) != alert_route_group_key(b, &w2));
    /* explicit empty list overrides an inherited one */
    {
        struct alert_route *c = child(a, "c");
        assert_int_equal(alert_route_set_group_by(c, NULL, 0, &err), 0);
        assert_true(alert_route_group_key(c, &w1) == alert_route_group_key(c, &api));
    }

    /* stable across rebuilds of the same tree (pointers differ) */
    {
        struct alert_route *root2 = alert_route_new();
        struct alert_route *a2 = child(root2, "a");
        uint64_t k1 = alert_route_group_key(a, &w1);
        assert_int_equal(alert_route_set_group_by(a2, by, 2, &err), 0);
        assert_true(alert_route_group_key(a2, &w1) == k1);
        alert_route_free(root2);
    }

    /* a group's own key and labels agree */
    {
        struct alert_group *g = alert_group_new(a, &w1, 0);
        assert_true(alert_group_key(g) == alert_route_group_key(a, &w1));
        assert_string_equal(alert_labels_get(alert_group_labels(g), "monitor"), "web");
        assert_null(alert_labels_get(alert_group_labels(g), "instance"));
        assert_ptr_equal(alert_group_route(g), a);
        alert_group_free(g);
    }
    alert_labels_clear(&w1);
    alert_labels_clear(&w2);
    alert_labels_clear(&api);
    alert_labels_clear(&nosev);
    alert_labels_clear(&gl);
    alert_route_free(root);
}

/* A route with group_wait 30s, group_interval 5m, repeat_interval 4h. */
static struct alert_route *timed_root(void)
{
    struct alert_route *r = alert_route_new();

    alert_route_set_receiver(r, "default");
    alert_route_set_timers(r, 30 * S, 5 * M, 4 * H);
    return r;
}

static void test_group_wait_then_repeat(void **state)
{
    struct alert_route *root = timed_root();
    struct alert_labels ls;
    struct alert_group *g;
    struct alert_batch b = { 0 }, untouched = { .n_firing = 77 };
    uint64_t t0 = 1000000;

    (void)state;
    labels(&ls, "monitor", "web", NULL);
    g = alert_group_new(root, &ls, t0);
    assert_int_equal(alert_group_next_due(g), ALERT_NEVER);
    assert_true(alert_group_put(g, 0xA, false, t0));
    assert_false(alert_group_put(g, 0xA, false, t0 + 1)); /* a repeat is no change */
    assert_int_equal(alert_group_next_due(g), t0 + 30 * S);

    /* not yet: ret untouched */
    assert_int_equal(alert_group_tick(g, t0 + 30 * S - 1, &untouched), 0);
    assert_int_equal(untouched.n_firing, 77);
    assert_int_equal(alert_group_tick(g, t0 + 30 * S, &b), 1);
    assert_int_equal(b.n_firing, 1);
    assert_int_equal(b.firing[0], 0xA);
    assert_int_equal(b.n_resolved, 0);
    alert_batch_clear(&b);

    /* nothing changed: next is the repeat, and no sooner */
    assert_int_equal(alert_group_next_due(g), t0 + 30 * S + 4 * H);
    assert_int_equal(alert_group_tick(g, t0 + 30 * S + 5 * M, &b), 0);
    assert_int_equal(alert_group_tick(g, t0 + 30 * S + 4 * H - 1, &b), 0);
    /* a late tick sends at its own time and the next repeat counts from it */
    assert_int_equal(alert_group_tick(g, t0 + 30 * S + 4 * H + 7, &b), 1);
    assert_int_equal(b.n_firing, 1);
    alert_batch_clear(&b);
    assert_int_equal(alert_group_next_due(g), t0 + 30 * S + 8 * H + 7);

    alert_group_free(g);
    alert_labels_clear(&ls);
    alert_route_free(root);
}

static void test_group_interval_batches(void **state)
{
    struct alert_route *root = timed_root();
    struct alert_labels ls;
    struct alert_group *g;
    struct alert_batch b = { 0 };
    uint64_t t0 = 0, sent;

    (void)state;
    labels(&ls, "monitor", "web", NULL);
    g = alert_group_new(root, &ls, t0);
    /* two alerts 1s apart within group_wait: one notification */
    alert_group_put(g, 0xB, false, t0);
    alert_group_put(g, 0xA, false, t0 + 1 * S);
    assert_int_equal(alert_group_next_due(g), t0 + 30 * S);
    assert_int_equal(alert_group_tick(g, t0 + 30 * S, &b), 1);
    assert_int_equal(b.n_firing, 2);
    assert_int_equal(b.firing[0], 0xA); /* sorted by fingerprint */
    assert_int_equal(b.firing[1], 0xB);
    alert_batch_clear(&b);
    sent = t0 + 30 * S;

    /* two more 1s apart after the first send: batched at last_sent + group_interval */
    assert_true(alert_group_put(g, 0xC, false, sent + 10 * S));
    assert_int_equal(alert_group_next_due(g), sent + 5 * M);
    assert_true(alert_group_put(g, 0xD, false, sent + 11 * S));
    assert_int_equal(alert_group_next_due(g), sent + 5 * M);
    assert_int_equal(alert_group_tick(g, sent + 11 * S, &b), 0);
    assert_int_equal(alert_group_tick(g, sent + 5 * M, &b), 1);
    assert_int_equal(b.n_firing, 4); /* the whole group, as Alertmanager sends it */
    assert_int_equal(b.n_resolved, 0);
    alert_batch_clear(&b);
    assert_int_equal(alert_group_next_due(g), sent + 5 * M + 4 * H);

    /* something new long after the last send is due at once */
    alert_group_put(g, 0xE, false, sent + 2 * H);
    assert_int_equal(alert_group_next_due(g), sent + 10 * M);
    assert_int_equal(alert_group_tick(g, sent + 2 * H, &b), 1);
    assert_int_equal(b.n_firing, 5);
    alert_batch_clear(&b);

    alert_group_free(g);
    alert_labels_clear(&ls);
    alert_route_free(root);
}

static void test_group_resolved_sent_once(void **state)
{
    struct alert_route *root = timed_root();
    struct alert_labels ls;
    struct alert_group *g;
    struct alert_batch b = { 0 };
    uint64_t t = 0;

    (void)state;
    labels(&ls, "monitor", "web", NULL);
    g = alert_group_new(root, &ls, t);
    alert_group_put(g, 0xA, false, t);
    alert_group_put(g, 0xB, false, t);
    assert_int_equal(alert_group_tick(g, t + 30 * S, &b), 1);
    alert_batch_clear(&b);
    t += 30 * S;

    /* B resolves: sent once, as resolved, at last_sent + group_interval */
    assert_true(alert_group_put(g, 0xB, true, t + 1 * M));
    assert_false(alert_group_put(g, 0xB, true, t + 2 * M));
    assert_int_equal(alert_group_next_due(g), t + 5 * M);
    assert_int_equal(alert_group_tick(g, t + 5 * M, &b), 1);
    assert_int_equal(b.n_firing, 1);
    assert_int_equal(b.firing[0], 0xA);
    assert_int_equal(b.n_resolved, 1);
    assert_int_equal(b.resolved[0], 0xB);
    alert_batch_clear(&b);
    t += 5 * M;
    /* then dropped: the repeat carries A only */
    assert_int_equal(alert_group_next_due(g), t + 4 * H);
    assert_int_equal(alert_group_tick(g, t + 4 * H, &b), 1);
    assert_int_equal(b.n_firing, 1);
    assert_int_equal(b.n_resolved, 0);
    alert_batch_clear(&b);
    t += 4 * H;
    /* resolving B again is a no-op: the group no longer holds it */
    assert_false(alert_group_put(g, 0xB, true, t + 1));

    /* A resolves: last word, then the group is empty and never due */
    alert_group_put(g, 0xA, true, t + 1 * S);
    assert_int_equal(alert_group_tick(g, t + 5 * M, &b), 1);
    assert_int_equal(b.n_firing, 0);
    assert_int_equal(b.n_resolved, 1);
    alert_batch_clear(&b);
    assert_true(alert_group_is_empty(g));
    assert_int_equal(alert_group_next_due(g), ALERT_NEVER);
    assert_int_equal(alert_group_tick(g, t + 10 * H, &b), 0);

    alert_group_free(g);
    alert_labels_clear(&ls);
    alert_route_free(root);
}

static void test_group_flaps(void **state)
{
    struct alert_route *root = timed_root();
    struct alert_labels ls;
    struct alert_group *g;
    struct alert_batch b = { 0 };

    (void)state;
    labels(&ls, "monitor", "web", NULL);
    g = alert_group_new(root, &ls, 0);
    /* fires and resolves inside group_wait: the receiver never hears of it */
    assert_true(alert_group_put(g, 0xA, false, 0));
    assert_true(alert_group_put(g, 0xA, true, 10 * S));
    assert_true(alert_group_is_empty(g));
    assert_int_equal(alert_group_next_due(g), ALERT_NEVER);
    assert_int_equal(alert_group_tick(g, 30 * S, &b), 0);

    /* fires, is sent, resolves and fires again before the resolution goes
     * out: nothing new to say, so only the repeat remains */
    alert_group_put(g, 0xA, false, 40 * S);
    assert_int_equal(alert_group_tick(g, 40 * S, &b), 1); /* created + wait is past */
    alert_batch_clear(&b);
    assert_true(alert_group_put(g, 0xA, true, 50 * S));
    assert_int_equal(alert_group_next_due(g), 40 * S + 5 * M);
    assert_true(alert_group_put(g, 0xA, false, 60 * S));
    assert_int_equal(alert_group_next_due(g), 40 * S + 4 * H);

    alert_group_free(g);
    alert_labels_clear(&ls);
    alert_route_free(root);
}

static void test_group_timers_taken_at_creation(void **state)
{
    struct alert_route *root = alert_route_new();
    struct alert_route *c = child(root, "c");
    struct alert_labels ls;
    struct alert_group *g;

    (void)state;
    alert_route_set_receiver(root, "default");
    alert_route_set_timers(c, 5 * S, ALERT_INHERIT, ALERT_INHERIT);
    labels(&ls, "monitor", "web", NULL);
    g = alert_group_new(c, &ls, 100);
    alert_group_put(g, 1, false, 100);
    alert_route_set_timers(c, 50 * S, ALERT_INHERIT, ALERT_INHERIT);
    assert_int_equal(alert_group_next_due(g), 100 + 5 * S);
    alert_group_free(g);
    alert_labels_clear(&ls);
    alert_route_free(root);
}

static void test_matcher_parse(void **state)
{
    static const struct {
        const char *in, *name;
        enum alert_match_op op;
        const char *value;
    } good[] = {
        { "monitor=db", "monitor", ALERT_MATCH_EQ, "db" },
        { " team != core ", "team", ALERT_MATCH_NE, "core" },
        { "env=~prod|staging", "env", ALERT_MATCH_RE, "prod|staging" },
        { "severity!~\"low|medium\"", "severity", ALERT_MATCH_NRE, "low|medium" },
        { "msg=\"a \\\"quoted\\\" word\"", "msg", ALERT_MATCH_EQ, "a \"quoted\" word" },
        { "empty=", "empty", ALERT_MATCH_EQ, "" },
    };
    static const char *const bad[] = { "", "=x", "9x=y", "name", "name~x", "a=\"open",
                                       "a=\"x\" y" };
    char *name = (char *)"untouched", *value = (char *)"untouched";
    enum alert_match_op op = ALERT_MATCH_EQ;
    struct opsd_error err = { 0 };

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char *n = NULL, *v = NULL;
        assert_int_equal(alert_matcher_parse(good[i].in, &n, &op, &v, NULL), 0);
        assert_string_equal(n, good[i].name);
        assert_int_equal(op, good[i].op);
        assert_string_equal(v, good[i].value);
        free(n);
        free(v);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        op = ALERT_MATCH_NRE;
        assert_int_equal(alert_matcher_parse(bad[i], &name, &op, &value, &err), -EINVAL);
        assert_string_equal(name, "untouched");
        assert_string_equal(value, "untouched");
        assert_int_equal(op, ALERT_MATCH_NRE);
        assert_non_null(strstr(err.msg, "matcher"));
    }
    assert_string_equal(alert_match_op_to_string(ALERT_MATCH_NRE), "!~");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_labels_sorted_and_fingerprint),
        cmocka_unit_test(test_labels_cap),
        cmocka_unit_test(test_inheritance),
        cmocka_unit_test(test_first_match_and_default),
        cmocka_unit_test(test_continue),
        cmocka_unit_test(test_matchers),
        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_group_keys),
        cmocka_unit_test(test_group_wait_then_repeat),
        cmocka_unit_test(test_group_interval_batches),
        cmocka_unit_test(test_group_resolved_sent_once),
        cmocka_unit_test(test_group_flaps),
        cmocka_unit_test(test_group_timers_taken_at_creation),
        cmocka_unit_test(test_matcher_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
