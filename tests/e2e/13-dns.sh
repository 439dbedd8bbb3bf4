#!/bin/bash
# DNS monitors against a real DNS server (dnsmasq on a loopback port) and
# two fakes (one that answers slowly, one that never answers): A, AAAA,
# CNAME, MX and TXT answers judged by contains, equals and max_latency;
# NXDOMAIN, NODATA and REFUSED; a server given by name; a timeout that holds
# up no other monitor; a reload that removes a monitor mid-query; and a stop
# with a query in flight.
. "$(dirname "$0")/lib.sh"

DNSMASQ=/usr/sbin/dnsmasq
[ -x "$DNSMASQ" ] || { echo "$TEST_NAME: dnsmasq not installed (dnsmasq-base)"; not_ok "dnsmasq"; finish; exit 1; }

# dns_answers PORT NAME [TYPE]: exit 0 once the server on PORT answers.
dns_answers() {
    $PY - "$@" <<'PY'
import socket, struct, sys
port, name = int(sys.argv[1]), sys.argv[2]
qtype = {"A": 1, "AAAA": 28}[sys.argv[3] if len(sys.argv) > 3 else "A"]
q = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
q += struct.pack(">HH", qtype, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2.0)  # the slow fake answers after 0.3 s; leave room on a loaded CI box
s.sendto(q, ("127.0.0.1", port))
r, _ = s.recvfrom(4096)
sys.exit(0 if r[:2] == b"\x42\x42" else 1)
PY
}

# The real server. --local: names under example.test that it does not know
# are NXDOMAIN, known names without the type asked for NODATA, and names
# outside it REFUSED (no upstream).
DP=$(free_port)
"$DNSMASQ" --no-daemon --conf-file=/dev/null --pid-file= --no-resolv --no-hosts \
    --port="$DP" --listen-address=127.0.0.1 --bind-interfaces --log-facility=- \
    --local=/example.test/ \
    --host-record=www.example.test,192.0.2.10 \
    --host-record=v6.example.test,2001:db8::10 \
    --cname=alias.example.test,www.example.test \
    --mx-host=example.test,mail.example.test,10 \
    --mx-host=example.test,mx2.example.test,20 \
    --txt-record=example.test,"v=spf1 ip4:192.0.2.0/24 -all" \
    >"$T/dnsmasq.log" 2>&1 &
PIDS+=($!)
wait_for 10 dns_answers "$DP" www.example.test || { not_ok "dnsmasq did not start"; cat "$T/dnsmasq.log"; finish; exit 1; }

# The fakes: bind port 0, write the port to a file, then answer every A
# query with 192.0.2.77 after DELAY seconds (or never, for a negative DELAY).
cat >"$T/fakedns.py" <<'PY'
import os, socket, sys, threading
portfile, delay = sys.argv[1], float(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
with open(portfile + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(portfile + ".tmp", portfile)
while True:
    q, peer = s.recvfrom(4096)
    if delay < 0 or len(q) < 17:
        continue
    end = 12
    while end < len(q) and q[end]:
        end += q[end] + 1
    end += 5
    resp = (q[:2] + b"\x81\x80" + q[4:6] + b"\x00\x01\x00\x00\x00\x00" + q[12:end]
            + b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + bytes([192, 0, 2, 77]))
    threading.Timer(delay, s.sendto, (resp, peer)).start()
PY
$PY "$T/fakedns.py" "$T/slow.port" 0.3 &
PIDS+=($!)
$PY "$T/fakedns.py" "$T/hole.port" -1 &
PIDS+=($!)
if ! wait_for 10 test -s "$T/slow.port" || ! wait_for 10 test -s "$T/hole.port"; then
    not_ok "the fake DNS servers did not start"
    finish
    exit 1
fi
SP=$(cat "$T/slow.port")
HP=$(cat "$T/hole.port")
wait_for 10 dns_answers "$SP" slow.test || { not_ok "the slow fake does not answer"; finish; exit 1; }

new_port
S="127.0.0.1:$DP"
cat >"$T/opsd.yaml" <<YAML
server: {listen: "127.0.0.1:$PORT", data_dir: "$T/data"}
defaults: {interval: 1s, timeout: 1s, confirm: 1}
monitors:
  - {name: dns-www, type: dns, query: www.example.test, record: A, server: "$S", expect: {contains: "192.0.2.10", max_latency: 500ms}}
  - {name: dns-v6, type: dns, query: v6.example.test, record: AAAA, server: "$S", expect: {equals: ["2001:DB8:0::10"]}}
  - {name: dns-alias, type: dns, query: alias.example.test, record: CNAME, server: "$S", expect: {equals: [www.example.test.]}}
  - {name: dns-alias-a, type: dns, query: alias.example.test, server: "$S", expect: {equals: [192.0.2.10]}}
  - {name: dns-mx, type: dns, query: example.test, record: MX, server: "$S", expect: {equals: ["20 mx2.example.test", "10 mail.example.test"]}}
  - {name: dns-txt, type: dns, query: example.test, record: txt, server: "$S", expect: {contains: "v=spf1"}}
  - {name: dns-by-name, type: dns, query: www.example.test, server: "localhost:$DP"}
  - {name: dns-wrong-ip, type: dns, query: www.example.test, server: "$S", expect: {contains: "192.0.2.99"}}
  - {name: dns-mx-changed, type: dns, query: example.test, record: MX, server: "$S", expect: {equals: ["10 mail.example.test"]}}
  - {name: dns-nx, type: dns, query: nothere.example.test, server: "$S"}
  - {name: dns-nodata, type: dns, query: www.example.test, record: AAAA, server: "$S"}
  - {name: dns-refused, type: dns, query: www.elsewhere.test, server: "$S"}
  - {name: dns-slow-ok, type: dns, query: slow.test, server: "127.0.0.1:$SP", timeout: 2s, interval: 2s, expect: {max_latency: 1s}}
  - {name: dns-slow, type: dns, query: slow.test, server: "127.0.0.1:$SP", timeout: 2s, interval: 2s, expect: {max_latency: 100ms}}
  - {name: dns-hole, type: dns, query: www.example.test, server: "127.0.0.1:$HP"}
YAML
check "opsd check accepts the dns monitors" "$OPSD" check -c "$T/opsd.yaml"
start_opsd "$T/opsd.yaml"

eventually 10 "A: up" state_is dns-www up
check "its message lists the answer and the time" msg_like dns-www "A www.example.test: 192.0.2.10 in *.* ms"
eventually 10 "AAAA equals, written differently: up" state_is dns-v6 up
check "the AAAA answer in canonical form" msg_like dns-v6 "AAAA v6.example.test: 2001:db8::10 in * ms"
eventually 10 "CNAME equals (a final dot ignored): up" state_is dns-alias up
check "the CNAME's target" msg_like dns-alias "CNAME alias.example.test: www.example.test in * ms"
eventually 10 "A through a CNAME: up" state_is dns-alias-a up
eventually 10 "MX equals, in another order: up" state_is dns-mx up
check "MX answers as 'preference exchange', lowest first" msg_like dns-mx "MX example.test: 10 mail.example.test, 20 mx2.example.test in * ms"
eventually 10 "TXT contains: up" state_is dns-txt up
check "the TXT text, quoted" msg_like dns-txt 'TXT example.test: "v=spf1 ip4:192.0.2.0/24 -all" in * ms'
eventually 10 "a server given by name (localhost): up" state_is dns-by-name up

eventually 10 "contains not met: down" state_is dns-wrong-ip down
check "the message gives the answers, not the (maybe secret) text" msg_like dns-wrong-ip "A www.example.test: 192.0.2.10 in * ms, expect.contains not found in the answers"
eventually 10 "equals not met (an MX too many): down" state_is dns-mx-changed down
check "the message gives the answers and how they differ" msg_like dns-mx-changed "MX example.test: 10 mail.example.test, 20 mx2.example.test in * ms, not the expect.equals set (1 unexpected)"
eventually 10 "NXDOMAIN: down" state_is dns-nx down
check "the message says no such domain" msg_like dns-nx "A nothere.example.test: no such domain (NXDOMAIN) in * ms"
eventually 10 "NODATA: down" state_is dns-nodata down
check "the message says the name has no such record" msg_like dns-nodata "AAAA www.example.test: no AAAA record (NODATA) in * ms"
eventually 10 "REFUSED: down" state_is dns-refused down
check "the message names the server that refused" msg_like dns-refused "A www.elsewhere.test: query refused (REFUSED) by $S in * ms"

eventually 10 "a 300 ms answer within max_latency 1s: up" state_is dns-slow-ok up
check "the time is the server's delay" msg_like dns-slow-ok "A slow.test: 192.0.2.77 in 3??.? ms"
eventually 10 "a 300 ms answer over max_latency 100ms: down" state_is dns-slow down
check "the message gives the time and the limit" msg_like dns-slow "A slow.test: 192.0.2.77 in 3??.? ms, above max_latency 100 ms"

eventually 10 "a server that never answers: down" state_is dns-hole down
check "the message says timeout and names the server" msg_like dns-hole "A www.example.test: timeout, no answer from 127.0.0.1:$HP (after *.? ms)"
total() { api "/api/v1/monitors/$1" | jq .checks_total; }
before=$(total dns-www)
eventually 6 "meanwhile the other monitors keep being checked" bash -c "[ \$(curl -s $URL/api/v1/monitors/dns-www | jq .checks_total) -ge $((before + 3)) ]"
check "and stay up" state_is dns-www up

# A reload that removes the never-answered monitor mid-query (its check is
# cancelled, its query disowned) and the slow ones, and adds one with a
# longer timeout.
in_flight() { [ "$(metric opsd_checks_in_flight)" -ge 1 ]; }
wait_for 5 in_flight
sed -i -e '/name: dns-hole,/d' -e '/name: dns-slow/d' "$T/opsd.yaml"
cat >>"$T/opsd.yaml" <<YAML
  - {name: dns-hang, type: dns, query: www.example.test, server: "127.0.0.1:$HP", interval: 5s, timeout: 3s}
YAML
kill -HUP "$OPSD_PID"
eventually 5 "after the reload the removed monitor is gone" bash -c "[ \$(curl -s -o /dev/null -w '%{http_code}' $URL/api/v1/monitors/dns-hole) = 404 ]"
before=$(total dns-mx)
eventually 5 "the other monitors go on after the reload" bash -c "[ \$(curl -s $URL/api/v1/monitors/dns-mx | jq .checks_total) -ge $((before + 2)) ]"
check "opsd is still running" kill -0 "$OPSD_PID"

# SIGTERM while a query that will never be answered is in flight: the stop
# waits for that check's 3 s timeout at most, then exits 0.
# (The other checks take a millisecond: in flight twice 200 ms apart is it.)
hang_in_flight() { grep -q 'added=1' "$T/opsd.log" && in_flight && sleep 0.2 && in_flight && [ "$(total dns-hang)" = 0 ]; }
eventually 15 "the query to the silent server is in flight" hang_in_flight
stop_opsd
check "SIGTERM with a dns check in flight exits 0 (rc=$STOP_RC)" [ "$STOP_RC" -eq 0 ]
check "the stop waited for the in-flight check, not longer (${STOP_SECS}s)" [ "$STOP_SECS" -lt 8 ]
check "the stop began with the query in flight" grep -Eq 'event=engine_stopping in_flight=[1-9]' "$T/opsd.log"
check "no sanitizer or resolver error in the log" bash -c "! grep -Eq 'Sanitizer|runtime error|dns_poll_failed|dns_resolver_failed' '$T/opsd.log'"
finish
