/* Cron heartbeats (Healthchecks.io-style): a 5-field cron expression held as
 * bitmasks, IANA time zones read straight from TZif files, and the fire
 * times of a schedule in a zone. Zones never go through the process TZ
 * (setenv + tzset is global state in a multi-threaded daemon, and every
 * monitor may name a different zone). Everything here is pure: the caller
 * passes instants in, as ms since the Unix epoch (UTC). */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

#define PROBE_CRON_MAX_LEN 256      /* bytes in a cron expression */
#define PROBE_CRON_HORIZON_YEARS 10 /* how far next/prev search before -ENOENT */
#define PROBE_TZ_DIR "/usr/share/zoneinfo"
#define PROBE_TZ_MAX_NAME 64           /* bytes in a zone name */
#define PROBE_TZ_MAX_FILE (256 * 1024) /* bytes of a TZif file */
#define PROBE_TZ_MAX_TRANSITIONS 4096  /* per TZif data block */

/* A parsed schedule: bit v of a mask is set when value v is allowed.
 * Plain data: copy it, compare it, no destructor. */
struct probe_cron {
    uint64_t minute; /* bits 0-59 */
    uint32_t hour;   /* bits 0-23 */
    uint32_t dom;    /* bits 1-31 */
    uint16_t month;  /* bits 1-12 */
    uint8_t dow;     /* bits 0-6, Sunday = 0 (a written 7 lands on 0) */
    /* The field was written starting with '*' (as in "*" or "*\/2"). Vixie
     * cron keys two rules on this, not on the mask: day-of-month and
     * day-of-week are ORed only when neither is starred, and a schedule
     * with a starred minute or hour is a "wildcard" one for DST (below). */
    bool minute_star, hour_star, dom_star, dow_star;
};

/* Parses expr: five fields "minute hour day-of-month month day-of-week"
 * separated by blanks, each a ','-list of '*', 'a', 'a-b', '*\/n', 'a-b/n'
 * or 'a/n' (a to the field's end); JAN-DEC and SUN-SAT in any case in the
 * month and day-of-week fields; day-of-week 0-7 with 0 and 7 both Sunday.
 * Or one of @yearly @annually @monthly @weekly @daily @midnight @hourly.
 * A day matches when both its day-of-month and day-of-week are allowed,
 * except when neither field starts with '*': then either one is enough.
 * Returns 0, or -EINVAL with a message naming the field and the problem
 * ("minute field: 61 is out of range 0-59"); *ret is untouched on failure. */
int probe_cron_parse(const char *expr, struct probe_cron *ret, struct opsd_error *reterr);

/* A time zone loaded from a TZif file (RFC 8536). Immutable once loaded:
 * one zone may be shared by any number of threads. */
struct probe_tz;

/* Loads zone name (an IANA name such as "Europe/Berlin") from dir, or from
 * PROBE_TZ_DIR when dir is NULL (tests point it elsewhere). The name must be
 * letters, digits, '_', '+', '-' and '/' only, no leading '/' and no empty
 * component, so it cannot leave dir. "UTC" and "Etc/UTC" are built in and
 * never read a file. Uses the 64-bit block of version 2+ files and their
 * POSIX TZ footer for instants after the last transition (slim TZif files
 * end their tables early and leave the rest to the footer); version 1
 * files are read without a footer. Returns 0 and *ret_tz (caller frees with
 * probe_tz_free()), or -EINVAL (bad name), -ENOENT (no such zone), -EFBIG
 * (file over PROBE_TZ_MAX_FILE), -EBADMSG (not a valid TZif file) or the
 * errno of open/read, with a message; *ret_tz is untouched on failure. */
int probe_tz_load(const char *name, const char *dir, struct probe_tz **ret_tz,
                  struct opsd_error *reterr);
/* Frees tz (NULL is fine); returns NULL. */
struct probe_tz *probe_tz_free(struct probe_tz *tz);
static inline void probe_tz_freep(struct probe_tz **tz)
{
    *tz = probe_tz_free(*tz);
}
/* The name tz was loaded by; borrowed, lives as long as tz. */
const char *probe_tz_name(const struct probe_tz *tz);

/* Seconds east of UTC in effect at utc_ms (7200 for Berlin in summer). */
int32_t probe_tz_offset(const struct probe_tz *tz, uint64_t utc_ms);

/* How a wall time maps to instants, as probe_tz_local_to_utc() returns it. */
enum probe_tz_local {
    PROBE_TZ_LOCAL_UNIQUE = 0,   /* exactly one instant */
    PROBE_TZ_LOCAL_REPEATED = 1, /* twice (clocks went back): the earlier one */
    PROBE_TZ_LOCAL_SKIPPED = 2,  /* never (clocks went forward): the first instant after the gap */
};

/* Converts a wall time in tz to an instant. local_ms is the wall time's
 * fields counted as if they were UTC (2026-03-29 02:30 is 1774751400000
 * whatever the zone). Returns an enum probe_tz_local (>= 0) and sets
 * *ret_utc_ms, or -ERANGE when the result is before 1970 or after 9999. */
int probe_tz_local_to_utc(const struct probe_tz *tz, uint64_t local_ms, uint64_t *ret_utc_ms);

/* The first fire time of c in tz strictly after after_ms, into *ret_ms.
 * A schedule fires at second 0 of every local wall-clock minute its fields
 * allow. Across DST changes it does what Vixie cron and cronie do:
 *  - Fixed-time schedules (neither minute nor hour starts with '*', e.g.
 *    "30 2 * * *"): a wall time skipped when clocks go forward fires once at
 *    the first instant after the gap (02:30 on Berlin's spring-forward day
 *    fires at 03:00 CEST), however many of its times the gap swallowed; a
 *    wall time that happens twice when clocks go back fires only the first
 *    time.
 *  - Wildcard schedules ("*\/15 * * * *", "30 * * * *"): they follow the
 *    clock on the wall; skipped times do not fire and repeated ones fire
 *    twice, so an hourly job still runs once per real hour.
 * Returns 0, -ENOENT when c does not fire within PROBE_CRON_HORIZON_YEARS
 * (e.g. "0 0 30 2 *"), or -ERANGE after year 9999; *ret_ms is untouched on
 * failure. Cost is a few field skips per DST segment, not a minute walk. */
int probe_cron_next(const struct probe_cron *c, const struct probe_tz *tz, uint64_t after_ms,
                    uint64_t *ret_ms);
/* The last fire time at or before at_ms, with the same rules; -ENOENT when
 * there is none within PROBE_CRON_HORIZON_YEARS before (or before 1970). */
int probe_cron_prev(const struct probe_cron *c, const struct probe_tz *tz, uint64_t at_ms,
                    uint64_t *ret_ms);

/* When a cron heartbeat is late, after Healthchecks.io: the run expected
 * next is the first fire time strictly after the last success ping (or,
 * for a monitor never pinged, after it was created or first started), and
 * the monitor is late once grace_ms has passed after that run:
 *     *ret_deadline_ms = probe_cron_next(ref) + grace_ms,
 *     ref = last_success_ms ? last_success_ms : created_ms.
 * A ping that comes early (02:55 for a 03:00 run) counts for the run before
 * it, so another is due by 03:00 + grace. Returns 0, the error of
 * probe_cron_next(), or -ERANGE if the sum overflows; *ret_deadline_ms is
 * untouched on failure. */
int probe_cron_deadline(const struct probe_cron *c, const struct probe_tz *tz,
                        uint64_t grace_ms,        /* e.g. 30 min */
                        uint64_t last_success_ms, /* 0: never pinged */
                        uint64_t created_ms,      /* used only when never pinged */
                        uint64_t *ret_deadline_ms);
