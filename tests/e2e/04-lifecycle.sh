#!/bin/bash
# The daemon's life: SIGHUP reload (added monitors start, removed ones stop,
# changed ones keep their history, an invalid config keeps the old one),
# SIGTERM with nothing lost, restart with history, and kill -9 with every
# committed result kept and an intact database.
. "$(dirname "$0")/lib.sh"

start_target
new_port
write_config() { # $1 = extra monitors
    cat >"$T/opsd.yaml" <<YAML
server: {listen: "127.0.0.1:$PORT", data_dir: "$T/data"}
monitors:
  - {name: a, type: http, url: "http://127.0.0.1:$TPORT/", interval: 1s, timeout: 800ms, confirm: 1}
$1
YAML
}
write_config "  - {name: b, type: tcp, host: 127.0.0.1, port: $TPORT, interval: 1s, timeout: 800ms, confirm: 1}"
start_opsd "$T/opsd.yaml"
eventually 10 "both monitors up" bash -c "[ \$(curl -s $URL/api/v1/monitors/a | jq -r .state) = up ] && [ \$(curl -s $URL/api/v1/monitors/b | jq -r .state) = up ]"

# --- reload: remove b, add c, change a's interval
checks_a=$(api /api/v1/monitors/a | jq .checks_total)
write_config "  - {name: c, type: tcp, host: 127.0.0.1, port: $TPORT, interval: 1s, timeout: 800ms, confirm: 1}"
sed -i 's/name: a, type: http, url: "\([^"]*\)", interval: 1s/name: a, type: http, url: "\1", interval: 2s/' "$T/opsd.yaml"
kill -HUP "$OPSD_PID"
eventually 10 "SIGHUP: the added monitor starts" state_is c up
check "SIGHUP: the removed monitor is gone" [ "$(status_code "$URL/api/v1/monitors/b")" = 404 ]
check "SIGHUP: the changed monitor has its new interval" [ "$(api /api/v1/monitors/a | jq .interval_s)" = 2 ]
check "SIGHUP: the changed monitor keeps its state and counters" \
    bash -c "[ \$(curl -s $URL/api/v1/monitors/a | jq -r .state) = up ] && [ \$(curl -s $URL/api/v1/monitors/a | jq .checks_total) -ge $checks_a ]"
eventually 5 "SIGHUP: the changed monitor keeps its stored history" \
    bash -c "[ \$(curl -s '$URL/api/v1/monitors/a/results?limit=1000' | jq '.results | length') -ge $checks_a ]"

cp "$T/opsd.yaml" "$T/good.yaml"
printf 'server: {listen: "127.0.0.1:%s"}\nmonitors:\n  - {name: x, type: http}\n' "$PORT" >"$T/opsd.yaml"
kill -HUP "$OPSD_PID"
eventually 5 "an invalid config on SIGHUP is logged with its location" grep -q 'event=config_error line=3' "$T/opsd.log"
check "an invalid config keeps the old one running" \
    bash -c "[ \$(curl -s $URL/api/v1/monitors | jq -r '[.monitors[].name] | join(\",\")') = a,c ]"
cp "$T/good.yaml" "$T/opsd.yaml"

# --- SIGTERM: nothing lost
n=$(api /api/v1/monitors/c | jq .checks_total)
wait_for 10 bash -c "[ \$(curl -s $URL/api/v1/monitors/c | jq .checks_total) -ge $((n + 2)) ]"
stop_opsd
check "SIGTERM exits 0" [ "$STOP_RC" -eq 0 ]
checks_done=$(checks_done_at_stop)
written=$(grep 'event=engine_stopped' "$T/opsd.log" | tail -n1 | sed -n 's/.*results_written=\([0-9]*\).*/\1/p')
rows=$(sqlite3 "$T/data/opsd.db" 'select count(*) from results')
check "every check done was written (checks_done=$checks_done written=$written)" [ "$checks_done" = "$written" ]
check "the database holds every result, no more and no less ($rows rows)" [ "$rows" = "$written" ]
check "integrity_check is ok after a clean stop" [ "$(sqlite3 "$T/data/opsd.db" 'pragma integrity_check')" = ok ]

# --- restart keeps history
since_before=$(sqlite3 "$T/data/opsd.db" "select max(ts_ms) from events e join monitors m on m.id=e.monitor_id where m.name='a' and e.to_state=1")
start_opsd "$T/opsd.yaml"
check "after restart the results are still there" \
    bash -c "[ \$(curl -s '$URL/api/v1/monitors/a/results?limit=10000' | jq '.results | length') -ge $((rows / 3)) ]"
since_iso=$(date -u -d "@$((since_before / 1000))" +%Y-%m-%dT%H:%M:%S)
check "after restart the state comes back with its original since ($since_iso)" \
    bash -c "[ \$(curl -s $URL/api/v1/monitors/a | jq -r .state) = up ] && curl -s $URL/api/v1/monitors/a | jq -r .since | grep -q '^$since_iso'"
check "after restart the last result is known before any new check" \
    bash -c "curl -s $URL/api/v1/monitors/c | jq -e '.last_result != null' >/dev/null"
check "24 h uptime is computed from stored history" \
    bash -c "curl -s $URL/api/v1/monitors/a | jq -e '.uptime[\"24h\"] > 0' >/dev/null"

# --- kill -9: committed results survive, database intact
# Wait until the restarted server has committed new results, then crash it.
wait_for 10 bash -c "[ \$(sqlite3 $T/data/opsd.db 'select count(*) from results') -ge $((rows + 4)) ]"
committed=$(sqlite3 "$T/data/opsd.db" 'select count(*) from results')
kill -KILL "$OPSD_PID"
{ wait "$OPSD_PID"; } 2>/dev/null
OPSD_PID=
check "integrity_check is ok after kill -9" [ "$(sqlite3 "$T/data/opsd.db" 'pragma integrity_check')" = ok ]
rows2=$(sqlite3 "$T/data/opsd.db" 'select count(*) from results')
check "results committed before kill -9 are there ($rows2 >= $committed > $rows)" \
    bash -c "[ $rows2 -ge $committed ] && [ $committed -gt $rows ]"
start_opsd "$T/opsd.yaml"
check "opsd starts again after kill -9" [ "$(status_code "$URL/healthz")" = 200 ]
check "and sees the results committed before the kill" \
    bash -c "[ \$(curl -s '$URL/api/v1/monitors/a/results?limit=10000' | jq '.results | length') -ge 1 ]"
stop_opsd
check "SIGTERM exits 0 after a crash recovery" [ "$STOP_RC" -eq 0 ]
finish
