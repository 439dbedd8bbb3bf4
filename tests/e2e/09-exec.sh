#!/bin/bash
# Exec monitors: real Monitoring Plugins (Debian's monitoring-plugins-basic)
# and plugins that misbehave — hang, flood their output, die by a signal,
# leave children behind, are missing — each gives a clear result and the
# loop goes on.
. "$(dirname "$0")/lib.sh"

P=/usr/lib/nagios/plugins
[ -x "$P/check_load" ] || { not_ok "monitoring-plugins-basic is not installed"; finish; }
start_target
mkdir -p "$T/bin"
cat >"$T/bin/hang" <<'SH'
#!/bin/sh
# A plugin that hangs and has started a child of its own.
sleep 300 &
echo $! >"$1"
sleep 300
SH
cat >"$T/bin/flood" <<'SH'
#!/bin/sh
echo "FLOOD WARNING - lots of output | lines=1000000;;;0"
yes 'more text' | head -c 20000000
exit 1
SH
cat >"$T/bin/die" <<'SH'
#!/bin/sh
echo "about to crash"
kill -KILL $$
SH
cat >"$T/bin/env" <<'SH'
#!/bin/sh
echo "ENV OK - secret=[${OPSD_TEST_SECRET:-}] lang=$LANG | 'with space'=5ms;10;20 pct=50%;80;90;0;100"
SH
chmod +x "$T/bin/"*
new_port
cat >"$T/opsd.yaml" <<YAML
server: {listen: "127.0.0.1:$PORT", data_dir: "$T/data"}
defaults: {interval: 2s, timeout: 1500ms, confirm: 1}
monitors:
  - {name: load, type: exec, command: "$P/check_load -w 100,100,100 -c 200,200,200"}
  - {name: disk-crit, type: exec, command: "$P/check_disk -w 100% -c 100% -p /"}
  - {name: disk-warn, type: exec, command: "$P/check_disk -w 100% -c 0% -p /"}
  - {name: disk-warn-down, type: exec, command: "$P/check_disk -w 100% -c 0% -p /", down_on_warning: true}
  - {name: web, type: exec, command: "$P/check_http -H 127.0.0.1 -p $TPORT -u /health -e 200"}
  - {name: hang, type: exec, command: "$T/bin/hang $T/child.pid", timeout: 1s, interval: 1m}
  - {name: flood, type: exec, command: "$T/bin/flood", timeout: 3s, interval: 4s}
  - {name: die, type: exec, command: "$T/bin/die"}
  - {name: env, type: exec, command: "$T/bin/env"}
  - {name: missing, type: exec, command: "$T/bin/no-such-plugin"}
YAML
check "opsd check accepts the exec monitors" "$OPSD" check -c "$T/opsd.yaml"
OPSD_TEST_SECRET=hunter2 start_opsd "$T/opsd.yaml"

msg() { api "/api/v1/monitors/$1" | jq -r .last_result.message; }
status() { api "/api/v1/monitors/$1" | jq -r .last_result.status; }

eventually 10 "check_load: up" state_is load up
check "its first line is the message" msg_like load "LOAD OK - total load average: *, *, *"
eventually 5 "its perfdata is stored as series (load1, load5, load15)" bash -c \
    "curl -s '$URL/api/v1/monitors/load/metrics?limit=3' | jq -e '[.metrics[].name] | sort == [\"load1\",\"load15\",\"load5\"]' >/dev/null"
eventually 10 "check_disk critical: down" state_is disk-crit down
check "critical is the result status" [ "$(status disk-crit)" = critical ]
eventually 5 "check_disk's perfdata '/' is stored in bytes" bash -c \
    "curl -s '$URL/api/v1/monitors/disk-crit/metrics?name=/&limit=1' | jq -e '.metrics[0].unit == \"B\" and .metrics[0].value > 1000000' >/dev/null"
eventually 10 "check_disk warning: the status is warning" bash -c "[ \"\$(curl -s $URL/api/v1/monitors/disk-warn | jq -r .last_result.status)\" = warning ]"
check "a warning stays up" state_is disk-warn up
eventually 10 "with down_on_warning the same warning is down" state_is disk-warn-down down

eventually 10 "check_http against the loopback target: up" state_is web up
check "check_http's message" msg_like web "HTTP OK: *200* response time"
target_mode 500
eventually 10 "the target answers 500: check_http is critical, down" state_is web down
target_mode 200

eventually 10 "a hanging plugin: down" state_is hang down
check "its message says it timed out" msg_like hang "timed out after 1s*"
child=$(cat "$T/child.pid" 2>/dev/null)
check "the hanging plugin wrote its child's PID" [ -n "$child" ]
eventually 5 "the hanging plugin's own child was killed with its process group" fails running "$child"

eventually 15 "a plugin flooding 20 MB of output is judged on its first line" bash -c \
    "[ \"\$(curl -s $URL/api/v1/monitors/flood | jq -r .last_result.message)\" = 'FLOOD WARNING - lots of output' ]"
check "and its exit 1 is a warning" [ "$(status flood)" = warning ]

eventually 10 "a plugin killed by a signal: down" state_is die down
check "the message names the signal" msg_like die "killed by signal 9 (SIGKILL)*about to crash"
check "an unknown status, not critical" [ "$(status die)" = unknown ]

eventually 10 "a missing plugin: down" state_is missing down
check "the message says it could not start" msg_like missing "cannot start the plugin: No such file or directory"

eventually 10 "env plugin ran" state_is env up
check "a plugin does not inherit opsd's environment (secrets stay out)" msg_like env "ENV OK - secret=\\[\\] lang=C"
check "a quoted perfdata label with a space, in seconds" bash -c \
    "curl -s '$URL/api/v1/monitors/env/metrics?name=with%20space&limit=1' | jq -e '.metrics[0].value == 0.005 and .metrics[0].unit == \"s\"' >/dev/null"
check "the command is not shown by the API" bash -c "! curl -s $URL/api/v1/monitors/env | grep -q bin/env"
eventually 10 "checks keep running while plugins misbehave: load checked again" bash -c \
    "[ \$(curl -s $URL/api/v1/monitors/load | jq .checks_total) -ge 3 ]"

stop_opsd
check "SIGTERM exits 0 with plugins in flight" [ "$STOP_RC" -eq 0 ]
check "no plugin is left running after the stop" bash -c "! pgrep -f '^/bin/sh $T/bin/' >/dev/null"

cat >"$T/bad.yaml" <<'YAML'
monitors:
  - {name: a, type: exec, command: "check_x 'unterminated"}
  - {name: b, type: exec, command: "check_y | grep OK"}
  - {name: c, type: exec, command: "   "}
YAML
"$OPSD" check -c "$T/bad.yaml" >"$T/bad.out" 2>&1
check "opsd check exits 2 on bad commands" [ $? -eq 2 ]
check "an unterminated quote is located" grep -q "bad.yaml:2:36: error: command: unterminated single quote" "$T/bad.out"
check "a shell operator is rejected" grep -q "bad.yaml:3:.*: error: command: .*'|'" "$T/bad.out"
check "an empty command is rejected" grep -q "bad.yaml:4:.*: error: command: " "$T/bad.out"
finish
