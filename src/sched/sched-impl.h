/* The engine's insides, shared by engine.c, http.c and tcp.c only. */
#pragma once
#include <curl/curl.h>

#include "sched/sched.h"
#include "store/store.h"

struct alert_xofy;
struct alert_flap;
struct alert_maint;

struct mon {
    struct sched *s;
    const struct conf_monitor *conf; /* points into s->conf */
    enum conf_monitor_type type;     /* conf->type, still known once conf is gone */
    struct sched_monitor_view view;
    uv_timer_t timer;        /* next slot, or a heartbeat's deadline */
    uint64_t offset_ms;      /* slot within the interval */
    uint64_t due_ms;         /* wall time of the next slot */
    uint64_t cur_due_ms;     /* slot of the check now queued or running */
    bool in_flight;
    bool queued;
    bool removed;
    struct mon *next_queued;
    void *check;             /* the in-flight check's context */
    CURLU *curlu;            /* http: the URL, parsed once; NULL if curl refused it */
    struct curl_slist *http_headers; /* http: the config's headers, or NULL for the shared list */
    uint64_t last_success_ms; /* heartbeats */
    /* What a type remembers between checks (a file monitor's previous file);
     * freed with free() and handed on to the monitor that replaces this one
     * on reload when the type is unchanged. */
    void *memory;
    size_t memory_size;
    void *action; /* action.c's state: on_failure run history; NULL until needed */
    bool close_counted; /* closed by the stop, which counts its close callback */
    int64_t alert_id;   /* the open alert raised by this monitor, 0 if none */
    /* tolerance: {fail, of}: X-of-Y verdicts instead of confirm; NULL when
     * the monitor has no tolerance (most don't, so it is not inline) */
    struct alert_xofy *xofy;
    /* flapping: the monitor's down/up changes; NULL until its first */
    struct alert_flap *flap;
    int64_t flap_alert_id; /* the open "is flapping" alert, 0 if none */
    bool alert_in_maint;   /* its alert was raised inside a maintenance window */
};

struct action_run;

struct sched_waiter {
    void (*cb)(void *userdata, int rc);
    void *userdata;
    struct sched_waiter *next;
};

/* How a monitor type runs a check. start() ends, now or later, with
 * sched_record() (unless nothing could be judged) and then exactly one
 * sched_check_finished(); cancel() abandons the check in flight without
 * either. */
struct sched_driver {
    void (*start)(struct mon *m);
    void (*cancel)(struct mon *m);
    /* Optional, for a memory that is more than a plain blob: hands on what
     * prev (same type, being replaced by a reload) remembered, without
     * taking it (the reload may still fail), and frees m->memory. By
     * default the blob is copied and free()d. */
    void (*inherit)(struct mon *m, const struct mon *prev);
    void (*forget)(struct mon *m);
};

/* A check that blocks (file system, /proc) runs on libuv's thread pool. run
 * touches only the work's own copy of what it needs: the monitor's config
 * may be freed by a reload while it runs. done runs on the loop, only if
 * the check was neither cancelled nor timed out, and must record and
 * finish the check. free runs once the work is back and its timer closed,
 * whatever happened. */
struct sched_work {
    uv_work_t req;
    uv_timer_t timer; /* the monitor's timeout */
    bool work_done, timer_closed, timed_out;
    struct mon *m; /* NULL once cancelled or timed out */
    void (*run)(struct sched_work *w);
    void (*done)(struct sched_work *w, struct mon *m);
    void (*free)(struct sched_work *w);
};

struct sched {
    uv_loop_t *loop;
    struct conf *conf;
    struct store *store;
    const struct opsd_clock *clock;

    struct mon **mons;
    size_t n_mons;
    struct mon *q_head, *q_tail;
    bool releasing; /* inside release_slot(): see there */
    struct sched_stats stats;
    bool started;
    int64_t wall_minus_loop; /* wall-clock ms minus uv_now(): see arm_at() */

    /* libcurl multi on the loop */
    CURLM *multi;
    uv_timer_t curl_timer;
    uv_poll_t curl_poll;     /* watches curl_epfd */
    int curl_epfd;           /* epoll set of curl's sockets */
    uint32_t *fd_events;     /* per fd: events registered in curl_epfd, see http.c */
    size_t cap_fd_events;
    struct curl_slist *http_headers; /* sent with every HTTP check */
    CURL **easy_pool;
    size_t n_pool, cap_pool;

    /* callers waiting until what they changed is committed: those of the
     * pending batch, and those of the batch being written */
    struct sched_waiter *waiters_pending, *waiters_writing;

    /* results go to the store in batches, off the loop */
    struct store_batch pending;
    struct store_batch writing;
    uv_work_t work;
    bool write_in_flight;
    bool prune_in_flight;
    int write_rc;
    struct opsd_error write_err;
    unsigned write_failures;
    uv_timer_t flush_timer;
    uv_timer_t prune_timer;
    uint64_t prune_before_ms;
    int prune_rc;

    void *dns; /* dns.c's resolver state, NULL until the first dns check */
    struct alerting *alerting; /* alerting.c's state */
    struct alert_maint *maint; /* the config's maintenance windows, compiled */
    void *alerting_close_cb;   /* the uv_close_cb the stop counts closes with */
    struct action_run *actions; /* on_failure commands running */

    /* shutdown */
    enum { STOP_NONE, STOP_DRAINING, STOP_FLUSHING, STOP_CLOSING, STOP_DONE } stop_stage;
    bool free_when_closed;
    bool stopping;
    unsigned closing;
    void (*stop_done)(void *userdata);
    void *stop_ud;
};

/* engine.c */
void sched_record(struct mon *m, const struct probe_result *r, bool forced);
void sched_check_finished(struct mon *m);
/* Arms m's timer for wall-clock time at_ms. */
void sched_arm_at(struct mon *m, uint64_t at_ms, uv_timer_cb cb);

/* alerting.c: alerts from state changes, the outbox and its sender */
struct alerting;
int sched_alerting_init(struct sched *s, struct opsd_error *err);
void sched_alerting_start(struct sched *s);
void sched_alerting_on_state(struct mon *m, enum probe_state from, enum probe_state to,
                             const char *cause, uint64_t ts);
/* b was just committed: its notifications may be sent now. */
void sched_alerting_committed(struct sched *s, const struct store_batch *b);
void sched_alerting_reload(struct sched *s);
void sched_alerting_forget(struct mon *m);
/* Every result (in_maint: it was taken inside a maintenance window): holds
 * or releases the open alert when a window opened or closed, and ends
 * flapping once the monitor kept still for the window. */
void sched_alerting_on_result(struct mon *m, bool in_maint);
/* Starts closing; returns how many times cb will be called. */
unsigned sched_alerting_close(struct sched *s, uv_close_cb cb);
void sched_alerting_cleanup(struct sched *s);

/* heartbeat.c */
void sched_heartbeat_arm(struct mon *m, uint64_t now_ms);
void sched_heartbeat_inherit(struct mon *m, const struct mon *prev);
void sched_heartbeat_forget(struct mon *m);

/* http.c */
int sched_http_init(struct sched *s, struct opsd_error *err);
void sched_http_start(struct mon *m);
void sched_http_cancel(struct mon *m);
/* Parses url for reuse by every check (caller frees with curl_url_cleanup). */
CURLU *sched_http_parse_url(const char *url);
void sched_http_close(struct sched *s, uv_close_cb cb);
void sched_http_cleanup(struct sched *s);

/* work.c */
void sched_work_start(struct mon *m, struct sched_work *w);
void sched_work_cancel(struct mon *m);

/* child.c: a command run by uv_spawn, for exec checks and actions */
struct sched_child_result {
    int spawn_error;     /* negative errno when it never started, else 0 */
    bool timed_out;      /* killed at its timeout */
    uint64_t timeout_ms;
    int64_t exit_status;
    int term_signal;     /* 0 unless a signal ended it */
    const char *out;     /* stdout, capped; valid during the callback only */
    size_t out_len;
    bool out_truncated;
    const char *err;     /* stderr, capped */
    size_t err_len;
    uint64_t took_us;
};
typedef void (*sched_child_cb)(const struct sched_child_result *r, void *userdata);
struct sched_child;
/* Runs argv (borrowed for the call) in a session of its own, with a minimal
 * C-locale environment, from /, stdin from /dev/null, reading up to cap
 * bytes of stdout and of stderr. At the timeout its group is killed; when
 * it exits, its group is killed too if reap_group (a plugin's leftovers),
 * and left alone if not (a restart command's service). cb runs exactly
 * once, on a later loop turn, unless sched_child_cancel() comes first. The
 * returned handle is valid until cb has run or cancel was called. */
struct sched_child *sched_child_start(uv_loop_t *loop, char *const *argv, uint64_t timeout_ms,
                                      size_t cap, bool reap_group, sched_child_cb cb,
                                      void *userdata);
/* Kills the child's group; cb is never called; the context reaps the child
 * and frees itself. Accepts NULL. */
void sched_child_cancel(struct sched_child *c);

/* action.c: on_failure commands */
void sched_action_on_down(struct mon *m, uint64_t now_ms);
void sched_action_inherit(struct mon *m, const struct mon *prev);
void sched_action_forget(struct mon *m);
void sched_action_stop_all(struct sched *s);

/* exec.c */
void sched_exec_start(struct mon *m);
void sched_exec_cancel(struct mon *m);

/* log.c */
void sched_log_start(struct mon *m);
void sched_log_inherit(struct mon *m, const struct mon *prev);
void sched_log_forget(struct mon *m);

/* host.c: host and process monitors */
void sched_host_start(struct mon *m);
void sched_host_inherit(struct mon *m, const struct mon *prev);
void sched_host_forget(struct mon *m);

/* dns.c (c-ares on the loop), tls.c (OpenSSL on the loop), icmp.c */
void sched_dns_start(struct mon *m);
void sched_dns_cancel(struct mon *m);
/* The resolver state is made on the first dns check (s->dns). close starts
 * closing its loop handles and returns how many will call cb; cleanup
 * frees the rest once they have. */
unsigned sched_dns_close(struct sched *s, uv_close_cb cb);
void sched_dns_cleanup(struct sched *s);
void sched_tls_start(struct mon *m);
void sched_tls_cancel(struct mon *m);
void sched_icmp_start(struct mon *m);
void sched_icmp_cancel(struct mon *m);

/* file.c */
void sched_file_start(struct mon *m);
void sched_file_inherit(struct mon *m, const struct mon *prev);

/* tcp.c */
void sched_tcp_start(struct mon *m);
void sched_tcp_cancel(struct mon *m);
