#!/bin/bash
# HTTP and TCP monitors against a switchable loopback target: down after
# `confirm` failures, up again after `confirm` successes, timeouts and
# refused connections reported as such, state changes stored as events.
. "$(dirname "$0")/lib.sh"

start_target
new_port
CLOSED_PORT=$(free_port) # nothing listens there
cat >"$T/opsd.yaml" <<YAML
server: {listen: "127.0.0.1:$PORT", data_dir: "$T/data"}
monitors:
  - {name: web, type: http, url: "http://127.0.0.1:$TPORT/health", interval: 1s, timeout: 800ms, confirm: 2,
     expect: {status: [200], body_contains: "ok"}}
  - {name: port-open, type: tcp, host: 127.0.0.1, port: $TPORT, interval: 1s, timeout: 800ms, confirm: 1}
  - {name: port-closed, type: tcp, host: 127.0.0.1, port: $CLOSED_PORT, interval: 1s, timeout: 800ms, confirm: 1}
  - {name: port-v6, type: tcp, host: "::1", port: $CLOSED_PORT, interval: 1s, timeout: 800ms, confirm: 1}
YAML
start_opsd "$T/opsd.yaml"

eventually 10 "http monitor comes up against a 200 target" state_is web up
eventually 10 "tcp monitor on an open port is up" state_is port-open up
eventually 10 "tcp monitor on a closed port is down" state_is port-closed down
check "closed port's message says the connection was refused" \
    bash -c "curl -s $URL/api/v1/monitors/port-closed | jq -r .last_result.message | grep -qi 'refused'"
eventually 10 "tcp monitor over IPv6 loopback reports down on a closed port" state_is port-v6 down

target_mode 500
eventually 10 "http monitor goes down after two 500s" state_is web down
check "down result carries the HTTP status and expectation" \
    bash -c "curl -s $URL/api/v1/monitors/web | jq -r .last_result.message | grep -q 'HTTP 500 (expected 200)'"

target_mode 200
eventually 10 "http monitor comes back up" state_is web up
# Events are written in batches off the loop: poll until the recovery shows.
eventually 10 "events list the recovery and the 500 outage, newest first" \
    bash -c "curl -s $URL/api/v1/monitors/web/events | jq -e '.monitor == \"web\"
        and .events[0].from == \"down\" and .events[0].to == \"up\"
        and .events[1].from == \"up\" and .events[1].to == \"down\"
        and (.events[1].cause | test(\"500\")) and .events[0].time > .events[1].time' >/dev/null"
check "events with a bad limit answer 400" \
    [ "$(status_code "$URL/api/v1/monitors/web/events?limit=0")" = 400 ]
check "the 400 is a bad_request naming limit" \
    bash -c "curl -s '$URL/api/v1/monitors/web/events?limit=0' | jq -e '.error.code == \"bad_request\" and (.error.message | test(\"limit\"))' >/dev/null"
check "events of an unknown monitor answer 404" \
    [ "$(status_code "$URL/api/v1/monitors/nope/events")" = 404 ]

target_mode slow
eventually 10 "a target slower than the timeout takes the monitor down" state_is web down
check "the message says timeout" \
    bash -c "curl -s $URL/api/v1/monitors/web | jq -r .last_result.message | grep -qi 'timeout'"

target_mode closed
wait_for 10 bash -c "curl -s $URL/api/v1/monitors/web | jq -r .last_result.message | grep -qi 'connect'"
check "a closed target is reported as a connect failure" \
    bash -c "curl -s $URL/api/v1/monitors/web | jq -r .last_result.message | grep -qi 'connect'"
check "the open-port tcp monitor notices the closed port" wait_for 10 state_is port-open down

target_mode 200
eventually 10 "everything recovers" bash -c "[ \"\$(curl -s $URL/api/v1/monitors/web | jq -r .state)\" = up ] && [ \"\$(curl -s $URL/api/v1/monitors/port-open | jq -r .state)\" = up ]"

check "timings come from libcurl (connect and total present)" \
    bash -c "curl -s $URL/api/v1/monitors/web | jq -e '.last_result.timings_ms.connect != null and .last_result.timings_ms.total > 0' >/dev/null"

stop_opsd
check "SIGTERM exits 0" [ "$STOP_RC" -eq 0 ]
check "every state change is stored as an event with its cause" \
    bash -c "[ \$(sqlite3 $T/data/opsd.db \"select count(*) from events e join monitors m on m.id=e.monitor_id where m.name='web' and e.cause like '%500%'\") -ge 1 ]"
# The down event must sit on the second consecutive failure, not the first.
Q="with d as (select min(e.ts_ms) t from events e join monitors m on m.id=e.monitor_id
               where m.name='web' and e.to_state=2 and e.cause like '%500%'),
     w as (select r.* from results r join monitors m on m.id=r.monitor_id where m.name='web')
   select count(*) from w, d where w.ok=0 and w.ts_ms <= d.t
     and w.ts_ms > (select max(ts_ms) from w, d where w.ok=1 and w.ts_ms < d.t)"
check "down came with the second consecutive failure (confirm: 2)" \
    bash -c "[ \"\$(sqlite3 $T/data/opsd.db \"$Q\")\" = 2 ]"
check "database integrity ok" bash -c "[ \"\$(sqlite3 $T/data/opsd.db 'pragma integrity_check')\" = ok ]"
finish
