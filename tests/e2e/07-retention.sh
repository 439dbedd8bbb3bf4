#!/bin/bash
# Retention: raw results older than server.retention are pruned by the
# running server (first pass a few seconds after start), newer ones stay,
# and the hour rollups that keep 90-day uptime survive the prune.
. "$(dirname "$0")/lib.sh"

new_port
cat >"$T/opsd.yaml" <<YAML
server: {listen: "127.0.0.1:$PORT", data_dir: "$T/data", retention: 2d}
monitors:
  - {name: job, type: heartbeat, token: "job-token-0123456789abcdef", period: 1h, grace: 1h}
YAML
start_opsd "$T/opsd.yaml"
stop_opsd

# Backfill three results a day for the last five days, as an older opsd
# would have written them (with their rollups).
now=$(date +%s)
id=$(sqlite3 "$T/data/opsd.db" "select id from monitors where name='job'")
for d in 1 2 3 4 5; do
    for k in 0 1 2; do
        ts=$(( (now - d * 86400 - k * 3600) * 1000 ))
        hour=$(( ts - ts % 3600000 ))
        min=$(( ts - ts % 60000 ))
        sqlite3 "$T/data/opsd.db" "insert into results(monitor_id, ts_ms, status, ok, maintenance, total_us, message)
            values($id, $ts, 0, 1, 0, 1000, 'backfill');
          insert into rollup_minute values($id, $min, 1, 0, 1000, 1000, 1000);
          insert into rollup_hour values($id, $hour, 1, 0, 1000, 1000, 1000);"
    done
done
check "backfill wrote 15 raw results" [ "$(sqlite3 "$T/data/opsd.db" 'select count(*) from results')" = 15 ]

start_opsd "$T/opsd.yaml"
eventually 20 "the server prunes on its own soon after start" grep -q 'event=pruned rows=' "$T/opsd.log"
cut_ms=$(( (now - 2 * 86400) * 1000 ))
check "results older than retention (2d) are gone" \
    [ "$(sqlite3 "$T/data/opsd.db" "select count(*) from results where ts_ms < $cut_ms - 60000")" = 0 ]
check "results inside retention stay (day 1: 3 results)" \
    [ "$(sqlite3 "$T/data/opsd.db" "select count(*) from results where message = 'backfill' and ts_ms >= $cut_ms")" -ge 3 ]
check "hour rollups older than retention are kept for long-term uptime" \
    [ "$(sqlite3 "$T/data/opsd.db" "select count(*) from rollup_hour where bucket_ms < $cut_ms")" -ge 9 ]
# The restored last success (a day ago) is past period + grace, so the
# heartbeat records one failure at start: 15 ok of 16 in 30 days.
check "the 30-day uptime still counts the pruned days (15 ok of 16)" \
    bash -c "curl -s $URL/api/v1/monitors/job | jq -e '.uptime[\"30d\"] == 0.9375' >/dev/null"
check "the missed-deadline message names the restored last success, not 'never'" \
    bash -c "curl -s $URL/api/v1/monitors/job | jq -r .last_result.message | grep -q 'last success: 20'"
stop_opsd
check "SIGTERM exits 0" [ "$STOP_RC" -eq 0 ]
finish
