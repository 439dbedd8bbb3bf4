#!/bin/bash
# Heartbeats grown up: a cron schedule in a time zone instead of a period,
# run durations from /start to success (with ?rid= for overlapping runs),
# min_runtime and max_runtime, and pings that come more often than the
# schedule says.
. "$(dirname "$0")/lib.sh"

new_port
cat >"$T/opsd.yaml" <<YAML
server: {listen: "127.0.0.1:$PORT", data_dir: "$T/data"}
monitors:
  - {name: every-minute, type: heartbeat, token: "cron-token-0123456789", schedule: "* * * * *", tz: Europe/Berlin, grace: 2s}
  - {name: nightly, type: heartbeat, token: "nightly-token-0123456789", schedule: "0 3 * * *", tz: Europe/Berlin, grace: 30m}
  - {name: backup, type: heartbeat, token: "backup-token-0123456789", period: 1h, min_runtime: 2s, max_runtime: 4s}
YAML
check "opsd check accepts schedule, tz and runtimes" "$OPSD" check -c "$T/opsd.yaml"
start_opsd "$T/opsd.yaml"
ping() { curl -s -o /dev/null -w '%{http_code}' "$URL/ping/$1"; }
last() { api "/api/v1/monitors/$1" | jq -r ".last_result.$2"; }

check "a success ping on the minute schedule" [ "$(ping cron-token-0123456789)" = 200 ]
check "up at once" state_is every-minute up
t_ping=$(date +%s)

# A run that "succeeded" in no time: the backup that did nothing.
ping backup-token-0123456789/start >/dev/null
check "a success right after /start" [ "$(ping backup-token-0123456789)" = 200 ]
check "a run shorter than min_runtime is critical: down" state_is backup down
check "the message gives the run time and the limit" msg_like backup "success ping; the run took *ms, less than min_runtime 2s"

# Two overlapping runs, told apart by rid.
check "/start?rid=a" [ "$(ping 'backup-token-0123456789/start?rid=a')" = 200 ]
sleep 1
check "/start?rid=b a second later" [ "$(ping 'backup-token-0123456789/start?rid=b')" = 200 ]
sleep 1.6
check "success?rid=a after 2.6 s" [ "$(ping 'backup-token-0123456789?rid=a')" = 200 ]
check "run a is long enough: up" state_is backup up
check "its duration is the result's total time (about 2.6 s, from a's own /start)" bash -c \
    "curl -s $URL/api/v1/monitors/backup | jq -e '.last_result.timings_ms.total >= 2500 and .last_result.timings_ms.total < 3500' >/dev/null"
# b never reports: max_runtime (4 s after its start) takes the monitor down.
eventually 5 "run b still running after max_runtime: down" state_is backup down
check "the message names the run and max_runtime" msg_like backup "run b started at * is still running after 4s (max_runtime 4s)"
check "a bad rid is a 400" [ "$(ping 'backup-token-0123456789?rid=a%20b')" = 400 ]
check "a rid given twice is a 400" [ "$(ping 'backup-token-0123456789?rid=a&rid=b')" = 400 ]

# The nightly job pings twice: the schedule expects one run per day.
check "nightly: first success" [ "$(ping nightly-token-0123456789)" = 200 ]
check "ok" [ "$(last nightly status)" = ok ]
check "nightly: second success" [ "$(ping nightly-token-0123456789)" = 200 ]
check "a second success since the last scheduled run is a warning" [ "$(last nightly status)" = warning ]
check "the message says why" msg_like nightly "success ping; a second success since the run due at *T0?:00:00*: pinged more often than the schedule"
check "a warning is still up" state_is nightly up

# The failing job's output, one click away: the body is kept (10 KB of it)
# with the result, and its first line is the message.
{ echo "pg_dump: error: connection to server failed"; head -c 30000 /dev/zero | tr '\0' 'x'; } >"$T/out.txt"
check "a /fail with 30 KB of output is accepted" \
    [ "$(curl -s -o /dev/null -w '%{http_code}' --data-binary @"$T/out.txt" "$URL/ping/nightly-token-0123456789/fail")" = 200 ]
check "the message is the output's first line" msg_like nightly "fail ping: pg_dump: error: connection to server failed"
eventually 5 "the stored result's body holds the first 10 KB of the output" bash -c \
    "curl -s '$URL/api/v1/monitors/nightly/results?limit=1' | jq -e '.results[0].body | (length == 10240) and startswith(\"pg_dump: error\")' >/dev/null"
check "results without a body have no body field" bash -c \
    "curl -s '$URL/api/v1/monitors/backup/results?limit=1' | jq -e '.results[0] | has(\"body\") | not' >/dev/null"

# The minute schedule: no ping for the next minute's run + 2 s grace.
wait_s=$((60 - t_ping % 60 + 2 + 3))
eventually "$wait_s" "no ping for the next scheduled run + grace: down" state_is every-minute down
check "the message names the schedule and zone" msg_like every-minute "no ping for the run due by schedule '\\* \\* \\* \\* \\*' (Europe/Berlin) + grace 2s (last success: *)"
stop_opsd
check "SIGTERM exits 0" [ "$STOP_RC" -eq 0 ]

cat >"$T/bad.yaml" <<'YAML'
monitors:
  - {name: a, type: heartbeat, token: aaaaaaaaaaaaaaaa1, schedule: "0 3 30 2 *"}
  - {name: b, type: heartbeat, token: aaaaaaaaaaaaaaaa2, schedule: "61 * * * *", tz: Mars/Olympus}
  - {name: c, type: heartbeat, token: aaaaaaaaaaaaaaaa3, period: 1h, schedule: "@daily"}
  - {name: d, type: heartbeat, token: aaaaaaaaaaaaaaaa4}
  - {name: e, type: heartbeat, token: aaaaaaaaaaaaaaaa5, period: 1h, tz: UTC, min_runtime: 2h, max_runtime: 1h}
YAML
"$OPSD" check -c "$T/bad.yaml" >"$T/bad.out" 2>&1
check "opsd check exits 2 on bad heartbeat keys" [ $? -eq 2 ]
check "a schedule that never fires" grep -q "bad.yaml:2:.*: error: schedule '0 3 30 2 \*' never fires" "$T/bad.out"
check "a bad cron field, named" grep -q "bad.yaml:3:.*: error: schedule '61 \* \* \* \*': minute field: 61 is out of range 0-59" "$T/bad.out"
check "an unknown zone" grep -q "bad.yaml:3:.*: error: tz: unknown time zone 'Mars/Olympus'" "$T/bad.out"
check "schedule and period together" grep -q "bad.yaml:4:.*: error: schedule and period are both set" "$T/bad.out"
check "neither schedule nor period" grep -q "bad.yaml:5:5: error: a heartbeat monitor needs period or schedule" "$T/bad.out"
check "tz without schedule" grep -q "bad.yaml:6:.*: error: tz without a schedule" "$T/bad.out"
check "min_runtime above max_runtime" grep -q "bad.yaml:6:.*: error: min_runtime '2h' exceeds max_runtime '1h'" "$T/bad.out"
finish
