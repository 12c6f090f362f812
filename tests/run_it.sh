#!/usr/bin/env bash
# run_it.sh - run integration scripts (tests/it_*.sh) one after another and sum their results.
# Usage: BUILD=build [VALGRIND=1] tests/run_it.sh tests/it_a.sh tests/it_b.sh ...
set -uo pipefail
passed=0
failed=0
results=$(mktemp)
for script in "$@"; do
    echo "== $script${VALGRIND:+ (valgrind)}"
    : >"$results"
    T_RESULT_FILE=$results bash "$script"
    rc=$?
    read -r p f <"$results" || { p=0; f=1; echo "not ok - $script ended early (exit $rc)"; }
    if [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
        f=1
        echo "not ok - $script exited $rc"
    fi
    passed=$((passed + p))
    failed=$((failed + f))
done
rm -f "$results"
echo "integration: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
