#!/bin/bash
# Signed one-click links end to end: every firing alert in a notification
# carries an ack and a resolve link; GET shows a confirmation page and
# changes nothing, POST acts; tampered, misused, foreign-key and expired
# tokens are refused and change nothing; the generated key survives a
# restart, link_secret replaces it on reload; tokens reach neither the log
# nor the database. Tokens are forged here from the documented format
# (alert/link.h) to show that a link_secret's key is SHA-256 of it and that
# expiry is enforced without waiting for link_ttl.
. "$(dirname "$0")/lib.sh"

start_receiver
CLOSED=$(free_port) # nothing listens: a TCP check there fails
new_port
write_config() { # write_config [ALERTING_EXTRA]
    cat >"$T/opsd.yaml" <<EOF
server: {listen: 127.0.0.1:$PORT, data_dir: $T/data}
alerting: {retry_min: 100ms, retry_max: 500ms$1}
receivers:
  - {name: hook, webhook: {url: "http://127.0.0.1:$RPORT/hook"}}
  - {name: chat, slack: {webhook_url: "http://127.0.0.1:$RPORT/slack/T0/B0/x"}}
route: {receiver: hook, group_by: [monitor], group_wait: 0s, group_interval: 1s, repeat_interval: 1h,
        routes: [{match: {monitor: one}, receiver: chat, continue: true}, {receiver: hook}]}
monitors:
  - {name: one, type: tcp, host: 127.0.0.1, port: $CLOSED, interval: 1s, timeout: 500ms, confirm: 1}
  - {name: two, type: tcp, host: 127.0.0.1, port: $CLOSED, interval: 1s, timeout: 500ms, confirm: 1}
EOF
}
write_config ""
start_opsd "$T/opsd.yaml"

# firing_alert MONITOR: the first firing notification's alert for it (JSON)
firing_alert() {
    received /hook | jq -c --arg m "$1" \
        '[.[] | .body | fromjson | select(.status == "firing") | .alerts[] | select(.monitor == $m)] | first // empty'
}
alert_state() { api "/api/v1/alerts/$1" | jq -r .alert.state; }
# page URL [curl args]: the body of a link page; CODE holds the status
page() {
    local url=$1
    shift
    curl -s -o "$T/page.html" -w '%{http_code}' "$@" "$url" >"$T/page.code"
    CODE=$(cat "$T/page.code")
}
page_has() { grep -qF -- "$1" "$T/page.html"; }

echo "# links in notifications"
firing_n() { received /hook | jq '[.[] | .body | fromjson | select(.status == "firing") | .alerts[]] | length'; }
eventually 10 "both monitors' alerts reach the webhook" value_is -ge 2 firing_n
A1=$(firing_alert one)
A2=$(firing_alert two)
ID1=$(jq -r .id <<<"$A1")
ID2=$(jq -r .id <<<"$A2")
ACK1=$(jq -r .ack_url <<<"$A1")
RES1=$(jq -r .resolve_url <<<"$A1")
ACK2=$(jq -r .ack_url <<<"$A2")
RES2=$(jq -r .resolve_url <<<"$A2")
TOK1=${ACK1#*\?t=}
check "the ack link is external_url/a/ID/ack?t=TOKEN" \
    bash -c "[[ '$ACK1' =~ ^$URL/a/$ID1/ack\\?t=[A-Za-z0-9_-]{88}\$ ]]"
check "the resolve link is external_url/a/ID/resolve?t=TOKEN" \
    bash -c "[[ '$RES1' =~ ^$URL/a/$ID1/resolve\\?t=[A-Za-z0-9_-]{88}\$ ]]"
check "each link has its own token" test "${RES1#*\?t=}" != "$TOK1"
check "the generated key is data_dir/link.key, 32 bytes, mode 0600" \
    test "$(stat -c '%s %a' "$T/data/link.key")" = "32 600"
# slack_has TEXT URL_PREFIX: a Slack message has a button TEXT linking there
# (its own token: every notification signs its own links)
slack_has() {
    received /slack/ | jqe --arg t "$1" --arg u "$2" \
        '[.[].body | fromjson | .. | objects | select(.type? == "button" and .text.text == $t) | .url
          | select(startswith($u) and (.[($u | length):] | test("^[A-Za-z0-9_-]{88}$")))] | length == 1'
}
eventually 10 "Slack's message has an Acknowledge button with a link" \
    slack_has Acknowledge "$URL/a/$ID1/ack?t="
check "and a Resolve button" slack_has Resolve "$URL/a/$ID1/resolve?t="

echo "# GET confirms, changes nothing"
page "$ACK1"
check "GET on the ack link answers 200 ($CODE)" test "$CODE" = 200
check "the page names the action and the alert" page_has "Acknowledge alert $ID1"
check "the page shows the monitor" page_has "<dd>one</dd>"
check "the page has a button that POSTs to the same link, relative" \
    page_has "<form method=\"post\" action=\"ack?t=$TOK1\">"
check "the alert is still firing after the GET" test "$(alert_state "$ID1")" = firing
check "the page may not be cached, framed, or post elsewhere" \
    bash -c "curl -sI '$ACK1' | tr -d '\\r' | grep -qi '^cache-control: no-store' &&
             curl -sI '$ACK1' | tr -d '\\r' | grep -qi \"^content-security-policy:.*form-action 'self'.*frame-ancestors 'none'\""

echo "# refused tokens change nothing"
mid=$((${#TOK1} / 2))
c=${TOK1:$mid:1}
[ "$c" = A ] && r=B || r=A
BAD="${TOK1:0:$mid}$r${TOK1:$((mid + 1))}"
page "$URL/a/$ID1/ack?t=$BAD"
check "a tampered token: GET 403 ($CODE)" test "$CODE" = 403
page "$URL/a/$ID1/ack?t=$BAD" -X POST
check "a tampered token: POST 403 ($CODE)" test "$CODE" = 403
page "$URL/a/$ID1/resolve?t=$TOK1" -X POST
check "an ack token on the resolve link: 403 ($CODE)" test "$CODE" = 403
page "$URL/a/$ID2/ack?t=$TOK1" -X POST
check "alert $ID1's token on alert $ID2: 403 ($CODE)" test "$CODE" = 403
page "$URL/a/$ID1/ack" -X POST
check "no token: 400 ($CODE)" test "$CODE" = 400
page "$URL/a/$ID1/ack?t=$TOK1&t=$TOK1" -X POST
check "two tokens: 400 ($CODE)" test "$CODE" = 400
page "$URL/a/$ID1/ack?t=short" -X POST
check "a malformed token: 400 ($CODE)" test "$CODE" = 400
check "DELETE on a link: 405" test "$(status_code -X DELETE "$ACK1")" = 405
check "after all that, both alerts are still firing" \
    test "$(alert_state "$ID1") $(alert_state "$ID2")" = "firing firing"

echo "# POST acts"
page "$ACK1" -X POST
check "POST on the ack link answers 200 ($CODE)" test "$CODE" = 200
check "the page says it is acknowledged" page_has "Acknowledged."
check "the alert is acknowledged, by the link" \
    jqe '.alert.state == "acknowledged" and .alert.acked_by == "link"' <<<"$(api "/api/v1/alerts/$ID1")"
check "alert $ID2 is untouched" test "$(alert_state "$ID2")" = firing

echo "# the generated key survives a restart"
stop_opsd
check "SIGTERM exits 0" test "$STOP_RC" = 0
start_opsd "$T/opsd.yaml"
page "$RES1"
check "the resolve link sent before the restart still works: GET 200 ($CODE)" test "$CODE" = 200
check "its page shows who acknowledged it" page_has "<dt>Acknowledged by</dt><dd>link</dd>"
page "$RES1" -X POST
check "POST on the resolve link answers 200 ($CODE)" test "$CODE" = 200
check "the alert is resolved" test "$(alert_state "$ID1")" = resolved
resolved_msgs() {
    received /hook | jq --argjson id "$ID1" \
        '[.[] | .body | fromjson | select(.status == "resolved") | .alerts[] | select(.id == $id)]'
}
resolved_n() { resolved_msgs | jq length; }
eventually 10 "the resolve message reaches the receiver" value_is -ge 1 resolved_n
check "a resolved alert's message carries no links" \
    jqe 'length >= 1 and all(.[]; .ack_url == null and .resolve_url == null)' <<<"$(resolved_msgs)"
page "$ACK1" -X POST
check "the ack link of a resolved alert: 409 ($CODE)" test "$CODE" = 409
page "$RES1"
check "GET on a resolved alert's link: 200, nothing left to do, no button" \
    bash -c "[ $CODE = 200 ] && grep -qF 'already resolved' '$T/page.html' && ! grep -qF '<form' '$T/page.html'"

echo "# tokens are credentials: never logged, never stored"
check "no token in the log" fails grep -qF -e "$TOK1" -e "${RES1#*\?t=}" -e "${ACK2#*\?t=}" "$T/opsd.log"
check "no token in the database" \
    fails grep -qaF -e "$TOK1" -e "${RES1#*\?t=}" -e "${ACK2#*\?t=}" -r "$T/data"

echo "# link_secret: the key is SHA-256 of it; a new key retires old links"
SECRET=e2e-link-secret-0123456789
write_config ", link_secret: \"$SECRET\", link_ttl: 2h"
check "opsd check accepts link_secret and link_ttl" "$OPSD" check -c "$T/opsd.yaml"
kill -HUP "$OPSD_PID"
eventually 10 "the reload is applied" grep -q "event=reloaded" "$T/opsd.log"
page "$ACK2" -X POST
check "a link signed with the old key: 403 ($CODE)" test "$CODE" = 403
check "alert $ID2 is still firing" test "$(alert_state "$ID2")" = firing
# forge PURPOSE ID EXPIRES_MS [SECRET]: a token as alert/link.h lays it out
forge() {
    $PY - "$1" "$2" "$3" "${4:-$SECRET}" <<'PY'
import base64, hashlib, hmac, os, struct, sys
purpose, aid, exp, secret = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
key = hashlib.sha256(secret.encode()).digest()
body = struct.pack(">BBQQ", 1, purpose, aid, exp) + os.urandom(16)
raw = body + hmac.new(key, body, hashlib.sha256).digest()
print(base64.urlsafe_b64encode(raw).decode().rstrip("="))
PY
}
now_ms=$(($(date +%s) * 1000))
page "$URL/a/$ID2/ack?t=$(forge 1 "$ID2" $((now_ms - 1000)))" -X POST
check "an expired link: 403 ($CODE), and says so" bash -c "[ $CODE = 403 ] && grep -qF 'expired' '$T/page.html'"
page "$URL/a/$ID2/ack?t=$(forge 1 "$ID2" $((now_ms + 600000)) another-secret-0123456789)" -X POST
check "a token signed with another secret: 403 ($CODE)" test "$CODE" = 403
check "alert $ID2 is still firing" test "$(alert_state "$ID2")" = firing
page "$URL/a/$ID2/ack?t=$(forge 1 "$ID2" $((now_ms + 600000)))" -X POST
check "a token signed with SHA-256(link_secret): 200 ($CODE)" test "$CODE" = 200
check "alert $ID2 is acknowledged" test "$(alert_state "$ID2")" = acknowledged

stop_opsd
check "SIGTERM exits 0" test "$STOP_RC" = 0

echo "# --listen moves the default external_url with it"
FILE_PORT=$(free_port) # in the file; opsd listens elsewhere
new_port
cat >"$T/opsd.yaml" <<EOF
server: {listen: 127.0.0.1:$FILE_PORT, data_dir: $T/data}
alerting: {retry_min: 100ms, retry_max: 500ms}
receivers: [{name: hook, webhook: {url: "http://127.0.0.1:$RPORT/hook"}}]
route: {receiver: hook, group_by: [monitor], group_wait: 0s}
monitors:
  - {name: three, type: tcp, host: 127.0.0.1, port: $CLOSED, interval: 1s, timeout: 500ms, confirm: 1}
EOF
has_firing() { [ -n "$(firing_alert "$1")" ]; }
start_opsd "$T/opsd.yaml" --listen "127.0.0.1:$PORT"
eventually 10 "monitor three's alert reaches the webhook" has_firing three
ACK3=$(firing_alert three | jq -r .ack_url)
check "its ack link starts with the --listen address" \
    bash -c "[[ '$ACK3' == $URL/a/*/ack\\?t=* ]]"
page "$ACK3" -X POST
check "and works: 200 ($CODE)" test "$CODE" = 200
stop_opsd
check "SIGTERM exits 0 at the end" test "$STOP_RC" = 0
check "no sanitizer report in the log" fails grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error' "$T/opsd.log"
finish
