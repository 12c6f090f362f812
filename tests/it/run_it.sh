#!/usr/bin/env bash
# run_it.sh - run integration scripts (tests/it/it_*.sh) and sum their results.
# Usage: BUILD=build [VALGRIND=1] [IT_JOBS=3] tests/it/run_it.sh tests/it/it_ingest.sh \
#            tests/it/it_cors.sh ... [VAR=value ... tests/it/it_pipeline.sh ...]
#
# A VAR=value argument applies to the scripts after it (e.g. T_QUEUE_SHARDS=4: the same
# scripts again with four queue shards, run alongside the others); their names are printed
# with it.
# Each script starts its own servers on free ports in a folder of its own, so IT_JOBS of
# them (default 3) run at once; a script whose first lines hold "# it: alone" (its bounds
# are about time: seconds to stop, a second to answer) runs after the others, by itself,
# and one whose first lines hold "# it: long" (half a minute and more) starts before them.
# Each script's output is printed whole when it ends, with its duration.
set -uo pipefail
jobs_max=${IT_JOBS:-3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
all_start=$SECONDS

# run_one N SCRIPT: run it (with the assignments given before it), its output, results and
# duration under $out/N.
run_one() {
    local start=$SECONDS rc
    # shellcheck disable=SC2086 # the assignments are words without blanks
    env ${envs[$1]} T_RESULT_FILE="$out/$1.results" bash "$2" >"$out/$1.log" 2>&1
    rc=$?
    # The CPU time of the script and of every process it waited for (its servers), user +
    # system, from this subshell's children's times.
    # (times in this shell: in $(...) it would count the subshell's children, none).
    times >"$out/$1.times"
    echo "$rc $((SECONDS - start)) $(awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/)
        printf "%d", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$out/$1.times")" >"$out/$1.done"
}

# report N SCRIPT: print its output and add up its results.
passed=0
failed=0
report() {
    local rc took cpu p f
    read -r rc took cpu <"$out/$1.done"
    local name="$2${envs[$1]:+ (${envs[$1]})}"
    echo "== $name${VALGRIND:+ (valgrind)}"
    cat "$out/$1.log"
    echo "== $name took $took s (cpu $cpu s)"
    read -r p f <"$out/$1.results" 2>/dev/null || { p=0; f=1; echo "not ok - $name ended early (exit $rc)"; }
    if [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
        f=1
        echo "not ok - $name exited $rc"
    fi
    passed=$((passed + p))
    failed=$((failed + f))
}

scripts=()
envs=()
assign=""
for a in "$@"; do
    if [[ "$a" == *=* && "$a" != */* ]]; then
        assign="${assign:+$assign }$a"
    else
        scripts+=("$a")
        envs+=("$assign")
    fi
done
together=()
alone=()
long=()
for i in "${!scripts[@]}"; do
    if head -n 20 "${scripts[$i]}" | grep -q '^# it: alone'; then
        alone+=("$i")
    elif head -n 20 "${scripts[$i]}" | grep -q '^# it: long'; then
        long+=("$i")
    else
        together+=("$i")
    fi
done
# The long ones start first, so that the short ones fill the time beside them instead of one
# long script running on its own at the end.
together=("${long[@]}" "${together[@]}")
reported=()
# Print, in the given order, every script that has ended and whose elders have been printed.
flush() {
    local i
    for i in "${!scripts[@]}"; do
        [ -n "${reported[$i]:-}" ] && continue
        [ -f "$out/$i.done" ] || return 0
        report "$i" "${scripts[$i]}"
        reported[i]=1
    done
}
for i in "${together[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do
        wait -n
        flush
    done
    run_one "$i" "${scripts[$i]}" &
done
wait
flush
for i in "${alone[@]}"; do
    # In a subshell, as the others are: `times` in this shell would add up every script
    # waited for so far.
    (run_one "$i" "${scripts[$i]}")
    flush
done
flush
echo "integration: $passed passed, $failed failed, in $((SECONDS - all_start)) s"
[ "$failed" -eq 0 ]
