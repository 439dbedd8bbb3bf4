#!/bin/bash
# Inbound alerts end to end: opsd's own POST /api/v1/alerts, Prometheus'
# push (Alertmanager API v2), an Alertmanager's webhook v4 and PagerDuty's
# Events API v2 each fire an alert that routes to a loopback receiver, and
# resolve it; PagerDuty's acknowledge acks. Re-posting refreshes instead of
# duplicating, a Prometheus alert whose endsAt passes resolves by itself,
# inbound alerts survive a restart, and malformed, huge, unauthenticated or
# read-scope pushes get a 4xx and change nothing.
. "$(dirname "$0")/lib.sh"

start_receiver
R="http://127.0.0.1:$RPORT"
new_port
cat >"$T/opsd.yaml" <<EOF
server: {listen: 127.0.0.1:$PORT, data_dir: $T/data}
alerting: {retry_min: 100ms, retry_max: 500ms}
receivers:
  - {name: hook, webhook: {url: "$R/hook"}}
route:
  receiver: hook
  group_by: ['...']
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
monitors:
  - {name: beat, type: heartbeat, token: tok-beat-0123456789, period: 1h, grace: 1h}
EOF
check "opsd check accepts the config" "$OPSD" check -c "$T/opsd.yaml"
W=$("$OPSD" token create -c "$T/opsd.yaml" --name e2e-pusher --scope write 2>/dev/null)
RO=$("$OPSD" token create -c "$T/opsd.yaml" --name e2e-reader --scope read 2>/dev/null)
check "tokens created" test "${#W}" -ge 32 -a "${#RO}" -ge 32
start_opsd "$T/opsd.yaml"

# post PATH BODY [curl args]: POSTs with the write token; the status code
# on stdout, the body in $T/out.
post() {
    local path=$1 body=$2
    shift 2
    curl -s -o "$T/out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        -H "Authorization: Bearer $W" --data-binary "$body" "$@" "$URL$path"
}
# post_as TOKEN PATH BODY: like post with another token ("" for none).
post_as() {
    local tok=$1 path=$2 body=$3
    if [ -n "$tok" ]; then
        curl -s -o "$T/out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
            -H "Authorization: Bearer $tok" --data-binary "$body" "$URL$path"
    else
        curl -s -o "$T/out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
            --data-binary "$body" "$URL$path"
    fi
}
out() { cat "$T/out"; }
alert() { api "/api/v1/alerts/$1" | jq .alert; }
alert_state() { api "/api/v1/alerts/$1" | jq -r .alert.state; }
# open_with LABEL VALUE: how many open alerts have that label.
open_with() { api '/api/v1/alerts?state=open&limit=1000' | jq --arg k "$1" --arg v "$2" '[.alerts[] | select(.labels[$k] == $v)] | length'; }
# heard LABEL VALUE STATUS: notifications the receiver got holding an alert
# with that label in that status.
heard() { received /hook | jq --arg k "$1" --arg v "$2" --arg s "$3" '[.[] | .body | fromjson | .alerts[] | select(.labels[$k] == $v and .status == $s)] | length'; }
heard_at_least() { [ "$(heard "$1" "$2" "$3")" -ge "$4" ]; }
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
now=$(date +%s)

# --- POST /api/v1/alerts: opsd's own shape ---
body='{"alerts":[{"labels":{"alertname":"DiskFull","host":"db1"},"summary":"disk full on db1","message":"97% used","severity":"high"}]}'
check "generic: 200" test "$(post /api/v1/alerts "$body")" = 200
gid=$(out | jq '.alerts[0].id')
check "generic: the answer has the alert id, firing" jqe '.status == "success" and .alerts[0].status == "firing" and (.alerts[0].id | type) == "number"' <<<"$(out)"
check "generic: stored as an api alert with its labels and severity" \
    jqe '.source == "api" and .monitor == null and .severity == "high" and .state == "firing" and .labels.host == "db1" and .labels.severity == "high" and .summary == "disk full on db1" and .message == "97% used"' <<<"$(alert "$gid")"
eventually 10 "generic: routed to the receiver with its labels" heard_at_least host db1 firing 1
check "generic: re-posting answers the same id" test "$(post /api/v1/alerts "$body"; out | jq '.alerts[0].id')" = "200$gid"
check "generic: and does not duplicate" value_is = 1 open_with host db1
check "a single object works too" test "$(post /api/v1/alerts '{"labels":{"alertname":"DiskFull","host":"db1"},"severity":"high"}'; out | jq '.alerts[0].id')" = "200$gid"
check "generic: resolve by labels (no severity given)" test "$(post /api/v1/alerts '{"labels":{"alertname":"DiskFull","host":"db1"},"status":"resolved"}'; out | jq -r '.alerts[0] | "\(.id) \(.status)"')" = "200$gid resolved"
check "generic: the alert is resolved" value_is = resolved alert_state "$gid"
eventually 10 "generic: the receiver hears the resolve" heard_at_least host db1 resolved 1

# --- POST /api/v2/alerts: Prometheus' push ---
v2() { # v2 JOB ENDS_AT [SEVERITY]
    printf '[{"labels":{"alertname":"HighLatency","job":"%s","severity":"%s"},"annotations":{"summary":"p99 over 1s","description":"p99 is 1.7s"},"startsAt":"%s","endsAt":"%s","generatorURL":"http://prom:9090/graph"}]' \
        "$1" "${3:-warning}" "$(iso $((now - 60)))" "$2"
}
check "v2: 200" test "$(post /api/v2/alerts "$(v2 api "$(iso $((now + 3600)))")")" = 200
pid=$(out | jq '.alerts[0].id')
check "v2: stored as a prometheus alert, warning is medium" \
    jqe '.source == "prometheus" and .severity == "medium" and .labels.severity == "medium" and .labels.job == "api" and .summary == "p99 over 1s" and .message == "p99 is 1.7s"' <<<"$(alert "$pid")"
check "v2: startsAt is kept" test "$(alert "$pid" | jq .starts_at_ms)" = "$(((now - 60) * 1000))"
eventually 10 "v2: routed to the receiver" heard_at_least job api firing 1
check "v2: Prometheus' re-send refreshes the alert" test "$(post /api/v2/alerts "$(v2 api "$(iso $((now + 7200)))")"; out | jq '.alerts[0].id')" = "200$pid"
check "v2: not duplicated" value_is = 1 open_with job api
check "v2: an endsAt in the past resolves" test "$(post /api/v2/alerts "$(v2 api "$(iso $((now - 1)))")")" = 200
check "v2: resolved" value_is = resolved alert_state "$pid"
eventually 10 "v2: the receiver hears the resolve" heard_at_least job api resolved 1
check "v2: an alert whose endsAt is 2s away" test "$(post /api/v2/alerts "$(v2 batch "$(iso $(($(date +%s) + 2)))")")" = 200
eid=$(out | jq '.alerts[0].id')
check "v2: fires" value_is = firing alert_state "$eid"
eventually 10 "v2: resolves by itself once endsAt passed without a refresh" value_is = resolved alert_state "$eid"

# --- the Alertmanager webhook v4 ---
hook() { # hook STATUS
    printf '{"version":"4","status":"%s","receiver":"opsd","groupKey":"{}:{alertname=\\"NodeDown\\"}","truncatedAlerts":0,"groupLabels":{"alertname":"NodeDown"},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am:9093","alerts":[{"status":"%s","labels":{"alertname":"NodeDown","instance":"n1:9100","severity":"critical"},"annotations":{"summary":"n1 is down","description":"no scrape for 5m"},"startsAt":"%s","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prom:9090","fingerprint":"c0ffee"}]}' \
        "$1" "$1" "$(iso $((now - 300)))"
}
check "webhook: 200" test "$(post /api/v1/inbound/alertmanager "$(hook firing)")" = 200
hid=$(out | jq '.alerts[0].id')
check "webhook: stored as an alertmanager alert" \
    jqe '.source == "alertmanager" and .severity == "critical" and .labels.instance == "n1:9100" and .message == "no scrape for 5m"' <<<"$(alert "$hid")"
eventually 10 "webhook: routed to the receiver" heard_at_least instance n1:9100 firing 1
check "webhook: the repeat notification refreshes" test "$(post /api/v1/inbound/alertmanager "$(hook firing)"; out | jq '.alerts[0].id')" = "200$hid"
check "webhook: not duplicated" value_is = 1 open_with instance n1:9100
check "webhook: resolved status resolves" test "$(post /api/v1/inbound/alertmanager "$(hook resolved)")" = 200
check "webhook: resolved" value_is = resolved alert_state "$hid"
eventually 10 "webhook: the receiver hears the resolve" heard_at_least instance n1:9100 resolved 1

# --- PagerDuty Events API v2 ---
pd() { # pd TOKEN ACTION DEDUP [SEVERITY]
    local dk=
    [ -n "$3" ] && dk="\"dedup_key\":\"$3\","
    printf '{"routing_key":"%s","event_action":"%s",%s"payload":{"summary":"disk on db2 is full","source":"db2","severity":"%s","component":"disk","group":"prod","custom_details":{"used":"97%%"}}}' \
        "$1" "$2" "$dk" "${4:-error}"
}
check "PD: trigger with the routing_key alone (no header): 202" test "$(post_as "" /v2/enqueue "$(pd "$W" trigger disk-db2)")" = 202
check "PD: PagerDuty's answer" jqe '. == {"status":"success","message":"Event processed","dedup_key":"disk-db2"}' <<<"$(out)"
did=$(api '/api/v1/alerts?state=open' | jq '[.alerts[] | select(.labels.dedup_key == "disk-db2")][0].id')
check "PD: stored as a pagerduty alert, error is high" \
    jqe '.source == "pagerduty" and .severity == "high" and .summary == "disk on db2 is full" and (.message | contains("source=db2") and contains("component=disk") and contains("97%"))' <<<"$(alert "$did")"
eventually 10 "PD: routed to the receiver" heard_at_least dedup_key disk-db2 firing 1
check "PD: re-trigger with another severity refreshes: 202" test "$(post_as "" /v2/enqueue "$(pd "$W" trigger disk-db2 warning)")" = 202
check "PD: not duplicated" value_is = 1 open_with dedup_key disk-db2
check "PD: trigger without a dedup_key: 202" test "$(post_as "$W" /v2/enqueue "$(pd "" trigger "")")" = 202
gen=$(out | jq -r .dedup_key)
check "PD: a dedup_key is generated and returned" test "${#gen}" -eq 32
check "PD: the alert carries it" value_is = 1 open_with dedup_key "$gen"
check "PD: acknowledge: 202" test "$(post_as "" /v2/enqueue "{\"routing_key\":\"$W\",\"event_action\":\"acknowledge\",\"dedup_key\":\"disk-db2\"}")" = 202
check "PD: the alert is acknowledged by the token's name" jqe '.state == "acknowledged" and .acked_by == "e2e-pusher"' <<<"$(alert "$did")"
check "PD: resolve: 202" test "$(post_as "" /v2/enqueue "{\"routing_key\":\"$W\",\"event_action\":\"resolve\",\"dedup_key\":\"disk-db2\"}")" = 202
check "PD: resolved" value_is = resolved alert_state "$did"
eventually 10 "PD: the receiver hears the resolve" heard_at_least dedup_key disk-db2 resolved 1
check "PD: resolving an unknown dedup_key is accepted (202) like PagerDuty" test "$(post_as "" /v2/enqueue "{\"routing_key\":\"$W\",\"event_action\":\"resolve\",\"dedup_key\":\"never-seen\"}")" = 202

# --- a restart keeps inbound alerts open and resolvable ---
check "restart: fire a generic alert" test "$(post /api/v1/alerts '{"labels":{"alertname":"Keep","host":"r1"}}')" = 200
kid=$(out | jq '.alerts[0].id')
check "restart: trigger a PD alert" test "$(post_as "" /v2/enqueue "$(pd "$W" trigger keep-pd critical)")" = 202
kpd=$(api '/api/v1/alerts?state=open' | jq '[.alerts[] | select(.labels.dedup_key == "keep-pd")][0].id')
# Ends survive the restart: one later than the restart, one that passes
# while opsd is down, and one whose end a re-send moved later.
t0=$(date +%s)
check "restart: an API alert with ends_at" test "$(post /api/v1/alerts "{\"labels\":{\"alertname\":\"Ends\",\"host\":\"e1\"},\"ends_at\":\"$(iso $((t0 + 12)))\"}")" = 200
endid=$(out | jq '.alerts[0].id')
check "restart: its end is shown" test "$(alert "$endid" | jq .ends_at_ms)" = "$(((t0 + 12) * 1000))"
check "restart: a v2 alert ending in 2s" test "$(post /api/v2/alerts "$(v2 gone "$(iso $((t0 + 2)))")")" = 200
goneid=$(out | jq '.alerts[0].id')
check "restart: another v2 alert ending in 2s" test "$(post /api/v2/alerts "$(v2 moved "$(iso $((t0 + 2)))")")" = 200
movedid=$(out | jq '.alerts[0].id')
check "restart: re-sent with an end 10 min away" test "$(post /api/v2/alerts "$(v2 moved "$(iso $((t0 + 600)))")"; out | jq '.alerts[0].id')" = "200$movedid"
stop_opsd
check "restart: opsd stops cleanly" test "$STOP_RC" = 0
while [ "$(date +%s)" -le $((t0 + 3)) ]; do sleep 0.2; done
start_opsd "$T/opsd.yaml"
eventually 10 "restart: an end that passed while opsd was down resolves" value_is = resolved alert_state "$goneid"
check "restart: the re-sent alert keeps its later end" value_is = firing alert_state "$movedid"
check "restart: and shows it" test "$(alert "$movedid" | jq .ends_at_ms)" = "$(((t0 + 600) * 1000))"
check "restart: the API alert is open before its end" value_is = firing alert_state "$endid"
eventually 20 "restart: and resolves by itself at its ends_at" value_is = resolved alert_state "$endid"
check "restart: a resolved alert shows no end" test "$(alert "$endid" | jq .ends_at_ms)" = null
check "restart: the generic alert is still open" value_is = firing alert_state "$kid"
check "restart: the PD alert is still open" value_is = firing alert_state "$kpd"
check "restart: the generated-key PD alert too" value_is = 1 open_with dedup_key "$gen"
check "restart: re-posting finds the same alert" test "$(post /api/v1/alerts '{"labels":{"alertname":"Keep","host":"r1"}}'; out | jq '.alerts[0].id')" = "200$kid"
check "restart: resolve the generic alert" test "$(post /api/v1/alerts '{"labels":{"alertname":"Keep","host":"r1"},"status":"resolved"}'; out | jq '.alerts[0].id')" = "200$kid"
check "restart: resolved" value_is = resolved alert_state "$kid"
check "restart: PD resolve" test "$(post_as "" /v2/enqueue "{\"routing_key\":\"$W\",\"event_action\":\"resolve\",\"dedup_key\":\"keep-pd\"}")" = 202
check "restart: resolved" value_is = resolved alert_state "$kpd"
eventually 10 "restart: the receiver hears the resolve" heard_at_least dedup_key keep-pd resolved 1

# --- what must change nothing ---
before=$(api '/api/v1/alerts?limit=1000')
n_before=$(echo "$before" | jq '.alerts | length')
ok_alert='{"labels":{"alertname":"ShouldNotExist","host":"x"}}'
for p in /api/v1/alerts /api/v2/alerts /api/v1/inbound/alertmanager; do
    check "$p without a token: 401" test "$(post_as "" "$p" "[$ok_alert]")" = 401
    check "$p with a bad token: 401" test "$(post_as opsd_not-a-real-token "$p" "[$ok_alert]")" = 401
    check "$p with a read token: 403" test "$(post_as "$RO" "$p" "[$ok_alert]")" = 403
    check "$p malformed JSON: 400 with an error body" test "$(post "$p" '[{"labels":')$(out | jq -r '.error.code')" = 400bad_request
done
check "PD without any key: 401" test "$(post_as "" /v2/enqueue "$(pd "" trigger x1)")" = 401
check "PD with a routing_key that is no token: 401" test "$(post_as "" /v2/enqueue "$(pd opsd_nope trigger x1)")" = 401
check "PD with a read token as routing_key: 403" test "$(post_as "" /v2/enqueue "$(pd "$RO" trigger x1)")" = 403
check "PD with a read token in the header: 403" test "$(post_as "$RO" /v2/enqueue "$(pd "" trigger x1)")" = 403
check "PD malformed JSON: 400" test "$(post_as "" /v2/enqueue '{"routing_key":')" = 400
check "PD's error shape" jqe '.status == "invalid event" and (.errors | length) == 1' <<<"$(out)"
check "PD bad severity: 400" test "$(post_as "" /v2/enqueue "$(pd "$W" trigger x1 severe)")" = 400
check "PD unknown event_action: 400" test "$(post_as "" /v2/enqueue "{\"routing_key\":\"$W\",\"event_action\":\"explode\",\"dedup_key\":\"x1\"}")" = 400
check "PD acknowledge without dedup_key: 400" test "$(post_as "" /v2/enqueue "{\"routing_key\":\"$W\",\"event_action\":\"acknowledge\"}")" = 400
check "PD trigger without payload: 400" test "$(post_as "" /v2/enqueue "{\"routing_key\":\"$W\",\"event_action\":\"trigger\",\"dedup_key\":\"x1\"}")" = 400
check "a label value that is a number: 400" test "$(post /api/v1/alerts '{"labels":{"alertname":"X","n":3}}')" = 400
check "a bad label name: 400" test "$(post /api/v1/alerts '{"labels":{"alertname":"X","bad-name":"v"}}')" = 400
check "which the message names" jqe '.error.message | contains("bad-name")' <<<"$(out)"
check "an unknown field: 400" test "$(post /api/v1/alerts '{"labels":{"alertname":"X"},"sevrity":"high"}')" = 400
check "a bad status: 400" test "$(post /api/v1/alerts '{"labels":{"alertname":"X"},"status":"burning"}')" = 400
check "no labels: 400" test "$(post /api/v1/alerts '{"summary":"x"}')" = 400
check "a good alert then a bad one: 400" test "$(post /api/v2/alerts "[$ok_alert, {\"labels\":{\"alertname\":7}}]")" = 400
check "the message says which" jqe '.error.message | startswith("alerts[1]")' <<<"$(out)"
check "v2 takes an array only: 400" test "$(post /api/v2/alerts "$ok_alert")" = 400
check "v2 bad endsAt: 400" test "$(post /api/v2/alerts '[{"labels":{"alertname":"X"},"endsAt":"yesterday"}]')" = 400
check "webhook version 3: 400" test "$(post /api/v1/inbound/alertmanager '{"version":"3","alerts":[]}')" = 400
check "webhook alert without status: 400" test "$(post /api/v1/inbound/alertmanager "{\"version\":\"4\",\"alerts\":[$ok_alert]}")" = 400
jq -nc '[range(1001) | {labels: {alertname: "Many", i: (. | tostring)}}]' >"$T/many.json"
check "1001 alerts in one push: 400" test "$(post /api/v2/alerts "@$T/many.json")" = 400
jq -nc '{labels: ([range(33) | {key: "l\(.)", value: "v"}] | from_entries)}' >"$T/labels.json"
check "33 labels: 400" test "$(post /api/v1/alerts "@$T/labels.json")" = 400
# filler N: N bytes of "a" (too long for a command-line argument)
filler() { head -c "$1" /dev/zero | tr '\0' a; }
{ printf '[{"labels":{"alertname":"Huge"},"annotations":{"description":"'; filler 1100000; printf '"}}]'; } >"$T/huge.json"
check "a push over 1 MiB: 413" test "$(post /api/v2/alerts "@$T/huge.json")" = 413
{ printf '[{"labels":{"alertname":"Big"},"annotations":{"description":"x"},"generatorURL":"'; filler 200000; printf '"}]'; } >"$T/big.json"
check "but one over the API's 64 KiB is taken by the inbound routes" test "$(post /api/v2/alerts "@$T/big.json")" = 200
big=$(out | jq '.alerts[0].id')
check "GET on /api/v2/alerts: 405" test "$(status_code "$URL/api/v2/alerts")" = 405
check "DELETE on /api/v1/alerts: 405" test "$(status_code -X DELETE "$URL/api/v1/alerts")" = 405
check "DELETE on /api/v1/alerts: allowing POST" jqe '.error.message | contains("POST")' <<<"$(curl -s -X DELETE "$URL/api/v1/alerts")"
check "the 200 one fired" value_is = firing alert_state "$big"
# the accepted one aside, nothing changed
after=$(api '/api/v1/alerts?limit=1000' | jq --argjson b "$big" '.alerts |= map(select(.id != $b))')
check "nothing else changed: the alert list is as before" test "$(jq -S . <<<"$after")" = "$(jq -S . <<<"$before")"
check "no ShouldNotExist, Many or Huge alert" jqe '[.alerts[] | select(.labels.alertname | IN("ShouldNotExist", "Many", "Huge", "X"))] | length == 0' <<<"$(api '/api/v1/alerts?limit=1000')"
check "no stray alert count change" test "$(api '/api/v1/alerts?limit=1000' | jq '.alerts | length')" = "$((n_before + 1))"
check "the token sent as routing_key is not in the log" fails grep -qF "$W" "$T/opsd.log"

stop_opsd
check "opsd exits cleanly" test "$STOP_RC" = 0
finish
