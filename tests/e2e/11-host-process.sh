#!/bin/bash
# Host and process monitors: this machine's resources from /proc and
# statvfs against thresholds, stored as series; processes by pidfile, name
# and command line, with counts and restarts noticed.
. "$(dirname "$0")/lib.sh"

start_app() {
    # A stand-in service: its command line is unique to this test.
    sleep "$1" &
    echo $! >"$T/app.pid"
    PIDS+=($!)
}
start_app 1001
sleep 1002 &
PIDS+=($!)
new_port
cat >"$T/opsd.yaml" <<YAML
server: {listen: "127.0.0.1:$PORT", data_dir: "$T/data"}
defaults: {interval: 1s, timeout: 1s, confirm: 1}
monitors:
  - {name: box, type: host, warn: {disk: 100%, memory: 100%}, mounts: [/]}
  - {name: box-disk-warn, type: host, warn: {disk: 0.001%}, critical: {disk: 100%}, mounts: [/]}
  - {name: box-mem-crit, type: host, critical: {memory: 0.001%}}
  - {name: app, type: process, pidfile: "$T/app.pid", warn: {rss: 1TB}}
  - {name: app-by-cmdline, type: process, match: "sleep 100"}
  - {name: one-sleep, type: process, match: "sleep 100", max_count: 1}
  - {name: ghost, type: process, process_name: no-such-process-xyz}
YAML
check "opsd check accepts the host and process monitors" "$OPSD" check -c "$T/opsd.yaml"
start_opsd "$T/opsd.yaml"

series() { curl -s "$URL/api/v1/monitors/$1/metrics?limit=1&name=$(jq -rn --arg n "$2" '$n|@uri')" | jq -r '.metrics[0].value'; }

eventually 10 "host: up, all below the thresholds" state_is box up
check "its message sums up the host" msg_like box "cpu *, memory *%, * load * on * cpus, fullest disk / *%"
eventually 10 "disk use above warn: a warning, still up" bash -c "[ \"\$(curl -s $URL/api/v1/monitors/box-disk-warn | jq -r .last_result.status)\" = warning ]"
check "the warning names the mount and the level" msg_like box-disk-warn "disk / *% used >= warning 0.001%"
eventually 10 "memory above critical: down" state_is box-mem-crit down
check "the message names memory and the critical level" msg_like box-mem-crit "memory *% >= critical 0.001%*"
eventually 5 "memory use is stored as a series" bash -c "v=\$(curl -s '$URL/api/v1/monitors/box/metrics?name=mem_used_pct&limit=1' | jq -r '.metrics[0].value'); awk -v v=\"\$v\" 'BEGIN{exit !(v > 0 && v < 100)}'"
check "disk use per mount is a labelled series" bash -c "curl -s '$URL/api/v1/monitors/box/metrics?limit=100' | jq -e '[.metrics[].name] | index(\"disk_used_pct{mount=\\\"/\\\"}\") != null' >/dev/null"
eventually 5 "CPU use comes with the second sample" bash -c "curl -s '$URL/api/v1/monitors/box/metrics?name=cpu_pct&limit=1' | jq -e '.metrics[0].value >= 0' >/dev/null"

eventually 10 "process by pidfile: up" state_is app up
check "its message gives pid, uptime and rss" msg_like app "running: 1 process, pid $(cat "$T/app.pid") up *, cpu *%, rss *"
check "by command line, both sleeps match: up" msg_like app-by-cmdline "running: 2 processes*"
eventually 10 "two matches but max_count 1: down" state_is one-sleep down
check "the message gives the count and the limit" msg_like one-sleep "2 processes running, expected at most 1"
eventually 10 "a process that is not there: down" state_is ghost down

old=$(cat "$T/app.pid")
kill "$old"
eventually 10 "the app killed: down" state_is app down
check "the message says the pidfile's pid is not running" msg_like app "pidfile '$T/app.pid' names pid $old, which is not running"
start_app 1003
eventually 10 "started again: up" state_is app up

# A restart between two checks (a new pid under the same pidfile) warns once.
old=$(cat "$T/app.pid")
kill "$old"
start_app 1004
eventually 10 "a restart between checks is noticed: a warning" bash -c \
    "curl -s '$URL/api/v1/monitors/app/results?limit=5' | jq -e '[.results[].message] | map(select(test(\"restarted\"))) | length >= 1' >/dev/null"
check "the restart counts in the proc_restarts series" bash -c \
    "curl -s '$URL/api/v1/monitors/app/metrics?name=proc_restarts&limit=10' | jq -e '[.metrics[].value] | max == 1' >/dev/null"

stop_opsd
check "SIGTERM exits 0" [ "$STOP_RC" -eq 0 ]

cat >"$T/bad.yaml" <<'YAML'
monitors:
  - {name: a, type: process}
  - {name: b, type: host, warn: {disk: 90%, rss: 1GB}, critical: {disk: 80%}}
  - {name: c, type: host, warn: {load1: high, memory: 120%}}
  - {name: d, type: process, match: x, min_count: 3, max_count: 2, mounts: [/]}
  - {name: e, type: host, warn: {disk: 90%}, critical: {disk: 80%}}
YAML
"$OPSD" check -c "$T/bad.yaml" >"$T/bad.out" 2>&1
check "opsd check exits 2 on bad host/process keys" [ $? -eq 2 ]
check "a process monitor without a query" grep -q "bad.yaml:2:5: error: a process monitor needs pidfile, process_name or match" "$T/bad.out"
check "rss does not apply to a host" grep -q "bad.yaml:3:.*: error: key 'rss' does not apply to a host monitor (only to process monitors)" "$T/bad.out"
check "warn above critical" grep -q "bad.yaml:6:.*: error: warn.disk is above critical.disk" "$T/bad.out"
check "a load that is not a number" grep -q "bad.yaml:4:.*: error: load1 'high' is not a valid number" "$T/bad.out"
check "a percentage over 100" grep -q "bad.yaml:4:.*: error: memory '120%' is outside 0%..100%" "$T/bad.out"
check "max_count below min_count" grep -q "bad.yaml:5:.*: error: max_count '2' is below min_count '3'" "$T/bad.out"
finish
