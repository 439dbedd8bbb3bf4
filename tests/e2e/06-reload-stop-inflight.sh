#!/bin/bash
# Reloads and stops while checks are in flight: a reload that removes a
# monitor mid-check cancels that check (no result is written for it) and
# hands its place under max_concurrency to the queued one; SIGHUP after
# SIGTERM is ignored and the stop still ends; a check that would hang past
# the stop's 10 s drain is abandoned rather than holding the stop.
. "$(dirname "$0")/lib.sh"

start_target
target_mode slow # every request takes 5 s
new_port
cat >"$T/opsd.yaml" <<YAML
server: {listen: "127.0.0.1:$PORT", data_dir: "$T/data", max_concurrency: 1}
monitors:
  - {name: slow, type: http, url: "http://127.0.0.1:$TPORT/", interval: 5s, timeout: 4s, confirm: 1}
  - {name: waiting, type: tcp, host: 127.0.0.1, port: $TPORT, interval: 5s, timeout: 4s, confirm: 1}
YAML
start_opsd "$T/opsd.yaml"
slow_in_flight_waiting_queued() { [ "$(metric opsd_checks_in_flight)" = 1 ] && [ "$(metric opsd_checks_queued)" = 1 ] && [ "$(api /api/v1/monitors/slow | jq .checks_total)" = 0 ]; }
# Wait for the moment the slow check runs and the other waits behind it.
eventually 15 "the slow check runs while the other waits in the queue" slow_in_flight_waiting_queued

sed -i '/name: slow,/d' "$T/opsd.yaml"
kill -HUP "$OPSD_PID"
eventually 5 "after the reload the removed monitor is gone" bash -c "[ \$(curl -s -o /dev/null -w '%{http_code}' $URL/api/v1/monitors/slow) = 404 ]"
eventually 5 "the queued check runs at once in the freed place" \
    bash -c "[ \$(curl -s $URL/api/v1/monitors/waiting | jq .checks_total) -ge 1 ]"
check "nothing is left queued for the removed monitor" [ "$(metric opsd_checks_queued)" = 0 ]

# SIGTERM while a check is in flight, then SIGHUP during the drain: the
# reload is ignored, the check finishes and is stored, and opsd exits 0.
cat >>"$T/opsd.yaml" <<YAML
  - {name: slow2, type: http, url: "http://127.0.0.1:$TPORT/", interval: 5s, timeout: 3s, confirm: 1}
YAML
kill -HUP "$OPSD_PID"
in_flight_is() { [ "$(metric opsd_checks_in_flight)" = "$1" ]; }
slow2_in_flight() { grep -q 'added=1' "$T/opsd.log" && in_flight_is 1; }
eventually 15 "a new slow check is in flight" slow2_in_flight
kill -TERM "$OPSD_PID"
wait_for 5 grep -q 'event=engine_stopping in_flight=1' "$T/opsd.log"
kill -HUP "$OPSD_PID"
wait_opsd
check "SIGHUP during the stop is ignored and opsd exits 0 (rc=$STOP_RC)" [ "$STOP_RC" -eq 0 ]
check "the stop waited only for the in-flight check (under 10 s)" [ "$STOP_SECS" -lt 10 ]
check "the ignored reload is logged" grep -q 'event=reload_ignored' "$T/opsd.log"
rows=$(sqlite3 "$T/data/opsd.db" "select count(*) from results r join monitors m on m.id=r.monitor_id where m.name='slow'")
check "the cancelled check of the removed monitor wrote no result" [ "$rows" = 0 ]
checks_done=$(checks_done_at_stop)
all_rows=$(sqlite3 "$T/data/opsd.db" 'select count(*) from results')
check "every finished check, the drained one too, was stored ($all_rows rows, $checks_done done)" \
    bash -c "[ '$all_rows' = '$checks_done' ] && [ \$(sqlite3 $T/data/opsd.db \"select count(*) from results r join monitors m on m.id=r.monitor_id where m.name='slow2'\") -ge 1 ]"

# A server that accepts connections but never answers: the stop abandons the
# check after its 10 s drain instead of waiting out the 60 s timeout.
HANG=$(free_port)
$PY -c "import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1',$HANG)); s.listen(64); time.sleep(300)" &
PIDS+=($!)
wait_for 5 bash -c "echo > /dev/tcp/127.0.0.1/$HANG"
cat >"$T/opsd.yaml" <<YAML
server: {listen: "127.0.0.1:$PORT", data_dir: "$T/data2"}
monitors:
  - {name: hang, type: http, url: "http://127.0.0.1:$HANG/", interval: 2m, timeout: 60s, confirm: 1}
YAML
start_opsd "$T/opsd.yaml"
eventually 15 "the hanging check is in flight" in_flight_is 1
stop_opsd
check "a hanging check does not hold the stop: exit 0 (rc=$STOP_RC)" [ "$STOP_RC" -eq 0 ]
check "the stop ended after the 10 s drain, not the 60 s timeout ($STOP_SECS s)" [ "$STOP_SECS" -le 13 ]
check "the abandoned check is logged" grep -q 'event=stop_abandoning_checks in_flight=1' "$T/opsd.log"
finish
