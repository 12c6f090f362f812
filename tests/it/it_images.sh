#!/usr/bin/env bash
# it_images.sh - the container images: built with podman (deploy/images.sh), non-root, the
# binary as entrypoint; each image's exported filesystem runs its program under chroot
# against the test Redis and MongoDB until /health answers, which proves the runtime stage
# carries every library; and it carries no other program's (ingest no MongoDB driver,
# reporting no Redis client), as the binaries link none.
# shellcheck source=tests/it/lib.sh
. "$(dirname "$0")/lib.sh"

TAG=ci
if "$T_ROOT/deploy/images.sh" "$TAG" >"$T_TMP/images.log" 2>&1; then pass "images built"; else
    fail "images built" "$(tail -n 20 "$T_TMP/images.log")"
    t_summary
    exit 1
fi
start_redis
start_mongo

# run_image NAME [VAR=value ...]: export analytics/NAME:TAG, start its entrypoint under chroot
# as uid 10001 with PORT=0; sets IMG_PORT and IMG_PID.
run_image() {
    local name=$1 dir="$T_TMP/img-$1" cid log="$T_TMP/img-$1.log"
    shift
    mkdir -p "$dir"
    cid=$(podman create "analytics/$name:$TAG")
    podman export "$cid" | tar -x -C "$dir"
    podman rm -f "$cid" >/dev/null
    : >"$log"
    env -i PORT=0 PROBE_PORT=0 BIND_ADDRESS=127.0.0.1 MONGOC_DISABLE_SHM=1 "$@" \
        /usr/sbin/chroot --userspec=10001:10001 "$dir" "/usr/local/bin/$name" >>"$log" 2>&1 &
    IMG_PID=$!
    T_PIDS+=("$IMG_PID")
    # shellcheck disable=SC2317 # called through wait_until
    up() { grep -q 'INFO listening on ' "$log"; }
    wait_until 20 up || { fail "$name starts in its image" "$(cat "$log")"; return 1; }
    IMG_PORT=$(sed -n 's/.*INFO listening on .*:\([0-9]*\)$/\1/p' "$log" | tail -n 1)
    IMG_DIR=$dir
}

# has_lib DIR NAME: the filesystem at DIR (an exported image) holds a library whose file
# name starts with NAME.
has_lib() { compgen -G "$1/usr/lib/x86_64-linux-gnu/$2*" >/dev/null; }
# links BINARY NAME: ldd lists a library of BINARY whose name starts with NAME.
links() {
    local out
    out=$(ldd "$1")
    grep -q "^[[:space:]]*$2" <<<"$out"
}

for name in ingest processor reporting; do
    case $name in
    ingest) want="libhiredis libmaxminddb libpcre2-8" none="libmongoc libbson" ;;
    processor) want="libhiredis libmongoc libbson" none="libmaxminddb" ;;
    reporting) want="libmongoc libbson" none="libhiredis libmaxminddb" ;;
    esac
    for lib in $want; do
        if links "$BUILD/$name" "$lib"; then pass "$name links $lib"; else fail "$name links $lib" "$(ldd "$BUILD/$name")"; fi
    done
    for lib in $none; do
        if links "$BUILD/$name" "$lib"; then fail "$name does not link $lib" "$(ldd "$BUILD/$name")"; else pass "$name does not link $lib"; fi
    done
    meta=$(podman image inspect --format '{{.Config.User}} {{json .Config.Entrypoint}}' "analytics/$name:$TAG")
    expect_eq "$name image: non-root user, the binary as entrypoint" "$meta" "10001 [\"/usr/local/bin/$name\"]"
    case $name in
    ingest) run_image ingest REDIS_PORT="$REDIS_PORT" || continue ;;
    processor) run_image processor REDIS_PORT="$REDIS_PORT" MONGO_URI="$(mongo_uri images)" || continue ;;
    reporting) run_image reporting MONGO_URI="$(mongo_uri images)" || continue ;;
    esac
    for lib in $want; do
        if has_lib "$IMG_DIR" "$lib"; then pass "$name image carries $lib"; else fail "$name image carries $lib" ""; fi
    done
    for lib in $none; do
        if has_lib "$IMG_DIR" "$lib"; then fail "$name image carries no $lib" "$(compgen -G "$IMG_DIR/usr/lib/x86_64-linux-gnu/$lib*")"; else pass "$name image carries no $lib"; fi
    done
    if [ "$name" = ingest ]; then
        check "ingest image carries its country database (GEOIP_DB's default)" \
            test -s "$IMG_DIR/usr/share/analytics/geo-whois-asn-country.mmdb"
    fi
    healthy() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$IMG_PORT/health")" = 200 ]; }
    wait_until 20 healthy
    http GET "http://127.0.0.1:$IMG_PORT/health"
    expect_http "$name from its image: /health" 200 "{\"status\":\"ok\",\"service\":\"$name\"}"
    stop_pid "$IMG_PID" 15
    expect_eq "$name from its image: exits 0 on SIGTERM" "$STOP_RC" 0
done
t_summary
