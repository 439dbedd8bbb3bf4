/* Unit tests for src/alert (escalation, flap, X-of-Y, signed links) and
 * src/util/apitoken, all on a virtual clock: time is just a number. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "alert/escalation.h"
#include "alert/flap.h"
#include "alert/link.h"
#include "util/apitoken.h"
#include "util/cleanup.h"

#define MIN_MS (60ull * 1000)

/* Asserts one action's reason, step, pass and receivers (a NULL-ended list). */
static void assert_action(const struct alert_action *a, enum alert_reason reason, size_t step,
                          unsigned pass, uint64_t at_ms, ...)
{
    va_list ap;
    size_t n = 0;
    const char *name;

    assert_int_equal(a->reason, reason);
    assert_int_equal(a->step, step);
    assert_int_equal(a->pass, pass);
    assert_int_equal(a->at_ms, at_ms);
    va_start(ap, at_ms);
    while ((name = va_arg(ap, const char *))) {
        assert_true(n < a->n_receivers);
        assert_string_equal(a->receivers[n], name);
        n++;
    }
    va_end(ap);
    assert_int_equal(a->n_receivers, n);
}

/* alice for 10 min, then bob and carol for 20 min; one repeat. */
static struct alert_policy *two_step_policy(unsigned repeat)
{
    static const char *const s0[] = { "alice" };
    static const char *const s1[] = { "bob", "carol" };
    struct alert_policy *p = alert_policy_new();

    assert_int_equal(alert_policy_add_step(p, s0, 1, 10 * MIN_MS, NULL), 0);
    assert_int_equal(alert_policy_add_step(p, s1, 2, 20 * MIN_MS, NULL), 0);
    p->repeat = repeat;
    return p;
}

static void test_policy_default(void **state)
{
    static const char *const rx[] = { "ops", "lead" };
    struct alert_policy *p = NULL, *untouched = (struct alert_policy *)(uintptr_t)0x5eed;
    struct opsd_error err = { 0 };
    enum alert_severity sev;

    assert_int_equal(alert_policy_default(ALERT_SEV_CRITICAL, rx, 2, &p, NULL), 0);
    assert_int_equal(p->channel, ALERT_CHANNEL_PAGE);
    assert_int_equal(p->n_steps, 1);
    assert_int_equal(p->steps[0].n_receivers, 2);
    assert_string_equal(p->steps[0].receivers[1], "lead");
    assert_int_equal(p->steps[0].wait_ms, 5 * MIN_MS);
    assert_int_equal(p->repeat, 2);
    assert_int_equal(p->respond_within_ms, 5 * MIN_MS);
    p = alert_policy_free(p);
    assert_null(p);

    assert_int_equal(alert_policy_default(ALERT_SEV_HIGH, rx, 2, &p, NULL), 0);
    assert_int_equal(p->channel, ALERT_CHANNEL_PAGE);
    assert_int_equal(p->steps[0].wait_ms, 15 * MIN_MS);
    assert_int_equal(p->repeat, 1);
    p = alert_policy_free(p);

    assert_int_equal(alert_policy_default(ALERT_SEV_MEDIUM, rx, 1, &p, NULL), 0);
    assert_int_equal(p->channel, ALERT_CHANNEL_TICKET);
    assert_int_equal(p->repeat, 0);
    assert_int_equal(p->respond_within_ms, 60 * MIN_MS);
    assert_false(p->next_business_day);
    p = alert_policy_free(p);

    assert_int_equal(alert_policy_default(ALERT_SEV_LOW, rx, 1, &p, NULL), 0);
    assert_int_equal(p->channel, ALERT_CHANNEL_TICKET);
    assert_true(p->next_business_day);
    p = alert_policy_free(p);

    p = untouched;
    assert_int_equal(alert_policy_default((enum alert_severity)9, rx, 1, &p, &err), -EINVAL);
    assert_ptr_equal(p, untouched);
    assert_int_equal(alert_policy_default(ALERT_SEV_HIGH, rx, 0, &p, &err), -EINVAL);
    assert_ptr_equal(p, untouched);
    assert_non_null(strstr(err.msg, "no receivers"));
    {
        static const char *const bad[] = { "ok", "" };
        assert_int_equal(alert_policy_default(ALERT_SEV_HIGH, bad, 2, &p, &err), -EINVAL);
        assert_ptr_equal(p, untouched);
    }

    assert_string_equal(alert_severity_to_string(ALERT_SEV_HIGH), "high");
    assert_null(alert_severity_to_string((enum alert_severity)0));
    assert_int_equal(alert_severity_from_string("Critical", &sev), 0);
    assert_int_equal(sev, ALERT_SEV_CRITICAL);
    sev = ALERT_SEV_LOW;
    assert_int_equal(alert_severity_from_string("sev1", &sev), -EINVAL);
    assert_int_equal(sev, ALERT_SEV_LOW);
    assert_string_equal(alert_reason_to_string(ALERT_REASON_ACK_EXPIRED), "ack-expired");
}

static void test_esc_steps_and_repeat(void **state)
{
    struct alert_policy *p = two_step_policy(1);
    struct alert_esc e;
    struct alert_esc_out out = { 0 };

    alert_esc_init(&e, p);
    assert_int_equal(alert_esc_start(&e, 0, &out), 0);
    assert_int_equal(out.n, 1);
    assert_action(&out.actions[0], ALERT_REASON_FIRING, 0, 0, 0, "alice", NULL);
    assert_int_equal(out.next_wake_ms, 10 * MIN_MS);

    /* Nothing before the wait passes. */
    assert_int_equal(alert_esc_tick(&e, 10 * MIN_MS - 1, &out), 0);
    assert_int_equal(out.n, 0);
    assert_int_equal(out.next_wake_ms, 10 * MIN_MS);

    assert_int_equal(alert_esc_tick(&e, 10 * MIN_MS, &out), 0);
    assert_int_equal(out.n, 1);
    assert_action(&out.actions[0], ALERT_REASON_ESCALATED, 1, 0, 10 * MIN_MS, "bob", "carol", NULL);
    assert_int_equal(out.next_wake_ms, 30 * MIN_MS);

    /* After the last step: back to step 0 once (repeat 1). */
    assert_int_equal(alert_esc_tick(&e, 30 * MIN_MS, &out), 0);
    assert_int_equal(out.n, 1);
    assert_action(&out.actions[0], ALERT_REASON_REPEATED, 0, 1, 30 * MIN_MS, "alice", NULL);
    assert_int_equal(out.next_wake_ms, 40 * MIN_MS);

    assert_int_equal(alert_esc_tick(&e, 40 * MIN_MS, &out), 0);
    assert_action(&out.actions[0], ALERT_REASON_ESCALATED, 1, 1, 40 * MIN_MS, "bob", "carol", NULL);
    assert_int_equal(out.next_wake_ms, 60 * MIN_MS);

    /* Repeats used up: stop, and stay stopped. */
    assert_int_equal(alert_esc_tick(&e, 60 * MIN_MS, &out), 0);
    assert_int_equal(out.n, 0);
    assert_int_equal(out.next_wake_ms, ALERT_NO_WAKE);
    assert_int_equal(e.phase, ALERT_ESC_EXHAUSTED);
    assert_int_equal(alert_esc_tick(&e, 600 * MIN_MS, &out), 0);
    assert_int_equal(out.n, 0);

    /* Exhausted is not resolved: the resolve still reaches everyone. */
    assert_int_equal(alert_esc_resolve(&e, 700 * MIN_MS, &out), 0);
    assert_int_equal(out.n, 1);
    assert_action(&out.actions[0], ALERT_REASON_RESOLVED, 0, 1, 700 * MIN_MS, "alice", "bob",
                  "carol", NULL);

    alert_esc_out_release(&out);
    alert_esc_release(&e);
    alert_policy_free(p);
}

static void test_esc_repeat_zero_and_late_tick(void **state)
{
    struct alert_policy *p = two_step_policy(0);
    struct alert_esc e;
    struct alert_esc_out out = { 0 };

    alert_esc_init(&e, p);
    assert_int_equal(alert_esc_start(&e, 1000, &out), 0);
    /* A tick far too late catches up on the schedule, not on "now". */
    assert_int_equal(alert_esc_tick(&e, 1000 + 500 * MIN_MS, &out), 0);
    assert_int_equal(out.n, 1);
    assert_action(&out.actions[0], ALERT_REASON_ESCALATED, 1, 0, 1000 + 10 * MIN_MS, "bob", "carol",
                  NULL);
    assert_int_equal(out.next_wake_ms, ALERT_NO_WAKE);
    assert_int_equal(e.phase, ALERT_ESC_EXHAUSTED);

    alert_esc_release(&e);
    p->repeat = 2;
    alert_esc_init(&e, p);
    assert_int_equal(alert_esc_start(&e, 0, &out), 0);
    assert_int_equal(alert_esc_tick(&e, 1000 * MIN_MS, &out), 0);
    /* step1, then (step0, step1) twice more. */
    assert_int_equal(out.n, 5);
    assert_action(&out.actions[1], ALERT_REASON_REPEATED, 0, 1, 30 * MIN_MS, "alice", NULL);
    assert_action(&out.actions[4], ALERT_REASON_ESCALATED, 1, 2, 70 * MIN_MS, "bob", "carol", NULL);
    assert_int_equal(e.phase, ALERT_ESC_EXHAUSTED);

    alert_esc_out_release(&out);
    alert_esc_release(&e);
    alert_policy_free(p);
}

static void test_esc_ack_stops_but_resolve_reaches_all(void **state)
{
    struct alert_policy *p = two_step_policy(3);
    struct alert_esc e;
    struct alert_esc_out out = { 0 };

    alert_esc_init(&e, p);
    assert_int_equal(alert_esc_start(&e, 0, &out), 0);
    assert_int_equal(alert_esc_tick(&e, 10 * MIN_MS, &out), 0);
    assert_int_equal(out.n, 1);

    /* bob acks: nothing is sent, and the only wake-up is the ack expiry. */
    assert_int_equal(alert_esc_ack(&e, 12 * MIN_MS, 60 * MIN_MS, &out), 0);
    assert_int_equal(out.n, 0);
    assert_int_equal(out.next_wake_ms, 72 * MIN_MS);
    assert_int_equal(e.phase, ALERT_ESC_ACKED);
    for (uint64_t t = 13; t < 72; t++) {
        assert_int_equal(alert_esc_tick(&e, t * MIN_MS, &out), 0);
        assert_int_equal(out.n, 0);
        assert_int_equal(out.next_wake_ms, 72 * MIN_MS);
    }

    /* The resolve is never swallowed by the ack: all three hear of it. */
    assert_int_equal(alert_esc_resolve(&e, 71 * MIN_MS, &out), 0);
    assert_int_equal(out.n, 1);
    assert_action(&out.actions[0], ALERT_REASON_RESOLVED, 0, 0, 71 * MIN_MS, "alice", "bob",
                  "carol", NULL);
    assert_int_equal(out.next_wake_ms, ALERT_NO_WAKE);
    assert_int_equal(e.phase, ALERT_ESC_RESOLVED);

    /* Nothing more after a resolve. */
    assert_int_equal(alert_esc_tick(&e, 100 * MIN_MS, &out), 0);
    assert_int_equal(out.n, 0);
    assert_int_equal(alert_esc_resolve(&e, 100 * MIN_MS, &out), -EALREADY);
    assert_int_equal(out.n, 0);
    assert_int_equal(alert_esc_ack(&e, 100 * MIN_MS, 0, &out), -EINVAL);

    /* Acked before any escalation: only alice was notified. */
    assert_int_equal(alert_esc_start(&e, 200 * MIN_MS, &out), 0);
    assert_int_equal(alert_esc_ack(&e, 201 * MIN_MS, 0, &out), 0);
    assert_int_equal(alert_esc_tick(&e, 220 * MIN_MS, &out), 0);
    assert_int_equal(out.n, 0);
    assert_int_equal(alert_esc_resolve(&e, 221 * MIN_MS, &out), 0);
    assert_action(&out.actions[0], ALERT_REASON_RESOLVED, 0, 0, 221 * MIN_MS, "alice", NULL);

    alert_esc_out_release(&out);
    alert_esc_release(&e);
    alert_policy_free(p);
}

static void test_esc_ack_expiry_repages(void **state)
{
    struct alert_policy *p = two_step_policy(0);
    struct alert_esc e;
    struct alert_esc_out out = { 0 };

    alert_esc_init(&e, p);
    assert_int_equal(alert_esc_start(&e, 0, &out), 0);
    /* 0 means the 30 min default. */
    assert_int_equal(alert_esc_ack(&e, 1 * MIN_MS, 0, &out), 0);
    assert_int_equal(out.next_wake_ms, 31 * MIN_MS);
    assert_int_equal(alert_esc_tick(&e, 31 * MIN_MS - 1, &out), 0);
    assert_int_equal(out.n, 0);

    /* Still firing when the ack runs out: page step 0 again. */
    assert_int_equal(alert_esc_tick(&e, 31 * MIN_MS, &out), 0);
    assert_int_equal(out.n, 1);
    assert_action(&out.actions[0], ALERT_REASON_ACK_EXPIRED, 0, 0, 31 * MIN_MS, "alice", NULL);
    assert_int_equal(out.next_wake_ms, 41 * MIN_MS);
    assert_int_equal(e.phase, ALERT_ESC_ACTIVE);

    /* And escalation carries on from there. */
    assert_int_equal(alert_esc_tick(&e, 41 * MIN_MS, &out), 0);
    assert_action(&out.actions[0], ALERT_REASON_ESCALATED, 1, 0, 41 * MIN_MS, "bob", "carol", NULL);

    /* Re-acking extends; an ack of an exhausted alert expires as well. */
    assert_int_equal(alert_esc_tick(&e, 61 * MIN_MS, &out), 0);
    assert_int_equal(e.phase, ALERT_ESC_EXHAUSTED);
    assert_int_equal(alert_esc_ack(&e, 62 * MIN_MS, 5 * MIN_MS, &out), 0);
    assert_int_equal(alert_esc_ack(&e, 66 * MIN_MS, 5 * MIN_MS, &out), 0);
    assert_int_equal(out.next_wake_ms, 71 * MIN_MS);
    assert_int_equal(alert_esc_tick(&e, 67 * MIN_MS, &out), 0);
    assert_int_equal(out.n, 0);
    assert_int_equal(alert_esc_tick(&e, 75 * MIN_MS, &out), 0);
    assert_int_equal(out.n, 1);
    assert_action(&out.actions[0], ALERT_REASON_ACK_EXPIRED, 0, 0, 71 * MIN_MS, "alice", NULL);
    assert_int_equal(out.next_wake_ms, 81 * MIN_MS);

    alert_esc_out_release(&out);
    alert_esc_release(&e);
    alert_policy_free(p);
}

static void test_esc_errors_and_tickets(void **state)
{
    static const char *const rx[] = { "queue" };
    struct alert_policy *empty = alert_policy_new(), *p = NULL;
    struct alert_esc e;
    struct alert_esc_out out = { 0 };

    alert_esc_init(&e, empty);
    assert_int_equal(alert_esc_start(&e, 0, &out), -EINVAL);
    assert_int_equal(alert_esc_ack(&e, 0, 0, &out), -EINVAL);
    assert_int_equal(alert_esc_resolve(&e, 0, &out), -EINVAL);
    assert_int_equal(out.n, 0);
    alert_esc_release(&e);

    /* A medium alert makes one ticket and never chases it. */
    assert_int_equal(alert_policy_default(ALERT_SEV_MEDIUM, rx, 1, &p, NULL), 0);
    alert_esc_init(&e, p);
    assert_int_equal(alert_esc_start(&e, 5, &out), 0);
    assert_int_equal(out.n, 1);
    assert_action(&out.actions[0], ALERT_REASON_FIRING, 0, 0, 5, "queue", NULL);
    assert_int_equal(out.next_wake_ms, ALERT_NO_WAKE);
    assert_int_equal(alert_esc_start(&e, 6, &out), -EALREADY);
    assert_int_equal(alert_esc_tick(&e, 1000 * MIN_MS, &out), 0);
    assert_int_equal(out.n, 0);
    assert_int_equal(alert_esc_resolve(&e, 1001 * MIN_MS, &out), 0);
    assert_action(&out.actions[0], ALERT_REASON_RESOLVED, 0, 0, 1001 * MIN_MS, "queue", NULL);

    alert_esc_out_release(&out);
    alert_esc_release(&e);
    alert_policy_free(p);
    alert_policy_free(empty);
}

static void test_flap_held_and_released(void **state)
{
    struct alert_flap f;
    struct alert_flap_verdict v;
    struct opsd_error err = { 0 };

    assert_int_equal(alert_flap_init(&f, 0, MIN_MS, false, &err), -EINVAL);
    assert_int_equal(alert_flap_init(&f, 65, MIN_MS, false, &err), -EINVAL);
    assert_int_equal(alert_flap_init(&f, 3, 0, false, &err), -EINVAL);
    /* More than 3 changes within 10 min is flapping. */
    assert_int_equal(alert_flap_init(&f, 3, 10 * MIN_MS, false, &err), 0);

    v = alert_flap_observe(&f, false, 0);
    assert_false(v.changed);
    assert_false(v.deliver);
    v = alert_flap_observe(&f, true, 1 * MIN_MS);
    assert_true(v.changed && v.deliver);
    assert_int_equal(v.event, ALERT_FLAP_NONE);
    v = alert_flap_observe(&f, false, 2 * MIN_MS);
    assert_true(v.deliver);
    v = alert_flap_observe(&f, true, 3 * MIN_MS);
    assert_true(v.deliver);
    assert_int_equal(v.next_wake_ms, ALERT_NO_WAKE);

    /* The 4th change within 10 min: flapping, notified once, held. */
    v = alert_flap_observe(&f, false, 4 * MIN_MS);
    assert_int_equal(v.event, ALERT_FLAP_STARTED);
    assert_true(v.changed);
    assert_false(v.deliver);
    assert_int_equal(v.next_wake_ms, 14 * MIN_MS);
    v = alert_flap_observe(&f, true, 5 * MIN_MS);
    assert_int_equal(v.event, ALERT_FLAP_NONE);
    assert_true(v.changed);
    assert_false(v.deliver);
    assert_int_equal(v.next_wake_ms, 15 * MIN_MS);
    v = alert_flap_observe(&f, true, 6 * MIN_MS);
    assert_false(v.changed);
    assert_int_equal(v.event, ALERT_FLAP_NONE);

    /* Stable for less than the window: still held. */
    v = alert_flap_tick(&f, 15 * MIN_MS - 1);
    assert_int_equal(v.event, ALERT_FLAP_NONE);
    assert_true(f.flapping);
    /* Stable for the window: ends, announcing the settled state. */
    v = alert_flap_tick(&f, 15 * MIN_MS);
    assert_int_equal(v.event, ALERT_FLAP_ENDED);
    assert_true(v.firing);
    assert_int_equal(v.next_wake_ms, ALERT_NO_WAKE);
    v = alert_flap_tick(&f, 16 * MIN_MS);
    assert_int_equal(v.event, ALERT_FLAP_NONE);

    /* Counting starts afresh: the next three changes go out as usual. */
    v = alert_flap_observe(&f, false, 17 * MIN_MS);
    assert_true(v.deliver);
    v = alert_flap_observe(&f, true, 18 * MIN_MS);
    assert_true(v.deliver);
    v = alert_flap_observe(&f, false, 19 * MIN_MS);
    assert_true(v.deliver);
    assert_false(f.flapping);

    /* Changes spread wider than the window never flap. */
    assert_int_equal(alert_flap_init(&f, 3, 10 * MIN_MS, false, NULL), 0);
    for (uint64_t t = 1; t <= 20; t++) {
        v = alert_flap_observe(&f, t % 2, t * 4 * MIN_MS);
        assert_true(v.deliver);
        assert_int_equal(v.event, ALERT_FLAP_NONE);
    }

    /* An observation that both ends flapping and changes state: ended, and
     * the change is delivered. */
    assert_int_equal(alert_flap_init(&f, 1, 10 * MIN_MS, false, NULL), 0);
    alert_flap_observe(&f, true, 0);
    v = alert_flap_observe(&f, false, 1);
    assert_int_equal(v.event, ALERT_FLAP_STARTED);
    v = alert_flap_observe(&f, true, 1 + 10 * MIN_MS);
    assert_int_equal(v.event, ALERT_FLAP_ENDED);
    assert_true(v.deliver);
    assert_true(v.firing);
}

static void push_all(struct alert_xofy *x, const char *seq, const char *flips)
{
    for (size_t i = 0; seq[i]; i++) {
        bool flipped = alert_xofy_push(x, seq[i] == 'S');
        if (flipped != (flips[i] == '!'))
            fail_msg("check %zu ('%c') of '%s': flipped=%d", i, seq[i], seq, flipped);
    }
}

static void test_xofy(void **state)
{
    struct alert_xofy x;
    struct opsd_error err = { 0 };

    assert_int_equal(alert_xofy_init(&x, 0, 5, 2, 3, &err), -EINVAL);
    assert_int_equal(alert_xofy_init(&x, 6, 5, 2, 3, &err), -EINVAL);
    assert_int_equal(alert_xofy_init(&x, 3, 65, 2, 3, &err), -EINVAL);
    assert_int_equal(alert_xofy_init(&x, 3, 5, 4, 3, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "successes"));

    /* Fail when 3 of the last 5 fail; up again after 2 of the last 3 pass. */
    assert_int_equal(alert_xofy_init(&x, 3, 5, 2, 3, &err), 0);
    assert_false(x.down);
    push_all(&x, "FSFS", "....");
    assert_false(x.down);
    push_all(&x, "F", "!");
    assert_true(x.down);
    /* One success is not enough; S F S is 2 of the last 3. */
    push_all(&x, "SFS", "..!");
    assert_false(x.down);
    /* The failures that took it down do not count any more. */
    push_all(&x, "FF", "..");
    assert_false(x.down);
    /* Failures sliding out of the 5-window: F F S S S F keeps at most 2. */
    push_all(&x, "SSSFSSFS", "........");
    assert_false(x.down);
    push_all(&x, "FF", ".!");
    assert_true(x.down);
    push_all(&x, "FFFFSFFSFS", ".........!");
    assert_false(x.down);

    /* 1 of 1 both ways follows every check. */
    assert_int_equal(alert_xofy_init(&x, 1, 1, 1, 1, NULL), 0);
    push_all(&x, "SFFSSF", ".!.!.!");

    /* The full 64-wide window. */
    assert_int_equal(alert_xofy_init(&x, 64, 64, 1, 64, NULL), 0);
    for (int i = 0; i < 63; i++)
        assert_false(alert_xofy_push(&x, false));
    assert_true(alert_xofy_push(&x, false));
    assert_true(alert_xofy_push(&x, true));
}

static void random_key(uint8_t *key)
{
    /* Any fixed key will do for tests; vary it per call site. */
    static uint8_t seed = 1;
    for (int i = 0; i < ALERT_LINK_KEY_LEN; i++)
        key[i] = (uint8_t)(seed * 31 + i * 7);
    seed++;
}

/* The key: SHA-256 of link_secret, else data_dir/link.key made once. */
static void test_link_key(void **state)
{
    /* SHA-256("abc"), FIPS 180-2's example */
    static const uint8_t abc[ALERT_LINK_KEY_LEN] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
        0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
        0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad
    };
    uint8_t k1[ALERT_LINK_KEY_LEN], k2[ALERT_LINK_KEY_LEN], zero[ALERT_LINK_KEY_LEN] = { 0 };
    char dir[] = "/tmp/opsd-linkkey.XXXXXX", path[64];
    struct opsd_error err = { 0 };
    struct stat st;
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/" ALERT_LINK_KEY_FILE, dir);

    /* A secret is hashed, and no file is made for it. */
    assert_int_equal(alert_link_key_load("abc", dir, k1, &err), 0);
    assert_memory_equal(k1, abc, sizeof(abc));
    assert_int_not_equal(stat(path, &st), 0);

    /* No secret: a random key is made, private, and the same next time. */
    memset(k1, 0, sizeof(k1));
    assert_int_equal(alert_link_key_load(NULL, dir, k1, &err), 0);
    assert_memory_not_equal(k1, zero, sizeof(zero));
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, ALERT_LINK_KEY_LEN);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(alert_link_key_load("", dir, k2, &err), 0); /* "" is no secret */
    assert_memory_equal(k1, k2, sizeof(k1));

    /* A damaged file is an error, not silently replaced (links already
     * sent would stop working), and the key is left alone. */
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("short", f);
    fclose(f);
    memcpy(k2, k1, sizeof(k1));
    assert_int_equal(alert_link_key_load(NULL, dir, k2, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "holds 5 bytes"));
    assert_memory_equal(k2, k1, sizeof(k1));

    /* An unwritable place says where. */
    assert_true(alert_link_key_load(NULL, "/nonexistent/opsd", k2, &err) < 0);
    assert_non_null(strstr(err.msg, "/nonexistent/opsd"));

    unlink(path);
    rmdir(dir);
}

static void test_link(void **state)
{
    uint8_t key[ALERT_LINK_KEY_LEN], other[ALERT_LINK_KEY_LEN];
    char tok[ALERT_LINK_TOKEN_SIZE], tok2[ALERT_LINK_TOKEN_SIZE], bad[ALERT_LINK_TOKEN_SIZE + 1];
    char small[10] = "untouched";
    struct opsd_error err = { 0 };
    const uint64_t exp = 1000 * MIN_MS;

    random_key(key);
    random_key(other);
    assert_int_equal(alert_link_create(key, ALERT_LINK_ACK, 42, exp, tok, sizeof(tok), &err), 0);
    assert_int_equal(strlen(tok), ALERT_LINK_TOKEN_SIZE - 1);
    assert_null(strpbrk(tok, "+/="));

    assert_int_equal(alert_link_verify(key, tok, ALERT_LINK_ACK, 42, 0, &err), 0);
    assert_int_equal(alert_link_verify(key, tok, ALERT_LINK_ACK, 42, exp - 1, &err), 0);
    /* Expired, from the expiry on. */
    assert_int_equal(alert_link_verify(key, tok, ALERT_LINK_ACK, 42, exp, &err), -EKEYEXPIRED);
    assert_non_null(strstr(err.msg, "expired"));
    /* An ack link cannot resolve, nor ack another alert. */
    assert_int_equal(alert_link_verify(key, tok, ALERT_LINK_RESOLVE, 42, 0, &err), -EPERM);
    assert_int_equal(alert_link_verify(key, tok, ALERT_LINK_ACK, 43, 0, &err), -EACCES);
    /* Another key: the signature fails. */
    assert_int_equal(alert_link_verify(other, tok, ALERT_LINK_ACK, 42, 0, &err), -EBADMSG);

    /* Every single-character change in the body or MAC is caught (the
     * last character has spare bits, so some changes there are malformed
     * rather than mis-signed). */
    for (size_t i = 0; i < strlen(tok); i++) {
        int r;
        strcpy(bad, tok);
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        r = alert_link_verify(key, bad, ALERT_LINK_ACK, 42, 0, &err);
        if (i + 1 < strlen(tok))
            assert_int_equal(r, -EBADMSG);
        else
            assert_true(r == -EBADMSG || r == -EINVAL);
    }

    /* Malformed. */
    assert_int_equal(alert_link_verify(key, "", ALERT_LINK_ACK, 42, 0, &err), -EINVAL);
    assert_int_equal(alert_link_verify(key, NULL, ALERT_LINK_ACK, 42, 0, &err), -EINVAL);
    strcpy(bad, tok);
    bad[strlen(bad) - 1] = '\0';
    assert_int_equal(alert_link_verify(key, bad, ALERT_LINK_ACK, 42, 0, &err), -EINVAL);
    strcpy(bad, tok);
    strcat(bad, "A");
    assert_int_equal(alert_link_verify(key, bad, ALERT_LINK_ACK, 42, 0, &err), -EINVAL);
    strcpy(bad, tok);
    bad[3] = '+';
    assert_int_equal(alert_link_verify(key, bad, ALERT_LINK_ACK, 42, 0, &err), -EINVAL);

    /* Resolve links are their own purpose; a nonce makes every link new. */
    assert_int_equal(alert_link_create(key, ALERT_LINK_RESOLVE, 42, exp, tok2, sizeof(tok2), &err),
                     0);
    assert_int_equal(alert_link_verify(key, tok2, ALERT_LINK_RESOLVE, 42, 0, &err), 0);
    assert_int_equal(alert_link_verify(key, tok2, ALERT_LINK_ACK, 42, 0, &err), -EPERM);
    assert_int_equal(alert_link_create(key, ALERT_LINK_ACK, 42, exp, tok2, sizeof(tok2), &err), 0);
    assert_string_not_equal(tok, tok2);

    /* Creation errors leave the buffer alone. */
    assert_int_equal(alert_link_create(key, ALERT_LINK_ACK, 42, exp, small, sizeof(small), &err),
                     -ENOBUFS);
    assert_string_equal(small, "untouched");
    assert_int_equal(
        alert_link_create(key, (enum alert_link_purpose)7, 42, exp, tok2, sizeof(tok2), &err),
        -EINVAL);
}

static void test_apitoken(void **state)
{
    char tok[APITOKEN_SIZE], tok2[APITOKEN_SIZE], bad[APITOKEN_SIZE], h[APITOKEN_HASH_SIZE];
    struct apitoken_record rec, rec2, untouched;
    struct opsd_error err = { 0 };
    enum apitoken_scope sc;

    assert_int_equal(apitoken_create(APITOKEN_SCOPE_WRITE, tok, &rec, &err), 0);
    assert_int_equal(strlen(tok), APITOKEN_LEN);
    assert_memory_equal(tok, "opsd_", 5);
    assert_int_equal(strlen(rec.hash), 64);
    assert_int_equal(strspn(rec.hash, "0123456789abcdef"), 64);
    assert_int_equal(strlen(rec.prefix), 8);
    assert_memory_equal(rec.prefix, tok + 5, 8);
    assert_int_equal(rec.scope, APITOKEN_SCOPE_WRITE);
    /* Only the hash is stored, and it is the hash of the whole token. */
    assert_null(strstr(rec.hash, tok + 5));
    assert_int_equal(apitoken_hash(tok, h), 0);
    assert_string_equal(h, rec.hash);
    /* A known vector: SHA-256("abc"). */
    assert_int_equal(apitoken_hash("abc", h), 0);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

    /* Scopes are ordered: write covers read, not admin. */
    assert_int_equal(apitoken_verify(&rec, tok, APITOKEN_SCOPE_READ, &err), 0);
    assert_int_equal(apitoken_verify(&rec, tok, APITOKEN_SCOPE_WRITE, &err), 0);
    assert_int_equal(apitoken_verify(&rec, tok, APITOKEN_SCOPE_ADMIN, &err), -EPERM);
    assert_non_null(strstr(err.msg, "'write'"));
    assert_true(apitoken_scope_allows(APITOKEN_SCOPE_ADMIN, APITOKEN_SCOPE_READ));
    assert_false(apitoken_scope_allows(APITOKEN_SCOPE_READ, APITOKEN_SCOPE_WRITE));
    assert_false(apitoken_scope_allows((enum apitoken_scope)0, APITOKEN_SCOPE_READ));

    /* Another token, or this one with a character changed: rejected. */
    assert_int_equal(apitoken_create(APITOKEN_SCOPE_ADMIN, tok2, &rec2, &err), 0);
    assert_string_not_equal(tok, tok2);
    assert_int_equal(apitoken_verify(&rec, tok2, APITOKEN_SCOPE_READ, &err), -EACCES);
    assert_int_equal(apitoken_verify(&rec2, tok2, APITOKEN_SCOPE_ADMIN, &err), 0);
    strcpy(bad, tok);
    bad[20] = bad[20] == 'A' ? 'B' : 'A';
    assert_int_equal(apitoken_verify(&rec, bad, APITOKEN_SCOPE_READ, &err), -EACCES);

    /* Not shaped like a token. */
    assert_int_equal(apitoken_verify(&rec, "opsd_short", APITOKEN_SCOPE_READ, &err), -EINVAL);
    assert_int_equal(apitoken_verify(&rec, NULL, APITOKEN_SCOPE_READ, &err), -EINVAL);
    strcpy(bad, tok);
    bad[0] = 'O';
    assert_int_equal(apitoken_verify(&rec, bad, APITOKEN_SCOPE_READ, &err), -EINVAL);
    strcpy(bad, tok);
    bad[30] = '/';
    assert_int_equal(apitoken_verify(&rec, bad, APITOKEN_SCOPE_READ, &err), -EINVAL);

    /* Bad scope: outputs left alone. */
    memset(&untouched, 0x5a, sizeof(untouched));
    rec2 = untouched;
    strcpy(tok2, "x");
    assert_int_equal(apitoken_create((enum apitoken_scope)4, tok2, &rec2, &err), -EINVAL);
    assert_memory_equal(&rec2, &untouched, sizeof(rec2));
    assert_string_equal(tok2, "x");

    assert_string_equal(apitoken_scope_to_string(APITOKEN_SCOPE_ADMIN), "admin");
    assert_int_equal(apitoken_scope_from_string("READ", &sc), 0);
    assert_int_equal(sc, APITOKEN_SCOPE_READ);
    assert_int_equal(apitoken_scope_from_string("root", &sc), -EINVAL);
    assert_int_equal(sc, APITOKEN_SCOPE_READ);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_default),
        cmocka_unit_test(test_esc_steps_and_repeat),
        cmocka_unit_test(test_esc_repeat_zero_and_late_tick),
        cmocka_unit_test(test_esc_ack_stops_but_resolve_reaches_all),
        cmocka_unit_test(test_esc_ack_expiry_repages),
        cmocka_unit_test(test_esc_errors_and_tickets),
        cmocka_unit_test(test_flap_held_and_released),
        cmocka_unit_test(test_xofy),
        cmocka_unit_test(test_link),
        cmocka_unit_test(test_link_key),
        cmocka_unit_test(test_apitoken),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
