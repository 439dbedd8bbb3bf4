#!/bin/bash
# File monitors, the backup-freshness check: the newest file matching a glob
# must exist, be fresh, have a sane size and not shrink much against the
# one before it; checksum: true turns a content change into a warning.
. "$(dirname "$0")/lib.sh"

B="$T/backups"
mkdir -p "$B" "$T/adir"
printf 'a: 1\n' >"$T/app.conf"
new_port
cat >"$T/opsd.yaml" <<YAML
server: {listen: "127.0.0.1:$PORT", data_dir: "$T/data"}
defaults: {interval: 1s, timeout: 1s, confirm: 1}
monitors:
  - {name: db-backup, type: file, path: "$B/*.sql.gz", max_age: 1h, min_size: 1KB, max_shrink: 50%}
  - {name: app-conf, type: file, path: "$T/app.conf", checksum: true}
  - {name: not-a-file, type: file, path: "$T/adir"}
  - {name: gone, type: file, path: "$T/no-such-file"}
YAML
check "opsd check accepts the file monitors" "$OPSD" check -c "$T/opsd.yaml"
start_opsd "$T/opsd.yaml"

msg() { api "/api/v1/monitors/$1" | jq -r .last_result.message; }
status() { api "/api/v1/monitors/$1" | jq -r .last_result.status; }

eventually 10 "no backup yet: down" state_is db-backup down
check "the message says nothing matches the glob" msg_like db-backup "no file matches '$B/\\*.sql.gz'"
eventually 10 "a missing plain path is down" state_is gone down
check "and says no such file" msg_like gone "no such file '$T/no-such-file'"
eventually 10 "a directory is not a regular file: down" state_is not-a-file down
check "and the message says so" msg_like not-a-file "'$T/adir' is not a regular file"

head -c 10000 /dev/urandom >"$B/db-1.sql.gz"
touch -d '-60 seconds' "$B/db-1.sql.gz"
eventually 10 "a fresh 10 KB backup: up" state_is db-backup up
check "the message names the newest file, its size and age" msg_like db-backup "'$B/db-1.sql.gz' 10.0 KB, 1m*old"
eventually 5 "its size is stored as a metric series" bash -c \
    "curl -s '$URL/api/v1/monitors/db-backup/metrics?name=size_bytes&limit=1' | jq -e '.metrics[0].value == 10000 and .metrics[0].unit == \"B\"' >/dev/null"
check "the age is a series too, in seconds" bash -c \
    "curl -s '$URL/api/v1/monitors/db-backup/metrics?name=age_seconds&limit=1' | jq -e '.metrics[0].value >= 59' >/dev/null"
check "a bad metrics query is a 400 with a JSON error" bash -c \
    "[ \$(curl -s -o /dev/null -w '%{http_code}' '$URL/api/v1/monitors/db-backup/metrics?name=') = 400 ]"

# Tonight's backup is a fifth of last night's: a truncated dump.
head -c 2000 /dev/urandom >"$B/db-2.sql.gz"
eventually 10 "a backup 80% smaller than the previous one: down" state_is db-backup down
check "the message gives both sizes" msg_like db-backup "'$B/db-2.sql.gz' is 2.00 KB, 80.0% smaller than the previous 10.0 KB (max 50%)"

head -c 11000 /dev/urandom >"$B/db-3.sql.gz"
eventually 10 "a full-size backup again: up" state_is db-backup up

touch -d '-2 hours' "$B"/*.sql.gz
eventually 10 "the newest backup is 2 hours old (max 1h): down" state_is db-backup down
check "the message gives the age and the limit" msg_like db-backup "'$B/db-3.sql.gz' is 2h* old (max 1h)"

head -c 500 /dev/urandom >"$B/db-4.sql.gz"
eventually 10 "a fresh but tiny backup: down, and the message names min_size" bash -c \
    "curl -s $URL/api/v1/monitors/db-backup | jq -r .last_result.message | grep -q 'db-4.sql.gz.* is 500 B, below min_size 1.00 KB'"
check "still down" state_is db-backup down

eventually 10 "the watched config file is up" state_is app-conf up
printf 'a: 2\n' >"$T/app.conf"
touch -d '+1 second' "$T/app.conf"
eventually 10 "a content change is a warning" bash -c "[ \"\$(curl -s $URL/api/v1/monitors/app-conf | jq -r .last_result.status)\" = warning ]"
check "the message shows the old and new checksums" msg_like app-conf "'$T/app.conf' content changed (sha256 ????????????… -> ????????????…)"
check "a warning is still up (down_on_warning is off)" state_is app-conf up
check "opsd status shows the warning beside the state" bash -c "'$OPSD' status -c '$T/opsd.yaml' | grep -qE '^app-conf +file +up \(warning\)'"
check "the status page calls it Degraded" bash -c "curl -s $URL/ | grep -q 'class=\"badge degraded\">Degraded<'"

stop_opsd
check "SIGTERM exits 0" [ "$STOP_RC" -eq 0 ]

# Config errors for the new keys, located.
cat >"$T/bad.yaml" <<YAML
monitors:
  - {name: a, type: file, path: "backups/*.gz", min_size: 2MB, max_size: 1MB, max_shrink: 150%}
  - {name: b, type: file, path: "/x", min_size: "1.5GB", checksum: yes}
  - {name: c, type: exec}
  - {name: d, type: file, path: "/x", command: "true"}
YAML
"$OPSD" check -c "$T/bad.yaml" >"$T/bad.out" 2>&1
rc=$?
check "opsd check exits 2 on bad file/exec keys" [ "$rc" -eq 2 ]
check "relative path rejected" grep -q "bad.yaml:2:33: error: path 'backups/\*.gz' is not an absolute path" "$T/bad.out"
check "max_size below min_size rejected" grep -q "bad.yaml:2:.*: error: max_size '1MB' is below min_size '2MB'" "$T/bad.out"
check "a percentage over 100 rejected" grep -q "error: max_shrink '150%' is outside 0%..100%" "$T/bad.out"
check "a fractional size rejected with a hint" grep -q "bad.yaml:3:.*: error: min_size '1.5GB' is not a valid size" "$T/bad.out"
check "exec without a command rejected" grep -q "bad.yaml:4:.*: error: missing required key 'command' for an exec monitor" "$T/bad.out"
check "command does not apply to a file monitor" grep -q "bad.yaml:5:.*: error: key 'command' does not apply to a file monitor (only to exec monitors)" "$T/bad.out"
finish
