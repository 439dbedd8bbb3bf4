/* Flap detection for alerts, and X-of-Y tolerance for monitor checks. */
#include "alert/flap.h"

int alert_flap_init(struct alert_flap *f, unsigned max_changes, uint64_t window_ms,
                    bool initially_firing, struct opsd_error *err)
{
    if (max_changes < 1 || max_changes > ALERT_FLAP_MAX_CHANGES)
        return opsd_errorf(err, -EINVAL, "flap threshold %u is outside 1..%d", max_changes,
                           ALERT_FLAP_MAX_CHANGES);
    if (window_ms == 0)
        return opsd_errorf(err, -EINVAL, "flap window must be positive");
    *f = (struct alert_flap){
        .max_changes = max_changes,
        .window_ms = window_ms,
        .firing = initially_firing,
    };
    return 0;
}

static struct alert_flap_verdict verdict(const struct alert_flap *f)
{
    return (struct alert_flap_verdict){
        .firing = f->firing,
        .next_wake_ms = f->flapping ? f->last_change_ms + f->window_ms : ALERT_NO_WAKE,
    };
}

static bool settle(struct alert_flap *f, uint64_t now_ms)
{
    if (!f->flapping || now_ms - f->last_change_ms < f->window_ms)
        return false;
    f->flapping = false;
    /* Every remembered change is older than the window by now; dropping
     * them makes the next episode count from scratch. */
    f->n = 0;
    return true;
}

struct alert_flap_verdict alert_flap_tick(struct alert_flap *f, uint64_t now_ms)
{
    bool ended = settle(f, now_ms);
    struct alert_flap_verdict v = verdict(f);

    if (ended)
        v.event = ALERT_FLAP_ENDED;
    return v;
}

struct alert_flap_verdict alert_flap_observe(struct alert_flap *f, bool firing, uint64_t now_ms)
{
    const size_t cap = f->max_changes + 1;
    struct alert_flap_verdict v;
    bool ended, started = false, changed = firing != f->firing;
    uint64_t oldest;

    ended = settle(f, now_ms);
    if (changed) {
        f->firing = firing;
        f->last_change_ms = now_ms;
        /* Keep the last max_changes + 1 change times: flapping is when
         * the oldest of them is still inside the window. */
        f->changes[(f->head + f->n) % cap] = now_ms;
        if (f->n < cap)
            f->n++;
        else
            f->head = (f->head + 1) % cap;
        oldest = f->changes[f->head];
        if (!f->flapping && f->n == cap && now_ms - oldest <= f->window_ms) {
            f->flapping = true;
            started = true;
        }
    }
    v = verdict(f);
    v.changed = changed;
    if (started)
        v.event = ALERT_FLAP_STARTED;
    else if (ended)
        v.event = ALERT_FLAP_ENDED;
    /* The change that starts flapping is held too: the "flapping" notice
     * replaces it. */
    v.deliver = changed && !f->flapping;
    return v;
}

int alert_xofy_init(struct alert_xofy *x, unsigned fail_x, unsigned fail_y, unsigned up_x,
                    unsigned up_y, struct opsd_error *err)
{
    if (fail_x < 1 || fail_x > fail_y || fail_y > ALERT_XOFY_MAX)
        return opsd_errorf(err, -EINVAL, "'%u of %u' failures: need 1 <= x <= y <= %d", fail_x,
                           fail_y, ALERT_XOFY_MAX);
    if (up_x < 1 || up_x > up_y || up_y > ALERT_XOFY_MAX)
        return opsd_errorf(err, -EINVAL, "'%u of %u' successes: need 1 <= x <= y <= %d", up_x, up_y,
                           ALERT_XOFY_MAX);
    *x = (struct alert_xofy){
        .fail_x = fail_x,
        .fail_y = fail_y,
        .up_x = up_x,
        .up_y = up_y,
    };
    return 0;
}

/* Failures among the last y results seen (fewer if fewer were seen). */
static unsigned failures_in_last(const struct alert_xofy *x, unsigned y)
{
    unsigned k = y < x->seen ? y : x->seen;
    uint64_t mask = k >= 64 ? UINT64_MAX : (UINT64_C(1) << k) - 1;

    return (unsigned)__builtin_popcountll(x->bits & mask);
}

bool alert_xofy_push(struct alert_xofy *x, bool ok)
{
    unsigned k;

    x->bits = (x->bits << 1) | (ok ? 0 : 1);
    if (x->seen < ALERT_XOFY_MAX)
        x->seen++;
    if (!x->down) {
        if (failures_in_last(x, x->fail_y) < x->fail_x)
            return false;
    } else {
        k = x->up_y < x->seen ? x->up_y : x->seen;
        if (k - failures_in_last(x, x->up_y) < x->up_x)
            return false;
    }
    x->down = !x->down;
    x->bits = 0;
    x->seen = 0;
    return true;
}

void alert_xofy_reset(struct alert_xofy *x, bool down)
{
    x->down = down;
    x->bits = 0;
    x->seen = 0;
}
