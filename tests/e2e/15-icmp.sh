#!/bin/bash
# ICMP monitors. As root the test builds its own network namespaces, so it
# changes nothing on the host: opsd runs in one ("a") with loopback and a
# veth link to another ("b") whose 198.51.100.2 never answers an IPv4 ping
# (net.ipv4.icmp_echo_ignore_all) while 2001:db8:1::2 does; 198.51.100.3 on
# that link has no one behind it (ICMP "host unreachable" from the local
# neighbour code) and 203.0.113.1 has no route (the send fails at once).
# First as root (raw sockets, since a new namespace's ping_group_range
# admits no group), then as uid 65534 with ping sockets allowed by that
# namespace's net.ipv4.ping_group_range, and refused again. Without root or
# `ip netns` only loopback in this namespace is checked, and it says so.
. "$(dirname "$0")/lib.sh"

# status NAME: the monitor's last result status.
status_is() { [ "$(api "/api/v1/monitors/$1" | jq -r .last_result.status)" = "$2" ]; }
# series_ok NAME SERIES JQ-TEST: the latest value of a metric series passes the test.
series_ok() {
    curl -s "$URL/api/v1/monitors/$1/metrics?limit=1&name=$2" | jq -e ".metrics[0] | $3" >/dev/null
}
checks_of() { api "/api/v1/monitors/$1" | jq .checks_total; }
RTT='rtt min/avg/max [0-9]+\.[0-9]{2}/[0-9]+\.[0-9]{2}/[0-9]+\.[0-9]{2} ms'
rtt_msg() { api "/api/v1/monitors/$1" | jq -r .last_result.message | grep -Eq "^$2, $RTT\$"; }

NA=opsd-e2e-$$-a
NB=opsd-e2e-$$-b
if [ "$(id -u)" -ne 0 ] || ! ip netns add "$NA" 2>/dev/null; then
    # ---- fallback: loopback in this namespace only ---------------------
    echo "note: $TEST_NAME: not root or no 'ip netns': checking loopback only; the silent," \
        "unreachable and ping-socket cases need root"
    new_port
    cat >"$T/opsd.yaml" <<YAML
server: {listen: "127.0.0.1:$PORT", data_dir: "$T/data"}
defaults: {interval: 1s, timeout: 1s, confirm: 1}
monitors:
  - {name: lo4, type: icmp, host: 127.0.0.1}
YAML
    check "opsd check accepts an icmp monitor" "$OPSD" check -c "$T/opsd.yaml"
    start_opsd "$T/opsd.yaml"
    eventually 10 "loopback was checked" bash -c "[ \$(curl -s $URL/api/v1/monitors/lo4 | jq .checks_total) -ge 1 ]"
    if $PY -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)' 2>/dev/null; then
        eventually 5 "ping sockets allowed: 127.0.0.1 is up" state_is lo4 up
        check "with the replies and RTTs in the message" rtt_msg lo4 "3/3 replies from 127.0.0.1"
    else
        check "no ICMP socket: the result says why and what to do" msg_like lo4 \
            "cannot open an ICMP socket: Operation not permitted (allow ping sockets with sysctl net.ipv4.ping_group_range or run as root)"
        check "and is unknown, not critical" status_is lo4 unknown
    fi
    stop_opsd
    check "SIGTERM exits 0" [ "$STOP_RC" -eq 0 ]
    finish
    exit
fi

trap 'cleanup; ip netns del "$NA" 2>/dev/null; ip netns del "$NB" 2>/dev/null' EXIT
ip netns add "$NB"
ip -n "$NA" link set lo up
ip -n "$NB" link set lo up
ip link add va netns "$NA" type veth peer name vb netns "$NB"
ip -n "$NA" addr add 198.51.100.1/29 dev va
ip -n "$NB" addr add 198.51.100.2/29 dev vb
HAVE_V6=
if ip -n "$NA" -6 addr show lo | grep -q 'inet6 ::1/128'; then
    HAVE_V6=1
    ip -n "$NA" -6 addr add 2001:db8:1::1/64 dev va nodad
    ip -n "$NB" -6 addr add 2001:db8:1::2/64 dev vb nodad
else
    echo "note: $TEST_NAME: no IPv6 loopback (::1) here: the IPv6 cases are not run"
fi
ip -n "$NA" link set va up
ip -n "$NB" link set vb up
ip netns exec "$NB" sysctl -qw net.ipv4.icmp_echo_ignore_all=1
# A missing neighbour is given up on after one 100 ms ARP probe.
ip netns exec "$NA" sysctl -qw net.ipv4.neigh.va.mcast_solicit=1 net.ipv4.neigh.va.retrans_time_ms=100

# opsd and every request to its API run in namespace a.
curl() { ip netns exec "$NA" /usr/bin/curl "$@"; }
export -f curl
export NA
# start_in_ns CONFIG [PREFIX...]: start_opsd inside namespace a, run
# through PREFIX (setpriv ...).
start_in_ns() {
    local cfg=$1
    shift
    ip netns exec "$NA" "$@" "$OPSD" serve -c "$cfg" >>"$T/opsd.log" 2>&1 &
    OPSD_PID=$!
    wait_for 20 curl -sf "$URL/healthz" || { not_ok "opsd did not start"; cat "$T/opsd.log"; exit 1; }
}

# ---- as root: raw sockets ------------------------------------------------
new_port
cat >"$T/opsd.yaml" <<YAML
server: {listen: "127.0.0.1:$PORT", data_dir: "$T/data", log_level: debug}
defaults: {interval: 2s, timeout: 2s, confirm: 1}
monitors:
  - {name: lo4, type: icmp, host: 127.0.0.1}
  - {name: name4, type: icmp, host: localhost, ip_version: 4}
  - {name: many, type: icmp, host: 127.0.0.1, count: 10, max_loss: 10%, max_rtt: 500ms}
  - {name: silent, type: icmp, host: 198.51.100.2, interval: 3s, timeout: 2900ms}
  - {name: silent-too, type: icmp, host: 198.51.100.2, count: 1, interval: 3s, timeout: 2900ms}
  - {name: gone, type: icmp, host: 198.51.100.3}
  - {name: noroute, type: icmp, host: 203.0.113.1}
  - {name: nx, type: icmp, host: no-such-host.invalid}
YAML
if [ -n "$HAVE_V6" ]; then
    cat >>"$T/opsd.yaml" <<YAML
  - {name: lo6, type: icmp, host: "::1"}
  - {name: remote6, type: icmp, host: "2001:db8:1::2", ip_version: 6}
YAML
fi
check "opsd check accepts the icmp monitors" "$OPSD" check -c "$T/opsd.yaml"
start_in_ns "$T/opsd.yaml"

eventually 10 "127.0.0.1 is up" state_is lo4 up
check "the message gives the replies and min/avg/max RTT" rtt_msg lo4 "3/3 replies from 127.0.0.1"
check "the result's latency is the average RTT (> 0, < 50 ms)" bash -c \
    "curl -s $URL/api/v1/monitors/lo4 | jq -e '.last_result.timings_ms.total > 0 and .last_result.timings_ms.total < 50' >/dev/null"
eventually 10 "a name (localhost, ip_version 4) is up" state_is name4 up
check "its message names the address it resolved to" rtt_msg name4 "3/3 replies from localhost \\(127\\.0\\.0\\.1\\)"
check "and its dns timing is the lookup (an address has none)" bash -c \
    "curl -s $URL/api/v1/monitors/name4 | jq -e '.last_result.timings_ms.dns >= 0' >/dev/null &&
     curl -s $URL/api/v1/monitors/lo4 | jq -e '.last_result.timings_ms.dns == null' >/dev/null"
eventually 10 "count 10 within max_loss and max_rtt: up" state_is many up
check "ten replies, with the RTTs" rtt_msg many "10/10 replies from 127.0.0.1"
eventually 5 "the average RTT is a series, in seconds" series_ok many rtt_avg_seconds \
    '.unit == "s" and .value > 0 and .value < 0.5'
check "so is the slowest" series_ok many rtt_max_seconds '.unit == "s" and .value > 0'
check "and the loss, in percent" series_ok many loss_pct '.unit == "%" and .value == 0'
if [ -n "$HAVE_V6" ]; then
    eventually 10 "::1 is up" state_is lo6 up
    check "its message" rtt_msg lo6 "3/3 replies from ::1"
    eventually 10 "a host across a link answers over IPv6: up" state_is remote6 up
    check "its message" rtt_msg remote6 "3/3 replies from 2001:db8:1::2"
fi

eventually 10 "a host that never answers: down" state_is silent down
check "the message says no replies, 100% loss" msg_like silent "no replies from 198.51.100.2 (100% loss)"
check "it is critical" status_is silent critical
eventually 5 "loss_pct is 100 (stored in batches)" series_ok silent loss_pct '.value == 100'
n=$(checks_of lo4)
eventually 10 "other monitors keep being checked meanwhile" bash -c \
    "[ \$(curl -s $URL/api/v1/monitors/lo4 | jq .checks_total) -ge $((n + 2)) ]"
check "and stay up" state_is lo4 up
eventually 10 "a neighbour that is not there: down" state_is gone down
check "the ICMP error is in the message" msg_like gone \
    "no replies from 198.51.100.3 (100% loss; host unreachable, reported by 198.51.100.1)"
eventually 10 "an address without a route: down" state_is noroute down
check "the send fails at once: network unreachable" msg_like noroute \
    "no replies from 203.0.113.1 (100% loss; cannot send: Network is unreachable)"
eventually 10 "a name that does not resolve: down" state_is nx down
check "the message says it cannot be resolved" msg_like nx "cannot resolve 'no-such-host.invalid'*"
check "as root the raw sockets were used" grep -q 'event=icmp_start monitor=lo4 .*socket=raw' "$T/opsd.log"

# SIGTERM with pings in flight (the silent hosts wait out their timeouts).
in_flight() { [ "$(metric opsd_checks_in_flight)" -ge 1 ] 2>/dev/null; }
eventually 10 "an echo request is in flight" in_flight
stop_opsd
check "SIGTERM with a ping in flight exits 0" [ "$STOP_RC" -eq 0 ]
check "the stop waited for at most the ping's timeout" [ "$STOP_SECS" -le 5 ]
check "a check was in flight at the stop" grep -q 'event=engine_stopping in_flight=[1-9]' "$T/opsd.log"

# ---- as uid 65534: ping sockets ----------------------------------------------
# The sysctl is this namespace's own: deleting the namespace restores it.
ip netns exec "$NA" sysctl -qw net.ipv4.ping_group_range="65534 65534"
chmod 711 "$T"
mkdir "$T/nobody"
chown 65534:65534 "$T/nobody"
new_port
cat >"$T/nobody/opsd.yaml" <<YAML
server: {listen: "127.0.0.1:$PORT", data_dir: "$T/nobody/data", log_level: debug}
defaults: {interval: 1s, timeout: 1s, confirm: 1}
monitors:
  - {name: lo4, type: icmp, host: 127.0.0.1}
  - {name: name4, type: icmp, host: localhost, ip_version: 4}
  - {name: silent, type: icmp, host: 198.51.100.2, count: 2}
YAML
if [ -n "$HAVE_V6" ]; then
    cat >>"$T/nobody/opsd.yaml" <<YAML
  - {name: lo6, type: icmp, host: "::1"}
  - {name: remote6, type: icmp, host: "2001:db8:1::2"}
YAML
fi
: >"$T/opsd.log"
start_in_ns "$T/nobody/opsd.yaml" setpriv --reuid=65534 --regid=65534 --clear-groups
check "opsd runs as uid 65534" [ "$(ps -o uid= -p "$OPSD_PID" | tr -d ' ')" = 65534 ]
eventually 10 "unprivileged, 127.0.0.1 is up" state_is lo4 up
check "its message" rtt_msg lo4 "3/3 replies from 127.0.0.1"
eventually 10 "and localhost" state_is name4 up
if [ -n "$HAVE_V6" ]; then
    eventually 10 "unprivileged, ::1 is up" state_is lo6 up
    check "its message" rtt_msg lo6 "3/3 replies from ::1"
    eventually 10 "and the IPv6 host across the link" state_is remote6 up
fi
eventually 10 "the silent host is down over a ping socket too" state_is silent down
check "no replies, 100% loss" msg_like silent "no replies from 198.51.100.2 (100% loss)"
check "ping sockets were used" grep -q 'event=icmp_start monitor=lo4 .*socket=ping' "$T/opsd.log"
check "and no raw socket" bash -c "! grep -q 'socket=raw' '$T/opsd.log'"

# Ping sockets refused again (as on a default host): each check says why.
ip netns exec "$NA" sysctl -qw net.ipv4.ping_group_range="1 0"
eventually 10 "no ICMP socket for an unprivileged opsd: down" state_is lo4 down
check "the message says why and what to do" msg_like lo4 \
    "cannot open an ICMP socket: Operation not permitted (allow ping sockets with sysctl net.ipv4.ping_group_range or run as root)"
check "it is unknown, not critical: nothing was measured" status_is lo4 unknown
if [ -n "$HAVE_V6" ]; then
    eventually 10 "the same for IPv6" msg_like lo6 "cannot open an ICMPv6 socket: Operation not permitted (allow ping sockets*"
fi
ip netns exec "$NA" sysctl -qw net.ipv4.ping_group_range="65534 65534"
eventually 10 "allowed again: up" state_is lo4 up
stop_opsd
check "SIGTERM exits 0" [ "$STOP_RC" -eq 0 ]

# Config errors for the icmp keys, located.
cat >"$T/bad.yaml" <<'YAML'
monitors:
  - {name: a, type: icmp}
  - {name: b, type: icmp, host: 10.0.0.1, count: 0}
  - {name: c, type: icmp, host: 10.0.0.1, ip_version: 5, max_loss: 120%}
  - {name: d, type: icmp, host: "http://10.0.0.1/"}
YAML
"$OPSD" check -c "$T/bad.yaml" >"$T/bad.out" 2>&1
check "opsd check exits 2 on bad icmp keys" [ $? -eq 2 ]
check "host is required" grep -q "bad.yaml:2:5: error: missing required key 'host' for an icmp monitor" "$T/bad.out"
check "count below 1" grep -q "bad.yaml:3:.*: error: count '0' is below the minimum of 1" "$T/bad.out"
check "ip_version 5" grep -q "bad.yaml:4:.*: error: ip_version must be 4 or 6" "$T/bad.out"
check "max_loss over 100%" grep -q "bad.yaml:4:.*max_loss '120%'" "$T/bad.out"
check "a URL is not a host" grep -q "bad.yaml:5:.*host 'http://10.0.0.1/' is a URL" "$T/bad.out"
finish
