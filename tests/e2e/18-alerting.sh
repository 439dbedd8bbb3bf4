#!/bin/bash
# Alerting end to end against real loopback receivers: one recording HTTP
# receiver standing in for every HTTP channel (opsd webhook signed with
# HMAC, Alertmanager webhook v4, Slack, Telegram, PagerDuty, ntfy, Twilio)
# and a real SMTP server (aiosmtpd, STARTTLS + AUTH) for email. Monitors are
# heartbeats so the test flips each one on its own: /fail is down at once, a
# success ping is up. Also: grouping, dependencies, silences, ack/resolve
# through the API and the CLI with scoped tokens, and no secret in the log
# or the database.
. "$(dirname "$0")/lib.sh"

start_receiver

# SMTP with STARTTLS and AUTH: a throwaway self-signed certificate.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -keyout "$T/smtp.key" -out "$T/smtp.crt" >/dev/null 2>&1
$PY "$HERE/smtp_sink.py" --port-file "$T/smtp.port" --log "$T/smtp.log" \
    --starttls "$T/smtp.crt" "$T/smtp.key" --auth "opsd:e2e-smtp-pass-77" &
PIDS+=($!)
wait_for 10 test -s "$T/smtp.port" || { not_ok "the SMTP sink did not start"; finish; exit 1; }
SP=$(cat "$T/smtp.port")

export OPSD_E2E_HOOK=e2e-hook-secret-3141
export OPSD_E2E_SLACK=e2eslackpath9265
export OPSD_E2E_TG=123456:e2e-telegram-token-5358
export OPSD_E2E_PD=e2e-pagerduty-key-9793
export OPSD_E2E_NTFY=e2e-ntfy-token-2384
export OPSD_E2E_TW=e2e-twilio-token-6264
R="http://127.0.0.1:$RPORT"
new_port
# hb NAME CHAN [extra]: a heartbeat monitor labelled chan=CHAN.
hb() {
    echo "  - {name: $1, type: heartbeat, token: tok-$1-0123456789, period: 1h, grace: 1h," \
        "severity: ${4:-high}, labels: {chan: $2}${3:-}}"
}
cat >"$T/opsd.yaml" <<EOF
server: {listen: 127.0.0.1:$PORT, data_dir: $T/data}
alerting: {retry_min: 100ms, retry_max: 500ms}
receivers:
  - {name: hook, webhook: {url: "$R/hook", secret: "\${OPSD_E2E_HOOK}"}}
  - {name: am, webhook: {url: "$R/am", format: alertmanager}}
  - {name: chat, slack: {webhook_url: "$R/slack/T0/B0/\${OPSD_E2E_SLACK}"}}
  - {name: tg, telegram: {bot_token: "\${OPSD_E2E_TG}", chat_id: "-1001", api_url: "$R/tg"}}
  - {name: pd, pagerduty: {routing_key: "\${OPSD_E2E_PD}", url: "$R/pd/v2/enqueue"}}
  - {name: push, ntfy: {url: "$R/ntfy", topic: ops, token: "\${OPSD_E2E_NTFY}"}}
  - {name: sms, twilio: {account_sid: AC123, auth_token: "\${OPSD_E2E_TW}", from: "+15550001", to: ["+15550002"], api_url: "$R/tw"}}
  - name: mail
    email:
      to: [ops@example.com]
      from: "opsd <opsd@example.com>"
      smtp: {host: 127.0.0.1, port: $SP, starttls: true, username: opsd, password: "e2e-smtp-pass-77"}
      tls_verify: false
  - {name: grp, webhook: {url: "$R/grp"}}
route:
  receiver: hook
  group_by: [monitor]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - {match: {chan: am}, receiver: am}
    - {match: {chan: chat}, receiver: chat}
    - {match: {chan: tg}, receiver: tg}
    - {match: {chan: pd}, receiver: pd}
    - {match: {chan: push}, receiver: push}
    - {match: {chan: sms}, receiver: sms}
    - {match: {chan: mail}, receiver: mail}
    - {match: {chan: grp}, receiver: grp, group_by: [chan], group_wait: 2s}
monitors:
$(hb m-hook hook "" critical)
$(hb m-am am)
$(hb m-chat chat)
$(hb m-tg tg)
$(hb m-pd pd "" critical)
$(hb m-push push)
$(hb m-sms sms)
$(hb m-mail mail)
$(hb g1 grp)
$(hb g2 grp)
$(hb router hook)
$(hb app hook ", depends_on: [router]")
$(hb quiet hook)
EOF
check "opsd check accepts every channel" "$OPSD" check -c "$T/opsd.yaml"

W=$("$OPSD" token create -c "$T/opsd.yaml" --name e2e-writer --scope write 2>/dev/null)
RO=$("$OPSD" token create -c "$T/opsd.yaml" --name e2e-reader --scope read 2>/dev/null)
check "token create prints a token once" test "${#W}" -ge 32 -a "${#RO}" -ge 32
start_opsd "$T/opsd.yaml"

ping_() { curl -sf "$URL/ping/tok-$1-0123456789$2" >/dev/null; }
for m in m-hook m-am m-chat m-tg m-pd m-push m-sms m-mail; do ping_ "$m" /fail; done

# --- the opsd webhook: payload, idempotency key, HMAC signature ---
eventually 10 "the webhook receives the firing alert" received_at_least /hook 1
hook=$(received /hook | jq '.[0]')
check "POST with JSON" test "$(jq -r '.method + " " + .headers["content-type"]' <<<"$hook")" = "POST application/json"
check "firing, critical, for m-hook" test "$(jq -r '.body | fromjson | .status + " " + .alerts[0].severity + " " + .alerts[0].monitor' <<<"$hook")" = "firing critical m-hook"
check "the Idempotency-Key header is the payload's key" \
    test "$(jq -r '.headers["idempotency-key"]' <<<"$hook")" = "$(jq -r '.body | fromjson | .idempotency_key' <<<"$hook")"
verify_sig() {
    jq -c . <<<"$1" | $PY -c '
import hashlib, hmac, json, sys
r = json.loads(sys.stdin.read())
ts, sig = r["headers"]["x-opsd-timestamp"], r["headers"]["x-opsd-signature"]
want = "sha256=" + hmac.new(sys.argv[1].encode(), (ts + ".").encode() + r["body"].encode(), hashlib.sha256).hexdigest()
sys.exit(0 if hmac.compare_digest(want, sig) else 1)' "$2"
}
check "the signature is HMAC-SHA256 over timestamp.body with the secret" verify_sig "$hook" "$OPSD_E2E_HOOK"
check "and not with another key" fails verify_sig "$hook" wrong-secret

# --- Alertmanager webhook v4 ---
eventually 10 "the alertmanager-format webhook receives it" received_at_least /am 1
am=$(received /am | jq '.[0].body | fromjson')
check "version 4, receiver, groupKey, status" test "$(jq -r '[.version, .receiver, .status, (.groupKey | length > 0)] | @tsv' <<<"$am")" = "$(printf '4\tam\tfiring\ttrue')"
check "alertname, labels, startsAt, zero endsAt" test "$(jq -r '.alerts[0] | [.labels.alertname, .labels.monitor, .labels.chan, .status, .endsAt] | @tsv' <<<"$am")" = "$(printf 'MonitorDown\tm-am\tam\tfiring\t0001-01-01T00:00:00Z')"

# --- Slack ---
eventually 10 "Slack's incoming webhook gets a message" received_at_least /slack/T0/B0/ 1
sl=$(received /slack/ | jq '.[0]')
check "posted to the configured webhook URL" test "$(jq -r .path <<<"$sl")" = "/slack/T0/B0/$OPSD_E2E_SLACK"
check "text and blocks name the monitor" jqe '.body | fromjson | (.text | contains("m-chat")) and (.blocks | length > 0)' <<<"$sl"

# --- Telegram ---
eventually 10 "Telegram's sendMessage is called" received_at_least /tg/ 1
tg=$(received /tg/ | jq '.[0]')
check "at api_url/bot<token>/sendMessage" test "$(jq -r .path <<<"$tg")" = "/tg/bot$OPSD_E2E_TG/sendMessage"
check "chat_id, HTML, the monitor in the text" jqe '.body | fromjson | .chat_id == "-1001" and .parse_mode == "HTML" and (.text | contains("m-tg"))' <<<"$tg"

# --- PagerDuty Events API v2 ---
eventually 10 "PagerDuty gets an event" received_at_least /pd/ 1
pd=$(received /pd/ | jq '.[0].body | fromjson')
check "trigger with routing_key, dedup_key, severity and summary" \
    jq -e --arg k "$OPSD_E2E_PD" '.routing_key == $k and .event_action == "trigger" and (.dedup_key | length > 0) and .payload.severity == "critical" and (.payload.summary | contains("m-pd"))' <<<"$pd"
pd_dedup=$(jq -r .dedup_key <<<"$pd")
pd_id=$(api /api/v1/alerts | jq '[.alerts[] | select(.monitor == "m-pd")][0].id')
check "ack of the paged alert: 200" test "$(status_code -X POST -H "Authorization: Bearer $W" "$URL/api/v1/alerts/$pd_id/ack")" = 200
eventually 10 "PagerDuty hears the ack" received_at_least /pd/ 2
check "event_action acknowledge for the same dedup_key" \
    jqe --arg d "$pd_dedup" '.[1].body | fromjson | .event_action == "acknowledge" and .dedup_key == $d' <<<"$(received /pd/)"

# --- ntfy ---
eventually 10 "ntfy gets a push" received_at_least /ntfy 1
nt=$(received /ntfy | jq '.[0]')
check "to the topic with the bearer token" test "$(jq -r '.path + " " + .headers.authorization' <<<"$nt")" = "/ntfy/ops Bearer $OPSD_E2E_NTFY"
check "the message names the monitor" jqe '.body | contains("m-push")' <<<"$nt"

# --- Twilio SMS ---
eventually 10 "Twilio gets a message" received_at_least /tw/ 1
tw=$(received /tw/ | jq '.[0]')
check "the Messages resource of the account" test "$(jq -r .path <<<"$tw")" = "/tw/2010-04-01/Accounts/AC123/Messages.json"
check "basic auth with the account SID and token" \
    test "$(jq -r '.headers.authorization' <<<"$tw")" = "Basic $(printf 'AC123:%s' "$OPSD_E2E_TW" | base64 -w0)"
check "a form with To, From and a Body naming the monitor" $PY -c '
import json, sys, urllib.parse
f = urllib.parse.parse_qs(json.loads(sys.argv[1])["body"])
sys.exit(0 if f["To"] == ["+15550002"] and f["From"] == ["+15550001"] and "m-sms" in f["Body"][0] else 1)' "$(jq -c . <<<"$tw")"

# --- email over SMTP with STARTTLS and AUTH ---
eventually 15 "the SMTP server receives the mail" test -s "$T/smtp.log"
mail=$(head -n1 "$T/smtp.log")
check "after STARTTLS, authenticated as opsd" jqe '.starttls == true and .auth == "opsd"' <<<"$mail"
check "envelope from and to" jqe '.mail_from == "opsd@example.com" and .rcpt_tos == ["ops@example.com"]' <<<"$mail"
check "a subject that says firing and names the monitor" jqe '.data | test("Subject: [^\r\n]*FIRING[^\r\n]*m-mail")' <<<"$mail"

# --- resolve: every channel hears it ---
for m in m-hook m-pd m-mail; do ping_ "$m" ""; done
eventually 10 "the webhook receives the resolve" received_at_least /hook 2
check "status resolved with an end time" jqe '.[1].body | fromjson | .status == "resolved" and .alerts[0].ends_at != null' <<<"$(received /hook)"
eventually 10 "PagerDuty gets a resolve for the same dedup_key, after the ack" received_at_least /pd/ 3
check "event_action resolve" jqe --arg d "$pd_dedup" '.[2].body | fromjson | .event_action == "resolve" and .dedup_key == $d' <<<"$(received /pd/)"
mails() { wc -l <"$T/smtp.log"; }
eventually 15 "the resolve mail arrives" value_is -ge 2 mails
check "its subject says resolved" jqe '.data | test("Subject: [^\r\n]*RESOLVED")' <<<"$(sed -n 2p "$T/smtp.log")"

# --- grouping: two alerts within group_wait go out as one message ---
ping_ g1 /fail
ping_ g2 /fail
eventually 10 "the grouped receiver gets a message" received_at_least /grp 1
sleep 1.5 # a second message would come group_interval later: none must
check "one message for both" test "$(received_n /grp)" = 1
check "holding both alerts" jqe '.[0].body | fromjson | [.alerts[].monitor] | sort == ["g1", "g2"]' <<<"$(received /grp)"

# --- dependencies: a child of a down parent is recorded, not sent ---
ping_ router /fail
# hook_for MONITOR: how many webhook messages were about MONITOR's alert.
hook_for() { received /hook | jq --arg m "$1" '[.[] | .body | fromjson | select(.alerts[0].monitor == $m)] | length'; }
eventually 10 "the parent's alert goes out" value_is -ge 1 hook_for router
check "it says how many dependents are affected" jqe '[.[] | .body | fromjson | select(.alerts[0].monitor == "router")][0].alerts[0].summary | contains("1 dependent monitor affected")' <<<"$(received /hook)"
ping_ app /fail
# alert_state MONITOR: the state of MONITOR's newest alert.
alert_state() { api /api/v1/alerts | jq -r --arg m "$1" '[.alerts[] | select(.monitor == $m)][0].state'; }
eventually 10 "the child's alert is recorded, as silenced" value_is = silenced alert_state app
check "as suppressed by its parent" jqe '[.alerts[] | select(.monitor == "app")][0].suppressed | contains("router")' <<<"$(api /api/v1/alerts)"
sleep 1.5
check "and nothing is sent for it" value_is = 0 hook_for app
ping_ router ""
eventually 10 "once the parent is up, the child that is still down is sent" value_is = 1 hook_for app

# --- the API and the CLI: tokens, ack, resolve ---
id=$(api /api/v1/alerts | jq '[.alerts[] | select(.monitor == "m-am")][0].id')
check "GET /api/v1/alerts lists the open alert" test "$id" -gt 0
check "ack without a token: 401" test "$(status_code -X POST "$URL/api/v1/alerts/$id/ack")" = 401
check "with a JSON error body" jqe '.error.code and .error.message' <<<"$(curl -s -X POST "$URL/api/v1/alerts/$id/ack")"
check "ack with a bad token: 401" test "$(status_code -X POST -H "Authorization: Bearer opsd_not-a-real-token" "$URL/api/v1/alerts/$id/ack")" = 401
check "ack with a read token: 403" test "$(status_code -X POST -H "Authorization: Bearer $RO" "$URL/api/v1/alerts/$id/ack")" = 403
check "a read token may read" test "$(status_code -H "Authorization: Bearer $RO" "$URL/api/v1/alerts")" = 200
check "ack with a write token: 200" test "$(status_code -X POST -H "Authorization: Bearer $W" "$URL/api/v1/alerts/$id/ack")" = 200
check "the alert is acknowledged, by the token's name" jqe --argjson id "$id" '.alert.state == "acknowledged" and .alert.acked_by == "e2e-writer"' <<<"$(api "/api/v1/alerts/$id")"
check "a second ack renews it: 200" test "$(status_code -X POST -H "Authorization: Bearer $W" "$URL/api/v1/alerts/$id/ack")" = 200
check "ack of an unknown alert: 404" test "$(status_code -X POST -H "Authorization: Bearer $W" "$URL/api/v1/alerts/999999/ack")" = 404
check "a path that is no alert id: 404" test "$(status_code -X POST -H "Authorization: Bearer $W" "$URL/api/v1/alerts/x1/ack")" = 404
n_am=$(received_n /am)
check "opsd resolve (CLI) resolves it" env OPSD_TOKEN="$W" "$OPSD" resolve -c "$T/opsd.yaml" "$id"
check "the alert is resolved" test "$(api "/api/v1/alerts/$id" | jq -r .alert.state)" = resolved
check "acking a resolved alert: 409" test "$(status_code -X POST -H "Authorization: Bearer $W" "$URL/api/v1/alerts/$id/ack")" = 409
eventually 10 "an ack does not swallow the resolve message" received_at_least /am $((n_am + 1))
check "opsd ack without a token fails" fails "$OPSD" ack -c "$T/opsd.yaml" "$id" 2>/dev/null
check "opsd alerts --json is JSON" jqe '.alerts | type == "array"' <<<"$("$OPSD" alerts -c "$T/opsd.yaml" --json)"

# --- silences ---
check "opsd silence add" env OPSD_TOKEN="$W" "$OPSD" silence add -c "$T/opsd.yaml" --match monitor=quiet --for 1h --comment "e2e window"
sil=$(api /api/v1/silences | jq '.silences[0]')
check "GET /api/v1/silences lists it with author and comment" jqe '.created_by == "e2e-writer" and .comment == "e2e window" and .state == "active"' <<<"$sil"
n_hook=$(received_n /hook)
ping_ quiet /fail
eventually 10 "the silenced alert is recorded as silenced" value_is = silenced alert_state quiet
sleep 1.5
check "and not sent" value_is = 0 hook_for quiet
check "a silence without a token: 401" test "$(status_code -X POST -d '{"matchers":[{"name":"monitor","op":"=","value":"x"}],"ends_at":"2030-01-01T00:00:00Z"}' "$URL/api/v1/silences")" = 401
check "a malformed silence: 400" test "$(status_code -X POST -H "Authorization: Bearer $W" -d '{"matchers":"nope"}' "$URL/api/v1/silences")" = 400
check "opsd silence expire" env OPSD_TOKEN="$W" "$OPSD" silence expire -c "$T/opsd.yaml" "$(jq .id <<<"$sil")"
eventually 10 "once expired, the alert that still fires is sent" value_is = 1 hook_for quiet
check "n_hook grew by that one" test "$(received_n /hook)" -gt "$n_hook"

# --- the outbox as the API and the CLI show it ---
check "GET /api/v1/notifications lists delivered ones" jqe '[.notifications[] | select(.state == "delivered")] | length >= 10' <<<"$(api /api/v1/notifications)"
nid=$(api /api/v1/notifications | jq '.notifications[0].id')
check "one notification with its attempts" jqe '.notification.attempts | length >= 1' <<<"$(api "/api/v1/notifications/$nid")"
check "opsd notifications --failed: none" test "$("$OPSD" notifications -c "$T/opsd.yaml" --failed --json | jq '.notifications | length')" = 0

# --- secrets ---
stop_opsd
check "SIGTERM exits 0" test "$STOP_RC" = 0
leaks=0
for s in "$OPSD_E2E_HOOK" "$OPSD_E2E_SLACK" "$OPSD_E2E_TG" "$OPSD_E2E_PD" "$OPSD_E2E_NTFY" "$OPSD_E2E_TW" e2e-smtp-pass-77 "$W" "$RO"; do
    if grep -qaF -- "$s" "$T/opsd.log" "$T"/data/*; then
        echo "secret found: $s" >&2
        leaks=$((leaks + 1))
    fi
done
check "no secret or token in the log or the database" test "$leaks" = 0

finish
