#!/usr/bin/env bash
# it_readme.sh - the README's "Try it" commands, run as written (ports aside) against the
# three services, give exactly the answer the README and the contract (docs/api.md) show.
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

start_redis
start_mongo
start_service ingest REDIS_PORT="$REDIS_PORT"
start_service processor REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri readme)"
start_service reporting MONGO_URI="$(mongo_uri readme)"

# The block between the example markers, continuation lines joined, curl lines only,
# with the services' real ports in place of 3000 and 4000.
mapfile -t cmds < <(sed -n '/<!-- example:start -->/,/<!-- example:end -->/p' "$T_ROOT/README.md" |
    sed -e ':a' -e '/\\$/N; s/\\\n//; ta' | grep '^curl ' |
    sed -e "s/localhost:3000/127.0.0.1:$INGEST_PORT/g" -e "s/localhost:4000/127.0.0.1:$REPORTING_PORT/g")
expect_eq "README example has 4 posts and 1 query" "${#cmds[@]}" 5

for c in "${cmds[@]:0:4}"; do
    out=$(eval "$c")
    expect_match "README post answers accepted" "$out" '^\{"status":"accepted","id":"[0-9a-f-]{36}"\}$'
done
# shellcheck disable=SC2016 # literal backquotes of the README
expected=$(sed -n '/^Each `POST` answers/,/^```$/p' "$T_ROOT/README.md" | sed -n '/^{/p')
expect_json "the README's answer is the contract's" "$expected" \
    '{"site_id":"site-abc-123","date":"2025-11-15","total_views":4,"unique_users":3,
      "top_paths":[{"path":"/pricing","views":2},{"path":"/","views":1},{"path":"/blog/post-1","views":1}]}'
stored() { [ "$("$BUILD/tests/mongoq" "$(mongo_uri readme)" events count '{}')" = 4 ]; }
wait_until $((30 * T_SLOW)) stored
expect_json "README query answers as the README says" "$(eval "${cmds[4]}")" "$expected"

for s in ingest processor reporting; do expect_clean_stop $s; done
t_summary
