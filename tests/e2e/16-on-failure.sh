#!/bin/bash
# on_failure actions, Monit-style: when a monitor goes down its command runs
# (a restart), at most max_runs times per window; every outcome (and every
# run the limit skipped) is an event of kind "action".
. "$(dirname "$0")/lib.sh"

touch "$T/up.flag" "$T/slow.flag" "$T/bad.flag"
export OPSD_TEST_SECRET=hunter2
new_port
cat >"$T/opsd.yaml" <<YAML
server: {listen: "127.0.0.1:$PORT", data_dir: "$T/data"}
defaults: {interval: 1s, timeout: 1s, confirm: 1}
monitors:
  - name: svc
    type: file
    path: "$T/up.flag"
    on_failure: {exec: "sh -c 'touch $T/up.flag; echo restarted with \${OPSD_TEST_SECRET}'", max_runs: 2, per: 1h}
  - name: broken
    type: file
    path: "$T/bad.flag"
    on_failure: {exec: "sh -c 'echo cannot restart >&2; exit 3'"}
  - name: slow
    type: file
    path: "$T/slow.flag"
    on_failure: {exec: "sleep 30", timeout: 1s}
  - name: quiet
    type: file
    path: "$T/up.flag"
YAML
check "opsd check accepts on_failure" "$OPSD" check -c "$T/opsd.yaml"
start_opsd "$T/opsd.yaml"
actions() { curl -s "$URL/api/v1/monitors/$1/events?limit=50" | jq -r '[.events[] | select(.kind == "action") | .cause] | .[]'; }
n_actions() { actions "$1" | grep -c "$2"; }

eventually 10 "svc up" state_is svc up
rm -f "$T/up.flag"
eventually 10 "svc goes down and its action recreates the flag" test -e "$T/up.flag"
eventually 10 "so it comes back up" state_is svc up
eventually 5 "the outcome is an action event with the exit status and output" \
    bash -c "curl -s '$URL/api/v1/monitors/svc/events?limit=20' | jq -e '[.events[] | select(.kind == \"action\")][0].cause | test(\"^on_failure: exit status 0 after [0-9.]+m?s: restarted with hunter2\$\")' >/dev/null"
check "the state changes are events of kind state" \
    bash -c "curl -s '$URL/api/v1/monitors/svc/events?limit=20' | jq -e '[.events[] | select(.kind == \"state\" and .to == \"down\")] | length >= 1' >/dev/null"
check "a monitor without on_failure ran nothing" [ -z "$(actions quiet)" ]

rm -f "$T/up.flag"
eventually 10 "second failure: the second run" bash -c "[ \$(curl -s '$URL/api/v1/monitors/svc/events?limit=50' | jq '[.events[] | select(.kind == \"action\" and (.cause | startswith(\"on_failure: exit status 0\")))] | length') -eq 2 ]"
eventually 10 "up again" state_is svc up
rm -f "$T/up.flag"
eventually 10 "third failure within the hour: max_runs 2 stops it" bash -c \
    "curl -s '$URL/api/v1/monitors/svc/events?limit=50' | jq -e '[.events[] | select(.kind == \"action\") | .cause] | index(\"on_failure: not run: 2 runs in the last 1h already (max_runs 2)\") != null' >/dev/null"
sleep 2
check "and the service stays down" state_is svc down
check "the flag was not recreated a third time" [ ! -e "$T/up.flag" ]

rm -f "$T/bad.flag"
eventually 10 "a failing action: exit status and stderr recorded" bash -c \
    "curl -s '$URL/api/v1/monitors/broken/events?limit=20' | jq -e '[.events[] | select(.kind == \"action\")][0].cause | test(\"^on_failure: exit status 3 after .*: cannot restart\$\")' >/dev/null"
rm -f "$T/slow.flag"
eventually 10 "a hanging action is killed at its timeout" bash -c \
    "curl -s '$URL/api/v1/monitors/slow/events?limit=20' | jq -e '[.events[] | select(.kind == \"action\")][0].cause | startswith(\"on_failure: killed at its timeout of 1s\")' >/dev/null"
check "the command (and the secret in it) is not in the log" bash -c "! grep -q 'hunter2\\|touch' '$T/opsd.log'"
check "the action's start and outcome are logged" grep -q "event=action_started monitor=svc" "$T/opsd.log"

# The monitor's state after a restart comes from state changes, not actions.
stop_opsd
check "SIGTERM exits 0" [ "$STOP_RC" -eq 0 ]
start_opsd "$T/opsd.yaml"
check "after a restart, svc is still down (the action events do not count as states)" state_is svc down
stop_opsd

# A stop while an action runs kills it rather than waiting.
cat >"$T/stop.yaml" <<YAML
server: {listen: "127.0.0.1:$PORT", data_dir: "$T/data2"}
defaults: {interval: 1s, timeout: 1s, confirm: 1}
monitors:
  - {name: s, type: file, path: "$T/nothing-here", on_failure: {exec: "sh -c 'echo \$\$\$\$ >$T/action.pid; exec sleep 300'", timeout: 10m}}
YAML
# The action is followed by the PID it writes, not by the name `sleep 300`,
# which any other process may share. (\$\$\$\$ reaches opsd as $$$$, which its
# ${VAR} expansion turns into the shell's $$.)
start_opsd "$T/stop.yaml"
eventually 10 "an action is running" bash -c "[ -s '$T/action.pid' ]"
action=$(cat "$T/action.pid")
check "and it runs" running "$action"
stop_opsd
check "SIGTERM exits 0 with an action running" [ "$STOP_RC" -eq 0 ]
check "and promptly" [ "$STOP_SECS" -le 5 ]
eventually 3 "the action was killed" fails running "$action"

cat >"$T/bad.yaml" <<'YAML'
monitors:
  - {name: a, type: tcp, host: h, port: 1, on_failure: {max_runs: 3}}
  - {name: b, type: tcp, host: h, port: 1, on_failure: {exec: "x | y", max_runs: 0, per: 1s}}
YAML
"$OPSD" check -c "$T/bad.yaml" >"$T/bad.out" 2>&1
check "opsd check exits 2 on bad on_failure" [ $? -eq 2 ]
check "exec is required" grep -q "bad.yaml:2:.*: error: missing required key 'exec' (monitors\[0\].on_failure" "$T/bad.out"
check "the command is checked like an exec monitor's" grep -q "bad.yaml:3:.*: error: exec: .*'|'" "$T/bad.out"
check "max_runs range" grep -q "bad.yaml:3:.*: error: max_runs '0' is below the minimum of 1" "$T/bad.out"
check "per range" grep -q "bad.yaml:3:.*: error: per '1s' is below the 1m minimum" "$T/bad.out"
finish
