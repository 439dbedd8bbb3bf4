#!/bin/bash
# The JSON API, /metrics, /healthz, the status page and the CLI clients
# against a running server.
. "$(dirname "$0")/lib.sh"

start_target
new_port
cat >"$T/opsd.yaml" <<YAML
server: {listen: "127.0.0.1:$PORT", data_dir: "$T/data", title: "Test status"}
monitors:
  - {name: api, type: http, url: "http://127.0.0.1:$TPORT/", interval: 1s, timeout: 800ms, confirm: 1,
     description: "The <API>", labels: {team: core}}
  - {name: db, type: tcp, host: 127.0.0.1, port: $(free_port), interval: 1s, timeout: 500ms, confirm: 1}
  - {name: job, type: heartbeat, token: "job-token-0123456789abcdef", period: 1h, grace: 1h}
YAML
start_opsd "$T/opsd.yaml"
eventually 10 "monitors get their first results" bash -c "[ \$(curl -s $URL/api/v1/monitors/api | jq -r .state) = up ] && [ \$(curl -s $URL/api/v1/monitors/db | jq -r .state) = down ]"

# --- JSON API
check "/healthz answers 200" [ "$(status_code "$URL/healthz")" = 200 ]
J=$(api /api/v1/monitors)
check "/api/v1/monitors lists all three in config order" \
    [ "$(echo "$J" | jq -r '[.monitors[].name] | join(",")')" = "api,db,job" ]
check "a monitor has state, since, last check, latency and uptime windows" \
    bash -c "echo '$J' | jq -e '.monitors[0] | .state == \"up\" and .since != null and .last_check != null and .latency_ms != null and (.uptime | has(\"24h\") and has(\"7d\") and has(\"30d\"))' >/dev/null"
check "labels and type are reported" \
    bash -c "echo '$J' | jq -e '.monitors[0].labels.team == \"core\" and .monitors[0].type == \"http\" and .monitors[1].type == \"tcp\"' >/dev/null"
check "last result has DNS/connect/TLS/first-byte/total timings" \
    bash -c "curl -s $URL/api/v1/monitors/api | jq -e '.last_result.timings_ms | has(\"dns\") and has(\"connect\") and has(\"tls\") and has(\"first_byte\") and has(\"total\")' >/dev/null"
check "unknown monitor is 404 with a JSON error" \
    bash -c "[ \$(curl -s -o $T/body -w '%{http_code}' $URL/api/v1/monitors/nope) = 404 ] && jq -e '.error.code and .error.message' $T/body >/dev/null"
check "unknown path is 404 JSON" \
    bash -c "[ \$(curl -s -o $T/body -w '%{http_code}' $URL/api/v1/nothing) = 404 ] && jq -e .error.message $T/body >/dev/null"
eventually 10 "results endpoint returns stored results, newest first" \
    bash -c "curl -s '$URL/api/v1/monitors/api/results?limit=3' | jq -e '(.results | length) >= 2 and .results[0].time >= .results[1].time' >/dev/null"
check "limit is honoured" [ "$(api '/api/v1/monitors/api/results?limit=1' | jq '.results | length')" = 1 ]
check "since/until as Unix seconds work" \
    bash -c "[ \$(curl -s '$URL/api/v1/monitors/api/results?since=0&until=4102444800' | jq '.results | length') -ge 1 ]"
check "a window in the past is empty" \
    [ "$(api '/api/v1/monitors/api/results?since=2000-01-01T00:00:00Z&until=2000-01-02T00:00:00Z' | jq '.results | length')" = 0 ]
for q in 'limit=0' 'limit=abc' 'limit=100001' 'since=yesterday' 'until=2020-13-45T00:00:00Z' 'since=2030-01-01T00:00:00Z&until=2020-01-01T00:00:00Z' 'bogus=1'; do
    check "bad query '$q' is 400 with a message" \
        bash -c "[ \$(curl -s -o $T/body -w '%{http_code}' '$URL/api/v1/monitors/api/results?$q') = 400 ] && jq -e '.error.message | length > 0' $T/body >/dev/null"
done

# --- metrics
api /metrics >"$T/metrics"
check "/metrics has opsd_monitor_up per monitor" \
    bash -c "grep -q '^opsd_monitor_up{monitor=\"api\"} 1' $T/metrics && grep -q '^opsd_monitor_up{monitor=\"db\"} 0' $T/metrics"
check "/metrics has opsd_monitor_latency_seconds" grep -q '^opsd_monitor_latency_seconds{monitor="api"} ' "$T/metrics"
check "/metrics has opsd_checks_total by result" \
    bash -c "grep -q '^opsd_checks_total{result=\"ok\"} [1-9]' $T/metrics && grep -q '^opsd_checks_total{result=\"failed\"} [1-9]' $T/metrics"
check "/metrics has HELP and TYPE lines" \
    bash -c "grep -q '^# TYPE opsd_checks_total counter' $T/metrics && grep -q '^# HELP opsd_monitor_up ' $T/metrics"
check "/metrics has the start-lag histogram" grep -q '^opsd_check_start_lag_seconds_bucket{le="+Inf"} [1-9]' "$T/metrics"

# --- status page
# card NAME FILE: the <li> of monitor NAME on the page in FILE.
card() { awk -v h="<h2>$1</h2>" 'index($0, h) { f = 1 } f { print } f && /<\/li>/ { exit }' "$2"; }
# page_today_has_data NAME: on a fresh page, NAME's last day cell (today's,
# the day of the banner's time) shows a percentage, not "no data".
page_today_has_data() {
    local day
    curl -s "$URL/" >"$T/fresh.html"
    day=$(grep -o '<time datetime="[0-9-]*' "$T/fresh.html" | head -n 1 | cut -d'"' -f2)
    [ -n "$day" ] && card "$1" "$T/fresh.html" | grep 'class="day ' | tail -n 1 |
        grep -qE "^<span class=\"day (full|high|mid|low)\" title=\"$day: [0-9.]+% \([0-9]+ failed of [0-9]+ checks?\)\""
}
curl -s "$URL/" >"$T/page.html"
grep -o '<section class="banner[^>]*>.*</section>' "$T/page.html" >"$T/banner.html"
card api "$T/page.html" >"$T/card-api.html"
card job "$T/page.html" >"$T/card-job.html"
check "status page is HTML with the title" grep -q '<title>Test status' "$T/page.html"
check "the banner is one element, marked as down" \
    bash -c "[ \$(wc -l <$T/banner.html) = 1 ] && grep -q '^<section class=\"banner down\" role=\"status\">' $T/banner.html"
check "banner names the down monitor, and only it" grep -q '>1 monitor down: db</p>' "$T/banner.html"
check "banner is not 'All systems operational' while db is down" bash -c "! grep -q 'All systems operational' $T/page.html"
check "banner says when the page was made" grep -qE 'Last updated <time datetime="[^"]+">[0-2][0-9]:[0-5][0-9] UTC</time>' "$T/banner.html"
check "a never-pinged heartbeat waits for its first ping" \
    grep -q '<span class="badge pending">Waiting for first ping</span>' "$T/card-job.html"
check "each card names the window of its uptime figure" \
    grep -qE '<span class="long">[0-9.]+% uptime, 90 days</span><span class="short">[0-9.]+% uptime, 30 days</span>' "$T/card-api.html"
check "the colour key is under the list" \
    bash -c "grep -A6 '<ul class=\"legend\"' $T/page.html | grep -q 'Below 95%'"
check "monitor descriptions are HTML-escaped" grep -q '&lt;API&gt;' "$T/page.html"
check "no JavaScript and no external resources" bash -c "! grep -qiE '<script|https?://[a-z]' $T/page.html"
check "a 90-day bar is drawn (90 day cells per monitor)" \
    bash -c "[ \$(grep -o 'class=\"day ' $T/page.html | wc -l) -eq 270 ] && [ \$(grep -c 'class=\"day ' $T/card-api.html) -eq 90 ]"
eventually 10 "today's cell of 'api' shows its data" page_today_has_data api

# --- CLI
out=$("$OPSD" status --server "$URL")
check "opsd status prints a table with every monitor" \
    bash -c "echo '$out' | grep -q '^NAME' && echo '$out' | grep -q 'api' && echo '$out' | grep -q 'db' && echo '$out' | grep -q 'job'"
check "opsd status -c finds the server from server.listen" bash -c "'$OPSD' status -c '$T/opsd.yaml' | grep -q '^api '"
check "opsd status --json is the API's JSON" \
    bash -c "'$OPSD' status -c '$T/opsd.yaml' --json | jq -e '.monitors | length == 3' >/dev/null"
check "opsd status on a dead server exits 1 with a message" \
    bash -c "'$OPSD' status --server http://127.0.0.1:1 2>$T/err; [ \$? -eq 1 ] && grep -q 'cannot reach' $T/err"
for sub in serve check status version; do
    check "opsd $sub --help exits 0 and shows usage" bash -c "'$OPSD' $sub --help | grep -q 'usage: opsd $sub'"
done
check "opsd --help lists the commands" bash -c "'$OPSD' --help | grep -q 'serve'"
check "an unknown command exits 2" bash -c "'$OPSD' frobnicate 2>/dev/null; [ \$? -eq 2 ]"
check "an unknown option exits 2" bash -c "'$OPSD' status --frob 2>/dev/null; [ \$? -eq 2 ]"
mkdir -p "$T/empty"
[ -e /etc/opsd/opsd.yaml ] || check "without -c and with no config anywhere, opsd check exits 2 and says where it looked" \
    bash -c "cd $T/empty && '$OPSD' check 2>$T/err; [ \$? -eq 2 ] && grep -q 'no ./opsd.yaml here and no /etc/opsd/opsd.yaml; pass -c FILE' $T/err"
check "opsd check accepts the example config" bash -c "cd '$HERE/../..' && '$OPSD' check -c examples/opsd.yaml | grep -q ok"

stop_opsd
check "SIGTERM exits 0" [ "$STOP_RC" -eq 0 ]
finish
