#!/bin/bash
# The outbox loses nothing: a receiver that fails (HTTP 500, then closing
# connections unanswered) while alerts fire, opsd killed with SIGKILL in the middle,
# then both recover. Every notification is delivered, none twice by its
# idempotency key, the failure history stays visible, and the dead receiver
# never delays a healthy one.
. "$(dirname "$0")/lib.sh"

RECV_NAME=bad start_receiver --mode 500
BPORT=$RPORT
BLOG=$RLOG
RECV_NAME=good start_receiver
GPORT=$RPORT
GLOG=$RLOG

new_port
N=6
{
    cat <<EOF
server: {listen: 127.0.0.1:$PORT, data_dir: $T/data}
alerting: {retry_min: 200ms, retry_max: 1s, give_up_after: 1h}
receivers:
  - {name: bad, webhook: {url: "http://127.0.0.1:$BPORT/hook"}, timeout: 2s}
  - {name: good, webhook: {url: "http://127.0.0.1:$GPORT/hook"}}
route:
  receiver: bad
  group_by: [monitor]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - {receiver: bad, continue: true}
    - {receiver: good}
monitors:
EOF
    for i in $(seq 1 $N); do
        echo "  - {name: m$i, type: heartbeat, token: tok-m$i-0123456789abc, period: 1h, grace: 1h}"
    done
} >"$T/opsd.yaml"
check "opsd check accepts the config" "$OPSD" check -c "$T/opsd.yaml"
start_opsd "$T/opsd.yaml"

# Half the alerts fire, the receiver answers 500.
t_fire=$($PY -c 'import time; print(time.time())')
for i in $(seq 1 $((N / 2))); do curl -sf "$URL/ping/tok-m$i-0123456789abc/fail" >/dev/null; done
bad_tried() { [ "$(RLOG=$BLOG received_n /hook)" -ge "$1" ]; }
eventually 10 "the failing receiver is tried for each" bad_tried $((N / 2 * 2))
good_keys() { RLOG=$GLOG received /hook | jq -r '.[].headers["idempotency-key"]' | sort -u | wc -l; }
eventually 5 "the healthy receiver got them meanwhile" value_is = $((N / 2)) good_keys
first_good=$(RLOG=$GLOG received /hook | jq '[.[].ts] | max')
check "within a second of the failures: the dead receiver delays nobody" \
    $PY -c "import sys; sys.exit(0 if $first_good - $t_fire < 1.0 else 1)"
pending() { api '/api/v1/notifications?state=pending' | jq '.notifications | length'; }
check "the failed ones are pending, not lost" test "$(pending)" = $((N / 2))
check "with the error recorded" jqe '[.notifications[] | select(.state == "pending")] | all(.last_error | test("500"))' <<<"$(api /api/v1/notifications)"

# Now the receiver closes connections without an answer; the other half fires; kill -9.
RPORT=$BPORT receiver_mode close
for i in $(seq $((N / 2 + 1)) $N); do curl -sf "$URL/ping/tok-m$i-0123456789abc/fail" >/dev/null; done
eventually 10 "every alert has its notifications queued" value_is = "$N" pending
kill -KILL "$OPSD_PID"
wait "$OPSD_PID" 2>/dev/null
OPSD_PID=
check "the database is intact after kill -9" test "$(sqlite3 "$T/data/opsd.db" 'PRAGMA integrity_check')" = ok

# Both recover.
RPORT=$BPORT receiver_mode 200
t_up=$($PY -c 'import time; print(time.time())')
start_opsd "$T/opsd.yaml"
delivered_after() {
    RLOG=$BLOG received /hook | jq --argjson t "$t_up" '[.[] | select(.ts >= $t)] | length'
}
eventually 20 "after the restart every pending notification is delivered" value_is = 0 pending
keys_after=$(RLOG=$BLOG received /hook | jq -r --argjson t "$t_up" '.[] | select(.ts >= $t) | .headers["idempotency-key"]')
check "each of the $N notifications arrived" test "$(sort -u <<<"$keys_after" | wc -l)" = "$N"
check "none twice (by idempotency key)" test "$(sort <<<"$keys_after" | uniq -d | wc -l)" = 0
all_keys=$(RLOG=$BLOG received /hook | jq -r '.[].headers["idempotency-key"]' | sort -u | wc -l)
check "and no notification was made up: $N keys in all" test "$all_keys" = "$N"
check "the healthy receiver heard each alert once" test "$(RLOG=$GLOG received /hook | jq -r '.[].headers["idempotency-key"]' | sort | uniq -d | wc -l)" = 0
check "nor was anything re-sent to it after the restart" test "$(good_keys)" = "$N"
check "opsd notifications --failed: none" test "$("$OPSD" notifications -c "$T/opsd.yaml" --failed --json | jq '.notifications | length')" = 0

# The history of one that failed first.
nid=$(api '/api/v1/notifications?state=delivered' | jq '[.notifications[] | select(.receiver == "bad")] | min_by(.id) | .id')
check "the first notification to the failing receiver" test "$nid" != null
hist=$(api "/api/v1/notifications/$nid")
check "its attempts: failures with the HTTP status, then success" \
    jqe '.notification.attempts_history as $a | ($a | length) >= 2 and ($a[0].ok == false) and ($a[-1].ok == true) and ($a | map(select(.http_status == 500)) | length >= 1)' <<<"$hist"
check "failures from before the kill are kept, the success after the restart" \
    jqe --argjson t "$t_up" '.notification.attempts_history | (map(select(.ok == false and .at_ms < $t * 1000)) | length >= 2) and (.[-1].at_ms >= $t * 1000)' <<<"$hist"
check "opsd notifications shows the attempt count" "$OPSD" notifications -c "$T/opsd.yaml"

stop_opsd
check "SIGTERM exits 0" test "$STOP_RC" = 0
check "no sanitizer report in the log" fails grep -q "runtime error\|AddressSanitizer" "$T/opsd.log"
finish
