#!/bin/bash
# Noise control end to end: X-of-Y tolerance (a monitor failing every other
# check goes down with tolerance, never with confirm), flapping (one
# "flapping" alert instead of an alert per flip, settled afterwards) and
# maintenance windows (results marked and left out of uptime, alerts held
# until the window closes, the window on the API and the status page).
# Exec monitors replay a scripted sequence of exit codes so every check's
# verdict is known in advance.
. "$(dirname "$0")/lib.sh"

start_receiver
mkdir -p "$T/bin"
cat >"$T/bin/seq" <<'SH'
#!/bin/sh
# Exits with the first line of $1 (and drops it); 0 once it is empty.
code=$(head -n1 "$1" 2>/dev/null)
[ -n "$code" ] && sed -i 1d "$1"
echo "seq ${code:-0}"
exit "${code:-0}"
SH
chmod +x "$T/bin/seq"
printf '0\n2\n0\n2\n' >"$T/tol.seq"
cp "$T/tol.seq" "$T/ctl.seq"
printf '2\n0\n2\n0\n2\n0\n2\n0\n2\n0\n' >"$T/flap.seq"

CLOSED=$(free_port) # nothing listens: a TCP check there fails
now=$(date +%s)
mstart=$(date -u -d "@$((now - 60))" +%FT%TZ)
mend=$(date -u -d "@$((now + 20))" +%FT%TZ)
lstart=$(date -u -d "@$((now + 86400))" +%FT%TZ)
new_port
cat >"$T/opsd.yaml" <<EOF
server: {listen: 127.0.0.1:$PORT, data_dir: $T/data}
alerting: {retry_min: 100ms, retry_max: 500ms, flapping: {changes: 3, window: 8s}}
receivers:
  - {name: hook, webhook: {url: "http://127.0.0.1:$RPORT/hook"}}
route: {receiver: hook, group_by: [alertname, monitor], group_wait: 0s, group_interval: 1s, repeat_interval: 1h}
monitors:
  - {name: tol, type: exec, command: "$T/bin/seq $T/tol.seq", interval: 1s, timeout: 900ms,
     tolerance: {fail: 2, of: 4, recover: 2, recover_of: 3}}
  - {name: ctl, type: exec, command: "$T/bin/seq $T/ctl.seq", interval: 1s, timeout: 900ms, confirm: 2}
  - {name: flappy, type: exec, command: "$T/bin/seq $T/flap.seq", interval: 1s, timeout: 900ms, confirm: 1}
  - {name: mdb, type: tcp, host: 127.0.0.1, port: $CLOSED, interval: 1s, timeout: 500ms, confirm: 1}
  - {name: mctl, type: tcp, host: 127.0.0.1, port: $CLOSED, interval: 1s, timeout: 500ms, confirm: 1}
  - {name: edge, type: heartbeat, token: tok-edge-0123456789abc, period: 1h, labels: {tier: edge}}
maintenance:
  - {name: upgrade, description: "Database upgrade", monitors: [mdb], start: "$mstart", end: "$mend"}
  - {name: later, monitors: [mctl], start: "$lstart", duration: 1h}
  - {name: nightly, labels: {tier: edge}, schedule: "30 3 * * *", tz: Europe/Berlin, duration: 30m}
EOF
check "opsd check accepts tolerance, flapping and maintenance" "$OPSD" check -c "$T/opsd.yaml"
start_opsd "$T/opsd.yaml"

# hook_for MONITOR ALERTNAME STATUS: notifications carrying that alert in that status.
hook_for() {
    received /hook | jq --arg m "$1" --arg a "$2" --arg s "$3" \
        '[.[] | .body | fromjson | select(.status == $s and any(.alerts[]; .monitor == $m and .labels.alertname == $a))] | length'
}
events_down() { api "/api/v1/monitors/$1/events" | jq '[.events[] | select(.to == "down")] | length'; }
# alerts_in MONITOR STATE...: how many of its alerts are in one of the states
alerts_in() {
    local m=$1
    shift
    api '/api/v1/alerts?limit=100' | jq --arg m "$m" --args \
        '[.alerts[] | select(.monitor == $m and (.state | IN($ARGS.positional[])))] | length' "$@"
}
# results_marked MONITOR all|none: its last 5 results are all / none maintenance
results_marked() {
    api "/api/v1/monitors/$1/results?limit=5" | jq -e --arg w "$2" \
        '.results | length > 0 and (if $w == "all" then all(.[]; .maintenance) else all(.[]; .maintenance | not) end)' >/dev/null
}

echo "# maintenance: held while the window is open"
eventually 10 "mctl (no window) is down and its alert reached the receiver" \
    value_is -ge 1 hook_for mctl MonitorDown firing
eventually 5 "mdb is down too" state_is mdb down
check "the monitor says which window covers it, until when" \
    jqe --argjson e "$(date -d "$mend" +%s)000" '.maintenance.window == "upgrade" and .maintenance.until == $e' \
    <<<"$(api /api/v1/monitors/mdb)"
check "mctl is not under maintenance" jqe '.maintenance == null' <<<"$(api /api/v1/monitors/mctl)"
mdb_alert=$(api "/api/v1/alerts" | jq '[.alerts[] | select(.monitor == "mdb")][0]')
check "mdb's alert is recorded, held by the window" \
    jqe '.state == "silenced" and .suppressed == "maintenance upgrade"' <<<"$mdb_alert"
sleep 2
check "and nothing about mdb was sent" value_is -eq 0 hook_for mdb MonitorDown firing
eventually 5 "its results are marked as maintenance" results_marked mdb all
check "mctl's results are not" results_marked mctl none
check "mdb's uptime has no data: every check was in the window" \
    jqe '.uptime["24h"] == null' <<<"$(api /api/v1/monitors/mdb)"
check "mctl's uptime counts its failures" jqe '.uptime["24h"] == 0' <<<"$(api /api/v1/monitors/mctl)"
maint=$(api /api/v1/maintenance)
check "the API lists the windows with their occurrences" \
    jqe --argjson ls "$(date -d "$lstart" +%s)000" \
    '(.maintenance | map(.name)) == ["upgrade","later","nightly"] and
     (.maintenance[0] | .active and .covers == 1 and .description == "Database upgrade") and
     (.maintenance[1] | (.active | not) and .start == $ls and .end == $ls + 3600000) and
     (.maintenance[2] | .schedule == "30 3 * * *" and .tz == "Europe/Berlin" and .covers == 1 and .duration_s == 1800)' \
    <<<"$maint"
page=$(api /)
check "the status page says maintenance is in progress" grep -q "Maintenance in progress:</strong> Database upgrade" <<<"$page"
check "mdb's card says under maintenance" grep -q '<span class="badge maint">Under maintenance</span>' <<<"$page"
check "the coming window is announced" grep -q "Scheduled maintenance:</strong> later" <<<"$page"
check "the banner lists mctl as down, not mdb" \
    bash -c 'v=$(grep -o "monitors\? down: [^<]*" <<<"$1"); [[ $v == *mctl* && $v != *mdb* ]]' _ "$page"

echo "# tolerance: 2 failures among 4 vs confirm 2"
eventually 10 "tol goes down on fail, ok, fail" value_is -ge 1 events_down tol
eventually 10 "ctl has replayed the same sequence" test ! -s "$T/ctl.seq"
sleep 2
check "ctl (confirm: 2, the same sequence) never went down" value_is -eq 0 events_down ctl
eventually 10 "tol recovers after 2 successes" state_is tol up
check "tol's alert went out" value_is -ge 1 hook_for tol MonitorDown firing

echo "# flapping"
eventually 15 "flappy's sequence has played" test ! -s "$T/flap.seq"
eventually 5 "one flapping alert went out" value_is -eq 1 hook_for flappy MonitorFlapping firing
n_down=$(hook_for flappy MonitorDown firing)
check "the flips were held: at most 2 down notifications for 5 downs ($n_down)" test "$n_down" -le 2
check "5 downs were recorded as events all the same" value_is -eq 5 events_down flappy
eventually 15 "once stable for the window the flapping alert resolves" \
    value_is -eq 1 hook_for flappy MonitorFlapping resolved
eventually 5 "and flappy's alert follows its settled state (up: none open)" \
    value_is -eq 0 alerts_in flappy firing acknowledged silenced

echo "# maintenance: the window closes"
left=$(($(date -d "$mend" +%s) - $(date +%s)))
[ "$left" -gt 0 ] && sleep "$left"
eventually 5 "mdb, still down, is notified once the window closes" value_is -ge 1 hook_for mdb MonitorDown firing
eventually 5 "its alert is firing" value_is -eq 1 alerts_in mdb firing
sleep 1.5
check "its new results are not marked" jqe '.results[0].maintenance == false' \
    <<<"$(api '/api/v1/monitors/mdb/results?limit=1')"
check "its uptime now counts the checks outside the window" \
    jqe '.uptime["24h"] == 0' <<<"$(api /api/v1/monitors/mdb)"

stop_opsd
finish
