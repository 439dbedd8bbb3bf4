/* Maintenance windows: when each window is open and which monitors it
 * covers. While a window covers a monitor its checks keep running, their
 * results are stored marked as maintenance (left out of uptime and SLOs)
 * and its alerts are recorded but not sent.
 *
 * Built once per config (schedules parsed, zones loaded); the queries are
 * pure functions of the instant the caller passes. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "util/error.h"

struct alert_maint;

/* Compiles c's windows. Borrows c: it must outlive the result. zone_dir is
 * where time zones are read (NULL: the system's; tests point elsewhere).
 * -EINVAL/-ENOENT with err for a schedule or zone conf_load let through
 * (it validates both, so only a zone removed since is likely). */
int alert_maint_new(const struct conf *c, const char *zone_dir, struct alert_maint **ret,
                    struct opsd_error *err);
struct alert_maint *alert_maint_free(struct alert_maint *mt);

size_t alert_maint_count(const struct alert_maint *mt);
const struct conf_maintenance *alert_maint_conf(const struct alert_maint *mt, size_t i);

/* The occurrence of window i that is open at now, or else the next one:
 * *start and *end (end exclusive). -ENOENT when there is none left (a
 * one-off window in the past). */
int alert_maint_occurrence(const struct alert_maint *mt, size_t i, uint64_t now_ms,
                           uint64_t *ret_start_ms, uint64_t *ret_end_ms);
/* Window i names the monitor, or the monitor carries all its labels. */
bool alert_maint_covers(const struct alert_maint *mt, size_t i, const struct conf_monitor *m);
/* A window open at now that covers m (the one ending last when several
 * do), or NULL; *ret_end_ms (may be NULL) gets when it closes. */
const struct conf_maintenance *alert_maint_active(const struct alert_maint *mt,
                                                  const struct conf_monitor *m, uint64_t now_ms,
                                                  uint64_t *ret_end_ms);
