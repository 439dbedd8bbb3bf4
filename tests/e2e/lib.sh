# Shared by the end-to-end tests: sourced, never run. Each test starts the
# servers it needs on free loopback ports, polls for readiness (no fixed
# sleeps), and stops everything by PID on exit.
set -u
OPSD=${OPSD:?set OPSD to the opsd binary}
OPSD=$(realpath "$OPSD")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=/usr/bin/python3
T=$(mktemp -d /tmp/opsd-e2e.XXXXXX)
TEST_NAME=$(basename "$0" .sh)
PIDS=()
PASSED=0
FAILED=0
OPSD_PID=

cleanup() {
    local p
    for p in "${PIDS[@]}" $OPSD_PID; do
        kill -TERM "$p" 2>/dev/null
    done
    for p in "${PIDS[@]}" $OPSD_PID; do
        wait "$p" 2>/dev/null
    done
    if [ "$FAILED" -gt 0 ] && [ -f "$T/opsd.log" ]; then
        echo "--- last lines of opsd's log ($TEST_NAME) ---"
        tail -n 40 "$T/opsd.log"
    fi
    rm -rf "$T"
}
trap cleanup EXIT

ok() { PASSED=$((PASSED + 1)); echo "ok   $TEST_NAME: $*"; }
not_ok() { FAILED=$((FAILED + 1)); echo "FAIL $TEST_NAME: $*"; }

# check DESCRIPTION COMMAND...: one assertion.
check() {
    local desc=$1
    shift
    if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# eventually SECONDS DESCRIPTION COMMAND...: an assertion that must become
# true within SECONDS (polling every 100 ms).
eventually() {
    local secs=$1 desc=$2
    shift 2
    if wait_for "$secs" "$@"; then ok "$desc"; else not_ok "$desc (not within ${secs}s)"; fi
}

wait_for() {
    local secs=$1
    shift
    local deadline=$((SECONDS + secs))
    while ! "$@" >/dev/null 2>&1; do
        [ $SECONDS -ge $deadline ] && return 1
        sleep 0.1
    done
    return 0
}

finish() {
    echo "$TEST_NAME: $PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}

free_port() {
    $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_target [--tls CERT KEY]: a switchable HTTP server (target.py); sets
# TPORT and CPORT.
start_target() {
    TPORT=$(free_port)
    CPORT=$(free_port)
    $PY "$HERE/target.py" "$TPORT" "$CPORT" "$@" &
    PIDS+=($!)
    wait_for 10 curl -sf "http://127.0.0.1:$CPORT/hits" || { echo "target did not start"; exit 1; }
}

target_mode() { curl -sf "http://127.0.0.1:$CPORT/mode/$1" >/dev/null; }

# start_opsd CONFIG: runs opsd serve in the background; sets OPSD_PID.
# The config must use $PORT for server.listen and $T/data for data_dir.
start_opsd() { # start_opsd CONFIG [SERVE_ARGS...]
    "$OPSD" serve -c "$1" "${@:2}" >>"$T/opsd.log" 2>&1 &
    OPSD_PID=$!
    wait_for 20 curl -sf "$URL/healthz" || { not_ok "opsd did not start"; cat "$T/opsd.log"; exit 1; }
}

# wait_opsd: waits for the running opsd to exit; sets STOP_RC and STOP_SECS
# (seconds from the call to the exit).
wait_opsd() {
    local t0=$SECONDS
    wait "$OPSD_PID"
    STOP_RC=$?
    STOP_SECS=$((SECONDS - t0))
    OPSD_PID=
}

# stop_opsd: SIGTERM and wait_opsd.
stop_opsd() {
    kill -TERM "$OPSD_PID"
    wait_opsd
}

# checks_done_at_stop: checks_done from the last engine_stopped log line.
checks_done_at_stop() {
    grep 'event=engine_stopped' "$T/opsd.log" | tail -n1 | sed -n 's/.*checks_done=\([0-9]*\).*/\1/p'
}

# metric NAME: the value of an unlabelled metric from /metrics.
metric() { curl -s "$URL/metrics" | sed -n "s/^$1 \\([0-9.e+-]*\\)\$/\\1/p"; }

new_port() {
    PORT=$(free_port)
    URL="http://127.0.0.1:$PORT"
}

api() { curl -s "$URL$1"; }
state_of() { api "/api/v1/monitors/$1" | jq -r .state; }
state_is() { [ "$(state_of "$1")" = "$2" ]; }
# msg_like NAME GLOB: the monitor's last result message matches the glob
# (bash pattern: quote nothing, escape a literal * ? [ with a backslash).
msg_like() {
    local m
    m=$(api "/api/v1/monitors/$1" | jq -r .last_result.message)
    # shellcheck disable=SC2053 # $2 is a pattern on purpose
    [[ $m == $2 ]] || { echo "message of $1: $m" >&2; return 1; }
}
status_code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

# start_receiver [receiver.py args]: the recording HTTP receiver
# (receiver.py); sets RPORT and RLOG (one JSON line per request).
# With RECV_NAME=x set, its files are $T/x.port and $T/x.log (for a second
# receiver; save RPORT/RLOG of the first before).
start_receiver() {
    local n=${RECV_NAME:-receiver}
    RLOG=$T/$n.log
    rm -f "$T/$n.port"
    $PY "$HERE/receiver.py" --port-file "$T/$n.port" --log "$RLOG" "$@" &
    PIDS+=($!)
    wait_for 10 test -s "$T/$n.port" || { echo "receiver did not start"; exit 1; }
    RPORT=$(cat "$T/$n.port")
}
receiver_mode() { curl -sf -X POST --data "$1" "http://127.0.0.1:$RPORT/_mode" >/dev/null; }
# received PATH_PREFIX: the recorded requests to paths starting so, as a
# JSON array (oldest first).
received() {
    if [ -f "$RLOG" ]; then
        jq -s --arg p "$1" '[.[] | select(.path | startswith($p))]' "$RLOG"
    else
        echo '[]'
    fi
}
received_n() { received "$1" | jq length; }
# received_at_least PATH_PREFIX N
received_at_least() { [ "$(received_n "$1")" -ge "$2" ]; }
# fails COMMAND...: true when the command fails (for check, which runs a
# command rather than a shell expression).
fails() { ! "$@"; }
# running PID: the process exists and is not a zombie (a killed child of a
# stopped opsd waits for init as a zombie: it is no longer running). An empty
# PID is not running, so callers check that they read one.
running() { [ -n "$1" ] && grep -qv '^[^)]*) Z' "/proc/$1/stat" 2>/dev/null; }
# jqe ARGS...: jq -e without the output (an assertion on JSON on stdin).
# Empty input fails: jq 1.6's -e passes on it, and empty is what a crashed
# or silent server answers.
jqe() {
    local in
    in=$(cat)
    [[ $in == *[![:space:]]* ]] && jq -e "$@" >/dev/null <<<"$in"
}
# value_is OP VALUE COMMAND...: [ "$(COMMAND...)" OP VALUE ], the command run
# on each call (so eventually polls it; a "$(...)" argument would be
# expanded once, before the first poll).
value_is() {
    local op=$1 want=$2 v
    shift 2
    v=$("$@")
    [ "$v" "$op" "$want" ]
}
