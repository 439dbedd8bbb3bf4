/* YAML -> struct conf. libyaml's parser reads the text and its events are
 * composed into a document tree here (as yaml_parser_load() would, but with
 * the nesting capped); a walk driven by the key tables below (nginx-style
 * directives: name, the monitor types a key applies to, a setter, a range)
 * fills the structs and reports every problem it meets at the line:col of
 * the node at fault, then goes on. Nothing is handed out unless the whole
 * file is clean. */
#include "config/config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <regex.h>
#include <yaml.h>

#include "notify/notify.h"
#include "probe/probe.h"
#include "util/cleanup.h"
#include "util/duration.h"
#include "util/log.h"
#include "util/opsd_limits.h"
#include "util/sbuf.h"
#include "util/units.h"
#include "util/xalloc.h"

#define MS_SECOND 1000ULL
#define MS_MINUTE (60 * MS_SECOND)
#define MS_HOUR (60 * MS_MINUTE)
#define MS_DAY (24 * MS_HOUR)

#define BIT(t) (1u << (t))
#define HTTP BIT(CONF_MON_HTTP)
#define TCP BIT(CONF_MON_TCP)
#define HEARTBEAT BIT(CONF_MON_HEARTBEAT)
#define EXEC BIT(CONF_MON_EXEC)
#define FILE_ BIT(CONF_MON_FILE)
#define LOG BIT(CONF_MON_LOG)
#define HOST BIT(CONF_MON_HOST)
#define PROC BIT(CONF_MON_PROCESS)
#define DNS BIT(CONF_MON_DNS)
#define TLS BIT(CONF_MON_TLS)
#define ICMP BIT(CONF_MON_ICMP)
#define ANY (HTTP | TCP | HEARTBEAT | EXEC | FILE_ | LOG | HOST | PROC | DNS | TLS | ICMP)
/* run on an interval, unlike heartbeats */
#define CHECKED (HTTP | TCP | EXEC | FILE_ | LOG | HOST | PROC | DNS | TLS | ICMP)

/* Built-in defaults (docs/config.md lists them too). */
#define DEF_LISTEN "127.0.0.1:8080"
#define DEF_DATA_DIR "./var"
#define DEF_RETENTION_MS (7 * MS_DAY)
#define DEF_MAX_CONCURRENCY 1000
#define DEF_LOG_LEVEL "info"
#define DEF_TITLE "Status"
#define DEF_INTERVAL_MS (60 * MS_SECOND)
#define DEF_TIMEOUT_MS (10 * MS_SECOND)
#define DEF_CONFIRM 2
#define DEF_METHOD "GET"
#define DEF_MAX_REDIRECTS 5
#define DEF_GRACE_MS MS_MINUTE
#define DEF_LOG_WINDOW_MS (5 * MS_MINUTE)
#define DEF_RECV_TIMEOUT_MS (10 * MS_SECOND)
#define DEF_LINK_TTL_MS (24 * MS_HOUR)
#define DEF_GIVE_UP_AFTER_MS (24 * MS_HOUR)
#define DEF_RETRY_MIN_MS MS_SECOND
#define DEF_RETRY_MAX_MS (5 * MS_MINUTE)
#define DEF_FLAP_CHANGES 6
#define DEF_FLAP_WINDOW_MS (30 * MS_MINUTE)
#define DEF_MAX_INFLIGHT 64
#define DEF_STEP_WAIT_MS (5 * MS_MINUTE)
#define DEF_ACK_TIMEOUT_MS (30 * MS_MINUTE)
#define MAX_RECURRING_WINDOW_MS (7 * MS_DAY) /* a recurring window is shorter than a week */
#define MAX_POLICY_STEPS 32                  /* steps of an escalation policy */

static const struct {
    const char *name;
    const char *article;
} types[] = {
    [CONF_MON_HTTP] = { "http", "an" },
    [CONF_MON_TCP] = { "tcp", "a" },
    [CONF_MON_HEARTBEAT] = { "heartbeat", "a" },
    [CONF_MON_EXEC] = { "exec", "an" },
    [CONF_MON_FILE] = { "file", "a" },
    [CONF_MON_LOG] = { "log", "a" },
    [CONF_MON_HOST] = { "host", "a" },
    [CONF_MON_PROCESS] = { "process", "a" },
    [CONF_MON_DNS] = { "dns", "a" },
    [CONF_MON_TLS] = { "tls", "a" },
    [CONF_MON_ICMP] = { "icmp", "an" },
};

static const struct {
    const char *name;
    enum conf_dns_record rr;
} dns_records[] = {
    { "A", CONF_DNS_A },     { "AAAA", CONF_DNS_AAAA }, { "CNAME", CONF_DNS_CNAME },
    { "MX", CONF_DNS_MX },   { "TXT", CONF_DNS_TXT },   { "NS", CONF_DNS_NS },
    { "SOA", CONF_DNS_SOA }, { "SRV", CONF_DNS_SRV },   { "PTR", CONF_DNS_PTR },
};

static const char *const methods[] = { "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH" };

/* defaults: applied to every monitor that does not set the key itself. */
struct mon_defaults {
    uint64_t interval_ms;
    uint64_t timeout_ms;
    unsigned confirm;
};

/* Where the duplicate checks find a monitor's name and token nodes. */
struct mon_nodes {
    const yaml_node_t *name;
    const yaml_node_t *token;
    const yaml_node_t *depends_on; /* its value, when valid */
};

/* email.smtp as written, before it becomes the receiver's URL. */
struct smtp_settings {
    char *host;
    unsigned port;
    bool starttls;
    bool tls;
    char *username;
    char *password;
};

/* tolerance: X of Y, as Monit's "for X cycles within Y" (alert_xofy's cap). */
#define CONF_MAX_TOLERANCE 64

struct loader {
    const char *text; /* borrowed: the YAML being loaded */
    size_t len;
    yaml_document_t doc;
    bool have_doc;
    struct conf_diags *diags; /* borrowed */
    size_t n_errors;          /* problems found by this load */
    struct conf *conf;
    struct mon_defaults defaults;
    const yaml_node_t *defaults_interval; /* the nodes defaults were set from, if valid */
    const yaml_node_t *defaults_timeout;
    const yaml_node_t *monitors; /* the monitors: sequence, walked once defaults is known */
    struct mon_nodes *mon_nodes; /* one per monitor */
    const yaml_node_t *latency;  /* the current monitor's expect.max_latency, if valid */
    /* The alerting sections, loaded once the monitors are known. */
    const yaml_node_t *receivers_n, *route_n, *policies_n, *windows_n;
    const yaml_node_t **receiver_names; /* each receiver's name node, if valid */
    const yaml_node_t **policy_names;
    const yaml_node_t **window_names;
    unsigned route_depth; /* of the route being loaded: the root is 0 */
    size_t n_routes;      /* routes in the tree so far */
    char qbuf[4][160];    /* rotating buffers for quoted values in messages */
    unsigned qi;
};

/* The node being set: its key (NULL for a sequence item), value and path. */
struct at {
    const yaml_node_t *key;
    const yaml_node_t *val;
    const char *path; /* "monitors[2].interval" */
    bool secret;      /* the value is a secret: messages never quote it */
};

struct key;
/* Fills the field of obj that k describes from at->val. Returns 0, or
 * -EINVAL after reporting the problem. */
typedef int (*set_fn)(struct loader *l, const struct key *k, const struct at *at, void *obj);
/* Validates a string value; returns 0 or -EINVAL after reporting. s is the
 * value after ${NAME} expansion, which a check may normalise in place (never
 * making it longer) and must never quote: messages quote at->val with qv(). */
typedef int (*check_fn)(struct loader *l, const struct key *k, const struct at *at, char *s);

struct keytab {
    const struct key *v;
    size_t n;
};

struct key {
    const char *name;
    set_fn set;
    size_t off;        /* the field of obj the setter fills */
    unsigned types;    /* monitor types the key applies to (monitor keys only) */
    unsigned required; /* monitor types that must set it */
    uint64_t min, max; /* range of an integer, or of a duration in ms */
    check_fn check;    /* extra validation of a string */
    bool secret;       /* never quoted in a message, not even as written */
};

/* Which keys of a table a mapping set, and whether their values were valid. */
struct seen {
    const yaml_node_t *key;
    const yaml_node_t *val;
    bool ok;
};

static int set_str(struct loader *l, const struct key *k, const struct at *at, void *obj);
static int set_bool(struct loader *l, const struct key *k, const struct at *at, void *obj);
static int set_uint(struct loader *l, const struct key *k, const struct at *at, void *obj);
static int set_duration(struct loader *l, const struct key *k, const struct at *at, void *obj);
static int set_type(struct loader *l, const struct key *k, const struct at *at, void *obj);
static int set_bytes(struct loader *l, const struct key *k, const struct at *at, void *obj);
static int set_percent(struct loader *l, const struct key *k, const struct at *at, void *obj);
static int set_number(struct loader *l, const struct key *k, const struct at *at, void *obj);
static int set_bytes_d(struct loader *l, const struct key *k, const struct at *at, void *obj);
static int set_limits(struct loader *l, const struct key *k, const struct at *at, void *obj);
static int set_strlist(struct loader *l, const struct key *k, const struct at *at, void *obj);
static int set_record(struct loader *l, const struct key *k, const struct at *at, void *obj);
static int set_on_failure(struct loader *l, const struct key *k, const struct at *at, void *obj);
static int set_headers(struct loader *l, const struct key *k, const struct at *at, void *obj);
static int set_auth(struct loader *l, const struct key *k, const struct at *at, void *obj);
static int set_json_list(struct loader *l, const struct key *k, const struct at *at, void *obj);
static int set_labels(struct loader *l, const struct key *k, const struct at *at, void *obj);
static int set_expect(struct loader *l, const struct key *k, const struct at *at, void *obj);
static int set_status(struct loader *l, const struct key *k, const struct at *at, void *obj);
static int set_server(struct loader *l, const struct key *k, const struct at *at, void *obj);
static int set_defaults(struct loader *l, const struct key *k, const struct at *at, void *obj);
static int set_monitors(struct loader *l, const struct key *k, const struct at *at, void *obj);
static int set_strlist1(struct loader *l, const struct key *k, const struct at *at, void *obj);
static int set_severity(struct loader *l, const struct key *k, const struct at *at, void *obj);
static int set_tolerance(struct loader *l, const struct key *k, const struct at *at, void *obj);
static int set_alerting(struct loader *l, const struct key *k, const struct at *at, void *obj);
static int set_flapping(struct loader *l, const struct key *k, const struct at *at, void *obj);
static int set_section(struct loader *l, const struct key *k, const struct at *at, void *obj);
static int set_channel(struct loader *l, const struct key *k, const struct at *at, void *obj);
static int set_format(struct loader *l, const struct key *k, const struct at *at, void *obj);
static int set_smtp(struct loader *l, const struct key *k, const struct at *at, void *obj);
static int set_group_by(struct loader *l, const struct key *k, const struct at *at, void *obj);
static int set_match(struct loader *l, const struct key *k, const struct at *at, void *obj);
static int set_matchers(struct loader *l, const struct key *k, const struct at *at, void *obj);
static int set_routes(struct loader *l, const struct key *k, const struct at *at, void *obj);
static int set_steps(struct loader *l, const struct key *k, const struct at *at, void *obj);
static int set_time(struct loader *l, const struct key *k, const struct at *at, void *obj);

static int check_name(struct loader *l, const struct key *k, const struct at *at, char *s);
static int check_url(struct loader *l, const struct key *k, const struct at *at, char *s);
static int check_method(struct loader *l, const struct key *k, const struct at *at, char *s);
static int check_host(struct loader *l, const struct key *k, const struct at *at, char *s);
static int check_token(struct loader *l, const struct key *k, const struct at *at, char *s);
static int check_body(struct loader *l, const struct key *k, const struct at *at, char *s);
static int check_listen(struct loader *l, const struct key *k, const struct at *at, char *s);
static int check_level(struct loader *l, const struct key *k, const struct at *at, char *s);
static int check_nonempty(struct loader *l, const struct key *k, const struct at *at, char *s);
static int check_command(struct loader *l, const struct key *k, const struct at *at, char *s);
static int check_abspath(struct loader *l, const struct key *k, const struct at *at, char *s);
static int check_regex(struct loader *l, const struct key *k, const struct at *at, char *s);
static int check_cron(struct loader *l, const struct key *k, const struct at *at, char *s);
static int check_tz(struct loader *l, const struct key *k, const struct at *at, char *s);
static int check_dns_name(struct loader *l, const struct key *k, const struct at *at, char *s);
static int check_server(struct loader *l, const struct key *k, const struct at *at, char *s);
static int check_starttls(struct loader *l, const struct key *k, const struct at *at, char *s);
static int check_summary(struct loader *l, const struct key *k, const struct at *at, char *s);
static int check_base_url(struct loader *l, const struct key *k, const struct at *at, char *s);
static int check_link_secret(struct loader *l, const struct key *k, const struct at *at, char *s);
static int check_secret(struct loader *l, const struct key *k, const struct at *at, char *s);
static int check_bot_token(struct loader *l, const struct key *k, const struct at *at, char *s);
static int check_topic(struct loader *l, const struct key *k, const struct at *at, char *s);
static int check_sid(struct loader *l, const struct key *k, const struct at *at, char *s);
static int check_nospace(struct loader *l, const struct key *k, const struct at *at, char *s);
static int check_email_to(struct loader *l, const struct key *k, const struct at *at, char *s);
static int check_email_from(struct loader *l, const struct key *k, const struct at *at, char *s);
static int check_subject_template(struct loader *l, const struct key *k, const struct at *at,
                                  char *s);
static int check_alert_template(struct loader *l, const struct key *k, const struct at *at,
                                char *s);
static int check_receiver_name(struct loader *l, const struct key *k, const struct at *at, char *s);
static int check_policy_name(struct loader *l, const struct key *k, const struct at *at, char *s);
static int check_window_name(struct loader *l, const struct key *k, const struct at *at, char *s);

/* ---- the schema ----------------------------------------------------------------- */

/* clang-format off */
#define TAB(a) { a, ARRAY_SIZE(a) }
#define SRV(f) offsetof(struct conf_server, f)
#define DEF(f) offsetof(struct mon_defaults, f)
#define MON(f) offsetof(struct conf_monitor, f)
#define MAX_RETENTION_MS (3650 * MS_DAY)
#define MAX_PERIOD_MS (366 * MS_DAY)

/* Rows of the key tables, by kind: key name, field, the monitor types the key
 * applies to and those that require it (0 outside monitors), then a range
 * or a check. */
#define K_STR(name, off, types, req, check) { name, set_str, off, types, req, 0, 0, check, false }
#define K_BOOL(name, off, types) { name, set_bool, off, types, 0, 0, 0, NULL, false }
#define K_INT(name, off, types, req, lo, hi) { name, set_uint, off, types, req, lo, hi, NULL, false }
#define K_DUR(name, off, types, req, lo, hi) { name, set_duration, off, types, req, lo, hi, NULL, false }
#define K_FN(name, set, types, req) { name, set, 0, types, req, 0, 0, NULL, false }
#define K_BYTES(name, off, types) { name, set_bytes, off, types, 0, 0, 0, NULL, false }
#define K_PCT(name, off, types) { name, set_percent, off, types, 0, 0, 100, NULL, false }
#define K_PCTX(name, off, types, hi) { name, set_percent, off, types, 0, 0, hi, NULL, false }
#define K_NUM(name, off, types) { name, set_number, off, types, 0, 0, 0, NULL, false }
#define K_BYTESD(name, off, types) { name, set_bytes_d, off, types, 0, 0, 0, NULL, false }
#define K_LIST(name, off, types) { name, set_strlist, off, types, 0, 0, 0, NULL, false }
/* A string, or a sequence of them (at least one), each passing check. */
#define K_LIST1(name, off, types, req, check) { name, set_strlist1, off, types, req, 0, 0, check, false }
/* A string never quoted in a message, even as written. */
#define K_SECRET(name, off, types, req, check) { name, set_str, off, types, req, 0, 0, check, true }
#define K_LABELS(name, off, types) { name, set_labels, off, types, 0, 0, 0, NULL, false }
/* min carries the channel kind, or the matcher operator. */
#define K_CHAN(name, kind) { name, set_channel, 0, 0, 0, kind, 0, NULL, false }
#define K_MATCH(name, op) { name, set_match, 0, 0, 0, op, 0, NULL, false }
#define K_TIME(name, off, req) { name, set_time, off, 0, req, 0, 0, NULL, false }
/* min carries which level a limits table fills: 0 warn, 1 critical. */
#define K_LIMITS(name, level, types) { name, set_limits, 0, types, 0, level, 0, NULL, false }

static const struct key top_keys[] = {
    K_FN("server", set_server, 0, 0),
    K_FN("defaults", set_defaults, 0, 0),
    K_FN("monitors", set_monitors, 0, 0),
    K_FN("alerting", set_alerting, 0, 0),
    K_FN("receivers", set_section, 0, 0),
    K_FN("route", set_section, 0, 0),
    K_FN("escalation_policies", set_section, 0, 0),
    K_FN("maintenance", set_section, 0, 0),
};

static const struct key server_keys[] = {
    K_STR("listen", SRV(listen), 0, 0, check_listen),
    K_STR("data_dir", SRV(data_dir), 0, 0, check_nonempty),
    K_DUR("retention", SRV(retention_ms), 0, 0, MS_HOUR, MAX_RETENTION_MS),
    K_INT("max_concurrency", SRV(max_concurrency), 0, 0, 1, 100000),
    K_STR("log_level", SRV(log_level), 0, 0, check_level),
    K_STR("title", SRV(title), 0, 0, NULL),
};

enum { DK_INTERVAL, DK_TIMEOUT, DK_CONFIRM };
static const struct key defaults_keys[] = {
    [DK_INTERVAL] = K_DUR("interval", DEF(interval_ms), 0, 0, MS_SECOND, MS_DAY),
    [DK_TIMEOUT]  = K_DUR("timeout", DEF(timeout_ms), 0, 0, 100, MS_DAY),
    [DK_CONFIRM]  = K_INT("confirm", DEF(confirm), 0, 0, 1, 100),
};

enum {
    MK_NAME, MK_TYPE, MK_DESCRIPTION, MK_PAUSED, MK_PUBLIC, MK_INTERVAL, MK_TIMEOUT, MK_CONFIRM,
    MK_DOWN_ON_WARNING, MK_ON_FAILURE, MK_LABELS, MK_SEVERITY, MK_SUMMARY, MK_DEPENDS_ON,
    MK_TOLERANCE, MK_URL, MK_METHOD, MK_FOLLOW_REDIRECTS,
    MK_MAX_REDIRECTS, MK_TLS_VERIFY, MK_EXPECT,
    MK_HOST, MK_PORT, MK_SEND, MK_TOKEN, MK_PERIOD, MK_GRACE, MK_COMMAND, MK_PATH,
    MK_MAX_AGE, MK_MIN_SIZE, MK_MAX_SIZE, MK_MAX_SHRINK, MK_CHECKSUM, MK_PATTERN, MK_EXCLUDE,
    MK_IGNORE_CASE, MK_WINDOW, MK_WINDOW_LINES, MK_MAX_MATCHES, MK_WARN_MATCHES, MK_FROM_START,
    MK_WARN, MK_CRITICAL, MK_MOUNTS, MK_INTERFACES, MK_PIDFILE, MK_PROCESS_NAME, MK_MATCH,
    MK_MIN_COUNT, MK_MAX_COUNT, MK_RESTART_WARNS, MK_SCHEDULE, MK_TZ, MK_MAX_RUNTIME,
    MK_MIN_RUNTIME, MK_QUERY, MK_RECORD, MK_SERVER, MK_WARN_DAYS, MK_CRITICAL_DAYS, MK_STARTTLS,
    MK_SERVER_NAME, MK_COUNT, MK_MAX_LOSS, MK_MAX_RTT, MK_IP_VERSION, MK_HEADERS, MK_BODY,
    MK_AUTH, MK__N
};

/* In the order "valid keys: ..." lists them. */
static const struct key monitor_keys[MK__N] = {
    [MK_NAME]             = K_STR("name", MON(name), ANY, ANY, check_name),
    [MK_TYPE]             = { "type", set_type, MON(type), ANY, ANY, 0, 0, NULL, false },
    [MK_DESCRIPTION]      = K_STR("description", MON(description), ANY, 0, NULL),
    [MK_PAUSED]           = K_BOOL("paused", MON(paused), ANY),
    [MK_PUBLIC]           = K_BOOL("public", MON(public_), ANY),
    [MK_INTERVAL]         = K_DUR("interval", MON(interval_ms), CHECKED, 0, MS_SECOND, MS_DAY),
    [MK_TIMEOUT]          = K_DUR("timeout", MON(timeout_ms), CHECKED, 0, 100, MS_DAY),
    [MK_CONFIRM]          = K_INT("confirm", MON(confirm), ANY, 0, 1, 100),
    [MK_DOWN_ON_WARNING]  = K_BOOL("down_on_warning", MON(down_on_warning), CHECKED),
    [MK_LABELS]           = K_LABELS("labels", MON(labels), ANY),
    [MK_SEVERITY]         = { "severity", set_severity, MON(severity), ANY, 0, 0, 0, NULL, false },
    [MK_SUMMARY]          = K_STR("summary", MON(summary), ANY, 0, check_summary),
    [MK_DEPENDS_ON]       = K_LIST1("depends_on", MON(depends_on), ANY, 0, NULL),
    [MK_TOLERANCE]        = K_FN("tolerance", set_tolerance, ANY, 0),
    [MK_URL]              = K_STR("url", MON(url), HTTP, HTTP, check_url),
    [MK_METHOD]           = K_STR("method", MON(method), HTTP, 0, check_method),
    [MK_FOLLOW_REDIRECTS] = K_BOOL("follow_redirects", MON(follow_redirects), HTTP),
    [MK_MAX_REDIRECTS]    = K_INT("max_redirects", MON(max_redirects), HTTP, 0, 0, 50),
    [MK_TLS_VERIFY]       = K_BOOL("tls_verify", MON(tls_verify), HTTP | TLS),
    [MK_EXPECT]           = K_FN("expect", set_expect, HTTP | DNS | TCP, 0),
    [MK_HOST]             = K_STR("host", MON(host), TCP | TLS | ICMP, TCP | TLS | ICMP, check_host),
    [MK_PORT]             = K_INT("port", MON(port), TCP | TLS, TCP, 1, 65535),
    [MK_TOKEN]            = K_SECRET("token", MON(token), HEARTBEAT, HEARTBEAT, check_token),
    [MK_PERIOD]           = K_DUR("period", MON(period_ms), HEARTBEAT, 0, MS_SECOND,
                                  MAX_PERIOD_MS),
    [MK_GRACE]            = K_DUR("grace", MON(grace_ms), HEARTBEAT, 0, 0, MAX_PERIOD_MS),
    [MK_COMMAND]          = K_STR("command", MON(command), EXEC, EXEC, check_command),
    [MK_PATH]             = K_STR("path", MON(path), FILE_ | LOG, FILE_ | LOG, check_abspath),
    [MK_MAX_AGE]          = K_DUR("max_age", MON(max_age_ms), FILE_, 0, MS_SECOND,
                                  MAX_RETENTION_MS),
    [MK_MIN_SIZE]         = K_BYTES("min_size", MON(min_size), FILE_),
    [MK_MAX_SIZE]         = K_BYTES("max_size", MON(max_size), FILE_),
    [MK_MAX_SHRINK]       = K_PCT("max_shrink", MON(max_shrink_pct), FILE_),
    [MK_CHECKSUM]         = K_BOOL("checksum", MON(checksum), FILE_),
    [MK_PATTERN]          = K_STR("pattern", MON(pattern), LOG, LOG, check_regex),
    [MK_EXCLUDE]          = K_STR("exclude", MON(exclude), LOG, 0, check_regex),
    [MK_IGNORE_CASE]      = K_BOOL("ignore_case", MON(ignore_case), LOG),
    [MK_WINDOW]           = K_DUR("window", MON(window_ms), LOG, 0, MS_SECOND, 31 * MS_DAY),
    [MK_WINDOW_LINES]     = K_INT("window_lines", MON(window_lines), LOG, 0, 1, 1000000),
    [MK_MAX_MATCHES]      = K_INT("max_matches", MON(max_matches), LOG, 0, 0, 1000000),
    [MK_WARN_MATCHES]     = K_INT("warn_matches", MON(warn_matches), LOG, 0, 0, 1000000),
    [MK_FROM_START]       = K_BOOL("from_start", MON(from_start), LOG),
    [MK_WARN]             = K_LIMITS("warn", 0, HOST | PROC),
    [MK_CRITICAL]         = K_LIMITS("critical", 1, HOST | PROC),
    [MK_MOUNTS]           = K_LIST("mounts", MON(mounts), HOST),
    [MK_INTERFACES]       = K_LIST("interfaces", MON(interfaces), HOST),
    [MK_PIDFILE]          = K_STR("pidfile", MON(pidfile), PROC, 0, check_abspath),
    [MK_PROCESS_NAME]     = K_STR("process_name", MON(process_name), PROC, 0, check_nonempty),
    [MK_MATCH]            = K_STR("match", MON(match), PROC, 0, check_nonempty),
    [MK_MIN_COUNT]        = K_INT("min_count", MON(min_count), PROC, 0, 0, 100000),
    [MK_MAX_COUNT]        = K_INT("max_count", MON(max_count), PROC, 0, 1, 100000),
    [MK_RESTART_WARNS]    = K_BOOL("restart_warns", MON(restart_warns), PROC),
    [MK_SCHEDULE]         = K_STR("schedule", MON(schedule), HEARTBEAT, 0, check_cron),
    [MK_TZ]               = K_STR("tz", MON(tz), HEARTBEAT, 0, check_tz),
    [MK_MAX_RUNTIME]      = K_DUR("max_runtime", MON(max_runtime_ms), HEARTBEAT, 0, MS_SECOND,
                                  MAX_PERIOD_MS),
    [MK_MIN_RUNTIME]      = K_DUR("min_runtime", MON(min_runtime_ms), HEARTBEAT, 0, 1,
                                  MAX_PERIOD_MS),
    [MK_QUERY]            = K_STR("query", MON(query), DNS, DNS, check_dns_name),
    [MK_RECORD]           = { "record", set_record, MON(record), DNS, 0, 0, 0, NULL, false },
    [MK_SERVER]           = K_STR("server", MON(dns_server), DNS, 0, check_server),
    [MK_WARN_DAYS]        = K_INT("warn_days", MON(warn_days), TLS, 0, 0, 3650),
    [MK_CRITICAL_DAYS]    = K_INT("critical_days", MON(critical_days), TLS, 0, 0, 3650),
    [MK_STARTTLS]         = K_STR("starttls", MON(starttls), TLS, 0, check_starttls),
    [MK_SERVER_NAME]      = K_STR("server_name", MON(server_name), TLS, 0, check_dns_name),
    [MK_COUNT]            = K_INT("count", MON(count), ICMP, 0, 1, 100),
    [MK_MAX_LOSS]         = K_PCT("max_loss", MON(max_loss_pct), ICMP),
    [MK_MAX_RTT]          = K_DUR("max_rtt", MON(max_rtt_ms), ICMP, 0, 1, MS_MINUTE),
    [MK_IP_VERSION]       = K_INT("ip_version", MON(ip_version), ICMP, 0, 4, 6),
    [MK_ON_FAILURE]       = K_FN("on_failure", set_on_failure, ANY, 0),
    [MK_HEADERS]          = K_FN("headers", set_headers, HTTP, 0),
    [MK_BODY]             = K_STR("body", MON(body), HTTP, 0, NULL),
    [MK_AUTH]             = K_FN("auth", set_auth, HTTP, 0),
    [MK_SEND]             = K_STR("send", MON(send), TCP, 0, check_nonempty),
};

/* Inside auth: of an http monitor. */
enum { AK_USERNAME, AK_PASSWORD, AK_BEARER };
static const struct key auth_keys[] = {
    [AK_USERNAME] = K_STR("username", MON(auth_username), 0, 0, NULL),
    [AK_PASSWORD] = K_SECRET("password", MON(auth_password), 0, 0, NULL),
    [AK_BEARER]   = K_SECRET("bearer", MON(auth_bearer), 0, 0, check_nonempty),
};

/* Inside on_failure:; the fields are the monitor's. */
enum { OK_EXEC, OK_MAX_RUNS, OK_PER, OK_TIMEOUT };
static const struct key on_failure_keys[] = {
    [OK_EXEC]     = K_STR("exec", MON(action_command), 0, 0, check_command),
    [OK_MAX_RUNS] = K_INT("max_runs", MON(action_max_runs), 0, 0, 1, 100),
    [OK_PER]      = K_DUR("per", MON(action_per_ms), 0, 0, MS_MINUTE, 30 * MS_DAY),
    [OK_TIMEOUT]  = K_DUR("timeout", MON(action_timeout_ms), 0, 0, MS_SECOND, MS_HOUR),
};

/* Inside warn: and critical: of host and process monitors; offsets are of
 * the warn level, the critical one sits a double further. */
#define LIM(f) offsetof(struct conf_limits, f.warn)
enum { LK_CPU, LK_MEMORY, LK_SWAP, LK_DISK, LK_INODES, LK_LOAD1, LK_LOAD5, LK_LOAD15, LK_NET_RX,
       LK_NET_TX, LK_RSS };
static const struct key limit_keys[] = {
    [LK_CPU]    = K_PCTX("cpu", LIM(cpu), HOST | PROC, 100000),
    [LK_MEMORY] = K_PCT("memory", LIM(memory), HOST),
    [LK_SWAP]   = K_PCT("swap", LIM(swap), HOST),
    [LK_DISK]   = K_PCT("disk", LIM(disk), HOST),
    [LK_INODES] = K_PCT("inodes", LIM(inodes), HOST),
    [LK_LOAD1]  = K_NUM("load1", LIM(load1), HOST),
    [LK_LOAD5]  = K_NUM("load5", LIM(load5), HOST),
    [LK_LOAD15] = K_NUM("load15", LIM(load15), HOST),
    [LK_NET_RX] = K_BYTESD("net_rx", LIM(net_rx), HOST),
    [LK_NET_TX] = K_BYTESD("net_tx", LIM(net_tx), HOST),
    [LK_RSS]    = K_BYTESD("rss", LIM(rss), PROC),
};

/* Inside a monitor's expect: (http only); the fields are the monitor's. */
enum { EK_STATUS, EK_BODY_CONTAINS, EK_MAX_LATENCY, EK_CONTAINS, EK_EQUALS, EK_JSON,
       EK_DEGRADED_LATENCY };
static const struct key expect_keys[] = {
    [EK_STATUS]        = { "status", set_status, 0, HTTP, 0, 100, 599, NULL, false }, /* each code */
    [EK_BODY_CONTAINS] = K_STR("body_contains", MON(body_contains), HTTP, 0, check_body),
    [EK_MAX_LATENCY]   = K_DUR("max_latency", MON(max_latency_ms), HTTP | DNS, 0, 1, MS_DAY),
    [EK_CONTAINS]      = K_STR("contains", MON(expect_contains), DNS | TCP, 0, check_nonempty),
    [EK_EQUALS]        = K_LIST("equals", MON(expect_equals), DNS),
    [EK_JSON]          = K_FN("json", set_json_list, HTTP, 0),
    [EK_DEGRADED_LATENCY] = K_DUR("degraded_latency", MON(degraded_latency_ms), HTTP, 0, 1,
                                  MS_DAY),
};

/* ---- alerting ---- */

#define ALR(f) offsetof(struct conf_alerting, f)
#define RCV(f) offsetof(struct conf_receiver, f)
#define SMTP(f) offsetof(struct smtp_settings, f)
#define RTE(f) offsetof(struct conf_route, f)
#define POL(f) offsetof(struct conf_policy, f)
#define STEP(f) offsetof(struct conf_esc_step, f)
#define MNT(f) offsetof(struct conf_maintenance, f)
#define TOL(f) offsetof(struct conf_monitor, f)
#define REQ 1u /* outside monitors, required says only "required" */

/* Inside a monitor's tolerance:. */
enum { TK_FAIL, TK_OF, TK_RECOVER, TK_RECOVER_OF };
static const struct key tolerance_keys[] = {
    [TK_FAIL]       = K_INT("fail", TOL(fail_x), 0, 0, 1, CONF_MAX_TOLERANCE),
    [TK_OF]         = K_INT("of", TOL(fail_y), 0, 0, 1, CONF_MAX_TOLERANCE),
    [TK_RECOVER]    = K_INT("recover", TOL(recover_x), 0, 0, 1, CONF_MAX_TOLERANCE),
    [TK_RECOVER_OF] = K_INT("recover_of", TOL(recover_y), 0, 0, 1, CONF_MAX_TOLERANCE),
};

enum { ALK_EXTERNAL_URL, ALK_LINK_SECRET, ALK_LINK_TTL, ALK_GIVE_UP_AFTER, ALK_RETRY_MIN,
       ALK_RETRY_MAX, ALK_FLAPPING, ALK_MAX_INFLIGHT };
static const struct key alerting_keys[] = {
    [ALK_EXTERNAL_URL]  = K_STR("external_url", ALR(external_url), 0, 0, check_base_url),
    [ALK_LINK_SECRET]   = K_SECRET("link_secret", ALR(link_secret), 0, 0, check_link_secret),
    [ALK_LINK_TTL]      = K_DUR("link_ttl", ALR(link_ttl_ms), 0, 0, MS_MINUTE, 90 * MS_DAY),
    [ALK_GIVE_UP_AFTER] = K_DUR("give_up_after", ALR(give_up_after_ms), 0, 0, MS_MINUTE,
                                30 * MS_DAY),
    [ALK_RETRY_MIN]     = K_DUR("retry_min", ALR(retry_min_ms), 0, 0, 100, MS_HOUR),
    [ALK_RETRY_MAX]     = K_DUR("retry_max", ALR(retry_max_ms), 0, 0, 100, MS_DAY),
    [ALK_FLAPPING]      = K_FN("flapping", set_flapping, 0, 0),
    [ALK_MAX_INFLIGHT]  = K_INT("max_inflight", ALR(max_inflight), 0, 0, 1, 10000),
};

static const struct key flapping_keys[] = {
    K_INT("changes", ALR(flap_changes), 0, 0, 1, 64),
    K_DUR("window", ALR(flap_window_ms), 0, 0, MS_SECOND, 7 * MS_DAY),
};

/* A receiver: its name, one channel key and the keys common to all. */
enum { RK_NAME, RK_WEBHOOK, RK_SLACK, RK_TELEGRAM, RK_PAGERDUTY, RK_NTFY, RK_TWILIO, RK_EMAIL,
       RK_SUBJECT_TEMPLATE, RK_TEMPLATE, RK_TIMEOUT, RK__N };
static const struct key receiver_keys[RK__N] = {
    [RK_NAME]             = K_STR("name", RCV(name), 0, REQ, check_receiver_name),
    [RK_WEBHOOK]          = K_CHAN("webhook", CONF_RECV_WEBHOOK),
    [RK_SLACK]            = K_CHAN("slack", CONF_RECV_SLACK),
    [RK_TELEGRAM]         = K_CHAN("telegram", CONF_RECV_TELEGRAM),
    [RK_PAGERDUTY]        = K_CHAN("pagerduty", CONF_RECV_PAGERDUTY),
    [RK_NTFY]             = K_CHAN("ntfy", CONF_RECV_NTFY),
    [RK_TWILIO]           = K_CHAN("twilio", CONF_RECV_TWILIO),
    [RK_EMAIL]            = K_CHAN("email", CONF_RECV_EMAIL),
    [RK_SUBJECT_TEMPLATE] = K_STR("subject_template", RCV(subject_template), 0, 0,
                                  check_subject_template),
    [RK_TEMPLATE]         = K_STR("template", RCV(alert_template), 0, 0, check_alert_template),
    [RK_TIMEOUT]          = K_DUR("timeout", RCV(timeout_ms), 0, 0, MS_SECOND, 10 * MS_MINUTE),
};

/* The channels' own keys; every field is the receiver's. */
static const struct key webhook_keys[] = {
    K_STR("url", RCV(url), 0, REQ, check_url),
    K_SECRET("secret", RCV(secret), 0, 0, check_secret),
    { "format", set_format, RCV(alertmanager_format), 0, 0, 0, 0, NULL, false },
    K_BOOL("tls_verify", RCV(tls_verify), 0),
};
static const struct key slack_keys[] = {
    /* The URL is the credential: never quoted. */
    { "webhook_url", set_str, RCV(url), 0, REQ, 0, 0, check_url, true },
    K_BOOL("tls_verify", RCV(tls_verify), 0),
};
static const struct key telegram_keys[] = {
    K_SECRET("bot_token", RCV(secret), 0, REQ, check_bot_token),
    K_STR("chat_id", RCV(target), 0, REQ, check_nospace),
    K_STR("api_url", RCV(url), 0, 0, check_base_url),
    K_BOOL("tls_verify", RCV(tls_verify), 0),
};
static const struct key pagerduty_keys[] = {
    K_SECRET("routing_key", RCV(secret), 0, REQ, check_secret),
    K_STR("url", RCV(url), 0, 0, check_url),
    K_BOOL("tls_verify", RCV(tls_verify), 0),
};
static const struct key ntfy_keys[] = {
    K_STR("url", RCV(url), 0, REQ, check_base_url),
    K_STR("topic", RCV(target), 0, REQ, check_topic),
    K_SECRET("token", RCV(secret), 0, 0, check_secret),
    K_BOOL("tls_verify", RCV(tls_verify), 0),
};
static const struct key twilio_keys[] = {
    K_STR("account_sid", RCV(account), 0, REQ, check_sid),
    K_SECRET("auth_token", RCV(secret), 0, REQ, check_secret),
    K_STR("from", RCV(from), 0, REQ, check_nospace),
    K_LIST1("to", RCV(to), 0, REQ, check_nospace),
    K_BOOL("whatsapp", RCV(whatsapp), 0),
    K_STR("api_url", RCV(url), 0, 0, check_base_url),
    K_BOOL("tls_verify", RCV(tls_verify), 0),
};
static const struct key email_keys[] = {
    K_LIST1("to", RCV(to), 0, REQ, check_email_to),
    K_STR("from", RCV(from), 0, REQ, check_email_from),
    K_FN("smtp", set_smtp, 0, REQ),
    K_BOOL("tls_verify", RCV(tls_verify), 0),
};

/* email.smtp: read into struct smtp_settings, then into the receiver. */
enum { SMK_HOST, SMK_PORT, SMK_STARTTLS, SMK_TLS, SMK_USERNAME, SMK_PASSWORD };
static const struct key smtp_keys[] = {
    [SMK_HOST]     = K_STR("host", SMTP(host), 0, REQ, check_host),
    [SMK_PORT]     = K_INT("port", SMTP(port), 0, 0, 1, 65535),
    [SMK_STARTTLS] = K_BOOL("starttls", SMTP(starttls), 0),
    [SMK_TLS]      = K_BOOL("tls", SMTP(tls), 0),
    [SMK_USERNAME] = K_STR("username", SMTP(username), 0, 0, check_nonempty),
    [SMK_PASSWORD] = K_SECRET("password", SMTP(password), 0, 0, NULL),
};

/* A node of the route tree. */
enum { RTK_RECEIVER, RTK_GROUP_BY, RTK_GROUP_WAIT, RTK_GROUP_INTERVAL, RTK_REPEAT_INTERVAL,
       RTK_ESCALATION, RTK_CONTINUE, RTK_MATCH, RTK_MATCH_RE, RTK_MATCHERS, RTK_ROUTES, RTK__N };
static const struct key route_keys[RTK__N] = {
    [RTK_RECEIVER]        = K_STR("receiver", RTE(receiver), 0, 0, check_nonempty),
    [RTK_GROUP_BY]        = K_FN("group_by", set_group_by, 0, 0),
    [RTK_GROUP_WAIT]      = K_DUR("group_wait", RTE(group_wait_ms), 0, 0, 0, MS_DAY),
    [RTK_GROUP_INTERVAL]  = K_DUR("group_interval", RTE(group_interval_ms), 0, 0, 0, 30 * MS_DAY),
    [RTK_REPEAT_INTERVAL] = K_DUR("repeat_interval", RTE(repeat_interval_ms), 0, 0, 0,
                                  90 * MS_DAY),
    [RTK_ESCALATION]      = K_STR("escalation", RTE(escalation), 0, 0, check_nonempty),
    [RTK_CONTINUE]        = K_BOOL("continue", RTE(continue_), 0),
    [RTK_MATCH]           = K_MATCH("match", CONF_MATCH_EQ),
    [RTK_MATCH_RE]        = K_MATCH("match_re", CONF_MATCH_RE),
    [RTK_MATCHERS]        = K_FN("matchers", set_matchers, 0, 0),
    [RTK_ROUTES]          = K_FN("routes", set_routes, 0, 0),
};

enum { PK_NAME, PK_STEPS, PK_REPEAT, PK_ACK_TIMEOUT };
static const struct key policy_keys[] = {
    [PK_NAME]        = K_STR("name", POL(name), 0, REQ, check_policy_name),
    [PK_STEPS]       = K_FN("steps", set_steps, 0, REQ),
    [PK_REPEAT]      = K_INT("repeat", POL(repeat), 0, 0, 0, 100),
    [PK_ACK_TIMEOUT] = K_DUR("ack_timeout", POL(ack_timeout_ms), 0, 0, 0, 30 * MS_DAY),
};

enum { SK_NOTIFY, SK_WAIT };
static const struct key step_keys[] = {
    /* at most 64, as every list: alert_policy_add_step's cap */
    [SK_NOTIFY] = K_LIST1("notify", STEP(notify), 0, REQ, NULL),
    [SK_WAIT]   = K_DUR("wait", STEP(wait_ms), 0, 0, MS_SECOND, 7 * MS_DAY),
};

enum { WK_NAME, WK_DESCRIPTION, WK_MONITORS, WK_LABELS, WK_SCHEDULE, WK_TZ, WK_DURATION,
       WK_START, WK_END, WK__N };
static const struct key window_keys[WK__N] = {
    [WK_NAME]        = K_STR("name", MNT(name), 0, REQ, check_window_name),
    [WK_DESCRIPTION] = K_STR("description", MNT(description), 0, 0, NULL),
    [WK_MONITORS]    = K_LIST1("monitors", MNT(monitors), 0, 0, NULL),
    [WK_LABELS]      = K_LABELS("labels", MNT(labels), 0),
    [WK_SCHEDULE]    = K_STR("schedule", MNT(schedule), 0, 0, check_cron),
    [WK_TZ]          = K_STR("tz", MNT(tz), 0, 0, check_tz),
    [WK_DURATION]    = K_DUR("duration", MNT(duration_ms), 0, 0, MS_SECOND, MAX_PERIOD_MS),
    [WK_START]       = K_TIME("start", MNT(start_ms), 0),
    [WK_END]         = K_TIME("end", MNT(end_ms), 0),
};
/* clang-format on */

static const struct keytab top_tab = TAB(top_keys);
static const struct keytab server_tab = TAB(server_keys);
static const struct keytab defaults_tab = TAB(defaults_keys);
static const struct keytab monitor_tab = TAB(monitor_keys);
static const struct keytab expect_tab = TAB(expect_keys);
static const struct keytab limit_tab = TAB(limit_keys);
static const struct keytab on_failure_tab = TAB(on_failure_keys);
static const struct keytab auth_tab = TAB(auth_keys);
static const struct keytab tolerance_tab = TAB(tolerance_keys);
static const struct keytab alerting_tab = TAB(alerting_keys);
static const struct keytab flapping_tab = TAB(flapping_keys);
static const struct keytab receiver_tab = TAB(receiver_keys);
static const struct keytab smtp_tab = TAB(smtp_keys);
static const struct keytab route_tab = TAB(route_keys);
static const struct keytab policy_tab = TAB(policy_keys);
static const struct keytab step_tab = TAB(step_keys);
static const struct keytab window_tab = TAB(window_keys);
/* The channel keys' tables, by enum conf_receiver_kind. */
static const struct keytab channel_tabs[] = {
    [CONF_RECV_WEBHOOK] = TAB(webhook_keys),   [CONF_RECV_SLACK] = TAB(slack_keys),
    [CONF_RECV_TELEGRAM] = TAB(telegram_keys), [CONF_RECV_PAGERDUTY] = TAB(pagerduty_keys),
    [CONF_RECV_NTFY] = TAB(ntfy_keys),         [CONF_RECV_TWILIO] = TAB(twilio_keys),
    [CONF_RECV_EMAIL] = TAB(email_keys),
};
/* The most keys a channel table has (the seen[] of set_channel). */
#define CHANNEL_MAX_KEYS 8
_Static_assert(ARRAY_SIZE(twilio_keys) <= CHANNEL_MAX_KEYS, "CHANNEL_MAX_KEYS");

/* set_strlist and set_labels fill a pointer and the count right after it. */
#define ADJACENT(type, list, n)                                                                    \
    _Static_assert(offsetof(type, n) == offsetof(type, list) + sizeof(void *), #type "." #n)
ADJACENT(struct conf_monitor, depends_on, n_depends_on);
ADJACENT(struct conf_receiver, to, n_to);
ADJACENT(struct conf_route, group_by, n_group_by);
ADJACENT(struct conf_esc_step, notify, n_notify);
ADJACENT(struct conf_maintenance, monitors, n_monitors);
ADJACENT(struct conf_maintenance, labels, n_labels);
ADJACENT(struct conf_monitor, labels, n_labels);

/* ---- diagnostics ---------------------------------------------------------------- */

static void diags_add(struct conf_diags *d, unsigned line, unsigned col, char *msg)
{
    if (d->n >= OPSD_MAX_CONFIG_DIAGS) {
        d->dropped++;
        free(msg);
        return;
    }
    xgrow((void **)&d->v, &d->cap, d->n + 1, sizeof(*d->v));
    d->v[d->n++] = (struct conf_diag){ .line = line, .col = col, .msg = msg };
}

static void diag_vat(struct loader *l, unsigned line, unsigned col, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
static void diag_vat(struct loader *l, unsigned line, unsigned col, const char *fmt, va_list ap)
{
    if (!l) /* a silent look-ahead */
        return;
    l->n_errors++;
    diags_add(l->diags, line, col, xvasprintf(fmt, ap));
}

/* Reports a problem at line:col (1-based; 0 for no place); returns -EINVAL. */
static int diag_at(struct loader *l, unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int diag_at(struct loader *l, unsigned line, unsigned col, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    diag_vat(l, line, col, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static void diag_node(struct loader *l, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void diag_node(struct loader *l, const yaml_node_t *n, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    diag_vat(l, (unsigned)n->start_mark.line + 1, (unsigned)n->start_mark.column + 1, fmt, ap);
    va_end(ap);
}

/* Reports a problem at node n; evaluates to -EINVAL. A macro so the error
 * is visible where `return diag(...)` is written: clang's analyzer does not
 * follow calls to variadic functions, and took the return of one for a
 * possible success that leaves the ret_ parameter unset. */
#define diag(l, n, ...)                                                                            \
    ({                                                                                             \
        diag_node((l), (n), __VA_ARGS__);                                                          \
        -EINVAL;                                                                                   \
    })

/* Stable sort by place of the diagnostics from index first on (they are few). */
static void diags_sort(struct conf_diags *d, size_t first)
{
    for (size_t i = first + 1; i < d->n; i++) {
        struct conf_diag x = d->v[i];
        size_t j = i;

        while (j > first && (d->v[j - 1].line > x.line ||
                             (d->v[j - 1].line == x.line && d->v[j - 1].col > x.col))) {
            d->v[j] = d->v[j - 1];
            j--;
        }
        d->v[j] = x;
    }
}

void conf_diags_print(const struct conf_diags *d, FILE *f)
{
    const char *file = d->file ? d->file : "(config)";

    for (size_t i = 0; i < d->n; i++) {
        if (d->v[i].line)
            fprintf(f, "%s:%u:%u: error: %s\n", file, d->v[i].line, d->v[i].col, d->v[i].msg);
        else
            fprintf(f, "%s: error: %s\n", file, d->v[i].msg);
    }
    if (d->dropped)
        fprintf(f, "%s: error: %zu more problems not shown (only the first %d are)\n", file,
                d->dropped, OPSD_MAX_CONFIG_DIAGS);
}

void conf_diags_free(struct conf_diags *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++)
        free(d->v[i].msg);
    free(d->v);
    free(d->file);
    *d = (struct conf_diags){ 0 };
}

static bool is_space_or_control(char c)
{
    return (unsigned char)c <= 0x20 || c == 0x7f;
}

/* Appends s to sb with the userinfo of every URL in it (the "user:password"
 * before '@' and the host) replaced by three asterisks. An authority starts
 * at the beginning of s and after each "//", and ends at '/', '?', '#' or a
 * space; its userinfo is everything up to its last '@'. */
static void add_masked(struct sbuf *sb, const char *s)
{
    size_t i = 0;

    while (s[i]) {
        if (i == 0 || (i >= 2 && s[i - 1] == '/' && s[i - 2] == '/')) {
            size_t end = i, at = SIZE_MAX;

            for (; s[end] && !strchr("/?#", s[end]) && !is_space_or_control(s[end]); end++)
                if (s[end] == '@')
                    at = end;
            if (at != SIZE_MAX) {
                sbuf_puts(sb, "***");
                i = at;
            }
            sbuf_add(sb, s + i, end - i);
            i = end;
            if (!s[i])
                break;
        }
        sbuf_putc(sb, s[i++]);
    }
}

/* Text fit to quote in a message: URL userinfo masked, at most ~60 bytes (cut
 * on a UTF-8 boundary), control characters shown as '?'. Valid for the next 3
 * calls. Only for text as written in the file; a value's expanded text
 * (after ${NAME}) is never quoted: use qv() on its node. */
static const char *q(struct loader *l, const char *text)
{
    char *b = l->qbuf[l->qi++ % ARRAY_SIZE(l->qbuf)];
    struct sbuf sb = SBUF_INIT;
    const char *s;
    size_t n, cut, i;

    add_masked(&sb, text);
    s = sb.buf;
    n = sb.len;
    cut = MIN(n, (size_t)60);
    while (cut < n && cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    for (i = 0; i < cut; i++)
        b[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    strcpy(b + i, cut < n ? "..." : "");
    sbuf_release(&sb);
    return b;
}

/* The scalar n as written in the file (before ${NAME} expansion), quoted by
 * q(): what every message shows of a value, so that a secret taken from the
 * environment never reaches a message. */
static const char *qv(struct loader *l, const yaml_node_t *n)
{
    return q(l, (const char *)n->data.scalar.value);
}

/* A duration for a message: as written at n, or ms formatted when it is a
 * built-in default (n NULL). */
static const char *qdur(struct loader *l, const yaml_node_t *n, uint64_t ms, char *buf, size_t size)
{
    return n ? qv(l, n) : duration_format(ms, buf, size);
}

static const yaml_node_t *node(struct loader *l, int id)
{
    return yaml_document_get_node(&l->doc, id);
}

static bool is_null(const yaml_node_t *n)
{
    const char *s;

    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    s = (const char *)n->data.scalar.value;
    return !*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
           strcmp(s, "NULL") == 0;
}

/* "a mapping", "a sequence", "nothing" or the quoted scalar, for "got ...". */
static const char *describe(struct loader *l, const yaml_node_t *n)
{
    char *b;

    if (n->type == YAML_MAPPING_NODE)
        return "a mapping";
    if (n->type == YAML_SEQUENCE_NODE)
        return "a sequence";
    if (is_null(n))
        return "nothing";
    b = (char *)qv(l, n);
    memmove(b + 1, b, strlen(b) + 1);
    b[0] = '\'';
    strcat(b, "'");
    return b;
}

/* ---- scalars -------------------------------------------------------------------- */

static bool env_name_ok(const char *s, size_t n)
{
    if (!n || !(s[0] == '_' || (s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(s[i] == '_' || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= '0' && s[i] <= '9')))
            return false;
    return true;
}

/* Expands ${VAR} and $$ in s. A '$' followed by anything else stays as it is.
 * l may be NULL for a silent look-ahead. *ret (caller frees) is set on success. */
static int expand_env(struct loader *l, const struct at *at, const char *s, char **ret)
{
    struct sbuf sb = SBUF_INIT;
    const char *p = s;
    int r = 0;

    while (*p) {
        const char *dollar = strchr(p, '$'), *end, *v;
        _cleanup_free_ char *name = NULL;

        if (!dollar) {
            sbuf_puts(&sb, p);
            break;
        }
        sbuf_add(&sb, p, (size_t)(dollar - p));
        if (dollar[1] != '{') {
            sbuf_putc(&sb, '$');
            p = dollar + (dollar[1] == '$' ? 2 : 1);
            continue;
        }
        end = strchr(dollar + 2, '}');
        if (!end && at->secret) {
            r = diag(l, at->val,
                     "unterminated '${' in the value (%s; write '$$' for a literal '$')", at->path);
            goto out;
        }
        if (!end) {
            r = diag(l, at->val, "unterminated '${' in '%s' (write '$$' for a literal '$')",
                     l ? qv(l, at->val) : "");
            goto out;
        }
        name = xstrndup(dollar + 2, (size_t)(end - dollar - 2));
        if (!env_name_ok(name, strlen(name)) && at->secret) {
            r = diag(l, at->val,
                     "invalid environment variable name in the value (%s; use letters, digits "
                     "and '_', as in ${DB_HOST})",
                     at->path);
            goto out;
        }
        if (!env_name_ok(name, strlen(name))) {
            r = diag(l, at->val,
                     "invalid environment variable name '%s' (use letters, digits and '_', as "
                     "in ${DB_HOST})",
                     l ? q(l, name) : "");
            goto out;
        }
        v = getenv(name);
        if (!v) {
            r = diag(l, at->val, "environment variable '%s' is not set (%s)", l ? q(l, name) : "",
                     at->path);
            goto out;
        }
        sbuf_puts(&sb, v);
        p = end + 1;
    }
    *ret = sbuf_detach(&sb, NULL);
out:
    sbuf_release(&sb);
    return r;
}

/* The scalar at at->val with environment variables expanded; what says what
 * was expected ("an integer") for the message when it is not a scalar. */
static int scalar(struct loader *l, const struct at *at, const char *what, char **ret)
{
    const yaml_node_t *v = at->val;

    if (v->type != YAML_SCALAR_NODE)
        return diag(l, v, "expected %s, got %s (%s)", what, describe(l, v), at->path);
    if (is_null(v)) {
        if (at->key)
            return diag(l, at->key, "key '%s' has no value (%s)",
                        q(l, (const char *)at->key->data.scalar.value), at->path);
        return diag(l, v, "expected %s, got nothing (%s)", what, at->path);
    }
    if (strlen((const char *)v->data.scalar.value) != v->data.scalar.length)
        return diag(l, v, "value contains a NUL character (%s)", at->path);
    return expand_env(l, at, (const char *)v->data.scalar.value, ret);
}

/* Parses a decimal integer: -EINVAL if s is not one, -ERANGE if it does not fit. */
static int parse_int(const char *s, int64_t *ret)
{
    bool neg = *s == '-';
    uint64_t v = 0;
    const char *p = s + neg;

    if (!*p)
        return -EINVAL;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
        if (v > (uint64_t)INT64_MAX / 10)
            return -ERANGE;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v > (uint64_t)INT64_MAX)
        return -ERANGE;
    *ret = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

/* An integer in k's range. */
static int int_value(struct loader *l, const struct key *k, const struct at *at, int64_t *ret)
{
    _cleanup_free_ char *s = NULL;
    int64_t v;
    int r;

    r = scalar(l, at, "an integer", &s);
    if (r < 0)
        return r;
    r = parse_int(s, &v);
    if (r == -EINVAL)
        return diag(l, at->val, "expected an integer, got '%s' (%s)", qv(l, at->val), at->path);
    if (r == -ERANGE || (v > 0 && (uint64_t)v > k->max))
        return diag(l, at->val, "%s '%s' is above the maximum of %llu (%s)", k->name,
                    qv(l, at->val), (unsigned long long)k->max, at->path);
    if (v < 0 || (uint64_t)v < k->min)
        return diag(l, at->val, "%s '%s' is below the minimum of %llu (%s)", k->name,
                    qv(l, at->val), (unsigned long long)k->min, at->path);
    *ret = v;
    return 0;
}

/* ---- setters -------------------------------------------------------------------- */

#define FIELD(type, obj, k) ((type *)(void *)((char *)(obj) + (k)->off))

static int set_str(struct loader *l, const struct key *k, const struct at *at, void *obj)
{
    _cleanup_free_ char *s = NULL;
    char **dst = FIELD(char *, obj, k);
    int r;

    r = scalar(l, at, "a string", &s);
    if (r < 0)
        return r;
    if (k->check) {
        r = k->check(l, k, at, s);
        if (r < 0)
            return r;
    }
    free(*dst);
    *dst = steal_ptr(s);
    return 0;
}

static int set_bool(struct loader *l, const struct key *k, const struct at *at, void *obj)
{
    _cleanup_free_ char *s = NULL;
    int r;

    r = scalar(l, at, "true or false", &s);
    if (r < 0)
        return r;
    if (strcmp(s, "true") != 0 && strcmp(s, "false") != 0)
        return diag(l, at->val, "expected true or false, got '%s' (%s)", qv(l, at->val), at->path);
    *FIELD(bool, obj, k) = s[0] == 't';
    return 0;
}

static int set_uint(struct loader *l, const struct key *k, const struct at *at, void *obj)
{
    int64_t v;
    int r;

    r = int_value(l, k, at, &v);
    if (r < 0)
        return r;
    *FIELD(unsigned, obj, k) = (unsigned)v;
    return 0;
}

static int set_duration(struct loader *l, const struct key *k, const struct at *at, void *obj)
{
    _cleanup_free_ char *s = NULL;
    char lim[32];
    uint64_t ms;
    int r;

    r = scalar(l, at, "a duration", &s);
    if (r < 0)
        return r;
    r = duration_parse_ms(s, &ms);
    if (r == -EINVAL)
        return diag(l, at->val,
                    "%s '%s' is not a valid duration (use a number and a unit: ms, s, m, h or d, "
                    "e.g. 30s or 1h30m)",
                    k->name, qv(l, at->val));
    if (r < 0 || ms > k->max)
        return diag(l, at->val, "%s '%s' is above the %s maximum (%s)", k->name, qv(l, at->val),
                    duration_format(k->max, lim, sizeof(lim)), at->path);
    if (ms < k->min)
        return diag(l, at->val, "%s '%s' is below the %s minimum (%s)", k->name, qv(l, at->val),
                    duration_format(k->min, lim, sizeof(lim)), at->path);
    *FIELD(uint64_t, obj, k) = ms;
    return 0;
}

static int set_bytes(struct loader *l, const struct key *k, const struct at *at, void *obj)
{
    _cleanup_free_ char *s = NULL;
    uint64_t v;
    int r;

    r = scalar(l, at, "a size", &s);
    if (r < 0)
        return r;
    r = units_parse_bytes(s, &v);
    if (r == -ERANGE)
        return diag(l, at->val, "%s '%s' is too large (%s)", k->name, qv(l, at->val), at->path);
    if (r < 0)
        return diag(l, at->val,
                    "%s '%s' is not a valid size (use a whole number and a unit: B, KB, MB, GB, "
                    "TB, KiB, MiB, GiB or TiB, e.g. 1MB)",
                    k->name, qv(l, at->val));
    *FIELD(uint64_t, obj, k) = v;
    return 0;
}

static int set_percent(struct loader *l, const struct key *k, const struct at *at, void *obj)
{
    _cleanup_free_ char *s = NULL;
    double v;
    int r;

    r = scalar(l, at, "a percentage", &s);
    if (r < 0)
        return r;
    r = units_parse_percent(s, (double)k->max, &v);
    if (r == -ERANGE)
        return diag(l, at->val, "%s '%s' is outside 0%%..%llu%% (%s)", k->name, qv(l, at->val),
                    (unsigned long long)k->max, at->path);
    if (r < 0)
        return diag(l, at->val, "%s '%s' is not a valid percentage (e.g. 50%%) (%s)", k->name,
                    qv(l, at->val), at->path);
    *FIELD(double, obj, k) = v;
    return 0;
}

static int set_number(struct loader *l, const struct key *k, const struct at *at, void *obj)
{
    _cleanup_free_ char *s = NULL;
    double v;
    int r;

    r = scalar(l, at, "a number", &s);
    if (r < 0)
        return r;
    if (units_parse_number(s, &v) < 0)
        return diag(l, at->val, "%s '%s' is not a valid number (e.g. 1.5) (%s)", k->name,
                    qv(l, at->val), at->path);
    *FIELD(double, obj, k) = v;
    return 0;
}

/* A size into a double (bytes, or bytes per second for net_rx/net_tx). */
static int set_bytes_d(struct loader *l, const struct key *k, const struct at *at, void *obj)
{
    uint64_t v = 0;
    struct key k64 = *k;
    int r;

    k64.off = 0;
    r = set_bytes(l, &k64, at, &v);
    if (r < 0)
        return r;
    *FIELD(double, obj, k) = (double)v;
    return 0;
}

/* The monitor type named s, or 0. */
static enum conf_monitor_type type_lookup(const char *s)
{
    enum conf_monitor_type t = 0;

    (void)conf_monitor_type_from_string(s, &t);
    return t;
}

static unsigned edit_distance(const char *a, const char *b);

static int set_type(struct loader *l, const struct key *k, const struct at *at, void *obj)
{
    _cleanup_free_ char *s = NULL;
    enum conf_monitor_type t;
    int r;

    r = scalar(l, at, "a string", &s);
    if (r < 0)
        return r;
    t = type_lookup(s);
    if (!t) {
        for (size_t i = 1; i < ARRAY_SIZE(types); i++)
            if (edit_distance(s, types[i].name) <= 1)
                return diag(l, at->val, "unknown monitor type '%s' (did you mean '%s'?)",
                            qv(l, at->val), types[i].name);
        return diag(l, at->val,
                    "unknown monitor type '%s' (expected http, tcp, heartbeat, exec, file, log, "
                    "host, process, dns, tls or icmp)",
                    qv(l, at->val));
    }
    *FIELD(enum conf_monitor_type, obj, k) = t;
    return 0;
}

static bool label_key_ok(const char *s)
{
    return env_name_ok(s, strlen(s)); /* the same shape: [A-Za-z_][A-Za-z0-9_]* */
}

static int cmp_label(const void *a, const void *b)
{
    return strcmp(((const struct conf_label *)a)->key, ((const struct conf_label *)b)->key);
}

/* A mapping of label names to values, into a struct conf_label * and a count
 * after it. */
static int set_labels(struct loader *l, const struct key *k, const struct at *at, void *obj)
{
    struct conf_label **dst = FIELD(struct conf_label *, obj, k);
    size_t *n_dst = (size_t *)(void *)((char *)obj + k->off + sizeof(struct conf_label *));
    const yaml_node_t *v = at->val, *keys[OPSD_MAX_LABELS]; /* keys[i] is labels[i]'s node */
    struct conf_label *labels;
    size_t n, n_labels = 0;
    int r = 0;

    if (is_null(v))
        return 0;
    if (v->type != YAML_MAPPING_NODE)
        return diag(l, v, "expected a mapping, got %s (%s)", describe(l, v), at->path);
    n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
    labels = xcalloc(MIN(n, (size_t)OPSD_MAX_LABELS), sizeof(*labels));
    for (size_t i = 0; i < n; i++) {
        const yaml_node_pair_t *p = &v->data.mapping.pairs.start[i];
        const yaml_node_t *kn = node(l, p->key);
        char path[256], *val = NULL;
        const char *name;
        struct at vat;
        bool dup = false;

        if (i == OPSD_MAX_LABELS) {
            r = diag(l, kn, "too many labels (the limit is %d)", OPSD_MAX_LABELS);
            break;
        }
        if (kn->type != YAML_SCALAR_NODE) {
            r = diag(l, kn, "expected a label name, got %s (%s)", describe(l, kn), at->path);
            continue;
        }
        name = (const char *)kn->data.scalar.value;
        if (!label_key_ok(name)) {
            r = diag(l, kn,
                     "label name '%s' is not valid (use letters, digits and '_', not starting "
                     "with a digit)",
                     q(l, name));
            continue;
        }
        for (size_t j = 0; j < n_labels && !dup; j++) {
            if (strcmp(labels[j].key, name) == 0) {
                r = diag(l, kn, "duplicate key '%s' (first at line %u)", q(l, name),
                         (unsigned)keys[j]->start_mark.line + 1);
                dup = true;
            }
        }
        if (dup)
            continue;
        snprintf(path, sizeof(path), "%s.%s", at->path, name);
        vat = (struct at){ .key = kn, .val = node(l, p->value), .path = path };
        if (scalar(l, &vat, "a string", &val) < 0) {
            r = -EINVAL;
            continue;
        }
        keys[n_labels] = kn;
        labels[n_labels++] = (struct conf_label){ .key = xstrdup(name), .value = val };
    }
    qsort(labels, n_labels, sizeof(*labels), cmp_label);
    *dst = labels;
    *n_dst = n_labels;
    return r;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;

    return (x > y) - (x < y);
}

/* expect.status: one code or a sequence of them; kept sorted, without repeats. */
static int set_status(struct loader *l, const struct key *k, const struct at *at, void *obj)
{
    struct conf_monitor *m = obj;
    const yaml_node_t *v = at->val;
    size_t n, out = 0;
    int r = 0;

    if (v->type == YAML_SCALAR_NODE) {
        int64_t code;

        r = int_value(l, k, at, &code);
        if (r < 0)
            return r;
        m->expect_status = xmalloc(sizeof(int));
        m->expect_status[0] = (int)code;
        m->n_expect_status = 1;
        return 0;
    }
    if (v->type != YAML_SEQUENCE_NODE)
        return diag(l, v, "expected a status code or a sequence of them, got %s (%s)",
                    describe(l, v), at->path);
    n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    m->expect_status = xcalloc(n, sizeof(int));
    for (size_t i = 0; i < n; i++) {
        char path[256];
        struct at iat;
        int64_t code;

        snprintf(path, sizeof(path), "%s[%zu]", at->path, i);
        iat = (struct at){ .val = node(l, v->data.sequence.items.start[i]), .path = path };
        if (int_value(l, k, &iat, &code) < 0) {
            r = -EINVAL;
            continue;
        }
        m->expect_status[out++] = (int)code;
    }
    qsort(m->expect_status, out, sizeof(int), cmp_int);
    m->n_expect_status = 0;
    for (size_t i = 0; i < out; i++)
        if (!i || m->expect_status[i] != m->expect_status[m->n_expect_status - 1])
            m->expect_status[m->n_expect_status++] = m->expect_status[i];
    return r;
}

/* ---- checks of string values ---------------------------------------------------- */

static int check_name(struct loader *l, const struct key *k, const struct at *at, char *s)
{
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_.-");

    if (strlen(s) > OPSD_MAX_NAME)
        return diag(l, at->val, "monitor name '%s' is longer than %d characters (%s)",
                    qv(l, at->val), OPSD_MAX_NAME, at->path);
    if (!*s || s[n])
        return diag(l, at->val,
                    "monitor name '%s' is not valid (use lowercase letters, digits, '_', '.' and "
                    "'-')",
                    qv(l, at->val));
    return 0;
}

static bool has_space(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f)
            return true;
    return false;
}

static int check_url(struct loader *l, const struct key *k, const struct at *at, char *s)
{
    size_t skip = strncasecmp(s, "http://", 7) == 0    ? 7
                  : strncasecmp(s, "https://", 8) == 0 ? 8
                                                       : 0;

    if (at->secret) { /* the URL is a credential: described, never quoted */
        if (!skip)
            return diag(l, at->val,
                        "%s does not start with http:// or https:// (%s; the value is not shown: "
                        "it is a secret)",
                        k->name, at->path);
        if (!s[skip] || s[skip] == '/')
            return diag(l, at->val, "%s has no host (%s)", k->name, at->path);
        if (has_space(s))
            return diag(l, at->val, "%s contains a space or control character (%s)", k->name,
                        at->path);
        return 0;
    }
    if (!skip)
        return diag(l, at->val, "%s '%s' does not start with http:// or https:// (%s)", k->name,
                    qv(l, at->val), at->path);
    if (!s[skip] || s[skip] == '/')
        return diag(l, at->val, "%s '%s' has no host (%s)", k->name, qv(l, at->val), at->path);
    if (has_space(s))
        return diag(l, at->val,
                    "%s '%s' contains a space or control character (encode it, "
                    "e.g. %%20)",
                    k->name, qv(l, at->val));
    return 0;
}

static int check_method(struct loader *l, const struct key *k, const struct at *at, char *s)
{
    for (size_t i = 0; i < ARRAY_SIZE(methods); i++)
        if (strcmp(s, methods[i]) == 0)
            return 0;
    return diag(l, at->val,
                "method '%s' is not supported (expected GET, HEAD, POST, PUT, DELETE, OPTIONS or "
                "PATCH)",
                qv(l, at->val));
}

enum dns_check { DNS_OK, DNS_BAD_CHAR, DNS_BAD_LABEL };

/* Checks s is a host name: dot-separated labels of 1 to 63 letters, digits,
 * '-' and '_', not starting or ending with '-', and an optional final dot.
 * '_' is not valid in DNS host names, but Docker and compose service names
 * use it and resolve fine, so refusing it would only break working setups. */
static enum dns_check dns_name_check(const char *s)
{
    size_t n = strlen(s), label = 0;

    if (n && s[n - 1] == '.')
        n--;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (c == '.') {
            if (!label || s[i - 1] == '-')
                return DNS_BAD_LABEL;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '-' || c == '_') {
            if ((c == '-' && !label) || ++label > 63)
                return DNS_BAD_LABEL;
        } else {
            return DNS_BAD_CHAR;
        }
    }
    if (!label || s[n - 1] == '-')
        return DNS_BAD_LABEL;
    return DNS_OK;
}

/* An IPv6 address, with an optional zone ("fe80::1%eth0"). */
static bool ipv6_ok(const char *s)
{
    const char *pct = strchr(s, '%');
    size_t n = pct ? (size_t)(pct - s) : strlen(s);
    char buf[INET6_ADDRSTRLEN];
    struct in6_addr a;

    if (n >= sizeof(buf))
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (inet_pton(AF_INET6, buf, &a) != 1)
        return false;
    if (!pct)
        return true;
    n = strlen(pct + 1);
    return n > 0 && n < IF_NAMESIZE &&
           !pct[1 + strspn(pct + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                    "0123456789_.-")];
}

/* True if s is ":" and a port number, what follows the host in "host:port". */
static bool is_port_suffix(const char *s)
{
    return s[0] == ':' && s[1] && s[1 + strspn(s + 1, "0123456789")] == '\0';
}

/* A DNS name, an IPv4 address or an IPv6 address. An IPv6 address in
 * brackets, as in a URL, loses them: "[::1]" is stored as "::1". */
static int check_host(struct loader *l, const struct key *k, const struct at *at, char *s)
{
    const char *close, *colon;
    size_t n = strlen(s);
    struct in_addr a4;

    if (!*s)
        return diag(l, at->val, "host must not be empty (%s)", at->path);
    if (strstr(s, "://"))
        return diag(l, at->val, "host '%s' is a URL, not a host name or address (%s)",
                    qv(l, at->val), at->path);
    if (has_space(s))
        return diag(l, at->val, "host '%s' contains a space or control character (%s)",
                    qv(l, at->val), at->path);

    if (s[0] == '[') {
        close = strchr(s, ']');
        if (close && is_port_suffix(close + 1))
            return diag(l, at->val, "host '%s' includes a port (set it with the port key)",
                        qv(l, at->val));
        if (close != s + n - 1 || n < 3)
            return diag(l, at->val, "host '%s' is not a valid IPv6 address (e.g. ::1 or [::1])",
                        qv(l, at->val));
        s[n - 1] = '\0';
        if (!ipv6_ok(s + 1))
            return diag(l, at->val, "host '%s' is not a valid IPv6 address (e.g. ::1 or [::1])",
                        qv(l, at->val));
        memmove(s, s + 1, n - 1); /* "::1" and its NUL */
        return 0;
    }
    colon = strchr(s, ':');
    if (colon) {
        if (ipv6_ok(s))
            return 0;
        if (colon == strrchr(s, ':') && is_port_suffix(colon))
            return diag(l, at->val, "host '%s' includes a port (set it with the port key)",
                        qv(l, at->val));
        if (strspn(s, "0123456789abcdefABCDEF:.") >= strcspn(s, "%"))
            return diag(l, at->val, "host '%s' is not a valid IPv6 address (e.g. ::1 or [::1])",
                        qv(l, at->val));
    }
    if (!s[strspn(s, "0123456789.")]) {
        if (inet_pton(AF_INET, s, &a4) == 1)
            return 0;
        return diag(l, at->val,
                    "host '%s' is not a valid IPv4 address (four numbers from 0 to 255, e.g. "
                    "10.0.0.5)",
                    qv(l, at->val));
    }
    if (n - (s[n - 1] == '.') > 253)
        return diag(l, at->val, "host '%s' is longer than 253 characters (%s)", qv(l, at->val),
                    at->path);
    switch (dns_name_check(s)) {
    case DNS_OK:
        return 0;
    case DNS_BAD_CHAR:
        return diag(l, at->val,
                    "host '%s' is not a host name or IP address (use a DNS name such as "
                    "db.internal, an IPv4 address such as 10.0.0.5 or an IPv6 address such as ::1)",
                    qv(l, at->val));
    case DNS_BAD_LABEL:
    default:
        return diag(l, at->val,
                    "host '%s' is not a valid host name (each part between dots is 1 to 63 "
                    "letters, digits, '-' or '_', not starting or ending with '-')",
                    qv(l, at->val));
    }
}

/* Never quotes the token: it is a secret. */
static int check_token(struct loader *l, const struct key *k, const struct at *at, char *s)
{
    size_t n = strlen(s);

    if (n < OPSD_MIN_TOKEN_LEN)
        return diag(l, at->val, "token is %zu characters long, below the %d minimum (%s)", n,
                    OPSD_MIN_TOKEN_LEN, at->path);
    if (n > OPSD_MAX_TOKEN_LEN)
        return diag(l, at->val, "token is %zu characters long, above the %d maximum (%s)", n,
                    OPSD_MAX_TOKEN_LEN, at->path);
    if (s[strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")])
        return diag(l, at->val,
                    "token has a character other than letters, digits, '_' and '-' (%s)", at->path);
    return 0;
}

static int check_body(struct loader *l, const struct key *k, const struct at *at, char *s)
{
    if (!*s)
        return diag(l, at->val, "body_contains must not be empty (%s)", at->path);
    if (strlen(s) > OPSD_MAX_BODY_CAPTURE)
        return diag(l, at->val,
                    "body_contains is longer than the %d bytes of a body that are checked (%s)",
                    OPSD_MAX_BODY_CAPTURE, at->path);
    return 0;
}

/* host:port, [v6]:port or :port; port 0..65535 (0 picks a free port). */
static int check_listen(struct loader *l, const struct key *k, const struct at *at, char *s)
{
    const char *colon = strrchr(s, ':'), *port = colon ? colon + 1 : "";
    int64_t v;
    bool ok = colon && parse_int(port, &v) == 0 && *port != '-' && v <= 65535 &&
              strlen(port) <= 5 && !has_space(s);

    if (ok && s[0] == '[')
        ok = colon > s && colon[-1] == ']';
    else if (ok)
        ok = memchr(s, ':', (size_t)(colon - s)) == NULL && !strchr(s, '[') && !strchr(s, ']');
    if (!ok)
        return diag(l, at->val,
                    "listen '%s' is not host:port (e.g. 127.0.0.1:8080, 0.0.0.0:8080 or "
                    "[::]:8080)",
                    qv(l, at->val));
    return 0;
}

static int check_level(struct loader *l, const struct key *k, const struct at *at, char *s)
{
    enum log_level lvl;

    if (log_level_from_string(s, &lvl) < 0)
        return diag(l, at->val, "log_level '%s' is not valid (expected debug, info, warn or error)",
                    qv(l, at->val));
    return 0;
}

static int check_nonempty(struct loader *l, const struct key *k, const struct at *at, char *s)
{
    if (!*s)
        return diag(l, at->val, "%s must not be empty (%s)", k->name, at->path);
    return 0;
}

static int check_command(struct loader *l, const struct key *k, const struct at *at, char *s)
{
    struct opsd_error err = { 0 };
    char **argv = NULL;

    /* The message never quotes the command: it may hold secrets. */
    if (probe_plugin_split(s, &argv, NULL, &err) < 0)
        return diag(l, at->val, "%s: %s (%s)", k->name, err.msg, at->path);
    free(argv);
    return 0;
}

static int check_abspath(struct loader *l, const struct key *k, const struct at *at, char *s)
{
    if (s[0] != '/')
        return diag(l, at->val,
                    "%s '%s' is not an absolute path (start it with /: opsd runs from / as a "
                    "service) (%s)",
                    k->name, qv(l, at->val), at->path);
    if (strlen(s) >= 4096)
        return diag(l, at->val, "%s is longer than 4095 bytes (%s)", k->name, at->path);
    return 0;
}

static int check_regex(struct loader *l, const struct key *k, const struct at *at, char *s)
{
    struct opsd_error err = { 0 };

    if (!*s)
        return diag(l, at->val, "%s must not be empty (%s)", k->name, at->path);
    if (probe_log_pattern_check(s, false, &err) < 0)
        return diag(l, at->val, "%s: %s (%s)", k->name, err.msg, at->path);
    return 0;
}

static int check_cron(struct loader *l, const struct key *k, const struct at *at, char *s)
{
    struct opsd_error err = { 0 };
    struct probe_tz *utc = NULL;
    struct probe_cron c;
    uint64_t next;
    int r;

    if (probe_cron_parse(s, &c, &err) < 0)
        return diag(l, at->val, "%s '%s': %s (%s)", k->name, qv(l, at->val), err.msg, at->path);
    /* In UTC (built in, no file read): a schedule that never fires there
     * never fires anywhere. */
    if (probe_tz_load("UTC", NULL, &utc, &err) < 0)
        return diag(l, at->val, "%s: %s (%s)", k->name, err.msg, at->path);
    r = probe_cron_next(&c, utc, 0, &next);
    probe_tz_free(utc);
    if (r == -ENOENT)
        return diag(l, at->val, "%s '%s' never fires (%s)", k->name, qv(l, at->val), at->path);
    return 0;
}

static int check_tz(struct loader *l, const struct key *k, const struct at *at, char *s)
{
    struct opsd_error err = { 0 };
    struct probe_tz *tz = NULL;

    if (probe_tz_load(s, NULL, &tz, &err) < 0)
        return diag(l, at->val, "%s: %s (%s)", k->name, err.msg, at->path);
    probe_tz_free(tz);
    return 0;
}

static int check_dns_name(struct loader *l, const struct key *k, const struct at *at, char *s)
{
    if (!*s || strlen(s) > 253 ||
        strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                  "0123456789.-_*") != strlen(s) ||
        strstr(s, ".."))
        return diag(l, at->val,
                    "%s '%s' is not a DNS name (letters, digits, '-', '_' and dots; at most 253 "
                    "characters) (%s)",
                    k->name, qv(l, at->val), at->path);
    return 0;
}

/* "host", "host:port", "[v6]" or "[v6]:port", like listen but the host may
 * be a name too. */
static int check_server(struct loader *l, const struct key *k, const struct at *at, char *s)
{
    char host[256];
    const char *colon, *port = NULL;
    size_t n;

    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end || (end[1] && end[1] != ':'))
            return diag(l, at->val, "%s '%s': expected [address]:port (%s)", k->name,
                        qv(l, at->val), at->path);
        n = (size_t)(end - s - 1);
        port = end[1] ? end + 2 : NULL;
        if (n == 0 || n >= sizeof(host))
            return diag(l, at->val, "%s '%s' has no address (%s)", k->name, qv(l, at->val),
                        at->path);
        memcpy(host, s + 1, n);
        host[n] = '\0';
        if (!ipv6_ok(host) || strchr(host, '%'))
            return diag(l, at->val, "%s '%s': '%s' is not an IPv6 address without a zone (%s)",
                        k->name, qv(l, at->val), q(l, host), at->path);
    } else {
        colon = strchr(s, ':');
        if (colon && strchr(colon + 1, ':'))
            return diag(l, at->val, "%s '%s': put an IPv6 address in brackets, as [::1]:53 (%s)",
                        k->name, qv(l, at->val), at->path);
        n = colon ? (size_t)(colon - s) : strlen(s);
        port = colon ? colon + 1 : NULL;
        if (n == 0 || n >= sizeof(host))
            return diag(l, at->val, "%s '%s' has no host (%s)", k->name, qv(l, at->val), at->path);
        memcpy(host, s, n);
        host[n] = '\0';
        if (dns_name_check(host) != DNS_OK)
            return diag(l, at->val, "%s '%s': '%s' is not a host name or address (%s)", k->name,
                        qv(l, at->val), q(l, host), at->path);
    }
    if (port) {
        char *end;
        unsigned long p = strtoul(port, &end, 10);

        if (!*port || *end || p < 1 || p > 65535 || strspn(port, "0123456789") != strlen(port))
            return diag(l, at->val, "%s '%s': the port must be 1 to 65535 (%s)", k->name,
                        qv(l, at->val), at->path);
    }
    return 0;
}

static int check_starttls(struct loader *l, const struct key *k, const struct at *at, char *s)
{
    if (strcmp(s, "smtp") != 0)
        return diag(l, at->val, "%s '%s' is not supported (only smtp) (%s)", k->name,
                    qv(l, at->val), at->path);
    return 0;
}

/* The name of a receiver, policy or maintenance window (what says which):
 * the same shape as a monitor's. */
static int check_object_name(struct loader *l, const struct at *at, const char *s, const char *what)
{
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_.-");

    if (strlen(s) > OPSD_MAX_NAME)
        return diag(l, at->val, "%s name '%s' is longer than %d characters (%s)", what,
                    qv(l, at->val), OPSD_MAX_NAME, at->path);
    if (!*s || s[n])
        return diag(l, at->val,
                    "%s name '%s' is not valid (use lowercase letters, digits, '_', '.' and '-')",
                    what, qv(l, at->val));
    return 0;
}

static int check_receiver_name(struct loader *l, const struct key *k, const struct at *at, char *s)
{
    return check_object_name(l, at, s, "receiver");
}

static int check_policy_name(struct loader *l, const struct key *k, const struct at *at, char *s)
{
    return check_object_name(l, at, s, "escalation policy");
}

static int check_window_name(struct loader *l, const struct key *k, const struct at *at, char *s)
{
    return check_object_name(l, at, s, "maintenance window");
}

static int check_summary(struct loader *l, const struct key *k, const struct at *at, char *s)
{
    if (!*s)
        return diag(l, at->val, "summary must not be empty (%s; leave it out for the default)",
                    at->path);
    if (strpbrk(s, "\r\n"))
        return diag(l, at->val,
                    "summary has a line break (%s; it is one line: put details in "
                    "the description)",
                    at->path);
    return 0;
}

/* A URL paths are appended to (external_url, api_url, ntfy's url): trailing
 * slashes are dropped, so that url + "/ack/..." has one. */
static int check_base_url(struct loader *l, const struct key *k, const struct at *at, char *s)
{
    size_t n;
    int r;

    r = check_url(l, k, at, s);
    if (r < 0)
        return r;
    n = strlen(s);
    while (n && s[n - 1] == '/')
        s[--n] = '\0';
    return 0;
}

/* Secrets are described, never quoted. */
static int check_secret(struct loader *l, const struct key *k, const struct at *at, char *s)
{
    if (!*s)
        return diag(l, at->val, "%s must not be empty (%s)", k->name, at->path);
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return diag(l, at->val,
                        "%s contains a control character (%s; the value is not shown: it is a "
                        "secret)",
                        k->name, at->path);
    return 0;
}

static int check_link_secret(struct loader *l, const struct key *k, const struct at *at, char *s)
{
    size_t n = strlen(s);

    if (n < 16)
        return diag(l, at->val, "link_secret is %zu bytes long, below the 16-byte minimum (%s)", n,
                    at->path);
    return 0;
}

/* Telegram's token goes into the URL's path: nothing that would change it. */
static int check_bot_token(struct loader *l, const struct key *k, const struct at *at, char *s)
{
    if (!*s)
        return diag(l, at->val, "%s must not be empty (%s)", k->name, at->path);
    if (strpbrk(s, "/?#%") || has_space(s))
        return diag(l, at->val,
                    "%s has a character a Telegram bot token cannot have (%s; expected "
                    "123456:ABC-DEF...; the value is not shown: it is a secret)",
                    k->name, at->path);
    return 0;
}

/* An ntfy topic, as ntfy accepts it: 1 to 64 of [A-Za-z0-9_-]. */
static int check_topic(struct loader *l, const struct key *k, const struct at *at, char *s)
{
    size_t n = strlen(s);

    if (!n || n > 64 ||
        s[strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")])
        return diag(l, at->val,
                    "%s '%s' is not a valid ntfy topic (%s; 1 to 64 letters, digits, '_' or '-')",
                    k->name, qv(l, at->val), at->path);
    return 0;
}

static int check_sid(struct loader *l, const struct key *k, const struct at *at, char *s)
{
    if (!*s || s[strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")])
        return diag(l, at->val,
                    "%s '%s' is not a Twilio account SID (%s; letters and digits, "
                    "e.g. AC0123...)",
                    k->name, qv(l, at->val), at->path);
    return 0;
}

static int check_nospace(struct loader *l, const struct key *k, const struct at *at, char *s)
{
    if (!*s)
        return diag(l, at->val, "%s must not be empty (%s)", k->name, at->path);
    if (has_space(s))
        return diag(l, at->val, "%s '%s' contains a space or control character (%s)", k->name,
                    qv(l, at->val), at->path);
    return 0;
}

/* A bare address: local@domain, nothing around it. */
static bool email_addr_ok(const char *s, size_t n)
{
    const char *at = memchr(s, '@', n);

    if (!at || at == s || at == s + n - 1 || memchr(at + 1, '@', (size_t)(s + n - at - 1)))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f || strchr("<>,;\"()[]\\", s[i]))
            return false;
    return true;
}

static int check_email_to(struct loader *l, const struct key *k, const struct at *at, char *s)
{
    if (!email_addr_ok(s, strlen(s)))
        return diag(l, at->val, "%s '%s' is not an email address (%s; e.g. ops@example.com)",
                    k->name, qv(l, at->val), at->path);
    return 0;
}

/* "a@b" or "Name <a@b>"; no line break can reach the header. */
static int check_email_from(struct loader *l, const struct key *k, const struct at *at, char *s)
{
    const char *lt = strrchr(s, '<');
    size_t n = strlen(s);
    bool ok;

    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return diag(l, at->val, "%s '%s' contains a control character (%s)", k->name,
                        qv(l, at->val), at->path);
    if (lt)
        ok = n >= 2 && s[n - 1] == '>' && email_addr_ok(lt + 1, (size_t)(s + n - 1 - lt - 1));
    else
        ok = email_addr_ok(s, n);
    if (!ok)
        return diag(l, at->val,
                    "%s '%s' is not an email address (%s; e.g. opsd@example.com or \"opsd "
                    "<opsd@example.com>\")",
                    k->name, qv(l, at->val), at->path);
    return 0;
}

/* A notification template, checked as notify_build() will read it. The
 * message shows the template's text only when it is as written: after
 * ${NAME} expansion it may hold anything. */
static int check_template(struct loader *l, const struct key *k, const struct at *at, char *s,
                          bool ctx_alert)
{
    struct opsd_error err = { 0 };

    if (notify_template_check(s, ctx_alert, &err) >= 0)
        return 0;
    if (strcmp(s, (const char *)at->val->data.scalar.value) != 0)
        return diag(l, at->val,
                    "%s is not a valid template once ${NAME} is expanded (%s; an unknown "
                    "{field} or an unterminated '{': write '{{' for a literal '{')",
                    k->name, at->path);
    return diag(l, at->val, "%s: %s (%s; %s)", k->name, err.msg, at->path,
                ctx_alert ? "fields: icon, monitor, severity, status, STATUS, since, duration, "
                            "summary, message, fingerprint, ack_url, resolve_url, label.KEY"
                          : "fields: status, STATUS, count, firing, resolved, severity, monitors, "
                            "group_key, external_url");
}

static int check_subject_template(struct loader *l, const struct key *k, const struct at *at,
                                  char *s)
{
    return check_template(l, k, at, s, false);
}

static int check_alert_template(struct loader *l, const struct key *k, const struct at *at, char *s)
{
    return check_template(l, k, at, s, true);
}

static int set_record(struct loader *l, const struct key *k, const struct at *at, void *obj)
{
    _cleanup_free_ char *s = NULL;
    int r;

    r = scalar(l, at, "a record type", &s);
    if (r < 0)
        return r;
    for (size_t i = 0; i < ARRAY_SIZE(dns_records); i++) {
        if (strcasecmp(s, dns_records[i].name) == 0) {
            *FIELD(enum conf_dns_record, obj, k) = dns_records[i].rr;
            return 0;
        }
    }
    return diag(l, at->val,
                "record '%s' is not supported (one of A, AAAA, CNAME, MX, TXT, NS, SOA, SRV, PTR) "
                "(%s)",
                qv(l, at->val), at->path);
}

/* ---- mappings ------------------------------------------------------------------- */

/* Optimal string alignment distance, case-insensitive, for "did you mean". */
static unsigned edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    unsigned d[40][40];

    if (n >= 40 || m >= 40)
        return 99;
    for (size_t i = 0; i <= n; i++)
        d[i][0] = (unsigned)i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = (unsigned)j;
    for (size_t i = 1; i <= n; i++) {
        for (size_t j = 1; j <= m; j++) {
            char x = (char)(a[i - 1] | 0x20), y = (char)(b[j - 1] | 0x20);
            unsigned c = d[i - 1][j - 1] + (x != y);

            c = MIN(c, d[i - 1][j] + 1);
            c = MIN(c, d[i][j - 1] + 1);
            if (i > 1 && j > 1 && x == (char)(b[j - 2] | 0x20) && (char)(a[i - 2] | 0x20) == y)
                c = MIN(c, d[i - 2][j - 2] + 1);
            d[i][j] = c;
        }
    }
    return d[n][m];
}

static bool applies(const struct key *k, enum conf_monitor_type type)
{
    return !type || !k->types || (k->types & BIT(type));
}

static int unknown_key(struct loader *l, const yaml_node_t *kn, const char *name,
                       const struct keytab *tab, enum conf_monitor_type type)
{
    const struct key *best = NULL;
    unsigned best_d = 99;
    struct sbuf sb = SBUF_INIT;
    int r;

    /* One pass collects both the closest key and the list of valid ones. */
    for (size_t i = 0; i < tab->n; i++) {
        const struct key *k = &tab->v[i];
        unsigned d;

        if (!applies(k, type))
            continue;
        sbuf_addf(&sb, "%s%s", sb.len ? ", " : "", k->name);
        d = edit_distance(name, k->name);
        if (d < best_d) {
            best_d = d;
            best = k;
        }
    }
    if (best && best_d <= 2 && best_d * 3 <= strlen(best->name))
        r = diag(l, kn, "unknown key '%s' (did you mean '%s'?)", q(l, name), best->name);
    else
        r = diag(l, kn, "unknown key '%s' (valid keys: %s)", q(l, name), sb.buf);
    sbuf_release(&sb);
    return r;
}

/* "only to http and tcp monitors" */
static void only_to(unsigned mask, char *buf, size_t n)
{
    size_t off = (size_t)snprintf(buf, n, "only to");
    unsigned left = mask;

    for (size_t t = 1; t < ARRAY_SIZE(types) && off < n; t++) {
        if (!(mask & BIT(t)))
            continue;
        left &= ~BIT(t);
        off += (size_t)snprintf(buf + off, n - off, "%s%s", off > 7 ? (left ? ", " : " and ") : " ",
                                types[t].name);
    }
    if (off < n)
        snprintf(buf + off, n - off, " monitors");
}

/* Walks mapping m against tab, calling each key's setter on obj. type is the
 * monitor type the keys must apply to (0: do not check). seen (tab->n
 * entries, zeroed by the caller) tells the caller what was set. Returns
 * -EINVAL if anything was wrong. */
static int walk(struct loader *l, const yaml_node_t *m, const struct keytab *tab, void *obj,
                const char *path, enum conf_monitor_type type, struct seen *seen)
{
    int r = 0;

    for (const yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *kn = node(l, p->key), *vn = node(l, p->value);
        const struct key *k = NULL;
        char kpath[256], hint[192];
        const char *name;
        struct at at;
        size_t i;

        if (kn->type != YAML_SCALAR_NODE) {
            r = diag(l, kn, "expected a key name, got %s (%s)", describe(l, kn),
                     *path ? path : "top level");
            continue;
        }
        name = (const char *)kn->data.scalar.value;
        for (i = 0; i < tab->n && !k; i++)
            if (strcmp(name, tab->v[i].name) == 0)
                k = &tab->v[i];
        if (!k) {
            r = unknown_key(l, kn, name, tab, type);
            continue;
        }
        i = (size_t)(k - tab->v);
        if (!applies(k, type)) {
            only_to(k->types, hint, sizeof(hint));
            r = diag(l, kn, "key '%s' does not apply to %s %s monitor (%s)", k->name,
                     types[type].article, types[type].name, hint);
            continue;
        }
        if (seen[i].key) {
            r = diag(l, kn, "duplicate key '%s' (first at line %u)", k->name,
                     (unsigned)seen[i].key->start_mark.line + 1);
            continue;
        }
        snprintf(kpath, sizeof(kpath), "%s%s%s", path, *path ? "." : "", k->name);
        at = (struct at){ .key = kn, .val = vn, .path = kpath, .secret = k->secret };
        seen[i] = (struct seen){ .key = kn, .val = vn };
        seen[i].ok = k->set(l, k, &at, obj) >= 0;
        if (!seen[i].ok)
            r = -EINVAL;
    }
    return r;
}

/* 1 for a mapping, 0 for nothing (an empty mapping), or -EINVAL after reporting. */
static int want_mapping(struct loader *l, const struct at *at)
{
    if (at->val->type == YAML_MAPPING_NODE)
        return 1;
    if (is_null(at->val))
        return 0;
    return diag(l, at->val, "expected a mapping, got %s (%s)", describe(l, at->val), at->path);
}

static int set_expect(struct loader *l, const struct key *k, const struct at *at, void *obj)
{
    struct seen seen[ARRAY_SIZE(expect_keys)] = { 0 };
    int r;

    r = want_mapping(l, at);
    if (r <= 0)
        return r;
    r = walk(l, at->val, &expect_tab, obj, at->path, ((struct conf_monitor *)obj)->type, seen);
    if (seen[EK_MAX_LATENCY].ok)
        l->latency = seen[EK_MAX_LATENCY].val;
    return r;
}

static int set_auth(struct loader *l, const struct key *k, const struct at *at, void *obj)
{
    struct seen seen[ARRAY_SIZE(auth_keys)] = { 0 };
    int r;

    r = want_mapping(l, at);
    if (r <= 0)
        return r;
    r = walk(l, at->val, &auth_tab, obj, at->path, 0, seen);
    if (r < 0)
        return r;
    if (seen[AK_BEARER].key && (seen[AK_USERNAME].key || seen[AK_PASSWORD].key))
        return diag(l, at->val, "auth has both bearer and username/password (%s; pick one)",
                    at->path);
    if (!seen[AK_BEARER].key && !seen[AK_USERNAME].key)
        return diag(l, at->val, "auth needs username (and password) or bearer (%s)", at->path);
    return 0;
}

/* Request headers: a mapping of header names to values, kept in order. */
static int set_headers(struct loader *l, const struct key *k, const struct at *at, void *obj)
{
    struct conf_monitor *m = obj;
    const yaml_node_t *v = at->val;
    size_t n;
    int r = 0;

    if (is_null(v))
        return 0;
    if (v->type != YAML_MAPPING_NODE)
        return diag(l, v, "expected a mapping of header names to values, got %s (%s)",
                    describe(l, v), at->path);
    n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
    if (n > 64)
        return diag(l, v, "too many headers (the limit is 64) (%s)", at->path);
    m->headers = xcalloc(n ? n : 1, sizeof(*m->headers));
    for (size_t i = 0; i < n; i++) {
        const yaml_node_pair_t *p = &v->data.mapping.pairs.start[i];
        const yaml_node_t *kn = node(l, p->key);
        char path[256], *val = NULL;
        const char *name;
        struct at vat;

        if (kn->type != YAML_SCALAR_NODE) {
            r = diag(l, kn, "expected a header name, got %s (%s)", describe(l, kn), at->path);
            continue;
        }
        name = (const char *)kn->data.scalar.value;
        /* RFC 9110 token characters; no CR or LF can reach the request. */
        if (!*name || strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                                   "!#$%&'*+-.^_`|~") != strlen(name)) {
            r = diag(l, kn, "'%s' is not a valid header name (%s)", q(l, name), at->path);
            continue;
        }
        snprintf(path, sizeof(path), "%s.%s", at->path, name);
        vat = (struct at){ .key = kn, .val = node(l, p->value), .path = path };
        if (scalar(l, &vat, "a string", &val) < 0) {
            r = -EINVAL;
            continue;
        }
        if (strpbrk(val, "\r\n")) {
            free(val);
            /* Never quoted: header values often carry secrets. */
            r = diag(l, vat.val, "the value of header '%s' has a line break (%s)", q(l, name),
                     path);
            continue;
        }
        m->headers[m->n_headers].key = xstrdup(name);
        m->headers[m->n_headers].value = val;
        m->n_headers++;
    }
    return r;
}

/* expect.json: a sequence of assertions, each parsed now so a typo is a
 * config error, not a failing check. */
static int set_json_list(struct loader *l, const struct key *k, const struct at *at, void *obj)
{
    struct conf_monitor *m = obj;
    struct key lk = *k;
    int r;

    lk.off = offsetof(struct conf_monitor, expect_json);
    r = set_strlist(l, &lk, at, obj);
    if (r < 0)
        return r;
    for (size_t i = 0; i < m->n_expect_json; i++) {
        struct probe_json_assert a;
        struct opsd_error err = { 0 };
        const yaml_node_t *item = node(l, at->val->data.sequence.items.start[i]);

        if (probe_json_assert_parse(m->expect_json[i], &a, &err) < 0)
            r = diag(l, item, "json assertion '%s': %s (%s[%zu])", qv(l, item), err.msg, at->path,
                     i);
        else
            probe_json_assert_free(&a);
    }
    return r;
}

static int set_on_failure(struct loader *l, const struct key *k, const struct at *at, void *obj)
{
    struct seen seen[ARRAY_SIZE(on_failure_keys)] = { 0 };
    int r;

    r = want_mapping(l, at);
    if (r < 0)
        return r;
    if (r > 0)
        r = walk(l, at->val, &on_failure_tab, obj, at->path, 0, seen);
    if (!seen[OK_EXEC].key)
        return diag(l, at->val,
                    "missing required key 'exec' (%s; the command to run when the monitor goes "
                    "down)",
                    at->path);
    return r;
}

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void labels_free(struct conf_label *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].key);
        free(v[i].value);
    }
    free(v);
}

/* warn: or critical: of a host or process monitor. The monitor's type is
 * needed to tell which keys apply, so it is looked up in obj. */
static int set_limits(struct loader *l, const struct key *k, const struct at *at, void *obj)
{
    struct conf_monitor *m = obj;
    struct seen seen[ARRAY_SIZE(limit_keys)] = { 0 };
    /* The table's offsets are of .warn; .crit follows it. */
    char *base = (char *)&m->limits + (k->min ? sizeof(double) : 0);
    int r;

    r = want_mapping(l, at);
    if (r <= 0)
        return r;
    return walk(l, at->val, &limit_tab, base, at->path, m->type, seen);
}

/* A sequence of non-empty strings into a char ** and a count after it. */
static int set_strlist(struct loader *l, const struct key *k, const struct at *at, void *obj)
{
    char ***dst = FIELD(char **, obj, k);
    size_t *n_dst = (size_t *)(void *)((char *)obj + k->off + sizeof(char **));
    const yaml_node_t *v = at->val;
    size_t n;
    char **list;
    int r = 0;

    if (is_null(v))
        return 0;
    if (v->type != YAML_SEQUENCE_NODE)
        return diag(l, v, "expected a sequence of strings, got %s (%s)", describe(l, v), at->path);
    n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (n > 64)
        return diag(l, v, "too many entries in %s (the limit is 64)", at->path);
    list = xcalloc(n ? n : 1, sizeof(*list));
    for (size_t i = 0; i < n; i++) {
        char path[256];
        struct at iat;

        snprintf(path, sizeof(path), "%s[%zu]", at->path, i);
        iat = (struct at){ .key = NULL,
                           .val = node(l, v->data.sequence.items.start[i]),
                           .path = path };
        if (scalar(l, &iat, "a string", &list[i]) < 0 ||
            (k->check ? k->check : check_nonempty)(l, k, &iat, list[i]) < 0)
            r = -EINVAL;
    }
    if (r < 0) {
        strv_free(list, n);
        return r;
    }
    strv_free(*dst, *n_dst); /* a receiver with two channels sets "to" twice */
    *dst = list;
    *n_dst = n;
    return 0;
}

static int set_server(struct loader *l, const struct key *k, const struct at *at, void *obj)
{
    struct seen seen[ARRAY_SIZE(server_keys)] = { 0 };
    int r;

    r = want_mapping(l, at);
    if (r <= 0)
        return r;
    return walk(l, at->val, &server_tab, &l->conf->server, at->path, 0, seen);
}

static int set_defaults(struct loader *l, const struct key *k, const struct at *at, void *obj)
{
    struct seen seen[ARRAY_SIZE(defaults_keys)] = { 0 };
    int r;

    r = want_mapping(l, at);
    if (r <= 0)
        return r;
    r = walk(l, at->val, &defaults_tab, &l->defaults, at->path, 0, seen);
    if (seen[DK_INTERVAL].ok)
        l->defaults_interval = seen[DK_INTERVAL].val;
    if (seen[DK_TIMEOUT].ok)
        l->defaults_timeout = seen[DK_TIMEOUT].val;
    if (seen[DK_TIMEOUT].ok && seen[DK_INTERVAL].ok &&
        l->defaults.timeout_ms > l->defaults.interval_ms)
        r = diag(l, seen[DK_TIMEOUT].val, "timeout '%s' exceeds the interval '%s' (%s.timeout)",
                 qv(l, seen[DK_TIMEOUT].val), qv(l, seen[DK_INTERVAL].val), at->path);
    return r;
}

static int set_monitors(struct loader *l, const struct key *k, const struct at *at, void *obj)
{
    if (is_null(at->val))
        return 0;
    if (at->val->type != YAML_SEQUENCE_NODE)
        return diag(l, at->val, "expected a sequence of monitors, got %s (%s)",
                    describe(l, at->val), at->path);
    l->monitors = at->val;
    return 0;
}

/* ---- alerting: setters ---------------------------------------------------------- */

static size_t seq_len(const yaml_node_t *v)
{
    return (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
}

/* Item i of the value of a K_LIST1 key: of its sequence, or the scalar itself. */
static const yaml_node_t *item_node(struct loader *l, const yaml_node_t *v, size_t i)
{
    return v->type == YAML_SEQUENCE_NODE ? node(l, v->data.sequence.items.start[i]) : v;
}

/* The path of that item, into buf. */
static const char *item_path(const yaml_node_t *v, const char *path, size_t i, char *buf,
                             size_t size)
{
    if (v->type == YAML_SEQUENCE_NODE)
        snprintf(buf, size, "%s[%zu]", path, i);
    else
        snprintf(buf, size, "%s", path);
    return buf;
}

/* A string or a non-empty sequence of strings, into a char ** and a count
 * after it; each passes k->check (non-empty when there is none). */
static int set_strlist1(struct loader *l, const struct key *k, const struct at *at, void *obj)
{
    char ***dst = FIELD(char **, obj, k);
    size_t *n_dst = (size_t *)(void *)((char *)obj + k->off + sizeof(char **));
    char *s = NULL;
    int r;

    if (at->val->type == YAML_SEQUENCE_NODE) {
        if (!seq_len(at->val))
            return diag(l, at->val, "%s is empty (%s; list at least one)", k->name, at->path);
        return set_strlist(l, k, at, obj);
    }
    r = scalar(l, at, "a string or a sequence of strings", &s);
    if (r < 0)
        return r;
    r = (k->check ? k->check : check_nonempty)(l, k, at, s);
    if (r < 0) {
        free(s);
        return r;
    }
    strv_free(*dst, *n_dst);
    *dst = xmalloc(sizeof(char *));
    (*dst)[0] = s;
    *n_dst = 1;
    return 0;
}

static int set_severity(struct loader *l, const struct key *k, const struct at *at, void *obj)
{
    _cleanup_free_ char *s = NULL;
    enum conf_severity sev;
    int r;

    r = scalar(l, at, "a severity", &s);
    if (r < 0)
        return r;
    if (conf_severity_from_string(s, &sev) < 0)
        return diag(l, at->val,
                    "severity '%s' is not valid (expected critical, high, medium or low)",
                    qv(l, at->val));
    *FIELD(enum conf_severity, obj, k) = sev;
    return 0;
}

/* tolerance: {fail: X, of: Y, recover: X2, recover_of: Y2}. recover defaults
 * to 1 and recover_of to recover (X2 successes in a row). */
static int set_tolerance(struct loader *l, const struct key *k, const struct at *at, void *obj)
{
    struct conf_monitor *m = obj;
    struct seen seen[ARRAY_SIZE(tolerance_keys)] = { 0 };
    int r;

    r = want_mapping(l, at);
    if (r < 0)
        return r;
    if (r == 0)
        return diag(l, at->key, "key 'tolerance' has no value (%s; e.g. {fail: 3, of: 5})",
                    at->path);
    r = walk(l, at->val, &tolerance_tab, m, at->path, 0, seen);
    if (!seen[TK_FAIL].key || !seen[TK_OF].key)
        return diag(l, at->val,
                    "tolerance needs both fail and of (%s; e.g. {fail: 3, of: 5}: down after 3 "
                    "failures among the last 5 results)",
                    at->path);
    if (r < 0)
        return r;
    if (m->fail_x > m->fail_y)
        r = diag(l, seen[TK_FAIL].val,
                 "fail '%s' exceeds of '%s' (%s; X failures among the last Y "
                 "results need X <= Y)",
                 qv(l, seen[TK_FAIL].val), qv(l, seen[TK_OF].val), at->path);
    if (!seen[TK_RECOVER].key)
        m->recover_x = 1;
    if (!seen[TK_RECOVER_OF].key)
        m->recover_y = m->recover_x;
    if (m->recover_x > m->recover_y)
        r = diag(l, seen[TK_RECOVER].val,
                 "recover '%s' exceeds recover_of '%s' (%s; X successes among the last Y results "
                 "need X <= Y)",
                 qv(l, seen[TK_RECOVER].val), qv(l, seen[TK_RECOVER_OF].val), at->path);
    return r;
}

static int set_alerting(struct loader *l, const struct key *k, const struct at *at, void *obj)
{
    struct conf_alerting *a = &l->conf->alerting;
    struct seen seen[ARRAY_SIZE(alerting_keys)] = { 0 };
    char b[32];
    int r;

    r = want_mapping(l, at);
    if (r <= 0)
        return r;
    r = walk(l, at->val, &alerting_tab, a, at->path, 0, seen);
    if (seen[ALK_RETRY_MIN].ok && (seen[ALK_RETRY_MAX].ok || !seen[ALK_RETRY_MAX].key) &&
        a->retry_min_ms > a->retry_max_ms)
        r = diag(l, seen[ALK_RETRY_MIN].val, "retry_min '%s' exceeds retry_max '%s' (%s.retry_min)",
                 qv(l, seen[ALK_RETRY_MIN].val),
                 qdur(l, seen[ALK_RETRY_MAX].val, a->retry_max_ms, b, sizeof(b)), at->path);
    return r;
}

static int set_flapping(struct loader *l, const struct key *k, const struct at *at, void *obj)
{
    struct seen seen[ARRAY_SIZE(flapping_keys)] = { 0 };
    int r;

    r = want_mapping(l, at);
    if (r <= 0)
        return r;
    return walk(l, at->val, &flapping_tab, obj, at->path, 0, seen);
}

/* receivers, route, escalation_policies and maintenance: kept for after the
 * monitors, which they refer to, are loaded. */
static int set_section(struct loader *l, const struct key *k, const struct at *at, void *obj)
{
    static const struct {
        const char *key, *what;
        size_t off;
    } sections[] = {
        { "receivers", "receivers", offsetof(struct loader, receivers_n) },
        { "route", NULL, offsetof(struct loader, route_n) },
        { "escalation_policies", "escalation policies", offsetof(struct loader, policies_n) },
        { "maintenance", "maintenance windows", offsetof(struct loader, windows_n) },
    };

    for (size_t i = 0; i < ARRAY_SIZE(sections); i++) {
        if (strcmp(k->name, sections[i].key) != 0)
            continue;
        if (is_null(at->val))
            return 0;
        if (!sections[i].what && at->val->type != YAML_MAPPING_NODE)
            return diag(l, at->val, "expected a mapping, got %s (%s)", describe(l, at->val),
                        at->path);
        if (sections[i].what && at->val->type != YAML_SEQUENCE_NODE)
            return diag(l, at->val, "expected a sequence of %s, got %s (%s)", sections[i].what,
                        describe(l, at->val), at->path);
        *(const yaml_node_t **)(void *)((char *)l + sections[i].off) = at->val;
        return 0;
    }
    return diag(l, at->key, "internal error: no section '%s'", k->name);
}

/* Reports each key of tab marked required that the mapping n (at path) did
 * not set. */
static int check_required(struct loader *l, const yaml_node_t *n, const struct keytab *tab,
                          const struct seen *seen, const char *path)
{
    int r = 0;

    for (size_t i = 0; i < tab->n; i++)
        if (tab->v[i].required && !seen[i].key)
            r = diag(l, n, "missing required key '%s' (%s)", tab->v[i].name, path);
    return r;
}

/* A receiver's channel key (webhook:, slack:, ...); k->min is the kind. */
static int set_channel(struct loader *l, const struct key *k, const struct at *at, void *obj)
{
    struct conf_receiver *rc = obj;
    enum conf_receiver_kind kind = (enum conf_receiver_kind)k->min;
    const struct keytab *tab = &channel_tabs[kind];
    struct seen seen[CHANNEL_MAX_KEYS] = { 0 };
    const char *def = NULL;
    int r;

    r = want_mapping(l, at);
    if (r < 0)
        return r;
    if (r == 0)
        return diag(l, at->key, "key '%s' has no value (%s)", k->name, at->path);
    rc->kind = kind;
    r = walk(l, at->val, tab, rc, at->path, 0, seen);
    if (check_required(l, at->val, tab, seen, at->path) < 0)
        r = -EINVAL;
    if (kind == CONF_RECV_TELEGRAM)
        def = "https://api.telegram.org";
    else if (kind == CONF_RECV_PAGERDUTY)
        def = "https://events.pagerduty.com/v2/enqueue";
    else if (kind == CONF_RECV_TWILIO)
        def = "https://api.twilio.com";
    if (def && !rc->url)
        rc->url = xstrdup(def);
    return r;
}

static int set_format(struct loader *l, const struct key *k, const struct at *at, void *obj)
{
    _cleanup_free_ char *s = NULL;
    int r;

    r = scalar(l, at, "a string", &s);
    if (r < 0)
        return r;
    if (strcmp(s, "opsd") != 0 && strcmp(s, "alertmanager") != 0)
        return diag(l, at->val, "format '%s' is not supported (expected opsd or alertmanager)",
                    qv(l, at->val));
    *FIELD(bool, obj, k) = s[0] == 'a';
    return 0;
}

/* email.smtp: becomes the receiver's url ("smtp://host:port", or smtps://
 * with tls: true) and its smtp_* fields. */
static int set_smtp(struct loader *l, const struct key *k, const struct at *at, void *obj)
{
    struct conf_receiver *rc = obj;
    struct smtp_settings st = { .port = 25, .starttls = true };
    struct seen seen[ARRAY_SIZE(smtp_keys)] = { 0 };
    int r;

    r = want_mapping(l, at);
    if (r < 0)
        return r;
    if (r == 0)
        return diag(l, at->key, "key 'smtp' has no value (%s; it needs host)", at->path);
    r = walk(l, at->val, &smtp_tab, &st, at->path, 0, seen);
    if (check_required(l, at->val, &smtp_tab, seen, at->path) < 0)
        r = -EINVAL;
    if (seen[SMK_TLS].ok && seen[SMK_STARTTLS].ok && st.tls && st.starttls)
        r = diag(l, seen[SMK_STARTTLS].key,
                 "starttls and tls are both true (%s; tls is TLS from the first byte, usually on "
                 "port 465; starttls upgrades a plain connection, usually on 25 or 587)",
                 at->path);
    if (seen[SMK_PASSWORD].key && !seen[SMK_USERNAME].key)
        r = diag(l, seen[SMK_PASSWORD].key, "password without username (%s)", at->path);
    else if (seen[SMK_USERNAME].key && !seen[SMK_PASSWORD].key)
        r = diag(l, seen[SMK_USERNAME].key, "username without password (%s)", at->path);
    if (st.host) {
        bool v6 = strchr(st.host, ':') != NULL;

        free(rc->url);
        rc->url = xasprintf("%s://%s%s%s:%u", st.tls ? "smtps" : "smtp", v6 ? "[" : "", st.host,
                            v6 ? "]" : "", st.port);
    }
    rc->smtp_starttls = st.starttls && !st.tls;
    free(rc->smtp_username);
    rc->smtp_username = st.username;
    free(rc->smtp_password);
    rc->smtp_password = st.password;
    free(st.host);
    return r;
}

static int set_group_by(struct loader *l, const struct key *k, const struct at *at, void *obj)
{
    struct conf_route *rt = obj;
    struct key lk = *k;
    int r;

    lk.off = offsetof(struct conf_route, group_by);
    r = set_strlist(l, &lk, at, obj);
    if (r < 0)
        return r;
    rt->has_group_by = true;
    for (size_t i = 0; i < rt->n_group_by; i++) {
        const yaml_node_t *item = node(l, at->val->data.sequence.items.start[i]);

        if (strcmp(rt->group_by[i], "...") == 0) {
            if (rt->n_group_by != 1)
                r = diag(l, item,
                         "'...' in group_by must stand alone (%s[%zu]; it groups by every label)",
                         at->path, i);
        } else if (!label_key_ok(rt->group_by[i])) {
            r = diag(l, item,
                     "group_by '%s' is not a label name (%s[%zu]; letters, digits and '_', not "
                     "starting with a digit, or [\"...\"] for every label)",
                     qv(l, item), at->path, i);
        }
    }
    return r;
}

/* Compiles re as the router will (anchored: ^(re)$) and on its own, so that
 * a regex balanced only by the anchoring's parentheses is refused too.
 * Returns 0, or -EINVAL with regerror()'s reason in why. */
static int regex_check(const char *re, char *why, size_t size)
{
    _cleanup_free_ char *anchored = xasprintf("^(%s)$", re);
    const char *tries[] = { re, anchored };

    for (size_t i = 0; i < ARRAY_SIZE(tries); i++) {
        regex_t rx;
        int rc = regcomp(&rx, tries[i], REG_EXTENDED | REG_NOSUB);

        if (rc != 0) {
            regerror(rc, &rx, why, size);
            return -EINVAL;
        }
        regfree(&rx);
    }
    return 0;
}

/* Adds a matcher to rt; steals value. n is where it was written. */
static int add_matcher(struct loader *l, struct conf_route *rt, const char *name,
                       enum conf_match_op op, char *value, const yaml_node_t *n)
{
    if (rt->n_matchers == OPSD_MAX_MATCHERS) {
        free(value);
        return diag(l, n, "too many matchers on one route (the limit is %d)", OPSD_MAX_MATCHERS);
    }
    rt->matchers = xrealloc(rt->matchers, (rt->n_matchers + 1) * sizeof(*rt->matchers));
    rt->matchers[rt->n_matchers++] = (struct conf_matcher){
        .name = xstrdup(name),
        .op = op,
        .value = value,
        .line = (unsigned)n->start_mark.line + 1,
        .col = (unsigned)n->start_mark.column + 1,
    };
    return 0;
}

/* match: {label: value} (k->min CONF_MATCH_EQ) and match_re: {label: regex}. */
static int set_match(struct loader *l, const struct key *k, const struct at *at, void *obj)
{
    enum conf_match_op op = (enum conf_match_op)k->min;
    const yaml_node_t *v = at->val;
    int r;

    r = want_mapping(l, at);
    if (r <= 0)
        return r;
    r = 0;
    for (const yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *kn = node(l, p->key), *vn = node(l, p->value);
        char path[256], why[256], *val = NULL;
        const char *name;
        struct at vat;

        if (kn->type != YAML_SCALAR_NODE) {
            r = diag(l, kn, "expected a label name, got %s (%s)", describe(l, kn), at->path);
            continue;
        }
        name = (const char *)kn->data.scalar.value;
        if (!label_key_ok(name)) {
            r = diag(l, kn,
                     "label name '%s' is not valid (%s; letters, digits and '_', not starting "
                     "with a digit)",
                     q(l, name), at->path);
            continue;
        }
        snprintf(path, sizeof(path), "%s.%s", at->path, name);
        vat = (struct at){ .key = kn, .val = vn, .path = path };
        if (scalar(l, &vat, "a string", &val) < 0) {
            r = -EINVAL;
            continue;
        }
        if (op == CONF_MATCH_RE && regex_check(val, why, sizeof(why)) < 0) {
            r = diag(l, vn, "invalid regex '%s' for label '%s': %s (%s)", qv(l, vn), q(l, name),
                     why, path);
            free(val);
            continue;
        }
        if (add_matcher(l, obj, name, op, val, kn) < 0)
            r = -EINVAL;
    }
    return r;
}

static bool is_label_start(char c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Parses "name=value", "name!=value", "name=~re" or "name!~re" (spaces
 * around the operator allowed; the value may be double-quoted, with \",
 * \\ and \n). On success sets *ret_name and *ret_value (caller frees) and
 * *ret_op; on failure returns -EINVAL with why set and the rest untouched. */
static int parse_matcher(const char *s, char **ret_name, enum conf_match_op *ret_op,
                         char **ret_value, const char **why)
{
    const char *p = s + strspn(s, " \t"), *name = p, *end;
    struct sbuf sb = SBUF_INIT;
    enum conf_match_op op;
    size_t name_len;

    if (!is_label_start(*p)) {
        *why = "it does not start with a label name";
        return -EINVAL;
    }
    while (is_label_start(*p) || (*p >= '0' && *p <= '9'))
        p++;
    name_len = (size_t)(p - name);
    p += strspn(p, " \t");
    if (p[0] == '=' && p[1] == '~')
        op = CONF_MATCH_RE, p += 2;
    else if (p[0] == '!' && p[1] == '~')
        op = CONF_MATCH_NRE, p += 2;
    else if (p[0] == '!' && p[1] == '=')
        op = CONF_MATCH_NE, p += 2;
    else if (p[0] == '=')
        op = CONF_MATCH_EQ, p += 1;
    else {
        *why = "no operator after the label name";
        return -EINVAL;
    }
    p += strspn(p, " \t");
    if (*p != '"') {
        end = p + strlen(p);
        while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if (memchr(p, '"', (size_t)(end - p))) {
            *why = "a '\"' inside an unquoted value";
            return -EINVAL;
        }
        sbuf_add(&sb, p, (size_t)(end - p));
    } else {
        for (p++;; p++) {
            if (!*p) {
                *why = "the quoted value has no closing '\"'";
                goto fail;
            }
            if (*p == '"')
                break;
            if (*p == '\\') {
                p++;
                if (*p == '"' || *p == '\\') {
                    sbuf_putc(&sb, *p);
                } else if (*p == 'n') {
                    sbuf_putc(&sb, '\n');
                } else {
                    *why = "an unknown escape in the quoted value (use \\\", \\\\ or \\n)";
                    goto fail;
                }
                continue;
            }
            sbuf_putc(&sb, *p);
        }
        p++;
        if (p[strspn(p, " \t")]) {
            *why = "text after the quoted value";
            goto fail;
        }
    }
    *ret_name = xstrndup(name, name_len);
    *ret_op = op;
    *ret_value = sbuf_detach(&sb, NULL);
    return 0;
fail:
    sbuf_release(&sb);
    return -EINVAL;
}

/* matchers: ["name=value", "name!=value", "name=~re", "name!~re"]. */
static int set_matchers(struct loader *l, const struct key *k, const struct at *at, void *obj)
{
    const yaml_node_t *v = at->val;
    int r = 0;

    if (is_null(v))
        return 0;
    if (v->type != YAML_SEQUENCE_NODE)
        return diag(l, v, "expected a sequence of matchers, got %s (%s; e.g. [\"team=core\"])",
                    describe(l, v), at->path);
    for (size_t i = 0; i < seq_len(v); i++) {
        const yaml_node_t *item = node(l, v->data.sequence.items.start[i]);
        _cleanup_free_ char *s = NULL, *name = NULL;
        char path[256], why_re[256], *value = NULL;
        const char *why = NULL;
        enum conf_match_op op;
        struct at iat;

        snprintf(path, sizeof(path), "%s[%zu]", at->path, i);
        iat = (struct at){ .val = item, .path = path };
        if (scalar(l, &iat, "a matcher such as \"team=core\"", &s) < 0) {
            r = -EINVAL;
            continue;
        }
        if (parse_matcher(s, &name, &op, &value, &why) < 0) {
            r = diag(l, item,
                     "matcher '%s' is not valid: %s (%s; write name=value, name!=value, "
                     "name=~regex or name!~regex)",
                     qv(l, item), why, path);
            continue;
        }
        if ((op == CONF_MATCH_RE || op == CONF_MATCH_NRE) &&
            regex_check(value, why_re, sizeof(why_re)) < 0) {
            r = diag(l, item, "invalid regex in matcher '%s': %s (%s)", qv(l, item), why_re, path);
            free(value);
            continue;
        }
        if (add_matcher(l, obj, name, op, value, item) < 0)
            r = -EINVAL;
    }
    return r;
}

static void load_route(struct loader *l, struct conf_route *rt, const yaml_node_t *n,
                       const char *path, unsigned depth);

/* routes: the children of a route, each loaded as a route one level down. */
static int set_routes(struct loader *l, const struct key *k, const struct at *at, void *obj)
{
    struct conf_route *rt = obj;
    const yaml_node_t *v = at->val;
    unsigned depth = l->route_depth;
    size_t n;

    if (is_null(v))
        return 0;
    if (v->type != YAML_SEQUENCE_NODE)
        return diag(l, v, "expected a sequence of routes, got %s (%s)", describe(l, v), at->path);
    if (depth + 1 > OPSD_MAX_ROUTE_DEPTH)
        return diag(l, v, "routes nested more than %d levels deep (%s)", OPSD_MAX_ROUTE_DEPTH,
                    at->path);
    n = seq_len(v);
    if (l->n_routes + n > OPSD_MAX_ROUTES)
        return diag(l, v, "too many routes (%s; the limit is %d in the whole tree)", at->path,
                    OPSD_MAX_ROUTES);
    l->n_routes += n;
    rt->routes = xcalloc(n ? n : 1, sizeof(*rt->routes));
    rt->n_routes = n;
    for (size_t i = 0; i < n; i++) {
        char path[256];

        snprintf(path, sizeof(path), "%s[%zu]", at->path, i);
        load_route(l, &rt->routes[i], node(l, v->data.sequence.items.start[i]), path, depth + 1);
    }
    l->route_depth = depth;
    return 0;
}

typedef const yaml_node_t *(*name_node_fn)(const struct loader *l, size_t i);

/* The hint for a name that names nothing among n (name_at gives each one's
 * name node) and builtin (a name always there, or NULL): "did you mean
 * 'x'?", else up to five of the names there are, else none. Names are shown
 * as written. */
static void ref_hint(struct loader *l, const char *name, size_t n, name_node_fn name_at,
                     const char *builtin, const char *none, struct sbuf *sb)
{
    const char *best = NULL, *listed[5];
    unsigned best_d = 99;
    size_t shown = 0;

    if (builtin) {
        best = builtin;
        best_d = edit_distance(name, builtin);
    }

    for (size_t i = 0; i < n && i < 10000; i++) {
        const yaml_node_t *nn = name_at(l, i);
        unsigned d;

        if (!nn)
            continue;
        d = edit_distance(name, (const char *)nn->data.scalar.value);
        if (d < best_d) {
            best_d = d;
            best = (const char *)nn->data.scalar.value;
        }
    }
    if (best && best_d <= 2 && best_d * 3 <= strlen(best)) {
        sbuf_addf(sb, "did you mean '%s'?", q(l, best));
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *nn = name_at(l, i);
        const char *s = nn ? (const char *)nn->data.scalar.value : NULL;
        bool dup = false;

        for (size_t j = 0; s && j < shown && !dup; j++)
            dup = strcmp(listed[j], s) == 0;
        if (!s || dup)
            continue;
        if (shown == ARRAY_SIZE(listed)) {
            sbuf_puts(sb, ", ...");
            break;
        }
        sbuf_addf(sb, "%s'%s'", shown ? ", " : "defined: ", q(l, s));
        listed[shown++] = s;
    }
    if (shown && builtin)
        sbuf_addf(sb, " and the built-in '%s'", builtin);
    else if (!shown)
        sbuf_puts(sb, none);
}

static const yaml_node_t *receiver_name_at(const struct loader *l, size_t i)
{
    return l->receiver_names[i];
}

static const yaml_node_t *policy_name_at(const struct loader *l, size_t i)
{
    return l->policy_names[i];
}

static const yaml_node_t *monitor_name_at(const struct loader *l, size_t i)
{
    return l->mon_nodes[i].name;
}

/* Reports the receiver named at n (its value, already expanded as s) when
 * there is none. */
static int check_receiver_ref(struct loader *l, const yaml_node_t *n, const char *s,
                              const char *path)
{
    struct sbuf hint = SBUF_INIT;
    int r;

    if (conf_find_receiver(l->conf, s))
        return 0;
    ref_hint(l, s, l->conf->n_receivers, receiver_name_at, NULL, "no receivers are defined", &hint);
    r = diag(l, n, "unknown receiver '%s' (%s; %s)", qv(l, n), path, hint.buf);
    sbuf_release(&hint);
    return r;
}

/* steps: of an escalation policy. */
static int set_steps(struct loader *l, const struct key *k, const struct at *at, void *obj)
{
    struct conf_policy *p = obj;
    const yaml_node_t *v = at->val;
    size_t n;
    int r = 0;

    if (is_null(v))
        return diag(l, at->key, "key 'steps' has no value (%s; list at least one step)", at->path);
    if (v->type != YAML_SEQUENCE_NODE)
        return diag(l, v, "expected a sequence of steps, got %s (%s)", describe(l, v), at->path);
    n = seq_len(v);
    if (!n)
        return diag(l, v, "steps is empty (%s; a policy needs at least one step)", at->path);
    if (n > MAX_POLICY_STEPS)
        return diag(l, node(l, v->data.sequence.items.start[MAX_POLICY_STEPS]),
                    "too many steps (%s; the limit is %d)", at->path, MAX_POLICY_STEPS);
    p->steps = xcalloc(n, sizeof(*p->steps));
    p->n_steps = n;
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *sn = node(l, v->data.sequence.items.start[i]);
        struct seen seen[ARRAY_SIZE(step_keys)] = { 0 };
        struct conf_esc_step *st = &p->steps[i];
        char path[256];

        snprintf(path, sizeof(path), "%s[%zu]", at->path, i);
        st->wait_ms = DEF_STEP_WAIT_MS;
        st->line = (unsigned)sn->start_mark.line + 1;
        if (sn->type != YAML_MAPPING_NODE) {
            r = diag(l, sn, "expected a mapping, got %s (%s; e.g. {notify: [oncall], wait: 5m})",
                     describe(l, sn), path);
            continue;
        }
        if (walk(l, sn, &step_tab, st, path, 0, seen) < 0 ||
            check_required(l, sn, &step_tab, seen, path) < 0)
            r = -EINVAL;
        for (size_t j = 0; j < st->n_notify; j++) {
            const yaml_node_t *item = item_node(l, seen[SK_NOTIFY].val, j);
            char npath[300], ipath[320];

            snprintf(npath, sizeof(npath), "%s.notify", path);
            item_path(seen[SK_NOTIFY].val, npath, j, ipath, sizeof(ipath));
            if (check_receiver_ref(l, item, st->notify[j], ipath) < 0)
                r = -EINVAL;
        }
    }
    return r;
}

static bool leap_year(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Reads exactly n digits at *p. */
static bool digits(const char **p, unsigned n, unsigned *ret)
{
    unsigned v = 0;

    for (unsigned i = 0; i < n; i++) {
        if ((*p)[i] < '0' || (*p)[i] > '9')
            return false;
        v = v * 10 + (unsigned)((*p)[i] - '0');
    }
    *p += n;
    *ret = v;
    return true;
}

/* Parses an RFC 3339 date-time ("2026-12-05T02:00:00Z", "...T03:00:00+01:00",
 * an optional fraction of a second, kept to the millisecond) into ms since
 * the epoch. -EINVAL for anything else (no bare dates, no missing offset,
 * no 25:00 or February 30), -ERANGE before 1970. *ret_ms is untouched on
 * failure. */
static int parse_rfc3339(const char *s, uint64_t *ret_ms)
{
    static const unsigned mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    unsigned y, mo, d, h, mi, sec, oh = 0, om = 0, ms = 0;
    const char *p = s;
    int64_t t, sign = 0;

    if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
        !digits(&p, 2, &d) || (*p != 'T' && *p != 't'))
        return -EINVAL;
    p++;
    if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi) || *p++ != ':' ||
        !digits(&p, 2, &sec))
        return -EINVAL;
    if (*p == '.') {
        unsigned n = 0;

        for (p++; *p >= '0' && *p <= '9'; p++, n++)
            if (n < 3)
                ms = ms * 10 + (unsigned)(*p - '0');
        if (!n)
            return -EINVAL;
        for (; n < 3; n++)
            ms *= 10;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p++ == '+' ? 1 : -1;
        if (!digits(&p, 2, &oh) || *p++ != ':' || !digits(&p, 2, &om) || oh > 23 || om > 59)
            return -EINVAL;
    } else {
        return -EINVAL;
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap_year(y)) ||
        h > 23 || mi > 59 || sec > 59)
        return -EINVAL;
    t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
        sign * (int64_t)(oh * 3600 + om * 60);
    if (t < 0)
        return -ERANGE;
    *ret_ms = (uint64_t)t * 1000 + ms;
    return 0;
}

static int set_time(struct loader *l, const struct key *k, const struct at *at, void *obj)
{
    _cleanup_free_ char *s = NULL;
    uint64_t ms;
    int r;

    r = scalar(l, at, "a time", &s);
    if (r < 0)
        return r;
    r = parse_rfc3339(s, &ms);
    if (r == -ERANGE)
        return diag(l, at->val, "%s '%s' is before 1970 (%s)", k->name, qv(l, at->val), at->path);
    if (r < 0)
        return diag(l, at->val,
                    "%s '%s' is not an RFC 3339 time (%s; e.g. 2026-12-05T02:00:00Z or "
                    "2026-12-05T03:00:00+01:00)",
                    k->name, qv(l, at->val), at->path);
    *FIELD(uint64_t, obj, k) = ms;
    return 0;
}

/* ---- monitors ------------------------------------------------------------------- */

/* The type a monitor mapping declares, looked up before the walk so that
 * keys can be checked against it wherever they stand; 0 if unclear. */
static enum conf_monitor_type peek_type(struct loader *l, const yaml_node_t *m)
{
    for (const yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *kn = node(l, p->key), *vn = node(l, p->value);
        struct at at = { .key = kn, .val = vn, .path = "" };
        _cleanup_free_ char *s = NULL;

        if (kn->type != YAML_SCALAR_NODE ||
            strcmp((const char *)kn->data.scalar.value, "type") != 0)
            continue;
        if (vn->type != YAML_SCALAR_NODE ||
            expand_env(NULL, &at, (char *)vn->data.scalar.value, &s) < 0)
            return 0;
        return type_lookup(s);
    }
    return 0;
}

static void load_monitor(struct loader *l, size_t idx, const yaml_node_t *mn)
{
    struct conf_monitor *m = &l->conf->monitors[idx];
    struct seen seen[MK__N] = { 0 };
    const yaml_node_t *interval_n, *timeout_n; /* where the values came from; NULL: built in */
    char path[64], b[32];

    snprintf(path, sizeof(path), "monitors[%zu]", idx);
    m->line = (unsigned)mn->start_mark.line + 1;
    if (mn->type != YAML_MAPPING_NODE) {
        diag(l, mn, "expected a mapping, got %s (%s)", describe(l, mn), path);
        return;
    }
    m->interval_ms = l->defaults.interval_ms;
    m->confirm = l->defaults.confirm;
    m->public_ = true;
    m->follow_redirects = true;
    m->max_redirects = DEF_MAX_REDIRECTS;
    m->tls_verify = true;
    m->grace_ms = DEF_GRACE_MS;
    m->max_size = UINT64_MAX;
    m->max_shrink_pct = -1;
    m->window_ms = DEF_LOG_WINDOW_MS;
    m->warn_matches = UINT_MAX;
    m->min_count = 1;
    m->max_count = UINT_MAX;
    m->record = CONF_DNS_A;
    m->action_max_runs = 3;
    m->action_per_ms = MS_HOUR;
    m->action_timeout_ms = MS_MINUTE;
    m->warn_days = 21;
    m->critical_days = 7;
    m->count = 3;
    m->max_loss_pct = 0;
    m->restart_warns = true;
    m->severity = CONF_SEV_HIGH;
    {
        struct conf_limit *lim = (struct conf_limit *)&m->limits;

        for (size_t i = 0; i < sizeof(m->limits) / sizeof(*lim); i++)
            lim[i] = (struct conf_limit){ NAN, NAN };
    }
    l->latency = NULL;

    walk(l, mn, &monitor_tab, m, path, peek_type(l, mn), seen);

    for (size_t i = 0; i < MK__N; i++) {
        const struct key *k = &monitor_keys[i];

        if (seen[i].key)
            continue;
        if (k->required == ANY)
            diag(l, mn, "missing required key '%s' (%s)", k->name, path);
        else if (m->type && (k->required & BIT(m->type)))
            diag(l, mn, "missing required key '%s' for %s %s monitor (%s)", k->name,
                 types[m->type].article, types[m->type].name, path);
    }

    /* A timeout set here must fit the interval; an inherited one is cut to it. */
    interval_n = seen[MK_INTERVAL].ok ? seen[MK_INTERVAL].val : l->defaults_interval;
    timeout_n = seen[MK_TIMEOUT].val;
    if (!seen[MK_TIMEOUT].key) {
        m->timeout_ms = MIN(l->defaults.timeout_ms, m->interval_ms);
        timeout_n = l->defaults.timeout_ms <= m->interval_ms ? l->defaults_timeout : interval_n;
    } else if (seen[MK_TIMEOUT].ok && (seen[MK_INTERVAL].ok || !seen[MK_INTERVAL].key) &&
               m->timeout_ms > m->interval_ms) {
        diag(l, seen[MK_TIMEOUT].val, "timeout '%s' exceeds the interval '%s' (%s.timeout)",
             qv(l, seen[MK_TIMEOUT].val), qdur(l, interval_n, m->interval_ms, b, sizeof(b)), path);
    }
    if (l->latency && (seen[MK_TIMEOUT].ok || !seen[MK_TIMEOUT].key) &&
        m->max_latency_ms > m->timeout_ms)
        diag(l, l->latency,
             "max_latency '%s' exceeds the timeout '%s' (%s.expect.max_latency; it could never "
             "be met)",
             qv(l, l->latency), qdur(l, timeout_n, m->timeout_ms, b, sizeof(b)), path);
    if (m->type == CONF_MON_HTTP && m->body && m->method &&
        (strcmp(m->method, "GET") == 0 || strcmp(m->method, "HEAD") == 0))
        diag(l, seen[MK_BODY].key,
             "body with method %s (%s; a request body needs POST, PUT, "
             "PATCH, DELETE or OPTIONS)",
             m->method, path);
    if (m->type == CONF_MON_HTTP && !m->method)
        m->method = xstrdup(m->body ? "POST" : DEF_METHOD);
    if (m->type == CONF_MON_TCP && m->expect_contains && strlen(m->expect_contains) > 1024)
        diag(l, mn,
             "expect.contains is longer than 1024 bytes (%s; it is looked for in the first "
             "4 KiB the service sends)",
             path);
    if (m->type == CONF_MON_DNS && m->expect_equals && m->n_expect_equals == 0)
        diag(l, mn, "expect.equals is empty (%s; it could never match: list the answers)", path);
    if (m->type == CONF_MON_TLS && !seen[MK_PORT].key)
        m->port = m->starttls ? 587 : 443; /* SMTP submission; HTTPS */
    if (seen[MK_WARN_DAYS].ok && seen[MK_CRITICAL_DAYS].ok && m->warn_days < m->critical_days)
        diag(l, seen[MK_WARN_DAYS].val, "warn_days '%s' is below critical_days '%s' (%s)",
             qv(l, seen[MK_WARN_DAYS].val), qv(l, seen[MK_CRITICAL_DAYS].val), path);
    if (seen[MK_IP_VERSION].ok && m->ip_version == 5)
        diag(l, seen[MK_IP_VERSION].val, "ip_version must be 4 or 6 (%s.ip_version)", path);
    if (m->type == CONF_MON_ICMP && seen[MK_MAX_RTT].ok && m->max_rtt_ms > m->timeout_ms &&
        (seen[MK_TIMEOUT].ok || !seen[MK_TIMEOUT].key))
        diag(l, seen[MK_MAX_RTT].val, "max_rtt '%s' exceeds the timeout (%s.max_rtt)",
             qv(l, seen[MK_MAX_RTT].val), path);
    if (m->type == CONF_MON_HEARTBEAT && !seen[MK_PERIOD].key && !seen[MK_SCHEDULE].key)
        diag(l, mn,
             "a heartbeat monitor needs period or schedule (%s; e.g. period: 24h, or schedule: "
             "\"0 3 * * *\")",
             path);
    if (seen[MK_PERIOD].key && seen[MK_SCHEDULE].key)
        diag(l, seen[MK_SCHEDULE].key,
             "schedule and period are both set (%s; a heartbeat is expected on a cron schedule "
             "or every period, not both)",
             path);
    if (seen[MK_TZ].key && !seen[MK_SCHEDULE].key)
        diag(l, seen[MK_TZ].key, "tz without a schedule (%s; tz is the schedule's time zone)",
             path);
    if (seen[MK_MIN_RUNTIME].ok && seen[MK_MAX_RUNTIME].ok && m->min_runtime_ms > m->max_runtime_ms)
        diag(l, seen[MK_MIN_RUNTIME].val, "min_runtime '%s' exceeds max_runtime '%s' (%s)",
             qv(l, seen[MK_MIN_RUNTIME].val), qv(l, seen[MK_MAX_RUNTIME].val), path);
    if (m->type == CONF_MON_HEARTBEAT && seen[MK_SCHEDULE].ok && !m->tz)
        m->tz = xstrdup("UTC");
    if (m->type == CONF_MON_PROCESS && !seen[MK_PIDFILE].key && !seen[MK_PROCESS_NAME].key &&
        !seen[MK_MATCH].key)
        diag(l, mn,
             "a process monitor needs pidfile, process_name or match (%s; which process is "
             "it watching?)",
             path);
    if (seen[MK_MIN_COUNT].ok && seen[MK_MAX_COUNT].ok && m->min_count > m->max_count)
        diag(l, seen[MK_MAX_COUNT].val, "max_count '%s' is below min_count '%s' (%s.max_count)",
             qv(l, seen[MK_MAX_COUNT].val), qv(l, seen[MK_MIN_COUNT].val), path);
    if (seen[MK_WARN].ok && seen[MK_CRITICAL].ok) {
        const struct conf_limit *lim = (const struct conf_limit *)&m->limits;

        for (size_t i = 0; i < ARRAY_SIZE(limit_keys); i++)
            if (lim[i].warn > lim[i].crit) /* false when either is NAN */
                diag(l, seen[MK_WARN].val,
                     "warn.%s is above critical.%s (%s; the warning level must come first)",
                     limit_keys[i].name, limit_keys[i].name, path);
    }
    if (seen[MK_WINDOW].key && seen[MK_WINDOW_LINES].key)
        diag(l, seen[MK_WINDOW_LINES].key,
             "window_lines and window are both set (%s; a log monitor counts over a time "
             "window or over the last N lines, not both)",
             path);
    else if (seen[MK_WINDOW_LINES].ok)
        m->window_ms = 0;
    if (seen[MK_WARN_MATCHES].ok && seen[MK_MAX_MATCHES].ok && m->warn_matches >= m->max_matches)
        diag(l, seen[MK_WARN_MATCHES].val,
             "warn_matches '%s' must be below max_matches '%s' (%s.warn_matches)",
             qv(l, seen[MK_WARN_MATCHES].val), qv(l, seen[MK_MAX_MATCHES].val), path);
    else if (seen[MK_WARN_MATCHES].ok && !seen[MK_MAX_MATCHES].key &&
             m->warn_matches >= m->max_matches)
        diag(l, seen[MK_WARN_MATCHES].val,
             "warn_matches '%s' must be below max_matches (0 by default: set max_matches) "
             "(%s.warn_matches)",
             qv(l, seen[MK_WARN_MATCHES].val), path);
    if (seen[MK_MIN_SIZE].ok && seen[MK_MAX_SIZE].ok && m->min_size > m->max_size)
        diag(l, seen[MK_MAX_SIZE].val, "max_size '%s' is below min_size '%s' (%s.max_size)",
             qv(l, seen[MK_MAX_SIZE].val), qv(l, seen[MK_MIN_SIZE].val), path);

    if (seen[MK_TOLERANCE].key && seen[MK_CONFIRM].key)
        diag(l, seen[MK_TOLERANCE].key,
             "tolerance and confirm are both set (%s; tolerance replaces confirm: keep one)", path);

    if (seen[MK_NAME].ok)
        l->mon_nodes[idx].name = seen[MK_NAME].val;
    if (seen[MK_TOKEN].ok)
        l->mon_nodes[idx].token = seen[MK_TOKEN].val;
    if (seen[MK_DEPENDS_ON].ok)
        l->mon_nodes[idx].depends_on = seen[MK_DEPENDS_ON].val;
}

static void load_monitors(struct loader *l)
{
    const yaml_node_t *seq = l->monitors;
    size_t n;

    if (!seq)
        return;
    n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
    if (n > OPSD_MAX_MONITORS) {
        diag(l, node(l, seq->data.sequence.items.start[OPSD_MAX_MONITORS]),
             "too many monitors (the limit is %d)", OPSD_MAX_MONITORS);
        n = OPSD_MAX_MONITORS;
    }
    l->conf->monitors = xcalloc(n, sizeof(*l->conf->monitors));
    l->conf->n_monitors = n;
    l->mon_nodes = xcalloc(n, sizeof(*l->mon_nodes));
    for (size_t i = 0; i < n; i++)
        load_monitor(l, i, node(l, seq->data.sequence.items.start[i]));
}

/* ---- uniqueness and lookups ----------------------------------------------------- */

struct entry {
    const char *s;
    size_t i; /* index in conf->monitors */
};

struct conf_index {
    struct entry *by_name; /* every monitor, sorted by name */
    size_t n_names;
    struct entry *by_token; /* heartbeats, sorted by token */
    size_t n_tokens;
};

static int cmp_entry(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    int c = strcmp(x->s, y->s);

    return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* Sorts the monitors' names (or tokens) and reports every repeat at the later
 * monitor. Returns the sorted entries (caller frees) and their count. */
static struct entry *check_unique(struct loader *l, bool tokens, size_t *ret_n)
{
    struct conf *c = l->conf;
    struct entry *e = xcalloc(c->n_monitors, sizeof(*e));
    size_t n = 0, first = 0;

    for (size_t i = 0; i < c->n_monitors; i++) {
        const char *s = tokens ? c->monitors[i].token : c->monitors[i].name;
        if (s)
            e[n++] = (struct entry){ .s = s, .i = i };
    }
    qsort(e, n, sizeof(*e), cmp_entry);
    for (size_t j = 1; j < n; j++) {
        const struct mon_nodes *fn = &l->mon_nodes[e[first].i], *cur = &l->mon_nodes[e[j].i];
        const struct conf_monitor *fm = &c->monitors[e[first].i];

        if (strcmp(e[j].s, e[first].s) != 0) {
            first = j;
            continue;
        }
        /* Names are quoted as written: one may come from ${NAME}. */
        if (!tokens)
            diag(l, cur->name, "duplicate monitor name '%s' (first defined at line %u)",
                 qv(l, cur->name), (unsigned)fn->name->start_mark.line + 1);
        else if (fm->name)
            diag(l, cur->token,
                 "duplicate heartbeat token (already used by monitor '%s' at line %u)",
                 qv(l, fn->name), (unsigned)fn->token->start_mark.line + 1);
        else
            diag(l, cur->token, "duplicate heartbeat token (already used at line %u)",
                 (unsigned)fn->token->start_mark.line + 1);
    }
    *ret_n = n;
    return e;
}

static struct conf_index *check_uniques(struct loader *l)
{
    struct conf_index *x = xcalloc(1, sizeof(*x));

    x->by_name = check_unique(l, false, &x->n_names);
    x->by_token = check_unique(l, true, &x->n_tokens);
    return x;
}

static const struct conf_monitor *index_find(const struct conf *c, const struct entry *v, size_t n,
                                             const char *s)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strcmp(s, v[mid].s);

        if (r == 0)
            return &c->monitors[v[mid].i];
        if (r < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const struct conf_monitor *conf_find_monitor(const struct conf *c, const char *name)
{
    if (!c || !name)
        return NULL;
    if (c->index)
        return index_find(c, c->index->by_name, c->index->n_names, name);
    for (size_t i = 0; i < c->n_monitors; i++)
        if (c->monitors[i].name && strcmp(c->monitors[i].name, name) == 0)
            return &c->monitors[i];
    return NULL;
}

const struct conf_monitor *conf_find_heartbeat(const struct conf *c, const char *token)
{
    if (!c || !token)
        return NULL;
    if (c->index)
        return index_find(c, c->index->by_token, c->index->n_tokens, token);
    for (size_t i = 0; i < c->n_monitors; i++)
        if (c->monitors[i].type == CONF_MON_HEARTBEAT && c->monitors[i].token &&
            strcmp(c->monitors[i].token, token) == 0)
            return &c->monitors[i];
    return NULL;
}

/* ---- alerting: loading the sections --------------------------------------------- */

/* Reports every repeat among the names of n objects at the later one; name_at
 * gives object i's name (NULL: none valid) and node_at its name node. */
static void check_dup_names(struct loader *l, const char *what, size_t n,
                            const char *(*name_at)(const struct conf *c, size_t i),
                            name_node_fn node_at)
{
    struct entry *e = xcalloc(n ? n : 1, sizeof(*e));
    size_t m = 0, first = 0;

    for (size_t i = 0; i < n; i++)
        if (name_at(l->conf, i) && node_at(l, i))
            e[m++] = (struct entry){ .s = name_at(l->conf, i), .i = i };
    qsort(e, m, sizeof(*e), cmp_entry);
    for (size_t j = 1; j < m; j++) {
        if (strcmp(e[j].s, e[first].s) != 0) {
            first = j;
            continue;
        }
        diag(l, node_at(l, e[j].i), "duplicate %s name '%s' (first defined at line %u)", what,
             qv(l, node_at(l, e[j].i)), (unsigned)node_at(l, e[first].i)->start_mark.line + 1);
    }
    free(e);
}

static const char *receiver_name(const struct conf *c, size_t i)
{
    return c->receivers[i].name;
}

static const char *policy_name(const struct conf *c, size_t i)
{
    return c->policies[i].name;
}

static const char *window_name(const struct conf *c, size_t i)
{
    return c->maintenance[i].name;
}

/* The items of the sequence seq, at most max (the one past it is reported). */
static size_t capped_len(struct loader *l, const yaml_node_t *seq, size_t max, const char *what)
{
    size_t n = seq_len(seq);

    if (n > max) {
        diag(l, node(l, seq->data.sequence.items.start[max]), "too many %s (the limit is %zu)",
             what, max);
        n = max;
    }
    return n;
}

static void load_receiver(struct loader *l, size_t idx, const yaml_node_t *rn)
{
    struct conf_receiver *rc = &l->conf->receivers[idx];
    struct seen seen[RK__N] = { 0 };
    const yaml_node_t *chan = NULL;
    char path[64];

    snprintf(path, sizeof(path), "receivers[%zu]", idx);
    rc->line = (unsigned)rn->start_mark.line + 1;
    rc->timeout_ms = DEF_RECV_TIMEOUT_MS;
    rc->tls_verify = true;
    rc->smtp_starttls = true;
    if (rn->type != YAML_MAPPING_NODE) {
        diag(l, rn, "expected a mapping, got %s (%s)", describe(l, rn), path);
        return;
    }
    walk(l, rn, &receiver_tab, rc, path, 0, seen);
    check_required(l, rn, &receiver_tab, seen, path);
    for (size_t i = RK_WEBHOOK; i <= RK_EMAIL; i++) /* the first in the file */
        if (seen[i].key && (!chan || seen[i].key->start_mark.index < chan->start_mark.index))
            chan = seen[i].key;
    for (size_t i = RK_WEBHOOK; i <= RK_EMAIL; i++) {
        if (seen[i].key && seen[i].key != chan)
            diag(l, seen[i].key,
                 "receiver has a second channel '%s' beside '%s' (%s; one channel per receiver: "
                 "define another receiver)",
                 receiver_keys[i].name, (const char *)chan->data.scalar.value, path);
    }
    if (!chan)
        diag(l, rn,
             "receiver has no channel (%s; add one of webhook, slack, telegram, pagerduty, ntfy, "
             "twilio or email)",
             path);
    if (seen[RK_NAME].ok)
        l->receiver_names[idx] = seen[RK_NAME].val;
}

static void load_receivers(struct loader *l)
{
    struct conf *c = l->conf;
    size_t n;

    if (!l->receivers_n)
        return;
    n = capped_len(l, l->receivers_n, OPSD_MAX_RECEIVERS, "receivers");
    c->receivers = xcalloc(n ? n : 1, sizeof(*c->receivers));
    c->n_receivers = n;
    l->receiver_names = xcalloc(n ? n : 1, sizeof(const yaml_node_t *));
    for (size_t i = 0; i < n; i++)
        load_receiver(l, i, node(l, l->receivers_n->data.sequence.items.start[i]));
    check_dup_names(l, "receiver", n, receiver_name, receiver_name_at);
}

static void load_policies(struct loader *l)
{
    struct conf *c = l->conf;
    size_t n;

    if (!l->policies_n)
        return;
    n = capped_len(l, l->policies_n, OPSD_MAX_POLICIES, "escalation policies");
    c->policies = xcalloc(n ? n : 1, sizeof(*c->policies));
    c->n_policies = n;
    l->policy_names = xcalloc(n ? n : 1, sizeof(const yaml_node_t *));
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *pn = node(l, l->policies_n->data.sequence.items.start[i]);
        struct conf_policy *p = &c->policies[i];
        struct seen seen[ARRAY_SIZE(policy_keys)] = { 0 };
        char path[64];

        snprintf(path, sizeof(path), "escalation_policies[%zu]", i);
        p->line = (unsigned)pn->start_mark.line + 1;
        p->ack_timeout_ms = DEF_ACK_TIMEOUT_MS;
        if (pn->type != YAML_MAPPING_NODE) {
            diag(l, pn, "expected a mapping, got %s (%s)", describe(l, pn), path);
            continue;
        }
        walk(l, pn, &policy_tab, p, path, 0, seen);
        check_required(l, pn, &policy_tab, seen, path);
        if (seen[PK_NAME].ok)
            l->policy_names[i] = seen[PK_NAME].val;
    }
    check_dup_names(l, "escalation policy", n, policy_name, policy_name_at);
}

static void load_route(struct loader *l, struct conf_route *rt, const yaml_node_t *n,
                       const char *path, unsigned depth)
{
    static const unsigned matcher_keys[] = { RTK_MATCH, RTK_MATCH_RE, RTK_MATCHERS };
    struct seen seen[RTK__N] = { 0 };
    struct conf *c = l->conf;

    rt->line = (unsigned)n->start_mark.line + 1;
    rt->group_wait_ms = rt->group_interval_ms = rt->repeat_interval_ms = CONF_INHERIT;
    if (n->type != YAML_MAPPING_NODE) {
        diag(l, n, "expected a mapping, got %s (%s)", describe(l, n), path);
        return;
    }
    l->route_depth = depth;
    walk(l, n, &route_tab, rt, path, 0, seen);
    l->route_depth = depth;

    if (seen[RTK_GROUP_INTERVAL].ok && rt->group_interval_ms == 0)
        diag(l, seen[RTK_GROUP_INTERVAL].val,
             "group_interval must not be 0 (%s.group_interval; it is the least time between two "
             "notifications of a group)",
             path);
    if (seen[RTK_REPEAT_INTERVAL].ok && rt->repeat_interval_ms == 0)
        diag(l, seen[RTK_REPEAT_INTERVAL].val,
             "repeat_interval must not be 0 (%s.repeat_interval; it is how long before a group "
             "still firing is sent again)",
             path);
    if (seen[RTK_RECEIVER].ok) {
        char rpath[300];

        snprintf(rpath, sizeof(rpath), "%s.receiver", path);
        check_receiver_ref(l, seen[RTK_RECEIVER].val, rt->receiver, rpath);
    }
    if (seen[RTK_ESCALATION].ok && strcmp(rt->escalation, "default") != 0 &&
        !conf_find_policy(c, rt->escalation)) {
        struct sbuf hint = SBUF_INIT;

        ref_hint(l, rt->escalation, c->n_policies, policy_name_at, "default",
                 "only the built-in 'default' is defined", &hint);
        diag(l, seen[RTK_ESCALATION].val, "unknown escalation policy '%s' (%s.escalation; %s)",
             qv(l, seen[RTK_ESCALATION].val), path, hint.buf);
        sbuf_release(&hint);
    }
    if (depth > 0)
        return;
    if (!seen[RTK_RECEIVER].key)
        diag(l, n,
             "missing required key 'receiver' (%s; the root route takes every alert no route "
             "under it does)",
             path);
    for (size_t i = 0; i < ARRAY_SIZE(matcher_keys); i++)
        if (seen[matcher_keys[i]].key)
            diag(l, seen[matcher_keys[i]].key,
                 "the root route must not have matchers (%s.%s; it takes every alert: put "
                 "matchers on the routes under it)",
                 path, route_keys[matcher_keys[i]].name);
}

/* Reports the monitor named at n (expanded: s) when there is none. */
static int check_monitor_ref(struct loader *l, const yaml_node_t *n, const char *s,
                             const char *path)
{
    struct sbuf hint = SBUF_INIT;
    int r;

    if (conf_find_monitor(l->conf, s))
        return 0;
    ref_hint(l, s, l->conf->n_monitors, monitor_name_at, NULL, "no monitors are defined", &hint);
    r = diag(l, n, "unknown monitor '%s' (%s; %s)", qv(l, n), path, hint.buf);
    sbuf_release(&hint);
    return r;
}

static void load_window(struct loader *l, size_t idx, const yaml_node_t *wn,
                        const yaml_node_t **ret_name)
{
    struct conf_maintenance *w = &l->conf->maintenance[idx];
    struct seen seen[WK__N] = { 0 };
    char path[64];

    snprintf(path, sizeof(path), "maintenance[%zu]", idx);
    w->line = (unsigned)wn->start_mark.line + 1;
    if (wn->type != YAML_MAPPING_NODE) {
        diag(l, wn, "expected a mapping, got %s (%s)", describe(l, wn), path);
        return;
    }
    walk(l, wn, &window_tab, w, path, 0, seen);
    check_required(l, wn, &window_tab, seen, path);
    if (seen[WK_NAME].ok)
        *ret_name = seen[WK_NAME].val;
    if (!seen[WK_MONITORS].key && !seen[WK_LABELS].key)
        diag(l, wn,
             "a maintenance window needs monitors or labels (%s; which monitors does it cover?)",
             path);
    else if (!seen[WK_MONITORS].key && seen[WK_LABELS].ok && !w->n_labels)
        diag(l, seen[WK_LABELS].val,
             "labels is empty (%s.labels; it would cover every monitor: name the labels to "
             "match)",
             path);
    for (size_t i = 0; i < w->n_monitors; i++) {
        char mpath[96], ipath[128];

        snprintf(mpath, sizeof(mpath), "%s.monitors", path);
        item_path(seen[WK_MONITORS].val, mpath, i, ipath, sizeof(ipath));
        check_monitor_ref(l, item_node(l, seen[WK_MONITORS].val, i), w->monitors[i], ipath);
    }

    if (seen[WK_SCHEDULE].key) { /* recurring */
        if (seen[WK_START].key)
            diag(l, seen[WK_START].key,
                 "start and schedule are both set (%s; a window is one-off, from start, or "
                 "recurring, on a schedule)",
                 path);
        if (seen[WK_END].key)
            diag(l, seen[WK_END].key,
                 "end with a schedule (%s; a recurring window lasts its duration)", path);
        if (!seen[WK_DURATION].key)
            diag(l, wn,
                 "a recurring maintenance window needs duration (%s; e.g. schedule: \"0 2 * * *\" "
                 "with duration: 30m)",
                 path);
        else if (seen[WK_DURATION].ok && w->duration_ms >= MAX_RECURRING_WINDOW_MS)
            diag(l, seen[WK_DURATION].val,
                 "duration '%s' is not below a week (%s.duration; a recurring window must end "
                 "before it starts again)",
                 qv(l, seen[WK_DURATION].val), path);
        w->start_ms = w->end_ms = 0;
    } else { /* one-off */
        if (seen[WK_TZ].key)
            diag(l, seen[WK_TZ].key,
                 "tz without a schedule (%s; tz is the schedule's time zone: start and end carry "
                 "their own offsets)",
                 path);
        if (!seen[WK_START].key)
            diag(l, wn,
                 "a maintenance window needs schedule or start (%s; e.g. schedule: \"0 2 * * *\" "
                 "with duration: 30m, or start and end)",
                 path);
        else if (seen[WK_END].key && seen[WK_DURATION].key)
            diag(l, seen[WK_DURATION].key, "end and duration are both set (%s; give one)", path);
        else if (!seen[WK_END].key && !seen[WK_DURATION].key)
            diag(l, wn, "a one-off maintenance window needs end or duration (%s)", path);
        else if (seen[WK_START].ok && seen[WK_END].ok && w->end_ms <= w->start_ms)
            diag(l, seen[WK_END].val, "end '%s' is not after start '%s' (%s.end)",
                 qv(l, seen[WK_END].val), qv(l, seen[WK_START].val), path);
        else if (seen[WK_START].ok && seen[WK_END].ok)
            w->duration_ms = w->end_ms - w->start_ms;
        else if (seen[WK_START].ok && seen[WK_DURATION].ok)
            w->end_ms = w->start_ms + w->duration_ms;
    }
    if (!w->tz)
        w->tz = xstrdup("UTC");
}

static const yaml_node_t *window_name_at(const struct loader *l, size_t i)
{
    return l->window_names[i];
}

static void load_windows(struct loader *l)
{
    struct conf *c = l->conf;
    size_t n;

    if (!l->windows_n)
        return;
    n = capped_len(l, l->windows_n, OPSD_MAX_MAINTENANCE, "maintenance windows");
    c->maintenance = xcalloc(n ? n : 1, sizeof(*c->maintenance));
    c->n_maintenance = n;
    l->window_names = xcalloc(n ? n : 1, sizeof(const yaml_node_t *));
    for (size_t i = 0; i < n; i++)
        load_window(l, i, node(l, l->windows_n->data.sequence.items.start[i]), &l->window_names[i]);
    check_dup_names(l, "maintenance window", n, window_name, window_name_at);
}

/* The names of the monitors from stack[from] to stack[top - 1], then the
 * first again: "a -> b -> a" (the middle cut when long). */
static void cycle_path(struct loader *l, const size_t *stack, size_t from, size_t top,
                       struct sbuf *sb)
{
    size_t n = top - from;

    for (size_t i = 0; i < n; i++) {
        if (n > 8 && i == 4) {
            sbuf_puts(sb, "... -> ");
            i = n - 3;
        }
        sbuf_addf(sb, "%s -> ", qv(l, l->mon_nodes[stack[from + i]].name));
    }
    sbuf_puts(sb, qv(l, l->mon_nodes[stack[from]].name));
}

/* depends_on: every name a monitor, not the monitor itself, and no cycle
 * (reported at the depends_on entry that closes it, in a depth-first walk
 * in file order). Iterative: a chain may be as long as there are monitors. */
static void check_depends(struct loader *l)
{
    struct conf *c = l->conf;
    struct dep {
        size_t to;                      /* the monitor depended on */
        size_t item;                    /* the depends_on entry naming it */
        const yaml_node_t *list, *node; /* depends_on's value, and that entry's node */
    } * *deps;
    size_t n = c->n_monitors, *n_deps, *stack, *edge, top;
    unsigned char *color; /* 0 not seen, 1 on the stack, 2 done */

    if (!n)
        return;
    deps = xcalloc(n, sizeof(struct dep *));
    n_deps = xcalloc(n, sizeof(*n_deps));
    for (size_t i = 0; i < n; i++) {
        const struct conf_monitor *m = &c->monitors[i];
        const yaml_node_t *v = l->mon_nodes[i].depends_on;

        if (!v || !m->n_depends_on)
            continue;
        deps[i] = xcalloc(m->n_depends_on, sizeof(**deps));
        for (size_t j = 0; j < m->n_depends_on; j++) {
            const yaml_node_t *item = item_node(l, v, j);
            const struct conf_monitor *t;
            char mpath[64], ipath[96];

            snprintf(mpath, sizeof(mpath), "monitors[%zu].depends_on", i);
            item_path(v, mpath, j, ipath, sizeof(ipath));
            if (check_monitor_ref(l, item, m->depends_on[j], ipath) < 0)
                continue;
            t = conf_find_monitor(c, m->depends_on[j]);
            if (m->name && strcmp(m->name, m->depends_on[j]) == 0) {
                diag(l, item, "monitor '%s' depends on itself (%s)", qv(l, item), ipath);
                continue;
            }
            deps[i][n_deps[i]++] =
                (struct dep){ .to = (size_t)(t - c->monitors), .item = j, .list = v, .node = item };
        }
    }

    color = xcalloc(n, 1);
    stack = xcalloc(n, sizeof(*stack));
    edge = xcalloc(n, sizeof(*edge));
    for (size_t s = 0; s < n; s++) {
        if (color[s])
            continue;
        top = 0;
        stack[top] = s;
        edge[top++] = 0;
        color[s] = 1;
        while (top) {
            size_t m = stack[top - 1], t;
            const struct dep *d;

            if (edge[top - 1] == n_deps[m]) {
                color[m] = 2;
                top--;
                continue;
            }
            d = &deps[m][edge[top - 1]++];
            t = d->to;
            if (color[t] == 1) {
                const yaml_node_t *v = d->list, *item = d->node;
                struct sbuf path = SBUF_INIT;
                size_t from = top;
                char mpath[64], ipath[96];

                while (from > 0 && stack[from - 1] != t)
                    from--;
                cycle_path(l, stack, from - 1, top, &path);
                snprintf(mpath, sizeof(mpath), "monitors[%zu].depends_on", m);
                item_path(v, mpath, d->item, ipath, sizeof(ipath));
                diag(l, item,
                     "depends_on '%s' closes a cycle: %s (%s; a monitor cannot depend on itself "
                     "through others)",
                     qv(l, item), path.buf, ipath);
                sbuf_release(&path);
            } else if (color[t] == 0) {
                color[t] = 1;
                stack[top] = t;
                edge[top++] = 0;
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        free(deps[i]);
    free(deps);
    free(n_deps);
    free(color);
    free(stack);
    free(edge);
}

/* ---- loading -------------------------------------------------------------------- */

static void monitor_release(struct conf_monitor *m)
{
    free(m->name);
    free(m->description);
    labels_free(m->labels, m->n_labels);
    free(m->url);
    free(m->method);
    free(m->expect_status);
    free(m->body_contains);
    free(m->host);
    free(m->token);
    free(m->command);
    free(m->path);
    free(m->pattern);
    free(m->exclude);
    strv_free(m->mounts, m->n_mounts);
    strv_free(m->interfaces, m->n_interfaces);
    free(m->pidfile);
    free(m->process_name);
    free(m->match);
    free(m->schedule);
    free(m->tz);
    free(m->query);
    free(m->dns_server);
    free(m->expect_contains);
    strv_free(m->expect_equals, m->n_expect_equals);
    free(m->starttls);
    free(m->server_name);
    free(m->action_command);
    labels_free(m->headers, m->n_headers);
    free(m->body);
    free(m->auth_username);
    free(m->auth_password);
    free(m->auth_bearer);
    strv_free(m->expect_json, m->n_expect_json);
    free(m->send);
    free(m->summary);
    strv_free(m->depends_on, m->n_depends_on);
}

static void receiver_release(struct conf_receiver *r)
{
    free(r->name);
    free(r->url);
    free(r->secret);
    free(r->account);
    free(r->target);
    free(r->from);
    strv_free(r->to, r->n_to);
    free(r->smtp_username);
    free(r->smtp_password);
    free(r->subject_template);
    free(r->alert_template);
}

static void route_release(struct conf_route *r)
{
    free(r->receiver);
    for (size_t i = 0; i < r->n_matchers; i++) {
        free(r->matchers[i].name);
        free(r->matchers[i].value);
    }
    free(r->matchers);
    strv_free(r->group_by, r->n_group_by);
    free(r->escalation);
    for (size_t i = 0; i < r->n_routes; i++)
        route_release(&r->routes[i]); /* at most OPSD_MAX_ROUTE_DEPTH deep */
    free(r->routes);
}

static void policy_release(struct conf_policy *p)
{
    free(p->name);
    for (size_t i = 0; i < p->n_steps; i++)
        strv_free(p->steps[i].notify, p->steps[i].n_notify);
    free(p->steps);
}

static void window_release(struct conf_maintenance *w)
{
    free(w->name);
    free(w->description);
    strv_free(w->monitors, w->n_monitors);
    labels_free(w->labels, w->n_labels);
    free(w->schedule);
    free(w->tz);
}

struct conf *conf_free(struct conf *c)
{
    if (!c)
        return NULL;
    free(c->path);
    free(c->server.listen);
    free(c->server.data_dir);
    free(c->server.log_level);
    free(c->server.title);
    for (size_t i = 0; i < c->n_monitors; i++)
        monitor_release(&c->monitors[i]);
    free(c->monitors);
    free(c->alerting.external_url);
    free(c->alerting.link_secret);
    for (size_t i = 0; i < c->n_receivers; i++)
        receiver_release(&c->receivers[i]);
    free(c->receivers);
    if (c->route) {
        route_release(c->route);
        free(c->route);
    }
    for (size_t i = 0; i < c->n_policies; i++)
        policy_release(&c->policies[i]);
    free(c->policies);
    for (size_t i = 0; i < c->n_maintenance; i++)
        window_release(&c->maintenance[i]);
    free(c->maintenance);
    if (c->index) {
        free(c->index->by_name);
        free(c->index->by_token);
        free(c->index);
    }
    free(c);
    return NULL;
}

static void loader_done(struct loader *l)
{
    if (l->have_doc)
        yaml_document_delete(&l->doc);
    conf_free(l->conf);
    free(l->mon_nodes);
    free(l->receiver_names);
    free(l->policy_names);
    free(l->window_names);
}

/* Line and column (1-based) of byte offset off in the text. */
static void offset_place(const struct loader *l, size_t off, unsigned *line, unsigned *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && i < l->len; i++) {
        if (l->text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else if (((unsigned char)l->text[i] & 0xC0) != 0x80) {
            (*col)++;
        }
    }
}

static int yaml_problem(struct loader *l, const yaml_parser_t *p)
{
    unsigned line = (unsigned)p->problem_mark.line + 1, col = (unsigned)p->problem_mark.column + 1;
    const char *problem = p->problem ? p->problem : "unknown error";

    switch (p->error) {
    case YAML_MEMORY_ERROR:
        return diag_at(l, 0, 0, "out of memory while parsing YAML");
    case YAML_READER_ERROR:
        offset_place(l, p->problem_offset, &line, &col);
        return diag_at(l, line, col, "invalid YAML: %s (the file must be UTF-8 text)", problem);
    default:
        break;
    }
    if (p->problem_mark.index < l->len && l->text[p->problem_mark.index] == '\t')
        return diag_at(l, line, col, "invalid YAML: %s (indent with spaces: YAML forbids tabs)",
                       problem);
    if (p->context)
        return diag_at(l, line, col, "invalid YAML: %s (%s at line %u, column %u)", problem,
                       p->context, (unsigned)p->context_mark.line + 1,
                       (unsigned)p->context_mark.column + 1);
    return diag_at(l, line, col, "invalid YAML: %s", problem);
}

/* An anchor (&name) met in the document, for the aliases (*name) after it. */
struct anchor {
    char *name;
    int id;
    yaml_mark_t mark;
};

/* A collection being composed: its node and, in a mapping, the key whose
 * value comes next (0 when none). */
struct open_node {
    int id;
    int key;
};

struct composer {
    struct loader *l;
    yaml_document_t doc;
    struct open_node open[CONF_MAX_DEPTH]; /* the collections the next node goes into */
    unsigned depth;
    struct anchor *anchors;
    size_t n_anchors, anchors_cap;
};

static int composer_oom(struct composer *c)
{
    return diag_at(c->l, 0, 0, "out of memory while parsing YAML");
}

/* The tag to give a node: NULL (libyaml's default for its kind) when none or
 * the non-specific "!" was written, as yaml_parser_load() does. */
static const yaml_char_t *node_tag(const yaml_char_t *tag)
{
    return tag && strcmp((const char *)tag, "!") != 0 ? tag : NULL;
}

/* Adds node id to the collection being composed (none: id is the root). */
static int attach(struct composer *c, int id)
{
    struct open_node *o;
    int ok;

    if (!c->depth)
        return 0;
    o = &c->open[c->depth - 1];
    if (c->doc.nodes.start[o->id - 1].type == YAML_SEQUENCE_NODE) {
        ok = yaml_document_append_sequence_item(&c->doc, o->id, id);
    } else if (!o->key) {
        o->key = id; /* its value comes next */
        return 0;
    } else {
        ok = yaml_document_append_mapping_pair(&c->doc, o->id, o->key, id);
        o->key = 0;
    }
    return ok ? 0 : composer_oom(c);
}

/* Makes the node that ev starts (a scalar, a collection or an alias), places
 * it in the document and opens a collection; 0 or -EINVAL after reporting. */
static int add_node(struct composer *c, yaml_event_t *ev)
{
    const yaml_char_t *anchor = NULL;
    yaml_node_t *n;
    int id = 0;

    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        for (size_t i = 0; i < c->n_anchors && !id; i++)
            if (strcmp(c->anchors[i].name, (const char *)ev->data.alias.anchor) == 0)
                id = c->anchors[i].id;
        if (!id)
            return diag_at(c->l, (unsigned)ev->start_mark.line + 1,
                           (unsigned)ev->start_mark.column + 1,
                           "invalid YAML: found undefined alias '*%s'",
                           q(c->l, (const char *)ev->data.alias.anchor));
        return attach(c, id);
    case YAML_SCALAR_EVENT:
        id = yaml_document_add_scalar(&c->doc, node_tag(ev->data.scalar.tag),
                                      (const yaml_char_t *)"", 0, ev->data.scalar.style);
        if (id) {
            /* The node takes the event's value and the event the node's
             * empty one: no copy, and libyaml frees both. */
            yaml_node_t *sn = &c->doc.nodes.start[id - 1];
            yaml_char_t *empty = sn->data.scalar.value;

            sn->data.scalar.value = ev->data.scalar.value;
            sn->data.scalar.length = ev->data.scalar.length;
            ev->data.scalar.value = empty;
            ev->data.scalar.length = 0;
        }
        anchor = ev->data.scalar.anchor;
        break;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        if (c->depth == CONF_MAX_DEPTH)
            return diag_at(
                c->l, (unsigned)ev->start_mark.line + 1, (unsigned)ev->start_mark.column + 1,
                "nesting deeper than %d levels (an opsd config needs 5 at most)", CONF_MAX_DEPTH);
        if (ev->type == YAML_SEQUENCE_START_EVENT) {
            id = yaml_document_add_sequence(&c->doc, node_tag(ev->data.sequence_start.tag),
                                            ev->data.sequence_start.style);
            anchor = ev->data.sequence_start.anchor;
        } else {
            id = yaml_document_add_mapping(&c->doc, node_tag(ev->data.mapping_start.tag),
                                           ev->data.mapping_start.style);
            anchor = ev->data.mapping_start.anchor;
        }
        break;
    default:
        break;
    }
    if (!id)
        return composer_oom(c);
    n = &c->doc.nodes.start[id - 1];
    n->start_mark = ev->start_mark;
    n->end_mark = ev->end_mark;
    if (anchor) {
        for (size_t i = 0; i < c->n_anchors; i++)
            if (strcmp(c->anchors[i].name, (const char *)anchor) == 0)
                return diag_at(c->l, (unsigned)ev->start_mark.line + 1,
                               (unsigned)ev->start_mark.column + 1,
                               "invalid YAML: anchor '&%s' is defined twice (first at line %u, "
                               "column %u)",
                               q(c->l, (const char *)anchor), (unsigned)c->anchors[i].mark.line + 1,
                               (unsigned)c->anchors[i].mark.column + 1);
        xgrow((void **)&c->anchors, &c->anchors_cap, c->n_anchors + 1, sizeof(*c->anchors));
        c->anchors[c->n_anchors++] = (struct anchor){ .name = xstrdup((const char *)anchor),
                                                      .id = id,
                                                      .mark = ev->start_mark };
    }
    if (attach(c, id) < 0)
        return -EINVAL;
    if (n->type != YAML_SCALAR_NODE)
        c->open[c->depth++] = (struct open_node){ .id = id };
    return 0;
}

/* Reads the next document of the stream into *ret_doc (caller deletes it)
 * and returns 1; returns 0 at the end of the stream, -EINVAL after reporting
 * a problem. It does what yaml_parser_load() does, from the parser's events,
 * but refuses a collection nested deeper than CONF_MAX_DEPTH at the event
 * that opens it: libyaml's scanner takes time quadratic in the depth (a
 * 200 000-deep "[[[..." takes seconds) and its loader recurses once per
 * level. Checking as the events come, rather than in a pass of its own
 * before yaml_parser_load(), keeps the text parsed once. */
static int load_document(struct loader *l, yaml_parser_t *p, yaml_document_t *ret_doc)
{
    struct composer c = { .l = l };
    bool have_doc = false;
    yaml_event_t ev;
    int r = 0;

    for (;;) {
        if (!yaml_parser_parse(p, &ev)) {
            r = yaml_problem(l, p);
            break;
        }
        if (ev.type == YAML_STREAM_END_EVENT || ev.type == YAML_NO_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        switch (ev.type) {
        case YAML_DOCUMENT_START_EVENT:
            if (!yaml_document_initialize(&c.doc, ev.data.document_start.version_directive,
                                          ev.data.document_start.tag_directives.start,
                                          ev.data.document_start.tag_directives.end,
                                          ev.data.document_start.implicit, 1)) {
                r = composer_oom(&c);
                break;
            }
            have_doc = true;
            c.doc.start_mark = ev.start_mark;
            break;
        case YAML_DOCUMENT_END_EVENT:
            c.doc.end_implicit = ev.data.document_end.implicit;
            c.doc.end_mark = ev.end_mark;
            r = 1;
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT: /* libyaml pairs it with a start event */
            if (c.depth && c.doc.nodes.start)
                c.doc.nodes.start[c.open[--c.depth].id - 1].end_mark = ev.end_mark;
            break;
        case YAML_STREAM_START_EVENT:
            break;
        default:
            r = add_node(&c, &ev);
            break;
        }
        yaml_event_delete(&ev);
        if (r)
            break;
    }

    for (size_t i = 0; i < c.n_anchors; i++)
        free(c.anchors[i].name);
    free(c.anchors);
    if (r > 0)
        *ret_doc = c.doc;
    else if (have_doc)
        yaml_document_delete(&c.doc);
    return r;
}

/* Loads the one document in the text; false after reporting a problem. */
static bool parse(struct loader *l)
{
    yaml_parser_t parser;
    yaml_document_t extra;
    bool ok = false;
    int r;

    if (!yaml_parser_initialize(&parser)) {
        diag_at(l, 0, 0, "out of memory while parsing YAML");
        return false;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)l->text, l->len);
    r = load_document(l, &parser, &l->doc);
    if (r <= 0) {
        ok = r == 0; /* an empty stream: no document, no root */
        goto out;
    }
    l->have_doc = true;
    r = load_document(l, &parser, &extra);
    if (r > 0) {
        diag_at(l, (unsigned)extra.start_mark.line + 1, (unsigned)extra.start_mark.column + 1,
                "unexpected second YAML document (a config file holds one document)");
        yaml_document_delete(&extra);
    }
    ok = r == 0;
out:
    yaml_parser_delete(&parser);
    return ok;
}

int conf_load_string(const char *name, const char *text, size_t len, struct conf **ret_conf,
                     struct conf_diags *diags)
{
    _cleanup_(loader_done) struct loader l = { .text = text, .len = len, .diags = diags };
    size_t first = diags->n;
    const yaml_node_t *root;
    int r = 0;

    if (!diags->file)
        diags->file = xstrdup(name);
    if (!text)
        l.text = "", l.len = len = 0;
    if (len > OPSD_MAX_CONFIG_BYTES) {
        diag_at(&l, 0, 0, "config is larger than the %d MiB limit", OPSD_MAX_CONFIG_BYTES >> 20);
        r = -EFBIG;
        goto out;
    }
    if (!parse(&l)) {
        r = -EINVAL;
        goto out;
    }

    l.conf = xcalloc(1, sizeof(*l.conf));
    l.conf->path = xstrdup(name);
    l.conf->server.retention_ms = DEF_RETENTION_MS;
    l.conf->server.max_concurrency = DEF_MAX_CONCURRENCY;
    l.defaults = (struct mon_defaults){ .interval_ms = DEF_INTERVAL_MS,
                                        .timeout_ms = DEF_TIMEOUT_MS,
                                        .confirm = DEF_CONFIRM };
    l.conf->alerting = (struct conf_alerting){ .link_ttl_ms = DEF_LINK_TTL_MS,
                                               .give_up_after_ms = DEF_GIVE_UP_AFTER_MS,
                                               .retry_min_ms = DEF_RETRY_MIN_MS,
                                               .retry_max_ms = DEF_RETRY_MAX_MS,
                                               .flap_changes = DEF_FLAP_CHANGES,
                                               .flap_window_ms = DEF_FLAP_WINDOW_MS,
                                               .max_inflight = DEF_MAX_INFLIGHT };

    root = yaml_document_get_root_node(&l.doc);
    if (root && root->type == YAML_MAPPING_NODE) {
        struct seen seen[ARRAY_SIZE(top_keys)] = { 0 };
        walk(&l, root, &top_tab, &l, "", 0, seen);
    } else if (root && !is_null(root)) {
        diag(&l, root,
             "expected a mapping at the top level, got %s (with keys server, defaults "
             "and monitors)",
             describe(&l, root));
    }
    load_monitors(&l);
    l.conf->index = check_uniques(&l);
    /* In the order they refer to each other. */
    load_receivers(&l);
    load_policies(&l);
    if (l.route_n) {
        l.conf->route = xcalloc(1, sizeof(*l.conf->route));
        l.n_routes = 1;
        load_route(&l, l.conf->route, l.route_n, "route", 0);
    }
    load_windows(&l);
    check_depends(&l);

    if (!l.conf->server.listen)
        l.conf->server.listen = xstrdup(DEF_LISTEN);
    if (!l.conf->server.data_dir)
        l.conf->server.data_dir = xstrdup(DEF_DATA_DIR);
    if (!l.conf->server.log_level)
        l.conf->server.log_level = xstrdup(DEF_LOG_LEVEL);
    if (!l.conf->server.title)
        l.conf->server.title = xstrdup(DEF_TITLE);
    if (!l.conf->alerting.external_url) {
        l.conf->alerting.external_url = xasprintf("http://%s", l.conf->server.listen);
        l.conf->alerting.external_url_default = true;
    }

    if (l.n_errors) {
        r = -EINVAL;
        goto out;
    }
    *ret_conf = steal_ptr(l.conf);
out:
    diags_sort(diags, first);
    return r;
}

int conf_load(const char *path, struct conf **ret_conf, struct conf_diags *diags)
{
    struct sbuf sb = SBUF_INIT;
    char buf[65536];
    FILE *f;
    int r;

    f = fopen(path, "re");
    if (!f)
        goto fail;
    while (sb.len <= OPSD_MAX_CONFIG_BYTES) {
        size_t n = fread(buf, 1, sizeof(buf), f);

        if (n < sizeof(buf) && ferror(f))
            goto fail;
        sbuf_add(&sb, buf, n);
        if (n < sizeof(buf))
            break;
    }
    r = conf_load_string(path, sb.buf, sb.len, ret_conf, diags);
    goto out;
fail:
    r = errno > 0 ? -errno : -EIO;
    if (!diags->file)
        diags->file = xstrdup(path);
    diags_add(diags, 0, 0, xasprintf("cannot read config: %s", strerror(-r)));
out:
    if (f)
        fclose(f);
    sbuf_release(&sb);
    return r;
}

/* ---- small things --------------------------------------------------------------- */

const char *conf_dns_record_to_string(enum conf_dns_record r)
{
    for (size_t i = 0; i < ARRAY_SIZE(dns_records); i++)
        if (dns_records[i].rr == r)
            return dns_records[i].name;
    return "?";
}

const char *conf_monitor_type_to_string(enum conf_monitor_type t)
{
    if ((size_t)t < ARRAY_SIZE(types) && types[t].name)
        return types[t].name;
    return "unknown";
}

int conf_monitor_type_from_string(const char *s, enum conf_monitor_type *ret)
{
    for (size_t i = 1; s && i < ARRAY_SIZE(types); i++) {
        if (strcmp(s, types[i].name) == 0) {
            *ret = (enum conf_monitor_type)i;
            return 0;
        }
    }
    return -EINVAL;
}

static bool str_eq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static bool level_eq(double a, double b)
{
    return a == b || (isnan(a) && isnan(b));
}

static bool limits_eq(const struct conf_limits *a, const struct conf_limits *b)
{
    const struct conf_limit *x = (const struct conf_limit *)a, *y = (const struct conf_limit *)b;

    for (size_t i = 0; i < sizeof(*a) / sizeof(*x); i++)
        if (!level_eq(x[i].warn, y[i].warn) || !level_eq(x[i].crit, y[i].crit))
            return false;
    return true;
}

static bool strv_eq(char *const *a, size_t na, char *const *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (!str_eq(a[i], b[i]))
            return false;
    return true;
}

bool conf_monitor_equal(const struct conf_monitor *a, const struct conf_monitor *b)
{
    if (!str_eq(a->name, b->name) || a->type != b->type || a->paused != b->paused ||
        a->interval_ms != b->interval_ms || a->timeout_ms != b->timeout_ms ||
        a->confirm != b->confirm)
        return false;
    if (a->n_labels != b->n_labels)
        return false;
    for (size_t i = 0; i < a->n_labels; i++)
        if (!str_eq(a->labels[i].key, b->labels[i].key) ||
            !str_eq(a->labels[i].value, b->labels[i].value))
            return false;
    if (!str_eq(a->url, b->url) || !str_eq(a->method, b->method) ||
        a->n_expect_status != b->n_expect_status ||
        (a->n_expect_status &&
         memcmp(a->expect_status, b->expect_status, a->n_expect_status * sizeof(int)) != 0) ||
        !str_eq(a->body_contains, b->body_contains) || a->max_latency_ms != b->max_latency_ms ||
        a->follow_redirects != b->follow_redirects || a->max_redirects != b->max_redirects ||
        a->tls_verify != b->tls_verify)
        return false;
    if (!str_eq(a->host, b->host) || a->port != b->port)
        return false;
    if (a->n_headers != b->n_headers)
        return false;
    for (size_t i = 0; i < a->n_headers; i++)
        if (!str_eq(a->headers[i].key, b->headers[i].key) ||
            !str_eq(a->headers[i].value, b->headers[i].value))
            return false;
    if (!str_eq(a->body, b->body) || !str_eq(a->auth_username, b->auth_username) ||
        !str_eq(a->auth_password, b->auth_password) || !str_eq(a->auth_bearer, b->auth_bearer) ||
        !strv_eq(a->expect_json, a->n_expect_json, b->expect_json, b->n_expect_json) ||
        a->degraded_latency_ms != b->degraded_latency_ms || !str_eq(a->send, b->send))
        return false;
    if (!str_eq(a->action_command, b->action_command) || a->action_max_runs != b->action_max_runs ||
        a->action_per_ms != b->action_per_ms || a->action_timeout_ms != b->action_timeout_ms)
        return false;
    if (a->down_on_warning != b->down_on_warning || !str_eq(a->command, b->command) ||
        !str_eq(a->path, b->path) || a->max_age_ms != b->max_age_ms || a->min_size != b->min_size ||
        a->max_size != b->max_size || a->max_shrink_pct != b->max_shrink_pct ||
        a->checksum != b->checksum)
        return false;
    if (!str_eq(a->pattern, b->pattern) || !str_eq(a->exclude, b->exclude) ||
        a->ignore_case != b->ignore_case || a->window_ms != b->window_ms ||
        a->window_lines != b->window_lines || a->max_matches != b->max_matches ||
        a->warn_matches != b->warn_matches || a->from_start != b->from_start)
        return false;
    if (!limits_eq(&a->limits, &b->limits) ||
        !strv_eq(a->mounts, a->n_mounts, b->mounts, b->n_mounts) ||
        !strv_eq(a->interfaces, a->n_interfaces, b->interfaces, b->n_interfaces) ||
        !str_eq(a->pidfile, b->pidfile) || !str_eq(a->process_name, b->process_name) ||
        !str_eq(a->match, b->match) || a->min_count != b->min_count ||
        a->max_count != b->max_count || a->restart_warns != b->restart_warns)
        return false;
    return str_eq(a->token, b->token) && a->period_ms == b->period_ms &&
           a->grace_ms == b->grace_ms && str_eq(a->schedule, b->schedule) && str_eq(a->tz, b->tz) &&
           a->max_runtime_ms == b->max_runtime_ms && a->min_runtime_ms == b->min_runtime_ms &&
           str_eq(a->query, b->query) && a->record == b->record &&
           str_eq(a->dns_server, b->dns_server) && str_eq(a->expect_contains, b->expect_contains) &&
           strv_eq(a->expect_equals, a->n_expect_equals, b->expect_equals, b->n_expect_equals) &&
           a->warn_days == b->warn_days && a->critical_days == b->critical_days &&
           str_eq(a->starttls, b->starttls) && str_eq(a->server_name, b->server_name) &&
           a->count == b->count && level_eq(a->max_loss_pct, b->max_loss_pct) &&
           a->max_rtt_ms == b->max_rtt_ms && a->ip_version == b->ip_version &&
           a->fail_x == b->fail_x && a->fail_y == b->fail_y && a->recover_x == b->recover_x &&
           a->recover_y == b->recover_y;
}

const struct conf_receiver *conf_find_receiver(const struct conf *c, const char *name)
{
    if (!c || !name)
        return NULL;
    for (size_t i = 0; i < c->n_receivers; i++) /* at most OPSD_MAX_RECEIVERS */
        if (c->receivers[i].name && strcmp(c->receivers[i].name, name) == 0)
            return &c->receivers[i];
    return NULL;
}

const struct conf_policy *conf_find_policy(const struct conf *c, const char *name)
{
    if (!c || !name)
        return NULL;
    for (size_t i = 0; i < c->n_policies; i++) /* at most OPSD_MAX_POLICIES */
        if (c->policies[i].name && strcmp(c->policies[i].name, name) == 0)
            return &c->policies[i];
    return NULL;
}

static const char *const severities[] = {
    [CONF_SEV_CRITICAL] = "critical",
    [CONF_SEV_HIGH] = "high",
    [CONF_SEV_MEDIUM] = "medium",
    [CONF_SEV_LOW] = "low",
};

const char *conf_severity_to_string(enum conf_severity s)
{
    if ((size_t)s < ARRAY_SIZE(severities) && severities[s])
        return severities[s];
    return "unknown";
}

int conf_severity_from_string(const char *s, enum conf_severity *ret)
{
    for (size_t i = 1; s && i < ARRAY_SIZE(severities); i++) {
        if (strcmp(s, severities[i]) == 0) {
            *ret = (enum conf_severity)i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *conf_default_path(void)
{
    if (access("./opsd.yaml", F_OK) == 0)
        return "./opsd.yaml";
    return "/etc/opsd/opsd.yaml";
}
