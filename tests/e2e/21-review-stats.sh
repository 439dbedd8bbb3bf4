#!/bin/bash
# Alert review and statistics end to end: alerts from heartbeat monitors
# (/fail is down at once, a success ping is up), acknowledged and resolved
# through the API and by the monitors, reviewed through the API and the
# CLI; then the figures of GET /api/v1/alerts/stats and `opsd alerts stats`
# (counts exact, times plausible), the review surviving the engine's later
# writes of the same alert and a restart, and the refusals: a bad review
# value, an unknown alert, no token and a read token.
. "$(dirname "$0")/lib.sh"

# jqt ARGS...: jq prints exactly "true". Stricter than jqe: jq 1.6's -e
# passes on empty input, which is what a crashed server answers.
jqt() {
    local out
    out=$(jq "$@") && [ "$out" = true ]
}

start_receiver
R="http://127.0.0.1:$RPORT"
new_port
hb() {
    echo "  - {name: $1, type: heartbeat, token: tok-$1-0123456789, period: 1h, grace: 1h, severity: $2}"
}
cat >"$T/opsd.yaml" <<EOF
server: {listen: 127.0.0.1:$PORT, data_dir: $T/data}
alerting: {retry_min: 100ms, retry_max: 500ms}
receivers:
  - {name: hook, webhook: {url: "$R/hook"}}
route: {receiver: hook, group_by: [monitor], group_wait: 0s, group_interval: 1s, repeat_interval: 1h}
monitors:
$(hb a critical)
$(hb b critical)
$(hb c high)
$(hb d low)
EOF
W=$("$OPSD" token create -c "$T/opsd.yaml" --name reviewer --scope write 2>/dev/null)
RO=$("$OPSD" token create -c "$T/opsd.yaml" --name watcher --scope read 2>/dev/null)
check "tokens created" test "${#W}" -ge 32 -a "${#RO}" -ge 32
T_START=$(date +%s%3N)
start_opsd "$T/opsd.yaml"

ping_() { curl -sf "$URL/ping/tok-$1-0123456789$2" >/dev/null; }
for m in a b c d; do ping_ "$m" /fail; done
open_n() { api '/api/v1/alerts?state=open' | jq '.alerts | length'; }
eventually 10 "four alerts fire" value_is = 4 open_n
id_of() { api /api/v1/alerts | jq --arg m "$1" '[.alerts[] | select(.monitor == $m)][0].id'; }
A=$(id_of a) B=$(id_of b) C=$(id_of c) D=$(id_of d)
check "each has an id" test "$A" -gt 0 -a "$B" -gt 0 -a "$C" -gt 0 -a "$D" -gt 0

post() { curl -s -o "$T/body" -w '%{http_code}' -X POST -H "Authorization: Bearer $1" --data "$3" "$URL/api/v1/alerts/$2"; }
review_of() { api "/api/v1/alerts/$1" | jq -r '.alert.review + "/" + (.alert.review_by // "-")'; }
state_of_alert() { api "/api/v1/alerts/$1" | jq -r .alert.state; }

check "ack a: 200" test "$(post "$W" "$A/ack" '{}')" = 200
check "ack c: 200" test "$(post "$W" "$C/ack" '{}')" = 200

# --- reviewing through the API ---
check "review a actionable: 200" test "$(post "$W" "$A/review" '{"review":"actionable","comment":"disk was full"}')" = 200
check "the answer names the review and the reviewer" jqt --argjson id "$A" '.id == $id and .review == "actionable" and .by == "reviewer" and .comment == "disk was full" and .reviewed_at_ms > 0' "$T/body"
check "the alert shows it, by the token's name" jqt '.alert.review == "actionable" and .alert.review_by == "reviewer" and .alert.review_comment == "disk was full" and .alert.reviewed_at_ms > 0' <<<"$(api "/api/v1/alerts/$A")"
check "review c actionable" test "$(post "$W" "$C/review" '{"review":"actionable"}')" = 200
check "review c again, false_positive: the second replaces the first" test "$(post "$W" "$C/review" '{"review":"false_positive","comment":"flaky check"}')" = 200
check "c reads false_positive" test "$(review_of "$C")" = false_positive/reviewer
check "c's comment is the second one" test "$(api "/api/v1/alerts/$C" | jq -r .alert.review_comment)" = "flaky check"

# a resolves by its monitor, b by hand: the engine rewrites both rows,
# and must not undo a's review.
ping_ a ""
check "resolve b by hand: 200" test "$(post "$W" "$B/resolve" '{}')" = 200
eventually 10 "a resolves when its monitor is up" value_is = resolved state_of_alert "$A"
check "b is resolved" test "$(state_of_alert "$B")" = resolved
check "a's review survives the engine's resolve" test "$(review_of "$A")" = actionable/reviewer

# --- refusals: nothing changes ---
check "a bad review value: 400" test "$(post "$W" "$C/review" '{"review":"maybe"}')" = 400
check "with the JSON error body naming the field" jqt '.error.code == "bad_request" and (.error.message | contains("review"))' "$T/body"
check "an unknown field: 400" test "$(post "$W" "$C/review" '{"review":"actionable","why":"x"}')" = 400
check "not JSON: 400" test "$(post "$W" "$C/review" 'review=actionable')" = 400
check "c's review is unchanged" test "$(review_of "$C")" = false_positive/reviewer
check "an unknown alert: 404" test "$(post "$W" "999999/review" '{"review":"actionable"}')" = 404
check "a read token: 403" test "$(post "$RO" "$D/review" '{"review":"actionable"}')" = 403
check "no token: 401" test "$(curl -s -o /dev/null -w '%{http_code}' -X POST --data '{"review":"actionable"}' "$URL/api/v1/alerts/$D/review")" = 401
check "d is still unreviewed" test "$(api "/api/v1/alerts/$D" | jq -r .alert.review)" = null
check "GET on the review route: 405" test "$(status_code "$URL/api/v1/alerts/$D/review")" = 405

# --- reviewing through the CLI ---
check "opsd alerts review b false_positive --comment" env OPSD_TOKEN="$W" "$OPSD" alerts review -c "$T/opsd.yaml" "$B" false_positive --comment "maintenance nobody announced"
check "b reads false_positive, with the comment" jqt '.alert.review == "false_positive" and .alert.review_comment == "maintenance nobody announced"' <<<"$(api "/api/v1/alerts/$B")"
"$OPSD" alerts review -c "$T/opsd.yaml" "$D" maybe >/dev/null 2>&1
check "a bad value on the command line: exit 2" test $? = 2
env OPSD_TOKEN="$RO" "$OPSD" alerts review -c "$T/opsd.yaml" "$D" actionable >/dev/null 2>&1
check "with a read token the CLI fails: exit 1" test $? = 1
check "d is still unreviewed after both" test "$(api "/api/v1/alerts/$D" | jq -r .alert.review)" = null
check "opsd alerts review --help" grep -q false_positive <<<"$("$OPSD" alerts review --help)"
check "opsd alerts stats --help" grep -q "nearest rank" <<<"$("$OPSD" alerts stats --help)"

# --- the figures ---
# a: critical, acked, resolved, actionable   b: critical, resolved, false positive
# c: high, acked, open, false positive        d: low, open, unreviewed
ELAPSED=$(($(date +%s%3N) - T_START))
S=$(api '/api/v1/alerts/stats?since=1h')
echo "$S" >"$T/stats.json"
check "total counts" jqt '.total | .count == 4 and .actionable == 1 and .false_positive == 2 and .unreviewed == 1 and .acknowledged == 2 and .resolved == 2 and .open == 2' "$T/stats.json"
check "critical counts" jqt '.by_severity.critical | .count == 2 and .actionable == 1 and .false_positive == 1 and .unreviewed == 0 and .acknowledged == 1 and .resolved == 2 and .open == 0' "$T/stats.json"
check "high counts" jqt '.by_severity.high | .count == 1 and .false_positive == 1 and .acknowledged == 1 and .resolved == 0 and .open == 1' "$T/stats.json"
check "low counts" jqt '.by_severity.low | .count == 1 and .unreviewed == 1 and .acknowledged == 0 and .open == 1' "$T/stats.json"
check "medium: none" jqt '.by_severity.medium | .count == 0 and .mtta_ms.count == 0 and .mtta_ms.p50 == null' "$T/stats.json"
check "MTTA over the two acked alerts, within the test's time" jqt --argjson e "$ELAPSED" '.total.mtta_ms | .count == 2 and .p50 > 0 and .p50 <= .p90 and .p90 <= $e and .mean > 0 and .mean <= $e' "$T/stats.json"
check "TTR over the two resolved alerts, within the test's time" jqt --argjson e "$ELAPSED" '.total.ttr_ms | .count == 2 and .p50 > 0 and .p50 <= .p90 and .p90 <= $e' "$T/stats.json"
check "critical's MTTA is a's own: one value" jqt '.by_severity.critical.mtta_ms | .count == 1 and .p50 == .p90 and .p50 == .mean' "$T/stats.json"
check "high has no TTR yet" jqt '.by_severity.high.ttr_ms | .count == 0 and .p90 == null' "$T/stats.json"
check "percentiles say how they are computed" jqt '.percentiles == "nearest-rank"' "$T/stats.json"
check "this week holds the four alerts" jqt '(.weeks | length) >= 1 and .weeks[-1].total == 4 and .weeks[-1].by_severity.critical == 2 and .weeks[-1].by_severity.low == 1 and (.weeks[-1].week | test("^[0-9]{4}-W[0-9]{2}$"))' "$T/stats.json"
check "the window is the one asked for" jqt --argjson t "$T_START" '.since_ms <= $t and .until_ms >= $t' "$T/stats.json"
check "the default window (7d) sees the same" jqt '.total.count == 4' <<<"$(api /api/v1/alerts/stats)"
check "until before the alerts: none" jqt '.total.count == 0 and .total.mtta_ms.p50 == null' <<<"$(api "/api/v1/alerts/stats?since=2d&until=$((T_START - 1))")"
check "since as RFC 3339" jqt '.total.count == 4' <<<"$(api "/api/v1/alerts/stats?since=$(date -u -d @$((T_START / 1000 - 60)) +%Y-%m-%dT%H:%M:%SZ)")"
check "a bad since: 400" test "$(status_code "$URL/api/v1/alerts/stats?since=yesterday")" = 400
check "an unknown parameter: 400" test "$(status_code "$URL/api/v1/alerts/stats?severity=high")" = 400
check "since after until: 400" test "$(status_code "$URL/api/v1/alerts/stats?since=1h&until=2h")" = 400

CLI=$("$OPSD" alerts stats -c "$T/opsd.yaml" --since 1h --json)
check "opsd alerts stats --json gives the API's figures" jqt --slurpfile api "$T/stats.json" '.total == $api[0].total and .by_severity == $api[0].by_severity' <<<"$CLI"
"$OPSD" alerts stats -c "$T/opsd.yaml" >"$T/table" 2>&1
check "opsd alerts stats prints a table" grep -qE '^critical +2 +1 +1 +0 +1 +0 ' "$T/table"
check "with a total row" grep -qE '^total +4 +1 +2 +1 +2 +2 ' "$T/table"
check "and durations, not raw ms" grep -qE '^critical( +[0-9]+){6} +[0-9]+(ms|s|m)' "$T/table"
check "and the weekly rows" grep -qE '^[0-9]{4}-W[0-9]{2} +[0-9]{4}-[0-9]{2}-[0-9]{2} +4 +2 +1 +0 +1$' "$T/table"
"$OPSD" alerts stats -c "$T/opsd.yaml" --since soon >/dev/null 2>&1
check "a bad --since: exit 2" test $? = 2

# --- durable: a restart keeps the reviews ---
# b's monitor comes up first: a monitor still down after a resolve by hand
# raises a new alert when it starts again, which would change the figures.
ping_ b ""
eventually 10 "b's monitor is up" state_is b up
stop_opsd
check "SIGTERM exits 0" test "$STOP_RC" = 0
start_opsd "$T/opsd.yaml"
check "after a restart a keeps its review" test "$(review_of "$A")" = actionable/reviewer
check "and the figures are the same" jqt --slurpfile api "$T/stats.json" '.total == $api[0].total' <<<"$(api '/api/v1/alerts/stats?since=1h')"
# c was restored into the engine with its review; acking it again rewrites the row.
check "re-ack c after the restart: 200" test "$(post "$W" "$C/ack" '{}')" = 200
check "c keeps its review" test "$(review_of "$C")" = false_positive/reviewer
check "and its comment" test "$(api "/api/v1/alerts/$C" | jq -r .alert.review_comment)" = "flaky check"
stop_opsd
check "SIGTERM exits 0 again" test "$STOP_RC" = 0

finish
