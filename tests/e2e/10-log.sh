#!/bin/bash
# Log monitors: count lines matching a pattern over a window while the log
# grows, is rotated, truncated, deleted and recreated, and across a restart
# of opsd (the read position is stored with the results).
. "$(dirname "$0")/lib.sh"

L="$T/app.log"
printf 'old ERROR before opsd started\nold FATAL too\n' >"$L"
new_port
cat >"$T/opsd.yaml" <<YAML
server: {listen: "127.0.0.1:$PORT", data_dir: "$T/data"}
defaults: {interval: 1s, timeout: 1s, confirm: 1}
monitors:
  - {name: app-errors, type: log, path: "$L", pattern: "ERROR|FATAL", exclude: "ignore me", window: 1h, max_matches: 2, warn_matches: 0}
  - {name: last-lines, type: log, path: "$L", pattern: "error", ignore_case: true, window_lines: 3, max_matches: 1}
YAML
check "opsd check accepts the log monitors" "$OPSD" check -c "$T/opsd.yaml"
start_opsd "$T/opsd.yaml"

msg() { api "/api/v1/monitors/$1" | jq -r .last_result.message; }
status() { api "/api/v1/monitors/$1" | jq -r .last_result.status; }
status_is() { [ "$(status "$1")" = "$2" ]; }

eventually 10 "history before the first check is not counted: up" state_is app-errors up
check "the message counts 0 lines in the window" msg_like app-errors "0 lines matching 'ERROR|FATAL' in the last 1h (warn 0, max 2)"

echo "2026-11-23 12:00:01 ERROR db timeout" >>"$L"
eventually 10 "one matching line: warning (warn_matches 0)" status_is app-errors warning
check "a warning stays up" state_is app-errors up
check "the message ends with the last matching line" msg_like app-errors "1 line* matching 'ERROR|FATAL' in the last 1h (warn 0, max 2); last: 2026-11-23 12:00:01 ERROR db timeout"
echo "ERROR but ignore me" >>"$L"
echo "an ordinary line" >>"$L"
sleep 1.5
check "an excluded line does not count" msg_like app-errors "1 line* matching *; last: 2026-11-23 12:00:01 ERROR db timeout"

printf 'FATAL one\nERROR two\n' >>"$L"
eventually 10 "three matches > max 2: down" state_is app-errors down
check "critical" status_is app-errors critical
eventually 5 "the window count is a metric series" bash -c \
    "curl -s '$URL/api/v1/monitors/app-errors/metrics?name=window_matches&limit=1' | jq -e '.metrics[0].value == 3' >/dev/null"

# Rotation by rename, with a line written to the old file just before.
echo "ERROR late in the old file" >>"$L"
mv "$L" "$L.1"
echo "ERROR first in the new file" >"$L"
eventually 10 "after a rotation both the old file's last line and the new file's are counted (5)" \
    bash -c "curl -s '$URL/api/v1/monitors/app-errors/metrics?name=window_matches&limit=1' | jq -e '.metrics[0].value == 5' >/dev/null"
check "the message shows the new file's line last" msg_like app-errors "5 lines matching *; last: ERROR first in the new file"

# copytruncate: the same file cut to zero and written again.
: >"$L"
echo "ERROR after truncation" >>"$L"
eventually 10 "a line written after a truncation is counted (6)" \
    bash -c "curl -s '$URL/api/v1/monitors/app-errors/metrics?name=window_matches&limit=1' | jq -e '.metrics[0].value == 6' >/dev/null"

# The line window: the last 3 lines, case-insensitive.
printf 'fine\nfine\nfine\n' >>"$L"
eventually 10 "the line window forgets matches older than 3 lines: up" state_is last-lines up
printf 'Error a\nerror b\n' >>"$L"
eventually 10 "two of the last 3 lines match (ignore_case) > max 1: down" state_is last-lines down

rm -f "$L"
eventually 10 "a deleted log: the message says so" msg_like app-errors "*file missing: '$L'*"
echo "ERROR in the recreated file" >"$L"
eventually 10 "the recreated file is read from its start" msg_like app-errors "*; last: ERROR in the recreated file"

stop_opsd
check "SIGTERM exits 0" [ "$STOP_RC" -eq 0 ]
check "the read position is stored" bash -c "sqlite3 '$T/data/opsd.db' \"select value from memos where key = 'log.cursor'\" | grep -q '^v1:'"

# Written while opsd was down: counted once after the restart; nothing
# before the stored position is counted again.
echo "ERROR while opsd was stopped" >>"$L"
start_opsd "$T/opsd.yaml"
eventually 10 "after a restart the line written while down is seen" msg_like app-errors "1 line matching *; last: ERROR while opsd was stopped"
stop_opsd
check "SIGTERM exits 0 again" [ "$STOP_RC" -eq 0 ]

cat >"$T/bad.yaml" <<YAML
monitors:
  - {name: a, type: log, path: "$L", pattern: "ERROR("}
  - {name: b, type: log, path: "$L", pattern: "x", window: 5m, window_lines: 10}
  - {name: c, type: log, path: "$L", pattern: "x", max_matches: 3, warn_matches: 3}
  - {name: d, type: log, path: "$L"}
YAML
"$OPSD" check -c "$T/bad.yaml" >"$T/bad.out" 2>&1
check "opsd check exits 2 on bad log keys" [ $? -eq 2 ]
check "a bad regex is located, with regcomp's reason" grep -q "bad.yaml:2:.*: error: pattern: invalid pattern 'ERROR(': unmatched ( or \\\\(" "$T/bad.out"
check "window and window_lines together" grep -q "bad.yaml:3:.*: error: window_lines and window are both set" "$T/bad.out"
check "warn_matches not below max_matches" grep -q "bad.yaml:4:.*: error: warn_matches '3' must be below max_matches '3'" "$T/bad.out"
check "pattern is required" grep -q "bad.yaml:5:.*: error: missing required key 'pattern' for a log monitor" "$T/bad.out"
finish
