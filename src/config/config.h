/* The config: YAML in, a typed struct conf out, and every problem found
 * reported with its file:line:col in one go (nginx -t style).
 *
 * Contract for key names: docs/config.md. Keys only grow; none is renamed. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Stored in the database and shown over the API: values never change. */
enum conf_monitor_type {
    CONF_MON_HTTP = 1,
    CONF_MON_TCP = 2,
    CONF_MON_HEARTBEAT = 3,
    CONF_MON_EXEC = 4,
    CONF_MON_FILE = 5,
    CONF_MON_LOG = 6,
    CONF_MON_HOST = 7,
    CONF_MON_PROCESS = 8,
    CONF_MON_DNS = 9,
    CONF_MON_TLS = 10,
    CONF_MON_ICMP = 11,
};

/* DNS record types a dns monitor asks for: the wire values (RFC 1035 and
 * after), so they pass straight to the resolver. */
enum conf_dns_record {
    CONF_DNS_A = 1,
    CONF_DNS_NS = 2,
    CONF_DNS_CNAME = 5,
    CONF_DNS_SOA = 6,
    CONF_DNS_PTR = 12,
    CONF_DNS_MX = 15,
    CONF_DNS_TXT = 16,
    CONF_DNS_AAAA = 28,
    CONF_DNS_SRV = 33,
};
const char *conf_dns_record_to_string(enum conf_dns_record r);

/* A warning and a critical level; NAN where not set. */
struct conf_limit {
    double warn, crit;
};
/* Thresholds of host and process monitors, reached at >=. */
struct conf_limits {
    struct conf_limit cpu;    /* percent: of all CPUs (host), of one CPU (process) */
    struct conf_limit memory, swap, disk, inodes; /* percent used */
    struct conf_limit load1, load5, load15;       /* per CPU */
    struct conf_limit net_rx, net_tx;             /* bytes per second */
    struct conf_limit rss;                        /* bytes */
};

const char *conf_monitor_type_to_string(enum conf_monitor_type t);
int conf_monitor_type_from_string(const char *s, enum conf_monitor_type *ret);

/* Stored with alerts and sent over the API: values never change; they match
 * enum alert_severity. */
enum conf_severity {
    CONF_SEV_CRITICAL = 1,
    CONF_SEV_HIGH = 2,
    CONF_SEV_MEDIUM = 3,
    CONF_SEV_LOW = 4,
};

struct conf_label {
    char *key;
    char *value;
};

struct conf_monitor {
    char *name; /* unique, [a-z0-9_.-]+ */
    enum conf_monitor_type type;
    char *description;         /* optional, shown on the status page */
    bool paused;               /* paused: true -> not checked, state "paused" */
    bool public_;              /* public: shown on the status page (default true) */
    uint64_t interval_ms;      /* default 60s; ignored for heartbeat */
    uint64_t timeout_ms;       /* default 10s, must not exceed interval */
    unsigned confirm;          /* default 2, 1..100 */
    bool down_on_warning;      /* a warning result counts as a failure (default false) */
    /* on_failure: a command run when the monitor goes down (Monit-style) */
    char *action_command;      /* NULL: no action */
    unsigned action_max_runs;  /* at most this many runs ... (default 3) */
    uint64_t action_per_ms;    /* ... per this window (default 1h) */
    uint64_t action_timeout_ms; /* default 60s */
    struct conf_label *labels; /* sorted by key */
    size_t n_labels;

    /* http */
    char *url;
    char *method;       /* default GET; NULL for other types */
    int *expect_status; /* sorted, no repeats; empty -> any 2xx or 3xx */
    size_t n_expect_status;
    char *body_contains;     /* NULL -> not checked */
    uint64_t max_latency_ms; /* 0 -> not checked */
    bool follow_redirects;   /* default true */
    unsigned max_redirects;  /* default 5 */
    bool tls_verify;         /* default true */
    struct conf_label *headers; /* request headers, in config order */
    size_t n_headers;
    char *body;              /* request body, or NULL */
    char *auth_username;     /* basic auth, with auth_password */
    char *auth_password;
    char *auth_bearer;       /* bearer token */
    char **expect_json;      /* assertions on a JSON body ($.status == "ok") */
    size_t n_expect_json;
    uint64_t degraded_latency_ms; /* warning above; 0 -> not checked */

    /* tcp, tls, icmp */
    char *host;
    unsigned port;            /* tcp: required; tls: default 443 */
    char *send;               /* tcp: written after connecting; expect_contains is the banner */

    /* dns */
    char *query;              /* the name to resolve */
    enum conf_dns_record record; /* default A */
    char *dns_server;         /* "host[:port]" ("[v6]:port"); NULL: the system's resolvers */
    char *expect_contains;    /* an answer must contain this text; NULL: any answer */
    char **expect_equals;     /* the answers, as a set, must be exactly these; NULL: not checked */
    size_t n_expect_equals;

    /* tls (host, port, tls_verify above) */
    unsigned warn_days;       /* certificate expiry: warning at or below; default 21 */
    unsigned critical_days;   /* critical at or below; default 7 */
    char *starttls;           /* "smtp", or NULL for TLS from the first byte */
    char *server_name;        /* SNI and the name checked; default host */

    /* icmp (host above) */
    unsigned count;           /* echo requests per check; default 3 */
    double max_loss_pct;      /* critical above; default 0 (any loss) */
    uint64_t max_rtt_ms;      /* critical when the average RTT is above; 0: not checked */
    unsigned ip_version;      /* 0 any (resolver's first), 4 or 6 */

    /* exec */
    char *command; /* split into argv without a shell */

    /* file */
    char *path;              /* absolute; may be a glob: the newest match is checked */
    uint64_t max_age_ms;     /* 0 -> not checked */
    uint64_t min_size;       /* bytes; 0 -> not checked */
    uint64_t max_size;       /* bytes; UINT64_MAX -> not checked */
    double max_shrink_pct;   /* < 0 -> not checked */
    bool checksum;           /* report a content change (SHA-256) as a warning */

    /* log (path above) */
    char *pattern;           /* POSIX ERE */
    char *exclude;           /* ERE or NULL */
    bool ignore_case;
    uint64_t window_ms;      /* time window; default 5m (0 when window_lines is set) */
    unsigned window_lines;   /* line window; 0 -> the time window */
    unsigned max_matches;    /* critical above this; default 0 */
    unsigned warn_matches;   /* warning above this; UINT_MAX -> none */
    bool from_start;         /* read an existing file from its start on the first check */

    /* host and process */
    struct conf_limits limits;
    char **mounts;           /* host: mount points to watch (NULL: every disk) */
    size_t n_mounts;
    char **interfaces;       /* host: interfaces (NULL: every one but lo) */
    size_t n_interfaces;
    char *pidfile;           /* process: at least one of pidfile, process_name, match */
    char *process_name;
    char *match;             /* substring of the command line */
    unsigned min_count;      /* default 1 */
    unsigned max_count;      /* default UINT_MAX */
    bool restart_warns;      /* default true */

    /* heartbeat */
    char *token; /* >= 16 chars of [A-Za-z0-9_-] */
    uint64_t period_ms; /* 0 when schedule is set */
    uint64_t grace_ms; /* default 1m */
    char *schedule;    /* cron expression, or NULL for period */
    char *tz;          /* IANA zone of schedule; default "UTC" */
    uint64_t max_runtime_ms; /* 0 -> not checked */
    uint64_t min_runtime_ms; /* 0 -> not checked */

    /* alerting (issue 4) */
    enum conf_severity severity; /* of its alerts; default high */
    char *summary;               /* the alert's one-line summary; NULL: "<name> is down" */
    char **depends_on;           /* monitor names; when one of them is down this one's alerts
                                    are suppressed (recorded, not sent) */
    size_t n_depends_on;
    /* X-of-Y tolerance (Monit's "for 3 cycles within 5"): set from
     * tolerance: {fail: X, of: Y, recover: X2, recover_of: Y2}; all 0 when
     * the key is absent, and then confirm applies. */
    unsigned fail_x, fail_y, recover_x, recover_y;

    unsigned line; /* where the monitor starts in the file, 1-based */
};

/* ---- alerting: receivers, the route tree, escalation, maintenance ---- */

/* Which channel a receiver uses; values match enum notify_kind. */
enum conf_receiver_kind {
    CONF_RECV_WEBHOOK = 1,
    CONF_RECV_SLACK = 2,
    CONF_RECV_TELEGRAM = 3,
    CONF_RECV_PAGERDUTY = 4,
    CONF_RECV_NTFY = 5,
    CONF_RECV_TWILIO = 6,
    CONF_RECV_EMAIL = 7,
};

/* One receiver: exactly one channel key per entry. Which fields are set
 * depends on the kind; the YAML key each comes from is noted. */
struct conf_receiver {
    char *name; /* unique, [a-z0-9_.-]+ */
    enum conf_receiver_kind kind;
    char *url;     /* webhook.url | slack.webhook_url | telegram.api_url (default
                      https://api.telegram.org) | pagerduty.url (default
                      https://events.pagerduty.com/v2/enqueue) | ntfy.url |
                      twilio.api_url (default https://api.twilio.com) | email:
                      "smtp://HOST:PORT" or "smtps://HOST:PORT" from smtp.{host,port,tls} */
    char *secret;  /* webhook.secret | telegram.bot_token | pagerduty.routing_key |
                      ntfy.token | twilio.auth_token; NULL when not set */
    char *account; /* twilio.account_sid */
    char *target;  /* telegram.chat_id | ntfy.topic */
    char *from;    /* email.from | twilio.from */
    char **to;     /* email.to | twilio.to (a string or a list) */
    size_t n_to;
    bool alertmanager_format; /* webhook.format: opsd (default) | alertmanager */
    bool whatsapp;            /* twilio.whatsapp */
    /* email.smtp */
    bool smtp_starttls;       /* smtp.starttls, default true: STARTTLS required */
    char *smtp_username;      /* smtp.username / smtp.password, or NULL */
    char *smtp_password;
    bool tls_verify;          /* <channel>.tls_verify, default true */
    /* Common to all channels (keys beside the channel key) */
    char *subject_template;   /* subject_template; NULL: the default */
    char *alert_template;     /* template; NULL: the default */
    uint64_t timeout_ms;      /* timeout: one delivery attempt, default 10s */
    unsigned line;
};

/* Matcher operators; values match enum alert_match_op. */
enum conf_match_op {
    CONF_MATCH_EQ = 0,
    CONF_MATCH_NE = 1,
    CONF_MATCH_RE = 2,
    CONF_MATCH_NRE = 3,
};

struct conf_matcher {
    char *name;  /* a label name: [a-zA-Z_][a-zA-Z0-9_]* */
    enum conf_match_op op;
    char *value; /* for RE/NRE a POSIX ERE, checked by regcomp at load */
    unsigned line, col;
};

/* The timers' "not set here: inherit". */
#define CONF_INHERIT UINT64_MAX

/* A node of the route tree (Alertmanager's route). From match: {k: v}
 * (EQ), match_re: {k: re} (RE) and matchers: ["k=v", "k!=v", "k=~re",
 * "k!~re"] (all together, ANDed). */
struct conf_route {
    char *receiver;             /* NULL: inherit (the root must set it) */
    struct conf_matcher *matchers;
    size_t n_matchers;
    bool has_group_by;          /* false: inherit */
    char **group_by;            /* label names, or the single "..." */
    size_t n_group_by;
    uint64_t group_wait_ms;     /* CONF_INHERIT when not set */
    uint64_t group_interval_ms;
    uint64_t repeat_interval_ms;
    bool continue_;             /* continue: default false */
    char *escalation;           /* escalation policy name, or NULL (inherit from
                                   the parent; the root's default is none) */
    struct conf_route *routes;  /* children, in order */
    size_t n_routes;
    unsigned line;
};

struct conf_esc_step {
    char **notify; /* receiver names, at least one */
    size_t n_notify;
    uint64_t wait_ms; /* wait: default 5m; how long to wait for an ack */
    unsigned line;
};

struct conf_policy {
    char *name; /* unique; "default" may be defined, or is the built-in
                   severity table (see docs/alerting.md) */
    struct conf_esc_step *steps;
    size_t n_steps;
    unsigned repeat;        /* repeat: default 0, at most 100 */
    uint64_t ack_timeout_ms; /* ack_timeout: default 30m; 0 in YAML ("0s") = acks never expire */
    unsigned line;
};

/* A maintenance window: one-off (start + end, or start + duration) or
 * recurring (schedule, a 5-field cron expression in tz, + duration). */
struct conf_maintenance {
    char *name; /* unique */
    char *description;
    char **monitors;            /* monitor names (must exist); with labels, either matches */
    size_t n_monitors;
    struct conf_label *labels;  /* match every monitor carrying all of these; sorted by key */
    size_t n_labels;
    char *schedule;             /* cron, or NULL for a one-off */
    char *tz;                   /* default "UTC" */
    uint64_t start_ms, end_ms;  /* one-off: start/end as RFC 3339 ("2026-12-05T02:00:00Z");
                                   0 for recurring */
    uint64_t duration_ms;       /* recurring: required; one-off: end - start */
    unsigned line;
};

/* alerting: global settings. */
struct conf_alerting {
    char *external_url;       /* base of one-click links; default "http://" + server.listen */
    bool external_url_default; /* not set in the file: follows serve --listen */
    char *link_secret;        /* HMAC key for links (>= 16 bytes); NULL: a random key
                                 kept in data_dir/link.key */
    uint64_t link_ttl_ms;     /* default 24h */
    uint64_t give_up_after_ms; /* a notification not delivered by then fails; default 24h */
    uint64_t retry_min_ms;    /* first retry after about this; default 1s */
    uint64_t retry_max_ms;    /* backoff cap; default 5m */
    unsigned flap_changes;    /* flapping: {changes, window}; default 6 in 30m */
    uint64_t flap_window_ms;
    unsigned max_inflight;    /* deliveries at once; default 64 */
};

struct conf_server {
    char *listen;             /* default 127.0.0.1:8080 */
    char *data_dir;           /* default ./var (relative to the working directory) */
    uint64_t retention_ms;    /* raw results kept; default 7d */
    unsigned max_concurrency; /* checks in flight at once; default 1000 */
    char *log_level;          /* default info */
    char *title;              /* status page title; default "Status" */
};

struct conf_index;

struct conf {
    char *path;
    struct conf_server server;
    struct conf_monitor *monitors;
    size_t n_monitors;
    struct conf_alerting alerting;
    struct conf_receiver *receivers;
    size_t n_receivers;
    struct conf_route *route;   /* NULL when the config has no route (nothing is sent) */
    struct conf_policy *policies;
    size_t n_policies;
    struct conf_maintenance *maintenance;
    size_t n_maintenance;
    struct conf_index *index; /* private to config.c: lookups by name and token; may be NULL */
};

struct conf_diag {
    unsigned line, col; /* 1-based; 0 when the problem has no place (unreadable file) */
    char *msg;          /* "<what> (<hint>)" */
};

struct conf_diags {
    char *file;
    struct conf_diag *v;
    size_t n, cap;
    size_t dropped; /* problems beyond OPSD_MAX_CONFIG_DIAGS, counted but not kept */
};

/* How deeply the collections of a config may nest (the schema needs 5: the
 * top mapping, monitors, a monitor, expect, status). The parse stops at the
 * collection that goes deeper: libyaml takes time quadratic in the depth. */
#define CONF_MAX_DEPTH 64

/* Loads and validates path. On success *ret_conf is set (caller frees with
 * conf_free()) and returns 0. On failure returns -EINVAL (or -errno if the file
 * cannot be read, -EFBIG if it is larger than OPSD_MAX_CONFIG_BYTES), leaves
 * *ret_conf alone, and diags holds every problem. diags starts zeroed
 * (`struct conf_diags d = { 0 };`), is appended to, and is sorted by place;
 * the caller frees it with conf_diags_free() in every case. */
int conf_load(const char *path, struct conf **ret_conf, struct conf_diags *diags);
/* The same on text in memory; name is used in diagnostics. */
int conf_load_string(const char *name, const char *text, size_t len, struct conf **ret_conf,
                     struct conf_diags *diags);

/* Prints "file:line:col: error: msg" lines, one per diagnostic ("file: error:
 * msg" when it has no place). */
void conf_diags_print(const struct conf_diags *d, FILE *f);
void conf_diags_free(struct conf_diags *d);

/* Frees c and everything in it; accepts NULL; returns NULL. */
struct conf *conf_free(struct conf *c);
/* The monitor called name, or NULL. O(log n) on a loaded config. Borrows c. */
const struct conf_monitor *conf_find_monitor(const struct conf *c, const char *name);
/* The heartbeat monitor whose token is token, or NULL. O(log n) on a loaded config. */
const struct conf_monitor *conf_find_heartbeat(const struct conf *c, const char *token);
/* True when a and b would be checked identically (reload keeps such a monitor
 * running untouched; a changed one is restarted, keeping its history).
 * Compares every field that changes how or whether it is checked, and the
 * labels; not description, public_ or line, which take effect without a restart. */
bool conf_monitor_equal(const struct conf_monitor *a, const struct conf_monitor *b);
const struct conf_receiver *conf_find_receiver(const struct conf *c, const char *name);
const struct conf_policy *conf_find_policy(const struct conf *c, const char *name);
const char *conf_severity_to_string(enum conf_severity s);
int conf_severity_from_string(const char *s, enum conf_severity *ret);

/* Looks up the default config path: ./opsd.yaml, then /etc/opsd/opsd.yaml. */
const char *conf_default_path(void);
