#!/bin/bash
# Heartbeats (Healthchecks.io-compatible URLs): up after a ping, down after
# period + grace without one, down at once on /fail or a non-zero exit code
# whatever `confirm` says, and unknown tokens get 404 and change nothing.
. "$(dirname "$0")/lib.sh"

new_port
TOK=backup-token-0123456789abcdef
TOK2=other-token-0123456789abcdef
cat >"$T/opsd.yaml" <<YAML
server: {listen: "127.0.0.1:$PORT", data_dir: "$T/data"}
monitors:
  - {name: backup, type: heartbeat, token: "$TOK", period: 2s, grace: 1s, confirm: 5}
  - {name: other, type: heartbeat, token: "$TOK2", period: 1h, grace: 1h}
YAML
start_opsd "$T/opsd.yaml"

check "a new heartbeat starts pending" state_is backup pending
check "GET /ping/<token> answers 200" [ "$(status_code "$URL/ping/$TOK")" = 200 ]
check "the ping brings it up at once" state_is backup up
check "last_ping is reported" bash -c "curl -s $URL/api/v1/monitors/backup | jq -e '.last_ping != null' >/dev/null"
eventually 8 "no ping within period + grace takes it down" state_is backup down
check "the result says why" \
    bash -c "curl -s $URL/api/v1/monitors/backup | jq -r .last_result.message | grep -q 'no ping within period 2s + grace 1s'"

check "POST /ping/<token> with a body answers 200" \
    [ "$(status_code -X POST --data-binary 'backup done: 42 GB' "$URL/ping/$TOK")" = 200 ]
check "it is up again" state_is backup up
check "the ping body is the result message" \
    bash -c "curl -s $URL/api/v1/monitors/backup | jq -r .last_result.message | grep -q '42 GB'"

check "/start answers 200 and changes no state" \
    bash -c "[ \$(curl -s -o /dev/null -w '%{http_code}' $URL/ping/$TOK/start) = 200 ] && [ \$(curl -s $URL/api/v1/monitors/backup | jq -r .state) = up ]"
check "/fail answers 200" [ "$(status_code "$URL/ping/$TOK/fail")" = 200 ]
check "/fail takes it down at once despite confirm: 5" state_is backup down
check "/0 (exit code 0) brings it up" bash -c "curl -sf $URL/ping/$TOK/0 >/dev/null && [ \$(curl -s $URL/api/v1/monitors/backup | jq -r .state) = up ]"
check "/3 (non-zero exit) takes it down at once" \
    bash -c "curl -sf $URL/ping/$TOK/3 >/dev/null && [ \$(curl -s $URL/api/v1/monitors/backup | jq -r .state) = down ]"
check "the exit status is the message" \
    bash -c "curl -s $URL/api/v1/monitors/backup | jq -r .last_result.message | grep -q 'exit status 3'"

before=$(curl -s "$URL/api/v1/monitors" | jq -c '[.monitors[] | {name, state, checks_total}]')
check "an unknown token gets 404" [ "$(status_code "$URL/ping/unknown-token-0123456789")" = 404 ]
check "a too-short token gets 404" [ "$(status_code "$URL/ping/short")" = 404 ]
check "an exit code above 255 is rejected with 400" [ "$(status_code "$URL/ping/$TOK/256")" = 400 ]
head -c 70000 /dev/zero | tr '\0' x >"$T/big"
check "a ping body over 64 KiB gets 413 JSON" \
    bash -c "[ \$(curl -s -o $T/body -w '%{http_code}' -X POST --data-binary @$T/big $URL/ping/$TOK) = 413 ] && jq -e .error.message $T/body >/dev/null"
check "DELETE on a ping URL gets 405 with Allow" \
    bash -c "curl -s -D - -o /dev/null -X DELETE $URL/ping/$TOK | grep -qi '^allow: '"
check "a POST to the monitors list gets 405" [ "$(status_code -X POST "$URL/api/v1/monitors")" = 405 ]
after=$(curl -s "$URL/api/v1/monitors" | jq -c '[.monitors[] | {name, state, checks_total}]')
check "unknown, oversized and bad pings changed nothing" [ "$before" = "$after" ]
check "the other heartbeat was untouched" state_is other pending
check "the API listing never shows tokens" bash -c "! curl -s $URL/api/v1/monitors | grep -q '$TOK'"

stop_opsd
check "SIGTERM exits 0" [ "$STOP_RC" -eq 0 ]
check "tokens never reach the log" bash -c "! grep -q '$TOK' $T/opsd.log"
finish
