#!/bin/bash
# HTTP checks with a method, headers, a body and credentials; assertions on
# a JSON body; a degraded latency that warns before max_latency fails; and
# TCP checks that send a line and expect a banner.
. "$(dirname "$0")/lib.sh"

start_target
BANNER_PORT=$(free_port)
# A line server: greets, then answers PING with +PONG.
$PY - "$BANNER_PORT" <<'PY' &
import socket, sys, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64)
def serve(c):
    try:
        c.sendall(b"220 banner-server ready\r\n")
        data = c.recv(100)
        if data.startswith(b"PING"):
            c.sendall(b"+PONG\r\n")
    except OSError:
        pass
    finally:
        c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
PIDS+=($!)
wait_for 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$BANNER_PORT" || { not_ok "banner server did not start"; finish; }
export OPSD_TEST_TOKEN=s3cr3t-bearer-token
new_port
cat >"$T/opsd.yaml" <<YAML
server: {listen: "127.0.0.1:$PORT", data_dir: "$T/data"}
defaults: {interval: 1s, timeout: 1s, confirm: 1}
monitors:
  - name: echo-post
    type: http
    url: "http://127.0.0.1:$TPORT/echo"
    method: PUT
    headers: {X-Opsd-Test: "yes", Accept: application/json}
    body: '{"ping": 1}'
    auth: {bearer: "\${OPSD_TEST_TOKEN}"}
    expect:
      json:
        - '\$.method == "PUT"'
        - '\$.headers["x-opsd-test"] == "yes"'
        - '\$.headers.authorization == "Bearer s3cr3t-bearer-token"'
        - '\$.body == "{\"ping\": 1}"'
  - name: echo-basic
    type: http
    url: "http://127.0.0.1:$TPORT/echo"
    auth: {username: alice, password: "wonder land"}
    expect: {json: ['\$.headers.authorization == "Basic YWxpY2U6d29uZGVyIGxhbmQ="', '\$.method == "GET"']}
  - name: health
    type: http
    url: "http://127.0.0.1:$TPORT/health.json"
    expect: {json: ['\$.status == "ok"', '\$.checks[0].latency_ms < 200', '\$.ready']}
  - name: health-bad-path
    type: http
    url: "http://127.0.0.1:$TPORT/health.json"
    expect: {json: ['\$.checks[3].latency_ms < 200']}
  - name: not-json
    type: http
    url: "http://127.0.0.1:$TPORT/"
    expect: {json: ['\$.status == "ok"']}
  - name: degraded
    type: http
    url: "http://127.0.0.1:$TPORT/"
    expect: {degraded_latency: 1ms, max_latency: 900ms}
  - {name: banner, type: tcp, host: 127.0.0.1, port: $BANNER_PORT, expect: {contains: "banner-server ready"}}
  - {name: pingpong, type: tcp, host: 127.0.0.1, port: $BANNER_PORT, send: "PING\r\n", expect: {contains: "+PONG"}}
  - {name: wrong-banner, type: tcp, host: 127.0.0.1, port: $BANNER_PORT, expect: {contains: "SSH-2.0"}}
YAML
check "opsd check accepts headers, body, auth, expect.json, degraded_latency, send" "$OPSD" check -c "$T/opsd.yaml"
start_opsd "$T/opsd.yaml"

eventually 10 "PUT with headers, a body and a bearer token: every json assertion holds" state_is echo-post up
eventually 10 "basic auth is sent" state_is echo-basic up
eventually 10 "a JSON health document: up" state_is health up
target_mode degraded
eventually 10 "the document says degraded: down" state_is health down
check "the message names the assertion and what was found" msg_like health 'HTTP 200: $.status == "ok": it is "degraded"'
target_mode 200
eventually 10 "a path that is not there: down" state_is health-bad-path down
check "and says so" msg_like health-bad-path 'HTTP 200: $.checks\[3\].latency_ms < 200: the path is missing'
eventually 10 "a body that is not JSON: down" state_is not-json down
check "the message says the body is not JSON" msg_like not-json "HTTP 200: the body is not JSON (*)"
eventually 10 "slower than degraded_latency: a warning" bash -c "[ \"\$(curl -s $URL/api/v1/monitors/degraded | jq -r .last_result.status)\" = warning ]"
check "still up" state_is degraded up
check "the message names degraded_latency" msg_like degraded "HTTP 200 in * ms, above degraded_latency 1 ms"

eventually 10 "a banner that matches: up" state_is banner up
check "the message does not echo the expected text" msg_like banner "127.0.0.1 port $BANNER_PORT answered with expect.contains in * ms"
eventually 10 "send PING, expect +PONG: up" state_is pingpong up
eventually 10 "a banner that does not match: down" state_is wrong-banner down
check "the message shows what the server sent" msg_like wrong-banner 'timeout: expect.contains not seen; got "220 banner-server ready.." (after * ms)'
check "the bearer token is not in the log" bash -c "! grep -q s3cr3t '$T/opsd.log'"
check "nor in the API" bash -c "! curl -s $URL/api/v1/monitors | grep -q s3cr3t"

stop_opsd
check "SIGTERM exits 0" [ "$STOP_RC" -eq 0 ]

cat >"$T/bad.yaml" <<'YAML'
monitors:
  - {name: a, type: http, url: "http://x", expect: {json: ['$.a ==', 'status == 1', '$.a[x]']}}
  - {name: b, type: http, url: "http://x", headers: {"Bad Header": x}, auth: {bearer: t, username: u}}
  - {name: c, type: tcp, host: h, port: 1, expect: {json: ['$.a']}}
YAML
"$OPSD" check -c "$T/bad.yaml" >"$T/bad.out" 2>&1
check "opsd check exits 2 on bad extras" [ $? -eq 2 ]
check "a json assertion without a value" grep -q "bad.yaml:2:.*: error: json assertion '\$.a ==': expected a value after ==" "$T/bad.out"
check "a json assertion without \$" grep -q "bad.yaml:2:.*: error: json assertion 'status == 1': expected a path starting with '\\$' at column 1" "$T/bad.out"
check "a bad index" grep -q "bad.yaml:2:.*: error: json assertion '\$.a\[x\]': expected an index" "$T/bad.out"
check "a header name with a space" grep -q "bad.yaml:3:.*: error: 'Bad Header' is not a valid header name" "$T/bad.out"
check "bearer and username together" grep -q "bad.yaml:3:.*: error: auth has both bearer and username/password" "$T/bad.out"
check "json does not apply to tcp" grep -q "bad.yaml:4:.*: error: key 'json' does not apply to a tcp monitor (only to http monitors)" "$T/bad.out"
finish
