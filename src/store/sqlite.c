/* The SQLite backend: one database file in WAL mode with three connections,
 * a writer for store_write() and store_prune() (on a worker thread), a
 * loop connection for reads and monitor rows (on the loop thread), so
 * readers never wait for a batch being written, and a durable connection
 * (loop thread too) for the small writes the API must not acknowledge
 * before they are synced: silences and tokens. Schema changes are an
 * ordered list of migrations, each applied once in its own transaction. */
#include "store/store-impl.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/xalloc.h"

/* Rows one prune statement deletes: small enough that the write lock is
 * held for milliseconds, so the loop connection's small writes (and other
 * processes, a backup) are never stalled for long behind a big prune. */
#define PRUNE_CHUNK 5000
#define BUSY_TIMEOUT_MS 5000
/* The writer's page cache, in KiB (SQLite's default is 2 MiB). A batch
 * touches one leaf of the (monitor_id, ts_ms) index per monitor; keeping
 * those hot cut a 10 000-result batch on a 2-million-row database from
 * ~86 ms to ~61 ms. Pages are only allocated as they are used. */
#define WRITER_CACHE_PRAGMA "PRAGMA cache_size = -32768"

/* Append-only: a database records how many of these it has applied, so an
 * entry is never edited or reordered once released; changes go in a new one. */
static const char *const migrations[] = {
    /* 1: the initial schema. */
    "CREATE TABLE monitors ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  type INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL);"
    /* Timings, http_status, cert_days and message are NULL when they do not
     * apply (STORE_NO_VALUE / NULL in struct store_result). */
    "CREATE TABLE results ("
    "  monitor_id INTEGER NOT NULL REFERENCES monitors(id),"
    "  ts_ms INTEGER NOT NULL,"
    "  status INTEGER NOT NULL,"
    "  ok INTEGER NOT NULL,"
    "  maintenance INTEGER NOT NULL,"
    "  dns_us INTEGER,"
    "  connect_us INTEGER,"
    "  tls_us INTEGER,"
    "  ttfb_us INTEGER,"
    "  total_us INTEGER NOT NULL,"
    "  http_status INTEGER,"
    "  cert_days INTEGER,"
    "  message TEXT);"
    "CREATE INDEX results_monitor_ts ON results(monitor_id, ts_ms);"
    /* Lets prune find old rows across all monitors without a table scan. */
    "CREATE INDEX results_ts ON results(ts_ms);"
    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY,"
    "  monitor_id INTEGER NOT NULL REFERENCES monitors(id),"
    "  ts_ms INTEGER NOT NULL,"
    "  from_state INTEGER NOT NULL,"
    "  to_state INTEGER NOT NULL,"
    "  cause TEXT);"
    "CREATE INDEX events_monitor_ts ON events(monitor_id, ts_ms);"
    /* Rollups: one row per monitor and bucket, maintenance checks left out.
     * A row exists only with count >= 1, so min and max are always set. */
    "CREATE TABLE rollup_minute ("
    "  monitor_id INTEGER NOT NULL REFERENCES monitors(id),"
    "  bucket_ms INTEGER NOT NULL,"
    "  count INTEGER NOT NULL,"
    "  failures INTEGER NOT NULL,"
    "  latency_sum_us INTEGER NOT NULL,"
    "  latency_min_us INTEGER NOT NULL,"
    "  latency_max_us INTEGER NOT NULL,"
    "  PRIMARY KEY (monitor_id, bucket_ms)) WITHOUT ROWID;"
    "CREATE INDEX rollup_minute_bucket ON rollup_minute(bucket_ms);"
    "CREATE TABLE rollup_hour ("
    "  monitor_id INTEGER NOT NULL REFERENCES monitors(id),"
    "  bucket_ms INTEGER NOT NULL,"
    "  count INTEGER NOT NULL,"
    "  failures INTEGER NOT NULL,"
    "  latency_sum_us INTEGER NOT NULL,"
    "  latency_min_us INTEGER NOT NULL,"
    "  latency_max_us INTEGER NOT NULL,"
    "  PRIMARY KEY (monitor_id, bucket_ms)) WITHOUT ROWID;"
    "CREATE INDEX rollup_hour_bucket ON rollup_hour(bucket_ms);",
    /* 2: metrics that come with results (perfdata, host resources). */
    "CREATE TABLE metrics ("
    "  monitor_id INTEGER NOT NULL REFERENCES monitors(id),"
    "  ts_ms INTEGER NOT NULL,"
    "  name TEXT NOT NULL,"
    "  value REAL NOT NULL,"
    "  unit TEXT);"
    "CREATE INDEX metrics_monitor_name_ts ON metrics(monitor_id, name, ts_ms);"
    "CREATE INDEX metrics_monitor_ts ON metrics(monitor_id, ts_ms);"
    "CREATE INDEX metrics_ts ON metrics(ts_ms);",
    /* 3: check state that survives a restart (a log monitor's position). */
    "CREATE TABLE memos ("
    "  monitor_id INTEGER NOT NULL REFERENCES monitors(id),"
    "  key TEXT NOT NULL,"
    "  value TEXT NOT NULL,"
    "  PRIMARY KEY (monitor_id, key)) WITHOUT ROWID;",
    /* 4: a heartbeat ping's body (the job's output) beside the message. */
    "ALTER TABLE results ADD COLUMN body TEXT;",
    /* 5: events that are not state changes (an on_failure action's outcome). */
    "ALTER TABLE events ADD COLUMN kind TEXT;",
    /* 6: alerts, the notification outbox, silences and API tokens (issue 4).
     * Times are 0 for "never", not NULL, as in the structs. The fingerprint
     * is 16 lowercase hex digits: every uint64 round-trips (an INTEGER
     * would show the top half negative), and it reads in a shell the way
     * the API and PagerDuty's dedup_key spell it. */
    "CREATE TABLE alerts ("
    "  id INTEGER PRIMARY KEY,"
    "  fingerprint TEXT NOT NULL"
    "    CHECK (length(fingerprint) = 16 AND fingerprint NOT GLOB '*[^0-9a-f]*'),"
    "  monitor TEXT,"
    "  source TEXT,"
    "  severity INTEGER NOT NULL,"
    "  state INTEGER NOT NULL,"
    "  labels_json TEXT,"
    "  summary TEXT,"
    "  message TEXT,"
    "  suppressed TEXT,"
    "  starts_ms INTEGER NOT NULL,"
    "  updated_ms INTEGER NOT NULL,"
    "  acked_ms INTEGER NOT NULL,"
    "  acked_by TEXT,"
    "  resolved_ms INTEGER NOT NULL,"
    "  review INTEGER NOT NULL,"
    "  review_by TEXT,"
    "  reviewed_ms INTEGER NOT NULL);"
    /* Open alerts are few among years of resolved ones: the list the
     * dashboard and the alert manager's start read walks only them. */
    "CREATE INDEX alerts_open ON alerts(id) WHERE state IN (1, 2, 4);"
    "CREATE INDEX alerts_monitor ON alerts(monitor, id);"
    "CREATE TABLE notifications ("
    "  id INTEGER PRIMARY KEY,"
    "  idempotency_key TEXT NOT NULL UNIQUE,"
    "  receiver TEXT NOT NULL,"
    "  reason TEXT,"
    "  group_key TEXT,"
    "  alert_ids TEXT,"
    "  payload_json TEXT,"
    "  state INTEGER NOT NULL,"
    "  attempts INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  next_attempt_ms INTEGER NOT NULL,"
    "  last_attempt_ms INTEGER NOT NULL,"
    "  done_ms INTEGER NOT NULL,"
    "  last_error TEXT);"
    "CREATE INDEX notifications_state_next ON notifications(state, next_attempt_ms);"
    "CREATE INDEX notifications_created ON notifications(created_ms);"
    /* alert_ids spread out, so "notifications about alert 12" is an index
     * lookup that cannot match 112. Filled once, on insert: alert_ids
     * never changes afterwards. */
    "CREATE TABLE notification_alerts ("
    "  alert_id INTEGER NOT NULL,"
    "  notification_id INTEGER NOT NULL REFERENCES notifications(id),"
    "  PRIMARY KEY (alert_id, notification_id)) WITHOUT ROWID;"
    /* No foreign key to notifications: an attempt for a notification whose
     * insert was ignored (its key already stored under another id) is a
     * harmless orphan, where a constraint would fail the whole batch and
     * the results in it. */
    "CREATE TABLE notif_attempts ("
    "  notification_id INTEGER NOT NULL,"
    "  ts_ms INTEGER NOT NULL,"
    "  ok INTEGER NOT NULL,"
    "  http_status INTEGER NOT NULL,"
    "  took_us INTEGER NOT NULL,"
    "  error TEXT);"
    "CREATE INDEX notif_attempts_notification ON notif_attempts(notification_id, ts_ms);"
    /* AUTOINCREMENT: an id the API has handed out ("silence 3") is never
     * reused, even after the newest row is deleted by hand. */
    "CREATE TABLE silences ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  matchers_json TEXT NOT NULL,"
    "  starts_ms INTEGER NOT NULL,"
    "  ends_ms INTEGER NOT NULL,"
    "  author TEXT,"
    "  comment TEXT,"
    "  created_ms INTEGER NOT NULL,"
    "  expired_ms INTEGER NOT NULL);"
    "CREATE INDEX silences_ends ON silences(ends_ms);"
    "CREATE TABLE api_tokens ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  name TEXT NOT NULL,"
    "  hash TEXT NOT NULL UNIQUE,"
    "  prefix TEXT NOT NULL,"
    "  scope INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  last_used_ms INTEGER NOT NULL,"
    "  revoked_ms INTEGER NOT NULL);"
    /* One live token per name; revoked ones keep theirs for the record. */
    "CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens(name) WHERE revoked_ms = 0;",
    /* 7: why a reviewer judged an alert so, and the alert statistics'
     * window ("the alerts that started this week") as an index range. */
    "ALTER TABLE alerts ADD COLUMN review_comment TEXT;"
    "CREATE INDEX alerts_starts ON alerts(starts_ms);",
    /* 8: when an inbound alert resolves by itself unless its sender
     * refreshes it (the API's ends_at, Prometheus' endsAt), so a restart
     * re-arms it instead of leaving it firing. 0 = never. */
    "ALTER TABLE alerts ADD COLUMN ends_ms INTEGER NOT NULL DEFAULT 0;",
};

enum stmt_id {
    ST_BEGIN,
    ST_BEGIN_IMMEDIATE,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_INSERT_RESULT,
    ST_INSERT_EVENT,
    ST_UPSERT_MINUTE,
    ST_UPSERT_HOUR,
    ST_MONITOR_FIND,
    ST_MONITOR_UPSERT,
    ST_MONITOR_STATE,
    ST_SUM_MINUTE,
    ST_SUM_HOUR,
    ST_DAY_SUMS,
    ST_RESULTS,
    ST_EVENTS,
    ST_PRUNE_RESULTS,
    ST_PRUNE_MINUTE,
    ST_PRUNE_HOUR,
    ST_INSERT_METRIC,
    ST_METRICS,
    ST_METRICS_NAMED,
    ST_PRUNE_METRICS,
    ST_MEMO_SET,
    ST_MEMO_GET,
    ST_UPSERT_ALERT,
    ST_INSERT_NOTIF,
    ST_INSERT_NOTIF_ALERT,
    ST_UPDATE_NOTIF,
    ST_INSERT_ATTEMPT,
    ST_ALERT_MAX_ID,
    ST_NOTIF_MAX_ID,
    ST_ALERTS, /* four shapes: + ALERTS_OPEN when open_only, + ALERTS_MONITOR with a monitor */
    ST_ALERTS_LAST = ST_ALERTS + 3,
    ST_ALERT_GET,
    ST_ALERT_TIMINGS,
    ST_ALERT_REVIEW,
    ST_NOTIFS, /* eight shapes: + NOTIFS_STATE, + NOTIFS_ALERT, + NOTIFS_OLDEST */
    ST_NOTIFS_LAST = ST_NOTIFS + 7,
    ST_NOTIF_GET,
    ST_NOTIF_ATTEMPTS,
    ST_SILENCE_ADD,
    ST_SILENCE_EXPIRE,
    ST_SILENCE_EXISTS,
    ST_SILENCES,
    ST_TOKEN_LIVE_NAME,
    ST_TOKEN_ADD,
    ST_TOKEN_FIND,
    ST_TOKENS,
    ST_TOKEN_REVOKE_NAME,
    ST_TOKEN_REVOKE_ID,
    ST_COUNT,
};

/* Offsets from ST_ALERTS and ST_NOTIFS, one bit per part of a filter: a
 * statement per shape lets each use its index, where one statement with
 * "?1 = 0 OR state = ?1" would scan the table for every filter. */
#define ALERTS_OPEN 1
#define ALERTS_MONITOR 2
#define NOTIFS_STATE 1
#define NOTIFS_ALERT 2
#define NOTIFS_OLDEST 4

#define UPSERT_ROLLUP(table)                                                                       \
    "INSERT INTO " table " (monitor_id, bucket_ms, count, failures, latency_sum_us,"               \
    " latency_min_us, latency_max_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"                         \
    " ON CONFLICT (monitor_id, bucket_ms) DO UPDATE SET"                                           \
    " count = count + excluded.count,"                                                             \
    " failures = failures + excluded.failures,"                                                    \
    " latency_sum_us = latency_sum_us + excluded.latency_sum_us,"                                  \
    " latency_min_us = min(latency_min_us, excluded.latency_min_us),"                              \
    " latency_max_us = max(latency_max_us, excluded.latency_max_us)"

#define SUM_ROLLUP(table)                                                                          \
    "SELECT coalesce(sum(count), 0), coalesce(sum(failures), 0),"                                  \
    " coalesce(sum(latency_sum_us), 0), coalesce(min(latency_min_us), -1),"                        \
    " coalesce(max(latency_max_us), -1) FROM " table                                               \
    " WHERE monitor_id = ?1 AND bucket_ms >= ?2 AND bucket_ms < ?3"

/* Deleting by key through a LIMITed subquery is how SQLite (built without
 * SQLITE_ENABLE_UPDATE_DELETE_LIMIT, as Debian's is) bounds a DELETE. */
#define PRUNE_ROLLUP(table)                                                                        \
    "DELETE FROM " table " WHERE (monitor_id, bucket_ms) IN (SELECT monitor_id, bucket_ms"         \
    " FROM " table " WHERE bucket_ms < ?1 LIMIT ?2)"

#define ALERT_COLS                                                                                 \
    "id, fingerprint, monitor, source, severity, state, labels_json, summary, message,"            \
    " suppressed, starts_ms, updated_ms, acked_ms, acked_by, resolved_ms, review, review_by,"      \
    " reviewed_ms, review_comment, ends_ms"

/* ?1 state (0 any), ?2 since, ?3 until, ?4 limit, ?5 monitor. */
#define SELECT_ALERTS(where)                                                                       \
    "SELECT " ALERT_COLS " FROM alerts WHERE (?1 = 0 OR state = ?1) AND starts_ms >= ?2"           \
    " AND starts_ms < ?3" where " ORDER BY id DESC LIMIT ?4"
/* Spelled as alerts_open's WHERE, which is how SQLite sees it may use it. */
#define OPEN_STATES " AND state IN (1, 2, 4)"

#define NOTIF_COLS                                                                                 \
    "n.id, n.idempotency_key, n.receiver, n.reason, n.group_key, n.alert_ids, n.payload_json,"     \
    " n.state, n.attempts, n.created_ms, n.next_attempt_ms, n.last_attempt_ms, n.done_ms,"         \
    " n.last_error"

/* ?1 state, ?2 since, ?3 limit, ?4 alert id. */
#define SELECT_NOTIFS(join, where, dir)                                                            \
    "SELECT " NOTIF_COLS " FROM notifications n" join " WHERE n.created_ms >= ?2" where            \
    " ORDER BY n.created_ms " dir ", n.id " dir " LIMIT ?3"
#define NOTIF_JOIN " JOIN notification_alerts na ON na.notification_id = n.id AND na.alert_id = ?4"
#define NOTIF_STATE " AND n.state = ?1"

#define TOKEN_COLS "id, name, hash, prefix, scope, created_ms, last_used_ms, revoked_ms"

static const char *const stmt_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN",
    /* Takes the write lock up front: a deferred transaction that reads and
     * then writes can fail with SQLITE_BUSY_SNAPSHOT without waiting. */
    [ST_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_INSERT_RESULT] = "INSERT INTO results (monitor_id, ts_ms, status, ok, maintenance,"
                         " dns_us, connect_us, tls_us, ttfb_us, total_us, http_status,"
                         " cert_days, message, body)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    [ST_INSERT_EVENT] = "INSERT INTO events (monitor_id, ts_ms, from_state, to_state, cause, kind)"
                        " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_UPSERT_MINUTE] = UPSERT_ROLLUP("rollup_minute"),
    [ST_UPSERT_HOUR] = UPSERT_ROLLUP("rollup_hour"),
    [ST_MONITOR_FIND] = "SELECT id, type FROM monitors WHERE name = ?1",
    [ST_MONITOR_UPSERT] = "INSERT INTO monitors (name, type, created_ms) VALUES (?1, ?2, ?3)"
                          " ON CONFLICT (name) DO UPDATE SET type = excluded.type"
                          " RETURNING id",
    /* id breaks ties between events stored with the same timestamp: the
     * later insert is the later change. */
    [ST_MONITOR_STATE] = "SELECT to_state, ts_ms FROM events WHERE monitor_id = ?1"
                         " AND kind IS NULL ORDER BY ts_ms DESC, id DESC LIMIT 1",
    [ST_SUM_MINUTE] = SUM_ROLLUP("rollup_minute"),
    [ST_SUM_HOUR] = SUM_ROLLUP("rollup_hour"),
    [ST_DAY_SUMS] = "SELECT bucket_ms / 86400000 AS day, sum(count), sum(failures),"
                    " sum(latency_sum_us), min(latency_min_us), max(latency_max_us)"
                    " FROM rollup_hour WHERE monitor_id = ?1 AND bucket_ms >= ?2"
                    " AND bucket_ms < ?3 GROUP BY day",
    [ST_RESULTS] = "SELECT ts_ms, status, ok, maintenance, dns_us, connect_us, tls_us, ttfb_us,"
                   " total_us, http_status, cert_days, message, body FROM results"
                   " WHERE monitor_id = ?1 AND ts_ms >= ?2 AND ts_ms < ?3"
                   " ORDER BY ts_ms DESC, rowid DESC LIMIT ?4",
    /* Walks events_monitor_ts backwards: its entries end in the rowid (id),
     * so the tie-break needs no sort. */
    [ST_EVENTS] = "SELECT ts_ms, from_state, to_state, cause, kind FROM events"
                  " WHERE monitor_id = ?1 AND ts_ms >= ?2 AND ts_ms < ?3"
                  " ORDER BY ts_ms DESC, id DESC LIMIT ?4",
    [ST_PRUNE_RESULTS] = "DELETE FROM results WHERE rowid IN"
                         " (SELECT rowid FROM results WHERE ts_ms < ?1 LIMIT ?2)",
    [ST_PRUNE_MINUTE] = PRUNE_ROLLUP("rollup_minute"),
    [ST_PRUNE_HOUR] = PRUNE_ROLLUP("rollup_hour"),
    [ST_INSERT_METRIC] = "INSERT INTO metrics (monitor_id, ts_ms, name, value, unit)"
                         " VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_METRICS] = "SELECT ts_ms, name, value, unit FROM metrics"
                   " WHERE monitor_id = ?1 AND ts_ms >= ?2 AND ts_ms < ?3"
                   " ORDER BY ts_ms DESC, rowid DESC LIMIT ?4",
    [ST_METRICS_NAMED] = "SELECT ts_ms, name, value, unit FROM metrics"
                         " WHERE monitor_id = ?1 AND name = ?5 AND ts_ms >= ?2 AND ts_ms < ?3"
                         " ORDER BY ts_ms DESC, rowid DESC LIMIT ?4",
    [ST_PRUNE_METRICS] = "DELETE FROM metrics WHERE rowid IN"
                         " (SELECT rowid FROM metrics WHERE ts_ms < ?1 LIMIT ?2)",
    [ST_MEMO_SET] = "INSERT INTO memos (monitor_id, key, value) VALUES (?1, ?2, ?3)"
                    " ON CONFLICT (monitor_id, key) DO UPDATE SET value = excluded.value",
    [ST_MEMO_GET] = "SELECT value FROM memos WHERE monitor_id = ?1 AND key = ?2",
    /* The whole row replaced, in place: nothing else refers to an alert's
     * row, and DO UPDATE keeps it one write where REPLACE is two. Except
     * the review, which the row replaces only when its own is newer: the
     * engine upserts from its copy of the alert, which does not see a
     * review written since (store_alert_set_review()). SET expressions all
     * read the row as it was, so reviewed_ms is compared before it changes. */
    [ST_UPSERT_ALERT] = "INSERT INTO alerts (" ALERT_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
                        " ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)"
                        " ON CONFLICT (id) DO UPDATE SET fingerprint = excluded.fingerprint,"
                        " monitor = excluded.monitor, source = excluded.source,"
                        " severity = excluded.severity, state = excluded.state,"
                        " labels_json = excluded.labels_json, summary = excluded.summary,"
                        " message = excluded.message, suppressed = excluded.suppressed,"
                        " starts_ms = excluded.starts_ms, updated_ms = excluded.updated_ms,"
                        " acked_ms = excluded.acked_ms, acked_by = excluded.acked_by,"
                        " resolved_ms = excluded.resolved_ms, ends_ms = excluded.ends_ms,"
                        " review = CASE WHEN excluded.reviewed_ms > reviewed_ms"
                        "  THEN excluded.review ELSE review END,"
                        " review_by = CASE WHEN excluded.reviewed_ms > reviewed_ms"
                        "  THEN excluded.review_by ELSE review_by END,"
                        " review_comment = CASE WHEN excluded.reviewed_ms > reviewed_ms"
                        "  THEN excluded.review_comment ELSE review_comment END,"
                        " reviewed_ms = max(reviewed_ms, excluded.reviewed_ms)",
    [ST_INSERT_NOTIF] = "INSERT INTO notifications (id, idempotency_key, receiver, reason,"
                        " group_key, alert_ids, payload_json, state, attempts, created_ms,"
                        " next_attempt_ms, last_attempt_ms, done_ms, last_error)"
                        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
                        " ON CONFLICT (idempotency_key) DO NOTHING",
    [ST_INSERT_NOTIF_ALERT] = "INSERT OR IGNORE INTO notification_alerts (alert_id,"
                              " notification_id) VALUES (?1, ?2)",
    [ST_UPDATE_NOTIF] = "UPDATE notifications SET state = ?2, attempts = ?3,"
                        " next_attempt_ms = ?4, last_attempt_ms = ?5, done_ms = ?6,"
                        " last_error = ?7 WHERE id = ?1",
    [ST_INSERT_ATTEMPT] = "INSERT INTO notif_attempts (notification_id, ts_ms, ok, http_status,"
                          " took_us, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_ALERT_MAX_ID] = "SELECT coalesce(max(id), 0) FROM alerts",
    [ST_NOTIF_MAX_ID] = "SELECT coalesce(max(id), 0) FROM notifications",
    [ST_ALERTS] = SELECT_ALERTS(""),
    [ST_ALERTS + ALERTS_OPEN] = SELECT_ALERTS(OPEN_STATES),
    [ST_ALERTS + ALERTS_MONITOR] = SELECT_ALERTS(" AND monitor = ?5"),
    [ST_ALERTS + ALERTS_MONITOR + ALERTS_OPEN] = SELECT_ALERTS(" AND monitor = ?5" OPEN_STATES),
    [ST_ALERT_GET] = "SELECT " ALERT_COLS " FROM alerts WHERE id = ?1",
    [ST_ALERT_TIMINGS] = "SELECT id, severity, state, review, starts_ms, acked_ms, resolved_ms"
                         " FROM alerts WHERE starts_ms >= ?1 AND starts_ms < ?2"
                         " ORDER BY starts_ms, id",
    [ST_ALERT_REVIEW] = "UPDATE alerts SET review = ?2, review_by = ?3, review_comment = ?4,"
                        " reviewed_ms = ?5 WHERE id = ?1",
    [ST_NOTIFS] = SELECT_NOTIFS("", "", "DESC"),
    [ST_NOTIFS + NOTIFS_STATE] = SELECT_NOTIFS("", NOTIF_STATE, "DESC"),
    [ST_NOTIFS + NOTIFS_ALERT] = SELECT_NOTIFS(NOTIF_JOIN, "", "DESC"),
    [ST_NOTIFS + NOTIFS_ALERT + NOTIFS_STATE] = SELECT_NOTIFS(NOTIF_JOIN, NOTIF_STATE, "DESC"),
    [ST_NOTIFS + NOTIFS_OLDEST] = SELECT_NOTIFS("", "", "ASC"),
    [ST_NOTIFS + NOTIFS_OLDEST + NOTIFS_STATE] = SELECT_NOTIFS("", NOTIF_STATE, "ASC"),
    [ST_NOTIFS + NOTIFS_OLDEST + NOTIFS_ALERT] = SELECT_NOTIFS(NOTIF_JOIN, "", "ASC"),
    [ST_NOTIFS + NOTIFS_OLDEST + NOTIFS_ALERT + NOTIFS_STATE] =
        SELECT_NOTIFS(NOTIF_JOIN, NOTIF_STATE, "ASC"),
    [ST_NOTIF_GET] = "SELECT " NOTIF_COLS " FROM notifications n WHERE n.id = ?1",
    /* The newest ?2, oldest first: a capped history keeps its recent end. */
    [ST_NOTIF_ATTEMPTS] = "SELECT ts_ms, ok, http_status, took_us, error FROM"
                          " (SELECT rowid AS r, * FROM notif_attempts WHERE notification_id = ?1"
                          " ORDER BY ts_ms DESC, rowid DESC LIMIT ?2) ORDER BY ts_ms, r",
    [ST_SILENCE_ADD] = "INSERT INTO silences (matchers_json, starts_ms, ends_ms, author, comment,"
                       " created_ms, expired_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_SILENCE_EXPIRE] = "UPDATE silences SET expired_ms = ?2, ends_ms = ?2"
                          " WHERE id = ?1 AND ends_ms > ?2",
    [ST_SILENCE_EXISTS] = "SELECT 1 FROM silences WHERE id = ?1",
    [ST_SILENCES] = "SELECT id, matchers_json, starts_ms, ends_ms, author, comment, created_ms,"
                    " expired_ms FROM silences WHERE ends_ms > ?1 ORDER BY id LIMIT ?2",
    [ST_TOKEN_LIVE_NAME] = "SELECT 1 FROM api_tokens WHERE name = ?1 AND revoked_ms = 0",
    [ST_TOKEN_ADD] = "INSERT INTO api_tokens (name, hash, prefix, scope, created_ms,"
                     " last_used_ms, revoked_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_TOKEN_FIND] = "SELECT " TOKEN_COLS " FROM api_tokens WHERE hash = ?1 AND revoked_ms = 0",
    [ST_TOKENS] = "SELECT " TOKEN_COLS " FROM api_tokens ORDER BY id LIMIT ?1",
    [ST_TOKEN_REVOKE_NAME] = "UPDATE api_tokens SET revoked_ms = ?2"
                             " WHERE name = ?1 AND revoked_ms = 0",
    [ST_TOKEN_REVOKE_ID] = "UPDATE api_tokens SET revoked_ms = ?2 WHERE id = ?1 AND revoked_ms = 0",
};

/* A connection and its statement cache, prepared on first use. */
struct conn {
    sqlite3 *db;
    sqlite3_stmt *stmt[ST_COUNT];
};

/* Our connections take turns at SQLite's write lock in arrival order.
 * SQLite's own busy handler polls, sleeping up to 100 ms between tries, so
 * a connection that writes in a loop (startup ensuring thousands of new
 * monitors, or prune chunk after chunk) can keep the other out past
 * busy_timeout; a ticket lock cannot starve anyone.
 * Other processes (a sqlite3 shell, a backup) still meet busy_timeout. */
struct turnstile {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t next, serving;
};

struct sqlite_store {
    struct store base;  /* first, so a struct store * is a struct sqlite_store * */
    struct conn writer; /* store_write() and store_prune(), on the worker thread */
    struct conn loop;   /* every other call, on the loop thread; small writes too */
    /* Silences and tokens, on the loop thread: synchronous=FULL, so their
     * commits are fsynced before the API answers. A connection of their
     * own keeps that cost off monitor_ensure (thousands of rows on a first
     * start) without switching the pragma back and forth. */
    struct conn durable;
    struct turnstile turn;
    char *alert_scratch; /* the strings of the last store_alert_get() */
    char *token_scratch; /* the strings of the last store_token_find() */
};

static struct sqlite_store *to_sq(struct store *s)
{
    return (struct sqlite_store *)s;
}

/* ---- the turnstile ---- */

static struct turnstile *turn_take(struct turnstile *t)
{
    uint64_t ticket;

    pthread_mutex_lock(&t->mu);
    ticket = t->next++;
    while (ticket != t->serving)
        pthread_cond_wait(&t->cv, &t->mu);
    pthread_mutex_unlock(&t->mu);
    return t;
}

static void turn_givep(struct turnstile **t)
{
    if (!*t)
        return;
    pthread_mutex_lock(&(*t)->mu);
    (*t)->serving++;
    pthread_cond_broadcast(&(*t)->cv);
    pthread_mutex_unlock(&(*t)->mu);
}
/* The variable only holds the turn until the scope ends: marked unused
 * because clang's dead-store check does not count the cleanup as a read. */
#define _cleanup_turn_ _cleanup_(turn_givep) __attribute__((unused))

/* ---- errors and statements ---- */

static int errno_from_sqlite(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
        return -EINVAL;
    case SQLITE_FULL:
        return -ENOSPC;
    default:
        return -EIO;
    }
}

/* Fills err with "<what>: <sqlite's message>" and returns the errno. Must be
 * called before anything else runs on db, which would replace the message. */
static int db_errf(struct opsd_error *err, sqlite3 *db, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int db_errf(struct opsd_error *err, sqlite3 *db, int rc, const char *fmt, ...)
{
    char what[256];
    va_list ap;

    if (!err)
        return errno_from_sqlite(rc);
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return opsd_errorf(err, errno_from_sqlite(rc), "%s: %s", what,
                       db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

/* Statements go back to the cache reset: a SELECT left mid-walk would hold
 * its read snapshot open and keep the WAL from being checkpointed. */
static void stmt_resetp(sqlite3_stmt **st)
{
    if (*st)
        sqlite3_reset(*st);
}
#define _cleanup_reset_ _cleanup_(stmt_resetp)

static int conn_stmt(struct conn *c, enum stmt_id id, sqlite3_stmt **ret, struct opsd_error *err)
{
    int rc;

    if (!c->stmt[id]) {
        rc = sqlite3_prepare_v3(c->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &c->stmt[id],
                                NULL);
        if (rc != SQLITE_OK)
            return db_errf(err, c->db, rc, "cannot prepare statement");
    } else if (sqlite3_stmt_busy(c->stmt[id])) {
        /* Only reachable from a store_results() or store_events() callback
         * calling back in; resetting the statement under the outer walk
         * would corrupt it. */
        return opsd_errorf(err, -EBUSY, "store called re-entrantly from a callback");
    }
    *ret = c->stmt[id];
    return 0;
}

static int conn_exec(struct conn *c, enum stmt_id id, const char *what, struct opsd_error *err)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r, rc;

    r = conn_stmt(c, id, &st, err);
    if (r < 0)
        return r;
    rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return db_errf(err, c->db, rc, "%s", what);
    return 0;
}

/* After a failure, ends whatever transaction is still open on c. SQLite
 * rolls some failures (I/O, disk full) back by itself, hence the check. */
static void conn_rollback(struct conn *c)
{
    if (!sqlite3_get_autocommit(c->db))
        conn_exec(c, ST_ROLLBACK, "cannot roll back", NULL);
}

/* Bind results go unchecked: binding to an index the statement has cannot
 * fail, and texts are capped (store_message_len(), OPSD_MAX_NAME) far below
 * SQLITE_MAX_LENGTH. Texts are bound SQLITE_STATIC: they outlive the step. */
static void bind_opt(sqlite3_stmt *st, int i, int32_t v)
{
    if (v == STORE_NO_VALUE)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int(st, i, v);
}

static int32_t column_opt(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? STORE_NO_VALUE : sqlite3_column_int(st, i);
}

/* Capped like a batch's copy, for batches filled without store_batch_add_*(). */
static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (!s)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_text(st, i, s, (int)store_message_len(s), SQLITE_STATIC);
}

static void column_uptime(sqlite3_stmt *st, int first, struct store_uptime *u)
{
    u->count = (uint64_t)sqlite3_column_int64(st, first);
    u->failures = (uint64_t)sqlite3_column_int64(st, first + 1);
    u->latency_sum_us = (uint64_t)sqlite3_column_int64(st, first + 2);
    u->latency_min_us = sqlite3_column_int64(st, first + 3);
    u->latency_max_us = sqlite3_column_int64(st, first + 4);
}

/* ---- opening, migrations, closing ---- */

static void conn_close(struct conn *c)
{
    size_t i;

    for (i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(c->stmt[i]);
    sqlite3_close(c->db);
    memset(c, 0, sizeof(*c));
}

static void sq_free(struct sqlite_store *q)
{
    if (!q)
        return;
    /* The writer goes last: the last connection to close checkpoints the
     * WAL into the database and removes it. */
    conn_close(&q->durable);
    conn_close(&q->loop);
    conn_close(&q->writer);
    free(q->alert_scratch);
    free(q->token_scratch);
    pthread_cond_destroy(&q->turn.cv);
    pthread_mutex_destroy(&q->turn.mu);
    free(q);
}

static void sq_freep(struct sqlite_store **q)
{
    sq_free(*q);
}

static void sq_close(struct store *s)
{
    sq_free(to_sq(s));
}

static int conn_open(struct conn *c, const char *path, struct opsd_error *err)
{
    int rc;

    /* NOMUTEX (SQLite's multi-thread mode) because no connection is ever
     * used by two threads at once: the writer only by the one store_write()
     * or store_prune() in flight, the loop and durable connections only by
     * the loop.
     * FULLMUTEX would buy nothing but a lock on every call, and would mask
     * a caller breaking the one-writer rule instead of making it correct. */
    rc = sqlite3_open_v2(path, &c->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK)
        return db_errf(err, c->db, rc, "cannot open database '%s'", path);
    sqlite3_extended_result_codes(c->db, 1);
    /* The loop connections write too (monitor_ensure, silences), and other processes
     * may (a backup): waiting for the write lock beats failing. */
    sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
    /* synchronous=NORMAL in WAL mode: a commit is written to the WAL file
     * before COMMIT returns, and fsynced only at checkpoints. A process
     * crash (kill -9, abort) loses nothing acknowledged, because the data is
     * already in the kernel's page cache; only a power loss or kernel crash
     * can drop the last few transactions, and even then the database stays
     * consistent. FULL would add an fsync to every batch for that case. */
    rc = sqlite3_exec(c->db, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;", NULL, NULL,
                      NULL);
    if (rc != SQLITE_OK)
        return db_errf(err, c->db, rc, "cannot configure database '%s'", path);
    return 0;
}

/* One-row, one-column queries used while opening. */
static int query_text(sqlite3 *db, const char *sql, char *buf, size_t n, struct opsd_error *err)
{
    sqlite3_stmt *st = NULL;
    int r = 0, rc;

    rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        r = db_errf(err, db, rc, "cannot run '%s'", sql);
        goto out;
    }
    snprintf(buf, n, "%s",
             sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "");
out:
    sqlite3_finalize(st);
    return r;
}

static int exec_pragma(sqlite3 *db, const char *sql, struct opsd_error *err)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

    if (rc != SQLITE_OK)
        return db_errf(err, db, rc, "cannot run '%s'", sql);
    return 0;
}

static int enable_wal(sqlite3 *db, struct opsd_error *err)
{
    char mode[16];
    int r;

    /* WAL is a property of the file, so setting it once suffices. */
    r = query_text(db, "PRAGMA journal_mode = WAL", mode, sizeof(mode), err);
    if (r < 0)
        return r;
    if (strcmp(mode, "wal") != 0)
        return opsd_errorf(err, -EIO, "cannot enable WAL journal (got '%s')", mode);
    return 0;
}

static int migrate(struct sqlite_store *q, struct opsd_error *err)
{
    sqlite3 *db = q->writer.db;
    const int known = (int)ARRAY_SIZE(migrations);
    char buf[32], sql[128];
    bool in_tx = false;
    int version = 0, rc, r;
    long v;
    char *end;

    /* One migration per transaction, re-reading the version inside it, so
     * two processes opening the same new database cannot both apply one. */
    for (;;) {
        rc = sqlite3_exec(db,
                          "BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS schema_migrations ("
                          "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);",
                          NULL, NULL, NULL);
        in_tx = !sqlite3_get_autocommit(db);
        if (rc != SQLITE_OK) {
            r = db_errf(err, db, rc, "cannot begin schema migration");
            goto out;
        }
        r = query_text(db, "SELECT coalesce(max(version), 0) FROM schema_migrations", buf,
                       sizeof(buf), err);
        if (r < 0)
            goto out;
        errno = 0;
        v = strtol(buf, &end, 10);
        if (errno != 0 || end == buf || *end || v < 0 || v > INT_MAX) {
            r = opsd_errorf(err, -EIO, "database schema version '%s' is not valid", buf);
            goto out;
        }
        version = (int)v;
        if (version > known) {
            r = opsd_errorf(err, -ENOTSUP,
                            "database schema version %d is newer than this opsd knows (%d)",
                            version, known);
            goto out;
        }
        if (version == known)
            break;
        rc = sqlite3_exec(db, migrations[version], NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
            r = db_errf(err, db, rc, "cannot apply schema migration %d", version + 1);
            goto out;
        }
        snprintf(sql, sizeof(sql),
                 "INSERT INTO schema_migrations (version, applied_at) VALUES (%d, %llu)",
                 version + 1, (unsigned long long)clock_now_ms(q->base.clock));
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
            r = db_errf(err, db, rc, "cannot record schema migration %d", version + 1);
            goto out;
        }
    }
    rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        r = db_errf(err, db, rc, "cannot end schema migration");
        goto out;
    }
    in_tx = false;
    q->base.schema_version = version;
    r = 0;
out:
    if (in_tx && !sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return r;
}

static const struct store_ops sqlite_ops;

int store_sqlite_open(const char *db_path, const struct opsd_clock *clock, struct store **ret_store,
                      struct opsd_error *err)
{
    _cleanup_(sq_freep) struct sqlite_store *q = NULL;
    int r;

    if (!sqlite3_threadsafe())
        return opsd_errorf(err, -ENOTSUP, "cannot use sqlite3: library built without threads");

    q = xcalloc(1, sizeof(*q));
    q->base.ops = &sqlite_ops;
    q->base.clock = clock;
    pthread_mutex_init(&q->turn.mu, NULL);
    pthread_cond_init(&q->turn.cv, NULL);

    r = conn_open(&q->writer, db_path, err);
    if (r < 0)
        return r;
    r = enable_wal(q->writer.db, err);
    if (r < 0)
        return r;
    r = exec_pragma(q->writer.db, WRITER_CACHE_PRAGMA, err);
    if (r < 0)
        return r;
    r = migrate(q, err);
    if (r < 0)
        return r;
    r = conn_open(&q->loop, db_path, err);
    if (r < 0)
        return r;
    r = conn_open(&q->durable, db_path, err);
    if (r < 0)
        return r;
    /* In WAL mode FULL syncs the WAL at every commit: what the durable
     * connection commits survives a power loss, and so does everything the
     * other connections committed before it. */
    r = exec_pragma(q->durable.db, "PRAGMA synchronous = FULL", err);
    if (r < 0)
        return r;

    *ret_store = &steal_ptr(q)->base;
    return 0;
}

static int sq_integrity_check(struct store *s, struct opsd_error *err)
{
    char verdict[256];
    int r;

    r = query_text(to_sq(s)->loop.db, "PRAGMA integrity_check", verdict, sizeof(verdict), err);
    if (r < 0)
        return r;
    if (strcmp(verdict, "ok") != 0)
        return opsd_errorf(err, -EIO, "database integrity check failed: %s", verdict);
    return 0;
}

/* ---- monitors ---- */

/* Returns 1 and the id when name exists with this type, 0 when it needs
 * inserting or its type updating. */
static int monitor_find(struct conn *c, const char *name, int type, int64_t *ret_id,
                        struct opsd_error *err)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r, rc;

    r = conn_stmt(c, ST_MONITOR_FIND, &st, err);
    if (r < 0)
        return r;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return db_errf(err, c->db, rc, "cannot look up monitor '%s'", name);
    if (sqlite3_column_int(st, 1) != type)
        return 0;
    *ret_id = sqlite3_column_int64(st, 0);
    return 1;
}

static int sq_monitor_ensure(struct store *s, const char *name, int type, int64_t *ret_id,
                             struct opsd_error *err)
{
    struct sqlite_store *q = to_sq(s);
    struct conn *c = &q->loop;
    _cleanup_turn_ struct turnstile *turn = NULL;
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int64_t id = 0;
    int r, rc;

    /* Startup ensures every configured monitor, nearly all unchanged: a
     * read answers those without taking the write lock. */
    r = monitor_find(c, name, type, &id, err);
    if (r < 0)
        return r;
    if (r == 0) {
        r = conn_stmt(c, ST_MONITOR_UPSERT, &st, err);
        if (r < 0)
            return r;
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, type);
        sqlite3_bind_int64(st, 3, (int64_t)MIN(clock_now_ms(s->clock), STORE_TS_MAX));
        turn = turn_take(&q->turn);
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
            return db_errf(err, c->db, rc, "cannot store monitor '%s'", name);
        id = sqlite3_column_int64(st, 0);
        /* Run to completion so an autocommit failure is seen, not lost in
         * the reset. */
        rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
            return db_errf(err, c->db, rc, "cannot store monitor '%s'", name);
    }
    *ret_id = id;
    return 0;
}

static int sq_monitor_state(struct store *s, int64_t monitor_id, struct store_monitor_state *ret,
                            struct opsd_error *err)
{
    struct conn *c = &to_sq(s)->loop;
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r, rc;

    r = conn_stmt(c, ST_MONITOR_STATE, &st, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(st, 1, monitor_id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        *ret = (struct store_monitor_state){ .state = 0, .since_ms = 0 };
        return 0;
    }
    if (rc != SQLITE_ROW)
        return db_errf(err, c->db, rc, "cannot read state of monitor %lld", (long long)monitor_id);
    ret->state = sqlite3_column_int(st, 0);
    ret->since_ms = (uint64_t)sqlite3_column_int64(st, 1);
    return 0;
}

/* ---- writing ---- */

static int insert_result(struct conn *c, const struct store_result *res, struct opsd_error *err)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r, rc;

    r = conn_stmt(c, ST_INSERT_RESULT, &st, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(st, 1, res->monitor_id);
    sqlite3_bind_int64(st, 2, (int64_t)res->ts_ms);
    sqlite3_bind_int(st, 3, res->status);
    sqlite3_bind_int(st, 4, res->ok);
    sqlite3_bind_int(st, 5, res->maintenance);
    bind_opt(st, 6, res->dns_us);
    bind_opt(st, 7, res->connect_us);
    bind_opt(st, 8, res->tls_us);
    bind_opt(st, 9, res->ttfb_us);
    sqlite3_bind_int(st, 10, res->total_us);
    bind_opt(st, 11, res->http_status);
    bind_opt(st, 12, res->cert_days);
    bind_text(st, 13, res->message);
    if (res->body)
        sqlite3_bind_text(st, 14, res->body, (int)store_body_len(res->body), SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 14);
    rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        return db_errf(err, c->db, rc, "cannot store result of monitor %lld",
                       (long long)res->monitor_id);
    return 0;
}

static int insert_metrics(struct conn *c, const struct store_result *res, struct opsd_error *err)
{
    for (size_t i = 0; i < res->n_metrics; i++) {
        const struct store_metric *m = &res->metrics[i];
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int r, rc;

        r = conn_stmt(c, ST_INSERT_METRIC, &st, err);
        if (r < 0)
            return r;
        sqlite3_bind_int64(st, 1, res->monitor_id);
        sqlite3_bind_int64(st, 2, (int64_t)res->ts_ms);
        bind_text(st, 3, m->name);
        sqlite3_bind_double(st, 4, m->value);
        bind_text(st, 5, m->unit);
        rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
            return db_errf(err, c->db, rc, "cannot store metric of monitor %lld",
                           (long long)res->monitor_id);
    }
    return 0;
}

static int set_memo(struct conn *c, const struct store_memo *m, struct opsd_error *err)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r, rc;

    r = conn_stmt(c, ST_MEMO_SET, &st, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(st, 1, m->monitor_id);
    sqlite3_bind_text(st, 2, m->key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, m->value, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        return db_errf(err, c->db, rc, "cannot store memo of monitor %lld",
                       (long long)m->monitor_id);
    return 0;
}

static int insert_event(struct conn *c, const struct store_event *e, struct opsd_error *err)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r, rc;

    r = conn_stmt(c, ST_INSERT_EVENT, &st, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(st, 1, e->monitor_id);
    sqlite3_bind_int64(st, 2, (int64_t)e->ts_ms);
    sqlite3_bind_int(st, 3, e->from_state);
    sqlite3_bind_int(st, 4, e->to_state);
    bind_text(st, 5, e->cause);
    if (e->kind)
        sqlite3_bind_text(st, 6, e->kind, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 6);
    rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        return db_errf(err, c->db, rc, "cannot store event of monitor %lld",
                       (long long)e->monitor_id);
    return 0;
}

static int upsert_rollup(struct conn *c, enum stmt_id id, const struct store_rollup *row,
                         struct opsd_error *err)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r, rc;

    r = conn_stmt(c, id, &st, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(st, 1, row->monitor_id);
    sqlite3_bind_int64(st, 2, (int64_t)row->bucket_ms);
    sqlite3_bind_int64(st, 3, (int64_t)row->count);
    sqlite3_bind_int64(st, 4, (int64_t)row->failures);
    sqlite3_bind_int64(st, 5, (int64_t)row->latency_sum_us);
    sqlite3_bind_int64(st, 6, row->latency_min_us);
    sqlite3_bind_int64(st, 7, row->latency_max_us);
    rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        return db_errf(err, c->db, rc, "cannot update rollup of monitor %lld",
                       (long long)row->monitor_id);
    return 0;
}

/* Texts the store refuses rather than cuts (store.c checked their length):
 * bound whole. */
static void bind_str(sqlite3_stmt *st, int i, const char *s)
{
    if (!s)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

static int upsert_alert(struct conn *c, const struct store_alert *a, struct opsd_error *err)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    char fp[17];
    int r, rc;

    r = conn_stmt(c, ST_UPSERT_ALERT, &st, err);
    if (r < 0)
        return r;
    snprintf(fp, sizeof(fp), "%016" PRIx64, a->fingerprint);
    sqlite3_bind_int64(st, 1, a->id);
    sqlite3_bind_text(st, 2, fp, 16, SQLITE_TRANSIENT);
    bind_str(st, 3, a->monitor);
    bind_text(st, 4, a->source);
    sqlite3_bind_int(st, 5, a->severity);
    sqlite3_bind_int(st, 6, a->state);
    bind_str(st, 7, a->labels_json);
    bind_text(st, 8, a->summary);
    bind_text(st, 9, a->message);
    bind_text(st, 10, a->suppressed);
    sqlite3_bind_int64(st, 11, (int64_t)a->starts_ms);
    sqlite3_bind_int64(st, 12, (int64_t)a->updated_ms);
    sqlite3_bind_int64(st, 13, (int64_t)a->acked_ms);
    bind_text(st, 14, a->acked_by);
    sqlite3_bind_int64(st, 15, (int64_t)a->resolved_ms);
    sqlite3_bind_int(st, 16, a->review);
    bind_text(st, 17, a->review_by);
    sqlite3_bind_int64(st, 18, (int64_t)a->reviewed_ms);
    bind_str(st, 19, a->review_comment); /* validated against its cap */
    sqlite3_bind_int64(st, 20, (int64_t)a->ends_ms);
    rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        return db_errf(err, c->db, rc, "cannot store alert %lld", (long long)a->id);
    return 0;
}

static int link_alerts(struct conn *c, const struct store_notification *n, struct opsd_error *err)
{
    _cleanup_free_ int64_t *ids = NULL;
    size_t n_ids = 0, i;
    int r, rc;

    /* Checked by store.c already; a malformed list here is a bug. */
    if (store_alert_ids_parse(n->alert_ids, &ids, &n_ids) < 0)
        return opsd_errorf(err, -EINVAL, "notification %lld: malformed alert ids",
                           (long long)n->id);
    for (i = 0; i < n_ids; i++) {
        _cleanup_reset_ sqlite3_stmt *st = NULL;

        r = conn_stmt(c, ST_INSERT_NOTIF_ALERT, &st, err);
        if (r < 0)
            return r;
        sqlite3_bind_int64(st, 1, ids[i]);
        sqlite3_bind_int64(st, 2, n->id);
        rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
            return db_errf(err, c->db, rc, "cannot link notification %lld to alert %lld",
                           (long long)n->id, (long long)ids[i]);
    }
    return 0;
}

static int insert_notification(struct conn *c, const struct store_notification *n,
                               struct opsd_error *err)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r, rc;

    r = conn_stmt(c, ST_INSERT_NOTIF, &st, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(st, 1, n->id);
    bind_str(st, 2, n->idempotency_key);
    bind_str(st, 3, n->receiver);
    bind_text(st, 4, n->reason);
    bind_str(st, 5, n->group_key);
    bind_str(st, 6, n->alert_ids);
    bind_str(st, 7, n->payload_json);
    sqlite3_bind_int(st, 8, n->state);
    sqlite3_bind_int64(st, 9, n->attempts);
    sqlite3_bind_int64(st, 10, (int64_t)n->created_ms);
    sqlite3_bind_int64(st, 11, (int64_t)n->next_attempt_ms);
    sqlite3_bind_int64(st, 12, (int64_t)n->last_attempt_ms);
    sqlite3_bind_int64(st, 13, (int64_t)n->done_ms);
    bind_text(st, 14, n->last_error);
    rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        return db_errf(err, c->db, rc, "cannot store notification %lld", (long long)n->id);
    /* Ignored (its key is stored already): the stored row keeps its links. */
    if (sqlite3_changes64(c->db) == 0)
        return 0;
    return link_alerts(c, n, err);
}

static int update_notification(struct conn *c, const struct store_notif_update *u,
                               struct opsd_error *err)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r, rc;

    r = conn_stmt(c, ST_UPDATE_NOTIF, &st, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(st, 1, u->id);
    sqlite3_bind_int(st, 2, u->state);
    sqlite3_bind_int64(st, 3, u->attempts);
    sqlite3_bind_int64(st, 4, (int64_t)u->next_attempt_ms);
    sqlite3_bind_int64(st, 5, (int64_t)u->last_attempt_ms);
    sqlite3_bind_int64(st, 6, (int64_t)u->done_ms);
    bind_text(st, 7, u->last_error);
    /* An update of an id that is not stored changes nothing: like an
     * orphan attempt, not worth failing the batch's results over. */
    rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        return db_errf(err, c->db, rc, "cannot update notification %lld", (long long)u->id);
    return 0;
}

static int insert_attempt(struct conn *c, const struct store_notif_attempt *a,
                          struct opsd_error *err)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r, rc;

    r = conn_stmt(c, ST_INSERT_ATTEMPT, &st, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(st, 1, a->notification_id);
    sqlite3_bind_int64(st, 2, (int64_t)a->ts_ms);
    sqlite3_bind_int(st, 3, a->ok);
    sqlite3_bind_int(st, 4, a->http_status);
    sqlite3_bind_int(st, 5, a->took_us);
    bind_text(st, 6, a->error);
    rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        return db_errf(err, c->db, rc, "cannot store attempt of notification %lld",
                       (long long)a->notification_id);
    return 0;
}

static int sq_write(struct store *s, const struct store_batch *b, struct opsd_error *err)
{
    struct sqlite_store *q = to_sq(s);
    struct conn *c = &q->writer;
    _cleanup_turn_ struct turnstile *turn = NULL;
    _cleanup_free_ struct store_rollup *minutes = NULL;
    _cleanup_free_ struct store_rollup *hours = NULL;
    size_t n_minutes, n_hours, i;
    int r;

    store_rollup_aggregate(b, &minutes, &n_minutes, &hours, &n_hours);
    turn = turn_take(&q->turn);

    /* A previous failure whose rollback also failed must not make this
     * batch part of a transaction that is already doomed. */
    conn_rollback(c);
    r = conn_exec(c, ST_BEGIN_IMMEDIATE, "cannot begin writing batch", err);
    if (r < 0)
        goto out;
    for (i = 0; i < b->n_results && r >= 0; i++) {
        r = insert_result(c, &b->results[i], err);
        if (r >= 0)
            r = insert_metrics(c, &b->results[i], err);
    }
    for (i = 0; i < b->n_events && r >= 0; i++)
        r = insert_event(c, &b->events[i], err);
    for (i = 0; i < b->n_memos && r >= 0; i++)
        r = set_memo(c, &b->memos[i], err);
    /* In the order the header promises: a notification about an alert of
     * this batch, and an attempt at a notification of this batch, find
     * their rows already written. */
    for (i = 0; i < b->n_alerts && r >= 0; i++)
        r = upsert_alert(c, &b->alerts[i], err);
    for (i = 0; i < b->n_notifications && r >= 0; i++)
        r = insert_notification(c, &b->notifications[i], err);
    for (i = 0; i < b->n_notif_updates && r >= 0; i++)
        r = update_notification(c, &b->notif_updates[i], err);
    for (i = 0; i < b->n_notif_attempts && r >= 0; i++)
        r = insert_attempt(c, &b->notif_attempts[i], err);
    for (i = 0; i < n_minutes && r >= 0; i++)
        r = upsert_rollup(c, ST_UPSERT_MINUTE, &minutes[i], err);
    for (i = 0; i < n_hours && r >= 0; i++)
        r = upsert_rollup(c, ST_UPSERT_HOUR, &hours[i], err);
    if (r < 0)
        goto out;
    r = conn_exec(c, ST_COMMIT, "cannot commit batch", err);
out:
    if (r < 0)
        conn_rollback(c);
    return r;
}

/* ---- reading ---- */

static int sum_span(struct conn *c, int64_t monitor_id, const struct store_span *span,
                    struct store_uptime *ret, struct opsd_error *err)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r, rc;

    r = conn_stmt(c, span->bucket_ms == STORE_HOUR_MS ? ST_SUM_HOUR : ST_SUM_MINUTE, &st, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(st, 1, monitor_id);
    sqlite3_bind_int64(st, 2, (int64_t)span->start_ms);
    sqlite3_bind_int64(st, 3, (int64_t)span->end_ms);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        return db_errf(err, c->db, rc, "cannot read uptime of monitor %lld", (long long)monitor_id);
    column_uptime(st, 0, ret);
    return 0;
}

static int sq_span_sums(struct store *s, int64_t monitor_id, const struct store_span *spans,
                        size_t n, struct store_uptime *ret, struct opsd_error *err)
{
    struct conn *c = &to_sq(s)->loop;
    size_t i;
    int r;

    /* One read transaction, so a batch committed between the span queries
     * cannot show up in the hour table but not in the minute table. */
    r = conn_exec(c, ST_BEGIN, "cannot read uptime", err);
    if (r < 0)
        return r;
    for (i = 0; i < n && r >= 0; i++)
        r = sum_span(c, monitor_id, &spans[i], &ret[i], err);
    if (r >= 0)
        r = conn_exec(c, ST_COMMIT, "cannot read uptime", err);
    if (r < 0)
        conn_rollback(c);
    return r;
}

static int sq_day_sums(struct store *s, int64_t monitor_id, int64_t first_day, unsigned ndays,
                       struct store_uptime *out, struct opsd_error *err)
{
    struct conn *c = &to_sq(s)->loop;
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r, rc;

    r = conn_stmt(c, ST_DAY_SUMS, &st, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(st, 1, monitor_id);
    sqlite3_bind_int64(st, 2, first_day * (int64_t)STORE_DAY_MS);
    sqlite3_bind_int64(st, 3, (first_day + ndays) * (int64_t)STORE_DAY_MS);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t i = sqlite3_column_int64(st, 0) - first_day;
        struct store_uptime day;

        if (i < 0 || i >= ndays)
            continue;
        column_uptime(st, 1, &day);
        store_uptime_add(&out[i], &day);
    }
    if (rc != SQLITE_DONE)
        return db_errf(err, c->db, rc, "cannot read daily uptime of monitor %lld",
                       (long long)monitor_id);
    return 0;
}

static void column_result(sqlite3_stmt *st, int64_t monitor_id, struct store_result *res)
{
    *res = (struct store_result){
        .monitor_id = monitor_id,
        .ts_ms = (uint64_t)sqlite3_column_int64(st, 0),
        .status = sqlite3_column_int(st, 1),
        .ok = sqlite3_column_int(st, 2) != 0,
        .maintenance = sqlite3_column_int(st, 3) != 0,
        .dns_us = column_opt(st, 4),
        .connect_us = column_opt(st, 5),
        .tls_us = column_opt(st, 6),
        .ttfb_us = column_opt(st, 7),
        .total_us = sqlite3_column_int(st, 8),
        .http_status = column_opt(st, 9),
        .cert_days = column_opt(st, 10),
        .message = (const char *)sqlite3_column_text(st, 11),
        .body = (const char *)sqlite3_column_text(st, 12),
    };
}

static int bind_results(struct conn *c, int64_t monitor_id, uint64_t since_ms, uint64_t until_ms,
                        unsigned limit, sqlite3_stmt **ret, struct opsd_error *err)
{
    int r;

    r = conn_stmt(c, ST_RESULTS, ret, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(*ret, 1, monitor_id);
    sqlite3_bind_int64(*ret, 2, (int64_t)since_ms);
    sqlite3_bind_int64(*ret, 3, (int64_t)until_ms);
    sqlite3_bind_int64(*ret, 4, limit);
    return 0;
}

static int sq_results(struct store *s, int64_t monitor_id, uint64_t since_ms, uint64_t until_ms,
                      unsigned limit, store_result_cb cb, void *userdata, struct opsd_error *err)
{
    struct conn *c = &to_sq(s)->loop;
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r, rc, seen = 0;

    r = bind_results(c, monitor_id, since_ms, until_ms, limit, &st, err);
    if (r < 0)
        return r;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_result res;

        column_result(st, monitor_id, &res);
        seen++;
        r = cb(&res, userdata);
        if (r != 0)
            return r < 0 ? r : seen;
    }
    if (rc != SQLITE_DONE)
        return db_errf(err, c->db, rc, "cannot read results of monitor %lld",
                       (long long)monitor_id);
    return seen;
}

static int sq_events(struct store *s, int64_t monitor_id, uint64_t since_ms, uint64_t until_ms,
                     unsigned limit, store_event_cb cb, void *userdata, struct opsd_error *err)
{
    struct conn *c = &to_sq(s)->loop;
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r, rc, seen = 0;

    r = conn_stmt(c, ST_EVENTS, &st, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(st, 1, monitor_id);
    sqlite3_bind_int64(st, 2, (int64_t)since_ms);
    sqlite3_bind_int64(st, 3, (int64_t)until_ms);
    sqlite3_bind_int64(st, 4, limit);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_event e = {
            .monitor_id = monitor_id,
            .ts_ms = (uint64_t)sqlite3_column_int64(st, 0),
            .from_state = sqlite3_column_int(st, 1),
            .to_state = sqlite3_column_int(st, 2),
            .cause = (const char *)sqlite3_column_text(st, 3),
            .kind = (const char *)sqlite3_column_text(st, 4),
        };

        seen++;
        r = cb(&e, userdata);
        if (r != 0)
            return r < 0 ? r : seen;
    }
    if (rc != SQLITE_DONE)
        return db_errf(err, c->db, rc, "cannot read events of monitor %lld", (long long)monitor_id);
    return seen;
}

static int sq_memo_get(struct store *s, int64_t monitor_id, const char *key, char *buf, size_t len,
                       struct opsd_error *err)
{
    struct conn *c = &to_sq(s)->loop;
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    const char *v;
    int r, rc;

    r = conn_stmt(c, ST_MEMO_GET, &st, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(st, 1, monitor_id);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return -ENOENT;
    if (rc != SQLITE_ROW)
        return db_errf(err, c->db, rc, "cannot read memo of monitor %lld", (long long)monitor_id);
    v = (const char *)sqlite3_column_text(st, 0);
    snprintf(buf, len, "%s", v ? v : "");
    return 0;
}

static int sq_metrics(struct store *s, int64_t monitor_id, const char *name, uint64_t since_ms,
                      uint64_t until_ms, unsigned limit, store_metric_cb cb, void *userdata,
                      struct opsd_error *err)
{
    struct conn *c = &to_sq(s)->loop;
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r, rc, seen = 0;

    r = conn_stmt(c, name ? ST_METRICS_NAMED : ST_METRICS, &st, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(st, 1, monitor_id);
    sqlite3_bind_int64(st, 2, (int64_t)since_ms);
    sqlite3_bind_int64(st, 3, (int64_t)until_ms);
    sqlite3_bind_int64(st, 4, limit);
    if (name)
        bind_text(st, 5, name);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_metric_point p = {
            .ts_ms = (uint64_t)sqlite3_column_int64(st, 0),
            .name = (const char *)sqlite3_column_text(st, 1),
            .value = sqlite3_column_double(st, 2),
            .unit = (const char *)sqlite3_column_text(st, 3),
        };

        seen++;
        r = cb(&p, userdata);
        if (r != 0)
            return r < 0 ? r : seen;
    }
    if (rc != SQLITE_DONE)
        return db_errf(err, c->db, rc, "cannot read metrics of monitor %lld",
                       (long long)monitor_id);
    return seen;
}

static int sq_last_result(struct store *s, int64_t monitor_id, struct store_result *ret,
                          char *msgbuf, size_t msglen, struct opsd_error *err)
{
    struct conn *c = &to_sq(s)->loop;
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    struct store_result res;
    int r, rc;

    r = bind_results(c, monitor_id, 0, STORE_TS_MAX, 1, &st, err);
    if (r < 0)
        return r;
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return opsd_errorf(err, -ENOENT, "no results for monitor %lld", (long long)monitor_id);
    if (rc != SQLITE_ROW)
        return db_errf(err, c->db, rc, "cannot read last result of monitor %lld",
                       (long long)monitor_id);
    column_result(st, monitor_id, &res);
    res.body = NULL; /* not copied: the last result's body is read from results */
    if (res.message && msglen > 0) {
        snprintf(msgbuf, msglen, "%s", res.message);
        res.message = msgbuf;
    } else {
        res.message = NULL;
    }
    *ret = res;
    return 0;
}

/* ---- reading alerts and notifications ---- */

static const char *column_str(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

static uint64_t column_u64(sqlite3_stmt *st, int i)
{
    return (uint64_t)sqlite3_column_int64(st, i);
}

/* Copies the strings *fields[0..n) into one block and points them at their
 * copies (NULL stays NULL). Returns the block, which the caller owns. */
static char *pack_strings(const char **const fields[], size_t n)
{
    size_t total = 1, i, len;
    char *block, *p;

    for (i = 0; i < n; i++)
        if (*fields[i])
            total += strlen(*fields[i]) + 1;
    block = p = xmalloc(total);
    for (i = 0; i < n; i++) {
        if (!*fields[i])
            continue;
        len = strlen(*fields[i]) + 1;
        memcpy(p, *fields[i], len);
        *fields[i] = p;
        p += len;
    }
    return block;
}

static int max_id(struct conn *c, enum stmt_id id, const char *what, int64_t *ret_id,
                  struct opsd_error *err)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r, rc;

    r = conn_stmt(c, id, &st, err);
    if (r < 0)
        return r;
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        return db_errf(err, c->db, rc, "cannot read the largest %s id", what);
    *ret_id = sqlite3_column_int64(st, 0);
    return 0;
}

static int sq_alert_max_id(struct store *s, int64_t *ret_id, struct opsd_error *err)
{
    return max_id(&to_sq(s)->loop, ST_ALERT_MAX_ID, "alert", ret_id, err);
}

static int sq_notification_max_id(struct store *s, int64_t *ret_id, struct opsd_error *err)
{
    return max_id(&to_sq(s)->loop, ST_NOTIF_MAX_ID, "notification", ret_id, err);
}

/* From a row of ALERT_COLS; strings valid until the statement moves on. */
static void column_alert(sqlite3_stmt *st, struct store_alert *a)
{
    const char *fp = column_str(st, 1);

    *a = (struct store_alert){
        .id = sqlite3_column_int64(st, 0),
        /* The schema's CHECK keeps it 16 hex digits. */
        .fingerprint = fp ? strtoull(fp, NULL, 16) : 0,
        .monitor = column_str(st, 2),
        .source = column_str(st, 3),
        .severity = sqlite3_column_int(st, 4),
        .state = sqlite3_column_int(st, 5),
        .labels_json = column_str(st, 6),
        .summary = column_str(st, 7),
        .message = column_str(st, 8),
        .suppressed = column_str(st, 9),
        .starts_ms = column_u64(st, 10),
        .updated_ms = column_u64(st, 11),
        .acked_ms = column_u64(st, 12),
        .acked_by = column_str(st, 13),
        .resolved_ms = column_u64(st, 14),
        .review = sqlite3_column_int(st, 15),
        .review_by = column_str(st, 16),
        .reviewed_ms = column_u64(st, 17),
        .review_comment = column_str(st, 18),
        .ends_ms = column_u64(st, 19),
    };
}

static int sq_alerts(struct store *s, const struct store_alert_filter *f, store_alert_cb cb,
                     void *userdata, struct opsd_error *err)
{
    struct conn *c = &to_sq(s)->loop;
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int shape = (f->open_only ? ALERTS_OPEN : 0) | (f->monitor ? ALERTS_MONITOR : 0);
    int r, rc, seen = 0;

    r = conn_stmt(c, (enum stmt_id)(ST_ALERTS + shape), &st, err);
    if (r < 0)
        return r;
    sqlite3_bind_int(st, 1, f->state);
    sqlite3_bind_int64(st, 2, (int64_t)f->since_ms);
    sqlite3_bind_int64(st, 3, (int64_t)f->until_ms);
    sqlite3_bind_int64(st, 4, f->limit);
    if (f->monitor)
        bind_str(st, 5, f->monitor);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_alert a;

        column_alert(st, &a);
        seen++;
        r = cb(&a, userdata);
        if (r != 0)
            return r < 0 ? r : seen;
    }
    if (rc != SQLITE_DONE)
        return db_errf(err, c->db, rc, "cannot read alerts");
    return seen;
}

static int sq_alert_get(struct store *s, int64_t id, struct store_alert *ret,
                        struct opsd_error *err)
{
    struct sqlite_store *q = to_sq(s);
    struct conn *c = &q->loop;
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    struct store_alert a;
    int r, rc;

    r = conn_stmt(c, ST_ALERT_GET, &st, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return opsd_errorf(err, -ENOENT, "no alert %lld", (long long)id);
    if (rc != SQLITE_ROW)
        return db_errf(err, c->db, rc, "cannot read alert %lld", (long long)id);
    column_alert(st, &a);
    {
        const char **const fields[] = { &a.monitor,     &a.summary,   &a.source,
                                        &a.labels_json, &a.message,   &a.suppressed,
                                        &a.acked_by,    &a.review_by, &a.review_comment };

        /* The statement is reset on return, taking its column texts with
         * it: the caller reads copies, replaced by the next call. */
        free(q->alert_scratch);
        q->alert_scratch = pack_strings(fields, ARRAY_SIZE(fields));
    }
    *ret = a;
    return 0;
}

static void column_notification(sqlite3_stmt *st, struct store_notification *n)
{
    *n = (struct store_notification){
        .id = sqlite3_column_int64(st, 0),
        .idempotency_key = column_str(st, 1),
        .receiver = column_str(st, 2),
        .reason = column_str(st, 3),
        .group_key = column_str(st, 4),
        .alert_ids = column_str(st, 5),
        .payload_json = column_str(st, 6),
        .state = sqlite3_column_int(st, 7),
        .attempts = (unsigned)sqlite3_column_int64(st, 8),
        .created_ms = column_u64(st, 9),
        .next_attempt_ms = column_u64(st, 10),
        .last_attempt_ms = column_u64(st, 11),
        .done_ms = column_u64(st, 12),
        .last_error = column_str(st, 13),
    };
}

static int sq_notifications(struct store *s, const struct store_notification_filter *f,
                            store_notification_cb cb, void *userdata, struct opsd_error *err)
{
    struct conn *c = &to_sq(s)->loop;
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int shape = (f->state ? NOTIFS_STATE : 0) | (f->alert_id ? NOTIFS_ALERT : 0) |
                (f->oldest_first ? NOTIFS_OLDEST : 0);
    int r, rc, seen = 0;

    r = conn_stmt(c, (enum stmt_id)(ST_NOTIFS + shape), &st, err);
    if (r < 0)
        return r;
    if (f->state)
        sqlite3_bind_int(st, 1, f->state);
    sqlite3_bind_int64(st, 2, (int64_t)f->since_ms);
    sqlite3_bind_int64(st, 3, f->limit);
    if (f->alert_id)
        sqlite3_bind_int64(st, 4, f->alert_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_notification n;

        column_notification(st, &n);
        seen++;
        r = cb(&n, userdata);
        if (r != 0)
            return r < 0 ? r : seen;
    }
    if (rc != SQLITE_DONE)
        return db_errf(err, c->db, rc, "cannot read notifications");
    return seen;
}

static int sq_notification_get(struct store *s, int64_t id, store_notification_cb cb,
                               void *userdata, struct opsd_error *err)
{
    struct conn *c = &to_sq(s)->loop;
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    struct store_notification n;
    int r, rc;

    r = conn_stmt(c, ST_NOTIF_GET, &st, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return opsd_errorf(err, -ENOENT, "no notification %lld", (long long)id);
    if (rc != SQLITE_ROW)
        return db_errf(err, c->db, rc, "cannot read notification %lld", (long long)id);
    column_notification(st, &n);
    r = cb(&n, userdata);
    return r < 0 ? r : 1;
}

static int sq_notif_attempts(struct store *s, int64_t notification_id, unsigned limit,
                             store_notif_attempt_cb cb, void *userdata, struct opsd_error *err)
{
    struct conn *c = &to_sq(s)->loop;
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r, rc, seen = 0;

    r = conn_stmt(c, ST_NOTIF_ATTEMPTS, &st, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(st, 1, notification_id);
    sqlite3_bind_int64(st, 2, limit);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_notif_attempt a = {
            .notification_id = notification_id,
            .ts_ms = column_u64(st, 0),
            .ok = sqlite3_column_int(st, 1) != 0,
            .http_status = sqlite3_column_int(st, 2),
            .took_us = sqlite3_column_int(st, 3),
            .error = column_str(st, 4),
        };

        seen++;
        r = cb(&a, userdata);
        if (r != 0)
            return r < 0 ? r : seen;
    }
    if (rc != SQLITE_DONE)
        return db_errf(err, c->db, rc, "cannot read attempts of notification %lld",
                       (long long)notification_id);
    return seen;
}

static int sq_alert_timings(struct store *s, uint64_t since_ms, uint64_t until_ms,
                            store_alert_timing_cb cb, void *userdata, struct opsd_error *err)
{
    struct conn *c = &to_sq(s)->loop;
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r, rc, seen = 0;

    r = conn_stmt(c, ST_ALERT_TIMINGS, &st, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(st, 1, (int64_t)since_ms);
    sqlite3_bind_int64(st, 2, (int64_t)until_ms);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_alert_timing t = {
            .id = sqlite3_column_int64(st, 0),
            .severity = sqlite3_column_int(st, 1),
            .state = sqlite3_column_int(st, 2),
            .review = sqlite3_column_int(st, 3),
            .starts_ms = column_u64(st, 4),
            .acked_ms = column_u64(st, 5),
            .resolved_ms = column_u64(st, 6),
        };

        seen++;
        r = cb(&t, userdata);
        if (r != 0)
            return r < 0 ? r : seen;
    }
    if (rc != SQLITE_DONE)
        return db_errf(err, c->db, rc, "cannot read alert timings");
    return seen;
}

/* ---- silences, tokens and reviews ---- */

/* Opens a write transaction on the durable connection, holding the turn
 * (which *turn keeps until the caller's scope ends). */
static int durable_begin(struct sqlite_store *q, struct turnstile **turn, const char *what,
                         struct opsd_error *err)
{
    *turn = turn_take(&q->turn);
    conn_rollback(&q->durable);
    return conn_exec(&q->durable, ST_BEGIN_IMMEDIATE, what, err);
}

/* Commits r's transaction if r says so, else rolls it back; returns r or
 * the commit's failure. */
static int durable_end(struct sqlite_store *q, int r, struct opsd_error *err)
{
    if (r >= 0)
        r = conn_exec(&q->durable, ST_COMMIT, "cannot commit", err);
    if (r < 0)
        conn_rollback(&q->durable);
    return r;
}

static int sq_silence_add(struct store *s, const struct store_silence *si, int64_t *ret_id,
                          struct opsd_error *err)
{
    struct sqlite_store *q = to_sq(s);
    struct conn *c = &q->durable;
    _cleanup_turn_ struct turnstile *turn = NULL;
    int64_t id = 0;
    int r;

    r = durable_begin(q, &turn, "cannot begin adding silence", err);
    if (r >= 0) {
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int rc;

        r = conn_stmt(c, ST_SILENCE_ADD, &st, err);
        if (r >= 0) {
            bind_str(st, 1, si->matchers_json);
            sqlite3_bind_int64(st, 2, (int64_t)si->starts_ms);
            sqlite3_bind_int64(st, 3, (int64_t)si->ends_ms);
            bind_text(st, 4, si->author);
            bind_text(st, 5, si->comment);
            sqlite3_bind_int64(st, 6, (int64_t)si->created_ms);
            sqlite3_bind_int64(st, 7, (int64_t)si->expired_ms);
            rc = sqlite3_step(st);
            if (rc != SQLITE_DONE)
                r = db_errf(err, c->db, rc, "cannot add silence");
            else
                id = sqlite3_last_insert_rowid(c->db);
        }
    }
    r = durable_end(q, r, err);
    if (r < 0)
        return r;
    *ret_id = id;
    return 0;
}

/* Runs a one-row write on the durable connection; returns rows changed. */
static int durable_change(struct conn *c, enum stmt_id id, int64_t key, const char *text,
                          uint64_t at_ms, struct opsd_error *err)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r, rc;

    r = conn_stmt(c, id, &st, err);
    if (r < 0)
        return r;
    if (text)
        bind_str(st, 1, text);
    else
        sqlite3_bind_int64(st, 1, key);
    sqlite3_bind_int64(st, 2, (int64_t)at_ms);
    rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        return db_errf(err, c->db, rc, "cannot update row");
    return (int)sqlite3_changes64(c->db);
}

/* 1 if the statement (one bound text or id) returns a row, 0 if not. */
static int row_exists(struct conn *c, enum stmt_id id, int64_t key, const char *text,
                      struct opsd_error *err)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r, rc;

    r = conn_stmt(c, id, &st, err);
    if (r < 0)
        return r;
    if (text)
        bind_str(st, 1, text);
    else
        sqlite3_bind_int64(st, 1, key);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc != SQLITE_DONE)
        return db_errf(err, c->db, rc, "cannot look up row");
    return 0;
}

static int sq_silence_expire(struct store *s, int64_t id, uint64_t at_ms, struct opsd_error *err)
{
    struct sqlite_store *q = to_sq(s);
    _cleanup_turn_ struct turnstile *turn = NULL;
    int r;

    r = durable_begin(q, &turn, "cannot begin expiring silence", err);
    if (r >= 0)
        r = durable_change(&q->durable, ST_SILENCE_EXPIRE, id, NULL, at_ms, err);
    if (r == 0) {
        /* Nothing changed: tell "no such silence" from "already over". */
        r = row_exists(&q->durable, ST_SILENCE_EXISTS, id, NULL, err);
        if (r == 0)
            r = opsd_errorf(err, -ENOENT, "no silence %lld", (long long)id);
        else if (r > 0)
            r = opsd_errorf(err, -EALREADY, "silence %lld has already ended", (long long)id);
    }
    r = durable_end(q, r, err);
    return r < 0 ? r : 0;
}

static int sq_alert_set_review(struct store *s, int64_t id, const struct store_review *rv,
                               struct opsd_error *err)
{
    struct sqlite_store *q = to_sq(s);
    struct conn *c = &q->durable;
    _cleanup_turn_ struct turnstile *turn = NULL;
    int r;

    r = durable_begin(q, &turn, "cannot begin reviewing alert", err);
    if (r >= 0) {
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int rc;

        r = conn_stmt(c, ST_ALERT_REVIEW, &st, err);
        if (r >= 0) {
            sqlite3_bind_int64(st, 1, id);
            sqlite3_bind_int(st, 2, rv->review);
            bind_str(st, 3, rv->by);
            bind_str(st, 4, rv->comment);
            sqlite3_bind_int64(st, 5, (int64_t)rv->at_ms);
            rc = sqlite3_step(st);
            if (rc != SQLITE_DONE)
                r = db_errf(err, c->db, rc, "cannot review alert %lld", (long long)id);
            else if (sqlite3_changes64(c->db) == 0)
                r = opsd_errorf(err, -ENOENT, "no alert %lld", (long long)id);
        }
    }
    r = durable_end(q, r, err);
    return r < 0 ? r : 0;
}

static int sq_silences(struct store *s, uint64_t since_ms, unsigned limit, store_silence_cb cb,
                       void *userdata, struct opsd_error *err)
{
    struct conn *c = &to_sq(s)->loop;
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r, rc, seen = 0;

    r = conn_stmt(c, ST_SILENCES, &st, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(st, 1, (int64_t)since_ms);
    sqlite3_bind_int64(st, 2, limit);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_silence si = {
            .id = sqlite3_column_int64(st, 0),
            .matchers_json = column_str(st, 1),
            .starts_ms = column_u64(st, 2),
            .ends_ms = column_u64(st, 3),
            .author = column_str(st, 4),
            .comment = column_str(st, 5),
            .created_ms = column_u64(st, 6),
            .expired_ms = column_u64(st, 7),
        };

        seen++;
        r = cb(&si, userdata);
        if (r != 0)
            return r < 0 ? r : seen;
    }
    if (rc != SQLITE_DONE)
        return db_errf(err, c->db, rc, "cannot read silences");
    return seen;
}

static int insert_token(struct conn *c, const struct store_token *t, int64_t *ret_id,
                        struct opsd_error *err)
{
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r, rc;

    r = conn_stmt(c, ST_TOKEN_ADD, &st, err);
    if (r < 0)
        return r;
    bind_str(st, 1, t->name);
    bind_str(st, 2, t->hash);
    bind_str(st, 3, t->prefix);
    sqlite3_bind_int(st, 4, t->scope);
    sqlite3_bind_int64(st, 5, (int64_t)t->created_ms);
    sqlite3_bind_int64(st, 6, (int64_t)t->last_used_ms);
    sqlite3_bind_int64(st, 7, (int64_t)t->revoked_ms);
    rc = sqlite3_step(st);
    /* The name was checked first, so this is the hash: the same secret
     * stored twice. */
    if (rc == SQLITE_CONSTRAINT_UNIQUE)
        return opsd_errorf(err, -EEXIST, "cannot add token '%s': that token is already stored",
                           t->name);
    if (rc != SQLITE_DONE)
        return db_errf(err, c->db, rc, "cannot add token '%s'", t->name);
    *ret_id = sqlite3_last_insert_rowid(c->db);
    return 0;
}

static int sq_token_add(struct store *s, const struct store_token *t, int64_t *ret_id,
                        struct opsd_error *err)
{
    struct sqlite_store *q = to_sq(s);
    _cleanup_turn_ struct turnstile *turn = NULL;
    int64_t id = 0;
    int r;

    r = durable_begin(q, &turn, "cannot begin adding token", err);
    if (r >= 0 && t->revoked_ms == 0) {
        r = row_exists(&q->durable, ST_TOKEN_LIVE_NAME, 0, t->name, err);
        if (r > 0)
            r = opsd_errorf(err, -EEXIST, "a live token named '%s' exists already", t->name);
    }
    if (r >= 0)
        r = insert_token(&q->durable, t, &id, err);
    r = durable_end(q, r, err);
    if (r < 0)
        return r;
    *ret_id = id;
    return 0;
}

static void column_token(sqlite3_stmt *st, struct store_token *t)
{
    *t = (struct store_token){
        .id = sqlite3_column_int64(st, 0),
        .name = column_str(st, 1),
        .hash = column_str(st, 2),
        .prefix = column_str(st, 3),
        .scope = sqlite3_column_int(st, 4),
        .created_ms = column_u64(st, 5),
        .last_used_ms = column_u64(st, 6),
        .revoked_ms = column_u64(st, 7),
    };
}

static int sq_token_find(struct store *s, const char *hash, struct store_token *ret,
                         struct opsd_error *err)
{
    struct sqlite_store *q = to_sq(s);
    struct conn *c = &q->loop;
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    struct store_token t;
    int r, rc;

    r = conn_stmt(c, ST_TOKEN_FIND, &st, err);
    if (r < 0)
        return r;
    bind_str(st, 1, hash);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return opsd_errorf(err, -ENOENT, "no such token");
    if (rc != SQLITE_ROW)
        return db_errf(err, c->db, rc, "cannot look up token");
    column_token(st, &t);
    {
        const char **const fields[] = { &t.name, &t.hash, &t.prefix };

        free(q->token_scratch);
        q->token_scratch = pack_strings(fields, ARRAY_SIZE(fields));
    }
    *ret = t;
    return 0;
}

static int sq_tokens(struct store *s, unsigned limit, store_token_cb cb, void *userdata,
                     struct opsd_error *err)
{
    struct conn *c = &to_sq(s)->loop;
    _cleanup_reset_ sqlite3_stmt *st = NULL;
    int r, rc, seen = 0;

    r = conn_stmt(c, ST_TOKENS, &st, err);
    if (r < 0)
        return r;
    sqlite3_bind_int64(st, 1, limit);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_token t;

        column_token(st, &t);
        seen++;
        r = cb(&t, userdata);
        if (r != 0)
            return r < 0 ? r : seen;
    }
    if (rc != SQLITE_DONE)
        return db_errf(err, c->db, rc, "cannot read tokens");
    return seen;
}

static int sq_token_revoke(struct store *s, const char *name, int64_t id, uint64_t at_ms,
                           struct opsd_error *err)
{
    struct sqlite_store *q = to_sq(s);
    _cleanup_turn_ struct turnstile *turn = NULL;
    int r;

    r = durable_begin(q, &turn, "cannot begin revoking token", err);
    /* A name wins over an id: "12" names the token called 12 if there is
     * one, else token 12. */
    if (r >= 0)
        r = durable_change(&q->durable, ST_TOKEN_REVOKE_NAME, 0, name, at_ms, err);
    if (r == 0 && id > 0)
        r = durable_change(&q->durable, ST_TOKEN_REVOKE_ID, id, NULL, at_ms, err);
    if (r == 0)
        r = opsd_errorf(err, -ENOENT, "no live token '%s'", name);
    r = durable_end(q, r, err);
    return r < 0 ? r : 0;
}

/* ---- pruning ---- */

static int prune_table(struct sqlite_store *q, enum stmt_id id, uint64_t before, int64_t *total,
                       struct opsd_error *err)
{
    struct conn *c = &q->writer;

    for (;;) {
        _cleanup_turn_ struct turnstile *turn = NULL;
        _cleanup_reset_ sqlite3_stmt *st = NULL;
        int64_t n;
        int r, rc;

        r = conn_stmt(c, id, &st, err);
        if (r < 0)
            return r;
        sqlite3_bind_int64(st, 1, (int64_t)before);
        sqlite3_bind_int(st, 2, PRUNE_CHUNK);
        /* Each chunk is its own autocommit transaction, committed when the
         * step is done, so a waiting writer gets its turn between chunks. */
        turn = turn_take(&q->turn);
        rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
            return db_errf(err, c->db, rc, "cannot prune old rows");
        n = sqlite3_changes64(c->db);
        *total += n;
        if (n < PRUNE_CHUNK)
            return 0;
    }
}

static int sq_prune(struct store *s, uint64_t before_ms, uint64_t hour_before_ms,
                    struct opsd_error *err)
{
    struct sqlite_store *q = to_sq(s);
    int64_t total = 0;
    int r;

    conn_rollback(&q->writer);

    r = prune_table(q, ST_PRUNE_RESULTS, before_ms, &total, err);
    if (r < 0)
        return r;
    r = prune_table(q, ST_PRUNE_METRICS, before_ms, &total, err);
    if (r < 0)
        return r;
    /* A bucket goes only once it ends at or before the cut, so a rollup is
     * never pruned while raw results inside it remain. */
    r = prune_table(q, ST_PRUNE_MINUTE, before_ms - before_ms % STORE_MINUTE_MS, &total, err);
    if (r < 0)
        return r;
    r = prune_table(q, ST_PRUNE_HOUR, hour_before_ms - hour_before_ms % STORE_HOUR_MS, &total, err);
    if (r < 0)
        return r;
    return (int)MIN(total, (int64_t)INT_MAX);
}

static const struct store_ops sqlite_ops = {
    .name = "sqlite",
    .close = sq_close,
    .integrity_check = sq_integrity_check,
    .monitor_ensure = sq_monitor_ensure,
    .monitor_state = sq_monitor_state,
    .write = sq_write,
    .span_sums = sq_span_sums,
    .day_sums = sq_day_sums,
    .results = sq_results,
    .events = sq_events,
    .metrics = sq_metrics,
    .memo_get = sq_memo_get,
    .last_result = sq_last_result,
    .alert_max_id = sq_alert_max_id,
    .notification_max_id = sq_notification_max_id,
    .alerts = sq_alerts,
    .alert_get = sq_alert_get,
    .alert_timings = sq_alert_timings,
    .notifications = sq_notifications,
    .notification_get = sq_notification_get,
    .notif_attempts = sq_notif_attempts,
    .silence_add = sq_silence_add,
    .silence_expire = sq_silence_expire,
    .silences = sq_silences,
    .alert_set_review = sq_alert_set_review,
    .token_add = sq_token_add,
    .token_find = sq_token_find,
    .tokens = sq_tokens,
    .token_revoke = sq_token_revoke,
    .prune = sq_prune,
};
