/* Flap detection for alerts, and X-of-Y tolerance for monitor checks.
 *
 * Pure logic on caller-supplied time; fixed-size state, no allocation. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert/escalation.h" /* ALERT_NO_WAKE */
#include "util/error.h"

#define ALERT_FLAP_MAX_CHANGES 64

/* Stored and sent to notifiers: values only grow. */
enum alert_flap_event {
    ALERT_FLAP_NONE = 0,
    ALERT_FLAP_STARTED = 1, /* notify once: "flapping"; changes are held from now */
    ALERT_FLAP_ENDED = 2,   /* stable for the window: announce the settled state */
};

/* "More than max_changes state changes within window_ms" is flapping; it
 * ends once the state has not changed for window_ms. */
struct alert_flap {
    unsigned max_changes;
    uint64_t window_ms;
    bool firing; /* the latest observed state */
    bool flapping;
    uint64_t last_change_ms;
    uint64_t changes[ALERT_FLAP_MAX_CHANGES + 1]; /* ring of change times */
    size_t head, n;
};

struct alert_flap_verdict {
    enum alert_flap_event event;
    bool changed;          /* the observation differed from the previous state */
    bool deliver;          /* the change goes out as usual (false: held while flapping) */
    bool firing;           /* the current state: what to announce on ALERT_FLAP_ENDED */
    uint64_t next_wake_ms; /* when tick() may end flapping; ALERT_NO_WAKE if never */
};

/* -EINVAL for max_changes outside 1..ALERT_FLAP_MAX_CHANGES or a zero
 * window; f is left alone then. */
int alert_flap_init(struct alert_flap *f, unsigned max_changes, uint64_t window_ms,
                    bool initially_firing, struct opsd_error *err);
/* Feeds the alert's current state (observations that equal the previous
 * state are fine and only move time on). now_ms must not go backwards. */
struct alert_flap_verdict alert_flap_observe(struct alert_flap *f, bool firing, uint64_t now_ms);
/* Ends flapping once the state was stable for the window; call at
 * next_wake_ms when no observation is due sooner. */
struct alert_flap_verdict alert_flap_tick(struct alert_flap *f, uint64_t now_ms);

/* X-of-Y tolerance: down when fail_x of the last fail_y checks failed, up
 * again when up_x of the last up_y succeeded. Each verdict needs evidence
 * gathered after the previous one (the history restarts on every flip):
 * otherwise the failures that took a monitor down still count after it
 * recovers, and one more failure takes it straight back down. */
#define ALERT_XOFY_MAX 64

struct alert_xofy {
    uint64_t bits; /* bit i = 1: the check i results ago failed */
    unsigned seen; /* results since the last flip, capped at ALERT_XOFY_MAX */
    unsigned fail_x, fail_y, up_x, up_y;
    bool down;
};

/* Needs 1 <= x <= y <= ALERT_XOFY_MAX for both pairs, else -EINVAL and x
 * left alone. Starts up. */
int alert_xofy_init(struct alert_xofy *x, unsigned fail_x, unsigned fail_y, unsigned up_x,
                    unsigned up_y, struct opsd_error *err);
/* Records one check; returns true when the verdict flipped. */
bool alert_xofy_push(struct alert_xofy *x, bool ok);
/* Sets the verdict from outside (an explicit signal, a restored state)
 * and starts gathering evidence afresh. */
void alert_xofy_reset(struct alert_xofy *x, bool down);
