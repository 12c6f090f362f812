#!/usr/bin/env bash
# it_rcluster.sh - common/rcluster.h against a real Redis Cluster (three masters, three
# replicas, start_redis_cluster), through tests/tools/rcluster_cli: the module's slots equal
# the server's CLUSTER KEYSLOT, keys spread over the three masters, CROSSSLOT is refused
# before sending, ASK is followed during a slot's migration and MOVED after it, and after a
# master is killed with SIGKILL and its replica promoted the client reloads its map and its
# next commands succeed.
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

if ! start_redis_cluster; then
    fail "a Redis Cluster of six nodes starts"
    t_summary
    exit 1
fi
pass "cluster of six nodes: $RCLUSTER_SEEDS"
mapfile -t masters < <(cluster_masters)
expect_eq "three masters" "${#masters[@]}" 3

# --- slots: the module's against the server's ------------------------------------------------
keys="$T_TMP/keys"
for i in $(seq 1 400); do
    printf '%s\n' "k:$i" "{user$i}.following" "foo{}{bar$i}" "foo{{b$i}}zap" "x{$i}{zap}" \
        "a{b$i" "}{$i" "{}$i"
done >"$keys"
"$BUILD/tests/rcluster_cli" "$RCLUSTER_SEEDS" < <(sed 's/^/@slot /' "$keys") >"$T_TMP/slots.ours"
sed 's/^/CLUSTER KEYSLOT /' "$keys" | redis-cli -p "${masters[0]}" >"$T_TMP/slots.server"
expect_eq "slots of $(wc -l <"$keys") keys: as many from each" "$(wc -l <"$T_TMP/slots.ours")" \
    "$(wc -l <"$T_TMP/slots.server")"
expect_eq "slots of $(wc -l <"$keys") keys: the module's equal CLUSTER KEYSLOT's" \
    "$(diff "$T_TMP/slots.ours" "$T_TMP/slots.server" | grep -c '^<')" 0

# --- one client, driven line by line as a coprocess ------------------------------------------
coproc RC { exec "$BUILD/tests/rcluster_cli" "$RCLUSTER_SEEDS" 2>>"$T_TMP/rcluster_cli.log"; }
RC_IN=${RC[1]}
RC_OUT_FD=${RC[0]}
T_PIDS+=("$RC_PID")
cli_pid=$RC_PID

# rc LINE: one command to the client; its answer in RC_OUT.
rc() {
    echo "$*" >&"$RC_IN"
    IFS= read -r -t 60 RC_OUT <&"$RC_OUT_FD" || RC_OUT="(no answer)"
}

# --- keys spread over the masters -----------------------------------------------------------
bad=0
for i in $(seq 1 300); do
    rc "SET spread:$i v$i"
    [ "$RC_OUT" = OK ] || { bad=$((bad + 1)); echo "# SET spread:$i: $RC_OUT"; }
done
expect_eq "300 SETs answered OK" "$bad" 0
bad=0
for i in $(seq 1 300); do
    rc "GET spread:$i"
    [ "$RC_OUT" = "v$i" ] || bad=$((bad + 1))
done
expect_eq "300 GETs answer what was set" "$bad" 0
total=0
for port in "${masters[@]}"; do
    n=$(redis-cli -p "$port" dbsize)
    check "master $port holds some of the keys ($n)" [ "$n" -gt 0 ]
    total=$((total + n))
done
expect_eq "the masters hold the 300 keys once" "$total" 300
rc "@refreshes"
expect_eq "one map load for all of it" "$RC_OUT" 1

rc "k=1,3 MSET foo 1 bar 2"
expect_match "MSET of two slots: refused before sending" "$RC_OUT" '^\(failed\) 1 CROSSSLOT'
rc "k=1,3 MSET {t}a 1 {t}b 2"
expect_eq "MSET of one hash tag: OK" "$RC_OUT" OK

# --- a slot migrated: ASK during, MOVED after -----------------------------------------------
rc "@slot {mig}k"
slot=$RC_OUT
rc "@node {mig}k"
src=${RC_OUT##*:}
for port in "${masters[@]}"; do [ "$port" != "$src" ] && dst=$port; done
rc "SET {mig}k before"
src_id=$(redis-cli -p "$src" cluster myid)
dst_id=$(redis-cli -p "$dst" cluster myid)
redis-cli -p "$dst" cluster setslot "$slot" importing "$src_id" >/dev/null
redis-cli -p "$src" cluster setslot "$slot" migrating "$dst_id" >/dev/null
rc "@refreshes"
loads=$RC_OUT
rc "GET {mig}k"
expect_eq "migrating: a key still at the source is read there" "$RC_OUT" before
rc "SET {mig}new fresh"
expect_eq "migrating: a new key follows ASK to the target" "$RC_OUT" OK
expect_eq "migrating: the target holds it" \
    "$(printf 'ASKING\nGET {mig}new\n' | redis-cli -p "$dst" | tail -n 1)" fresh
rc "@refreshes"
expect_eq "ASK does not reload the map" "$RC_OUT" "$loads"
redis-cli -p "$src" migrate 127.0.0.1 "$dst" "" 0 5000 keys "{mig}k" >/dev/null
for port in "$dst" "$src" "${masters[@]}"; do
    redis-cli -p "$port" cluster setslot "$slot" node "$dst_id" >/dev/null
done
rc "GET {mig}k"
expect_eq "migrated: the key is read at its new master (MOVED)" "$RC_OUT" before
rc "@refreshes"
check "MOVED reloads the map ($loads -> $RC_OUT)" [ "$RC_OUT" -gt "$loads" ]
rc "@node {mig}k"
expect_eq "the map sends the slot to its new master" "$RC_OUT" "127.0.0.1:$dst"

# --- a master killed: its replica promoted, the client follows -------------------------------
rc "@node fo:1"
victim=${RC_OUT##*:}
rc "SET fo:1 kept"
expect_eq "SET before the failover" "$RC_OUT" OK
expect_eq "the replica has it (WAIT 1)" "$(redis-cli -p "$victim" wait 1 5000)" 1
replica=$(redis-cli -p "$victim" role | sed -n 4p)
for i in "${!RCLUSTER_PORTS[@]}"; do
    [ "${RCLUSTER_PORTS[$i]}" = "$victim" ] && victim_pid=${RCLUSTER_PIDS[$i]}
done
rc "@refreshes"
loads=$RC_OUT
ours "$victim_pid" && kill -KILL "$victim_pid"
wait "$victim_pid" 2>/dev/null
is_master() { [ "$(redis-cli -p "$1" role 2>/dev/null | head -n 1)" = master ]; }
all_ok() {
    local port
    for port in "${RCLUSTER_PORTS[@]}"; do
        [ "$port" = "$victim" ] || cluster_ok "$port" || return 1
    done
}
start=$SECONDS
check "the replica ($replica) of the killed master ($victim) is promoted" \
    wait_until 30 is_master "$replica"
check "every surviving node says cluster_state:ok" wait_until 30 all_ok
echo "# failover took about $((SECONDS - start)) s"
rc "GET fo:1"
expect_eq "after the failover: the key is read at the promoted replica" "$RC_OUT" kept
rc "@node fo:1"
expect_eq "the map sends its slot to the promoted replica" "$RC_OUT" "127.0.0.1:$replica"
rc "@refreshes"
check "the map was reloaded ($loads -> $RC_OUT)" [ "$RC_OUT" -gt "$loads" ]
bad=0
for i in $(seq 1 300); do
    rc "SET after:$i w$i"
    [ "$RC_OUT" = OK ] || { bad=$((bad + 1)); echo "# SET after:$i: $RC_OUT"; }
    rc "GET spread:$i"
    [ "$RC_OUT" = "v$i" ] || { bad=$((bad + 1)); echo "# GET spread:$i: $RC_OUT"; }
done
expect_eq "after the failover: 300 SETs and 300 GETs over every slot succeed" "$bad" 0

# The client ends at the end of its input: exit 0 (under ASan: no leak), nothing on stderr.
exec {RC_IN}>&-
wait "$cli_pid"
expect_eq "rcluster_cli exits 0" "$?" 0
expect_eq "rcluster_cli wrote nothing to stderr" "$(cat "$T_TMP/rcluster_cli.log")" ""

t_summary
