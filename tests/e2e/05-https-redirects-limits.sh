#!/bin/bash
# HTTPS checks against a server with a short-lived self-signed certificate
# made here: verification on by default (so it fails), the per-monitor
# opt-out, days to expiry recorded; redirects followed or not as configured;
# the global concurrency limit queues checks instead of running them all.
. "$(dirname "$0")/lib.sh"

openssl req -x509 -newkey rsa:2048 -nodes -days 20 -subj "/CN=localhost" \
    -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null || { not_ok "openssl made no certificate"; finish; exit 1; }
start_target --tls "$T/cert.pem" "$T/key.pem"
TLS_PORT=$TPORT
TLS_CPORT=$CPORT
start_target
new_port
cat >"$T/opsd.yaml" <<YAML
server: {listen: "127.0.0.1:$PORT", data_dir: "$T/data", max_concurrency: 1}
monitors:
  - {name: tls-verified, type: http, url: "https://localhost:$TLS_PORT/", interval: 1s, timeout: 900ms, confirm: 1}
  - {name: tls-unverified, type: http, url: "https://localhost:$TLS_PORT/", interval: 1s, timeout: 900ms, confirm: 1, tls_verify: false}
  - {name: redirect-followed, type: http, url: "http://127.0.0.1:$TPORT/redirect", interval: 1s, timeout: 900ms, confirm: 1,
     expect: {status: [200]}}
  - {name: redirect-kept, type: http, url: "http://127.0.0.1:$TPORT/redirect", interval: 1s, timeout: 900ms, confirm: 1,
     follow_redirects: false, expect: {status: [302]}}
YAML
start_opsd "$T/opsd.yaml"

eventually 10 "a self-signed certificate fails verification by default" state_is tls-verified down
check "the message says it is a TLS problem" \
    bash -c "curl -s $URL/api/v1/monitors/tls-verified | jq -r .last_result.message | grep -q '^tls: '"
eventually 10 "tls_verify: false accepts it" state_is tls-unverified up
check "days to certificate expiry are recorded (19 or 20)" \
    bash -c "curl -s $URL/api/v1/monitors/tls-unverified | jq -e '.last_result.cert_days == 19 or .last_result.cert_days == 20' >/dev/null"
check "TLS handshake time is recorded" \
    bash -c "curl -s $URL/api/v1/monitors/tls-unverified | jq -e '.last_result.timings_ms.tls > 0' >/dev/null"
check "/metrics exports days to expiry" \
    bash -c "curl -s $URL/metrics | grep -qE '^opsd_monitor_cert_expiry_days\\{monitor=\"tls-unverified\"\\} (19|20)'"
eventually 10 "a redirect is followed by default" state_is redirect-followed up
eventually 10 "follow_redirects: false sees the 302 itself" state_is redirect-kept up
check "the kept redirect's status is 302" \
    [ "$(api /api/v1/monitors/redirect-kept | jq .last_result.http_status)" = 302 ]

# max_concurrency: 1 with checks that each hang for their whole timeout.
target_mode slow
curl -sf "http://127.0.0.1:$TLS_CPORT/mode/slow" >/dev/null
saw_queue() { [ "$(metric opsd_checks_queued)" -ge 1 ]; }
eventually 10 "with max_concurrency: 1, further checks wait in the queue" saw_queue
never_two() {
    local i v
    for i in $(seq 30); do
        v=$(metric opsd_checks_in_flight)
        [ "${v:-9}" -le 1 ] || return 1
        sleep 0.05
    done
}
check "and never more than one check is in flight" never_two
check "slots that come while a check waits are counted as skipped" \
    bash -c "curl -s $URL/metrics | grep -qE '^opsd_checks_skipped_total [1-9]'"

stop_opsd
check "SIGTERM exits 0 with checks in flight" [ "$STOP_RC" -eq 0 ]
checks_done=$(checks_done_at_stop)
check "the checks in flight at SIGTERM finished and were stored" \
    bash -c "grep -q 'event=engine_stopping in_flight=1' $T/opsd.log && [ \$(sqlite3 $T/data/opsd.db 'select count(*) from results') = '$checks_done' ]"
finish
