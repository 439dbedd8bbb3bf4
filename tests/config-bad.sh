#!/bin/sh
# Runs `opsd check` on every tests/data/config-bad/NNN-name.yaml and compares
# its stderr byte for byte with NNN-name.expected; the exit status must be 2.
#
#   tests/config-bad.sh path/to/opsd        (from the repository root)
#
# Prints "ok   NNN-name" or "FAIL NNN-name" (with a diff) per case, then
# "config-bad: N passed, M failed"; exits 1 if any case failed.
set -u

if [ $# -ne 1 ]; then
    echo "usage: tests/config-bad.sh path/to/opsd" >&2
    exit 2
fi
opsd=$1
dir=tests/data/config-bad
if [ ! -d "$dir" ]; then
    echo "config-bad: error: '$dir' not found (run from the repository root)" >&2
    exit 2
fi
if [ ! -x "$opsd" ]; then
    echo "config-bad: error: '$opsd' is not an executable" >&2
    exit 2
fi

# The cases that expand ${VAR} rely on these being unset.
unset OPSD_TEST_SURELY_UNSET_DB_HOST

tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT

passed=0
failed=0
for yaml in "$dir"/*.yaml; do
    [ -e "$yaml" ] || continue
    name=$(basename "$yaml" .yaml)
    expected="$dir/$name.expected"
    why=""

    "$opsd" check -c "$yaml" >/dev/null 2>"$tmp/stderr"
    rc=$?
    if [ ! -f "$expected" ]; then
        why="missing $expected"
    elif [ "$rc" -ne 2 ]; then
        why="exit status $rc, expected 2"
    elif ! cmp -s "$expected" "$tmp/stderr"; then
        why="stderr differs from $expected"
    fi

    if [ -z "$why" ]; then
        echo "ok   $name"
        passed=$((passed + 1))
    else
        echo "FAIL $name"
        echo "    $why"
        if [ -f "$expected" ]; then
            diff -u "$expected" "$tmp/stderr" | sed 's/^/    /'
        else
            sed 's/^/    /' "$tmp/stderr"
        fi
        failed=$((failed + 1))
    fi
done

echo "config-bad: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
